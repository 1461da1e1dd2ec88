/** Slicing: every discriminator type, open/closed/openAtEnd, ordered, reslicing and slice cardinalities. */
import { describe, expect, it } from 'vitest';
import { CORE, expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const CS = 'http://fhirdq.test/CodeSystem/bp';
const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';
const HOSPITAL_A = 'http://hospital-a.nl/mrn';
const HOSPITAL_B = 'http://hospital-b.nl/mrn';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

const id = (path: string, extra: Record<string, unknown> = {}) => ({ id: path, path: path.replace(/:[^.]+/g, ''), ...extra });
const slice = (path: string, extra: Record<string, unknown> = {}) => id(path, { sliceName: path.slice(path.lastIndexOf(':') + 1), ...extra });

const validator = useValidator([
  profile('SlicePatient', 'Patient', [
    id('Patient.identifier', { slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } }),
    slice('Patient.identifier:bsn', { min: 1, max: '1' }),
    id('Patient.identifier:bsn.system', { min: 1, fixedUri: BSN }),
    id('Patient.telecom', { slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'closed' } }),
    slice('Patient.telecom:phone', { max: '*' }),
    id('Patient.telecom:phone.system', { min: 1, fixedCode: 'phone' }),
    slice('Patient.telecom:email', { max: '1' }),
    id('Patient.telecom:email.system', { min: 1, fixedCode: 'email' }),
    id('Patient.address', { slicing: { discriminator: [{ type: 'exists', path: 'postalCode' }], rules: 'open' } }),
    slice('Patient.address:postal', { min: 1, max: '1' }),
    id('Patient.address:postal.postalCode', { min: 1 }),
  ]),
  profile('TwinSlicePatient', 'Patient', [
    id('Patient.identifier', { slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'closed' } }),
    slice('Patient.identifier:first', { max: '1' }),
    id('Patient.identifier:first.system', { min: 1, fixedUri: BSN }),
    slice('Patient.identifier:second', { min: 1, max: '1' }),
    id('Patient.identifier:second.system', { min: 1, fixedUri: BSN }),
  ]),
  profile('PositionPatient', 'Patient', [
    id('Patient.name', { slicing: { discriminator: [{ type: 'position', path: '$this' }], rules: 'open' } }),
    slice('Patient.name:first', { min: 1, max: '1' }),
    id('Patient.name:first.family', { min: 1 }),
    slice('Patient.name:rest', { max: '*' }),
  ]),
  profile('ReslicePatient', 'Patient', [
    id('Patient.identifier', { slicing: { discriminator: [{ type: 'pattern', path: 'type' }], rules: 'open' } }),
    slice('Patient.identifier:mrn', { max: '*', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'closed' } }),
    id('Patient.identifier:mrn.type', { min: 1, patternCodeableConcept: { coding: [{ system: V2_0203, code: 'MR' }] } }),
    slice('Patient.identifier:mrn/hospitalA', { max: '1' }),
    id('Patient.identifier:mrn/hospitalA.system', { min: 1, fixedUri: HOSPITAL_A }),
    slice('Patient.identifier:mrn/hospitalB', { max: '1' }),
    id('Patient.identifier:mrn/hospitalB.system', { min: 1, fixedUri: HOSPITAL_B }),
  ]),
  profile('BloodPressure', 'Observation', [
    id('Observation.component', { slicing: { discriminator: [{ type: 'pattern', path: 'code' }], ordered: true, rules: 'openAtEnd' } }),
    slice('Observation.component:systolic', { min: 1, max: '1' }),
    id('Observation.component:systolic.code', { patternCodeableConcept: { coding: [{ system: CS, code: 'sys' }] } }),
    slice('Observation.component:diastolic', { min: 1, max: '1' }),
    id('Observation.component:diastolic.code', { patternCodeableConcept: { coding: [{ system: CS, code: 'dia' }] } }),
  ]),
  profile('QuantityOnly', 'Observation', [
    id('Observation.value[x]', { slicing: { discriminator: [{ type: 'type', path: '$this' }], rules: 'closed' } }),
    slice('Observation.value[x]:valueQuantity', { type: [{ code: 'Quantity' }] }),
  ]),
  profile('ContainedPatientOnly', 'Observation', [
    id('Observation.contained', { slicing: { discriminator: [{ type: 'type', path: '$this' }], rules: 'closed' } }),
    slice('Observation.contained:patient', { type: [{ code: 'Resource', profile: [CORE + 'Patient'] }] }),
  ]),
  profile('NamedPatient', 'Patient', [id('Patient.name', { min: 1 })]),
  profile('PatientList', 'List', [
    id('List.entry', { slicing: { discriminator: [{ type: 'profile', path: 'item.resolve()' }], rules: 'open' } }),
    slice('List.entry:named', { min: 1 }),
    id('List.entry:named.item', { type: [{ code: 'Reference', targetProfile: [TEST + 'NamedPatient'] }] }),
  ]),
  profile('SealedParameters', 'Parameters', [
    id('Parameters.parameter', { slicing: { discriminator: [{ type: 'value', path: 'name' }], rules: 'open' } }),
    id('Parameters.parameter.extension', { max: '0' }),
    slice('Parameters.parameter:param1', { max: '1' }),
    id('Parameters.parameter:param1.name', { fixedString: 'param1' }),
  ]),
  profile('PatientBundle', 'Bundle', [
    id('Bundle.entry', { slicing: { discriminator: [{ type: 'profile', path: 'resource' }], rules: 'open' } }),
    slice('Bundle.entry:named', { min: 1, max: '1' }),
    id('Bundle.entry:named.resource', { type: [{ code: 'Resource', profile: [TEST + 'NamedPatient'] }] }),
  ]),
]);
const check = (resource: Record<string, unknown>, name?: string) => validator().validateToIssues(resource as never, { profile: name ? TEST + name : undefined });

