import { describe, expect, it } from 'vitest';
import { generateInvariant, generateInvariantSource } from '../../src/validation/fhirpath-codegen.js';
import { compileFhirPath, type PathEnv } from '../../src/validation/fhirpath-compiler.js';
import { coreInvariants, corpusResources, edgeCases, type Evaluation, evaluations, handoverCases } from './corpus.js';

type Verdict = 'pass' | 'fail' | 'error';

/** Invariants that invariants.ts runs as plain code (on every element: generating them is not the point). */
const NATIVE = /^(ele-1|ext-1|dom-[2-6]|ref-1|per-1|txt-[12])$/;

/** compileFhirPath's verdict (which compiler.test.ts holds equal to fhirpath.js's). */
function closureVerdict(e: { expression: string; basePath: string }, node: unknown, env: PathEnv): Verdict {
  const fn = compileFhirPath(e.expression, e.basePath)!;
  try {
    const r = fn(node, env);
    return r.length === 0 || (r.length === 1 && r[0] === true) ? 'pass' : 'fail';
  } catch {
    return 'error';
  }
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
    for (const [basePath, list] of invariants) {
      for (const inv of list) {
        if (NATIVE.test(inv.key)) continue;
        total++;
        if (viaGenerator({ ...inv, basePath })) accepted++;
      }
    }
    expect(total).toBeGreaterThan(230);
    expect(accepted / total).toBeGreaterThan(0.8);
  });

  it('gives the verdict of compileFhirPath on every node of the corpus, or hands over', () => {
    const mismatches: string[] = [];
    const verdicts = new Map<string, Set<Verdict>>();
    let compared = 0;
    let handedOver = 0;
    for (const e of evals) {
      const fn = viaGenerator(e);
      if (!fn) continue;
      const ours = fn(e.node, e.resource);
      if (ours === undefined) {
        handedOver++;
        continue;
      }
      compared++;
      const theirs = closureVerdict(e, e.node, { resource: e.resource, rootResource: e.rootResource, resolve: e.resolve });
      const mine: Verdict = ours ? 'pass' : 'fail';
      verdicts.set(e.key, (verdicts.get(e.key) ?? new Set<Verdict>()).add(mine));
      if (mine !== theirs && mismatches.length < 10) mismatches.push(`${e.key} @${e.basePath}: ${mine} vs ${theirs} on ${JSON.stringify(e.node).slice(0, 200)}`);
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(25_000);
    // Hand-overs are for rare shapes: the corpus has few of them.
    expect(handedOver / compared).toBeLessThan(0.02);
    expect(verdicts.size).toBeGreaterThan(60);
    expect([...verdicts.values()].filter((v) => v.has('fail')).length).toBeGreaterThan(10);
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

  it('declines what it does not generate', () => {
    expect(generateInvariantSource('start <= end', 'Period')).toBeUndefined();
    expect(generateInvariantSource("birthDate = @2020", 'Patient')).toBeUndefined();
    expect(generateInvariantSource('value is Quantity', 'Observation')).toBeUndefined();
    expect(generateInvariantSource('htmlChecks()', 'Narrative.div')).toBeUndefined();
    expect(generateInvariantSource('value.value > 1', 'Observation')).toBeUndefined();
  });
});
