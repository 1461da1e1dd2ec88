/** The mapping spec file format (YAML), as a zod schema. The template language is checked by compile.ts. */
import { z } from 'zod';

const inlineEntry = z.union([
  z.string(),
  z.null(),
  z.strictObject({ code: z.string(), display: z.string().optional(), system: z.string().optional() }),
]);

export const codeMapSchema = z
  .strictObject({
    system: z.string().optional(),
    codes: z.record(z.string(), inlineEntry).optional(),
    /** Path of a FHIR ConceptMap JSON file, relative to the spec file. */
    conceptMap: z.string().optional(),
  })
  .refine((m) => (m.codes === undefined) !== (m.conceptMap === undefined), { message: 'give either codes or conceptMap' });

const NAME = /^[A-Za-z][\w-]*$/;

export const resourceSpecSchema = z.strictObject({
  name: z.string().regex(NAME, 'a name is a letter followed by letters, digits, _ or -'),
  resourceType: z.string().regex(/^[A-Z][A-Za-z]+$/, 'not a FHIR resource type'),
  profile: z.url().optional(),
  exchange: z.string().optional(),
  /** Expressions whose values, with the resource type, give a deterministic id shared across rows and sources. */
  idFrom: z.array(z.unknown()).min(1).optional(),
  /** Produce the resource only when this expression has a value. */
  when: z.unknown().optional(),
  /** One resource per entry; `${key}` in the template's strings is replaced by the entry's value. */
  each: z.array(z.record(z.string(), z.string())).min(1).optional(),
  /** Emit once per run and exchange (shared resources such as a Patient or an Organization). */
  once: z.boolean().optional(),
  /** Makes this resource a Bundle of the named resources of the same row (which are then not emitted alone). */
  bundle: z.strictObject({ type: z.enum(['document', 'collection', 'message']), entries: z.array(z.string()).min(1) }).optional(),
  template: z.record(z.string(), z.unknown()).default({}),
});

export const mappingSpecSchema = z.strictObject({
  version: z.literal(1).default(1),
  description: z.string().optional(),
  /** Default exchange of every resource. */
  exchange: z.string().optional(),
  codeMaps: z.record(z.string(), codeMapSchema).default({}),
  resources: z.array(resourceSpecSchema).min(1),
});

export type MappingSpec = z.output<typeof mappingSpecSchema>;
export type ResourceSpec = z.output<typeof resourceSpecSchema>;
