/**
 * Where the items of a JSON file's top-level `entry` array are, in bytes and in lines and columns, found in one pass
 * over the file without holding it: for Bundles too big to parse whole. Written by hand: the streaming JSON parsers
 * (stream-json, ...) give tokens or values, not their offsets and positions in the file.
 */
import { open } from 'node:fs/promises';

export interface EntrySpan {
  index: number;
  /** Byte offsets of the item: from its '{' to just after its '}'. */
  start: number;
  end: number;
  /** 1-based position of its '{', columns in UTF-16 code units as a JavaScript string counts them. */
  line: number;
  column: number;
  text: string;
}

export interface EntriesLayout {
  /** Byte offsets of the array's '[' and ']'. */
  open: number;
  close: number;
  openLine: number;
  openColumn: number;
  closeLine: number;
  closeColumn: number;
  size: number;
  entries: number;
}

const CHUNK = 1 << 20;

/** The bytes the scan turns on. */
const [QUOTE, BACKSLASH, COLON, COMMA, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY, NEWLINE] = Array.from('"\\:,{}[]\n', (c) => c.charCodeAt(0));
const ENTRY_KEY = Buffer.from('entry');

/** Where the scan is with respect to the entry array. */
const enum EntryArray {
  Before,
  /** Just after '[': an item or ']'. */
  Opened,
  /** After an item: ',' or ']'. */
  AfterItem,
  /** After ',': an item. */
  AfterComma,
  Closed,
}

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === NEWLINE || b === 0x0d || b === 0x09;
}

/** UTF-16 code units a byte adds to a column: none for continuation bytes, two for the lead of a 4-byte sequence. */
function units(b: number): number {
  if (b < 0x80) return 1;
  if (b < 0xc0) return 0;
  return b >= 0xf0 ? 2 : 1;
}

/** Spans kept for reading the items again: 20 bytes each, outside the JavaScript heap, grown by doubling. */
export class SpanList {
  private starts = new Float64Array(1024);
  private lengths = new Int32Array(1024);
  private lines = new Int32Array(1024);
  private columns = new Int32Array(1024);
  length = 0;

  /** The list from a copy received from another thread (a structured clone keeps the fields, not the class). */
  static revive(copy: SpanList): SpanList {
    return Object.assign(new SpanList(), copy);
  }

  add(span: EntrySpan): void {
    if (this.length === this.starts.length) this.grow();
    const i = this.length++;
    this.starts[i] = span.start;
    this.lengths[i] = span.end - span.start;
    this.lines[i] = span.line;
    this.columns[i] = span.column;
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  end(i: number): number {
    return this.starts[i]! + this.lengths[i]!;
  }

  line(i: number): number {
    return this.lines[i]!;
  }

  column(i: number): number {
    return this.columns[i]!;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const grown = <T extends Float64Array | Int32Array>(from: T, to: T): T => (to.set(from), to);
    this.starts = grown(this.starts, new Float64Array(size));
    this.lengths = grown(this.lengths, new Int32Array(size));
    this.lines = grown(this.lines, new Int32Array(size));
    this.columns = grown(this.columns, new Int32Array(size));
  }
}

/**
 * Calls `onEntry` for each item of the top-level object's `entry` array, in order. Undefined when the file is not
 * laid out so: not an object, no `entry` array or two, an item that is not an object, or a break in the JSON
 * around the items (the caller then reads the file whole, and its parser reports what is wrong).
 */
export async function scanEntries(file: string, onEntry: (span: EntrySpan) => void): Promise<EntriesLayout | undefined> {
  const handle = await open(file, 'r');
  try {
    let offset = 0;
    let line = 1;
    let column = 0;
    let depth = 0;
    let inString = false;
    let escaped = false;
    // The string just closed at depth 1 (a key when a ':' follows), compared with 'entry' as it is read.
    let keyMatches = false;
    let keyLength = 0;
    let lastKeyIsEntry = false;
    let arrayState = EntryArray.Before;
    let layout: EntriesLayout | undefined;
    let itemStart = -1;
    let itemLine = 0;
    let itemColumn = 0;
    let pieces: Buffer[] = [];
    let index = 0;
    let started = false;
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, offset);
      if (bytesRead === 0) break;
      let pieceFrom = itemStart >= 0 ? 0 : -1;
      for (let i = 0; i < bytesRead; i++) {
        const b = chunk[i]!;
        const at = offset + i;
        if (b === NEWLINE) {
          line++;
          column = 0;
        } else column += units(b);
        if (inString) {
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === QUOTE) inString = false;
          else if (depth === 1) {
            keyMatches = keyMatches && keyLength < ENTRY_KEY.length && ENTRY_KEY[keyLength] === b;
            keyLength++;
          }
          if (b === BACKSLASH && depth === 1) keyMatches = false;
          continue;
        }
        if (isWhitespace(b)) continue;
        if (!started) {
          if (b !== OPEN_OBJECT) return undefined;
          started = true;
        }
        if (depth === 2 && arrayState !== EntryArray.Before && arrayState !== EntryArray.Closed) {
          // Between the array's items.
          if (b === CLOSE_ARRAY && arrayState !== EntryArray.AfterComma) {
            depth = 1;
            arrayState = EntryArray.Closed;
            layout!.close = at;
            layout!.closeLine = line;
            layout!.closeColumn = column;
            continue;
          }
          if (b === COMMA && arrayState === EntryArray.AfterItem) {
            arrayState = EntryArray.AfterComma;
            continue;
          }
          if (b !== OPEN_OBJECT || arrayState === EntryArray.AfterItem) return undefined;
          itemStart = at;
          itemLine = line;
          itemColumn = column;
          pieceFrom = i;
          depth = 3;
          continue;
        }
        switch (b) {
          case QUOTE:
            inString = true;
            if (depth === 1) {
              keyMatches = true;
              keyLength = 0;
            }
            break;
          case COLON:
            if (depth === 1) lastKeyIsEntry = keyMatches && keyLength === ENTRY_KEY.length;
            break;
          case OPEN_OBJECT:
            depth++;
            break;
          case OPEN_ARRAY:
            depth++;
            if (depth === 2 && lastKeyIsEntry) {
              if (arrayState !== EntryArray.Before) return undefined;
              arrayState = EntryArray.Opened;
              layout = { open: at, close: -1, openLine: line, openColumn: column, closeLine: 0, closeColumn: 0, size: 0, entries: 0 };
            }
            break;
          case CLOSE_OBJECT:
          case CLOSE_ARRAY:
            depth--;
            if (depth < 0) return undefined;
            if (depth === 2 && itemStart >= 0) {
              if (b !== CLOSE_OBJECT) return undefined;
              pieces.push(chunk.subarray(pieceFrom, i + 1));
              const text = pieces.length === 1 ? pieces[0]!.toString('utf8') : Buffer.concat(pieces).toString('utf8');
              onEntry({ index: index++, start: itemStart, end: at + 1, line: itemLine, column: itemColumn, text });
              pieces = [];
              itemStart = -1;
              pieceFrom = -1;
              arrayState = EntryArray.AfterItem;
            }
            break;
          case COMMA:
            if (depth === 1) lastKeyIsEntry = false;
            break;
        }
      }
      if (itemStart >= 0) pieces.push(chunk.subarray(pieceFrom, bytesRead));
      offset += bytesRead;
    }
    if (!layout || arrayState !== EntryArray.Closed || depth !== 0 || inString) return undefined;
    layout.size = offset;
    layout.entries = index;
    return layout;
  } finally {
    await handle.close();
  }
}
