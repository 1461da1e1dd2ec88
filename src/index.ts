/** fhirdq's public API. */
export { createValidator } from './validation/create.js';
export type { Validator, ValidatorOptions, ValidateOptions, BestPracticeLevel } from './validation/api.js';
export type { Issue, Severity, IssueType } from './validation/issues.js';
export { toOperationOutcome, fromOperationOutcome, MESSAGE_ID_SYSTEM } from './validation/outcome.js';
