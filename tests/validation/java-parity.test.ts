/** Rules the HL7 Java validator applies that the conformance suite showed missing: each on a small real resource. */
import { describe, expect, it } from 'vitest';
import { CORE, expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const validator = useValidator([]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);

describe('StructureDefinitions that use FHIRPath system types, as R4 core does for Element.id', () => {
  const sd = {
    resourceType: 'StructureDefinition',
    url: 'http://fhirdq.test/StructureDefinition/Thing',
    name: 'Thing',
    status: 'draft',
    kind: 'logical',
    abstract: true,
    type: 'http://fhirdq.test/StructureDefinition/Thing',
    snapshot: {
      element: [
        { id: 'Thing', path: 'Thing', definition: 'A thing', min: 0, max: '*', base: { path: 'Thing', min: 0, max: '*' } },
        {
          id: 'Thing.id',
          path: 'Thing.id',
          definition: 'Its id',
          base: { path: 'Thing.id', min: 0, max: '1' },
          min: 0,
          max: '1',
          type: [{ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type', valueUrl: 'string' }], code: 'http://hl7.org/fhirpath/System.String' }],
        },
      ],
    },
  };

  it('accepts structuredefinition-fhir-type on ElementDefinition.type and the System.String code', () => {
    const issues = check(sd);
    expectNoErrors(issues);
    // Not even the extensible FHIRDefinedType warning: the validator accepts FHIRPath system types there.
    expect(found(issues).filter((i) => i.path.includes('type[0]'))).toEqual([]);
  });

  it('still rejects the fhir-type extension elsewhere', () => {
    const misplaced = { ...sd, extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type', valueUrl: 'string' }] };
    expect(found(check(misplaced), 'error')).toContainEqual({ messageId: 'extension-context', path: 'StructureDefinition.extension[0]' });
  });

  it('an unknown type code under the extensible binding is a warning without the cannot-infer-system error', () => {
    const odd = structuredClone(sd);
    odd.snapshot.element[1]!.type = [{ code: 'NotAType' }] as never;
    const issues = check(odd);
    expectNoErrors(issues);
    expect(found(issues, 'warning')).toContainEqual({ messageId: 'TX_BINDING_EXTENSIBLE', path: 'StructureDefinition.snapshot.element[1].type[0].code' });
  });
});

describe('relative references from an entry whose fullUrl is a urn', () => {
  const bundle = (targetType: string) => ({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: 'urn:uuid:54fc3e09-e279-4b74-a8ff-2649ec968642', resource: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/5d9588d8-3cd6-4b32-8fb7-ad13694e069d' }] } },
      { fullUrl: 'urn:uuid:5d9588d8-3cd6-4b32-8fb7-ad13694e069d', resource: { resourceType: targetType, name: targetType === 'Organization' ? 'foo' : [{ family: 'foo' }] } },
    ],
  });

  it('resolve to the urn with the same id, so a target of another type is an error', () => {
    expect(found(check(bundle('Organization')), 'error')).toEqual([
      { messageId: 'reference-bundle-type-mismatch', path: 'Bundle.entry[0].resource.generalPractitioner[0].reference' },
    ]);
  });

  it('and a target of the referenced type is fine', () => {
    expectNoErrors(check(bundle('Practitioner')));
  });
});

describe('reference aggregation modes and target profiles', () => {
  const profiled = useValidator([
    profile('encounter-bundled-subject', 'Encounter', [
      { id: 'Encounter.subject', path: 'Encounter.subject', type: [{ code: 'Reference', targetProfile: [CORE + 'Patient'], aggregation: ['bundled'] }] },
    ]),
    profile('organization-contained-endpoint', 'Organization', [
      { id: 'Organization.endpoint', path: 'Organization.endpoint', type: [{ code: 'Reference', targetProfile: [CORE + 'Endpoint'], aggregation: ['contained'] }] },
    ]),
    profile('organization-unknown-endpoint-profile', 'Organization', [
      { id: 'Organization.endpoint', path: 'Organization.endpoint', type: [{ code: 'Reference', targetProfile: [TEST + 'no-such-endpoint-profile'] }] },
    ]),
  ]);
  const against = (resource: Record<string, unknown>, name: string) => profiled().validateToIssues(resource as never, { profile: TEST + name });
  const encounterIn = (entries: Array<Record<string, unknown>>) => ({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: 'http://example.org/fhir/Encounter/e1', resource: { resourceType: 'Encounter', id: 'e1', status: 'planned', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/p1' } } },
      ...entries,
    ],
  });
  const patientEntry = { fullUrl: 'http://example.org/fhir/Patient/p1', resource: { resourceType: 'Patient', id: 'p1' } };
  const endpoint = { resourceType: 'Endpoint', id: 'ep', status: 'active', connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' }, payloadType: [{ text: 'any' }], address: 'https://example.org/fhir' };

  it('a bundled-only reference must resolve in the bundle', () => {
    const bundle = encounterIn([]);
    (bundle.entry[0]!.resource as Record<string, unknown>).meta = { profile: [TEST + 'encounter-bundled-subject'] };
    expect(found(profiled().validateToIssues(bundle as never), 'error')).toEqual([{ messageId: 'reference-aggregation-not-found', path: 'Bundle.entry[0].resource.subject' }]);
  });

  it('a bundled-only reference found in the bundle is fine, and one found only as contained is not', () => {
    const resolved = structuredClone(encounterIn([patientEntry]));
    (resolved.entry[0]!.resource as Record<string, unknown>).meta = { profile: [TEST + 'encounter-bundled-subject'] };
    expectNoErrors(profiled().validateToIssues(resolved as never));
    const contained = { ...(resolved.entry[0]!.resource as Record<string, unknown>), contained: [{ resourceType: 'Patient', id: 'p' }], subject: { reference: '#p' } };
    expect(found(against(contained, 'encounter-bundled-subject'), 'error')).toContainEqual({ messageId: 'reference-aggregation', path: 'Encounter.subject' });
  });

  it('a contained-only reference to a bundled resource breaks the aggregation', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: 'http://example.org/fhir/Organization/o1', resource: { resourceType: 'Organization', id: 'o1', meta: { profile: [TEST + 'organization-contained-endpoint'] }, name: 'o', endpoint: [{ reference: 'Endpoint/ep' }] } },
        { fullUrl: 'http://example.org/fhir/Endpoint/ep', resource: endpoint },
      ],
    };
    expect(found(profiled().validateToIssues(bundle as never), 'error')).toEqual([{ messageId: 'reference-aggregation', path: 'Bundle.entry[0].resource.endpoint[0]' }]);
  });

  it('a target profile that cannot be found is an error, and then no target type fits', () => {
    const org = { resourceType: 'Organization', name: 'o', contained: [endpoint], endpoint: [{ reference: '#ep' }] };
    expect(found(against(org, 'organization-unknown-endpoint-profile'), 'error')).toEqual([
      { messageId: 'reference-target-profile-unknown', path: 'Organization.endpoint[0]' },
      { messageId: 'reference-wrong-type', path: 'Organization.endpoint[0].reference' },
    ]);
  });
});

