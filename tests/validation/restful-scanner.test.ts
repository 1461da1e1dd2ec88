/**
 * restfulType and restfulUrl scan character codes; these tests hold them to the FHIR RESTful reference regexes
 * (references.html#regex) they replace, over generated values.
 */
import { describe, expect, it } from 'vitest';
import { restfulType, restfulUrl } from '../../src/validation/references.js';

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ABSOLUTE = /^(https?:\/\/.*\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function expectedType(reference: string): string | undefined {
  if (RELATIVE.test(reference)) return reference.slice(0, reference.indexOf('/'));
  return ABSOLUTE.exec(reference)?.[2];
}

function expectedUrl(url: string) {
  const m = ABSOLUTE.exec(url);
  return m ? { base: m[1], type: m[2], id: m[3], history: m[4] } : undefined;
}

/** Every value one edit away from the seeds: each character dropped, doubled, or replaced or preceded by another. */
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
  return [...out];
}

const SEEDS = [
  'Patient/123',
  'Patient/a.b-c/_history/2',
  'http://example.org/fhir/Patient/123',
  'https://x/Observation/o/_history/v1',
  'http:///Patient/1',
  'http://Patient/1',
  'https://a/b/_history/Patient/x/_history/1',
  'http://a\nb/Patient/1',
  'urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  'Patient/' + 'a'.repeat(64),
  'http://x/Patient/1/_history/' + 'b'.repeat(64),
];

describe('RESTful reference scanners agree with the FHIR regexes', () => {
  const values = mutations(SEEDS, '/_Pa1.-:h\n\u2028s ');

  it('covers matching and failing values of both kinds', () => {
    expect(values.filter((v) => RELATIVE.test(v)).length).toBeGreaterThan(50);
    expect(values.filter((v) => ABSOLUTE.test(v)).length).toBeGreaterThan(200);
    expect(values.filter((v) => expectedType(v) === undefined).length).toBeGreaterThan(200);
  });

  it('restfulType', () => {
    for (const v of values) expect(restfulType(v), JSON.stringify(v)).toBe(expectedType(v));
  });

  it('restfulUrl', () => {
    for (const v of values) expect(restfulUrl(v), JSON.stringify(v)).toEqual(expectedUrl(v));
  });

  it('reads the parts of a versioned URL', () => {
    expect(restfulUrl('https://x.org/fhir/Patient/p1/_history/3')).toEqual({ base: 'https://x.org/fhir/', type: 'Patient', id: 'p1', history: '/_history/3' });
    expect(restfulType('Patient/p1/_history/3')).toBe('Patient');
    expect(restfulType('urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toBeUndefined();
  });
});
