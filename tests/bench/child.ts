/**
 * One measurement in a fresh process (spawned by run.ts with --expose-gc); prints one result line.
 *   startup  <engine> <first.json>                  time to the first validated resource, then exits
 *   run      <engine> <first.json> <ndjson> <warm>  start-up, then resources/s after warm-up, peak RSS
 *   stream   <ndjson> <lines>                       fhirdq over a streamed NDJSON file: resources/s, RSS
 *   pool     <ndjson> <workers> <batch> <warm>      fhirdq on worker_threads, batches from the main thread
 * Every rate includes JSON.parse of each line, as a real run does; `floor` is JSON.parse alone.
 */
import { createReadStream, readFileSync } from 'node:fs';
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
  const validator = await loadEngine(engine, { national });
  validator.validate(JSON.parse(readFileSync(first, 'utf8')) as object);
  return { validator, readyAt: epochMs() };
}

async function run(engine: EngineName, first: string, file: string, warm: number, national: boolean) {
  const { validator, readyAt } = await startup(engine, first, national);
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const warmUp = (count: number) => {
    for (let i = 0; i < Math.min(count, lines.length); i++) validator.validate(JSON.parse(lines[i]) as object);
  };
  warmUp(warm);
  gc();
  // A forced full GC discards optimised code that embeds objects it collected (V8 deoptimises on "weak objects"):
  // warmed again as long, the measurement sees the steady state a long run is in, for every engine alike. A shorter
  // re-warm times the re-optimisation, which on one pinned core competes with the validation itself.
  warmUp(warm);
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const line of lines) errors += validator.validate(JSON.parse(line) as object);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // `cores` above 1: V8's compiler and GC threads work beside the one validating thread.
  return { readyAt, resources: lines.length, seconds, perSecond: lines.length / seconds, errorsPerResource: errors / lines.length, cores: (cpu.user + cpu.system) / 1e6 / seconds, peakRssMb: peakRssMb() };
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

async function pool(file: string, workers: number, batch: number, warm: number) {
  type Item = { json: string };
  const { createValidatorPool } = (await import(distModule('pipeline/validate-pool.js'))) as {
    createValidatorPool(o: { workers: number; igs: string[] }): { countIssues(items: Item[]): Promise<Uint32Array>; close(): Promise<void> };
  };
  const p = createValidatorPool({ workers, igs: [] });
  // Lines split by hand from 1 MB chunks: readline's async iterator costs the main thread several µs a line, time
  // the two workers need on a 2-core machine.
  const batches = async function* (): AsyncGenerator<Item[]> {
    let items: Item[] = [];
    let rest = '';
    const add = (line: string) => {
      if (line !== '') items.push({ json: line });
    };
    for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = rest + (chunk as string);
      let at = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', at)) {
        add(text.slice(at, nl));
        at = nl + 1;
        if (items.length >= batch) {
          yield items;
          items = [];
        }
      }
      rest = text.slice(at);
    }
    add(rest);
    if (items.length > 0) yield items;
  };
  // Warm-up as in `run`: every worker validates `warm` resources (rounds of one batch each, from the file, cycled).
  let warmed = 0;
  for (let before = -1; warmed < warm * workers && warmed > before; ) {
    before = warmed;
    let round: Item[][] = [];
    for await (const items of batches()) {
      round.push(items);
      if (round.length < workers) continue;
      await Promise.all(round.map((b) => p.countIssues(b)));
      warmed += round.reduce((n, b) => n + b.length, 0);
      round = [];
      if (warmed >= warm * workers) break;
    }
  }
  gc();
  // Like `run`, the caller gets each resource's error count: the pool replies with counts, not Issue objects.
  let resources = 0;
  let errors = 0;
  const countErrors = (counts: Uint32Array) => {
    for (let i = 0; i < counts.length; i += 4) errors += counts[i] + counts[i + 1];
  };
  const inflight: Promise<void>[] = [];
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for await (const items of batches()) {
    resources += items.length;
    inflight.push(p.countIssues(items).then(countErrors));
    // Two batches queued per worker: each has its next batch waiting when it replies.
    if (inflight.length >= 2 * workers) await inflight.shift();
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainBusy = performance.eventLoopUtilization(elu0).utilization;
  await p.close();
  return { workers, batch, warmed, resources, seconds, perSecond: resources / seconds, errorsPerResource: errors / resources, cores: (cpu.user + cpu.system) / 1e6 / seconds, mainBusy, peakRssMb: peakRssMb() };
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
      return run(args[0] as EngineName, args[1], args[2], Number(args[3]), national);
    case 'stream':
      return stream(args[0], Number(args[1]));
    case 'pool':
      return pool(args[0], Number(args[1]), Number(args[2]), Number(args[3]));
    default:
      throw new Error(`bench child: unknown mode ${mode}`);
  }
}

emit(await main(process.argv.slice(2)));
// Worker threads or open handles of a peer must not keep a finished measurement alive.
process.exit(0);
