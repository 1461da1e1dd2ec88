/**
 * Runtime values of compiled FHIRPath: model-backed nodes and the comparison rules, written to reproduce
 * fhirpath.js 5 (the fallback engine) exactly, so a compiled invariant and fhirpath.js never disagree.
 * Typing uses fhirpath.js's own R4 model tables (path2Type, choiceTypePaths, ...) for that reason.
 */
import { r4ModelTables } from '../fhirpath-js.js';

export const model = r4ModelTables();

/** Thrown where fhirpath.js would use its FP_* types (dates, UCUM quantities): the caller re-runs fhirpath.js. */
export const BAIL: unique symbol = Symbol('fhirpath-bail');

export function bail(): never {
  throw BAIL;
}

/** An element of the instance (fhirpath.js ResourceNode): JSON value, `_name` companion, model path and type. */
export class Node {
  readonly v: unknown;
  readonly x: Record<string, unknown> | null;
  readonly path: string | null;
  readonly type: string | null;
  constructor(v: unknown, x: unknown, path: string | null, type: string | null) {
    // Only objects can be resources: a property read on a string or number would search its prototype.
    const rt = typeof v === 'object' && v !== null ? (v as { resourceType?: unknown }).resourceType : undefined;
    // A resourceType that is not a string is reported by the structure check; here it names no type.
    if (typeof rt === 'string' && rt !== '') {
      path = rt;
      type = rt;
    }
    this.v = v;
    this.x = (x || null) as Record<string, unknown> | null;
    this.path = path || null;
    this.type = type || null;
  }
}

export type Coll = unknown[];

export function toNode(item: unknown): Node {
  return item instanceof Node ? item : new Node(item, null, null, null);
}

export function valData(item: unknown): unknown {
  return item instanceof Node ? item.v : item;
}

interface ChoiceType {
  field: string;
  /** `_field`, built once: concatenating it per lookup costs a string hash each time. */
  companion: string;
  path: string;
  type: string | null;
}

export interface ChildSpec {
  /** Choice element: candidate JSON names (and `_` names) → position in model order, which decides between several. */
  choice?: Map<string, number>;
  choiceTypes?: ChoiceType[];
  /** `_key`, built once. */
  companion: string;
  path: string | null;
  type: string | null;
}

const childSpecs = new Map<string, Map<string, ChildSpec>>();

function mapPath(path: string): { path: string; type: string | null } {
  return { path: model.path2TypeWithoutElements[path] || path, type: model.path2Type[path] || null };
}

export function childSpec(parentPath: string, key: string): ChildSpec {
  let byKey = childSpecs.get(parentPath);
  if (!byKey) childSpecs.set(parentPath, (byKey = new Map()));
  let spec = byKey.get(key);
  if (spec) return spec;
  let childPath = parentPath + '.' + key;
  childPath = model.pathsDefinedElsewhere[childPath] || childPath;
  const choiceTypes = model.choiceTypePaths[childPath];
  if (choiceTypes) {
    const types = choiceTypes.map((t) => ({ field: key + t, companion: '_' + key + t, ...mapPath(childPath + t) }));
    const choice = new Map<string, number>();
    types.forEach((t, i) => choice.set(t.field, i).set(t.companion, i));
    spec = { path: null, type: null, choice, choiceTypes: types, companion: '_' + key };
  } else {
    spec = { ...mapPath(key === 'extension' ? 'Extension' : childPath), companion: '_' + key };
  }
  byKey.set(key, spec);
  return spec;
}

/**
 * Which variant of choice element `key` an object holds: the first type in model order present as `field` or `_field`
 * (`names`: those names → position), or -1. Scanning the object's keys beats ~50 lookups; every name starts with `key`
 * or `_`, so most keys are passed over on their length and first character before a Map lookup.
 */
export function choiceVariant(o: Record<string, unknown>, key: string, names: Map<string, number>): number {
  let best = -1;
  const n = key.length;
  const c0 = key.charCodeAt(0);
  for (const k in o) {
    if (k.length <= n) continue;
    const c = k.charCodeAt(0);
    if (c !== c0 && c !== 95 /* _ */) continue;
    const i = names.get(k);
    if (i !== undefined && (best < 0 || i < best) && o[k] !== undefined) best = i;
  }
  return best;
}

function holdsObjects(x: unknown): boolean {
  const first = Array.isArray(x) ? x[0] : x;
  return typeof first === 'object' && first !== null && !Array.isArray(first);
}

function isSome(x: unknown): boolean {
  return x !== null && x !== undefined && !(Array.isArray(x) && x.length === 0);
}

