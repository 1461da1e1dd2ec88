/**
 * What a Bundle validated entry by entry keeps of its entries: their fullUrls as hashes in a table, a few bytes an
 * entry, and the entries read again from the file when a reference is followed (see cli/bundle-entries.ts).
 */
import { readSync } from 'node:fs';
import { entryOf, EntryLookup, type BundleEntry } from './bundle.js';
import { closeScratchFile, openScratchFile, writeAllSync, type ScratchFile } from '../formats/bundle-scan.js';

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
/** Pairs the table grows by at a time while they are added. */
const PAIRS_AT_A_TIME = 1 << 16;
/** Pairs in a block of the sorted pairs' file, read at a time: 4 KB. */
const PAIRS_PER_BLOCK = 512;
/** Blocks a table keeps once read: references mostly point at a few entries (a Patient, an Encounter). */
const BLOCKS_KEPT = 16;

/**
 * The entries' fullUrls by hash: (hash, entry number) pairs, 8 bytes an entry, grown in place in memory as they are
 * added, then sorted (`seal`) into a scratch file, in memory only the first hash of each block of 512. A lookup
 * halves the first hashes, then reads a block or two (kept for the next). A hash names candidates only: the caller
 * compares the fullUrls it reads back. Memory thus stays the same whatever the number of entries: held in memory, the
 * pairs took 13 MB of a 1 GB Bundle's peak (and an open-addressed table, doubled as it grew, up to 32 bytes an entry).
 */
export class FullUrlTable {
  /**
   * While pairs are added: in one resizable block of memory, as 32-bit words (see HASH_WORD). Sealed, it is resized to
   * nothing, which frees it at once: left to the next full collection, a 1 GB Bundle's 13 MB of pairs were still held
   * when the threads' validation began, at the run's peak.
   */
  private adding: { buffer: ArrayBuffer; words: Uint32Array } | undefined = { buffer: new ArrayBuffer(0, { maxByteLength: 8 * MAX_PAIRS }), words: new Uint32Array(0) };
  private count = 0;
  /** Once sealed: the sorted pairs' file, each block's first hash, and the blocks read last (most recent last). */
  private file: ScratchFile | undefined;
  private owner = true;
  private firstHashes = new Uint32Array(0);
  private kept = new Map<number, Uint32Array>();

  /** The table from a copy received from another thread: the same file, read through the same descriptor. */
  static revive(copy: FullUrlTable): FullUrlTable {
    if (!copy.file) throw new Error('a fullUrl table is shared before it is sealed');
    return Object.assign(new FullUrlTable(), { adding: undefined, count: copy.count, file: copy.file, owner: false, firstHashes: copy.firstHashes });
  }

  add(index: number, fullUrl: string | undefined): void {
    if (fullUrl === undefined) return;
    const adding = this.adding;
    if (!adding) throw new Error('a fullUrl is added after the table is sealed');
    if (2 * this.count === adding.words.length) {
      if (this.count === MAX_PAIRS) throw new RangeError(`a Bundle validated entry by entry may have at most ${MAX_PAIRS} entries with a fullUrl`);
      adding.buffer.resize(8 * Math.min(this.count + PAIRS_AT_A_TIME, MAX_PAIRS));
      adding.words = new Uint32Array(adding.buffer);
    }
    adding.words[2 * this.count + HASH_WORD] = hashOf(fullUrl);
    adding.words[2 * this.count + ENTRY_WORD] = index;
    this.count++;
  }

  /** Sorts the pairs into the scratch file (no more are added after): before the table is searched, or shared. */
  seal(): void {
    const adding = this.adding;
    if (!adding) return;
    this.adding = undefined;
    const words = adding.words;
    // Read as 64-bit numbers, hash high, the pairs sort natively by hash and then entry number.
    new BigUint64Array(adding.buffer, 0, this.count).sort();
    this.firstHashes = new Uint32Array(Math.ceil(this.count / PAIRS_PER_BLOCK));
    for (let b = 0; b < this.firstHashes.length; b++) this.firstHashes[b] = words[2 * b * PAIRS_PER_BLOCK + HASH_WORD]!;
    this.file = openScratchFile('fullurls');
    writeAllSync(this.file.fd, new Uint8Array(adding.buffer, 0, 8 * this.count), 0);
    adding.buffer.resize(0);
  }

