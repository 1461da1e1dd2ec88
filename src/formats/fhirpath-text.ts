/**
 * Splits FHIRPath text at a separator that stands outside quotes and parentheses, e.g. a discriminator path
 * `extension('http://x.org/a').value` at '.', or `a or b` at ' or '. Parts are trimmed.
 * Hand-written: FHIRPath parsers give trees, and these callers need only the top-level parts.
 */
export function splitOutside(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    else if (!quoted && depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(from, i).trim());
      from = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(from).trim());
  return parts;
}
