import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkMarkdown, checkNarrativeControls, checkStringSecurity, checkXhtml, narrativeControlsOf, undefinedEntities } from '../../src/validation/narrative.js';
import type { Issue } from '../../src/validation/issues.js';

const NS = 'http://www.w3.org/1999/xhtml';
const CASES = new URL('../../../shared/conformance/fhir-test-cases-r4/', import.meta.url);
const div = (inner: string, attrs = ''): string => `<div xmlns="${NS}"${attrs}>${inner}</div>`;
const ctx = (over: Partial<Parameters<typeof checkXhtml>[1]> = {}) => ({ path: 'Patient.text.div', securityChecks: false, ...over });
const ids = (issues: readonly Issue[]) => issues.map((i) => i.messageId);
const errors = (issues: Issue[]) => issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');

interface Case {
  name: string;
  file: string;
  options?: Record<string, unknown>;
  expected: { errors: number; outcome?: { issue?: Array<{ severity: string; details?: { text?: string }; expression?: string[] }> } };
}
const manifest = JSON.parse(readFileSync(new URL('manifest.json', CASES), 'utf8')) as { cases: Case[] };
const byName = (name: string): Case => manifest.cases.find((c) => c.name === name)!;
const caseFile = (c: Case): string => readFileSync(new URL(`cases/${c.file}`, CASES), 'utf8');
/** The issues the Java validator reports, restricted to the given messages' paths. */
const expectedTexts = (c: Case, pathPrefix: string) =>
  (c.expected.outcome?.issue ?? [])
    .filter((i) => (i.expression ?? []).some((e) => e.startsWith(pathPrefix)))
    .map((i) => ({ severity: i.severity, text: i.details?.text }));
/** The narrative of an XML case, taken out textually. */
const xmlDiv = (xml: string): string => xml.slice(xml.indexOf('<div'), xml.lastIndexOf('</div>') + 6);

