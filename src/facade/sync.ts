/**
 * The synchronous node:fs functions of the facade, each mapped onto {@link Backend} calls.
 *
 * @module
 */
import type { Backend, FileStat, TimeLike } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import {
  CHUNK,
  F_OK,
  accessAllowed,
  appending,
  bytesOf,
  checkRange,
  dataBytes,
  decode,
  fsError,
  invalidArgType,
  invalidArgValue,
  isCode,
  joinPath,
  optionsOf,
  parentOf,
  parseFlags,
  parseMode,
  pathString,
  positionOf,
  reframe,
  rmIsDirectory,
  tempSuffix,
  type FacadeContext,
  type FsData,
  type FsEncoding,
  type PathLike,
} from './context.js';
import { Dirent, Stats } from './stats.js';
import type { EncodingOptions, FsMode, FsSync, FsTime, MkdirOptions, ReadFileOptions, ReadPositionOptions, ReaddirOptions, ReaddirResult, RmOptions, RmdirOptions, StatOptions, WriteFileOptions } from './types.js';

/** `fs.constants.COPYFILE_EXCL`. */
export const COPYFILE_EXCL = 1;
/** `fs.constants.COPYFILE_FICLONE_FORCE`: the facade cannot clone, so this fails with ENOTSUP. */
export const COPYFILE_FICLONE_FORCE = 4;

// ================================================================ loops shared with the other forms

/** Reads the rest of an open file (up to `size` bytes when its size is known, else to end of file). */
export function readAllSync(b: Backend, fd: number, size: number | undefined, position: number | null): Buffer {
  if (size !== undefined && size > 0) {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = b.readSync(fd, buf, got, size - got, position === null ? null : position + got);
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = b.readSync(fd, buf, 0, CHUNK, position === null ? null : position + total);
    if (n === 0) break;
    parts.push(n === CHUNK ? buf : buf.subarray(0, n));
    total += n;
  }
  const only = parts.length === 1 ? parts[0] : undefined;
  return only ?? Buffer.concat(parts, total);
}

/** Writes all of `bytes`, looping over short writes; `position` null: at the current offset. */
export function writeAllSync(b: Backend, fd: number, bytes: Uint8Array, position: number | null): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = b.writeSync(fd, bytes, done, bytes.byteLength - done, position === null ? null : position + done);
    if (n <= 0) throw fsError('EIO', 'write', undefined, 'write(2) wrote nothing');
    done += n;
  }
}

/** A size worth reading up to: a regular file's size; undefined for files whose size means nothing. */
export function sizeHint(st: FileStat, fd: number): number | undefined {
  if (st.isDirectory()) throw new IsDirectoryRead(fd);
  return st.isFile() ? st.size : undefined;
}

/** read(2) on a directory: EISDIR, as node:fs reports it (no path). */
class IsDirectoryRead extends Error {
  constructor(readonly fd: number) {
    super('EISDIR');
  }
}

/** Turns the marker above into the FsError node:fs gives. */
export function isDirRead(e: unknown): unknown {
  return e instanceof IsDirectoryRead ? fsError('EISDIR', 'read') : e;
}

/** `utimes` times as the backend takes them (Dates, or seconds since the epoch). */
export function toTime(t: FsTime, name: string): TimeLike {
  if (t instanceof Date) return t;
  if (typeof t === 'number') return t;
  if (typeof t === 'string' && t.trim() !== '' && Number.isFinite(Number(t))) return Number(t);
  throw invalidArgType(name, 'of type number or an instance of Date', t);
}

/** A name or path in the encoding asked for (`'buffer'`: a Buffer). */
export function encodeName(s: string, encoding: FsEncoding | null | undefined): string | Buffer {
  if (encoding == null || encoding === 'utf8' || encoding === 'utf-8') return s;
  const buf = Buffer.from(s, 'utf8');
  return encoding === 'buffer' ? buf : buf.toString(encoding);
}

/** Validates stat options (no BigInt stats). */
export function checkStatOptions(options: StatOptions | undefined): void {
  if (options?.bigint === true as unknown) throw invalidArgValue('options.bigint', true, 'is not supported by the fdkeeper facade');
}

