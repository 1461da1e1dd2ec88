/** Extension contexts read once per definition: choice paths, supertypes, Resource.x paths, abstract types, versioned urls. */
import { describe, expect, it } from 'vitest';
import { extensionDef, found, TEST, useValidator } from './helpers.js';

function simple(name: string, context: Array<{ type: string; expression: string }>) {
  return extensionDef(name, context, [
    { id: 'Extension', path: 'Extension' },
    { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
    { id: 'Extension.url', path: 'Extension.url', fixedUri: TEST + name },
    { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: 'string' }] },
  ]);
}

const COMPLEX = TEST + 'ctx-complex';

const validator = useValidator([
  simple('ctx-choice', [{ type: 'element', expression: 'Observation.value[x]' }]),
  simple('ctx-item', [{ type: 'element', expression: 'Questionnaire.item' }]),
  simple('ctx-quantity', [{ type: 'element', expression: 'Quantity' }]),
  simple('ctx-meta', [{ type: 'element', expression: 'Resource.meta' }]),
  simple('ctx-resource', [{ type: 'element', expression: 'DomainResource' }]),
  simple('ctx-element', [{ type: 'element', expression: 'Element' }]),
  simple('ctx-versioned', [{ type: 'extension', expression: COMPLEX + '|1.0.0' }]),
  extensionDef('ctx-complex', [{ type: 'element', expression: 'Patient' }], [
    { id: 'Extension', path: 'Extension' },
    { id: 'Extension.url', path: 'Extension.url', fixedUri: COMPLEX },
    { id: 'Extension.value[x]', path: 'Extension.value[x]', max: '0' },
  ]),
]);

const ext = (name: string) => ({ extension: [{ url: TEST + name, valueString: 'x' }] });
/** The paths of the extension-context errors. */
const misplaced = (resource: Record<string, unknown>) =>
  found(validator().validateToIssues(resource as never)).filter((i) => i.messageId === 'extension-context').map((i) => i.path);
const observation = (extra: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });

describe('extension contexts', () => {
  it('a choice path covers each of its typed names, and nothing else', () => {
    expect(misplaced(observation({ valueQuantity: { value: 1, ...ext('ctx-choice') } }))).toEqual([]);
    expect(misplaced(observation({ valueString: 'a', _valueString: ext('ctx-choice') }))).toEqual([]);
    expect(misplaced(observation({ code: { text: 'x', ...ext('ctx-choice') } }))).toEqual(['Observation.code.extension[0]']);
  });

  it('a type covers the types constrained from it (Age is a Quantity)', () => {
    expect(misplaced(observation({ valueQuantity: { value: 1, ...ext('ctx-quantity') } }))).toEqual([]);
    const condition = { resourceType: 'Condition', subject: { reference: 'Patient/1' }, onsetAge: { value: 3, ...ext('ctx-quantity') } };
    expect(misplaced(condition)).toEqual([]);
    expect(misplaced(observation({ valuePeriod: { start: '2020', ...ext('ctx-quantity') } }))).toEqual(['Observation.valuePeriod.extension[0]']);
  });

  it('Resource.x names that element in every resource', () => {
    expect(misplaced({ resourceType: 'Patient', meta: { versionId: '1', ...ext('ctx-meta') } })).toEqual([]);
    expect(misplaced(observation({ meta: { versionId: '1', ...ext('ctx-meta') } }))).toEqual([]);
    expect(misplaced({ resourceType: 'Patient', ...ext('ctx-meta') })).toEqual(['Patient.extension[0]']);
  });

  it('names the element it met once, as a set: at a resource root its path and type are one name', () => {
    const issue = validator().validateToIssues({ resourceType: 'Patient', ...ext('ctx-meta') } as never).find((i) => i.messageId === 'extension-context');
    expect(issue?.message).toContain('this element is [Patient])');
    const nested = validator().validateToIssues({ resourceType: 'Patient', name: [{ family: 'x', ...ext('ctx-meta') }] } as never).find((i) => i.messageId === 'extension-context');
    expect(nested?.message).toContain('this element is [HumanName, Patient.name])');
  });

  it('an abstract resource type covers every resource, not its elements; Element covers everything', () => {
    expect(misplaced({ resourceType: 'Patient', ...ext('ctx-resource') })).toEqual([]);
    expect(misplaced({ resourceType: 'Patient', address: [{ city: 'Utrecht', ...ext('ctx-resource') }] })).toEqual(['Patient.address[0].extension[0]']);
    expect(misplaced({ resourceType: 'Patient', address: [{ city: 'Utrecht', ...ext('ctx-element') }] })).toEqual([]);
  });

  it('an extension context names its extension with or without a version', () => {
    const inside = { resourceType: 'Patient', extension: [{ url: COMPLEX, ...ext('ctx-versioned') }] };
    expect(misplaced(inside)).toEqual([]);
    expect(misplaced({ resourceType: 'Patient', ...ext('ctx-versioned') })).toEqual(['Patient.extension[0]']);
  });

  it('answers the same place the same way each time it is asked', () => {
    const twice = observation({ code: { text: 'x', ...ext('ctx-choice') }, valueQuantity: { value: 1, ...ext('ctx-choice') } });
    expect(misplaced(twice)).toEqual(['Observation.code.extension[0]']);
    expect(misplaced(twice)).toEqual(['Observation.code.extension[0]']);
  });
});

describe('elements defined by reference to another', () => {
  const item = (extension?: unknown[]) => ({ linkId: 'x', type: 'group', ...(extension ? { extension } : {}) });
  const contextErrors = (questionnaire: Record<string, unknown>) =>
    found(validator().validateToIssues({ resourceType: 'Questionnaire', status: 'draft', ...questionnaire } as never)).filter((i) => i.messageId === 'extension-context');
  const used = [{ url: TEST + 'ctx-item', valueString: 'x' }];

  it('a nested Questionnaire.item.item is a Questionnaire.item for a context (as questionnaire-itemControl is used)', () => {
    expect(contextErrors({ item: [{ ...item(used), item: [{ ...item(used), item: [item(used)] }] }] })).toEqual([]);
  });

  it('the context still excludes other elements', () => {
    expect(contextErrors({ extension: used }).map((i) => i.path)).toEqual(['Questionnaire.extension[0]']);
  });
});
