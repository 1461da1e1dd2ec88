import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Issue } from '../../src/validation/issues.js';
import type { ValidatorPool } from '../../src/pipeline/validate-pool.js';
import type { IssueContext } from '../../src/pipeline/issue-lines.js';

// The pool runs dist/pipeline/validate-worker.js in worker threads, so this test uses the build (npm run build; CI builds on install).
const dist = (rel: string) => import(pathToFileURL(path.resolve('dist', rel)).href);
const SUITE = path.resolve('../shared/conformance/fhir-test-cases-r4');

/** Every JSON case of the conformance suite that parses (valid and invalid ones), as one-line JSON text. */
function suiteTexts(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(SUITE, 'manifest.json'), 'utf8')) as { cases: { file: string }[] };
  const out: string[] = [];
  for (const c of manifest.cases) {
    if (!c.file.endsWith('.json')) continue;
    try {
      out.push(JSON.stringify(JSON.parse(readFileSync(path.join(SUITE, 'cases', c.file), 'utf8'))));
    } catch {
      // a case whose file is not JSON at all tests the parser, not the pool
    }
  }
  return out;
}

const countsOf = (issues: Issue[]) => ['fatal', 'error', 'warning', 'information'].map((s) => issues.filter((i) => i.severity === s).length);

/** Splits into batches of `size` and sends them all at once, so every worker gets some; results joined in order. */
async function inBatches<T, R>(items: T[], size: number, send: (batch: T[], offset: number) => Promise<R[]>): Promise<R[]> {
  const batches: Promise<R[]>[] = [];
  for (let i = 0; i < items.length; i += size) batches.push(send(items.slice(i, i + size), i));
  return (await Promise.all(batches)).flat();
}

describe('validator pool on 2 worker threads', () => {
  let pool: ValidatorPool;
  let texts: string[];
  let expected: Issue[][];
  const VITALS = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';

  beforeAll(async () => {
    const { createValidator } = await dist('index.js');
    const { createValidatorPool } = await dist('pipeline/validate-pool.js');
    pool = createValidatorPool({ workers: 2, igs: [] });
    texts = suiteTexts();
    const validator = await createValidator({});
    expected = texts.map((t) => validator.validateToIssues(JSON.parse(t)));
  }, 60_000);
  afterAll(() => pool.close());

  it('gives each resource the issues the single-thread validator gives, in order, whichever worker took its batch', async () => {
    expect(texts.length).toBeGreaterThan(70);
    expect(expected.some((e) => e.length > 0)).toBe(true);
    // Text items (the bench's way) and parsed resources (JSON.stringify'd by the pool) alike.
    const fromText = await inBatches(texts, 7, (b) => pool.validate(b.map((json) => ({ json }))));
    const fromResource = await inBatches(texts, 11, (b) => pool.validate(b.map((json) => ({ resource: JSON.parse(json) }))));
    expect(fromText).toEqual(expected);
    expect(fromResource).toEqual(expected);
  });

  it('counts each resource\'s issues by severity as the single-thread validator does', async () => {
    const counts = await inBatches(texts, 9, async (b) => {
      const c: Uint32Array = await pool.countIssues(b.map((json) => ({ json })));
      expect(c.length).toBe(b.length * 4);
      return b.map((_, i) => Array.from(c.subarray(i * 4, i * 4 + 4)));
    });
    expect(counts).toEqual(expected.map(countsOf));
  });

  it('builds the issue lines and counts of validateBatch in the worker, each line with its own resource\'s context', async () => {
    const { batchOutcome } = await dist('pipeline/issue-lines.js');
    const contextOf = (json: string, i: number): IssueContext => {
      const r = JSON.parse(json) as { resourceType: string; id?: string };
      return { source: 'suite', file: 'cases.ndjson', line: i + 1, exchange: 'x', resourceType: r.resourceType, id: r.id };
    };
    const outcomes = await inBatches(texts, 13, async (b, offset) => {
      const contexts = b.map((json, i) => contextOf(json, offset + i));
      return [{ got: await pool.validateBatch(contexts, b.map((json) => ({ json }))), want: batchOutcome(contexts, expected.slice(offset, offset + b.length)) }];
    });
    for (const { got, want } of outcomes) {
      expect(got.lines).toBe(want.lines);
      expect(Array.from(got.counts)).toEqual(Array.from(want.counts));
    }
    expect(outcomes.map((o) => o.got.lines).join('')).toContain('"line":1,');
  });

  it('validates each item against its own profile', async () => {
    const { createValidator } = await dist('index.js');
    const validator = await createValidator({});
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'weight' }, valueQuantity: { value: 70, unit: 'kg' } };
    const json = JSON.stringify(observation);
    const [asProfiled, asPlain] = await pool.validate([{ json, profile: VITALS }, { json }]);
    expect(asProfiled).toEqual(validator.validateToIssues(observation, { profile: VITALS }));
    expect(asPlain).toEqual(validator.validateToIssues(observation));
    expect(asProfiled.length).toBeGreaterThan(asPlain.length);
  });

  it('reports an item that is not JSON as one fatal issue and validates its neighbours', async () => {
    const [before, bad, after] = await pool.validate([{ json: texts[0] }, { json: '{"resourceType":"Patient",' }, { json: texts[1] }]);
    expect(before).toEqual(expected[0]);
    expect(after).toEqual(expected[1]);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ severity: 'fatal', messageId: 'VALIDATOR_CRASH' });
  });

  it('rejects a batch that fails in the worker with the worker\'s message, and keeps serving', async () => {
    // More contexts than items: building the issue lines fails inside the worker.
    const contexts: IssueContext[] = [0, 1].map((line) => ({ source: 's', file: 'f', line, exchange: 'x', resourceType: 'Patient' }));
    await expect(pool.validateBatch(contexts, [{ json: texts[0] }])).rejects.toThrow(/^validation worker: /);
    expect(await pool.validate([{ json: texts[2] }])).toEqual([expected[2]]);
  });
});

