/** Extensions: resolution by URL, value types, complex extensions, contexts, modifiers, unknown and example URLs. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, extensionDef, found, TEST, useValidator } from './helpers.js';

const SIMPLE = TEST + 'ext-simple';
const COMPLEX = TEST + 'ext-complex';
const ON_EXTENSION = TEST + 'ext-on-extension';
const ON_ADDRESS = TEST + 'ext-on-address';
const ON_PHONE = TEST + 'ext-on-phone';
const WITH_INVARIANT = TEST + 'ext-with-invariant';
const MODIFIER = TEST + 'ext-modifier';

/** A simple extension: no children, a fixed url and one value type. */
function simple(url: string, context: Array<{ type: string; expression: string }>, valueType: string, extra: Record<string, unknown> = {}, root: Record<string, unknown> = {}) {
  return extensionDef(url.slice(TEST.length), context, [
    { id: 'Extension', path: 'Extension', ...root },
    { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
    { id: 'Extension.url', path: 'Extension.url', fixedUri: url },
    { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: valueType }] },
  ], extra);
}

const onPatient = [{ type: 'element', expression: 'Patient' }];

const validator = useValidator([
  simple(SIMPLE, onPatient, 'string'),
  extensionDef('ext-complex', onPatient, [
    { id: 'Extension', path: 'Extension' },
    { id: 'Extension.extension', path: 'Extension.extension', slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' } },
    { id: 'Extension.extension:kind', path: 'Extension.extension', sliceName: 'kind', max: '1' },
    { id: 'Extension.extension:kind.url', path: 'Extension.extension.url', fixedUri: 'kind' },
    { id: 'Extension.extension:kind.value[x]', path: 'Extension.extension.value[x]', type: [{ code: 'code' }] },
    { id: 'Extension.extension:note', path: 'Extension.extension', sliceName: 'note', min: 1, max: '1' },
    { id: 'Extension.extension:note.url', path: 'Extension.extension.url', fixedUri: 'note' },
    { id: 'Extension.extension:note.value[x]', path: 'Extension.extension.value[x]', type: [{ code: 'string' }] },
    { id: 'Extension.url', path: 'Extension.url', fixedUri: COMPLEX },
    { id: 'Extension.value[x]', path: 'Extension.value[x]', max: '0' },
  ]),
  simple(ON_EXTENSION, [{ type: 'extension', expression: COMPLEX }], 'boolean'),
  simple(ON_ADDRESS, [{ type: 'element', expression: 'Patient.address' }], 'string'),
  simple(ON_PHONE, [{ type: 'fhirpath', expression: "Patient.telecom.where(system = 'phone')" }], 'boolean'),
  simple(WITH_INVARIANT, onPatient, 'string', { contextInvariant: ['gender.exists()'] }),
  simple(MODIFIER, onPatient, 'boolean', {}, { isModifier: true, isModifierReason: 'Says the record is not about a real person' }),
]);
const strict = useValidator([], { allowExampleUrls: false });
const domains = useValidator([], { extensionDomains: ['http://fhirdq.test/'] });
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);

const patient = (extra: Record<string, unknown>) => ({ resourceType: 'Patient', ...extra });

