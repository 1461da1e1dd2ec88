/** Lexical checks of the FHIR R4 primitive types (http://hl7.org/fhir/R4/datatypes.html#primitive). */

export interface PrimitiveProblem {
  messageId: string;
  message: string;
  severity?: 'error' | 'warning';
}

const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const ZONE = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const MONTH = '(0[1-9]|1[0-2])';
const DAY = '(0[1-9]|[1-2][0-9]|3[0-1])';

const DATE = new RegExp(`^${YEAR}(-${MONTH}(-${DAY})?)?$`);
const DATE_TIME = new RegExp(`^${YEAR}(-${MONTH}(-${DAY}(T${TIME}${ZONE})?)?)?$`);
const DATE_TIME_NO_ZONE = new RegExp(`^${YEAR}-${MONTH}-${DAY}T${TIME}$`);
const INSTANT = new RegExp(`^${YEAR}-${MONTH}-${DAY}T${TIME}${ZONE}$`);
const TIME_RE = new RegExp(`^${TIME}$`);
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const OID = /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/;
const UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CODE = /^[^\s]+( [^\s]+)*$/;
// Base64 is groups of 4: with the length checked apart, one character class beats a repeated group on attachments of megabytes.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /\s/;
const MAX_STRING_BYTES = 1024 * 1024;

export const PRIMITIVE_TYPES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

/** Days per month, leap years included: the regexes allow 2023-02-31. */
function isRealDate(value: string): boolean {
  // Read by character codes: a regex match would allocate its groups for every date validated.
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  if (year < 0 || month < 0 || day < 0 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return true;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : (DAYS_IN_MONTH[month - 1] ?? 31);
  return day <= days;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number written by `count` ASCII digits at `from`, or -1. */
function digits(value: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = value.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    n = n * 10 + c;
  }
  return n;
}

function wrongJsonType(expected: 'boolean' | 'number' | 'string'): PrimitiveProblem[] {
  return [problem('primitive-json-type', `Error parsing JSON: the primitive value must be a ${expected}`)];
}

function problem(messageId: string, message: string, severity: 'error' | 'warning' = 'error'): PrimitiveProblem {
  return { messageId, message, severity };
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
    case 'markdown':
      if (type === 'string' && text.trim().length === 0) {
        return [problem('primitive-whitespace', 'value should not be only whitespace', 'warning')];
      }
      return undefined;
    case 'code':
      return CODE.test(text) ? undefined : [problem('primitive-code', `The code '${text}' is not valid (whitespace rules)`)];
    case 'id':
      return ID.test(text) ? undefined : [problem('primitive-id', `The id '${text}' is not valid`)];
    case 'uri':
    case 'url':
    case 'canonical':
      if (/\s/.test(text)) return [problem('primitive-uri-whitespace', `URI values cannot have whitespace ('${text}')`)];
      if (text.startsWith('urn:oid:') && !OID.test(text)) return [problem('primitive-oid', `URI values cannot have whitespace or be invalid OIDs ('${text}')`)];
      if (text.startsWith('urn:uuid:') && !UUID.test(text.toLowerCase())) {
        return [problem('primitive-uuid', `UUIDs must be valid and lowercase (${text})`)];
      }
      return undefined;
    case 'oid':
      return OID.test(text) ? undefined : [problem('primitive-oid', `The value '${text}' is not a valid OID`)];
    case 'uuid':
      return UUID.test(text) ? undefined : [problem('primitive-uuid', `The value '${text}' is not a valid UUID`)];
    case 'date':
      if (!DATE.test(text) || !isRealDate(text)) return [problem('primitive-date', `Not a valid date (${text})`)];
      return undefined;
    case 'dateTime':
      if (DATE_TIME_NO_ZONE.test(text)) return [problem('primitive-datetime-zone', 'If a date has a time, it must have a timezone')];
      if (!DATE_TIME.test(text) || !isRealDate(text)) return [problem('primitive-datetime', `Not a valid date/time (${text})`)];
      return undefined;
    case 'instant':
      if (!INSTANT.test(text) || !isRealDate(text)) return [problem('primitive-instant', `Not a valid instant (${text})`)];
      return undefined;
    case 'time':
      return TIME_RE.test(text) ? undefined : [problem('primitive-time', `Not a valid time (${text})`)];
    case 'base64Binary': {
      const compact = WHITESPACE.test(text) ? text.replace(/\s+/g, '') : text;
      return compact.length % 4 === 0 && BASE64.test(compact) ? undefined : [problem('primitive-base64', `The value '${text}' is not a valid Base64 value`)];
    }
  }
  return undefined;
}

