/**
 * The rules a CodeSystem resource obeys beyond its StructureDefinition, as the reference validator's
 * CodeSystemValidator checks them: content and count against the concepts, supplements against the code system
 * they supplement, the "all codes" value set, property definitions and the property values of each concept.
 * Messages are the reference validator's (Messages.properties) where its catalogue has them; the few rules newer
 * than that catalogue are worded after their message ids.
 */
import type { Issue, IssueType, Severity } from './issues.js';
import { isAbsoluteUrl } from './primitives.js';

type Json = Record<string, unknown>;

/** What the checks look up outside the resource. */
export interface CodeSystemLookups {
  codeSystem(url: string): Json | undefined;
  valueSet(url: string): Json | undefined;
  /** Whether the code (no system) is in the value set; undefined when that cannot be told offline. */
  codeInValueSet(code: string, valueSet: string): boolean | undefined;
}

const KNOWN_PROPERTY_URI = 'http://hl7.org/fhir/concept-properties#';
const PROPERTY_VALUESET_EXTENSIONS = [
  'http://hl7.org/fhir/StructureDefinition/codesystem-property-valueset',
  'http://hl7.org/fhir/6.0/StructureDefinition/extension-CodeSystem.property.valueSet',
];
/** The standard concept properties and their types (the reference's KnownProperty). */
const KNOWN_PROPERTIES: ReadonlyMap<string, string> = new Map([
  ['status', 'code'],
  ['inactive', 'boolean'],
  ['effectiveDate', 'dateTime'],
  ['deprecationDate', 'dateTime'],
  ['retirementDate', 'dateTime'],
  ['notSelectable', 'boolean'],
  ['parent', 'code'],
  ['child', 'code'],
  ['partOf', 'code'],
  ['synonym', 'code'],
  ['comment', 'string'],
  ['itemWeight', 'decimal'],
]);
/** Known properties whose code values name concepts of this code system. */
const INTERNAL_CODE_PROPERTIES = new Set(['parent', 'child', 'partOf', 'synonym']);
const VALUE_TYPES = ['Code', 'Coding', 'String', 'Integer', 'Boolean', 'DateTime', 'Decimal'] as const;

/** How a property's code values are checked (the reference's CodeValidationRule). */
type CodeRule = 'internal' | 'internal-warning' | 'value-set';

interface PropertyDefinition {
  type: string | undefined;
  rule: CodeRule | undefined;
  valueSet?: string;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : []);
const baseUrl = (canonical: string) => canonical.split('|')[0]!;

function countConcepts(concepts: Json[]): number {
  let count = concepts.length;
  for (const c of concepts) count += countConcepts(list(c.concept));
  return count;
}

function hasCode(concepts: Json[], code: string): boolean {
  return concepts.some((c) => c.code === code || hasCode(list(c.concept), code));
}

/** The concept with this code, nested ones included; `ignoreCase` for a code system that is not case sensitive. */
export function findConcept(concepts: Json[], code: string, ignoreCase = false): Json | undefined {
  const wanted = ignoreCase ? code.toLowerCase() : code;
  for (const c of concepts) {
    if (typeof c.code === 'string' && (ignoreCase ? c.code.toLowerCase() : c.code) === wanted) return c;
    const inner = findConcept(list(c.concept), code, ignoreCase);
    if (inner) return inner;
  }
  return undefined;
}

function propertyValueSet(property: Json): string | undefined {
  for (const ext of list(property.extension)) if (PROPERTY_VALUESET_EXTENSIONS.includes(ext.url as string)) return str(ext.valueCanonical) ?? str(ext.valueUri);
  return undefined;
}

/**
 * Checks a CodeSystem at `path`. `containerType`: the resource type holding it when it is contained (a contained
 * code system is advised against, but in a Questionnaire or a supplement's own).
 */
