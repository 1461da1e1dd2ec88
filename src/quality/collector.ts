/**
 * Streaming quality measurement: fed one resource, issue and rejected record at a time, it keeps counts
 * per organisation × exchange (× profile × element) and, for rules that cross resources, a small state per
 * patient keyed by a keyed hash with a random per-run key that is never written, so no identifier is kept in
 * the clear or reaches an output.
 */
import { hash, randomBytes } from 'node:crypto';
import type { FhirResource } from '../packages/types.js';
import { IDENTIFIER_CHECKS } from './identifiers.js';
import { compileExpression, firstString, isFilled, type Evaluate } from './paths.js';
import { cutoffDate, type IndicatorDef, type MeasureDef, type RuleSet, type SuppressionDef } from './rules.js';
import {
  addExample,
  finalize,
  MAX_EXAMPLES,
  type Cell,
  type Example,
  type IndicatorCell,
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
  private state: PatientState | undefined;
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

  /** The patient's state: one hash per key, at most once per resource. */
  patient(): PatientState | undefined {
    if (!this.looked) {
      this.looked = true;
      this.state = this.collector.patientOf(this.r, this.ctx.organisation, this.bundle);
    }
    return this.state;
  }
}

interface Handler {
  type: string;
  profile?: string;
  where?: Evaluate;
  apply(resource: Record<string, unknown>, visit: Visit): void;
}

type BundleScope = Map<string, Record<string, unknown>>;

/** Per-patient state of one organisation; measures and indicators keep one slot each. */
interface PatientState {
  /** A Patient resource of the organisation was seen. */
  known?: boolean;
  birthDate?: string;
  municipality?: string;
  slots: unknown[];
}

