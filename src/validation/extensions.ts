import type { CompiledStructure } from './element-tree.js';
import type { Host, ResourceFrame, Walk } from './instance-validator.js';
import { resolveInFrame } from './instance-validator.js';
import { PRIMITIVE_TYPES } from './primitives.js';

/** Types whose elements an 'element' context on a supertype also covers. */
const SUPERTYPES: Record<string, string[]> = {
  SimpleQuantity: ['Quantity'], MoneyQuantity: ['Quantity'], Age: ['Quantity'], Count: ['Quantity'],
  Distance: ['Quantity'], Duration: ['Quantity'],
};

const FHIR_TYPE = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX = 'http://hl7.org/fhir/StructureDefinition/regex';
/** Extensions the reference lets anywhere through its first context (fixContexts). */
const FIRST_CONTEXT_ANYWHERE = new Set([
  'http://hl7.org/fhir/StructureDefinition/structuredefinition-normative-version',
  // Before FHIR 4.6 only.
  'http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation',
  'http://hl7.org/fhir/StructureDefinition/capabilitystatement-prohibited',
]);

/**
 * An extension's contexts as the reference reads them (its fixContexts), where history left the definitions wrong:
 * structuredefinition-fhir-type and regex are used on ElementDefinition.type (in R4's own snapshots among others).
 */
function fixedContexts(url: string, contexts: Context[]): Context[] {
  if (contexts.length === 0) return contexts;
  if (url === FHIR_TYPE) return [{ ...contexts[0], expression: 'ElementDefinition.type' }, ...contexts.slice(1)];
  if (url === REGEX) return [...contexts, { type: 'element', expression: 'ElementDefinition.type' }];
  if (FIRST_CONTEXT_ANYWHERE.has(url)) return [{ ...contexts[0], expression: 'Element' }, ...contexts.slice(1)];
  return contexts;
}

/** An example, fixed or pattern value of an element definition: any extension is allowed on it (the reference's EXTENSION_CONTEXT_LIST). */
const ANY_EXTENSION_HOST = /\.(?:fixed|pattern|example\.value)[A-Z][A-Za-z]*$/;

const HL7_CORE_EXTENSIONS = 'http://hl7.org/fhir/StructureDefinition/';

export function isExampleUrl(url: string): boolean {
  return /^https?:\/\/(www\.)?(example\.(org|com|net)|acme\.(org|com))(\/|$)/.test(url);
}

/** The extensions the reference knows without a definition (SpecialExtensions), in HL7's core namespace. */
const SPECIAL_EXTENSIONS = new Set(
  ['codesystem-properties-mode', 'structuredefinition-expression', 'type-must-support', 'instance-name', 'instance-description', 'structuredefinition-rdf-type'].map(
    (name) => `${HL7_CORE_EXTENSIONS}${name}`,
  ),
);

/**
 * How the reference treats an extension it cannot resolve: 'known' (tooling URLs, examples where examples are
 * allowed, the allowed domains) passes silently; 'allowed' (any extension allowed) gets a hint; else an error.
 * fhirdq allows any domain by default, as the reference does with -allow-any-extensions, except HL7's core
 * namespace: the core and its extensions package define every extension there, so one not found is not one.
 */
