import { describe, expect, it } from 'vitest';
import { FullUrlTable, OnDiskIndex } from '../../src/validation/bundle-on-disk.js';
import { indexBundle } from '../../src/validation/bundle.js';
import { readdirSync } from 'node:fs';
import { serialize } from 'node:v8';
import { tmpdir } from 'node:os';
import { SpanList } from '../../src/formats/bundle-scan.js';

/** The table's shared-hash entries as runs of entry numbers. */
function sharedRuns(table: FullUrlTable): number[][] {
  const runs: number[][] = [];
  for (const { run, index } of table.sharedHashEntries()) (runs[run] ??= []).push(index);
  return runs;
}

describe('FullUrlTable', () => {
  it('names every entry of a fullUrl among its candidates, in order, as the table grows', () => {
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
    // Entries sharing a fullUrl share its hash: they are in one run, in entry order.
    const runs = sharedRuns(table);
    const runOf1 = runs.find((run) => run.includes(1))!;
    expect([20_001, 40_001, 140_001].every((i) => runOf1.includes(i))).toBe(true);
    for (const run of runs) expect(run).toEqual([...run].sort((a, b) => a - b));
    // Each fullUrl here is held by 7 or 8 entries; each entry is in one run.
    const shared = runs.flat();
    expect(new Set(shared).size).toBe(shared.length);
    expect(shared.length).toBeGreaterThanOrEqual(urls.filter((_, i) => i % 7 !== 0).length);
    table.close();
  });

  it('gives back the memory of its pairs once they are sealed into the file', () => {
    const table = new FullUrlTable();
    // 16 MB of pairs: resident until sealed, then freed at once rather than at some later collection.
    for (let i = 0; i < 2_000_000; i++) table.add(i, `urn:uuid:${i}`);
    const before = process.memoryUsage.rss();
    table.seal();
    expect(before - process.memoryUsage.rss()).toBeGreaterThan(12 * 2 ** 20);
    expect(table.candidates('urn:uuid:1999999')).toContain(1_999_999);
    table.close();
  });

  it('finds the entries of a fullUrl that many share, across the blocks of the pairs file', () => {
    const table = new FullUrlTable();
    // 1,500 entries share one fullUrl (three blocks of pairs and more), between others before and after it.
    const urls = Array.from({ length: 4000 }, (_, i) => (i >= 1000 && i < 2500 ? 'urn:uuid:same' : `urn:uuid:${i}`));
    urls.forEach((url, i) => table.add(i, url));
    table.seal();
    expect(table.candidates('urn:uuid:same')).toEqual(Array.from({ length: 1500 }, (_, i) => 1000 + i));
    // Its run is read across the blocks too, and the entries of a fullUrl of their own are in none.
    expect(sharedRuns(table)).toEqual([Array.from({ length: 1500 }, (_, i) => 1000 + i)]);
    for (const i of [0, 999, 2500, 3999]) expect(table.candidates(`urn:uuid:${i}`)).toContain(i);
    table.close();
  });

  it('notes no entry whose fullUrl hash is its own', () => {
    const table = new FullUrlTable();
    for (let i = 0; i < 1000; i++) table.add(i, `urn:uuid:${i}`);
    table.seal();
    expect(sharedRuns(table)).toEqual([]);
    expect(table.candidates('urn:uuid:999')).toEqual([999]);
    expect(table.candidates('urn:uuid:0')).toEqual([0]);
    table.close();
  });
});

describe('a scanned Bundle shared with workers', () => {
  it('gives a worker the same table and spans, read from the same scratch files', () => {
    const table = new FullUrlTable();
    const spans = SpanList.create();
    const count = 70_000;
    const span = (i: number) => ({ index: i, start: i * 10 + 2 ** 33, end: i * 10 + 9 + 2 ** 33, line: i + 1, column: 3, text: '', fullUrl: undefined, fullUrlRead: true });
    for (let i = 0; i < count; i++) {
      table.add(i, `urn:uuid:${i}`);
      spans.add(span(i));
    }
    expect(() => spans.start(0)).toThrow(/before they are all added/);
    expect(() => FullUrlTable.revive(structuredClone(table))).toThrow(/before it is sealed/);
    table.seal();
    spans.done();
    // Nothing of the scratch files is left in the temporary folder, even while they are open.
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('fhirdq-') && name.includes(`-${process.pid}-`))).toEqual([]);
    // What a worker receives: a structured clone, revived.
    const theirs = FullUrlTable.revive(structuredClone(table));
    const theirSpans = SpanList.revive(structuredClone(spans));
    expect(theirSpans.length).toBe(count);
    for (const held of [table, theirs]) for (const i of [0, 511, 512, 69_999]) expect(held.candidates(`urn:uuid:${i}`)).toContain(i);
    // Read in runs, and out of them (an entry read back), in both threads' lists.
    for (const list of [spans, theirSpans]) {
      for (const i of [0, 1, 3275, 3276, 65_536, 69_999, 12, 40_000, 40_001]) {
        const { start, end, line, column } = span(i);
        expect([list.start(i), list.end(i), list.line(i), list.column(i)]).toEqual([start, end, line, column]);
      }
      expect(() => list.line(count)).toThrow(RangeError);
    }
    // A worker's copies leave the files open; the table and list that made them close them.
    theirSpans.close();
    theirs.close();
    expect(spans.line(5)).toBe(6);
    expect(table.candidates('urn:uuid:123')).toContain(123);
    spans.close();
    table.close();
    expect(() => table.candidates('urn:uuid:99999')).toThrow(/closed/);
  });

  it('sends a worker a table of a few KB, also when every entry repeats one resource', () => {
    const table = new FullUrlTable();
    // A Bundle that repeats one resource: 200,000 entries with one `type/id`.
    for (let i = 0; i < 200_000; i++) table.add(i, 'Patient/pat-good');
    table.seal();
    expect(serialize(table).byteLength).toBeLessThan(8 * 1024);
    const theirs = FullUrlTable.revive(structuredClone(table));
    expect(theirs.candidates('Patient/pat-good')).toHaveLength(200_000);
    expect(sharedRuns(table)).toEqual([Array.from({ length: 200_000 }, (_, i) => i)]);
    table.close();
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
    const onDisk = new OnDiskIndex('collection', table, 'Bundle', (i) => (reads.push(i), structuredClone(values[i])), values.length);
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

  it('finds the entries of a type and id as the in-memory index does, by reading the Bundle again once', () => {
    const table = new FullUrlTable();
    values.forEach((v, i) => table.add(i, v.fullUrl));
    const onDisk = new OnDiskIndex('collection', table, 'Bundle', (i) => structuredClone(values[i]), values.length);
    const held = indexBundle(bundle, 'Bundle');
    for (const [type, id] of [['Patient', 'a'], ['Observation', '1'], ['Patient', '1'], ['Basic', 'x']] as const) {
      const describe = (list: readonly { index: number; fullUrl?: string }[]) => list.map((e) => [e.index, e.fullUrl]);
      expect(describe(onDisk.withTypeAndId(type, id, 9)), `${type}/${id}`).toEqual(describe(held.withTypeAndId(type, id, 9)));
    }
    onDisk.close();
    table.close();
  });
});
