/** NDJSON file writers: lines are collected and written in chunks, respecting the stream's backpressure. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** One stream.write per chunk: per-line writes cost more than the serialisation itself. */
const CHUNK_BYTES = 1 << 20;

export class NdjsonWriter {
  private readonly stream: WriteStream;
  // Lines are UTF-8 encoded straight into a chunk (no concatenated string to flatten and encode again).
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private draining: Promise<void> | undefined;

  constructor(readonly file: string) {
    this.stream = createWriteStream(file, { highWaterMark: 1 << 20 });
  }

  /** Returns a promise only when the file stream is full: callers await it to slow down, otherwise go on synchronously. */
  write(value: unknown): Promise<void> | undefined {
    return this.writeLine(JSON.stringify(value));
  }

  /** Writes one line of JSON text (without its newline). */
  writeLine(json: string): Promise<void> | undefined {
    return this.writeText(json + '\n');
  }

  /** Writes text that already is whole lines. */
  writeText(text: string): Promise<void> | undefined {
    let wait = this.draining;
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    if (this.used + text.length * 3 > CHUNK_BYTES) {
      wait = this.flush();
      if (text.length * 3 > CHUNK_BYTES) return this.put(Buffer.from(text));
    }
    this.used += this.chunk.write(text, this.used);
    return wait;
  }

  private flush(): Promise<void> | undefined {
    if (this.used === 0) return this.draining;
    const full = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    return this.put(full);
  }

  private put(bytes: Buffer): Promise<void> | undefined {
    const ok = this.stream.write(bytes);
    if (ok || this.draining) return this.draining;
    this.draining = once(this.stream, 'drain').then(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  async close(): Promise<void> {
    this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
  }
}
