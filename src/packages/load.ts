import { existsSync, readdirSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve as resolvePath } from 'node:path';
import type { Issue } from '../validation/issues.js';
import { cacheDirectory, fileKey, openIndex, writeIndex, type CachedResource } from './cache.js';
import { EXTENSIONS_PACK_PATH, loadR4Core, r4CoreDirectory, R4_CORE_ID, R4_CORE_VERSION } from './core.js';
import { ConformanceStore, summarize } from './store.js';
import type { FhirResource, ResourceOrigin } from './types.js';
import { newest, versionMatches } from './version.js';

/** The package.json of a FHIR package (only the fields fhirdq uses). */
export interface PackageManifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  fhirVersions?: string[];
  [key: string]: unknown;
}

/** Why a package was loaded. */
export interface PackageProvenance {
  kind: 'given' | 'dependency' | 'built-in';
  /** For dependencies: the package (id#version) that declared it, and the version it asked for. */
  requestedBy?: string;
  requestedVersion?: string;
}

export interface PackageInfo {
  id: string;
  version: string;
  fhirVersions: string[];
  dependencies: Record<string, string>;
  path: string;
  resourceCount: number;
  provenance?: PackageProvenance;
}

export interface LoadedResource {
  resource: FhirResource;
  /** File name inside the package, or path on disk for loose files. */
  file: string;
}

export interface FhirPackage {
  manifest: PackageManifest;
  path: string;
  resources: LoadedResource[];
  issues: Issue[];
}

/** A package whose resources are parsed on first use (from the package cache, or in memory). */
export interface FhirPackageIndex {
  manifest: PackageManifest;
  path: string;
  resources: CachedResource[];
  issues: Issue[];
}

/** The on-disk package index cache of {@link loadPackageIndex}. */
export interface PackageCacheOptions {
  /** Cache folder (default {@link cacheDirectory}). */
  dir?: string;
  /** Packages whose resource files total fewer bytes are read directly (default 1 MiB). */
  minBytes?: number;
}

export interface LoadConformanceOptions {
  /** Package .tgz files or folders, folders of loose resources and/or packages, or single JSON/XML files. */
  igs?: string[];
  /** Load the built-in R4 core as parent store (default true). */
  includeCore?: boolean;
  /** Folders holding `<id>#<version>` folders or .tgz files, `<id>-<version>.tgz`, or `<id>` folders. */
  packageSearchPaths?: string[];
  /** Index cache for large packages; false reads every package directly. */
  packageCache?: PackageCacheOptions | false;
}

export interface ConformanceLoadResult {
  store: ConformanceStore;
  packages: PackageInfo[];
  issues: Issue[];
}

const TGZ = /\.(tgz|tar\.gz)$/i;
const FILE_CONCURRENCY = 64;
const FILE_ENTRY_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const PACKAGE_CACHE_MIN_BYTES = 1 << 20;

// p-queue, tar and the XML reader are imported on first use: a validator without packages starts sooner.
async function fileQueue() {
  const { default: PQueue } = await import('p-queue');
  return new PQueue({ concurrency: FILE_CONCURRENCY });
}

function issue(severity: Issue['severity'], code: Issue['code'], messageId: string, message: string): Issue {
  return { severity, code, messageId, message, path: '' };
}

function decode(data: Buffer): string {
  const text = data.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isResource(value: unknown): value is FhirResource {
  return typeof value === 'object' && value !== null && typeof (value as FhirResource).resourceType === 'string';
}

/** A parsed JSON value as resources: collection/searchset Bundles contribute their entries. */
function resourcesOf(json: unknown): FhirResource[] {
  if (!isResource(json)) return [];
  if (json.resourceType === 'Bundle' && (json.type === 'collection' || json.type === 'searchset')) {
    const entries = Array.isArray(json.entry) ? (json.entry as Array<{ resource?: unknown }>) : [];
    return entries.map((e) => e?.resource).filter(isResource);
  }
  return [json];
}

function parseJson(text: string, file: string, issues: Issue[]): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    issues.push(issue('error', 'structure', 'package-file-invalid', `${file}: not valid JSON (${(err as Error).message})`));
    return undefined;
  }
}

/** Resources in one loose file (JSON resource or Bundle, or FHIR XML). */
export async function loadResourceFile(path: string): Promise<{ resources: FhirResource[]; issues: Issue[] }> {
  const text = decode(await readFile(path));
  const issues: Issue[] = [];
  if (extname(path).toLowerCase() === '.xml') {
    const { parseFhirXml } = await import('../formats/fhir-xml.js');
    const parsed = parseFhirXml(text);
    for (const i of parsed.issues) issues.push({ ...i, message: `${path}: ${i.message}` });
    return { resources: parsed.resource ? resourcesOf(parsed.resource) : [], issues };
  }
  return { resources: resourcesOf(parseJson(text, path, issues)), issues };
}

