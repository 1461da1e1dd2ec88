/** Mutations of the valid regional fixtures, per exchange, with the error each must produce. */
import { readFileSync } from 'node:fs';
import type { FhirResource } from '../../src/packages/types.js';

// Mutations work on untyped JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface Mutation {
  name: string;
  /** Fixture file under fixtures/profiles/<exchange>/valid/. */
  base: string;
  mutate: (r: Json) => void;
  messageId: string;
  path: string;
}

export const EXCHANGES = ['acp', 'medication', 'transfer'] as const;
export type Exchange = (typeof EXCHANGES)[number];

export function fixture(exchange: Exchange, file: string): FhirResource {
  return JSON.parse(readFileSync(new URL(`../../fixtures/profiles/${exchange}/valid/${file}`, import.meta.url), 'utf8')) as FhirResource;
}

const CPR = 'Consent-regio-acp-cpr.json';
const MA = 'MedicationRequest-regio-medication-agreement-1.json';
const LIST = 'List-regio-medication-overview-1.json';
const DOC = 'Bundle-regio-nursing-transfer-bundle-1.json';
/** A contained resource of the wrong type, referenced locally (literal references to absent resources are not checked). */
const containedRef = (r: Json, resourceType: string) => {
  r.contained = [...(r.contained ?? []), { resourceType, id: 'wrong' }];
  return { reference: '#wrong' };
};
const BAD_PERIOD = { start: '2021-01-01', end: '2020-01-01' };
const ext = (r: Json, suffix: string) => r.extension.find((e: Json) => e.url.endsWith(suffix));
const comp = (b: Json) => b.entry[0].resource;
const section = (b: Json, code: string) => comp(b).section.find((s: Json) => s.code.coding[0].code === code);

