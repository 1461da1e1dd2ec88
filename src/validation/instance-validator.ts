import { summariesOf, type CanonicalResource, type ConformanceResolver, type FhirResource } from '../packages/types.js';
import { CANONICAL_RESOURCE_TYPES, type ChildContext, type CompiledStructure, type Constraint, type ConstraintPass, type ElementNode, type TypeRef } from './element-tree.js';
import type { Issue, IssueType, Severity } from './issues.js';
import { hasValueOrChildren, InvariantEngine, type InvariantScope } from './invariants.js';
import type { MemberOf } from './fhirpath-compiler.js';
import { UNREAD } from '../formats/fhir-xml.js';
import type { CodeCheck, CodeStatus } from '../terminology/index.js';
import { canonicalNotAbsolute, checkPrimitive, isAbsoluteUrl, PRIMITIVE_TYPES } from './primitives.js';
import { StructureCache } from './structures.js';
import { fixedDifferences, matchesPattern, describeValue } from './fixed-pattern.js';
import { checkMarkdown, checkNarrativeControls, checkStringSecurity, checkXhtml, narrativeControlsOf, undefinedEntities } from './narrative.js';
import { BindingChecker } from './bindings.js';
import { checkBundle, Index, indexBundle, type BundleIndex } from './bundle.js';
import { checkReference } from './references.js';
import { SliceMatcher } from './slicing.js';
import { checkExtensionContext, checkExtensionValue, isExampleUrl, unresolvedExtensionStanding } from './extensions.js';
import { ImpliedProfiles } from './implied-profiles.js';
import { checkOperationDefinition } from './operation-definition.js';
import { checkCodeSystem, type CodeSystemLookups } from './code-system.js';
import { checkContained } from './contained.js';
import { checkConceptMap, type ConceptMapLookups } from './concept-map.js';
import { checkValueSet, type ValueSetLookups } from './value-set.js';
import { checkStructureDefinition, type StructureDefinitionLookups } from './structure-definition.js';
import { checkCapabilityStatementSearchParameters, checkSearchParameter, type SearchParameterLookups } from './search-parameter.js';
import { compareToBound, describeBound } from './ordered-values.js';
import { generateSnapshot, type SnapshotResult, type StructureDefinition } from '../packages/snapshot.js';
import { attachmentProblems } from './base64.js';
import { hl7PublisherProblems } from './hl7-publisher.js';
import { canonicalStatusProblems } from './canonical-status.js';
import { complexLimitProblems, primitiveLimitProblems, type ElementLimits } from './element-limits.js';
import type { BestPracticeLevel } from './api.js';
import { checkQuestionnaire } from './questionnaire.js';
import { checkQuestionnaireResponse, type QuestionnaireLookups, type QuestionnaireMode } from './questionnaire-response.js';

export interface EngineOptions {
  securityChecks: boolean;
  allowExampleUrls: boolean;
  bestPractice: BestPracticeLevel;
  /** URL prefixes from which unknown extensions are allowed; 'any' allows them from anywhere. */
  extensionDomains: readonly string[];
  /** Canonical resources marked experimental are errors. */
  noExperimentalContent?: boolean;
  /** Relative references are taken to name their target's type truly (see references.ts). */
  assumeValidRestReferences?: boolean;
  /** How a QuestionnaireResponse is checked against its questionnaire (see questionnaire-response.ts); default 'check'. */
  questionnaireMode?: QuestionnaireMode;
}

/** The resource being walked, its container (for contained resources) and the Bundle it sits in (made by makeFrame). */
export interface ResourceFrame {
  resource: Record<string, unknown>;
  path: string;
  container: ResourceFrame | undefined;
  bundle: BundleIndex | undefined;
  /** fullUrl of the Bundle entry holding this resource. */
  fullUrl: string | undefined;
  /** resolve() for invariants evaluated in this frame, made on first use. */
  resolveReference: ((reference: string) => unknown) | undefined;
  /** conformsTo() for invariants evaluated in this frame, made on first use. */
  conformsTo: ((value: unknown, url: string) => boolean) | undefined;
  /** The element ids met in this resource, with where: made at the first. */
  elementIds: Map<string, string> | undefined;
  /** The same for a StructureDefinition's snapshot, which repeats its differential's ids. */
  snapshotElementIds: Map<string, string> | undefined;
}

interface Item {
  value: unknown;
  companion: unknown;
  typeCode: string | undefined;
  path: string;
  key: string;
  index: number;
  /** Already reported as unusable; counts for cardinality only. */
  skip?: boolean;
}

/** Where we are in the definitions, for extension contexts and messages. */
interface Host {
  /** Definition path without indexes, restarted at each resource: Patient.contact.name */
  defPath: string;
  /** Path inside the element's datatype, restarted at each datatype: HumanName.family */
  typePath: string;
  typeCode: string;
  /** The element's value, for fhirpath extension contexts. */
  value?: unknown;
  /** URL of the extension whose children are being walked. */
  extensionUrl?: string;
}

const RESOURCE_TYPES_CACHE = new WeakMap<object, Set<string>>();

const DEDUP_SCAN_LIMIT = 32;

/** Thrown by a verdict-only walk at its first error. */
const FIRST_ERROR: unique symbol = Symbol('first-error');


/** Datatype children per definition node and type code; null when the type is unknown. Definition nodes live as long as their structure. */
const TYPE_CHILDREN = new WeakMap<ElementNode, Map<string, ChildContext | null>>();

type StructureSummary = CanonicalResource & { kind?: string; derivation?: string; type?: string };

/** Generated snapshots (and resolved bases) kept by one engine: definitions under validation are few; bad input must not grow them without end. */
const SNAPSHOTS_KEPT = 1000;

/** Whether two JSON values are equal: the same members with equal values, arrays in order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], other[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const key in x) {
    if (!Object.hasOwn(y, key) || !sameJson(x[key], y[key])) return false;
    count++;
  }
  for (const _ in y) count--;
  return count === 0;
}

/** Whether a terminology answer puts the code in the value set; undefined when it cannot tell. */
function membership(status: CodeStatus): boolean | undefined {
  if (status === 'valid' || status === 'invalid-display') return true;
  return status === 'not-in-valueset' || status === 'unknown-code' || status === 'no-system' ? false : undefined;
}

/** The types of a string memberOf() takes as a code, as the reference does (a FHIRPath String literal too). */
const STRING_MEMBER_TYPES = new Set(['code', 'string', 'uri', 'String']);

/** A lookup by URL that answers each URL once (absent answers too), forgetting all when it holds too many. */
function remembered<T>(lookup: (url: string) => T): (url: string) => T {
  const answers = new Map<string, T>();
  return (url) => {
    if (answers.has(url)) return answers.get(url) as T;
    if (answers.size >= SNAPSHOTS_KEPT) answers.clear();
    const answer = lookup(url);
    answers.set(url, answer);
    return answer;
  };
}

export class Engine {
  readonly structures: StructureCache;
  readonly invariants = new InvariantEngine();
  readonly bindings: BindingChecker;
  readonly slices: SliceMatcher;
  readonly impliedProfiles: ImpliedProfiles;
  readonly codeSystemLookups: CodeSystemLookups;
  readonly conceptMapLookups: ConceptMapLookups;
  readonly searchParameterLookups: SearchParameterLookups;
  readonly structureDefinitionLookups: StructureDefinitionLookups;
  readonly valueSetLookups: ValueSetLookups;
  readonly questionnaireLookups: QuestionnaireLookups;
  /** Whether a value (by identity) conforms to a structure, for one validate() call: values do not change during it. */
  /** Made on the first conformance question of a validate() call: most calls ask none, and every WeakMap costs the GC. */
  private conformance: WeakMap<object, Map<CompiledStructure, boolean>> | undefined;
  private resourceTypes?: Set<string>;
  private readonly snapshots = new Map<string, { differential: unknown; result: SnapshotResult }>();
  /** The group stacks every walk of this engine uses (see Walk.children): grown once, not per walk. */
  readonly groups = new GroupStacks();

  constructor(
    readonly resolver: ConformanceResolver,
    readonly options: EngineOptions,
    bindings: BindingChecker,
  ) {
    this.structures = new StructureCache(resolver);
    this.bindings = bindings;
    this.slices = new SliceMatcher(this);
    this.impliedProfiles = new ImpliedProfiles(resolver);
    const resolve = (url: string, type?: string) => resolver.resolve(url, type) as Record<string, unknown> | undefined;
    const inValueSet = (coding: { system?: string; code: string }, valueSet: string) => membership(bindings.terminology.validateCode(coding, valueSet).status);
    this.codeSystemLookups = {
      codeSystem: (url) => resolve(url, 'CodeSystem'),
      valueSet: (url) => resolve(url, 'ValueSet'),
      codeInValueSet: (code, valueSet) => inValueSet({ code }, valueSet),
    };
    this.conceptMapLookups = {
      resource: (url) => resolve(url),
      codeSystem: (url) => resolve(url, 'CodeSystem'),
      codingInValueSet: (system, code, valueSet) => inValueSet({ system, code }, valueSet),
    };
    this.questionnaireLookups = {
      questionnaire: (url) => resolve(url, 'Questionnaire'),
      evaluate: (expression, response) =>
        this.invariants.select(expression, { node: response, basePath: 'QuestionnaireResponse', resource: response, rootResource: response, resolveReference: () => undefined }),
      codingInValueSet: (coding, valueSet) => {
        const check = bindings.terminology.validateCode(coding, valueSet);
        const status = check.status;
        return {
          status:
            status === 'valid' || status === 'invalid-display'
              ? 'valid'
              : status === 'not-in-valueset' || status === 'unknown-code'
                ? 'not-in-valueset'
                : status === 'unknown-valueset'
                  ? 'unknown-valueset'
                  : 'not-checkable',
          valueSet: check.valueSet,
          errorMessage: check.errorMessage,
        };
      },
    };
    this.searchParameterLookups = { searchParameter: (url) => resolve(url, 'SearchParameter'), isResourceType: (name) => this.isResourceType(name) };
    // Definitions under validation ask for the same few bases, core types and value sets again and again.
    this.structureDefinitionLookups = { structure: remembered((url) => resolve(url, 'StructureDefinition')), resource: remembered((url) => resolve(url)) };
    let codeSystemsByIdentifier: Map<string, string[]> | undefined;
    this.valueSetLookups = {
      codeSystem: (url) => resolve(url, 'CodeSystem'),
      valueSet: (url) => resolve(url, 'ValueSet'),
      resource: (url) => resolve(url),
      // Indexed on first use: only an include naming a code system by OID asks.
      codeSystemsIdentifiedBy: (identifier) => {
        if (!codeSystemsByIdentifier) {
          codeSystemsByIdentifier = new Map();
          for (const cs of resolver.all<CanonicalResource & { identifier?: Array<{ value?: string }> }>('CodeSystem')) {
            for (const id of cs.identifier ?? []) if (typeof id.value === 'string' && cs.url) codeSystemsByIdentifier.set(id.value, [...(codeSystemsByIdentifier.get(id.value) ?? []), cs.url]);
          }
        }
        return codeSystemsByIdentifier.get(identifier) ?? [];
      },
    };
  }

