import type { CompiledStructure, ElementNode, TypeRef } from './element-tree.js';
import type { ResourceFrame, Walk } from './instance-validator.js';
import type { StructureCache } from './structures.js';
import { isAbsoluteUrl } from './primitives.js';
import type { BundleIndex } from './bundle.js';

const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const WHITESPACE = /\s/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** A Reference given as a profile's pattern (ElementDefinition.patternReference). */
const PATTERN_PATH = /element(\[\d+\])?\.pattern/;
const ABSOLUTE_RESTFUL = /^https?:\/\/.*\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * A Reference: its reference (format, target type, aggregation mode, resolution within contained resources and the
 * Bundle), the type it declares, or without a reference, something that says what it points at.
 */
export function checkReference(value: Record<string, unknown>, node: ElementNode, path: string, walk: Walk, frame: ResourceFrame): void {
  const reference = value.reference;
  if (typeof reference !== 'string') {
    if (reference === undefined) checkWithoutReference(value, path, walk);
    return;
  }
  if (WHITESPACE.test(reference)) walk.add('error', 'invalid', 'reference-whitespace', `The reference '${reference}' is not valid: a reference has no whitespace`, path);
  if (walk.engine.options.assumeValidRestReferences && isSuspiciousReference(reference, walk)) {
    walk.add('warning', 'structure', 'reference-suspicious', `The syntax of the reference '${reference}' looks incorrect, and it should be checked`, path);
  }
  const foundType = resolveReference(reference, node, path, walk, frame);
  if (typeof value.type === 'string') checkDeclaredType(value.type, foundType, node, path, walk);
}

/** As the reference (REFERENCE_REF_NODISPLAY): a reference with neither a target nor an identifier should say what it means. */
function checkWithoutReference(value: Record<string, unknown>, path: string, walk: Walk): void {
  const identifier = value.identifier as { system?: unknown; value?: unknown } | undefined;
  if (isFilled(identifier?.system) || isFilled(identifier?.value) || isFilled(value.display)) return;
  // A pattern in a profile may leave them out on purpose.
  if (PATTERN_PATH.test(path)) return;
  walk.add('warning', 'structure', 'reference-no-display', 'A Reference without an actual reference or identifier should have a display', path);
}

