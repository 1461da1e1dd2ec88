/**
 * One measurement in a fresh process (spawned by run.ts with --expose-gc); prints one result line.
 *   startup  <engine> <first.json>                  time to the first validated resource, then exits
 *   run      <engine> <first.json> <ndjson> <warm> <window s>  start-up, then resources/s after warm-up, peak RSS
 *   stream   <ndjson> <lines>                       fhirdq over a streamed NDJSON file: resources/s, RSS
 *   pool     <ndjson> <workers> <batch> <warm> <window s>  fhirdq on worker_threads, batches of in-memory lines from the main thread
 * A rate is timed over whole passes of the corpus, as many as fill the window (at least one): a pass of a fast
 * validator lasts a third of a second, which one stall of a shared host slows by a third.
 *   cli      <fhirdq arguments...>                  the command line as a user runs it, its report written to /dev/null
 * Every rate includes JSON.parse of each line, as a real run does; `floor` is JSON.parse alone.
 */
import { createReadStream, openSync, readFileSync, writeSync } from 'node:fs';
import { loadEngine, type EngineName } from './engines.js';
import { distModule, RESULT_PREFIX } from './paths.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (bytes: number) => Math.round(bytes / 1048576);
/** Peak resident set of the whole process (all threads), in MB. */
const peakRssMb = () => mb(process.resourceUsage().maxRSS * 1024);
/** Wall-clock now in ms since the epoch, comparable with the parent's clock. */
const epochMs = () => performance.timeOrigin + performance.now();

function emit(result: object): void {
  process.stdout.write(RESULT_PREFIX + JSON.stringify(result) + '\n');
}

async function startup(engine: EngineName, first: string, national: boolean) {
  const validator = await loadEngine(engine, { national, batch: Number(process.env.BENCH_BATCH) || undefined });
  validator.validate(JSON.parse(readFileSync(first, 'utf8')) as object);
  return { validator, readyAt: epochMs() };
}

