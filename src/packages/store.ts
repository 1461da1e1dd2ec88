import { isDeepStrictEqual } from 'node:util';
import type { CanonicalResource, ConformanceResolver, FhirResource, ResourceOrigin } from './types.js';
import { compareVersions, versionMatches } from './version.js';

/** The same url|version loaded twice with different content; the first one loaded is kept. */
export interface ConformanceConflict {
  url: string;
  /** '' when the resources carry no version. */
  version: string;
  resourceType: string;
  /** Origin of the kept resource first, then of each rejected one. */
  origins: ResourceOrigin[];
}

export type AddResult = 'added' | 'duplicate' | 'conflict';

export interface ConformanceStoreOptions {
  /** Consulted after this store; shared and never modified (e.g. the R4 core from loadR4Core()). */
  parent?: ConformanceStore;
}

/**
 * The few fields of a resource that queries over all resources of a type need, so that they can be
 * answered from a cache index without parsing every resource (see {@link ConformanceStore.summaries}).
 * Always: resourceType, id, url, version, name (when present); plus {@link SUMMARY_FIELDS} by type.
 */
export interface ResourceSummary {
  resourceType: string;
  id?: string;
  url?: string;
  version?: string;
  name?: string;
  [field: string]: unknown;
}

/** Extra summary fields per resource type (all optional, copied as they are in the resource). */
export const SUMMARY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  StructureDefinition: ['kind', 'derivation', 'type', 'baseDefinition', 'abstract', 'fhirVersion'],
  CodeSystem: ['valueSet', 'content'],
  ImplementationGuide: ['packageId', 'global'],
};
const COMMON_FIELDS = ['resourceType', 'id', 'url', 'version', 'name'];

/** The summary of a resource: a small plain object with the fields above that it has. */
export function summarize(resource: FhirResource): ResourceSummary {
  const summary: Record<string, unknown> = {};
  for (const field of [...COMMON_FIELDS, ...(SUMMARY_FIELDS[resource.resourceType] ?? [])]) {
    if (resource[field] !== undefined) summary[field] = resource[field];
  }
  return summary as ResourceSummary;
}

/** Whether a resource loaded later wins over one loaded before at the same url (version-less lookups). */
function supersedes(later: Entry, earlier: Entry): boolean {
  // HL7's terminology (THO) is where the core's code systems and value sets now live: the reference drops the core's
  // copy of what a hl7.terminology package defines, whatever the versions say (THO's are numbered anew, below 4.0.1).
  const laterFromTerminology = isTerminologyPackage(later.origin.packageId);
  if (laterFromTerminology !== isTerminologyPackage(earlier.origin.packageId)) {
    if (laterFromTerminology && isCorePackage(earlier.origin.packageId)) return true;
    if (!laterFromTerminology && isCorePackage(later.origin.packageId)) return false;
  }
  // Otherwise the newest version, and of equal versions the first loaded.
  return compareVersions(later.summary.version, earlier.summary.version) > 0;
}

function isTerminologyPackage(packageId: string | undefined): boolean {
  return packageId?.startsWith('hl7.terminology') ?? false;
}

/** The specification's own packages (hl7.fhir.r4.core#4.0.1, ...). */
function isCorePackage(packageId: string | undefined): boolean {
  return /^hl7\.fhir\.r[0-9]+b?\.core#/.test(packageId ?? '');
}

/** A resource known by its summary and parsed on first use (e.g. from a cache index). */
export interface LazyResource {
  summary: ResourceSummary;
  /** Parses the resource; called at most once per store. */
  load(): FhirResource;
  /** Digest of the resource's JSON: equal digests let duplicates be recognised without parsing. */
  digest?: string;
}

/** One held resource: parsed already (`resource`) or on first use (`lazy`). */
interface Entry {
  /** The store holding the entry, whose origins map records the parsed resource. */
  owner: ConformanceStore;
  summary: ResourceSummary;
  origin: ResourceOrigin;
  resource?: FhirResource;
  lazy?: LazyResource;
}

