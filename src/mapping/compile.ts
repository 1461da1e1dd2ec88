/**
 * Compiles a mapping spec into a row → resources function. Templates are plain FHIR JSON in which an
 * object with a `$`-key is an expression; every expression is compiled once into a closure.
 */
import { hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FhirResource } from '../packages/types.js';
import { codeMapFromConceptMap, codeMapFromTable, type CodeMap, type TargetCoding } from './codemaps.js';
import { mappingSpecSchema, type MappingSpec, type ResourceSpec } from './spec.js';
import { quoted, TRANSFORMS, TRANSFORM_NAMES, TransformError, type TransformName } from './transforms.js';
import { loadYaml, SpecErrors, type LoadedYaml, type SpecError, type YamlPath } from './yaml-file.js';

export interface MappedResource {
  /** The spec's resource name. */
  name: string;
  exchange?: string;
  profile?: string;
  /** Emit only the first time this Type/id is seen in a run, per exchange. */
  once: boolean;
  resource: FhirResource;
}

export type MapResult = { ok: true; resources: MappedResource[] } | { ok: false; field: string; reason: string };

export interface CoverageReport {
  spec: string;
  records: number;
  /** Columns present in the data and referenced by no expression, with how many records had a value. */
  unmappedColumns: { column: string; filled: number }[];
  /** Local codes not in their code map, most frequent first. */
  unmappedCodes: { map: string; column: string; code: string; count: number }[];
}

export interface Mapper {
  readonly specFile: string;
  map(row: Record<string, unknown>): MapResult;
  /** Resources whose exchange (their own, the spec's, else `fallback`) is none or not in `known`, at their place in the spec. */
  exchangeProblems(fallback: string | undefined, known: ReadonlySet<string>): SpecError[];
  coverage(): CoverageReport;
}

/** Thrown while evaluating a row; becomes a rejection. */
class RowReject {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {}
}

interface Ctx {
  row: Record<string, unknown>;
  ids: Map<string, string>;
  /** The row's values joined, for row-keyed ids; computed once per row. */
  rowKey?: string;
}

type Ev = (ctx: Ctx) => unknown;
interface Compiled {
  constant: boolean;
  value?: unknown;
  ev: Ev;
}

const constant = (value: unknown): Compiled => ({ constant: true, value, ev: () => value });
const dynamic = (ev: Ev): Compiled => ({ constant: false, ev });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
}

/** Deterministic UUID (name-based, SHA-1, RFC 4122 layout) so ids also serve as urn:uuid fullUrls. */
export function deterministicId(key: string): string {
  // One-shot hash: half the cost of a Hash object per id, same digest (ids stay stable across versions).
  const h = hash('sha1', key, 'hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function substitute(node: unknown, vars: Record<string, string>): unknown {
  if (typeof node === 'string') return node.replace(/\$\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
  if (Array.isArray(node)) return node.map((n) => substitute(n, vars));
  if (isPlainObject(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v, vars)]));
  return node;
}

interface Unit {
  spec: ResourceSpec;
  /** Index among the expansions of `each` (0 without each). */
  eachIndex: number;
  template: Record<string, unknown>;
  when?: unknown;
  idFrom?: unknown[];
  path: YamlPath;
}

class Compiler {
  readonly usedColumns = new Set<string>();
  readonly unmapped = new Map<string, { map: string; column: string; code: string; count: number }>();
  private bundled = new Set<string>();
  private typeOf = new Map<string, string>();
  private eachNames = new Set<string>();

  constructor(
    private readonly loaded: LoadedYaml<MappingSpec>,
    private readonly codeMaps: Map<string, CodeMap>,
  ) {
    const spec = loaded.value;
    const names = new Set<string>();
    spec.resources.forEach((r, i) => {
      if (names.has(r.name)) throw this.err(['resources', i, 'name'], `duplicate resource name '${r.name}'`);
      names.add(r.name);
      this.typeOf.set(r.name, r.resourceType);
      if (r.each) this.eachNames.add(r.name);
    });
    spec.resources.forEach((r, i) => {
      if (!r.bundle) return;
      r.bundle.entries.forEach((e, j) => {
        const at = spec.resources.findIndex((x) => x.name === e);
        if (at < 0 || at >= i) throw this.err(['resources', i, 'bundle', 'entries', j], `no resource named '${e}' defined before this Bundle`);
        this.bundled.add(e);
      });
    });
  }

