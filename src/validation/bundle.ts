import { checkBundleLinks } from './bundle-links.js';
import type { ResourceFrame, Walk } from './instance-validator.js';

/** Bundle rules beyond the invariants: http://hl7.org/fhir/R4/bundle.html#references and the document rules. */

export interface Entry {
  index: number;
  fullUrl?: string;
  resource?: Record<string, unknown>;
  path: string;
  /** A RESTful server URL as the fullUrl: [, base, type, id, history], or null. */
  restful(): RegExpExecArray | null;
}

// Only fullUrls with an http(s) base count as RESTful, so urn: and other fullUrls are not matched at all.
const RESTFUL = /^(https?:\/\/.*\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
/** A fullUrl that is Type/id alone (not valid, but the reference still takes it as the base '' for relative references). */
const RELATIVE_RESTFUL = /^()([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const HISTORY = '/_history/';
const H = 0x68;
const U = 0x75;
const COLON = 0x3a;

export interface BundleIndex {
  type?: string;
  resolve(reference: string, fromFullUrl?: string): Entry | undefined;
  /** All entries a reference could mean, to report ambiguity. */
  candidates(reference: string, fromFullUrl?: string): readonly Entry[];
  /** fullUrl of the entry whose resource this is (by identity). */
  fullUrlOfEntry(resource: object): string | undefined;
  /** The first `limit` entries whose resource has this type and id, in order. */
  withTypeAndId(type: string, id: string, limit: number): readonly Entry[];
}

const NO_ENTRIES: readonly BundleEntry[] = Object.freeze([]);

/** One entry; its path and its fullUrl's RESTful reading are worked out only when a rule asks. */
export class BundleEntry implements Entry {
  private restfulMatch: RegExpExecArray | null | undefined;
  private baseKnown = false;
  private base: string | undefined;

  constructor(
    readonly index: number,
    readonly fullUrl: string | undefined,
    readonly resource: Record<string, unknown> | undefined,
    private readonly bundlePath: string,
  ) {}

  get path(): string {
    return `${this.bundlePath}.entry[${this.index}]`;
  }

  restful(): RegExpExecArray | null {
    if (this.restfulMatch === undefined) this.restfulMatch = this.fullUrl?.startsWith('http') ? RESTFUL.exec(this.fullUrl) : null;
    return this.restfulMatch;
  }

  /** The fullUrl is the base for relative references only when it really names its resource by type and id. */
  restfulBase(): string | undefined {
    if (!this.baseKnown) {
      this.baseKnown = true;
      const m = this.restful() ?? (this.fullUrl !== undefined ? RELATIVE_RESTFUL.exec(this.fullUrl) : null);
      const resource = this.resource;
      if (m && resource && resource.resourceType === m[2] && resource.id === m[3]) this.base = m[1];
    }
    return this.base;
  }
}

/** The entries of a list whose resource has this meta.versionId. */
function withVersion(list: readonly Entry[], version: string): Entry[] {
  return list.filter((e) => (e.resource?.meta as { versionId?: string } | undefined)?.versionId === version);
}

/** Up to this many entries a scan of them beats a map: a looked-up key is a fresh string, hashed on every lookup. */
const SCAN_LIMIT = 16;

/** References resolved to a Bundle's entries, found by their fullUrl. */
export abstract class EntryLookup implements BundleIndex {
  readonly type: string | undefined;

  constructor(type: unknown) {
    this.type = typeof type === 'string' ? type : undefined;
  }

  /** The entries with this fullUrl, in order. */
  protected abstract withFullUrl(fullUrl: string): readonly BundleEntry[];

  abstract fullUrlOfEntry(resource: object): string | undefined;

  abstract withTypeAndId(type: string, id: string, limit: number): readonly Entry[];

  candidates(reference: string, fromFullUrl?: string): readonly Entry[] {
    // As reference.split('/_history/'): the part before the first marker, and the version up to a second one.
    const history = reference.indexOf(HISTORY);
    const withoutHistory = history < 0 ? reference : reference.slice(0, history);
    let key: string;
    // The first character decides most references (a relative one starts with its type) without a call.
    const first = reference.charCodeAt(0);
    if ((first === H && (reference.startsWith('http:') || reference.startsWith('https:'))) || (first === U && reference.startsWith('urn:'))) {
      key = withoutHistory;
    } else if (fromFullUrl !== undefined && fromFullUrl.charCodeAt(0) === U && fromFullUrl.startsWith('urn:')) {
      // From a urn: entry the validator reads Type/id as the urn with that id (urn:uuid:<id>), whatever the type;
      // the type is then checked against what is found.
      const slash = withoutHistory.indexOf('/');
      if (slash < 0) return NO_ENTRIES;
      // The last ':' (a scan: lastIndexOf is a runtime call, slower than this over a urn)
      let colon = fromFullUrl.length - 1;
      while (fromFullUrl.charCodeAt(colon) !== COLON) colon--;
      key = fromFullUrl.slice(0, colon + 1) + withoutHistory.slice(slash + 1);
    } else {
      // A relative reference resolves against the base of the referring entry's RESTful fullUrl only.
      const base = fromFullUrl ? this.withFullUrl(fromFullUrl)[0]?.restfulBase() : undefined;
      if (base === undefined) return NO_ENTRIES;
      key = base + withoutHistory;
    }
    const list = this.withFullUrl(key);
    if (history < 0) return list;
    const from = history + HISTORY.length;
    const end = reference.indexOf(HISTORY, from);
    return withVersion(list, end < 0 ? reference.slice(from) : reference.slice(from, end));
  }

  resolve(reference: string, fromFullUrl?: string): Entry | undefined {
    return this.candidates(reference, fromFullUrl)[0];
  }
}

export class Index extends EntryLookup {
  readonly entries: BundleEntry[] = [];
  /** Entries by fullUrl, made on the first lookup in a Bundle of more than SCAN_LIMIT entries. */
  private byFullUrl: Map<string, BundleEntry[]> | undefined;
  /** Entries are walked in order: the one after the last found is the usual answer. */
  private nextEntry = 0;
  /** Entries by `type/id` of their resource, made on the first reference that resolves to none. */
  private byTypeAndId: Map<string, BundleEntry[]> | undefined;

  constructor(
    /** The Bundle itself, for what looks at all of it (narrative links: see bundleFragmentTargets). */
    readonly bundle: Record<string, unknown>,
    path: string,
  ) {
    super(bundle.type);
    const rawEntries = bundle.entry;
    if (!Array.isArray(rawEntries)) return;
    for (let index = 0; index < rawEntries.length; index++) this.entries.push(entryOf(index, rawEntries[index] ?? {}, path));
  }

  protected withFullUrl(fullUrl: string): readonly BundleEntry[] {
    const entries = this.entries;
    if (entries.length <= SCAN_LIMIT) {
      let found: BundleEntry[] | undefined;
      for (let i = 0; i < entries.length; i++) if (entries[i]!.fullUrl === fullUrl) (found ??= []).push(entries[i]!);
      return found ?? NO_ENTRIES;
    }
    return (this.byFullUrl ??= this.mapFullUrls()).get(fullUrl) ?? NO_ENTRIES;
  }

  private mapFullUrls(): Map<string, BundleEntry[]> {
    const byFullUrl = new Map<string, BundleEntry[]>();
    for (const entry of this.entries) {
      const fullUrl = entry.fullUrl;
      if (!fullUrl) continue;
      const list = byFullUrl.get(fullUrl);
      if (list) list.push(entry);
      else byFullUrl.set(fullUrl, [entry]);
    }
    return byFullUrl;
  }

  withTypeAndId(type: string, id: string, limit: number): readonly Entry[] {
    if (this.entries.length <= SCAN_LIMIT) {
      const found: BundleEntry[] = [];
      for (const entry of this.entries) {
        if (entry.resource?.resourceType === type && entry.resource.id === id && found.push(entry) === limit) break;
      }
      return found;
    }
    if (!this.byTypeAndId) {
      this.byTypeAndId = new Map();
      for (const entry of this.entries) {
        const resource = entry.resource;
        if (typeof resource?.resourceType !== 'string' || typeof resource.id !== 'string') continue;
        const key = `${resource.resourceType}/${resource.id}`;
        const list = this.byTypeAndId.get(key);
        if (list) list.push(entry);
        else this.byTypeAndId.set(key, [entry]);
      }
    }
    return (this.byTypeAndId.get(`${type}/${id}`) ?? NO_ENTRIES).slice(0, limit);
  }

  fullUrlOfEntry(resource: object): string | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[(this.nextEntry + i) % entries.length]!;
      if (entry.resource === resource) {
        this.nextEntry = entry.index + 1;
        return entry.fullUrl;
      }
    }
    return undefined;
  }
}

/** Entry `index` of a Bundle's `entry` array: a fullUrl that is a string, a resource that is an object. */
export function entryOf(index: number, value: { fullUrl?: unknown; resource?: unknown }, path: string): BundleEntry {
  const fullUrl = typeof value.fullUrl === 'string' ? value.fullUrl : undefined;
  const resource = value.resource && typeof value.resource === 'object' ? (value.resource as Record<string, unknown>) : undefined;
  return new BundleEntry(index, fullUrl, resource, path);
}

export function indexBundle(bundle: Record<string, unknown>, path: string): Index {
  return new Index(bundle, path);
}

const NO_FULL_URL_TYPES = new Set(['transaction', 'batch', 'transaction-response', 'batch-response']);

const ABSOLUTE_URL = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

export function checkBundle(bundle: Record<string, unknown>, path: string, walk: Walk, frame: ResourceFrame): void {
  const index = frame.resource === bundle && frame.bundle ? frame.bundle : new Index(bundle, path);
  frame.bundle = index;
  const type = index.type;
  checkLinks(bundle, path, walk, type);
  // A Bundle walked entry by entry has each entry checked as it is walked (bundle-by-entry.ts), and has entries.
  const search = type === 'searchset' && (!(index instanceof Index) || index.entries.length > 0) ? searchOf(bundle, path, walk) : undefined;
  if (!(index instanceof Index)) return;
  const rawEntries = bundle.entry as Array<Record<string, unknown> | null | undefined>;
  for (const entry of index.entries) {
    checkEntry(entry, type, walk);
    if (search) checkSearchEntry(rawEntries[entry.index] ?? {}, entry, search, walk);
  }
  if (search?.modeMissing) searchModeMissing(path, walk);
  if (type === 'document' || type === 'message') checkBundleLinks(index, path, walk);
  if (type === 'document') checkDocument(index, bundle, walk);
}

/** What a search set's self link says it searched, and whether an entry so far lacks a search mode. */
export interface SearchSet {
  types: string[];
  hasSelf: boolean;
  modeMissing: boolean;
}

/** Splits as Java's String.split does: trailing empty strings dropped (but "" gives [""]). */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** A search set's self link, and the resource types it searched as the reference reads them (readSearchResourceTypes). */
export function searchSetOf(bundle: Record<string, unknown>, isResourceType: (name: string) => boolean): SearchSet {
  const links = Array.isArray(bundle.link) ? (bundle.link as Array<{ relation?: unknown; url?: unknown } | null>) : [];
  const self = links.find((l) => l?.relation === 'self');
  const types: string[] = [];
  if (typeof self?.url === 'string') {
    const query = self.url.indexOf('?');
    const head = javaSplit(query < 0 ? self.url : self.url.slice(0, query), '/');
    const last = head[head.length - 1] ?? '';
    if (isResourceType(last)) types.push(last);
    else if (query >= 0) for (const part of javaSplit(self.url.slice(query + 1), '&')) if (part.startsWith('_type=')) types.push(...javaSplit(part.slice(6), ','));
  }
  return { types, hasSelf: self !== undefined, modeMissing: false };
}

/** searchSetOf, with what the self link lacks reported on the Bundle. */
function searchOf(bundle: Record<string, unknown>, path: string, walk: Walk): SearchSet {
  const search = searchSetOf(bundle, (name) => walk.engine.isResourceType(name));
  if (!search.hasSelf) walk.add('warning', 'invalid', 'bundle-search-no-self', 'SearchSet Bundles should have a self link that specifies what the search was', path);
  else if (search.types.length === 0) walk.add('information', 'invalid', 'bundle-search-self-unknown', "No types could be determined from the search string, so the types can't be checked", path);
  return search;
}

/**
 * One entry of a search set (the reference's checkSearchSet): it has a resource; a match has an id and a searched
 * type, an include an id, any other mode is an OperationOutcome. Without a mode, only warnings: the search set then
 * gets one for lacking modes (the reference gives it per entry when other entries have modes).
 */
export function checkSearchEntry(value: Record<string, unknown>, entry: Entry, search: SearchSet, walk: Walk): void {
  const mode = (value.search as { mode?: unknown } | undefined)?.mode;
  if (typeof mode !== 'string') search.modeMissing = true;
  const resource = entry.resource;
  if (!resource) {
    walk.add('error', 'invalid', 'bundle-search-entry-no-resource', 'SearchSet Bundle Entries must have resources', entry.path);
    return;
  }
  // An entry without a resourceType is reported there, with nothing to judge against the search.
  if (typeof resource.resourceType !== 'string') return;
  const type = resource.resourceType;
  const at = `${entry.path}.resource`;
  const noId = resource.id === undefined;
  const expecting = `(${type} expecting [${search.types.join(', ')}])`;
  if (typeof mode !== 'string') {
    const fits = search.types.length === 0 ? undefined : search.types.includes(type);
    if (fits === undefined && search.hasSelf) walk.add('information', 'invalid', 'bundle-search-entry-type-unsure', 'Unable to determine if this resource is a valid resource type for this search', at);
    if (fits === false) walk.add('warning', 'invalid', 'bundle-search-entry-type', `This is not a matching resource type for the specified search (is a search mode needed?) ${expecting}`, entry.path);
    else if (noId && type !== 'OperationOutcome') walk.add('warning', 'invalid', 'bundle-search-entry-no-id', 'Search results must have ids', at);
  } else if (mode === 'match' || mode === 'include') {
    if (noId) walk.add('error', 'invalid', 'bundle-search-entry-no-id', 'Search results must have ids', at);
    if (mode === 'match' && search.types.length > 0 && !search.types.includes(type)) {
      walk.add('error', 'invalid', 'bundle-search-entry-type', `This is not a matching resource type for the specified search ${expecting}`, at);
    }
  } else if (type !== 'OperationOutcome') {
    walk.add('error', 'invalid', 'bundle-search-entry-outcome', `This is not an OperationOutcome (${type})`, at);
  }
}

export function searchModeMissing(path: string, walk: Walk): void {
  walk.add('warning', 'invalid', 'bundle-search-no-mode', 'SearchSet bundles should have search modes on the entries', path);
}

/** An entry's fullUrl: there outside transactions and batches, absolute, and naming its resource when RESTful. */
export function checkEntry(entry: Entry, type: string | undefined, walk: Walk): void {
  // Also of an entry without a resource (a deletion in a history), as the reference has it.
  if (entry.fullUrl === undefined) {
    if (!NO_FULL_URL_TYPES.has(type ?? '')) {
      walk.add('error', 'required', 'bundle-entry-fullurl-missing', 'Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry', entry.path);
    }
    return;
  }
  if (!entry.resource || entry.fullUrl === '') return;
  if (!ABSOLUTE_URL.test(entry.fullUrl)) {
    walk.add('error', 'invalid', 'bundle-fullurl-relative', `The fullUrl must be an absolute URL (not '${entry.fullUrl}')`, `${entry.path}.fullUrl`);
    return;
  }
  const restful = entry.restful();
  // A canonical resource's url may be its fullUrl only where that url names it by its id.
  const url = entry.resource.url;
  if (url === entry.fullUrl && !(restful && !restful[4] && url.endsWith(`/${String(entry.resource.id)}`)) && !/^http:\/\/hl7\.org\/fhir\/v[23]\//.test(url)) {
    walk.add('error', 'invalid', 'bundle-canonical-fullurl', `The canonical URL (${url}) cannot match the fullUrl (${entry.fullUrl}) unless the resource id (${String(entry.resource.id)}) also matches`, entry.path);
  }
  if (restful && !restful[4]) {
    const id = entry.resource.id;
    if (id === undefined) {
      walk.add('error', 'invalid', 'bundle-fullurl-no-id', `The fullUrl '${entry.fullUrl}' looks like a RESTful server URL, but the resource has no id`, `${entry.path}.fullUrl`);
    } else if (typeof entry.resource.resourceType === 'string' && (restful[2] !== entry.resource.resourceType || restful[3] !== id)) {
      walk.add('error', 'invalid', 'bundle-fullurl-mismatch', `The fullUrl '${entry.fullUrl}' looks like a RESTful server URL, so it must end with the correct type and id (/${String(entry.resource.resourceType)}/${String(id)})`, `${entry.path}.fullUrl`);
    }
  }
}

/** The relations of a search's pages, and of the search itself. */
const PAGING_RELATIONS = new Set(['first', 'previous', 'next', 'last']);
/** The Bundle types whose links the reference checks outside searches (others, and none, are not checked). */
const NON_SEARCH_TYPES = new Set(['document', 'message', 'collection', 'subscription-notification', 'transaction', 'transaction-response', 'batch', 'batch-response']);

/**
 * Links as the reference's validateLink judges them: a search (or history) names each page and itself once; other
 * Bundles have no page links and one self link; a document's stylesheet is the FHIR one or in the document.
 */
function checkLinks(bundle: Record<string, unknown>, path: string, walk: Walk, type: string | undefined): void {
  const links = bundle.link;
  if (!Array.isArray(links)) return;
  const searchLike = type === 'searchset' || type === 'history';
  const seen: string[] = [];
  for (let i = 0; i < links.length; i++) {
    const link = links[i] as { relation?: unknown; url?: unknown } | null | undefined;
    const relation = link?.relation;
    if (typeof relation !== 'string') continue;
    const again = seen.includes(relation);
    seen.push(relation);
    if (searchLike) {
      if (again && (PAGING_RELATIONS.has(relation) || relation === 'self')) {
        walk.add('error', 'invalid', 'bundle-link-duplicate', `The link relationship type '${relation}' can only occur once`, `${path}.link[${i}]`);
      }
    } else if (type !== undefined && NON_SEARCH_TYPES.has(type)) {
      if (PAGING_RELATIONS.has(relation)) {
        walk.add('error', 'invalid', 'bundle-link-search-only', `The link relationship type '${relation}' used in search sets is prohibited in this context`, `${path}.link[${i}].relation`);
      } else if (relation === 'self' && again) {
        walk.add('error', 'invalid', 'bundle-link-duplicate', `The link relationship type '${relation}' can only occur once`, `${path}.link[${i}].relation`);
      }
    }
    if (type === 'document' && relation === 'stylesheet' && typeof link?.url === 'string' && link.url !== '') checkStylesheet(bundle, link.url, `${path}.link[${i}].url`, walk);
  }
}

const FHIR_STYLESHEET = 'https://hl7.org/fhir/fhir.css';

/** A document's stylesheet: the FHIR one, another only with a warning, or a Binary in the document by Type/id. */
function checkStylesheet(bundle: Record<string, unknown>, url: string, at: string, walk: Walk): void {
  if (ABSOLUTE_URL.test(url)) {
    if (url === FHIR_STYLESHEET) return;
    walk.add('warning', 'business-rule', 'bundle-stylesheet-external', `External Stylesheets other than ${FHIR_STYLESHEET} SHOULD not be used`, at);
    if (url.startsWith('http://')) walk.add('warning', 'business-rule', 'bundle-stylesheet-insecure', 'The stylesheet reference is not secure', at);
    return;
  }
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as Array<{ resource?: { resourceType?: unknown; id?: unknown } } | null>) : [];
  if (!entries.some((e) => e?.resource && `${String(e.resource.resourceType)}/${String(e.resource.id)}` === url)) {
    walk.add('error', 'not-found', 'bundle-stylesheet-not-found', 'The stylesheet reference could not be resolved in this bundle', at);
  }
}