  /**
   * The snapshot a StructureDefinition's differential generates, and what broke on the way: by canonical and
   * differential, as generating costs more than validating the definition (a nightly batch meets the same few).
   */
  regeneratedSnapshot(sd: Record<string, unknown>): SnapshotResult {
    const key = `${String(sd.url)}|${String(sd.version)}|${String(sd.baseDefinition)}`;
    const kept = this.snapshots.get(key);
    // Compared, not serialised: the same definition again is the common case, and a walk that finds it equal costs a
    // fraction of stringifying it.
    if (kept && sameJson(kept.differential, sd.differential)) return kept.result;
    // The generator works on the differential alone: a copy without the carried snapshot.
    const result = generateSnapshot({ ...sd, snapshot: undefined } as unknown as StructureDefinition, this.resolver);
    if (this.snapshots.size >= SNAPSHOTS_KEPT) this.snapshots.clear();
    this.snapshots.set(key, { differential: sd.differential, result });
    return result;
  }

  isResourceType(code: string): boolean {
    return (this.resourceTypes ??= this.loadResourceTypes()).has(code);
  }

  private loadResourceTypes(): Set<string> {
    let known = RESOURCE_TYPES_CACHE.get(this.resolver);
    if (!known) {
      known = new Set(
        summariesOf<StructureSummary>(this.resolver, 'StructureDefinition')
          .filter((sd) => sd.kind === 'resource' && sd.derivation !== 'constraint' && sd.url?.startsWith('http://hl7.org/fhir/StructureDefinition/'))
          .map((sd) => sd.type!),
      );
      RESOURCE_TYPES_CACHE.set(this.resolver, known);
    }
    return known;
  }

  /** Answers about values are kept for one validation only: values may change between validations. */
  startValidation(): void {
    this.conformance = undefined;
  }

  validate(resource: FhirResource, profile?: string, numberTexts?: ReadonlyMap<string, string>): Issue[] {
    this.startValidation();
    const walk = new Walk(this);
    walk.numberTexts = numberTexts;
    const root = resource as unknown as Record<string, unknown>;
    const mark = this.groups.count;
    try {
      // A resourceType that is no string (reported as missing) names no path: the resource is 'Resource'.
      const rootPath = typeof resource.resourceType === 'string' ? resource.resourceType : 'Resource';
      walk.resource(root, rootPath, makeFrame(root, rootPath), profile ? [profile] : [], true);
    } finally {
      // A walk that throws leaves its groups counted: given back here.
      this.groups.count = mark;
    }
    return walk.result();
  }

  /** Validates quietly and says whether there were errors: for profile discriminators and targetProfile checks. */
  conforms(value: unknown, structure: CompiledStructure, frame: ResourceFrame | undefined): boolean {
    // Slice matching and target-profile checks ask the same question of the same value repeatedly.
    if (value === null || typeof value !== 'object') return this.conformsUncached(value, structure, frame);
    this.conformance ??= new WeakMap();
    let answers = this.conformance.get(value);
    if (!answers) {
      answers = new Map();
      this.conformance.set(value, answers);
    }
    let answer = answers.get(structure);
    if (answer === undefined) {
      // Asked again while it is being answered (a profile whose invariant calls conformsTo on it): assume it does.
      answers.set(structure, true);
      answer = this.conformsUncached(value, structure, frame);
      answers.set(structure, answer);
    }
    return answer;
  }

  /**
   * FHIRPath memberOf(), decided as the reference does by the value's type: a code (its system taken from the value
   * set), a Coding, or a CodeableConcept (any of its codings); empty for other types and unknown value sets.
   */
  readonly memberOf: MemberOf = (value, type, valueSet) => {
    const terminology = this.bindings.terminology;
    let check: CodeCheck;
    if (typeof value === 'string') {
      if (type !== undefined && !STRING_MEMBER_TYPES.has(type)) return undefined;
      check = terminology.validateCode({ code: value }, valueSet);
    } else if (typeof value === 'object' && value !== null) {
      const concept = type === undefined ? 'coding' in value : type === 'CodeableConcept';
      if (!concept && type !== undefined && type !== 'Coding') return undefined;
      check = concept ? terminology.validateCodeableConcept(value, valueSet) : terminology.validateCoding(value, valueSet);
    } else return undefined;
    if (check.status === 'unknown-valueset') return undefined;
    const member = membership(check.status);
    if (member === undefined) throw new Error(`memberOf(): whether ${check.codes ?? 'the value'} is in ${valueSet} cannot be decided offline (${check.status})`);
    return member;
  };

  /** FHIRPath conformsTo(): an unknown profile is an evaluation error, as the invariant cannot be decided. */
  conformsToProfile(value: unknown, url: string, frame: ResourceFrame): boolean {
    const structure = this.structures.get(url);
    if (!structure) throw new Error(`conformsTo(): the profile ${url} is unknown`);
    return this.conforms(value, structure, frame);
  }

  private conformsUncached(value: unknown, structure: CompiledStructure, frame: ResourceFrame | undefined): boolean {
    if (structure.kind === 'resource' && (value as { resourceType?: unknown } | null)?.resourceType !== structure.type) return false;
    // Only the verdict is wanted: the walk stops at the first error and builds no other messages.
    const mark = this.groups.count;
    try {
      this.walkAgainst(new Walk(this, true), value, structure, frame);
      return true;
    } catch (error) {
      if (error === FIRST_ERROR) return false;
      throw error;
    } finally {
      this.groups.count = mark;
    }
  }

  /** The issues of one value against one structure, walked on its own. */
  issuesAgainst(value: unknown, structure: CompiledStructure, frame: ResourceFrame | undefined): Issue[] {
    const walk = new Walk(this);
    const mark = this.groups.count;
    try {
      this.walkAgainst(walk, value, structure, frame);
    } finally {
      this.groups.count = mark;
    }
    return walk.issues;
  }

  private walkAgainst(walk: Walk, value: unknown, structure: CompiledStructure, frame: ResourceFrame | undefined): void {
    if (structure.kind === 'resource' && value && typeof value === 'object' && 'resourceType' in value) {
      const res = value as Record<string, unknown>;
      walk.resourceAgainst(res, String(res.resourceType), structure, resourceFrame(res, frame));
    } else {
      const type = structure.type;
      const at = frame ?? makeFrame({}, '');
      const host = makeHost(type, type, type, undefined, undefined);
      if (PRIMITIVE_TYPES.has(type)) walk.primitive(value, undefined, structure.root, type, type, at, structure, host);
      else walk.complexElement(value, structure.root, type, type, at, structure, host);
    }
  }
}

/**
 * The groups of the objects being walked, innermost last (see Walk.children): per matched definition its node, its
 * items or plain match, and a plain group's JSON value (read once while grouping).
 */
class GroupStacks {
  readonly nodes: ElementNode[] = [];
  readonly items: Array<Item[] | ChildMatch> = [];
  readonly values: unknown[] = [];
  count = 0;
}

