/**
 * Per-patient state for the rules that cross resources, kept off the JS heap: patients are rows of Int32
 * columns and their keys 96-bit keyed hashes in an open-addressing table: ~80 bytes a patient on the demo
 * region, against ~670 for a Map of base64 keys to objects per patient, and nothing for the garbage collector to
 * trace (major GCs took CPU from the validation workers).
 */

/** Growable Int32 columns of equal length: one row per patient (or per stored agreement). */
export class Columns {
  private cols: Int32Array[] = [];
  private capacity = 1024;
  /** Rows in use; row 0 is reserved so that 0 can mean "none" in references. */
  rows = 1;

  /** A new column, zero-filled: its index for `col`. */
  add(): number {
    return this.cols.push(new Int32Array(this.capacity)) - 1;
  }

  /** Column `i` (valid until the next `newRow`). */
  col(i: number): Int32Array {
    return this.cols[i];
  }

  newRow(): number {
    if (this.rows === this.capacity) {
      this.capacity *= 2;
      this.cols = this.cols.map((c) => {
        const n = new Int32Array(this.capacity);
        n.set(c);
        return n;
      });
    }
    return this.rows++;
  }

  clear(): void {
    this.cols = this.cols.map(() => new Int32Array(1024));
    this.capacity = 1024;
    this.rows = 1;
  }
}

/**
 * Map from 96-bit keys (three 32-bit words, already uniformly random: they are hash output) to row numbers.
 * Hand-written: no maintained library offers a typed-array hash map, and a JS Map costs ~70 bytes of traced
 * heap per key.
 */
export class KeyTable {
  private keys = new Int32Array(3 * 1024);
  /** Row + 0 means empty (rows start at 1). */
  private vals = new Int32Array(1024);
  private size = 0;

  /** Slot of the key: its own, or the empty one where it would go. */
  private slot(a: number, b: number, c: number): number {
    const mask = this.vals.length - 1;
    let i = a & mask;
    while (this.vals[i] !== 0 && (this.keys[3 * i] !== a || this.keys[3 * i + 1] !== b || this.keys[3 * i + 2] !== c)) i = (i + 1) & mask;
    return i;
  }

  /** The row of a key, or 0. */
  get(a: number, b: number, c: number): number {
    return this.vals[this.slot(a, b, c)];
  }

  set(a: number, b: number, c: number, row: number): void {
    let i = this.slot(a, b, c);
    if (this.vals[i] === 0) {
      // Grows at 3/4 full: linear probing still finds a key in a few steps, and the table stays a third smaller than at 1/2.
      if (4 * (this.size + 1) > 3 * this.vals.length) {
        this.grow();
        i = this.slot(a, b, c);
      }
      this.size++;
      this.keys[3 * i] = a;
      this.keys[3 * i + 1] = b;
      this.keys[3 * i + 2] = c;
    }
    this.vals[i] = row;
  }

  /** Calls `fn` for each row a key maps to (a row with aliases more than once). */
  forEachRow(fn: (row: number) => void): void {
    for (const v of this.vals) if (v !== 0) fn(v);
  }

  clear(): void {
    this.keys = new Int32Array(3 * 1024);
    this.vals = new Int32Array(1024);
    this.size = 0;
  }

  private grow(): void {
    const { keys, vals } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.vals = new Int32Array(vals.length * 2);
    for (let j = 0; j < vals.length; j++) {
      if (vals[j] === 0) continue;
      const i = this.slot(keys[3 * j], keys[3 * j + 1], keys[3 * j + 2]);
      this.keys[3 * i] = keys[3 * j];
      this.keys[3 * i + 1] = keys[3 * j + 1];
      this.keys[3 * i + 2] = keys[3 * j + 2];
      this.vals[i] = vals[j];
    }
  }
}

/** Distinct strings (codes, dates, dosages, municipalities) as small numbers; 0 is ''. */
export class Interner {
  private readonly ids = new Map<string, number>([['', 0]]);
  readonly values: string[] = [''];

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(s, id);
      this.values.push(s);
    }
    return id;
  }
}

/** A patient's medication agreements: none seen, some without contradiction, or a contradiction. */
export const NO_AGREEMENT = 0;
export const AGREEMENTS = 1;
export const CONFLICT = 2;

/**
 * Active medication agreements of patients, as linked lists of rows (product, start, end and dosage as string
 * ids), kept only while they can still make a contradiction: a patient's list is freed once it has one.
 */
export class Agreements {
  private readonly rows = new Columns();
  private readonly next = this.rows.add();
  private readonly product = this.rows.add();
  private readonly start = this.rows.add();
  private readonly end = this.rows.add();
  private readonly dosage = this.rows.add();
  /** First free row (of lists freed). */
  private freed = 0;

  constructor(private readonly strings: Interner) {}

  /**
   * Adds an agreement to the list starting at `head` (0: empty): the list's new head, or -1 if it contradicts
   * one of the list (same product, another dosage, overlapping). An agreement already in the list is not
   * added again: it was checked against the others when it came.
   */
  add(head: number, product: number, start: number, end: number, dosage: number): number {
    const v = this.strings.values;
    const [s, e] = [v[start], v[end]];
    const next = this.rows.col(this.next);
    const products = this.rows.col(this.product);
    const starts = this.rows.col(this.start);
    const ends = this.rows.col(this.end);
    const dosages = this.rows.col(this.dosage);
    for (let b = head; b; b = next[b]) {
      if (products[b] !== product) continue;
      if (dosages[b] === dosage) {
        if (starts[b] === start && ends[b] === end) return head;
      } else if (s <= v[ends[b]] && v[starts[b]] <= e) return -1;
    }
    let row = this.freed;
    if (row) this.freed = next[row];
    else row = this.rows.newRow();
    this.rows.col(this.next)[row] = head;
    this.rows.col(this.product)[row] = product;
    this.rows.col(this.start)[row] = start;
    this.rows.col(this.end)[row] = end;
    this.rows.col(this.dosage)[row] = dosage;
    return row;
  }

  /** Frees the list starting at `head`. */
  free(head: number): void {
    if (!head) return;
    const next = this.rows.col(this.next);
    let tail = head;
    while (next[tail]) tail = next[tail];
    next[tail] = this.freed;
    this.freed = head;
  }
}
