import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFhirXml, UNREAD, writeFhirXml } from '../../src/formats/fhir-xml.js';
import type { FhirResource } from '../../src/packages/types.js';

const CASES = '/work/shared/conformance/fhir-test-cases-r4/cases/';
const ZIB = '/work/shared/profiles-src/nictiz-r4-zib2020/';
const MP9 = '/work/shared/profiles-src/nictiz-r4-mp9/Profiles/';
const manifest = JSON.parse(readFileSync(CASES + '../manifest.json', 'utf8')) as {
  cases: { file: string; supporting?: string[]; expected: { errors: number } }[];
};

function xmlFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.xml')).map((f) => join(dir, f));
}

const divOf = (resource: FhirResource | undefined) => (resource!.text as { div: string }).div;
const messages = (xml: string) => parseFhirXml(xml).issues.map((i) => `${i.severity}|${i.path}|${i.message}`);

/** Parses, writes and parses again; returns the first parse. */
function expectXmlRoundTrip(file: string): FhirResource {
  const first = parseFhirXml(readFileSync(file, 'utf8'));
  expect(first.issues, file).toEqual([]);
  const second = parseFhirXml(writeFhirXml(first.resource!));
  expect(second.issues, file).toEqual([]);
  expect(second.resource, file).toEqual(first.resource);
  return first.resource!;
}

describe('parseFhirXml: conformance cases of module fmt', () => {
  it('xml-fail.xml: text, schemaLocation and an unknown element', () => {
    const { resource, issues } = parseFhirXml(readFileSync(CASES + 'xml-fail.xml', 'utf8'));
    expect(issues.map((i) => [i.severity, i.messageId, i.message, i.path, i.line])).toEqual([
      ['error', 'xml-unknown-attribute', "Undefined attribute '@xsi:schemaLocation' on Bundle for type Bundle", 'Bundle', 2],
      ['error', 'xml-text', "Text should not be present ('[%loop count=70%]')", 'Bundle', 2],
      ['error', 'xml-unknown-element', "Undefined element 'coding' at Endpoint/f:connectionType", 'Bundle.entry[0].resource.connectionType', 22],
      ['error', 'xml-text', "Text should not be present ('[%endloop%]')", 'Bundle', 2],
    ]);
    // The rest is still read, for the validator's own findings on it.
    const endpoint = (resource!.entry as { resource: Record<string, unknown> }[])[0]!.resource;
    expect(endpoint).toMatchObject({ resourceType: 'Endpoint', id: '[%count%]', status: '[%status%]' });
    expect(endpoint.payloadMimeType).toEqual(['[%payloadFormat%]']);
    // The unknown child is kept as source, so connectionType is not empty (no ele-1 on top of the reader's error).
    const { [UNREAD]: unread, ...rest } = endpoint.connectionType as Record<string, string[]>;
    expect(rest).toEqual({});
    expect(unread!.map((s) => s.replace(/\s+/g, ' '))).toEqual([
      '<coding> <system value="http://terminology.hl7.org/CodeSystem/endpoint-connection-type" /> <code value="[%connectionType%]" /> </coding>',
    ]);
  });

  it('unknown children are kept in complex elements and resources, not in primitives', () => {
    const { resource, issues } = parseFhirXml(
      '<Patient xmlns="http://hl7.org/fhir"><foo a="1"><bar/></foo><active><z/></active><name><x/><family value="A"/><y>t</y></name></Patient>',
    );
    expect(issues.map((i) => i.message)).toEqual([
      "Undefined element 'foo' at /f:Patient",
      "Undefined element 'z' at /f:Patient/f:active",
      "Undefined element 'x' at /f:Patient/f:name",
      "Undefined element 'y' at /f:Patient/f:name",
    ]);
    expect(resource).toEqual({
      resourceType: 'Patient',
      [UNREAD]: ['<foo a="1"><bar/></foo>'],
      name: [{ [UNREAD]: ['<x/>', '<y>t</y>'], family: 'A' }],
      _active: {},
    });
  });

  it('Observation-ex-pain.xml: undefined attribute and element; an empty primitive stays visible', () => {
    const { resource, issues } = parseFhirXml(readFileSync(CASES + 'Observation-ex-pain.xml', 'utf8'));
    expect(issues.map((i) => `${i.path}|${i.message}|${i.line}:${i.column}`)).toEqual([
      "Observation.status|Undefined attribute '@something' on status for type code|3:3",
      "Observation.valueInteger|Undefined element 'value' at /f:Observation/f:valueInteger|5:5",
    ]);
    expect(resource).toEqual({ resourceType: 'Observation', id: 'ex-pain', status: 'final', _status: { id: 'this' }, _valueInteger: {} });
  });

  it('xml-bad-entities.xml: undeclared entity is fatal', () => {
    const { resource, issues } = parseFhirXml(readFileSync(CASES + 'xml-bad-entities.xml', 'utf8'));
    expect(resource).toBeUndefined();
    expect(issues).toEqual([
      expect.objectContaining({ severity: 'fatal', code: 'invalid', message: 'The entity "reg" was referenced, but not declared.', path: '(xml)', line: 6 }),
    ]);
  });

  it('dr-xml-space.xml parses clean and keeps the div as written', () => {
    const { resource, issues } = parseFhirXml(readFileSync(CASES + 'dr-xml-space.xml', 'utf8'));
    expect(issues).toEqual([]);
    const div = divOf(resource);
    expect(div.startsWith('<div xmlns="http://www.w3.org/1999/xhtml">\n\t\t\t<h3>CBC Report')).toBe(true);
    expect(div).toContain('<pre xml:space="preserve">\nTest                  Units');
    expect(div).toContain('&lt;0.21');
    expect(div.endsWith('</p>\n\t\t</div>')).toBe(true);
  });

  it('every other conformance XML file parses without parse-level issues', () => {
    const expectedIssues = new Set(['xml-fail.xml', 'Observation-ex-pain.xml', 'xml-bad-entities.xml']);
    const files = [...new Set(manifest.cases.flatMap((c) => [c.file, ...(c.supporting ?? [])]).filter((f) => f.endsWith('.xml')))];
    expect(files.length).toBeGreaterThan(70);
    for (const f of files) if (!expectedIssues.has(f)) expect(messages(readFileSync(CASES + f, 'utf8')), f).toEqual([]);
  });
});

