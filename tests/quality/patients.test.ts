import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ageAt, QualityCollector } from '../../src/quality/collector.js';
import { Agreements, Columns, Interner, KeyTable } from '../../src/quality/patients.js';
import { loadRules } from '../../src/quality/rules.js';
import type { FhirResource } from '../../src/packages/types.js';

/** Seeded PRNG (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('patient state tables', () => {
  it('KeyTable finds every key it was given across growth, and no other', () => {
    const rnd = random(1);
    const word = () => (rnd() * 2 ** 32) | 0;
    const keys: [number, number, number][] = Array.from({ length: 50_000 }, () => [word(), word(), word()]);
    const t = new KeyTable();
    keys.forEach(([a, b, c], i) => t.set(a, b, c, i + 1));
    keys.forEach(([a, b, c], i) => expect(t.get(a, b, c)).toBe(i + 1));
    // Same first word, other words different: a different key.
    const [a, b, c] = keys[0];
    expect(t.get(a, b ^ 1, c)).toBe(0);
    t.set(a, b, c, 7);
    expect(t.get(a, b, c)).toBe(7);
    let n = 0;
    t.forEachRow(() => n++);
    expect(n).toBe(keys.length);
  });

  it('Columns keep their values when they grow; row 0 is never handed out', () => {
    const cols = new Columns();
    const x = cols.add();
    for (let i = 0; i < 5000; i++) cols.col(x)[cols.newRow()] = i;
    expect(cols.rows).toBe(5001);
    expect(cols.col(x)[1]).toBe(0);
    expect(cols.col(x)[5000]).toBe(4999);
  });

  it('Agreements find a contradiction exactly when some pair of the patient does, whatever the order', () => {
    const rnd = random(2);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
    // Inverted periods (start after end) and missing starts or ends included.
    const dates = ['', '2025-01-01', '2025-02-01', '2025-03-01', '2025-04-01', '\uffff'];
    const strings = new Interner();
    const agreements = new Agreements(strings);
    let conflicts = 0;
    for (let patient = 0; patient < 3000; patient++) {
      const list = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => ({ product: pick(['A', 'B']), dosage: pick(['1dd1', '2dd1', '1dd1']), start: pick(dates), end: pick(dates) }));
      const expected = list.some((a, i) => list.some((b, j) => j < i && a.product === b.product && a.dosage !== b.dosage && a.start <= b.end && b.start <= a.end));
      let head = 0;
      let conflict = false;
      for (const a of list) {
        const added = agreements.add(head, strings.id(a.product), strings.id(a.start), strings.id(a.end), strings.id(a.dosage));
        if (added < 0) {
          conflict = true;
          agreements.free(head);
          break;
        }
        head = added;
      }
      expect(conflict, JSON.stringify(list)).toBe(expected);
      if (conflict) conflicts++;
    }
    expect(conflicts).toBeGreaterThan(100);
    expect(conflicts).toBeLessThan(2900);
  });

  it('ages from full and partial birth dates', () => {
    expect(ageAt('1950-07-01', '2025-06-30')).toBe(74);
    expect(ageAt('1950-06-30', '2025-06-30')).toBe(75);
    expect(ageAt('1950', '2025-06-30')).toBe(75);
    expect(ageAt('1950-07', '2025-06-30')).toBe(74);
    expect(ageAt('unknown', '2025-06-30')).toBeUndefined();
  });
});

describe('patients in the collector', () => {
  it('joins the resources of a patient named by reference, by BSN or both, per organisation', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-patients-'));
    const file = path.join(dir, 'pack.yaml');
    const riza = { id: 'riza', kind: 'riza', category: 'completeness', title: 'riza', resourceType: 'Consent', codes: { a: '1', b: '2' }, thresholds: { pass: 1, warn: 0.5 } };
    await writeFile(file, stringify({ pack: 'p', measures: [riza] }));
    const c = new QualityCollector(await loadRules([file]), {
      region: 't',
      referenceDate: '2025-06-30',
      organisations: [
        { id: 'o1', name: 'O1' },
        { id: 'o2', name: 'O2' },
      ],
      exchanges: [{ id: 'pzp' }],
      sources: {},
    });
    const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';
    const consent = (patient: Record<string, unknown>, code: string): FhirResource => ({ resourceType: 'Consent', status: 'active', patient, provision: { code: [{ coding: [{ system: 'http://snomed.info/sct', code }] }] } });
    const o1 = { source: 's', organisation: 'o1', exchange: 'pzp' };
    const o2 = { source: 's', organisation: 'o2', exchange: 'pzp' };
    c.resource(consent({ reference: 'Patient/p1', identifier: { system: BSN, value: '111222333' } }, '1'), o1);
    c.resource(consent({ identifier: { system: BSN, value: '111222333' } }, '2'), o1);
    c.resource(consent({ reference: 'Patient/p1' }, '2'), o1);
    // The same BSN at another organisation is another patient row, with only one of the two directives.
    c.resource(consent({ identifier: { system: BSN, value: '111222333' } }, '2'), o2);
    const q = c.finish({ runId: 'r', startedAt: '2025-06-30T00:00:00Z' });
    const cells = q.measures.find((m) => m.id === 'riza')!.cells;
    expect(cells).toEqual([
      { organisation: 'o1', exchange: 'pzp', numerator: 1, denominator: 1 },
      { organisation: 'o2', exchange: 'pzp', numerator: 0, denominator: 1 },
    ]);
  });
});
