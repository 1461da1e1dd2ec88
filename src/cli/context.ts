/** What the subcommands share with the command line, kept apart so that a command module loads none of the others. */
import type { Write } from './output.js';

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