describe('resolution by URL and value types', () => {
  it('validates the value against the definition found by url', () => {
    expectNoErrors(check(patient({ extension: [{ url: SIMPLE, valueString: 'x' }] })));
    const wrongType = check(patient({ extension: [{ url: SIMPLE, valueBoolean: true }] }));
    expectIssue(wrongType, 'choice-type-not-allowed', 'Patient.extension[0].valueBoolean');
    // As the reference: the extension's own check names the types its definition allows.
    expectIssue(wrongType, 'extension-value-type', 'Patient.extension[0]');
    expect(wrongType.find((i) => i.messageId === 'extension-value-type')?.message).toBe(`The Extension '${SIMPLE}' definition allows for the types [string] but found type boolean`);
  });

  it('applies the definition cardinality of the value, and says a simple extension needs one', () => {
    const nested = check(patient({ extension: [{ url: SIMPLE, extension: [{ url: 'x', valueString: 'y' }] }] }));
    expectIssue(nested, 'cardinality-min', 'Patient.extension[0]');
    expectIssue(nested, 'extension-simple-nested', 'Patient.extension[0]');
    const empty = check(patient({ extension: [{ url: SIMPLE }] }));
    expectIssue(empty, 'extension-simple-no-value', 'Patient.extension[0]');
    expectIssue(empty, 'constraint-ext-1', 'Patient.extension[0]');
    // A value given only by its _value companion still names its type.
    expect(found(check(patient({ extension: [{ url: SIMPLE, _valueString: { extension: [{ url: SIMPLE, valueString: 'y' }] } }] })))).not.toContainEqual(
      expect.objectContaining({ messageId: expect.stringMatching(/^extension-(value-type|simple)/) }),
    );
  });

  it('a url with a version: an error, and validated against the definition of the url without it (upstream versioned-extension)', () => {
    const issues = check(patient({ extension: [{ url: `${SIMPLE}|0.9.0`, valueBoolean: true }] }));
    expectIssue(issues, 'extension-url-versioned', 'Patient.extension[0]');
    expect(issues.find((i) => i.messageId === 'extension-url-versioned')!.message).toMatch(/^The extension URL must not contain a version\. The extension was validated against version \S* ?of the extension$/);
    // The definition applies: its fixed url and its value type.
    expectIssue(issues, 'fixed-value', 'Patient.extension[0].url');
    expectIssue(issues, 'choice-type-not-allowed', 'Patient.extension[0].valueBoolean');
    expect(found(issues).map((i) => i.messageId)).not.toContain('extension-unknown');
  });

  it('uses core extensions, e.g. patient-birthPlace takes an Address', () => {
    const url = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace';
    expectIssue(check(patient({ extension: [{ url, valueString: 'Utrecht' }] })), 'choice-type-not-allowed', 'Patient.extension[0].valueString');
    expectNoErrors(check(patient({ extension: [{ url, valueAddress: { city: 'Utrecht' } }] })));
  });

  it('requires an absolute url', () => {
    expectIssue(check(patient({ extension: [{ valueString: 'x' }] })), 'extension-url-missing', 'Patient.extension[0]');
    expectIssue(check(patient({ extension: [{ url: 'ext-simple', valueString: 'x' }] })), 'extension-url-relative', 'Patient.extension[0]');
  });
});

describe('complex extensions', () => {
  const complex = (parts: unknown[], extra: Record<string, unknown> = {}) => patient({ extension: [{ url: COMPLEX, extension: parts, ...extra }] });

  it('validates nested parts by their relative urls', () => {
    expectNoErrors(check(complex([{ url: 'kind', valueCode: 'a' }, { url: 'note', valueString: 'b' }])));
    expectIssue(check(complex([{ url: 'note', valueBoolean: true }])), 'choice-type-not-allowed', 'Patient.extension[0].extension[0].valueBoolean');
  });

  it('requires mandatory parts and limits repeats', () => {
    expectIssue(check(complex([{ url: 'kind', valueCode: 'a' }])), 'slice-min', 'Patient.extension[0]');
    expectIssue(check(complex([{ url: 'note', valueString: 'b' }, { url: 'note', valueString: 'c' }])), 'slice-max', 'Patient.extension[0]');
  });

  it('a complex extension has no value of its own (ext-1 and max 0)', () => {
    const issues = check(complex([{ url: 'note', valueString: 'b' }], { valueString: 'x' }));
    expect(found(issues).map((i) => i.messageId)).toEqual(expect.arrayContaining(['constraint-ext-1', 'cardinality-max', 'extension-value-type']));
    expectIssue(issues, 'constraint-ext-1', 'Patient.extension[0]');
    expect(issues.find((i) => i.messageId === 'extension-value-type')?.message).toBe(`The Extension '${COMPLEX}' definition allows for the types [] but found type string`);
    expect(found(check(complex([{ url: 'note', valueString: 'b' }]))).map((i) => i.messageId)).not.toContain('extension-simple-nested');
  });
});

