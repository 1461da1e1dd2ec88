import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidator, type Issue } from '../../src/index.js';
import { useValidator } from './helpers.js';

type Json = Record<string, unknown>;

const Q = 'http://fhirdq.test/Questionnaire/intake';
const YES_NO = 'http://fhirdq.test/CodeSystem/yes-no';

const questionnaire: Json = {
  resourceType: 'Questionnaire',
  url: Q,
  version: '1.0.0',
  name: 'Intake',
  status: 'active',
  item: [
    { linkId: 'name', text: 'Name', type: 'string', required: true },
    {
      linkId: 'smokes',
      text: 'Smokes?',
      type: 'choice',
      required: true,
      answerOption: [{ valueCoding: { system: YES_NO, code: 'y' } }, { valueCoding: { system: YES_NO, code: 'n' } }],
    },
    { linkId: 'packs', text: 'Packs a day', type: 'integer', required: true, enableWhen: [{ question: 'smokes', operator: '=', answerCoding: { system: YES_NO, code: 'y' } }] },
    {
      linkId: 'cigars',
      type: 'integer',
      extension: [
        {
          url: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression',
          valueExpression: { language: 'text/fhirpath', expression: "%resource.item.where(linkId = 'smokes').answer.value.code = 'y'" },
        },
      ],
    },
    { linkId: 'weight', type: 'quantity' },
    { linkId: 'drink', type: 'open-choice', answerOption: [{ valueString: 'water' }, { valueString: 'tea' }] },
    { linkId: 'visit', type: 'choice', answerOption: [{ valueDate: '2024-01-02' }] },
    { linkId: 'feeling', type: 'choice', answerValueSet: 'http://fhirdq.test/ValueSet/feelings' },
    {
      linkId: 'contact',
      type: 'group',
      repeats: true,
      item: [
        { linkId: 'phone', type: 'string', required: true },
        { linkId: 'note', type: 'display', text: 'Say how to reach you' },
      ],
    },
  ],
};

const feelings: Json = {
  resourceType: 'ValueSet',
  url: 'http://fhirdq.test/ValueSet/feelings',
  name: 'Feelings',
  status: 'active',
  compose: { include: [{ system: 'http://fhirdq.test/CodeSystem/feelings' }] },
};
const feelingCodes: Json = {
  resourceType: 'CodeSystem',
  url: 'http://fhirdq.test/CodeSystem/feelings',
  name: 'Feelings',
  status: 'active',
  content: 'complete',
  concept: [{ code: 'good' }, { code: 'bad' }],
};
const yesNo: Json = { resourceType: 'CodeSystem', url: YES_NO, name: 'YesNo', status: 'active', content: 'complete', concept: [{ code: 'y' }, { code: 'n' }] };

const narrative = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Intake</div>' };

/** A complete, valid response; tests change one thing in a copy. */
function response(items: Json[], extra: Json = {}): Json {
  return { resourceType: 'QuestionnaireResponse', id: 'r', text: narrative, questionnaire: `${Q}|1.0.0`, status: 'completed', item: items, ...extra };
}
const name = { linkId: 'name', text: 'Name', answer: [{ valueString: 'Jan' }] };
const smokesNo = { linkId: 'smokes', answer: [{ valueCoding: { system: YES_NO, code: 'n' } }] };
const smokesYes = { linkId: 'smokes', answer: [{ valueCoding: { system: YES_NO, code: 'y' } }] };

const questionnaireIssues = (issues: Issue[]) =>
  issues.filter((i) => i.messageId.startsWith('Questionnaire_') || i.messageId.startsWith('QUESTIONNAIRE_') || i.messageId === 'Terminology_TX_ValueSet_NotFound').map((i) => `${i.severity}|${i.path}|${i.message}`);

