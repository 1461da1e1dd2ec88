/**
 * FHIRPath invariants → JavaScript source over the raw JSON: the fastest tier, under which the closure
 * compiler (fhirpath-compiler.ts) and fhirpath.js stay. Types come from fhirpath.js's R4 model at compile
 * time, so a member step is a property read and a comparison a `===`; wherever the closure compiler's
 * answer could depend on something the static types do not settle (a `_x` companion, a value of an
 * unexpected kind, a resourceType, an error to report), the generated code hands that evaluation over
 * (returns undefined). Expressions outside the subset are not generated at all.
 * Written by hand: no library generates JavaScript from FHIRPath.
 */
import { type AstNode, baseInfo, BOOLEAN_OPERATOR_NODES, compileFhirPath, unquote, WRAPPER_NODES } from './fhirpath-compiler.js';
import { parseFhirPath } from './fhirpath-js.js';
import { fhirPathRegExp } from './fhirpath-regex.js';
import {
  childSpec, choiceVariant, DATE_PATHS, deepEqual, intersect, isPrimitiveValue, isSubtype, isTypeName, model, Node, parseTypeSpecifier, roundToMaxPrecision, type TypeName, typeIs, typeOf,
} from './fhirpath/runtime.js';

/** An evaluation error the closure tier certainly raises, with its message (an InvariantResult). */
export interface GeneratedError {
  readonly ok: false;
  readonly evaluationError: string;
}

/** The verdict on a focus: true passes, false fails, an error object reports one, undefined hands the evaluation to the next tier. */
export type GeneratedInvariant = (node: unknown, resource: unknown) => boolean | GeneratedError | undefined;

/** Static type of a collection of model nodes: fhirpath.js's node path and type; `rt` the resourceType its objects carry. */
interface NodeType {
  path: string;
  type: string;
  rt: string | undefined;
  /** Resource-typed element (contained, entry.resource): its type is only known at run time. */
  anyResource: boolean;
  /** fhirpath.js leaves extensions untyped (typed by their JSON value): `type` is for navigation only. */
  untyped?: boolean;
  /** Outside fhirpath.js's model (a profile path it cannot type): values are the JSON's, and compare as such. */
  raw?: boolean;
  /** A union's other element paths: member steps must mean the same from each of them. */
  alts?: string[];
}

/** The object a choice element was read from, with its variants (constants): which one is present decides its type. */
interface ChoiceOf {
  parent: string;
  /** The choice's name (JavaScript source of the string). */
  key: string;
  names: string;
  plain: string;
}

/** The object and companion key a primitive slot was read from: where its `_x` extensions are. */
interface Owner {
  parent: string;
  companion: string;
}

/**
 * dyn: nodes typed at run time (descendants()), as flat (value, companion, path) triples: see dynChildren.
 * A compiled subexpression. `js` is a JavaScript expression (mostly a variable) holding:
 * tri: true / false / undefined (empty); num: number / undefined; str: string / undefined;
 * nodes: the JSON slot (undefined or null: empty; array: its items; else one item), `t` null for a choice element;
 * where: a filter not yet applied (consumed by exists/empty/count); lits: a literal collection of strings;
 * children: children() not yet applied (consumed by a member step); descendants: the triples of the roots of a
 * descendants() not yet walked (a member step walks it for its own children only).
 */
type Val =
  | { kind: 'tri' | 'num' | 'str'; js: string; constant?: string | number | boolean }
  | { kind: 'nodes'; js: string; t: NodeType | null; owner?: Owner; choiceOf?: ChoiceOf }
  | { kind: 'where' | 'select'; src: Val & { kind: 'nodes' }; cond: AstNode }
  | { kind: 'dyn'; js: string }
  | { kind: 'children'; src: NodesVal }
  | { kind: 'descendants'; roots: string }
  | { kind: 'lits'; values: string[] };

type NodesVal = Val & { kind: 'nodes' };
type ValueVal = Extract<Val, { js: string }>;

class Unsupported extends Error {}

function unsupported(what: string): never {
  throw new Unsupported(what);
}

function child(n: AstNode, i = 0): AstNode {
  return n.children?.[i] ?? unsupported(`malformed ${n.type}`);
}

/** Hand-over: caught by the generated function, which then returns undefined. */
const H = Object.freeze({ handover: true });

function handover(): never {
  throw H;
}

// ---- run-time helpers of the generated code ------------------------------------------------------

/** runtime.ts holdsObjects: only slots that do not hold objects have `_x` companions. */
function holds(x: unknown): boolean {
  const first = Array.isArray(x) ? x[0] : x;
  return typeof first === 'object' && first !== null && !Array.isArray(first);
}

/** A member step from several items (the rare path: allocates), with the single-item step's guards. */
function many(items: unknown[], key: string, companion: string, rt: string | undefined): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i++) {
    const o = items[i] as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || Array.isArray(o) || o.resourceType !== rt) handover();
    const v = o[key];
    if (!holds(v) && o[companion] !== undefined) handover();
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) out.push(x);
    else out.push(v);
  }
  return out;
}

/**
 * A member step, inline in the generated code for one object of the expected resourceType (its property loads keep their
 * own inline caches; a shared helper's would be megamorphic) and here for the rest: empty, several items, or a hand-over.
 */
function step(a: unknown, key: string, companion: string, rt: string | undefined): unknown {
  if (a === undefined || a === null) return undefined;
  if (Array.isArray(a)) return many(a, key, companion, rt);
  return handover();
}

/** Whether `a` is one JSON object (not null, not an array). */
function isOne(a: unknown): boolean {
  return typeof a === 'object' && a !== null && !Array.isArray(a);
}

/** Whether a member step's companion must be absent: no value, or a value not of objects (primitives only if `strict`). */
function open(v: unknown, strict: boolean): boolean {
  return v === undefined || v === null || (typeof v === 'object' ? !holds(v) : strict);
}

/** The slot of choice element `key`. */
function choice(o: Record<string, unknown>, key: string, names: Map<string, number>, fields: string[], companions: string[]): unknown {
  const best = choiceVariant(o, key, names);
  if (best < 0) return undefined;
  if (o[companions[best]] !== undefined) handover();
  return o[fields[best]];
}

/** Hands over unless the variant of a choice element present in `o` compares with `===` (plain[i]). */
function plainChoice(o: unknown, key: string, names: Map<string, number>, plain: boolean[]): void {
  if (o === undefined || o === null) return;
  if (Array.isArray(o)) {
    for (const x of o) plainChoice(x, key, names, plain);
    return;
  }
  const best = choiceVariant(o as Record<string, unknown>, key, names);
  if (best >= 0 && !plain[best]) handover();
}

/** `is(type)` of a choice element's one value, answered per variant (answers[i]; undefined: decided by the value). */
function choiceIs(s: unknown, o: unknown, key: string, names: Map<string, number>, answers: (boolean | undefined)[]): boolean | undefined {
  if (s === undefined || s === null) return undefined;
  if (Array.isArray(s) || Array.isArray(o) || (typeof s === 'object' && (s as { resourceType?: unknown }).resourceType !== undefined)) handover();
  const answer = answers[choiceVariant(o as Record<string, unknown>, key, names)];
  if (answer === undefined) handover();
  return answer;
}

/** hasValue() of nodes outside the model: typed by their JSON value (String, Integer, Decimal are primitives; Boolean is not). */
function hasValueRaw(s: unknown): boolean {
  if (Array.isArray(s)) {
    if (s.length !== 1) return false;
    s = s[0];
  }
  return typeof s === 'string' || typeof s === 'number';
}

/** A choice element's member step from several items (allocates). */
function choiceMany(items: unknown[], rt: string | undefined, key: string, names: Map<string, number>, fields: string[], companions: string[]): unknown[] {
  const out: unknown[] = [];
  for (const o of items) {
    if (typeof o !== 'object' || o === null || Array.isArray(o) || (o as { resourceType?: unknown }).resourceType !== rt) handover();
    const v = choice(o as Record<string, unknown>, key, names, fields, companions);
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) out.push(x);
    else out.push(v);
  }
  return out;
}

/** A choice element's member step. */
function choiceStep(a: unknown, rt: string | undefined, key: string, names: Map<string, number>, fields: string[], companions: string[]): unknown {
  if (a === undefined || a === null) return undefined;
  if (Array.isArray(a)) return choiceMany(a, rt, key, names, fields, companions);
  if (typeof a !== 'object' || (a as { resourceType?: unknown }).resourceType !== rt) handover();
  return choice(a as Record<string, unknown>, key, names, fields, companions);
}

/** A member step from a resource typed at run time: resourceTypes outside `types` (where the member differs) are handed over. */
function resourceStep(a: unknown, key: string, companion: string, types: Set<unknown>): unknown {
  if (a === undefined || a === null) return undefined;
  if (Array.isArray(a) || typeof a !== 'object' || !types.has((a as { resourceType?: unknown }).resourceType)) handover();
  const o = a as Record<string, unknown>;
  const v = o[key];
  if ((v === undefined || v === null || typeof v !== 'object') && o[companion] !== undefined) handover();
  return v;
}

/** The loop item `i` of a slot of `count` items: a null or an array item is handed over. */
function item(s: unknown, i: number): unknown {
  const v = Array.isArray(s) ? s[i] : s;
  if (v === null || Array.isArray(v)) handover();
  return v;
}

/** isDistinct() of plain items (strings; anything else is handed over), companions already checked. */
function distinctItems(items: unknown[]): boolean {
  if (items.length < 2) return true;
  for (const v of items) if (typeof v !== 'string') handover();
  // A few items compare pairwise: cheaper than filling a Set.
  if (items.length <= 8) {
    for (let i = 1; i < items.length; i++) for (let j = 0; j < i; j++) if (items[i] === items[j]) return false;
    return true;
  }
  return new Set(items).size === items.length;
}

/** Appends the items of a slot. */
function pushItems(out: unknown[], s: unknown): void {
  if (s === undefined || s === null) return;
  if (Array.isArray(s)) for (const x of s) out.push(x);
  else out.push(s);
}

