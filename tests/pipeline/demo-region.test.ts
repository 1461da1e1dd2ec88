import { beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRunConfig } from '../../src/pipeline/config.js';
import { runPipeline, type RunSummary } from '../../src/pipeline/run.js';
import { generateRegion, LATE_TRANSFER_HOURS, STALE_BEFORE, type PlantedDefects } from '../../src/pipeline/generate-region.js';
import type { CoverageReport } from '../../src/mapping/compile.js';
import type { Progress } from '../../src/pipeline/progress.js';
import type { ValidateBatch } from '../../src/pipeline/validate-pool.js';
import { SpecErrors } from '../../src/mapping/yaml-file.js';

const DEMO = path.resolve('fixtures/demo-region');
const quiet: Progress = { event() {}, tick() {}, done() {} };
// Stands in for the worker pool: flags dispensations without a category, as the MP9 profile's min=1 would.
const validate: ValidateBatch = async (items) =>
  items.map(({ resource }) =>
    resource.resourceType === 'MedicationDispense' && !resource.category
      ? [{ severity: 'error', code: 'required', messageId: 'TEST_MIN', message: 'category: minimum required = 1', path: 'MedicationDispense.category' }]
      : [],
  );

type Json = Record<string, any>;
const ndjson = async (file: string): Promise<Json[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

let out: string;
let summary: RunSummary;
let planted: PlantedDefects;
let rejected: Json[];

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'fhirdq-demo-'));
  planted = JSON.parse(await readFile(path.join(DEMO, 'planted-defects.json'), 'utf8'));
  summary = await runPipeline(await loadRunConfig(path.join(DEMO, 'run.yaml')), { outDir: out, runId: 'test', progress: quiet, validate });
  rejected = await ndjson(path.join(out, 'latest/rejected.ndjson'));
});

