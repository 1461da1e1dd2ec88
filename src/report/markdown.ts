/** summary.md: a short text for a ticket or an e-mail. */
import type { QualitySummary } from '../quality/summary.js';
import type { History } from './history.js';
import { dropText, indicatorTables, inputProblems, issuesToFix, orgResults, pct, suppressionText } from './views.js';

export function renderMarkdown(q: QualitySummary, history?: History): string {
  const name = new Map(q.organisations.map((o) => [o.id, o.name]));
  const out: string[] = [];
  out.push(`# Data quality – ${q.region}`, '', `Run ${q.runs.map((r) => r.runId).join(', ')} · reference date ${q.referenceDate}`, '');
  out.push('## Readiness', '', `| Organisation | ${q.exchanges.map((e) => e.title ?? e.id).join(' | ')} |`, `|---|${q.exchanges.map(() => '---').join('|')}|`);
  for (const o of q.organisations) out.push(`| ${o.name} | ${q.exchanges.map((e) => q.readiness.find((r) => r.organisation === o.id && r.exchange === e.id)!.status).join(' | ')} |`);
  const problems = inputProblems(q);
  if (problems.length) {
    out.push('', '## Input not read', '', 'Readiness above is judged without it.', '');
    for (const r of problems) out.push(`- ${name.get(r.organisation) ?? r.organisation}, ${r.source}: ${r.stage === 'source' ? 'source skipped' : 'not read'}: ${r.reason}`);
  }
  const bad = q.measures.flatMap((m) => orgResults(m).filter((r) => r.status === 'fail' || r.status === 'warn').map((r) => `- **${r.status}** ${m.title} – ${name.get(r.organisation) ?? r.organisation} (${r.exchange}): ${pct(r.numerator, r.denominator)} (${r.numerator}/${r.denominator})`));
  out.push('', '## Measures below threshold', '', ...(bad.length ? bad : ['none']));
  if (history?.drops.length) {
    out.push('', '## Drops since the previous run', '');
    for (const d of history.drops) out.push(`- ${dropText(d, name.get(d.organisation) ?? d.organisation)}`);
  }
  out.push('', '## Top issues', '', '| Count | Severity | Message id | Organisation | Exchange | Resource |', '|---:|---|---|---|---|---|');
  for (const g of issuesToFix(q, 10)) out.push(`| ${g.count} | ${g.severity} | ${g.messageId} | ${name.get(g.organisation) ?? g.organisation} | ${g.exchange} | ${g.resourceType} |`);
  out.push('', '## Indicators', '');
  for (const ind of q.indicators) {
    const [region] = indicatorTables(ind);
    const r = region.rows[0];
    out.push(`- ${ind.title}: ${r.suppressed ? `suppressed (${suppressionText(r.suppressed, ind.minCell)})` : `${pct(r.numerator, r.denominator)} (${r.numerator}/${r.denominator})`}${ind.target !== undefined ? `, target ${pct(ind.target, 1)}` : ''}`);
  }
  if (q.suppressions.length) {
    out.push('', '## Known issues suppressed', '');
    for (const s of q.suppressions) out.push(`- ${s.messageId} at ${s.path ?? '*'}: ${s.reason} (${s.count})`);
  }
  return out.join('\n') + '\n';
}
