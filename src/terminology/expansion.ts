import { summariesOf, type CanonicalResource, type ConformanceResolver } from '../packages/types.js';
import { grammarFor } from './builtin.js';
import { CodeSystemIndex, type CodeSystemResource, type Concept, type Designation } from './codesystem.js';

export interface ExpansionEntry {
  system: string;
  code: string;
  display?: string;
  designations: Designation[];
  /** Not selectable here: implicitly included (whole system / filter) and marked notSelectable/abstract. */
  abstract: boolean;
  inactive: boolean;
  /** The CodeSystem concept when the system is loaded. */
  concept?: Concept;
}

/** Codes of a value set, by system. Membership of a (system, code) is 'in', 'out' or unknown offline. */
export interface Expansion {
  url: string;
  version?: string;
  title: string;
  /** `url|version`, as the HL7 validator prints value sets. */
  reference: string;
  /** True when membership can be decided for every code (no unavailable system, filter or import). */
  complete: boolean;
  /** system → code → entry; codes as spelled in the code system. */
  contains: Map<string, Map<string, ExpansionEntry>>;
  /** Systems included in whole or by filter that cannot be enumerated offline (SNOMED, LOINC, ...). */
  notCheckableSystems: Set<string>;
  /** Systems included in whole whose codes are checked by grammar (UCUM, BCP-47, mime types). */
  grammarSystems: Set<string>;
  /** Codes explicitly excluded from a not-checkable or grammar system. */
  excluded: Map<string, Set<string>>;
  /** Set when an imported value set could not be resolved: any code may be a member. */
  anyOpen: boolean;
  /** Value sets and code systems that could not be resolved. */
  unresolved: string[];
}

type Part = Omit<Expansion, 'url' | 'version' | 'title' | 'reference' | 'complete'>;

interface ComposeConcept {
  code?: string;
  display?: string;
  designation?: Designation[];
}
interface ComposeInclude {
  system?: string;
  version?: string;
  concept?: ComposeConcept[];
  filter?: Array<{ property?: string; op?: string; value?: string }>;
  valueSet?: string[];
}
interface ExpansionContains {
  system?: string;
  code?: string;
  display?: string;
  abstract?: boolean;
  inactive?: boolean;
  designation?: Designation[];
  contains?: ExpansionContains[];
}
export interface ValueSetResource extends CanonicalResource {
  title?: string;
  compose?: { inactive?: boolean; include?: ComposeInclude[]; exclude?: ComposeInclude[] };
  expansion?: { contains?: ExpansionContains[] };
}

function emptyPart(): Part {
  return { contains: new Map(), notCheckableSystems: new Set(), grammarSystems: new Set(), excluded: new Map(), anyOpen: false, unresolved: [] };
}

function codesOf(part: Part, system: string): Map<string, ExpansionEntry> {
  let m = part.contains.get(system);
  if (!m) part.contains.set(system, (m = new Map()));
  return m;
}

function fromConcept(system: string, c: Concept, implicit: boolean): ExpansionEntry {
  return { system, code: c.code, display: c.display, designations: c.designations, abstract: implicit && c.abstract, inactive: c.inactive, concept: c };
}

function union(acc: Part, p: Part): void {
  for (const [system, codes] of p.contains) {
    const into = codesOf(acc, system);
    for (const [code, e] of codes) if (!into.has(code)) into.set(code, e);
  }
  for (const s of p.notCheckableSystems) acc.notCheckableSystems.add(s);
  for (const s of p.grammarSystems) acc.grammarSystems.add(s);
  for (const [s, codes] of p.excluded) for (const c of codes) (acc.excluded.get(s) ?? acc.excluded.set(s, new Set()).get(s)!).add(c);
  acc.anyOpen ||= p.anyOpen;
  acc.unresolved.push(...p.unresolved);
}

function subtract(acc: Part, p: Part): void {
  for (const [system, codes] of p.contains) {
    const from = acc.contains.get(system);
    for (const code of codes.keys()) from?.delete(code);
    if (acc.notCheckableSystems.has(system) || acc.grammarSystems.has(system)) {
      const ex = acc.excluded.get(system) ?? acc.excluded.set(system, new Set()).get(system)!;
      for (const code of codes.keys()) ex.add(code);
    }
  }
  // An exclusion that cannot be evaluated leaves the system undecidable.
  for (const s of p.notCheckableSystems) if (acc.contains.has(s) || acc.grammarSystems.has(s)) acc.notCheckableSystems.add(s);
}

type Kind = 'none' | 'enum' | 'grammar' | 'open';
function kindOf(p: Part, system: string): Kind {
  if (p.notCheckableSystems.has(system)) return 'open';
  if (p.grammarSystems.has(system)) return 'grammar';
  if (p.contains.has(system)) return 'enum';
  return p.anyOpen ? 'open' : 'none';
}