export function checkCodeSystem(cs: Json, path: string, lookups: CodeSystemLookups, containerType: string | undefined): Issue[] {
  const issues: Issue[] = [];
  const add = (severity: Severity, code: IssueType, messageId: string, message: string, at = path) => issues.push({ severity, code, messageId, message, path: at });
  const url = str(cs.url);
  const content = str(cs.content);
  const supplements = str(cs.supplements);
  const concepts = list(cs.concept);
  const count = countConcepts(concepts);
  const isHl7 = url !== undefined && url.includes('hl7');

  // Metadata.
  if (supplements !== undefined) {
    if (content !== 'supplement') add('error', 'business-rule', 'codesystem-supplement-content', "CodeSystem Supplements SHALL have a content value of 'supplement'", `${path}.content`);
    if (cs.caseSensitive !== undefined) {
      add('error', 'business-rule', 'codesystem-supplement-element', 'CodeSystems SHOULD NOT have a stated value for the caseSensitive element when they are a supplement', `${path}.caseSensitive`);
    }
  } else {
    const fromHl7 = url !== undefined && (url.includes('hl7.org') || url.includes('fhir.org'));
    const missing = (element: string, shall: boolean) => {
      if (fromHl7) {
        add(shall ? 'error' : 'warning', 'business-rule', 'codesystem-missing-element',
          `HL7 Defined CodeSystems ${shall ? 'SHALL' : 'SHOULD'} have a stated value for the ${element} element so that users know the status and meaning of the code system clearly`, path);
      } else {
        add(shall ? 'warning' : 'information', 'business-rule', 'codesystem-missing-element',
          `CodeSystems SHOULD have a stated value for the ${element} element so that users know the status and meaning of the code system clearly`, path);
      }
    };
    if (content === undefined) missing('content', true);
    else if (content === 'supplement') {
      add('error', 'business-rule', 'codesystem-supplement-missing',
        "CodeSystem Supplements with a content value of 'supplement' SHALL have a supplements element that specifies which code system is being supplemented", `${path}.content`);
    }
    if (cs.caseSensitive === undefined) missing('caseSensitive', false);
    if (cs.hierarchyMeaning === undefined && concepts.some((c) => list(c.concept).length > 0)) missing('hierarchyMeaning', false);
  }
  if (count === 0 && content === 'complete') add('warning', 'business-rule', 'codesystem-complete-empty', 'The code system is complete, but it has no concepts');
  checkCount(cs, path, content, count, supplements, lookups, add);
  if (content === 'not-present' && concepts.length > 0) {
    add('error', 'invalid', 'codesystem-no-content-allowed', 'The code system says it has no content present, but concepts are found', `${path}.concept[0]`);
  }

  // The "all codes" value set.
  const supplemented = supplements !== undefined ? lookups.codeSystem(baseUrl(supplements)) : undefined;
  const allCodes = str(cs.valueSet);
  if (allCodes !== undefined) {
    if (content === 'supplement' && supplemented !== undefined) {
      if (supplemented.valueSet === undefined) {
        add('warning', 'business-rule', 'codesystem-supplement-valueset',
          'CodeSystems supplements should not have an all codes value set specified, and if they do, it must match the base code system');
      }
    } else if (content !== 'complete') {
      add(content === 'supplement' ? 'warning' : 'information', 'business-rule', 'codesystem-valueset-not-complete',
        'Review the All Codes Value Set - incomplete CodeSystems generally should not have an all codes value set specified');
    }
    const vs = lookups.valueSet(allCodes);
    // A code system without a url (reported as missing) has no system for the value set to match.
    if (vs && url !== undefined) checkAllCodesValueSet(vs, url, allCodes, count, add);
  }

  // Supplements: their concepts must be the supplemented code system's.
  if (content === 'supplement' || supplements !== undefined) {
    if (supplements === undefined) {
      add('error', 'business-rule', 'codesystem-supplement-no-supplements', 'The code system is marked as a supplement, but it does not define what code system it supplements');
    } else if (supplemented !== undefined && supplemented.content === 'complete') {
      const hierarchyMeaning = str(cs.hierarchyMeaning);
      if (hierarchyMeaning !== undefined && supplemented.hierarchyMeaning !== undefined && hierarchyMeaning !== supplemented.hierarchyMeaning) {
        add('error', 'business-rule', 'codesystem-supplement-hierarchy',
          `The hierarchyMeaning '${hierarchyMeaning}' differs from the supplemented code system's '${String(supplemented.hierarchyMeaning)}'`);
      }
      const base = list(supplemented.concept);
      concepts.forEach((concept, i) => {
        const code = str(concept.code);
        if (code !== undefined && !hasCode(base, code)) {
          add('error', 'business-rule', 'codesystem-supplement-code', `The code '${code}' is not declared in the base CodeSystem ${supplements} so is not valid in the supplement`, `${path}.concept[${i}]`);
        }
      });
    } else if (supplemented === undefined && concepts.length > 0) {
      add('warning', 'business-rule', 'codesystem-supplement-unknown', `CodeSystem ${supplements} cannot be found, so can't check if concepts are valid`);
    }
  }

  if (containerType !== undefined && containerType !== 'Questionnaire' && containerType !== 'CodeSystem') {
    add('information', 'business-rule', 'codesystem-contained', "CodeSystems are referred to directly from Coding.system, so it's generally best for them not to be contained resources");
  }

  const properties = checkPropertyDefinitions(cs, path, url, lookups, add);
  const codes = new Set<string>();
  const hl7Advice = { display: isHl7, definition: isHl7 };
  checkConcepts(concepts, `${path}.concept`, cs, supplemented, codes, hl7Advice, add);
  checkConceptProperties(concepts, `${path}.concept`, properties, codes, supplements, supplemented, lookups, new Set(), add);
  return issues;
}

