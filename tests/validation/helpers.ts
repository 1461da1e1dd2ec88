/** Test support for the rule-family tests: one validator per file over hand-made conformance resources. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { createValidator, type Issue, type Validator, type ValidatorOptions } from '../../src/index.js';

type Json = Record<string, unknown>;

export const CORE = 'http://hl7.org/fhir/StructureDefinition/';
export const TEST = 'http://fhirdq.test/StructureDefinition/';

/**
 * Registers beforeAll/afterAll that write `resources` as loose JSON files into a temp folder and build
 * one validator over them (without the shipped packages); returns a getter for the tests.
 */
export function useValidator(resources: Json[], options: Omit<ValidatorOptions, 'igs' | 'includeShippedPackages'> = {}): () => Validator {
  let dir: string | undefined;
  let validator: Validator | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fhirdq-validation-'));
    resources.forEach((r, i) => writeFileSync(join(dir!, `r${i}.json`), JSON.stringify(r)));
    validator = await createValidator({ ...options, igs: resources.length > 0 ? [dir] : [], includeShippedPackages: false });
    // A hand-made profile the engine cannot load would make every test below meaningless.
    expect(validator.loadIssues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => validator!;
}

/** A differential-only constraint profile on a core resource or datatype. */
export function profile(name: string, type: string, elements: Json[], extra: Json = {}): Json {
  return {
    resourceType: 'StructureDefinition',
    url: TEST + name,
    name,
    status: 'active',
    fhirVersion: '4.0.1',
    kind: /^[A-Z]/.test(type) && !DATATYPES.has(type) ? 'resource' : 'complex-type',
    abstract: false,
    type,
    baseDefinition: CORE + type,
    derivation: 'constraint',
    ...extra,
    differential: { element: elements },
  };
}

const DATATYPES = new Set(['Extension', 'CodeableConcept', 'Coding', 'Identifier', 'HumanName', 'Address', 'Quantity', 'Reference', 'Period']);

/** A differential-only extension definition with the given contexts and value element. */
export function extensionDef(name: string, context: Array<{ type: string; expression: string }>, elements: Json[], extra: Json = {}): Json {
  return profile(name, 'Extension', elements, { context, ...extra });
}

export const isError = (i: Issue): boolean => i.severity === 'error' || i.severity === 'fatal';

/** messageId and path of every issue, the pair each test asserts on. */
export function found(issues: Issue[], severity?: Issue['severity']): Array<{ messageId: string; path: string }> {
  return issues.filter((i) => (severity ? i.severity === severity : true)).map((i) => ({ messageId: i.messageId, path: i.path }));
}

export function expectIssue(issues: Issue[], messageId: string, path: string, severity: Issue['severity'] = 'error'): void {
  expect(found(issues, severity)).toContainEqual({ messageId, path });
}

/** The positive side: no error or fatal issue at all (warnings and information are allowed). */
export function expectNoErrors(issues: Issue[]): void {
  expect(issues.filter(isError).map((i) => `${i.messageId} @ ${i.path}: ${i.message}`)).toEqual([]);
}
