/**
 * The quality summary: counts, never ratios, so shards add up. Everything derived (statuses, readiness)
 * is recomputed from counts by `finalize`, so a merged summary equals the single run's.
 */
import type { Category, RuleSet, Thresholds } from './rules.js';

export type Status = 'pass' | 'warn' | 'fail' | 'n/a';

export interface Cell {
  organisation: string;
  exchange: string;
  /** Profile claimed in meta.profile, or '(none)'; for completeness and conformance cells. */
  profile?: string;
  /** Completeness: the element's name or path. */
  element?: string;
  level?: 'required' | 'must-support' | 'regional';
  numerator: number;
  denominator: number;
  /** Units that could not be judged (e.g. a transfer without a discharge time). */
  unknown?: number;
}

export interface Example {
  /** Element path (FHIRPath), never a resource id. */
  path: string;
  message: string;
}

export interface MeasureResult {
  id: string;
  pack: string;
  title: string;
  description?: string;
  category: Category;
  kind: string;
  /** Exchanges the measure applies to; absent: all. */
  exchanges?: string[];
  unit: string;
  thresholds: Thresholds;
  /** Completeness: elements with thresholds of their own. */
  elementThresholds?: Record<string, Thresholds>;
  cells: Cell[];
  /** Failing examples (element paths and messages, no identifiers), the first few in sort order. */
  examples: Example[];
}

export interface IssueGroup {
  messageId: string;
  severity: 'fatal' | 'error' | 'warning' | 'information';
  organisation: string;
  exchange: string;
  resourceType: string;
  count: number;
  /** Reason from the suppression that matched; such issues do not count as errors. */
  suppressed?: string;
  examples: Example[];
}

export interface RejectionGroup {
  source: string;
  organisation: string;
  exchange: string;
  stage: string;
  field?: string;
  /** The reason with values masked ('…'), so no identifier leaves. */
  reason: string;
  count: number;
}

export interface IndicatorCell {
  organisation: string;
  municipality: string;
  ageBand: string;
  numerator: number;
  denominator: number;
}

export interface IndicatorResult {
  id: string;
  pack: string;
  title: string;
  description?: string;
  period: { start: string; end: string };
  target?: number;
  minCell: number;
  stratify: ('organisation' | 'municipality' | 'ageBand')[];
  /** Finest cells (organisation × municipality × age band), exact, so shards merge; renderers suppress. */
  cells: IndicatorCell[];
}

export interface SuppressionResult {
  messageId: string;
  path?: string;
  organisation?: string;
  reason: string;
  count: number;
}

export interface ReadinessCell {
  organisation: string;
  exchange: string;
  status: Status;
  measures: Record<string, Status>;
}

export interface QualitySummary {
  schemaVersion: 1;
  region: string;
  referenceDate: string;
  runs: { runId: string; startedAt: string }[];
  packs: RuleSet['packs'];
  organisations: { id: string; name: string }[];
  exchanges: { id: string; title?: string }[];
  sources: Record<string, { organisation: string; exchange?: string; read: number; mapped: number; rejected: number }>;
  measures: MeasureResult[];
  issues: IssueGroup[];
  rejections: RejectionGroup[];
  suppressions: SuppressionResult[];
  indicators: IndicatorResult[];
  /** Derived from the counts. */
  status: Record<string, Status>;
  readiness: ReadinessCell[];
}

export const MAX_EXAMPLES = 3;

export function statusOf(numerator: number, denominator: number, t: Thresholds): Status {
  if (denominator === 0) return 'n/a';
  const r = numerator / denominator;
  return r >= t.pass ? 'pass' : r >= t.warn ? 'warn' : 'fail';
}

const RANK: Record<Status, number> = { 'n/a': 0, pass: 1, warn: 2, fail: 3 };
export function worst(statuses: Iterable<Status>): Status {
  let w: Status = 'n/a';
  for (const s of statuses) if (RANK[s] > RANK[w]) w = s;
  return w;
}

