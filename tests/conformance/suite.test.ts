import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createValidator } from '../../src/index.js';
import { runConformanceSuite, scoreSteps } from '../../src/validation/conformance-suite.js';

const SUITE = fileURLToPath(new URL('../../../shared/conformance/fhir-test-cases-r4', import.meta.url));

/**
 * Regression guard on agreement with the HL7 Java validator. The floors are the figures reached so far;
 * raise them as the engine improves, never lower them to make a change pass.
 */
const FLOOR = { verdict: 0.984, count: 0.974 };

describe('HL7 validator test cases (R4)', () => {
  it('the suite is present beside the checkout', () => {
    expect(existsSync(`${SUITE}/manifest.json`)).toBe(true);
  });

  it(`agrees with the reference on at least ${(FLOOR.verdict * 100).toFixed(1)}% of verdicts and ${(FLOOR.count * 100).toFixed(1)}% of error counts`, async () => {
    const run = await runConformanceSuite(SUITE, { createValidator });
    const steps = run.results.map((r) => r.step);
    const { overall } = scoreSteps(steps);
    expect(overall.steps).toBeGreaterThan(150);
    expect(steps.filter((s) => s.errors === null)).toEqual([]);
    expect(overall.verdict / overall.steps).toBeGreaterThanOrEqual(FLOOR.verdict);
    expect(overall.count / overall.steps).toBeGreaterThanOrEqual(FLOOR.count);
  });
});
