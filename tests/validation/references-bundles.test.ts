/** References (format, target types, contained and Bundle resolution) and Bundle rules (fullUrl, documents, links). */
import { describe, expect, it } from 'vitest';
import { expectIssue, expectNoErrors, found, profile, TEST, useValidator } from './helpers.js';

const validator = useValidator([
  profile('NamedPatient', 'Patient', [{ id: 'Patient.name', path: 'Patient.name', min: 1 }]),
  profile('NamedSubject', 'Observation', [
    { id: 'Observation.subject', path: 'Observation.subject', type: [{ code: 'Reference', targetProfile: [TEST + 'NamedPatient'] }] },
  ]),
]);
const check = (resource: Record<string, unknown>, profileUrl?: string) => validator().validateToIssues(resource as never, { profile: profileUrl });

const BASE = 'http://fhir.example.nl/fhir/';
const UUID_1 = 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520';
const UUID_2 = 'urn:uuid:3b1f2a94-0d4e-4d3b-9b0c-6f1f0c6e8a11';
const observation = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });

describe('reference format', () => {
  it('accepts relative, versioned, absolute and urn references', () => {
    for (const reference of ['Patient/1', 'Patient/1/_history/2', `${BASE}Patient/1`, UUID_1]) {
      expectNoErrors(check(observation({ subject: { reference } })));
    }
  });

  it('leaves the type of a reference naming no resource type unknown, as the reference does (no error)', () => {
    expectNoErrors(check(observation({ subject: { reference: 'Persoon/1' } })));
    expectNoErrors(check(observation({ subject: { reference: `${BASE}Network/1` } })));
  });

  it('does not type-check a reference that does not resolve: a server we do not ask may say otherwise', () => {
    expectNoErrors(check(observation({ subject: { reference: 'Medication/1' } })));
  });
});

describe('references taken as true (assumeValidRestReferences)', () => {
  const trusting = useValidator([], { assumeValidRestReferences: true });
  const checkTrusting = (resource: Record<string, unknown>) => trusting().validateToIssues(resource as never);

  it('a relative reference unlike Type/id or Type/id/_history/version is suspicious (a warning)', () => {
    for (const reference of ['Persoon/1', 'XXX/_history/1', 'Patient/1/2']) {
      const suspicious = checkTrusting(observation({ subject: { reference } })).filter((i) => i.messageId === 'reference-suspicious');
      expect(suspicious.map((i) => [i.severity, i.path]), reference).toEqual([['warning', 'Observation.subject']]);
    }
    for (const reference of ['Patient/1', 'Patient/1/_history/2', `${BASE}Persoon/1`, UUID_1, '#x']) {
      expect(found(checkTrusting(observation({ subject: { reference } }))).map((i) => i.messageId), reference).not.toContain('reference-suspicious');
    }
  });

  it('the type an unresolved reference names must be one the element allows', () => {
    expectIssue(checkTrusting(observation({ subject: { reference: 'Medication/1' } })), 'reference-url-wrong-type', 'Observation.subject');
    expectNoErrors(checkTrusting(observation({ subject: { reference: 'Patient/1' } })));
  });
});

describe('target types of resolved references', () => {
  it('a contained target must be of an allowed type', () => {
    const contained = (resourceType: string) => observation({ contained: [{ resourceType, id: 'c', name: 'x' }], subject: { reference: '#c' } });
    expectIssue(check(contained('Organization')), 'reference-wrong-type', 'Observation.subject.reference');
    expectNoErrors(check(contained('Location')));
  });

  it('a Bundle entry target must be of an allowed type', () => {
    const bundle = (target: Record<string, unknown>) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: UUID_1, resource: observation({ subject: { reference: UUID_2 } }) },
        { fullUrl: UUID_2, resource: target },
      ],
    });
    expectIssue(check(bundle({ resourceType: 'Organization', name: 'x' })), 'reference-wrong-type', 'Bundle.entry[0].resource.subject.reference');
    expectNoErrors(check(bundle({ resourceType: 'Patient' })));
  });

  it('a resolved target must conform to a targetProfile', () => {
    const contained = (patient: Record<string, unknown>) => observation({ contained: [{ resourceType: 'Patient', id: 'p', ...patient }], subject: { reference: '#p' } });
    const NAMED = TEST + 'NamedSubject';
    expectIssue(check(contained({ gender: 'male' }), NAMED), 'reference-target-profile', 'Observation.subject.reference');
    expectNoErrors(check(contained({ name: [{ family: 'Jansen' }] }), NAMED));
  });

  it('an unresolvable contained reference is an error', () => {
    expectIssue(check(observation({ contained: [{ resourceType: 'Patient', id: 'p' }], subject: { reference: '#x' }, focus: [{ reference: '#p' }] })), 'reference-contained-unresolved', 'Observation.subject.reference');
  });
});