  err(path: YamlPath, detail: string) {
    return new SpecErrors([this.loaded.error(path, detail)]);
  }

  isBundled(name: string): boolean {
    return this.bundled.has(name);
  }

  column(raw: unknown, path: YamlPath): string[] {
    if (typeof raw !== 'string' || raw === '') throw this.err(path, 'expected a column name');
    const parts = raw.split('.');
    this.usedColumns.add(parts[0]);
    return parts;
  }

  compile(node: unknown, path: YamlPath, inBundle: boolean): Compiled {
    if (Array.isArray(node)) return this.compileArray(node, path, inBundle);
    if (!isPlainObject(node)) return constant(node);
    const op = Object.keys(node).find((k) => k.startsWith('$'));
    if (op) return this.compileExpr(op, node, path, inBundle);
    const fields = Object.entries(node).map(([k, v]) => [k, this.compile(v, [...path, k], inBundle)] as const);
    if (fields.every(([, c]) => c.constant)) return constant(node);
    return dynamic((ctx) => {
      const out: Record<string, unknown> = {};
      for (const [k, c] of fields) {
        const v = c.ev(ctx);
        if (!isEmpty(v)) out[k] = v;
      }
      return out;
    });
  }

  private compileArray(node: unknown[], path: YamlPath, inBundle: boolean): Compiled {
    const items = node.map((n, i) => this.compile(n, [...path, i], inBundle));
    if (items.every((c) => c.constant)) return constant(node);
    return dynamic((ctx) => {
      const out: unknown[] = [];
      for (const c of items) {
        const v = c.ev(ctx);
        if (Array.isArray(v)) out.push(...v);
        else if (!isEmpty(v)) out.push(v);
      }
      return out;
    });
  }

  private allowOnly(node: Record<string, unknown>, path: YamlPath, op: string, keys: string[]): void {
    for (const k of Object.keys(node)) {
      if (k !== op && !keys.includes(k)) throw this.err([...path, k], `unknown option '${k}' for ${op} (allowed: ${keys.join(', ') || 'none'})`);
    }
  }

  private compileExpr(op: string, node: Record<string, unknown>, path: YamlPath, inBundle: boolean): Compiled {
    switch (op) {
      case '$col':
        return this.compileCol(node, path);
      case '$code':
        return this.compileCode(node, path);
      case '$ref':
        return this.compileRef(node, path, inBundle);
      case '$id': {
        this.allowOnly(node, path, op, []);
        const name = this.resourceName(node.$id, [...path, '$id']);
        return dynamic((ctx) => ctx.ids.get(name));
      }
      case '$concat': {
        this.allowOnly(node, path, op, ['sep']);
        if (!Array.isArray(node.$concat)) throw this.err([...path, '$concat'], 'expected a list');
        const parts = node.$concat.map((p, i) => this.compile(p, [...path, '$concat', i], inBundle));
        const sep = typeof node.sep === 'string' ? node.sep : '';
        return dynamic((ctx) => {
          const vals = parts.map((p) => p.ev(ctx)).filter((v) => !isEmpty(v));
          return vals.length ? vals.join(sep) : undefined;
        });
      }
      case '$if': {
        this.allowOnly(node, path, op, ['equals', 'then', 'else']);
        const col = this.column(node.$if, [...path, '$if']);
        const equals = node.equals === undefined ? undefined : new Set((Array.isArray(node.equals) ? node.equals : [node.equals]).map(String));
        if (node.then === undefined) throw this.err(path, '$if needs a then');
        const then = this.compile(node.then, [...path, 'then'], inBundle);
        const otherwise = node.else === undefined ? undefined : this.compile(node.else, [...path, 'else'], inBundle);
        return dynamic((ctx) => {
          const v = getValue(ctx.row, col);
          const hit = v !== undefined && (equals === undefined || equals.has(String(v)));
          return hit ? then.ev(ctx) : otherwise?.ev(ctx);
        });
      }
      default:
        throw this.err([...path, op], `unknown expression '${op}' (known: $col, $code, $ref, $id, $concat, $if)`);
    }
  }

