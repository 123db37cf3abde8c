import type { Backend, Bytes, FileStat } from '../backend/backend.js';
import { FsError, rejected } from '../errors/fs-error.js';
import { runAsync, runSync, type Call, type Protocol } from '../protocol/run.js';
import { OpenSite } from '../diagnostics/open-site.js';
import type { OpenFileDescription } from './open-file-description.js';

/** How a descriptor came to be in its table. */
export type DescriptorOrigin = 'open' | 'dup' | 'adopted' | 'pipe';

/** What a descriptor needs from the table that holds it. */
export interface DescriptorTable {
  /** Removes `d` from the table (its number becomes free) and returns whether its number was a reservation. */
  detach(d: Descriptor): void;
  /** Whether to capture a close site for `d`. */
  wantsCloseSite(d: Descriptor): boolean;
}

/**
 * pread(2)/pwrite(2) positions must be non-negative integers: EINVAL otherwise, as the kernel says —
 * and, as Linux does, before it looks at the descriptor (a bad position on a closed or write-only
 * descriptor is EINVAL, not EBADF). Checked at all because node:fs reads a negative position as "at the
 * kernel's current offset", which is not the description's offset: a stray -1 would read or write at
 * the wrong place.
 */
export function checkPosition(position: number, syscall: string, fd: number, path?: string): void {
  if (!(Number.isSafeInteger(position) && position >= 0)) {
    throw new FsError({
      code: 'EINVAL',
      syscall,
      fd,
      path,
      detail: `position ${String(position)} is not a non-negative integer`,
    });
  }
}

/**
 * ftruncate(2)'s length must be a non-negative integer: EINVAL otherwise, before the descriptor is
 * looked at (as Linux does), and before anything else happens, so a refused truncate changes nothing.
 */
export function checkLength(length: number, fd: number, path?: string): void {
  if (!(Number.isSafeInteger(length) && length >= 0)) {
    throw new FsError({
      code: 'EINVAL',
      syscall: 'ftruncate',
      fd,
      path,
      detail: `length ${String(length)} is not a non-negative integer`,
    });
  }
}

/**
 * One entry of a {@link FileTable}: a descriptor number pointing at an {@link OpenFileDescription}.
 *
 * A Descriptor object *is* the identity of the entry. Once closed it stays closed: if the table later
 * hands the same number to another open, that is a new Descriptor, and every call on the old one fails
 * with EBADF naming where it was opened and closed, without issuing any syscall. Holding a Descriptor
 * (or a file object built on one) instead of a bare number is what makes "closed behind your back" loud.
 */
export class Descriptor implements Disposable, AsyncDisposable {
  /** The descriptor number (what `fileno()` returns). */
  readonly number: number;
  /** The open file description it shares with its duplicates. */
  readonly description: OpenFileDescription;
  /** How it entered the table. */
  readonly origin: DescriptorOrigin;
  /** The path it was opened by, if any (for messages and reports). */
  readonly path: string | undefined;
  /** The mode or flags it was opened with, as text, for reports (`'r+'`, `'ab+'`, `'O_RDONLY'`…). */
  readonly mode: string;
  /** When it was opened (milliseconds since the epoch). */
  readonly openedAt: number;
  /** Where it was opened, when the table's site policy recorded it. */
  readonly openSite: OpenSite | undefined;
  /** Where it was closed, once closed, when recorded. */
  closeSite: OpenSite | undefined;
  /** True once the number was handed out as a plain integer (`fileno()`): only an explicit close may close it. */
  escaped = false;
  /** True once a borrowed view was handed out (the close site is then always recorded). */
  shared = false;

  private readonly table: DescriptorTable;
  private isClosed = false;
  private revokedBecause: string | undefined;

  constructor(
    table: DescriptorTable,
    number: number,
    description: OpenFileDescription,
    origin: DescriptorOrigin,
    mode: string,
    openSite: OpenSite | undefined,
  ) {
    this.table = table;
    this.number = number;
    this.description = description;
    this.origin = origin;
    this.path = description.path;
    this.mode = mode;
    this.openSite = openSite;
    this.openedAt = Date.now();
  }

  /** Whether the descriptor has been closed (by its owner, or revoked). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Whether a file the descriptor names can be read / written. */
  get readable(): boolean {
    return this.description.readable;
  }
  /** See {@link Descriptor.readable}. */
  get writable(): boolean {
    return this.description.writable;
  }

