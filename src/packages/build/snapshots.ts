/** Adds generated snapshots to the StructureDefinitions of a package being built. */
import { generateSnapshot, type ElementDefinition, type StructureDefinition } from '../snapshot.js';
import type { ConformanceResolver, FhirResource } from '../types.js';
import type { Issue } from '../../validation/issues.js';

export interface SnapshotIssue {
  /** The StructureDefinition's id. */
  id: string;
  issue: Issue;
}

/**
 * Element mappings (to zib, RIM, v2, w5...) and the XPath form of constraints (XML Schematron only; the
 * FHIRPath expression is what validators run) make up a sixth of a snapshot's bytes; they are left out to
 * keep profiles/ small. The differential keeps the profile's own mappings and constraints unchanged.
 */
function compact(elements: ElementDefinition[]): ElementDefinition[] {
  return elements.map((e) => {
    const { mapping: _mapping, ...rest } = e;
    if (rest.constraint) rest.constraint = rest.constraint.map(({ xpath: _xpath, ...c }) => c);
    return rest as ElementDefinition;
  });
}

/** `sd` with `snapshot` placed before `differential`, where FHIR JSON puts it. */
function insertSnapshot(sd: StructureDefinition, elements: ElementDefinition[]): StructureDefinition {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(sd)) {
    if (key === 'snapshot') continue;
    if (key === 'differential') out.snapshot = { element: elements };
    out[key] = value;
  }
  out.snapshot ??= { element: elements };
  return out as StructureDefinition;
}

/**
 * Every StructureDefinition without a snapshot gets one from the project's generator; `resolver` must hold
 * the resources themselves and everything they build on. Other resources are returned unchanged.
 */
export function addSnapshots(resources: FhirResource[], resolver: ConformanceResolver): { resources: FhirResource[]; issues: SnapshotIssue[] } {
  const issues: SnapshotIssue[] = [];
  const out = resources.map((r) => {
    const sd = r as StructureDefinition;
    if (r.resourceType !== 'StructureDefinition' || sd.snapshot?.element?.length) return r;
    const result = generateSnapshot(sd, resolver);
    for (const issue of result.issues) issues.push({ id: sd.id ?? sd.url ?? '?', issue });
    return insertSnapshot(sd, compact(result.snapshot));
  });
  return { resources: out, issues };
}
