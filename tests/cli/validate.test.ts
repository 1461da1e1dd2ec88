import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GENDER_PROFILE, genderProfile, runCli, writeTree } from './helpers.js';

const validPatient = {
  resourceType: 'Patient',
  id: 'p1',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Ann</div>' },
  name: [{ family: 'Jansen', given: ['Ann'] }],
  gender: 'female',
  birthDate: '1990-01-01',
};

// birthDate on line 4, column 16 (where its value starts).
const invalidPatient = `{
  "resourceType": "Patient",
  "id": "p2",
  "birthDate": "1990-13-45"
}
`;

// A missing comma: the parser stops at "gender" on line 4, column 3.
const brokenJson = `{
  "resourceType": "Patient",
  "id": "p3"
  "gender": "male"
}
`;

const xmlPatient = `<?xml version="1.0" encoding="UTF-8"?>
<Patient xmlns="http://hl7.org/fhir">
  <id value="px"/>
  <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">Piet</div></text>
  <gender value="male"/>
  <birthDate value="1980-02-03"/>
</Patient>
`;

const xmlInvalidPatient = `<?xml version="1.0" encoding="UTF-8"?>
<Patient xmlns="http://hl7.org/fhir">
  <id value="py"/>
  <birthDate value="not-a-date"/>
</Patient>
`;

const bundle = {
  resourceType: 'Bundle',
  id: 'b1',
  type: 'collection',
  entry: [{ fullUrl: 'urn:uuid:7f0b7bd2-7b1c-4b63-9c39-1a2a2b3c4d5e', resource: validPatient }],
};

let dir: string;

beforeAll(async () => {
  dir = await writeTree({
    'valid.json': validPatient,
    'invalid.json': invalidPatient,
    'broken.json': brokenJson,
    'patient.xml': xmlPatient,
    'patient-bad.xml': xmlInvalidPatient,
    'bundle.json': bundle,
    'lines.ndjson': `${JSON.stringify(validPatient)}\n\n${JSON.stringify({ resourceType: 'Patient', id: 'p9', birthDate: 'x' })}\n`,
    'folder/sub/valid.json': validPatient,
    'folder/sub/notes.txt': 'not a resource',
    'folder/other.xml': xmlPatient,
    'empty/readme.md': '# nothing to validate',
    'ig/StructureDefinition-patient-with-gender.json': genderProfile,
    'experimental.json': {
      resourceType: 'CodeSystem',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Codes</div>' },
      url: 'http://example.org/CodeSystem/trial',
      name: 'Trial',
      status: 'draft',
      experimental: true,
      content: 'not-present',
    },
  });
});

describe('fhirdq validate --no-experimental-content', () => {
  it('fails a canonical resource marked experimental, which passes without it', async () => {
    expect((await runCli('validate', join(dir, 'experimental.json'))).code).toBe(0);
    const strict = await runCli('validate', '--no-experimental-content', join(dir, 'experimental.json'));
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('Experimental content is not allowed in this context  [experimental-content]');
  });
});

