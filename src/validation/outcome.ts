import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';
import { isError, type Issue } from './issues.js';

/** CodeSystem of fhirdq's stable message ids (issue.details.coding). */
export const MESSAGE_ID_SYSTEM = 'http://fhirdq.nl/fhir/CodeSystem/message-id';
const LINE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line';
const COLUMN_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col';

export function toOperationOutcome(issues: readonly Issue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues.length ? issues.map(toOutcomeIssue) : [allOk()] };
}

function allOk(): OperationOutcomeIssue {
  return { severity: 'information', code: 'informational', details: { text: 'All OK' } };
}

function toOutcomeIssue(issue: Issue): OperationOutcomeIssue {
  const result: OperationOutcomeIssue = {
    severity: issue.severity,
    code: issue.code,
    details: { coding: [{ system: MESSAGE_ID_SYSTEM, code: issue.messageId }], text: issue.message },
    expression: [issue.path],
  };
  if (issue.line !== undefined) {
    result.extension = [{ url: LINE_EXTENSION, valueInteger: issue.line }];
    if (issue.column !== undefined) result.extension.push({ url: COLUMN_EXTENSION, valueInteger: issue.column });
  }
  return result;
}

const ALL_OK_JSON = JSON.stringify(toOperationOutcome([]));
const CODING_JSON = `"details":{"coding":[{"system":${JSON.stringify(MESSAGE_ID_SYSTEM)},"code":`;
const LINE_JSON = `,"extension":[{"url":${JSON.stringify(LINE_EXTENSION)},"valueInteger":`;
const COLUMN_JSON = `},{"url":${JSON.stringify(COLUMN_EXTENSION)},"valueInteger":`;

/**
 * JSON.stringify(toOperationOutcome(issues)), written directly: a report line per resource of a big file made the
 * objects and their stringify a tenth of `fhirdq validate --format ndjson`.
 */
export function operationOutcomeJson(issues: readonly Issue[]): string {
  if (issues.length === 0) return ALL_OK_JSON;
  let json = '{"resourceType":"OperationOutcome","issue":[';
  for (let i = 0; i < issues.length; i++) {
    const issue = issues[i]!;
    json += `${i === 0 ? '' : ','}{"severity":${JSON.stringify(issue.severity)},"code":${JSON.stringify(issue.code)},${CODING_JSON}${JSON.stringify(issue.messageId)}}],"text":${JSON.stringify(issue.message)}},"expression":[${JSON.stringify(issue.path)}]`;
    if (issue.line !== undefined) json += `${LINE_JSON}${JSON.stringify(issue.line)}${issue.column === undefined ? '' : `${COLUMN_JSON}${JSON.stringify(issue.column)}`}}]`;
    json += '}';
  }
  return `${json}]}`;
}

/** Reads fhirdq's own OperationOutcome back into issues (for reports and merges). */
export function fromOperationOutcome(outcome: OperationOutcome): Issue[] {
  return (outcome.issue ?? [])
    .filter((i) => i.details?.coding?.some((c) => c.system === MESSAGE_ID_SYSTEM))
    .map((i) => ({
      severity: i.severity,
      code: i.code as Issue['code'],
      messageId: i.details!.coding!.find((c) => c.system === MESSAGE_ID_SYSTEM)!.code!,
      message: i.details?.text ?? '',
      path: i.expression?.[0] ?? '',
      line: i.extension?.find((e) => e.url === LINE_EXTENSION)?.valueInteger,
      column: i.extension?.find((e) => e.url === COLUMN_EXTENSION)?.valueInteger,
    }));
}

export type IssueCounts = { errors: number; warnings: number; information: number };

/** Adds counts to a running total. */
export function addCounts(total: IssueCounts, counts: IssueCounts): void {
  total.errors += counts.errors;
  total.warnings += counts.warnings;
  total.information += counts.information;
}

export function countIssues(issues: readonly Issue[]): IssueCounts {
  let errors = 0;
  let warnings = 0;
  let information = 0;
  for (const issue of issues) {
    if (isError(issue)) errors++;
    else if (issue.severity === 'warning') warnings++;
    else information++;
  }
  return { errors, warnings, information };
}
