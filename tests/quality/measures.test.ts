import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { parse } from 'yaml';
import { ageBand, QualityCollector, redact } from '../../src/quality/collector.js';
import { isValidAgb, isValidBsn, isValidUra } from '../../src/quality/identifiers.js';
import { compileExpression } from '../../src/quality/paths.js';
import { cutoffDate, loadRules, type RuleSet } from '../../src/quality/rules.js';
import { SpecErrors } from '../../src/mapping/yaml-file.js';
import type { FhirResource } from '../../src/packages/types.js';
import type { IndicatorResult } from '../../src/quality/summary.js';
import { indicatorTables } from '../../src/report/views.js';

const TD = 'https://fhir.iknl.nl/fhir/StructureDefinition/ACP-TreatmentDirective';
const SCT = 'http://snomed.info/sct';
const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';

async function pack(yaml: string): Promise<RuleSet> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-pack-'));
  const file = path.join(dir, 'pack.yaml');
  await writeFile(file, yaml);
  return loadRules([file]);
}

function collector(rules: RuleSet, referenceDate = '2025-06-30', vendor = false) {
  return new QualityCollector(rules, {
    vendor,
    region: 'test',
    referenceDate,
    organisations: [
      { id: 'a', name: 'A' },
      { id: 'b', name: 'B' },
    ],
    exchanges: [{ id: 'pzp' }, { id: 'mp9' }, { id: 'transfer' }],
    sources: { sa: { organisation: 'a', exchange: 'pzp' }, sb: { organisation: 'b', exchange: 'pzp' } },
  });
}

const patient = (id: string, birthDate: string, city?: string): FhirResource => ({ resourceType: 'Patient', id, birthDate, ...(city ? { address: [{ use: 'home', city }] } : {}) });
const directive = (pid: string, code: string, date: string, extra: Record<string, unknown> = {}): FhirResource => ({
  resourceType: 'Consent',
  meta: { profile: [TD] },
  status: 'active',
  patient: { reference: `Patient/${pid}` },
  dateTime: date,
  provision: { type: 'deny', code: [{ coding: [{ system: SCT, code }] }] },
  ...extra,
});

