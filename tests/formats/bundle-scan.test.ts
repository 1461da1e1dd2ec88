import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanEntries, scanXmlEntries, type EntriesLayout, type EntrySpan } from '../../src/formats/bundle-scan.js';
import { parseXmlText } from '../../src/cli/input.js';
import { parseJson } from '../../src/formats/json-positions.js';

const dir = await mkdtemp(join(tmpdir(), 'fhirdq-scan-'));
let files = 0;

async function scan(text: string): Promise<{ layout: EntriesLayout | undefined; spans: EntrySpan[]; text: string }> {
  const file = join(dir, `${files++}.json`);
  await writeFile(file, text);
  const spans: EntrySpan[] = [];
  const layout = await scanEntries(file, (span) => spans.push(span));
  return { layout, spans, text };
}

/** An entry's fullUrl as the in-memory index takes it: a string, or none. */
const stringFullUrl = (entry: unknown): string | undefined => {
  const fullUrl = (entry as { fullUrl?: unknown } | undefined)?.fullUrl;
  return typeof fullUrl === 'string' ? fullUrl : undefined;
};

/** Each span against the file parsed whole: the same item, at the position the located parser gives it. */
function expectSpansMatch(text: string, layout: EntriesLayout | undefined, spans: EntrySpan[]): void {
  const whole = parseJson(text);
  const entries = (whole.value as { entry: unknown[] }).entry;
  expect(layout?.entries).toBe(entries.length);
  expect(spans.map((s) => JSON.parse(s.text))).toEqual(entries);
  const bytes = Buffer.from(text);
  spans.forEach((span, i) => {
    expect(span.index).toBe(i);
    expect({ line: span.line, column: span.column }).toEqual(whole.positionOf(`Bundle.entry[${i}]`));
    expect(bytes.subarray(span.start, span.end).toString()).toBe(span.text);
    expect(span.fullUrlRead).toBe(true);
    expect(span.fullUrl).toBe(stringFullUrl(entries[i]));
  });
  expect(bytes[layout!.cutFrom.offset - 1]).toBe('['.charCodeAt(0));
  expect(bytes[layout!.cutTo.offset]).toBe(']'.charCodeAt(0));
  expect(layout!.size).toBe(bytes.length);
}

const bundle = {
  resourceType: 'Bundle',
  id: 'b',
  type: 'collection',
  entry: [
    { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', id: '1', name: [{ family: 'Dé 😀 "entry": [ { } ] \\' }] } },
    { fullUrl: 'urn:uuid:2', resource: { resourceType: 'Basic', id: '2', code: { text: '😀😀é' }, extension: [{ url: 'http://x/entry', valueString: ']}' }] } },
    { fullUrl: 'urn:uuid:3' },
  ],
  signature: { data: 'AA==' },
};

describe('scanEntries', () => {
  it('finds every entry with its bytes and its position, however the file is laid out', async () => {
    for (const text of [
      JSON.stringify(bundle, null, 2),
      JSON.stringify(bundle),
      JSON.stringify(bundle, null, '\t').replace(/\n/g, '\r\n'),
      // "entry" as a value and as a nested key before the array: only the top-level key counts.
      JSON.stringify({ resourceType: 'Bundle', meta: { tag: [{ code: 'entry', entry: [1] }] }, note: 'entry', entry: bundle.entry }, null, 1),
    ]) {
      const { layout, spans } = await scan(text);
      expectSpansMatch(text, layout, spans);
    }
  });

  it('puts the array brackets where they are, for positions after the entries', async () => {
    const text = '{"resourceType":"Bundle",\n  "entry": [\n {"fullUrl":"a"}\n  ], "id": "x"}';
    const { layout } = await scan(text);
    expect(layout).toMatchObject({ cutFrom: { line: 2, column: 13 }, cutTo: { line: 4, column: 3 } });
  });

  it('follows entries across the reads of the file', async () => {
    // Entries of about 300 KB, so that several of them span the 1 MB reads.
    const big = { ...bundle, entry: Array.from({ length: 12 }, (_, i) => ({ fullUrl: `urn:uuid:${i}`, resource: { resourceType: 'Basic', id: String(i), code: { text: `é😀${'x'.repeat(300_000)}` } } })) };
    const text = JSON.stringify(big, null, 2);
    const { layout, spans } = await scan(text);
    expectSpansMatch(text, layout, spans);
  });

  it('declines what is not an object with one entry array of objects', async () => {
    for (const text of [
      '[{"resourceType":"Bundle"}]',
      '\uFEFF{"resourceType":"Bundle","entry":[{}]}',
      '{"resourceType":"Bundle","type":"collection"}',
      '{"resourceType":"Bundle","entry":{"fullUrl":"a"}}',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a"}, null]}',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a"}, [1]]}',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a"} {"fullUrl":"b"}]}',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a"},]}',
      '{"resourceType":"Bundle","entry":[,{"fullUrl":"a"}]}',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a"}],"entry":[{"fullUrl":"b"}]}',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a"}]',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a"]}',
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a}]}',
    ]) {
      const { layout } = await scan(text);
      expect(layout, text).toBeUndefined();
    }
  });

  it('finds an empty array, and a key that only starts like entry is another key', async () => {
    expect((await scan('{"resourceType":"Bundle","entry":[ ]}')).layout).toMatchObject({ entries: 0 });
    expect((await scan('{"resourceType":"Bundle","entryX":[{"a":1}],"entr":[{"a":1}]}')).layout).toBeUndefined();
    expect((await scan('{"resourceType":"Bundle","\\u0065ntry":[{"a":1}]}')).layout).toBeUndefined();
  });
});

