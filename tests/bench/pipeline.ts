/**
 * Pipeline benchmark: generates seeded regions (cached in the temp dir), runs each end to end in a fresh
 * process and prints records/s, resources/s and peak RSS, to show throughput and that memory stays flat.
 * Each region is run without and with the quality report (as `fhirdq run --no-report` and `fhirdq run`
 * without history), and the report's share of the run's wall time is printed.
 *
 *   npm run pipeline:bench -- --patients 35000,345000            (≈100k and ≈1M records, validation on)
 *   npm run pipeline:bench -- --patients 35000 --no-validation
 *   npm run pipeline:bench -- --patients 35000 --workers 1 --batch 500 --heap-mb 512
 *   npm run pipeline:bench -- --patients 35000 --report off      (off, on, or both: the default)
 */
import { spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (rel: string) => pathToFileURL(path.join(ROOT, 'dist', rel)).href;

interface Result {
  patients: number;
  /** Whether the run measured quality and wrote the reports. */
  report: boolean;
  records: number;
  resources: number;
  rejected: number;
  issues: number;
  seconds: number;
  /** CPU of the whole process (main thread and workers): a figure less at the mercy of other load on the machine. */
  cpuSeconds: number;
  recordsPerSecond: number;
  recordsPerCpuSecond: number;
  resourcesPerSecond: number;
  peakRssMb: number;
  /** Share of the run the main thread waited for the workers. */
  waitingOnValidation: string;
  /** Main thread's time in the measurer's calls (quality measurement's own cost, whatever else runs on the machine). */
  measureSeconds: number;
  /** Main thread's garbage collection pauses: what state kept for the report costs the collector. */
  gcSeconds: number;
}

/** Child: one run in this process, with the report as `fhirdq run` makes it or without; prints its Result as the last line. */
async function child(config: string, patients: number, report: boolean): Promise<void> {
  const { loadRunConfig } = await import(dist('pipeline/config.js'));
  const { runPipeline } = await import(dist('pipeline/run.js'));
  const { createProgress } = await import(dist('pipeline/progress.js'));
  const { RunMeasurer } = await import(dist('quality/measure-run.js'));
  const { reportRun } = await import(dist('cli/report-command.js'));
  // As `fhirdq run` sets it (src/cli/run-command.ts).
  const { limitHeapGrowth } = await import(dist('cli/heap-growth.js'));
  limitHeapGrowth();
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  }).observe({ entryTypes: ['gc'] });
  let measureMs = 0;
  for (const name of ['resource', 'validated', 'rejected', 'finish'] as const) {
    const fn = RunMeasurer.prototype[name] as (...a: unknown[]) => unknown;
    RunMeasurer.prototype[name] = function (this: unknown, ...a: unknown[]) {
      const t = performance.now();
      try {
        return fn.apply(this, a);
      } finally {
        measureMs += performance.now() - t;
      }
    };
  }
  const started = performance.now();
  const loaded = await loadRunConfig(config);
  let measurer: InstanceType<typeof RunMeasurer> | undefined;
  const measure = report ? async (startedAt: string) => (measurer = await RunMeasurer.open(loaded, startedAt.slice(0, 10))) : undefined;
  // JSON progress lines on stderr every 30 s, with RSS: memory over the run, not only its peak.
  const s = await runPipeline(loaded, { runId: `bench-${process.pid}`, progress: createProgress({ write: (line: string) => process.stderr.write(line) }, 30_000), measure });
  const quiet = { out: () => {}, err: () => {} };
  if (measurer) await reportRun(s.reportDir, loaded, { history: false, dropThreshold: '0.05' }, quiet, measurer.finish(s));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await rm(s.reportDir, { recursive: true, force: true });
  await rm(path.join(path.dirname(s.reportDir), 'latest'), { recursive: true, force: true });
  const result: Result = {
    patients,
    report,
    records: s.totals.read,
    resources: s.totals.resources,
    rejected: s.totals.rejected,
    issues: s.totals.issues,
    seconds: Math.round(seconds * 10) / 10,
    cpuSeconds: Math.round(cpuSeconds * 10) / 10,
    recordsPerSecond: Math.round(s.totals.read / seconds),
    recordsPerCpuSecond: Math.round(s.totals.read / cpuSeconds),
    resourcesPerSecond: Math.round(s.totals.resources / seconds),
    // maxRSS covers the worker threads too (one process); in KiB.
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    waitingOnValidation: `${Math.round((100 * s.validationWaitMs) / (seconds * 1000))}%`,
    measureSeconds: Math.round(measureMs / 100) / 10,
    gcSeconds: Math.round(gcMs / 100) / 10,
  };
  console.log(JSON.stringify(result));
}

