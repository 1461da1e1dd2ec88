/**
 * One measurement in a fresh process (spawned by run.ts with --expose-gc); prints one result line.
 *   startup  <engine> <first.json>                  time to the first validated resource, then exits
 *   run      <engine> <first.json> <ndjson> <warm>  start-up, then resources/s after warm-up, peak RSS
 *   stream   <ndjson> <lines>                       fhirdq over a streamed NDJSON file: resources/s, RSS
 *   pool     <ndjson> <workers> <batch>             fhirdq on worker_threads, batches from the main thread
 * Every rate includes JSON.parse of each line, as a real run does; `floor` is JSON.parse alone.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
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
  for (let i = 0; i < Math.min(warm, lines.length); i++) validator.validate(JSON.parse(lines[i]) as object);
  gc();
  let errors = 0;
  const t0 = performance.now();
  for (const line of lines) errors += validator.validate(JSON.parse(line) as object);
  const seconds = (performance.now() - t0) / 1000;
  return { readyAt, resources: lines.length, seconds, perSecond: lines.length / seconds, errorsPerResource: errors / lines.length, peakRssMb: peakRssMb() };
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

async function pool(file: string, workers: number, batch: number) {
  // `json` lets a pool that posts text (not a structured clone) reuse the line as read.
  type Item = { resource: object; json: string };
  const { createValidatorPool } = (await import(distModule('pipeline/validate-pool.js'))) as {
    createValidatorPool(o: { workers: number; igs: string[] }): { validate(items: Item[]): Promise<unknown[][]>; close(): Promise<void> };
  };
  const p = createValidatorPool({ workers, igs: [] });
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const iterator = lines[Symbol.asyncIterator]();
  const nextBatch = async (): Promise<Item[]> => {
    const items: Item[] = [];
    while (items.length < batch) {
      const r = await iterator.next();
      if (r.done) break;
      if (r.value !== '') items.push({ resource: JSON.parse(r.value) as object, json: r.value });
    }
    return items;
  };
  // Warm-up: one batch per worker (the pool hands each to the least busy), so every validator is loaded.
  const warmBatches = await Promise.all(Array.from({ length: workers }, nextBatch));
  await Promise.all(warmBatches.map((b) => p.validate(b)));
  const warmed = warmBatches.reduce((n, b) => n + b.length, 0);
  gc();
  let resources = 0;
  const inflight: Promise<unknown[][]>[] = [];
  const t0 = performance.now();
  for (let items = await nextBatch(); items.length > 0; items = await nextBatch()) {
    resources += items.length;
    inflight.push(p.validate(items));
    // Two batches queued per worker keep them busy without reading the whole file ahead.
    if (inflight.length >= 2 * workers) await inflight.shift();
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - t0) / 1000;
  await p.close();
  return { workers, batch, warmed, resources, seconds, perSecond: resources / seconds, peakRssMb: peakRssMb() };
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
      return pool(args[0], Number(args[1]), Number(args[2]));
    default:
      throw new Error(`bench child: unknown mode ${mode}`);
  }
}

emit(await main(process.argv.slice(2)));
// Worker threads or open handles of a peer must not keep a finished measurement alive.
process.exit(0);
