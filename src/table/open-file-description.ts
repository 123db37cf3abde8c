import type { Backend, Bytes } from '../backend/backend.js';
import { O, isReadable, isWritable } from '../backend/flags.js';
import { FsError, hasCode, rejected } from '../errors/fs-error.js';

/** `offset` value meaning "at the end of the file, wherever that now is" (after an append write). */
const AT_END = -1;

/** What an open file description tells its table when its backend descriptor is finally closed. */
export interface DescriptionOwner {
  /** The backend descriptor `fd` of `description` was closed (or abandoned); the table frees its number and budget slot. */
  backendFdReleased(description: OpenFileDescription, fd: number): void;
  /** A deferred close failed after the last reference went; there is nobody left to throw to. */
  deferredCloseFailed(err: FsError): void;
}

/**
 * An open file description, as POSIX calls it: the state shared by every descriptor duplicated from one
 * open(): the file offset, the status flags (access mode, append) and one backend descriptor doing the
 * I/O. Descriptors point at it and hold a reference each; the backend descriptor is closed exactly once,
 * when the last reference goes and no I/O is in flight.
 *
 * ### Offsets
 * Node has no lseek(2), so the description keeps the offset itself and does positioned I/O (pread and
 * pwrite) at it. The kernel's own offset for the backend descriptor is therefore not moved. Two cases
 * fall back to the kernel:
 * - append mode: writes go through write(2), which O_APPEND sends to the end of the file (pwrite on Linux
 *   would too, but not on every platform); afterwards the offset is where that write ended (the end of
 *   the file as of the write, as POSIX has it), read from the kernel's offset when next needed;
 * - unseekable files (pipes, sockets, terminals): the first positioned call fails with ESPIPE, and from
 *   then on plain read/write are used and seek/tell fail with ESPIPE.
 *
 * ### Ordering
 * Promise-returning calls that use the offset run one at a time, in call order, so two unawaited reads
 * read consecutive ranges. Synchronous calls run at once and are not ordered against promise calls
 * still in flight on the same description.
 */
export class OpenFileDescription {
  /** The backend doing the I/O. */
  readonly backend: Backend;
  /** The descriptor number the backend knows this description by. Changes only when moved by dup2. */
  backendFd: number;
  /** Status flags: access mode, `O_APPEND`, `O_NONBLOCK`, … (creation flags are not kept). */
  readonly flags: number;
  /** Whether closing the description closes the backend descriptor (false for borrowed adoptions). */
  readonly ownsBackendFd: boolean;
  /** Whether writes always go to the end of the file (`O_APPEND`). */
  readonly append: boolean;
  /** Whether the access mode allows reading. */
  readonly readable: boolean;
  /** Whether the access mode allows writing. */
  readonly writable: boolean;
  /** The path it was opened by, for messages and reports (not used for I/O). */
  readonly path: string | undefined;

  /** Descriptors referring to this description: {@link OpenFileDescription.addRef}, {@link OpenFileDescription.dropRefSync}. */
  private refCount = 0;
  /** Calls accepted and not yet finished; the backend descriptor stays open while this is non-zero. */
  private inflight = 0;
  /** Why the backend descriptor can no longer be trusted, once it cannot. */
  private revokedBecause: string | undefined;
  private offset: number;
  private seekable: boolean | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private readonly owner: DescriptionOwner;
  private turnHeld = false;
  private readonly turnQueue: (() => void)[] = [];
  private closeWaiters: { resolve: () => void; reject: (e: unknown) => void }[] | undefined;

  constructor(
    owner: DescriptionOwner,
    backend: Backend,
    backendFd: number,
    flags: number,
    path: string | undefined,
    options: { ownsBackendFd?: boolean; offset?: number } = {},
  ) {
    this.owner = owner;
    this.backend = backend;
    this.backendFd = backendFd;
    this.flags = flags;
    this.path = path;
    this.ownsBackendFd = options.ownsBackendFd ?? true;
    this.offset = options.offset ?? 0;
    // Plain fields, not getters: they are read on every read and write.
    this.append = (flags & O.APPEND) !== 0;
    this.readable = isReadable(flags);
    this.writable = isWritable(flags);
  }

  /** How many descriptors refer to this description. */
  get refs(): number {
    return this.refCount;
  }
  /** Whether a call is in flight (accepted, not yet finished): the backend descriptor stays open meanwhile. */
  get busy(): boolean {
    return this.inflight > 0;
  }
  /** Set once the backend descriptor can no longer be trusted (closed behind fdkeeper's back): why. */
  get revoked(): string | undefined {
    return this.revokedBecause;
  }

  /** True once the last reference has gone (the backend close may still be waiting for I/O). */
  get released(): boolean {
    return this.state !== 'open';
  }
  /** True once the backend descriptor's close has been issued (a promise close may still be settling). */
  get backendClosed(): boolean {
    return this.state === 'closed';
  }

