/**
 * The rules a StructureDefinition obeys beyond its own StructureDefinition and snapshot generation, as the
 * reference validator's StructureDefinitionValidator checks them: extension contexts only on extensions, a
 * derivation that keeps (or, specialised, changes) the base's kind and type, an extension whose url is fixed to its
 * own, and per element: paths under the type, slicing where it can apply, properties only on types they fit
 * (bindings, lengths, ranges, target profiles), bindings to value sets, fixed values of allowed types, invariant
 * keys and sources. Messages are the reference validator's where its catalogue has them.
 */
import type { Issue, IssueType, Severity } from './issues.js';
import { CANONICAL_RESOURCE_TYPES } from './element-tree.js';
import { fhirPathTypeError, typeOfElementPath } from './fhirpath-check.js';
import { isAbsoluteUrl } from './primitives.js';

type Json = Record<string, unknown>;

export interface StructureDefinitionLookups {
  structure(url: string): Json | undefined;
  /** Any conformance resource with this canonical URL. */
  resource(url: string): Json | undefined;
}

const CORE = 'http://hl7.org/fhir/StructureDefinition/';
const FHIR_TYPE_EXTENSION = `${CORE}structuredefinition-fhir-type`;
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** What a type allows constraining (the reference's built-in type characteristics for R4). */
const CHARACTERISTICS: Record<string, readonly string[]> = {
  'can-bind': ['string', 'uri', 'code', 'oid', 'url', 'uuid', 'CodeableConcept', 'Coding', 'CodeableReference', 'Quantity', 'SimpleQuantity', 'MoneyQuantity', 'Age', 'Distance', 'Duration', 'Range', 'Extension'],
  'has-length': ['integer', 'integer64', 'decimal', 'instant', 'string', 'uri', 'date', 'dateTime', 'time', 'canonical', 'code', 'id', 'markdown', 'oid', 'positiveInt', 'unsignedInt', 'url', 'uuid'],
  'has-range': ['integer', 'integer64', 'decimal', 'instant', 'date', 'dateTime', 'time', 'positiveInt', 'unsignedInt', 'Age', 'Count', 'Distance', 'Duration', 'Money', 'Quantity', 'SimpleQuantity', 'MoneyQuantity'],
  'has-target': ['canonical', 'Reference', 'CodeableReference'],
};
const has = (characteristic: string, types: Iterable<string>) => [...types].some((t) => CHARACTERISTICS[characteristic]!.includes(t));

const VALUE_PROPERTY = /^(?:fixed|pattern|defaultValue|minValue|maxValue)[A-Z]/;

/** The element's fixed/pattern/defaultValue/minValue/maxValue properties (`fixedUri`), found in one pass over its keys. */
function valueProperties(element: Json): string[] {
  const keys: string[] = [];
  // The first letter first: most keys (id, path, short, definition, type...) are passed over without a regex.
  for (const key in element) {
    const first = key.charCodeAt(0);
    if ((first === 102 || first === 112 || first === 100 || first === 109) && VALUE_PROPERTY.test(key)) keys.push(key);
  }
  return keys;
}

/** The JSON name's type suffix of a choice property among `keys` (`fixedUri` → `uri`). */
function choiceValue(keys: string[], prefix: string): { key: string; type: string } | undefined {
  const key = keys.find((k) => k.startsWith(prefix) && /[A-Z]/.test(k[prefix.length]!));
  if (key === undefined) return undefined;
  const suffix = key.slice(prefix.length);
  return { key, type: /^[A-Z][a-z]/.test(suffix) && !COMPLEX_TYPES.has(suffix) ? suffix[0]!.toLowerCase() + suffix.slice(1) : suffix };
}
const COMPLEX_TYPES = new Set([
  'Address', 'Age', 'Annotation', 'Attachment', 'CodeableConcept', 'Coding', 'ContactPoint', 'Count', 'Distance', 'Duration', 'HumanName', 'Identifier', 'Money',
  'Period', 'Quantity', 'Range', 'Ratio', 'Reference', 'SampledData', 'Signature', 'Timing', 'ContactDetail', 'Contributor', 'DataRequirement', 'Expression',
  'ParameterDefinition', 'RelatedArtifact', 'TriggerDefinition', 'UsageContext', 'Dosage', 'Meta',
]);

/** Per loaded definition (the resolver keeps one object each), read once: its invariant keys and expressions. */
const invariantsByStructure = new WeakMap<Json, Map<string, string | undefined>>();
const elementsByStructure = new WeakMap<Json, Map<string, Json>>();

/** The invariants a definition's snapshot defines, by key: a profile that reuses a key keeps its meaning. */
function invariantsOf(structure: Json): Map<string, string | undefined> {
  let invariants = invariantsByStructure.get(structure);
  if (!invariants) {
    invariants = new Map();
    for (const element of list((structure.snapshot as Json | undefined)?.element)) {
      for (const c of list(element.constraint)) if (typeof c.key === 'string') invariants.set(c.key, str(c.expression));
    }
    invariantsByStructure.set(structure, invariants);
  }
  return invariants;
}

function elementsByPath(structure: Json): Map<string, Json> {
  let elements = elementsByStructure.get(structure);
  if (!elements) {
    elements = new Map();
    for (const element of list((structure.snapshot as Json | undefined)?.element)) if (typeof element.path === 'string' && !elements.has(element.path)) elements.set(element.path, element);
    elementsByStructure.set(structure, elements);
  }
  return elements;
}

export function checkStructureDefinition(sd: Json, path: string, lookups: StructureDefinitionLookups): Issue[] {
  const issues: Issue[] = [];
  const add = (severity: Severity, code: IssueType, messageId: string, message: string, at = path) => issues.push({ severity, code, messageId, message, path: at });
  const type = str(sd.type);
  const url = str(sd.url);
  const kind = str(sd.kind);

  // Extension contexts belong to extensions.
  if (type !== undefined && type !== 'Extension') {
    list(sd.context).forEach((_, i) =>
      add('error', 'business-rule', 'sd-context-not-extension', `The type is ${type} so an extension context should not be specified`, `${path}.context[${i}]`));
    if (Array.isArray(sd.contextInvariant) && sd.contextInvariant.length > 0) {
      add('error', 'business-rule', 'sd-context-invariant-not-extension', `The type is ${type} so an extension context invariants should not be specified`, `${path}.contextInvariant[0]`);
    }
  }

  // An element context names an element that exists.
  if (type === 'Extension') {
    list(sd.context).forEach((context, i) => {
      const expression = str(context.expression);
      // A context for other versions of FHIR only (version-specific-use) is not judged against this one.
      const otherVersions = list(context.extension).some((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/version-specific-use');
      if (context.type === 'element' && expression !== undefined && !otherVersions && !elementExists(expression, lookups)) {
        add('error', 'business-rule', 'sd-context-element-unknown', `The extension context ${expression} does not name an element of the specification`, `${path}.context[${i}]`);
      }
    });
    // Context invariants must make sense on the elements the extension may be used on (fhirpath contexts are not followed).
    const contextTypes = list(sd.context).filter((c) => c.type === 'element').map((c) => typeOfElementPath(String(c.expression)));
    if (contextTypes.length > 0 && contextTypes.every((t) => t !== undefined)) {
      (Array.isArray(sd.contextInvariant) ? (sd.contextInvariant as unknown[]) : []).forEach((invariant, c) => {
        const problem = typeof invariant === 'string' && invariant !== '' ? fhirPathTypeError(invariant, contextTypes as string[]) : undefined;
        if (problem !== undefined) add('error', 'invalid', 'sd-context-invariant-expression', `Error in the context invariant '${String(invariant)}': ${problem}`, `${path}.contextInvariant[${c}]`);
      });
    }
  }

  // The type names a type of the specification, or (a logical model) is a URL of its own.
  if (type !== undefined) {
    if (isAbsoluteUrl(type)) {
      if (sd.kind !== 'logical') add('error', 'structure', 'sd-type-not-logical', `The type ${type} can only be defined if the kind is 'logical' not ${String(sd.kind)}`, `${path}.type`);
    } else if (!lookups.structure(`${CORE}${type}`)) {
      add('error', 'structure', 'sd-type-not-local', `The type ${type} is not legal because it is not defined in the FHIR specification. Other types must have a namespace on them`, `${path}.type`);
    } else if (url !== `${CORE}${type}` && sd.derivation !== 'constraint') {
      add('error', 'structure', 'sd-type-not-derived', `The type ${type} can only be used as a type when constraining the base definition of the type`, `${path}.type`);
    }
  }

  const baseUrl = str(sd.baseDefinition);
  const base = baseUrl !== undefined ? lookups.structure(baseUrl) : undefined;
  if (!base) return issues;
  const derivation = str(sd.derivation);
  if (derivation === undefined) {
    add('error', 'structure', 'sd-no-derivation', `StructureDefinition ${url ?? ''} must have a derivation, since it has a baseDefinition`);
  } else {
    // A kind or type that is missing or no string is reported by the structure check: nothing to compare here.
    if (base.abstract !== true && kind !== undefined && kind !== base.kind) {
      add('error', 'structure', 'sd-kind', `The kind ${kind} must be the same as the kind ${String(base.kind)} in the base structure ${baseUrl} (base type = ${String(base.type)})`);
    }
    if (derivation === 'constraint' && type !== undefined && type !== base.type) {
      add('error', 'structure', 'sd-constraint-type', `The type ${type} must be the same as the type in the base structure ${baseUrl} that is being constrained`);
    } else if (derivation === 'specialization' && type !== undefined && type === base.type) {
      add('error', 'structure', 'sd-specialization-type', `The type ${type} must not be the same as the type in the base structure ${baseUrl} that is being specialised`);
    }
  }
  if (derivation === 'constraint' && kind !== undefined && base.kind !== kind) {
    add('error', 'structure', 'sd-derivation-kind', `The structure definition constrains a kind of ${String(base.kind)}, but has a different kind (${kind})`);
  }

  const differential = list((sd.differential as Json | undefined)?.element);
  const snapshot = list((sd.snapshot as Json | undefined)?.element);
  const typeName = type !== undefined && type.includes('/') ? type.slice(type.lastIndexOf('/') + 1) : type;
  const baseInvariants = invariantsOf(base);
  const context = { url, profileType: type, typeName, derivation, baseInvariants, lookups, add };
  checkElements(differential, `${path}.differential.element`, false, context);
  checkElements(snapshot, `${path}.snapshot.element`, true, context);

  if (type === 'Extension' && baseUrl === `${CORE}Extension` && url !== undefined) {
    const urlElement = differential.find((e) => e.path === 'Extension.url');
    const fixed = urlElement ? (urlElement.fixedUri ?? urlElement.fixedUrl ?? urlElement.fixedString ?? urlElement.fixedCanonical) : undefined;
    if (fixed === undefined) add('error', 'structure', 'sd-extension-url-missing', `The value of Extension.url is not fixed to the extension URL ${url}`);
    else if (fixed !== url) add('error', 'structure', 'sd-extension-url-mismatch', `The fixed value for the extension URL is ${String(fixed)} which doesn't match the canonical URL ${url}`);
  }
  return issues;
}

interface ElementContext {
  url: string | undefined;
  /** StructureDefinition.type: what the root element is. */
  profileType: string | undefined;
  typeName: string | undefined;
  derivation: string | undefined;
  baseInvariants: Map<string, string | undefined>;
  lookups: StructureDefinitionLookups;
  add: (severity: Severity, code: IssueType, messageId: string, message: string, at?: string) => void;
}

/**
 * The types an element's invariant starts from, as the reference takes them: the profile's type at the root, else the
 * element's types, a backbone element (or an element without types) by its path in the base definition.
 */
function invariantStartTypes(element: Json, path: string, isRoot: boolean, profileType: string | undefined): string[] {
  if (isRoot) return profileType === undefined ? [] : [profileType];
  const basePath = (str((element.base as Json | undefined)?.path) ?? path).replace(/\[x\]$/, '');
  const codes = list(element.type).map((t) => typeCodeOf(t));
  if (codes.length === 0) return [basePath];
  return codes.map((code) => (code === 'BackboneElement' || code === 'Element' ? basePath : code ?? ''));
}

/** A type's code: for a FHIRPath System type (Element.id, say), the FHIR type its extension names. */
function typeCodeOf(type: Json): string | undefined {
  return (type.extension === undefined ? undefined : str(list(type.extension).find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl)) ?? str(type.code);
}

/** How the reference reads the abstract canonical types in a context: as one of the resources they stand for. */
const CONTEXT_STAND_INS: Record<string, string> = { CanonicalResource: 'CodeSystem', MetadataResource: 'PlanDefinition' };

/**
 * Whether an element context names an element: `Type.a.b` followed from the type's definition through the types of
 * its elements, or `url#a.b` an element of that definition. An unknown definition is not judged.
 */
function elementExists(expression: string, lookups: StructureDefinitionLookups): boolean {
  let known = contextAnswers.get(lookups);
  if (!known) contextAnswers.set(lookups, (known = new Map()));
  let answer = known.get(expression);
  if (answer === undefined) known.set(expression, (answer = findElement(expression, lookups)));
  return answer;
}

/** Per set of loaded definitions: whether each context expression names an element (the same few recur). */
const contextAnswers = new WeakMap<StructureDefinitionLookups, Map<string, boolean>>();

function findElement(expression: string, lookups: StructureDefinitionLookups): boolean {
  const hash = expression.indexOf('#');
  if (hash > 0) {
    const definition = lookups.structure(expression.slice(0, hash));
    return !definition || elementsByPath(definition).has(expression.slice(hash + 1));
  }
  const [first, ...rest] = expression.split('.');
  let definition = lookups.structure(`${CORE}${CONTEXT_STAND_INS[first!] ?? first}`);
  if (!definition) return true;
  let prefix = str(definition.type) ?? first!;
  for (const name of rest) {
    const elements = elementsByPath(definition);
    const element = elements.get(`${prefix}.${name}`) ?? elements.get(`${prefix}.${name}[x]`);
    if (!element) return false;
    const reused = str(element.contentReference);
    if (reused !== undefined) {
      prefix = reused.slice(reused.indexOf('#') + 1);
      continue;
    }
    const elementPath = String(element.path);
    const hasChildren = [...elements.keys()].some((p) => p.startsWith(`${elementPath}.`));
    const codes = list(element.type).map((t) => typeCodeOf(t));
    if (hasChildren || codes.length !== 1 || codes[0] === 'BackboneElement' || codes[0] === 'Element') {
      prefix = elementPath;
    } else {
      const next = lookups.structure(`${CORE}${codes[0]}`);
      if (!next) return true;
      definition = next;
      prefix = str(next.type) ?? codes[0]!;
    }
  }
  return true;
}

/** The type a profile constrains, and whether that is `code` or a type `code` is a base of (abstract bases only). */
function profileFitsType(profile: Json, code: string, lookups: StructureDefinitionLookups): boolean {
  for (let type = str(profile.type), steps = 0; type !== undefined && steps < 10; steps++) {
    if (type === code || `${CORE}${type}` === code) return true;
    const definition = lookups.structure(`${CORE}${type}`);
    const base = definition ? str(definition.baseDefinition) : undefined;
    const baseDefinition = base ? lookups.structure(base) : undefined;
    if (!baseDefinition || (baseDefinition.abstract !== true && baseDefinition.kind !== 'logical')) return false;
    type = str(baseDefinition.type);
  }
  return false;
}

/** The root element of a definition: of its snapshot, else of its differential. */
function rootElement(structure: Json): Json | undefined {
  return list((structure.snapshot as Json | undefined)?.element)[0] ?? list((structure.differential as Json | undefined)?.element)[0];
}

/**
 * A type's profiles are profiles of that type (a modifier extension only on modifierExtension), and its target
 * profiles are of resources, or for canonical of canonical resources (the reference's validateElementType).
 */
function checkTypeProfiles(type: Json, at: string, path: string, lookups: StructureDefinitionLookups, add: ElementContext['add']): void {
  const code = str(type.code);
  if (code === undefined) return;
  const profiles = Array.isArray(type.profile) ? (type.profile as unknown[]) : [];
  profiles.forEach((url, k) => {
    const profile = typeof url === 'string' ? lookups.structure(url) : undefined;
    if (!profile) return;
    const where = `${at}.profile[${k}]`;
    if (!profileFitsType(profile, code, lookups)) {
      add('error', 'structure', 'sd-type-profile-wrong', `Profile ${String(url)} is for type ${String(profile.type)}, but the ${path} element has type ${code}`, where);
      return;
    }
    if (profile.type === 'Extension') {
      const modifier = rootElement(profile)?.isModifier === true;
      const onModifierExtension = path.endsWith('.modifierExtension');
      if (modifier && !onModifierExtension) add('error', 'structure', 'sd-type-profile-modifier', `Profile ${String(url)} is for a modifier extension, but the ${path} element is not a modifier`, where);
      if (!modifier && onModifierExtension) add('error', 'structure', 'sd-type-profile-modifier', `Profile ${String(url)} is for not for a modifier extension, but the ${path} element is a modifier`, where);
    }
  });
  const targets = Array.isArray(type.targetProfile) ? (type.targetProfile as unknown[]) : [];
  if (code !== 'Reference' && code !== 'CodeableReference' && code !== 'canonical') return;
  targets.forEach((url, k) => {
    const target = typeof url === 'string' ? lookups.structure(url) : undefined;
    if (!target) return;
    const targetType = str(target.type) ?? '';
    const fits = code === 'canonical' ? targetType === 'Resource' || CANONICAL_RESOURCE_TYPES.has(targetType) : target.kind === 'resource' || target.kind === 'logical';
    if (!fits) {
      add('error', 'structure', 'sd-type-target-wrong', `Profile ${String(url)} is for type ${targetType}, which is not a ${code === 'canonical' ? 'Canonical Resource' : 'Resource'} (which is required because the ${path} element has type ${code})`, `${at}.targetProfile[${k}]`);
    }
  });
}

/** The checks of one element list, the differential or the snapshot (each a scope of its own for invariant keys). */
function checkElements(elements: Json[], at: string, isSnapshot: boolean, context: ElementContext): void {
  const { url, typeName, derivation, baseInvariants, lookups, add } = context;
  const invariants = new Map<string, string | undefined>();
  elements.forEach((element, i) => {
    const path = str(element.path);
    const where = `${at}[${i}]`;
    if (path === undefined) return;
    const isRoot = !path.includes('.');
    if (typeName !== undefined && path !== typeName && !path.startsWith(`${typeName}.`)) {
      add('error', 'structure', 'sd-path-type', `The path ${path} must start with the type of the structure ${typeName}`, where);
    }
    if (!isSnapshot && isRoot && element.slicing !== undefined) add('error', 'structure', 'sd-root-slicing', 'Slicing is not allowed at the root of a profile', where);
    if (!isSnapshot && derivation === 'constraint' && element.meaningWhenMissing !== undefined && path !== 'Extension' && !path.endsWith('.extension')) {
      add('error', 'structure', 'sd-constraint-property', `The element definition for ${path} has a property meaningWhenMissing which is not allowed in a profile`, where);
    }
    if (element.slicing !== undefined && !path.includes('[x]')) {
      const core = lookups.structure(`${CORE}${path.split('.')[0]}`);
      if (core && elementsByPath(core).get(path)?.max === '1') add('error', 'structure', 'sd-slicing-not-repeating', `The element ${path} cannot be sliced: it does not repeat`, `${where}.slicing`);
    }

    const values = valueProperties(element);
    const types = list(element.type);
    const typeCodes = new Set<string>();
    for (const t of types) {
      const code = typeCodeOf(t);
      if (code !== undefined) typeCodes.add(code);
    }
    if (isRoot) typeCodes.add(path);
    // Judged in the differential, where the author wrote them: a snapshot element keeps what its base stated for more
    // types than it has (a choice narrowed to Reference keeps the choice's binding), as published snapshots do.
    const characteristic = (property: string, needs: string, label: string) => {
      if (element[property] !== undefined && !isSnapshot && typeCodes.size > 0 && !has(needs, typeCodes)) {
        add('error', 'structure', 'sd-characteristics', `This element has a ${label} but the types ${[...typeCodes].join(', ')} do not make this kind of constraint relevant`, where);
      }
    };
    characteristic('binding', 'can-bind', 'Binding');
    characteristic('maxLength', 'has-length', 'MaxLength');
    if (choiceValue(values, 'minValue') && !isSnapshot && typeCodes.size > 0 && !has('has-range', typeCodes)) {
      add('error', 'structure', 'sd-characteristics', `This element has a MinValue but the types ${[...typeCodes].join(', ')} do not make this kind of constraint relevant`, where);
    }
    if (choiceValue(values, 'maxValue') && !isSnapshot && typeCodes.size > 0 && !has('has-range', typeCodes)) {
      add('error', 'structure', 'sd-characteristics', `This element has a MaxValue but the types ${[...typeCodes].join(', ')} do not make this kind of constraint relevant`, where);
    }
    types.forEach((t, j) => checkTypeProfiles(t, `${where}.type[${j}]`, path, lookups, add));
    types.forEach((t, j) => {
      const code = str(t.code);
      const targets = Array.isArray(t.targetProfile) ? t.targetProfile : [];
      if (code === undefined || targets.length === 0 || CHARACTERISTICS['has-target']!.includes(code)) return;
      add('error', 'structure', 'sd-characteristics', `This element has a targetProfile but the types ${code} do not make this kind of constraint relevant`, where);
      targets.forEach((_, k) => add('error', 'structure', 'sd-type-target-profile', `Type ${code} does not allow for target Profiles`, `${where}.type[${j}].targetProfile[${k}]`));
    });

    const binding = element.binding as Json | undefined;
    const valueSet = str(binding?.valueSet);
    if (valueSet !== undefined) {
      const resolved = lookups.resource(valueSet);
      if (resolved && resolved.resourceType !== 'ValueSet') {
        add('error', 'structure', 'sd-binding-not-valueset',
          `The valueSet reference ${valueSet} on element ${path} points to something that is not a value set (${String(resolved.resourceType)})`, `${where}.binding`);
      }
    }

    if (isSnapshot && str(element.id)?.includes('.')) {
      if (types.length === 0 && element.contentReference === undefined) {
        add('error', 'structure', 'sd-no-types', `The element ${String(element.id)} has no assigned types, and no content reference`, where);
      } else {
        for (const property of ['defaultValue', 'fixed', 'pattern']) {
          const value = choiceValue(values, property);
          if (value && typeCodes.size > 0 && !typeCodes.has(value.type)) {
            add('error', 'structure', 'sd-value-type',
              `The element ${String(element.id)} has a ${property} of type ${value.type}, which is not in the list of allowed types (${[...typeCodes].join(', ')})`, `${where}.${value.key}`);
          }
        }
      }
    }

    list(element.constraint).forEach((constraint, c) => {
      const key = str(constraint.key);
      if (key === undefined) return;
      const cat = `${where}.constraint[${c}]`;
      const expression = str(constraint.expression);
      const source = str(constraint.source);
      if (!isSnapshot && source !== undefined && source !== url && !source.startsWith(`${url}|`)) {
        add('error', 'business-rule', 'sd-invariant-source', `The constraint ${key} in the differential names the source ${source}, not this profile (${url})`, cat);
      }
      if (!isSnapshot && baseInvariants.has(key) && baseInvariants.get(key) !== expression) {
        add('error', 'business-rule', 'sd-invariant-key-reused', `The constraint key ${key} is already used in the base definition with the expression '${baseInvariants.get(key)}'`, cat);
      } else if (invariants.has(key) && invariants.get(key) !== expression && key !== 'ele-1') {
        add('error', 'business-rule', 'sd-invariant-key-reused', `The constraint key ${key} is already used with the expression '${invariants.get(key)}'`, cat);
      } else if (!invariants.has(key)) invariants.set(key, expression);
      // A snapshot's own invariants must make sense on the element's types (the reference's FHIRPath check).
      if (isSnapshot && expression !== undefined && (source === undefined || source === url)) {
        const problem = fhirPathTypeError(expression, invariantStartTypes(element, path, isRoot, context.profileType));
        if (problem !== undefined) add('error', 'invalid', 'sd-invariant-expression', `Error in constraint '${key}' with expression '${expression}': ${problem}`, cat);
      }
    });
  });
}
