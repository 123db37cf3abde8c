/**
 * A counting semaphore over descriptor slots: how many backend descriptors a table may hold at once.
 *
 * Promise opens past the limit wait in FIFO order for a slot; synchronous opens cannot wait and are told
 * "no" at once (the table turns that into an EMFILE error naming the top open sites). Every backend
 * descriptor the table closes gives its slot back, which also wakes anyone waiting for the OS to have
 * room again after an EMFILE.
 */
export class FdBudget {
  /** The most slots that may be in use; `Infinity` for no budget. */
  readonly max: number;
  /** Slots in use: backend descriptors held plus opens under way. */
  inUse = 0;

  private readonly waiters: (() => void)[] = [];
  private head = 0;
  private releaseListeners: (() => void)[] = [];

  constructor(max = Infinity) {
    if (!(max >= 1)) throw new RangeError(`maxOpen must be at least 1, not ${String(max)}`);
    this.max = max;
  }

  /** Opens waiting for a slot. */
  get waiting(): number {
    return this.waiters.length - this.head;
  }

  /** Takes a slot if one is free; false when the budget is exhausted. */
  tryTake(): boolean {
    if (this.inUse >= this.max) return false;
    this.inUse++;
    return true;
  }

  /** Takes a slot even past the budget (a descriptor the table must account for regardless). */
  forceTake(): void {
    this.inUse++;
  }

  /** Resolves once a slot is taken for the caller; `undefined` when one was free at once (no await needed). */
  take(): Promise<void> | undefined {
    if (this.waiting === 0 && this.tryTake()) return undefined;
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Gives a slot back and hands it to the longest waiter, if any. */
  release(): void {
    this.inUse--;
    if (this.head < this.waiters.length && this.inUse < this.max) {
      const next = this.waiters[this.head];
      this.waiters[this.head++] = noop;
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      this.inUse++;
      next?.();
    }
    if (this.releaseListeners.length > 0) {
      const listeners = this.releaseListeners;
      this.releaseListeners = [];
      for (const l of listeners) l();
    }
  }

  /**
   * Resolves at the next {@link FdBudget.release} or after `ms`, whichever comes first. Used to retry an
   * open the OS refused with EMFILE/ENFILE once something has been closed.
   */
  nextRelease(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.releaseListeners.push(done);
    });
  }
}

function noop(): void {
  // a waiter slot already served
}
