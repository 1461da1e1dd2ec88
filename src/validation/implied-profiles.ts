import { summariesOf, type CanonicalResource, type ConformanceResolver } from '../packages/types.js';

/**
 * Profiles a resource must meet without declaring them: the R4 vital signs profiles, which the
 * specification requires of any Observation carrying a vital-sign code (observation-vitalsigns.html),
 * and the global profiles of loaded ImplementationGuides.
 */
const VITAL_SIGNS = 'http://hl7.org/fhir/StructureDefinition/';
const VITAL_SIGN_CODES: Record<string, string> = {
  // LOINC
  '85353-1': 'vitalspanel', '9279-1': 'resprate', '8867-4': 'heartrate', '2708-6': 'oxygensat', '59408-5': 'oxygensat',
  '8310-5': 'bodytemp', '8302-2': 'bodyheight', '8306-3': 'bodyheight', '9843-4': 'headcircum', '8287-5': 'headcircum',
  '29463-7': 'bodyweight', '39156-5': 'bmi', '85354-9': 'bp',
  // SNOMED CT equivalents
  '86290005': 'resprate', '364075005': 'heartrate', '103228002': 'oxygensat', '276885007': 'bodytemp',
  '50373000': 'bodyheight', '363812007': 'headcircum', '27113001': 'bodyweight', '60621009': 'bmi', '75367002': 'bp',
};
const VITAL_SIGN_SYSTEMS = new Set(['http://loinc.org', 'http://snomed.info/sct']);

const NONE: readonly string[] = Object.freeze([]);

export class ImpliedProfiles {
  private readonly globals = new Map<string, string[]>();

  constructor(resolver: ConformanceResolver) {
    const guides = summariesOf<CanonicalResource & { global?: Array<{ type?: string; profile?: string }> }>(resolver, 'ImplementationGuide');
    for (const ig of guides) {
      for (const global of ig.global ?? []) {
        if (!global.type || !global.profile) continue;
        const list = this.globals.get(global.type);
        if (list) list.push(global.profile);
        else this.globals.set(global.type, [global.profile]);
      }
    }
  }

  /** The profiles a resource must also conform to; not to be modified. */
  for(resource: Record<string, unknown>): readonly string[] {
    const type = String(resource.resourceType);
    const globals = this.globals.get(type);
    if (type !== 'Observation') return globals ?? NONE;
    const profiles = [...(globals ?? [])];
    if (type === 'Observation') {
      const codings = (resource.code as { coding?: Array<{ system?: string; code?: string }> } | undefined)?.coding ?? [];
      for (const coding of Array.isArray(codings) ? codings : []) {
        const profile = coding?.system && VITAL_SIGN_SYSTEMS.has(coding.system) && coding.code ? VITAL_SIGN_CODES[coding.code] : undefined;
        if (profile && !profiles.includes(VITAL_SIGNS + profile)) profiles.push(VITAL_SIGNS + profile);
      }
    }
    return profiles;
  }
}
