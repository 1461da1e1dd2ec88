import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createValidator, type Issue, type Validator } from '../../src/index.js';
import { validateBundleEntries } from '../../src/cli/bundle-entries.js';
import { parseJsonText, parseXmlText, validateParsed } from '../../src/cli/input.js';
import { writeFhirXml } from '../../src/formats/fhir-xml.js';
import type { FhirResource } from '../../src/packages/types.js';
import { validateFiles } from '../../src/cli/validate-command.js';

const CASES = fileURLToPath(new URL('../../../shared/conformance/fhir-test-cases-r4/cases/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

let validator: Validator;
let dir: string;
let files = 0;

beforeAll(async () => {
  validator = await createValidator({ includeShippedPackages: false });
  dir = await mkdtemp(join(tmpdir(), 'fhirdq-bundle-entries-'));
});

async function write(text: string, extension = 'json'): Promise<string> {
  const file = join(dir, `${files++}.${extension}`);
  await writeFile(file, text);
  return file;
}

const describeIssue = (i: Issue) => [i.severity, i.messageId, i.message, i.path, i.line, i.column].join(' | ');

/** The issues of the file validated whole and entry by entry, each sorted; undefined entry by entry when declined. */
async function bothWays(text: string, format: 'json' | 'xml' = 'json'): Promise<{ whole: string[]; byEntry: string[] | undefined }> {
  const file = await write(text, format);
  const whole = validateParsed(validator, format === 'json' ? parseJsonText(text) : parseXmlText(text)).map(describeIssue).sort();
  const results = await validateBundleEntries(validator, file, format);
  return { whole, byEntry: results && [...results].flatMap((r) => r.issues).map(describeIssue).sort() };
}

function jsonFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

/** Every Bundle with entries in a JSON value, nested ones too. */
function bundlesIn(value: unknown, into: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) for (const v of value) bundlesIn(v, into);
  else if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (object.resourceType === 'Bundle' && Array.isArray(object.entry) && object.entry.length > 0) into.push(object);
    for (const v of Object.values(object)) bundlesIn(v, into);
  }
  return into;
}

