/**
 * Streaming quality measurement: fed one resource, issue and rejected record at a time, it keeps counts
 * per organisation × exchange (× profile × element) and, for rules that cross resources, a small state per
 * patient keyed by a keyed hash with a random per-run key that is never written, so no identifier is kept in
 * the clear or reaches an output.
 */
import { hash, randomBytes } from 'node:crypto';
import type { FhirResource } from '../packages/types.js';
import { IDENTIFIER_CHECKS } from './identifiers.js';
import { AGREEMENTS, Agreements, Columns, CONFLICT, Interner, KeyTable, NO_AGREEMENT } from './patients.js';
import { compileExpression, firstString, isFilled, type Evaluate } from './paths.js';
import { cutoffDate, type IndicatorDef, type MeasureDef, type RuleSet, type SuppressionDef } from './rules.js';
import {
  addExample,
  finalize,
  MAX_EXAMPLES,
  type Cell,
  type Example,
  type IndicatorCell,
  type IndicatorResult,
  type IssueGroup,
  type MeasureResult,
  type QualitySummary,
  type RejectionGroup,
  type SuppressionResult,
} from './summary.js';

export interface ResourceContext {
  source: string;
  organisation: string;
  exchange: string;
}

/** One line of the pipeline's issues.ndjson. */
export interface IssueRecord {
  source: string;
  exchange: string;
  resourceType: string;
  id?: string;
  severity: 'fatal' | 'error' | 'warning' | 'information';
  messageId: string;
  message: string;
  expression?: string;
  file?: string;
  line?: number;
}

/** One line of the pipeline's rejected.ndjson. */
export interface RejectedRecord {
  source: string;
  /** Relative to the run config, or a server's search URL; a skipped source names its mapping spec. */
  file?: string;
  line?: number;
  pointer?: string;
  /** read, map, file (a file that could not be read) or source (a source skipped: its mapping spec is broken). */
  stage: string;
  field?: string;
  reason: string;
}

export interface CollectorInit {
  region: string;
  /** The day measures of currency are judged at (yyyy-mm-dd). */
  referenceDate: string;
  organisations: { id: string; name: string }[];
  exchanges: { id: string; title?: string }[];
  sources: Record<string, { organisation: string; exchange?: string }>;
  /** Keep resource locations of failing examples (data holder's own CI only, never coalition reports). */
  vendor?: boolean;
}

/** Resource locations per measure or issue group, for vendor-mode JUnit only. */
export type VendorDetail = Map<string, string[]>;
const VENDOR_LOCATIONS = 5;

const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';
const NONE = '(none)';

/** Masks values in messages: quoted text and long digit runs (BSNs, record numbers) never leave. */
export function redact(text: string): string {
  return text.replace(/'[^']*'/g, "'…'").replace(/(?<![\w.#/-])\d{6,}(?![\w.])/g, '#');
}

/** FHIRPath location without indexes: Consent.provision[0].code[1] → Consent.provision.code. */
const stripIndexes = (p: string) => p.replace(/\[\d+\]/g, '');

/**
 * Issues of one source × exchange × resource type. Validation repeats a few issue texts millions of times:
 * what a distinct text decides (its group, suppression, examples) is worked out once per site.
 */
export interface IssueSite {
  readonly source: string;
  readonly organisation: string;
  readonly exchange: string;
  readonly resourceType: string;
  readonly decisions: Map<string, Decision>;
}

interface Decision {
  group: IssueGroup;
  suppression?: SuppressionResult;
  error: boolean;
  /** Examples not yet offered: the same example offered again changes nothing (addExample keeps the first distinct ones). */
  examples?: { list: Example[]; example: Example }[];
}

/** Distinct texts remembered per site; beyond it the cache starts over (counts are unaffected). */
const DECISIONS = 4096;

/** Patient keys whose hash is remembered. */
const RECENT_HASHES = 1024;

/** Cells of one organisation × exchange (× profile), indexed by cell slot (a measure, or a measure's element). */
interface Scope {
  organisation: string;
  exchange: string;
  profile?: string;
  cells: (Cell | undefined)[];
}

interface CellSlot {
  measure: number;
  element?: string;
  level?: Cell['level'];
}

/** One resource being measured: the lookups its handlers share are made at most once. */
class Visit {
  private looked = false;
  private row = 0;
  private byProfile: Scope | undefined;
  private plain: Scope | undefined;

  constructor(
    private readonly collector: QualityCollector,
    readonly r: Record<string, unknown>,
    readonly ctx: ResourceContext,
    readonly profile: string,
    private readonly bundle: BundleScope | undefined,
  ) {}

  /** The cells of the resource's organisation, exchange and profile. */
  profileScope(): Scope {
    return (this.byProfile ??= this.collector.scopeOf(this.ctx.organisation, this.ctx.exchange, this.profile));
  }

  /** The cells of the resource's organisation and exchange. */
  scope(): Scope {
    return (this.plain ??= this.collector.scopeOf(this.ctx.organisation, this.ctx.exchange));
  }

