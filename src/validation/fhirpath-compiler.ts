/**
 * FHIRPath → JavaScript closures for invariants. The AST comes from fhirpath.js's own parser (HL7 grammar);
 * every construct is compiled once into a closure that reproduces fhirpath.js 5 on FHIR JSON, and anything
 * not reproduced exactly makes compileFhirPath return undefined (the caller keeps fhirpath.js).
 * Written by hand: no library compiles FHIRPath to closures.
 */
import { fhirpathJs, parseFhirPath, r4ModelJs } from './fhirpath-js.js';
import { fhirPathRegExp } from './fhirpath-regex.js';
import {
  BAIL, bail, collectionsEqual, compareSingletons, type Coll, converted, deepEqual, distinct, exclude, intersect, isPrimitiveValue,
  isTypeName, model, Node, parseTypeSpecifier, pushAllChildren, pushChildren, subsetOf, toNode, type TypeName, typeConvertible,
  typeIs, typeOf, valData,
} from './fhirpath/runtime.js';

export type CompiledPath = (node: unknown, env: PathEnv) => unknown[];
export interface PathEnv {
  resource: unknown;
  rootResource: unknown;
  resolve?: (reference: string) => unknown;
  conformsTo?: (value: unknown, url: string) => boolean;
  memberOf?: MemberOf;
}

/**
 * FHIRPath memberOf(): whether a code (of `type`, when known), Coding or CodeableConcept is in the value set;
 * undefined when the value set is unknown. Throws when it cannot be decided offline.
 */
export type MemberOf = (value: unknown, type: string | undefined, valueSet: string) => boolean | undefined;

export interface AstNode {
  type: string;
  text?: string;
  atRoot?: number;
  delimitedText?: string;
  children?: AstNode[];
}

/** The evaluation scope of fhirpath.js: data root, $this, $index (which where()/select() leak to their caller). */
interface Ctx {
  root: Coll;
  self: Coll | undefined;
  index: number | undefined;
  env: PathEnv;
}

type Fn = (input: Coll, ctx: Ctx) => Coll;
type Scalar = (input: Coll, ctx: Ctx) => unknown;

class Unsupported extends Error {}

function unsupported(what: string): never {
  throw new Unsupported(what);
}

const EMPTY: Coll = [];

function child(n: AstNode, i = 0): AstNode {
  const c = n.children?.[i];
  if (!c) unsupported(`malformed ${n.type}`);
  return c;
}

export function unquote(text: string, quote: string): string {
  if (text.length < 2 || text[0] !== quote || text[text.length - 1] !== quote) return text;
  return text.slice(1, -1).replace(/\\(u[0-9a-fA-F]{4}|.)/g, (match, sub: string) => {
    switch (match) {
      case '\\r': return '\r';
      case '\\n': return '\n';
      case '\\t': return '\t';
      case '\\f': return '\f';
      default: return sub.length > 1 ? String.fromCharCode(parseInt(sub.slice(1), 16)) : sub;
    }
  });
}

/** Operands of operators and non-lambda arguments see $this (or the data root), like makeParam. */
function paramScope(ctx: Ctx): Ctx {
  const self = ctx.self ?? ctx.root;
  return { root: ctx.root, self, index: ctx.index, env: ctx.env };
}

function operand(fn: Fn): Fn {
  return (_input, ctx) => {
    const scope = paramScope(ctx);
    return fn(scope.self!, scope);
  };
}

/** A lambda argument (where, select, all, exists, iif): evaluated on one item with $this = [item]. */
function lambda(fn: Fn): (data: Coll, ctx: Ctx) => Coll {
  return (data, ctx) => fn(data, { root: ctx.root, self: data, index: ctx.index, env: ctx.env });
}

/** misc.singleton(coll, type) for argument types String / Integer / Boolean; EMPTY when empty. */
function singleton(coll: Coll, type: 'String' | 'Integer' | 'Boolean'): unknown {
  if (coll.length > 1) throw new Error(`Unexpected collection; expected singleton of type ${type}`);
  if (coll.length === 0) return EMPTY;
  const v = valData(coll[0]);
  if (v == null) return EMPTY;
  if (type === 'Boolean') return v === true || v === false ? v : true;
  if (type === 'String' ? typeof v === 'string' : Number.isInteger(v)) return v;
  throw new Error(`Expected ${type.toLowerCase()}`);
}