/**
 * Intersection (several value sets in one include). Where one side cannot be enumerated, the other
 * side's enumeration is taken as is: lenient, so an unknown code never becomes an error.
 */
function intersect(a: Part, b: Part): Part {
  const out = emptyPart();
  out.anyOpen = a.anyOpen && b.anyOpen;
  out.unresolved.push(...a.unresolved, ...b.unresolved);
  const systems = new Set([...a.contains.keys(), ...a.notCheckableSystems, ...a.grammarSystems, ...b.contains.keys(), ...b.notCheckableSystems, ...b.grammarSystems]);
  for (const s of systems) {
    const ka = kindOf(a, s);
    const kb = kindOf(b, s);
    if (ka === 'none' || kb === 'none') continue;
    if (ka === 'enum' && kb === 'enum') {
      const bc = b.contains.get(s)!;
      const into = codesOf(out, s);
      for (const [code, e] of a.contains.get(s)!) if (bc.has(code)) into.set(code, e);
    } else if (ka === 'enum' || kb === 'enum') {
      const [enumSide, other] = ka === 'enum' ? [a, b] : [b, a];
      const grammar = kindOf(other, s) === 'grammar' ? grammarFor(s) : undefined;
      const into = codesOf(out, s);
      for (const [code, e] of enumSide.contains.get(s)!) if (!grammar || grammar(code) === undefined) into.set(code, e);
    } else if (ka === 'grammar' && kb === 'grammar') out.grammarSystems.add(s);
    else out.notCheckableSystems.add(s);
  }
  return out;
}

/** Expands ValueSets from the loaded packages, offline; CodeSystems and expansions are cached. */
export class Expander {
  private readonly codeSystems = new Map<string, CodeSystemIndex | null>();
  private readonly supplements = new Map<string, boolean>();
  private readonly expansions = new Map<string, Expansion | null>();
  private readonly inProgress = new Set<string>();
  private implicitByValueSet?: Map<string, string>;

  constructor(private readonly resolver: ConformanceResolver) {}

  /** The loaded CodeSystem for a system URI (and version, falling back to any version). */
  codeSystem(system: string, version?: string): CodeSystemIndex | undefined {
    const key = version ? `${system}|${version}` : system;
    let cs = this.codeSystems.get(key);
    if (cs === undefined) {
      const res = this.resolver.resolve<CodeSystemResource>(key, 'CodeSystem') ?? (version ? this.resolver.resolve<CodeSystemResource>(system, 'CodeSystem') : undefined);
      cs = res && res.resourceType === 'CodeSystem' && res.content !== 'supplement' ? new CodeSystemIndex(res) : null;
      this.codeSystems.set(key, cs);
    }
    return cs ?? undefined;
  }

  /** Whether the system names a code system supplement: content supplement, or one that says what it supplements. */
  isSupplement(system: string): boolean {
    let supplement = this.supplements.get(system);
    if (supplement === undefined) {
      const res = this.resolver.resolve<CodeSystemResource & { supplements?: unknown }>(system, 'CodeSystem');
      supplement = res?.resourceType === 'CodeSystem' && (res.content === 'supplement' || res.supplements !== undefined);
      this.supplements.set(system, supplement);
    }
    return supplement;
  }

  expand(canonical: string): Expansion | undefined {
    const cached = this.expansions.get(canonical);
    if (cached !== undefined) return cached ?? undefined;
    if (this.inProgress.has(canonical)) return undefined;
    this.inProgress.add(canonical);
    try {
      const result = this.build(canonical) ?? null;
      this.expansions.set(canonical, result);
      return result ?? undefined;
    } finally {
      this.inProgress.delete(canonical);
    }
  }

  private build(canonical: string): Expansion | undefined {
    const vs = this.resolver.resolve<ValueSetResource>(canonical, 'ValueSet');
    if (vs?.resourceType === 'ValueSet') return this.fromValueSet(vs);
    const implicit = this.implicit(canonical);
    if (!implicit) return undefined;
    const [system, isa] = implicit;
    const part = this.includePart({ system, filter: isa ? [{ property: 'concept', op: 'is-a', value: isa }] : undefined }, undefined);
    const cs = this.codeSystem(system);
    return this.finish(part, canonical, cs?.version, cs?.resource.title as string | undefined ?? cs?.resource.name ?? canonical);
  }

