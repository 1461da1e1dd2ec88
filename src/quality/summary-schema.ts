/**
 * A shard's quality summary as `fhirdq report merge` reads it back, checked against the JSON Schema fhirdq ships for
 * summary.json (profiles/rules/summary.schema.json): a file that is not one (cut short, edited, from another version)
 * is refused with where it differs, not met by the merge half way.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { formatPath } from '../mapping/yaml-file.js';

const SCHEMA_FILE = fileURLToPath(new URL('../../profiles/rules/summary.schema.json', import.meta.url));

let checkQuality: ValidateFunction | undefined;

function compile(): ValidateFunction {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { $id: string };
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(schema);
  return ajv.compile({ $ref: `${schema.$id}#/$defs/quality` });
}

/** An error's place as `measures[0].cells`, a missing property included. */
function placeOf(error: ErrorObject): string {
  const steps: (string | number)[] = error.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  if (error.keyword === 'required') steps.push((error.params as { missingProperty: string }).missingProperty);
  return formatPath(steps) || '(top)';
}

/** The first few places where `value` is not a quality summary, as `place: problem`; empty when it is one. */
export function summaryProblems(value: unknown): string[] {
  checkQuality ??= compile();
  if (checkQuality(value)) return [];
  return (checkQuality.errors ?? []).slice(0, 3).map((e) => `${placeOf(e)}: ${problemOf(e)}`);
}

function problemOf(error: ErrorObject): string {
  if (error.keyword === 'required') return 'required, but missing';
  if (error.keyword === 'additionalProperties') return `unknown field '${(error.params as { additionalProperty: string }).additionalProperty}'`;
  return error.message ?? error.keyword;
}
