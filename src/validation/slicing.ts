import type { CompiledStructure, ElementNode } from './element-tree.js';
import type { Engine, Host, Item, ResourceFrame, Walk } from './instance-validator.js';
import { resolveInFrame } from './instance-validator.js';
import { matchesFixed, matchesPattern } from './fixed-pattern.js';
import { PRIMITIVE_TYPES } from './primitives.js';
import { splitOutside } from '../formats/fhirpath-text.js';

/** A step of a discriminator path: the restricted FHIRPath of ElementDefinition.slicing.discriminator.path. */
type Step =
  | { kind: 'this' }
  | { kind: 'name'; name: string }
  | { kind: 'extension'; url: string }
  | { kind: 'resolve' }
  | { kind: 'ofType'; type: string };

const stepCache = new Map<string, Step[]>();

function parseSteps(path: string): Step[] {
  let steps = stepCache.get(path);
  if (steps) return steps;
  steps = [];
  const parts = splitOutside(path, '.');
  for (const part of parts) {
    if (part === '$this' || part === '') steps.push({ kind: 'this' });
    else if (part === 'resolve()') steps.push({ kind: 'resolve' });
    else if (part.startsWith('extension(')) steps.push({ kind: 'extension', url: part.slice(10, -1).replace(/^'|'$/g, '') });
    else if (part.startsWith('ofType(')) steps.push({ kind: 'ofType', type: part.slice(7, -1) });
    else steps.push({ kind: 'name', name: part });
  }
  stepCache.set(path, steps);
  return steps;
}

interface TypedValue {
  value: unknown;
  type?: string;
}

/** What a slice definition says about the element at a discriminator path. */
interface DefinitionAt {
  nodes: ElementNode[];
  structure: CompiledStructure;
  /** After resolve(): the resource types and the profiles the reference may point at. */
  resolvedTypes?: string[];
  resolvedProfiles?: string[];
  /** The discriminator's values taken from inside a fixed or pattern value met on the way (code → coding.code). */
  embedded?: { kind: 'fixed' | 'pattern'; values: unknown[] };
  /** For extension slices known only by their profile: the url the discriminator must equal. */
  impliedUrl?: string;
  /** The nodes whose fixed value, pattern or required binding a value discriminator compares with (made on first use). */
  constraining?: ElementNode[];
  /** Every node at the path is prohibited (max 0): the slice discriminates by absence (made on first use). */
  prohibited?: boolean;
  /** For type discriminators: the types the slice admits (made on first use). */
  allowedTypes?: Set<string>;
  /** For profile discriminators: the profiles the value must conform to (made on first use). */
  profiles?: string[];
}

/** What matching items to the slices of a sliced node needs, worked out once per node: definitions live as long as their structure. */
interface SlicingPlan {
  byPosition: boolean;
  /** The parsed path of each discriminator. */
  steps: Step[][];
  /** The property name when the only discriminator path is one name (url, use). */
  singleName: string | undefined;
  tables: WeakMap<CompiledStructure, Map<string | undefined, SliceTable>>;
}

/** Per structure and item type: what each slice's definition says at each discriminator path. */
interface SliceTable {
  /** definitionAt of slice i and discriminator d at i * discriminators + d; null where there is none, undefined until asked. */
  definitions: Array<DefinitionAt | null | undefined>;
  /** See buildValueIndex; undefined until asked. */
  index: Map<string, number> | null | undefined;
}

const PLANS = new WeakMap<ElementNode, SlicingPlan>();
const NO_ITEMS: Item[] = [];

function planOf(node: ElementNode): SlicingPlan {
  let plan = PLANS.get(node);
  if (!plan) {
    const discriminators = node.slicing!.discriminators;
    const steps = discriminators.map((d) => parseSteps(d.path));
    plan = {
      byPosition: discriminators.length > 0 && discriminators.every((d) => d.type === 'position'),
      steps,
      singleName: steps.length === 1 && steps[0]!.length === 1 && steps[0]![0]!.kind === 'name' ? steps[0]![0]!.name : undefined,
      tables: new WeakMap(),
    };
    PLANS.set(node, plan);
  }
  return plan;
}

