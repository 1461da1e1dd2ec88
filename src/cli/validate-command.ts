/** `fhirdq validate <files or folders...>`: validates JSON, FHIR XML and NDJSON files against core and profiles. */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createValidator } from '../index.js';
import { BEST_PRACTICE_LEVELS, type BestPracticeLevel } from '../validation/api.js';
import { QUESTIONNAIRE_MODES, type QuestionnaireMode } from '../validation/questionnaire-response.js';
import { createValidatorPool, type LineItem, type RenderedBatch } from '../pipeline/validate-pool.js';
import { atLeast, type Issue } from '../validation/issues.js';
import { addCounts, countIssues } from '../validation/outcome.js';
import { collectFiles, describeFsError, kindOf, readNdjsonLines, readResource, validateParsedSafely } from './input.js';
import { BundleEntryValidation, ENTRIES_AT_A_TIME, scanBundle, type ScannedBundle } from './bundle-entries.js';
import { collect, EXIT_USAGE, type CliContext } from './context.js';
import { holdYoungGeneration, limitHeapGrowth } from './heap-growth.js';
import { chunkedWriter, createReporter, OUTPUT_FORMATS, resourceLabel, type OutputFormat, type Summary } from './output.js';

export interface ValidateCommandOptions {
  ig: string[];
  profile?: string;
  format: OutputFormat;
  securityChecks?: boolean;
  bestPractice?: BestPracticeLevel;
  /** Canonical resources marked experimental are errors. */
  experimentalContent?: boolean;
  /** Languages in which displays are accepted ('nl, en'). */
  language?: string;
  /** A wrong display is a warning, not an error. */
  displayIssuesAreWarnings?: boolean;
  questionnaire?: QuestionnaireMode;
  /** URL prefixes from which unknown extensions are allowed; none given: any. */
  extension: string[];
  /** Validation worker threads beside the main thread, which validates too; undefined decides from the input (see workersFor). */
  workers?: number;
  /** JSON and XML Bundles from this size are validated entry by entry (default BUNDLE_BY_ENTRY_FROM_BYTES). */
  bundleByEntryFrom?: number;
  /** The least severity that makes the exit code 1 (default error). */
  failOn?: FailOn;
  /** The least severity the report lists (default information: every issue); counts and the exit code take all. */
  minSeverity?: MinSeverity;
}

const MIN_SEVERITY = ['error', 'warning', 'information'] as const;
type MinSeverity = (typeof MIN_SEVERITY)[number];

const FAIL_ON = ['error', 'warning'] as const;
type FailOn = (typeof FAIL_ON)[number];

/** Resources sent to a thread at a time, and batches in flight per thread: enough to keep every thread busy. */
const BATCH_SIZE = 200;
const BATCHES_PER_THREAD = 2;

export function registerValidateCommand(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('validate FHIR resources (*.json, *.xml, *.ndjson files, or folders of them)')
    .argument('<paths...>', 'files or folders')
    .option('--ig <package or folder>', 'load a FHIR package (.tgz or folder) or conformance files (repeatable)', collect, [])
    .option('--profile <canonical>', 'also validate every resource against this profile (url or url|version)')
    .addOption(new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('text'))
    .option('--security-checks', 'report HTML-looking strings and active content as errors')
    .option('--no-experimental-content', 'report canonical resources marked experimental as errors')
    .option('--language <languages>', "accept a code's designations as displays only in these languages, besides its own display (e.g. 'nl, en')")
    .option('--display-issues-are-warnings', 'report a wrong display of a known code as a warning, not an error')
    .addOption(
      new Option('--questionnaire <mode>', "check QuestionnaireResponses against their questionnaire when it is found ('check'), also require it ('required'), or not ('none')")
        .choices(QUESTIONNAIRE_MODES)
        .default('check'),
    )
    .addOption(new Option('--best-practice <level>', 'how failed best-practice constraints (dom-6: narrative, ...) are reported').choices(BEST_PRACTICE_LEVELS).default('warning'))
    .option('--extension <domain>', "allow unknown extensions only from this URL prefix (repeatable; 'any': from anywhere, the default); others are errors", collect, [])
    .addOption(
      new Option('--min-severity <severity>', "list only issues of this severity or worse (counts and the exit code still take every issue): 'error' for a short report, or a code scanning upload within its limits")
        .choices(MIN_SEVERITY)
        .default('information'),
    )
    .addOption(new Option('--fail-on <severity>', "exit 1 on errors ('error'), or on warnings too ('warning'): a CI that keeps an export free of warnings").choices(FAIL_ON).default('error'))
    .option('--workers <n>', 'validation worker threads beside the main thread for NDJSON input and big Bundles (0: none; default: one per core but one, from 32 MB of them)', parseWorkers)
    .action(async (paths: string[], options: ValidateCommandOptions) => {
      ctx.exitCode = await validateFiles(paths, options, ctx);
    });
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new InvalidArgumentError('a whole number from 0 to 64');
  return n;
}

