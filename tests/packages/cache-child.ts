/** Run by cache.test.ts as a separate process: opens (building when missing) the core and a package index. */
import { openR4Core } from '../../src/packages/core.js';
import { loadPackageIndex } from '../../src/packages/load.js';

const [dir, pkg] = process.argv.slice(2);
const core = openR4Core(dir);
const index = await loadPackageIndex(pkg, { dir, minBytes: 0 });
const patient = core.resolve<{ resourceType: string; snapshot: { element: unknown[] } }>('http://hl7.org/fhir/StructureDefinition/Patient');
process.stdout.write(
  JSON.stringify({
    structureDefinitions: core.all('StructureDefinition').length,
    valueSets: core.summaries('ValueSet').length,
    patientElements: patient?.snapshot.element.length,
    packageResources: index.resources.map((r) => r.load().id),
  }),
);
