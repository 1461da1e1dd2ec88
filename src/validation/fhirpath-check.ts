/**
 * A static check of a FHIRPath expression against the types it starts from, as the reference validator makes of a
 * profile's invariants and a SearchParameter's expression (FHIRPathEngine.check): the expression must parse, name
 * known functions, and each member step must name an element of some type its focus may have.
 *
 * Deliberately partial: wherever a type is not known statically (a resource-typed element, resolve(), children(),
 * %resource, arithmetic), the check stops following it rather than guess, so it reports only what is certainly wrong.
 * Written by hand: fhirpath.js has no static checker; the types come from its R4 model tables.
 */
import { type AstNode, BOOLEAN_OPERATOR_NODES } from './fhirpath-compiler.js';
import { parseFhirPath } from './fhirpath-js.js';
import { model } from './fhirpath/runtime.js';

/** Model type paths ('Patient', 'HumanName', 'Observation.component', 'System.String'), or ANY when not known. */
type Types = ReadonlySet<string> | typeof ANY;
const ANY = 'any';

const BOOLEAN: Types = new Set(['System.Boolean']);
const INTEGER: Types = new Set(['System.Integer']);
const STRING: Types = new Set(['System.String']);

class CheckError extends Error {}

/** Every type path the model has elements under: only on these can a member step be judged. */
let parents: Set<string> | undefined;
function knownParents(): Set<string> {
  if (!parents) {
    parents = new Set();
    for (const table of [model.path2Type, model.choiceTypePaths]) {
      for (const path in table) parents.add(path.slice(0, path.lastIndexOf('.')));
    }
  }
  return parents;
}

/** The type path a member step reaches: the element's type, or for a backbone element the element's own path. */
function navigable(path: string): string {
  return (model.path2TypeWithoutElements as Record<string, string | undefined>)[path] ?? path;
}

/** The type paths `name` reaches from one type path; none when the type has no such element. */
function memberOf(typePath: string, name: string): string[] {
  let path = `${typePath}.${name}`;
  path = (model.pathsDefinedElsewhere as Record<string, string | undefined>)[path] ?? path;
  if ((model.path2Type as Record<string, string | undefined>)[path] !== undefined) return [navigable(path)];
  const choices = (model.choiceTypePaths as Record<string, string[] | undefined>)[path];
  if (choices) return choices.map((t) => navigable(path + t));
  return [];
}

const LAMBDA_FUNCTIONS = new Set(['where', 'select', 'all', 'exists', 'repeat', 'repeatAll', 'aggregate', 'sort', 'iif', 'trace', 'defineVariable']);
const SAME_TYPE_FUNCTIONS = new Set(['where', 'first', 'last', 'tail', 'skip', 'take', 'single', 'distinct', 'intersect', 'exclude', 'trace', 'sort', 'item', 'defineVariable', 'check']);
const BOOLEAN_FUNCTIONS = new Set([
  'empty', 'not', 'exists', 'all', 'subsetOf', 'supersetOf', 'isDistinct', 'allTrue', 'anyTrue', 'allFalse', 'anyFalse', 'hasValue', 'is',
  'startsWith', 'endsWith', 'matches', 'matchesFull', 'contains', 'memberOf', 'conformsTo', 'htmlChecks', 'htmlChecks1', 'htmlChecks2', 'comparable',
  'hasTemplateIdOf', 'convertsToBoolean', 'convertsToInteger', 'convertsToString', 'convertsToDecimal', 'convertsToQuantity', 'convertsToDateTime',
  'convertsToDate', 'convertsToTime', 'toBoolean', 'checkModifiers',
]);
const INTEGER_FUNCTIONS = new Set(['count', 'length', 'indexOf', 'lastIndexOf', 'toInteger', 'precision']);
const STRING_FUNCTIONS = new Set(['toString', 'upper', 'lower', 'substring', 'replace', 'replaceMatches', 'join', 'trim', 'encode', 'decode', 'escape', 'unescape', 'toChars', 'split']);
/** Known to the reference's engine, with a result this check does not follow. */
const OTHER_FUNCTIONS = [
  'union', 'combine', 'repeat', 'repeatAll', 'aggregate', 'select', 'iif', 'children', 'descendants', 'resolve', 'extension', 'ofType', 'as', 'type',
  'today', 'now', 'timeOfDay', 'toDecimal', 'toQuantity', 'toDateTime', 'toDate', 'toTime', 'round', 'sqrt', 'abs', 'ceiling', 'exp', 'floor', 'ln',
  'log', 'power', 'truncate', 'lowBoundary', 'highBoundary', 'sum', 'min', 'max', 'avg', 'getValue', 'elementDefinition', 'slice', 'aliasAs', 'alias',
  'yearOf', 'monthOf', 'dayOf', 'hourOf', 'minuteOf', 'secondOf', 'millisecondOf', 'timezoneOffsetOf', 'dateOf', 'timeOf', 'duration', 'difference',
  'coalesce', 'getResourceKey', 'getReferenceKey', 'hasExtension', 'getExtension', 'ordinal', 'sort',
];
const KNOWN_FUNCTIONS = new Set([...SAME_TYPE_FUNCTIONS, ...BOOLEAN_FUNCTIONS, ...INTEGER_FUNCTIONS, ...STRING_FUNCTIONS, ...OTHER_FUNCTIONS]);