/** The arguments of a read or write given as `(buffer, offset, length, position)` or `(buffer, { … })`. */
export function transferArgs(buffer: NodeJS.ArrayBufferView, offsetOrOptions: number | ReadPositionOptions | null | undefined, length: number | null | undefined, position: number | bigint | null | undefined): { bytes: Uint8Array; offset: number; length: number; position: number | null } {
  if (!ArrayBuffer.isView(buffer)) throw invalidArgType('buffer', 'an instance of Buffer, TypedArray, or DataView', buffer);
  const bytes = bytesOf(buffer);
  let offset: number;
  let len: number | null | undefined;
  let pos: number | bigint | null | undefined;
  if (typeof offsetOrOptions === 'object' && offsetOrOptions !== null) {
    offset = offsetOrOptions.offset ?? 0;
    len = offsetOrOptions.length;
    pos = offsetOrOptions.position;
  } else {
    offset = offsetOrOptions ?? 0;
    len = length;
    pos = position;
  }
  const l = len ?? bytes.byteLength - offset;
  checkRange(bytes, offset, l);
  return { bytes, offset, length: l, position: positionOf(pos) };
}

/** The options of `mkdir` (a mode number or string, or an object). */
export function mkdirOptions(options: MkdirOptions | FsMode | null | undefined): { recursive: boolean; mode: number } {
  if (typeof options === 'number' || typeof options === 'string') return { recursive: false, mode: parseMode(options, 0o777) };
  return { recursive: options?.recursive === true, mode: parseMode(options?.mode, 0o777) };
}

/** The descriptor a readFile/writeFile argument names, if it is one. */
export function fdArg(file: PathLike | number): number | undefined {
  if (typeof file !== 'number') return undefined;
  if (!Number.isSafeInteger(file) || file < 0) throw invalidArgValue('fd', file, 'must be a non-negative integer');
  return file;
}

// ================================================================ the synchronous API

