/**
 * The primitive checks scan character codes; these tests hold them to the regexes of the R4 spec
 * (datatypes.html) that they replace, over every UTF-16 code unit and over generated values.
 */
import { describe, expect, it } from 'vitest';
import { checkPrimitive } from '../../src/validation/primitives.js';

const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const ZONE = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const MONTH = '(0[1-9]|1[0-2])';
const DAY = '(0[1-9]|[1-2][0-9]|3[0-1])';
const SPEC: Record<string, RegExp> = {
  date: new RegExp(`^${YEAR}(-${MONTH}(-${DAY})?)?$`),
  dateTime: new RegExp(`^${YEAR}(-${MONTH}(-${DAY}(T${TIME}${ZONE})?)?)?$`),
  instant: new RegExp(`^${YEAR}-${MONTH}-${DAY}T${TIME}${ZONE}$`),
  time: new RegExp(`^${TIME}$`),
  id: /^[A-Za-z0-9\-.]{1,64}$/,
};
const LOCAL_DATE_TIME = new RegExp(`^${YEAR}-${MONTH}-${DAY}T${TIME}$`);

/** The day exists in its month (the regexes allow 2023-02-31). */
function realDate(text: string): boolean {
  if (text.length < 10) return true;
  const [y, m, d] = [Number(text.slice(0, 4)), Number(text.slice(5, 7)), Number(text.slice(8, 10))];
  return new Date(Date.UTC(2000, m - 1, d)).getUTCMonth() === m - 1 && (m !== 2 || d !== 29 || (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0);
}

/** A valid date's year outside 1800 to 80 years ahead is a warning (the reference's yearIsValid). */
function reasonableYear(text: string): string | undefined {
  const year = Number(text.slice(0, 4));
  return year >= 1800 && year <= new Date().getFullYear() + 80 ? undefined : 'date-year-unreasonable';
}

/** The messageId the spec regexes give, or undefined when the value passes. */
/** The reference's OID rule: well formed, and a root of more than a few digits (its lastIndexOf('.') >= 4) or under 1.3. */
function validOid(text: string): boolean {
  const oid = text.slice('urn:oid:'.length);
  return /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/.test(text) && (oid.lastIndexOf('.') >= 4 || oid.startsWith('1.3'));
}

/** Java's Character.isWhitespace but the space: the ASCII controls it names and the separators but the non-breaking ones. */
const JAVA_WHITESPACE_BUT_SPACE = /[\t\n\v\f\r\x1c-\x1f\u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]/;

function expected(type: string, text: string): string | undefined {
  switch (type) {
    case 'date':
      return SPEC.date!.test(text) && realDate(text) ? reasonableYear(text) : 'primitive-date';
    case 'dateTime':
      if (LOCAL_DATE_TIME.test(text)) return 'primitive-datetime-zone';
      return SPEC.dateTime!.test(text) && realDate(text) ? reasonableYear(text) : 'primitive-datetime';
    case 'instant':
      return SPEC.instant!.test(text) && realDate(text) ? undefined : 'primitive-instant';
    case 'time':
      return SPEC.time!.test(text) ? undefined : 'primitive-time';
    case 'id':
      return SPEC.id!.test(text) ? undefined : 'primitive-id';
    case 'code':
      // The reference's rule rather than the spec's regex: String.trim, single spaces, Character.isWhitespace.
      if (/^[\x00-\x20]|[\x00-\x20]$|  /.test(text) || JAVA_WHITESPACE_BUT_SPACE.test(text)) return 'primitive-code';
      return undefined;
    case 'uri':
    case 'canonical':
      if (/\s/.test(text)) return 'primitive-uri-whitespace';
      // Utilities.isAbsoluteUrl of the reference validator, as a regex.
      if (type === 'canonical' && !text.startsWith('#') && !/^[a-z][a-z0-9_[\]]*:[^ ]+$/s.test(text)) return 'canonical-relative';
      if (text.startsWith('oid:')) return 'primitive-uri-oid';
      if (text.startsWith('uuid:')) return 'primitive-uri-uuid';
      if (text.startsWith('urn:oid:') && !validOid(text)) return 'primitive-oid';
      if (text.startsWith('urn:uuid:') && !/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text.split('#')[0]!.toLowerCase())) return 'primitive-uuid';
      return undefined;
    case 'base64Binary':
      // The Java validator's rule: the alphabet's characters (any letter or digit, + / =) counted in fours.
      if ((text.match(/[\p{L}\p{Nd}+/=]/gu)?.length ?? 0) % 4 !== 0) return 'primitive-base64';
      return JAVA_WHITESPACE_BUT_SPACE.test(text) || text.includes(' ') ? 'base64-whitespace' : undefined;
  }
  throw new Error(type);
}

