import type { ConformanceResolver } from '../packages/types.js';
import { asText } from '../formats/json-primitives.js';
import type { IssueType } from '../validation/issues.js';
import { isAbsoluteUrl } from '../validation/primitives.js';
import { BCP13, grammarFor, isExternalSystem } from './builtin.js';
import type { Concept } from './codesystem.js';
import { Expander, type Expansion, type ExpansionEntry } from './expansion.js';

export type CodeStatus =
  | 'valid'
  | 'not-in-valueset'
  | 'unknown-code'
  | 'unknown-system'
  | 'not-checkable'
  | 'unknown-valueset'
  | 'invalid-display'
  | 'no-system';

export interface TxMessage {
  severity: 'error' | 'warning' | 'information';
  messageId: string;
  message: string;
  /** OperationOutcome issue type the HL7 validator uses for this message. */
  issueType: IssueType;
  /** Index of the coding in a CodeableConcept the message is about. */
  codingIndex?: number;
  /** Child element the HL7 validator reports the message on (e.g. `coding[0].display`); absent: the element itself. */
  element?: 'code' | 'display' | 'system';
}

export interface CodeCheck {
  status: CodeStatus;
  /** Issues to report as they are, whatever the binding strength (see bindingIssues for the binding message). */
  messages: TxMessage[];
  /** Resolved value set as `'Title' (url|version)`, for the binding message. */
  valueSet?: string;
  /** The `(error message = …)` text of the binding message. */
  errorMessage?: string;
  /** `system#code, …` of the codings checked. */
  codes?: string;
  /** System the code was found in (given or inferred). */
  system?: string;
}

export interface CodingInput {
  system?: string;
  code?: string;
  display?: string;
  version?: string;
}

/** A Coding as read from an instance, unchecked: members of another JSON type are read as the reference reads them. */
function wellTyped(input: CodingInput): CodingInput {
  const { system, code, display, version } = input as Record<keyof CodingInput, unknown>;
  if ((system === undefined || typeof system === 'string') && (code === undefined || typeof code === 'string')
    && (display === undefined || typeof display === 'string') && (version === undefined || typeof version === 'string')) return input;
  return { system: asText(system), code: asText(code), display: asText(display), version: asText(version) };
}

/** A CodeableConcept's codings as FHIRPath sees them: one not in an array is one item; items that are no objects count as absent. */
function codingsOf(coding: unknown): CodingInput[] {
  if (coding === undefined) return [];
  const list: unknown[] = Array.isArray(coding) ? coding : [coding];
  const isObject = (c: unknown): c is CodingInput => typeof c === 'object' && c !== null;
  // The usual case, every coding well formed, is the array itself: this runs on every bound concept.
  if (list.every((c) => isObject(c) && wellTyped(c) === c)) return list as CodingInput[];
  return list.filter(isObject).map(wellTyped);
}

export interface TerminologyOptions {
  /** Display languages accepted, as the HL7 validator's -language option: `'en, de'`. */
  languages?: string;
  /** A wrong display is a warning and leaves the code valid (the HL7 validator's -display-issues-are-warnings). */
  displayIssuesAreWarnings?: boolean;
}

type Mode = 'code' | 'Coding' | 'CodeableConcept';

interface CodingResult {
  status: CodeStatus;
  messages: TxMessage[];
  errors: string[];
  system?: string;
}

const NO_SYSTEM = 'A code with no system has no defined meaning, and it cannot be validated. A system should be provided';
const CACHE_LIMIT = 100_000;
/** How bad a coding result is for a CodeableConcept: the first valid coding wins, else undecidable beats failed. */
const RANK: Record<CodeStatus, number> = {
  valid: 0,
  'not-checkable': 1,
  'unknown-system': 2,
  'unknown-valueset': 3,
  'invalid-display': 4,
  'no-system': 5,
  'not-in-valueset': 6,
  'unknown-code': 7,
};

/** Answers by key, emptied when full: a run meets a bounded set of codes, and bad input must not grow it without end. */
class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Returns the value, so that a miss reads `cache.get(key) ?? cache.set(key, compute())` (no closure per lookup). */
  set(key: K, value: V): V {
    if (this.map.size >= CACHE_LIMIT) this.map.clear();
    this.map.set(key, value);
    return value;
  }
}

