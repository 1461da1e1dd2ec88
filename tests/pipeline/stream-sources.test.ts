import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { readSource, type SourceSpec } from '../../src/formats/stream-source.js';
import { expandInputs, globToRegExp } from '../../src/formats/stream-open.js';
import type { SourceItem } from '../../src/formats/stream-record.js';

let dir: string;

async function collect(spec: Omit<SourceSpec, 'name'>): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of readSource({ name: 'test', ...spec }, dir)) out.push(item);
  return out;
}

const patient = (id: string) => ({ resourceType: 'Patient', id });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-stream-'));
  await mkdir(path.join(dir, 'sub/deeper'), { recursive: true });
  const csv = 'bsn;naam;datum\r\n123456782;Jos\u00e9 M\u00fcller;01-02-2020\r\n111222333;Ren\u00e9e;3-4-2021\r\n';
  await writeFile(path.join(dir, 'cp1252.csv'), iconv.encode(csv, 'windows-1252'));
  await writeFile(path.join(dir, 'zipped.csv'), gzipSync(iconv.encode(csv, 'windows-1252')));
  await writeFile(path.join(dir, 'columns.csv'), 'a,b,c\n1,2,3\n1,2\n1,2,3,4\n"unterminated,2,3\n');
  await writeFile(path.join(dir, 'quotes.csv'), 'a;b;c\n1;tablet "bij pijn";x\n2;"bij pijn" 2x;y\n3;"regel één\nregel ""twee""";z\n4;"open;w\n5;ok;v\n6;ok;u\n');
  await writeFile(path.join(dir, 'stray.csv'), 'a,b,c\n1,"x\n2,p,q\n3,r",s,t\n4,ok,v\n');
  const goodRows = Array.from({ length: 120 }, (_, i) => `${i},ok,fine`).join('\n');
  await writeFile(path.join(dir, 'far.csv'), `a,b,c\n1,"opened\n${goodRows}\n9,closed",late\n`);
  await writeFile(path.join(dir, 'badutf8.csv'), Buffer.concat([Buffer.from('a,b\nok,fine\nx,caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  await writeFile(path.join(dir, 'is-json.csv'), JSON.stringify([patient('a')]));
  await writeFile(path.join(dir, 'lines.ndjson'), `${JSON.stringify(patient('a'))}\n{"resourceType": "Patient", "id": \n\n${JSON.stringify(patient('c'))}\n`);
  await writeFile(path.join(dir, 'sub/gz-no-ext.ndjson'), gzipSync(`${JSON.stringify(patient('z'))}\n`));
  await writeFile(path.join(dir, 'array.json'), JSON.stringify([patient('a'), 42, patient('b')]));
  await writeFile(path.join(dir, 'single.json'), JSON.stringify(patient('only')));
  const entries = [patient('e1'), patient('e2'), { resourceType: 'Observation', id: 'o1', valueQuantity: { value: 1.5 } }].map((resource) => ({
    fullUrl: `urn:uuid:${resource.id}`,
    resource,
  }));
  await writeFile(path.join(dir, 'sub/deeper/collection.json'), JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: entries }, null, 2));
  await writeFile(path.join(dir, 'late-type.json'), JSON.stringify({ entry: entries, type: 'batch', resourceType: 'Bundle' }));
  await writeFile(path.join(dir, 'document.json'), JSON.stringify({ resourceType: 'Bundle', type: 'document', entry: entries }));
  await writeFile(path.join(dir, 'broken.json'), `[${JSON.stringify(patient('a'))}, {"resourceType": "Pat`);
  await writeFile(path.join(dir, 'binary.json'), Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 1, 2]));
  await writeFile(path.join(dir, 'notes.pdf'), 'x');
  const xmlPatient = (id: string) => `<Patient><id value="${id}"/><active value="true"/></Patient>`;
  await writeFile(
    path.join(dir, 'bundle.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<Bundle xmlns="http://hl7.org/fhir">\n  <type value="collection"/>\n  <entry>\n    <resource>${xmlPatient('x1')}</resource>\n  </entry>\n  <entry>\n    <resource>${xmlPatient('x2')}</resource>\n  </entry>\n</Bundle>\n`,
  );
  await writeFile(path.join(dir, 'broken.xml'), '<Patient xmlns="http://hl7.org/fhir">\n  <id value="a"/>\n  <active value="true">\n</Patient>');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CSV', () => {
  it('decodes windows-1252 with a ; delimiter and keeps line numbers', async () => {
    const items = await collect({ inputs: ['cp1252.csv'], csv: { delimiter: ';', encoding: 'windows-1252' } });
    expect(items).toEqual([
      { kind: 'record', source: 'test', file: path.join(dir, 'cp1252.csv'), line: 2, record: { bsn: '123456782', naam: 'Jos\u00e9 M\u00fcller', datum: '01-02-2020' } },
      { kind: 'record', source: 'test', file: path.join(dir, 'cp1252.csv'), line: 3, record: { bsn: '111222333', naam: 'Ren\u00e9e', datum: '3-4-2021' } },
    ]);
  });

  it('gunzips by magic bytes even without a .gz name', async () => {
    const items = await collect({ inputs: ['zipped.csv'], csv: { delimiter: ';', encoding: 'windows-1252' } });
    expect(items.map((i) => i.kind === 'record' && i.record.naam)).toEqual(['Jos\u00e9 M\u00fcller', 'Ren\u00e9e']);
  });

  it('rejects rows with a wrong column count or broken quoting, and goes on', async () => {
    const items = await collect({ inputs: ['columns.csv'] });
    expect(items.map((i) => [i.kind, 'line' in i ? i.line : -1])).toEqual([
      ['record', 2],
      ['rejected', 3],
      ['rejected', 4],
      ['rejected', 5],
    ]);
    const [, short, long, quote] = items;
    expect(short).toMatchObject({ field: 'c', reason: expect.stringContaining('expected 3 columns') });
    expect(long).toMatchObject({ field: 'column 4' });
    expect(quote).toMatchObject({ reason: expect.stringContaining('malformed CSV') });
  });

  it('keeps stray quotes inside a value as text, and a quoted value over lines as one value', async () => {
    const items = await collect({ inputs: ['quotes.csv'], csv: { delimiter: ';' } });
    const records = items.flatMap((i) => (i.kind === 'record' ? [[i.line, i.record.b]] : []));
    expect(records.slice(0, 3)).toEqual([[2, 'tablet "bij pijn"'], [3, '"bij pijn" 2x'], [4, 'regel één\nregel "twee"']]);
  });

  it('a quote that is never closed costs its own line only: every row after it is read', async () => {
    const items = await collect({ inputs: ['quotes.csv'], csv: { delimiter: ';' } });
    expect(items.slice(3).map((i) => [i.kind, 'line' in i ? i.line : -1])).toEqual([['rejected', 6], ['record', 7], ['record', 8]]);
    expect(items[3]).toMatchObject({ reason: expect.stringMatching(/^malformed CSV: a quote opened in this line is not closed before the end of the file/) });
  });

  it('two stray quotes do not make the lines between them one value: the row they give has the wrong column count', async () => {
    const items = await collect({ inputs: ['stray.csv'] });
    expect(items.map((i) => [i.kind, 'line' in i ? i.line : -1])).toEqual([['rejected', 2], ['record', 3], ['rejected', 4], ['record', 5]]);
    expect(items[0]).toMatchObject({ reason: expect.stringContaining('from this line to line 4 leaves the row with 4 columns, not 3') });
    expect(items[1]).toMatchObject({ record: { a: '2', b: 'p', c: 'q' } });
  });

  it('a quoted value open for more than 100 lines is taken for a stray quote, and the lines are read as rows', async () => {
    const items = await collect({ inputs: ['far.csv'] });
    expect(items[0]).toMatchObject({ kind: 'rejected', line: 2, reason: expect.stringContaining('not closed within 100 lines') });
    // The 120 rows, and the line that would have closed the value, its quote now inside a value.
    expect(items.filter((i) => i.kind === 'record')).toHaveLength(121);
    expect(items.at(-1)).toMatchObject({ kind: 'record', line: 123, record: { b: 'closed"' } });
  });

  it('rejects a row with bytes invalid in the declared encoding, naming the column', async () => {
    const items = await collect({ inputs: ['badutf8.csv'] });
    expect(items[0].kind).toBe('record');
    expect(items[1]).toMatchObject({ kind: 'rejected', line: 3, field: 'b', reason: expect.stringContaining('not valid utf-8') });
  });

  it('reports a file whose content is not what its extension says', async () => {
    const items = await collect({ inputs: ['is-json.csv', 'binary.json', 'notes.pdf'] });
    expect(items.map((i) => i.kind)).toEqual(['file-error', 'file-error', 'file-error']);
    expect(items[0]).toMatchObject({ reason: expect.stringMatching(/is-json\.csv: expected CSV but the content looks like JSON/) });
    expect(items[1]).toMatchObject({ reason: expect.stringMatching(/binary\.json: expected JSON but the content looks like a ZIP archive/) });
    expect(items[2]).toMatchObject({ reason: expect.stringContaining('unknown file type') });
  });
});