const SYSTEM_LITERALS: Record<string, string> = {
  StringLiteral: 'System.String', NumberLiteral: 'System.Decimal', BooleanLiteral: 'System.Boolean', DateTimeLiteral: 'System.DateTime',
  DateLiteral: 'System.Date', TimeLiteral: 'System.Time', QuantityLiteral: 'System.Quantity',
};

function describe(types: ReadonlySet<string>): string {
  return `[${[...types].join(', ')}]`;
}

/** A type specifier (`Quantity`, `FHIR.string`, `System.Integer`) as a type path, or ANY when the model does not know it. */
function typeNamed(text: string): Types {
  const name = text.startsWith('FHIR.') ? text.slice(5) : text;
  if (name.startsWith('System.')) return new Set([name]);
  return knownParents().has(name) && !name.includes('.') ? new Set([name]) : ANY;
}

/** The type a name at the start of a path selects when it names the focus's type or one it derives from. */
function typeNameMatch(focus: ReadonlySet<string>, name: string): Set<string> {
  const matched = new Set<string>();
  for (const t of focus) {
    for (let type: string | undefined = t; type !== undefined; type = (model.type2Parent as Record<string, string | undefined>)[type]) {
      if (type === name) matched.add(t);
    }
  }
  return matched;
}

interface Scope {
  /** $this: what a name at the start of an expression or argument is looked up on. */
  self: Types;
  /** %context: what the whole expression starts from. */
  context: Types;
}

function children(n: AstNode): AstNode[] {
  return n.children ?? [];
}

