/**
 * FHIR business-version comparison and matching.
 * Hand-written: the `semver` package rejects the partial ("1.2") and wildcard ("2.2.x") forms FHIR
 * packages and canonicals use, and has no lexical fallback for non-semver versions.
 */

interface ParsedVersion {
  /** major, minor, patch; missing parts of a partial version are absent. */
  parts: number[];
  /** Pre-release identifiers, e.g. ['beta', 1]; empty for a release. */
  pre: Array<string | number>;
}

const SEMVER = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function parse(version: string): ParsedVersion | undefined {
  const m = SEMVER.exec(version);
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3]].filter((p): p is string => p !== undefined).map(Number);
  const pre = m[4] ? m[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id)) : [];
  return { parts, pre };
}

function compareIdentifiers(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // Semver: numeric identifiers sort below alphanumeric ones.
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders two versions: negative when a is older. Semver-aware (1.10 > 1.9, 0.12.1-beta.1 < 0.12.1,
 * missing parts count as 0); versions that are not semver compare lexically. `undefined` (no version)
 * is older than any version.
 */
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) {
    const d = (pa.parts[i] ?? 0) - (pb.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const d = compareIdentifiers(pa.pre[i], pb.pre[i]);
    if (d !== 0) return d;
  }
  return pa.pre.length - pb.pre.length;
}

/**
 * True when `actual` satisfies `requested`: equal, or `requested` is a partial version ("1.2") or
 * wildcard ("1.2.x", "1.x") and `actual` is in that series.
 */
export function versionMatches(requested: string, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  if (requested === actual) return true;
  const prefix = requested.replace(/(\.[xX*])+$/, '');
  if (prefix === requested && !/^\d+(\.\d+)?$/.test(requested)) return false;
  return actual.startsWith(prefix + '.');
}

/** The newest of `candidates` (by `versionOf`), or undefined for an empty list. */
export function newest<T>(candidates: Iterable<T>, versionOf: (c: T) => string | undefined): T | undefined {
  let best: T | undefined;
  for (const c of candidates) if (best === undefined || compareVersions(versionOf(c), versionOf(best)) > 0) best = c;
  return best;
}
