/**
 * Vitest global setup: every test run gets its own temporary folder, removed when the run ends. Tests and the CLI
 * processes they start make folders and scratch files through os.tmpdir(), which reads TMPDIR: set here, before the
 * test processes are forked, it reaches them all, and a run leaves nothing behind in the system's /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function setup(): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'fhirdq-tests-'));
  process.env.TMPDIR = folder;
  return () => rmSync(folder, { recursive: true, force: true });
}
