import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanonicalResource } from '../../src/packages/types.js';
import { bindingIssues, TerminologyService } from '../../src/terminology/index.js';
import { conformanceDir, coreResources, resolverOf } from './resolver.js';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const SCT = 'http://snomed.info/sct';
const GENDER = 'http://hl7.org/fhir/administrative-gender';

// A small CodeSystem exercising hierarchy through nested concepts and `parent` properties, and properties.
const testCs = {
  resourceType: 'CodeSystem',
  url: 'http://example.org/cs/shapes',
  version: '1',
  content: 'complete',
  caseSensitive: true,
  valueSet: 'http://example.org/vs/all-shapes',
  property: [
    { code: 'parent', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' },
    { code: 'sides', type: 'integer' },
    { code: 'colour', type: 'string' },
    { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
    { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
  ],
  concept: [
    {
      code: 'polygon',
      display: 'Polygon',
      property: [{ code: 'notSelectable', valueBoolean: true }],
      concept: [
        { code: 'triangle', display: 'Triangle', property: [{ code: 'sides', valueInteger: 3 }, { code: 'colour', valueString: 'red' }] },
        { code: 'quad', display: 'Quadrilateral', property: [{ code: 'sides', valueInteger: 4 }] },
      ],
    },
    { code: 'square', display: 'Square', property: [{ code: 'parent', valueCode: 'quad' }, { code: 'sides', valueInteger: 4 }, { code: 'colour', valueString: 'blue' }] },
    { code: 'circle', display: 'Circle', property: [{ code: 'status', valueCode: 'retired' }] },
  ],
};
const vs = (id: string, compose: object): CanonicalResource => ({ resourceType: 'ValueSet', url: `http://example.org/vs/${id}`, name: id, compose });
const include = (filter: object[]) => ({ include: [{ system: testCs.url, filter }] });
const testSets = [
  vs('is-a', include([{ property: 'concept', op: 'is-a', value: 'quad' }])),
  vs('descendent-of', include([{ property: 'concept', op: 'descendent-of', value: 'polygon' }])),
  vs('is-not-a', include([{ property: 'concept', op: 'is-not-a', value: 'polygon' }])),
  vs('generalizes', include([{ property: 'concept', op: 'generalizes', value: 'square' }])),
  vs('eq', include([{ property: 'sides', op: '=', value: '4' }])),
  vs('in', include([{ property: 'colour', op: 'in', value: 'red,green' }])),
  vs('not-in', include([{ property: 'colour', op: 'not-in', value: 'red' }])),
  vs('regex', include([{ property: 'code', op: 'regex', value: '[qs].*' }])),
  vs('exists', include([{ property: 'colour', op: 'exists', value: 'true' }])),
  vs('two-filters', include([{ property: 'concept', op: 'is-a', value: 'polygon' }, { property: 'sides', op: '=', value: '4' }])),
  vs('unknown-prop', include([{ property: 'weight', op: '=', value: '4' }])),
  vs('active', { inactive: false, include: [{ system: testCs.url }] }),
  vs('intersect', { include: [{ valueSet: ['http://example.org/vs/eq', 'http://example.org/vs/exists'] }] }),
  vs('import-missing', { include: [{ valueSet: ['http://example.org/vs/nowhere'] }] }),
  vs('mixed', { include: [{ system: SCT }, { system: GENDER }, { system: 'http://loinc.org', concept: [{ code: '8310-5' }] }], exclude: [{ system: SCT, concept: [{ code: '123' }] }] }),
  { ...vs('pre-expanded', { include: [{ system: SCT, filter: [{ property: 'concept', op: 'is-a', value: '404684003' }] }] }), expansion: { contains: [{ system: SCT, code: '22298006', display: 'Myocardial infarction', contains: [{ system: SCT, code: '1755008' }] }] } },
];
const bbVs = JSON.parse(readFileSync(join(conformanceDir, 'cases/bb-vs.json'), 'utf8')) as CanonicalResource;
const tx = new TerminologyService(resolverOf(...coreResources, testCs as CanonicalResource, ...testSets, bbVs));
const codes = (url: string) => [...(tx.expand(url)?.contains.get(testCs.url)?.keys() ?? [])].sort();

describe('expansion of compose filters', () => {
  it.each([
    ['is-a', ['quad', 'square']],
    ['descendent-of', ['quad', 'square', 'triangle']],
    ['is-not-a', ['circle']],
    ['generalizes', ['polygon', 'quad', 'square']],
    ['eq', ['quad', 'square']],
    ['in', ['triangle']],
    ['not-in', ['circle', 'polygon', 'quad', 'square']],
    ['regex', ['quad', 'square']],
    ['exists', ['square', 'triangle']],
    ['two-filters', ['quad', 'square']],
    ['active', ['polygon', 'quad', 'square', 'triangle']],
    ['intersect', ['square']],
  ])('%s', (id, expected) => {
    const exp = tx.expand(`http://example.org/vs/${id}`)!;
    expect(exp.complete).toBe(true);
    expect(codes(exp.url)).toEqual(expected);
  });

  it('a filter on an undefined property makes the include not checkable instead of empty', () => {
    const exp = tx.expand('http://example.org/vs/unknown-prop')!;
    expect(exp.complete).toBe(false);
    expect(exp.notCheckableSystems.has(testCs.url)).toBe(true);
    expect(tx.validateCode({ system: testCs.url, code: 'quad' }, exp.url).status).toBe('not-checkable');
  });

  it('implicit value sets: ?fhir_vs, ?fhir_vs=isa/ and CodeSystem.valueSet', () => {
    expect(codes(`${testCs.url}?fhir_vs`)).toHaveLength(5);
    expect(codes(`${testCs.url}?fhir_vs=isa/quad`)).toEqual(['quad', 'square']);
    expect(codes('http://example.org/vs/all-shapes')).toHaveLength(5);
  });

  it('abstract (notSelectable) codes are not selectable from an implicit include', () => {
    const check = tx.validateCode({ system: testCs.url, code: 'polygon' }, 'http://example.org/vs/generalizes');
    expect(check.status).toBe('not-in-valueset');
    expect(check.errorMessage).toBe(`Code '${testCs.url}#polygon' is abstract, and not allowed in this context`);
    expect(tx.lookup(testCs.url, 'polygon')).toEqual({ display: 'Polygon', designations: [], abstract: true });
    expect(tx.validateCode({ system: testCs.url, code: 'polygon' }).status).toBe('valid');
  });

  it('an unresolvable import leaves membership undecided', () => {
    const check = tx.validateCode({ system: testCs.url, code: 'quad' }, 'http://example.org/vs/import-missing');
    expect(check.status).toBe('not-checkable');
    expect(tx.expand('http://example.org/vs/import-missing')?.unresolved).toEqual(['http://example.org/vs/nowhere']);
  });

  it('uses expansion.contains when the compose cannot be evaluated offline', () => {
    const exp = tx.expand('http://example.org/vs/pre-expanded')!;
    expect(exp.complete).toBe(true);
    expect(tx.validateCode({ system: SCT, code: '1755008' }, exp.url).status).toBe('valid');
    expect(tx.validateCode({ system: SCT, code: '38341003' }, exp.url).status).toBe('not-in-valueset');
  });

  it('caches expansions', () => {
    expect(tx.expand('http://example.org/vs/is-a')).toBe(tx.expand('http://example.org/vs/is-a'));
    expect(tx.expand('http://example.org/vs/none')).toBeUndefined();
  });
});

describe('core value sets', () => {
  it('administrative-gender and observation-status', () => {
    expect(tx.validateCode({ system: GENDER, code: 'male' }, 'http://hl7.org/fhir/ValueSet/administrative-gender').status).toBe('valid');
    expect(tx.validateCode({ code: 'final' }, 'http://hl7.org/fhir/ValueSet/observation-status').status).toBe('valid');
    const bad = tx.validateCode({ system: 'http://hl7.org/fhir/observation-status', code: 'done' }, 'http://hl7.org/fhir/ValueSet/observation-status');
    expect(bad.status).toBe('unknown-code');
    expect(bad.messages.map((m) => [m.severity, m.message])).toEqual([['error', "Unknown code 'done' in the CodeSystem 'http://hl7.org/fhir/observation-status' version '4.0.1'"]]);
    expect(bad.errorMessage).toContain("The provided code 'http://hl7.org/fhir/observation-status#done' was not found in the value set 'http://hl7.org/fhir/ValueSet/observation-status|4.0.1'");
  });

  it('v3 ActEncounterCode: is-a filter on v3-ActCode minus the abstract root', () => {
    const url = 'http://terminology.hl7.org/ValueSet/v3-ActEncounterCode';
    const exp = tx.expand(url)!;
    expect([...exp.contains.get(ACT)!.keys()]).toEqual(expect.arrayContaining(['AMB', 'EMER', 'IMP', 'VR']));
    expect(exp.contains.get(ACT)!.has('_ActEncounterCode')).toBe(false);
    expect(tx.validateCoding({ system: ACT, code: 'AMB', display: 'ambulatory' }, url).status).toBe('valid');
    expect(tx.validateCoding({ system: ACT, code: '_ActEncounterCode' }, url).status).toBe('not-in-valueset');
    expect(tx.validateCoding({ system: ACT, code: 'OBSENC' }, url).status).toBe('valid');
    expect(tx.validateCoding({ system: ACT, code: 'CASH' }, url).status).toBe('not-in-valueset');
    expect(tx.validateCoding({ system: ACT, code: 'CPT4' }, url).status).toBe('unknown-code');
  });

  it('v2-0203 identifier types: membership, displays, case', () => {
    const url = 'http://hl7.org/fhir/ValueSet/identifier-type';
    expect(tx.validateCoding({ system: V2_0203, code: 'MR', display: 'Medical record number' }, url).status).toBe('valid');
    expect(tx.validateCoding({ system: V2_0203, code: 'MR', display: 'medical record  number' }, url).status).toBe('valid');
    const wrong = tx.validateCoding({ system: V2_0203, code: 'MR', display: 'Patient number' }, url);
    expect(wrong.status).toBe('invalid-display');
    expect(wrong.messages[0]).toMatchObject({ severity: 'error', element: 'display' });
    expect(wrong.messages[0].message).toMatch(/^Wrong Display Name 'Patient number' for http:\/\/terminology.hl7.org\/CodeSystem\/v2-0203#MR. Valid display is one of \d+ choices: 'Medical record number', .* \(for the language\(s\) '--'\)$/);
    // v2-0203 does not declare caseSensitive: lower case matches, with an information.
    const lower = tx.validateCoding({ system: V2_0203, code: 'mr' }, url);
    expect(lower.status).toBe('valid');
    expect(lower.messages.map((m) => m.severity)).toEqual(['information']);
  });

  it('a CodeableConcept is valid when any coding is', () => {
    const check = tx.validateCodeableConcept({ coding: [{ system: SCT, code: '1' }, { system: V2_0203, code: 'DL' }] }, 'http://hl7.org/fhir/ValueSet/identifier-type');
    expect(check.status).toBe('valid');
    expect(bindingIssues(check, 'required', 'CodeableConcept')).toEqual([]);
  });
});

describe('systems not available offline', () => {
  const mixed = 'http://example.org/vs/mixed';
  it('value set mixing SNOMED CT and a loaded system is partially checkable', () => {
    expect(tx.expand(mixed)?.complete).toBe(false);
    expect(tx.validateCode({ system: SCT, code: '38341003' }, mixed)).toMatchObject({ status: 'not-checkable', messages: [{ severity: 'information' }] });
    expect(tx.validateCode({ system: SCT, code: '123' }, mixed).status).toBe('not-in-valueset');
    expect(tx.validateCode({ system: GENDER, code: 'other' }, mixed).status).toBe('valid');
    expect(tx.validateCode({ system: GENDER, code: 'x' }, mixed).status).toBe('unknown-code');
    expect(tx.validateCode({ system: 'http://loinc.org', code: '8310-5' }, mixed).status).toBe('valid');
    expect(tx.validateCode({ system: 'http://loinc.org', code: '8867-4' }, mixed).status).toBe('not-in-valueset');
  });

  it('G-Standaard and other unloaded OIDs are not checkable; unknown http systems are a warning', () => {
    const g = tx.validateCoding({ system: 'urn:oid:2.16.840.1.113883.2.4.4.10', code: '12345' });
    expect(g).toMatchObject({ status: 'not-checkable', messages: [{ severity: 'information', messageId: 'TX_NOT_CHECKABLE' }] });
    const u = tx.validateCoding({ system: 'http://example.org/unknown', code: 'a' });
    expect(u.status).toBe('unknown-system');
    expect(u.messages[0]).toMatchObject({ severity: 'warning', message: "A definition for CodeSystem 'http://example.org/unknown' could not be found, so the code cannot be validated" });
    expect(tx.validateCodeableConcept({ coding: [{ system: 'http://example.org/unknown', code: 'a' }] }, 'http://hl7.org/fhir/ValueSet/identifier-type').status).toBe('not-in-valueset');
  });

  it('unknown value sets', () => {
    const check = tx.validateCode({ code: 'x' }, 'http://example.org/vs/missing');
    expect(check).toMatchObject({ status: 'unknown-valueset', messages: [{ severity: 'warning', message: "ValueSet 'http://example.org/vs/missing' not found" }] });
  });
});

describe('grammar-checked systems', () => {
  it('UCUM: whole-system includes check syntax, enumerated includes (bb-vs) check membership', () => {
    expect(tx.validateCoding({ system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }, 'http://hl7.org/fhir/ValueSet/ucum-units').status).toBe('valid');
    expect(tx.validateCoding({ system: 'http://unitsofmeasure.org', code: 'kg/m2' }).status).toBe('valid');
    const bad = tx.validateCoding({ system: 'http://unitsofmeasure.org', code: 'xyz' });
    expect(bad.status).toBe('unknown-code');
    expect(bad.messages[0].message).toMatch(/^Error processing unit 'xyz': /);
    // Annotations as the reference's UCUM reads them: any ASCII text (a Dutch unit has spaces), but nothing else.
    for (const code of ['{eenheden per dag}', 'g{per week}/d', '{x}']) expect(tx.validateCoding({ system: 'http://unitsofmeasure.org', code }).status, code).toBe('valid');
    expect(tx.validateCoding({ system: 'http://unitsofmeasure.org', code: '{één}' }).messages[0].message).toBe("Error processing unit'{één}': Annotation contains non-ascii characters");
    for (const code of ['a', 'mo', 'wk', 'd']) expect(tx.validateCoding({ system: 'http://unitsofmeasure.org', code }, 'https://bb/ValueSet/BBDemographicAgeUnit').status).toBe('valid');
    expect(tx.validateCoding({ system: 'http://unitsofmeasure.org', code: 'h' }, 'https://bb/ValueSet/BBDemographicAgeUnit').status).toBe('not-in-valueset');
  });

  it('BCP-47 language tags and mime types', () => {
    expect(tx.validateCode({ code: 'nl-NL' }, 'http://hl7.org/fhir/ValueSet/all-languages').status).toBe('valid');
    expect(tx.validateCode({ code: 'nl_NL' }, 'http://hl7.org/fhir/ValueSet/all-languages').status).toBe('not-in-valueset');
    expect(tx.validateCoding({ system: 'urn:ietf:bcp:47', code: 'en-US' }, 'http://hl7.org/fhir/ValueSet/languages').status).toBe('valid');
    expect(tx.validateCoding({ system: 'urn:ietf:bcp:47', code: 'tlh' }, 'http://hl7.org/fhir/ValueSet/languages').status).toBe('not-in-valueset');
    const mime = tx.validateCode({ code: 'text/plain; charset=UTF-8' }, 'http://hl7.org/fhir/ValueSet/mimetypes');
    expect(mime).toMatchObject({ status: 'valid', system: 'urn:ietf:bcp:13' });
    // R4's CapabilityStatement.format names FHIR's formats so (xml | json | ttl | mime type), as the reference allows.
    for (const code of ['xml', 'json', 'ttl']) expect(tx.validateCode({ code }, 'http://hl7.org/fhir/ValueSet/mimetypes'), code).toMatchObject({ status: 'valid', system: 'urn:ietf:bcp:13' });
    expect(tx.validateCode({ code: 'yaml' }, 'http://hl7.org/fhir/ValueSet/mimetypes').status).toBe('not-in-valueset');
    expect(tx.validateCoding({ system: 'urn:ietf:bcp:13', code: 'json' }).status).toBe('unknown-code');
  });
});

describe('answers by coding', () => {
  it('keeps codings of one code apart by system and display, also past the most kept per code', () => {
    const shapes = testCs.url;
    // 40 displays of one code: more than are kept per code, so the earliest are forgotten and worked out again.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 40; i++) {
        const check = tx.validateCoding({ system: shapes, code: 'square', display: i === 0 ? 'Square' : `Square ${i}` });
        expect(check.status, `display ${i}`).toBe(i === 0 ? 'valid' : 'invalid-display');
        if (i > 0) expect(check.messages[0]?.message).toContain(`'Square ${i}'`);
      }
    }
    expect(tx.validateCoding({ system: GENDER, code: 'square' }).status).toBe('unknown-code');
  });
});

// How fast expansions and cached checks are is the bench's to measure (npm run bench); here, that they are cached.
describe('expansion cache', () => {
  it('expands each core value set once: asked again, the same expansion comes back', () => {
    const fresh = new TerminologyService(resolverOf(...coreResources));
    const sizes = coreResources
      .filter((r) => r.resourceType === 'ValueSet')
      .map((r) => {
        const canonical = `${r.url}|${r.version}`;
        const exp = fresh.expand(canonical);
        expect(fresh.expand(canonical), canonical).toBe(exp);
        let n = 0;
        for (const m of exp?.contains.values() ?? []) n += m.size;
        return n;
      });
    expect(Math.max(...sizes)).toBeGreaterThan(500);
  });

  it('answers a repeated CodeableConcept check from its cache, alike each time', () => {
    const fresh = new TerminologyService(resolverOf(...coreResources));
    const check = (code: string) => fresh.validateCodeableConcept({ coding: [{ system: ACT, code }] }, 'http://terminology.hl7.org/ValueSet/v3-ActEncounterCode');
    const first = { AMB: check('AMB'), XYZ: check('XYZ') };
    expect(first.AMB.status).toBe('valid');
    expect(first.XYZ.status).not.toBe('valid');
    for (let i = 0; i < 1000; i++) {
      expect(check('AMB')).toEqual(first.AMB);
      expect(check('XYZ')).toEqual(first.XYZ);
    }
  });
});
