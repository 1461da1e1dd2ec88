/** fixed[x] and pattern[x] semantics (http://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.pattern_x_). */

/** fixed: exactly equal, no extra content (ids and extensions on the instance aside). */
export function matchesFixed(value: unknown, fixed: unknown): boolean {
  if (fixed === null || typeof fixed !== 'object') return value === fixed || (typeof value === 'number' && Number(fixed) === value);
  if (Array.isArray(fixed)) {
    return Array.isArray(value) && value.length === fixed.length && fixed.every((f, i) => matchesFixed(value[i], f));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const f = fixed as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key === 'id' || key === 'extension') continue;
    if (!(key in f)) return false;
  }
  return Object.keys(f).every((key) => matchesFixed(v[key], f[key]));
}

/** pattern: everything in the pattern is present in the value; arrays match item by item in any order. */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return value === pattern || (typeof value === 'number' && Number(pattern) === value);
  if (Array.isArray(pattern)) {
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return pattern.every((p) => values.some((v) => matchesPattern(v, p)));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return Object.entries(pattern as Record<string, unknown>).every(([key, p]) => matchesPattern(v[key], p));
}

export function describeValue(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export interface FixedDifference {
  path: string;
  messageId: string;
  message: string;
}

/** Where a complex value departs from its fixed value, element by element, as the reference reports it. */
export function fixedDifferences(value: unknown, fixed: unknown, path: string, label: string): FixedDifference[] {
  if (fixed === null || typeof fixed !== 'object' || value === null || typeof value !== 'object' || Array.isArray(fixed) !== Array.isArray(value)) {
    return matchesFixed(value, fixed)
      ? []
      : [{ path, messageId: 'fixed-value', message: `Value is '${describeValue(value)}' but is fixed to '${describeValue(fixed)}' (from ${label})` }];
  }
  const v = value as Record<string, unknown>;
  const f = fixed as Record<string, unknown>;
  const out: FixedDifference[] = [];
  for (const key of Object.keys(v)) {
    if (key === 'id' || key === 'extension' || key in f) continue;
    out.push({
      path: Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`,
      messageId: 'fixed-extra-element',
      message: `The element ${key} is present in the instance but not allowed in the applicable fixed value specified in profile`,
    });
  }
  const childPath = (key: string): string => (Array.isArray(fixed) ? `${path}[${key}]` : `${path}.${key}`);
  for (const key of Object.keys(f)) out.push(...fixedDifferences(v[key], f[key], childPath(key), label));
  return out;
}
