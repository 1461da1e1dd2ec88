/** Worker side of the validator pool. */
import { parentPort, workerData } from 'node:worker_threads';
import { createValidator } from '../index.js';
import type { Issue } from '../validation/issues.js';
import type { FhirResource } from '../packages/types.js';
import type { WorkerItem } from './validate-pool.js';

const port = parentPort!;
const validator = await createValidator({ igs: (workerData as { igs: string[] }).igs });

port.on('message', ({ id, items }: { id: number; items: WorkerItem[] }) => {
  const results: Issue[][] = items.map((item) => {
    const resource = JSON.parse(item.json) as FhirResource;
    try {
      return validator.validateToIssues(resource, item.profile ? { profile: item.profile } : undefined);
    } catch (err) {
      return [{ severity: 'fatal', code: 'processing', messageId: 'VALIDATOR_CRASH', message: (err as Error).message, path: resource.resourceType }];
    }
  });
  port.postMessage({ id, results });
});
