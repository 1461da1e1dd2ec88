import { describe, expect, it } from 'vitest';
import { ConformanceStore, summarize } from '../../src/packages/store.js';
import type { CanonicalResource } from '../../src/packages/types.js';

const URL = 'http://example.org/fhir/StructureDefinition/p';

function sd(version: string | undefined, extra: Record<string, unknown> = {}): CanonicalResource {
  return { resourceType: 'StructureDefinition', id: `p-${version}`, url: URL, version, ...extra };
}

describe('ConformanceStore resolution', () => {
  const store = new ConformanceStore();
  for (const v of ['1.2.0', '0.12.1', '1.10.0', '0.12.1-beta.1', '1.2.3', '1.20.0']) store.add(sd(v), { file: `${v}.json` });

  it('resolves a bare canonical to the newest version', () => {
    expect(store.resolve(URL)?.version).toBe('1.20.0');
  });

  it('resolves an exact version', () => {
    expect(store.resolve(`${URL}|0.12.1-beta.1`)?.version).toBe('0.12.1-beta.1');
    expect(store.resolve(`${URL}|1.2.0`)?.version).toBe('1.2.0');
  });

  it('resolves a partial version to the newest of that series', () => {
    expect(store.resolve(`${URL}|1.2`)?.version).toBe('1.2.3');
    expect(store.resolve(`${URL}|0.12`)?.version).toBe('0.12.1');
    expect(store.resolve(`${URL}|1`)?.version).toBe('1.20.0');
  });

  it('returns undefined for unknown canonicals and versions', () => {
    expect(store.resolve(`${URL}|9.9`)).toBeUndefined();
    expect(store.resolve(`${URL}|1.2.9`)).toBeUndefined();
    expect(store.resolve('http://example.org/none')).toBeUndefined();
  });

  it('indexes by resourceType/id, keeps load order in all(), and knows origins', () => {
    expect(store.byId('StructureDefinition', 'p-1.10.0')?.version).toBe('1.10.0');
    expect(store.byId('ValueSet', 'p-1.10.0')).toBeUndefined();
    expect(store.all('StructureDefinition').map((r) => r.version)).toEqual(['1.2.0', '0.12.1', '1.10.0', '0.12.1-beta.1', '1.2.3', '1.20.0']);
    expect(store.all('ValueSet')).toEqual([]);
    expect(store.originOf(store.resolve(URL)!)).toEqual({ file: '1.20.0.json' });
    expect(store.size).toBe(6);
  });
});

describe('ConformanceStore resource types and non-canonical resources', () => {
  it('filters by resource type when a CodeSystem and ValueSet share a canonical', () => {
    const store = new ConformanceStore();
    const url = 'http://example.org/shared';
    store.add({ resourceType: 'CodeSystem', url, version: '2.0.0' });
    store.add({ resourceType: 'ValueSet', url, version: '1.0.0' });
    expect(store.resolve(url)?.resourceType).toBe('CodeSystem');
    expect(store.resolve(url, 'ValueSet')?.version).toBe('1.0.0');
    expect(store.resolve(`${url}|1.0.0`, 'CodeSystem')).toBeUndefined();
    expect(store.conflicts()).toEqual([]);
  });

  it('keeps resources without url reachable by id only', () => {
    const store = new ConformanceStore();
    store.add({ resourceType: 'Patient', id: 'a' }, { file: 'a.json' });
    expect(store.byId('Patient', 'a')).toBeDefined();
    expect(store.all('Patient')).toHaveLength(1);
  });

  it('treats a versionless canonical as older than any version', () => {
    const store = new ConformanceStore();
    store.add(sd(undefined));
    expect(store.resolve(URL)?.version).toBeUndefined();
    store.add(sd('0.0.1'));
    expect(store.resolve(URL)?.version).toBe('0.0.1');
  });
});

