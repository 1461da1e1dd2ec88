/**
 * What a profile asks of a narrative through the extension pack's narrative-language-control and
 * narrative-source-control, and the resource's language against its own narrative, as the engine walks them.
 */
import { describe, expect, it } from 'vitest';
import type { Issue } from '../../src/index.js';
import { isError, profile, TEST, useValidator } from './helpers.js';

const NS = 'http://www.w3.org/1999/xhtml';
const LANGUAGE_CONTROL = 'http://hl7.org/fhir/StructureDefinition/narrative-language-control';
const SOURCE_CONTROL = 'http://hl7.org/fhir/StructureDefinition/narrative-source-control';

const textControlled = (name: string, extension: Array<{ url: string; valueCode: string }>) =>
  profile(name, 'Patient', [{ id: 'Patient.text', path: 'Patient.text', extension }]);

const validator = useValidator([
  textControlled('NoLanguageSections', [{ url: LANGUAGE_CONTROL, valueCode: '_no' }]),
  textControlled('LanguageSections', [{ url: LANGUAGE_CONTROL, valueCode: '_yes' }]),
  textControlled('ResourceLanguageSection', [{ url: LANGUAGE_CONTROL, valueCode: '_resource' }]),
  textControlled('DutchAndEnglish', [
    { url: LANGUAGE_CONTROL, valueCode: 'nl' },
    { url: LANGUAGE_CONTROL, valueCode: 'en' },
  ]),
  textControlled('SourcedText', [{ url: SOURCE_CONTROL, valueCode: 'warning' }]),
  textControlled('SourcesNotChecked', [{ url: SOURCE_CONTROL, valueCode: 'success' }]),
]);

const patient = (inner: string, language?: string) => ({
  resourceType: 'Patient',
  ...(language ? { language } : {}),
  text: { status: 'generated', div: `<div xmlns="${NS}">${inner}</div>` },
});
const SECTIONS = '<div xml:lang="nl" lang="nl"><p>Tekst</p></div><div xml:lang="de" lang="de"><p>Text</p></div>';
const PLAIN = '<p>Text</p>';
/** messageId and path of each issue. */
const found = (issues: Issue[]) => issues.map((i) => [i.messageId, i.path]);
const errorsAgainst = (name: string, resource: object) =>
  found(validator().validateToIssues(resource as never, { profile: TEST + name }).filter(isError));

describe('narrative-language-control', () => {
  it('_no: language sections are not allowed', () => {
    expect(errorsAgainst('NoLanguageSections', patient(PLAIN))).toEqual([]);
    expect(errorsAgainst('NoLanguageSections', patient(SECTIONS))).toEqual([['xhtml-language-sections-prohibited', 'Patient.text']]);
  });

  it('_yes: the narrative must be divided into language sections', () => {
    expect(errorsAgainst('LanguageSections', patient(SECTIONS))).toEqual([]);
    expect(errorsAgainst('LanguageSections', patient(PLAIN))).toEqual([['xhtml-language-sections-required', 'Patient.text']]);
  });

  it("_resource: a section in the resource's language", () => {
    expect(errorsAgainst('ResourceLanguageSection', patient(SECTIONS, 'nl'))).toEqual([]);
    expect(errorsAgainst('ResourceLanguageSection', patient(SECTIONS, 'en'))).toEqual([['xhtml-language-section-missing', 'Patient.text']]);
  });

  it('language codes: a section for each', () => {
    const issues = validator().validateToIssues(patient(SECTIONS) as never, { profile: TEST + 'DutchAndEnglish' }).filter(isError);
    expect(issues.map((i) => i.message)).toEqual([
      `The xhtml has no language section for 'en', as the profile StructureDefinition[${TEST}DutchAndEnglish] requires`,
    ]);
  });
});

describe('narrative-source-control', () => {
  it('reports each text that no element around it attributes to a source', () => {
    const div = 'Loose<h1 class="boilerplate">Heading</h1><p>Unsourced</p><p class="generated">From <b>data</b></p><div class="x original"><p>Original</p></div>';
    const issues = validator().validateToIssues(patient(div) as never, { profile: TEST + 'SourcedText' }).filter(isError);
    expect(issues.map((i) => [i.path, i.message.slice(0, 'The xhtml node at '.length + 12)])).toEqual([
      ['Patient.text', "The xhtml node at 'Loose' does"],
      ['Patient.text', "The xhtml node at 'Unsourced' "],
    ]);
  });

  it("checks nothing at level 'success', nor without the extension", () => {
    expect(errorsAgainst('SourcesNotChecked', patient(PLAIN))).toEqual([]);
    expect(found(validator().validateToIssues(patient(PLAIN) as never).filter(isError))).toEqual([]);
  });
});

describe("the resource's language and its narrative", () => {
  it('warns when the narrative does not say its language, or says another', () => {
    const warnings = (resource: object) => found(validator().validateToIssues(resource as never).filter((i) => i.messageId.startsWith('xhtml-lang')));
    expect(warnings(patient(PLAIN, 'nl'))).toEqual([['xhtml-lang-missing', 'Patient']]);
    expect(warnings(patient(SECTIONS, 'de'))).toEqual([]);
    expect(warnings(patient(SECTIONS, 'en'))).toEqual([['xhtml-lang-different', 'Patient']]);
    expect(warnings(patient(PLAIN))).toEqual([]);
  });

  it("applies only to the resource's own text, not a contained resource's", () => {
    const container = { ...patient(PLAIN), contained: [{ ...patient(PLAIN), id: 'c' }], language: 'nl' };
    const issues = validator().validateToIssues(container as never).filter((i) => i.messageId === 'xhtml-lang-missing');
    expect(issues.map((i) => i.path)).toEqual(['Patient']);
  });
});
