/** Bindings and code systems, offline: required and extensible bindings, displays, codes that cannot be checked. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const CS = 'http://fhirdq.test/CodeSystem/meting';
const VS = 'http://fhirdq.test/ValueSet/meting';
const SNOMED_VS = 'http://fhirdq.test/ValueSet/snomed';
const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
const TRANSLATED_VS = 'http://fhirdq.test/ValueSet/vertaald';

const validator = useValidator([
  {
    resourceType: 'CodeSystem',
    url: CS,
    name: 'Meting',
    status: 'active',
    content: 'complete',
    caseSensitive: true,
    concept: [
      { code: 'gewicht', display: 'Gewicht' },
      { code: 'lengte', display: 'Lengte' },
    ],
  },
  { resourceType: 'ValueSet', url: VS, name: 'Meting', status: 'active', compose: { include: [{ system: CS }] } },
  // Supplements: one by its content, one (as upstream's supplement-1) complete but saying what it supplements.
  { resourceType: 'CodeSystem', url: CS + '-nl', status: 'active', content: 'supplement', supplements: CS, concept: [{ code: 'gewicht', designation: [{ language: 'nl', value: 'Gewicht' }] }] },
  { resourceType: 'CodeSystem', url: CS + '-extra', status: 'active', content: 'complete', supplements: 'http://loinc.org', concept: [{ code: 'test', display: 'test code' }] },
  { resourceType: 'ValueSet', url: SNOMED_VS, name: 'Snomed', status: 'active', compose: { include: [{ system: 'http://snomed.info/sct' }] } },
  // Words of its own for the codes, in an expansion (as upstream's patient-translated-codes).
  {
    resourceType: 'ValueSet',
    url: TRANSLATED_VS,
    name: 'Vertaald',
    status: 'active',
    expansion: {
      timestamp: '2026-01-01T00:00:00Z',
      contains: [
        { system: CS, code: 'gewicht', display: 'Lichaamsgewicht' },
        { system: CS, code: 'lengte', designation: [{ value: 'Lichaamslengte' }] },
      ],
    },
  },
  profile('TranslatedObservation', 'Observation', [{ id: 'Observation.code', path: 'Observation.code', binding: { strength: 'required', valueSet: TRANSLATED_VS } }]),
  profile('BoundObservation', 'Observation', [
    { id: 'Observation.code', path: 'Observation.code', binding: { strength: 'required', valueSet: VS } },
    { id: 'Observation.method', path: 'Observation.method', binding: { strength: 'required', valueSet: SNOMED_VS } },
  ]),
]);
const check = (resource: Record<string, unknown>, profileUrl?: string) => validator().validateToIssues(resource as never, { profile: profileUrl });

const BOUND = TEST + 'BoundObservation';
const observation = (code: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code, ...extra });
const coded = (system: string, code: string, display?: string) => ({ coding: [{ system, code, ...(display ? { display } : {}) }] });

describe('required binding on a code', () => {
  it('administrative-gender', () => {
    expectIssue(check({ resourceType: 'Patient', gender: 'man' }), 'TX_BINDING_REQUIRED', 'Patient.gender');
    expectIssue(check({ resourceType: 'Patient', gender: 'Female' }), 'TX_BINDING_REQUIRED', 'Patient.gender');
    for (const gender of ['male', 'female', 'other', 'unknown']) expectNoErrors(check({ resourceType: 'Patient', gender }));
  });

  it('the status code of a resource', () => {
    expectIssue(check(observation({ text: 'x' }, { status: 'done' })), 'TX_BINDING_REQUIRED', 'Observation.status');
  });
});

describe('required binding on a CodeableConcept, from loaded packages', () => {
  it('a code from the bound value set passes', () => {
    expectNoErrors(check(observation(coded(CS, 'gewicht')), BOUND));
    expectNoErrors(check(observation(coded(CS, 'gewicht', 'Gewicht')), BOUND));
  });

  it('a code from another system fails the binding', () => {
    const issues = check(observation(coded('http://fhirdq.test/CodeSystem/other', 'x')), BOUND);
    expectIssue(issues, 'TX_BINDING_REQUIRED', 'Observation.code');
  });

  it('an unknown code of a complete code system is an error at the code, with or without binding', () => {
    expectIssue(check(observation(coded(CS, 'omtrek')), BOUND), 'TX_UNKNOWN_CODE', 'Observation.code.coding[0].code');
    expectIssue(check(observation(coded(CS, 'omtrek'))), 'TX_UNKNOWN_CODE', 'Observation.code.coding[0].code');
  });

  it('checks the display against the code system', () => {
    const issues = check(observation(coded(CS, 'gewicht', 'Lengte')), BOUND);
    expectIssue(issues, 'TX_WRONG_DISPLAY', 'Observation.code.coding[0].display');
    expect(found(check(observation(coded(CS, 'gewicht', 'Gewicht')), BOUND)).map((i) => i.messageId)).not.toContain('TX_WRONG_DISPLAY');
  });
});

describe('extensible binding on a CodeableConcept', () => {
  const marital = (coding: Record<string, unknown>) => ({ resourceType: 'Patient', maritalStatus: { coding: [coding] } });

  it('a code from outside the value set is a warning, not an error', () => {
    const issues = check(marital({ system: 'http://fhirdq.test/CodeSystem/burgerlijke-staat', code: 'samenwonend' }));
    expectIssue(issues, 'TX_BINDING_EXTENSIBLE', 'Patient.maritalStatus', 'warning');
    expectNoErrors(issues);
  });

  it('a code from the value set raises nothing', () => {
    const issues = check(marital({ system: MARITAL, code: 'M', display: 'Married' }));
    expectNoErrors(issues);
    expect(found(issues).map((i) => i.messageId)).not.toContain('TX_BINDING_EXTENSIBLE');
  });

  it('the display of a v3 code is checked', () => {
    expectIssue(check(marital({ system: MARITAL, code: 'M', display: 'Gescheiden' })), 'TX_WRONG_DISPLAY', 'Patient.maritalStatus.coding[0].display');
  });
});

describe('code systems that are not available offline', () => {
  it('SNOMED CT and LOINC codes are information (not checkable), never errors', () => {
    const issues = check(observation({ coding: [{ system: 'http://snomed.info/sct', code: '271649006' }, { system: 'http://loinc.org', code: '8480-6' }] }));
    expectIssue(issues, 'TX_NOT_CHECKABLE', 'Observation.code.coding[0]', 'information');
    expectIssue(issues, 'TX_NOT_CHECKABLE', 'Observation.code.coding[1]', 'information');
    expectNoErrors(issues);
  });

  it('not even under a required binding to a SNOMED CT value set', () => {
    const issues = check(observation(coded(CS, 'gewicht'), { method: coded('http://snomed.info/sct', '123456789') }), BOUND);
    expectNoErrors(issues);
    // The same binding does fail a code from a system that is loaded.
    expectIssue(check(observation(coded(CS, 'gewicht'), { method: coded(CS, 'lengte') }), BOUND), 'TX_BINDING_REQUIRED', 'Observation.method');
  });

  it('a supplement is no code system a Coding can name: an error, as in the reference', () => {
    for (const system of [CS + '-nl', CS + '-extra']) {
      const code = system.endsWith('-nl') ? 'gewicht' : 'test';
      const issues = check(observation(coded(system, code)));
      expectIssue(issues, 'TX_SYSTEM_SUPPLEMENT', 'Observation.code.coding[0]');
      expect(issues.find((i) => i.messageId === 'TX_SYSTEM_SUPPLEMENT')!.message).toBe(
        `CodeSystem ${system} is a supplement, so can't be used as a value in Coding.system for '${system}#${code}'`,
      );
    }
  });

  it('an unknown code system is a warning', () => {
    const issues = check(observation(coded('http://fhirdq.test/CodeSystem/nobody', 'x')));
    expect(found(issues, 'warning').map((i) => i.messageId)).toContain('TX_UNKNOWN_SYSTEM');
    expectNoErrors(issues);
  });
});

describe('UCUM units of a Quantity', () => {
  it('are checked by their grammar', () => {
    const weight = (code: string) => observation({ text: 'gewicht' }, { valueQuantity: { value: 70, unit: code, system: 'http://unitsofmeasure.org', code } });
    expectIssue(check(weight('kilo')), 'TX_UNKNOWN_CODE', 'Observation.valueQuantity.code');
    expectNoErrors(check(weight('kg')));
    expectNoErrors(check(weight('mm[Hg]')));
  });
});

describe('displays in the context of a value set', () => {
  const wrongDisplays = (issues: ReturnType<typeof check>) => issues.filter((i) => i.messageId === 'TX_WRONG_DISPLAY').map((i) => i.path);

  it("a concept's codings may carry the display or a designation its bound value set gives, as in the reference", () => {
    expect(wrongDisplays(check(observation(coded(CS, 'gewicht', 'Lichaamsgewicht')), TEST + 'TranslatedObservation'))).toEqual([]);
    expect(wrongDisplays(check(observation(coded(CS, 'lengte', 'Lichaamslengte')), TEST + 'TranslatedObservation'))).toEqual([]);
    // Without that binding the code system's display is the only one.
    expect(wrongDisplays(check(observation(coded(CS, 'gewicht', 'Lichaamsgewicht'))))).toEqual(['Observation.code.coding[0].display']);
  });

  it("a concept's wrong display is reported once, by the concept, not again by its coding", () => {
    const issues = check(observation(coded(CS, 'gewicht', 'Gewichtje')), BOUND);
    expect(wrongDisplays(issues)).toEqual(['Observation.code.coding[0].display']);
  });
});