export const MUTATIONS: Record<Exchange, Mutation[]> = {
  acp: [
    { name: 'date of the most recent discussion removed', base: CPR, mutate: (r) => delete r.dateTime, messageId: 'cardinality-min', path: 'Consent' },
    { name: 'agreement party removed', base: CPR, mutate: (r) => delete r.provision.actor, messageId: 'cardinality-min', path: 'Consent.provision' },
    { name: 'treatment code removed', base: CPR, mutate: (r) => delete r.provision.code, messageId: 'cardinality-min', path: 'Consent.provision' },
    { name: 'treatment not a RIZA code', base: CPR, mutate: (r) => (r.provision.code[0].coding[0].code = '40617009'), messageId: 'TX_BINDING_REQUIRED', path: 'Consent.provision.code[0].coding[0]' },
    { name: 'RIZA code in the wrong system', base: CPR, mutate: (r) => (r.provision.code[0].coding[0].system = 'http://loinc.org'), messageId: 'pattern-value', path: 'Consent.provision.code[0].coding[0].system' },
    { name: 'scope not the fixed treatment code', base: CPR, mutate: (r) => (r.scope.coding[0].code = 'research'), messageId: 'pattern-value', path: 'Consent.scope' },
    { name: 'category without the treatment directive code', base: CPR, mutate: (r) => (r.category = [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }]), messageId: 'slice-min', path: 'Consent' },
    { name: 'agreement party role not CONSENTER (broken slice)', base: CPR, mutate: (r) => r.provision.actor.forEach((a: Json) => (a.role.coding[0].code = 'PROV')), messageId: 'slice-min', path: 'Consent.provision' },
    { name: 'patient references a Practitioner', base: CPR, mutate: (r) => (r.patient = containedRef(r, 'Practitioner')), messageId: 'reference-wrong-type', path: 'Consent.patient.reference' },
    { name: 'agreement party references a Device', base: CPR, mutate: (r) => (r.provision.actor[0].reference = containedRef(r, 'Device')), messageId: 'reference-wrong-type', path: 'Consent.provision.actor[0].reference.reference' },
    { name: 'encounter extension with a string value', base: CPR, mutate: (r) => (r.extension[0] = { url: r.extension[0].url, valueString: 'x' }), messageId: 'choice-type-not-allowed', path: 'Consent.extension[0].valueString' },
    { name: 'encounter extension references a Patient', base: CPR, mutate: (r) => (r.extension[0].valueReference = containedRef(r, 'Patient')), messageId: 'reference-wrong-type', path: 'Consent.extension[0].valueReference.reference' },
    { name: 'identifier period ends before it starts', base: CPR, mutate: (r) => (r.identifier[0].period = BAD_PERIOD), messageId: 'constraint-per-1', path: 'Consent.identifier[0].period' },
    { name: 'identifier system not a URI', base: CPR, mutate: (r) => (r.identifier[0].system = 'acme identifiers'), messageId: 'primitive-uri-whitespace', path: 'Consent.identifier[0].system' },
    { name: 'status not a consent state', base: CPR, mutate: (r) => (r.status = 'agreed'), messageId: 'TX_BINDING_REQUIRED', path: 'Consent.status' },
    { name: 'provision type not permit/deny', base: CPR, mutate: (r) => (r.provision.type = 'maybe'), messageId: 'TX_BINDING_REQUIRED', path: 'Consent.provision.type' },
    { name: 'discussion date not a date', base: CPR, mutate: (r) => (r.dateTime = '2020-13-01'), messageId: 'primitive-datetime', path: 'Consent.dateTime' },
    { name: 'status removed', base: CPR, mutate: (r) => delete r.status, messageId: 'cardinality-min', path: 'Consent' },
    { name: 'provision period ends before it starts', base: CPR, mutate: (r) => (r.provision.period = BAD_PERIOD), messageId: 'constraint-per-1', path: 'Consent.provision.period' },
    { name: 'policy removed (ppc-1)', base: CPR, mutate: (r) => delete r.policy, messageId: 'constraint-ppc-1', path: 'Consent' },
    { name: 'unknown element', base: CPR, mutate: (r) => (r.wish = 'none'), messageId: 'unknown-element', path: 'Consent.wish' },
    { name: 'provision removed', base: CPR, mutate: (r) => delete r.provision, messageId: 'cardinality-min', path: 'Consent' },
  ],
  medication: [
    { name: 'period of use removed', base: MA, mutate: (r) => (r.extension = r.extension.filter((e: Json) => !e.url.endsWith('ext-TimeInterval.Period'))), messageId: 'slice-min', path: 'MedicationRequest' },
    { name: 'period of use as a dateTime', base: MA, mutate: (r) => (ext(r, 'ext-TimeInterval.Period').valueDateTime = '2022-11-11', delete ext(r, 'ext-TimeInterval.Period').valuePeriod), messageId: 'choice-type-not-allowed', path: 'MedicationRequest.extension[2].valueDateTime' },
    { name: 'period of use ends before it starts', base: MA, mutate: (r) => (ext(r, 'ext-TimeInterval.Period').valuePeriod = BAD_PERIOD), messageId: 'constraint-per-1', path: 'MedicationRequest.extension[2].valuePeriod' },
    { name: 'dosage removed', base: MA, mutate: (r) => delete r.dosageInstruction, messageId: 'cardinality-min', path: 'MedicationRequest' },
    { name: 'prescriber removed', base: MA, mutate: (r) => delete r.requester, messageId: 'cardinality-min', path: 'MedicationRequest' },
    { name: 'subject references a Practitioner', base: MA, mutate: (r) => (r.subject = containedRef(r, 'Practitioner')), messageId: 'reference-wrong-type', path: 'MedicationRequest.subject.reference' },
    { name: 'subject removed', base: MA, mutate: (r) => delete r.subject, messageId: 'cardinality-min', path: 'MedicationRequest' },
    { name: 'category not a medication agreement', base: MA, mutate: (r) => (r.category[0].coding[0].code = '16076005'), messageId: 'slice-min', path: 'MedicationRequest' },
    { name: 'medication references a Patient', base: MA, mutate: (r) => (r.medicationReference = containedRef(r, 'Patient')), messageId: 'reference-wrong-type', path: 'MedicationRequest.medicationReference.reference' },
    { name: 'treatment identifier extension with a string', base: MA, mutate: (r) => (ext(r, 'PharmaceuticalTreatment.Identifier').valueString = 'x', delete ext(r, 'PharmaceuticalTreatment.Identifier').valueIdentifier), messageId: 'choice-type-not-allowed', path: 'MedicationRequest.extension[3].valueString' },
    { name: 'identifier period ends before it starts', base: MA, mutate: (r) => (r.identifier[0].period = BAD_PERIOD), messageId: 'constraint-per-1', path: 'MedicationRequest.identifier[0].period' },
    { name: 'overview verification date removed', base: LIST, mutate: (r) => delete r.extension, messageId: 'slice-min', path: 'List' },
    { name: 'overview verification date as a string', base: LIST, mutate: (r) => (r.extension[0] = { url: r.extension[0].url, valueString: 'gisteren' }), messageId: 'choice-type-not-allowed', path: 'List.extension[0].valueString' },
    { name: 'overview code not the medication list code', base: LIST, mutate: (r) => (r.code.coding[0].code = '11450-4'), messageId: 'pattern-value', path: 'List.code' },
    { name: 'overview status not current', base: LIST, mutate: (r) => (r.status = 'retired'), messageId: 'pattern-value', path: 'List.status' },
    { name: 'overview mode not snapshot', base: LIST, mutate: (r) => (r.mode = 'working'), messageId: 'pattern-value', path: 'List.mode' },
    { name: 'overview entry references a Patient', base: LIST, mutate: (r) => (r.entry[0].item = containedRef(r, 'Patient')), messageId: 'reference-wrong-type', path: 'List.entry[0].item.reference' },
    { name: 'overview without entries', base: LIST, mutate: (r) => delete r.entry, messageId: 'cardinality-min', path: 'List' },
    { name: 'overview subject references a Practitioner', base: LIST, mutate: (r) => (r.subject = containedRef(r, 'Practitioner')), messageId: 'reference-wrong-type', path: 'List.subject.reference' },
    { name: 'overview date removed', base: LIST, mutate: (r) => delete r.date, messageId: 'cardinality-min', path: 'List' },
  ],
  transfer: [
    { name: 'administrative data section removed', base: DOC, mutate: (b) => (comp(b).section = comp(b).section.filter((s: Json) => s.code.coding[0].code !== '405624007')), messageId: 'slice-min', path: 'Bundle.entry[0].resource' },
    { name: 'composition type not nursing transfer', base: DOC, mutate: (b) => (comp(b).type.coding[0].code = '34745-0'), messageId: 'pattern-value', path: 'Bundle.entry[0].resource.type' },
    { name: 'medical context section with another code (broken slice)', base: DOC, mutate: (b) => (section(b, '371524004').code.coding[0].code = '11111111'), messageId: 'slice-min', path: 'Bundle.entry[0].resource' },
    { name: 'composition subject removed', base: DOC, mutate: (b) => delete comp(b).subject, messageId: 'cardinality-min', path: 'Bundle.entry[0].resource' },
    { name: 'composition status not final', base: DOC, mutate: (b) => (comp(b).status = 'preliminary'), messageId: 'pattern-value', path: 'Bundle.entry[0].resource.status' },
    { name: 'composition date removed', base: DOC, mutate: (b) => delete comp(b).date, messageId: 'cardinality-min', path: 'Bundle.entry[0].resource' },
    { name: 'composition title removed', base: DOC, mutate: (b) => delete comp(b).title, messageId: 'cardinality-min', path: 'Bundle.entry[0].resource' },
    { name: 'composition author references the Patient', base: DOC, mutate: (b) => (comp(b).author = [{ reference: 'Patient/nl-core-Patient-01', type: 'Patient' }]), messageId: 'reference-wrong-type', path: 'Bundle.entry[0].resource.author[0].reference' },
    { name: 'care plan section entry references the Patient', base: DOC, mutate: (b) => (section(b, '773130005').entry = [{ reference: 'Patient/nl-core-Patient-01', type: 'Patient' }]), messageId: 'reference-wrong-type', path: 'Bundle.entry[0].resource.section[2].entry[0].reference' },
    { name: 'wound section entry references the Organization', base: DOC, mutate: (b) => (section(b, '106076001').entry = [{ reference: 'Organization/nl-core-HealthcareProvider-Organization-01', type: 'Organization' }]), messageId: 'reference-wrong-type', path: 'Bundle.entry[0].resource.section[3].entry[0].reference' },
    { name: 'care plan section without entries', base: DOC, mutate: (b) => delete section(b, '773130005').entry, messageId: 'cardinality-min', path: 'Bundle.entry[0].resource.section[2]' },
    { name: 'bundle type not document', base: DOC, mutate: (b) => (b.type = 'collection'), messageId: 'pattern-value', path: 'Bundle.type' },
    { name: 'bundle identifier removed', base: DOC, mutate: (b) => delete b.identifier, messageId: 'cardinality-min', path: 'Bundle' },
    { name: 'bundle timestamp removed', base: DOC, mutate: (b) => delete b.timestamp, messageId: 'cardinality-min', path: 'Bundle' },
    { name: 'bundle identifier period ends before it starts', base: DOC, mutate: (b) => (b.identifier.period = BAD_PERIOD), messageId: 'constraint-per-1', path: 'Bundle.identifier.period' },
    { name: 'entry fullUrl removed', base: DOC, mutate: (b) => delete b.entry[3].fullUrl, messageId: 'cardinality-min', path: 'Bundle.entry[3]' },
    { name: 'patient telecom code specification as a string', base: DOC, mutate: (b) => (b.entry[1].resource.telecom[0]._system.extension[0] = { url: b.entry[1].resource.telecom[0]._system.extension[0].url, valueString: 'mobiel' }), messageId: 'choice-type-not-allowed', path: 'Bundle.entry[1].resource.telecom[0].system.extension[0].valueString' },
    { name: 'patient gender not a gender code', base: DOC, mutate: (b) => (b.entry[1].resource.gender = 'x'), messageId: 'TX_BINDING_REQUIRED', path: 'Bundle.entry[1].resource.gender' },
    { name: 'problem clinical status unknown code', base: DOC, mutate: (b) => (b.entry[3].resource.clinicalStatus.coding[0].code = 'gone'), messageId: 'TX_UNKNOWN_CODE', path: 'Bundle.entry[3].resource.clinicalStatus.coding[0].code' },
    { name: 'composition subject references the Organization', base: DOC, mutate: (b) => (comp(b).subject = { reference: 'Organization/nl-core-HealthcareProvider-Organization-01', type: 'Organization' }), messageId: 'reference-wrong-type', path: 'Bundle.entry[0].resource.subject.reference' },
  ],
};
