import type { MemoryFile } from './memory-file.js';

/**
 * The descriptor table of a {@link MemoryBackend}: number → {@link MemoryFile}. Numbers are handed out
 * as POSIX requires, lowest free first, starting at `first` (0–2 being stdio, which the backend does not
 * emulate) and below `limit` (RLIMIT_NOFILE: a number at or past it is never handed out).
 */
export class FdTable {
  /** The lowest number handed out. */
  readonly first: number;
  /** Numbers must be below this (the open-files limit). */
  readonly limit: number;
  private readonly slots: (MemoryFile | undefined)[] = [];
  /** No free number is below this one (and it is ≥ first). */
  private lowest: number;
  private count = 0;

  constructor(first: number, limit: number) {
    this.first = first;
    this.limit = limit;
    this.lowest = first;
  }

  /** How many numbers are open. */
  get size(): number {
    return this.count;
  }

  /** What `fd` names, or undefined when it is not open. */
  get(fd: number): MemoryFile | undefined {
    return this.slots[fd];
  }

  /** The lowest free number (without taking it), or -1 when every number below the limit is taken. */
  lowestFree(): number {
    let n = this.lowest;
    while (n < this.slots.length && this.slots[n] !== undefined) n++;
    this.lowest = n;
    return n < this.limit ? n : -1;
  }

  /** Makes `fd` name `file`. `fd` is free (from {@link FdTable.lowestFree}, or checked by the caller). */
  set(fd: number, file: MemoryFile): void {
    while (this.slots.length < fd) this.slots.push(undefined);
    this.slots[fd] = file;
    this.count++;
    if (fd === this.lowest) this.lowest++;
  }

  /** Frees `fd`, returning what it named (undefined if it was not open). */
  remove(fd: number): MemoryFile | undefined {
    const file = this.slots[fd];
    if (file === undefined) return undefined;
    this.slots[fd] = undefined;
    this.count--;
    if (fd < this.lowest) this.lowest = fd;
    // Keep the array short when the top numbers close, so lowestFree never scans a long empty tail.
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
    return file;
  }

  /** The open numbers, ascending. */
  numbers(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] !== undefined) out.push(i);
    return out;
  }

  /** Whether the file of some open number passes `test`. */
  some(test: (file: MemoryFile) => boolean): boolean {
    for (const f of this.slots) if (f !== undefined && test(f)) return true;
    return false;
  }
}
