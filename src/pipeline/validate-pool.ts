/**
 * Validation on worker_threads: each worker loads its own validator once and validates batches; the main thread may
 * validate batches too, with the caller's validator (PoolThreads.mainThread).
 * A batch crosses as the items' JSON texts, an array of strings: cloned, that costs the main thread a fifth of
 * what joining them into one string did (measured per line, 0.5-1 us against 3 us); replies are compact (counts, or issue lines) unless the
 * caller asks for the Issue objects.
 */
import { Worker } from 'node:worker_threads';
import type { Issue } from '../validation/issues.js';
import type { FhirResource } from '../packages/types.js';
import type { Validator, ValidatorOptions } from '../validation/api.js';
import type { BatchOutcome, IssueContext } from './issue-lines.js';
import type { StreamedOutput } from '../cli/output.js';
import type { IssueCounts } from '../validation/outcome.js';
import type { ScannedBundle } from '../cli/bundle-entries.js';
import { batchHandler } from './batch-handler.js';

export interface ValidateItem {
  resource: FhirResource;
  profile?: string;
  /** The resource as JSON text when the caller has it already: the pool sends it instead of stringifying the resource. */
  json?: string;
}

/** An item given as JSON text only: the pool never needs the parsed resource. */
export interface TextItem {
  json: string;
  profile?: string;
}

export type PoolItem = ValidateItem | TextItem;

/** One line of an NDJSON file: its text and 1-based line number. */
export interface LineItem extends TextItem {
  line: number;
}

export interface LocatedResult {
  /** Type/id of the resource, when the line held one. */
  label: string | null;
  issues: Issue[];
  /** For a Bundle's entry: its line in the file. */
  line?: number;
}

/** Validates a batch; resolves to the issues of each item, in order. */
export type ValidateBatch = (items: ValidateItem[]) => Promise<Issue[][]>;

export interface ValidatorPool {
  validate(items: readonly PoolItem[]): Promise<Issue[][]>;
  /** Validates a batch and returns its issue counts and issues.ndjson lines, built in the worker. */
  validateBatch(contexts: IssueContext[], items: readonly PoolItem[]): Promise<BatchOutcome>;
  /** Per item, its fatal, error, warning and information counts (4 numbers each), for callers that need no issue text. */
  countIssues(items: readonly PoolItem[]): Promise<Uint32Array>;
  /** NDJSON lines of `file` validated and rendered in the worker (as `fhirdq validate --format` writes them). */
  render(output: StreamedOutput, file: string, items: readonly LineItem[]): Promise<RenderedBatch>;
  /** A big Bundle's entries validated in the workers (see cli/bundle-entries.ts), each worker reading them from the file. */
  openBundle(scanned: ScannedBundle, profile: string | undefined): Promise<BundleSession>;
  /** Settles once every worker's thread runs (or has stopped): from then on the pool makes no V8 heap. */
  readonly started: Promise<void>;
  close(): Promise<void>;
}

export interface BundleSession {
  /** Entries `from` up to `to`, validated and rendered in a worker (as render() does lines). */
  render(output: StreamedOutput, from: number, to: number): Promise<RenderedBatch>;
  /** Ends the Bundle in every worker; resolves to the Bundle's own issues they found over their entries. */
  close(): Promise<Issue[]>;
}

/** What the worker returns for a batch. */
export type ReplyKind = 'issues' | 'outcome' | 'counts' | 'rendered';

/** A batch's part of the report, and its issue counts. */
export interface RenderedBatch {
  /** The report's text as UTF-8: the main thread writes it as it comes, and keeps no string of it in its heap. */
  bytes: Uint8Array;
  counts: IssueCounts;
}

export interface BatchRequest {
  id: number;
  kind: ReplyKind;
  /** The items' JSON texts. */
  texts: string[];
  /** Each item's profile; absent when no item has one. */
  profiles?: (string | undefined)[];
  /** For `outcome`: where each item came from. */
  contexts?: IssueContext[];
  /** For `rendered`: each item's line in its file. */
  lines?: Uint32Array;
  /** For `rendered`: the report's format and least severity, and the file the lines are from. */
  render?: StreamedOutput & { file: string };
  /** A Bundle validated entry by entry: opened in every worker, then ranges of its entries, then closed. */
  bundle?: { id: number; open?: ScannedBundle; profile?: string; from?: number; to?: number; close?: boolean };
}

