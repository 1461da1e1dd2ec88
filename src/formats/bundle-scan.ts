/**
 * Where the entries of a Bundle file are (the items of a JSON file's top-level `entry` array, or the `entry` children
 * of an XML Bundle), in bytes and in lines and columns, found in one pass over the file without holding it: for
 * Bundles too big to parse whole. Written by hand: the streaming parsers (stream-json, saxes, ...) give tokens or
 * values, not their offsets in the file.
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EntrySpan {
  index: number;
  /** Byte offsets of the entry: from its first byte ('{', '<') to just after its last. */
  start: number;
  end: number;
  /** 1-based position of its first byte, columns in UTF-16 code units as a JavaScript string counts them. */
  line: number;
  column: number;
  text: string;
  /**
   * The entry's fullUrl as the reader would give it (undefined: none, or not a string), when the scan could tell;
   * `fullUrlRead` false when it could not (escapes, prefixes, entities): the caller then reads the entry.
   */
  fullUrl: string | undefined;
  fullUrlRead: boolean;
}

/** What the scan read of an entry's fullUrl (see EntrySpan). */
interface FullUrlRead {
  fullUrl: string | undefined;
  fullUrlRead: boolean;
}

const FULL_URL_UNREAD: FullUrlRead = { fullUrl: undefined, fullUrlRead: false };

/** A place in the file: byte offset, and 1-based line and column. */
export interface Mark {
  offset: number;
  line: number;
  column: number;
}

export interface EntriesLayout {
  /** The bytes from `cutFrom` up to `cutTo` hold the entries: the rest of the file is the Bundle's own text. */
  cutFrom: Mark;
  cutTo: Mark;
  size: number;
  entries: number;
  /** An entry's text goes between these to be read as a Bundle of that one entry. */
  wrap: Wrap;
}

/** What an entry's text is put between to be read as a Bundle of that one entry. */
export interface Wrap {
  open: string;
  close: string;
}

/** Told each entry, and the wrap it is read in. */
export type OnEntry = (span: EntrySpan, wrap: Wrap) => void;

/** Bytes read at a time. */
const CHUNK = 1 << 20;

/**
 * The last scan's read buffer, kept for the next. Freeing a block this big (which glibc maps on its own) raises glibc's
 * threshold for mapping blocks, and the blocks under it then fragment its heap: a new buffer per read cost a 1 GB
 * Bundle 35 MB more RSS by the time its entries were validated.
 */
let spareChunk: Buffer | undefined;

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

/** A span in the spans file: start (a double), length, line and column (32-bit integers), little-endian. */
const SPAN_BYTES = 20;
/** Spans written, or read ahead, at a time: 64 KB of them, under glibc's threshold for mapping a block (see spareChunk). */
const SPANS_AT_A_TIME = Math.floor((1 << 16) / SPAN_BYTES);

/**
 * A temporary file for what a big Bundle's index keeps on disk. Where the system allows (not Windows), it is unlinked
 * as soon as it is open, so nothing is left behind if the process dies; otherwise `path` is set, to unlink on close.
 * Worker threads read it through the same descriptor (threads share them).
 */
export interface ScratchFile {
  fd: number;
  path: string | undefined;
}

export function openScratchFile(name: string): ScratchFile {
  const path = join(tmpdir(), `fhirdq-${name}-${process.pid}-${randomUUID()}`);
  const fd = openSync(path, 'wx+', 0o600);
  try {
    unlinkSync(path);
    return { fd, path: undefined };
  } catch {
    return { fd, path };
  }
}

export function closeScratchFile({ fd, path }: ScratchFile): void {
  closeSync(fd);
  if (path) unlinkSync(path);
}

