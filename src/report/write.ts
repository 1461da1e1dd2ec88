/** Writes a run's quality outputs: summary.json (quality part), report.html, junit.xml, summary.md, indicators.csv, readiness.csv, history. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { VendorDetail } from '../quality/collector.js';
import type { QualitySummary } from '../quality/summary.js';
import { recordRun, type History } from './history.js';
import { renderHtml } from './html.js';
import { renderIndicatorsCsv, renderReadinessCsv } from './csv.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { inputProblems } from './views.js';

/** Exit codes for schedulers (see the README section). */
export const EXIT = { ok: 0, failing: 1, usage: 2, drop: 3 } as const;

export interface WriteOptions {
  /** History database file; false: no history. */
  history?: string | false;
  /** A fall in a share larger than this (0.05 = 5 points) since the previous run is a warning. */
  dropThreshold?: number;
  /** A fall in the records read larger than this fraction (0.5: to less than half) is a warning. */
  volumeDrop?: number;
  /** Fail (non-zero exit) on failing measures and on drops. */
  strict?: boolean;
  /** Vendor detail for junit.xml (resource locations of the data holder). */
  vendor?: VendorDetail;
}

export interface WriteResult {
  exitCode: number;
  history?: History;
  failing: string[];
  /** Sources with input that was not read (skipped, or files that failed). */
  unread: string[];
}

export async function writeReports(dir: string, q: QualitySummary, options: WriteOptions = {}): Promise<WriteResult> {
  await mkdir(dir, { recursive: true });
  const history = options.history ? await recordRun(options.history, q, { dropThreshold: options.dropThreshold ?? 0.05, volumeDrop: options.volumeDrop }) : undefined;
  // The pipeline's summary.json gets a `quality` part; a merged report has only that part.
  const summaryFile = path.join(dir, 'summary.json');
  const base = existsSync(summaryFile) ? (JSON.parse(await readFile(summaryFile, 'utf8')) as Record<string, unknown>) : {};
  await writeFile(summaryFile, JSON.stringify({ ...base, quality: q }, null, 2) + '\n');
  await writeFile(path.join(dir, 'report.html'), renderHtml(q, history));
  await writeFile(path.join(dir, 'junit.xml'), renderJunit(q, options.vendor));
  await writeFile(path.join(dir, 'summary.md'), renderMarkdown(q, history));
  await writeFile(path.join(dir, 'indicators.csv'), renderIndicatorsCsv(q));
  await writeFile(path.join(dir, 'readiness.csv'), renderReadinessCsv(q));
  const failing = Object.entries(q.status).filter(([, s]) => s === 'fail').map(([id]) => id);
  const unread = [...new Set(inputProblems(q).map((r) => r.source))];
  let exitCode: number = EXIT.ok;
  // Measures judged without some of the input are no verdict, strict or not.
  if (unread.length) exitCode = EXIT.usage;
  else if (options.strict && failing.length) exitCode = EXIT.failing;
  else if (options.strict && history?.drops.length) exitCode = EXIT.drop;
  return { exitCode, history, failing, unread };
}