/** `is(type)` on one node whose type is decided by its resourceType at run time (typeIs(typeOf(node), type)). */
function isType(s: unknown, path: string, type: string, spec: TypeName): boolean | undefined {
  if (s === undefined || s === null || (Array.isArray(s) && s.length === 0)) return undefined;
  if (Array.isArray(s)) {
    if (s.length !== 1) handover();
    s = s[0];
  }
  return typeIs(typeOf(new Node(s, null, path, type)), spec);
}

/** tail(): the items after the first (empty for a single item). */
function tail(s: unknown): unknown[] | undefined {
  return Array.isArray(s) && s.length > 1 ? s.slice(1) : undefined;
}

/** The companions of a primitive slot read from `parent` (one object: several parents would need their own). */
function companions(parent: unknown, key: string): unknown {
  if (Array.isArray(parent)) handover();
  return parent === undefined || parent === null ? undefined : (parent as Record<string, unknown>)[key];
}

/** Calls `f` with each (value, companion) pair pushChildren makes of a primitive slot and its companions. */
function eachPrimitive(s: unknown, c: unknown, f: (v: unknown, x: unknown) => void): void {
  if (Array.isArray(s)) {
    if (c !== undefined && c !== null && !Array.isArray(c)) handover();
    const cs = c as unknown[] | undefined | null;
    const n = Math.max(s.length, cs ? cs.length : 0);
    for (let i = 0; i < n; i++) {
      const v = i < s.length ? s[i] : null;
      // an object where a primitive is expected: pushChildren would not have read the companions
      if (typeof v === 'object' && v !== null) handover();
      f(v, cs ? cs[i] : undefined);
    }
  } else if (s === undefined || s === null) {
    if (Array.isArray(c)) for (const x of c) f(null, x);
    else if (c !== undefined && c !== null) f(s, c);
  } else {
    if (typeof s === 'object' || Array.isArray(c)) handover();
    f(s, c);
  }
}

/** Member `extension` of a primitive slot: a string, number or boolean has none, its companion's are read. */
function primExt(s: unknown, c: unknown): unknown[] {
  const out: unknown[] = [];
  eachPrimitive(s, c, (_, x) => {
    if (x === undefined || x === null) return;
    if (typeof x !== 'object' || Array.isArray(x)) handover();
    pushItems(out, (x as { extension?: unknown }).extension);
  });
  return out;
}

/** extension(url) on one node: its own `extension` or its companion's, filtered by url (fhirpath.js's extension()). */
function extOf(out: unknown[], v: unknown, x: unknown, url: string): void {
  const e = (v === undefined || v === null ? undefined : (v as { extension?: unknown }).extension) ||
    (x === undefined || x === null || x === '' ? undefined : (x as { extension?: unknown }).extension);
  if (!e) return;
  // a single object, or an item without a url to read: the closure tier raises a TypeError
  if (!Array.isArray(e)) handover();
  for (const ext of e) {
    if (ext === undefined || ext === null) handover();
    if ((ext as { url?: unknown }).url === url) out.push(ext);
  }
}

/**
 * extension(url) on a slot: of primitives with their companions `c` (prim), of the focus (bare: no companions),
 * or of objects (pushChildren reads companions when its first item is not an object: such slots are handed over).
 */
function extUrl(s: unknown, c: unknown, mode: 'prim' | 'bare' | 'objects', url: string): unknown[] {
  const out: unknown[] = [];
  if (mode === 'prim') {
    eachPrimitive(s, c, (v, x) => extOf(out, v, x, url));
    return out;
  }
  if (s === undefined || s === null) return out;
  for (const v of Array.isArray(s) ? s : [s]) {
    if (mode === 'objects' && (typeof v !== 'object' || v === null || Array.isArray(v))) handover();
    if (v !== null) extOf(out, v, undefined, url);
  }
  return out;
}

/** The items of a slot of objects (a resource's type, decided at run time, is handed over). */
function objectItems(s: unknown): unknown[] {
  const out: unknown[] = [];
  pushItems(out, s);
  for (const v of out) if (typeof v !== 'object' || v === null || Array.isArray(v) || (v as { resourceType?: unknown }).resourceType !== undefined) handover();
  return out;
}

/** `a.intersect(b)` of object slots: the closure tier's own intersect, on the JSON objects its nodes hold (no companions). */
function intersectSlots(a: unknown, b: unknown): unknown[] {
  return intersect(objectItems(a), objectItems(b));
}

/** `a | b` of object slots: distinct by deep equality (runtime.ts deepEqual, as distinct() does for up to 6 items). */
function union(a: unknown, b: unknown): unknown[] {
  const items: unknown[] = [];
  pushItems(items, a);
  pushItems(items, b);
  if (items.length > 6) handover();
  const out: unknown[] = [];
  for (const v of items) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || (v as { resourceType?: unknown }).resourceType !== undefined) handover();
    if (!out.some((o) => deepEqual(o, v))) out.push(v);
  }
  return out;
}

/** How children().k treats the child nodes named by one JSON key (ChildrenPlan). */
const enum ChildKind { Hit, None, Handover }

/** children().k from objects typed `path`: which JSON keys give the children whose `k` has the static type (path, type). */
class ChildrenPlan {
  private readonly kinds = new Map<string, ChildKind>();
  constructor(private readonly path: string, private readonly key: string, private readonly resultPath: string, private readonly resultType: string) {}

  kind(prop: string): ChildKind {
    let kind = this.kinds.get(prop);
    if (kind === undefined) this.kinds.set(prop, (kind = this.decide(prop)));
    return kind;
  }

  private decide(prop: string): ChildKind {
    const spec = childSpec(this.path, prop);
    // a bare choice name as a JSON key: pushChildren picks a variant (another key)
    if (spec.choice || !spec.path) return ChildKind.Handover;
    const sub = childSpec(spec.path, this.key);
    if (sub.choice) return ChildKind.Handover;
    return spec.type && sub.path === this.resultPath && sub.type === this.resultType && !isResourceType(spec.type) ? ChildKind.Hit : ChildKind.None;
  }
}

/** Whether a slot has an object with property `k` (where the closure tier would find `k` children). */
function hasKey(s: unknown, k: string, ck: string): boolean {
  if (s === undefined || s === null) return false;
  if (!Array.isArray(s)) s = [s];
  for (const v of s as unknown[]) {
    if (typeof v === 'number') return true;
    if (typeof v !== 'object' || v === null) continue;
    const o = v as Record<string, unknown>;
    if (o[k] !== undefined || o[ck] !== undefined) return true;
    // a resource is typed by its resourceType: the node itself, or a choice element's variants
    const rt = o.resourceType;
    if (rt && (typeof rt !== 'string' || rt === k || childSpec(rt, k).choice)) return true;
  }
  return false;
}

/**
 * children().k of one object (pushAllChildren, then the member step): the object-typed `k` items of the children
 * the plan names, in JSON key order. Other children, and the companions every child node carries, must not have a `k`.
 */
function childrenMember(out: unknown[], o: unknown, rt: string | undefined, k: string, ck: string, plan: ChildrenPlan): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || (o as { resourceType?: unknown }).resourceType !== rt) handover();
  const data = o as Record<string, unknown>;
  for (const prop in data) {
    if (prop === 'resourceType') continue;
    const s = data[prop];
    // a companion: the `x` of child nodes, where a member step looks when the value has no `k`
    if (prop.charCodeAt(0) === 95) {
      if (hasKey(s, k, k)) handover();
      continue;
    }
    const kind = plan.kind(prop);
    if (kind === ChildKind.None) {
      if (hasKey(s, k, ck)) handover();
      continue;
    }
    if (kind === ChildKind.Handover) handover();
    if (s === undefined || s === null) continue;
    for (const c of Array.isArray(s) ? s : [s]) {
      if (typeof c !== 'object' || c === null || Array.isArray(c) || (c as { resourceType?: unknown }).resourceType !== undefined) handover();
      const v = (c as Record<string, unknown>)[k];
      if ((v === undefined || v === null || !holds(v)) && (c as Record<string, unknown>)[ck] !== undefined) handover();
      pushItems(out, v);
    }
  }
}

/** children().k of a slot (childrenMember of each item). */
function childrenStep(s: unknown, rt: string | undefined, k: string, ck: string, plan: ChildrenPlan): unknown[] {
  const out: unknown[] = [];
  if (s === undefined || s === null) return out;
  if (Array.isArray(s)) for (const o of s) childrenMember(out, o, rt, k, ck, plan);
  else childrenMember(out, s, rt, k, ck, plan);
  return out;
}

// ---- nodes typed at run time: (value, companion, path) triples, for descendants() ----

/** A child node as a triple: a resource is typed by its resourceType. */
function pushTriple(out: unknown[], value: unknown, companion: unknown, path: string | null): void {
  const rt = typeof value === 'object' && value !== null ? (value as { resourceType?: unknown }).resourceType : undefined;
  out.push(value, companion || null, rt ? (rt as string) : path || null);
}

function isSome(y: unknown): boolean {
  return y !== null && y !== undefined && !(Array.isArray(y) && y.length === 0);
}