const patient = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  identifier: [{ system: BSN, value: '999911120' }],
  address: [{ city: 'Utrecht', postalCode: '3511 AA' }],
  ...extra,
});

describe('value discriminator', () => {
  it('requires a slice with min 1 and leaves other items alone when open', () => {
    const issues = check(patient({ identifier: [{ system: 'http://other.nl', value: '1' }] }), 'SlicePatient');
    expectIssue(issues, 'slice-min', 'Patient');
    expectNoErrors(check(patient({ identifier: [{ system: 'http://other.nl', value: '1' }, { system: BSN, value: '2' }] }), 'SlicePatient'));
  });

  it('an item goes to the first slice its value matches, also when a later slice fixes the same value', () => {
    const one = check(patient(), 'TwinSlicePatient');
    expect(one.filter((i) => i.messageId === 'slice-min').map((i) => i.message)).toEqual([expect.stringContaining(':second')]);
    const two = check(patient({ identifier: [{ system: BSN, value: '1' }, { system: BSN, value: '2' }] }), 'TwinSlicePatient');
    expect(found(two).map((i) => i.messageId)).toContain('slice-max');
    expect(found(two).map((i) => i.messageId)).not.toContain('slice-no-match-closed');
  });

  it('counts a slice towards its max', () => {
    const issues = check(patient({ identifier: [{ system: BSN, value: '1' }, { system: BSN, value: '2' }] }), 'SlicePatient');
    expectIssue(issues, 'slice-max', 'Patient');
    expect(found(check(patient(), 'SlicePatient')).map((i) => i.messageId)).not.toContain('slice-max');
  });

  it('closed: an item that matches no slice is an error at the item', () => {
    const issues = check(patient({ telecom: [{ system: 'phone', value: '1' }, { system: 'fax', value: '2' }] }), 'SlicePatient');
    expectIssue(issues, 'slice-no-match-closed', 'Patient.telecom[1]');
    expect(found(issues).map((i) => i.path)).not.toContain('Patient.telecom[0]');
    expectNoErrors(check(patient({ telecom: [{ system: 'phone', value: '1' }, { system: 'email', value: 'a@b.nl' }, { system: 'phone', value: '3' }] }), 'SlicePatient'));
  });

  it('an open slicing is not closed: unmatched items are valid', () => {
    expectNoErrors(check(patient({ identifier: [{ system: BSN, value: '1' }, { system: 'http://x.nl', value: '2' }, { value: '3' }] }), 'SlicePatient'));
  });
});

