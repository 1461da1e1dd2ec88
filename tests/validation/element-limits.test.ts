/**
 * Limits a profile states with extensions of an element definition (minLength, regex, maxDecimalPlaces, maxSize),
 * and ElementDefinition.maxLength, as the reference validator applies them.
 */
import { describe, expect, it } from 'vitest';
import { base64DecodedLength, decimalPlaces } from '../../src/validation/element-limits.js';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const ext = (name: string, value: Record<string, unknown>) => ({ url: `http://hl7.org/fhir/StructureDefinition/${name}`, ...value });

const validator = useValidator([
  profile('LimitedPatient', 'Patient', [
    { id: 'Patient', path: 'Patient' },
    { id: 'Patient.name.family', path: 'Patient.name.family', extension: [ext('minLength', { valueInteger: 3 })] },
    { id: 'Patient.name.given', path: 'Patient.name.given', maxLength: 4 },
    { id: 'Patient.name.text', path: 'Patient.name.text', maxLength: 0 },
    {
      id: 'Patient.identifier.value',
      path: 'Patient.identifier.value',
      extension: [ext('regex', { valueString: '[0-9]{9}' })],
      type: [{ code: 'string', extension: [ext('regex', { valueString: '[0-9]{4}' })] }],
    },
    // A regex on the type alone is not applied, as in the reference.
    { id: 'Patient.identifier.system', path: 'Patient.identifier.system', type: [{ code: 'uri', extension: [ext('regex', { valueString: 'x' })] }] },
    { id: 'Patient.photo', path: 'Patient.photo', extension: [ext('maxSize', { valueInteger: 4 })] },
    { id: 'Patient.photo.data', path: 'Patient.photo.data', extension: [ext('maxSize', { valueInteger: 5 })] },
  ]),
  profile('LimitedObservation', 'Observation', [
    { id: 'Observation', path: 'Observation' },
    { id: 'Observation.value[x]', path: 'Observation.value[x]', type: [{ code: 'Quantity' }], extension: [ext('maxDecimalPlaces', { valueInteger: 1 })] },
    { id: 'Observation.component.value[x]', path: 'Observation.component.value[x]', type: [{ code: 'decimal' }] },
    { id: 'Observation.referenceRange.low.value', path: 'Observation.referenceRange.low.value', extension: [ext('maxDecimalPlaces', { valueInteger: 2 })] },
  ]),
]);

const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);
const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
const patient = (extra: Record<string, unknown>) => check({ resourceType: 'Patient', meta: { profile: [TEST + 'LimitedPatient'] }, text, ...extra });
const observation = (extra: Record<string, unknown>) =>
  check({ resourceType: 'Observation', meta: { profile: [TEST + 'LimitedObservation'] }, text, status: 'final', code: { text: 'x' }, ...extra });
const messages = (issues: ReturnType<typeof check>, messageId: string) => issues.filter((i) => i.messageId === messageId).map((i) => i.message);

describe('minLength and maxLength', () => {
  it('minLength holds every value of the element to a length', () => {
    const issues = patient({ name: [{ family: 'Li' }, { family: 'Jansen' }] });
    expect(found(issues, 'error').filter((i) => i.messageId === 'primitive-too-short')).toEqual([{ messageId: 'primitive-too-short', path: 'Patient.name[0].family' }]);
  });

  it('maxLength counts UTF-16 units, and 0 sets no limit', () => {
    expectIssue(patient({ name: [{ given: ['Anna', 'Johanna'] }] }), 'max-length', 'Patient.name[0].given[1]');
    expectNoErrors(patient({ name: [{ given: ['Anna'], text: 'any length at all' }] }));
  });
});

describe('regex', () => {
  it('must match the whole value; a type’s regex replaces the element’s own', () => {
    const issues = patient({ identifier: [{ value: '1234' }, { value: '123456789' }, { value: '12345' }] });
    expect(found(issues, 'error').filter((i) => i.messageId === 'primitive-regex').map((i) => i.path)).toEqual(['Patient.identifier[1].value', 'Patient.identifier[2].value']);
    expect(messages(issues, 'primitive-regex')[0]).toBe("Element value '123456789' does not meet regex '[0-9]{4}'");
  });

  it('on a type alone is not applied', () => {
    expectNoErrors(patient({ identifier: [{ system: 'http://example.org/ids', value: '1234' }] }));
  });
});

