/**
 * A ValueSet include's filters as the reference validator's ValueSetValidator judges them offline: the property must
 * be one the code system is known to have, the operation one that property allows, and the value of the property's
 * type (a code of a code system loaded here, a boolean, a date, a number, a coding, a valid regex). What each code
 * system has comes from its checker in the reference (SNOMED, LOINC, RxNorm, UCUM, CPT, BCP-47), else from the
 * CodeSystem when it is loaded, else the properties every code system may have.
 */
import { findConcept } from './code-system.js';
import { parseFhirPath } from './fhirpath-js.js';
import { fhirPathRegExp } from './fhirpath-regex.js';
import type { IssueType, Severity } from './issues.js';

type Json = Record<string, unknown>;
type Add = (severity: Severity, code: IssueType, messageId: string, message: string, at: string) => void;

type ValueType = 'Boolean' | 'Code' | 'DateTime' | 'Decimal' | 'Integer' | 'Coding' | 'String';

interface FilterRule {
  type: ValueType | undefined;
  /** Whether a code value is looked up in the code system, and how a miss is reported. */
  codeValidation?: 'error' | 'warning';
  /** Operations allowed; none listed allows any. */
  ops: readonly string[];
}

interface Checker {
  known: ReadonlySet<string>;
  rule(property: string): FilterRule | undefined;
}

const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The order the reference lists operations in. */
const OP_ORDER = ['=', 'is-a', 'descendent-of', 'is-not-a', 'regex', 'in', 'not-in', 'generalizes', 'child-of', 'descendent-leaf', 'exists'];
const BASE_NAMES = ['concept', 'code', 'status', 'inactive', 'effectiveDate', 'deprecationDate', 'retirementDate', 'notSelectable', 'synonym', 'comment', 'itemWeight'];

function baseRule(property: string, extraOps: readonly string[] = []): FilterRule | undefined {
  switch (property) {
    case 'concept':
      return { type: 'Code', codeValidation: 'error', ops: ['=', 'in', 'is-a', 'descendent-of', 'is-not-a', 'generalizes', 'not-in', ...extraOps] };
    case 'code':
      return { type: 'Code', codeValidation: 'error', ops: ['regex', '=', 'in', 'is-a', 'descendent-of', 'is-not-a', 'generalizes', 'not-in', ...extraOps] };
    case 'status':
      return { type: 'Code', ops: extraOps };
    case 'inactive':
    case 'notSelectable':
      return { type: 'Boolean', ops: extraOps };
    case 'effectiveDate':
    case 'deprecationDate':
    case 'retirementDate':
      return { type: 'DateTime', ops: extraOps };
    case 'parent':
    case 'child':
    case 'partOf':
      return { type: 'Code', codeValidation: 'error', ops: extraOps };
    case 'synonym':
      return { type: 'Code', ops: extraOps };
    case 'itemWeight':
      return { type: 'Decimal', ops: extraOps };
    default:
      return undefined;
  }
}

const general: Checker = { known: new Set(BASE_NAMES), rule: (p) => baseRule(p) };

