import { beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadRunConfig } from '../../src/pipeline/config.js';
import { runPipeline, type RunSummary } from '../../src/pipeline/run.js';
import type { Progress } from '../../src/pipeline/progress.js';
import { runCli } from '../cli/helpers.js';

const quiet: Progress = { event() {}, tick() {}, done() {} };
type Json = Record<string, any>;

const SPEC = `resources:
  - name: patient
    resourceType: Patient
    exchange: mp9
    once: true
    idFrom: [{ $col: bsn, as: bsn, required: true }]
    template:
      birthDate: { $col: geboortedatum, as: date, required: true }
`;
// Valid BSNs (11-check).
const BSNS = ['123456782', '111222333', '345905192', '771163800'];
const rows = (n: number) => Array.from({ length: n }, (_, i) => `${BSNS[i % BSNS.length]},0${(i % 9) + 1}-02-1950`).join('\n');

let dir: string;
let summary: RunSummary;
let rejected: Json[];
const reason = (file: string) => rejected.filter((r) => r.file === `data/${file}`);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-badin-'));
  await mkdir(path.join(dir, 'data'));
  await writeFile(path.join(dir, 'spec.yaml'), SPEC);
  await writeFile(path.join(dir, 'typo.yaml'), SPEC.replace('as: date, required', 'as: date, requird'));
  await writeFile(path.join(dir, 'no-exchange.yaml'), SPEC.replace('    exchange: mp9\n', ''));
  await writeFile(path.join(dir, 'other-exchange.yaml'), SPEC.replace('exchange: mp9', 'exchange: pzp'));
  await writeFile(path.join(dir, 'data/good.csv'), `bsn,geboortedatum\n${rows(3)}\n`);
  const gz = gzipSync(`bsn,geboortedatum\n${rows(2000)}\n`);
  await writeFile(path.join(dir, 'data/truncated.csv.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
  await writeFile(path.join(dir, 'data/binary.csv'), Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37) % 256)));
  await writeFile(path.join(dir, 'data/empty.csv'), '');
  await writeFile(path.join(dir, 'data/wrongcol.csv'), `bsn,geboortedatun\n${rows(2)}\n123456782,01-01-1950,extra\n`);
  await writeFile(
    path.join(dir, 'run.yaml'),
    `name: bad
organisations: [{ id: org, name: Org, type: hospital }]
exchanges: [{ id: mp9 }]
sources:
  - { name: csv, organisation: org, inputs: ['data/*.csv', 'data/*.csv.gz'], mapping: spec.yaml }
  - { name: typo, organisation: org, inputs: ['data/good.csv'], mapping: typo.yaml }
  - { name: no-exchange, organisation: org, inputs: ['data/good.csv'], mapping: no-exchange.yaml }
  - { name: other-exchange, organisation: org, inputs: ['data/good.csv'], mapping: other-exchange.yaml }
validation: { enabled: false }
`,
  );
  summary = await runPipeline(await loadRunConfig(path.join(dir, 'run.yaml')), { outDir: path.join(dir, 'out'), runId: 'r', progress: quiet });
  rejected = (await readFile(path.join(dir, 'out/r/rejected.ndjson'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
});

describe('bad input: a clear message with file, line and field; the run goes on', () => {
  it('counts every record: read = mapped + rejected, and the good file is mapped', () => {
    const s = summary.sources.csv;
    expect(s.records.read).toBe(s.records.mapped + s.records.rejected);
    expect(s.files).toEqual({ read: 3, failed: 2 });
    expect(s.records.mapped).toBeGreaterThanOrEqual(3);
  });

  it('a truncated gzip: records before the cut are read, the cut is one rejected record at the next line', () => {
    const [r] = reason('truncated.csv.gz');
    expect(r).toMatchObject({ stage: 'read', reason: expect.stringMatching(/truncated\.csv\.gz:\d+: gzip data is truncated or corrupt/) });
    expect(r.line).toBeGreaterThan(2);
    expect(r.reason).toContain(`:${r.line}:`);
    expect(reason('truncated.csv.gz')).toHaveLength(1);
  });

  it('a binary file with a .csv extension and a 0-byte file are file errors naming the file', () => {
    expect(reason('binary.csv')).toMatchObject([{ stage: 'file', reason: expect.stringMatching(/binary\.csv: expected CSV but the content looks like binary data/) }]);
    expect(reason('empty.csv')).toMatchObject([{ stage: 'file', reason: expect.stringMatching(/empty\.csv: the file is empty \(0 bytes\)/) }]);
  });

  it('a misnamed column and a row with too many columns are rejected per record with line and field', () => {
    expect(reason('wrongcol.csv')).toEqual([
      expect.objectContaining({ line: 2, stage: 'map', field: 'geboortedatum', reason: expect.stringContaining("no column or field 'geboortedatum'") }),
      expect.objectContaining({ line: 3, stage: 'map', field: 'geboortedatum' }),
      expect.objectContaining({ line: 4, stage: 'read', field: 'column 3', reason: expect.stringContaining('expected 2 columns') }),
    ]);
  });

  it('a mapping spec typo stops that source only, naming spec file, line and field', () => {
    expect(summary.sourceErrors).toContainEqual({ source: 'typo', message: expect.stringMatching(/typo\.yaml:8: resources\[0\]\.template\.birthDate\.requird: unknown option 'requird'/) });
    expect(summary.sources.typo).toBeUndefined();
  });

  it('a mapping whose resources have no exchange, or one the run does not have, stops that source before its first record', () => {
    expect(summary.sourceErrors).toContainEqual({ source: 'no-exchange', message: expect.stringMatching(/no-exchange\.yaml:2: resources\[0\]: resource 'patient' has no exchange/) });
    expect(summary.sourceErrors).toContainEqual({ source: 'other-exchange', message: expect.stringMatching(/other-exchange\.yaml:4: resources\[0\]\.exchange: unknown exchange 'pzp' \(the run config has mp9\)/) });
    expect(summary.sources['no-exchange']).toBeUndefined();
  });

  it('a skipped source and an unread file are in rejected.ndjson, named as the run config names them', () => {
    expect(rejected).toContainEqual({ source: 'typo', file: 'typo.yaml', stage: 'source', reason: expect.stringMatching(/^typo\.yaml:8: resources\[0\]\.template\.birthDate\.requird: unknown option/) });
    expect(summary.fileErrors).toContainEqual({ source: 'csv', file: 'data/empty.csv', reason: 'data/empty.csv: the file is empty (0 bytes): a failed export?' });
    for (const r of rejected) expect(r.reason).not.toContain(dir);
  });

  it('fhirdq run still writes every report, names the unread input first, and exits 2', async () => {
    const run = await runCli('run', path.join(dir, 'run.yaml'), '--out', path.join(dir, 'out'), '--run-id', 'cli');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('fhirdq: source typo skipped:');
    expect(run.stderr).toContain('fhirdq: source csv: not read: data/empty.csv: the file is empty');
    expect(run.stderr).toContain('fhirdq: input not read from csv, no-exchange, other-exchange, typo');
    const out = (file: string) => readFile(path.join(dir, 'out/cli', file), 'utf8');
    const html = await out('report.html');
    expect(html.indexOf('<h2>Input not read</h2>')).toBeGreaterThan(0);
    expect(html.indexOf('<h2>Input not read</h2>')).toBeLessThan(html.indexOf('<h2>Readiness'));
    expect(html).toContain('<td>source skipped</td><td>typo.yaml:8: resources[0].template.birthDate.requird: unknown option');
    expect(html).toContain('Org <a class="incomplete" href="#input-problems">input incomplete</a>');
    expect(await out('summary.md')).toContain('- Org, csv: not read: data/binary.csv: expected CSV');
    const junit = await out('junit.xml');
    expect(junit).toMatch(/<testsuite name="Input" tests="4" failures="4" skipped="0">/);
    expect(junit).toContain('<testcase classname="fhirdq.input" name="typo"><failure type="input" message="typo: input not read">source skipped: typo.yaml:8:');
  });

  it('has no stack traces anywhere', () => {
    for (const r of rejected) expect(r.reason).not.toMatch(/\n\s+at |Error:/);
    for (const e of summary.sourceErrors) expect(e.message).not.toMatch(/\n\s+at /);
  });

  it('a failing validator stops the run with its message, not an unhandled rejection', async () => {
    const file = path.join(dir, 'run-validate.yaml');
    await writeFile(file, (await readFile(path.join(dir, 'run.yaml'), 'utf8')).replace('validation: { enabled: false }', 'validation: { batchSize: 2 }'));
    const failing = async () => {
      throw new Error('a validation worker ran out of memory');
    };
    await expect(runPipeline(await loadRunConfig(file), { outDir: path.join(dir, 'out'), runId: 'v', progress: quiet, validate: failing })).rejects.toThrow(/ran out of memory/);
  });
});
