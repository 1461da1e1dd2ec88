/**
 * OperationDefinition.inputProfile / outputProfile against the parameter list, as the reference
 * validator checks them: each slice of Parameters.parameter named by a fixed or pattern `name` must
 * match a parameter of that use (min, max, types, target profiles), and each parameter must have a slice.
 * Messages are the reference validator's, word for word.
 */
import type { CompiledStructure, ElementNode } from './element-tree.js';
import type { Issue, IssueType, Severity } from './issues.js';
import type { StructureCache } from './structures.js';

interface OperationParameter {
  name?: unknown;
  use?: unknown;
  min?: unknown;
  max?: unknown;
  type?: unknown;
  targetProfile?: unknown;
}

/** What a profile slice allows for one parameter. */
interface SliceParameter {
  name: string;
  node: ElementNode;
  types: string[];
  targetProfiles: string[];
}

const USES = [
  { use: 'in', element: 'inputProfile' },
  { use: 'out', element: 'outputProfile' },
] as const;

const list = (items: readonly string[]) => (items.length > 0 ? items.join(', ') : '(none)');
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const formatMax = (max: number) => (max === Number.POSITIVE_INFINITY ? '*' : String(max));

/** The slices of Parameters.parameter that name their parameter, with the types and target profiles they allow. */
function sliceParameters(structure: CompiledStructure): SliceParameter[] {
  const result: SliceParameter[] = [];
  for (const slice of structure.root.childByName.get('parameter')?.slices ?? []) {
    const nameNode = slice.childByName.get('name');
    const name = nameNode?.fixed?.value ?? nameNode?.pattern?.value;
    if (typeof name !== 'string') continue;
    const types: string[] = [];
    const targetProfiles: string[] = [];
    for (const child of ['value', 'resource']) {
      const node = slice.childByName.get(child);
      if (!node || node.max === 0) continue;
      for (const t of node.types) {
        if (!types.includes(t.code)) types.push(t.code);
        for (const p of t.targetProfiles) if (!targetProfiles.includes(p)) targetProfiles.push(p);
      }
    }
    result.push({ name, node: slice, types, targetProfiles });
  }
  return result;
}

/** Checks an OperationDefinition (at `path`) against its input and output profiles; unresolvable profiles are left to reference checks. */
export function checkOperationDefinition(opdef: Record<string, unknown>, path: string, structures: Pick<StructureCache, 'get'>): Issue[] {
  const issues: Issue[] = [];
  const add = (severity: Severity, code: IssueType, messageId: string, message: string, at: string) =>
    issues.push({ severity, code, messageId, message, path: at });
  const parameters = (Array.isArray(opdef.parameter) ? opdef.parameter : []) as OperationParameter[];

  for (const { use, element } of USES) {
    const canonical = opdef[element];
    if (typeof canonical !== 'string') continue;
    const structure = structures.get(canonical);
    if (!structure) continue;
    const matched = new Set<number>();
    for (const slice of sliceParameters(structure)) {
      const index = parameters.findIndex((p) => p?.name === slice.name && p.use === use);
      if (index < 0) {
        add(
          'warning',
          'business-rule',
          'opdef-profile-extra-parameter',
          `The '${use}' profile ${structure.label} defines a parameter '${slice.name}' but this is not in the parameters list in the operation definition`,
          `${path}.${element}`,
        );
        continue;
      }
      matched.add(index);
      const param = parameters[index]!;
      const at = `${path}.parameter[${index}]`;
      const cardinality = (property: 'min' | 'max', inProfile: string, inOpdef: unknown) => {
        if (inOpdef === undefined || inProfile === String(inOpdef)) return;
        // The reference validator prints the profile's value where the profile belongs ("in the 'in' profile 1").
        add(
          'error',
          'business-rule',
          'opdef-profile-cardinality',
          `The parameter '${slice.name}' has a value for '${property}' of '${inProfile}' in the '${use}' profile ${inProfile} that is different to '${String(inOpdef)}' which is the value in the parameter definition in the operation definition`,
          at,
        );
      };
      cardinality('min', String(slice.node.min), param.min);
      cardinality('max', formatMax(slice.node.max), param.max);

      /** Each value one side lists that the other does not: an error worded by `message`. */
      const onlyIn = (messageId: string, values: string[], others: string[], message: (value: string) => string) => {
        for (const value of values) if (!others.includes(value)) add('error', 'invalid', messageId, message(value), at);
      };
      const opdefTypes = typeof param.type === 'string' ? [param.type] : [];
      onlyIn('opdef-profile-type', slice.types, opdefTypes, (t) =>
        `The type '${t}' is allowed for the parameter '${slice.name}' in the '${use}' profile ${structure.label} but is not in the list of allowed types for the parameter in the operation definition: ${list(opdefTypes)}`);
      onlyIn('opdef-profile-type', opdefTypes, slice.types, (t) =>
        `The type '${t}' is not allowed for the parameter '${slice.name}' in the '${use}' profile ${structure.label} but is in the list of allowed types for the parameter in the operation definition (allowed types = ${list(slice.types)})`);
      const opdefTargets = strings(param.targetProfile);
      onlyIn('opdef-profile-target-profile', slice.targetProfiles, opdefTargets, (p) =>
        `The target profile '${p}' is allowed for the parameter '${slice.name}' in the '${use}' profile ${structure.label} but is not in the list of target profiles for the parameter in the operation definition: ${list(opdefTargets)}`);
      onlyIn('opdef-profile-target-profile', opdefTargets, slice.targetProfiles, (p) =>
        `The target profile '${p}' is not allowed for the parameter '${slice.name}' in the '${use}' profile but is in the list of target profiles for the parameter in the operation definition (profile target profiles = ${list(slice.targetProfiles)})`);
    }
    parameters.forEach((param, index) => {
      if (param?.use !== use || matched.has(index) || typeof param.name !== 'string') return;
      add(
        'warning',
        'business-rule',
        'opdef-profile-missing-parameter',
        `The '${use}' profile does not have a parameter '${param.name}' but it is in the parameters list in the operation definition`,
        `${path}.parameter[${index}]`,
      );
    });
  }
  return issues;
}
