/** NDJSON reader: one JSON value per line; a bad line is rejected with its parse error, the rest goes on. */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { SourceItem } from './stream-record.js';
import { parseJsonWithLocations } from './json-locations.js';

export async function* readNdjson(source: string, file: string, input: Readable): AsyncGenerator<SourceItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    if (text.includes('\uFFFD')) {
      yield { kind: 'rejected', source, file, line, reason: 'bytes that are not valid UTF-8' };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // JSON.parse's message can quote the line (a name, a BSN): the located parser says why and where, quoting one character.
      const syntax = parseJsonWithLocations(text).syntaxError;
      yield { kind: 'rejected', source, file, line, reason: `invalid JSON: ${syntax ? `${syntax.reason} at column ${syntax.column}` : 'cannot be read'}` };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { kind: 'rejected', source, file, line, reason: 'line is not a JSON object' };
      continue;
    }
    yield { kind: 'record', source, file, line, record: value as Record<string, unknown> };
  }
}
