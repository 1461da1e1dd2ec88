/** Worker side of the validator pool. */
import { parentPort, workerData } from 'node:worker_threads';
import { createValidator } from '../index.js';
import type { Issue } from '../validation/issues.js';
import type { ValidateItem } from './validate-pool.js';

const port = parentPort!;
const validator = await createValidator({ igs: (workerData as { igs: string[] }).igs });

port.on('message', ({ id, items }: { id: number; items: ValidateItem[] }) => {
  const results: Issue[][] = items.map((item) => {
    try {
      return validator.validateToIssues(item.resource, item.profile ? { profile: item.profile } : undefined);
    } catch (err) {
      return [{ severity: 'fatal', code: 'processing', messageId: 'VALIDATOR_CRASH', message: (err as Error).message, path: item.resource.resourceType }];
    }
  });
  port.postMessage({ id, results });
});