/** The synchronous functions of a facade over `ctx`. */
export function syncApi(ctx: FacadeContext): FsSync {
  const b = ctx.backend;
  const P = ctx.path;

  const statSync = (p: PathLike, options?: StatOptions): Stats | undefined => {
    checkStatOptions(options);
    try {
      return new Stats(b.statSync(P(p)));
    } catch (e) {
      if (options?.throwIfNoEntry === false && isCode(e, 'ENOENT', 'ENOTDIR')) return undefined;
      throw e;
    }
  };
  const lstatSync = (p: PathLike, options?: StatOptions): Stats | undefined => {
    checkStatOptions(options);
    try {
      return new Stats(b.lstatSync(P(p)));
    } catch (e) {
      if (options?.throwIfNoEntry === false && isCode(e, 'ENOENT', 'ENOTDIR')) return undefined;
      throw e;
    }
  };

  const accessSync = (p: PathLike, mode: number = F_OK): void => {
    const path = P(p);
    let st: FileStat;
    try {
      st = b.statSync(path);
    } catch (e) {
      throw reframe(e, 'access', path);
    }
    if (!accessAllowed(st, mode, ctx.credentials())) throw fsError('EACCES', 'access', path);
  };

  const readFileSync = (file: PathLike | number, options?: ReadFileOptions | FsEncoding | null): string | Buffer => {
    const o = optionsOf(options);
    const given = fdArg(file);
    const fd = given ?? b.openSync(P(file as PathLike), parseFlags(o.flag, 'r'), 0o666);
    try {
      const buf = readAllSync(b, fd, given === undefined ? sizeHint(b.fstatSync(fd), fd) : undefined, null);
      return decode(buf, o.encoding);
    } catch (e) {
      throw isDirRead(e);
    } finally {
      if (given === undefined) b.closeSync(fd);
    }
  };

  const writeOrAppend = (file: PathLike | number, data: FsData, options: WriteFileOptions | FsEncoding | null | undefined, defaultFlag: string): void => {
    const o = optionsOf(options);
    const bytes = dataBytes(data, o.encoding);
    const given = fdArg(file);
    if (given !== undefined) {
      writeAllSync(b, given, bytes, null);
      return;
    }
    const bits = parseFlags(o.flag, defaultFlag);
    const fd = b.openSync(P(file as PathLike), bits, parseMode(o.mode, 0o666));
    let ok = false;
    try {
      writeAllSync(b, fd, bytes, appending(bits) ? null : 0);
      if (o.flush === true) b.fsyncSync(fd);
      ok = true;
    } finally {
      if (ok) b.closeSync(fd);
      else closeQuietly(b, fd);
    }
  };

  const readdirSync = (p: PathLike, options?: ReaddirOptions | FsEncoding | null): ReaddirResult => {
    const o = optionsOf(options);
    const root = P(p);
    if (o.recursive !== true) {
      const names = b.readdirSync(root);
      if (o.withFileTypes === true) return names.map((n) => new Dirent(encodeName(n, o.encoding), root, b.lstatSync(joinPath(root, n)).mode));
      return encodeNames(names, o.encoding);
    }
    // Breadth-first, as node:fs lists: a directory's entries, then its subdirectories' (relative names).
    const names: string[] = [];
    const dirents: Dirent[] = [];
    const queue: [string, string][] = [[root, '']];
    // A for-of over an array also visits what is pushed while it runs.
    for (const [dir, rel] of queue) {
      for (const n of b.readdirSync(dir)) {
        const full = joinPath(dir, n);
        const mode = b.lstatSync(full).mode;
        if (o.withFileTypes === true) dirents.push(new Dirent(encodeName(n, o.encoding), dir, mode));
        else names.push(rel === '' ? n : `${rel}/${n}`);
        if ((mode & 0o170000) === 0o040000) queue.push([full, rel === '' ? n : `${rel}/${n}`]);
      }
    }
    return o.withFileTypes === true ? dirents : encodeNames(names, o.encoding);
  };

  const mkdirpSync = (given: string, mode: number): string | undefined => {
    const path = P(given);
    try {
      b.mkdirSync(path, mode);
      return given;
    } catch (e) {
      if (isCode(e, 'EEXIST')) {
        if (b.statSync(path).isDirectory()) return undefined;
        throw e;
      }
      if (!isCode(e, 'ENOENT')) throw e;
      const parent = parentOf(given);
      if (parent === given) throw e;
      const first = mkdirpSync(parent, mode);
      try {
        b.mkdirSync(path, mode);
      } catch (e2) {
        if (!(isCode(e2, 'EEXIST') && b.statSync(path).isDirectory())) throw e2;
      }
      return first ?? given;
    }
  };

  const mkdirSync = (p: PathLike, options?: MkdirOptions | FsMode | null): string | undefined => {
    const o = mkdirOptions(options);
    if (o.recursive) return mkdirpSync(pathString(p), o.mode);
    b.mkdirSync(P(p), o.mode);
    return undefined;
  };

  const removeTreeSync = (path: string): void => {
    for (const n of b.readdirSync(path)) {
      const child = joinPath(path, n);
      if (b.lstatSync(child).isDirectory()) removeTreeSync(child);
      else b.unlinkSync(child);
    }
    b.rmdirSync(path);
  };

  const rmSync = (p: PathLike, options?: RmOptions): void => {
    const path = P(p);
    let st: FileStat;
    try {
      st = b.lstatSync(path);
    } catch (e) {
      if (options?.force === true && isCode(e, 'ENOENT')) return;
      throw reframe(e, 'rm', path);
    }
    if (st.isDirectory()) {
      if (options?.recursive !== true) throw rmIsDirectory(path);
      removeTreeSync(path);
    } else {
      b.unlinkSync(path);
    }
  };

  const copyFileSync = (src: PathLike, dest: PathLike, mode = 0): void => {
    const from = P(src, 'src');
    const to = P(dest, 'dest');
    if ((mode & COPYFILE_FICLONE_FORCE) !== 0) throw fsError('ENOTSUP', 'copyfile', from, 'the backend cannot clone files', to);
    let sfd: number;
    try {
      sfd = b.openSync(from, O.RDONLY);
    } catch (e) {
      throw reframe(e, 'copyfile', from, to);
    }
    try {
      const st = b.fstatSync(sfd);
      if (st.isDirectory()) throw fsError('EISDIR', 'copyfile', from, undefined, to);
      let dfd: number;
      try {
        dfd = b.openSync(to, O.WRONLY | O.CREAT | O.TRUNC | ((mode & COPYFILE_EXCL) !== 0 ? O.EXCL : 0), st.mode & 0o7777);
      } catch (e) {
        throw reframe(e, 'copyfile', from, to);
      }
      let ok = false;
      try {
        const buf = Buffer.allocUnsafe(CHUNK);
        let pos = 0;
        for (;;) {
          const n = b.readSync(sfd, buf, 0, CHUNK, pos);
          if (n === 0) break;
          writeAllSync(b, dfd, buf.subarray(0, n), pos);
          pos += n;
        }
        b.fchmodSync(dfd, st.mode & 0o7777);
        ok = true;
      } finally {
        if (ok) b.closeSync(dfd);
        else closeQuietly(b, dfd);
      }
    } finally {
      closeQuietly(b, sfd);
    }
  };

  const realpathSync = (p: PathLike, options?: EncodingOptions | FsEncoding | null): string | Buffer => {
    const o = optionsOf(options);
    return encodeName(realpathOf(ctx.absolute(p), (x) => b.lstatSync(x), (x) => b.readlinkSync(x)), o.encoding);
  };

  const withFile = (p: PathLike, flags: number, run: (fd: number) => void): void => {
    const fd = b.openSync(P(p), flags);
    let ok = false;
    try {
      run(fd);
      ok = true;
    } finally {
      if (ok) b.closeSync(fd);
      else closeQuietly(b, fd);
    }
  };

  const api = {
    existsSync(p: PathLike): boolean {
      try {
        b.statSync(P(p));
        return true;
      } catch {
        return false;
      }
    },
    accessSync,
    openSync(p: PathLike, flags?: string | number, mode?: FsMode): number {
      return b.openSync(P(p), parseFlags(flags, 'r'), parseMode(mode, 0o666));
    },
    closeSync(fd: number): void {
      b.closeSync(fd);
    },
    readSync(fd: number, buffer: NodeJS.ArrayBufferView, offset?: number | ReadPositionOptions, length?: number, position?: number | bigint | null): number {
      const a = transferArgs(buffer, offset, length, position);
      if (a.length === 0) return 0;
      return b.readSync(fd, a.bytes, a.offset, a.length, a.position);
    },
    writeSync(fd: number, data: NodeJS.ArrayBufferView | string, a1?: number | ReadPositionOptions | null, a2?: number | string | null, a3?: number | null): number {
      if (typeof data === 'string') {
        const bytes = Buffer.from(data, typeof a2 === 'string' ? (a2 as BufferEncoding) : 'utf8');
        return b.writeSync(fd, bytes, 0, bytes.byteLength, positionOf(a1 as number | null | undefined));
      }
      const a = transferArgs(data, a1, a2 as number | null | undefined, a3);
      return b.writeSync(fd, a.bytes, a.offset, a.length, a.position);
    },
    readFileSync,
    writeFileSync(file: PathLike | number, data: FsData, options?: WriteFileOptions | FsEncoding | null): void {
      writeOrAppend(file, data, options, 'w');
    },
    appendFileSync(file: PathLike | number, data: FsData, options?: WriteFileOptions | FsEncoding | null): void {
      writeOrAppend(file, data, options, 'a');
    },
    statSync,
    lstatSync,
    fstatSync(fd: number, options?: StatOptions): Stats {
      checkStatOptions(options);
      return new Stats(b.fstatSync(fd));
    },
    readdirSync,
    mkdirSync,
    mkdtempSync(prefix: string, options?: EncodingOptions | FsEncoding | null): string | Buffer {
      const o = optionsOf(options);
      const given = pathString(prefix, 'prefix');
      for (let attempt = 0; ; attempt++) {
        const candidate = given + tempSuffix();
        try {
          b.mkdirSync(P(candidate), 0o700);
          return encodeName(candidate, o.encoding);
        } catch (e) {
          if (!isCode(e, 'EEXIST') || attempt >= 100) throw e;
        }
      }
    },
    rmdirSync(p: PathLike, options?: RmdirOptions): void {
      if (options?.recursive === true) removeTreeSync(P(p));
      else b.rmdirSync(P(p));
    },
    rmSync,
    unlinkSync(p: PathLike): void {
      b.unlinkSync(P(p));
    },
    renameSync(oldPath: PathLike, newPath: PathLike): void {
      b.renameSync(P(oldPath, 'oldPath'), P(newPath, 'newPath'));
    },
    copyFileSync,
    linkSync(existingPath: PathLike, newPath: PathLike): void {
      b.linkSync(P(existingPath, 'existingPath'), P(newPath, 'newPath'));
    },
    symlinkSync(target: PathLike, p: PathLike): void {
      // The target is stored as given: a relative target is relative to the link's directory.
      b.symlinkSync(pathString(target, 'target'), P(p));
    },
    readlinkSync(p: PathLike, options?: EncodingOptions | FsEncoding | null): string | Buffer {
      return encodeName(b.readlinkSync(P(p)), optionsOf(options).encoding);
    },
    realpathSync: Object.assign(realpathSync, { native: realpathSync }),
    chmodSync(p: PathLike, mode: FsMode): void {
      b.chmodSync(P(p), parseMode(mode, 0));
    },
    fchmodSync(fd: number, mode: FsMode): void {
      b.fchmodSync(fd, parseMode(mode, 0));
    },
    chownSync(p: PathLike, uid: number, gid: number): void {
      withFile(p, O.RDONLY, (fd) => { b.fchownSync(fd, uid, gid); });
    },
    fchownSync(fd: number, uid: number, gid: number): void {
      b.fchownSync(fd, uid, gid);
    },
    truncateSync(p: PathLike, len?: number | null): void {
      withFile(p, O.RDWR, (fd) => { b.ftruncateSync(fd, len ?? 0); });
    },
    ftruncateSync(fd: number, len?: number | null): void {
      b.ftruncateSync(fd, len ?? 0);
    },
    fsyncSync(fd: number): void {
      b.fsyncSync(fd);
    },
    fdatasyncSync(fd: number): void {
      b.fdatasyncSync(fd);
    },
    utimesSync(p: PathLike, atime: FsTime, mtime: FsTime): void {
      b.utimesSync(P(p), toTime(atime, 'atime'), toTime(mtime, 'mtime'));
    },
  };
  return api as unknown as FsSync;
}