describe('slices of a profile in differential form: a lone type slice, and what slices inherit from the sliced element', () => {
  const params = useValidator([
    profile('ParamsWithSlices', 'Parameters', [
      { id: 'Parameters.parameter', path: 'Parameters.parameter', slicing: { discriminator: [{ type: 'value', path: 'name' }], rules: 'open' } },
      { id: 'Parameters.parameter.extension', path: 'Parameters.parameter.extension', max: '0' },
      { id: 'Parameters.parameter:first', path: 'Parameters.parameter', sliceName: 'first', min: 1, max: '1' },
      { id: 'Parameters.parameter:first.name', path: 'Parameters.parameter.name', fixedString: 'first' },
      // value[x]:valueString without slicing on value[x]: a constraint on value[x] itself
      { id: 'Parameters.parameter:first.value[x]:valueString', path: 'Parameters.parameter.value[x]', sliceName: 'valueString', min: 1, type: [{ code: 'string' }] },
    ]),
  ]);
  const checkParams = (parameter: Record<string, unknown>) =>
    params().validateToIssues({ resourceType: 'Parameters', parameter: [parameter] } as never, { profile: TEST + 'ParamsWithSlices' });

  it('takes value[x]:valueString as value[x] narrowed to string, not as an unknown property', () => {
    expectNoErrors(checkParams({ name: 'first', valueString: 'x' }));
    expect(found(checkParams({ name: 'first', valueInteger: 1 })).map((i) => i.messageId)).toContain('choice-type-not-allowed');
    expect(checkParams({ name: 'first' }).map((i) => i.message)).toContainEqual(expect.stringMatching(/^Parameters\.parameter:first\.value\[x\]:valueString: minimum required = 1/));
  });

  it('applies the sliced element\'s child constraints in each slice, named by element id as the Java validator does', () => {
    const extension = [{ url: 'http://hl7.org/fhir/StructureDefinition/parameters-fullUrl', valueUri: 'http://fhirdq.test/x' }];
    const messages = checkParams({ extension, name: 'first', valueString: 'x' }).map((i) => i.message);
    expect(messages).toContainEqual(expect.stringMatching(/^Parameters\.parameter:first\.extension: max allowed = 0, but found 1/));
  });
});

