/** Reading the published profile sources (../shared/profiles-src): FHIR XML folders and SOURCE files. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseFhirXml } from '../../formats/fhir-xml.js';
import type { FhirResource } from '../types.js';

export interface SourceInfo {
  commit: string;
  date: string;
}

/** SOURCE holds `<commit> <date>` of the repository a folder was copied from. */
export async function readSourceInfo(dir: string): Promise<SourceInfo> {
  const [commit, date] = (await readFile(join(dir, 'SOURCE'), 'utf8')).trim().split(/\s+/);
  if (!/^[0-9a-f]{40}$/.test(commit ?? '') || !/^\d{4}-\d{2}-\d{2}/.test(date ?? '')) {
    throw new Error(`${dir}/SOURCE: expected "<commit> <date>"`);
  }
  return { commit, date };
}

async function xmlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.xml'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export interface XmlResource {
  resource: FhirResource;
  /** Path relative to the folder that was read. */
  file: string;
}

/** Every FHIR XML file under `dir` (recursively, sorted), converted with the project's XML reader; errors are fatal. */
export async function readXmlFolder(dir: string): Promise<XmlResource[]> {
  const files = await xmlFiles(dir);
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return files.map((file, i) => {
    const parsed = parseFhirXml(texts[i].replace(/^\uFEFF/, ''));
    const errors = parsed.issues.filter((x) => x.severity === 'error' || x.severity === 'fatal');
    if (!parsed.resource || errors.length) {
      throw new Error(`${file}: not readable as FHIR XML: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
    }
    return { resource: parsed.resource, file: relative(dir, file) };
  });
}
