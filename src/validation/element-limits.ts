/**
 * Limits a profile puts on an element through extensions of its definition, as the reference validator applies them
 * (checkPrimitive, checkQuantity, checkAttachment): minLength, regex, maxDecimalPlaces and maxSize. Each is read from
 * the element's own definition, never from its datatype's.
 */
import { isValidBase64 } from './base64.js';
import { fhirPathRegExp } from './fhirpath-regex.js';
import type { IssueType, Severity } from './issues.js';

const MIN_LENGTH = 'http://hl7.org/fhir/StructureDefinition/minLength';
const REGEX = 'http://hl7.org/fhir/StructureDefinition/regex';
const MAX_DECIMAL_PLACES = 'http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces';
const MAX_SIZE = 'http://hl7.org/fhir/StructureDefinition/maxSize';

export interface ElementLimits {
  minLength?: number;
  /** The whole value must match (Java's String.matches); a pattern that does not compile is reported as such. */
  regex?: { source: string; pattern: RegExp | undefined };
  maxDecimalPlaces?: number;
  /** In bytes of decoded content, as the reference reads it. */
  maxSize?: number;
}

export interface LimitProblem {
  severity: Severity;
  code: IssueType;
  messageId: string;
  message: string;
}

interface DefinitionJson {
  extension?: unknown;
  type?: Array<{ extension?: unknown }>;
}

/** The value of an extension, whatever its type, as the text Java's readStringExtension gives. */
function extensionText(extensions: unknown, url: string): string | undefined {
  if (!Array.isArray(extensions)) return undefined;
  const ext = (extensions as Array<Record<string, unknown> | null>).find((e) => e?.url === url);
  if (!ext) return undefined;
  for (const key in ext) {
    if (key.startsWith('value')) {
      const value = ext[key];
      return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
    }
  }
  return undefined;
}

/** A whole number as Java's Integer.parseInt or Long.parseLong reads it; anything else sets no limit. */
function wholeNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^[+-]?\d+$/.test(text) ? Number(text) : undefined;
}

function compileRegex(source: string): ElementLimits['regex'] {
  try {
    return { source, pattern: fhirPathRegExp(`^(?:${source})$`, 'u') };
  } catch {
    return { source, pattern: undefined };
  }
}

/** The limits an element definition states, or undefined (most elements): read once, when the profile is compiled. */
export function limitsOf(def: DefinitionJson): ElementLimits | undefined {
  const extensions = def.extension;
  if (!Array.isArray(extensions) || extensions.length === 0) return undefined;
  const limits: ElementLimits = {};
  const minLength = wholeNumber(extensionText(extensions, MIN_LENGTH));
  if (minLength !== undefined) limits.minLength = minLength;
  let regex = extensionText(extensions, REGEX);
  // As the reference has it: a regex on one of the types replaces the element's own, but only when the element has one.
  if (regex !== undefined) {
    for (const type of def.type ?? []) {
      const onType = extensionText(type.extension, REGEX);
      if (onType !== undefined) {
        regex = onType;
        break;
      }
    }
    limits.regex = compileRegex(regex);
  }
  const maxDecimalPlaces = wholeNumber(extensionText(extensions, MAX_DECIMAL_PLACES));
  if (maxDecimalPlaces !== undefined) limits.maxDecimalPlaces = maxDecimalPlaces;
  const maxSize = wholeNumber(extensionText(extensions, MAX_SIZE));
  if (maxSize !== undefined) limits.maxSize = maxSize;
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/**
 * Digits after the decimal point: as the reference counts them, the characters after the '.' of the number's text
 * when the reader kept it (1.50 has 2), else of the value's shortest form, an exponent counted as the places it gives.
 */
export function decimalPlaces(value: number, written?: string): number {
  if (written !== undefined) return written.includes('.') ? written.length - written.indexOf('.') - 1 : 0;
  const text = String(value);
  const e = text.indexOf('e');
  const mantissa = e < 0 ? text : text.slice(0, e);
  const dot = mantissa.indexOf('.');
  const places = dot < 0 ? 0 : mantissa.length - dot - 1;
  return e < 0 ? places : Math.max(0, places - Number(text.slice(e + 1)));
}

/** Decoded bytes of base64 as commons-codec counts them: three per four characters of the alphabet, others passed over. */
export function base64DecodedLength(text: string): number {
  let alphabet = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47) alphabet++;
  }
  return Math.floor((alphabet * 3) / 4);
}

