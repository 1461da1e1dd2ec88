/** FHIRPath invariants: the core ones and a profile's own, each with a failing and a passing instance. */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

/** A Patient profile with `rules` on the Patient: [key, human, expression], each an error. */
const patientRules = (name: string, rules: [string, string, string][]) =>
  profile(name, 'Patient', [{ id: 'Patient', path: 'Patient', constraint: rules.map(([key, human, expression]) => ({ key, severity: 'error', human, expression, source: TEST + name })) }]);

const validator = useValidator([
  patientRules('ConformsPatient', [
    ['tst-3', 'Conforms to the core Patient', "conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')"],
    ['tst-4', 'Conforms to an unknown profile', "name.exists() implies conformsTo('http://fhirdq.test/StructureDefinition/unknown')"],
  ]),
  patientRules('MemberOfPatient', [
    ['tst-5', 'Married (a CodeableConcept)', "maritalStatus.exists() implies maritalStatus.memberOf('http://fhirdq.test/ValueSet/married')"],
    ['tst-6', 'Married (a Coding)', "maritalStatus.coding.count() = 1 implies maritalStatus.coding.memberOf('http://fhirdq.test/ValueSet/married')"],
    ['tst-7', 'Female (a code: its system taken from the value set)', "gender.exists() implies gender.memberOf('http://fhirdq.test/ValueSet/female')"],
    ['tst-8', 'An unknown value set', "gender.memberOf('http://fhirdq.test/ValueSet/unknown').not()"],
  ]),
  { resourceType: 'ValueSet', url: 'http://fhirdq.test/ValueSet/married', status: 'active', compose: { include: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', concept: [{ code: 'M' }] }] } },
  { resourceType: 'ValueSet', url: 'http://fhirdq.test/ValueSet/female', status: 'active', compose: { include: [{ system: 'http://hl7.org/fhir/administrative-gender', concept: [{ code: 'female' }] }] } },
  profile('InvariantPatient', 'Patient', [
    { id: 'Patient', path: 'Patient', constraint: [{ key: 'tst-1', severity: 'error', human: 'A birth date or a deceased flag is required', expression: 'birthDate.exists() or deceased.exists()', source: TEST + 'InvariantPatient' }] },
    { id: 'Patient.name', path: 'Patient.name', constraint: [{ key: 'tst-2', severity: 'warning', human: 'A name should have a family name', expression: 'family.exists()', source: TEST + 'InvariantPatient' }] },
  ]),
]);
const check = (resource: Record<string, unknown>, profileUrl?: string) => validator().validateToIssues(resource as never, { profile: profileUrl });

const observation = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });
/** An Observation with one contained Patient; the subject refers to it unless told otherwise. */
const withContained = (contained: Record<string, unknown>, reference = '#p') => observation({ contained: [{ resourceType: 'Patient', id: 'p', ...contained }], subject: { reference } });

