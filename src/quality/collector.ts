/**
 * Streaming quality measurement: fed one resource, issue and rejected record at a time, it keeps counts
 * per organisation × exchange (× profile × element) and, for rules that cross resources, a small state per
 * patient keyed by an HMAC with a random per-run key that is never written, so no identifier is kept in
 * the clear or reaches an output.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
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

/** Whether an example at this path could enter a full list (saves masking messages that would be dropped). */
const mayAdd = (list: Example[], path: string) => list.length < MAX_EXAMPLES || path <= list[list.length - 1].path;

/** FHIRPath location without indexes: Consent.provision[0].code[1] → Consent.provision.code. */
const stripIndexes = (p: string) => p.replace(/\[\d+\]/g, '');

interface Handler {
  type: string;
  profile?: string;
  where?: Evaluate;
  apply(resource: Record<string, unknown>, ctx: ResourceContext, profile: string, patient: () => PatientState | undefined): void;
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
  /** Per-run HMAC key: random, kept in memory only. */
  private readonly key = createSecretKey(randomBytes(32));
  private readonly handlers = new Map<string, Handler[]>();
  private readonly measures: MeasureResult[] = [];
  private readonly cells = new Map<string, Cell>();
  private readonly issueGroups = new Map<string, IssueGroup>();
  private readonly rejections = new Map<string, RejectionGroup>();
  private readonly suppressions: { def: SuppressionDef; path?: RegExp; result: SuppressionResult }[];
  private readonly identifierRules: { system: string; check: (v: string) => boolean; measure: MeasureResult }[] = [];
  private readonly patients = new Map<string, Map<string, PatientState>>();
  private readonly patientRules: PatientRule[] = [];
  private readonly indicatorRules: { def: IndicatorDef & { pack: string }; slot: number; cells: Map<string, IndicatorCell> }[] = [];
  private readonly conformance: MeasureResult[] = [];
  private readonly sourceCounts: QualitySummary['sources'] = {};
  private readonly index = new Map<MeasureResult, number>();
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
    const organisation = this.init.sources[rec.source]?.organisation ?? NONE;
    const path = stripIndexes(rec.expression ?? rec.resourceType);
    let suppressed: string | undefined;
    for (const s of this.suppressions) {
      if (s.def.messageId !== rec.messageId || (s.def.organisation && s.def.organisation !== organisation) || (s.path && !s.path.test(path))) continue;
      s.result.count++;
      suppressed = s.def.reason;
      break;
    }
    const key = `${rec.messageId}\0${rec.severity}\0${organisation}\0${rec.exchange}\0${rec.resourceType}\0${suppressed ?? ''}`;
    let g = this.issueGroups.get(key);
    if (!g) {
      g = { messageId: rec.messageId, severity: rec.severity, organisation, exchange: rec.exchange, resourceType: rec.resourceType, count: 0, examples: [] };
      if (suppressed) g.suppressed = suppressed;
      this.issueGroups.set(key, g);
    }
    g.count++;
    if (mayAdd(g.examples, path)) addExample(g.examples, { path, message: redact(rec.message) });
    const isError = !suppressed && (rec.severity === 'error' || rec.severity === 'fatal');
    if (this.init.vendor) this.vendorLocation(key, `${rec.file ?? rec.source}${rec.line ? `:${rec.line}` : ''} ${rec.resourceType}/${rec.id ?? '?'} ${rec.expression ?? ''}`.trim());
    if (isError) for (const m of this.conformance) if (mayAdd(m.examples, path)) addExample(m.examples, { path, message: `${rec.messageId}: ${redact(rec.message)}` });
    return isError;
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
      const c = this.cell(m, organisation, exchange);
      c.numerator += counts.mapped;
      c.denominator += counts.read;
    }
  }

  /**
   * Measures one resource (a Bundle's entries too). `hasErrors`: whether validation found an error not
   * suppressed; undefined when the run did not validate (conformance then does not count it).
   */
  resource(resource: FhirResource, ctx: ResourceContext, hasErrors?: boolean): void {
    const r = resource as Record<string, unknown>;
    const profile = profileOf(r);
    if (hasErrors !== undefined) {
      for (const m of this.conformance) {
        if (!this.appliesTo(m, ctx.exchange)) continue;
        const c = this.cell(m, ctx.organisation, ctx.exchange, profile);
        c.denominator++;
        if (!hasErrors) c.numerator++;
        else if (this.init.vendor) this.vendorLocation(m.id, `${resource.resourceType}/${resource.id ?? '?'}`);
      }
    }
    if (this.identifierRules.length) this.checkIdentifiers(r, ctx, `${resource.resourceType}`);
    if (resource.resourceType === 'Bundle' && Array.isArray(r.entry)) {
      const scope: BundleScope = new Map();
      for (const e of r.entry as Record<string, unknown>[]) {
        if (typeof e.fullUrl === 'string' && e.resource) scope.set(e.fullUrl, e.resource as Record<string, unknown>);
      }
      this.dispatch(r, ctx, profile, undefined);
      for (const e of r.entry as Record<string, unknown>[]) {
        const inner = e.resource as Record<string, unknown> | undefined;
        if (inner && typeof inner.resourceType === 'string') this.dispatch(inner, ctx, profileOf(inner), scope);
      }
    } else this.dispatch(r, ctx, profile, undefined);
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
    for (const [key, c] of this.cells) this.measures[Number(key.slice(0, key.indexOf('\0')))].cells.push(c);
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

  // --- internals ---

  private appliesTo(m: MeasureResult, exchange: string): boolean {
    const scope = this.scope.get(m);
    return !scope || scope.has(exchange);
  }

  private cell(m: MeasureResult, organisation: string, exchange: string, profile?: string, element?: string, level?: Cell['level']): Cell {
    const index = this.index.get(m)!;
    const key = `${index}\0${organisation}\0${exchange}\0${profile ?? ''}\0${element ?? ''}`;
    let c = this.cells.get(key);
    if (!c) {
      c = { organisation, exchange, ...(profile !== undefined ? { profile } : {}), ...(element !== undefined ? { element, level } : {}), numerator: 0, denominator: 0 };
      this.cells.set(key, c);
    }
    return c;
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

  private dispatch(r: Record<string, unknown>, ctx: ResourceContext, profile: string, bundle: BundleScope | undefined): void {
    const list = this.handlers.get(r.resourceType as string);
    if (!list) return;
    // The patient's state is looked up (one HMAC per key) at most once per resource.
    let looked = false;
    let state: PatientState | undefined;
    const patient = () => {
      if (!looked) {
        looked = true;
        state = this.patient(r, ctx.organisation, bundle);
      }
      return state;
    };
    for (const h of list) {
      if (h.profile && !hasProfile(r, h.profile)) continue;
      if (h.where && !isFilled(h.where(r))) continue;
      h.apply(r, ctx, profile, patient);
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
    this.index.set(res, this.measures.length);
    this.measures.push(res);
    this.scope.set(res, m.exchanges ? new Set(m.exchanges) : undefined);
    return res;
  }

  /** The per-organisation state of the patient a resource is about (created on first sight). */
  private patient(r: Record<string, unknown>, org: string, bundle: BundleScope | undefined): PatientState | undefined {
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
    const hashed = keys.map((k) => createHmac('sha256', this.key).update(k).digest('base64'));
    let state: PatientState | undefined;
    for (const h of hashed) if ((state = states.get(h))) break;
    if (!state) state = { slots: [] };
    for (const h of hashed) states.set(h, state);
    return state;
  }

  private compileMeasure(m: MeasureDef & { pack: string }): void {
    const refDate = this.init.referenceDate;
    switch (m.kind) {
      case 'conformance':
        this.conformance.push(this.result(m, 'resources without errors'));
        return;
      case 'records':
        this.result(m, 'records read that were mapped');
        return;
      case 'completeness': {
        const res = this.result(m, 'resources with the element');
        const elements = m.elements.map((e) => ({ ...e, name: e.name ?? e.path, fn: compileExpression(e.path) }));
        const own = elements.filter((e) => e.thresholds);
        if (own.length) res.elementThresholds = Object.fromEntries(own.map((e) => [e.name, e.thresholds!]));
        this.addHandler({
          type: m.resourceType,
          profile: m.profile,
          where: m.where ? compileExpression(m.where) : undefined,
          apply: (r, ctx, profile) => {
            if (!this.appliesTo(res, ctx.exchange)) return;
            for (const e of elements) {
              const c = this.cell(res, ctx.organisation, ctx.exchange, profile, e.name, e.level);
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
        this.identifierRules.push({ system: m.system, check: IDENTIFIER_CHECKS[m.scheme], measure: res });
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
          apply: (r, ctx) => {
            if (!this.appliesTo(res, ctx.exchange)) return;
            const c = this.cell(res, ctx.organisation, ctx.exchange);
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
    for (const source of sources) {
      this.addHandler({
        type: source.resourceType,
        profile: source.profile,
        where: source.where ? compileExpression(source.where) : undefined,
        apply: (r, ctx, _p, patient) => {
          if (!this.appliesTo(res, ctx.exchange)) return;
          const st = patient();
          if (!st) return;
          source.update(((st.slots[slot] as S | undefined) ??= init(ctx.exchange)), r);
        },
      });
    }
    this.patientRules.push({
      slot,
      judge: (st, org) => {
        const s = st.slots[slot] as S | undefined;
        const outcome = s && verdict(s);
        if (!s || outcome === undefined) return;
        const c = this.cell(res, org, s.exchange);
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
        apply: (r, ctx, _p, patient) => {
          const st = patient();
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
      apply: (r, ctx, _p, patient) => {
        const st = patient();
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

  /** Walks every object once for identifiers of the checked systems (Patient.identifier, references, Bundle entries). */
  private checkIdentifiers(node: unknown, ctx: ResourceContext, path: string): void {
    if (Array.isArray(node)) {
      for (const x of node) this.checkIdentifiers(x, ctx, path);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (typeof obj.system === 'string' && typeof obj.value === 'string') {
      for (const rule of this.identifierRules) {
        if (rule.system !== obj.system || !this.appliesTo(rule.measure, ctx.exchange)) continue;
        const c = this.cell(rule.measure, ctx.organisation, ctx.exchange);
        c.denominator++;
        if (rule.check(obj.value)) c.numerator++;
        else addExample(rule.measure.examples, { path, message: `malformed ${rule.system} identifier` });
      }
    }
    for (const k in obj) {
      const v = obj[k];
      if (v !== null && typeof v === 'object') this.checkIdentifiers(v, ctx, k === 'resource' ? path : `${path}.${k}`);
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