/** A primitive value against the limits of its definition; blank values are left alone, as the reference does. */
export function primitiveLimitProblems(value: string | number | boolean, typeCode: string, limits: ElementLimits, written?: string): LimitProblem[] {
  const text = written ?? String(value);
  if (text.trim() === '') return [];
  const problems: LimitProblem[] = [];
  if (limits.minLength !== undefined && text.length < limits.minLength) {
    problems.push({ severity: 'error', code: 'invalid', messageId: 'primitive-too-short', message: `Value is ${text.length} characters long, but the minimum length is ${limits.minLength}` });
  }
  const regex = limits.regex;
  if (regex !== undefined) {
    if (regex.pattern === undefined) {
      problems.push({ severity: 'error', code: 'processing', messageId: 'primitive-regex-invalid', message: `The regex '${regex.source}' stated for this element is not a valid regular expression` });
    } else if (!regex.pattern.test(text)) {
      problems.push({ severity: 'error', code: 'invalid', messageId: 'primitive-regex', message: `Element value '${text}' does not meet regex '${regex.source}'` });
    }
  }
  if (typeCode === 'decimal' && typeof value === 'number' && limits.maxDecimalPlaces !== undefined) {
    const places = decimalPlaces(value, written);
    if (places > limits.maxDecimalPlaces) problems.push(tooManyDecimals(places, limits.maxDecimalPlaces));
  }
  if (typeCode === 'base64Binary' && typeof value === 'string' && limits.maxSize !== undefined && isValidBase64(value)) {
    const size = base64DecodedLength(value);
    if (size > limits.maxSize) {
      problems.push({ severity: 'error', code: 'structure', messageId: 'base64-too-long', message: `Base64 size is ${size} bytes which exceeds the stated limit of ${limits.maxSize} bytes` });
    }
  }
  return problems;
}

function tooManyDecimals(places: number, limit: number): LimitProblem {
  return { severity: 'error', code: 'structure', messageId: 'decimal-places', message: `Found ${places} decimal places which exceeds the stated limit of ${limit} digits` };
}

/** A Quantity's or an Attachment's limits, reported at the element itself (the reference's checkQuantity, checkAttachment). */
export function complexLimitProblems(value: Record<string, unknown>, typeCode: string, limits: ElementLimits, writtenValue?: string): LimitProblem[] {
  if (typeCode === 'Quantity' && limits.maxDecimalPlaces !== undefined && typeof value.value === 'number') {
    const places = decimalPlaces(value.value, writtenValue);
    return places > limits.maxDecimalPlaces ? [tooManyDecimals(places, limits.maxDecimalPlaces)] : [];
  }
  if (typeCode === 'Attachment' && limits.maxSize !== undefined) {
    const size = attachmentSize(value);
    if (typeof size === 'string') return [{ severity: 'warning', code: 'structure', messageId: 'attachment-size-unknown', message: size }];
    if (size > limits.maxSize) {
      return [{ severity: 'error', code: 'structure', messageId: 'attachment-too-long', message: `Attachment size is ${size} bytes which exceeds the stated limit of ${limits.maxSize} bytes` }];
    }
  }
  return [];
}

/**
 * The size the reference judges an Attachment by, or why it has none: the decoded data (which it decodes only when a
 * size is stated beside it), else the stated size, else the content at the url, which fhirdq does not fetch.
 */
function attachmentSize(value: Record<string, unknown>): number | string {
  const { data, size, url } = value;
  if (data !== undefined) {
    if (typeof data === 'string' && size !== undefined && isValidBase64(data)) return base64DecodedLength(data);
    return 'Attachment size cannot be checked because no size is stated beside the data';
  }
  if (size !== undefined) {
    return typeof size === 'number' && Number.isInteger(size) && size >= 0 ? size : `Stated Attachment Size ${String(size)} is not valid`;
  }
  if (typeof url === 'string') return `Attachment size cannot be checked because the validator does not fetch ${url}`;
  return 'Attachment size cannot be checked because the attachment has no data, size or url';
}