describe('fhirdq validate: exit codes', () => {
  it('exits 0 for a valid JSON resource', async () => {
    const run = await runCli('validate', join(dir, 'valid.json'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 file, 1 resource: no issues\n');
  });

  it('exits 1 with the line and column of an invalid value', async () => {
    const run = await runCli('validate', join(dir, 'invalid.json'));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/\n {2}error {4}Patient\.birthDate \(4:16\) {2}.+ {2}\[[^\]]+\]\n/);
  });

  it('reports a JSON syntax error with line and column, counts it as an error and goes on', async () => {
    const run = await runCli('validate', join(dir, 'broken.json'), join(dir, 'valid.json'));
    expect(run.code).toBe(1);
    const broken = run.stdout.split('\n\n')[0];
    expect(broken).toMatch(/broken\.json\n {2}(error|fatal) .*\(4:3\)/);
    expect(run.stdout).toContain(`${join(dir, 'valid.json')}\n  1 resource: no issues`);
  });

  it('exits 1 on warnings too with --fail-on warning', async () => {
    const root = await writeTree({ 'no-narrative.json': { resourceType: 'Patient', id: 'w' } });
    const file = join(root, 'no-narrative.json');
    const lenient = await runCli('validate', file);
    expect([lenient.code, lenient.stdout]).toEqual([0, expect.stringContaining('1 resource: 0 errors, 1 warning, 0 information')]);
    expect((await runCli('validate', '--fail-on', 'warning', file)).code).toBe(1);
    expect((await runCli('validate', '--fail-on', 'warning', join(dir, 'valid.json'))).code).toBe(0);
  });

  it('validates FHIR XML, valid and invalid', async () => {
    expect((await runCli('validate', join(dir, 'patient.xml'))).code).toBe(0);
    const bad = await runCli('validate', join(dir, 'patient-bad.xml'));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/Patient\.birthDate \(4:/);
  });

  it('walks folders for *.json, *.xml and *.ndjson only', async () => {
    const run = await runCli('validate', '--format', 'ndjson', join(dir, 'folder'));
    expect(run.code).toBe(0);
    const files = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).file);
    expect(files).toEqual([join(dir, 'folder', 'other.xml'), join(dir, 'folder', 'sub', 'valid.json')]);
  });

  it('exits 2 for a missing file, and still reports the others', async () => {
    const run = await runCli('validate', join(dir, 'nope.json'), join(dir, 'valid.json'));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`fhirdq: ${join(dir, 'nope.json')}: no such file or folder\n`);
    expect(run.stdout).toContain('valid.json');
  });

  it('exits 2 when no files match', async () => {
    const run = await runCli('validate', join(dir, 'empty'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^fhirdq: no files to validate/);
  });

  it('exits 2 with one line for usage errors', async () => {
    for (const argv of [['validate', '--format', 'xml', 'x.json'], ['validate'], ['frobnicate'], ['validate', '--nope', 'x']]) {
      const run = await runCli(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr, argv.join(' ')).toMatch(/^fhirdq: [^\n]+\n$/);
    }
  });

  it('exits 2 for an --ig that does not exist, before validating', async () => {
    const run = await runCli('validate', '--ig', join(dir, 'no-such-package'), join(dir, 'valid.json'));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`fhirdq: --ig ${join(dir, 'no-such-package')}: no such file or folder\n`);
    expect(run.stdout).toBe('');
  });

  it('loads an --ig folder and validates against --profile', async () => {
    const profiled = await runCli('validate', '--ig', join(dir, 'ig'), '--profile', GENDER_PROFILE, '--format', 'ndjson', join(dir, 'invalid.json'), join(dir, 'valid.json'));
    expect(profiled.code).toBe(1);
    const lines = profiled.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const invalidPaths = lines[0].outcome.issue.filter((i: { severity: string }) => i.severity === 'error').map((i: { expression: string[] }) => i.expression[0]);
    expect(invalidPaths).toContain('Patient.birthDate');
    expect(invalidPaths.some((p: string) => p.startsWith('Patient') && p !== 'Patient.birthDate')).toBe(true);
    expect(lines[1].errors).toBe(0);
  });

  it('exits 0 for --help and --version', async () => {
    const help = await runCli('validate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--profile <canonical>');
    expect((await runCli('--version')).code).toBe(0);
  });

  it('lists every command in the top-level help (a run loads only the command asked for) and rejects unknown ones', async () => {
    const help = await runCli('--help');
    expect(help.code).toBe(0);
    for (const command of ['validate', 'conformance', 'run', 'fixtures', 'report']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    const unknown = await runCli('valdate', 'x.json');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'valdate'");
  });
});

describe('fhirdq validate: formats', () => {
  it('ndjson: one line per resource, NDJSON input with the line of each resource', async () => {
    const run = await runCli('validate', '--format', 'ndjson', join(dir, 'lines.ndjson'), join(dir, 'bundle.json'));
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.resource, l.line])).toEqual([
      ['Patient/p1', 1],
      ['Patient/p9', 3],
      ['Bundle/b1', undefined],
    ]);
    expect(lines[0]).toMatchObject({ file: join(dir, 'lines.ndjson'), errors: 0 });
    expect(lines[1].errors).toBeGreaterThan(0);
    const dateIssue = lines[1].outcome.issue.find((i: { expression: string[] }) => i.expression[0] === 'Patient.birthDate');
    const lineExtension = dateIssue.extension.find((e: { url: string }) => e.url.endsWith('operationoutcome-issue-line'));
    expect(lineExtension.valueInteger).toBe(3);
    expect(lines[2]).toMatchObject({ errors: 0, outcome: { resourceType: 'OperationOutcome' } });
  });

  it('json: one document with files, resources and a summary', async () => {
    const run = await runCli('validate', '--format', 'json', join(dir, 'valid.json'), join(dir, 'broken.json'));
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.files.map((f: { file: string }) => f.file)).toEqual([join(dir, 'valid.json'), join(dir, 'broken.json')]);
    expect(doc.files[1].resources[0].resource).toBeNull();
    expect(doc.summary).toMatchObject({ files: 2, resources: 2 });
    expect(doc.summary.errors).toBeGreaterThan(0);
  });
});

describe('fhirdq validate: files too big to read whole', () => {
  it('says so, and what is read in parts, instead of the runtime message', async () => {
    const { describeFsError } = await import('../../src/cli/input.js');
    let thrown: unknown;
    try {
      // What reading a file of more than 512 MB into a string throws.
      // (allocUnsafe: the pages are never touched, so never resident.)
      Buffer.allocUnsafe(0x1fffffe8 + 1).toString('utf8');
    } catch (err) {
      thrown = err;
    }
    expect(describeFsError(thrown)).toBe('too big to read whole (over 512 MB): only NDJSON, and Bundles that are not documents or messages, are read in parts');
  });
});