function capitalize(code: string): string {
  return code.charAt(0).toUpperCase() + code.slice(1);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class Walk {
  readonly issues: Issue[] = [];
  /** The issues so far by path, made once the list is too long to scan (see isDuplicate). */
  private issuesByPath: Map<string, Issue[]> | undefined;
  /** The engine's group stacks: a nested walk (a conformance check) uses them above the groups of the walk it serves. */
  private readonly groups: GroupStacks;
  /** One scope object for every invariant this walk evaluates: evaluation is synchronous and keeps no reference to it. */
  private readonly scope: WalkScope;
  /**
   * Narratives and attachments checked so far, with their paths: those checks read nothing but the value, its path and
   * its resource, so the walks of a resource's profiles would find only the issues its base walk reported.
   */
  private checkedValues: Map<object, string> | undefined;
  /**
   * The structures each resource was walked against so far, with the path: a contained resource or Bundle entry is
   * met again by each profile of the resource that holds it, and walking it again at the same path against the same
   * structure would only find the issues already reported (see isDuplicate).
   */
  private walkedResources: Map<object, { path: string; structure: CompiledStructure }[]> | undefined;
  /**
   * The objects whose children this walk has walked, once a resource with profiles is met (as checkedValues). A
   * profile walk meets most values with the same definitions as the base walk did (a datatype's children come from
   * the datatype, an extension's from its definition), and would only find the issues already reported.
   */
  private walkedChildren: Map<object, ChildrenWalks> | undefined;
  /** The walk of a resource against one structure under way (a number per walk), and how many there have been. */
  private pass = 0;
  private passes = 0;
  /** Numbers as their JSON text wrote them, where the value does not say it (see ValidateOptions.numberTexts). */
  numberTexts: ReadonlyMap<string, string> | undefined;
  /** Read per primitive: kept here, one load away, rather than on the engine's options. */
  private readonly forbidsExampleUrls: boolean;

  /** @param verdictOnly a conformance check: the first error ends the walk (FIRST_ERROR), and nothing else is recorded. */
  constructor(
    readonly engine: Engine,
    private readonly verdictOnly = false,
  ) {
    this.scope = new WalkScope(engine);
    this.groups = engine.groups;
    this.forbidsExampleUrls = !engine.options.allowExampleUrls;
  }

  result(): Issue[] {
    return this.issues;
  }

  add(severity: Severity, code: IssueType, messageId: string, message: string, path: string): void {
    if (this.verdictOnly) {
      if (severity === 'error' || severity === 'fatal') throw FIRST_ERROR;
      return;
    }
    if (this.isDuplicate(severity, messageId, message, path)) return;
    const issue: Issue = { severity, code, messageId, message, path };
    this.issues.push(issue);
    if (this.issuesByPath) indexByPath(this.issuesByPath, issue);
  }

  /** The same finding reached twice (e.g. through a profile and its base). A scan while issues are few, then a lookup by path. */
  private isDuplicate(severity: Severity, messageId: string, message: string, path: string): boolean {
    const issues = this.issues;
    if (issues.length < DEDUP_SCAN_LIMIT) return sameIssueIn(issues, severity, messageId, message, path);
    if (!this.issuesByPath) {
      this.issuesByPath = new Map();
      for (const issue of issues) indexByPath(this.issuesByPath, issue);
    }
    const atPath = this.issuesByPath.get(path);
    return atPath !== undefined && sameIssueIn(atPath, severity, messageId, message, path);
  }

  /** Validates a resource against its core definition, its declared profiles and any extra profiles. */
  resource(res: Record<string, unknown>, path: string, frame: ResourceFrame, extraProfiles: readonly string[], isRoot: boolean): void {
    const type = res.resourceType;
    if (typeof type !== 'string') {
      this.add('fatal', 'structure', 'resource-type-missing', 'Unable to find resourceType property', path);
      return;
    }
    const base = this.engine.isResourceType(type) ? this.engine.structures.forType(type) : undefined;
    if (!base) {
      this.add('fatal', 'structure', 'resource-type-unknown', `Unknown resource type '${type}'`, path);
      return;
    }
    this.checkResourceId(res, path);
    if (res.contained !== undefined) this.addAll(checkContained(res, path));
    if (res.meta !== undefined) this.checkSecurityLabels(res.meta, path);
    if (Array.isArray(res.extension) && res.extension.some((e) => isObject(e) && e.url === MATCHETYPE_EXTENSION)) {
      // A matchetype is the expected side of a test comparison (with $string$-like patterns), never data.
      this.add('error', 'invalid', 'matchetype-disallowed', 'A matchetype (a resource marked as a pattern for test comparisons) is not allowed here', path);
    }
    if (typeof res.url === 'string') for (const p of hl7PublisherProblems(res)) this.add(p.severity, p.code, p.messageId, p.message, path);
    if (CANONICAL_RESOURCE_TYPES.has(type)) {
      for (const p of canonicalStatusProblems(res, this.engine.options.noExperimentalContent === true)) this.add(p.severity, p.code, p.messageId, p.message, path);
    }
    if (type === 'Observation') this.observationBestPractice(res, path);
    // A meta.profile that is not an array is reported by the walk (json-array-expected) and names no profile.
    const listed = (res.meta as { profile?: unknown } | undefined)?.profile;
    const declared = Array.isArray(listed) ? listed : NO_PROFILES;
    const implied = this.engine.impliedProfiles.for(res);
    const profiled = declared.length > 0 || extraProfiles.length > 0 || implied.length > 0;
    // Its profiles will meet its values again: see firstCheck.
    if (profiled) {
      this.checkedValues ??= new Map();
      this.walkedChildren ??= new Map();
      this.walkedResources ??= new Map();
    }
    // A profile given for the validation stands in for the type at the root, as in the reference validator (it walks
    // the given profile instead of the type): the type's rules are in the profile's snapshot, and walking both
    // reported each broken core rule twice, once "from" each.
    const given = isRoot && extraProfiles.length === 1 ? this.engine.structures.get(extraProfiles[0]!) : undefined;
    const primary = given !== undefined && given.type === type ? given : base;
    this.resourceAgainst(res, path, primary, frame, true);
    if (type === 'StructureDefinition' && isRoot) this.checkSnapshotGeneration(res, path);
    if (type === 'StructureDefinition') this.addAll(checkStructureDefinition(res, path, this.engine.structureDefinitionLookups));
    else if (type === 'OperationDefinition') this.addAll(checkOperationDefinition(res, path, this.engine.structures));
    else if (type === 'CodeSystem') this.addAll(checkCodeSystem(res, path, this.engine.codeSystemLookups, frame.container?.resource.resourceType as string | undefined));
    else if (type === 'ValueSet') this.addAll(checkValueSet(res, path, this.engine.valueSetLookups));
    else if (type === 'ConceptMap') this.addAll(checkConceptMap(res, path, this.engine.conceptMapLookups));
    else if (type === 'SearchParameter') this.addAll(checkSearchParameter(res, path, this.engine.searchParameterLookups));
    else if (type === 'CapabilityStatement') this.addAll(checkCapabilityStatementSearchParameters(res, path, this.engine.searchParameterLookups));
    else if (type === 'Questionnaire') this.addAll(checkQuestionnaire(res, path, this.engine.questionnaireLookups.questionnaire));
    else if (type === 'QuestionnaireResponse') this.addAll(checkQuestionnaireResponse(res, path, this.engine.questionnaireLookups, this.engine.options.questionnaireMode ?? 'check'));
    if (!profiled) return;
    // Each once, in order: a scan of the few so far, not a Set of spread arrays.
    const profiles: unknown[] = [];
    for (const profile of declared) addDistinct(profiles, profile);
    for (const profile of extraProfiles) addDistinct(profiles, profile);
    for (const profile of implied) addDistinct(profiles, profile);
    for (const profile of profiles) {
      if (typeof profile !== 'string') continue;
      const structure = this.engine.structures.get(profile);
      const versioned = structure ? undefined : /^http:\/\/hl7\.org\/fhir\/(\d+\.\d+)\/StructureDefinition\/([^/]+)$/.exec(profile);
      if (versioned) {
        // A core definition named with its FHIR version: the resource's own type in this version needs nothing more.
        if (versioned[1] === '4.0' && versioned[2] !== type) {
          this.add('error', 'structure', 'profile-version-type', `Profile is for this version of FHIR, but is an invalid type ${versioned[2]}`, `${path}.meta.profile`);
        } else {
          this.add('information', 'informational', 'profile-version', `Profile ${profile} is the core definition of ${versioned[2]} for FHIR ${versioned[1]}`, `${path}.meta.profile`);
        }
        continue;
      }
      if (!structure) {
        const declaredOnly = declared.includes(profile);
        this.add(
          declaredOnly ? 'warning' : 'error',
          'not-found',
          'profile-unknown',
          `Profile reference '${profile}' has not been checked because it is unknown`,
          `${path}.meta.profile`,
        );
        continue;
      }
      if (structure.type !== type) {
        this.add('error', 'structure', 'profile-wrong-type', `Profile ${structure.label} is for ${structure.type}, not ${type}`, path);
        continue;
      }
      if (structure !== primary) this.resourceAgainst(res, path, structure, frame);
    }
  }

  /**
   * A profile under validation must be usable: generate its snapshot and report what breaks. As in the reference,
   * also when it carries one (a published snapshot may hide a broken differential), and a carried snapshot must
   * have the elements the differential gives.
   */
  private checkSnapshotGeneration(sd: Record<string, unknown>, path: string): void {
    if (!sd.differential || sd.derivation !== 'constraint') return;
    try {
      const { snapshot, issues } = this.engine.regeneratedSnapshot(sd);
      const given = (sd.snapshot as { element?: unknown } | undefined)?.element;
      // An empty result is a generation that stopped, with its reason among the issues: nothing to compare.
      if (Array.isArray(given) && given.length > 0 && snapshot.length > 0 && given.length !== snapshot.length) {
        this.add('error', 'business-rule', 'SNAPSHOT_EXISTING_PROBLEM',
          `The generated snapshot has a different number of elements (${snapshot.length}) than the snapshot in the StructureDefinition (${given.length})`, path);
      }
      for (const issue of issues) {
        // Without its base, the reference checks nothing further and only warns.
        const severity = issue.messageId === 'SNAPSHOT_BASE_NOT_FOUND' ? 'warning' : issue.severity;
        this.add(severity, issue.code, issue.messageId, issue.message, issue.path ? `${path}.${issue.path}`.replace(/^StructureDefinition\.StructureDefinition/, 'StructureDefinition') : path);
      }
    } catch (error) {
      this.add('error', 'processing', 'snapshot-failed', `Error generating Snapshot: ${(error as Error).message}`, path);
    }
  }

  /** The reference's ObservationValidator: an observation should say whom it is about, who observed, and when. */
  private observationBestPractice(res: Record<string, unknown>, path: string): void {
    const level = this.engine.options.bestPractice;
    if (level === 'ignore') return;
    const advise = (present: boolean, messageId: string, what: string) => {
      if (!present) this.add(level, 'invalid', messageId, `Best Practice Recommendation: In general, all observations should have ${what}`, path);
    };
    advise(res.subject !== undefined, 'observation-no-subject', 'a subject');
    advise(Array.isArray(res.performer) && res.performer.length > 0, 'observation-no-performer', 'a performer');
    advise(
      res.effectiveDateTime !== undefined || res.effectivePeriod !== undefined || res.effectiveTiming !== undefined || res.effectiveInstant !== undefined,
      'observation-no-effective',
      'an effectiveDateTime or an effectivePeriod',
    );
  }

  /** The same security label twice (the reference's Meta_RES_Security_Duplicate). */
  private checkSecurityLabels(meta: unknown, path: string): void {
    const labels = isObject(meta) && Array.isArray(meta.security) ? meta.security : undefined;
    if (!labels || labels.length < 2) return;
    const seen = new Set<string>();
    labels.forEach((label: unknown, i) => {
      const coding = isObject(label) ? label : {};
      const key = `${typeof coding.system === 'string' ? coding.system : 'null'}#${typeof coding.code === 'string' ? coding.code : 'null'}`;
      if (seen.has(key)) this.add('error', 'business-rule', 'meta-security-duplicate', `Duplicate Security Label ${key}`, `${path}.meta.security[${i}]`);
      seen.add(key);
    });
  }

  private checkResourceId(res: Record<string, unknown>, path: string): void {
    const id = res.id;
    if (typeof id !== 'string') return;
    if (id.length > 64) this.add('error', 'invalid', 'resource-id-too-long', `Invalid Resource id: Too long (${id.length} chars)`, `${path}.id`);
    else if (!/^[A-Za-z0-9\-.]+$/.test(id)) this.add('error', 'invalid', 'resource-id-characters', `Invalid Resource id: Invalid Characters ('${id}')`, `${path}.id`);
  }

  /** `primary`: the resource's first walk (against its type, or the profile standing in for it), which runs the Bundle rules. */
  resourceAgainst(res: Record<string, unknown>, path: string, structure: CompiledStructure, frame: ResourceFrame, primary = false): void {
    if (this.walkedBefore(res, path, structure)) return;
    const type = String(res.resourceType);
    // Entries resolve references against their Bundle while they are walked.
    if (type === 'Bundle' && frame.resource === res && !frame.bundle) frame.bundle = indexBundle(res, path);
    const outer = this.pass;
    this.pass = ++this.passes;
    this.complexElement(res, structure.root, type, path, frame, structure, makeHost(type, type, type, res, undefined));
    this.pass = outer;
    if (type === 'Bundle' && (primary || structure.url === 'http://hl7.org/fhir/StructureDefinition/Bundle')) {
      checkBundle(res, path, this, frame);
    }
  }

  /** Whether this walk has walked the resource at this path against this structure already; notes it if not. */
  private walkedBefore(res: object, path: string, structure: CompiledStructure): boolean {
    // Only a resource with profiles is walked more than once, and with it what it holds.
    if (this.walkedResources === undefined) return false;
    const walks = this.walkedResources.get(res);
    if (walks === undefined) {
      this.walkedResources.set(res, [{ path, structure }]);
      return false;
    }
    for (const walk of walks) if (walk.structure === structure && walk.path === path) return true;
    walks.push({ path, structure });
    return false;
  }

  /** Validates one element value (one array item) whose type is not primitive against its definition node. */
  complexElement(
    value: unknown,
    node: ElementNode,
    typeCode: string | undefined,
    path: string,
    frame: ResourceFrame,
    structure: CompiledStructure,
    host: Host,
  ): void {
    if (!isObject(value)) {
      if (value === null || value === undefined) {
        this.add('error', 'structure', 'json-null', 'Null values are not allowed here', path);
      } else {
        this.add('error', 'structure', 'json-object-expected', `The property ${path} must be a JSON Object, not a ${Array.isArray(value) ? 'an Array' : typeof value}`, path);
      }
      return;
    }
    if (typeCode === 'Resource' || typeCode === 'DomainResource' || (typeCode && node !== structure.root && this.holdsResource(node, typeCode))) {
      this.nestedResource(value, node, path, frame);
      return;
    }
    const childContext = this.childrenOf(node, typeCode, structure, path, value, frame);
    if (!childContext) {
      if (typeCode) this.add('error', 'processing', 'type-unknown', `Unknown type ${typeCode}`, path);
      return;
    }
    const isRoot = node === structure.root && typeof value.resourceType === 'string';
    const elementHost = makeHost(
      host.defPath,
      // Children of a datatype are named from the datatype (HumanName.family, not Patient.name.family),
      // also when a profile constrains them inline; an element defined by reference, from the element it reuses
      // (Questionnaire.item.item is a Questionnaire.item, where questionnaire-itemControl may be used).
      typeCode && typeCode !== 'BackboneElement' && typeCode !== 'Element' ? typeCode : (node.contentReference ?? host.typePath),
      typeCode ?? host.typeCode,
      value,
      typeCode === 'Extension' ? (value.url as string | undefined) : undefined,
    );
    // Only children defined apart from the structure walked (by a datatype, a type profile, an extension) are met
    // again with the same definitions by the walk of another structure.
    const walkedChildren = childContext.structure === structure ? undefined : this.walkedChildren;
    const hasContent =
      walkedChildren === undefined
        ? this.children(value, childContext, path, frame, isRoot, elementHost)
        : this.childrenOnce(walkedChildren, value, childContext, path, frame, isRoot, elementHost);
    if (node.hasValueRules) this.checkValueRules(value, node, typeCode, path, structure, frame);
    if (typeCode === 'Reference') checkReference(value, node, path, this, frame);
    else if (typeCode === 'Identifier') this.checkIdentifier(value, path);
    if (typeCode === 'Attachment' && this.firstCheck(value, path)) this.checkAttachment(value, path);
    if (typeCode) this.engine.bindings.checkComplex(value, node, typeCode, path, this, host.typePath === 'CodeableConcept.coding');
    // Most elements carry only the core ele-1, which passes on any value with content: no evaluation to set up.
    if (!(node.onlyCoreEle1 && hasContent)) this.checkConstraints(value, node, path, frame, isRoot ? structure.root.path : node.path);
    // The datatype's own invariants (ref-1 on Reference, per-1 on Period, ...) sit on its root element.
    const typeRoot = childContext.structure.root;
    // Most datatype roots carry only ele-1, which the element's own definition has already checked.
    if (childContext.structure !== structure && (typeRoot.constraintsBeyondEle1 || (typeRoot.hasEle1 && !node.hasEle1))) {
      this.checkConstraints(value, typeRoot, path, frame, typeRoot.path, false, node);
    }
    if (typeCode === 'Narrative' && typeof value.div === 'string') this.narrative(value, value.div, node, path, frame, structure);
  }

  /**
   * Element ids are unique within their resource (the reference's DUPLICATE_ID); a StructureDefinition's snapshot
   * repeats its differential's ids and is a scope of its own. An id met again at the same place is the same element,
   * walked against another profile.
   */
  private checkElementId(id: string, idPath: string, frame: ResourceFrame): void {
    const inSnapshot = frame.resource.resourceType === 'StructureDefinition' && idPath.startsWith('.snapshot', frame.path.length);
    const ids = inSnapshot ? (frame.snapshotElementIds ??= new Map()) : (frame.elementIds ??= new Map());
    const first = ids.get(id);
    if (first === undefined) ids.set(id, idPath);
    // Reported at the element whose id it is.
    else if (first !== idPath) this.add('error', 'structure', 'element-id-duplicate', `Duplicate id value '${id}'`, idPath.slice(0, -3));
  }

  /**
   * A narrative's XHTML: its own rules once (see firstCheck), and what the profile walked now asks of it through the
   * narrative control extensions. The resource's language applies to the resource's own text only.
   */
  private narrative(value: Record<string, unknown>, div: string, node: ElementNode, path: string, frame: ResourceFrame, structure: CompiledStructure): void {
    const language = value === frame.resource.text ? frame.resource.language : undefined;
    const resourceLanguage = typeof language === 'string' ? language : undefined;
    if (this.firstCheck(value, path)) {
      // Collecting the targets walks all of the resource (its container's, when contained): only worth it when the
      // narrative links locally.
      const localIds = div.includes('"#') ? fragmentTargets((frame.container ?? frame).resource) : undefined;
      const bundle = localIds && frame.bundle instanceof Index ? frame.bundle.bundle : undefined;
      const outerIds = bundle ? () => bundleFragmentTargets(bundle) : undefined;
      this.addAll(undefinedEntities(div, `${path}.div`));
      this.addAll(checkXhtml(div, { path: `${path}.div`, securityChecks: this.engine.options.securityChecks, localIds, outerIds, resourceLanguage }));
    }
    const controls = (node.memo.narrativeControls ??= narrativeControlsOf(node.definition, structure.url));
    if (controls !== null) this.addAll(checkNarrativeControls(div, controls, path, resourceLanguage));
  }

  /**
   * Whether this walk meets the value at this path for the first time (a value sits in one resource, at one path).
   * Asked only once a resource with profiles is met: a walk of a resource without profiles meets each value once.
   */
  private firstCheck(value: object, path: string): boolean {
    const checked = this.checkedValues;
    if (checked === undefined) return true;
    if (checked.get(value) === path) return false;
    checked.set(value, path);
    return true;
  }

  /** Whether the element, met as this type, holds a resource: remembered on the node for its last type. */
  private holdsResource(node: ElementNode, typeCode: string): boolean {
    if (node.seenType !== typeCode) {
      node.seenTypeIsResource = this.engine.isResourceType(typeCode);
      node.seenType = typeCode;
    }
    return node.seenTypeIsResource;
  }

  /** Attachment.data must decode, and match the size and hash stated beside it. */
  /** Identifier.system names a namespace, which must be absolute; urn:ietf:rfc:3986 says the value is itself a URI. */
  private checkIdentifier(value: Record<string, unknown>, path: string): void {
    const system = value.system;
    if (typeof system !== 'string') return;
    if (!isAbsoluteUrl(system)) {
      this.add('error', 'code-invalid', 'identifier-system-relative', 'Identifier.system must be an absolute reference, not a local reference', path);
    } else if (system === 'urn:ietf:rfc:3986' && typeof value.value === 'string' && !isAbsoluteUrl(value.value)) {
      this.add('error', 'code-invalid', 'identifier-value-not-uri', `if identifier.system is 'urn:ietf:rfc:3986', then the identifier.value must be a full URI (e.g. start with a scheme), not '${value.value}'`, path);
    }
  }

  private checkAttachment(value: Record<string, unknown>, path: string): void {
    if (value.data === undefined) {
      if (value.url === undefined && value.contentType === undefined && value.language === undefined) {
        this.add('warning', 'structure', 'attachment-no-content', 'Attachments have data and/or url, or else SHOULD have either contentType and/or language', path);
      }
      return;
    }
    for (const p of attachmentProblems(value)) this.add('error', p.code, p.messageId, p.message, path + p.member);
  }

  private nestedResource(value: Record<string, unknown>, node: ElementNode, path: string, frame: ResourceFrame): void {
    const profileTypes = (node.memo.resourceProfiles ??= this.resourceProfiles(node));
    const applicable = profileTypes.length === 0 ? NO_PROFILES : applicableProfiles(profileTypes, value.resourceType);
    if (profileTypes.length > 0 && applicable.length === 0 && typeof value.resourceType === 'string') {
      this.add('error', 'structure', 'resource-type-not-allowed', `The type '${value.resourceType}' is not valid - must be ${[...new Set(profileTypes.map((s) => s.type))].join(' or ')}`, path);
    }
    const isContained = node.name === 'contained';
    const child = makeFrame(value, path, isContained ? frame : undefined, frame.bundle, frame.fullUrl);
    if (value.resourceType === 'Bundle') child.bundle = indexBundle(value, path);
    if (frame.bundle && node.name === 'resource') child.fullUrl = frame.bundle.fullUrlOfEntry(value);
    this.resource(value, path, child, applicable, false);
  }

  /** The definitions of an element's children: its own (profile) children, a content reference, or its type's. */
  childrenOf(
    node: ElementNode,
    typeCode: string | undefined,
    structure: CompiledStructure,
    path: string,
    value: unknown,
    frame: ResourceFrame,
  ): ChildContext | undefined {
    const memo = node.memo;
    if (node.children.length > 0) {
      if (memo.ownChildren?.structure !== structure) memo.ownChildren = { nodes: node.children, structure, shape: undefined };
      return memo.ownChildren;
    }
    if (node.contentReference) {
      if (memo.referencedChildren?.structure === structure) return memo.referencedChildren;
      const target = structure.byId.get(node.contentReference) ?? this.engine.structures.forType(node.contentReference.split('.')[0]!)?.byId.get(node.contentReference);
      if (target) return (memo.referencedChildren = { nodes: target.children, structure, shape: undefined });
    }
    if (!typeCode) return undefined;
    if (memo.lastType === typeCode) return memo.lastTypeChildren;
    const typeRef = typeRefOf(node, typeCode);
    if (!typeRef?.profiles.length) {
      memo.lastType = typeCode;
      return (memo.lastTypeChildren = this.typeChildren(node, typeCode));
    }
    const profiles = this.typeProfiles(node, typeRef);
    if (profiles.length === 1) {
      memo.lastType = typeCode;
      return (memo.lastTypeChildren = rootChildren(profiles[0]!));
    }
    if (profiles.length > 1) {
      // Several type profiles: the value must conform to one of them.
      const match = this.firstConforming(value, profiles, frame);
      if (match) return rootChildren(match);
      this.add('error', 'structure', 'type-profile-no-match', `Unable to find a match for the specified profile among choices: ${profiles.map((p) => p.url).join(', ')}`, path);
      // Show why each choice fails: the first through this walk, the others walked on their own.
      for (const other of profiles.slice(1)) {
        for (const issue of this.engine.issuesAgainst(value, other, frame)) {
          const at = issue.path.startsWith(other.type) ? path + issue.path.slice(other.type.length) : issue.path;
          this.add(issue.severity, issue.code, issue.messageId, issue.message, at);
        }
      }
      return rootChildren(profiles[0]!);
    }
    if (typeCode !== 'Extension') {
      this.add('error', 'not-found', 'type-profile-unknown', `Unknown profile ${typeRef.profiles.join(', ')}`, path);
    }
    return this.typeChildren(node, typeCode);
  }

  /** The known profiles an element holding a resource names in its types. */
  private resourceProfiles(node: ElementNode): CompiledStructure[] {
    return node.types.flatMap((t) => t.profiles).map((p) => this.engine.structures.get(p)).filter((s) => s !== undefined);
  }

  /** Apart from childrenOf: a closure there would make every call allocate its captured variables. */
  private firstConforming(value: unknown, profiles: CompiledStructure[], frame: ResourceFrame): CompiledStructure | undefined {
    return profiles.find((p) => this.engine.conforms(value, p, frame));
  }

  /** The known profiles of one of an element's types, looked up once per definition node and type. */
  private typeProfiles(node: ElementNode, typeRef: TypeRef): CompiledStructure[] {
    const byType = (node.memo.typeProfiles ??= new Map());
    let profiles = byType.get(typeRef.code);
    if (!profiles) {
      profiles = typeRef.profiles.map((p) => this.engine.structures.get(p)).filter((p) => p !== undefined);
      byType.set(typeRef.code, profiles);
    }
    return profiles;
  }

  /** The children of an element's own datatype, looked up once per definition node and type. */
  private typeChildren(node: ElementNode, typeCode: string): ChildContext | undefined {
    let byType = TYPE_CHILDREN.get(node);
    if (!byType) TYPE_CHILDREN.set(node, (byType = new Map()));
    let context = byType.get(typeCode);
    if (context === undefined) {
      const typeStructure = this.engine.structures.forType(typeCode);
      context = typeStructure ? { nodes: typeStructure.root.children, structure: typeStructure, shape: undefined } : null;
      byType.set(typeCode, context);
    }
    return context ?? undefined;
  }

  /** children() once per object, path and definitions: see walkedChildren. */
  private childrenOnce(walks: Map<object, ChildrenWalks>, obj: Record<string, unknown>, context: ChildContext, path: string, frame: ResourceFrame, isResourceRoot: boolean, host: Host): boolean {
    let earlier = walks.get(obj);
    if (earlier === undefined) walks.set(obj, (earlier = { atOnePlace: true, walks: [] }));
    for (const walk of earlier.walks) {
      // Met twice by one walk: the object is at two places (a value shared in a resource made in code), which only
      // their paths tell apart. Elsewhere an object's place, and so its path, is the same in every walk.
      if (walk.pass === this.pass) earlier.atOnePlace = false;
      if (isSameChildrenWalk(walk, context, frame, isResourceRoot, host) && (earlier.atOnePlace || (walk.path === path && walk.host.defPath === host.defPath))) {
        return walk.hasContent;
      }
    }
    const hasContent = this.children(obj, context, path, frame, isResourceRoot, host);
    earlier.walks.push({ nodes: context.nodes, structure: context.structure, path, frame, isResourceRoot, host, hasContent, pass: this.pass });
    return hasContent;
  }


  /**
   * Groups a JSON object's properties by definition, then checks cardinality, slicing and each value. Says whether
   * the object has a property besides id (what hasValueOrChildren would answer), found by the same key scan.
   */
  children(
    obj: Record<string, unknown>,
    context: ChildContext,
    path: string,
    frame: ResourceFrame,
    isResourceRoot: boolean,
    host: Host,
  ): boolean {
    // Per matched definition, in order of first appearance: its items, or the match of a plain element (see plainKind).
    // This object's groups are the walk's stacks from `base` on: nested calls use them above `end`, then give them back.
    const groups = this.groups;
    const groupNodes = groups.nodes;
    const groupItems = groups.items;
    const groupValues = groups.values;
    const base = groups.count;
    let end = base;
    // Kept on the context, read just before: a lookup by the node list would touch a table far away in memory.
    const shape = (context.shape ??= shapeOf(context.nodes));
    const structure = context.structure;
    // Most objects carry no _name companions: then no companion lookup (a missed keyed load) is needed.
    let hasCompanions = false;
    let hasContent = false;
    // The match of the previous property: its successor last time is likely this one's (see MatchLink).
    let link: MatchLink = shape;
    // The required children met, one bit each (see requiredBit).
    let present = 0;
    for (const key in obj) {
      if (key !== 'id') {
        hasContent = true;
        if (key.charCodeAt(0) === 95 /* _ */) hasCompanions = true;
      }
    }
    for (const key in obj) {
      // A _name companion is taken with its name; alone it is an element of its own.
      const isCompanion = key.charCodeAt(0) === 95; /* _ */
      if (isCompanion && UNDERSCORE_REMOVED.of(key) in obj) continue;
      if (isResourceRoot && key === 'resourceType') continue;
      if (key === UNREAD) continue;
      const name = isCompanion ? UNDERSCORE_REMOVED.of(key) : key;
      let match = link.nextName === name ? link.next : undefined;
      if (match === undefined) {
        match = matchChild(shape, name);
        if (match !== undefined) {
          link.nextName = name;
          link.next = match;
        }
      }
      if (match !== undefined) link = match;
      // Only primitives have a _name companion.
      if (!match || (name !== key && match.typeCode !== undefined && !PRIMITIVE_TYPES.has(match.typeCode))) {
        this.add('error', 'structure', 'unknown-element', `Unrecognized property '${key}'`, `${path}.${key}`);
        continue;
      }
      // Every property from here on is grouped under its node.
      present |= match.requiredBit;
      if (hasCompanions && match.typeCode !== undefined && !PRIMITIVE_TYPES.has(match.typeCode) && UNDERSCORED.of(name) in obj) {
        this.add('error', 'structure', 'unknown-element', `Unrecognized property '_${name}'`, `${path}._${name}`);
      }
      // obj[key] with the for-in's own key is a load by the enum cache's field index, not a keyed lookup.
      const value = isCompanion ? obj[name] : obj[key];
      if (match.plain !== undefined && !hasCompanions && isPlainValue(value, match.node.isArray)) {
        // Only choice elements can be matched by two names, and they are never plain.
        groupNodes[end] = match.node;
        groupValues[end] = value;
        groupItems[end++] = match;
        continue;
      }
      // Only choice elements can be matched by two names.
      const at = match.node.isChoice ? groupIndex(groupNodes, base, end, match.node) : -1;
      if (match.typeError) {
        // Present but of a type the profile excludes: one error, and it still counts as present.
        this.add('error', 'structure', 'choice-type-not-allowed', match.typeError, `${path}.${name}`);
        const skipped: Item = { value: undefined, companion: undefined, typeCode: undefined, path: `${path}.${name}`, key: name, index: 0, skip: true };
        if (at >= 0) (groupItems[at] as Item[]).push(skipped);
        else {
          groupNodes[end] = match.node;
          groupItems[end++] = [skipped];
        }
        continue;
      }
      const items = this.itemsOf(obj, name, value, hasCompanions, match.node, match.typeCode, path);
      if (at >= 0) {
        const list = groupItems[at] as Item[];
        this.add('error', 'structure', 'choice-multiple', `Only one type of ${match.node.name}[x] is allowed, found ${list[0]!.key} and ${name}`, `${path}.${name}`);
        list.push(...items);
      } else {
        groupNodes[end] = match.node;
        groupItems[end++] = items;
      }
    }
    // Present elements, then the absent ones that are required (directly or through a required slice).
    groups.count = end;
    for (let i = base; i < end; i++) {
      const items = groupItems[i]!;
      const node = groupNodes[i]!;
      if (Array.isArray(items)) this.group(items, node, structure, path, frame, host);
      else this.plainElement(groupValues[i], items, structure, path, frame, host);
    }
    const required = shape.required;
    const allRequired = shape.requiredMask;
    if (allRequired === -1) {
      for (const node of required) if (groupIndex(groupNodes, base, end, node) < 0) this.group([], node, structure, path, frame, host);
    } else if ((present & allRequired) !== allRequired) {
      for (let j = 0; j < required.length; j++) if ((present & (1 << j)) === 0) this.group([], required[j]!, structure, path, frame, host);
    }
    // Entries above the count are left in place: overwritten later.
    groups.count = base;
    return hasContent;
  }

  /**
   * A plain element (see plainKind) whose JSON is well formed: what group(), item() and, for a complex element, the
   * host of each item are for it, without per-item objects.
   */
  private plainElement(value: unknown, match: ChildMatch, structure: CompiledStructure, path: string, frame: ResourceFrame, host: Host): void {
    const node = match.node;
    // A plain element is never a choice: its JSON name is its name.
    const dotName = node.dotName;
    // The match is at hand (just read); the node's type list is further away in memory.
    const typeCode = match.typeCode!;
    const itemPath = path + dotName;
    const primitive = match.plain === 'primitive';
    // primitive() and complexElement() take names and types from the host, never its value: one host serves every item.
    const itemHost = primitive
      ? host
      : makeHost(host.defPath + dotName, host.typePath + dotName, typeCode, undefined, host.typeCode === 'Extension' ? host.extensionUrl : undefined);
    const isArray = Array.isArray(value);
    const count = isArray ? (value as unknown[]).length : 1;
    this.cardinality(count, node, structure, path);
    for (let i = 0; i < count; i++) {
      const item = isArray ? (value as unknown[])[i] : value;
      const at = isArray ? itemPath + indexSuffix(i) : itemPath;
      if (primitive) this.primitive(item, undefined, node, typeCode, at, frame, structure, host);
      else this.complexElement(item, node, typeCode, at, frame, structure, itemHost);
    }
  }

  private group(items: Item[], node: ElementNode, structure: CompiledStructure, path: string, frame: ResourceFrame, host: Host): void {
    if (node.slicing && node.slices.length > 0) {
      this.engine.slices.process(items, node, structure, path, frame, this, host);
    } else {
      this.cardinality(items.length, node, structure, path);
      for (const item of items) this.item(item, node, frame, structure, host);
    }
  }

  item(item: Item, node: ElementNode, frame: ResourceFrame, structure: CompiledStructure, host: Host): void {
    if (item.skip) return;
    if (item.typeCode === 'Extension') {
      this.extension(item, node, frame, structure, host);
      return;
    }
    const dotName = node.isChoice ? DOTTED.of(item.key) : node.dotName;
    const childHost = makeHost(
      host.defPath + dotName,
      host.typePath + dotName,
      item.typeCode ?? '',
      item.value,
      host.typeCode === 'Extension' ? host.extensionUrl : undefined,
    );
    if (item.typeCode && PRIMITIVE_TYPES.has(item.typeCode)) this.primitive(item.value, item.companion, node, item.typeCode, item.path, frame, structure, childHost);
    else this.complexElement(item.value, node, item.typeCode, item.path, frame, structure, childHost);
  }

  cardinality(count: number, node: ElementNode, structure: CompiledStructure, path: string, label?: string): void {
    // Named by element id, as the reference validator does: children of a slice read Parameters.parameter:param1.extension.
    // The id is read only for a message: it sits with the fields the walker seldom needs.
    if (count < node.min) {
      this.add('error', 'required', 'cardinality-min', `${label ?? node.id}: minimum required = ${node.min}, but only found ${count} (from ${structure.label})`, path);
    }
    if (count > node.max) {
      this.add('error', 'structure', 'cardinality-max', `${label ?? node.id}: max allowed = ${node.max}, but found ${count} (from ${structure.label})`, path);
    }
  }

  /** Pairs value and _value arrays into items, checking the JSON shape on the way. */
  private itemsOf(obj: Record<string, unknown>, name: string, value: unknown, hasCompanions: boolean, node: ElementNode, typeCode: string | undefined, path: string): Item[] {
    const companion = hasCompanions ? obj[UNDERSCORED.of(name)] : undefined;
    // Only a choice element is named otherwise than its definition.
    const itemPath = path + (node.isChoice ? DOTTED.of(name) : node.dotName);
    const items: Item[] = [];
    if (node.isArray) {
      if ((value !== undefined && !Array.isArray(value)) || (companion !== undefined && !Array.isArray(companion))) {
        this.add('error', 'structure', 'json-array-expected', `The property ${name} must be a JSON Array, not a ${describeJson(Array.isArray(value) ? companion : value)} (at ${path})`, itemPath);
        if (value !== undefined && !Array.isArray(value)) items.push({ value, companion: undefined, typeCode, path: itemPath, key: name, index: 0 });
        return items;
      }
      const values = (value as unknown[] | undefined) ?? [];
      const companions = (companion as unknown[] | undefined) ?? [];
      if ((value !== undefined && values.length === 0) || (companion !== undefined && companions.length === 0)) {
        this.add('error', 'structure', 'json-array-empty', 'Array cannot be empty - the property should not be present if it has no values', itemPath);
      }
      const length = Math.max(values.length, companions.length);
      for (let i = 0; i < length; i++) {
        const v = values[i] ?? undefined;
        const c = companions[i] ?? undefined;
        if (v === undefined && c === undefined) {
          this.add('error', 'structure', 'json-null', 'Null values are not allowed in arrays unless paired with a _ value', `${itemPath}[${i}]`);
          continue;
        }
        items.push({ value: v === null ? undefined : v, companion: c, typeCode, path: itemPath + indexSuffix(i), key: name, index: i });
      }
      return items;
    }
    if (Array.isArray(value) || Array.isArray(companion)) {
      this.add('error', 'structure', 'json-array-unexpected', `The property ${name} must be a JSON ${PRIMITIVE_TYPES.has(typeCode ?? '') ? 'primitive' : 'Object'}, not an Array (at ${path})`, itemPath);
      const first = Array.isArray(value) ? value[0] : value;
      if (first !== undefined) items.push({ value: first, companion: undefined, typeCode, path: itemPath, key: name, index: 0 });
      return items;
    }
    if (value === null) {
      this.add('error', 'structure', 'json-null', 'Null values are not allowed', itemPath);
      return items;
    }
    items.push({ value, companion, typeCode, path: itemPath, key: name, index: 0 });
    return items;
  }

  primitive(
    value: unknown,
    companion: unknown,
    node: ElementNode,
    typeCode: string,
    path: string,
    frame: ResourceFrame,
    structure: CompiledStructure,
    host: Host,
  ): void {
    if (value !== undefined) {
      const problems = checkPrimitive(typeCode, value);
      if (problems) for (const p of problems) this.add(p.severity ?? 'error', 'invalid', p.messageId, p.message, path);
      else if (typeof value === 'number' && this.numberTexts?.has(path) && INTEGER_TYPES.has(typeCode) && /[.eE]/.test(this.numberTexts.get(path)!)) {
        this.add('error', 'invalid', 'primitive-integer-text', `The value '${this.numberTexts.get(path)!}' is not a valid integer`, path);
      } else {
        if (typeof value === 'string') this.primitiveText(value, node, typeCode, path);
        // The type first: most values are not uris, and the flag sits far into the node.
        if (typeCode === 'uri' && node.definesCanonicalUrl && typeof value === 'string' && !isAbsoluteUrl(value)) {
          const problem = canonicalNotAbsolute(value, frame.container !== undefined);
          this.add('error', 'invalid', problem.messageId, problem.message, path);
        }
        if (this.forbidsExampleUrls && typeof value === 'string' && URL_TYPES.has(typeCode)) this.checkExampleUrl(value, node, typeCode, path);
        // A uri that is a fragment ('#x', as servers stamp meta.source) must name something in the resource.
        if ((typeCode === 'uri' || typeCode === 'url') && typeof value === 'string' && value.length > 1 && value.charCodeAt(0) === 35 /* # */) {
          if (!fragmentTargets((frame.container ?? frame).resource).has(value.slice(1))) this.add('error', 'invalid', 'url-fragment-unresolved', `URL value '${value}' does not resolve`, path);
        }
        if (node.hasValueRules) this.checkValueRules(value, node, typeCode, path, structure, frame);
        this.engine.bindings.checkPrimitive(value, node, typeCode, path, this);
      }
    }
    if (companion !== undefined) {
      if (!isObject(companion)) {
        this.add('error', 'structure', 'json-object-expected', `The property _${node.name} must be a JSON Object`, path);
      } else {
        const typeStructure = this.engine.structures.forType(typeCode);
        if (typeStructure) this.children(companion, companionChildren(typeStructure), path, frame, false, host);
      }
    }
    const hasExtension = isObject(companion) && Array.isArray(companion.extension) && companion.extension.length > 0;
    if (value === undefined && !hasExtension) {
      this.add('error', 'invariant', 'ele-1', `Constraint failed: ele-1: 'All FHIR elements must have a @value or children'`, path);
      // An id is a child to the reference's primitive check, though not to ele-1 (children() beyond the id).
      if (!isObject(companion) || companion.id === undefined) {
        this.add('error', 'structure', 'primitive-no-value', 'Primitive types must have a value or must have child extensions', path);
      }
    } else if (value === undefined && node.binding?.strength === 'required') {
      // Only extensions (a data-absent-reason, say) where the value set requires a code, which the reference rejects.
      this.add('error', 'code-invalid', 'binding-required-no-code', 'No code provided, and a code is required from the value set', path);
    }
    if (node.constraintsBeyondEle1 && value !== undefined) {
      this.checkConstraints(value, node, path, frame, node.path, true);
    }
  }

  /**
   * Where example URLs are not allowed, a uri, url, oid or canonical naming one is an error, as the reference's
   * validateReference has it: not a resource's own canonical url, a Bundle entry's fullUrl or an extension's url
   * (checked with the extension), nor a canonical of something loaded here.
   */
  private checkExampleUrl(value: string, node: ElementNode, typeCode: string, path: string): void {
    if (!isReferenceExampleUrl(value) || node.definesCanonicalUrl || path.endsWith('.fullUrl') || node.path === 'Extension.url' || node.path.endsWith('.extension.url')) return;
    if (typeCode === 'canonical' && this.engine.structures.get(value)) return;
    this.add('error', 'invalid', 'url-example', `Example URLs are not allowed in this context (${value})`, path);
  }

  private primitiveText(value: string, node: ElementNode, typeCode: string, path: string): void {
    // As the reference: 0 sets no limit, a blank value is not measured, and only these types are.
    if (node.maxLength && value.length > node.maxLength && MAX_LENGTH_TYPES.has(typeCode) && value.trim() !== '') {
      this.add('error', 'invalid', 'max-length', `value is longer than permitted maximum length of ${node.maxLength}`, path);
    }
    // xhtml is checked at the Narrative, where the resource's ids are known.
    if (typeCode === 'markdown') this.addAll(checkMarkdown(value, path));
    else if (typeCode === 'string') this.addAll(checkStringSecurity(value, path, this.engine.options.securityChecks));
  }

  checkValueRules(value: unknown, node: ElementNode, typeCode: string | undefined, path: string, structure: CompiledStructure, frame: ResourceFrame): void {
    if (node.isElementId && typeof value === 'string') this.checkElementId(value, path, frame);
    if (node.limits !== undefined && typeCode !== undefined) this.checkLimits(value, node.limits, typeCode, path);
    // An equal primitive (Extension.url on every extension) has no differences: no call, no empty list.
    if (node.fixed && node.fixed.value !== value) {
      for (const d of fixedDifferences(value, node.fixed.value, path, structure.label)) this.add('error', 'value', d.messageId, d.message, d.path);
    }
    if (node.pattern && !matchesPattern(value, node.pattern.value)) {
      this.add('error', 'value', 'pattern-value', `The value ${describeValue(value)} does not match the pattern ${describeValue(node.pattern.value)} required by ${node.path} (from ${structure.label})`, path);
    }
    if (node.minValue && compareToBound(value, node.minValue.value, node.minValue.key) < 0) {
      this.add('error', 'value', 'min-value', `The value in the instance (${describeBound(value)}) is less than the specified minimum value (${describeBound(node.minValue.value)})`, path);
    }
    if (node.maxValue && compareToBound(value, node.maxValue.value, node.maxValue.key) > 0) {
      this.add('error', 'value', 'max-value', `The value in the instance (${describeBound(value)}) is greater than the specified maximum value (${describeBound(node.maxValue.value)})`, path);
    }
  }

  private checkLimits(value: unknown, limits: ElementLimits, typeCode: string, path: string): void {
    const problems =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? primitiveLimitProblems(value, typeCode, limits, this.numberTexts?.get(path))
        : isObject(value)
          ? complexLimitProblems(value, typeCode, limits, this.numberTexts?.get(`${path}.value`))
          : [];
    for (const p of problems) this.add(p.severity, p.code, p.messageId, p.message, path);
  }

  checkConstraints(value: unknown, node: ElementNode, path: string, frame: ResourceFrame, basePath: string, primitive = false, alreadyChecked?: ElementNode): void {
    const constraints = primitive ? primitiveConstraints(node) : alreadyChecked ? constraintsBeyond(node, alreadyChecked) : node.constraints;
    const scope = this.scope;
    // Set up on the first constraint that needs evaluating: many lists hold only ones that cannot fail here.
    let ready = false;
    for (let i = 0; i < constraints.length; i++) {
      const constraint = constraints[i]!;
      const passes = constraint.passes;
      if (passes !== 'never' && passesUnevaluated(passes, value)) continue;
      const bestPractice = constraint.bestPractice ? this.engine.options.bestPractice : undefined;
      if (bestPractice === 'ignore') continue;
      if (!ready) {
        scope.node = value;
        scope.basePath = basePath;
        scope.resource = frame.resource;
        scope.rootResource = (frame.container ?? frame).resource;
        scope.frame = frame;
        ready = true;
      }
      const result = this.engine.invariants.evaluate(constraint, scope);
      if (result.ok) continue;
      if (result.evaluationError) {
        this.add('warning', 'processing', 'invariant-evaluation-failed', `Unable to evaluate constraint ${constraint.key} (${constraint.expression}): ${result.evaluationError}`, path);
        continue;
      }
      this.add(bestPractice ?? constraint.severity, 'invariant', constraint.messageId, constraint.failure, path);
    }
  }

  private extension(item: Item, node: ElementNode, frame: ResourceFrame, structure: CompiledStructure, host: Host): void {
    const ext = item.value;
    if (!isObject(ext)) {
      this.complexElement(ext, node, 'Extension', item.path, frame, structure, host);
      return;
    }
    const url = ext.url;
    let definition: CompiledStructure | undefined;
    if (typeof url !== 'string') {
      this.add('error', 'structure', 'extension-url-missing', 'Extension.url is required in order to identify, use and validate the extension', item.path);
    } else {
      const absolute = hasScheme(url);
      // Inside a complex extension, the parts are named by relative urls.
      if (!absolute && !host.extensionUrl) {
        this.add('error', 'structure', 'extension-url-relative', 'Extension.url must be an absolute URL', item.path);
      }
      const typeRef = typeRefOf(node, 'Extension');
      if (typeRef) for (const candidate of this.typeProfiles(node, typeRef)) if (candidate.url === url) definition = candidate;
      definition ??= this.engine.structures.get(url);
      const bar = definition ? -1 : url.indexOf('|');
      if (bar > 0 && (definition = this.engine.structures.get(url.slice(0, bar)))) {
        // Known by its url without the version: validated against that definition, as the reference does.
        this.add('error', 'structure', 'extension-url-versioned',
          `The extension URL must not contain a version. The extension was validated against version ${definition.version ?? ''} of the extension`, item.path);
      }
      if (!definition && absolute) {
        // Example URLs where examples are not allowed are errors; other unknown ones as the reference judges them.
        if (isExampleUrl(url) && !this.engine.options.allowExampleUrls) {
          this.add('error', 'business-rule', 'extension-example-url', `Example URLs are not allowed in this context (${url})`, item.path);
          this.add('error', 'structure', 'extension-unknown', `The extension ${url} could not be found so is not allowed here`, item.path);
        } else {
          const standing = unresolvedExtensionStanding(url, this.engine.options);
          if (standing === 'not-allowed') {
            this.add('error', 'structure', 'extension-unknown', `The extension ${url} could not be found so is not allowed here`, item.path);
          } else if (standing === 'allowed') {
            this.add('information', 'structure', 'extension-unknown', `The extension ${url} is unknown, and not allowed here`, item.path);
          }
        }
      }
    }
    if (definition) {
      checkExtensionContext(definition, item.path, host, node.name === 'modifierExtension', this, frame);
      checkExtensionValue(definition, ext, item.path, this);
      // A slice that constrains the extension inline (value[x].start 1..1) carries the whole definition in its snapshot.
      const inline = node.sliceName !== undefined && node.children.length > 0;
      this.complexElement(ext, inline ? node : definition.root, 'Extension', item.path, frame, inline ? structure : definition, makeHost(host.defPath, host.typePath, host.typeCode, host.value, definition.url));
    } else {
      this.complexElement(ext, node, 'Extension', item.path, frame, structure, host);
    }
  }

  addAll(issues: readonly Issue[]): void {
    for (let i = 0; i < issues.length; i++) {
      const issue = issues[i]!;
      this.add(issue.severity, issue.code, issue.messageId, issue.message, issue.path);
    }
  }
}

/**
 * The property that followed a matched one last time, with its match. Objects of one type mostly list their
 * properties in one order: comparing two internalized names is cheaper than a Map lookup.
 */
interface MatchLink {
  nextName: string | undefined;
  next: ChildMatch | undefined;
}

export interface Shape extends MatchLink {
  byName: Map<string, ElementNode>;
  choices: ElementNode[];
  /** Children whose absence is an error: min > 0, or sliced with a required slice. */
  required: ElementNode[];
  /** One bit per required child; -1 when they are too many for bits (then found by a scan). */
  requiredMask: number;
  /** Property name → its definition and type, for the names met so far (choice names included). */
  matches: Map<string, ChildMatch>;
}

interface ChildMatch extends MatchLink {
  node: ElementNode;
  typeCode: string | undefined;
  typeError: string | undefined;
  /** See plainKind. */
  plain: 'primitive' | 'complex' | undefined;
  /** The node's bit in its shape's requiredMask, or 0. */
  requiredBit: number;
}

/**
 * An element of one type that is neither sliced nor a choice nor an extension: its items need no grouping
 * or item objects, and a primitive's no host either.
 */
function plainKind(node: ElementNode): 'primitive' | 'complex' | undefined {
  if (node.isChoice || (node.slicing && node.slices.length > 0) || node.types.length !== 1) return undefined;
  const code = node.types[0]!.code;
  if (PRIMITIVE_TYPES.has(code)) return 'primitive';
  return code === 'Extension' ? undefined : 'complex';
}

/** Whether itemsOf() would find nothing wrong with the JSON shape: no nulls, and an array exactly where one is expected. */
function isPlainValue(value: unknown, isArray: boolean): boolean {
  if (!isArray) return value !== null && value !== undefined && !Array.isArray(value);
  if (!Array.isArray(value) || value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (value[i] === null || value[i] === undefined) return false;
  return true;
}

/** The definition of a JSON property: a direct child, or a choice element with its type from the name's suffix. */
function matchChild(shape: Shape, name: string): ChildMatch | undefined {
  const known = shape.matches.get(name);
  if (known) return known;
  const direct = shape.byName.get(name);
  if (direct && !direct.isChoice) return remember(shape, name, newMatch(shape, direct, direct.types[0]?.code, undefined, plainKind(direct)));
  for (const node of shape.choices) {
    if (!name.startsWith(node.name) || name.length === node.name.length) continue;
    const suffix = name.slice(node.name.length);
    const type = node.types.find((t) => capitalize(t.code) === suffix);
    if (type) return remember(shape, name, newMatch(shape, node, type.code, undefined, undefined));
    if (/^[A-Z]/.test(suffix)) {
      const allowed = node.types.map((t) => t.code).join(', ');
      return newMatch(shape, node, undefined, `The type '${suffix}' is not valid for ${node.path} (allowed: ${allowed})`, undefined);
    }
  }
  return undefined;
}

/** Every match is made here, with its properties in one order: one hidden class where matches are read. */
function newMatch(shape: Shape, node: ElementNode, typeCode: string | undefined, typeError: string | undefined, plain: ChildMatch['plain']): ChildMatch {
  const j = shape.requiredMask === -1 ? -1 : shape.required.indexOf(node);
  return { nextName: undefined, next: undefined, node, typeCode, typeError, plain, requiredBit: j < 0 ? 0 : 1 << j };
}

/** Only names that match a definition are kept, so bad input cannot grow the map. */
function remember(shape: Shape, name: string, match: ChildMatch): ChildMatch {
  shape.matches.set(name, match);
  return match;
}

const SHAPES = new WeakMap<ElementNode[], Shape>();

const MATCHETYPE_EXTENSION = 'http://hl7.org/fhir/tools/StructureDefinition/matchetype';

const INTEGER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt', 'integer64']);
const URL_TYPES = new Set(['uri', 'url', 'oid', 'canonical']);

/** An example URL as the reference's isExampleUrl reads it: by substring, not by host. */
function isReferenceExampleUrl(url: string): boolean {
  return (
    /(example\.org|acme\.com|acme\.org|example\.com|example\.net)(\/|$)/.test(url) || url.startsWith('urn:oid:1.3.6.1.4.1.32473.') || url.startsWith('urn:oid:2.999.')
  );
}

/** The types whose values the reference holds to ElementDefinition.maxLength. */
const MAX_LENGTH_TYPES = new Set(['uri', 'oid', 'uuid', 'url', 'canonical', 'string', 'dateTime', 'date', 'code']);

/** The same list every time, so that its shape (shapeOf) is made once. */
function companionChildren(typeStructure: CompiledStructure): ChildContext {
  const root = typeStructure.root;
  return (root.memo.companionChildren ??= { nodes: root.children.filter((c) => c.name !== 'value'), structure: typeStructure, shape: undefined });
}

/** Whether a constraint that may pass unevaluated (see ConstraintPass) does so on this value: what its native code would answer. */
function passesUnevaluated(passes: ConstraintPass, value: unknown): boolean {
  if (passes === 'always') return true;
  if (passes === 'with-content') return hasValueOrChildren(value);
  return typeof value === 'object' && value !== null && (value as { contained?: unknown }).contained === undefined;
}

/** A primitive's value is there when its constraints run: ele-1 is checked in primitive(). */
function primitiveConstraints(node: ElementNode): Constraint[] {
  return (node.memo.primitiveConstraints ??= node.constraints.filter((c) => c.key !== 'ele-1'));
}

/** A datatype root's constraints that the element's own definition did not already check, remembered per datatype. */
function constraintsBeyond(typeRoot: ElementNode, checked: ElementNode): Constraint[] {
  const byRoot = (checked.memo.constraintsBeyond ??= new Map());
  let constraints = byRoot.get(typeRoot);
  if (!constraints) {
    constraints = typeRoot.constraints.filter((c) => !checked.constraints.some((k) => k.key === c.key));
    byRoot.set(typeRoot, constraints);
  }
  return constraints;
}

/** A structure's top-level children, as one context object per structure. */
function rootChildren(structure: CompiledStructure): ChildContext {
  const memo = structure.root.memo;
  if (memo.ownChildren?.structure !== structure) memo.ownChildren = { nodes: structure.root.children, structure, shape: undefined };
  return memo.ownChildren;
}

/** What the walker needs to know of a list of child definitions, computed once per list. */
function shapeOf(nodes: ElementNode[]): Shape {
  let shape = SHAPES.get(nodes);
  if (!shape) {
    const required = nodes.filter((n) => n.min > 0 || n.slices.some((slice) => slice.min > 0));
    shape = {
      byName: new Map(nodes.map((n) => [n.name, n])),
      choices: nodes.filter((n) => n.isChoice),
      required,
      requiredMask: required.length <= 30 ? (1 << required.length) - 1 : -1,
      matches: new Map(),
      nextName: undefined,
      next: undefined,
    };
    SHAPES.set(nodes, shape);
  }
  return shape;
}

/** Element names are few; unknown properties in bad input must not grow the caches without end. */
const MAX_CACHED_NAMES = 20_000;

/** Strings derived from JSON keys (`_name`, `.name`), made once per key: building one per lookup costs a new string and its hash every time. */
class DerivedNames {
  private readonly made = new Map<string, string>();
  constructor(private readonly derive: (name: string) => string) {}

  of(name: string): string {
    let derived = this.made.get(name);
    if (derived === undefined) {
      derived = this.derive(name);
      if (this.made.size < MAX_CACHED_NAMES) this.made.set(name, derived);
    }
    return derived;
  }
}

const UNDERSCORED = new DerivedNames((name) => `_${name}`);
const UNDERSCORE_REMOVED = new DerivedNames((key) => key.slice(1));
/** For paths. */
const DOTTED = new DerivedNames((name) => `.${name}`);

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'Array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'Object';
  return `primitive (${typeof value})`;
}

/** What a narrative's `#x` link may name (the reference's countTargetMatches): an id of any element, or an anchor (id, a name) of any narrative. */
function fragmentTargets(resource: Record<string, unknown>): Set<string> {
  const ids = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const v of value) visit(v);
    else if (isObject(value)) {
      if (typeof value.id === 'string') ids.add(value.id);
      if (typeof value.div === 'string') for (const anchor of value.div.matchAll(NARRATIVE_ANCHOR)) ids.add(anchor[1] ?? anchor[2]!);
      for (const key in value) visit(value[key]);
    }
  };
  visit(resource);
  return ids;
}