/** Names in the encoding asked for. */
export function encodeNames(names: string[], encoding: FsEncoding | null | undefined): string[] | Buffer[] {
  if (encoding == null || encoding === 'utf8' || encoding === 'utf-8') return names;
  if (encoding === 'buffer') return names.map((n) => Buffer.from(n, 'utf8'));
  return names.map((n) => Buffer.from(n, 'utf8').toString(encoding));
}

/** Closes a descriptor on the way out of a failure: the first error is the one to report. */
export function closeQuietly(b: Backend, fd: number): void {
  try {
    b.closeSync(fd);
  } catch {
    // the original error matters more
  }
}

/** The most symlinks followed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * realpath(3) on an absolute path, one component at a time with lstat and readlink (so it works the
 * same on every backend). Used by the synchronous form; the promise form has the same loop with awaits.
 */
export function realpathOf(absolute: string, lstat: (p: string) => FileStat, readlink: (p: string) => string): string {
  const r = new RealpathWalk(absolute);
  for (let step = r.next(); step !== undefined; step = r.next()) {
    const st = lstat(step);
    if (st.isSymbolicLink()) r.follow(readlink(step));
    else r.accept(st.isDirectory());
  }
  return r.result();
}

/**
 * The state of a realpath walk: a resolved prefix and the components still to go. `next()` gives the
 * next path to lstat; the caller answers with `follow(target)` (a symlink) or `accept()`.
 */
