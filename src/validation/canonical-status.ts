/**
 * What the reference asks of any canonical resource's status and version (InstanceValidator.checkSpecials): the
 * status agrees with the standards-status extension, the version has no '#', and, where the validation forbids
 * experimental content, it is not experimental.
 */
import type { IssueType, Severity } from './issues.js';

const STANDARDS_STATUS = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status';

/** Per standards status: the statuses consistent with it, and those that are so without review. */
const CONSISTENT: Record<string, { consistent: string[]; clearly: string[] }> = {
  draft: { consistent: ['draft'], clearly: ['draft'] },
  normative: { consistent: ['active'], clearly: ['active'] },
  'trial-use': { consistent: ['draft', 'active'], clearly: ['active'] },
  informative: { consistent: ['draft', 'active', 'retired'], clearly: ['draft', 'active'] },
  deprecated: { consistent: ['retired'], clearly: ['retired'] },
  withdrawn: { consistent: ['retired'], clearly: ['retired'] },
  external: { consistent: ['draft', 'active', 'retired'], clearly: ['draft', 'active'] },
};

export interface StatusProblem {
  severity: Severity;
  code: IssueType;
  messageId: string;
  message: string;
}

/** The primitive value of the first extension with this url, among a resource's extensions and modifier extensions. */
function extensionValue(res: Record<string, unknown>, url: string): string | undefined {
  for (const list of [res.extension, res.modifierExtension]) {
    if (!Array.isArray(list)) continue;
    const ext = (list as Array<Record<string, unknown> | null>).find((e) => e?.url === url);
    if (!ext) continue;
    for (const key in ext) if (key.startsWith('value') && (typeof ext[key] === 'string' || typeof ext[key] === 'number')) return String(ext[key]);
    return undefined;
  }
  return undefined;
}

export function canonicalStatusProblems(res: Record<string, unknown>, noExperimentalContent: boolean): StatusProblem[] {
  const problems: StatusProblem[] = [];
  const status = typeof res.status === 'string' ? res.status : undefined;
  const standardsStatus = extensionValue(res, STANDARDS_STATUS);
  const expected = standardsStatus === undefined ? undefined : CONSISTENT[standardsStatus];
  if (status && expected) {
    if (!expected.consistent.includes(status)) {
      problems.push({ severity: 'warning', code: 'business-rule', messageId: 'status-inconsistent', message: `The resource status '${status}' and the standards status '${standardsStatus}' are not consistent` });
    } else if (!expected.clearly.includes(status)) {
      problems.push({ severity: 'information', code: 'business-rule', messageId: 'status-inconsistent', message: `The resource status '${status}' and the standards status '${standardsStatus}' may not be consistent and should be reviewed` });
    }
  }
  if (noExperimentalContent && res.experimental === true) {
    problems.push({ severity: 'error', code: 'business-rule', messageId: 'experimental-content', message: 'Experimental content is not allowed in this context' });
  }
  if (typeof res.version === 'string' && res.version.includes('#')) {
    problems.push({
      severity: 'warning',
      code: 'business-rule',
      messageId: 'version-hash',
      message: `Version '${res.version}' contains a '#', which is problematic, as this character is used in some URLs to separate the version and the fragment id. Systems will generally wrongly parse these URLs`,
    });
  }
  return problems;
}