/** Writes all of `bytes` at `position`. */
export function writeAllSync(fd: number, bytes: Uint8Array, position: number): void {
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

/**
 * Spans kept for reading the items again, in a scratch file of 20 bytes a span, not in memory: memory stays the same
 * whatever the number of entries (in memory, a 1 GB Bundle's spans took 32 MB). Only the list that made the file
 * closes it; copies in worker threads read it through the same descriptor.
 */
export class SpanList {
  length = 0;
  /** Spans from `windowFrom` on: while adding, those not written yet; once done, those read last. */
  private window = Buffer.allocUnsafe(SPANS_AT_A_TIME * SPAN_BYTES);
  private windowFrom = 0;
  private windowCount = 0;
  private adding = true;
  private closed = false;

  private constructor(
    private readonly file: ScratchFile,
    private readonly owner: boolean,
  ) {}

  static create(): SpanList {
    return new SpanList(openScratchFile('spans'), true);
  }

  /** The list from a copy received from another thread (a structured clone keeps the fields, not the class). */
  static revive(copy: SpanList): SpanList {
    const list = new SpanList(copy.file, false);
    list.length = copy.length;
    list.adding = false;
    return list;
  }

  add(span: EntrySpan): void {
    if (this.windowCount === SPANS_AT_A_TIME) this.flush();
    const at = this.windowCount++ * SPAN_BYTES;
    this.window.writeDoubleLE(span.start, at);
    this.window.writeInt32LE(span.end - span.start, at + 8);
    this.window.writeInt32LE(span.line, at + 12);
    this.window.writeInt32LE(span.column, at + 16);
    this.length++;
  }

  /** No more spans are added: the rest are written, and the list can be read. */
  done(): void {
    this.flush();
    this.adding = false;
  }

  start(i: number): number {
    return this.window.readDoubleLE(this.at(i));
  }

  end(i: number): number {
    const at = this.at(i);
    return this.window.readDoubleLE(at) + this.window.readInt32LE(at + 8);
  }

  line(i: number): number {
    return this.window.readInt32LE(this.at(i) + 12);
  }

  column(i: number): number {
    return this.window.readInt32LE(this.at(i) + 16);
  }

  /** Closes the file (the list that made it; copies in other threads leave it open). */
  close(): void {
    if (!this.owner || this.closed) return;
    this.closed = true;
    closeScratchFile(this.file);
  }

  /** Span `i`'s place in the window, read with the spans after it when it is not there: items are read in runs. */
  private at(i: number): number {
    if (this.adding) throw new Error('spans are read before they are all added');
    if (i < this.windowFrom || i >= this.windowFrom + this.windowCount) {
      if (i < 0 || i >= this.length) throw new RangeError(`no span ${i} of ${this.length}`);
      this.windowFrom = i;
      this.windowCount = Math.min(SPANS_AT_A_TIME, this.length - i);
      readSync(this.file.fd, this.window, 0, this.windowCount * SPAN_BYTES, i * SPAN_BYTES);
    }
    return (i - this.windowFrom) * SPAN_BYTES;
  }

  private flush(): void {
    writeAllSync(this.file.fd, this.window.subarray(0, this.windowCount * SPAN_BYTES), this.windowFrom * SPAN_BYTES);
    this.windowFrom += this.windowCount;
    this.windowCount = 0;
  }
}

/**
 * One pass over a file's bytes, a format's reading of them (`step`) deciding where entries start and end; the driver
 * keeps the line and column and collects each entry's bytes across the reads.
 */
abstract class EntryScan {
  protected line = 1;
  protected column = 0;
  private index = 0;
  private capturing = false;
  /** File offset of the first byte of what is being collected (see startCapture). */
  protected captureStart = 0;
  private captureLine = 0;
  private captureColumn = 0;
  private pieces: Buffer[] = [];
  private chunk: Buffer = Buffer.alloc(0);
  /** Set by a step: the bytes after the current one are a string's body (see skipStringBody). */
  private inStringBody = false;
  /** The byte being read: its index in the chunk and its offset in the file. */
  private i = 0;
  private offset = 0;
  private pieceFrom = 0;
  private onEntry: OnEntry = () => {};

  /** Reads byte `b`; false when the file is not laid out as a Bundle of entries. */
  protected abstract step(b: number): boolean;

  /** The cut around the entries once every byte is read, or undefined when there is none. */
  protected abstract cut(): { cutFrom: Mark; cutTo: Mark } | undefined;

  /** The wrap of the entries (known from the first entry on). */
  protected abstract wrap(): Wrap;

  /** The fullUrl of the entry just collected, from its bytes (which start at file offset captureStart). */
  protected abstract entryFullUrl(bytes: Buffer): FullUrlRead;

  async run(file: string, onEntry: OnEntry): Promise<EntriesLayout | undefined> {
    this.onEntry = onEntry;
    const handle = await open(file, 'r');
    const chunk = spareChunk ?? Buffer.allocUnsafe(CHUNK);
    spareChunk = undefined;
    try {
      let offset = 0;
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, CHUNK, offset);
        if (bytesRead === 0) break;
        this.chunk = chunk;
        this.pieceFrom = 0;
        // Lines and columns in locals: the bytes of a string's body only move them (see skipStringBody).
        let line = this.line;
        let column = this.column;
        for (let i = 0; i < bytesRead; i++) {
          const b = chunk[i]!;
          if (b === NEWLINE) {
            line++;
            column = 0;
          } else column += units(b);
          this.line = line;
          this.column = column;
          this.i = i;
          this.offset = offset + i;
          if (!this.step(b)) return undefined;
          if (!this.inStringBody) continue;
          this.inStringBody = false;
          let k = i + 1;
          for (; k < bytesRead; k++) {
            const c = chunk[k]!;
            if (c === QUOTE || c === BACKSLASH) break;
            if (c === NEWLINE) {
              line++;
              column = 0;
            } else column += units(c);
          }
          i = k - 1;
        }
        this.line = line;
        this.column = column;
        // The buffer is read into again: what an entry has in it so far is copied out.
        if (this.capturing) this.pieces.push(Buffer.from(chunk.subarray(this.pieceFrom, bytesRead)));
        offset += bytesRead;
      }
      const cut = this.capturing ? undefined : this.cut();
      return cut && { ...cut, size: offset, entries: this.index, wrap: this.wrap() };
    } finally {
      spareChunk = chunk;
      await handle.close();
    }
  }

  /**
   * The bytes after the current one up to the next quote or backslash are inside a JSON string and change nothing:
   * they are counted for lines and columns, not stepped through.
   */
  protected skipStringBody(): void {
    this.inStringBody = true;
  }

  /** The current byte's offset in the file. */
  protected offsetNow(): number {
    return this.offset;
  }

  /** The current byte's place in the file. */
  protected mark(): Mark {
    return { offset: this.offset, line: this.line, column: this.column };
  }

  /** Starts collecting bytes at the current one: an entry, or (for XML) a child that may turn out to be one. */
  protected startCapture(): void {
    this.capturing = true;
    this.captureStart = this.offset;
    this.captureLine = this.line;
    this.captureColumn = this.column;
    this.pieceFrom = this.i;
  }

  /** The bytes collected were not an entry after all. */
  protected dropCapture(): void {
    this.capturing = false;
    this.pieces = [];
  }

  /** The entry being collected ends with the current byte. */
  protected endEntry(): void {
    this.pieces.push(this.chunk.subarray(this.pieceFrom, this.i + 1));
    const bytes = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces);
    const { fullUrl, fullUrlRead } = this.entryFullUrl(bytes);
    const span = { index: this.index++, start: this.captureStart, end: this.offset + 1, line: this.captureLine, column: this.captureColumn, text: bytes.toString('utf8'), fullUrl, fullUrlRead };
    this.onEntry(span, this.wrap());
    this.capturing = false;
    this.pieces = [];
  }
}

