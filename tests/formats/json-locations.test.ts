import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseJsonWithLocations } from '../../src/formats/json-locations.js';

const CASES = '/work/shared/conformance/fhir-test-cases-r4/cases/';
const manifest = JSON.parse(readFileSync(CASES + '../manifest.json', 'utf8')) as {
  cases: { file: string; supporting?: string[] }[];
};
const jsonFiles = [...new Set(manifest.cases.flatMap((c) => [c.file, ...(c.supporting ?? [])]).filter((f) => f.endsWith('.json')))];

describe('parseJsonWithLocations', () => {
  it('records where each value starts, with FHIRPath-like keys', () => {
    const text = [
      '{',
      '  "name": [ { "given": ["a", "b"], "_given": [null, {"id": "x"}] } ],',
      '  "deceasedBoolean": false,',
      '  "resourceType": "Patient"',
      '}',
    ].join('\n');
    const { value, locations, issues } = parseJsonWithLocations(text);
    expect(issues).toEqual([]);
    expect(value).toEqual(JSON.parse(text));
    expect(locations.get('Patient')).toEqual({ line: 1, column: 1 });
    expect(locations.get('Patient.name')).toEqual({ line: 2, column: 11 });
    expect(locations.get('Patient.name[0]')).toEqual({ line: 2, column: 13 });
    const line2 = text.split('\n')[1]!;
    expect(locations.get('Patient.name[0].given[1]')).toEqual({ line: 2, column: line2.indexOf('"b"') + 1 });
    // `_given[1]` shares the key of `given[1]`: the first seen position wins, its children get keys.
    expect(locations.get('Patient.name[0].given[1].id')).toEqual({ line: 2, column: line2.indexOf('"x"') + 1 });
    expect(locations.get('Patient.deceasedBoolean')).toEqual({ line: 3, column: 22 });
    expect(locations.has('Patient.name[0]._given')).toBe(false);
  });

  it('indexes nested resources as ordinary segments', () => {
    const text = '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":[{"given":["x","y"]}]}}]}';
    const { locations } = parseJsonWithLocations(text);
    expect(locations.get('Bundle.entry[0].resource.name[0].given[1]')).toEqual({ line: 1, column: text.indexOf('"y"') + 1 });
  });

  it('reads every conformance JSON file exactly like JSON.parse', () => {
    let compared = 0;
    for (const f of jsonFiles) {
      const text = readFileSync(CASES + f, 'utf8');
      let expected: unknown;
      try {
        expected = JSON.parse(text.replace(/^\uFEFF/, ''));
      } catch {
        expect(parseJsonWithLocations(text).issues[0]?.messageId, f).toBe('json-syntax');
        continue;
      }
      const { value, issues } = parseJsonWithLocations(text);
      expect(value, f).toEqual(expected);
      expect(issues, f).toEqual([]);
      compared++;
    }
    expect(compared).toBeGreaterThan(80);
  });

  it('reports a syntax error with line and column (bad-json-close-2.json)', () => {
    const { value, issues, locations } = parseJsonWithLocations(readFileSync(CASES + 'bad-json-close-2.json', 'utf8'));
    expect(value).toBeUndefined();
    expect(locations.size).toBe(0);
    expect(issues).toEqual([
      {
        severity: 'fatal',
        code: 'structure',
        messageId: 'json-syntax',
        message: "Error parsing JSON: Unexpected content '#' at line 15, column 11",
        path: '(json)',
        line: 15,
        column: 11,
      },
    ]);
  });

  it.each([
    ['{"a": 1,}', "Unexpected content '}' at line 1, column 9"],
    ['{"a": "x\ny"}', 'Control character in string at line 1, column 9'],
    ['{"a": "\\q"}', "Invalid escape '\\q' at line 1, column 8"],
    ['{"a": "\\u12G4"}', "Invalid unicode escape '\\u12G4' at line 1, column 8"],
    ['{"a": 012}', "Unexpected content '1' at line 1, column 8"],
    ['{"a": tru}', "Unexpected content 't' at line 1, column 7"],
    ['{"a": "x', 'Unterminated string at line 1, column 9'],
    ['\n\n  [1, 2', 'Unexpected end of input at line 3, column 8'],
    ['{} {}', "Unexpected content '{' at line 1, column 4"],
    ['', 'Unexpected end of input at line 1, column 1'],
  ])('rejects %j like JSON.parse does', (text, message) => {
    expect(() => JSON.parse(text)).toThrow();
    const { value, issues } = parseJsonWithLocations(text);
    expect(value).toBeUndefined();
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toBe(`Error parsing JSON: ${message}`);
  });

  it('decodes escapes, numbers and literals', () => {
    const text = '{"s": "a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 end", "n": [-0, 1.5e3, 12345678901, 1E-2], "l": [true, false, null]}';
    expect(parseJsonWithLocations(text).value).toEqual(JSON.parse(text));
  });

  it('reports duplicate property names (FHIR JSON requires unique names); the last value wins like JSON.parse', () => {
    const text = '{"resourceType": "Patient",\n "active": true,\n "active": false}';
    const { value, issues } = parseJsonWithLocations(text);
    expect(value).toEqual({ resourceType: 'Patient', active: false });
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'structure',
        messageId: 'json-duplicate-property',
        message: "Duplicate JSON property 'active' at line 3, column 2",
        path: 'Patient.active',
        line: 3,
        column: 2,
      },
    ]);
  });

  it('keeps __proto__ as an own property and skips a byte order mark', () => {
    const { value } = parseJsonWithLocations('\uFEFF{"__proto__": {"x": 1}}');
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value as object)).toEqual(['__proto__']);
  });

  // Its speed is the bench's to measure (npm run bench): a test checks only that nothing is lost.
  it('parses a large bundle completely', () => {
    const entry = { resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1234-5' }] }, valueQuantity: { value: 1.5, unit: 'kg' } } };
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: Array.from({ length: 20000 }, () => entry) };
    const text = JSON.stringify(bundle, null, 1);
    const { value, locations } = parseJsonWithLocations(text);
    expect(JSON.stringify(value)).toBe(JSON.stringify(bundle));
    expect(locations.get('Bundle.entry[19999].resource.valueQuantity.unit')).toBeDefined();
  });
});
