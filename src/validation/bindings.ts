import type { ElementNode } from './element-tree.js';
import type { Walk } from './instance-validator.js';
import type { CodeCheck, TerminologyService } from '../terminology/service.js';

type Coding = { system?: string; code?: string; display?: string; version?: string };

/** Applies ElementDefinition.binding through the offline terminology service, with strength-dependent severity. */
export class BindingChecker {
  constructor(private readonly terminology: TerminologyService) {}

  checkPrimitive(value: unknown, node: ElementNode, typeCode: string, path: string, walk: Walk): void {
    if (typeof value !== 'string' || (typeCode !== 'code' && typeCode !== 'string' && typeCode !== 'uri')) return;
    const valueSet = this.boundValueSet(node);
    if (!valueSet) return;
    this.report(this.terminology.validateCode({ code: value }, valueSet), node, path, walk);
  }

  checkComplex(value: Record<string, unknown>, node: ElementNode, typeCode: string, path: string, walk: Walk): void {
    const valueSet = this.boundValueSet(node);
    switch (typeCode) {
      case 'Coding':
        this.report(this.terminology.validateCode(value as Coding, valueSet), node, path, walk);
        break;
      case 'CodeableConcept': {
        const cc = value as { coding?: Coding[]; text?: string };
        if (valueSet) this.report(this.terminology.validateCodeableConcept(cc, valueSet), node, path, walk, '.coding');
        else {
          (cc.coding ?? []).forEach((coding, i) => {
            if (coding && typeof coding === 'object') this.report(this.terminology.validateCode(coding), node, `${path}.coding[${i}]`, walk);
          });
        }
        break;
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
          this.report(this.terminology.validateCode({ system: quantity.system, code: quantity.code }, valueSet), node, path, walk);
        }
        break;
      }
    }
  }

  /** For value/pattern discriminators on bound elements: is this value a member of the value set? */
  isInValueSet(value: unknown, type: string | undefined, valueSet: string): boolean {
    if (typeof value === 'string') return this.terminology.validateCode({ code: value }, valueSet).status === 'valid';
    if (!value || typeof value !== 'object') return false;
    if (type === 'CodeableConcept' || 'coding' in value) {
      return this.terminology.validateCodeableConcept(value as { coding?: Coding[] }, valueSet).status === 'valid';
    }
    return this.terminology.validateCode(value as Coding, valueSet).status === 'valid';
  }

  private boundValueSet(node: ElementNode): string | undefined {
    const binding = node.binding;
    if (!binding?.valueSet) return undefined;
    return binding.strength === 'required' || binding.strength === 'extensible' ? binding.valueSet : undefined;
  }

  private report(check: CodeCheck, node: ElementNode, path: string, walk: Walk, indexedChild?: string): void {
    const extensible = node.binding?.strength === 'extensible';
    for (const message of check.messages) {
      let severity = message.severity;
      if (extensible && severity === 'error' && check.status === 'not-in-valueset') severity = 'warning';
      const at = indexedChild && message.codingIndex !== undefined ? `${path}${indexedChild}[${message.codingIndex}]` : path;
      walk.add(severity, severity === 'information' ? 'informational' : 'code-invalid', message.messageId, message.message, at);
    }
  }
}
