import type { CanonicalResource, ConformanceResolver } from '../packages/types.js';
import { ensureSnapshot } from '../packages/snapshot.js';
import { compileStructure, type CompiledStructure } from './element-tree.js';
import type { Issue } from './issues.js';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/** Compiles each StructureDefinition once (snapshot generated if needed) and keeps it for reuse. */
export class StructureCache {
  private readonly byCanonical = new Map<string, CompiledStructure | null>();
  private readonly bySd = new WeakMap<object, CompiledStructure>();
  private readonly byType = new Map<string, CompiledStructure | null>();
  /** Problems met while generating snapshots, reported once with the load issues. */
  readonly issues: Issue[] = [];

  constructor(readonly resolver: ConformanceResolver) {}

  get(canonical: string): CompiledStructure | undefined {
    let compiled = this.byCanonical.get(canonical);
    if (compiled === undefined) {
      const sd = this.resolver.resolve(canonical, 'StructureDefinition');
      compiled = sd ? this.compile(sd) : null;
      this.byCanonical.set(canonical, compiled);
    }
    return compiled ?? undefined;
  }

  /** The core definition of a type or resource, e.g. forType('HumanName'). */
  forType(code: string): CompiledStructure | undefined {
    let compiled = this.byType.get(code);
    if (compiled === undefined) {
      compiled = this.get(code.includes('/') ? code : CORE_PREFIX + code) ?? null;
      this.byType.set(code, compiled);
    }
    return compiled ?? undefined;
  }

  compile(sd: CanonicalResource): CompiledStructure | null {
    const known = this.bySd.get(sd);
    if (known) return known;
    try {
      const withSnapshot = ensureSnapshot(sd as never, this.resolver) as unknown as Record<string, unknown>;
      const compiled = compileStructure(withSnapshot);
      this.bySd.set(sd, compiled);
      return compiled;
    } catch (error) {
      this.issues.push({
        severity: 'error',
        code: 'processing',
        messageId: 'profile-unusable',
        message: `Profile ${sd.url ?? sd.id} could not be prepared for validation: ${(error as Error).message}`,
        path: 'StructureDefinition',
      });
      return null;
    }
  }
}
