/**
 * FHIR R4 XML <-> JSON (http://hl7.org/fhir/R4/xml.html, json.html). The element model (arrays,
 * types, choices, order) comes from the core StructureDefinitions via r4-model.ts.
 * Reading uses saxes: a strict, namespace-aware SAX parser that reports positions (fast-xml-parser
 * reports none, and the validator needs line/column for every element).
 */
import type { SaxesAttributeNS, SaxesTagNS } from 'saxes';
import { SaxesParserClass } from './saxes-lazy.js';
import type { FhirResource } from '../packages/types.js';
import type { Issue, IssueType, Severity } from '../validation/issues.js';
import type { LocationMap } from './locations.js';
import { r4Model, type ChildMatch, type ElementDef, type NodeDef, type R4Model } from './r4-model.js';

export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface FhirXmlResult {
  /** The resource as FHIR JSON; undefined after a fatal error. */
  resource?: FhirResource;
  locations: LocationMap;
  issues: Issue[];
}

const INTEGER = /^[-+]?(?:0|[1-9][0-9]*)$/;
const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const NUMBER_TYPES: Record<string, RegExp> = { integer: INTEGER, positiveInt: INTEGER, unsignedInt: INTEGER, decimal: DECIMAL };

/** Ends parsing after a fatal issue has been recorded. */
class XmlFatal extends Error {}

type Obj = Record<string, unknown>;

interface ElementFrame {
  kind: 'element' | 'primitive';
  node: NodeDef;
  /** The JSON object; for a primitive the `_name` object that collects id and extensions. */
  obj: Obj;
  key: string;
  /** Java-validator style XPath for messages: `/f:Observation/f:status`, `Endpoint/f:connectionType`. */
  xpath: string;
  /** Occurrences per child element, for array indexes, cardinality and order checks. */
  counts?: Map<ElementDef, number>;
  /** Repeating primitive children seen, whose `name`/`_name` arrays are padded to equal length at the end. */
  primitiveArrays?: ElementDef[];
  lastOrder: number;
  lastName: string;
  /** Primitive only: where the value goes. */
  parent?: ElementFrame;
  name?: string;
  index?: number;
  value?: unknown;
  isArray?: boolean;
}

interface ContainerFrame {
  kind: 'container';
  key: string;
  xpath: string;
  parent: ElementFrame;
  name: string;
  index: number;
  isArray: boolean;
  filled: boolean;
}

interface DivFrame {
  kind: 'div';
  parent: ElementFrame;
  /** Offset of the div's `<`. */
  start: number;
  depth: number;
  /** The source text is a standalone XHTML fragment (xmlns on the div, no outside prefixes). */
  verbatim: boolean;
}

interface SkipFrame {
  kind: 'skip';
  depth: number;
  /** An unknown child of a complex element: its source, from the offset of its `<`, is kept in `obj` (see UNREAD). */
  keep?: { obj: Obj; start: number };
}

/**
 * Where a complex element keeps the XML source of unknown children, as JSON input keeps unknown
 * properties: the element still has content, so it is not also reported empty (ele-1), as the
 * reference validator does not. The validator skips this key; the reader has already reported the
 * unknown element. No FHIR JSON property has a ':' (fhir_comments, DSTU2's, is an unknown property in R4).
 */
export const UNREAD = 'fhirdq:unread';

type Frame = ElementFrame | ContainerFrame | DivFrame | SkipFrame;

function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

