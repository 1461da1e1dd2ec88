/** Progress: a redrawn line on a terminal, structured JSON log lines otherwise. */

export interface Progress {
  event(name: string, data?: Record<string, unknown>): void;
  /** Counters, reported at most every `intervalMs`. */
  tick(counts: { read: number; mapped: number; rejected: number; validated: number; rssMb?: number }): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean }, intervalMs?: number): Progress {
  const tty = 'isTTY' in stream && stream.isTTY === true;
  const every = intervalMs ?? (tty ? 150 : 5000);
  const start = Date.now();
  let last = 0;
  let drawn = false;
  const line = (obj: Record<string, unknown>) => stream.write(JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
  return {
    event(name, data = {}) {
      if (tty) {
        if (drawn) stream.write('\r\x1b[K');
        drawn = false;
        stream.write(`${name}${Object.keys(data).length ? ' ' + Object.entries(data).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : ''}\n`);
      } else line({ event: name, ...data });
    },
    tick(c) {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      const secs = (now - start) / 1000;
      const rate = Math.round(c.read / Math.max(secs, 0.001));
      if (tty) {
        const width = 24;
        const filled = c.read ? Math.round((width * (c.mapped + c.rejected)) / c.read) : 0;
        const vfill = c.mapped ? Math.min(width, Math.round((width * c.validated) / Math.max(c.mapped, 1))) : 0;
        stream.write(
          `\r\x1b[K[${'#'.repeat(vfill)}${'='.repeat(Math.max(0, filled - vfill))}${' '.repeat(Math.max(0, width - filled))}] read ${c.read} mapped ${c.mapped} rejected ${c.rejected} validated ${c.validated} ${rate}/s${c.rssMb ? ` ${c.rssMb} MB` : ''}`,
        );
        drawn = true;
      } else line({ event: 'progress', ...c, recordsPerSecond: rate });
    },
    done() {
      if (tty && drawn) stream.write('\n');
    },
  };
}