  /** The patient's row (0: the resource names no patient): one hash per key, at most once per resource. */
  patient(): number {
    if (!this.looked) {
      this.looked = true;
      this.row = this.collector.patientOf(this.r, this.ctx.organisation, this.bundle);
    }
    return this.row;
  }
}

interface Handler {
  type: string;
  profile?: string;
  where?: Evaluate;
  apply(resource: Record<string, unknown>, visit: Visit): void;
}

type BundleScope = Map<string, Record<string, unknown>>;

/** Judges one patient row of an organisation at the end of the run. */
type PatientRule = (row: number, org: string) => void;

/** Resources a patient measure reads, and what each does to its patient's row. */
interface PatientSource {
  resourceType: string;
  profile?: string;
  where?: string;
  update: (row: number, resource: Record<string, unknown>) => void;
}

/** The one source of a measure defined on a single resource type. */
function sourceOf(m: { resourceType: string; profile?: string; where?: string }, update: PatientSource['update']): PatientSource {
  return { resourceType: m.resourceType, profile: m.profile, where: m.where, update };
}

export class QualityCollector {
  /** Per-run hash key: random, kept in memory only. */
  private readonly key = randomBytes(32).toString('base64');
  private readonly handlers = new Map<string, Handler[]>();
  private readonly measures: MeasureResult[] = [];
  /** organisation → exchange → profile → cells. */
  private readonly scopes = new Map<string, Map<string, Map<string | undefined, Scope>>>();
  private readonly cellSlots: CellSlot[] = [];
  private readonly sites = new Map<string, Map<string, Map<string, IssueSite>>>();
  private readonly issueGroups = new Map<string, IssueGroup>();
  private readonly rejections = new Map<string, RejectionGroup>();
  private readonly suppressions: { def: SuppressionDef; path?: RegExp; result: SuppressionResult }[];
  private readonly identifierRules: { system: string; check: (v: string) => boolean; measure: MeasureResult; slot: number }[] = [];
  /** The checked systems as they appear in JSON text. */
  private readonly identifierSystems: string[] = [];
  /**
   * Per-patient state: one row per patient and organisation, a column per field (organisation, demographics,
   * and each patient measure's and indicator's own); keyed hashes of the patient's keys (id, BSN) map to it.
   */
  private readonly patients = new Columns();
  private readonly patientKeys = new KeyTable();
  private readonly orgCol = this.patients.add();
  private readonly knownCol = this.patients.add();
  /** Birth date as birthNumber() + 1 (0: none). */
  private readonly birthCol = this.patients.add();
  private readonly municipalityCol = this.patients.add();
  /** Organisations, exchanges, municipalities, dates, codes and dosages held by patient rows. */
  private readonly strings = new Interner();
  /** Keys hashed lately: a patient's resources come together, so most lookups repeat a recent one. */
  private readonly recentHashes = new Map<string, string>();
  private readonly patientRules: PatientRule[] = [];
  private readonly indicatorRules: { def: IndicatorDef & { pack: string }; period: IndicatorResult['period']; col: number; cells: Map<string, IndicatorCell> }[] = [];
  private readonly conformanceMeasures: { measure: MeasureResult; slot: number }[] = [];
  private readonly sourceCounts: QualitySummary['sources'] = {};
  private readonly slotOf = new Map<MeasureResult, number>();
  private readonly scope = new Map<MeasureResult, Set<string> | undefined>();
  private demographics = false;
  readonly vendor: VendorDetail = new Map();
  /** Vendor mode only: each patient row's reference (Patient/id), for the locations of patient-level measures. */
  private readonly patientLabels = new Map<number, string>();

  constructor(
    private readonly rules: RuleSet,
    private readonly init: CollectorInit,
  ) {
    this.suppressions = rules.suppressions.map((def) => ({
      def,
      path: def.path ? globRegExp(stripIndexes(def.path)) : undefined,
      result: { messageId: def.messageId, path: def.path, organisation: def.organisation, reason: def.reason, count: 0 },
    }));
    for (const m of rules.measures) this.compileMeasure(m);
    for (const ind of rules.indicators) this.compileIndicator(ind);
  }

  /** Counts an issue; returns whether it makes its resource fail (an error not suppressed). */
  issue(rec: IssueRecord): boolean {
    const text = JSON.stringify({ severity: rec.severity, messageId: rec.messageId, message: rec.message, expression: rec.expression });
    return this.issueText(this.site(rec.source, rec.exchange, rec.resourceType), text.slice(1));
  }

  /** The site of issues of a source, exchange and resource type (the same object each time). */
  site(source: string, exchange: string, resourceType: string): IssueSite {
    let byExchange = this.sites.get(source);
    if (!byExchange) this.sites.set(source, (byExchange = new Map()));
    let byType = byExchange.get(exchange);
    if (!byType) byExchange.set(exchange, (byType = new Map()));
    let site = byType.get(resourceType);
    if (!site) byType.set(resourceType, (site = { source, organisation: this.init.sources[source]?.organisation ?? NONE, exchange, resourceType, decisions: new Map() }));
    return site;
  }