describe('demo region run', () => {
  it('accounts for every record: read = mapped + rejected, as planted', async () => {
    const written = JSON.parse(await readFile(path.join(out, 'latest/summary.json'), 'utf8')) as RunSummary;
    expect(Object.keys(written.sources).sort()).toEqual(Object.keys(planted.sources).sort());
    for (const [name, p] of Object.entries(planted.sources)) {
      const s = written.sources[name].records;
      expect(s.read, name).toBe(s.mapped + s.rejected);
      expect(s.read, name).toBe(p.records);
      expect(s.rejected, name).toBe(p.rejected);
      expect(rejected.filter((r) => r.source === name && r.stage !== 'file')).toHaveLength(p.rejected);
    }
    expect(written.totals.read).toBe(written.totals.mapped + written.totals.rejected);
    expect(written.sourceErrors).toEqual([]);
    expect(summary.exchanges.mp9.validated).toBe(summary.exchanges.mp9.resources);
  });

  it('finds the planted rejections with their reasons, files and lines', () => {
    const count = (source: string, re: RegExp) => rejected.filter((r) => r.source === source && re.test(r.reason)).length;
    const zkh = planted.sources['zkh-ontslagmedicatie'].defects;
    expect(count('zkh-ontslagmedicatie', /11-check/)).toBe(zkh.badBsn);
    expect(count('zkh-ontslagmedicatie', /not a valid date/)).toBe(zkh.badDate);
    expect(count('zkh-ontslagmedicatie', /not in code map 'medicatie'/)).toBe(zkh.unmappedMedication);
    expect(count('zkh-ontslagmedicatie', /required code is missing/)).toBe(zkh.missingMedication);
    const linde = planted.sources['linde-acp'].defects;
    expect(count('linde-acp', /invalid JSON/)).toBe(linde.malformedLine);
    expect(count('linde-acp', /11-check/)).toBe(linde.badBsn);
    expect(count('anker-medicatiegebruik', /required value is missing/)).toBe(planted.sources['anker-medicatiegebruik'].defects.missingStart);
    expect(count('gaper-verstrekkingen', /invalid JSON/)).toBe(planted.sources['gaper-verstrekkingen'].defects.malformedLine);
    expect(count('vechtstreek-overdrachten', /required value is missing/)).toBe(planted.sources['vechtstreek-overdrachten'].defects.missingDischarge);
    const first = rejected.find((r) => r.source === 'zkh-ontslagmedicatie')!;
    expect(first).toMatchObject({ file: 'data/hospital/ontslagmedicatie.csv', stage: 'map', line: expect.any(Number), field: expect.any(String) });
  });

  it('reports unmapped codes and columns in the coverage', async () => {
    const coverage = JSON.parse(await readFile(path.join(out, 'latest/coverage.json'), 'utf8')) as Record<string, CoverageReport>;
    const zkh = coverage['zkh-ontslagmedicatie'];
    expect(zkh.unmappedCodes.reduce((n, c) => n + c.count, 0)).toBe(planted.sources['zkh-ontslagmedicatie'].defects.unmappedMedication);
    expect(zkh.unmappedColumns.map((c) => c.column)).toEqual(['Medicijn']);
  });

  it('finds the planted quality defects in the mapped output', async () => {
    const pzp = await ndjson(path.join(out, 'latest/resources/pzp.ndjson'));
    const byConversation = new Map<string, Json[]>();
    for (const r of pzp) {
      const id = r.identifier?.[0]?.value as string | undefined;
      if (r.resourceType !== 'Consent' || !id?.startsWith('ACP-')) continue;
      const key = id.slice(0, 10);
      byConversation.set(key, [...(byConversation.get(key) ?? []), r]);
    }
    const linde = planted.sources['linde-acp'];
    expect(byConversation.size).toBe(linde.records - linde.rejected);
    expect([...byConversation.values()].filter((ds) => ds.length < 4)).toHaveLength(linde.defects.rizaIncomplete);
    expect([...byConversation.values()].filter((ds) => ds[0].dateTime < STALE_BEFORE)).toHaveLength(linde.defects.staleAcp);
    const hoeve = pzp.filter((r) => r.id.startsWith('hoeve-'));
    expect(hoeve.filter((r) => !r.provision?.type)).toHaveLength(planted.sources['hoeve-behandelgrenzen'].defects.missingProvisionType);

    const transfers = await ndjson(path.join(out, 'latest/resources/transfer.ndjson'));
    const late = transfers.filter((b) => {
      const comp = b.entry[0].resource;
      const transferDate = comp.section[0].extension[0].valueDateTime;
      return Date.parse(comp.date) - Date.parse(transferDate) > LATE_TRANSFER_HOURS * 3_600_000;
    });
    expect(late).toHaveLength(planted.sources['vechtstreek-overdrachten'].defects.lateTransfer);

    const issues = await ndjson(path.join(out, 'latest/issues.ndjson'));
    expect(issues).toHaveLength(planted.sources['gaper-verstrekkingen'].defects.missingCategory);
    expect(issues[0]).toMatchObject({ source: 'gaper-verstrekkingen', file: 'data/pharmacy/verstrekkingen-dump.ndjson', line: expect.any(Number), exchange: 'mp9', messageId: 'TEST_MIN' });
  });

  it('writes MP9, PZP and nursing-transfer resources with their profiles', async () => {
    const mp9 = await ndjson(path.join(out, 'latest/resources/mp9.ndjson'));
    const profiles = new Set(mp9.flatMap((r) => r.meta?.profile ?? []));
    for (const p of ['mp-MedicationAgreement', 'mp-MedicationUse2', 'mp-MedicationDispense']) expect(profiles).toContain(`http://nictiz.nl/fhir/StructureDefinition/${p}`);
    const patients = mp9.filter((r) => r.resourceType === 'Patient').map((r) => r.id);
    expect(new Set(patients).size).toBe(patients.length);
    const agreement = mp9.find((r) => r.resourceType === 'MedicationRequest')!;
    expect(agreement.subject.reference).toMatch(/^Patient\/[0-9a-f-]{36}$/);
    expect(agreement.authoredOn).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+0[12]:00$/);
    expect(agreement.medicationCodeableConcept.coding[0].system).toBe('urn:oid:2.16.840.1.113883.2.4.4.10');
    const doc = (await ndjson(path.join(out, 'latest/resources/transfer.ndjson')))[0];
    expect(doc.entry[0].resource.meta.profile).toEqual(['http://fhirdq.nl/fhir/StructureDefinition/regio-NursingTransferComposition']);
    expect(doc.entry.map((e: Json) => e.resource.resourceType)).toEqual(['Composition', 'Patient', 'Organization', 'Observation']);
  });
});

describe('run outputs', () => {
  it('are byte-identical across runs, and each exchange file holds the Patients its resources refer to', async () => {
    const again = await runPipeline(await loadRunConfig(path.join(DEMO, 'run.yaml')), { outDir: out, runId: 'again', progress: quiet, validate });
    expect(again.totals).toEqual(summary.totals);
    for (const f of ['resources/mp9.ndjson', 'resources/pzp.ndjson', 'resources/transfer.ndjson', 'issues.ndjson', 'rejected.ndjson', 'coverage.json']) {
      expect((await readFile(path.join(out, 'again', f))).equals(await readFile(path.join(out, 'test', f))), f).toBe(true);
    }
    for (const ex of ['mp9', 'pzp']) {
      const rs = await ndjson(path.join(out, 'test/resources', `${ex}.ndjson`));
      const patients = new Set(rs.filter((r) => r.resourceType === 'Patient').map((r) => `Patient/${r.id}`));
      const refs = rs.map((r) => (r.subject ?? r.patient)?.reference as string | undefined).filter((ref) => ref?.startsWith('Patient/'));
      expect(refs.length, ex).toBeGreaterThan(100);
      expect(refs.filter((ref) => !patients.has(ref!)), ex).toEqual([]);
    }
  });
});

