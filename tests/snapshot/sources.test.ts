import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFhirXml } from '../../src/formats/fhir-xml.js';
import { generateSnapshot, type StructureDefinition } from '../../src/packages/snapshot.js';
import type { CanonicalResource } from '../../src/packages/types.js';
import { CORE_FILES, MapResolver, loadBundle } from './helpers.js';

const SRC = '/work/shared/profiles-src';
const SUITE = '/work/shared/conformance/fhir-test-cases-r4';
const core = CORE_FILES.flatMap((f) => loadBundle(f));

function readXmlDir(dir: string): StructureDefinition[] {
  return readdirSync(dir).filter((f) => f.endsWith('.xml'))
    .map((f) => parseFhirXml(readFileSync(join(dir, f), 'utf8')).resource)
    .filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
}

describe('Nictiz zib2020, nl-core and MP9 profiles (differential only, XML)', () => {
  const sds = ['nictiz-r4-zib2020/resources/zib', 'nictiz-r4-zib2020/resources/nl-core', 'nictiz-r4-mp9/Profiles']
    .flatMap((d) => readXmlDir(join(SRC, d)));
  const resolver = new MapResolver().add(core).add(sds);
  const results = sds.map((sd) => ({ sd, ...generateSnapshot(sd, resolver) }));

  it('generates a snapshot for every profile, matching every differential element', () => {
    expect(sds.length).toBeGreaterThan(350);
    expect(results.filter((r) => r.snapshot.length === 0).map((r) => r.sd.id)).toEqual([]);
    const errors = results.flatMap((r) => r.issues.filter((i) => i.severity === 'error').map((i) => `${r.sd.id}: ${i.message}`));
    // MP9 relaxes the R4 cardinality of Communication.payload.content[x] (1..1) to 0..1: a real profile error
    expect(errors).toEqual(['mp-ReplyProposalDispenseRequest', 'mp-ReplyProposalMedicationAgreement']
      .map((id) => `${id}: Element Communication.payload.content[x]: derived min (0) cannot be less than base min (1)`));
  });

  it('builds nl-core-Patient on zib-Patient with the BSN slice and profiled name slices', () => {
    const snap = results.find((r) => r.sd.id === 'nl-core-Patient')!.snapshot;
    const ids = new Set(snap.map((e) => e.id));
    for (const id of ['Patient.identifier:bsn', 'Patient.name:nameInformation', 'Patient.telecom:telephoneNumbers',
      'Patient.extension:nationality.extension:code.value[x]', 'Patient.contact.extension:contactPerson.url']) expect(ids, id).toContain(id);
    expect(snap.find((e) => e.id === 'Patient.identifier:bsn')!.patternIdentifier).toEqual({ system: 'http://fhir.nl/fhir/NamingSystem/bsn' });
    expect(new Set(snap.map((e) => e.id)).size).toBe(snap.length);
  });
});

describe('conformance suite profiles (JSON, with their supporting files)', () => {
  const manifest = JSON.parse(readFileSync(join(SUITE, 'manifest.json'), 'utf8')) as {
    cases: { name: string; file: string; supporting?: string[]; profile?: { source: string; supporting?: string[] } }[];
  };
  function load(file: string): CanonicalResource[] {
    const p = join(SUITE, 'cases', file);
    if (!file.endsWith('.json') || !existsSync(p)) return [];
    let r: CanonicalResource;
    try {
      r = JSON.parse(readFileSync(p, 'utf8')) as CanonicalResource;
    } catch {
      return []; // the suite's deliberately malformed JSON cases
    }
    return r.resourceType === 'Bundle' ? ((r.entry as { resource: CanonicalResource }[] | undefined) ?? []).map((e) => e.resource) : [r];
  }

  it('generates every differential-only StructureDefinition without throwing', () => {
    let generated = 0;
    const issuesByCase = new Map<string, string[]>();
    for (const c of manifest.cases) {
      const files = [...(c.supporting ?? []), ...(c.profile ? [c.profile.source, ...(c.profile.supporting ?? [])] : []), c.file];
      const resources = files.flatMap(load);
      const resolver = new MapResolver().add(core).add(resources);
      for (const sd of resources as StructureDefinition[]) {
        if (sd?.resourceType !== 'StructureDefinition' || sd.snapshot) continue;
        generated++;
        const r = generateSnapshot(sd, resolver);
        issuesByCase.set(c.name, [...(issuesByCase.get(c.name) ?? []), ...r.issues.map((i) => i.message)]);
      }
    }
    expect(generated).toBeGreaterThan(50);
    // the Java validator's outcome for this case names exactly these snapshot problems
    expect(issuesByCase.get('StructureDefinition-Slice23')).toEqual([
      'The element at AuditEvent.agent.extension defines the slicing unordered/open [value=url] but then an element in the slicing AuditEvent.agent.extension:extOtherId tries to redefine the slicing to ??/open [value=type]',
      "The discriminator path 'type' does not appear to be valid for the element that is being sliced 'AuditEvent.agent.extension'",
      "The discriminator path 'type' does not appear to be valid for the element that is being sliced 'AuditEvent.agent.extension'",
    ]);
  });
});