type Add = (severity: Severity, code: IssueType, messageId: string, message: string, at?: string) => void;

function checkCount(cs: Json, path: string, content: string | undefined, count: number, supplements: string | undefined, lookups: CodeSystemLookups, add: Add): void {
  const stated = cs.count;
  if (typeof stated !== 'number' || stated < 0 || content === undefined) return;
  const at = `${path}.count`;
  if (content === 'complete' && count !== stated) {
    add('error', 'invalid', 'codesystem-count-complete', `The code system is complete, but the number of concepts (${count}) does not match the stated total number (${stated})`, at);
  } else if ((content === 'example' || content === 'fragment') && count >= stated) {
    add('warning', 'invalid', 'codesystem-count-fragment', `The code system is a fragment/example, but the number of concepts (${count}) exceeds or matches the stated total number (${stated})`, at);
  } else if (content === 'not-present' && list(cs.concept).length > 0 && stated <= 0) {
    add('information', 'invalid', 'codesystem-count-not-present',
      "The code system has no content, but the exceeds the stated total number is 0 concepts - check that this isn't a complete code system that has no concepts, or update/remove the stated count", `${path}.concept`);
  } else if (content === 'supplement' && supplements !== undefined) {
    const base = lookups.codeSystem(baseUrl(supplements));
    // The reference compares the concepts counted here with the supplemented system's stated count.
    if (base && (typeof base.count === 'number' ? base.count : 0) !== count) {
      add('error', 'invalid', 'codesystem-count-supplement',
        `The code system supplement states the total number of concepts as ${stated}, but this is different to the underlying code system that states a value of ${typeof base.count === 'number' ? base.count : 0}`, at);
    }
  }
}

function checkAllCodesValueSet(vs: Json, url: string, allCodes: string, count: number, add: Add): void {
  const compose = vs.compose as Json | undefined;
  const includes = list(compose?.include);
  if (!compose || includes.length !== 1) {
    add('error', 'business-rule', 'codesystem-valueset-invalid', `CodeSystem ${url} has an 'all system' value set of ${allCodes}, but the value set doesn't have a single include`);
    return;
  }
  const include = includes[0]!;
  if (include.system !== url) {
    add('error', 'business-rule', 'codesystem-valueset-system',
      `CodeSystem ${url} has an 'all system' value set of ${allCodes}, but the value set doesn't have a matching system (${String(include.system)})`);
    return;
  }
  if (include.valueSet !== undefined || include.concept !== undefined || include.filter !== undefined) {
    add('error', 'business-rule', 'codesystem-valueset-details', `CodeSystem ${url} has an 'all system' value set of ${allCodes}, but the include has extra details`);
  }
  const expansion = vs.expansion as Json | undefined;
  if (expansion) {
    const found = list(expansion.contains).length;
    if (found !== count) {
      add('error', 'business-rule', 'codesystem-valueset-expansion',
        `CodeSystem ${url} has an 'all system' value set of ${allCodes}, but it is an expansion with the wrong number of concepts (found ${count}, expected ${found})`);
    }
  }
}

