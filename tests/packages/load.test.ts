import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create as createTar } from 'tar';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance, loadPackage, loadResourceFile } from '../../src/packages/load.js';
import { createValidator } from '../../src/index.js';
import type { CanonicalResource } from '../../src/packages/types.js';

const CASES = '/work/shared/conformance/fhir-test-cases-r4/cases';
const NESTED = join(CASES, 'nested-package-version-dependencies');
const VERSIONS_1 = join(NESTED, 'hl7.fhir.test.versions#0.1.0.tgz');
const VERSIONS_2 = join(NESTED, 'hl7.fhir.test.versions#0.2.0.tgz');
const OTHER_1 = join(NESTED, 'hl7.fhir.test.versions.other#0.1.0.tgz');
const OTHER_2 = join(NESTED, 'hl7.fhir.test.versions.other#0.2.0.tgz');
const VS = 'http://hl7.org/fhir/test/ValueSet/package-version-test-valueset';
const PROFILE = 'http://hl7.org/fhir/test/StructureDefinition/package-version-test-profile';

const ids = (issues: ReadonlyArray<{ messageId: string }>) => issues.map((i) => i.messageId);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'fhirdq-packages-'));
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

function valueSet(url: string, version: string, extra: Record<string, unknown> = {}) {
  return { resourceType: 'ValueSet', id: url.split('/').pop(), url, version, status: 'active', ...extra };
}

describe('loadPackage', () => {
  it('reads an npm-style tarball', async () => {
    const pkg = await loadPackage(VERSIONS_1);
    expect(pkg.manifest).toMatchObject({ name: 'hl7.fhir.test.versions', version: '0.1.0', fhirVersions: ['4.0.1'] });
    expect(pkg.resources.map((r) => [r.file, r.resource.resourceType])).toEqual([
      ['profile.json', 'StructureDefinition'],
      ['valueset.json', 'ValueSet'],
    ]);
    expect(pkg.issues).toEqual([]);
  });

  it('skips macOS AppleDouble and .DS_Store entries', async () => {
    const pkg = await loadPackage(OTHER_1);
    expect(pkg.manifest.dependencies).toEqual({ 'hl7.fhir.test.versions': '0.1.0' });
    expect(pkg.resources.map((r) => r.file)).toEqual(['profile.json']);
    expect(pkg.issues).toEqual([]);
  });

  it('reads a folder that is the package, honouring .index.json and ignoring subfolders', async () => {
    const dir = tempDir();
    writeJson(join(dir, 'package.json'), { name: 'example.pkg', version: '1.0.0', fhirVersions: ['4.0.1'] });
    writeJson(join(dir, 'ValueSet-a.json'), valueSet('http://example.org/ValueSet/a', '1.0.0'));
    writeJson(join(dir, 'ValueSet-unlisted.json'), valueSet('http://example.org/ValueSet/unlisted', '1.0.0'));
    writeJson(join(dir, 'example', 'Patient-p.json'), { resourceType: 'Patient', id: 'p' });
    writeJson(join(dir, '.index.json'), { 'index-version': 1, files: [{ filename: 'ValueSet-a.json', resourceType: 'ValueSet' }] });
    const pkg = await loadPackage(dir);
    expect(pkg.manifest.name).toBe('example.pkg');
    expect(pkg.resources.map((r) => r.file)).toEqual(['ValueSet-a.json']);
  });

  it('reads a folder holding package/package.json and reports broken files', async () => {
    const dir = tempDir();
    writeJson(join(dir, 'package', 'package.json'), { name: 'example.nested', version: '2.0.0' });
    writeJson(join(dir, 'package', 'ValueSet-b.json'), valueSet('http://example.org/ValueSet/b', '2.0.0'));
    writeFileSync(join(dir, 'package', 'broken.json'), '{"resourceType": ');
    const pkg = await loadPackage(dir);
    expect(pkg.manifest.version).toBe('2.0.0');
    expect(pkg.resources.map((r) => r.file)).toEqual(['ValueSet-b.json']);
    expect(ids(pkg.issues)).toEqual(['package-file-invalid']);
  });

  it('rejects a folder without a manifest', async () => {
    await expect(loadPackage(tempDir())).rejects.toThrow(/package\.json/);
  });
});

