/**
 * What a Bundle validated entry by entry keeps of its entries: their fullUrls as hashes in a table, a few bytes an
 * entry, and the entries read again from the file when a reference is followed (see cli/bundle-entries.ts).
 */
import { entryOf, EntryLookup, type BundleEntry } from './bundle.js';
import { sharedArray } from '../formats/bundle-scan.js';

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

/**
 * Pairs in a block while they are added: 64 KB, under glibc's threshold for mapping a block of its own. Freeing a
 * mapped block raises that threshold, and the blocks under it then fragment the heap (35 MB more RSS for 1 GB).
 */
const PAIR_BLOCK_BITS = 13;
const PAIR_BLOCK = 1 << PAIR_BLOCK_BITS;

/**
 * The entries' fullUrls by hash: (hash, entry number) pairs, 8 bytes an entry, sorted once all are added (`seal`) into
 * memory threads share, and searched by halving. A hash names candidates only: the caller compares the fullUrls it
 * reads back. An open-addressed table, half full and doubled as it grew, took up to 32 bytes an entry while growing.
 */
export class FullUrlTable {
  /** While entries are added: blocks of pairs. */
  private blocks: Uint32Array[] = [];
  private count = 0;
  /** Once sealed: the pairs by hash, then entry number. */
  private pairs: Uint32Array | undefined;
  /** Entries whose fullUrl's hash another entry's has too (known once sealed): the only ones that may share a fullUrl. */
  sharedHashes: number[] = [];

  /** The table from a copy received from another thread (a structured clone keeps the fields, not the class). */
  static revive(copy: FullUrlTable): FullUrlTable {
    return Object.assign(new FullUrlTable(), copy);
  }

  add(index: number, fullUrl: string | undefined): void {
    if (fullUrl === undefined) return;
    const at = this.count & (PAIR_BLOCK - 1);
    if (at === 0) this.blocks.push(new Uint32Array(2 * PAIR_BLOCK));
    const block = this.blocks[this.count++ >>> PAIR_BLOCK_BITS]!;
    block[2 * at + HASH_WORD] = hashOf(fullUrl);
    block[2 * at + ENTRY_WORD] = index;
  }

  /** Sorts the pairs into memory the workers share; no more are added after. */
  seal(): void {
    if (this.pairs) return;
    const pairs = sharedArray(Uint32Array, 2 * this.count);
    this.blocks.forEach((block, i) => pairs.set(block.subarray(0, Math.min(block.length, pairs.length - i * block.length)), i * block.length));
    this.blocks = [];
    // Read as 64-bit numbers, hash high, the pairs sort natively by hash and then entry number.
    new BigUint64Array(pairs.buffer).sort();
    this.pairs = pairs;
    for (let k = 1; k < this.count; k++) {
      if (pairs[2 * k + HASH_WORD] !== pairs[2 * k - 2 + HASH_WORD]) continue;
      if (k === 1 || pairs[2 * k - 2 + HASH_WORD] !== pairs[2 * k - 4 + HASH_WORD]) this.sharedHashes.push(pairs[2 * k - 2 + ENTRY_WORD]!);
      this.sharedHashes.push(pairs[2 * k + ENTRY_WORD]!);
    }
  }

  /** The entries whose fullUrl may be this one, in entry order. */
  candidates(fullUrl: string): number[] {
    this.seal();
    const pairs = this.pairs!;
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
