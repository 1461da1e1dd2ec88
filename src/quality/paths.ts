/** FHIRPath expressions of rule packs, compiled once; plain dotted paths take a fast walker. */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { splitOutside } from '../formats/fhirpath-text.js';

export type Evaluate = (resource: unknown) => unknown[];

const cache = new Map<string, Evaluate>();

/**
 * Compiles an expression (cached by text). A small subset — paths, where(criterion in this subset),
 * exists(), empty(), first(), `= 'text'`, `|` and `or` — is evaluated by hand: the same results as fhirpath.js with the R4 model
 * (arrays flattened, `value` finds `valueDateTime`), several times faster, which matters at one evaluation
 * per element per resource. Anything else goes to fhirpath.js. Throws on a syntax error.
 */
export function compileExpression(expression: string): Evaluate {
  let fn = cache.get(expression);
  if (fn) return fn;
  fn = fastExpression(expression.trim());
  if (!fn) {
    const compiled = fhirpath.compile(expression, r4Model);
    fn = (resource) => compiled(resource as object) as unknown[];
  }
  cache.set(expression, fn);
  return fn;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^'([^'\\]*)'$/;


function fastExpression(text: string): Evaluate | undefined {
  const ors = splitOutside(text, ' or ');
  if (ors.length > 1) {
    const fns = ors.map(fastExpression);
    if (fns.some((f) => !f)) return undefined;
    return (r) => {
      let empty = false;
      for (const f of fns) {
        const v = f!(r);
        if (v.length === 1 && v[0] === true) return [true];
        if (!v.length) empty = true;
      }
      return empty ? [] : [false];
    };
  }
  const unions = splitOutside(text, ' | ');
  if (unions.length > 1) {
    const fns = unions.map(fastExpression);
    if (fns.some((f) => !f)) return undefined;
    return (r) => {
      const out: unknown[] = [];
      for (const f of fns) for (const v of f!(r)) if (typeof v === 'object' || !out.includes(v)) out.push(v);
      return out;
    };
  }
  const eq = splitOutside(text, ' = ');
  if (eq.length === 2) {
    const left = fastPath(eq[0]);
    const lit = LITERAL.exec(eq[1]);
    if (!left || !lit) return undefined;
    return (r) => {
      const v = left(r);
      return v.length === 1 ? [v[0] === lit[1]] : [];
    };
  }
  return eq.length === 1 ? fastPath(text) : undefined;
}

type Step = (nodes: unknown[]) => unknown[];
type StepSpec = { name: string } | { fn: Step };

const model = r4Model as unknown as {
  choiceTypePaths: Record<string, string[]>;
  path2Type: Record<string, string>;
  type2Parent: Record<string, string>;
  pathsDefinedElsewhere: Record<string, string>;
};

function fastPath(text: string): Evaluate | undefined {
  const specs: StepSpec[] = [];
  for (const part of splitOutside(text, '.')) {
    if (NAME.test(part)) specs.push({ name: part });
    else if (part === 'exists()') specs.push({ fn: (nodes) => [nodes.length > 0] });
    else if (part === 'first()') specs.push({ fn: (nodes) => nodes.slice(0, 1) });
    else if (part === 'empty()') specs.push({ fn: (nodes) => [nodes.length === 0] });
    else {
      const m = /^where\((.+)\)$/.exec(part);
      const criterion = m ? fastExpression(m[1].trim()) : undefined;
      if (!criterion) return undefined;
      // A node stays when the criterion, evaluated on it, is true (empty or false drops it).
      specs.push({
        fn: (nodes) =>
          nodes.filter((n) => {
            if (n === null || typeof n !== 'object') return false;
            const v = criterion(n);
            return v.length === 1 && v[0] === true;
          }),
      });
    }
  }
  // Choice elements depend on where a name is: resolved with the R4 model once per root resource type.
  const byType = new Map<string, Step[]>();
  return (resource) => {
    const type = (resource as { resourceType?: string }).resourceType ?? '';
    let steps = byType.get(type);
    if (!steps) byType.set(type, (steps = resolveSteps(type, specs)));
    let current: unknown[] = [resource];
    for (const step of steps) current = step(current);
    return current;
  };
}

/** Path of `name` under a type path (searching the base types), or undefined when the model does not know it. */
function lookup(typePath: string, name: string): string | undefined {
  for (let t: string | undefined = typePath; t; t = t.includes('.') ? undefined : model.type2Parent[t]) {
    const p = `${t}.${name}`;
    if (p in model.path2Type || p in model.choiceTypePaths) return p;
  }
  return undefined;
}

function resolveSteps(resourceType: string, specs: StepSpec[]): Step[] {
  let typePath: string | undefined = resourceType || undefined;
  return specs.map((spec) => {
    if ('fn' in spec) return spec.fn;
    const p = typePath ? lookup(typePath, spec.name) : undefined;
    const choices = p ? model.choiceTypePaths[p]?.map((t) => spec.name + t) : undefined;
    if (!p || choices) typePath = undefined;
    else {
      const t = model.path2Type[p];
      typePath = t === 'BackboneElement' || t === 'Element' ? (model.pathsDefinedElsewhere[p] ?? p) : t;
    }
    return child(spec.name, choices);
  });
}

function child(name: string, choices: string[] | undefined): Step {
  return (nodes) => {
    const next: unknown[] = [];
    for (const node of nodes) {
      if (node === null || typeof node !== 'object') continue;
      const obj = node as Record<string, unknown>;
      let v = obj[name];
      if (v === undefined && choices) for (const key of choices) if ((v = obj[key]) !== undefined) break;
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) {
        for (const x of v) if (x !== null && x !== undefined) next.push(x);
      } else next.push(v);
    }
    return next;
  };
}

/** Non-empty and not a lone `false` (so `x.exists()` and plain paths both work as "filled"). */
export function isFilled(result: unknown[]): boolean {
  return result.length > 0 && !(result.length === 1 && result[0] === false);
}

/** The first result as a string (dates, codes), or undefined. */
export function firstString(result: unknown[]): string | undefined {
  for (const v of result) {
    if (typeof v === 'string') return v;
    // fhirpath returns FP_DateTime objects for some date expressions; they print as ISO text.
    if (v && typeof v === 'object' && typeof (v as { toString(): string }).toString === 'function' && 'asStr' in (v as object)) return String(v);
  }
  return undefined;
}