describe('canonical URLs, as the Java validator checks them (InstanceValidator.checkPrimitive)', () => {
  const valueSet = (url: string) => ({ resourceType: 'ValueSet', url, status: 'draft' });

  it('a canonical resource\'s url defines it: a relative one is an error, in a contained resource too', () => {
    const relative = check(valueSet('ValueSet/vs1'));
    expectIssue(relative, 'canonical-relative', 'ValueSet.url');
    const contained = check({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, contained: [{ ...valueSet('vs1'), id: 'vs1' }] });
    expectIssue(contained, 'canonical-contained-relative', 'Observation.contained[0].url');
    expectNoErrors(check(valueSet('http://example.nl/fhir/ValueSet/vs1')));
    expectNoErrors(check(valueSet('urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301')));
  });

  it('a url that is not a canonical resource\'s is a plain uri', () => {
    expectNoErrors(check({ resourceType: 'Endpoint', status: 'active', connectionType: { code: 'hl7-fhir-rest' }, payloadType: [{ text: 'x' }], address: 'relative/path' }));
    expectNoErrors(check({ resourceType: 'Patient', photo: [{ url: 'relative/photo.png' }] }));
  });

  it('a canonical reference must be absolute or a fragment: meta.profile, ValueSet.compose.include.valueSet', () => {
    const issues = check({ resourceType: 'Patient', meta: { profile: ['StructureDefinition/nl-core-Patient'] } });
    expectIssue(issues, 'canonical-relative', 'Patient.meta.profile[0]');
    const include = check({ ...valueSet('http://example.nl/vs'), compose: { include: [{ valueSet: ['vs2', '#vs3'] }] } });
    expectIssue(include, 'canonical-relative', 'ValueSet.compose.include[0].valueSet[0]');
    expect(found(include)).not.toContainEqual({ messageId: 'canonical-relative', path: 'ValueSet.compose.include[0].valueSet[1]' });
  });

  it('a uri cannot start with oid: or uuid:', () => {
    const issues = check({ resourceType: 'Patient', identifier: [{ system: 'oid:2.16.840.1.113883.2.4.6.3', value: '1' }, { system: 'uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301', value: '2' }] });
    expectIssue(issues, 'primitive-uri-oid', 'Patient.identifier[0].system');
    expectIssue(issues, 'primitive-uri-uuid', 'Patient.identifier[1].system');
  });
});

