/** Structure: unknown elements, JSON arrays and nulls, resourceType, resource ids, contained resources, `_x` companions. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, isError, useValidator } from './helpers.js';

const validator = useValidator([]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);

describe('unknown elements', () => {
  it('reports a property the definition does not have, at its path', () => {
    const issues = check({ resourceType: 'Patient', id: 'p1', nmae: [{ family: 'Jansen' }] });
    expectIssue(issues, 'unknown-element', 'Patient.nmae');
    expectNoErrors(check({ resourceType: 'Patient', id: 'p1', name: [{ family: 'Jansen' }] }));
  });

  it('reports unknown properties inside datatypes', () => {
    const issues = check({ resourceType: 'Patient', name: [{ family: 'Jansen', surname: 'x' }] });
    expectIssue(issues, 'unknown-element', 'Patient.name[0].surname');
    expectNoErrors(check({ resourceType: 'Patient', name: [{ family: 'Jansen', suffix: ['x'] }] }));
  });
});

describe('JSON arrays versus single values', () => {
  it('requires an array for a repeating element', () => {
    const issues = check({ resourceType: 'Patient', name: { family: 'Jansen' } });
    expectIssue(issues, 'json-array-expected', 'Patient.name');
    expectNoErrors(check({ resourceType: 'Patient', name: [{ family: 'Jansen' }] }));
  });

  it('reports a meta.profile that is not an array, and validates on without a profile from it', () => {
    for (const profile of [5, { url: 'x' }, 'http://hl7.org/fhir/StructureDefinition/bp']) {
      const issues = check({ resourceType: 'Patient', meta: { profile }, gender: 'male' });
      expectIssue(issues, 'json-array-expected', 'Patient.meta.profile');
      expect(issues.filter((i) => i.messageId.startsWith('profile-'))).toEqual([]);
    }
  });

  it('rejects an array for a single element', () => {
    const issues = check({ resourceType: 'Patient', gender: ['male'] });
    expectIssue(issues, 'json-array-unexpected', 'Patient.gender');
    expectNoErrors(check({ resourceType: 'Patient', gender: 'male' }));
  });

  it('rejects empty arrays', () => {
    const issues = check({ resourceType: 'Patient', name: [] });
    expectIssue(issues, 'json-array-empty', 'Patient.name');
    expectIssue(check({ resourceType: 'Patient', name: [{ given: ['Jan'], _given: [] }] }), 'json-array-empty', 'Patient.name[0].given');
    expectNoErrors(check({ resourceType: 'Patient', name: [{ given: ['Jan'] }] }));
  });

  it('rejects nulls, in arrays unless paired with a _ value', () => {
    expectIssue(check({ resourceType: 'Patient', gender: null }), 'json-null', 'Patient.gender');
    expectIssue(check({ resourceType: 'Patient', name: [{ given: ['Jan', null] }] }), 'json-null', 'Patient.name[0].given[1]');
    const paired = {
      resourceType: 'Patient',
      name: [{ given: ['Jan', null], _given: [null, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] }] }],
    };
    expectNoErrors(check(paired));
  });

  it('requires objects for complex elements', () => {
    const issues = check({ resourceType: 'Patient', maritalStatus: 'M' });
    expectIssue(issues, 'json-object-expected', 'Patient.maritalStatus');
    expectNoErrors(check({ resourceType: 'Patient', maritalStatus: { text: 'M' } }));
  });
});

describe('resourceType', () => {
  it('is required', () => {
    const issues = check({ id: 'x', gender: 'male' });
    expect(issues.filter(isError).map((i) => i.messageId)).toEqual(['resource-type-missing']);
    expectNoErrors(check({ resourceType: 'Patient', id: 'x', gender: 'male' }));
  });

  it('must name a resource of R4', () => {
    const issues = check({ resourceType: 'Patiënt', id: 'x' });
    expect(found(issues, 'fatal')).toContainEqual({ messageId: 'resource-type-unknown', path: 'Patiënt' });
    // A datatype is not a resource.
    expect(check({ resourceType: 'HumanName', family: 'x' }).map((i) => i.messageId)).toContain('resource-type-unknown');
  });
});

describe('resource id', () => {
  it('allows 1-64 of A-Z a-z 0-9 - .', () => {
    expectNoErrors(check({ resourceType: 'Patient', id: 'Ab-1.x' }));
    expectNoErrors(check({ resourceType: 'Patient', id: 'a'.repeat(64) }));
  });

  it('rejects ids that are too long', () => {
    expectIssue(check({ resourceType: 'Patient', id: 'a'.repeat(65) }), 'resource-id-too-long', 'Patient.id');
  });

  it('rejects ids with other characters', () => {
    expectIssue(check({ resourceType: 'Patient', id: 'p_1' }), 'resource-id-characters', 'Patient.id');
    expectIssue(check({ resourceType: 'Patient', id: 'p 1' }), 'resource-id-characters', 'Patient.id');
  });
});

describe('contained resources', () => {
  const observation = (containedId: string, reference: string) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'weight' },
    contained: [{ resourceType: 'Patient', id: containedId, gender: 'female' }],
    subject: { reference },
  });

  it('validates a contained resource against its own definition', () => {
    expectNoErrors(check(observation('p', '#p')));
    const bad = observation('p', '#p');
    (bad.contained[0] as Record<string, unknown>).gendr = 'female';
    expectIssue(check(bad), 'unknown-element', 'Observation.contained[0].gendr');
  });

  it('rejects an unknown resourceType inside contained', () => {
    const bad = observation('p', '#p');
    (bad.contained[0] as Record<string, unknown>).resourceType = 'Nobody';
    expect(found(check(bad), 'fatal')).toContainEqual({ messageId: 'resource-type-unknown', path: 'Observation.contained[0]' });
    expect(found(check(observation('p', '#p')), 'fatal')).toEqual([]);
  });

  it('resolves #id references against contained resources only', () => {
    expectIssue(check(observation('p', '#q')), 'reference-contained-unresolved', 'Observation.subject.reference');
    expectNoErrors(check(observation('q', '#q')));
  });
});

describe('primitive _x companions', () => {
  it('accepts an extension on a primitive with or without its value', () => {
    const ext = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
    expectNoErrors(check({ resourceType: 'Patient', birthDate: '1970-01-01', _birthDate: ext }));
    expectNoErrors(check({ resourceType: 'Patient', _birthDate: ext }));
  });

  it('requires a value or extensions; an id alone fails ele-1, but is a child to the primitive check (as in the reference)', () => {
    expectIssue(check({ resourceType: 'Patient', _birthDate: {} }), 'primitive-no-value', 'Patient.birthDate');
    const idOnly = check({ resourceType: 'Patient', _birthDate: { id: 'x' } });
    expectIssue(idOnly, 'ele-1', 'Patient.birthDate');
    expect(found(idOnly).map((i) => i.messageId)).not.toContain('primitive-no-value');
    expectNoErrors(check({ resourceType: 'Patient', birthDate: '1970-01-01', _birthDate: { id: 'x' } }));
  });

  it('rejects unknown properties inside a companion', () => {
    const issues = check({ resourceType: 'Patient', birthDate: '1970-01-01', _birthDate: { foo: 1 } });
    expectIssue(issues, 'unknown-element', 'Patient.birthDate.foo');
    // The value itself lives in birthDate, not in the companion.
    expectIssue(check({ resourceType: 'Patient', _birthDate: { value: '1970-01-01' } }), 'unknown-element', 'Patient.birthDate.value');
  });

  it('rejects a companion on a complex element', () => {
    const issues = check({ resourceType: 'Patient', maritalStatus: { text: 'x' }, _maritalStatus: { id: 'a' } });
    expectIssue(issues, 'unknown-element', 'Patient._maritalStatus');
    expectNoErrors(check({ resourceType: 'Patient', maritalStatus: { id: 'a', text: 'x' } }));
  });

  it('requires companion arrays to line up with repeating primitives', () => {
    const issues = check({ resourceType: 'Patient', name: [{ given: ['Jan'], _given: { id: 'a' } }] });
    expectIssue(issues, 'json-array-expected', 'Patient.name[0].given');
    expectNoErrors(check({ resourceType: 'Patient', name: [{ given: ['Jan', 'Piet'], _given: [{ id: 'a' }, null] }] }));
  });
});

describe('a uri that is a fragment', () => {
  it("names an id in its resource, or is an error: a server's request id in meta.source (sdoh-type-slice)", () => {
    const observation = (extra: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, meta: { source: '#9mEtDcPhOj7HjaHj' }, ...extra });
    expectIssue(check(observation({})), 'url-fragment-unresolved', 'Observation.meta.source');
    expect(check(observation({})).find((i) => i.messageId === 'url-fragment-unresolved')!.message).toBe("URL value '#9mEtDcPhOj7HjaHj' does not resolve");
    // A contained resource or an element with that id is what it points to.
    expect(found(check(observation({ contained: [{ resourceType: 'Device', id: '9mEtDcPhOj7HjaHj' }], device: { reference: '#9mEtDcPhOj7HjaHj' } }))).map((i) => i.messageId)).not.toContain('url-fragment-unresolved');
    expect(found(check(observation({ note: [{ id: '9mEtDcPhOj7HjaHj', text: 'x' }] }))).map((i) => i.messageId)).not.toContain('url-fragment-unresolved');
    expect(found(check(observation({ meta: { source: 'http://server.example/fhir#9mEt' } }))).map((i) => i.messageId)).not.toContain('url-fragment-unresolved');
  });
});

describe('fhir_comments', () => {
  it("is DSTU2's: an unrecognised property in R4 JSON, as the reference reports it (upstream comments-4)", () => {
    const issues = check({ resourceType: 'Patient', fhir_comments: [' This comment should be valid in DSTU2 ', true] });
    expectIssue(issues, 'unknown-element', 'Patient.fhir_comments');
    expect(issues.find((i) => i.messageId === 'unknown-element')!.message).toBe("Unrecognized property 'fhir_comments'");
  });
});
