/**
 * The rules a ConceptMap (R4) obeys beyond its StructureDefinition, as the reference validator's ConceptMapValidator
 * checks them offline: its scopes are value sets, each group's codes are codes of the group's code systems (and of
 * the scope value sets), displays match, and no mapping is stated twice. Codes of systems not loaded here are the
 * reference's terminology server's to check; offline they are left unchecked, as the warnings say.
 * Messages are the reference validator's.
 */
import type { Issue, IssueType, Severity } from './issues.js';
import { findConcept } from './code-system.js';

type Json = Record<string, unknown>;

export interface ConceptMapLookups {
  resource(url: string): Json | undefined;
  codeSystem(url: string): Json | undefined;
  /** Whether system#code is in the value set; undefined when that cannot be told offline. */
  codingInValueSet(system: string, code: string, valueSet: string): boolean | undefined;
}

const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
/** Left to a terminology server by the reference even when a stub is loaded. */
const SERVER_SIDE = new Set(['http://snomed.info/sct', 'http://loinc.org']);

type Add = (severity: Severity, code: IssueType, messageId: string, message: string, at: string) => void;

/** One side (source or target) of the map: its scope value set, if it names one that is loaded. */
interface Side {
  name: 'source' | 'target';
  Name: 'Source' | 'Target';
  scope: string | undefined;
  scopeValueSet: Json | undefined;
}

export function checkConceptMap(cm: Json, path: string, lookups: ConceptMapLookups): Issue[] {
  const issues: Issue[] = [];
  const add: Add = (severity, code, messageId, message, at) => issues.push({ severity, code, messageId, message, path: at });
  const side = (name: 'source' | 'target'): Side => {
    const scope = str(cm[`${name}Uri`]) ?? str(cm[`${name}Canonical`]);
    const resolved = scope !== undefined ? lookups.resource(scope) : undefined;
    if (resolved && resolved.resourceType !== 'ValueSet') {
      add('error', 'invalid', 'conceptmap-scope-not-valueset', `Reference must be to a ValueSet, but found a ${String(resolved.resourceType)} instead`, `${path}.${name}`);
    }
    return { name, Name: name === 'source' ? 'Source' : 'Target', scope, scopeValueSet: resolved?.resourceType === 'ValueSet' ? resolved : undefined };
  };
  const source = side('source');
  const target = side('target');
  list(cm.group).forEach((group, g) => {
    const at = `${path}.group[${g}]`;
    const sourceSystem = groupCodeSystem(group, source, at, lookups, add);
    const targetSystem = groupCodeSystem(group, target, at, lookups, add);
    // Per group: the relationship stated for a source code alone, and for each source|target pair.
    const stated = new Map<string, string>();
    list(group.element).forEach((element, e) => {
      const elementPath = `${at}.element[${e}]`;
      checkCode(element, elementPath, source, str(group.source), sourceSystem, lookups, add);
      list(element.target).forEach((target_, t) => {
        const targetPath = `${elementPath}.target[${t}]`;
        checkCode(target_, targetPath, target, str(group.target), targetSystem, lookups, add);
        checkDuplicate(str(element.code), str(target_.code), str(target_.equivalence), stated, targetPath, add);
      });
    });
  });
  return issues;
}

