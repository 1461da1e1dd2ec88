import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writeTree } from './helpers.js';

// The executable as users start it (npx fhirdq): by its #! line. It runs the built command line (dist/).
const fhirdq = resolve('bin/fhirdq.js');
const run = promisify(execFile);

describe('bin/fhirdq.js started as an executable', () => {
  it('prints the version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const { stdout } = await run(fhirdq, ['--version']);
    expect(stdout.trim()).toBe(version);
  });

  it('validates NDJSON on every core and fails on errors with exit code 1 and one report line per resource', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ resourceType: 'Patient', id: `p${i}`, birthDate: i % 2 ? '2020-01-01' : '2020-13-01' }));
    const file = join(await writeTree({ 'export.ndjson': `${lines.join('\n')}\n` }), 'export.ndjson');
    const failure = await run(fhirdq, ['validate', '--workers', '1', '--format', 'ndjson', file]).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(failure.code).toBe(1);
    const reported = failure.stdout.trim().split('\n').map((l) => JSON.parse(l) as { resource: string; errors: number });
    expect(reported).toHaveLength(300);
    expect(reported.filter((r) => r.errors > 0)).toHaveLength(150);
    expect(reported[299]!.resource).toBe('Patient/p299');
  });

  it('writes NDJSON as one json document, the same on every core as on one thread', async () => {
    const lines = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ resourceType: 'Patient', id: `p${i}`, birthDate: i % 3 ? '2020-01-01' : '2020-13-01' }));
    const file = join(await writeTree({ 'export.ndjson': `${lines.join('\n')}\n` }), 'export.ndjson');
    const json = (workers: string) =>
      run(fhirdq, ['validate', '--workers', workers, '--format', 'json', file], { maxBuffer: 64 << 20 }).then(
        () => '',
        (err: { stdout: string }) => err.stdout,
      );
    const [oneThread, everyCore] = await Promise.all([json('0'), json('1')]);
    expect(everyCore).toBe(oneThread);
    const doc = JSON.parse(everyCore) as { files: { resources: { resource: string; line: number }[] }[]; summary: object };
    expect(everyCore).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    expect(doc.files[0]!.resources.map((r) => r.line)).toEqual(lines.map((_, i) => i + 1));
    expect(doc.summary).toMatchObject({ files: 1, resources: 1200, errors: 400 });
  });
});
