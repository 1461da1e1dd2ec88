import type { CodeCheck, CodeStatus, TxMessage } from './service.js';

export type BindingStrength = 'required' | 'extensible' | 'preferred' | 'example';
/** What the bound element is: a primitive `code` (or string/uri), a Coding or a CodeableConcept. */
export type BoundKind = 'code' | 'Coding' | 'CodeableConcept';

/** Statuses that fail a binding; undecidable ones (not-checkable, unknown-system) never do. */
const FAILS: ReadonlySet<CodeStatus> = new Set(['not-in-valueset', 'unknown-code', 'invalid-display', 'no-system']);

const NO_ISSUES: readonly TxMessage[] = Object.freeze([]);

const SUITABLE = 'unless it has no suitable code (note that the validator cannot judge what is suitable)';

/**
 * Every issue the HL7 validator reports for one bound element: the terminology messages of the check
 * plus the binding message, whose severity follows the strength (required → error, extensible →
 * warning, preferred → information for primitive codes only, example → none).
 * `value` is the primitive's value (for `code` kind).
 */
export function bindingIssues(check: CodeCheck, strength: BindingStrength, kind: BoundKind, value?: string): readonly TxMessage[] {
  // Most bound values pass: then no list is made.
  if (check.messages.length === 0 && !FAILS.has(check.status)) return NO_ISSUES;
  // Only a required binding keeps the "could not infer the system" error: for the others the binding
  // message (or none) says it all, as the validator's ignoreCantInfer does.
  const out = strength !== 'required' ? check.messages.filter((m) => m.messageId !== 'TX_CANNOT_INFER_SYSTEM') : [...check.messages];
  if (!FAILS.has(check.status) || !check.valueSet || strength === 'example') return out;
  // A member of the value set with a wrong display is a display error, not a required-binding violation.
  if (check.status === 'invalid-display' && strength === 'required') return out;
  const vs = check.valueSet;
  const err = check.errorMessage ?? '';
  let message: string | undefined;
  if (kind === 'code') {
    const head = `The value provided ('${value ?? ''}') was not found in the value set ${vs}, and a code`;
    if (strength === 'required') message = `${head} is required from this value set  (error message = ${err})`;
    else if (strength === 'extensible') message = `${head} should come from this value set ${SUITABLE}  (error message = ${err})`;
    else message = `${head} is recommended to come from this value set (error message = ${err})`;
  } else if (kind === 'CodeableConcept') {
    const head = `None of the codings provided are in the value set ${vs}, and a coding`;
    if (strength === 'required') message = `${head} from this value set is required) (codes = ${check.codes})`;
    else if (strength === 'extensible') message = `${head} should come from this value set ${SUITABLE} (codes = ${check.codes})`;
  } else {
    const head = `The Coding provided (${check.codes}) was not found in the value set ${vs}, and a code`;
    const tail = err ? ` (error message = ${err})` : '';
    if (strength === 'required') message = `${head} is required from this value set.${tail}`;
    else if (strength === 'extensible') message = `${head} should come from this value set ${SUITABLE}.${tail}`;
  }
  if (message) {
    const severity = strength === 'required' ? 'error' : strength === 'extensible' ? 'warning' : 'information';
    out.push({ severity, messageId: `TX_BINDING_${strength.toUpperCase()}`, issueType: 'code-invalid', message });
  }
  return out;
}
