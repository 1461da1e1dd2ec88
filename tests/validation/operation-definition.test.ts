import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/packages/load.js';
import { checkOperationDefinition } from '../../src/validation/operation-definition.js';
import { StructureCache } from '../../src/validation/structures.js';

const CASES = '/work/shared/conformance/fhir-test-cases-r4/cases/';
const IN = 'http://hl7.org/fhir/test/StructureDefinition/op-def-in-profile';
const OUT = 'http://hl7.org/fhir/test/StructureDefinition/op-def-out-profile';
const DTR_QR = 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaireresponse';

type Json = Record<string, unknown>;
const opdefParams = JSON.parse(readFileSync(CASES + 'opdef-params.json', 'utf8')) as Json;

let structures: StructureCache;
beforeAll(async () => {
  const { store, issues } = await loadConformance({ igs: [CASES + 'opdef-in-profile.json', CASES + 'opdef-out-profile.json'], includeCore: true, packageCache: false });
  expect(issues).toEqual([]);
  structures = new StructureCache(store);
});

const check = (opdef: Json) => checkOperationDefinition(opdef, 'OperationDefinition', structures).map((i) => `${i.severity}|${i.path}|${i.message}`);

describe('checkOperationDefinition', () => {
  it('opdef-params.json: the reference validator\'s issues, in its order', () => {
    expect(check(opdefParams)).toEqual([
      `warning|OperationDefinition.inputProfile|The 'in' profile ${IN}|2.1.0 defines a parameter 'in' but this is not in the parameters list in the operation definition`,
      "error|OperationDefinition.parameter[1]|The parameter 'questionnaire' has a value for 'min' of '1' in the 'in' profile 1 that is different to '0' which is the value in the parameter definition in the operation definition",
      "error|OperationDefinition.parameter[1]|The parameter 'questionnaire' has a value for 'max' of '1' in the 'in' profile 1 that is different to '*' which is the value in the parameter definition in the operation definition",
      `error|OperationDefinition.parameter[1]|The target profile '${DTR_QR}' is not allowed for the parameter 'questionnaire' in the 'in' profile but is in the list of target profiles for the parameter in the operation definition (profile target profiles = (none))`,
      "warning|OperationDefinition.parameter[0]|The 'in' profile does not have a parameter 'questionnaire-response-in' but it is in the parameters list in the operation definition",
      `warning|OperationDefinition.outputProfile|The 'out' profile ${OUT}|2.1.0 defines a parameter 'out' but this is not in the parameters list in the operation definition`,
      `error|OperationDefinition.parameter[2]|The type 'QuestionnaireResponse' is allowed for the parameter 'questionnaire' in the 'out' profile ${OUT}|2.1.0 but is not in the list of allowed types for the parameter in the operation definition: Questionnaire`,
      `error|OperationDefinition.parameter[2]|The type 'Questionnaire' is not allowed for the parameter 'questionnaire' in the 'out' profile ${OUT}|2.1.0 but is in the list of allowed types for the parameter in the operation definition (allowed types = QuestionnaireResponse)`,
      `error|OperationDefinition.parameter[4]|The target profile '${DTR_QR}' is allowed for the parameter 'test' in the 'out' profile ${OUT}|2.1.0 but is not in the list of target profiles for the parameter in the operation definition: (none)`,
      "warning|OperationDefinition.parameter[3]|The 'out' profile does not have a parameter 'questionnaire-response-out' but it is in the parameters list in the operation definition",
    ]);
  });

  it('parameters that agree with their slices give no issue', () => {
    const outOnly: Json = {
      resourceType: 'OperationDefinition',
      outputProfile: OUT,
      parameter: [
        { name: 'out', use: 'out', min: 1, max: '1', type: 'QuestionnaireResponse' },
        { name: 'questionnaire', use: 'out', min: 1, max: '1', type: 'QuestionnaireResponse' },
        { name: 'test', use: 'out', min: 0, max: '1', type: 'Reference', targetProfile: [DTR_QR] },
        // An 'in' parameter is not compared with the output profile.
        { name: 'other', use: 'in', min: 0, max: '1', type: 'string' },
      ],
    };
    expect(check(outOnly)).toEqual([]);
  });

  it('an unknown or absent profile is not checked here', () => {
    expect(check({ ...opdefParams, inputProfile: 'http://example.org/unknown', outputProfile: undefined })).toEqual([]);
  });
});