describe('maxDecimalPlaces', () => {
  it('on a Quantity is reported at the Quantity, on a decimal at the decimal', () => {
    const issues = observation({ valueQuantity: { value: 1.25 }, referenceRange: [{ low: { value: 0.125 } }, { low: { value: 0.12 } }] });
    expectIssue(issues, 'decimal-places', 'Observation.valueQuantity');
    expectIssue(issues, 'decimal-places', 'Observation.referenceRange[0].low.value');
    expect(messages(issues, 'decimal-places')).toEqual([
      'Found 2 decimal places which exceeds the stated limit of 1 digits',
      'Found 3 decimal places which exceeds the stated limit of 2 digits',
    ]);
    expectNoErrors(observation({ valueQuantity: { value: 1.5 } }));
  });

  it('counts the places a number has, also written with an exponent', () => {
    expect([decimalPlaces(3), decimalPlaces(0.5), decimalPlaces(1e-7), decimalPlaces(1.5e-7), decimalPlaces(1e21)]).toEqual([0, 1, 7, 8, 0]);
  });
});

describe('maxSize', () => {
  it('holds base64 data to its decoded size, at the data', () => {
    // 8 characters decode to 6 bytes; 4 characters with one '=' to 2.
    expectIssue(patient({ photo: [{ data: 'AAAABBBB', contentType: 'image/png', size: 6 }] }), 'base64-too-long', 'Patient.photo[0].data');
    expect([base64DecodedLength('AAAA'), base64DecodedLength('AAAABBBB'), base64DecodedLength('AAA='), base64DecodedLength('AA AA\n')]).toEqual([3, 6, 2, 3]);
  });

  it('holds an Attachment to its stated or decoded size, at the Attachment', () => {
    expectIssue(patient({ photo: [{ contentType: 'image/png', size: 10 }] }), 'attachment-too-long', 'Patient.photo[0]');
    expectIssue(patient({ photo: [{ data: 'AAAABBBB', contentType: 'image/png', size: 6 }] }), 'attachment-too-long', 'Patient.photo[0]');
    expectNoErrors(patient({ photo: [{ contentType: 'image/png', size: 4 }] }));
  });

  it('cannot judge data without a stated size, nor a url it does not fetch: a warning', () => {
    const issues = patient({ photo: [{ data: 'AAAA', contentType: 'image/png' }, { url: 'http://example.org/photo.png' }] });
    expectNoErrors(issues);
    expect(found(issues, 'warning').filter((i) => i.messageId === 'attachment-size-unknown').map((i) => i.path)).toEqual(['Patient.photo[0]', 'Patient.photo[1]']);
  });
});

describe('numbers as written', () => {
  it('an integer written with a decimal point or exponent is invalid; decimal places are counted as written', async () => {
    const { parseJsonText, validateParsed } = await import('../../src/cli/input.js');
    const ids = (text: string) => validateParsed(validator(), parseJsonText(text)).filter((i) => i.severity === 'error').map((i) => `${i.messageId} @ ${i.path}`);
    expect(ids('{"resourceType":"Patient","multipleBirthInteger":1.0}')).toEqual(['primitive-integer-text @ Patient.multipleBirthInteger']);
    expect(ids('{"resourceType":"Patient","multipleBirthInteger":1}')).toEqual([]);
    const observation = (value: string) =>
      `{"resourceType":"Observation","meta":{"profile":["${TEST}LimitedObservation"]},"status":"final","code":{"text":"x"},"valueQuantity":{"value":${value}}}`;
    expect(ids(observation('1.50'))).toEqual(['decimal-places @ Observation.valueQuantity']);
    expect(ids(observation('1.5'))).toEqual([]);
  });
});
