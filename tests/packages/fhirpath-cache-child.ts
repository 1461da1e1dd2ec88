/** Run by fhirpath-cache.test.ts as a separate process: validates one Patient, then says whether fhirpath.js was loaded. */
import { createRequire } from 'node:module';
import { createValidator } from '../../src/validation/create.js';

const validator = await createValidator({ includeShippedPackages: false });
// pat-1 (a contact needs a name, telecom, address or organization) fails; no other issue.
const issues = validator.validateToIssues({ resourceType: 'Patient', id: 'p1', active: true, contact: [{ gender: 'female' }] });
const fhirpathLoaded = Object.keys(createRequire(import.meta.url).cache).some((file) => /[\\/]fhirpath[\\/]/.test(file));
process.stdout.write(JSON.stringify({ issues, fhirpathLoaded }));
