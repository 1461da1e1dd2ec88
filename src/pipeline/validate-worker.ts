/** Worker side of the validator pool. */
import { parentPort, workerData } from 'node:worker_threads';
import { createValidator } from '../index.js';
import type { Issue } from '../validation/issues.js';
import type { FhirResource } from '../packages/types.js';
import { batchOutcome, type IssueContext } from './issue-lines.js';
import type { WorkerItem, WorkerReply } from './validate-pool.js';

const port = parentPort!;
const validator = await createValidator({ igs: (workerData as { igs: string[] }).igs });

port.on('message', ({ id, items, contexts }: { id: number; items: WorkerItem[]; contexts?: IssueContext[] }) => {
  const results: Issue[][] = items.map((item) => {
    const resource = JSON.parse(item.json) as FhirResource;
    try {
      return validator.validateToIssues(resource, item.profile ? { profile: item.profile } : undefined);
    } catch (err) {
      return [{ severity: 'fatal', code: 'processing', messageId: 'VALIDATOR_CRASH', message: (err as Error).message, path: resource.resourceType }];
    }
  });
  if (!contexts) {
    port.postMessage({ id, results } satisfies WorkerReply);
    return;
  }
  const outcome = batchOutcome(contexts, results);
  port.postMessage({ id, outcome } satisfies WorkerReply, [outcome.counts.buffer as ArrayBuffer]);
});
