/** Numbers below this live in the dense array; larger ones (rare: dup2 onto a big number) in a Map. */
const DENSE_LIMIT = 1 << 16;

/**
 * A map from descriptor numbers to values. Descriptor numbers are small and reused lowest-first, so a
 * dense array indexed by number is several times cheaper than a `Map` for the set/delete churn of every
 * open and close (V8's Map rehashes small integer keys on alternating insert/delete).
 */
export class NumberMap<T> {
  private readonly dense: (T | undefined)[] = [];
  private readonly sparse = new Map<number, T>();
  private count = 0;

  /** How many numbers have a value. */
  get size(): number {
    return this.count;
  }

  get(n: number): T | undefined {
    return n < DENSE_LIMIT ? this.dense[n] : this.sparse.get(n);
  }

  has(n: number): boolean {
    return this.get(n) !== undefined;
  }

  set(n: number, value: T): void {
    if (n < DENSE_LIMIT) {
      while (this.dense.length < n) this.dense.push(undefined); // keep the array packed, never holey
      if (this.dense[n] === undefined) this.count++;
      this.dense[n] = value;
    } else {
      if (!this.sparse.has(n)) this.count++;
      this.sparse.set(n, value);
    }
  }

  delete(n: number): void {
    if (n < DENSE_LIMIT) {
      if (this.dense[n] !== undefined) {
        this.dense[n] = undefined;
        this.count--;
      }
    } else if (this.sparse.delete(n)) {
      this.count--;
    }
  }

  /** The values, by ascending number. */
  values(): T[] {
    const out: T[] = [];
    for (const v of this.dense) if (v !== undefined) out.push(v);
    if (this.sparse.size > 0)
      for (const n of [...this.sparse.keys()].sort((a, b) => a - b)) out.push(this.sparse.get(n) as T);
    return out;
  }
}