export class SliceMatcher {
  constructor(private readonly engine: Engine) {}

  process(items: Item[], node: ElementNode, structure: CompiledStructure, path: string, frame: ResourceFrame, walk: Walk, host: Host): void {
    const slicing = node.slicing!;
    const slices = node.slices;
    const plan = planOf(node);
    // Items per slice, by slice index.
    const assigned: Array<Item[] | undefined> = new Array(slices.length);
    let unmatched: Item[] | undefined;
    let lastSliceIndex = -1;
    for (let n = 0; n < items.length; n++) {
      const item = items[n]!;
      const sliceIndex = plan.byPosition ? sliceAtPosition(slices, item.index) : this.sliceOf(item, node, plan, structure, frame);
      if (sliceIndex < 0) {
        (unmatched ??= []).push(item);
        if (slicing.rules === 'closed') {
          walk.add('error', 'structure', 'slice-no-match-closed', `This element does not match any known slice defined in the profile ${structure.label}`, item.path);
        }
        continue;
      }
      if (slicing.rules === 'openAtEnd' && unmatched) {
        walk.add('error', 'structure', 'slice-open-at-end', `The element ${item.path} matches a slice after an unsliced element, but slicing is openAtEnd`, item.path);
      }
      if (slicing.ordered && sliceIndex < lastSliceIndex) {
        walk.add('error', 'structure', 'slice-order', `As specified by profile ${structure.label}, Element '${node.path}' is out of order in the slicing`, item.path);
      }
      if (sliceIndex > lastSliceIndex) lastSliceIndex = sliceIndex;
      const list = assigned[sliceIndex];
      if (list) list.push(item);
      else assigned[sliceIndex] = [item];
    }
    walk.cardinality(items.length, node, structure, path);
    for (let i = 0; i < slices.length; i++) {
      const slice = slices[i]!;
      const list = assigned[i] ?? NO_ITEMS;
      if (list.length < slice.min) {
        walk.add('error', 'required', 'slice-min', `Slice '${node.path}:${slice.sliceName}': a matching slice is required, but not found (from ${structure.label})`, path);
      }
      if (list.length > slice.max) {
        walk.add('error', 'structure', 'slice-max', `${node.path}:${slice.sliceName}: max allowed = ${slice.max}, but found ${list.length} (from ${structure.label})`, path);
      }
      if (slice.slicing && slice.slices.length > 0) {
        // Reslicing: this slice's items are sliced again, together, so reslice cardinalities hold.
        this.process(list, slice, structure, path, frame, walk, host);
      } else {
        for (const item of list) {
          const before = walk.issues.length;
          walk.item(item, slice, frame, structure, host);
          // Java checks an item in a slice against the sliced element too, so a broken constraint of the sliced
          // element's own children is reported under both ids (the same issue twice collapses). A slice inherits
          // those constraints: when the slice walk found nothing, the sliced element's walk would find nothing either.
          if (node.children.length > 0 && walk.issues.length > before) walk.item(item, node, frame, structure, host);
        }
      }
      // A type slice of a choice (value[x]:valueQuantity) narrows its owner; the owner's fixed/pattern still apply.
      if ((node.fixed && !slice.fixed) || (node.pattern && !slice.pattern)) {
        for (const item of list) walk.checkValueRules(item.value, node, item.typeCode, item.path, structure, frame);
      }
    }
    if (unmatched) for (const item of unmatched) walk.item(item, node, frame, structure, host);
  }