const JSON_WRAP: Wrap = { open: '{"resourceType":"Bundle","entry":[', close: ']}' };
const FULL_URL_KEY = Buffer.from('fullUrl');

/** Which string a JSON scan is in at an entry's top level. */
const enum EntryString {
  Key,
  FullUrl,
  Other,
}

/** The items of the top-level object's `entry` array. */
class JsonEntryScan extends EntryScan {
  private depth = 0;
  private inString = false;
  private escaped = false;
  // The string just closed at depth 1 (a key when a ':' follows), compared with 'entry' as it is read.
  private keyMatches = false;
  private keyLength = 0;
  private lastKeyIsEntry = false;
  private arrayState = EntryArray.Before;
  private started = false;
  private cutFrom: Mark | undefined;
  private cutTo: Mark | undefined;
  // An entry's top level (depth 3): which string is being read, whether a key comes next, and the last key compared
  // with 'fullUrl' as it is read. Its fullUrl is where the last string value of that key is (JSON.parse keeps the last).
  private entryString = EntryString.Other;
  private entryKeyNext = false;
  private fullUrlKeyMatches = false;
  private fullUrlKeyLength = 0;
  private fullUrlValueNext = false;
  private fullUrlStart = -1;
  private fullUrlEnd = -1;
  private fullUrlEscaped = false;
  /** A key with an escape may spell fullUrl: then only the reader can tell. */
  private entryKeyEscaped = false;