export function unresolvedExtensionStanding(url: string, options: { allowExampleUrls: boolean; extensionDomains: readonly string[] }): 'known' | 'allowed' | 'not-allowed' {
  const tooling =
    (options.allowExampleUrls && (url.includes('example.org') || url.includes('acme.com'))) ||
    url.includes('nema.org') ||
    url.startsWith('http://hl7.org/fhir/tools/StructureDefinition/') ||
    SPECIAL_EXTENSIONS.has(url);
  if (tooling || options.extensionDomains.some((domain) => domain !== 'any' && url.startsWith(domain))) return 'known';
  if (!options.extensionDomains.includes('any') || url.startsWith(HL7_CORE_EXTENSIONS)) return 'not-allowed';
  return 'allowed';
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
  const tests = facts.tests;
  if (tests.length === 0 || ANY_EXTENSION_HOST.test(host.defPath)) return;
  // Walker paths carry no indexes; the replace is kept for any that would.
  const hostDefPath = host.defPath.includes('[') ? host.defPath.replace(/\[\d+\]/g, '') : host.defPath;
  let allowed = false;
  for (let i = 0; i < tests.length && !allowed; i++) allowed = admits(tests[i]!, hostDefPath, host, walk, frame);
  if (!allowed) {
    const list = facts.contexts.map((c) => `${c.type === 'element' ? 'e' : c.type === 'extension' ? 'x' : 'p'}:${c.expression}`).join('; ');
    walk.add('error', 'business-rule', 'extension-context',
      `The extension ${definition.label} is not allowed to be used at this point (allowed = ${list}; this element is [${[...new Set([hostDefPath, host.typeCode])].sort().join(', ')}])`,
      path);
  }
}

type Context = { type?: string; expression?: string };

/**
 * A context read once into what it compares a host with, so that a check is a few string comparisons with no strings
 * built or hashed per call.
 */
type ContextTest =
  | {
      kind: 'element';
      /** Element or Base: everything. */
      always: boolean;
      /** Resource or DomainResource: every resource type. */
      resource: boolean;
      /** CanonicalResource or MetadataResource: resources with url and version. */
      canonical: boolean;
      /** The host types it names: the expression and the types it is the supertype of. */
      types: string[];
      path: string;
      /** For a path with a choice ([x]) step. */
      pattern: RegExp | undefined;
      /** Resource.x and DomainResource.x: the x that names an element of every resource. */
      inherited: string | undefined;
    }
  | { kind: 'extension'; url: string }
  | { kind: 'fhirpath'; expression: string }
  | { kind: 'none' };

/** What checkExtensionContext and checkExtensionValue need of an extension definition, read once per definition. */
interface ExtensionFacts {
  contexts: Context[];
  tests: ContextTest[];
  invariants: string[];
  modifier: boolean;
  /** The types of Extension.value[x]; none for a complex extension, which prohibits a value. */
  valueTypes: string[];
}

/**
 * The value an extension carries against the types its definition allows, as the reference checks it before the
 * walk: a value of another type, or none (or sub-extensions instead) where a simple extension needs one.
 */
export function checkExtensionValue(definition: CompiledStructure, extension: Record<string, unknown>, path: string, walk: Walk): void {
  const allowed = factsOf(definition).valueTypes;
  let found: string | undefined;
  for (const key in extension) {
    const name = key.charCodeAt(0) === 95 /* _ */ ? key.slice(1) : key;
    if (name.length > 5 && name.startsWith('value')) {
      found = valueType(name.slice(5));
      break;
    }
  }
  if (found !== undefined) {
    if (!allowed.includes(found)) {
      walk.add('error', 'structure', 'extension-value-type', `The Extension '${definition.url}' definition allows for the types [${allowed.join(', ')}] but found type ${found}`, path);
    }
  } else if (allowed.length > 0) {
    const nested = Array.isArray(extension.extension) && extension.extension.length > 0;
    walk.add('error', 'structure', nested ? 'extension-simple-nested' : 'extension-simple-no-value',
      `The Extension '${definition.url}' definition is for a simple extension, so it must contain a value${nested ? ', not extensions' : ''}`, path);
  }
}

/** The type a `value[x]` name's suffix names: a primitive's code starts lower case (valueString is a string). */
function valueType(suffix: string): string {
  const primitive = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVE_TYPES.has(primitive) ? primitive : suffix;
}

