import { describe, expect, it } from 'vitest';
import { generateInvariant, generateInvariantSource } from '../../src/validation/fhirpath-codegen.js';
import { compileFhirPath, type PathEnv } from '../../src/validation/fhirpath-compiler.js';
import { coreInvariants, corpusResources, edgeCases, type Evaluation, evaluations, handoverCases, itDeclines, nationalEvaluations } from './corpus.js';

/** pass, fail, or the message of an evaluation error. */
type Verdict = 'pass' | 'fail' | `error: ${string}`;

/** Invariants that invariants.ts runs as plain code (on every element: generating them is not the point). */
const NATIVE = /^(ele-1|ext-1|dom-[2-6]|ref-1|per-1|txt-[12])$/;

/** compileFhirPath's verdict (which compiler.test.ts holds equal to fhirpath.js's). */
function closureVerdict(e: { expression: string; basePath: string }, node: unknown, env: PathEnv): Verdict {
  const fn = compileFhirPath(e.expression, e.basePath)!;
  try {
    const r = fn(node, env);
    return r.length === 0 || (r.length === 1 && r[0] === true) ? 'pass' : 'fail';
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

/** The generated verdict, or undefined for a hand-over. */
function generatedVerdict(e: Evaluation): Verdict | undefined {
  const ours = viaGenerator(e)!(e.node, e.resource);
  if (ours === undefined) return undefined;
  return ours === true ? 'pass' : ours === false ? 'fail' : `error: ${ours.evaluationError}`;
}

interface Comparison {
  mismatches: string[];
  compared: number;
  handedOver: number;
  /** invariant key → the verdicts generated code gave */
  verdicts: Map<string, Set<string>>;
}

/** Runs every generated invariant of `evals` and compares it with compileFhirPath. */
function compare(evals: Evaluation[]): Comparison {
  const out: Comparison = { mismatches: [], compared: 0, handedOver: 0, verdicts: new Map() };
  for (const e of evals) {
    if (!viaGenerator(e)) continue;
    const mine = generatedVerdict(e);
    if (mine === undefined) {
      out.handedOver++;
      continue;
    }
    out.compared++;
    const theirs = closureVerdict(e, e.node, { resource: e.resource, rootResource: e.rootResource, resolve: e.resolve });
    const kind = mine.startsWith('error') ? 'error' : mine;
    out.verdicts.set(e.key, (out.verdicts.get(e.key) ?? new Set<string>()).add(kind));
    if (mine !== theirs && out.mismatches.length < 10) out.mismatches.push(`${e.key} @${e.basePath}: ${mine} vs ${theirs} on ${JSON.stringify(e.node).slice(0, 200)}`);
  }
  return out;
}

const generated = new Map<string, ReturnType<typeof generateInvariant>>();
function viaGenerator(e: { expression: string; basePath: string }): ReturnType<typeof generateInvariant> {
  const key = `${e.basePath}\u0000${e.expression}`;
  if (!generated.has(key)) generated.set(key, generateInvariant(e.expression, e.basePath));
  return generated.get(key);
}

describe('generated invariants against compileFhirPath on the R4 core invariants', () => {
  const invariants = coreInvariants();
  const evals: Evaluation[] = evaluations([...corpusResources(), ...edgeCases(), ...handoverCases()], invariants);

  it('generates most core invariants that have no native implementation', () => {
    let total = 0;
    let accepted = 0;
    const keys = new Set<string>();
    for (const [basePath, list] of invariants) {
      for (const inv of list) {
        if (NATIVE.test(inv.key)) continue;
        total++;
        if (viaGenerator({ ...inv, basePath })) {
          accepted++;
          keys.add(inv.key);
        }
      }
    }
    expect(total).toBeGreaterThan(230);
    expect(accepted / total).toBeGreaterThan(0.93);
    // children(), descendants(), intersect, loop-invariant values
    for (const key of ['sdf-9', 'csd-1', 'que-2', 'obs-7', 'sdf-8a', 'sdf-16', 'sdf-1', 'bdl-3']) expect(keys).toContain(key);
  });

  it('gives the verdict of compileFhirPath on every node of the corpus, or hands over', () => {
    const { mismatches, compared, handedOver, verdicts } = compare(evals);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(42_000);
    // Hand-overs are for rare shapes: the corpus has few of them.
    expect(handedOver / compared).toBeLessThan(0.02);
    expect(verdicts.size).toBeGreaterThan(135);
    expect([...verdicts.values()].filter((v) => v.has('fail')).length).toBeGreaterThan(35);
    // eld-16/19/20: patterns in Java's reading, translated for the u flag
    for (const key of ['eld-16', 'eld-19', 'eld-20']) expect(verdicts.get(key)).toEqual(new Set(['pass']));
  });
});

describe('generated invariants against compileFhirPath on the national profiles', async () => {
  const recorded = (await nationalEvaluations()).filter((e) => !NATIVE.test(e.key));
  // The examples pass their invariants: variants of a few foci per invariant, each without one property, make them fail too.
  const variants: Evaluation[] = [];
  const seen = new Map<string, number>();
  for (const e of recorded) {
    const key = `${e.key} ${e.basePath}`;
    const n = seen.get(key) ?? 0;
    if (n >= 5 || typeof e.node !== 'object' || e.node === null || Array.isArray(e.node)) continue;
    seen.set(key, n + 1);
    for (const drop of Object.keys(e.node)) {
      const { [drop]: _, ...node } = e.node as Record<string, unknown>;
      variants.push({ ...e, node });
    }
  }
  const evals = [...recorded, ...variants];

  it('gives the verdict of compileFhirPath on every focus of the national examples, or hands over', () => {
    const { mismatches, compared, verdicts } = compare(evals);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(3000);
    // hand-overs are for shapes the examples do not have (the variants do: a `_family` without its `family`)
    const asRecorded = compare(recorded);
    expect(asRecorded.handedOver / asRecorded.compared).toBeLessThan(0.01);
    expect(verdicts.size).toBeGreaterThan(60);
    expect([...verdicts.values()].filter((v) => v.has('fail')).length).toBeGreaterThan(15);
  });

  it('generates most evaluations, profile invariants included', () => {
    const generatedCount = recorded.filter((e) => viaGenerator(e)).length;
    const profileKeys = new Set(recorded.filter((e) => viaGenerator(e) && /^(zib|nl-core|ACP|PZP|mp9)/i.test(e.key)).map((e) => e.key));
    expect(generatedCount / recorded.length).toBeGreaterThan(0.93);
    expect(profileKeys.size).toBeGreaterThan(10);
  });
});

describe('generated invariant semantics', () => {
  const run = (expression: string, base: string, node: unknown, resource: unknown = node) => {
    const fn = generateInvariant(expression, base);
    if (!fn) throw new Error(`not generated: ${expression}`);
    return fn(node, resource);
  };

  it('works on the raw JSON with three-valued logic', () => {
    expect(run('code.empty() or system.exists()', 'Quantity', { code: 'mg' })).toBe(false);
    expect(run('code.empty() or system.exists()', 'Quantity', { code: 'mg', system: 's' })).toBe(true);
    expect(run("type = 'document' implies identifier.exists()", 'Bundle', { resourceType: 'Bundle', type: 'document' })).toBe(false);
    expect(run("type = 'document' implies identifier.exists()", 'Bundle', { resourceType: 'Bundle' })).toBe(true);
    expect(run('(identifier.count() + name.count()) > 0', 'Organization', { resourceType: 'Organization', name: 'x' })).toBe(true);
    expect(run("type in ('a' | 'b') or maxLength.empty()", 'Questionnaire.item', { type: 'c', maxLength: 3 })).toBe(false);
  });

  it('keeps member steps compact: one object inline, everything else in the step helper, with the same answers', () => {
    const source = generateInvariantSource("type = 'message' implies entry.first().resource.is(MessageHeader)", 'Bundle')!.source;
    expect(source).toContain('nodeRt === "Bundle" ? node["type"] : step(node, "type", "_type", "Bundle")');
    expect(source).not.toContain('Array.isArray(node)');
    const e = 'code.empty() or system.exists()';
    // several focus items (step's many), a wrong resourceType (hand-over), a companion of an absent value on either path
    expect(run(e, 'Quantity', [{ code: 'mg', system: 's' }, { system: 's' }])).toBe(true);
    expect(run(e, 'Quantity', [{ code: 'mg' }])).toBe(false);
    expect(run(e, 'Quantity', { resourceType: 'Patient', code: 'mg' })).toBeUndefined();
    expect(run(e, 'Quantity', [{ _code: { id: 'x' } }])).toBeUndefined();
    expect(run(e, 'Quantity', { _system: { id: 'x' }, code: 'mg' })).toBeUndefined();
    expect(run(e, 'Quantity', null)).toBe(true);
  });

  it('hands over where the answer depends on what the static types do not settle', () => {
    // an absent primitive with an extension in its `_x` companion is a node
    expect(run('code.empty() or system.exists()', 'Quantity', { _code: { extension: [] } })).toBeUndefined();
    // several values where a singleton is expected: an evaluation error for the closure tier to report
    expect(run("value.startsWith('x')", 'ContactPoint', { value: ['x', 'y'] })).toBeUndefined();
    // a number where a member step happens, and a resource where a datatype is expected
    expect(run('code.empty() or system.exists()', 'Quantity', 3)).toBeUndefined();
    expect(run('low.code.empty()', 'Range', { low: 3 })).toBeUndefined();
    expect(run('code.empty() or system.exists()', 'Quantity', { resourceType: 'Quantity', code: 'x' })).toBeUndefined();
    // a choice element whose variant has a companion
    expect(run('value.empty()', 'Observation', { resourceType: 'Observation', _valueString: { id: 'x' } })).toBeUndefined();
    expect(run('value.empty()', 'Observation', { resourceType: 'Observation', valueString: 'x' })).toBe(false);
  });

  it('reports an evaluation error the closure tier certainly raises, with its message, without throwing', () => {
    const expression = "path.matches('[^\\s]{1,64}(')";
    const result = run(expression, 'ElementDefinition', { path: 'Patient.name' });
    expect(result).toEqual({ ok: false, evaluationError: closureVerdict({ expression, basePath: 'ElementDefinition' }, { path: 'Patient.name' }, { resource: undefined, rootResource: undefined }).slice(7) });
    expect(typeof result === 'object' && result.evaluationError).toMatch(/Invalid regular expression/);
    // no string to test: no error
    expect(run(expression, 'ElementDefinition', {})).toBe(true);
    // several strings: the singleton check comes first, in the closure tier
    expect(run(expression, 'ElementDefinition', { path: ['a', 'b'] })).toBeUndefined();
  });

  it('reads extensions of primitives from their companions, and extension(url) of objects', () => {
    const own = 'http://hl7.org/fhir/StructureDefinition/humanname-own-prefix';
    const name = { family: 'Vries', _family: { extension: [{ url: own, valueString: 'de' }] } };
    expect(run(`family.extension('${own}').exists()`, 'HumanName', name)).toBe(true);
    expect(run(`family.extension('${own}').exists()`, 'HumanName', { family: 'Vries' })).toBe(false);
    expect(run(`given.extension.where(url = '${own}').exists()`, 'HumanName', { given: ['a', 'b'], _given: [null, { extension: [{ url: own }] }] })).toBe(true);
    // at a primitive base path the focus is the bare value: it has no extensions
    expect(run(`extension('${own}').exists()`, 'HumanName.family', 'Vries')).toBe(false);
    expect(run(`extension('${own}').empty()`, 'Patient', { resourceType: 'Patient', extension: [{ url: own }] })).toBe(false);
    // a single extension object instead of an array: the closure tier raises a TypeError
    expect(run(`extension('${own}').empty()`, 'Patient', { resourceType: 'Patient', extension: { url: own } })).toBeUndefined();
  });

  it('unions object slots with deep equality, and concatenates strings', () => {
    const sd = (snapshot: unknown, differential: unknown) => ({ resourceType: 'StructureDefinition', snapshot, differential });
    const e = '(snapshot | differential).element.count() = 2';
    expect(run(e, 'StructureDefinition', sd({ element: [{ path: 'A' }] }, { element: [{ path: 'A' }] }))).toBe(false);
    expect(run(e, 'StructureDefinition', sd({ element: [{ path: 'A' }] }, { element: [{ path: 'B' }] }))).toBe(true);
    expect(run("(id & '.' & url) = 'a.'", 'StructureDefinition', { resourceType: 'StructureDefinition', id: 'a' })).toBe(true);
    expect(run('element.tail().count() = 1', 'StructureDefinition.snapshot', { element: [{ path: 'A' }, { path: 'A.b' }] })).toBe(true);
  });

  /** The generated verdict equals the closure tier's; returns that verdict. */
  const same = (expression: string, base: string, node: unknown) => {
    const theirs = closureVerdict({ expression, basePath: base }, node, { resource: node, rootResource: node });
    expect([run(expression, base, node), theirs]).toEqual([theirs === 'pass', theirs]);
    return theirs;
  };

  it('skips the right operand of a decided or/and/implies (as the reference validator does)', () => {
    // the right operand's companion would hand over, but the left operand decides
    const companion = { _system: { id: 'x' } };
    expect(same('code.empty() or system.exists()', 'Quantity', companion)).toBe('pass');
    expect(same('code.exists() and system.exists()', 'Quantity', companion)).toBe('fail');
    expect(same('code.exists() implies (system.exists() or unit.empty())', 'Quantity', companion)).toBe('pass');
    expect(same('code.empty() or system.exists().not()', 'Quantity', companion)).toBe('pass');
    expect(same('code.empty() or (system.count() <= 1)', 'Quantity', companion)).toBe('pass');
    expect(same('code.exists() implies system.hasValue()', 'Quantity', companion)).toBe('pass');
    // undecided: the right operand is read, companion and all
    expect(run('code.exists() or system.exists()', 'Quantity', companion)).toBeUndefined();
    // a right operand that would raise an error (several values where one is expected) is skipped too, in both tiers
    const several = { value: ['x', 'y'] };
    expect(same("system.empty() or value.startsWith('x')", 'ContactPoint', several)).toBe('pass');
    expect(same("system.exists() and value.startsWith('x')", 'ContactPoint', several)).toBe('fail');
    // undecided, it is computed: the closure tier raises the error, the generated code hands it over
    const e = "system.exists() or value.startsWith('x')";
    expect(closureVerdict({ expression: e, basePath: 'ContactPoint' }, several, { resource: undefined, rootResource: undefined })).toMatch(/^error/);
    expect(run(e, 'ContactPoint', several)).toBeUndefined();
  });

  it('types choice elements by their variant, and nodes outside the model by their JSON value', () => {
    const isBoolean = "operator = 'exists' implies (answer is Quantity)";
    expect(same(isBoolean, 'Questionnaire.item.enableWhen', { operator: 'exists', answerQuantity: { value: 1 } })).toBe('pass');
    expect(same(isBoolean, 'Questionnaire.item.enableWhen', { operator: 'exists', answerBoolean: true })).toBe('fail');
    expect(same("extension.where(value = 'x').exists()", 'Patient', { resourceType: 'Patient', extension: [{ url: 'u', valueCode: 'x' }] })).toBe('pass');
    expect(run("extension.where(value = 'x').exists()", 'Patient', { resourceType: 'Patient', extension: [{ url: 'u', valueDate: '2020' }] })).toBeUndefined();
    // Dosage.timing.repeat is outside fhirpath.js's model: its values are plain JSON
    expect(same('period.exists() implies period >= 0', 'Dosage.timing.repeat', { period: -1 })).toBe('fail');
    expect(same('period.exists() implies period >= 0', 'Dosage.timing.repeat', { period: 2 })).toBe('pass');
    expect(run('period.exists() implies period >= 0', 'Dosage.timing.repeat', { period: '2' })).toBeUndefined();
    expect(same('$this.hasValue()', 'Patient.name.family', 'Jansen')).toBe('pass');
    expect(same('$this.hasValue()', 'Patient.name.family', true)).toBe('fail');
  });

  it('walks descendants() like the closure tier: every level, companions, contained resources', () => {
    const que2 = 'descendants().linkId.isDistinct()';
    const q = (items: unknown[], extra: object = {}) => ({ resourceType: 'Questionnaire', status: 'draft', item: items, ...extra });
    expect(same(que2, 'Questionnaire', q([{ linkId: 'a', type: 'group', item: [{ linkId: 'b', type: 'string' }] }]))).toBe('pass');
    expect(same(que2, 'Questionnaire', q([{ linkId: 'a', type: 'group', item: [{ linkId: 'a', type: 'string' }] }]))).toBe('fail');
    expect(same(que2, 'Questionnaire', q([{ linkId: 'a', type: 'string' }], { contained: [q([{ linkId: 'a', type: 'string' }])] }))).toBe('fail');
    // a number on the way: the closure tier hands it to fhirpath.js
    expect(run(que2, 'Questionnaire', q([{ linkId: 'a', type: 'string', maxLength: 3 }]))).toBeUndefined();
    // a companion: deep equality compares it
    expect(run(que2, 'Questionnaire', q([{ linkId: 'a', _linkId: { id: 'x' }, type: 'string' }]))).toBeUndefined();
    const csd1 = 'concept.code.combine($this.descendants().concept.code).isDistinct()';
    const cs = (concept: unknown[]) => ({ resourceType: 'CodeSystem', status: 'draft', content: 'complete', concept });
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a', concept: [{ code: 'b', concept: [{ code: 'c' }] }] }]))).toBe('pass');
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a', concept: [{ code: 'b', concept: [{ code: 'a' }] }] }]))).toBe('fail');
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a' }, { code: 'a' }]))).toBe('fail');
    // the walk passes over primitives, but not over a companion's members
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a', display: 'A', _display: { concept: [{ code: 'a' }] } }]))).toBe('fail');
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a', display: 'A', _display: { concept: [{ code: 'b' }] } }]))).toBe('pass');
    // descendants in a contained resource and in an extension are descendants too
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a', extension: [{ url: 'u', valueCodeableConcept: { concept: [{ code: 'a' }] } }] }]))).toBe('fail');
    expect(same(csd1, 'CodeSystem', { ...cs([{ code: 'a' }]), contained: [cs([{ code: 'b', concept: [{ code: 'a' }] }])] })).toBe('fail');
    expect(same(csd1, 'CodeSystem', { ...cs([{ code: 'a' }]), contained: [cs([{ code: 'b', concept: [{ code: 'c' }] }])] })).toBe('pass');
    expect(same('descendants().count() = 6', 'CodeSystem', cs([{ code: 'a', concept: [{ code: 'b' }] }]))).toBe('pass');
  });

  it('computes a subexpression once where an enclosing block already has it, never from a sibling block', () => {
    const sdf9 = "children().element.where(path.contains('.').not()).label.empty() and children().element.where(path.contains('.').not()).code.empty()";
    expect(generateInvariantSource(sdf9, 'StructureDefinition')!.source.match(/childrenStep\(/g)).toHaveLength(1);
    const sd = { resourceType: 'StructureDefinition', url: 'u', status: 'draft', differential: { element: [{ path: 'A' }, { path: 'A.b', code: [{ code: 'c' }] }] } };
    expect(same(sdf9, 'StructureDefinition', sd)).toBe('pass');
    expect(same(sdf9, 'StructureDefinition', { ...sd, snapshot: { element: [{ path: 'A', code: [{ code: 'c' }] }] } })).toBe('fail');
    // the same member in both branches of iif and inside a loop: each branch computes its own (no hand-over on a missing variable)
    const branches = 'iif(active.exists(), name.given.empty(), name.given.exists()) and name.all(given.empty())';
    const p = (extra: object) => ({ resourceType: 'Patient', name: [{ given: ['a'] }], ...extra });
    expect(same(branches, 'Patient', p({}))).toBe('fail');
    expect(same(branches, 'Patient', p({ active: true }))).toBe('fail');
    expect(same(branches, 'Patient', p({ active: true, name: [{ family: 'f' }] }))).toBe('pass');
    expect(same('name.given.empty() or name.given.count() = 1', 'Patient', p({}))).toBe('pass');
  });

  it('walks descendants().member of a tree without companions by recursion, as the generic walk does', () => {
    const csd1 = 'concept.code.combine($this.descendants().concept.code).isDistinct()';
    const cs = (concept: unknown[], extra: object = {}) => ({ resourceType: 'CodeSystem', status: 'draft', content: 'complete', concept, ...extra });
    // stray keys (outside the model) are walked too, also under an untyped node
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a' }], { stray: { deeper: [{ concept: [{ code: 'a' }] }] } }))).toBe('fail');
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a' }], { stray: { deeper: [{ concept: [{ code: 'b' }] }] } }))).toBe('pass');
    // null and string items, empty arrays and a null member are passed over
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a', concept: [null, { code: 'b' }], designation: [] }, { code: 'c', display: null }]))).toBe('pass');
    // a companion deep down: the generic walk decides
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a', concept: [{ code: 'b', _display: { concept: [{ code: 'a' }] } }] }]))).toBe('fail');
    // a number or an array in an array on the way hands over, as does a bare choice name of the model
    expect(run(csd1, 'CodeSystem', cs([{ code: 'a', property: [{ code: 'p', valueInteger: 1 }] }]))).toBeUndefined();
    expect(run(csd1, 'CodeSystem', cs([{ code: 'a', stray: [[{ code: 'b' }]] }]))).toBeUndefined();
    expect(run(csd1, 'CodeSystem', cs([{ code: 'a', property: [{ code: 'p', value: 'x' }] }]))).toBeUndefined();
    // a resource nested in a stray key is typed by its resourceType
    expect(same(csd1, 'CodeSystem', cs([{ code: 'a' }], { stray: cs([{ code: 'a' }]) }))).toBe('fail');
    expect(same('descendants().extension.count() = 2', 'CodeSystem', cs([{ code: 'a', extension: [{ url: 'u', valueInteger: 1 }], concept: [{ code: 'b', extension: [{ url: 'v', valueInteger: 2 }] }] }]))).toBe('pass');
  });

  /** The generated verdict (an error with its message) equals the closure tier's; returns that verdict. */
  const sameVerdict = (expression: string, base: string, node: unknown, resource: unknown = node): Verdict => {
    const result = run(expression, base, node, resource);
    const theirs = closureVerdict({ expression, basePath: base }, node, { resource, rootResource: resource });
    expect(result === undefined ? 'hand-over' : result === true ? 'pass' : result === false ? 'fail' : `error: ${result.evaluationError}`).toBe(theirs);
    return theirs;
  };

  it('reads a member of children() of a typed node: the model children that define it, hand-over where others have it', () => {
    const sdf9 = "children().element.where(path.contains('.').not()).label.empty() and children().element.where(path.contains('.').not()).code.empty() and children().element.where(path.contains('.').not()).requirements.empty()";
    const sd = (extra: object) => ({ resourceType: 'StructureDefinition', url: 'u', status: 'draft', ...extra });
    const snapshot = { element: [{ path: 'A' }, { path: 'A.b', label: 'x', code: [{ code: 'c' }] }] };
    expect(sameVerdict(sdf9, 'StructureDefinition', sd({ snapshot, differential: { element: [{ path: 'A' }] } }))).toBe('pass');
    // the root element of either part, label / code / requirements each
    expect(sameVerdict(sdf9, 'StructureDefinition', sd({ snapshot, differential: { element: [{ path: 'A', label: 'l' }] } }))).toBe('fail');
    expect(sameVerdict(sdf9, 'StructureDefinition', sd({ differential: { element: [{ path: 'A.c' }, { path: 'A', code: [{ code: 'c' }] }] } }))).toBe('fail');
    expect(sameVerdict(sdf9, 'StructureDefinition', sd({ snapshot: { element: [{ path: 'A', requirements: 'r' }] } }))).toBe('fail');
    expect(sameVerdict(sdf9, 'StructureDefinition', sd({}))).toBe('pass');
    const count = 'children().element.count() = 3';
    expect(sameVerdict(count, 'StructureDefinition', sd({ snapshot, differential: { element: [{ path: 'A' }] }, mapping: [{ identity: 'm' }] }))).toBe('pass');
    // an `element` where the model has none (in an extension, a companion, a contained resource): the closure tier finds it
    const label = { path: 'A', label: 'l' };
    expect(run(sdf9, 'StructureDefinition', sd({ extension: [{ url: 'x', element: [label] }] }))).toBeUndefined();
    expect(run(sdf9, 'StructureDefinition', sd({ _status: { element: [label] } }))).toBeUndefined();
    expect(run(sdf9, 'StructureDefinition', sd({ contained: [{ resourceType: 'Basic', element: [label] }] }))).toBeUndefined();
    expect(run(sdf9, 'StructureDefinition', sd({ snapshot: { _element: [{ id: 'x' }] } }))).toBeUndefined();
    expect(run(sdf9, 'StructureDefinition', sd({ snapshot: 'x' }))).toBeUndefined();
    // a contained resource whose `value` is a choice: children().value would be its variants
    expect(generateInvariantSource('children().value.exists()', 'Observation')).toBeUndefined();
    expect(generateInvariantSource('children().length.exists()', 'StructureDefinition')).toBeUndefined();
  });

  it('computes a value the loop does not change once, where first needed', () => {
    const sdf8a = "(%resource.kind = 'logical' or element.first().path.startsWith(%resource.type)) and (element.tail().empty() or element.tail().all(path.startsWith(%resource.differential.element.first().path.replaceMatches('\\\\..*','')&'.')))";
    const sd = (paths: string[]) => {
      const differential = { element: paths.map((path) => ({ path })) };
      return [differential, { resourceType: 'StructureDefinition', kind: 'resource', type: 'Patient', differential }] as const;
    };
    expect(sameVerdict(sdf8a, 'StructureDefinition.differential', ...sd(['Patient', 'Patient.name', 'Patient.name.given']))).toBe('pass');
    expect(sameVerdict(sdf8a, 'StructureDefinition.differential', ...sd(['Patient', 'Patient.name', 'Observation.code']))).toBe('fail');
    expect(sameVerdict(sdf8a, 'StructureDefinition.differential', ...sd(['Patient.x', 'Patient.name']))).toBe('pass');
    // an error the loop raises on its first item, and does not raise without items
    const regexError = "element.all(%resource.url.matches('('))";
    expect(sameVerdict(regexError, 'StructureDefinition.differential', { element: [] }, { resourceType: 'StructureDefinition', url: 'u' })).toBe('pass');
    expect(sameVerdict(regexError, 'StructureDefinition.differential', { element: [{ path: 'A' }] }, { resourceType: 'StructureDefinition', url: 'u' })).toMatch(/^error: Invalid regular expression/);
    const bdl3 = "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))";
    const bundle = (type: string, entry: unknown[]) => ({ resourceType: 'Bundle', type, entry });
    expect(sameVerdict(bdl3, 'Bundle', bundle('batch', [{ request: { method: 'GET' } }, { request: { method: 'PUT' } }]))).toBe('pass');
    expect(sameVerdict(bdl3, 'Bundle', bundle('batch', [{ request: { method: 'GET' } }, {}]))).toBe('fail');
    expect(sameVerdict(bdl3, 'Bundle', bundle('collection', [{}, { request: { method: 'GET' } }]))).toBe('fail');
  });

  it('intersects object slots as the closure tier does (deep equality, or hashes beyond six items)', () => {
    const obs7 = 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()';
    const coding = (code: string, extra: object = {}) => ({ system: 'http://loinc.org', code, ...extra });
    const obs = (codes: object[], components: unknown[][]) => ({ resourceType: 'Observation', status: 'final', code: { coding: codes }, valueString: 'x',
      component: components.map((c) => ({ code: { coding: c }, valueString: 'y' })) });
    expect(sameVerdict(obs7, 'Observation', obs([coding('a')], [[coding('b')]]))).toBe('pass');
    // the same coding with its keys in another order
    expect(sameVerdict(obs7, 'Observation', obs([coding('a')], [[{ code: 'a', system: 'http://loinc.org' }]]))).toBe('fail');
    expect(sameVerdict(obs7, 'Observation', obs([coding('a', { display: 'A' })], [[coding('a')]]))).toBe('pass');
    const many = ['b', 'c', 'd', 'e', 'f', 'g'].map((c) => coding(c));
    expect(sameVerdict(obs7, 'Observation', obs([...many, coding('a', { userSelected: true })], [[coding('h'), { userSelected: true, code: 'a', system: 'http://loinc.org' }]]))).toBe('fail');
    expect(sameVerdict(obs7, 'Observation', obs([...many, coding('a')], [[coding('h'), coding('i')]]))).toBe('pass');
    // a coding that is not an object: its companions would be compared
    expect(run(obs7, 'Observation', obs([coding('a')], [['a']]))).toBeUndefined();
    expect(generateInvariantSource('value.intersect(%resource.value).exists()', 'Observation.component')).toBeUndefined();
  });

  itDeclines('generate', generateInvariantSource, [
    // dateTime to dateTime is generated (codegen-national.test.ts); date values and literals are not
    ['birthDate <= birthDate', 'Patient'],
    ['start <= @2020-01-01T00:00:00Z', 'Period'],
    ['birthDate = @2020', 'Patient'],
    ['(value as Quantity).exists()', 'Observation'],
    ['htmlChecks()', 'Narrative.div'],
    ['value.value > 1', 'Observation'],
  ]);
});
