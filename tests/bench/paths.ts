/** Where the benchmark finds the engine and keeps its generated corpora (.cache/ is gitignored). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';

/** The repository root, from tests/bench/*.ts or its compiled copy in .cache/bench/js/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot();
export const CACHE = resolve(ROOT, '.cache/bench');
export const CORPUS_DIR = resolve(CACHE, 'corpus');
export const PROFILES_DIR = resolve(ROOT, 'profiles');
export const CONFORMANCE_DIR = resolve(ROOT, '../shared/conformance/fhir-test-cases-r4');

/** A module of the built engine (dist/), as an import() specifier. */
export function distModule(rel: string): string {
  const file = resolve(ROOT, 'dist', rel);
  if (!existsSync(file)) throw new Error(`bench: ${file} is missing; run npm run build first`);
  return pathToFileURL(file).href;
}

/** The line a measurement child prints its JSON result on. */
export const RESULT_PREFIX = 'BENCH_RESULT ';
