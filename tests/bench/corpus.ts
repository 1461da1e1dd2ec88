/**
 * Reproducible corpora for the benchmark, generated under .cache/bench/corpus (never committed):
 * the valid JSON resources of the conformance suite cycled to N NDJSON lines, the MP9/PZP examples of the
 * national packages in profiles/, and large NDJSON files for the memory check, streamed to disk.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { CONFORMANCE_DIR, CORPUS_DIR, PROFILES_DIR, CACHE, distModule } from './paths.js';

export interface Corpus {
  /** NDJSON file, one resource a line. */
  file: string;
  /** A file holding only the first resource, for the start-up runs. */
  first: string;
  /** Distinct source resources that were cycled. */
  sources: number;
  lines: number;
  bytes: number;
}

export type CorpusResult = Corpus | { skipped: string };

interface ManifestCase {
  file: string;
  expected: { errors: number };
}

/** The conformance cases with a .json file whose expected base errors are 0 and that parse as a resource. */
export function conformanceValidJson(dir = CONFORMANCE_DIR): { name: string; line: string }[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { cases: ManifestCase[] };
  const out: { name: string; line: string }[] = [];
  for (const c of manifest.cases) {
    if (!c.file.endsWith('.json') || c.expected.errors !== 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(join(dir, 'cases', c.file), 'utf8'));
    } catch {
      continue;
    }
    if (isResource(value)) out.push({ name: c.file, line: JSON.stringify(value) });
  }
  return out;
}

function isResource(value: unknown): value is { resourceType: string } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { resourceType?: unknown }).resourceType === 'string';
}

/** Writes `lines` cycled to `count` lines (or to at least `minBytes`), via a temp file renamed at the end. */
async function writeCycled(file: string, lines: string[], limit: { count?: number; minBytes?: number }): Promise<{ lines: number; bytes: number }> {
  if (lines.length === 0) throw new Error(`bench: no resources to write to ${file}`);
  mkdirSync(CORPUS_DIR, { recursive: true });
  const tmp = file + '.part';
  const out = createWriteStream(tmp);
  let written = 0;
  let bytes = 0;
  let chunk: string[] = [];
  let chunkBytes = 0;
  const more = () => (limit.count !== undefined ? written < limit.count : bytes < (limit.minBytes ?? 0));
  while (more()) {
    const line = lines[written % lines.length] + '\n';
    chunk.push(line);
    chunkBytes += Buffer.byteLength(line);
    bytes += Buffer.byteLength(line);
    written++;
    if (chunkBytes >= 1 << 20 || !more()) {
      // Backpressure keeps the generator's own memory flat for the 1 GB file.
      if (!out.write(chunk.join(''))) await once(out, 'drain');
      chunk = [];
      chunkBytes = 0;
    }
  }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, file);
  return { lines: written, bytes };
}

function corpusOf(file: string, lines: string[], sources: number, written: { lines: number; bytes: number }): Corpus {
  const first = file.replace(/\.ndjson$/, '.first.json');
  writeFileSync(first, lines[0]);
  return { file, first, sources, ...written };
}

/** The conformance-suite corpus (R4 core), cycled to `count` lines. */
export async function coreCorpus(count: number): Promise<Corpus> {
  const resources = conformanceValidJson();
  const lines = resources.map((r) => r.line);
  const file = resolve(CORPUS_DIR, `r4-core-${count}.ndjson`);
  return corpusOf(file, lines, resources.length, await writeCycled(file, lines, { count }));
}

/** A large NDJSON file of the core resources, at least `bytes` long; reused while its recorded size matches. */
export async function bigCorpus(bytes: number, label: string): Promise<Corpus> {
  const lines = conformanceValidJson().map((r) => r.line);
  const file = resolve(CORPUS_DIR, `r4-core-${label}.ndjson`);
  const meta = file + '.meta.json';
  let written: { lines: number; bytes: number } | undefined;
  if (existsSync(file) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { lines: number; bytes: number };
    if (m.bytes >= bytes && statSync(file).size === m.bytes) written = m;
  }
  if (!written) {
    written = await writeCycled(file, lines, { minBytes: bytes });
    writeFileSync(meta, JSON.stringify(written));
  }
  return corpusOf(file, lines, lines.length, written);
}

/** How a Bundle's entries name themselves: each its own fullUrl, or one fullUrl for all (an export's bug: bdl-7). */
export type FullUrls = 'distinct' | 'one';