describe('context', () => {
  it('element: the resource type named', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, extension: [{ url: SIMPLE, valueString: 'x' }] };
    expectIssue(check(obs), 'extension-context', 'Observation.extension[0]');
  });

  it('element: a path inside the resource', () => {
    expectNoErrors(check(patient({ address: [{ city: 'Utrecht', extension: [{ url: ON_ADDRESS, valueString: 'x' }] }] })));
    expectIssue(check(patient({ extension: [{ url: ON_ADDRESS, valueString: 'x' }] })), 'extension-context', 'Patient.extension[0]');
    const contactAddress = patient({ contact: [{ address: { city: 'Utrecht', extension: [{ url: ON_ADDRESS, valueString: 'x' }] } }] });
    expectIssue(check(contactAddress), 'extension-context', 'Patient.contact[0].address.extension[0]');
  });

  it('element: a primitive, through its _x companion (core patient-birthTime on Patient.birthDate)', () => {
    const birthTime = { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1970-01-01T10:15:00+01:00' };
    expectNoErrors(check(patient({ birthDate: '1970-01-01', _birthDate: { extension: [birthTime] } })));
    expectIssue(check(patient({ birthDate: '1970-01-01', extension: [birthTime] })), 'extension-context', 'Patient.extension[0]');
  });

  it('extension: inside the named extension only', () => {
    const inside = [{ url: 'note', valueString: 'b' }, { url: ON_EXTENSION, valueBoolean: true }];
    expectNoErrors(check(patient({ extension: [{ url: COMPLEX, extension: inside }] })));
    expectIssue(check(patient({ extension: [{ url: ON_EXTENSION, valueBoolean: true }] })), 'extension-context', 'Patient.extension[0]');
  });

  it('fhirpath: on the elements the expression selects', () => {
    const telecom = (system: string) => patient({ telecom: [{ system, value: 'x', extension: [{ url: ON_PHONE, valueBoolean: true }] }] });
    expectNoErrors(check(telecom('phone')));
    expectIssue(check(telecom('email')), 'extension-context', 'Patient.telecom[0].extension[0]');
  });

  it('as the reference fixes them: regex also on ElementDefinition.type, and any extension on an example, fixed or pattern value', () => {
    const regex = (value: string) => ({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/regex', valueString: value }] });
    const profile = {
      resourceType: 'StructureDefinition', url: `${TEST}fixed-values`, name: 'FixedValues', status: 'draft', kind: 'resource', abstract: false,
      type: 'Patient', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient', derivation: 'constraint',
      differential: { element: [
        { id: 'Patient.gender', path: 'Patient.gender', fixedCode: 'male', _fixedCode: regex('m.*') },
        { id: 'Patient.birthDate', path: 'Patient.birthDate', example: [{ label: 'x', valueDate: '2020-01-01', _valueDate: regex('2.*') }] },
        { id: 'Patient.name', path: 'Patient.name', type: [{ code: 'HumanName', ...regex('.+') }] },
      ] },
    };
    expect(found(check(profile)).filter((i) => i.messageId === 'extension-context')).toEqual([]);
    // Elsewhere its contexts (Questionnaire.item, ElementDefinition) still hold.
    expectIssue(check(patient({ name: [{ family: 'Jansen', ...regex('.+') }] })), 'extension-context', 'Patient.name[0].extension[0]');
  });

  it('contextInvariant: evaluated on the element that carries the extension', () => {
    const ext = { extension: [{ url: WITH_INVARIANT, valueString: 'x' }] };
    expectNoErrors(check(patient({ gender: 'female', ...ext })));
    expectIssue(check(patient(ext)), 'extension-context-invariant', 'Patient.extension[0]');
  });
});

describe('modifierExtension', () => {
  it('a modifier extension belongs in modifierExtension', () => {
    expectNoErrors(check(patient({ modifierExtension: [{ url: MODIFIER, valueBoolean: true }] })));
    expectIssue(check(patient({ extension: [{ url: MODIFIER, valueBoolean: true }] })), 'extension-modifier-mismatch', 'Patient.extension[0]');
  });

  it('a non-modifier extension does not belong in modifierExtension', () => {
    expectIssue(check(patient({ modifierExtension: [{ url: SIMPLE, valueString: 'x' }] })), 'extension-modifier-mismatch', 'Patient.modifierExtension[0]');
  });
});

describe('unknown extensions', () => {
  it('are information, not an error, by default (the reference hints when any extension is allowed)', () => {
    const issues = check(patient({ extension: [{ url: 'http://fhirdq.test/unknown', valueString: 'x' }] }));
    expectIssue(issues, 'extension-unknown', 'Patient.extension[0]', 'information');
    expectNoErrors(issues);
    // Example URLs, where examples are allowed, and tooling URLs pass silently, as in the reference.
    for (const url of ['http://example.org/fhir/ext', 'http://hl7.org/fhir/tools/StructureDefinition/x']) {
      expect(check(patient({ extension: [{ url, valueString: 'x' }] })).map((i) => i.messageId)).not.toContain('extension-unknown');
    }
    expect(found(check(patient({ extension: [{ url: SIMPLE, valueString: 'x' }] }))).map((i) => i.messageId)).not.toContain('extension-unknown');
  });

  it('in HL7’s core namespace are errors: the core and its extensions pack define every one there', () => {
    const issues = check(patient({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-nickname', valueString: 'x' }] }));
    expectIssue(issues, 'extension-unknown', 'Patient.extension[0]');
    // Those the reference knows without a definition pass.
    expectNoErrors(check(patient({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/instance-name', valueString: 'x' }] })));
  });

  it('do not include the global ones of the HL7 extensions pack, which is loaded with the core', () => {
    const branded = check({ resourceType: 'Organization', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/organization-brand', extension: [{ url: 'brandLogo', valueAttachment: { url: 'http://x.nl/logo.png' } }] }] });
    expect(found(branded).map((i) => i.messageId)).not.toContain('extension-unknown');
    // bodySite is newer than R4: its context comes from the pack.
    const misplaced = check(patient({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/bodySite', valueReference: { reference: 'BodyStructure/1' } }] }));
    expectIssue(misplaced, 'extension-context', 'Patient.extension[0]');
    expect(misplaced.find((i) => i.messageId === 'extension-context')?.message).toContain('bodySite|5.3.0-ballot-tc1');
  });

  it('outside the allowed domains are errors when not any extension is allowed', () => {
    const unknown = (url: string) => domains().validateToIssues(patient({ extension: [{ url, valueString: 'x' }] }) as never).filter((i) => i.messageId === 'extension-unknown');
    expect(unknown('http://elsewhere.nl/ext').map((i) => [i.severity, i.message])).toEqual([['error', 'The extension http://elsewhere.nl/ext could not be found so is not allowed here']]);
    expect(unknown('http://fhirdq.test/vendor/ext')).toEqual([]);
  });

  it('example URLs elsewhere are errors too when examples are not allowed, as the reference has it', () => {
    const issues = strict().validateToIssues(patient({ identifier: [{ system: 'http://example.org/ids', value: '1' }], managingOrganization: { reference: 'Organization/1' } }) as never);
    expect(found(issues, 'error')).toEqual([{ messageId: 'url-example', path: 'Patient.identifier[0].system' }]);
    expectNoErrors(check(patient({ identifier: [{ system: 'http://example.org/ids', value: '1' }] })));
  });

  it('with example URLs are errors when examples are not allowed', () => {
    const example = patient({ extension: [{ url: 'http://example.org/fhir/ext', valueString: 'x' }] });
    expectIssue(strict().validateToIssues(example as never), 'extension-example-url', 'Patient.extension[0]');
    expectNoErrors(check(example));
    expectNoErrors(strict().validateToIssues(patient({ extension: [{ url: 'http://fhirdq.test/unknown', valueString: 'x' }] }) as never));
  });
});
