import { createRequire } from 'node:module';

/** Code systems whose codes are checked by grammar instead of a loaded CodeSystem resource. */
export const UCUM = 'http://unitsofmeasure.org';
export const BCP47 = 'urn:ietf:bcp:47';
export const BCP13 = 'urn:ietf:bcp:13';

interface UcumUtils {
  validateUnitString(unit: string, suggest: boolean): { status: string; msg?: string[] };
  convertUnitTo(fromUnit: string, value: number, toUnit: string): { status: string; toVal?: number };
}

let ucum: UcumUtils | undefined;
function ucumUtils(): UcumUtils {
  // ucum-lhc (NLM) ships the full UCUM tables and parser; it is CommonJS, so load it through require.
  ucum ??= (createRequire(import.meta.url)('@lhncbc/ucum-lhc') as { UcumLhcUtils: { getInstance(): UcumUtils } }).UcumLhcUtils.getInstance();
  return ucum;
}

/**
 * Calls ucum-lhc with console.log silenced: where its parser throws (a blank unit, say) it logs to stdout, which holds
 * fhirdq's report. The call is synchronous, so nothing else can log meanwhile.
 */
function quietly<T>(call: (utils: UcumUtils) => T): T {
  const log = console.log;
  console.log = () => {};
  try {
    return call(ucumUtils());
  } finally {
    console.log = log;
  }
}

/** An annotation ({…}), whose text has no meaning in UCUM. */
const ANNOTATION = /\{([^}]*)\}/g;

/**
 * A unit with each annotation's text reduced to one letter, or undefined when an annotation is not ASCII. The
 * reference's UCUM (Ucum-java) takes any ASCII in an annotation; ucum-lhc refuses spaces, which Dutch units have
 * ({eenheden per dag}). Written by hand: the two libraries' readings differ only here.
 */
function withPlainAnnotations(unit: string): string | undefined {
  let ascii = true;
  const plain = unit.replace(ANNOTATION, (_, text: string) => {
    if (!/^[\x20-\x7e]*$/.test(text)) ascii = false;
    return '{a}';
  });
  return ascii ? plain : undefined;
}

/** A UCUM quantity in another unit of the same dimension, or undefined when not convertible. */
export function convertUcum(value: number, from: string, to: string): number | undefined {
  if (from === to) return value;
  const fromPlain = withPlainAnnotations(from);
  const toPlain = withPlainAnnotations(to);
  if (fromPlain === undefined || toPlain === undefined) return undefined;
  const result = quietly((u) => u.convertUnitTo(fromPlain, value, toPlain));
  return result.status === 'succeeded' ? result.toVal : undefined;
}

// RFC 6838 type/subtype with optional parameters; hand-written as no npm package validates only the syntax.
const MIME = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

/** Result of a grammar check: undefined when valid, else the reason. */
export type GrammarCheck = (code: string) => string | undefined;

const grammars = new Map<string, GrammarCheck>([
  [
    UCUM,
    (code) => {
      const plain = withPlainAnnotations(code);
      if (plain === undefined) return `Error processing unit'${code}': Annotation contains non-ascii characters`;
      const r = quietly((u) => u.validateUnitString(plain, false));
      return r.status === 'valid' ? undefined : `Error processing unit '${code}': ${r.msg?.join('; ') ?? r.status}`;
    },
  ],
  [
    BCP47,
    (code) => {
      try {
        // Intl implements BCP 47 well-formedness (RFC 5646 syntax) as part of the platform.
        Intl.getCanonicalLocales(code);
        return code.includes('_') ? `Unknown code '${code}' in the CodeSystem '${BCP47}'` : undefined;
      } catch {
        return `Unknown code '${code}' in the CodeSystem '${BCP47}'`;
      }
    },
  ],
  [BCP13, (code) => (MIME.test(code) ? undefined : `Unknown code '${code}' in the CodeSystem '${BCP13}'`)],
]);

export function grammarFor(system: string): GrammarCheck | undefined {
  return grammars.get(system);
}

/**
 * Well-known code systems that exist but are not distributed as FHIR packages (licensed or huge).
 * Codes from them are "not checkable" offline rather than from an unknown system.
 */
const EXTERNAL = new Set([
  'http://snomed.info/sct',
  'http://loinc.org',
  'http://www.nlm.nih.gov/research/umls/rxnorm',
  'http://hl7.org/fhir/sid/icd-10',
  'http://hl7.org/fhir/sid/icd-10-cm',
  'http://hl7.org/fhir/sid/icd-9-cm',
  'http://hl7.org/fhir/sid/ndc',
  'http://hl7.org/fhir/sid/cvx',
  'http://www.whocc.no/atc',
  'http://www.ama-assn.org/go/cpt',
  'http://nucc.org/provider-taxonomy',
  'http://dicom.nema.org/resources/ontology/DCM',
  'urn:iso:std:iso:3166',
  'urn:iso:std:iso:3166:-2',
  'urn:iso:std:iso:4217',
  'urn:iso:std:iso:11073:10101',
  'http://www.ada.org/snodent',
  'http://fdasis.nlm.nih.gov',
  'http://www.genenames.org',
  'http://varnomen.hgvs.org',
  'http://www.ensembl.org',
  'http://www.ncbi.nlm.nih.gov/refseq',
]);

/**
 * True when a system that is not loaded is a known external terminology. Unloaded OIDs (G-Standaard
 * 2.16.840.1.113883.2.4.4.*, NHG tables, HL7 registered OIDs) cannot be resolved offline either.
 */
export function isExternalSystem(system: string): boolean {
  return EXTERNAL.has(system) || system.startsWith('urn:oid:');
}