describe('validator pool with the main thread validating too', () => {
  let texts: string[];
  let expected: Issue[][];
  let validator: { validateToIssues(r: object): Issue[] };

  /** The main thread's validator, counting the resources it validates. */
  function counting(): { validator: object; validated: () => number } {
    let calls = 0;
    const proxy = new Proxy(validator, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (key !== 'validateToIssues' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { validator: proxy, validated: () => calls };
  }

  beforeAll(async () => {
    const { createValidator } = await dist('index.js');
    validator = await createValidator({});
    texts = suiteTexts();
    expected = texts.map((t) => validator.validateToIssues(JSON.parse(t)));
  }, 60_000);

  it('takes batches once the worker has two queued, and answers them as the worker does', async () => {
    const { createValidatorPool } = await dist('pipeline/validate-pool.js');
    const main = counting();
    const pool: ValidatorPool = createValidatorPool({ workers: 1, igs: [], mainThread: main.validator });
    try {
      const results = await inBatches(texts, 7, (b) => pool.validate(b.map((json) => ({ json }))));
      expect(results).toEqual(expected);
      // Sent at once: the worker is given the first two batches, the main thread the third, and so on.
      expect(main.validated()).toBeGreaterThanOrEqual(7);
      expect(main.validated()).toBeLessThan(texts.length);
    } finally {
      await pool.close();
    }
  });

  it('validates everything itself when there are no workers, and fails a bad batch without stopping', async () => {
    const { createValidatorPool } = await dist('pipeline/validate-pool.js');
    const main = counting();
    const pool: ValidatorPool = createValidatorPool({ workers: 0, igs: [], mainThread: main.validator });
    try {
      const counts = await inBatches(texts, 9, async (b) => {
        const c: Uint32Array = await pool.countIssues(b.map((json) => ({ json })));
        return b.map((_, i) => Array.from(c.subarray(i * 4, i * 4 + 4)));
      });
      expect(counts).toEqual(expected.map(countsOf));
      expect(main.validated()).toBe(texts.length);
      const contexts: IssueContext[] = [0, 1].map((line) => ({ source: 's', file: 'f', line, exchange: 'x', resourceType: 'Patient' }));
      await expect(pool.validateBatch(contexts, [{ json: texts[0] }])).rejects.toThrow(/^validation: /);
      expect(await pool.validate([{ json: texts[2] }])).toEqual([expected[2]]);
    } finally {
      await pool.close();
    }
  });

  it("validates a big Bundle's entries on the main thread as on its own, and leaves the caller's files open", async () => {
    const { createValidatorPool } = await dist('pipeline/validate-pool.js');
    const { scanBundle, validateBundleEntries, BundleEntryValidation } = await dist('cli/bundle-entries.js');
    const entries = Array.from({ length: 500 }, (_, i) => ({
      fullUrl: `urn:uuid:${i}`,
      resource: i % 4 === 0 ? { resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: 'x' }, subject: { reference: `urn:uuid:${(i * 37) % 500}` } } : { resourceType: 'Patient', id: `p${i}`, birthDate: i % 7 ? '2020-01-01' : '2020-13-01' },
    }));
    const dir = mkdtempSync(path.join(tmpdir(), 'fhirdq-pool-bundle-'));
    const file = path.join(dir, 'bundle.json');
    writeFileSync(file, JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: entries }, null, 1));
    const alone: { label: string | null; line?: number; issues: Issue[] }[] = [...(await validateBundleEntries(validator, file, 'json'))];
    // Rendered as the json report's entries: every issue with its severity, message, path, line and column.
    const { renderResource } = await dist('cli/output.js');
    const entryText = (r: (typeof alone)[number]) => renderResource('json', file, { resource: r.label, line: r.line, issues: r.issues });

    const scanned = await scanBundle(file, 'json');
    const own = BundleEntryValidation.open(validator, scanned);
    const pool: ValidatorPool = createValidatorPool({ workers: 0, igs: [], mainThread: validator });
    try {
      const session = await pool.openBundle(scanned, undefined);
      const output = { format: 'json', least: 'information' } as const;
      const rendered = await Promise.all([0, 200, 400].map((from) => session.render(output, from, Math.min(from + 200, 500))));
      own.takeIn(await session.close());
      // The pool's copies are closed; the caller's, which the Bundle's own issues still read, are not.
      const finished = own.finish();
      expect(rendered.map((r) => new TextDecoder().decode(r.bytes)).join('') + entryText(finished)).toBe(alone.map(entryText).join(''));
      expect(rendered.reduce((n, r) => n + r.counts.errors, 0) + countsOf(finished.issues)[1]!).toBe(alone.reduce((n, r) => n + countsOf(r.issues)[1]!, 0));
      expect(alone.filter((r) => r.issues.some((i) => i.severity === 'error')).length).toBeGreaterThan(50);
    } finally {
      own.close();
      await pool.close();
    }
  });
});

describe('a validation worker that dies', () => {
  it('fails its batch and every later one with the reason, instead of leaving them pending', async () => {
    const { createValidatorPool } = await dist('pipeline/validate-pool.js');
    // A heap too small to load the validator: the worker runs out of memory.
    const pool: ValidatorPool = createValidatorPool({ workers: 1, igs: [], heapMb: 8 });
    try {
      const item = { json: '{"resourceType":"Patient"}' };
      await expect(pool.countIssues([item])).rejects.toThrow(/ran out of memory \(validation.workerHeapMb: 8\)/);
      await expect(pool.validate([item])).rejects.toThrow(/ran out of memory/);
    } finally {
      await pool.close();
    }
  }, 30_000);
});