function isFilled(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/** Reference.type names the target's type: one the element may point at, and the one the reference resolves to. */
function checkDeclaredType(type: string, foundType: string | undefined, node: ElementNode, path: string, walk: Walk): void {
  const refType = referenceType(node);
  const targets = refType?.targetProfiles ?? [];
  const named = type.startsWith(CORE_SD) ? type.slice(CORE_SD.length) : type;
  if (refType && targets.length > 0 && !targets.includes(CORE_SD + 'Resource')) {
    const plan = targetPlan(refType, walk.engine.structures);
    if (!plan.types.has(named)) {
      walk.add('error', 'structure', 'reference-type-not-target', `The type '${type}' is not a valid Target for this element (must be one of ${targets.join(', ')})`, path);
    }
  }
  if (foundType !== undefined && foundType !== named) {
    walk.add('error', 'structure', 'reference-type-mismatch', `Invalid Resource target type. Found ${type}, but expected one of (${foundType})`, path);
  }
}

/** Checks where a reference leads; returns the type of its target, as resolved or as its URL names it. */
function resolveReference(reference: string, node: ElementNode, path: string, walk: Walk, frame: ResourceFrame): string | undefined {
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
    // A resourceType that is no string is reported on the contained resource; it names no type to check here.
    foundType = typeof target.resourceType === 'string' ? target.resourceType : undefined;
    if (!checkAggregation(refType, 'contained', reference, path, walk)) return foundType;
  } else {
    foundType = restfulType(reference);
    // A name the specification gives no resource type leaves the target's type unknown, as in the reference (tryParse).
    if (foundType !== undefined && !walk.engine.isResourceType(foundType)) foundType = undefined;
    const bundle = frame.bundle;
    if (bundle) {
      const owner = frame.container ?? frame;
      // Only a resource in an entry: the Bundle's own references resolve as anywhere else.
      if (owner.path.endsWith(ENTRY_RESOURCE) && !isAbsoluteUrl(reference)) checkRelativeInEntry(reference, owner, path, walk);
      const candidates = bundle.candidates(reference, frame.fullUrl);
      // What a document or a message must carry with it is bundle-links.ts's to judge; here, any Bundle.
      if (candidates.length > 1) {
        walk.add('error', 'forbidden', 'reference-bundle-ambiguous', `Multiple matches in bundle for reference ${reference}`, `${path}.reference`);
      } else if (candidates.length === 0 && reference.startsWith('urn')) {
        walk.add('warning', 'not-found', 'reference-bundle-not-local', `URN reference is not locally contained within the bundle ${reference}`, `${path}.reference`);
      } else if (candidates.length === 0 && frame.fullUrl !== undefined && !isAbsoluteUrl(reference)) {
        nearMisses(reference, frame.fullUrl, bundle, path, walk);
      }
      target = candidates[0]?.resource;
      if (target) {
        const actual = typeof target.resourceType === 'string' ? target.resourceType : undefined;
        if (foundType && actual !== undefined && actual !== foundType) {
          walk.add('error', 'structure', 'reference-bundle-type-mismatch', `Matching reference for reference ${reference} has resourceType ${actual}`, `${path}.reference`);
          return actual;
        }
        foundType = actual;
      }
    }
    if (!checkAggregation(refType, target ? 'bundled' : 'referenced', reference, path, walk)) return foundType;
  }
  if (!foundType || !refType || refType.targetProfiles.length === 0) return foundType;
  const plan = targetPlan(refType, walk.engine.structures);
  // A reference to elsewhere is type-checked only by what its URL says, and only when that is taken as true
  // (the reference's assumeValidRestReferences): a server we do not ask may answer otherwise.
  if (!target) {
    if (walk.engine.options.assumeValidRestReferences && plan.types.size > 0 && !plan.types.has(foundType) && !plan.types.has('Resource')) {
      walk.add('error', 'structure', 'reference-url-wrong-type', `The type '${foundType}' implied by the reference URL ${reference} is not a valid Target for this element (must be one of [${[...plan.types].join(', ')}])`, path);
    }
    return foundType;
  }
  // A profile that cannot be found allows no type and is an error, met anew at every reference.
  for (const profile of plan.unknownProfiles) {
    walk.add('error', 'structure', 'reference-target-profile-unknown', `Unable to resolve the profile reference '${profile}'`, path);
  }
  if (!plan.types.has(foundType) && !plan.types.has('Resource')) {
    walk.add('error', 'structure', 'reference-wrong-type', `Invalid Resource target type. Found ${foundType}, but expected one of ([${[...plan.types].join(', ')}])`, `${path}.reference`);
    return foundType;
  }
  checkTargetProfiles(target, plan, path, walk, frame);
  return foundType;
}

const ENTRY_RESOURCE = '.resource';
/** The entries already said to miss a fullUrl, by their resource's frame: once per entry, however many references. */
const FULL_URL_MISSING_SAID = new WeakSet<ResourceFrame>();

/**
 * A relative reference in a Bundle entry's resource, as the reference resolves it (its localResolve): a bare name is
 * no Type/id, and an entry without a fullUrl gives no base to read Type/id against.
 */
function checkRelativeInEntry(reference: string, owner: ResourceFrame, path: string, walk: Walk): void {
  if (!reference.includes('/') && !reference.includes(':')) {
    walk.add('error', 'structure', 'reference-relative-format', `Relative URLs must be of the format [ResourceName]/[id]. Encountered ${reference}`, path);
  }
  if (owner.fullUrl !== undefined) return;
  walk.add('error', 'required', 'reference-relative-no-fullurl', 'Relative Reference appears inside Bundle whose entry is missing a fullUrl', path);
  if (!FULL_URL_MISSING_SAID.has(owner)) {
    FULL_URL_MISSING_SAID.add(owner);
    walk.add('error', 'required', 'bundle-entry-no-fullurl', 'Bundle entry missing fullUrl', owner.path.slice(0, -ENTRY_RESOURCE.length));
  }
}

