/**
 * The rules a SearchParameter obeys beyond its StructureDefinition, as the reference validator's
 * SearchParameterValidator checks them: a composite has components, and a parameter derived from another keeps its
 * bases, its type and (up to the bases it drops) its expression. Messages are the reference validator's.
 */
import { fhirPathTypeError } from './fhirpath-check.js';
import type { Issue } from './issues.js';
import { parseFhirPath } from './fhirpath-js.js';
import type { AstNode } from './fhirpath-compiler.js';

type Json = Record<string, unknown>;

export interface SearchParameterLookups {
  searchParameter(url: string): Json | undefined;
  isResourceType(name: string): boolean;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

export function checkSearchParameter(sp: Json, path: string, lookups: SearchParameterLookups): Issue[] {
  const issues: Issue[] = [];
  const add = (severity: Issue['severity'], messageId: string, message: string) => issues.push({ severity, code: 'business-rule', messageId, message, path });
  // The expression must make sense on the bases (each may be named by the tools' base-type extension instead).
  const bases = searchBases(sp);
  if (typeof sp.expression === 'string' && bases.length > 0) {
    const problem = fhirPathTypeError(sp.expression, bases);
    if (problem !== undefined) {
      issues.push({ severity: 'error', code: 'invalid', messageId: 'searchparameter-expression-error', message: `Error in search expression '${sp.expression}': ${problem}`, path: `${path}.expression` });
    }
  }
  const derivedFrom = typeof sp.derivedFrom === 'string' ? sp.derivedFrom : undefined;
  if (derivedFrom !== undefined) {
    const parent = lookups.searchParameter(derivedFrom);
    if (!parent) {
      add('warning', 'searchparameter-derived-unknown', `Unable to find the base Search Parameter ${derivedFrom} so can't check that this SearchParameter is a proper derivation from it`);
    } else {
      const parentBases = strings(parent.base);
      const bases = strings(sp.base);
      if (!parentBases.includes('Resource')) {
        for (const base of bases) {
          if (!parentBases.includes(base)) add('error', 'searchparameter-base', `The resource type ${base} is not listed as a base in the SearchParameter this is derived from (${derivedFrom})`);
        }
      }
      // The reference fills the message's places in this order, so its words read "The type <parent's> ... the type <url>".
      if (typeof sp.type === 'string' && sp.type !== parent.type) {
        add('error', 'searchparameter-type', `The type ${String(parent.type)} is different to the type ${derivedFrom} in the derivedFrom SearchParameter`);
      }
      if (typeof parent.expression === 'string' && typeof sp.expression === 'string' && parent.expression !== sp.expression) {
        const own = canonicalExpression(sp.expression, bases, lookups);
        if (own !== undefined && own !== canonicalExpression(parent.expression, bases, lookups)) {
          add('warning', 'searchparameter-expression',
            `The expression '${sp.expression}' is not compatible with the expression '${parent.expression}' in the derivedFrom SearchParameter ${derivedFrom}, and this likely indicates that the derivation relationship is not valid`);
        }
      }
    }
  }
  if (sp.type === 'composite' && (Array.isArray(sp.component) ? sp.component.length : 0) < 2) {
    add('error', 'searchparameter-components', "When the SearchParameter has a type of 'composite', then the SearchParameter must define two or more components");
  }
  return issues;
}

const BASE_TYPE_EXTENSION = 'http://hl7.org/fhir/tools/StructureDefinition/searchparameter-base-type';

/** The resource types a SearchParameter searches: each base, or the type its base-type extension names. */
function searchBases(sp: Json): string[] {
  const bases = Array.isArray(sp.base) ? (sp.base as unknown[]) : [];
  const companions = Array.isArray(sp._base) ? (sp._base as Array<{ extension?: Array<{ url?: string; valueCode?: string; valueUri?: string }> } | null>) : [];
  const found: string[] = [];
  bases.forEach((base, i) => {
    const named = companions[i]?.extension?.find((e) => e.url === BASE_TYPE_EXTENSION);
    const type = named?.valueCode ?? named?.valueUri ?? base;
    if (typeof type === 'string') found.push(type);
  });
  return found;
}

/**
 * An expression as a union of paths, without the paths that start at a resource type not among `bases`, in a fixed
 * order: two parameters for the same bases compare equal when they search the same paths. An expression that is not
 * such a union is its own text; one that keeps no path is undefined.
 */
function canonicalExpression(expression: string, bases: string[], lookups: SearchParameterLookups): string | undefined {
  let ast: AstNode | undefined;
  try {
    ast = parseFhirPath(expression) as AstNode;
  } catch {
    return expression;
  }
  const terms: AstNode[] = [];
  if (!unionTerms(ast, terms)) return expression;
  const kept: string[] = [];
  for (const term of terms) {
    const name = leadingName(term);
    if (name === undefined) return expression;
    if (!lookups.isResourceType(name) || bases.includes(name)) kept.push(render(term));
  }
  return kept.length === 0 ? undefined : kept.sort().join(' | ');
}

/** A tree's structure as text: equal for equal paths, whatever their spacing. */
function render(node: AstNode): string {
  return `${node.type}${node.text === undefined ? '' : `:${node.text}`}${node.children ? `(${node.children.map(render).join(',')})` : ''}`;
}

/** The terms of a top-level chain of `|`; false when another operator joins them. */
function unionTerms(node: AstNode, into: AstNode[]): boolean {
  if (node.type === 'EntireExpression') return node.children?.length === 1 && unionTerms(node.children[0]!, into);
  if (node.type === 'UnionExpression') return (node.children ?? []).every((child) => unionTerms(child, into));
  into.push(node);
  return true;
}

/** The first name of a path (`Patient` of `Patient.name.where(...)`, also inside parentheses); undefined when it starts otherwise. */
function leadingName(node: AstNode): string | undefined {
  switch (node.type) {
    case 'InvocationExpression':
    case 'IndexerExpression':
    case 'TermExpression':
    case 'InvocationTerm':
    case 'ParenthesizedTerm':
    case 'TypeExpression':
      return node.children?.[0] && leadingName(node.children[0]);
    case 'MemberInvocation':
      return node.children?.[0]?.type === 'Identifier' ? (node.children[0].text ?? '').replace(/^`|`$/g, '') : undefined;
    default:
      return undefined;
  }
}

/** A CapabilityStatement's search parameters have the type of the SearchParameter they name as definition. */
export function checkCapabilityStatementSearchParameters(statement: Json, path: string, lookups: SearchParameterLookups): Issue[] {
  const issues: Issue[] = [];
  const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : []);
  list(statement.rest).forEach((rest, i) =>
    list(rest.resource).forEach((resource, j) =>
      list(resource.searchParam).forEach((param, k) => {
        const definition = typeof param.definition === 'string' ? lookups.searchParameter(param.definition) : undefined;
        if (definition && typeof param.type === 'string' && param.type !== definition.type) {
          issues.push({
            severity: 'error',
            code: 'business-rule',
            messageId: 'capabilitystatement-searchparam-type',
            message: `Type mismatch - SearchParameter '${String(param.definition)}' type is ${String(definition.type)}, but type here is ${param.type}`,
            path: `${path}.rest[${i}].resource[${j}].searchParam[${k}]`,
          });
        }
      }),
    ),
  );
  return issues;
}