  /** The index of the first slice the item matches, or -1. */
  private sliceOf(item: Item, node: ElementNode, plan: SlicingPlan, structure: CompiledStructure, frame: ResourceFrame): number {
    const discriminators = node.slicing!.discriminators;
    const slices = node.slices;
    if (discriminators.length === 0) {
      // No discriminator: the item belongs to the slice when it conforms to it.
      for (let i = 0; i < slices.length; i++) if (this.conformsToSlice(item, slices[i]!, frame)) return i;
      return -1;
    }
    const table = this.tableOf(plan, structure, item.typeCode);
    const index = table.index !== undefined ? table.index : (table.index = this.buildValueIndex(node, plan, table, item.typeCode, structure));
    // Most often one string property (Extension.url): looked up without following the path.
    const name = plan.singleName;
    if (index && name !== undefined && item.value !== null && typeof item.value === 'object') {
      const value = (item.value as Record<string, unknown>)[name];
      if (typeof value === 'string') return index.get(value) ?? -1;
    }
    // The item's values at each discriminator path are the same for every slice: followed once.
    const first = this.instanceValues(item.value, item.typeCode, plan.steps[0]!, frame);
    if (index && allStrings(first)) {
      let found = -1;
      for (const v of first) {
        const i = index.get(v.value as string);
        if (i !== undefined && (found < 0 || i < found)) found = i;
      }
      return found;
    }
    const values: TypedValue[][] = [first];
    for (let d = 1; d < discriminators.length; d++) values.push(this.instanceValues(item.value, item.typeCode, plan.steps[d]!, frame));
    for (let i = 0; i < slices.length; i++) {
      let all = true;
      for (let d = 0; d < discriminators.length && all; d++) {
        const definition = this.definitionIn(table, plan, i, d, slices[i]!, item.typeCode, structure);
        all = this.matchDiscriminator(definition, discriminators[d]!.type, values[d]!, frame);
      }
      if (all) return i;
    }
    return -1;
  }

  private tableOf(plan: SlicingPlan, structure: CompiledStructure, itemType: string | undefined): SliceTable {
    let byType = plan.tables.get(structure);
    if (!byType) plan.tables.set(structure, (byType = new Map()));
    let table = byType.get(itemType);
    if (!table) byType.set(itemType, (table = { definitions: [], index: undefined }));
    return table;
  }

  /** definitionAt depends on definitions only: worked out once per slice, discriminator, item type and structure. */
  private definitionIn(table: SliceTable, plan: SlicingPlan, slice: number, d: number, node: ElementNode, itemType: string | undefined, structure: CompiledStructure): DefinitionAt | undefined {
    const at = slice * plan.steps.length + d;
    let definition = table.definitions[at];
    if (definition === undefined) {
      definition = this.definitionAt(node, itemType, plan.steps[d]!, structure) ?? null;
      table.definitions[at] = definition;
    }
    return definition ?? undefined;
  }

  /**
   * For slicing by one value or pattern discriminator where every slice that can match fixes one string there (extensions
   * by url, most of all): the first slice per string, so that an item finds its slice by lookup. Null where that does not
   * hold; then each slice is tried in turn.
   */
  private buildValueIndex(node: ElementNode, plan: SlicingPlan, table: SliceTable, itemType: string | undefined, structure: CompiledStructure): Map<string, number> | null {
    const discriminators = node.slicing!.discriminators;
    const discriminator = discriminators[0]!;
    if (discriminators.length !== 1 || (discriminator.type !== 'value' && discriminator.type !== 'pattern')) return null;
    const slices = node.slices;
    const index = new Map<string, number>();
    for (let i = 0; i < slices.length; i++) {
      const definition = this.definitionIn(table, plan, i, 0, slices[i]!, itemType, structure);
      // Such a slice matches nothing (see matchDiscriminator).
      if (!definition || (definition.impliedUrl === undefined && !definition.embedded && definition.nodes.length === 0)) continue;
      let key: unknown;
      if (definition.impliedUrl !== undefined) key = definition.impliedUrl;
      else {
        if (definition.embedded || definition.nodes.every((n) => n.max === 0)) return null;
        const constraining = constrainingOf(definition);
        if (constraining.length !== 1) return null;
        const target = constraining[0]!;
        key = target.fixed ? target.fixed.value : target.pattern?.value;
      }
      if (typeof key !== 'string') return null;
      if (!index.has(key)) index.set(key, i);
    }
    return index;
  }

