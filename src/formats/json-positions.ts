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
import { positionsIn, prefixEnds, type Position, type PositionOf } from './locations.js';

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

/** A step of a path: a property name (and its `_name` companion), an array index, or something no JSON key matches. */
type Step = { name: string; companion: string } | { index: number } | null;

/** An issue's path read into steps: its first step (the root's name) and the steps after it. */
interface RootedSteps {
  head: string | undefined;
  rest: Step[];
}

/**
 * Paths read into steps, by path: the same paths come back resource after resource (Observation.subject). Bounded,
 * as bad input can name paths without end.
 */
const ROOTED_STEPS = new Map<string, RootedSteps>();
const MAX_CACHED_PATHS = 4096;

function rootedSteps(path: string): RootedSteps {
  let steps = ROOTED_STEPS.get(path);
  if (steps === undefined) {
    const cuts = prefixEnds(path);
    steps = { head: cuts.length > 0 ? path.slice(0, cuts[0]) : undefined, rest: stepsOf(path, cuts, 1) };
    if (ROOTED_STEPS.size >= MAX_CACHED_PATHS) ROOTED_STEPS.clear();
    ROOTED_STEPS.set(path, steps);
  }
  return steps;
}

function stepsOf(path: string, cuts: number[], from: number): Step[] {
  const steps: Step[] = [];
  for (let s = from; s <= cuts.length; s++) {
    const begin = s === 0 ? 0 : cuts[s - 1]!;
    const part = path.slice(begin, s < cuts.length ? cuts[s] : path.length);
    if (part.charCodeAt(0) === Char.OpenBracket) {
      steps.push(/^\[(0|[1-9][0-9]*)\]$/.test(part) ? { index: Number(part.slice(1, -1)) } : null);
    } else {
      const name = s === 0 ? part : part.slice(1);
      steps.push(name !== '' && isPlain(name) ? { name, companion: `_${name}` } : null);
    }
  }
  return steps;
}

function positionFinder(text: string, start: number, rootName: string, value: object): PositionOf {
  const finder = new TextPositions(text, skipWhitespace(text, start));
  return (path) => {
    if (path === rootName) return finder.positionAt(finder.root);
    let steps: Step[];
    if (rootName === '') steps = stepsOf(path, prefixEnds(path), 0);
    else {
      const rooted = rootedSteps(path);
      if (rooted.head !== rootName) return undefined;
      steps = rooted.rest;
    }
    const found = new Array<number>(steps.length).fill(-1);
    finder.search(finder.root, value, steps, 0, found);
    for (let depth = steps.length - 1; depth >= 0; depth--) if (found[depth]! >= 0) return finder.positionAt(found[depth]!);
    return rootName === '' ? undefined : finder.positionAt(finder.root);
  };
}

/**
 * What the reading of one object or array in the text has met so far. It goes on when asked for more, past the last
 * value it met: that value is skipped only then, as a path usually goes into it.
 */
interface ContainerReading {
  /** The offset of the last value met, not yet skipped; -1 once it is (then `next` says where reading goes on). */
  last: number;
  /** The offset of the next member or item, or of the closing bracket. */
  next: number;
  /** The offsets of the values met (an object's members' or an array's items), in order. */
  values: number[];
  /** An object's: the offsets of the members' names (their opening quotes), in order. */
  names: number[];
}

/**
 * Finds paths in the text, guided by its parse. Each object and array on a path is read once, only as far as the
 * paths asked so far need: a Bundle with an issue in each of thousands of entries is read once, not once per issue.
 */
class TextPositions {
  private newlines: number[] | undefined;
  /** Per object or array, by the offset of its opening bracket. */
  private readonly readings = new Map<number, ContainerReading>();

  constructor(
    private readonly text: string,
    /** The offset of the root value. */
    readonly root: number,
  ) {}

  positionAt(offset: number): Position {
    const newlines = (this.newlines ??= lineFeeds(this.text));
    // The number of line feeds before the offset.
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return { line: lo + 1, column: offset - (lo === 0 ? 0 : newlines[lo - 1]! + 1) + 1 };
  }

