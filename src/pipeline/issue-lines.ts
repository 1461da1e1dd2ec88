/**
 * A validated batch as the run needs it: issue counts per resource and the issues.ndjson lines. Built
 * where the issues are (in the worker for the pool), so that only one string and one small typed array
 * cross back to the main thread instead of every Issue object.
 */
import type { Issue } from '../validation/issues.js';

/** Where a resource came from: the fixed part of each of its issue lines. */
export interface IssueContext {
  source: string;
  file: string;
  line: number;
  pointer?: string;
  exchange: string;
  resourceType: string;
  id?: string;
}

export const SEVERITIES = ['fatal', 'error', 'warning', 'information'] as const;

export interface BatchOutcome {
  /** Per resource, its fatal, error, warning and information counts (4 numbers each). */
  counts: Uint32Array;
  /** issues.ndjson lines, each ending in a newline. */
  lines: string;
}

export function batchOutcome(batch: readonly IssueContext[], results: readonly Issue[][]): BatchOutcome {
  const counts = new Uint32Array(batch.length * 4);
  let lines = '';
  for (let i = 0; i < batch.length; i++) {
    const p = batch[i];
    for (const issue of results[i]) {
      counts[i * 4 + SEVERITIES.indexOf(issue.severity)]++;
      lines +=
        JSON.stringify({
          source: p.source,
          file: p.file,
          line: p.line,
          pointer: p.pointer,
          exchange: p.exchange,
          resourceType: p.resourceType,
          id: p.id,
          severity: issue.severity,
          code: issue.code,
          messageId: issue.messageId,
          message: issue.message,
          expression: issue.path,
        }) + '\n';
    }
  }
  return { counts, lines };
}
