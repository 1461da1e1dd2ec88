/** base64Binary and Attachment.data as the Java validator judges them, on the upstream base64-ws test cases. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { attachmentProblems, hasBase64Whitespace, isValidBase64, strictDecodeError } from '../../src/validation/base64.js';
import { useValidator } from './helpers.js';

const validator = useValidator([]);
const caseFile = (name: string) => JSON.parse(readFileSync(new URL(`./base64-cases/r4-${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const ATTACHMENT = 'Parameters.parameter[0].valueAttachment';

describe('the Java outcomes of the base64-ws cases', () => {
  // name → the Java validator's errors and warnings (messages abridged to what identifies them)
  const outcomes: Record<string, { errors: string[]; warnings: string[] }> = {
    'bad-char': { errors: ['not valid base64: Illegal base64 character 21'], warnings: ['SHOULD not contain any whitespace'] },
    'bad-length': { errors: ["The value '(snip)' is not a valid Base64 value"], warnings: [] },
    'bad-padding': { errors: ['not valid base64: Input byte array has incorrect ending byte at 56'], warnings: ['SHOULD not contain any whitespace'] },
    'wrong-hash': { errors: ["The hash of the data did not match the data (stated: 'LEZwlbCg5nvlH2vQD4DLIRiEbdw=', actual: '0TUjD0LsI0HVJR71SRAloD71d+o=')"], warnings: ['SHOULD not contain any whitespace'] },
    'wrong-size': { errors: ['Stated Attachment Size 999 does not match actual attachment size 116'], warnings: ['SHOULD not contain any whitespace'] },
    spaces: { errors: [], warnings: ['SHOULD not contain any whitespace'] },
  };
  for (const [name, expected] of Object.entries(outcomes)) {
    it(`r4-${name}`, () => {
      const issues = validator().validateToIssues(caseFile(name) as never).filter((i) => i.path.startsWith(ATTACHMENT));
      const messages = (severity: string) => issues.filter((i) => i.severity === severity).map((i) => i.message);
      expect(messages('error')).toHaveLength(expected.errors.length);
      expected.errors.forEach((text, i) => expect(messages('error')[i]).toContain(text));
      expect(messages('warning')).toHaveLength(expected.warnings.length);
      expected.warnings.forEach((text, i) => expect(messages('warning')[i]).toContain(text));
    });
  }
});

describe('the rules', () => {
  it('counts only the alphabet, as the Java primitive check does', () => {
    expect(isValidBase64('QUJD')).toBe(true);
    expect(isValidBase64('QUJ')).toBe(false);
    // Outside the alphabet and not counted: the decoding of an Attachment catches it, a primitive alone passes.
    expect(isValidBase64('QU!JD')).toBe(true);
    expect(isValidBase64('%%%2@()()')).toBe(false);
    expect(isValidBase64(' QU\r\nJD ')).toBe(true);
  });

  it('decodes strictly, with java.util.Base64 messages', () => {
    expect(strictDecodeError('QUJD')).toBeUndefined();
    expect(strictDecodeError('QUI=')).toBeUndefined();
    expect(strictDecodeError('QQ==')).toBeUndefined();
    expect(strictDecodeError('QQ')).toBeUndefined();
    expect(strictDecodeError('Q')).toBe('Last unit does not have enough valid bits');
    expect(strictDecodeError('QQ=')).toBe('Input byte array has wrong 4-byte ending unit');
    expect(strictDecodeError('QUJD=')).toBe('Input byte array has wrong 4-byte ending unit');
    expect(strictDecodeError('QQ==QUJD')).toBe('Input byte array has incorrect ending byte at 4');
    expect(strictDecodeError('QU!D')).toBe('Illegal base64 character 21');
  });

  it('finds whitespace only where there is some', () => {
    expect(hasBase64Whitespace('QUJD')).toBe(false);
    expect(hasBase64Whitespace('QU\tJD')).toBe(true);
    // A non-breaking space is not whitespace to Java
    expect(hasBase64Whitespace('QU\u00a0JD')).toBe(false);
  });
});

describe('long data, checked through a native decode and re-encode when canonical', () => {
  const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 256));
  const data = bytes.toString('base64');
  const sha1 = createHash('sha1').update(bytes).digest('base64');
  const problems = (text: string, size = bytes.length, hash = sha1) => attachmentProblems({ data: text, size, hash }).map((p) => p.message);

  it('canonical data passes, and its size and hash are still compared', () => {
    expect([isValidBase64(data), hasBase64Whitespace(data), strictDecodeError(data)]).toEqual([true, false, undefined]);
    expect(problems(data)).toEqual([]);
    expect(problems(data, 299)).toEqual(['Stated Attachment Size 299 does not match actual attachment size 300']);
    expect(problems(data, 300, 'AAAA')).toEqual([expect.stringContaining("(stated: 'AAAA', actual: '" + sha1 + "')")]);
  });

  it('data that is not canonical gets the exact verdicts', () => {
    const illegal = data.slice(0, 100) + '-' + data.slice(101);
    expect(isValidBase64(illegal)).toBe(false);
    expect(strictDecodeError(illegal)).toBe('Illegal base64 character 2d');
    const wrapped = data.replace(/(.{76})/g, '$1\n');
    expect([isValidBase64(wrapped), hasBase64Whitespace(wrapped)]).toEqual([true, true]);
    expect(problems(wrapped)).toEqual([]);
    const unpadded = Buffer.from(bytes.subarray(0, 298)).toString('base64').replace(/=+$/, '');
    expect(strictDecodeError(unpadded)).toBeUndefined();
    expect(strictDecodeError(unpadded + '=')).toBe('Input byte array has wrong 4-byte ending unit');
  });
});
