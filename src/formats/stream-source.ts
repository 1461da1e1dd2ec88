/** One configured source → an async iterator of SourceItems over all its files, one file at a time. */
import { checkContent, expandInputs, formatOf, openInput } from './stream-open.js';
import { readCsv, type CsvOptions } from './stream-csv.js';
import { readJson } from './stream-json.js';
import { readNdjson } from './stream-ndjson.js';
import { readXml } from './stream-xml.js';
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
  for (const m of missing) yield { kind: 'file-error', source: spec.name, file: m, reason: `${m}: no such file, or the pattern matches nothing` };
  for (const file of files) {
    const format = spec.format ?? formatOf(file);
    if (!format) {
      yield { kind: 'file-error', source: spec.name, file, reason: `${file}: unknown file type (expected .csv, .ndjson, .jsonl, .json or .xml, optionally .gz)` };
      continue;
    }
    try {
      const opened = await openInput(file);
      checkContent(file, format, opened.head);
      switch (format) {
        case 'csv':
          yield* readCsv(spec.name, file, opened.stream, spec.csv);
          break;
        case 'ndjson':
          yield* readNdjson(spec.name, file, opened.stream);
          break;
        case 'json':
          yield* readJson(spec.name, file, opened.stream);
          break;
        case 'xml':
          yield* readXml(spec.name, file, opened.stream, spec.maxXmlBytes);
          break;
      }
    } catch (err) {
      const reason = err instanceof FileContentError ? err.message : `${file}: cannot read: ${(err as Error).message}`;
      yield { kind: 'file-error', source: spec.name, file, reason };
    }
  }
}
