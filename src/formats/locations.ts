/**
 * Source positions of a parsed resource, keyed by FHIRPath-like paths built from the JSON structure:
 * `Bundle.entry[0].resource.name[0].given[1]` (array items always indexed, choice elements keep their
 * JSON name, `_given[1]` shares the key of `given[1]`). Line and column are 1-based; the position is
 * where the JSON value starts, or the XML start tag.
 */
export type LocationMap = Map<string, { line: number; column: number }>;

export type Position = { line: number; column: number };

/** The position of a path, or of its longest prefix that has one (`a.b[0].c` → `a.b[0]` → `a.b` → `a`). */
export type PositionOf = (path: string) => Position | undefined;

/** findPosition over a map of every value's position. */
export function positionsIn(locations: LocationMap): PositionOf {
  return (path) => findPosition(path, locations);
}

export function findPosition(path: string, locations: LocationMap): Position | undefined {
  const exact = locations.get(path);
  if (exact) return exact;
  const cuts = prefixEnds(path);
  for (let i = cuts.length - 1; i >= 0; i--) {
    const position = locations.get(path.slice(0, cuts[i]));
    if (position) return position;
  }
  return undefined;
}

/** Ends of the path's prefixes: positions of '.' and '[' outside brackets, parentheses and quotes. */
export function prefixEnds(path: string): number[] {
  const ends: number[] = [];
  let depth = 0;
  let quote = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[') {
      if (depth === 0 && c === '[' && i > 0) ends.push(i);
      depth++;
    } else if (c === ')' || c === ']') depth--;
    else if (c === '.' && depth === 0 && i > 0) ends.push(i);
  }
  return ends;
}