  /**
   * Counts an issue given as its own JSON members, without the opening brace: `"severity":…,"expression":…}`
   * (the tail of an issues.ndjson line). Returns whether it makes its resource fail (an error not suppressed).
   */
  issueText(site: IssueSite, text: string): boolean {
    let d = site.decisions.get(text);
    if (!d) {
      if (site.decisions.size >= DECISIONS) site.decisions.clear();
      site.decisions.set(text, (d = this.decide(site, JSON.parse(`{${text}`) as IssueRecord)));
    }
    d.group.count++;
    if (d.suppression) d.suppression.count++;
    if (d.examples) {
      for (const { list, example } of d.examples) addExample(list, example);
      d.examples = undefined;
    }
    return d.error;
  }

  rejected(rec: RejectedRecord): void {
    const src = this.init.sources[rec.source];
    // Numbers are masked so that records rejected for the same reason form one group; a file or a skipped
    // source is a group of its own, and keeps its line numbers and HTTP status.
    const perFile = rec.stage === 'file' || rec.stage === 'source';
    const reason = perFile ? redact(rec.reason) : redact(rec.reason).replace(/\b\d+\b(?!-)/g, '#');
    const key = `${rec.source}\0${rec.stage}\0${rec.field ?? ''}\0${reason}`;
    const g = this.rejections.get(key);
    if (g) g.count++;
    else this.rejections.set(key, { source: rec.source, organisation: src?.organisation ?? NONE, exchange: src?.exchange ?? NONE, stage: rec.stage, ...(rec.field ? { field: rec.field } : {}), reason, count: 1 });
    if (perFile) return;
    // A record not mapped fails the records measures of its source's exchange: the reason is their example.
    for (const m of this.measures) {
      if (m.kind !== 'records' || !this.appliesTo(m, src?.exchange ?? NONE)) continue;
      addExample(m.examples, { path: rec.field ?? rec.stage, message: redact(rec.reason) });
      if (this.init.vendor && rec.file !== undefined) this.vendorLocation(m.id, `${rec.file}${rec.line !== undefined ? `:${rec.line}` : ''}`);
    }
  }

  /** Per-source record counts (read, mapped, rejected) from the pipeline. */
  records(source: string, counts: { read: number; mapped: number; rejected: number }): void {
    const src = this.init.sources[source];
    const organisation = src?.organisation ?? NONE;
    const exchange = src?.exchange ?? NONE;
    this.sourceCounts[source] = { organisation, ...(src?.exchange ? { exchange } : {}), read: counts.read, mapped: counts.mapped, rejected: counts.rejected };
    for (const m of this.measures) {
      if (m.kind !== 'records' || !this.appliesTo(m, exchange)) continue;
      const c = this.cell(this.scopeOf(organisation, exchange), this.slotOf.get(m)!);
      c.numerator += counts.mapped;
      c.denominator += counts.read;
    }
  }

  /**
   * Measures one resource: `measure` and, when `hasErrors` is given, `conformance` (a run without
   * validation does not count conformance).
   */
  resource(resource: FhirResource, ctx: ResourceContext, hasErrors?: boolean): void {
    this.measure(resource, ctx);
    if (hasErrors !== undefined) this.conformance(resource, ctx, hasErrors);
  }

  /**
   * Everything but conformance: completeness, identifiers, regional rules, indicators (a Bundle's entries
   * too). `json`: the resource as JSON.stringify wrote it, when the caller has it: a resource whose text
   * names no checked identifier system is not walked for identifiers.
   */
  measure(resource: FhirResource, ctx: ResourceContext, json?: string): void {
    const r = resource as Record<string, unknown>;
    if (this.identifierRules.length && (json === undefined || this.identifierSystems.some((s) => json.includes(s)))) this.checkIdentifiers(r, ctx, [resource.resourceType], 1, r);
    if (resource.resourceType === 'Bundle' && Array.isArray(r.entry)) {
      const scope: BundleScope = new Map();
      for (const e of r.entry as Record<string, unknown>[]) {
        if (typeof e.fullUrl === 'string' && e.resource) scope.set(e.fullUrl, e.resource as Record<string, unknown>);
      }
      this.dispatch(new Visit(this, r, ctx, profileOf(r), undefined));
      for (const e of r.entry as Record<string, unknown>[]) {
        const inner = e.resource as Record<string, unknown> | undefined;
        if (inner && typeof inner.resourceType === 'string') this.dispatch(new Visit(this, inner, ctx, profileOf(inner), scope));
      }
    } else this.dispatch(new Visit(this, r, ctx, profileOf(r), undefined));
  }

  /** Counts a validated resource for the conformance measures. `hasErrors`: validation found an error not suppressed. */
  conformance(resource: FhirResource, ctx: ResourceContext, hasErrors: boolean): void {
    let scope: Scope | undefined;
    for (const { measure, slot } of this.conformanceMeasures) {
      if (!this.appliesTo(measure, ctx.exchange)) continue;
      const c = this.cell((scope ??= this.scopeOf(ctx.organisation, ctx.exchange, profileOf(resource as Record<string, unknown>))), slot);
      c.denominator++;
      if (!hasErrors) c.numerator++;
      else if (this.init.vendor) this.vendorLocation(measure.id, `${resource.resourceType}/${resource.id ?? '?'}`);
    }
  }

