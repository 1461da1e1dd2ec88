/**
 * A StructureDefinition snapshot compiled once into a tree the instance walker can follow without
 * string lookups: children by JSON name, slices, cardinality, types, fixed/pattern, bindings, constraints.
 */
import type { TxMessage } from '../terminology/service.js';
import type { Shape } from './instance-validator.js';
import type { NarrativeControls } from './narrative.js';
import { type ElementLimits, limitsOf } from './element-limits.js';
import { fixedExpression } from './invariant-fixes.js';
import { wellFormedElement } from '../packages/snapshot.js';

export interface ElementDefinitionJson {
  id?: string;
  path: string;
  sliceName?: string;
  min?: number;
  max?: string;
  base?: { path: string; min: number; max: string };
  type?: Array<{ code: string; profile?: string[]; targetProfile?: string[]; aggregation?: string[]; extension?: unknown[] }>;
  contentReference?: string;
  slicing?: { discriminator?: Array<{ type: string; path: string }>; rules?: string; ordered?: boolean };
  constraint?: Array<{ key: string; severity?: string; human?: string; expression?: string; source?: string; extension?: Array<{ url?: string; valueBoolean?: boolean }> }>;
  binding?: { strength?: string; valueSet?: string };
  maxLength?: number;
  isModifier?: boolean;
  mustSupport?: boolean;
  [key: string]: unknown;
}

export interface TypeRef {
  code: string;
  profiles: string[];
  targetProfiles: string[];
  aggregation: string[];
}

export interface Slicing {
  discriminators: Array<{ type: string; path: string }>;
  rules: 'open' | 'closed' | 'openAtEnd';
  ordered: boolean;
}

export interface Constraint {
  key: string;
  severity: 'error' | 'warning';
  human: string;
  expression: string;
  source?: string;
  /** Defined by the core specification (no source, or a core source): the only ones native code may stand in for. */
  core: boolean;
  /** When the walker may skip it as passing without evaluating it (see passesWhen). */
  passes: ConstraintPass;
  /** Marked as a best practice (dom-6, con-3, ...): reported at the level the validation asks for. */
  bestPractice: boolean;
  /** The messageId and message when it fails, made once. */
  messageId: string;
  failure: string;
}

/**
 * When a constraint is known to pass unevaluated: always, on a value with content (ele-1), on an object without
 * `contained` (dom-2, dom-4, dom-5), or never.
 */
export type ConstraintPass = 'never' | 'always' | 'with-content' | 'uncontained';

/**
 * When a core constraint passes without evaluation, as its native code in invariants.ts (NATIVE) decides: txt-1/txt-2
 * and dom-3 always (narrative.ts and contained.ts check them), ele-1 on any value with content, dom-2, dom-4 and dom-5
 * on a resource without contained.
 */
function passesWhen(key: string, core: boolean): ConstraintPass {
  if (!core) return 'never';
  switch (key) {
    case 'txt-1':
    case 'txt-2':
    case 'dom-3':
      return 'always';
    case 'ele-1':
      return 'with-content';
    case 'dom-2':
    case 'dom-4':
    case 'dom-5':
      return 'uncontained';
    default:
      return 'never';
  }
}

export interface ElementNode {
  id: string;
  path: string;
  /** JSON property name; for choice elements the prefix without [x]. */
  name: string;
  /** `.name`, for the paths of its values: one concatenation per path instead of two. */
  dotName: string;
  isChoice: boolean;
  min: number;
  max: number;
  /** The core definition's max decides whether JSON carries an array. */
  isArray: boolean;
  types: TypeRef[];
  children: ElementNode[];
  childByName: Map<string, ElementNode>;
  slicing?: Slicing;
  slices: ElementNode[];
  sliceName?: string;
  fixed?: { key: string; value: unknown };
  pattern?: { key: string; value: unknown };
  binding?: { strength: string; valueSet?: string };
  constraints: Constraint[];
  /** It has a fixed or pattern value, a minimum or maximum value, limits, or is an element's id: checkValueRules has work to do. */
  hasValueRules: boolean;
  /** The id of an element (Element.id), which is unique within its resource. */
  isElementId: boolean;
  /** Its only constraint is the core ele-1 (which any value with content passes): decided once, read on every visit. */
  onlyCoreEle1: boolean;
  /** It has constraints besides ele-1 (which the walker checks itself on primitives). */
  constraintsBeyondEle1: boolean;
  /** One of its constraints is ele-1. */
  hasEle1: boolean;
  /** The last datatype the walker met this element as, and whether that is a resource type (asked on every visit). */
  seenType: string | undefined;
  seenTypeIsResource: boolean;
  /** Id of the element whose children this element reuses (e.g. Questionnaire.item.item). */
  contentReference?: string;
  /** The url of a canonical resource (ValueSet.url, ...): it defines the resource's canonical URL, which must be absolute. */
  definesCanonicalUrl: boolean;
  maxLength?: number;
  minValue?: { key: string; value: unknown };
  maxValue?: { key: string; value: unknown };
  /** What the profile's extensions limit (minLength, regex, maxDecimalPlaces, maxSize), on the few elements that have any. */
  limits: ElementLimits | undefined;
  isModifier: boolean;
  mustSupport: boolean;
  definition: ElementDefinitionJson;
  /** What the walker derives from the node on first use. */
  memo: WalkMemo;
}

