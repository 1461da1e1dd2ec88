/** The pipeline: sources → map → validate (worker pool, bounded) → sinks, with exact per-source accounting. */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { readSource } from '../formats/stream-source.js';
import type { SourceItem } from '../formats/stream-record.js';
import { loadMapping, type CoverageReport, type Mapper } from '../mapping/compile.js';
import { SpecErrors } from '../mapping/yaml-file.js';
import type { FhirResource } from '../packages/types.js';
import type { Issue } from '../validation/issues.js';
import type { LoadedRunConfig, SourceConfig } from './config.js';
import { createProgress, type Progress } from './progress.js';
import { NdjsonWriter } from './sinks.js';
import { createValidatorPool, type ValidateBatch, type ValidateItem } from './validate-pool.js';

export interface RunOptions {
  /** Replaces the worker pool (tests, or callers that validate elsewhere). */
  validate?: ValidateBatch;
  runId?: string;
  progress?: Progress;
  /** Where reports go; default: the config's outputs.dir. */
  outDir?: string;
}

export interface SourceSummary {
  organisation: string;
  mapping?: string;
  records: { read: number; mapped: number; rejected: number };
  files: { read: number; failed: number };
  resources: number;
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
  sources: Record<string, SourceSummary>;
  exchanges: Record<string, ExchangeSummary>;
  totals: { read: number; mapped: number; rejected: number; resources: number; issues: number };
  /** Mapping problems that stopped a whole source (bad spec): no record of it was read. */
  sourceErrors: { source: string; message: string }[];
  reportDir: string;
}

interface Pending {
  source: string;
  file: string;
  line: number;
  pointer?: string;
  exchange: string;
  resource: FhirResource;
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

  const pool = config.validation.enabled && !options.validate ? createValidatorPool({ workers: config.validation.workers, igs: config.validation.igs.map((p) => path.resolve(baseDir, p)) }) : undefined;
  const validate = config.validation.enabled ? (options.validate ?? pool!.validate) : undefined;

  const exchangeWriters = new Map<string, NdjsonWriter>();
  const exchanges: Record<string, ExchangeSummary> = {};
  for (const e of config.exchanges) {
    exchangeWriters.set(e.id, new NdjsonWriter(path.join(reportDir, 'resources', `${e.id}.ndjson`)));
    exchanges[e.id] = { resources: 0, validated: 0, withErrors: 0, issues: { fatal: 0, error: 0, warning: 0, information: 0 } };
  }
  const issuesOut = new NdjsonWriter(path.join(reportDir, 'issues.ndjson'));
  const rejectedOut = new NdjsonWriter(path.join(reportDir, 'rejected.ndjson'));
  const seenOnce = new Set<string>();
  const sources: Record<string, SourceSummary> = {};
  const sourceErrors: RunSummary['sourceErrors'] = [];
  const coverage: Record<string, CoverageReport> = {};
  const totals = { read: 0, mapped: 0, rejected: 0, validated: 0 };
  let peakRss = process.memoryUsage().rss;

