/** The walker's per-shape lookups: property matches remembered by key order, and required children found by bits or, past 30, by a scan. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

// 32 MedicationRequest children made required: more than the walker tracks in bits.
const MANY = [
  'identifier', 'statusReason', 'category', 'priority', 'doNotPerform', 'reported[x]', 'encounter', 'supportingInformation',
  'authoredOn', 'requester', 'performer', 'performerType', 'recorder', 'reasonCode', 'reasonReference', 'instantiatesCanonical',
  'instantiatesUri', 'basedOn', 'groupIdentifier', 'courseOfTherapyType', 'insurance', 'note', 'dosageInstruction',
  'dispenseRequest', 'substitution', 'priorPrescription', 'detectedIssue', 'eventHistory', 'language', 'implicitRules', 'meta', 'text',
];
const MANY_REQUIRED = TEST + 'ManyRequired';

const validator = useValidator([
  profile('ManyRequired', 'MedicationRequest', MANY.map((name) => ({ id: `MedicationRequest.${name}`, path: `MedicationRequest.${name}`, min: 1 }))),
]);
const check = (resource: Record<string, unknown>, profileUrl?: string) => validator().validateToIssues(resource as never, { profile: profileUrl });

const ref = { reference: 'Patient/1' };
const concept = { text: 'x' };
/** A MedicationRequest with every element of MANY, but for the names left out. */
function fullRequest(leaveOut: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {
    identifier: [{ value: '1' }], statusReason: concept, category: [concept], priority: 'routine', doNotPerform: false, reportedBoolean: false,
    encounter: { reference: 'Encounter/1' }, supportingInformation: [ref], authoredOn: '2020-01-01', requester: ref, performer: ref,
    performerType: concept, recorder: ref, reasonCode: [concept], reasonReference: [{ reference: 'Condition/1' }],
    instantiatesCanonical: ['http://example.org/PlanDefinition/1'], instantiatesUri: ['http://example.org/x'],
    basedOn: [{ reference: 'CarePlan/1' }], groupIdentifier: { value: 'g' }, courseOfTherapyType: concept,
    insurance: [{ reference: 'Coverage/1' }], note: [{ text: 'n' }], dosageInstruction: [{ text: 'd' }],
    dispenseRequest: { numberOfRepeatsAllowed: 1 }, substitution: { allowedBoolean: true }, priorPrescription: { reference: 'MedicationRequest/2' },
    detectedIssue: [{ reference: 'DetectedIssue/1' }], eventHistory: [{ reference: 'Provenance/1' }], language: 'nl', implicitRules: 'http://example.org/rules',
    meta: { versionId: '1' }, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  };
  const resource: Record<string, unknown> = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: concept, subject: ref };
  for (const [key, value] of Object.entries(values)) if (!leaveOut.some((name) => key.startsWith(name))) resource[key] = value;
  return resource;
}

const missing = (issues: ReturnType<typeof check>) => issues.filter((i) => i.messageId === 'cardinality-min').map((i) => i.message.split(':')[0]);

describe('required children past the bits', () => {
  it('finds each absent one, the first and the last of the list alike, in definition order', () => {
    expect(missing(check(fullRequest([]), MANY_REQUIRED))).toEqual([]);
    expect(missing(check(fullRequest(['identifier', 'text', 'note']), MANY_REQUIRED))).toEqual([
      'MedicationRequest.text', 'MedicationRequest.identifier', 'MedicationRequest.note',
    ]);
  });

  it('counts a choice element present under any of its names', () => {
    expect(missing(check({ ...fullRequest(['reported']), reportedReference: ref }, MANY_REQUIRED))).toEqual([]);
  });
});

describe('property matches by key order', () => {
  it('gives the same findings whatever order the properties come in', () => {
    const a = check({ resourceType: 'Patient', name: [{ family: 'A', given: ['B'], use: 'official' }, { use: 'nickname', given: ['C'], family: 'D', bogus: 1 }] });
    expectIssue(a, 'unknown-element', 'Patient.name[1].bogus');
    const b = check({ resourceType: 'Patient', name: [{ bogus: 1, use: 'nickname', given: ['C'], family: 'D' }, { family: 'A', use: 'official', given: ['B'] }] });
    expectIssue(b, 'unknown-element', 'Patient.name[0].bogus');
    expect(found(a, 'error')).toHaveLength(1);
    expect(found(b, 'error')).toHaveLength(1);
  });

  it('does not count the _name of a complex element as the element, where the order was learned with the element', () => {
    expectNoErrors(check({ resourceType: 'Observation', status: 'final', code: concept }));
    const issues = check({ resourceType: 'Observation', status: 'final', _code: concept });
    expectIssue(issues, 'unknown-element', 'Observation._code');
    expectIssue(issues, 'cardinality-min', 'Observation');
  });

  it('reports a choice type that is not allowed each time, also once its name was met before', () => {
    for (let k = 0; k < 2; k++) {
      const issues = check({ resourceType: 'Observation', status: 'final', code: concept, valueFoo: 'x' });
      expectIssue(issues, 'choice-type-not-allowed', 'Observation.valueFoo');
      expect(found(issues).filter((i) => i.messageId === 'cardinality-min')).toEqual([]);
    }
  });
});
