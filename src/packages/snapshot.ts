/**
 * StructureDefinition snapshot generation: differential + base snapshot → snapshot, after
 * http://hl7.org/fhir/R4/profiling.html and the HL7 Java ProfileUtilities (R4 behaviour).
 * Hand-written: no maintained JS library generates FHIR snapshots.
 *
 * Approach: the base snapshot becomes a tree (children by path, slices by sliceName); each differential
 * element is located in that tree by its id (or path plus preceding context), diving into datatypes,
 * profiles and contentReferences on demand and creating slices; the tree is then written out in order.
 * Output elements are shared with base definitions where unchanged: treat them as immutable.
 */
import { isDeepStrictEqual } from 'node:util';
import { splitOutside } from '../formats/fhirpath-text.js';
import { asBoolean, asInteger, asText } from '../formats/json-primitives.js';
import type { CanonicalResource, ConformanceResolver } from './types.js';
import type { Issue } from '../validation/issues.js';

export interface TypeRef {
  code: string;
  profile?: string[];
  targetProfile?: string[];
  [key: string]: unknown;
}

export interface Discriminator {
  type: string;
  path: string;
}

export interface Slicing {
  discriminator?: Discriminator[];
  description?: string;
  ordered?: boolean;
  rules?: string;
  [key: string]: unknown;
}

export interface Constraint {
  key: string;
  source?: string;
  [key: string]: unknown;
}

export interface ElementDefinition {
  id?: string;
  path: string;
  sliceName?: string;
  min?: number;
  max?: string;
  type?: TypeRef[];
  slicing?: Slicing;
  constraint?: Constraint[];
  contentReference?: string;
  binding?: { strength?: string; valueSet?: string; description?: string; [key: string]: unknown };
  base?: { path: string; min: number; max: string };
  [key: string]: unknown;
}

export interface StructureDefinition extends CanonicalResource {
  resourceType: 'StructureDefinition';
  type?: string;
  kind?: string;
  derivation?: 'specialization' | 'constraint';
  baseDefinition?: string;
  snapshot?: { element: ElementDefinition[] };
  differential?: { element: ElementDefinition[] };
}

export interface SnapshotResult {
  snapshot: ElementDefinition[];
  issues: Issue[];
}

const CORE = 'http://hl7.org/fhir/StructureDefinition/';
/** Properties the snapshot merge treats specially; everything else in a differential element overrides. */
const SPECIAL = new Set(['id', 'path', 'sliceName', 'base', 'slicing', 'constraint', 'binding', 'condition', 'mapping', 'alias']);
/** Choice-typed properties: a differential value replaces any base value of the same family. */
const CHOICE_FAMILIES = ['fixed', 'pattern', 'defaultValue', 'minValue', 'maxValue'];
const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const DISCRIMINATOR_TYPES = new Set(['value', 'exists', 'pattern', 'type', 'profile', 'position']);
const EXTENSION_SLICING: Slicing = { discriminator: [{ type: 'value', path: 'url' }], ordered: false, rules: 'open' };

/** Immutable tree of a snapshot, cached per definition. */
interface PNode {
  ed: ElementDefinition;
  name: string;
  children?: PNode[];
  slices?: PNode[];
}
interface PTree {
  root: PNode;
  /** Unsliced nodes by path, for contentReference. */
  byPath: Map<string, PNode>;
}

/** Working tree node during one generation. */
interface Node {
  ed: ElementDefinition;
  name: string;
  origin?: PNode;
  children?: Node[];
  slices?: Node[];
  /** Value[x] sliced by renamed differential paths (valueQuantity): types are narrowed to the slices. */
  typeSliced?: boolean;
  /** For a slice: the sliced element, whose children (as the differential constrained them) a slice starts from. */
  slicedFrom?: Node;
}

interface Segment {
  name: string;
  slice?: string;
}

const treeCache = new WeakMap<StructureDefinition, PTree>();
const snapshotCache = new WeakMap<StructureDefinition, StructureDefinition>();
const inProgress = new Set<StructureDefinition>();

function lastSegment(path: string): string {
  const i = path.lastIndexOf('.');
  return i < 0 ? path : path.slice(i + 1);
}