const LOINC_PARTS = [
  'ancestor', 'descendent', 'parent', 'child', 'COMPONENT', 'PROPERTY', 'TIME_ASPCT', 'SYSTEM', 'SCALE_TYP', 'METHOD_TYP', 'CLASS', 'answer-list', 'MAP_TO',
  'analyte', 'analyte-core', 'analyte-suffix', 'analyte-numerator', 'analyte-divisor', 'analyte-divisor-suffix', 'challenge', 'adjustment', 'count',
  'time-core', 'time-modifier', 'system-core', 'super-system', 'analyte-gene', 'category', 'search', 'rad-analyte', 'rad-anatomic-location-imaging-focus',
  'rad-anatomic-location-laterality', 'rad-anatomic-location-laterality-presence', 'rad-anatomic-location-region-imaged', 'rad-guidance-for-action',
  'rad-guidance-for-approach', 'rad-guidance-for-object', 'rad-guidance-for-presence', 'rad-maneuver-maneuver-type', 'rad-modality-modality-subtype',
  'rad-modality-modality-type', 'rad-pharmaceutical-route', 'rad-pharmaceutical-substance-given', 'rad-reason-for-exam', 'rad-subject', 'rad-timing',
  'rad-view-aggregation', 'rad-view-view-type', 'rad-pharmaceutical-route', 'rad-anatomic-location-imaging-focus', 'document-kind', 'document-role',
  'document-setting', 'document-subject-matter-domain', 'document-type-of-service', 'answers-for', 'answer',
];
const LOINC_DESCRIPTIVE = [
  'VersionLastChanged', 'CHNG_TYPE', 'DefinitionDescription', 'STATUS', 'CLASSTYPE', 'FORMULA', 'EXMPL_ANSWERS', 'SURVEY_QUEST_TEXT', 'SURVEY_QUEST_SRC',
  'UNITSREQUIRED', 'ORDER_OBS', 'HL7_FIELD_SUBFIELD_ID', 'EXTERNAL_COPYRIGHT_NOTICE', 'EXAMPLE_UNITS', 'EXAMPLE_UCUM_UNITS', 'STATUS_REASON', 'STATUS_TEXT',
  'CHANGE_REASON_PUBLIC', 'COMMON_TEST_RANK', 'COMMON_ORDER_RANK', 'HL7_ATTACHMENT_STRUCTURE', 'EXTERNAL_COPYRIGHT_LINK', 'PanelType', 'AskAtOrderEntry',
  'AssociatedObservations', 'VersionFirstReleased', 'ValidHL7AttachmentRequest',
];
const LOINC_OPS = ['=', 'exists', 'regex', 'in', 'not-in'];
const loinc: Checker = {
  known: new Set([...BASE_NAMES, ...LOINC_PARTS, ...LOINC_DESCRIPTIVE]),
  rule(p) {
    // Parts are codes of LOINC itself, which only a terminology server knows.
    if (LOINC_PARTS.includes(p)) return { type: 'Code', ops: LOINC_OPS };
    if (LOINC_DESCRIPTIVE.includes(p)) return { type: 'String', ops: LOINC_OPS };
    if (p === 'concept' || p === 'code') return { type: 'Code', ops: ['=', 'is-a', 'is-not-a'] };
    return undefined;
  },
};

const snomed: Checker = {
  // Besides these, SNOMED's attributes, named by concept id (the reference lists the ones it knows).
  known: new Set(['concept', 'constraint', 'expressions', 'inactive']),
  rule(p) {
    if (p === 'constraint') return { type: undefined, ops: ['='] };
    if (p === 'expressions' || p === 'inactive') return { type: 'Boolean', ops: ['=', 'in'] };
    if (p === 'concept') return { type: 'Code', ops: ['is-a', 'is-not-a', 'in', 'descendent-of', 'descendent-leaf'] };
    return { type: 'Code', ops: ['=', 'in'] };
  },
};

function codesOnly(extra: string[]): Checker {
  return { known: new Set([...BASE_NAMES, ...extra]), rule: () => ({ type: 'Code', ops: [] }) };
}

const cpt: Checker = {
  known: new Set([...BASE_NAMES, 'modifier', 'kind', 'modified', 'code', 'telemedicine', 'orthopox']),
  rule(p) {
    if (['modifier', 'modified', 'telemedicine', 'orthopox'].includes(p)) return { type: 'Boolean', ops: [] };
    return p === 'kind' ? { type: 'Code', ops: [] } : undefined;
  },
};

const CHECKERS: Record<string, Checker> = {
  'http://snomed.info/sct': snomed,
  'http://loinc.org': loinc,
  'http://www.nlm.nih.gov/research/umls/rxnorm': codesOnly(
    'STY SAB TTY SY SIB RN PAR CHD RB RO IN PIN MIN BN SCD SBD GPCK BPCK SCDC SCDF SCDFP SCDG SCDGP SBDC SBDF SBDFP SBDG DF DFG'.split(' '),
  ),
  'http://unitsofmeasure.org': codesOnly(['property', 'canonical']),
  'http://www.ama-assn.org/go/cpt': cpt,
  'urn:ietf:bcp:47': { known: new Set([...BASE_NAMES, 'language', 'region', 'script', 'variant', 'extension', 'ext-lang', 'private-use']), rule: (p) => baseRule(p) },
};

const PROPERTY_TYPES: Record<string, ValueType | null> = { boolean: 'Boolean', code: 'Code', Coding: 'Coding', dateTime: 'DateTime', decimal: 'Decimal', integer: 'Integer', string: null };

