import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deterministicId, loadMapping } from '../../src/mapping/compile.js';
import { SpecErrors } from '../../src/mapping/yaml-file.js';

let dir: string;
const write = async (name: string, text: string) => {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
};

const SPEC = `
exchange: pzp
codeMaps:
  besluit:
    codes: { ja: permit, nee: deny, ja-maar: null, onbekend: null }
  afdeling:
    conceptMap: afdeling.json
resources:
  - name: patient
    resourceType: Patient
    profile: http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient
    once: true
    idFrom: [{ $col: bsn, as: bsn, required: true }]
    template:
      identifier:
        - system: http://fhir.nl/fhir/NamingSystem/bsn
          value: { $col: bsn, as: bsn }
      birthDate: { $col: geboren, as: date }
      name:
        - text: { $concat: [{ $col: voornaam }, { $col: achternaam }], sep: ' ' }
  - name: org
    resourceType: Organization
    idFrom: [{ $col: ura, as: ura }]
    template:
      identifier: [{ system: http://fhir.nl/fhir/NamingSystem/ura, value: { $col: ura, as: ura } }]
  - name: directive
    resourceType: Consent
    each:
      - { col: reanimatie, code: '89666000' }
      - { col: ic, code: '305351004' }
    when: { $col: '\${col}' }
    template:
      status: active
      patient: { $ref: patient }
      organization: [{ $ref: org }]
      dateTime: { $col: gesprek, as: dateTime, required: true }
      provision:
        type: { $code: '\${col}', map: besluit, as: code }
        code: [{ coding: [{ system: http://snomed.info/sct, code: '\${code}' }] }]
      modifierExtension:
        - $if: \${col}
          equals: [ja-maar, onbekend]
          then: { url: http://example.org/specificationOther, valueString: { $col: '\${col}' } }
  - name: encounter
    resourceType: Encounter
    template:
      serviceType: { $code: afdeling, map: afdeling }
      subject: { $ref: { type: Patient, idFrom: [{ $col: bsn, as: bsn }] } }
  - name: doc
    resourceType: Bundle
    bundle: { type: document, entries: [patient, directive] }
    template:
      timestamp: { $col: gesprek, as: dateTime }
`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fhirdq-map-'));
  await write(
    'afdeling.json',
    JSON.stringify({
      resourceType: 'ConceptMap',
      group: [{ target: 'http://snomed.info/sct', element: [{ code: 'CARD', target: [{ code: '394579002', display: 'Cardiology', equivalence: 'equivalent' }] }] }],
    }),
  );
  await write('spec.yaml', SPEC);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const row = {
  bsn: '123456782',
  geboren: '17-08-1945',
  voornaam: 'Anna',
  achternaam: 'de Vries',
  ura: '12345678',
  reanimatie: 'nee',
  ic: 'ja-maar',
  gesprek: '01-07-2024 10:15',
  afdeling: 'CARD',
  notitie: 'vrije tekst',
};

