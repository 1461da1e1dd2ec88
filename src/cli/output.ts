/** Renderings of validation results (text, json, ndjson, junit, sarif) and of conformance-suite scores. */
import { isError, type Issue, type Severity } from '../validation/issues.js';
import { addCounts, countIssues, operationOutcomeJson, toOperationOutcome, type IssueCounts } from '../validation/outcome.js';
import type { FhirResource } from '../packages/types.js';
import { agreement, type ExpectedOutcome, type Score, type SuiteScores, type SuiteStep } from '../validation/conformance-suite.js';
import { xml } from '../report/xml-text.js';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import { packageVersion } from './version.js';

export type OutputFormat = 'text' | 'json' | 'ndjson' | 'junit' | 'sarif';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json', 'ndjson', 'junit', 'sarif'];

export type Write = (text: string) => void;
/** Writes UTF-8 text already encoded. */
export type WriteBytes = (bytes: Uint8Array) => void;

const UTF8 = new TextDecoder();

/** For a destination that takes text only. */
export function decodingTo(write: Write): WriteBytes {
  return (bytes) => write(UTF8.decode(bytes));
}

/**
 * Writes in chunks of about `chunk` characters: stdout to a file or pipe writes synchronously, and a write per
 * resource was a system call per resource (7% of `fhirdq validate` on NDJSON). Bytes, already in chunks, go out at
 * once, after the text before them.
 */
export function chunkedWriter(write: Write, writeBytes = decodingTo(write), chunk = 1 << 16): { write: Write; writeBytes: WriteBytes; flush(): void } {
  let parts: string[] = [];
  let size = 0;
  const flush = () => {
    if (parts.length === 0) return;
    write(parts.join(''));
    parts = [];
    size = 0;
  };
  return {
    write(text) {
      parts.push(text);
      size += text.length;
      if (size >= chunk) flush();
    },
    writeBytes(bytes) {
      flush();
      writeBytes(bytes);
    },
    flush,
  };
}

export interface ResourceResult {
  /** `Type/id` (`Type` without an id), or null when the content could not be read as a resource. */
  resource: string | null;
  /** 1-based line of the resource in an NDJSON file. */
  line?: number;
  issues: Issue[];
}

export interface Summary {
  files: number;
  resources: number;
  errors: number;
  warnings: number;
  information: number;
}

/** Receives results file by file, resource by resource, so that every format can stream. */
export interface Reporter {
  /** A resource's result; `counts` of all its issues when the result lists only some (see atLeast). */
  resource(file: string, result: ResourceResult, counts?: IssueCounts): void;
  /** Resources rendered elsewhere (renderResource, in validation workers) as UTF-8, in file order. */
  rendered(file: string, bytes: Uint8Array, resources: number, counts: IssueCounts): void;
  fileDone(file: string): void;
  done(summary: Summary): void;
}

export function resourceLabel(resource: FhirResource | undefined): string | null {
  if (!resource) return null;
  const type = typeof resource.resourceType === 'string' ? resource.resourceType : '(no resourceType)';
  return typeof resource.id === 'string' ? `${type}/${resource.id}` : type;
}

export function createReporter(format: OutputFormat, write: Write, writeBytes = decodingTo(write)): Reporter {
  return streamedReporter(format, write, writeBytes);
}

const SEVERITY_LABEL: Record<Issue['severity'], string> = {
  fatal: 'fatal  ',
  error: 'error  ',
  warning: 'warning',
  information: 'info   ',
};

/** One issue as a text line: `  error    Patient.name[0] (12:7)  message  [message-id]`. */
export function formatIssueLine(issue: Issue): string {
  return `  ${SEVERITY_LABEL[issue.severity]}  ${issue.path || '(file)'}${formatPosition(issue)}  ${issue.message}  [${issue.messageId}]`;
}

function formatPosition(issue: Issue): string {
  return issue.line === undefined ? '' : ` (${issue.line}${issue.column === undefined ? '' : `:${issue.column}`})`;
}