describe('exists discriminator', () => {
  it('matches items by the presence of an element', () => {
    const issues = check(patient({ address: [{ city: 'Utrecht' }] }), 'SlicePatient');
    expectIssue(issues, 'slice-min', 'Patient');
    expectNoErrors(check(patient({ address: [{ city: 'Utrecht' }, { postalCode: '3511 AA' }] }), 'SlicePatient'));
  });
});

describe('pattern discriminator, ordered, openAtEnd', () => {
  const component = (code: string) => ({ code: { coding: [{ system: CS, code }] }, valueQuantity: { value: 120, unit: 'mm[Hg]' } });
  const bp = (...components: unknown[]) => ({ resourceType: 'Observation', status: 'final', code: { text: 'bloeddruk' }, component: components });

  it('finds slices by pattern and requires each', () => {
    expectNoErrors(check(bp(component('sys'), component('dia')), 'BloodPressure'));
    expectIssue(check(bp(component('sys')), 'BloodPressure'), 'slice-min', 'Observation');
  });

  it('ordered: slices must come in the order of the profile', () => {
    expectIssue(check(bp(component('dia'), component('sys')), 'BloodPressure'), 'slice-order', 'Observation.component[1]');
  });

  it('openAtEnd: unsliced items may only follow the slices', () => {
    expectNoErrors(check(bp(component('sys'), component('dia'), component('pulse')), 'BloodPressure'));
    expectIssue(check(bp(component('sys'), component('pulse'), component('dia')), 'BloodPressure'), 'slice-open-at-end', 'Observation.component[2]');
  });
});

describe('type discriminator', () => {
  it('slices a choice by type; closed rejects the other types', () => {
    const obs = (value: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...value });
    expectIssue(check(obs({ valueString: '70 kg' }), 'QuantityOnly'), 'slice-no-match-closed', 'Observation.valueString');
    expectNoErrors(check(obs({ valueQuantity: { value: 70, unit: 'kg' } }), 'QuantityOnly'));
  });

  it('slices contained resources by resource type', () => {
    const obs = (contained: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, contained: [contained], subject: { reference: '#s' } });
    expectIssue(check(obs({ resourceType: 'Group', id: 's', type: 'person', actual: true }), 'ContainedPatientOnly'), 'slice-no-match-closed', 'Observation.contained[0]');
    expectNoErrors(check(obs({ resourceType: 'Patient', id: 's' }), 'ContainedPatientOnly'));
  });
});