describe('checkXhtml: hand-made divs', () => {
  it('accepts plain, formatted and tabular narrative', () => {
    expect(checkXhtml(div('<p>Hello <b>world</b></p><table><tr><td colspan="2">x</td></tr></table><a name="x">a</a><img src="#x" alt="i"/>'), ctx())).toEqual([]);
  });

  it('reports malformed XHTML with position', () => {
    const issues = checkXhtml(div('<p>unclosed'), ctx());
    expect(ids(issues)).toEqual(['xhtml-parse-error']);
    expect(issues[0].message).toMatch(/^Error parsing XHTML: 1:\d+: /);
    expect(ids(checkXhtml(`${div('a')}<div/>`, ctx()))).toEqual(['xhtml-parse-error']);
    expect(ids(checkXhtml('just text', ctx()))).toEqual(['xhtml-parse-error']);
  });

  it('reads HTML entities in the tree but not malformed references, and rejects a DOCTYPE', () => {
    expect(checkXhtml(div('a&nbsp;b &eacute; &amp; &#233;'), ctx())).toEqual([]);
    expect(ids(checkXhtml(div('a & b'), ctx()))).toEqual(['xhtml-parse-error']);
    expect(ids(checkXhtml(`<!DOCTYPE div>${div('x')}`, ctx()))).toEqual(['xhtml-doctype', 'txt-1']);
  });

  it("rejects named references XML does not define, once per name, as the reference does (xml-bad-entities in JSON)", () => {
    const messages = (xhtml: string) => undefinedEntities(xhtml, 'Encounter.text.div').map((i) => `${i.severity} ${i.message}`);
    expect(messages(div('CPT&reg; a&nbsp;b &nbsp; &eacute;'))).toEqual([
      "error Invalid entity in the XHTML ('&reg;')",
      "error Invalid entity in the XHTML ('&nbsp;')",
      "error Invalid entity in the XHTML ('&eacute;')",
    ]);
    expect(messages(div('&amp; &lt;p&gt; &quot;&apos; &#233; &#xe9; a & b'))).toEqual([]);
  });

  it('checks root name and namespace', () => {
    expect(checkXhtml('<div>text</div>', ctx()).map((i) => i.message)).toEqual([
      `Wrong namespace on the XHTML ('null', should be '${NS}')`,
    ]);
    expect(ids(checkXhtml(`<p xmlns="${NS}">text</p>`, ctx()))).toEqual(['xhtml-wrong-root']);
    expect(ids(checkXhtml(div('<span xmlns="http://www.w3.org/2000/svg">x</span>'), ctx()))).toEqual(['xhtml-wrong-namespace']);
  });

  it('gives one issue per bad element and attribute, plus one txt-1', () => {
    const issues = checkXhtml(div('x<script>a</script><form><input type="text"/></form><p onclick="f()" style="s">y</p><iframe src="e"/>'), ctx());
    expect(issues.map((i) => i.message)).toEqual([
      "Invalid element name in the XHTML ('script')",
      "Invalid element name in the XHTML ('form')",
      "Invalid element name in the XHTML ('input')",
      "Invalid attribute name in the XHTML ('type' on 'input')",
      "Invalid attribute name in the XHTML ('onclick' on 'p')",
      "Invalid element name in the XHTML ('iframe')",
      "Invalid attribute name in the XHTML ('src' on 'iframe')",
      expect.stringMatching(/^Constraint failed: txt-1: /),
    ]);
  });

  it('allows element-specific attributes only on their element', () => {
    expect(checkXhtml(div('<a href="http://x.org/a" name="n">l</a><img src="http://x.org/i.png" width="2" height="3" alt="a"/>'), ctx())).toEqual([]);
    expect(ids(checkXhtml(div('<p href="http://x.org">l</p>'), ctx()))).toEqual(['xhtml-illegal-attribute', 'txt-1']);
  });

  it('fails only txt-1 for a bad attribute on the root div', () => {
    expect(ids(checkXhtml(div('x', ' onload="f()"'), ctx()))).toEqual(['txt-1']);
  });

  it('reports txt-2 when there is no text and no image', () => {
    expect(ids(checkXhtml(div('  <p> </p> '), ctx()))).toEqual(['txt-2']);
    expect(checkXhtml(div('<p><img src="http://x.org/a.png"/></p>'), ctx())).toEqual([]);
  });

  it('reports block elements inside a paragraph', () => {
    expect(checkXhtml(div('<p>a<span><ul><li>x</li></ul></span></p>'), ctx()).map((i) => i.message)).toEqual([
      "Invalid element name inside a paragraph in the XHTML ('ul')",
    ]);
  });

  it('checks URL characters as UrlUtil does, and link schemes as checkReferences does', () => {
    expect(checkXhtml(div('<a href="http://x.org/a b">l</a>'), ctx()).map((i) => i.message)).toEqual([
      "The URL is not valid because '(URL contains Invalid Character (' '))': http://x.org/a b",
    ]);
    expect(checkXhtml(div('<img src="data:image/png;base64,iVBORw0KGgo="/>'), ctx())).toEqual([]);
    expect(ids(checkXhtml(div('<img src="data:image/png;base64,@@@"/>'), ctx()))).toEqual(['xhtml-invalid-url']);
    const js = checkXhtml(div('<a href="javascript:alert(1)">l</a>'), ctx());
    expect(js.map((i) => [i.severity, i.messageId])).toEqual([['error', 'xhtml-active-href']]);
    // As the reference's checkReferences: links to urn:/cid: lead nowhere a reader can open, unusual schemes get a hint.
    expect(ids(checkXhtml(div('<a href="urn:uuid:c757873d-ec9a-4326-a141-556f43239520">entry</a>'), ctx()))).toEqual(['xhtml-literal-href']);
    expect(checkXhtml(div('<a href="ftp://x.org/a">l</a>'), ctx()).map((i) => [i.severity, i.messageId])).toEqual([['information', 'xhtml-unknown-href']]);
    expect(checkXhtml(div('<a href="mailto:zorg@example.nl">mail</a> <a href="tel:+31201234567">bel</a>'), ctx())).toEqual([]);
  });

  it('resolves local hyperlinks against resource ids and anchors in the div', () => {
    const inner = '<a name="top">t</a><p id="sec">s</p><a href="#top">1</a><a href="#sec">2</a><a href="#c1">3</a><a href="#nope">4 <b>x</b></a>';
    expect(checkXhtml(div(inner), ctx({ localIds: new Set(['c1']) })).map((i) => i.message)).toEqual([
      "Hyperlink '#nope' at 'div/a' for '4 x' does not resolve",
    ]);
    // without the resource's ids, local links are not judged
    expect(checkXhtml(div(inner), ctx())).toEqual([]);
  });

  it('warns about content outside language sections', () => {
    const issues = checkXhtml(div('text<div xml:lang="en" lang="en">en</div><div xml:lang="nl" lang="nl">nl</div>'), ctx());
    expect(issues.map((i) => [i.severity, i.message])).toEqual([
      ['warning', 'The xhtml has some language sections (en, nl), and also has content that is not in a language section'],
    ]);
    expect(checkXhtml(div(' <div xml:lang="en">en</div> <p> </p>'), ctx())).toEqual([]);
  });

  it('compares the resource language with the div language', () => {
    const r = (d: string) => checkXhtml(d, ctx({ resourceLanguage: 'nl' })).map((i) => [i.path, i.message]);
    expect(r(div('x', ' lang="nl" xml:lang="nl"'))).toEqual([]);
    expect(r(div('x', ' lang="en" xml:lang="en"'))).toEqual([
      ['Patient', 'Resource has a language (nl), and the XHTML has a lang (en), but they differ'],
    ]);
    expect(r(div('x'))[0][1]).toMatch(/^Resource has a language, but the XHTML does not have an lang or an xml:lang tag/);
    expect(r(div('<div lang="en" xml:lang="en">a</div><div lang="nl" xml:lang="nl">b</div>'))).toEqual([]);
  });
});