interface PatientRule {
  slot: number;
  judge(state: PatientState, org: string): void;
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
  private readonly patients = new Map<string, Map<string, PatientState>>();
  /** Keys hashed lately: a patient's resources come together, so most lookups repeat a recent one. */
  private readonly recentHashes = new Map<string, string>();
  private readonly patientRules: PatientRule[] = [];
  private readonly indicatorRules: { def: IndicatorDef & { pack: string }; slot: number; cells: Map<string, IndicatorCell> }[] = [];
  private readonly conformanceMeasures: { measure: MeasureResult; slot: number }[] = [];
  private readonly sourceCounts: QualitySummary['sources'] = {};
  private readonly slotOf = new Map<MeasureResult, number>();
  private readonly scope = new Map<MeasureResult, Set<string> | undefined>();
  private demographics = false;
  private slots = 0;
  readonly vendor: VendorDetail = new Map();

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
    const reason = redact(rec.reason).replace(/\b\d+\b(?!-)/g, '#');
    const key = `${rec.source}\0${rec.stage}\0${rec.field ?? ''}\0${reason}`;
    const g = this.rejections.get(key);
    if (g) g.count++;
    else this.rejections.set(key, { source: rec.source, organisation: src?.organisation ?? NONE, exchange: src?.exchange ?? NONE, stage: rec.stage, ...(rec.field ? { field: rec.field } : {}), reason, count: 1 });
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
    if (this.identifierRules.length && (json === undefined || this.identifierSystems.some((s) => json.includes(s)))) this.checkIdentifiers(r, ctx, [resource.resourceType], 1);
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
    for (const [org, states] of this.patients) {
      // Aliases (id and BSN of one patient) share a state object: judge each once.
      for (const state of new Set(states.values())) {
        for (const rule of this.patientRules) rule.judge(state, org);
        for (const ind of this.indicatorRules) this.countIndicator(ind, state, org);
      }
    }
    this.patients.clear();
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
      indicators: this.indicatorRules.map(({ def, cells }) => ({
        id: def.id,
        pack: def.pack,
        title: def.title,
        ...(def.description ? { description: def.description } : {}),
        period: def.period,
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

  /** The per-organisation state of the patient a resource is about (created on first sight). */
  patientOf(r: Record<string, unknown>, org: string, bundle: BundleScope | undefined): PatientState | undefined {
    const keys: string[] = [];
    if (r.resourceType === 'Patient') {
      if (typeof r.id === 'string') keys.push(`id:${r.id}`);
      const bsn = bsnOf(r.identifier);
      if (bsn) keys.push(`bsn:${bsn}`);
    } else {
      const ref = (r.subject ?? r.patient) as { reference?: string; identifier?: unknown } | undefined;
      if (!ref) return undefined;
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
    if (!keys.length) return undefined;
    let states = this.patients.get(org);
    if (!states) this.patients.set(org, (states = new Map()));
    for (let i = 0; i < keys.length; i++) keys[i] = this.hash(keys[i]);
    let state: PatientState | undefined;
    for (const h of keys) if ((state = states.get(h))) break;
    if (!state) state = { slots: [] };
    for (const h of keys) states.set(h, state);
    return state;
  }

  // --- internals ---

  /**
   * Keyed hash of a patient key: SHA-256 of the secret key and the patient key (a fixed-length secret prefix
   * makes it a PRF like HMAC; one-shot `hash` costs a quarter of an HMAC object). Recent keys are remembered:
   * no more of them than the resources in flight, which hold them in the clear anyway.
   */
  private hash(key: string): string {
    let h = this.recentHashes.get(key);
    if (h === undefined) {
      h = hash('sha256', this.key + key, 'base64');
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
        this.patientMeasure<{ exchange: string; mask: number }>(res, (exchange) => ({ exchange, mask: 0 }), [
          {
            resourceType: m.resourceType,
            profile: m.profile,
            where: m.where,
            update: (s, r) => {
              if (!isCurrentDirective(r, refDate)) return;
              const provision = r.provision as { code?: { coding?: { system?: string; code?: string }[] }[] } | undefined;
              for (const cc of provision?.code ?? []) for (const cd of cc.coding ?? []) if (cd.system === m.codeSystem && cd.code) s.mask |= bitOf.get(cd.code) ?? 0;
            },
          },
        ], (s) =>
          s.mask === full
            ? true
            : names.filter((_n, i) => !(s.mask & (1 << i))).map((n) => ({ path: `${m.resourceType}.provision.code`, message: `no current directive for ${n}` })),
        );
        return;
      }
      case 'acp-currency':
      case 'medication-currency': {
        const res = this.result(m, m.kind === 'acp-currency' ? 'patients whose latest ACP discussion is current' : 'patients whose medication overview was verified recently');
        const cutoff = cutoffDate(refDate, m.maxAge);
        const events = m.kind === 'acp-currency' ? m.events : [{ resourceType: m.resourceType, profile: m.profile, where: m.where, date: m.date }];
        const where = events.map((e) => `${e.resourceType}: ${e.date}`).join(', ');
        this.patientMeasure<{ exchange: string; latest: string }>(
          res,
          (exchange) => ({ exchange, latest: '' }),
          events.map((ev) => {
            const date = compileExpression(ev.date);
            return {
              ...ev,
              update: (s, r) => {
                const d = firstString(date(r))?.slice(0, 10) ?? '';
                if (d > s.latest) s.latest = d;
              },
            };
          }),
          (s) => (s.latest >= cutoff ? true : [{ path: where, message: s.latest ? `latest date older than ${m.maxAge}` : 'no date recorded' }]),
        );
        return;
      }
      case 'medication-coherence': {
        const res = this.result(m, 'patients without contradictory overlapping agreements');
        const fns = { product: compileExpression(m.product), start: compileExpression(m.start), end: m.end ? compileExpression(m.end) : undefined, dosage: compileExpression(m.dosage), active: compileExpression(m.active) };
        type S = { exchange: string; agreements: { product: string; start: string; end: string; dosage: string }[]; conflict: boolean };
        this.patientMeasure<S>(res, (exchange) => ({ exchange, agreements: [], conflict: false }), [
          {
            resourceType: m.resourceType,
            profile: m.profile,
            where: m.where,
            update: (s, r) => {
              if (!isFilled(fns.active(r))) return;
              const product = firstString(fns.product(r));
              if (!product) return;
              const a = { product, start: firstString(fns.start(r)) ?? '', end: (fns.end && firstString(fns.end(r))) || '\uffff', dosage: JSON.stringify(fns.dosage(r)) };
              for (const b of s.agreements) {
                if (b.product === a.product && b.dosage !== a.dosage && a.start <= b.end && b.start <= a.end) s.conflict = true;
              }
              s.agreements.push(a);
            },
          },
        ], (s) => {
          if (!s.agreements.length) return undefined;
          return s.conflict ? [{ path: `${m.resourceType}: ${m.product}`, message: 'active agreements for one product overlap with different dosages' }] : true;
        });
        return;
      }
    }
  }

  /**
   * A measure over patients: every matching resource updates its patient's state; at the end each patient with
   * state counts once, passing or with the reasons it fails (undefined: not counted).
   */
  private patientMeasure<S extends { exchange: string }>(
    res: MeasureResult,
    init: (exchange: string) => S,
    sources: Array<{ resourceType: string; profile?: string; where?: string; update: (state: S, resource: Record<string, unknown>) => void }>,
    verdict: (state: S) => true | Example[] | undefined,
  ): void {
    const slot = this.slots++;
    const cellSlot = this.slotOf.get(res)!;
    for (const source of sources) {
      this.addHandler({
        type: source.resourceType,
        profile: source.profile,
        where: source.where ? compileExpression(source.where) : undefined,
        apply: (r, v) => {
          if (!this.appliesTo(res, v.ctx.exchange)) return;
          const st = v.patient();
          if (!st) return;
          source.update(((st.slots[slot] as S | undefined) ??= init(v.ctx.exchange)), r);
        },
      });
    }
    this.patientRules.push({
      slot,
      judge: (st, org) => {
        const s = st.slots[slot] as S | undefined;
        const outcome = s && verdict(s);
        if (!s || outcome === undefined) return;
        const c = this.cell(this.scopeOf(org, s.exchange), cellSlot);
        c.denominator++;
        if (outcome === true) c.numerator++;
        else for (const example of outcome) addExample(res.examples, example);
      },
    });
  }

  private compileIndicator(def: IndicatorDef & { pack: string }): void {
    const slot = this.slots++;
    const municipality = compileExpression(def.municipality);
    const date = def.numerator.date ? compileExpression(def.numerator.date) : undefined;
    this.indicatorRules.push({ def, slot, cells: new Map() });
    // Demographics come from Patient resources, once for all indicators (the first one's municipality expression).
    if (!this.demographics) {
      this.demographics = true;
      this.addHandler({
        type: 'Patient',
        apply: (r, v) => {
          const st = v.patient();
          if (!st) return;
          st.known = true;
          if (typeof r.birthDate === 'string') st.birthDate = r.birthDate;
          const city = firstString(municipality(r));
          if (city) st.municipality = city;
        },
      });
    }
    this.addHandler({
      type: def.numerator.resourceType,
      profile: def.numerator.profile,
      where: def.numerator.where ? compileExpression(def.numerator.where) : undefined,
      apply: (r, v) => {
        const st = v.patient();
        if (!st) return;
        if (date) {
          const d = firstString(date(r))?.slice(0, 10);
          if (!d || d < def.period.start || d > def.period.end) return;
        }
        st.slots[slot] = true;
      },
    });
  }

  private countIndicator(ind: (typeof this.indicatorRules)[number], st: PatientState, org: string): void {
    const { def } = ind;
    // The population: patients the organisation holds a Patient resource for.
    if (!st.known) return;
    const age = st.birthDate ? ageAt(st.birthDate, def.period.end) : undefined;
    const constrained = def.population.minAge !== undefined || def.population.maxAge !== undefined;
    if (constrained && age === undefined) return;
    if (age !== undefined && ((def.population.minAge !== undefined && age < def.population.minAge) || (def.population.maxAge !== undefined && age > def.population.maxAge))) return;
    const band = age === undefined ? 'unknown' : ageBand(age, def.ageBands);
    const municipality = st.municipality ?? 'unknown';
    const key = `${org}\0${municipality}\0${band}`;
    let c = ind.cells.get(key);
    if (!c) ind.cells.set(key, (c = { organisation: org, municipality, ageBand: band, numerator: 0, denominator: 0 }));
    c.denominator++;
    if (st.slots[ind.slot]) c.numerator++;
  }

  /**
   * Walks every object once for identifiers of the checked systems (Patient.identifier, references, Bundle
   * entries). `path[0..depth)`: the element names down to `node`, joined only for an example.
   */
  private checkIdentifiers(node: unknown, ctx: ResourceContext, path: string[], depth: number): void {
    if (Array.isArray(node)) {
      for (const x of node) this.checkIdentifiers(x, ctx, path, depth);
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
        else addExample(rule.measure.examples, { path: path.slice(0, depth).join('.'), message: `malformed ${rule.system} identifier` });
      }
    }
    for (const k in obj) {
      const v = obj[k];
      if (v === null || typeof v !== 'object') continue;
      // A Bundle entry's resource keeps the path (Bundle.entry), as if it were the entry.
      if (k === 'resource') this.checkIdentifiers(v, ctx, path, depth);
      else {
        path[depth] = k;
        this.checkIdentifiers(v, ctx, path, depth + 1);
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
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!m) return undefined;
  const [y, mo, d] = [Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10))];
  let age = y - Number(m[1]);
  if (mo < Number(m[2] ?? 1) || (mo === Number(m[2] ?? 1) && d < Number(m[3] ?? 1))) age--;
  return age;
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