export class RealpathWalk {
  private resolved = '/';
  private rest: string[];
  private pending: string | undefined;
  private links = 0;
  private readonly original: string;

  constructor(absolute: string) {
    this.original = absolute;
    this.rest = absolute.split('/').reverse();
  }

  /** The next path to lstat, or undefined when done. */
  next(): string | undefined {
    for (let c = this.rest.pop(); c !== undefined; c = this.rest.pop()) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        this.resolved = parentOf(this.resolved);
        continue;
      }
      this.pending = joinPath(this.resolved, c);
      return this.pending;
    }
    return undefined;
  }

  /** The pending path is a symlink to `target`. */
  follow(target: string): void {
    if (++this.links > MAX_SYMLINKS) throw fsError('ELOOP', 'realpath', this.original);
    if (target.startsWith('/')) this.resolved = '/';
    for (const c of target.split('/').reverse()) this.rest.push(c);
  }

  /** The pending path is not a symlink. */
  accept(isDirectory: boolean): void {
    if (!isDirectory && this.rest.some((c) => c !== '')) {
      // More components follow a file: the next lstat fails with ENOTDIR anyway; say it here.
      throw fsError('ENOTDIR', 'lstat', this.pending);
    }
    this.resolved = this.pending ?? this.resolved;
  }

  /** The resolved path. */
  result(): string {
    return this.resolved;
  }
}
