/**
 * A counting semaphore over descriptor slots: how many backend descriptors a table may hold at once.
 *
 * Promise opens past the limit wait in FIFO order for a slot; synchronous opens cannot wait and are told
 * "no" at once (the table turns that into an EMFILE error naming the top open sites). Every backend
 * descriptor the table closes gives its slot back, which also wakes the oldest open waiting for the OS
 * to have room again after an EMFILE.
 */
export class FdBudget {
  /** The most slots that may be in use; `Infinity` for no budget. */
  readonly max: number;
  /** Slots in use: backend descriptors held plus opens under way. */
  inUse = 0;

  private readonly waiters: (() => void)[] = [];
  private head = 0;
  /** Opens the OS refused with EMFILE/ENFILE, oldest first; see {@link FdBudget.nextRelease}. */
  private readonly roomWaiters: { resolve: (why: RoomWake) => void; ms: number }[] = [];
  private roomTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(max = Infinity) {
    if (!(max >= 1)) throw new RangeError(`maxOpen must be at least 1, not ${String(max)}`);
    this.max = max;
  }

  /** Opens waiting for a slot. */
  get waiting(): number {
    return this.waiters.length - this.head;
  }

  /** Opens waiting for the OS to have descriptors again (after EMFILE/ENFILE). */
  get waitingForRoom(): number {
    return this.roomWaiters.length;
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
    this.wakeRoomWaiter('release');
  }

  /**
   * Waits for a chance to retry an open the OS refused with EMFILE/ENFILE. Waiters form one FIFO queue:
   * each {@link FdBudget.release} (one descriptor closed, room for one open) wakes the oldest, and so
   * does a timer after the oldest waiter's `ms` without a release (room freed outside the table).
   * `front` puts a waiter that was woken and refused again back at the head of the queue. Resolves
   * with what woke it.
   *
   * Waking one waiter per release, rather than all of them, keeps the retries linear: N opens waiting
   * while descriptors are closed one by one would otherwise make N × N failing open(2) calls.
   */
  nextRelease(ms: number, front = false): Promise<RoomWake> {
    return new Promise<RoomWake>((resolve) => {
      const waiter = { resolve, ms };
      if (front) this.roomWaiters.unshift(waiter);
      else this.roomWaiters.push(waiter);
      this.armRoomTimer();
    });
  }

  /**
   * Wakes the oldest open waiting for room, if any. Called on every release, and by an open that
   * succeeded after a timer wake-up (room freed outside the table may fit more than one open).
   */
  wakeRoomWaiter(why: RoomWake): void {
    const next = this.roomWaiters.shift();
    if (next === undefined) return;
    if (this.roomTimer !== undefined) {
      clearTimeout(this.roomTimer);
      this.roomTimer = undefined;
    }
    this.armRoomTimer();
    next.resolve(why);
  }

  private armRoomTimer(): void {
    const head = this.roomWaiters[0];
    if (this.roomTimer !== undefined || head === undefined) return;
    this.roomTimer = setTimeout(() => {
      this.roomTimer = undefined;
      this.wakeRoomWaiter('timer');
    }, head.ms);
  }
}

/** Why a waiter of {@link FdBudget.nextRelease} was woken: a release in the table, or its timer. */
export type RoomWake = 'release' | 'timer';

function noop(): void {
  // a waiter slot already served
}
