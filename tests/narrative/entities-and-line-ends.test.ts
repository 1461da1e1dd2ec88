import { describe, expect, it } from 'vitest';
import { checkXhtmlWith, type NarrativeContext } from '../../src/validation/narrative.js';

const NS = 'http://www.w3.org/1999/xhtml';
const d = (inner: string, attrs = ''): string => `<div xmlns="${NS}"${attrs}>${inner}</div>`;
// Reaches the hyperlink and language checks too.
const ctx: NarrativeContext = { path: 'Patient.text.div', securityChecks: true, localIds: new Set(['p1']), resourceLanguage: 'nl' };

/** The fast parser's issues, or undefined where it hands the div to saxes. */
const fast = (div: string): ReturnType<typeof checkXhtmlWith> => checkXhtmlWith(div, ctx, 'fast');
const saxes = (div: string): ReturnType<typeof checkXhtmlWith> => checkXhtmlWith(div, ctx, 'saxes');

describe('narrative fast path: decoded text and line ends in messages', () => {
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
});