/** A document's entries must be reachable from the Composition by following references. */
function checkDocument(index: Index, bundle: Record<string, unknown>, walk: Walk): void {
  const first = index.entries[0];
  if (!first?.resource || first.resource.resourceType !== 'Composition') return;
  const reachable = new Set<Entry>([first]);
  const queue: Entry[] = [first];
  // A stylesheet the document links to (by Type/id) is part of it.
  const links = Array.isArray(bundle.link) ? (bundle.link as Array<{ relation?: unknown; url?: unknown } | null>) : [];
  for (const link of links) {
    if (link?.relation !== 'stylesheet' || typeof link.url !== 'string') continue;
    const styled = index.entries.find((e) => e.resource && `${String(e.resource.resourceType)}/${String(e.resource.id)}` === link.url);
    if (styled && !reachable.has(styled)) {
      reachable.add(styled);
      queue.push(styled);
    }
  }
  const referencedBy = new Map<Entry, Entry[]>();
  for (const entry of index.entries) {
    if (!entry.resource) continue;
    for (const reference of referencesIn(entry.resource)) {
      const target = index.resolve(reference, entry.fullUrl);
      if (!target) continue;
      const list = referencedBy.get(entry);
      if (list) list.push(target);
      else referencedBy.set(entry, [target]);
    }
  }
  while (queue.length > 0) {
    const current = queue.pop()!;
    for (const target of referencedBy.get(current) ?? []) {
      if (!reachable.has(target)) {
        reachable.add(target);
        queue.push(target);
      }
    }
    // Backward links: an entry that refers to a reachable entry is reachable too.
    for (const [source, targets] of referencedBy) {
      if (!reachable.has(source) && targets.includes(current)) {
        reachable.add(source);
        queue.push(source);
      }
    }
  }
  for (const entry of index.entries) {
    if (entry.resource && !reachable.has(entry)) {
      walk.add('error', 'informational', 'bundle-document-unreachable', `Entry '${entry.fullUrl ?? entry.index}' isn't reachable by traversing links (forward or backward) from the Composition`, entry.path);
    }
  }
}

function referencesIn(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, into);
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string') into.push(child);
      else if (key !== 'contained') referencesIn(child, into);
    }
  }
  return into;
}
