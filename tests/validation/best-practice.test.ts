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