/**
 * Workers pay off from some size of input (NDJSON, big Bundles): each loads its own validator and warms its own
 * compiled code (a second or two of CPU) before it helps, and uses more memory. On 2 cores, one worker beside the
 * main thread: 100 MB NDJSON took as long either way (5.3-5.7 s against 4.6-5.8 s, 60% more CPU, 40 MB more
 * memory), 300 MB 1.07-1.41 times less with it. With more cores more workers help: that size divided by the
 * workers, never under 32 MB.
 */
const WORKERS_FROM_BYTES_ON_TWO_CORES = 128 * 1024 * 1024;
const WORKERS_FROM_BYTES_AT_LEAST = 32 * 1024 * 1024;

/** Worker threads for this much input on this many cores, when not given: one per core but one, or none. */
export function defaultWorkers(bytes: number, cores: number): number {
  if (cores < 2) return 0;
  const from = Math.max(WORKERS_FROM_BYTES_AT_LEAST, WORKERS_FROM_BYTES_ON_TWO_CORES / (cores - 1));
  return bytes >= from ? cores - 1 : 0;
}

/**
 * JSON files from which a Bundle is validated entry by entry: held whole, a Bundle takes about 20 times its size in
 * memory (100 MB: 2.3 GB), and one of more than 512 MB cannot be read into a string at all.
 */
const BUNDLE_BY_ENTRY_FROM_BYTES = 32 * 1024 * 1024;

/**
 * For NDJSON input or big Bundles of some size (the workers take those only), one worker per core but one: the main
 * thread validates batches too. Else none.
 */
async function workersFor(files: readonly string[], requested: number | undefined, bundleByEntryFrom: number): Promise<number> {
  if (requested !== undefined) return requested;
  let bytes = 0;
  for (const file of files) {
    const kind = kindOf(file);
    if (kind === undefined) continue;
    const size = (await stat(file)).size;
    if (kind === 'ndjson' || size >= bundleByEntryFrom) bytes += size;
  }
  return defaultWorkers(bytes, availableParallelism());
}

