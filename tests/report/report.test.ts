import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { chromium, type Browser } from 'playwright-core';
import { QualityCollector } from '../../src/quality/collector.js';
import { loadRules, type RuleSet } from '../../src/quality/rules.js';
import type { QualitySummary } from '../../src/quality/summary.js';
import { registerReportCommand } from '../../src/cli/report-command.js';
import type { CliContext } from '../../src/cli/context.js';
import { writeReports, EXIT } from '../../src/report/write.js';
import { recordRun } from '../../src/report/history.js';
import { dropText } from '../../src/report/views.js';
import { renderHtml } from '../../src/report/html.js';
import type { FhirResource } from '../../src/packages/types.js';

const TD = 'https://fhir.iknl.nl/fhir/StructureDefinition/ACP-TreatmentDirective';
const CODES = ['89666000', '305351004', '32485007', '281789004'];

/** A small region: `complete` of 20 patients of De Linde (5 aged 75-84) have all four directives; one validation error per incomplete one. */
function measure(rules: RuleSet, runId: string, startedAt: string, complete: number, dispensesRead = 30): QualitySummary {
  const c = new QualityCollector(rules, {
    region: 'test-region',
    referenceDate: '2025-06-30',
    organisations: [
      { id: 'linde', name: 'Zorggroep De Linde' },
      { id: 'gaper', name: 'Apotheek De Gaper' },
    ],
    exchanges: [
      { id: 'mp9', title: 'Medicatieproces 9' },
      { id: 'pzp', title: 'Proactieve zorgplanning' },
    ],
    sources: { acp: { organisation: 'linde', exchange: 'pzp' }, disp: { organisation: 'gaper', exchange: 'mp9' } },
  });
  const ctx = { source: 'acp', organisation: 'linde', exchange: 'pzp' };
  for (let i = 0; i < 20; i++) {
    c.resource({ resourceType: 'Patient', id: `p${i}`, birthDate: i < 5 ? '1948-01-01' : '1940-01-01', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn(i) }] }, ctx, false);
    for (const [k, code] of CODES.entries()) {
      if (i >= complete && k === 3) continue;
      const r: FhirResource = { resourceType: 'Consent', id: `c${i}-${k}`, meta: { profile: [TD] }, status: 'active', patient: { reference: `Patient/p${i}` }, dateTime: '2025-01-01', provision: { type: 'deny', code: [{ coding: [{ system: 'http://snomed.info/sct', code }] }] } };
      const error = i >= complete && k === 0;
      if (error) c.issue({ source: 'acp', exchange: 'pzp', resourceType: 'Consent', id: r.id, severity: 'error', messageId: 'constraint-ppc-1', message: "Constraint failed: ppc-1: 'Either a Policy or PolicyRule'", expression: 'Consent' });
      c.issue({ source: 'acp', exchange: 'pzp', resourceType: 'Consent', id: r.id, severity: 'warning', messageId: 'extension-unknown', message: 'The extension x is unknown', expression: 'Consent.modifierExtension[0]' });
      c.issue({ source: 'acp', exchange: 'pzp', resourceType: 'Consent', id: r.id, severity: 'warning', messageId: 'constraint-dom-6', message: "Constraint failed: dom-6: 'A resource should have narrative'", expression: 'Consent' });
      c.resource(r, ctx, error);
    }
  }
  for (let i = 0; i < 30; i++) {
    const r: FhirResource = { resourceType: 'MedicationDispense', id: `d${i}`, status: 'completed', ...(i % 10 ? { category: { text: 'x' } } : {}), medicationCodeableConcept: { coding: [{ code: '2194' }] }, whenHandedOver: '2025-01-01', quantity: { value: 1 } };
    if (i % 10 === 0) c.issue({ source: 'disp', exchange: 'mp9', resourceType: 'MedicationDispense', id: r.id, severity: 'warning', messageId: 'constraint-dom-6', message: "Constraint failed: dom-6: 'A resource should have narrative'", expression: 'MedicationDispense' });
    c.resource(r, { source: 'disp', organisation: 'gaper', exchange: 'mp9' }, false);
  }
  c.rejected({ source: 'acp', stage: 'map', field: 'client.bsn', reason: "BSN '123456783' fails the 11-check" });
  c.records('acp', { read: 21, mapped: 20, rejected: 1 });
  c.records('disp', { read: dispensesRead, mapped: dispensesRead, rejected: 0 });
  return c.finish({ runId, startedAt });
}

