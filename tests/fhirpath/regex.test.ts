import { describe, expect, it } from 'vitest';
import { fhirPathRegExp, javaToUnicodePattern } from '../../src/validation/fhirpath-regex.js';
import { generateInvariant } from '../../src/validation/fhirpath-codegen.js';
import { compileFhirPath } from '../../src/validation/fhirpath-compiler.js';
import { coreInvariants } from './corpus.js';

describe('FHIRPath patterns read as Java reads them', () => {
  it.each([
    ["[^\\s\\.,:;\\'\"\\/]", "[^\\s\\.,:;'\"\\/]"],
    ['a(\\[x])?', 'a(\\[x\\])?'],
    ['[A-Z]{1,64}x{2}', '[A-Z]{1,64}x{2}'],
    ['a{b}', 'a\\{b\\}'],
    ['[]a]', '[\\]a]'],
    ['[^]a]', '[^\\]a]'],
    ['[a\\-z\\@]', '[a\\-z@]'],
    ['\\d+\\.\\w', '\\d+\\.\\w'],
  ])('reads %s as %s: punctuation escapes without the backslash, literal brackets escaped', (java, unicode) => {
    expect(javaToUnicodePattern(java)).toBe(unicode);
  });

  it('keeps valid patterns as they are, and reports a pattern wrong in Java too as written', () => {
    expect(fhirPathRegExp('^a+$', 'us').source).toBe('^a+$');
    expect(fhirPathRegExp("\\'x", 'us').test("'x")).toBe(true);
    expect(() => fhirPathRegExp('a(b', 'us')).toThrow(/Invalid regular expression: \/a\(b\//);
  });

  it('evaluates eld-16, eld-19 and eld-20 in both tiers, passing good paths and failing bad ones', () => {
    const eld = new Map(coreInvariants().get('ElementDefinition')!.map((c) => [c.key, c.expression]));
    const cases: Array<[string, object, boolean]> = [
      ['eld-19', { path: 'Patient.name.given' }, true],
      ['eld-19', { path: '.,:;' }, false],
      ['eld-20', { path: 'Observation.value[x]' }, true],
      ['eld-20', { path: '1.2' }, false],
      ['eld-16', { sliceName: 'a/b-c_[x]@d' }, true],
      ['eld-16', { sliceName: 'a b' }, false],
    ];
    for (const [key, node, passes] of cases) {
      const expression = eld.get(key)!;
      expect(generateInvariant(expression, 'ElementDefinition')!(node, undefined)).toBe(passes);
      const result = compileFhirPath(expression, 'ElementDefinition')!(node, { resource: undefined, rootResource: undefined });
      expect(result).toEqual([passes]);
    }
  });
});