/** An id attribute, or the name of an a element, in XHTML. */
const NARRATIVE_ANCHOR = /\sid\s*=\s*["']([^"']*)["']|<a\s[^>]*?\bname\s*=\s*["']([^"']*)["']/g;
const BUNDLE_FRAGMENT_TARGETS = new WeakMap<object, Set<string>>();

/** A Bundle's fragment targets, worked out once: the reference looks there for what a resource's own narrative links lack. */
function bundleFragmentTargets(bundle: Record<string, unknown>): Set<string> {
  let targets = BUNDLE_FRAGMENT_TARGETS.get(bundle);
  if (!targets) BUNDLE_FRAGMENT_TARGETS.set(bundle, (targets = fragmentTargets(bundle)));
  return targets;
}

const INDEX_SUFFIXES = Array.from({ length: 64 }, (_, i) => `[${i}]`);

/** `[i]` for a path: made once for the usual indexes, as building it costs three strings. */
function indexSuffix(i: number): string {
  return i < INDEX_SUFFIXES.length ? INDEX_SUFFIXES[i]! : `[${i}]`;
}

const NO_PROFILES: readonly string[] = Object.freeze([]);

/** /^[a-zA-Z][a-zA-Z0-9+.-]*:/ (a URI scheme) by character codes: a regex call per extension costs more than the scan. */
function hasScheme(url: string): boolean {
  if (!isAsciiLetter(url.charCodeAt(0))) return false;
  for (let i = 1; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 58 /* : */) return true;
    if (!(isAsciiLetter(c) || (c >= 48 && c <= 57) || c === 43 /* + */ || c === 45 /* - */ || c === 46) /* . */) return false;
  }
  return false;
}

