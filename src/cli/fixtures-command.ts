/** `fhirdq fixtures`: writes a seeded demo region of any size (same seed → identical bytes). */
import { InvalidArgumentError, type Command } from 'commander';
import { generateRegion } from '../pipeline/generate-region.js';
import type { CliContext } from './context.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function registerFixturesCommand(program: Command, ctx?: CliContext): void {
  program
    .command('fixtures')
    .description('generate a demo region: vendor-shaped exports with planted defects, a run.yaml and mapping specs')
    .option('--patients <n>', 'number of patients', positiveInt, 1000)
    .option('--out <dir>', 'output folder', 'fixtures/generated-region')
    .option('--seed <n>', 'random seed', positiveInt, 42)
    .action(async (options: { patients: number; out: string; seed: number }) => {
      const planted = await generateRegion({ patients: options.patients, outDir: options.out, seed: options.seed });
      const records = Object.values(planted.sources).reduce((n, s) => n + s.records, 0);
      (ctx?.out ?? ((t: string) => process.stdout.write(t)))(`wrote ${records} records for ${options.patients} patients to ${options.out} (seed ${options.seed})\n`);
    });
}
