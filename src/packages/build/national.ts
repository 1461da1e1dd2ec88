/** The national packages built from Nictiz's XML differentials: zib2020, nl-core and MP9. */
import { join } from 'node:path';
import type { FhirResource } from '../types.js';
import { BUILDER, type PackageSpec } from './fhir-package.js';
import { readSourceInfo, readXmlFolder } from './sources.js';

export const R4_CORE = { 'hl7.fhir.r4.core': '4.0.1' };
export const ZIB2020 = { name: 'nictiz.fhir.nl.r4.zib2020', version: '0.12.1-beta.1' };
export const NL_CORE = { name: 'nictiz.fhir.nl.r4.nl-core', version: '0.12.1-beta.1' };
export const MP9 = { name: 'nictiz.fhir.nl.r4.medicationprocess9', version: '2.0.0-rc.7' };

const ZIB_REPO = 'nictiz-r4-zib2020';
const MP9_REPO = 'nictiz-r4-mp9';
const MP9_EXAMPLES = 'nictiz-r4-mp9/examples-44d01c0/Examples';

/** Conformance resources of a package (the XML files also hold the odd example; those are not conformance). */
const CONFORMANCE_TYPES = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem', 'ConceptMap', 'NamingSystem', 'SearchParameter']);

async function conformanceIn(dir: string): Promise<FhirResource[]> {
  const read = await readXmlFolder(dir);
  const other = read.filter((r) => !CONFORMANCE_TYPES.has(r.resource.resourceType));
  if (other.length) throw new Error(`${dir}: unexpected non-conformance resources: ${other.map((r) => r.file).join(', ')}`);
  return read.map((r) => r.resource);
}

async function examplesIn(dir: string): Promise<FhirResource[]> {
  return (await readXmlFolder(dir)).map((r) => r.resource);
}

/** Package specs (without snapshots) for the three national packages, in dependency order. */
export async function nationalSpecs(sources: string): Promise<PackageSpec[]> {
  const zibSource = await readSourceInfo(join(sources, ZIB_REPO));
  const mp9Source = await readSourceInfo(join(sources, MP9_REPO));
  const zibNote =
    'The source repository has one resources/package.json (name "resources", fhirVersions 4.0.0) for both layers; ' +
    'id and version are those of the published release, nl-core depends on zib2020 as its profiles derive from zib profiles.';
  return [
    {
      ...ZIB2020,
      description: 'Zib2020 (Dutch clinical information models) as FHIR R4 profiles, built from the published XML differentials.',
      canonical: 'http://nictiz.nl/fhir',
      dependencies: { ...R4_CORE },
      provenance: { source: `${ZIB_REPO}/resources/zib`, ...zibSource, builder: BUILDER, notes: [zibNote] },
      resources: await conformanceIn(join(sources, ZIB_REPO, 'resources', 'zib')),
    },
    {
      ...NL_CORE,
      description: 'nl-core: the zib2020 profiles for implementation, built from the published XML differentials.',
      canonical: 'http://nictiz.nl/fhir',
      dependencies: { ...R4_CORE, [ZIB2020.name]: ZIB2020.version },
      provenance: { source: `${ZIB_REPO}/resources/nl-core`, ...zibSource, builder: BUILDER, notes: [zibNote] },
      resources: await conformanceIn(join(sources, ZIB_REPO, 'resources', 'nl-core')),
      examples: await examplesIn(join(sources, ZIB_REPO, 'examples')),
    },
    {
      ...MP9,
      description: 'Medication Process 9 (MP9 3.0.0-rc.1) FHIR R4 profiles, built from the published XML differentials.',
      canonical: 'http://nictiz.nl/fhir',
      // As declared by the source's package.json, although only nl-core 0.12.1-beta.1 exists here.
      dependencies: { ...R4_CORE, [NL_CORE.name]: '0.11.0-beta.1' },
      provenance: {
        source: `${MP9_REPO}/Profiles`,
        ...mp9Source,
        builder: BUILDER,
        notes: [
          `Declares ${NL_CORE.name}#0.11.0-beta.1; snapshots were generated against ${NL_CORE.name}#${NL_CORE.version} (canonical URLs are unchanged).`,
          `Examples from ${MP9_EXAMPLES} (the last commit that had them).`,
        ],
      },
      resources: await conformanceIn(join(sources, MP9_REPO, 'Profiles')),
      examples: await examplesIn(join(sources, MP9_EXAMPLES)),
    },
  ];
}
