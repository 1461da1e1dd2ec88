/**
 * What a Bundle validated entry by entry keeps of its entries: their fullUrls as hashes in a table, a few bytes an
 * entry, and the entries read again from the file when a reference is followed (see cli/bundle-entries.ts).
 */
import { entryOf, EntryLookup, type BundleEntry } from './bundle.js';
import { inSharedMemory } from '../formats/bundle-scan.js';

const EMPTY = -1;

/** FNV-1a over the UTF-16 code units. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash | 0;
}

/**
 * The entries' fullUrls by hash, in an open-addressed table (entry numbers and hashes in typed arrays, never more
 * than half full). A hash names candidates only: the caller compares the fullUrls it reads back.
 */
export class FullUrlTable {
  private slots = new Int32Array(1024).fill(EMPTY);
  private hashes = new Int32Array(1024);
  private count = 0;
  /** Entries whose fullUrl's hash another entry's has too, in pairs: the only ones that may share a fullUrl. */
  readonly sharedHashes: number[] = [];

  /** The table from a copy received from another thread (a structured clone keeps the fields, not the class). */
  static revive(copy: FullUrlTable): FullUrlTable {
    return Object.assign(new FullUrlTable(), copy);
  }

  add(index: number, fullUrl: string | undefined): void {
    if (fullUrl === undefined) return;
    if (2 * (this.count + 1) > this.slots.length) this.grow();
    this.place(index, hashOf(fullUrl), true);
    this.count++;
  }

  /** Moves the table to memory the workers share (when no more are added). */
  share(): void {
    this.slots = inSharedMemory(this.slots);
    this.hashes = inSharedMemory(this.hashes);
  }

  /** The entries whose fullUrl may be this one, in entry order. */
  candidates(fullUrl: string): number[] {
    const hash = hashOf(fullUrl);
    const found: number[] = [];
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; this.slots[slot] !== EMPTY; slot = (slot + 1) & mask) {
      if (this.hashes[slot] === hash) found.push(this.slots[slot]!);
    }
    return found.sort((a, b) => a - b);
  }

  private place(index: number, hash: number, noteShared: boolean): void {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (; this.slots[slot] !== EMPTY; slot = (slot + 1) & mask) {
      if (noteShared && this.hashes[slot] === hash) this.sharedHashes.push(this.slots[slot]!, index);
    }
    this.slots[slot] = index;
    this.hashes[slot] = hash;
  }

  private grow(): void {
    const { slots, hashes } = this;
    this.slots = new Int32Array(slots.length * 2).fill(EMPTY);
    this.hashes = new Int32Array(slots.length * 2);
    for (let slot = 0; slot < slots.length; slot++) if (slots[slot] !== EMPTY) this.place(slots[slot]!, hashes[slot]!, false);
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
