/** The ValueSet rules of the reference validator's ValueSetValidator that a locally loaded code system answers. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, useValidator } from './helpers.js';

const SUPPLEMENT = 'http://fhirdq.test/cs/gender-nl';
/** A supplement of the core gender codes: a value set must include the code system it supplements instead. */
const supplement = { resourceType: 'CodeSystem', url: SUPPLEMENT, status: 'active', content: 'supplement', supplements: 'http://hl7.org/fhir/administrative-gender' };
const validator = useValidator([{ ...supplement, concept: [{ code: 'male', designation: [{ language: 'nl', value: 'man' }] }] }]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);
const GENDER = 'http://hl7.org/fhir/administrative-gender';
const valueSet = (include: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  resourceType: 'ValueSet',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Genders</div>' },
  url: 'http://fhirdq.test/ValueSet/genders',
  status: 'active',
  compose: { include },
  ...extra,
});
const at = 'ValueSet.compose.include[0]';

describe('an include', () => {
  it('passes when it lists codes of a loaded code system, with their displays', () => {
    const issues = check(valueSet([{ system: GENDER, concept: [{ code: 'male', display: 'Male' }, { code: 'female' }] }]));
    expectNoErrors(issues);
    expect(found(issues, 'information').map((i) => i.messageId)).not.toContain('valueset-concept-display');
  });

  it('lists only codes its code system defines, in includes and excludes', () => {
    const issues = check(valueSet([{ system: GENDER, concept: [{ code: 'male' }, { code: 'bogus' }] }], {}));
    expectIssue(issues, 'valueset-unknown-code', `${at}.concept[1]`);
    const excluded = check({ ...valueSet([{ system: GENDER }]), compose: { include: [{ system: GENDER }], exclude: [{ system: GENDER, concept: [{ code: 'bogus' }] }] } });
    expectIssue(excluded, 'valueset-unknown-code', 'ValueSet.compose.exclude[0].concept[0]');
  });

  it('gives a display the code system gives, or is told so', () => {
    expectIssue(check(valueSet([{ system: GENDER, concept: [{ code: 'male', display: 'Man' }] }])), 'valueset-concept-display', `${at}.concept[0]`, 'information');
  });

  it('names its system absolutely, without a version in the URI', () => {
    expectIssue(check(valueSet([{ system: 'gender' }])), 'valueset-system-absolute', at);
    expectIssue(check(valueSet([{ system: `${GENDER}|4.0.1` }])), 'valueset-system-version', at);
  });

  it('names a contained code system only when it is there', () => {
    const issues = check(valueSet([{ system: '#local' }], { contained: [{ resourceType: 'Basic', id: 'local', code: { text: 'x' } }] }));
    expectIssue(issues, 'valueset-contained-not-codesystem', at);
    expectIssue(issues, 'valueset-contained-not-found', at);
  });

  it('names a code system, not a value set, a supplement or an OID of a loaded code system', () => {
    expectIssue(check(valueSet([{ system: 'http://hl7.org/fhir/ValueSet/administrative-gender' }])), 'valueset-system-is-valueset', at);
    expectIssue(check(valueSet([{ system: SUPPLEMENT }])), 'valueset-system-supplement', at);
    expectIssue(check(valueSet([{ system: 'urn:oid:2.16.840.1.113883.4.642.4.2' }])), 'valueset-system-oid', at);
  });

  it('imports value sets, one per include', () => {
    const issues = check(valueSet([{ valueSet: [GENDER, 'http://hl7.org/fhir/ValueSet/marital-status'] }]));
    expectIssue(issues, 'valueset-import-type', `${at}.valueSet[0]`, 'warning');
    expectIssue(issues, 'valueset-import-several', at, 'warning');
  });
});
