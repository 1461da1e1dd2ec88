/**
 * A QuestionnaireResponse against its Questionnaire, as the reference validator's QuestionnaireValidator checks it:
 * items by linkId (known, in place, in order, repeated only where they repeat), required items, text, answer types,
 * answer options and value sets, and enableWhen. Messages are the reference's, word for word, except where noted.
 * Written by hand: no JavaScript library checks a response against its questionnaire.
 *
 * Where the reference validator has a plain bug this follows the FHIR specification instead: a date answer is
 * compared with date options as text (the reference compares a Date with a String, which never matches), and an
 * open-choice item takes free text (older versions of the reference judged it as a choice item).
 * Issues sit at the data's own path: an item under an answer is `...answer[0].item[1]`, where the reference writes
 * `...item[1]`; reported at the reference's path, the issue could not be placed at its line.
 */
import type { Issue, IssueType, Severity } from './issues.js';

/** How a response is checked against its questionnaire (the reference's -questionnaire option). */
export const QUESTIONNAIRE_MODES = ['none', 'check', 'required'] as const;
export type QuestionnaireMode = (typeof QUESTIONNAIRE_MODES)[number];

/** An answer coding checked against a value set, as the terminology service judges it. */
export interface AnswerCodingCheck {
  status: 'valid' | 'not-in-valueset' | 'unknown-valueset' | 'not-checkable';
  /** The value set's title and url, for the message. */
  valueSet?: string;
  errorMessage?: string;
}

export interface QuestionnaireLookups {
  questionnaire(canonical: string): Json | undefined;
  codingInValueSet(coding: { system?: string; code?: string; display?: string }, valueSet: string): AnswerCodingCheck;
  /** A FHIRPath expression's items on the response (its focus and %resource); an Error when it cannot be evaluated. */
  evaluate(expression: string, response: Json): unknown[] | Error;
}

type Json = Record<string, unknown>;

interface Context {
  issues: Issue[];
  questionnaire: Json;
  /** Questions' answers are required only once the response is done; before, missing answers are warnings. */
  missingSeverity: Severity;
  lookups: QuestionnaireLookups;
  /** Every Questionnaire item by linkId (the first of a linkId), for misplaced items and enableWhen. */
  byLinkId: Map<string, Json>;
  /** Each item's ancestors in the questionnaire, for enableWhen's scope. */
  parents: Map<Json, Json | undefined>;
  containedValueSets: Map<string, Json>;
}

