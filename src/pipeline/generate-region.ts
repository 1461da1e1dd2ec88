/**
 * Seeded generator of a demo region: vendor-shaped exports of six fictional organisations with defects
 * planted at known rates. Every planted defect is counted and written to planted-defects.json, so tests
 * and reports can check exact numbers. Same seed and size → identical bytes.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';

/** The day the region's exports were taken; ACP older than two years before it is stale. */
export const REFERENCE_DATE = '2025-06-30';
export const STALE_BEFORE = '2023-06-30';
/** A nursing transfer sent more than this after discharge is late. */
export const LATE_TRANSFER_HOURS = 24;

export const DEFECT_RATES = {
  hospital: { badBsn: 0.02, badDate: 0.015, unmappedMedication: 0.03, missingMedication: 0.01 },
  vvt: { malformedLine: 0.005, badBsn: 0.01, rizaIncomplete: 0.15, staleAcp: 0.1 },
  gp: { missingStart: 0.02, badDate: 0.01 },
  pharmacy: { malformedLine: 0.005, missingCategory: 0.05 },
  districtNursing: { missingDischarge: 0.02, lateTransfer: 0.12 },
  elv: { missingProvisionType: 0.05 },
} as const;

/** mulberry32: tiny, fast and good enough for fixtures. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MEDICATIONS = [
  { local: 'PARA500', prk: '2194', name: 'PARACETAMOL TABLET 500MG', dose: '3 maal per dag 1 tablet' },
  { local: 'METF850', prk: '24694', name: 'METFORMINE TABLET 850MG', dose: '2 maal per dag 1 tablet' },
  { local: 'OMEP20', prk: '27006', name: 'OMEPRAZOL CAPSULE 20MG', dose: '1 maal per dag 1 capsule' },
  { local: 'SIMV40', prk: '20311', name: 'SIMVASTATINE TABLET 40MG', dose: '1 maal per dag 1 tablet, avond' },
  { local: 'AMLO5', prk: '27227', name: 'AMLODIPINE TABLET 5MG', dose: '1 maal per dag 1 tablet' },
  { local: 'FURO40', prk: '2577', name: 'FUROSEMIDE TABLET 40MG', dose: '1 maal per dag 1 tablet, ochtend' },
  { local: 'APIX5', prk: '94323', name: 'APIXABAN TABLET 5MG', dose: '2 maal per dag 1 tablet' },
  { local: 'MACR100', prk: '62197', name: 'NITROFURANTOINE CAPSULE MGA 100MG', dose: '2 maal per dag 1 capsule' },
];
const UNMAPPED_MEDS = ['ZKH-STUDIE-01', 'MAGISTRAAL-7', 'OUD-9912'];

export const MOBILITY = { ZELF: 'Zelfstandig', HULP: 'Met hulp', BED: 'Bedlegerig' } as const;
export const RIZA_COLUMNS = ['reanimatie', 'ic_opname', 'ziekenhuisopname', 'antibiotica'] as const;
const DECISIONS = ['ja', 'nee', 'nee', 'ja-maar', 'onbekend'];

const SURNAMES = ['de Vries', 'Jansen', 'van den Berg', 'Bakker', 'Visser', 'Smit', 'Müller', 'Boërs', 'Peeters', 'Hüsken', 'Çelik', 'El Idrissi', 'van Dijk', 'Meijer', 'Dekker', 'Brouwer'];
/**
 * IJssel-Vecht municipalities, as often as each would be met (out of 100): the small ones give the indicators' tables
 * by municipality small cells to suppress.
 */
const MUNICIPALITIES: readonly [string, number][] = [['Zwolle', 38], ['Kampen', 16], ['Hardenberg', 14], ['Dalfsen', 10], ['Ommen', 8], ['Staphorst', 7], ['Zwartewaterland', 4], ['Hattem', 3]];

/** A patient's municipality, from the BSN rather than the generator's random numbers: the rest of the data stays as it was. */
function municipalityOf(bsn: string): string {
  let at = Number(bsn.slice(0, 8)) % 100;
  for (const [name, share] of MUNICIPALITIES) {
    if (at < share) return name;
    at -= share;
  }
  return MUNICIPALITIES[0][0];
}
const GIVEN = ['Anna', 'Johanna', 'Cornelis', 'Hendrik', 'Maria', 'Renée', 'José', 'Wilhelmina', 'Gerrit', 'Fatima', 'Jan', 'Aaltje', 'Noël', 'Truus'];