describe('a QuestionnaireResponse against its Questionnaire', () => {
  const validator = useValidator([questionnaire, feelings, feelingCodes, yesNo]);
  const check = (qr: Json) => questionnaireIssues(validator().validateToIssues(qr as never));

  it('a response that answers as the questionnaire asks has no issue', () => {
    expect(check(response([name, smokesNo, { linkId: 'drink', answer: [{ valueString: 'lemonade' }] }, { linkId: 'visit', answer: [{ valueDate: '2024-01-02' }] }]))).toEqual([]);
    expect(check(response([name, smokesYes, { linkId: 'packs', answer: [{ valueInteger: 2 }] }, { linkId: 'feeling', answer: [{ valueCoding: { system: 'http://fhirdq.test/CodeSystem/feelings', code: 'good' } }] }]))).toEqual([]);
  });

  it('required items: an error once completed, a warning while in progress; a disabled one is not required', () => {
    expect(check(response([smokesYes]))).toEqual([
      "error|QuestionnaireResponse|No response answer found for required item 'name'",
      "error|QuestionnaireResponse|No response answer found for required item 'packs'",
    ]);
    expect(check(response([smokesYes], { status: 'in-progress' }))).toEqual([
      "warning|QuestionnaireResponse|No response answer found for required item 'name'",
      "warning|QuestionnaireResponse|No response answer found for required item 'packs'",
    ]);
    // An item present without an answer is missing at its own place.
    expect(check(response([{ linkId: 'name' }, smokesNo]))).toEqual(["error|QuestionnaireResponse.item[0]|No response answer found for required item 'name'"]);
  });

  it('an answer to a question its enableWhen disables', () => {
    expect(check(response([name, smokesNo, { linkId: 'packs', answer: [{ valueInteger: 3 }] }]))).toEqual([
      "error|QuestionnaireResponse.item[2]|Item has answer, even though it is not enabled (item id = 'packs')",
    ]);
  });

  it('an SDC enableWhenExpression, evaluated on the response', () => {
    const cigars = { linkId: 'cigars', answer: [{ valueInteger: 1 }] };
    expect(check(response([name, smokesYes, { linkId: 'packs', answer: [{ valueInteger: 2 }] }, cigars]))).toEqual([]);
    expect(check(response([name, smokesNo, cigars]))).toEqual(["error|QuestionnaireResponse.item[2]|Item has answer, even though it is not enabled (item id = 'cigars')"]);
  });

  it('unknown, misplaced, out-of-order and repeated items', () => {
    expect(
      check(
        response([
          smokesNo,
          name,
          { linkId: 'age', answer: [{ valueInteger: 40 }] },
          { linkId: 'phone', answer: [{ valueString: '06' }] },
          { linkId: 'weight', answer: [{ valueQuantity: { value: 70 } }] },
          { linkId: 'weight', answer: [{ valueQuantity: { value: 71 } }] },
          { answer: [{ valueString: 'x' }] },
        ]),
      ),
    ).toEqual([
      'error|QuestionnaireResponse|Structural Error: items are out of order',
      "error|QuestionnaireResponse|LinkId 'age' not found in questionnaire",
      'error|QuestionnaireResponse|Structural Error: item with linkid phone is in the wrong place',
      "error|QuestionnaireResponse|No LinkId, so can't be validated",
      'error|QuestionnaireResponse|Only one response item with the linkId weight allowed - found 2 items',
    ]);
  });

  it('answer types, options and value sets', () => {
    expect(
      check(
        response([
          { linkId: 'name', text: 'Naam', answer: [{ valueString: 'Jan' }, { valueString: 'Piet' }] },
          { linkId: 'smokes', answer: [{ valueCoding: { system: YES_NO, code: 'sometimes' } }] },
          { linkId: 'weight', answer: [{ valueString: '70 kg' }] },
          { linkId: 'visit', answer: [{ valueDate: '2024-03-04' }] },
          { linkId: 'feeling', answer: [{ valueCoding: { system: 'http://fhirdq.test/CodeSystem/feelings', code: 'sad' } }] },
        ]),
      ),
    ).toEqual([
      'error|QuestionnaireResponse.item[0]|If text exists, it must match the questionnaire definition for linkId name',
      'error|QuestionnaireResponse.item[0]|Only one response answer item with this linkId allowed',
      `error|QuestionnaireResponse.item[1].answer[0].valueCoding|The code ${YES_NO}::sometimes is not a valid option`,
      'error|QuestionnaireResponse.item[2].answer[0].valueString|Answer value must be of the type Quantity',
      'error|QuestionnaireResponse.item[3].answer[0].valueDate|The date 2024-03-04 is not a valid option',
      expect.stringMatching(/^error\|QuestionnaireResponse\.item\[4\]\.answer\[0\]\.valueCoding\|The code 'sad' in the system 'http:\/\/fhirdq\.test\/CodeSystem\/feelings' is not in the options value set \(.*Feelings.*\) specified by the questionnaire/),
    ]);
  });

  it('a value set contained in the questionnaire: its listed codes, else its expansion', () => {
    const listed = { resourceType: 'ValueSet', id: 'moods', name: 'Moods', status: 'active', compose: { include: [{ system: 'http://fhirdq.test/CodeSystem/moods', concept: [{ code: 'calm' }] }] } };
    const expanded = { resourceType: 'ValueSet', id: 'moods', name: 'Moods', status: 'active', expansion: { timestamp: '2024-01-01', contains: [{ system: 'http://fhirdq.test/CodeSystem/moods', code: 'calm' }] } };
    const withMoods = (vs: Json, code: string) =>
      response([{ linkId: 'mood', answer: [{ valueCoding: { system: 'http://fhirdq.test/CodeSystem/moods', code } }] }], {
        questionnaire: '#q',
        contained: [{ resourceType: 'Questionnaire', id: 'q', status: 'active', contained: [vs], item: [{ linkId: 'mood', type: 'choice', answerValueSet: '#moods' }] }],
      });
    for (const vs of [listed, expanded]) {
      expect(check(withMoods(vs, 'calm'))).toEqual([]);
      expect(check(withMoods(vs, 'angry'))).toEqual([
        "error|QuestionnaireResponse.item[0].answer[0].valueCoding|The code 'angry' in the system 'http://fhirdq.test/CodeSystem/moods' is not in the options value set ('Moods') specified by the questionnaire. Terminology Error: The provided code 'http://fhirdq.test/CodeSystem/moods#angry' was not found in the value set 'Moods'",
      ]);
    }
  });

  it('groups: items under them, no answers of their own; display items take no answer', () => {
    expect(
      check(
        response([
          name,
          smokesNo,
          { linkId: 'contact', item: [{ linkId: 'phone', answer: [{ valueString: '06' }] }] },
          { linkId: 'contact', answer: [{ valueString: 'x' }], item: [{ linkId: 'note', answer: [{ valueString: 'call' }] }] },
        ]),
      ),
    ).toEqual([
      'error|QuestionnaireResponse.item[3]|Items of type group should not have answers',
      "error|QuestionnaireResponse.item[3]|No response answer found for required item 'phone'",
      'error|QuestionnaireResponse.item[3].item[0]|Items of type display should not have answers',
    ]);
  });

  it('the questionnaire: contained, missing, or not found (a warning, as the reference gives)', () => {
    const contained = response([name, smokesNo], { questionnaire: '#q', contained: [{ ...questionnaire, id: 'q' }] });
    expect(check(contained)).toEqual([]);
    expect(check(response([name], { questionnaire: '#q', contained: [{ ...questionnaire, id: 'q' }] }))).toEqual([
      "error|QuestionnaireResponse|No response answer found for required item 'smokes'",
    ]);
    expect(check(response([name], { questionnaire: undefined }))).toEqual([
      'information|QuestionnaireResponse|No questionnaire is identified, so no validation can be performed against the base questionnaire',
    ]);
    expect(check(response([name], { questionnaire: 'http://fhirdq.test/Questionnaire/other' }))).toEqual([
      "warning|QuestionnaireResponse|The questionnaire 'http://fhirdq.test/Questionnaire/other' could not be resolved, so no validation can be performed against the base questionnaire",
    ]);
  });
});

