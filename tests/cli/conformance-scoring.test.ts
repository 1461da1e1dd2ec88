import { describe, expect, it } from 'vitest';
import { agreement, mapCaseOptions, scoreSteps, type SuiteStep } from '../../src/validation/conformance-suite.js';
import { formatDisagreement, formatScoreTable } from '../../src/cli/output.js';

function step(module: string, errors: number | null, expectedErrors: number): SuiteStep {
  return { case: `${module}-${errors}-${expectedErrors}`, module, step: 'base', errors, expectedErrors, issues: [] };
}

describe('agreement', () => {
  it('compares the verdict (errors == 0) and the count', () => {
    expect(agreement(step('m', 0, 0))).toEqual({ verdict: true, count: true });
    expect(agreement(step('m', 2, 1))).toEqual({ verdict: true, count: false });
    expect(agreement(step('m', 0, 1))).toEqual({ verdict: false, count: false });
    expect(agreement(step('m', 3, 0))).toEqual({ verdict: false, count: false });
  });
  it('counts a crashed step as disagreeing, even when no errors were expected', () => {
    expect(agreement(step('m', null, 0))).toEqual({ verdict: false, count: false });
  });
});

describe('scoreSteps and formatScoreTable', () => {
  const steps = [
    step('profile', 0, 0),
    step('profile', 2, 1),
    step('profile', null, 0),
    step('bundle', 1, 1),
    step('bundle', 0, 3),
  ];
  it('scores per module (sorted) and overall', () => {
    const scores = scoreSteps(steps);
    expect([...scores.modules.keys()]).toEqual(['bundle', 'profile']);
    expect(scores.modules.get('profile')).toEqual({ steps: 3, verdict: 2, count: 1 });
    expect(scores.modules.get('bundle')).toEqual({ steps: 2, verdict: 1, count: 1 });
    expect(scores.overall).toEqual({ steps: 5, verdict: 3, count: 2 });
  });
  it('prints counts and percentages per module and overall', () => {
    expect(formatScoreTable(scoreSteps(steps))).toBe(
      [
        'bundle   verdict 1/2 (50.0%)  count 1/2 (50.0%)',
        'profile  verdict 2/3 (66.7%)  count 1/3 (33.3%)',
        'overall  verdict 3/5 (60.0%)  count 2/5 (40.0%)',
        '',
      ].join('\n'),
    );
  });
});

describe('mapCaseOptions', () => {
  it('maps security-checks and examples, and lists the rest as ignored', () => {
    expect(mapCaseOptions({ 'security-checks': true, examples: false, 'no-such-option': 1 })).toEqual({
      mapped: { bestPractice: 'ignore', securityChecks: true, allowExampleUrls: false },
      ignored: ['no-such-option'],
    });
  });

  it('maps best-practice by the Java level names (a hint is information); without one, or one it does not know, ignores them as the reference’s runner does', () => {
    expect(mapCaseOptions({ 'best-practice': 'Error' }).mapped).toEqual({ bestPractice: 'error' });
    expect(mapCaseOptions({ 'best-practice': 'Hint' }).mapped).toEqual({ bestPractice: 'information' });
    expect(mapCaseOptions({}).mapped).toEqual({ bestPractice: 'ignore' });
    expect(mapCaseOptions({ 'best-practice': 'loud' })).toEqual({ mapped: { bestPractice: 'ignore' }, ignored: ['best-practice'] });
  });

  it('adds allowed extension domains to any (the domains only silence the hint)', () => {
    expect(mapCaseOptions({ 'allowed-extension-domain': 'http://a.org' }).mapped.extensionDomains).toEqual(['any', 'http://a.org']);
    expect(mapCaseOptions({ 'allowed-extension-domains': ['http://a.org', 'http://b.org'] }).mapped.extensionDomains).toEqual(['any', 'http://a.org', 'http://b.org']);
  });
});

describe('formatDisagreement', () => {
  it("shows our errors next to the reference's errors, skipping its warnings", () => {
    const ours: SuiteStep = {
      ...step('general', 1, 2),
      case: 'pat-bad',
      issues: [
        { severity: 'error', code: 'value', messageId: 'date-format', message: 'Not a valid date', path: 'Patient.birthDate', line: 4, column: 3 },
        { severity: 'warning', code: 'invariant', messageId: 'dom-6', message: 'No narrative', path: 'Patient' },
      ],
    };
    const expected = {
      issue: [
        { severity: 'error', expression: ['Patient.birthDate'], details: { text: "The value '1990-13' is not a valid date" }, diagnostics: '[4,3]' },
        { severity: 'fatal', location: ['Patient.gender'], diagnostics: 'bad code' },
        { severity: 'warning', expression: ['Patient'], details: { text: 'Constraint failed: dom-6' } },
      ],
    };
    expect(formatDisagreement(ours, expected)).toBe(
      [
        'count    general/pat-bad [base]  ours 1, expected 2',
        '    ours: Patient.birthDate (4:3)  Not a valid date  [date-format]',
        "    java: Patient.birthDate (4:3)  The value '1990-13' is not a valid date",
        '    java: Patient.gender  bad code',
        '',
      ].join('\n'),
    );
  });
  it('shows a crash', () => {
    const crashed: SuiteStep = { ...step('sd', null, 0), case: 'sd-x', step: 'profile', crash: 'boom' };
    expect(formatDisagreement(crashed, undefined)).toBe('verdict  sd/sd-x [profile]  ours crashed, expected 0\n    crash: boom\n');
  });
});