describe('ConformanceStore duplicates and conflicts', () => {
  it('ignores identical duplicates', () => {
    const store = new ConformanceStore();
    expect(store.add(sd('1.0.0', { name: 'P' }), { packageId: 'a#1' })).toBe('added');
    expect(store.add(sd('1.0.0', { name: 'P' }), { packageId: 'b#1' })).toBe('duplicate');
    expect(store.size).toBe(1);
    expect(store.conflicts()).toEqual([]);
  });

  it('records conflicting duplicates, first loaded wins', () => {
    const store = new ConformanceStore();
    const first = sd('1.0.0', { name: 'First' });
    store.add(first, { packageId: 'a#1', file: 'p.json' });
    expect(store.add(sd('1.0.0', { name: 'Second' }), { packageId: 'b#1', file: 'p.json' })).toBe('conflict');
    store.add(sd('1.0.0', { name: 'Third' }), { file: '/tmp/p.json' });
    expect(store.resolve(URL)).toBe(first);
    expect(store.all('StructureDefinition')).toEqual([first]);
    expect(store.conflicts()).toEqual([
      {
        url: URL,
        version: '1.0.0',
        resourceType: 'StructureDefinition',
        origins: [{ packageId: 'a#1', file: 'p.json' }, { packageId: 'b#1', file: 'p.json' }, { file: '/tmp/p.json' }],
      },
    ]);
  });
});

describe('ConformanceStore with a parent', () => {
  const parent = new ConformanceStore();
  const base = sd('1.0.0', { name: 'Base' });
  parent.add(base, { packageId: 'core#1' });
  parent.add({ resourceType: 'ValueSet', id: 'vs', url: 'http://example.org/vs' });
  parent.seal();

  it('refuses additions once sealed', () => {
    expect(() => parent.add(sd('2.0.0'))).toThrow(/sealed/);
  });

  it('sees the parent and prefers its own newer versions', () => {
    const child = new ConformanceStore({ parent });
    expect(child.resolve(URL)).toBe(base);
    expect(child.originOf(base)).toEqual({ packageId: 'core#1' });
    expect(child.byId('ValueSet', 'vs')).toBeDefined();
    child.add(sd('1.1.0'), { packageId: 'ig#1' });
    expect(child.resolve(URL)?.version).toBe('1.1.0');
    expect(child.resolve(`${URL}|1.0.0`)).toBe(base);
    expect(child.resolve(`${URL}|1`)?.version).toBe('1.1.0');
    expect(child.all('StructureDefinition').map((r) => r.version)).toEqual(['1.0.0', '1.1.0']);
    expect(child.size).toBe(1);
  });

  it('reports a conflict with the parent and keeps the parent version', () => {
    const child = new ConformanceStore({ parent });
    expect(child.add(sd('1.0.0', { name: 'Changed' }), { packageId: 'ig#1' })).toBe('conflict');
    expect(child.add(sd('1.0.0', { name: 'Base' }), { packageId: 'ig#1' })).toBe('duplicate');
    expect(child.resolve(URL)).toBe(base);
    expect(child.conflicts()[0].origins).toEqual([{ packageId: 'core#1' }, { packageId: 'ig#1' }]);
  });

  it('lets HL7 terminology (THO) replace the core’s copy of a url whatever the versions, as the reference does', () => {
    const core = new ConformanceStore();
    const CS = 'http://terminology.hl7.org/CodeSystem/location-physical-type';
    const coreCopy = { resourceType: 'CodeSystem', id: 'lpt', url: CS, version: '4.0.1' };
    core.add(coreCopy, { packageId: 'hl7.fhir.r4.core#4.0.1' });
    core.seal();
    const withTho = new ConformanceStore({ parent: core });
    withTho.add({ resourceType: 'CodeSystem', id: 'lpt', url: CS, version: '2.0.0' }, { packageId: 'hl7.terminology.r4#7.0.1' });
    expect(withTho.resolve(CS)?.version).toBe('2.0.0');
    expect(withTho.resolve(`${CS}|4.0.1`)).toBe(coreCopy);
    // Any other package still needs a newer version to win.
    const withIg = new ConformanceStore({ parent: core });
    withIg.add({ resourceType: 'CodeSystem', id: 'lpt', url: CS, version: '2.0.0' }, { packageId: 'example.ig#1.0.0' });
    expect(withIg.resolve(CS)).toBe(coreCopy);
  });

  it('keeps sibling children independent', () => {
    const a = new ConformanceStore({ parent });
    const b = new ConformanceStore({ parent });
    a.add(sd('3.0.0'));
    expect(a.resolve(URL)?.version).toBe('3.0.0');
    expect(b.resolve(URL)?.version).toBe('1.0.0');
    expect(b.all('StructureDefinition')).toHaveLength(1);
  });
});

