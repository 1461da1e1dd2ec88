/**
 * CSV reader: an iconv-lite decoded stream, read line by line; one object per row keyed by the header.
 *
 * Rows are split by hand. csv-parse cannot resume after a broken quote: an opening quote that is never closed makes
 * the rest of the file one value, and its skip_records_with_error keeps the quote open, so every record after it was
 * lost (measured: 4 of 8 rows in a file with one stray quote). Here a quote still open at the end of the file or after
 * MAX_QUOTED_LINES lines, or a quoted value over several lines that leaves its row with the wrong number of columns,
 * rejects the line where the row began, and the lines after it are read again as rows of their own.
 * Quotes inside an unquoted value, and text after a closing quote, are kept as text (as spreadsheets read them).
 */
import iconv from 'iconv-lite';
import { createInterface } from 'node:readline';
import type { Readable, Transform } from 'node:stream';
import { FileContentError, type SourceItem } from './stream-record.js';

export interface CsvOptions {
  delimiter?: string;
  /** Any iconv-lite encoding name: utf-8 (default), windows-1252, latin1, ... */
  encoding?: string;
  quote?: string;
}

/** A quoted value may run over this many lines; beyond it, its opening quote is taken to be a stray one. */
const MAX_QUOTED_LINES = 100;

/** One row's values, built from its lines in turn (a quoted value may hold line breaks). */
class RowSplitter {
  readonly values: string[] = [];
  private value = '';
  private inQuotes = false;
  private atValueStart = true;

  constructor(
    private readonly delimiter: string,
    private readonly quote: string,
  ) {}

  /** Takes the row's next line; says whether the row ends with it (no quoted value left open). */
  feed(text: string): boolean {
    const { delimiter, quote } = this;
    let i = 0;
    while (i < text.length) {
      if (this.inQuotes) {
        const q = text.indexOf(quote, i);
        if (q < 0) {
          this.value += text.slice(i);
          return false;
        }
        this.value += text.slice(i, q);
        i = q + quote.length;
        if (text.startsWith(quote, i)) {
          // A doubled quote is a quote in the value.
          this.value += quote;
          i += quote.length;
          continue;
        }
        this.inQuotes = false;
        // Text after the closing quote: the quotes were part of the value.
        if (i < text.length && !text.startsWith(delimiter, i)) this.value = quote + this.value + quote;
        continue;
      }
      if (this.atValueStart && text.startsWith(quote, i)) {
        this.inQuotes = true;
        this.atValueStart = false;
        i += quote.length;
        continue;
      }
      const d = text.indexOf(delimiter, i);
      if (d < 0) {
        this.value += text.slice(i);
        break;
      }
      this.value += text.slice(i, d);
      this.values.push(this.value);
      this.value = '';
      this.atValueStart = true;
      i = d + delimiter.length;
    }
    if (this.inQuotes) return false;
    this.values.push(this.value);
    return true;
  }

  /** The line break inside a quoted value. */
  lineBreak(): void {
    this.value += '\n';
  }
}

interface Line {
  text: string;
  number: number;
}

type Row = { values: string[]; line: number } | { rejected: string; line: number };

/** The rows of `lines`, each broken quote rejected at the line where its row began and the lines after it read again. */
async function* rowsOf(lines: AsyncIterable<string>, delimiter: string, quote: string, columns: () => number | undefined): AsyncGenerator<Row> {
  const input = lines[Symbol.asyncIterator]();
  let lineNumber = 0;
  // Lines to read again, before the input's next.
  const again: Line[] = [];
  const next = async (): Promise<Line | undefined> => {
    if (again.length > 0) return again.shift();
    const r = await input.next();
    return r.done ? undefined : { text: r.value, number: ++lineNumber };
  };
  for (let first = await next(); first !== undefined; first = await next()) {
    if (first.text === '') continue;
    // Most rows hold no quote: split at once.
    if (!first.text.includes(quote)) {
      yield { values: first.text.split(delimiter), line: first.number };
      continue;
    }
    const splitter = new RowSplitter(delimiter, quote);
    const taken = [first];
    let ended = splitter.feed(first.text);
    let more: Line | undefined;
    while (!ended && taken.length <= MAX_QUOTED_LINES && (more = await next()) !== undefined) {
      splitter.lineBreak();
      taken.push(more);
      ended = splitter.feed(more.text);
    }
    const expected = columns();
    const last = taken[taken.length - 1]!.number;
    let rejected: string | undefined;
    if (!ended) {
      rejected = `a quote opened in this line is not closed ${more === undefined ? 'before the end of the file' : `within ${MAX_QUOTED_LINES} lines`}`;
    } else if (taken.length > 1 && expected !== undefined && splitter.values.length !== expected) {
      rejected = `a quoted value from this line to line ${last} leaves the row with ${splitter.values.length} columns, not ${expected}: a stray quote?`;
    }
    if (rejected === undefined) {
      yield { values: splitter.values, line: first.number };
      continue;
    }
    yield { rejected: `malformed CSV: ${rejected}; the lines after it are read as rows of their own`, line: first.number };
    again.unshift(...taken.slice(1));
  }
}

export async function* readCsv(source: string, file: string, input: Readable, options: CsvOptions = {}): AsyncGenerator<SourceItem> {
  const encoding = options.encoding ?? 'utf-8';
  if (!iconv.encodingExists(encoding)) throw new FileContentError(`${file}: unknown encoding '${encoding}'`);
  const delimiter = options.delimiter ?? ',';
  const quote = options.quote ?? '"';
  // iconv-lite drops a byte order mark; a read error (a truncated gzip) ends the lines with that error.
  const decoded = input.pipe(iconv.decodeStream(encoding) as Transform);
  input.once('error', (err) => decoded.destroy(err));
  const lines = createInterface({ input: decoded, crlfDelay: Infinity });
  let header: string[] | undefined;
  let headerLine = 0;
  for await (const row of rowsOf(lines, delimiter, quote, () => header?.length)) {
    const line = row.line;
    if ('rejected' in row) {
      yield { kind: 'rejected', source, file, line, reason: row.rejected };
      continue;
    }
    const record = row.values;
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
    const byColumn: Record<string, string> = {};
    let bad: string | undefined;
    for (let i = 0; i < header.length; i++) {
      const v = record[i]!;
      if (bad === undefined && v.includes('\uFFFD')) bad = header[i];
      byColumn[header[i]!] = v;
    }
    if (bad !== undefined) {
      yield { kind: 'rejected', source, file, line, field: bad, reason: `bytes that are not valid ${encoding} (wrong encoding setting?)` };
      continue;
    }
    yield { kind: 'record', source, file, line, record: byColumn };
  }
}

function guessOther(delimiter: string): string {
  return delimiter === ';' ? ',' : ';';
}