/** Every Bundle in the conformance cases' and fixtures' JSON files. */
function suiteBundles(): Record<string, unknown>[] {
  return [...jsonFiles(CASES), ...jsonFiles(FIXTURES)].flatMap((file) => {
    try {
      return bundlesIn(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      return [];
    }
  });
}

const TYPES = ['collection', 'transaction', 'batch', 'searchset', 'history', 'transaction-response'];

describe('a Bundle validated entry by entry', () => {
  it('has the issues of the Bundle validated whole, at the same positions', async () => {
    const bundles = suiteBundles();
    expect(bundles.length).toBeGreaterThanOrEqual(12);
    const found = new Set<string>();
    let compared = 0;
    for (const original of bundles) {
      const { meta, ...bundle } = original as { meta?: Record<string, unknown> };
      const variants: string[] = [];
      // Each as every type that can be walked entry by entry: other types break other Bundle rules (bdl-2, 3, 4).
      for (const type of TYPES) variants.push(JSON.stringify({ ...bundle, meta: meta && { ...meta, profile: undefined }, type }, null, 2));
      const collection = { ...bundle, type: 'collection' } as unknown as { entry: unknown[] };
      variants.push(JSON.stringify(collection), JSON.stringify(collection, null, '\t').replace(/\n/g, '\r\n'));
      // Entries sharing a fullUrl (bdl-7, ambiguous references: four times, once in another version), one without, and
      // columns after characters outside the BMP.
      const repeated = structuredClone(collection);
      const versioned = structuredClone(repeated.entry[0]) as { resource?: { meta?: object } };
      if (versioned.resource) versioned.resource.meta = { versionId: '2' };
      repeated.entry.push(
        structuredClone(repeated.entry[0]),
        structuredClone(repeated.entry[0]),
        versioned,
        structuredClone(repeated.entry[0]),
        { fullUrl: 'urn:uuid:9', resource: { resourceType: 'Basic', code: { text: 'é😀' }, author: { reference: 'Basic/9' } } },
        { resource: { resourceType: 'Basic', code: { text: 'x' } } },
      );
      // A property after the entries: its position is past them in the file.
      (repeated as Record<string, unknown>).after = { 'é😀': true };
      variants.push(JSON.stringify(repeated, null, 2));
      for (const text of variants) {
        const { whole, byEntry } = await bothWays(text);
        expect(byEntry).toEqual(whole);
        for (const issue of whole) found.add(issue.split(' | ')[1]!);
        compared += whole.length;
      }
    }
    // The corpus reaches the rules that read several entries or the index, and those decided per entry.
    expect(compared).toBeGreaterThan(1000);
    for (const id of ['constraint-bdl-3', 'constraint-bdl-4', 'constraint-bdl-7', 'constraint-bdl-2', 'bundle-entry-fullurl-missing', 'reference-bundle-ambiguous', 'unknown-element']) {
      expect(found, id).toContain(id);
    }
  });

  it('has the issues of the Bundle validated whole in FHIR XML too, at the same positions', async () => {
    const sources = suiteBundles();
    const variants: string[] = [];
    for (const { meta, ...bundle } of sources as Array<{ meta?: Record<string, unknown> }>) {
      for (const type of ['collection', 'transaction', 'searchset']) variants.push(writeFhirXml({ ...bundle, meta: meta && { ...meta, profile: undefined }, type } as unknown as FhirResource));
    }
    // The suite's own XML Bundles as collections, with their comments, namespaces and layout.
    for (const file of readdirSync(CASES).filter((f) => f.endsWith('.xml'))) {
      const text = readFileSync(join(CASES, file), 'utf8');
      if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<Bundle[\s>]/.test(text)) variants.push(text.replace(/<type value="(document|message)"\s*\/>/, '<type value="collection"/>').replace(/<profile value="[^"]*"\s*\/>/g, ''));
    }
    // Comments between and in entries, a '>' in an attribute, a root over several lines, CRLF, and what the XML
    // reader itself reports in an entry (an unknown element: its path is moved to the entry's index).
    const entry = (i: number, extra = '') =>
      `<entry><fullUrl value="urn:uuid:${i}"/><resource><Basic><id value="b${i}"/><text><status value="generated"/><h:div xmlns:h="http://www.w3.org/1999/xhtml">a &gt; é😀 ${i}</h:div></text><code><text value="x > y 'q'"/></code>${extra}</Basic></resource></entry>`;
    const handMade = `<?xml version="1.0" encoding="UTF-8"?>\n<!-- before -->\n<Bundle xmlns="http://hl7.org/fhir"\n        xmlns:x="urn:x">\n  <type value="batch"/>\n  ${entry(1)}\n  <!-- between <entry> -->\n  ${entry(2, '<!-- in > entry --><unknown value="1"/>')}\n  ${entry(3)}<entry/>\n  <signature><type><code value="1.2.840.10065.1.12.1.1"/></type></signature>\n</Bundle>\n`;
    variants.push(handMade, handMade.replace(/\n/g, '\r\n'));
    expect(variants.length).toBeGreaterThan(40);
    let compared = 0;
    let declined = 0;
    const found = new Set<string>();
    for (const text of variants) {
      const { whole, byEntry } = await bothWays(text, 'xml');
      if (byEntry === undefined) {
        declined++;
        continue;
      }
      expect(byEntry).toEqual(whole);
      compared += whole.length;
      for (const issue of whole) found.add(issue.split(' | ')[1]!);
    }
    // xml-fail.xml is not well-formed: read whole.
    expect(declined).toBe(1);
    expect(compared).toBeGreaterThan(500);
    for (const id of ['xml-unknown-element', 'constraint-bdl-3', 'bundle-entry-fullurl-missing']) expect(found, id).toContain(id);
  });

  it('reads a referenced entry again from the file, however far it is', async () => {
    const entries = Array.from({ length: 80 }, (_, i) => ({ fullUrl: `urn:uuid:${i}`, resource: { resourceType: 'Basic', id: `b${i}`, code: { text: 'x' } } }));
    entries[0]!.resource = { resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:79' } } as never;
    entries[79]!.resource = { resourceType: 'Observation', id: 'o2', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:1' } } as never;
    const { whole, byEntry } = await bothWays(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: entries }, null, 2));
    expect(byEntry).toEqual(whole);
    expect(whole.filter((i) => i.includes('subject'))).toHaveLength(2);
  });

  it('reads entries bigger than a read block, alone or beside small ones, whole', async () => {
    // Entries are read a block (1 MB) at a time: these make blocks of one big entry, and of small ones around them.
    const big = (i: number) => ({ fullUrl: `urn:uuid:${i}`, resource: { resourceType: 'Basic', id: `b${i}`, code: { text: `é😀${'x'.repeat(700_000)}` }, after: true } });
    const small = (i: number) => ({ fullUrl: `urn:uuid:${i}`, resource: { resourceType: 'Basic', id: `b${i}`, code: { text: 'é' }, subject: { reference: 'Patient/none' } } });
    const entries = [small(0), big(1), big(2), small(3), small(4), big(5), big(6), big(7), small(8)];
    const { whole, byEntry } = await bothWays(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: entries }, null, 1));
    expect(byEntry).toEqual(whole);
    // Each big entry's unknown property, placed after its long text.
    expect(whole.filter((i) => i.includes('unknown-element'))).toHaveLength(5);
  });

  it('is declined where the Bundle rules need all entries at once, or the file is not a Bundle of entries', async () => {
    const entry = { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Basic', code: { text: 'x' } } };
    for (const value of [
      { resourceType: 'Bundle', type: 'document', entry: [entry] },
      { resourceType: 'Bundle', type: 'message', entry: [entry] },
      { resourceType: 'Bundle', type: 'collection', meta: { profile: ['http://example.org/bundle'] }, entry: [entry] },
      { resourceType: 'Bundle', type: 'collection', entry: [] },
      { resourceType: 'Parameters', entry: [entry] },
    ]) {
      expect(await validateBundleEntries(validator, await write(JSON.stringify(value)), 'json')).toBeUndefined();
    }
    const collection = await write(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [entry] }));
    expect(await validateBundleEntries(validator, collection, 'json', { profile: 'http://example.org/bundle' })).toBeUndefined();
    // A break outside the entries: read whole, where the parser reports it.
    expect(await validateBundleEntries(validator, await write('{"resourceType":"Bundle", "type":"collection" "entry":[{}]}'), 'json')).toBeUndefined();
  });

  it('reports an entry that cannot be read at its place in the file, and goes on', async () => {
    const text = [
      '{"resourceType": "Bundle", "type": "collection", "entry": [',
      '  {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic", "code": {"text": "x"}}},',
      '  {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Basic", "code": {"text": "x" "y"}}},',
      '  {"fullUrl": "urn:uuid:3", "resource": {"resourceType": "Basic", "code": {"text": 3}}}',
      ']}',
    ].join('\n');
    const lines = text.split('\n');
    const results = [...(await validateBundleEntries(validator, await write(text), 'json'))!];
    expect(results.map((r) => [r.label, r.line])).toEqual([['Basic', 2], [null, 3], ['Basic', 4], ['Bundle', 1]]);
    const column = lines[2]!.indexOf('"y"') + 1;
    expect(results[1]!.issues).toEqual([expect.objectContaining({ severity: 'fatal', messageId: 'json-syntax', line: 3, column, message: expect.stringMatching(new RegExp(`at line 3, column ${column}$`)) })]);
    expect(results[2]!.issues).toContainEqual(expect.objectContaining({ severity: 'error', path: 'Bundle.entry[2].resource.code.text', line: 4, column: lines[3]!.indexOf('3}') + 1 }));
  });

  it('is how fhirdq validate reports a big Bundle: an entry a line, then the Bundle', async () => {
    const file = await write(
      JSON.stringify({ resourceType: 'Bundle', id: 'big', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:1', resource: { resourceType: 'Basic', id: 'a', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } }, { fullUrl: 'urn:uuid:2', resource: { resourceType: 'Basic', id: 'b', code: {} } }] }, null, 2),
    );
    let out = '';
    const ctx = { out: (s: string) => void (out += s), err: () => {}, exitCode: 0 };
    const code = await validateFiles([file], { ig: [], format: 'ndjson', extension: [], workers: 0, bundleByEntryFrom: 0 }, ctx);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { resource: string; line: number; errors: number; outcome: { issue: Array<{ details: { text: string } }> } });
    expect(code).toBe(1);
    expect(lines.map((l) => [l.resource, l.line])).toEqual([['Basic/a', 6], ['Basic/b', 20], ['Bundle/big', 1]]);
    // bdl-3: the second entry has no request; found on that entry, reported with the Bundle.
    expect(lines[2]!.outcome.issue.map((i) => i.details.text)).toContainEqual(expect.stringContaining('bdl-3'));
    expect(lines[1]!.errors).toBeGreaterThan(0);
  });
});