/** Validates the files and reports them; returns the exit code (0 no errors, 1 errors, 2 input problems). */
export async function validateFiles(paths: readonly string[], options: ValidateCommandOptions, ctx: CliContext): Promise<number> {
  const { files, problems } = await collectFiles(paths);
  for (const problem of problems) ctx.err(`fhirdq: ${problem}\n`);
  if (files.length === 0) {
    ctx.err(`fhirdq: no files to validate (folders are searched for *.json, *.xml and *.ndjson)\n`);
    return EXIT_USAGE;
  }
  const missingIgs = (await collectFiles(options.ig)).problems;
  for (const problem of missingIgs) ctx.err(`fhirdq: --ig ${problem}\n`);
  if (missingIgs.length) return EXIT_USAGE;
  const validatorOptions = {
    igs: options.ig,
    securityChecks: options.securityChecks,
    bestPractice: options.bestPractice,
    extensionDomains: options.extension.length > 0 ? options.extension : undefined,
    noExperimentalContent: options.experimentalContent === false,
    displayLanguages: options.language,
    displayIssuesAreWarnings: options.displayIssuesAreWarnings,
    questionnaireMode: options.questionnaire,
  };
  const bundleByEntryFrom = options.bundleByEntryFrom ?? BUNDLE_BY_ENTRY_FROM_BYTES;
  const workers = await workersFor(files, options.workers, bundleByEntryFrom);
  // Results wait across threads to be written in input order, and on one thread a big Bundle validated entry by entry
  // promotes enough to fill the old generation between full collections: see limitHeapGrowth.
  limitHeapGrowth();
  if (workers > 0) {
    // Loading the validator keeps most of what it makes: the young generation would double up to V8's maximum.
    holdYoungGeneration();
  }
  const validator = await createValidator(validatorOptions);
  for (const issue of validator.loadIssues) {
    if (issue.severity !== 'information') ctx.err(`fhirdq: ${issue.severity} loading packages: ${issue.message}  [${issue.messageId}]\n`);
  }
  const out = chunkedWriter(ctx.out, ctx.outBytes);
  const reporter = createReporter(options.format, out.write, out.writeBytes);
  const summary: Summary = { files: 0, resources: 0, errors: 0, warnings: 0, information: 0 };
  let inputProblem = problems.length > 0;
  const validateOptions = options.profile ? { profile: options.profile } : undefined;
  // NDJSON lines go through the pool even with no workers: the main thread then validates each batch grouped by type
  // (see typeOrder). 100 MB NDJSON with --workers 0: 6.6-8.6 CPU-s, against 7.5-9.1 in input order.
  // Bundles are validated entry by entry in order unless there are workers.
  const pool = workers > 0 || files.some((file) => kindOf(file) === 'ndjson') ? createValidatorPool({ workers, mainThread: validator, ...validatorOptions }) : undefined;
  if (pool && workers > 0) {
    // Making the workers' heaps, V8 let the young generation grow again.
    await pool.started;
    holdYoungGeneration();
  }
  const threads = workers + 1;
  const least = options.minSeverity ?? 'information';
  const report = (file: string, label: string | null, line: number | undefined, issues: Issue[]) => {
    const counts = countIssues(issues);
    reporter.resource(file, { resource: label, line, issues: atLeast(issues, least) }, counts);
    addCounts(summary, counts);
  };
  // NDJSON lines go to the workers (which parse, validate, place the issues and render them) in batches; reports stay
  // in input order.
  const streamed = { format: options.format, least };
  const pending: Array<() => Promise<void>> = [];
  /** A batch's rendered results, reported when their turn comes. */
  const reportRendered = (file: string, count: number, results: Promise<RenderedBatch>) => {
    pending.push(async () => {
      const { bytes, counts } = await results;
      reporter.rendered(file, bytes, count, counts);
      addCounts(summary, counts);
    });
  };
  // What waits for the results keeps no texts: they would be promoted to the old generation, and collected there.
  const dispatch = (file: string, lines: LineItem[]) => reportRendered(file, lines.length, pool!.render(streamed, file, lines));
  /** Output not yet taken by its reader holds the next results back (see CliIO.outWaiting). */
  const outTaken = () => ctx.outWaiting?.();
  const drainOne = async () => {
    await pending.shift()!();
    await outTaken();
  };
  /** A big JSON or XML Bundle to validate entry by entry, or undefined to read the file whole. */
  const bundleByEntry = async (file: string) => {
    const kind = kindOf(file);
    if ((kind !== 'json' && kind !== 'xml') || (await stat(file)).size < bundleByEntryFrom) return undefined;
    const scanned = await scanBundle(file, kind);
    const validation = scanned && BundleEntryValidation.open(validator, scanned, validateOptions);
    return validation && { scanned: scanned!, validation };
  };
  /** Its entries in batches on the workers, reported in order; the Bundle's own issues, theirs taken in, last. */
  const bundleOnWorkers = async (file: string, scanned: ScannedBundle, validation: BundleEntryValidation): Promise<number> => {
    try {
      const session = await pool!.openBundle(scanned, options.profile);
      const count = scanned.layout.entries;
      for (let from = 0; from < count; from += ENTRIES_AT_A_TIME) {
        const to = Math.min(from + ENTRIES_AT_A_TIME, count);
        reportRendered(file, to - from, session.render(streamed, from, to));
        while (pending.length > threads * BATCHES_PER_THREAD) await drainOne();
      }
      while (pending.length > 0) await drainOne();
      validation.takeIn(await session.close());
      const own = validation.finish();
      report(file, own.label, own.line, own.issues);
      return count + 1;
    } finally {
      validation.close();
    }
  };
  try {
    for (const file of files) {
      let resources = 0;
      try {
        if (kindOf(file) === 'ndjson') {
          let batch: LineItem[] = [];
          const send = async () => {
            dispatch(file, batch);
            batch = [];
            while (pending.length > threads * BATCHES_PER_THREAD) await drainOne();
          };
          for await (const { text, line } of readNdjsonLines(file)) {
            batch.push({ json: text, line, profile: options.profile });
            resources++;
            if (batch.length >= BATCH_SIZE) await send();
          }
          if (batch.length > 0) await send();
        } else {
          const bundle = await bundleByEntry(file);
          if (bundle && workers > 0) {
            resources = await bundleOnWorkers(file, bundle.scanned, bundle.validation);
          } else if (bundle) {
            for (const result of bundle.validation.all()) {
              report(file, result.label, result.line, result.issues);
              resources++;
              await outTaken();
            }
          } else {
            const parsed = await readResource(file);
            report(file, resourceLabel(parsed.resource), parsed.line, validateParsedSafely(validator, parsed, validateOptions));
            resources++;
            await outTaken();
          }
        }
      } catch (err) {
        ctx.err(`fhirdq: ${file}: ${describeFsError(err)}\n`);
        inputProblem = true;
        if (resources === 0) continue;
      }
      // Lines read before a read error are still reported.
      while (pending.length > 0) await drainOne();
      reporter.fileDone(file);
      summary.files++;
      summary.resources += resources;
      // A file's report is out before the next file's problems go to stderr.
      out.flush();
    }
  } finally {
    out.flush();
    await pool?.close();
  }
  reporter.done(summary);
  out.flush();
  if (inputProblem) return EXIT_USAGE;
  return summary.errors > 0 || (options.failOn === 'warning' && summary.warnings > 0) ? 1 : 0;
}