describe('Bundle fullUrl', () => {
  it('every entry of a collection has a fullUrl; transactions need not', () => {
    const collection = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient' } }] };
    expectIssue(check(collection), 'bundle-entry-fullurl-missing', 'Bundle.entry[0]');
    const transaction = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] };
    expectNoErrors(check(transaction));
  });

  it('a fullUrl is absolute', () => {
    const bundle = (fullUrl: string) => ({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl, resource: { resourceType: 'Patient', id: '1' } }] });
    expectIssue(check(bundle('Patient/1')), 'bundle-fullurl-relative', 'Bundle.entry[0].fullUrl');
    expectNoErrors(check(bundle(`${BASE}Patient/1`)));
  });

  it('bdl-7: fullUrls are unique; a reference to a duplicated one is ambiguous', () => {
    const bundle = (second: string) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: UUID_1, resource: observation({ subject: { reference: UUID_2 } }) },
        { fullUrl: UUID_2, resource: { resourceType: 'Patient' } },
        { fullUrl: second, resource: { resourceType: 'Patient' } },
      ],
    });
    const issues = check(bundle(UUID_2));
    expectIssue(issues, 'constraint-bdl-7', 'Bundle');
    expectIssue(issues, 'reference-bundle-ambiguous', 'Bundle.entry[0].resource.subject.reference');
    expectNoErrors(check(bundle('urn:uuid:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a')));
  });

  it('a RESTful fullUrl ends with the type and id of its resource', () => {
    const bundle = (id: string | undefined) => ({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: `${BASE}Patient/1`, resource: { resourceType: 'Patient', ...(id ? { id } : {}) } }] });
    expectIssue(check(bundle('2')), 'bundle-fullurl-mismatch', 'Bundle.entry[0].fullUrl');
    expectIssue(check(bundle(undefined)), 'bundle-fullurl-no-id', 'Bundle.entry[0].fullUrl');
    expectNoErrors(check(bundle('1')));
  });
});

/** A document: Composition first, then the entries given; identifier and timestamp as bdl-9/bdl-10 require. */
function documentBundle(compositionFullUrl: string, composition: Record<string, unknown>, entries: Array<{ fullUrl: string; resource: Record<string, unknown> }>) {
  return {
    resourceType: 'Bundle',
    type: 'document',
    identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0' },
    timestamp: '2024-03-01T10:00:00+01:00',
    entry: [
      {
        fullUrl: compositionFullUrl,
        resource: { resourceType: 'Composition', status: 'final', type: { text: 'overdracht' }, date: '2024-03-01', title: 'Overdracht', author: [{ display: 'Verpleegkundige' }], ...composition },
      },
      ...entries,
    ],
  };
}