describe('NDJSON', () => {
  it('rejects a bad line with its line number and keeps going', async () => {
    const items = await collect({ inputs: ['lines.ndjson'] });
    expect(items.map((i) => [i.kind, 'line' in i ? i.line : -1])).toEqual([
      ['record', 1],
      ['rejected', 2],
      ['record', 4],
    ]);
    expect(items[1]).toMatchObject({ reason: expect.stringContaining('invalid JSON') });
  });

  it('names the column of a syntax error inside a line', async () => {
    await writeFile(path.join(dir, 'column.ndjson'), '{"a": 1}\n{"a" 1}\n');
    const items = await collect({ inputs: ['column.ndjson'] });
    expect(items[1]).toMatchObject({ kind: 'rejected', line: 2, reason: "invalid JSON: Unexpected content '1' at column 6" });
  });

  it('never quotes the line in its reason: JSON.parse would (a name, a BSN)', async () => {
    await writeFile(path.join(dir, 'quoted.ndjson'), '{"naam": Jansen, "bsn": 123456782}\n');
    const [item] = await collect({ inputs: ['quoted.ndjson'] });
    expect(item).toMatchObject({ kind: 'rejected', line: 1, reason: "invalid JSON: Unexpected content 'J' at column 10" });
  });
});

describe('JSON', () => {
  it('splits arrays and rejects non-objects', async () => {
    const items = await collect({ inputs: ['array.json'] });
    expect(items.map((i) => [i.kind, 'pointer' in i ? i.pointer : ''])).toEqual([
      ['record', '[0]'],
      ['rejected', '[1]'],
      ['record', '[2]'],
    ]);
  });

  it('splits collection Bundles into entries, keeps documents whole, reads a single resource', async () => {
    const col = await collect({ inputs: ['sub/deeper/collection.json'] });
    expect(col.map((i) => i.kind === 'record' && i.record.id)).toEqual(['e1', 'e2', 'o1']);
    expect(col[2]).toMatchObject({ pointer: 'entry[2]', record: { valueQuantity: { value: 1.5 } } });
    const late = await collect({ inputs: ['late-type.json'] });
    expect(late.map((i) => i.kind === 'record' && i.record.id)).toEqual(['e1', 'e2', 'o1']);
    const doc = await collect({ inputs: ['document.json'] });
    expect(doc).toHaveLength(1);
    expect(doc[0]).toMatchObject({ kind: 'record', record: { resourceType: 'Bundle', type: 'document' } });
    expect((await collect({ inputs: ['single.json'] }))[0]).toMatchObject({ record: patient('only') });
  });

  it('yields what came before a syntax error, then a rejection', async () => {
    const items = await collect({ inputs: ['broken.json'] });
    expect(items.map((i) => i.kind)).toEqual(['record', 'rejected']);
    expect(items[1]).toMatchObject({ reason: expect.stringContaining('invalid JSON after 1 record') });
  });

  it('places a syntax error at its line and column, read again gzipped or not', async () => {
    const text = '{"resourceType":"Bundle","type":"collection","entry":[\n {"resource":{"resourceType":"Patient","id":"p1"}},\n {"resource":{"resourceType":"Patient","id":"p2", "name": Jansen}}\n]}';
    await writeFile(path.join(dir, 'placed.json'), text);
    await writeFile(path.join(dir, 'placed-gz.json.gz'), gzipSync(text));
    for (const file of ['placed.json', 'placed-gz.json.gz']) {
      const items = await collect({ inputs: [file] });
      expect(items.map((i) => i.kind)).toEqual(['record', 'rejected']);
      expect(items[1]).toMatchObject({ line: 3, reason: "invalid JSON after 1 record(s): Unexpected content 'J' at column 59" });
    }
  });
});

