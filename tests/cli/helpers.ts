import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real command line in this process, capturing what it writes. */
export async function runCli(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { out: (s) => void (stdout += s), err: (s) => void (stderr += s) });
  // The shipped national packages announce their known dependency substitutions on every load.
  const packageWarnings = /^fhirdq: warning loading packages: .*\n/gm;
  return { code, stdout, stderr: stderr.replace(packageWarnings, '') };
}

/** Writes files (path → content; objects as pretty JSON) under a new temporary folder and returns it. */
export async function writeTree(files: Record<string, string | object>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'fhirdq-cli-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return root;
}

export const GENDER_PROFILE = 'http://example.org/fhir/StructureDefinition/patient-with-gender';

// A differential-only profile: Patient.gender becomes required.
export const genderProfile = {
  resourceType: 'StructureDefinition',
  id: 'patient-with-gender',
  url: GENDER_PROFILE,
  name: 'PatientWithGender',
  status: 'draft',
  fhirVersion: '4.0.1',
  kind: 'resource',
  abstract: false,
  type: 'Patient',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
  derivation: 'constraint',
  differential: { element: [{ id: 'Patient.gender', path: 'Patient.gender', min: 1 }] },
};
