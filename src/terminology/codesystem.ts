import type { CanonicalResource } from '../packages/types.js';

export interface Designation {
  language?: string;
  use?: { system?: string; code?: string };
  value: string;
}

export interface Concept {
  code: string;
  display?: string;
  designations: Designation[];
  /** Property code → values as strings (valueCoding → its code, booleans → 'true'/'false'). */
  properties: Map<string, string[]>;
  parents: Concept[];
  children: Concept[];
  /** notSelectable / abstract: may not be chosen from a value set that includes it implicitly. */
  abstract: boolean;
  inactive: boolean;
}

interface RawConcept {
  code?: string;
  display?: string;
  designation?: Array<{ language?: string; use?: { system?: string; code?: string }; value?: string }>;
  property?: Array<{ code?: string } & Record<string, unknown>>;
  concept?: RawConcept[];
}

export interface CodeSystemResource extends CanonicalResource {
  content?: string;
  caseSensitive?: boolean;
  language?: string;
  property?: Array<{ code?: string; uri?: string; type?: string }>;
  concept?: RawConcept[];
}

const PROP_URI = 'http://hl7.org/fhir/concept-properties#';

function propertyValue(p: Record<string, unknown>): string | undefined {
  for (const k in p) {
    if (!k.startsWith('value')) continue;
    const v = p[k];
    if (v !== null && typeof v === 'object') return (v as { code?: string }).code;
    return String(v);
  }
  return undefined;
}

/** A CodeSystem indexed once: code lookup (case-(in)sensitive), hierarchy, properties and filters. */
export class CodeSystemIndex {
  readonly url: string;
  readonly version?: string;
  readonly content: string;
  readonly caseSensitive: boolean;
  readonly language?: string;
  private readonly byCode = new Map<string, Concept>();
  private byLower?: Map<string, Concept>;
  private readonly descendantCache = new Map<Concept, Set<Concept>>();

  constructor(readonly resource: CodeSystemResource) {
    this.url = resource.url ?? '';
    this.version = resource.version;
    this.content = resource.content ?? 'complete';
    // Absent caseSensitive is read as false, as the HL7 validator does.
    this.caseSensitive = resource.caseSensitive === true;
    this.language = resource.language;
    // Property codes are local; map them to their meaning through the declared uri when there is one.
    const meaning = new Map<string, string>();
    for (const p of resource.property ?? []) {
      if (p.code) meaning.set(p.code, p.uri?.startsWith(PROP_URI) ? p.uri.slice(PROP_URI.length) : p.code);
    }
    const links: Array<[Concept, string, 'parent' | 'child']> = [];
    const add = (raw: RawConcept, parent?: Concept): void => {
      if (!raw.code) return;
      const c: Concept = {
        code: raw.code,
        display: raw.display,
        designations: (raw.designation ?? []).filter((d): d is Designation => typeof d.value === 'string'),
        properties: new Map(),
        parents: [],
        children: [],
        abstract: false,
        inactive: false,
      };
      for (const p of raw.property ?? []) {
        const value = p.code ? propertyValue(p) : undefined;
        if (!p.code || value === undefined) continue;
        const list = c.properties.get(p.code);
        if (list) list.push(value);
        else c.properties.set(p.code, [value]);
        const m = meaning.get(p.code) ?? p.code;
        if ((m === 'notSelectable' || m === 'abstract') && value === 'true') c.abstract = true;
        else if (m === 'inactive' && value === 'true') c.inactive = true;
        else if (m === 'status' && (value === 'retired' || value === 'inactive')) c.inactive = true;
        else if (m === 'parent' || m === 'subsumedBy') links.push([c, value, 'parent']);
        else if (m === 'child') links.push([c, value, 'child']);
      }
      if (!this.byCode.has(c.code)) this.byCode.set(c.code, c);
      if (parent) {
        c.parents.push(parent);
        parent.children.push(c);
      }
      for (const child of raw.concept ?? []) add(child, c);
    };
    for (const raw of resource.concept ?? []) add(raw);
    for (const [c, other, kind] of links) {
      const o = this.byCode.get(other);
      if (!o) continue;
      const [parent, child] = kind === 'parent' ? [o, c] : [c, o];
      if (!child.parents.includes(parent)) {
        child.parents.push(parent);
        parent.children.push(child);
      }
    }
  }