describe('loadConformance with the nested version packages', () => {
  it('follows a dependency found in a search path', async () => {
    const { store, packages, issues } = await loadConformance({ igs: [OTHER_1], packageSearchPaths: [NESTED] });
    expect(issues).toEqual([]);
    expect(packages.map((p) => `${p.id}#${p.version}`)).toEqual([
      'hl7.fhir.r4.core#4.0.1',
      'hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1',
      'hl7.fhir.test.versions.other#0.1.0',
      'hl7.fhir.test.versions#0.1.0',
    ]);
    expect(packages[3]).toMatchObject({
      path: VERSIONS_1,
      resourceCount: 2,
      fhirVersions: ['4.0.1'],
      provenance: { kind: 'dependency', requestedBy: 'hl7.fhir.test.versions.other#0.1.0', requestedVersion: '0.1.0' },
    });
    expect(store.resolve(VS)?.version).toBe('0.1.0');
    expect(store.originOf(store.resolve(VS)!)).toEqual({ packageId: 'hl7.fhir.test.versions#0.1.0', file: 'valueset.json' });
    expect(store.resolve('http://hl7.org/fhir/StructureDefinition/Observation')).toBeDefined();
  });

  it('picks the declared version when several are available', async () => {
    const { store, packages, issues } = await loadConformance({ igs: [OTHER_2], packageSearchPaths: [NESTED] });
    expect(issues).toEqual([]);
    expect(packages.map((p) => p.version)).toEqual(['4.0.1', '5.3.0-ballot-tc1', '0.2.0', '0.2.0']);
    expect(store.resolve(VS)?.version).toBe('0.2.0');
    expect(store.resolve(`${VS}|0.1.0`)).toBeUndefined();
  });

  it('uses a given package to satisfy a dependency, loading each package once', async () => {
    const { packages, issues } = await loadConformance({ igs: [VERSIONS_1, OTHER_1, VERSIONS_1], includeCore: false });
    expect(issues).toEqual([]);
    expect(packages.map((p) => `${p.id}#${p.version}:${p.provenance?.kind}`)).toEqual([
      'hl7.fhir.test.versions#0.1.0:given',
      'hl7.fhir.test.versions.other#0.1.0:given',
    ]);
  });

  it('loads two versions of a package side by side when both are asked for', async () => {
    const { store, packages, issues } = await loadConformance({ igs: [OTHER_1, OTHER_2], packageSearchPaths: [NESTED], includeCore: false });
    expect(issues).toEqual([]);
    expect(packages).toHaveLength(4);
    expect(store.resolve(VS)?.version).toBe('0.2.0');
    expect(store.resolve(`${VS}|0.1`)?.version).toBe('0.1.0');
    expect(store.resolve<CanonicalResource & { compose: unknown }>(`${VS}|0.1.0`)?.compose).toEqual({ include: [{ system: 'http://snomed.info/sct' }] });
    expect(store.conflicts()).toEqual([]);
  });

  it('falls back to another version of a dependency with a warning', async () => {
    const dir = tempDir();
    copyFileSync(VERSIONS_2, join(dir, 'hl7.fhir.test.versions#0.2.0.tgz'));
    const { store, packages, issues } = await loadConformance({ igs: [OTHER_1], packageSearchPaths: [dir], includeCore: false });
    expect(ids(issues)).toEqual(['package-dependency-version-mismatch']);
    expect(issues[0]).toMatchObject({ severity: 'warning' });
    expect(issues[0].message).toContain('hl7.fhir.test.versions#0.1.0');
    expect(issues[0].message).toContain('hl7.fhir.test.versions#0.2.0');
    expect(packages[1]).toMatchObject({ version: '0.2.0', provenance: { requestedVersion: '0.1.0' } });
    expect(store.resolve(VS)?.version).toBe('0.2.0');
  });

  it('uses an already loaded other version as fallback', async () => {
    const { packages, issues } = await loadConformance({ igs: [VERSIONS_1, OTHER_2], includeCore: false });
    expect(ids(issues)).toEqual(['package-dependency-version-mismatch']);
    expect(issues[0].message).toMatch(/depends on hl7\.fhir\.test\.versions#0\.2\.0.*using hl7\.fhir\.test\.versions#0\.1\.0/);
    expect(packages).toHaveLength(2);
  });

  it('reports a dependency that is not available at all', async () => {
    const { packages, issues } = await loadConformance({ igs: [OTHER_1], includeCore: false });
    expect(ids(issues)).toEqual(['package-dependency-missing']);
    expect(issues[0]).toMatchObject({ severity: 'error', code: 'not-found' });
    expect(issues[0].message).toContain('hl7.fhir.test.versions#0.1.0');
    expect(packages).toHaveLength(1);
  });

  it('reports a package without a usable manifest', async () => {
    const dir = tempDir();
    writeJson(join(dir, 'package.json'), { description: 'no name or version' });
    const { issues, packages } = await loadConformance({ igs: [dir], includeCore: false });
    expect(ids(issues)).toEqual(['package-invalid']);
    expect(packages).toEqual([]);
  });

  it('reports a missing ig path', async () => {
    const { issues } = await loadConformance({ igs: [join(NESTED, 'nope.tgz')], includeCore: false });
    expect(ids(issues)).toEqual(['package-not-found']);
  });
});

describe('loadConformance with packages built here', () => {
  let cache: string;
  let ig: string;

  beforeAll(async () => {
    // ig -> mid (FHIR cache layout folder) -> leaf (npm-pack tarball, newest 1.0.x wanted), plus core.
    cache = tempDir();
    ig = join(tempDir(), 'ig');
    writeJson(join(ig, 'package.json'), {
      name: 'example.ig', version: '1.0.0', dependencies: { 'hl7.fhir.r4.core': '4.0.1', 'example.mid': '2.1.0' },
    });
    writeJson(join(ig, 'ValueSet-shared.json'), valueSet('http://example.org/ValueSet/shared', '1.0.0', { title: 'from ig' }));
    const mid = join(cache, 'example.mid#2.1.0', 'package');
    writeJson(join(mid, 'package.json'), { name: 'example.mid', version: '2.1.0', dependencies: { 'example.leaf': '1.0.x' } });
    writeJson(join(mid, 'ValueSet-shared.json'), valueSet('http://example.org/ValueSet/shared', '1.0.0', { title: 'from mid' }));
    writeJson(join(mid, 'ValueSet-patched-gender.json'), {
      ...valueSet('http://hl7.org/fhir/ValueSet/administrative-gender', '4.0.1'), title: 'changed',
    });
    for (const version of ['1.0.2', '1.0.10', '1.1.0']) {
      const src = join(tempDir(), 'package');
      writeJson(join(src, 'package.json'), { name: 'example.leaf', version });
      writeJson(join(src, 'CodeSystem-leaf.json'), { resourceType: 'CodeSystem', id: 'leaf', url: 'http://example.org/CodeSystem/leaf', version });
      await createTar({ gzip: true, file: join(cache, `example.leaf-${version}.tgz`), cwd: dirname(src) }, ['package']);
    }
  });

  it('follows dependencies recursively across cache layouts', async () => {
    const { store, packages, issues } = await loadConformance({ igs: [ig], packageSearchPaths: [cache] });
    expect(packages.map((p) => `${p.id}#${p.version}`)).toEqual([
      'hl7.fhir.r4.core#4.0.1', 'hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1', 'example.ig#1.0.0', 'example.mid#2.1.0', 'example.leaf#1.0.10',
    ]);
    expect(store.resolve('http://example.org/CodeSystem/leaf')?.version).toBe('1.0.10');
    expect(ids(issues)).toEqual(['package-conflicting-definition', 'package-conflicting-definition']);
  });

  it('reports conflicting definitions, keeping the first loaded', async () => {
    const { store, issues } = await loadConformance({ igs: [ig], packageSearchPaths: [cache] });
    expect(store.resolve<CanonicalResource & { title?: string }>('http://example.org/ValueSet/shared')?.title).toBe('from ig');
    expect(store.resolve<CanonicalResource & { title?: string }>('http://hl7.org/fhir/ValueSet/administrative-gender')?.title).not.toBe('changed');
    const messages = issues.map((i) => i.message);
    expect(messages).toContain(
      'ValueSet http://example.org/ValueSet/shared|1.0.0 is defined differently in example.ig#1.0.0 (ValueSet-shared.json) and ' +
        'example.mid#2.1.0 (ValueSet-shared.json); using the one from example.ig#1.0.0 (ValueSet-shared.json)',
    );
    expect(messages.some((m) => m.includes('administrative-gender|4.0.1') && m.includes('hl7.fhir.r4.core#4.0.1'))).toBe(true);
    expect(issues.every((i) => i.severity === 'warning')).toBe(true);
  });
});

describe('loose conformance files', () => {
  const manifest = JSON.parse(readFileSync('/work/shared/conformance/fhir-test-cases-r4/manifest.json', 'utf8')) as {
    cases: Array<{ supporting?: string[] }>;
  };
  const supporting = [...new Set(manifest.cases.flatMap((c) => c.supporting ?? []))].sort();

  it('loads every supporting file of the conformance manifest, JSON and XML', async () => {
    expect(supporting.filter((f) => f.endsWith('.xml')).length).toBeGreaterThan(5);
    const { store, issues } = await loadConformance({ igs: supporting.map((f) => join(CASES, f)) });
    expect(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    for (const file of supporting) {
      const { resources } = await loadResourceFile(join(CASES, file));
      expect(resources, file).toHaveLength(1);
      const url = resources[0].url as string | undefined;
      if (url) expect(store.resolve(url, resources[0].resourceType), file).toBeDefined();
      expect(store.originOf(resources[0])).toBeUndefined(); // a fresh parse is a different object
    }
    const xmlProfile = store.resolve('http://hl7.org/fhir/test/StructureDefinition/ext-ctxt-defn');
    expect(xmlProfile?.resourceType).toBe('StructureDefinition');
    expect(store.originOf(xmlProfile!)?.file).toBe(join(CASES, 'ext-ctxt-defn.xml'));
  });

  it('loads a supporting profile next to its package, resolving the base from the package', async () => {
    const { store, issues } = await loadConformance({ igs: [join(NESTED, 'profile.json'), VERSIONS_2] });
    expect(issues).toEqual([]);
    const profile = store.resolve<CanonicalResource & { baseDefinition: string }>(`${PROFILE}-x`)!;
    expect(store.resolve(profile.baseDefinition)?.version).toBe('0.2.0');
  });

  it('adds the entries of a collection Bundle and walks folders recursively', async () => {
    const dir = tempDir();
    writeJson(join(dir, 'sub', 'bundle.json'), {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: valueSet('http://example.org/ValueSet/x', '1') }, { resource: valueSet('http://example.org/ValueSet/y', '1') }],
    });
    writeJson(join(dir, 'cs.json'), { resourceType: 'CodeSystem', id: 'cs', url: 'http://example.org/CodeSystem/cs' });
    writeFileSync(join(dir, '._cs.json'), 'binary junk');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const { store, issues, packages } = await loadConformance({ igs: [dir], includeCore: false });
    expect(issues).toEqual([]);
    expect(packages).toEqual([]);
    expect(store.all('ValueSet').map((v) => v.url)).toEqual(['http://example.org/ValueSet/x', 'http://example.org/ValueSet/y']);
    expect(store.byId('CodeSystem', 'cs')).toBeDefined();
    expect(store.all('Bundle')).toEqual([]);
  });

  it('loads the packages and loose files of a folder holding packages', async () => {
    const dir = tempDir();
    copyFileSync(OTHER_1, join(dir, 'hl7.fhir.test.versions.other#0.1.0.tgz'));
    const unpacked = join(dir, 'cache', 'hl7.fhir.test.versions#0.1.0', 'package');
    for (const { resource, file } of (await loadPackage(VERSIONS_1)).resources) writeJson(join(unpacked, file), resource);
    writeJson(join(unpacked, 'package.json'), { name: 'hl7.fhir.test.versions', version: '0.1.0' });
    copyFileSync(join(NESTED, 'profile-other.json'), join(dir, 'profile-other.json'));
    const { store, packages, issues } = await loadConformance({ igs: [dir], includeCore: false });
    expect(issues).toEqual([]);
    expect(packages.map((p) => `${p.id}#${p.version}:${p.provenance?.kind}`)).toEqual([
      'hl7.fhir.test.versions#0.1.0:given',
      'hl7.fhir.test.versions.other#0.1.0:given',
    ]);
    expect(store.resolve(VS)?.version).toBe('0.1.0');
    expect(store.resolve(`${PROFILE}-other-x`)).toBeDefined();
    expect(store.all('StructureDefinition')).toHaveLength(3);
  });

  it('reports unreadable XML and JSON with the file name', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.xml'), '<StructureDefinition xmlns="http://hl7.org/fhir"><url value="x"/>');
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    const { issues } = await loadConformance({ igs: [dir], includeCore: false });
    expect(issues.length).toBeGreaterThanOrEqual(2);
    expect(issues.some((i) => i.message.startsWith(join(dir, 'bad.xml')))).toBe(true);
    expect(issues.find((i) => i.message.startsWith(join(dir, 'bad.json')))?.messageId).toBe('package-file-invalid');
  });
});