  // Bounded in-flight validation: the readers wait here, which is the backpressure.
  const maxInflight = config.validation.workers * 2;
  const inflight = new Set<Promise<void>>();
  const sendBatch = async (batch: Pending[]) => {
    if (!validate) return;
    while (inflight.size >= maxInflight) await Promise.race(inflight);
    const items: ValidateItem[] = batch.map((p) => ({ resource: p.resource }));
    const job = validate(items).then(async (results) => {
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i];
        const ex = exchanges[p.exchange];
        ex.validated++;
        totals.validated++;
        let errors = false;
        for (const issue of results[i]) {
          ex.issues[issue.severity]++;
          if (issue.severity === 'error' || issue.severity === 'fatal') errors = true;
          await issuesOut.write(issueRecord(p, issue));
        }
        if (errors) ex.withErrors++;
      }
    });
    const tracked = job.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };

  const runSource = async (src: SourceConfig) => {
    const summary: SourceSummary = { organisation: src.organisation, mapping: src.mapping, records: { read: 0, mapped: 0, rejected: 0 }, files: { read: 0, failed: 0 }, resources: 0 };
    let mapper: Mapper | undefined;
    if (src.mapping) {
      try {
        mapper = await loadMapping(path.resolve(baseDir, src.mapping));
      } catch (err) {
        const message = err instanceof SpecErrors ? err.message : `${src.mapping}: ${(err as Error).message}`;
        sourceErrors.push({ source: src.name, message });
        progress.event('source-skipped', { source: src.name, reason: message });
        return;
      }
    }
    sources[src.name] = summary;
    progress.event('source-start', { source: src.name });
    let batch: Pending[] = [];
    let lastFile = '';
    const reject = (item: { file: string; line: number; pointer?: string }, stage: string, reason: string, field?: string) => {
      summary.records.rejected++;
      totals.rejected++;
      return rejectedOut.write({ source: src.name, file: path.relative(baseDir, item.file), line: item.line, pointer: item.pointer, stage, field, reason });
    };
    const emit = async (item: { file: string; line: number; pointer?: string }, exchange: string | undefined, resource: FhirResource, once: boolean) => {
      if (once) {
        const key = `${resource.resourceType}/${resource.id}`;
        if (seenOnce.has(key)) return;
        seenOnce.add(key);
      }
      const ex = exchange ?? src.exchange;
      const writer = ex ? exchangeWriters.get(ex) : undefined;
      if (!writer) throw new Error(`resource for unknown exchange '${ex}' (source ${src.name})`);
      summary.resources++;
      exchanges[ex!].resources++;
      await writer.write(resource);
      batch.push({ source: src.name, file: path.relative(baseDir, item.file), line: item.line, pointer: item.pointer, exchange: ex!, resource });
      if (batch.length >= config.validation.batchSize) {
        const full = batch;
        batch = [];
        await sendBatch(full);
      }
    };
    for await (const item of readSource({ name: src.name, inputs: src.inputs, format: src.format, csv: src.csv, maxXmlBytes: src.maxXmlBytes }, baseDir) as AsyncIterable<SourceItem>) {
      if (item.kind === 'file-error') {
        summary.files.failed++;
        progress.event('file-error', { source: src.name, reason: item.reason });
        await rejectedOut.write({ source: src.name, file: path.relative(baseDir, item.file), stage: 'file', reason: item.reason });
        continue;
      }
      if (item.file !== lastFile) {
        lastFile = item.file;
        summary.files.read++;
      }
      summary.records.read++;
      totals.read++;
      if (item.kind === 'rejected') {
        await reject(item, 'read', item.reason, item.field);
      } else if (!mapper) {
        summary.records.mapped++;
        totals.mapped++;
        await emit(item, undefined, item.record as FhirResource, false);
      } else {
        const result = mapper.map(item.record);
        if (!result.ok) await reject(item, 'map', result.reason, result.field);
        else {
          summary.records.mapped++;
          totals.mapped++;
          for (const r of result.resources) await emit(item, r.exchange, r.resource, r.once);
        }
      }
      if ((totals.read & 1023) === 0) {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        progress.tick(totals);
      }
    }
    if (batch.length) await sendBatch(batch);
    if (mapper) coverage[src.name] = { ...mapper.coverage(), spec: src.mapping! };
    progress.event('source-done', { source: src.name, ...summary.records });
  };

  try {
    // Two sources read at a time: I/O overlaps, and the validation queue bounds memory either way.
    const queue = new PQueue({ concurrency: 2 });
    await Promise.all(config.sources.map((s) => queue.add(() => runSource(s))));
    await Promise.all(inflight);
  } finally {
    await pool?.close();
    await Promise.all([...exchangeWriters.values(), issuesOut, rejectedOut].map((w) => w.close()));
  }
  progress.tick({ ...totals });
  progress.done();

  peakRss = Math.max(peakRss, process.memoryUsage().rss);
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
    sources: Object.fromEntries(config.sources.filter((s) => sources[s.name]).map((s) => [s.name, sources[s.name]])),
    exchanges,
    totals: { read: totals.read, mapped: totals.mapped, rejected: totals.rejected, resources: Object.values(sources).reduce((n, s) => n + s.resources, 0), issues: issueCount },
    sourceErrors,
    reportDir,
  };
  await writeFile(path.join(reportDir, 'coverage.json'), JSON.stringify(coverage, null, 2) + '\n');
  await writeFile(path.join(reportDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const latest = path.join(reportsRoot, 'latest');
  await rm(latest, { recursive: true, force: true });
  await cp(reportDir, latest, { recursive: true });
  return summary;
}

function issueRecord(p: Pending, issue: Issue): Record<string, unknown> {
  return {
    source: p.source,
    file: p.file,
    line: p.line,
    pointer: p.pointer,
    exchange: p.exchange,
    resourceType: p.resource.resourceType,
    id: p.resource.id,
    severity: issue.severity,
    code: issue.code,
    messageId: issue.messageId,
    message: issue.message,
    expression: issue.path,
  };
}