export interface WorkerReply {
  id: number;
  results?: Issue[][];
  outcome?: BatchOutcome;
  counts?: Uint32Array;
  rendered?: RenderedBatch;
  /** For a Bundle's close: its own issues this worker found. */
  bundleIssues?: Issue[];
  error?: string;
}

/** A thread that validates the pool's batches: a worker, or the main thread. */
interface Slot {
  /** How a failed batch's message starts. */
  name: string;
  post(message: BatchRequest, transfer: ArrayBuffer[]): void;
  stop(): Promise<unknown>;
  /** Items sent and not yet answered: the next batch goes to the slot with the fewest. */
  queued: number;
  pending: Map<number, { size: number; resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>;
}

/** What each worker's validator is created with. */
export type PoolValidatorOptions = Pick<
  ValidatorOptions,
  'securityChecks' | 'bestPractice' | 'extensionDomains' | 'noExperimentalContent' | 'displayLanguages' | 'displayIssuesAreWarnings' | 'questionnaireMode'
> & { igs: string[] };

/** How the pool's threads are made. */
export interface PoolThreads {
  workers: number;
  /** The V8 old generation each worker may use (V8's own when not given). */
  heapMb?: number;
  /**
   * The main thread's validator, when the main thread validates batches too (between its own work, one batch at a
   * time): every core validates with one thread and one V8 heap fewer than a worker per core.
   */
  mainThread?: Validator;
}

/** Batches a worker has queued before the main thread, when it validates too, takes one. */
const WORKER_QUEUE_DEPTH = 2;

/**
 * A worker's young generation: semi-spaces of 8 MB, not V8's 16 (it is three semi-spaces). Once reports cross as
 * bytes, little a worker makes outlives a batch. `fhirdq validate` on 2 cores, 100 MB: NDJSON 209 -> 188 MB, one
 * Bundle 224 -> 197-204 MB, for as much GC time over both threads (NDJSON 260 -> 188 ms, Bundle 204 -> 243 ms).
 */
const WORKER_YOUNG_GENERATION_MB = 24;

export function createValidatorPool(options: PoolValidatorOptions & PoolThreads): ValidatorPool {
  const url = new URL('./validate-worker.js', import.meta.url);
  let nextId = 0;
  let closing = false;
  // A worker that died fails its pending batches and every later one: a run must stop, not hang.
  let failure: Error | undefined;
  const workerSlots: Slot[] = [];
  const workersOnline: Promise<unknown>[] = [];
  const fail = (slot: Slot, error: Error) => {
    failure ??= error;
    for (const p of slot.pending.values()) p.reject(error);
    slot.pending.clear();
  };
  const answered = (slot: Slot, msg: WorkerReply) => {
    const p = slot.pending.get(msg.id);
    if (!p) return;
    slot.pending.delete(msg.id);
    slot.queued -= p.size;
    if (msg.error !== undefined) p.reject(new Error(`${slot.name}: ${msg.error}`));
    else p.resolve(msg);
  };
  let mainSlot: Slot | undefined;
  if (options.mainThread) {
    const handle = batchHandler(options.mainThread);
    // Answered from the event loop, as a worker's replies are: the caller's reading and writing go on between batches.
    const slot: Slot = { name: 'validation', post: (message) => setImmediate(() => answered(slot, handle(message).reply)), stop: async () => {}, queued: 0, pending: new Map() };
    mainSlot = slot;
  }
  for (let i = 0; i < options.workers; i++) {
    const worker = new Worker(url, {
      workerData: {
        igs: options.igs,
        securityChecks: options.securityChecks,
        bestPractice: options.bestPractice,
        extensionDomains: options.extensionDomains,
        noExperimentalContent: options.noExperimentalContent,
        displayLanguages: options.displayLanguages,
        displayIssuesAreWarnings: options.displayIssuesAreWarnings,
        questionnaireMode: options.questionnaireMode,
      } satisfies PoolValidatorOptions,
      resourceLimits: { maxOldGenerationSizeMb: options.heapMb, maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    const slot: Slot = { name: 'validation worker', post: (message, transfer) => worker.postMessage(message, transfer), stop: () => worker.terminate(), queued: 0, pending: new Map() };
    // A worker that fails to start exits, after its error.
    workersOnline.push(new Promise((resolve) => worker.once('online', resolve).once('exit', resolve)));
    worker.on('message', (msg: WorkerReply) => answered(slot, msg));
    worker.on('error', (err: NodeJS.ErrnoException) => {
      fail(slot, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new Error(`a validation worker ran out of memory (validation.workerHeapMb: ${options.heapMb}): raise it in the run config`) : err);
    });
    worker.on('exit', (code) => fail(slot, new Error(closing ? 'the validator pool was closed' : `a validation worker exited (code ${code})`)));
    workerSlots.push(slot);
  }

  const send = (slot: Slot, message: BatchRequest, size: number, transfer: ArrayBuffer[] = []): Promise<WorkerReply> => {
    if (failure) return Promise.reject(failure);
    if (closing) return Promise.reject(new Error('the validator pool is closed'));
    slot.queued += size;
    return new Promise((resolve, reject) => {
      slot.pending.set(message.id, { size, resolve, reject });
      slot.post(message, transfer);
    });
  };
  /**
   * The worker with the fewest items queued; the main thread once every worker has WORKER_QUEUE_DEPTH batches, and
   * it has none. It answers its batch as soon as the caller yields: fed first, it would take them all.
   */
  const leastBusy = (): Slot => {
    let slot = workerSlots[0];
    for (const s of workerSlots) if (s.queued < slot.queued) slot = s;
    if (mainSlot && (slot === undefined || (slot.pending.size >= WORKER_QUEUE_DEPTH && mainSlot.pending.size === 0))) return mainSlot;
    return slot!;
  };

  const request = (kind: ReplyKind, items: readonly PoolItem[], extra: Pick<BatchRequest, 'contexts' | 'lines' | 'render'> = {}): Promise<WorkerReply> => {
    const texts = new Array<string>(items.length);
    let profiles: (string | undefined)[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      texts[i] = item.json ?? JSON.stringify((item as ValidateItem).resource);
      if (item.profile !== undefined) (profiles ??= new Array<string | undefined>(items.length))[i] = item.profile;
    }
    return send(leastBusy(), { id: nextId++, kind, texts, profiles, ...extra }, items.length, extra.lines ? [extra.lines.buffer as ArrayBuffer] : []);
  };

  let nextBundle = 0;
  const openBundle = async (scanned: ScannedBundle, profile: string | undefined): Promise<BundleSession> => {
    const id = nextBundle++;
    const everyThread = mainSlot ? [mainSlot, ...workerSlots] : workerSlots;
    await Promise.all(everyThread.map((slot) => send(slot, { id: nextId++, kind: 'issues', texts: [], bundle: { id, open: scanned, profile } }, 0)));
    const range = (kind: ReplyKind, from: number, to: number, render?: BatchRequest['render']) =>
      send(leastBusy(), { id: nextId++, kind, texts: [], render, bundle: { id, from, to } }, to - from);
    return {
      render: async (output, from, to) => (await range('rendered', from, to, { ...output, file: scanned.file })).rendered!,
      close: async () => {
        const replies = await Promise.all(everyThread.map((slot) => send(slot, { id: nextId++, kind: 'issues', texts: [], bundle: { id, close: true } }, 0)));
        return replies.flatMap((r) => r.bundleIssues ?? []);
      },
    };
  };

  return {
    validate: async (items) => (await request('issues', items)).results!,
    validateBatch: async (contexts, items) => (await request('outcome', items, { contexts })).outcome!,
    countIssues: async (items) => (await request('counts', items)).counts!,
    render: async (output, file, items) => (await request('rendered', items, { lines: linesOf(items), render: { ...output, file } })).rendered!,
    openBundle,
    started: Promise.all(workersOnline).then(() => undefined),
    async close() {
      closing = true;
      await Promise.all(workerSlots.map((s) => s.stop()));
    },
  };
}

function linesOf(items: readonly LineItem[]): Uint32Array {
  return Uint32Array.from(items, (item) => item.line);
}
