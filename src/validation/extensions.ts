import type { CompiledStructure } from './element-tree.js';
import type { Host, ResourceFrame, Walk } from './instance-validator.js';
import { resolveInFrame } from './instance-validator.js';

/** Types whose elements an 'element' context on a supertype also covers. */
const SUPERTYPES: Record<string, string[]> = {
  SimpleQuantity: ['Quantity'], MoneyQuantity: ['Quantity'], Age: ['Quantity'], Count: ['Quantity'],
  Distance: ['Quantity'], Duration: ['Quantity'],
};

const FHIR_TYPE = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/**
 * R4 defines structuredefinition-fhir-type on ElementDefinition.type.code, but R4's own snapshots (Element.id,
 * Extension.url, primitive values) carry it on ElementDefinition.type: the validator reads its context as that.
 */
function fhirTypeContext(expression: string | undefined): string {
  return expression === 'ElementDefinition.type.code' ? 'ElementDefinition.type' : (expression ?? '');
}

export function isExampleUrl(url: string): boolean {
  return /^https?:\/\/(www\.)?(example\.(org|com|net)|acme\.(org|com))(\/|$)/.test(url);
}

/** StructureDefinition.context: may this extension be used where it is? */
export function checkExtensionContext(definition: CompiledStructure, path: string, host: Host, isModifier: boolean, walk: Walk, frame: ResourceFrame): void {
  const contexts = (definition.structure.context as Context[] | undefined) ?? [];
  const modifierDefinition = definition.root.isModifier || definition.structure.url === undefined
    ? definition.root.isModifier
    : (definition.byId.get('Extension')?.isModifier ?? false);
  if (isModifier !== modifierDefinition) {
    walk.add('error', 'structure', 'extension-modifier-mismatch',
      `Extension modifier mismatch: the extension element is ${isModifier ? '' : 'not '}labelled as a modifier, but the underlying extension is ${modifierDefinition ? '' : 'not '}`,
      path);
  }
  checkContextInvariants(definition, path, host, walk, frame);
  if (contexts.length === 0) return;
  const hostDefPath = host.defPath.replace(/\[\d+\]/g, '');
  // Element and extension contexts depend on where the extension is, not on values: answered once per place.
  const byPlace = placeAnswers(definition, contexts);
  const place = byPlace ? `${hostDefPath}\u0001${host.typeCode}\u0001${host.typePath}\u0001${host.extensionUrl ?? ''}` : '';
  let allowed = byPlace?.get(place);
  if (allowed === undefined) {
    allowed = contextAllows(definition, contexts, hostDefPath, host, walk, frame);
    if (byPlace && byPlace.size < MAX_PLACES) byPlace.set(place, allowed);
  }
  if (!allowed) {
    const list = contexts.map((c) => `${c.type === 'element' ? 'e' : c.type === 'extension' ? 'x' : 'p'}:${c.expression}`).join('; ');
    walk.add('error', 'business-rule', 'extension-context',
      `The extension ${definition.label} is not allowed to be used at this point (allowed = ${list}; this element is [${hostDefPath}, ${host.typeCode}])`,
      path);
  }
}

type Context = { type?: string; expression?: string };

/** Places are as many as the elements of the definitions in use; bad input must not grow the map without end. */
const MAX_PLACES = 10_000;
const PLACE_ANSWERS = new WeakMap<CompiledStructure, Map<string, boolean> | null>();

/** The remembered answers per place of an extension whose contexts are all element or extension contexts; null otherwise. */
function placeAnswers(definition: CompiledStructure, contexts: Context[]): Map<string, boolean> | null {
  let answers = PLACE_ANSWERS.get(definition);
  if (answers === undefined) {
    answers = contexts.every((c) => c.type === 'element' || c.type === 'extension') ? new Map() : null;
    PLACE_ANSWERS.set(definition, answers);
  }
  return answers;
}

function contextAllows(definition: CompiledStructure, contexts: Context[], hostDefPath: string, host: Host, walk: Walk, frame: ResourceFrame): boolean {
  const hostTypes = new Set([host.typeCode, ...(SUPERTYPES[host.typeCode] ?? [])]);
  return contexts.some((ctx) => {
    const expression = definition.url === FHIR_TYPE ? fhirTypeContext(ctx.expression) : (ctx.expression ?? '');
    switch (ctx.type) {
      case 'element':
        return (
          expression === 'Element' ||
          expression === 'Base' ||
          ((expression === 'Resource' || expression === 'DomainResource') && walk.engine.isResourceType(host.typeCode)) ||
          // R5's abstract CanonicalResource/MetadataResource, used by cross-version extensions: resources with url and version.
          ((expression === 'CanonicalResource' || expression === 'MetadataResource') && isCanonicalResourceType(host.typeCode, walk)) ||
          hostTypes.has(expression) ||
          samePath(expression, hostDefPath) ||
          samePath(expression, host.typePath) ||
          inheritedPath(expression, hostDefPath)
        );
      case 'extension':
        return host.extensionUrl !== undefined && expression.split('|')[0] === host.extensionUrl;
      case 'fhirpath': {
        const selected = walk.engine.invariants.select(expression, scopeOf(frame.resource, frame));
        return !(selected instanceof Error) && selected.some((v) => v === host.value);
      }
      default:
        return false;
    }
  });
}

function isCanonicalResourceType(type: string, walk: Walk): boolean {
  if (!walk.engine.isResourceType(type)) return false;
  const root = walk.engine.structures.forType(type)?.root;
  return root !== undefined && root.childByName.has('url') && root.childByName.has('version');
}

/** Resource.x and DomainResource.x name an element of every resource. */
function inheritedPath(expression: string, hostPath: string): boolean {
  const m = /^(Resource|DomainResource)\.(.+)$/.exec(expression);
  return m !== null && hostPath.slice(hostPath.indexOf('.') + 1) === m[2];
}

function scopeOf(node: unknown, frame: ResourceFrame) {
  return {
    node,
    basePath: String(frame.resource.resourceType),
    resource: frame.resource,
    rootResource: (frame.container ?? frame).resource,
    resolveReference: (reference: string) => resolveInFrame(reference, frame),
  };
}

/** StructureDefinition.contextInvariant: evaluated on the element that carries the extension. */
function checkContextInvariants(definition: CompiledStructure, path: string, host: Host, walk: Walk, frame: ResourceFrame): void {
  const invariants = (definition.structure.contextInvariant as string[] | undefined) ?? [];
  for (const expression of invariants) {
    const result = walk.engine.invariants.select(expression, { ...scopeOf(host.value, frame), basePath: host.typePath });
    if (result instanceof Error || (result.length === 1 && result[0] === true) || result.length === 0) continue;
    walk.add('error', 'business-rule', 'extension-context-invariant',
      `The extension ${definition.url} is not allowed to be used at this point (based on context invariant '${expression}')`, path);
  }
}

/** Context paths use the element names of the definitions: Observation.value[x] covers Observation.valueQuantity. */
const PATH_PATTERNS = new Map<string, RegExp>();

function samePath(expression: string, hostPath: string): boolean {
  if (expression === hostPath) return true;
  if (!expression.includes('[x]')) return false;
  let pattern = PATH_PATTERNS.get(expression);
  if (!pattern) {
    const segments = expression.split('.').map((segment) => (segment.endsWith('[x]') ? `${escape(segment.slice(0, -3))}[A-Z][A-Za-z]*` : escape(segment)));
    pattern = new RegExp(`^${segments.join('\\.')}$`);
    PATH_PATTERNS.set(expression, pattern);
  }
  return pattern.test(hostPath);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
