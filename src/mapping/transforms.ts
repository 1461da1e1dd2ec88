/** Value transforms for Dutch exports: dates, Amsterdam date-times, BSN/AGB/URA, numbers, booleans. */

export class TransformError extends Error {}

/** A value as a rejection quotes it: long ones cut, so that a reason stays one readable line in reports. */
export function quoted(value: unknown): string {
  const text = String(value);
  return `'${text.length > 60 ? `${text.slice(0, 57)}…` : text}'`;
}

const DUTCH_DATE = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DUTCH_DATETIME = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const COMPACT_DATETIME = /^(\d{4})(\d{2})(\d{2})[ T]?(\d{2})(\d{2})(\d{2})?$/;
const ISO_LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const ISO_OFFSET_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

function checkDate(y: number, m: number, d: number, raw: string): string {
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (m < 1 || m > 12 || d < 1 || d > days || y < 1800 || y > 2200) throw new TransformError(`${quoted(raw)} is not a valid date`);
  return `${y}-${pad2(m)}-${pad2(d)}`;
}

/** dd-mm-yyyy, d-m-yyyy (also / or . separated), yyyymmdd or yyyy-mm-dd → FHIR date. */
export function toDate(raw: string): string {
  let m = DUTCH_DATE.exec(raw);
  if (m) return checkDate(+m[3], +m[2], +m[1], raw);
  m = COMPACT_DATE.exec(raw) ?? ISO_DATE.exec(raw);
  if (m) return checkDate(+m[1], +m[2], +m[3], raw);
  throw new TransformError(`${quoted(raw)} is not a date in a known format (dd-mm-yyyy, d-m-yyyy, yyyymmdd, yyyy-mm-dd)`);
}

const amsterdam = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Amsterdam',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
});
/** Offset in minutes of Europe/Amsterdam at the start of a UTC hour, from Intl (slow: called once per cache miss). */
function offsetAtHour(hour: number): number {
  const p: Record<string, number> = {};
  for (const part of amsterdam.formatToParts(hour * 3_600_000)) if (part.type !== 'literal') p[part.type] = +part.value;
  return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - hour * 3_600_000) / 60_000);
}

/**
 * Per UTC day: the day's offset when its first and last hour agree, else NaN and then per hour. Offsets
 * change on the hour and at most once a day in Europe/Amsterdam, so agreeing ends mean no change.
 */
const dayCache = new Map<number, number>();
const hourCache = new Map<number, number>();
function amsterdamOffset(utcMs: number): number {
  const day = Math.floor(utcMs / 86_400_000);
  let off = dayCache.get(day);
  if (off === undefined) {
    const start = offsetAtHour(day * 24);
    off = start === offsetAtHour(day * 24 + 23) ? start : NaN;
    if (dayCache.size > 200_000) dayCache.clear();
    dayCache.set(day, off);
  }
  if (!Number.isNaN(off)) return off;
  const hour = Math.floor(utcMs / 3_600_000);
  let h = hourCache.get(hour);
  if (h === undefined) hourCache.set(hour, (h = offsetAtHour(hour)));
  return h;
}

/**
 * Wall-clock time in Europe/Amsterdam → FHIR dateTime with its offset, DST-correct. In the autumn
 * overlap the earlier (summer-time) instant is taken; a time in the spring gap is rejected.
 */
export function amsterdamDateTime(y: number, mo: number, d: number, h: number, mi: number, s: number, raw: string): string {
  const date = checkDate(y, mo, d, raw);
  if (h > 23 || mi > 59 || s > 59) throw new TransformError(`${quoted(raw)} is not a valid time`);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  let off = amsterdamOffset(wall - 120 * 60_000);
  if (amsterdamOffset(wall - off * 60_000) !== off) off = amsterdamOffset(wall - off * 60_000);
  const back = wall - off * 60_000;
  if (amsterdamOffset(back) !== off) throw new TransformError(`${quoted(raw)} does not exist in Europe/Amsterdam (DST gap)`);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${date}T${pad2(h)}:${pad2(mi)}:${pad2(s)}${sign}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`;
}

/** 'dd-mm-yyyy HH:mm[:ss]', yyyymmddHHmm[ss], ISO local or with offset, or a date alone → FHIR dateTime. */
export function toDateTime(raw: string): string {
  if (ISO_OFFSET_DATETIME.test(raw)) return raw;
  let m = DUTCH_DATETIME.exec(raw);
  if (m) return amsterdamDateTime(+m[3], +m[2], +m[1], +m[4], +m[5], +(m[6] ?? 0), raw);
  m = COMPACT_DATETIME.exec(raw) ?? ISO_LOCAL_DATETIME.exec(raw);
  if (m) return amsterdamDateTime(+m[1], +m[2], +m[3], +m[4], +m[5], +(m[6] ?? 0), raw);
  try {
    return toDate(raw);
  } catch {
    throw new TransformError(`${quoted(raw)} is not a date-time in a known format (dd-mm-yyyy HH:mm, yyyymmddHHmm, ISO)`);
  }
}

/** BSN: 9 digits (8 are left-padded) passing the 11-check. */
export function toBsn(raw: string): string {
  const v = raw.replace(/[\s.]/g, '');
  if (!/^\d{8,9}$/.test(v)) throw new TransformError(`BSN ${quoted(raw)} is not 8 or 9 digits`);
  const bsn = v.padStart(9, '0');
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * (bsn.charCodeAt(i) - 48);
  sum -= bsn.charCodeAt(8) - 48;
  if (sum % 11 !== 0 || bsn === '000000000') throw new TransformError(`BSN ${quoted(raw)} fails the 11-check`);
  return bsn;
}

function digits(n: number, what: string) {
  const re = new RegExp(`^\\d{${n}}$`);
  return (raw: string) => {
    const v = raw.replace(/\s/g, '');
    if (!re.test(v)) throw new TransformError(`${what} ${quoted(raw)} is not ${n} digits`);
    return v;
  };
}

const TRUE = new Set(['ja', 'j', 'yes', 'y', 'true', '1', 'waar']);
const FALSE = new Set(['nee', 'n', 'no', 'false', '0', 'onwaar']);

export const TRANSFORMS = {
  string: (raw: string) => raw,
  upper: (raw: string) => raw.toUpperCase(),
  lower: (raw: string) => raw.toLowerCase(),
  date: toDate,
  dateTime: toDateTime,
  bsn: toBsn,
  agb: digits(8, 'AGB code'),
  ura: digits(8, 'URA number'),
  integer: (raw: string) => {
    if (!/^-?\d+$/.test(raw)) throw new TransformError(`${quoted(raw)} is not an integer`);
    return Number(raw);
  },
  decimal: (raw: string) => {
    const v = raw.replace(',', '.');
    if (!/^-?\d+(\.\d+)?$/.test(v)) throw new TransformError(`${quoted(raw)} is not a decimal number`);
    return Number(v);
  },
  boolean: (raw: string) => {
    const v = raw.toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw new TransformError(`${quoted(raw)} is not a yes/no value`);
  },
} satisfies Record<string, (raw: string) => unknown>;

export type TransformName = keyof typeof TRANSFORMS;
export const TRANSFORM_NAMES = Object.keys(TRANSFORMS) as TransformName[];