function isAsciiLetter(c: number): boolean {
  // Setting bit 5 folds A-Z onto a-z, and only those.
  const lower = c | 32;
  return lower >= 97 && lower <= 122;
}

function addDistinct(values: unknown[], value: unknown): void {
  if (!values.includes(value)) values.push(value);
}

function applicableProfiles(profiles: CompiledStructure[], resourceType: unknown): string[] {
  return profiles.filter((s) => s.type === resourceType).map((s) => s.url);
}

function groupIndex(groupNodes: ElementNode[], from: number, to: number, node: ElementNode): number {
  for (let i = from; i < to; i++) if (groupNodes[i] === node) return i;
  return -1;
}

function typeRefOf(node: ElementNode, code: string): TypeRef | undefined {
  for (const type of node.types) if (type.code === code) return type;
  return undefined;
}

function sameIssueIn(issues: Issue[], severity: Severity, messageId: string, message: string, path: string): boolean {
  for (let k = 0; k < issues.length; k++) {
    const i = issues[k]!;
    if (i.messageId === messageId && i.severity === severity && i.path === path && i.message === message) return true;
  }
  return false;
}

function indexByPath(byPath: Map<string, Issue[]>, issue: Issue): void {
  const atPath = byPath.get(issue.path);
  if (atPath) atPath.push(issue);
  else byPath.set(issue.path, [issue]);
}

