import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/packages/load.js';
import { summariesOf, type CanonicalResource } from '../../src/packages/types.js';
import type { ElementNode } from '../../src/validation/element-tree.js';
import { fallback } from '../../src/validation/fhirpath-compiler.js';
import { focusDependencies, reachesAny } from '../../src/validation/invariant-dependencies.js';
import { InvariantEngine } from '../../src/validation/invariants.js';
import { StructureCache } from '../../src/validation/structures.js';

describe('focusDependencies', () => {
  it('names every member an expression can reach', () => {
    expect(focusDependencies("code.empty() or system.exists()")).toEqual(['code', 'system']);
    expect(focusDependencies("text.`div`.exists()")).toEqual(['text', 'div']);
    expect(focusDependencies("type = 'document' implies entry.first().resource.is(Composition)")).toEqual(['type', 'entry', 'resource', 'Composition']);
    expect(focusDependencies("extension('http://x').exists() or low <= high")).toEqual(['extension', 'low', 'high']);
  });

  it('ignores string literals, dates and keywords', () => {
    expect(focusDependencies("status = 'entered-in-error' or effective > @2020-01-01T10:00:00Z")).toEqual(['status', 'effective']);
    expect(focusDependencies("a.contains('b and c') xor d")).toEqual(['a', 'd']);
  });

  it('declines expressions that read the focus as a whole or outside data', () => {
    expect(focusDependencies('hasValue() or (children().count() > id.count())')).toBeUndefined();
    expect(focusDependencies("$this = '*'")).toBeUndefined();
    expect(focusDependencies("%resource.type = 'batch'")).toBeUndefined();
    expect(focusDependencies('descendants().reference.exists()')).toBeUndefined();
    expect(focusDependencies("reference.resolve().exists()")).toBeUndefined();
  });

  it('finds members by prefix: choice variants and _companions count', () => {
    expect(reachesAny({ valueQuantity: {} }, ['value'])).toBe(true);
    expect(reachesAny({ _code: { extension: [] } }, ['code'])).toBe(true);
    expect(reachesAny({ coding: [] }, ['code'])).toBe(false);
    expect(reachesAny({}, ['code'])).toBe(false);
  });
});

/**
 * The skip is sound when an invariant gives on a focus without its members what fhirpath.js gives: checked for
 * every constraint of every R4 core type, on a focus holding all the element's other children.
 */
describe('skipping invariants whose members are absent agrees with fhirpath.js', () => {
  let structures: StructureCache;
  let typeNames: string[];

  beforeAll(async () => {
    const loaded = await loadConformance({ igs: [], includeCore: true });
    structures = new StructureCache(loaded.store);
    typeNames = summariesOf<CanonicalResource & { kind?: string; derivation?: string; type?: string; abstract?: boolean }>(loaded.store, 'StructureDefinition')
      .filter((sd) => sd.url?.startsWith('http://hl7.org/fhir/StructureDefinition/') && sd.derivation === 'specialization' && sd.kind !== 'logical' && !sd.abstract)
      .map((sd) => sd.type!)
      .filter((t) => /^[A-Z]/.test(t));
  }, 120_000);

  it('for every core constraint with a dependency set', () => {
    const engine = new InvariantEngine();
    let checked = 0;
    const disagreements: string[] = [];
    for (const type of typeNames) {
      const structure = structures.forType(type);
      if (!structure) continue;
      const visit = (node: ElementNode): void => {
        for (const constraint of node.constraints) {
          const deps = focusDependencies(constraint.expression);
          if (!deps) continue;
          const focus = focusWithout(node, deps, type);
          const scope = { node: focus, basePath: node.path, resource: focus, rootResource: focus, resolveReference: () => undefined };
          let expected: boolean;
          try {
            const result = fallback(constraint.expression, node.path)(focus, { resource: focus, rootResource: focus });
            expected = result.length === 0 || (result.length === 1 && result[0] === true);
          } catch {
            continue; // fhirpath.js itself cannot evaluate it here: nothing to compare
          }
          const actual = engine.evaluate(constraint, scope);
          checked++;
          if (actual.ok !== expected && !('evaluationError' in actual && actual.evaluationError)) disagreements.push(`${type} ${node.path} ${constraint.key}`);
        }
        for (const child of node.children) visit(child);
      };
      visit(structure.root);
    }
    expect(disagreements).toEqual([]);
    expect(checked).toBeGreaterThan(500);
  }, 120_000);
});

/** An instance of the element carrying every child the expression does not name, each with a plain value. */
function focusWithout(node: ElementNode, deps: string[], resourceType: string): Record<string, unknown> {
  const focus: Record<string, unknown> = node.path === resourceType ? { resourceType } : {};
  for (const child of node.children) {
    if (child.isChoice || deps.some((d) => child.name.startsWith(d)) || child.name === 'resourceType') continue;
    const code = child.types[0]?.code ?? 'string';
    const value = /^[a-z]/.test(code) ? (code === 'boolean' ? true : /integer|Int|decimal/.test(code) ? 1 : 'x') : { id: 'a' };
    focus[child.name] = child.isArray ? [value] : value;
  }
  return focus;
}
