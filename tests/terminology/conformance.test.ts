import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import type { CanonicalResource } from '../../src/packages/types.js';
import { bindingIssues, TerminologyService, type TxMessage } from '../../src/terminology/index.js';
import { conformanceDir, coreResources, expectedIssues, resolverOf } from './resolver.js';

// Reproduces, message for message, the terminology issues the HL7 validator reports in the R4 conformance cases.
const shape = (ms: readonly TxMessage[]) => ms.map((m) => ({ severity: m.severity, code: m.issueType, text: m.message }));
const core = new TerminologyService(resolverOf(...coreResources));

function packageValueSet(version: string): CanonicalResource {
  const dir = mkdtempSync(join(tmpdir(), 'tx-pkg-'));
  tar.x({ file: join(conformanceDir, `cases/nested-package-version-dependencies/hl7.fhir.test.versions#${version}.tgz`), cwd: dir, sync: true });
  return JSON.parse(readFileSync(join(dir, 'package/valueset.json'), 'utf8')) as CanonicalResource;
}

describe('required code bindings (system inferred from the value set)', () => {
  it.each([
    ['patient-bad-gender', 'Patient.gender', 'asdfafafafd', 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1'],
    ['bundle-validation-location-2.xml', 'Bundle.entry[0].resource/*Patient/pat1*/.gender', 'invalid', 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1'],
    ['xml-fail', 'Bundle.entry[0].resource/*Endpoint/[%count%]*/.status', '[%status%]', 'http://hl7.org/fhir/ValueSet/endpoint-status|4.0.1'],
    ['xml-fail', 'Bundle.entry[0].resource/*Endpoint/[%count%]*/.payloadMimeType[0]', '[%payloadFormat%]', 'http://hl7.org/fhir/ValueSet/mimetypes|4.0.1'],
    ['profile-missing-elements', 'StructureDefinition.differential.element[0].slicing.discriminator[0].type', 'expression', 'http://hl7.org/fhir/ValueSet/discriminator-type|4.0.1'],
  ])('%s %s', (name, path, code, vs) => {
    const check = core.validateCode({ code }, vs);
    expect(check.status).toBe('not-in-valueset');
    expect(shape(bindingIssues(check, 'required', 'code', code))).toEqual(expectedIssues(name, path));
  });

  it('preferred binding: information only (de-address-example)', () => {
    const check = core.validateCode({ code: 'D' }, 'http://hl7.org/fhir/ValueSet/iso3166-1-2');
    const expected = expectedIssues('de-address-example', 'Organization.address[0].country', true).filter((i) => i.text.startsWith('The value'));
    expect(shape(bindingIssues(check, 'preferred', 'code', 'D'))).toEqual(expected);
  });

  it('valid codes give no issues', () => {
    for (const [code, vs] of [['female', 'administrative-gender'], ['active', 'endpoint-status'], ['application/fhir+json', 'mimetypes'], ['value', 'discriminator-type']]) {
      const check = core.validateCode({ code }, `http://hl7.org/fhir/ValueSet/${vs}`);
      expect(check.status, code).toBe('valid');
      expect(bindingIssues(check, 'required', 'code', code)).toEqual([]);
    }
  });
});

describe('CodeableConcept bindings', () => {
  it('wrong displays in other languages (patient-translated-codes, language en, de)', () => {
    const tx = new TerminologyService(resolverOf(...coreResources), { languages: 'en, de' });
    const vs = 'http://hl7.org/fhir/ValueSet/patient-contactrelationship';
    for (const [i, code, display] of [[0, 'C', 'alt-display'], [1, 'N', 'alt-designation']] as const) {
      const check = tx.validateCodeableConcept({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code, display }] }, vs);
      expect(check.status).toBe('invalid-display');
      const issues = bindingIssues(check, 'extensible', 'CodeableConcept');
      expect(issues[0]).toMatchObject({ codingIndex: 0, element: 'display' });
      expect(shape(issues)).toEqual([
        ...expectedIssues('patient-translated-codes', `Patient.contact[0].relationship[${i}].coding[0].display`),
        ...expectedIssues('patient-translated-codes', `Patient.contact[0].relationship[${i}]`),
      ]);
      // The German designation is a valid display when German is accepted.
      const de = tx.validateCodeableConcept({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'C', display: 'Ansprechpartner in Notfällen' }] }, vs);
      expect(de.status).toBe('valid');
    }
  });

  it('code from another system than the value set enumerates (obs-temp-bad, parameters-reference)', () => {
    const sct = core.validateCodeableConcept({ coding: [{ system: 'http://snomed.info/sct', code: '276885007' }] }, 'http://hl7.org/fhir/ValueSet/observation-vitalsignresult');
    expect(shape(bindingIssues(sct, 'extensible', 'CodeableConcept'))).toEqual(expectedIssues('obs-temp-bad', 'Observation.code').filter((i) => i.code === 'code-invalid'));
    const mb = core.validateCodeableConcept({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MB' }] }, 'http://hl7.org/fhir/ValueSet/identifier-type');
    expect(mb.status).toBe('not-in-valueset');
    expect(shape(bindingIssues(mb, 'extensible', 'CodeableConcept'))).toEqual(
      expectedIssues('parameters-reference', 'Parameters.parameter[0].resource/*Patient/1*/.identifier[0].type'),
    );
  });

  it('coding without system in a CodeableConcept (xml-fail) and in a Coding (bundle-with-extensions)', () => {
    const cc = core.validateCodeableConcept({ coding: [{ code: '[%payloadType%]' }] }, 'http://hl7.org/fhir/ValueSet/endpoint-payload-type');
    expect(shape(bindingIssues(cc, 'example', 'CodeableConcept'))).toEqual(expectedIssues('xml-fail', 'Bundle.entry[0].resource/*Endpoint/[%count%]*/.payloadType[0].coding[0]'));
    const coding = core.validateCoding({ code: 'something' }, 'http://hl7.org/fhir/ValueSet/message-events');
    expect(shape(bindingIssues(coding, 'example', 'Coding'))).toEqual(
      expectedIssues('bundle-with-extensions', 'Bundle.entry[0].resource/*MessageHeader/someMsg*/.event.ofType(Coding)'),
    );
  });
});

