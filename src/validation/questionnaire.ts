/**
 * A Questionnaire's own rules beyond its profile's invariants, as the reference validator's QuestionnaireValidator
 * checks them: each enableWhen names an earlier question that is neither the item itself nor inside it; and a
 * questionnaire derived from another (derivedFrom, with the questionnaire-derivationType extension) that extends or
 * complies with it keeps its items' types, repeats, required, maxLength and answer options.
 * Messages are the reference's, word for word. Written by hand: no library checks these.
 *
 * Where the reference has plain bugs this follows their evident intent: an item's definition is compared with the
 * base's (the reference compares it with "true"), and maxLength is read as `maxLength` (it read `maxlength`).
 */
import type { Issue, IssueType, Severity } from './issues.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

const DERIVATION_TYPE = 'http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType';
const DERIVATION_SYSTEM = 'http://hl7.org/fhir/questionnaire-derivationType';

/** A questionnaire this one derives from, and how: `extends` (may add items) or `compliesWith` (only its items). */
interface Derivation {
  base: Json;
  url: string;
  complies: boolean;
}

/** Checks a Questionnaire (at `path`): its derivations, then each item's enableWhen conditions and derivation. */
export function checkQuestionnaire(questionnaire: Json, path: string, findQuestionnaire: (url: string) => Json | undefined): Issue[] {
  const issues: Issue[] = [];
  const derivations = derivationsOf(questionnaire, path, findQuestionnaire, issues);
  // Items in document order (an item before its children): an enableWhen may name only a question before it.
  const order = new Map<Json, number>();
  const byLinkId = new Map<string, Json>();
  const number = (items: Json[]) => {
    for (const item of items) {
      order.set(item, order.size);
      if (typeof item.linkId === 'string' && !byLinkId.has(item.linkId)) byLinkId.set(item.linkId, item);
      number(objects(item.item));
    }
  };
  number(objects(questionnaire.item));
  const walk = (items: Json[], at: string) =>
    items.forEach((item, i) => {
      const itemPath = `${at}.item[${i}]`;
      for (const condition of objects(item.enableWhen)) checkEnableWhen(item, condition, itemPath, byLinkId, order, issues);
      for (const derivation of derivations) checkDerivedItem(item, derivation, itemPath, issues);
      walk(objects(item.item), itemPath);
    });
  walk(objects(questionnaire.item), path);
  return issues;
}

function checkEnableWhen(item: Json, condition: Json, path: string, byLinkId: Map<string, Json>, order: Map<Json, number>, issues: Issue[]): void {
  const add = (severity: Issue['severity'], messageId: string, message: string) => issues.push({ severity, code: 'business-rule', messageId, message, path });
  const question = condition.question;
  if (typeof question !== 'string') {
    add('error', 'Questionnaire_Q_EnableWhen_NoLink', 'Questions with an enableWhen must have a value for the question link');
    return;
  }
  if (within(objects(item.item), question)) {
    add('error', 'Questionnaire_Q_EnableWhen_IsInner', "Questions with an enableWhen cannot refer to an inner question for it's enableWhen condition");
    return;
  }
  const target = byLinkId.get(question);
  if (!target) {
    add('error', 'Questionnaire_Q_EnableWhen_NoTarget', `Unable to find an item with the linkId '${question}' which is referenced in the enableWhen for '${String(item.linkId ?? null)}'`);
  } else if (target === item) {
    add('error', 'Questionnaire_Q_EnableWhen_Self', "Target for this question enableWhen can't reference itself");
  } else if (order.get(target)! > order.get(item)!) {
    add('warning', 'Questionnaire_Q_EnableWhen_After', `The target of this enableWhen rule (${question}) comes after the question itself`);
  }
}

/** Whether an item with this linkId is among `items` or below them. */
function within(items: Json[], linkId: string): boolean {
  return items.some((i) => i.linkId === linkId || within(objects(i.item), linkId));
}

