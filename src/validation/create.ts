import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConformance } from '../packages/load.js';
import type { FhirResource } from '../packages/types.js';
import { TerminologyService } from '../terminology/service.js';
import type { ValidateOptions, Validator, ValidatorOptions } from './api.js';
import { BindingChecker } from './bindings.js';
import { Engine } from './instance-validator.js';
import type { Issue } from './issues.js';
import { toOperationOutcome } from './outcome.js';
import { bundleByEntry } from './bundle-by-entry.js';

/** profiles/ of this checkout or installed package: the national and regional packages fhirdq ships. */
export const SHIPPED_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

export async function createValidator(options: ValidatorOptions = {}): Promise<Validator> {
  const shipped = options.includeShippedPackages !== false && existsSync(SHIPPED_PROFILES_DIR) ? [SHIPPED_PROFILES_DIR] : [];
  const igs = options.igs ?? [];
  // A package's dependencies are also looked for beside it (name#version.tgz), as a folder of packages usually holds them.
  const besideGivenPackages = igs.filter((ig) => ig.endsWith('.tgz')).map((ig) => dirname(ig));
  const loaded = await loadConformance({ igs: [...shipped, ...igs], includeCore: true, packageSearchPaths: [...new Set([...shipped, ...besideGivenPackages])] });
  const engine = new Engine(
    loaded.store,
    {
      securityChecks: options.securityChecks ?? false,
      allowExampleUrls: options.allowExampleUrls ?? true,
      bestPractice: options.bestPractice ?? 'warning',
      extensionDomains: options.extensionDomains ?? ['any'],
      noExperimentalContent: options.noExperimentalContent ?? false,
      assumeValidRestReferences: options.assumeValidRestReferences ?? false,
      questionnaireMode: options.questionnaireMode ?? 'check',
    },
    new BindingChecker(new TerminologyService(loaded.store, { languages: options.displayLanguages, displayIssuesAreWarnings: options.displayIssuesAreWarnings })),
  );
  const loadIssues: Issue[] = [...loaded.issues];
  const validateToIssues = (resource: FhirResource, validateOptions: ValidateOptions = {}): Issue[] =>
    engine.validate(resource, validateOptions.profile, validateOptions.numberTexts);
  return {
    validateToIssues,
    validate: (resource, validateOptions) => toOperationOutcome(validateToIssues(resource, validateOptions)),
    bundleByEntry: (shell, entries, fullUrls, read, validateOptions = {}, typeIds) => bundleByEntry(engine, shell, entries, fullUrls, read, validateOptions.profile, typeIds),
    get loadIssues() {
      return [...loadIssues, ...engine.structures.issues];
    },
  };
}
