/**
 * Runs a conformance suite in the format of ../shared/conformance (manifest.json + cases/) in one process
 * and scores it against the reference validator's outcomes: verdict agreement ((errors == 0) is the same)
 * and count agreement (the same number of errors), per step.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { BestPracticeLevel, Validator, ValidatorOptions } from './api.js';
import { isError, type Issue } from './issues.js';
import { kindOf, parseJsonText, parseXmlText, validateParsed, type ParsedResource } from '../cli/input.js';

/** The parts of the reference's OperationOutcome that are shown next to ours. */
const expectedOutcomeSchema = z.object({
  issue: z
    .array(
      z.object({
        severity: z.string(),
        expression: z.array(z.string()).optional(),
        location: z.array(z.string()).optional(),
        details: z.object({ text: z.string().optional() }).optional(),
        diagnostics: z.string().optional(),
      }),
    )
    .optional(),
});

export type ExpectedOutcome = z.infer<typeof expectedOutcomeSchema>;

const expectedSchema = z.object({ errors: z.number().int().nonnegative(), outcome: expectedOutcomeSchema.optional() });

const caseSchema = z.object({
  name: z.string(),
  file: z.string(),
  module: z.string(),
  supporting: z.array(z.string()).default([]),
  packages: z.array(z.string()).default([]),
  options: z.record(z.string(), z.unknown()).default({}),
  expected: expectedSchema,
  profile: z
    .object({ source: z.string(), supporting: z.array(z.string()).default([]), expected: expectedSchema })
    .optional(),
});

const manifestSchema = z.object({ cases: z.array(caseSchema) });

export type SuiteCase = z.infer<typeof caseSchema>;

/** One scored step, as written to the results file. `errors` is null when the step crashed. */
export interface SuiteStep {
  case: string;
  module: string;
  step: 'base' | 'profile';
  errors: number | null;
  expectedErrors: number;
  issues: Issue[];
  /** Problems loading the case's packages and supporting files (not counted as errors). */
  loadIssues?: Issue[];
  /** The exception message, when the step crashed. */
  crash?: string;
}

export interface StepResult {
  step: SuiteStep;
  expected: ExpectedOutcome | undefined;
}

export interface SuiteRunOptions {
  /** The engine under test: fhirdq's createValidator, or another one for comparisons. */
  createValidator: (options: ValidatorOptions) => Promise<Validator>;
  /** Runs only cases whose `module/name` contains this substring. */
  filter?: string;
  /** Called after each step, e.g. for progress. */
  onStep?: (result: StepResult) => void;
}

export interface SuiteRun {
  results: StepResult[];
  /** Case options that are not mapped to validator options yet: option name → case names. */
  ignoredOptions: Map<string, string[]>;
}

export async function readManifest(suiteFolder: string): Promise<SuiteCase[]> {
  const text = await readFile(join(suiteFolder, 'manifest.json'), 'utf8');
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`${join(suiteFolder, 'manifest.json')}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; ...' : ''}`);
  }
  return parsed.data.cases;
}

/** The upstream manifest's best-practice levels (the Java enum's names); a hint is information here. */
const BEST_PRACTICE_BY_NAME: Record<string, BestPracticeLevel | undefined> = { error: 'error', warning: 'warning', hint: 'information', ignore: 'ignore' };

/** Maps a case's options (named as in the upstream manifest) to validator options. */
export function mapCaseOptions(options: Record<string, unknown>): { mapped: ValidatorOptions; ignored: string[] } {
  // The reference's test runner leaves best-practice checks out unless a case asks for them (its outcomes have none).
  const mapped: ValidatorOptions = { bestPractice: 'ignore' };
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    if (name === 'security-checks') mapped.securityChecks = value === true;
    else if (name === 'examples') mapped.allowExampleUrls = value !== false;
    else if (name === 'language' && typeof value === 'string') mapped.displayLanguages = value;
    else if (name === 'no-experimental-content') mapped.noExperimentalContent = value === true || value === 'true';
    else if (name === 'assumeValidRestReferences') mapped.assumeValidRestReferences = value === true;
    else if ((name === 'allowed-extension-domain' || name === 'allowed-extension-domains') && (typeof value === 'string' || Array.isArray(value))) {
      mapped.extensionDomains = [...(mapped.extensionDomains ?? ['any']), ...[value].flat().map(String)];
    } else if (name === 'best-practice' && typeof value === 'string' && BEST_PRACTICE_BY_NAME[value.toLowerCase()]) mapped.bestPractice = BEST_PRACTICE_BY_NAME[value.toLowerCase()];
    else ignored.push(name);
  }
  return { mapped, ignored };
}

