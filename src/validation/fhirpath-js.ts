/**
 * fhirpath.js on demand, with its parse trees of FHIRPath expressions and its R4 model tables kept in the
 * cache folder: loading fhirpath.js (parser, UCUM tables, R4 model) takes ~0.4 s, while compiled
 * invariants need only the parse trees and the tables. fhirpath.js is loaded when an expression is not
 * in the cache or is evaluated by it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { asciiJson, cacheDirectory, cachedJson, fileKey, writeAtomically } from '../packages/cache.js';

type FhirPathJs = (typeof import('fhirpath'))['default'];

const require = createRequire(import.meta.url);
let js: FhirPathJs | undefined;
let r4: object | undefined;

/**
 * fhirpath.js, loaded synchronously on first use. Its ES module build (the file its package exports to
 * `import`; require() of an ES module, Node ≥ 20.19) is the instance that `import 'fhirpath'` elsewhere
 * gets, which matters as fhirpath.js tells its nodes by class.
 */
export function fhirpathJs(): FhirPathJs {
  js ??= (require('fhirpath/esm/fhirpath.mjs') as { default: FhirPathJs }).default;
  return js;
}

/** fhirpath.js's R4 model (CommonJS, so the same object as `import 'fhirpath/fhir-context/r4'`). */
export function r4ModelJs(): object {
  r4 ??= require('fhirpath/fhir-context/r4') as object;
  return r4;
}

let version: string | undefined;

/** The installed fhirpath.js version, part of every cache key here. */
function fhirpathVersion(): string {
  version ??= (JSON.parse(readFileSync(require.resolve('fhirpath/package.json'), 'utf8')) as { version: string }).version;
  return version;
}

/** The tables of fhirpath.js's R4 model that compiled FHIRPath types nodes with (so that both agree). */
export interface R4ModelTables {
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
  path2Type: Record<string, string>;
  path2TypeWithoutElements: Record<string, string>;
  type2Parent: Record<string, string>;
  availableTypes: Set<string>;
}

/** Bump when the stored tables change. */
const MODEL_FORMAT_VERSION = 1;

/** {@link R4ModelTables} from the cache folder (one JSON.parse), taken from fhirpath.js when missing. */
export function r4ModelTables(): R4ModelTables {
  const stored = cachedJson(`fhirpath-r4-model`, `fhirpath@${fhirpathVersion()} r4 model ${MODEL_FORMAT_VERSION}`, () => {
    const m = r4ModelJs() as R4ModelTables;
    const { choiceTypePaths, pathsDefinedElsewhere, path2Type, path2TypeWithoutElements, type2Parent } = m;
    return { choiceTypePaths, pathsDefinedElsewhere, path2Type, path2TypeWithoutElements, type2Parent, availableTypes: [...m.availableTypes] };
  });
  return { ...stored, availableTypes: new Set(stored.availableTypes) };
}

/** Bump when what is stored per expression changes. */
const AST_FORMAT_VERSION = 1;
/** Source positions: not read by the compiler, and a third of the stored size. */
const DROPPED = new Set(['start', 'length']);
const FLUSH_DELAY_MS = 500;

/**
 * Parse trees by expression: the tree, or its JSON as read from the cache file (parsed on first use, so
 * that start-up does not pay for every expression the cache folder has seen).
 */
let memo: Map<string, unknown> | undefined;
let memoDir = '';
let memoPath = '';
let memoKey = '';
let pending = 0;
let flushTimer: NodeJS.Timeout | undefined;

/** A file of parse trees: the key on the first line, then `JSON of the expression <TAB> JSON of its tree` per line. */
function readAstFile(path: string, key: string): Map<string, unknown> {
  const trees = new Map<string, unknown>();
  let lines: string[];
  try {
    lines = readFileSync(path, 'latin1').split('\n');
  } catch {
    return trees; // missing: filled by parses
  }
  if (lines[0] !== key) return trees;
  for (let i = 1; i < lines.length; i++) {
    const tab = lines[i].indexOf('\t');
    if (tab > 0) trees.set(JSON.parse(lines[i].slice(0, tab)) as string, lines[i].slice(tab + 1));
  }
  return trees;
}

/** The memo of parse trees, read from the cache folder once per thread (and again when the folder changes). */
function trees(): Map<string, unknown> {
  const dir = cacheDirectory();
  if (memo && memoDir === dir) return memo;
  flushParseCache();
  memoDir = dir;
  memoKey = `fhirpath@${fhirpathVersion()} ast ${AST_FORMAT_VERSION}`;
  memoPath = join(dir, `fhirpath-ast-${fileKey(memoKey)}.txt`);
  try {
    memo = readAstFile(memoPath, memoKey);
  } catch {
    memo = new Map(); // damaged: rebuilt from parses
  }
  pending = 0;
  return memo;
}

/**
 * fhirpath.js's parse tree of `expression` without source positions; throws fhirpath.js's error on a
 * syntax error. The returned tree is shared: callers must not modify it.
 */
export function parseFhirPath(expression: string): unknown {
  const known = trees();
  let ast = known.get(expression);
  if (typeof ast === 'string') {
    try {
      ast = JSON.parse(ast);
    } catch {
      ast = undefined; // a damaged line: parsed again
    }
  } else if (ast !== undefined) return ast;
  if (ast === undefined) {
    ast = JSON.parse(JSON.stringify(fhirpathJs().parse(expression), (k, v: unknown) => (DROPPED.has(k) ? undefined : v)));
    schedule();
  }
  known.set(expression, ast);
  return ast;
}

function schedule(): void {
  if (pending++ > 0) return;
  process.once('exit', flushParseCache);
  // Pool workers are terminated (no 'exit' event): write once the burst of new expressions is over.
  flushTimer = setTimeout(flushParseCache, FLUSH_DELAY_MS).unref();
}

/**
 * Writes the parse trees added since the last write to the cache folder, merged with what other
 * processes wrote meanwhile. Runs by itself shortly after new expressions and at exit.
 */
export function flushParseCache(): void {
  clearTimeout(flushTimer);
  process.removeListener('exit', flushParseCache);
  if (!memo || pending === 0) return;
  pending = 0;
  try {
    for (const [expression, ast] of readAstFile(memoPath, memoKey)) if (!memo.has(expression)) memo.set(expression, ast);
  } catch {
    // damaged: replaced below
  }
  const lines = [memoKey];
  for (const [expression, ast] of memo) lines.push(`${asciiJson(expression)}\t${typeof ast === 'string' ? ast : asciiJson(ast)}`);
  try {
    writeAtomically(memoPath, [Buffer.from(lines.join('\n'), 'latin1')]);
  } catch {
    // read-only cache folder: parsed again next time
  }
}