/** What a loaded CodeSystem says of its properties and filters. */
function codeSystemChecker(cs: Json): Checker {
  const known = new Set(BASE_NAMES);
  if (cs.hierarchyMeaning !== undefined) for (const p of ['parent', 'child', 'partOf']) known.add(p);
  for (const f of list(cs.filter)) if (typeof f.code === 'string') known.add(f.code);
  for (const p of list(cs.property)) if (typeof p.code === 'string') known.add(p.code);
  return {
    known,
    rule(property) {
      const ops = list(cs.filter).filter((f) => f.code === property).flatMap((f) => (Array.isArray(f.operator) ? (f.operator as unknown[]).filter((o): o is string => typeof o === 'string') : []));
      const typed = list(cs.property).find((p) => p.code === property && typeof p.type === 'string');
      if (typed) {
        const type = PROPERTY_TYPES[typed.type as string];
        if (type === null || type === undefined) return undefined;
        return { type, codeValidation: type === 'Code' ? 'warning' : undefined, ops };
      }
      if (property === 'concept' || property === 'code') return baseRule(property, ops);
      // Other properties keep their type, with the operations the code system's filters give.
      const base = baseRule(property);
      return base && { ...base, ops };
    },
  };
}

const DATE_TIME = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?)?)?)?$/;
const SEARCH_PREFIX = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/;
const DECIMAL = /^[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const LEGACY_CODING = /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s|]+\|\S+$/;
const EXPRESSION_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/cqf-expression';
const PARAMETER_EXTENSION = 'http://hl7.org/fhir/tools/StructureDefinition/valueset-parameter';
/** The constants of a FHIRPath expression as the reference's lexer finds them: %names (with dashes) and literals. */
const CONSTANTS = /%(`[^`]*`|[A-Za-z_][A-Za-z0-9_-]*)|'(?:[^'\\]|\\.)*'|@[0-9T:.+\-Z]+|\b\d+(\.\d+)?\b|\b(true|false)\b/g;

/** The filters of one include whose code system is `system` (`cs` when loaded here). */
export function checkFilters(include: Json, system: string, cs: Json | undefined, vs: Json, at: string, add: Add): void {
  const checker = CHECKERS[system] ?? (cs ? codeSystemChecker(cs) : general);
  list(include.filter).forEach((filter, k) => {
    const where = `${at}.filter[${k}]`;
    const property = str(filter.property);
    if (property === undefined) return;
    const isAttribute = checker === snomed && /^\d+$/.test(property);
    if (!checker.known.has(property) && !isAttribute) {
      const names = [...checker.known].join(',');
      if (cs === undefined && !CHECKERS[system]) {
        add('information', 'business-rule', 'valueset-filter-property-unknown',
          `No definition can be found for the system ${system}, and the property '${property}' is not a generally known property, so the property might not be valid, or understood by the terminology ecosystem. In case it's useful, the list of generally known properties for all systems is ${names}`, where);
      } else {
        add('warning', 'business-rule', 'valueset-filter-property-unknown', `The property '${property}' is not known for the system '${system}', so may not be understood by the terminology ecosystem. Known properties for this system: ${names}`, where);
      }
      return;
    }
    const rule = checker.rule(property);
    if (!rule) return;
    const op = str(filter.op);
    if (rule.ops.length > 0 && op !== undefined && !rule.ops.includes(op)) {
      const allowed = OP_ORDER.filter((o) => rule.ops.includes(o)).join(',');
      add('error', 'business-rule', 'valueset-filter-op', `The operation '${op}' is not allowed for property '${property}'. Allowed ops: ${allowed}`, where);
    }
    const value = typeof filter.value === 'string' ? filter.value : undefined;
    const valueExtensions = list((filter._value as Json | undefined)?.extension);
    const expression = valueExtensions.find((e) => e.url === EXPRESSION_EXTENSION)?.valueExpression as Json | undefined;
    if (value === undefined) {
      if (expression === undefined) add('error', 'business-rule', 'valueset-filter-no-value', 'The filter has neither a value nor an expression that gives one', where);
      else checkFilterExpression(expression, vs, `${where}.extension.value`, add);
      return;
    }
    if (expression !== undefined) add('error', 'business-rule', 'valueset-filter-value-and-expression', 'The filter has both a value and an expression: only one may be given', where);
    if (op === 'exists') checkValue(value, 'Boolean', rule, property, system, cs, where, add);
    else if (op === 'regex') {
      try {
        fhirPathRegExp(value, 'u');
      } catch (error) {
        add('error', 'business-rule', 'valueset-filter-regex', `The value for a filter based on property '${property}' should be a valid regex, not '${value}' (err = '${(error as Error).message}')`, where);
      }
      if (property === 'concept') {
        add('error', 'business-rule', 'valueset-filter-regex-concept', `Cannot apply a regex filter to the property '${property}' (usually regex filters are applied to the codes, or a named property of the code system)`, where);
      }
    } else if (op === 'in' || op === 'not-in') {
      // Split as Java's String.split does: trailing empty items dropped.
      const items = value.split(',');
      while (items.length > 0 && items[items.length - 1] === '') items.pop();
      for (const item of items) checkValue(item, rule.type, rule, property, system, cs, where, add, false);
    } else checkValue(value, rule.type, rule, property, system, cs, where, add);
  });
}

