/** Code maps: local code → target coding, from an inline table or a FHIR ConceptMap. */

export interface TargetCoding {
  system?: string;
  code: string;
  display?: string;
}

/** `null` target: the local code is known and deliberately maps to nothing (e.g. "unknown"). */
export type CodeMap = ReadonlyMap<string, TargetCoding | null>;

export type InlineEntry = string | null | { code: string; display?: string; system?: string };

export function codeMapFromTable(system: string | undefined, codes: Record<string, InlineEntry>): CodeMap {
  const map = new Map<string, TargetCoding | null>();
  for (const [local, entry] of Object.entries(codes)) {
    if (entry === null) map.set(local, null);
    else if (typeof entry === 'string') map.set(local, { system, code: entry });
    else map.set(local, { system: entry.system ?? system, code: entry.code, display: entry.display });
  }
  return map;
}

interface ConceptMapJson {
  resourceType?: string;
  group?: {
    target?: string;
    element?: { code?: string; target?: { code?: string; display?: string; equivalence?: string }[] }[];
  }[];
}

const NO_MATCH = new Set(['unmatched', 'disjoint']);

/** Reads an R4 ConceptMap; the first usable target of each source code wins. */
export function codeMapFromConceptMap(json: unknown, where: string): CodeMap {
  const cm = json as ConceptMapJson;
  if (cm?.resourceType !== 'ConceptMap') throw new Error(`${where} is not a ConceptMap`);
  const map = new Map<string, TargetCoding | null>();
  for (const group of cm.group ?? []) {
    for (const el of group.element ?? []) {
      if (!el.code || map.has(el.code)) continue;
      const target = el.target?.find((t) => t.code && !NO_MATCH.has(t.equivalence ?? ''));
      map.set(el.code, target ? { system: group.target, code: target.code!, display: target.display } : null);
    }
  }
  return map;
}