/** Answers per value set (or none) and key, bounded as BoundedCache is. */
class PerValueSetCache<K, V> {
  private readonly byValueSet = new Map<string | undefined, Map<K, V>>();
  private size = 0;

  get(valueSet: string | undefined, key: K): V | undefined {
    return this.byValueSet.get(valueSet)?.get(key);
  }

  set(valueSet: string | undefined, key: K, value: V): V {
    if (this.size >= CACHE_LIMIT) {
      this.byValueSet.clear();
      this.size = 0;
    }
    let answers = this.byValueSet.get(valueSet);
    if (!answers) this.byValueSet.set(valueSet, (answers = new Map()));
    answers.set(key, value);
    this.size++;
    return value;
  }
}

/** One known (system, version, display) of a code, and its number. */
interface CodingId {
  system: unknown;
  version: unknown;
  display: unknown;
  id: number;
}

/** The most (system, version, display) kept per code: bad input must not make the scan long. */
const IDS_PER_CODE = 32;

/**
 * A number per distinct (system, version, code, display): a map by code, then a scan of that code's few
 * known codings. Every coding's strings are fresh from JSON.parse, so hashing them (as nested maps did)
 * costs more than comparing them to the one or two known ones. Numbers are never reused, so answers keyed
 * by an id forgotten when the table was emptied are merely unreachable.
 */
class CodingIds {
  private readonly byCode = new Map<unknown, CodingId[]>();
  private count = 0;
  private next = 0;

  of(input: CodingInput): number {
    const { system, version, code, display } = input;
    let known = this.byCode.get(code);
    if (known !== undefined) {
      for (let i = 0; i < known.length; i++) {
        const k = known[i]!;
        if (k.system === system && k.display === display && k.version === version) return k.id;
      }
    }
    if (this.count >= CACHE_LIMIT) {
      this.byCode.clear();
      this.count = 0;
      known = undefined;
    }
    if (known === undefined || known.length >= IDS_PER_CODE) this.byCode.set(code, (known = []));
    known.push({ system, version, display, id: ++this.next });
    this.count++;
    return this.next;
  }
}

function codingKey(mode: Mode, valueSet: string | undefined, input: CodingInput): string {
  return `${mode}\u0001${valueSet ?? ''}\u0001${input.system ?? ''}\u0001${input.version ?? ''}\u0001${input.code ?? ''}\u0001${input.display ?? ''}`;
}