/**
 * Declared with every field from the start: fields added to nodes later would give them many hidden classes,
 * and every property load on a node in the walker would then go megamorphic.
 */
export interface WalkMemo {
  /** The node's own children, with the structure they were last walked in. */
  ownChildren: ChildContext | undefined;
  /** The last datatype the node was walked as whose children do not depend on the value (it has no type profile here, or one), and those children. */
  lastType: string | undefined;
  lastTypeChildren: ChildContext | undefined;
  /** Constraints to run on a primitive value (ele-1 is checked by the walker itself). */
  primitiveConstraints: Constraint[] | undefined;
  /** Per datatype root: its constraints that this node's own definition does not already check. */
  constraintsBeyond: Map<ElementNode, Constraint[]> | undefined;
  /** The children a content reference points to, with the structure they were last walked in. */
  referencedChildren: ChildContext | undefined;
  /** Per datatype with type profiles: those profiles, compiled. */
  typeProfiles: Map<string, CompiledStructure[]> | undefined;
  /** On an element holding resources: the profiles its types name, compiled. */
  resourceProfiles: CompiledStructure[] | undefined;
  /** On a bound primitive: the binding's verdict per value met (see BindingChecker.checkPrimitive). */
  boundAnswers: Map<string, readonly TxMessage[]> | undefined;
  /** On a primitive datatype's root: its children but value, which a `_name` companion may carry. */
  companionChildren: ChildContext | undefined;
  /** On a narrative element: what its profile asks of the XHTML (null: nothing). */
  narrativeControls: NarrativeControls | null | undefined;
}

/** Child definitions with the structure they belong to, and what the walker derives from them (made on first use). */
export interface ChildContext {
  nodes: ElementNode[];
  structure: CompiledStructure;
  shape: Shape | undefined;
}

export interface CompiledStructure {
  url: string;
  version?: string;
  /** "url|version" as the reference validator prints it in messages. */
  label: string;
  name: string;
  type: string;
  kind: string;
  root: ElementNode;
  byId: Map<string, ElementNode>;
  structure: Record<string, unknown>;
}

const CORE_SOURCE = 'http://hl7.org/fhir/StructureDefinition/';
const FHIRPATH_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

function parseMax(max: string | undefined): number {
  if (max === undefined || max === '*') return Number.POSITIVE_INFINITY;
  const n = Number(max);
  return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
}

function typeCode(t: NonNullable<ElementDefinitionJson['type']>[number]): string {
  // System.String-typed id/url/value elements carry their FHIR type in an extension.
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
    const ext = (t.extension as Array<{ url: string; valueUrl?: string; valueUri?: string }> | undefined)?.find(
      (e) => e.url === FHIRPATH_TYPE_EXTENSION,
    );
    return ext?.valueUrl ?? ext?.valueUri ?? t.code.slice('http://hl7.org/fhirpath/System.'.length).toLowerCase();
  }
  return t.code;
}

/**
 * The string as V8 keeps property names, once per distinct text: the walker compares type codes with literals
 * ('Reference', 'Extension', ...) on every element, which for a copy JSON.parse made means comparing characters.
 */
