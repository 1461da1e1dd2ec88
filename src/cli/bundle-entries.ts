/**
 * A Bundle file too big to hold, validated entry by entry (validation/bundle-by-entry.ts) with the whole file's
 * positions: a first pass finds the entries (formats/bundle-scan.ts) and notes their fullUrls; the second reads them
 * again one at a time. Memory grows by some 40 bytes an entry (where it is, its fullUrl's hash), not with their size.
 */
import { openSync, closeSync, readSync } from 'node:fs';
import { issueAt, type Issue } from '../validation/issues.js';
import type { ValidateOptions, Validator } from '../validation/api.js';
import type { BundleByEntry } from '../validation/bundle-by-entry.js';
import { FullUrlTable } from '../validation/bundle-on-disk.js';
import type { FhirResource } from '../packages/types.js';
import type { Position, PositionOf } from '../formats/locations.js';
import { scanEntries, SpanList, type EntriesLayout } from '../formats/bundle-scan.js';
import { parseJson, type ParsedJson } from '../formats/json-positions.js';
import { resourceLabel } from './output.js';
import { internalError, movedTo } from './input.js';

export interface EntryResult {
  label: string | null;
  line: number;
  issues: Issue[];
}

/** An entry is parsed inside a Bundle of its own, so that its issues' paths find their positions. */
const WRAP_OPEN = '{"resourceType":"Bundle","entry":[';
const WRAP_CLOSE = ']}';

/** The entry's fullUrl, as the in-memory index reads it; an entry that is not JSON is reported when read again. */
function fullUrlOf(text: string): string | undefined {
  try {
    const { fullUrl } = JSON.parse(text) as { fullUrl?: unknown };
    return typeof fullUrl === 'string' ? fullUrl : undefined;
  } catch {
    return undefined;
  }
}

/** How many entries are validated at a time (a worker's batch). */
export const ENTRIES_AT_A_TIME = 200;

/** A Bundle file after the first pass: where its entries are, and their fullUrls. Sent as is to workers. */
export interface ScannedBundle {
  file: string;
  layout: EntriesLayout;
  /** The file without the entries' items: the Bundle's own properties, `entry` as []. */
  shellText: string;
  fullUrls: FullUrlTable;
  spans: SpanList;
}

/** The first pass over a Bundle file; undefined when it is not laid out as one (see scanEntries). */
export async function scanBundle(file: string): Promise<ScannedBundle | undefined> {
  const fullUrls = new FullUrlTable();
  const spans = new SpanList();
  const layout = await scanEntries(file, (span) => {
    fullUrls.add(span.index, fullUrlOf(span.text));
    spans.add(span);
  });
  if (!layout) return undefined;
  const reader = new EntryReader(file, spans);
  try {
    return { file, layout, shellText: reader.text(0, layout.open + 1) + reader.text(layout.close, layout.size), fullUrls, spans };
  } finally {
    reader.close();
  }
}

/** Reads parts of the file again by their byte offsets. */
class EntryReader {
  private readonly fd: number;
  private open = true;

  constructor(
    file: string,
    private readonly spans: SpanList,
  ) {
    this.fd = openSync(file, 'r');
  }

  text(start: number, end: number): string {
    const bytes = Buffer.allocUnsafe(end - start);
    readSync(this.fd, bytes, 0, bytes.length, start);
    return bytes.toString('utf8');
  }

  entryText(index: number): string {
    return this.text(this.spans.start(index), this.spans.end(index));
  }

  /** Entry `index` as a rule reading it back sees it: undefined when it is not a JSON object. */
  entry(index: number): Record<string, unknown> | undefined {
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
    private readonly shell: ParsedJson & { value: Record<string, unknown> },
    private readonly walk: BundleByEntry,
  ) {}