/** Extension.value[x]'s type codes, as the reference lists them (listExtensionTypes): none when it is prohibited. */
function valueTypesOf(definition: CompiledStructure): string[] {
  const elements = (definition.structure.snapshot as { element?: Array<{ path?: string; max?: string; type?: Array<{ code?: string }> }> } | undefined)?.element ?? [];
  const value = elements.find((e) => e.path?.startsWith('Extension.value'));
  const types = value && value.max !== '0' ? (value.type ?? []).flatMap((t) => (t.code ? [t.code] : [])) : [];
  // The reference accepts these on structuredefinition-fhir-type, whose snapshot says only url.
  return definition.url === FHIR_TYPE ? [...types, 'uri', 'url'] : types;
}

const FACTS = new WeakMap<CompiledStructure, ExtensionFacts>();

function factsOf(definition: CompiledStructure): ExtensionFacts {
  let facts = FACTS.get(definition);
  if (!facts) {
    const contexts = fixedContexts(definition.url, (definition.structure.context as Context[] | undefined) ?? []);
    facts = {
      contexts,
      tests: contexts.map((ctx) => contextTest(ctx.type, ctx.expression ?? '')),
      invariants: (definition.structure.contextInvariant as string[] | undefined) ?? [],
      modifier: definition.root.isModifier || definition.structure.url === undefined
        ? definition.root.isModifier
        : (definition.byId.get('Extension')?.isModifier ?? false),
      valueTypes: valueTypesOf(definition),
    };
    FACTS.set(definition, facts);
  }
  return facts;
}

function contextTest(type: string | undefined, expression: string): ContextTest {
  switch (type) {
    case 'element':
      return {
        kind: 'element',
        always: expression === 'Element' || expression === 'Base',
        resource: expression === 'Resource' || expression === 'DomainResource',
        // R5's abstract CanonicalResource/MetadataResource, used by cross-version extensions.
        canonical: expression === 'CanonicalResource' || expression === 'MetadataResource',
        types: [expression, ...Object.keys(SUPERTYPES).filter((sub) => SUPERTYPES[sub]!.includes(expression))],
        path: expression,
        pattern: expression.includes('[x]') ? choicePattern(expression) : undefined,
        inherited: /^(Resource|DomainResource)\.(.+)$/.exec(expression)?.[2],
      };
    case 'extension':
      return { kind: 'extension', url: expression.split('|')[0]! };
    case 'fhirpath':
      return { kind: 'fhirpath', expression };
    default:
      return { kind: 'none' };
  }
}

function admits(test: ContextTest, hostDefPath: string, host: Host, walk: Walk, frame: ResourceFrame): boolean {
  switch (test.kind) {
    case 'element':
      return (
        test.always ||
        test.types.includes(host.typeCode) ||
        test.path === hostDefPath ||
        test.path === host.typePath ||
        (test.pattern !== undefined && (test.pattern.test(hostDefPath) || test.pattern.test(host.typePath))) ||
        (test.inherited !== undefined && hostDefPath.slice(hostDefPath.indexOf('.') + 1) === test.inherited) ||
        (test.resource && walk.engine.isResourceType(host.typeCode)) ||
        (test.canonical && isCanonicalResourceType(host.typeCode, walk))
      );
    case 'extension':
      return host.extensionUrl !== undefined && test.url === host.extensionUrl;
    case 'fhirpath': {
      const selected = walk.engine.invariants.select(test.expression, scopeOf(frame.resource, frame));
      return !(selected instanceof Error) && selected.some((v) => v === host.value);
    }
    case 'none':
      return false;
  }
}

function isCanonicalResourceType(type: string, walk: Walk): boolean {
  if (!walk.engine.isResourceType(type)) return false;
  const root = walk.engine.structures.forType(type)?.root;
  return root !== undefined && root.childByName.has('url') && root.childByName.has('version');
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
function choicePattern(expression: string): RegExp {
  const segments = expression.split('.').map((segment) => (segment.endsWith('[x]') ? `${escape(segment.slice(0, -3))}[A-Z][A-Za-z]*` : escape(segment)));
  return new RegExp(`^${segments.join('\\.')}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