const str = (a: string | undefined, b: string | undefined) => ((a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0);

/** Keeps the first MAX_EXAMPLES distinct examples in sort order: a merge of shards keeps the same ones. */
export function addExample(list: Example[], ex: Example): void {
  let i = 0;
  while (i < list.length) {
    const c = str(list[i].path, ex.path) || str(list[i].message, ex.message);
    if (c === 0) return;
    if (c > 0) break;
    i++;
  }
  if (i >= MAX_EXAMPLES) return;
  list.splice(i, 0, ex);
  if (list.length > MAX_EXAMPLES) list.pop();
}

const cellKey = (c: Cell) => `${c.organisation}\0${c.exchange}\0${c.profile ?? ''}\0${c.element ?? ''}`;
const issueKey = (g: IssueGroup) => `${g.messageId}\0${g.severity}\0${g.organisation}\0${g.exchange}\0${g.resourceType}\0${g.suppressed ?? ''}`;
const rejectionKey = (r: RejectionGroup) => `${r.source}\0${r.stage}\0${r.field ?? ''}\0${r.reason}`;
const indicatorKey = (c: IndicatorCell) => `${c.organisation}\0${c.municipality}\0${c.ageBand}`;
const suppressionKey = (s: SuppressionResult) => `${s.messageId}\0${s.path ?? ''}\0${s.organisation ?? ''}\0${s.reason}`;

/** Derived fields and a canonical order, so equal counts give byte-identical JSON. */
export function finalize(q: QualitySummary): QualitySummary {
  q.runs.sort((a, b) => str(a.startedAt, b.startedAt) || str(a.runId, b.runId));
  for (const m of q.measures) m.cells.sort((a, b) => str(cellKey(a), cellKey(b)));
  q.issues.sort((a, b) => b.count - a.count || str(issueKey(a), issueKey(b)));
  q.rejections.sort((a, b) => str(rejectionKey(a), rejectionKey(b)));
  q.suppressions.sort((a, b) => str(suppressionKey(a), suppressionKey(b)));
  for (const ind of q.indicators) ind.cells.sort((a, b) => str(indicatorKey(a), indicatorKey(b)));
  q.sources = Object.fromEntries(Object.keys(q.sources).sort().map((k) => [k, q.sources[k]]));
  q.status = {};
  q.readiness = [];
  const perCell = new Map<string, Record<string, Status>>();
  for (const m of q.measures) {
    const statuses: Status[] = [];
    // Per organisation × exchange: elements and profiles are judged one by one (the worst counts).
    const groups = new Map<string, Cell[]>();
    for (const c of m.cells) {
      const k = `${c.organisation}\0${c.exchange}`;
      groups.get(k)?.push(c) ?? groups.set(k, [c]);
    }
    for (const [k, cells] of groups) {
      const s = cellStatus(m, cells);
      statuses.push(s);
      if (s === 'n/a') continue;
      const rec = perCell.get(k) ?? {};
      rec[m.id] = s;
      perCell.set(k, rec);
    }
    q.status[m.id] = worst(statuses);
  }
  for (const o of q.organisations) {
    for (const e of q.exchanges) {
      const measures = perCell.get(`${o.id}\0${e.id}`) ?? {};
      q.readiness.push({ organisation: o.id, exchange: e.id, status: worst(Object.values(measures)), measures });
    }
  }
  return q;
}

/** Status of one organisation × exchange for a measure: completeness per element, others on the sums. */
export function cellStatus(m: MeasureResult, cells: Cell[]): Status {
  if (m.kind === 'completeness') {
    const byElement = new Map<string, [number, number]>();
    for (const c of cells) {
      const t = byElement.get(c.element!) ?? [0, 0];
      t[0] += c.numerator;
      t[1] += c.denominator;
      byElement.set(c.element!, t);
    }
    return worst([...byElement].map(([element, [n, d]]) => statusOf(n, d, m.elementThresholds?.[element] ?? m.thresholds)));
  }
  let n = 0;
  let d = 0;
  for (const c of cells) {
    n += c.numerator;
    d += c.denominator;
  }
  return statusOf(n, d, m.thresholds);
}

function sumInto<T extends object>(map: Map<string, T>, key: string, item: T, add: (into: T, from: T) => void): void {
  const have = map.get(key);
  if (have) add(have, item);
  else map.set(key, structuredClone(item));
}

export class MergeError extends Error {}

/**
 * Adds shards up. Exact when each organisation's sources are in one shard (patient-level rules and
 * indicators are per organisation); per-source counts (records, conformance, completeness, identifiers,
 * issues, rejections) are exact for any split by source. Packs and reference date must be the same.
 */
export function mergeSummaries(shards: readonly QualitySummary[]): QualitySummary {
  if (!shards.length) throw new MergeError('nothing to merge');
  const first = shards[0];
  const packs = JSON.stringify(first.packs);
  for (const s of shards) {
    if (JSON.stringify(s.packs) !== packs) throw new MergeError('shards were measured with different rule packs');
    if (s.referenceDate !== first.referenceDate) throw new MergeError(`shards have different reference dates (${first.referenceDate}, ${s.referenceDate})`);
  }
  const out: QualitySummary = {
    ...structuredClone(first),
    runs: shards.flatMap((s) => s.runs),
    organisations: uniqueBy(shards.flatMap((s) => s.organisations), (o) => o.id),
    exchanges: uniqueBy(shards.flatMap((s) => s.exchanges), (e) => e.id),
    sources: {},
  };
  for (const s of shards) {
    for (const [name, src] of Object.entries(s.sources)) {
      const have = out.sources[name];
      if (!have) out.sources[name] = { ...src };
      else {
        have.read += src.read;
        have.mapped += src.mapped;
        have.rejected += src.rejected;
      }
    }
  }
  const addCounts = (a: { numerator: number; denominator: number; unknown?: number }, b: typeof a) => {
    a.numerator += b.numerator;
    a.denominator += b.denominator;
    if (b.unknown !== undefined) a.unknown = (a.unknown ?? 0) + b.unknown;
  };
  out.measures = first.measures.map((m) => {
    const cells = new Map<string, Cell>();
    const examples: Example[] = [];
    for (const s of shards) {
      const sm = s.measures.find((x) => x.id === m.id);
      if (!sm) throw new MergeError(`measure ${m.id} is missing in a shard`);
      for (const c of sm.cells) sumInto(cells, cellKey(c), c, addCounts);
      for (const e of sm.examples) addExample(examples, e);
    }
    return { ...m, cells: [...cells.values()], examples };
  });
  const issues = new Map<string, IssueGroup>();
  const rejections = new Map<string, RejectionGroup>();
  const suppressions = new Map<string, SuppressionResult>();
  for (const s of shards) {
    for (const g of s.issues)
      sumInto(issues, issueKey(g), g, (a, b) => {
        a.count += b.count;
        for (const e of b.examples) addExample(a.examples, e);
      });
    for (const r of s.rejections) sumInto(rejections, rejectionKey(r), r, (a, b) => (a.count += b.count));
    for (const x of s.suppressions) sumInto(suppressions, suppressionKey(x), x, (a, b) => (a.count += b.count));
  }
  out.issues = [...issues.values()];
  out.rejections = [...rejections.values()];
  out.suppressions = [...suppressions.values()];
  out.indicators = first.indicators.map((ind) => {
    const cells = new Map<string, IndicatorCell>();
    for (const s of shards) {
      const si = s.indicators.find((x) => x.id === ind.id);
      if (!si) throw new MergeError(`indicator ${ind.id} is missing in a shard`);
      for (const c of si.cells) sumInto(cells, indicatorKey(c), c, addCounts);
    }
    return { ...ind, cells: [...cells.values()] };
  });
  return finalize(out);
}

/** First occurrence wins, in order: shards of one config list organisations alike. */
function uniqueBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const x of xs) if (!seen.has(key(x))) seen.set(key(x), x);
  return [...seen.values()];
}
