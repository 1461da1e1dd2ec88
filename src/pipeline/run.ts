/** The pipeline: sources → map → validate (worker pool, bounded) → sinks, with exact per-source accounting. */
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readServer } from '../formats/stream-server.js';
import { readSource } from '../formats/stream-source.js';
import type { SourceItem } from '../formats/stream-record.js';
import type { CoverageReport, Mapper } from '../mapping/compile.js';
import type { FhirResource } from '../packages/types.js';
import type { LoadedRunConfig, SourceConfig } from './config.js';
import { createProgress, type Progress } from './progress.js';
import { sourceMapping } from './check.js';
import { NdjsonWriter } from './sinks.js';
import { batchOutcome, SEVERITIES, type BatchOutcome, type IssueContext } from './issue-lines.js';
import { createValidatorPool, type ValidateBatch, type ValidateItem } from './validate-pool.js';
import type { RejectedRecord } from '../quality/collector.js';
import type { RunMeasurer } from '../quality/measure-run.js';

export interface RunOptions {
  /** Replaces the worker pool (tests, or callers that validate elsewhere). */
  validate?: ValidateBatch;
  runId?: string;
  progress?: Progress;
  /** Where reports go; default: the config's outputs.dir. */
  outDir?: string;
  /**
   * Measures quality as results arrive (instead of re-reading the outputs): called once at the start with
   * the run's start time; the measurer it returns is fed every resource as it is written (on this thread, in
   * order: per-patient rules see what a re-read would), and each batch's issues as validation returns them
   * (counts, so the order batches finish in does not matter).
   */
  measure?: (startedAt: string) => Promise<RunMeasurer>;
}

export interface SourceSummary {
  organisation: string;
  mapping?: string;
  records: { read: number; mapped: number; rejected: number };
  files: { read: number; failed: number };
  resources: number;
  /** Resources written per exchange: sources run one after the other, so each is one block of an exchange's file. */
  exchanges: Record<string, number>;
}

export interface ExchangeSummary {
  resources: number;
  validated: number;
  withErrors: number;
  issues: { fatal: number; error: number; warning: number; information: number };
}

export interface RunSummary {
  runId: string;
  config: string;
  startedAt: string;
  durationMs: number;
  recordsPerSecond: number;
  peakRssMb: number;
  validation: boolean;
  /** Milliseconds the readers waited for the validation workers (backpressure). */
  validationWaitMs: number;
  sources: Record<string, SourceSummary>;
  exchanges: Record<string, ExchangeSummary>;
  totals: { read: number; mapped: number; rejected: number; resources: number; issues: number };
  /** Mapping problems that stopped a whole source (bad spec): no record of it was read. */
  sourceErrors: { source: string; message: string }[];
  /** Files (or a server's searches) that could not be read; the source's other files were. */
  fileErrors: { source: string; file: string; reason: string }[];
  reportDir: string;
}

/**
 * `once` resources (Patient, Organization, ...) seen recently, in two generations of at most ONCE_WINDOW
 * keys each: memory is bounded whatever the number of unique entities. A key evicted and seen again is
 * emitted again; its deterministic id is the same, so it is a duplicate by id (harmless to an upsert or
 * an id-keyed consumer), never a different resource. Rows of one entity are near each other in real
 * exports, and a hit moves the key to the newest generation.
 */
export const ONCE_WINDOW = 100_000;

class RecentKeys {
  private newer = new Set<string>();
  private older = new Set<string>();

  /** True when the key was seen within the window; records it either way. */
  seen(key: string): boolean {
    if (this.newer.has(key)) return true;
    const hit = this.older.delete(key);
    if (this.newer.size >= ONCE_WINDOW) {
      this.older = this.newer;
      this.newer = new Set();
    }
    this.newer.add(key);
    return hit;
  }
}

const RUN_ID_SAFE = /[^0-9A-Za-z-]/g;