async function region(patients: number): Promise<string> {
  const dir = path.join(tmpdir(), 'fhirdq-pipeline-bench', `p${patients}`);
  if (!existsSync(path.join(dir, 'planted-defects.json'))) {
    await mkdir(dir, { recursive: true });
    const { generateRegion } = await import(dist('pipeline/generate-region.js'));
    process.stderr.write(`generating ${patients} patients into ${dir}\n`);
    await generateRegion({ patients, outDir: dir, seed: 42 });
  }
  return dir;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      patients: { type: 'string', default: '35000,345000' },
      'no-validation': { type: 'boolean', default: false },
      workers: { type: 'string', default: '2' },
      batch: { type: 'string', default: '250' },
      'heap-mb': { type: 'string', default: '768' },
      report: { type: 'string', default: 'both' },
      child: { type: 'string' },
    },
  });
  const modes = { off: [false], on: [true], both: [false, true] }[values.report];
  if (!modes) throw new Error('--report is off, on or both');
  if (values.child) return child(values.child, Number(values.patients), values.report === 'on');
  if (!existsSync(path.join(ROOT, 'dist/pipeline/run.js'))) throw new Error('run npm run build first');
  const results: Result[] = [];
  for (const patients of values.patients.split(',').map(Number)) {
    const dir = await region(patients);
    const config = parse(await readFile(path.join(dir, 'run.yaml'), 'utf8'));
    config.validation = { enabled: !values['no-validation'], workers: Number(values.workers), batchSize: Number(values.batch), workerHeapMb: Number(values['heap-mb']) };
    const file = path.join(dir, 'run-bench.yaml');
    await writeFile(file, stringify(config));
    for (const report of modes) {
      process.stderr.write(`running ${file} ${report ? 'with' : 'without'} the report\n`);
      const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', file, '--patients', String(patients), '--report', report ? 'on' : 'off'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
      if (run.status !== 0) throw new Error(`run failed with status ${run.status}`);
      const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as Result;
      results.push(result);
      console.log(JSON.stringify(result));
    }
  }
  console.log(`\nvalidation ${values['no-validation'] ? 'off' : `on, ${values.workers} worker(s), batch ${values.batch}, worker heap ${values['heap-mb']} MB`}`);
  console.table(results);
  for (const patients of new Set(results.map((r) => r.patients))) {
    const without = results.find((r) => r.patients === patients && !r.report);
    const withReport = results.find((r) => r.patients === patients && r.report);
    if (!without || !withReport) continue;
    const share = (100 * (withReport.seconds - without.seconds)) / without.seconds;
    console.log(`${patients} patients (${without.records} records): run ${without.seconds} s without the report, ${withReport.seconds} s with it: the report adds ${share.toFixed(1)}% (CPU ${without.cpuSeconds} s → ${withReport.cpuSeconds} s; peak RSS ${without.peakRssMb} → ${withReport.peakRssMb} MB; main-thread GC ${without.gcSeconds} s → ${withReport.gcSeconds} s; measuring ${withReport.measureSeconds} s)`);
  }
}

await main();