/** makeChildResNodes: the children named `key` (choice names expanded, `_key` companions attached). */
export function pushChildren(out: Coll, parent: Node, key: string): void {
  // fhirpath.js holds numbers as FP_Decimal objects, whose own properties a member step would see.
  if (typeof parent.v === 'number' && key !== 'extension' && key !== 'id') bail();
  const data = parent.v as Record<string, unknown> | null | undefined;
  let toAdd: unknown;
  let toAdd_: unknown;
  let path: string | null = null;
  let type: string | null = null;
  const spec = parent.path ? childSpec(parent.path, key) : undefined;
  if (spec?.choice) {
    const best = typeof data === 'object' && data !== null ? choiceVariant(data, key, spec.choice) : -1;
    if (best >= 0) {
      const c = spec.choiceTypes![best];
      toAdd = data![c.field];
      toAdd_ = data![c.companion];
      path = c.path;
      type = c.type;
    }
  } else {
    toAdd = data?.[key];
    // Only primitives have `_key` companions: a lookup that misses is the costliest step here, so objects skip it.
    if (!holdsObjects(toAdd)) toAdd_ = data?.[spec ? spec.companion : '_' + key];
    if (toAdd === undefined && toAdd_ === undefined) toAdd = parent.x?.[key];
    if (spec) {
      path = spec.path;
      type = spec.type;
    }
  }
  if (!isSome(toAdd) && !isSome(toAdd_)) return;
  if (Array.isArray(toAdd)) {
    const companions = toAdd_ as unknown[] | undefined;
    for (let i = 0; i < toAdd.length; i++) out.push(new Node(toAdd[i], companions && companions[i], path, type));
    const n = (companions as unknown[] | undefined)?.length || 0;
    for (let i = toAdd.length; i < n; i++) out.push(new Node(null, companions![i], path, type));
    return;
  }
  if (toAdd == null && Array.isArray(toAdd_)) {
    for (const c of toAdd_) out.push(new Node(null, c, path, type));
    return;
  }
  out.push(new Node(toAdd, toAdd_, path, type));
}

/** children(): every child node, in JSON key order; only model nodes have children. */
export function pushAllChildren(out: Coll, item: unknown): void {
  if (!(item instanceof Node)) return;
  const data = item.v;
  if (typeof data === 'number') return;
  if (typeof data === 'object' && data !== null) {
    for (const prop in data) {
      if (prop.charCodeAt(0) === 95 /* _ */) {
        const base = prop.slice(1);
        if (!Object.prototype.hasOwnProperty.call(data, base)) pushChildren(out, item, base);
      } else if (prop !== 'resourceType') pushChildren(out, item, prop);
    }
  } else if (item.x !== null && typeof item.x === 'object') {
    for (const prop in item.x) pushChildren(out, item, prop);
  }
}

// ---- types -------------------------------------------------------------------------------------

export interface TypeName {
  ns: 'System' | 'FHIR' | undefined;
  name: string;
}

const SYSTEM_TYPES = new Set(['Boolean', 'String', 'Integer', 'Long', 'Decimal', 'Date', 'DateTime', 'Time', 'Quantity']);
const PRIMITIVES = new Set([
  'instant', 'time', 'date', 'dateTime', 'base64Binary', 'decimal', 'integer64', 'boolean', 'string', 'code', 'markdown',
  'id', 'integer', 'unsignedInt', 'positiveInt', 'uri', 'oid', 'uuid', 'canonical', 'url',
  'Integer', 'Long', 'Decimal', 'String', 'Date', 'DateTime', 'Time',
]);
const FHIR_TO_SYSTEM: Record<string, string> = {
  boolean: 'Boolean', string: 'String', uri: 'String', code: 'String', oid: 'String', id: 'String', uuid: 'String',
  markdown: 'String', base64Binary: 'String', integer: 'Integer', unsignedInt: 'Integer', positiveInt: 'Integer',
  integer64: 'Long', decimal: 'Decimal', date: 'DateTime', dateTime: 'DateTime', instant: 'DateTime', time: 'Time',
  Quantity: 'Quantity',
};

/** A type specifier (`Quantity`, `FHIR.Patient`, `System.String`), or undefined when fhirpath.js would reject it. */
export function parseTypeSpecifier(text: string): TypeName | undefined {
  const parts = text.split('.').map((p) => (p.startsWith('`') && p.endsWith('`') ? p.slice(1, -1) : p));
  if (parts.length > 2) return undefined;
  const [ns, name] = parts.length === 2 ? [parts[0], parts[1]] : [undefined, parts[0]];
  if (ns === 'System') return SYSTEM_TYPES.has(name) ? { ns, name } : undefined;
  if (ns === 'FHIR') return model.availableTypes.has(name) ? { ns, name } : undefined;
  if (ns !== undefined) return undefined;
  return SYSTEM_TYPES.has(name) || model.availableTypes.has(name) ? { ns: undefined, name } : undefined;
}

