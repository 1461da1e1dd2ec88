/**
 * JSON parser that also records where each value starts. Hand-written because JSON.parse reports no
 * positions and the streaming JSON libraries give token offsets without FHIRPath-like keys.
 * Single pass, linear in the input.
 */
import type { Issue } from '../validation/issues.js';
import type { LocationMap } from './locations.js';

export interface JsonWithLocations {
  /** The parsed value; undefined when the text is not well-formed JSON. */
  value: unknown;
  locations: LocationMap;
  issues: Issue[];
  /** The text of each number its value does not say (1.0, 1.50, 1e2), by path. */
  numberTexts: Map<string, string>;
  /** Why and where the text is not well-formed JSON; the reason quotes at most one character of it. */
  syntaxError?: { reason: string; line: number; column: number };
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** A root object that starts with its resourceType; otherwise keys are re-rooted after parsing. */
const LEADING_RESOURCE_TYPE = /^\uFEFF?\s*\{\s*"resourceType"\s*:\s*"([A-Za-z]+)"/;

/** Re-roots a key built under `from` (the resourceType guessed before parsing) to `to`. */
function reroot(key: string, from: string, to: string): string {
  const rest = key.slice(from.length);
  if (to === '') return rest.charCodeAt(0) === 46 ? rest.slice(1) : rest;
  return from === '' && rest !== '' && rest.charCodeAt(0) !== 91 ? `${to}.${rest}` : to + rest;
}

/** Parses JSON text; location keys start with the root's resourceType (none for other JSON). */
export function parseJsonWithLocations(text: string): JsonWithLocations {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // UTF-8 byte order mark, as written by some tools
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  const guessedRoot = LEADING_RESOURCE_TYPE.exec(text)?.[1] ?? '';
  const locations: LocationMap = new Map();
  const issues: Issue[] = [];
  const numberTexts = new Map<string, string>();

  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at);
  };
  const unexpected = (): never =>
    i >= n ? fail('Unexpected end of input') : fail(`Unexpected content '${text[i]}'`);

  const skipWs = () => {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        line++;
        lineStart = i + 1;
      } else if (c !== 32 && c !== 9 && c !== 13) return;
    }
  };

  const parseString = (): string => {
    const start = ++i; // after the opening quote
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) return text.slice(start, i++);
      if (c === 92 || c < 32) break;
    }
    let out = text.slice(start, i);
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return out;
      }
      if (c < 32) fail('Control character in string');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail(`Invalid unicode escape '\\u${hex}'`);
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else {
          const decoded = e === undefined ? undefined : ESCAPES[e];
          if (decoded === undefined) fail(`Invalid escape '\\${e ?? ''}'`);
          out += decoded;
          i += 2;
        }
        continue;
      }
      const next = text.indexOf('"', i);
      const bs = text.indexOf('\\', i);
      const end = Math.min(next < 0 ? n : next, bs < 0 ? n : bs);
      for (let j = i; j < end; j++) if (text.charCodeAt(j) < 32) fail('Control character in string', j);
      out += text.slice(i, end);
      i = end;
    }
    return fail('Unterminated string');
  };

  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const parseNumber = (key: string): number => {
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) unexpected();
    const end = NUMBER.lastIndex;
    const lexeme = text.slice(i, end);
    const value = Number(lexeme);
    if (String(value) !== lexeme) numberTexts.set(key, lexeme);
    i = end;
    return value;
  };

  const literal = (word: string, value: unknown): unknown => {
    if (!text.startsWith(word, i)) unexpected();
    i += word.length;
    return value;
  };

  const parseValue = (key: string): unknown => {
    skipWs();
    if (!locations.has(key)) locations.set(key, { line, column: i - lineStart + 1 });
    const c = text.charCodeAt(i);
    if (c === 123) return parseObject(key);
    if (c === 91) return parseArray(key);
    if (c === 34) return parseString();
    if (c === 45 || (c >= 48 && c <= 57)) return parseNumber(key);
    if (c === 116) return literal('true', true);
    if (c === 102) return literal('false', false);
    if (c === 110) return literal('null', null);
    return unexpected();
  };

  const parseArray = (key: string): unknown[] => {
    i++;
    const out: unknown[] = [];
    skipWs();
    if (text.charCodeAt(i) === 93) {
      i++;
      return out;
    }
    for (;;) {
      out.push(parseValue(`${key}[${out.length}]`));
      skipWs();
      const c = text.charCodeAt(i);
      if (c === 44) i++;
      else if (c === 93) {
        i++;
        return out;
      } else unexpected();
    }
  };

  const parseObject = (key: string): Record<string, unknown> => {
    i++;
    const out: Record<string, unknown> = {};
    const prefix = key === '' ? '' : key + '.';
    skipWs();
    if (text.charCodeAt(i) === 125) {
      i++;
      return out;
    }
    for (;;) {
      skipWs();
      if (text.charCodeAt(i) !== 34) unexpected();
      const nameLine = line;
      const nameColumn = i - lineStart + 1;
      const name = parseString();
      skipWs();
      if (text.charCodeAt(i) !== 58) unexpected();
      i++;
      // `_given` (id/extensions of primitive `given`) shares the key of `given`.
      const childKey = prefix + (name.length > 1 && name.charCodeAt(0) === 95 ? name.slice(1) : name);
      const value = parseValue(childKey);
      if (Object.prototype.hasOwnProperty.call(out, name)) {
        // RFC 8259 leaves duplicates to the reader; FHIR JSON (json.html) requires unique names.
        issues.push({
          severity: 'error',
          code: 'structure',
          messageId: 'json-duplicate-property',
          message: `Duplicate JSON property '${name}' at line ${nameLine}, column ${nameColumn}`,
          path: childKey,
          line: nameLine,
          column: nameColumn,
        });
      }
      // A plain assignment to __proto__ would set the prototype instead of a property.
      if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      else out[name] = value;
      skipWs();
      const c = text.charCodeAt(i);
      if (c === 44) i++;
      else if (c === 125) {
        i++;
        return out;
      } else unexpected();
    }
  };

  let value: unknown;
  try {
    value = parseValue(guessedRoot);
    skipWs();
    if (i < n) unexpected();
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    // Raw newlines only occur in whitespace (elsewhere they fail at once), so `line` is current.
    const column = e.offset - lineStart + 1;
    return {
      value: undefined,
      locations: new Map(),
      numberTexts,
      syntaxError: { reason: e.message, line, column },
      issues: [
        {
          severity: 'fatal',
          code: 'structure',
          messageId: 'json-syntax',
          message: `Error parsing JSON: ${e.message} at line ${line}, column ${column}`,
          path: '(json)',
          line,
          column,
        },
      ],
    };
  }

  const root = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { resourceType?: unknown }).resourceType : undefined;
  const rootName = typeof root === 'string' ? root : '';
  if (rootName === guessedRoot) return { value, locations, issues, numberTexts };
  const rerooted: LocationMap = new Map();
  for (const [key, at] of locations) {
    const k = reroot(key, guessedRoot, rootName);
    if (!rerooted.has(k)) rerooted.set(k, at);
  }
  for (const issue of issues) issue.path = reroot(issue.path, guessedRoot, rootName);
  const rerootedNumbers = new Map([...numberTexts].map(([key, lexeme]) => [reroot(key, guessedRoot, rootName), lexeme]));
  return { value, locations: rerooted, issues, numberTexts: rerootedNumbers };
}
