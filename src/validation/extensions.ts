import type { CompiledStructure } from './element-tree.js';
import type { Host, Walk } from './instance-validator.js';

/** Types whose elements an 'element' context on a supertype also covers. */
const SUPERTYPES: Record<string, string[]> = {
  SimpleQuantity: ['Quantity'], MoneyQuantity: ['Quantity'], Age: ['Quantity'], Count: ['Quantity'],
  Distance: ['Quantity'], Duration: ['Quantity'],
};

export function isExampleUrl(url: string): boolean {
  return /^https?:\/\/(www\.)?(example\.(org|com|net)|acme\.(org|com))(\/|$)/.test(url);
}

/** StructureDefinition.context: may this extension be used where it is? */
export function checkExtensionContext(definition: CompiledStructure, path: string, host: Host, isModifier: boolean, walk: Walk): void {
  const contexts = (definition.structure.context as Array<{ type?: string; expression?: string }> | undefined) ?? [];
  const modifierDefinition = definition.root.isModifier || definition.structure.url === undefined
    ? definition.root.isModifier
    : (definition.byId.get('Extension')?.isModifier ?? false);
  if (isModifier !== modifierDefinition) {
    walk.add('error', 'structure', 'extension-modifier-mismatch',
      `Extension modifier mismatch: the extension element is ${isModifier ? '' : 'not '}labelled as a modifier, but the underlying extension is ${modifierDefinition ? '' : 'not '}`,
      path);
  }
  if (contexts.length === 0) return;
  const hostDefPath = host.defPath.replace(/\[\d+\]/g, '');
  const hostTypes = new Set([host.typeCode, ...(SUPERTYPES[host.typeCode] ?? [])]);
  const allowed = contexts.some((ctx) => {
    const expression = ctx.expression ?? '';
    switch (ctx.type) {
      case 'element':
        return (
          expression === 'Element' ||
          expression === 'Base' ||
          ((expression === 'Resource' || expression === 'DomainResource') && walk.engine.isResourceType(host.typeCode)) ||
          hostTypes.has(expression) ||
          samePath(expression, hostDefPath)
        );
      case 'extension':
        return host.extensionUrl !== undefined && expression.split('|')[0] === host.extensionUrl;
      default:
        // fhirpath contexts are evaluated by nobody offline yet; do not reject what we cannot check.
        return true;
    }
  });
  if (!allowed) {
    const list = contexts.map((c) => `${c.type === 'element' ? 'e' : c.type === 'extension' ? 'x' : 'p'}:${c.expression}`).join('; ');
    walk.add('error', 'business-rule', 'extension-context',
      `The extension ${definition.label} is not allowed to be used at this point (allowed = ${list}; this element is [${hostDefPath}, ${host.typeCode}])`,
      path);
  }
}

/** Context paths use the element names of the definitions: Observation.value[x] covers Observation.valueQuantity. */
function samePath(expression: string, hostPath: string): boolean {
  if (expression === hostPath) return true;
  const pattern = expression.split('.').map((segment) => (segment.endsWith('[x]') ? `${escape(segment.slice(0, -3))}[A-Z][A-Za-z]*` : escape(segment)));
  return new RegExp(`^${pattern.join('\\.')}$`).test(hostPath);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
