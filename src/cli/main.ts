/** fhirdq's command line: one-line errors, no stack traces (unless FHIRDQ_DEBUG=1), exit 2 for usage problems. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { Write } from './output.js';
import { registerValidateCommand } from './validate-command.js';
import { registerConformanceCommand } from './conformance-command.js';
import { registerRunCommand } from './run-command.js';
import { registerFixturesCommand } from './fixtures-command.js';
import { registerReportCommand } from './report-command.js';

export interface CliIO {
  out: Write;
  err: Write;
}

/** Shared by the subcommands: where to write, and the exit code their action decides on. */
export interface CliContext extends CliIO {
  exitCode: number;
}

/** Exit code for usage and input problems. */
export const EXIT_USAGE = 2;

const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function packageVersion(): string {
  // The same relative path from src/cli/ and from dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const ctx: CliContext = { ...io, exitCode: 0 };
  const program = new Command('fhirdq')
    .description('FHIR R4 validator and data-quality pipeline')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (text, write) => write(`fhirdq: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`),
    });
  // Subcommands inherit exitOverride and the output settings, so they are registered after them.
  registerValidateCommand(program, ctx);
  registerConformanceCommand(program, ctx);
  registerRunCommand(program, ctx);
  registerFixturesCommand(program, ctx);
  registerReportCommand(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    const message = err instanceof Error ? err.message : String(err);
    io.err(`fhirdq: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (process.env.FHIRDQ_DEBUG === '1' && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    return EXIT_USAGE;
  }
}
