import { beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse, stringify } from 'yaml';
import { loadRunConfig } from '../../src/pipeline/config.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { generateRegion, type PlantedDefects } from '../../src/pipeline/generate-region.js';
import type { Progress } from '../../src/pipeline/progress.js';
import type { ValidateBatch } from '../../src/pipeline/validate-pool.js';
import { createValidator } from '../../src/index.js';
import { measureRun, RunMeasurer } from '../../src/quality/measure-run.js';
import { loadRules, type RuleSet } from '../../src/quality/rules.js';
import { mergeSummaries, type QualitySummary } from '../../src/quality/summary.js';
import { indicatorTables, orgResults } from '../../src/report/views.js';
import { readCsv } from '../../src/formats/stream-csv.js';
import { writeReports } from '../../src/report/write.js';

const DEMO = path.resolve('fixtures/demo-region');
const quiet: Progress = { event() {}, tick() {}, done() {} };
const REFERENCE = '2025-06-30';

let rules: RuleSet;
// The real validator, in this thread: the worker pool loads compiled files that a test run does not have.
let validate: ValidateBatch;
let planted: PlantedDefects;
let q: QualitySummary;
/** The same run measured by the pipeline as results arrived (what `fhirdq run` reports). */
let inline: QualitySummary;
let runDir: string;

/** Runs a config with the quality measured during the run: the run's summary and that quality summary. */
async function measuredRun(file: string, outDir: string, runId: string, validateWith: ValidateBatch) {
  const loaded = await loadRunConfig(file);
  let measurer: RunMeasurer | undefined;
  const summary = await runPipeline(loaded, { outDir, runId, progress: quiet, validate: validateWith, measure: async (startedAt) => (measurer = await RunMeasurer.open(loaded, startedAt, { rules, referenceDate: REFERENCE })) });
  return { summary, quality: measurer!.finish(summary).summary, loaded };
}

beforeAll(async () => {
  rules = await loadRules();
  const validator = await createValidator();
  validate = async (items) => items.map((i) => validator.validateToIssues(i.resource));
  planted = JSON.parse(await readFile(path.join(DEMO, 'planted-defects.json'), 'utf8'));
  const out = await mkdtemp(path.join(tmpdir(), 'fhirdq-quality-'));
  const run = await measuredRun(path.join(DEMO, 'run.yaml'), out, 'demo', validate);
  runDir = run.summary.reportDir;
  inline = run.quality;
  q = await measureRun(runDir, run.loaded, { rules, referenceDate: REFERENCE });
}, 600_000);

const cellOf = (measure: string, organisation: string, element?: string) => {
  const m = q.measures.find((x) => x.id === measure)!;
  const r = orgResults(m).find((x) => x.organisation === organisation)!;
  if (!element) return r;
  return r.elements.find((e) => e.element === element)!;
};
const failures = (c: { numerator: number; denominator: number }) => c.denominator - c.numerator;
const rejections = (source: string, field: string | undefined, reason: RegExp) =>
  q.rejections.filter((r) => r.source === source && r.field === field && reason.test(r.reason)).reduce((n, r) => n + r.count, 0);