/** One walk of an object's children: what the walk read besides the object, and its answer. */
interface ChildrenWalk {
  nodes: readonly ElementNode[];
  structure: CompiledStructure;
  path: string;
  frame: ResourceFrame;
  isResourceRoot: boolean;
  host: Host;
  hasContent: boolean;
  pass: number;
}

/** The walks of one object's children; `atOnePlace` until one walk meets it twice. */
interface ChildrenWalks {
  atOnePlace: boolean;
  walks: ChildrenWalk[];
}

/** The same definitions, resource and host but for the paths (see childrenOnce). */
function isSameChildrenWalk(walk: ChildrenWalk, context: ChildContext, frame: ResourceFrame, isResourceRoot: boolean, host: Host): boolean {
  const h = walk.host;
  return walk.nodes === context.nodes && walk.structure === context.structure && walk.frame === frame && walk.isResourceRoot === isResourceRoot &&
    h.value === host.value && h.typeCode === host.typeCode && h.typePath === host.typePath && h.extensionUrl === host.extensionUrl;
}

/** Every host is made here, with its properties in one order: one hidden class wherever hosts are read. */
export function makeHost(defPath: string, typePath: string, typeCode: string, value: unknown, extensionUrl: string | undefined): Host {
  return { defPath, typePath, typeCode, value, extensionUrl };
}

