/**
 * Values of the wrong JSON type: each is reported once by the structure check, and the checks beyond it (terminology,
 * invariants, snapshot generation) take it as absent, as the reference does (its parser drops it). Found by mutating
 * the conformance suite's resources; before, these threw ("system.startsWith is not a function") or named
 * "[object Object]".
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Issue } from '../../src/index.js';
import { compileStructure } from '../../src/validation/element-tree.js';
import { expectIssue, found, useValidator } from './helpers.js';

const validator = useValidator([]);

function validate(resource: Record<string, unknown>): Issue[] {
  const issues = validator().validateToIssues(resource as never);
  // Internal messages leaking through mean a check read the ill-typed value as if it were well typed.
  expect(issues.map((i) => `${i.path} ${i.message}`).join('\n')).not.toMatch(/\[object Object\]|is not a function|is not iterable|Cannot read|undefined/);
  return issues;
}

const messageIds = (issues: Issue[]) => issues.map((i) => i.messageId);

describe('values of the wrong JSON type', () => {
  afterEach(() => vi.restoreAllMocks());

  it('in a Coding: reported where they are, and the code is judged as missing', () => {
    const issues = validate({ resourceType: 'Patient', maritalStatus: { coding: [{ system: 5, code: { c: 1 }, display: ['M'] }] } });
    expectIssue(issues, 'primitive-json-type', 'Patient.maritalStatus.coding[0].system');
    expectIssue(issues, 'primitive-json-type', 'Patient.maritalStatus.coding[0].code');
    expectIssue(issues, 'json-array-unexpected', 'Patient.maritalStatus.coding[0].display');
  });

  it('a bound concept whose coding is one object, not an array, is still checked against its value set', () => {
    const issues = validate({ resourceType: 'Patient', maritalStatus: { coding: { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'nonsense' } } });
    expectIssue(issues, 'json-array-expected', 'Patient.maritalStatus.coding');
    expect(messageIds(issues)).toContain('TX_UNKNOWN_CODE');
  });

  it('contained as one object: the dom rules read it as one resource, a security that is no array as none', () => {
    const nested = validate({ resourceType: 'Patient', contained: { resourceType: 'Patient', id: 'a', contained: [{ resourceType: 'Patient', id: 'b' }] } });
    expectIssue(nested, 'json-array-expected', 'Patient.contained');
    expect(messageIds(nested)).toContain('constraint-dom-2');
    const labelled = validate({ resourceType: 'Patient', contained: [{ resourceType: 'Patient', id: 'a', meta: { security: 'R' } }] });
    expect(messageIds(labelled)).not.toContain('constraint-dom-5');
  });

  it('a resourceType that is no string names no type, for the path or for FHIRPath', () => {
    expect(found(validate({ resourceType: { name: 'Patient' }, id: 'x' }), 'fatal')).toEqual([{ messageId: 'resource-type-missing', path: 'Resource' }]);
    const bundle = validate({
      resourceType: 'Bundle', type: 'document', identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e1' }, timestamp: '2024-01-01T00:00:00Z',
      entry: [{ fullUrl: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', resource: { resourceType: { name: 'Composition' }, id: 'c' } }],
    });
    expectIssue(bundle, 'resource-type-missing', 'Bundle.entry[0].resource', 'fatal');
    // bdl-11 evaluates (the first resource is no Composition) instead of failing on the object.
    expect(messageIds(bundle)).toContain('constraint-bdl-11');
    expect(messageIds(bundle)).not.toContain('invariant-evaluation-failed');
  });

  it('in a profile’s differential: the snapshot is generated without them', () => {
    const issues = validate({
      resourceType: 'StructureDefinition', url: 'http://example.org/StructureDefinition/p', name: 'P', status: 'draft', kind: 'resource', abstract: false,
      type: 'Patient', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient', derivation: 'constraint',
      differential: {
        element: [
          { id: 7, path: 'Patient.identifier', slicing: { discriminator: { type: 'value', path: 'system' }, rules: 'open' }, constraint: 3, type: 'Identifier' },
          { id: 'Patient.name', path: 'Patient.name', type: [{ profile: ['http://example.org/x'] }], min: '1' },
          { id: 'Patient.deceased[x]', path: 'Patient.deceased[x]', mapping: [{ identity: 1 }] },
        ],
      },
    });
    expectIssue(issues, 'json-array-expected', 'StructureDefinition.differential.element[0].slicing.discriminator');
    expectIssue(issues, 'primitive-json-type', 'StructureDefinition.differential.element[1].min');
    expect(issues.filter((i) => i.message.startsWith('Error generating Snapshot'))).toEqual([]);
  });

  it('a profile whose baseDefinition is no string has no base', () => {
    const issues = validate({
      resourceType: 'StructureDefinition', url: 'http://example.org/StructureDefinition/q', name: 'Q', status: 'draft', kind: 'resource', abstract: false,
      type: 'Patient', baseDefinition: { url: 'http://hl7.org/fhir/StructureDefinition/Patient' }, derivation: 'constraint', differential: { element: [{ id: 'Patient', path: 'Patient' }] },
    });
    expectIssue(issues, 'primitive-json-type', 'StructureDefinition.baseDefinition');
    expectIssue(issues, 'SNAPSHOT_BASE_NOT_FOUND', 'StructureDefinition', 'warning');
  });

  it('a missing or ill-typed member is reported once, not again by the rules that compare it', () => {
    const profile = validate({
      resourceType: 'StructureDefinition', url: 'http://example.org/StructureDefinition/r', name: 'R', status: 'draft', kind: { k: 'resource' }, abstract: false,
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient', derivation: 'constraint', differential: { element: [{ id: 'Patient', path: 'Patient' }] },
    });
    expectIssue(profile, 'primitive-json-type', 'StructureDefinition.kind');
    expect(profile.filter((i) => i.messageId.startsWith('cardinality') && i.message.startsWith('StructureDefinition.type'))).toHaveLength(1);
    expect(messageIds(profile).filter((id) => ['sd-kind', 'sd-derivation-kind', 'sd-constraint-type'].includes(id))).toEqual([]);

    const referring = validate({ resourceType: 'Patient', contained: [{ resourceType: { t: 'Organization' }, id: 'o' }], managingOrganization: { reference: '#o' } });
    expect(messageIds(referring)).not.toContain('reference-wrong-type');

    const searchset = validate({
      resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'self', url: 'http://example.org/fhir/Patient?name=x' }],
      entry: [{ fullUrl: 'http://example.org/fhir/Patient/1', resource: { id: '1' }, search: { mode: 'outcome' } }],
    });
    expectIssue(searchset, 'resource-type-missing', 'Bundle.entry[0].resource', 'fatal');
    expect(messageIds(searchset)).not.toContain('bundle-search-entry-outcome');

    const codeSystem = validate({
      resourceType: 'CodeSystem', url: 'http://terminology.hl7.org/CodeSystem/example-x', name: 'X', status: 'draft', content: 'complete',
      concept: [{ display: 'no code' }, { code: 'b' }],
    });
    expect(codeSystem.filter((i) => i.messageId === 'codesystem-concept-no-display').map((i) => i.path)).toEqual(['CodeSystem.concept[1]']);

    const withoutUrl = validate({ resourceType: 'CodeSystem', name: 'X', status: 'draft', content: 'complete', valueSet: 'http://hl7.org/fhir/ValueSet/narrative-status', concept: [{ code: 'a' }] });
    expect(messageIds(withoutUrl).filter((id) => id.startsWith('codesystem-valueset'))).toEqual([]);
  });

  it('a blank UCUM unit is an error in the report, and nothing is written to stdout behind it', () => {
    const log = vi.spyOn(console, 'log');
    const issues = validate({ resourceType: 'Observation', status: 'final', code: { text: 'weight' }, valueQuantity: { value: 1, system: 'http://unitsofmeasure.org', code: ' ' } });
    expectIssue(issues, 'TX_UNKNOWN_CODE', 'Observation.valueQuantity.code');
    expect(log).not.toHaveBeenCalled();
  });
});

describe('definitions with members of the wrong JSON type (a package as published)', () => {
  it('compile into element trees that the walk can use: such members read as the reference reads them, elements without a path left out', () => {
    const structure = compileStructure({
      resourceType: 'StructureDefinition', url: 'http://example.org/StructureDefinition/b', type: 'Basic', kind: 'resource',
      snapshot: {
        element: [
          { id: 'Basic', path: 'Basic', min: 0, max: '*' },
          { id: 'Basic.subject', path: 'Basic.subject', min: '1', max: 1, type: [{ code: 'Reference', targetProfile: [5, 'http://hl7.org/fhir/StructureDefinition/Patient', { url: 'x' }] }] },
          null,
          { id: 'Basic.author', type: [{ code: 'Reference' }] },
        ],
      },
    });
    const subject = structure.root.childByName.get('subject')!;
    expect(subject.types).toEqual([{ code: 'Reference', profiles: [], targetProfiles: ['5', 'http://hl7.org/fhir/StructureDefinition/Patient'], aggregation: [] }]);
    expect([subject.min, subject.max]).toEqual([1, 1]);
    expect([...structure.root.childByName.keys()]).toEqual(['subject']);
    expect((structure.structure.snapshot as { element: unknown[] }).element).toHaveLength(2);
  });
});