/** The i-th valid BSN from 100000000 up (11-check). */
function bsn(i: number): string {
  for (let n = 100_000_000 + i * 100; ; n++) {
    const d = String(n);
    let sum = 0;
    for (let k = 0; k < 8; k++) sum += (9 - k) * Number(d[k]);
    if ((sum - Number(d[8])) % 11 === 0) return d;
  }
}

let dir: string;
let browser: Browser;
let rules: RuleSet;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-report-'));
  rules = await loadRules([path.resolve('profiles/rules'), await suppressionPack()]);
  const history = path.join(dir, 'history.sqlite');
  // Night 1: 18 of 20 RIZA-complete; night 2: 14 of 20 (a drop of 20 points).
  expect((await writeReports(path.join(dir, 'night1'), measure(rules, 'night1', '2025-06-29T01:00:00Z', 18), { history })).exitCode).toBe(EXIT.ok);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

async function suppressionPack(): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const d = await mkdtemp(path.join(tmpdir(), 'fhirdq-supp-'));
  const file = path.join(d, 'known-issues.yaml');
  await writeFile(file, `pack: known-issues\nsuppressions:\n  - { messageId: extension-unknown, path: 'Consent.modifierExtension', reason: 'nl-core package not loaded in this set-up' }\n`);
  return file;
}

