/**
 * base64Binary as the Java validator judges it. Written by hand: Node's Buffer decoder is lenient (it skips what it
 * cannot read), and the reference's verdicts come from two Java rules no JavaScript library reproduces:
 * - the primitive check counts the alphabet's characters (letters, digits, + / =) and wants a multiple of four,
 *   passing over whitespace and, notably, over characters outside the alphabet;
 * - an Attachment's data is then decoded strictly (java.util.Base64's basic decoder, whitespace removed first), and
 *   only data that decodes has its size and hash compared.
 */
import { createHash } from 'node:crypto';

/** A character outside the alphabet and padding: when there is none, the text is plain base64 without whitespace. */
const NOT_PLAIN_BASE64 = /[^A-Za-z0-9+/=]/;
const LETTER_OR_DIGIT = /[\p{L}\p{Nd}]/u;
const SPACE_SEPARATOR = /[\p{Zs}\p{Zl}\p{Zp}]/u;

/** Java's Character.isWhitespace: separators except the non-breaking ones, and the ASCII controls it names. */
export function isJavaWhitespace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
  return c !== 0xa0 && c !== 0x2007 && c !== 0x202f && SPACE_SEPARATOR.test(String.fromCharCode(c));
}

function isBase64AlphabetCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
}

/** The alphabet, padding and the ASCII characters Java counts as whitespace: base64 wrapped in lines, as it usually is. */
const ALPHABET_AND_ASCII_SPACE = /^[A-Za-z0-9+/=\t\n\x0b\f\r \x1c-\x1f]*$/;
const ASCII_JAVA_SPACE = /[\t\n\x0b\f\r \x1c-\x1f]/g;

/** The text without its whitespace when it holds nothing but the alphabet, padding and ASCII whitespace (regexes scan it natively, 10-20x faster than a loop). */
function compactAscii(text: string): string | undefined {
  return ALPHABET_AND_ASCII_SPACE.test(text) ? text.replace(ASCII_JAVA_SPACE, '') : undefined;
}

/** Below this length a scan costs less than a decode and an encode. */
const CANONICAL_MIN_LENGTH = 64;
let lastText: string | undefined;
let lastBytes: Buffer | undefined;

/**
 * The bytes of a text that is canonical base64 (what Node's encoder writes for them: the alphabet only, padded, no
 * whitespace, so every check below passes), else undefined. Node's decoder and encoder are native and 5-10x faster
 * than a scan of the text; the last text is remembered, as the primitive and Attachment checks of every walk of a
 * resource meet the same data.
 */
function canonicalBytes(text: string): Buffer | undefined {
  if (text !== lastText) {
    const bytes = Buffer.from(text, 'base64');
    lastBytes = bytes.toString('base64') === text ? bytes : undefined;
    lastText = text;
  }
  return lastBytes;
}

const isLongCanonical = (text: string) => text.length >= CANONICAL_MIN_LENGTH && canonicalBytes(text) !== undefined;

/** The verdict of the primitive check: a multiple of four counted characters (none at all also passes). */
export function isValidBase64(text: string): boolean {
  if (isLongCanonical(text)) return true;
  if (!NOT_PLAIN_BASE64.test(text)) return text.length % 4 === 0;
  const compact = compactAscii(text);
  if (compact !== undefined) return compact.length % 4 === 0;
  let counted = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isJavaWhitespace(c)) continue;
    if (isBase64AlphabetCode(c) || c === 61 || (c >= 128 && LETTER_OR_DIGIT.test(text[i]!))) counted++;
  }
  return counted % 4 === 0;
}

/** Whitespace in base64, which R4 allows but RFC 4648 advises against (a warning). */
export function hasBase64Whitespace(text: string): boolean {
  if (isLongCanonical(text) || !NOT_PLAIN_BASE64.test(text)) return false;
  // Past the first test, a text of the alphabet and ASCII whitespace has some whitespace.
  if (ALPHABET_AND_ASCII_SPACE.test(text)) return true;
  for (let i = 0; i < text.length; i++) if (isJavaWhitespace(text.charCodeAt(i))) return true;
  return false;
}

