/**
 * The rules a ValueSet's compose obeys beyond its StructureDefinition, as the reference validator's ValueSetValidator
 * checks them with its terminology server, where a locally loaded code system answers offline: an include names an
 * absolute code system (not a version inside the URI, a value set, a supplement or an OID of a known code system),
 * a contained one by a fragment only if it is there, and lists codes that code system defines; its filters are
 * judged in value-set-filters.ts. Imports point to value sets. Messages are the reference validator's where its catalogue has them.
 */
import type { Issue, IssueType, Severity } from './issues.js';
import { findConcept } from './code-system.js';
import { checkFilters } from './value-set-filters.js';
import { isAbsoluteUrl } from './primitives.js';

type Json = Record<string, unknown>;

export interface ValueSetLookups {
  codeSystem(url: string): Json | undefined;
  valueSet(url: string): Json | undefined;
  resource(url: string): Json | undefined;
  /** The canonical URLs of loaded code systems with this identifier (an urn:oid:, say). */
  codeSystemsIdentifiedBy(identifier: string): string[];
}

const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
/** Beyond this many listed codes the reference checks none of them. */
const MAX_CHECKED_CONCEPTS = 1000;

export function checkValueSet(vs: Json, path: string, lookups: ValueSetLookups): Issue[] {
  const issues: Issue[] = [];
  const add = (severity: Severity, code: IssueType, messageId: string, message: string, at: string) => issues.push({ severity, code, messageId, message, path: at });
  const compose = vs.compose as Json | undefined;
  for (const part of ['include', 'exclude'] as const) {
    list(compose?.[part]).forEach((include, i) => checkInclude(include, `${path}.compose.${part}[${i}]`, vs, lookups, add));
  }
  return issues;
}

type Add = (severity: Severity, code: IssueType, messageId: string, message: string, at: string) => void;

function checkInclude(include: Json, at: string, vs: Json, lookups: ValueSetLookups, add: Add): void {
  const imports = Array.isArray(include.valueSet) ? include.valueSet : [];
  imports.forEach((imported, n) => {
    if (typeof imported !== 'string' || lookups.valueSet(imported)) return;
    const other = lookups.resource(imported);
    if (other) add('warning', 'business-rule', 'valueset-import-type', `The value set import ${imported} points to a resource of type ${String(other.resourceType)} which is not valid`, `${at}.valueSet[${n}]`);
  });
  if (imports.length > 1) {
    add('warning', 'informational', 'valueset-import-several',
      'This value set has a single include with multiple imported value sets. Per issue https://jira.hl7.org/browse/FHIR-25179, there has been confusion in the past whether these value sets are unioned or intersectioned. If this value set is contained in a package published prior to March 31 2022, it will be treated as a union, otherwise it will be treated as an intersection. If want a union, split the value set imports across multiple includes', at);
  }

  let system = str(include.system);
  const version = str(include.version);
  if (system?.includes('|')) {
    const inUri = system.slice(system.indexOf('|') + 1);
    system = str(system.slice(0, system.indexOf('|')));
    if (inUri === '') add('warning', 'business-rule', 'valueset-system-version', `The system ${system} ends with '|' but names no version`, at);
    else if (version === undefined) add('error', 'business-rule', 'valueset-system-version', `The system names the version ${inUri} in its URI: use include.version`, at);
    else if (version !== inUri) add('error', 'business-rule', 'valueset-system-version', `The system names the version ${inUri} in its URI, which differs from include.version ${version}`, at);
    else add('error', 'business-rule', 'valueset-system-version', `The system names the version ${inUri} in its URI as well as in include.version`, at);
  }
  const concepts = list(include.concept);
  if (system === undefined) {
    if (concepts.length > 0 || list(include.filter).length > 0) add('warning', 'business-rule', 'valueset-no-system', "No System specified, so Concepts and Filters can't be checked", at);
    return;
  }
  if (!isAbsoluteUrl(system)) {
    add('error', 'business-rule', 'valueset-system-absolute', system.startsWith('#')
      ? 'URI values in ValueSet.compose.include.system must be absolute. To reference a contained code system, use the full CodeSystem URL and reference it using the http://hl7.org/fhir/StructureDefinition/valueset-system extension'
      : 'URI values in ValueSet.compose.include.system must be absolute', at);
  }
  if (system.startsWith('#')) {
    checkContainedSystem(system, version, vs, at, add);
    return;
  }

  const cs = lookups.codeSystem(version ? `${system}|${version}` : system);
  checkFilters(include, system, cs, vs, at, add);
  if (cs) {
    const versioned = version !== undefined ? ` version '${version}'` : '';
    const content = String(cs.content);
    if (content === 'supplement') {
      add('error', 'business-rule', 'valueset-system-supplement',
        `The value set references CodeSystem '${system}'${versioned} which is a supplement. It must reference the underlying CodeSystem '${String(cs.supplements)}' and use the http://hl7.org/fhir/StructureDefinition/valueset-supplement extension for the supplement`, at);
      return;
    }
    if (content === 'example' || content === 'fragment' || cs.content === undefined) {
      add(content === 'fragment' ? 'information' : 'warning', 'business-rule', 'valueset-system-content', `The value set references CodeSystem '${system}'${versioned} which has status '${cs.content === undefined ? 'null' : content}'`, at);
    }
    if (concepts.length > MAX_CHECKED_CONCEPTS) {
      add('information', 'informational', 'valueset-too-many-codes', `The value set include has too many codes to validate (${concepts.length}), so each individual code has not been checked`, at);
    } else if (content === 'complete') {
      checkConcepts(concepts, cs, system, at, add);
    }
    return;
  }
  if (system.startsWith('urn:oid:')) {
    const named = lookups.codeSystemsIdentifiedBy(system);
    if (named.length > 0) {
      add('error', 'business-rule', 'valueset-system-oid', `The system ${system} is the identifier of the code system ${named.join(', ')}: include the code system by its canonical URL`, at);
      return;
    }
  }
  const asValueSet = lookups.valueSet(version ? `${system}|${version}` : system);
  if (asValueSet) {
    const systems = [...new Set(['include', 'exclude'].flatMap((p) => list((asValueSet.compose as Json | undefined)?.[p]).map((i) => str(i.system)).filter((s): s is string => s !== undefined)))].sort();
    add('error', 'business-rule', 'valueset-system-is-valueset',
      `The system ${system} is a value set, not a code system${systems.length > 0 ? `; it includes codes from ${systems.join(', ')}` : ''}`, at);
  }
}

