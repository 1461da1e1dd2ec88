import { describe, expect, it } from 'vitest';
import { generateInvariant } from '../../src/validation/fhirpath-codegen.js';
import { compileFhirPath } from '../../src/validation/fhirpath-compiler.js';

/** The closure tier's verdict (dates bail to fhirpath.js there), as generated code reports it. */
function closure(expression: string, base: string, node: unknown): boolean | string {
  try {
    const r = compileFhirPath(expression, base)!(node, { resource: node, rootResource: node, resolve: () => undefined });
    return r.length === 0 || (r.length === 1 && r[0] === true);
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

/** Generated verdicts on `nodes`: each equal to the closure tier's, or a hand-over; returns how many were generated. */
function agree(expression: string, base: string, nodes: unknown[]): { generated: number; verdicts: Set<boolean> } {
  const fn = generateInvariant(expression, base);
  if (!fn) throw new Error(`not generated: ${expression}`);
  const out = { generated: 0, verdicts: new Set<boolean>() };
  for (const node of nodes) {
    const mine = fn(node, node);
    if (mine === undefined) continue;
    out.generated++;
    expect(typeof mine === 'boolean' ? mine : `error: ${mine.evaluationError}`, JSON.stringify(node)).toBe(closure(expression, base, node));
    if (typeof mine === 'boolean') out.verdicts.add(mine);
  }
  return out;
}

describe('national invariants in generated code', () => {
  it('mdd-1: dateTime >= dateTime as fhirpath.js compares them, handing over other precisions and impossible dates', () => {
    const mdd1 = 'whenHandedOver.empty() or whenPrepared.empty() or whenHandedOver >= whenPrepared';
    const values = [
      '2020-03-01T10:00:00+01:00', '2020-03-01T09:00:00Z', '2020-03-01T10:00:00+02:00', '2020-03-01T10:00:00.5+01:00',
      '2020-03-01T10:00:00.123456+01:00', '2020-03-01T10:00:00-00:30', '2020-03-01T10:00:00+00:30', '2020-03-01T10:00:00+14:00',
      '2020-02-29T23:59:59+01:00', '2019-02-29T10:00:00+01:00', '2020-04-31T10:00:00Z', '2020-03-01T10:00:60Z', '0050-03-01T10:00:00Z',
      '1950-03-01T10:00:00Z', '2020-03-01T10:00+01:00', '2020-03-01', '2020-03-01T10:00:00', '2020-03', 'not a date', '',
    ];
    const nodes: unknown[] = [];
    for (const a of values) for (const b of values) nodes.push({ resourceType: 'MedicationDispense', whenHandedOver: a, whenPrepared: b });
    nodes.push({ resourceType: 'MedicationDispense', whenHandedOver: ['2020-03-01T10:00:00Z'], whenPrepared: '2020-03-01T11:00:00Z' });
    nodes.push({ resourceType: 'MedicationDispense', whenHandedOver: 5, whenPrepared: '2020-03-01T11:00:00Z' });
    nodes.push({ resourceType: 'MedicationDispense', whenHandedOver: '2020-03-01T10:00:00Z', _whenPrepared: { extension: [] } });
    const { generated, verdicts } = agree(mdd1, 'MedicationDispense', nodes);
    // the 11 seconds-precision values with a zone (fractions, -00:30, year 0050 included) are answered here
    expect(generated).toBeGreaterThanOrEqual(11 * 11);
    expect(verdicts).toEqual(new Set([true, false]));
    const fn = generateInvariant(mdd1, 'MedicationDispense')!;
    expect(fn({ resourceType: 'MedicationDispense', whenHandedOver: '2020-03-01T10:00:00+01:00', whenPrepared: '2020-03-01T09:30:00Z' }, {})).toBe(false);
    expect(fn({ resourceType: 'MedicationDispense', whenHandedOver: '2020-03-01T10:00:00+01:00', whenPrepared: '2020-03-01T09:00:00Z' }, {})).toBe(true);
    // precisions that differ, or an impossible day, are left to fhirpath.js
    expect(fn({ resourceType: 'MedicationDispense', whenHandedOver: '2020-03-01', whenPrepared: '2020-03-01T09:00:00Z' }, {})).toBeUndefined();
    expect(fn({ resourceType: 'MedicationDispense', whenHandedOver: '2019-02-29T10:00:00Z', whenPrepared: '2020-03-01T09:00:00Z' }, {})).toBeUndefined();
  });

  it('con-3: a CodeableConcept compared with a string is never equal; non-object items are handed over', () => {
    const con3 = "clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code = 'entered-in-error').exists() or category.select($this='problem-list-item').empty()";
    const cc = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] };
    const entered = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' }] };
    const nodes: unknown[] = [];
    for (const category of [undefined, [], [cc], [cc, cc], cc, ['problem-list-item'], [null], [{}]]) {
      for (const verificationStatus of [undefined, entered, { coding: [] }]) {
        for (const clinicalStatus of [undefined, cc]) nodes.push({ resourceType: 'Condition', category, verificationStatus, clinicalStatus });
      }
    }
    const { generated, verdicts } = agree(con3, 'Condition', nodes);
    expect(generated).toBeGreaterThanOrEqual(36);
    expect(verdicts).toEqual(new Set([true, false]));
    const fn = generateInvariant("category.select($this != 'x').exists()", 'Condition')!;
    expect(fn({ resourceType: 'Condition', category: [cc] }, {})).toBe(true);
    expect(fn({ resourceType: 'Condition', category: [] }, {})).toBe(false);
    expect(generateInvariant("category.select($this='problem-list-item').empty()", 'Condition')!({ resourceType: 'Condition', category: ['problem-list-item'] }, {})).toBeUndefined();
  });
});
