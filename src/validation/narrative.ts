/**
 * Narrative XHTML (txt-1, txt-2, Java XhtmlValidator rules), markdown and string security checks,
 * mirroring the HL7 Java validator (InstanceValidator, XhtmlValidator, FHIRPathEngine.htmlChecks,
 * MarkDownProcessor.preProcess, UrlUtil.checkValidUrl).
 */
import { SaxesParserClass } from '../formats/saxes-lazy.js';
import type { Issue, IssueType, Severity } from './issues.js';
import { isAbsoluteUrl } from './primitives.js';

export interface NarrativeContext {
  path: string;
  securityChecks: boolean;
  /** What a `#x` link may name in the resource: ids of its elements and anchors of its narratives. */
  localIds?: ReadonlySet<string>;
  /** The same in the Bundle around the resource, asked only for a link the resource does not resolve. */
  outerIds?: () => ReadonlySet<string>;
  resourceLanguage?: string;
}

const XHTML_NS = 'http://www.w3.org/1999/xhtml';
/** Returned by the checks of every string value that passes, which is nearly all: no list made per value. */
const NO_ISSUES: readonly Issue[] = Object.freeze([]);

// Allowed names: the Java validator's HTML_ELEMENTS / HTML_ATTRIBUTES / HTML_COMBO_LIST.
const HTML_ELEMENTS = new Set([
  'p', 'br', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'a', 'span', 'b', 'em', 'i', 'strong', 'small', 'big', 'tt',
  'dfn', 'q', 'var', 'abbr', 'acronym', 'cite', 'blockquote', 'hr', 'address', 'bdo', 'kbd', 'sub', 'sup', 'ul', 'ol',
  'li', 'dl', 'dt', 'dd', 'pre', 'table', 'caption', 'colgroup', 'col', 'thead', 'tr', 'tfoot', 'tbody', 'th', 'td',
  'code', 'samp', 'img', 'map', 'area',
]);
const HTML_ATTRIBUTES = new Set([
  'title', 'style', 'class', 'id', 'lang', 'xml:lang', 'dir', 'accesskey', 'tabindex',
  'span', 'width', 'align', 'valign', 'char', 'charoff', 'abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan',
]);
const HTML_COMBO_LIST = new Set([
  'a.href', 'a.name', 'img.src', 'img.border', 'div.xmlns', 'blockquote.cite', 'q.cite', 'a.charset', 'a.type',
  'a.hreflang', 'a.rel', 'a.rev', 'a.shape', 'a.coords', 'img.alt', 'img.longdesc', 'img.height', 'img.width',
  'img.usemap', 'img.ismap', 'map.name', 'area.shape', 'area.coords', 'area.href', 'area.nohref', 'area.alt',
  'table.summary', 'table.width', 'table.border', 'table.frame', 'table.rules', 'table.cellspacing',
  'table.cellpadding', 'pre.space', 'td.nowrap',
]);
const HTML_BLOCK_LIST = new Set(['div', 'blockquote', 'table', 'ol', 'ul', 'p']);
// XhtmlNode.allText(): separators appended after these children.
const ALLTEXT_NEWLINE = new Set(['p', 'div', 'tr', 'th', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const ALLTEXT_SPACE = new Set(['td', 'span']);

const TXT1 =
  "Constraint failed: txt-1: 'The narrative SHALL contain only the basic html formatting elements and attributes " +
  'described in chapters 7-11 (except section 4 of chapter 9) and 15 of the HTML 4.0 standard, <a> elements ' +
  "(either name or href), images and internally contained style attributes'";
const TXT2 = "Constraint failed: txt-2: 'The narrative SHALL have some non-whitespace content'";
const LANG_MISSING1 =
  'Resource has a language, but the XHTML does not have an lang or an xml:lang tag (needs both - see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues)';
const LANG_MISSING2 =
  'Resource has a language, but the XHTML does not have a lang tag (needs both lang and xml:lang - see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues)';
const LANG_MISSING3 =
  'Resource has a language, but the XHTML does not have an xml:lang tag (needs both lang and xml:lang - see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues)';
const SECURITY_STRING_ERROR =
  'The string value contains text that looks like embedded HTML tags, which are not allowed for security reasons in this context';
const SECURITY_STRING_HINT =
  'The string value contains text that looks like embedded HTML tags. If this content is rendered to HTML without appropriate post-processing, it may be a security risk';

/** Parsed narrative node: element (name set), text or comment. */
interface XNode {
  name: string | null;
  attrs: Record<string, string>;
  children: XNode[];
  /**
   * Text or comment content. The fast path leaves CR/CRLF in text as written (saxes makes them LF): only
   * allText reads text exactly, and normalises it; elsewhere CR and LF are both just whitespace.
   */
  text: string;
  comment: boolean;
}
const NO_ATTRS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_CHILDREN: XNode[] = [];

// XML's predefined entities and the common HTML ones are decoded (undefinedEntities reports the HTML ones); any
// other well-formed entity reference is kept as written.
const KNOWN_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '\u00a9', reg: '\u00ae', deg: '\u00b0', micro: '\u00b5', middot: '\u00b7', euro: '\u20ac', ndash: '\u2013', mdash: '\u2014', hellip: '\u2026' };
const ENTITIES = new Proxy<Record<string, string>>(KNOWN_ENTITIES, { get: (known, name: string) => known[name] ?? `&${name};` });
/** The fast path decodes only these names (a Map: no inherited names); any other reference goes to saxes. */
const FAST_ENTITIES = new Map(Object.entries(KNOWN_ENTITIES));

function issue(severity: Severity, code: IssueType, messageId: string, message: string, path: string): Issue {
  return { severity, code, messageId, message, path };
}

interface Parsed {
  root: XNode;
  doctype: boolean;
}

type SaxesParser = InstanceType<ReturnType<typeof SaxesParserClass>>;

// One saxes parser reused across calls (it resets itself when a document ends), its handlers bound once to
// this state; after a failed parse its state is not trusted and a new one is made.
let sax: SaxesParser | undefined;
let saxStack: XNode[] = [];
let saxRoot: XNode | undefined;
let saxDoctype = false;
let saxFailure: string | undefined;

function newSaxesParser(): SaxesParser {
  const parser = new (SaxesParserClass())({ xmlns: false });
  parser.on('error', (err) => {
    saxFailure ??= err.message;
    throw err;
  });
  parser.on('doctype', () => {
    saxDoctype = true;
  });
  parser.on('opentag', (tag) => {
    const node: XNode = { name: tag.name, attrs: tag.attributes as Record<string, string>, children: [], text: '', comment: false };
    // Saxes rejects a second root, so the first element opened at the top is the root.
    if (saxStack.length === 0) saxRoot ??= node;
    else saxStack[saxStack.length - 1].children.push(node);
    if (!tag.isSelfClosing) saxStack.push(node);
  });
  parser.on('closetag', (tag) => {
    if (!tag.isSelfClosing) saxStack.pop();
  });
  parser.on('text', (text) => {
    if (saxStack.length !== 0) saxStack[saxStack.length - 1].children.push({ name: null, attrs: NO_ATTRS, children: NO_CHILDREN, text, comment: false });
  });
  parser.on('comment', (text) => {
    if (saxStack.length !== 0) saxStack[saxStack.length - 1].children.push({ name: null, attrs: NO_ATTRS, children: NO_CHILDREN, text, comment: true });
  });
  return parser;
}

/** One strict SAX pass (saxes: well-formedness errors with line:column) into a small tree. */
function parseWithSaxes(div: string, path: string): Parsed | Issue {
  const parser = (sax ??= newSaxesParser());
  parser.ENTITIES = ENTITIES; // reset to the XML ones by every document end
  saxStack = [];
  saxRoot = undefined;
  saxDoctype = false;
  saxFailure = undefined;
  try {
    parser.write(div).close();
  } catch (e) {
    sax = undefined;
    return issue('error', 'invalid', 'xhtml-parse-error', `Error parsing XHTML: ${saxFailure ?? String(e)}`, path);
  }
  return saxRoot ? { root: saxRoot, doctype: saxDoctype } : issue('error', 'invalid', 'xhtml-parse-error', 'Error parsing XHTML: no root element', path);
}

// Outside the fast path: any character other than tab, LF, CR and the XML Chars from space up (listed as
// the characters that are not: a positive class scans twice as fast as the negated one).
const NOT_SIMPLE_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\uD800-\uDFFF\uFFFE\uFFFF]/u;
const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
// ASCII part of XML NameStartChar / NameChar; other characters end a name, and the fast path then declines.
const isNameStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;

