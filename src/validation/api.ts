import type { OperationOutcome } from 'fhir/r4.js';
import type { Issue } from './issues.js';
import type { FhirResource } from '../packages/types.js';
import type { BundleByEntry } from './bundle-by-entry.js';
import type { FullUrlTable } from './bundle-on-disk.js';
import type { QuestionnaireMode } from './questionnaire-response.js';

export interface ValidatorOptions {
  /** Packages (tgz or folder), folders of loose conformance files, or single files to load. */
  igs?: string[];
  /** Load the packages shipped in profiles/ (default true). */
  includeShippedPackages?: boolean;
  /** Report HTML-looking strings and active content as errors (the reference's "security-checks"). */
  securityChecks?: boolean;
  /** When false, example.org extension URLs are errors (the reference's default is to allow examples). */
  allowExampleUrls?: boolean;
  /** Languages in which displays are accepted, e.g. 'en, de' (the reference's -language option). */
  displayLanguages?: string;
  /** A wrong display is a warning, not an error (the reference's -display-issues-are-warnings); default false. */
  displayIssuesAreWarnings?: boolean;
  /**
   * Where extensions that cannot be resolved may come from, as the reference's -extension: URL prefixes, and 'any'
   * for anywhere (the default, ['any']). Outside them an unknown extension is an error; inside, information.
   */
  extensionDomains?: string[];
  /** How failed best-practice constraints (dom-6, con-3, profiles' own) are reported; default 'warning' (the reference's -best-practice). */
  bestPractice?: BestPracticeLevel;
  /** Canonical resources marked experimental are errors (the reference's noExperimentalContent); default false. */
  noExperimentalContent?: boolean;
  /**
   * References that do not resolve are taken to name their target's type truly (the reference's
   * assumeValidRestReferences): a type the element does not allow is an error, a reference unlike Type/id a warning.
   */
  assumeValidRestReferences?: boolean;
  /**
   * How a QuestionnaireResponse is checked against its questionnaire (the reference's -questionnaire): 'check' (the
   * default) when it can be found, 'required' makes a missing or unknown questionnaire an error, 'none' skips it.
   */
  questionnaireMode?: QuestionnaireMode;
}

export const BEST_PRACTICE_LEVELS = ['error', 'warning', 'information', 'ignore'] as const;
export type BestPracticeLevel = (typeof BEST_PRACTICE_LEVELS)[number];

export interface ValidateOptions {
  /** Canonical URL (optionally |version) of a profile to validate against, in addition to meta.profile. */
  profile?: string;
  /**
   * The JSON text of numbers whose value does not say how they were written (1.0, 1.50, 1e2), by path, as the
   * reader found them (formats/json-positions.ts): an integer written with a decimal point or exponent is invalid,
   * and decimal places are counted as written.
   */
  numberTexts?: ReadonlyMap<string, string>;
}

export interface Validator {
  /** Validates one resource and returns its OperationOutcome. */
  validate(resource: FhirResource, options?: ValidateOptions): OperationOutcome;
  /** The same as validate, as fhirdq issues (stable message ids, FHIRPath locations). */
  validateToIssues(resource: FhirResource, options?: ValidateOptions): Issue[];
  /**
   * A Bundle too big to hold, validated entry by entry with the issues of validateToIssues (see bundle-by-entry.ts):
   * `shell` is the Bundle without `entry`, `fullUrls` its entries' fullUrls, `read` an entry read again from its file,
   * `typeIds` its entries' resources' `type/id` (when not given, the Bundle is read again the first time they are asked).
   * Undefined when the Bundle's rules need all its entries at once (documents, messages, profiles).
   */
  bundleByEntry(
    shell: Record<string, unknown>,
    entries: number,
    fullUrls: FullUrlTable,
    read: (index: number) => Record<string, unknown> | undefined,
    options?: ValidateOptions,
    typeIds?: FullUrlTable,
  ): BundleByEntry | undefined;
  /** Problems found while loading packages (conflicts, missing dependencies, bad profiles). */
  readonly loadIssues: readonly Issue[];
}