describe('documents', () => {
  it('resolves relative references against the RESTful fullUrl of the referring entry', () => {
    const resolved = documentBundle(`${BASE}Composition/c1`, { id: 'c1', subject: { reference: 'Patient/p1' } }, [{ fullUrl: `${BASE}Patient/p1`, resource: { resourceType: 'Patient', id: 'p1' } }]);
    expectNoErrors(check(resolved));
    // The same relative reference from a urn:uuid entry has no base to resolve against.
    const unresolved = documentBundle(UUID_1, { subject: { reference: 'Patient/p1' } }, [{ fullUrl: `${BASE}Patient/p1`, resource: { resourceType: 'Patient', id: 'p1' } }]);
    // The Patient is there by type and id, under a fullUrl the reference cannot mean: an error of its own.
    expectIssue(check(unresolved), 'bundle-link-apparent', 'Bundle.entry[0].resource.subject');
  });

  it('a fullUrl of Type/id alone is wrong, but still the base of relative references, as in the reference (upstream mni-patientOverview)', () => {
    const relative = documentBundle('Composition/c1', { id: 'c1', subject: { reference: 'Patient/p1' } }, [{ fullUrl: 'Patient/p1', resource: { resourceType: 'Patient', id: 'p1' } }]);
    const errors = found(check(relative), 'error').map((i) => `${i.messageId} ${i.path}`);
    expect(errors).toEqual(['bundle-fullurl-relative Bundle.entry[0].fullUrl', 'bundle-fullurl-relative Bundle.entry[1].fullUrl']);
    // Not when the fullUrl does not end with the resource's own type and id.
    const otherId = documentBundle('Composition/c1', { id: 'c2', subject: { reference: 'Patient/p1' } }, [{ fullUrl: 'Patient/p1', resource: { resourceType: 'Patient', id: 'p1' } }]);
    expectIssue(check(otherId), 'bundle-link-apparent', 'Bundle.entry[0].resource.subject');
  });

  it('a reference of the Composition that leaves the document is an error', () => {
    const issues = check(documentBundle(UUID_1, { subject: { reference: UUID_2 } }, []));
    expectIssue(issues, 'bundle-link-not-found', 'Bundle.entry[0].resource.subject');
    expect(issues.find((i) => i.messageId === 'bundle-link-not-found')!.message).toBe(`Can't find '${UUID_2}' in the bundle (Composition.subject)`);
    expectIssue(issues, 'reference-bundle-not-local', 'Bundle.entry[0].resource.subject.reference', 'warning');
    expectNoErrors(check(documentBundle(UUID_1, { subject: { reference: UUID_2 } }, [{ fullUrl: UUID_2, resource: { resourceType: 'Patient' } }])));
  });

  it('other references that leave it are noted; section entries must be there, and be one', () => {
    const patient = { fullUrl: UUID_2, resource: { resourceType: 'Patient' } };
    const away = { fullUrl: 'urn:uuid:5d6e4a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b', resource: observation({ subject: { reference: UUID_2 }, performer: [{ reference: 'urn:uuid:00000000-0000-4000-8000-000000000000' }] }) };
    const issues = check(documentBundle(UUID_1, { subject: { reference: UUID_2 }, section: [{ title: 'Metingen', entry: [{ reference: away.fullUrl }] }] }, [patient, away]));
    expectNoErrors(issues);
    expectIssue(issues, 'bundle-link-not-found', 'Bundle', 'information');
    const twice = check(documentBundle(UUID_1, { subject: { reference: UUID_2 }, section: [{ title: 'Metingen', entry: [{ reference: away.fullUrl }] }] }, [patient, away, { ...away }]));
    expectIssue(twice, 'bundle-link-multiple', 'Bundle.entry[0].resource.section[0].entry[0]');
    expectIssue(twice, 'reference-bundle-ambiguous', 'Bundle.entry[0].resource.section[0].entry[0].reference');
  });

  it('every entry is reachable from the Composition, forwards or backwards', () => {
    const patient = { fullUrl: UUID_2, resource: { resourceType: 'Patient' } };
    const backwards = { fullUrl: 'urn:uuid:5d6e4a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b', resource: observation({ subject: { reference: UUID_2 } }) };
    const orphan = { fullUrl: 'urn:uuid:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a', resource: { resourceType: 'Organization', name: 'los' } };
    const issues = check(documentBundle(UUID_1, { subject: { reference: UUID_2 } }, [patient, backwards, orphan]));
    expectIssue(issues, 'bundle-document-unreachable', 'Bundle.entry[3]');
    expect(found(issues).filter((i) => i.messageId === 'bundle-document-unreachable')).toHaveLength(1);
    expectNoErrors(check(documentBundle(UUID_1, { subject: { reference: UUID_2 } }, [patient, backwards])));
  });

  it('bdl-11: the first entry of a document is a Composition', () => {
    const doc = documentBundle(UUID_1, {}, []);
    doc.entry[0] = { fullUrl: UUID_1, resource: { resourceType: 'Patient' } as never };
    expectIssue(check(doc), 'constraint-bdl-11', 'Bundle');
    expectNoErrors(check(documentBundle(UUID_1, {}, [])));
  });
});

describe('links', () => {
  const bundle = (relations: string[]) => ({ resourceType: 'Bundle', type: 'searchset', link: relations.map((relation, i) => ({ relation, url: `${BASE}Patient?page=${i}` })) });

  it('a paging relation occurs once', () => {
    expectIssue(check(bundle(['self', 'next', 'self'])), 'bundle-link-duplicate', 'Bundle.link[2]');
    expectNoErrors(check(bundle(['self', 'next', 'previous'])));
  });

  it('other relations may repeat', () => {
    expectNoErrors(check(bundle(['self', 'alternate', 'alternate'])));
  });

  it('outside searches and histories, no paging relations and one self', () => {
    const collection = { ...bundle(['self', 'next', 'self']), type: 'collection' };
    const errors = found(check(collection), 'error').filter((i) => i.messageId.startsWith('bundle-link'));
    expect(errors).toEqual([
      { messageId: 'bundle-link-search-only', path: 'Bundle.link[1].relation' },
      { messageId: 'bundle-link-duplicate', path: 'Bundle.link[2].relation' },
    ]);
  });

  it('a document’s stylesheet is the FHIR one, or in the document', () => {
    const document = (url: string) => ({ ...documentBundle(UUID_1, {}, [{ fullUrl: `${BASE}Binary/css`, resource: { resourceType: 'Binary', id: 'css', contentType: 'text/css' } }]), link: [{ relation: 'stylesheet', url }] });
    expect(found(check(document('Binary/css'))).filter((i) => i.messageId.startsWith('bundle-'))).toEqual([]);
    expectIssue(check(document('Binary/other')), 'bundle-stylesheet-not-found', 'Bundle.link[0].url');
    expectIssue(check(document('http://example.org/style.css')), 'bundle-stylesheet-insecure', 'Bundle.link[0].url', 'warning');
  });
});

