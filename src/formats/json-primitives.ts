/**
 * Primitive values read from JSON the way the reference's parsers read them. A value of the wrong JSON type is an
 * error the structure check reports; the checks beyond it then see what the reference's model holds: a number or
 * boolean where text belongs as its text (Gson's getAsString), digits where a number belongs as the number, and an
 * object or array where a primitive belongs as nothing.
 */

export function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

export function asInteger(value: unknown): number | undefined {
  if (Number.isInteger(value)) return value as number;
  return typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : undefined;
}

export function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  return value === 'true' ? true : value === 'false' ? false : undefined;
}
