import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { describe, expect, it } from 'vitest';
import { compileFhirPath, fallbackInvocations, type PathEnv, unquote } from '../../src/validation/fhirpath-compiler.js';
import { javaToUnicodePattern } from '../../src/validation/fhirpath-regex.js';
import { coreInvariants, corpusResources, edgeCases, type Evaluation, evaluations, itDeclines } from './corpus.js';

type Outcome = { result: unknown[] } | { error: true };

function attempt(f: () => unknown[]): Outcome {
  try {
    return { result: f() };
  } catch {
    return { error: true };
  }
}

function verdict(o: Outcome): 'pass' | 'fail' | 'error' {
  if ('error' in o) return 'error';
  return o.result.length === 0 || (o.result.length === 1 && o.result[0] === true) ? 'pass' : 'fail';
}

const reference = new Map<string, (node: unknown, vars: Record<string, unknown>) => unknown[]>();
function viaFhirpathJs(e: { expression: string; basePath: string }, node: unknown, env: PathEnv): Outcome {
  const key = `${e.basePath}\u0000${e.expression}`;
  let fn = reference.get(key);
  if (!fn) {
    fn = fhirpath.compile({ base: e.basePath, expression: withUnicodePatterns(e.expression) }, r4Model, {
      userInvocationTable: fallbackInvocations as never,
      traceFn: () => {},
    }) as never;
    reference.set(key, fn!);
  }
  return attempt(() => fn!(node, { resource: env.resource, rootResource: env.rootResource, __fhirdqCompiledResolve: env.resolve }));
}

