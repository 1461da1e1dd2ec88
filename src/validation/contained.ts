/**
 * Contained resources as the reference validator judges them (its validateContains and checkContainedReferences,
 * which stand in for the FHIRPath dom-3): each has an id, no two share one, and each is referenced from the
 * container, refers to the container, or is referenced by a contained resource that is itself referenced.
 */
import type { Issue } from './issues.js';

type Json = Record<string, unknown>;

/** Local references (`#id`, `#`) made anywhere in a value, narratives' links included. */
function collectLocalReferences(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectLocalReferences(item, into);
  } else if (value && typeof value === 'object') {
    for (const key in value) collectMemberReferences(key, (value as Json)[key], into);
  }
}

/** A member's local references: its own value when a string (a canonical or uri such as `#q`), else what it holds. */
function collectMemberReferences(key: string, child: unknown, into: Set<string>): void {
  if (typeof child === 'string') {
    if (child.startsWith('#')) into.add(child);
    else if (key === 'div') for (const m of child.matchAll(/(?:href|src)\s*=\s*["'](#[^"']*)["']/g)) into.add(m[1]!);
  } else collectLocalReferences(child, into);
}

/** The references a resource makes itself (QuestionnaireResponse.questionnaire `#q` among them): its contained resources' own are theirs. */
function ownLocalReferences(resource: Json): Set<string> {
  const references = new Set<string>();
  for (const key in resource) if (key !== 'contained') collectMemberReferences(key, resource[key], references);
  return references;
}

export function checkContained(resource: Json, path: string): Issue[] {
  const contained = resource.contained;
  if (!Array.isArray(contained) || contained.length === 0) return [];
  const issues: Issue[] = [];
  const error = (messageId: string, message: string, at: string) => issues.push({ severity: 'error', code: 'invalid', messageId, message, path: at });
  const ids = contained.map((c) => (c && typeof c === 'object' && typeof (c as Json).id === 'string' ? ((c as Json).id as string) : undefined));
  const firstWithId = new Map<string, number>();
  ids.forEach((id, i) => {
    if (id === undefined) error('contained-id-missing', 'Resource requires an id, but none is present', `${path}.contained[${i}]`);
    else if (firstWithId.has(id)) error('contained-id-duplicate', `The contained resource id '${id}' is used more than once in this resource`, `${path}.contained[${i}]`);
    else firstWithId.set(id, i);
  });
  const referencesOf = contained.map((c) => {
    const into = new Set<string>();
    collectLocalReferences(c, into);
    return into;
  });
  // Reached: referenced by the container, referring to it, or referenced by a contained resource reached before.
  const reached = new Set<number>();
  const pending: number[] = [];
  const reach = (i: number) => {
    if (!reached.has(i)) {
      reached.add(i);
      pending.push(i);
    }
  };
  const own = ownLocalReferences(resource);
  ids.forEach((id, i) => {
    if ((id !== undefined && own.has(`#${id}`)) || referencesOf[i]!.has('#')) reach(i);
  });
  while (pending.length > 0) {
    const from = referencesOf[pending.pop()!]!;
    ids.forEach((id, i) => {
      if (id !== undefined && from.has(`#${id}`)) reach(i);
    });
  }
  ids.forEach((id, i) => {
    if (!reached.has(i)) {
      error('contained-orphan',
        `The contained resource '${id ?? 'null'}' is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource (dom-3)`,
        `${path}.contained[${i}]`);
    }
  });
  return issues;
}
