/**
 * JSON reader: one resource, an array of resources, or a Bundle. Arrays and non-document Bundles are
 * split element by element from stream-json tokens, so the whole file is never held in memory.
 */
import Assembler from 'stream-json/Assembler.js';
import Parser from 'stream-json/Parser.js';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { FileContentError, type SourceItem } from './stream-record.js';
import { parseJsonWithLocations } from './json-locations.js';

interface Token {
  name: string;
  value?: string;
}

/** Bundles validated as a whole rather than entry by entry. */
const WHOLE_BUNDLE_TYPES = new Set(['document', 'message']);

type Sink = (value: unknown) => void;

function primitive(t: Token): { ok: true; value: unknown } | { ok: false } {
  switch (t.name) {
    case 'stringValue':
      return { ok: true, value: t.value };
    case 'numberValue':
      return { ok: true, value: Number(t.value) };
    case 'nullValue':
      return { ok: true, value: null };
    case 'trueValue':
      return { ok: true, value: true };
    case 'falseValue':
      return { ok: true, value: false };
    default:
      return { ok: false };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Token-level state machine; pushes SourceItems. */
class Splitter extends Transform {
  private asm: Assembler | null = null;
  private expecting: Sink | null = null;
  private mode: 'start' | 'array' | 'object' | 'entries' | 'entry' | 'end' = 'start';
  private top: Record<string, unknown> = {};
  private key = '';
  private index = -1;
  private entry: Record<string, unknown> = {};
  private streamedEntries = false;

  constructor(
    private readonly source: string,
    private readonly file: string,
  ) {
    super({ objectMode: true });
  }

  private emitValue(value: unknown, pointer: string): void {
    if (isObject(value) && typeof value.resourceType === 'string') {
      this.push({ kind: 'record', source: this.source, file: this.file, line: 0, pointer, record: value } satisfies SourceItem);
    } else {
      this.push({
        kind: 'rejected',
        source: this.source,
        file: this.file,
        line: 0,
        pointer,
        field: 'resourceType',
        reason: isObject(value) ? 'object has no resourceType' : 'value is not a JSON object',
      } satisfies SourceItem);
    }
  }

  override _transform(t: Token, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.handle(t);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private handle(t: Token): void {
    if (this.asm) {
      this.asm.consume(t);
      if (this.asm.done) {
        const sink = this.expecting!;
        const value = this.asm.current;
        this.asm = null;
        this.expecting = null;
        sink(value);
      }
      return;
    }
    if (this.expecting) {
      const p = primitive(t);
      const sink = this.expecting;
      if (p.ok) {
        this.expecting = null;
        sink(p.value);
      } else {
        this.asm = new Assembler();
        this.asm.consume(t);
      }
      return;
    }
    switch (this.mode) {
      case 'start':
        if (t.name === 'startArray') this.mode = 'array';
        else if (t.name === 'startObject') this.mode = 'object';
        else throw new FileContentError(`${this.file}: top-level JSON value is not an object or an array`);
        return;
      case 'array':
        if (t.name === 'endArray') {
          this.mode = 'end';
          return;
        }
        this.index++;
        this.expecting = (v) => this.emitValue(v, `[${this.index}]`);
        this.handle(t);
        return;
      case 'object':
        if (t.name === 'endObject') {
          this.finishTop();
          return;
        }
        if (t.name === 'keyValue') {
          this.key = t.value!;
          if (this.key === 'entry' && this.top.resourceType === 'Bundle' && !WHOLE_BUNDLE_TYPES.has(String(this.top.type))) {
            this.mode = 'entries';
            this.streamedEntries = true;
          } else {
            const key = this.key;
            this.expecting = (v) => {
              this.top[key] = v;
            };
          }
        }
        return;
      case 'entries':
        if (t.name === 'startArray') return;
        if (t.name === 'endArray') {
          this.mode = 'object';
          return;
        }
        if (t.name === 'startObject') {
          this.index++;
          this.entry = {};
          this.mode = 'entry';
          return;
        }
        throw new FileContentError(`${this.file}: Bundle.entry is not an array of objects`);
      case 'entry':
        if (t.name === 'endObject') {
          this.mode = 'entries';
          this.emitValue(this.entry.resource, `entry[${this.index}]`);
          return;
        }
        if (t.name === 'keyValue') {
          const key = t.value!;
          this.expecting = (v) => {
            this.entry[key] = v;
          };
        }
        return;
      case 'end':
        return;
    }
  }

  private finishTop(): void {
    this.mode = 'end';
    const top = this.top;
    if (this.streamedEntries) return;
    // A Bundle whose resourceType came after its entries: split what was assembled.
    if (top.resourceType === 'Bundle' && !WHOLE_BUNDLE_TYPES.has(String(top.type)) && Array.isArray(top.entry)) {
      top.entry.forEach((e, i) => this.emitValue(isObject(e) ? e.resource : undefined, `entry[${i}]`));
      return;
    }
    this.emitValue(top, '');
  }
}

/**
 * `wholeText`: the file's text again, when it is small enough to hold, so that a syntax error can be placed at its
 * line and column (stream-json's parser says only what it expected).
 */
export async function* readJson(source: string, file: string, input: Readable, wholeText?: () => Promise<string | undefined>): AsyncGenerator<SourceItem> {
  const splitter = new Splitter(source, file);
  const parser = new Parser({ packValues: true, streamValues: false });
  let failure: Error | undefined;
  // Not stream.pipeline: a syntax error must end the splitter, not destroy the records it already holds.
  const stop = (err: Error) => {
    failure ??= err;
    splitter.end();
  };
  input.on('error', stop);
  parser.on('error', stop);
  input.pipe(parser).pipe(splitter);
  let count = 0;
  try {
    for await (const item of splitter as AsyncIterable<SourceItem>) {
      count++;
      yield item;
    }
  } catch (err) {
    failure ??= err as Error;
  } finally {
    input.destroy();
  }
  if (failure) {
    if (failure instanceof FileContentError) throw failure;
    const where = count ? ` after ${count} record(s)` : '';
    const syntax = await wholeText?.().then((text) => (text === undefined ? undefined : parseJsonWithLocations(text).syntaxError), () => undefined);
    if (syntax) yield { kind: 'rejected', source, file, line: syntax.line, reason: `invalid JSON${where}: ${syntax.reason} at column ${syntax.column}` };
    else yield { kind: 'rejected', source, file, line: 0, reason: `invalid JSON${where}: ${failure.message}` };
  }
}