/** A questionnaire item and the response element (item or answer) it was met in, from the root down. */
interface Frame {
  qItem: Json;
  element: Json;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The answer types each item type takes (`value` + the name); `text` answers are strings, `url` ones uris. */
const ANSWER_TYPES: Record<string, readonly string[]> = {
  boolean: ['boolean'],
  decimal: ['decimal'],
  integer: ['integer'],
  date: ['date'],
  dateTime: ['dateTime'],
  time: ['time'],
  string: ['string'],
  text: ['string'],
  url: ['uri'],
  attachment: ['Attachment'],
  reference: ['Reference'],
  quantity: ['Quantity'],
  choice: ['Coding', 'date', 'time', 'integer', 'string'],
  'open-choice': ['Coding', 'date', 'time', 'integer', 'string'],
};

const ENABLE_WHEN_EXPRESSION = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression';

/** Checks a QuestionnaireResponse (at `path`) against the questionnaire it names. */
export function checkQuestionnaireResponse(qr: Json, path: string, lookups: QuestionnaireLookups, mode: QuestionnaireMode): Issue[] {
  const issues: Issue[] = [];
  if (mode === 'none') return issues;
  const add = (severity: Severity, code: IssueType, messageId: string, message: string) => issues.push({ severity, code, messageId, message, path });
  const canonical = text(qr.questionnaire);
  if (canonical === undefined || canonical === '') {
    add(mode === 'required' ? 'error' : 'information', 'required', 'Questionnaire_QR_Q_None', 'No questionnaire is identified, so no validation can be performed against the base questionnaire');
    return issues;
  }
  let questionnaire: Json | undefined;
  if (canonical.startsWith('#')) {
    const found = objects(qr.contained).find((c) => c.id === canonical.slice(1));
    if (found && found.resourceType !== 'Questionnaire') {
      add('error', 'invalid', 'REFERENCE_REF_WRONGTARGET_LOAD', `The type '${String(found.resourceType)}' is not a valid Target for the element ${canonical.slice(1)} (must be Questionnaire)`);
      return issues;
    }
    questionnaire = found;
  } else {
    questionnaire = lookups.questionnaire(canonical);
  }
  if (!questionnaire) {
    const severity: Severity = mode === 'required' ? 'error' : /^https?:\/\/example\.org/.test(canonical) ? 'information' : 'warning';
    add(severity, 'required', 'Questionnaire_QR_Q_NotFound', `The questionnaire '${canonical}' could not be resolved, so no validation can be performed against the base questionnaire`);
    return issues;
  }
  const byLinkId = new Map<string, Json>();
  const parents = new Map<Json, Json | undefined>();
  const index = (items: Json[], parent: Json | undefined) => {
    for (const item of items) {
      const linkId = text(item.linkId);
      if (linkId !== undefined && !byLinkId.has(linkId)) byLinkId.set(linkId, item);
      parents.set(item, parent);
      index(objects(item.item), item);
    }
  };
  index(objects(questionnaire.item), undefined);
  const containedValueSets = new Map<string, Json>();
  for (const c of objects(qr.contained)) if (c.resourceType === 'ValueSet' && typeof c.id === 'string') containedValueSets.set(c.id, c);
  const status = text(qr.status);
  const context: Context = {
    issues,
    questionnaire,
    missingSeverity: status === 'completed' || status === 'amended' ? 'error' : 'warning',
    lookups,
    byLinkId,
    parents,
    containedValueSets,
  };
  checkItems(context, objects(questionnaire.item), qr, path, [], qr);
  return issues;
}

function issue(context: Context, severity: Severity, code: IssueType, messageId: string, message: string, path: string): void {
  context.issues.push({ severity, code, messageId, message, path });
}

/** The response items under `element` (the response, a group item or an answer) against the questionnaire's `qItems`. */
function checkItems(context: Context, qItems: Json[], element: Json, path: string, stack: readonly Frame[], qr: Json): void {
  const met = new Map<string, { item: Json; path: string }[]>();
  let lastIndex = -1;
  objects(element.item).forEach((item, k) => {
    const itemPath = `${path}.item[${k}]`;
    const linkId = text(item.linkId);
    if (linkId === undefined || linkId === '') {
      issue(context, 'error', 'required', 'Questionnaire_QR_Item_NoLinkId', "No LinkId, so can't be validated", path);
      return;
    }
    const index = qItems.findIndex((q) => q.linkId === linkId);
    if (index < 0) {
      const elsewhere = context.byLinkId.get(linkId);
      if (elsewhere) {
        issue(context, 'error', 'structure', 'Questionnaire_QR_Item_WrongPlace', `Structural Error: item with linkid ${linkId} is in the wrong place`, path);
        checkItem(context, elsewhere, item, itemPath, stack, qr);
      } else {
        issue(context, 'error', 'not-found', 'Questionnaire_QR_Item_NotFound', `LinkId '${linkId}' not found in questionnaire`, path);
      }
      return;
    }
    if (index < lastIndex) issue(context, 'error', 'structure', 'Questionnaire_QR_Item_Order', 'Structural Error: items are out of order', path);
    lastIndex = index;
    const list = met.get(linkId);
    if (list) list.push({ item, path: itemPath });
    else met.set(linkId, [{ item, path: itemPath }]);
  });
  for (const qItem of qItems) {
    const linkId = text(qItem.linkId);
    const occurrences = linkId === undefined ? undefined : met.get(linkId);
    const enabled = isEnabled(context, qItem, stack, qr);
    if (!occurrences) {
      if (enabled && qItem.required === true) {
        issue(context, context.missingSeverity, 'required', 'Questionnaire_QR_Item_Missing', `No response answer found for required item '${linkId}'`, path);
      }
      continue;
    }
    if (!enabled) {
      for (const o of occurrences) {
        if (o.item.answer !== undefined || o.item.item !== undefined) {
          issue(context, 'error', 'invalid', 'Questionnaire_QR_Item_NotEnabled2', `Item has answer, even though it is not enabled (item id = '${linkId}')`, o.path);
        }
      }
    }
    if (occurrences.length > 1 && qItem.repeats !== true) {
      issue(context, 'error', 'invalid', 'Questionnaire_QR_Item_OnlyOneI', `Only one response item with the linkId ${linkId} allowed - found ${occurrences.length} items`, path);
    }
    for (const o of occurrences) checkItem(context, qItem, o.item, o.path, stack, qr);
  }
}

/** One response item against its questionnaire item. */
function checkItem(context: Context, qItem: Json, item: Json, path: string, stack: readonly Frame[], qr: Json): void {
  const linkId = String(qItem.linkId);
  const itemText = text(item.text);
  if (itemText !== undefined && itemText !== '' && itemText !== qItem.text) {
    issue(context, 'error', 'invalid', 'Questionnaire_QR_Item_Text', `If text exists, it must match the questionnaire definition for linkId ${linkId}`, path);
  }
  const type = text(qItem.type);
  const answers = objects(item.answer);
  const inner = [...stack, { qItem, element: item }];
  if (answers.length === 0 && qItem.required === true && type !== 'group' && type !== 'display') {
    if (context.missingSeverity === 'warning') {
      issue(context, 'warning', 'required', 'Questionnaire_QR_Item_Missing', `No response answer found for required item '${linkId}'`, path);
    } else if (isEnabled(context, qItem, stack, qr)) {
      issue(context, 'error', 'required', 'Questionnaire_QR_Item_Missing', `No response answer found for required item '${linkId}'`, path);
    }
  }
  if (answers.length > 1 && qItem.repeats !== true) {
    issue(context, 'error', 'invalid', 'Questionnaire_QR_Item_OnlyOneA', 'Only one response answer item with this linkId allowed', path);
  }
  if (type === undefined) {
    issue(context, 'fatal', 'required', 'Questionnaire_QR_Item_NoType', `Definition for item ${linkId} does not contain a type`, path);
    return;
  }
  answers.forEach((answer, j) => {
    const answerPath = `${path}.answer[${j}]`;
    if (type === 'group') {
      issue(context, 'error', 'structure', 'Questionnaire_QR_Item_Group', 'Items of type group should not have answers', path);
      return;
    }
    if (type === 'display') {
      // The reference's newer versions; its message text is not published with the ones fhirdq follows.
      issue(context, 'error', 'structure', 'Questionnaire_QR_Item_Display_No_Value', 'Items of type display should not have answers', path);
      return;
    }
    checkAnswer(context, qItem, type, answer, answerPath);
    checkItems(context, objects(qItem.item), answer, answerPath, [...stack, { qItem, element: answer }], qr);
  });
  if (type === 'group') checkItems(context, objects(qItem.item), item, path, inner, qr);
  else if (item.item !== undefined) {
    if (type === 'display') issue(context, 'error', 'structure', 'Questionnaire_QR_Item_Display', `Items not of type DISPLAY should not have items - linkId ${linkId}`, path);
    else issue(context, 'error', 'structure', 'Questionnaire_QR_Item_GroupAnswer', 'Items not of type group should not have items outside answers (use answer.item not .item)', path);
  }
}

/** The answer's value[x]: its type's name (`Coding`, `string`) and value; undefined when it has none. */
function answerValue(answer: Json): { type: string; key: string; value: unknown } | undefined {
  for (const key in answer) {
    if (key.startsWith('value') && key.length > 5) {
      const type = key.slice(5);
      return { type: PRIMITIVE_NAMES.has(type) ? type[0]!.toLowerCase() + type.slice(1) : type, key, value: answer[key] };
    }
  }
  return undefined;
}

const PRIMITIVE_NAMES = new Set(['Boolean', 'Decimal', 'Integer', 'Date', 'DateTime', 'Time', 'String', 'Uri']);

function checkAnswer(context: Context, qItem: Json, type: string, answer: Json, path: string): void {
  const allowed = ANSWER_TYPES[type];
  const found = answerValue(answer);
  if (!allowed || !found) return;
  const valuePath = `${path}.${found.key}`;
  if (!allowed.includes(found.type)) {
    const message = allowed.length === 1 ? `Answer value must be of the type ${allowed[0]}` : `Answer value must be one of the ${allowed.length} types ${allowed.join(', ')}`;
    issue(context, 'error', 'structure', 'Questionnaire_QR_Item_WrongType', message, valuePath);
    return;
  }
  if (type !== 'choice' && type !== 'open-choice') return;
  if (found.type === 'Coding') checkCodingAnswer(context, qItem, found.value, valuePath);
  // An open-choice item takes any text besides its options.
  else if (!(type === 'open-choice' && found.type === 'string')) checkOptionAnswer(context, qItem, found.type, found.value, valuePath);
}

const OPTION_KEYS: Record<string, string> = { integer: 'valueInteger', date: 'valueDate', time: 'valueTime', string: 'valueString' };
const OPTION_WORDS: Record<string, string> = { integer: 'Int', date: 'Date', time: 'Time', string: 'String' };

/** An integer, date, time or string answer among the item's options of its type. */
function checkOptionAnswer(context: Context, qItem: Json, type: string, value: unknown, path: string): void {
  const options = objects(qItem.answerOption);
  const word = OPTION_WORDS[type]!;
  const capitalised = type[0]!.toUpperCase() + type.slice(1);
  if (options.length === 0) {
    issue(context, 'information', 'structure', `Questionnaire_QR_Item_${word}NoOptions`, `Cannot validate ${type} answer option because no option list is provided`, path);
    return;
  }
  const key = OPTION_KEYS[type]!;
  const values = options.map((o) => o[key]).filter((v) => v !== undefined);
  if (values.length === 0) {
    issue(context, 'error', 'structure', `Questionnaire_QR_Item_NoOptions${capitalised}`, `Option list has no option values of type ${type}`, path);
    return;
  }
  if (!values.some((v) => v === value)) {
    issue(context, 'error', 'structure', `Questionnaire_QR_Item_No${capitalised}`, `The ${type} ${String(value)} is not a valid option`, path);
  }
}

/** A Coding answer among the item's Coding options (system and code), else in its answer value set. */
function checkCodingAnswer(context: Context, qItem: Json, value: unknown, path: string): void {
  if (!isObject(value)) return;
  const system = text(value.system);
  const code = text(value.code);
  if (Array.isArray(qItem.answerOption) && qItem.answerOption.length > 0) {
    const codings = objects(qItem.answerOption)
      .map((o) => o.valueCoding)
      .filter(isObject);
    if (codings.length === 0) {
      issue(context, 'error', 'structure', 'Questionnaire_QR_Item_NoOptionsCoding', 'Option list has no option values of type coding', path);
    } else if (!codings.some((c) => text(c.system) === system && text(c.code) === code)) {
      issue(context, 'error', 'structure', 'Questionnaire_QR_Item_NoCoding', `The code ${system ?? 'null'}::${code ?? 'null'} is not a valid option`, path);
    }
    return;
  }
  const valueSet = text(qItem.answerValueSet);
  if (valueSet === undefined) {
    issue(context, 'information', 'structure', 'Questionnaire_QR_Item_NoOptions', 'Cannot validate options because no option or options are provided', path);
    return;
  }
  // A `#vs` names a ValueSet contained in the response (beside a contained questionnaire) or in the questionnaire.
  const local = valueSet.startsWith('#')
    ? (context.containedValueSets.get(valueSet.slice(1)) ?? objects(context.questionnaire.contained).find((c) => c.id === valueSet.slice(1) && c.resourceType === 'ValueSet'))
    : undefined;
  const check = local ? inContainedValueSet(local, { system, code }, context.lookups) : context.lookups.codingInValueSet({ system, code, display: text(value.display) }, valueSet);
  if (check.status === 'unknown-valueset') {
    issue(context, 'warning', 'code-invalid', 'Terminology_TX_ValueSet_NotFound', `ValueSet '${valueSet}' not found`, path);
  } else if (check.status === 'not-in-valueset') {
    issue(
      context,
      'error',
      'structure',
      'Questionnaire_QR_Item_BadOption',
      `The code '${code ?? ''}' in the system '${system ?? ''}' is not in the options value set (${check.valueSet ?? valueSet}) specified by the questionnaire. Terminology Error: ${check.errorMessage ?? `The provided code '${system ?? ''}#${code ?? ''}' was not found in the value set ${check.valueSet ?? valueSet}`}`,
      path,
    );
  } else if (check.status === 'not-checkable') {
    issue(
      context,
      'warning',
      'structure',
      'QUESTIONNAIRE_QR_ITEM_BADOPTION_CS',
      `The code provided ${code ?? ''} cannot be validated in the options value set (${check.valueSet ?? valueSet}) in the questionnaire because the system ${system ?? ''} could not be found`,
      path,
    );
  }
}

/**
 * A coding in a ValueSet contained in the response or its questionnaire, which the terminology service cannot look up
 * by url: by its expansion, or by its includes (listed codes, or whole code systems the service knows).
 */
function inContainedValueSet(vs: Json, coding: { system?: string; code?: string }, lookups: QuestionnaireLookups): AnswerCodingCheck {
  const valueSet = `'${text(vs.title) ?? text(vs.name) ?? text(vs.id) ?? ''}'`;
  const includes = isObject(vs.compose) ? objects(vs.compose.include) : [];
  let undecided = includes.length === 0;
  for (const include of includes) {
    if (include.valueSet !== undefined || include.filter !== undefined || typeof include.system !== 'string') undecided = true;
    else if (include.system !== coding.system) continue;
    else if (include.concept !== undefined) {
      if (objects(include.concept).some((c) => c.code === coding.code)) return { status: 'valid', valueSet };
    } else {
      const whole = lookups.codingInValueSet(coding, `${include.system}?fhir_vs`).status;
      if (whole === 'valid') return { status: 'valid', valueSet };
      if (whole !== 'not-in-valueset') undecided = true;
    }
  }
  if (!undecided) return { status: 'not-in-valueset', valueSet };
  // The definition decides where it can; an expansion shipped with the value set only where it cannot.
  const expansion = isObject(vs.expansion) ? objects(vs.expansion.contains) : undefined;
  if (expansion) return { status: containsCoding(expansion, coding) ? 'valid' : 'not-in-valueset', valueSet };
  return { status: 'not-checkable', valueSet };
}

function containsCoding(contains: Json[], coding: { system?: string; code?: string }): boolean {
  return contains.some((c) => (c.system === coding.system && c.code === coding.code) || containsCoding(objects(c.contains), coding));
}

/**
 * Whether a questionnaire item is enabled, given the answers met so far. An SDC enableWhenExpression decides first,
 * evaluated on the response (as the reference does; one that cannot be evaluated leaves the item enabled). Else one
 * condition, or `any`: one holds; `all`: all hold; several with no enableBehavior: enabled (as the reference decides).
 */
function isEnabled(context: Context, qItem: Json, stack: readonly Frame[], qr: Json): boolean {
  const expression = objects(qItem.extension).find((e) => e.url === ENABLE_WHEN_EXPRESSION)?.valueExpression;
  if (isObject(expression) && typeof expression.expression === 'string') {
    const result = context.lookups.evaluate(expression.expression, qr);
    // FHIRPath's boolean of a collection: empty is false, one boolean is itself, anything else true.
    return result instanceof Error || (result.length === 1 && typeof result[0] === 'boolean' ? result[0] : result.length > 0);
  }
  const conditions = objects(qItem.enableWhen);
  if (conditions.length === 0) return true;
  const results = conditions.map((c) => conditionHolds(context, qItem, c, stack, qr));
  const behavior = qItem.enableBehavior;
  if (behavior === 'any' || results.length === 1) return results.includes(true);
  if (behavior === 'all') return results.every((r) => r);
  return true;
}

function conditionHolds(context: Context, source: Json, condition: Json, stack: readonly Frame[], qr: Json): boolean {
  const question = text(condition.question);
  const target = question === undefined ? undefined : context.byLinkId.get(question);
  if (!target) return false;
  // Answers are looked for under the innermost response element of the questions' closest common group.
  const ancestors = new Set<Json>();
  for (let q = context.parents.get(source); q; q = context.parents.get(q)) ancestors.add(q);
  let scope: Json = qr;
  for (let q = context.parents.get(target); q; q = context.parents.get(q)) {
    if (!ancestors.has(q)) continue;
    const frame = [...stack].reverse().find((f) => f.qItem === q);
    if (frame) scope = frame.element;
    break;
  }
  const answers: Json[] = [];
  collectAnswers(scope, question!, answers);
  const operator = condition.operator;
  if (operator === 'exists') return (condition.answerBoolean === true) === answers.length > 0;
  const expected = answerValueOf(condition, 'answer');
  if (!expected) return false;
  return answers.some((a) => {
    const actual = answerValueOf(a, 'value');
    return actual !== undefined && actual.type === expected.type && compares(actual.type, actual.value, expected.value, operator);
  });
}

/** The answers of every item with this linkId at or under `element`, through items and answers' items. */
function collectAnswers(element: Json, linkId: string, out: Json[]): void {
  if (element.linkId === linkId) out.push(...objects(element.answer));
  for (const item of objects(element.item)) collectAnswers(item, linkId, out);
  for (const answer of objects(element.answer)) for (const item of objects(answer.item)) collectAnswers(item, linkId, out);
}

function answerValueOf(element: Json, prefix: 'answer' | 'value'): { type: string; value: unknown } | undefined {
  for (const key in element) if (key.startsWith(prefix) && key.length > prefix.length) return { type: key.slice(prefix.length), value: element[key] };
  return undefined;
}

function compares(type: string, actual: unknown, expected: unknown, operator: unknown): boolean {
  if (type === 'Coding') {
    if (!isObject(actual) || !isObject(expected)) return false;
    const same = (expected.system === undefined || expected.system === actual.system) && expected.code === actual.code;
    return operator === '=' ? same : operator === '!=' ? !same : false;
  }
  const a = type === 'Quantity' ? (isObject(actual) ? actual.value : undefined) : type === 'Reference' ? (isObject(actual) ? actual.reference : undefined) : actual;
  const e = type === 'Quantity' ? (isObject(expected) ? expected.value : undefined) : type === 'Reference' ? (isObject(expected) ? expected.reference : undefined) : expected;
  if (a === undefined || e === undefined || typeof a !== typeof e) return false;
  const order = (a as number | string | boolean) < (e as number | string | boolean) ? -1 : a === e ? 0 : 1;
  switch (operator) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '>':
      return order > 0;
    case '<':
      return order < 0;
    case '>=':
      return order >= 0;
    case '<=':
      return order <= 0;
    default:
      return false;
  }
}
