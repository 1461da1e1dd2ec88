import { describe, expect, it } from 'vitest';
import { peekResourceType, typeOrder } from '../../src/pipeline/type-order.js';

describe('the order a worker validates a batch in', () => {
  it.each([
    ['first', '{"resourceType":"Patient","id":"a"}', 'Patient'],
    ['later, spaced and tabbed', '{"id":"a", "resourceType" :\t "Observation"}', 'Observation'],
    ['absent', '{"id":"a"}', ''],
    ['not a string', '{"resourceType":17}', ''],
    ['cut off', '{"resourceType":"Pat', ''],
  ])('reads the resourceType from the JSON text: %s', (_case, text, type) => {
    expect(peekResourceType(text)).toBe(type);
  });

  it('puts the items of one type and profile together, each group in the batch order, every index once', () => {
    const texts = ['{"resourceType":"Patient"}', '{"resourceType":"Observation"}', 'not json', '{"resourceType":"Patient"}', '{"resourceType":"Observation"}', '{"resourceType":"Patient"}'];
    expect([...typeOrder(texts)]).toEqual([0, 3, 5, 1, 4, 2]);
    const profiles = [undefined, undefined, undefined, 'http://example.org/p', undefined, undefined];
    expect([...typeOrder(texts, profiles)]).toEqual([0, 5, 1, 4, 2, 3]);
    expect([...typeOrder([])]).toEqual([]);
  });
});