export const ORGANISATIONS = [
  { id: 'zkh-vechtdal', name: 'Ziekenhuis Vechtdal', type: 'hospital', ura: '90000011' },
  { id: 'zorggroep-linde', name: 'Zorggroep De Linde', type: 'vvt', ura: '90000022' },
  { id: 'ha-het-anker', name: 'Huisartsenpraktijk Het Anker', type: 'gp', ura: '90000033' },
  { id: 'apotheek-gaper', name: 'Apotheek De Gaper', type: 'pharmacy', ura: '90000044' },
  { id: 'thuiszorg-vechtstreek', name: 'Thuiszorg Vechtstreek', type: 'district-nursing', ura: '90000055' },
  { id: 'elv-de-hoeve', name: 'ELV De Hoeve', type: 'vvt', ura: '90000066' },
] as const;

export interface PlantedDefects {
  seed: number;
  patients: number;
  referenceDate: string;
  rates: typeof DEFECT_RATES;
  /** Per source: records written, how many carry each defect (at most one each), and how many must be rejected. */
  sources: Record<string, { records: number; defects: Record<string, number>; rejected: number }>;
}

interface Patient {
  bsn: string;
  given: string;
  family: string;
  birth: Date;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const ddmmyyyy = (d: Date) => `${pad(d.getUTCDate())}-${pad(d.getUTCMonth() + 1)}-${d.getUTCFullYear()}`;
const dmyyyy = (d: Date) => `${d.getUTCDate()}-${d.getUTCMonth() + 1}-${d.getUTCFullYear()}`;
const yyyymmdd = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
const hhmm = (d: Date) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
const iso = (d: Date) => d.toISOString().slice(0, 10);
const DAY = 86_400_000;
const REF = Date.UTC(2025, 5, 30);

function bsnCheck(first8: string): number {
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * Number(first8[i]);
  return sum % 11;
}

class Writer {
  private s: WriteStream;
  constructor(file: string) {
    this.s = createWriteStream(file);
  }
  async line(text: string) {
    if (!this.s.write(text + '\n')) await once(this.s, 'drain');
  }
  async close() {
    this.s.end();
    await once(this.s, 'finish');
  }
}

/** Picks at most one defect for a record from cumulative rates. */
function pickDefect<K extends string>(r: () => number, rates: Readonly<Record<K, number>>): K | undefined {
  let x = r();
  for (const [k, rate] of Object.entries(rates) as [K, number][]) {
    if (x < rate) return k;
    x -= rate;
  }
  return undefined;
}

export interface GenerateOptions {
  patients: number;
  outDir: string;
  seed?: number;
}

export async function generateRegion(opts: GenerateOptions): Promise<PlantedDefects> {
  const seed = opts.seed ?? 42;
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out = path.resolve(opts.outDir);
  const dirs = ['hospital', 'vvt', 'gp', 'pharmacy', 'district-nursing', 'elv'];
  for (const d of dirs) await mkdir(path.join(out, 'data', d), { recursive: true });

  const planted: PlantedDefects = { seed, patients: opts.patients, referenceDate: REFERENCE_DATE, rates: DEFECT_RATES, sources: {} };
  const track = (source: string) => (planted.sources[source] ??= { records: 0, defects: {}, rejected: 0 });
  const count = (source: string, defect: string | undefined, rejects: boolean) => {
    const t = track(source);
    t.records++;
    if (defect) t.defects[defect] = (t.defects[defect] ?? 0) + 1;
    if (rejects) t.rejected++;
  };

  const patients: Patient[] = [];
  const used = new Set<string>();
  while (patients.length < opts.patients) {
    const first8 = pad(int(10_000_000, 99_999_999), 8);
    const check = bsnCheck(first8);
    if (check === 10 || used.has(first8)) continue;
    used.add(first8);
    patients.push({ bsn: first8 + check, given: pick(GIVEN), family: pick(SURNAMES), birth: new Date(Date.UTC(int(1925, 1960), int(0, 11), int(1, 28))) });
  }
  const badBsn = (bsn: string) => bsn.slice(0, 8) + ((Number(bsn[8]) + int(1, 9)) % 10);
  const agb = () => `01${pad(int(0, 999_999), 6)}`;

  // Hospital: discharge medication, CSV ';' in windows-1252, 'dd-mm-yyyy HH:mm'.
  {
    const rows = ['OpnameNr;BSN;Achternaam;Voornaam;Geboortedatum;Ontslagdatum;MedCode;Medicijn;Dosering;VoorschrijverAGB;Opmerking'];
    let nr = 100000;
    for (const p of patients) {
      if (r() >= 0.6) continue;
      const discharge = new Date(REF - int(1, 700) * DAY + int(7 * 60, 18 * 60) * 60_000);
      const n = int(1, 3);
      for (let i = 0; i < n; i++) {
        const d = pickDefect(r, DEFECT_RATES.hospital);
        const med = pick(MEDICATIONS);
        const code = d === 'unmappedMedication' ? pick(UNMAPPED_MEDS) : d === 'missingMedication' ? '' : med.local;
        const date = d === 'badDate' ? `${int(30, 31)}-02-${discharge.getUTCFullYear()} ${hhmm(discharge)}` : `${ddmmyyyy(discharge)} ${hhmm(discharge)}`;
        rows.push([`O${nr++}`, d === 'badBsn' ? badBsn(p.bsn) : p.bsn, p.family, p.given, ddmmyyyy(p.birth), date, code, code ? med.name : '', med.dose, agb(), r() < 0.2 ? 'Controle bij huisarts' : ''].join(';'));
        count('zkh-ontslagmedicatie', d, d !== undefined);
      }
    }
    await writeFile(path.join(out, 'data/hospital/ontslagmedicatie.csv'), iconv.encode(rows.join('\r\n') + '\r\n', 'windows-1252'));
  }

  // VVT: ACP conversations as JSON lines, 'd-m-yyyy' dates.
  {
    const w = new Writer(path.join(out, 'data/vvt/acp-gesprekken.jsonl'));
    let id = 1;
    for (const p of patients) {
      if (r() >= 0.35) continue;
      const d = pickDefect(r, DEFECT_RATES.vvt);
      const when = new Date(d === 'staleAcp' ? Date.UTC(2020, 0, 1) + int(0, 1200) * DAY : Date.UTC(2023, 6, 1) + int(0, 720) * DAY);
      const wensen: Record<string, string> = {};
      for (const c of RIZA_COLUMNS) wensen[c] = pick(DECISIONS);
      // Reanimatie is always discussed, antibiotics never: 1 to 3 of the 4 directives remain.
      if (d === 'rizaIncomplete') for (const c of RIZA_COLUMNS) if (c === 'antibiotica' || (c !== 'reanimatie' && r() < 0.5)) delete wensen[c];
      const record = {
        gesprekId: `ACP-${pad(id++, 6)}`,
        // The care home's record has the resident's home town; the other exports carry no address.
        client: { bsn: d === 'badBsn' ? badBsn(p.bsn) : p.bsn, naam: `${p.given} ${p.family}`, geboortedatum: dmyyyy(p.birth), woonplaats: municipalityOf(p.bsn) },
        gesprek: { datum: dmyyyy(when), artsAgb: agb(), locatie: 'Locatie De Linde' },
        behandelwensen: wensen,
        wilsverklaring: r() < 0.2 ? pick(['EU', 'DO']) : null,
      };
      const text = JSON.stringify(record);
      await w.line(d === 'malformedLine' ? text.slice(0, Math.floor(text.length / 2)) : text);
      count('linde-acp', d, d === 'badBsn' || d === 'malformedLine');
    }
    await w.close();
  }

  // GP: medication use, comma CSV in UTF-8, yyyymmdd dates.
  {
    const w = new Writer(path.join(out, 'data/gp/medicatiegebruik.csv'));
    await w.line('patient_bsn,geboortedatum,start,stop,prk,omschrijving,gebruik,auteur_agb');
    for (const p of patients) {
      if (r() >= 0.5) continue;
      const d = pickDefect(r, DEFECT_RATES.gp);
      const med = pick(MEDICATIONS);
      const start = new Date(REF - int(30, 900) * DAY);
      const startText = d === 'missingStart' ? '' : d === 'badDate' ? `${start.getUTCFullYear()}1340` : yyyymmdd(start);
      const stop = r() < 0.3 ? yyyymmdd(new Date(start.getTime() + int(10, 90) * DAY)) : '';
      await w.line([p.bsn, yyyymmdd(p.birth), startText, stop, med.prk, `"${med.name}"`, pick(['ja', 'ja', 'nee']), agb()].join(','));
      count('anker-medicatiegebruik', d, d !== undefined);
    }
    await w.close();
  }

  // Pharmacy: a gzipped FHIR NDJSON dump of MedicationDispense (no .gz in the name: detected by magic bytes).
  {
    const lines: string[] = [];
    let id = 1;
    for (const p of patients) {
      if (r() >= 0.4) continue;
      const d = pickDefect(r, DEFECT_RATES.pharmacy);
      const med = pick(MEDICATIONS);
      const when = new Date(REF - int(1, 365) * DAY + int(8 * 60, 17 * 60) * 60_000);
      const resource: Record<string, unknown> = {
        resourceType: 'MedicationDispense',
        id: `gaper-${pad(id++, 7)}`,
        meta: { profile: ['http://nictiz.nl/fhir/StructureDefinition/mp-MedicationDispense'] },
        identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.4.3.11.999.77.373784005.1', value: `MVE-${id}` }],
        status: 'completed',
        category: { coding: [{ system: 'http://snomed.info/sct', code: '373784005', display: 'verstrekken van medicatie' }] },
        medicationCodeableConcept: { coding: [{ system: 'urn:oid:2.16.840.1.113883.2.4.4.10', code: med.prk, display: med.name }] },
        subject: { identifier: { system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: p.bsn }, display: `${p.given} ${p.family}` },
        quantity: { value: int(10, 90), unit: 'stuk', system: 'urn:oid:2.16.840.1.113883.2.4.4.1.900.2', code: '245' },
        whenHandedOver: when.toISOString().replace(/\.\d+Z$/, '+00:00'),
      };
      if (d === 'missingCategory') delete resource.category;
      const text = JSON.stringify(resource);
      lines.push(d === 'malformedLine' ? text.replace('"status":', '"status"') : text);
      count('gaper-verstrekkingen', d, d === 'malformedLine');
    }
    await writeFile(path.join(out, 'data/pharmacy/verstrekkingen-dump.ndjson'), gzipSync(lines.join('\n') + '\n', { level: 9 }));
  }

  // District nursing: nursing transfers, comma CSV in UTF-8, 'dd-mm-yyyy HH:mm'.
  {
    const w = new Writer(path.join(out, 'data/district-nursing/overdrachten.csv'));
    await w.line('overdracht_id,bsn,naam,geboortedatum,ontslag,verzonden,ontvanger_ura,ontvanger_naam,mobiliteit,toelichting');
    let id = 1;
    for (const p of patients) {
      if (r() >= 0.25) continue;
      const d = pickDefect(r, DEFECT_RATES.districtNursing);
      const discharge = new Date(REF - int(1, 365) * DAY + int(8 * 60, 16 * 60) * 60_000);
      const delayMin = d === 'lateTransfer' ? int(LATE_TRANSFER_HOURS * 60 + 60, 6 * 24 * 60) : int(-12 * 60, LATE_TRANSFER_HOURS * 60 - 60);
      const sent = new Date(discharge.getTime() + delayMin * 60_000);
      const dis = d === 'missingDischarge' ? '' : `${ddmmyyyy(discharge)} ${hhmm(discharge)}`;
      await w.line(
        [`OVD-${pad(id++, 6)}`, p.bsn, `"${p.given} ${p.family}"`, ddmmyyyy(p.birth), dis, `${ddmmyyyy(sent)} ${hhmm(sent)}`, ORGANISATIONS[5].ura, `"${ORGANISATIONS[5].name}"`, pick(Object.keys(MOBILITY)), r() < 0.3 ? '"Valrisico, let op bij transfers"' : ''].join(','),
      );
      count('vechtstreek-overdrachten', d, d === 'missingDischarge');
    }
    await w.close();
  }

  // ELV vendor: FHIR XML collection Bundles of treatment directives, 50 per file.
  {
    const entries: string[] = [];
    let file = 0;
    const flush = async () => {
      if (!entries.length) return;
      file++;
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Bundle xmlns="http://hl7.org/fhir">\n  <type value="collection"/>\n${entries.join('')}</Bundle>\n`;
      await writeFile(path.join(out, 'data/elv', `behandelgrenzen-${pad(file, 3)}.xml`), xml);
      entries.length = 0;
    };
    const codes = [
      ['89666000', 'Reanimatie'],
      ['305351004', 'Opname op intensive care'],
      ['32485007', 'Ziekenhuisopname'],
      ['281789004', 'Antibiotische therapie'],
    ];
    let id = 1;
    for (const p of patients) {
      if (r() >= 0.05) continue;
      const date = iso(new Date(REF - int(1, 500) * DAY));
      for (const [code, display] of codes) {
        const d = pickDefect(r, DEFECT_RATES.elv);
        const type = d === 'missingProvisionType' ? '' : `\n          <type value="${pick(['permit', 'deny'])}"/>`;
        entries.push(`  <entry>
    <fullUrl value="urn:uuid:00000000-0000-4000-8000-${pad(id, 12)}"/>
    <resource>
      <Consent>
        <id value="hoeve-${pad(id++, 6)}"/>
        <meta>
          <profile value="https://fhir.iknl.nl/fhir/StructureDefinition/ACP-TreatmentDirective"/>
        </meta>
        <status value="active"/>
        <scope>
          <coding>
            <system value="http://terminology.hl7.org/CodeSystem/consentscope"/>
            <code value="treatment"/>
          </coding>
        </scope>
        <category>
          <coding>
            <system value="http://snomed.info/sct"/>
            <code value="129125009"/>
          </coding>
        </category>
        <patient>
          <identifier>
            <system value="http://fhir.nl/fhir/NamingSystem/bsn"/>
            <value value="${p.bsn}"/>
          </identifier>
        </patient>
        <dateTime value="${date}"/>
        <policy>
          <uri value="https://wetten.overheid.nl/"/>
        </policy>
        <provision>${type}
          <code>
            <coding>
              <system value="http://snomed.info/sct"/>
              <code value="${code}"/>
              <display value="${display}"/>
            </coding>
          </code>
        </provision>
      </Consent>
    </resource>
  </entry>
`);
        count('hoeve-behandelgrenzen', d, false);
        if (entries.length >= 50) await flush();
      }
    }
    await flush();
  }

  await mkdir(path.join(out, 'mappings'), { recursive: true });
  await writeFile(path.join(out, 'mappings/zkh-medicatie.conceptmap.json'), JSON.stringify(medicationConceptMap(), null, 2) + '\n');
  await writeFile(path.join(out, 'planted-defects.json'), JSON.stringify(planted, null, 2) + '\n');
  await copyDemoConfig(out);
  return planted;
}

/** Hospital medication codes → G-Standaard PRK. */
export function medicationConceptMap(): Record<string, unknown> {
  return {
    resourceType: 'ConceptMap',
    id: 'zkh-vechtdal-medicatie',
    url: 'http://fhirdq.nl/fhir/ConceptMap/zkh-vechtdal-medicatie',
    status: 'active',
    group: [
      {
        source: 'urn:oid:2.16.840.1.113883.2.4.3.11.999.4.1',
        target: 'urn:oid:2.16.840.1.113883.2.4.4.10',
        element: MEDICATIONS.map((m) => ({ code: m.local, target: [{ code: m.prk, display: m.name, equivalence: 'equivalent' }] })),
      },
    ],
  };
}

const DEMO_DIR = fileURLToPath(new URL('../../fixtures/demo-region/', import.meta.url));

/** A generated region elsewhere gets the demo's run.yaml and mapping specs, so `fhirdq run` works on it. */
async function copyDemoConfig(out: string): Promise<void> {
  if (path.resolve(DEMO_DIR) === out) return;
  const run = await readFile(path.join(DEMO_DIR, 'run.yaml'), 'utf8');
  await writeFile(path.join(out, 'run.yaml'), run.replace(/^(\s*dir:\s*).*$/m, '$1reports'));
  for (const f of await readdir(path.join(DEMO_DIR, 'mappings'))) {
    if (f.endsWith('.yaml')) await cp(path.join(DEMO_DIR, 'mappings', f), path.join(out, 'mappings', f));
  }
}