describe('parseFhirXml: mapping to FHIR JSON', () => {
  const patient = `<?xml version="1.0" encoding="UTF-8"?>
<Patient xmlns="http://hl7.org/fhir">
  <id value="p1"/>
  <contained>
    <Organization>
      <id value="o1"/>
      <active value="true"/>
    </Organization>
  </contained>
  <extension url="http://example.org/x">
    <valueDecimal value="1.50"/>
  </extension>
  <active value="false"/>
  <name id="n1">
    <given value="Anna"/>
    <given>
      <extension url="http://example.org/y">
        <valueBoolean value="true"/>
      </extension>
    </given>
    <given value="Bea"/>
  </name>
  <name>
    <given id="g" value="Cor"/>
  </name>
  <multipleBirthInteger value="-2"/>
  <managingOrganization>
    <reference value="#o1"/>
  </managingOrganization>
</Patient>`;

  it('maps primitives, aligned primitive arrays, extensions, ids and contained resources', () => {
    const { resource, issues } = parseFhirXml(patient);
    expect(issues).toEqual([]);
    expect(resource).toEqual({
      resourceType: 'Patient',
      id: 'p1',
      contained: [{ resourceType: 'Organization', id: 'o1', active: true }],
      extension: [{ url: 'http://example.org/x', valueDecimal: 1.5 }],
      active: false,
      name: [
        { id: 'n1', given: ['Anna', null, 'Bea'], _given: [null, { extension: [{ url: 'http://example.org/y', valueBoolean: true }] }, null] },
        { given: ['Cor'], _given: [{ id: 'g' }] },
      ],
      multipleBirthInteger: -2,
      managingOrganization: { reference: '#o1' },
    });
  });

  it('records start-tag positions under FHIRPath-like keys', () => {
    const { locations } = parseFhirXml(patient);
    expect(locations.get('Patient')).toEqual({ line: 2, column: 1 });
    expect(locations.get('Patient.contained[0]')).toEqual({ line: 4, column: 3 });
    expect(locations.get('Patient.contained[0].active')).toEqual({ line: 7, column: 7 });
    expect(locations.get('Patient.name[0].given[1]')).toEqual({ line: 16, column: 5 });
    expect(locations.get('Patient.name[0].given[1].extension[0].valueBoolean')).toEqual({ line: 18, column: 9 });
    expect(locations.get('Patient.name[1].given[0]')).toEqual({ line: 24, column: 5 });
    expect(locations.get('Patient.multipleBirthInteger')).toEqual({ line: 26, column: 3 });
  });

  it('reads Bundle entries, Parameters resources and nested content references', () => {
    const bundle = parseFhirXml(`<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>
      <entry><fullUrl value="urn:uuid:1"/><resource><Parameters><parameter><name value="a"/>
        <resource><Questionnaire><status value="draft"/><item><linkId value="1"/><type value="group"/>
          <item><linkId value="1.1"/><type value="string"/></item></item></Questionnaire></resource>
        <part><name value="b"/><valueInteger value="7"/></part></parameter></Parameters></resource></entry></Bundle>`);
    expect(bundle.issues).toEqual([]);
    expect(bundle.resource).toEqual({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:1',
          resource: {
            resourceType: 'Parameters',
            parameter: [
              {
                name: 'a',
                resource: {
                  resourceType: 'Questionnaire',
                  status: 'draft',
                  item: [{ linkId: '1', type: 'group', item: [{ linkId: '1.1', type: 'string' }] }],
                },
                part: [{ name: 'b', valueInteger: 7 }],
              },
            ],
          },
        },
      ],
    });
    expect(bundle.locations.get('Bundle.entry[0].resource.parameter[0].resource.item[0].item[0].linkId')).toEqual({ line: 4, column: 17 });
  });

  it('keeps invalid numbers and booleans as strings, with an error', () => {
    const { resource, issues } = parseFhirXml(
      '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><valueBoolean value="yes"/><component><valueInteger value="1.0"/></component><component><valueQuantity><value value="1,5"/></valueQuantity></component></Observation>',
    );
    expect(resource).toMatchObject({ valueBoolean: 'yes', component: [{ valueInteger: '1.0' }, { valueQuantity: { value: '1,5' } }] });
    expect(issues.map((i) => `${i.messageId}|${i.path}|${i.message}`)).toEqual([
      "xml-invalid-primitive|Observation.valueBoolean|boolean values must be 'true' or 'false' (found 'yes')",
      "xml-invalid-primitive|Observation.component[0].valueInteger|The value '1.0' is not a valid integer",
      "xml-invalid-primitive|Observation.component[1].valueQuantity.value|The value '1,5' is not a valid decimal",
    ]);
  });

  it('re-serialises a div that relies on a namespace prefix declared outside it', () => {
    const { resource, issues } = parseFhirXml(
      '<Patient xmlns="http://hl7.org/fhir" xmlns:h="http://www.w3.org/1999/xhtml"><text><status value="generated"/><h:div><h:p class="a&quot;">x &amp; y<h:br/><!-- c --></h:p></h:div></text></Patient>',
    );
    expect(issues).toEqual([]);
    expect(divOf(resource)).toBe(
      '<div xmlns="http://www.w3.org/1999/xhtml"><p class="a&quot;">x &amp; y<br/><!-- c --></p></div>',
    );
  });

  it('reports unknown, repeated and out-of-order elements, text, CDATA and wrong namespaces', () => {
    expect(
      messages(
        '<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><active value="true"/><gender value="female"/><foo/><div xmlns="http://www.w3.org/1999/xhtml"/><x:birthDate xmlns:x="urn:x" value="2000"/>hi<![CDATA[z]]></Patient>',
      ),
    ).toEqual([
      "error|Patient|As specified by profile http://hl7.org/fhir/StructureDefinition/Patient|4.0.1, Element 'active' is out of order (found after gender)",
      'error|Patient.gender|Patient.gender: max allowed = 1, but found 2 (from http://hl7.org/fhir/StructureDefinition/Patient|4.0.1)',
      "error|Patient|Undefined element 'foo' at /f:Patient",
      "error|Patient|Undefined element 'div' at /f:Patient",
      "error|Patient|Undefined element 'birthDate' at /f:Patient",
      "error|Patient|Text should not be present ('hi')",
      'error|Patient|CDATA is not allowed',
    ]);
    expect(messages('<Narrative xmlns="http://hl7.org/fhir"/>')).toEqual([
      "fatal|Narrative|This does not appear to be a FHIR resource (unknown namespace/name 'http://hl7.org/fhir::Narrative')",
    ]);
    expect(messages('<Patient/>')).toEqual(["fatal|Patient|This 'Patient' cannot be parsed as a FHIR object (no namespace)"]);
    expect(messages('<Patient xmlns="urn:other"/>')).toEqual([
      "fatal|Patient|This does not appear to be a FHIR resource (unknown namespace/name 'urn:other::Patient')",
    ]);
  });

  it('rejects DOCTYPE, malformed XML and processing instructions', () => {
    expect(messages('<!DOCTYPE Patient [<!ENTITY x "y">]><Patient xmlns="http://hl7.org/fhir"/>')).toEqual([
      'fatal|(xml)|DOCTYPE is disallowed when the feature "http://apache.org/xml/features/disallow-doctype-decl" set to true.',
    ]);
    const broken = parseFhirXml('<Patient xmlns="http://hl7.org/fhir">\n  <active value="true">\n</Patient>');
    expect(broken.resource).toBeUndefined();
    expect(broken.issues).toEqual([expect.objectContaining({ severity: 'fatal', messageId: 'xml-syntax', line: 3 })]);
    expect(messages('<?xml-stylesheet href="x.xsl"?><Patient xmlns="http://hl7.org/fhir"><?pi x?></Patient>')).toEqual([
      'error|(document)|No processing instructions allowed in resources',
      'error|Patient|Node type 7 is not allowed',
    ]);
  });
});

