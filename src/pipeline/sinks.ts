/** NDJSON file writers that respect backpressure. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export class NdjsonWriter {
  private readonly stream: WriteStream;
  count = 0;

  constructor(readonly file: string) {
    this.stream = createWriteStream(file, { highWaterMark: 1 << 20 });
  }

  /** Resolves at once unless the OS buffer is full. */
  write(value: unknown): Promise<void> | undefined {
    this.count++;
    if (this.stream.write(JSON.stringify(value) + '\n')) return undefined;
    return once(this.stream, 'drain').then(() => undefined);
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }
}