describe('generator', () => {
  it('reproduces the committed demo region byte for byte, and is seed-stable', async () => {
    const again = await mkdtemp(path.join(tmpdir(), 'fhirdq-gen-'));
    await generateRegion({ patients: planted.patients, outDir: again, seed: planted.seed });
    for (const sub of ['data/hospital', 'data/vvt', 'data/gp', 'data/pharmacy', 'data/district-nursing', 'data/elv', 'mappings']) {
      for (const f of await readdir(path.join(DEMO, sub))) {
        expect((await readFile(path.join(again, sub, f))).equals(await readFile(path.join(DEMO, sub, f))), `${sub}/${f}`).toBe(true);
      }
    }
    expect(await readFile(path.join(again, 'planted-defects.json'), 'utf8')).toBe(await readFile(path.join(DEMO, 'planted-defects.json'), 'utf8'));
    const other = await mkdtemp(path.join(tmpdir(), 'fhirdq-gen-'));
    const p = await generateRegion({ patients: 50, outDir: other, seed: 7 });
    expect(p.sources['zkh-ontslagmedicatie'].records).toBeGreaterThan(0);
    expect(await readFile(path.join(other, 'run.yaml'), 'utf8')).toMatch(/dir: reports$/m);
  });
});

describe('bad input', () => {
  it('a mapping spec typo skips that source with file, line and field; the rest runs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-bad-'));
    await cp(DEMO, dir, { recursive: true });
    const spec = path.join(dir, 'mappings/anker-medicatiegebruik.yaml');
    await writeFile(spec, (await readFile(spec, 'utf8')).replace('effectivePeriod:\n        start: { $col: start, as: date', 'effectivePeriod:\n        start: { $col: start, as: datum'));
    await writeFile(path.join(dir, 'data/gp/extra.csv'), '{"resourceType": "Patient"}\n');
    await writeFile(path.join(dir, 'run.yaml'), (await readFile(path.join(dir, 'run.yaml'), 'utf8')).replace('data/gp/medicatiegebruik.csv', 'data/gp/*.csv'));
    const s = await runPipeline(await loadRunConfig(path.join(dir, 'run.yaml')), { outDir: path.join(dir, 'out'), runId: 'bad', progress: quiet, validate });
    expect(s.sourceErrors).toHaveLength(1);
    expect(s.sourceErrors[0].message).toMatch(/anker-medicatiegebruik\.yaml:\d+: resources\[1\]\.template\.effectivePeriod\.start\.as: unknown transform 'datum'/);
    expect(s.sources['anker-medicatiegebruik']).toBeUndefined();
    expect(s.sources['zkh-ontslagmedicatie'].records.read).toBe(planted.sources['zkh-ontslagmedicatie'].records);

    await writeFile(spec, (await readFile(path.join(DEMO, 'mappings/anker-medicatiegebruik.yaml'), 'utf8')));
    const s2 = await runPipeline(await loadRunConfig(path.join(dir, 'run.yaml')), { outDir: path.join(dir, 'out'), runId: 'bad2', progress: quiet, validate });
    expect(s2.sources['anker-medicatiegebruik'].files).toEqual({ read: 1, failed: 1 });
    const rej = await ndjson(path.join(dir, 'out/bad2/rejected.ndjson'));
    expect(rej.find((r) => r.stage === 'file')).toMatchObject({ file: 'data/gp/extra.csv', reason: expect.stringContaining('expected CSV but the content looks like JSON') });
  });

  it('a run config error names file, line and field', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-cfg-'));
    const file = path.join(dir, 'run.yaml');
    await writeFile(file, 'name: x\norganisations:\n  - { id: a, name: A, type: hospitaal }\nexchanges: [{ id: mp9 }]\nsources:\n  - name: s\n    organisation: b\n    inputs: [x.csv]\n    mapping: m.yaml\n');
    await expect(loadRunConfig(file)).rejects.toThrow(/run\.yaml:3: organisations\[0\]\.type: /);
    await writeFile(file, 'name: x\norganisations:\n  - { id: a, name: A, type: hospital }\nexchanges: [{ id: mp9 }]\nsources:\n  - name: s\n    organisation: b\n    inputs: [x.csv]\n    mapping: m.yaml\n');
    const err = await loadRunConfig(file).catch((e) => e);
    expect(err).toBeInstanceOf(SpecErrors);
    expect(err.message).toMatch(/run\.yaml:7: sources\[0\]\.organisation: unknown organisation 'b'/);
  });
});
