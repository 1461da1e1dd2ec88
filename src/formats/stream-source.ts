/** One configured source → an async iterator of SourceItems over all its files, one file at a time. */
import { checkContent, expandInputs, formatOf, noSuchInput, openInput } from './stream-open.js';
import { readCsv, type CsvOptions } from './stream-csv.js';
import { readJson } from './stream-json.js';
import { readNdjson } from './stream-ndjson.js';
import { readXml } from './stream-xml.js';
import type { Readable } from 'node:stream';
import { FileContentError, type SourceFormat, type SourceItem } from './stream-record.js';

export interface SourceSpec {
  name: string;
  /** Files, folders and globs, relative to `baseDir`. */
  inputs: string[];
  /** Forced format; by default each file's extension decides (a trailing .gz is looked through). */
  format?: SourceFormat;
  csv?: CsvOptions;
  /** Size cap for whole-file XML parsing, in bytes of decompressed XML. */
  maxXmlBytes?: number;
}

export async function* readSource(spec: SourceSpec, baseDir = process.cwd()): AsyncGenerator<SourceItem> {
  const { files, missing } = await expandInputs(spec.inputs, baseDir);
  for (const m of missing) yield { kind: 'file-error', source: spec.name, file: m, reason: noSuchInput(m) };
  for (const file of files) {
    const format = spec.format ?? formatOf(file);
    if (!format) {
      yield { kind: 'file-error', source: spec.name, file, reason: `${file}: unknown file type (expected .csv, .ndjson, .jsonl, .json or .xml, optionally .gz)` };
      continue;
    }
    let line = 0;
    let records = 0;
    try {
      const opened = await openInput(file);
      if (opened.head.length === 0) {
        yield { kind: 'file-error', source: spec.name, file, reason: `${file}: the file is empty (0 bytes${opened.gzipped ? ' after gunzip' : ''}): a failed export?` };
        continue;
      }
      checkContent(file, format, opened.head);
      for await (const item of reader(spec, file, format, opened.stream)) {
        records++;
        if (item.kind !== 'file-error' && item.line > 0) line = item.line;
        yield item;
      }
    } catch (err) {
      const reason = err instanceof FileContentError ? err.message : `${file}${line ? `:${line + 1}` : ''}: ${readError(err as NodeJS.ErrnoException)}`;
      // After records came through, the rest of the file is one lost record as far as counting goes.
      if (records > 0 && !(err instanceof FileContentError)) yield { kind: 'rejected', source: spec.name, file, line: line + 1, reason };
      else yield { kind: 'file-error', source: spec.name, file, reason };
    }
  }
}

function reader(spec: SourceSpec, file: string, format: SourceFormat, stream: Readable): AsyncGenerator<SourceItem> {
  switch (format) {
    case 'csv':
      return readCsv(spec.name, file, stream, spec.csv);
    case 'ndjson':
      return readNdjson(spec.name, file, stream);
    case 'json':
      return readJson(spec.name, file, stream, () => wholeText(file, LOCATE_JSON_ERRORS_UP_TO));
    case 'xml':
      return readXml(spec.name, file, stream, spec.maxXmlBytes);
  }
}

/** A JSON file that does not parse is read again whole to place the error, up to this size (decompressed). */
const LOCATE_JSON_ERRORS_UP_TO = 64 * 1024 * 1024;

/** A file's decompressed text, or undefined when it is longer than `max` bytes. */
async function wholeText(file: string, max: number): Promise<string | undefined> {
  const { stream } = await openInput(file);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function readError(err: NodeJS.ErrnoException): string {
  if (err.code === 'Z_BUF_ERROR' || err.code === 'Z_DATA_ERROR') return `gzip data is truncated or corrupt (${err.message}): the rest of the file cannot be read`;
  return `cannot read: ${err.message}`;
}
