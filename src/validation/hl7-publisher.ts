/**
 * What the reference validator asks of a canonical resource HL7 publishes (a url under http://hl7.org/fhir/): one
 * owning work group, named in the structuredefinition-wg extension, and the publisher and contact that work group
 * implies (InstanceValidator.checkPublisherConsistency).
 */
import { CANONICAL_RESOURCE_TYPES } from './element-tree.js';
import type { IssueType, Severity } from './issues.js';

const WORKGROUP_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-wg';

interface WorkGroup {
  name: string;
  /** The name a publisher may also use. */
  name2?: string;
  link: string;
}

const COMMITTEES = 'http://www.hl7.org/Special/committees/';

/** HL7's work groups by code, as the reference knows them (org.hl7.fhir.utilities.HL7WorkGroups). */
const WORK_GROUPS: Record<string, WorkGroup> = {
  aid: { name: 'Application Implementation and Design', link: `${COMMITTEES}java` },
  arden: { name: 'Arden Syntax', link: `${COMMITTEES}arden` },
  brr: { name: 'Biomedical Research and Regulation', link: `${COMMITTEES}rcrim` },
  cbcc: { name: 'Community Based Collaborative Care', link: `${COMMITTEES}cbcc` },
  cdamg: { name: 'CDA Management Group', link: `${COMMITTEES}cdamg` },
  cds: { name: 'Clinical Decision Support', link: `${COMMITTEES}dss` },
  cg: { name: 'Clinical Genomics', link: `${COMMITTEES}clingenomics` },
  cgp: { name: 'Cross-Group Projects', link: `${COMMITTEES}cgp` },
  cic: { name: 'Clinical Interoperability Council', link: `${COMMITTEES}cic` },
  cimi: { name: 'Clinical Information Modeling Initiative', link: `${COMMITTEES}cimi` },
  claims: { name: 'Payer/Provider Information Exchange Work Group', link: `${COMMITTEES}claims` },
  cqi: { name: 'Clinical Quality Information', link: `${COMMITTEES}cqi` },
  dev: { name: 'Health Care Devices', link: `${COMMITTEES}healthcaredevices` },
  ehr: { name: 'Electronic Health Records', link: `${COMMITTEES}ehr` },
  ec: { name: 'Emergency Care', link: `${COMMITTEES}emergencycare` },
  fhir: { name: 'FHIR Infrastructure', link: `${COMMITTEES}fiwg` },
  fmg: { name: 'FHIR Management Group', link: `${COMMITTEES}fhirmg` },
  fm: { name: 'Financial Management', link: `${COMMITTEES}fm` },
  hsi: { name: 'Health Standards Integration', link: `${COMMITTEES}hsi` },
  hsswg: { name: 'Human and Social Services', link: `${COMMITTEES}hsswg` },
  hta: { name: 'Terminology Authority', link: `${COMMITTEES}termauth` },
  ictc: { name: 'Conformance', link: `${COMMITTEES}ictc` },
  ii: { name: 'Imaging Integration', link: `${COMMITTEES}imagemgt` },
  inm: { name: 'Infrastructure And Messaging', link: `${COMMITTEES}inm` },
  its: { name: 'Implementable Technology Specifications', link: `${COMMITTEES}xml` },
  lhs: { name: 'Learning Health Systems', link: `${COMMITTEES}lhs` },
  mnm: { name: 'Modeling and Methodology', link: `${COMMITTEES}mnm` },
  mobile: { name: 'Mobile Health', link: `${COMMITTEES}mobile` },
  oo: { name: 'Orders and Observations', link: `${COMMITTEES}orders` },
  pa: { name: 'Patient Administration', link: `${COMMITTEES}pafm` },
  pe: { name: 'Patient Empowerment', link: `${COMMITTEES}patientempowerment` },
  pc: { name: 'Patient Care', link: `${COMMITTEES}patientcare` },
  pher: { name: 'Public Health', link: `${COMMITTEES}pher` },
  phx: { name: 'Pharmacy', link: `${COMMITTEES}medication` },
  sd: { name: 'Structured Documents', link: `${COMMITTEES}structure` },
  sec: { name: 'Security', link: `${COMMITTEES}secure` },
  soa: { name: 'Services Oriented Architecture', link: `${COMMITTEES}soa` },
  ti: { name: 'Terminology Infrastructure', name2: 'Vocabulary', link: `${COMMITTEES}Vocab` },
  tsmg: { name: 'Terminology Services Management Group (TSMG)', link: `TSMG) (${COMMITTEES}tsmg` },
  us: { name: 'US Realm Steering Committee', link: `${COMMITTEES}usrealm` },
  v2: { name: 'V2 Management Group', link: `${COMMITTEES}v2management` },
  vocab: { name: 'Terminology Infrastructure', name2: 'Vocabulary', link: `${COMMITTEES}Vocab` },
};