  /** Judges the patient-level rules and returns the summary (counts and derived statuses). */
  finish(run: { runId: string; startedAt: string }): QualitySummary {
    // Aliases (id and BSN of one patient) share a row: judge each once. A row no key maps to any more (two
    // rows joined by a resource naming both keys) is not judged.
    const live = new Uint8Array(this.patients.rows);
    this.patientKeys.forEachRow((row) => {
      live[row] = 1;
    });
    // In the order patients were first seen, not the key table's: examples and vendor locations are the same each run.
    const orgs = this.patients.col(this.orgCol);
    for (let row = 0; row < live.length; row++) {
      if (!live[row]) continue;
      const org = this.strings.values[orgs[row]];
      for (const rule of this.patientRules) rule(row, org);
      for (const ind of this.indicatorRules) this.countIndicator(ind, row, org);
    }
    this.patients.clear();
    this.patientKeys.clear();
    this.patientLabels.clear();
    for (const m of this.measures) m.cells = [];
    for (const byExchange of this.scopes.values()) {
      for (const byProfile of byExchange.values()) {
        for (const scope of byProfile.values()) {
          scope.cells.forEach((c, slot) => {
            if (c) this.measures[this.cellSlots[slot].measure].cells.push(c);
          });
        }
      }
    }
    return finalize({
      schemaVersion: 1,
      region: this.init.region,
      referenceDate: this.init.referenceDate,
      runs: [run],
      packs: this.rules.packs,
      organisations: this.init.organisations.map((o) => ({ id: o.id, name: o.name })),
      exchanges: this.init.exchanges.map((e) => ({ id: e.id, ...(e.title ? { title: e.title } : {}) })),
      sources: this.sourceCounts,
      measures: this.measures,
      issues: [...this.issueGroups.values()],
      rejections: [...this.rejections.values()],
      suppressions: this.suppressions.map((s) => s.result),
      indicators: this.indicatorRules.map(({ def, period, cells }) => ({
        id: def.id,
        pack: def.pack,
        title: def.title,
        ...(def.description ? { description: def.description } : {}),
        period,
        ...(def.target !== undefined ? { target: def.target } : {}),
        minCell: def.minCell,
        stratify: def.stratify,
        cells: [...cells.values()],
      })),
      status: {},
      readiness: [],
    });
  }

  /** The cells of an organisation × exchange (× profile). */
  scopeOf(organisation: string, exchange: string, profile?: string): Scope {
    let byExchange = this.scopes.get(organisation);
    if (!byExchange) this.scopes.set(organisation, (byExchange = new Map()));
    let byProfile = byExchange.get(exchange);
    if (!byProfile) byExchange.set(exchange, (byProfile = new Map()));
    let scope = byProfile.get(profile);
    if (!scope) byProfile.set(profile, (scope = { organisation, exchange, ...(profile !== undefined ? { profile } : {}), cells: [] }));
    return scope;
  }

  /** The per-organisation row of the patient a resource is about (created on first sight; 0: none named). */
  patientOf(r: Record<string, unknown>, org: string, bundle: BundleScope | undefined): number {
    const keys: string[] = [];
    if (r.resourceType === 'Patient') {
      if (typeof r.id === 'string') keys.push(`id:${r.id}`);
      const bsn = bsnOf(r.identifier);
      if (bsn) keys.push(`bsn:${bsn}`);
    } else {
      const ref = (r.subject ?? r.patient) as { reference?: string; identifier?: unknown } | undefined;
      if (!ref) return 0;
      if (typeof ref.reference === 'string') {
        const target = bundle?.get(ref.reference);
        if (target && typeof target.id === 'string') keys.push(`id:${target.id}`);
        else {
          const m = /(?:^|\/)Patient\/([^/]+)$/.exec(ref.reference);
          keys.push(m ? `id:${m[1]}` : `ref:${ref.reference}`);
        }
      }
      const bsn = bsnOf(ref.identifier);
      if (bsn) keys.push(`bsn:${bsn}`);
    }
    if (!keys.length) return 0;
    // A BSN is never a location: a patient known by BSN alone is labelled by another resource of it, or not at all.
    const label = this.init.vendor ? keys.find((k) => !k.startsWith('bsn:')) : undefined;
    for (let i = 0; i < keys.length; i++) keys[i] = this.hash(`${org}\0${keys[i]}`);
    let row = 0;
    for (const h of keys) if ((row = this.patientKeys.get(word(h, 0), word(h, 4), word(h, 8)))) break;
    if (!row) {
      row = this.patients.newRow();
      this.patients.col(this.orgCol)[row] = this.strings.id(org);
    }
    for (const h of keys) this.patientKeys.set(word(h, 0), word(h, 4), word(h, 8), row);
    if (label && !this.patientLabels.has(row)) this.patientLabels.set(row, label.startsWith('id:') ? `Patient/${label.slice(3)}` : label.slice(4));
    return row;
  }

