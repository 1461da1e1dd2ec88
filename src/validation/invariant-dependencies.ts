/**
 * Which members of its focus an invariant reads. Most invariants constrain optional elements
 * (`dataAbsentReason.empty() or value.empty()`) that are absent from most instances; when none of the
 * members an expression names is present, its result is the one it has on an empty object, computed once.
 *
 * Written by hand: a token scan is all this needs, and it keeps fhirpath.js's parser off the hot path.
 */

/** Functions that read the focus as a whole, or outside data, rather than named members of it. */
const WHOLE_FOCUS_FUNCTIONS = new Set([
  'hasValue', 'children', 'descendants', 'repeat', 'resolve', 'conformsTo', 'memberOf', 'htmlChecks', 'htmlChecks2',
  'getValue', 'hasTemplateIdOf', 'trace', 'aggregate', 'toString', 'type', 'elementDefinition', 'slice', 'checkModifiers',
]);

/** Functions that read a named member of their input: `extension('url')` is `extension.where(url = …)`. */
const MEMBER_FUNCTIONS = new Set(['extension', 'modifierExtension']);

const KEYWORDS = new Set(['and', 'or', 'xor', 'implies', 'in', 'contains', 'is', 'as', 'div', 'mod', 'true', 'false']);

/**
 * The member names an expression can navigate to from its focus, or undefined when its result may
 * depend on more than those members (`$this`, `%resource`, `children()`, …).
 */
export function focusDependencies(expression: string): string[] | undefined {
  const names = new Set<string>();
  const n = expression.length;
  let i = 0;
  while (i < n) {
    const c = expression[i]!;
    if (c === "'") {
      i = skipQuoted(expression, i, "'");
    } else if (c === '`') {
      const end = skipQuoted(expression, i, '`');
      names.add(expression.slice(i + 1, end - 1));
      i = end;
    } else if (c === '%' || c === '$') {
      return undefined;
    } else if (c === '/' && (expression[i + 1] === '/' || expression[i + 1] === '*')) {
      return undefined;
    } else if (c === '@') {
      i++;
      while (i < n && /[0-9T:.+\-Z]/.test(expression[i]!)) i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let end = i + 1;
      while (end < n && /[A-Za-z0-9_]/.test(expression[end]!)) end++;
      const word = expression.slice(i, end);
      let next = end;
      while (next < n && /\s/.test(expression[next]!)) next++;
      if (expression[next] === '(') {
        if (WHOLE_FOCUS_FUNCTIONS.has(word)) return undefined;
        if (MEMBER_FUNCTIONS.has(word)) names.add(word);
      } else if (!KEYWORDS.has(word)) {
        names.add(word);
      }
      i = end;
    } else if (/[0-9]/.test(c)) {
      while (i < n && /[0-9.]/.test(expression[i]!)) i++;
    } else {
      i++;
    }
  }
  return [...names];
}

function skipQuoted(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Whether an object has a member (or its `_` companion, or a choice variant) that one of `names` can reach. */
export function reachesAny(node: object, names: readonly string[]): boolean {
  for (let key in node) {
    if (key.charCodeAt(0) === 95 /* _ */) key = key.slice(1);
    for (const name of names) if (key.startsWith(name)) return true;
  }
  return false;
}
