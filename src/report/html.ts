/** report.html: one self-contained page (inline CSS and JS, no network) for a coalition's coordinator. */
import type { QualitySummary, Status } from '../quality/summary.js';
import type { History } from './history.js';
import { dropText, indicatorTables, inputProblems, isSmall, issuesToFix, orgResults, pct, suppressionText } from './views.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const badge = (s: Status) => `<span class="st ${s === 'n/a' ? 'na' : s}">${s}</span>`;

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:16px 24px}header a{color:#cde3ff}header h1{margin:0 0 4px;font-size:22px}
main{padding:8px 24px 40px;max-width:1400px}section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px;margin:16px 0}
h2{font-size:17px;margin:4px 0 10px}table{border-collapse:collapse;margin:4px 0}th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.st{display:inline-block;min-width:38px;text-align:center;border-radius:3px;padding:0 5px;font-weight:600;color:#fff}
.pass{background:#2a9d52}.warn{background:#e09b00}.fail{background:#c8323c}.na{background:#9aa3ae}a.incomplete{color:#c8323c;font-weight:400;font-size:12px}
td.cell-pass{background:#d9f2e1}td.cell-warn{background:#fdefc8}td.cell-fail{background:#f8d4d6}td.cell-na{color:#8a939e}
details{margin:2px 0}summary{cursor:pointer}.muted{color:#68717d}.sup{color:#68717d;font-style:italic}
input[type=search]{padding:4px 8px;width:320px;margin-bottom:6px}svg.spark{vertical-align:middle}
`;

/** Filters of the issues table (typed text, or a readiness cell's organisation and exchange); no other script runs. */
const JS = `
var input = document.getElementById('issue-filter');
var rows = document.querySelectorAll('#issues tbody tr');
function show(keep) { rows.forEach(function (tr) { tr.style.display = keep(tr) ? '' : 'none'; }); }
input.addEventListener('input', function () {
  var q = input.value.toLowerCase();
  show(function (tr) { return tr.textContent.toLowerCase().indexOf(q) >= 0; });
});
document.querySelectorAll('a[data-org]').forEach(function (a) {
  a.addEventListener('click', function () {
    input.value = '';
    show(function (tr) { return tr.dataset.org === a.dataset.org && tr.dataset.exchange === a.dataset.exchange; });
  });
});
`;

function heat(n: number, d: number): string {
  if (!d) return 'background:#f1f2f4';
  const r = n / d;
  // Red (0%) to green (100%) through yellow.
  const hue = Math.round(120 * r);
  return `background:hsl(${hue},70%,${85 - 10 * (1 - Math.abs(r - 0.5) * 2)}%)`;
}

function sparkline(points: { numerator: number; denominator: number }[]): string {
  const vals = points.filter((p) => p.denominator).map((p) => p.numerator / p.denominator);
  if (vals.length < 2) return '<span class="muted">first run</span>';
  const w = 120;
  const h = 24;
  const xs = vals.map((_, i) => (i * w) / (vals.length - 1));
  const path = vals.map((v, i) => `${i ? 'L' : 'M'}${xs[i].toFixed(1)},${(h - 2 - v * (h - 4)).toFixed(1)}`).join('');
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="trend"><path d="${path}" fill="none" stroke="#1d3557" stroke-width="1.5"/></svg> ${vals.map((v) => pct(v, 1)).slice(-3).join(' → ')}`;
}

export function renderHtml(q: QualitySummary, history?: History): string {
  const orgName = new Map(q.organisations.map((o) => [o.id, o.name]));
  const out: string[] = [];
  const runs = q.runs.map((r) => r.runId).join(', ');
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`);
  out.push(`<title>fhirdq quality report – ${esc(q.region)}</title><style>${CSS}</style></head><body>`);
  out.push(
    `<header><h1>Data quality and readiness – ${esc(q.region)}</h1><div>Run ${esc(runs)} · reference date ${esc(q.referenceDate)} · rule packs ${q.packs.map((p) => esc(p.id)).join(', ')}</div>` +
      // Written beside this file (write.ts).
      `<div>Tables for a spreadsheet: <a href="indicators.csv">indicators.csv</a> · <a href="readiness.csv">readiness.csv</a></div></header><main>`,
  );

  // Input that was not read comes first: readiness below is judged without it.
  const problems = inputProblems(q);
  const incomplete = new Set(problems.map((r) => r.organisation));
  if (problems.length) {
    out.push(`<section id="input-problems"><h2>Input not read</h2><table><thead><tr><th>Organisation</th><th>Source</th><th>What</th><th>Reason</th><th>Count</th></tr></thead><tbody>`);
    for (const r of problems) out.push(`<tr><td>${esc(orgName.get(r.organisation) ?? r.organisation)}</td><td>${esc(r.source)}</td><td>${r.stage === 'source' ? 'source skipped' : 'file not read'}</td><td>${esc(r.reason)}</td><td class="num">${r.count}</td></tr>`);
    out.push('</tbody></table><p class="muted">The readiness of these organisations is judged on the input that was read.</p></section>');
  }

  const top = issuesToFix(q, 100);
  const withIssues = new Set(top.map((g) => `${g.organisation}\0${g.exchange}`));

  // Readiness matrix; a cell's details lead to its issues.
  out.push(`<section id="readiness"><h2>Readiness per organisation and exchange</h2><table><thead><tr><th>Organisation</th>${q.exchanges.map((e) => `<th>${esc(e.title ?? e.id)}</th>`).join('')}</tr></thead><tbody>`);
  for (const o of q.organisations) {
    out.push(`<tr><th>${esc(o.name)}${incomplete.has(o.id) ? ' <a class="incomplete" href="#input-problems">input incomplete</a>' : ''}</th>`);
    for (const e of q.exchanges) {
      const r = q.readiness.find((x) => x.organisation === o.id && x.exchange === e.id)!;
      const issuesLink = withIssues.has(`${o.id}\0${e.id}`) ? `<div><a href="#top-issues" data-org="${esc(o.id)}" data-exchange="${esc(e.id)}">its issues</a></div>` : '';
      const detail = Object.entries(r.measures).map(([id, s]) => `<div>${badge(s)} ${esc(id)}</div>`).join('') + issuesLink;
      out.push(`<td class="cell-${r.status === 'n/a' ? 'na' : r.status}">${r.status === 'n/a' ? 'no data' : `<details><summary>${badge(r.status)}</summary>${detail}</details>`}</td>`);
    }
    out.push('</tr>');
  }
  out.push('</tbody></table><p class="muted">A cell is the worst status of the measures that have data for it.</p></section>');

  // Trend warnings
  if (history?.drops.length) {
    out.push(`<section id="drops"><h2>Drops since the previous run</h2><ul>`);
    for (const d of history.drops) out.push(`<li>${badge('warn')} ${esc(dropText(d, orgName.get(d.organisation) ?? d.organisation))}</li>`);
    out.push('</ul></section>');
  }

  // Measures with trends and drill-down per organisation
  out.push(`<section id="measures"><h2>Measures</h2><table><thead><tr><th>Measure</th><th>Category</th><th>Status</th><th>Region</th><th>Trend</th><th>Per organisation</th></tr></thead><tbody>`);
  for (const m of q.measures) {
    const results = orgResults(m);
    const n = results.reduce((a, r) => a + r.numerator, 0);
    const d = results.reduce((a, r) => a + r.denominator, 0);
    const per = results
      .map((r) => `<div>${badge(r.status)} ${esc(orgName.get(r.organisation) ?? r.organisation)} (${esc(r.exchange)}): ${pct(r.numerator, r.denominator)} <span class="muted">${r.numerator}/${r.denominator}${r.unknown ? `, ${r.unknown} not assessable` : ''}</span></div>`)
      .join('');
    const examples = m.examples.map((e) => `<div class="muted">${esc(e.path)}: ${esc(e.message)}</div>`).join('');
    out.push(
      `<tr><td><b>${esc(m.title)}</b><div class="muted">${esc(m.id)} · ${esc(m.unit)} · pass ≥ ${pct(m.thresholds.pass, 1)}, warn ≥ ${pct(m.thresholds.warn, 1)}</div></td><td>${esc(m.category)}</td><td>${badge(q.status[m.id])}</td><td class="num">${pct(n, d)}</td><td>${history ? sparkline(history.trends[m.id] ?? []) : '<span class="muted">no history</span>'}</td><td>${results.length ? `<details><summary>${results.length} organisation(s)</summary>${per}${examples}</details>` : '<span class="muted">no data</span>'}</td></tr>`,
    );
  }
  out.push('</tbody></table></section>');

  // Completeness heat map: element rows × organisation columns
  const completeness = q.measures.filter((m) => m.kind === 'completeness');
  const cols = [...new Set(completeness.flatMap((m) => m.cells.map((c) => `${c.organisation}\0${c.exchange}`)))].sort();
  out.push(`<section id="heatmap"><h2>Completeness heat map</h2><table><thead><tr><th>Element</th><th>Level</th>${cols.map((c) => `<th>${esc(orgName.get(c.split('\0')[0]) ?? c.split('\0')[0])}<div class="muted">${esc(c.split('\0')[1])}</div></th>`).join('')}</tr></thead><tbody>`);
  for (const m of completeness) {
    const results = orgResults(m);
    const elements = [...new Map(results.flatMap((r) => r.elements.map((e) => [e.element, e.level]))).entries()];
    for (const [element, level] of elements) {
      out.push(`<tr><td>${esc(m.title)}: <b>${esc(element)}</b></td><td>${esc(level ?? '')}</td>`);
      for (const col of cols) {
        const r = results.find((x) => `${x.organisation}\0${x.exchange}` === col);
        const e = r?.elements.find((x) => x.element === element);
        out.push(e ? `<td class="num" style="${heat(e.numerator, e.denominator)}" title="${e.numerator}/${e.denominator}">${pct(e.numerator, e.denominator)}</td>` : '<td class="cell-na"></td>');
      }
      out.push('</tr>');
    }
  }
  out.push('</tbody></table></section>');

  // Top issues with drill-down
  out.push(`<section id="top-issues"><h2>Top issues</h2><p class="muted">Errors first, then warnings; each by count.</p><input type="search" id="issue-filter" placeholder="Filter issues (message id, organisation, exchange)"><table id="issues"><thead><tr><th>Count</th><th>Severity</th><th>Message id</th><th>Organisation</th><th>Exchange</th><th>Resource</th><th>Examples</th></tr></thead><tbody>`);
  for (const g of top) {
    const ex = g.examples.map((e) => `<div><code>${esc(e.path)}</code> ${esc(e.message)}</div>`).join('');
    out.push(`<tr data-org="${esc(g.organisation)}" data-exchange="${esc(g.exchange)}"><td class="num">${g.count}</td><td>${esc(g.severity)}</td><td>${esc(g.messageId)}</td><td>${esc(orgName.get(g.organisation) ?? g.organisation)}</td><td>${esc(g.exchange)}</td><td>${esc(g.resourceType)}</td><td><details><summary>${g.examples.length} example(s)</summary>${ex}</details></td></tr>`);
  }
  out.push('</tbody></table></section>');

  // What each source delivered, then what was not accepted of it.
  out.push(`<section id="sources"><h2>Records per source</h2><table><thead><tr><th>Organisation</th><th>Source</th><th>Read</th><th>Mapped</th><th>Rejected</th><th>Accepted</th></tr></thead><tbody>`);
  for (const [name, src] of Object.entries(q.sources)) {
    out.push(`<tr><td>${esc(orgName.get(src.organisation) ?? src.organisation)}</td><td>${esc(name)}</td><td class="num">${src.read}</td><td class="num">${src.mapped}</td><td class="num">${src.rejected}</td><td class="num">${pct(src.mapped, src.read)}</td></tr>`);
  }
  out.push('</tbody></table></section>');
  out.push(`<section id="rejections"><h2>Records not accepted</h2><table><thead><tr><th>Organisation</th><th>Source</th><th>Stage</th><th>Field</th><th>Reason</th><th>Count</th></tr></thead><tbody>`);
  for (const r of q.rejections) out.push(`<tr><td>${esc(orgName.get(r.organisation) ?? r.organisation)}</td><td>${esc(r.source)}</td><td>${esc(r.stage)}</td><td>${esc(r.field ?? '')}</td><td>${esc(r.reason)}</td><td class="num">${r.count}</td></tr>`);
  out.push('</tbody></table></section>');

  // Indicators
  out.push(`<section id="indicators"><h2>Indicators</h2>`);
  const suppressedCells: string[] = [];
  for (const ind of q.indicators) {
    out.push(`<h3>${esc(ind.title)}</h3><p class="muted">${esc(ind.description ?? '')} Period ${esc(ind.period.start)} – ${esc(ind.period.end)}${ind.target !== undefined ? ` · target ${pct(ind.target, 1)}` : ''} · cells below ${ind.minCell} suppressed</p>`);
    // The region's share night over night; a night whose total is a small cell is left out of the line.
    const trend = history?.indicatorTrends[ind.id]?.filter((p) => !isSmall(p.numerator, p.denominator, ind.minCell));
    if (trend && trend.length >= 2) out.push(`<p class="trend">Region, night over night: ${sparkline(trend)}</p>`);
    for (const t of indicatorTables(ind)) {
      out.push(`<table class="indicator"><thead><tr><th>${esc(t.dimension)}</th><th>Numerator</th><th>Denominator</th><th>Share</th></tr></thead><tbody>`);
      for (const r of t.rows) {
        const label = t.dimension === 'organisation' ? (orgName.get(r.label) ?? r.label) : r.label;
        if (r.suppressed) {
          const why = suppressionText(r.suppressed, ind.minCell);
          suppressedCells.push(`${ind.title} · ${t.dimension} ${label} (${why})`);
          out.push(`<tr><td>${esc(label)}</td><td class="sup" colspan="3">suppressed (${why})</td></tr>`);
        } else {
          const meets = ind.target === undefined ? '' : r.numerator / r.denominator >= ind.target ? ' ' + badge('pass') : ' ' + badge('fail');
          out.push(`<tr><td>${esc(label)}</td><td class="num">${r.numerator}</td><td class="num">${r.denominator}</td><td class="num">${pct(r.numerator, r.denominator)}${meets}</td></tr>`);
        }
      }
      out.push('</tbody></table>');
    }
  }
  out.push(`<h3>Suppressed cells</h3>${suppressedCells.length ? `<ul>${suppressedCells.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : '<p class="muted">none</p>'}</section>`);

  // Known issues suppressed
  out.push(`<section id="suppressions"><h2>Known issues suppressed</h2>`);
  if (q.suppressions.length) {
    out.push('<table><thead><tr><th>Message id</th><th>Path</th><th>Organisation</th><th>Reason</th><th>Issues</th></tr></thead><tbody>');
    for (const s of q.suppressions) out.push(`<tr><td>${esc(s.messageId)}</td><td>${esc(s.path ?? '*')}</td><td>${esc(s.organisation ?? 'all')}</td><td>${esc(s.reason)}</td><td class="num">${s.count}</td></tr>`);
    out.push('</tbody></table>');
  } else out.push('<p class="muted">none</p>');
  out.push(`</section></main><script>${JS}</script></body></html>\n`);
  return out.join('');
}