export interface PublisherProblem {
  severity: Severity;
  code: IssueType;
  messageId: string;
  message: string;
}

/** The primitive value of an extension, whatever its type. */
function primitiveValue(ext: Record<string, unknown>): string | undefined {
  for (const key in ext) {
    if (key.startsWith('value')) {
      const value = ext[key];
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    }
  }
  return undefined;
}

function contactUrls(contacts: unknown): string[] {
  const urls: string[] = [];
  if (!Array.isArray(contacts)) return urls;
  for (const contact of contacts as Array<{ telecom?: unknown } | null>) {
    if (!Array.isArray(contact?.telecom)) continue;
    for (const t of contact.telecom as Array<{ system?: unknown; value?: unknown } | null>) {
      if (t?.system === 'url' && typeof t.value === 'string') urls.push(t.value);
    }
  }
  return urls;
}

/** A resource HL7 publishes against its work group; nothing for other resources, or when no work group is named. */
export function hl7PublisherProblems(res: Record<string, unknown>): PublisherProblem[] {
  const url = res.url;
  if (typeof url !== 'string' || !url.startsWith('http://hl7.org/fhir/') || !CANONICAL_RESOURCE_TYPES.has(res.resourceType as string)) return [];
  const problems: PublisherProblem[] = [];
  const extensions = Array.isArray(res.extension) ? (res.extension as Array<Record<string, unknown> | null>) : [];
  const workGroupExtensions = extensions.filter((e): e is Record<string, unknown> => e?.url === WORKGROUP_EXTENSION);
  const single = workGroupExtensions.length <= 1;
  if (!single) {
    problems.push({ severity: 'error', code: 'business-rule', messageId: 'hl7-wg-multiple', message: `This resource has more than one workgroup extension (${WORKGROUP_EXTENSION})` });
  }
  const code = workGroupExtensions[0] ? primitiveValue(workGroupExtensions[0]) : undefined;
  if (code === undefined) return problems;
  const wg = Object.hasOwn(WORK_GROUPS, code) ? WORK_GROUPS[code]! : undefined;
  if (!wg) {
    problems.push({ severity: 'error', code: 'business-rule', messageId: 'hl7-wg-unknown', message: `The nominated WG '${code}' is unknown` });
    return problems;
  }
  const publisher = typeof res.publisher === 'string' ? res.publisher : undefined;
  const expected = `HL7 International / ${wg.name}`;
  if (publisher === undefined) {
    problems.push({ severity: 'warning', code: 'business-rule', messageId: 'hl7-publisher-missing', message: `When HL7 is publishing a resource, the publisher must be provided, and for WG '${code}' it should be '${expected}'` });
  } else {
    const alternative = wg.name2 === undefined ? undefined : `HL7 International / ${wg.name2}`;
    // As in the reference, a second work group extension already fails the check, whatever the publisher.
    const matches = single && (publisher === expected || publisher === alternative);
    if (!matches) {
      problems.push({
        severity: publisher.includes('/') ? 'error' : 'warning',
        code: 'business-rule',
        messageId: 'hl7-publisher-mismatch',
        message: alternative
          ? `The nominated WG '${code}' means that the publisher should be either '${expected}' or '${alternative}' but '${publisher}' was found`
          : `The nominated WG '${code}' means that the publisher should be '${expected}' but '${publisher}' was found`,
      });
    }
  }
  if (!contactUrls(res.contact).some((u) => wg.link.startsWith(u))) {
    problems.push({ severity: 'warning', code: 'business-rule', messageId: 'hl7-wg-url', message: `The nominated WG '${code}' means that the contact url should be '${wg.link}' but it was not found` });
  }
  return problems;
}