/** pushChildren (runtime.ts) over triples: the children named `key` of the node (v, x, path). */
function dynChildren(out: unknown[], v: unknown, x: unknown, path: string | null, key: string): void {
  if (typeof v === 'number' && key !== 'extension' && key !== 'id') handover();
  if (Array.isArray(v)) handover();
  const spec = path !== null ? childSpec(path, key) : undefined;
  if (spec?.choice) handover();
  const data = v as Record<string, unknown> | null | undefined;
  let toAdd = data === null || data === undefined ? undefined : data[key];
  let toAdd_: unknown;
  if (!holds(toAdd)) toAdd_ = data === null || data === undefined ? undefined : data[spec ? spec.companion : '_' + key];
  if (toAdd === undefined && toAdd_ === undefined) toAdd = x ? (x as Record<string, unknown>)[key] : undefined;
  if (!isSome(toAdd) && !isSome(toAdd_)) return;
  const p = spec ? spec.path : null;
  if (Array.isArray(toAdd)) {
    const cs = toAdd_ as unknown[] | undefined;
    for (let i = 0; i < toAdd.length; i++) pushTriple(out, toAdd[i], cs && cs[i], p);
    const n = cs?.length || 0;
    for (let i = toAdd.length; i < n; i++) pushTriple(out, null, cs![i], p);
  } else if ((toAdd === null || toAdd === undefined) && Array.isArray(toAdd_)) {
    for (const c of toAdd_) pushTriple(out, null, c, p);
  } else {
    pushTriple(out, toAdd, toAdd_, p);
  }
}

/** The focus as triples (the closure tier's root nodes). */
function dynRoot(node: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  for (const v of Array.isArray(node) ? node : node === undefined || node === null ? [] : [node]) pushTriple(out, v, null, path);
  return out;
}

/** Whether an object has a `_x` companion. */
function hasCompanion(o: object): boolean {
  for (const prop in o) if (prop.charCodeAt(0) === 95) return true;
  return false;
}

/** Whether a slot without companions holds only nodes a plain walk drops: strings, booleans, nulls (not numbers). */
function dropped(s: unknown): boolean {
  if (!Array.isArray(s)) return s === null || typeof s === 'string' || typeof s === 'boolean';
  for (const v of s) if (v !== null && typeof v !== 'string' && typeof v !== 'boolean') return false;
  return true;
}

/**
 * pushAllChildren over triples: every child of the node (v, x, path), in JSON key order. A plain walk (dynDescendants)
 * drops primitives without companions: of an object without companions, those are not pushed at all (a bare choice
 * name still is: it hands over).
 */
function dynAllChildren(out: unknown[], v: unknown, x: unknown, path: string | null, plain: boolean): void {
  if (typeof v === 'object' && v !== null) {
    const bare = plain && !Array.isArray(v) && !hasCompanion(v);
    for (const prop in v) {
      if (prop.charCodeAt(0) === 95) {
        const base = prop.slice(1);
        if (!Object.prototype.hasOwnProperty.call(v, base)) dynChildren(out, v, x, path, base);
      } else if (prop !== 'resourceType' && !(bare && dropped((v as Record<string, unknown>)[prop]) && !CHOICE_NAMES.has(prop))) {
        dynChildren(out, v, x, path, prop);
      }
    }
  } else if (typeof v !== 'number' && x !== null && typeof x === 'object') {
    for (const prop in x) dynChildren(out, v, x, path, prop);
  }
}

/** The names of choice elements (value of value[x]): a JSON key that is not one never names a choice element. */
const CHOICE_NAMES = new Set(Object.keys(model.choiceTypePaths).map((p) => p.slice(p.lastIndexOf('.') + 1)));

/** Nodes still to visit in dynDescendants (reused: one walk at a time). */
const pending: unknown[] = [];

/**
 * descendants(), or descendants().key (key not null) without the descendants in between, as triples in no particular
 * order (every consumer of triples ignores their order: isDistinct, count, combine, member steps).
 */
function dynDescendants(roots: unknown[], key: string | null, plain: boolean): unknown[] {
  const out: unknown[] = [];
  if (plain && key !== null) {
    let bare = true;
    for (let i = 0; i < roots.length && bare; i += 3) bare = isOne(roots[i]) && bareDescendants(out, roots[i] as Record<string, unknown>, roots[i + 2] as string | null, key);
    if (bare) return out;
    out.length = 0;
  }
  pending.length = 0;
  for (let i = 0; i < roots.length; i += 3) dynAllChildren(pending, roots[i], roots[i + 1], roots[i + 2] as string | null, plain);
  while (pending.length) {
    const path = pending.pop() as string | null;
    const x = pending.pop();
    const v = pending.pop();
    if (plain && x === null && (v === null || (typeof v !== 'object' && typeof v !== 'number'))) continue;
    if (key === null) out.push(v, x, path);
    // a member step of the descendant, as in dynMember
    else if (typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === key) out.push(v, x, path);
    else dynChildren(out, v, x, path, key);
    dynAllChildren(pending, v, x, path, plain);
  }
  return out;
}

/**
 * The plain walk's descendants().key under an object whose tree has no `_x` companions, as the generic walk finds them, by
 * recursion with a node's path looked up only where it can matter: false (the walk is redone generically) at a companion.
 * Strings, booleans and nulls are passed over unless their name could be a choice element's (handed over); a number, as
 * in dynChildren, hands over unless the key is extension or id; key is no choice name, so its absence needs no lookup.
 */
function bareDescendants(out: unknown[], v: Record<string, unknown>, path: string | null, key: string): boolean {
  for (const prop in v) {
    if (prop.charCodeAt(0) === 95) return false;
    if (prop === 'resourceType') continue;
    const s = v[prop];
    if (typeof s !== 'object' || s === null) {
      if (typeof s === 'number') {
        if (path !== null && childSpec(path, prop).choice) handover();
        if (key !== 'extension' && key !== 'id') handover();
      } else if (path !== null && CHOICE_NAMES.has(prop) && childSpec(path, prop).choice) handover();
      continue;
    }
    if (Array.isArray(s) && dropped(s)) {
      if (path !== null && CHOICE_NAMES.has(prop) && childSpec(path, prop).choice) handover();
      continue;
    }
    const spec = path !== null ? childSpec(path, prop) : undefined;
    if (spec?.choice) handover();
    const p = spec ? spec.path || null : null;
    if (Array.isArray(s)) {
      for (let i = 0; i < s.length; i++) if (!bareNode(out, s[i], p, key)) return false;
    } else if (!bareNode(out, s, p, key)) return false;
  }
  return true;
}

/** One descendant of bareDescendants (typed `path` unless a resource): its own key member, then its descendants. */
function bareNode(out: unknown[], v: unknown, path: string | null, key: string): boolean {
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'number' && key !== 'extension' && key !== 'id') handover();
    return true;
  }
  if (Array.isArray(v)) handover();
  const o = v as Record<string, unknown>;
  const rt = o.resourceType;
  const own = rt ? (rt as string) : path;
  if (rt === key) out.push(o, null, own);
  else if (o[key] !== undefined) dynChildren(out, o, null, own, key);
  return bareDescendants(out, o, own, key);
}

/** A member step over triples (a node whose resourceType is the key is kept itself, as in the closure tier). */
function dynMember(items: unknown[], key: string): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i += 3) {
    const v = items[i];
    if (typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === key) out.push(v, items[i + 1], items[i + 2]);
    else dynChildren(out, v, items[i + 1], items[i + 2] as string | null, key);
  }
  return out;
}

/** isDistinct() of triples that are strings without companions (anything else, e.g. dates, is handed over). */
function dynDistinct(items: unknown[]): boolean {
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i += 3) {
    const v = items[i];
    if (typeof v !== 'string' || items[i + 1] !== null || DATE_PATHS.has(items[i + 2] as string)) handover();
    seen.add(v as string);
  }
  return seen.size * 3 === items.length;
}

/** A typed slot (companions already checked) as triples. */
function dynSlot(s: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  if (s === undefined || s === null) return out;
  for (const v of Array.isArray(s) ? s : [s]) {
    if (typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType !== undefined) handover();
    out.push(v, null, path);
  }
  return out;
}

function exists(s: unknown): boolean {
  return s !== undefined && s !== null && (!Array.isArray(s) || s.length !== 0);
}

function count(s: unknown): number {
  return s === undefined || s === null ? 0 : Array.isArray(s) ? s.length : 1;
}

/** The one item of a slot, undefined when empty; hands over when there are several or it is not a plain value. */
function single(s: unknown): unknown {
  if (s === undefined || s === null) return undefined;
  if (Array.isArray(s)) {
    if (s.length === 0) return undefined;
    if (s.length !== 1) handover();
    s = s[0];
    if (s === null) return undefined;
  }
  return s;
}

/** misc.singleton(coll, 'Boolean'). */
function bool(s: unknown): boolean | undefined {
  const v = single(s);
  return v === undefined ? undefined : typeof v === 'boolean' ? v : true;
}

/** misc.singleton(coll, 'String'). */
function str(s: unknown): string | undefined {
  const v = single(s);
  if (v !== undefined && typeof v !== 'string') handover();
  return v as string | undefined;
}

/** A number operand of a comparison or `+` (compareSingletons / converted). */
function num(s: unknown): number | undefined {
  const v = single(s);
  if (v !== undefined && typeof v !== 'number') handover();
  return v as number | undefined;
}

function toInt(s: unknown): number | undefined {
  const v = single(s);
  if (v === false) return 0;
  if (v === true) return 1;
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v)) return parseInt(v);
  return undefined;
}

/**
 * The dateTime values fhirpath.js converts at seconds precision (fraction optional) with a zone: the only precision
 * read here, so two of them always compare (no empty for unequal precisions). Others are handed over.
 */
const DATE_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))$/;
const DAYS_PER_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** FP_DateTime's time value (_dateAtPrecision at its own precision, quirks included) of a dateTime slot's one value. */
function dateTimeMs(s: unknown): number | undefined {
  const v = single(s);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !DATE_TIME.test(v)) return handover();
  // fixed positions up to the seconds; then a fraction, and a zone of 'Z' or 6 characters
  const year = parseInt(v.slice(0, 4));
  const month = parseInt(v.slice(5, 7));
  const day = parseInt(v.slice(8, 10));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  // checkString leaves an impossible date a string, which then fails to compare (an error)
  if (day > (month === 2 && leap ? 29 : DAYS_PER_MONTH[month - 1]!)) return handover();
  const utc = v.endsWith('Z');
  const end = utc ? v.length - 1 : v.length - 6;
  const [hour, minute, second] = [parseInt(v.slice(11, 13)), parseInt(v.slice(14, 16)), parseInt(v.slice(17, 19))];
  const ms = end > 19 ? parseInt(v.slice(20, end)) : 0;
  // As fhirpath.js: a local-time Date, corrected by its offset (exact in any process time zone).
  const d = new Date(year, month - 1, day, hour, minute, second, ms);
  const local = d.getTime() - d.getTimezoneOffset() * 60000;
  let zone = 0;
  if (!utc) {
    // as _createDate reads '(+-)hours:minutes' ('-00:30' is +30 minutes there)
    const hours = parseInt(v.slice(end, end + 3));
    zone = parseInt(v.slice(end + 4));
    if (hours < 0) zone = -zone;
    zone += 60 * hours;
  }
  return local - zone * 60000;
}

