/** `fhirdq report <run-dir>` and `fhirdq report merge <summary.json...> --out <dir>`: quality, readiness and reports. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { SpecErrors } from '../mapping/yaml-file.js';
import { loadRunConfig, type LoadedRunConfig } from '../pipeline/config.js';
import { measureRunDetailed, type Measured } from '../quality/measure-run.js';
import { MergeError, mergeSummaries, type QualitySummary } from '../quality/summary.js';
import { summaryProblems } from '../quality/summary-schema.js';
import { EXIT, writeReports, type WriteOptions } from '../report/write.js';
import { dropText } from '../report/views.js';
import { VOLUME_DROP } from '../report/history.js';
import { collect, type CliContext } from './context.js';

export interface ReportOptions {
  config?: string;
  rules?: string[];
  referenceDate?: string;
  history: string | boolean;
  dropThreshold: string;
  volumeDrop?: string;
  strict?: boolean;
  vendor?: boolean;
}

function writeOptions(o: ReportOptions, defaultHistory: string): WriteOptions {
  return {
    history: o.history === false ? false : typeof o.history === 'string' ? o.history : defaultHistory,
    dropThreshold: Number(o.dropThreshold),
    volumeDrop: o.volumeDrop === undefined ? undefined : Number(o.volumeDrop),
    strict: o.strict,
  };
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Prints drops and where the report is; returns the exit code for schedulers. */
function announce(dir: string, res: Awaited<ReturnType<typeof writeReports>>, { out, err }: Io): number {
  for (const d of res.history?.drops ?? []) err(`fhirdq: warning: dropped since the previous run: ${dropText(d, d.organisation)}\n`);
  out(`report: ${path.join(dir, 'report.html')} (${res.failing.length} failing measure(s)${res.history ? `, ${res.history.drops.length} drop(s)` : ''})\n`);
  if (res.unread.length) err(`fhirdq: input not read from ${res.unread.join(', ')}: these measures leave it out (see 'Input not read' in the report)\n`);
  return res.exitCode;
}

/**
 * Writes a run folder's reports (used by `fhirdq report` and at the end of `fhirdq run`): from the quality
 * measured during the run when given, else measured from the folder.
 */
export async function reportRun(dir: string, loaded: LoadedRunConfig, o: ReportOptions, io: Io, measured?: Measured): Promise<number> {
  const { summary, vendor } = measured ?? (await measureRunDetailed(dir, loaded, { rules: o.rules, referenceDate: o.referenceDate, vendor: o.vendor }));
  const res = await writeReports(dir, summary, { ...writeOptions(o, path.join(path.dirname(dir), 'history.sqlite')), vendor: o.vendor ? vendor : undefined });
  return announce(dir, res, io);
}

export function registerReportCommand(program: Command, ctx?: CliContext): void {
  const out = (t: string) => (ctx ? ctx.out(t) : process.stdout.write(t));
  const err = (t: string) => (ctx ? ctx.err(t) : process.stderr.write(t));
  const setExit = (code: number) => {
    if (ctx) ctx.exitCode = code;
    else process.exitCode = code;
  };
  const finish = (dir: string, res: Awaited<ReturnType<typeof writeReports>>) => setExit(announce(dir, res, { out, err }));

  const report = program
    .command('report')
    .description('measure a run folder (quality, readiness, indicators) and write summary.json, report.html, junit.xml, summary.md, indicators.csv and readiness.csv into it')
    .argument('<run-dir>', 'a run folder written by `fhirdq run`, e.g. reports/latest')
    .option('--config <file>', 'run config (default: the one named in the run\'s summary.json)')
    .option('--rules <file-or-dir>', 'rule pack file or folder (repeatable; default profiles/rules/)', collect)
    .option('--reference-date <yyyy-mm-dd>', 'day currency is judged at (default: the run\'s start date)')
    .option('--history <file>', 'history database (default: history.sqlite next to the run folders)')
    .option('--no-history', 'do not record the run or show trends')
    .option('--drop-threshold <share>', 'a fall larger than this since the previous run is a warning', '0.05')
    .option('--volume-drop <fraction>', 'records read falling by more than this fraction since the previous run is a warning', String(VOLUME_DROP))
    .option('--strict', 'exit 1 when a measure fails, 3 when a share (of a measure or an indicator) or the records read dropped')
    .option('--vendor', 'put resource locations of failing examples in junit.xml (the data holder\'s own CI only)')
    .action(async (runDir: string, o: ReportOptions) => {
      const dir = path.resolve(runDir);
      let pipeline: { config: string; sources?: Record<string, unknown>; sourceErrors?: { source: string }[] };
      try {
        pipeline = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8')) as typeof pipeline;
      } catch (e) {
        err(`fhirdq: ${dir} is not a run folder (no readable summary.json): ${(e as Error).message}\n`);
        return setExit(EXIT.usage);
      }
      const configFile = o.config ?? path.resolve(path.dirname(dir), pipeline.config);
      try {
        const loaded = await loadRunConfig(configFile);
        // A shard (run --source) is no night of the region: kept out of the history unless a file is named.
        const ran = new Set([...Object.keys(pipeline.sources ?? {}), ...(pipeline.sourceErrors ?? []).map((e) => e.source)]);
        const shard = loaded.config.sources.some((src) => !ran.has(src.name));
        setExit(await reportRun(dir, loaded, shard && typeof o.history !== 'string' ? { ...o, history: false } : o, { out, err }));
      } catch (e) {
        if (!(e instanceof SpecErrors)) throw e;
        err(`fhirdq: invalid configuration or rule pack:\n${e.message}\n`);
        setExit(EXIT.usage);
      }
    });

  report
    .command('merge')
    .description('combine the quality summaries of shards (split by source or organisation) into one report')
    .argument('<summaries...>', 'summary.json files of the shards')
    .requiredOption('--out <dir>', 'folder for the merged summary.json, report.html, junit.xml, summary.md, indicators.csv and readiness.csv')
    .option('--history <file>', 'history database (default: none)')
    .option('--drop-threshold <share>', 'a fall larger than this since the previous run is a warning', '0.05')
    .option('--volume-drop <fraction>', 'records read falling by more than this fraction since the previous run is a warning', String(VOLUME_DROP))
    .option('--strict', 'exit 1 when a measure fails, 3 when a share (of a measure or an indicator) or the records read dropped')
    .action(async (files: string[], o: ReportOptions & { out: string }) => {
      const shards: QualitySummary[] = [];
      for (const f of files) {
        let json: { quality?: QualitySummary; schemaVersion?: number } | undefined;
        try {
          json = JSON.parse(await readFile(f, 'utf8')) as typeof json;
        } catch {
          json = undefined;
        }
        const q = json?.quality ?? (json?.schemaVersion ? (json as QualitySummary) : undefined);
        if (!q) {
          err(`fhirdq: ${f} has no quality summary (run \`fhirdq report\` on its run folder first)\n`);
          return setExit(EXIT.usage);
        }
        const problems = summaryProblems(q);
        if (problems.length > 0) {
          err(`fhirdq: ${f} holds a quality summary fhirdq cannot merge (cut short or edited?): ${problems.join('; ')}\n`);
          return setExit(EXIT.usage);
        }
        shards.push(q);
      }
      try {
        const merged = mergeSummaries(shards);
        finish(o.out, await writeReports(path.resolve(o.out), merged, writeOptions({ ...o, history: o.history ?? false }, '')));
      } catch (e) {
        if (!(e instanceof MergeError)) throw e;
        err(`fhirdq: cannot merge: ${e.message}\n`);
        setExit(EXIT.usage);
      }
    });
}