describe('search sets', () => {
  const searchset = (self: string | undefined, entries: Array<Record<string, unknown>>) => ({
    resourceType: 'Bundle',
    type: 'searchset',
    ...(self ? { link: [{ relation: 'self', url: self }] } : {}),
    entry: entries.map((e, i) => ({ fullUrl: `${BASE}${String((e.resource as { resourceType?: string } | undefined)?.resourceType)}/${i}`, ...e })),
  });
  const ids = (issues: ReturnType<typeof check>) => issues.filter((i) => i.messageId.startsWith('bundle-search')).map((i) => `${i.severity} ${i.messageId} @ ${i.path}`);

  it('match entries are of the searched type and have ids; includes have ids; others are OperationOutcomes', () => {
    const issues = check(searchset(`${BASE}Patient?name=x`, [
      { resource: { resourceType: 'Patient', id: '0' }, search: { mode: 'match' } },
      { resource: { resourceType: 'Observation', id: '1', status: 'final', code: { text: 'x' } }, search: { mode: 'match' } },
      { resource: { resourceType: 'Organization', name: 'x' }, search: { mode: 'include' } },
      { resource: { resourceType: 'Patient', id: '3' }, search: { mode: 'outcome' } },
    ]));
    expect(ids(issues).filter((i) => i.startsWith('error'))).toEqual([
      'error bundle-search-entry-type @ Bundle.entry[1].resource',
      'error bundle-search-entry-no-id @ Bundle.entry[2].resource',
      'error bundle-search-entry-outcome @ Bundle.entry[3].resource',
    ]);
  });

  it('without modes or a self link, only warnings', () => {
    const issues = check(searchset(undefined, [{ resource: { resourceType: 'Patient', id: '0' } }]));
    expectNoErrors(issues);
    expect(ids(issues)).toEqual(['warning bundle-search-no-self @ Bundle', 'warning bundle-search-no-mode @ Bundle']);
    expect(ids(check(searchset(`${BASE}Patient/$everything`, [{ resource: { resourceType: 'Patient', id: '0' }, search: { mode: 'match' } }])))).toEqual([
      'information bundle-search-self-unknown @ Bundle',
    ]);
  });
});

describe('entries', () => {
  it('a history names each entry by fullUrl, a deletion too', () => {
    const history = { resourceType: 'Bundle', type: 'history', entry: [{ request: { method: 'DELETE', url: 'Patient/1' }, response: { status: '204' } }] };
    expectIssue(check(history), 'bundle-entry-fullurl-missing', 'Bundle.entry[0]');
  });

  it('a canonical resource may be named by its url only where that url names its id', () => {
    const bundle = (id: string) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: `${BASE}ValueSet/vs1`, resource: { resourceType: 'ValueSet', id, url: `${BASE}ValueSet/vs1`, status: 'active' } }],
    });
    expect(found(check(bundle('vs2')), 'error').map((i) => i.messageId)).toContain('bundle-canonical-fullurl');
    expect(found(check(bundle('vs1')), 'error').map((i) => i.messageId)).not.toContain('bundle-canonical-fullurl');
  });
});

describe('messages', () => {
  const message = (focus: string, entries: Array<{ fullUrl: string; resource: Record<string, unknown> }>) => ({
    resourceType: 'Bundle',
    type: 'message',
    timestamp: '2024-03-01T10:00:00+01:00',
    entry: [
      { fullUrl: UUID_1, resource: { resourceType: 'MessageHeader', eventCoding: { system: 'http://example.org/events', code: 'overdracht' }, source: { endpoint: 'http://example.org/ehr' }, focus: [{ reference: focus }] } },
      ...entries,
    ],
  });

  it('carry what their header focuses on', () => {
    expectIssue(check(message(UUID_2, [])), 'bundle-link-not-found', 'Bundle.entry[0].resource.focus[0]');
    expect(found(check(message(UUID_2, [{ fullUrl: UUID_2, resource: { resourceType: 'Patient' } }]))).map((i) => i.messageId)).not.toContain('bundle-link-not-found');
  });
});

