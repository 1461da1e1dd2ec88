import { describe, expect, it } from 'vitest';
import { ensureSnapshot, generateSnapshot, type ElementDefinition, type StructureDefinition } from '../../src/packages/snapshot.js';
import { MapResolver, coreResolver } from './helpers.js';

const CORE = 'http://hl7.org/fhir/StructureDefinition/';

function profile(type: string, elements: ElementDefinition[], extra: Partial<StructureDefinition> = {}): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    url: `http://example.org/StructureDefinition/test-${type}-${Math.random().toString(36).slice(2)}`,
    type,
    kind: 'resource',
    derivation: 'constraint',
    baseDefinition: CORE + type,
    differential: { element: elements },
    ...extra,
  };
}

function byId(snapshot: ElementDefinition[], id: string): ElementDefinition | undefined {
  return snapshot.find((e) => e.id === id);
}

function messageIds(sd: StructureDefinition, resolver = coreResolver()): string[] {
  return generateSnapshot(sd, resolver).issues.map((i) => i.messageId);
}

describe('generateSnapshot', () => {
  it('dives into a datatype, re-rooting ids and paths and keeping base order', () => {
    const { snapshot, issues } = generateSnapshot(profile('Patient', [
      { id: 'Patient.name', path: 'Patient.name', min: 1 },
      { id: 'Patient.name.family', path: 'Patient.name.family', min: 1 },
    ]), coreResolver());
    expect(issues).toEqual([]);
    const ids = snapshot.map((e) => e.id!);
    const name = ids.indexOf('Patient.name');
    expect(ids.slice(name, name + 10)).toEqual(['Patient.name', 'Patient.name.id', 'Patient.name.extension', 'Patient.name.use',
      'Patient.name.text', 'Patient.name.family', 'Patient.name.given', 'Patient.name.prefix', 'Patient.name.suffix', 'Patient.name.period']);
    expect(byId(snapshot, 'Patient.name.family')).toMatchObject({ path: 'Patient.name.family', min: 1, max: '1', base: { path: 'HumanName.family' } });
    expect(byId(snapshot, 'Patient.name')!.min).toBe(1);
    expect(ids[ids.length - 1]).toBe('Patient.link.type');
  });

  it('expands contentReference elements from the referenced element', () => {
    const { snapshot, issues } = generateSnapshot(profile('Questionnaire', [
      { id: 'Questionnaire.item.item.linkId', path: 'Questionnaire.item.item.linkId', short: 'nested link' },
    ]), coreResolver());
    expect(issues).toEqual([]);
    expect(byId(snapshot, 'Questionnaire.item.item')!.contentReference).toBe('#Questionnaire.item');
    expect(byId(snapshot, 'Questionnaire.item.item.linkId')).toMatchObject({ min: 1, short: 'nested link' });
    expect(byId(snapshot, 'Questionnaire.item.item.item')!.contentReference).toBe('#Questionnaire.item');
  });

  it('turns a renamed choice into a closed type slice, and constrains value[x] itself inside a slice', () => {
    const { snapshot } = generateSnapshot(profile('Observation', [
      { id: 'Observation.valueQuantity', path: 'Observation.valueQuantity', min: 1 },
      { id: 'Observation.valueQuantity.unit', path: 'Observation.valueQuantity.unit', min: 1 },
      { id: 'Observation.component', path: 'Observation.component', slicing: { discriminator: [{ type: 'pattern', path: 'code' }], rules: 'open' } },
      { id: 'Observation.component:a', path: 'Observation.component', sliceName: 'a' },
      { id: 'Observation.component:a.valueString', path: 'Observation.component.valueString' },
    ]), coreResolver());
    expect(byId(snapshot, 'Observation.value[x]')).toMatchObject({
      type: [{ code: 'Quantity' }],
      slicing: { discriminator: [{ type: 'type', path: '$this' }], ordered: false, rules: 'closed' },
    });
    expect(byId(snapshot, 'Observation.value[x]:valueQuantity')).toMatchObject({ path: 'Observation.value[x]', sliceName: 'valueQuantity', min: 1 });
    expect(byId(snapshot, 'Observation.value[x]:valueQuantity.unit')).toMatchObject({ path: 'Observation.value[x].unit', min: 1 });
    expect(byId(snapshot, 'Observation.component:a.value[x]')!.type).toEqual([{ code: 'string' }]);
    expect(byId(snapshot, 'Observation.component:a.value[x]:valueString')).toBeUndefined();
  });

  it('slices, re-slices and gives slices the base cardinality, not the sliced element\'s constraints', () => {
    const { snapshot, issues } = generateSnapshot(profile('Patient', [
      { id: 'Patient.identifier', path: 'Patient.identifier', min: 1, mustSupport: true, slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } },
      { id: 'Patient.identifier:bsn', path: 'Patient.identifier', sliceName: 'bsn', max: '1' },
      { id: 'Patient.identifier:bsn.system', path: 'Patient.identifier.system', min: 1, fixedUri: 'http://fhir.nl/fhir/NamingSystem/bsn' },
      { id: 'Patient.identifier:bsn/old', path: 'Patient.identifier', sliceName: 'bsn/old' },
      { id: 'Patient.identifier:bsn/old.period', path: 'Patient.identifier.period', min: 1 },
    ]), coreResolver());
    expect(issues).toEqual([]);
    const ids = snapshot.map((e) => e.id);
    const i = ids.indexOf('Patient.identifier');
    expect(ids[i + 1]).toBe('Patient.identifier:bsn');
    expect(byId(snapshot, 'Patient.identifier')).toMatchObject({ min: 1, mustSupport: true });
    expect(byId(snapshot, 'Patient.identifier:bsn')).toMatchObject({ sliceName: 'bsn', min: 0, max: '1', path: 'Patient.identifier' });
    expect(byId(snapshot, 'Patient.identifier:bsn')!.mustSupport).toBeUndefined();
    expect(byId(snapshot, 'Patient.identifier:bsn')!.slicing).toBeUndefined();
    expect(byId(snapshot, 'Patient.identifier:bsn.system')).toMatchObject({ min: 1, fixedUri: 'http://fhir.nl/fhir/NamingSystem/bsn' });
    expect(byId(snapshot, 'Patient.identifier:bsn/old')).toMatchObject({ sliceName: 'bsn/old' });
    expect(byId(snapshot, 'Patient.identifier:bsn/old.period')!.min).toBe(1);
  });

  it('inherits slices from a base profile and appends new ones after them', () => {
    const { snapshot, issues } = generateSnapshot(profile('Observation', [
      { id: 'Observation.category:extra', path: 'Observation.category', sliceName: 'extra', max: '1' },
      { id: 'Observation.category:extra.text', path: 'Observation.category.text', min: 1 },
    ], { baseDefinition: CORE + 'vitalsigns' }), coreResolver());
    expect(issues).toEqual([]);
    const ids = snapshot.map((e) => e.id!).filter((id) => id.startsWith('Observation.category'));
    expect(ids[0]).toBe('Observation.category');
    expect(ids[1]).toBe('Observation.category:VSCat');
    expect(ids.indexOf('Observation.category:extra')).toBeGreaterThan(ids.indexOf('Observation.category:VSCat.text'));
    expect(byId(snapshot, 'Observation.category')!.slicing!.discriminator).toEqual([{ type: 'value', path: 'coding.code' }, { type: 'value', path: 'coding.system' }]);
    expect(byId(snapshot, 'Observation.category:extra')).toMatchObject({ min: 0, max: '1' });
    expect(byId(snapshot, 'Observation.category:extra.text')!.min).toBe(1);
  });

  it('matches path-only differentials (no ids) by order, slices included', () => {
    const { snapshot, issues } = generateSnapshot(profile('Patient', [
      { path: 'Patient.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } },
      { path: 'Patient.identifier', sliceName: 'bsn' },
      { path: 'Patient.identifier.system', fixedUri: 'urn:bsn' },
    ]), coreResolver());
    expect(issues).toEqual([]);
    expect(byId(snapshot, 'Patient.identifier:bsn.system')!.fixedUri).toBe('urn:bsn');
    expect(byId(snapshot, 'Patient.identifier.system')).toBeUndefined();
  });

  it('builds extension slices from the extension definition, with the default url slicing', () => {
    const ext = CORE + 'patient-birthPlace';
    const { snapshot, issues } = generateSnapshot(profile('Patient', [
      { id: 'Patient.extension:birthPlace', path: 'Patient.extension', sliceName: 'birthPlace', max: '1', type: [{ code: 'Extension', profile: [ext] }] },
      { id: 'Patient.extension:birthPlace.value[x]', path: 'Patient.extension.value[x]', short: 'place' },
    ]), coreResolver());
    expect(issues).toEqual([]);
    expect(byId(snapshot, 'Patient.extension')!.slicing).toEqual({ discriminator: [{ type: 'value', path: 'url' }], ordered: false, rules: 'open' });
    expect(byId(snapshot, 'Patient.extension:birthPlace')).toMatchObject({ min: 0, max: '1', type: [{ code: 'Extension', profile: [ext] }] });
    expect(byId(snapshot, 'Patient.extension:birthPlace')!.short).toBe('Place of Birth for patient');
    expect(byId(snapshot, 'Patient.extension:birthPlace.url')!.fixedUri).toBe(ext);
    expect(byId(snapshot, 'Patient.extension:birthPlace.value[x]')).toMatchObject({ type: [{ code: 'Address' }], short: 'place', min: 1 });
  });

  it('accumulates constraints, stamping the profile as source', () => {
    const sd = profile('Patient', [
      { id: 'Patient', path: 'Patient', constraint: [{ key: 'nl-1', severity: 'error', human: 'x', expression: 'true' }] },
    ]);
    const root = generateSnapshot(sd, coreResolver()).snapshot[0];
    expect(root.constraint!.map((c) => c.key)).toEqual(['dom-2', 'dom-3', 'dom-4', 'dom-5', 'dom-6', 'nl-1']);
    expect(root.constraint!.at(-1)!.source).toBe(sd.url);
  });

  it('reports cardinality loosened against the base, but allows a lower min on slices', () => {
    expect(messageIds(profile('Observation', [{ id: 'Observation.status', path: 'Observation.status', min: 0 }]))).toEqual(['SNAPSHOT_MIN_LOOSENED']);
    expect(messageIds(profile('Patient', [{ id: 'Patient.gender', path: 'Patient.gender', max: '*' }]))).toEqual(['SNAPSHOT_MAX_LOOSENED']);
    expect(messageIds(profile('Observation', [
      { id: 'Observation.code.coding', path: 'Observation.code.coding', min: 1, slicing: { discriminator: [{ type: 'value', path: 'code' }], rules: 'open' } },
      { id: 'Observation.code.coding:a', path: 'Observation.code.coding', sliceName: 'a', min: 0 },
    ]))).toEqual([]);
  });

  it('reports differential elements that match nothing, types outside the base, and bad discriminators', () => {
    const r = generateSnapshot(profile('Patient', [
      { id: 'Patient.nickname', path: 'Patient.nickname', min: 1 },
      { id: 'Patient.birthDate', path: 'Patient.birthDate', type: [{ code: 'string' }] },
      { id: 'Patient.extension', path: 'Patient.extension', slicing: { discriminator: [{ type: 'value', path: 'type' }], rules: 'open' } },
    ]), coreResolver());
    expect(r.issues.map((i) => [i.severity, i.messageId, i.path])).toEqual([
      ['error', 'SNAPSHOT_UNMATCHED_DIFF', 'StructureDefinition.differential.element[0]'],
      ['error', 'SNAPSHOT_ILLEGAL_TYPE', 'StructureDefinition.differential.element[1]'],
      ['error', 'SNAPSHOT_BAD_DISCRIMINATOR', 'StructureDefinition.differential.element[2].slicing.discriminator[0]'],
    ]);
    expect(r.issues[0].message).toMatch(/Differential element 'Patient.nickname' .* does not match any element in the base/);
    expect(r.issues[2].message).toBe("The discriminator path 'type' does not appear to be valid for the element that is being sliced 'Patient.extension'");
  });

  it('stops at a differential path it cannot work with, naming the element, as the reference does', () => {
    const stopsAt = (elements: unknown[]) => {
      const r = generateSnapshot(profile('Patient', elements as ElementDefinition[], { url: 'http://example.org/p' }), coreResolver());
      expect(r.snapshot).toEqual([]);
      expect(r.issues).toHaveLength(1);
      return [r.issues[0].messageId, r.issues[0].path, r.issues[0].message];
    };
    const at = (i: number) => `StructureDefinition.differential.element[${i}]`;
    expect(stopsAt([{ id: 'Patient', path: 'Patient' }, { id: 'Patient.name' }])).toEqual(
      ['NO_PATH_ON_ELEMENT_IN_DIFFERENTIAL_IN_', at(1), 'Error generating Snapshot: No path on element in differential in http://example.org/p']);
    expect(stopsAt([{ id: 'Patient.name', path: 7 }])[0]).toBe('NO_PATH_VALUE_ON_ELEMENT_IN_DIFFERENTIAL_IN_');
    expect(stopsAt([{ path: 'Patient..name' }])).toEqual(
      ['ILLEGAL_PATH__IN_DIFFERENTIAL_IN__NAME_PORTION_MISING_', at(0), "Error generating Snapshot: Illegal path 'Patient..name' in differential in http://example.org/p: name portion missing ('..')"]);
    expect(stopsAt([{ path: `Patient.${'n'.repeat(65)}` }])[0]).toBe('ILLEGAL_PATH__IN_DIFFERENTIAL_IN__NAME_PORTION_EXCEEDS_64_CHARS_IN_LENGTH');
    expect(stopsAt([{ path: 'Patient.na me' }])[0]).toBe('ILLEGAL_PATH__IN_DIFFERENTIAL_IN__NO_UNICODE_WHITESPACE');
    expect(stopsAt([{ path: 'Patient.name:x' }])[2]).toMatch(/illegal character ':'$/);
    expect(stopsAt([{ path: 'Patient.naméé' }])[2]).toMatch(/illegal character 'é'$/);
    expect(stopsAt([{ path: 'Patient.deceased[y]' }])[0]).toBe('ILLEGAL_PATH__IN_DIFFERENTIAL_IN__ILLEGAL_CHARACTERS_');
    expect(generateSnapshot(profile('Patient', [{ id: 'Patient.deceased[x]', path: 'Patient.deceased[x]', min: 1 }]), coreResolver()).issues).toEqual([]);
  });

  it('reports a missing base and a baseDefinition cycle without looping', () => {
    expect(messageIds(profile('Patient', [], { baseDefinition: 'http://example.org/nothing' }))).toEqual(['SNAPSHOT_BASE_NOT_FOUND']);
    const a = profile('Patient', [{ id: 'Patient', path: 'Patient' }], { url: 'http://example.org/a', baseDefinition: 'http://example.org/b' });
    const b = profile('Patient', [{ id: 'Patient', path: 'Patient' }], { url: 'http://example.org/b', baseDefinition: 'http://example.org/a' });
    const resolver = new MapResolver().add([a, b]);
    const r = generateSnapshot(a, resolver);
    expect(r.snapshot).toEqual([]);
    expect(r.issues.map((i) => i.messageId)).toEqual(['SNAPSHOT_BASE_UNAVAILABLE']);
  });
});

describe('ensureSnapshot', () => {
  it('returns a definition that has a snapshot as is, and memoises generated ones per object', () => {
    const core = coreResolver().resolve<StructureDefinition>(CORE + 'Patient')!;
    expect(ensureSnapshot(core, coreResolver())).toBe(core);
    const sd = profile('Patient', [{ id: 'Patient.gender', path: 'Patient.gender', min: 1 }]);
    const first = ensureSnapshot(sd, coreResolver());
    expect(first).not.toBe(sd);
    expect(sd.snapshot).toBeUndefined();
    expect(byId(first.snapshot!.element, 'Patient.gender')!.min).toBe(1);
    expect(ensureSnapshot(sd, coreResolver())).toBe(first);
  });
});
