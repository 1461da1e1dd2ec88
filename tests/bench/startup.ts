/**
 * Start-up benchmark: time from process start to `await createValidator(...)` and to the first
 * validated resource (a small Patient), in fresh processes, cold (cache folder removed) and warm.
 * Prints medians of `--runs` processes (default 5). Uses the built engine: run `npm run build` first.
 *
 *   npx tsx tests/bench/startup.ts [--runs 5] [--national] [--json out.json] [--dist other/dist]
 *
 * `--dist` measures another build (e.g. of an older commit) for before/after figures.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CACHE, distModule } from './paths.js';

interface Sample {
  /** Milliseconds since process start: Node's own start-up (NODE_EXTRA_CA_CERTS, for one, adds ~0.1 s to it). */
  booted: number;
  imported: number;
  ready: number;
  firstValidated: number;
  /** CPU milliseconds (user + system) at the first validated resource: less sensitive to a busy machine. */
  cpu: number;
  rssMb: number;
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    national: { type: 'boolean', default: false },
    json: { type: 'string' },
    dist: { type: 'string' },
  },
});
const runs = Number(values.runs);
const cacheDir = resolve(CACHE, 'startup-cache');

const child = `
const booted = performance.now();
const { createValidator } = await import(${JSON.stringify(values.dist ? pathToFileURL(resolve(values.dist, 'index.js')).href : distModule('index.js'))});
const imported = performance.now();
const validator = await createValidator({ includeShippedPackages: ${values.national} });
const ready = performance.now();
validator.validateToIssues({ resourceType: 'Patient', id: 'p1', active: true, gender: 'female', birthDate: '1970-01-01', name: [{ family: 'Jansen', given: ['Anna'] }] });
const firstValidated = performance.now();
const { user, system } = process.cpuUsage();
process.stdout.write(JSON.stringify({ booted, imported, ready, firstValidated, cpu: (user + system) / 1000, rssMb: process.memoryUsage().rss / 1e6 }));
`;

function runOnce(): Sample {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', child], {
    env: { ...process.env, FHIRDQ_CACHE_DIR: cacheDir },
    encoding: 'utf8',
  });
  return JSON.parse(out) as Sample;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function summarise(samples: Sample[]) {
  const m = (f: (s: Sample) => number) => Math.round(median(samples.map(f)));
  return {
    bootMs: m((s) => s.booted),
    importMs: m((s) => s.imported),
    readyMs: m((s) => s.ready),
    firstValidatedMs: m((s) => s.firstValidated),
    createMs: m((s) => s.ready - s.imported),
    firstValidationMs: m((s) => s.firstValidated - s.ready),
    cpuMs: m((s) => s.cpu),
    rssMb: m((s) => s.rssMb),
  };
}

const cold: Sample[] = [];
for (let i = 0; i < runs; i++) {
  rmSync(cacheDir, { recursive: true, force: true });
  cold.push(runOnce());
}
const warm: Sample[] = [];
for (let i = 0; i < runs; i++) warm.push(runOnce());

const result = { runs, national: values.national, cold: summarise(cold), warm: summarise(warm) };
console.log(`start-up, median of ${runs} fresh processes (ms since process start; national packages: ${values.national}; load average ${loadavg()[0].toFixed(1)})`);
console.table({ cold: result.cold, warm: result.warm });
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