  private compileCol(node: Record<string, unknown>, path: YamlPath): Compiled {
    this.allowOnly(node, path, '$col', ['as', 'required', 'default']);
    const col = this.column(node.$col, [...path, '$col']);
    const field = col.join('.');
    let transform: ((raw: string) => unknown) | undefined;
    if (node.as !== undefined) {
      if (!TRANSFORM_NAMES.includes(node.as as TransformName)) throw this.err([...path, 'as'], `unknown transform '${String(node.as)}' (known: ${TRANSFORM_NAMES.join(', ')})`);
      transform = TRANSFORMS[node.as as TransformName];
    }
    const required = node.required === true;
    const dflt = node.default === undefined ? undefined : String(node.default);
    return dynamic((ctx) => {
      let v = getValue(ctx.row, col);
      if (v === undefined) v = dflt;
      if (v === undefined) {
        if (required) throw new RowReject(field, col[0] in ctx.row ? 'required value is missing' : `required value is missing: the record has no column or field '${col[0]}'`);
        return undefined;
      }
      if (typeof v !== 'string' || !transform) return v;
      try {
        return transform(v);
      } catch (e) {
        if (e instanceof TransformError) throw new RowReject(field, e.message);
        throw e;
      }
    });
  }

  private compileCode(node: Record<string, unknown>, path: YamlPath): Compiled {
    this.allowOnly(node, path, '$code', ['map', 'as', 'required']);
    const col = this.column(node.$code, [...path, '$code']);
    const field = col.join('.');
    const mapName = String(node.map);
    const map = this.codeMaps.get(mapName);
    if (!map) throw this.err([...path, 'map'], `no code map named '${mapName}' in codeMaps`);
    const as = node.as ?? 'CodeableConcept';
    if (as !== 'CodeableConcept' && as !== 'Coding' && as !== 'code') throw this.err([...path, 'as'], "as is one of CodeableConcept, Coding, code");
    const required = node.required === true;
    const shape = (t: TargetCoding, local: string): unknown => {
      const coding: Record<string, unknown> = {};
      if (t.system) coding.system = t.system;
      coding.code = t.code;
      if (t.display) coding.display = t.display;
      if (as === 'code') return t.code;
      if (as === 'Coding') return coding;
      return { coding: [coding], text: t.display ?? local };
    };
    // Shapes are precomputed per code: rows share them read-only.
    const shaped = new Map<string, unknown>();
    for (const [local, t] of map) shaped.set(local, t ? shape(t, local) : undefined);
    return dynamic((ctx) => {
      const v = getValue(ctx.row, col);
      if (v === undefined) {
        if (required) throw new RowReject(field, 'required code is missing');
        return undefined;
      }
      const local = String(v);
      if (!map.has(local)) {
        const key = `${mapName}\u0000${field}\u0000${local}`;
        const u = this.unmapped.get(key);
        if (u) u.count++;
        else this.unmapped.set(key, { map: mapName, column: field, code: local, count: 1 });
        throw new RowReject(field, `code ${quoted(local)} is not in code map '${mapName}'`);
      }
      return shaped.get(local);
    });
  }

  private resourceName(raw: unknown, path: YamlPath): string {
    if (typeof raw !== 'string' || !this.typeOf.has(raw)) throw this.err(path, `no resource named '${String(raw)}' in this spec`);
    if (this.eachNames.has(raw)) throw this.err(path, `'${raw}' has several instances (each): refer to it by idFrom instead`);
    return raw;
  }