/**
 * In-memory index of conformance resources: O(1) lookups by canonical, canonical|version, and
 * resourceType/id. A store with a parent sees the parent's resources too, so many stores share one core.
 * Resources may be added parsed ({@link add}) or lazily ({@link addLazy}); lookups index summaries only.
 */
export class ConformanceStore implements ConformanceResolver {
  readonly parent: ConformanceStore | undefined;
  /** url → every version (all resource types), in load order; one or a few entries each. */
  private readonly byUrl = new Map<string, Entry[]>();
  /** `resourceType/id` → first entry; built on first use, as few callers need it. */
  private byTypeId: Map<string, Entry> | undefined;
  private readonly byType = new Map<string, Entry[]>();
  private readonly origins = new WeakMap<object, ResourceOrigin>();
  private readonly conflictList: ConformanceConflict[] = [];
  private readonly conflictByKey = new Map<string, ConformanceConflict>();
  /** all(type) including the parent's, built on first use after a change. */
  private readonly allCache = new Map<string, FhirResource[]>();
  private sealed = false;
  private count = 0;

  constructor(options: ConformanceStoreOptions = {}) {
    this.parent = options.parent;
  }

  /** Number of resources held by this store (not counting the parent). */
  get size(): number {
    return this.count;
  }

  /** Makes the store read-only; used for the shared core. */
  seal(): this {
    this.sealed = true;
    return this;
  }

  add(resource: FhirResource, origin: ResourceOrigin = {}): AddResult {
    return this.insert({ owner: this, summary: resource as ResourceSummary, origin, resource });
  }

  /** Adds a resource that is parsed on first use; same rules as {@link add}. */
  addLazy(lazy: LazyResource, origin: ResourceOrigin = {}): AddResult {
    return this.insert({ owner: this, summary: lazy.summary, origin, lazy });
  }

  resolve<T extends CanonicalResource = CanonicalResource>(canonical: string, resourceType?: string): T | undefined {
    // Canonicals read from instances arrive unchecked: a value of another JSON type (reported there) names nothing.
    if (typeof canonical !== 'string') return undefined;
    const bar = canonical.indexOf('|');
    let entry: Entry | undefined;
    if (bar < 0) entry = this.newestOf(canonical, resourceType);
    else {
      const url = canonical.slice(0, bar);
      const version = canonical.slice(bar + 1);
      entry = this.exact(url, version, resourceType) ?? this.partial(url, version, resourceType);
    }
    return entry && (this.materialize(entry) as T);
  }

  /** Every resource of a type, parent's first, in load order; parses lazily added ones. */
  all<T extends CanonicalResource = CanonicalResource>(resourceType: string): T[] {
    let list = this.allCache.get(resourceType);
    if (!list) {
      const own = (this.byType.get(resourceType) ?? []).map((e) => this.materialize(e));
      list = this.parent ? [...this.parent.all(resourceType), ...own] : own;
      this.allCache.set(resourceType, list);
    }
    return list as T[];
  }

  /**
   * Summaries of every resource of a type, in the order of {@link all}, without parsing lazily added
   * resources: for queries such as "which StructureDefinitions define resource types". The objects
   * carry at least the fields of {@link ResourceSummary}; for resources added parsed ({@link add}) they
   * are the resources themselves. A new array each call.
   */
  summaries<T extends ResourceSummary = ResourceSummary>(resourceType: string): T[] {
    const own = (this.byType.get(resourceType) ?? []).map((e) => (e.lazy ? e.summary : e.resource!));
    return (this.parent ? [...this.parent.summaries(resourceType), ...own] : own) as T[];
  }

  /** A resource by `resourceType` and `id` (first loaded wins). */
  byId<T extends FhirResource = FhirResource>(resourceType: string, id: string): T | undefined {
    if (!this.byTypeId) {
      this.byTypeId = new Map();
      for (const [type, entries] of this.byType) {
        for (const e of entries) if (e.summary.id !== undefined && !this.byTypeId.has(`${type}/${e.summary.id}`)) this.byTypeId.set(`${type}/${e.summary.id}`, e);
      }
    }
    const entry = this.byTypeId.get(`${resourceType}/${id}`);
    return (entry ? this.materialize(entry) : this.parent?.byId(resourceType, id)) as T | undefined;
  }

