import type { Constraint } from './element-tree.js';
import { type GeneratedInvariant, generateInvariant } from './fhirpath-codegen.js';
import { compileFhirPath, fallback, type MemberOf } from './fhirpath-compiler.js';
import { focusDependencies, reachesAny } from './invariant-dependencies.js';

/** What an invariant sees: the element, its resource, the outermost resource, and a resolver for resolve(). */
export interface InvariantScope {
  node: unknown;
  basePath: string;
  resource: unknown;
  rootResource: unknown;
  resolveReference: (reference: string) => unknown;
  /** FHIRPath conformsTo(): whether a value conforms to the profile with this url. */
  conformsTo?: (value: unknown, url: string) => boolean;
  /** FHIRPath memberOf(): whether a code is in the value set with this url (see MemberOf). */
  memberOf?: MemberOf;
}

export type InvariantResult = { ok: true } | { ok: false; evaluationError?: string };

type NativeInvariant = (scope: InvariantScope) => boolean;

interface ContainedLike {
  contained?: unknown;
  meta?: { versionId?: unknown; lastUpdated?: unknown; security?: unknown };
}

/** A resource's contained resources as FHIRPath sees them: one that is not in an array (a structure error) is one item. */
function containedOf(node: unknown): (ContainedLike | null)[] | undefined {
  const contained = (node as { contained?: unknown }).contained;
  if (contained === undefined || contained === null) return undefined;
  return Array.isArray(contained) ? (contained as (ContainedLike | null)[]) : [contained as ContainedLike];
}

/** ele-1 on a value: a primitive value, or an object with a member besides id. */
export function hasValueOrChildren(node: unknown): boolean {
  if (node === null || node === undefined) return false;
  if (typeof node !== 'object') return true;
  for (const key in node as Record<string, unknown>) {
    if (key !== 'id') return true;
  }
  return false;
}

/**
 * The core invariants that hold on every element or resource run as plain code: FHIRPath
 * interpretation costs ~20 µs per call, which per element would dominate validation time.
 */
const NATIVE: Record<string, NativeInvariant> = {
  'ele-1': ({ node }) => hasValueOrChildren(node),
  'ext-1': ({ node }) => {
    const ext = node as Record<string, unknown>;
    const hasExtensions = Array.isArray(ext.extension) && ext.extension.length > 0;
    let hasValue = false;
    // 'v' first: most keys (url, extension, id) are passed over without a startsWith call. A _value[x] companion
    // alone is a value too: a primitive with only extensions exists in FHIRPath.
    for (const key in ext) {
      const first = key.charCodeAt(0);
      if ((first === 118 && key.startsWith('value')) || (first === 95 && key.startsWith('_value'))) {
        hasValue = true;
        break;
      }
    }
    return hasExtensions !== hasValue;
  },
  'dom-2': ({ node }) => {
    const contained = containedOf(node);
    return !contained?.some((c) => Array.isArray(c?.contained) && c.contained.length > 0);
  },
  // As in the reference, not as FHIRPath: contained.ts names each orphan, and follows references between contained resources.
  'dom-3': () => true,
  'dom-4': ({ node }) => {
    const contained = containedOf(node);
    return !contained?.some((c) => c?.meta?.versionId !== undefined || c?.meta?.lastUpdated !== undefined);
  },
  'dom-5': ({ node }) => {
    const contained = containedOf(node);
    // A security that is no array is reported by the structure check and counts as absent, as in the reference.
    return !contained?.some((c) => { const security = c?.meta?.security; return Array.isArray(security) && security.length > 0; });
  },
  // ref-1 as published: a local reference must name a contained resource of the root resource.
  'ref-1': ({ node, rootResource }) => {
    const reference = (node as { reference?: unknown }).reference;
    // '#' alone (the container) yields an empty substring, which FHIRPath lets pass.
    if (typeof reference !== 'string' || !reference.startsWith('#') || reference === '#') return true;
    const contained = (rootResource as { contained?: Array<{ id?: unknown }> } | undefined)?.contained;
    return Array.isArray(contained) && contained.some((c) => c?.id === reference.slice(1));
  },
  'per-1': ({ node }) => {
    const { start, end } = node as { start?: unknown; end?: unknown };
    if (typeof start !== 'string' || typeof end !== 'string') return true;
    return compareDateTimes(start, end) !== 1;
  },
  // Narrative rules are checked by narrative.ts, which names the offending element.
  'txt-1': () => true,
  'txt-2': () => true,
  // As the reference evaluates it ((%rootResource != $this) or text.`div`.exists()): a contained resource needs no narrative.
  'dom-6': ({ node, rootResource }) => {
    if (node !== rootResource) return true;
    const text = (node as { text?: { div?: unknown } }).text;
    return typeof text?.div === 'string';
  },
};

type Compiled = (scope: InvariantScope) => unknown[];

/**
 * FHIRPath comparison of two date/dateTime values: -1, 0 or 1, or undefined when their precisions make the
 * answer unknown (FHIRPath then returns empty, which an invariant treats as passing).
 */