  private compileRef(node: Record<string, unknown>, path: YamlPath, inBundle: boolean): Compiled {
    this.allowOnly(node, path, '$ref', ['display']);
    const display = node.display === undefined ? undefined : this.compile(node.display, [...path, 'display'], inBundle);
    const target = node.$ref;
    let make: (ctx: Ctx) => string | undefined;
    let type: string;
    if (typeof target === 'string') {
      const name = this.resourceName(target, [...path, '$ref']);
      type = this.typeOf.get(name)!;
      const local = inBundle && this.bundled.has(name);
      make = (ctx) => {
        const id = ctx.ids.get(name);
        return id === undefined ? undefined : local ? `urn:uuid:${id}` : `${type}/${id}`;
      };
    } else if (isPlainObject(target) && typeof target.type === 'string' && Array.isArray(target.idFrom)) {
      type = target.type;
      const idOf = this.compileIdFrom(type, target.idFrom, [...path, '$ref', 'idFrom']);
      make = (ctx) => {
        const id = idOf(ctx);
        return id === undefined ? undefined : `${type}/${id}`;
      };
    } else throw this.err([...path, '$ref'], 'expected a resource name, or { type, idFrom: [...] }');
    return dynamic((ctx) => {
      const reference = make(ctx);
      if (reference === undefined) return undefined;
      const d = display?.ev(ctx);
      return d === undefined ? { reference, type } : { reference, type, display: d };
    });
  }

  /** Returns undefined when every part is empty: no identity, no resource. */
  compileIdFrom(type: string, parts: unknown[], path: YamlPath): (ctx: Ctx) => string | undefined {
    const compiled = parts.map((p, i) => this.compile(p, [...path, i], false));
    return (ctx) => {
      let key = type;
      let any = false;
      for (const c of compiled) {
        const v = c.ev(ctx);
        if (!isEmpty(v)) any = true;
        key += `|${isEmpty(v) ? '' : String(v)}`;
      }
      return any ? deterministicId(key) : undefined;
    };
  }
}

/** Value at a dotted path; empty strings, null and blanks count as missing. Strings are trimmed. */
function getValue(row: Record<string, unknown>, col: string[]): unknown {
  let v: unknown = row[col[0]];
  for (let i = 1; i < col.length && v !== undefined; i++) v = isPlainObject(v) ? v[col[i]] : undefined;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? undefined : t;
  }
  return v === null ? undefined : v;
}

interface CompiledUnit {
  name: string;
  type: string;
  exchange?: string;
  profile?: string;
  once: boolean;
  when?: Compiled;
  id: (ctx: Ctx) => string | undefined;
  body: Compiled;
  bundle?: { type: string; entries: string[] };
  bundled: boolean;
}

export async function loadMapping(specFile: string): Promise<Mapper> {
  const loaded = await loadYaml(specFile, mappingSpecSchema);
  const spec = loaded.value;
  const codeMaps = new Map<string, CodeMap>();
  for (const [name, cm] of Object.entries(spec.codeMaps)) {
    if (cm.codes) codeMaps.set(name, codeMapFromTable(cm.system, cm.codes));
    else {
      const file = path.resolve(path.dirname(specFile), cm.conceptMap!);
      try {
        codeMaps.set(name, codeMapFromConceptMap(JSON.parse(await readFile(file, 'utf8')), file));
      } catch (e) {
        throw new SpecErrors([loaded.error(['codeMaps', name, 'conceptMap'], `cannot use ${file}: ${(e as Error).message}`)]);
      }
    }
  }
  return compileMapping(loaded, codeMaps);
}