function isTrue(coll: Coll): boolean {
  return coll.length === 1 && valData(coll[0]) === true;
}

function one(v: unknown): Coll {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

// ---- compilation -------------------------------------------------------------------------------

/** fhirpath.js AST nodes that only wrap their one child: both compilers look through them. */
export const WRAPPER_NODES: ReadonlySet<string> = new Set(['EntireExpression', 'TermExpression', 'InvocationTerm', 'ParenthesizedTerm', 'LiteralTerm']);

/** fhirpath.js AST nodes of the operators whose result is a Boolean (and, or, xor, implies, comparisons, in, contains). */
export const BOOLEAN_OPERATOR_NODES: ReadonlySet<string> = new Set([
  'AndExpression', 'OrExpression', 'XorExpression', 'ImpliesExpression', 'EqualityExpression', 'InequalityExpression', 'MembershipExpression',
]);

function compileNode(n: AstNode): Fn {
  if (WRAPPER_NODES.has(n.type)) {
    if (n.type === 'LiteralTerm' && !n.children?.length) unsupported('literal');
    return compileNode(child(n));
  }
  switch (n.type) {
    case 'InvocationExpression': {
      const steps = (n.children ?? []).map(compileNode);
      if (steps.length === 2) {
        const [a, b] = steps;
        return (input, ctx) => b(a(input, ctx), ctx);
      }
      return (input, ctx) => {
        let data = input;
        for (const step of steps) data = step(data, ctx);
        return data;
      };
    }
    case 'MemberInvocation':
      return member(n);
    case 'FunctionInvocation':
      return invocation(child(n));
    case 'ThisInvocation':
      return (_input, ctx) => ctx.self ?? ctx.root;
    case 'StringLiteral': {
      const value = [unquote(n.text ?? '', "'")];
      return () => value;
    }
    case 'NumberLiteral': {
      const text = n.text ?? '';
      const num = Number(text);
      // fhirpath.js keeps the literal's text (1.0 is a Decimal, prints as '1.0'); only plain spellings are equal here.
      if (String(num) !== text) unsupported(`number literal ${text}`);
      const value = [num];
      return () => value;
    }
    case 'BooleanLiteral': {
      const value = [n.text === 'true'];
      return () => value;
    }
    case 'NullLiteral':
      return () => EMPTY;
    case 'ExternalConstantTerm':
      return externalConstant(n);
    case 'IndexerExpression': {
      const coll = compileNode(child(n, 0));
      const idxNode = child(n, 1);
      const idx = idxNode.type === 'TermExpression' && child(idxNode).type === 'LiteralTerm' ? Number(child(idxNode).text) : NaN;
      if (!Number.isInteger(idx) || idx < 0) unsupported('indexer');
      return (input, ctx) => {
        const c = coll(input, ctx);
        return c.length > idx ? [c[idx]] : EMPTY;
      };
    }
    case 'EqualityExpression':
    case 'InequalityExpression':
    case 'AndExpression':
    case 'OrExpression':
    case 'XorExpression':
    case 'ImpliesExpression':
    case 'UnionExpression':
    case 'MembershipExpression':
    case 'AdditiveExpression':
      return binary(n);
    case 'TypeExpression': {
      const left = operand(compileNode(child(n, 0)));
      const spec = child(n, 1);
      const type = parseTypeSpecifier(spec.text ?? '');
      if (!type) unsupported('type');
      return n.text === 'is' ? isOp(left, type) : asOp(left, type);
    }
    default:
      return unsupported(n.type);
  }
}

function externalConstant(n: AstNode): Fn {
  const name = n.delimitedText ? unquote(n.delimitedText, '`') : n.text;
  const asNode = (value: unknown): Coll =>
    value === undefined || value === null ? EMPTY : [(value as { resourceType?: unknown }).resourceType ? new Node(value, null, null, null) : value];
  switch (name) {
    case 'resource':
      return (_input, ctx) => asNode(ctx.env.resource);
    case 'rootResource':
      return (_input, ctx) => asNode(ctx.env.rootResource);
    case 'ucum': {
      const value = ['http://unitsofmeasure.org'];
      return () => value;
    }
    case 'context':
      return (_input, ctx) => ctx.root;
    default:
      return unsupported(`%${name}`);
  }
}

function member(n: AstNode): Fn {
  const raw = child(n).text ?? '';
  const key = unquote(raw, '`');
  const atRoot = n.atRoot;
  // A leading identifier that names a type filters by type (`Patient.name`, `Resource.id`).
  const typeFilter = atRoot && isTypeName(key) ? ({ ns: undefined, name: key } as TypeName) : undefined;
  const typeAnswers = new Map<string, boolean>();
  return (input, ctx) => {
    if (input.length === 0) return EMPTY;
    const out: Coll = [];
    const checkType = typeFilter !== undefined &&
      (atRoot === 1 || (ctx.index !== undefined ? ctx.root[ctx.index] === ctx.self?.[0] : ctx.root === ctx.self));
    for (let i = 0; i < input.length; i++) {
      const res = toNode(input[i]);
      const v = res.v;
      if (typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === key) out.push(res);
      else if (checkType && nodeIs(res, typeFilter, typeAnswers)) out.push(res);
      else pushChildren(out, res, key);
    }
    return out;
  };
}

/** typeIs(typeOf(node), type), remembered per model type name (the answer depends on nothing else). */
function nodeIs(node: Node, type: TypeName, answers: Map<string, boolean>): boolean {
  if (node.type === null) return typeIs(typeOf(node), type);
  let answer = answers.get(node.type);
  if (answer === undefined) answers.set(node.type, (answer = typeIs(typeOf(node), type)));
  return answer;
}

const BOOL_OPS: Record<string, (a: boolean | Coll, b: boolean | Coll) => boolean | Coll> = {
  // logic.js, with EMPTY standing for the empty collection
  or: (a, b) => (a === true || b === true ? true : a === false && b === false ? false : EMPTY),
  and: (a, b) => (a === false || b === false ? false : a === true && b === true ? true : EMPTY),
  xor: (a, b) => (a === EMPTY || b === EMPTY ? EMPTY : a !== b),
  implies: (a, b) => (a === false ? true : a === EMPTY ? (b === true ? true : EMPTY) : b === EMPTY ? EMPTY : b),
};

const COMPARE: Record<string, (x: never, y: never) => boolean> = {
  '<': (x, y) => x < y,
  '>': (x, y) => x > y,
  '<=': (x, y) => x <= y,
  '>=': (x, y) => x >= y,
};

function binary(n: AstNode): Fn {
  const op = n.type === 'UnionExpression' ? '|' : n.text ?? '';
  const left = operand(compileNode(child(n, 0)));
  const right = operand(compileNode(child(n, 1)));
  const bool = BOOL_OPS[op];
  if (bool) {
    // The reference validator (FHIRPathEngine.preOperate) skips the right operand where the left decides; fhirpath.js does not.
    const decisive = op === 'or' ? true : op === 'and' || op === 'implies' ? false : undefined;
    const decided: Coll = [op === 'implies' ? true : decisive];
    return (input, ctx) => {
      const a = singleton(left(input, ctx), 'Boolean') as boolean | Coll;
      if (decisive !== undefined && a === decisive) return decided;
      const b = singleton(right(input, ctx), 'Boolean') as boolean | Coll;
      const r = bool(a, b);
      return r === EMPTY ? EMPTY : [r];
    };
  }
  const cmp = COMPARE[op];
  if (cmp) {
    return (input, ctx) => {
      const a = left(input, ctx);
      const b = right(input, ctx);
      if (a.length === 0 || b.length === 0) return EMPTY;
      const pair = compareSingletons(a, b);
      return pair ? [cmp(pair.x as never, pair.y as never)] : EMPTY;
    };
  }
  switch (op) {
    case '=':
    case '!=': {
      const negate = op === '!=';
      return (input, ctx) => {
        const a = left(input, ctx);
        const b = right(input, ctx);
        if (a.length === 0 || b.length === 0) return EMPTY;
        return [collectionsEqual(a, b) !== negate];
      };
    }
    case '|':
      return (input, ctx) => distinct(left(input, ctx).concat(right(input, ctx)));
    case 'in':
    case 'contains': {
      const isIn = op === 'in';
      return (input, ctx) => {
        const a = left(input, ctx);
        const b = right(input, ctx);
        const [item, coll] = isIn ? [a, b] : [b, a];
        if (item.length === 0) return EMPTY;
        if (coll.length === 0) return [false];
        if (item.length > 1) throw new Error(`Expected singleton on ${isIn ? 'left' : 'right'} side of ${op}`);
        for (const c of coll) if (deepEqual(c, item[0])) return [true];
        return [false];
      };
    }
    case '&':
      return (input, ctx) => {
        const a = singleton(left(input, ctx), 'String');
        const b = singleton(right(input, ctx), 'String');
        return [(a === EMPTY ? '' : (a as string)) + (b === EMPTY ? '' : (b as string))];
      };
    case '+':
      return (input, ctx) => {
        const a = left(input, ctx);
        const b = right(input, ctx);
        if (a.length === 0 || b.length === 0) return EMPTY;
        if (a.length !== 1 || b.length !== 1) throw new Error('Cannot add collections');
        const x = converted(a[0]);
        const y = converted(b[0]);
        if (x == null || y == null) return EMPTY;
        if (typeof x === 'string' && typeof y === 'string') return [x + y];
        if (typeof x === 'number' && typeof y === 'number') return [x + y];
        return bail();
      };
    default:
      return unsupported(`operator ${op}`);
  }
}

function isOp(left: Fn, type: TypeName): Fn {
  return (input, ctx) => {
    const coll = left(input, ctx);
    if (coll.length === 0) return EMPTY;
    if (coll.length > 1) throw new Error("Expected singleton on left side of 'is'");
    return [typeIs(typeOf(coll[0]), type)];
  };
}

function asOp(left: Fn, type: TypeName): Fn {
  return (input, ctx) => {
    const coll = left(input, ctx);
    if (coll.length === 0) return EMPTY;
    if (coll.length > 1) throw new Error("Expected singleton on left side of 'as'");
    return typeIs(typeOf(coll[0]), type) ? coll : EMPTY;
  };
}

// ---- functions ---------------------------------------------------------------------------------

type Builder = (params: AstNode[]) => Fn;

function noParams(f: (coll: Coll, ctx: Ctx) => Coll): Builder {
  return (params) => {
    if (params.length) unsupported('parameters');
    return f;
  };
}

function lambdaParam(params: AstNode[], count: number): ((data: Coll, ctx: Ctx) => Coll)[] {
  if (params.length !== count) unsupported('arity');
  return params.map((p) => lambda(compileNode(p)));
}

/** A String/Integer argument, evaluated like makeParam (on $this) and reduced with misc.singleton. */
function scalarParam(p: AstNode, type: 'String' | 'Integer'): Scalar {
  const fn = operand(compileNode(p));
  return (input, ctx) => singleton(fn(input, ctx), type);
}

function stringFn(params: AstNode[], count: number, f: (s: string, args: unknown[]) => unknown): Fn {
  if (params.length !== count) unsupported('arity');
  const args = params.map((p) => scalarParam(p, 'String'));
  return (input, ctx) => {
    const values = args.map((a) => a(input, ctx));
    const str = singleton(input, 'String');
    if (str === EMPTY || values.some((v) => v === EMPTY)) return EMPTY;
    return one(f(str as string, values));
  };
}

/** utilities.escapeStringForRegExp */
function escapeRegExp(str: string): string {
  return str.replace(/[-[\]{}()*+?.,\\/^$|#\s]/g, '\\$&');
}

function typeParam(params: AstNode[]): TypeName {
  if (params.length !== 1) unsupported('arity');
  const type = parseTypeSpecifier(params[0].text ?? '');
  if (!type) unsupported('type');
  return type;
}

/** A regex argument: compiled once per pattern, and only when there is a string to test, like fhirpath.js. */
function regexParam(p: AstNode, flags: string): { source: Scalar; compile: (source: string) => RegExp } {
  const cache = new Map<string, RegExp | Error>();
  return {
    source: scalarParam(p, 'String'),
    compile(source) {
      let re = cache.get(source);
      if (!re) {
        try {
          re = fhirPathRegExp(source, flags);
        } catch (error) {
          re = error as Error;
        }
        cache.set(source, re);
      }
      if (re instanceof Error) throw re;
      re.lastIndex = 0;
      return re;
    },
  };
}

function boolAggregate(test: (b: boolean) => boolean, stopOn: boolean, empty: boolean): Builder {
  return noParams((coll) => {
    let result = empty;
    for (const item of coll) {
      const v = valData(item);
      if (typeof v !== 'boolean') throw new Error('Found type but was expecting boolean');
      result = test(v);
      if (result === stopOn) break;
    }
    return [result];
  });
}

function combining(params: AstNode[], f: (a: Coll, b: Coll) => Coll): Fn {
  if (params.length !== 1) unsupported('arity');
  const other = operand(compileNode(params[0]));
  return (input, ctx) => f(input, other(input, ctx));
}

const FUNCTIONS: Record<string, Builder> = {
  empty: noParams((coll) => [coll.length === 0]),
  exists: (params) => {
    if (params.length === 0) return (coll) => [coll.length > 0];
    const where = FUNCTIONS.where(params);
    return (coll, ctx) => [where(coll, ctx).length > 0];
  },
  not: noParams((coll) => {
    const d = singleton(coll, 'Boolean');
    return typeof d === 'boolean' ? [!d] : EMPTY;
  }),
  count: noParams((coll) => [coll.length]),
  hasValue: noParams((coll) => [coll.length === 1 && valData(coll[0]) != null && isPrimitiveValue(coll[0])]),
  first: noParams((coll) => (coll.length ? [coll[0]] : EMPTY)),
  last: noParams((coll) => (coll.length ? [coll[coll.length - 1]] : EMPTY)),
  tail: noParams((coll) => coll.slice(1)),
  distinct: noParams((coll) => distinct(coll)),
  isDistinct: noParams((coll) => [coll.length === distinct(coll).length]),
  allTrue: boolAggregate((b) => b === true, false, true),
  anyTrue: boolAggregate((b) => b === true, true, false),
  allFalse: boolAggregate((b) => b === false, false, true),
  anyFalse: boolAggregate((b) => b === false, true, false),
  children: noParams((coll) => {
    const out: Coll = [];
    for (const item of coll) pushAllChildren(out, item);
    return out;
  }),
  descendants: noParams((coll) => {
    const out: Coll = [];
    let level = coll;
    for (;;) {
      const next: Coll = [];
      for (const item of level) pushAllChildren(next, item);
      if (next.length === 0) return out;
      for (const item of next) out.push(item);
      level = next;
    }
  }),
  where: (params) => {
    const [cond] = lambdaParam(params, 1);
    return (coll, ctx) => {
      const out: Coll = [];
      for (let i = 0; i < coll.length; i++) {
        ctx.index = i;
        const first = cond([coll[i]], ctx)[0];
        // fhirpath.js keeps an item when the first result is truthy; its numbers are objects (always truthy).
        if (typeof first === 'number') bail();
        if (first) out.push(coll[i]);
      }
      return out;
    };
  },
  select: (params) => {
    const [expr] = lambdaParam(params, 1);
    return (coll, ctx) => {
      const out: Coll = [];
      for (let i = 0; i < coll.length; i++) {
        ctx.index = i;
        for (const r of expr([coll[i]], ctx)) out.push(r);
      }
      return out;
    };
  },
  all: (params) => {
    const [expr] = lambdaParam(params, 1);
    return (coll, ctx) => {
      for (let i = 0; i < coll.length; i++) {
        ctx.index = i;
        if (!isTrue(expr([coll[i]], ctx))) return [false];
      }
      return [true];
    };
  },
  iif: (params) => {
    if (params.length !== 2 && params.length !== 3) unsupported('arity');
    const [cond, ok, fail] = params.map((p) => lambda(compileNode(p)));
    return (coll, ctx) => (isTrue(cond(coll, ctx)) ? ok(coll, ctx) : fail ? fail(coll, ctx) : EMPTY);
  },
  trace: (params) => {
    if (params.length !== 1 && params.length !== 2) unsupported('arity');
    const label = scalarParam(params[0], 'String');
    const projection = params[1] ? lambda(compileNode(params[1])) : undefined;
    return (coll, ctx) => {
      label(coll, ctx);
      projection?.(coll, ctx);
      return coll;
    };
  },
  ofType: (params) => {
    const type = typeParam(params);
    return (coll) => coll.filter((item) => typeConvertible(typeOf(item), type));
  },
  is: (params) => isOp((coll) => coll, typeParam(params)),
  as: (params) => asOp((coll) => coll, typeParam(params)),
  extension: (params) => {
    if (params.length !== 1) unsupported('arity');
    const url = scalarParam(params[0], 'String');
    return (coll, ctx) => {
      const u = url(coll, ctx);
      if (u === EMPTY || !u) return EMPTY;
      const out: Coll = [];
      for (let i = 0; i < coll.length; i++) {
        ctx.index = i;
        const node = toNode(coll[i]);
        const extensions = (node.v as { extension?: unknown } | null)?.extension || node.x?.extension;
        if (!extensions) continue;
        if (!Array.isArray(extensions)) throw new TypeError('extensions.reduce is not a function');
        for (const ext of extensions) {
          if ((ext as { url?: unknown }).url === u) out.push(new Node(ext, null, 'Extension', 'Extension'));
        }
      }
      return out;
    };
  },
  resolve: noParams((coll, ctx) => {
    const out: Coll = [];
    const resolver = ctx.env.resolve;
    if (!resolver) return out;
    for (const item of coll) {
      const v = valData(item);
      const reference = typeof v === 'string' ? v : (v as { reference?: unknown } | null)?.reference;
      if (typeof reference !== 'string') continue;
      const target = resolver(reference);
      if (target) out.push(new Node(target, null, null, null));
    }
    return out;
  }),
  startsWith: (p) => stringFn(p, 1, (s, [prefix]) => s.startsWith(prefix as string)),
  endsWith: (p) => stringFn(p, 1, (s, [suffix]) => s.endsWith(suffix as string)),
  contains: (p) => stringFn(p, 1, (s, [sub]) => s.includes(sub as string)),
  indexOf: (p) => stringFn(p, 1, (s, [sub]) => s.indexOf(sub as string)),
  upper: (p) => stringFn(p, 0, (s) => s.toUpperCase()),
  lower: (p) => stringFn(p, 0, (s) => s.toLowerCase()),
  length: (p) => stringFn(p, 0, (s) => s.length),
  replace: (p) => stringFn(p, 2, (s, [pattern, repl]) => s.replace(new RegExp(escapeRegExp(pattern as string), 'g'), repl as string)),
  matches: (params) => {
    if (params.length !== 1) unsupported('arity');
    const regex = regexParam(params[0], 'us');
    return (coll, ctx) => {
      const source = regex.source(coll, ctx);
      const str = singleton(coll, 'String');
      if (source === EMPTY || str === EMPTY) return EMPTY;
      return [regex.compile(source as string).test(str as string)];
    };
  },
  replaceMatches: (params) => {
    if (params.length !== 2) unsupported('arity');
    const regex = regexParam(params[0], 'gu');
    const repl = scalarParam(params[1], 'String');
    return (coll, ctx) => {
      const source = regex.source(coll, ctx);
      const r = repl(coll, ctx);
      const str = singleton(coll, 'String');
      if (source === EMPTY || r === EMPTY || str === EMPTY) return EMPTY;
      return [(str as string).replace(regex.compile(source as string), r as string)];
    };
  },
  substring: (params) => {
    if (params.length !== 1 && params.length !== 2) unsupported('arity');
    const [start, length] = params.map((p) => scalarParam(p, 'Integer'));
    return (coll, ctx) => {
      const s = start(coll, ctx);
      const l = length?.(coll, ctx);
      const str = singleton(coll, 'String');
      if (str === EMPTY || s === EMPTY) return EMPTY;
      const text = str as string;
      const from = s as number;
      if (from < 0 || from >= text.length) return EMPTY;
      return [l === undefined || l === EMPTY ? text.substring(from) : text.substring(from, from + (l as number))];
    };
  },
  toInteger: noParams((coll) => {
    if (coll.length > 1) throw new Error('toInteger: The input collection contains multiple items');
    if (coll.length === 0) return EMPTY;
    const v = valData(coll[0]);
    if (v === false) return [0];
    if (v === true) return [1];
    if (typeof v === 'number') return Number.isInteger(v) ? [v] : EMPTY;
    if (typeof v === 'string' && /^[+-]?\d+$/.test(v)) return [parseInt(v)];
    return EMPTY;
  }),
  toString: noParams((coll) => {
    if (coll.length > 1) throw new Error('toString: The input collection contains multiple items');
    if (coll.length === 0) return EMPTY;
    const v = converted(coll[0]);
    return v == null ? EMPTY : [String(v)];
  }),
  combine: (p) => combining(p, (a, b) => a.concat(b)),
  union: (p) => combining(p, (a, b) => distinct(a.concat(b))),
  intersect: (p) => combining(p, intersect),
  exclude: (p) => combining(p, exclude),
  subsetOf: (p) => combining(p, (a, b) => [subsetOf(a, b)]),
  supersetOf: (p) => combining(p, (a, b) => [subsetOf(b, a)]),
};

function invocation(functn: AstNode): Fn {
  const name = child(functn).text ?? '';
  const builder = Object.prototype.hasOwnProperty.call(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (!builder) unsupported(`function ${name}`);
  const params = functn.children?.[1]?.children ?? [];
  return builder(params);
}

// ---- entry point -------------------------------------------------------------------------------

/** compile()'s handling of `base`: content references followed, the type of the element looked up. */
export function baseInfo(base: string): { path: string; type: string | null } {
  let path = base.replace(/\[\d*]/g, '');
  const elsewhere = Object.keys(model.pathsDefinedElsewhere);
  for (;;) {
    const prefix = elsewhere.find((p) => path.startsWith(p));
    if (!prefix) break;
    path = model.pathsDefinedElsewhere[prefix] + path.substring(prefix.length);
  }
  path = model.pathsDefinedElsewhere[path] || path;
  const type = model.availableTypes.has(path) ? path : model.path2Type[path] ?? null;
  return { path: type === 'BackboneElement' || type === 'Element' ? path : type || path, type };
}

/** fhirpath.js evaluation, for the rare values compiled code leaves to it (dates, UCUM quantities) and expressions it declines. */
export function fallback(expression: string, base: string): (node: unknown, env: PathEnv) => unknown[] {
  let fn: ((data: unknown, vars: Record<string, unknown>) => unknown[]) | undefined;
  return (node, env) => {
    fn ??= fhirpathJs().compile({ base, expression }, r4ModelJs() as never, { userInvocationTable: fallbackInvocations as never, traceFn: () => {} }) as never;
    // fhirpath.js 5.2.2 wraps a number given as the base before it sets up the wrapping (ctx.getDecimal is not a
    // function): an invariant on a decimal or integer element is handed its value wrapped already.
    return fn(typeof node === 'number' ? nativeDecimal(node) : node, { resource: env.resource, rootResource: env.rootResource, [RESOLVER]: env.resolve, [CONFORMS]: env.conformsTo, [MEMBER_OF]: env.memberOf });
  };
}

const RESOLVER = '__fhirdqCompiledResolve';
const CONFORMS = '__fhirdqConformsTo';
const MEMBER_OF = '__fhirdqMemberOf';

/** resolve() for the fallback, returning typed nodes (fhirpath.js's ResourceNode) like the compiled resolve(). */
export const fallbackInvocations = {
  resolve: {
    internalStructures: true,
    fn(this: { processedVars?: Record<string, unknown>; vars?: Record<string, unknown> }, inputs: unknown[]) {
      const resolver = (this.vars ?? {})[RESOLVER] as PathEnv['resolve'];
      const out: unknown[] = [];
      for (const input of inputs) {
        const value = fhirpathJs().util.valData(input) as unknown;
        const reference = typeof value === 'string' ? value : (value as { reference?: unknown } | null)?.reference;
        if (typeof reference !== 'string' || !resolver) continue;
        const target = resolver(reference);
        if (target) out.push(new (resourceNodeClass())(this, target, null, null, null, null));
      }
      return out;
    },
  },
  // FHIRPath conformsTo(structure): a single input, checked by the validator against the profile.
  conformsTo: {
    internalStructures: true,
    fn(this: { vars?: Record<string, unknown> }, inputs: unknown[], url: string) {
      const conformsTo = (this.vars ?? {})[CONFORMS] as PathEnv['conformsTo'];
      if (!conformsTo) throw new Error('Not implemented: conformsTo');
      if (inputs.length === 0) return [];
      if (inputs.length > 1) throw new Error('conformsTo() needs a single input');
      return [conformsTo(fhirpathJs().util.valData(inputs[0]) as unknown, url)];
    },
    arity: { 1: ['String'] },
  },
  // FHIRPath memberOf(valueset), in place of fhirpath.js's, which asks a terminology server: the validator's own
  // terminology answers. As in the reference, empty unless there is a single input and the value set is known.
  memberOf: {
    internalStructures: true,
    fn(this: { vars?: Record<string, unknown> }, inputs: unknown[], url: string) {
      const memberOf = (this.vars ?? {})[MEMBER_OF] as MemberOf | undefined;
      if (!memberOf) throw new Error('Not implemented: memberOf');
      if (inputs.length !== 1) return [];
      const input = inputs[0] as { getTypeInfo?: () => { name?: string } } | null;
      const answer = memberOf(fhirpathJs().util.valData(input) as unknown, input?.getTypeInfo?.().name, url);
      return answer === undefined ? [] : [answer];
    },
    arity: { 1: ['String'] },
  },
};

let resourceNode: (new (...args: unknown[]) => unknown) | undefined;
let decimalClass: (new (value: number) => unknown) | undefined;

/** A number as fhirpath.js holds one (its FP_Decimal_Native, which it does not export; a literal evaluated hands one out). */
function nativeDecimal(value: number): unknown {
  decimalClass ??= (fhirpathJs().evaluate({}, '1.5', {}, r4ModelJs() as never, { resolveInternalTypes: false }) as object[])[0].constructor as new (value: number) => unknown;
  return new decimalClass(value);
}

// fhirpath.js does not export ResourceNode; an unresolved evaluation hands one out.
function resourceNodeClass(): new (...args: unknown[]) => unknown {
  resourceNode ??= (
    fhirpathJs().evaluate({ resourceType: 'Basic' }, '%context', {}, r4ModelJs() as never, { resolveInternalTypes: false }) as object[]
  )[0].constructor as new (...args: unknown[]) => unknown;
  return resourceNode;
}

/** FHIRPath result as fhirpath.js returns it: node values, empty values dropped. */
function output(result: Coll): unknown[] {
  let plain = true;
  for (const item of result) if (item instanceof Node || item == null) plain = false;
  if (plain) return result;
  const out: unknown[] = [];
  for (const item of result) {
    const v = valData(item);
    if (v != null) out.push(v);
  }
  return out;
}

/** Returns undefined when the expression uses something not supported: the caller then falls back to fhirpath.js. */
export function compileFhirPath(expression: string, basePath: string): CompiledPath | undefined {
  let body: Fn;
  try {
    body = compileNode(parseFhirPath(expression) as AstNode);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    return undefined; // a syntax error: fhirpath.js reports it
  }
  const base = baseInfo(basePath);
  const slow = fallback(expression, basePath);
  return (node, env) => {
    const root: Coll = [];
    if (Array.isArray(node)) for (const item of node) root.push(new Node(item, null, base.path, base.type));
    else if (node !== undefined && node !== null) root.push(new Node(node, null, base.path, base.type));
    try {
      return output(body(root, { root, self: undefined, index: undefined, env }));
    } catch (error) {
      if (error !== BAIL) throw error;
      bailouts++;
      return slow(node, env);
    }
  };
}

let bailouts = 0;

/** How many evaluations were handed to fhirpath.js at run time (for coverage measurements). */
export function bailoutCount(): number {
  return bailouts;
}