/** The derivations to check, reporting those that cannot be: base not found, no or an unknown derivation type. */
function derivationsOf(questionnaire: Json, path: string, findQuestionnaire: (url: string) => Json | undefined, issues: Issue[]): Derivation[] {
  const derivations: Derivation[] = [];
  const companions = Array.isArray(questionnaire._derivedFrom) ? questionnaire._derivedFrom : [];
  (Array.isArray(questionnaire.derivedFrom) ? questionnaire.derivedFrom : []).forEach((url: unknown, i) => {
    if (typeof url !== 'string') return;
    const at = `${path}.derivedFrom[${i}]`;
    const add = (severity: Severity, messageId: string, message: string, where = at) => issues.push({ severity, code: 'business-rule', messageId, message, path: where });
    const base = findQuestionnaire(url);
    if (!base) {
      // The reference's text ends with a space.
      add('warning', 'QUESTIONNAIRE_Q_UNKNOWN_DERIVATION', `The questionnaire '${url}' referred to in the derivation could not be found `);
      return;
    }
    const extensions = isObject(companions[i]) ? objects((companions[i] as Json).extension) : [];
    const k = extensions.findIndex((e) => e.url === DERIVATION_TYPE);
    if (k < 0) {
      add('warning', 'QUESTIONNAIRE_Q_NO_DERIVATION_TYPE', `The questionnaire '${url}' has no derivation type specified using the '${DERIVATION_TYPE}' extension, so derivation has not been checked`);
      return;
    }
    const valueKey = Object.keys(extensions[k]!).find((key) => key.startsWith('value'));
    if (valueKey === undefined) {
      add('warning', 'QUESTIONNAIRE_Q_NO_DERIVATION_TYPE_VALUE', 'The derivation extension has no value', `${at}.extension[${k}]`);
      return;
    }
    const value = extensions[k]![valueKey];
    const system = isObject(value) && typeof value.system === 'string' ? value.system : null;
    const code = isObject(value) && typeof value.code === 'string' ? value.code : null;
    const valuePath = `${at}.extension[${k}].${valueKey}`;
    if (system === DERIVATION_SYSTEM && (code === 'extends' || code === 'compliesWith')) derivations.push({ base, url: typeof base.url === 'string' ? base.url : url, complies: code === 'compliesWith' });
    else if (system === DERIVATION_SYSTEM && code === 'inspiredBy') {
      add('information', 'QUESTIONNAIRE_Q_DERIVATION_TYPE_IGNORED', `The derivation type '${system}#${code}' means that no derivation checking has been performed against this questionnaire`, valuePath);
    } else {
      add('warning', 'QUESTIONNAIRE_Q_DERIVATION_TYPE_UNKNOWN', `The derivation type '${system}#${code}' is unknown, which means that no derivation checking has been performed against this questionnaire`, valuePath);
    }
  });
  return derivations;
}

/** The first item with this linkId, in document order. */
function findItem(items: Json[], linkId: unknown): Json | undefined {
  for (const item of items) {
    if (item.linkId === linkId) return item;
    const inner = findItem(objects(item.item), linkId);
    if (inner) return inner;
  }
  return undefined;
}