describe('night over night', () => {
  it('records runs, shows the trend and warns on a drop; --strict fails the run', async () => {
    // And De Gaper's export shrank from 30 records to 12, every one of them mapped.
    const q = measure(rules, 'night2', '2025-06-30T01:00:00Z', 14, 12);
    const lenient = await writeReports(path.join(dir, 'night2'), q, { history: path.join(dir, 'history.sqlite') });
    expect(lenient.exitCode).toBe(EXIT.ok);
    expect(lenient.history!.drops).toEqual([
      { measure: 'records-accepted', organisation: 'gaper', exchange: 'mp9', kind: 'volume', previous: 30, current: 12 },
      { measure: 'riza-completeness', organisation: 'linde', exchange: 'pzp', kind: 'share', previous: 0.9, current: 0.7 },
    ]);
    expect(await readFile(path.join(dir, 'night2/summary.md'), 'utf8')).toContain('- records-accepted · Apotheek De Gaper · mp9: 30 → 12 records read');
    // The indicator's region totals are kept night by night; below the small-cell size they draw no line.
    expect(lenient.history!.indicatorTrends['acp-75plus'].map((p) => p.run)).toEqual(['night1', 'night2']);
    expect(await readFile(path.join(dir, 'night2/report.html'), 'utf8')).toMatch(/<p class="trend">Region, night over night: <svg[^]*?<\/svg> 100\.0% → 100\.0%<\/p>/);
    // A night whose total is a small cell (3 of 20) draws no point: one night left, no line.
    const small = { ...lenient.history!, indicatorTrends: { 'acp-75plus': [{ run: 'night1', startedAt: '', numerator: 3, denominator: 20 }, ...lenient.history!.indicatorTrends['acp-75plus'].slice(1)] } };
    expect(renderHtml(q, small)).not.toContain('class="trend"');
    // A smaller fall is no drop.
    const slight = await writeReports(path.join(dir, 'night2-slight'), measure(rules, 'night2-slight', '2025-06-30T02:00:00Z', 18, 16), { history: path.join(dir, 'history-slight.sqlite') });
    expect(slight.history!.drops).toEqual([]);
    expect(lenient.history!.trends['riza-completeness'].map((p) => [p.run, p.numerator, p.denominator])).toEqual([
      ['night1', 18, 20],
      ['night2', 14, 20],
    ]);
    const strict = await writeReports(path.join(dir, 'night2'), q, { history: path.join(dir, 'history.sqlite'), strict: true });
    expect(strict.exitCode).toBe(EXIT.failing);
    expect(strict.failing).toEqual(['riza-completeness']);
    // Re-recording the same run replaces it instead of adding a point.
    expect(strict.history!.trends['riza-completeness']).toHaveLength(2);
  });

  it('lists suppressed known issues with their reason and count', async () => {
    const md = await readFile(path.join(dir, 'night2/summary.md'), 'utf8');
    expect(md).toMatch(/extension-unknown at Consent\.modifierExtension: nl-core package not loaded in this set-up \(74\)/);
    const junit = await readFile(path.join(dir, 'night2/junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase classname="fhirdq.pzp" name="riza-completeness: RIZA-complete patients"><failure/);
    expect(junit).toMatch(/<testcase classname="fhirdq.pzp" name="acp-currency: ACP discussed in the last two years"><system-out>PASS linde: 100.0% \(20\/20\)/);
    expect(junit).not.toMatch(/123456783|Patient\/p\d/);
  });
});

describe('indicator drops', () => {
  it('warns when an indicator of the region falls, unless either night is a small cell', async () => {
    const base = measure(rules, 'base', '2025-06-01T01:00:00Z', 18);
    const night = (runId: string, day: number, numerator: number, denominator: number): QualitySummary => ({
      ...base,
      runs: [{ runId, startedAt: `2025-06-${day}T01:00:00Z` }],
      indicators: base.indicators.map((ind) => ({ ...ind, cells: [{ organisation: 'linde', municipality: 'Zwolle', ageBand: '75-84', numerator, denominator }] })),
    });
    const history = path.join(await mkdtemp(path.join(tmpdir(), 'fhirdq-indicator-drops-')), 'history.sqlite');
    const options = { dropThreshold: 0.05 };
    expect((await recordRun(history, night('n1', 11, 40, 100), options)).drops).toEqual([]);
    const fell = await recordRun(history, night('n2', 12, 30, 100), options);
    expect(fell.drops).toEqual([{ measure: 'acp-75plus', organisation: '', exchange: '', kind: 'indicator', previous: 0.4, current: 0.3 }]);
    expect(dropText(fell.drops[0]!, '')).toBe('acp-75plus · region: 40.0% → 30.0%');
    // A fall within the threshold is none.
    expect((await recordRun(history, night('n3', 13, 26, 100), options)).drops).toEqual([]);
    // To 5 of 100, a small cell that no report shows: a warning would give it away.
    expect((await recordRun(history, night('n4', 14, 5, 100), options)).drops).toEqual([]);
  });
});

describe('report.html in headless Chromium', () => {
  it('is self-contained, readable, error-free and its drill-down and filter work', async () => {
    const file = path.join(dir, 'night2/report.html');
    const html = await readFile(file, 'utf8');
    expect(html).not.toMatch(/<link |src="http|href="http/);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    expect(await page.title()).toBe('fhirdq quality report – test-region');
    // The spreadsheet tables it links to are beside it.
    const tables = await page.locator('header a').evaluateAll((links) => links.map((a) => (a as unknown as { href: string }).href));
    expect(tables.map((href) => path.basename(href))).toEqual(['indicators.csv', 'readiness.csv']);
    for (const href of tables) expect(existsSync(fileURLToPath(href)), href).toBe(true);
    const matrix = page.locator('#readiness table');
    expect(await matrix.locator('th').allInnerTexts()).toEqual(expect.arrayContaining(['Zorggroep De Linde', 'Apotheek De Gaper', 'Proactieve zorgplanning']));
    expect(await matrix.locator('tr', { hasText: 'Zorggroep De Linde' }).locator('td').nth(1).innerText()).toBe('fail');
    expect(await page.locator('#drops').innerText()).toMatch(/records-accepted · Apotheek De Gaper · mp9: 30 → 12 records read\n.*riza-completeness · Zorggroep De Linde · pzp: 90.0% → 70.0%/);
    expect(await page.locator('#measures svg.spark').count()).toBeGreaterThan(0);
    expect(await page.locator('#heatmap td[title="27/30"]').innerText()).toBe('90.0%');
    expect(await page.locator('#indicators').innerText()).toMatch(/Residents aged 75\+ with recorded ACP agreements/);
    expect(await page.locator('#indicators').innerText()).toMatch(/suppressed \(fewer than 10\)/);
    expect(await page.locator('#suppressions').innerText()).toMatch(/nl-core package not loaded/);
    expect(await page.locator('#sources tbody tr').allInnerTexts()).toEqual(['Zorggroep De Linde\tacp\t21\t20\t1\t95.2%', 'Apotheek De Gaper\tdisp\t12\t12\t0\t100.0%']);
    // What to fix first: the 6 errors come before the 74 missing narratives.
    expect(await page.locator('#issues tbody tr').first().innerText()).toMatch(/^6\terror\tconstraint-ppc-1/);
    expect(await page.locator('#issues tbody tr').nth(1).innerText()).toMatch(/^74\twarning\tconstraint-dom-6/);
    expect(await readFile(path.join(dir, 'night2/summary.md'), 'utf8')).toMatch(/\|---:\|---\|---\|---\|---\|---\|\n\| 6 \| error \| constraint-ppc-1 \| Zorggroep De Linde \| pzp \| Consent \|\n\| 74 \| warning \| constraint-dom-6/);
    // From a readiness cell to its issues: De Linde's PZP issues only (not the MP9 ones of De Gaper).
    const cell = matrix.locator('tr', { hasText: 'Zorggroep De Linde' }).locator('td').nth(1);
    await cell.locator('summary').click();
    await cell.getByText('its issues').click();
    expect(await page.locator('#issues tbody tr:visible').allInnerTexts()).toEqual([expect.stringMatching(/^6\terror\tconstraint-ppc-1\tZorggroep De Linde\tpzp/), expect.stringMatching(/^74\twarning\tconstraint-dom-6\tZorggroep De Linde\tpzp/)]);
    expect(await page.locator('#issues tbody tr').count()).toBe(3);
    // Drill-down: the examples of the top issue open on click.
    const row = page.locator('#issues tbody tr', { hasText: 'constraint-ppc-1' });
    await row.locator('summary').click();
    expect(await row.locator('details').innerText()).toMatch(/Consent Constraint failed/);
    // Filter: only matching rows stay visible.
    await page.fill('#issue-filter', 'ppc-1');
    expect(await page.locator('#issues tbody tr:visible').count()).toBe(1);
    await page.fill('#issue-filter', '');
    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(20_000);
    if (process.env.FHIRDQ_SCREENSHOT) await page.screenshot({ path: process.env.FHIRDQ_SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    await page.close();
  });
});

describe('fhirdq report merge (CLI)', () => {
  it('merges shard summaries into one report, and refuses files without a quality part', async () => {
    const ctx: CliContext = { out: () => {}, err: (t) => void errs.push(t), exitCode: 0 };
    const errs: string[] = [];
    const program = new Command('fhirdq').exitOverride();
    registerReportCommand(program, ctx);
    const out = path.join(dir, 'merged');
    await program.parseAsync(['report', 'merge', path.join(dir, 'night1/summary.json'), path.join(dir, 'night2/summary.json'), '--out', out], { from: 'user' });
    expect(ctx.exitCode).toBe(0);
    const merged = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')).quality as QualitySummary;
    expect(merged.runs.map((r) => r.runId)).toEqual(['night1', 'night2']);
    const riza = merged.measures.find((m) => m.id === 'riza-completeness')!;
    expect(riza.cells).toEqual([{ organisation: 'linde', exchange: 'pzp', numerator: 32, denominator: 40 }]);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    await program.parseAsync(['report', 'merge', path.join(dir, 'history.sqlite'), '--out', out], { from: 'user' }).catch(() => {});
    expect(ctx.exitCode).toBe(EXIT.usage);
  });

  it('refuses a shard whose summary was cut short or edited, saying where, before merging anything', async () => {
    const ctx: CliContext = { out: () => {}, err: (t) => void errs.push(t), exitCode: 0 };
    const errs: string[] = [];
    const program = new Command('fhirdq').exitOverride();
    registerReportCommand(program, ctx);
    const summary = JSON.parse(await readFile(path.join(dir, 'night2/summary.json'), 'utf8'));
    delete summary.quality.measures[0].cells;
    summary.quality.issues[0] = { ...summary.quality.issues[0], count: 'many' };
    const edited = path.join(dir, 'edited-summary.json');
    await writeFile(edited, JSON.stringify(summary));
    const out = path.join(dir, 'merged-edited');
    await program.parseAsync(['report', 'merge', path.join(dir, 'night1/summary.json'), edited, '--out', out], { from: 'user' });
    expect(ctx.exitCode).toBe(EXIT.usage);
    expect(errs.join('')).toMatch(/edited-summary\.json holds a quality summary fhirdq cannot merge .*measures\[0\]\.cells: required, but missing; issues\[0\]\.count: must be integer/);
    expect(existsSync(out)).toBe(false);
  });
});
