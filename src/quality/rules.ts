/**
 * Rule packs: measures, indicators and known-issue suppressions defined in YAML, validated with zod
 * (errors name file, line and field). Packs ship in profiles/rules/ (published with the npm package, next
 * to the profiles a region adds); a region adds its own pack files beside them.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseYaml, SpecError, SpecErrors } from '../mapping/yaml-file.js';
import { compileExpression } from './paths.js';

export const CATEGORIES = ['conformance', 'completeness', 'plausibility'] as const;
export type Category = (typeof CATEGORIES)[number];

const ID = /^[a-z0-9][a-z0-9.-]*$/;
const share = z.number().min(0).max(1);
const thresholds = z
  .strictObject({ pass: share, warn: share })
  .refine((t) => t.warn <= t.pass, { message: 'warn must not be above pass' });
/** An age like 730d, 24m or 2y. */
const age = z.string().regex(/^\d+[dmy]$/, "an age like '730d', '24m' or '2y'");
const expression = z.string().min(1);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date yyyy-mm-dd');

/** Which resources a measure looks at. */
const selector = {
  resourceType: z.string().regex(/^[A-Z][A-Za-z]+$/),
  /** Only resources that claim this profile in meta.profile. */
  profile: z.string().optional(),
  /** Only resources for which this FHIRPath expression is true. */
  where: expression.optional(),
};

const common = {
  id: z.string().regex(ID, 'lower-case letters, digits, . and -'),
  title: z.string(),
  description: z.string().optional(),
  category: z.enum(CATEGORIES),
  /** Exchanges the measure applies to; default all. */
  exchanges: z.array(z.string()).optional(),
  thresholds,
};

const measureSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('conformance') }),
  z.strictObject({ ...common, kind: z.literal('records') }),
  z.strictObject({
    ...common,
    kind: z.literal('completeness'),
    ...selector,
    elements: z
      .array(
        z.strictObject({
          path: expression,
          name: z.string().optional(),
          level: z.enum(['required', 'must-support', 'regional']),
          thresholds: thresholds.optional(),
        }),
      )
      .min(1),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('identifier'),
    scheme: z.enum(['bsn', 'agb', 'ura']),
    system: z.string(),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('riza'),
    ...selector,
    /** Treatment → code in provision.code; a patient is complete with a current directive for each. */
    codes: z.record(z.string(), z.string()).refine((c) => Object.keys(c).length > 0, 'at least one code'),
    codeSystem: z.string().default('http://snomed.info/sct'),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('acp-currency'),
    /** Resources that record an ACP discussion, with the expression that gives its date. */
    events: z.array(z.strictObject({ ...selector, date: expression })).min(1),
    maxAge: age,
  }),
  z.strictObject({
    ...common,
    kind: z.literal('medication-currency'),
    ...selector,
    /** The verification date of the medication overview. */
    date: expression,
    maxAge: age,
  }),
  z.strictObject({
    ...common,
    kind: z.literal('medication-coherence'),
    ...selector,
    product: expression,
    start: expression,
    end: expression.optional(),
    dosage: expression,
    active: expression.default("status = 'active'"),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('transfer-timeliness'),
    ...selector,
    discharge: expression,
    sent: expression,
    maxHours: z.number().positive(),
  }),
]);

const indicatorSchema = z.strictObject({
  id: z.string().regex(ID, 'lower-case letters, digits, . and -'),
  title: z.string(),
  description: z.string().optional(),
  /**
   * Age and the numerator's events are judged at period.end; without an end, at the run's reference date (a
   * quarterly report: `fhirdq report <run> --reference-date` the quarter's last day).
   */
  period: z.strictObject({ start: date, end: date.optional() }),
  target: share.optional(),
  minCell: z.number().int().min(1).default(10),
  population: z.strictObject({ minAge: z.number().int().min(0).optional(), maxAge: z.number().int().min(0).optional() }).default({}),
  numerator: z.strictObject({ ...selector, date: expression.optional() }),
  stratify: z.array(z.enum(['organisation', 'municipality', 'ageBand'])).default(['organisation']),
  /** Lower bounds of the age bands, ascending. */
  ageBands: z.array(z.number().int().min(0)).default([0, 18, 65, 75, 85]),
  municipality: expression.default("address.where(use = 'home' or use.empty()).city.first()"),
});

const suppressionSchema = z.strictObject({
  messageId: z.string(),
  /** FHIRPath location; `*` matches any text, and [n] indexes are ignored. Omitted: every path. */
  path: z.string().optional(),
  organisation: z.string().optional(),
  reason: z.string().min(1),
});

