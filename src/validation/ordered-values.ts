import { convertUcum, UCUM } from '../terminology/builtin.js';

/** Comparisons for ElementDefinition.minValue[x] / maxValue[x]. */

type QuantityLike = { value?: unknown; code?: unknown; unit?: unknown; system?: unknown };

const UCUM_TIME_MS: Record<string, number> = {
  s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000, wk: 604_800_000, mo: 2_629_746_000, a: 31_556_952_000,
};

function quantity(value: unknown): QuantityLike | undefined {
  return value && typeof value === 'object' && typeof (value as QuantityLike).value === 'number' ? (value as QuantityLike) : undefined;
}

/**
 * Negative when value < bound, positive when greater, NaN when they cannot be compared.
 * A Duration bound on a date is relative to now: minValueDuration lies that long before now,
 * maxValueDuration that long after it.
 */
export function compareToBound(value: unknown, bound: unknown, boundKey: string, now = Date.now()): number {
  if (typeof value === 'number' && typeof bound === 'number') return value - bound;
  if (typeof value === 'string' && boundKey.endsWith('Duration')) {
    const duration = quantity(bound);
    const unitMs = UCUM_TIME_MS[String(duration?.code ?? duration?.unit)];
    const instant = Date.parse(value);
    if (!duration || unitMs === undefined || Number.isNaN(instant)) return Number.NaN;
    const offset = (duration.value as number) * unitMs;
    return instant - (boundKey.startsWith('min') ? now - offset : now + offset);
  }
  if (typeof value === 'string' && typeof bound === 'string') return value < bound ? -1 : value > bound ? 1 : 0;
  const q = quantity(value);
  const b = quantity(bound);
  if (!q || !b) return Number.NaN;
  const qUnit = String(q.code ?? q.unit ?? '');
  const bUnit = String(b.code ?? b.unit ?? '');
  if (qUnit === bUnit) return (q.value as number) - (b.value as number);
  if (q.system === UCUM && b.system === UCUM) {
    const converted = convertUcum(q.value as number, qUnit, bUnit);
    if (converted !== undefined) return converted - (b.value as number);
  }
  return Number.NaN;
}

export function describeBound(value: unknown): string {
  const q = quantity(value);
  return q ? `${String(q.value)} ${String(q.code ?? q.unit ?? '')}`.trim() : String(value);
}
