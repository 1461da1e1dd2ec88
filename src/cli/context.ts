/** What the subcommands share with the command line, kept apart so that a command module loads none of the others. */
import type { Write, WriteBytes } from './output.js';

export interface CliIO {
  out: Write;
  /** Text for `out` already encoded as UTF-8 (rendered by validation threads): without it, decoded and given to `out`. */
  outBytes?: WriteBytes;
  err: Write;
  /**
   * While what `out` was given waits for its reader (a pipe read slower than results come): a promise of when it is
   * taken. Commands with much output wait for it, so that output does not pile up in memory.
   */
  outWaiting?(): Promise<void> | undefined;
}

/** Shared by the subcommands: where to write, and the exit code their action decides on. */
export interface CliContext extends CliIO {
  exitCode: number;
}

/** Exit code for usage and input problems. */
export const EXIT_USAGE = 2;

/** commander: a repeatable option's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** commander: a repeatable option of comma-separated values. */
export const collectList = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