function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`;
}

export function formatCounts(counts: { errors: number; warnings: number; information: number }): string {
  if (counts.errors + counts.warnings + counts.information === 0) return 'no issues';
  return `${plural(counts.errors, 'error')}, ${plural(counts.warnings, 'warning')}, ${counts.information} information`;
}

function byPosition(a: Issue, b: Issue): number {
  return (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0);
}

/** A streamed report: its format, and the least severity it lists (counts take every issue). */
export interface StreamedOutput {
  format: OutputFormat;
  least: Severity;
}

/** A resource's part of a report: it depends on the resource alone, so workers can render it. */
export function renderResource(format: OutputFormat, file: string, result: ResourceResult): string {
  if (format === 'json') return jsonResource(result);
  if (format === 'junit') return junitTestCase(file, result);
  if (format === 'sarif') return sarifResults(file, result);
  if (format === 'ndjson') {
    // As JSON.stringify({ file, resource, line?, errors, warnings, outcome }), built as text (see operationOutcomeJson).
    const { errors, warnings } = countIssues(result.issues);
    const line = result.line === undefined ? '' : `"line":${JSON.stringify(result.line)},`;
    return `{"file":${JSON.stringify(file)},"resource":${JSON.stringify(result.resource)},${line}"errors":${errors},"warnings":${warnings},"outcome":${operationOutcomeJson(result.issues)}}\n`;
  }
  let text = '';
  for (const issue of [...result.issues].sort(byPosition)) text += `${formatIssueLine(issue)}\n`;
  return text;
}

/**
 * The json report is the document JSON.stringify({ files, summary }, null, 2) makes, written in parts: a resource's
 * part is its entry of `files[].resources`, after a comma (the reporter drops the comma before a file's first).
 */
function jsonResource(result: ResourceResult): string {
  // Written out, not spread (see issueAt).
  const { resource, line, issues } = result;
  const entry = line === undefined ? { resource, outcome: toOperationOutcome(issues) } : { resource, line, outcome: toOperationOutcome(issues) };
  return `,\n${JSON_RESOURCE_INDENT}${indented(JSON.stringify(entry, null, 2), JSON_RESOURCE_INDENT)}`;
}

/** The depth of a resource's entry in the json report: { files: [ { resources: [ entry ] } ] }. */
const JSON_RESOURCE_INDENT = '        ';

/** JSON.stringify's indented text placed at an indent: its newlines are all between tokens (strings escape theirs). */
function indented(json: string, indent: string): string {
  return json.replaceAll('\n', `\n${indent}`);
}

/** A resource as a JUnit test case: failed by its errors; warnings and information as its output. */
function junitTestCase(file: string, result: ResourceResult): string {
  const issues = [...result.issues].sort(byPosition);
  const errors = issues.filter(isError);
  const others = issues.filter((issue) => !isError(issue));
  const name = `${result.resource ?? '(not a resource)'}${result.line === undefined ? '' : ` (line ${result.line})`}`;
  const lines = (list: Issue[]) => xml(list.map(formatIssueLine).join('\n'));
  const failure = errors.length ? `<failure type="error" message="${xml(plural(errors.length, 'error'))}">${lines(errors)}</failure>` : '';
  const output = others.length ? `<system-out>${lines(others)}</system-out>` : '';
  return `    <testcase classname="${xml(file)}" name="${xml(name)}">${failure}${output}</testcase>\n`;
}

const SARIF_LEVEL: Record<Issue['severity'], Sarif.Result.level> = { fatal: 'error', error: 'error', warning: 'warning', information: 'note' };

/**
 * Where a file is for SARIF: relative to the working directory (a CI job's checkout, so that code scanning puts each
 * result on its line of the file), else a file URI.
 */
function sarifUri(file: string): string {
  const absolute = path.resolve(file);
  const relative = path.relative(process.cwd(), absolute);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return pathToFileURL(absolute).href;
  return relative.split(path.sep).map(encodeURIComponent).join('/');
}

/**
 * A resource's issues as SARIF results, each after a comma: results are rendered apart (in workers too), and the
 * reporter drops the comma before the first. By hand (typed by @types/sarif): node-sarif-builder, the library for
 * it, builds the whole log in memory before writing it, and a big export's report must stream.
 */
function sarifResults(file: string, result: ResourceResult): string {
  const uri = sarifUri(file);
  let text = '';
  for (const issue of [...result.issues].sort(byPosition)) {
    const startLine = issue.line ?? result.line;
    const region: Sarif.Region | undefined = startLine === undefined ? undefined : issue.column === undefined || issue.line === undefined ? { startLine } : { startLine, startColumn: issue.column };
    // The element, and which resource of the file it is in when the resource has an id.
    const where = issue.path ? ` (${issue.path}${result.resource?.includes('/') ? ` in ${result.resource}` : ''})` : '';
    const sarifResult: Sarif.Result = {
      ruleId: issue.messageId,
      level: SARIF_LEVEL[issue.severity],
      message: { text: `${issue.message}${where}` },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri }, ...(region ? { region } : {}) },
          ...(issue.path ? { logicalLocations: [{ fullyQualifiedName: issue.path, kind: 'element' }] } : {}),
        },
      ],
    };
    text += `,\n${JSON.stringify(sarifResult)}`;
  }
  return text;
}

/** A SARIF log's start, up to its results; the results and `]}]}` follow. */
function sarifHead(): string {
  const driver: Sarif.ToolComponent = { name: 'fhirdq', version: packageVersion(), semanticVersion: packageVersion() };
  const head = JSON.stringify({ $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs: [{ tool: { driver }, results: [] }] } satisfies Sarif.Log);
  return head.slice(0, -']}]}'.length);
}

/**
 * text: a file's name, its issues resource by resource (each resource's by position: resources come in file order),
 * and its counts; ndjson: a line per resource; json: one document of files and their resources, then the summary.
 * Written as the resources come, so an NDJSON file of any size needs no memory for its report.
 */
function streamedReporter(format: OutputFormat, write: Write, writeBytes: WriteBytes): Reporter {
  const text = format === 'text';
  const junit = format === 'junit';
  const sarif = format === 'sarif';
  const json = format === 'json';
  const counts: IssueCounts = { errors: 0, warnings: 0, information: 0 };
  let resources = 0;
  // SARIF: one log for all files, a result per issue; the first result has no comma before it (see sarifResults).
  let firstResult = true;
  // json: the files begun; a file's first resource has no comma before it (see jsonResource).
  let jsonFiles = 0;
  if (sarif) write(sarifHead());
  // JUnit: a test suite per file, a test case per resource; counts are left to the reader, as they come last.
  if (junit) write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="fhirdq validate">\n');
  if (json) write('{\n  "files": [');
  const jsonFileHead = (file: string) => `${jsonFiles++ > 0 ? ',' : ''}\n    {\n      "file": ${JSON.stringify(file)},\n      "resources": [`;
  /** Before a part of the file's report: its name heads a text report, and opens its JUnit test suite or json entry. */
  const partFor = (file: string, count: number) => {
    if (resources > 0 || count === 0) return;
    if (text) write(`${file}\n`);
    if (junit) write(`  <testsuite name="${xml(file)}">\n`);
    if (json) write(jsonFileHead(file));
  };
  /** Whether the part about to be written is the first of a list whose parts each start with a comma. */
  const dropsComma = () => (sarif && firstResult) || (json && resources === 0);
  const taken = (count: number, found: IssueCounts) => {
    resources += count;
    addCounts(counts, found);
  };
  return {
    resource(file, result, found = countIssues(result.issues)) {
      partFor(file, 1);
      const part = renderResource(format, file, result);
      if (part !== '') {
        write(dropsComma() ? part.slice(1) : part);
        firstResult = false;
      }
      taken(1, found);
    },
    rendered(file, bytes, count, found) {
      partFor(file, count);
      if (bytes.length > 0) {
        writeBytes(dropsComma() ? bytes.subarray(1) : bytes);
        firstResult = false;
      }
      taken(count, found);
    },
    fileDone(file) {
      if (text) write(`${resources === 0 ? `${file}\n` : ''}  ${plural(resources, 'resource')}: ${formatCounts(counts)}\n\n`);
      if (junit) write(resources === 0 ? `  <testsuite name="${xml(file)}"/>\n` : '  </testsuite>\n');
      if (json) write(resources === 0 ? `${jsonFileHead(file)}]\n    }` : '\n      ]\n    }');
      counts.errors = counts.warnings = counts.information = 0;
      resources = 0;
    },
    done(summary) {
      if (text) write(`${plural(summary.files, 'file')}, ${plural(summary.resources, 'resource')}: ${formatCounts(summary)}\n`);
      if (junit) write('</testsuites>\n');
      if (sarif) write('\n]}]}\n');
      if (json) write(`${jsonFiles > 0 ? '\n  ' : ''}],\n  "summary": ${indented(JSON.stringify(summary, null, 2), '  ')}\n}\n`);
    },
  };
}

// ---- conformance suite ----

function ratio(agree: number, steps: number): string {
  return `${agree}/${steps} (${steps ? ((100 * agree) / steps).toFixed(1) : '0.0'}%)`;
}

function scoreLine(label: string, width: number, score: Score): string {
  return `${label.padEnd(width)}  verdict ${ratio(score.verdict, score.steps)}  count ${ratio(score.count, score.steps)}`;
}

/** Per-module rows and the overall row: `overall  verdict 187/197 (94.9%)  count 170/197 (86.3%)`. */
export function formatScoreTable(scores: SuiteScores): string {
  const width = Math.max('overall'.length, ...[...scores.modules.keys()].map((m) => m.length));
  const rows = [...scores.modules].map(([module, score]) => scoreLine(module, width, score));
  rows.push(scoreLine('overall', width, scores.overall));
  return `${rows.join('\n')}\n`;
}

/** The reference puts `[line,column]` in diagnostics. */
const JAVA_POSITION = /^\[(\d+),\s*(\d+)\]$/;

function expectedErrorLines(outcome: ExpectedOutcome | undefined): string[] {
  return (outcome?.issue ?? [])
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => {
      const position = i.diagnostics?.match(JAVA_POSITION);
      const where = `${i.expression?.[0] ?? i.location?.[0] ?? '(file)'}${position ? ` (${position[1]}:${position[2]})` : ''}`;
      return `${where}  ${i.details?.text ?? i.diagnostics ?? ''}`;
    });
}

/** A disagreeing step, compactly: our errors (path, message, message id) against the reference's. */
export function formatDisagreement(step: SuiteStep, expected: ExpectedOutcome | undefined): string {
  const ours = step.errors === null ? 'crashed' : String(step.errors);
  const kind = agreement(step).verdict ? 'count  ' : 'verdict';
  const lines = [`${kind}  ${step.module}/${step.case} [${step.step}]  ours ${ours}, expected ${step.expectedErrors}`];
  if (step.crash) lines.push(`    crash: ${step.crash}`);
  for (const issue of step.issues) {
    if (isError(issue)) lines.push(`    ours: ${issue.path || '(file)'}${formatPosition(issue)}  ${issue.message}  [${issue.messageId}]`);
  }
  for (const line of expectedErrorLines(expected)) lines.push(`    java: ${line}`);
  return `${lines.join('\n')}\n`;
}
