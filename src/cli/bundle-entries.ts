/**
 * A Bundle file too big to hold, validated entry by entry (validation/bundle-by-entry.ts) with the whole file's
 * positions: a first pass finds the entries (formats/bundle-scan.ts) and notes their fullUrls and their resources'
 * type/id; the second reads them again one at a time. Where each entry is and those hashes go to scratch files: memory
 * keeps a few bytes per 512 entries.
 */
import { openSync, closeSync, readSync } from 'node:fs';
import { issueAt, type Issue } from '../validation/issues.js';
import type { ValidateOptions, Validator } from '../validation/api.js';
import type { BundleByEntry } from '../validation/bundle-by-entry.js';
import { FullUrlTable } from '../validation/bundle-on-disk.js';
import type { FhirResource } from '../packages/types.js';
import { positionsIn, type Position, type PositionOf } from '../formats/locations.js';
import { scanEntries, scanXmlEntries, SpanList, type EntriesLayout, type OnEntry, type Wrap } from '../formats/bundle-scan.js';
import { parseFhirXml } from '../formats/fhir-xml.js';
import { parseJson } from '../formats/json-positions.js';
import { resourceLabel } from './output.js';
import { internalError, movedTo } from './input.js';

export interface EntryResult {
  label: string | null;
  line: number;
  issues: Issue[];
}

/** A text read as JSON or FHIR XML: its value, where its paths are, and the reader's issues. */
interface Read {
  value: unknown;
  positionOf: PositionOf;
  issues: Issue[];
}

function readText(format: BundleFormat, text: string): Read {
  if (format === 'json') return parseJson(text);
  const { resource, locations, issues } = parseFhirXml(text);
  return { value: resource, positionOf: positionsIn(locations), issues };
}

/**
 * An entry read inside a Bundle of its own (see Wrap), so that it reads as in its Bundle and its issues' paths find
 * their positions.
 */
function readEntry(format: BundleFormat, wrap: Wrap, text: string): Read & { entry: Record<string, unknown> | undefined } {
  const read = readText(format, wrap.open + text + wrap.close);
  const entry = isObject(read.value) ? (read.value.entry as unknown[] | undefined)?.[0] : undefined;
  return { ...read, entry: isObject(entry) ? entry : undefined };
}

/** The entry's fullUrl, as the in-memory index reads it; an entry that cannot be read is reported when read again. */
function fullUrlOf(format: BundleFormat, wrap: Wrap, text: string): string | undefined {
  if (format === 'json') {
    try {
      const { fullUrl } = JSON.parse(text) as { fullUrl?: unknown };
      return typeof fullUrl === 'string' ? fullUrl : undefined;
    } catch {
      return undefined;
    }
  }
  const fullUrl = readEntry(format, wrap, text).entry?.fullUrl;
  return typeof fullUrl === 'string' ? fullUrl : undefined;
}