function internalized(text: string): string {
  const holder: Record<string, true> = { [text]: true };
  for (const key in holder) return key;
  return text;
}

function prefixed(def: ElementDefinitionJson, prefix: string): { key: string; value: unknown } | undefined {
  for (const key in def) {
    if (key.startsWith(prefix) && key.length > prefix.length) return { key, value: def[key] };
  }
  return undefined;
}

/** The R4 canonical resources, as the reference validator lists them (VersionUtilities.getCanonicalResourceNames). */
export const CANONICAL_RESOURCE_TYPES = new Set([
  'ActivityDefinition', 'CapabilityStatement', 'ChargeItemDefinition', 'CodeSystem', 'CompartmentDefinition', 'ConceptMap',
  'EffectEvidenceSynthesis', 'EventDefinition', 'Evidence', 'EvidenceVariable', 'ExampleScenario', 'GraphDefinition',
  'ImplementationGuide', 'Library', 'Measure', 'MessageDefinition', 'NamingSystem', 'OperationDefinition', 'PlanDefinition',
  'Questionnaire', 'ResearchDefinition', 'ResearchElementDefinition', 'RiskEvidenceSynthesis', 'SearchParameter',
  'StructureDefinition', 'StructureMap', 'TerminologyCapabilities', 'TestScript', 'ValueSet',
]);

function definesCanonicalUrl(basePath: string): boolean {
  const dot = basePath.indexOf('.');
  return dot > 0 && basePath.slice(dot) === '.url' && CANONICAL_RESOURCE_TYPES.has(basePath.slice(0, dot));
}

const BEST_PRACTICE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice';