  /**
   * Follows `steps` from the value at `at` (parsed: `value`), recording in `found` the first offset (in document
   * order) reached at each depth; returns true once the whole path is found. Both spellings of a name are followed:
   * the position of `given[1]` may come from `_given[1]`. The parse tells which items and names are there.
   */
  search(at: number, value: unknown, steps: Step[], depth: number, found: number[]): boolean {
    const step = steps[depth];
    if (!step || value === null || typeof value !== 'object') return false;
    if ('index' in step) {
      if (!Array.isArray(value) || step.index >= value.length) return false;
      const itemAt = this.itemAt(at, step.index);
      return itemAt >= 0 && this.reached(itemAt, value[step.index], steps, depth, found);
    }
    if (Array.isArray(value)) return false;
    const members = value as Record<string, unknown>;
    const { name, companion } = step;
    // A name with a leading _ spelled as such is the companion of the name without it.
    const plainAt = !(name.length > 1 && name.charCodeAt(0) === Char.Underscore) && Object.hasOwn(members, name) ? this.memberAt(at, name) : -1;
    const companionAt = Object.hasOwn(members, companion) ? this.memberAt(at, companion) : -1;
    // The first in the text places this depth.
    if (plainAt >= 0 && (companionAt < 0 || plainAt < companionAt)) {
      return this.reached(plainAt, members[name], steps, depth, found) || (companionAt >= 0 && this.reached(companionAt, members[companion], steps, depth, found));
    }
    return companionAt >= 0 && (this.reached(companionAt, members[companion], steps, depth, found) || (plainAt >= 0 && this.reached(plainAt, members[name], steps, depth, found)));
  }

  private reached(at: number, value: unknown, steps: Step[], depth: number, found: number[]): boolean {
    if (found[depth]! < 0) found[depth] = at;
    return depth === steps.length - 1 || this.search(at, value, steps, depth + 1, found);
  }

  private readingOf(at: number): ContainerReading {
    let reading = this.readings.get(at);
    if (reading === undefined) this.readings.set(at, (reading = { last: -1, next: skipWhitespace(this.text, at + 1), values: [], names: [] }));
    return reading;
  }

  /** Where the next member or item starts: past the last value met, skipped now. */
  private nextOf(reading: ContainerReading): number {
    if (reading.last >= 0) {
      reading.next = pastComma(this.text, skipValue(this.text, reading.last));
      reading.last = -1;
    }
    return reading.next;
  }

  /** The offset of the value of the object's member `name` (which the parse says is there; -1 if the text lost its way). */
  private memberAt(at: number, name: string): number {
    const text = this.text;
    const reading = this.readingOf(at);
    const { names, values } = reading;
    // Names are plain and unique here (see positionsOnDemand): a name's text is the name, closed by a quote.
    for (let j = 0; j < names.length; j++) if (isNameAt(text, names[j]!, name)) return values[j]!;
    for (let open = this.nextOf(reading); text.charCodeAt(open) === Char.Quote; open = this.nextOf(reading)) {
      const close = closingQuote(text, open);
      const valueAt = skipWhitespace(text, skipWhitespace(text, close + 1) + 1);
      names.push(open);
      values.push(valueAt);
      reading.last = valueAt;
      if (isNameAt(text, open, name)) return valueAt;
    }
    return -1;
  }

  /** The offset of the array's item `index` (which the parse says is there; -1 if the text lost its way). */
  private itemAt(at: number, index: number): number {
    const text = this.text;
    const reading = this.readingOf(at);
    const items = reading.values;
    while (items.length <= index) {
      const next = this.nextOf(reading);
      if (next >= text.length || text.charCodeAt(next) === Char.CloseBracket) return -1;
      items.push(next);
      reading.last = next;
    }
    return items[index]!;
  }
}

/** Whether the name whose opening quote is at `open` is `name`. */
function isNameAt(text: string, open: number, name: string): boolean {
  return text.charCodeAt(open + 1 + name.length) === Char.Quote && text.startsWith(name, open + 1);
}

/** Past the whitespace after a value, its comma and the whitespace after that. */
function pastComma(text: string, i: number): number {
  const at = skipWhitespace(text, i);
  return text.charCodeAt(at) === Char.Comma ? skipWhitespace(text, at + 1) : at;
}

function lineFeeds(text: string): number[] {
  const offsets: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) offsets.push(i);
  return offsets;
}
