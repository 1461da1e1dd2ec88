import type { ElementNode, TypeRef } from './element-tree.js';
import type { ResourceFrame, Walk } from './instance-validator.js';

const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ABSOLUTE_RESTFUL = /^https?:\/\/.*\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** Reference.reference: format, target type, aggregation mode, and resolution within contained resources and the Bundle. */
export function checkReference(value: Record<string, unknown>, node: ElementNode, path: string, walk: Walk, frame: ResourceFrame): void {
  const reference = value.reference;
  if (typeof reference !== 'string') return;
  const refType = node.types.find((t) => t.code === 'Reference');
  let foundType: string | undefined;
  let target: Record<string, unknown> | undefined;
  if (reference.startsWith('#')) {
    const owner = frame.container ?? frame;
    if (reference === '#') return;
    const contained = Array.isArray(owner.resource.contained) ? (owner.resource.contained as Array<Record<string, unknown>>) : [];
    target = contained.find((c) => `#${String(c?.id)}` === reference);
    if (!target) {
      walk.add('error', 'structure', 'reference-contained-unresolved', `Unable to resolve resource with reference '${reference}'`, `${path}.reference`);
      return;
    }
    if (!checkAggregation(refType, 'contained', reference, path, walk)) return;
    foundType = String(target.resourceType);
  } else {
    const m = RELATIVE.exec(reference) ?? ABSOLUTE_RESTFUL.exec(reference);
    if (m) {
      foundType = m[1];
      if (!walk.engine.isResourceType(foundType!)) {
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
  const allowedTypes = targetTypes(refType, path, walk);
  if (!allowedTypes.has(foundType) && !allowedTypes.has('Resource')) {
    walk.add('error', 'structure', 'reference-wrong-type', `Invalid Resource target type. Found ${foundType}, but expected one of ([${[...allowedTypes].join(', ')}])`, `${path}.reference`);
    return;
  }
  checkTargetProfiles(target, refType, path, walk, frame);
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

/** The resource types the target profiles allow; a profile that cannot be found allows none and is an error. */
function targetTypes(refType: TypeRef, path: string, walk: Walk): Set<string> {
  const types = new Set<string>();
  for (const profile of refType.targetProfiles) {
    if (profile.startsWith(CORE_SD) && !profile.slice(CORE_SD.length).includes('/')) {
      types.add(profile.slice(CORE_SD.length).split('|')[0]!);
    } else {
      const structure = walk.engine.structures.get(profile);
      if (structure) types.add(structure.type);
      else walk.add('error', 'structure', 'reference-target-profile-unknown', `Unable to resolve the profile reference '${profile}'`, path);
    }
  }
  return types;
}

/** A resolved target must conform to at least one of the target profiles that are not core definitions. */
function checkTargetProfiles(target: Record<string, unknown>, refType: TypeRef, path: string, walk: Walk, frame: ResourceFrame): void {
  const profiles = refType.targetProfiles.filter((p) => !p.startsWith(CORE_SD));
  if (profiles.length === 0) return;
  const applicable = profiles
    .map((p) => walk.engine.structures.get(p))
    .filter((s) => s !== undefined && s.type === target.resourceType);
  if (applicable.length === 0) return;
  if (!applicable.some((s) => walk.engine.conforms(target, s!, frame))) {
    walk.add('error', 'structure', 'reference-target-profile', `The resource referenced by ${path} does not conform to any of the target profiles (${profiles.join(', ')})`, `${path}.reference`);
  }
}