function checkValue(value: string, type: ValueType | undefined, rule: FilterRule, property: string, system: string, cs: Json | undefined, where: string, add: Add, commaWarning = true): void {
  if (type === undefined) return;
  const prefix = `The value for a filter based on property '${property}'`;
  if (commaWarning && value.includes(',')) {
    add('information', 'business-rule', 'valueset-filter-comma', `The filter value has a comma, but the operation is different to 'in' and 'not-in', so the comma will be interpreted as part of the ${type} value`, where);
  }
  const unprefixed = value.replace(SEARCH_PREFIX, '');
  switch (type) {
    case 'Boolean':
      if (value !== 'true' && value !== 'false') add('error', 'business-rule', 'valueset-filter-boolean', `${prefix} must be either 'true' or 'false', not '${value}'`, where);
      return;
    case 'DateTime':
      if (!DATE_TIME.test(unprefixed)) add('error', 'business-rule', 'valueset-filter-datetime', `${prefix} must be a valid date(/time), not '${unprefixed}'`, where);
      return;
    case 'Decimal':
      if (!DECIMAL.test(unprefixed)) add('error', 'business-rule', 'valueset-filter-decimal', `${prefix} must be a decimal value, not '${unprefixed}'`, where);
      return;
    case 'Integer': {
      const isInteger = /^[+-]?\d+$/.test(unprefixed) && Math.abs(Number(unprefixed)) <= 2147483647;
      if (!isInteger) add('error', 'business-rule', 'valueset-filter-integer', `${prefix} must be integer value, not '${unprefixed}'`, where);
      return;
    }
    case 'Coding':
      if (LEGACY_CODING.test(value)) {
        add('warning', 'business-rule', 'valueset-filter-coding-legacy', `${prefix} is '${value}', in the legacy format system|code: use system#code`, where);
      } else if (!/^[^#|]+(\|[^#]+)?#.+$/.test(value)) {
        add('error', 'business-rule', 'valueset-filter-coding', `${prefix} must be in the format system(|version)#code, not '${value}'`, where);
      }
      return;
    case 'Code':
      if (value.trim() !== value) add('error', 'business-rule', 'valueset-filter-code', `${prefix} must be a valid code, not '${value}'`, where);
      // Codes are looked up only where a complete code system is loaded here: elsewhere that takes a terminology server.
      if (rule.codeValidation && cs?.content === 'complete' && !findConcept(list(cs.concept), value, cs.caseSensitive === false)) {
        add(rule.codeValidation, 'business-rule', 'valueset-filter-code-unknown',
          `${prefix} must be a valid code from the system '${system}', and '${value}' is not (Unknown code '${value}' in the CodeSystem '${system}'${typeof cs.version === 'string' ? ` version '${cs.version}'` : ''})`, where);
      }
      return;
    default:
      return;
  }
}

/** A filter's value given by a FHIRPath expression over the value set's declared parameters. */
function checkFilterExpression(expression: Json, vs: Json, where: string, add: Add): void {
  const language = str(expression.language);
  const text = str(expression.expression);
  if (language !== 'text/fhirpath') {
    add('error', 'business-rule', 'valueset-filter-expression-language', `The filter expression language '${language}' is not supported: only text/fhirpath`, where);
    return;
  }
  if (text === undefined) return;
  try {
    parseFhirPath(text);
  } catch (error) {
    add('error', 'business-rule', 'valueset-filter-expression', `The filter expression '${text}' is not valid: ${(error as Error).message}`, where);
    return;
  }
  const declared = new Set(
    list(vs.extension)
      .filter((e) => e.url === PARAMETER_EXTENSION)
      .map((e) => list(e.extension).find((x) => x.url === 'name'))
      .map((name) => str(name?.valueCode) ?? str(name?.valueString))
      .filter((n): n is string => n !== undefined),
  );
  // As the reference reads them, every constant of the expression names a parameter (its text without the first
  // character), literals included; its lexer reads %p-code as one constant, where FHIRPath's grammar subtracts.
  for (const [constant] of text.matchAll(CONSTANTS)) {
    const name = constant.slice(1).replace(/^`|`$/g, '');
    if (!declared.has(name)) add('error', 'business-rule', 'valueset-filter-expression-parameter', `The filter expression '${text}' refers to '${name}', which is not a parameter of this value set`, where);
  }
}
