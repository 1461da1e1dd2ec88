/**
 * Source positions of a parsed resource, keyed by FHIRPath-like paths built from the JSON structure:
 * `Bundle.entry[0].resource.name[0].given[1]` (array items always indexed, choice elements keep their
 * JSON name, `_given[1]` shares the key of `given[1]`). Line and column are 1-based; the position is
 * where the JSON value starts, or the XML start tag.
 */
export type LocationMap = Map<string, { line: number; column: number }>;