/** `"resource": {"resourceType": "X", "id": "Y"` at an entry's start, as most writers lay it out. */
const TYPE_AND_ID_FIRST = /^\s*\{\s*(?:"fullUrl"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*)?"resource"\s*:\s*\{\s*"resourceType"\s*:\s*"([A-Za-z]+)"\s*,\s*"id"\s*:\s*"([A-Za-z0-9\-.]{1,64})"\s*[,}]/;

/** The entry's resource's `type/id`, for references that miss it (see nearMisses in validation/references.ts). */
function typeAndIdOf(format: BundleFormat, wrap: Wrap, text: string): string | undefined {
  const laidOut = format === 'json' ? TYPE_AND_ID_FIRST.exec(text) : null;
  if (laidOut) return `${laidOut[1]}/${laidOut[2]}`;
  let resource: unknown;
  if (format === 'json') {
    // No "id" anywhere in its text: no resource id either, without parsing it.
    if (!text.includes('"id"')) return undefined;
    try {
      resource = (JSON.parse(text) as { resource?: unknown }).resource;
    } catch {
      return undefined;
    }
  } else resource = readEntry(format, wrap, text).entry?.resource;
  return isObject(resource) && typeof resource.resourceType === 'string' && typeof resource.id === 'string' ? `${resource.resourceType}/${resource.id}` : undefined;
}

/** The most bytes read at once for a run of entries: 64 KB, under glibc's threshold for mapping a block (see spareChunk in formats/bundle-scan.ts). */
const READ_BLOCK = 1 << 16;

/** How many entries are validated at a time (a worker's batch). */
export const ENTRIES_AT_A_TIME = 200;

/**
 * How many entries a thread reads and validates at a time (see inRuns): few enough that their texts and position
 * maps die young. Runs of 200 outlived scavenges into the old generation, which V8 let grow: the 100 MB bench Bundle
 * then peaked at 207-250 MB RSS on one thread, with 25 or 50 at 164-170 MB, in the same time.
 */
const ENTRIES_AT_A_TIME_HERE = 50;

export type BundleFormat = 'json' | 'xml';

/** A Bundle file after the first pass: where its entries are, and their fullUrls. Sent as is to workers. */
export interface ScannedBundle {
  file: string;
  format: BundleFormat;
  layout: EntriesLayout;
  /** The file without its entries: the Bundle's own properties (in JSON, `entry` as []). */
  shellText: string;
  fullUrls: FullUrlTable;
  /** The entries' resources' `type/id`. */
  typeIds: FullUrlTable;
  spans: SpanList;
}

/** The first pass over a Bundle file; undefined when it is not laid out as one (see scanEntries, scanXmlEntries). */
export async function scanBundle(file: string, format: BundleFormat): Promise<ScannedBundle | undefined> {
  const fullUrls = new FullUrlTable();
  const typeIds = new FullUrlTable();
  const spans = SpanList.create();
  const onEntry: OnEntry = (span, wrap) => {
    fullUrls.add(span.index, span.fullUrlRead ? span.fullUrl : fullUrlOf(format, wrap, span.text));
    typeIds.add(span.index, typeAndIdOf(format, wrap, span.text));
    spans.add(span);
  };
  let scanned: ScannedBundle | undefined;
  try {
    const layout = await (format === 'json' ? scanEntries : scanXmlEntries)(file, onEntry);
    if (!layout) return undefined;
    fullUrls.seal();
    typeIds.seal();
    spans.done();
    const reader = new EntryReader({ file, format, layout, spans });
    try {
      scanned = { file, format, layout, shellText: reader.text(0, layout.cutFrom.offset) + reader.text(layout.cutTo.offset, layout.size), fullUrls, typeIds, spans };
    } finally {
      reader.close();
    }
    return scanned;
  } finally {
    // The scratch files stay open for a Bundle to validate only (BundleEntryValidation closes them).
    if (!scanned) {
      spans.close();
      fullUrls.close();
      typeIds.close();
    }
  }
}

/** Reads parts of the file again by their byte offsets. */
class EntryReader {
  private readonly fd: number;
  private open = true;

  constructor(private readonly scanned: Pick<ScannedBundle, 'file' | 'format' | 'layout' | 'spans'>) {
    this.fd = openSync(scanned.file, 'r');
  }

  text(start: number, end: number): string {
    const bytes = Buffer.allocUnsafe(end - start);
    readSync(this.fd, bytes, 0, bytes.length, start);
    return bytes.toString('utf8');
  }

  entryText(index: number): string {
    return this.text(this.scanned.spans.start(index), this.scanned.spans.end(index));
  }

  /**
   * The texts of entries `from` up to `to`: as they follow each other, read a block of them at a time (one read of
   * up to READ_BLOCK bytes, or a bigger entry alone), not one read each.
   */
  entryTexts(from: number, to: number): string[] {
    const spans = this.scanned.spans;
    const texts: string[] = [];
    for (let blockFrom = from; blockFrom < to; ) {
      const first = spans.start(blockFrom);
      let blockTo = blockFrom + 1;
      while (blockTo < to && spans.end(blockTo) - first <= READ_BLOCK) blockTo++;
      const bytes = Buffer.allocUnsafe(spans.end(blockTo - 1) - first);
      readSync(this.fd, bytes, 0, bytes.length, first);
      for (let i = blockFrom; i < blockTo; i++) texts.push(bytes.toString('utf8', spans.start(i) - first, spans.end(i) - first));
      blockFrom = blockTo;
    }
    return texts;
  }

  /** Entry `index` as a rule reading it back sees it: undefined when it cannot be read. */
  entry(index: number): Record<string, unknown> | undefined {
    const { format, layout } = this.scanned;
    if (format === 'xml') return readEntry(format, layout.wrap, this.entryText(index)).entry;
    try {
      const entry = JSON.parse(this.entryText(index)) as unknown;
      return isObject(entry) ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  close(): void {
    if (this.open) closeSync(this.fd);
    this.open = false;
  }
}

/**
 * A scanned Bundle validated entry by entry with one validator: ranges of entries in any order, then the Bundle's
 * own issues. With workers, each has one for its ranges, and the main thread's takes in what theirs found.
 */
export class BundleEntryValidation {
  private constructor(
    private readonly scanned: ScannedBundle,
    private readonly reader: EntryReader,
    private readonly shell: Read & { value: Record<string, unknown> },
    private readonly walk: BundleByEntry,
  ) {}

  /** Undefined when the Bundle is to be read whole (see bundleByEntry): its own text cannot be read, or its rules need all entries. */
  static open(validator: Validator, scanned: ScannedBundle, options?: ValidateOptions): BundleEntryValidation | undefined {
    const shell = readText(scanned.format, scanned.shellText);
    const value = shell.value;
    if (!isObject(value)) return undefined;
    // JSON keeps the emptied array, `"entry": []`.
    delete value.entry;
    const reader = new EntryReader(scanned);
    const walk = validator.bundleByEntry(value, scanned.layout.entries, scanned.fullUrls, (i) => reader.entry(i), options, scanned.typeIds);
    if (!walk) {
      reader.close();
      scanned.spans.close();
      scanned.fullUrls.close();
      scanned.typeIds.close();
      return undefined;
    }
    return new BundleEntryValidation(scanned, reader, { ...shell, value }, walk);
  }

  /** Every entry's result in order, then the Bundle's; the file is closed at the end. */
  *all(): Generator<EntryResult> {
    try {
      yield* this.inRuns(0, this.scanned.layout.entries);
      yield this.finish();
    } finally {
      this.close();
    }
  }

  /** Entries `from` up to `to`, read and validated a few at a time (see ENTRIES_AT_A_TIME_HERE): taken one by one, they die young. */
  *inRuns(from: number, to: number): Generator<EntryResult> {
    for (let at = from; at < to; at += ENTRIES_AT_A_TIME_HERE) yield* this.entries(at, Math.min(at + ENTRIES_AT_A_TIME_HERE, to));
  }

  /** Entries `from` up to `to`, each with its issues at their place in the file. */
  entries(from: number, to: number): EntryResult[] {
    const results: EntryResult[] = [];
    const { spans, format, layout } = this.scanned;
    const texts = from < to ? this.reader.entryTexts(from, to) : [];
    for (let i = from; i < to; i++) {
      const read = readEntry(format, layout.wrap, texts[i - from]!);
      const at = entryPositions(read.positionOf, i, spans.line(i), spans.column(i), layout.wrap.open.length);
      const issues = read.issues.map((issue) => at.reader(issue));
      if (read.entry) {
        try {
          for (const issue of this.walk.entry(read.entry, i)) issues.push(located(issue, at.of(issue.path)));
        } catch (err) {
          issues.push(internalError(err));
        }
      }
      results.push({ label: resourceLabel(read.entry?.resource as FhirResource | undefined), line: spans.line(i), issues });
    }
    return results;
  }

  /** The Bundle's issues found so far, as they are (for the main thread to take in). */
  bundleIssues(): Issue[] {
    return this.walk.bundleIssues();
  }

  /** Takes in the Bundle's issues that another validation of it found. */
  takeIn(issues: readonly Issue[]): void {
    this.walk.takeIn(issues);
  }

  /** The Bundle's own result, once all entries are done; closes the file. */
  finish(): EntryResult {
    try {
      const move = pastTheEntries(this.scanned.layout);
      const issues = this.shell.issues.map((issue) => (issue.line === undefined ? issue : movedTo(issue, move(issue as Position))));
      for (const issue of this.walk.finish()) {
        const p = this.shell.positionOf(issue.path);
        issues.push(located(issue, p && move(p)));
      }
      return { label: resourceLabel(this.shell.value as unknown as FhirResource), line: 1, issues };
    } finally {
      this.close();
    }
  }

  close(): void {
    this.walk.close();
    this.reader.close();
    this.scanned.spans.close();
    this.scanned.fullUrls.close();
    this.scanned.typeIds.close();
  }
}

/**
 * The results of a Bundle file validated entry by entry on this thread, each entry's in file order and the Bundle's own
 * last; or undefined when the file is not a Bundle that can be (see BundleEntryValidation.open): then read it whole.
 */
export async function validateBundleEntries(validator: Validator, file: string, format: BundleFormat, options?: ValidateOptions): Promise<Iterable<EntryResult> | undefined> {
  const scanned = await scanBundle(file, format);
  return scanned && BundleEntryValidation.open(validator, scanned, options)?.all();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function located(issue: Issue, position: Position | undefined): Issue {
  return position ? issueAt(issue, position.line, position.column) : issue;
}

/** Positions in an entry read inside its wrap (of `wrapLength` characters on line 1), moved to where it is in the file. */
function entryPositions(positionOf: PositionOf, index: number, line: number, column: number, wrapLength: number) {
  const inWrap = 'Bundle.entry[0]';
  const inFile = `Bundle.entry[${index}]`;
  const move = (p: Position): Position => (p.line === 1 ? { line, column: column + p.column - (wrapLength + 1) } : { line: line + p.line - 1, column: p.column });
  return {
    of(path: string): Position | undefined {
      if (!path.startsWith(inFile)) return undefined;
      const p = positionOf(inWrap + path.slice(inFile.length));
      return p ? move(p) : undefined;
    },
    /** A reader's issue (bad JSON, an unknown XML element): its path and position as in the file. */
    reader(issue: Issue): Issue {
      const moved = issue.line === undefined ? issue : movedTo(issue, move(issue as Position));
      if (!moved.path.startsWith(inWrap)) return moved;
      return { severity: moved.severity, code: moved.code, messageId: moved.messageId, message: moved.message, path: inFile + moved.path.slice(inWrap.length), line: moved.line, column: moved.column };
    },
  };
}

/** A position in the Bundle's own text (the file without its entries) moved to the file: past the entries if after them. */
function pastTheEntries({ cutFrom, cutTo }: EntriesLayout): (p: Position) => Position {
  return (p) => {
    if (p.line > cutFrom.line) return { line: p.line + cutTo.line - cutFrom.line, column: p.column };
    if (p.line === cutFrom.line && p.column >= cutFrom.column) return { line: cutTo.line, column: cutTo.column + p.column - cutFrom.column };
    return p;
  };
}
