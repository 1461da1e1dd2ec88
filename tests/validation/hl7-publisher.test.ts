/** What the reference asks of a canonical resource HL7 publishes: one work group, and the publisher and contact it implies. */
import { describe, expect, it } from 'vitest';
import { found, useValidator } from './helpers.js';

const validator = useValidator([]);
const wg = (code: string) => ({ url: 'http://hl7.org/fhir/StructureDefinition/structuredefinition-wg', valueCode: code });
const contact = (url: string) => [{ telecom: [{ system: 'url', value: url }] }];
const codeSystem = (extra: Record<string, unknown>) =>
  validator().validateToIssues({
    resourceType: 'CodeSystem',
    url: 'http://hl7.org/fhir/CodeSystem/example-status',
    name: 'ExampleStatus',
    status: 'draft',
    content: 'complete',
    caseSensitive: true,
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
    concept: [{ code: 'a', display: 'A' }],
    ...extra,
  } as never);
const hl7 = (issues: ReturnType<typeof codeSystem>) =>
  issues.filter((i) => i.messageId.startsWith('hl7-')).map((i) => `${i.severity} ${i.messageId}`);

describe('HL7 publisher consistency', () => {
  it('a work group with its publisher and contact passes', () => {
    expect(hl7(codeSystem({ extension: [wg('oo')], publisher: 'HL7 International / Orders and Observations', contact: contact('http://www.hl7.org/Special/committees/orders') }))).toEqual([]);
    // Vocabulary's old name is accepted too; a contact url that is a prefix of the link passes.
    expect(hl7(codeSystem({ extension: [wg('vocab')], publisher: 'HL7 International / Vocabulary', contact: contact('http://www.hl7.org') }))).toEqual([]);
  });

  it('a wrong publisher is an error when it names a work group (has a /), else a warning', () => {
    expect(hl7(codeSystem({ extension: [wg('oo')], publisher: 'HL7 International / Patient Care', contact: contact('http://www.hl7.org/Special/committees/orders') }))).toEqual(['error hl7-publisher-mismatch']);
    const issues = codeSystem({ extension: [wg('fhir')], publisher: 'Health Level Seven International (Orders and Observations)', contact: contact('http://hl7.org') });
    expect(hl7(issues)).toEqual(['warning hl7-publisher-mismatch', 'warning hl7-wg-url']);
    expect(issues.find((i) => i.messageId === 'hl7-publisher-mismatch')!.message).toBe(
      "The nominated WG 'fhir' means that the publisher should be 'HL7 International / FHIR Infrastructure' but 'Health Level Seven International (Orders and Observations)' was found",
    );
  });

  it('an unknown work group, or two of them, is an error', () => {
    expect(hl7(codeSystem({ extension: [wg('nope')], publisher: 'HL7 International / Nope' }))).toEqual(['error hl7-wg-unknown']);
    const two = codeSystem({ extension: [wg('oo'), wg('pc')], publisher: 'HL7 International / Orders and Observations', contact: contact('http://www.hl7.org/Special/committees/orders') });
    expect(hl7(two)).toEqual(['error hl7-wg-multiple', 'error hl7-publisher-mismatch']);
  });

  it('without a work group, or outside HL7’s url space, nothing is asked', () => {
    expect(hl7(codeSystem({ publisher: 'Anyone / Else' }))).toEqual([]);
    expect(hl7(codeSystem({ url: 'http://example.org/CodeSystem/x', extension: [wg('nope')] }))).toEqual([]);
    expect(found(codeSystem({ extension: [wg('oo')] }), 'warning').map((i) => i.messageId)).toContain('hl7-publisher-missing');
  });
});

describe('a canonical resource’s status and version', () => {
  const strict = useValidator([], { noExperimentalContent: true });
  const standards = (code: string) => ({ url: 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status', valueCode: code });
  const statusIssues = (issues: ReturnType<typeof codeSystem>) => issues.filter((i) => ['status-inconsistent', 'version-hash', 'experimental-content'].includes(i.messageId)).map((i) => `${i.severity} ${i.messageId}`);

  it('agrees with its standards status: plainly, or after review', () => {
    expect(statusIssues(codeSystem({ status: 'draft', extension: [standards('normative')] }))).toEqual(['warning status-inconsistent']);
    expect(statusIssues(codeSystem({ status: 'draft', extension: [standards('trial-use')] }))).toEqual(['information status-inconsistent']);
    expect(statusIssues(codeSystem({ status: 'active', extension: [standards('trial-use')] }))).toEqual([]);
  });

  it('has no # in its version, and is not experimental where that is forbidden', () => {
    expect(statusIssues(codeSystem({ version: '1.0#2' }))).toEqual(['warning version-hash']);
    expect(statusIssues(codeSystem({ experimental: true }))).toEqual([]);
    const forbidden = strict().validateToIssues({ resourceType: 'CodeSystem', url: 'http://example.org/cs', status: 'draft', content: 'not-present', experimental: true } as never);
    expect(statusIssues(forbidden)).toEqual(['error experimental-content']);
  });
});
