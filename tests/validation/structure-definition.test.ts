/** The StructureDefinition rules of the reference validator's StructureDefinitionValidator, on profiles validated as resources. */
import { describe, expect, it } from 'vitest';
import { CORE, expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const validator = useValidator([]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);
const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">A profile</div>' };
const patientProfile = (elements: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  ({ ...profile('Checked', 'Patient', [{ id: 'Patient', path: 'Patient' }, ...elements], extra), text });
const errorsAt = (issues: ReturnType<typeof check>, messageId: string) => found(issues, 'error').filter((i) => i.messageId === messageId).map((i) => i.path);
const element = (i: number) => `StructureDefinition.differential.element[${i}]`;

describe('a profile as a whole', () => {
  it('passes when it constrains its base as a profile may', () => {
    expectNoErrors(check(patientProfile([{ id: 'Patient.name', path: 'Patient.name', min: 1 }])));
  });

  it('has a derivation, keeps its base’s kind and type', () => {
    expectIssue(check(patientProfile([], { derivation: undefined })), 'sd-no-derivation', 'StructureDefinition');
    const wrongKind = check(patientProfile([], { kind: 'complex-type' }));
    expectIssue(wrongKind, 'sd-kind', 'StructureDefinition');
    expectIssue(wrongKind, 'sd-derivation-kind', 'StructureDefinition');
    expectIssue(check(patientProfile([], { type: 'Person' })), 'sd-constraint-type', 'StructureDefinition');
  });

  it('names a type of the specification, or as a logical model a URL of its own', () => {
    const model = (type: string, kind: string) => ({ ...patientProfile([]), type, kind, derivation: 'specialization', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Base' });
    expectIssue(check(model('Thing', 'logical')), 'sd-type-not-local', 'StructureDefinition.type');
    expectIssue(check(model('http://fhirdq.test/Thing', 'resource')), 'sd-type-not-logical', 'StructureDefinition.type');
    expectIssue(check(model('Patient', 'logical')), 'sd-type-not-derived', 'StructureDefinition.type');
    const logical = check(model('http://fhirdq.test/Thing', 'logical'));
    expect(found(logical, 'error').filter((i) => i.messageId.startsWith('sd-type-'))).toEqual([]);
    // Its own rules stand in for the binding to FHIRDefinedType, as in the reference.
    expect(found(logical, 'warning').filter((i) => i.path === 'StructureDefinition.type')).toEqual([]);
  });

  it('names no extension context unless it defines an extension', () => {
    expectIssue(check(patientProfile([], { context: [{ type: 'element', expression: 'Patient' }] })), 'sd-context-not-extension', 'StructureDefinition.context[0]');
  });

  it('an extension fixes Extension.url to its own url', () => {
    const extension = (url: string | undefined) => ({
      ...profile('Flag', 'Extension', [
        { id: 'Extension', path: 'Extension' },
        { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
        { id: 'Extension.url', path: 'Extension.url', ...(url ? { fixedUri: url } : {}) },
        { id: 'Extension.value[x]', path: 'Extension.value[x]', type: [{ code: 'boolean' }] },
      ], { context: [{ type: 'element', expression: 'Patient' }] }),
      text,
    });
    expectNoErrors(check(extension(`${TEST}Flag`)));
    expectIssue(check(extension(undefined)), 'sd-extension-url-missing', 'StructureDefinition');
    expectIssue(check(extension(`${TEST}Other`)), 'sd-extension-url-mismatch', 'StructureDefinition');
  });
});

describe('its elements', () => {
  it('lie under the profiled type', () => {
    expectIssue(check(patientProfile([{ id: 'Person.name', path: 'Person.name', min: 1 }])), 'sd-path-type', element(1));
  });

  it('are sliced only where they repeat, never at the root', () => {
    const slicing = { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' };
    expectIssue(check(patientProfile([{ id: 'Patient.gender', path: 'Patient.gender', slicing }])), 'sd-slicing-not-repeating', `${element(1)}.slicing`);
    expectIssue(check(profile('Rooted', 'Patient', [{ id: 'Patient', path: 'Patient', slicing }]) as never), 'sd-root-slicing', element(0));
  });

  it('carry only properties their types make relevant', () => {
    const issues = check(patientProfile([
      { id: 'Patient.active', path: 'Patient.active', type: [{ code: 'boolean' }], binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/ValueSet/administrative-gender' } },
      { id: 'Patient.maritalStatus', path: 'Patient.maritalStatus', type: [{ code: 'CodeableConcept' }], maxLength: 10 },
      { id: 'Patient.gender', path: 'Patient.gender', type: [{ code: 'code', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Practitioner'] }] },
    ]));
    expect(errorsAt(issues, 'sd-characteristics')).toEqual([element(1), element(2), element(3)]);
    expectIssue(issues, 'sd-type-target-profile', `${element(3)}.type[0].targetProfile[0]`);
  });

  it('bind to value sets, not code systems', () => {
    const issues = check(patientProfile([{ id: 'Patient.gender', path: 'Patient.gender', binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/administrative-gender' } }]));
    expectIssue(issues, 'sd-binding-not-valueset', `${element(1)}.binding`);
  });

  it('keep the meaning of invariant keys and name themselves as their source', () => {
    const constraint = (key: string, expression: string, source = `${TEST}Checked`) => ({ key, severity: 'error', human: key, expression, source });
    const issues = check(patientProfile([
      { id: 'Patient.name', path: 'Patient.name', constraint: [constraint('chk-1', 'family.exists()'), constraint('pat-1', 'true')] },
      { id: 'Patient.telecom', path: 'Patient.telecom', constraint: [constraint('chk-1', 'value.exists()'), constraint('chk-2', 'true', 'http://elsewhere.test/Profile')] },
    ]));
    expectIssue(issues, 'sd-invariant-key-reused', `${element(1)}.constraint[1]`);
    expectIssue(issues, 'sd-invariant-key-reused', `${element(2)}.constraint[0]`);
    expectIssue(issues, 'sd-invariant-source', `${element(2)}.constraint[1]`);
  });
});

describe('its snapshot, regenerated from the differential as the reference does', () => {
  const loosened = [{ id: 'Patient.link.other', path: 'Patient.link.other', min: 0 }];

  it('a carried snapshot does not hide a broken differential', () => {
    const generated = validator().validateToIssues(patientProfile(loosened) as never);
    expectIssue(generated, 'SNAPSHOT_MIN_LOOSENED', element(1));
    const withSnapshot = { ...patientProfile(loosened), snapshot: { element: [{ id: 'Patient', path: 'Patient', min: 0, max: '*' }] } };
    expectIssue(check(withSnapshot), 'SNAPSHOT_MIN_LOOSENED', element(1));
  });

  it('is generated again when the same canonical comes with another differential', () => {
    expectIssue(check(patientProfile(loosened)), 'SNAPSHOT_MIN_LOOSENED', element(1));
    expect(found(check(patientProfile([{ id: 'Patient.link.other', path: 'Patient.link.other', min: 1 }])), 'error').map((i) => i.messageId)).not.toContain('SNAPSHOT_MIN_LOOSENED');
  });

  it('a carried snapshot has the elements the differential generates', () => {
    const stale = { ...patientProfile([]), snapshot: { element: [{ id: 'Patient', path: 'Patient', min: 0, max: '*', definition: 'A patient', base: { path: 'Patient', min: 0, max: '*' } }] } };
    expectIssue(check(stale), 'SNAPSHOT_EXISTING_PROBLEM', 'StructureDefinition');
  });
});

describe('a differential element without a path', () => {
  it('stops snapshot generation with the reason, and no count of elements is compared with an empty result', () => {
    const carried = { id: 'Patient', path: 'Patient', min: 0, max: '*', definition: 'A patient', base: { path: 'Patient', min: 0, max: '*' } };
    const issues = check({ ...patientProfile([{ id: 'Patient.name', min: 1 }]), snapshot: { element: [carried] } });
    expectIssue(issues, 'NO_PATH_ON_ELEMENT_IN_DIFFERENTIAL_IN_', element(1));
    expect(issues.map((i) => i.messageId)).not.toContain('SNAPSHOT_EXISTING_PROBLEM');
    expect(issues.map((i) => i.message).join('\n')).not.toMatch(/Cannot read|undefined/);
  });
});

describe('without its base', () => {
  it('is checked no further, and the missing base is a warning, as in the reference', () => {
    const issues = check({ ...patientProfile([{ id: 'Patient.name', path: 'Patient.name', min: 1 }]), baseDefinition: `${TEST}Nowhere` });
    expect(found(issues, 'error').filter((i) => i.messageId.startsWith('sd-') || i.messageId === 'SNAPSHOT_BASE_NOT_FOUND')).toEqual([]);
    expectIssue(issues, 'SNAPSHOT_BASE_NOT_FOUND', 'StructureDefinition', 'warning');
  });
});

describe('the invariants of its snapshot', () => {
  const constraint = (key: string, expression: string, source?: string) => ({ key, severity: 'error', human: key, expression, ...(source ? { source } : {}) });
  const withSnapshot = (root: unknown[], name: unknown[]) => ({
    ...patientProfile([]),
    snapshot: {
      element: [
        { id: 'Patient', path: 'Patient', min: 0, max: '*', definition: 'A patient', base: { path: 'Patient', min: 0, max: '*' }, constraint: root },
        { id: 'Patient.name', path: 'Patient.name', min: 0, max: '*', definition: 'A name', base: { path: 'Patient.name', min: 0, max: '*' }, type: [{ code: 'HumanName' }], constraint: name },
      ],
    },
  });
  const at = (i: number, c: number) => `StructureDefinition.snapshot.element[${i}].constraint[${c}]`;

  it('of its own must name elements of the types they start from, at the root and on an element', () => {
    const issues = check(withSnapshot([constraint('chk-1', 'name.familyx.exists()', `${TEST}Checked`)], [constraint('chk-2', 'family.exists() and givenx.exists()')]));
    expect(errorsAt(issues, 'sd-invariant-expression')).toEqual([at(0, 0), at(1, 0)]);
    expect(issues.find((i) => i.messageId === 'sd-invariant-expression')!.message).toBe(
      "Error in constraint 'chk-1' with expression 'name.familyx.exists()': The name familyx is not valid for any of the possible types: [HumanName]",
    );
  });

  it('taken from elsewhere are not checked again, and sound ones pass', () => {
    const issues = check(withSnapshot([constraint('pat-x', 'name.familyx.exists()', `${CORE}Patient`)], [constraint('chk-2', "family.exists() or given.where($this = 'A').exists()")]));
    expect(errorsAt(issues, 'sd-invariant-expression')).toEqual([]);
  });
});

describe('its types and contexts', () => {
  const messageIds = (issues: ReturnType<typeof check>, prefix: string) => found(issues, 'error').filter((i) => i.messageId.startsWith(prefix)).map((i) => `${i.messageId} @ ${i.path}`);

  it('a type’s profile is one of that type, and a modifier extension only on modifierExtension', () => {
    const wrongType = patientProfile([{ id: 'Patient.extension', path: 'Patient.extension', type: [{ code: 'Extension', profile: [`${CORE}Patient`] }] }]);
    expect(messageIds(check(wrongType), 'sd-type-profile')).toEqual([`sd-type-profile-wrong @ ${element(1)}.type[0].profile[0]`]);
    const modifier = patientProfile([{ id: 'Patient.extension', path: 'Patient.extension', type: [{ code: 'Extension', profile: [`${CORE}request-doNotPerform`] }] }]);
    expect(messageIds(check(modifier), 'sd-type-profile')).toEqual([`sd-type-profile-modifier @ ${element(1)}.type[0].profile[0]`]);
    const fine = patientProfile([{ id: 'Patient.extension', path: 'Patient.extension', type: [{ code: 'Extension', profile: [`${CORE}patient-birthPlace`] }] }]);
    expect(messageIds(check(fine), 'sd-type-profile')).toEqual([]);
  });

  it('a reference targets resources, a canonical canonical resources', () => {
    const targets = patientProfile([
      { id: 'Patient.generalPractitioner', path: 'Patient.generalPractitioner', type: [{ code: 'Reference', targetProfile: [`${CORE}HumanName`, `${CORE}Practitioner`] }] },
    ]);
    expect(messageIds(check(targets), 'sd-type-target')).toEqual([`sd-type-target-wrong @ ${element(1)}.type[0].targetProfile[0]`]);
  });

  it('an extension’s element contexts name elements, through datatypes and reused definitions', () => {
    const extension = (...expressions: string[]) => ({
      ...profile('Checked', 'Extension', [{ id: 'Extension', path: 'Extension' }, { id: 'Extension.url', path: 'Extension.url', fixedUri: `${TEST}Checked` }], {
        context: expressions.map((expression) => ({ type: 'element', expression })),
      }),
      text,
    });
    expect(messageIds(check(extension('Patient', 'Patient.name.family', 'Parameters.parameter.part.value[x]', 'Observation.component')), 'sd-context')).toEqual([]);
    expect(messageIds(check(extension('Patient.name.familie')), 'sd-context')).toEqual(['sd-context-element-unknown @ StructureDefinition.context[0]']);
  });

  it('an extension’s context invariants make sense on the elements it may be used on', () => {
    const extension = (contextInvariant: string[]) => ({
      ...profile('Checked', 'Extension', [{ id: 'Extension', path: 'Extension' }, { id: 'Extension.url', path: 'Extension.url', fixedUri: `${TEST}Checked` }], {
        context: [{ type: 'element', expression: 'Patient' }, { type: 'element', expression: 'Patient.name' }],
        contextInvariant,
      }),
      text,
    });
    expect(messageIds(check(extension(['extension.exists() or id.exists()'])), 'sd-context-invariant')).toEqual([]);
    expect(messageIds(check(extension(['id.exists()', 'familyName.exists()'])), 'sd-context-invariant')).toEqual(['sd-context-invariant-expression @ StructureDefinition.contextInvariant[1]']);
  });
});