  /**
   * Throws EBADF if the descriptor may not be used: it was closed, or its backend descriptor was found
   * closed behind fdkeeper's back. Called before every syscall, so a closed Descriptor never reaches
   * the backend with a number that may since belong to another file.
   */
  check(syscall: string): OpenFileDescription {
    if (this.isClosed) throw this.closedError(syscall);
    const d = this.description;
    if (d.revoked !== undefined)
      throw new FsError({
        code: 'EBADF',
        syscall,
        fd: this.number,
        path: this.path,
        detail: d.revoked,
        openedAt: this.openSite,
      });
    return d;
  }

  /**
   * Read and write on a description opened without that access fail with EBADF, as the kernel does, but
   * are refused here first so a kernel EBADF can only mean "closed behind our back".
   */
  private checkReadable(): OpenFileDescription {
    const d = this.check('read');
    if (!d.readable)
      throw new FsError({
        code: 'EBADF',
        syscall: 'read',
        fd: this.number,
        path: this.path,
        detail: `not open for reading (mode '${this.mode}')`,
      });
    return d;
  }

  private checkWritable(syscall: string): OpenFileDescription {
    const d = this.check(syscall);
    if (!d.writable) {
      // ftruncate(2) on a read-only descriptor is EINVAL on Linux; write(2) is EBADF.
      throw new FsError({
        code: syscall === 'ftruncate' ? 'EINVAL' : 'EBADF',
        syscall,
        fd: this.number,
        path: this.path,
        detail: `not open for writing (mode '${this.mode}')`,
      });
    }
    return d;
  }

  /** The EBADF error for a call on this closed descriptor. */
  closedError(syscall: string): FsError {
    if (this.revokedBecause !== undefined)
      return new FsError({
        code: 'EBADF',
        syscall,
        fd: this.number,
        path: this.path,
        detail: this.revokedBecause,
        openedAt: this.openSite,
      });
    return new FsError({
      code: 'EBADF',
      syscall,
      fd: this.number,
      path: this.path,
      detail:
        'the descriptor was closed' +
        (this.openSite === undefined && this.closeSite === undefined
          ? ' (set FDKEEPER_OPEN_SITES=always to record where it was opened and closed)'
          : ''),
      openedAt: this.openSite,
      closedAt: this.closeSite,
    });
  }

  /** Wraps a backend failure with this descriptor's number, path and open site. */
  private failure(e: unknown, syscall: string): FsError {
    if (!(e instanceof FsError))
      return new FsError({ code: 'EIO', syscall, fd: this.number, path: this.path, cause: e });
    if (e.code === 'EBADF' && this.description.revoked === undefined) {
      // The kernel says our descriptor is not open: somebody closed the raw number behind our back.
      // Never use that number again: the kernel may already have given it to another file.
      this.description.revoke(`descriptor ${this.description.backendFd} was closed outside fdkeeper`);
    }
    return new FsError({
      code: e.code,
      syscall: e.syscall,
      fd: this.number,
      path: this.path,
      detail: this.description.revoked ?? e.detail,
      openedAt: this.openSite,
      cause: e,
    });
  }

  // ---------------------------------------------------------------- I/O

  /** read(2) at the shared offset, or pread(2) when `position` is a number. Returns bytes read. */
  readSync(buffer: Bytes, offset = 0, length = buffer.byteLength - offset, position: number | null = null): number {
    // The hot path: one combined test, the detailed checks only when it fails.
    const d = this.description;
    if (position !== null) checkPosition(position, 'read', this.number, this.path);
    if (this.isClosed || d.revoked !== undefined || !d.readable) this.checkReadable();
    try {
      return position === null ? d.readSync(buffer, offset, length) : d.preadSync(buffer, offset, length, position);
    } catch (e) {
      throw this.failure(e, 'read');
    }
  }

  /** Promise form of {@link Descriptor.readSync}. */
  read(
    buffer: Bytes,
    offset = 0,
    length = buffer.byteLength - offset,
    position: number | null = null,
  ): Promise<number> {
    const d = this.description;
    try {
      if (position !== null) checkPosition(position, 'read', this.number, this.path);
      if (this.isClosed || d.revoked !== undefined || !d.readable) this.checkReadable();
    } catch (e) {
      return rejected(e);
    }
    return (position === null ? d.read(buffer, offset, length) : d.pread(buffer, offset, length, position)).catch(
      (e: unknown) => {
        throw this.failure(e, 'read');
      },
    );
  }

  /** write(2) at the shared offset (the end, in append mode), or pwrite(2) when `position` is a number. */
  writeSync(buffer: Bytes, offset = 0, length = buffer.byteLength - offset, position: number | null = null): number {
    const d = this.description;
    if (position !== null) checkPosition(position, 'write', this.number, this.path);
    if (this.isClosed || d.revoked !== undefined || !d.writable) this.checkWritable('write');
    try {
      return position === null ? d.writeSync(buffer, offset, length) : d.pwriteSync(buffer, offset, length, position);
    } catch (e) {
      throw this.failure(e, 'write');
    }
  }

