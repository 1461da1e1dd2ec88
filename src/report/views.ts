/** Views shared by the renderers: per-exchange measure results, indicator tables with small cells suppressed. */
import type { Drop } from './history.js';
import { SEVERITY_RANK } from '../validation/issues.js';
import { cellStatus, worst, type Cell, type IndicatorResult, type IssueGroup, type MeasureResult, type QualitySummary, type RejectionGroup, type Status } from '../quality/summary.js';

export const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : '–');

export interface OrgResult {
  organisation: string;
  exchange: string;
  numerator: number;
  denominator: number;
  unknown: number;
  status: Status;
  /** Completeness: per element. */
  elements: { element: string; level?: string; numerator: number; denominator: number; status: Status }[];
}

/** A measure's results per organisation × exchange (profiles summed). */
export function orgResults(m: MeasureResult): OrgResult[] {
  const groups = new Map<string, Cell[]>();
  for (const c of m.cells) {
    const k = `${c.organisation}\0${c.exchange}`;
    groups.get(k)?.push(c) ?? groups.set(k, [c]);
  }
  return [...groups.values()].map((cells) => {
    const elements = new Map<string, OrgResult['elements'][number]>();
    let numerator = 0;
    let denominator = 0;
    let unknown = 0;
    for (const c of cells) {
      numerator += c.numerator;
      denominator += c.denominator;
      unknown += c.unknown ?? 0;
      if (c.element !== undefined) {
        const e = elements.get(c.element) ?? { element: c.element, level: c.level, numerator: 0, denominator: 0, status: 'n/a' as Status };
        e.numerator += c.numerator;
        e.denominator += c.denominator;
        elements.set(c.element, e);
      }
    }
    for (const e of elements.values()) e.status = cellStatus(m, cells.filter((c) => c.element === e.element));
    return { organisation: cells[0].organisation, exchange: cells[0].exchange, numerator, denominator, unknown, status: cellStatus(m, cells), elements: [...elements.values()] };
  });
}

/** Status of a measure within one exchange (the worst organisation). */
export function exchangeStatus(results: OrgResult[], exchange: string): Status {
  return worst(results.filter((r) => r.exchange === exchange).map((r) => r.status));
}

export interface IndicatorRow {
  label: string;
  numerator: number;
  denominator: number;
  /** 'small': a small cell; 'complement': not small, but with the total shown it would give the small cells away. */
  suppressed: false | 'small' | 'complement';
}

/**
 * Small-number rule: a cell is shown only when its denominator, a non-zero numerator, and a non-zero rest
 * (denominator - numerator: those without) all reach minCell; two of ten without is as telling as two with.
 */
export function isSmall(numerator: number, denominator: number, minCell: number): boolean {
  const rest = denominator - numerator;
  return denominator < minCell || (numerator > 0 && numerator < minCell) || (rest > 0 && rest < minCell);
}

/**
 * A dimension's rows sum to the region total: with the total shown, one suppressed row is the total minus the
 * others, and so is the sum of several when that sum is itself small. Suppress the smallest shown rows as well,
 * until what the suppressed rows add up to is no small cell (secondary suppression, as statistics offices do).
 */
function protectComplement(rows: IndicatorRow[], minCell: number): void {
  const hidden = { n: 0, d: 0, count: 0 };
  for (const r of rows) if (r.suppressed) { hidden.n += r.numerator; hidden.d += r.denominator; hidden.count++; }
  while (hidden.count > 0 && isSmall(hidden.n, hidden.d, minCell)) {
    let next: IndicatorRow | undefined;
    for (const r of rows) if (!r.suppressed && (next === undefined || r.denominator < next.denominator)) next = r;
    if (next === undefined) return;
    next.suppressed = 'complement';
    hidden.n += next.numerator;
    hidden.d += next.denominator;
    hidden.count++;
  }
}

/** Why a cell is not shown, in a report's words. */
export function suppressionText(reason: 'small' | 'complement', minCell: number): string {
  return reason === 'small' ? `fewer than ${minCell}` : 'would reveal a suppressed cell';
}

const cellRow = (label: string, numerator: number, denominator: number, minCell: number): IndicatorRow => ({
  label,
  numerator,
  denominator,
  suppressed: isSmall(numerator, denominator, minCell) ? 'small' : false,
});

/** The indicator for the region and by each stratification dimension, with small cells suppressed. */
export function indicatorTables(ind: IndicatorResult): { dimension: string; rows: IndicatorRow[] }[] {
  const total = ind.cells.reduce((a, c) => ({ n: a.n + c.numerator, d: a.d + c.denominator }), { n: 0, d: 0 });
  const region = cellRow('total', total.n, total.d, ind.minCell);
  const tables = [{ dimension: 'region', rows: [region] }];
  for (const dim of ind.stratify) {
    const by = new Map<string, { n: number; d: number }>();
    for (const c of ind.cells) {
      const t = by.get(c[dim]) ?? { n: 0, d: 0 };
      t.n += c.numerator;
      t.d += c.denominator;
      by.set(c[dim], t);
    }
    const rows = [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, t]) => cellRow(label, t.n, t.d, ind.minCell));
    // A suppressed total gives nothing to subtract from.
    if (!region.suppressed) protectComplement(rows, ind.minCell);
    tables.push({ dimension: dim, rows });
  }
  return tables;
}

/** Measures of the summary that apply to an exchange. */
export function measuresOf(q: QualitySummary, exchange: string): MeasureResult[] {
  return q.measures.filter((m) => !m.exchanges || m.exchanges.includes(exchange));
}

/** Input that was never read: sources skipped (a broken mapping spec) and files or searches that failed. */
export function inputProblems(q: QualitySummary): RejectionGroup[] {
  return q.rejections.filter((r) => r.stage === 'source' || r.stage === 'file');
}

/** Issues to fix first: errors before warnings (a thousand missing narratives do not hide sixteen errors), then by count. */
export function issuesToFix(q: QualitySummary, limit: number): IssueGroup[] {
  return q.issues
    .filter((g) => !g.suppressed && g.severity !== 'information')
    .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.count - a.count)
    .slice(0, limit);
}

/** A drop since the previous run, in one line: a share ('90.0% → 70.0%') or the records read ('1189 → 12 records read'). */
export function dropText(d: Drop, organisation: string): string {
  const change = d.kind === 'volume' ? `${d.previous} → ${d.current} records read` : `${pct(d.previous, 1)} → ${pct(d.current, 1)}`;
  if (d.kind === 'indicator') return `${d.measure} · region: ${change}`;
  return `${d.measure} · ${organisation} · ${d.exchange}: ${change}`;
}