/** Top-level file names of a package's `package/` folder that may hold resources or the manifest. */
function packageFileName(entryPath: string): string | undefined {
  const name = entryPath.replace(/^\.\//, '').replace(/^package\//, '');
  if (name.includes('/') || !name.endsWith('.json')) return undefined;
  // Skips macOS AppleDouble (._x.json) and other dot files, but keeps the package index.
  return name.startsWith('.') && name !== '.index.json' ? undefined : name;
}

/** Reads the root-level JSON files of an npm-style package tarball, streaming. */
async function readTarball(path: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const { list: listTar } = await import('tar');
  await listTar({
    file: path,
    onReadEntry: (entry) => {
      const name = FILE_ENTRY_TYPES.has(entry.type) ? packageFileName(entry.path) : undefined;
      if (!name) return entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => files.set(name, Buffer.concat(chunks)));
    },
  });
  return files;
}

async function readFolderFiles(dir: string, names: string[]): Promise<Map<string, Buffer>> {
  const queue = await fileQueue();
  const contents = await queue.addAll(names.map((n) => () => readFile(join(dir, n))));
  return new Map(names.map((n, i) => [n, contents[i]]));
}

/** The folder holding package.json: `dir/package` (npm layout) or `dir` itself. */
function packageRoot(dir: string): string | undefined {
  if (existsSync(join(dir, 'package', 'package.json'))) return join(dir, 'package');
  if (existsSync(join(dir, 'package.json'))) return dir;
  return undefined;
}

/** True when `path` is a package tarball or package folder (as opposed to loose resource files). */
export async function isPackagePath(path: string): Promise<boolean> {
  const info = await stat(path);
  return info.isDirectory() ? packageRoot(path) !== undefined : TGZ.test(path);
}

/**
 * Loads a FHIR package: an npm-style .tgz, a folder containing package/package.json, or a folder
 * that is the package. Resources are the JSON files at the package root (.index.json, when present,
 * says which; collection Bundles contribute their entries); examples and other subfolders are not loaded.
 */
export async function loadPackage(path: string): Promise<FhirPackage> {
  let files: Map<string, Buffer>;
  if ((await stat(path)).isDirectory()) {
    const { root, names } = await packageFolderFiles(path);
    files = await readFolderFiles(root, names);
  } else {
    files = await readTarball(path);
  }
  const issues: Issue[] = [];
  const manifestData = files.get('package.json');
  const manifest = manifestData && (parseJson(decode(manifestData), `${path}/package.json`, issues) as PackageManifest | undefined);
  if (!manifest || typeof manifest.name !== 'string' || typeof manifest.version !== 'string') {
    throw new Error(`${path}: missing or invalid package.json (needs name and version)`);
  }
  const indexData = files.get('.index.json');
  const index = indexData && (parseJson(decode(indexData), `${path}/.index.json`, issues) as { files?: Array<{ filename?: string }> } | undefined);
  const listed = Array.isArray(index?.files) ? new Set(index.files.map((f) => f.filename)) : undefined;
  const resources: LoadedResource[] = [];
  for (const [name, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (name === 'package.json' || name === '.index.json' || (listed && !listed.has(name))) continue;
    for (const resource of resourcesOf(parseJson(decode(data), `${path}/${name}`, issues))) resources.push({ resource, file: name });
  }
  return { manifest, path, resources, issues };
}

async function packageFolderFiles(path: string): Promise<{ root: string; names: string[] }> {
  const root = packageRoot(path);
  if (!root) throw new Error(`${path}: no package.json or package/package.json`);
  const names = (await readdir(root)).map(packageFileName).filter((n): n is string => n !== undefined);
  return { root, names };
}

/**
 * What identifies a package's content on disk without reading it: sizes and mtimes of its files.
 * Synchronous: a few hundred stat calls take milliseconds this way, far longer through the thread pool.
 */
function packageFingerprint(path: string): { fingerprint: string; bytes: number } {
  const info = statSync(path);
  if (!info.isDirectory()) return { fingerprint: `${info.size} ${info.mtimeMs}`, bytes: info.size };
  const root = packageRoot(path);
  if (!root) throw new Error(`${path}: no package.json or package/package.json`);
  const names = readdirSync(root).map(packageFileName).filter((n): n is string => n !== undefined).sort();
  let bytes = 0;
  const lines = names.map((name) => {
    const { size, mtimeMs } = statSync(join(root, name));
    bytes += size;
    return `${name} ${size} ${mtimeMs}`;
  });
  return { fingerprint: lines.join('\n'), bytes };
}

/**
 * {@link loadPackage} with resources parsed on first use. A package of at least `minBytes` is read
 * through an index in the cache folder (one file per package path, rebuilt when any of its files'
 * size or mtime changes), so loading it again costs reading the index only.
 */
export async function loadPackageIndex(path: string, options: PackageCacheOptions | false = {}): Promise<FhirPackageIndex> {
  const absolute = resolvePath(path);
  const { fingerprint, bytes } = packageFingerprint(absolute);
  type Meta = Pick<FhirPackageIndex, 'manifest' | 'issues'>;
  // A tarball is always indexed: unpacking it is the cost, and its size says little of its content (the
  // extensions pack is 0.7 MB packed, 14 MB of JSON).
  if (options === false || (!TGZ.test(absolute) && bytes < (options.minBytes ?? PACKAGE_CACHE_MIN_BYTES))) {
    const pkg = await loadPackage(path);
    const resources = pkg.resources.map(({ resource, file }) => ({ summary: summarize(resource), file, load: () => resource }));
    return { manifest: pkg.manifest, path, resources, issues: pkg.issues };
  }
  // Keyed by the fingerprint itself (no digest): exact, and a warm start need not load node:crypto.
  const cachePath = join(options.dir ?? cacheDirectory(), `pkg-${fileKey(absolute)}.fdq`);
  let index = openIndex<Meta>(cachePath, fingerprint);
  if (!index) {
    const pkg = await loadPackage(path);
    index = writeIndex<Meta>(cachePath, fingerprint, { manifest: pkg.manifest, issues: pkg.issues }, pkg.resources);
  }
  return { ...index.meta, path, resources: index.resources };
}

/**
 * What a folder that is not itself a package holds, recursively and sorted: packages (.tgz files and
 * package folders, e.g. a folder of shipped packages) and loose JSON/XML files; dot files are skipped.
 */
async function folderContents(dir: string, found = { packages: [] as string[], files: [] as string[] }) {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (packageRoot(path)) found.packages.push(path);
      else await folderContents(path, found);
    } else if (TGZ.test(entry.name)) found.packages.push(path);
    else if (/\.(json|xml)$/i.test(entry.name)) found.files.push(path);
  }
  return found;
}