/**
 * A relative reference that resolves to no entry, while entries hold a resource of its type and id: their fullUrls
 * do not make the full URL the Bundle's rules ask for (a `Patient/1` beside `urn:uuid:` fullUrls, for one). Warned
 * of as the reference validator does (its getFromBundle), with the entries named.
 */
const NEAR_MISSES_NAMED = 5;

function nearMisses(reference: string, fromFullUrl: string, bundle: BundleIndex, path: string, walk: Walk): void {
  const parts = reference.split('/');
  if ((parts.length !== 2 && parts.length !== 4) || !walk.engine.isResourceType(parts[0]!) || !ID.test(parts[1]!)) return;
  const matches = bundle.withTypeAndId(parts[0]!, parts[1]!, NEAR_MISSES_NAMED + 1);
  if (matches.length === 0) return;
  const target = fullTargetUrl(parts, fromFullUrl);
  // An entry whose fullUrl is the target is not a near miss (the reference names it; see EntryLookup.candidates).
  const entries = matches.filter((e) => e.fullUrl !== target);
  if (entries.length === 0) return;
  // The reference names every such entry; a Bundle of thousands that share a type and id (an export's copies) would
  // have thousands of warnings at every reference: the first few say it.
  entries.length = Math.min(entries.length, NEAR_MISSES_NAMED);
  if (entries.length > 1) {
    walk.add('warning', 'required', 'BUNDLE_POSSSIBLE_MATCHES', `The bundle contains no match for ${target} by the rules of Bundle reference resolution, but it has multiple resources that match ${reference} by resource type and id`, path);
  }
  for (const entry of entries) {
    walk.add(
      'warning',
      'required',
      entry.fullUrl === undefined ? 'BUNDLE_BUNDLE_POSSIBLE_MATCH_NO_FU' : 'BUNDLE_BUNDLE_POSSIBLE_MATCH_WRONG_FU',
      entry.fullUrl === undefined
        ? `Entry ${entry.index} matches the reference ${reference} by type and id but it does not match the full target URL ${target} by Bundle resolution rules`
        : `Entry ${entry.index} matches the reference ${reference} by type and id but its fullUrl ${entry.fullUrl} does not match the full target URL ${target} by Bundle resolution rules`,
      path,
    );
  }
}

/** The full URL a relative reference (split at '/') means from an entry's fullUrl, as the reference validator makes it. */
function fullTargetUrl(parts: string[], fromFullUrl: string): string {
  const typeAndId = `${parts[0]}/${parts[1]}`;
  if (fromFullUrl.startsWith('urn')) {
    const base = fromFullUrl.slice(0, fromFullUrl.lastIndexOf(':') + 1);
    return parts.length === 4 ? base + typeAndId : base + parts[1];
  }
  const segments = fromFullUrl.split('/');
  const base = segments.slice(0, Math.max(0, segments.length - 2)).map((s) => s + '/').join('');
  return base + (parts.length === 4 ? typeAndId : parts.join('/'));
}

/** A relative reference other than Type/id or Type/id/_history/version, where such references are taken as true. */
function isSuspiciousReference(reference: string, walk: Walk): boolean {
  if (reference.startsWith('#') || isAbsoluteUrl(reference)) return false;
  const parts = reference.split('/');
  const known = walk.engine.isResourceType(parts[0]!) && ID.test(parts[1] ?? '');
  if (parts.length === 2 && known) return false;
  return !(parts.length === 4 && known && parts[2] === '_history' && ID.test(parts[3]!));
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
    // Core URLs name types (Patient) and profiles (vitalsigns, on Observation): found, a structure says which.
    const structure = structures.get(profile);
    const coreName = profile.startsWith(CORE_SD) && !profile.slice(CORE_SD.length).includes('/') ? profile.slice(CORE_SD.length).split('|')[0]! : undefined;
    if (structure) plan.types.add(structure.type);
    else if (coreName !== undefined) plan.types.add(coreName);
    else plan.unknownProfiles.push(profile);
    if (structure ? structure.url !== CORE_SD + structure.type : coreName === undefined) {
      plan.profiles.push(profile);
      plan.profileStructures.push(structure);
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
