/** Profiles: meta.profile, the profile option, differential chains (profile on a profile) and min/maxValue. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const NAMED = TEST + 'NamedPatient';
const BSN = TEST + 'BsnPatient';
const ADULT = TEST + 'AdultPatient';
const RANGE = TEST + 'RangeObservation';
const CITY = TEST + 'CityAddress';
const POSTAL = TEST + 'PostalAddress';
const EITHER = TEST + 'EitherAddressPatient';

const validator = useValidator([
  profile('NamedPatient', 'Patient', [{ id: 'Patient.name', path: 'Patient.name', min: 1 }], { version: '1.0' }),
  // A chain of differentials: AdultPatient → BsnPatient → NamedPatient → Patient.
  profile('BsnPatient', 'Patient', [{ id: 'Patient.identifier', path: 'Patient.identifier', min: 1 }], { baseDefinition: NAMED }),
  profile('AdultPatient', 'Patient', [{ id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1, maxValueDate: '2006-01-01' }], { baseDefinition: BSN }),
  // Datatype profiles, and a Patient whose address must meet one of them.
  profile('CityAddress', 'Address', [{ id: 'Address.city', path: 'Address.city', min: 1 }]),
  profile('PostalAddress', 'Address', [{ id: 'Address.postalCode', path: 'Address.postalCode', min: 1 }]),
  profile('EitherAddressPatient', 'Patient', [{ id: 'Patient.address', path: 'Patient.address', type: [{ code: 'Address', profile: [CITY, POSTAL] }] }]),
  profile('RangeObservation', 'Observation', [
    { id: 'Observation.value[x]', path: 'Observation.value[x]', type: [{ code: 'integer' }, { code: 'Quantity' }] },
    { id: 'Observation.valueInteger', path: 'Observation.valueInteger', minValueInteger: 0, maxValueInteger: 10 },
    { id: 'Observation.valueQuantity', path: 'Observation.valueQuantity', minValueQuantity: { value: 1, system: 'http://unitsofmeasure.org', code: 'kg' } },
  ]),
]);
const check = (resource: Record<string, unknown>, profileUrl?: string) => validator().validateToIssues(resource as never, { profile: profileUrl });

const cardinalityMessages = (issues: ReturnType<typeof check>) => issues.filter((i) => i.messageId === 'cardinality-min').map((i) => i.message);

describe('meta.profile', () => {
  it('validates a declared profile that is loaded', () => {
    expectIssue(check({ resourceType: 'Patient', meta: { profile: [NAMED] } }), 'cardinality-min', 'Patient');
    expectNoErrors(check({ resourceType: 'Patient', meta: { profile: [NAMED] }, name: [{ family: 'Jansen' }] }));
  });

  it('resolves a declared profile by url|version', () => {
    expectIssue(check({ resourceType: 'Patient', meta: { profile: [`${NAMED}|1.0`] } }), 'cardinality-min', 'Patient');
    expectNoErrors(check({ resourceType: 'Patient', meta: { profile: [`${NAMED}|1.0`] }, name: [{ family: 'Jansen' }] }));
  });

  it('validates every declared profile', () => {
    const issues = check({ resourceType: 'Patient', meta: { profile: [NAMED, BSN] } });
    expect(cardinalityMessages(issues).some((m) => m.includes('Patient.name'))).toBe(true);
    expect(cardinalityMessages(issues).some((m) => m.includes('Patient.identifier'))).toBe(true);
    expectNoErrors(check({ resourceType: 'Patient', meta: { profile: [NAMED, BSN] }, name: [{ family: 'J' }], identifier: [{ value: '1' }] }));
  });

  it('reports an unknown declared profile as a warning', () => {
    const issues = check({ resourceType: 'Patient', meta: { profile: ['http://fhirdq.test/StructureDefinition/Unknown'] } });
    expectIssue(issues, 'profile-unknown', 'Patient.meta.profile', 'warning');
    expectNoErrors(issues);
    expect(found(check({ resourceType: 'Patient', meta: { profile: [NAMED] }, name: [{ family: 'J' }] })).map((i) => i.messageId)).not.toContain('profile-unknown');
  });
});

describe('the profile option', () => {
  it('validates against the profile asked for', () => {
    expectIssue(check({ resourceType: 'Patient' }, NAMED), 'cardinality-min', 'Patient');
    expectNoErrors(check({ resourceType: 'Patient', name: [{ family: 'Jansen' }] }, NAMED));
    expectNoErrors(check({ resourceType: 'Patient' }));
  });

  it('an unknown profile asked for is an error', () => {
    expect(found(check({ resourceType: 'Patient' }, 'http://fhirdq.test/StructureDefinition/Unknown'), 'error')).toContainEqual({ messageId: 'profile-unknown', path: 'Patient.meta.profile' });
  });

  it('a profile for another resource type is an error', () => {
    expectIssue(check({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }, NAMED), 'profile-wrong-type', 'Observation');
  });
});

describe('a profile on a profile', () => {
  it('enforces the differentials of every ancestor', () => {
    const issues = check({ resourceType: 'Patient' }, ADULT);
    const messages = cardinalityMessages(issues);
    for (const element of ['Patient.name', 'Patient.identifier', 'Patient.birthDate']) {
      expect(messages.some((m) => m.includes(element)), element).toBe(true);
    }
    expectNoErrors(check({ resourceType: 'Patient', name: [{ family: 'J' }], identifier: [{ value: '1' }], birthDate: '1980-05-01' }, ADULT));
  });

  it('a middle profile does not enforce its descendants', () => {
    expectNoErrors(check({ resourceType: 'Patient', name: [{ family: 'J' }], identifier: [{ value: '1' }] }, BSN));
    expectIssue(check({ resourceType: 'Patient', name: [{ family: 'J' }] }, BSN), 'cardinality-min', 'Patient');
  });
});

describe('minValue and maxValue', () => {
  const observation = (value: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'score' }, ...value });

  it('integer bounds', () => {
    expectIssue(check(observation({ valueInteger: 11 }), RANGE), 'max-value', 'Observation.valueInteger');
    expectIssue(check(observation({ valueInteger: -1 }), RANGE), 'min-value', 'Observation.valueInteger');
    expectNoErrors(check(observation({ valueInteger: 0 }), RANGE));
    expectNoErrors(check(observation({ valueInteger: 10 }), RANGE));
  });

  it('Quantity bounds compare in UCUM units', () => {
    const quantity = (value: number, code: string) => observation({ valueQuantity: { value, unit: code, system: 'http://unitsofmeasure.org', code } });
    expectIssue(check(quantity(500, 'g'), RANGE), 'min-value', 'Observation.valueQuantity');
    expectNoErrors(check(quantity(1500, 'g'), RANGE));
    expectNoErrors(check(quantity(1, 'kg'), RANGE));
  });

  it('date bounds, inherited through the chain', () => {
    const adult = (birthDate: string) => ({ resourceType: 'Patient', name: [{ family: 'J' }], identifier: [{ value: '1' }], birthDate });
    expectIssue(check(adult('2010-01-01'), ADULT), 'max-value', 'Patient.birthDate');
    expectNoErrors(check(adult('2005-12-31'), ADULT));
  });
});

describe('type profiles', () => {
  it('a value must conform to one of several type profiles, and each failing choice says why', () => {
    const issues = check({ resourceType: 'Patient', address: [{ line: ['Dorpsstraat 1'] }] }, EITHER);
    expectIssue(issues, 'type-profile-no-match', 'Patient.address[0]');
    const reasons = issues.filter((i) => i.messageId === 'cardinality-min').map((i) => i.message);
    expect(reasons.some((m) => m.includes('Address.city'))).toBe(true);
    expect(reasons.some((m) => m.includes('Address.postalCode'))).toBe(true);
    expectNoErrors(check({ resourceType: 'Patient', address: [{ postalCode: '1234 AB' }] }, EITHER));
    expectNoErrors(check({ resourceType: 'Patient', address: [{ city: 'Zwolle' }] }, EITHER));
  });
});
