/**
 * The reports' tables for a spreadsheet: indicators.csv for monitoring teams' quarterly figures, readiness.csv for a
 * coalition that follows its organisations night after night. Every row names its region and run, so that the rows
 * of several runs go in one sheet.
 */
import { stringify } from 'csv-stringify/sync';
import type { QualitySummary } from '../quality/summary.js';
import { indicatorTables, inputProblems, measuresOf, orgResults, suppressionText } from './views.js';

type Value = string | number;

/** A byte order mark, so that a spreadsheet reads the names as UTF-8; formulas escaped, as names come from the data. */
const toCsv = (columns: string[], rows: Value[][]) => stringify(rows, { header: true, columns, bom: true, escape_formulas: true });

const shareOf = (numerator: number, denominator: number): Value => (denominator ? Number((numerator / denominator).toFixed(4)) : '');

/**
 * One row per indicator × dimension × group, suppressed as the reports are (views.ts): a suppressed row has its
 * reason and no figures.
 */
export function renderIndicatorsCsv(q: QualitySummary): string {
  const orgName = new Map(q.organisations.map((o) => [o.id, o.name]));
  const rows: Value[][] = [];
  for (const ind of q.indicators) {
    for (const t of indicatorTables(ind)) {
      for (const r of t.rows) {
        const name = t.dimension === 'organisation' ? (orgName.get(r.label) ?? '') : '';
        const head = [q.region, ind.id, ind.title, ind.period.start, ind.period.end, t.dimension, r.label, name];
        const target = ind.target ?? '';
        if (r.suppressed) {
          rows.push([...head, '', '', '', target, '', suppressionText(r.suppressed, ind.minCell)]);
          continue;
        }
        const meets = !r.denominator || ind.target === undefined ? '' : r.numerator / r.denominator >= ind.target ? 'yes' : 'no';
        rows.push([...head, r.numerator, r.denominator, shareOf(r.numerator, r.denominator), target, meets, '']);
      }
    }
  }
  const columns = ['region', 'indicator', 'title', 'period_start', 'period_end', 'dimension', 'group_code', 'group_name', 'numerator', 'denominator', 'share', 'target', 'meets_target', 'suppressed'];
  return toCsv(columns, rows);
}

/**
 * One row per organisation × exchange × measure with data for it (the readiness matrix's cell and its details), and
 * one row without a measure for a cell that has no data.
 */
export function renderReadinessCsv(q: QualitySummary): string {
  const run = q.runs.map((r) => r.runId).join('+');
  const unread = new Set(inputProblems(q).map((r) => r.organisation));
  const results = new Map(q.measures.map((m) => [m.id, new Map(orgResults(m).map((r) => [`${r.organisation}\0${r.exchange}`, r]))]));
  const rows: Value[][] = [];
  for (const o of q.organisations) {
    for (const e of q.exchanges) {
      const cell = q.readiness.find((r) => r.organisation === o.id && r.exchange === e.id);
      if (!cell) continue;
      const head = [q.region, run, q.referenceDate, o.id, o.name, e.id, cell.status, unread.has(o.id) ? 'no' : 'yes'];
      let measured = false;
      for (const m of measuresOf(q, e.id)) {
        const status = cell.measures[m.id];
        const r = results.get(m.id)?.get(`${o.id}\0${e.id}`);
        if (status === undefined || r === undefined) continue;
        measured = true;
        rows.push([...head, m.id, m.title, m.category, r.numerator, r.denominator, shareOf(r.numerator, r.denominator), status]);
      }
      if (!measured) rows.push([...head, '', '', '', '', '', '', '']);
    }
  }
  const columns = ['region', 'run', 'reference_date', 'organisation_code', 'organisation', 'exchange', 'readiness', 'input_complete', 'measure', 'measure_title', 'category', 'numerator', 'denominator', 'share', 'status'];
  return toCsv(columns, rows);
}