describe('a collection', () => {
  it('may refer to what it does not carry', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: UUID_1, resource: observation({ subject: { reference: 'Patient/elsewhere' } }) }] };
    expect(check(bundle).filter((i) => i.messageId.startsWith('bundle-link') || i.messageId.startsWith('reference-bundle'))).toEqual([]);
  });
});

describe('references that miss an entry of their type and id', () => {
  const nearMisses = (bundle: Record<string, unknown>) =>
    check(bundle)
      .filter((i) => i.messageId.startsWith('BUNDLE_'))
      .map((i) => `${i.severity}|${i.path}|${i.message}`);
  const patient = (fullUrl: string | undefined) => ({ ...(fullUrl ? { fullUrl } : {}), resource: { resourceType: 'Patient', id: 'p1' } });
  const referring = (fullUrl: string) => ({ fullUrl, resource: observation({ subject: { reference: 'Patient/p1' } }) });

  it('are warned of with the entries and the full URL the rules ask for', () => {
    expect(nearMisses({ resourceType: 'Bundle', type: 'collection', entry: [referring(UUID_1), patient('urn:uuid:3b1f0c2e-8d4a-4e5b-9c6d-7e8f9a0b1c2d')] })).toEqual([
      "warning|Bundle.entry[0].resource.subject|Entry 1 matches the reference Patient/p1 by type and id but its fullUrl urn:uuid:3b1f0c2e-8d4a-4e5b-9c6d-7e8f9a0b1c2d does not match the full target URL urn:uuid:p1 by Bundle resolution rules",
    ]);
    expect(nearMisses({ resourceType: 'Bundle', type: 'collection', entry: [referring(`${BASE}Observation/o1`), patient(undefined), patient('http://elsewhere.nl/Patient/p1')] })).toEqual([
      `warning|Bundle.entry[0].resource.subject|The bundle contains no match for ${BASE}Patient/p1 by the rules of Bundle reference resolution, but it has multiple resources that match Patient/p1 by resource type and id`,
      `warning|Bundle.entry[0].resource.subject|Entry 1 matches the reference Patient/p1 by type and id but it does not match the full target URL ${BASE}Patient/p1 by Bundle resolution rules`,
      `warning|Bundle.entry[0].resource.subject|Entry 2 matches the reference Patient/p1 by type and id but its fullUrl http://elsewhere.nl/Patient/p1 does not match the full target URL ${BASE}Patient/p1 by Bundle resolution rules`,
    ]);
  });

  it('are not when the reference resolves', () => {
    expect(nearMisses({ resourceType: 'Bundle', type: 'collection', entry: [referring(`${BASE}Observation/o1`), patient(`${BASE}Patient/p1`)] })).toEqual([]);
  });
});

describe('relative references in an entry, as the reference resolves them', () => {
  const transaction = (entry: Record<string, unknown>) => ({ resourceType: 'Bundle', type: 'transaction', entry: [{ ...entry, request: { method: 'POST', url: 'Observation' } }] });

  it('need the entry to have a fullUrl to resolve against: two errors, the entry named once (upstream bundle-ea-testcase)', () => {
    const issues = check(transaction({ resource: observation({ subject: { reference: 'Patient/p1' }, performer: [{ reference: 'Practitioner/d1' }] }) }));
    expect(found(issues, 'error').map((i) => `${i.messageId} ${i.path}`)).toEqual([
      'reference-relative-no-fullurl Bundle.entry[0].resource.subject',
      'bundle-entry-no-fullurl Bundle.entry[0]',
      'reference-relative-no-fullurl Bundle.entry[0].resource.performer[0]',
    ]);
    // Absolute references, and an entry with a fullUrl, are fine.
    expectNoErrors(check(transaction({ resource: observation({ subject: { reference: `${BASE}Patient/p1` } }) })));
    expectNoErrors(check(transaction({ fullUrl: UUID_1, resource: observation({ subject: { reference: 'Patient/p1' } }) })));
  });

  it('are Type/id, not a bare name', () => {
    const issues = check(transaction({ fullUrl: UUID_1, resource: observation({ subject: { reference: 'p1' } }) }));
    expectIssue(issues, 'reference-relative-format', 'Bundle.entry[0].resource.subject');
    expect(issues.find((i) => i.messageId === 'reference-relative-format')!.message).toBe('Relative URLs must be of the format [ResourceName]/[id]. Encountered p1');
    // Outside a Bundle a bare name is left alone.
    expect(found(check(observation({ subject: { reference: 'p1' } }))).map((i) => i.messageId)).not.toContain('reference-relative-format');
  });
});