function buildTree(elements: ElementDefinition[]): PTree {
  const root: PNode = { ed: elements[0], name: elements[0].path };
  const byPath = new Map<string, PNode>([[root.ed.path, root]]);
  const stack: PNode[] = [root];
  for (let i = 1; i < elements.length; i++) {
    const ed = elements[i];
    const p = ed.path;
    let top = stack[stack.length - 1];
    while (stack.length > 1 && p !== top.ed.path && !p.startsWith(top.ed.path + '.')) {
      stack.pop();
      top = stack[stack.length - 1];
    }
    const node: PNode = { ed, name: lastSegment(p) };
    if (p === top.ed.path && ed.sliceName) {
      // a slice: its owner is the unsliced element, or for a re-slice a/b the slice a
      const slash = ed.sliceName.lastIndexOf('/');
      const ownerSlice = slash < 0 ? undefined : ed.sliceName.slice(0, slash);
      while (stack.length > 1 && top.ed.path === p && top.ed.sliceName !== ownerSlice) {
        stack.pop();
        top = stack[stack.length - 1];
      }
      (top.slices ??= []).push(node);
    } else {
      (top.children ??= []).push(node);
      if (!ed.sliceName && !byPath.has(p)) byPath.set(p, node);
    }
    stack.push(node);
  }
  return { root, byPath };
}

function instantiate(p: PNode, withSlices = true): Node {
  const n: Node = { ed: p.ed, name: p.name, origin: p };
  if (p.children) n.children = p.children.map((c) => instantiate(c));
  if (withSlices && p.slices) n.slices = p.slices.map((s) => instantiate(s));
  return n;
}

