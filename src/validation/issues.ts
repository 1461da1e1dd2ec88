/** One validation finding, independent of how it is rendered (OperationOutcome, text, NDJSON). */
export type Severity = 'fatal' | 'error' | 'warning' | 'information';

/** OperationOutcome.issue.code values used by fhirdq. */
export type IssueType =
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'invalid'
  | 'code-invalid'
  | 'extension'
  | 'not-found'
  | 'not-supported'
  | 'business-rule'
  | 'forbidden'
  | 'informational'
  | 'processing'
  | 'security'
  | 'incomplete';

export interface Issue {
  severity: Severity;
  code: IssueType;
  /** Stable identifier of the rule that fired, for suppression and statistics. */
  messageId: string;
  message: string;
  /** FHIRPath location, e.g. Patient.name[0].given[1]. */
  path: string;
  line?: number;
  column?: number;
}

/**
 * The issue at a position in its file. Written out: in Node 20, `{ ...issue, line, column }` took 2–3 µs an issue
 * against a few ns (V8 copies a spread source with added properties through the runtime).
 */
export function issueAt(issue: Issue, line: number, column: number | undefined, message = issue.message): Issue {
  return { severity: issue.severity, code: issue.code, messageId: issue.messageId, message, path: issue.path, line, column };
}

/** Severities, the worst first. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { fatal: 0, error: 1, warning: 2, information: 3 };

/** The issues of severity `least` or worse (the same array when that is every one). */
export function atLeast(issues: Issue[], least: Severity): Issue[] {
  return least === 'information' ? issues : issues.filter((issue) => SEVERITY_RANK[issue.severity] <= SEVERITY_RANK[least]);
}

export function isError(issue: Pick<Issue, 'severity'>): boolean {
  return issue.severity === 'error' || issue.severity === 'fatal';
}
