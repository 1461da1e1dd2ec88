/** fixed[x] (exact, no extra content) and pattern[x] (at least this content; arrays match item by item). */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const CS = 'http://fhirdq.test/CodeSystem/test';
const OBS = TEST + 'FixedObservation';
const NO_COMPARATOR = TEST + 'NoComparatorObservation';
const PAT = TEST + 'PatternPatient';
const ENC = TEST + 'PatternEncounter';

const validator = useValidator([
  profile('FixedObservation', 'Observation', [
    { id: 'Observation.status', path: 'Observation.status', fixedCode: 'final' },
    { id: 'Observation.code', path: 'Observation.code', patternCodeableConcept: { coding: [{ system: CS, code: 'weight' }] } },
    { id: 'Observation.method', path: 'Observation.method', fixedCodeableConcept: { coding: [{ system: CS, code: 'scale' }] } },
    { id: 'Observation.value[x]', path: 'Observation.value[x]', type: [{ code: 'Quantity' }], patternQuantity: { system: 'http://unitsofmeasure.org', code: 'kg' } },
  ]),
  profile('NoComparatorObservation', 'Observation', [
    { id: 'Observation.value[x]', path: 'Observation.value[x]', type: [{ code: 'Quantity' }], patternQuantity: { system: 'http://unitsofmeasure.org', code: 'kg' } },
    { id: 'Observation.valueQuantity.comparator', path: 'Observation.valueQuantity.comparator', max: '0' },
  ]),
  profile('PatternPatient', 'Patient', [
    { id: 'Patient.identifier', path: 'Patient.identifier', min: 1, patternIdentifier: { system: 'http://fhir.nl/fhir/NamingSystem/bsn' } },
    { id: 'Patient.gender', path: 'Patient.gender', patternCode: 'female' },
    { id: 'Patient.telecom.system', path: 'Patient.telecom.system', fixedCode: 'phone' },
  ]),
  profile('PatternEncounter', 'Encounter', [
    { id: 'Encounter.class', path: 'Encounter.class', patternCoding: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } },
  ]),
]);
const check = (resource: Record<string, unknown>, profileUrl: string) => validator().validateToIssues(resource as never, { profile: profileUrl });

const observation = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: CS, code: 'weight' }] },
  method: { coding: [{ system: CS, code: 'scale' }] },
  valueQuantity: { value: 70, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  ...extra,
});
const patient = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999911120' }], ...extra });

describe('fixed values', () => {
  it('fixes a primitive code', () => {
    expectIssue(check(observation({ status: 'preliminary' }), OBS), 'fixed-value', 'Observation.status');
    expectNoErrors(check(observation(), OBS));
  });

  it('fixes a primitive inside a repeating datatype, per item', () => {
    const issues = check(patient({ telecom: [{ system: 'phone', value: '010' }, { system: 'email', value: 'a@b.nl' }] }), PAT);
    expectIssue(issues, 'fixed-value', 'Patient.telecom[1].system');
    expect(found(issues).map((i) => i.path)).not.toContain('Patient.telecom[0].system');
    expectNoErrors(check(patient({ telecom: [{ system: 'phone', value: '010' }] }), PAT));
  });

  it('does not require a fixed element to be present', () => {
    expectNoErrors(check(patient(), PAT));
    const { method: _omitted, ...withoutMethod } = observation();
    expectNoErrors(check(withoutMethod, OBS));
  });

  it('rejects a different value inside a fixed complex value', () => {
    const issues = check(observation({ method: { coding: [{ system: CS, code: 'tape' }] } }), OBS);
    expectIssue(issues, 'fixed-value', 'Observation.method.coding[0].code');
  });

  it('rejects an extra element next to a fixed complex value', () => {
    const issues = check(observation({ method: { coding: [{ system: CS, code: 'scale' }], text: 'weegschaal' } }), OBS);
    expectIssue(issues, 'fixed-extra-element', 'Observation.method.text');
  });

  it('rejects extra content inside the items of a fixed array', () => {
    const issues = check(observation({ method: { coding: [{ system: CS, code: 'scale', display: 'Scale' }] } }), OBS);
    expectIssue(issues, 'fixed-extra-element', 'Observation.method.coding[0].display');
  });

  it('rejects an extra item in a fixed array', () => {
    const issues = check(observation({ method: { coding: [{ system: CS, code: 'scale' }, { system: CS, code: 'other' }] } }), OBS);
    expect(found(issues).filter((i) => i.messageId.startsWith('fixed-') && i.path.startsWith('Observation.method.coding'))).not.toEqual([]);
    expectNoErrors(check(observation(), OBS));
  });
});

describe('patterns', () => {
  it('CodeableConcept: the pattern coding must be among the codings, in any order, with extras allowed', () => {
    const extra = observation({ code: { coding: [{ system: 'http://fhirdq.test/other', code: 'x' }, { system: CS, code: 'weight', display: 'Weight' }], text: 'gewicht' } });
    expectNoErrors(check(extra, OBS));
    const issues = check(observation({ code: { coding: [{ system: CS, code: 'height' }] } }), OBS);
    expectIssue(issues, 'pattern-value', 'Observation.code');
  });

  it('CodeableConcept: a coding matches only when all pattern properties sit in the same coding', () => {
    const split = observation({ code: { coding: [{ system: CS, code: 'height' }, { system: 'http://fhirdq.test/other', code: 'weight' }] } });
    expectIssue(check(split, OBS), 'pattern-value', 'Observation.code');
  });

  it('Coding', () => {
    const encounter = (code: string) => ({ resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code, display: 'x' } });
    expectIssue(check(encounter('IMP'), ENC), 'pattern-value', 'Encounter.class');
    expect(found(check(encounter('AMB'), ENC)).map((i) => i.messageId)).not.toContain('pattern-value');
  });

  it('Identifier on a repeating element: every item must match', () => {
    const issues = check(patient({ identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '1' }, { system: 'urn:oid:2.16.528.1.1007.3.3', value: '2' }] }), PAT);
    expectIssue(issues, 'pattern-value', 'Patient.identifier[1]');
    expectNoErrors(check(patient({ identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '1', use: 'official' }] }), PAT));
  });

  it('primitive pattern', () => {
    expectIssue(check(patient({ gender: 'male' }), PAT), 'pattern-value', 'Patient.gender');
    expectNoErrors(check(patient({ gender: 'female' }), PAT));
  });

  it('Quantity pattern on a choice', () => {
    const grams = observation({ valueQuantity: { value: 70000, system: 'http://unitsofmeasure.org', code: 'g' } });
    expectIssue(check(grams, OBS), 'pattern-value', 'Observation.valueQuantity');
    expectNoErrors(check(observation(), OBS));
  });

  it('Quantity pattern on a choice whose renamed child (valueQuantity.comparator) is also constrained', () => {
    const grams = observation({ valueQuantity: { value: 70000, system: 'http://unitsofmeasure.org', code: 'g' } });
    expectIssue(check(grams, NO_COMPARATOR), 'pattern-value', 'Observation.valueQuantity');
    const comparator = observation({ valueQuantity: { value: 70, comparator: '<', system: 'http://unitsofmeasure.org', code: 'kg' } });
    expectIssue(check(comparator, NO_COMPARATOR), 'cardinality-max', 'Observation.valueQuantity');
    expectNoErrors(check(observation(), NO_COMPARATOR));
  });
});
