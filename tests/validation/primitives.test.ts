/** Lexical rules of the R4 primitive types (http://hl7.org/fhir/R4/datatypes.html#primitive). */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, useValidator } from './helpers.js';

const validator = useValidator([]);
const check = (resource: Record<string, unknown>) => validator().validateToIssues(resource as never);

/** An extension carries every primitive type as value[x], so one carrier tests them all at the same path. */
function carrier(type: string, value: unknown): Record<string, unknown> {
  const key = `value${type.charAt(0).toUpperCase()}${type.slice(1)}`;
  return { resourceType: 'Basic', code: { text: 'carrier' }, extension: [{ url: 'http://fhirdq.test/ext/carrier', [key]: value }] };
}

const pathOf = (type: string) => `Basic.extension[0].value${type.charAt(0).toUpperCase()}${type.slice(1)}`;

interface Case {
  type: string;
  valid: unknown[];
  invalid: Array<[unknown, string]>;
}

const CASES: Case[] = [
  {
    type: 'date',
    valid: ['2024', '2024-02', '2024-02-29', '0001-01-01'],
    invalid: [['2023-02-29', 'primitive-date'], ['2024-04-31', 'primitive-date'], ['2024-13-01', 'primitive-date'], ['2024-1-01', 'primitive-date'], ['2024-01-01T10:00:00Z', 'primitive-date'], ['0000', 'primitive-date']],
  },
  {
    type: 'dateTime',
    valid: ['2024', '2024-02', '2024-02-29', '2024-02-29T10:00:00Z', '2024-02-29T10:00:00.123+01:00', '2024-06-30T23:59:59-05:00'],
    invalid: [
      ['2024-01-01T10:00:00', 'primitive-datetime-zone'],
      ['2023-02-29T10:00:00Z', 'primitive-datetime'],
      ['2024-01-01T24:00:00Z', 'primitive-datetime'],
      ['2024-01-01T10:00Z', 'primitive-datetime'],
      ['2024-01-01 10:00:00Z', 'primitive-datetime'],
      ['2024-01-01T10:00:00+15:00', 'primitive-datetime'],
    ],
  },
  {
    type: 'instant',
    valid: ['2024-01-01T10:00:00Z', '2024-01-01T10:00:00.5+14:00'],
    invalid: [['2024-01-01', 'primitive-instant'], ['2024-01-01T10:00:00', 'primitive-instant'], ['2024-04-31T10:00:00Z', 'primitive-instant']],
  },
  {
    type: 'time',
    valid: ['00:00:00', '23:59:59.5'],
    invalid: [['10:00', 'primitive-time'], ['24:00:00', 'primitive-time'], ['10:00:00Z', 'primitive-time']],
  },
  {
    type: 'integer',
    valid: [0, -2147483648, 2147483647],
    invalid: [[2147483648, 'primitive-integer'], [-2147483649, 'primitive-integer'], [1.5, 'primitive-integer'], ['1', 'primitive-json-type']],
  },
  {
    type: 'positiveInt',
    valid: [1, 2147483647],
    invalid: [[0, 'primitive-positive-int'], [-1, 'primitive-positive-int'], [2147483648, 'primitive-positive-int'], [1.5, 'primitive-positive-int']],
  },
  {
    type: 'unsignedInt',
    valid: [0, 2147483647],
    invalid: [[-1, 'primitive-unsigned-int'], [2147483648, 'primitive-unsigned-int'], [0.5, 'primitive-unsigned-int']],
  },
  { type: 'decimal', valid: [0, -3, 1.5, 1e-7], invalid: [['1.5', 'primitive-json-type']] },
  { type: 'boolean', valid: [true, false], invalid: [['true', 'primitive-json-type'], [1, 'primitive-json-type']] },
  {
    type: 'uri',
    // A fragment after a uuid names a part of what the uuid names (upstream bundle-urn's NarrativeLink).
    valid: ['http://example.nl/a', 'urn:oid:2.16.840.1.113883.2.4.6.3', 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520', 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520#section-1', 'relative/path'],
    invalid: [
      ['http://example.nl/a b', 'primitive-uri-whitespace'],
      ['urn:uuid:c757873d-ec9a#section-1', 'primitive-uuid'],
      [' http://example.nl/a', 'primitive-uri-whitespace'],
      ['urn:oid:2.16.0840', 'primitive-oid'],
      ['urn:uuid:c757873d-ec9a', 'primitive-uuid'],
      ['oid:2.16.840.1.113883', 'primitive-uri-oid'],
      ['uuid:c757873d-ec9a-4326-a141-556f43239520', 'primitive-uri-uuid'],
    ],
  },
  { type: 'url', valid: ['https://example.nl/fhir/Patient/1'], invalid: [['https://example.nl/a\tb', 'primitive-uri-whitespace']] },
  {
    type: 'canonical',
    valid: ['http://hl7.org/fhir/StructureDefinition/Patient|4.0.1', '#vs1', 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520', 'urn:iso:std:iso:3166', 'mailto:a@b.nl'],
    invalid: [
      ['http://hl7.org/fhir/StructureDefinition/Patient |4.0.1', 'primitive-uri-whitespace'],
      ['StructureDefinition/nl-core-Patient', 'canonical-relative'],
      ['Patient', 'canonical-relative'],
      ['HTTP://hl7.org/fhir/ValueSet/x', 'canonical-relative'],
      ['http:', 'canonical-relative'],
      ['svn+ssh://host/x', 'canonical-relative'],
    ],
  },
  {
    type: 'oid',
    valid: ['urn:oid:2.16.840.1.113883', 'urn:oid:1.3.6'],
    // The root of 0.1 is too short to have been assigned (the reference's rule).
    invalid: [['2.16.840.1', 'primitive-oid'], ['urn:oid:2.16.0840', 'primitive-oid'], ['urn:oid:3.1', 'primitive-oid'], ['urn:oid:0.1', 'primitive-oid']],
  },
  {
    type: 'uuid',
    valid: ['urn:uuid:c757873d-ec9a-4326-a141-556f43239520'],
    invalid: [['c757873d-ec9a-4326-a141-556f43239520', 'primitive-uuid'], ['urn:uuid:C757873D-EC9A-4326-A141-556F43239520', 'primitive-uuid'], ['urn:uuid:c757873d', 'primitive-uuid']],
  },
  {
    type: 'code',
    // As the reference judges codes: a non-breaking space is no whitespace to Java's Character.isWhitespace.
    valid: ['abc', 'a b', 'http://x|y', 'CHEST\u00a0', '\u00a0'],
    invalid: [[' abc', 'primitive-code'], ['abc ', 'primitive-code'], ['a  b', 'primitive-code'], ['a\u2003b', 'primitive-code'], ['\u0001a', 'primitive-code'], ['', 'primitive-empty']],
  },
  {
    type: 'id',
    valid: ['a', 'A-1.b', 'x'.repeat(64)],
    invalid: [['a_b', 'primitive-id'], ['a b', 'primitive-id'], ['x'.repeat(65), 'primitive-id'], ['', 'primitive-empty']],
  },
  {
    type: 'base64Binary',
    // The Java validator counts the alphabet's characters only (base64.ts): misplaced padding and foreign characters
    // pass here, and an Attachment's data is decoded strictly.
    valid: ['aGVsbG8=', 'AAAA', 'aGk=', 'aA==', '!!!!', 'A===', 'aG=k', 'aG!Vs\u00e9bG8'],
    invalid: [
      ['aGVsbG8', 'primitive-base64'], ['aGVsbG8=A', 'primitive-base64'], ['aGVsbG8==', 'primitive-base64'], ['%%%2@()()', 'primitive-base64'],
    ],
  },
  { type: 'string', valid: ['x', 'twee woorden', 'ß€😀'], invalid: [['', 'primitive-empty'], ['x'.repeat(1024 * 1024 + 1), 'primitive-too-long']] },
  { type: 'markdown', valid: ['Use **bold** and `code`', 'a \\<b> escaped'], invalid: [['', 'primitive-empty'], ['<b>bold</b>', 'markdown-html']] },
];

describe.each(CASES)('$type', ({ type, valid, invalid }) => {
  it.each(invalid.map(([value, id]) => [JSON.stringify(value).slice(0, 40), value, id] as const))('rejects %s', (_label, value, messageId) => {
    expectIssue(check(carrier(type, value)), messageId, pathOf(type));
  });

  it('accepts valid values', () => {
    for (const value of valid) expectNoErrors(check(carrier(type, value)));
  });
});

describe('base64Binary whitespace', () => {
  it('is allowed in R4, with a warning', () => {
    for (const value of ['aGVs bG8=', 'aG\nVs\tbG8=']) {
      const issues = check(carrier('base64Binary', value));
      expectNoErrors(issues);
      expectIssue(issues, 'base64-whitespace', pathOf('base64Binary'), 'warning');
    }
  });
});

describe('primitives on resource elements', () => {
  it('checks dates of real elements at their own paths', () => {
    expectIssue(check({ resourceType: 'Patient', birthDate: '1970-02-30' }), 'primitive-date', 'Patient.birthDate');
    expectNoErrors(check({ resourceType: 'Patient', birthDate: '1972-02-29' }));
  });

  it('requires a timezone once a dateTime has a time', () => {
    const obs = (effectiveDateTime: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime });
    expectIssue(check(obs('2024-03-01T08:30:00')), 'primitive-datetime-zone', 'Observation.effectiveDateTime');
    expectNoErrors(check(obs('2024-03-01T08:30:00+01:00')));
  });

  it('requires a full instant with zone in meta.lastUpdated', () => {
    expectIssue(check({ resourceType: 'Patient', meta: { lastUpdated: '2024-03-01' } }), 'primitive-instant', 'Patient.meta.lastUpdated');
    expectNoErrors(check({ resourceType: 'Patient', meta: { lastUpdated: '2024-03-01T08:30:00Z' } }));
  });

  it('checks positiveInt and unsignedInt inside datatypes', () => {
    const bad = { resourceType: 'Patient', telecom: [{ system: 'phone', value: '010', rank: 0 }], photo: [{ contentType: 'image/png', size: -1 }] };
    const issues = check(bad);
    expectIssue(issues, 'primitive-positive-int', 'Patient.telecom[0].rank');
    expectIssue(issues, 'primitive-unsigned-int', 'Patient.photo[0].size');
    expectNoErrors(check({ resourceType: 'Patient', telecom: [{ system: 'phone', value: '010', rank: 1 }], photo: [{ contentType: 'image/png', size: 0 }] }));
  });

  it('warns, without error, about a string of whitespace only', () => {
    const issues = check({ resourceType: 'Patient', name: [{ family: '   ' }] });
    expectIssue(issues, 'primitive-whitespace', 'Patient.name[0].family', 'warning');
    expectNoErrors(issues);
    expect(check({ resourceType: 'Patient', name: [{ family: 'Visser' }] }).map((i) => i.messageId)).not.toContain('primitive-whitespace');
  });

  it('warns, without error, about a year that is likely a typing error, and an attachment that says nothing', () => {
    const issues = check({ resourceType: 'Patient', birthDate: '1700-05-01', deceasedDateTime: `${new Date().getFullYear() + 81}-01-01`, photo: [{ title: 'x' }, { url: 'http://x.nl/a.png' }] });
    expectIssue(issues, 'date-year-unreasonable', 'Patient.birthDate', 'warning');
    expectIssue(issues, 'date-year-unreasonable', 'Patient.deceasedDateTime', 'warning');
    expectIssue(issues, 'attachment-no-content', 'Patient.photo[0]', 'warning');
    expect(found(issues, 'warning')).not.toContainEqual({ messageId: 'attachment-no-content', path: 'Patient.photo[1]' });
    expectNoErrors(issues);
    expect(found(check({ resourceType: 'Patient', birthDate: '1800-01-01' }), 'warning')).not.toContainEqual({ messageId: 'date-year-unreasonable', path: 'Patient.birthDate' });
  });

  it('warns, without error, about a string that starts or ends with whitespace, as the Java validator does', () => {
    const issues = check({ resourceType: 'Patient', name: [{ family: ' Visser', given: ['Anna\n', 'Jan'] }] });
    expectIssue(issues, 'primitive-string-padded', 'Patient.name[0].family', 'warning');
    expectIssue(issues, 'primitive-string-padded', 'Patient.name[0].given[0]', 'warning');
    expect(found(issues, 'warning')).not.toContainEqual({ messageId: 'primitive-string-padded', path: 'Patient.name[0].given[1]' });
    expectNoErrors(issues);
    // A code's whitespace rules are its own (primitive-code), and markdown may end in a line break.
    expect(found(check({ resourceType: 'Patient', gender: 'male', extension: [{ url: 'http://x.nl/e', valueMarkdown: 'a\n' }] }), 'warning')).not.toContainEqual(expect.objectContaining({ messageId: 'primitive-string-padded' }));
  });

  it('checks the stated size of an Attachment against its data', () => {
    const photo = (size: number) => ({ resourceType: 'Patient', photo: [{ contentType: 'text/plain', data: 'aGVsbG8=', size }] });
    expectIssue(check(photo(4)), 'attachment-size', 'Patient.photo[0].size');
    expectNoErrors(check(photo(5)));
  });
});