  /** Promise form of {@link Descriptor.writeSync}. */
  write(
    buffer: Bytes,
    offset = 0,
    length = buffer.byteLength - offset,
    position: number | null = null,
  ): Promise<number> {
    const d = this.description;
    try {
      if (position !== null) checkPosition(position, 'write', this.number, this.path);
      if (this.isClosed || d.revoked !== undefined || !d.writable) this.checkWritable('write');
    } catch (e) {
      return rejected(e);
    }
    return (position === null ? d.write(buffer, offset, length) : d.pwrite(buffer, offset, length, position)).catch(
      (e: unknown) => {
        throw this.failure(e, 'write');
      },
    );
  }

  /**
   * lseek(2): moves the shared offset; returns the new one. Synchronous, and may make a syscall (fstat
   * for `SEEK_END` and to learn whether the file can seek at all).
   */
  seekSync(offset: number, whence: 0 | 1 | 2 = 0): number {
    const d = this.check('lseek');
    try {
      return d.seekSync(offset, whence);
    } catch (e) {
      throw this.failure(e, 'lseek');
    }
  }

  /** The shared offset: {@link Descriptor.seekSync}`(0, 1)`, which may make a syscall (see there). */
  tellSync(): number {
    return this.seekSync(0, 1);
  }

  /** fstat(2). */
  statSync(): FileStat {
    // Not through the protocol runner: the io layer's open fstats every new file (the EISDIR check), and a
    // generator there cost ~150 ns of a ~1 µs open + close. The same steps as onBackend, without a yield.
    const d = this.check('fstat');
    d.beginCall();
    try {
      return d.backend.fstatSync(d.backendFd);
    } catch (e) {
      throw this.failure(e, 'fstat');
    } finally {
      d.endCall();
    }
  }

  /** Promise form of {@link Descriptor.statSync}. */
  stat(): Promise<FileStat> {
    return runAsync(this.onBackend('fstat', fstatCall));
  }

  /** ftruncate(2). The offset does not move. */
  truncateSync(length: number): void {
    runSync(this.truncating(length));
  }

  /** Promise form of {@link Descriptor.truncateSync}. */
  truncate(length: number): Promise<void> {
    return runAsync(this.truncating(length));
  }

  /** fsync(2). */
  syncSync(): void {
    runSync(this.onBackend('fsync', fsyncCall));
  }

  /** Promise form of {@link Descriptor.syncSync}. */
  sync(): Promise<void> {
    return runAsync(this.onBackend('fsync', fsyncCall));
  }

  /** fdatasync(2). */
  datasyncSync(): void {
    runSync(this.onBackend('fdatasync', fdatasyncCall));
  }

  /** Promise form of {@link Descriptor.datasyncSync}. */
  datasync(): Promise<void> {
    return runAsync(this.onBackend('fdatasync', fdatasyncCall));
  }

  /** fchmod(2): sets the file's permission bits. */
  chmodSync(mode: number): void {
    runSync(
      this.onBackend('fchmod', (b, fd) => ({
        sync: () => {
          b.fchmodSync(fd, mode);
        },
        async: () => b.fchmod(fd, mode),
      })),
    );
  }

  /** Promise form of {@link Descriptor.chmodSync}. */
  chmod(mode: number): Promise<void> {
    return runAsync(
      this.onBackend('fchmod', (b, fd) => ({
        sync: () => {
          b.fchmodSync(fd, mode);
        },
        async: () => b.fchmod(fd, mode),
      })),
    );
  }

  /** fchown(2): sets the file's owner and group. */
  chownSync(uid: number, gid: number): void {
    runSync(
      this.onBackend('fchown', (b, fd) => ({
        sync: () => {
          b.fchownSync(fd, uid, gid);
        },
        async: () => b.fchown(fd, uid, gid),
      })),
    );
  }

  /** Promise form of {@link Descriptor.chownSync}. */
  chown(uid: number, gid: number): Promise<void> {
    return runAsync(
      this.onBackend('fchown', (b, fd) => ({
        sync: () => {
          b.fchownSync(fd, uid, gid);
        },
        async: () => b.fchown(fd, uid, gid),
      })),
    );
  }

