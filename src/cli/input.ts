/** Reading resource files (JSON, FHIR XML, NDJSON) for validation, with source positions on every issue. */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { issueAt, type Issue } from '../validation/issues.js';
import type { ValidateOptions, Validator } from '../validation/api.js';
import type { FhirResource } from '../packages/types.js';
import { positionsIn, type PositionOf } from '../formats/locations.js';
import { parseJson } from '../formats/json-positions.js';
import { parseFhirXml } from '../formats/fhir-xml.js';

export type InputKind = 'json' | 'xml' | 'ndjson';

const KINDS: Record<string, InputKind> = { '.json': 'json', '.xml': 'xml', '.ndjson': 'ndjson' };

export function kindOf(file: string): InputKind | undefined {
  return KINDS[extname(file).toLowerCase()];
}

/** One resource read from a file: the resource (when it could be read), its positions and the reader's issues. */
export interface ParsedResource {
  resource?: FhirResource;
  /** Where a path's value starts (found when an issue asks). */
  positionOf: PositionOf;
  issues: Issue[];
  /** 1-based line of the resource in an NDJSON file. */
  line?: number;
  /** Numbers as written, where their value does not say it (see ValidateOptions.numberTexts). */
  numberTexts?: ReadonlyMap<string, string>;
}

export interface CollectedFiles {
  files: string[];
  /** Paths that do not exist or cannot be read, with the reason. */
  problems: string[];
}

/** Expands folders (recursively, sorted, skipping dot folders and node_modules) to the files fhirdq can read. */
export async function collectFiles(paths: readonly string[]): Promise<CollectedFiles> {
  const files: string[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    try {
      if ((await stat(path)).isDirectory()) await walk(path, files);
      else files.push(path);
    } catch (err) {
      problems.push(`${path}: ${describeFsError(err)}`);
    }
  }
  return { files, problems };
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') await walk(path, out);
    } else if (kindOf(entry.name)) {
      out.push(path);
    }
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder';
  if (code === 'ERR_STRING_TOO_LONG') return 'too big to read whole (over 512 MB): only NDJSON, and Bundles that are not documents or messages, are read in parts';
  return (err as Error).message;
}

/**
 * Reads a JSON or XML file's resource, the file read whole (NDJSON lines go through readNdjsonLines); a file of unknown
 * extension is read as XML when it starts with '<', else JSON.
 */
export async function readResource(file: string): Promise<ParsedResource> {
  const text = await readFile(file, 'utf8');
  return (kindOf(file) ?? (text.trimStart().startsWith('<') ? 'xml' : 'json')) === 'xml' ? parseXmlText(text) : parseJsonText(text);
}

export function parseXmlText(text: string): ParsedResource {
  const { resource, locations, issues } = parseFhirXml(text);
  return { resource: resource as FhirResource | undefined, positionOf: positionsIn(locations), issues };
}

export function parseJsonText(text: string, line?: number): ParsedResource {
  const { value, positionOf, issues, numberTexts } = parseJson(text);
  const result: ParsedResource = { positionOf, issues, line, numberTexts };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    // The validator reports a missing or unknown resourceType itself.
    result.resource = value as FhirResource;
  } else if (value !== undefined) {
    issues.push({
      severity: 'error',
      code: 'structure',
      messageId: 'input-not-a-resource',
      message: 'The content is not a JSON object, so it cannot be a FHIR resource',
      path: '',
      line: 1,
      column: 1,
    });
  }
  return result;
}

/** The non-blank lines of an NDJSON file, unparsed, with their 1-based line numbers. */
export async function* readNdjsonLines(file: string): AsyncGenerator<{ text: string; line: number }> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() !== '') yield { text, line };
  }
}

/**
 * Validates a parsed resource: the reader's issues first, then the validator's, each with a line and column
 * (taken from the issue's path or its longest known prefix). NDJSON positions are moved to the file's line.
 */
export function validateParsed(validator: Validator, parsed: ParsedResource, options?: ValidateOptions): Issue[] {
  const numberTexts = parsed.numberTexts;
  return withPositions(parsed, parsed.resource ? validator.validateToIssues(parsed.resource, numberTexts ? { ...options, numberTexts } : options) : []);
}

/** validateParsed, where an engine failure on the resource becomes a fatal issue on it and the run goes on. */
export function validateParsedSafely(validator: Validator, parsed: ParsedResource, options?: ValidateOptions): Issue[] {
  try {
    return validateParsed(validator, parsed, options);
  } catch (err) {
    return [internalError(err)];
  }
}

/** An engine failure on one resource, as its fatal issue: the run goes on. */
export function internalError(err: unknown): Issue {
  return {
    severity: 'fatal',
    code: 'processing',
    messageId: 'internal-error',
    message: `fhirdq could not validate this resource: ${err instanceof Error ? err.message : String(err)}`,
    path: '',
  };
}

function withPositions(parsed: ParsedResource, found: readonly Issue[]): Issue[] {
  const lineOffset = parsed.line === undefined ? 0 : parsed.line - 1;
  const issues: Issue[] = [];
  for (const issue of parsed.issues) issues.push(lineOffset ? movedTo(issue, { line: (issue.line ?? 1) + lineOffset, column: issue.column }) : issue);
  for (const issue of found) issues.push(locate(issue, parsed.positionOf, lineOffset));
  return issues;
}

/**
 * A reader's issue (bad JSON, a duplicate property) of a part of a file read on its own (an NDJSON line, a Bundle's
 * entry), moved to where that part is in the file, in its message too.
 */
export function movedTo(issue: Issue, position: { line: number; column?: number }): Issue {
  const written = ` at line ${issue.line}, column ${issue.column}`;
  const message = issue.message.endsWith(written) ? `${issue.message.slice(0, -written.length)} at line ${position.line}, column ${position.column}` : issue.message;
  return issueAt(issue, position.line, position.column, message);
}

function locate(issue: Issue, positionOf: PositionOf, lineOffset: number): Issue {
  if (issue.line !== undefined) return lineOffset ? issueAt(issue, issue.line + lineOffset, issue.column) : issue;
  const position = positionOf(issue.path);
  return position ? issueAt(issue, position.line + lineOffset, position.column) : issue;
}
