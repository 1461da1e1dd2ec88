import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nock from 'nock';
import { readServer, type ServerSpec } from '../../src/formats/stream-server.js';
import type { SourceItem } from '../../src/formats/stream-record.js';
import { loadRunConfig } from '../../src/pipeline/config.js';
import { runPipeline } from '../../src/pipeline/run.js';
import type { Progress } from '../../src/pipeline/progress.js';
import type { ValidateBatch } from '../../src/pipeline/validate-pool.js';
import { createValidator } from '../../src/index.js';

const BASE = 'http://fhir.example.org/r4';
const patient = (id: string) => ({ resourceType: 'Patient', id, birthDate: '1950-01-01' });
const searchset = (resources: object[], next?: string) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  link: [{ relation: 'self', url: `${BASE}/Patient` }, ...(next ? [{ relation: 'next', url: next }] : [])],
  entry: resources.map((resource) => ({ fullUrl: `${BASE}/${(resource as { resourceType: string }).resourceType}/x`, resource, search: { mode: 'match' } })),
});

/** A Patient search whose first page (patient a) links to a second page; the caller gives the second page's answer. */
const patientPages = () =>
  nock(BASE).get('/Patient').query(true).reply(200, searchset([patient('a')], `${BASE}/Patient?page=2`)).get('/Patient').query({ page: '2' });

/** A run config of one organisation and exchange, with these source lines. */
const region = (sources: string) => `name: server\norganisations: [{ id: org, name: Org, type: hospital }]\nexchanges: [{ id: mp9 }]\nsources:\n${sources}`;

