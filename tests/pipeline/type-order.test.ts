import { describe, expect, it } from 'vitest';
import { peekResourceType, typeOrder } from '../../src/pipeline/type-order.js';

describe('the order a worker validates a batch in', () => {
  it('reads the resourceType from the JSON text, wherever it stands and however it is spaced', () => {
    expect(peekResourceType('{"resourceType":"Patient","id":"a"}')).toBe('Patient');
    expect(peekResourceType('{"id":"a", "resourceType" :\t "Observation"}')).toBe('Observation');
    expect(peekResourceType('{"id":"a"}')).toBe('');
    expect(peekResourceType('{"resourceType":17}')).toBe('');
    expect(peekResourceType('{"resourceType":"Pat')).toBe('');
  });

  it('puts the items of one type and profile together, each group in the batch order, every index once', () => {
    const texts = ['{"resourceType":"Patient"}', '{"resourceType":"Observation"}', 'not json', '{"resourceType":"Patient"}', '{"resourceType":"Observation"}', '{"resourceType":"Patient"}'];
    expect([...typeOrder(texts)]).toEqual([0, 3, 5, 1, 4, 2]);
    const profiles = [undefined, undefined, undefined, 'http://example.org/p', undefined, undefined];
    expect([...typeOrder(texts, profiles)]).toEqual([0, 5, 1, 4, 2, 3]);
    expect([...typeOrder([])]).toEqual([]);
  });
});