describe('ConformanceStore with lazily added resources', () => {
  const lazy = (resource: CanonicalResource, digest?: string) => {
    const counter = { loads: 0 };
    return { counter, lazy: { summary: summarize(resource), digest, load: () => (counter.loads++, structuredClone(resource)) } };
  };

  it('parses a resource on first use only, and answers summaries without parsing', () => {
    const store = new ConformanceStore();
    const a = lazy(sd('1.0.0', { name: 'A', kind: 'resource' }));
    const b = lazy(sd('2.0.0', { name: 'B' }));
    store.addLazy(a.lazy, { packageId: 'a#1' });
    store.addLazy(b.lazy, { packageId: 'a#1' });
    expect(store.summaries('StructureDefinition').map((s) => s.version)).toEqual(['1.0.0', '2.0.0']);
    expect(a.counter.loads + b.counter.loads).toBe(0);
    const newest = store.resolve(URL);
    expect(newest?.name).toBe('B');
    expect(store.resolve(URL)).toBe(newest);
    expect(b.counter.loads).toBe(1);
    expect(a.counter.loads).toBe(0);
    expect(store.originOf(newest!)).toEqual({ packageId: 'a#1' });
    expect(store.all('StructureDefinition').map((r) => r.name)).toEqual(['A', 'B']);
    expect(store.summaries('StructureDefinition')[0]).toMatchObject({ name: 'A', kind: 'resource' });
  });

  it('records origins in the store holding a lazy resource when a child parses it first', () => {
    const parent = new ConformanceStore();
    parent.addLazy(lazy(sd('1.0.0')).lazy, { packageId: 'core#1' });
    parent.seal();
    const first = new ConformanceStore({ parent });
    const second = new ConformanceStore({ parent });
    const resource = first.resolve(URL)!;
    expect(second.resolve(URL)).toBe(resource);
    expect(second.originOf(resource)).toEqual({ packageId: 'core#1' });
    expect(parent.originOf(resource)).toEqual({ packageId: 'core#1' });
  });

  it('recognises duplicates by digest without parsing, and conflicts by content', () => {
    const store = new ConformanceStore();
    const kept = lazy(sd('1.0.0', { name: 'P' }), 'd1');
    const same = lazy(sd('1.0.0', { name: 'P' }), 'd1');
    const sameContent = lazy(sd('1.0.0', { name: 'P' }), 'other-digest');
    const different = lazy(sd('1.0.0', { name: 'Q' }), 'd2');
    expect(store.addLazy(kept.lazy, { packageId: 'a#1' })).toBe('added');
    expect(store.addLazy(same.lazy, { packageId: 'b#1' })).toBe('duplicate');
    expect(kept.counter.loads + same.counter.loads).toBe(0);
    expect(store.addLazy(sameContent.lazy, { packageId: 'c#1' })).toBe('duplicate');
    expect(store.addLazy(different.lazy, { packageId: 'd#1' })).toBe('conflict');
    expect(store.add(sd('1.0.0', { name: 'P' }))).toBe('duplicate');
    expect(store.conflicts()[0].origins).toEqual([{ packageId: 'a#1' }, { packageId: 'd#1' }]);
    expect(store.size).toBe(1);
  });
});