  // ---------------------------------------------------------------- synchronous I/O

  /** read(2) at the shared offset, advancing it. */
  readSync(buffer: Bytes, offset: number, length: number): number {
    if (this.seekable === true && this.offset !== AT_END) {
      // The common case, kept free of try/catch: a seekable file at a known offset.
      const pos = this.offset;
      const n = this.backend.readSync(this.backendFd, buffer, offset, length, pos);
      this.offset = pos + n;
      return n;
    }
    if (this.seekable !== false) {
      const pos = this.offset === AT_END ? this.appendedSync() : this.offset;
      try {
        const n = this.backend.readSync(this.backendFd, buffer, offset, length, pos);
        this.offset = pos + n;
        this.seekable = true;
        return n;
      } catch (e) {
        if (!this.becameUnseekable(e)) throw e;
      }
    }
    return this.backend.readSync(this.backendFd, buffer, offset, length, null);
  }

  /** pread(2): at `position`, leaving the shared offset alone. */
  preadSync(buffer: Bytes, offset: number, length: number, position: number): number {
    return this.backend.readSync(this.backendFd, buffer, offset, length, position);
  }

  /** write(2) at the shared offset (or at the end, in append mode), advancing it. */
  writeSync(buffer: Bytes, offset: number, length: number): number {
    if (this.seekable === true && !this.append) {
      const pos = this.offset;
      const n = this.backend.writeSync(this.backendFd, buffer, offset, length, pos);
      this.offset = pos + n;
      return n;
    }
    if (this.append) {
      const n = this.backend.writeSync(this.backendFd, buffer, offset, length, null);
      if (n > 0) this.offset = AT_END;
      return n;
    }
    if (this.seekable !== false) {
      const pos = this.offset;
      try {
        const n = this.backend.writeSync(this.backendFd, buffer, offset, length, pos);
        this.offset = pos + n;
        this.seekable = true;
        return n;
      } catch (e) {
        if (!this.becameUnseekable(e)) throw e;
      }
    }
    return this.backend.writeSync(this.backendFd, buffer, offset, length, null);
  }

  /**
   * pwrite(2): at `position`, leaving the shared offset alone. In append mode the data goes to the end
   * of the file whatever `position` says (Linux's pwrite does the same; write(2) makes it so everywhere).
   * write(2) moves the kernel's offset, which is where an earlier append write's offset is read from:
   * so that offset is fixed first (pwrite leaves the offset alone).
   */
  pwriteSync(buffer: Bytes, offset: number, length: number, position: number): number {
    if (!this.append) return this.backend.writeSync(this.backendFd, buffer, offset, length, position);
    this.pinOffsetSync();
    return this.backend.writeSync(this.backendFd, buffer, offset, length, null);
  }

  /**
   * lseek(2). `whence` 0 = from the start, 1 = from the current offset, 2 = from the end.
   * Returns the new offset. EINVAL for a negative result, ESPIPE on a pipe or socket.
   */
  seekSync(offset: number, whence: 0 | 1 | 2): number {
    const w: number = whence; // callers from JavaScript may pass anything
    if (this.seekable === undefined) this.probeSeekable();
    if (this.seekable === false) throw new FsError({ code: 'ESPIPE', syscall: 'lseek', path: this.path });
    if (!Number.isSafeInteger(offset))
      throw new FsError({
        code: 'EINVAL',
        syscall: 'lseek',
        path: this.path,
        detail: `offset ${String(offset)} is not an integer`,
      });
    let base: number;
    if (w === 0) base = 0;
    else if (w === 1) base = this.offset === AT_END ? this.appendedSync() : this.offset;
    else if (w !== 2)
      throw new FsError({
        code: 'EINVAL',
        syscall: 'lseek',
        path: this.path,
        detail: `whence must be 0, 1 or 2, not ${String(w)}`,
      });
    else base = this.endSync();
    const target = base + offset;
    if (target < 0)
      throw new FsError({
        code: 'EINVAL',
        syscall: 'lseek',
        path: this.path,
        detail: `resulting offset ${target} is negative`,
      });
    this.offset = target;
    return target;
  }

  /**
   * The current offset. Synchronous and may make a syscall: fstat the first time (is it a pipe?), and
   * after an append write the kernel's offset (where that write ended).
   */
  tellSync(): number {
    return this.seekSync(0, 1);
  }

  /**
   * Fixes an "after an append write" offset to a number. Called before anything that changes the size
   * through this description (ftruncate) or moves it to another backend descriptor (whose kernel offset
   * would be 0), so the offset stays where the write left it, as the kernel keeps it.
   */
  pinOffsetSync(): void {
    if (this.offset === AT_END && this.seekable !== false) this.offset = this.appendedSync();
  }