  private matchDiscriminator(definition: DefinitionAt | undefined, type: string, values: TypedValue[], frame: ResourceFrame): boolean {
    switch (type) {
      case 'value':
      case 'pattern': {
        if (!definition) return false;
        if (definition.impliedUrl !== undefined) return values.some((v) => v.value === definition.impliedUrl);
        if (definition.embedded) {
          const { kind, values: expected } = definition.embedded;
          if (expected.length === 0) return true;
          return expected.some((e) => values.some((v) => (kind === 'fixed' ? matchesFixed(v.value, e) : matchesPattern(v.value, e))));
        }
        if (definition.nodes.length === 0) return false;
        // A prohibited element discriminates by its absence.
        if ((definition.prohibited ??= definition.nodes.every((n) => n.max === 0))) return values.length === 0;
        const constraining = constrainingOf(definition);
        // The slice does not constrain this discriminator: it does not tell slices apart.
        if (constraining.length === 0) return true;
        return constraining.some((target) => {
          if (target.fixed) return values.some((v) => matchesFixed(v.value, target.fixed!.value));
          if (target.pattern) return values.some((v) => matchesPattern(v.value, target.pattern!.value));
          return values.some((v) => this.engine.bindings.isInValueSet(v.value, v.type, target.binding!.valueSet!));
        });
      }
      case 'exists': {
        const target = definition?.nodes[0];
        if (!target) return false;
        if (target.min >= 1) return values.length > 0;
        if (target.max === 0) return values.length === 0;
        return true;
      }
      case 'type': {
        if (!definition) return false;
        const allowed = (definition.allowedTypes ??= new Set(definition.resolvedTypes ?? definition.nodes.flatMap((n) => n.types.flatMap((t) => this.typesOf(t)))));
        if (allowed.size === 0) return false;
        return values.length > 0 && values.every((v) => v.type !== undefined && (allowed.has(v.type) || allowed.has('Resource')));
      }
      case 'profile': {
        if (!definition) return false;
        const target = definition.nodes[0];
        if (!target) return false;
        const profiles = (definition.profiles ??= definition.resolvedProfiles ?? target.types.flatMap((t) => (t.profiles.length ? t.profiles : t.targetProfiles)));
        if (profiles.length === 0) return false;
        return values.some((v) =>
          profiles.some((p) => {
            const profileStructure = this.engine.structures.get(p);
            return profileStructure ? this.engine.conforms(v.value, profileStructure, frame) : false;
          }),
        );
      }
      default:
        return false;
    }
  }

  /** A Resource-typed element with profiles admits the profiles' resource types only. */
  private typesOf(type: { code: string; profiles: string[] }): string[] {
    if ((type.code === 'Resource' || type.code === 'DomainResource') && type.profiles.length > 0) {
      return type.profiles.map((p) => this.engine.structures.get(p)?.type ?? type.code);
    }
    return [type.code];
  }

  private conformsToSlice(item: Item, slice: ElementNode, frame: ResourceFrame): boolean {
    const type = slice.types[0];
    const profile = type?.profiles[0];
    const profileStructure = profile ? this.engine.structures.get(profile) : undefined;
    return profileStructure ? this.engine.conforms(item.value, profileStructure, frame) : false;
  }