describe('--questionnaire modes', () => {
  const required = useValidator([], { questionnaireMode: 'required' });
  const none = useValidator([questionnaire], { questionnaireMode: 'none' });

  it("'required' makes an unknown questionnaire an error; 'none' checks nothing", () => {
    expect(questionnaireIssues(required().validateToIssues(response([name]) as never))).toEqual([
      `error|QuestionnaireResponse|The questionnaire '${Q}|1.0.0' could not be resolved, so no validation can be performed against the base questionnaire`,
    ]);
    expect(questionnaireIssues(none().validateToIssues(response([]) as never))).toEqual([]);
  });
});

describe('the PZP example responses against the shipped ACP questionnaire', () => {
  it('find one difference: a question text with a trailing space', async () => {
    const validator = await createValidator();
    const dir = '/work/shared/profiles-src/iknl-r4-pzp/input/resources/';
    for (const file of ['QuestionnaireResponse-HendrikHartman-20201001.json', 'QuestionnaireResponse-HendrikHartman-20221108.json']) {
      const qr = JSON.parse(readFileSync(dir + file, 'utf8')) as Json;
      expect(questionnaireIssues(validator.validateToIssues(qr as never)), file).toEqual([
        'error|QuestionnaireResponse.item[8].item[0]|If text exists, it must match the questionnaire definition for linkId 1427',
      ]);
    }
  });
});

