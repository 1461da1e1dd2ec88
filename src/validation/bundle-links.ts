/**
 * What a document or a message must carry with it, as the reference's BundleValidator checks it: the references of
 * the Composition (subject, author, encounter, custodian, attesters, event details, and each section's author, focus
 * and entries) or of the MessageHeader (focus) must resolve to exactly one entry; every other reference of every
 * entry is looked up too, and one that is not there is only noted.
 *
 * Resolution here follows the reference's resolveInBundle, which differs from the one ordinary references get
 * (bundle.ts candidates): a relative reference is read against the referring entry's fullUrl only when that fullUrl
 * is a RESTful URL naming the referring resource, and a Type/id that some entry has under another fullUrl is an error
 * of its own ("apparent" match).
 */
import type { Index } from './bundle.js';
import type { Walk } from './instance-validator.js';

type Json = Record<string, unknown>;

const HISTORY = '/_history/';
// The base is optional, as in the reference's URI_REGEX: a fullUrl of Type/id alone is the base ''.
const RESTFUL_URL = /^(https?:\/\/.+\/)?[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
/** A canonical URL of a conformance resource: known elsewhere, never expected in the Bundle. */
const CANONICAL_URL = /^https?:\/\/.+\/(StructureDefinition|ValueSet|CodeSystem|ConceptMap|NamingSystem|SearchParameter|OperationDefinition|CapabilityStatement|ImplementationGuide|Questionnaire|Library|Measure|PlanDefinition|ActivityDefinition|StructureMap|GraphDefinition|MessageDefinition|CompartmentDefinition|TerminologyCapabilities)\/[^/]+$/;

interface Referrer {
  fullUrl: string | undefined;
  type: string;
  id: unknown;
}

type Resolution = { kind: 'found' } | { kind: 'silent' } | { kind: 'not-found' } | { kind: 'multiple'; count: number } | { kind: 'apparent'; fullUrls: string[] };

/** The entries by fullUrl (also with /_history/version) and by Type/id, as the reference indexes them. */
class LinkIndex {
  readonly byUrl = new Map<string | undefined, number>();
  readonly byTypeId = new Map<string, string[]>();

  constructor(index: Index) {
    for (const entry of index.entries) {
      const resource = entry.resource;
      const versionId = (resource?.meta as { versionId?: unknown } | undefined)?.versionId;
      this.count(entry.fullUrl);
      if (entry.fullUrl !== undefined && typeof versionId === 'string') this.count(entry.fullUrl + HISTORY + versionId);
      if (resource && typeof resource.resourceType === 'string' && typeof resource.id === 'string') {
        const typeId = `${resource.resourceType}/${resource.id}`;
        for (const key of typeof versionId === 'string' ? [typeId, typeId + HISTORY + versionId] : [typeId]) {
          const urls = this.byTypeId.get(key) ?? [];
          urls.push(entry.fullUrl ?? '<missing>');
          this.byTypeId.set(key, urls);
        }
      }
    }
  }

  private count(url: string | undefined): void {
    this.byUrl.set(url, (this.byUrl.get(url) ?? 0) + 1);
  }

  resolve(reference: string, from: Referrer, isResourceType: (name: string) => boolean): Resolution {
    const hash = reference.indexOf('#');
    const ref = hash > 0 ? reference.slice(0, hash) : reference;
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(ref)) {
      const found = this.byUrl.get(ref) ?? 0;
      if (found === 0) return CANONICAL_URL.test(ref) ? { kind: 'silent' } : { kind: 'not-found' };
      return found === 1 ? { kind: 'found' } : { kind: 'multiple', count: found };
    }
    const own = `${from.type}/${String(from.id)}`;
    // The referring entry's RESTful base; without one, the reference reads as the entries that have no fullUrl.
    const url = from.fullUrl !== undefined && RESTFUL_URL.test(from.fullUrl) && from.fullUrl.endsWith(own) ? from.fullUrl.slice(0, -own.length) + ref : undefined;
    const found = this.byUrl.get(url) ?? 0;
    if (found === 1) return { kind: 'found' };
    if (found > 1) return { kind: 'multiple', count: found };
    const parts = ref.split('/');
    if (parts.length < 2 || !isResourceType(parts[0]!)) return { kind: 'silent' };
    const apparent = this.byTypeId.get(`${parts[0]}/${parts[1]}`);
    return apparent ? { kind: 'apparent', fullUrls: [...apparent].sort() } : { kind: 'not-found' };
  }
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : [];
}

/** A Reference met at a path, with what the reference's messages call it. */
interface Link {
  value: Json;
  path: string;
  label: string;
}