const TYPE_NAMES = new Set<string>([...model.availableTypes, ...SYSTEM_TYPES, 'Object', 'Undefined', 'Function', 'Symbol', 'Bigint']);
for (const t of Object.values(model.path2Type)) TYPE_NAMES.add(t.startsWith('System.') ? t.slice(7) : t);

/** Whether `name` can be the type (or a supertype) of a node: a leading member of that name also filters by type. */
export function isTypeName(name: string): boolean {
  return TYPE_NAMES.has(name);
}

function typeOfValue(v: unknown): TypeName {
  switch (typeof v) {
    case 'string':
      return { ns: 'System', name: 'String' };
    case 'number':
      return { ns: 'System', name: Number.isInteger(v) ? 'Integer' : 'Decimal' };
    case 'boolean':
      return { ns: 'System', name: 'Boolean' };
    case 'bigint':
      return { ns: 'System', name: 'Long' };
    default: {
      const t = typeof v;
      return { ns: 'System', name: t.charAt(0).toUpperCase() + t.slice(1) };
    }
  }
}

export function typeOf(item: unknown): TypeName {
  if (item instanceof Node) {
    if (item.type) {
      return item.type.startsWith('System.') ? { ns: 'System', name: item.type.slice(7) } : { ns: 'FHIR', name: item.type };
    }
    return typeOfValue(item.v);
  }
  return typeOfValue(item);
}

export function isSubtype(type: string | undefined, superType: string): boolean {
  while (type) {
    if (type === superType) return true;
    type = model.type2Parent[type];
  }
  return false;
}

/** TypeInfo.is */
export function typeIs(t: TypeName, other: TypeName): boolean {
  if (t.ns && other.ns && t.ns !== other.ns) return false;
  if (t.ns && t.ns !== 'FHIR') return t.name === other.name;
  // Where fhirpath.js and the reference part: the reference compares an unqualified name with a FHIR primitive's
  // without case (Base.hasType), so a boolean is Boolean, as R4's que-7 (answer is Boolean) takes for granted.
  return isSubtype(t.name, other.name) || (!other.ns && PRIMITIVES.has(t.name) && t.name.toLowerCase() === other.name.toLowerCase());
}

/** TypeInfo.isConvertibleTo (ofType) */
export function typeConvertible(t: TypeName, other: TypeName): boolean {
  if ((!t.ns || t.ns === 'FHIR') && (!other.ns || other.ns === 'System') && FHIR_TO_SYSTEM[t.name] === other.name) return true;
  return typeIs(t, other);
}

export function isPrimitiveValue(item: unknown): boolean {
  if (item instanceof Node) return PRIMITIVES.has(typeOf(item).name);
  return typeof item !== 'object';
}

// ---- comparison --------------------------------------------------------------------------------

const UCUM = 'http://unitsofmeasure.org';
export const DATE_PATHS = new Set(['date', 'dateTime', 'instant', 'time']);

/** valDataConverted: the plain value, or a bail where fhirpath.js converts to a date or UCUM quantity. */
export function converted(item: unknown): unknown {
  if (!(item instanceof Node)) return item;
  const v = item.v;
  if (v == null || item.path === null) return v;
  if (DATE_PATHS.has(item.path)) bail();
  if (typeof v === 'object' && isSubtype(item.path, 'Quantity')) {
    const q = v as { system?: unknown; value?: unknown; code?: unknown };
    if (q.system === UCUM && typeof q.value === 'number' && typeof q.code === 'string') bail();
  }
  return v;
}

export function roundToMaxPrecision(x: number): number {
  return Math.round(x / 1e-8) * 1e-8;
}

/** deep-equal.js for values without FP_* types (dates and UCUM quantities bail in `converted`). */
export function deepEqual(a: unknown, b: unknown): boolean {
  const aNode = a instanceof Node;
  const bNode = b instanceof Node;
  const x = aNode ? converted(a) : a;
  const y = bNode ? converted(b) : b;
  if (x === y || (typeof x === 'number' && typeof y === 'number' && roundToMaxPrecision(x) === roundToMaxPrecision(y))) {
    return !aNode || !bNode || deepEqual((a as Node).x, (b as Node).x);
  }
  if (x == null || y == null || typeof x !== 'object' || typeof y !== 'object') return false;
  return objEquiv(x as Record<string, unknown>, y as Record<string, unknown>);
}

/**
 * deep-equal.js objEquiv: the same keys, with deep-equal values. Its key arrays are sorted only to compare them as sets,
 * and members are JSON values (no nodes, so no bail whatever the order): counting and own-key checks give the same answer
 * without the arrays.
 */
