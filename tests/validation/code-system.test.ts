/** The CodeSystem rules of the reference validator's CodeSystemValidator, each on a small real resource. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, useValidator } from './helpers.js';

const allCodesTwoIncludes = {
  resourceType: 'ValueSet',
  url: 'http://fhirdq.test/ValueSet/two-includes',
  status: 'active',
  compose: { include: [{ system: 'http://fhirdq.test/cs/colours' }, { system: 'http://fhirdq.test/cs/other' }] },
};
const allCodesWithConcepts = {
  resourceType: 'ValueSet',
  url: 'http://fhirdq.test/ValueSet/colours-some',
  status: 'active',
  compose: { include: [{ system: 'http://fhirdq.test/cs/colours', concept: [{ code: 'red' }] }] },
};
const validator = useValidator([allCodesTwoIncludes, allCodesWithConcepts]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);
const narrative = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Colours</div>' };

/** A valid complete code system, to vary one rule at a time. */
const colours = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'CodeSystem',
  id: 'colours',
  text: narrative,
  url: 'http://fhirdq.test/cs/colours',
  name: 'Colours',
  status: 'active',
  content: 'complete',
  caseSensitive: true,
  hierarchyMeaning: 'is-a',
  count: 3,
  property: [{ code: 'parent', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' }],
  concept: [
    { code: 'red', display: 'Red', concept: [{ code: 'crimson', display: 'Crimson', property: [{ code: 'parent', valueCode: 'red' }] }] },
    { code: 'blue', display: 'Blue' },
  ],
  ...extra,
});

describe('a complete code system', () => {
  it('passes when its content, count, properties and concepts agree', () => {
    const issues = check(colours());
    expectNoErrors(issues);
    expect(found(issues, 'warning').filter((i) => i.messageId.startsWith('codesystem-'))).toEqual([]);
  });

  it('must have as many concepts as it states, nested ones included', () => {
    expectIssue(check(colours({ count: 2 })), 'codesystem-count-complete', 'CodeSystem.count');
  });

  it('without concepts is advised against', () => {
    expectIssue(check(colours({ concept: undefined, count: undefined, property: undefined })), 'codesystem-complete-empty', 'CodeSystem', 'warning');
  });

  it('defines each code once, across the hierarchy', () => {
    const issues = check(colours({ count: 4, concept: [...colours().concept, { code: 'crimson', display: 'Crimson again' }] }));
    expectIssue(issues, 'codesystem-duplicate-code', 'CodeSystem.concept[2]');
    expectIssue(issues, 'constraint-csd-1', 'CodeSystem');
  });

  it('states a hierarchy meaning when it has a hierarchy', () => {
    expectIssue(check(colours({ hierarchyMeaning: undefined })), 'codesystem-missing-element', 'CodeSystem', 'information');
  });
});

describe('content', () => {
  it('not-present allows no concepts', () => {
    expectIssue(check(colours({ content: 'not-present', count: undefined })), 'codesystem-no-content-allowed', 'CodeSystem.concept[0]');
  });

  it('a fragment states more concepts than it holds', () => {
    expectIssue(check(colours({ content: 'fragment', count: 3 })), 'codesystem-count-fragment', 'CodeSystem.count', 'warning');
    expect(found(check(colours({ content: 'fragment', count: 300 })), 'warning').map((i) => i.messageId)).not.toContain('codesystem-count-fragment');
  });
});

