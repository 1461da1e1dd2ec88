/** Narratives and attachments are checked once per walk and path (instance-validator.ts firstCheck), also when profiles walk them again. */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/packages/load.js';
import { TerminologyService } from '../../src/terminology/service.js';
import { BindingChecker } from '../../src/validation/bindings.js';
import { Engine } from '../../src/validation/instance-validator.js';

let engine: Engine;
beforeAll(async () => {
  const loaded = await loadConformance({ igs: [], includeCore: true, packageSearchPaths: [] });
  engine = new Engine(loaded.store, { securityChecks: false, allowExampleUrls: true, bestPractice: 'warning', extensionDomains: ['any'] }, new BindingChecker(new TerminologyService(loaded.store, {})));
});

const PATIENT = 'http://hl7.org/fhir/StructureDefinition/Patient';
const badNarrative = () => ({ status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><blink>x</blink></div>' });
const badPhoto = () => ({ contentType: 'image/png', data: 'not base64!' });
const at = (issues: Array<{ path: string; messageId: string }>, suffix: string) => issues.filter((i) => i.path.endsWith(suffix)).map((i) => `${i.messageId}@${i.path}`);

describe('values checked once per walk', () => {
  it('report the same narrative and attachment issues with a profile walk as without', () => {
    const patient = { resourceType: 'Patient', text: badNarrative(), photo: [badPhoto()] };
    const plain = engine.validate(patient as never);
    expect(at(plain, '.div').length).toBeGreaterThan(0);
    expect(at(plain, 'photo[0].data').length).toBeGreaterThan(0);
    const profiled = engine.validate(patient as never, PATIENT);
    expect(at(profiled, '.div')).toEqual(at(plain, '.div'));
    expect(at(profiled, 'photo[0].data')).toEqual(at(plain, 'photo[0].data'));
  });

  it('check one object met at two paths at each of them', () => {
    const narrative = badNarrative();
    const photo = badPhoto();
    const patient = {
      resourceType: 'Patient',
      meta: { profile: [PATIENT] },
      text: narrative,
      photo: [photo, photo],
      contact: [{ name: { family: 'A' } }],
    };
    const issues = engine.validate(patient as never);
    expect(at(issues, 'photo[0].data').length).toBeGreaterThan(0);
    expect(at(issues, 'photo[1].data').map((s) => s.replace('[1]', '[0]'))).toEqual(at(issues, 'photo[0].data'));
    const contained = { resourceType: 'Patient', meta: { profile: [PATIENT] }, contained: [{ resourceType: 'Basic', id: 'a', code: { text: 'x' }, text: narrative }], text: narrative };
    const both = engine.validate(contained as never);
    const root = at(both, 'Patient.text.div');
    expect(root.length).toBeGreaterThan(0);
    expect(at(both, 'contained[0].text.div').map((s) => s.replace('Patient.contained[0].', 'Patient.'))).toEqual(root);
  });
});