function quoteList(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/**
 * Offline terminology: ValueSet expansion and code validation against the loaded packages, with
 * messages worded as the HL7 Java validator's. Construct once per validator: expansions and results are cached.
 * Returned CodeCheck objects are shared between calls and must not be modified.
 */
export class TerminologyService {
  private readonly expander: Expander;
  private readonly languages?: string[];
  private readonly languageLabel: string;
  private readonly displayIssuesAreWarnings: boolean;
  private readonly codingCache = new BoundedCache<string, CodingResult>();
  private readonly codingIds = new CodingIds();
  /** Whole answers by coding id: building their strings costs as much as the check. */
  private readonly codeChecks = new PerValueSetCache<number, CodeCheck>();
  private readonly codingChecks = new PerValueSetCache<number, CodeCheck>();
  /** By the codings' ids: one coding's alone, more joined. */
  private readonly conceptChecks = new PerValueSetCache<number | string, CodeCheck>();

  constructor(private readonly resolver: ConformanceResolver, options: TerminologyOptions = {}) {
    this.expander = new Expander(resolver);
    const langs = options.languages?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    this.languages = langs?.length ? langs : undefined;
    this.languageLabel = this.languages ? options.languages!.trim() : '--';
    this.displayIssuesAreWarnings = options.displayIssuesAreWarnings ?? false;
  }

  /** The value set's codes, or undefined when it is not loaded. */
  expand(valueSet: string): Expansion | undefined {
    return this.expander.expand(valueSet);
  }

  lookup(system: string, code: string): { display?: string; designations: string[]; abstract?: boolean } | undefined {
    const c = this.expander.codeSystem(system)?.get(code);
    return c && { display: c.display, designations: c.designations.map((d) => d.value), abstract: c.abstract };
  }

  /**
   * A code (primitive `code` element: no system, which is then inferred from the value set) or a Coding
   * (with system), against its code system and, when given, a value set.
   */
  validateCode(input: CodingInput, valueSet?: string): CodeCheck {
    return this.single(input, valueSet, input.system === undefined && valueSet ? 'code' : 'Coding');
  }

  /** A Coding element: a missing system is a warning, never inferred. */
  validateCoding(coding: CodingInput, valueSet?: string): CodeCheck {
    return this.single(coding, valueSet, 'Coding');
  }

  validateCodeableConcept(cc: { coding?: CodingInput[]; text?: string }, valueSet: string): CodeCheck {
    const codings = codingsOf(cc.coding);
    const key = codings.length === 1 ? this.codingIds.of(codings[0]!) : codings.map((c) => this.codingIds.of(c)).join();
    return this.conceptChecks.get(valueSet, key) ?? this.conceptChecks.set(valueSet, key, this.checkCodeableConcept(codings, valueSet));
  }

  private checkCodeableConcept(codings: CodingInput[], valueSet: string): CodeCheck {
    const exp = this.expander.expand(valueSet);
    if (!exp) return this.unknownValueSet(valueSet);
    const base = { valueSet: `'${exp.title}' (${exp.reference})`, codes: codings.map((c) => `${c.system ?? ''}#${c.code ?? ''}`).join(', ') };
    if (codings.length === 0) return { status: 'not-in-valueset', messages: [], ...base, errorMessage: 'No coding provided' };
    const messages: TxMessage[] = [];
    const errors: string[] = [];
    let best: CodingResult | undefined;
    codings.forEach((coding, i) => {
      const r = this.coding(coding, exp, valueSet, 'CodeableConcept');
      // Written out: a spread with an added property goes through V8's runtime (microseconds; see issueAt).
      for (const m of r.messages) messages.push({ severity: m.severity, messageId: m.messageId, message: m.message, issueType: m.issueType, codingIndex: i, element: m.element });
      errors.push(...r.errors);
      if (!best || RANK[r.status] < RANK[best.status]) best = r;
    });
    return { status: best!.status, messages, ...base, errorMessage: errors.join('; ') || undefined, system: best!.system };
  }

  private single(raw: CodingInput, valueSet: string | undefined, mode: Mode): CodeCheck {
    const input = wellTyped(raw);
    const checks = mode === 'code' ? this.codeChecks : this.codingChecks;
    const id = this.codingIds.of(input);
    return checks.get(valueSet, id) ?? checks.set(valueSet, id, this.checkSingle(input, valueSet, mode));
  }

  private checkSingle(input: CodingInput, valueSet: string | undefined, mode: Mode): CodeCheck {
    const exp = valueSet ? this.expander.expand(valueSet) : undefined;
    if (valueSet && !exp) return this.unknownValueSet(valueSet);
    const r = this.coding(input, exp, valueSet, mode);
    return {
      status: r.status,
      messages: r.messages,
      valueSet: exp && `'${exp.title}' (${exp.reference})`,
      errorMessage: r.errors.join('; ') || undefined,
      codes: `${input.system ?? ''}#${input.code ?? ''}`,
      system: r.system,
    };
  }

  private unknownValueSet(valueSet: string): CodeCheck {
    return {
      status: 'unknown-valueset',
      messages: [{ severity: 'warning', messageId: 'TX_VALUESET_NOT_FOUND', issueType: 'code-invalid', message: `ValueSet '${valueSet}' not found` }],
    };
  }

  private coding(input: CodingInput, exp: Expansion | undefined, vsKey: string | undefined, mode: Mode): CodingResult {
    const key = codingKey(mode, vsKey, input);
    return this.codingCache.get(key) ?? this.codingCache.set(key, this.checkCoding(input, exp, mode));
  }

  private checkCoding(input: CodingInput, exp: Expansion | undefined, mode: Mode): CodingResult {
    const { code, display, version } = input;
    let system = input.system;
    if (!code) return { status: exp ? 'not-in-valueset' : 'valid', messages: [], errors: exp ? ['No code provided'] : [] };
    if (system === undefined) {
      if (mode === 'Coding') return { status: 'no-system', messages: [warn('TX_NO_SYSTEM', NO_SYSTEM, 'code-invalid')], errors: [NO_SYSTEM] };
      if (mode === 'CodeableConcept') {
        const text = `Coding has no system. ${NO_SYSTEM}`;
        return { status: 'no-system', messages: [warn('TX_CODING_NO_SYSTEM', text, 'invalid')], errors: [text] };
      }
      if (!exp) return { status: 'valid', messages: [], errors: [] };
      system = this.inferSystem(exp, code);
      if (!system) {
        if (!exp.complete) return { status: 'not-checkable', messages: [], errors: [] };
        const cannot = `The System URI could not be determined for the code '${code}' in the ValueSet '${exp.reference}'`;
        return {
          status: 'not-in-valueset',
          messages: [{ severity: 'error', messageId: 'TX_CANNOT_INFER_SYSTEM', issueType: 'not-found', message: cannot }],
          errors: [cannot, notInValueSet('', code, exp)],
        };
      }
    }

    if (this.expander.isSupplement(system)) {
      const msg = `CodeSystem ${system} is a supplement, so can't be used as a value in Coding.system for '${system}#${code}'`;
      return { status: 'unknown-code', messages: [{ severity: 'error', messageId: 'TX_SYSTEM_SUPPLEMENT', issueType: 'code-invalid', message: msg }], errors: [msg], system };
    }
    const messages: TxMessage[] = [];
    const errors: string[] = [];
    const cs = this.expander.codeSystem(system, version);
    if (cs?.enumerable) {
      const concept = cs.get(code);
      if (!concept) {
        const where = `'${code}' in the CodeSystem '${system}'${cs.version ? ` version '${cs.version}'` : ''}`;
        if (cs.content === 'complete') {
          const msg = `Unknown code ${where}`;
          errors.push(msg);
          if (exp) errors.push(notInValueSet(system, code, exp));
          return { status: 'unknown-code', messages: [{ severity: 'error', messageId: 'TX_UNKNOWN_CODE', issueType: 'code-invalid', message: msg, element: 'code' }], errors, system };
        }
        // Fragments and examples list only some codes: a missing one may exist.
        const listed = exp?.contains.get(system)?.get(code);
        return {
          status: exp && !listed ? 'not-checkable' : exp ? 'valid' : 'not-checkable',
          messages: [
            cs.content === 'fragment'
              ? { severity: 'warning', messageId: 'TX_UNKNOWN_CODE_FRAGMENT', issueType: 'code-invalid', element: 'code', message: `Unknown Code ${where} - note that the code system is labeled as a fragment, so the code may be valid in some other fragment` }
              : info('TX_NOT_CHECKABLE', `The code ${where} is not in this ${cs.content} of the code system, so it cannot be checked`),
          ],
          errors,
          system,
        };
      }
      if (concept.code !== code) {
        messages.push(info('TX_CODE_CASE', `The code '${code}' differs from the correct code '${concept.code}' by case. Although the code system '${system}' is case insensitive, implementers are strongly encouraged to use the correct case anyway`));
      }
      const entry = exp?.contains.get(system)?.get(concept.code);
      let displayError = display !== undefined ? this.checkDisplay(system, concept, entry, display) : undefined;
      if (displayError && this.displayIssuesAreWarnings) {
        messages.push({ severity: 'warning', messageId: 'TX_WRONG_DISPLAY', issueType: 'invalid', element: 'display', message: displayError });
        displayError = undefined;
      } else if (displayError) {
        messages.push({ severity: 'error', messageId: 'TX_WRONG_DISPLAY', issueType: 'invalid', element: 'display', message: displayError });
        errors.push(displayError);
      }
      const status = exp ? this.membership(exp, system, concept.code, entry, errors) : 'valid';
      return { status: status === 'valid' && displayError ? 'invalid-display' : status, messages, errors, system };
    }

    const grammar = grammarFor(system);
    if (grammar) {
      const reason = isFhirFormatCode(system, code, exp) ? undefined : grammar(code);
      if (reason) {
        errors.push(reason);
        if (exp) errors.push(notInValueSet(system, code, exp));
        return { status: 'unknown-code', messages: [{ severity: 'error', messageId: 'TX_UNKNOWN_CODE', issueType: 'code-invalid', element: 'code', message: reason }], errors, system };
      }
      return { status: exp ? this.membership(exp, system, code, exp.contains.get(system)?.get(code), errors) : 'valid', messages, errors, system };
    }

    // A system without a scheme names nothing outside this exchange; unbound, the reference stops at that.
    if (!exp && !isAbsoluteUrl(system)) {
      return { status: 'unknown-system', messages: [{ severity: 'error', messageId: 'TX_SYSTEM_RELATIVE', issueType: 'code-invalid', message: 'Coding.system must be an absolute reference, not a local reference' }], errors, system };
    }
    if (!exp && !cs) {
      const wrong = wrongSystem(system, (url) => this.resolver.resolve(url, 'ValueSet') !== undefined, (url) => this.expander.codeSystem(url) !== undefined);
      if (wrong) return { status: 'unknown-system', messages: [{ severity: 'error', messageId: wrong.messageId, issueType: 'code-invalid', message: wrong.message }], errors, system };
    }
    // Not loaded: licensed/huge external terminologies, or a system nobody defined.
    const notLoaded = isExternalSystem(system)
      ? info('TX_NOT_CHECKABLE', `The code system '${system}' is not available offline, so the code '${code}' cannot be checked`)
      : warn('TX_UNKNOWN_SYSTEM', `A definition for CodeSystem '${system}' could not be found, so the code cannot be validated`, 'not-found');
    const unchecked: CodeStatus = isExternalSystem(system) ? 'not-checkable' : 'unknown-system';
    if (!exp) return { status: unchecked, messages: [notLoaded], errors, system };
    const status = this.membership(exp, system, code, exp.contains.get(system)?.get(code), errors);
    return status === 'not-checkable' ? { status: unchecked, messages: [notLoaded], errors, system } : { status, messages, errors, system };
  }

  /** 'valid', 'not-in-valueset' (with its error text added) or 'not-checkable'. */
  private membership(exp: Expansion, system: string, code: string, entry: ExpansionEntry | undefined, errors: string[]): CodeStatus {
    if (entry) {
      if (!entry.abstract) return 'valid';
      errors.push(`Code '${system}#${code}' is abstract, and not allowed in this context`);
      return 'not-in-valueset';
    }
    const excluded = exp.excluded.get(system)?.has(code);
    if (!excluded) {
      if (exp.grammarSystems.has(system)) return 'valid';
      if (exp.notCheckableSystems.has(system) || exp.anyOpen) return 'not-checkable';
    }
    errors.push(notInValueSet(system, code, exp));
    return 'not-in-valueset';
  }

  /** The system a bare code belongs to in a value set (as the HL7 validator infers it for `code` elements). */
  private inferSystem(exp: Expansion, code: string): string | undefined {
    for (const [system, codes] of exp.contains) {
      if (codes.has(code)) return system;
      const c = this.expander.codeSystem(system)?.get(code);
      if (c && codes.has(c.code)) return system;
    }
    for (const system of exp.grammarSystems) {
      if (grammarFor(system)!(code) === undefined || (system === BCP13 && FHIR_FORMAT_CODES.has(code))) return system;
    }
    return undefined;
  }

  /** The wrong-display message, or undefined when `display` is one of the valid displays. */
  private checkDisplay(system: string, concept: Concept, entry: ExpansionEntry | undefined, display: string): string | undefined {
    const choices: Array<{ value: string; language?: string }> = [];
    const seen = new Set<string>();
    const add = (value: string | undefined, language?: string): void => {
      if (value === undefined || seen.has(value)) return;
      seen.add(value);
      choices.push({ value, language });
    };
    add(concept.display);
    // A value set may give its own display and designations for the code: valid there too, as in the reference; its
    // designations without a language stand beside the display.
    add(entry?.display);
    const inLanguage = (language: string | undefined) => !this.languages || (language !== undefined && this.languages.some((l) => langMatch(l, language)));
    for (const d of concept.designations) if (inLanguage(d.language)) add(d.value, d.language);
    for (const d of entry?.designations ?? []) if (d.language === undefined || inLanguage(d.language)) add(d.value, d.language);
    if (choices.length === 0) return undefined;
    const wanted = normalise(display);
    if (choices.some((c) => normalise(c.value) === wanted)) return undefined;
    const list = quoteList(choices.map((c) => `'${c.value}'${c.language ? ` (${c.language})` : ''}`));
    const valid = choices.length === 1 ? `Valid display is ${list}` : `Valid display is one of ${choices.length} choices: ${list}`;
    return `Wrong Display Name '${display}' for ${system}#${concept.code}. ${valid} (for the language(s) '${this.languageLabel}')`;
  }
}

/** FHIR's own format names, which R4 allows where a mime type is bound (CapabilityStatement.format: xml | json | ttl). */
const FHIR_FORMAT_CODES = new Set(['xml', 'json', 'ttl']);
const MIME_TYPES_VALUE_SET = 'http://hl7.org/fhir/ValueSet/mimetypes';

/** As the reference has it before R6: xml, json and ttl are codes of BCP-13 in the mime types value set. */
function isFhirFormatCode(system: string, code: string, exp: Expansion | undefined): boolean {
  return system === BCP13 && FHIR_FORMAT_CODES.has(code) && exp?.url === MIME_TYPES_VALUE_SET;
}

function normalise(s: string): string {
  return s.trim().replace(/\s+/g, ' ').toLowerCase();
}

function langMatch(wanted: string, language: string): boolean {
  const l = language.toLowerCase();
  return l === wanted || l.startsWith(`${wanted}-`) || wanted.startsWith(`${l}-`);
}

function notInValueSet(system: string, code: string, exp: Expansion): string {
  return `The provided code '${system}#${code}' was not found in the value set '${exp.reference}'`;
}

/** Code systems the reference knows under HL7's sid namespace without a definition (its SIDUtilities). */
const KNOWN_SIDS = new Set(
  ['ndc', 'icpc-2', 'icpc-1', 'icpc-1-nl', 'icd-9', 'icd-10', 'cvx', 'srt', 'icd-10-vn', 'icd-10-cm', 'icd-10-am', 'icd-9-cm', 'icf-nl', 'ca-hc-npn', 'ca-hc-din', 'dsm5', 'ex-icd-10-procedures']
    .map((name) => `http://hl7.org/fhir/sid/${name}`),
);
const WELL_KNOWN = ['http://snomed.info/sct', 'http://loinc.org', 'http://unitsofmeasure.org', 'http://www.nlm.nih.gov/research/umls/rxnorm'];

/**
 * A system URI that cannot be right, for a code system that is not loaded: the reference's checkCode and
 * checkCodedElement on codings no value set judges (a build or HTML page, an unknown system in HL7's namespace, a
 * well-known system with a suffix, a value set, https where the system is http).
 */
function wrongSystem(system: string, isValueSet: (url: string) => boolean, isCodeSystem: (url: string) => boolean): { messageId: string; message: string } | undefined {
  if (isValueSet(system)) return { messageId: 'TX_SYSTEM_IS_VALUESET', message: `The Coding references a value set, not a code system ('${system}')` };
  if (/^https?:\/\/build\.fhir\.org/.test(system)) {
    return {
      messageId: 'TX_SYSTEM_WRONG_BUILD',
      message: `The code system reference ${system} is wrong - the code system reference cannot be a reference to build.fhir.org. This may be the correct reference: ${system.replace(/^https?:\/\/build\.fhir\.org(\/ig\/[^/]+\/[^/]+)?/, 'http://hl7.org/fhir')}`,
    };
  }
  if (/^https?:\/\/(www\.)?hl7\.org\/fhir/.test(system) && !KNOWN_SIDS.has(system) && !system.startsWith('http://hl7.org/fhir/test')) {
    if (system.endsWith('.html')) {
      return {
        messageId: 'TX_SYSTEM_WRONG_HTML',
        message: `The code system reference ${system} is wrong - the code system reference cannot be to an HTML page. This may be the correct reference: ${system.slice(0, -5).replace(/\/codesystem-([^/]+)$/, '/$1')}`,
      };
    }
    return { messageId: 'TX_SYSTEM_UNKNOWN', message: `Unknown Code System '${system}'` };
  }
  if (WELL_KNOWN.some((known) => system !== known && system.startsWith(known))) return { messageId: 'TX_SYSTEM_INVALID', message: `Invalid System URI: ${system}` };
  if (system.startsWith('https:')) {
    const http = `http:${system.slice(6)}`;
    if (WELL_KNOWN.includes(http) || isCodeSystem(http)) return { messageId: 'TX_SYSTEM_HTTPS', message: `The system URL '${system}' wrongly starts with https: not http:` };
  }
  return undefined;
}

function warn(messageId: string, message: string, issueType: IssueType): TxMessage {
  return { severity: 'warning', messageId, message, issueType };
}

function info(messageId: string, message: string): TxMessage {
  return { severity: 'information', messageId, message, issueType: 'informational' };
}