function nameEnd(div: string, i: number): number {
  while (isNameChar(div.charCodeAt(i))) i++;
  return i;
}
function spaceEnd(div: string, i: number): number {
  while (isSpace(div.charCodeAt(i))) i++;
  return i;
}

// What a start tag holds next, for the parser and the proof alike (results in module variables: no allocation).
const TAG_BAD = -1;
const TAG_OPEN = -2;
const TAG_SELF_CLOSED = -3;
/** Past the tag, after nextInTag gave TAG_OPEN or TAG_SELF_CLOSED. */
let tagEnd = 0;
/** Where the value starts, after attributeValueEnd found it. */
let valueStart = 0;

/** After a start tag's name or an attribute, at j: the next attribute's name (its index), the tag's end, or TAG_BAD. */
function nextInTag(div: string, j: number): number {
  for (;;) {
    let c = div.charCodeAt(j);
    if (c === GT) {
      tagEnd = j + 1;
      return TAG_OPEN;
    }
    if (c === SLASH) {
      if (div.charCodeAt(j + 1) !== GT) return TAG_BAD;
      tagEnd = j + 2;
      return TAG_SELF_CLOSED;
    }
    if (!isSpace(c)) return TAG_BAD;
    j = spaceEnd(div, j);
    c = div.charCodeAt(j);
    if (c === GT || c === SLASH) continue;
    return isNameStart(c) ? j : TAG_BAD;
  }
}

/** After an attribute's name: `= "value"` with no '<' before its end (lt: the next '<'); its closing quote, or -1. */
function attributeValueEnd(div: string, nameStop: number, lt: number): number {
  let k = spaceEnd(div, nameStop);
  if (div.charCodeAt(k) !== 0x3d) return -1;
  k = spaceEnd(div, k + 1);
  const quote = div[k];
  if (quote !== '"' && quote !== "'") return -1;
  const valueEnd = div.indexOf(quote, k + 1);
  if (valueEnd < 0 || (lt >= 0 && lt < valueEnd)) return -1;
  valueStart = k + 1;
  return valueEnd;
}

/**
 * Hand-written parser for the common narrative subset (no comments, CDATA, PIs or DOCTYPE, only the known
 * named entities; ASCII names; quoted attribute values without '<', tab, CR or LF), building the tree saxes would build
 * (but for CRs in text, see XNode.text);
 * undefined hands the div to saxes.
 */