  /** Undefined when the Bundle is to be read whole (see bundleByEntry): its shell is not JSON, or its rules need all entries. */
  static open(validator: Validator, scanned: ScannedBundle, options?: ValidateOptions): BundleEntryValidation | undefined {
    const shell = parseJson(scanned.shellText);
    if (shell.issues.length > 0 || !isObject(shell.value)) return undefined;
    const value = shell.value;
    delete value.entry;
    const reader = new EntryReader(scanned.file, scanned.spans);
    const walk = validator.bundleByEntry(value, scanned.layout.entries, scanned.fullUrls, (i) => reader.entry(i), options);
    if (!walk) {
      reader.close();
      return undefined;
    }
    return new BundleEntryValidation(scanned, reader, { ...shell, value }, walk);
  }

  /** Every entry's result in order, then the Bundle's; the file is closed at the end. */
  *all(): Generator<EntryResult> {
    try {
      const count = this.scanned.layout.entries;
      for (let from = 0; from < count; from += ENTRIES_AT_A_TIME) yield* this.entries(from, Math.min(from + ENTRIES_AT_A_TIME, count));
      yield this.finish();
    } finally {
      this.close();
    }
  }

  /** Entries `from` up to `to`, each with its issues at their place in the file. */
  entries(from: number, to: number): EntryResult[] {
    const results: EntryResult[] = [];
    const spans = this.scanned.spans;
    for (let i = from; i < to; i++) {
      const parsed = parseJson(WRAP_OPEN + this.reader.entryText(i) + WRAP_CLOSE);
      const at = entryPositions(parsed.positionOf, i, spans.line(i), spans.column(i));
      const entry = isObject(parsed.value) ? (parsed.value.entry as unknown[] | undefined)?.[0] : undefined;
      const issues = parsed.issues.map((issue) => (issue.line === undefined ? issue : movedTo(issue, at.move(issue as Position))));
      if (isObject(entry)) {
        try {
          for (const issue of this.walk.entry(entry, i)) issues.push(located(issue, at.of(issue.path)));
        } catch (err) {
          issues.push(internalError(err));
        }
      }
      results.push({ label: resourceLabel(isObject(entry) ? (entry.resource as FhirResource | undefined) : undefined), line: spans.line(i), issues });
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
      const at = shellPositions(this.shell.positionOf, this.scanned.layout);
      return { label: resourceLabel(this.shell.value as unknown as FhirResource), line: 1, issues: this.walk.finish().map((issue) => located(issue, at(issue.path))) };
    } finally {
      this.close();
    }
  }

  close(): void {
    this.reader.close();
  }
}

/**
 * The results of a Bundle file validated entry by entry on this thread, each entry's in file order and the Bundle's own
 * last; or undefined when the file is not a Bundle that can be (see BundleEntryValidation.open): then read it whole.
 */
export async function validateBundleEntries(validator: Validator, file: string, options?: ValidateOptions): Promise<Iterable<EntryResult> | undefined> {
  const scanned = await scanBundle(file);
  return scanned && BundleEntryValidation.open(validator, scanned, options)?.all();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function located(issue: Issue, position: Position | undefined): Issue {
  return position ? issueAt(issue, position.line, position.column) : issue;
}

/** Positions in an entry parsed inside WRAP_OPEN, moved to where the entry is in the file. */
function entryPositions(positionOf: PositionOf, index: number, line: number, column: number) {
  const prefix = `Bundle.entry[${index}]`;
  const move = (p: Position): Position => (p.line === 1 ? { line, column: column + p.column - (WRAP_OPEN.length + 1) } : { line: line + p.line - 1, column: p.column });
  return {
    move,
    of(path: string): Position | undefined {
      if (!path.startsWith(prefix)) return undefined;
      const p = positionOf(`Bundle.entry[0]${path.slice(prefix.length)}`);
      return p ? move(p) : undefined;
    },
  };
}

/** Positions in the Bundle without its entries (`[` then `]`), moved past the entries where they follow them. */
function shellPositions(positionOf: PositionOf, layout: EntriesLayout): (path: string) => Position | undefined {
  return (path) => {
    const p = positionOf(path);
    if (!p) return undefined;
    if (p.line > layout.openLine) return { line: p.line + layout.closeLine - layout.openLine, column: p.column };
    if (p.line === layout.openLine && p.column > layout.openColumn) return { line: layout.closeLine, column: layout.closeColumn + p.column - layout.openColumn - 1 };
    return p;
  };
}