export async function runPipeline(loaded: LoadedRunConfig, options: RunOptions = {}): Promise<RunSummary> {
  const { config, baseDir } = loaded;
  const started = Date.now();
  const runId = options.runId ?? new Date(started).toISOString().replace(/\.\d+Z$/, 'Z').replace(RUN_ID_SAFE, '');
  const reportsRoot = path.resolve(baseDir, options.outDir ?? config.outputs.dir);
  const reportDir = path.join(reportsRoot, runId);
  await rm(reportDir, { recursive: true, force: true });
  await mkdir(path.join(reportDir, 'resources'), { recursive: true });
  const progress = options.progress ?? createProgress(process.stderr);
  const measurer = await options.measure?.(new Date(started).toISOString());

  const pool =
    config.validation.enabled && !options.validate
      ? createValidatorPool({
          workers: config.validation.workers,
          igs: config.validation.igs.map((p) => path.resolve(baseDir, p)),
          heapMb: config.validation.workerHeapMb,
          displayLanguages: config.validation.language,
          displayIssuesAreWarnings: config.validation.displayIssuesAreWarnings,
          questionnaireMode: config.validation.questionnaire,
          bestPractice: config.validation.bestPractice,
        })
      : undefined;
  const custom = options.validate;
  const validate: ((batch: IssueContext[], items: ValidateItem[]) => Promise<BatchOutcome>) | undefined = !config.validation.enabled
    ? undefined
    : custom
      ? async (batch, items) => batchOutcome(batch, await custom(items))
      : pool!.validateBatch;

  const exchangeWriters = new Map<string, NdjsonWriter>();
  const exchanges: Record<string, ExchangeSummary> = {};
  for (const e of config.exchanges) {
    exchangeWriters.set(e.id, new NdjsonWriter(path.join(reportDir, 'resources', `${e.id}.ndjson`)));
    exchanges[e.id] = { resources: 0, validated: 0, withErrors: 0, issues: { fatal: 0, error: 0, warning: 0, information: 0 } };
  }
  const issuesOut = new NdjsonWriter(path.join(reportDir, 'issues.ndjson'));
  const rejectedOut = new NdjsonWriter(path.join(reportDir, 'rejected.ndjson'));
  const recent = new RecentKeys();
  const sources: Record<string, SourceSummary> = {};
  const sourceErrors: RunSummary['sourceErrors'] = [];
  const fileErrors: RunSummary['fileErrors'] = [];
  const coverage: Record<string, CoverageReport> = {};
  const totals = { read: 0, mapped: 0, rejected: 0, validated: 0 };
  let peakRss = process.memoryUsage.rss();

  // Bounded in-flight validation: the readers wait here, which is the backpressure.
  const maxInflight = Math.max(2, config.validation.workers * 2);
  const inflight = new Set<Promise<void>>();
  let failure: Error | undefined;
  const startBatch = (batch: IssueContext[], items: ValidateItem[]) => {
    const job = validate!(batch, items).then(({ counts, lines }) => {
      for (let i = 0; i < batch.length; i++) {
        const ex = exchanges[batch[i].exchange];
        ex.validated++;
        totals.validated++;
        for (let k = 0; k < 4; k++) ex.issues[SEVERITIES[k]] += counts[i * 4 + k];
        if (counts[i * 4] + counts[i * 4 + 1] > 0) ex.withErrors++;
      }
      measurer?.validated(batch, items, { counts, lines });
      return lines ? issuesOut.writeText(lines) : undefined;
    });
    // A failed batch (a worker died) stops the run at the next batch, with the worker's message.
    const tracked: Promise<void> = job.then(
      () => undefined,
      (err: Error) => {
        failure ??= err;
      },
    );
    void tracked.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };
  // Time the readers spent waiting for a free slot: near the run's duration when validation is the bottleneck.
  let waitedMs = 0;
  const sendBatch = async (batch: IssueContext[], items: ValidateItem[]) => {
    if (inflight.size >= maxInflight) {
      const t = performance.now();
      while (inflight.size >= maxInflight) await Promise.race(inflight);
      waitedMs += performance.now() - t;
    }
    if (failure) throw failure;
    startBatch(batch, items);
  };

  // Paths as the config names them: reports do not carry this machine's folders.
  const asNamedInConfig = (text: string) => text.split(baseDir + path.sep).join('');
  const recordRejection = (rec: RejectedRecord) => {
    const named = { ...rec, reason: asNamedInConfig(rec.reason) };
    measurer?.rejected(named);
    return rejectedOut.write(named);
  };

  const runSource = async (src: SourceConfig) => {
    const summary: SourceSummary = { organisation: src.organisation, mapping: src.mapping, records: { read: 0, mapped: 0, rejected: 0 }, files: { read: 0, failed: 0 }, resources: 0, exchanges: {} };
    let mapper: Mapper | undefined;
    if (src.mapping) {
      const loadedMapping = await sourceMapping({ ...src, mapping: src.mapping }, baseDir, new Set(exchangeWriters.keys()));
      if (typeof loadedMapping === 'string') {
        const message = loadedMapping;
        sourceErrors.push({ source: src.name, message });
        progress.event('source-skipped', { source: src.name, reason: message });
        // In rejected.ndjson and so in every report: the organisation's input is incomplete.
        await recordRejection({ source: src.name, file: src.mapping, stage: 'source', reason: message });
        return;
      }
      mapper = loadedMapping;
    }
    sources[src.name] = summary;
    progress.event('source-start', { source: src.name });
    const batchSize = config.validation.batchSize;
    let batch: IssueContext[] = [];
    let items: ValidateItem[] = [];
    let lastFile = '';
    let relFile = '';
    // Set by writers that are full; awaited once the current record is done (no promise per record otherwise).
    let wait: Promise<void> | undefined;
    const rejected = (rec: RejectedRecord) => {
      wait = recordRejection(rec) ?? wait;
    };
    const reject = (item: { line: number; pointer?: string }, stage: string, reason: string, field?: string) => {
      summary.records.rejected++;
      totals.rejected++;
      rejected({ source: src.name, file: relFile, line: item.line, pointer: item.pointer, stage, field, reason });
    };
    const emit = (item: { line: number; pointer?: string }, exchange: string | undefined, resource: FhirResource, once: boolean) => {
      const ex = exchange ?? src.exchange;
      // Per exchange, so that each exchange's file holds the Patient etc. its resources refer to.
      if (once && recent.seen(`${ex}|${resource.resourceType}/${resource.id}`)) return;
      const writer = ex ? exchangeWriters.get(ex) : undefined;
      // Every resource's exchange was checked when its mapping was loaded.
      if (!writer) throw new Error(`resource for unknown exchange '${ex}' (source ${src.name})`);
      summary.resources++;
      summary.exchanges[ex!] = (summary.exchanges[ex!] ?? 0) + 1;
      exchanges[ex!].resources++;
      const json = JSON.stringify(resource);
      wait = writer.writeLine(json) ?? wait;
      measurer?.resource(resource, measurer.context(src.name, ex!), json);
      if (!validate) return;
      batch.push({ source: src.name, file: relFile, line: item.line, pointer: item.pointer, exchange: ex!, resourceType: resource.resourceType, id: resource.id as string | undefined });
      items.push({ resource, json });
    };
    const sourceItems = src.server
      ? readServer(src.name, src.server)
      : readSource({ name: src.name, inputs: src.inputs ?? [], format: src.format, csv: src.csv, maxXmlBytes: src.maxXmlBytes }, baseDir);
    for await (const item of sourceItems as AsyncIterable<SourceItem>) {
      if (item.file !== lastFile) {
        lastFile = item.file;
        // A server's searches are named by their URLs.
        relFile = src.server ? item.file : path.relative(baseDir, item.file);
        if (item.kind !== 'file-error') summary.files.read++;
      }
      if (item.kind === 'file-error') {
        summary.files.failed++;
        progress.event('file-error', { source: src.name, reason: item.reason });
        const fileError = { source: src.name, file: relFile, reason: asNamedInConfig(item.reason) };
        fileErrors.push(fileError);
        rejected({ ...fileError, stage: 'file' });
      } else {
        summary.records.read++;
        totals.read++;
        if (item.kind === 'rejected') reject(item, 'read', item.reason, item.field);
        else if (!mapper) {
          summary.records.mapped++;
          totals.mapped++;
          emit(item, undefined, item.record as FhirResource, false);
        } else {
          const result = mapper.map(item.record);
          if (!result.ok) reject(item, 'map', result.reason, result.field);
          else {
            summary.records.mapped++;
            totals.mapped++;
            for (const r of result.resources) emit(item, r.exchange, r.resource, r.once);
          }
        }
        if ((totals.read & 1023) === 0) {
          const rss = process.memoryUsage.rss();
          peakRss = Math.max(peakRss, rss);
          progress.tick({ ...totals, rssMb: Math.round(rss / 1048576) });
        }
      }
      if (batch.length >= batchSize) {
        await sendBatch(batch, items);
        batch = [];
        items = [];
      }
      if (wait) {
        await wait;
        wait = undefined;
      }
    }
    if (batch.length) await sendBatch(batch, items);
    if (mapper) coverage[src.name] = { ...mapper.coverage(), spec: src.mapping! };
    progress.event('source-done', { source: src.name, ...summary.records });
  };

  try {
    // One source after the other: outputs are in a deterministic order (which source's copy of a shared
    // Patient is kept does not depend on timing), and nothing is lost: the main thread is CPU-bound and
    // the next source is read while the previous one's last batches are still being validated.
    for (const s of config.sources) await runSource(s);
    await Promise.all(inflight);
    if (failure) throw failure;
  } finally {
    await pool?.close();
    await Promise.all([...exchangeWriters.values(), issuesOut, rejectedOut].map((w) => w.close()));
  }
  progress.tick({ ...totals });
  progress.done();

  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  const durationMs = Date.now() - started;
  const issueCount = Object.values(exchanges).reduce((n, e) => n + e.issues.fatal + e.issues.error + e.issues.warning + e.issues.information, 0);
  const summary: RunSummary = {
    runId,
    config: path.relative(reportsRoot, path.resolve(loaded.file)),
    startedAt: new Date(started).toISOString(),
    durationMs,
    recordsPerSecond: Math.round(totals.read / Math.max(durationMs / 1000, 0.001)),
    peakRssMb: Math.round(peakRss / 1048576),
    validation: !!validate,
    validationWaitMs: Math.round(waitedMs),
    sources: Object.fromEntries(config.sources.filter((s) => sources[s.name]).map((s) => [s.name, sources[s.name]])),
    exchanges,
    totals: { read: totals.read, mapped: totals.mapped, rejected: totals.rejected, resources: Object.values(sources).reduce((n, s) => n + s.resources, 0), issues: issueCount },
    sourceErrors,
    fileErrors,
    reportDir,
  };
  await writeFile(path.join(reportDir, 'coverage.json'), JSON.stringify(coverage, null, 2) + '\n');
  await writeFile(path.join(reportDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const latest = path.join(reportsRoot, 'latest');
  await rm(latest, { recursive: true, force: true });
  // A link, not a copy: a region's outputs run to gigabytes. Copied where links are not allowed.
  await symlink(runId, latest, 'dir').catch(() => cp(reportDir, latest, { recursive: true }));
  return summary;
}
