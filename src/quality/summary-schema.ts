/**
 * The shape of a quality summary as `fhirdq report merge` reads it back from a shard's summary.json: a file that is
 * not one (cut short, edited, from another tool) is refused with where it differs, not met by the merge half way.
 * Typed against QualitySummary, so the two cannot drift apart.
 */
import { z } from 'zod';
import { formatPath, issueMessage } from '../mapping/yaml-file.js';
import { CATEGORIES, thresholds } from './rules.js';
import type { QualitySummary } from './summary.js';

const count = z.number().int().nonnegative();
const status = z.enum(['pass', 'warn', 'fail', 'n/a']);
const example = z.object({ path: z.string(), message: z.string() });

const cell = z.object({
  organisation: z.string(),
  exchange: z.string(),
  profile: z.string().optional(),
  element: z.string().optional(),
  level: z.enum(['required', 'must-support', 'regional']).optional(),
  numerator: count,
  denominator: count,
  unknown: count.optional(),
});

const measure = z.object({
  id: z.string(),
  pack: z.string(),
  title: z.string(),
  description: z.string().optional(),
  category: z.enum(CATEGORIES),
  kind: z.string(),
  exchanges: z.array(z.string()).optional(),
  unit: z.string(),
  thresholds,
  elementThresholds: z.record(z.string(), thresholds).optional(),
  cells: z.array(cell),
  examples: z.array(example),
});

const issueGroup = z.object({
  messageId: z.string(),
  severity: z.enum(['fatal', 'error', 'warning', 'information']),
  organisation: z.string(),
  exchange: z.string(),
  resourceType: z.string(),
  count,
  suppressed: z.string().optional(),
  examples: z.array(example),
});

const rejectionGroup = z.object({
  source: z.string(),
  organisation: z.string(),
  exchange: z.string(),
  stage: z.string(),
  field: z.string().optional(),
  reason: z.string(),
  count,
});

const indicator = z.object({
  id: z.string(),
  pack: z.string(),
  title: z.string(),
  description: z.string().optional(),
  period: z.object({ start: z.string(), end: z.string() }),
  target: z.number().optional(),
  minCell: count,
  stratify: z.array(z.enum(['organisation', 'municipality', 'ageBand'])),
  cells: z.array(z.object({ organisation: z.string(), municipality: z.string(), ageBand: z.string(), numerator: count, denominator: count })),
});

export const qualitySummarySchema = z.object({
  schemaVersion: z.literal(1),
  region: z.string(),
  referenceDate: z.string(),
  runs: z.array(z.object({ runId: z.string(), startedAt: z.string() })),
  packs: z.array(z.object({ id: z.string(), title: z.string().optional(), digest: z.string() })),
  organisations: z.array(z.object({ id: z.string(), name: z.string() })),
  exchanges: z.array(z.object({ id: z.string(), title: z.string().optional() })),
  sources: z.record(z.string(), z.object({ organisation: z.string(), exchange: z.string().optional(), read: count, mapped: count, rejected: count })),
  measures: z.array(measure),
  issues: z.array(issueGroup),
  rejections: z.array(rejectionGroup),
  suppressions: z.array(z.object({ messageId: z.string(), path: z.string().optional(), organisation: z.string().optional(), reason: z.string(), count })),
  indicators: z.array(indicator),
  status: z.record(z.string(), status),
  readiness: z.array(z.object({ organisation: z.string(), exchange: z.string(), status, measures: z.record(z.string(), status) })),
}) satisfies z.ZodType<QualitySummary>;

/** The first few places where `value` is not a quality summary, as `path: problem`; empty when it is one. */
export function summaryProblems(value: unknown): string[] {
  const parsed = qualitySummarySchema.safeParse(value);
  if (parsed.success) return [];
  return parsed.error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    return `${formatPath(path) || '(top)'}: ${issueMessage(issue, value)}`;
  });
}
