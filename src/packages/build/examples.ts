/**
 * Validates the example instances shipped in profiles/<package>/package/example/ against their declared
 * profiles and compares the errors with profiles/KNOWN-ISSUES.md. `npx tsx src/packages/build/examples.ts`
 * prints the clean share per package.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createValidator } from '../../validation/create.js';
import type { Validator } from '../../validation/api.js';
import { isError, type Issue } from '../../validation/issues.js';
import type { FhirResource } from '../types.js';

export interface ExampleResult {
  /** Package folder name, `<id>#<version>`. */
  package: string;
  file: string;
  errors: Issue[];
  /** Invariants that could not be evaluated on the example (any severity): each is a rule left unchecked. */
  undecided: Issue[];
}

/** One row of KNOWN-ISSUES.md: an error that an example is allowed to have, and why. */
export interface KnownIssue {
  file: string;
  messageId: string;
  path: string;
  /** A substring of the message. */
  message: string;
  category: string;
  reason: string;
}

/** Every package folder in `profilesDir` that has examples, with the example files (sorted). */
async function exampleFiles(profilesDir: string): Promise<Array<{ pkg: string; dir: string; files: string[] }>> {
  const out = [];
  for (const pkg of (await readdir(profilesDir)).filter((d) => d.includes('#')).sort()) {
    const dir = join(profilesDir, pkg, 'package', 'example');
    const files = await readdir(dir).catch(() => [] as string[]);
    if (files.length) out.push({ pkg, dir, files: files.filter((f) => f.endsWith('.json')).sort() });
  }
  return out;
}

/** Validates each example against the profiles in its meta.profile (the validator applies them). */
export async function validateExamples(validator: Validator, profilesDir: string): Promise<ExampleResult[]> {
  const results: ExampleResult[] = [];
  for (const { pkg, dir, files } of await exampleFiles(profilesDir)) {
    for (const file of files) {
      const resource = JSON.parse(await readFile(join(dir, file), 'utf8')) as FhirResource;
      const issues = validator.validateToIssues(resource);
      results.push({ package: pkg, file, errors: issues.filter(isError), undecided: issues.filter((i) => i.messageId === 'invariant-evaluation-failed') });
    }
  }
  return results;
}

/** Rows of the first Markdown table in KNOWN-ISSUES.md with columns file | messageId | path | message | category | reason. */
export function parseKnownIssues(markdown: string): KnownIssue[] {
  const rows = markdown.split('\n').filter((l) => l.startsWith('|'));
  const cells = (line: string) => line.slice(1, line.lastIndexOf('|')).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|').replace(/^`|`$/g, ''));
  const header = cells(rows[0] ?? '');
  const expected = ['file', 'messageId', 'path', 'message', 'category', 'reason'];
  if (header.join() !== expected.join()) throw new Error(`KNOWN-ISSUES.md: table header must be ${expected.join(' | ')}`);
  return rows.slice(2).map((row) => {
    const [file, messageId, path, message, category, reason] = cells(row);
    return { file, messageId, path, message, category, reason };
  });
}

export function matchesKnown(result: ExampleResult, issue: Issue, known: KnownIssue): boolean {
  return known.file === result.file && known.messageId === issue.messageId && known.path === issue.path && issue.message.includes(known.message);
}

/** Errors not covered by a known issue, and known issues that no longer occur. */
export function compareWithKnown(results: ExampleResult[], known: KnownIssue[]) {
  const used = new Set<KnownIssue>();
  const unexpected: Array<{ file: string; issue: Issue }> = [];
  for (const result of results) {
    for (const issue of result.errors) {
      const match = known.filter((k) => matchesKnown(result, issue, k));
      if (match.length) match.forEach((k) => used.add(k));
      else unexpected.push({ file: result.file, issue });
    }
  }
  return { unexpected, stale: known.filter((k) => !used.has(k)) };
}

/** Share of examples per package with 0 errors, before and after the known issues. */
export function cleanShare(results: ExampleResult[], known: KnownIssue[]): Array<{ package: string; total: number; clean: number; cleanAfterKnown: number }> {
  const byPackage = new Map<string, ExampleResult[]>();
  for (const r of results) byPackage.set(r.package, [...(byPackage.get(r.package) ?? []), r]);
  return [...byPackage].map(([pkg, list]) => ({
    package: pkg,
    total: list.length,
    clean: list.filter((r) => r.errors.length === 0).length,
    cleanAfterKnown: list.filter((r) => r.errors.every((i) => known.some((k) => matchesKnown(r, i, k)))).length,
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const profilesDir = resolve('profiles');
  const validator = await createValidator({});
  const results = await validateExamples(validator, profilesDir);
  const known = parseKnownIssues(await readFile(join(profilesDir, 'KNOWN-ISSUES.md'), 'utf8').catch(() => '| file | messageId | path | message | category | reason |\n|-|-|-|-|-|-|'));
  for (const s of cleanShare(results, known)) {
    console.log(`${s.package}: ${s.clean}/${s.total} clean (${((100 * s.clean) / s.total).toFixed(1)}%), ${s.cleanAfterKnown}/${s.total} after KNOWN-ISSUES`);
  }
  const { unexpected, stale } = compareWithKnown(results, known);
  for (const { file, issue } of unexpected) console.log(`| ${file} | ${issue.messageId} | ${issue.path} | ${issue.message.replace(/\|/g, '\\|')} | ? | ? |`);
  for (const k of stale) console.log(`stale: ${k.file} ${k.messageId} ${k.path}`);
}