const actual = (type: string, text: string) => checkPrimitive(type, text)?.[0]?.messageId;

/** Every value one edit away from the seeds: each character replaced by a few others, dropped or doubled. */
function mutations(seeds: string[], alphabet: string): string[] {
  const out = new Set(seeds);
  for (const s of seeds) {
    for (let i = 0; i <= s.length; i++) {
      out.add(s.slice(0, i) + s.slice(i + 1));
      out.add(s.slice(0, i) + s.charAt(i) + s.slice(i));
      for (const c of alphabet) {
        out.add(s.slice(0, i) + c + s.slice(i + 1));
        out.add(s.slice(0, i) + c + s.slice(i));
      }
    }
  }
  out.delete('');
  return [...out];
}

describe('primitive scanners agree with the spec regexes', () => {
  it('treats exactly the regex \\s code units as whitespace (string, uri), and Java\'s for code and base64Binary', () => {
    const wrong: string[] = [];
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      const space = /\s/.test(ch);
      if ((actual('string', ch) === 'primitive-whitespace') !== space) wrong.push(`string U+${c.toString(16)}`);
      if ((actual('uri', `a${ch}b`) === 'primitive-uri-whitespace') !== space) wrong.push(`uri U+${c.toString(16)}`);
      if (actual('code', `a${ch}b`) !== expected('code', `a${ch}b`)) wrong.push(`code U+${c.toString(16)}`);
      if (actual('base64Binary', `QUJD${ch}`) !== expected('base64Binary', `QUJD${ch}`)) wrong.push(`base64 U+${c.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  const dates = ['2024', '2024-02', '2024-02-29', '2023-02-29', '2024-04-31', '2000-02-29', '1900-02-29', '0001-01-01', '0000-01-01', '2024-12-31'];
  const times = ['T10:00:00Z', 'T23:59:60.123+14:00', 'T00:00:00-13:59', 'T24:00:00Z', 'T10:00:00+14:01', 'T10:00:00.Z', 'T10:00:00'];
  const seeds = [...dates, ...dates.flatMap((d) => times.map((t) => `${d}${t}`))];

  for (const type of ['date', 'dateTime', 'instant']) {
    it(`${type}: every value one edit away from valid and invalid seeds`, () => {
      const values = mutations(seeds.filter((s) => s.length <= 19 || type !== 'date'), '0129-:T.Z+ ');
      for (const v of values) expect(actual(type, v), v).toBe(expected(type, v));
    });
  }

  it('uri: every value one edit away from OIDs and UUIDs', () => {
    const uris = mutations(['urn:oid:2.16.840.1.113883.2.4', 'urn:oid:1.0', 'urn:oid:1.2.3', 'urn:oid:1.3.6', 'urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'http://x.org/a'], '0.9aF:\u212a\u0130 ');
    for (const v of uris) expect(actual('uri', v), v).toBe(expected('uri', v));
    for (const v of uris) expect(actual('oid', v), v).toBe(validOid(v) ? undefined : 'primitive-oid');
  });

  it('canonical: every value one edit away from absolute, fragment and relative seeds', () => {
    const canonicals = mutations(['http://x.org/a|1', 'urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301', '#vs', 'oid:1.2', 'a_1[x]:b', 'ValueSet/x'], 'aZ0_[:#/|+ ');
    for (const v of canonicals) expect(actual('canonical', v), v).toBe(expected('canonical', v));
  });

  it('time, id, code and base64Binary: every value one edit away from the seeds', () => {
    for (const v of mutations(['10:00:00', '23:59:60.5', '00:00:00.000'], '0369:. ')) expect(actual('time', v), v).toBe(expected('time', v));
    for (const v of mutations(['a-b.c', 'A'.repeat(63)], 'zZ09-._ /')) expect(actual('id', v), v).toBe(expected('id', v));
    for (const v of mutations(['a b', 'final', 'x y z'], 'a \t\u00a0')) expect(actual('code', v), v).toBe(expected('code', v));
    for (const v of mutations(['QUJD', 'QUI=', 'QQ==', 'QU JD\nRA==', 'QUJDRA=='], 'A+/= \r_')) expect(actual('base64Binary', v), v).toBe(expected('base64Binary', v));
  });
});