describe('FHIR XML', () => {
  it('splits a collection Bundle with entry line numbers', async () => {
    const items = await collect({ inputs: ['bundle.xml'] });
    expect(items).toMatchObject([
      { kind: 'record', line: 4, pointer: 'entry[0]', record: { resourceType: 'Patient', id: 'x1', active: true } },
      { kind: 'record', line: 7, pointer: 'entry[1]', record: { resourceType: 'Patient', id: 'x2' } },
    ]);
  });

  it('rejects malformed XML with a line', async () => {
    const items = await collect({ inputs: ['broken.xml'] });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('invalid FHIR XML') });
    expect((items[0] as { line: number }).line).toBeGreaterThan(0);
  });

  it('refuses entries and whole resources over the size cap', async () => {
    expect(await collect({ inputs: ['bundle.xml'], maxXmlBytes: 60 })).toMatchObject([{ kind: 'file-error', reason: expect.stringContaining('byte cap') }]);
    expect(await collect({ inputs: ['broken.xml'], maxXmlBytes: 20 })).toMatchObject([{ kind: 'file-error', reason: expect.stringContaining('byte cap') }]);
  });

  it('streams a Bundle larger than the cap entry by entry; a bad entry is rejected alone, with its line', async () => {
    const n = 5000;
    const parts = ['<?xml version="1.0"?>\n<!-- export -->\n<f:Bundle xmlns:f="http://hl7.org/fhir"\n    xmlns:x="urn:x">\n  <f:type value="batch"/>\n'];
    for (let i = 0; i < n; i++) {
      const body = i === 1234 ? '<f:Patient><f:id value="bad"/><f:active value="true"></f:Patient>' : `<f:Patient><f:id value="p${i}"/><f:active value="true"/><!-- <f:entry> --></f:Patient>`;
      parts.push(`  <f:entry>\n    <f:resource>${body}</f:resource>\n  </f:entry>\n`);
    }
    parts.push('  <f:entry/>\n</f:Bundle>\n');
    const text = parts.join('');
    await writeFile(path.join(dir, 'big.xml.gz'), gzipSync(text));
    const items = await collect({ inputs: ['big.xml.gz'], maxXmlBytes: 4096 });
    expect(text.length).toBeGreaterThan(100 * 4096);
    expect(items).toHaveLength(n + 1);
    expect(items[0]).toMatchObject({ kind: 'record', line: 6, pointer: 'entry[0]', record: { resourceType: 'Patient', id: 'p0', active: true } });
    expect(items[n - 1]).toMatchObject({ kind: 'record', line: 6 + 3 * (n - 1), pointer: `entry[${n - 1}]`, record: { id: `p${n - 1}` } });
    expect(items[1234]).toMatchObject({ kind: 'rejected', line: 6 + 3 * 1234 + 1, pointer: 'entry[1234]', reason: expect.stringContaining('invalid FHIR XML') });
    expect(items[n]).toMatchObject({ kind: 'rejected', line: 6 + 3 * n, pointer: `entry[${n}]`, reason: 'entry has no resource' });
    expect(items.filter((i) => i.kind === 'record')).toHaveLength(n - 1);
  });

  it('keeps a document Bundle whole and rejects a Bundle cut short', async () => {
    const entry = '<entry><resource><Patient><id value="d1"/></Patient></resource></entry>';
    await writeFile(path.join(dir, 'doc.xml'), `<Bundle xmlns="http://hl7.org/fhir"><type value="document"/>${entry}${entry}</Bundle>`);
    expect(await collect({ inputs: ['doc.xml'] })).toMatchObject([{ kind: 'record', record: { resourceType: 'Bundle', type: 'document', entry: [{}, {}] } }]);
    await writeFile(path.join(dir, 'cut.xml'), `<Bundle xmlns="http://hl7.org/fhir">\n<type value="collection"/>\n${entry}\n${entry.slice(0, 30)}`);
    expect(await collect({ inputs: ['cut.xml'] })).toMatchObject([
      { kind: 'record', line: 3, record: { id: 'd1' } },
      { kind: 'rejected', line: 4, pointer: 'entry[1]', reason: expect.stringContaining('ends inside the Bundle') },
    ]);
  });
});

describe('inputs', () => {
  it('expands folders and globs in sorted order and reports what matched nothing', async () => {
    const { files, missing } = await expandInputs(['sub', '**/*.json', 'nothing/*.csv', 'absent.csv'], dir);
    const rel = files.map((f) => path.relative(dir, f));
    expect(rel.slice(0, 2)).toEqual([path.join('sub/deeper/collection.json'), path.join('sub/gz-no-ext.ndjson')]);
    expect(rel).toContain('array.json');
    expect(rel.filter((f) => f.endsWith('collection.json'))).toHaveLength(1);
    expect(missing).toEqual(['nothing/*.csv', 'absent.csv']);
    expect(globToRegExp('a/**/*.{csv,json}').test('a/x/y/b.json')).toBe(true);
    expect(globToRegExp('a/**/*.{csv,json}').test('a/b.csv')).toBe(true);
    expect(globToRegExp('a/*.csv').test('a/x/b.csv')).toBe(false);
  });

  it('reads gzip NDJSON found through a folder', async () => {
    const items = await collect({ inputs: ['sub/*.ndjson'] });
    expect(items).toMatchObject([{ kind: 'record', line: 1, record: patient('z') }]);
  });
});
