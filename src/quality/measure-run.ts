/**
 * Measures a run: `RunMeasurer` is fed by the pipeline as results arrive (`fhirdq run`), or from a finished
 * run's folder by `measureRun` (`fhirdq report <dir>`), which streams issues, resources and rejected records
 * once each. Both feed the collector through the same methods, so they give the same summary.
 */
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYamlText } from 'yaml';
import type { LoadedRunConfig } from '../pipeline/config.js';
import type { BatchOutcome, IssueContext } from '../pipeline/issue-lines.js';
import type { FhirResource } from '../packages/types.js';
import { QualityCollector, type RejectedRecord, type ResourceContext, type VendorDetail } from './collector.js';
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

/** The part of the pipeline's summary.json measuring needs. */
export interface PipelineSummary {
  runId: string;
  startedAt: string;
  validation: boolean;
  /** `exchanges`: resources the source wrote per exchange (absent in runs of older versions). */
  sources: Record<string, { records: { read: number; mapped: number; rejected: number }; exchanges?: Record<string, number> }>;
}

export interface Measured {
  summary: QualitySummary;
  vendor: VendorDetail;
}

const UNATTRIBUTED = '(unattributed)';
/** Where an issues.ndjson line's own members start: the context members before it are JSON-escaped, so this cannot occur in them. */
const ISSUE_MEMBERS = ',"severity":"';

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

/** Where the issue's own members (severity … expression) start in text[start..]; throws on a line not written by the pipeline. */
function issueMembers(text: string, start: number, end: number): number {
  const at = text.indexOf(ISSUE_MEMBERS, start);
  if (at < 0 || at >= end) throw new Error(`not an issues.ndjson line: ${text.slice(start, Math.min(end, start + 200))}`);
  return at + 1;
}

/** Feeds one run's results to a QualityCollector. */
export class RunMeasurer {
  private readonly contexts = new Map<string, Map<string, ResourceContext>>();

  private constructor(
    readonly collector: QualityCollector,
    readonly sources: Record<string, { organisation: string; exchange?: string }>,
  ) {}

  static async open(loaded: LoadedRunConfig, referenceDate: string, options: MeasureOptions = {}): Promise<RunMeasurer> {
    const { config } = loaded;
    const rules = options.rules && !Array.isArray(options.rules) ? (options.rules as RuleSet) : await loadRules(options.rules as readonly string[] | undefined);
    const sources: Record<string, { organisation: string; exchange?: string }> = {};
    for (const s of config.sources) sources[s.name] = { organisation: s.organisation, exchange: await exchangeOf(loaded, s) };
    const collector = new QualityCollector(rules, {
      region: config.name,
      referenceDate: options.referenceDate ?? referenceDate,
      organisations: config.organisations,
      exchanges: config.exchanges,
      sources,
      vendor: options.vendor,
    });
    return new RunMeasurer(collector, sources);
  }

  /** The context of resources of a source in an exchange (the same object each time). */
  context(source: string, exchange: string): ResourceContext {
    let byExchange = this.contexts.get(source);
    if (!byExchange) this.contexts.set(source, (byExchange = new Map()));
    let ctx = byExchange.get(exchange);
    if (!ctx) byExchange.set(exchange, (ctx = { source, organisation: this.sources[source]?.organisation ?? UNATTRIBUTED, exchange }));
    return ctx;
  }

  /** A resource as the pipeline writes it (`json`: its line): every measure but conformance. */
  resource(resource: FhirResource, ctx: ResourceContext, json?: string): void {
    this.collector.measure(resource, ctx, json);
  }

  /** A validated batch, as the validation workers return it: its issues.ndjson lines, in resource order, and its counts. */
  validated(batch: readonly IssueContext[], items: readonly { resource: FhirResource }[], { counts, lines }: BatchOutcome): void {
    let pos = 0;
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i];
      const n = counts[i * 4] + counts[i * 4 + 1] + counts[i * 4 + 2] + counts[i * 4 + 3];
      const site = n ? this.collector.site(p.source, p.exchange, p.resourceType) : undefined;
      let errors = false;
      for (let k = 0; k < n; k++) {
        const end = lines.indexOf('\n', pos);
        if (this.collector.issueText(site!, lines.slice(issueMembers(lines, pos, end), end))) errors = true;
        pos = end + 1;
      }
      this.collector.conformance(items[i].resource, this.context(p.source, p.exchange), errors);
    }
  }

  /** One line of issues.ndjson: where it was found, and whether it makes its resource fail. */
  issueLine(line: string): { at: IssueContext; error: boolean } {
    const members = issueMembers(line, 0, line.length);
    const at = JSON.parse(`${line.slice(0, members - 1)}}`) as IssueContext;
    return { at, error: this.collector.issueText(this.collector.site(at.source, at.exchange, at.resourceType), line.slice(members)) };
  }

  rejected(rec: RejectedRecord): void {
    this.collector.rejected(rec);
  }

  /** Judges the patient-level rules: the summary. The measurer is done. */
  finish(pipeline: PipelineSummary): Measured {
    for (const [name, s] of Object.entries(pipeline.sources)) this.collector.records(name, s.records);
    return { summary: this.collector.finish({ runId: pipeline.runId, startedAt: pipeline.startedAt }), vendor: this.collector.vendor };
  }
}

