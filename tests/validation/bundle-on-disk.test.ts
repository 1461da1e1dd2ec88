import { describe, expect, it } from 'vitest';
import { FullUrlTable, OnDiskIndex } from '../../src/validation/bundle-on-disk.js';
import { indexBundle } from '../../src/validation/bundle.js';
import { SpanList } from '../../src/formats/bundle-scan.js';

describe('FullUrlTable', () => {
  it('names every entry of a fullUrl among its candidates, in order, over blocks of them', () => {
    const table = new FullUrlTable();
    const urls = Array.from({ length: 150_000 }, (_, i) => `urn:uuid:${i % 20_000}`);
    urls.forEach((url, i) => table.add(i, i % 7 === 0 ? undefined : url));
    table.seal();
    for (const i of [1, 2, 19_999, 20_001, 49_999, 149_999]) {
      const expected = urls.flatMap((url, j) => (url === urls[i] && j % 7 !== 0 ? [j] : []));
      const candidates = table.candidates(urls[i]!);
      expect(candidates).toEqual(expect.arrayContaining(expected));
      expect(candidates).toEqual([...candidates].sort((a, b) => a - b));
    }
    expect(table.candidates('urn:uuid:not-there').length).toBeLessThanOrEqual(1);
    // Entries sharing a fullUrl share its hash: they are among the pairs noted.
    const shared = new Set(table.sharedHashes);
    expect(shared.has(1) && shared.has(20_001) && shared.has(40_001) && shared.has(149_999)).toBe(true);
    // Each fullUrl here is held by 7 or 8 entries; noted once each.
    expect(table.sharedHashes.length).toBe(shared.size);
    expect(shared.size).toBeGreaterThanOrEqual(urls.filter((_, i) => i % 7 !== 0).length);
  });

  it('notes no entry whose fullUrl hash is its own', () => {
    const table = new FullUrlTable();
    for (let i = 0; i < 1000; i++) table.add(i, `urn:uuid:${i}`);
    table.seal();
    expect(table.sharedHashes).toEqual([]);
    expect(table.candidates('urn:uuid:999')).toEqual([999]);
    expect(table.candidates('urn:uuid:0')).toEqual([0]);
  });
});

describe('a scanned Bundle in shared memory', () => {
  it('gives a worker the same table and spans, not copies of them', () => {
    const table = new FullUrlTable();
    const spans = new SpanList();
    const count = 70_000;
    for (let i = 0; i < count; i++) {
      table.add(i, `urn:uuid:${i}`);
      spans.add({ index: i, start: i * 10, end: i * 10 + 9, line: i + 1, column: 3, text: '', fullUrl: undefined, fullUrlRead: true });
    }
    table.seal();
    // What a worker receives: a structured clone, revived.
    const theirs = FullUrlTable.revive(structuredClone(table));
    const theirSpans = SpanList.revive(structuredClone(spans));
    expect(theirs.candidates('urn:uuid:69999')).toContain(69_999);
    for (const i of [2999, 65_536, 69_999]) expect([theirSpans.start(i), theirSpans.end(i), theirSpans.line(i), theirSpans.column(i)]).toEqual([i * 10, i * 10 + 9, i + 1, 3]);
    expect(theirSpans.length).toBe(count);
    const views = (value: object): ArrayBufferView[] => Object.values(value).flat().filter((field) => ArrayBuffer.isView(field));
    for (const held of [table, theirs, spans, theirSpans]) {
      expect(views(held).length).toBeGreaterThan(0);
      for (const view of views(held)) expect(view.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    // Still a list that grows.
    spans.add({ index: count, start: 700_000, end: 700_009, line: count + 1, column: 1, text: '', fullUrl: undefined, fullUrlRead: true });
    expect(spans.end(count)).toBe(700_009);
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