describe('profile discriminator', () => {
  it('on a resource inside a Bundle entry', () => {
    const bundle = (patientResource: Record<string, unknown>) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520', resource: patientResource }],
    });
    expectIssue(check(bundle({ resourceType: 'Patient', gender: 'male' }), 'PatientBundle'), 'slice-min', 'Bundle');
    expectNoErrors(check(bundle({ resourceType: 'Patient', name: [{ family: 'Jansen' }] }), 'PatientBundle'));
  });

  it('with resolve() into a contained resource', () => {
    const list = (name: unknown) => ({
      resourceType: 'List',
      status: 'current',
      mode: 'working',
      contained: [{ resourceType: 'Patient', id: 'p', ...(name ? { name } : {}) }],
      entry: [{ item: { reference: '#p' } }],
    });
    expectIssue(check(list(undefined), 'PatientList'), 'slice-min', 'List');
    expectNoErrors(check(list([{ family: 'Jansen' }]), 'PatientList'));
  });

  it('with resolve() into another entry of the Bundle, by a relative reference against RESTful fullUrls', () => {
    const bundle = (name: unknown) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'http://fhir.example.nl/fhir/List/l1',
          resource: { resourceType: 'List', id: 'l1', meta: { profile: [TEST + 'PatientList'] }, status: 'current', mode: 'working', entry: [{ item: { reference: 'Patient/p1' } }] },
        },
        { fullUrl: 'http://fhir.example.nl/fhir/Patient/p1', resource: { resourceType: 'Patient', id: 'p1', ...(name ? { name } : {}) } },
      ],
    });
    expectIssue(check(bundle(undefined)), 'slice-min', 'Bundle.entry[0].resource');
    expectNoErrors(check(bundle([{ family: 'Jansen' }])));
  });
});

describe('position discriminator', () => {
  it('the first item is the first slice, whatever its content', () => {
    const issues = check({ resourceType: 'Patient', name: [{ given: ['Jan'] }, { family: 'Jansen' }] }, 'PositionPatient');
    expectIssue(issues, 'cardinality-min', 'Patient.name[0]');
    expectNoErrors(check({ resourceType: 'Patient', name: [{ family: 'Jansen' }, { given: ['Jan'] }] }, 'PositionPatient'));
  });
});

describe('reslicing', () => {
  const mrn = (system: string, value: string) => ({ type: { coding: [{ system: V2_0203, code: 'MR' }] }, system, value });

  it('a closed reslice rejects items of its slice that match no reslice', () => {
    const issues = check({ resourceType: 'Patient', identifier: [mrn(HOSPITAL_A, '1'), mrn('http://hospital-c.nl/mrn', '2')] }, 'ReslicePatient');
    expectIssue(issues, 'slice-no-match-closed', 'Patient.identifier[1]');
    // Items outside the slice are not subject to the reslice's closed rule.
    expectNoErrors(check({ resourceType: 'Patient', identifier: [mrn(HOSPITAL_A, '1'), mrn(HOSPITAL_B, '2'), { system: 'http://x.nl', value: '3' }] }, 'ReslicePatient'));
  });

  it('reslice cardinality counts all items of the slice', () => {
    const issues = check({ resourceType: 'Patient', identifier: [mrn(HOSPITAL_A, '1'), mrn(HOSPITAL_A, '2')] }, 'ReslicePatient');
    expect(found(issues).map((i) => i.messageId)).toContain('slice-max');
    expectNoErrors(check({ resourceType: 'Patient', identifier: [mrn(HOSPITAL_A, '1')] }, 'ReslicePatient'));
  });
});

describe('constraints of the sliced element itself', () => {
  const extension = [{ url: 'http://example.org/fhir/StructureDefinition/note', valueString: 'x' }];
  const params = (...parameter: unknown[]) => ({ resourceType: 'Parameters', parameter });
  const cardinality = (issues: ReturnType<typeof check>) => issues.filter((i) => i.messageId === 'cardinality-max').map((i) => i.message.slice(0, i.message.indexOf(': max')));

  it('an item in a slice breaks them under the slice id and the sliced element id, as in Java', () => {
    const issues = check(params({ name: 'param1', valueString: 'a', extension }), 'SealedParameters');
    expect(cardinality(issues)).toEqual(['Parameters.parameter:param1.extension', 'Parameters.parameter.extension']);
  });

  it('an item outside the slices breaks them once, and a clean item not at all', () => {
    expect(cardinality(check(params({ name: 'other', valueString: 'a', extension }), 'SealedParameters'))).toEqual(['Parameters.parameter.extension']);
    expectNoErrors(check(params({ name: 'param1', valueString: 'a' }, { name: 'other', valueString: 'b' }), 'SealedParameters'));
  });
});
