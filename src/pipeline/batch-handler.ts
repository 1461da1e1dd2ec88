/**
 * What a validator does with the pool's batches (see validate-pool.ts): on a worker thread, or on the main thread when
 * it validates alongside the workers.
 */
import type { Validator } from '../validation/api.js';
import { atLeast, type Issue } from '../validation/issues.js';
import type { FhirResource } from '../packages/types.js';
import { batchOutcome, SEVERITIES } from './issue-lines.js';
import type { BatchRequest, LocatedResult, RenderedBatch, WorkerReply } from './validate-pool.js';
import type { StreamedOutput } from '../cli/output.js';
import { parseJsonText, validateParsedSafely } from '../cli/input.js';
import { addCounts, countIssues } from '../validation/outcome.js';
import { renderResource, resourceLabel } from '../cli/output.js';
import { BundleEntryValidation } from '../cli/bundle-entries.js';
import { SpanList } from '../formats/bundle-scan.js';
import { FullUrlTable } from '../validation/bundle-on-disk.js';
import { typeOrder } from './type-order.js';

const UTF8 = new TextEncoder();

/** A batch's report text, encoded here: the bytes cross to the main thread without a copy (see RenderedBatch). */
function renderedBatch(text: string, counts: RenderedBatch['counts']): RenderedBatch {
  return { bytes: UTF8.encode(text), counts };
}

/** A reply's buffers that can be handed over: a rendered batch's bytes. */
function transferOf(reply: WorkerReply): ArrayBuffer[] {
  return reply.rendered ? [reply.rendered.bytes.buffer as ArrayBuffer] : [];
}

export interface BatchAnswer {
  reply: WorkerReply;
  /** Buffers the reply may hand over instead of copying, when it crosses to another thread. */
  transfer: ArrayBuffer[];
}

/** Answers the pool's requests with this validator; a request that fails is answered with its message. */
export function batchHandler(validator: Validator): (request: BatchRequest) => BatchAnswer {
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

  /** An NDJSON line validated as `fhirdq validate` does: issues at their line and column. */
  function validateLine(text: string, line: number, profile: string | undefined): LocatedResult {
    const parsed = parseJsonText(text, line);
    return { label: resourceLabel(parsed.resource), issues: validateParsedSafely(validator, parsed, profile ? { profile } : undefined) };
  }

  /** The Bundles being validated entry by entry, by the pool's id. */
  const bundles = new Map<number, BundleEntryValidation>();

  function handleBundle({ id, render, bundle }: BatchRequest): WorkerReply {
    const { id: bundleId, open, profile, from, to, close } = bundle!;
    if (open) {
      const scanned = { ...open, fullUrls: FullUrlTable.revive(open.fullUrls), typeIds: FullUrlTable.revive(open.typeIds), spans: SpanList.revive(open.spans) };
      const validation = BundleEntryValidation.open(validator, scanned, profile ? { profile } : undefined);
      if (!validation) throw new Error(`${open.file} cannot be validated entry by entry`);
      bundles.set(bundleId, validation);
      return { id };
    }
    const validation = bundles.get(bundleId)!;
    if (close) {
      bundles.delete(bundleId);
      validation.close();
      return { id, bundleIssues: validation.bundleIssues() };
    }
    return { id, rendered: renderAll(render!, render!.file, validation.inRuns(from!, to!)) };
  }

  /** Results as one string for the batch (the main thread only writes it), and their counts. */
  function renderAll(output: StreamedOutput, file: string, results: Iterable<{ label: string | null; line: number | undefined; issues: Issue[] }>): RenderedBatch {
    let text = '';
    const counts = { errors: 0, warnings: 0, information: 0 };
    for (const { label, line, issues } of results) {
      text += renderResource(output.format, file, { resource: label, line, issues: atLeast(issues, output.least) });
      addCounts(counts, countIssues(issues));
    }
    return renderedBatch(text, counts);
  }

  function handle(request: BatchRequest): BatchAnswer {
    if (request.bundle) {
      const reply = handleBundle(request);
      return { reply, transfer: transferOf(reply) };
    }
    const { id, kind, texts, profiles, contexts, lines, render } = request;
    const n = texts.length;
    // Validated grouped by type (see typeOrder), answered in the batch's order.
    const order = typeOrder(texts, profiles);
    if (kind === 'rendered') {
      // Each result rendered at once: its text is a fraction of its issues' size, and the issues die young.
      const { format, least, file } = render!;
      const parts = new Array<string>(n);
      const counts = { errors: 0, warnings: 0, information: 0 };
      for (const i of order) {
        const { label, issues } = validateLine(texts[i]!, lines![i]!, profiles?.[i]);
        parts[i] = renderResource(format, file, { resource: label, line: lines![i], issues: atLeast(issues, least) });
        addCounts(counts, countIssues(issues));
      }
      const reply = { id, rendered: renderedBatch(parts.join(''), counts) };
      return { reply, transfer: transferOf(reply) };
    }
    if (kind === 'counts') {
      const counts = new Uint32Array(n * 4);
      for (const i of order) {
        for (const issue of validateText(texts[i]!, profiles?.[i])) counts[i * 4 + SEVERITIES.indexOf(issue.severity)]++;
      }
      return { reply: { id, counts }, transfer: [counts.buffer] };
    }
    const results = new Array<Issue[]>(n);
    for (const i of order) results[i] = validateText(texts[i]!, profiles?.[i]);
    if (kind === 'issues') return { reply: { id, results }, transfer: [] };
    const outcome = batchOutcome(contexts!, results);
    return { reply: { id, outcome }, transfer: [outcome.counts.buffer as ArrayBuffer] };
  }

  return (request) => {
    try {
      return handle(request);
    } catch (err) {
      // The batch fails with the thread's message; the thread keeps serving the next one.
      return { reply: { id: request.id, error: (err as Error).message }, transfer: [] };
    }
  };
}
