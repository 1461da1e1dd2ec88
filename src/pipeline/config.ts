/** The run config (`fhirdq run <config.yaml>`): sources, organisations, exchanges, validation, outputs. */
import path from 'node:path';
import { z } from 'zod';
import { loadYaml, SpecErrors } from '../mapping/yaml-file.js';
import { QUESTIONNAIRE_MODES } from '../validation/questionnaire-response.js';
import { BEST_PRACTICE_LEVELS } from '../validation/api.js';

const ID = /^[a-z0-9][a-z0-9-]*$/;

const sourceSchema = z.strictObject({
  name: z.string().regex(ID, 'lower-case letters, digits and -'),
  organisation: z.string(),
  /** Files, folders and globs, relative to the config file. */
  inputs: z.array(z.string()).min(1).optional(),
  /** A FHIR server to search instead (see formats/stream-server.ts). */
  server: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      resources: z.array(z.string().regex(/^[A-Z][A-Za-z]+$/, 'a FHIR resource type')).min(1),
      params: z.record(z.string(), z.string()).optional(),
      pageSize: z.number().int().min(1).max(1000).optional(),
      tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
    })
    .optional(),
  format: z.enum(['csv', 'ndjson', 'json', 'xml']).optional(),
  csv: z.strictObject({ delimiter: z.string().min(1).optional(), encoding: z.string().optional(), quote: z.string().optional() }).optional(),
  maxXmlBytes: z.number().int().positive().optional(),
  /** Mapping spec, relative to the config file; omitted for sources that already are FHIR. */
  mapping: z.string().optional(),
  /** Exchange of the resources of a FHIR source (mapped sources take theirs from the mapping spec). */
  exchange: z.string().optional(),
});

export const runConfigSchema = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  organisations: z
    .array(
      z.strictObject({
        id: z.string().regex(ID, 'lower-case letters, digits and -'),
        name: z.string(),
        type: z.enum(['hospital', 'gp', 'pharmacy', 'vvt', 'district-nursing', 'other']),
        ura: z.string().regex(/^\d{8}$/, 'URA is 8 digits').optional(),
        agb: z.string().regex(/^\d{8}$/, 'AGB is 8 digits').optional(),
      }),
    )
    .min(1),
  exchanges: z.array(z.strictObject({ id: z.string().regex(ID), title: z.string().optional() })).min(1),
  sources: z.array(sourceSchema).min(1),
  validation: z
    .strictObject({
      enabled: z.boolean().default(true),
      workers: z.number().int().min(1).max(64).default(2),
      batchSize: z.number().int().min(1).default(250),
      igs: z.array(z.string()).default([]),
      /** Old-generation heap cap of each worker: V8 otherwise lets garbage pile up to gigabytes before collecting. */
      workerHeapMb: z.number().int().min(64).default(768),
      /** Languages in which code systems' designations are accepted as displays, as `fhirdq validate --language`. */
      language: z.string().optional(),
      /** A wrong display is a warning, not an error, as `fhirdq validate --display-issues-are-warnings`. */
      displayIssuesAreWarnings: z.boolean().default(false),
      /** How QuestionnaireResponses are checked against their questionnaires, as `fhirdq validate --questionnaire`. */
      questionnaire: z.enum(QUESTIONNAIRE_MODES).default('check'),
      /** How failed best-practice constraints (dom-6: narrative) are reported, as `fhirdq validate --best-practice`. */
      bestPractice: z.enum(BEST_PRACTICE_LEVELS).default('warning'),
    })
    .default({ enabled: true, workers: 2, batchSize: 250, igs: [], workerHeapMb: 768, displayIssuesAreWarnings: false, questionnaire: 'check', bestPractice: 'warning' }),
  outputs: z.strictObject({ dir: z.string().default('reports') }).default({ dir: 'reports' }),
});

export type RunConfig = z.output<typeof runConfigSchema>;
export type SourceConfig = RunConfig['sources'][number];

export interface LoadedRunConfig {
  file: string;
  /** Folder the config's relative paths start from. */
  baseDir: string;
  config: RunConfig;
}

/** Loads and checks a run config: schema, and that organisations, exchanges and mappings are known. */
export async function loadRunConfig(file: string): Promise<LoadedRunConfig> {
  const loaded = await loadYaml(file, runConfigSchema);
  const config = loaded.value;
  const orgs = new Set(config.organisations.map((o) => o.id));
  const exchanges = new Set(config.exchanges.map((e) => e.id));
  const errors = [];
  const names = new Set<string>();
  for (const [i, s] of config.sources.entries()) {
    if (names.has(s.name)) errors.push(loaded.error(['sources', i, 'name'], `duplicate source name '${s.name}'`));
    names.add(s.name);
    if (!orgs.has(s.organisation)) errors.push(loaded.error(['sources', i, 'organisation'], `unknown organisation '${s.organisation}'`));
    if (s.exchange && !exchanges.has(s.exchange)) errors.push(loaded.error(['sources', i, 'exchange'], `unknown exchange '${s.exchange}'`));
    if (!s.mapping && !s.exchange) errors.push(loaded.error(['sources', i], 'a source without a mapping needs an exchange'));
    if ((s.inputs === undefined) === (s.server === undefined)) errors.push(loaded.error(['sources', i], 'a source reads either inputs (files) or a server'));
    if (s.server && s.mapping) errors.push(loaded.error(['sources', i, 'mapping'], 'a server source is FHIR already: give it an exchange, not a mapping'));
  }
  if (errors.length) throw new SpecErrors(errors);
  return { file, baseDir: path.dirname(path.resolve(file)), config };
}
