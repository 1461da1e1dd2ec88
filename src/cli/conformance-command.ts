/** `fhirdq conformance <suite-folder>`: runs an HL7 validator test suite and scores agreement with the reference. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { createValidator } from '../index.js';
import { agreement, runConformanceSuite, scoreSteps } from '../validation/conformance-suite.js';
import { EXIT_USAGE, type CliContext } from './context.js';
import { formatDisagreement, formatScoreTable } from './output.js';

export interface ConformanceCommandOptions {
  out?: string;
  filter?: string;
  verbose?: boolean;
}

export function registerConformanceCommand(program: Command, ctx: CliContext): void {
  program
    .command('conformance')
    .description('run a validator conformance suite (manifest.json + cases/) and score agreement with the expected outcomes')
    .argument('<suite-folder>', 'folder with manifest.json')
    .option('--out <file>', 'write every step with its issues as JSON')
    .option('--filter <substring>', 'run only the cases whose module/name contains this')
    .option('--verbose', 'list each disagreeing step with our errors and the expected ones')
    .action(async (suiteFolder: string, options: ConformanceCommandOptions) => {
      ctx.exitCode = await runConformance(suiteFolder, options, ctx);
    });
}

export async function runConformance(suiteFolder: string, options: ConformanceCommandOptions, ctx: CliContext): Promise<number> {
  const started = performance.now();
  const run = await runConformanceSuite(suiteFolder, { createValidator, filter: options.filter });
  const seconds = (performance.now() - started) / 1000;
  if (run.results.length === 0) {
    ctx.err(`fhirdq: no cases${options.filter ? ` match '${options.filter}'` : ''} in ${suiteFolder}\n`);
    return EXIT_USAGE;
  }
  const steps = run.results.map((r) => r.step);
  if (options.out) {
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, `${JSON.stringify({ steps }, null, 1)}\n`);
  }
  if (options.verbose) {
    for (const { step, expected } of run.results) {
      const { verdict, count } = agreement(step);
      if (!verdict || !count) ctx.out(formatDisagreement(step, expected));
    }
    for (const [name, cases] of run.ignoredOptions) ctx.out(`option not applied: ${name} (${cases.join(', ')})\n`);
    ctx.out('\n');
  }
  ctx.out(formatScoreTable(scoreSteps(steps)));
  ctx.out(`${steps.length} steps in ${seconds.toFixed(1)} s\n`);
  return 0;
}