const ATTR_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };
/** Escapes an attribute value; whitespace as character references so attribute normalisation keeps it. */
function escapeAttr(s: string): string {
  return s.replace(/[&<>"\n\r\t]/g, (c) => ATTR_ESCAPES[c]!);
}

/** No prefixed attributes other than xml:* and namespace declarations. */
function plainNames(tag: SaxesTagNS): boolean {
  for (const a in tag.attributes) {
    const prefix = tag.attributes[a]!.prefix;
    if (prefix !== '' && prefix !== 'xml' && prefix !== 'xmlns') return false;
  }
  return true;
}

/**
 * Re-serialises a div whose source depends on namespace declarations outside it (`<h:div>`, inherited
 * prefixes): unprefixed XHTML names, xmlns on the div, content preserved.
 */
function serializeXhtml(source: string, resolvePrefix: (prefix: string) => string | undefined): string {
  const out: string[] = [];
  let depth = 0;
  const p = new (SaxesParserClass())({ xmlns: true, position: false, resolvePrefix });
  p.on('opentag', (tag) => {
    let s = '<' + (tag.uri === XHTML_NS ? tag.local : tag.name);
    if (depth++ === 0) s += ` xmlns="${XHTML_NS}"`;
    for (const a in tag.attributes) {
      const attr = tag.attributes[a]!;
      if (attr.uri === XMLNS_NS && attr.value === XHTML_NS) continue;
      s += ` ${attr.name}="${escapeAttr(attr.value)}"`;
    }
    out.push(s + (tag.isSelfClosing ? '/>' : '>'));
  });
  p.on('closetag', (tag) => {
    depth--;
    if (!tag.isSelfClosing) out.push(`</${tag.uri === XHTML_NS ? tag.local : tag.name}>`);
  });
  p.on('text', (t) => out.push(escapeText(t)));
  p.on('cdata', (t) => out.push(escapeText(t)));
  p.on('comment', (c) => out.push(`<!--${c}-->`));
  p.write(source).close();
  return out.join('');
}

/** Puts an array item at `index`, padding earlier missing items with null (json.html, repeating primitives). */
function setItem(obj: Obj, name: string, index: number, value: unknown): void {
  let arr = obj[name] as unknown[] | undefined;
  if (!arr) obj[name] = arr = [];
  while (arr.length < index) arr.push(null);
  arr[index] = value;
}

function padArray(obj: Obj, name: string, length: number): void {
  const arr = obj[name] as unknown[] | undefined;
  if (arr) while (arr.length < length) arr.push(null);
}

/** Parses a FHIR XML resource into FHIR JSON with element positions. */
export function parseFhirXml(text: string): FhirXmlResult {
  const model = r4Model();
  const issues: Issue[] = [];
  const locations: LocationMap = new Map();
  const stack: Frame[] = [];
  let resource: FhirResource | undefined;

  // Offsets of the current start tag -> line/column; tags come in document order, so one forward scan.
  let scanOffset = 0;
  let scanLine = 1;
  let scanLineStart = 0;
  let tagLine = 1;
  let tagColumn = 1;
  let tagOffset = 0;

  const parser = new (SaxesParserClass())({ xmlns: true, position: true });

  const issue = (severity: Severity, code: IssueType, messageId: string, message: string, path: string, line = tagLine, column = tagColumn) => {
    issues.push({ severity, code, messageId, message, path, line, column });
  };
  const fatal = (code: IssueType, messageId: string, message: string, path: string, line?: number, column?: number): never => {
    issue('fatal', code, messageId, message, path, line, column);
    throw new XmlFatal(message);
  };

  parser.on('error', (err) => {
    const message = err.message.replace(/^\d+:\d+: /, '');
    let text2 = `Error parsing XML: ${message}`;
    if (message.startsWith('undefined entity')) {
      // Same wording as the reference validator (Xerces).
      const amp = text.lastIndexOf('&', parser.position - 1);
      const name = text.slice(amp + 1, parser.position).replace(/;$/, '');
      text2 = `The entity "${name}" was referenced, but not declared.`;
    }
    fatal('invalid', 'xml-syntax', text2, '(xml)', parser.line, parser.column + 1);
  });

  parser.on('doctype', () =>
    fatal(
      'invalid',
      'xml-doctype',
      'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/disallow-doctype-decl" set to true.',
      '(xml)',
      parser.line,
      parser.column + 1,
    ),
  );

  parser.on('opentagstart', (tag) => {
    const offset = text.lastIndexOf('<', parser.position - tag.name.length - 1);
    for (let j = text.indexOf('\n', scanOffset); j >= 0 && j < offset; j = text.indexOf('\n', j + 1)) {
      scanLine++;
      scanLineStart = j + 1;
    }
    scanOffset = tagOffset = offset;
    tagLine = scanLine;
    tagColumn = offset - scanLineStart + 1;
  });

  const locate = (key: string) => {
    if (!locations.has(key)) locations.set(key, { line: tagLine, column: tagColumn });
  };

  /** Checks attributes against the node's xml attributes (id, url, value) and applies them. */
  const applyAttributes = (tag: SaxesTagNS, node: NodeDef, typeName: string, key: string, target: Obj, frame?: ElementFrame) => {
    for (const name in tag.attributes) {
      const attr = tag.attributes[name] as SaxesAttributeNS;
      if (attr.uri === XMLNS_NS) continue;
      const def = attr.uri === '' ? node.byName.get(attr.local)?.def : undefined;
      if (!def?.xmlAttr) {
        issue('error', 'structure', 'xml-unknown-attribute', `Undefined attribute '@${attr.name}' on ${tag.name} for type ${typeName}`, key);
        continue;
      }
      if (def.name === 'value' && frame) frame.value = primitiveValue(attr.value, typeName, key);
      else target[def.name] = attr.value;
    }
  };

  const primitiveValue = (raw: string, type: string, key: string): unknown => {
    if (type === 'boolean') {
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      issue('error', 'value', 'xml-invalid-primitive', `boolean values must be 'true' or 'false' (found '${raw}')`, key);
      return raw;
    }
    const re = NUMBER_TYPES[type];
    if (!re) return raw;
    if (re.test(raw)) return Number(raw);
    issue('error', 'value', 'xml-invalid-primitive', `The value '${raw}' is not a valid ${type}`, key);
    return raw;
  };

  const startResource = (tag: SaxesTagNS, key: string, xpath: string): ElementFrame | undefined => {
    const node = model.node(tag.local);
    if (!node || node.kind !== 'resource' || tag.uri !== FHIR_NS) return undefined;
    const obj: Obj = { resourceType: tag.local };
    locate(key);
    const frame: ElementFrame = { kind: 'element', node, obj, key, xpath, lastOrder: -1, lastName: '' };
    applyAttributes(tag, node, tag.local, key, obj);
    return frame;
  };

  const openChild = (tag: SaxesTagNS, top: ElementFrame): Frame => {
    const match: ChildMatch | undefined = tag.uri === FHIR_NS || tag.uri === XHTML_NS ? top.node.byName.get(tag.local) : undefined;
    const isXhtml = match?.type === 'xhtml';
    if (!match || match.def.xmlAttr || (isXhtml ? tag.uri !== XHTML_NS : tag.uri !== FHIR_NS)) {
      issue('error', 'structure', 'xml-unknown-element', `Undefined element '${tag.local}' at ${top.xpath}`, top.key);
      // A primitive without a value stays empty, as the reference validator reports it (ele-1).
      return top.kind === 'element' ? { kind: 'skip', depth: 0, keep: { obj: top.obj, start: tagOffset } } : { kind: 'skip', depth: 0 };
    }
    const def = match.def;
    const counts = (top.counts ??= new Map());
    const index = counts.get(def) ?? 0;
    counts.set(def, index + 1);
    const name = tag.local;
    const key = def.isArray ? `${top.key}.${name}[${index}]` : `${top.key}.${name}`;
    const xpath = `${top.xpath}/${isXhtml ? 'h' : 'f'}:${name}`;
    if (def.order < top.lastOrder) {
      issue(
        'error',
        'invalid',
        'xml-element-order',
        `As specified by profile ${model.typeUrl(top.node.typeName)}, Element '${name}' is out of order (found after ${top.lastName})`,
        top.key,
      );
    } else {
      top.lastOrder = def.order;
      top.lastName = name;
    }
    if (!def.isArray && index > 0) {
      // JSON has room for one value: keep the first, report like the validator's cardinality check.
      issue(
        'error',
        'structure',
        'xml-repeated-element',
        `${def.path}: max allowed = 1, but found ${index + 1} (from ${model.typeUrl(top.node.typeName)})`,
        key,
      );
      return { kind: 'skip', depth: 0 };
    }
    locate(key);
    if (match.isResource) {
      for (const a in tag.attributes) {
        if (tag.attributes[a]!.uri !== XMLNS_NS)
          issue('error', 'structure', 'xml-unknown-attribute', `Undefined attribute '@${a}' on ${tag.name} for type ${match.type}`, key);
      }
      return { kind: 'container', key, xpath, parent: top, name, index, isArray: def.isArray, filled: false };
    }
    if (isXhtml) {
      const verbatim = tag.prefix === '' && tag.attributes.xmlns?.value === XHTML_NS && plainNames(tag);
      return { kind: 'div', parent: top, start: tagOffset, depth: 0, verbatim };
    }
    const node = model.node(match.node)!;
    if (node.kind === 'primitive-type') {
      const frame: ElementFrame = { kind: 'primitive', node, obj: {}, key, xpath, lastOrder: -1, lastName: '', parent: top, name, index, isArray: def.isArray };
      applyAttributes(tag, node, match.type, key, frame.obj, frame);
      if (def.isArray && index === 0) (top.primitiveArrays ??= []).push(def);
      return frame;
    }
    const obj: Obj = {};
    if (def.isArray) setItem(top.obj, name, index, obj);
    else top.obj[name] = obj;
    applyAttributes(tag, node, match.type, key, obj);
    return { kind: 'element', node, obj, key, xpath, lastOrder: -1, lastName: '' };
  };

  parser.on('opentag', (tag) => {
    const top = stack[stack.length - 1];
    if (!top) {
      if (tag.uri === '') fatal('structure', 'xml-namespace', `This '${tag.local}' cannot be parsed as a FHIR object (no namespace)`, tag.local);
      const frame = startResource(tag, tag.local, `/f:${tag.local}`);
      if (!frame) fatal('structure', 'xml-namespace', `This does not appear to be a FHIR resource (unknown namespace/name '${tag.uri}::${tag.local}')`, tag.local);
      resource = frame!.obj as FhirResource;
      stack.push(frame!);
      return;
    }
    switch (top.kind) {
      case 'skip':
        top.depth++;
        return;
      case 'div':
        top.depth++;
        if (top.verbatim && (tag.prefix !== '' || !plainNames(tag))) top.verbatim = false;
        return;
      case 'container': {
        const frame = top.filled ? undefined : startResource(tag, top.key, tag.local);
        if (!frame) {
          issue('error', 'structure', 'xml-unknown-element', `Undefined element '${tag.local}' at ${top.xpath}`, top.key);
          stack.push({ kind: 'skip', depth: 0 });
          return;
        }
        top.filled = true;
        if (top.isArray) setItem(top.parent.obj, top.name, top.index, frame.obj);
        else top.parent.obj[top.name] = frame.obj;
        stack.push(frame);
        return;
      }
      default:
        stack.push(openChild(tag, top));
    }
  });

  parser.on('closetag', (tag) => {
    const top = stack[stack.length - 1]!;
    switch (top.kind) {
      case 'skip':
        if (top.depth-- === 0) {
          stack.pop();
          if (top.keep) ((top.keep.obj[UNREAD] ??= []) as string[]).push(text.slice(top.keep.start, parser.position));
        }
        return;
      case 'div':
        if (top.depth-- === 0) {
          stack.pop();
          const source = text.slice(top.start, parser.position);
          top.parent.obj.div = top.verbatim ? source : serializeXhtml(source, (prefix) => parser.resolve(prefix));
        }
        return;
      case 'container':
        stack.pop();
        if (!top.filled) {
          if (top.isArray) setItem(top.parent.obj, top.name, top.index, {});
          else top.parent.obj[top.name] = {};
        }
        return;
      case 'element':
        stack.pop();
        closeElement(top);
        return;
      case 'primitive':
        stack.pop();
        closeElement(top);
        closePrimitive(top);
    }
  });

  /** Pads aligned arrays of repeating primitives (`given` / `_given`) to the number of elements seen. */
  const closeElement = (frame: ElementFrame) => {
    if (!frame.primitiveArrays) return;
    for (const def of frame.primitiveArrays) {
      const count = frame.counts!.get(def)!;
      padArray(frame.obj, def.name, count);
      padArray(frame.obj, '_' + def.name, count);
    }
  };

  const closePrimitive = (frame: ElementFrame) => {
    const parent = frame.parent!;
    const name = frame.name!;
    let hasExtra = false;
    for (const _ in frame.obj) {
      hasExtra = true;
      break;
    }
    // An element with neither value nor children becomes `_name: {}` so the validator sees it (ele-1).
    const addExtra = hasExtra || frame.value === undefined;
    if (frame.isArray) {
      if (frame.value !== undefined) setItem(parent.obj, name, frame.index!, frame.value);
      if (addExtra) setItem(parent.obj, '_' + name, frame.index!, frame.obj);
    } else {
      if (frame.value !== undefined) parent.obj[name] = frame.value;
      if (addExtra) parent.obj['_' + name] = frame.obj;
    }
  };

  parser.on('text', (t) => {
    const top = stack[stack.length - 1];
    if (!top || top.kind === 'skip' || top.kind === 'div') return;
    const trimmed = t.trim();
    if (trimmed === '') return;
    const at = locations.get(top.key); // the enclosing element, as the reference validator reports it
    issue('error', 'structure', 'xml-text', `Text should not be present ('${trimmed}')`, top.key, at?.line, at?.column);
  });

  parser.on('cdata', (t) => {
    const top = stack[stack.length - 1];
    if (top && top.kind !== 'skip' && top.kind !== 'div') issue('error', 'structure', 'xml-cdata', 'CDATA is not allowed', top.key);
  });

  parser.on('processinginstruction', () => {
    const top = stack[stack.length - 1];
    if (!top) issue('error', 'invalid', 'xml-processing-instruction', 'No processing instructions allowed in resources', '(document)', parser.line, parser.column + 1);
    else if (top.kind !== 'skip' && top.kind !== 'div') issue('error', 'structure', 'xml-processing-instruction', 'Node type 7 is not allowed', top.key);
  });

  try {
    parser.write(text).close();
  } catch (e) {
    if (!(e instanceof XmlFatal)) throw e;
    return { resource: undefined, locations, issues };
  }
  return { resource, locations, issues };
}

/** Serialises a FHIR JSON resource as FHIR XML, elements in StructureDefinition order. */
export function writeFhirXml(resource: FhirResource): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  writeResource(r4Model(), resource, out, '', true);
  out.push('\n');
  return out.join('');
}

function writeResource(model: R4Model, res: Obj, out: string[], indent: string, root: boolean): void {
  const type = res.resourceType;
  const node = typeof type === 'string' ? model.node(type) : undefined;
  if (!node || node.kind !== 'resource') throw new Error(`Cannot write resource of unknown type '${String(type)}'`);
  out.push(`${indent}<${type}${root ? ` xmlns="${FHIR_NS}"` : ''}>\n`);
  writeChildren(model, node, res, out, indent + '  ');
  out.push(`${indent}</${type}>`);
}

/** Writes the child elements of a JSON object in model order; unknown properties are an error, not silently dropped. */
function writeChildren(model: R4Model, node: NodeDef, obj: Obj, out: string[], indent: string): void {
  for (const key in obj) {
    if (key === 'resourceType' && node.kind === 'resource') continue;
    const name = key.charCodeAt(0) === 95 ? key.slice(1) : key;
    if (!node.byName.has(name)) throw new Error(`Cannot write unknown property '${key}' of ${node.key}`);
  }
  for (const def of node.children) {
    if (def.xmlAttr) continue;
    if (def.isChoice) {
      for (const type of def.typeCodes) {
        const name = def.name + type.charAt(0).toUpperCase() + type.slice(1);
        if (obj[name] !== undefined || obj['_' + name] !== undefined) writeProperty(model, node.byName.get(name)!, name, obj, out, indent);
      }
    } else if (obj[def.name] !== undefined || obj['_' + def.name] !== undefined) {
      writeProperty(model, node.byName.get(def.name)!, def.name, obj, out, indent);
    }
  }
}

function writeProperty(model: R4Model, match: ChildMatch, name: string, obj: Obj, out: string[], indent: string): void {
  const value = obj[name];
  const extra = obj['_' + name];
  if (match.def.isArray) {
    const values = (Array.isArray(value) ? value : []) as unknown[];
    const extras = (Array.isArray(extra) ? extra : []) as unknown[];
    const n = Math.max(values.length, extras.length);
    for (let i = 0; i < n; i++) writeElement(model, match, name, values[i], extras[i], out, indent);
  } else {
    writeElement(model, match, name, value, extra, out, indent);
  }
}

function writeElement(model: R4Model, match: ChildMatch, name: string, value: unknown, extra: unknown, out: string[], indent: string): void {
  if (match.isResource) {
    out.push(`${indent}<${name}>\n`);
    writeResource(model, value as Obj, out, indent + '  ', false);
    out.push(`\n${indent}</${name}>\n`);
    return;
  }
  if (match.type === 'xhtml') {
    out.push(`${indent}${String(value)}\n`);
    return;
  }
  const node = model.node(match.node)!;
  if (node.kind === 'primitive-type') {
    const ext = (extra ?? {}) as Obj;
    let tag = `${indent}<${name}`;
    if (typeof ext.id === 'string') tag += ` id="${escapeAttr(ext.id)}"`;
    if (value !== undefined && value !== null) tag += ` value="${escapeAttr(String(value))}"`;
    const extensions = ext.extension as Obj[] | undefined;
    if (!extensions?.length) {
      out.push(`${tag}/>\n`);
      return;
    }
    out.push(`${tag}>\n`);
    const extMatch = node.byName.get('extension')!;
    for (const e of extensions) writeElement(model, extMatch, 'extension', e, undefined, out, indent + '  ');
    out.push(`${indent}</${name}>\n`);
    return;
  }
  const obj = value as Obj;
  let tag = `${indent}<${name}`;
  for (const def of node.children) {
    if (def.xmlAttr && typeof obj[def.name] === 'string') tag += ` ${def.name}="${escapeAttr(obj[def.name] as string)}"`;
  }
  out.push(`${tag}>\n`);
  writeChildren(model, node, obj, out, indent + '  ');
  out.push(`${indent}</${name}>\n`);
}
