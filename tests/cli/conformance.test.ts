import { beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { genderProfile, runCli, writeTree } from './helpers.js';

const narrative = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
const javaError = (text: string, expression: string) => ({ severity: 'error', code: 'invalid', details: { text }, expression: [expression] });

const manifest = {
  fhirVersion: '4.0.1',
  cases: [
    {
      // Agrees on both steps: valid against core, one error (missing gender) against the profile.
      name: 'no-gender',
      file: 'no-gender.json',
      module: 'profile',
      supporting: [],
      packages: [],
      expected: { errors: 0, outcome: { resourceType: 'OperationOutcome' } },
      profile: {
        source: 'patient-with-gender.json',
        supporting: [],
        expected: { errors: 1, outcome: { resourceType: 'OperationOutcome', issue: [javaError('gender: minimum required = 1', 'Patient')] } },
      },
    },
    {
      // The "expected" outcome is deliberately wrong, so this step disagrees on the verdict.
      name: 'bad-date-claimed-valid',
      file: 'bad-date.xml',
      module: 'general',
      supporting: [],
      packages: [],
      options: { 'security-checks': true, 'no-such-option': 'x' },
      expected: { errors: 0, outcome: { resourceType: 'OperationOutcome' } },
    },
    {
      // The file does not exist: a crash, recorded as a disagreement, and the run goes on.
      name: 'missing-file',
      file: 'missing.json',
      module: 'general',
      supporting: [],
      packages: [],
      expected: { errors: 2, outcome: { resourceType: 'OperationOutcome', issue: [javaError('Some reference message', 'Patient.x')] } },
    },
  ],
};

let suite: string;

beforeAll(async () => {
  suite = await writeTree({
    'manifest.json': manifest,
    'cases/no-gender.json': { resourceType: 'Patient', id: 'a', text: narrative, birthDate: '1990-01-01' },
    'cases/patient-with-gender.json': genderProfile,
    'cases/bad-date.xml': `<Patient xmlns="http://hl7.org/fhir">
  <id value="b"/>
  <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">x</div></text>
  <birthDate value="1990-13"/>
</Patient>
`,
  });
});

describe('fhirdq conformance', () => {
  it('runs every step in one process, writes the results and prints agreement per module and overall', async () => {
    const out = join(suite, 'out', 'results.json');
    const run = await runCli('conformance', suite, '--out', out);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('general  verdict 0/2 (0.0%)  count 0/2 (0.0%)\n');
    expect(run.stdout).toContain('profile  verdict 2/2 (100.0%)  count 2/2 (100.0%)\n');
    expect(run.stdout).toContain('overall  verdict 2/4 (50.0%)  count 2/4 (50.0%)\n');

    const { steps } = JSON.parse(await readFile(out, 'utf8'));
    expect(steps.map((s: { case: string; step: string; errors: number | null; expectedErrors: number }) => [s.case, s.step, s.errors, s.expectedErrors])).toEqual([
      ['no-gender', 'base', 0, 0],
      ['no-gender', 'profile', 1, 1],
      ['bad-date-claimed-valid', 'base', steps[2].errors, 0],
      ['missing-file', 'base', null, 2],
    ]);
    expect(steps[2].errors).toBeGreaterThan(0);
    expect(steps[2].issues.some((i: { path: string; line?: number }) => i.path === 'Patient.birthDate' && i.line === 4)).toBe(true);
    expect(steps[3].crash).toMatch(/missing\.json/);
  });

  it('--verbose lists the disagreeing steps with our errors and the expected ones, and the options not applied', async () => {
    const run = await runCli('conformance', suite, '--verbose');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^verdict {2}general\/bad-date-claimed-valid \[base\] {2}ours [1-9]\d*, expected 0\n {4}ours: Patient\.birthDate \(4:\d+\) /m);
    expect(run.stdout).toMatch(/^verdict {2}general\/missing-file \[base\] {2}ours crashed, expected 2\n {4}crash: .*\n {4}java: Patient\.x {2}Some reference message\n/m);
    expect(run.stdout).not.toContain('no-gender [');
    expect(run.stdout).toContain('option not applied: no-such-option (bad-date-claimed-valid)\n');
  });

  it('--filter runs only the matching cases; no match is a usage problem', async () => {
    const run = await runCli('conformance', suite, '--filter', 'profile/');
    expect(run.stdout).toContain('overall  verdict 2/2 (100.0%)  count 2/2 (100.0%)\n');
    const none = await runCli('conformance', suite, '--filter', 'zzz');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^fhirdq: no cases match 'zzz'/);
  });

  it('exits 2 with one line for a manifest that does not fit the format', async () => {
    const bad = await writeTree({ 'manifest.json': { cases: [{ name: 'x', module: 'general', expected: { errors: 'one' } }] } });
    const run = await runCli('conformance', bad);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^fhirdq: [^\n]*manifest\.json: cases\.0\.file: [^\n]*; cases\.0\.expected\.errors: [^\n]*\n$/);
  });

  it('exits 2 with one line for a folder without a manifest', async () => {
    const run = await runCli('conformance', join(suite, 'cases'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^fhirdq: [^\n]*manifest\.json[^\n]*\n$/);
  });
});
