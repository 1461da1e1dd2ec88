/**
 * JSON parsed natively, with positions found only for the paths asked (the issues' paths). Recording the position
 * of every value while parsing (parseJsonWithLocations) cost 4–5 times what JSON.parse does, on every resource,
 * for the few paths an issue names. Hand-written: no JSON library gives a value's position by its path.
 *
 * Positions follow the rules of parseJsonWithLocations exactly (keys, first occurrence, `_name` companions, the
 * longest known prefix). That parse still reads what JSON.parse cannot tell about: syntax errors (their position),
 * duplicate property names (JSON.parse keeps the last one silently) and keys that would make paths ambiguous.
 */
import type { Issue } from '../validation/issues.js';
import { parseJsonWithLocations } from './json-locations.js';
import { findPosition, positionsIn, prefixEnds, type LocationMap, type Position, type PositionOf } from './locations.js';

export interface ParsedJson {
  /** The parsed value; undefined when the text is not well-formed JSON. */
  value: unknown;
  issues: Issue[];
  positionOf: PositionOf;
  /** The text of each number its value does not say (1.0, 1.50, 1e2), by path; absent when there are none. */
  numberTexts?: ReadonlyMap<string, string>;
}

export function parseJson(text: string): ParsedJson {
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text);
  } catch {
    return located(text);
  }
  const positionOf = positionsOnDemand(text, value);
  return positionOf ? { value, issues: [], positionOf } : located(text);
}

/** UTF-8 byte order mark, as written by some tools. */
const BYTE_ORDER_MARK = 0xfeff;

/**
 * Positions in well-formed JSON text (of which `value` is the parse), found path by path; undefined when the text
 * needs the located parse: a root that is not an object, duplicate property names, keys that look like path steps,
 * numbers that JSON.parse does not keep as written.
 */
export function positionsOnDemand(text: string, value: unknown): PositionOf | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const resourceType = (value as { resourceType?: unknown }).resourceType;
  const rootName = typeof resourceType === 'string' ? resourceType : '';
  const start = text.charCodeAt(0) === BYTE_ORDER_MARK ? 1 : 0;
  // Each key in the text makes a property, unless it repeats one.
  if (!isPlain(rootName) || keysInText(text, start) !== propertiesIn(value)) return undefined;
  return positionFinder(text, start, rootName, value);
}

function located(text: string): ParsedJson {
  const { value, locations, issues, numberTexts } = parseJsonWithLocations(text);
  return { value, issues, positionOf: positionsIn(locations), numberTexts: numberTexts.size > 0 ? numberTexts : undefined };
}

/** Characters of path syntax (and escapes): a key holding one could be mistaken for a path's steps. */
const PATH_SYNTAX = new Uint8Array(128);
for (const c of '.[]()\'"`\\') PATH_SYNTAX[c.charCodeAt(0)] = 1;

/** Whether text[from, to) holds no path syntax. */
function isPlain(text: string, from = 0, to = text.length): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && PATH_SYNTAX[c] === 1) return false;
  }
  return true;
}

/** Character codes the scans compare with. */
const enum Char {
  Tab = 9, LineFeed = 10, CarriageReturn = 13, Space = 32,
  Quote = 34, Comma = 44, Minus = 45, Zero = 48, Nine = 57, Colon = 58, Backslash = 92, Underscore = 95,
  OpenBracket = 91, CloseBracket = 93, OpenBrace = 123, CloseBrace = 125,
}

function isWhitespace(c: number): boolean {
  return c === Char.Space || c === Char.LineFeed || c === Char.CarriageReturn || c === Char.Tab;
}

function skipWhitespace(text: string, i: number): number {
  while (isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/** The offset of the quote that closes the string opened at `open`. */
function closingQuote(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  // A quote after an odd number of backslashes is escaped.
  while (q > 0 && text.charCodeAt(q - 1) === Char.Backslash) {
    let b = q - 1;
    while (text.charCodeAt(b - 1) === Char.Backslash) b--;
    if ((q - b) % 2 === 0) break;
    q = text.indexOf('"', q + 1);
  }
  return q;
}

/**
 * Property names in well-formed JSON text, or -1 when one is not plain (see PATH_SYNTAX): outside strings there are
 * no quotes and inside them every quote is escaped, so unescaped quotes open and close strings in turn, and a
 * string followed by a colon is a name.
 */
function keysInText(text: string, from: number): number {
  let keys = 0;
  for (let open = text.indexOf('"', from); open >= 0; ) {
    const close = closingQuote(text, open);
    if (text.charCodeAt(skipWhitespace(text, close + 1)) === Char.Colon) {
      if (!isPlain(text, open + 1, close)) return -1;
      keys++;
    }
    open = text.indexOf('"', close + 1);
    // Numbers sit between strings; one that JSON.parse does not keep as written needs the located parse.
    if (hasUnkeptNumber(text, close + 1, open < 0 ? text.length : open)) return -1;
  }
  return keys;
}

/** Whether text[from, to) (outside strings) holds a number whose value does not say how it was written (1.0, 1e2). */
function hasUnkeptNumber(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== Char.Minus && (c < Char.Zero || c > Char.Nine)) continue;
    let end = i + 1;
    while (end < to && !isDelimiter(text.charCodeAt(end))) end++;
    const lexeme = text.slice(i, end);
    if (String(Number(lexeme)) !== lexeme) return true;
    i = end;
  }
  return false;
}

function isDelimiter(c: number): boolean {
  return c === Char.Comma || c === Char.CloseBrace || c === Char.CloseBracket || isWhitespace(c);
}

function propertiesIn(value: object): number {
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object') count += propertiesIn(item as object);
    return count;
  }
  for (const key in value) {
    count++;
    const item = (value as Record<string, unknown>)[key];
    if (item !== null && typeof item === 'object') count += propertiesIn(item);
  }
  return count;
}

