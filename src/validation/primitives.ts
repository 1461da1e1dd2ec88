/** Lexical checks of the FHIR R4 primitive types (http://hl7.org/fhir/R4/datatypes.html#primitive). */
import { BASE64_WHITESPACE_WARNING, hasBase64Whitespace, isJavaWhitespace, isValidBase64 } from './base64.js';

export interface PrimitiveProblem {
  messageId: string;
  message: string;
  severity?: 'error' | 'warning';
}

// The lexical rules below are hand-written scanners over character codes: the FHIR regexes they replace
// (datatypes.html) cost a regex run, often two, per value, and tests/validation/primitive-scanners.test.ts
// holds them against those regexes.
// Scanning a long text is where a regex beats charCodeAt (it flattens the string once and reads it directly).
const WHITESPACE = /\s/;
const OID = /^urn:oid:[0-2](?:\.(?:0|[1-9][0-9]*))+$/;

/** A well-formed OID under a root long enough to be assigned (the reference rejects urn:oid:1.2.3), or under 1.3. */
function isValidOid(text: string): boolean {
  return OID.test(text) && (text.lastIndexOf('.') >= 12 || text.startsWith('urn:oid:1.3'));
}
const UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Lowercase is the rule: matching both cases is testing the lowercased text without making it. */
const UUID_ANY_CASE = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const MAX_STRING_BYTES = 1024 * 1024;

export const PRIMITIVE_TYPES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

/** A regex `\s` character (ECMAScript WhiteSpace or LineTerminator; also what String.prototype.trim removes). */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  return c >= 160 && (c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff);
}

function onlySpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/**
 * The reference's code rule (passesCodeWhitespaceRules), not the spec's regex: no leading or trailing character up to
 * U+0020 (String.trim), single spaces between words, and no other whitespace as Character.isWhitespace has it, which
 * leaves out the non-breaking spaces.
 */
function isCode(text: string): boolean {
  if (text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32) return false;
  let previousSpace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) {
      if (previousSpace) return false;
      previousSpace = true;
    } else if (isJavaWhitespace(c)) return false;
    else previousSpace = false;
  }
  return true;
}

/** `^[A-Za-z0-9\-.]{1,64}$` */
function isId(text: string): boolean {
  if (text.length > 64) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46)) return false;
  }
  return text.length > 0;
}