describe('core invariants', () => {
  it('ele-1: elements have a value or children', () => {
    expectIssue(check({ resourceType: 'Patient', maritalStatus: {} }), 'constraint-ele-1', 'Patient.maritalStatus');
    expectNoErrors(check({ resourceType: 'Patient', maritalStatus: { text: 'gehuwd' } }));
  });

  it('ext-1: an extension has a value or extensions, not both and not neither', () => {
    const ext = (e: Record<string, unknown>) => ({ resourceType: 'Patient', extension: [{ url: 'http://fhirdq.test/ext/any', ...e }] });
    expectIssue(check(ext({})), 'constraint-ext-1', 'Patient.extension[0]');
    expectIssue(check(ext({ valueString: 'x', extension: [{ url: 'http://fhirdq.test/ext/part', valueString: 'y' }] })), 'constraint-ext-1', 'Patient.extension[0]');
    expectNoErrors(check(ext({ valueString: 'x' })));
    // A value with only extensions of its own is a value (as in CodeSystem-v2-0207 of the R4 examples).
    expectNoErrors(check(ext({ _valueString: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } })));
  });

  it('dom-2: contained resources contain no resources', () => {
    const nested = withContained({ contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }], managingOrganization: { reference: '#o' } });
    expectIssue(check(nested), 'constraint-dom-2', 'Observation');
    expectNoErrors(check(withContained({})));
  });

  it('dom-3: contained resources are referenced from elsewhere in the resource, each orphan named as the reference does', () => {
    const issues = check(observation({ contained: [{ resourceType: 'Patient', id: 'p' }] }));
    expectIssue(issues, 'contained-orphan', 'Observation.contained[0]');
    expect(found(issues).map((i) => i.messageId)).not.toContain('constraint-dom-3');
    expectNoErrors(check(withContained({})));
  });

  it('dom-3: a canonical member of the resource itself names a contained resource (QuestionnaireResponse.questionnaire #q)', () => {
    const response = {
      resourceType: 'QuestionnaireResponse',
      contained: [
        { resourceType: 'Questionnaire', id: 'q', status: 'active', item: [{ linkId: '1', type: 'choice', answerValueSet: '#vs' }] },
        { resourceType: 'ValueSet', id: 'vs', status: 'active' },
      ],
      questionnaire: '#q',
      status: 'completed',
    };
    expect(found(check(response)).map((i) => i.messageId)).not.toContain('contained-orphan');
  });

  it('dom-3: a contained resource referred to only from a referenced contained resource counts as referenced', () => {
    const chained = observation({
      contained: [{ resourceType: 'Patient', id: 'p', managingOrganization: { reference: '#o' } }, { resourceType: 'Organization', id: 'o', name: 'x' }],
      subject: { reference: '#p' },
    });
    expectNoErrors(check(chained));
  });

  it('dom-4: contained resources have no meta.versionId or meta.lastUpdated', () => {
    expectIssue(check(withContained({ meta: { versionId: '1' } })), 'constraint-dom-4', 'Observation');
    expectIssue(check(withContained({ meta: { lastUpdated: '2024-01-01T00:00:00Z' } })), 'constraint-dom-4', 'Observation');
    expectNoErrors(check(withContained({ meta: { source: 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520' } })));
  });

  it('dom-5: contained resources have no security labels', () => {
    expectIssue(check(withContained({ meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] } })), 'constraint-dom-5', 'Observation');
    expectNoErrors(check(withContained({ meta: { tag: [{ system: 'http://fhirdq.test/tags', code: 'x' }] } })));
  });

  it('ref-1: a local reference needs its contained resource', () => {
    const issues = check(withContained({}, '#q'));
    expectIssue(issues, 'constraint-ref-1', 'Observation.subject');
    expect(found(check(withContained({}))).map((i) => i.messageId)).not.toContain('constraint-ref-1');
  });

  it('per-1: a period starts before it ends', () => {
    const period = (start: string, end: string) => ({ resourceType: 'Patient', address: [{ city: 'Utrecht', period: { start, end } }] });
    expectIssue(check(period('2024-02-01', '2024-01-01')), 'constraint-per-1', 'Patient.address[0].period');
    expectNoErrors(check(period('2024-01-01', '2024-02-01')));
  });

  it('obs-6: dataAbsentReason only when there is no value', () => {
    const absent = { dataAbsentReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'unknown' }] } };
    expectIssue(check(observation({ valueString: 'x', ...absent })), 'constraint-obs-6', 'Observation');
    expectNoErrors(check(observation(absent)));
  });

  it('obs-7: no value when a component carries the observation code', () => {
    const code = { coding: [{ system: 'http://fhirdq.test/CodeSystem/obs', code: 'bp' }] };
    const component = { code, valueQuantity: { value: 120 } };
    expectIssue(check(observation({ code, valueString: 'x', component: [component] })), 'constraint-obs-7', 'Observation');
    expectNoErrors(check(observation({ code, component: [component] })));
    expectNoErrors(check(observation({ code, valueString: 'x', component: [{ code: { text: 'other' }, valueQuantity: { value: 1 } }] })));
  });

  it('ras-1 and ras-2 on a decimal element: evaluated (fhirpath.js cannot take a number as its base), ras-2 failed above 100', () => {
    const risk = (probabilityDecimal: number) => check({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' }, prediction: [{ probabilityDecimal }] });
    const undecided = (issues: ReturnType<typeof check>) => issues.filter((i) => i.messageId === 'invariant-evaluation-failed');
    expect(undecided(risk(50))).toEqual([]);
    expectNoErrors(risk(50));
    expect(undecided(risk(101))).toEqual([]);
    expectIssue(risk(101), 'constraint-ras-2', 'RiskAssessment.prediction[0]');
  });

  it('pat-1: a contact has a name, telecom, address or organization', () => {
    expectIssue(check({ resourceType: 'Patient', contact: [{ name: { family: 'A' } }, { gender: 'male' }] }), 'constraint-pat-1', 'Patient.contact[1]');
    expectNoErrors(check({ resourceType: 'Patient', contact: [{ gender: 'male', telecom: [{ system: 'phone', value: '010' }] }] }));
  });
});

describe("a profile's own invariants", () => {
  const INVARIANT_PATIENT = TEST + 'InvariantPatient';

  it('error severity on the resource', () => {
    expectIssue(check({ resourceType: 'Patient', gender: 'male' }, INVARIANT_PATIENT), 'constraint-tst-1', 'Patient');
    expectNoErrors(check({ resourceType: 'Patient', birthDate: '1970' }, INVARIANT_PATIENT));
    expectNoErrors(check({ resourceType: 'Patient', deceasedBoolean: true }, INVARIANT_PATIENT));
    // Without the profile the invariant does not apply.
    expectNoErrors(check({ resourceType: 'Patient', gender: 'male' }));
  });

  it('warning severity on a repeating element, per item', () => {
    const issues = check({ resourceType: 'Patient', birthDate: '1970', name: [{ family: 'A' }, { given: ['B'] }] }, INVARIANT_PATIENT);
    expectIssue(issues, 'constraint-tst-2', 'Patient.name[1]', 'warning');
    expect(found(issues).map((i) => i.path)).not.toContain('Patient.name[0]');
    expectNoErrors(issues);
  });
});

