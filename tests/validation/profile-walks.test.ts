/**
 * A resource with a profile is walked against its type and against the profile. What the profile leaves as its type
 * has it (a datatype's children, a Bundle entry's resource) is walked once (instance-validator.ts walkedChildren,
 * walkedResources); what the profile constrains is walked against the profile too.
 */
import { describe, expect, it } from 'vitest';
import { found, profile, TEST, useValidator } from './helpers.js';

const TEXTED = TEST + 'TextedStatusPatient';
const STAMPED = TEST + 'StampedBundle';

const validator = useValidator([
  // Root children of its own (gender 1..1), and inside one datatype (maritalStatus.text 1..1); the rest as the core has it.
  profile('TextedStatusPatient', 'Patient', [
    { id: 'Patient.gender', path: 'Patient.gender', min: 1 },
    { id: 'Patient.maritalStatus', path: 'Patient.maritalStatus' },
    { id: 'Patient.maritalStatus.text', path: 'Patient.maritalStatus.text', min: 1 },
  ]),
  profile('StampedBundle', 'Bundle', [{ id: 'Bundle.timestamp', path: 'Bundle.timestamp', min: 1 }]),
]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(structuredClone(resource) as never);
const keys = (issues: ReturnType<typeof check>) => found(issues).map((i) => `${i.messageId} @ ${i.path}`);

// Issues inside datatypes the profile does not constrain: a URI with a space, a period ending before it starts.
const patient = (meta?: Record<string, unknown>) => ({
  resourceType: 'Patient',
  ...(meta ? { meta } : {}),
  maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3 MaritalStatus', code: 'M' }] },
  name: [{ family: 'Jansen', period: { start: '2020-01-01', end: '2010-01-01' } }],
});

describe('walks of a resource and its profile', () => {
  it('report the issues of unconstrained datatypes once, as without the profile, and the profile’s own', () => {
    const plain = keys(check(patient()));
    const inside = plain.filter((k) => k.includes('.coding[0].system') || k.includes('.name[0].period'));
    expect(inside).toEqual(['primitive-uri-whitespace @ Patient.maritalStatus.coding[0].system', 'constraint-per-1 @ Patient.name[0].period']);
    const profiled = keys(check(patient({ profile: [TEXTED] })));
    expect(profiled.filter((k) => k.includes('.coding[0].system') || k.includes('.name[0].period'))).toEqual(inside);
    // What only the profile asks, also inside the datatype whose children the base walk walked.
    expect(profiled).toContain('cardinality-min @ Patient');
    expect(profiled).toContain('cardinality-min @ Patient.maritalStatus');
    expect(profiled.filter((k) => !plain.includes(k))).toEqual(['cardinality-min @ Patient.maritalStatus', 'cardinality-min @ Patient']);
  });

  it('report each place of an object that a resource made in code holds at two places', () => {
    const period = { start: '2020-13-01' };
    const shared = { resourceType: 'Patient', meta: { profile: [TEXTED] }, name: [{ family: 'A', period }, { family: 'B', period }] };
    const issues = keys(validator().validateToIssues(shared as never));
    expect(issues.filter((k) => k.includes('.period'))).toEqual(['primitive-datetime @ Patient.name[0].period.start', 'primitive-datetime @ Patient.name[1].period.start']);
  });

  it('report a Bundle entry’s issues once when the Bundle has a profile', () => {
    const entry = { fullUrl: 'urn:uuid:0b3c5e2a-1d4f-4c6e-9a7b-2f1e3d5c7a90', resource: { ...patient({ profile: [TEXTED] }), id: 'p1' } };
    const bundle = (meta?: Record<string, unknown>) => ({ resourceType: 'Bundle', ...(meta ? { meta } : {}), type: 'collection', entry: [entry] });
    const plain = keys(check(bundle()));
    const entryIssues = plain.filter((k) => k.includes('Bundle.entry[0].resource'));
    expect(entryIssues).toEqual(expect.arrayContaining([
      'primitive-uri-whitespace @ Bundle.entry[0].resource.maritalStatus.coding[0].system',
      'cardinality-min @ Bundle.entry[0].resource.maritalStatus',
    ]));
    const profiled = keys(check(bundle({ profile: [STAMPED] })));
    expect(profiled.filter((k) => k.includes('Bundle.entry[0].resource'))).toEqual(entryIssues);
    expect(profiled.filter((k) => !plain.includes(k))).toEqual(['cardinality-min @ Bundle']);
  });
});