/** The lines of a run folder's NDJSON file, each with `read`: the line's meaning, or an error naming file and line. */
async function* lines(file: string): AsyncGenerator<{ text: string; read: <T>(parse: (text: string) => T) => T }> {
  if (!existsSync(file)) return;
  const rl = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let number = 0;
  for await (const text of rl) {
    number++;
    if (!text) continue;
    const at = number;
    yield {
      text,
      read(parse) {
        try {
          return parse(text);
        } catch (err) {
          // A run killed while writing leaves its last line cut short.
          throw new Error(`${file}:${at}: cannot be read (${(err as Error).message}): was the run cut short, or the file edited?`);
        }
      },
    };
  }
}

export async function measureRun(runDir: string, loaded: LoadedRunConfig, options: MeasureOptions = {}): Promise<QualitySummary> {
  return (await measureRunDetailed(runDir, loaded, options)).summary;
}

/** Measures a finished run from its folder. */
export async function measureRunDetailed(runDir: string, loaded: LoadedRunConfig, options: MeasureOptions = {}): Promise<Measured> {
  const { config } = loaded;
  const pipeline = JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8')) as PipelineSummary;
  const measurer = await RunMeasurer.open(loaded, pipeline.startedAt.slice(0, 10), options);

  // Per resource: whether it has an error that is not suppressed, and (for runs that did not record which
  // source wrote which resources) the source, from its issues: source index × 2 + 1 if it has an error.
  const sourceNames = config.sources.map((s) => s.name);
  const sourceIndex = new Map(sourceNames.map((n, i) => [n, i]));
  const seen = new Map<string, number>();
  for await (const line of lines(path.join(runDir, 'issues.ndjson'))) {
    const { at, error } = line.read((text) => measurer.issueLine(text));
    if (at.id === undefined) continue;
    const key = `${at.exchange}\0${at.resourceType}/${at.id}`;
    const v = seen.get(key) ?? (sourceIndex.get(at.source) ?? -1) * 2;
    seen.set(key, error ? v | 1 : v);
  }

  for (const e of config.exchanges) {
    // Sources run one after the other: an exchange's file holds each source's resources as one block, in config order.
    const blocks = sourceNames.flatMap((name) => {
      const n = pipeline.sources[name]?.exchanges?.[e.id];
      return n ? [{ name, n }] : [];
    });
    const only = sourceNames.filter((n) => measurer.sources[n].exchange === e.id);
    let block = 0;
    let inBlock = 0;
    for await (const line of lines(path.join(runDir, 'resources', `${e.id}.ndjson`))) {
      const resource = line.read((text) => JSON.parse(text) as FhirResource);
      const v = seen.get(`${e.id}\0${resource.resourceType}/${resource.id}`);
      let src: string | undefined;
      if (block < blocks.length) {
        src = blocks[block].name;
        if (++inBlock === blocks[block].n) [block, inBlock] = [block + 1, 0];
      } else src = v !== undefined && v >= 0 ? sourceNames[v >> 1] : only.length === 1 ? only[0] : undefined;
      const ctx = src ? measurer.context(src, e.id) : { source: UNATTRIBUTED, organisation: UNATTRIBUTED, exchange: e.id };
      measurer.resource(resource, ctx, line.text);
      if (pipeline.validation) measurer.collector.conformance(resource, ctx, v !== undefined && (v & 1) === 1);
    }
  }
  seen.clear();

  for await (const line of lines(path.join(runDir, 'rejected.ndjson'))) measurer.rejected(line.read((text) => JSON.parse(text) as RejectedRecord));
  return measurer.finish(pipeline);
}