  protected step(b: number): boolean {
    if (this.inString) {
      if (this.escaped) {
        this.escaped = false;
        if (this.skipsBody()) this.skipStringBody();
      } else if (b === BACKSLASH) {
        this.escaped = true;
        if (this.depth === 1) this.keyMatches = false;
        else if (this.depth === 3) {
          if (this.entryString === EntryString.Key) this.entryKeyEscaped = true;
          else if (this.entryString === EntryString.FullUrl) this.fullUrlEscaped = true;
        }
      } else if (b === QUOTE) {
        this.inString = false;
        if (this.depth === 3 && this.entryString === EntryString.FullUrl) this.fullUrlEnd = this.offsetNow() + 1;
      } else if (this.depth === 1) {
        this.keyMatches = this.keyMatches && this.keyLength < ENTRY_KEY.length && ENTRY_KEY[this.keyLength] === b;
        this.keyLength++;
      } else if (this.depth === 3 && this.entryString === EntryString.Key) {
        this.fullUrlKeyMatches = this.fullUrlKeyMatches && this.fullUrlKeyLength < FULL_URL_KEY.length && FULL_URL_KEY[this.fullUrlKeyLength] === b;
        this.fullUrlKeyLength++;
      }
      return true;
    }
    if (isWhitespace(b)) return true;
    if (!this.started) {
      if (b !== OPEN_OBJECT) return false;
      this.started = true;
    }
    const state = this.arrayState;
    if (this.depth === 2 && state !== EntryArray.Before && state !== EntryArray.Closed) {
      // Between the array's items.
      if (b === CLOSE_ARRAY && state !== EntryArray.AfterComma) {
        this.depth = 1;
        this.arrayState = EntryArray.Closed;
        this.cutTo = this.mark();
        return true;
      }
      if (b === COMMA && state === EntryArray.AfterItem) {
        this.arrayState = EntryArray.AfterComma;
        return true;
      }
      if (b !== OPEN_OBJECT || state === EntryArray.AfterItem) return false;
      this.startCapture();
      this.depth = 3;
      this.entryKeyNext = true;
      this.fullUrlValueNext = false;
      this.fullUrlStart = -1;
      this.entryKeyEscaped = false;
      return true;
    }
    // A value of the fullUrl key that is not a string: the entry has no fullUrl (unless a later one says otherwise).
    if (this.fullUrlValueNext && b !== QUOTE && this.depth === 3) {
      this.fullUrlValueNext = false;
      this.fullUrlStart = -1;
    }
    switch (b) {
      case QUOTE:
        this.inString = true;
        if (this.depth === 1) {
          this.keyMatches = true;
          this.keyLength = 0;
        } else if (this.depth === 3) this.entryStringStarts();
        if (this.skipsBody()) this.skipStringBody();
        break;
      case COLON:
        if (this.depth === 1) this.lastKeyIsEntry = this.keyMatches && this.keyLength === ENTRY_KEY.length;
        else if (this.depth === 3) {
          this.entryKeyNext = false;
          this.fullUrlValueNext = this.fullUrlKeyMatches && this.fullUrlKeyLength === FULL_URL_KEY.length;
        }
        break;
      case OPEN_OBJECT:
        this.depth++;
        break;
      case OPEN_ARRAY:
        this.depth++;
        if (this.depth === 2 && this.lastKeyIsEntry) {
          if (state !== EntryArray.Before) return false;
          this.arrayState = EntryArray.Opened;
          // The entries start after the '['.
          const at = this.mark();
          this.cutFrom = { offset: at.offset + 1, line: at.line, column: at.column + 1 };
        }
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        if (--this.depth < 0) return false;
        if (this.depth === 2 && state !== EntryArray.Before && state !== EntryArray.Closed) {
          if (b !== CLOSE_OBJECT) return false;
          this.endEntry();
          this.arrayState = EntryArray.AfterItem;
        }
        break;
      case COMMA:
        if (this.depth === 1) this.lastKeyIsEntry = false;
        else if (this.depth === 3) this.entryKeyNext = true;
        break;
    }
    return true;
  }