function checkPropertyDefinitions(cs: Json, path: string, url: string | undefined, lookups: CodeSystemLookups, add: Add): Map<string, PropertyDefinition> {
  const byKey = new Map<string, PropertyDefinition>();
  list(cs.property).forEach((property, i) => {
    const at = `${path}.property[${i}]`;
    const uri = str(property.uri);
    const code = str(property.code);
    const type = str(property.type);
    const definition: PropertyDefinition = { type, rule: undefined };
    let knownByUri: string | undefined;
    /** The value set a property defined elsewhere (uri base#code) binds its codes to. */
    let uriValueSet: string | undefined;
    if (uri !== undefined) {
      if (!isAbsoluteUrl(uri)) {
        add('error', 'business-rule', 'codesystem-property-uri-relative', `The property URI '${uri}' is not an absolute URI`, at);
      } else if (byKey.has(uri)) {
        add('error', 'business-rule', 'codesystem-property-duplicate-uri', `A property is already defined with the URI '${uri}'`, at);
      } else {
        byKey.set(uri, definition);
        const hash = uri.indexOf('#');
        if (hash >= 0) {
          const defining = lookups.codeSystem(uri.slice(0, hash));
          const concept = defining && findConcept(list(defining.concept), uri.slice(hash + 1));
          const binding = concept && list(concept.property).find((p) => p.code === 'binding');
          if (binding) uriValueSet = str(binding.valueCode ?? binding.valueString ?? binding.valueUri ?? binding.valueCanonical);
        }
      }
      if (isAbsoluteUrl(uri) && uri.includes('://hl7.org/fhir')) {
        const known = uri.startsWith(KNOWN_PROPERTY_URI) ? uri.slice(KNOWN_PROPERTY_URI.length) : undefined;
        if (known !== undefined && KNOWN_PROPERTIES.has(known)) knownByUri = known;
        else if (!isBaseSpec(url) && !(url !== undefined && uri.startsWith(url))) {
          add('error', 'business-rule', 'codesystem-property-hl7-uri', `Unknown CodeSystem Property '${uri}'. If you are creating your own property, do not create it in the HL7 namespace`, at);
        }
      }
    }
    if (code !== undefined) {
      if (byKey.has(code)) add('error', 'business-rule', 'codesystem-property-duplicate-code', `A property is already defined with the code '${code}'`, at);
      else byKey.set(code, definition);
    }
    const knownByCode = code !== undefined && KNOWN_PROPERTIES.has(code) ? code : undefined;
    if (knownByUri !== undefined) {
      if (knownByCode !== undefined && knownByCode !== knownByUri) {
        add('error', 'business-rule', 'codesystem-property-uri-code',
          `The URI '${uri}' is normally assigned the code '${knownByUri}'. Using the code '${code}' will usually create confusion in ValueSet filters etc`, at);
      }
      const expected = KNOWN_PROPERTIES.get(knownByUri)!;
      if (type !== undefined && type !== expected) {
        add('error', 'business-rule', 'codesystem-property-uri-type', `Wrong type '${type}': The URI '${uri}' identifies a property that has the type '${expected}'`, at);
      }
      if (INTERNAL_CODE_PROPERTIES.has(knownByUri)) definition.rule = 'internal';
    } else if (type === 'code') {
      definition.valueSet = propertyValueSet(property) ?? uriValueSet;
      definition.rule = definition.valueSet !== undefined ? 'value-set' : 'internal-warning';
      if (definition.valueSet === undefined) {
        add('information', 'business-rule', 'codesystem-property-code-default',
          "If the type is 'code', then the valueSet property should be provided to clarify what kind of code will be found in the element", at);
      }
    } else if (type === 'Coding' && propertyValueSet(property) !== undefined) {
      definition.rule = 'value-set';
      definition.valueSet = propertyValueSet(property);
    }
    if (definition.valueSet !== undefined && !lookups.valueSet(definition.valueSet)) {
      add('warning', 'not-found', 'codesystem-property-valueset-unknown', `The value set '${definition.valueSet}' for this property cannot be found`, at);
      definition.valueSet = undefined;
    }
    if (uri === undefined) {
      if (knownByCode === undefined) {
        add('information', 'business-rule', 'codesystem-property-no-uri',
          `This property has only a code ('${code}') and not a URI, so it has no clearly defined meaning in the terminology ecosystem`, at);
      } else {
        add('warning', 'business-rule', 'codesystem-property-no-standard-uri',
          `This property has only the standard code ('${code}') but not the standard URI '${KNOWN_PROPERTY_URI}${knownByCode}', so it has no clearly defined meaning in the terminology ecosystem`, at);
        const expected = KNOWN_PROPERTIES.get(knownByCode)!;
        if (type !== undefined && type !== expected) {
          add('warning', 'business-rule', 'codesystem-property-code-type', `Wrong type '${type}': The code '${code}' identifies a property that has the type '${expected}'`, at);
        }
      }
    }
  });
  return byKey;
}