  // --- internals ---

  /**
   * Keyed hash of a patient key: SHA-256 of the secret key and the patient key (a fixed-length secret prefix
   * makes it a PRF like HMAC; one-shot `hash` costs a quarter of an HMAC object), as 'binary' text (a char per
   * byte), whose first 96 bits are the key. Recent keys are remembered: no more of them than the resources in
   * flight, which hold them in the clear anyway.
   */
  private hash(key: string): string {
    let h = this.recentHashes.get(key);
    if (h === undefined) {
      h = hash('sha256', this.key + key, 'binary');
      if (this.recentHashes.size >= RECENT_HASHES) this.recentHashes.clear();
      this.recentHashes.set(key, h);
    }
    return h;
  }

  /** What an issue text decides at a site: its group, suppression and the examples it may add. */
  private decide(site: IssueSite, rec: IssueRecord): Decision {
    const path = stripIndexes(rec.expression ?? site.resourceType);
    let suppression: (typeof this.suppressions)[number] | undefined;
    for (const s of this.suppressions) {
      if (s.def.messageId !== rec.messageId || (s.def.organisation && s.def.organisation !== site.organisation) || (s.path && !s.path.test(path))) continue;
      suppression = s;
      break;
    }
    const suppressed = suppression?.def.reason;
    const key = `${rec.messageId}\0${rec.severity}\0${site.organisation}\0${site.exchange}\0${site.resourceType}\0${suppressed ?? ''}`;
    let group = this.issueGroups.get(key);
    if (!group) {
      group = { messageId: rec.messageId, severity: rec.severity, organisation: site.organisation, exchange: site.exchange, resourceType: site.resourceType, count: 0, examples: [] };
      if (suppressed) group.suppressed = suppressed;
      this.issueGroups.set(key, group);
    }
    const error = !suppressed && (rec.severity === 'error' || rec.severity === 'fatal');
    const message = redact(rec.message);
    const examples = [{ list: group.examples, example: { path, message } }];
    if (error) for (const { measure } of this.conformanceMeasures) examples.push({ list: measure.examples, example: { path, message: `${rec.messageId}: ${message}` } });
    return { group, suppression: suppression?.result, error, examples };
  }

  private appliesTo(m: MeasureResult, exchange: string): boolean {
    const scope = this.scope.get(m);
    return !scope || scope.has(exchange);
  }

  private cell(scope: Scope, slot: number): Cell {
    let c = scope.cells[slot];
    if (!c) {
      const { element, level } = this.cellSlots[slot];
      c = scope.cells[slot] = {
        organisation: scope.organisation,
        exchange: scope.exchange,
        ...(scope.profile !== undefined ? { profile: scope.profile } : {}),
        ...(element !== undefined ? { element, level } : {}),
        numerator: 0,
        denominator: 0,
      };
    }
    return c;
  }

  /** A new cell slot of a measure (one per element for completeness). */
  private newCellSlot(m: MeasureResult, element?: string, level?: Cell['level']): number {
    this.cellSlots.push({ measure: this.measures.indexOf(m), element, level });
    return this.cellSlots.length - 1;
  }

  private vendorLocation(key: string, location: string): void {
    const list = this.vendor.get(key) ?? [];
    if (list.length < VENDOR_LOCATIONS) list.push(location);
    this.vendor.set(key, list);
  }

  private addHandler(h: Handler): void {
    const list = this.handlers.get(h.type) ?? [];
    list.push(h);
    this.handlers.set(h.type, list);
  }

  private dispatch(v: Visit): void {
    const list = this.handlers.get(v.r.resourceType as string);
    if (!list) return;
    for (const h of list) {
      if (h.profile && !hasProfile(v.r, h.profile)) continue;
      if (h.where && !isFilled(h.where(v.r))) continue;
      h.apply(v.r, v);
    }
  }

  private result(m: MeasureDef & { pack: string }, unit: string): MeasureResult {
    const res: MeasureResult = {
      id: m.id,
      pack: m.pack,
      title: m.title,
      ...(m.description ? { description: m.description } : {}),
      category: m.category,
      kind: m.kind,
      ...(m.exchanges ? { exchanges: m.exchanges } : {}),
      unit,
      thresholds: m.thresholds,
      cells: [],
      examples: [],
    };
    this.measures.push(res);
    this.slotOf.set(res, this.newCellSlot(res));
    this.scope.set(res, m.exchanges ? new Set(m.exchanges) : undefined);
    return res;
  }

