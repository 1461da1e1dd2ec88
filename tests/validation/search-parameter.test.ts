/** The SearchParameter rules of the reference validator's SearchParameterValidator, each on a small real resource. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, useValidator } from './helpers.js';

const validator = useValidator([]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);
const GENDER = 'http://hl7.org/fhir/SearchParameter/individual-gender';

/** Through JSON, so that a property given as undefined is left out, as in a file. */
const parameter = (extra: Record<string, unknown>) => JSON.parse(JSON.stringify({
  resourceType: 'SearchParameter',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Gender</div>' },
  url: 'http://fhirdq.test/SearchParameter/gender',
  name: 'Gender',
  status: 'active',
  description: 'Gender of a patient',
  code: 'gender',
  base: ['Patient'],
  type: 'token',
  expression: 'Patient.gender',
  ...extra,
}));
const messageIds = (issues: ReturnType<typeof check>) => found(issues).map((i) => i.messageId).concat(found(issues, 'warning').map((i) => i.messageId));

describe('a parameter derived from another', () => {
  it('may narrow its bases and keep its paths for them', () => {
    const issues = check(parameter({ derivedFrom: GENDER }));
    expectNoErrors(issues);
    expect(messageIds(issues).filter((id) => id.startsWith('searchparameter-'))).toEqual([]);
  });

  it('may not add a base the parameter it derives from lacks', () => {
    const issues = check(parameter({ derivedFrom: GENDER, base: ['Observation'], expression: 'Observation.status' }));
    expectIssue(issues, 'searchparameter-base', 'SearchParameter');
    expectIssue(issues, 'searchparameter-expression', 'SearchParameter', 'warning');
  });

  it('keeps the type of the parameter it derives from', () => {
    expectIssue(check(parameter({ derivedFrom: GENDER, type: 'string' })), 'searchparameter-type', 'SearchParameter');
  });

  it('searching another path is flagged', () => {
    expectIssue(check(parameter({ derivedFrom: GENDER, expression: 'Patient.birthDate' })), 'searchparameter-expression', 'SearchParameter', 'warning');
  });

  it('from a parameter that is not at hand cannot be checked, and says so', () => {
    expectIssue(check(parameter({ derivedFrom: 'http://fhirdq.test/SearchParameter/nowhere' })), 'searchparameter-derived-unknown', 'SearchParameter', 'warning');
  });
});

describe('a composite parameter', () => {
  const component = (code: string) => ({ definition: `http://hl7.org/fhir/SearchParameter/Observation-${code}`, expression: code });

  it('combines two or more components', () => {
    const composite = { base: ['Observation'], type: 'composite', code: 'code-value', expression: 'Observation' };
    expectIssue(check(parameter({ ...composite, component: [component('code')] })), 'searchparameter-components', 'SearchParameter');
    expect(messageIds(check(parameter({ ...composite, component: [component('code'), component('value-quantity')] })))).not.toContain('searchparameter-components');
  });
});

describe('its expression', () => {
  it('names elements of its bases', () => {
    expectNoErrors(check(parameter({ expression: 'Patient.gender | Patient.link.other.where(resolve() is Patient)' })));
    const unknown = check(parameter({ expression: 'Patient.genderx' }));
    expectIssue(unknown, 'searchparameter-expression-error', 'SearchParameter.expression');
    expect(unknown.find((i) => i.messageId === 'searchparameter-expression-error')!.message).toBe(
      "Error in search expression 'Patient.genderx': The name genderx is not valid for any of the possible types: [Patient]",
    );
  });

  it('starts at one of its bases, parses, and calls known functions', () => {
    expectIssue(check(parameter({ expression: 'Observation.status' })), 'searchparameter-expression-error', 'SearchParameter.expression');
    expectIssue(check(parameter({ expression: 'Patient.gender.where(' })), 'searchparameter-expression-error', 'SearchParameter.expression');
    expectIssue(check(parameter({ expression: 'Patient.gender.whre(true)' })), 'searchparameter-expression-error', 'SearchParameter.expression');
  });

  it('is read on the type a base-type extension names', () => {
    const baseType = { extension: [{ url: 'http://hl7.org/fhir/tools/StructureDefinition/searchparameter-base-type', valueCode: 'Observation' }] };
    expectNoErrors(check(parameter({ base: ['Patient'], _base: [baseType], expression: 'Observation.status' })));
  });
});
