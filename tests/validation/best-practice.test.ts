/** Best-practice constraints (dom-6 in R4 core: a resource should have a narrative) at the level asked for. */
import { describe, expect, it } from 'vitest';
import type { BestPracticeLevel } from '../../src/validation/api.js';
import { useValidator } from './helpers.js';

const levels: Array<BestPracticeLevel | undefined> = [undefined, 'error', 'warning', 'information', 'ignore'];
const validators = levels.map((bestPractice) => useValidator([], bestPractice ? { bestPractice } : {}));
const dom6 = (i: number) =>
  validators[i]!()
    .validateToIssues({ resourceType: 'Basic', code: { text: 'no narrative' } } as never)
    .filter((issue) => issue.messageId === 'constraint-dom-6')
    .map((issue) => issue.severity);

describe('best-practice level', () => {
  it('reports dom-6 as a warning by default, as the reference does', () => expect(dom6(0)).toEqual(['warning']));
  it('as an error when asked (a vendor CI that wants narratives)', () => expect(dom6(1)).toEqual(['error']));
  it('as a warning', () => expect(dom6(2)).toEqual(['warning']));
  it('as information', () => expect(dom6(3)).toEqual(['information']));
  it('not at all when ignored', () => expect(dom6(4)).toEqual([]));
});

describe('observations: subject, performer and time (the reference ObservationValidator)', () => {
  const observation = (extra: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });
  /** The advice validator i (of `levels`) gives on an observation. */
  const advice = (i: number, extra: Record<string, unknown>) =>
    validators[i]!()
      .validateToIssues(observation(extra) as never)
      .filter((issue) => issue.messageId.startsWith('observation-no-'))
      .map((issue) => `${issue.severity} ${issue.messageId}`);

  it('advises at the best-practice level, and says nothing of a complete one', () => {
    expect(advice(0, {})).toEqual(['warning observation-no-subject', 'warning observation-no-performer', 'warning observation-no-effective']);
    expect(advice(0, { subject: { reference: 'Patient/1' }, performer: [{ reference: 'Practitioner/1' }], effectivePeriod: { start: '2026-01-01' } })).toEqual([]);
    expect(advice(4, {})).toEqual([]);
    expect(advice(1, { subject: { reference: 'Patient/1' }, effectiveDateTime: '2026-01-01T10:00:00Z' })).toEqual(['error observation-no-performer']);
  });
});
