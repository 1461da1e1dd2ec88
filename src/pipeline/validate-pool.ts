/** Validation on worker_threads: each worker loads its own validator once and validates batches. */
import { Worker } from 'node:worker_threads';
import type { Issue } from '../validation/issues.js';
import type { FhirResource } from '../packages/types.js';
import type { BatchOutcome, IssueContext } from './issue-lines.js';

export interface ValidateItem {
  resource: FhirResource;
  profile?: string;
  /** The resource as JSON text when the caller has it already: the pool sends this (one string copy) instead of cloning the object. */
  json?: string;
}

/** What crosses to a worker: JSON text, parsed there, so the main thread pays no structured clone of resources. */
export interface WorkerItem {
  json: string;
  profile?: string;
}

/** Validates a batch; resolves to the issues of each item, in order. */
export type ValidateBatch = (items: ValidateItem[]) => Promise<Issue[][]>;

export interface ValidatorPool {
  validate: ValidateBatch;
  /** Validates a batch and returns its issue counts and issues.ndjson lines, built in the worker. */
  validateBatch(contexts: IssueContext[], items: ValidateItem[]): Promise<BatchOutcome>;
  close(): Promise<void>;
}

/** A worker's reply: `results` for validate, `outcome` for validateBatch. */
export interface WorkerReply {
  id: number;
  results?: Issue[][];
  outcome?: BatchOutcome;
  error?: string;
}

interface Slot {
  worker: Worker;
  inflight: number;
  pending: Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>;
}

export function createValidatorPool(options: { workers: number; igs: string[]; heapMb?: number }): ValidatorPool {
  const url = new URL('./validate-worker.js', import.meta.url);
  let nextId = 0;
  const slots: Slot[] = [];
  for (let i = 0; i < options.workers; i++) {
    const slot: Slot = { worker: new Worker(url, { workerData: { igs: options.igs }, resourceLimits: options.heapMb ? { maxOldGenerationSizeMb: options.heapMb } : undefined }), inflight: 0, pending: new Map() };
    slot.worker.on('message', (msg: WorkerReply) => {
      const p = slot.pending.get(msg.id);
      if (!p) return;
      slot.pending.delete(msg.id);
      slot.inflight--;
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg);
    });
    slot.worker.on('error', (err: NodeJS.ErrnoException) => {
      const error = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new Error(`a validation worker ran out of memory (validation.workerHeapMb: ${options.heapMb}): raise it in the run config`) : err;
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
    });
    slots.push(slot);
  }
  const request = (items: ValidateItem[], contexts?: IssueContext[]): Promise<WorkerReply> => {
    let slot = slots[0];
    for (const s of slots) if (s.inflight < slot.inflight) slot = s;
    const id = nextId++;
    slot.inflight++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const sent: WorkerItem[] = items.map((it) => ({ json: it.json ?? JSON.stringify(it.resource), profile: it.profile }));
      slot.worker.postMessage({ id, items: sent, contexts });
    });
  };
  return {
    validate: async (items) => (await request(items)).results!,
    validateBatch: async (contexts, items) => (await request(items, contexts)).outcome!,
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
