/** Writes FHIR packages (package/package.json, one resource per file, .index.json) byte-for-byte reproducibly. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FhirResource } from '../types.js';

export const BUILDER = 'fhirdq profiles:build';

/** Where a package's content came from; recorded in package.json under `fhirdq.provenance`. */
export interface Provenance {
  /** Source folder, relative to the shared profile sources. */
  source: string;
  /** Commit and date of the public repository, from the SOURCE file (absent for sources kept in this project). */
  commit?: string;
  date?: string;
  builder: typeof BUILDER;
  /** Dependencies that were compiled against something other than the declared package. */
  substitutions?: Array<{ declared: string; used: string; reason: string }>;
  /** Anything else worth knowing about how the package was made. */
  notes?: string[];
}

export interface PackageSpec {
  name: string;
  version: string;
  description?: string;
  canonical?: string;
  dependencies: Record<string, string>;
  provenance: Provenance;
  resources: FhirResource[];
  /** Example instances, written to package/example/ (not loaded as conformance resources). */
  examples?: FhirResource[];
}

/** `<Type>-<id>.json`, the file name convention of FHIR packages. */
export function resourceFileName(resource: FhirResource): string {
  if (!resource.id) throw new Error(`${resource.resourceType} without id cannot be written to a package`);
  return `${resource.resourceType}-${resource.id}.json`;
}

/** JSON with object keys sorted: for manifests and indexes, whose key order carries no meaning. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const INDEX_FIELDS = ['id', 'url', 'version', 'kind', 'type', 'derivation'] as const;

function indexEntry(resource: FhirResource): Record<string, unknown> {
  const entry: Record<string, unknown> = { filename: resourceFileName(resource), resourceType: resource.resourceType };
  for (const field of INDEX_FIELDS) if (typeof resource[field] === 'string') entry[field] = resource[field];
  return entry;
}

function writeResources(dir: string, resources: FhirResource[]): Array<Promise<void>> {
  const seen = new Set<string>();
  return resources.map((r) => {
    const name = resourceFileName(r);
    if (seen.has(name)) throw new Error(`${dir}: two resources would be written to ${name}`);
    seen.add(name);
    // Resources keep their FHIR element order (as read); minified to keep profiles/ small.
    return writeFile(join(dir, name), JSON.stringify(r));
  });
}

/** Writes `<outDir>/<name>#<version>/package/`, replacing what was there; returns the package folder. */
export async function writeFhirPackage(outDir: string, spec: PackageSpec): Promise<string> {
  const folder = join(outDir, `${spec.name}#${spec.version}`);
  const dir = join(folder, 'package');
  await rm(folder, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const resources = [...spec.resources].sort((a, b) => (resourceFileName(a) < resourceFileName(b) ? -1 : 1));
  const manifest = {
    name: spec.name,
    version: spec.version,
    description: spec.description,
    canonical: spec.canonical,
    fhirVersions: ['4.0.1'],
    type: 'fhir.ig',
    dependencies: spec.dependencies,
    fhirdq: { provenance: spec.provenance },
  };
  const index = { 'index-version': 1, files: resources.map(indexEntry) };
  const writes = [
    writeFile(join(dir, 'package.json'), sortedJson(manifest) + '\n'),
    writeFile(join(dir, '.index.json'), sortedJson(index) + '\n'),
    ...writeResources(dir, resources),
  ];
  if (spec.examples?.length) {
    await mkdir(join(dir, 'example'));
    writes.push(...writeResources(join(dir, 'example'), spec.examples));
  }
  await Promise.all(writes);
  return folder;
}