/** `#id`: a CodeSystem contained in this value set, one and only one. */
function checkContainedSystem(system: string, version: string | undefined, vs: Json, at: string, add: Add): void {
  const candidates: Json[] = [];
  for (const contained of list(vs.contained)) {
    if (`#${String(contained.id)}` !== system) continue;
    if (contained.resourceType !== 'CodeSystem') {
      add('error', 'business-rule', 'valueset-contained-not-codesystem',
        `The include system '${system}' is a reference to a contained resource, but the contained resource with that id is not a CodeSystem, it's a ${String(contained.resourceType)}`, at);
    } else if (version === undefined || contained.version === version) candidates.push(contained);
  }
  const versioned = version !== undefined ? ` version '${version}'` : '';
  if (candidates.length === 0) add('error', 'business-rule', 'valueset-contained-not-found', `No matching contained code system found for system '${system}'${versioned}`, at);
  else if (candidates.length > 1) add('error', 'business-rule', 'valueset-contained-several', `Multiple matching contained code systems found for system '${system}'${versioned}`, at);
}

/** The listed codes of a complete code system loaded here: each one it defines, with a display it gives. */
function checkConcepts(concepts: Json[], cs: Json, system: string, at: string, add: Add): void {
  const defined = list(cs.concept);
  const caseSensitive = cs.caseSensitive !== false;
  concepts.forEach((concept, j) => {
    const code = str(concept.code);
    if (code === undefined) return;
    const found = findConcept(defined, code, !caseSensitive);
    const label = `'${system}'${typeof cs.version === 'string' ? ` version '${cs.version}'` : ''}`;
    if (!found) {
      add('error', 'code-invalid', 'valueset-unknown-code', `The code '${code}' is not valid in the system ${system} (Unknown code '${code}' in the CodeSystem ${label})`, `${at}.concept[${j}]`);
      return;
    }
    const display = str(concept.display);
    if (display === undefined) return;
    const displays = [found.display, ...list(found.designation).map((d) => d.value)].filter((d): d is string => typeof d === 'string');
    if (displays.length > 0 && !displays.some((d) => d.toLowerCase() === display.toLowerCase())) {
      add('information', 'code-invalid', 'valueset-concept-display', `The display '${display}' for the code '${code}' is not one the CodeSystem ${label} gives: ${displays.map((d) => `'${d}'`).join(', ')}`, `${at}.concept[${j}]`);
    }
  });
}
