import { describe, expect, it } from 'vitest';
import { FullUrlTable, OnDiskIndex } from '../../src/validation/bundle-on-disk.js';
import { indexBundle } from '../../src/validation/bundle.js';

describe('FullUrlTable', () => {
  it('names every entry of a fullUrl among its candidates, in order, through its growth', () => {
    const table = new FullUrlTable();
    const urls = Array.from({ length: 50_000 }, (_, i) => `urn:uuid:${i % 20_000}`);
    urls.forEach((url, i) => table.add(i, i % 7 === 0 ? undefined : url));
    for (const i of [1, 2, 19_999, 20_001, 49_999]) {
      const expected = urls.flatMap((url, j) => (url === urls[i] && j % 7 !== 0 ? [j] : []));
      const candidates = table.candidates(urls[i]!);
      expect(candidates).toEqual(expect.arrayContaining(expected));
      expect(candidates).toEqual([...candidates].sort((a, b) => a - b));
    }
    expect(table.candidates('urn:uuid:not-there').length).toBeLessThanOrEqual(1);
    // Entries sharing a fullUrl share its hash: they are among the pairs noted.
    const shared = new Set(table.sharedHashes);
    expect(shared.has(1) && shared.has(20_001) && shared.has(40_001)).toBe(true);
  });
});

describe('OnDiskIndex', () => {
  const values = [
    { fullUrl: 'http://x.org/fhir/Patient/a', resource: { resourceType: 'Patient', id: 'a', meta: { versionId: '1' } } },
    { fullUrl: 'http://x.org/fhir/Patient/a', resource: { resourceType: 'Patient', id: 'a', meta: { versionId: '2' } } },
    { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Observation', id: '1' } },
    { resource: { resourceType: 'Basic' } },
  ];
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: values };

  it('resolves references as the in-memory index does, reading back only the entries it needs', () => {
    const table = new FullUrlTable();
    values.forEach((v, i) => table.add(i, v.fullUrl));
    const reads: number[] = [];
    const onDisk = new OnDiskIndex('collection', table, 'Bundle', (i) => (reads.push(i), structuredClone(values[i])));
    const held = indexBundle(bundle, 'Bundle');
    onDisk.walking(2, structuredClone(values[2]));
    for (const [reference, from] of [['Patient/a', 'http://x.org/fhir/Patient/a'], ['Patient/a/_history/2', 'http://x.org/fhir/Patient/a'], ['urn:uuid:1', undefined], ['Observation/1', 'urn:uuid:1'], ['Basic/9', undefined]] as const) {
      const describe = (list: readonly { index: number; path: string; fullUrl?: string }[]) => list.map((e) => [e.index, e.path, e.fullUrl]);
      expect(describe(onDisk.candidates(reference, from)), reference).toEqual(describe(held.candidates(reference, from)));
    }
    // The entry in hand is not read again.
    expect(reads).not.toContain(2);
    expect(onDisk.fullUrlOfEntry(onDisk.entryAt(2)!.resource!)).toBe('urn:uuid:1');
  });
});
