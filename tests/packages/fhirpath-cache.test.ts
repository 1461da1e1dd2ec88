import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileFhirPath } from '../../src/validation/fhirpath-compiler.js';
import { flushParseCache, parseFhirPath, r4ModelTables } from '../../src/validation/fhirpath-js.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'fhirdq-fhirpath-cache-'));
const savedCacheDir = process.env.FHIRDQ_CACHE_DIR;
const astFile = (dir: string) => join(dir, readdirSync(dir).find((n) => n.startsWith('fhirpath-ast-'))!);

interface AstFile {
  key: string;
  entries: Array<[string, unknown]>;
}

/** The file's key line, then `expression JSON <TAB> tree JSON` lines. */
function readAsts(dir: string): AstFile {
  const [key, ...lines] = readFileSync(astFile(dir), 'latin1').split('\n');
  return { key, entries: lines.map((l) => l.split('\t').map((part) => JSON.parse(part) as unknown) as [string, unknown]) };
}

function writeAsts(dir: string, file: AstFile): void {
  writeFileSync(astFile(dir), [file.key, ...file.entries.map(([e, t]) => `${JSON.stringify(e)}\t${JSON.stringify(t)}`)].join('\n'));
}

describe('parse trees of FHIRPath expressions in the cache folder', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
    process.env.FHIRDQ_CACHE_DIR = dir;
  });
  afterEach(() => {
    flushParseCache();
    if (savedCacheDir === undefined) delete process.env.FHIRDQ_CACHE_DIR;
    else process.env.FHIRDQ_CACHE_DIR = savedCacheDir;
  });

  /** Makes the next parse read the cache folder again, as a new process would. */
  function reopen(): void {
    process.env.FHIRDQ_CACHE_DIR = tempDir();
    parseFhirPath('id');
    process.env.FHIRDQ_CACHE_DIR = dir;
  }

  it('stores each parsed expression without source positions, and compiles from the stored tree', () => {
    const tree = parseFhirPath('name.exists()');
    flushParseCache();
    const stored = readAsts(dir);
    expect(stored.key).toMatch(/^fhirpath@\d+\.\d+\.\d+ ast \d+$/);
    expect(stored.entries).toEqual([['name.exists()', tree]]);
    expect(JSON.stringify(tree)).not.toMatch(/"(start|length)"/);
    expect(JSON.stringify(tree)).toContain('"exists"');

    // A tree changed on disk is what compiling uses after a restart: the cache, not the parser, is read.
    stored.entries[0][1] = parseFhirPath('telecom.exists()');
    flushParseCache();
    writeAsts(dir, stored);
    reopen();
    const compiled = compileFhirPath('name.exists()', 'Patient')!;
    expect(compiled({ resourceType: 'Patient', telecom: [{ value: '1' }] }, { resource: null, rootResource: null })).toEqual([true]);
  });

  it('ignores a file made for another fhirpath.js version, and merges what other processes added', () => {
    const genuine = parseFhirPath('name.exists()');
    flushParseCache();
    const stored = readAsts(dir);
    const other = parseFhirPath('telecom.exists()');
    flushParseCache();
    writeAsts(dir, { key: 'fhirpath@0.0.1 ast 1', entries: [['name.exists()', other]] });
    reopen();
    expect(parseFhirPath('name.exists()')).toEqual(genuine);

    // Another process wrote an expression meanwhile: a later write keeps it.
    writeAsts(dir, { key: stored.key, entries: [['birthDate', genuine]] });
    parseFhirPath('gender');
    flushParseCache();
    const merged = readAsts(dir);
    expect(merged.entries.map(([e]) => e).sort()).toEqual(['birthDate', 'gender', 'name.exists()']);
    expect(merged.entries.find(([e]) => e === 'birthDate')![1]).toEqual(genuine);
  });

  it('parses again an expression whose stored tree is damaged', () => {
    const genuine = parseFhirPath('name.exists()');
    flushParseCache();
    writeFileSync(astFile(dir), `${readAsts(dir).key}\n"name.exists()"\t{"type":"Entire`);
    reopen();
    expect(parseFhirPath('name.exists()')).toEqual(genuine);
  });

  it('throws fhirpath.js error on a syntax error and stores nothing for it', () => {
    expect(() => parseFhirPath('name.where(')).toThrow();
    flushParseCache();
    expect(readdirSync(dir).filter((n) => n.startsWith('fhirpath-ast-'))).toEqual([]);
  });

  it("keeps fhirpath.js's R4 model tables as fhirpath.js has them", () => {
    const real = createRequire(import.meta.url)('fhirpath/fhir-context/r4') as Record<string, unknown>;
    const built = r4ModelTables();
    const read = r4ModelTables();
    expect(readdirSync(dir).filter((n) => n.startsWith('fhirpath-r4-model-'))).toHaveLength(1);
    for (const tables of [built, read]) {
      for (const field of ['choiceTypePaths', 'pathsDefinedElsewhere', 'path2Type', 'path2TypeWithoutElements', 'type2Parent', 'availableTypes'] as const) {
        expect(tables[field], field).toEqual(real[field]);
      }
    }
    expect(read.path2Type['Patient.contact']).toBe('BackboneElement');
  });
});

describe('a validator started with a warm cache', () => {
  it('validates without loading fhirpath.js, with the same issues as the cold start', async () => {
    const dir = tempDir();
    const child = join(dirname(fileURLToPath(import.meta.url)), 'fhirpath-cache-child.ts');
    const run = () =>
      new Promise<{ issues: Array<{ messageId?: string; message: string }>; fhirpathLoaded: boolean }>((resolve, reject) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, FHIRDQ_CACHE_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
        proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
        proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
      });
    const cold = await run();
    expect(cold.fhirpathLoaded).toBe(true);
    expect(cold.issues.map((i) => i.message).join('\n')).toContain('pat-1');
    const warm = await run();
    expect(warm.fhirpathLoaded).toBe(false);
    expect(warm.issues).toEqual(cold.issues);
  }, 60_000);
});
