export { TerminologyService, type CodeCheck, type CodeStatus, type CodingInput, type TerminologyOptions, type TxMessage } from './service.js';
export { bindingIssues, type BindingStrength, type BoundKind } from './binding.js';
export type { Expansion, ExpansionEntry } from './expansion.js';
export { CodeSystemIndex, type Concept, type Designation } from './codesystem.js';