describe('rule packs', () => {
  it('loads the shipped pack: every measure tagged with a Kahn category', async () => {
    const rules = await loadRules();
    expect(rules.measures.length).toBeGreaterThan(10);
    for (const m of rules.measures) expect(['conformance', 'completeness', 'plausibility']).toContain(m.category);
    expect(rules.indicators.map((i) => i.id)).toContain('acp-75plus');
  });

  it('names file, line and field of a bad measure, and of a bad FHIRPath', async () => {
    const bad = `pack: p\nmeasures:\n  - id: m1\n    kind: records\n    category: conformance\n    title: t\n    thresholds: { pass: 0.5, warn: 0.9 }\n  - id: m2\n    kind: completeness\n    category: completness\n    title: t\n    resourceType: Patient\n    thresholds: { pass: 1, warn: 1 }\n    elements: [{ path: birthDate, level: required }]\n`;
    const err = await pack(bad).catch((e) => e);
    expect(err).toBeInstanceOf(SpecErrors);
    expect(err.message).toMatch(/pack\.yaml:7: measures\[0\]\.thresholds: warn must not be above pass/);
    expect(err.message).toMatch(/pack\.yaml:10: measures\[1\]\.category/);
    const fp = await pack(`pack: p\nmeasures:\n  - id: m\n    kind: completeness\n    category: completeness\n    title: t\n    resourceType: Patient\n    thresholds: { pass: 1, warn: 1 }\n    elements:\n      - { path: "name.where(", level: required }\n`).catch((e) => e);
    expect(fp.message).toMatch(/pack\.yaml:10: measures\[0\]\.elements\[0\]\.path: invalid FHIRPath/);
  });

  it('evaluates the fast FHIRPath subset exactly as fhirpath.js does', async () => {
    const shipped = parse(await readFile('profiles/rules/nl-regio.yaml', 'utf8'));
    const expressions = new Set<string>(['status = \'active\'', 'provision.type.exists() or provision.code.exists()', 'name.given.first()', "name.where(given.exists()).family", "identifier.where(system = 'x' or value.empty()).value"]);
    for (const m of shipped.measures) {
      for (const k of ['date', 'product', 'start', 'end', 'dosage', 'discharge', 'sent']) if (m[k]) expressions.add(m[k]);
      for (const e of m.elements ?? []) expressions.add(e.path);
      for (const e of m.events ?? []) expressions.add(e.date);
    }
    for (const i of (await loadRules()).indicators) expressions.add(i.municipality);
    expect(expressions).toContain("address.where(use = 'home' or use.empty()).city.first()");
    const samples: Record<string, unknown>[] = [
      { resourceType: 'Patient', identifier: [{ system: BSN, value: '1' }, { system: 'x', value: '2' }], birthDate: '1940-01-02', name: [{ given: ['A', 'B'] }], address: [{ city: 'Zwolle' }] },
      { resourceType: 'Patient', identifier: [{ system: 'x', value: '2' }] },
      directive('p', '89666000', '2024-01-01'),
      { ...directive('p', '1', '2020-01-01'), provision: { code: [{ coding: [{ code: '1' }] }] }, modifierExtension: [{ url: 'http://nictiz.nl/fhir/StructureDefinition/ext-TreatmentDirective2.SpecificationOther', valueString: 'ja-maar' }] },
      { resourceType: 'Consent', status: 'inactive' },
      { resourceType: 'Composition', date: '2025-01-02T10:00:00+01:00', section: [{ extension: [{ url: 'http://nictiz.nl/fhir/StructureDefinition/eOverdracht-TransferDate', valueDateTime: '2025-01-01T08:00:00+01:00' }] }] },
      { resourceType: 'MedicationRequest', status: 'active', authoredOn: '2025-01-01', dosageInstruction: [{ text: 'x', timing: { repeat: { boundsPeriod: { start: '2025-02-01' } } } }] },
      { resourceType: 'Procedure', performedPeriod: { start: '2024-05-01' } },
      { resourceType: 'Patient', address: [{ use: 'work', city: 'Zwolle' }, { city: 'Dalfsen' }, { use: 'home', city: 'Ommen' }], name: [{ family: 'A' }, { given: ['B'], family: 'C' }], identifier: [{ value: '3' }] },
      { resourceType: 'Patient', address: [{ use: 'work', city: 'Zwolle' }, { use: 'home' }] },
    ];
    for (const expr of expressions) {
      const fast = compileExpression(expr);
      const reference = fhirpath.compile(expr, r4Model);
      // Evaluated by hand (fhirpath.js is not called), with fhirpath.js's results.
      expect(fast.toString(), expr).not.toContain('compiled(');
      for (const r of samples) expect(fast(r), `${expr} on ${JSON.stringify(r)}`).toEqual(reference(r));
    }
  });

  it('turns ages into cut-off dates', () => {
    expect(cutoffDate('2025-06-30', '730d')).toBe('2023-07-01');
    expect(cutoffDate('2025-06-30', '2y')).toBe('2023-06-30');
    expect(cutoffDate('2025-03-31', '1m')).toBe('2025-03-03');
  });
});

describe('identifier checks', () => {
  it('BSN 11-check, AGB and URA forms', () => {
    expect(isValidBsn('111222333')).toBe(true);
    expect(isValidBsn('123456782')).toBe(true);
    expect(isValidBsn('123456783')).toBe(false);
    expect(isValidBsn('12345678')).toBe(false);
    expect(isValidAgb('01234567')).toBe(true);
    expect(isValidAgb('0123456')).toBe(false);
    expect(isValidAgb('00123456')).toBe(false);
    expect(isValidUra('90000011')).toBe(true);
    expect(isValidUra('9000001A')).toBe(false);
  });

  it('masks identifiers and values in messages', () => {
    expect(redact("BSN '123456782' fails the 11-check")).toBe("BSN '…' fails the 11-check");
    expect(redact('value 123456782 is wrong, see urn:oid:2.16.840.1.113883.2.4.6.1')).toBe('value # is wrong, see urn:oid:2.16.840.1.113883.2.4.6.1');
  });
});