  /** Whether the string being read is one whose bytes are not compared (the top level's keys and entries' are). */
  private skipsBody(): boolean {
    return this.depth !== 1 && !(this.depth === 3 && this.entryString === EntryString.Key);
  }

  /** A string starts at an entry's top level: a key, the fullUrl's value, or another value. */
  private entryStringStarts(): void {
    if (this.entryKeyNext) {
      this.entryString = EntryString.Key;
      this.fullUrlKeyMatches = true;
      this.fullUrlKeyLength = 0;
    } else if (this.fullUrlValueNext) {
      this.entryString = EntryString.FullUrl;
      this.fullUrlValueNext = false;
      this.fullUrlStart = this.offsetNow();
      this.fullUrlEscaped = false;
    } else this.entryString = EntryString.Other;
  }

  protected entryFullUrl(bytes: Buffer): FullUrlRead {
    if (this.entryKeyEscaped) return FULL_URL_UNREAD;
    if (this.fullUrlStart < 0) return { fullUrl: undefined, fullUrlRead: true };
    const quoted = bytes.toString('utf8', this.fullUrlStart - this.captureStart, this.fullUrlEnd - this.captureStart);
    if (!this.fullUrlEscaped) return { fullUrl: quoted.slice(1, -1), fullUrlRead: true };
    try {
      return { fullUrl: JSON.parse(quoted) as string, fullUrlRead: true };
    } catch {
      return FULL_URL_UNREAD;
    }
  }

  protected cut(): { cutFrom: Mark; cutTo: Mark } | undefined {
    if (!this.cutFrom || !this.cutTo || this.depth !== 0 || this.inString) return undefined;
    return { cutFrom: this.cutFrom, cutTo: this.cutTo };
  }

  protected wrap(): Wrap {
    return JSON_WRAP;
  }
}

/** Where an XML scan is: in text, or in which kind of markup. */
const enum Xml {
  Text,
  /** Just after '<'. */
  TagOpen,
  StartName,
  InStartTag,
  InQuote,
  EndTag,
  /** After '<!': a comment, CDATA, or a declaration (declined). */
  Bang,
  Comment,
  CData,
  Instruction,
}

const [LT, GT, SLASH, BANG, QUESTION, DASH, CLOSE_SQUARE, APOSTROPHE] = Array.from('<>/!?-]\'', (c) => c.charCodeAt(0));
const XML_ENTRY = 'entry';
/** Longer than any name the scan compares: the rest is not kept. */
const NAME_LIMIT = 16;
/** A root start tag longer than this is not a FHIR Bundle's. */
const ROOT_TAG_LIMIT = 1 << 16;

/** The `entry` children of an XML Bundle root, which must follow each other (only whitespace and comments between). */
class XmlEntryScan extends EntryScan {
  private state = Xml.Text;
  private depth = 0;
  private quote = 0;
  private lastSlash = false;
  private name = '';
  /** Bytes of '<!' markup so far, or of the end of a comment, CDATA or instruction. */
  private recent = '';
  private rootTag: number[] | undefined;
  private wrapOpen = '';
  private tagMark: Mark | undefined;
  private inEntry = false;
  // The entry's fullUrl children (by their start tags' offsets), and whether a child's name was one the scan cannot judge.
  private fullUrlTags = 0;
  private fullUrlTagStart = -1;
  private fullUrlTagEnd = -1;
  private inFullUrlTag = false;
  private prefixedChild = false;
  private entriesStarted = false;
  private entriesEnded = false;
  private cutFrom: Mark | undefined;
  private cutTo: Mark | undefined;