interface Candidate {
  version: string;
  path: string;
}

/** Packages available in the search folders, by id; read once per loadConformance call. */
async function scanSearchPaths(paths: string[], issues: Issue[]): Promise<Map<string, Candidate[]>> {
  const found = new Map<string, Candidate[]>();
  const add = (id: string, version: string, path: string) => {
    const list = found.get(id) ?? [];
    list.push({ version, path });
    found.set(id, list);
  };
  for (const dir of paths) {
    if (!existsSync(dir)) continue;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = entry.name.replace(TGZ, '');
      const hash = /^([^#]+)#(.+)$/.exec(name);
      if (hash) add(hash[1], hash[2], path);
      else if (entry.isFile() && TGZ.test(entry.name)) {
        const npm = /^(.+?)-(\d+\.\d+.*)$/.exec(name); // npm pack naming: <id>-<version>.tgz
        if (npm) add(npm[1], npm[2], path);
      } else if (entry.isDirectory()) {
        const root = packageRoot(path);
        if (!root) continue;
        const manifestPath = join(root, 'package.json');
        const manifest = parseJson(decode(await readFile(manifestPath)), manifestPath, issues) as Partial<PackageManifest> | undefined;
        if (typeof manifest?.name === 'string' && typeof manifest.version === 'string') add(manifest.name, manifest.version, path);
      }
    }
  }
  return found;
}

function describe(origin: ResourceOrigin): string {
  if (origin.packageId) return origin.file ? `${origin.packageId} (${origin.file})` : origin.packageId;
  return origin.file ?? 'unknown source';
}

/**
 * Loads implementation guides and their package dependencies (recursively, each id#version once)
 * into a store whose parent is the shared R4 core.
 */
export async function loadConformance(options: LoadConformanceOptions = {}): Promise<ConformanceLoadResult> {
  const includeCore = options.includeCore ?? true;
  const core = includeCore ? await loadR4Core() : undefined;
  const store = new ConformanceStore({ parent: core });
  const packages: PackageInfo[] = [];
  const issues: Issue[] = [];
  if (core) {
    packages.push({
      id: R4_CORE_ID,
      version: R4_CORE_VERSION,
      fhirVersions: [R4_CORE_VERSION],
      dependencies: {},
      path: r4CoreDirectory(),
      resourceCount: core.size,
      provenance: { kind: 'built-in' },
    });
  }
  /** id → loaded versions. */
  const loaded = new Map<string, PackageInfo[]>();
  const pending: Array<{ id: string; version: string; requestedBy: string }> = [];

  const addPackage = async (path: string, provenance: PackageProvenance): Promise<PackageInfo | undefined> => {
    let pkg: FhirPackageIndex;
    try {
      pkg = await loadPackageIndex(path, options.packageCache);
    } catch (err) {
      issues.push(issue('error', 'invalid', 'package-invalid', (err as Error).message));
      return undefined;
    }
    const { name: id, version } = pkg.manifest;
    const existing = loaded.get(id)?.find((p) => p.version === version);
    if (existing) return existing;
    issues.push(...pkg.issues);
    const packageId = `${id}#${version}`;
    for (const resource of pkg.resources) store.addLazy(resource, { packageId, file: resource.file });
    const dependencies = pkg.manifest.dependencies ?? {};
    const info: PackageInfo = {
      id,
      version,
      fhirVersions: pkg.manifest.fhirVersions ?? [],
      dependencies,
      path,
      resourceCount: pkg.resources.length,
      provenance,
    };
    packages.push(info);
    loaded.set(id, [...(loaded.get(id) ?? []), info]);
    // The built-in pack's terminology dependency is not shipped: the core's code systems stand in for it.
    if (provenance.kind !== 'built-in') {
      for (const [depId, depVersion] of Object.entries(dependencies)) pending.push({ id: depId, version: depVersion, requestedBy: packageId });
    }
    return info;
  };
  if (core) await addPackage(EXTENSIONS_PACK_PATH, { kind: 'built-in' });

  /** Reads in parallel, adds in the given order (first loaded wins on conflicts). */
  const addLooseFiles = async (files: string[]) => {
    const queue = await fileQueue();
    const results = await queue.addAll(files.map((file) => () => loadResourceFile(file)));
    results.forEach(({ resources, issues: fileIssues }, i) => {
      issues.push(...fileIssues);
      for (const resource of resources) store.add(resource, { file: files[i] });
    });
  };

  for (const ig of options.igs ?? []) {
    const path = resolvePath(ig);
    if (!existsSync(path)) {
      issues.push(issue('error', 'not-found', 'package-not-found', `${ig}: no such file or folder`));
    } else if (await isPackagePath(path)) {
      await addPackage(path, { kind: 'given' });
    } else if ((await stat(path)).isDirectory()) {
      const { packages: inner, files } = await folderContents(path);
      await addLooseFiles(files);
      for (const pkg of inner) await addPackage(pkg, { kind: 'given' });
    } else {
      await addLooseFiles([path]);
    }
  }

  let available: Map<string, Candidate[]> | undefined;
  for (let next = pending.shift(); next; next = pending.shift()) {
    const { id, version: wanted, requestedBy } = next;
    const provenance: PackageProvenance = { kind: 'dependency', requestedBy, requestedVersion: wanted };
    const mismatch = (using: string) =>
      issues.push(
        issue('warning', 'not-found', 'package-dependency-version-mismatch',
          `${requestedBy} depends on ${id}#${wanted}, which is not available; using ${id}#${using} instead`),
      );
    if (id === R4_CORE_ID) {
      if (includeCore && !versionMatches(wanted, R4_CORE_VERSION)) mismatch(R4_CORE_VERSION);
      continue;
    }
    const have = loaded.get(id) ?? [];
    if (have.some((p) => versionMatches(wanted, p.version))) continue;
    available ??= await scanSearchPaths(options.packageSearchPaths ?? [], issues);
    const candidates = available.get(id) ?? [];
    const match = newest(candidates.filter((c) => versionMatches(wanted, c.version)), (c) => c.version);
    if (match) {
      await addPackage(match.path, provenance);
      continue;
    }
    // Another version already loaded is preferred over loading a second one.
    const fallbackLoaded = newest(have, (p) => p.version);
    const fallback = newest(candidates, (c) => c.version);
    if (fallbackLoaded) {
      mismatch(fallbackLoaded.version);
    } else if (fallback) {
      const info = await addPackage(fallback.path, provenance);
      if (info) mismatch(info.version);
    } else {
      issues.push(
        issue('error', 'not-found', 'package-dependency-missing', `${requestedBy} depends on ${id}#${wanted}, which is not available`),
      );
    }
  }

  for (const conflict of store.conflicts()) {
    const canonical = conflict.version ? `${conflict.url}|${conflict.version}` : conflict.url;
    issues.push(
      issue('warning', 'business-rule', 'package-conflicting-definition',
        `${conflict.resourceType} ${canonical} is defined differently in ${conflict.origins.map(describe).join(' and ')}; using the one from ${describe(conflict.origins[0])}`),
    );
  }
  return { store, packages, issues };
}
