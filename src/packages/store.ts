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
 * In-memory index of conformance resources: O(1) lookups by canonical, canonical|version, and
 * resourceType/id. A store with a parent sees the parent's resources too, so many stores share one core.
 */
export class ConformanceStore implements ConformanceResolver {
  readonly parent: ConformanceStore | undefined;
  /** url → every version (all resource types), in load order. */
  private readonly byUrl = new Map<string, CanonicalResource[]>();
  /** url → newest version; `resourceType url` → newest of that type. */
  private readonly newestByUrl = new Map<string, CanonicalResource>();
  /** `url|version` → resources (normally one; more when resource types differ). */
  private readonly byUrlVersion = new Map<string, CanonicalResource[]>();
  private readonly byTypeId = new Map<string, FhirResource>();
  private readonly byType = new Map<string, FhirResource[]>();
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
    if (this.sealed) throw new Error('ConformanceStore is sealed (shared); add to a child store instead');
    const url = typeof resource.url === 'string' ? resource.url : undefined;
    const version = typeof resource.version === 'string' ? resource.version : undefined;
    if (url !== undefined) {
      const existing = this.exact(`${url}|${version ?? ''}`, resource.resourceType);
      if (existing) {
        if (existing === resource || isDeepStrictEqual(existing, resource)) return 'duplicate';
        this.recordConflict(existing, resource, url, version ?? '', origin);
        return 'conflict';
      }
    }
    this.count++;
    this.origins.set(resource, origin);
    push(this.byType, resource.resourceType, resource);
    this.allCache.delete(resource.resourceType);
    if (resource.id !== undefined) {
      const key = `${resource.resourceType}/${resource.id}`;
      if (!this.byTypeId.has(key)) this.byTypeId.set(key, resource);
    }
    if (url !== undefined) {
      const canonical = resource as CanonicalResource;
      push(this.byUrl, url, canonical);
      push(this.byUrlVersion, `${url}|${version ?? ''}`, canonical);
      this.updateNewest(url, canonical);
      this.updateNewest(`${resource.resourceType} ${url}`, canonical);
    }
    return 'added';
  }

  resolve<T extends CanonicalResource = CanonicalResource>(canonical: string, resourceType?: string): T | undefined {
    const bar = canonical.indexOf('|');
    if (bar < 0) return this.newestOf(canonical, resourceType) as T | undefined;
    return (this.exact(canonical, resourceType) ??
      this.partial(canonical.slice(0, bar), canonical.slice(bar + 1), resourceType)) as T | undefined;
  }

  all<T extends CanonicalResource = CanonicalResource>(resourceType: string): T[] {
    if (!this.parent) return (this.byType.get(resourceType) ?? []) as T[];
    let list = this.allCache.get(resourceType);
    if (!list) {
      list = [...this.parent.all(resourceType), ...(this.byType.get(resourceType) ?? [])];
      this.allCache.set(resourceType, list);
    }
    return list as T[];
  }

  /** A resource by `resourceType` and `id` (first loaded wins). */
  byId<T extends FhirResource = FhirResource>(resourceType: string, id: string): T | undefined {
    return (this.byTypeId.get(`${resourceType}/${id}`) ?? this.parent?.byId(resourceType, id)) as T | undefined;
  }

  originOf(resource: FhirResource): ResourceOrigin | undefined {
    return this.origins.get(resource) ?? this.parent?.originOf(resource);
  }

  /** Every version of a canonical held here or in the parent. */
  versionsOf(url: string): CanonicalResource[] {
    const own = this.byUrl.get(url) ?? [];
    return this.parent ? [...this.parent.versionsOf(url), ...own] : own;
  }

  /** Conflicting duplicates seen by this store (including clashes with the parent). */
  conflicts(): readonly ConformanceConflict[] {
    return this.conflictList;
  }

  /** By `url|version` key ('' version for versionless resources). */
  private exact(key: string, resourceType?: string): CanonicalResource | undefined {
    const list = this.byUrlVersion.get(key);
    const own = list && (resourceType ? list.find((r) => r.resourceType === resourceType) : list[0]);
    return own ?? this.parent?.exact(key, resourceType);
  }

  private newestOf(url: string, resourceType?: string): CanonicalResource | undefined {
    const own = this.newestByUrl.get(resourceType ? `${resourceType} ${url}` : url);
    const inherited = this.parent?.newestOf(url, resourceType);
    if (!own || !inherited) return own ?? inherited;
    return compareVersions(own.version, inherited.version) > 0 ? own : inherited;
  }

  /** `url|1.2` → newest 1.2.x, as FHIR allows partial versions in canonical references. */
  private partial(url: string, version: string, resourceType?: string): CanonicalResource | undefined {
    let best: CanonicalResource | undefined;
    for (const r of this.versionsOf(url)) {
      if (resourceType && r.resourceType !== resourceType) continue;
      if (!versionMatches(version, r.version)) continue;
      if (!best || compareVersions(r.version, best.version) > 0) best = r;
    }
    return best;
  }

  private updateNewest(key: string, resource: CanonicalResource): void {
    const current = this.newestByUrl.get(key);
    if (!current || compareVersions(resource.version, current.version) > 0) this.newestByUrl.set(key, resource);
  }

  private recordConflict(kept: CanonicalResource, rejected: FhirResource, url: string, version: string, origin: ResourceOrigin): void {
    const key = `${rejected.resourceType} ${url}|${version}`;
    const conflict = this.conflictByKey.get(key);
    if (conflict) {
      conflict.origins.push(origin);
      return;
    }
    const created = { url, version, resourceType: rejected.resourceType, origins: [this.originOf(kept) ?? {}, origin] };
    this.conflictByKey.set(key, created);
    this.conflictList.push(created);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
