/** junit.xml for a vendor's CI: one test case per measure per exchange; failures carry failing examples. */
import type { VendorDetail } from '../quality/collector.js';
import type { QualitySummary } from '../quality/summary.js';
import { xml } from './xml-text.js';
import { exchangeStatus, inputProblems, measuresOf, orgResults, pct } from './views.js';

/** `vendor`: resource locations of the data holder (only in its own CI, never in coalition reports). */
export function renderJunit(q: QualitySummary, vendor?: VendorDetail): string {
  const suites: string[] = [];
  let total = 0;
  let failures = 0;
  for (const e of q.exchanges) {
    const cases: string[] = [];
    let suiteFailures = 0;
    let skipped = 0;
    for (const m of measuresOf(q, e.id)) {
      const results = orgResults(m).filter((r) => r.exchange === e.id);
      const status = exchangeStatus(results, e.id);
      const lines = results.map((r) => `${r.status.toUpperCase()} ${r.organisation}: ${pct(r.numerator, r.denominator)} (${r.numerator}/${r.denominator})${r.elements.filter((x) => x.status === 'fail').map((x) => ` ${x.element} ${pct(x.numerator, x.denominator)}`).join(',')}`);
      let body = '';
      if (status === 'fail') {
        suiteFailures++;
        const examples = m.examples.map((x) => `  ${x.path}: ${x.message}`);
        const issues = m.kind === 'conformance' ? q.issues.filter((g) => g.exchange === e.id && !g.suppressed && (g.severity === 'error' || g.severity === 'fatal')).slice(0, 10).map((g) => `  ${g.count}× ${g.messageId} (${g.organisation}, ${g.resourceType}) e.g. ${g.examples[0]?.path ?? ''}`) : [];
        const locations = vendor ? [...(vendor.get(m.id) ?? [])].map((l) => `  at ${l}`) : [];
        const text = [...lines, examples.length ? 'examples:' : '', ...examples, ...issues, ...locations].filter(Boolean).join('\n');
        body = `<failure type="fail" message="${xml(`${m.title}: below warn threshold ${pct(m.thresholds.warn, 1)}`)}">${xml(text)}</failure>`;
      } else if (status === 'n/a') {
        skipped++;
        body = '<skipped message="no data for this exchange"/>';
      } else body = `<system-out>${xml(lines.join('\n'))}</system-out>`;
      cases.push(`    <testcase classname="fhirdq.${xml(e.id)}" name="${xml(`${m.id}: ${m.title}`)}">${body}</testcase>`);
    }
    total += cases.length;
    failures += suiteFailures;
    suites.push(`  <testsuite name="${xml(e.title ?? e.id)}" tests="${cases.length}" failures="${suiteFailures}" skipped="${skipped}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  // One case per source: a source skipped or a file not read fails the build, whatever the measures say.
  const problems = inputProblems(q);
  const sources = [...new Set([...Object.keys(q.sources), ...problems.map((r) => r.source)])].sort();
  let inputFailures = 0;
  const inputCases = sources.map((source) => {
    const own = problems.filter((r) => r.source === source);
    if (own.length) inputFailures++;
    const body = own.length
      ? `<failure type="input" message="${xml(`${source}: input not read`)}">${xml(own.map((r) => `${r.stage === 'source' ? 'source skipped' : 'not read'}: ${r.reason}`).join('\n'))}</failure>`
      : `<system-out>${xml(`${q.sources[source].read} records read, ${q.sources[source].mapped} mapped, ${q.sources[source].rejected} rejected`)}</system-out>`;
    return `    <testcase classname="fhirdq.input" name="${xml(source)}">${body}</testcase>`;
  });
  suites.unshift(`  <testsuite name="Input" tests="${inputCases.length}" failures="${inputFailures}" skipped="0">\n${inputCases.join('\n')}\n  </testsuite>`);
  total += inputCases.length;
  failures += inputFailures;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="fhirdq quality ${xml(q.region)}" tests="${total}" failures="${failures}">\n${suites.join('\n')}\n</testsuites>\n`;
}