describe('checkStringSecurity', () => {
  it('errors on embedded tags with security checks on, hints otherwise', () => {
    expect(checkStringSecurity('Standard <script>x</script>', 'Patient.name[0].text', true).map((i) => [i.severity, i.message])).toEqual([
      ['error', 'The string value contains text that looks like embedded HTML tags, which are not allowed for security reasons in this context'],
    ]);
    expect(checkStringSecurity('<img src=x onerror=y>', 'p', false).map((i) => i.severity)).toEqual(['information']);
  });

  it('ignores comparisons and closing tags, as the Java heuristic does', () => {
    for (const s of ['a < b and c > d', 'x <= 5', 'end </b>', 'no tags', '<br/>', '< p>']) {
      expect(checkStringSecurity(s, 'p', true)).toEqual([]);
    }
    expect(ids(checkStringSecurity('<a href="x">', 'p', true))).toEqual(['string-html-security']);
  });
});

describe('checkMarkdown', () => {
  it('reports the first raw tag, two characters of it', () => {
    expect(checkMarkdown('see <b>this</b>', 'x')[0].message).toMatch(/^The markdown contains content that appears to be an embedded HTML tag starting at '<b'\./);
    expect(checkMarkdown('<!-- c -->', 'x')[0].message).toContain("starting at '<!'");
  });

  it('accepts escaped tags, comparisons and autolinks', () => {
    for (const s of ['\\<b> escaped', 'a < b', 'x<5', '<http://example.org>', 'plain **markdown**']) {
      expect(checkMarkdown(s, 'x')).toEqual([]);
    }
  });
});

