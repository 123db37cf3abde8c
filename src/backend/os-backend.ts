import fs from 'node:fs';
import { join } from 'node:path';
import { childProcess, nodeOs } from '../process/builtins.js';
import type { Backend, Bytes, FdInfo, FileStat, TimeLike } from './backend.js';
import { FsError, hasCode, rejected, toFsError } from '../errors/fs-error.js';
import { int32Arg } from '../errors/number-option.js';
import { O, O_PATH, accessMode, descriptionFlags } from './flags.js';

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

/** Runs a node:fs callback-style call as a promise, turning its error into an {@link FsError}. */
function callback<T>(
  syscall: string,
  extra: { path?: string; dest?: string; fd?: number },
  run: (cb: Callback<T>) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, value) => {
      if (err === null) resolve(value);
      else reject(toFsError(err, syscall, extra));
    });
  });
}

/** Like {@link callback} for calls whose callback gets only an error. */
function settle(
  syscall: string,
  extra: { path?: string; dest?: string; fd?: number },
  run: (cb: (err: NodeJS.ErrnoException | null) => void) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    run((err) => {
      if (err === null) resolve();
      else reject(toFsError(err, syscall, extra));
    });
  });
}

/**
 * node:fs clamps a negative ftruncate length to 0, truncating the whole file; ftruncate(2) says EINVAL.
 */
function checkLength(fd: number, length: number): void {
  if (!(Number.isSafeInteger(length) && length >= 0))
    throw new FsError({
      code: 'EINVAL',
      syscall: 'ftruncate',
      fd,
      detail: `length ${String(length)} is not a non-negative integer`,
    });
}

/**
 * node:fs reads a negative position (-1) as "at the current offset"; the Backend contract uses `null`
 * for that, and pread(2)/pwrite(2) say EINVAL for a negative offset.
 */
function checkPosition(syscall: string, fd: number, position: number | null): void {
  // node:fs reads -1, and any non-integer, as "the current offset": refuse both rather than write elsewhere.
  if (position !== null && !(position >= 0 && Number.isSafeInteger(position)))
    throw new FsError({
      code: 'EINVAL',
      syscall,
      fd,
      detail: `position ${String(position)} is not a non-negative integer`,
    });
}

/** The soft RLIMIT_NOFILE, where the platform shows it (Linux /proc/self/limits); undefined otherwise. */
function openFileLimit(): number | undefined {
  if (process.platform === 'win32') return 8192; // the C runtime's descriptor numbers (UCRT: at most 8192)
  if (process.platform !== 'linux') return undefined;
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'latin1'));
    return m?.[1] === undefined || m[1] === 'unlimited' ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Where a descriptor's file can be reopened by number: Linux's /proc, or /dev/fd on the BSDs and macOS. */
const FD_DIR =
  process.platform === 'linux'
    ? '/proc/self/fd/'
    : process.platform !== 'win32' && fs.existsSync('/dev/fd')
      ? '/dev/fd/'
      : undefined; // win32: \dev\fd is just a path (under Wine, Linux's own /dev/fd)

/**
 * The real operating system, through node:fs. Descriptors it returns are genuine OS descriptors that
 * can be handed to node:fs, streams and child processes.
 *
 * Calls use node:fs's callback API for the promise forms (it is lighter than `fs.promises`, which wraps
 * each descriptor in a FileHandle), and every failure becomes an {@link FsError}.
 */
export class OsBackend implements Backend {
  readonly name = 'os';
  readonly #genuine = true;

  /**
   * Whether `b` is an OsBackend itself — not a subclass instance's override, a Proxy or a wrapper around
   * one, whose calls may differ from node:fs's (work that bypasses the backend's methods, such as the
   * atomic writes' replace workers, is only for this).
   */
  static isGenuine(b: unknown): boolean {
    return typeof b === 'object' && b !== null && #genuine in b && Object.getPrototypeOf(b) === OsBackend.prototype;
  }

  openSync(path: string, flags: number, mode = 0o666): number {
    try {
      return fs.openSync(
        path,
        int32Arg(flags, 'flags', { syscall: 'open', path }),
        int32Arg(mode, 'mode', { syscall: 'open', path }),
      );
    } catch (e) {
      throw toFsError(e, 'open', { path });
    }
  }
  open(path: string, flags: number, mode = 0o666): Promise<number> {
    return callback('open', { path }, (cb) => {
      fs.open(
        path,
        int32Arg(flags, 'flags', { syscall: 'open', path }),
        int32Arg(mode, 'mode', { syscall: 'open', path }),
        cb,
      );
    });
  }
  closeSync(fd: number): void {
    try {
      fs.closeSync(fd);
    } catch (e) {
      throw toFsError(e, 'close', { fd });
    }
  }
  close(fd: number): Promise<void> {
    return settle('close', { fd }, (cb) => {
      fs.close(fd, cb);
    });
  }

  readSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number {
    checkPosition('read', fd, position);
    try {
      return fs.readSync(fd, buffer, offset, length, position);
    } catch (e) {
      throw toFsError(e, 'read', { fd });
    }
  }
  read(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      checkPosition('read', fd, position);
      fs.read(fd, buffer, offset, length, position, (err, n) => {
        if (err === null) resolve(n);
        else reject(toFsError(err, 'read', { fd }));
      });
    });
  }
  writeSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number {
    checkPosition('write', fd, position);
    try {
      return fs.writeSync(fd, buffer, offset, length, position);
    } catch (e) {
      throw toFsError(e, 'write', { fd });
    }
  }
  write(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      checkPosition('write', fd, position);
      fs.write(fd, buffer, offset, length, position, (err, n) => {
        if (err === null) resolve(n);
        else reject(toFsError(err, 'write', { fd }));
      });
    });
  }

  fstatSync(fd: number): FileStat {
    try {
      return fs.fstatSync(fd);
    } catch (e) {
      throw toFsError(e, 'fstat', { fd });
    }
  }
  fstat(fd: number): Promise<FileStat> {
    return callback('fstat', { fd }, (cb) => {
      fs.fstat(fd, cb);
    });
  }
  statSync(path: string): FileStat {
    try {
      return fs.statSync(path);
    } catch (e) {
      throw toFsError(e, 'stat', { path });
    }
  }
  stat(path: string): Promise<FileStat> {
    return callback('stat', { path }, (cb) => {
      fs.stat(path, cb);
    });
  }
  lstatSync(path: string): FileStat {
    try {
      return fs.lstatSync(path);
    } catch (e) {
      throw toFsError(e, 'lstat', { path });
    }
  }
  lstat(path: string): Promise<FileStat> {
    return callback('lstat', { path }, (cb) => {
      fs.lstat(path, cb);
    });
  }

  ftruncateSync(fd: number, length: number): void {
    checkLength(fd, length);
    try {
      fs.ftruncateSync(fd, length);
    } catch (e) {
      throw toFsError(e, 'ftruncate', { fd });
    }
  }
  ftruncate(fd: number, length: number): Promise<void> {
    try {
      checkLength(fd, length);
    } catch (e) {
      return rejected(e);
    }
    return settle('ftruncate', { fd }, (cb) => {
      fs.ftruncate(fd, length, cb);
    });
  }
  fsyncSync(fd: number): void {
    try {
      fs.fsyncSync(fd);
    } catch (e) {
      throw toFsError(e, 'fsync', { fd });
    }
  }
  fsync(fd: number): Promise<void> {
    return settle('fsync', { fd }, (cb) => {
      fs.fsync(fd, cb);
    });
  }
  fdatasyncSync(fd: number): void {
    try {
      fs.fdatasyncSync(fd);
    } catch (e) {
      throw toFsError(e, 'fdatasync', { fd });
    }
  }
  fdatasync(fd: number): Promise<void> {
    return settle('fdatasync', { fd }, (cb) => {
      fs.fdatasync(fd, cb);
    });
  }

  renameSync(oldPath: string, newPath: string): void {
    try {
      fs.renameSync(oldPath, newPath);
    } catch (e) {
      throw toFsError(e, 'rename', { path: oldPath, dest: newPath });
    }
  }
  rename(oldPath: string, newPath: string): Promise<void> {
    return settle('rename', { path: oldPath, dest: newPath }, (cb) => {
      fs.rename(oldPath, newPath, cb);
    });
  }
  unlinkSync(path: string): void {
    try {
      fs.unlinkSync(path);
    } catch (e) {
      throw toFsError(e, 'unlink', { path });
    }
  }
  unlink(path: string): Promise<void> {
    return settle('unlink', { path }, (cb) => {
      fs.unlink(path, cb);
    });
  }
  linkSync(existingPath: string, newPath: string): void {
    try {
      fs.linkSync(existingPath, newPath);
    } catch (e) {
      throw toFsError(e, 'link', { path: existingPath, dest: newPath });
    }
  }
  link(existingPath: string, newPath: string): Promise<void> {
    return settle('link', { path: existingPath, dest: newPath }, (cb) => {
      fs.link(existingPath, newPath, cb);
    });
  }
  symlinkSync(target: string, path: string): void {
    try {
      fs.symlinkSync(target, path);
    } catch (e) {
      throw toFsError(e, 'symlink', { path: target, dest: path });
    }
  }
  symlink(target: string, path: string): Promise<void> {
    return settle('symlink', { path: target, dest: path }, (cb) => {
      fs.symlink(target, path, cb);
    });
  }
  readlinkSync(path: string): string {
    try {
      return fs.readlinkSync(path);
    } catch (e) {
      throw toFsError(e, 'readlink', { path });
    }
  }
  readlink(path: string): Promise<string> {
    return callback('readlink', { path }, (cb) => {
      fs.readlink(path, cb);
    });
  }
  mkdirSync(path: string, mode = 0o777): void {
    try {
      fs.mkdirSync(path, { mode: int32Arg(mode, 'mode', { syscall: 'mkdir', path }) });
    } catch (e) {
      throw toFsError(e, 'mkdir', { path });
    }
  }
  mkdir(path: string, mode = 0o777): Promise<void> {
    return settle('mkdir', { path }, (cb) => {
      fs.mkdir(path, { mode: int32Arg(mode, 'mode', { syscall: 'mkdir', path }) }, cb);
    });
  }
  rmdirSync(path: string): void {
    try {
      fs.rmdirSync(path);
    } catch (e) {
      throw toFsError(e, 'rmdir', { path });
    }
  }
  rmdir(path: string): Promise<void> {
    return settle('rmdir', { path }, (cb) => {
      fs.rmdir(path, cb);
    });
  }
  readdirSync(path: string): string[] {
    try {
      return fs.readdirSync(path);
    } catch (e) {
      throw toFsError(e, 'scandir', { path });
    }
  }
  readdir(path: string): Promise<string[]> {
    return callback('scandir', { path }, (cb) => {
      fs.readdir(path, cb);
    });
  }
  chmodSync(path: string, mode: number): void {
    try {
      fs.chmodSync(path, int32Arg(mode, 'mode', { syscall: 'chmod', path }));
    } catch (e) {
      throw toFsError(e, 'chmod', { path });
    }
  }
  chmod(path: string, mode: number): Promise<void> {
    return settle('chmod', { path }, (cb) => {
      fs.chmod(path, int32Arg(mode, 'mode', { syscall: 'chmod', path }), cb);
    });
  }
  fchmodSync(fd: number, mode: number): void {
    try {
      fs.fchmodSync(fd, int32Arg(mode, 'mode', { syscall: 'fchmod', fd }));
    } catch (e) {
      throw toFsError(e, 'fchmod', { fd });
    }
  }
  fchmod(fd: number, mode: number): Promise<void> {
    return settle('fchmod', { fd }, (cb) => {
      fs.fchmod(fd, int32Arg(mode, 'mode', { syscall: 'fchmod', fd }), cb);
    });
  }
  fchownSync(fd: number, uid: number, gid: number): void {
    try {
      fs.fchownSync(fd, uid, gid);
    } catch (e) {
      throw toFsError(e, 'fchown', { fd });
    }
  }
  fchown(fd: number, uid: number, gid: number): Promise<void> {
    return settle('fchown', { fd }, (cb) => {
      fs.fchown(fd, uid, gid, cb);
    });
  }
  utimesSync(path: string, atime: TimeLike, mtime: TimeLike): void {
    try {
      fs.utimesSync(path, atime, mtime);
    } catch (e) {
      throw toFsError(e, 'utime', { path });
    }
  }
  utimes(path: string, atime: TimeLike, mtime: TimeLike): Promise<void> {
    return settle('utime', { path }, (cb) => {
      fs.utimes(path, atime, mtime, cb);
    });
  }

  // ---- descriptor-table support ----

  reserveSync(fd: number): number {
    // Linux: an O_PATH descriptor through /proc names the very same file (even if unlinked) and turns
    // every read or write through its number into EBADF, so a stray raw use of a duplicate's number is
    // loud rather than silently aimed elsewhere. macOS and the BSDs: opening /dev/fd/N is dup(N).
    if (FD_DIR !== undefined) {
      try {
        return fs.openSync(FD_DIR + String(fd), O_PATH !== 0 ? O_PATH | O.CLOEXEC : O.RDONLY);
      } catch (e) {
        // Out of descriptors: say so (a placeholder would fail the same way, naming /dev/null).
        if (hasCode(e, 'EMFILE') || hasCode(e, 'ENFILE')) throw toFsError(e, 'dup', { fd });
        // No such entry: `fd` is not open, which dup(2) reports as EBADF.
        if (hasCode(e, 'ENOENT')) throw new FsError({ code: 'EBADF', syscall: 'dup', fd });
        // Sockets cannot be reopened through /proc; fall through to a placeholder.
      }
    }
    try {
      return fs.openSync(nodeOs().devNull, O_PATH !== 0 ? O_PATH | O.CLOEXEC : O.RDONLY | O.CLOEXEC);
    } catch (e) {
      throw toFsError(e, 'dup', { fd });
    }
  }

  reserveAtSync(target: number, fd: number, replace: boolean): boolean {
    // Node has no dup2(2). open(2) always returns the lowest free number, so: take every free number
    // below `target` with placeholders, free `target` (when replacing), and the next open lands on it.
    // dup2(2): EBADF for a target the process may not have. Checked first, because the placeholders
    // below would otherwise take every free descriptor in the process before failing with EMFILE.
    const limit = openFileLimit();
    if (!Number.isSafeInteger(target) || target < 0 || (limit !== undefined && target >= limit)) {
      throw new FsError({
        code: 'EBADF',
        syscall: 'dup2',
        fd: target,
        detail:
          limit === undefined ? 'not a valid descriptor number' : `beyond the process's limit of ${limit} open files`,
      });
    }
    const placeholders: number[] = [];
    try {
      for (;;) {
        const n = this.reserveSync(fd);
        if (n === target) return true; // it was free: the reservation landed on it
        placeholders.push(n);
        if (n > target) break;
      }
      if (!replace)
        throw new FsError({
          code: 'EBUSY',
          syscall: 'dup2',
          fd: target,
          detail: 'the number is held by a descriptor this table does not own',
        });
      // From the close on, `target` is gone whatever happens: report failures as "lost the number".
      try {
        this.closeSync(target);
      } catch {
        // close(2) frees the number even when it reports an error
      }
      let n: number;
      try {
        n = this.reserveSync(fd);
      } catch {
        return false;
      }
      if (n === target) return true;
      this.closeSync(n);
      return false;
    } finally {
      for (const p of placeholders) fs.closeSync(p);
    }
  }

  reopenSync(fd: number, flags: number): number {
    if (FD_DIR === undefined)
      throw new FsError({
        code: 'ENOSYS',
        syscall: 'reopen',
        fd,
        detail: 'no /proc/self/fd or /dev/fd on this platform',
      });
    const path = FD_DIR + String(fd);
    let anchor: number | undefined;
    try {
      // Opening a FIFO read-only blocks until it has a writer, and write-only until it has a reader, and
      // the other end may be gone for good: the process would hang in a synchronous open. An O_RDWR
      // descriptor (which never blocks on Linux and macOS) stands in for the other end meanwhile.
      if (accessMode(flags) !== O.RDWR && this.fstatSync(fd).isFIFO()) anchor = fs.openSync(path, O.RDWR | O.CLOEXEC);
      return fs.openSync(path, descriptionFlags(flags) | O.CLOEXEC);
    } catch (e) {
      throw toFsError(e, 'reopen', { fd });
    } finally {
      if (anchor !== undefined) fs.closeSync(anchor);
    }
  }

  pipeSync(): [number, number] {
    // Node exposes no pipe(2). A FIFO in a private directory, opened at both ends and then unlinked,
    // is the same kernel object as an anonymous pipe.
    if (process.platform === 'win32')
      throw new FsError({ code: 'ENOSYS', syscall: 'pipe', detail: 'pipes are not supported on Windows' });
    const dir = fs.mkdtempSync(join(nodeOs().tmpdir(), 'fdkeeper-pipe-'));
    const fifo = join(dir, 'fifo');
    const opened: number[] = [];
    try {
      const made = childProcess().spawnSync('mkfifo', ['-m', '600', fifo], { stdio: 'ignore' });
      if (made.status !== 0)
        throw new FsError({ code: 'ENOSYS', syscall: 'pipe', path: fifo, detail: 'mkfifo(1) failed or is missing' });
      // O_RDWR on a FIFO never blocks on Linux and macOS; it lets both blocking ends open at once.
      const anchor = this.openSync(fifo, O.RDWR | O.CLOEXEC);
      opened.push(anchor);
      const writeEnd = this.openSync(fifo, O.WRONLY | O.CLOEXEC);
      opened.push(writeEnd);
      const readEnd = this.openSync(fifo, O.RDONLY | O.CLOEXEC);
      opened.push(readEnd);
      this.closeSync(anchor);
      opened.length = 0;
      return [readEnd, writeEnd];
    } finally {
      for (const fd of opened) fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  fdInfoSync(fd: number): FdInfo {
    if (process.platform !== 'linux') return { flags: undefined, offset: undefined };
    let text: string;
    try {
      text = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
    } catch (e) {
      if (hasCode(e, 'ENOENT')) throw new FsError({ code: 'EBADF', syscall: 'fcntl', fd });
      return { flags: undefined, offset: undefined };
    }
    const pos = /^pos:\s*(\d+)/m.exec(text);
    const flags = /^flags:\s*([0-7]+)/m.exec(text);
    return {
      offset: pos === null ? undefined : Number(pos[1]),
      flags: flags === null ? undefined : parseInt(flags[1] ?? '0', 8),
    };
  }
}