  /** Learns whether the file can seek, by fstat, before the first seek or tell on it. */
  private probeSeekable(): void {
    const st = this.backend.fstatSync(this.backendFd);
    if (st.isFIFO() || st.isSocket()) this.seekable = false;
    // a terminal cannot seek, /dev/null can: leave it to the first call
    else if (!st.isCharacterDevice()) this.seekable = true;
  }

  /**
   * Where the last append write left the offset: the end of the file *as of that write*, as POSIX has it
   * (another description appending since must not move it). That is the kernel's offset of the backend
   * descriptor, which only write(2) moves (fdkeeper's other I/O is positioned): read from
   * `/proc/self/fdinfo` on Linux, from the memory backend's state. Where the backend cannot tell, the
   * size now (fstat), which differs only if someone appended in between.
   */
  private appendedSync(): number {
    let offset: number | undefined;
    try {
      offset = this.backend.fdInfoSync(this.backendFd).offset;
    } catch {
      offset = undefined;
    }
    return offset ?? this.endSync();
  }

  /** The size of the file now, by fstat; also detects unseekable files. */
  private endSync(): number {
    const st = this.backend.fstatSync(this.backendFd);
    if (st.isFIFO() || st.isSocket()) {
      this.seekable = false;
      throw new FsError({ code: 'ESPIPE', syscall: 'lseek', path: this.path });
    }
    return st.size;
  }

