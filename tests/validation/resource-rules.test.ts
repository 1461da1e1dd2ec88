/**
 * Rules the reference validator applies to a resource as a whole: its contained resources, its element ids, its
 * security labels; and a CapabilityStatement's search parameters against their definitions.
 */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, useValidator } from './helpers.js';

const validator = useValidator([]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);
const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">A patient</div>' };
const patient = (extra: Record<string, unknown>) => ({ resourceType: 'Patient', text, ...extra });
const organization = (id: string | undefined, extra: Record<string, unknown> = {}) => ({ resourceType: 'Organization', ...(id === undefined ? {} : { id }), name: id ?? 'x', ...extra });
const errors = (issues: ReturnType<typeof check>) => found(issues, 'error').map((i) => `${i.messageId} @ ${i.path}`);

describe('contained resources', () => {
  it('each has an id', () => {
    const issues = check(patient({ contained: [organization(undefined)], managingOrganization: { reference: '#' } }));
    expectIssue(issues, 'contained-id-missing', 'Patient.contained[0]');
    expectIssue(issues, 'contained-orphan', 'Patient.contained[0]');
  });

  it('no two share an id', () => {
    const issues = check(patient({ contained: [organization('o'), organization('o')], managingOrganization: { reference: '#o' } }));
    expectIssue(issues, 'contained-id-duplicate', 'Patient.contained[1]');
  });

  it('a chain that the container never enters is orphaned, each link named', () => {
    const issues = check(patient({ contained: [organization('a', { partOf: { reference: '#b' } }), organization('b', { partOf: { reference: '#a' } })] }));
    expect(errors(issues)).toEqual(['contained-orphan @ Patient.contained[0]', 'contained-orphan @ Patient.contained[1]']);
  });

  it('one referring to its container is referenced, and so are those it refers to; the others are not', () => {
    const issues = check(patient({
      contained: [organization('back', { partOf: { reference: '#via' }, endpoint: [{ reference: '#' }] }), organization('via'), organization('alone')],
    }));
    expect(errors(issues)).toEqual(['contained-orphan @ Patient.contained[2]']);
  });

  it('a link in the narrative references', () => {
    const linked = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><a href="#o">the organisation</a></div>' };
    expectNoErrors(check(patient({ text: linked, contained: [organization('o')] })));
  });
});

describe('element ids', () => {
  it('are unique within a resource', () => {
    const issues = check(patient({ name: [{ id: 'a', family: 'Jansen' }, { id: 'a', family: 'de Vries' }] }));
    expectIssue(issues, 'element-id-duplicate', 'Patient.name[1]');
  });

  it('may repeat in a contained resource, and across profiles walked over the same elements', () => {
    const issues = check(patient({
      meta: { profile: ['http://hl7.org/fhir/StructureDefinition/Patient'] },
      name: [{ id: 'a', family: 'Jansen' }],
      contained: [organization('o', { contact: [{ id: 'a', name: { text: 'Contact' } }] })],
      managingOrganization: { reference: '#o' },
    }));
    expect(found(issues).map((i) => i.messageId)).not.toContain('element-id-duplicate');
  });
});

describe('the resource’s metadata', () => {
  it('states each security label once', () => {
    const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const issues = check(patient({ meta: { security: [label, { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST' }, label] } }));
    expectIssue(issues, 'meta-security-duplicate', 'Patient.meta.security[2]');
  });
});

describe('declared profiles', () => {
  it('a core definition named with its FHIR version is the resource’s own type, or an error', () => {
    const own = check(patient({ meta: { profile: ['http://hl7.org/fhir/4.0/StructureDefinition/Patient'] } }));
    expectIssue(own, 'profile-version', 'Patient.meta.profile', 'information');
    expectNoErrors(own);
    expectIssue(check(patient({ meta: { profile: ['http://hl7.org/fhir/4.0/StructureDefinition/Observation'] } })), 'profile-version-type', 'Patient.meta.profile');
  });
});

describe('values', () => {
  it('a required binding is not met by extensions alone', () => {
    const absent = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
    expectIssue(check(patient({ _gender: absent })), 'binding-required-no-code', 'Patient.gender');
    // An example binding asks for no code.
    expect(found(check(patient({ _language: absent }))).map((i) => i.messageId)).not.toContain('binding-required-no-code');
  });

  it('an OID root is longer than a few digits', () => {
    expectIssue(check(patient({ identifier: [{ system: 'urn:oid:1.2.3', value: '1' }] })), 'primitive-oid', 'Patient.identifier[0].system');
    expectNoErrors(check(patient({ identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.4.6.3', value: '999999151' }] })));
  });
});

describe('a CapabilityStatement', () => {
  const statement = (type: string) => ({
    resourceType: 'CapabilityStatement',
    text,
    status: 'active',
    date: '2026-11-24',
    kind: 'instance',
    implementation: { description: 'fhirdq test server' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    rest: [{ mode: 'server', resource: [{ type: 'Patient', searchParam: [{ name: 'name', definition: 'http://hl7.org/fhir/SearchParameter/Patient-name', type }] }] }],
  });

  it('gives a search parameter the type of its definition', () => {
    expectIssue(check(statement('token')), 'capabilitystatement-searchparam-type', 'CapabilityStatement.rest[0].resource[0].searchParam[0]');
    expect(found(check(statement('string'))).map((i) => i.messageId)).not.toContain('capabilitystatement-searchparam-type');
  });
});

describe('matchetypes', () => {
  it('are not data: a resource marked as one is an error, also when contained', () => {
    const matchetype = { url: 'http://hl7.org/fhir/tools/StructureDefinition/matchetype', valueCode: 'partial' };
    expectIssue(check(patient({ extension: [matchetype] })), 'matchetype-disallowed', 'Patient');
    const issues = check(patient({ contained: [organization('o', { extension: [matchetype] })], managingOrganization: { reference: '#o' } }));
    expect(found(issues, 'error')).toEqual([{ messageId: 'matchetype-disallowed', path: 'Patient.contained[0]' }]);
  });
});

describe('narrative links (#x)', () => {
  const narrative = (body: string) => ({ status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${body}</div>` });
  const unresolved = (issues: ReturnType<typeof check>) => found(issues, 'error').filter((i) => i.messageId === 'xhtml-hyperlink-unresolved').map((i) => i.path);

  it('name an element id or an anchor in any narrative of the resource, a contained one’s included', () => {
    const withContained = patient({
      text: narrative('<a href="#org-anchor">the organisation</a> <a href="#n1">the name</a>'),
      name: [{ id: 'n1', family: 'Jansen' }],
      contained: [organization('o1', { text: narrative('<a name="org-anchor"> </a>Org') })],
      managingOrganization: { reference: '#o1' },
    });
    expect(unresolved(check(withContained))).toEqual([]);
    expect(unresolved(check(patient({ text: narrative('<a href="#nowhere">x</a>') })))).toEqual(['Patient.text.div']);
  });

  it('are looked for in the whole Bundle when the resource does not resolve them', () => {
    const entry = (fullUrl: string, resource: Record<string, unknown>) => ({ fullUrl, resource });
    const bundle = (link: string) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        entry('urn:uuid:0b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8', patient({ text: narrative(`<a href="#${link}">see</a>`) })),
        entry('urn:uuid:1c2d3e4f-5061-4b72-8c83-a4b5c6d7e8f9', organization('o2', { text: narrative('<p id="elsewhere">Org</p>') })),
      ],
    });
    expect(unresolved(check(bundle('elsewhere')))).toEqual([]);
    expect(unresolved(check(bundle('nowhere')))).toEqual(['Bundle.entry[0].resource.text.div']);
  });
});