  /**
   * One backend call on the descriptor, the protocol of both forms: refused with EBADF once closed
   * (naming `syscall`, the same in both forms), made with the in-flight count held (a close meanwhile
   * waits for it), and a failure wrapped with this descriptor's number, path and open site.
   */
  private *onBackend<T>(
    syscall: string,
    forms: (backend: Backend, fd: number) => Call<T>,
    checked?: OpenFileDescription,
  ): Protocol<T> {
    // Checked in the body, not as a parameter default: a generator's defaults run when it is created,
    // and the promise form must reject, not throw.
    const d = checked ?? this.check(syscall);
    d.beginCall();
    try {
      return (yield forms(d.backend, d.backendFd)) as T;
    } catch (e) {
      throw this.failure(e, syscall);
    } finally {
      d.endCall();
    }
  }

  /** ftruncate(2) for both forms: arguments, then access, then the call. */
  private *truncating(length: number): Protocol<void> {
    checkLength(length, this.number, this.path);
    const d = this.checkWritable('ftruncate');
    // The truncated file keeps the offset an append write left: it is fixed first (no I/O to wait for).
    yield* this.onBackend(
      'ftruncate',
      (b, fd) => ({
        sync: () => {
          d.pinOffsetSync();
          b.ftruncateSync(fd, length);
        },
        async: () => {
          d.pinOffsetSync();
          return b.ftruncate(fd, length);
        },
      }),
      d,
    );
  }

  // ---------------------------------------------------------------- lifetime

  /**
   * Closes the descriptor: its number leaves the table at once, and the open file description is
   * released (its backend descriptor closes when no duplicate and no in-flight call needs it).
   * Closing twice is a no-op.
   */
  closeSync(): void {
    const detachError = this.leaveTable();
    if (detachError === false) return;
    try {
      this.description.dropRefSync();
    } catch (e) {
      throw this.closeFailure(detachError ?? e);
    }
    if (detachError !== undefined) throw this.closeFailure(detachError);
  }

  /** Promise form of {@link Descriptor.closeSync}: resolves when the backend descriptor is closed (if this was its last reference). */
  close(): Promise<void> {
    const detachError = this.leaveTable();
    if (detachError === false) return Promise.resolve();
    return this.description.dropRef().then(
      () => {
        if (detachError !== undefined) throw this.closeFailure(detachError);
      },
      (e: unknown) => {
        throw this.closeFailure(detachError ?? e);
      },
    );
  }

  /**
   * The first step of both close forms (the second is one call, dropping the description's reference,
   * so the forms stay a thin pair: see docs/design.md): marks the descriptor closed and takes it out of
   * the table. False when it was closed already; otherwise what detaching it failed with, if anything.
   */
  private leaveTable(): Error | undefined | false {
    if (!this.markClosed()) return false;
    return this.detach();
  }

  /** A close failure from below, as an FsError naming this descriptor's number and path. */
  private closeFailure(e: unknown): Error {
    if (!(e instanceof FsError)) return e instanceof Error ? e : new Error(String(e));
    return new FsError({
      code: e.code,
      syscall: 'close',
      fd: this.number,
      path: this.path,
      detail: e.detail,
      openedAt: this.openSite,
      cause: e,
    });
  }

  /** Marks the descriptor closed. False if it already was closed. */
  private markClosed(): boolean {
    if (this.isClosed) return false;
    this.isClosed = true;
    if (this.table.wantsCloseSite(this)) this.closeSite = OpenSite.capture();
    return true;
  }

  /**
   * Removes the descriptor from its table (closing a duplicate's reservation). A failure there is
   * returned, not thrown, so that the description's reference is still dropped: otherwise the
   * description, and its backend descriptor, would stay open for ever.
   */
  private detach(): Error | undefined {
    try {
      this.table.detach(this);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  /**
   * Marks the descriptor closed without releasing its description: used when its number was found
   * reused by another open (the backend descriptor is no longer ours) and by dup2, which releases the
   * description itself.
   */
  markClosedWithoutRelease(reason?: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.revokedBecause = reason;
  }

  /** `using` support: {@link Descriptor.closeSync}. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** `await using` support: {@link Descriptor.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `Descriptor(fd=7, path='/tmp/a', mode='r+', open)`. */
  toString(): string {
    return `Descriptor(fd=${this.number}${this.path === undefined ? '' : `, path='${this.path}'`}, mode='${this.mode}', ${this.isClosed ? 'closed' : 'open'})`;
  }
}

const fstatCall = (b: Backend, fd: number): Call<FileStat> => ({
  sync: () => b.fstatSync(fd),
  async: () => b.fstat(fd),
});
const fsyncCall = (b: Backend, fd: number): Call<void> => ({
  sync: () => {
    b.fsyncSync(fd);
  },
  async: () => b.fsync(fd),
});
const fdatasyncCall = (b: Backend, fd: number): Call<void> => ({
  sync: () => {
    b.fdatasyncSync(fd);
  },
  async: () => b.fdatasync(fd),
});