  private compileMeasure(m: MeasureDef & { pack: string }): void {
    const refDate = this.init.referenceDate;
    switch (m.kind) {
      case 'conformance': {
        const measure = this.result(m, 'resources without errors');
        this.conformanceMeasures.push({ measure, slot: this.slotOf.get(measure)! });
        return;
      }
      case 'records':
        this.result(m, 'records read that were mapped');
        return;
      case 'completeness': {
        const res = this.result(m, 'resources with the element');
        const elements = m.elements.map((e) => ({ ...e, name: e.name ?? e.path, fn: compileExpression(e.path), slot: this.newCellSlot(res, e.name ?? e.path, e.level) }));
        const own = elements.filter((e) => e.thresholds);
        if (own.length) res.elementThresholds = Object.fromEntries(own.map((e) => [e.name, e.thresholds!]));
        this.addHandler({
          type: m.resourceType,
          profile: m.profile,
          where: m.where ? compileExpression(m.where) : undefined,
          apply: (r, v) => {
            if (!this.appliesTo(res, v.ctx.exchange)) return;
            const scope = v.profileScope();
            for (const e of elements) {
              const c = this.cell(scope, e.slot);
              c.denominator++;
              if (isFilled(e.fn(r))) c.numerator++;
              else {
                addExample(res.examples, { path: `${m.resourceType}.${e.name}`, message: `${e.level} element missing` });
                if (this.init.vendor) this.vendorLocation(res.id, `${m.resourceType}/${r.id ?? '?'} ${e.name}`);
              }
            }
          },
        });
        return;
      }
      case 'identifier': {
        const res = this.result(m, 'identifiers well formed');
        this.identifierRules.push({ system: m.system, check: IDENTIFIER_CHECKS[m.scheme], measure: res, slot: this.slotOf.get(res)! });
        this.identifierSystems.push(JSON.stringify(m.system).slice(1, -1));
        return;
      }
      case 'transfer-timeliness': {
        const res = this.result(m, `transfers within ${m.maxHours} h of discharge`);
        const discharge = compileExpression(m.discharge);
        const sent = compileExpression(m.sent);
        const maxMs = m.maxHours * 3_600_000;
        this.addHandler({
          type: m.resourceType,
          profile: m.profile,
          where: m.where ? compileExpression(m.where) : undefined,
          apply: (r, v) => {
            if (!this.appliesTo(res, v.ctx.exchange)) return;
            const c = this.cell(v.scope(), this.slotOf.get(res)!);
            const d = Date.parse(firstString(discharge(r)) ?? '');
            const s = Date.parse(firstString(sent(r)) ?? '');
            if (Number.isNaN(d) || Number.isNaN(s)) {
              c.unknown = (c.unknown ?? 0) + 1;
              return;
            }
            c.denominator++;
            if (s - d <= maxMs) c.numerator++;
            else {
              addExample(res.examples, { path: `${m.resourceType}: ${m.sent}`, message: `sent more than ${m.maxHours} h after discharge` });
              if (this.init.vendor) this.vendorLocation(res.id, `${m.resourceType}/${r.id ?? '?'}`);
            }
          },
        });
        return;
      }
      case 'riza': {
        const res = this.result(m, 'patients with a current directive for each treatment');
        const names = Object.keys(m.codes);
        const bitOf = new Map(names.map((n, i) => [m.codes[n], 1 << i]));
        const full = (1 << names.length) - 1;
        const maskCol = this.patients.add();
        this.patientMeasure(res, [
          sourceOf(m, (row, r) => {
            if (!isCurrentDirective(r, refDate)) return;
            const provision = r.provision as { code?: { coding?: { system?: string; code?: string }[] }[] } | undefined;
            for (const cc of provision?.code ?? []) for (const cd of cc.coding ?? []) if (cd.system === m.codeSystem && cd.code) this.patients.col(maskCol)[row] |= bitOf.get(cd.code) ?? 0;
          }),
        ], (row) => {
          const mask = this.patients.col(maskCol)[row];
          return mask === full ? true : names.filter((_n, i) => !(mask & (1 << i))).map((n) => ({ path: `${m.resourceType}.provision.code`, message: `no current directive for ${n}` }));
        });
        return;
      }
      case 'acp-currency':
      case 'medication-currency': {
        const res = this.result(m, m.kind === 'acp-currency' ? 'patients whose latest ACP discussion is current' : 'patients whose medication overview was verified recently');
        const cutoff = cutoffDate(refDate, m.maxAge);
        const events = m.kind === 'acp-currency' ? m.events : [{ resourceType: m.resourceType, profile: m.profile, where: m.where, date: m.date }];
        const where = events.map((e) => `${e.resourceType}: ${e.date}`).join(', ');
        // The latest date, as its string's id.
        const latestCol = this.patients.add();
        const latest = (row: number) => this.strings.values[this.patients.col(latestCol)[row]];
        this.patientMeasure(
          res,
          events.map((ev) => {
            const date = compileExpression(ev.date);
            return {
              ...ev,
              update: (row, r) => {
                const d = firstString(date(r))?.slice(0, 10) ?? '';
                if (d > latest(row)) this.patients.col(latestCol)[row] = this.strings.id(d);
              },
            };
          }),
          (row) => {
            const d = latest(row);
            return d >= cutoff ? true : [{ path: where, message: d ? `latest date older than ${m.maxAge}` : 'no date recorded' }];
          },
        );
        return;
      }
      case 'medication-coherence': {
        const res = this.result(m, 'patients without contradictory overlapping agreements');
        const fns = { product: compileExpression(m.product), start: compileExpression(m.start), end: m.end ? compileExpression(m.end) : undefined, dosage: compileExpression(m.dosage), active: compileExpression(m.active) };
        const agreements = new Agreements(this.strings);
        // Per patient: NO_AGREEMENT, AGREEMENTS or CONFLICT, and the first of its stored agreements.
        const stateCol = this.patients.add();
        const headCol = this.patients.add();
        this.patientMeasure(res, [
          sourceOf(m, (row, r) => {
            if (!isFilled(fns.active(r))) return;
            const product = firstString(fns.product(r));
            if (!product) return;
            const state = this.patients.col(stateCol);
            // A conflict found is the verdict: later agreements cannot change it.
            if (state[row] === CONFLICT) return;
            const head = this.patients.col(headCol);
            const s = this.strings;
            const added = agreements.add(head[row], s.id(product), s.id(firstString(fns.start(r)) ?? ''), s.id((fns.end && firstString(fns.end(r))) || '\uffff'), s.id(JSON.stringify(fns.dosage(r))));
            if (added < 0) {
              state[row] = CONFLICT;
              agreements.free(head[row]);
              head[row] = 0;
            } else {
              state[row] = AGREEMENTS;
              head[row] = added;
            }
          }),
        ], (row) => {
          const state = this.patients.col(stateCol)[row];
          if (state === NO_AGREEMENT) return undefined;
          return state === CONFLICT ? [{ path: `${m.resourceType}: ${m.product}`, message: 'active agreements for one product overlap with different dosages' }] : true;
        });
        return;
      }
    }
  }