export const BASE64_WHITESPACE_WARNING =
  'Base64 encoded values SHOULD not contain any whitespace (per RFC 4648). Note that non-validating readers are encouraged to accept whitespace anyway';

const STRICT_SHAPE = /^[A-Za-z0-9+/]*(={0,2})$/;

/** Why java.util.Base64's basic decoder rejects whitespace-free text (its own messages), or undefined when it decodes. */
export function strictDecodeError(text: string): string | undefined {
  if (isLongCanonical(text)) return undefined;
  // Most data decodes: the alphabet then at most two '=', with a unit length the padding allows; the loop finds what is wrong.
  const padded = STRICT_SHAPE.exec(text);
  if (padded !== null) {
    const inUnit = (text.length - padded[1]!.length) % 4;
    const padding = padded[1]!.length;
    if (padding === 0 ? inUnit !== 1 : padding === 1 ? inUnit === 3 : inUnit === 2) return undefined;
  }
  let inUnit = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 61) {
      // Padding ends the data: '==' after two characters of a unit, '=' after three.
      let end = i + 1;
      if (inUnit === 2) {
        if (text.charCodeAt(end) !== 61) return 'Input byte array has wrong 4-byte ending unit';
        end++;
      } else if (inUnit === 0) return 'Input byte array has wrong 4-byte ending unit';
      else if (inUnit === 1) return 'Last unit does not have enough valid bits';
      return end < text.length ? `Input byte array has incorrect ending byte at ${end}` : undefined;
    }
    if (!isBase64AlphabetCode(c)) return `Illegal base64 character ${c.toString(16)}`;
    inUnit = (inUnit + 1) % 4;
  }
  // Padding may be left out, but one character cannot end the data.
  return inUnit === 1 ? 'Last unit does not have enough valid bits' : undefined;
}

export interface AttachmentProblem {
  messageId: 'attachment-data-invalid' | 'attachment-size' | 'attachment-hash';
  code: 'structure' | 'value';
  message: string;
  /** Below the Attachment: the member the problem is about, or '' for the Attachment itself. */
  member: '' | '.size' | '.hash';
}

/** Attachment.data against its stated size and hash, as the reference checks them; none when data is absent or invalid. */
export function attachmentProblems(attachment: Record<string, unknown>): AttachmentProblem[] {
  const data = attachment.data;
  // Data the primitive check rejects has its error there already.
  if (typeof data !== 'string' || data.length === 0 || !isValidBase64(data)) return [];
  const compact = hasBase64Whitespace(data) ? (compactAscii(data) ?? removeJavaWhitespace(data)) : data;
  const decodeError = strictDecodeError(compact);
  if (decodeError !== undefined) {
    return [{ messageId: 'attachment-data-invalid', code: 'structure', message: `The base64 content in the data element is not valid base64: ${decodeError}`, member: '' }];
  }
  const problems: AttachmentProblem[] = [];
  const bytes = (compact.length >= CANONICAL_MIN_LENGTH ? canonicalBytes(compact) : undefined) ?? Buffer.from(compact, 'base64');
  if (typeof attachment.size === 'number' && attachment.size !== bytes.length) {
    problems.push({ messageId: 'attachment-size', code: 'value', message: `Stated Attachment Size ${attachment.size} does not match actual attachment size ${bytes.length}`, member: '.size' });
  }
  if (typeof attachment.hash === 'string') {
    const actual = createHash('sha1').update(bytes).digest('base64');
    if (actual !== attachment.hash) {
      problems.push({ messageId: 'attachment-hash', code: 'structure', message: `The hash of the data did not match the data (stated: '${attachment.hash}', actual: '${actual}')`, member: '.hash' });
    }
  }
  return problems;
}

function removeJavaWhitespace(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) if (!isJavaWhitespace(text.charCodeAt(i))) out += text[i];
  return out;
}