/** `=` of a slot of (non-Quantity) objects and one plain value: deepEqual of an object and a primitive is false. */
function eqObjects(s: unknown, v: unknown): boolean | undefined {
  if (v === undefined || !exists(s)) return undefined;
  for (let i = 0, n = count(s); i < n; i++) {
    const o = item(s, i);
    if (typeof o !== 'object' || o === null) handover();
  }
  return false;
}

/** deepEqual of two plain items; objects (whose type may be decided by a resourceType) are handed over. */
function itemEq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((typeof a === 'object' && a !== null) || (typeof b === 'object' && b !== null)) handover();
  return typeof a === 'number' && typeof b === 'number' && roundToMaxPrecision(a) === roundToMaxPrecision(b);
}

/** `=` of a slot and one plain value (literal or computed; undefined = empty). */
function eqOne(s: unknown, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (s === v) return true;
  if (s === undefined || s === null) return undefined;
  if (Array.isArray(s)) {
    if (s.length === 0) return undefined;
    if (s.length !== 1) return false;
    return itemEq(s[0], v);
  }
  return itemEq(s, v);
}

/** `=` of two slots (collectionsEqual; companions were checked by the member steps). */
function eqSlots(a: unknown, b: unknown): boolean | undefined {
  const n = count(a);
  const m = count(b);
  if (n === 0 || m === 0) return undefined;
  if (n !== m) return false;
  if (!Array.isArray(a) || !Array.isArray(b)) return itemEq(Array.isArray(a) ? a[0] : a, Array.isArray(b) ? b[0] : b);
  for (let i = n - 1; i >= 0; i--) if (!itemEq(a[i], b[i])) return false;
  return true;
}

function eqPlain(a: unknown, b: unknown): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  return itemEq(a, b);
}

/** `in` with a set of string literals. */
function inSet(s: unknown, set: Set<string>): boolean | undefined {
  if (s === undefined || s === null || (Array.isArray(s) && s.length === 0)) return undefined;
  let v = s;
  if (Array.isArray(s)) {
    if (s.length !== 1) handover();
    v = s[0];
  }
  if (typeof v === 'object' && v !== null) handover();
  return typeof v === 'string' && set.has(v);
}

/** hasValue() on a slot whose static type is (prim) or is not primitive. */
function hasValue(s: unknown, prim: boolean): boolean {
  if (s === undefined || s === null) return false;
  if (Array.isArray(s)) {
    if (s.length !== 1) return false;
    s = s[0];
    if (s === null) return false;
  }
  if (typeof s === 'object' && (s as { resourceType?: unknown }).resourceType !== undefined) handover();
  return prim;
}

function first(s: unknown, last: boolean): unknown {
  if (!Array.isArray(s)) return s;
  if (s.length === 0) return undefined;
  const v = s[last ? s.length - 1 : 0];
  if (v === null || Array.isArray(v)) handover();
  return v;
}

const HELPERS = {
  H, isOne, open, step, choiceStep, resourceStep, childrenStep, item, plainChoice, dynRoot, dynDescendants, dynMember, dynDistinct, dynSlot, choiceIs, hasValueRaw, distinctItems, pushItems, isType, tail, companions, primExt, extUrl, union, intersectSlots, exists, count, bool, str, num, dateTimeMs, toInt, eqObjects, eqOne, eqSlots, eqPlain, inSet, hasValue, first,
  rnd: roundToMaxPrecision,
};

// ---- compilation -----------------------------------------------------------------------------

/** Types whose values compare with `===` in the closure compiler (no date or quantity conversion). */
const PLAIN_TYPES = new Set([
  'string', 'code', 'id', 'uri', 'url', 'canonical', 'markdown', 'oid', 'uuid', 'base64Binary', 'boolean', 'integer',
  'positiveInt', 'unsignedInt', 'decimal', 'xhtml', 'System.String', 'System.Boolean', 'System.Integer',
]);
const NUMBER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt', 'decimal', 'System.Integer', 'System.Decimal']);

function isResourceType(type: string): boolean {
  return isSubtype(type, 'Resource');
}

function nodeType(path: string, type: string): NodeType {
  const anyResource = isResourceType(type);
  return { path, type, rt: undefined, anyResource };
}

/** A static type whose values compare as their JSON objects (no Quantity conversion, no primitive's companions). */
function objectType(t: NodeType | null): NodeType {
  if (!t || t.anyResource || t.untyped || isSubtype(t.type, 'Quantity') || isPrimitiveValue(new Node(null, null, t.path, t.type))) unsupported('objects');
  return t;
}

class Generator {
  private lines: string[] = [];
  private vars = 0;
  private readonly consts: unknown[] = [];
  /** >0 while compiling operands of a node-to-node `=`: deepEqual then compares `_x` companions too. */
  private strict = 0;
  /** Set while compiling an isDistinct() whose input was compiled with companions checked. */
  private distinctReady = false;
  /** A choice element's variants, by the constant holding its names. */
  private readonly choiceTypes = new Map<string, { path: string; type: string | null }[]>();
  /** The member step whose companions the next step reads (`x.extension`, `x.extension(url)`): no companion check there. */
  private keepCompanions: AstNode | undefined;

  /** Subexpressions compiled in a block (its lines array), by their key (sameKey): used again instead of compiled again. */
  private readonly memo = new Map<string, { block: string[]; val: Val }>();
  /** The block each nested block is emitted into (rightOperand, loop, iif); hoisted code, emitted elsewhere, has none. */
  private readonly enclosing = new WeakMap<string[], string[]>();
  /** Nesting of loops; the block the outermost loop is emitted into (where values the loops do not change are declared). */
  private depth = 0;
  private hoistTo: string[] | undefined;
  /** Loop-invariant values: their variables, done flag and code, by subexpression. */
  private readonly hoisted = new Map<string, { block: string[]; val: Val; code: string }>();

  constructor(private readonly resourceType: string | undefined) {}

  /** Whether the focus or %resource is one object of resourceType rt: its resourceType read once per call, not per step. */
  private readonly rootTypes = new Set<string>();

  /** The test that `a` is one object of resourceType `rt` (JavaScript source). */
  private isOneOf(a: string, rt: string): string {
    if (a !== 'node' && a !== 'resource') return `isOne(${a}) && ${a}.resourceType === ${rt}`;
    this.rootTypes.add(a);
    // null (not one object) equals no resourceType
    return `${a}Rt === ${rt}`;
  }

  source(body: string[]): { source: string; consts: unknown[] } {
    const names = Object.keys(HELPERS).join(', ');
    const consts = this.consts.map((_, i) => `const K${i} = K[${i}];`).join('\n');
    const roots = [...this.rootTypes].map((a) => `const ${a}Rt = isOne(${a}) ? ${a}.resourceType : null;\n`).join('');
    const source = `'use strict';\nconst { ${names} } = R;\n${consts}\nreturn function invariant(node, resource) {\n${roots}  try {\n${body.join('\n')}\n  } catch (e) {\n    return undefined;\n  }\n};`;
    return { source, consts: this.consts };
  }

  take(): string[] {
    const out = this.lines;
    this.lines = [];
    return out;
  }

  /** Starts a block emitted inside the current one, after its lines so far: it sees their variables (see visible). */
  private nest(): string[] {
    const outer = this.take();
    this.enclosing.set(this.lines, outer);
    return outer;
  }

  /** Whether a value compiled into `block` is in scope here: that block or one the current block is nested in. */
  private visible(block: string[]): boolean {
    for (let b: string[] | undefined = this.lines; b; b = this.enclosing.get(b)) if (b === block) return true;
    return false;
  }

  private v(): string {
    return `v${this.vars++}`;
  }

  private let(js: string): string {
    const name = this.v();
    this.lines.push(`let ${name} = ${js};`);
    return name;
  }

  private konst(value: unknown): string {
    this.consts.push(value);
    return `K${this.consts.length - 1}`;
  }

  /** Compiles `n` with `input` as its input collection and `self` as $this (the root at top level). */
  compile(n: AstNode, input: Val, self: Val): Val {
    if (WRAPPER_NODES.has(n.type)) return this.compile(child(n), input, self);
    // Compiled code depends on these flags besides the subexpression and its input and $this.
    const plainState = this.keepCompanions === undefined && !this.distinctReady;
    if (plainState && this.depth > 0 && n.type !== 'ExternalConstantTerm' && !n.type.endsWith('Literal') && independent(n)) return this.hoist(n, input, self);
    if (plainState && n.type === 'InvocationExpression') {
      const key = `${this.strict} ${valId(input)} ${valId(self)} ${astKey(n)}`;
      const seen = this.memo.get(key);
      if (seen && this.visible(seen.block)) return seen.val;
      const val = this.compileNode(n, input, self);
      this.memo.set(key, { block: this.lines, val });
      return val;
    }
    return this.compileNode(n, input, self);
  }

