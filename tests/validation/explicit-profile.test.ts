/**
 * A profile given for the validation (the CLI's --profile, a conformance case's profile step) stands in for the
 * resource's type at the root, as in the Java validator: the type's rules are in the profile's snapshot, and walking
 * both reported each broken core rule twice (once "from" the type, once "from" the profile).
 */
import { describe, expect, it } from 'vitest';
import { CORE, profile, TEST, useValidator } from './helpers.js';

const encounterProfile = profile('ExplicitEncounter', 'Encounter', [{ id: 'Encounter.subject', path: 'Encounter.subject', min: 1 }]);
const bundleProfile = profile('ExplicitBundle', 'Bundle', [{ id: 'Bundle.total', path: 'Bundle.total', min: 1 }]);
const validator = useValidator([encounterProfile, bundleProfile]);
const errors = (resource: Record<string, unknown>, options?: { profile: string }) =>
  validator()
    .validateToIssues(resource as never, options)
    .filter((i) => i.severity === 'error')
    .map((i) => i.message);

// Encounter.class is required by the core definition; the profile also requires a subject.
const classless = { resourceType: 'Encounter', status: 'planned' };

describe('an explicit profile at the root', () => {
  it('reports a broken core rule once, from the profile', () => {
    const found = errors(classless, { profile: TEST + 'ExplicitEncounter' });
    expect(found.filter((m) => m.startsWith('Encounter.class: minimum required'))).toEqual([
      `Encounter.class: minimum required = 1, but only found 0 (from ${TEST}ExplicitEncounter)`,
    ]);
    expect(found.filter((m) => m.startsWith('Encounter.subject: minimum required'))).toHaveLength(1);
  });

  it('leaves the base validation as it was', () => {
    expect(errors(classless)).toEqual([`Encounter.class: minimum required = 1, but only found 0 (from ${CORE}Encounter|4.0.1)`]);
  });

  it('still adds the profiles the resource declares, each walked on its own', () => {
    const declared = { ...classless, meta: { profile: [TEST + 'ExplicitEncounter'] } };
    expect(errors(declared).filter((m) => m.startsWith('Encounter.class'))).toHaveLength(2);
    // Declared and given: one walk of the profile, none of the type.
    expect(errors(declared, { profile: TEST + 'ExplicitEncounter' }).filter((m) => m.startsWith('Encounter.class'))).toHaveLength(1);
  });

  it('falls back to the type when the profile is for another type, and says so', () => {
    const found = errors(classless, { profile: TEST + 'ExplicitBundle' });
    expect(found.filter((m) => m.startsWith('Encounter.class'))).toHaveLength(1);
    expect(found.some((m) => m.includes('is for Bundle, not Encounter'))).toBe(true);
  });

  it('keeps the Bundle rules of the core specification on a profiled Bundle', () => {
    const bundle = { resourceType: 'Bundle', type: 'searchset', total: 1, entry: [{ resource: { resourceType: 'Basic', code: { text: 'x' } }, search: { mode: 'match' } }] };
    // Outside transactions and batches an entry needs a fullUrl: a rule of the Bundle checks, not of the snapshot.
    const missingFullUrl = errors(bundle, { profile: TEST + 'ExplicitBundle' }).filter((m) => m.includes('must have a fullUrl'));
    expect(missingFullUrl).toHaveLength(1);
  });
});
