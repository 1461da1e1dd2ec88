import { describe, expect, it } from 'vitest';
import { r4Model } from '../../src/formats/r4-model.js';

describe('r4Model', () => {
  const model = r4Model();

  it('is built once', () => {
    expect(r4Model()).toBe(model);
  });

  it('expands choice elements to their JSON names', () => {
    const q = model.child('Observation', 'valueQuantity')!;
    expect(q.type).toBe('Quantity');
    expect(q.node).toBe('Quantity');
    expect(q.def).toMatchObject({ path: 'Observation.value[x]', name: 'value', isChoice: true, isArray: false });
    expect(q.def.typeCodes).toContain('CodeableConcept');
    expect(model.child('Observation', 'valueDateTime')?.type).toBe('dateTime');
    expect(model.child('Observation', 'value')).toBeUndefined();
    expect(model.child('Extension', 'valueBase64Binary')?.type).toBe('base64Binary');
  });

  it('knows arrays, inline backbone elements and xml attributes', () => {
    expect(model.child('Patient', 'name')?.def.isArray).toBe(true);
    expect(model.child('Patient', 'gender')?.def.isArray).toBe(false);
    expect(model.child('Observation', 'component')).toMatchObject({ type: 'BackboneElement', node: 'Observation.component' });
    expect(model.child('Observation.component', 'code')?.def.min).toBe(1);
    expect(model.child('HumanName', 'id')?.def.xmlAttr).toBe(true);
    expect(model.child('Extension', 'url')?.def.xmlAttr).toBe(true);
    expect(model.child('string', 'value')?.def.xmlAttr).toBe(true);
    expect(model.child('Patient', 'id')?.def.xmlAttr).toBe(false);
    expect(model.child('Narrative', 'div')?.type).toBe('xhtml');
  });

  it('follows content references', () => {
    const item = model.child('Questionnaire.item', 'item')!;
    expect(item.def.contentReference).toBe('Questionnaire.item');
    expect(item.node).toBe('Questionnaire.item');
    expect(model.child('Parameters.parameter', 'part')?.node).toBe('Parameters.parameter');
    expect(model.element('Questionnaire.item.item')?.isArray).toBe(true);
  });

  it('marks resource containers', () => {
    for (const [node, name] of [
      ['Patient', 'contained'],
      ['Bundle.entry', 'resource'],
      ['Parameters.parameter', 'resource'],
      ['Bundle.entry.response', 'outcome'],
    ]) {
      expect(model.child(node!, name!)?.isResource, `${node}.${name}`).toBe(true);
    }
    expect(model.child('Patient', 'managingOrganization')?.isResource).toBe(false);
  });

  it('keeps snapshot order, resource elements first', () => {
    const names = model.node('Patient')!.children.map((c) => c.name);
    expect(names.slice(0, 9)).toEqual(['id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'extension', 'modifierExtension', 'identifier']);
    expect(names.indexOf('name')).toBeLessThan(names.indexOf('birthDate'));
  });

  it('has R4 types and resources only', () => {
    expect(model.isResourceType('Patient')).toBe(true);
    expect(model.isResourceType('SubscriptionStatus')).toBe(false);
    expect(model.isResourceType('Quantity')).toBe(false);
    expect(model.node('SimpleQuantity')).toBeUndefined();
    expect(model.isPrimitiveType('positiveInt')).toBe(true);
    expect(model.isPrimitiveType('Coding')).toBe(false);
    expect(model.typeUrl('Observation')).toBe('http://hl7.org/fhir/StructureDefinition/Observation|4.0.1');
  });
});