describe('the fullUrl the scan reads', () => {
  /** Each entry's fullUrl as the scan reads it, or 'unread' where it leaves that to the reader. */
  const jsonFullUrls = async (entries: string[]) => {
    const { spans } = await scan(`{"resourceType":"Bundle","entry":[${entries.join(',')}]}`);
    return spans.map((s) => (s.fullUrlRead ? s.fullUrl : 'unread'));
  };

  it('JSON: the last fullUrl key of the entry itself, decoded, and none where its value is not a string', async () => {
    expect(
      await jsonFullUrls([
        '{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Basic"}}',
        '{ "resource" : {"resourceType":"Bundle","entry":[{"fullUrl":"urn:inner"}]} , "fullUrl" : "http://x/é😀" }',
        '{"fullUrl":"http://x/a\\u00e9\\"q\\""}',
        '{"fullUrl":"urn:first","fullUrl":"urn:last"}',
        '{"fullUrl":"urn:first","fullUrl":7}',
        '{"fullUrl":{"a":"urn:x"},"x":"fullUrl"}',
        '{"link":[{"fullUrl":"urn:x"}],"fullUrlX":"urn:y","fullUr":"urn:z"}',
        '{"fullUrl":null}',
      ]),
    ).toEqual(['urn:uuid:a', 'http://x/é😀', 'http://x/aé"q"', 'urn:last', undefined, undefined, undefined, undefined]);
  });

  it('JSON: leaves an entry whose keys have escapes to the reader', async () => {
    expect(await jsonFullUrls(['{"full\\u0055rl":"urn:a"}', '{"a\\"b":1,"fullUrl":"urn:b"}', '{"fullUrl":"urn:c"}'])).toEqual(['unread', 'unread', 'urn:c']);
  });

  it('XML: the value of the entry\'s own fullUrl, and leaves what it cannot judge to the reader', async () => {
    const text = `<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>${[
      '<entry><fullUrl value="urn:uuid:a"/><resource><Basic><id value="a"/></Basic></resource></entry>',
      `<entry>\n <fullUrl id="f1"\n  value='http://x/é'><extension url="http://x/e"><valueString value="v"/></extension></fullUrl></entry>`,
      '<entry><resource><Bundle><entry><fullUrl value="urn:inner"/></entry></Bundle></resource></entry>',
      '<entry><fullUrl value="http://x/a&amp;b"/></entry>',
      '<entry><fullUrl value="urn:a"/><fullUrl value="urn:b"/></entry>',
      '<entry><f:fullUrl xmlns:f="http://hl7.org/fhir" value="urn:p"/></entry>',
      '<entry><fullUrl xmlns="http://other" value="urn:q"/></entry>',
      '<entry><fullUrl value=" urn:r"/></entry>',
      '<entry><fullUrl/></entry>',
    ].join('')}</Bundle>`;
    const file = join(dir, `${files++}.xml`);
    await writeFile(file, text);
    const spans: EntrySpan[] = [];
    await scanXmlEntries(file, (span) => spans.push(span));
    expect(spans.map((s) => (s.fullUrlRead ? s.fullUrl : 'unread'))).toEqual(['urn:uuid:a', 'http://x/é', undefined, 'unread', 'unread', 'unread', 'unread', 'unread', undefined]);
    // Where it reads one, the reader reads the same.
    const entries = (parseXmlText(text).resource as unknown as { entry: unknown[] }).entry;
    spans.forEach((span, i) => {
      if (span.fullUrlRead) expect(span.fullUrl).toBe(stringFullUrl(entries[i]));
    });
  });
});