/** The group's code system for one side, when its codes can be checked here; the reasons they cannot, as the reference words them. */
function groupCodeSystem(group: Json, side: Side, at: string, lookups: ConceptMapLookups, add: Add): Json | undefined {
  const system = str(group[side.name]);
  if (system === undefined) {
    add('warning', 'business-rule', `conceptmap-${side.name}-missing`, `No ${side.Name} Code System, so the ${side.name} codes cannot be checked`, at);
    return undefined;
  }
  const [url, inlineVersion] = system.split('|') as [string, string | undefined];
  const version = str(group[`${side.name}Version`]) ?? inlineVersion ?? includedVersion(side.scopeValueSet, url);
  const cs = lookups.codeSystem(version ? `${url}|${version}` : url);
  const systemPath = `${at}.${side.name}`;
  if (!cs) {
    if (side.scope === undefined) {
      add('warning', 'not-found', `conceptmap-${side.name}-unknown`,
        `The ${side.Name} Code System ${system} is not fully defined and populated, and no ${side.name}Scope is specified, so the ${side.name} code checking will not be performed`, systemPath);
    }
    return undefined;
  }
  if (SERVER_SIDE.has(String(cs.url))) {
    add('information', 'business-rule', `conceptmap-${side.name}-server-side`, `The ${side.name} code system ${system} is checked by a terminology server, not here`, systemPath);
    return undefined;
  }
  const content = String(cs.content);
  if (content !== 'complete' && content !== 'supplement') {
    add('warning', 'business-rule', `conceptmap-${side.name}-incomplete`,
      `${side.Name} Code System ${system} doesn't have all content (content = ${content}), so the ${side.name} codes cannot be checked`, systemPath);
    return undefined;
  }
  return cs;
}

function includedVersion(valueSet: Json | undefined, system: string): string | undefined {
  const include = list((valueSet?.compose as Json | undefined)?.include).find((i) => i.system === system);
  return str(include?.version);
}

/** An element's or a target's code: in the group's code system, with a display it defines, and in the map's scope value set. */
function checkCode(item: Json, at: string, side: Side, system: string | undefined, cs: Json | undefined, lookups: ConceptMapLookups, add: Add): void {
  const code = str(item.code);
  if (code === undefined || cs === undefined || system === undefined) return;
  const codePath = `${at}.code`;
  const severity: Severity = cs.content === 'complete' ? 'error' : 'warning';
  const label = typeof cs.version === 'string' ? `${String(cs.url)}|${cs.version}` : String(cs.url);
  const concept = findConcept(list(cs.concept), code);
  if (!concept) {
    add(severity, 'code-invalid', `conceptmap-${side.name}-code`, `The ${side.name} code '${code}' is not valid in the code system ${label}`, codePath);
    return;
  }
  const display = str(item.display);
  if (display !== undefined) {
    const displays = [concept.display, ...list(concept.designation).map((d) => d.value)].filter((d): d is string => typeof d === 'string');
    if (!displays.some((d) => d.toLowerCase() === display.toLowerCase())) {
      add('warning', 'code-invalid', `conceptmap-${side.name}-display`,
        `The ${side.name} display '${display}' for the code '${label}#${code}' is not valid. Possible displays: ${displays.map((d) => `'${d}'`).join(', ')}`, codePath);
    }
  }
  if (side.scopeValueSet !== undefined && lookups.codingInValueSet(String(cs.url), code, side.scope!) === false) {
    const vs = typeof side.scopeValueSet.version === 'string' ? `${String(side.scopeValueSet.url)}|${side.scopeValueSet.version}` : String(side.scopeValueSet.url);
    add(severity, 'code-invalid', `conceptmap-${side.name}-code-valueset`, `The ${side.name} code '${code}' is not valid in the value set ${vs}`, codePath);
  }
}

/** A mapping stated twice, with the same relationship or a different one. */
function checkDuplicate(source: string | undefined, target: string | undefined, relationship: string | undefined, stated: Map<string, string>, at: string, add: Add): void {
  if (source === undefined || relationship === undefined) return;
  const report = (t: string, earlier: string) => {
    if (earlier === relationship) add('warning', 'business-rule', 'conceptmap-duplicate', `The mapping from '${source}' to '${t}' is stated more than once`, at);
    else {
      add('warning', 'business-rule', 'conceptmap-duplicate-different',
        `The mapping from '${source}' to '${t}' is stated more than once, as '${relationship}' here and '${earlier}' before`, at);
    }
  };
  const alone = stated.get(source);
  if (target === undefined) {
    if (alone === undefined) stated.set(source, relationship);
    else report('--', alone);
    return;
  }
  // A source mapped without a target, and here to one: stated differently.
  if (alone !== undefined) report(target, alone === relationship ? `${alone} (without a target)` : alone);
  const key = `${source}|${target}`;
  const earlier = stated.get(key);
  if (earlier === undefined) stated.set(key, relationship);
  else report(target, earlier);
}