/** The number written by two ASCII digits at `at`, or -1. */
function two(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** The end of `hh:mm:ss(.f+)?` starting at `at` (hour to 23, second to 60), or -1. */
function timeEnd(text: string, at: number): number {
  const h = two(text, at);
  const m = two(text, at + 3);
  const s = two(text, at + 6);
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60 || text.charCodeAt(at + 2) !== 58 || text.charCodeAt(at + 5) !== 58) return -1;
  let end = at + 8;
  if (text.charCodeAt(end) === 46) {
    const digitsFrom = ++end;
    while (isDigit(text.charCodeAt(end))) end++;
    if (end === digitsFrom) return -1;
  }
  return end;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `Z`, or `+hh:mm` / `-hh:mm` up to 14:00, exactly filling the rest of the text from `at`. */
function isZone(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  if (c === 90) return text.length === at + 1;
  if ((c !== 43 && c !== 45) || text.length !== at + 6 || text.charCodeAt(at + 3) !== 58) return false;
  const h = two(text, at + 1);
  const m = two(text, at + 4);
  return h >= 0 && m >= 0 && (h <= 13 ? m <= 59 : h === 14 && m === 0);
}

/** How far a text follows the date/time grammar: YEAR, MONTH, DAY, LOCAL (a time without zone), ZONED, or INVALID. */
const INVALID = -1;
const YEAR = 0;
const MONTH = 1;
const DAY = 2;
const LOCAL = 3;
const ZONED = 4;

function dateTimeForm(text: string): number {
  // The year is four digits, 0000 excepted.
  const y1 = two(text, 0);
  const y2 = two(text, 2);
  if (y1 < 0 || y2 < 0 || (y1 === 0 && y2 === 0)) return INVALID;
  if (text.length === 4) return YEAR;
  const month = two(text, 5);
  if (text.charCodeAt(4) !== 45 || month < 1 || month > 12) return INVALID;
  if (text.length === 7) return MONTH;
  const day = two(text, 8);
  if (text.charCodeAt(7) !== 45 || day < 1 || day > 31) return INVALID;
  if (text.length === 10) return DAY;
  if (text.charCodeAt(10) !== 84) return INVALID;
  const end = timeEnd(text, 11);
  if (end < 0) return INVALID;
  if (end === text.length) return LOCAL;
  return isZone(text, end) ? ZONED : INVALID;
}

/** Days per month, leap years included: the grammar allows 2023-02-31. Only for texts of form DAY or longer. */
function isRealDate(value: string): boolean {
  const year = two(value, 0) * 100 + two(value, 2);
  const month = two(value, 5);
  const day = two(value, 8);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month - 1]!;
  return day <= days;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function wrongJsonType(expected: 'boolean' | 'number' | 'string'): PrimitiveProblem[] {
  return [problem('primitive-json-type', `Error parsing JSON: the primitive value must be a ${expected}`)];
}

/**
 * The reference validator's absolute URL (Utilities.isAbsoluteUrl): a lower-case token as scheme (a letter, then
 * letters, digits, `_`, `[` or `]`; http, https and urn are such tokens), a colon, then something without spaces.
 */
export function isAbsoluteUrl(url: string): boolean {
  const colon = url.indexOf(':');
  if (colon <= 0 || colon === url.length - 1 || url.includes(' ', colon)) return false;
  if (!isLowerCaseLetter(url.charCodeAt(0))) return false;
  for (let i = 1; i < colon; i++) {
    const c = url.charCodeAt(i);
    if (!(isLowerCaseLetter(c) || (c >= 48 && c <= 57) || c === 95 /* _ */ || c === 91 /* [ */ || c === 93) /* ] */) return false;
  }
  return true;
}

function isLowerCaseLetter(c: number): boolean {
  return c >= 97 && c <= 122;
}

/** A canonical that is neither absolute nor a fragment (#id): it names nothing outside this server. */
export function canonicalNotAbsolute(url: string, contained = false): PrimitiveProblem {
  return contained
    ? problem('canonical-contained-relative', `The canonical URL of a contained resource must be absolute if present (${url})`)
    : problem('canonical-relative', `Canonical URLs must be absolute URLs if they are not fragment references (${url})`);
}

function problem(messageId: string, message: string, severity: 'error' | 'warning' = 'error'): PrimitiveProblem {
  return { messageId, message, severity };
}

/** The reference's plausible years (yearIsValid): from 1800 to 80 years ahead. */
const EARLIEST_REASONABLE_YEAR = 1800;
const LATEST_REASONABLE_YEAR = new Date().getFullYear() + 80;

/** A warning for a valid date whose year is likely a typing error (1900 as 0190, 2024 as 2204). */
function reasonableYear(text: string): PrimitiveProblem[] | undefined {
  const year = (text.charCodeAt(0) - 48) * 1000 + (text.charCodeAt(1) - 48) * 100 + (text.charCodeAt(2) - 48) * 10 + (text.charCodeAt(3) - 48);
  if (year >= EARLIEST_REASONABLE_YEAR && year <= LATEST_REASONABLE_YEAR) return undefined;
  return [problem('date-year-unreasonable', `The value '${text}' is outside the range of reasonable years - check for data entry error`, 'warning')];
}

/** Checks a primitive's JSON value; returns the problems found (usually none, so no allocation then). */
export function checkPrimitive(type: string, value: unknown): PrimitiveProblem[] | undefined {
  // One switch on the type: the JSON kind each type needs is checked in its own case.
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : wrongJsonType('boolean');
    case 'integer':
      if (typeof value !== 'number') return wrongJsonType('number');
      if (!Number.isInteger(value) || (value as number) > 2147483647 || (value as number) < -2147483648) {
        return [problem('primitive-integer', `The value '${value}' is not a valid integer`)];
      }
      return undefined;
    case 'positiveInt':
      if (typeof value !== 'number') return wrongJsonType('number');
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 2147483647) {
        return [problem('primitive-positive-int', `The value '${value}' is not a valid positiveInt (must be 1 or more)`)];
      }
      return undefined;
    case 'unsignedInt':
      if (typeof value !== 'number') return wrongJsonType('number');
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 2147483647) {
        return [problem('primitive-unsigned-int', `The value '${value}' is not a valid unsignedInt (must be 0 or more)`)];
      }
      return undefined;
    case 'decimal':
      if (typeof value !== 'number') return wrongJsonType('number');
      if (!Number.isFinite(value)) return [problem('primitive-decimal', `The value '${value}' is not a valid decimal`)];
      return undefined;
  }
  if (typeof value !== 'string') return wrongJsonType('string');
  const text = value;
  if (text.length === 0) return [problem('primitive-empty', '@value cannot be empty')];
  if (text.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(text, 'utf8') > MAX_STRING_BYTES) {
    return [problem('primitive-too-long', 'value is longer than permitted maximum length of 1 MB (1048576 bytes)')];
  }
  switch (type) {
    case 'string':
      // Two character reads for the usual string; the whole text is scanned only when one end is a space.
      if (!isSpace(text.charCodeAt(0)) && !isSpace(text.charCodeAt(text.length - 1))) return undefined;
      if (onlySpace(text)) return [problem('primitive-whitespace', 'value should not be only whitespace', 'warning')];
      // Shown JSON-escaped, as the reference does: the whitespace is the point.
      return [problem('primitive-string-padded', `value should not start or finish with whitespace '${JSON.stringify(text).slice(1, -1)}'`, 'warning')];
    case 'code':
      return isCode(text) ? undefined : [problem('primitive-code', `The code '${text}' is not valid (whitespace rules)`)];
    case 'id':
      return isId(text) ? undefined : [problem('primitive-id', `The id '${text}' is not valid`)];
    case 'uri':
    case 'url':
    case 'canonical':
      if (WHITESPACE.test(text)) return [problem('primitive-uri-whitespace', `URI values cannot have whitespace ('${text}')`)];
      if (type === 'canonical' && text.charCodeAt(0) !== 35 /* # */ && !isAbsoluteUrl(text)) return [canonicalNotAbsolute(text)];
      if (text.startsWith('oid:')) return [problem('primitive-uri-oid', 'URI values cannot start with oid:')];
      // 'u' first: most URIs are http(s) and stop here.
      if (text.charCodeAt(0) !== 117) return undefined;
      if (text.startsWith('uuid:')) return [problem('primitive-uri-uuid', 'URI values cannot start with uuid:')];
      if (text.startsWith('urn:oid:') && !isValidOid(text)) return [problem('primitive-oid', `URI values cannot have whitespace or be invalid OIDs ('${text}')`)];
      // The uuid before any fragment, as the reference reads it.
      if (text.startsWith('urn:uuid:') && !UUID_ANY_CASE.test(text.includes('#') ? text.slice(0, text.indexOf('#')) : text)) {
        return [problem('primitive-uuid', `UUIDs must be valid and lowercase (${text})`)];
      }
      return undefined;
    case 'oid':
      return isValidOid(text) ? undefined : [problem('primitive-oid', `The value '${text}' is not a valid OID`)];
    case 'uuid':
      return UUID.test(text) ? undefined : [problem('primitive-uuid', `The value '${text}' is not a valid UUID`)];
    case 'date': {
      const form = dateTimeForm(text);
      if (form < YEAR || form > DAY || (form === DAY && !isRealDate(text))) return [problem('primitive-date', `Not a valid date (${text})`)];
      return reasonableYear(text);
    }
    case 'dateTime': {
      const form = dateTimeForm(text);
      if (form === LOCAL) return [problem('primitive-datetime-zone', 'If a date has a time, it must have a timezone')];
      if (form === INVALID || (form >= DAY && !isRealDate(text))) return [problem('primitive-datetime', `Not a valid date/time (${text})`)];
      return reasonableYear(text);
    }
    case 'instant':
      if (dateTimeForm(text) !== ZONED || !isRealDate(text)) return [problem('primitive-instant', `Not a valid instant (${text})`)];
      return undefined;
    case 'time':
      return timeEnd(text, 0) === text.length ? undefined : [problem('primitive-time', `Not a valid time (${text})`)];
    case 'base64Binary':
      // The reference's rules (see base64.ts); a long value is not quoted, as it does not quote it.
      if (!isValidBase64(text)) return [problem('primitive-base64', `The value '${text.length < 100 ? text : '(snip)'}' is not a valid Base64 value`)];
      return hasBase64Whitespace(text) ? [problem('base64-whitespace', BASE64_WHITESPACE_WARNING, 'warning')] : undefined;
  }
  return undefined;
}
