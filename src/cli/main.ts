/** fhirdq's command line: one-line errors, no stack traces (unless FHIRDQ_DEBUG=1), exit 2 for usage problems. */
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, type CliContext, type CliIO } from './context.js';
import { packageVersion } from './version.js';

type Register = (program: Command, ctx: CliContext) => void;

/** The subcommands, in the order help lists them; each loads its own modules (the pipeline's take half a second). */
const COMMANDS: Record<string, () => Promise<Register>> = {
  validate: async () => (await import('./validate-command.js')).registerValidateCommand,
  conformance: async () => (await import('./conformance-command.js')).registerConformanceCommand,
  run: async () => (await import('./run-command.js')).registerRunCommand,
  fixtures: async () => (await import('./fixtures-command.js')).registerFixturesCommand,
  report: async () => (await import('./report-command.js')).registerReportCommand,
};

const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  outBytes: (bytes) => process.stdout.write(bytes),
  err: (text) => process.stderr.write(text),
  // stdout to a pipe is written asynchronously: unread, it held all of a 100 MB Bundle's report (528 MB peak RSS).
  outWaiting: () => (process.stdout.writableNeedDrain ? taken(process.stdout) : undefined),
};

/** When a stream's buffered writes are taken, or it can take none (closed, failed). */
function taken(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'close', 'error']) stream.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error']) stream.on(event, done);
  });
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
  try {
    // Subcommands inherit exitOverride and the output settings, so they are registered after them: only the one
    // asked for (the first argument that is not an option), or all of them for help and unknown commands.
    const asked = argv.find((arg) => !arg.startsWith('-'));
    for (const name of asked !== undefined && asked in COMMANDS ? [asked] : Object.keys(COMMANDS)) (await COMMANDS[name]!())(program, ctx);
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