describe('writeFhirXml', () => {
  it('writes elements in StructureDefinition order with escaped attributes', () => {
    const xml = writeFhirXml({
      resourceType: 'Observation',
      valueString: 'a "b" <c> & d\nline 2\ttab',
      code: { text: 'x' },
      status: 'final',
      _status: { id: 's1' },
      id: 'o',
    });
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Observation xmlns="http://hl7.org/fhir">',
        '  <id value="o"/>',
        '  <status id="s1" value="final"/>',
        '  <code>',
        '    <text value="x"/>',
        '  </code>',
        '  <valueString value="a &quot;b&quot; &lt;c&gt; &amp; d&#10;line 2&#9;tab"/>',
        '</Observation>',
        '',
      ].join('\n'),
    );
    expect(parseFhirXml(xml).resource).toMatchObject({ valueString: 'a "b" <c> & d\nline 2\ttab' });
  });

  it('refuses properties it cannot place instead of dropping them', () => {
    expect(() => writeFhirXml({ resourceType: 'Patient', unknownElement: 1 })).toThrow("Cannot write unknown property 'unknownElement' of Patient");
    expect(() => writeFhirXml({ resourceType: 'Nope' })).toThrow("Cannot write resource of unknown type 'Nope'");
  });

  it('round trips JSON -> XML -> JSON for the valid conformance JSON cases', () => {
    const files = manifest.cases.filter((c) => c.file.endsWith('.json') && c.expected.errors === 0).map((c) => c.file);
    expect(files.length).toBeGreaterThan(40);
    for (const f of files) {
      const json = JSON.parse(readFileSync(CASES + f, 'utf8')) as FhirResource;
      const back = parseFhirXml(writeFhirXml(json));
      expect(back.issues, f).toEqual([]);
      expect(back.resource, f).toEqual(json);
    }
  });

  it('round trips XML -> JSON -> XML -> JSON for the conformance XML cases that parse clean', () => {
    let n = 0;
    const files = [...new Set(manifest.cases.flatMap((c) => [c.file, ...(c.supporting ?? [])]).filter((f) => f.endsWith('.xml')))];
    for (const f of files) {
      if (parseFhirXml(readFileSync(CASES + f, 'utf8')).issues.length) continue;
      expectXmlRoundTrip(CASES + f);
      n++;
    }
    expect(n).toBeGreaterThan(70);
  });
});

describe('Nictiz XML sources', () => {
  it('round trips all 271 zib2020 examples', () => {
    const files = xmlFiles(ZIB + 'examples');
    expect(files).toHaveLength(271);
    for (const f of files) expectXmlRoundTrip(f);
  });

  it('reads every zib2020 and MP9 conformance resource without issues', () => {
    const files = [...xmlFiles(ZIB + 'resources'), ...xmlFiles(MP9)];
    expect(files.length).toBeGreaterThan(800);
    for (const f of files) {
      const { resource, issues } = parseFhirXml(readFileSync(f, 'utf8'));
      expect(issues, f).toEqual([]);
      expect(resource?.resourceType, f).toMatch(/^[A-Z][A-Za-z]+$/);
      if (resource?.resourceType === 'StructureDefinition') {
        expect((resource as { snapshot?: unknown; differential?: unknown }).differential ?? (resource as { snapshot?: unknown }).snapshot, f).toBeDefined();
      }
    }
  });
});
