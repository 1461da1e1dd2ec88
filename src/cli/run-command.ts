/** `fhirdq run <config.yaml>`: the pipeline over a region's exports; reports under outputs.dir/<run-id>/ and latest/. */
import type { Command } from 'commander';
import { SpecErrors } from '../mapping/yaml-file.js';
import { loadRunConfig } from '../pipeline/config.js';
import { runPipeline } from '../pipeline/run.js';
import { checkRun } from '../pipeline/check.js';
import { limitHeapGrowth } from './heap-growth.js';
import { createProgress } from '../pipeline/progress.js';
import { collectList, EXIT_USAGE, type CliContext } from './context.js';
import { RunMeasurer } from '../quality/measure-run.js';
import { reportRun } from './report-command.js';


export function registerRunCommand(program: Command, ctx?: CliContext): void {
  program
    .command('run')
    .description('map, validate and report a region\'s exports as described by a run config (YAML)')
    .argument('<config>', 'run config, e.g. fixtures/demo-region/run.yaml')
    .option('--out <dir>', 'reports folder (default: the config\'s outputs.dir)')
    .option('--run-id <id>', 'name of the run\'s report folder (default: the start time)')
    .option('--no-validate', 'map only, skip validation')
    .option('--no-report', 'skip the quality report (summary.json quality part, report.html, junit.xml, summary.md, indicators.csv, readiness.csv)')
    .option('--strict', 'exit 1 when a quality measure fails, 3 when a share (of a measure or an indicator) or the records read dropped since the previous run')
    .option('--vendor', "put resource locations of failing examples in junit.xml (the data holder's own CI only)")
    .option('--check', 'read no record: load the config, every mapping spec and the rule packs, and expand every input; exit 2 on a problem')
    .option('--source <names>', "read only these sources (comma-separated, repeatable): one shard of a region; 'report merge' joins the shards", collectList, [])
    .action(async (file: string, options: { out?: string; runId?: string; validate: boolean; report: boolean; strict?: boolean; vendor?: boolean; check?: boolean; source: string[] }) => {
      const err = ctx?.err ?? ((t: string) => process.stderr.write(t));
      const out = ctx?.out ?? ((t: string) => process.stdout.write(t));
      const setExit = (code: number) => {
        if (ctx) ctx.exitCode = code;
        else process.exitCode = code;
      };
      let loaded;
      try {
        loaded = await loadRunConfig(file);
      } catch (e) {
        if (!(e instanceof SpecErrors)) throw e;
        err(`fhirdq: invalid run config:\n${e.message}\n`);
        setExit(EXIT_USAGE);
        return;
      }
      if (options.source.length) {
        const known = loaded.config.sources.map((src) => src.name);
        const unknown = options.source.filter((name) => !known.includes(name));
        if (unknown.length) {
          err(`fhirdq: --source ${unknown.join(', ')}: not a source of ${file} (its sources: ${known.join(', ')})\n`);
          setExit(EXIT_USAGE);
          return;
        }
        loaded.config.sources = loaded.config.sources.filter((src) => options.source.includes(src.name));
      }
      if (options.check) {
        const checked = await checkRun(loaded);
        for (const problem of checked.problems) err(`fhirdq: ${problem}\n`);
        out(`${file}: ${checked.sources} source(s), ${checked.files} input file(s) now, ${checked.problems.length ? `${checked.problems.length} problem(s)` : 'no problems'}\n`);
        return setExit(checked.problems.length ? EXIT_USAGE : 0);
      }
      if (!options.validate) loaded.config.validation.enabled = false;
      // Validation results wait on the workers in input order (35,000-patient region: 554-573 MB peak RSS without, 438 with).
      if (loaded.config.validation.enabled) limitHeapGrowth();
      // Quality is measured as results arrive: the report does not read the run's outputs again.
      let measurer: RunMeasurer | undefined;
      const measure = options.report ? async (startedAt: string) => (measurer = await RunMeasurer.open(loaded, startedAt.slice(0, 10), { vendor: options.vendor })) : undefined;
      let summary;
      try {
        summary = await runPipeline(loaded, { outDir: options.out, runId: options.runId, progress: createProgress(process.stderr), measure });
      } catch (e) {
        if (!(e instanceof SpecErrors)) throw e;
        err(`fhirdq: invalid rule pack:\n${e.message}\n`);
        setExit(EXIT_USAGE);
        return;
      }
      for (const s of summary.sourceErrors) err(`fhirdq: source ${s.source} skipped:\n${s.message}\n`);
      for (const f of summary.fileErrors) err(`fhirdq: source ${f.source}: not read: ${f.reason}\n`);
      const t = summary.totals;
      out(
        `run ${summary.runId}: ${t.read} records read, ${t.mapped} mapped, ${t.rejected} rejected, ${t.resources} resources, ${t.issues} issues ` +
          `(${summary.recordsPerSecond} records/s, peak ${summary.peakRssMb} MB)\nreports: ${summary.reportDir}\n`,
      );
      // The reports are written all the same; the exit code still tells a scheduler or CI that input was left unread.
      // A shard is no night of the region: its report stays out of the history, which the merged report is for.
      if (measurer) setExit(await reportRun(summary.reportDir, loaded, { history: options.source.length === 0, dropThreshold: '0.05', strict: options.strict, vendor: options.vendor }, { out, err }, measurer.finish(summary)));
      else setExit(summary.sourceErrors.length || summary.fileErrors.length ? EXIT_USAGE : 0);
    });
}
