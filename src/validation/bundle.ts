import type { ResourceFrame, Walk } from './instance-validator.js';

/** Bundle rules beyond the invariants: http://hl7.org/fhir/R4/bundle.html#references and the document rules. */

interface Entry {
  index: number;
  fullUrl?: string;
  resource?: Record<string, unknown>;
  path: string;
}

const RESTFUL = /^(https?:\/\/.*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export interface BundleIndex {
  entries: Entry[];
  type?: string;
  resolve(reference: string, fromFullUrl?: string): Entry | undefined;
  /** All entries a reference could mean, to report ambiguity. */
  candidates(reference: string, fromFullUrl?: string): Entry[];
  /** fullUrl of the entry whose resource this is (by identity). */
  fullUrlOfEntry(resource: object): string | undefined;
}

/** A fullUrl is the base for relative references only when it really names its resource by type and id. */
function restfulBase(entry: Entry | undefined): string | undefined {
  const m = entry?.fullUrl ? RESTFUL.exec(entry.fullUrl) : null;
  if (!m?.[1] || !entry?.resource) return undefined;
  return entry.resource.resourceType === m[2] && entry.resource.id === m[3] ? m[1] : undefined;
}

export function indexBundle(bundle: Record<string, unknown>, path: string): BundleIndex {
  const rawEntries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  const entries: Entry[] = rawEntries.map((raw, index) => {
    const e = (raw ?? {}) as { fullUrl?: unknown; resource?: unknown };
    return {
      index,
      fullUrl: typeof e.fullUrl === 'string' ? e.fullUrl : undefined,
      resource: e.resource && typeof e.resource === 'object' ? (e.resource as Record<string, unknown>) : undefined,
      path: `${path}.entry[${index}]`,
    };
  });
  let nextEntry = 0;
  const byFullUrl = new Map<string, Entry[]>();
  for (const entry of entries) {
    if (!entry.fullUrl) continue;
    const list = byFullUrl.get(entry.fullUrl);
    if (list) list.push(entry);
    else byFullUrl.set(entry.fullUrl, [entry]);
  }
  const candidates = (reference: string, fromFullUrl?: string): Entry[] => {
    const [withoutHistory, version] = reference.split('/_history/');
    const matchVersion = (list: Entry[]): Entry[] =>
      version === undefined ? list : list.filter((e) => (e.resource?.meta as { versionId?: string } | undefined)?.versionId === version);
    if (/^(https?:|urn:)/.test(reference)) return matchVersion(byFullUrl.get(withoutHistory!) ?? []);
    // From a urn: entry the validator reads Type/id as the urn with that id (urn:uuid:<id>), whatever the type;
    // the type is then checked against what is found.
    if (fromFullUrl?.startsWith('urn:')) {
      const slash = withoutHistory!.indexOf('/');
      if (slash < 0) return [];
      return matchVersion(byFullUrl.get(fromFullUrl.slice(0, fromFullUrl.lastIndexOf(':') + 1) + withoutHistory!.slice(slash + 1)) ?? []);
    }
    // A relative reference resolves against the base of the referring entry's RESTful fullUrl only.
    const base = restfulBase(fromFullUrl ? byFullUrl.get(fromFullUrl)?.[0] : undefined);
    return base ? matchVersion(byFullUrl.get(base + withoutHistory) ?? []) : [];
  };
  return {
    entries,
    type: typeof bundle.type === 'string' ? bundle.type : undefined,
    candidates,
    resolve: (reference, fromFullUrl) => candidates(reference, fromFullUrl)[0],
    fullUrlOfEntry: (resource) => {
      // Entries are walked in order: the next one is the usual answer.
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[(nextEntry + i) % entries.length]!;
        if (entry.resource === resource) {
          nextEntry = entry.index + 1;
          return entry.fullUrl;
        }
      }
      return undefined;
    },
  };
}

const NO_FULL_URL_TYPES = new Set(['transaction', 'batch', 'transaction-response', 'batch-response', 'history']);

export function checkBundle(bundle: Record<string, unknown>, path: string, walk: Walk, frame: ResourceFrame): void {
  const index = frame.resource === bundle && frame.bundle ? frame.bundle : indexBundle(bundle, path);
  frame.bundle = index;
  const type = index.type;
  checkLinks(bundle, path, walk);
  for (const entry of index.entries) {
    if (!entry.resource) continue;
    if (!entry.fullUrl) {
      if (!NO_FULL_URL_TYPES.has(type ?? '')) {
        walk.add('error', 'required', 'bundle-entry-fullurl-missing', 'Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry', entry.path);
      }
      continue;
    }
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(entry.fullUrl)) {
      walk.add('error', 'invalid', 'bundle-fullurl-relative', `The fullUrl must be an absolute URL (not '${entry.fullUrl}')`, `${entry.path}.fullUrl`);
      continue;
    }
    const restful = RESTFUL.exec(entry.fullUrl);
    if (restful && restful[1] && !restful[4]) {
      const id = entry.resource.id;
      if (id === undefined) {
        walk.add('error', 'invalid', 'bundle-fullurl-no-id', `The fullUrl '${entry.fullUrl}' looks like a RESTful server URL, but the resource has no id`, `${entry.path}.fullUrl`);
      } else if (restful[2] !== entry.resource.resourceType || restful[3] !== id) {
        walk.add('error', 'invalid', 'bundle-fullurl-mismatch', `The fullUrl '${entry.fullUrl}' looks like a RESTful server URL, so it must end with the correct type and id (/${String(entry.resource.resourceType)}/${String(id)})`, `${entry.path}.fullUrl`);
      }
    }
  }
  if (type === 'document') checkDocument(index, walk);
}

/** Paging relations name one page each; others (stylesheet, alternate) may repeat. */
const UNIQUE_RELATIONS = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);

function checkLinks(bundle: Record<string, unknown>, path: string, walk: Walk): void {
  const links = Array.isArray(bundle.link) ? (bundle.link as Array<{ relation?: unknown }>) : [];
  const seen = new Set<string>();
  const reported = new Set<string>();
  links.forEach((link, i) => {
    const relation = typeof link?.relation === 'string' ? link.relation : undefined;
    if (!relation || !UNIQUE_RELATIONS.has(relation)) return;
    if (seen.has(relation) && !reported.has(relation)) {
      reported.add(relation);
      walk.add('error', 'invalid', 'bundle-link-duplicate', `The link relationship type '${relation}' can only occur once`, `${path}.link[${i}]`);
    }
    seen.add(relation);
  });
}

/** A document's entries must be reachable from the Composition by following references. */
function checkDocument(index: BundleIndex, walk: Walk): void {
  const first = index.entries[0];
  if (!first?.resource || first.resource.resourceType !== 'Composition') return;
  const reachable = new Set<Entry>([first]);
  const queue: Entry[] = [first];
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
