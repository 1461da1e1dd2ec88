/**
 * A FHIR server as a source: each configured resource type searched and read page by page (fhir-kit-client), every
 * entry's resource one record. A page that cannot be read ends that type with a file error naming the URL, the page
 * and what the server said; the other types are still read.
 */
import { Client } from 'fhir-kit-client';
import type { SourceItem } from './stream-record.js';

export interface ServerSpec {
  /** Base URL of the FHIR server. */
  url: string;
  /** Resource types to read, each with a search of its own. */
  resources: string[];
  /** Search parameters added to every search (e.g. _lastUpdated=ge2025-01-01). */
  params?: Record<string, string>;
  /** _count of each page. */
  pageSize?: number;
  /** Name of the environment variable holding a bearer token: the token stays out of config files. */
  tokenEnv?: string;
}

interface SearchBundle {
  resourceType?: unknown;
  entry?: unknown;
  link?: Array<{ relation?: unknown; url?: unknown }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function* readServer(source: string, spec: ServerSpec): AsyncGenerator<SourceItem> {
  const base = spec.url.replace(/\/+$/, '');
  let bearerToken: string | undefined;
  if (spec.tokenEnv !== undefined) {
    bearerToken = process.env[spec.tokenEnv];
    if (!bearerToken) {
      yield { kind: 'file-error', source, file: base, reason: `${base}: the environment variable ${spec.tokenEnv}, which holds the server's bearer token, is not set` };
      return;
    }
  }
  const client = new Client({ baseUrl: base, ...(bearerToken ? { bearerToken } : {}) });
  for (const resourceType of spec.resources) {
    const where = `${base}/${resourceType}`;
    // Next links already followed: a server whose next link points back would otherwise be read forever.
    const followed = new Set<string>();
    let page = 0;
    try {
      let bundle = (await client.search({ resourceType, searchParams: { _count: String(spec.pageSize ?? 100), ...spec.params } })) as SearchBundle;
      for (;;) {
        page++;
        if (bundle.resourceType !== 'Bundle') {
          yield { kind: 'file-error', source, file: where, reason: `${where} page ${page}: the server answered with ${describeType(bundle.resourceType)}, not a search Bundle` };
          break;
        }
        const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
        for (let i = 0; i < entries.length; i++) {
          const entry: unknown = entries[i];
          const pointer = `page ${page} entry[${i}]`;
          // The server's own messages about the search (search.mode outcome) are not data.
          if (isObject(entry) && isObject(entry.search) && entry.search.mode === 'outcome') continue;
          if (!isObject(entry) || !isObject(entry.resource)) yield { kind: 'rejected', source, file: where, line: 0, pointer, reason: 'search result entry without a resource' };
          else yield { kind: 'record', source, file: where, line: 0, pointer, record: entry.resource };
        }
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        if (typeof next !== 'string') break;
        if (followed.has(next)) {
          yield { kind: 'file-error', source, file: where, reason: `${where} page ${page}: its next link (${next}) is a page already read; stopped there` };
          break;
        }
        followed.add(next);
        bundle = (await client.nextPage({ bundle: bundle as never })) as SearchBundle;
      }
    } catch (err) {
      yield { kind: 'file-error', source, file: where, reason: `${where} page ${page + 1}: ${describeFailure(err)}` };
    }
  }
}

function describeType(resourceType: unknown): string {
  return typeof resourceType === 'string' ? `a ${resourceType}` : 'something that is no FHIR resource';
}

/** What went wrong with a request: the HTTP status and the server's OperationOutcome text, or why it was not answered. */
function describeFailure(err: unknown): string {
  const response = (err as { response?: { status?: number; data?: unknown } }).response;
  if (response?.status !== undefined) {
    const outcome = response.data as { resourceType?: string; issue?: Array<{ diagnostics?: string; details?: { text?: string } }> } | string | undefined;
    const said = typeof outcome === 'object' && outcome?.resourceType === 'OperationOutcome'
      ? (outcome.issue ?? []).map((i) => i.details?.text ?? i.diagnostics).filter(Boolean).join('; ')
      : typeof outcome === 'string' ? 'the answer is not JSON' : '';
    return `HTTP ${response.status}${said ? `: ${said}` : ''}`;
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return `the server could not be reached (${cause?.code ?? cause?.message ?? (err as Error).message})`;
}
