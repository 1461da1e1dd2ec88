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

describe('a filter', () => {
  const filtered = (system: string, ...filter: Record<string, unknown>[]) => check(valueSet([{ system, filter }]));
  const ids = (issues: ReturnType<typeof check>) => issues.filter((i) => i.messageId.startsWith('valueset-filter')).map((i) => `${i.severity} ${i.messageId} @ ${i.path}`);
  const LOINC = 'http://loinc.org';
  const SNOMED = 'http://snomed.info/sct';

  it('uses an operation its property allows', () => {
    expect(ids(filtered(SNOMED, { property: 'concept', op: 'is-a', value: '404684003' }))).toEqual([]);
    expect(ids(filtered(SNOMED, { property: 'concept', op: 'regex', value: '40.*' }))).toEqual([
      `error valueset-filter-op @ ${at}.filter[0]`, `error valueset-filter-regex-concept @ ${at}.filter[0]`,
    ]);
    expect(filtered(LOINC, { property: 'COMPONENT', op: 'is-a', value: 'LP1-1' }).find((i) => i.messageId === 'valueset-filter-op')!.message).toBe(
      "The operation 'is-a' is not allowed for property 'COMPONENT'. Allowed ops: =,regex,in,not-in,exists",
    );
  });

  it('names a property the code system has, or is told it may not be understood', () => {
    expect(ids(filtered(LOINC, { property: 'SCALE_TYP', op: '=', value: 'Qn' }))).toEqual([]);
    expect(ids(filtered(LOINC, { property: 'scale', op: '=', value: 'Qn' }))).toEqual([`warning valueset-filter-property-unknown @ ${at}.filter[0]`]);
    expect(ids(filtered('http://example.org/cs', { property: 'colour', op: '=', value: 'red' }))).toEqual([`information valueset-filter-property-unknown @ ${at}.filter[0]`]);
  });

  it('has a value of its property’s type', () => {
    expect(ids(filtered(SNOMED, { property: 'inactive', op: '=', value: 'yes' }))).toEqual([`error valueset-filter-boolean @ ${at}.filter[0]`]);
    expect(ids(filtered(SNOMED, { property: 'inactive', op: 'in', value: 'true,false' }))).toEqual([]);
    expect(ids(filtered(GENDER, { property: 'effectiveDate', op: '=', value: 'ge2020-13-01' }))).toEqual([`error valueset-filter-datetime @ ${at}.filter[0]`]);
    expect(ids(filtered(GENDER, { property: 'effectiveDate', op: '=', value: 'ge2020-12-01' }))).toEqual([]);
    expect(ids(filtered(GENDER, { property: 'itemWeight', op: '=', value: 'heavy' }))).toEqual([`error valueset-filter-decimal @ ${at}.filter[0]`]);
    expect(ids(filtered(LOINC, { property: 'SCALE_TYP', op: 'regex', value: '(Qn' }))).toEqual([`error valueset-filter-regex @ ${at}.filter[0]`]);
  });

  it('of a code system loaded here names its codes', () => {
    expect(ids(filtered(GENDER, { property: 'concept', op: 'is-a', value: 'male' }))).toEqual([]);
    expect(ids(filtered(GENDER, { property: 'concept', op: 'in', value: 'male,bogus' }))).toEqual([`error valueset-filter-code-unknown @ ${at}.filter[0]`]);
    expect(ids(filtered(GENDER, { property: 'code', op: '=', value: ' male' }))).toContain(`error valueset-filter-code @ ${at}.filter[0]`);
  });

  it('has a value or an expression, not both', () => {
    const expression = (text: string) => ({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/cqf-expression', valueExpression: { language: 'text/fhirpath', expression: text } }] });
    const parameter = { url: 'http://hl7.org/fhir/tools/StructureDefinition/valueset-parameter', extension: [{ url: 'name', valueCode: 'p-code' }] };
    const withExpression = (value: unknown, text: string) =>
      check(valueSet([{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a', ...(value === undefined ? {} : { value }), _value: expression(text) }] }], { extension: [parameter] }));
    expect(ids(check(valueSet([{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a' }] }])))).toEqual([`error valueset-filter-no-value @ ${at}.filter[0]`]);
    expect(ids(withExpression(undefined, '%p-code'))).toEqual([]);
    expect(ids(withExpression(undefined, '%p-other'))).toEqual([`error valueset-filter-expression-parameter @ ${at}.filter[0].extension.value`]);
    expect(ids(withExpression('404684003', '%p-code'))).toEqual([`error valueset-filter-value-and-expression @ ${at}.filter[0]`]);
  });
});
