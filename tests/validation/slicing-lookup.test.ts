/** Slice lookup: extensions found by url, several discriminators at once, answers kept per profile and not per item. */
import { describe, expect, it } from 'vitest';
import { CORE, found, profile, TEST, useValidator } from './helpers.js';

const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';
const MAIDEN = CORE + 'patient-mothersMaidenName';
const BIRTH_PLACE = CORE + 'patient-birthPlace';

const id = (path: string, extra: Record<string, unknown> = {}) => ({ id: path, path: path.replace(/:[^.]+/g, ''), ...extra });
const slice = (path: string, extra: Record<string, unknown> = {}) => id(path, { sliceName: path.slice(path.lastIndexOf(':') + 1), ...extra });

const validator = useValidator([
  profile('ExtensionSlices', 'Patient', [
    id('Patient.extension', { slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'closed' } }),
    slice('Patient.extension:maiden', { max: '1', type: [{ code: 'Extension', profile: [MAIDEN] }] }),
    slice('Patient.extension:birthPlace', { min: 1, max: '1', type: [{ code: 'Extension', profile: [BIRTH_PLACE] }] }),
  ]),
  profile('TwoDiscriminators', 'Patient', [
    id('Patient.identifier', { slicing: { discriminator: [{ type: 'value', path: 'system' }, { type: 'value', path: 'use' }], rules: 'closed' } }),
    slice('Patient.identifier:official', { max: '1' }),
    id('Patient.identifier:official.system', { min: 1, fixedUri: BSN }),
    id('Patient.identifier:official.use', { min: 1, fixedCode: 'official' }),
    slice('Patient.identifier:usual', { max: '1' }),
    id('Patient.identifier:usual.system', { min: 1, fixedUri: BSN }),
    id('Patient.identifier:usual.use', { min: 1, fixedCode: 'usual' }),
  ]),
]);

const slicingIssues = (resource: Record<string, unknown>, name: string) =>
  found(validator().validateToIssues(resource as never, { profile: TEST + name })).filter((i) => i.messageId.startsWith('slice-'));

const maiden = { url: MAIDEN, valueString: 'Jansen' };
const birthPlace = { url: BIRTH_PLACE, valueAddress: { city: 'Utrecht' } };

describe('extension slices by url', () => {
  it('finds each extension its slice by url, and counts the slices', () => {
    expect(slicingIssues({ resourceType: 'Patient', extension: [maiden, birthPlace] }, 'ExtensionSlices')).toEqual([]);
    expect(slicingIssues({ resourceType: 'Patient', extension: [maiden, maiden] }, 'ExtensionSlices')).toEqual([
      { messageId: 'slice-max', path: 'Patient' },
      { messageId: 'slice-min', path: 'Patient' },
    ]);
  });

  it('an extension with another url, or with none, matches no slice', () => {
    const other = { url: 'http://fhirdq.test/other', valueString: 'x' };
    expect(slicingIssues({ resourceType: 'Patient', extension: [birthPlace, other, { valueString: 'x' }] }, 'ExtensionSlices')).toEqual([
      { messageId: 'slice-no-match-closed', path: 'Patient.extension[1]' },
      { messageId: 'slice-no-match-closed', path: 'Patient.extension[2]' },
    ]);
  });

  it('answers each resource on its own: what one matched does not carry over to the next', () => {
    expect(slicingIssues({ resourceType: 'Patient', extension: [birthPlace] }, 'ExtensionSlices')).toEqual([]);
    expect(slicingIssues({ resourceType: 'Patient', extension: [maiden] }, 'ExtensionSlices')).toEqual([{ messageId: 'slice-min', path: 'Patient' }]);
    expect(slicingIssues({ resourceType: 'Patient', extension: [birthPlace] }, 'ExtensionSlices')).toEqual([]);
  });
});

describe('several discriminators', () => {
  it('an item matches a slice only when every discriminator does', () => {
    const identifier = (system: string, use: string) => ({ system, use, value: '999911120' });
    const both = { resourceType: 'Patient', identifier: [identifier(BSN, 'usual'), identifier(BSN, 'official')] };
    expect(slicingIssues(both, 'TwoDiscriminators')).toEqual([]);
    const mismatched = { resourceType: 'Patient', identifier: [identifier(BSN, 'temp'), identifier('http://fhirdq.test/other', 'official')] };
    expect(slicingIssues(mismatched, 'TwoDiscriminators')).toEqual([
      { messageId: 'slice-no-match-closed', path: 'Patient.identifier[0]' },
      { messageId: 'slice-no-match-closed', path: 'Patient.identifier[1]' },
    ]);
  });
});