  /** Between the first entry and the last one seen, where only entries, whitespace and comments may be. */
  private inEntryRun(): boolean {
    return this.entriesStarted && !this.entriesEnded && this.depth === 1 && !this.inEntry;
  }

  protected step(b: number): boolean {
    if (this.rootTag !== undefined && this.depth === 0) {
      if (this.rootTag.length > ROOT_TAG_LIMIT) return false;
      this.rootTag.push(b);
    }
    switch (this.state) {
      case Xml.Text:
        if (b === LT) {
          this.state = Xml.TagOpen;
          this.tagMark = this.mark();
          if (this.depth === 0 && this.wrapOpen === '') this.rootTag = [b];
          // A child of the root may be an entry: its bytes are collected until its name says.
          if (this.depth === 1 && !this.inEntry) this.startCapture();
        } else if (!isWhitespace(b) && (this.depth === 0 || this.inEntryRun())) return false;
        return true;
      case Xml.TagOpen:
        if (b === SLASH) this.state = Xml.EndTag;
        else if (b === BANG) {
          this.state = Xml.Bang;
          this.recent = '';
        } else if (b === QUESTION) {
          if (this.inEntryRun()) return false;
          this.state = Xml.Instruction;
          this.recent = '';
        } else {
          this.state = Xml.StartName;
          this.name = String.fromCharCode(b);
          this.lastSlash = false;
          return true;
        }
        if (this.depth === 1 && !this.inEntry) this.dropCapture();
        if (this.depth === 0) this.rootTag = undefined;
        return true;
      case Xml.StartName:
        if (!isWhitespace(b) && b !== SLASH && b !== GT) {
          if (this.name.length < NAME_LIMIT) this.name += String.fromCharCode(b);
          return true;
        }
        if (!this.startTagNamed()) return false;
        this.state = Xml.InStartTag;
        return this.inStartTag(b);
      case Xml.InStartTag:
        return this.inStartTag(b);
      case Xml.InQuote:
        if (b === this.quote) this.state = Xml.InStartTag;
        return true;
      case Xml.EndTag:
        if (b === GT) {
          this.state = Xml.Text;
          if (--this.depth === 1 && this.inEntry) this.entryDone();
          if (this.depth < 0) return false;
        }
        return true;
      case Xml.Bang:
        this.recent += String.fromCharCode(b);
        if (this.recent === '--') this.state = Xml.Comment;
        else if (this.recent === '[CDATA[') {
          if (this.inEntryRun()) return false;
          this.state = Xml.CData;
        } else if (!'--'.startsWith(this.recent) && !'[CDATA['.startsWith(this.recent)) return false;
        if (this.state !== Xml.Bang) this.recent = '';
        return true;
      case Xml.Comment:
        return this.until(b, '-->');
      case Xml.CData:
        return this.until(b, ']]>');
      case Xml.Instruction:
        return this.until(b, '?>');
    }
  }

  /** Inside a comment, CDATA or instruction: back to text after `end`. */
  private until(b: number, end: string): boolean {
    if (b !== DASH && b !== CLOSE_SQUARE && b !== QUESTION && b !== GT) {
      this.recent = '';
      return true;
    }
    this.recent = (this.recent + String.fromCharCode(b)).slice(-end.length);
    if (this.recent === end) this.state = Xml.Text;
    return true;
  }

  /** A start tag's name is read: the root must be an unprefixed Bundle; a child of it may be an entry. */
  private startTagNamed(): boolean {
    if (this.depth === 0) return this.name === 'Bundle' && this.wrapOpen === '';
    if (this.depth === 2 && this.inEntry) {
      if (this.name.includes(':')) this.prefixedChild = true;
      else if (this.name === 'fullUrl') {
        this.fullUrlTags++;
        this.fullUrlTagStart = this.tagMark!.offset;
        this.inFullUrlTag = true;
      }
    }
    if (this.depth !== 1 || this.inEntry) return true;
    if (this.name !== XML_ENTRY) {
      this.dropCapture();
      if (this.entriesStarted) this.entriesEnded = true;
      return true;
    }
    if (this.entriesEnded) return false;
    if (!this.entriesStarted) {
      this.entriesStarted = true;
      this.cutFrom = this.tagMark;
    }
    this.inEntry = true;
    this.fullUrlTags = 0;
    this.prefixedChild = false;
    return true;
  }