/** A code system of the core specification itself (http://hl7.org/fhir/[name]): it may define properties in HL7's namespace. */
function isBaseSpec(url: string | undefined): boolean {
  return url !== undefined && url.startsWith('http://hl7.org/fhir/') && !url.slice(20).includes('/');
}

function checkConcepts(concepts: Json[], at: string, cs: Json, supplemented: Json | undefined, codes: Set<string>, hl7Advice: { display: boolean; definition: boolean }, add: Add): void {
  concepts.forEach((concept, i) => {
    const path = `${at}[${i}]`;
    const code = str(concept.code);
    if (code !== undefined) {
      if (codes.has(code)) add('error', 'business-rule', 'codesystem-duplicate-code', `The code '${code}' is defined more than once in this code system`, path);
      codes.add(code);
    }
    // Advice on HL7's own code systems, once each per code system.
    // A concept without a code is an error already; the advice goes to one that has one.
    if (code !== undefined && hl7Advice.display && concept.display === undefined) {
      add('warning', 'business-rule', 'codesystem-concept-no-display', `The concept '${code}' has no display`, path);
      hl7Advice.display = false;
    }
    if (code !== undefined && hl7Advice.definition && concept.definition === undefined) {
      add('warning', 'business-rule', 'codesystem-concept-no-definition', `The concept '${code}' has no definition`, path);
      hl7Advice.definition = false;
    }
    const display = str(concept.display);
    if (supplemented !== undefined && display !== undefined && code !== undefined) {
      const base = findConcept(list(supplemented.concept), code);
      const language = str(cs.language);
      if (typeof base?.display === 'string' && base.display.toLowerCase() !== display.toLowerCase() && language === str(supplemented.language)) {
        add('information', 'business-rule', 'codesystem-supplement-display',
          `This display ('${display}') differs from that defined by the base code system ('${base.display}'). Both displays claim to be 'the "primary designation" for the same language ('${language ?? 'undefined'}'), and the correct interpretation of this is undefined`, path);
      }
    }
    list(concept.designation).forEach((designation, j) => checkDesignation(designation, `${path}.designation[${j}]`, str(cs.language), display, add));
    checkConcepts(list(concept.concept), `${path}.concept`, cs, supplemented, codes, hl7Advice, add);
  });
}