export async function runConformanceSuite(suiteFolder: string, options: SuiteRunOptions): Promise<SuiteRun> {
  const cases = await readManifest(suiteFolder);
  const inCases = (file: string): string => join(suiteFolder, 'cases', file);
  const results: StepResult[] = [];
  const ignoredOptions = new Map<string, string[]>();
  const record = (step: SuiteStep, expected: ExpectedOutcome | undefined): void => {
    const result = { step, expected };
    results.push(result);
    options.onStep?.(result);
  };
  for (const suiteCase of cases) {
    if (options.filter && !`${suiteCase.module}/${suiteCase.name}`.includes(options.filter)) continue;
    const { mapped, ignored } = mapCaseOptions(suiteCase.options);
    for (const name of ignored) ignoredOptions.set(name, [...(ignoredOptions.get(name) ?? []), suiteCase.name]);
    const file = inCases(suiteCase.file);
    const igs = [...suiteCase.packages, ...suiteCase.supporting].map(inCases);
    const newStep = (step: SuiteStep['step'], expectedErrors: number): SuiteStep =>
      ({ case: suiteCase.name, module: suiteCase.module, step, errors: null, expectedErrors, issues: [] });

    const base = newStep('base', suiteCase.expected.errors);
    await runStep(base, () => options.createValidator({ ...mapped, igs, includeShippedPackages: false }), file);
    record(base, suiteCase.expected.outcome);

    const profile = suiteCase.profile;
    if (profile) {
      const source = inCases(profile.source);
      const profileIgs = [...igs, source, ...profile.supporting.map(inCases)];
      const step = newStep('profile', profile.expected.errors);
      await runStep(step, () => options.createValidator({ ...mapped, igs: profileIgs, includeShippedPackages: false }), file, source);
      record(step, profile.expected.outcome);
    }
  }
  return { results, ignoredOptions };
}

/** Fills in the step's issues and errors; a crash (exception) is recorded on the step and never stops the run. */
async function runStep(step: SuiteStep, makeValidator: () => Promise<Validator>, file: string, profileSource?: string): Promise<void> {
  try {
    const validator = await makeValidator();
    if (validator.loadIssues.length) step.loadIssues = [...validator.loadIssues];
    const validateOptions = profileSource ? { profile: await canonicalUrlOf(profileSource) } : undefined;
    step.issues = validateParsed(validator, await parseFile(file), validateOptions);
    step.errors = step.issues.filter(isError).length;
  } catch (err) {
    step.crash = err instanceof Error ? err.message : String(err);
  }
}

async function parseFile(file: string): Promise<ParsedResource> {
  const text = await readFile(file, 'utf8');
  return kindOf(file) === 'xml' ? parseXmlText(text) : parseJsonText(text);
}

async function canonicalUrlOf(file: string): Promise<string> {
  const { resource } = await parseFile(file);
  const url = resource?.url;
  if (typeof url !== 'string') throw new Error(`profile source ${file} has no url`);
  return url;
}

export interface Score {
  steps: number;
  verdict: number;
  count: number;
}

export interface SuiteScores {
  /** Per module, sorted by module name. */
  modules: Map<string, Score>;
  overall: Score;
}

export function agreement(step: Pick<SuiteStep, 'errors' | 'expectedErrors'>): { verdict: boolean; count: boolean } {
  if (step.errors === null) return { verdict: false, count: false };
  return { verdict: (step.errors === 0) === (step.expectedErrors === 0), count: step.errors === step.expectedErrors };
}

export function scoreSteps(steps: Iterable<Pick<SuiteStep, 'module' | 'errors' | 'expectedErrors'>>): SuiteScores {
  const overall: Score = { steps: 0, verdict: 0, count: 0 };
  const modules = new Map<string, Score>();
  for (const step of steps) {
    let score = modules.get(step.module);
    if (!score) modules.set(step.module, (score = { steps: 0, verdict: 0, count: 0 }));
    const { verdict, count } = agreement(step);
    for (const s of [score, overall]) {
      s.steps++;
      if (verdict) s.verdict++;
      if (count) s.count++;
    }
  }
  return { modules: new Map([...modules].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), overall };
}
