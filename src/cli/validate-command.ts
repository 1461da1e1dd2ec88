/** `fhirdq validate <files or folders...>`: validates JSON, FHIR XML and NDJSON files against core and profiles. */
import { Command, Option } from 'commander';
import { createValidator } from '../index.js';
import type { Issue } from '../validation/issues.js';
import { countIssues } from '../validation/outcome.js';
import { collectFiles, describeFsError, readResources, validateParsed } from './input.js';
import { EXIT_USAGE, type CliContext } from './main.js';
import { createReporter, OUTPUT_FORMATS, resourceLabel, type OutputFormat, type Summary } from './output.js';

export interface ValidateCommandOptions {
  ig: string[];
  profile?: string;
  format: OutputFormat;
  securityChecks?: boolean;
}

export function registerValidateCommand(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('validate FHIR resources (*.json, *.xml, *.ndjson files, or folders of them)')
    .argument('<paths...>', 'files or folders')
    .option('--ig <package or folder>', 'load a FHIR package (.tgz or folder) or conformance files (repeatable)', collect, [])
    .option('--profile <canonical>', 'also validate every resource against this profile (url or url|version)')
    .addOption(new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('text'))
    .option('--security-checks', 'report HTML-looking strings and active content as errors')
    .action(async (paths: string[], options: ValidateCommandOptions) => {
      ctx.exitCode = await validateFiles(paths, options, ctx);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
  const validator = await createValidator({ igs: options.ig, securityChecks: options.securityChecks });
  for (const issue of validator.loadIssues) {
    if (issue.severity !== 'information') ctx.err(`fhirdq: ${issue.severity} loading packages: ${issue.message}  [${issue.messageId}]\n`);
  }
  const reporter = createReporter(options.format, ctx.out);
  const summary: Summary = { files: 0, resources: 0, errors: 0, warnings: 0, information: 0 };
  let inputProblem = problems.length > 0;
  const validateOptions = options.profile ? { profile: options.profile } : undefined;
  for (const file of files) {
    let resources = 0;
    try {
      for await (const parsed of readResources(file)) {
        const issues = validateSafely(() => validateParsed(validator, parsed, validateOptions));
        reporter.resource(file, { resource: resourceLabel(parsed.resource), line: parsed.line, issues });
        resources++;
        const counts = countIssues(issues);
        summary.errors += counts.errors;
        summary.warnings += counts.warnings;
        summary.information += counts.information;
      }
    } catch (err) {
      ctx.err(`fhirdq: ${file}: ${describeFsError(err)}\n`);
      inputProblem = true;
      if (resources === 0) continue;
    }
    reporter.fileDone(file);
    summary.files++;
    summary.resources += resources;
  }
  reporter.done(summary);
  if (inputProblem) return EXIT_USAGE;
  return summary.errors > 0 ? 1 : 0;
}

/** An engine failure on one resource becomes a fatal issue on that resource; the run goes on. */
function validateSafely(validate: () => Issue[]): Issue[] {
  try {
    return validate();
  } catch (err) {
    return [
      {
        severity: 'fatal',
        code: 'processing',
        messageId: 'internal-error',
        message: `fhirdq could not validate this resource: ${err instanceof Error ? err.message : String(err)}`,
        path: '',
      },
    ];
  }
}
