/**
 * A Bundle file too big to hold, validated entry by entry (validation/bundle-by-entry.ts) with the whole file's
 * positions: a first pass finds the entries (formats/bundle-scan.ts) and notes what each holds; the second reads them
 * again one at a time. Memory grows by some 40 bytes an entry (where it is, its fullUrl's hash), not with their size.
 */
import { openSync, closeSync, readSync } from 'node:fs';
import type { Issue } from '../validation/issues.js';
import type { ValidateOptions, Validator } from '../validation/api.js';
import { FullUrlTable } from '../validation/bundle-on-disk.js';
import type { FhirResource } from '../packages/types.js';
import type { Position, PositionOf } from '../formats/locations.js';
import { scanEntries, SpanList, type EntriesLayout } from '../formats/bundle-scan.js';
import { parseJson } from '../formats/json-positions.js';
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

/**
 * The results of a Bundle file validated entry by entry, each entry's in file order and the Bundle's own last; or
 * undefined when the file is not a Bundle that can be (see bundleByEntry and scanEntries): then read it whole.
 */
export async function validateBundleEntries(validator: Validator, file: string, options?: ValidateOptions): Promise<Iterable<EntryResult> | undefined> {
  const fullUrls = new FullUrlTable();
  const spans = new SpanList();
  const layout = await scanEntries(file, (span) => {
    fullUrls.add(span.index, fullUrlOf(span.text));
    spans.add(span);
  });
  if (!layout) return undefined;
  const fd = openSync(file, 'r');
  let handedOver = false;
  try {
    const readText = (start: number, end: number) => {
      const bytes = Buffer.allocUnsafe(end - start);
      readSync(fd, bytes, 0, bytes.length, start);
      return bytes.toString('utf8');
    };
    const shellText = readText(0, layout.open + 1) + readText(layout.close, layout.size);
    const shell = parseJson(shellText);
    if (shell.issues.length > 0 || !isObject(shell.value)) return undefined;
    delete shell.value.entry;
    const readEntry = (i: number) => {
      try {
        const entry = JSON.parse(readText(spans.start(i), spans.end(i))) as unknown;
        return isObject(entry) ? entry : undefined;
      } catch {
        return undefined;
      }
    };
    const walk = validator.bundleByEntry(shell.value, layout.entries, fullUrls, readEntry, options);
    if (!walk) return undefined;
    handedOver = true;
    return (function* () {
      try {
        for (let i = 0; i < layout.entries; i++) {
          const parsed = parseJson(WRAP_OPEN + readText(spans.start(i), spans.end(i)) + WRAP_CLOSE);
          const at = entryPositions(parsed.positionOf, i, spans.line(i), spans.column(i));
          const entry = isObject(parsed.value) ? (parsed.value.entry as unknown[] | undefined)?.[0] : undefined;
          const issues = parsed.issues.map((issue) => (issue.line === undefined ? issue : movedTo(issue, at.move(issue as Position))));
          if (isObject(entry)) {
            try {
              for (const issue of walk.entry(entry, i)) issues.push(located(issue, at.of(issue.path)));
            } catch (err) {
              issues.push(internalError(err));
            }
          }
          yield { label: resourceLabel(isObject(entry) ? (entry.resource as FhirResource | undefined) : undefined), line: spans.line(i), issues };
        }
        const at = shellPositions(shell.positionOf, layout);
        yield { label: resourceLabel(shell.value as unknown as FhirResource), line: 1, issues: walk.finish().map((issue) => located(issue, at(issue.path))) };
      } finally {
        closeSync(fd);
      }
    })();
  } finally {
    if (!handedOver) closeSync(fd);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function located(issue: Issue, position: Position | undefined): Issue {
  return position ? { ...issue, line: position.line, column: position.column } : issue;
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
