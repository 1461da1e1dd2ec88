import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from './helpers.js';

const DEMO = path.resolve('fixtures/demo-region/run.yaml');
const SHARDS = { a: 'zkh-ontslagmedicatie,linde-acp,anker-medicatiegebruik', b: 'gaper-verstrekkingen, vechtstreek-overdrachten' };
const qualityOf = async (file: string) => ({ ...JSON.parse(await readFile(file, 'utf8')).quality, runs: [] });

describe('fhirdq run options', () => {
  it('each shard reads only its sources; report merge gives the report of the whole run', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'fhirdq-shards-'));
    const run = (id: string, ...args: string[]) => runCli('run', DEMO, '--out', out, '--run-id', id, '--no-validate', ...args);
    // The last source comes in an option of its own: the option repeats.
    const a = await run('a', '--source', SHARDS.a);
    const b = await run('b', '--source', SHARDS.b, '--source', 'hoeve-behandelgrenzen');
    // A shard is no night of the region: it is not recorded in the history (nor compared with the last night),
    // by the run or by a report on its folder later.
    expect(existsSync(path.join(out, 'history.sqlite'))).toBe(false);
    expect((await runCli('report', path.join(out, 'a'))).code).toBe(0);
    expect(existsSync(path.join(out, 'history.sqlite'))).toBe(false);
    const whole = await run('whole');
    for (const r of [a, b, whole]) expect(r.code).toBe(0);
    expect(existsSync(path.join(out, 'history.sqlite'))).toBe(true);
    // A second night: the indicator's line over the nights.
    expect((await run('whole2')).code).toBe(0);
    expect(await readFile(path.join(out, 'whole2/report.html'), 'utf8')).toMatch(/<p class="trend">Region, night over night: <svg class="spark"[^]*?<\/svg> 24\.8% → 24\.8%<\/p>/);
    const sourcesOf = async (id: string) => Object.keys(JSON.parse(await readFile(path.join(out, id, 'summary.json'), 'utf8')).sources);
    expect(await sourcesOf('a')).toEqual(['zkh-ontslagmedicatie', 'linde-acp', 'anker-medicatiegebruik']);
    expect(await sourcesOf('b')).toEqual(['gaper-verstrekkingen', 'vechtstreek-overdrachten', 'hoeve-behandelgrenzen']);
    expect(a.stdout).toMatch(/^run a: 2035 records read/);
    expect(b.stdout).toMatch(/^run b: 828 records read/);

    const merged = await runCli('report', 'merge', path.join(out, 'a/summary.json'), path.join(out, 'b/summary.json'), '--out', path.join(out, 'merged'));
    expect(merged.code).toBe(0);
    const [together, alone] = [await qualityOf(path.join(out, 'merged/summary.json')), await qualityOf(path.join(out, 'whole/summary.json'))];
    expect(together.readiness.length).toBe(18);
    expect(together).toEqual(alone);
    expect(await qualityOf(path.join(out, 'a/summary.json'))).not.toEqual(alone);
  }, 120_000);

  it('a name that is not a source of the config stops the run before anything is written, naming the sources it has', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'fhirdq-shards-'));
    const r = await runCli('run', DEMO, '--out', out, '--run-id', 'x', '--source', 'linde-acp,lindeacp');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`fhirdq: --source lindeacp: not a source of ${DEMO} (its sources: zkh-ontslagmedicatie, linde-acp, anker-medicatiegebruik, gaper-verstrekkingen, vechtstreek-overdrachten, hoeve-behandelgrenzen)\n`);
    expect(existsSync(path.join(out, 'x'))).toBe(false);
  });

  it("--vendor: junit.xml locates the failing resources and patients for the data holder's CI; the other reports do not", async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'fhirdq-vendor-'));
    const sources = ['--source', 'anker-medicatiegebruik,vechtstreek-overdrachten', '--no-validate'];
    const vendor = await runCli('run', DEMO, '--out', out, '--run-id', 'v', '--vendor', ...sources);
    const plain = await runCli('run', DEMO, '--out', out, '--run-id', 'p', ...sources);
    expect([vendor.code, plain.code, vendor.stderr]).toEqual([0, 0, '']);
    const junit = await readFile(path.join(out, 'v/junit.xml'), 'utf8');
    const failure = (measure: string) => new RegExp(`name="${measure}:[^"]*"><failure[^>]*>[^<]*`).exec(junit)?.[0] ?? '';
    // Patient-level (the GP's medication overview) and resource-level (the transfers sent late) measures.
    expect(failure('medication-overview-currency').match(/\n  at Patient\/[0-9a-f-]{36}/g)).toHaveLength(5);
    expect(failure('transfer-timeliness').match(/\n  at Composition\/[0-9a-f-]{36}/g)).toHaveLength(5);
    const located = [...junit.matchAll(/ at ((?:Patient|Composition)\/[0-9a-f-]{36})/g)].map((m) => m[1]);
    expect(await readFile(path.join(out, 'p/junit.xml'), 'utf8')).not.toContain('  at ');
    for (const file of ['summary.json', 'report.html', 'summary.md', 'indicators.csv', 'readiness.csv']) {
      const text = await readFile(path.join(out, 'v', file), 'utf8');
      for (const id of located) expect(text).not.toContain(id);
    }
  }, 120_000);

  it('--check reads no record: it names each broken mapping spec and missing input, and exits 2', async () => {
    const region = await mkdtemp(path.join(tmpdir(), 'fhirdq-check-'));
    await cp(path.dirname(DEMO), region, { recursive: true });
    const config = path.join(region, 'run.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('dir: ../../reports', 'dir: out'));
    const ok = await runCli('run', path.join(region, 'run.yaml'), '--check');
    expect([ok.code, ok.stdout]).toEqual([0, `${path.join(region, 'run.yaml')}: 6 source(s), 9 input file(s) now, no problems\n`]);
    await appendFile(path.join(region, 'mappings/linde-acp.yaml'), 'garbage: [\n');
    await rm(path.join(region, 'data/gp'), { recursive: true });
    const bad = await runCli('run', path.join(region, 'run.yaml'), '--check');
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')).toEqual([
      expect.stringMatching(/^fhirdq: source linde-acp: .*linde-acp\.yaml:\d+: invalid YAML/),
      'fhirdq: source anker-medicatiegebruik: data/gp/medicatiegebruik.csv: no such file, or the pattern matches nothing',
      '',
    ]);
    expect(bad.stdout).toMatch(/6 source\(s\), 8 input file\(s\) now, 2 problem\(s\)/);
    expect(existsSync(path.join(region, 'out'))).toBe(false);
  });
});