function createNode(def: ElementDefinitionJson): ElementNode {
  const last = def.path.slice(def.path.lastIndexOf('.') + 1);
  const isChoice = last.endsWith('[x]');
  const constraints: Constraint[] = (def.constraint ?? [])
    .filter((c) => c.expression)
    .map((c) => {
      const core = !c.source || c.source.startsWith(CORE_SOURCE);
      const human = c.human ?? c.key;
      return {
        key: c.key,
        severity: c.severity === 'warning' ? 'warning' : 'error',
        human,
        expression: fixedExpression(c.key, c.expression!),
        source: c.source,
        core,
        passes: passesWhen(c.key, core),
        bestPractice: c.extension?.some((e) => e.url === BEST_PRACTICE_EXTENSION && e.valueBoolean === true) ?? false,
        messageId: `constraint-${c.key}`,
        failure: `Constraint failed: ${c.key}: '${human}'`,
      };
    });
  const name = isChoice ? last.slice(0, -3) : last;
  const fixed = prefixed(def, 'fixed');
  const pattern = prefixed(def, 'pattern');
  const minValue = prefixed(def, 'minValue');
  const maxValue = prefixed(def, 'maxValue');
  const limits = limitsOf(def);
  // The fields the walker reads on every visit come first: they then share the first cache lines of the object.
  return {
    name,
    dotName: `.${name}`,
    isChoice,
    min: def.min ?? 0,
    max: parseMax(def.max),
    isArray: parseMax(def.base?.max ?? def.max) > 1,
    types: (def.type ?? []).map((t) => ({
      code: internalized(typeCode(t)),
      profiles: t.profile ?? [],
      targetProfiles: t.targetProfile ?? [],
      aggregation: t.aggregation ?? [],
    })),
    constraints,
    hasValueRules:
      fixed !== undefined || pattern !== undefined || minValue !== undefined || maxValue !== undefined || limits !== undefined || def.base?.path === 'Element.id',
    isElementId: def.base?.path === 'Element.id',
    onlyCoreEle1: constraints.length === 1 && constraints[0]!.key === 'ele-1' && constraints[0]!.core,
    constraintsBeyondEle1: constraints.some((c) => c.key !== 'ele-1'),
    hasEle1: constraints.some((c) => c.key === 'ele-1'),
    seenType: undefined,
    seenTypeIsResource: false,
    memo: {
      ownChildren: undefined,
      lastType: undefined,
      lastTypeChildren: undefined,
      primitiveConstraints: undefined,
      constraintsBeyond: undefined,
      referencedChildren: undefined,
      typeProfiles: undefined,
      resourceProfiles: undefined,
      boundAnswers: undefined,
      companionChildren: undefined,
      narrativeControls: undefined,
    },
    fixed,
    pattern,
    binding: def.binding?.strength ? { strength: def.binding.strength, valueSet: def.binding.valueSet } : undefined,
    minValue,
    maxValue,
    maxLength: def.maxLength,
    limits,
    children: [],
    slicing: def.slicing
      ? {
          discriminators: def.slicing.discriminator ?? [],
          rules: (def.slicing.rules as Slicing['rules']) ?? 'open',
          ordered: def.slicing.ordered ?? false,
        }
      : undefined,
    slices: [],
    contentReference: def.contentReference?.replace(/^[^#]*#/, ''),
    definesCanonicalUrl: definesCanonicalUrl(def.base?.path ?? def.path),
    id: def.id ?? (def.sliceName ? `${def.path}:${def.sliceName}` : def.path),
    path: def.path,
    childByName: new Map(),
    sliceName: def.sliceName,
    isModifier: def.isModifier ?? false,
    mustSupport: def.mustSupport ?? false,
    definition: def,
  };
}

/** The id of an element's parent, and whether the element is a slice of it rather than a child. */
function parentOf(id: string): { parentId: string; isSlice: boolean } | undefined {
  const dot = id.lastIndexOf('.');
  const lastSegment = id.slice(dot + 1);
  const colon = lastSegment.indexOf(':');
  if (colon >= 0) {
    const sliceName = lastSegment.slice(colon + 1);
    const slash = sliceName.lastIndexOf('/');
    // A reslice a/b is a slice of slice a.
    const parentSegment = slash >= 0 ? `${lastSegment.slice(0, colon)}:${sliceName.slice(0, slash)}` : lastSegment.slice(0, colon);
    return { parentId: `${id.slice(0, dot + 1)}${parentSegment}`, isSlice: true };
  }
  if (dot < 0) return undefined;
  return { parentId: id.slice(0, dot), isSlice: false };
}

export function compileStructure(sd: Record<string, unknown>): CompiledStructure {
  const given: unknown = (sd.snapshot as { element?: unknown } | undefined)?.element;
  // An element that is no object or has no path names nothing to validate against (the definition's own validation
  // reports it); members of the wrong type are read as the reference reads them.
  const elements = (Array.isArray(given) ? given : [])
    .map((element) => wellFormedElement(element))
    .filter((element): element is ElementDefinitionJson => typeof element?.path === 'string');
  if (elements.length === 0) throw new Error(`StructureDefinition ${String(sd.url)} has no snapshot`);
  const byId = new Map<string, ElementNode>();
  let root: ElementNode | undefined;
  for (const def of elements) {
    const node = createNode(def);
    byId.set(node.id, node);
    const parent = parentOf(node.id);
    if (!parent) {
      root ??= node;
      continue;
    }
    let parentNode = byId.get(parent.parentId);
    let isSlice = parent.isSlice;
    if (!parentNode && isSlice) {
      // A lone named element with no slicing (value[x]:valueString) constrains the element itself: the snapshot
      // carries it under its slice id only, and the reference validator takes it as that element.
      parentNode = byId.get(parentOf(parent.parentId)?.parentId ?? '');
      isSlice = false;
    }
    if (!parentNode) continue;
    if (isSlice) {
      parentNode.slices.push(node);
      // R4 type slices of a choice (value[x]:valueQuantity) need no declared slicing.
      parentNode.slicing ??= { discriminators: [{ type: 'type', path: '$this' }], rules: 'open', ordered: false };
    } else {
      parentNode.children.push(node);
      parentNode.childByName.set(node.name, node);
    }
  }
  if (!root) throw new Error(`StructureDefinition ${String(sd.url)} has no root element`);
  const url = String(sd.url ?? '');
  const version = sd.version as string | undefined;
  return {
    url,
    version,
    label: version ? `${url}|${version}` : url,
    name: String(sd.name ?? sd.id ?? url),
    type: String(sd.type ?? root.path),
    kind: String(sd.kind ?? ''),
    root,
    byId,
    // Rules that read the snapshot again (extension value types, say) read the elements as compiled.
    structure: elements.length === (given as unknown[]).length && elements.every((e, i) => e === (given as unknown[])[i]) ? sd : { ...sd, snapshot: { ...(sd.snapshot as object), element: elements } },
  };
}
