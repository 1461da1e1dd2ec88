/** YAML files validated with zod, with errors that name the file, the line and the field. */
import { readFile } from 'node:fs/promises';
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${field ? `${field}: ` : ''}${detail}`);
  }
}

/** Several problems at once; its message lists each on its own line. */
export class SpecErrors extends Error {
  constructor(readonly errors: SpecError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

export type YamlPath = readonly (string | number)[];

export function formatPath(path: YamlPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

export interface LoadedYaml<T> {
  value: T;
  file: string;
  /** 1-based line of the node at a path (or of its nearest existing parent). */
  lineOf(path: YamlPath): number;
  error(path: YamlPath, detail: string): SpecError;
}

function locator(file: string, doc: Document, lines: LineCounter) {
  const lineOf = (path: YamlPath): number => {
    for (let n = path.length; n >= 0; n--) {
      const sub = path.slice(0, n);
      const node = sub.length ? doc.getIn(sub, true) : doc.contents;
      if (isNode(node) && node.range) {
        // For a missing key's parent map, and for scalars, the key's own position is more useful.
        if (n < path.length && isMap(node)) {
          const key = path[n];
          const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
          if (pair && isScalar(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
        }
        return lines.linePos(node.range[0]).line;
      }
    }
    return 1;
  };
  return { lineOf, error: (path: YamlPath, detail: string) => new SpecError(file, lineOf(path), formatPath(path), detail) };
}

/** Parses YAML text and validates it; throws SpecErrors naming file, line and field for every problem. */
export function parseYaml<S extends z.ZodType>(file: string, text: string, schema: S): LoadedYaml<z.output<S>> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    // Later syntax errors are mostly echoes of the first.
    const e = doc.errors[0];
    throw new SpecErrors([new SpecError(file, e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line, '', `invalid YAML: ${e.message.split('\n')[0]}`)]);
  }
  const loc = locator(file, doc, lines);
  const data: unknown = doc.toJS();
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new SpecErrors(
      parsed.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        if (issue.code === 'unrecognized_keys') {
          const key = issue.keys[0];
          return loc.error([...path, key], `unknown field '${issue.keys.join("', '")}'`);
        }
        return loc.error(path, issueMessage(issue, data));
      }),
    );
  }
  return { value: parsed.data, file, ...loc };
}

/** A zod issue's message, except that a field that is not there is called missing, not "received undefined". */
function issueMessage(issue: z.core.$ZodIssue, data: unknown): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'invalid_type' && valueAt(data, path) === undefined) return `required, but missing (a ${issue.expected})`;
  return issue.message;
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let value = data;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string | number, unknown>)[key] : undefined;
  return value;
}

export async function loadYaml<S extends z.ZodType>(file: string, schema: S): Promise<LoadedYaml<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SpecErrors([new SpecError(file, 0, '', `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)]);
  }
  return parseYaml(file, text, schema);
}
