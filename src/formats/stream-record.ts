/** What every streaming reader yields: one record with where it came from, or a record-level rejection. */

export interface SourceRecord {
  kind: 'record';
  source: string;
  file: string;
  /** 1-based line; 0 when the format has no line for it (a JSON array element: see `pointer`). */
  line: number;
  /** Position inside a JSON file, e.g. `entry[12]` or `[3]`. */
  pointer?: string;
  record: Record<string, unknown>;
}

export interface SourceRejection {
  kind: 'rejected';
  source: string;
  file: string;
  line: number;
  pointer?: string;
  /** Column, JSON key or FHIR path the problem is in, when known. */
  field?: string;
  reason: string;
}

/** A whole file could not be read (missing, wrong content type, too large): its records are unknown. */
export interface SourceFileError {
  kind: 'file-error';
  source: string;
  file: string;
  reason: string;
}

export type SourceItem = SourceRecord | SourceRejection | SourceFileError;

export type SourceFormat = 'csv' | 'ndjson' | 'json' | 'xml';

/** `file:line` or `file#pointer`, for messages. */
export function locate(item: { file: string; line: number; pointer?: string }): string {
  if (item.line > 0) return `${item.file}:${item.line}`;
  return item.pointer ? `${item.file}#${item.pointer}` : item.file;
}

/** Thrown by a reader when the file as a whole is unusable; the source turns it into a SourceFileError. */
export class FileContentError extends Error {}
