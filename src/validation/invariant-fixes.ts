/**
 * Published invariants the reference validator evaluates otherwise than written (its FHIRPathExpressionFixer), where
 * that changes an R4 verdict. FHIRPath's matches() finds the pattern anywhere in the string (fhirpath.js and the
 * reference alike), so the reference anchors the patterns that were meant whole; and que-12 counts from two.
 */

/** R4's canonical resources name rule (adf-0, sdf-0, vsd-0 and 27 more): the whole name, when there is one. */
const NAME_RULE = "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')";
const NAME_RULE_FIXED = "name.exists() implies name.matches('^[A-Z]([A-Za-z0-9_]){0,254}$')";
const QUE_12 = 'enableWhen.count() > 2 implies enableBehavior.exists()';
const QUE_12_FIXED = 'enableWhen.count() >= 2 implies enableBehavior.exists()';
/** eld-19 and eld-20 test a whole element path: `path.matches('…')`. */
const WHOLE_PATH = /^path\.matches\('(.*)'\)$/s;

export function fixedExpression(key: string, expression: string): string {
  if (expression === NAME_RULE) return NAME_RULE_FIXED;
  if (expression === QUE_12) return QUE_12_FIXED;
  if (key === 'eld-19' || key === 'eld-20') {
    const pattern = WHOLE_PATH.exec(expression)?.[1];
    if (pattern !== undefined && !pattern.startsWith('^')) return `path.matches('^${pattern}$')`;
  }
  return expression;
}