function objEquiv(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  if (a.prototype !== b.prototype) return false;
  let n = 0;
  for (const key in a) {
    if (!Object.hasOwn(b, key)) return false;
    n++;
  }
  for (const key in b) n--;
  if (n !== 0) return false;
  for (const key in a) if (!deepEqual(a[key], b[key])) return false;
  return true;
}

/** `=` on two non-empty collections (equality.js: deepEqual of the arrays). */
export function collectionsEqual(a: Coll, b: Coll): boolean {
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) if (!deepEqual(a[i], b[i])) return false;
  return true;
}

function comparisonClass(v: unknown): unknown {
  const t = typeof v;
  if (t === 'number' || t === 'bigint') return 'number';
  if (t === 'object') {
    if (Array.isArray(v)) bail();
    return (v as object).constructor;
  }
  return t;
}

/** <, <=, >, >= (equality.js typecheck + compare); returns -1/0/1 semantics via the operator callback. */
export function compareSingletons(a: Coll, b: Coll): { x: unknown; y: unknown } | undefined {
  if (a.length !== 1 || b.length !== 1) throw new Error('Was expecting only one element');
  const x = converted(a[0]);
  const y = converted(b[0]);
  if (x == null || y == null) return undefined;
  if (comparisonClass(x) !== comparisonClass(y)) throw new Error(`Type of "${String(x)}" did not match type of "${String(y)}"`);
  if (typeof x === 'number') return { x: roundToMaxPrecision(x), y: roundToMaxPrecision(y as number) };
  return { x, y };
}

function hashValue(value: unknown): unknown {
  value = converted(value);
  if (value === null) return null;
  if (typeof value === 'number') return roundToMaxPrecision(value);
  if (typeof value === 'object') {
    if (Array.isArray(value)) return value.map(hashValue);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) out[key] = hashValue((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function hashObject(item: unknown): string {
  return JSON.stringify(hashValue(item));
}

const MAX_DEEP_EQUAL = 6;

/** distinctFn */
export function distinct(coll: Coll, hasPrimitive?: boolean): Coll {
  const unique: Coll = [];
  if (coll.length === 0) return unique;
  hasPrimitive ??= coll.some(isPrimitiveValue);
  if (!hasPrimitive && coll.length > MAX_DEEP_EQUAL) {
    const seen = new Set<string>();
    for (const item of coll) {
      const h = hashObject(item);
      if (!seen.has(h)) {
        unique.push(item);
        seen.add(h);
      }
    }
    return unique;
  }
  let rest = coll.slice().reverse();
  do {
    const item = rest.pop();
    unique.push(item);
    rest = rest.filter((o) => !deepEqual(item, o));
  } while (rest.length);
  return unique;
}

/** combining.js intersect */
export function intersect(a: Coll, b: Coll): Coll {
  if (!a.length || !b.length) return [];
  const hasPrimitive = a.some(isPrimitiveValue) || b.some(isPrimitiveValue);
  if (!hasPrimitive && a.length + b.length > MAX_DEEP_EQUAL) {
    const pending = new Map<string, boolean>();
    let unchecked = b.length;
    for (const item of b) {
      const h = hashObject(item);
      if (pending.get(h)) unchecked--;
      else pending.set(h, true);
    }
    const result: Coll = [];
    for (let i = 0; i < a.length && unchecked > 0; i++) {
      const h = hashObject(a[i]);
      if (pending.get(h)) {
        result.push(a[i]);
        pending.set(h, false);
        unchecked--;
      }
    }
    return result;
  }
  return distinct(a, hasPrimitive).filter((x) => b.some((y) => deepEqual(x, y)));
}

/** combining.js exclude */
export function exclude(a: Coll, b: Coll): Coll {
  if (!b.length) return a;
  if (!a.length) return [];
  const hasPrimitive = a.some(isPrimitiveValue) || b.some(isPrimitiveValue);
  if (!hasPrimitive && a.length + b.length > MAX_DEEP_EQUAL) {
    const hashes = new Set(b.map(hashObject));
    return a.filter((x) => !hashes.has(hashObject(x)));
  }
  return a.filter((x) => !b.some((y) => deepEqual(x, y)));
}

/** existence.js subsetOf */
export function subsetOf(a: Coll, b: Coll): boolean {
  if (a.length > b.length) return false;
  const hasPrimitive = a.some(isPrimitiveValue) || b.some(isPrimitiveValue);
  if (!hasPrimitive && a.length + b.length > MAX_DEEP_EQUAL) {
    const hashes = new Set(b.map(hashObject));
    return a.every((x) => hashes.has(hashObject(x)));
  }
  return a.every((x) => b.some((y) => deepEqual(valData(x), valData(y))));
}
