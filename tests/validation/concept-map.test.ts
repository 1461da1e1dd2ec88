/** The ConceptMap rules of the reference validator's ConceptMapValidator that need no terminology server. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, useValidator } from './helpers.js';

const validator = useValidator([]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);
const GENDER = 'http://hl7.org/fhir/administrative-gender';
const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';

/** Through JSON, so that a property given as undefined is left out, as in a file. */
const map = (group: Record<string, unknown>, extra: Record<string, unknown> = {}) => JSON.parse(JSON.stringify({
  resourceType: 'ConceptMap',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Genders</div>' },
  url: 'http://fhirdq.test/ConceptMap/genders',
  status: 'active',
  sourceCanonical: GENDER_VS,
  targetCanonical: GENDER_VS,
  group: [{ source: GENDER, target: GENDER, ...group }],
  ...extra,
}));
const maleToFemale = [{ code: 'male', display: 'Male', target: [{ code: 'female', display: 'Female', equivalence: 'equivalent' }] }];
const warnings = (issues: ReturnType<typeof check>) => found(issues, 'warning').filter((i) => i.messageId.startsWith('conceptmap-'));

describe('codes of loaded code systems', () => {
  it('pass when they are the code systems’ and the scopes’ codes, with their displays', () => {
    const issues = check(map({ element: maleToFemale }));
    expectNoErrors(issues);
    expect(warnings(issues)).toEqual([]);
  });

  it('must be codes of the group’s code systems', () => {
    const issues = check(map({ element: [{ code: 'xmale', target: [{ code: 'xfemale', equivalence: 'equivalent' }] }] }));
    expectIssue(issues, 'conceptmap-source-code', 'ConceptMap.group[0].element[0].code');
    expectIssue(issues, 'conceptmap-target-code', 'ConceptMap.group[0].element[0].target[0].code');
  });

  it('should carry a display the code system gives them', () => {
    const issues = check(map({ element: [{ code: 'male', display: 'Man', target: [{ code: 'female', display: 'Woman', equivalence: 'equivalent' }] }] }));
    expectIssue(issues, 'conceptmap-source-display', 'ConceptMap.group[0].element[0].code', 'warning');
    expectIssue(issues, 'conceptmap-target-display', 'ConceptMap.group[0].element[0].target[0].code', 'warning');
  });

  it('must be in the map’s scope value set', () => {
    const issues = check(map({ element: maleToFemale }, { targetCanonical: 'http://hl7.org/fhir/ValueSet/marital-status' }));
    expectIssue(issues, 'conceptmap-target-code-valueset', 'ConceptMap.group[0].element[0].target[0].code');
  });
});

describe('what cannot be checked here', () => {
  it('a group without code systems, or with unknown ones, says so', () => {
    const none = check(map({ source: undefined, target: undefined, element: [{ code: 'a', target: [{ code: 'b', equivalence: 'equivalent' }] }] }));
    expectIssue(none, 'conceptmap-source-missing', 'ConceptMap.group[0]', 'warning');
    expectIssue(none, 'conceptmap-target-missing', 'ConceptMap.group[0]', 'warning');
    const unknown = check(map({ source: 'http://fhirdq.test/cs/a', target: 'http://fhirdq.test/cs/b', element: [{ code: 'a', target: [{ code: 'b', equivalence: 'equivalent' }] }] },
      { sourceCanonical: undefined, targetCanonical: undefined }));
    expectIssue(unknown, 'conceptmap-source-unknown', 'ConceptMap.group[0].source', 'warning');
    expectIssue(unknown, 'conceptmap-target-unknown', 'ConceptMap.group[0].target', 'warning');
    expectNoErrors(unknown);
  });

  it('a code system with only some of its content leaves its codes unchecked', () => {
    const issues = check(map({ source: 'http://terminology.hl7.org/CodeSystem/service-type', element: [{ code: 'zzz', target: [{ code: 'female', equivalence: 'equivalent' }] }] },
      { sourceCanonical: undefined }));
    expectIssue(issues, 'conceptmap-source-incomplete', 'ConceptMap.group[0].source', 'warning');
    expect(found(issues).map((i) => i.messageId)).not.toContain('conceptmap-source-code');
  });
});

describe('the map', () => {
  it('scopes are value sets', () => {
    const issues = check(map({ element: maleToFemale }, { sourceCanonical: undefined, sourceUri: GENDER, targetCanonical: 'http://hl7.org/fhir/StructureDefinition/Patient' }));
    expectIssue(issues, 'conceptmap-scope-not-valueset', 'ConceptMap.source');
    expectIssue(issues, 'conceptmap-scope-not-valueset', 'ConceptMap.target');
  });

  it('states each mapping once', () => {
    const element = [
      { code: 'male', target: [{ code: 'male', equivalence: 'equal' }, { code: 'male', equivalence: 'equal' }, { code: 'male', equivalence: 'wider' }] },
      { code: 'other', target: [{ equivalence: 'unmatched' }, { equivalence: 'disjoint' }] },
    ];
    const issues = check(map({ element }));
    expectIssue(issues, 'conceptmap-duplicate', 'ConceptMap.group[0].element[0].target[1]', 'warning');
    expectIssue(issues, 'conceptmap-duplicate-different', 'ConceptMap.group[0].element[0].target[2]', 'warning');
    expectIssue(issues, 'conceptmap-duplicate-different', 'ConceptMap.group[0].element[1].target[1]', 'warning');
  });
});
