import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GENDER_PROFILE, genderProfile, writeTree, type CliRun } from './helpers.js';

// Workers run dist/pipeline/validate-worker.js, so this test runs the built command line (npm run build; CI builds on install).
type Main = (argv: string[], io: { out: (s: string) => void; err: (s: string) => void }) => Promise<number>;
let main: Main;

async function runBuilt(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { out: (s) => void (stdout += s), err: (s) => void (stderr += s) });
  return { code, stdout, stderr: stderr.replace(/^fhirdq: warning loading packages: .*\n/gm, '') };
}

/** Patients of every kind a line can hold: valid, invalid, profiled-invalid, not JSON, not a resource; and blank lines. */
function lines(): string {
  const out: string[] = [];
  for (let i = 0; i < 450; i++) {
    if (i % 7 === 0) out.push(JSON.stringify({ resourceType: 'Patient', id: `p${i}`, birthDate: '2020-13-01' }));
    else if (i % 11 === 0) out.push('{"resourceType": "Patient", "id": ');
    else if (i % 13 === 0) out.push('[1, 2]');
    else if (i % 17 === 0) out.push('');
    else out.push(JSON.stringify({ resourceType: 'Patient', id: `p${i}`, active: true, ...(i % 2 ? { gender: 'female' } : {}) }));
  }
  return out.join('\n') + '\n';
}

