import { describe, expect, it } from 'vitest';
import { loadR4Core, R4_CORE_PACKAGE_ID, repairMedplumSnapshot, type StructureDefinitionJson } from '../../src/packages/core.js';
import type { CanonicalResource } from '../../src/packages/types.js';

interface Element {
  id?: string;
  path: string;
  min?: number;
  max?: string;
  type?: Array<{ code: string; targetProfile?: string[] }>;
}
type SD = CanonicalResource & { derivation?: string; snapshot: { element: Element[] }; differential: { element: Element[] } };

describe('R4 core', async () => {
  const core = await loadR4Core();

  it('is loaded once and shared', async () => {
    expect(await loadR4Core()).toBe(core);
    expect(() => core.add({ resourceType: 'ValueSet', url: 'http://x' })).toThrow(/sealed/);
  });

  it('resolves base resource definitions with snapshots and origin', () => {
    const patient = core.resolve<SD>('http://hl7.org/fhir/StructureDefinition/Patient');
    expect(patient?.version).toBe('4.0.1');
    expect(patient?.snapshot.element.some((e) => e.path === 'Patient.birthDate')).toBe(true);
    expect(core.resolve('http://hl7.org/fhir/StructureDefinition/Patient|4.0.1')).toBe(patient);
    expect(core.originOf(patient!)).toEqual({ packageId: R4_CORE_PACKAGE_ID, file: 'profiles-resources.json' });
    expect(core.byId('StructureDefinition', 'Patient')).toBe(patient);
    expect(core.resolve('http://hl7.org/fhir/StructureDefinition/string')?.resourceType).toBe('StructureDefinition');
    expect(core.resolve('http://hl7.org/fhir/StructureDefinition/bp')).toBeDefined();
    expect(core.resolve('http://hl7.org/fhir/StructureDefinition/patient-birthPlace')).toBeDefined();
  });

  it('keeps no narratives (half of the bytes, read by nothing)', () => {
    for (const canonical of ['http://hl7.org/fhir/StructureDefinition/Questionnaire', 'http://hl7.org/fhir/ValueSet/administrative-gender', 'http://terminology.hl7.org/CodeSystem/v3-ActCode']) {
      const resource = core.resolve(canonical);
      expect(resource?.id, canonical).toBeDefined();
      expect(resource, canonical).not.toHaveProperty('text');
    }
  });

  it('has the value sets and the v2 and v3 code systems', () => {
    const gender = core.resolve('http://hl7.org/fhir/ValueSet/administrative-gender');
    expect(gender?.resourceType).toBe('ValueSet');
    expect(core.resolve('http://hl7.org/fhir/administrative-gender', 'CodeSystem')).toBeDefined();
    expect(core.resolve('http://terminology.hl7.org/CodeSystem/v2-0203')?.resourceType).toBe('CodeSystem');
    expect(core.resolve('http://terminology.hl7.org/CodeSystem/v3-ActCode')?.resourceType).toBe('CodeSystem');
    expect(core.resolve('http://terminology.hl7.org/ValueSet/v3-ActEncounterCode')?.resourceType).toBe('ValueSet');
    expect(core.all('CodeSystem').length).toBeGreaterThan(1000);
    expect(core.conflicts()).toEqual([]);
  });

  it('leaves out the R4B SubscriptionStatus and Medplum additions', () => {
    expect(core.resolve('http://hl7.org/fhir/StructureDefinition/SubscriptionStatus')).toBeUndefined();
    const targets = core
      .all<SD>('StructureDefinition')
      .flatMap((sd) => sd.snapshot?.element ?? [])
      .flatMap((e) => e.type ?? [])
      .flatMap((t) => t.targetProfile ?? []);
    expect(targets.length).toBeGreaterThan(1000);
    expect(targets.filter((t) => t.includes('medplum'))).toEqual([]);
    const meta = core.resolve<SD>('http://hl7.org/fhir/StructureDefinition/Meta')!;
    expect(meta.snapshot.element.map((e) => e.path)).toEqual([
      'Meta', 'Meta.id', 'Meta.extension', 'Meta.versionId', 'Meta.lastUpdated', 'Meta.source', 'Meta.profile', 'Meta.security', 'Meta.tag',
    ]);
  });

  it('restores the R4 snapshots that Medplum changed', () => {
    const sd = (name: string) => core.resolve<SD>(`http://hl7.org/fhir/StructureDefinition/${name}`)!;
    const element = (name: string, path: string) => sd(name).snapshot.element.find((e) => e.path === path);
    expect(element('AuditEvent', 'AuditEvent.source.observer')?.type?.[0].targetProfile).toHaveLength(6);
    expect(element('Bundle', 'Bundle.entry.response.outcome')?.type).toEqual([{ code: 'Resource' }]);
    expect(element('Binary', 'Binary.url')).toBeUndefined();
    expect(element('EvidenceVariable', 'EvidenceVariable.characteristic.definition[x]')).toBeDefined();
    expect(element('EvidenceVariable', 'EvidenceVariable.characteristic.definitionByTypeAndValue.id')).toBeUndefined();
    expect(element('EvidenceVariable', 'EvidenceVariable.characteristic')?.min).toBe(1);
  });

  it('has, for every base definition, a snapshot matching the differential', () => {
    const mismatches: string[] = [];
    for (const def of core.all<SD>('StructureDefinition')) {
      if (def.derivation !== 'specialization') continue;
      const snapshotIds = new Set(def.snapshot.element.map((e) => e.id));
      const diffIds = new Set(def.differential.element.map((e) => e.id));
      for (const id of diffIds) if (!snapshotIds.has(id)) mismatches.push(`missing ${id}`);
      for (const e of def.snapshot.element) {
        const own = (e as { base?: { path: string } }).base?.path === e.path && e.path.includes('.');
        if (own && !diffIds.has(e.id)) mismatches.push(`extra ${e.id}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('repairMedplumSnapshot', () => {
  it('drops extra own elements with their children and inserts missing ones after their sibling', () => {
    const el = (path: string, basePath = path, extra: Partial<Element> = {}) => ({ id: path, path, base: { path: basePath }, ...extra });
    const sd: StructureDefinitionJson = {
      derivation: 'specialization',
      differential: { element: [el('X'), el('X.a', 'X.a', { type: [{ code: 'string' }] }), el('X.b'), el('X.c')] },
      snapshot: {
        element: [el('X'), el('X.id', 'Resource.id'), el('X.a', 'X.a', { type: [{ code: 'markdown' }] }), el('X.extra'), el('X.extra.id', 'Element.id'), el('X.c')],
      },
    };
    repairMedplumSnapshot(sd);
    expect(sd.snapshot!.element.map((e) => e.path)).toEqual(['X', 'X.id', 'X.a', 'X.b', 'X.c']);
    expect(sd.snapshot!.element[2].type).toEqual([{ code: 'string' }]);
    expect(sd.snapshot!.element[3].base).toEqual({ path: 'X.b', min: 0, max: '*' });
  });
});
