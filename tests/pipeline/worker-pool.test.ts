import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Progress } from '../../src/pipeline/progress.js';

// The pool runs dist/pipeline/validate-worker.js in worker threads, so this test uses the build (npm run build; CI builds on install).
const dist = (rel: string) => import(pathToFileURL(path.resolve('dist', rel)).href);
const quiet: Progress = { event() {}, tick() {}, done() {} };

describe('validation on worker threads', () => {
  it('runs the demo region through the real pool: issue lines built in the workers match the counts and the issues', async () => {
    const { loadRunConfig } = await dist('pipeline/config.js');
    const { runPipeline } = await dist('pipeline/run.js');
    const { createValidatorPool } = await dist('pipeline/validate-pool.js');
    const out = await mkdtemp(path.join(tmpdir(), 'fhirdq-pool-'));
    const summary = await runPipeline(await loadRunConfig(path.resolve('fixtures/demo-region/run.yaml')), { outDir: out, runId: 'pool', progress: quiet });
    const lines = (await readFile(path.join(out, 'pool/issues.ndjson'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.length).toBe(summary.totals.issues);
    expect(lines.length).toBeGreaterThan(0);
    for (const [id, ex] of Object.entries(summary.exchanges) as [string, { resources: number; validated: number; issues: Record<string, number> }][]) {
      expect(ex.validated, id).toBe(ex.resources);
      for (const sev of ['fatal', 'error', 'warning', 'information']) expect(lines.filter((l) => l.exchange === id && l.severity === sev).length, `${id} ${sev}`).toBe(ex.issues[sev]);
    }
    expect(Object.keys(lines[0])).toEqual(['source', 'file', 'line', 'exchange', 'resourceType', 'id', 'severity', 'code', 'messageId', 'message', 'expression']);

    // The same resources through the pool's plain issue path give the same issues.
    const mp9 = (await readFile(path.join(out, 'pool/resources/mp9.ndjson'), 'utf8')).split('\n', 40).filter(Boolean);
    const pool = createValidatorPool({ workers: 1, igs: [] });
    try {
      const issues = await pool.validate(mp9.map((json: string) => ({ resource: JSON.parse(json), json })));
      const byId = new Map<string, number>();
      for (const l of lines) if (l.exchange === 'mp9') byId.set(l.id, (byId.get(l.id) ?? 0) + 1);
      mp9.forEach((json: string, i: number) => expect(issues[i].length, json.slice(0, 80)).toBe(byId.get(JSON.parse(json).id) ?? 0));
    } finally {
      await pool.close();
    }
  });

  it('takes the run config\'s best-practice level to the workers: narratives missing are warnings, or not reported', async () => {
    const { loadRunConfig } = await dist('pipeline/config.js');
    const { runPipeline } = await dist('pipeline/run.js');
    const out = await mkdtemp(path.join(tmpdir(), 'fhirdq-pool-'));
    const demo = path.resolve('fixtures/demo-region');
    const dom6 = async (level: string | undefined) => {
      const config = path.join(out, `run-${level}.yaml`);
      const validation = level ? `validation: { workers: 1, bestPractice: ${level} }` : 'validation: { workers: 1 }';
      await writeFile(config, `name: bp\norganisations: [{ id: gaper, name: Gaper, type: pharmacy }]\nexchanges: [{ id: mp9 }]\nsources:\n  - { name: gaper, organisation: gaper, inputs: ['${demo}/data/pharmacy'], exchange: mp9 }\n${validation}\n`);
      await runPipeline(await loadRunConfig(config), { outDir: out, runId: `r-${level}`, progress: quiet });
      const lines = (await readFile(path.join(out, `r-${level}/issues.ndjson`), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      return lines.filter((l) => l.messageId === 'constraint-dom-6').map((l) => l.severity);
    };
    expect(await dom6(undefined)).toEqual(Array(400).fill('warning'));
    expect(await dom6('ignore')).toEqual([]);
    expect(new Set(await dom6('error'))).toEqual(new Set(['error']));
  }, 120_000);
});
