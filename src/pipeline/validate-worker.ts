/** Worker side of the validator pool: loads its own validator, then answers batches (see batch-handler.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { createValidator } from '../index.js';
import type { BatchRequest, PoolValidatorOptions } from './validate-pool.js';
import { batchHandler } from './batch-handler.js';

const port = parentPort!;
const handle = batchHandler(await createValidator(workerData as PoolValidatorOptions));

port.on('message', (request: BatchRequest) => {
  const { reply, transfer } = handle(request);
  port.postMessage(reply, transfer);
});
