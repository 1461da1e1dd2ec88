/**
 * `npm run bench [-- --json out.json] [--quick] [--big]`: generates the corpora, then measures every
 * validator in fresh child processes and prints medians with the ratios of fhirdq to each.
 * Speed is measured here, never asserted in tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem, platform, arch } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bigCorpus, bundleOf, coreCorpus, nationalCorpus, type Corpus, type FullUrls } from './corpus.js';
import { ENGINES, type EngineName } from './engines.js';
import { CACHE, RESULT_PREFIX } from './paths.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
    big: { type: 'boolean', default: false },
  },
});

const MB = 1 << 20;
const config = args.quick
  ? { lines: 1000, runs: 1, warmup: 100, batch: 100, windowSeconds: 0, coldRuns: false, memory: [{ label: '2mb', bytes: 2 * MB }] }
  : { lines: 20000, runs: 5, warmup: 20000, batch: 500, windowSeconds: 3, coldRuns: true, memory: [{ label: '100mb', bytes: 100 * MB }] };
// Rates are steady state: each validator (each worker too) first sees `warmup` resources, by which V8 has compiled
// the hot code; a shorter warm-up times the JIT instead, on the spare core for one thread, not for two.
if (args.big) config.memory.push({ label: '1gb', bytes: 1024 * MB });
/** As src/cli/validate-command.ts: from this size `fhirdq validate` walks a Bundle entry by entry. */
const BUNDLE_BY_ENTRY_FROM = 32 * MB;

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));
const CHILD_TIMEOUT_MS = 30 * 60_000;
const WARM_DIR = join(CACHE, 'warm');
/** A single thread also keeps V8's GC and compiler threads busy on other cores: pinned to one core it shows what one core does. */
const CAN_PIN = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

type Result = Record<string, unknown> & { peakRssMb: number };

/**
 * Runs one measurement in a fresh `node --expose-gc` process. `cacheDir` is its cwd, XDG_CACHE_HOME and
 * FHIRDQ_CACHE_DIR (fhirdq's compiled-package cache), so an empty one makes a cold start and a used one a
 * warm start; by default a shared dir under .cache/bench that the first run primes.
 */
function measure(childArgs: string[], options: { cacheDir?: string; national?: boolean; oneCore?: boolean; core?: number } = {}): Promise<Result & { spawnAt: number }> {
  const cacheDir = options.cacheDir ?? WARM_DIR;
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cacheDir, FHIRDQ_CACHE_DIR: cacheDir, BENCH_NATIONAL: options.national ? '1' : '0', BENCH_BATCH: String(config.batch) };
  // A proxy's CA bundle (set on some build machines) costs every Node start ~100 ms of certificate parsing, for every engine alike.
  delete env.NODE_EXTRA_CA_CERTS;
  return new Promise((resolvePromise, reject) => {
    const spawnAt = performance.timeOrigin + performance.now();
    const command = [process.execPath, '--expose-gc', CHILD, ...childArgs];
    if (options.oneCore) command.unshift('taskset', '-c', String(options.core ?? 0));
    const child = spawn(command[0]!, command.slice(1), { cwd: cacheDir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolvePromise({ ...(JSON.parse(line.slice(RESULT_PREFIX.length)) as Result), spawnAt });
      else reject(new Error(`${childArgs.join(' ')}: exit ${code ?? signal}\n${err.trim().split('\n').slice(-8).join('\n')}`));
    });
  });
}

/** Worker threads beside the main thread for every core to validate, as `fhirdq validate` takes by default for big inputs. */
const BESIDE_MAIN = Math.max(1, availableParallelism() - 1);

/** `fhirdq validate` on every core, start to exit, as a user runs it on a big file. */
interface CommandFigures {
  seconds?: number;
  peakRssMb?: number;
  error?: string;
}

