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
}

const VALUE_INDEXES = new WeakMap<ElementNode, WeakMap<CompiledStructure, Map<string | undefined, Map<string, number> | null>>>();
const DEFINITIONS_AT = new WeakMap<ElementNode, WeakMap<CompiledStructure, Map<string, DefinitionAt | null>>>();

export class SliceMatcher {
  constructor(private readonly engine: Engine) {}

  process(items: Item[], node: ElementNode, structure: CompiledStructure, path: string, frame: ResourceFrame, walk: Walk, host: Host): void {
    const slicing = node.slicing!;
    const assigned = new Map<ElementNode, Item[]>();
    const unmatched: Item[] = [];
    let lastSliceIndex = -1;
    let seenUnmatched = false;
    const byPosition = slicing.discriminators.length > 0 && slicing.discriminators.every((d) => d.type === 'position');
    for (const item of items) {
      const sliceIndex = byPosition ? sliceAtPosition(node.slices, item.index) : this.sliceOf(item, node, structure, frame);
      if (sliceIndex < 0) {
        unmatched.push(item);
        seenUnmatched = true;
        if (slicing.rules === 'closed') {
          walk.add('error', 'structure', 'slice-no-match-closed', `This element does not match any known slice defined in the profile ${structure.label}`, item.path);
        }
        continue;
      }
      if (slicing.rules === 'openAtEnd' && seenUnmatched) {
        walk.add('error', 'structure', 'slice-open-at-end', `The element ${item.path} matches a slice after an unsliced element, but slicing is openAtEnd`, item.path);
      }
      if (slicing.ordered && sliceIndex < lastSliceIndex) {
        walk.add('error', 'structure', 'slice-order', `As specified by profile ${structure.label}, Element '${node.path}' is out of order in the slicing`, item.path);
      }
      lastSliceIndex = Math.max(lastSliceIndex, sliceIndex);
      const slice = node.slices[sliceIndex]!;
      const list = assigned.get(slice);
      if (list) list.push(item);
      else assigned.set(slice, [item]);
    }
    walk.cardinality(items.length, node, structure, path);
    for (const slice of node.slices) {
      const list = assigned.get(slice) ?? [];
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
        for (const item of list) walk.item(item, slice, frame, structure, host);
      }
      // A type slice of a choice (value[x]:valueQuantity) narrows its owner; the owner's fixed/pattern still apply.
      if ((node.fixed && !slice.fixed) || (node.pattern && !slice.pattern)) {
        for (const item of list) walk.checkValueRules(item.value, node, item.path, structure);
      }
    }
    for (const item of unmatched) walk.item(item, node, frame, structure, host);
  }

  /** The index of the first slice the item matches, or -1. */
  private sliceOf(item: Item, node: ElementNode, structure: CompiledStructure, frame: ResourceFrame): number {
    const discriminators = node.slicing!.discriminators;
    const slices = node.slices;
    if (discriminators.length === 0) {
      // No discriminator: the item belongs to the slice when it conforms to it.
      for (let i = 0; i < slices.length; i++) if (this.conformsToSlice(item, slices[i]!, frame)) return i;
      return -1;
    }
    // The item's values at each discriminator path are the same for every slice: followed once.
    const values = discriminators.map((d) => this.instanceValues({ value: item.value, type: item.typeCode }, parseSteps(d.path), frame));
    const index = this.valueIndex(node, item.typeCode, structure);
    if (index && values[0]!.every((v) => typeof v.value === 'string')) {
      let first = -1;
      for (const v of values[0]!) {
        const i = index.get(v.value as string);
        if (i !== undefined && (first < 0 || i < first)) first = i;
      }
      return first;
    }
    for (let i = 0; i < slices.length; i++) {
      let all = true;
      for (let d = 0; d < discriminators.length && all; d++) all = this.matchDiscriminator(item, slices[i]!, discriminators[d]!, values[d]!, structure, frame);
      if (all) return i;
    }
    return -1;
  }

  /**
   * For slicing by one value or pattern discriminator where every slice that can match fixes one string there (extensions
   * by url, most of all): the first slice per string, so that an item finds its slice by lookup. Null where that does not
   * hold; then each slice is tried in turn.
   */
  private valueIndex(node: ElementNode, itemType: string | undefined, structure: CompiledStructure): Map<string, number> | null {
    const discriminators = node.slicing!.discriminators;
    const discriminator = discriminators[0]!;
    if (discriminators.length !== 1 || (discriminator.type !== 'value' && discriminator.type !== 'pattern')) return null;
    let byStructure = VALUE_INDEXES.get(node);
    if (!byStructure) VALUE_INDEXES.set(node, (byStructure = new WeakMap()));
    let byType = byStructure.get(structure);
    if (!byType) byStructure.set(structure, (byType = new Map()));
    let index = byType.get(itemType);
    if (index === undefined) {
      index = this.buildValueIndex(node.slices, discriminator.path, itemType, structure);
      byType.set(itemType, index);
    }
    return index;
  }

  private buildValueIndex(slices: ElementNode[], path: string, itemType: string | undefined, structure: CompiledStructure): Map<string, number> | null {
    const index = new Map<string, number>();
    for (let i = 0; i < slices.length; i++) {
      const definition = this.cachedDefinitionAt(slices[i]!, itemType, path, parseSteps(path), structure);
      // Such a slice matches nothing (see matchDiscriminator).
      if (!definition || (definition.impliedUrl === undefined && !definition.embedded && definition.nodes.length === 0)) continue;
      let key: unknown;
      if (definition.impliedUrl !== undefined) key = definition.impliedUrl;
      else {
        if (definition.embedded || definition.nodes.every((n) => n.max === 0)) return null;
        const constraining = definition.nodes.filter((n) => n.fixed || n.pattern || (n.binding?.strength === 'required' && n.binding.valueSet));
        if (constraining.length !== 1) return null;
        const target = constraining[0]!;
        key = target.fixed ? target.fixed.value : target.pattern?.value;
      }
      if (typeof key !== 'string') return null;
      if (!index.has(key)) index.set(key, i);
    }
    return index;
  }

  private matchDiscriminator(
    item: Item,
    slice: ElementNode,
    discriminator: { type: string; path: string },
    values: TypedValue[],
    structure: CompiledStructure,
    frame: ResourceFrame,
  ): boolean {
    const definition = this.cachedDefinitionAt(slice, item.typeCode, discriminator.path, parseSteps(discriminator.path), structure);
    switch (discriminator.type) {
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
        if (definition.nodes.every((n) => n.max === 0)) return values.length === 0;
        const constraining = (definition.constraining ??= definition.nodes.filter((n) => n.fixed || n.pattern || (n.binding?.strength === 'required' && n.binding.valueSet)));
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
        const allowed = new Set(definition.resolvedTypes ?? definition.nodes.flatMap((n) => n.types.flatMap((t) => this.typesOf(t))));
        if (allowed.size === 0) return false;
        return values.length > 0 && values.every((v) => v.type !== undefined && (allowed.has(v.type) || allowed.has('Resource')));
      }
      case 'profile': {
        if (!definition) return false;
        const target = definition.nodes[0];
        if (!target) return false;
        const profiles = definition.resolvedProfiles ?? target.types.flatMap((t) => (t.profiles.length ? t.profiles : t.targetProfiles));
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
  private instanceValues(start: TypedValue, steps: Step[], frame: ResourceFrame): TypedValue[] {
    let current: TypedValue[] = start.value === undefined ? [] : [start];
    for (const step of steps) {
      const next: TypedValue[] = [];
      for (const { value, type } of current) {
        switch (step.kind) {
          case 'this':
            next.push({ value, type });
            break;
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
            if (type === step.type || (value as { resourceType?: string } | undefined)?.resourceType === step.type) next.push({ value, type });
            break;
          case 'name': {
            if (value === null || typeof value !== 'object') break;
            const obj = value as Record<string, unknown>;
            if (step.name in obj) {
              pushAll(next, obj[step.name], undefined);
            } else {
              // A choice element addressed by its base name: value → valueQuantity.
              for (const key in obj) {
                if (key.startsWith(step.name) && /^[A-Z]/.test(key.slice(step.name.length))) {
                  pushAll(next, obj[key], typeFromSuffix(key.slice(step.name.length)));
                }
              }
            }
            break;
          }
        }
      }
      current = next;
    }
    // Resources carry their type; other values may have learnt it from a choice suffix.
    return current.map((v) => ({ value: v.value, type: (v.value as { resourceType?: string } | null)?.resourceType ?? v.type ?? start.type }));
  }

  /** definitionAt depends on definitions only: worked out once per slice, type, path and structure. */
  private cachedDefinitionAt(slice: ElementNode, itemType: string | undefined, path: string, steps: Step[], structure: CompiledStructure): DefinitionAt | undefined {
    let byStructure = DEFINITIONS_AT.get(slice);
    if (!byStructure) DEFINITIONS_AT.set(slice, (byStructure = new WeakMap()));
    let byKey = byStructure.get(structure);
    if (!byKey) byStructure.set(structure, (byKey = new Map()));
    const key = `${itemType ?? ''}\u0001${path}`;
    let definition = byKey.get(key);
    if (definition === undefined) {
      definition = this.definitionAt(slice, itemType, steps, structure) ?? null;
      byKey.set(key, definition);
    }
    return definition ?? undefined;
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

