import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkXhtml, checkXhtmlWith, type NarrativeContext } from '../../src/validation/narrative.js';
import { jsonDivs } from '../narrative/corpus.js';

// The one-pass proof ('proof') may only accept divs whose tree checks give no issue; whatever it declines
// gets the tree checks' exact messages from checkXhtml.
const NS = 'http://www.w3.org/1999/xhtml';
const d = (inner: string, attrs = ''): string => `<div xmlns="${NS}"${attrs}>${inner}</div>`;
const ctx = (over: Partial<NarrativeContext> = {}): NarrativeContext => ({ path: 'Basic.text.div', securityChecks: false, ...over });
const tree = (div: string, c: NarrativeContext) => checkXhtmlWith(div, c, 'fast') ?? checkXhtmlWith(div, c, 'saxes');
const contexts = [ctx(), ctx({ localIds: new Set(['p1', 'a']) }), ctx({ securityChecks: true, resourceLanguage: 'nl-NL' })];

/** Asserts the proof's contract on one div in every context; returns how many contexts it proved. */
function agrees(div: string): number {
  let proven = 0;
  for (const c of contexts) {
    const full = tree(div, c);
    if (checkXhtmlWith(div, c, 'proof') !== undefined) {
      proven++;
      expect(full, div).toEqual([]);
    }
    expect(checkXhtml(div, c), div).toEqual(full);
  }
  return proven;
}

const root = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const profiles = root('../../profiles');
const nationalDivs = jsonDivs(readdirSync(profiles).map((p) => join(profiles, p, 'package', 'example')));
const sharedDivs = jsonDivs([root('../../../shared/conformance/fhir-test-cases-r4/cases'), root('../../../shared/profiles-src')]);

