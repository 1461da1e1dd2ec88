import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseJson, positionsOnDemand } from '../../src/formats/json-positions.js';
import { parseJsonWithLocations } from '../../src/formats/json-locations.js';
import { findPosition } from '../../src/formats/locations.js';

const CASES = '/work/shared/conformance/fhir-test-cases-r4/cases/';
const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(e.parentPath, e.name));
}

/** Paths an issue may name: every value's own, and ones that go past it or name no value. */
function probes(keys: Iterable<string>): string[] {
  const out: string[] = [];
  for (const key of keys) {
    out.push(key, `${key}.nothingHere`, `${key}[7]`, `${key}.where(url='http://a.b/c[1]').value`);
    const last = /\[(\d+)\]$/.exec(key);
    if (last) out.push(`${key.slice(0, last.index)}[${Number(last[1]) + 100}]`, `${key.slice(0, last.index)}[x]`);
  }
  out.push('', 'Unknown.path', '(json)');
  return out;
}

/** parseJson must place every path exactly where the located parse (every value's position recorded) does. */
function expectSamePositions(text: string): void {
  const lazy = parseJson(text);
  const full = parseJsonWithLocations(text);
  expect(lazy.value).toEqual(full.value);
  expect(lazy.issues).toEqual(full.issues);
  // Lookups read the text only as far as they need, and later ones go on from there: a fresh parse every 8 paths,
  // one parse for every path, and one for every path the other way round.
  const paths = probes(full.locations.keys());
  let fresh = lazy;
  const differ = paths.filter((path, i) => {
    if (i % 8 === 0) fresh = parseJson(text);
    return !isDeepStrictEqual(fresh.positionOf(path), findPosition(path, full.locations));
  });
  expect(differ).toEqual([]);
  const many = paths.filter((path) => !isDeepStrictEqual(lazy.positionOf(path), findPosition(path, full.locations)));
  expect(many).toEqual([]);
  const backwards = parseJson(text);
  const reversed = [...paths].reverse().filter((path) => !isDeepStrictEqual(backwards.positionOf(path), findPosition(path, full.locations)));
  expect(reversed).toEqual([]);
}

describe('parseJson', () => {
  const texts = [...jsonFilesUnder(CASES), ...jsonFilesUnder(FIXTURES)].map((f) => readFileSync(f, 'utf8'));

  it('places every path of the conformance cases and fixtures as the located parse does', () => {
    expect(texts.length).toBeGreaterThan(100);
    for (const text of texts) expectSamePositions(text);
  });

  it('finds the positions of well-formed resources without the located parse', () => {
    const resources = texts.map((text) => ({ text, value: parseJson(text).value })).filter(({ value }) => typeof value === 'object' && value !== null && !Array.isArray(value));
    const onDemand = resources.filter(({ text, value }) => positionsOnDemand(text, value) !== undefined);
    expect(onDemand.length).toBeGreaterThan(0.9 * resources.length);
  });

  it('places them the same in NDJSON lines and in files with a byte order mark', () => {
    for (const text of texts) {
      let value: unknown;
      try {
        value = JSON.parse(text.replace(/^\uFEFF/, ''));
      } catch {
        continue;
      }
      expectSamePositions(JSON.stringify(value));
      expectSamePositions(`\uFEFF${JSON.stringify(value, null, 1)}`);
    }
  });

  it('follows _name companions: the first value met at a path places it', () => {
    const text = '{"resourceType":"Patient","name":[{"given":["a"],"_given":[null,{"id":"x","extension":[{"url":"u"}]}]}]}';
    const { positionOf } = parseJson(text);
    expect(positionOf('Patient.name[0].given[0]')).toEqual({ line: 1, column: text.indexOf('"a"') + 1 });
    expect(positionOf('Patient.name[0].given[1].extension[0].url')).toEqual({ line: 1, column: text.indexOf('"u"') + 1 });
    expectSamePositions(text);
  });

  it('reads whitespace wherever JSON allows it', () => {
    expectSamePositions('{ "resourceType" : "Patient" ,\r\n\t"name" : [ { "given" : [ "a" , "b" ] , "_given" : [ null , { "id" : "x" } ] } , { } ] ,"active" : true }');
  });

  it('reads strings with escaped quotes, colons and brackets as strings', () => {
    expectSamePositions('{"resourceType":"Basic","text":{"div":"<div>\\"a\\": [1, {2}]\\\\</div>"},"code":{"text":":x"},"id":"\\u0041"}');
  });

  it('reports duplicate properties as the located parse does', () => {
    const text = '{"resourceType":"Patient","active":true,"active":false}';
    const { issues } = parseJson(text);
    expect(issues.map((i) => i.messageId)).toEqual(['json-duplicate-property']);
    expectSamePositions(text);
    expectSamePositions('{"resourceType":"Patient","name":[{"family":"a","family":"b"}],"code":{"text":":x"}}');
  });

  it('reports syntax errors with their position', () => {
    const text = '{"resourceType":"Patient",\n  "active": tru}';
    const { value, issues } = parseJson(text);
    expect(value).toBeUndefined();
    expect(issues[0]).toMatchObject({ severity: 'fatal', messageId: 'json-syntax', line: 2, column: 13 });
    expectSamePositions(text);
  });

  it('places keys that look like path steps, and roots without a resourceType, as the located parse does', () => {
    expectSamePositions('{"resourceType":"Patient","a.b":{"c":1},"a":{"b":{"c":2}}}');
    expectSamePositions('{"resourceType":"Pa.tient","active":true}');
    expectSamePositions('{"name":[{"family":"x"}],"resourceType":7}');
    expectSamePositions('{"active":true,"resourceType":"Patient"}');
    expectSamePositions('[{"resourceType":"Patient"}]');
    expectSamePositions('"text"');
  });
});

describe('numbers JSON.parse does not keep as written', () => {
  it('are kept as text, by path, whatever the root key order', () => {
    const parsed = parseJson('{"resourceType":"Observation","valueQuantity":{"value":1.50},"component":[{"valueInteger":2e0},{"valueInteger":3}]}');
    expect(parsed.numberTexts).toEqual(new Map([['Observation.valueQuantity.value', '1.50'], ['Observation.component[0].valueInteger', '2e0']]));
    expect(parseJson('{"status":"final","resourceType":"Observation","valueInteger":1.0}').numberTexts).toEqual(new Map([['Observation.valueInteger', '1.0']]));
  });

  it('are not looked for where every number reads as written, nor inside strings', () => {
    expect(parseJson('{"resourceType":"Observation","valueQuantity":{"value":37.5,"unit":"1.0"},"issued":"2024-01-01T10:00:00.000Z"}').numberTexts).toBeUndefined();
  });
});