function parseSimple(div: string): Parsed | undefined {
  // ']]>' is an error in text for saxes
  if (NOT_SIMPLE_CHAR.test(div) || div.includes(']]>')) return undefined;
  // Whole-div answers, so that most texts and attribute values need no test of their own.
  const hasAmp = div.includes('&');
  // The next tab, LF and CR at or after the attribute value being read (-1: none left): moved on as the parse does,
  // so an attribute value needs no test of its own.
  let nextTab = div.indexOf('\t');
  let nextLf = div.indexOf('\n');
  let nextCr = div.indexOf('\r');
  const stack: XNode[] = [];
  let root: XNode | undefined;
  let i = spaceEnd(div, 0);
  for (;;) {
    if (div.charCodeAt(i) !== LT) return undefined;
    let c = div.charCodeAt(++i);
    // the next '<' after this one
    let lt: number;
    if (c === SLASH) {
      const end = nameEnd(div, ++i);
      const close = spaceEnd(div, end);
      if (end === i || div.charCodeAt(close) !== GT || stack.pop()?.name !== div.slice(i, end)) return undefined;
      i = close + 1;
      if (stack.length === 0) break;
      lt = div.indexOf('<', i);
    } else {
      if (!isNameStart(c)) return undefined;
      // an attribute value holds a '<' when this one is before its end
      lt = div.indexOf('<', i);
      let j = nameEnd(div, i);
      const node: XNode = { name: div.slice(i, j), attrs: NO_ATTRS, children: [], text: '', comment: false };
      let next: number;
      while ((next = nextInTag(div, j)) >= 0) {
        j = next;
        const nameStop = nameEnd(div, j);
        const attr = div.slice(j, nameStop);
        const valueEnd = attributeValueEnd(div, nameStop, lt);
        if (valueEnd < 0) return undefined;
        const k = valueStart - 1;
        const raw = div.slice(valueStart, valueEnd);
        nextTab = nextFrom(div, '\t', nextTab, k);
        nextLf = nextFrom(div, '\n', nextLf, k);
        nextCr = nextFrom(div, '\r', nextCr, k);
        // A break in the value declines. A duplicate declines, and so do inherited names (__proto__, constructor...):
        // a plain object is then safe. (A keyed read finds both, and costs far less than 'in' with a freshly sliced name.)
        if ((nextTab >= 0 && nextTab < valueEnd) || (nextLf >= 0 && nextLf < valueEnd) || (nextCr >= 0 && nextCr < valueEnd) || node.attrs[attr] !== undefined) return undefined;
        const value = hasAmp && raw.includes('&') ? decodeEntities(raw) : raw;
        if (value === undefined) return undefined;
        if (node.attrs === NO_ATTRS) node.attrs = {};
        node.attrs[attr] = value;
        j = valueEnd + 1;
      }
      if (next === TAG_BAD) return undefined;
      if (stack.length === 0) root = node;
      else stack[stack.length - 1].children.push(node);
      if (next === TAG_OPEN) stack.push(node);
      i = tagEnd;
      if (stack.length === 0) break;
    }
    if (lt < 0) return undefined;
    if (lt > i) {
      const text = div.slice(i, lt);
      const decoded = hasAmp && text.includes('&') ? decodeEntities(text) : text;
      if (decoded === undefined) return undefined;
      stack[stack.length - 1].children.push({ name: null, attrs: NO_ATTRS, children: NO_CHILDREN, text: decoded, comment: false });
    }
    i = lt;
  }
  return root !== undefined && spaceEnd(div, i) === div.length ? { root, doctype: false } : undefined;
}

/** The first `ch` after `from`, given `at`, the first one after an earlier position (or -1). */
function nextFrom(div: string, ch: string, at: number, from: number): number {
  return at < 0 || at > from ? at : div.indexOf(ch, from + 1);
}

/**
 * The known named references in text or an attribute value replaced; undefined (saxes decides) for any other
 * reference or a '&' without a ';' in the same run, as saxes would then read the entity name past it.
 */
function decodeEntities(raw: string): string | undefined {
  let out = '';
  let from = 0;
  for (let amp = raw.indexOf('&'); amp >= 0; amp = raw.indexOf('&', from)) {
    const semi = raw.indexOf(';', amp + 1);
    if (semi < 0) return undefined;
    const value = FAST_ENTITIES.get(raw.slice(amp + 1, semi));
    if (value === undefined) return undefined;
    out += raw.slice(from, amp) + value;
    from = semi + 1;
  }
  return out + raw.slice(from);
}