/** The Composition's references the reference checks, with its labels for them. */
function compositionLinks(composition: Json, path: string): Link[] {
  const links: Link[] = [];
  const single = (name: string) => {
    const value = composition[name];
    if (value && typeof value === 'object' && !Array.isArray(value)) links.push({ value: value as Json, path: `${path}.${name}`, label: `Composition.${name}` });
  };
  single('subject');
  list(composition.author).forEach((value, i) => links.push({ value, path: `${path}.author[${i}]`, label: 'Composition.author' }));
  single('encounter');
  single('custodian');
  list(composition.attester).forEach((attester, i) => {
    const party = attester.party;
    if (party && typeof party === 'object') links.push({ value: party as Json, path: `${path}.attester[${i}].party`, label: 'Composition.attester.party' });
  });
  list(composition.event).forEach((event, i) =>
    list(event.detail).forEach((value, j) => links.push({ value, path: `${path}.event[${i}].detail[${j}]`, label: 'Composition.event.detail' })),
  );
  const sections = (owner: Json, at: string): void =>
    list(owner.section).forEach((section, i) => {
      const sectionPath = `${at}.section[${i}]`;
      list(section.author).forEach((value, j) => links.push({ value, path: `${sectionPath}.author[${j}]`, label: 'Section.author' }));
      if (section.focus && typeof section.focus === 'object') links.push({ value: section.focus as Json, path: `${sectionPath}.focus`, label: 'Section.focus' });
      list(section.entry).forEach((value, j) => links.push({ value, path: `${sectionPath}.entry[${j}]`, label: 'Section Entry' }));
      sections(section, sectionPath);
    });
  sections(composition, path);
  return links;
}

/** Every Reference in a resource (contained ones too, not those of a Bundle inside it), with its path. */
function referencesIn(value: unknown, path: string, into: Link[]): Link[] {
  if (Array.isArray(value)) value.forEach((v, i) => referencesIn(v, `${path}[${i}]`, into));
  else if (value && typeof value === 'object') {
    const object = value as Json;
    if (typeof object.reference === 'string') into.push({ value: object, path, label: path });
    for (const key in object) {
      const child = object[key];
      if (child && typeof child === 'object' && (child as Json).resourceType !== 'Bundle') referencesIn(child, `${path}.${key}`, into);
    }
  }
  return into;
}

function describe(reference: string, label: string, resolution: Resolution): string | undefined {
  switch (resolution.kind) {
    case 'not-found':
      return `Can't find '${reference}' in the bundle (${label})`;
    case 'multiple':
      return `Found ${resolution.count} matches for '${reference}' in the bundle (${label})`;
    case 'apparent': {
      const n = resolution.fullUrls.length;
      return n === 1
        ? `Can't find '${reference}' in the bundle (${label}). Note that there is a resource in the bundle with the same type and id, but it does not match because of the fullUrl based rules around matching relative references (found ${resolution.fullUrls[0]})`
        : `Can't find '${reference}' in the bundle (${label}). Note that there are ${n} resources in the bundle with the same type and id, but they do not match because of the fullUrl based rules around matching relative references (found ${resolution.fullUrls.join(', ')})`;
    }
    default:
      return undefined;
  }
}

/** The references of a document (first entry a Composition) or a message (first entry a MessageHeader). */
export function checkBundleLinks(index: Index, bundlePath: string, walk: Walk): void {
  const first = index.entries[0]?.resource;
  const kind = index.type;
  if (!first || (kind === 'document' && first.resourceType !== 'Composition') || (kind === 'message' && first.resourceType !== 'MessageHeader')) return;
  const links = new LinkIndex(index);
  const isResourceType = (name: string) => walk.engine.isResourceType(name);
  const firstEntry = index.entries[0]!;
  const firstPath = `${firstEntry.path}.resource`;
  const checked = new Set<Json>();
  const required =
    kind === 'document'
      ? compositionLinks(first, firstPath)
      : list(first.focus).map((value, i) => ({ value, path: `${firstPath}.focus[${i}]`, label: 'MessageHeader Data' }));
  const referrer = { fullUrl: firstEntry.fullUrl, type: String(first.resourceType), id: first.id };
  for (const link of required) {
    checked.add(link.value);
    const reference = link.value.reference;
    if (typeof reference !== 'string' || reference === '' || reference.startsWith('#')) continue;
    const resolution = links.resolve(reference, referrer, isResourceType);
    const message = describe(reference, link.label, resolution);
    if (message) walk.add('error', resolution.kind === 'not-found' ? 'not-found' : 'invalid', `bundle-link-${resolution.kind}`, message, link.path);
  }
  // Every other reference of every entry: one that is not there is noted, an ambiguous one is an error.
  for (const entry of index.entries) {
    const resource = entry.resource;
    if (!resource) continue;
    const from = { fullUrl: entry.fullUrl, type: String(resource.resourceType), id: resource.id };
    const seen = new Set<string>();
    for (const link of referencesIn(resource, `${entry.path}.resource`, [])) {
      const reference = link.value.reference as string;
      if (checked.has(link.value) || reference.startsWith('#') || seen.has(reference)) continue;
      seen.add(reference);
      const resolution = links.resolve(reference, from, isResourceType);
      const message = describe(reference, link.label, resolution);
      if (message) walk.add(resolution.kind === 'not-found' ? 'information' : 'error', resolution.kind === 'not-found' ? 'not-found' : 'invalid', `bundle-link-${resolution.kind}`, message, bundlePath);
    }
  }
}