/** A designation without a use stands for the display: in the same language, it should say the same. */
function checkDesignation(designation: Json, path: string, resourceLanguage: string | undefined, display: string | undefined, add: Add): void {
  if (designation.use !== undefined || designation.additionalUse !== undefined) return;
  const value = designation.value;
  if (display === undefined || display === value) return;
  const language = str(designation.language);
  if (resourceLanguage === undefined && language === undefined) {
    add('warning', 'business-rule', 'codesystem-designation-clash', `The designation '${String(value)}' has no use and no language, so is not differentiated from the base display ('${display}')`, path);
  } else if (resourceLanguage !== undefined && (language === undefined || language === resourceLanguage)) {
    add('warning', 'business-rule', 'codesystem-designation-clash',
      `The designation '${String(value)}' has no use and is in the same language ('${resourceLanguage}'), so is not differentiated from the base display ('${display}')`, path);
  }
}

function checkConceptProperties(
  concepts: Json[],
  at: string,
  definitions: Map<string, PropertyDefinition>,
  codes: Set<string>,
  supplements: string | undefined,
  supplemented: Json | undefined,
  lookups: CodeSystemLookups,
  seen: Set<string>,
  add: Add,
): void {
  concepts.forEach((concept, i) => {
    const path = `${at}[${i}]`;
    list(concept.property).forEach((property, j) => {
      const propertyPath = `${path}.property[${j}]`;
      const code = str(property.code);
      if (code === undefined) return;
      const definition = definitions.get(code);
      if (!definition) {
        add('warning', 'business-rule', 'codesystem-property-undefined', `The property '${code}' has no definition in CodeSystem.property. Many terminology tools won't know what to do with it`, propertyPath);
      }
      const valueType = VALUE_TYPES.find((t) => property[`value${t}`] !== undefined);
      if (valueType === undefined) {
        add('error', 'business-rule', 'codesystem-property-no-value', `The property '${code}' has no value, and cannot be understoof`, propertyPath);
        return;
      }
      const fhirType = valueType === 'Coding' ? 'Coding' : valueType[0]!.toLowerCase() + valueType.slice(1);
      if (definition && definition.type !== undefined && fhirType !== definition.type) {
        add('error', 'business-rule', 'codesystem-property-type', `The property '${code}' has the invalid type '${fhirType}', when it is defined to have the type '${definition.type}'`, propertyPath);
      } else if (definition && fhirType === 'code' && typeof property.valueCode === 'string') {
        checkCodeValue(property.valueCode, definition, codes, supplements, supplemented, lookups, seen, propertyPath, add);
      }
      if (code === 'synonym' && typeof property.valueCode === 'string' && !codes.has(property.valueCode)) {
        add('warning', 'business-rule', 'codesystem-property-synonym',
          `The synonym '${property.valueCode}' is not also defined in the code system. The Synonym property should only used to declare equivalence to other existing codes`, propertyPath);
      }
    });
    checkConceptProperties(list(concept.concept), `${path}.concept`, definitions, codes, supplements, supplemented, lookups, seen, add);
  });
}

/** A code-typed property value: a concept of this code system (or the supplemented one), or a code of its value set; each distinct value once. */
function checkCodeValue(
  value: string,
  definition: PropertyDefinition,
  codes: Set<string>,
  supplements: string | undefined,
  supplemented: Json | undefined,
  lookups: CodeSystemLookups,
  seen: Set<string>,
  path: string,
  add: Add,
): void {
  if (definition.rule === undefined) return;
  const key = `${definition.valueSet ?? ''}#${value}`;
  if (seen.has(key)) return;
  seen.add(key);
  if (definition.rule === 'value-set') {
    if (definition.valueSet === undefined) return;
    if (lookups.codeInValueSet(value, definition.valueSet) === false) {
      add('error', 'invalid', 'codesystem-property-bad-code', `The code '${value}' is not valid in the value set of this property (${definition.valueSet})`, path);
    }
    return;
  }
  const known = supplements !== undefined ? supplemented !== undefined && hasCode(list(supplemented.concept), value) : codes.has(value);
  // Against a supplemented code system that is not at hand the reference asks its terminology server; offline, no answer.
  if (known || (supplements !== undefined && supplemented === undefined)) return;
  const severity = definition.rule === 'internal' || supplements !== undefined ? 'error' : 'warning';
  add(severity, 'invalid', 'codesystem-property-bad-reference', `The code '${value}' is not a concept of this code system`, path);
}