/** An item against its namesake in the questionnaire it derives from. */
function checkDerivedItem(item: Json, { base, url, complies }: Derivation, path: string, issues: Issue[]): void {
  const linkId = String(item.linkId ?? null);
  const add = (severity: Severity, messageId: string, message: string, where = path, code: IssueType = 'business-rule') => issues.push({ severity, code, messageId, message, path: where });
  const baseItem = typeof item.linkId === 'string' ? findItem(objects(base.item), item.linkId) : undefined;
  const theItem = `The item with linkId '${linkId}' found in questionnaire '${url}'`;
  if (!baseItem) {
    if (complies) add('error', 'QUESTIONNAIRE_Q_ITEM_NOT_DERIVED', `No item with linkId '${linkId}' found in questionnaire '${url}'`, path, 'not-found');
    return;
  }
  if (typeof baseItem.type === 'string' && typeof item.type === 'string' && baseItem.type !== item.type) {
    // The reference names the base's type as R5 does: choice and open-choice are both `coding` there.
    const baseType = baseItem.type === 'choice' || baseItem.type === 'open-choice' ? 'coding' : baseItem.type;
    add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_NC_TYPE', `${theItem} has the type '${baseType}', and this cannot change to '${item.type}'`, `${path}.type`);
  }
  if (baseItem.repeats !== true && item.repeats === true) {
    add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_NC_REPEATS', `${theItem} does not repeat, so it cannot repeat here`, `${path}.repeats`);
  }
  if (baseItem.required === true && item.required !== undefined && item.required !== true) {
    add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_NC_REQUIRED', `${theItem} is required, so it must be required here`, `${path}.required`);
  }
  if (typeof baseItem.definition === 'string') {
    if (item.definition === undefined) add('information', 'QUESTIONNAIRE_Q_ITEM_DERIVED_DEFINITION', `${theItem} has the definition '${baseItem.definition}', so this should be repeated here`);
    else if (item.definition !== baseItem.definition) {
      add('information', 'QUESTIONNAIRE_Q_ITEM_DERIVED_NC_DEFINITION', `${theItem} has the definition '${baseItem.definition}'. Is it intended to change this?`, `${path}.definition`);
    }
  }
  if (typeof baseItem.maxLength === 'number') {
    const maxLength = baseItem.maxLength.toLocaleString('en-US');
    if (item.maxLength === undefined) add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_MAXLENGTH', `${theItem} has the definition '${maxLength}', so this item must also have a max length`);
    else if (typeof item.maxLength === 'number' && item.maxLength > baseItem.maxLength) {
      add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_NC_MAXLENGTH', `${theItem} has the maxLength of '${maxLength}', so the max length cannot be greater than that`, `${path}.maxLength`);
    }
  }
  const answerTypes = (from: string, to: string) =>
    add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_NC_ANSWER_TYPE', `${theItem} has answer${from}, while this has answer${to}. This might be valid, but the vaidator can't check that (yet?)`);
  const baseOptions = objects(baseItem.answerOption);
  if (baseOptions.length > 0) {
    if (item.answerValueSet !== undefined) answerTypes('Option', 'ValueSet');
    else if (item.answerOption === undefined) add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_ANSWER_OPTIONS', `${theItem} has answerOptions, so this item must have some too`);
    else {
      objects(item.answerOption).forEach((option, k) => {
        const value = optionValue(option);
        if (value && !baseOptions.some((b) => sameOption(optionValue(b), value))) {
          add('error', 'QUESTIONNAIRE_Q_ITEM_DERIVED_ANSWER_OPTIONS_NEW', `${theItem} does not have this answerOption, so it is not valid`, `${path}.answerOption[${k}]`);
        }
      });
    }
  }
  if (baseItem.answerValueSet !== undefined && item.answerOption !== undefined) answerTypes('ValueSet', 'Option');
}

function optionValue(option: Json): { type: string; value: unknown } | undefined {
  for (const key in option) if (key.startsWith('value')) return { type: key.slice(5), value: option[key] };
  return undefined;
}

/** Options match by type and value; Codings by system and code (both needed), References by reference. */
function sameOption(a: { type: string; value: unknown } | undefined, b: { type: string; value: unknown }): boolean {
  if (!a || a.type !== b.type) return false;
  if (b.type === 'Coding') {
    const x = a.value as Json;
    const y = b.value as Json;
    return isObject(x) && isObject(y) && x.system !== undefined && x.code !== undefined && x.system === y.system && x.code === y.code;
  }
  if (b.type === 'Reference') return isObject(a.value) && isObject(b.value) && a.value.reference !== undefined && a.value.reference === b.value.reference;
  return a.value === b.value;
}
