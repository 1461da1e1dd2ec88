import { describe, expect, it } from 'vitest';
import { checkXhtmlWith } from '../../src/validation/narrative.js';

const ctx = { path: 'Basic.text.div', securityChecks: false };
const d = (inner: string): string => `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>`;

// The fast parser tracks the next tab, LF and CR as it reads attributes: a break inside a value declines (saxes normalises it).
describe('narrative fast path: breaks and attribute values', () => {
  it.each([
    d('<p class="a\nb">x</p>'),
    d('<p\nclass="a" title="b\tc">x</p>'),
    d('<p class="a">x\n</p><p title="y\rz">w</p>'),
  ])('declines a value holding a break: %j', (div) => {
    expect(checkXhtmlWith(div, ctx, 'fast')).toBeUndefined();
    expect(checkXhtmlWith(div, ctx, 'saxes')).toBeDefined();
  });

  it.each([
    d('<p\n class="a"\t title="b"\r\n>x\ny</p><p class="c" title="d">w\t</p>'),
    `\n${d('<p class="a">x</p>\n<p title="b">y</p>')}\n`,
  ])('reads breaks outside values as saxes does: %j', (div) => {
    const fast = checkXhtmlWith(div, ctx, 'fast');
    expect(fast).toBeDefined();
    expect(fast).toEqual(checkXhtmlWith(div, ctx, 'saxes'));
  });
});
