/**
 * FHIR XML reader. A non-document Bundle is split into its <entry> elements as the bytes arrive, and
 * each entry is parsed alone with parseFhirXml, so memory is bounded by the largest entry. Other
 * resources (and document or message Bundles, validated as a whole) are parsed whole under a size cap.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parseFhirXml } from './fhir-xml.js';
import { FileContentError, type SourceItem } from './stream-record.js';

export const DEFAULT_MAX_XML_BYTES = 64 * 1024 * 1024;
const WHOLE_BUNDLE_TYPES = new Set(['document', 'message']);

interface Markup {
  kind: 'open' | 'empty' | 'close' | 'other' | 'doctype';
  /** Local name (prefix removed) of an element tag. */
  name: string;
  start: number;
  end: number;
}

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

function skipTo(text: string, from: number, start: number, close: string): Markup | undefined {
  const at = text.indexOf(close, from);
  return at < 0 ? undefined : { kind: 'other', name: '', start, end: at + close.length };
}

/**
 * The next tag, comment, CDATA section or processing instruction at or after `from`; undefined when the
 * text ends first. Only the nesting of tags is needed to find entry boundaries: a full SAX pass
 * (saxes) costs as much as parsing the entry itself, and each entry is parsed strictly afterwards.
 */
function nextMarkup(text: string, from: number): Markup | undefined {
  const start = text.indexOf('<', from);
  if (start < 0 || start + 1 >= text.length) return undefined;
  const c = text.charCodeAt(start + 1);
  if (c === 0x21 /* ! */) {
    if (text.length < start + 9) return undefined;
    if (text.startsWith('<!--', start)) return skipTo(text, start + 4, start, '-->');
    if (text.startsWith('<![CDATA[', start)) return skipTo(text, start + 9, start, ']]>');
    return { kind: 'doctype', name: '', start, end: start + 2 };
  }
  if (c === 0x3f /* ? */) return skipTo(text, start + 2, start, '?>');
  if (c === 0x2f /* / */) {
    const end = text.indexOf('>', start);
    return end < 0 ? undefined : { kind: 'close', name: localName(text.slice(start + 2, end).trim()), start, end: end + 1 };
  }
  let quote = 0;
  let nameEnd = -1;
  for (let i = start + 1; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (quote) {
      if (ch === quote) quote = 0;
    } else if (ch === 0x22 || ch === 0x27) quote = ch;
    else if (ch === 0x3e /* > */) {
      const name = localName(text.slice(start + 1, nameEnd < 0 ? i : nameEnd).replace(/\/$/, ''));
      return { kind: text.charCodeAt(i - 1) === 0x2f ? 'empty' : 'open', name, start, end: i + 1 };
    } else if (nameEnd < 0 && (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d)) nameEnd = i;
  }
  return undefined;
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

const VALUE_ATTR = /\svalue\s*=\s*(?:"([^"]*)"|'([^']*)')/;