/** An NDJSON corpus as one collection Bundle, each resource an entry with a urn:uuid fullUrl; reused while its size matches. */
export async function bundleOf(corpus: Corpus, fullUrls: FullUrls = 'distinct'): Promise<{ file: string; entries: number; bytes: number }> {
  const file = corpus.file.replace(/\.ndjson$/, fullUrls === 'one' ? '.one-fullurl.bundle.json' : '.bundle.json');
  const meta = file + '.meta.json';
  if (existsSync(file) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { entries: number; bytes: number };
    if (m.entries === corpus.lines && statSync(file).size === m.bytes) return { file, ...m };
  }
  const tmp = file + '.part';
  const out = createWriteStream(tmp);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('{"resourceType":"Bundle","type":"collection","entry":[\n');
  let entries = 0;
  for await (const line of createInterface({ input: createReadStream(corpus.file), crlfDelay: Infinity })) {
    if (line === '') continue;
    const uuid = `00000000-0000-4000-8000-${(fullUrls === 'one' ? 0 : entries).toString(16).padStart(12, '0')}`;
    await write(`${entries === 0 ? '' : ',\n'}{"fullUrl":"urn:uuid:${uuid}","resource":${line}}`);
    entries++;
  }
  out.end('\n]}\n');
  await once(out, 'finish');
  renameSync(tmp, file);
  const written = { entries, bytes: statSync(file).size };
  writeFileSync(meta, JSON.stringify(written));
  return { file, ...written };
}

/** Resource types that define conformance rather than hold data; the national corpus leaves them out. */
const CONFORMANCE_TYPES = new Set([
  'StructureDefinition', 'ValueSet', 'CodeSystem', 'ConceptMap', 'NamingSystem', 'ImplementationGuide',
  'SearchParameter', 'CapabilityStatement', 'OperationDefinition', 'CompartmentDefinition', 'StructureMap',
  'GraphDefinition', 'MessageDefinition', 'TerminologyCapabilities', 'ExampleScenario',
]);

const NATIONAL_IDS = /medicationprocess9|pzp/i;

interface PackageDir {
  id: string;
  dir: string;
}

/** The MP9 and PZP packages in profiles/, as folders (tgz packages are extracted under .cache/bench). */
async function nationalPackages(): Promise<PackageDir[]> {
  if (!existsSync(PROFILES_DIR)) return [];
  const found: PackageDir[] = [];
  for (const entry of readdirSync(PROFILES_DIR, { withFileTypes: true })) {
    let dir: string | undefined;
    if (entry.isDirectory()) dir = join(PROFILES_DIR, entry.name);
    else if (entry.name.endsWith('.tgz')) {
      dir = resolve(CACHE, 'national', entry.name.replace(/\.tgz$/, ''));
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        const tar = await import('tar');
        await tar.x({ file: join(PROFILES_DIR, entry.name), cwd: dir });
      }
    }
    if (!dir) continue;
    const manifest = [join(dir, 'package', 'package.json'), join(dir, 'package.json')].find((f) => existsSync(f));
    if (!manifest) continue;
    const id = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name ?? '';
    if (NATIONAL_IDS.test(id)) found.push({ id, dir });
  }
  return found;
}

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (/\.(json|xml)$/.test(entry.name) && entry.name !== 'package.json' && !entry.name.startsWith('.')) yield path;
  }
}

/** The example instances (JSON or FHIR XML) of the national packages, as NDJSON lines. */
async function nationalExamples(packages: PackageDir[]): Promise<{ lines: string[]; perPackage: Record<string, number> }> {
  const { parseFhirXml } = (await import(distModule('formats/fhir-xml.js'))) as { parseFhirXml(text: string): { resource?: unknown } };
  const lines: string[] = [];
  const perPackage: Record<string, number> = {};
  for (const pkg of packages) {
    perPackage[pkg.id] = 0;
    for (const file of filesUnder(pkg.dir)) {
      const text = readFileSync(file, 'utf8');
      let value: unknown;
      try {
        value = file.endsWith('.xml') ? parseFhirXml(text).resource : JSON.parse(text);
      } catch {
        continue;
      }
      if (!isResource(value) || CONFORMANCE_TYPES.has(value.resourceType)) continue;
      lines.push(JSON.stringify(value));
      perPackage[pkg.id]++;
    }
  }
  return { lines, perPackage };
}

/** MP9 and PZP examples cycled to `count` lines, validated against their meta.profile (national profiles). */
export async function nationalCorpus(count: number): Promise<CorpusResult & { perPackage?: Record<string, number> }> {
  const packages = await nationalPackages();
  if (packages.length === 0) return { skipped: 'national packages not built (no MP9/PZP package in profiles/)' };
  const { lines, perPackage } = await nationalExamples(packages);
  if (lines.length === 0) return { skipped: `national packages hold no example instances (${packages.map((p) => p.id).join(', ')})` };
  const file = resolve(CORPUS_DIR, `national-${count}.ndjson`);
  return { ...corpusOf(file, lines, lines.length, await writeCycled(file, lines, { count })), perPackage };
}
