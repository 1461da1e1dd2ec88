import type { CompiledStructure, ElementNode, TypeRef } from './element-tree.js';
import type { ResourceFrame, Walk } from './instance-validator.js';
import type { StructureCache } from './structures.js';

const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ABSOLUTE_RESTFUL = /^https?:\/\/.*\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** Reference.reference: format, target type, aggregation mode, and resolution within contained resources and the Bundle. */
export function checkReference(value: Record<string, unknown>, node: ElementNode, path: string, walk: Walk, frame: ResourceFrame): void {
  const reference = value.reference;
  if (typeof reference !== 'string') return;
  const refType = referenceType(node);
  let foundType: string | undefined;
  let target: Record<string, unknown> | undefined;
  if (reference.startsWith('#')) {
    const owner = frame.container ?? frame;
    if (reference === '#') return;
    const contained = Array.isArray(owner.resource.contained) ? (owner.resource.contained as Array<Record<string, unknown>>) : [];
    const id = reference.slice(1);
    target = contained.find((c) => String(c?.id) === id);
    if (!target) {
      walk.add('error', 'structure', 'reference-contained-unresolved', `Unable to resolve resource with reference '${reference}'`, `${path}.reference`);
      return;
    }
    if (!checkAggregation(refType, 'contained', reference, path, walk)) return;
    foundType = String(target.resourceType);
  } else {
    foundType = restfulType(reference);
    if (foundType !== undefined) {
      if (!walk.engine.isResourceType(foundType)) {
        walk.add('error', 'structure', 'reference-unknown-type', `Unknown resource type ${foundType} in reference '${reference}'`, `${path}.reference`);
        return;
      }
    }
    const bundle = frame.bundle;
    if (bundle) {
      const candidates = bundle.candidates(reference, frame.fullUrl);
      if (candidates.length > 1) {
        walk.add('error', 'structure', 'reference-bundle-ambiguous', `Found ${candidates.length} matches for '${reference}' in the bundle`, `${path}.reference`);
      } else if (candidates.length === 0 && (bundle.type === 'document' || bundle.type === 'message')) {
        // Documents and messages are self-contained: what they refer to must travel with them.
        walk.add('error', 'not-found', 'reference-bundle-unresolved', `Can't find '${reference}' in the bundle (${path.replace(/^.*\.resource\./, `${String(frame.resource.resourceType)}.`)})`, `${path}.reference`);
      }
      target = candidates[0]?.resource;
      if (target) {
        const actual = String(target.resourceType);
        if (foundType && actual !== foundType) {
          walk.add('error', 'structure', 'reference-bundle-type-mismatch', `Matching reference for reference ${reference} has resourceType ${actual}`, `${path}.reference`);
          return;
        }
        foundType = actual;
      }
    }
    if (!checkAggregation(refType, target ? 'bundled' : 'referenced', reference, path, walk)) return;
  }
  // Only resolved targets are type-checked: a reference to elsewhere may be typed by a server we do not ask.
  if (!target || !foundType || !refType || refType.targetProfiles.length === 0) return;
  const plan = targetPlan(refType, walk.engine.structures);
  // A profile that cannot be found allows no type and is an error, met anew at every reference.
  for (const profile of plan.unknownProfiles) {
    walk.add('error', 'structure', 'reference-target-profile-unknown', `Unable to resolve the profile reference '${profile}'`, path);
  }
  if (!plan.types.has(foundType) && !plan.types.has('Resource')) {
    walk.add('error', 'structure', 'reference-wrong-type', `Invalid Resource target type. Found ${foundType}, but expected one of ([${[...plan.types].join(', ')}])`, `${path}.reference`);
    return;
  }
  checkTargetProfiles(target, plan, path, walk, frame);
}

/** References answered so far (null: none named), dropped when full: the same ones recur in every resource's walks. */
const RESTFUL_TYPES = new Map<string, string | null>();
const RESTFUL_TYPES_KEPT = 10_000;