/** Java UrlUtil.checkValidUrl: null when acceptable, else the reason. */
function urlProblem(value: string): string | null {
  if (value === '') return 'URL is empty';
  if (value.startsWith('data:')) {
    const parts = value.slice(5).split(',');
    if (parts.length < 2) return 'No data found in data: URL';
    if (parts.length > 2) return `Comma found in data portion of data URL: ${value}`;
    if (parts[0].endsWith(';base64') && !BASE64.test(parts[1])) {
      return `The data should be valid base64 content for a data: URL: ${value}`;
    }
    return null;
  }
  let bad: Set<string> | undefined;
  let count = 0;
  for (const ch of value) {
    if (!URL_OK_CHAR.test(ch)) {
      count++;
      (bad ??= new Set()).add(`'${ch}'`);
    }
  }
  if (bad === undefined) return null;
  const list = [...bad].sort().join(',');
  return count === 1 ? `URL contains Invalid Character (${list})` : `URL contains ${count} Invalid Characters (${list})`;
}
// XML end-of-line handling, as saxes does it
const CR_LF = /\r\n?/g;
// Java Character.isDigit/isAlphabetic plus the reserved and unreserved URL punctuation UrlUtil accepts.
const URL_OK_CHAR = /^[\p{L}\p{Nl}\p{Nd};?:@&=+$.,/%\-_~#[\]!'()*|]$/u;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Java XhtmlNode.allText(), used for the text of a hyperlink in messages. */
function allText(children: XNode[]): string {
  let out = '';
  for (const c of children) {
    const name = c.name;
    if (name === null) {
      if (!c.comment) out += c.text.includes('\r') ? c.text.replace(CR_LF, '\n') : c.text;
      continue;
    }
    if (name === 'li') out += '* ';
    out += name === 'img' ? (c.attrs.alt ?? '[image]') : allText(c.children);
    if (ALLTEXT_NEWLINE.has(name)) out += '\r\n';
    else if (ALLTEXT_SPACE.has(name)) out += ' ';
  }
  return out;
}

/** Java XhtmlNode.hasContent() (non-whitespace text in or below the node); with images too for txt-2 (htmlChecks2). */
function hasContent(node: XNode, imagesCount: boolean): boolean {
  const name = node.name;
  if (name === null) return !node.comment && node.text.trim() !== '';
  if (imagesCount && name === 'img') return true;
  return node.children.some((c) => hasContent(c, imagesCount));
}

function attributeAllowed(element: string, attr: string): boolean {
  return HTML_ATTRIBUTES.has(attr) || COMBO_ATTRIBUTES.get(element)?.has(attr) === true || attr.startsWith('xmlns');
}
/** HTML_COMBO_LIST by element, so no 'element.attr' string is made per attribute. */
const COMBO_ATTRIBUTES = new Map<string, Set<string>>();
for (const combo of HTML_COMBO_LIST) {
  const [element, attr] = combo.split('.') as [string, string];
  COMBO_ATTRIBUTES.get(element)?.add(attr) ?? COMBO_ATTRIBUTES.set(element, new Set([attr]));
}

/** Whether an id attribute, or an a/@name, in the div equals the fragment. */
function hasAnchor(node: XNode, fragment: string): boolean {
  if (node.name === null) return false;
  const attrs = node.attrs;
  if (attrs.id === fragment || (node.name === 'a' && attrs.name === fragment)) return true;
  return node.children.some((c) => hasAnchor(c, fragment));
}

// One-pass check of divs that need no tree: the fast path's syntax, listed names only, and nothing that could
// raise an issue. It only proves a div clean; any doubt hands the div to the tree checks, which give the messages.
// Names are read through a trie, so a clean div costs no allocation.
const ELEMENT_NAMES = [...HTML_ELEMENTS];
const ATTRIBUTE_NAMES = [...new Set([...HTML_ATTRIBUTES, ...[...COMBO_ATTRIBUTES.values()].flatMap((s) => [...s]), 'xml:space'])];
/** Whether an attribute (by id) passes the tree checks on an element (by id): the allowed lists, and xml:space. */
const ATTRIBUTE_ALLOWED = ELEMENT_NAMES.flatMap((e) => ATTRIBUTE_NAMES.map((a) => a === 'xml:space' || attributeAllowed(e, a)));
const ELEMENT_BLOCK = ELEMENT_NAMES.map((e) => HTML_BLOCK_LIST.has(e));
const [DIV, P, A, IMG] = ['div', 'p', 'a', 'img'].map((e) => ELEMENT_NAMES.indexOf(e));
const [XMLNS, XML_LANG, HREF, SRC] = ['xmlns', 'xml:lang', 'href', 'src'].map((a) => ATTRIBUTE_NAMES.indexOf(a));

// A trie of all those names, over the characters they use (a-z, 1-6, ':'): a name is known as it is read.
const TRIE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz123456:';
/** By char code: the trie column, NAME_END for a character that ends a name, NAME_OTHER for one no listed name has. */
const TRIE_COLUMN = new Int8Array(128).fill(-1);
const NAME_END = -1;
const NAME_OTHER = -2;
for (let c = 0; c < 128; c++) if (isNameChar(c)) TRIE_COLUMN[c] = NAME_OTHER;
for (let col = 0; col < TRIE_ALPHABET.length; col++) TRIE_COLUMN[TRIE_ALPHABET.charCodeAt(col)] = col;
const TRIE_NODES = 1 + [...ELEMENT_NAMES, ...ATTRIBUTE_NAMES].reduce((n, name) => n + name.length, 0);
/** Child node by node * alphabet size + column; 0 (the root, never a child) for none. */
const TRIE = new Int16Array(TRIE_NODES * TRIE_ALPHABET.length);
/** The element and attribute id each node spells, or -1. */
const ELEMENT_AT = new Int16Array(TRIE_NODES).fill(-1);
const ATTRIBUTE_AT = new Int16Array(TRIE_NODES).fill(-1);
let trieSize = 1;
function trieAdd(name: string): number {
  let node = 0;
  for (let k = 0; k < name.length; k++) {
    const slot = node * TRIE_ALPHABET.length + TRIE_COLUMN[name.charCodeAt(k)];
    node = TRIE[slot] || (TRIE[slot] = trieSize++);
  }
  return node;
}
ELEMENT_NAMES.forEach((name, id) => (ELEMENT_AT[trieAdd(name)] = id));
ATTRIBUTE_NAMES.forEach((name, id) => (ATTRIBUTE_AT[trieAdd(name)] = id));

/** Where the last name read by trieNode ended. */
let trieStop = 0;
/** The trie node of the name at i (0 for none), or -1 for a name no listed name begins; sets trieStop. */
function trieNode(div: string, i: number): number {
  let node = 0;
  for (;; i++) {
    const c = div.charCodeAt(i);
    const col = c < 128 ? TRIE_COLUMN[c] : NAME_END;
    if (col === NAME_END) break;
    if (col === NAME_OTHER || (node = TRIE[node * TRIE_ALPHABET.length + col]) === 0) return -1;
  }
  trieStop = i;
  return node;
}

/** Open elements' ids, reused by every pass; a deeper div goes to the tree checks. */
const openIds = new Int32Array(64);
/** By attribute id, the number of the last element it was met on: a duplicate meets its own element's number. */
const attributeSeenOn = new Float64Array(ATTRIBUTE_NAMES.length);
let elementCount = 0;

/** Whether the text div[from, to) has content for hasContent (String.trim's whitespace is more than ASCII's). */
function textHasContent(div: string, from: number, to: number, amp: boolean): boolean {
  if (amp) return decodeEntities(div.slice(from, to))!.trim() !== '';
  for (let k = from; k < to; k++) {
    const c = div.charCodeAt(k);
    if (c > 0x20 && c < 0x80) return true;
    if (c >= 0x80) return div.slice(from, to).trim() !== '';
  }
  return false;
}

/** Whether each '&' in div[from, to), the first at amp, begins a reference that decodeEntities knows in that span. */
function entitiesKnown(div: string, amp: number, to: number): boolean {
  for (; amp >= 0 && amp < to; amp = div.indexOf('&', amp + 1)) {
    const semi = div.indexOf(';', amp + 1);
    if (semi < 0 || semi >= to || !FAST_ENTITIES.has(div.slice(amp + 1, semi))) return false;
  }
  return true;
}

/** Whether an a/@href or img/@src raises no issue: a valid URL, not javascript:, a local link that resolves by id. */
function urlClean(url: string, localIds: ReadonlySet<string> | undefined): boolean {
  if (urlProblem(url) !== null) return false;
  const scheme = linkScheme(url);
  if (scheme !== undefined && !KNOWN_SCHEMES.has(scheme)) return false;
  return localIds === undefined || url.length < 2 || url.charCodeAt(0) !== 0x23 || localIds.has(url.slice(1));
}

/** Whether checkTree would find no issue in the div, proven in one pass; false also when unsure. */
function provenClean(div: string, ctx: NarrativeContext): boolean {
  if (ctx.resourceLanguage !== undefined || NOT_SIMPLE_CHAR.test(div) || div.includes(']]>')) return false;
  const localIds = ctx.localIds;
  // the first '&' at or after the text or value being read (-1: none left)
  let nextAmp = div.indexOf('&');
  let nextTab = div.indexOf('\t');
  let nextLf = div.indexOf('\n');
  let nextCr = div.indexOf('\r');
  let depth = 0;
  /** Open p elements: a block element inside one is an issue. */
  let paras = 0;
  let content = false;
  let i = spaceEnd(div, 0);
  for (;;) {
    if (div.charCodeAt(i) !== LT) return false;
    let c = div.charCodeAt(++i);
    let lt: number;
    if (c === SLASH) {
      const node = trieNode(div, ++i);
      if (depth === 0) return false;
      const id = openIds[--depth];
      if (node < 0 || ELEMENT_AT[node] !== id) return false;
      const close = spaceEnd(div, trieStop);
      if (div.charCodeAt(close) !== GT) return false;
      if (id === P) paras--;
      i = close + 1;
      if (depth === 0) break;
      lt = div.indexOf('<', i);
    } else {
      if (!isNameStart(c)) return false;
      lt = div.indexOf('<', i);
      const node = trieNode(div, i);
      const id = node < 0 ? -1 : ELEMENT_AT[node];
      let j = trieStop;
      if (id < 0 || (depth === 0 ? id !== DIV : paras !== 0 && ELEMENT_BLOCK[id])) return false;
      if (id === IMG) content = true;
      const element = ++elementCount;
      let namespaced = false;
      let next: number;
      while ((next = nextInTag(div, j)) >= 0) {
        j = next;
        const attrNode = trieNode(div, j);
        const attr = attrNode < 0 ? -1 : ATTRIBUTE_AT[attrNode];
        if (attr < 0 || !ATTRIBUTE_ALLOWED[id * ATTRIBUTE_NAMES.length + attr]) return false;
        if (attributeSeenOn[attr] === element) return false;
        attributeSeenOn[attr] = element;
        const valueEnd = attributeValueEnd(div, trieStop, lt);
        if (valueEnd < 0) return false;
        const k = valueStart - 1;
        nextTab = nextFrom(div, '\t', nextTab, k);
        nextLf = nextFrom(div, '\n', nextLf, k);
        nextCr = nextFrom(div, '\r', nextCr, k);
        if ((nextTab >= 0 && nextTab < valueEnd) || (nextLf >= 0 && nextLf < valueEnd) || (nextCr >= 0 && nextCr < valueEnd)) return false;
        nextAmp = nextFrom(div, '&', nextAmp, k);
        const amp = nextAmp >= 0 && nextAmp < valueEnd;
        // references in the values the checks read are left to the tree
        if (amp && (attr === XMLNS || attr === HREF || attr === SRC || !entitiesKnown(div, nextAmp, valueEnd))) return false;
        if (attr === XMLNS) {
          // (indexOf: startsWith at a position is slower)
          if (valueEnd - k - 1 !== XHTML_NS.length || div.indexOf(XHTML_NS, k + 1) !== k + 1) return false;
          namespaced = true;
        } else if ((attr === HREF && id === A) || (attr === SRC && id === IMG)) {
          if (!urlClean(div.slice(k + 1, valueEnd), localIds)) return false;
        } else if (attr === XML_LANG && depth === 1 && id === DIV) {
          return false; // a language section
        }
        j = valueEnd + 1;
      }
      if (next === TAG_BAD) return false;
      const selfClosing = next === TAG_SELF_CLOSED;
      if (depth === 0 && (selfClosing || !namespaced)) return false;
      if (!selfClosing) {
        if (depth === openIds.length) return false;
        openIds[depth++] = id;
        if (id === P) paras++;
      }
      i = tagEnd;
    }
    if (lt < 0) return false;
    if (lt > i) {
      nextAmp = nextFrom(div, '&', nextAmp, i - 1);
      const amp = nextAmp >= 0 && nextAmp < lt;
      if (amp && !entitiesKnown(div, nextAmp, lt)) return false;
      if (!content) content = textHasContent(div, i, lt, amp);
    }
    i = lt;
  }
  return content && spaceEnd(div, i) === div.length;
}

const NAMED_REFERENCE = /&([A-Za-z][A-Za-z0-9]*);/g;
const XML_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/**
 * A named reference XML does not define (&nbsp;, &reg;: the div is XML without a DTD) is an error in the reference,
 * once per name and apart from txt-1 and txt-2; checkXhtml still reads the common ones, so the rest is checked.
 */
export function undefinedEntities(div: string, path: string): Issue[] {
  if (!div.includes('&')) return [];
  const names = new Set<string>();
  for (const [, name] of div.matchAll(NAMED_REFERENCE)) if (!XML_ENTITIES.has(name!)) names.add(name!);
  return Array.from(names, (name) => issue('error', 'invalid', 'xhtml-entity-invalid', `Invalid entity in the XHTML ('&${name};')`, path));
}

export function checkXhtml(div: string, ctx: NarrativeContext): Issue[] {
  if (provenClean(div, ctx)) return [];
  return checkTree(parseSimple(div) ?? parseWithSaxes(div, ctx.path), ctx);
}

/**
 * checkXhtml by one path, for the differential tests: 'proof' is the one-pass check, 'fast' the fast parser's tree;
 * each gives undefined where it declines.
 */
export function checkXhtmlWith(div: string, ctx: NarrativeContext, parser: 'proof' | 'fast' | 'saxes'): Issue[] | undefined {
  if (parser === 'proof') return provenClean(div, ctx) ? [] : undefined;
  const parsed = parser === 'fast' ? parseSimple(div) : parseWithSaxes(div, ctx.path);
  return parsed && checkTree(parsed, ctx);
}

function checkTree(parsed: Parsed | Issue, ctx: NarrativeContext): Issue[] {
  const path = ctx.path;
  if (!('root' in parsed)) return [parsed];
  const { root } = parsed;
  const rootName = root.name!;
  const rootAttrs = root.attrs;
  const issues: Issue[] = [];

  const ns = rootAttrs.xmlns;
  if (ns !== XHTML_NS) {
    issues.push(issue('error', 'invalid', 'xhtml-wrong-namespace', `Wrong namespace on the XHTML ('${ns ?? 'null'}', should be '${XHTML_NS}')`, path));
  }
  if (rootName !== 'div') {
    issues.push(issue('error', 'invalid', 'xhtml-wrong-root', `Wrong name on the XHTML ('${rootName}') - must start with div`, path));
  }

  // txt-1 (htmlChecks1) covers the root and all descendants; the per-name errors cover descendants only,
  // as in the Java validator, so a bad attribute on the root only fails txt-1.
  let txt1 = HTML_ELEMENTS.has(rootName);
  for (const an in rootAttrs) if (an !== 'xml:space' && !attributeAllowed(rootName, an)) txt1 = false;
  if (parsed.doctype) {
    txt1 = false;
    issues.push(issue('error', 'invalid', 'xhtml-doctype', 'Malformed XHTML: Found a DocType declaration, and these are not allowed (XXE security vulnerability protection)', path));
  }
  const walk = new TreeWalk(path, issues, txt1);
  walk.walk(root.children, false);
  const links = walk.links;

  if (!walk.txt1) issues.push(issue('error', 'invariant', 'txt-1', TXT1, path));
  if (!hasContent(root, true)) issues.push(issue('error', 'invariant', 'txt-2', TXT2, path));

  const localIds = ctx.localIds;
  if (localIds && links) {
    for (const { node, name, xpath, url } of links) {
      const fragment = url.slice(1);
      if (localIds.has(fragment) || hasAnchor(root, fragment) || ctx.outerIds?.().has(fragment)) continue;
      issues.push(
        name === 'a'
          ? issue('error', 'invalid', 'xhtml-hyperlink-unresolved', `Hyperlink '${url}' at '${xpath}' for '${allText(node.children)}' does not resolve`, path)
          : issue('error', 'invalid', 'xhtml-image-unresolved', `Image source '${url}' at '${xpath}' does not resolve`, path),
      );
    }
  }

  checkLanguageSections(root.children, path, issues);
  if (ctx.resourceLanguage) checkResourceLanguage(root, ctx.resourceLanguage, path, issues);
  return issues;
}
/** Link schemes a reader's browser follows without surprise; others get a hint, as in the reference. */
const KNOWN_SCHEMES = new Set(['http', 'https', 'tel', 'mailto', 'data']);

/** The scheme of an absolute URL (the reference's Utilities.isAbsoluteUrl), else undefined: only those are judged. */
function linkScheme(url: string): string | undefined {
  return url.includes(':') && isAbsoluteUrl(url) ? url.slice(0, url.indexOf(':')) : undefined;
}

interface Link {
  node: XNode;
  name: string;
  xpath: string;
  url: string;
}

/** The per-element checks below the root: a class, so no closure per div; xpaths made only for local links. */
class TreeWalk {
  links: Link[] | undefined;
  /** Names of the elements from the root's children down to the current one. */
  private readonly names: string[] = [];

  constructor(
    private readonly path: string,
    private readonly issues: Issue[],
    /** Cleared by an element or attribute outside the allowed lists. */
    public txt1: boolean,
  ) {}

  walk(list: XNode[], inPara: boolean): void {
    const { path, issues, names } = this;
    for (const node of list) {
      const name = node.name;
      if (name === null) continue;
      const attrs = node.attrs;
      const nodeNs = attrs.xmlns;
      if (nodeNs !== undefined && nodeNs !== XHTML_NS) {
        issues.push(issue('error', 'invalid', 'xhtml-wrong-namespace', `Wrong namespace on the XHTML ('${nodeNs}', should be '${XHTML_NS}')`, path));
      }
      if (!HTML_ELEMENTS.has(name)) {
        this.txt1 = false;
        issues.push(issue('error', 'invalid', 'xhtml-illegal-element', `Invalid element name in the XHTML ('${name}')`, path));
      }
      if (attrs !== NO_ATTRS) {
        for (const an in attrs) {
          // xml:space is only a hint in the Java validator; that hint is not reproduced here.
          if (an === 'xml:space' || attributeAllowed(name, an)) continue;
          this.txt1 = false;
          issues.push(issue('error', 'invalid', 'xhtml-illegal-attribute', `Invalid attribute name in the XHTML ('${an}' on '${name}')`, path));
        }
      }
      if (inPara && HTML_BLOCK_LIST.has(name)) {
        issues.push(issue('error', 'invalid', 'xhtml-block-in-paragraph', `Invalid element name inside a paragraph in the XHTML ('${name}')`, path));
      }
      names.push(name);
      const url = name === 'a' ? attrs.href : name === 'img' ? attrs.src : undefined;
      if (url !== undefined) this.checkUrl(node, name, url);
      if (node.children.length !== 0) this.walk(node.children, inPara || name === 'p');
      names.pop();
    }
  }

  private checkUrl(node: XNode, name: string, url: string): void {
    const { path, issues } = this;
    const problem = urlProblem(url);
    if (problem !== null) {
      issues.push(issue('error', 'invalid', 'xhtml-invalid-url', `The URL is not valid because '(${problem})': ${url}`, path));
    }
    const scheme = name === 'a' ? linkScheme(url) : undefined;
    // The reference's checkReferences: a link must not run code, and must lead to something a reader can open.
    if (scheme === 'javascript' || scheme === 'vbscript') {
      issues.push(issue('error', 'security', 'xhtml-active-href', `The link '${url}' uses the ${scheme}: scheme, which runs code and is not allowed in a narrative`, path));
    } else if (scheme === 'urn' || scheme === 'cid') {
      issues.push(issue('error', 'invalid', 'xhtml-literal-href', `The link '${url}' uses the ${scheme}: scheme, which names something a reader cannot open; link to it by a resolvable URL`, path));
    } else if (scheme !== undefined && !KNOWN_SCHEMES.has(scheme)) {
      issues.push(issue('information', 'informational', 'xhtml-unknown-href', `The link '${url}' uses the scheme ${scheme}:, which readers may not be able to open`, path));
    }
    if (url.length > 1 && url.startsWith('#')) (this.links ??= []).push({ node, name, xpath: `div/${this.names.join('/')}`, url });
  }
}

const LANGUAGE_CONTROL = 'http://hl7.org/fhir/StructureDefinition/narrative-language-control';
const SOURCE_CONTROL = 'http://hl7.org/fhir/StructureDefinition/narrative-source-control';
/** The classes that say where narrative text comes from (narrative.html#control; the reference also takes 'original'). */
const SOURCE_CLASSES = new Set(['boilerplate', 'generated', 'original', 'extensions', 'additional']);

/** What a profile's narrative element asks of the XHTML, through the extension pack's narrative control extensions. */
export interface NarrativeControls {
  /** narrative-language-control values: '_no', '_yes', '_resource' or language codes. */
  languages: string[];
  /** narrative-source-control is set (to anything but 'success'): every text must say its source. */
  sources: boolean;
  /** The profile, as the reference names it in these messages. */
  profile: string;
}

/** The narrative controls on an element definition, or null when it has none. */
export function narrativeControlsOf(definition: Readonly<Record<string, unknown>>, profileUrl: string): NarrativeControls | null {
  const extensions = Array.isArray(definition.extension) ? (definition.extension as Array<{ url?: unknown; valueCode?: unknown }>) : [];
  const languages: string[] = [];
  let sources = false;
  for (const ext of extensions) {
    if (typeof ext?.valueCode !== 'string') continue;
    if (ext.url === LANGUAGE_CONTROL) languages.push(ext.valueCode);
    else if (ext.url === SOURCE_CONTROL) sources = ext.valueCode !== 'success';
  }
  return languages.length > 0 || sources ? { languages, sources, profile: `StructureDefinition[${profileUrl}]` } : null;
}

/**
 * A profile's narrative controls against the XHTML, at the narrative's path. An XHTML that cannot be read gives
 * nothing here: checkXhtml reports it. Reported as errors whatever the source control's level: the reference does
 * so for 'warning'.
 */
export function checkNarrativeControls(div: string, controls: NarrativeControls, path: string, resourceLanguage: string | undefined): Issue[] {
  const parsed = parseSimple(div) ?? parseWithSaxes(div, path);
  if (!('root' in parsed)) return [];
  const issues: Issue[] = [];
  const sections = parsed.root.children.filter((c) => c.name === 'div' && c.attrs['xml:lang'] !== undefined).map((c) => c.attrs['xml:lang']!);
  for (const wanted of controls.languages) {
    if (wanted === '_no') {
      if (sections.length > 0) issues.push(issue('error', 'business-rule', 'xhtml-language-sections-prohibited', `The xhtml has language sections (${sections.join(', ')}), which the profile ${controls.profile} does not allow`, path));
    } else if (wanted === '_yes') {
      if (sections.length === 0) issues.push(issue('error', 'business-rule', 'xhtml-language-sections-required', `The xhtml is not divided into language sections, as the profile ${controls.profile} requires`, path));
    } else {
      const language = wanted === '_resource' ? resourceLanguage : wanted;
      if (language !== undefined && !sections.includes(language)) {
        issues.push(issue('error', 'business-rule', 'xhtml-language-section-missing', `The xhtml has no language section for '${language}', as the profile ${controls.profile} requires`, path));
      }
    }
  }
  if (controls.sources) unattributedText(parsed.root, false, controls.profile, path, issues);
  return issues;
}

/** Each text with content that neither its element nor one above names a source class of. */
function unattributedText(node: XNode, attributed: boolean, profile: string, path: string, issues: Issue[]): void {
  const classes = node.attrs.class;
  const here = attributed || (classes !== undefined && classes.split(/\s+/).some((c) => SOURCE_CLASSES.has(c)));
  for (const child of node.children) {
    if (child.name !== null) unattributedText(child, here, profile, path, issues);
    else if (!here && !child.comment && child.text.trim() !== '') {
      issues.push(issue('error', 'business-rule', 'xhtml-source-missing', `The xhtml node at '${child.text.trim()}' does not have a class attribute to indicate its source (boilerplate, generated, or original) and this is required by the profile ${profile}`, path));
    }
  }
}

/** Language sections are child divs with xml:lang; other content beside them is flagged. */
function checkLanguageSections(children: XNode[], path: string, issues: Issue[]): void {
  let langs: string[] | undefined;
  let other = false;
  for (const c of children) {
    const lang = c.name === 'div' ? c.attrs['xml:lang'] : undefined;
    if (lang !== undefined) {
      if (!(langs ??= []).includes(lang)) langs.push(lang);
    } else if (hasContent(c, false)) other = true;
  }
  if (langs !== undefined && other) {
    issues.push(issue('warning', 'business-rule', 'xhtml-mixed-language', `The xhtml has some language sections (${langs.join(', ')}), and also has content that is not in a language section`, path));
  }
}

/**
 * Resource.language against the div's lang/xml:lang. Without them on the div, its language sections
 * count: one in the resource language is enough, otherwise the first section is compared.
 */
function checkResourceLanguage(root: XNode, language: string, path: string, issues: Issue[]): void {
  const resourcePath = path.replace(/\.text\.div$/, '');
  let attrs = root.attrs;
  if (attrs.lang === undefined && attrs['xml:lang'] === undefined) {
    const sections = root.children
      .filter((c) => c.name === 'div')
      .map((c) => c.attrs)
      .filter((a) => a.lang !== undefined || a['xml:lang'] !== undefined);
    if (sections.length === 0) {
      issues.push(issue('warning', 'business-rule', 'xhtml-lang-missing', LANG_MISSING1, resourcePath));
      return;
    }
    if (sections.some((a) => a.lang === language || a['xml:lang'] === language)) return;
    attrs = sections[0];
  } else if (attrs.lang === undefined) {
    issues.push(issue('warning', 'business-rule', 'xhtml-lang-missing', LANG_MISSING2, resourcePath));
  } else if (attrs['xml:lang'] === undefined) {
    issues.push(issue('warning', 'business-rule', 'xhtml-lang-missing', LANG_MISSING3, resourcePath));
  }
  const lang = attrs.lang;
  const xmlLang = attrs['xml:lang'];
  if (lang !== undefined && lang !== language) {
    issues.push(issue('warning', 'business-rule', 'xhtml-lang-different', `Resource has a language (${language}), and the XHTML has a lang (${lang}), but they differ`, resourcePath));
  } else if (xmlLang !== undefined && xmlLang !== language) {
    issues.push(issue('warning', 'business-rule', 'xhtml-lang-different', `Resource has a language (${language}), and the XHTML has an xml:lang (${xmlLang}), but they differ`, resourcePath));
  }
}

// Java HTML_FRAGMENT_REGEX "[a-zA-Z]\w*(((\s+)(\S)*)*)" (full match) is equivalent to this, without its backtracking.
const HTML_FRAGMENT = /^[a-zA-Z][a-zA-Z0-9_]*(?:[ \t\n\v\f\r][\s\S]*)?$/;

/** Java InstanceValidator.containsHtmlTags: the text between some '<' and the next '>' looks like a start tag. */
function containsHtmlTags(value: string): boolean {
  let lt = value.indexOf('<');
  while (lt >= 0) {
    const gt = value.indexOf('>', lt + 1);
    if (gt < 0) return false;
    if (HTML_FRAGMENT.test(value.slice(lt + 1, gt))) return true;
    lt = value.indexOf('<', lt + 1);
  }
  return false;
}

/**
 * Embedded HTML in a string: an error with security checks on; otherwise the Java validator's information
 * hint (which it gives for string types other than markdown - callers decide which types to pass).
 */
export function checkStringSecurity(value: string, path: string, securityChecks: boolean): readonly Issue[] {
  if (value.indexOf('<') < 0 || !containsHtmlTags(value)) return NO_ISSUES;
  return securityChecks
    ? [issue('error', 'invalid', 'string-html-security', SECURITY_STRING_ERROR, path)]
    : [issue('information', 'invalid', 'string-html-hint', SECURITY_STRING_HINT, path)];
}

// MarkDownProcessor.preProcess escapes these: an unescaped start/end tag, and '<!' / '<?'.
const MARKDOWN_TAG = /(?<!\\)<\/?[A-Za-z][A-Za-z0-9-]*[\s>]|<[!?]/;

/** Raw HTML in markdown: error at the first tag, as the Java validator reports it by default. */
export function checkMarkdown(value: string, path: string): readonly Issue[] {
  if (value.indexOf('<') < 0) return NO_ISSUES;
  const m = MARKDOWN_TAG.exec(value);
  if (m === null) return NO_ISSUES;
  const at = m.index < value.length - 1 ? value.slice(m.index, m.index + 2) : value;
  return [
    issue('error', 'invalid', 'markdown-html',
      `The markdown contains content that appears to be an embedded HTML tag starting at '${at}'. This will (or SHOULD) be escaped by the presentation layer. The content should be checked to confirm that this is the desired behaviour`,
      path),
  ];
}