describe('regional rules on small fixtures', () => {
  const riza = `pack: r
measures:
  - id: riza
    kind: riza
    category: completeness
    title: riza
    resourceType: Consent
    profile: ${TD}
    codes: { cpr: '89666000', icu: '305351004', hospital: '32485007', antibiotics: '281789004' }
    thresholds: { pass: 0.9, warn: 0.5 }
  - id: acp
    kind: acp-currency
    category: plausibility
    title: acp
    events: [{ resourceType: Consent, profile: ${TD}, date: dateTime }]
    maxAge: 2y
    thresholds: { pass: 0.9, warn: 0.5 }
  - id: bsn
    kind: identifier
    category: conformance
    title: bsn
    scheme: bsn
    system: ${BSN}
    thresholds: { pass: 1, warn: 1 }
`;

  it('RIZA: complete only with a current directive for each treatment; ACP currency takes the latest date', async () => {
    const c = collector(await pack(riza));
    const ctx = { source: 'sa', organisation: 'a', exchange: 'pzp' };
    const codes = ['89666000', '305351004', '32485007', '281789004'];
    // p1 complete and current; p2 misses antibiotics; p3 has an ended antibiotics directive; p4 is old but a newer one counts.
    for (const code of codes) c.resource(directive('p1', code, '2024-01-01'), ctx);
    for (const code of codes.slice(0, 3)) c.resource(directive('p2', code, '2024-01-01'), ctx);
    for (const code of codes.slice(0, 3)) c.resource(directive('p3', code, '2024-01-01'), ctx);
    c.resource(directive('p3', codes[3], '2024-01-01', { provision: { type: 'deny', period: { end: '2025-01-01' }, code: [{ coding: [{ system: SCT, code: codes[3] }] }] } }), ctx);
    for (const code of codes) c.resource(directive('p4', code, '2021-01-01'), ctx);
    c.resource(directive('p4', codes[0], '2025-01-01'), ctx);
    // By BSN identifier instead of a reference (a FHIR source), with a malformed BSN.
    const byBsn = (code: string) => ({ ...directive('x', code, '2020-01-01'), patient: { identifier: { system: BSN, value: '123456783' } } });
    for (const code of codes) c.resource(byBsn(code), ctx);
    const q = c.finish({ runId: 'r', startedAt: '2025-06-30T00:00:00Z' });
    const cell = (id: string) => q.measures.find((m) => m.id === id)!.cells[0];
    expect(cell('riza')).toMatchObject({ organisation: 'a', exchange: 'pzp', numerator: 3, denominator: 5 });
    expect(cell('acp')).toMatchObject({ numerator: 4, denominator: 5 });
    expect(cell('bsn')).toMatchObject({ numerator: 0, denominator: 4 });
    expect(q.status.riza).toBe('warn');
    expect(q.readiness.find((r) => r.organisation === 'a' && r.exchange === 'pzp')!.status).toBe('fail');
    expect(JSON.stringify(q)).not.toContain('123456783');
  });

  it("vendor mode: the failing patients and identifiers are located for junit.xml, never in the summary", async () => {
    const records = `\n  - { id: records, kind: records, category: conformance, title: records, thresholds: { pass: 1, warn: 1 } }\n`;
    const c = collector(await pack(riza + records), '2025-06-30', true);
    const ctx = { source: 'sa', organisation: 'a', exchange: 'pzp' };
    const codes = ['89666000', '305351004', '32485007', '281789004'];
    for (const code of codes) c.resource(directive('p1', code, '2024-01-01'), ctx);
    for (const code of codes.slice(0, 3)) c.resource(directive('p2', code, '2021-01-01'), ctx);
    // A patient known by its BSN alone is counted, but the BSN is no location.
    const byBsn = { ...directive('x', codes[0], '2020-01-01'), id: 'c-bsn', patient: { identifier: { system: BSN, value: '123456783' } } };
    c.resource(byBsn, ctx);
    // A record the mapping rejected: located by file and line; its reason, values masked, is the measure's example.
    c.rejected({ source: 'sa', file: 'data/acp.csv', line: 12, stage: 'map', field: 'bsn', reason: "BSN '123456783' fails the 11-check" });
    c.records('sa', { read: 6, mapped: 5, rejected: 1 });
    const q = c.finish({ runId: 'r', startedAt: '2025-06-30T00:00:00Z' });
    expect(c.vendor.get('records')).toEqual(['data/acp.csv:12']);
    expect(q.measures.find((m) => m.id === 'records')!.examples).toEqual([{ path: 'bsn', message: "BSN '…' fails the 11-check" }]);
    expect(c.vendor.get('riza')).toEqual(['Patient/p2', 'a patient known by BSN only']);
    expect(c.vendor.get('acp')).toEqual(['Patient/p2', 'a patient known by BSN only']);
    expect(c.vendor.get('bsn')).toEqual(['Consent/c-bsn Consent.patient.identifier']);
    expect(JSON.stringify(q)).not.toMatch(/Patient\/p2|c-bsn|123456783/);
  });

  it('medication coherence and transfer timeliness', async () => {
    const c = collector(
      await pack(`pack: m
measures:
  - id: coherence
    kind: medication-coherence
    category: plausibility
    title: c
    resourceType: MedicationRequest
    product: medicationCodeableConcept.coding.code
    start: authoredOn
    end: dosageInstruction.timing.repeat.boundsPeriod.end
    dosage: dosageInstruction.text
    thresholds: { pass: 1, warn: 0.5 }
  - id: timely
    kind: transfer-timeliness
    category: plausibility
    title: t
    resourceType: Composition
    discharge: "section.extension.where(url = 'd').value"
    sent: date
    maxHours: 24
    thresholds: { pass: 1, warn: 0.5 }
`),
    );
    const ctx = { source: 'sa', organisation: 'a', exchange: 'mp9' };
    const ma = (pid: string, code: string, start: string, end: string | undefined, text: string, status = 'active'): FhirResource => ({
      resourceType: 'MedicationRequest',
      status,
      subject: { reference: `Patient/${pid}` },
      medicationCodeableConcept: { coding: [{ code }] },
      authoredOn: start,
      dosageInstruction: [{ text, ...(end ? { timing: { repeat: { boundsPeriod: { end } } } } : {}) }],
    });
    c.resource(ma('p1', 'X', '2025-01-01', '2025-03-01', '1dd1'), ctx);
    c.resource(ma('p1', 'X', '2025-02-01', undefined, '2dd1'), ctx); // overlaps, other dosage: contradictory
    c.resource(ma('p2', 'X', '2025-01-01', '2025-01-31', '1dd1'), ctx);
    c.resource(ma('p2', 'X', '2025-02-01', undefined, '2dd1'), ctx); // follows on: fine
    c.resource(ma('p3', 'X', '2025-01-01', undefined, '1dd1'), ctx);
    c.resource(ma('p3', 'X', '2025-01-01', undefined, '2dd1', 'stopped'), ctx); // not active
    const tctx = { source: 'sa', organisation: 'a', exchange: 'transfer' };
    const doc = (discharge: string | undefined, sent: string): FhirResource => ({
      resourceType: 'Bundle',
      type: 'document',
      entry: [{ fullUrl: 'urn:uuid:1', resource: { resourceType: 'Composition', date: sent, section: [{ extension: discharge ? [{ url: 'd', valueDateTime: discharge }] : [] }] } }],
    });
    c.resource(doc('2025-01-01T10:00:00+01:00', '2025-01-02T09:59:00+01:00'), tctx);
    c.resource(doc('2025-01-01T10:00:00+01:00', '2025-01-02T10:01:00+01:00'), tctx);
    c.resource(doc('2025-01-01T10:00:00Z', '2025-01-02T10:00:00+01:00'), tctx); // 23 h in UTC
    c.resource(doc(undefined, '2025-01-02T10:00:00+01:00'), tctx);
    const q = c.finish({ runId: 'r', startedAt: '2025-06-30T00:00:00Z' });
    expect(q.measures.find((m) => m.id === 'coherence')!.cells).toEqual([{ organisation: 'a', exchange: 'mp9', numerator: 2, denominator: 3 }]);
    expect(q.measures.find((m) => m.id === 'timely')!.cells).toEqual([{ organisation: 'a', exchange: 'transfer', numerator: 2, denominator: 3, unknown: 1 }]);
  });
});

