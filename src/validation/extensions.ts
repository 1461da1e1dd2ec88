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
  const facts = factsOf(definition);
  if (isModifier !== facts.modifier) {
    walk.add('error', 'structure', 'extension-modifier-mismatch',
      `Extension modifier mismatch: the extension element is ${isModifier ? '' : 'not '}labelled as a modifier, but the underlying extension is ${facts.modifier ? '' : 'not '}`,
      path);
  }
  if (facts.invariants.length > 0) checkContextInvariants(definition, facts.invariants, path, host, walk, frame);
  const contexts = facts.contexts;
  if (contexts.length === 0) return;
  // Walker paths carry no indexes; the replace is kept for any that would.
  const hostDefPath = host.defPath.includes('[') ? host.defPath.replace(/\[\d+\]/g, '') : host.defPath;
  // Element and extension contexts depend on where the extension is, not on values: answered once per place, looked up
  // by the host's own strings (hashed once each) rather than by a key string built per call.
  const places = facts.places;
  let byExtension: Map<string | undefined, boolean> | undefined;
  let allowed: boolean | undefined;
  if (places) {
    let byType = places.get(hostDefPath);
    if (!byType) places.set(hostDefPath, (byType = new Map()));
    let byTypePath = byType.get(host.typeCode);
    if (!byTypePath) byType.set(host.typeCode, (byTypePath = new Map()));
    byExtension = byTypePath.get(host.typePath);
    if (!byExtension) byTypePath.set(host.typePath, (byExtension = new Map()));
    allowed = byExtension.get(host.extensionUrl);
  }
  if (allowed === undefined) {
    allowed = contextAllows(definition, contexts, hostDefPath, host, walk, frame);
    if (byExtension && facts.placeCount < MAX_PLACES) {
      byExtension.set(host.extensionUrl, allowed);
      facts.placeCount++;
    }
  }
  if (!allowed) {
    const list = contexts.map((c) => `${c.type === 'element' ? 'e' : c.type === 'extension' ? 'x' : 'p'}:${c.expression}`).join('; ');
    walk.add('error', 'business-rule', 'extension-context',
      `The extension ${definition.label} is not allowed to be used at this point (allowed = ${list}; this element is [${hostDefPath}, ${host.typeCode}])`,
      path);
  }
}

type Context = { type?: string; expression?: string };

/** What checkExtensionContext needs of an extension definition, read once per definition. */
interface ExtensionFacts {
  contexts: Context[];
  invariants: string[];
  modifier: boolean;
  /** Answers by host defPath, typeCode, typePath and extension url, where every context is an element or extension context. */
  places: Map<string, Map<string, Map<string, Map<string | undefined, boolean>>>> | null;
  placeCount: number;
}

/** Places are as many as the elements of the definitions in use; bad input must not grow the map without end. */
const MAX_PLACES = 10_000;
const FACTS = new WeakMap<CompiledStructure, ExtensionFacts>();

function factsOf(definition: CompiledStructure): ExtensionFacts {
  let facts = FACTS.get(definition);
  if (!facts) {
    const contexts = (definition.structure.context as Context[] | undefined) ?? [];
    facts = {
      contexts,
      invariants: (definition.structure.contextInvariant as string[] | undefined) ?? [],
      modifier: definition.root.isModifier || definition.structure.url === undefined
        ? definition.root.isModifier
        : (definition.byId.get('Extension')?.isModifier ?? false),
      places: contexts.every((c) => c.type === 'element' || c.type === 'extension') ? new Map() : null,
      placeCount: 0,
    };
    FACTS.set(definition, facts);
  }
  return facts;
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
function checkContextInvariants(definition: CompiledStructure, invariants: string[], path: string, host: Host, walk: Walk, frame: ResourceFrame): void {
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