describe('package-versioning value sets (whole SNOMED in 0.1.0, whole LOINC in 0.2.0)', () => {
  const tx = new TerminologyService(resolverOf(...coreResources, packageValueSet('0.1.0'), packageValueSet('0.2.0')));
  const loinc = { coding: [{ system: 'http://loinc.org', code: '100066-0' }] };
  const vs = 'http://hl7.org/fhir/test/ValueSet/package-version-test-valueset';

  it('LOINC code against the SNOMED-only 0.1.0 value set is an error', () => {
    const check = tx.validateCodeableConcept(loinc, `${vs}|0.1.0`);
    expect(check.status).toBe('not-in-valueset');
    expect(shape(bindingIssues(check, 'required', 'CodeableConcept'))).toEqual(expectedIssues('package-versioning-simple-0.1.0-bad', 'Observation.code'));
  });

  it('codes from a wholly included unavailable system are not checkable, never errors', () => {
    const a = tx.validateCodeableConcept(loinc, `${vs}|0.2.0`);
    const b = tx.validateCodeableConcept({ coding: [{ system: 'http://snomed.info/sct', code: '252829002' }] }, `${vs}|0.1.0`);
    for (const check of [a, b]) {
      expect(check.status).toBe('not-checkable');
      expect(bindingIssues(check, 'required', 'CodeableConcept').map((m) => m.severity)).toEqual(['information']);
    }
    // Without a version the newest loaded one is used.
    expect(tx.expand(vs)?.version).toBe('0.2.0');
  });
});

describe('fragment code systems (valueset-import-legacy-test)', () => {
  it('an unknown code in a fragment is a warning, not an error', () => {
    const cs = { resourceType: 'CodeSystem', url: 'http://www.ada.org/snodent', version: '3.0.0', content: 'fragment', concept: [{ code: '210964D-X', display: 'Something' }] };
    const tx = new TerminologyService(resolverOf(cs));
    const check = tx.validateCoding({ system: 'http://www.ada.org/snodent', code: '210965D-X', display: 'Anterior part of lower alveolar ridge' });
    expect(check.status).toBe('not-checkable');
    expect(shape(check.messages)).toEqual(expectedIssues('valueset-import-legacy-test', 'Observation.code.coding[0].code'));
    expect(check.messages[0].element).toBe('code');
  });
});