  /** On ESPIPE from a positioned call whose seekability was not yet known, switches to plain I/O. */
  private becameUnseekable(e: unknown): boolean {
    if (this.seekable === undefined && hasCode(e, 'ESPIPE')) {
      this.seekable = false;
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- promise I/O

  /** Promise form of {@link OpenFileDescription.readSync}; runs after earlier offset calls finish. */
  async read(buffer: Bytes, offset: number, length: number): Promise<number> {
    this.inflight++;
    if (this.turnHeld) await this.waitTurn();
    else this.turnHeld = true;
    try {
      if (this.seekable !== false) {
        const pos = this.offset === AT_END ? this.appendedSync() : this.offset;
        try {
          const n = await this.backend.read(this.backendFd, buffer, offset, length, pos);
          this.offset = pos + n;
          this.seekable = true;
          return n;
        } catch (e) {
          if (!this.becameUnseekable(e)) throw e;
        }
      }
      return await this.backend.read(this.backendFd, buffer, offset, length, null);
    } finally {
      this.passTurn();
      this.finished();
    }
  }

  /** Promise form of {@link OpenFileDescription.preadSync}. */
  async pread(buffer: Bytes, offset: number, length: number, position: number): Promise<number> {
    this.inflight++;
    try {
      return await this.backend.read(this.backendFd, buffer, offset, length, position);
    } finally {
      this.finished();
    }
  }

  /** Promise form of {@link OpenFileDescription.writeSync}; runs after earlier offset calls finish. */
  async write(buffer: Bytes, offset: number, length: number): Promise<number> {
    this.inflight++;
    if (this.turnHeld) await this.waitTurn();
    else this.turnHeld = true;
    try {
      if (this.append) {
        const n = await this.backend.write(this.backendFd, buffer, offset, length, null);
        if (n > 0) this.offset = AT_END;
        return n;
      }
      if (this.seekable !== false) {
        const pos = this.offset;
        try {
          const n = await this.backend.write(this.backendFd, buffer, offset, length, pos);
          this.offset = pos + n;
          this.seekable = true;
          return n;
        } catch (e) {
          if (!this.becameUnseekable(e)) throw e;
        }
      }
      return await this.backend.write(this.backendFd, buffer, offset, length, null);
    } finally {
      this.passTurn();
      this.finished();
    }
  }

  /**
   * Promise form of {@link OpenFileDescription.pwriteSync}. In append mode it waits for earlier offset
   * calls, like a write: it moves the kernel's offset.
   */
  async pwrite(buffer: Bytes, offset: number, length: number, position: number): Promise<number> {
    this.inflight++;
    if (!this.append) {
      try {
        return await this.backend.write(this.backendFd, buffer, offset, length, position);
      } finally {
        this.finished();
      }
    }
    if (this.turnHeld) await this.waitTurn();
    else this.turnHeld = true;
    try {
      this.pinOffsetSync();
      return await this.backend.write(this.backendFd, buffer, offset, length, null);
    } finally {
      this.passTurn();
      this.finished();
    }
  }

  /**
   * Holds the in-flight count for one call made on the backend descriptor outside this class (fstat,
   * fsync, ftruncate…): a close in the meantime waits for it. Always paired with {@link OpenFileDescription.endCall}.
   */
  beginCall(): void {
    this.inflight++;
  }

  /** Ends a call begun with {@link OpenFileDescription.beginCall}; the last one out makes a pending close. */
  endCall(): void {
    this.finished();
  }

  private waitTurn(): Promise<void> {
    return new Promise<void>((resolve) => this.turnQueue.push(resolve));
  }

  private passTurn(): void {
    const next = this.turnQueue.shift();
    if (next === undefined) this.turnHeld = false;
    else next(); // the turn passes straight to the next caller
  }

  private finished(): void {
    this.inflight--;
    if (this.inflight === 0 && this.state === 'closing') this.closeDeferred();
  }

  // ---------------------------------------------------------------- lifetime

  /** Adds a reference: a descriptor now refers to this description (open, dup, dup2). */
  addRef(): void {
    this.refCount++;
  }

  /**
   * Drops one reference. When it was the last, the backend descriptor is closed, at once if no call is
   * in flight, otherwise when the last one finishes (so a libuv thread never reads a number that the
   * kernel has meanwhile given to another open). Errors of an immediate close are thrown; those of a
   * deferred one are reported to the table (`DescriptionOwner.deferredCloseFailed`).
   */
  dropRefSync(): void {
    if (this.lastRefDropped() && this.inflight === 0) this.closeBackendSync();
  }

  /**
   * Promise form of {@link OpenFileDescription.dropRefSync}: resolves once the backend descriptor is
   * closed (after the calls in flight, if any) and rejects with that close's error.
   */
  dropRef(): Promise<void> {
    if (!this.lastRefDropped()) return Promise.resolve();
    if (this.inflight === 0) return this.closeBackend();
    return new Promise<void>((resolve, reject) => (this.closeWaiters ??= []).push({ resolve, reject }));
  }

  /** Drops one reference; true when it was the last, the description now closing. */
  private lastRefDropped(): boolean {
    if (--this.refCount > 0 || this.state !== 'open') return false;
    this.state = 'closing';
    return true;
  }

  /**
   * Moves the description to a new backend descriptor (dup2 needs the old number for something else).
   * The offset is kept by the description, so nothing observable changes.
   */
  moveTo(newBackendFd: number): number {
    const old = this.backendFd;
    this.backendFd = newBackendFd;
    return old;
  }

  /** Marks the backend descriptor untrustworthy: no further syscall will use its number. */
  revoke(reason: string): void {
    this.revokedBecause ??= reason;
  }

  // The backend close is one call, so its two forms stay a thin pair over shared steps rather than a
  // protocol: a generator costs about 100 ns here, on a path (open + close) that adds about 500 ns in all.

  /** Closes the backend descriptor (unless borrowed or revoked) and gives its number back to the table. */
  private closeBackendSync(): void {
    const fd = this.backendFd;
    try {
      if (this.backendCloseIssued()) this.backend.closeSync(fd);
    } catch (e) {
      throw this.closeError(e, fd);
    } finally {
      this.owner.backendFdReleased(this, fd);
    }
  }

  /** Promise form of {@link OpenFileDescription.closeBackendSync}. */
  private closeBackend(): Promise<void> {
    const fd = this.backendFd;
    let closed: Promise<void>;
    try {
      closed = this.backendCloseIssued() ? this.backend.close(fd) : Promise.resolve();
    } catch (e) {
      closed = rejected(e);
    }
    return closed.then(
      () => {
        this.owner.backendFdReleased(this, fd);
      },
      (e: unknown) => {
        this.owner.backendFdReleased(this, fd);
        throw this.closeError(e, fd);
      },
    );
  }

  /** Marks the backend descriptor closed; true when it is this description's to close (owned, not revoked). */
  private backendCloseIssued(): boolean {
    this.state = 'closed';
    return this.ownsBackendFd && this.revokedBecause === undefined;
  }

  /** A backend close failure as an FsError: EBADF means someone closed the number behind fdkeeper's back. */
  private closeError(e: unknown, fd: number): FsError {
    if (hasCode(e, 'EBADF'))
      return new FsError({
        code: 'EBADF',
        syscall: 'close',
        fd,
        path: this.path,
        detail: `descriptor ${fd} was closed outside fdkeeper`,
        cause: e,
      });
    return e instanceof FsError ? e : new FsError({ code: 'EIO', syscall: 'close', fd, cause: e });
  }

  /** The close the last call in flight makes after a dropped last reference: settles the waiting drops. */
  private closeDeferred(): void {
    const waiters = this.closeWaiters;
    this.closeWaiters = undefined;
    let error: unknown;
    try {
      this.closeBackendSync();
    } catch (e) {
      error = e;
    }
    if (waiters !== undefined) {
      for (const w of waiters) {
        if (error === undefined) w.resolve();
        else w.reject(error);
      }
    } else if (error !== undefined) {
      this.owner.deferredCloseFailed(error as FsError);
    }
  }
}