/** The offset just after the value that starts at `i` (well-formed JSON). */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === Char.Quote) return closingQuote(text, i) + 1;
  if (c !== Char.OpenBrace && c !== Char.OpenBracket) {
    // A number or literal ends at the next delimiter.
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d === Char.Comma || d === Char.CloseBrace || d === Char.CloseBracket || isWhitespace(d)) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  for (;;) {
    const d = text.charCodeAt(i);
    if (d === Char.Quote) i = closingQuote(text, i);
    else if (d === Char.OpenBrace || d === Char.OpenBracket) depth++;
    else if ((d === Char.CloseBrace || d === Char.CloseBracket) && --depth === 0) return i + 1;
    i++;
  }
}

/** A step of a path: a property name, an array index, or something no JSON key matches. */
type Step = { name: string } | { index: number } | null;

function stepsOf(path: string, cuts: number[], from: number): Step[] {
  const steps: Step[] = [];
  for (let s = from; s <= cuts.length; s++) {
    const begin = s === 0 ? 0 : cuts[s - 1]!;
    const part = path.slice(begin, s < cuts.length ? cuts[s] : path.length);
    if (part.charCodeAt(0) === Char.OpenBracket) {
      steps.push(/^\[(0|[1-9][0-9]*)\]$/.test(part) ? { index: Number(part.slice(1, -1)) } : null);
    } else {
      const name = s === 0 ? part : part.slice(1);
      steps.push(name !== '' && isPlain(name) ? { name } : null);
    }
  }
  return steps;
}

const LOOKUPS_BEFORE_LOCATED_PARSE = 8;

function positionFinder(text: string, start: number, rootName: string, value: object): PositionOf {
  const root = skipWhitespace(text, start);
  let newlines: number[] | undefined;
  const positionAt = (offset: number): Position => {
    newlines ??= lineFeeds(text);
    // The number of line feeds before the offset.
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return { line: lo + 1, column: offset - (lo === 0 ? 0 : newlines[lo - 1]! + 1) + 1 };
  };
  // Each lookup scans the text up to its path: past a few, one located parse costs less than scanning again and again
  // (a Bundle with an issue in each of its thousands of entries).
  let lookups = 0;
  let locations: LocationMap | undefined;
  return (path) => {
    if (path === rootName) return positionAt(root);
    if (locations || ++lookups > LOOKUPS_BEFORE_LOCATED_PARSE) return findPosition(path, (locations ??= parseJsonWithLocations(text).locations));
    const cuts = prefixEnds(path);
    let steps: Step[];
    if (rootName === '') steps = stepsOf(path, cuts, 0);
    else if (cuts.length > 0 && path.slice(0, cuts[0]) === rootName) steps = stepsOf(path, cuts, 1);
    else return undefined;
    const found = new Array<number>(steps.length).fill(-1);
    search(text, root, value, steps, 0, found);
    for (let depth = steps.length - 1; depth >= 0; depth--) if (found[depth]! >= 0) return positionAt(found[depth]!);
    return rootName === '' ? undefined : positionAt(root);
  };
}

function lineFeeds(text: string): number[] {
  const offsets: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) offsets.push(i);
  return offsets;
}

/**
 * Follows `steps` from the value at `at` (parsed: `value`), recording in `found` the first offset (in document order)
 * reached at each depth; returns true once the whole path is found. Both spellings of a name are followed: the
 * position of `given[1]` may come from `_given[1]`. The parsed value tells which items and names are there, so the
 * text is scanned only up to them.
 */
function search(text: string, at: number, value: unknown, steps: Step[], depth: number, found: number[]): boolean {
  const step = steps[depth];
  if (!step || value === null || typeof value !== 'object') return false;
  if ('index' in step) {
    if (!Array.isArray(value) || step.index >= value.length) return false;
    let i = skipWhitespace(text, at + 1);
    for (let n = 0; n < step.index; n++) i = skipWhitespace(text, skipWhitespace(text, skipValue(text, i)) + 1);
    return reached(text, i, value[step.index], steps, depth, found);
  }
  if (Array.isArray(value)) return false;
  const name = step.name;
  // A name with a leading _ spelled as such is the companion of the name without it.
  const plain = !(name.length > 1 && name.charCodeAt(0) === Char.Underscore) && Object.hasOwn(value, name);
  const companion = Object.hasOwn(value, `_${name}`);
  let left = (plain ? 1 : 0) + (companion ? 1 : 0);
  let i = skipWhitespace(text, at + 1);
  // Each name is there (the parse says so): the guard only keeps a scan that lost its way from running off.
  while (left > 0 && text.charCodeAt(i) === Char.Quote) {
    const close = closingQuote(text, i);
    const isCompanion = text.charCodeAt(i + 1) === Char.Underscore && close > i + 2;
    const start = skipWhitespace(text, skipWhitespace(text, close + 1) + 1);
    if (close - i - (isCompanion ? 2 : 1) === name.length && text.startsWith(name, isCompanion ? i + 2 : i + 1)) {
      left--;
      const key = isCompanion ? `_${name}` : name;
      if (reached(text, start, (value as Record<string, unknown>)[key], steps, depth, found)) return true;
    }
    // Past the value and its comma.
    if (left > 0) i = skipWhitespace(text, skipWhitespace(text, skipValue(text, start)) + 1);
  }
  return false;
}

function reached(text: string, at: number, value: unknown, steps: Step[], depth: number, found: number[]): boolean {
  if (found[depth]! < 0) found[depth] = at;
  return depth === steps.length - 1 || search(text, at, value, steps, depth + 1, found);
}