  /**
   * A measure over patients: every matching resource updates its patient's row (the measure's own columns,
   * zero at first); at the end each patient it saw counts once, in the exchange of the first resource it saw,
   * passing or with the reasons it fails (undefined: not counted).
   */
  private patientMeasure(
    res: MeasureResult,
    sources: PatientSource[],
    verdict: (row: number) => true | Example[] | undefined,
  ): void {
    // The exchange's string id: 0 until the measure sees the patient.
    const exchangeCol = this.patients.add();
    const cellSlot = this.slotOf.get(res)!;
    for (const source of sources) {
      this.addHandler({
        type: source.resourceType,
        profile: source.profile,
        where: source.where ? compileExpression(source.where) : undefined,
        apply: (r, v) => {
          if (!this.appliesTo(res, v.ctx.exchange)) return;
          const row = v.patient();
          if (!row) return;
          const exchanges = this.patients.col(exchangeCol);
          if (!exchanges[row]) exchanges[row] = this.strings.id(v.ctx.exchange);
          source.update(row, r);
        },
      });
    }
    this.patientRules.push((row, org) => {
      const exchange = this.patients.col(exchangeCol)[row];
      const outcome = exchange ? verdict(row) : undefined;
      if (outcome === undefined) return;
      const c = this.cell(this.scopeOf(org, this.strings.values[exchange]), cellSlot);
      c.denominator++;
      if (outcome === true) c.numerator++;
      else {
        for (const example of outcome) addExample(res.examples, example);
        if (this.init.vendor) this.vendorLocation(res.id, this.patientLabels.get(row) ?? 'a patient known by BSN only');
      }
    });
  }

  private compileIndicator(def: IndicatorDef & { pack: string }): void {
    // 1: the patient is in the numerator.
    const col = this.patients.add();
    const municipality = compileExpression(def.municipality);
    const date = def.numerator.date ? compileExpression(def.numerator.date) : undefined;
    const period = { start: def.period.start, end: def.period.end ?? this.init.referenceDate };
    this.indicatorRules.push({ def, period, col, cells: new Map() });
    // Demographics come from Patient resources, once for all indicators (the first one's municipality expression).
    if (!this.demographics) {
      this.demographics = true;
      this.addHandler({
        type: 'Patient',
        apply: (r, v) => {
          const row = v.patient();
          if (!row) return;
          this.patients.col(this.knownCol)[row] = 1;
          if (typeof r.birthDate === 'string') this.patients.col(this.birthCol)[row] = birthNumber(r.birthDate) + 1;
          const city = firstString(municipality(r));
          if (city) this.patients.col(this.municipalityCol)[row] = this.strings.id(city);
        },
      });
    }
    this.addHandler({
      type: def.numerator.resourceType,
      profile: def.numerator.profile,
      where: def.numerator.where ? compileExpression(def.numerator.where) : undefined,
      apply: (r, v) => {
        const row = v.patient();
        if (!row) return;
        if (date) {
          const d = firstString(date(r))?.slice(0, 10);
          if (!d || d < period.start || d > period.end) return;
        }
        this.patients.col(col)[row] = 1;
      },
    });
  }