  /**
   * A value the enclosing loops do not change (it reads neither the loop item nor $this), computed once, where first
   * needed: evaluated ahead it could raise an error its loop would not have reached.
   */
  private hoist(n: AstNode, input: Val, self: Val): Val {
    const key = `${this.strict} ${astKey(n)}`;
    let entry = this.hoisted.get(key);
    if (!entry || entry.block !== this.hoistTo) {
      const outer = this.take();
      const [depth, to] = [this.depth, this.hoistTo];
      // its own parts are computed in its block, once with it
      this.depth = 0;
      this.hoistTo = undefined;
      const val = this.compileNode(n, input, self);
      [this.depth, this.hoistTo] = [depth, to];
      const inner = this.take();
      this.lines = outer;
      if (val.kind !== 'tri' && val.kind !== 'num' && val.kind !== 'str') {
        // nodes refer to the variables they were read from: compiled in place
        this.lines.push(...inner);
        return val;
      }
      const h = this.v();
      const done = this.v();
      this.hoistTo!.push(`let ${h} = undefined, ${done} = false;`);
      entry = { block: this.hoistTo!, val: { kind: val.kind, js: h }, code: `if (!${done}) { ${inner.join(' ')} ${h} = ${val.js}; ${done} = true; }` };
      this.hoisted.set(key, entry);
    }
    this.lines.push(entry.code);
    return entry.val;
  }

  private compileNode(n: AstNode, input: Val, self: Val): Val {
    switch (n.type) {
      case 'InvocationExpression': {
        const right = child(n, 1);
        const distinct = right.type === 'FunctionInvocation' && child(right).text === 'isDistinct';
        if (distinct) this.strict++;
        const step = right.type === 'FunctionInvocation' ? child(right).text : right.type === 'MemberInvocation' ? child(right).text : undefined;
        if (step === 'extension') this.keepCompanions = lastMember(child(n, 0));
        const left = this.compile(child(n, 0), input, self);
        if (distinct) this.strict--;
        this.distinctReady = distinct;
        const result = this.compile(right, left, self);
        this.distinctReady = false;
        return result;
      }
      case 'MemberInvocation': {
        const key = unquote(child(n).text ?? '', '`');
        if (input.kind === 'dyn' || input.kind === 'descendants') {
          if (n.atRoot) return unsupported('type filter');
          if (input.kind === 'descendants') {
            // a primitive without companions has neither this member nor children: the walk passes over it
            const plain = !CHOICE_NAMES.has(key) && primitivesLack(key);
            return { kind: 'dyn', js: this.let(`dynDescendants(${input.roots}, ${JSON.stringify(key)}, ${plain})`) };
          }
          return { kind: 'dyn', js: this.let(`dynMember(${input.js}, ${JSON.stringify(key)})`) };
        }
        if (input.kind === 'children') return this.childrenMember(input.src, key);
        return this.member(this.nodes(input), key, n.atRoot, n === this.keepCompanions);
      }
      case 'ThisInvocation':
        return self;
      case 'FunctionInvocation':
        return this.call(child(n), input, self);
      case 'StringLiteral': {
        const value = unquote(n.text ?? '', "'");
        return { kind: 'str', js: JSON.stringify(value), constant: value };
      }
      case 'BooleanLiteral':
        return { kind: 'tri', js: n.text === 'true' ? 'true' : 'false', constant: n.text === 'true' };
      case 'NumberLiteral': {
        const value = Number(n.text);
        if (String(value) !== n.text) unsupported('number literal');
        return { kind: 'num', js: String(value), constant: value };
      }
      case 'ExternalConstantTerm':
        return this.external(n);
      case 'AndExpression':
      case 'OrExpression':
      case 'XorExpression':
      case 'ImpliesExpression': {
        const a = this.tri(this.operand(n, 0, self));
        return this.logic(n.text ?? '', a, this.rightOperand(n, a, self));
      }
      case 'EqualityExpression':
        return this.equality(n, self);
      case 'InequalityExpression':
        return this.compare(n, self);
      case 'AdditiveExpression': {
        if (n.text === '&') {
          // Both operands are String singletons, empty counting as ''.
          const a = this.string(this.operand(n, 0, self));
          const b = this.string(this.operand(n, 1, self));
          return { kind: 'str', js: this.let(`(${a} === undefined ? '' : ${a}) + (${b} === undefined ? '' : ${b})`) };
        }
        if (n.text !== '+') unsupported('operator');
        const a = this.number(this.operand(n, 0, self));
        const b = this.number(this.operand(n, 1, self));
        return { kind: 'num', js: this.let(`${a} === undefined || ${b} === undefined ? undefined : ${a} + ${b}`) };
      }
      case 'MembershipExpression':
        return this.membership(n, self);
      case 'TypeExpression':
        if (n.text !== 'is') return unsupported(`operator ${n.text}`);
        return this.typeTest(this.nodes(this.operand(n, 0, self)), child(n, 1).text ?? '');
      case 'UnionExpression': {
        const sides = [this.operand(n, 0, self), this.operand(n, 1, self)];
        if (sides[0].kind === 'nodes' && sides[1].kind === 'nodes') return this.union(sides[0], sides[1]);
        const values = sides.flatMap((v) =>
          v.kind === 'lits' ? v.values : v.kind === 'str' && typeof v.constant === 'string' ? [v.constant] : unsupported('union'));
        return { kind: 'lits', values };
      }
      default:
        return unsupported(n.type);
    }
  }

  /** `a | b` of two slots of (non-Quantity) objects, with a type whose member steps mean the same from either side. */
  private union(a: NodesVal, b: NodesVal): Val {
    const ta = objectType(a.t);
    const tb = objectType(b.t);
    const alts = [...(ta.alts ?? []), tb.path, ...(tb.alts ?? [])].filter((p) => p !== ta.path);
    return { kind: 'nodes', js: this.let(`union(${a.js}, ${b.js})`), t: { ...ta, rt: undefined, alts } };
  }

  /** A collection as triples: a typed slot read with its companions checked (under isDistinct), or triples already. */
  private dyn(v: Val): string {
    if (v.kind === 'dyn') return v.js;
    if (v.kind === 'descendants') return this.let(`dynDescendants(${v.roots}, null, false)`);
    if (v.kind !== 'nodes' || !v.t || v.t.anyResource || v.t.untyped || this.strict === 0) return unsupported('combine');
    return this.let(`dynSlot(${v.js}, ${JSON.stringify(v.t.path)})`);
  }

  /** `is(type)` of a resource decided by its resourceType, or of a choice element decided by its variant. */
  private typeTest(s: NodesVal, type: string): Val {
    const spec = parseTypeSpecifier(type);
    if (!spec) return unsupported('type');
    if (s.t?.anyResource) {
      return { kind: 'tri', js: this.let(`isType(${s.js}, ${JSON.stringify(s.t.path)}, ${JSON.stringify(s.t.type)}, ${this.konst(spec)})`) };
    }
    if (!s.t && s.choiceOf) {
      const types = this.choiceTypes.get(s.choiceOf.names) ?? unsupported('is');
      const answers = types.map((c) => (c.type ? typeIs(typeOf(new Node(null, null, c.path, c.type)), spec) : undefined));
      return { kind: 'tri', js: this.let(`choiceIs(${s.js}, ${s.choiceOf.parent}, ${s.choiceOf.key}, ${s.choiceOf.names}, ${this.konst(answers)})`) };
    }
    return unsupported('is');
  }

  /** Operands of operators see $this (makeParam). */
  private operand(n: AstNode, i: number, self: Val): Val {
    return this.compile(child(n, i), self, self);
  }

  private nodes(v: Val): NodesVal {
    if (v.kind === 'where') return this.filtered(v.src, v.cond);
    return v.kind === 'nodes' ? v : unsupported(`member of ${v.kind}`);
  }

  /** where(criterion) followed by more than exists/empty/count: the kept items, in an array. */
  private filtered(src: NodesVal, cond: AstNode): NodesVal {
    const key = `${this.strict} ${src.js} ${astKey(cond)}`;
    const seen = this.memo.get(key);
    if (seen && this.visible(seen.block)) return seen.val as NodesVal;
    const out = this.let('[]');
    this.loop(src, (item) => `if (${this.criterion(this.compile(cond, item, item))} === true) ${out}.push(${item.js});`);
    const val: NodesVal = { kind: 'nodes', js: out, t: src.t };
    this.memo.set(key, { block: this.lines, val });
    return val;
  }

  private external(n: AstNode): Val {
    const name = n.delimitedText ? unquote(n.delimitedText, '`') : n.text;
    if (name === 'ucum') return { kind: 'str', js: '"http://unitsofmeasure.org"', constant: 'http://unitsofmeasure.org' };
    if (name !== 'resource' || !this.resourceType) return unsupported(`%${name}`);
    const rt = this.resourceType;
    return { kind: 'nodes', js: 'resource', t: { path: rt, type: rt, rt, anyResource: false } };
  }

