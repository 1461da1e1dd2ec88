import { describe, expect, it } from 'vitest';
import { toBsn, toDate, toDateTime, TRANSFORMS } from '../../src/mapping/transforms.js';
import { codeMapFromConceptMap, codeMapFromTable } from '../../src/mapping/codemaps.js';

describe('Dutch dates', () => {
  it('reads dd-mm-yyyy, d-m-yyyy, yyyymmdd and ISO', () => {
    expect(toDate('01-02-2020')).toBe('2020-02-01');
    expect(toDate('3-4-2021')).toBe('2021-04-03');
    expect(toDate('29/02/2024')).toBe('2024-02-29');
    expect(toDate('19450817')).toBe('1945-08-17');
    expect(toDate('2020-12-31')).toBe('2020-12-31');
  });

  it('rejects impossible and unknown dates', () => {
    expect(() => toDate('29-02-2023')).toThrow(/not a valid date/);
    expect(() => toDate('31-13-2020')).toThrow(/not a valid date/);
    expect(() => toDate('2020/01/01')).toThrow(/known format/);
    expect(() => toDate('gisteren')).toThrow(/known format/);
  });

  it('quotes a long value cut, so that the reason stays one readable line', () => {
    expect(() => toDate('x'.repeat(5000))).toThrow(new RegExp(`^'${'x'.repeat(57)}…' is not a date in a known format`));
    expect(() => toDate('x'.repeat(60))).toThrow(new RegExp(`^'${'x'.repeat(60)}' is not`));
  });
});

describe('Europe/Amsterdam date-times', () => {
  it('gives winter and summer offsets', () => {
    expect(toDateTime('15-01-2024 08:30')).toBe('2024-01-15T08:30:00+01:00');
    expect(toDateTime('15-07-2024 08:30')).toBe('2024-07-15T08:30:00+02:00');
    expect(toDateTime('202407150830')).toBe('2024-07-15T08:30:00+02:00');
    expect(toDateTime('2024-07-15T08:30')).toBe('2024-07-15T08:30:00+02:00');
  });

  it('is DST-correct around the switches', () => {
    // 31 March 2024: 02:00 → 03:00 local
    expect(toDateTime('31-03-2024 01:59')).toBe('2024-03-31T01:59:00+01:00');
    expect(toDateTime('31-03-2024 03:00')).toBe('2024-03-31T03:00:00+02:00');
    expect(() => toDateTime('31-03-2024 02:30')).toThrow(/DST gap/);
    // 27 October 2024: 03:00 → 02:00 local; the ambiguous hour is taken as summer time
    expect(toDateTime('27-10-2024 02:30')).toBe('2024-10-27T02:30:00+02:00');
    expect(toDateTime('27-10-2024 03:00')).toBe('2024-10-27T03:00:00+01:00');
    expect(toDateTime('27-10-2024 01:59')).toBe('2024-10-27T01:59:00+02:00');
  });

  it('passes offsets through and falls back to a date', () => {
    expect(toDateTime('2024-07-15T08:30:00Z')).toBe('2024-07-15T08:30:00Z');
    expect(toDateTime('15-07-2024')).toBe('2024-07-15');
    expect(() => toDateTime('15-07-2024 25:00')).toThrow(/valid time/);
  });
});

describe('identifiers and scalars', () => {
  it('checks the BSN 11-check', () => {
    expect(toBsn('123456782')).toBe('123456782');
    expect(toBsn('12345672')).toBe('012345672');
    expect(() => toBsn('123456781')).toThrow(/11-check/);
    expect(() => toBsn('000000000')).toThrow(/11-check/);
    expect(() => toBsn('12AB')).toThrow(/digits/);
  });

  it('reads AGB, numbers and booleans', () => {
    expect(TRANSFORMS.agb('01234567')).toBe('01234567');
    expect(() => TRANSFORMS.ura('123')).toThrow(/8 digits/);
    expect(TRANSFORMS.decimal('2,5')).toBe(2.5);
    expect(TRANSFORMS.integer('-3')).toBe(-3);
    expect(TRANSFORMS.boolean('Ja')).toBe(true);
    expect(() => TRANSFORMS.boolean('misschien')).toThrow(/yes\/no/);
  });
});

describe('code maps', () => {
  it('builds from tables, with null for known codes that map to nothing', () => {
    const m = codeMapFromTable('http://snomed.info/sct', { REA: '89666000', IC: { code: '305351004', display: 'Opname IC' }, X: null });
    expect(m.get('REA')).toEqual({ system: 'http://snomed.info/sct', code: '89666000' });
    expect(m.get('IC')).toEqual({ system: 'http://snomed.info/sct', code: '305351004', display: 'Opname IC' });
    expect(m.get('X')).toBeNull();
    expect(m.has('Y')).toBe(false);
  });

  it('builds from a ConceptMap, skipping unmatched targets', () => {
    const m = codeMapFromConceptMap(
      {
        resourceType: 'ConceptMap',
        group: [
          {
            target: 'urn:oid:2.16.840.1.113883.2.4.4.10',
            element: [
              { code: 'PARA500', target: [{ code: '2194', display: 'PARACETAMOL 500MG', equivalence: 'equivalent' }] },
              { code: 'OLD', target: [{ equivalence: 'unmatched' }] },
            ],
          },
        ],
      },
      'cm.json',
    );
    expect(m.get('PARA500')).toEqual({ system: 'urn:oid:2.16.840.1.113883.2.4.4.10', code: '2194', display: 'PARACETAMOL 500MG' });
    expect(m.get('OLD')).toBeNull();
    expect(() => codeMapFromConceptMap({ resourceType: 'ValueSet' }, 'vs.json')).toThrow(/vs\.json is not a ConceptMap/);
  });
});
