/** Measures a finished run from its folder: streams issues, resources and rejected records once each. */
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYamlText } from 'yaml';
import type { LoadedRunConfig } from '../pipeline/config.js';
import type { FhirResource } from '../packages/types.js';
import { QualityCollector, type IssueRecord, type RejectedRecord, type ResourceContext, type VendorDetail } from './collector.js';
import { loadRules, type RuleSet } from './rules.js';
import type { QualitySummary } from './summary.js';

export interface MeasureOptions {
  /** Rule pack files or folders; default profiles/rules/. */
  rules?: RuleSet | readonly string[];
  /** Day currency is judged at (yyyy-mm-dd); default the run's start date. */
  referenceDate?: string;
  /** Keep resource locations for vendor-mode JUnit. */
  vendor?: boolean;
}

/** The part of the pipeline's summary.json this reads. */
interface PipelineSummary {
  runId: string;
  startedAt: string;
  validation: boolean;
  sources: Record<string, { organisation: string; records: { read: number; mapped: number; rejected: number } }>;
}

const UNATTRIBUTED = '(unattributed)';

async function* lines(file: string): AsyncGenerator<string> {
  if (!existsSync(file)) return;
  const rl = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of rl) if (line) yield line;
}

/** A source's exchange: its own, or the one its mapping spec names. */
async function exchangeOf(loaded: LoadedRunConfig, source: LoadedRunConfig['config']['sources'][number]): Promise<string | undefined> {
  if (source.exchange) return source.exchange;
  if (!source.mapping) return undefined;
  try {
    const spec = parseYamlText(await readFile(path.resolve(loaded.baseDir, source.mapping), 'utf8')) as { exchange?: unknown };
    return typeof spec?.exchange === 'string' ? spec.exchange : undefined;
  } catch {
    return undefined;
  }
}

export async function measureRun(runDir: string, loaded: LoadedRunConfig, options: MeasureOptions = {}): Promise<QualitySummary> {
  return (await measureRunDetailed(runDir, loaded, options)).summary;
}

export async function measureRunDetailed(runDir: string, loaded: LoadedRunConfig, options: MeasureOptions = {}): Promise<{ summary: QualitySummary; vendor: VendorDetail }> {
  const { config } = loaded;
  const pipeline = JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8')) as PipelineSummary;
  const rules = options.rules && !Array.isArray(options.rules) ? (options.rules as RuleSet) : await loadRules(options.rules as readonly string[] | undefined);
  const sources: Record<string, { organisation: string; exchange?: string }> = {};
  for (const s of config.sources) sources[s.name] = { organisation: s.organisation, exchange: await exchangeOf(loaded, s) };
  const collector = new QualityCollector(rules, {
    region: config.name,
    referenceDate: options.referenceDate ?? pipeline.startedAt.slice(0, 10),
    organisations: config.organisations,
    exchanges: config.exchanges,
    sources,
    vendor: options.vendor,
  });

  // The resources files do not say which source wrote a resource; issues.ndjson does, per resource id.
  // Value: source index × 2 + 1 if the resource has an error that is not suppressed.
  const sourceNames = config.sources.map((s) => s.name);
  const sourceIndex = new Map(sourceNames.map((n, i) => [n, i]));
  const seen = new Map<string, number>();
  for await (const line of lines(path.join(runDir, 'issues.ndjson'))) {
    const rec = JSON.parse(line) as IssueRecord;
    const error = collector.issue(rec);
    if (rec.id === undefined) continue;
    const key = `${rec.exchange}\0${rec.resourceType}/${rec.id}`;
    const v = seen.get(key) ?? (sourceIndex.get(rec.source) ?? -1) * 2;
    seen.set(key, error ? v | 1 : v);
  }

  for (const e of config.exchanges) {
    const only = sourceNames.filter((n) => sources[n].exchange === e.id);
    for await (const line of lines(path.join(runDir, 'resources', `${e.id}.ndjson`))) {
      const resource = JSON.parse(line) as FhirResource;
      const v = seen.get(`${e.id}\0${resource.resourceType}/${resource.id}`);
      const src = v !== undefined && v >= 0 ? sourceNames[v >> 1] : only.length === 1 ? only[0] : undefined;
      const ctx: ResourceContext = src ? { source: src, organisation: sources[src].organisation, exchange: e.id } : { source: UNATTRIBUTED, organisation: UNATTRIBUTED, exchange: e.id };
      collector.resource(resource, ctx, pipeline.validation ? v !== undefined && (v & 1) === 1 : undefined);
    }
  }
  seen.clear();

  for await (const line of lines(path.join(runDir, 'rejected.ndjson'))) collector.rejected(JSON.parse(line) as RejectedRecord);
  for (const [name, s] of Object.entries(pipeline.sources)) collector.records(name, s.records);
  return { summary: collector.finish({ runId: pipeline.runId, startedAt: pipeline.startedAt }), vendor: collector.vendor };
}