  private member(input: NodesVal, key: string, atRoot: number | undefined, keepCompanions = false): Val {
    const t = input.t;
    if (!t) return unsupported('member of a run-time type');
    if (t.anyResource) return this.resourceMember(input, key);
    const probe = new Node(null, null, t.path, t.type);
    if (isPrimitiveValue(probe)) {
      if (key !== 'extension' || t.untyped || t.alts) return unsupported('member of a primitive');
      const c = this.companionsOf(input);
      return { kind: 'nodes', js: this.let(`primExt(${input.js}, ${c})`), t: { ...nodeType('Extension', 'Extension'), untyped: true } };
    }
    // fhirpath.js returns the node itself for its resourceType, or for its type name at the root.
    if (t.rt === key) return unsupported('resourceType member');
    // An untyped node's type is its JSON value's (System types, capitalised), or its resourceType (handed over below).
    if (atRoot && isTypeName(key) && (t.untyped ? /^[A-Z]/.test(key) : typeIs(typeOf(probe), { ns: undefined, name: key }))) return unsupported('type filter');
    const spec = childSpec(t.path, key);
    for (const alt of t.alts ?? []) {
      const other = childSpec(alt, key);
      if (other.choice || spec.choice || other.path !== spec.path || other.type !== spec.type) unsupported('member of a union');
    }
    const a = input.js;
    const rt = t.rt === undefined ? 'undefined' : JSON.stringify(t.rt);
    if (spec.choice) {
      const types = spec.choiceTypes!;
      const names = this.konst(spec.choice);
      this.choiceTypes.set(names, types);
      const fields = this.konst(types.map((c) => c.field));
      const companions = this.konst(types.map((c) => c.companion));
      const k = JSON.stringify(key);
      const b = this.let(`choiceStep(${a}, ${rt}, ${k}, ${names}, ${fields}, ${companions})`);
      const plain = this.konst(types.map((c) => !!c.type && PLAIN_TYPES.has(c.type) && !DATE_PATHS.has(c.path)));
      return { kind: 'nodes', js: b, t: null, choiceOf: { parent: a, key: k, names, plain } };
    }
    const untyped = !spec.type && key === 'extension';
    const raw = !spec.type && !untyped && t.raw === true;
    const type = untyped ? 'Extension' : raw ? '' : spec.type;
    if ((!type && !raw) || !spec.path) return unsupported('member outside the model');
    const k = JSON.stringify(key);
    const ck = JSON.stringify(spec.companion);
    // A present primitive's companion matters only to node-to-node equality; an absent one's always (unless the next step reads it).
    const prim = isPrimitiveValue(new Node(null, null, spec.path, type));
    const b = this.let(`${this.isOneOf(a, rt)} ? ${a}[${k}] : step(${a}, ${k}, ${ck}, ${rt})`);
    // `a` is one object here, or empty or an array (step checked their items' companions): no companion to read
    if (!(keepCompanions && prim)) this.lines.push(`if (open(${b}, ${this.strict > 0}) && ${a}?.[${ck}] !== undefined) throw H;`);
    const result: NodesVal = { kind: 'nodes', js: b, t: raw ? { ...nodeType(spec.path, ''), untyped: true, raw } : { ...nodeType(spec.path, type!), untyped } };
    if (prim) result.owner = { parent: a, companion: spec.companion };
    return result;
  }

  /**
   * children().key: typed where the model children of the input that define `key` agree on its (object) type; any
   * other child found with a `key` at run time is handed over.
   */
  private childrenMember(input: NodesVal, key: string): Val {
    const t = input.t;
    if (!t || t.anyResource || t.untyped || t.alts || isPrimitiveValue(new Node(null, null, t.path, t.type))) return unsupported('children of a run-time type');
    if (!primitivesLack(key)) return unsupported('children member');
    let result: { path: string; type: string } | undefined;
    const prefix = t.path + '.';
    for (const p of Object.keys(model.path2Type)) {
      if (!p.startsWith(prefix) || p.indexOf('.', prefix.length) >= 0) continue;
      const spec = childSpec(t.path, p.slice(prefix.length));
      if (spec.choice || !spec.path || !spec.type || isResourceType(spec.type)) continue;
      const sub = childSpec(spec.path, key);
      if (sub.choice) return unsupported('choice member of children');
      if (!sub.path || !sub.type) continue;
      if (result && (result.path !== sub.path || result.type !== sub.type)) return unsupported('children member of several types');
      result = { path: sub.path, type: sub.type };
    }
    if (!result || isResourceType(result.type) || isPrimitiveValue(new Node(null, null, result.path, result.type))) return unsupported('children member');
    const plan = this.konst(new ChildrenPlan(t.path, key, result.path, result.type));
    const rt = t.rt === undefined ? 'undefined' : JSON.stringify(t.rt);
    const out = this.let(`childrenStep(${input.js}, ${rt}, ${JSON.stringify(key)}, ${JSON.stringify('_' + key)}, ${plan})`);
    return { kind: 'nodes', js: out, t: nodeType(result.path, result.type) };
  }

  /** The companions of a primitive slot, or null where fhirpath.js has none (the focus at a primitive base path). */
  private companionsOf(s: NodesVal): string {
    if (s.owner) return this.let(`companions(${s.owner.parent}, ${JSON.stringify(s.owner.companion)})`);
    if (s.js === 'node') return 'null';
    return unsupported('companions of a derived slot');
  }

  /**
   * A member every resource defines alike (meta, id, ...) of a resource whose type is only known at run time:
   * resourceTypes for which the model says otherwise are handed over.
   */
  private resourceMember(input: NodesVal, key: string): Val {
    const spec = childSpec('Resource', key);
    // Object-typed only: a primitive's companion would matter to equality.
    if (spec.choice || !spec.type || !spec.path || isTypeName(key) || isPrimitiveValue(new Node(null, null, spec.path, spec.type))) {
      return unsupported('member of a resource');
    }
    const alike = new Set<string>();
    for (const rt of model.availableTypes) {
      if (!isResourceType(rt) || rt === 'Resource' || rt === 'DomainResource') continue;
      const other = childSpec(rt, key);
      if (!other.choice && other.type === spec.type && other.path === spec.path) alike.add(rt);
    }
    const types = this.konst(alike);
    const k = JSON.stringify(key);
    const ck = JSON.stringify(spec.companion);
    const b = this.let(`resourceStep(${input.js}, ${k}, ${ck}, ${types})`);
    return { kind: 'nodes', js: b, t: nodeType(spec.path, spec.type) };
  }

  /** FHIRPath's singleton-to-Boolean conversion of an operand of and/or/xor/implies/not(). */
  private tri(v: Val): string {
    switch (v.kind) {
      case 'tri':
        return v.js;
      case 'nodes':
        return this.let(`bool(${v.js})`);
      case 'num':
      case 'str':
        return `(${v.js} === undefined ? undefined : true)`;
      default:
        return unsupported(`boolean of ${v.kind}`);
    }
  }

  /**
   * The right operand of a logical operator. `true or x`, `false and x` and `false implies x` do not depend on x: it is
   * computed only when the left operand leaves the result open, as the reference validator does (and the closure tier).
   */
  private rightOperand(n: AstNode, a: string, self: Val): string {
    const op = n.text;
    const decisive = op === 'or' ? 'true' : op === 'and' || op === 'implies' ? 'false' : undefined;
    if (decisive === undefined) return this.tri(this.operand(n, 1, self));
    const outer = this.nest();
    const b = this.tri(this.operand(n, 1, self));
    const inner = this.take();
    this.lines = outer;
    const r = this.v();
    this.lines.push(`let ${r};`, `if (${a} !== ${decisive}) { ${inner.join(' ')} ${r} = ${b}; }`);
    return r;
  }

  private logic(op: string, a: string, b: string): Val {
    let js: string;
    switch (op) {
      case 'and':
        js = `${a} === false || ${b} === false ? false : ${a} === true && ${b} === true ? true : undefined`;
        break;
      case 'or':
        js = `${a} === true || ${b} === true ? true : ${a} === false && ${b} === false ? false : undefined`;
        break;
      case 'xor':
        js = `${a} === undefined || ${b} === undefined ? undefined : ${a} !== ${b}`;
        break;
      case 'implies':
        js = `${a} === false ? true : ${a} === undefined ? (${b} === true ? true : undefined) : ${b}`;
        break;
      default:
        return unsupported(op);
    }
    return { kind: 'tri', js: this.let(js) };
  }

  private equality(n: AstNode, self: Val): Val {
    const op = n.text;
    if (op !== '=' && op !== '!=') return unsupported(`operator ${op}`);
    const nodeSides = [child(n, 0), child(n, 1)].filter((c) => this.peekNodes(c)).length;
    if (nodeSides === 2) this.strict++;
    const left = this.operand(n, 0, self);
    const right = this.operand(n, 1, self);
    if (nodeSides === 2) this.strict--;
    let js: string;
    const objects = (v: Val): v is NodesVal => v.kind === 'nodes' && !!v.t && !v.t.anyResource && !v.t.untyped && !isSubtype(v.t.type, 'Quantity') &&
      !isPrimitiveValue(new Node(null, null, v.t.path, v.t.type));
    const plain = (v: Val): v is ValueVal => v.kind === 'tri' || v.kind === 'num' || v.kind === 'str';
    if ((objects(left) && plain(right)) || (objects(right) && plain(left))) {
      const [s, v] = left.kind === 'nodes' ? [left, right as ValueVal] : [right as NodesVal, left];
      const r = this.let(`eqObjects(${s.js}, ${v.js})`);
      return { kind: 'tri', js: op === '=' ? r : this.let(`${r} === undefined ? undefined : !${r}`) };
    }
    const a = this.comparable(left);
    const b = this.comparable(right);
    if (a.kind === 'nodes' && b.kind === 'nodes') {
      if (nodeSides !== 2) return unsupported('equality');
      js = `eqSlots(${a.js}, ${b.js})`;
    } else if (a.kind === 'nodes' || b.kind === 'nodes') {
      const [s, v] = a.kind === 'nodes' ? [a, b] : [b, a];
      js = `eqOne(${s.js}, ${v.js})`;
    } else {
      js = `eqPlain(${a.js}, ${b.js})`;
    }
    const r = this.let(js);
    return { kind: 'tri', js: op === '=' ? r : this.let(`${r} === undefined ? undefined : !${r}`) };
  }

  /** Whether an operand compiles to model nodes (decided on the syntax: a path not ending in a function). */
  private peekNodes(n: AstNode): boolean {
    while (['TermExpression', 'InvocationTerm', 'ParenthesizedTerm'].includes(n.type) && n.children?.length === 1) n = n.children[0];
    if (n.type === 'InvocationExpression') return this.peekNodes(child(n, 1));
    return n.type === 'MemberInvocation' || n.type === 'ThisInvocation' || n.type === 'ExternalConstantTerm' ||
      (n.type === 'FunctionInvocation' && ['first', 'last', 'trace'].includes(child(child(n)).text ?? ''));
  }