  /** The entries whose fullUrl may be this one, in entry order. */
  candidates(fullUrl: string): number[] {
    this.seal();
    const hash = hashOf(fullUrl);
    // The first block whose first hash is not below this one: the pairs with it start there or in the block before.
    let low = 0;
    let high = this.firstHashes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.firstHashes[middle]! < hash) low = middle + 1;
      else high = middle;
    }
    const found: number[] = [];
    for (let b = Math.max(0, low - 1); b < this.firstHashes.length && this.firstHashes[b]! <= hash; b++) {
      const words = this.block(b);
      for (let k = 0; k < words.length; k += 2) {
        const at = words[k + HASH_WORD]!;
        if (at === hash) found.push(words[k + ENTRY_WORD]!);
        else if (at > hash) return found;
      }
    }
    return found;
  }

  /**
   * The entries whose fullUrl's hash another entry's has too, the only ones that may share a fullUrl: in runs of one
   * hash (numbered by `run`), each in entry order, read from the file a block at a time and given one by one. Held in
   * memory instead, a Bundle whose entries repeat one resource kept a number per entry, and sent them to every worker
   * with the table: 6.6 MB for the 1 GB bench Bundle's `type/id`s, whose freeing made glibc serve allocations up to
   * that size from its arenas after, which then held 30 MB more.
   */
  *sharedHashEntries(): Generator<{ run: number; index: number }> {
    this.seal();
    let run = -1;
    // Hashes are unsigned: -1 is none.
    let previousHash = -1;
    let previousIndex = -1;
    let previousGiven = false;
    for (let b = 0; b < this.firstHashes.length; b++) {
      const words = this.readBlock(b);
      for (let k = 0; k < words.length; k += 2) {
        const hash = words[k + HASH_WORD]!;
        const index = words[k + ENTRY_WORD]!;
        if (hash !== previousHash) previousGiven = false;
        else {
          if (!previousGiven) yield { run: ++run, index: previousIndex };
          yield { run, index };
          previousGiven = true;
        }
        previousHash = hash;
        previousIndex = index;
      }
    }
  }

  /** Closes the scratch file (the table that made it; copies in other threads leave it open). */
  close(): void {
    if (!this.owner || !this.file) return;
    closeScratchFile(this.file);
    this.file = undefined;
  }

  /** Block `b` of the sorted pairs, as 32-bit words. */
  private block(b: number): Uint32Array {
    let words = this.kept.get(b);
    if (words) this.kept.delete(b);
    else {
      words = this.readBlock(b);
      if (this.kept.size >= BLOCKS_KEPT) this.kept.delete(this.kept.keys().next().value!);
    }
    this.kept.set(b, words);
    return words;
  }

  /** Block `b` of the sorted pairs read from the file. */
  private readBlock(b: number): Uint32Array {
    if (!this.file) throw new Error('the fullUrl table is closed');
    const words = new Uint32Array(2 * Math.min(PAIRS_PER_BLOCK, this.count - b * PAIRS_PER_BLOCK));
    readSync(this.file.fd, words, 0, words.byteLength, 8 * b * PAIRS_PER_BLOCK);
    return words;
  }
}

/** Type/id lookups kept (see OnDiskIndex.withTypeAndId). */
const NEAR_MISSES_KEPT = 256;

/** Entries read back and kept: references mostly point at a few entries (a Patient, an Encounter). */
const READ_BACK_CACHE = 64;

/**
 * The index of a Bundle validated entry by entry: references are resolved through the fullUrl table, and the
 * entries they may mean are read back from the file (`read`). The entry being walked is the one in hand.
 */
export class OnDiskIndex extends EntryLookup {
  private current: BundleEntry | undefined;
  private readonly readBack = new Map<number, BundleEntry | undefined>();
  /** The entries by `type/id` of their resource, as hashes on disk: given, or made by reading every entry again on first need. */
  private byTypeAndId: FullUrlTable | undefined;
  /** Whether this index made byTypeAndId (and closes it). */
  private madeByTypeAndId = false;
  /** The entries found by type and id, by `type/id`: a missed reference recurs in many entries. */
  private readonly nearMisses = new Map<string, BundleEntry[]>();

  constructor(
    type: unknown,
    private readonly table: FullUrlTable,
    private readonly path: string,
    private readonly read: (index: number) => Record<string, unknown> | undefined,
    private readonly entries: number,
    typeIds?: FullUrlTable,
  ) {
    super(type);
    this.byTypeAndId = typeIds;
  }

  /** As the in-memory index's; the first call reads the whole Bundle again (only a reference that misses asks). */
  withTypeAndId(type: string, id: string, limit: number): readonly BundleEntry[] {
    if (!this.byTypeAndId) {
      const table = new FullUrlTable();
      for (let index = 0; index < this.entries; index++) {
        const resource = this.read(index)?.resource as { resourceType?: unknown; id?: unknown } | undefined;
        if (typeof resource?.resourceType === 'string' && typeof resource.id === 'string') table.add(index, `${resource.resourceType}/${resource.id}`);
      }
      table.seal();
      this.byTypeAndId = table;
      this.madeByTypeAndId = true;
    }
    const key = `${type}/${id}`;
    let found = this.nearMisses.get(key);
    if (found === undefined) {
      found = [];
      for (const index of this.byTypeAndId.candidates(key)) {
        // Read past the read-back cache, and kept as index and fullUrl only: these entries are named, never walked.
        const value = this.current?.index === index ? undefined : this.read(index);
        const resource = (value?.resource ?? this.current?.resource) as { resourceType?: unknown; id?: unknown } | undefined;
        const fullUrl = value ? value.fullUrl : this.current?.fullUrl;
        if (resource?.resourceType === type && resource.id === id && found.push(entryOf(index, { fullUrl }, this.path)) === limit) break;
      }
      if (this.nearMisses.size >= NEAR_MISSES_KEPT) this.nearMisses.clear();
      this.nearMisses.set(key, found);
    }
    return found;
  }

  /** Lets go of the scratch file of the entries by type and id, if this index made one. */
  close(): void {
    if (this.madeByTypeAndId) this.byTypeAndId?.close();
    this.byTypeAndId = undefined;
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
