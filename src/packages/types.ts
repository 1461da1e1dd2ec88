/** Shapes shared by everything that reads conformance resources (StructureDefinition, ValueSet, ...). */

/** Any FHIR resource as parsed JSON. The engine works on plain JSON, not on typed classes. */
export interface FhirResource {
  resourceType: string;
  id?: string;
  [key: string]: unknown;
}

/** A canonical resource (StructureDefinition, ValueSet, CodeSystem, ...). */
export interface CanonicalResource extends FhirResource {
  url?: string;
  version?: string;
  name?: string;
}

/** Where a conformance resource was loaded from, for messages about conflicts and provenance. */
export interface ResourceOrigin {
  /** Package id#version, when it came from a package. */
  packageId?: string;
  /** File path (inside the package, or on disk). */
  file?: string;
}

/**
 * Resolves canonical URLs to loaded conformance resources.
 * `canonical` may carry a version: `http://x/StructureDefinition/y|1.2.0`; without one the newest wins.
 */
export interface ConformanceResolver {
  resolve<T extends CanonicalResource = CanonicalResource>(canonical: string, resourceType?: string): T | undefined;
  /** Every loaded resource of one type (e.g. all ValueSets), in load order. */
  all<T extends CanonicalResource = CanonicalResource>(resourceType: string): T[];
  /** Where a resolved resource came from. */
  originOf(resource: CanonicalResource): ResourceOrigin | undefined;
  /**
   * Light summaries of every resource of a type (resourceType, id, url, version, name, and per type e.g.
   * kind/derivation/type of StructureDefinitions) without parsing them all; resolvers without an index omit it.
   */
  summaries?<T extends CanonicalResource = CanonicalResource>(resourceType: string): T[];
}

/** summaries() where the resolver has an index, all() otherwise. */
export function summariesOf<T extends CanonicalResource = CanonicalResource>(resolver: ConformanceResolver, resourceType: string): T[] {
  return resolver.summaries ? resolver.summaries<T>(resourceType) : resolver.all<T>(resourceType);
}