  private countIndicator(ind: (typeof this.indicatorRules)[number], row: number, org: string): void {
    const { def, period } = ind;
    // The population: patients the organisation holds a Patient resource for.
    if (!this.patients.col(this.knownCol)[row]) return;
    const birth = this.patients.col(this.birthCol)[row] - 1;
    const age = birth >= 0 ? ageFrom(birth, period.end) : undefined;
    const constrained = def.population.minAge !== undefined || def.population.maxAge !== undefined;
    if (constrained && age === undefined) return;
    if (age !== undefined && ((def.population.minAge !== undefined && age < def.population.minAge) || (def.population.maxAge !== undefined && age > def.population.maxAge))) return;
    const band = age === undefined ? 'unknown' : ageBand(age, def.ageBands);
    const municipality = this.strings.values[this.patients.col(this.municipalityCol)[row]] || 'unknown';
    const key = `${org}\0${municipality}\0${band}`;
    let c = ind.cells.get(key);
    if (!c) ind.cells.set(key, (c = { organisation: org, municipality, ageBand: band, numerator: 0, denominator: 0 }));
    c.denominator++;
    if (this.patients.col(ind.col)[row]) c.numerator++;
  }

  /**
   * Walks every object once for identifiers of the checked systems (Patient.identifier, references, Bundle
   * entries). `path[0..depth)`: the element names down to `node`, joined only for an example.
   */
  private checkIdentifiers(node: unknown, ctx: ResourceContext, path: string[], depth: number, resource: Record<string, unknown>): void {
    if (Array.isArray(node)) {
      for (const x of node) this.checkIdentifiers(x, ctx, path, depth, resource);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (typeof obj.system === 'string' && typeof obj.value === 'string') {
      for (const rule of this.identifierRules) {
        if (rule.system !== obj.system || !this.appliesTo(rule.measure, ctx.exchange)) continue;
        const c = this.cell(this.scopeOf(ctx.organisation, ctx.exchange), rule.slot);
        c.denominator++;
        if (rule.check(obj.value)) c.numerator++;
        else {
          const at = path.slice(0, depth).join('.');
          addExample(rule.measure.examples, { path: at, message: `malformed ${rule.system} identifier` });
          if (this.init.vendor) this.vendorLocation(rule.measure.id, `${resource.resourceType}/${typeof resource.id === 'string' ? resource.id : '?'} ${at}`);
        }
      }
    }
    for (const k in obj) {
      const v = obj[k];
      if (v === null || typeof v !== 'object') continue;
      // A Bundle entry's resource keeps the path (Bundle.entry), as if it were the entry.
      if (k === 'resource') this.checkIdentifiers(v, ctx, path, depth, v as Record<string, unknown>);
      else {
        path[depth] = k;
        this.checkIdentifiers(v, ctx, path, depth + 1, resource);
      }
    }
  }
}

function profileOf(r: Record<string, unknown>): string {
  const p = (r.meta as { profile?: string[] } | undefined)?.profile;
  return p?.[0] ?? NONE;
}

function hasProfile(r: Record<string, unknown>, profile: string): boolean {
  const p = (r.meta as { profile?: string[] } | undefined)?.profile;
  return !!p?.some((x) => x === profile || x.startsWith(`${profile}|`));
}

function bsnOf(identifier: unknown): string | undefined {
  for (const id of Array.isArray(identifier) ? identifier : identifier ? [identifier] : []) {
    const i = id as { system?: string; value?: string };
    if (i.system === BSN_SYSTEM && i.value) return i.value;
  }
  return undefined;
}

/** Active, and not ended before the reference date. */
function isCurrentDirective(r: Record<string, unknown>, referenceDate: string): boolean {
  if (r.status !== 'active') return false;
  const end = (r.provision as { period?: { end?: string } } | undefined)?.period?.end;
  return !end || end.slice(0, 10) >= referenceDate;
}

export function ageAt(birthDate: string, date: string): number | undefined {
  const b = birthNumber(birthDate);
  return b < 0 ? undefined : ageFrom(b, date);
}

/** A birth date (yyyy, yyyy-mm or yyyy-mm-dd, missing parts 1) as yyyymmdd; -1 if it is none. */
function birthNumber(birthDate: string): number {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  return m ? Number(m[1]) * 10000 + Number(m[2] ?? 1) * 100 + Number(m[3] ?? 1) : -1;
}

/** Age on a date (yyyy-mm-dd) of one born on `birth` (yyyymmdd). */
function ageFrom(birth: number, date: string): number {
  const [y, mo, d] = [Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10))];
  const bm = Math.floor(birth / 100) % 100;
  let age = y - Math.floor(birth / 10000);
  if (mo < bm || (mo === bm && d < birth % 100)) age--;
  return age;
}

/** Word `at` (a byte offset) of a latin1 digest, as a 32-bit integer. */
function word(h: string, at: number): number {
  return h.charCodeAt(at) | (h.charCodeAt(at + 1) << 8) | (h.charCodeAt(at + 2) << 16) | (h.charCodeAt(at + 3) << 24);
}

export function ageBand(age: number, bands: readonly number[]): string {
  let label = 'unknown';
  for (let i = 0; i < bands.length; i++) {
    if (age < bands[i]) break;
    label = i + 1 < bands.length ? `${bands[i]}-${bands[i + 1] - 1}` : `${bands[i]}+`;
  }
  return label;
}

/** Glob (`*` = any text) to an anchored RegExp. */
function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

export type { Example };