function cloneNode(n: Node): Node {
  return { ...n, children: n.children?.map(cloneNode), slices: n.slices?.map(cloneNode) };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Splits an element id into segments; undefined when it does not line up with the path. */
function idSegments(id: string, pathParts: string[]): Segment[] | undefined {
  const parts = id.split('.');
  if (parts.length !== pathParts.length) return undefined;
  const segs: Segment[] = [];
  for (const part of parts) {
    const c = part.indexOf(':');
    segs.push(c < 0 ? { name: part } : { name: part.slice(0, c), slice: part.slice(c + 1) });
  }
  return segs;
}


function isLargerMax(derived: string, base: string): boolean {
  if (base === '*') return false;
  if (derived === '*') return true;
  return Number(derived) > Number(base);
}

/** Generates snapshots; one instance per top-level call so that issues and recursion share state. */
class Generator {
  readonly issues: Issue[] = [];
  private rootType = '';

  constructor(
    private readonly sd: StructureDefinition,
    private readonly resolver: ConformanceResolver,
  ) {}

  /** Location of the differential element being applied, for issue paths (as the Java validator reports them). */
  private loc = 'StructureDefinition';
  /** Java aborts generation at the first slicing redefinition; report it once. */
  private redefineReported = false;

  private issue(severity: Issue['severity'], code: Issue['code'], messageId: string, message: string, path = this.loc): void {
    this.issues.push({ severity, code, messageId, message, path });
  }

  private tree(sd: StructureDefinition): PTree | undefined {
    let t = treeCache.get(sd);
    if (t) return t;
    const full = ensureSnapshot(sd, this.resolver);
    if (!full.snapshot?.element?.length) return undefined;
    t = buildTree(full.snapshot.element);
    treeCache.set(sd, t);
    return t;
  }

  private resolveSd(url: string): StructureDefinition | undefined {
    return this.resolver.resolve<StructureDefinition>(url, 'StructureDefinition');
  }

  /** The immutable children an element gets when one dives into it (type, profile or contentReference). */
  private typeChildren(ed: ElementDefinition, hint: string | undefined, where: string): PNode[] | undefined {
    if (ed.contentReference) {
      const ref = ed.contentReference.slice(ed.contentReference.indexOf('#') + 1);
      const typeName = ref.split('.')[0];
      const sd = this.resolveSd(CORE + typeName);
      const target = sd && this.tree(sd)?.byPath.get(ref);
      if (!target?.children) {
        this.issue('error', 'not-found', 'SNAPSHOT_CONTENTREF_NOT_FOUND', `Unable to resolve contentReference ${ed.contentReference}`);
        return undefined;
      }
      return target.children;
    }
    let types = ed.type ?? [];
    if (types.length > 1 && hint) types = types.filter((t) => t.code === hint);
    const codes = new Set(types.map((t) => t.code));
    if (codes.size !== 1) {
      this.issue('error', 'structure', 'SNAPSHOT_CANNOT_DIVE', `Cannot constrain children of ${where}: it has ${codes.size === 0 ? 'no type' : 'more than one type'}`);
      return undefined;
    }
    const t = types[0];
    const url = t.code !== 'Reference' && t.profile?.length === 1 ? t.profile[0] : CORE + t.code;
    const sd = this.resolveSd(url);
    if (!sd) {
      this.issue('error', 'not-found', 'SNAPSHOT_TYPE_NOT_FOUND', `Unable to find the definition ${url} to constrain ${where}`);
      return undefined;
    }
    return this.tree(sd)?.root.children;
  }

  private ensureChildren(node: Node, hint: string | undefined, where: string): Node[] | undefined {
    if (node.children) return node.children;
    // So does a slice of a datatype once the differential constrains its children (its extension 0..0, ...), as the
    // reference validator's snapshots do; slices whose children are not constrained stay unexpanded.
    const sliced = node.slicedFrom?.children;
    if (sliced && !hint) return (node.children = sliced.map(cloneNode));
    const pc = this.typeChildren(node.ed, hint, where);
    if (!pc) return undefined;
    node.children = pc.map((c) => instantiate(c));
    return node.children;
  }

  private getOrCreateSlice(owner: Node, sliceName: string): Node {
    const existing = owner.slices?.find((s) => s.ed.sliceName === sliceName);
    if (existing) return existing;
    const n: Node = owner.origin ? instantiate(owner.origin, false) : { ed: owner.ed, name: owner.name };
    n.slicedFrom = owner;
    // A backbone element's slice starts from the sliced element's children as the differential constrained them so far.
    if (n.children && owner.children) n.children = owner.children.map(cloneNode);
    // a slice is mandatory only when the differential says so (Java ProfileUtilities)
    const ed: ElementDefinition = { ...n.ed, sliceName, min: 0 };
    delete ed.slicing;
    n.ed = ed;
    (owner.slices ??= []).push(n);
    return n;
  }

  /** Locates (creating slices and expanding types as needed) the node a differential element targets. */
  private locate(root: Node, segs: Segment[], where: string): { node: Node; owner?: Node; narrowTo?: string } | undefined {
    let node = root;
    let owner: Node | undefined;
    let inSlice = false;
    let hint: string | undefined;
    let narrowTo: string | undefined;
    for (let i = 1; i < segs.length; i++) {
      const seg = segs[i];
      const children = this.ensureChildren(node, hint, where);
      if (!children) return undefined;
      hint = undefined;
      narrowTo = undefined;
      let child = children.find((c) => c.name === seg.name);
      if (!child) {
        for (const c of children) {
          if (!c.name.endsWith('[x]')) continue;
          const prefix = c.name.slice(0, -3);
          if (!seg.name.startsWith(prefix)) continue;
          const suffix = seg.name.slice(prefix.length);
          const t = c.ed.type?.find((tr) => capitalize(tr.code) === suffix);
          if (t) {
            child = c;
            hint = t.code;
            break;
          }
        }
        if (!child) return undefined;
        if (inSlice) {
          // inside a slice R4 constrains the choice element itself (as the published snapshots do)
          narrowTo = hint;
        } else {
          // elsewhere a renamed choice becomes a type slice of value[x]
          child.typeSliced = true;
          child = this.getOrCreateSlice(child, seg.name);
          const code = hint;
          if (child.ed.type && child.ed.type.length > 1) child.ed = { ...child.ed, type: child.ed.type.filter((tr) => tr.code === code) };
          inSlice = true;
        }
      }
      node = child;
      owner = undefined;
      if (seg.slice) {
        const parts = seg.slice.split('/');
        for (let k = 1; k <= parts.length; k++) {
          owner = node;
          node = this.getOrCreateSlice(node, parts.slice(0, k).join('/'));
        }
        inSlice = true;
      }
    }
    return { node, owner, narrowTo };
  }

  /** Applies a differential element to a node, with the R4 checks on cardinality, types and bindings. */
  private apply(node: Node, d: ElementDefinition, where: string, narrowTo: string | undefined): void {
    let base = node.ed;
    const t0 = d.type?.length === 1 ? d.type[0] : undefined;
    if (t0 && t0.code !== 'Reference' && t0.profile?.length === 1) {
      // a profiled type: the element starts from that profile's root (Java: "template")
      const psd = this.resolveSd(t0.profile[0]);
      const proot = psd && this.tree(psd)?.root.ed;
      if (proot) {
        const tpl: ElementDefinition = { ...proot, path: base.path, base: base.base };
        delete tpl.sliceName;
        delete tpl.slicing;
        if (base.sliceName) tpl.sliceName = base.sliceName;
        tpl.min = base.min;
        tpl.max = base.max;
        base = tpl;
      } else {
        this.issue('warning', 'not-found', 'SNAPSHOT_PROFILE_NOT_FOUND', `Unable to resolve profile ${t0.profile[0]} for ${where}`);
      }
    }
    const out: ElementDefinition = { ...base };
    if (d.min !== undefined && base.min !== undefined && d.min < base.min && !base.sliceName && !d.sliceName) {
      this.issue('error', 'structure', 'SNAPSHOT_MIN_LOOSENED', `Element ${where}: derived min (${d.min}) cannot be less than base min (${base.min})`);
    }
    if (d.max !== undefined && base.max !== undefined && isLargerMax(d.max, base.max)) {
      this.issue('error', 'structure', 'SNAPSHOT_MAX_LOOSENED', `Element ${where}: derived max (${d.max}) cannot be greater than base max (${base.max})`);
    }
    if (d.type && base.type) this.checkTypes(base.type, d.type, where);
    for (const key of Object.keys(d)) {
      if (SPECIAL.has(key)) continue;
      const fam = CHOICE_FAMILIES.find((f) => key.startsWith(f) && key.length > f.length && key[f.length] === key[f.length].toUpperCase());
      // A constraint can narrow, never change, what its base fixes.
      if (fam === 'fixed' && key in base && !isDeepStrictEqual(base[key], d[key])) {
        this.issue('error', 'value', 'SNAPSHOT_FIXED_CHANGED',
          `Value is '${describe(d[key])}' but is fixed to '${describe(base[key])}' in the profile, because the value must match the fixed value defined in the base (${where})`);
      }
      if (fam) for (const k of Object.keys(out)) if (k.startsWith(fam) && k !== key && k[fam.length] === k[fam.length]?.toUpperCase()) delete out[k];
      out[key] = d[key];
    }
    if (narrowTo && !d.type && out.type) out.type = out.type.filter((tr) => tr.code === narrowTo);
    if (d.binding) {
      if (base.binding?.strength === 'required' && d.binding.strength && d.binding.strength !== 'required') {
        this.issue('error', 'structure', 'SNAPSHOT_BINDING_LOOSENED', `illegal attempt to change the binding on ${where} from required to ${d.binding.strength}`);
      }
      const nb = { ...base.binding, ...d.binding };
      if (!d.binding.description) delete nb.description;
      out.binding = nb;
    }
    if (d.constraint) {
      const list = [...(base.constraint ?? [])];
      for (const c of d.constraint) {
        const cc = c.source ? c : { ...c, source: this.sd.url };
        const i = list.findIndex((x) => x.key === c.key);
        if (i >= 0) list[i] = cc;
        else list.push(cc);
      }
      out.constraint = list;
    }
    for (const key of ['condition', 'alias'] as const) {
      const dv = d[key] as string[] | undefined;
      if (dv) out[key] = [...new Set([...((base[key] as string[] | undefined) ?? []), ...dv])];
    }
    if (d.mapping) {
      const bm = (base.mapping as { identity: string; map: string }[] | undefined) ?? [];
      const dm = d.mapping as { identity: string; map: string }[];
      out.mapping = [...bm, ...dm.filter((m) => !bm.some((b) => b.identity === m.identity && b.map === m.map))];
    }
    if (d.slicing) {
      out.slicing = base.slicing ? mergeSlicing(base.slicing, d.slicing) : d.slicing;
      this.checkDiscriminators(node, out, d.slicing);
    }
    node.ed = out;
  }

  private checkTypes(baseTypes: TypeRef[], types: TypeRef[], where: string): void {
    const codes = new Set(baseTypes.map(fhirTypeCode));
    if (codes.has('*') || codes.has('Resource') || codes.has('DomainResource')) return;
    for (const t of types) {
      if (!codes.has(t.code)) {
        this.issue('error', 'structure', 'SNAPSHOT_ILLEGAL_TYPE', `Illegal constrained type ${t.code} for ${where}: allowed are ${[...codes].join(', ')}`);
      }
    }
  }

  private checkDiscriminators(node: Node, ed: ElementDefinition, slicing: Slicing): void {
    slicing.discriminator?.forEach((disc, j) => {
      if (typeof disc.type === 'string' && !DISCRIMINATOR_TYPES.has(disc.type)) {
        this.issue('error', 'invalid', 'SNAPSHOT_BAD_DISCRIMINATOR_TYPE',
          `Error generating Snapshot: Unknown DiscriminatorType code '${disc.type}' (this usually arises from a problem in the differential)`,
          'StructureDefinition');
      }
      if (typeof disc.path === 'string' && !this.discriminatorValid(node, ed, disc.path)) {
        this.issue('error', 'invalid', 'SNAPSHOT_BAD_DISCRIMINATOR',
          `The discriminator path '${disc.path}' does not appear to be valid for the element that is being sliced '${ed.path}'`,
          `${this.loc}.slicing.discriminator[${j}]`);
      }
    });
  }

  /** A slice may carry slicing only to re-slice with the same rules as its owner (Java ProfileUtilities). */
  private checkRedefinedSlicing(owner: Node, slice: Node, d: ElementDefinition): void {
    const base = owner.ed.slicing ?? (owner.ed.type?.some((t) => t.code === 'Extension') ? EXTENSION_SLICING : undefined);
    if (!base || !d.slicing || this.redefineReported || slicingSummary(base) === slicingSummary({ ...base, ...d.slicing })) return;
    this.redefineReported = true;
    this.issue('error', 'business-rule', 'SNAPSHOT_SLICING_REDEFINED',
      `The element at ${owner.ed.path} defines the slicing ${slicingSummary(base)} but then an element in the slicing ${d.id ?? slice.ed.path} tries to redefine the slicing to ${slicingSummary(d.slicing)}`,
      'StructureDefinition');
  }

  /** Checks that the plain-name steps of a discriminator path exist below the sliced element. */
  private discriminatorValid(node: Node, ed: ElementDefinition, path: string): boolean {
    let steps = splitOutside(path, '.');
    if (steps[0] === '$this') steps = steps.slice(1);
    let children: { ed: ElementDefinition; name: string }[] | undefined = node.children;
    let current = ed;
    for (const step of steps) {
      if (step.includes('(')) return true; // resolve(), extension(url), ofType(): checked at validation time
      children ??= this.typeChildrenQuiet(current);
      if (!children) return true; // cannot tell: do not report
      const hit = children.find((c) => c.name === step || (c.name.endsWith('[x]') && step.startsWith(c.name.slice(0, -3))));
      if (!hit) return false;
      current = hit.ed;
      children = (hit as Node | PNode).children;
    }
    return true;
  }

  private typeChildrenQuiet(ed: ElementDefinition): PNode[] | undefined {
    const codes = new Set((ed.type ?? []).map((t) => t.code));
    if (codes.size !== 1 && !ed.contentReference) return undefined;
    const before = this.issues.length;
    const children = this.typeChildren(ed, undefined, ed.path);
    this.issues.length = before;
    return children;
  }

  generate(): ElementDefinition[] {
    const sd = this.sd;
    const given: unknown = sd.differential?.element;
    const diff = (Array.isArray(given) ? given : []).map((d) => (wellFormedElement(d) ?? d) as ElementDefinition);
    const baseDefinition = asText(sd.baseDefinition);
    const baseSd = baseDefinition ? this.resolveSd(baseDefinition) : undefined;
    const where = asText(sd.url) ?? asText(sd.id) ?? '?';
    if (!baseSd) {
      this.issue('error', 'not-found', 'SNAPSHOT_BASE_NOT_FOUND', baseDefinition ? `Unable to find base definition ${baseDefinition} for ${where}` : `${where} has no baseDefinition`);
      return [];
    }
    const baseTree = this.tree(baseSd);
    if (!baseTree) {
      this.issue('error', 'processing', 'SNAPSHOT_BASE_UNAVAILABLE', inProgress.has(baseSd)
        ? `Circular baseDefinition chain: ${where} derives (indirectly) from itself through ${baseSd.url}`
        : `The base definition ${baseSd.url} has no snapshot and none could be generated`);
      return [];
    }
    const pathProblem = differentialPathProblem(diff, where);
    if (pathProblem) {
      this.issue('error', 'processing', pathProblem.messageId, `Error generating Snapshot: ${pathProblem.message}`, `StructureDefinition.differential.element[${pathProblem.index}]`);
      return [];
    }
    const root = instantiate(baseTree.root);
    const specialization = sd.derivation === 'specialization';
    this.rootType = (specialization && asText(sd.type)) || baseTree.root.ed.path;
    let prev: Segment[] = [];
    for (let i = 0; i < diff.length; i++) {
      const d = diff[i];
      const pathParts = d.path.split('.');
      let segs = d.id ? idSegments(d.id, pathParts) : undefined;
      if (!segs) {
        // path-only differentials: slices are inherited from the preceding element on the same path
        segs = pathParts.map((name, k) => ({ name, slice: k < pathParts.length - 1 && prev[k]?.name === name && prev.slice(0, k).every((s, j) => s.name === pathParts[j]) ? prev[k].slice : undefined }));
        if (d.sliceName) segs[segs.length - 1].slice = d.sliceName;
      }
      prev = segs;
      const label = d.id ?? d.path;
      this.loc = `StructureDefinition.differential.element[${i}]`;
      const before = this.issues.length;
      const found = this.locate(root, segs, label);
      if (found) {
        if (found.owner && d.slicing) this.checkRedefinedSlicing(found.owner, found.node, d);
        this.apply(found.node, d, label, found.narrowTo);
      } else if (specialization && segs.length > 1) {
        this.addNew(root, segs, d, label);
      } else if (this.issues.length === before) {
        this.issue('error', 'structure', 'SNAPSHOT_UNMATCHED_DIFF', `Differential element '${label}' of ${where} does not match any element in the base ${baseSd.url}`);
      }
    }
    const out: ElementDefinition[] = [];
    this.loc = 'StructureDefinition';
    this.emit(root, this.rootType, this.rootType, out);
    return out;
  }

  /** Specializations may add elements that the base does not have. */
  private addNew(root: Node, segs: Segment[], d: ElementDefinition, label: string): void {
    const parent = segs.length === 2 ? root : this.locate(root, segs.slice(0, -1), label)?.node;
    if (!parent) {
      this.issue('error', 'structure', 'SNAPSHOT_UNMATCHED_DIFF', `Differential element '${label}' has no parent in the base`);
      return;
    }
    (parent.children ??= []).push({ ed: { ...d }, name: segs[segs.length - 1].name });
  }

  private emit(node: Node, path: string, id: string, out: ElementDefinition[]): void {
    let ed = node.ed;
    if (node.typeSliced && node.slices) {
      const codes = new Set(node.slices.flatMap((s) => (s.ed.type ?? []).map((t) => t.code)));
      ed = { ...ed, type: ed.type?.filter((t) => codes.has(t.code)), slicing: ed.slicing ?? { discriminator: [{ type: 'type', path: '$this' }], ordered: false, rules: 'closed' } };
    } else if (node.slices?.length && !ed.slicing && !ed.sliceName) {
      // re-slices (a slice's own slices) follow the owner's slicing, hence !ed.sliceName
      if (ed.type?.some((t) => t.code === 'Extension')) {
        ed = { ...ed, slicing: EXTENSION_SLICING };
      } else if (node.slices.length === 1 && node.ed === node.origin?.ed) {
        // R4 Java: a lone named element without slicing constrains the element itself, keeping the name
        const only = node.slices[0];
        this.issue('warning', 'structure', 'SNAPSHOT_SLICE_WITHOUT_SLICING', `Element ${id} has a slice '${only.ed.sliceName}' but no slicing; treated as a constraint on the element`);
        this.emit(only, path, id + ':' + only.ed.sliceName, out);
        return;
      } else if (node.name.endsWith('[x]')) {
        ed = { ...ed, slicing: { discriminator: [{ type: 'type', path: '$this' }], ordered: false, rules: 'open' } };
      } else {
        this.issue('error', 'structure', 'SNAPSHOT_SLICE_WITHOUT_SLICING', `Element ${id} has slices but no slicing is defined`);
      }
    }
    out.push(ed.id === id && ed.path === path ? ed : { ...ed, id, path });
    if (node.children) for (const c of node.children) this.emit(c, path + '.' + c.name, id + '.' + c.name, out);
    if (node.slices) {
      for (const s of node.slices) {
        const name = s.ed.sliceName ?? '';
        const sid = ed.sliceName ? id + '/' + name.slice(name.lastIndexOf('/') + 1) : id + ':' + name;
        this.emit(s, path, sid, out);
      }
    }
  }
}

/** System.String etc. carry the FHIR type (uri, id, ...) in an extension; differentials name that type. */
function fhirTypeCode(t: TypeRef): string {
  const ext = t.extension as { url: string; valueUrl?: string }[] | undefined;
  return ext?.find((e) => e.url === FHIR_TYPE_EXT)?.valueUrl ?? t.code;
}

/** Java's rendering of slicing rules in messages: `unordered/open [value=url]`. */
function slicingSummary(s: Slicing): string {
  const ordered = s.ordered === undefined ? '??' : s.ordered ? 'ordered' : 'unordered';
  return `${ordered}/${s.rules ?? '??'} [${(s.discriminator ?? []).map((d) => `${d.type}=${d.path}`).join(',')}]`;
}

function describe(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function mergeSlicing(base: Slicing, d: Slicing): Slicing {
  const out: Slicing = { ...base, ...d };
  if (d.discriminator && base.discriminator) {
    const extra = d.discriminator.filter((x) => !base.discriminator!.some((b) => b.type === x.type && b.path === x.path));
    out.discriminator = [...base.discriminator, ...extra];
  }
  return out;
}

/** Keeps a value of the right JSON shape (possibly with parts dropped), or says to drop it (undefined). */
type Shape = (value: unknown) => unknown;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text: Shape = asText;
const integer: Shape = asInteger;
const flag: Shape = asBoolean;
const anyRecord: Shape = (v) => (isRecord(v) ? v : undefined);

/** An array whose items keep their shape; the same array when nothing was dropped. */
function listOf(item: Shape): Shape {
  return (v) => {
    if (!Array.isArray(v)) return undefined;
    const kept = v.map(item);
    if (kept.every((x, i) => x === v[i])) return v;
    return kept.filter((x) => x !== undefined);
  };
}

/** An object whose listed members keep their shape (others as they are); dropped without its required members. */
function recordOf(members: Record<string, Shape>, required: readonly string[] = []): Shape {
  return (v) => {
    if (!isRecord(v)) return undefined;
    let copy: Record<string, unknown> | undefined;
    for (const key in members) {
      if (!(key in v)) continue;
      const kept = members[key]!(v[key]);
      if (kept === v[key]) continue;
      copy ??= { ...v };
      if (kept === undefined) delete copy[key];
      else copy[key] = kept;
    }
    const out = copy ?? v;
    return required.every((key) => out[key] !== undefined) ? out : undefined;
  };
}

/**
 * An element definition as the snapshot generator and the validator's compiler read it. Definitions reach them
 * unchecked (a profile under validation, a package as published): a member of the wrong JSON type is read as the
 * reference's parser reads it (see json-primitives). Undefined when the element is no object.
 */
export const wellFormedElement = recordOf({
  id: text,
  sliceName: text,
  min: integer,
  max: text,
  contentReference: text,
  maxLength: integer,
  isModifier: flag,
  mustSupport: flag,
  type: listOf(recordOf({ code: text, profile: listOf(text), targetProfile: listOf(text), aggregation: listOf(text), extension: listOf(anyRecord) }, ['code'])),
  slicing: recordOf({ discriminator: listOf(recordOf({ type: text, path: text })), ordered: flag, rules: text, description: text }),
  binding: recordOf({ strength: text, valueSet: text, description: text }),
  constraint: listOf(recordOf({ key: text, severity: text, human: text, expression: text, source: text, extension: listOf(anyRecord) }, ['key'])),
  mapping: listOf(recordOf({ identity: text, map: text }, ['identity', 'map'])),
  base: recordOf({ path: text, min: integer, max: text }),
}) as (element: unknown) => Record<string, unknown> | undefined;

/** Characters an element name must not hold (ProfileUtilities.checkDifferential); '[' and ']' only as a closing [x]. */
const NAME_FORBIDDEN = /[,:;'"/|?!@#$%^&*(){}]/;

/**
 * The first differential element whose path the generator cannot work with, as the reference's checkDifferential
 * finds it before generating (it throws; the validator reports the message): no path, or a name that is empty, longer
 * than 64 characters, or holds whitespace or a character outside ' '..'z' or the forbidden ones.
 */
function differentialPathProblem(diff: readonly ElementDefinition[], where: string): { index: number; messageId: string; message: string } | undefined {
  for (let index = 0; index < diff.length; index++) {
    const p: unknown = diff[index]?.path;
    if (typeof p !== 'string') {
      return p === undefined
        ? { index, messageId: 'NO_PATH_ON_ELEMENT_IN_DIFFERENTIAL_IN_', message: `No path on element in differential in ${where}` }
        : { index, messageId: 'NO_PATH_VALUE_ON_ELEMENT_IN_DIFFERENTIAL_IN_', message: `No path value on element in differential in ${where}` };
    }
    if (!p.includes('.')) continue;
    const illegal = (id: string, why: string) => ({ index, messageId: `ILLEGAL_PATH__IN_DIFFERENTIAL_IN__${id}`, message: `Illegal path '${p}' in differential in ${where}: ${why}` });
    for (const name of p.split('.')) {
      if (name.length === 0) return illegal('NAME_PORTION_MISING_', "name portion missing ('..')");
      if (name.length > 64) return illegal('NAME_PORTION_EXCEEDS_64_CHARS_IN_LENGTH', 'name portion exceeds 64 chars in length');
      for (const ch of name) {
        if (/\s/.test(ch)) return illegal('NO_UNICODE_WHITESPACE', 'no unicode whitespace');
        if (NAME_FORBIDDEN.test(ch) || ch < ' ' || ch > 'z') return illegal('ILLEGAL_CHARACTER_', `illegal character '${ch}'`);
      }
      const bracketed = name.includes('[') || name.includes(']');
      if (bracketed && (!name.endsWith('[x]') || /[[\]]/.test(name.slice(0, -3)))) return illegal('ILLEGAL_CHARACTERS_', 'illegal characters []');
    }
  }
  return undefined;
}

/** Generates the snapshot of `sd` from its differential and its base chain (whose snapshots are generated when missing). */
export function generateSnapshot(sd: StructureDefinition, resolver: ConformanceResolver): SnapshotResult {
  inProgress.add(sd);
  try {
    const g = new Generator(sd, resolver);
    const snapshot = g.generate();
    return { snapshot, issues: g.issues };
  } finally {
    inProgress.delete(sd);
  }
}

/** Returns `sd` when it has a snapshot, else a shallow copy with a generated one; memoised per object. */
export function ensureSnapshot(sd: StructureDefinition, resolver: ConformanceResolver): StructureDefinition {
  if (sd.snapshot?.element?.length) return sd;
  const cached = snapshotCache.get(sd);
  if (cached) return cached;
  if (inProgress.has(sd)) return sd; // a baseDefinition cycle: the generator that asked reports it
  const result: StructureDefinition = { ...sd, snapshot: { element: generateSnapshot(sd, resolver).snapshot } };
  snapshotCache.set(sd, result);
  return result;
}
