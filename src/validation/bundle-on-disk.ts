/**
 * What a Bundle validated entry by entry keeps of its entries: their fullUrls as hashes in a table, a few bytes an
 * entry, and the entries read again from the file when a reference is followed (see cli/bundle-entries.ts).
 */
import { entryOf, EntryLookup, type BundleEntry } from './bundle.js';

/** FNV-1a over the UTF-16 code units, unsigned. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Where a pair's hash and entry number are among its two 32-bit words, read as one 64-bit number: hash high. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HASH_WORD = LITTLE_ENDIAN ? 1 : 0;
const ENTRY_WORD = 1 - HASH_WORD;

/** The most entries with a fullUrl a table holds: 2^28, some 200 GB of Bundle (the pairs' memory is reserved, not used). */
const MAX_PAIRS = 2 ** 28;
/** Pairs the table grows by at a time. */
const PAIRS_AT_A_TIME = 1 << 16;

/**
 * The entries' fullUrls by hash: (hash, entry number) pairs, 8 bytes an entry, in one growable block of memory threads
 * share, sorted in place once all are added (`seal`) and searched by halving. A hash names candidates only: the caller
 * compares the fullUrls it reads back. Growing in place, nothing is copied or freed: an open-addressed table, doubled
 * as it grew, took up to 32 bytes an entry, and the blocks it freed fragmented the heap.
 */
export class FullUrlTable {
  private readonly buffer = new SharedArrayBuffer(0, { maxByteLength: 8 * MAX_PAIRS });
  /** As 32-bit words, growing with the buffer (see HASH_WORD). */
  private readonly pairs = new Uint32Array(this.buffer);
  private count = 0;
  private sealed = false;
  /** Entries whose fullUrl's hash another entry's has too (known once sealed): the only ones that may share a fullUrl. */
  readonly sharedHashes: number[] = [];

  /** The table from a copy received from another thread (a structured clone keeps the fields, not the class). */
  static revive(copy: FullUrlTable): FullUrlTable {
    return Object.assign(new FullUrlTable(), copy);
  }

  add(index: number, fullUrl: string | undefined): void {
    if (fullUrl === undefined) return;
    if (this.sealed) throw new Error('a fullUrl is added after the table is sealed');
    if (2 * this.count === this.pairs.length) {
      if (this.count === MAX_PAIRS) throw new RangeError(`a Bundle validated entry by entry may have at most ${MAX_PAIRS} entries with a fullUrl`);
      this.buffer.grow(8 * Math.min(this.count + PAIRS_AT_A_TIME, MAX_PAIRS));
    }
    this.pairs[2 * this.count + HASH_WORD] = hashOf(fullUrl);
    this.pairs[2 * this.count + ENTRY_WORD] = index;
    this.count++;
  }

  /** Sorts the pairs (no more are added after): before the table is searched, or posted to workers. */
  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    const pairs = this.pairs;
    // Read as 64-bit numbers, hash high, the pairs sort natively by hash and then entry number.
    new BigUint64Array(this.buffer, 0, this.count).sort();
    for (let k = 1; k < this.count; k++) {
      if (pairs[2 * k + HASH_WORD] !== pairs[2 * k - 2 + HASH_WORD]) continue;
      if (k === 1 || pairs[2 * k - 2 + HASH_WORD] !== pairs[2 * k - 4 + HASH_WORD]) this.sharedHashes.push(pairs[2 * k - 2 + ENTRY_WORD]!);
      this.sharedHashes.push(pairs[2 * k + ENTRY_WORD]!);
    }
  }

  /** The entries whose fullUrl may be this one, in entry order. */
  candidates(fullUrl: string): number[] {
    this.seal();
    const pairs = this.pairs;
    const hash = hashOf(fullUrl);
    // The first pair whose hash is not below this one.
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (pairs[2 * middle + HASH_WORD]! < hash) low = middle + 1;
      else high = middle;
    }
    const found: number[] = [];
    for (let k = low; k < this.count && pairs[2 * k + HASH_WORD] === hash; k++) found.push(pairs[2 * k + ENTRY_WORD]!);
    return found;
  }
}

/** Entries read back and kept: references mostly point at a few entries (a Patient, an Encounter). */
const READ_BACK_CACHE = 64;

/**
 * The index of a Bundle validated entry by entry: references are resolved through the fullUrl table, and the
 * entries they may mean are read back from the file (`read`). The entry being walked is the one in hand.
 */
export class OnDiskIndex extends EntryLookup {
  private current: BundleEntry | undefined;
  private readonly readBack = new Map<number, BundleEntry | undefined>();

  constructor(
    type: unknown,
    private readonly table: FullUrlTable,
    private readonly path: string,
    private readonly read: (index: number) => Record<string, unknown> | undefined,
  ) {
    super(type);
  }

  /** Makes the entry about to be walked the current one (undefined when its walk is done). */
  walking(index: number, entry: Record<string, unknown> | undefined): BundleEntry | undefined {
    this.current = entry && entryOf(index, entry, this.path);
    return this.current;
  }

  /** Entry `index`, as the in-memory index would hold it; undefined when it cannot be read. */
  entryAt(index: number): BundleEntry | undefined {
    if (this.current?.index === index) return this.current;
    if (this.readBack.has(index)) {
      const entry = this.readBack.get(index);
      // Most recently used last: a Map keeps insertion order.
      this.readBack.delete(index);
      this.readBack.set(index, entry);
      return entry;
    }
    const value = this.read(index);
    const entry = value && entryOf(index, value, this.path);
    if (this.readBack.size >= READ_BACK_CACHE) this.readBack.delete(this.readBack.keys().next().value!);
    this.readBack.set(index, entry);
    return entry;
  }

  protected withFullUrl(fullUrl: string): readonly BundleEntry[] {
    const found: BundleEntry[] = [];
    for (const index of this.table.candidates(fullUrl)) {
      const entry = this.entryAt(index);
      if (entry?.fullUrl === fullUrl) found.push(entry);
    }
    return found;
  }

  fullUrlOfEntry(resource: object): string | undefined {
    return this.current !== undefined && this.current.resource === resource ? this.current.fullUrl : undefined;
  }
}