describe('planted defects of the demo region', () => {
  it('finds every planted defect class at its planted count', () => {
    const d = (source: string) => planted.sources[source].defects;
    // Defects that stop a record are grouped rejections; the others are measures.
    expect(rejections('zkh-ontslagmedicatie', 'BSN', /11-check/)).toBe(d('zkh-ontslagmedicatie').badBsn);
    expect(rejections('zkh-ontslagmedicatie', 'Ontslagdatum', /not a valid date/)).toBe(d('zkh-ontslagmedicatie').badDate);
    expect(rejections('zkh-ontslagmedicatie', 'MedCode', /not in code map/)).toBe(d('zkh-ontslagmedicatie').unmappedMedication);
    expect(rejections('zkh-ontslagmedicatie', 'MedCode', /missing/)).toBe(d('zkh-ontslagmedicatie').missingMedication);
    expect(rejections('linde-acp', undefined, /invalid JSON/)).toBe(d('linde-acp').malformedLine);
    expect(rejections('linde-acp', 'client.bsn', /11-check/)).toBe(d('linde-acp').badBsn);
    expect(failures(cellOf('riza-completeness', 'zorggroep-linde'))).toBe(d('linde-acp').rizaIncomplete);
    expect(failures(cellOf('acp-currency', 'zorggroep-linde'))).toBe(d('linde-acp').staleAcp);
    expect(rejections('anker-medicatiegebruik', 'start', /not a valid date/)).toBe(d('anker-medicatiegebruik').badDate);
    expect(rejections('anker-medicatiegebruik', 'start', /missing/)).toBe(d('anker-medicatiegebruik').missingStart);
    expect(rejections('gaper-verstrekkingen', undefined, /invalid JSON/)).toBe(d('gaper-verstrekkingen').malformedLine);
    expect(failures(cellOf('mp9-dispense-completeness', 'apotheek-gaper', 'category'))).toBe(d('gaper-verstrekkingen').missingCategory);
    expect(failures(cellOf('transfer-timeliness', 'thuiszorg-vechtstreek'))).toBe(d('vechtstreek-overdrachten').lateTransfer);
    expect(rejections('vechtstreek-overdrachten', 'ontslag', /missing/)).toBe(d('vechtstreek-overdrachten').missingDischarge);
    expect(failures(cellOf('pzp-directive-completeness', 'elv-de-hoeve', 'decision'))).toBe(d('hoeve-behandelgrenzen').missingProvisionType);
    // Every planted class above is asserted: a new class in the generator must get a check here.
    const classes = Object.values(planted.sources).reduce((n, s) => n + Object.keys(s.defects).length, 0);
    expect(classes).toBe(15);
  });

  it('breaks no profile rule but the planted ones and one documented package gap', async () => {
    const issues = (await readFile(path.join(runDir, 'issues.ndjson'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { source: string; severity: string; messageId: string });
    const errors = new Set(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => `${i.source} ${i.messageId}`));
    expect([...errors].sort()).toEqual([
      // profiles/KNOWN-ISSUES.md: MP9 types requester and author with a pattern profile that nl-core 0.12.1-beta.1 lacks.
      'anker-medicatiegebruik type-profile-unknown',
      // Planted: dispensations without a category, which the MP9 profile requires.
      'gaper-verstrekkingen cardinality-min',
      'zkh-ontslagmedicatie type-profile-unknown',
    ]);
  });

  it('reports the planted rates against the records of each source', () => {
    const linde = cellOf('riza-completeness', 'zorggroep-linde');
    const records = planted.sources['linde-acp'];
    // RIZA is per patient: every accepted ACP record is one patient.
    expect(linde.denominator).toBe(records.records - records.rejected);
    const late = cellOf('transfer-timeliness', 'thuiszorg-vechtstreek');
    expect(failures(late) / planted.sources['vechtstreek-overdrachten'].records).toBeCloseTo(40 / 258, 6);
    expect(q.sources['zkh-ontslagmedicatie']).toMatchObject({ read: 1189, rejected: 99 });
  });

  it('keeps patient identifiers out of every output', async () => {
    await writeReports(runDir, q, { history: path.join(runDir, '..', 'history.sqlite') });
    const bsns = new Set<string>();
    const data = await readFile(path.join(DEMO, 'data/gp/medicatiegebruik.csv'), 'utf8');
    for (const line of data.split('\n').slice(1)) if (line) bsns.add(line.split(',')[0]);
    expect(bsns.size).toBeGreaterThan(100);
    for (const f of ['summary.json', 'report.html', 'junit.xml', 'summary.md', 'indicators.csv', 'readiness.csv']) {
      const text = await readFile(path.join(runDir, f), 'utf8');
      const leaked = [...text.matchAll(/\d{9}/g)].map((m) => m[0]).filter((x) => bsns.has(x));
      expect(leaked, f).toEqual([]);
      expect(text, f).not.toMatch(/acp-gesprekken\.jsonl:\d|ontslagmedicatie\.csv:\d/);
    }
  });

  it('writes indicators.csv with the reports\' suppression, readable as a spreadsheet reads it', async () => {
    // A municipality that is a small cell, and one whose name a spreadsheet would run as a formula.
    const ind = structuredClone(q.indicators[0]);
    ind.stratify = ['municipality'];
    ind.cells = [
      { organisation: 'o', municipality: 'Dalfsen', ageBand: 'x', numerator: 3, denominator: 40 },
      { organisation: 'o', municipality: '=HYPERLINK("x")', ageBand: 'x', numerator: 30, denominator: 90 },
      { organisation: 'o', municipality: 'Zwolle', ageBand: 'x', numerator: 60, denominator: 200 },
    ];
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-indicators-'));
    await writeReports(dir, { ...q, indicators: [...q.indicators, { ...ind, id: 'crafted' }] }, { history: false });
    const rows: Record<string, unknown>[] = [];
    for await (const item of readCsv('indicators', 'indicators.csv', createReadStream(path.join(dir, 'indicators.csv')))) {
      expect(item.kind).toBe('record');
      if (item.kind === 'record') rows.push(item.record);
    }
    // Every row of every table the reports show, in the same order, with the same figures or the reason instead.
    const expected = q.indicators.flatMap((i) => indicatorTables(i).flatMap((t) => t.rows.map((r) => [i.id, t.dimension, r.label, r.suppressed ? '' : String(r.numerator)])));
    expect(expected.length).toBeGreaterThan(3);
    expect(rows.filter((r) => r.indicator !== 'crafted').map((r) => [r.indicator, r.dimension, r.group_code, r.numerator])).toEqual(expected);
    // The demo's care home records home towns: its small municipalities are suppressed, and one more with them.
    const byMunicipality = rows.filter((r) => r.indicator === 'acp-75plus' && r.dimension === 'municipality');
    expect(byMunicipality.map((r) => r.suppressed).filter(Boolean).sort()).toEqual(['fewer than 10', 'fewer than 10', 'would reveal a suppressed cell']);
    const org = rows.find((r) => r.dimension === 'organisation')!;
    expect(org.group_name).toBe(q.organisations.find((o) => o.id === org.group_code)!.name);
    const crafted = rows.filter((r) => r.indicator === 'crafted');
    expect(crafted.map((r) => [r.group_code, r.numerator, r.denominator, r.share, r.suppressed])).toEqual([
      ['total', '93', '330', '0.2818', ''],
      ['\'=HYPERLINK("x")', '', '', '', 'would reveal a suppressed cell'],
      ['Dalfsen', '', '', '', 'fewer than 10'],
      ['Zwolle', '60', '200', '0.3', ''],
    ]);
    expect((await readFile(path.join(dir, 'indicators.csv'))).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it('writes readiness.csv: the readiness matrix with each cell\'s measures, as a spreadsheet reads it', async () => {
    // An organisation whose input was not all read is marked so, as the matrix marks it.
    const unread = { source: 's', organisation: 'apotheek-gaper', exchange: 'mp9', stage: 'file', reason: 'not readable', count: 1 };
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-readiness-'));
    await writeReports(dir, { ...q, rejections: [...q.rejections, unread] }, { history: false });
    const rows: Record<string, unknown>[] = [];
    for await (const item of readCsv('readiness', 'readiness.csv', createReadStream(path.join(dir, 'readiness.csv')))) {
      expect(item.kind).toBe('record');
      if (item.kind === 'record') rows.push(item.record);
    }
    for (const cell of q.readiness) {
      const own = rows.filter((r) => r.organisation_code === cell.organisation && r.exchange === cell.exchange);
      expect(own.every((r) => r.readiness === cell.status && r.input_complete === (cell.organisation === 'apotheek-gaper' ? 'no' : 'yes'))).toBe(true);
      const measures = Object.keys(cell.measures);
      // A cell without data is one row, without a measure.
      expect(own.map((r) => r.measure).sort()).toEqual(measures.length ? measures.sort() : ['']);
      for (const r of own.filter((x) => x.measure)) {
        const m = q.measures.find((x) => x.id === r.measure)!;
        const figures = orgResults(m).find((x) => x.organisation === cell.organisation && x.exchange === cell.exchange)!;
        expect([r.status, r.numerator, r.denominator]).toEqual([cell.measures[m.id], String(figures.numerator), String(figures.denominator)]);
      }
    }
    expect(rows.filter((r) => r.status === 'fail').map((r) => `${r.organisation_code} ${r.measure}`).sort()).toEqual(
      q.readiness.flatMap((c) => Object.entries(c.measures).filter(([, s]) => s === 'fail').map(([m]) => `${c.organisation} ${m}`)).sort(),
    );
    expect(rows.some((r) => r.status === 'fail')).toBe(true);
  });

  it('writes a summary.json that the shipped JSON Schema accepts', async () => {
    const schema = JSON.parse(await readFile('profiles/rules/summary.schema.json', 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const written = JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8'));
    expect(validate(written), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    // The schema is not vacuous: a ratio instead of counts is refused.
    written.quality.measures[0].cells[0].numerator = 0.5;
    expect(validate(written)).toBe(false);
  });
});

describe('quality measured during the run', () => {
  it('equals the quality measured from the run folder afterwards (fhirdq report)', () => {
    expect(inline.measures.some((m) => m.cells.length > 0)).toBe(true);
    expect(JSON.stringify(inline)).toBe(JSON.stringify(q));
  });

  it('names the file and line where a run folder was cut short (a run killed while writing)', async () => {
    const copy = await mkdtemp(path.join(tmpdir(), 'fhirdq-cut-'));
    await cp(runDir, copy, { recursive: true });
    const issues = await readFile(path.join(copy, 'issues.ndjson'), 'utf8');
    const kept = issues.split('\n').slice(0, 10).join('\n');
    await writeFile(path.join(copy, 'issues.ndjson'), `${kept}\n${issues.split('\n')[10]!.slice(0, 40)}`);
    const loaded = await loadRunConfig(path.join(DEMO, 'run.yaml'));
    await expect(measureRun(copy, loaded, { rules, referenceDate: REFERENCE })).rejects.toThrow(/issues\.ndjson:11: cannot be read \(.*\): was the run cut short, or the file edited\?/);
  });

  it('attributes resources without issues to their source in both, where several sources share an exchange', async () => {
    // No issues at all: the run folder's issues.ndjson says nothing about which source wrote a resource.
    const out = await mkdtemp(path.join(tmpdir(), 'fhirdq-quality-'));
    const clean: ValidateBatch = async (items) => items.map(() => []);
    const run = await measuredRun(path.join(DEMO, 'run.yaml'), out, 'clean', clean);
    const again = await measureRun(run.summary.reportDir, run.loaded, { rules, referenceDate: REFERENCE });
    expect(JSON.stringify(again)).toBe(JSON.stringify(run.quality));
    const conformance = run.quality.measures.find((m) => m.kind === 'conformance')!;
    const mp9 = new Set(conformance.cells.filter((c) => c.exchange === 'mp9').map((c) => c.organisation));
    expect([...mp9].sort()).toEqual(['apotheek-gaper', 'ha-het-anker', 'zkh-vechtdal']);
    expect(JSON.stringify(again)).not.toContain('(unattributed)');
  }, 600_000);
});

describe('merging shards', () => {
  it('gives the single run\'s summary when the region\'s sources are split in two runs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-shards-'));
    await generateRegion({ patients: 250, outDir: dir, seed: 7 });
    const base = parse(await readFile(path.join(dir, 'run.yaml'), 'utf8'));
    // The GP and the hospital export the same patients; the pipeline keeps a `once` resource for whichever
    // source emits it first, so their Patients are attributed by chance. The split leaves the GP out.
    const all = base.sources.filter((s: { name: string }) => s.name !== 'anker-medicatiegebruik');
    const configs: Record<string, unknown[]> = {
      single: all,
      a: all.filter((s: { organisation: string }) => ['zkh-vechtdal', 'zorggroep-linde'].includes(s.organisation)),
      b: all.filter((s: { organisation: string }) => !['zkh-vechtdal', 'zorggroep-linde'].includes(s.organisation)),
    };
    const results: Record<string, QualitySummary> = {};
    for (const [name, sources] of Object.entries(configs)) {
      const file = path.join(dir, `run-${name}.yaml`);
      await writeFile(file, stringify({ ...base, sources }));
      const loaded = await loadRunConfig(file);
      const run = await runPipeline(loaded, { outDir: path.join(dir, 'reports'), runId: name, progress: quiet, validate });
      results[name] = await measureRun(run.reportDir, loaded, { rules, referenceDate: REFERENCE });
    }
    expect(configs.a.length + configs.b.length).toBe(configs.single.length);
    const merged = mergeSummaries([results.a, results.b]);
    const strip = (x: QualitySummary) => ({ ...x, runs: [] });
    expect(merged.runs.map((r) => r.runId)).toEqual(['a', 'b']);
    expect(merged.issues.length).toBeGreaterThan(0);
    expect(merged.indicators[0].cells.length).toBeGreaterThan(0);
    expect(JSON.stringify(strip(merged))).toBe(JSON.stringify(strip(results.single)));
    // And not by accident: one shard alone differs.
    expect(JSON.stringify(strip(results.a))).not.toBe(JSON.stringify(strip(results.single)));
  }, 600_000);
});
