import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writeTree } from './helpers.js';

const run = promisify(execFile);
const distUrl = (rel: string) => pathToFileURL(resolve('dist', rel)).href;

/**
 * In a process of its own (V8's flags are process-wide): holds the young generation as `fhirdq validate` does with
 * workers, starts a pool of one worker, holds it again once the pool has started if `rehold`, then allocates what
 * survives a scavenge or two, which grows an unheld new space to V8's maximum. Prints the main thread's new space
 * before and after, in MB.
 */
async function newSpaceAround(rehold: boolean): Promise<{ before: number; after: number }> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { holdYoungGeneration } from ${JSON.stringify(distUrl('cli/heap-growth.js'))};
    import { createValidatorPool } from ${JSON.stringify(distUrl('pipeline/validate-pool.js'))};
    const newSpaceMb = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20;
    holdYoungGeneration();
    const before = newSpaceMb();
    const pool = createValidatorPool({ workers: 1, igs: [] });
    await pool.started;
    if (${rehold}) holdYoungGeneration();
    const kept = [];
    for (let i = 0; i < 2e6; i++) {
      kept.push({ i, text: 'item ' + i });
      if (kept.length > 200000) kept.splice(0, 100000);
    }
    const after = newSpaceMb();
    await pool.close();
    console.log(JSON.stringify({ before, after }));
  `;
  const file = join(await writeTree({}), 'hold.mjs');
  await writeFile(file, script);
  const { stdout } = await run(process.execPath, [file]);
  return JSON.parse(stdout) as { before: number; after: number };
}

describe('the main thread young generation beside workers', () => {
  it('stays at its size once held again after the workers started', async () => {
    const { before, after } = await newSpaceAround(true);
    expect(after).toBe(before);
    expect(after).toBeLessThanOrEqual(16);
  });

  it('grows again when not held after the workers started: V8 resets the growth factor for each heap it makes', async () => {
    const { before, after } = await newSpaceAround(false);
    expect(after).toBeGreaterThan(before);
  });
});
