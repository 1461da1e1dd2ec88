/** CSV reader: csv-parse over an iconv-lite decoded stream; one object per row keyed by the header. */
import { parse, type CsvError } from 'csv-parse';
import iconv from 'iconv-lite';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { FileContentError, type SourceItem } from './stream-record.js';

export interface CsvOptions {
  delimiter?: string;
  /** Any iconv-lite encoding name: utf-8 (default), windows-1252, latin1, ... */
  encoding?: string;
  quote?: string;
}

export async function* readCsv(source: string, file: string, input: Readable, options: CsvOptions = {}): AsyncGenerator<SourceItem> {
  const encoding = options.encoding ?? 'utf-8';
  if (!iconv.encodingExists(encoding)) throw new FileContentError(`${file}: unknown encoding '${encoding}'`);
  // Pushed into the parser's own output so that rejections keep their place among the records.
  const onSkip = (err: CsvError | undefined): undefined => {
    if (err) parser.push({ skip: err });
  };
  const parser = parse({
    delimiter: options.delimiter ?? ',',
    quote: options.quote ?? '"',
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: true,
    skip_records_with_error: true,
    on_skip: onSkip,
  });
  const done = pipeline(input, iconv.decodeStream(encoding), parser);
  done.catch(() => undefined); // surfaced through the parser's iterator
  let header: string[] | undefined;
  let headerLine = 0;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } } | { skip: CsvError }>) {
    if ('skip' in item) {
      const line = Number((item.skip as { lines?: number }).lines ?? 0);
      yield { kind: 'rejected', source, file, line, reason: `malformed CSV: ${item.skip.message}` };
      continue;
    }
    const { record, info } = item;
    const line = info.lines;
    if (!header) {
      header = record.map((h) => h.trim());
      headerLine = line;
      if (header.length < 2 && options.delimiter !== undefined && header[0]?.includes(guessOther(options.delimiter))) {
        throw new FileContentError(
          `${file}:${line}: header has one column '${header[0].slice(0, 60)}': is the delimiter '${options.delimiter}' right?`,
        );
      }
      continue;
    }
    if (record.length !== header.length) {
      yield {
        kind: 'rejected',
        source,
        file,
        line,
        field: record.length > header.length ? `column ${header.length + 1}` : header[record.length],
        reason: `expected ${header.length} columns (header at line ${headerLine}), got ${record.length}`,
      };
      continue;
    }
    const row: Record<string, string> = {};
    let bad: string | undefined;
    for (let i = 0; i < header.length; i++) {
      const v = record[i];
      if (bad === undefined && v.includes('\uFFFD')) bad = header[i];
      row[header[i]] = v;
    }
    if (bad !== undefined) {
      yield { kind: 'rejected', source, file, line, field: bad, reason: `bytes that are not valid ${encoding} (wrong encoding setting?)` };
      continue;
    }
    yield { kind: 'record', source, file, line, record: row };
  }
  await done;
}

function guessOther(delimiter: string): string {
  return delimiter === ';' ? ',' : ';';
}