export const rulePackSchema = z.strictObject({
  pack: z.string().regex(ID, 'lower-case letters, digits, . and -'),
  title: z.string().optional(),
  description: z.string().optional(),
  measures: z.array(measureSchema).default([]),
  indicators: z.array(indicatorSchema).default([]),
  suppressions: z.array(suppressionSchema).default([]),
});

export type MeasureDef = z.output<typeof measureSchema>;
export type IndicatorDef = z.output<typeof indicatorSchema>;
export type SuppressionDef = z.output<typeof suppressionSchema>;
export type Thresholds = z.output<typeof thresholds>;

export interface RuleSet {
  packs: { id: string; title?: string; digest: string }[];
  measures: (MeasureDef & { pack: string })[];
  indicators: (IndicatorDef & { pack: string })[];
  suppressions: SuppressionDef[];
}

export const DEFAULT_RULES_DIR = fileURLToPath(new URL('../../profiles/rules/', import.meta.url));

/** Expressions of a measure or indicator, with their YAML paths, for checking at load time. */
function expressionsOf(m: Record<string, unknown>, at: (string | number)[]): [string, (string | number)[]][] {
  const out: [string, (string | number)[]][] = [];
  for (const key of ['where', 'date', 'product', 'start', 'end', 'dosage', 'active', 'discharge', 'sent', 'municipality']) {
    if (typeof m[key] === 'string') out.push([m[key] as string, [...at, key]]);
  }
  for (const listKey of ['elements', 'events'] as const) {
    const list = m[listKey] as Record<string, unknown>[] | undefined;
    list?.forEach((e, i) => {
      if (typeof e.path === 'string') out.push([e.path, [...at, listKey, i, 'path']]);
      out.push(...expressionsOf(e, [...at, listKey, i]));
    });
  }
  if (m.numerator) out.push(...expressionsOf(m.numerator as Record<string, unknown>, [...at, 'numerator']));
  return out;
}

/** Loads pack files (or every *.yaml in folders); ids must be unique across packs; expressions must compile. */
export async function loadRules(inputs: readonly string[] = [DEFAULT_RULES_DIR]): Promise<RuleSet> {
  const files: string[] = [];
  for (const input of inputs) {
    const entries = await readdir(input, { withFileTypes: true }).catch(() => undefined);
    if (entries) files.push(...entries.filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => path.join(input, e.name)).sort());
    else files.push(input);
  }
  const set: RuleSet = { packs: [], measures: [], indicators: [], suppressions: [] };
  const errors: SpecError[] = [];
  const ids = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new SpecErrors([new SpecError(file, 0, '', `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)]);
    }
    const loaded = parseYaml(file, text, rulePackSchema);
    const pack = loaded.value;
    set.packs.push({ id: pack.pack, title: pack.title, digest: createHash('sha256').update(text).digest('hex').slice(0, 16) });
    const seen = (id: string, at: (string | number)[]) => {
      if (ids.has(id)) errors.push(loaded.error(at, `duplicate id '${id}' (also in ${ids.get(id)})`));
      ids.set(id, file);
    };
    pack.measures.forEach((m, i) => {
      seen(m.id, ['measures', i, 'id']);
      set.measures.push({ ...m, pack: pack.pack });
      for (const [expr, at] of expressionsOf(m, ['measures', i])) checkExpression(expr, at);
    });
    pack.indicators.forEach((ind, i) => {
      seen(ind.id, ['indicators', i, 'id']);
      set.indicators.push({ ...ind, pack: pack.pack });
      for (const [expr, at] of expressionsOf(ind, ['indicators', i])) checkExpression(expr, at);
    });
    set.suppressions.push(...pack.suppressions);
    function checkExpression(expr: string, at: (string | number)[]) {
      try {
        compileExpression(expr);
      } catch (err) {
        errors.push(loaded.error(at, `invalid FHIRPath: ${(err as Error).message.split('\n')[0]}`));
      }
    }
  }
  if (errors.length) throw new SpecErrors(errors);
  return set;
}

/** An age like '730d' as a function of a reference date (ISO yyyy-mm-dd) to the oldest current date. */
export function cutoffDate(referenceDate: string, maxAge: string): string {
  const n = Number(maxAge.slice(0, -1));
  const unit = maxAge.at(-1);
  const d = new Date(`${referenceDate}T00:00:00Z`);
  if (unit === 'd') d.setUTCDate(d.getUTCDate() - n);
  else d.setUTCMonth(d.getUTCMonth() - (unit === 'y' ? 12 * n : n));
  return d.toISOString().slice(0, 10);
}
