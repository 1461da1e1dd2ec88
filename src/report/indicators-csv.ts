/**
 * indicators.csv: the indicator tables of the reports, one row per indicator × dimension × group, for monitoring
 * teams that compile quarterly figures in a spreadsheet. The same suppression as the reports (views.ts): a suppressed
 * row has its reason and no figures. Every row names its region and period, so that the rows of several runs go in one sheet.
 */
import { stringify } from 'csv-stringify/sync';
import type { QualitySummary } from '../quality/summary.js';
import { indicatorTables, suppressionText } from './views.js';

const COLUMNS = ['region', 'indicator', 'title', 'period_start', 'period_end', 'dimension', 'group_code', 'group_name', 'numerator', 'denominator', 'share', 'target', 'meets_target', 'suppressed'];

export function renderIndicatorsCsv(q: QualitySummary): string {
  const orgName = new Map(q.organisations.map((o) => [o.id, o.name]));
  const rows: (string | number)[][] = [];
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
        const share = r.denominator ? r.numerator / r.denominator : undefined;
        const meets = share === undefined || ind.target === undefined ? '' : share >= ind.target ? 'yes' : 'no';
        rows.push([...head, r.numerator, r.denominator, share === undefined ? '' : Number(share.toFixed(4)), target, meets, '']);
      }
    }
  }
  // A byte order mark, so that a spreadsheet reads the names as UTF-8; formulas escaped, as labels come from the data.
  return stringify(rows, { header: true, columns: COLUMNS, bom: true, escape_formulas: true });
}