function check(n: AstNode, scope: Scope): Types {
  switch (n.type) {
    case 'EntireExpression':
    case 'TermExpression':
    case 'InvocationTerm':
    case 'ParenthesizedTerm':
      return check(children(n)[0]!, scope);
    case 'LiteralTerm': {
      const literal = children(n)[0];
      return literal && SYSTEM_LITERALS[literal.type] ? new Set([SYSTEM_LITERALS[literal.type]!]) : ANY;
    }
    case 'InvocationExpression': {
      const [left, right] = children(n);
      return invoke(check(left!, scope), right!, scope);
    }
    case 'MemberInvocation':
    case 'FunctionInvocation':
      // At the start of an expression or argument: applied to $this.
      return invoke(scope.self, n, scope, true);
    case 'ThisInvocation':
      return scope.self;
    case 'IndexInvocation':
      return INTEGER;
    case 'ExternalConstantTerm': {
      const name = n.text?.replace(/^[`']|[`']$/g, '');
      if (name === 'context') return scope.context;
      return name === 'resource' || name === 'rootResource' || name === 'ucum' || name === 'sct' || name === 'loinc' ? (name.endsWith('esource') ? ANY : STRING) : ANY;
    }
    case 'IndexerExpression': {
      const [collection, index] = children(n);
      check(index!, scope);
      return check(collection!, scope);
    }
    case 'PolarityExpression':
      return check(children(n)[0]!, scope);
    case 'TypeExpression': {
      const [operand, specifier] = children(n);
      check(operand!, scope);
      return n.text === 'is' ? BOOLEAN : typeNamed(specifierText(specifier));
    }
    case 'UnionExpression': {
      const [a, b] = children(n).map((c) => check(c, scope));
      return a === ANY || b === ANY ? ANY : new Set([...a!, ...b!]);
    }
    default:
      for (const c of children(n)) check(c, scope);
      return BOOLEAN_OPERATOR_NODES.has(n.type) ? BOOLEAN : ANY;
  }
}

function specifierText(specifier: AstNode | undefined): string {
  if (!specifier) return '';
  if (specifier.text) return specifier.text;
  return children(specifier).map(specifierText).join('.');
}

/** A member step or function call applied to a focus. */
function invoke(focus: Types, n: AstNode, scope: Scope, atStart = false): Types {
  if (n.type === 'MemberInvocation') {
    const name = children(n)[0]?.text?.replace(/^`|`$/g, '') ?? n.text ?? '';
    if (focus === ANY) return ANY;
    if (atStart && /^[A-Z]/.test(name)) {
      const matched = typeNameMatch(focus, name);
      if (matched.size > 0) return matched;
    }
    const reached = new Set<string>();
    for (const t of focus) {
      // Below a primitive value or a resource of any type, nothing is known here.
      if (t.startsWith('System.') || t === 'Resource' || t === 'DomainResource' || !knownParents().has(t)) return ANY;
      for (const r of memberOf(t, name)) reached.add(r);
    }
    if (reached.size === 0) throw new CheckError(`The name ${name} is not valid for any of the possible types: ${describe(focus)}`);
    return reached;
  }
  if (n.type !== 'FunctionInvocation') return check(n, scope);
  const call = children(n)[0]!;
  const name = children(call)[0]?.text ?? call.text ?? '';
  const params = children(children(call)[1] ?? { type: 'ParamList' });
  if (!KNOWN_FUNCTIONS.has(name)) throw new CheckError(`The name ${name} is not a valid function name`);
  // Criteria and projections are evaluated on each item of the focus; other arguments are not followed.
  const argumentScope: Scope = LAMBDA_FUNCTIONS.has(name) ? { self: focus, context: scope.context } : { self: ANY, context: scope.context };
  const args = params.map((p) => check(p, argumentScope));
  if (name === 'ofType' || name === 'as') return typeNamed(specifierText(params[0]));
  if (name === 'select') return args[0] ?? ANY;
  if (name === 'extension') return new Set(['Extension']);
  if (name === 'iif') return args[1] === ANY || args[2] === ANY || !args[1] ? ANY : new Set([...args[1], ...(args[2] ?? [])]);
  if (SAME_TYPE_FUNCTIONS.has(name)) return focus;
  if (BOOLEAN_FUNCTIONS.has(name)) return BOOLEAN;
  if (INTEGER_FUNCTIONS.has(name)) return INTEGER;
  if (STRING_FUNCTIONS.has(name)) return STRING;
  return ANY;
}

/**
 * The model type path of an element named by its path ('Patient', 'Patient.name' → 'HumanName',
 * 'Observation.component'), or undefined when the model does not know it.
 */
export function typeOfElementPath(path: string): string | undefined {
  let type = elementPathTypes.get(path);
  if (type === undefined && !elementPathTypes.has(path)) {
    type = elementPathType(path);
    if (elementPathTypes.size >= MAX_ANSWERS) elementPathTypes.clear();
    elementPathTypes.set(path, type);
  }
  return type;
}

const elementPathTypes = new Map<string, string | undefined>();

function elementPathType(path: string): string | undefined {
  const dot = path.indexOf('.');
  if (dot < 0) return knownParents().has(path) ? path : undefined;
  let type: string | undefined = path.slice(0, dot);
  for (const name of path.slice(dot + 1).split('.')) {
    if (type === undefined || !knownParents().has(type)) return undefined;
    const reached: string[] = memberOf(type, name.replace(/\[x\]$/, ''));
    type = reached.length === 1 ? reached[0] : undefined;
  }
  return type;
}

/**
 * Why the expression cannot be right on the given starting types (model type paths such as 'Patient',
 * 'Observation.component' or 'Quantity'), or undefined. Starting types the model does not know are not judged.
 */
export function fhirPathTypeError(expression: string, startTypes: readonly string[]): string | undefined {
  // The same definitions are validated again and again (every copy of a profile in a batch): answers are remembered.
  const key = `${startTypes.join('|')}\u0000${expression}`;
  if (answers.has(key)) return answers.get(key);
  const answer = typeError(expression, startTypes);
  if (answers.size >= MAX_ANSWERS) answers.clear();
  answers.set(key, answer);
  return answer;
}

const answers = new Map<string, string | undefined>();
const MAX_ANSWERS = 10_000;

function typeError(expression: string, startTypes: readonly string[]): string | undefined {
  let tree: AstNode;
  try {
    tree = parseFhirPath(expression) as AstNode;
  } catch (error) {
    return `The expression does not parse: ${(error as Error).message}`;
  }
  const known = startTypes.filter((t) => t.startsWith('System.') || knownParents().has(t));
  const start: Types = known.length > 0 && known.length === startTypes.length ? new Set(known) : ANY;
  try {
    check(tree, { self: start, context: start });
    return undefined;
  } catch (error) {
    if (error instanceof CheckError) return error.message;
    throw error;
  }
}
