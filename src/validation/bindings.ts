import type { ElementNode } from './element-tree.js';
import type { Walk } from './instance-validator.js';
import { bindingIssues, type BindingStrength, type CodeCheck, type TerminologyService, type TxMessage } from '../terminology/index.js';

type Coding = { system?: string; code?: string; display?: string; version?: string };

const DEFINED_TYPES = 'http://hl7.org/fhir/ValueSet/defined-types';
const FHIRPATH_SYSTEM = 'http://hl7.org/fhirpath/System.';
/** Distinct values remembered per bound element before its answers are dropped: bad input must not grow them without end. */
const ANSWERS_PER_ELEMENT = 10_000;
const NONE: readonly TxMessage[] = Object.freeze([]);

/** Applies ElementDefinition.binding and code-system checks through the offline terminology service. */
export class BindingChecker {
  constructor(readonly terminology: TerminologyService) {}

  checkPrimitive(value: unknown, node: ElementNode, typeCode: string, path: string, walk: Walk): void {
    if (typeof value !== 'string' || (typeCode !== 'code' && typeCode !== 'string' && typeCode !== 'uri')) return;
    const binding = this.binding(node);
    // StructureDefinition.type has rules of its own (structure-definition.ts), which stand in for its binding, as in the reference.
    if (!binding || node.path === 'StructureDefinition.type') return;
    // A bound code's issues per element and value: the answer depends on nothing else. Kept on the node, which the
    // walk has at hand (a table keyed by node would be a lookup far away in memory).
    const answers = (node.memo.boundAnswers ??= new Map());
    let messages = answers.get(value);
    if (!messages) {
      messages = NONE;
      // ElementDefinition.type.code may name a FHIRPath system type (Element.id's http://hl7.org/fhirpath/System.String),
      // which FHIRDefinedType does not list: the validator accepts those (its isOkExtension).
      if (!value.startsWith(FHIRPATH_SYSTEM) || binding.valueSet.split('|')[0] !== DEFINED_TYPES) {
        const issues = bindingIssues(this.terminology.validateCode({ code: value }, binding.valueSet), binding.strength, 'code', value);
        if (issues.length > 0) messages = issues;
      }
      if (answers.size >= ANSWERS_PER_ELEMENT) answers.clear();
      answers.set(value, messages);
    }
    if (messages.length > 0) this.report(messages, path, walk);
  }

  /** `inConcept`: the value is a CodeableConcept's coding, which the concept's own check covers. */
  checkComplex(value: Record<string, unknown>, node: ElementNode, typeCode: string, path: string, walk: Walk, inConcept: boolean): void {
    // Called on every complex element: the type is asked first, as most types have nothing to check here.
    switch (typeCode) {
      case 'Coding': {
        const binding = this.binding(node);
        // As in the reference, a concept's codings are judged with the concept, in its value set (which may give
        // displays of its own), not again on their own.
        if (inConcept && !binding) return;
        const check = this.terminology.validateCoding(value as Coding, binding?.valueSet);
        this.report(binding ? bindingIssues(check, binding.strength, 'Coding') : check.messages, path, walk);
        return;
      }
      case 'CodeableConcept': {
        const cc = value as { coding?: Coding[]; text?: string };
        const binding = this.binding(node);
        if (binding) {
          const check = this.terminology.validateCodeableConcept(cc, binding.valueSet);
          this.report(bindingIssues(check, binding.strength, 'CodeableConcept'), path, walk, '.coding');
        } else if (Array.isArray(cc.coding)) {
          const codings = cc.coding;
          for (let i = 0; i < codings.length; i++) {
            const coding = codings[i];
            if (!coding || typeof coding !== 'object') continue;
            const messages = this.terminology.validateCoding(coding).messages;
            if (messages.length > 0) this.report(messages, `${path}.coding[${i}]`, walk);
          }
        }
        return;
      }
      case 'Quantity':
      case 'Age':
      case 'Duration':
      case 'Distance':
      case 'Count':
      case 'SimpleQuantity':
      case 'MoneyQuantity': {
        const quantity = value as { system?: string; code?: string };
        if (typeof quantity.system === 'string' && typeof quantity.code === 'string') {
          const binding = this.binding(node);
          const check = this.terminology.validateCoding({ system: quantity.system, code: quantity.code }, binding?.valueSet);
          this.report(binding ? bindingIssues(check, binding.strength, 'Coding') : check.messages, path, walk);
        }
      }
    }
  }

  /** For value/pattern discriminators on bound elements: is this value a member of the value set? */
  isInValueSet(value: unknown, type: string | undefined, valueSet: string): boolean {
    let check: CodeCheck;
    if (typeof value === 'string') check = this.terminology.validateCode({ code: value }, valueSet);
    else if (!value || typeof value !== 'object') return false;
    else if (type === 'CodeableConcept' || 'coding' in value) check = this.terminology.validateCodeableConcept(value as { coding?: Coding[] }, valueSet);
    else check = this.terminology.validateCoding(value as Coding, valueSet);
    return check.status === 'valid';
  }

  private binding(node: ElementNode): { strength: BindingStrength; valueSet: string } | undefined {
    const binding = node.binding;
    if (!binding?.valueSet || (binding.strength !== 'required' && binding.strength !== 'extensible')) return undefined;
    return binding as { strength: BindingStrength; valueSet: string };
  }

  private report(messages: readonly TxMessage[], path: string, walk: Walk, codingChild?: string): void {
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      let at = codingChild && message.codingIndex !== undefined ? `${path}${codingChild}[${message.codingIndex}]` : path;
      if (message.element) at = `${at}.${message.element}`;
      walk.add(message.severity, message.issueType, message.messageId, message.message, at);
    }
  }
}
