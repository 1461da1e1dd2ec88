/** Cardinality on core definitions and on profiles, and choice types. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const PATIENT = TEST + 'CardPatient';
const OBSERVATION = TEST + 'CardObservation';

const validator = useValidator([
  profile('CardPatient', 'Patient', [
    { id: 'Patient.identifier', path: 'Patient.identifier', min: 1, max: '2' },
    { id: 'Patient.name', path: 'Patient.name', min: 1 },
    { id: 'Patient.photo', path: 'Patient.photo', max: '0' },
    { id: 'Patient.deceased[x]', path: 'Patient.deceased[x]', type: [{ code: 'boolean' }] },
    { id: 'Patient.contact.name', path: 'Patient.contact.name', min: 1 },
  ]),
  profile('CardObservation', 'Observation', [
    { id: 'Observation.subject', path: 'Observation.subject', min: 1 },
    { id: 'Observation.value[x]', path: 'Observation.value[x]', min: 1, type: [{ code: 'Quantity' }] },
  ]),
]);
const check = (resource: Record<string, unknown>, profileUrl?: string) => validator().validateToIssues(resource as never, { profile: profileUrl });

const observation = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code: { text: 'gewicht' }, ...extra });
const patient = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999911120' }], name: [{ family: 'Jansen' }], ...extra });

describe('core cardinality', () => {
  it('requires the mandatory elements of the resource', () => {
    const issues = check({ resourceType: 'Observation', code: { text: 'x' } });
    expectIssue(issues, 'cardinality-min', 'Observation');
    expect(found(issues).filter((i) => i.messageId === 'cardinality-min')).toHaveLength(1);
    expectNoErrors(check(observation()));
  });

  it('counts a required primitive that carries only extensions as present', () => {
    const absent = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
    const issues = check({ resourceType: 'Observation', _status: absent, code: { text: 'x' } });
    expect(found(issues).map((i) => i.messageId)).not.toContain('cardinality-min');
    // Present, but status's required value set wants a code (as the reference says).
    expectIssue(issues, 'binding-required-no-code', 'Observation.status');
    expectIssue(check({ resourceType: 'Observation', code: { text: 'x' } }), 'cardinality-min', 'Observation');
  });

  it('requires the mandatory elements of a backbone element, at the backbone path', () => {
    const issues = check({ resourceType: 'Patient', link: [{ type: 'seealso' }] });
    expectIssue(issues, 'cardinality-min', 'Patient.link[0]');
    expectNoErrors(check({ resourceType: 'Patient', link: [{ type: 'seealso', other: { reference: 'Patient/2' } }] }));
  });

  it('requires the mandatory elements of a datatype', () => {
    const issues = check(observation({ component: [{ valueString: 'x' }] }));
    expectIssue(issues, 'cardinality-min', 'Observation.component[0]');
    expectNoErrors(check(observation({ component: [{ code: { text: 'c' }, valueString: 'x' }] })));
  });
});

describe('profile cardinality', () => {
  it('raises a minimum', () => {
    const issues = check({ resourceType: 'Patient', identifier: [{ value: '1' }] }, PATIENT);
    expectIssue(issues, 'cardinality-min', 'Patient');
    expectNoErrors(check(patient(), PATIENT));
    // Without the profile the same resource is valid.
    expectNoErrors(check({ resourceType: 'Patient', identifier: [{ value: '1' }] }));
  });

  it('lowers a maximum', () => {
    const three = patient({ identifier: [{ value: '1' }, { value: '2' }, { value: '3' }] });
    expectIssue(check(three, PATIENT), 'cardinality-max', 'Patient');
    expectNoErrors(check(patient({ identifier: [{ value: '1' }, { value: '2' }] }), PATIENT));
  });

  it('prohibits an element with max 0', () => {
    const issues = check(patient({ photo: [{ contentType: 'image/png' }] }), PATIENT);
    expectIssue(issues, 'cardinality-max', 'Patient');
    expectNoErrors(check(patient({ photo: [{ contentType: 'image/png' }] })));
  });

  it('constrains elements inside backbone elements', () => {
    const issues = check(patient({ contact: [{ name: { family: 'Visser' } }, { gender: 'male' }] }), PATIENT);
    expectIssue(issues, 'cardinality-min', 'Patient.contact[1]');
    expect(found(issues).map((i) => i.path)).not.toContain('Patient.contact[0]');
    expectNoErrors(check(patient({ contact: [{ name: { family: 'Visser' } }] }), PATIENT));
  });

  it('applies profiles declared in meta.profile', () => {
    const declared = { resourceType: 'Observation', meta: { profile: [OBSERVATION] }, status: 'final', code: { text: 'x' } };
    const issues = check(declared);
    expectIssue(issues, 'cardinality-min', 'Observation');
    expectNoErrors(check({ ...declared, subject: { reference: 'Patient/1' }, valueQuantity: { value: 70, unit: 'kg' } }));
  });
});

describe('choice types', () => {
  it('accepts the types of the core definition and rejects others', () => {
    expectNoErrors(check(observation({ valueQuantity: { value: 1 } })));
    expectNoErrors(check(observation({ valueCodeableConcept: { text: 'positief' } })));
    const issues = check(observation({ valueCoding: { code: 'x' } }));
    expectIssue(issues, 'choice-type-not-allowed', 'Observation.valueCoding');
    // The type suffix is case sensitive.
    expectIssue(check(observation({ valueboolean: true })), 'unknown-element', 'Observation.valueboolean');
  });

  it('rejects types the profile removes', () => {
    const issues = check(observation({ subject: { reference: 'Patient/1' }, valueString: '70 kg' }), OBSERVATION);
    expectIssue(issues, 'choice-type-not-allowed', 'Observation.valueString');
    expectNoErrors(check(observation({ subject: { reference: 'Patient/1' }, valueQuantity: { value: 70 } }), OBSERVATION));
    expectNoErrors(check(observation({ valueString: '70 kg' })));
  });

  it('restricts a choice on Patient.deceased[x]', () => {
    expectIssue(check(patient({ deceasedDateTime: '2024-01-01' }), PATIENT), 'choice-type-not-allowed', 'Patient.deceasedDateTime');
    expectNoErrors(check(patient({ deceasedBoolean: true }), PATIENT));
  });

  it('allows only one type of a choice at once', () => {
    const issues = check({ resourceType: 'Patient', deceasedBoolean: true, deceasedDateTime: '2024-01-01' });
    expect(found(issues).map((i) => i.messageId)).toContain('choice-multiple');
    const multiple = found(issues).filter((i) => i.messageId === 'choice-multiple');
    expect(multiple.every((i) => i.path.startsWith('Patient.deceased'))).toBe(true);
    expectNoErrors(check({ resourceType: 'Patient', deceasedDateTime: '2024-01-01' }));
  });

  it('counts a choice towards its minimum whatever its type', () => {
    expectIssue(check(observation({ subject: { reference: 'Patient/1' } }), OBSERVATION), 'cardinality-min', 'Observation');
    expect(found(check(observation({ subject: { reference: 'Patient/1' }, valueString: 'x' }), OBSERVATION)).map((i) => i.messageId)).not.toContain('cardinality-min');
  });
});