describe('supplements', () => {
  const supplement = (extra: Record<string, unknown>) => ({
    resourceType: 'CodeSystem',
    id: 'gender-nl',
    text: narrative,
    url: 'http://fhirdq.test/cs/gender-nl',
    name: 'GenderNl',
    status: 'active',
    content: 'supplement',
    supplements: 'http://hl7.org/fhir/administrative-gender',
    concept: [{ code: 'male', designation: [{ language: 'nl', value: 'man' }] }],
    ...extra,
  });

  it('may add designations to the codes of the code system they supplement', () => {
    expectNoErrors(check(supplement({})));
  });

  it('may not add codes of their own', () => {
    const issues = check(supplement({ concept: [{ code: 'male' }, { code: 'banana' }] }));
    expectIssue(issues, 'codesystem-supplement-code', 'CodeSystem.concept[1]');
    expect(found(issues, 'error').filter((i) => i.path === 'CodeSystem.concept[0]')).toEqual([]);
  });

  it('have content supplement and no case sensitivity of their own', () => {
    const issues = check(supplement({ content: 'complete', caseSensitive: true }));
    expectIssue(issues, 'codesystem-supplement-content', 'CodeSystem.content');
    expectIssue(issues, 'codesystem-supplement-element', 'CodeSystem.caseSensitive');
  });

  it('name the code system they supplement', () => {
    const issues = check(supplement({ supplements: undefined }));
    expectIssue(issues, 'codesystem-supplement-missing', 'CodeSystem.content');
    expectIssue(issues, 'codesystem-supplement-no-supplements', 'CodeSystem');
  });

  it('of a code system not at hand cannot be checked, and say so', () => {
    const issues = check(supplement({ supplements: 'http://fhirdq.test/cs/unknown', concept: [{ code: 'x' }] }));
    expectIssue(issues, 'codesystem-supplement-unknown', 'CodeSystem', 'warning');
    expect(found(issues, 'error').map((i) => i.messageId)).not.toContain('codesystem-supplement-code');
  });
});

describe('the all-codes value set', () => {
  it('has a single include', () => {
    expectIssue(check(colours({ valueSet: allCodesTwoIncludes.url })), 'codesystem-valueset-invalid', 'CodeSystem');
  });

  it('includes the whole system, not chosen concepts', () => {
    expectIssue(check(colours({ valueSet: allCodesWithConcepts.url })), 'codesystem-valueset-details', 'CodeSystem');
  });
});

describe('property definitions and values', () => {
  it('a property code and URI are each defined once', () => {
    const issues = check(colours({ property: [...colours().property, { code: 'parent', uri: 'http://fhirdq.test/parent', type: 'code' }] }));
    expectIssue(issues, 'codesystem-property-duplicate-code', 'CodeSystem.property[1]');
  });

  it('HL7 namespace URIs name known properties, with their code and type', () => {
    const issues = check(colours({
      property: [
        { code: 'parent', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' },
        { code: 'mine', uri: 'http://hl7.org/fhir/concept-properties#mine', type: 'string' },
        { code: 'partOf', uri: 'http://hl7.org/fhir/concept-properties#child', type: 'string' },
      ],
    }));
    expectIssue(issues, 'codesystem-property-hl7-uri', 'CodeSystem.property[1]');
    expectIssue(issues, 'codesystem-property-uri-code', 'CodeSystem.property[2]');
    expectIssue(issues, 'codesystem-property-uri-type', 'CodeSystem.property[2]');
  });

  it('a parent names a concept of the code system', () => {
    const concept = [{ code: 'red', display: 'Red', concept: [{ code: 'crimson', display: 'Crimson', property: [{ code: 'parent', valueCode: 'rouge' }] }] }, { code: 'blue', display: 'Blue' }];
    expectIssue(check(colours({ concept })), 'codesystem-property-bad-reference', 'CodeSystem.concept[0].concept[0].property[0]');
  });

  it('a value has the type its property defines, and an undefined property is flagged', () => {
    const concept = [{ code: 'red', display: 'Red', property: [{ code: 'parent', valueString: 'blue' }, { code: 'shade', valueString: 'dark' }] }, { code: 'blue', display: 'Blue' }];
    const issues = check(colours({ concept, count: 2 }));
    expectIssue(issues, 'codesystem-property-type', 'CodeSystem.concept[0].property[0]');
    expectIssue(issues, 'codesystem-property-undefined', 'CodeSystem.concept[0].property[1]', 'warning');
  });
});

describe('where a code system stands', () => {
  it('contained in anything but a Questionnaire is advised against', () => {
    const patient = {
      resourceType: 'Patient',
      text: narrative,
      contained: [{ ...colours(), text: undefined }],
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-genderIdentity', valueCodeableConcept: { coding: [{ system: 'http://fhirdq.test/cs/colours', code: 'red' }] } }],
    };
    expectIssue(check(patient), 'codesystem-contained', 'Patient.contained[0]', 'information');
  });

  it('a designation without a use, in the display language, should say the display', () => {
    const concept = [{ code: 'red', display: 'Red', designation: [{ value: 'Scarlet' }] }, { code: 'blue', display: 'Blue' }];
    expectIssue(check(colours({ concept, count: 2 })), 'codesystem-designation-clash', 'CodeSystem.concept[0].designation[0]', 'warning');
  });
});