/** fhirpath.js rejects patterns Java reads (eld-16/19/20): it is given them as the compiler translates them. */
function withUnicodePatterns(expression: string): string {
  return expression.replace(/(matches\()('(?:[^'\\]|\\.)*')/g, (_, call: string, literal: string) => {
    const pattern = javaToUnicodePattern(unquote(literal, "'"));
    return `${call}'${pattern.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  });
}

const compiled = new Map<string, ReturnType<typeof compileFhirPath>>();
function viaCompiler(e: { expression: string; basePath: string }): ReturnType<typeof compileFhirPath> {
  const key = `${e.basePath}\u0000${e.expression}`;
  if (!compiled.has(key)) compiled.set(key, compileFhirPath(e.expression, e.basePath));
  return compiled.get(key);
}

/** fhirpath.js 5.2.2 wraps a numeric root before its context can make decimals, and throws; compiled code does not. */
function isFhirpathRootNumberDefect(node: unknown): boolean {
  return typeof node === 'number';
}

describe('compileFhirPath against fhirpath.js on the R4 core invariants', () => {
  const invariants = coreInvariants();
  const evals: Evaluation[] = evaluations([...corpusResources(), ...edgeCases()], invariants);

  it('compiles all core invariants but htmlChecks() and the R4B-only dom-r4b (whose types R4 rejects)', () => {
    const distinct = new Set<string>();
    const failed = new Set<string>();
    for (const [basePath, list] of invariants) {
      for (const inv of list) {
        distinct.add(inv.expression);
        if (!viaCompiler({ ...inv, basePath })) failed.add(inv.expression);
      }
    }
    expect(failed.size).toBe(2);
    expect(failed.has('htmlChecks()')).toBe(true);
    expect([...failed].some((e) => e.includes('$this is Citation'))).toBe(true);
    expect(distinct.size).toBeGreaterThan(190);
  });

  it('gives the same verdict and the same result on every node of the corpus, with both verdicts seen', () => {
    expect(evals.length).toBeGreaterThan(100_000);
    const mismatches: string[] = [];
    const verdicts = new Map<string, Set<string>>();
    let compared = 0;
    for (const e of evals) {
      const fn = viaCompiler(e);
      if (!fn || isFhirpathRootNumberDefect(e.node)) continue;
      const env: PathEnv = { resource: e.resource, rootResource: e.rootResource, resolve: e.resolve };
      const ours = attempt(() => fn(e.node, env));
      const theirs = viaFhirpathJs(e, e.node, env);
      compared++;
      verdicts.set(e.key, (verdicts.get(e.key) ?? new Set<string>()).add(verdict(ours)));
      const same = verdict(ours) === verdict(theirs) && JSON.stringify(ours) === JSON.stringify(theirs);
      // Where fhirpath.js and the reference part, the reference's reading: a FHIR boolean is Boolean (que-7).
      if (!same && e.key === 'que-7' && verdict(ours) === 'pass') continue;
      if (!same && mismatches.length < 10) mismatches.push(`${e.key} @${e.basePath}: ${JSON.stringify(ours)} vs ${JSON.stringify(theirs)}`);
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(100_000);
    expect(verdicts.size).toBeGreaterThan(80);
    expect([...verdicts.values()].filter((v) => v.has('fail')).length).toBeGreaterThan(15);
  });
});

describe('compileFhirPath semantics', () => {
  const env = (resource: unknown): PathEnv => ({ resource, rootResource: resource });

  it('takes an unqualified type name of a FHIR primitive without case, as the reference does (que-7: answer is Boolean)', () => {
    const questionnaire = { resourceType: 'Questionnaire', item: [{ linkId: 'b', enableWhen: [{ question: 'a', operator: 'exists', answerBoolean: true }] }] };
    for (const [expression, expected] of [['Questionnaire.item.enableWhen.answer is Boolean', true], ['Questionnaire.item.enableWhen.answer is boolean', true], ['Questionnaire.item.enableWhen.answer is String', false]] as const) {
      const fn = compileFhirPath(expression, 'Questionnaire');
      expect(typeof fn === 'function' && fn(questionnaire, env(questionnaire)), expression).toEqual([expected]);
    }
  });
  const run = (expression: string, base: string, node: unknown, resolve?: PathEnv['resolve']) => {
    const fn = compileFhirPath(expression, base);
    if (!fn) throw new Error(`not compiled: ${expression}`);
    return fn(node, { ...env(node), resolve });
  };

  it('navigates choice elements by their FHIR names and types them', () => {
    const obs = { resourceType: 'Observation', valueQuantity: { value: 3, unit: 'mg' }, effectiveDateTime: '2020' };
    expect(run('value.exists() and value is Quantity and effective.is(dateTime)', 'Observation', obs)).toEqual([true]);
    expect(run('value.ofType(Quantity).value', 'Observation', obs)).toEqual([3]);
    expect(run('value.as(string)', 'Observation', obs)).toEqual([]);
  });

  it('reads primitive extensions from the _name companion and hasValue() sees only values', () => {
    const patient = { resourceType: 'Patient', _birthDate: { extension: [{ url: 'u', valueCode: 'unknown' }] }, gender: 'male' };
    expect(run('birthDate.exists() and birthDate.hasValue().not()', 'Patient', patient)).toEqual([true]);
    expect(run("birthDate.extension('u').value", 'Patient', patient)).toEqual(['unknown']);
    expect(run('gender.hasValue() and gender.children().empty()', 'Patient', patient)).toEqual([true]);
  });

  it('follows three-valued logic and empty propagation', () => {
    const p = { resourceType: 'Patient', active: true };
    expect(run('active and deceased', 'Patient', p)).toEqual([]);
    expect(run('deceased or active', 'Patient', p)).toEqual([true]);
    expect(run('deceased implies active.not()', 'Patient', p)).toEqual([]);
    expect(run('active.not() implies deceased', 'Patient', p)).toEqual([true]);
    expect(run("name.given = 'x'", 'Patient', p)).toEqual([]);
  });

  it('reports errors where fhirpath.js does (singletons expected)', () => {
    const p = { resourceType: 'Patient', name: [{ family: 'a' }, { family: 'b' }] };
    expect(() => run("name.family.startsWith('a')", 'Patient', p)).toThrow();
    expect(() => run("name.family < 'z'", 'Patient', p)).toThrow();
  });

  it('resolves references through env.resolve and types the result', () => {
    const team = { resourceType: 'CareTeam', participant: [{ member: { reference: '#p' } }], contained: [{ resourceType: 'Practitioner', id: 'p' }] };
    const resolve = (ref: string) => team.contained.find((c) => `#${c.id}` === ref);
    expect(run('participant.member.resolve().ofType(Practitioner).exists()', 'CareTeam', team, resolve)).toEqual([true]);
    expect(run('participant.member.resolve() is Patient', 'CareTeam', team, resolve)).toEqual([false]);
  });

  it('hands date comparisons to fhirpath.js and returns its answer', () => {
    const period = { start: '2020-01-01', end: '2020' };
    expect(run('start <= end', 'Period', period)).toEqual([]);
    expect(run('start <= end', 'Period', { start: '2020-01-01', end: '2021-01-01' })).toEqual([true]);
  });

  itDeclines('reproduce', compileFhirPath, [
    ['htmlChecks()', 'Narrative.div'],
    ["a ~ 'b'", 'Patient'],
    ['%vs-x.exists()', 'Patient'],
    ['value > 1.0', 'Quantity'],
    ['name.', 'Patient'],
  ]);
});