  /** Follows a discriminator path through an instance value. */
  private instanceValues(value: unknown, type: string | undefined, steps: Step[], frame: ResourceFrame): TypedValue[] {
    let current: TypedValue[] = value === undefined ? [] : [{ value, type }];
    for (const step of steps) {
      // $this leaves the values as they are.
      if (step.kind === 'this') continue;
      const next: TypedValue[] = [];
      for (const v of current) {
        const value = v.value;
        switch (step.kind) {
          case 'resolve': {
            const reference = (value as { reference?: unknown } | undefined)?.reference;
            if (typeof reference !== 'string') break;
            const target = resolveInFrame(reference, frame) as { resourceType?: string } | undefined;
            if (target) next.push({ value: target, type: target.resourceType });
            break;
          }
          case 'extension': {
            const extensions = (value as { extension?: Array<{ url?: string }> } | undefined)?.extension ?? [];
            for (const e of extensions) if (e?.url === step.url) next.push({ value: e, type: 'Extension' });
            break;
          }
          case 'ofType':
            if (v.type === step.type || (value as { resourceType?: string } | undefined)?.resourceType === step.type) next.push(v);
            break;
          case 'name': {
            if (value === null || typeof value !== 'object') break;
            const obj = value as Record<string, unknown>;
            const name = step.name;
            if (name in obj) {
              pushAll(next, obj[name], undefined);
            } else {
              // A choice element addressed by its base name: value → valueQuantity.
              for (const key in obj) {
                if (key.length > name.length && key.startsWith(name) && isUpper(key.charCodeAt(name.length))) {
                  pushAll(next, obj[key], typeFromSuffix(key.slice(name.length)));
                }
              }
            }
            break;
          }
        }
      }
      current = next;
    }
    // Resources carry their type; other values may have learnt it from a choice suffix. The values are this call's own.
    for (const v of current) v.type = (v.value as { resourceType?: string } | null)?.resourceType ?? v.type ?? type;
    return current;
  }

  /** Follows a discriminator path through a slice's definition. */
  private definitionAt(slice: ElementNode, itemType: string | undefined, steps: Step[], structure: CompiledStructure): DefinitionAt | undefined {
    let nodes: ElementNode[] = [slice];
    let currentStructure = structure;
    let resolvedTypes: string[] | undefined;
    let resolvedProfiles: string[] | undefined;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const node = nodes[0];
      if (!node) return undefined;
      switch (step.kind) {
        case 'this':
          break;
        case 'ofType': {
          const restricted = node.types.filter((t) => t.code === step.type);
          if (restricted.length === 0 && node.types.length > 0) return undefined;
          break;
        }
        case 'resolve': {
          resolvedProfiles = node.types.flatMap((t) => t.targetProfiles);
          const targets = resolvedProfiles.map((p) => this.engine.structures.get(p));
          const targetStructure = targets[0];
          if (!targetStructure) return undefined;
          resolvedTypes = targets.map((t) => t?.type).filter((t): t is string => t !== undefined);
          nodes = [targetStructure.root];
          currentStructure = targetStructure;
          break;
        }
        case 'extension': {
          const children = this.childNodes(node, itemType, currentStructure);
          if (!children) return undefined;
          const extNode = children.nodes.find((c) => c.name === 'extension');
          const matchesUrl = (candidate: ElementNode): boolean =>
            candidate.types.some((t) => t.profiles.some((p) => stripVersion(p) === step.url)) || fixedUrl(candidate) === step.url;
          // A reslice (actionType/Single) carries the values that tell the owner's slices apart.
          const extSlice = extNode?.slices.flatMap((s) => s.slices).find(matchesUrl) ?? extNode?.slices.find(matchesUrl);
          if (!extSlice) return undefined;
          nodes = [extSlice];
          currentStructure = children.structure;
          const profile = extSlice.types[0]?.profiles[0];
          if (extSlice.children.length === 0 && profile) {
            const extStructure = this.engine.structures.get(profile);
            if (extStructure) {
              nodes = [extStructure.root];
              currentStructure = extStructure;
            }
          }
          break;
        }
        case 'name': {
          // A fixed or pattern value higher up already says what the rest of the path must hold.
          const carrier = nodes.find((n) => n.fixed || n.pattern);
          if (carrier) {
            const kind = carrier.fixed ? 'fixed' : 'pattern';
            const rest = steps.slice(i).map((s) => (s.kind === 'name' ? s.name : undefined));
            if (rest.every((name) => name !== undefined)) {
              return { nodes: [], structure: currentStructure, embedded: { kind, values: valuesAt((carrier.fixed ?? carrier.pattern)!.value, rest as string[]) } };
            }
          }
          // An extension slice known only by its profile: its url is the profile's canonical.
          if (step.name === 'url' && node.types.some((t) => t.code === 'Extension') && node.children.length === 0) {
            const profile = node.types.find((t) => t.code === 'Extension')?.profiles[0];
            if (profile && i === steps.length - 1) return { nodes: [], structure: currentStructure, impliedUrl: stripVersion(profile) };
          }
          const next: ElementNode[] = [];
          let nextStructure = currentStructure;
          for (const current of nodes) {
            const children = this.childNodes(current, i === 0 ? itemType : undefined, currentStructure);
            const child = children?.nodes.find((c) => c.name === step.name) ?? children?.nodes.find((c) => c.isChoice && step.name.startsWith(c.name));
            if (!children || !child) continue;
            nextStructure = children.structure;
            // Below a sliced element (code.coding.code, coding sliced) the values sit in its slices.
            if (i < steps.length - 1 && child.slices.length > 0 && !child.fixed && !child.pattern) {
              const required = child.slices.filter((slice) => slice.min > 0);
              next.push(...(required.length > 0 ? required : child.slices));
            } else next.push(child);
          }
          if (next.length === 0) return undefined;
          nodes = next;
          currentStructure = nextStructure;
          resolvedTypes = undefined;
          break;
        }
      }
    }
    return { nodes, structure: currentStructure, resolvedTypes, resolvedProfiles };
  }

  private childNodes(node: ElementNode, itemType: string | undefined, structure: CompiledStructure): { nodes: ElementNode[]; structure: CompiledStructure } | undefined {
    if (node.children.length > 0) return { nodes: node.children, structure };
    const typeRef = node.types.find((t) => !itemType || t.code === itemType) ?? node.types[0];
    for (const profile of typeRef?.profiles ?? []) {
      const profiled = this.engine.structures.get(profile);
      if (profiled) return { nodes: profiled.root.children, structure: profiled };
    }
    const typeStructure = typeRef ? this.engine.structures.forType(typeRef.code) : undefined;
    return typeStructure ? { nodes: typeStructure.root.children, structure: typeStructure } : undefined;
  }
}

