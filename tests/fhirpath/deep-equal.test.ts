import { describe, expect, it } from 'vitest';
import { deepEqual, intersect } from '../../src/validation/fhirpath/runtime.js';

describe('deepEqual on JSON objects (deep-equal.js objEquiv)', () => {
  it('compares key sets regardless of order, then values', () => {
    expect(deepEqual({ system: 's', code: 'c' }, { code: 'c', system: 's' })).toBe(true);
    expect(deepEqual({ system: 's', code: 'c' }, { system: 's', code: 'd' })).toBe(false);
    // as many keys, other names
    expect(deepEqual({ system: 's', code: 'c' }, { system: 's', display: 'c' })).toBe(false);
    // a subset either way
    expect(deepEqual({ system: 's' }, { system: 's', code: 'c' })).toBe(false);
    expect(deepEqual({ system: 's', code: 'c' }, { system: 's' })).toBe(false);
    expect(deepEqual({}, {})).toBe(true);
  });

  it('recurses into arrays and objects, numbers rounded to 8 decimals', () => {
    const a = { coding: [{ system: 's', code: 'c' }], value: 0.1 + 0.2 };
    expect(deepEqual(a, { value: 0.3, coding: [{ code: 'c', system: 's' }] })).toBe(true);
    expect(deepEqual(a, { value: 0.3, coding: [{ code: 'c', system: 's' }, { code: 'c', system: 's' }] })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
  });

  it('intersects codings by deep equality', () => {
    const x = { system: 'http://loinc.org', code: '8480-6' };
    expect(intersect([x, { system: 'a', code: 'b' }], [{ code: '8480-6', system: 'http://loinc.org' }])).toEqual([x]);
    expect(intersect([x], [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic' }])).toEqual([]);
  });
});