  get size(): number {
    return this.byCode.size;
  }

  /** Whether the resource lists the codes at all (not-present and supplements do not). */
  get enumerable(): boolean {
    return this.content !== 'not-present' && this.content !== 'supplement';
  }

  concepts(): IterableIterator<Concept> {
    return this.byCode.values();
  }

  get(code: string): Concept | undefined {
    const exact = this.byCode.get(code);
    if (exact || this.caseSensitive) return exact;
    if (!this.byLower) {
      this.byLower = new Map();
      for (const c of this.byCode.values()) if (!this.byLower.has(c.code.toLowerCase())) this.byLower.set(c.code.toLowerCase(), c);
    }
    return this.byLower.get(code.toLowerCase());
  }

  /** All concepts below `c` (not including it). */
  descendants(c: Concept): Set<Concept> {
    let out = this.descendantCache.get(c);
    if (out) return out;
    out = new Set();
    const stack = [...c.children];
    while (stack.length) {
      const n = stack.pop()!;
      if (out.has(n)) continue;
      out.add(n);
      stack.push(...n.children);
    }
    this.descendantCache.set(c, out);
    return out;
  }

  ancestors(c: Concept): Set<Concept> {
    const out = new Set<Concept>();
    const stack = [...c.parents];
    while (stack.length) {
      const n = stack.pop()!;
      if (out.has(n)) continue;
      out.add(n);
      stack.push(...n.parents);
    }
    return out;
  }

  /** True when `code` is `ancestor` or below it. */
  subsumes(ancestor: Concept, code: Concept): boolean {
    return ancestor === code || this.descendants(ancestor).has(code);
  }

  /**
   * Concepts matching one ValueSet compose filter; undefined when the filter cannot be evaluated
   * (unknown property or operator), which makes the include not checkable rather than empty.
   */
  filter(property: string, op: string, value: string): Concept[] | undefined {
    const hierarchical = property === 'concept' || property === 'code';
    if (hierarchical && (op === 'is-a' || op === 'descendent-of' || op === 'is-not-a' || op === 'generalizes')) {
      const root = this.get(value);
      if (op === 'is-not-a') {
        if (!root) return [...this.byCode.values()];
        const below = this.descendants(root);
        return [...this.byCode.values()].filter((c) => c !== root && !below.has(c));
      }
      if (!root) return [];
      if (op === 'is-a') return [root, ...this.descendants(root)];
      if (op === 'descendent-of') return [...this.descendants(root)];
      return [root, ...this.ancestors(root)];
    }
    const get = this.accessor(property);
    if (!get) return undefined;
    const all = [...this.byCode.values()];
    switch (op) {
      case '=':
        return all.filter((c) => get(c).includes(value));
      case 'in': {
        const set = new Set(value.split(',').map((s) => s.trim()));
        return all.filter((c) => get(c).some((v) => set.has(v)));
      }
      case 'not-in': {
        const set = new Set(value.split(',').map((s) => s.trim()));
        return all.filter((c) => !get(c).some((v) => set.has(v)));
      }
      case 'regex': {
        let re: RegExp;
        try {
          re = new RegExp(`^(?:${value})$`, 'u');
        } catch {
          return undefined;
        }
        return all.filter((c) => get(c).some((v) => re.test(v)));
      }
      case 'exists': {
        const want = value !== 'false';
        return all.filter((c) => get(c).length > 0 === want);
      }
      default:
        return undefined;
    }
  }

  private accessor(property: string): ((c: Concept) => string[]) | undefined {
    if (property === 'code' || property === 'concept') return (c) => [c.code];
    if (property === 'display') return (c) => (c.display === undefined ? [] : [c.display]);
    if (property === 'parent') return (c) => c.parents.map((p) => p.code);
    if (property === 'child') return (c) => c.children.map((p) => p.code);
    const declared = this.resource.property?.some((p) => p.code === property);
    if (!declared) return undefined;
    return (c) => c.properties.get(property) ?? [];
  }
}