describe('indicators', () => {
  const indicatorPack = (minCell: number) => `pack: i
indicators:
  - id: acp75
    title: ACP 75+
    period: { start: '2025-01-01', end: '2025-12-31' }
    target: 0.2
    minCell: ${minCell}
    population: { minAge: 75 }
    numerator: { resourceType: Consent, profile: ${TD}, date: dateTime }
    stratify: [organisation, municipality, ageBand]
    ageBands: [75, 85]
`;

  it('matches hand-computed numerators, denominators and strata', async () => {
    const c = collector(await pack(indicatorPack(3)));
    const a = { source: 'sa', organisation: 'a', exchange: 'pzp' };
    const b = { source: 'sb', organisation: 'b', exchange: 'pzp' };
    // Organisation a: 6 patients aged 75+ on 2025-12-31 (4 in Zwolle, 2 in Dalfsen), one aged 74, one without a birth date.
    const births = ['1950-12-31', '1945-06-01', '1940-01-01', '1930-05-05', '1949-01-01', '1935-03-03'];
    births.forEach((d, i) => c.resource(patient(`a${i}`, d, i < 4 ? 'Zwolle' : 'Dalfsen'), a));
    c.resource(patient('young', '1951-01-01', 'Zwolle'), a); // 74 on 2025-12-31
    c.resource({ resourceType: 'Patient', id: 'nobirth' }, a);
    // Numerator: a0 (in period), a2 (in period), a4 (in period), a1 only before the period, young (not in population).
    c.resource(directive('a0', '89666000', '2025-02-01'), a);
    c.resource(directive('a2', '89666000', '2025-12-31'), a);
    c.resource(directive('a2', '305351004', '2025-03-01'), a);
    c.resource(directive('a4', '89666000', '2025-06-01'), a);
    c.resource(directive('a1', '89666000', '2024-12-31'), a);
    c.resource(directive('young', '89666000', '2025-06-01'), a);
    // Organisation b: 2 patients, one with ACP; a directive for a patient b holds no Patient for.
    c.resource(patient('b0', '1930-01-01'), b);
    c.resource(patient('b1', '1930-01-01'), b);
    c.resource(directive('b0', '89666000', '2025-06-01'), b);
    c.resource(directive('ghost', '89666000', '2025-06-01'), b);
    const q = c.finish({ runId: 'r', startedAt: '2025-06-30T00:00:00Z' });
    const ind = q.indicators[0];
    const cells = Object.fromEntries(ind.cells.map((x) => [`${x.organisation}/${x.municipality}/${x.ageBand}`, [x.numerator, x.denominator]]));
    // a0 75-84 Zwolle yes; a1 75-84 Zwolle no; a2 85+ Zwolle yes; a3 85+ Zwolle no; a4 75-84 Dalfsen yes; a5 85+ Dalfsen no.
    expect(cells).toEqual({ 'a/Zwolle/75-84': [1, 2], 'a/Zwolle/85+': [1, 2], 'a/Dalfsen/75-84': [1, 1], 'a/Dalfsen/85+': [0, 1], 'b/unknown/85+': [1, 2] });
    const tables = Object.fromEntries(indicatorTables(ind).map((t) => [t.dimension, t.rows.map((r) => [r.label, r.numerator, r.denominator, r.suppressed])]));
    expect(tables.region).toEqual([['total', 4, 8, false]]);
    // b alone would be the total minus a: a is suppressed with it.
    expect(tables.organisation).toEqual([
      ['a', 3, 6, 'complement'],
      ['b', 1, 2, 'small'],
    ]);
    expect(tables.municipality).toEqual([
      ['Dalfsen', 1, 2, 'small'],
      ['Zwolle', 2, 4, 'small'],
      ['unknown', 1, 2, 'small'],
    ]);
    expect(tables.ageBand).toEqual([
      ['75-84', 2, 3, 'small'],
      ['85+', 2, 5, 'small'],
    ]);
  });

  it('without a period end, judges at the reference date: a quarter is reported by its last day', async () => {
    const quarterly = indicatorPack(1).replace("period: { start: '2025-01-01', end: '2025-12-31' }", "period: { start: '2025-01-01' }");
    const a = { source: 'sa', organisation: 'a', exchange: 'pzp' };
    const rules = await pack(quarterly);
    const measured = (referenceDate: string) => {
      const c = collector(rules, referenceDate);
      // 75 on 2025-05-01; an ACP conversation in the second quarter, one in the third.
      c.resource(patient('p', '1950-05-01', 'Zwolle'), a);
      c.resource(patient('q', '1940-01-01', 'Zwolle'), a);
      c.resource(directive('p', '89666000', '2025-06-15'), a);
      c.resource(directive('q', '89666000', '2025-08-15'), a);
      const ind = c.finish({ runId: 'r', startedAt: `${referenceDate}T23:00:00Z` }).indicators[0]!;
      const [region] = indicatorTables(ind);
      return { period: ind.period, total: [region!.rows[0]!.numerator, region!.rows[0]!.denominator] };
    };
    // At the end of the first quarter p is 74 and no conversation has been held.
    expect(measured('2025-03-31')).toEqual({ period: { start: '2025-01-01', end: '2025-03-31' }, total: [0, 1] });
    expect(measured('2025-06-30')).toEqual({ period: { start: '2025-01-01', end: '2025-06-30' }, total: [1, 2] });
    expect(measured('2025-09-30')).toEqual({ period: { start: '2025-01-01', end: '2025-09-30' }, total: [2, 2] });
  });

  describe('suppression', () => {
    const indicator = (minCell: number, cells: [string, number, number][]): IndicatorResult => ({
      id: 'acp',
      pack: 'p',
      title: 'ACP',
      period: { start: '2025-01-01', end: '2025-12-31' },
      minCell,
      stratify: ['municipality'],
      cells: cells.map(([municipality, numerator, denominator]) => ({ organisation: 'a', municipality, ageBand: '75-84', numerator, denominator })),
    });
    const shown = (ind: IndicatorResult) => {
      const [region, byMunicipality] = indicatorTables(ind);
      const total = region.rows[0];
      const hidden = byMunicipality.rows.filter((r) => r.suppressed);
      // What a reader can work out: the total minus the rows shown.
      const derived = { n: total.numerator, d: total.denominator };
      for (const r of byMunicipality.rows) if (!r.suppressed) { derived.n -= r.numerator; derived.d -= r.denominator; }
      return { total: total.suppressed, rows: byMunicipality.rows.map((r) => [r.label, r.suppressed]), hidden: hidden.length, derived };
    };

    it('suppresses a second row when one small row could be worked out from the total', () => {
      const s = shown(indicator(10, [['Dalfsen', 30, 120], ['Hardenberg', 12, 40], ['Ommen', 3, 15], ['Zwolle', 50, 300]]));
      expect(s.total).toBe(false);
      // Ommen is small (3 with ACP); Hardenberg, the smallest other row, hides it.
      expect(s.rows).toEqual([['Dalfsen', false], ['Hardenberg', 'complement'], ['Ommen', 'small'], ['Zwolle', false]]);
      expect(s.derived).toEqual({ n: 15, d: 55 });
    });

    it('goes on until the suppressed rows add up to no small cell', () => {
      // Two small rows sum to 4 with ACP of 14: still small, so a third row is suppressed.
      const s = shown(indicator(10, [['Dalfsen', 2, 8], ['Ommen', 2, 6], ['Staphorst', 30, 90], ['Zwolle', 60, 200]]));
      expect(s.rows).toEqual([['Dalfsen', 'small'], ['Ommen', 'small'], ['Staphorst', 'complement'], ['Zwolle', false]]);
      expect(s.derived).toEqual({ n: 34, d: 104 });
    });

    it('leaves the rows alone when none is small or the total is suppressed', () => {
      expect(shown(indicator(10, [['Dalfsen', 20, 80], ['Zwolle', 40, 200]])).hidden).toBe(0);
      const tiny = shown(indicator(10, [['Dalfsen', 0, 4], ['Zwolle', 0, 30]]));
      expect(tiny).toMatchObject({ total: false, rows: [['Dalfsen', 'small'], ['Zwolle', 'complement']] });
      const suppressedTotal = shown(indicator(10, [['Dalfsen', 3, 40], ['Zwolle', 0, 30]]));
      expect(suppressedTotal).toMatchObject({ total: 'small', rows: [['Dalfsen', 'small'], ['Zwolle', false]] });
    });

    it('counts the patients without as a cell too', () => {
      // 98 of 100: the 2 without are a small cell.
      expect(shown(indicator(10, [['Zwolle', 98, 100], ['Dalfsen', 50, 100]])).rows).toEqual([['Dalfsen', 'complement'], ['Zwolle', 'small']]);
      expect(shown(indicator(10, [['Zwolle', 100, 100], ['Dalfsen', 0, 100]])).hidden).toBe(0);
    });
  });

  it('labels age bands', () => {
    expect(ageBand(74, [75, 85])).toBe('unknown');
    expect(ageBand(75, [75, 85])).toBe('75-84');
    expect(ageBand(99, [0, 18, 65, 75, 85])).toBe('85+');
  });
});
