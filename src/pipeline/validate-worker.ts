/** Worker side of the validator pool. */
import { parentPort, workerData } from 'node:worker_threads';
import { createValidator } from '../index.js';
import type { Issue } from '../validation/issues.js';
import type { FhirResource } from '../packages/types.js';
import { batchOutcome, SEVERITIES } from './issue-lines.js';
import type { BatchRequest, LocatedResult, PoolValidatorOptions, WorkerReply } from './validate-pool.js';
import { parseJsonText, validateParsedSafely } from '../cli/input.js';
import { resourceLabel } from '../cli/output.js';

const port = parentPort!;
const validator = await createValidator(workerData as PoolValidatorOptions);

/** One item's issues; an item the validator cannot handle (bad JSON, a crash) gets one fatal issue, not a lost batch. */
function validateText(json: string, profile: string | undefined): Issue[] {
  let resource: FhirResource | undefined;
  try {
    resource = JSON.parse(json) as FhirResource;
    return validator.validateToIssues(resource, profile ? { profile } : undefined);
  } catch (err) {
    return [{ severity: 'fatal', code: 'processing', messageId: 'VALIDATOR_CRASH', message: (err as Error).message, path: resource?.resourceType ?? '' }];
  }
}

function handle({ id, kind, texts, profiles, contexts, lines }: BatchRequest): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  const n = texts.length;
  if (kind === 'located') {
    const located = new Array<LocatedResult>(n);
    for (let i = 0; i < n; i++) {
      const parsed = parseJsonText(texts[i]!, lines![i]);
      const profile = profiles?.[i];
      located[i] = { label: resourceLabel(parsed.resource), issues: validateParsedSafely(validator, parsed, profile ? { profile } : undefined) };
    }
    return { reply: { id, located }, transfer: [] };
  }
  if (kind === 'counts') {
    const counts = new Uint32Array(n * 4);
    for (let i = 0; i < n; i++) {
      for (const issue of validateText(texts[i]!, profiles?.[i])) counts[i * 4 + SEVERITIES.indexOf(issue.severity)]++;
    }
    return { reply: { id, counts }, transfer: [counts.buffer] };
  }
  const results = new Array<Issue[]>(n);
  for (let i = 0; i < n; i++) results[i] = validateText(texts[i]!, profiles?.[i]);
  if (kind === 'issues') return { reply: { id, results }, transfer: [] };
  const outcome = batchOutcome(contexts!, results);
  return { reply: { id, outcome }, transfer: [outcome.counts.buffer as ArrayBuffer] };
}

port.on('message', (request: BatchRequest) => {
  let answer: ReturnType<typeof handle>;
  try {
    answer = handle(request);
  } catch (err) {
    // The batch fails with the worker's message; the worker keeps serving the next one.
    answer = { reply: { id: request.id, error: (err as Error).message }, transfer: [] };
  }
  port.postMessage(answer.reply, answer.transfer);
});
