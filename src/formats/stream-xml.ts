/** FHIR XML reader: whole files under a size cap, parsed with parseFhirXml; non-document Bundles split into entries. */
import type { Readable } from 'node:stream';
import { parseFhirXml } from './fhir-xml.js';
import { FileContentError, type SourceItem } from './stream-record.js';

export const DEFAULT_MAX_XML_BYTES = 64 * 1024 * 1024;
const WHOLE_BUNDLE_TYPES = new Set(['document', 'message']);

export async function* readXml(source: string, file: string, input: Readable, maxBytes = DEFAULT_MAX_XML_BYTES): AsyncGenerator<SourceItem> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      input.destroy();
      throw new FileContentError(`${file}: XML file larger than the ${maxBytes} byte cap for XML sources (raise maxXmlBytes or send NDJSON)`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
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
