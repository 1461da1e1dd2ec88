/** The engine's group stacks (instance-validator.ts): shared by its walks, and given back when a conformance walk stops at its first error. */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/packages/load.js';
import { TerminologyService } from '../../src/terminology/service.js';
import { BindingChecker } from '../../src/validation/bindings.js';
import { Engine } from '../../src/validation/instance-validator.js';

let engine: Engine;
beforeAll(async () => {
  const loaded = await loadConformance({ igs: [], includeCore: true, packageSearchPaths: [] });
  engine = new Engine(loaded.store, { securityChecks: false, allowExampleUrls: true, bestPractice: 'warning', extensionDomains: ['any'] }, new BindingChecker(new TerminologyService(loaded.store, {})));
});

// The bad gender sits after several groups of the root and of a contact: the walk throws with all of them counted.
const deepFailure = { resourceType: 'Patient', active: true, name: [{ family: 'A' }], contact: [{ name: { family: 'B', given: ['C'] }, gender: 'not-a-gender' }] };

describe('group stacks', () => {
  it('are given back after a conformance walk stopped at its first error, deep inside the value', () => {
    const patient = engine.structures.forType('Patient')!;
    expect(engine.conforms(deepFailure, patient, undefined)).toBe(false);
    expect(engine.groups.count).toBe(0);
    expect(engine.conforms({ resourceType: 'Patient', active: true }, patient, undefined)).toBe(true);
    expect(engine.groups.count).toBe(0);
  });

  it('serve one validation after another with the same issues', () => {
    const first = engine.validate(deepFailure as never);
    expect(first.map((i) => i.messageId)).toContain('TX_BINDING_REQUIRED');
    expect(engine.groups.count).toBe(0);
    expect(engine.validate(deepFailure as never)).toEqual(first);
  });
});