  private inStartTag(b: number): boolean {
    if (b === QUOTE || b === APOSTROPHE) {
      this.quote = b;
      this.state = Xml.InQuote;
    } else if (b === GT) {
      this.state = Xml.Text;
      if (this.inFullUrlTag) {
        this.fullUrlTagEnd = this.offsetNow() + 1;
        this.inFullUrlTag = false;
      }
      if (this.depth === 0) {
        // The root's start tag, on one line (whitespace in a tag and in attribute values reads as a space).
        this.wrapOpen = Buffer.from(this.rootTag!).toString('utf8').replace(/[\r\n\t]/g, ' ');
        this.rootTag = undefined;
      }
      if (!this.lastSlash) this.depth++;
      else if (this.depth === 1 && this.inEntry) this.entryDone();
    } else if (!isWhitespace(b)) this.lastSlash = b === SLASH;
    return true;
  }

  private entryDone(): void {
    this.endEntry();
    this.inEntry = false;
    const at = this.mark();
    this.cutTo = { offset: at.offset + 1, line: at.line, column: at.column + 1 };
  }

  protected entryFullUrl(bytes: Buffer): FullUrlRead {
    if (this.prefixedChild || this.fullUrlTags > 1) return FULL_URL_UNREAD;
    if (this.fullUrlTags === 0) return { fullUrl: undefined, fullUrlRead: true };
    return fullUrlAttribute(bytes.toString('utf8', this.fullUrlTagStart - this.captureStart, this.fullUrlTagEnd - this.captureStart));
  }

  protected cut(): { cutFrom: Mark; cutTo: Mark } | undefined {
    if (!this.cutFrom || !this.cutTo || this.depth !== 0 || this.state !== Xml.Text) return undefined;
    return { cutFrom: this.cutFrom, cutTo: this.cutTo };
  }

  protected wrap(): Wrap {
    return { open: this.wrapOpen, close: '</Bundle>' };
  }
}

const FULL_URL_ATTRIBUTE = /\s+([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;

/**
 * The value attribute of a `<fullUrl ...>` start tag, when it reads the same whatever the XML reader does with
 * attributes: no entities, line breaks or tabs (normalised by XML), and no attribute but value and id.
 */
function fullUrlAttribute(tag: string): FullUrlRead {
  let value: string | undefined;
  let at = '<fullUrl'.length;
  FULL_URL_ATTRIBUTE.lastIndex = at;
  for (let m = FULL_URL_ATTRIBUTE.exec(tag); m !== null; m = FULL_URL_ATTRIBUTE.exec(tag)) {
    if (m[1] === 'value' && value === undefined) value = m[2] ?? m[3]!;
    else if (m[1] !== 'id') return FULL_URL_UNREAD;
    at = FULL_URL_ATTRIBUTE.lastIndex;
  }
  if (!/^\s*\/?>$/.test(tag.slice(at))) return FULL_URL_UNREAD;
  if (value !== undefined && (value === '' || value.trim() !== value || /[&<\t\n\r]/.test(value))) return FULL_URL_UNREAD;
  return { fullUrl: value, fullUrlRead: true };
}

/** Calls `onEntry` for each `entry` of an XML Bundle, in order; undefined when the file is not laid out so. */
export function scanXmlEntries(file: string, onEntry: OnEntry): Promise<EntriesLayout | undefined> {
  return new XmlEntryScan().run(file, onEntry);
}

/**
 * Calls `onEntry` for each item of a JSON file's top-level `entry` array, in order. Undefined when the file is not
 * laid out so: not an object, no `entry` array or two, an item that is not an object, or a break in the JSON
 * around the items (the caller then reads the file whole, and its parser reports what is wrong).
 */
export function scanEntries(file: string, onEntry: OnEntry): Promise<EntriesLayout | undefined> {
  return new JsonEntryScan().run(file, onEntry);
}