describe('mapping a row', () => {
  it('produces several linked resources from one row', async () => {
    const mapper = await loadMapping(path.join(dir, 'spec.yaml'));
    const result = mapper.map(row);
    if (!result.ok) throw new Error(result.reason);
    const byName = result.resources.map((r) => `${r.name}:${r.resource.resourceType}`);
    expect(byName).toEqual(['org:Organization', 'encounter:Encounter', 'doc:Bundle']);
    const patientId = deterministicId('Patient|123456782');
    const [org, enc, doc] = result.resources.map((r) => r.resource);
    expect(org.id).toBe(deterministicId('Organization|12345678'));
    expect(enc).toMatchObject({
      serviceType: { coding: [{ system: 'http://snomed.info/sct', code: '394579002', display: 'Cardiology' }], text: 'Cardiology' },
      subject: { reference: `Patient/${patientId}`, type: 'Patient' },
    });
    expect(result.resources[2].exchange).toBe('pzp');
    const entries = doc.entry as { fullUrl: string; resource: Record<string, unknown> }[];
    expect(doc).toMatchObject({ resourceType: 'Bundle', type: 'document', timestamp: '2024-07-01T10:15:00+02:00' });
    expect(entries.map((e) => e.fullUrl)).toEqual([`urn:uuid:${patientId}`, expect.stringMatching(/^urn:uuid:/), expect.stringMatching(/^urn:uuid:/)]);
    const [patient, rea, ic] = entries.map((e) => e.resource);
    expect(patient).toEqual({
      resourceType: 'Patient',
      id: patientId,
      meta: { profile: ['http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient'] },
      identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '123456782' }],
      birthDate: '1945-08-17',
      name: [{ text: 'Anna de Vries' }],
    });
    expect(rea).toMatchObject({
      patient: { reference: `urn:uuid:${patientId}` },
      organization: [{ reference: `Organization/${org.id}` }],
      provision: { type: 'deny', code: [{ coding: [{ code: '89666000' }] }] },
    });
    expect(rea.modifierExtension).toBeUndefined();
    expect(ic.provision).toEqual({ code: [{ coding: [{ system: 'http://snomed.info/sct', code: '305351004' }] }] });
    expect(ic.modifierExtension).toEqual([{ url: 'http://example.org/specificationOther', valueString: 'ja-maar' }]);
    expect(rea.id).not.toBe(ic.id);
  });

  it('skips resources whose when has no value', async () => {
    const mapper = await loadMapping(path.join(dir, 'spec.yaml'));
    const result = mapper.map({ ...row, ic: '' });
    if (!result.ok) throw new Error(result.reason);
    const doc = result.resources.find((r) => r.name === 'doc')!.resource;
    expect((doc.entry as unknown[]).length).toBe(2);
  });

  it('rejects with the field and the reason, and reports coverage', async () => {
    const mapper = await loadMapping(path.join(dir, 'spec.yaml'));
    expect(mapper.map({ ...row, bsn: '123456781' })).toEqual({ ok: false, field: 'bsn', reason: "BSN '123456781' fails the 11-check" });
    expect(mapper.map({ ...row, gesprek: '' })).toEqual({ ok: false, field: 'gesprek', reason: 'required value is missing' });
    expect(mapper.map({ ...row, gesprek: '32-01-2024 10:00' })).toMatchObject({ ok: false, field: 'gesprek' });
    expect(mapper.map({ ...row, afdeling: 'GER' })).toEqual({ ok: false, field: 'afdeling', reason: "code 'GER' is not in code map 'afdeling'" });
    expect(mapper.map({ ...row, afdeling: 'GER' })).toMatchObject({ ok: false });
    expect(mapper.map({ ...row, reanimatie: 'misschien' })).toMatchObject({ ok: false, field: 'reanimatie' });
    const cov = mapper.coverage();
    expect(cov.records).toBe(6);
    expect(cov.unmappedColumns).toEqual([{ column: 'notitie', filled: 6 }]);
    expect(cov.unmappedCodes).toEqual([
      { map: 'afdeling', column: 'afdeling', code: 'GER', count: 2 },
      { map: 'besluit', column: 'reanimatie', code: 'misschien', count: 1 },
    ]);
  });
});

describe('spec errors name file, line and field', () => {
  const errorOf = async (name: string, text: string) => {
    const file = await write(name, text);
    try {
      await loadMapping(file);
    } catch (e) {
      expect(e).toBeInstanceOf(SpecErrors);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it('a misspelt field', async () => {
    const msg = await errorOf('typo.yaml', 'resources:\n  - name: p\n    resourceTyp: Patient\n');
    expect(msg).toContain('typo.yaml:3: resources[0].resourceTyp: unknown field');
    expect(msg).toContain('typo.yaml:2: resources[0].resourceType: required, but missing (a string)');
  });

  it('a field of the wrong type is named with what it should be', async () => {
    const msg = await errorOf('type.yaml', 'resources:\n  - name: p\n    resourceType: 42\n');
    expect(msg).toMatch(/type\.yaml:3: resources\[0\]\.resourceType: .*expected string, received number/);
  });

  it('an unknown transform, code map, expression or reference', async () => {
    const base = 'resources:\n  - name: p\n    resourceType: Patient\n    template:\n';
    expect(await errorOf('t1.yaml', `${base}      birthDate: { $col: x, as: datum }\n`)).toMatch(/t1\.yaml:5: resources\[0\]\.template\.birthDate\.as: unknown transform 'datum'/);
    expect(await errorOf('t2.yaml', `${base}      gender: { $code: x, map: nope }\n`)).toMatch(/t2\.yaml:5: .*gender\.map: no code map named 'nope'/);
    expect(await errorOf('t3.yaml', `${base}      gender: { $column: x }\n`)).toMatch(/t3\.yaml:5: .*gender\.\$column: unknown expression/);
    expect(await errorOf('t4.yaml', `${base}      link:\n        - other: { $ref: q }\n`)).toMatch(/t4\.yaml:6: resources\[0\]\.template\.link\[0\]\.other\.\$ref: no resource named 'q'/);
    expect(await errorOf('t5.yaml', `${base}      x: { $col: a, requird: true }\n`)).toMatch(/t5\.yaml:5: .*x\.requird: unknown option/);
  });

  it('broken YAML and a missing ConceptMap file', async () => {
    expect(await errorOf('bad.yaml', 'resources:\n  - name: p\n   resourceType: [\n')).toMatch(/bad\.yaml:\d+: invalid YAML/);
    const msg = await errorOf('cm.yaml', 'codeMaps:\n  x:\n    conceptMap: missing.json\nresources:\n  - { name: p, resourceType: Patient }\n');
    expect(msg).toMatch(/cm\.yaml:3: codeMaps\.x\.conceptMap: cannot use .*missing\.json/);
  });
});