async function read(spec: ServerSpec): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of readServer('srv', spec)) out.push(item);
  return out;
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('a FHIR server as a source', () => {
  it('reads each resource type page by page, with the search parameters, page size and bearer token', async () => {
    process.env.FHIRDQ_TEST_TOKEN = 'secret-token';
    nock(BASE, { reqheaders: { authorization: 'Bearer secret-token' } })
      .get('/Patient')
      .query({ _count: '2', _lastUpdated: 'ge2025-01-01' })
      .reply(200, searchset([patient('a'), patient('b')], `${BASE}/Patient?page=2`))
      .get('/Patient')
      .query({ page: '2' })
      .reply(200, { ...searchset([patient('c')]), entry: [...searchset([patient('c')]).entry, { search: { mode: 'outcome' }, resource: { resourceType: 'OperationOutcome' } }, { search: { mode: 'match' } }] })
      .get('/Observation')
      .query(true)
      .reply(200, searchset([]));
    const items = await read({ url: `${BASE}/`, resources: ['Patient', 'Observation'], params: { _lastUpdated: 'ge2025-01-01' }, pageSize: 2, tokenEnv: 'FHIRDQ_TEST_TOKEN' });
    expect(items.map((i) => [i.kind, i.file, 'pointer' in i ? i.pointer : undefined])).toEqual([
      ['record', `${BASE}/Patient`, 'page 1 entry[0]'],
      ['record', `${BASE}/Patient`, 'page 1 entry[1]'],
      ['record', `${BASE}/Patient`, 'page 2 entry[0]'],
      ['rejected', `${BASE}/Patient`, 'page 2 entry[2]'],
    ]);
    expect(items[2]).toMatchObject({ record: patient('c') });
    expect(items[3]).toMatchObject({ reason: 'search result entry without a resource' });
  });

  it('a failing page ends its type with the status and the server’s own words; the other types are still read', async () => {
    patientPages()
      .reply(500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: 'database timeout' }] })
      .get('/Encounter')
      .query(true)
      .reply(401, 'Unauthorized')
      .get('/Consent')
      .query(true)
      .reply(200, { resourceType: 'OperationOutcome', issue: [] })
      .get('/Procedure')
      .query(true)
      .reply(200, searchset([{ resourceType: 'Procedure', id: 'p' }]));
    const items = await read({ url: BASE, resources: ['Patient', 'Encounter', 'Consent', 'Procedure'] });
    expect(items.map((i) => (i.kind === 'file-error' ? i.reason : i.kind))).toEqual([
      'record',
      `${BASE}/Patient page 2: HTTP 500: database timeout`,
      `${BASE}/Encounter page 1: HTTP 401: the answer is not JSON`,
      `${BASE}/Consent page 1: the server answered with a OperationOutcome, not a search Bundle`,
      'record',
    ]);
  });

  it('stops at a next link that points back to a page already read', async () => {
    patientPages().reply(200, searchset([patient('b')], `${BASE}/Patient?page=2`));
    const items = await read({ url: BASE, resources: ['Patient'] });
    expect(items.map((i) => i.kind)).toEqual(['record', 'record', 'file-error']);
    expect(items[2]).toMatchObject({ reason: `${BASE}/Patient page 2: its next link (${BASE}/Patient?page=2) is a page already read; stopped there` });
  });

  it('an unreachable server or a missing token is a file error, not a crash', async () => {
    nock(BASE).get('/Patient').query(true).replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    expect(await read({ url: BASE, resources: ['Patient'] })).toMatchObject([{ kind: 'file-error', reason: expect.stringMatching(/^http:\/\/fhir\.example\.org\/r4\/Patient page 1: the server could not be reached/) }]);
    delete process.env.FHIRDQ_UNSET_TOKEN;
    expect(await read({ url: BASE, resources: ['Patient'], tokenEnv: 'FHIRDQ_UNSET_TOKEN' })).toEqual([
      { kind: 'file-error', source: 'srv', file: BASE, reason: `${BASE}: the environment variable FHIRDQ_UNSET_TOKEN, which holds the server's bearer token, is not set` },
    ]);
  });

  it('runs in a region like any FHIR source: its resources are validated and counted, its failures reported', async () => {
    nock(BASE)
      .get('/Patient')
      .query(true)
      .reply(200, searchset([patient('a'), { resourceType: 'Patient', id: 'b', birthDate: 'gisteren' }]))
      .get('/Observation')
      .query(true)
      .reply(503, '');
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-server-'));
    await writeFile(path.join(dir, 'run.yaml'), region(`  - { name: ehr, organisation: org, exchange: mp9, server: { url: '${BASE}', resources: [Patient, Observation] } }\n`));
    const quiet: Progress = { event() {}, tick() {}, done() {} };
    const validator = await createValidator({ includeShippedPackages: false });
    const validate: ValidateBatch = async (items) => items.map((i) => validator.validateToIssues(i.resource));
    const summary = await runPipeline(await loadRunConfig(path.join(dir, 'run.yaml')), { outDir: path.join(dir, 'out'), runId: 'r', progress: quiet, validate });
    expect(summary.sources.ehr.records).toEqual({ read: 2, mapped: 2, rejected: 0 });
    expect(summary.sources.ehr.files).toEqual({ read: 1, failed: 1 });
    const issues = (await readFile(path.join(dir, 'out/r/issues.ndjson'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(issues.filter((i) => i.severity === 'error')).toMatchObject([{ file: `${BASE}/Patient`, pointer: 'page 1 entry[1]', id: 'b' }]);
    const rejected = (await readFile(path.join(dir, 'out/r/rejected.ndjson'), 'utf8')).trim();
    expect(JSON.parse(rejected)).toMatchObject({ source: 'ehr', file: `${BASE}/Observation`, stage: 'file', reason: `${BASE}/Observation page 1: HTTP 503` });
  });

  it('a source reads files or a server, and a server source takes no mapping', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-server-config-'));
    const messageOf = async (sources: string) => {
      const file = path.join(dir, 'run.yaml');
      await writeFile(file, region(sources));
      return loadRunConfig(file).then(() => '', (e: Error) => e.message);
    };
    const semantic = await messageOf(`  - { name: both, organisation: org, exchange: mp9, inputs: [a.ndjson], server: { url: '${BASE}', resources: [Patient] } }
  - { name: neither, organisation: org, exchange: mp9 }
  - { name: mapped, organisation: org, exchange: mp9, mapping: m.yaml, server: { url: '${BASE}', resources: [Patient] } }
`);
    expect(semantic.split('\n')).toEqual([
      expect.stringMatching(/run\.yaml:5: sources\[0\]: a source reads either inputs \(files\) or a server$/),
      expect.stringMatching(/run\.yaml:6: sources\[1\]: a source reads either inputs \(files\) or a server$/),
      expect.stringMatching(/run\.yaml:7: sources\[2\]\.mapping: a server source is FHIR already: give it an exchange, not a mapping$/),
    ]);
    const shape = await messageOf("  - { name: s, organisation: org, exchange: mp9, server: { url: 'ftp://x', resources: [patient] } }\n");
    expect(shape).toMatch(/run\.yaml:5: sources\[0\]\.server\.url: /);
    expect(shape).toMatch(/run\.yaml:5: sources\[0\]\.server\.resources\[0\]: a FHIR resource type/);
  });
});
