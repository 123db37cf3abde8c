import type { FileStat } from '../backend/backend.js';
import { FsError } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import type { Descriptor } from '../table/descriptor.js';
import type { FileTable } from '../table/file-table.js';

// ================================================================ the layers' internal keys
//
// What the io layers share with each other and with `open()`, and nothing else may use. Each is a
// symbol, so a member keyed by it is not a name: autocompletion does not offer it and no user can call it
// (this module is not reachable through the package's `exports`). A call through a symbol key is an
// ordinary property lookup, as fast as a named method. They live here rather than in a module of their
// own because the CLI demo's child loads the io stack under `ulimit -n 64`, where every module counts
// (test/demo.test.ts bounds the graph).

// ---------------------------------------------------------------- every layer (IoBase)

/** `(syscall) => void`: EBADF if this object or anything under it is closed. */
export const check = Symbol('check');
/** The stack's {@link OpLock} (undefined on a bare RawFile: its calls are single syscalls). */
export const opLock = Symbol('opLock');
/** The table entry the stack reads and writes through. */
export const descriptorOf = Symbol('descriptorOf');
/** The table the descriptor lives in (its leak watch). */
export const tableOf = Symbol('tableOf');
/** `(syscall) => Protocol<void>`: checks the file is open and writes out whatever this layer and those under it buffer. */
export const settle = Symbol('settle');
/** `() => Protocol<void>`: this layer's close, then the layer under it (or the descriptor). */
export const closeSteps = Symbol('closeSteps');
/** `() => Protocol<void>`: what a layer writes out and lets go of when it closes (the hook of {@link closeSteps}). */
export const beforeClose = Symbol('beforeClose');
/** Whether this object's own close has run (a layer under it may have been closed on its own). */
export const closedSelf = Symbol('closedSelf');

// ---------------------------------------------------------------- the raw layer, for the buffered layer

/** `(data) => Protocol<void>`: writes all of `data`, looping over short writes. */
export const writeAllSteps = Symbol('writeAllSteps');

// ---------------------------------------------------------------- the buffered layer, for the text layer and open()

/** The {@link WriteBuffer} of unflushed writes (the leak watch flushes it at exit). */
export const pending = Symbol('pending');
/** `() => Buffer`: the unread bytes in the read buffer, neither copied nor consumed. */
export const peekBuffered = Symbol('peekBuffered');
/** `(n) => void`: marks `n` buffered bytes as read. */
export const consumeBuffered = Symbol('consumeBuffered');
/** `() => Protocol<void>`: checks the file is readable and flushes pending writes (lock held). */
export const startRead = Symbol('startRead');
/** `() => Protocol<number>`: one raw read appended to the read buffer; 0 at end of file. */
export const fill = Symbol('fill');
/** `(bytes) => Protocol<number>`: buffers or writes `bytes` (lock held). */
export const writeBytes = Symbol('writeBytes');
/** `() => Protocol<void>`: writes the pending bytes out, keeping what was not written on failure. */
export const flushPending = Symbol('flushPending');
/** `(offset, whence) => number`: moves the raw offset and drops the read buffer (pending writes flushed first). */
export const seekRaw = Symbol('seekRaw');
/** `(size?) => Protocol<number>`: truncate with the lock held. */
export const truncateSteps = Symbol('truncateSteps');

// ---------------------------------------------------------------- the text layer, for its tests

/** UTF-16 units the text read path has handled: the linearity tests' clock-free measure of work. */
export const work = Symbol('work');

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
      throw fileError(
        'EBUSY',
        syscall,
        name,
        'an asynchronous call on this file has not finished; await it before calling a Sync method',
      );
    }
  }
}

/** The error for using a file object after its own close(). */
export function closedFileError(syscall: string, name: string | number): FsError {
  return fileError('EBADF', syscall, name, 'I/O operation on closed file');
}

/** An error about a file object, naming it by path or by descriptor number. */
function fileError(code: 'EBADF' | 'EBUSY', syscall: string, name: string | number, detail: string): FsError {
  return new FsError({
    code,
    syscall,
    path: typeof name === 'string' ? name : undefined,
    fd: typeof name === 'number' ? name : undefined,
    detail,
  });
}

/** The error for an operation the file was not opened for (`read` on `'w'`, `write` on `'r'`). */
export function unsupported(syscall: string, name: string | number, mode: string, why: string): FsError {
  return fileError('EBADF', syscall, name, `file not open for ${why} (mode '${mode}')`);
}

/** Checks a `size` argument: a non-negative integer, or -1 / undefined for "all". */
export function checkSize(size: number | undefined, syscall: string): number {
  if (size === undefined || size === -1) return -1;
  if (!Number.isSafeInteger(size) || size < 0)
    throw new FsError({
      code: 'EINVAL',
      syscall,
      detail: `size must be a non-negative integer or -1, not ${String(size)}`,
    });
  return size;
}