describe('narrative one-pass proof', () => {
  it('proves most national example narratives and agrees with the tree checks on all real ones', () => {
    expect(nationalDivs.length).toBeGreaterThan(200);
    const proven = nationalDivs.filter((div) => agrees(div) > 0).length;
    expect(proven / nationalDivs.length).toBeGreaterThan(0.9);
    expect(sharedDivs.filter((div) => agrees(div) > 0).length).toBeGreaterThan(0);
  });

  it.each([
    d('Jan'),
    '\r\n<div xmlns="http://www.w3.org/1999/xhtml">\r\n  <table class="grid">\r\n    <tr><th>Naam</th><td colspan=\'2\'>Jan</td></tr>\r\n  </table>\r\n</div>\r\n',
    d('<ul><li>a</li><li>b<br/>c</li></ul><ol><li>d</li></ol>'),
    d('<p>see <a href="http://example.org/x?y=1">x</a> <a href="#p1">here</a> <img src="#a" alt="i"/></p>'),
    d('<img src="data:image/png;base64,AAAA"/>'),
    d('<p title="a &amp; b">&nbsp;x &lt;y&gt; &quot;z&quot;</p>'),
    d('&amp;'),
    d('\u00e9 \u{1F600}'),
    d('<pre xml:space="preserve">x</pre><span lang="nl" xml:lang="nl">y</span>', ' lang="nl" xml:lang="nl"'),
    d('<div>a</div><blockquote>q</blockquote>'),
  ])('proves a clean div: %j', (div) => {
    expect(checkXhtmlWith(div, ctx({ localIds: new Set(['p1', 'a']) }), 'proof')).toEqual([]);
    expect(agrees(div)).toBeGreaterThan(0);
  });

  it.each<[string, string, Partial<NarrativeContext>, string[]]>([
    ['wrong namespace', '<div xmlns="http://www.w3.org/1999/xhtmlx">x</div>', {}, ["Wrong namespace on the XHTML ('http://www.w3.org/1999/xhtmlx', should be 'http://www.w3.org/1999/xhtml')"]],
    ['no namespace', '<div>x</div>', {}, ["Wrong namespace on the XHTML ('null', should be 'http://www.w3.org/1999/xhtml')"]],
    ['wrong child namespace', d('<span xmlns="urn:x">x</span>'), {}, ["Wrong namespace on the XHTML ('urn:x', should be 'http://www.w3.org/1999/xhtml')"]],
    ['root p', `<p xmlns="${NS}">x</p>`, {}, ["Wrong name on the XHTML ('p') - must start with div"]],
    ['illegal element', d('<script>x</script>'), {}, ["Invalid element name in the XHTML ('script')", 'txt-1']],
    ['illegal attribute', d('<p onclick="f()">x</p>'), {}, ["Invalid attribute name in the XHTML ('onclick' on 'p')", 'txt-1']],
    ['block in paragraph', d('<p><table><tr><td>x</td></tr></table></p>'), {}, ["Invalid element name inside a paragraph in the XHTML ('table')"]],
    ['unresolved link', d('<p><a href="#x">here</a></p>'), { localIds: new Set(['p1']) }, ["Hyperlink '#x' at 'div/p/a' for 'here' does not resolve"]],
    ['javascript url', d('<a href="javascript:alert(1)">x</a>'), {}, ["The link 'javascript:alert(1)' uses the javascript: scheme, which runs code and is not allowed in a narrative"]],
    ['urn link', d('<a href="urn:uuid:c757873d-ec9a-4326-a141-556f43239520">x</a>'), {}, ["The link 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520' uses the urn: scheme, which names something a reader cannot open; link to it by a resolvable URL"]],
    ['unknown link scheme', d('<a href="ftp://x.org/a">x</a>'), {}, ["The link 'ftp://x.org/a' uses the scheme ftp:, which readers may not be able to open"]],
    ['invalid url', d('<a href="a b">x</a>'), {}, ["The URL is not valid because '(URL contains Invalid Character (' '))': a b"]],
    ['only a no-break space', d('&nbsp;'), {}, ['txt-2']],
    ['only whitespace', d('<p> \r\n </p>'), {}, ['txt-2']],
    ['self-closing root', `<div xmlns="${NS}"/>`, {}, ['txt-2']],
    ['language sections and other content', d('<div xml:lang="en">en</div>tail'), {}, ['The xhtml has some language sections (en), and also has content that is not in a language section']],
    ['resource language', d('x'), { resourceLanguage: 'nl' }, ['Resource has a language, but the XHTML does not have an lang or an xml:lang tag (needs both - see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues)']],
    ['duplicate attribute', d('<p class="a" class="b">x</p>'), {}, ['Error parsing XHTML: 1:65: duplicate attribute: class.']],
    ['reference without its ;', d('<p title="a &amp b">x</p>'), {}, ['Error parsing XHTML: 1:73: unclosed tag: div']],
    // declined, though clean: left to the tree checks
    ['link resolved by an anchor', d('<p><a href="#x">here</a><a name="x">t</a></p>'), { localIds: new Set(['p1']) }, []],
    ['reference in an href', d('<a href="a?b=1&amp;c=2">x</a>'), {}, []],
    ['entity the fast path does not know', d('caf&eacute;'), {}, []],
    ['xmlns prefix', d('x', ' xmlns:x="urn:x"'), {}, []],
    ['deeper than 64', d(`${'<span>'.repeat(70)}x${'</span>'.repeat(70)}`), {}, []],
    ['break in a value', d('<p title="a\nb">x</p>'), {}, []],
  ])('declines %s, and checkXhtml gives the tree messages', (_, div, over, expected) => {
    const c = ctx(over);
    expect(checkXhtmlWith(div, c, 'proof')).toBeUndefined();
    expect(checkXhtml(div, c).map((i) => (i.messageId === 'txt-1' || i.messageId === 'txt-2' ? i.messageId : i.message))).toEqual(expected);
    agrees(div);
  });

  it('agrees with the tree checks on mutated real narratives', () => {
    const small = [...nationalDivs, ...sharedDivs].filter((s) => s.length < 3000);
    const pieces = ['<', '>', '/', '"', "'", '=', ' ', '\n', '\r', '&', ';', '&amp;', '&nbsp;', '&eacute;', '&am', 'p', 'div', '<p>', '</p>', '<div>', '</div>',
      ' href="#p1"', ' href="#x"', ' src="a b"', ' id="a"', ' class="c"', ' onclick="x"', ' xml:lang="nl"', ' xmlns="urn:x"', '<br/>', '<img src="#a"/>',
      '<table>', '</table>', '\u00a0', '\u0001', '\uD800', ']]>', '<!-- c -->', 'javascript:', ' href="urn:x"', ' href="ftp:x"', 'Div', 'h7', 'x'];
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let proven = 0;
    for (let t = 0; t < 3000; t++) {
      let div = small[rnd(small.length)];
      for (let e = 1 + rnd(3); e > 0; e--) {
        const at = rnd(div.length + 1);
        const kind = rnd(3);
        div = div.slice(0, at) + (kind === 1 ? '' : pieces[rnd(pieces.length)]) + div.slice(kind === 0 ? at : at + 1 + rnd(4));
      }
      proven += agrees(div);
    }
    expect(proven).toBeGreaterThan(500);
  });
});
