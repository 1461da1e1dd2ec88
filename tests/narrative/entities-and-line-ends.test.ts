import { describe, expect, it } from 'vitest';
import { checkXhtmlWith, type NarrativeContext } from '../../src/validation/narrative.js';

const NS = 'http://www.w3.org/1999/xhtml';
const d = (inner: string, attrs = ''): string => `<div xmlns="${NS}"${attrs}>${inner}</div>`;
// Reaches the hyperlink and language checks too.
const ctx: NarrativeContext = { path: 'Patient.text.div', securityChecks: true, localIds: new Set(['p1']), resourceLanguage: 'nl' };

/** The fast parser's issues, or undefined where it hands the div to saxes. */
const fast = (div: string): ReturnType<typeof checkXhtmlWith> => checkXhtmlWith(div, ctx, 'fast');
const saxes = (div: string): ReturnType<typeof checkXhtmlWith> => checkXhtmlWith(div, ctx, 'saxes');

describe('narrative fast path: entities and line ends', () => {
  it('decodes the known named entities in text and attribute values as saxes does', () => {
    const taken = [
      d('a &amp; b'),
      d('&lt;p&gt; &amp;amp; &quot;q&quot; &apos;s&apos;'),
      d('x&nbsp;y &copy;&reg;&deg;&micro;&middot;&euro;&ndash;&mdash;&hellip;'),
      d('<p title="a &amp; b" class="&lt;c&gt;">x</p>'),
      d('line\r\n&amp;\rend'),
      d('&nbsp;'),
      d('<p>&amp;</p><p>]]&gt;</p>'),
    ];
    for (const div of taken) {
      const issues = fast(div);
      expect(issues, div).toBeDefined();
      expect(issues, div).toEqual(saxes(div));
    }
  });

  it('shows the decoded text in messages', () => {
    const div = d('<p><a href="#nowhere">a &amp; &lt;b&gt;</a></p>', ' lang="nl" xml:lang="nl"');
    const messages = fast(div)?.map((i) => i.message);
    expect(messages).toEqual(["Hyperlink '#nowhere' at 'div/p/a' for 'a & <b>' does not resolve"]);
    expect(saxes(div)?.map((i) => i.message)).toEqual(messages);
  });

  it('gives the xpath of a nested link and none for a link that resolves', () => {
    const div = d('<table><tr><td><span><a href="#x">x</a></span></td></tr></table><p><img src="#p1"/><img src="#y"/></p>', ' lang="nl" xml:lang="nl"');
    const messages = fast(div)?.map((i) => i.message);
    expect(messages).toEqual([
      "Hyperlink '#x' at 'div/table/tr/td/span/a' for 'x' does not resolve",
      "Image source '#y' at 'div/p/img' does not resolve",
    ]);
    expect(saxes(div)?.map((i) => i.message)).toEqual(messages);
  });

  it('reads CR and CRLF in text as LF where the text is shown, and as whitespace elsewhere', () => {
    const div = d('\r\n  <p>\r\n<a href="#q1">a\r\nb\rc&amp;\r\r\nd</a><span>\r</span></p>\r\n', ' lang="nl" xml:lang="nl"');
    const messages = fast(div)?.map((i) => i.message);
    expect(messages).toEqual(["Hyperlink '#q1' at 'div/p/a' for 'a\nb\nc&\n\nd' does not resolve"]);
    expect(saxes(div)?.map((i) => i.message)).toEqual(messages);
    // whitespace only, CRs included: no content (txt-2)
    expect(fast(d('\r\n<p>\r</p>\r'))).toEqual(saxes(d('\r\n<p>\r</p>\r')));
    expect(fast(d('\r\n<p>\r</p>\r'))?.map((i) => i.messageId)).toEqual(['txt-2', 'xhtml-lang-missing']);
  });

  it('hands other references to saxes', () => {
    const declined = [
      d('a & b'),
      d('a &eacute; b'),
      d('a &#233; b'),
      d('a &#xE9; b'),
      d('a &constructor; b'),
      d('a &__proto__; b'),
      d('a &; b'),
      d('a &amp b<p>;</p>'),
      d('x', ' title="a &amp b" class=";"'),
      d('x', ' title="&hasOwnProperty;"'),
      d('a &am\r\np; b'),
    ];
    for (const div of declined) expect(fast(div), div).toBeUndefined();
  });

  it('still declines what saxes alone must judge', () => {
    for (const div of [d('x', ' id="a" id="b"'), d('x', ' constructor="a"'), d('x', ' __proto__="a"'), d('x', ' toString="a"'), d('x', ' title="a<b"'), d('x', ' title="a\tb"'), d('<p title="a<b">x</p>'), d('a ]]> b'), d('a\u0001b'), d('a\uD800b')]) {
      expect(fast(div), div).toBeUndefined();
    }
    // a surrogate pair is one allowed character
    expect(fast(d('a\uD83D\uDE00b'))).toEqual(saxes(d('a\uD83D\uDE00b')));
  });
});