describe('namespaces must be absolute: Coding.system, Quantity.system, Identifier.system', () => {
  it('a code system without a scheme is an error, not an unknown code system', () => {
    const issues = check({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'loinc', code: '1234-5' }] }, valueQuantity: { value: 5, system: 'ucum', code: 'mg' } });
    expectIssue(issues, 'TX_SYSTEM_RELATIVE', 'Observation.code.coding[0]');
    expectIssue(issues, 'TX_SYSTEM_RELATIVE', 'Observation.valueQuantity');
    expect(issues.map((i) => i.messageId)).not.toContain('TX_UNKNOWN_SYSTEM');
    const absolute = check({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1234-5' }] } });
    expect(absolute.map((i) => i.messageId)).not.toContain('TX_SYSTEM_RELATIVE');
  });

  it('a code system URI that cannot be right is an error on codings no value set judges, as in the reference', () => {
    const tag = (system: string) => ({ system, code: 'x' });
    const issues = check({
      resourceType: 'Patient',
      meta: {
        tag: [
          tag('https://loinc.org'),
          tag('http://hl7.org/fhir/v3/MaritalStatus'),
          tag('http://snomed.info/sct/900000000000207008'),
          tag('http://hl7.org/fhir/ValueSet/administrative-gender'),
          tag('http://build.fhir.org/ig/x/y/CodeSystem-z'),
          tag('http://hl7.org/fhir/administrative-gender.html'),
          tag('http://hl7.org/fhir/sid/icd-10'),
          tag('http://hl7.org/fhir/sid/icpc-1-nl'),
        ],
      },
    });
    const at = (i: number) => `Patient.meta.tag[${i}]`;
    expectIssue(issues, 'TX_SYSTEM_HTTPS', at(0));
    expectIssue(issues, 'TX_SYSTEM_UNKNOWN', at(1));
    expectIssue(issues, 'TX_SYSTEM_INVALID', at(2));
    expectIssue(issues, 'TX_SYSTEM_IS_VALUESET', at(3));
    expectIssue(issues, 'TX_SYSTEM_WRONG_BUILD', at(4));
    expectIssue(issues, 'TX_SYSTEM_WRONG_HTML', at(5));
    // Known to the reference without a definition (its SIDUtilities), Dutch ones among them.
    expect(found(issues, 'error').filter((i) => i.path === at(6) || i.path === at(7))).toEqual([]);
    expectIssue(check({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 1, system: 'https://unitsofmeasure.org', code: 'mg' } }), 'TX_SYSTEM_HTTPS', 'Observation.valueQuantity');
  });

  it('an identifier system without a scheme is an error; urn:ietf:rfc:3986 asks a URI as value', () => {
    const issues = check({
      resourceType: 'Patient',
      identifier: [
        { system: 'local-ids', value: '1' },
        { system: 'urn:ietf:rfc:3986', value: '12345' },
        { system: 'urn:ietf:rfc:3986', value: 'urn:oid:2.16.840.1.113883.2.4.6.3' },
        { system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999999990' },
      ],
    });
    expectIssue(issues, 'identifier-system-relative', 'Patient.identifier[0]');
    expectIssue(issues, 'identifier-value-not-uri', 'Patient.identifier[1]');
    expect(found(issues).filter((i) => i.path === 'Patient.identifier[2]' || i.path === 'Patient.identifier[3]')).toEqual([]);
  });
});

describe('references as the Java validator checks them (checkReference)', () => {
  const observation = (extra: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });

  it('Reference.type must be a target the element allows, and the type the reference names', () => {
    const issues = check(observation({ performer: [{ type: 'Patient', reference: 'Practitioner/1' }, { type: 'Medication', reference: 'Medication/1' }, { type: 'Practitioner', reference: 'Practitioner/2' }] }));
    expectIssue(issues, 'reference-type-mismatch', 'Observation.performer[0]');
    expectIssue(issues, 'reference-type-not-target', 'Observation.performer[1]');
    expect(found(issues).filter((i) => i.path.startsWith('Observation.performer[2]'))).toEqual([]);
  });

  it('a target profile in the core namespace (vitalsigns) allows its type, not a type named after it', () => {
    const issues = check(observation({ hasMember: [{ type: 'Observation', reference: 'Observation/1' }, { type: 'vitalsigns', reference: 'Observation/2' }] }));
    expect(found(issues).filter((i) => i.path === 'Observation.hasMember[0]')).toEqual([]);
    expectIssue(issues, 'reference-type-not-target', 'Observation.hasMember[1]');
  });

  it('a resolved target\'s type counts, as for a contained resource', () => {
    const issues = check(observation({ contained: [{ resourceType: 'Patient', id: 'p' }], subject: { type: 'Group', reference: '#p' } }));
    expectIssue(issues, 'reference-type-mismatch', 'Observation.subject');
  });

  it('a reference has no whitespace', () => {
    expectIssue(check(observation({ subject: { reference: 'Patient/ 1' } })), 'reference-whitespace', 'Observation.subject');
  });

  it('a Reference with neither reference nor identifier should have a display', () => {
    const issues = check(observation({ performer: [{ display: '' , extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] }, { identifier: { value: '123' } }, { display: 'Dr. Jansen' }] }));
    expectIssue(issues, 'reference-no-display', 'Observation.performer[0]', 'warning');
    expect(found(issues, 'warning').filter((i) => i.messageId === 'reference-no-display').map((i) => i.path)).toEqual(['Observation.performer[0]']);
  });
});
