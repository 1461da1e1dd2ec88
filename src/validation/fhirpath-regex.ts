/**
 * FHIRPath regular expressions as the reference validator reads them (java.util.regex), compiled to JavaScript's
 * unicode mode. Java accepts escapes of any punctuation (\' \" \:) and lone ] { }, which unicode mode rejects:
 * eld-19 and eld-20 of the R4 core are written so. Written by hand: no library translates Java patterns.
 */
export function fhirPathRegExp(source: string, flags: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    const translated = javaToUnicodePattern(source);
    if (translated === source) throw error;
    try {
      return new RegExp(translated, flags);
    } catch {
      // The pattern is wrong in Java's reading too: report it as written.
      throw error;
    }
  }
}

/** Characters unicode mode allows after a backslash outside a class (besides letters and digits). */
const SYNTAX = new Set('^$\\.*+?()[]{}|/');
const QUANTIFIER = /^\{\d+(,\d*)?\}/;

/** Drops the backslash of punctuation escapes unicode mode rejects, and escapes brackets Java reads literally. */
export function javaToUnicodePattern(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\' && i + 1 < source.length) {
      const next = source[++i]!;
      const keep = /[A-Za-z0-9]/.test(next) || SYNTAX.has(next) || (inClass && next === '-');
      out += keep ? c + next : next;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // Java reads a ] right after [ or [^ as a member; JavaScript as the end of an empty class.
      if (source[i + 1] === '^') out += source[++i];
      if (source[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '{') {
      const quantifier = QUANTIFIER.exec(source.slice(i));
      if (quantifier) {
        out += quantifier[0];
        i += quantifier[0].length - 1;
      } else out += '\\{';
      continue;
    }
    out += c === ']' || c === '}' ? '\\' + c : c;
  }
  return out;
}