/**
 * Every frame is made here, with its properties in one order and none added later: the walk reads frames at every
 * invariant, and frames of several hidden classes made those loads megamorphic.
 */
/**
 * The frame of a resource asked about from a walk of something around it (a slice's profile, a reference's target):
 * a contained resource keeps its container, a Bundle entry its fullUrl, so that its references resolve as in the walk.
 */
function resourceFrame(res: Record<string, unknown>, around: ResourceFrame | undefined): ResourceFrame {
  const path = String(res.resourceType);
  if (!around) return makeFrame(res, path);
  if (around.resource === res) return around;
  const contained = Array.isArray(around.resource.contained) && around.resource.contained.includes(res);
  const frame = contained ? makeFrame(res, path, around, around.bundle, around.fullUrl) : makeFrame(res, path, undefined, around.bundle, around.bundle?.fullUrlOfEntry(res));
  if (res.resourceType === 'Bundle') frame.bundle = indexBundle(res, path);
  return frame;
}

export function makeFrame(resource: Record<string, unknown>, path: string, container?: ResourceFrame, bundle?: BundleIndex, fullUrl?: string): ResourceFrame {
  return { resource, path, container, bundle, fullUrl, resolveReference: undefined, conformsTo: undefined, elementIds: undefined, snapshotElementIds: undefined };
}