describe('conformsTo()', () => {
  const conforms = (resource: Record<string, unknown>) => check(resource, TEST + 'ConformsPatient');

  it('is true for a resource that conforms to the profile and false for one that does not', () => {
    expect(found(conforms({ resourceType: 'Patient', gender: 'female' })).map((i) => i.messageId)).not.toContain('constraint-tst-3');
    expectIssue(conforms({ resourceType: 'Patient', gender: 'not-a-gender' }), 'constraint-tst-3', 'Patient');
  });

  it('cannot decide on an unknown profile: a warning that the invariant could not be evaluated', () => {
    const issues = conforms({ resourceType: 'Patient', name: [{ family: 'Jansen' }] });
    expectIssue(issues, 'invariant-evaluation-failed', 'Patient', 'warning');
    expect(issues.find((i) => i.messageId === 'invariant-evaluation-failed')!.message).toContain('http://fhirdq.test/StructureDefinition/unknown is unknown');
  });
});

describe('memberOf()', () => {
  // The profile's own rules and any invariant that could not be evaluated: the narrative's dom-6 is beside the point.
  const member = (resource: Record<string, unknown>) =>
    check({ resourceType: 'Patient', ...resource }, TEST + 'MemberOfPatient')
      .filter((i) => i.messageId.startsWith('constraint-tst') || i.messageId === 'invariant-evaluation-failed')
      .map((i) => `${i.severity} ${i.messageId}`);
  const maritalStatus = (code: string) => ({ maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code }] } });

  it('is true for a code, Coding or CodeableConcept in the value set, false for one not in it', () => {
    expect(member({ ...maritalStatus('M'), gender: 'female' })).toEqual([]);
    expect(member(maritalStatus('S'))).toEqual(['error constraint-tst-5', 'error constraint-tst-6']);
    expect(member({ gender: 'male' })).toEqual(['error constraint-tst-7']);
  });

  it('is true for a CodeableConcept when any of its codings is in the value set', () => {
    const twoCodings = { maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'S' }, { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] } };
    expect(member(twoCodings)).toEqual([]);
  });

  it('is empty for an unknown value set, as in the reference: the invariant is not failed', () => {
    expect(member({ gender: 'female' })).toEqual([]);
  });
});

describe('invariants as the reference evaluates them (its FHIRPathExpressionFixer)', () => {
  const narrative = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
  const ids = (issues: ReturnType<typeof check>) => issues.map((i) => `${i.severity} ${i.messageId}`);

  it('que-12: two enableWhen already need an enableBehavior', () => {
    const item = (enableWhen: number, extra: Record<string, unknown> = {}) => ({
      resourceType: 'Questionnaire', text: narrative, status: 'active',
      item: [{ linkId: 'a', type: 'boolean' }, { linkId: 'b', type: 'string', enableWhen: Array.from({ length: enableWhen }, () => ({ question: 'a', operator: '=', answerBoolean: true })), ...extra }],
    });
    expectIssue(check(item(2)), 'constraint-que-12', 'Questionnaire.item[1]');
    expectNoErrors(check(item(2, { enableBehavior: 'all' })));
    expectNoErrors(check(item(1)));
  });

  it('que-7: an exists condition with a boolean answer passes (a FHIR boolean is Boolean)', () => {
    const exists = { resourceType: 'Questionnaire', text: narrative, status: 'active', item: [{ linkId: 'a', type: 'boolean' }, { linkId: 'b', type: 'string', enableWhen: [{ question: 'a', operator: 'exists', answerBoolean: true }] }] };
    expectNoErrors(check(exists));
  });

  it('names and element paths are matched whole (sdf-0 and its kind, eld-20)', () => {
    const codeSystem = (name: string) => ({ resourceType: 'CodeSystem', text: narrative, url: 'http://fhirdq.test/CodeSystem/x', name, status: 'draft', content: 'not-present' });
    expect(ids(check(codeSystem('My codes')))).toContain('warning constraint-csd-0');
    expect(ids(check(codeSystem('MyCodes')))).not.toContain('warning constraint-csd-0');
    const definition = (path: string) => ({
      resourceType: 'StructureDefinition', text: narrative, url: 'http://fhirdq.test/StructureDefinition/x', name: 'X', status: 'draft', kind: 'logical', abstract: false,
      type: 'http://fhirdq.test/StructureDefinition/x', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Base', derivation: 'specialization',
      differential: { element: [{ id: 'X', path: 'X' }, { id: path, path }] },
    });
    expect(ids(check(definition('X.Name')))).toContain('warning constraint-eld-20');
    expect(ids(check(definition('X.name')))).not.toContain('warning constraint-eld-20');
  });

  it('dom-6: a contained resource needs no narrative of its own', () => {
    const issues = check(observation({ text: narrative, contained: [{ resourceType: 'Patient', id: 'p' }], subject: { reference: '#p' } }));
    expect(issues.filter((i) => i.messageId === 'constraint-dom-6')).toEqual([]);
    expect(ids(check(observation()))).toContain('warning constraint-dom-6');
  });
});