  /** An operand of `=`: a plain value, or nodes of a type that compares with `===`. */
  private comparable(v: Val): ValueVal {
    if (v.kind === 'tri' || v.kind === 'num' || v.kind === 'str') return v;
    if (v.kind === 'nodes' && !v.t && v.choiceOf) {
      const c = v.choiceOf;
      this.lines.push(`plainChoice(${c.parent}, ${c.key}, ${c.names}, ${c.plain});`);
      return v;
    }
    if (v.kind !== 'nodes' || !v.t || v.t.anyResource) return unsupported('equality operand');
    if (DATE_PATHS.has(v.t.path) || !(v.t.raw || PLAIN_TYPES.has(v.t.type))) return unsupported(`equality on ${v.t.type}`);
    return v;
  }

  private number(v: Val): string {
    if (v.kind === 'num') return v.js;
    if (v.kind === 'nodes' && v.t && (v.t.raw || NUMBER_TYPES.has(v.t.type)) && !DATE_PATHS.has(v.t.path)) return this.let(`num(${v.js})`);
    return unsupported(`number of ${v.kind}`);
  }

  private compare(n: AstNode, self: Val): Val {
    const op = n.text ?? '';
    if (!['<', '>', '<=', '>='].includes(op)) return unsupported(op);
    const left = this.operand(n, 0, self);
    const right = this.operand(n, 1, self);
    const dateTime = (v: Val) => v.kind === 'nodes' && v.t?.path === 'dateTime' && v.t.type === 'dateTime' && !v.t.untyped && !v.t.alts;
    if (dateTime(left) && dateTime(right)) {
      // FP_DateTime.compare at equal precisions: the difference of the time values
      const x = this.let(`dateTimeMs(${(left as NodesVal).js})`);
      const y = this.let(`dateTimeMs(${(right as NodesVal).js})`);
      return { kind: 'tri', js: this.let(`${x} === undefined || ${y} === undefined ? undefined : ${x} - ${y} ${op} 0`) };
    }
    const a = this.number(left);
    const b = this.number(right);
    return { kind: 'tri', js: this.let(`${a} === undefined || ${b} === undefined ? undefined : rnd(${a}) ${op} rnd(${b})`) };
  }

  private membership(n: AstNode, self: Val): Val {
    if (n.text !== 'in') return unsupported(`operator ${n.text}`);
    const item = this.operand(n, 0, self);
    const coll = this.operand(n, 1, self);
    const values = coll.kind === 'lits' ? coll.values : coll.kind === 'str' && typeof coll.constant === 'string' ? [coll.constant] : unsupported('in');
    const set = this.konst(new Set(values));
    if (item.kind === 'str') return { kind: 'tri', js: this.let(`${item.js} === undefined ? undefined : ${set}.has(${item.js})`) };
    const s = this.comparable(item);
    if (s.kind !== 'nodes') return unsupported('in');
    return { kind: 'tri', js: this.let(`inSet(${s.js}, ${set})`) };
  }

  private call(functn: AstNode, input: Val, self: Val): Val {
    const name = child(functn).text ?? '';
    const params = functn.children?.[1]?.children ?? [];
    const arity = (count: number) => params.length === count || unsupported(`arity of ${name}`);
    switch (name) {
      case 'exists':
      case 'empty':
      case 'count': {
        let v = input;
        if (params.length === 1 && name === 'exists') v = { kind: 'where', src: this.nodes(input), cond: params[0] };
        else arity(0);
        const n = this.size(v);
        return name === 'count' ? { kind: 'num', js: n } : { kind: 'tri', js: this.let(name === 'exists' ? `${n} !== 0` : `${n} === 0`) };
      }
      case 'not': {
        arity(0);
        const t = this.tri(input);
        return { kind: 'tri', js: this.let(`${t} === undefined ? undefined : !${t}`) };
      }
      case 'hasValue': {
        arity(0);
        const s = this.nodes(input);
        if (s.t?.raw) return { kind: 'tri', js: this.let(`hasValueRaw(${s.js})`) };
        if (!s.t || s.t.anyResource || s.t.untyped) return unsupported('hasValue of a run-time type');
        const prim = isPrimitiveValue(new Node(null, null, s.t.path, s.t.type));
        return { kind: 'tri', js: this.let(`hasValue(${s.js}, ${prim})`) };
      }
      case 'where':
        arity(1);
        return { kind: 'where', src: this.nodes(input), cond: params[0] };
      case 'all':
        arity(1);
        return this.all(this.nodes(input), params[0]);
      case 'select':
        arity(1);
        return { kind: 'select', src: this.nodes(input), cond: params[0] };
      case 'allTrue':
      case 'anyTrue':
      case 'allFalse':
      case 'anyFalse':
        arity(0);
        return this.aggregate(name, input);
      case 'isDistinct':
        arity(0);
        if (input.kind === 'dyn' || input.kind === 'descendants') return { kind: 'tri', js: this.let(`dynDistinct(${this.dyn(input)})`) };
        return this.isDistinct(input);
      case 'is':
        arity(1);
        return this.typeTest(this.nodes(input), params[0].text ?? '');
      case 'iif':
        return this.iif(input, params);
      case 'trace': {
        arity(1);
        const label = this.compile(params[0], self, self);
        if (label.kind !== 'str' || label.constant === undefined) return unsupported('trace label');
        return input;
      }
      case 'first':
      case 'last': {
        arity(0);
        const s = this.nodes(input);
        return { kind: 'nodes', js: this.let(`first(${s.js}, ${name === 'last'})`), t: s.t };
      }
      case 'children':
        arity(0);
        return { kind: 'children', src: this.nodes(input) };
      case 'descendants': {
        arity(0);
        // The focus only: other slots' companions are not at hand.
        const s = this.nodes(input);
        if (s.js !== 'node' || !s.t) return unsupported('descendants of a derived slot');
        return { kind: 'descendants', roots: this.let(`dynRoot(node, ${JSON.stringify(s.t.path)})`) };
      }
      case 'intersect': {
        arity(1);
        const a = this.nodes(input);
        const b = this.nodes(this.compile(params[0], self, self));
        objectType(b.t);
        return { kind: 'nodes', js: this.let(`intersectSlots(${a.js}, ${b.js})`), t: objectType(a.t) };
      }
      case 'combine': {
        arity(1);
        const other = this.compile(params[0], self, self);
        return { kind: 'dyn', js: this.let(`${this.dyn(input)}.concat(${this.dyn(other)})`) };
      }
      case 'tail': {
        arity(0);
        const s = this.nodes(input);
        return { kind: 'nodes', js: this.let(`tail(${s.js})`), t: s.t };
      }
      case 'extension': {
        arity(1);
        const url = this.compile(params[0], self, self);
        if (url.kind !== 'str' || typeof url.constant !== 'string' || !url.constant) return unsupported('extension url');
        const s = this.nodes(input);
        if (!s.t || s.t.anyResource || (s.t.untyped && !(s.t.raw && s.js === 'node'))) return unsupported('extension of a run-time type');
        const prim = isPrimitiveValue(new Node(null, null, s.t.path, s.t.type));
        // The focus has no companions; a primitive slot's come from its owner.
        const mode = s.js === 'node' ? 'bare' : prim ? 'prim' : 'objects';
        const c = mode === 'prim' ? this.companionsOf(s) : 'undefined';
        return { kind: 'nodes', js: this.let(`extUrl(${s.js}, ${c}, '${mode}', ${url.js})`), t: nodeType('Extension', 'Extension') };
      }
      case 'toInteger':
        arity(0);
        return { kind: 'num', js: this.let(`toInt(${this.nodes(input).js})`) };
      case 'startsWith':
      case 'endsWith':
      case 'contains':
      case 'matches':
      case 'replaceMatches':
      case 'length':
        return this.stringFunction(name, input, params, self);
      default:
        return unsupported(`function ${name}`);
    }
  }

  private string(v: Val): string {
    if (v.kind === 'str') return v.js;
    if (v.kind === 'nodes' && v.t && !v.t.anyResource && !DATE_PATHS.has(v.t.path)) return this.let(`str(${v.js})`);
    return unsupported(`string of ${v.kind}`);
  }

  private stringFunction(name: string, input: Val, params: AstNode[], self: Val): Val {
    if (params.length !== (name === 'length' ? 0 : name === 'replaceMatches' ? 2 : 1)) unsupported(`arity of ${name}`);
    // Arguments first (makeParam on $this), then the input's singleton, as stringFn does.
    const args = params.map((p) => this.compile(p, self, self));
    if (name === 'matches' || name === 'replaceMatches') {
      const [pattern, replacement] = args;
      if (pattern.kind !== 'str' || typeof pattern.constant !== 'string') return unsupported('non-literal pattern');
      if (replacement && (replacement.kind !== 'str' || typeof replacement.constant !== 'string')) return unsupported('non-literal replacement');
      let re: RegExp;
      try {
        re = fhirPathRegExp(pattern.constant, name === 'matches' ? 'us' : 'gu');
      } catch (error) {
        if (name !== 'matches') return unsupported('invalid regex');
        // The closure tier compiles the pattern once there is a string to test, and raises this.
        const s = this.string(input);
        const failure: GeneratedError = Object.freeze({ ok: false, evaluationError: (error as Error).message });
        this.lines.push(`if (${s} !== undefined) return ${this.konst(failure)};`);
        return { kind: 'tri', js: 'undefined' };
      }
      const r = this.konst(re);
      const s = this.string(input);
      if (replacement) return { kind: 'str', js: this.let(`${s} === undefined ? undefined : ${s}.replace(${r}, ${replacement.js})`) };
      return { kind: 'tri', js: this.let(`${s} === undefined ? undefined : ${r}.test(${s})`) };
    }
    const arg = args.length ? this.string(args[0]) : '';
    const s = this.string(input);
    const call = {
      startsWith: `${s}.startsWith(${arg})`,
      endsWith: `${s}.endsWith(${arg})`,
      contains: `${s}.includes(${arg})`,
      length: `${s}.length`,
    }[name];
    const literal = args.length === 0 || (args[0].kind === 'str' && args[0].constant !== undefined);
    const empty = !literal ? `${s} === undefined || ${arg} === undefined` : `${s} === undefined`;
    return { kind: name === 'length' ? 'num' : 'tri', js: this.let(`${empty} ? undefined : ${call}`) };
  }

