import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithKnown, parseKnownIssues, validateExamples, type ExampleResult, type KnownIssue } from '../../src/packages/build/examples.js';
import { createValidator, type Validator } from '../../src/index.js';
import type { FhirResource } from '../../src/packages/types.js';
import { EXCHANGES } from './mutations.js';

const PROFILES = fileURLToPath(new URL('../../profiles/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/profiles/', import.meta.url));
const fixtureFiles = new Set(EXCHANGES.flatMap((exchange) => readdirSync(`${FIXTURES}${exchange}/valid/`)));

let validator: Validator;
let results: ExampleResult[];
let known: KnownIssue[];

beforeAll(async () => {
  validator = await createValidator({});
  results = await validateExamples(validator, PROFILES);
  known = parseKnownIssues(readFileSync(`${PROFILES}KNOWN-ISSUES.md`, 'utf8'));
});

describe('shipped examples validate against their declared profiles', () => {
  it('covers the 271 zib2020/nl-core examples, the 19 MP9 examples and the PZP FSH example Instances', () => {
    const count = (prefix: string) => results.filter((r) => r.package.startsWith(prefix)).length;
    expect(count('nictiz.fhir.nl.r4.nl-core#')).toBe(271);
    expect(count('nictiz.fhir.nl.r4.medicationprocess9#')).toBe(19);
    expect(count('iknl.fhir.r4.pzp#')).toBeGreaterThanOrEqual(40);
  });

  it('every example declares a profile', () => {
    const dirs = [...new Set(results.map((r) => r.package))];
    for (const pkg of dirs) {
      const dir = `${PROFILES}${pkg}/package/example/`;
      for (const file of readdirSync(dir)) {
        const resource = JSON.parse(readFileSync(dir + file, 'utf8')) as FhirResource & { meta?: { profile?: string[] } };
        if (resource.resourceType !== 'Bundle') expect(resource.meta?.profile?.length, `${pkg} ${file}`).toBeGreaterThan(0);
      }
    }
  });

  it('has 0 errors except the rows of KNOWN-ISSUES.md', () => {
    const { unexpected } = compareWithKnown(results, known);
    expect(unexpected.map(({ file, issue }) => `${file} ${issue.messageId} ${issue.path}: ${issue.message}`)).toEqual([]);
  });

  it('every invariant of the profiles is decided on every example (zib-Alert-1 needs memberOf)', () => {
    expect(results.flatMap(({ file, undecided }) => undecided.map((i) => `${file} ${i.path}: ${i.message}`))).toEqual([]);
  });

  it('every KNOWN-ISSUES.md row still occurs and gives a category and reason', () => {
    // Rows about the regional fixtures are checked with those fixtures below.
    const { stale } = compareWithKnown(results, known.filter((k) => !fixtureFiles.has(k.file)));
    expect(stale.map((k) => `${k.file} ${k.messageId} ${k.path}`)).toEqual([]);
    for (const k of known) {
      expect(['example', 'core', 'nictiz', 'cascade', 'source', 'engine']).toContain(k.category);
      expect(k.reason.length).toBeGreaterThan(20);
    }
  });
});

describe.each(EXCHANGES)('fixtures/profiles/%s/valid', (exchange) => {
  it('validates with 0 errors against the regional profiles', () => {
    const dir = `${FIXTURES}${exchange}/valid/`;
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const resource = JSON.parse(readFileSync(dir + file, 'utf8')) as FhirResource & { meta?: { profile?: string[] } };
      expect(resource.meta?.profile?.[0]).toMatch(/^http:\/\/fhirdq\.nl\/fhir\/StructureDefinition\/regio-/);
      const all = validator.validateToIssues(resource).filter((i) => i.severity === 'error');
      const rows = known.filter((k) => k.file === file);
      const listed = (e: { messageId: string; path: string }) => rows.some((k) => k.messageId === e.messageId && k.path === e.path);
      expect(all.filter((e) => !listed(e)).map((e) => `${file} ${e.messageId} ${e.path}`)).toEqual([]);
      // Each listed row must still occur, so the list cannot go stale.
      for (const k of rows) expect(all.some((e) => e.messageId === k.messageId && e.path === k.path), `${file} ${k.messageId} ${k.path}`).toBe(true);
    }
  });
});

describe.each(EXCHANGES)('fixtures/profiles/%s/invalid', (exchange) => {
  it('each file has the error listed in invalid.expected.json', () => {
    const expected = JSON.parse(readFileSync(`${FIXTURES}${exchange}/invalid.expected.json`, 'utf8')) as Record<string, { messageId: string; path: string }>;
    const files = readdirSync(`${FIXTURES}${exchange}/invalid/`);
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    for (const file of files) {
      const resource = JSON.parse(readFileSync(`${FIXTURES}${exchange}/invalid/${file}`, 'utf8')) as FhirResource;
      const errors = validator.validateToIssues(resource).filter((i) => i.severity === 'error');
      expect(errors.map((e) => ({ messageId: e.messageId, path: e.path }))).toContainEqual(expected[file]);
    }
  });
});