describe('conformance cases', () => {
  const jsonDivCase = (name: string) => {
    const c = byName(name);
    const res = JSON.parse(caseFile(c)) as { resourceType: string; text: { div: string } };
    return { c, res, issues: checkXhtml(res.text.div, { path: `${res.resourceType}.text.div`, securityChecks: c.options?.['security-checks'] === true, localIds: new Set<string>() }) };
  };

  it('pat-security-bad-xhtml: txt-1 and the script element', () => {
    const { c, issues } = jsonDivCase('pat-security-bad-xhtml');
    expect(issues.map((i) => ({ severity: i.severity, text: i.message })).sort((a, b) => a.text.localeCompare(b.text)))
      .toEqual(expectedTexts(c, 'Patient.text.div').sort((a, b) => a.text!.localeCompare(b.text!)));
    expect(errors(issues)).toHaveLength(c.expected.errors);
  });

  it.each(['pat-security-good1', 'pat-security-good3', 'cs-narrative-status'])('%s: clean narrative', (name) => {
    expect(jsonDivCase(name).issues).toEqual([]);
  });

  it('ab-list-slicing: unresolved local hyperlink', () => {
    const c = byName('ab-list-slicing');
    const res = JSON.parse(caseFile(c)) as { text: { div: string }; id: string; contained: Array<{ id: string }> };
    const localIds = new Set([res.id, ...res.contained.map((r) => r.id)]);
    const issues = checkXhtml(res.text.div, { path: 'List.text.div', securityChecks: false, localIds });
    expect(issues.map((i) => ({ severity: i.severity, text: i.message }))).toEqual(expectedTexts(c, 'List.text.div'));
  });

  it.each([
    ['xhtml-ctrl-source1', undefined],
    ['xhtml-ctrl-mixed-lang', undefined],
    ['xhtml-ctrl-no-lang-good', undefined],
    ['xhtml-ctrl-twob-lang-good', 'en'],
  ])('%s: language sections and resource language', (name, resourceLanguage) => {
    const c = byName(name);
    const issues = checkXhtml(xmlDiv(caseFile(c)), { path: 'Patient.text.div', securityChecks: false, resourceLanguage });
    expect(issues.map((i) => ({ severity: i.severity, text: i.message }))).toEqual(expectedTexts(c, 'Patient'));
  });

  it('xhtml-ctrl-source1: text without a source class, against the profile asking for one', () => {
    const c = byName('xhtml-ctrl-source1') as Case & { profile: { expected: Case['expected'] } };
    const profileXml = readFileSync(new URL('cases/xhtml-ctrl-source-profile.xml', CASES), 'utf8');
    const profileUrl = /<url value="([^"]+)"/.exec(profileXml)![1]!;
    const controls = narrativeControlsOf({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/narrative-source-control', valueCode: 'warning' }] }, profileUrl)!;
    const issues = checkNarrativeControls(xmlDiv(caseFile(c)), controls, 'Patient.text', undefined);
    expect(issues.map((i) => ({ severity: i.severity, text: i.message }))).toEqual(expectedTexts({ ...c, expected: c.profile.expected }, 'Patient.text'));
  });

  it('pat-security-bad-string and pat-security-good*: string security', () => {
    const bad = byName('pat-security-bad-string');
    const res = JSON.parse(caseFile(bad)) as { name: Array<{ text: string }> };
    const issues = checkStringSecurity(res.name[0].text, 'Patient.name[0].text', true);
    expect(issues.map((i) => ({ severity: i.severity, text: i.message }))).toEqual(expectedTexts(bad, 'Patient.name'));
    for (const name of ['pat-security-good1', 'pat-security-good3']) {
      const good = JSON.parse(caseFile(byName(name))) as { name: Array<{ text: string }> };
      expect(checkStringSecurity(good.name[0].text, 'Patient.name[0].text', true)).toEqual([]);
    }
  });

  it('bad-markdown-no-html: html tag in markdown', () => {
    const c = byName('bad-markdown-no-html');
    const res = JSON.parse(caseFile(c)) as { note: Array<{ text: string }> };
    const issues = checkMarkdown(res.note[0].text, 'Communication.note[0].text');
    expect(issues.map((i) => ({ severity: i.severity, text: i.message }))).toEqual(expectedTexts(c, 'Communication'));
  });
});