describe('scanXmlEntries', () => {
  const entry = (i: number, extra = '') =>
    `<entry><fullUrl value="urn:uuid:${i}"/><resource><Basic><id value="b${i}"/><code><text value="x > y 'q' &quot;é😀&quot;"/></code>${extra}</Basic></resource></entry>`;

  async function scanXml(text: string) {
    const file = join(dir, `${files++}.xml`);
    await writeFile(file, text);
    const spans: EntrySpan[] = [];
    const layout = await scanXmlEntries(file, (span) => spans.push(span));
    return { layout, spans };
  }

  it('finds every entry with its bytes and its start tag position, and the root tag to read them in', async () => {
    const text = `<?xml version="1.0"?>\n<!-- a <comment> -->\n<Bundle xmlns="http://hl7.org/fhir"\n  xmlns:h="http://www.w3.org/1999/xhtml">\n  <id value="b"/><type value="collection"/>\n  ${entry(1)}\n  <!-- between -->\n  ${entry(2, '<!-- inside <entry> -->')}<entry/>\n  ${entry(3, '<text><status value="generated"/><h:div><![CDATA[ </entry> ]]></h:div></text>')}\n  <signature/>\n</Bundle>\n`;
    const { layout, spans } = await scanXml(text);
    const whole = parseXmlText(text);
    const entries = (whole.resource as unknown as { entry: unknown[] }).entry;
    expect(spans).toHaveLength(4);
    expect(layout).toMatchObject({ entries: 4, wrap: { open: '<Bundle xmlns="http://hl7.org/fhir"   xmlns:h="http://www.w3.org/1999/xhtml">', close: '</Bundle>' } });
    const bytes = Buffer.from(text);
    spans.forEach((span, i) => {
      expect(bytes.subarray(span.start, span.end).toString()).toBe(span.text);
      expect(span.text.startsWith('<entry')).toBe(true);
      expect({ line: span.line, column: span.column }).toEqual(whole.positionOf(`Bundle.entry[${i}]`));
      expect(span.fullUrlRead).toBe(true);
      expect(span.fullUrl).toBe(stringFullUrl(entries[i]));
    });
    expect(spans.map((s) => (parseXmlText(layout!.wrap.open + s.text + layout!.wrap.close).resource as unknown as { entry: unknown[] }).entry[0])).toEqual(entries);
    // What is left without the entries is the Bundle's own text.
    expect(bytes.subarray(layout!.cutFrom.offset, layout!.cutFrom.offset + 6).toString()).toBe('<entry');
    expect(bytes.subarray(layout!.cutTo.offset - 8, layout!.cutTo.offset).toString()).toBe('</entry>');
  });

  it('follows entries across the reads of the file', async () => {
    const text = `<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>${Array.from({ length: 8 }, (_, i) => entry(i, `<subject><display value="${'é'.repeat(200_000)}"/></subject>`)).join('\n')}</Bundle>`;
    const { layout, spans } = await scanXml(text);
    expect(layout?.entries).toBe(8);
    const whole = parseXmlText(text);
    spans.forEach((span, i) => expect({ line: span.line, column: span.column }).toEqual(whole.positionOf(`Bundle.entry[${i}]`)));
  });

  it('declines what is not a Bundle root with its entries next to each other', async () => {
    for (const text of [
      `<Patient xmlns="http://hl7.org/fhir">${entry(1)}</Patient>`,
      `<f:Bundle xmlns:f="http://hl7.org/fhir">${entry(1)}</f:Bundle>`,
      `<!DOCTYPE Bundle><Bundle xmlns="http://hl7.org/fhir">${entry(1)}</Bundle>`,
      `\uFEFF<Bundle xmlns="http://hl7.org/fhir">${entry(1)}</Bundle>`,
      `<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/></Bundle>`,
      `<Bundle xmlns="http://hl7.org/fhir">${entry(1)}<?pi x?>${entry(2)}</Bundle>`,
      `<Bundle xmlns="http://hl7.org/fhir">${entry(1)} text ${entry(2)}</Bundle>`,
      `<Bundle xmlns="http://hl7.org/fhir">${entry(1)}<![CDATA[x]]>${entry(2)}</Bundle>`,
      `<Bundle xmlns="http://hl7.org/fhir">${entry(1)}<signature/>${entry(2)}</Bundle>`,
      `<Bundle xmlns="http://hl7.org/fhir">${entry(1)}`,
      `<Bundle xmlns="http://hl7.org/fhir">${entry(1)}</Bundle><Bundle/>`,
    ]) {
      expect((await scanXml(text)).layout, text.slice(0, 60)).toBeUndefined();
    }
  });
});