describe('fhirdq validate --workers: NDJSON validated on worker threads', () => {
  let dir: string;
  beforeAll(async () => {
    ({ main } = (await import(pathToFileURL(path.resolve('dist/cli/main.js')).href)) as { main: Main });
    dir = await writeTree({ 'export.ndjson': lines(), 'one.json': { resourceType: 'Patient', id: 'x', gender: 'nope' }, 'ig/profile.json': genderProfile });
  });

  it('reports exactly what the main thread reports, in input order, with lines and columns', async () => {
    const args = ['validate', '--format', 'ndjson', '--ig', join(dir, 'ig'), '--profile', GENDER_PROFILE, join(dir, 'one.json'), join(dir, 'export.ndjson')];
    const single = await runBuilt(...args, '--workers', '0');
    const pooled = await runBuilt(...args, '--workers', '2');
    expect(single.code).toBe(1);
    expect(pooled).toEqual(single);
    const reported = single.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; line?: number; errors: number });
    // one.json, then every non-blank line of the export in order
    expect(reported.length).toBe(1 + lines().split('\n').filter((l) => l !== '').length);
    expect(reported.slice(1).every((r, i, all) => i === 0 || r.line! > all[i - 1]!.line!)).toBe(true);
    expect(reported.filter((r) => r.errors > 0).length).toBeGreaterThan(200);
  });

  it('reports each line as the validator does on its own, on the main thread alone and with workers', async () => {
    // The oracle: each line parsed and validated by itself, outside the pool's batches (which validate grouped by type).
    const { createValidator } = (await import(pathToFileURL(path.resolve('dist/index.js')).href)) as typeof import('../../src/index.js');
    const input = (await import(pathToFileURL(path.resolve('dist/cli/input.js')).href)) as typeof import('../../src/cli/input.js');
    const output = (await import(pathToFileURL(path.resolve('dist/cli/output.js')).href)) as typeof import('../../src/cli/output.js');
    const file = join(dir, 'export.ndjson');
    const validator = await createValidator({ igs: [join(dir, 'ig')] });
    let expected = '';
    for await (const { text, line } of input.readNdjsonLines(file)) {
      const parsed = input.parseJsonText(text, line);
      const issues = input.validateParsedSafely(validator, parsed, { profile: GENDER_PROFILE });
      expected += output.renderResource('ndjson', file, { resource: output.resourceLabel(parsed.resource), line, issues });
    }
    for (const workers of ['0', '2']) {
      const run = await runBuilt('validate', '--format', 'ndjson', '--ig', join(dir, 'ig'), '--profile', GENDER_PROFILE, file, '--workers', workers);
      expect(run.stdout).toBe(expected);
    }
  });

  it.each(['text', 'json', 'junit', 'sarif'])('reports in --format %s exactly what the main thread reports', async (format) => {
    const args = ['validate', '--format', format, '--ig', join(dir, 'ig'), '--profile', GENDER_PROFILE, join(dir, 'one.json'), join(dir, 'export.ndjson')];
    const single = await runBuilt(...args, '--workers', '0');
    expect(single.stdout).toContain('export.ndjson');
    expect(await runBuilt(...args, '--workers', '2')).toEqual(single);
  });

  it('--min-severity lists only the worse issues, on the workers as on the main thread; counts and exit code take all', async () => {
    const args = ['validate', '--format', 'text', join(dir, 'one.json'), join(dir, 'export.ndjson')];
    const all = await runBuilt(...args, '--workers', '0');
    const listed = (run: CliRun, severity: string) => run.stdout.split('\n').filter((l) => l.startsWith(`  ${severity} `)).length;
    expect(listed(all, 'warning')).toBeGreaterThan(100);
    for (const workers of ['0', '2']) {
      const errorsOnly = await runBuilt(...args, '--workers', workers, '--min-severity', 'error');
      expect(listed(errorsOnly, 'warning') + listed(errorsOnly, 'info   ')).toBe(0);
      expect(listed(errorsOnly, 'error  ') + listed(errorsOnly, 'fatal  ')).toBe(listed(all, 'error  ') + listed(all, 'fatal  '));
      // The same counts (each file's and the total) and exit code as the full report.
      const countLines = (run: CliRun) => run.stdout.split('\n').filter((l) => /resources?: /.test(l));
      expect(countLines(errorsOnly)).toEqual(countLines(all));
      expect(errorsOnly.code).toBe(all.code);
    }
    // Warnings fail a --fail-on warning run even when not listed: a resource without narrative has one (dom-6).
    const warned = join(await writeTree({ 'warned.json': { resourceType: 'Patient', id: 'w', active: true } }), 'warned.json');
    const resultsOf = (run: CliRun) => (JSON.parse(run.stdout) as { runs: { results: { level: string }[] }[] }).runs[0]!.results;
    const listedAll = await runBuilt('validate', '--format', 'sarif', '--fail-on', 'warning', warned);
    expect([listedAll.code, resultsOf(listedAll).map((r) => r.level)]).toEqual([1, ['warning']]);
    const notListed = await runBuilt('validate', '--format', 'sarif', '--min-severity', 'error', '--fail-on', 'warning', warned);
    expect([notListed.code, resultsOf(notListed)]).toEqual([1, []]);
  });

  it('gives the workers the best-practice level: narrative-less resources fail the run with --best-practice error', async () => {
    const args = ['validate', '--format', 'ndjson', join(dir, 'export.ndjson')];
    const strict = await runBuilt(...args, '--workers', '2', '--best-practice', 'error');
    expect(strict).toEqual(await runBuilt(...args, '--workers', '0', '--best-practice', 'error'));
    const errorsOf = (run: CliRun) => run.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { errors: number }).errors);
    const lenient = await runBuilt(...args, '--workers', '2');
    // every resource line has no narrative: one more error each
    const resources = errorsOf(lenient).length;
    expect(errorsOf(strict).reduce((a, b) => a + b, 0) - errorsOf(lenient).reduce((a, b) => a + b, 0)).toBeGreaterThan(resources / 2);
  });

  it('gives the workers the allowed extension domains: an extension from elsewhere is an error', async () => {
    const withExtension = (i: number) => JSON.stringify({ resourceType: 'Patient', id: `e${i}`, extension: [{ url: `http://${i % 2 ? 'vendor' : 'other'}.nl/ext`, valueString: 'x' }] });
    const file = join(await writeTree({ 'extensions.ndjson': Array.from({ length: 300 }, (_, i) => withExtension(i)).join('\n') + '\n' }), 'extensions.ndjson');
    const args = ['validate', '--format', 'ndjson', '--extension', 'http://vendor.nl/', file];
    const pooled = await runBuilt(...args, '--workers', '2');
    expect(pooled).toEqual(await runBuilt(...args, '--workers', '0'));
    const errors = pooled.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { errors: number }).errors);
    expect(errors.filter((e) => e > 0)).toHaveLength(150);
    expect((await runBuilt('validate', '--format', 'ndjson', '--workers', '2', file)).code).toBe(0);
  });

  it('gives the workers --display-issues-are-warnings: a Dutch display of an English-only code is then a warning, not an error', async () => {
    const dutch = (i: number) => JSON.stringify({ resourceType: 'Patient', id: `d${i}`, maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Gehuwd' }] } });
    const file = join(await writeTree({ 'dutch.ndjson': Array.from({ length: 300 }, (_, i) => dutch(i)).join('\n') + '\n' }), 'dutch.ndjson');
    const strict = await runBuilt('validate', '--workers', '2', file);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/error +Patient\.maritalStatus\.coding\[0\]\.display .+ \[TX_WRONG_DISPLAY\]/);
    const args = ['validate', '--format', 'ndjson', '--display-issues-are-warnings', file];
    const lenient = await runBuilt(...args, '--workers', '2');
    expect(lenient).toEqual(await runBuilt(...args, '--workers', '0'));
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toContain('TX_WRONG_DISPLAY');
  });

  it('gives the workers --questionnaire: with required, a response whose questionnaire is unknown fails', async () => {
    const response = (i: number) => JSON.stringify({ resourceType: 'QuestionnaireResponse', id: `r${i}`, questionnaire: 'http://fhirdq.test/Questionnaire/unknown', status: 'completed' });
    const file = join(await writeTree({ 'responses.ndjson': Array.from({ length: 300 }, (_, i) => response(i)).join('\n') + '\n' }), 'responses.ndjson');
    const lenient = await runBuilt('validate', '--workers', '2', file);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/warning +QuestionnaireResponse .+could not be resolved.+\[Questionnaire_QR_Q_NotFound\]/);
    const args = ['validate', '--format', 'ndjson', '--questionnaire', 'required', file];
    const strict = await runBuilt(...args, '--workers', '2');
    expect(strict).toEqual(await runBuilt(...args, '--workers', '0'));
    expect(strict.code).toBe(1);
    expect(strict.stdout.match(/Questionnaire_QR_Q_NotFound/g)).toHaveLength(300);
  });

  it.each(['ndjson', 'text', 'json'])('validates a big Bundle entry by entry on the workers as on the main thread (--format %s)', async (format) => {
    type ValidateFiles = (paths: string[], options: object, io: { out: (s: string) => void; err: (s: string) => void }) => Promise<number>;
    const { validateFiles } = (await import(pathToFileURL(path.resolve('dist/cli/validate-command.js')).href)) as { validateFiles: ValidateFiles };
    // A transaction: entries without a request break bdl-3, references reach entries far apart, one entry is not JSON.
    const entries = Array.from({ length: 900 }, (_, i) => {
      const resource = i % 5 === 0 ? { resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: 'x' }, subject: { reference: `urn:uuid:${(i * 37) % 900}` } } : { resourceType: 'Patient', id: `p${i}`, birthDate: i % 7 ? '2020-01-01' : '2020-13-01' };
      return JSON.stringify({ fullUrl: `urn:uuid:${i}`, resource, ...(i % 50 ? { request: { method: 'POST', url: resource.resourceType } } : {}) }, null, 1);
    });
    entries[450] = '{"fullUrl": "urn:uuid:450", "resource": {"resourceType": "Patient" "id": "x"}}';
    const file = join(await writeTree({ 'bundle.json': `{"resourceType": "Bundle", "type": "transaction", "entry": [\n${entries.join(',\n')}\n]}\n` }), 'bundle.json');
    const run = async (workers: number) => {
      let out = '';
      const code = await validateFiles([file], { ig: [], format, extension: [], workers, bundleByEntryFrom: 0 }, { out: (s) => void (out += s), err: () => {} });
      return { code, out };
    };
    const single = await run(0);
    expect(single.code).toBe(1);
    expect(single.out).toContain('bdl-3');
    expect(single.out).toContain('Error parsing JSON');
    expect(await run(2)).toEqual(single);
  });

  it('validates a big XML Bundle entry by entry on the workers as on the main thread', async () => {
    type ValidateFiles = (paths: string[], options: object, io: { out: (s: string) => void; err: (s: string) => void }) => Promise<number>;
    const { validateFiles } = (await import(pathToFileURL(path.resolve('dist/cli/validate-command.js')).href)) as { validateFiles: ValidateFiles };
    const { writeFhirXml } = (await import(pathToFileURL(path.resolve('dist/formats/fhir-xml.js')).href)) as { writeFhirXml: (r: object) => string };
    const entry = (i: number) => ({
      fullUrl: `urn:uuid:${i}`,
      resource: i % 5 === 0 ? { resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: 'x' }, subject: { reference: `urn:uuid:${(i * 37) % 600}` } } : { resourceType: 'Patient', id: `p${i}`, birthDate: '2020-01-01' },
      ...(i % 50 ? { request: { method: 'POST', url: 'Patient' } } : {}),
    });
    const xml = writeFhirXml({ resourceType: 'Bundle', type: 'transaction', entry: Array.from({ length: 600 }, (_, i) => entry(i)) });
    // An element the reader does not know, inside one entry.
    const file = join(await writeTree({ 'bundle.xml': xml.replace('<id value="p7"/>', '<id value="p7"/><nope value="1"/>') }), 'bundle.xml');
    const run = async (workers: number) => {
      let out = '';
      const code = await validateFiles([file], { ig: [], format: 'ndjson', extension: [], workers, bundleByEntryFrom: 0 }, { out: (s) => void (out += s), err: () => {} });
      return { code, out };
    };
    const single = await run(0);
    expect(single.code).toBe(1);
    expect(single.out.trim().split('\n')).toHaveLength(601);
    expect(single.out).toContain('bdl-3');
    expect(single.out).toContain('Bundle.entry[7].resource');
    expect(await run(2)).toEqual(single);
  });

  it.each([
    ['NDJSON', 'export-zoë.ndjson', () => lines()],
    ['a big Bundle entry by entry', 'bundle-zoë.json', () => JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: Array.from({ length: 700 }, (_, i) => ({ fullUrl: `urn:uuid:${i}`, resource: { resourceType: 'Patient', birthDate: i % 3 ? '2020-01-01' : '2020-13-01' } })) })],
  ])('gives an output that takes bytes the workers\' reports of %s as UTF-8, in order among its text', async (_, name, content) => {
    type IO = { out: (s: string) => void; outBytes?: (b: Uint8Array) => void; err: (s: string) => void };
    type ValidateFiles = (paths: string[], options: object, io: IO) => Promise<number>;
    const { validateFiles } = (await import(pathToFileURL(path.resolve('dist/cli/validate-command.js')).href)) as { validateFiles: ValidateFiles };
    const file = join(await writeTree({ [name]: content() }), name);
    const run = (io: IO) => validateFiles([file], { ig: [], format: 'text', extension: [], workers: 2, bundleByEntryFrom: 0 }, io);
    let asText = '';
    expect(await run({ out: (s) => void (asText += s), err: () => {} })).toBe(1);
    const parts: (string | Uint8Array)[] = [];
    expect(await run({ out: (s) => void parts.push(s), outBytes: (b) => void parts.push(b), err: () => {} })).toBe(1);
    expect(parts.filter((p) => typeof p !== 'string').length).toBeGreaterThan(1);
    expect(parts.map((p) => (typeof p === 'string' ? p : new TextDecoder().decode(p))).join('')).toBe(asText);
    // The file's name heads the text report, and its counts end it.
    expect(asText.startsWith(`${file}\n`)).toBe(true);
    expect(asText).toMatch(/resources: \d+ errors/);
  });

  describe('output read slower than it is made (a pipe)', () => {
    const count = 4000;
    const patient = (i: number) => ({ resourceType: 'Patient', id: `p${i}`, birthDate: '2020-13-01', gender: 'nope' });
    let files: Record<'ndjson' | 'bundle', string>;
    beforeAll(async () => {
      const ids = Array.from({ length: count }, (_, i) => i);
      const bundle = { resourceType: 'Bundle', type: 'collection', entry: ids.map((i) => ({ fullUrl: `urn:uuid:${i}`, resource: patient(i) })) };
      const tree = await writeTree({ 'slow.ndjson': ids.map((i) => JSON.stringify(patient(i))).join('\n') + '\n', 'slow-bundle.json': bundle });
      files = { ndjson: join(tree, 'slow.ndjson'), bundle: join(tree, 'slow-bundle.json') };
    });

    it.each([
      ['NDJSON on workers', 'ndjson', 2],
      ['NDJSON on the main thread', 'ndjson', 0],
      ['a Bundle entry by entry on workers', 'bundle', 2],
      ['a Bundle entry by entry on the main thread', 'bundle', 0],
    ] as const)('waits for the reader: %s', async (_, kind, workers) => {
      type ValidateFiles = (paths: string[], options: object, io: { out: (s: string) => void; err: (s: string) => void; outWaiting(): Promise<void> | undefined }) => Promise<number>;
      const { validateFiles } = (await import(pathToFileURL(path.resolve('dist/cli/validate-command.js')).href)) as { validateFiles: ValidateFiles };
      // A reader that takes what was written one turn of the event loop after being waited for.
      let unread = 0;
      let mostUnread = 0;
      let largestWrite = 0;
      let written = '';
      const io = {
        out: (s: string) => {
          written += s;
          unread += s.length;
          mostUnread = Math.max(mostUnread, unread);
          largestWrite = Math.max(largestWrite, s.length);
        },
        err: () => {},
        outWaiting: () => (unread === 0 ? undefined : new Promise<void>((taken) => setImmediate(() => ((unread = 0), taken())))),
      };
      const code = await validateFiles([files[kind]], { ig: [], format: 'ndjson', extension: [], workers, bundleByEntryFrom: 0 }, io);
      expect(code).toBe(1);
      // Every result written (the Bundle's own line last), never more than about a write's worth of it unread (a
      // chunk of the main thread's, a batch of a worker's), a small part of the whole.
      expect(written.trim().split('\n')).toHaveLength(kind === 'bundle' ? count + 1 : count);
      expect(mostUnread).toBeLessThanOrEqual(2 * largestWrite);
      expect(written.length).toBeGreaterThan(4 * mostUnread);
    });
  });

  it('rejects a worker count that is not a whole number', async () => {
    const run = await runBuilt('validate', '--workers', 'many', join(dir, 'export.ndjson'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--workers.*whole number/);
  });
});

describe('fhirdq validate without --workers: workers only from a size where they pay off', () => {
  const MB = 1024 * 1024;
  it('on 2 cores, none for 100 MB (as fast without), one from 128 MB', async () => {
    const { defaultWorkers } = await import('../../src/cli/validate-command.js');
    expect(defaultWorkers(100 * MB, 2)).toBe(0);
    expect(defaultWorkers(128 * MB, 2)).toBe(1);
    expect(defaultWorkers(1024 * MB, 2)).toBe(1);
  });

  it('with more cores from less, never under 32 MB; none on one core', async () => {
    const { defaultWorkers } = await import('../../src/cli/validate-command.js');
    expect(defaultWorkers(64 * MB, 3)).toBe(2);
    expect(defaultWorkers(63 * MB, 3)).toBe(0);
    expect(defaultWorkers(32 * MB, 16)).toBe(15);
    expect(defaultWorkers(31 * MB, 16)).toBe(0);
    expect(defaultWorkers(1024 * MB, 1)).toBe(0);
  });
});