  /** Number of items of a collection (exists/empty/count). */
  private size(v: Val): string {
    switch (v.kind) {
      case 'nodes':
        return this.let(`count(${v.js})`);
      case 'dyn':
      case 'descendants':
        return this.let(`${this.dyn(v)}.length / 3`);
      case 'tri':
      case 'num':
      case 'str':
        return this.let(`${v.js} === undefined ? 0 : 1`);
      case 'where': {
        const n = this.let('0');
        // where() evaluates its criterion on every item (an error on any item is the result).
        this.loop(v.src, (item) => `if (${this.criterion(this.compile(v.cond, item, item))} === true) ${n}++;`);
        return n;
      }
      case 'select': {
        const n = this.let('0');
        // select() evaluates its projection on every item; its result has the items of every projection.
        this.loop(v.src, (item) => {
          const r = this.compile(v.cond, item, item);
          return r.kind === 'nodes' ? `${n} += count(${r.js});` : r.kind === 'tri' || r.kind === 'num' || r.kind === 'str' ? `if (${r.js} !== undefined) ${n}++;` : unsupported('projection');
        });
        return n;
      }
      default:
        return unsupported(`size of ${v.kind}`);
    }
  }

  /** A where()/all() criterion: only Boolean results (a number or a node would be kept by truthiness). */
  private criterion(v: Val): string {
    return v.kind === 'tri' ? v.js : unsupported(`criterion of ${v.kind}`);
  }

  /** Emits a loop over the items of `src`; `body` compiles one item (a single non-null value) and returns its last line. */
  private loop(src: NodesVal, body: (item: NodesVal) => string): void {
    const s = src.js;
    const i = this.v();
    const it = this.v();
    const outer = this.nest();
    if (this.depth++ === 0) this.hoistTo = outer;
    const last = body({ kind: 'nodes', js: it, t: src.t });
    if (--this.depth === 0) this.hoistTo = undefined;
    const inner = this.take();
    this.lines = outer;
    this.lines.push(
      `for (let ${i} = 0, n = count(${s}); ${i} < n; ${i}++) { const ${it} = item(${s}, ${i});`,
      ...inner,
      last,
      '}',
    );
  }

  /** allTrue/anyTrue/allFalse/anyFalse of Boolean projections (select() evaluates every item first, so no early exit). */
  private aggregate(name: string, input: Val): Val {
    if (input.kind !== 'select') return unsupported(`${name} of ${input.kind}`);
    const want = name.endsWith('True');
    const all = name.startsWith('all');
    // all*: no value differs from `want`; any*: some value equals it.
    const r = this.let(all ? 'true' : 'false');
    this.loop(input.src, (item) => {
      const b = this.criterion(this.compile(input.cond, item, item));
      return all ? `if (${b} === ${!want}) ${r} = false;` : `if (${b} === ${want}) ${r} = true;`;
    });
    return { kind: 'tri', js: r };
  }

  /** isDistinct() of string values, read with their companions checked (deepEqual compares them). */
  private isDistinct(input: Val): Val {
    const plain = (v: Val): Val => {
      if (v.kind !== 'str' && (v.kind !== 'nodes' || !v.t || v.t.anyResource || v.t.untyped || DATE_PATHS.has(v.t.path) || !PLAIN_TYPES.has(v.t.type))) unsupported('isDistinct');
      return v;
    };
    const ready = this.distinctReady;
    this.distinctReady = false;
    if (input.kind === 'select') {
      const items = this.let('[]');
      this.strict++;
      this.loop(input.src, (item) => {
        const v = plain(this.compile(input.cond, item, item));
        return v.kind === 'str' ? `if (${v.js} !== undefined) ${items}.push(${v.js});` : `pushItems(${items}, ${(v as NodesVal).js});`;
      });
      this.strict--;
      return { kind: 'tri', js: this.let(`distinctItems(${items})`) };
    }
    if (!ready) return unsupported('isDistinct without checked companions');
    const v = plain(input);
    // one value, or a slot's array as it is (a member step from several items made a fresh one)
    return { kind: 'tri', js: v.kind === 'str' ? 'true' : this.let(`!Array.isArray(${(v as NodesVal).js}) || distinctItems(${(v as NodesVal).js})`) };
  }

  /** all(criterion): stops at the first item whose criterion is not true, like the closure compiler. */
  private all(src: NodesVal, cond: AstNode): Val {
    const r = this.let('true');
    this.loop(src, (item) => `if (${this.criterion(this.compile(cond, item, item))} !== true) { ${r} = false; break; }`);
    return { kind: 'tri', js: r };
  }

  /** iif(criterion, then, else): lambdas on the input; only the chosen branch is evaluated. */
  private iif(input: Val, params: AstNode[]): Val {
    if (params.length !== 2 && params.length !== 3) unsupported('arity of iif');
    const c = this.criterion(this.compile(params[0], input, input));
    const r = this.let('undefined');
    const branch = (p: AstNode | undefined): string[] => {
      const outer = this.nest();
      if (p) {
        const v = this.compile(p, input, input);
        if (v.kind !== 'tri') unsupported('iif branch');
        this.lines.push(`${r} = ${v.js};`);
      }
      const inner = this.take();
      this.lines = outer;
      return inner;
    };
    const yes = branch(params[1]);
    const no = branch(params[2]);
    this.lines.push(`if (${c} === true) {`, ...yes, '} else {', ...no, '}');
    return { kind: 'tri', js: r };
  }
}

/** Whether a member step finds nothing in a string or boolean (the closure tier reads `length` or `0` of one). */
function primitivesLack(key: string): boolean {
  return !(key in String.prototype) && !(key in Boolean.prototype) && !(key in Object.prototype) && !/^\d/.test(key);
}

/** Functions whose arguments are evaluated on each input item (lambdas), not on $this. */
const LAMBDAS = new Set(['where', 'all', 'select', 'exists', 'iif']);

/** Whether a subexpression reads neither its input nor $this (the generator's operands and arguments see $this). */
function independent(n: AstNode): boolean {
  if (WRAPPER_NODES.has(n.type)) return independent(child(n));
  switch (n.type) {
    case 'StringLiteral':
    case 'BooleanLiteral':
    case 'NumberLiteral':
    case 'ExternalConstantTerm':
      return true;
    case 'InvocationExpression': {
      const right = child(n, 1);
      if (!independent(child(n))) return false;
      if (right.type === 'MemberInvocation') return true;
      if (right.type !== 'FunctionInvocation') return false;
      const functn = child(right);
      return LAMBDAS.has(child(functn).text ?? '') || (functn.children?.[1]?.children ?? []).every(independent);
    }
    case 'TypeExpression':
      return independent(child(n));
    case 'AdditiveExpression':
    case 'UnionExpression':
      return (n.children ?? []).every(independent);
    default:
      return BOOLEAN_OPERATOR_NODES.has(n.type) && (n.children ?? []).every(independent);
  }
}

const astKeys = new WeakMap<AstNode, string>();

/** A subexpression's structure as a string: equal for equal subexpressions. */
function astKey(n: AstNode): string {
  let key = astKeys.get(n);
  if (key === undefined) {
    // texts with their lengths: the key reads back one way only
    const text = n.text ?? '';
    const delimited = n.delimitedText ?? '';
    key = `${n.type}:${n.atRoot ?? ''}:${text.length}:${text}:${delimited.length}:${delimited}(${(n.children ?? []).map(astKey).join('')})`;
    astKeys.set(n, key);
  }
  return key;
}

const valIds = new WeakMap<Val, number>();
let valCount = 0;

function valId(v: Val): number {
  let id = valIds.get(v);
  if (id === undefined) valIds.set(v, (id = valCount++));
  return id;
}

/** The member step that ends a path (`a.b` → b), if it ends in one. */
function lastMember(n: AstNode): AstNode | undefined {
  while (['TermExpression', 'InvocationTerm'].includes(n.type) && n.children?.length === 1) n = n.children[0];
  if (n.type === 'InvocationExpression') return lastMember(child(n, 1));
  return n.type === 'MemberInvocation' ? n : undefined;
}

/** The JavaScript source of an invariant, or undefined outside the generated subset (also for tests). */
export function generateInvariantSource(expression: string, basePath: string): { source: string; consts: unknown[] } | undefined {
  let ast: AstNode;
  try {
    ast = parseFhirPath(expression) as AstNode;
  } catch {
    return undefined;
  }
  // Only where the closure tier exists: it is what a hand-over runs, and what the verdicts must equal.
  if (!compileFhirPath(expression, basePath)) return undefined;
  const base = baseInfo(basePath);
  const isResource = !!base.type && isResourceType(base.type);
  if (isResource && (base.type === 'Resource' || base.type === 'DomainResource')) return undefined;
  // A path fhirpath.js cannot type (Dosage.timing.repeat in a profile) leaves its nodes to their JSON values.
  const t: NodeType = base.type
    ? { path: base.path, type: base.type, rt: isResource ? base.type : undefined, anyResource: false }
    : { path: base.path, type: '', rt: undefined, anyResource: false, untyped: true, raw: true };
  const root: NodesVal = { kind: 'nodes', js: 'node', t };
  const top = basePath.split('.')[0];
  const gen = new Generator(isResourceType(top) ? top : undefined);
  try {
    const result = gen.compile(ast, root, root);
    if (result.kind !== 'tri') return undefined;
    const body = gen.take();
    body.push(`return ${result.js} !== false;`);
    return gen.source(body);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** Compiles an invariant to a function over the raw JSON, or undefined when it is outside the generated subset. */
export function generateInvariant(expression: string, basePath: string): GeneratedInvariant | undefined {
  const generated = generateInvariantSource(expression, basePath);
  if (!generated) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point of this tier
  const factory = new Function('R', 'K', generated.source) as (helpers: typeof HELPERS, consts: unknown[]) => GeneratedInvariant;
  return factory(HELPERS, generated.consts);
}
