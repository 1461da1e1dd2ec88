import { describe, expect, it } from 'vitest';
import { indexBundle } from '../../src/validation/bundle.js';

const BASE = 'http://example.org/fhir/';
const patient = (id: string, versionId?: string): Record<string, unknown> => ({ resourceType: 'Patient', id, ...(versionId ? { meta: { versionId } } : {}) });

const bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    { fullUrl: `${BASE}Patient/a`, resource: patient('a', '1') },
    { fullUrl: `${BASE}Patient/a`, resource: patient('a', '2') },
    { fullUrl: `${BASE}Observation/o`, resource: { resourceType: 'Observation', id: 'o' } },
    // not RESTful for its resource: the id differs
    { fullUrl: `${BASE}Observation/x`, resource: { resourceType: 'Observation', id: 'y' } },
    { fullUrl: 'urn:uuid:1111', resource: patient('u') },
    { fullUrl: 'urn:uuid:2222', resource: { resourceType: 'Observation' } },
    { resource: patient('nofullurl') },
    null,
    // names its resource, but only an http(s) base is RESTful
    { fullUrl: 'ftp://example.org/fhir/Patient/f', resource: patient('f') },
  ],
};

const indexes = (list: readonly { index: number }[]): number[] => list.map((e) => e.index);

// Past 16 entries lookups go through a map by fullUrl, below it they scan the entries: both ways must agree.
const large = { ...bundle, entry: [...bundle.entry, ...Array.from({ length: 20 }, (_, i) => ({ fullUrl: `urn:uuid:filler-${i}`, resource: patient(`filler-${i}`) }))] };

describe.each([
  ['scanned', bundle],
  ['mapped', large],
])('Bundle index (%s)', (_, b) => {
  const index = indexBundle(b, 'Bundle');

  it('keeps every entry, with its path', () => {
    expect(index.type).toBe('collection');
    expect(index.entries.map((e) => e.path)).toEqual(b.entry.map((_, i) => `Bundle.entry[${i}]`));
    expect(index.entries[6]!.fullUrl).toBeUndefined();
    expect(index.entries[7]!.resource).toBeUndefined();
  });

  it('finds absolute and urn references by fullUrl, all duplicates', () => {
    expect(indexes(index.candidates(`${BASE}Patient/a`))).toEqual([0, 1]);
    expect(indexes(index.candidates('urn:uuid:1111'))).toEqual([4]);
    expect(indexes(index.candidates('urn:uuid:3333'))).toEqual([]);
    expect(index.resolve(`${BASE}Observation/o`)?.index).toBe(2);
  });

  it('narrows a versioned reference to the entries with that versionId', () => {
    expect(indexes(index.candidates(`${BASE}Patient/a/_history/2`))).toEqual([1]);
    expect(indexes(index.candidates(`${BASE}Patient/a/_history/3`))).toEqual([]);
    // the version runs to a second marker, as String.split reads it
    expect(indexes(index.candidates(`${BASE}Patient/a/_history/1/_history/2`))).toEqual([0]);
    expect(indexes(index.candidates('Patient/a/_history/1', `${BASE}Observation/o`))).toEqual([0]);
  });

  it('resolves a relative reference against the RESTful base of the referring entry only', () => {
    expect(indexes(index.candidates('Patient/a', `${BASE}Observation/o`))).toEqual([0, 1]);
    // the same call again (the base is remembered per entry)
    expect(indexes(index.candidates('Patient/a', `${BASE}Observation/o`))).toEqual([0, 1]);
    expect(indexes(index.candidates('Patient/a', `${BASE}Observation/x`))).toEqual([]);
    expect(indexes(index.candidates('Patient/a'))).toEqual([]);
    expect(indexes(index.candidates('Patient/a', 'http://elsewhere.org/Patient/z'))).toEqual([]);
    expect(indexes(index.candidates('Patient/a', 'ftp://example.org/fhir/Patient/f'))).toEqual([]);
  });

  it('reads Type/id from a urn: entry as the urn with that id, whatever the type', () => {
    expect(indexes(index.candidates('Observation/2222', 'urn:uuid:1111'))).toEqual([5]);
    expect(indexes(index.candidates('Anything/1111', 'urn:uuid:2222'))).toEqual([4]);
    expect(indexes(index.candidates('1111', 'urn:uuid:2222'))).toEqual([]);
  });

  it('finds the fullUrl of an entry by its resource, in any order', () => {
    const resources = b.entry.map((e) => e?.resource);
    expect(index.fullUrlOfEntry(resources[4]!)).toBe('urn:uuid:1111');
    expect(index.fullUrlOfEntry(resources[0]!)).toBe(`${BASE}Patient/a`);
    expect(index.fullUrlOfEntry(resources[6]!)).toBeUndefined();
    expect(index.fullUrlOfEntry({})).toBeUndefined();
  });

  it('finds entries past the first sixteen', () => {
    expect(indexes(index.candidates('urn:uuid:filler-19'))).toEqual(b === large ? [28] : []);
    expect(indexes(index.candidates('Patient/filler-3', 'urn:uuid:1111'))).toEqual(b === large ? [12] : []);
  });

  it('indexes a Bundle without entries', () => {
    const empty = indexBundle({ resourceType: 'Bundle', type: 7 }, 'Bundle');
    expect(empty.entries).toEqual([]);
    expect(empty.type).toBeUndefined();
    expect(empty.candidates('urn:uuid:1')).toEqual([]);
    expect(empty.fullUrlOfEntry({})).toBeUndefined();
  });
});