  originOf(resource: FhirResource): ResourceOrigin | undefined {
    return this.origins.get(resource) ?? this.parent?.originOf(resource);
  }

  /** Every version of a canonical held here or in the parent. */
  versionsOf(url: string): CanonicalResource[] {
    return this.entriesOf(url).map((e) => this.materialize(e) as CanonicalResource);
  }

  /** Conflicting duplicates seen by this store (including clashes with the parent). */
  conflicts(): readonly ConformanceConflict[] {
    return this.conflictList;
  }

  private insert(entry: Entry): AddResult {
    if (this.sealed) throw new Error('ConformanceStore is sealed (shared); add to a child store instead');
    const { resourceType, id } = entry.summary;
    const url = typeof entry.summary.url === 'string' ? entry.summary.url : undefined;
    const version = typeof entry.summary.version === 'string' ? entry.summary.version : '';
    if (url !== undefined) {
      const existing = this.exact(url, version, resourceType);
      if (existing) {
        if (this.sameContent(existing, entry)) return 'duplicate';
        this.recordConflict(existing, resourceType, url, version, entry.origin);
        return 'conflict';
      }
    }
    this.count++;
    if (entry.resource) this.origins.set(entry.resource, entry.origin);
    push(this.byType, resourceType, entry);
    this.allCache.delete(resourceType);
    if (id !== undefined && this.byTypeId && !this.byTypeId.has(`${resourceType}/${id}`)) this.byTypeId.set(`${resourceType}/${id}`, entry);
    if (url !== undefined) push(this.byUrl, url, entry);
    return 'added';
  }

  /** The entry's resource, parsing it on first use (also when the entry is the parent's). */
  private materialize(entry: Entry): FhirResource {
    if (!entry.resource) {
      entry.resource = entry.lazy!.load();
      entry.owner.origins.set(entry.resource, entry.origin);
    }
    return entry.resource;
  }

  /** Whether a resource with the same url|version has the same content; parses only when needed. */
  private sameContent(existing: Entry, added: Entry): boolean {
    if (existing.lazy?.digest && existing.lazy.digest === added.lazy?.digest) return true;
    const kept = this.materialize(existing);
    const candidate = added.resource ?? added.lazy!.load();
    return kept === candidate || isDeepStrictEqual(kept, candidate);
  }

  private entriesOf(url: string): Entry[] {
    const own = this.byUrl.get(url) ?? [];
    return this.parent ? [...this.parent.entriesOf(url), ...own] : own;
  }

  /** Exactly `url|version` ('' version for versionless resources). */
  private exact(url: string, version: string, resourceType?: string): Entry | undefined {
    const own = this.byUrl
      .get(url)
      ?.find((e) => (e.summary.version ?? '') === version && (!resourceType || e.summary.resourceType === resourceType));
    return own ?? this.parent?.exact(url, version, resourceType);
  }

  private newestOf(url: string, resourceType?: string): Entry | undefined {
    let best = this.parent?.newestOf(url, resourceType);
    for (const e of this.byUrl.get(url) ?? []) {
      if (resourceType && e.summary.resourceType !== resourceType) continue;
      if (!best || supersedes(e, best)) best = e;
    }
    return best;
  }

  /** `url|1.2` → newest 1.2.x, as FHIR allows partial versions in canonical references. */
  private partial(url: string, version: string, resourceType?: string): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.entriesOf(url)) {
      if (resourceType && e.summary.resourceType !== resourceType) continue;
      if (!versionMatches(version, e.summary.version)) continue;
      if (!best || compareVersions(e.summary.version, best.summary.version) > 0) best = e;
    }
    return best;
  }

  private recordConflict(kept: Entry, resourceType: string, url: string, version: string, origin: ResourceOrigin): void {
    const key = `${resourceType} ${url}|${version}`;
    const conflict = this.conflictByKey.get(key);
    if (conflict) {
      conflict.origins.push(origin);
      return;
    }
    const created = { url, version, resourceType, origins: [kept.origin, origin] };
    this.conflictByKey.set(key, created);
    this.conflictList.push(created);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
