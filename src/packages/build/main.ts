/**
 * `npm run profiles:build`: builds the national packages (zib2020, nl-core, MP9) from Nictiz's XML, PZP and
 * the regional package from FSH with SUSHI, into profiles/ as FHIR package folders with snapshots.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadR4Core } from '../core.js';
import { ConformanceStore } from '../store.js';
import type { FhirResource } from '../types.js';
import { BUILDER, writeFhirPackage, type PackageSpec } from './fhir-package.js';
import { MP9, nationalSpecs, NL_CORE, R4_CORE, ZIB2020 } from './national.js';
import { addSnapshots, type SnapshotIssue } from './snapshots.js';
import { readSourceInfo } from './sources.js';
import { runSushi } from './sushi.js';

export const PZP = { name: 'iknl.fhir.r4.pzp', version: '0.1.3-beta3' };
export const REGIO = { name: 'fhirdq.regio', version: '0.1.0' };
/** What PZP's sushi-config.yaml declares; only 0.12.1-beta.1 exists here. */
const PZP_DECLARED_NL = '0.12.0-beta.4';
const PZP_REPO = 'iknl-r4-pzp';

export interface BuildOptions {
  /** The shared profile sources (default ../shared/profiles-src). */
  sources: string;
  /** Output folder (default profiles). */
  out: string;
  /** The regional FSH project (default profiles/regio). */
  regio: string;
  log?: (line: string) => void;
}

export interface BuildResult {
  packages: string[];
  snapshotIssues: Array<SnapshotIssue & { package: string }>;
}

/** Adds the spec's snapshots (resolving against `store`, to which the resources are added) and writes it. */
type BuiltSpec = PackageSpec & { warnings?: string[] };

async function emit({ warnings, ...spec }: BuiltSpec, store: ConformanceStore, options: BuildOptions, result: BuildResult): Promise<string> {
  const packageId = `${spec.name}#${spec.version}`;
  for (const r of spec.resources) store.add(r, { packageId });
  const { resources, issues } = addSnapshots(spec.resources, store);
  for (const i of issues) result.snapshotIssues.push({ ...i, package: packageId });
  const folder = await writeFhirPackage(options.out, { ...spec, resources });
  result.packages.push(folder);
  options.log?.(`${packageId}: ${resources.length} resources, ${spec.examples?.length ?? 0} examples, ${issues.length} snapshot issues`);
  for (const w of warnings ?? []) options.log?.(`  SUSHI ${w}`);
  return folder;
}

async function pzpSpec(sources: string, nlCore: string, zib: string): Promise<BuiltSpec> {
  const project = join(sources, PZP_REPO);
  const substitute = (pkg: { name: string; version: string }) => ({ name: pkg.name, version: PZP_DECLARED_NL });
  const compiled = await runSushi(project, [
    { folder: zib, as: substitute(ZIB2020) },
    { folder: nlCore, as: substitute(NL_CORE) },
  ]);
  const questionnaire = JSON.parse(await readFile(join(project, 'input', 'resources', 'Questionnaire-ACP-zib2020.json'), 'utf8')) as FhirResource;
  const reason = 'not available offline; canonical URLs are unchanged between these versions';
  return {
    ...PZP,
    description: 'Advance Care Planning (PZP) IG for FHIR R4 based on zib release 2020, compiled from FSH with SUSHI.',
    canonical: 'https://fhir.iknl.nl/fhir',
    dependencies: { [NL_CORE.name]: PZP_DECLARED_NL },
    provenance: {
      source: PZP_REPO,
      ...(await readSourceInfo(project)),
      builder: BUILDER,
      substitutions: [
        { declared: `${NL_CORE.name}#${PZP_DECLARED_NL}`, used: `${NL_CORE.name}#${NL_CORE.version}`, reason },
        { declared: `${ZIB2020.name}#${PZP_DECLARED_NL}`, used: `${ZIB2020.name}#${ZIB2020.version}`, reason },
      ],
      notes: ['SUSHI ran without its automatic dependencies (hl7.fhir.uv.tools.r4, hl7.terminology.r4, hl7.fhir.uv.extensions.r4), which are not available offline.'],
    },
    resources: [...compiled.resources, questionnaire],
    warnings: compiled.warnings,
    examples: compiled.examples,
  };
}

async function regioSpec(project: string, folders: { pzp: string; mp9: string; nlCore: string; zib: string }): Promise<BuiltSpec> {
  const compiled = await runSushi(project, [{ folder: folders.pzp }, { folder: folders.mp9 }, { folder: folders.nlCore }, { folder: folders.zib }]);
  return {
    ...REGIO,
    description: 'Regional rules for the Dutch regional exchanges (ACP wishes, medication overview, nursing transfer) on the national profiles.',
    canonical: 'http://fhirdq.nl/fhir',
    dependencies: { ...R4_CORE, [PZP.name]: PZP.version, [MP9.name]: MP9.version, [NL_CORE.name]: NL_CORE.version, [ZIB2020.name]: ZIB2020.version },
    provenance: { source: 'profiles/regio', builder: BUILDER, notes: ['Compiled from the FSH in profiles/regio/input/fsh with SUSHI.'] },
    resources: compiled.resources,
    examples: compiled.examples,
    warnings: compiled.warnings,
  };
}

export async function buildProfiles(options: BuildOptions): Promise<BuildResult> {
  const result: BuildResult = { packages: [], snapshotIssues: [] };
  const store = new ConformanceStore({ parent: await loadR4Core() });
  const [zibSpec, nlSpec, mp9Spec] = await nationalSpecs(options.sources);
  // zib2020 and nl-core resolve against each other only through nl-core → zib, so zib goes first.
  const zib = await emit(zibSpec, store, options, result);
  const nlCore = await emit(nlSpec, store, options, result);
  const mp9 = await emit(mp9Spec, store, options, result);
  const pzp = await emit(await pzpSpec(options.sources, nlCore, zib), store, options, result);
  await emit(await regioSpec(options.regio, { pzp, mp9, nlCore, zib }), store, options, result);
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = process.cwd();
  const options: BuildOptions = {
    sources: resolve(root, process.env.FHIRDQ_PROFILE_SOURCES ?? '../shared/profiles-src'),
    out: resolve(root, 'profiles'),
    regio: resolve(root, 'profiles', 'regio'),
    log: (line) => console.log(line),
  };
  buildProfiles(options).then(
    (r) => {
      for (const { package: p, id, issue } of r.snapshotIssues) console.log(`  ${p} ${id}: ${issue.severity} ${issue.message}`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