/**
 * An async iterator over lines that hands out lines already in memory without waiting (`takeNow`) and
 * otherwise falls back to an awaited `readline` (which takes the file's lock and may read). Cheaper per
 * line than an `async function*`, which costs a generator resume and an extra promise each time.
 */
export function lineIterator<T>(
  takeNow: () => T | undefined,
  readline: () => Promise<T>,
  isEnd: (line: T) => boolean,
  map: (line: T) => T = (line) => line,
): AsyncIterableIterator<T> {
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

/**
 * What the three file classes ({@link RawFile}, {@link BufferedFile}, {@link TextFile}) have in common,
 * written once: the name and mode, open/closed state, `fileno()`, the metadata calls (`stat`, `sync`,
 * `datasync`, `flush`) and closing, each one protocol (src/protocol/run.ts) run two ways. A layer says
 * only what it adds: what it writes out first (its `settle` step) and what it lets go of on close.
 *
 * A layer sits on the one under it (text on buffered on raw) and the bottom one on a table
 * {@link Descriptor}; every check walks down, so a file is closed as soon as anything under it is.
 */
export abstract class IoBase implements Disposable, AsyncDisposable {
  /** The path it was opened by, or the descriptor number it wraps. */
  readonly name: string | number;
  /** The mode: for {@link RawFile} and {@link BufferedFile} the binary mode as Python spells it (`'rb+'`, `'ab'`…),
   * for {@link TextFile} the mode it was opened with (`'r'`, `'a+'`…). */
  readonly mode: string;
  /** @internal */
  readonly [descriptorOf]: Descriptor;
  /** @internal */
  readonly [tableOf]: FileTable;
  /** @internal */
  readonly [opLock]: OpLock | undefined;
  /** @internal */
  [closedSelf] = false;
  readonly #below: IoBase | undefined;
  readonly #ownsDescriptor: boolean;

  protected constructor(
    name: string | number,
    mode: string,
    descriptor: Descriptor,
    table: FileTable,
    lock: OpLock | undefined,
    below: IoBase | undefined,
    ownsDescriptor: boolean,
  ) {
    this.name = name;
    this.mode = mode;
    this[descriptorOf] = descriptor;
    this[tableOf] = table;
    this[opLock] = lock;
    this.#below = below;
    this.#ownsDescriptor = ownsDescriptor;
  }

  /** True once this object, or anything under it (for an owner: its descriptor), is closed. */
  get closed(): boolean {
    if (this[closedSelf]) return true;
    const below = this.#below;
    return below !== undefined ? below.closed : this.#ownsDescriptor && this[descriptorOf].closed;
  }
  /** Whether the file was opened for reading. */
  get readable(): boolean {
    return this[descriptorOf].readable;
  }
  /** Whether the file was opened for writing. */
  get writable(): boolean {
    return this[descriptorOf].writable;
  }

  /**
   * The descriptor number. Handing it out marks the descriptor *escaped*: it is never closed by
   * garbage collection afterwards, only by an explicit `close()`.
   */
  fileno(): number {
    this[check]('fileno');
    const d = this[descriptorOf];
    d.escaped = true;
    return d.number;
  }

  /**
   * Throws EBADF if this object was closed, or anything under it, or its descriptor (by the owner of a
   * borrowed view, or behind fdkeeper's back): then the error names where it was opened and closed.
   * Each layer writes it directly against the one under it (it runs on every call; a generic walk here
   * measured 5–10 % on per-line reads and small writes).
   * @internal
   */
  abstract [check](syscall: string): void;

  /** Checks the file is open and writes out what this layer (and those under it) buffer. @internal */
  *[settle](syscall: string): Protocol<void> {
    if (this[closedSelf]) throw closedFileError(syscall, this.name);
    const below = this.#below;
    if (below !== undefined) yield* below[settle](syscall);
    else this[descriptorOf].check(syscall);
  }

  /**
   * What this layer does on close before the layers under it close: lets go of what it holds, and
   * returns the steps that write out what it buffers, if any (undefined: nothing to write, no generator).
   * @internal
   */
  [beforeClose](): Protocol<void> | undefined {
    return undefined;
  }

  /** @internal */
  *[closeSteps](): Protocol<void> {
    if (this[closedSelf]) return;
    this.#markClosed();
    try {
      const flush = this[beforeClose]();
      if (flush !== undefined) yield* flush;
    } finally {
      const below = this.#below;
      const d = this[descriptorOf];
      if (below !== undefined) yield* below[closeSteps]();
      // A plain yield of the two forms, not `yield* call(…)`: one generator fewer on every close.
      else if (this.#ownsDescriptor)
        yield {
          sync: () => {
            d.closeSync();
          },
          async: () => d.close(),
        };
    }
  }

  /** Writes out everything buffered (nothing to do on a {@link RawFile}, which checks it is open). */
  flushSync(): void {
    syncOp(this, 'flush', this[settle]('flush'));
  }

  /** Promise form of {@link IoBase.flushSync}. */
  flush(): Promise<void> {
    return asyncOp(this, this[settle]('flush'));
  }

  /** fstat(2), after writing out what is buffered (so the size counts it). */
  statSync(): FileStat {
    return syncOp(this, 'fstat', this.#stat());
  }

  /** Promise form of {@link IoBase.statSync}. */
  stat(): Promise<FileStat> {
    return asyncOp(this, this.#stat());
  }

  *#stat(): Protocol<FileStat> {
    yield* this[settle]('fstat');
    const d = this[descriptorOf];
    return yield* call(
      () => d.statSync(),
      () => d.stat(),
    );
  }

  /** fsync(2), after writing out what is buffered: the data and metadata are on disk when it returns. */
  syncSync(): void {
    syncOp(this, 'fsync', this.#sync(false));
  }

  /** Promise form of {@link IoBase.syncSync}. */
  sync(): Promise<void> {
    return asyncOp(this, this.#sync(false));
  }

  /** fdatasync(2), after writing out what is buffered. */
  datasyncSync(): void {
    syncOp(this, 'fdatasync', this.#sync(true));
  }

  /** Promise form of {@link IoBase.datasyncSync}. */
  datasync(): Promise<void> {
    return asyncOp(this, this.#sync(true));
  }

  *#sync(dataOnly: boolean): Protocol<void> {
    yield* this[settle](dataOnly ? 'fdatasync' : 'fsync');
    const d = this[descriptorOf];
    yield* call(
      () => {
        if (dataOnly) d.datasyncSync();
        else d.syncSync();
      },
      () => (dataOnly ? d.datasync() : d.sync()),
    );
  }

  /** Whether the file supports seeking (false for pipes, sockets and terminals). */
  seekableSync(): boolean {
    return syncOp(this, 'lseek', this.#seekable());
  }

  /** Promise form of {@link IoBase.seekableSync}. */
  seekable(): Promise<boolean> {
    return asyncOp(this, this.#seekable());
  }

  *#seekable(): Protocol<boolean> {
    this[check]('lseek');
    const d = this[descriptorOf];
    // The table learns that a descriptor is unseekable only from a failed positioned call, so a fresh
    // pipe would look seekable: ask fstat first.
    const st = yield* call(
      () => d.statSync(),
      () => d.stat(),
    );
    if (st.isFIFO() || st.isSocket()) return false;
    try {
      d.tellSync();
      return true;
    } catch (e) {
      if (e instanceof FsError && e.code === 'ESPIPE') return false;
      throw e;
    }
  }

  /**
   * Closes the file: writes out what is buffered, then closes the layers under it and (if it owns it) the
   * descriptor — those even if the write fails. Closing twice does nothing. EBUSY, closing nothing, while
   * a promise call on the file is unfinished.
   */
  closeSync(): void {
    if (this[closedSelf]) return;
    this[opLock]?.assertFree('close', this.name);
    if (this.#below === undefined) {
      // The bottom layer (a raw file) buffers nothing: its close is the one step of closeSteps' finally,
      // made straight. The runner and the generator cost ~60 ns of an io open + close on a backend that
      // does nothing (bench group 5a).
      this.#markClosed();
      if (this.#ownsDescriptor) this[descriptorOf].closeSync();
      return;
    }
    runSync(this[closeSteps]());
  }

  /** The file object is closed from now on, and no longer watched for a leak. */
  #markClosed(): void {
    this[closedSelf] = true;
    this[tableOf].unclosed.unwatch(this);
  }

  /** Promise form of {@link IoBase.closeSync}; waits for earlier calls on the file first. */
  close(): Promise<void> {
    if (this[closedSelf]) return Promise.resolve();
    return asyncOp(this, this[closeSteps]());
  }

  /** `using` support: {@link IoBase.closeSync}. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** `await using` support: {@link IoBase.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Runs a protocol synchronously on `file`: EBUSY first if a promise call on its stack is unfinished. (A
 * generator's body does not start until it is run, so creating it before the check is safe.)
 */
export function syncOp<T>(file: IoBase, syscall: string, steps: Protocol<T>): T {
  file[opLock]?.assertFree(syscall, file.name);
  return runSync(steps);
}

/** Runs a protocol with promises on `file`, after the earlier promise calls on its stack (its lock). */
export function asyncOp<T>(file: IoBase, steps: Protocol<T>): Promise<T> {
  const lock = file[opLock];
  return lock === undefined ? runAsync(steps) : lock.run(() => runAsync(steps));
}

/** `'/tmp/a'` quoted, a number as it is: how the files' `toString()` show their name. */
export function showName(name: string | number): string {
  return typeof name === 'string' ? `'${name}'` : String(name);
}