/**
 * Position slicing: every slice but the last has a fixed count (min = max), so the index of an item
 * tells its slice; the last slice takes the rest.
 */
function sliceAtPosition(slices: ElementNode[], index: number): number {
  let start = 0;
  for (let i = 0; i < slices.length; i++) {
    const last = i === slices.length - 1;
    const end = last ? Number.POSITIVE_INFINITY : start + slices[i]!.max;
    if (index >= start && index < end) return i;
    start = end;
  }
  return -1;
}

/** The values at a path of names inside a (fixed or pattern) value, arrays flattened. */
function valuesAt(value: unknown, names: string[]): unknown[] {
  let current: unknown[] = [value];
  for (const name of names) {
    current = current.flatMap((v) => {
      const child = v && typeof v === 'object' ? (v as Record<string, unknown>)[name] : undefined;
      return child === undefined ? [] : Array.isArray(child) ? child : [child];
    });
  }
  return current;
}

/** valueString → string, valueQuantity → Quantity. */
function typeFromSuffix(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVE_TYPES.has(lower) ? lower : suffix;
}

function constrainingOf(definition: DefinitionAt): ElementNode[] {
  return (definition.constraining ??= definition.nodes.filter((n) => n.fixed || n.pattern || (n.binding?.strength === 'required' && n.binding.valueSet)));
}

function allStrings(values: TypedValue[]): boolean {
  for (const v of values) if (typeof v.value !== 'string') return false;
  return true;
}

function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

function pushAll(into: TypedValue[], value: unknown, type: string | undefined): void {
  if (Array.isArray(value)) for (const v of value) into.push({ value: v, type });
  else if (value !== undefined) into.push({ value, type });
}

function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar >= 0 ? canonical.slice(0, bar) : canonical;
}

function fixedUrl(slice: ElementNode): string | undefined {
  const url = slice.childByName.get('url');
  return (url?.fixed?.value as string | undefined) ?? undefined;
}