export function compileMapping(loaded: LoadedYaml<MappingSpec>, codeMaps: Map<string, CodeMap>): Mapper {
  const spec = loaded.value;
  const c = new Compiler(loaded, codeMaps);
  const units: Unit[] = [];
  spec.resources.forEach((r, i) => {
    const path: YamlPath = ['resources', i];
    const entries = r.each ?? [{}];
    entries.forEach((vars, j) => {
      units.push({
        spec: r,
        eachIndex: j,
        template: substitute(r.template, vars) as Record<string, unknown>,
        when: substitute(r.when, vars),
        idFrom: r.idFrom && (substitute(r.idFrom, vars) as unknown[]),
        path,
      });
    });
  });
  const specKey = path.basename(loaded.file);
  const compiled: CompiledUnit[] = units.map((u) => {
    const r = u.spec;
    const inBundle = c.isBundled(r.name);
    const { meta: _meta, ...rest } = u.template;
    const body = c.compile(rest, [...u.path, 'template'], inBundle);
    const prefix = `${specKey}|${r.name}|${u.eachIndex}|`;
    const rowKeyed = (ctx: Ctx) => deterministicId(prefix + (ctx.rowKey ??= Object.values(ctx.row).join('\u0001')));
    return {
      name: r.name,
      type: r.resourceType,
      exchange: r.exchange ?? spec.exchange,
      profile: r.profile,
      once: r.once === true,
      when: u.when === undefined ? undefined : c.compile(u.when, [...u.path, 'when'], inBundle),
      id: u.idFrom ? c.compileIdFrom(r.resourceType, u.idFrom, [...u.path, 'idFrom']) : rowKeyed,
      body,
      bundle: r.bundle,
      bundled: inBundle,
    };
  });
  let records = 0;
  const filled = new Map<string, number>();

  return {
    specFile: loaded.file,
    exchangeProblems(fallback, known) {
      const problems: SpecError[] = [];
      spec.resources.forEach((r, i) => {
        const exchange = r.exchange ?? spec.exchange ?? fallback;
        if (exchange === undefined) problems.push(loaded.error(['resources', i], `resource '${r.name}' has no exchange: set exchange on it, on the mapping or on the source`));
        else if (!known.has(exchange)) problems.push(loaded.error(r.exchange ? ['resources', i, 'exchange'] : spec.exchange ? ['exchange'] : ['resources', i], `unknown exchange '${exchange}' (the run config has ${[...known].join(', ')})`));
      });
      return problems;
    },
    map(row) {
      records++;
      for (const k in row) {
        const v = row[k];
        if (v !== '' && v !== null && v !== undefined) filled.set(k, (filled.get(k) ?? 0) + 1);
      }
      const ctx: Ctx = { row, ids: new Map() };
      try {
        const active: [CompiledUnit, string][] = [];
        for (const u of compiled) {
          if (u.when && isEmpty(u.when.ev(ctx))) continue;
          const id = u.id(ctx);
          if (id === undefined) continue;
          if (!ctx.ids.has(u.name)) ctx.ids.set(u.name, id);
          active.push([u, id]);
        }
        const built = new Map<string, { unit: CompiledUnit; resource: FhirResource }[]>();
        const out: MappedResource[] = [];
        for (const [u, id] of active) {
          const resource: FhirResource = { resourceType: u.type, id };
          if (u.profile) resource.meta = { profile: [u.profile] };
          Object.assign(resource, u.body.ev(ctx));
          if (u.bundle) {
            const entry: unknown[] = [];
            for (const name of u.bundle.entries) {
              for (const b of built.get(name) ?? []) entry.push({ fullUrl: `urn:uuid:${b.resource.id}`, resource: b.resource });
            }
            resource.type = u.bundle.type;
            resource.entry = entry;
          }
          const list = built.get(u.name);
          if (list) list.push({ unit: u, resource });
          else built.set(u.name, [{ unit: u, resource }]);
          if (!u.bundled) out.push({ name: u.name, exchange: u.exchange, profile: u.profile, once: u.once, resource });
        }
        return { ok: true, resources: out };
      } catch (e) {
        if (e instanceof RowReject) return { ok: false, field: e.field, reason: e.reason };
        throw e;
      }
    },
    coverage() {
      return {
        spec: loaded.file,
        records,
        unmappedColumns: [...filled]
          .filter(([col]) => !c.usedColumns.has(col))
          .map(([column, n]) => ({ column, filled: n }))
          .sort((a, b) => (a.column < b.column ? -1 : 1)),
        unmappedCodes: [...c.unmapped.values()].sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1)),
      };
    },
  };
}