/** A walk's frame before its first invariant: never read. */
const NO_FRAME: ResourceFrame = Object.freeze(makeFrame(Object.freeze({}), ''));

/**
 * The invariant scope of a walk. resolve() and conformsTo() are made per frame only when an invariant asks for them:
 * generated and native invariants never do.
 */
class WalkScope implements InvariantScope {
  node: unknown = undefined;
  basePath = '';
  resource: unknown = undefined;
  rootResource: unknown = undefined;
  frame: ResourceFrame = NO_FRAME;
  readonly memberOf: MemberOf;

  constructor(private readonly engine: Engine) {
    this.memberOf = engine.memberOf;
  }

  get resolveReference(): (reference: string) => unknown {
    return frameResolver(this.frame);
  }

  get conformsTo(): (value: unknown, url: string) => boolean {
    const frame = this.frame;
    const engine = this.engine;
    return (frame.conformsTo ??= (candidate, url) => engine.conformsToProfile(candidate, url, frame));
  }
}

/** One resolve() function per frame, not one per invariant evaluation (held on the frame: a WeakMap costs the GC more). */
function frameResolver(frame: ResourceFrame): (reference: string) => unknown {
  return (frame.resolveReference ??= (reference) => resolveInFrame(reference, frame));
}

/** resolve() for invariants: contained resources first, then the Bundle. */
export function resolveInFrame(reference: string, frame: ResourceFrame): unknown {
  if (reference.startsWith('#')) {
    const owner = frame.container ?? frame;
    if (reference === '#') return owner.resource;
    const contained = owner.resource.contained as Array<Record<string, unknown>> | undefined;
    return contained?.find((c) => `#${String(c.id)}` === reference);
  }
  return frame.bundle?.resolve(reference, frame.fullUrl)?.resource;
}

export type { Item, Host };
