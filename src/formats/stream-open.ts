/** Opening inputs: gzip by magic bytes, content sniffing, and expanding files, folders and globs. */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FileContentError, type SourceFormat } from './stream-record.js';

const SNIFF_BYTES = 4096;

export interface OpenedInput {
  /** Decompressed bytes, starting with `head`. */
  stream: Readable;
  /** The first decompressed bytes (up to 4 KiB), for sniffing. */
  head: Buffer;
  gzipped: boolean;
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Opens a file, gunzipping when its first bytes say gzip, whatever its name. */
export async function openInput(file: string): Promise<OpenedInput> {
  const gzipped = await isGzip(file);
  const raw = createReadStream(file, { highWaterMark: 256 * 1024 });
  const body: Readable = gzipped ? raw.pipe(createGunzip()) : raw;
  if (gzipped) raw.on('error', (err) => body.destroy(err));
  const it = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < SNIFF_BYTES) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(next.value as Buffer);
    size += (next.value as Buffer).length;
  }
  const first = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    if (ended) return;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  return { stream: Readable.from(all(), { objectMode: false }), head: first.subarray(0, SNIFF_BYTES), gzipped };
}

function firstSignificantChar(head: Buffer): string {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  for (; i < head.length; i++) {
    const c = head[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return String.fromCharCode(c);
  }
  return '';
}

function describe(head: Buffer): string {
  if (head[0] === 0x50 && head[1] === 0x4b) return 'a ZIP archive';
  if (head.includes(0)) return 'binary data';
  const c = firstSignificantChar(head);
  if (c === '<') return 'XML';
  if (c === '{' || c === '[') return 'JSON';
  return 'text';
}

/** Throws a FileContentError when the content is plainly not of the expected format. */
export function checkContent(file: string, format: SourceFormat, head: Buffer): void {
  if (head.length === 0) return;
  const what = describe(head);
  const c = firstSignificantChar(head);
  const ok =
    what !== 'binary data' &&
    what !== 'a ZIP archive' &&
    (format === 'csv'
      ? what === 'text'
      : format === 'ndjson'
        ? c === '{'
        : format === 'json'
          ? c === '{' || c === '['
          : c === '<');
  if (!ok) throw new FileContentError(`${file}: expected ${format.toUpperCase()} but the content looks like ${what}`);
}

const EXTENSIONS: Record<string, SourceFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'json',
  '.xml': 'xml',
};

/** Format by extension, looking through a trailing `.gz`. */
export function formatOf(file: string): SourceFormat | undefined {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  return EXTENSIONS[path.extname(name)];
}

const GLOB_CHARS = /[*?[{]/;

// Node 20 has no stable fs.glob / path.matchesGlob: a small translator for *, **, ?, [..] and {a,b}.
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += '(?:' + glob.slice(i + 1, end).split(',').map(escapeRe).join('|') + ')';
        i = end;
      }
    } else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += '[' + glob.slice(i + 1, end).replace(/^!/, '^') + ']';
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp('^' + re + '$');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await walk(full, out);
    else if (e.isFile()) out.push(full);
  }
}

/** Why an input of a source gave no file. */
export const noSuchInput = (input: string) => `${input}: no such file, or the pattern matches nothing`;

export interface ExpandedInputs {
  files: string[];
  /** Inputs that matched nothing or do not exist. */
  missing: string[];
}

/** Expands files, folders (recursively, hidden files skipped) and globs, relative to `baseDir`, in sorted order. */
export async function expandInputs(inputs: readonly string[], baseDir = process.cwd()): Promise<ExpandedInputs> {
  const files: string[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  const add = (f: string) => {
    if (!seen.has(f)) {
      seen.add(f);
      files.push(f);
    }
  };
  for (const input of inputs) {
    const abs = path.resolve(baseDir, input);
    if (GLOB_CHARS.test(input)) {
      const parts = abs.split(path.sep);
      const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
      const root = parts.slice(0, firstGlob).join(path.sep) || path.sep;
      const re = globToRegExp(parts.slice(firstGlob).join('/'));
      const found: string[] = [];
      try {
        await walk(root, found);
      } catch {
        // root missing: reported below as matching nothing
      }
      const matched = found.filter((f) => re.test(path.relative(root, f).split(path.sep).join('/')));
      if (matched.length === 0) missing.push(input);
      matched.forEach(add);
      continue;
    }
    const st = await stat(abs).catch(() => undefined);
    if (!st) missing.push(input);
    else if (st.isDirectory()) {
      const found: string[] = [];
      await walk(abs, found);
      found.forEach(add);
    } else add(abs);
  }
  return { files, missing };
}