/** The type a RESTful reference names, or undefined (urn:uuid:, urn:oid:, ...). */
function restfulType(reference: string): string | undefined {
  let type = RESTFUL_TYPES.get(reference);
  if (type === undefined) {
    // A relative reference's type is what precedes its first '/': a test makes no match array.
    if (RELATIVE.test(reference)) type = reference.slice(0, reference.indexOf('/'));
    else type = (reference.charCodeAt(0) === 104 ? ABSOLUTE_RESTFUL.exec(reference)?.[1] : undefined) ?? null;
    if (RESTFUL_TYPES.size >= RESTFUL_TYPES_KEPT) RESTFUL_TYPES.clear();
    RESTFUL_TYPES.set(reference, type);
  }
  return type ?? undefined;
}

function referenceType(node: ElementNode): TypeRef | undefined {
  for (const type of node.types) if (type.code === 'Reference') return type;
  return undefined;
}

/** What a Reference type's target profiles resolve to, worked out once per type and structure cache. */
interface TargetPlan {
  structures: StructureCache;
  /** The resource types the target profiles allow. */
  types: Set<string>;
  /** Target profiles that cannot be found. */
  unknownProfiles: string[];
  /** Target profiles that are not core definitions, as written and as found. */
  profiles: string[];
  profileStructures: Array<CompiledStructure | undefined>;
}

const plans = new WeakMap<TypeRef, TargetPlan>();

function targetPlan(refType: TypeRef, structures: StructureCache): TargetPlan {
  const known = plans.get(refType);
  if (known?.structures === structures) return known;
  const plan: TargetPlan = { structures, types: new Set(), unknownProfiles: [], profiles: [], profileStructures: [] };
  for (const profile of refType.targetProfiles) {
    if (profile.startsWith(CORE_SD) && !profile.slice(CORE_SD.length).includes('/')) {
      plan.types.add(profile.slice(CORE_SD.length).split('|')[0]!);
    } else {
      const structure = structures.get(profile);
      if (structure) plan.types.add(structure.type);
      else plan.unknownProfiles.push(profile);
    }
    if (!profile.startsWith(CORE_SD)) {
      plan.profiles.push(profile);
      plan.profileStructures.push(structures.get(profile));
    }
  }
  plans.set(refType, plan);
  return plan;
}

/**
 * ElementDefinition.type.aggregation: where the target may be (contained, bundled, or referenced from elsewhere).
 * False when the reference breaks it, so its target is not checked further.
 */
function checkAggregation(refType: TypeRef | undefined, mode: 'contained' | 'bundled' | 'referenced', reference: string, path: string, walk: Walk): boolean {
  const modes = refType?.aggregation;
  if (!modes || modes.length === 0 || modes.includes(mode)) return true;
  if (mode === 'referenced') {
    walk.add('error', 'structure', 'reference-aggregation-not-found', `Bundled or contained reference not found within the bundle/resource ${reference}`, path);
  } else {
    walk.add('error', 'structure', 'reference-aggregation', `Reference is ${mode} which isn't supported by the specified aggregation mode(s) for the reference (${modes.join(', ')})`, path);
  }
  return false;
}

/** A resolved target must conform to at least one of the target profiles that are not core definitions. */
function checkTargetProfiles(target: Record<string, unknown>, plan: TargetPlan, path: string, walk: Walk, frame: ResourceFrame): void {
  let applicable = false;
  let conforms = false;
  for (const structure of plan.profileStructures) {
    if (structure === undefined || structure.type !== target.resourceType) continue;
    applicable = true;
    if (walk.engine.conforms(target, structure, frame)) {
      conforms = true;
      break;
    }
  }
  if (applicable && !conforms) {
    walk.add('error', 'structure', 'reference-target-profile', `The resource referenced by ${path} does not conform to any of the target profiles (${plan.profiles.join(', ')})`, `${path}.reference`);
  }
}