/** An NDJSON file's lines, in memory. */
function readLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function run(engine: EngineName, first: string, file: string, warm: number, windowSeconds: number, national: boolean) {
  const { validator, readyAt } = await startup(engine, first, national);
  const lines = readLines(file);
  const validateLines = (part: readonly string[]): number => {
    if (validator.validateLines) return validator.validateLines(part);
    let errors = 0;
    for (const line of part) errors += validator.validate(JSON.parse(line) as object);
    return errors;
  };
  const warmUp = (count: number) => validateLines(lines.slice(0, count));
  warmUp(warm);
  gc();
  // A forced full GC discards optimised code that embeds objects it collected (V8 deoptimises on "weak objects"):
  // warmed again as long, the measurement sees the steady state a long run is in, for every engine alike. A shorter
  // re-warm times the re-optimisation, which on one pinned core competes with the validation itself.
  warmUp(warm);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let resources = 0;
  let errors = 0;
  do {
    errors += validateLines(lines);
    resources += lines.length;
  } while (performance.now() - t0 < windowSeconds * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // `cores` above 1: V8's compiler and GC threads work beside the one validating thread.
  return { readyAt, resources, seconds, perSecond: resources / seconds, errorsPerResource: errors / resources, cores: (cpu.user + cpu.system) / 1e6 / seconds, peakRssMb: peakRssMb() };
}

async function stream(file: string, expectedLines: number) {
  type Item = { kind: 'record'; record: object } | { kind: 'rejected'; reason: string };
  const { readNdjson } = (await import(distModule('formats/stream-ndjson.js'))) as {
    readNdjson(source: string, file: string, input: NodeJS.ReadableStream): AsyncGenerator<Item>;
  };
  const validator = await loadEngine('fhirdq');
  const step = Math.max(1, Math.floor(expectedLines / 10));
  const rssMb: number[] = [];
  let resources = 0;
  let rejected = 0;
  const t0 = performance.now();
  for await (const item of readNdjson('bench', file, createReadStream(file))) {
    if (item.kind === 'rejected') {
      rejected++;
      continue;
    }
    validator.validate(item.record);
    if (++resources % step === 0) rssMb.push(mb(process.memoryUsage.rss()));
  }
  const seconds = (performance.now() - t0) / 1000;
  return { resources, rejected, seconds, perSecond: resources / seconds, rssMbAtTenths: rssMb, peakRssMb: peakRssMb() };
}

async function pool(file: string, workers: number, batch: number, warm: number, windowSeconds: number) {
  type Item = { json: string };
  const { createValidatorPool } = (await import(distModule('pipeline/validate-pool.js'))) as {
    createValidatorPool(o: { workers: number; igs: string[] }): { countIssues(items: Item[]): Promise<Uint32Array>; close(): Promise<void> };
  };
  const p = createValidatorPool({ workers, igs: [] });
  // Read before timing, as in `run`: both time validation, not the disk (the streamed runs below include reading).
  const lines = readLines(file);
  const batches: Item[][] = [];
  for (let i = 0; i < lines.length; i += batch) batches.push(lines.slice(i, i + batch).map((json) => ({ json })));
  // Like `run`, the caller gets each resource's error count: the pool replies with counts, not Issue objects.
  let errors = 0;
  const countErrors = (counts: Uint32Array) => {
    for (let i = 0; i < counts.length; i += 4) errors += counts[i] + counts[i + 1];
  };
  /**
   * Posts the corpus's batches, cycled, pass after pass while `more(passes done)` says so; two batches in flight per
   * worker, and the next posted when any is answered (as src/pipeline/run.ts does): waiting for the oldest would leave
   * a faster worker idle. Passes follow each other without a pause, as a long run's batches do: only the last waits
   * for the slowest worker.
   */
  const validate = async (more: (passes: number) => boolean): Promise<number> => {
    const inflight = new Set<Promise<void>>();
    let posted = 0;
    for (let b = 0, passes = 0; b > 0 || more(passes); ) {
      posted += batches[b].length;
      const job: Promise<void> = p.countIssues(batches[b]).then(countErrors).then(() => void inflight.delete(job));
      inflight.add(job);
      while (inflight.size >= 2 * workers) await Promise.race(inflight);
      b = (b + 1) % batches.length;
      if (b === 0) passes++;
    }
    await Promise.all(inflight);
    return posted;
  };
  // Warm-up as in `run`, where a thread sees `warm` resources twice (around a forced GC) before it is timed.
  const warmPasses = Math.ceil((2 * warm * workers) / lines.length);
  const warmed = await validate((passes) => passes < warmPasses);
  gc();
  errors = 0;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  // Whole passes of the corpus, one per worker at least, as many as fill the window.
  const resources = await validate((passes) => passes < workers || performance.now() - t0 < windowSeconds * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainBusy = performance.eventLoopUtilization(elu0).utilization;
  await p.close();
  return { workers, batch, warmed, resources, seconds, perSecond: resources / seconds, errorsPerResource: errors / resources, cores: (cpu.user + cpu.system) / 1e6 / seconds, mainBusy, peakRssMb: peakRssMb() };
}

/** `fhirdq <args>` in this process (as bin/fhirdq.js runs it), reading the files and writing its report to /dev/null. */
async function cli(args: string[]) {
  const { main } = (await import(distModule('cli/main.js'))) as { main(argv: string[], io: { out(t: string): void; outBytes(b: Uint8Array): void; err(t: string): void }): Promise<number> };
  const devNull = openSync('/dev/null', 'w');
  const exitCode = await main(args, { out: (text) => void writeSync(devNull, text), outBytes: (bytes) => void writeSync(devNull, bytes), err: () => {} });
  return { exitCode, doneAt: epochMs(), peakRssMb: peakRssMb() };
}

async function main(argv: string[]): Promise<object> {
  const [mode, ...args] = argv;
  const national = process.env.BENCH_NATIONAL === '1';
  switch (mode) {
    case 'startup': {
      const { readyAt } = await startup(args[0] as EngineName, args[1], national);
      return { readyAt, peakRssMb: peakRssMb() };
    }
    case 'run':
      return run(args[0] as EngineName, args[1], args[2], Number(args[3]), Number(args[4]), national);
    case 'stream':
      return stream(args[0], Number(args[1]));
    case 'pool':
      return pool(args[0], Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]));
    case 'cli':
      return cli(args);
    default:
      throw new Error(`bench child: unknown mode ${mode}`);
  }
}

emit(await main(process.argv.slice(2)));
// Worker threads or open handles of a peer must not keep a finished measurement alive.
process.exit(0);
