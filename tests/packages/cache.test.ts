import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cachedJson, openIndex, writeIndex } from '../../src/packages/cache.js';
import { openR4Core, openR4CoreIndex, r4CoreCacheFile, r4CoreCacheKey, readR4CoreBundles, R4_CORE_PACKAGE_ID } from '../../src/packages/core.js';
import { loadConformance, loadPackageIndex } from '../../src/packages/load.js';
import { ConformanceStore, summarize } from '../../src/packages/store.js';
import type { CanonicalResource } from '../../src/packages/types.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'fhirdq-cache-'));

function writePackage(dir: string, name: string, count: number): string {
  mkdirSync(join(dir, 'package'), { recursive: true });
  writeFileSync(join(dir, 'package', 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
  for (let i = 0; i < count; i++) {
    const url = `http://example.org/ValueSet/vs-${i}`;
    writeFileSync(join(dir, 'package', `ValueSet-vs-${i}.json`), JSON.stringify({ resourceType: 'ValueSet', id: `vs-${i}`, url, version: '1.0.0', status: 'active', title: `Zoë – waarde ${i} 😀` }));
  }
  writeFileSync(join(dir, 'package', 'ValueSet-broken.json'), '{ not json');
  return dir;
}

describe('R4 core cache', () => {
  let dir: string;
  let eager: ConformanceStore;
  let lazy: ConformanceStore;

  beforeAll(() => {
    dir = tempDir();
    openR4CoreIndex(dir); // cold build
    // A copy under another path is read from disk, not from this process's memo of opened indexes.
    const copy = tempDir();
    copyFileSync(r4CoreCacheFile(dir), r4CoreCacheFile(copy));
    lazy = openR4Core(copy);
    eager = new ConformanceStore();
    for (const { resource, file } of readR4CoreBundles()) eager.add(resource, { packageId: R4_CORE_PACKAGE_ID, file });
  });

  it('resolves the same resources, with the same origins, as loading the bundles eagerly', () => {
    const canonicals = ['StructureDefinition', 'ValueSet', 'CodeSystem', 'OperationDefinition', 'CapabilityStatement']
      .flatMap((type) => eager.all(type).map((r) => ({ type, url: r.url!, version: r.version })));
    expect(canonicals.length).toBeGreaterThan(2500);
    const step = Math.floor(canonicals.length / 200);
    const sample = canonicals.filter((_, i) => i % step === 0).slice(0, 200);
    expect(sample).toHaveLength(200);
    for (const { type, url, version } of sample) {
      const expected = eager.resolve(`${url}|${version}`, type);
      const actual = lazy.resolve(`${url}|${version}`, type);
      expect(actual, url).toEqual(expected);
      expect(lazy.resolve(url, type)).toEqual(eager.resolve(url, type));
      expect(lazy.originOf(actual!)).toEqual(eager.originOf(expected!));
    }
    expect(lazy.byId('StructureDefinition', 'Observation')).toEqual(eager.byId('StructureDefinition', 'Observation'));
  });

  it('has every resource of each type, and summaries that match the resources', () => {
    for (const type of ['ValueSet', 'StructureDefinition', 'CodeSystem', 'ImplementationGuide']) {
      expect(lazy.summaries(type).length, type).toBe(eager.all(type).length);
    }
    expect(lazy.summaries('StructureDefinition')).toEqual(eager.all('StructureDefinition').map(summarize));
    expect(lazy.summaries('CodeSystem').filter((s) => s.valueSet).length).toBeGreaterThan(100);
    expect(lazy.all('ValueSet')).toEqual(eager.all('ValueSet'));
    expect(lazy.all('StructureDefinition').length).toBe(eager.all('StructureDefinition').length);
    expect(lazy.size).toBe(eager.size);
  });

  it('is rebuilt when it was made for another key or is damaged', () => {
    const stale = tempDir();
    const file = r4CoreCacheFile(stale);
    writeIndex(file, `${r4CoreCacheKey()} older`, null, [{ resource: { resourceType: 'ValueSet', url: 'http://x' }, file: 'x.json' }]);
    expect(openIndex(file, r4CoreCacheKey())).toBeUndefined();
    expect(openR4CoreIndex(stale).resources.length).toBe(eager.size);
    expect(statSync(file).size).toBe(statSync(r4CoreCacheFile(dir)).size);

    const damaged = tempDir();
    copyFileSync(r4CoreCacheFile(dir), r4CoreCacheFile(damaged));
    truncateSync(r4CoreCacheFile(damaged), 1_000_000);
    expect(openR4CoreIndex(damaged).resources.length).toBe(eager.size);
    expect(statSync(r4CoreCacheFile(damaged)).size).toBe(statSync(r4CoreCacheFile(dir)).size);
  });

  it('survives two processes building it at the same time', async () => {
    const shared = tempDir();
    const pkg = writePackage(tempDir(), 'example.concurrent', 30);
    const child = join(dirname(fileURLToPath(import.meta.url)), 'cache-child.ts');
    const run = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', child, shared, pkg], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
        proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
        proc.on('close', (code) => resolve({ code, out, err }));
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.out).toBe(a.out);
    const result = JSON.parse(a.out) as { structureDefinitions: number; valueSets: number; packageResources: string[] };
    expect(result.structureDefinitions).toBe(eager.all('StructureDefinition').length);
    expect(result.valueSets).toBe(eager.all('ValueSet').length);
    expect(result.packageResources).toHaveLength(30);
    expect(readdirSync(shared).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // What is left on disk is complete: opening it needs no rebuild.
    expect(openIndex(r4CoreCacheFile(shared), r4CoreCacheKey())?.resources.length).toBe(eager.size);
  });
});

describe('package cache', () => {
  it('reads a package through its index and rebuilds it when a file changes', async () => {
    const dir = tempDir();
    const pkg = writePackage(tempDir(), 'example.cached', 20);
    const first = await loadPackageIndex(pkg, { dir, minBytes: 0 });
    expect(first.manifest.name).toBe('example.cached');
    expect(first.resources).toHaveLength(20);
    expect(first.issues.map((i) => i.messageId)).toEqual(['package-file-invalid']);
    expect(first.resources[0].load()).toMatchObject({ id: 'vs-0', title: 'Zoë – waarde 0 😀' });
    const [cacheFile] = readdirSync(dir);
    const built = statSync(join(dir, cacheFile)).mtimeMs;

    const again = await loadPackageIndex(pkg, { dir, minBytes: 0 });
    expect(again.resources.map((r) => r.summary.url)).toEqual(first.resources.map((r) => r.summary.url));
    expect(again.issues).toEqual(first.issues);
    expect(statSync(join(dir, cacheFile)).mtimeMs).toBe(built);

    const changed = join(pkg, 'package', 'ValueSet-vs-3.json');
    writeFileSync(changed, JSON.stringify({ resourceType: 'ValueSet', id: 'vs-3', url: 'http://example.org/ValueSet/vs-3', version: '2.0.0', status: 'active' }));
    utimesSync(changed, new Date(), new Date(Date.now() + 5000));
    const rebuilt = await loadPackageIndex(pkg, { dir, minBytes: 0 });
    expect(rebuilt.resources.find((r) => r.summary.id === 'vs-3')?.load().version).toBe('2.0.0');
    expect(readdirSync(dir)).toEqual([cacheFile]);
  });

  it('is used by loadConformance with the same results as reading the package directly', async () => {
    const pkg = writePackage(tempDir(), 'example.same', 25);
    const dir = tempDir();
    const direct = await loadConformance({ igs: [pkg], includeCore: false, packageCache: false });
    for (let i = 0; i < 2; i++) {
      const cached = await loadConformance({ igs: [pkg], includeCore: false, packageCache: { dir, minBytes: 0 } });
      expect(cached.packages).toEqual(direct.packages);
      expect(cached.issues).toEqual(direct.issues);
      expect(cached.store.all('ValueSet')).toEqual(direct.store.all('ValueSet'));
      const vs = cached.store.resolve<CanonicalResource>('http://example.org/ValueSet/vs-7')!;
      expect(cached.store.originOf(vs)).toEqual({ packageId: 'example.same#1.0.0', file: 'ValueSet-vs-7.json' });
    }
    expect(readdirSync(dir)).toHaveLength(1);
  });
});

describe('cachedJson', () => {
  it('builds once per key and rebuilds for a new key', () => {
    const dir = tempDir();
    let builds = 0;
    const build = () => ({ n: ++builds });
    expect(cachedJson('thing', 'k1', build, dir)).toEqual({ n: 1 });
    expect(cachedJson('thing', 'k1', build, dir)).toEqual({ n: 1 });
    expect(cachedJson('thing', 'k2', build, dir)).toEqual({ n: 2 });
    expect(builds).toBe(2);
  });
});