export async function* readXml(source: string, file: string, input: Readable, maxBytes = DEFAULT_MAX_XML_BYTES): AsyncGenerator<SourceItem> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const decoder = new StringDecoder('utf8');
  let text = '';
  let bytes = 0;
  let ended = false;
  const more = async (): Promise<void> => {
    const next = await chunks.next();
    if (next.done) {
      text += decoder.end();
      ended = true;
      return;
    }
    bytes += next.value.length;
    text += decoder.write(next.value);
  };

  // Scanning state; `text` starts at line `firstLine` of the file.
  let firstLine = 1;
  let pos = 0;
  /** Local names of the open elements, the root first. */
  const open: string[] = [];
  let root: { tag: string; name: string; lines: number } | undefined;
  let bundleType: string | undefined;
  let streaming = false;
  let entryStart = -1;
  let index = 0;

  for (;;) {
    const m = nextMarkup(text, pos);
    if (!m) {
      if (ended) break;
      if (streaming && entryStart < 0) {
        firstLine += countLines(text, 0, pos);
        text = text.slice(pos);
        pos = 0;
      }
      if (streaming ? text.length > maxBytes : bytes > maxBytes) {
        input.destroy();
        throw tooLarge(file, maxBytes);
      }
      await more();
      continue;
    }
    pos = m.end;
    if (m.kind === 'doctype') break;
    if (m.kind === 'other') continue;
    if (m.kind === 'close') {
      // Pops to the matching open tag, so that an entry with a mismatched tag inside still ends at its
      // own </entry> (and is rejected alone by the strict parse) instead of swallowing the rest.
      const at = open.lastIndexOf(m.name);
      if (at >= 0) open.length = at;
      if (open.length === 1 && entryStart >= 0) {
        if (pos - entryStart > maxBytes) throw tooLarge(file, maxBytes);
        const line = firstLine + countLines(text, 0, entryStart);
        yield entryItem(source, file, root!, text.slice(entryStart, pos), line, index++);
        // Everything up to here is spent: drop it, keeping the line count.
        firstLine = line + countLines(text, entryStart, pos);
        text = text.slice(pos);
        pos = 0;
        entryStart = -1;
      }
      if (open.length === 0) {
        if (streaming) return;
        break;
      }
      continue;
    }
    // An element tag.
    const depth = open.length;
    if (depth === 0) {
      if (m.name !== 'Bundle' || m.kind === 'empty') break;
      const tag = text.slice(m.start, m.end);
      root = { tag, name: tag.slice(1).split(/[\s/>]/, 1)[0], lines: countLines(tag, 0, tag.length) };
    } else if (depth === 1) {
      if (m.name === 'type') bundleType = VALUE_ATTR.exec(text.slice(m.start, m.end))?.slice(1).find((v) => v !== undefined);
      else if (m.name === 'entry') {
        if (!streaming) {
          if (bundleType === undefined || WHOLE_BUNDLE_TYPES.has(bundleType)) break;
          streaming = true;
        }
        if (m.kind === 'empty') {
          const line = firstLine + countLines(text, 0, m.start);
          yield { kind: 'rejected', source, file, line, pointer: `entry[${index}]`, field: `Bundle.entry[${index}].resource`, reason: 'entry has no resource' };
          index++;
        } else entryStart = m.start;
      }
    }
    if (m.kind === 'open') open.push(m.name);
  }
  if (streaming) {
    yield { kind: 'rejected', source, file, line: firstLine + countLines(text, 0, text.length), pointer: `entry[${index}]`, reason: 'invalid FHIR XML: the file ends inside the Bundle' };
    return;
  }
  // Not a streamable Bundle: the whole text (nothing was dropped yet), under the cap.
  while (!ended) {
    if (bytes > maxBytes) {
      input.destroy();
      throw tooLarge(file, maxBytes);
    }
    await more();
  }
  yield* wholeFile(source, file, text);
}

function tooLarge(file: string, maxBytes: number): FileContentError {
  return new FileContentError(`${file}: XML larger than the ${maxBytes} byte cap for a resource, a document Bundle or a Bundle entry (raise maxXmlBytes or send NDJSON)`);
}

/** One entry, parsed inside a copy of the Bundle's start tag so that its namespace declarations apply. */
function entryItem(source: string, file: string, root: { tag: string; name: string; lines: number }, entry: string, line: number, i: number): SourceItem {
  const { resource, issues } = parseFhirXml(`${root.tag}${entry}</${root.name}>`);
  const fatal = issues.find((x) => x.severity === 'fatal');
  const pointer = `entry[${i}]`;
  if (!resource || fatal) {
    const at = fatal?.line ? fatal.line - 1 - root.lines + line : line;
    return { kind: 'rejected', source, file, line: at, pointer, field: fatal?.path?.replace('Bundle.entry[0]', `Bundle.entry[${i}]`) || undefined, reason: `invalid FHIR XML: ${fatal?.message ?? 'no resource'}` };
  }
  const r = (resource.entry as { resource?: Record<string, unknown> }[] | undefined)?.[0]?.resource;
  if (r && typeof r.resourceType === 'string') return { kind: 'record', source, file, line, pointer, record: r };
  return { kind: 'rejected', source, file, line, pointer, field: `Bundle.entry[${i}].resource`, reason: 'entry has no resource' };
}

function* wholeFile(source: string, file: string, text: string): Generator<SourceItem> {
  const { resource, issues, locations } = parseFhirXml(text);
  const fatal = issues.find((i) => i.severity === 'fatal');
  if (!resource || fatal) {
    yield { kind: 'rejected', source, file, line: fatal?.line ?? 0, field: fatal?.path || undefined, reason: `invalid FHIR XML: ${fatal?.message ?? 'no resource'}` };
    return;
  }
  const entries = resource.resourceType === 'Bundle' && !WHOLE_BUNDLE_TYPES.has(String(resource.type)) ? (resource.entry as { resource?: unknown }[] | undefined) : undefined;
  if (!entries) {
    yield { kind: 'record', source, file, line: locations.get(resource.resourceType)?.line ?? 1, record: resource };
    return;
  }
  for (let i = 0; i < entries.length; i++) {
    const r = entries[i]?.resource as Record<string, unknown> | undefined;
    const line = locations.get(`Bundle.entry[${i}]`)?.line ?? 0;
    if (r && typeof r.resourceType === 'string') yield { kind: 'record', source, file, line, pointer: `entry[${i}]`, record: r };
    else yield { kind: 'rejected', source, file, line, pointer: `entry[${i}]`, field: `Bundle.entry[${i}].resource`, reason: 'entry has no resource' };
  }
}