  /** `<system>?fhir_vs[=isa/<code>]` or a CodeSystem.valueSet: the whole (or a branch of a) code system. */
  private implicit(canonical: string): [string, string | undefined] | undefined {
    const q = canonical.indexOf('?fhir_vs');
    if (q > 0) {
      const rest = canonical.slice(q + '?fhir_vs'.length);
      return [canonical.slice(0, q), rest.startsWith('=isa/') ? decodeURIComponent(rest.slice(5)) : undefined];
    }
    if (!this.implicitByValueSet) {
      this.implicitByValueSet = new Map();
      for (const cs of summariesOf<CodeSystemResource & { valueSet?: string }>(this.resolver, 'CodeSystem')) {
        if (cs.valueSet && cs.url) this.implicitByValueSet.set(cs.valueSet, cs.url);
      }
    }
    const bare = canonical.split('|')[0];
    const system = this.implicitByValueSet.get(bare);
    return system ? [system, undefined] : undefined;
  }

  private fromValueSet(vs: ValueSetResource): Expansion {
    const url = vs.url ?? '';
    const title = vs.title ?? vs.name ?? url;
    let part: Part | undefined;
    if (vs.compose) {
      part = emptyPart();
      for (const inc of vs.compose.include ?? []) union(part, this.includePart(inc, vs.compose.inactive));
      for (const exc of vs.compose.exclude ?? []) subtract(part, this.includePart(exc, undefined));
    }
    // A pre-expanded expansion is used when the compose cannot be evaluated offline.
    if ((!part || part.notCheckableSystems.size > 0 || part.anyOpen) && vs.expansion?.contains) part = this.fromContains(vs.expansion.contains);
    return this.finish(part ?? emptyPart(), url, vs.version, title);
  }

  private finish(part: Part, url: string, version: string | undefined, title: string): Expansion {
    return {
      ...part,
      url,
      version,
      title,
      reference: version ? `${url}|${version}` : url,
      complete: part.notCheckableSystems.size === 0 && !part.anyOpen,
    };
  }

  private fromContains(list: ExpansionContains[]): Part {
    const part = emptyPart();
    const walk = (items: ExpansionContains[]): void => {
      for (const c of items) {
        if (c.system && c.code) {
          const concept = this.codeSystem(c.system)?.get(c.code);
          codesOf(part, c.system).set(c.code, {
            system: c.system,
            code: c.code,
            display: c.display ?? concept?.display,
            designations: c.designation ?? concept?.designations ?? [],
            abstract: c.abstract === true,
            inactive: c.inactive === true,
            concept,
          });
        }
        if (c.contains) walk(c.contains);
      }
    };
    walk(list);
    return part;
  }

  private includePart(inc: ComposeInclude, inactive: boolean | undefined): Part {
    const parts: Part[] = [];
    if (inc.system) parts.push(this.systemPart(inc.system, inc, inactive));
    for (const ref of inc.valueSet ?? []) {
      const exp = this.expand(ref);
      if (exp) parts.push(exp);
      else {
        const open = emptyPart();
        open.anyOpen = true;
        open.unresolved.push(ref);
        parts.push(open);
      }
    }
    return parts.length === 0 ? emptyPart() : parts.reduce(intersect);
  }

  private systemPart(system: string, inc: ComposeInclude, inactive: boolean | undefined): Part {
    const part = emptyPart();
    const codes = codesOf(part, system);
    const cs = this.codeSystem(system, inc.version);
    if (cs?.enumerable) {
      if (inc.concept) {
        for (const c of inc.concept) {
          if (!c.code) continue;
          const concept = cs.get(c.code);
          // A listed code missing from a complete system is not a member; fragments may lack it.
          if (!concept && cs.content === 'complete') continue;
          const designations = [...(c.designation ?? []), ...(concept?.designations ?? [])];
          codes.set(concept?.code ?? c.code, { system, code: concept?.code ?? c.code, display: concept?.display ?? c.display, designations, abstract: false, inactive: concept?.inactive ?? false, concept });
        }
        return part;
      }
      let selected: Iterable<Concept> = cs.concepts();
      for (const f of inc.filter ?? []) {
        const hits = f.property && f.op && f.value !== undefined ? cs.filter(f.property, f.op, f.value) : undefined;
        if (!hits) {
          part.contains.delete(system);
          part.notCheckableSystems.add(system);
          return part;
        }
        const keep = new Set(hits);
        selected = [...selected].filter((c) => keep.has(c));
      }
      for (const c of selected) if (!(inactive === false && c.inactive)) codes.set(c.code, fromConcept(system, c, true));
      return part;
    }
    if (inc.concept) {
      for (const c of inc.concept) {
        if (c.code) codes.set(c.code, { system, code: c.code, display: c.display, designations: c.designation ?? [], abstract: false, inactive: false });
      }
      return part;
    }
    part.contains.delete(system);
    if (!inc.filter && grammarFor(system)) part.grammarSystems.add(system);
    else part.notCheckableSystems.add(system);
    return part;
  }
}