export function compareDateTimes(a: string, b: string): -1 | 0 | 1 | undefined {
  const aTime = a.includes('T');
  const bTime = b.includes('T');
  if (aTime && bTime) {
    const x = Date.parse(a);
    const y = Date.parse(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return undefined;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  // Compare on the precision both have; equal there means unknown unless the precisions are equal too.
  const dateA = aTime ? a.slice(0, a.indexOf('T')) : a;
  const dateB = bTime ? b.slice(0, b.indexOf('T')) : b;
  const common = Math.min(dateA.length, dateB.length);
  const x = dateA.slice(0, common);
  const y = dateB.slice(0, common);
  if (x !== y) return x < y ? -1 : 1;
  return dateA.length === dateB.length && aTime === bTime ? 0 : undefined;
}

/** A compiled invariant, with what it reads of its focus and its answer on a focus that has none of that. */
interface CompiledInvariant {
  fn: Compiled | Error;
  dependencies: string[] | undefined;
  whenAbsent?: InvariantResult;
}

const EMPTY_FOCUS = Object.freeze({});

/** What evaluate needs for one constraint at one base path: the native code, generated code, or compiled invariant. */
interface Entry {
  basePath: string;
  native: NativeInvariant | null;
  generated: GeneratedInvariant | undefined;
  compiled: CompiledInvariant | undefined;
}

/** A constraint with its entry for the base path it was last evaluated at (one per constraint in practice). */
interface ResolvedConstraint extends Constraint {
  entry?: Entry;
}

let generatedEnabled = true;
let handovers = 0;

/** Switches the generated tier on or off (for A/B measurements); on by default. */
export function useGeneratedInvariants(enabled: boolean): void {
  generatedEnabled = enabled;
}

/** How many evaluations generated code handed to the closure tier (for coverage measurements). */
export function generatedHandoverCount(): number {
  return handovers;
}

export class InvariantEngine {
  private readonly compiled = new Map<string, Map<string, CompiledInvariant>>();
  private readonly generated = new Map<string, Map<string, GeneratedInvariant | undefined>>();

  evaluate(constraint: ResolvedConstraint, scope: InvariantScope): InvariantResult {
    let entry = constraint.entry;
    if (entry === undefined || entry.basePath !== scope.basePath) entry = constraint.entry = this.entry(constraint, scope.basePath);
    if (entry.native !== null) return entry.native(scope) ? PASS : FAIL;
    if (entry.generated !== undefined && generatedEnabled) {
      const verdict = entry.generated(scope.node, scope.resource);
      if (verdict !== undefined) return verdict === true ? PASS : verdict === false ? FAIL : verdict;
      handovers++;
    }
    const compiled = (entry.compiled ??= this.cached(constraint.expression, scope.basePath));
    const node = scope.node;
    if (compiled.dependencies && typeof node === 'object' && node !== null && !Array.isArray(node) && !reachesAny(node, compiled.dependencies)) {
      // Properties read one by one: a scope may provide some through getters, which a spread would skip.
      compiled.whenAbsent ??= run(compiled.fn, {
        node: EMPTY_FOCUS,
        basePath: scope.basePath,
        resource: scope.resource,
        rootResource: scope.rootResource,
        resolveReference: scope.resolveReference,
        conformsTo: scope.conformsTo,
        memberOf: scope.memberOf,
      });
      return compiled.whenAbsent;
    }
    return run(compiled.fn, scope);
  }

  /** Evaluates an expression and returns its raw result (for fhirpath extension contexts). */
  select(expression: string, scope: InvariantScope): unknown[] | Error {
    const { fn } = this.cached(expression, scope.basePath);
    if (fn instanceof Error) return fn;
    try {
      return fn(scope);
    } catch (error) {
      return error as Error;
    }
  }

  private entry(constraint: Constraint, basePath: string): Entry {
    const native = Object.hasOwn(NATIVE, constraint.key) && constraint.core ? NATIVE[constraint.key]! : null;
    return { basePath, native, generated: native ? undefined : this.generatedFor(constraint.expression, basePath), compiled: undefined };
  }

  private generatedFor(expression: string, basePath: string): GeneratedInvariant | undefined {
    let byBase = this.generated.get(expression);
    if (!byBase) this.generated.set(expression, (byBase = new Map()));
    if (!byBase.has(basePath)) byBase.set(basePath, generateInvariant(expression, basePath));
    return byBase.get(basePath);
  }

  private cached(expression: string, basePath: string): CompiledInvariant {
    // Keyed by expression, then base path: no string building per evaluation.
    let byBase = this.compiled.get(expression);
    if (!byBase) {
      byBase = new Map();
      this.compiled.set(expression, byBase);
    }
    let entry = byBase.get(basePath);
    if (!entry) {
      let fn: Compiled | Error;
      try {
        fn = compile(expression, basePath);
      } catch (error) {
        fn = error as Error;
      }
      entry = { fn, dependencies: focusDependencies(expression) };
      byBase.set(basePath, entry);
    }
    return entry;
  }
}

const PASS: InvariantResult = Object.freeze({ ok: true });
const FAIL: InvariantResult = Object.freeze({ ok: false });

function run(fn: Compiled | Error, scope: InvariantScope): InvariantResult {
  if (fn instanceof Error) return { ok: false, evaluationError: fn.message };
  try {
    return isTrue(fn(scope)) ? PASS : FAIL;
  } catch (error) {
    return { ok: false, evaluationError: (error as Error).message };
  }
}

/** Compiled closures where the compiler reproduces fhirpath.js exactly; fhirpath.js itself for the rest. */
function compile(expression: string, basePath: string): Compiled {
  const fn = compileFhirPath(expression, basePath) ?? fallback(expression, basePath);
  return (scope) => fn(scope.node, { resource: scope.resource, rootResource: scope.rootResource, resolve: scope.resolveReference, conformsTo: scope.conformsTo, memberOf: scope.memberOf });
}


/** FHIRPath's invariant semantics: an empty result or a single true passes. */
function isTrue(result: unknown[]): boolean {
  if (result.length === 0) return true;
  return result.length === 1 && result[0] === true;
}