async function everyCore(file: string, format: 'ndjson' | 'json' = 'ndjson'): Promise<CommandFigures> {
  try {
    const r = await measure(['cli', 'validate', '--workers', String(BESIDE_MAIN), '--format', format, file]);
    return { seconds: ((r.doneAt as number) - r.spawnAt) / 1000, peakRssMb: r.peakRssMb };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function everyCoreCells(figures: CommandFigures | undefined): string[] {
  return !figures || figures.seconds === undefined ? [failed(figures?.error), ''] : [fmt(figures.seconds, 1), fmt(figures.peakRssMb!)];
}

/** A failed measurement's cell: the first line of its error. */
function failed(error: string | undefined): string {
  return 'failed: ' + (error ?? '').split('\n')[0];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function log(message: string): void {
  process.stderr.write(message + '\n');
}

interface EngineFigures {
  perSecond: number;
  startupColdMs: number;
  startupWarmMs: number;
  peakRssMb: number;
  errorsPerResource: number;
  runs: Result[];
}

/**
 * Each engine's cold start-ups (each in an empty cache dir), then the full runs warm (in its last, now primed,
 * dir), taken in rounds: one run of every engine per round, so that the host's load, which drifts over minutes on a
 * shared machine, weighs on all engines alike and the ratios compare like with like.
 * --quick makes one full run in an empty dir: its start-up is the cold one and no warm one is measured.
 */
async function measureEngines<E extends EngineName>(engines: readonly E[], corpus: Corpus, national = false): Promise<Partial<Record<E, EngineFigures | { error: string }>>> {
  const startupMs = (r: Result & { spawnAt: number }) => (r.readyAt as number) - r.spawnAt;
  const state = new Map<E, { dir: string; cold: number[]; full: (Result & { spawnAt: number })[]; error?: string }>();
  for (const engine of engines) {
    const entry = { dir: mkdtempSync(join(CACHE, 'startup', `${engine}-`)), cold: [] as number[], full: [] as (Result & { spawnAt: number })[], error: undefined as string | undefined };
    state.set(engine, entry);
    try {
      for (let i = 0; config.coldRuns && i < config.runs; i++) {
        entry.dir = mkdtempSync(join(CACHE, 'startup', `${engine}-`));
        entry.cold.push(startupMs(await measure(['startup', engine, corpus.first], { cacheDir: entry.dir, national })));
      }
    } catch (err) {
      entry.error = (err as Error).message;
    }
  }
  for (let i = 0; i < config.runs; i++) {
    for (const [engine, entry] of state) {
      if (entry.error) continue;
      try {
        entry.full.push(await measure(['run', engine, corpus.first, corpus.file, String(config.warmup), String(config.windowSeconds)], { cacheDir: entry.dir, national }));
      } catch (err) {
        entry.error = (err as Error).message;
      }
    }
  }
  const figures: Partial<Record<E, EngineFigures | { error: string }>> = {};
  for (const [engine, { cold, full, error }] of state) {
    figures[engine] = error
      ? { error }
      : {
          perSecond: median(full.map((r) => r.perSecond as number)),
          startupColdMs: config.coldRuns ? median(cold) : startupMs(full[0]),
          startupWarmMs: config.coldRuns ? median(full.map(startupMs)) : NaN,
          peakRssMb: median(full.map((r) => r.peakRssMb)),
          errorsPerResource: full[0].errorsPerResource as number,
          runs: full,
        };
  }
  return figures;
}

interface RoundRatio {
  label: string;
  median: number;
  lowest: number;
  highest: number;
  rounds: number[];
}

/**
 * A ratio of two figures per round, from the two runs taken in that round (minutes apart at most). Their spread is
 * the host's drift between runs: a median ratio inside it says as much of the host as of the validator.
 */
function roundRatio(label: string, runs: Result[] | undefined, against: Result[] | undefined): RoundRatio | undefined {
  if (!runs || !against || runs.length === 0 || runs.length !== against.length) return undefined;
  const rounds = runs.map((r, i) => (r.perSecond as number) / (against[i]!.perSecond as number));
  return { label, median: median(rounds), lowest: Math.min(...rounds), highest: Math.max(...rounds), rounds };
}

/** A figure's runs, if it was measured. */
function runsOf(figures: EngineFigures | { error: string } | undefined): Result[] | undefined {
  return figures && 'runs' in figures ? figures.runs : undefined;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (a: number, b: number) => (b > 0 ? `${fmt(a / b, 2)}×` : '–');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...rows.map(line)].join('\n');
}

/** The validators' table: fhirdq ÷ each for resources/s, each ÷ fhirdq for start-up and RSS: above 1× fhirdq is better. */
function engineTable(figures: Partial<Record<EngineName, EngineFigures | { error: string }>>): string {
  const ours = figures.fhirdq && 'perSecond' in figures.fhirdq ? figures.fhirdq : undefined;
  const rows = Object.entries(figures).map(([name, f]) => {
    if (!f || 'error' in f) return [name, 'failed: ' + (f?.error.split('\n')[0] ?? 'not run'), '', '', '', '', '', '', ''];
    const isFloor = name === 'floor';
    const isOurs = name === 'fhirdq' || name === 'fhirdq-batched';
    return [
      name === 'floor' ? 'JSON.parse only (floor)' : name,
      fmt(f.perSecond),
      isFloor ? '–' : fmt(f.startupColdMs),
      isFloor || Number.isNaN(f.startupWarmMs) ? '–' : fmt(f.startupWarmMs),
      fmt(f.peakRssMb),
      isFloor ? '–' : fmt(f.errorsPerResource, 3),
      ours && !isOurs ? ratio(ours.perSecond, f.perSecond) : '',
      ours && !isOurs && !isFloor ? ratio(f.startupColdMs, ours.startupColdMs) : '',
      ours && !isOurs ? ratio(f.peakRssMb, ours.peakRssMb) : '',
    ];
  });
  const lines = [table(['validator', 'resources/s', 'start-up cold ms', 'start-up warm ms', 'peak RSS MB', 'errors/res', 'fhirdq res/s ÷', 'start-up cold ÷ fhirdq', 'RSS ÷ fhirdq'], rows)];
  const batched = figures['fhirdq-batched'];
  const floor = figures.floor;
  if (batched && 'perSecond' in batched && floor && 'perSecond' in floor && ours) {
    lines.push(
      `fhirdq-batched: the lines in batches of ${fmt(config.batch)}, each batch validated grouped by resource type as the pool's workers do (src/pipeline/type-order.ts): ` +
        `${ratio(batched.perSecond, floor.perSecond)} the floor, ${ratio(batched.perSecond, ours.perSecond)} fhirdq in input order`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = new Date();
  const loadStart = loadavg();
  rmSync(join(CACHE, 'startup'), { recursive: true, force: true });
  mkdirSync(join(CACHE, 'startup'), { recursive: true });
  mkdirSync(WARM_DIR, { recursive: true });
  log(`bench: ${args.quick ? 'quick' : 'full'} (${config.runs} run(s) each, medians), engine from dist/`);

  const core = await coreCorpus(config.lines);
  log(`corpus r4-core: ${core.sources} valid JSON resources of the conformance suite, cycled to ${fmt(core.lines)} lines (${fmt(core.bytes / MB, 1)} MB)`);
  // The national examples are heavier (profiles, slicing): a quarter of the lines keeps the run short.
  const national = await nationalCorpus(config.lines / 4);
  log('skipped' in national ? `corpus national: skipped: ${national.skipped}` : `corpus national: ${national.sources} MP9/PZP examples ${JSON.stringify(national.perPackage)}, ${fmt(national.lines)} lines`);
  const memoryCorpora: Corpus[] = [];
  for (const m of config.memory) {
    log(`corpus ${m.label}: generating (streamed to disk)…`);
    memoryCorpora.push(await bigCorpus(m.bytes, m.label));
  }

  log(`measuring ${ENGINES.join(', ')} on r4-core, in rounds…`);
  const coreFigures = await measureEngines(ENGINES, core);

  let nationalFigures: Partial<Record<EngineName, EngineFigures | { error: string }>> = {};
  if (!('skipped' in national)) {
    log('measuring floor, fhirdq on national, in rounds…');
    nationalFigures = await measureEngines(['floor', 'fhirdq', 'fhirdq-batched'] as const, national, true);
  }

  const scaling: { workers: number; perSecond: number; peakRssMb: number; errorsPerResource: number; cores: number; runs: Result[] }[] = [];
  let scalingError: string | undefined;
  let oneCore: { perSecond: number; peakRssMb: number; errorsPerResource: number; cores: number; runs: Result[] } | undefined;
  /** Per round: two one-thread processes at once, one per core; their rates summed. */
  const twoProcesses: Result[] = [];
  try {
    // In rounds too: one core pinned, then 1 and 2 workers, so that each ratio compares runs of the same minutes. The one
    // thread validates as a worker does (fhirdq-batched: batches grouped by type), so the ratios are of threads alone.
    log(`measuring fhirdq on ${CAN_PIN ? 'one thread pinned to one core, ' : ''}1 and 2 worker threads, in rounds…`);
    const pinned: Result[] = [];
    const pooled = new Map<number, Result[]>([[1, []], [2, []]]);
    const oneThreadArgs = ['run', 'fhirdq-batched', core.first, core.file, String(config.warmup), String(config.windowSeconds)];
    for (let i = 0; i < config.runs; i++) {
      if (CAN_PIN) pinned.push(await measure(oneThreadArgs, { oneCore: true }));
      for (const [workers, runs] of pooled) runs.push(await measure(['pool', core.file, String(workers), String(config.batch), String(config.warmup), String(config.windowSeconds)]));
      // What two cores give at all: two processes validating at once, each on its own core, share nothing but the
      // machine (caches, memory, the host's other guests); their sum over one core is the ceiling of 2 workers.
      if (CAN_PIN && availableParallelism() >= 2) {
        const pair = await Promise.all([measure(oneThreadArgs, { oneCore: true, core: 0 }), measure(oneThreadArgs, { oneCore: true, core: 1 })]);
        twoProcesses.push({ ...pair[0], perSecond: (pair[0].perSecond as number) + (pair[1].perSecond as number) });
      }
    }
    const summary = (runs: Result[]) => ({ perSecond: median(runs.map((r) => r.perSecond as number)), peakRssMb: median(runs.map((r) => r.peakRssMb)), errorsPerResource: runs[0].errorsPerResource as number, cores: median(runs.map((r) => r.cores as number)) });
    if (CAN_PIN) oneCore = { ...summary(pinned), runs: pinned };
    for (const [workers, runs] of pooled) scaling.push({ workers, ...summary(runs), runs });
  } catch (err) {
    scalingError = (err as Error).message;
  }

  // What a user waits for: `fhirdq validate` from process start to exit, reading the file, placing every issue at its
  // line and column, writing the ndjson report (to /dev/null), with the national packages it loads by default.
  const commandLine: { label: string; resources: number; runs: Result[]; seconds?: number; perSecond?: number; peakRssMb?: number; error?: string }[] = [
    { label: `fhirdq validate ${core.first.split('/').pop()} (start-up: one resource)`, resources: 1, runs: [] },
    { label: `fhirdq validate --workers 0 (${fmt(core.lines)} lines)`, resources: core.lines, runs: [] },
    { label: `fhirdq validate --workers ${BESIDE_MAIN} (${fmt(core.lines)} lines; the main thread validates too: every core)`, resources: core.lines, runs: [] },
  ];
  const commandArgs = [[core.first], ['--workers', '0', core.file], ['--workers', String(BESIDE_MAIN), core.file]];
  log('measuring the command line, in rounds…');
  for (let i = 0; i < config.runs; i++) {
    for (const [k, entry] of commandLine.entries()) {
      if (entry.error) continue;
      try {
        entry.runs.push(await measure(['cli', 'validate', '--format', 'ndjson', ...commandArgs[k]!]));
      } catch (err) {
        entry.error = (err as Error).message;
      }
    }
  }
  for (const entry of commandLine) {
    if (entry.runs.length === 0) continue;
    entry.seconds = median(entry.runs.map((r) => ((r.doneAt as number) - (r.spawnAt as number)) / 1000));
    entry.perSecond = entry.resources / entry.seconds;
    entry.peakRssMb = median(entry.runs.map((r) => r.peakRssMb));
  }

  const memory: { label: string; bytes: number; lines: number; result?: Result; error?: string; everyCore?: CommandFigures; everyCoreJson?: CommandFigures }[] = [];
  // The same resources as one Bundle, through `fhirdq validate` (entry by entry from 32 MB, src/cli/bundle-entries.ts);
  // then as a Bundle whose entries all carry one fullUrl, bad input whose bdl-7 check reads them all back at the end.
  const bundles: { label: string; fullUrls: FullUrls; bytes: number; entries: number; seconds?: number; peakRssMb?: number; error?: string; everyCore?: CommandFigures }[] = [];
  for (const [i, c] of memoryCorpora.entries()) {
    const label = config.memory[i].label;
    log(`measuring fhirdq streaming ${label}…`);
    try {
      memory.push({ label, bytes: c.bytes, lines: c.lines, result: await measure(['stream', c.file, String(c.lines)]) });
    } catch (err) {
      memory.push({ label, bytes: c.bytes, lines: c.lines, error: (err as Error).message });
    }
    log(`measuring fhirdq validate on every core, ${label}…`);
    memory.at(-1)!.everyCore = await everyCore(c.file);
    // The json report is one document: it must be written as it comes too, not held until the end.
    log(`measuring fhirdq validate --format json on every core, ${label}…`);
    memory.at(-1)!.everyCoreJson = await everyCore(c.file, 'json');
    if (c.bytes < BUNDLE_BY_ENTRY_FROM) continue;
    for (const fullUrls of ['distinct', 'one'] as const) {
      const what = `${label} as one Bundle${fullUrls === 'one' ? ', one fullUrl throughout' : ''}`;
      log(`measuring fhirdq validate on ${what}…`);
      const bundle = await bundleOf(c, fullUrls);
      try {
        const r = await measure(['cli', 'validate', '--workers', '0', '--format', 'ndjson', bundle.file]);
        bundles.push({ label, fullUrls, bytes: bundle.bytes, entries: bundle.entries, seconds: ((r.doneAt as number) - r.spawnAt) / 1000, peakRssMb: r.peakRssMb });
      } catch (err) {
        bundles.push({ label, fullUrls, bytes: bundle.bytes, entries: bundle.entries, error: (err as Error).message });
      }
      log(`measuring fhirdq validate on every core, ${what}…`);
      bundles.at(-1)!.everyCore = await everyCore(bundle.file);
    }
  }

  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, platform: platform(), arch: arch(), totalMemMb: Math.round(totalmem() / MB), loadavgStart: loadStart, loadavgEnd: loadavg() };
  const out: string[] = [];
  out.push(`fhirdq bench ${started.toISOString()} · ${machine.cpus} cpus (${machine.cpuModel}) · node ${machine.node} · load avg at start ${loadStart.map((l) => l.toFixed(1)).join(' ')}`);
  out.push(`${config.runs} run(s) per figure, medians; each run a fresh process, taken in rounds (one run of every engine per round); rates include JSON.parse of each NDJSON line, each timed over whole passes of the corpus filling at least ${config.windowSeconds} s`);
  out.push('', `R4 core corpus: ${core.sources} conformance-suite resources × ${fmt(core.lines)} lines`, engineTable(coreFigures));
  out.push('', 'skipped' in national ? `National corpus (MP9, PZP): skipped: ${national.skipped}` : `National corpus (MP9, PZP, against their profiles): ${national.sources} examples × ${fmt(national.lines)} lines`);
  if (!('skipped' in national)) out.push(engineTable(nationalFigures));
  out.push('', `Scaling (fhirdq, src/pipeline/validate-pool.ts: the main thread posts batches of ${config.batch} NDJSON lines, read before timing as for the one thread; workers parse and validate; ${fmt(2 * config.warmup)} resources of warm-up per worker, as the one thread has; timed over whole passes of the corpus (one per worker at least), one after the other without a pause, filling at least ${config.windowSeconds} s)`);
  const inOrder = coreFigures.fhirdq && 'perSecond' in coreFigures.fhirdq ? coreFigures.fhirdq : undefined;
  const batched = coreFigures['fhirdq-batched'];
  const oneThread = batched && 'perSecond' in batched ? batched : undefined;
  if (scalingError) out.push('failed: ' + scalingError);
  else
    out.push(
      table(
        ['workers', 'resources/s', 'peak RSS MB', 'errors/res', 'cores busy', '÷ 1 worker', '÷ 1 thread (fhirdq-batched above)', '÷ one core'],
        [
          ...(oneCore ? [['1 thread on one core (taskset -c 0), fhirdq-batched', fmt(oneCore.perSecond), fmt(oneCore.peakRssMb), fmt(oneCore.errorsPerResource, 3), fmt(oneCore.cores, 2), '', '', '']] : []),
          ...(oneThread ? [['1 thread, no pool (fhirdq-batched above)', fmt(oneThread.perSecond), fmt(oneThread.peakRssMb), fmt(oneThread.errorsPerResource, 3), fmt(median(oneThread.runs.map((r) => r.cores as number)), 2), '', '', oneCore ? ratio(oneThread.perSecond, oneCore.perSecond) : '']] : []),
          ...scaling.map((s) => [
            `${s.workers} worker(s)`,
            fmt(s.perSecond),
            fmt(s.peakRssMb),
            fmt(s.errorsPerResource, 3),
            fmt(s.cores, 2),
            ratio(s.perSecond, scaling[0].perSecond),
            oneThread ? ratio(s.perSecond, oneThread.perSecond) : '',
            oneCore ? ratio(s.perSecond, oneCore.perSecond) : '',
          ]),
          ...(twoProcesses.length > 0 && oneCore
            ? [['2 processes at once, one per core, no pool (summed)', fmt(median(twoProcesses.map((r) => r.perSecond as number))), '', '', '', '', '', ratio(median(twoProcesses.map((r) => r.perSecond as number)), oneCore.perSecond)]]
            : []),
        ],
      ),
    );
  /** A titled table of the report. */
  const section = (title: string, header: string[], rows: string[][]) => out.push('', title, table(header, rows));
  const roundRatios = [
    roundRatio('R4 core: fhirdq ÷ floor', runsOf(coreFigures.fhirdq), runsOf(coreFigures.floor)),
    roundRatio('R4 core: fhirdq-batched ÷ floor', runsOf(coreFigures['fhirdq-batched']), runsOf(coreFigures.floor)),
    roundRatio('national: fhirdq ÷ floor', runsOf(nationalFigures.fhirdq), runsOf(nationalFigures.floor)),
    roundRatio('2 workers ÷ one core', scaling[1]?.runs, oneCore?.runs),
    roundRatio('2 workers ÷ 1 worker', scaling[1]?.runs, scaling[0]?.runs),
    roundRatio('2 processes, one per core, ÷ one core (the machine: the ceiling of 2 workers)', twoProcesses.length > 0 ? twoProcesses : undefined, oneCore?.runs),
    roundRatio('2 workers ÷ 2 processes (of that ceiling)', scaling[1]?.runs, twoProcesses.length > 0 ? twoProcesses : undefined),
  ].filter((r) => r !== undefined);
  if (roundRatios.length > 0) {
    section(
      "Ratios per round (each from the two runs of one round: the spread is the host's drift between runs)",
      ['ratio', 'median', 'lowest', 'highest', 'each round'],
      roundRatios.map((r) => [r.label, fmt(r.median, 3), fmt(r.lowest, 3), fmt(r.highest, 3), r.rounds.map((x) => fmt(x, 3)).join(' ')]),
    );
  }
  section(
    'Command line (process start to exit, ndjson report to /dev/null, shipped national packages loaded)',
    ['command', 'seconds', 'resources/s', 'peak RSS MB', '÷ 1 thread (fhirdq above)'],
    commandLine.map((c) =>
      c.error || c.seconds === undefined
        ? [c.label, failed(c.error), '', '', '']
        : [c.label, fmt(c.seconds, 2), c.resources > 1 ? fmt(c.perSecond!) : '–', fmt(c.peakRssMb!), c.resources > 1 && inOrder ? ratio(c.perSecond!, inOrder.perSecond) : ''],
    ),
  );
  section(
    `Memory (fhirdq, NDJSON streamed with src/formats/stream-ndjson.ts on one thread; then fhirdq validate --workers ${BESIDE_MAIN} --format ndjson, and --format json, process start to exit; 1 run each)`,
    ['input', 'lines', 'resources/s', 'peak RSS MB', 'RSS MB at each tenth', 'every core: seconds', 'every core: peak RSS MB', 'json report: seconds', 'json report: peak RSS MB'],
    memory.map((m) => [
      ...(m.result
        ? [`${m.label} (${fmt(m.bytes / MB)} MB)`, fmt(m.lines), fmt(m.result.perSecond as number), fmt(m.result.peakRssMb), (m.result.rssMbAtTenths as number[]).join(' ')]
        : [m.label, fmt(m.lines), failed(m.error), '', '']),
      ...everyCoreCells(m.everyCore),
      ...everyCoreCells(m.everyCoreJson),
    ]),
  );
  if (bundles.length > 0) {
    section(
      `Memory, one big Bundle (fhirdq validate --workers 0, then --workers ${BESIDE_MAIN}; entry by entry, process start to exit)`,
      ['input', 'entries', 'seconds', 'entries/s', 'peak RSS MB', 'every core: seconds', 'every core: peak RSS MB'],
      bundles.map((b) => [
        ...(b.error || b.seconds === undefined
          ? [`${b.label} as a Bundle${b.fullUrls === 'one' ? ', one fullUrl' : ''}`, fmt(b.entries), failed(b.error), '', '']
          : [`${b.label} as a Bundle${b.fullUrls === 'one' ? ', one fullUrl' : ''} (${fmt(b.bytes / MB)} MB)`, fmt(b.entries), fmt(b.seconds, 1), fmt(b.entries / b.seconds), fmt(b.peakRssMb!)]),
        ...everyCoreCells(b.everyCore),
      ]),
    );
  }
  process.stdout.write(out.join('\n') + '\n');

  if (args.json) {
    const report = { date: started.toISOString(), command: process.argv.slice(2), machine, config, corpora: { core, national, memory: memoryCorpora }, core: coreFigures, national: nationalFigures, scaling: scalingError ? { error: scalingError } : { oneCore, workers: scaling, twoProcesses }, roundRatios, commandLine, memory, bundles };
    // npm runs scripts from the package root; the path is meant relative to where npm was called.
    writeFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), args.json), JSON.stringify(report, null, 2) + '\n');
    log(`bench: figures written to ${args.json}`);
  }
  rmSync(join(CACHE, 'startup'), { recursive: true, force: true });
}

await main();