describe("a Questionnaire's enableWhen conditions", () => {
  const validator = useValidator([]);
  const enableWhenIssues = (items: Json[]) =>
    validator()
      .validateToIssues({ resourceType: 'Questionnaire', id: 'q', text: narrative, status: 'active', item: items } as never)
      .filter((i) => i.messageId.startsWith('Questionnaire_Q_'))
      .map((i) => `${i.severity}|${i.path}|${i.message}`);
  const when = (question?: string) => [{ ...(question === undefined ? {} : { question }), operator: 'exists', answerBoolean: true }];

  it('name an earlier question, not the item itself, one inside it, or one that does not exist', () => {
    expect(
      enableWhenIssues([
        { linkId: 'a', type: 'boolean' },
        { linkId: 'b', type: 'boolean', enableWhen: when('a') },
        { linkId: 'c', type: 'boolean', enableWhen: when('d') },
        { linkId: 'd', type: 'boolean', enableWhen: when('d') },
        { linkId: 'e', type: 'group', enableWhen: when('e1'), item: [{ linkId: 'e1', type: 'boolean', enableWhen: when('e') }] },
        { linkId: 'f', type: 'boolean', enableWhen: when('nowhere') },
      ]),
    ).toEqual([
      'warning|Questionnaire.item[2]|The target of this enableWhen rule (d) comes after the question itself',
      "error|Questionnaire.item[3]|Target for this question enableWhen can't reference itself",
      "error|Questionnaire.item[4]|Questions with an enableWhen cannot refer to an inner question for it's enableWhen condition",
      "error|Questionnaire.item[5]|Unable to find an item with the linkId 'nowhere' which is referenced in the enableWhen for 'f'",
    ]);
  });
});

describe('a Questionnaire derived from another', () => {
  const validator = useValidator([questionnaire]);
  const derived = (code: string | undefined, items: Json[]) => ({
    resourceType: 'Questionnaire',
    id: 'd',
    text: narrative,
    status: 'active',
    derivedFrom: [Q],
    ...(code === undefined ? {} : { _derivedFrom: [{ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType', valueCoding: { system: 'http://hl7.org/fhir/questionnaire-derivationType', code } }] }] }),
    item: items,
  });
  const derivationIssues = (q: Json) =>
    validator()
      .validateToIssues(q as never)
      .filter((i) => i.messageId.startsWith('QUESTIONNAIRE_Q_'))
      .map((i) => `${i.severity}|${i.path}|${i.message}`);
  const changed = [
    { linkId: 'name', type: 'text', required: false },
    { linkId: 'smokes', type: 'choice', answerOption: [{ valueCoding: { system: YES_NO, code: 'y' } }, { valueCoding: { system: YES_NO, code: 'maybe' } }] },
    { linkId: 'packs', type: 'integer', repeats: true },
    { linkId: 'extra', type: 'string' },
  ];
  const item = `The item with linkId`;

  it('complying: keeps its base items as they are, and adds none', () => {
    expect(derivationIssues(derived('compliesWith', changed))).toEqual([
      `error|Questionnaire.item[0].type|${item} 'name' found in questionnaire '${Q}' has the type 'string', and this cannot change to 'text'`,
      `error|Questionnaire.item[0].required|${item} 'name' found in questionnaire '${Q}' is required, so it must be required here`,
      `error|Questionnaire.item[1].answerOption[1]|${item} 'smokes' found in questionnaire '${Q}' does not have this answerOption, so it is not valid`,
      `error|Questionnaire.item[2].repeats|${item} 'packs' found in questionnaire '${Q}' does not repeat, so it cannot repeat here`,
      `error|Questionnaire.item[3]|No item with linkId 'extra' found in questionnaire '${Q}'`,
    ]);
  });

  it('extending may add items; inspiredBy, no type and an unknown base are not checked', () => {
    expect(derivationIssues(derived('extends', changed))).toHaveLength(4);
    expect(derivationIssues(derived('inspiredBy', changed))).toEqual([
      `information|Questionnaire.derivedFrom[0].extension[0].valueCoding|The derivation type 'http://hl7.org/fhir/questionnaire-derivationType#inspiredBy' means that no derivation checking has been performed against this questionnaire`,
    ]);
    expect(derivationIssues(derived(undefined, changed))).toEqual([
      `warning|Questionnaire.derivedFrom[0]|The questionnaire '${Q}' has no derivation type specified using the 'http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType' extension, so derivation has not been checked`,
    ]);
    expect(derivationIssues({ ...derived('extends', changed), derivedFrom: ['http://fhirdq.test/Questionnaire/none'] })).toEqual([
      "warning|Questionnaire.derivedFrom[0]|The questionnaire 'http://fhirdq.test/Questionnaire/none' referred to in the derivation could not be found ",
    ]);
  });
});
