/**
 * Records a log file could not write yet (disk full, permission refused, the directory gone), in order,
 * within a byte bound.
 *
 * When the bound is reached, the *newest* records are dropped: what is kept is the contiguous run of
 * records from the failure on, so the log shows exactly one gap, where memory ran out, rather than a
 * hole at the start of the outage (often the lines that explain it). Dropped records are counted
 * exactly, one per `write()` call.
 *
 * @module
 */

/** Bytes per slab that small kept records are packed into. */
const SLAB = 64 * 1024;

interface Entry {
  bytes: Buffer;
  /** Records that start in this entry (a slab holds many). */
  records: number;
}

/** A FIFO of byte chunks with a byte bound and drop counters. */
export class KeepQueue {
  private entries: Entry[] = [];
  private head = 0;
  /** The slab small records are being copied into (not yet in `entries`). */
  private slab: Buffer | undefined;
  private slabUsed = 0;
  private slabRecords = 0;
  /** Bytes held. */
  bytes = 0;
  /** Records refused (or still held when the log closed). */
  dropped = 0;
  /** Bytes of those records. */
  droppedBytes = 0;
  private newDrops = 0;
  private newDropBytes = 0;

  constructor(private readonly limit: number) {}

  /** Whether nothing is kept. */
  get empty(): boolean {
    return this.bytes === 0;
  }

  /**
   * Keeps (a copy of) the remainder of a batch that failed part-way, holding `records` records. It is
   * kept whatever the bound (it is at most one buffer), because its records were accepted before the
   * failure and one of them may be half written.
   */
  keepFailed(chunk: Uint8Array, records: number): void {
    if (chunk.length === 0) return;
    this.seal();
    this.entries.push({ bytes: Buffer.from(chunk), records });
    this.bytes += chunk.length;
  }

  /** Like {@link KeepQueue.keepFailed}, but before everything already kept (carried lines are older). */
  keepFront(chunk: Uint8Array, records: number): void {
    if (chunk.length === 0) return;
    this.seal();
    this.entries.splice(this.head, 0, { bytes: Buffer.from(chunk), records });
    this.bytes += chunk.length;
  }

  /** Keeps one record (copied) if it fits within the bound; otherwise counts it as dropped. Returns whether it was kept. */
  offer(record: Uint8Array): boolean {
    if (this.bytes + record.length > this.limit) {
      this.dropped++;
      this.droppedBytes += record.length;
      this.newDrops++;
      this.newDropBytes += record.length;
      return false;
    }
    this.bytes += record.length;
    if (record.length >= SLAB / 4) {
      this.seal();
      this.entries.push({ bytes: Buffer.from(record), records: 1 });
      return true;
    }
    // Small records share slabs, so a long outage does not become a million-element array.
    if (this.slab === undefined || this.slabUsed + record.length > this.slab.length) {
      this.seal();
      this.slab = Buffer.allocUnsafe(SLAB);
    }
    this.slab.set(record, this.slabUsed);
    this.slabUsed += record.length;
    this.slabRecords++;
    return true;
  }

  /** The oldest bytes, or undefined. */
  peek(): Buffer | undefined {
    if (this.head === this.entries.length) this.seal();
    return this.entries[this.head]?.bytes;
  }

  /** Removes `n` bytes from the front of the oldest chunk (all of it when `n` is its length). */
  consume(n: number): void {
    const first = this.peek() === undefined ? undefined : this.entries[this.head];
    if (first === undefined || n === 0) return;
    this.bytes -= Math.min(n, first.bytes.length);
    if (n >= first.bytes.length) {
      this.entries[this.head] = { bytes: Buffer.alloc(0), records: 0 };
      this.head++;
      if (this.head === this.entries.length) {
        this.entries = [];
        this.head = 0;
      }
    } else {
      first.bytes = first.bytes.subarray(n);
    }
  }

  /** Gives up on everything held (the log is closing and the file still cannot be written): counts it as dropped. */
  dropKept(): void {
    this.seal();
    for (const e of this.entries.slice(this.head)) {
      this.dropped += e.records;
      this.droppedBytes += e.bytes.length;
      this.newDrops += e.records;
      this.newDropBytes += e.bytes.length;
    }
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }

  /** Drops not yet reported, resetting them (for the `'drop'` event). */
  takeDrops(): { records: number; bytes: number } {
    const d = { records: this.newDrops, bytes: this.newDropBytes };
    this.newDrops = 0;
    this.newDropBytes = 0;
    return d;
  }

  /** Moves the slab being filled into the queue. */
  private seal(): void {
    if (this.slab !== undefined && this.slabUsed > 0)
      this.entries.push({ bytes: this.slab.subarray(0, this.slabUsed), records: this.slabRecords });
    this.slab = undefined;
    this.slabUsed = 0;
    this.slabRecords = 0;
  }
}
