import { FsError } from '../errors/fs-error.js';

/**
 * Serialises the promise calls on one file object: a buffered or text file has state (buffers, a
 * decoder) that two overlapping calls would corrupt, so each async call waits for the one before it.
 * A synchronous call made while an async one is under way fails with EBUSY instead of reading or
 * writing through half-updated buffers.
 */
export class OpLock {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  /** Whether an async call is running or queued. */
  get held(): boolean {
    return this.busy;
  }

  /** Runs `op` once every earlier call has finished. */
  async run<T>(op: () => Promise<T> | T): Promise<T> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy = true;
    try {
      return await op();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.busy = false;
      else next();
    }
  }

  /** Throws EBUSY if an async call is under way (for synchronous calls). */
  assertFree(syscall: string, name: string | number): void {
    if (this.busy) {
      throw new FsError({
        code: 'EBUSY',
        syscall,
        path: typeof name === 'string' ? name : undefined,
        fd: typeof name === 'number' ? name : undefined,
        detail: 'an asynchronous call on this file has not finished; await it before calling a Sync method',
      });
    }
  }
}

/** The error for using a file object after its own close(). */
export function closedFileError(syscall: string, name: string | number): FsError {
  return new FsError({
    code: 'EBADF',
    syscall,
    path: typeof name === 'string' ? name : undefined,
    fd: typeof name === 'number' ? name : undefined,
    detail: 'I/O operation on closed file',
  });
}

/** The error for an operation the file was not opened for (`read` on `'w'`, `write` on `'r'`). */
export function unsupported(syscall: string, name: string | number, mode: string, why: string): FsError {
  return new FsError({
    code: 'EBADF',
    syscall,
    path: typeof name === 'string' ? name : undefined,
    fd: typeof name === 'number' ? name : undefined,
    detail: `file not open for ${why} (mode '${mode}')`,
  });
}

/** Checks a `size` argument: a non-negative integer, or -1 / undefined for "all". */
export function checkSize(size: number | undefined, syscall: string): number {
  if (size === undefined || size === -1) return -1;
  if (!Number.isSafeInteger(size) || size < 0) throw new FsError({ code: 'EINVAL', syscall, detail: `size must be a non-negative integer or -1, not ${String(size)}` });
  return size;
}

/**
 * An async iterator over lines that hands out lines already in memory without waiting (`takeNow`) and
 * otherwise falls back to an awaited `readline` (which takes the file's lock and may read). Cheaper per
 * line than an `async function*`, which costs a generator resume and an extra promise each time.
 */
export function lineIterator<T>(takeNow: () => T | undefined, readline: () => Promise<T>, isEnd: (line: T) => boolean, map: (line: T) => T = (line) => line): AsyncIterableIterator<T> {
  let finished = false;
  const end: IteratorResult<T> = { done: true, value: undefined };
  const iterator: AsyncIterableIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (finished) return Promise.resolve(end);
      const now = takeNow();
      if (now !== undefined) return Promise.resolve({ done: false, value: map(now) });
      return readline().then(
        (line) => {
          if (isEnd(line)) {
            finished = true;
            return end;
          }
          return { done: false, value: map(line) };
        },
        (e: unknown) => {
          finished = true;
          throw e;
        },
      );
    },
    return(): Promise<IteratorResult<T>> {
      finished = true;
      return Promise.resolve(end);
    },
    [Symbol.asyncIterator](): AsyncIterableIterator<T> {
      return iterator;
    },
  };
  return iterator;
}