describe('createValidator with a package file', () => {
  it("finds the package's dependencies beside it (name#version.tgz in the same folder)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fhirdq-beside-'));
    copyFileSync(OTHER_1, join(dir, 'hl7.fhir.test.versions.other#0.1.0.tgz'));
    const alone = await createValidator({ igs: [join(dir, 'hl7.fhir.test.versions.other#0.1.0.tgz')], includeShippedPackages: false });
    expect(ids(alone.loadIssues)).toContain('package-dependency-missing');
    copyFileSync(VERSIONS_1, join(dir, 'hl7.fhir.test.versions#0.1.0.tgz'));
    const beside = await createValidator({ igs: [join(dir, 'hl7.fhir.test.versions.other#0.1.0.tgz')], includeShippedPackages: false });
    expect(beside.loadIssues).toEqual([]);
  });
});

describe('the HL7 extensions pack', () => {
  it('is loaded with the core, as the Java validator does, without asking for its terminology dependency', async () => {
    const { store, packages, issues } = await loadConformance({});
    expect(issues).toEqual([]);
    expect(packages[1]).toMatchObject({ id: 'hl7.fhir.uv.extensions.r4', version: '5.3.0-ballot-tc1', provenance: { kind: 'built-in' } });
    // Global extensions newer than R4, and the pack's versions of the core's own extensions.
    expect(store.resolve('http://hl7.org/fhir/StructureDefinition/bodySite')?.version).toBe('5.3.0-ballot-tc1');
    expect(store.resolve('http://hl7.org/fhir/StructureDefinition/humanname-mothers-family')?.version).toBe('5.3.0-ballot-tc1');
    expect(store.resolve('http://hl7.org/fhir/StructureDefinition/humanname-mothers-family|4.0.1')?.version).toBe('4.0.1');
  });

  it('is not loaded without the core', async () => {
    const { packages } = await loadConformance({ includeCore: false });
    expect(packages).toEqual([]);
  });
});
