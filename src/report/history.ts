/**
 * Night-over-night history in one SQLite file, no server. sql.js (SQLite compiled to WASM) because
 * better-sqlite3 needs a native build (no prebuilt binaries can be fetched here) and node:sqlite is not in
 * Node 20. sql.js works on an in-memory copy, so a run loads the file, adds its rows and writes it back
 * atomically (temp file + rename); the file holds counts per measure × organisation × exchange only.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import initSqlJs, { type Database } from 'sql.js';
import { cellStatus, type QualitySummary } from '../quality/summary.js';
import { isSmall } from './views.js';

export interface TrendPoint {
  run: string;
  startedAt: string;
  numerator: number;
  denominator: number;
}

export interface Drop {
  /** The measure, or for kind 'indicator' the indicator. */
  measure: string;
  /** Empty for kind 'indicator' (the region's). */
  organisation: string;
  exchange: string;
  /**
   * share: a measure's share fell; volume: the records read fell (previous and current are counts); indicator: an
   * indicator's share for the region fell.
   */
  kind: 'share' | 'volume' | 'indicator';
  previous: number;
  current: number;
}

export interface History {
  /** Per measure, the region's totals over the last runs, oldest first (this run last). */
  trends: Record<string, TrendPoint[]>;
  /** Per indicator, the region's totals over the same runs (small ones are the renderer's to suppress). */
  indicatorTrends: Record<string, TrendPoint[]>;
  /** Cells whose share fell by more than the threshold since the previous run. */
  drops: Drop[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (run TEXT PRIMARY KEY, region TEXT NOT NULL, started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
  run TEXT NOT NULL, measure TEXT NOT NULL, organisation TEXT NOT NULL, exchange TEXT NOT NULL,
  numerator INTEGER NOT NULL, denominator INTEGER NOT NULL,
  PRIMARY KEY (run, measure, organisation, exchange));
CREATE TABLE IF NOT EXISTS indicators (
  run TEXT NOT NULL, indicator TEXT NOT NULL, numerator INTEGER NOT NULL, denominator INTEGER NOT NULL,
  PRIMARY KEY (run, indicator));
`;

/** Records read that fell by more than this fraction since the previous run are a drop. */
export const VOLUME_DROP = 0.5;

export const runKey = (q: QualitySummary) => q.runs.map((r) => r.runId).join('+');

/** Records a run (replacing an earlier record of the same run) and returns trends and drops. */
export async function recordRun(file: string, q: QualitySummary, options: { dropThreshold: number; volumeDrop?: number; points?: number }): Promise<History> {
  const SQL = await initSqlJs();
  const db: Database = existsSync(file) ? new SQL.Database(await readFile(file)) : new SQL.Database();
  try {
    db.run(SCHEMA);
    const run = runKey(q);
    const startedAt = q.runs.at(-1)?.startedAt ?? '';
    db.run('BEGIN');
    db.run('DELETE FROM cells WHERE run = ?', [run]);
    db.run('INSERT OR REPLACE INTO runs VALUES (?, ?, ?)', [run, q.region, startedAt]);
    const insert = db.prepare('INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?)');
    for (const m of q.measures) {
      const sums = new Map<string, [number, number]>();
      for (const c of m.cells) {
        const k = `${c.organisation}\0${c.exchange}`;
        const t = sums.get(k) ?? [0, 0];
        t[0] += c.numerator;
        t[1] += c.denominator;
        sums.set(k, t);
      }
      for (const [k, [n, d]] of sums) {
        const [org, ex] = k.split('\0');
        insert.run([run, m.id, org, ex, n, d]);
      }
    }
    insert.free();
    db.run('DELETE FROM indicators WHERE run = ?', [run]);
    for (const ind of q.indicators) {
      const n = ind.cells.reduce((a, c) => a + c.numerator, 0);
      const d = ind.cells.reduce((a, c) => a + c.denominator, 0);
      db.run('INSERT INTO indicators VALUES (?, ?, ?, ?)', [run, ind.id, n, d]);
    }
    db.run('COMMIT');

    const points = options.points ?? 14;
    const runs = rows<{ run: string; started_at: string }>(db, 'SELECT run, started_at FROM runs WHERE region = ? AND started_at <= ? ORDER BY started_at DESC, run DESC LIMIT ?', [q.region, startedAt, points]).reverse();
    const trends: History['trends'] = {};
    for (const m of q.measures) trends[m.id] = [];
    const totals = rows<{ run: string; measure: string; n: number; d: number }>(
      db,
      `SELECT run, measure, SUM(numerator) AS n, SUM(denominator) AS d FROM cells WHERE run IN (${runs.map(() => '?').join(',') || "''"}) GROUP BY run, measure`,
      runs.map((r) => r.run),
    );
    const startedOf = new Map(runs.map((r) => [r.run, r.started_at]));
    for (const r of runs) {
      for (const t of totals) if (t.run === r.run && trends[t.measure]) trends[t.measure].push({ run: r.run, startedAt: startedOf.get(r.run)!, numerator: t.n, denominator: t.d });
    }
    const indicatorTrends: History['indicatorTrends'] = {};
    for (const ind of q.indicators) indicatorTrends[ind.id] = [];
    const indicatorRows = rows<{ run: string; indicator: string; numerator: number; denominator: number }>(
      db,
      `SELECT * FROM indicators WHERE run IN (${runs.map(() => '?').join(',') || "''"})`,
      runs.map((r) => r.run),
    );
    for (const r of runs) {
      for (const t of indicatorRows) if (t.run === r.run && indicatorTrends[t.indicator]) indicatorTrends[t.indicator].push({ run: r.run, startedAt: startedOf.get(r.run)!, numerator: t.numerator, denominator: t.denominator });
    }

    const drops: Drop[] = [];
    const previous = runs.length >= 2 ? runs[runs.length - 2].run : undefined;
    if (previous) {
      const before = new Map(rows<{ measure: string; organisation: string; exchange: string; numerator: number; denominator: number }>(db, 'SELECT * FROM cells WHERE run = ?', [previous]).map((r) => [`${r.measure}\0${r.organisation}\0${r.exchange}`, r]));
      for (const m of q.measures) {
        // Completeness is judged per element, but the trend compares the measure's overall share.
        for (const [k, cells] of groupBy(m.cells, (c) => `${c.organisation}\0${c.exchange}`)) {
          const b = before.get(`${m.id}\0${k}`);
          if (!b || !b.denominator || cellStatus(m, cells) === 'n/a') continue;
          const n = cells.reduce((a, c) => a + c.numerator, 0);
          const d = cells.reduce((a, c) => a + c.denominator, 0);
          const prev = b.numerator / b.denominator;
          const cur = n / d;
          if (prev - cur > options.dropThreshold) drops.push({ measure: m.id, organisation: cells[0].organisation, exchange: cells[0].exchange, kind: 'share', previous: prev, current: cur });
        }
        // An export that shrank (a broken or partial export) can keep every share: the records read tell.
        if (m.kind !== 'records') continue;
        const read = new Map([...groupBy(m.cells, (c) => `${c.organisation}\0${c.exchange}`)].map(([k, cells]) => [k, cells.reduce((a, c) => a + c.denominator, 0)]));
        for (const b of before.values()) {
          if (b.measure !== m.id || !b.denominator) continue;
          const current = read.get(`${b.organisation}\0${b.exchange}`) ?? 0;
          if (current < b.denominator * (1 - (options.volumeDrop ?? VOLUME_DROP))) drops.push({ measure: m.id, organisation: b.organisation, exchange: b.exchange, kind: 'volume', previous: b.denominator, current });
        }
      }
      // The region's indicators, as the report shows them: a fall from or to a small cell is not shown, so no warning.
      const earlier = new Map(indicatorRows.filter((r) => r.run === previous).map((r) => [r.indicator, r]));
      for (const ind of q.indicators) {
        const b = earlier.get(ind.id);
        const n = ind.cells.reduce((a, c) => a + c.numerator, 0);
        const d = ind.cells.reduce((a, c) => a + c.denominator, 0);
        if (!b || isSmall(b.numerator, b.denominator, ind.minCell) || isSmall(n, d, ind.minCell)) continue;
        const prev = b.numerator / b.denominator;
        const cur = n / d;
        if (prev - cur > options.dropThreshold) drops.push({ measure: ind.id, organisation: '', exchange: '', kind: 'indicator', previous: prev, current: cur });
      }
    }
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, db.export());
    await rename(tmp, file);
    return { trends, indicatorTrends, drops };
  } finally {
    db.close();
  }
}

function rows<T>(db: Database, sql: string, params: (string | number)[]): T[] {
  const stmt = db.prepare(sql);
  stmt.bind(params);
  const out: T[] = [];
  while (stmt.step()) out.push(stmt.getAsObject() as T);
  stmt.free();
  return out;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.get(key(x))?.push(x) ?? m.set(key(x), [x]);
  return m;
}
