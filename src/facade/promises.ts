/**
 * The `promises` half of the node:fs facade, and its `FileHandle`, over the backend's promise calls.
 *
 * @module
 */
import type { Backend, FileStat } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import {
  CHUNK,
  F_OK,
  accessAllowed,
  appending,
  dataBytes,
  decode,
  fsError,
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
import {
  COPYFILE_EXCL,
  COPYFILE_FICLONE_FORCE,
  RealpathWalk,
  checkStatOptions,
  encodeName,
  encodeNames,
  fdArg,
  isDirRead,
  mkdirOptions,
  sizeHint,
  toTime,
  transferArgs,
} from './sync.js';
import { ReadStream, WriteStream } from './streams.js';
import type { EncodingOptions, FsMode, FsOpenFlags, FsTime, MkdirOptions, ReadFileOptions, ReadPositionOptions, ReadStreamOptions, ReaddirOptions, ReaddirResult, RmOptions, RmdirOptions, StatOptions, WriteFileOptions, WriteStreamOptions } from './types.js';

// ================================================================ loops shared with the callback form

/** Promise form of `readAllSync`: the rest of an open file. */
export async function readAll(b: Backend, fd: number, size: number | undefined, position: number | null): Promise<Buffer> {
  if (size !== undefined && size > 0) {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = await b.read(fd, buf, got, size - got, position === null ? null : position + got);
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = await b.read(fd, buf, 0, CHUNK, position === null ? null : position + total);
    if (n === 0) break;
    parts.push(n === CHUNK ? buf : buf.subarray(0, n));
    total += n;
  }
  const only = parts.length === 1 ? parts[0] : undefined;
  return only ?? Buffer.concat(parts, total);
}

/** Promise form of `writeAllSync`: all of `bytes`, looping over short writes. */
export async function writeAll(b: Backend, fd: number, bytes: Uint8Array, position: number | null): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = await b.write(fd, bytes, done, bytes.byteLength - done, position === null ? null : position + done);
    if (n <= 0) throw fsError('EIO', 'write', undefined, 'write(2) wrote nothing');
    done += n;
  }
}

async function closeQuietly(b: Backend, fd: number): Promise<void> {
  try {
    await b.close(fd);
  } catch {
    // the original error matters more
  }
}

/** Runs `run` on a descriptor opened for it, closing it afterwards (a close failure counts only on success). */
async function withFd<T>(b: Backend, path: string, flags: number, mode: number, run: (fd: number) => Promise<T>): Promise<T> {
  const fd = await b.open(path, flags, mode);
  let result: T;
  try {
    result = await run(fd);
  } catch (e) {
    await closeQuietly(b, fd);
    throw e;
  }
  await b.close(fd);
  return result;
}

// ================================================================ FileHandle

/** What `FileHandle.read` resolves to. */
export interface FileReadResult<B extends NodeJS.ArrayBufferView> {
  /** Bytes read (0 at end of file). */
  bytesRead: number;
  /** The buffer read into. */
  buffer: B;
}

/** What `FileHandle.write` resolves to. */
export interface FileWriteResult<B> {
  /** Bytes written. */
  bytesWritten: number;
  /** The buffer (or string) written. */
  buffer: B;
}

/**
 * An open file of the facade's `promises.open()`, shaped like node:fs's `FileHandle`. Its `fd` is the
 * backend's descriptor number (-1 once closed). Supports `await using`.
 */
export class FileHandle {
  private readonly backend: Backend;
  private current: number;
  private closing: Promise<void> | undefined;

  /** @internal Use the facade's `promises.open()`. */
  constructor(backend: Backend, fd: number) {
    this.backend = backend;
    this.current = fd;
  }

  /** The backend descriptor number; -1 once closed. */
  get fd(): number {
    return this.current;
  }

  private live(syscall: string): number {
    if (this.current === -1) throw fsError('EBADF', syscall, undefined, 'the FileHandle is closed');
    return this.current;
  }

  /**
   * Reads into `buffer` (default: a new 16 KiB Buffer) at `position` (default: the current offset).
   * Also takes `(options)` or `(buffer, options)` with `{ buffer?, offset, length, position }`.
   */
  read<B extends NodeJS.ArrayBufferView>(buffer: B, offset?: number | null, length?: number | null, position?: number | bigint | null): Promise<FileReadResult<B>>;
  read<B extends NodeJS.ArrayBufferView>(buffer: B, options: ReadPositionOptions): Promise<FileReadResult<B>>;
  read<B extends NodeJS.ArrayBufferView = Buffer>(options?: ReadPositionOptions & { buffer?: B }): Promise<FileReadResult<B>>;
  async read<B extends NodeJS.ArrayBufferView = Buffer>(buffer?: B | (ReadPositionOptions & { buffer?: B }), offset?: number | ReadPositionOptions | null, length?: number | null, position?: number | bigint | null): Promise<FileReadResult<B>> {
    const fd = this.live('read');
    let buf: B;
    let off: number | ReadPositionOptions | null | undefined = offset;
    if (buffer === undefined || !ArrayBuffer.isView(buffer)) {
      const o = buffer;
      buf = o?.buffer ?? (Buffer.alloc(16384) as unknown as B);
      off = o;
    } else {
      buf = buffer;
    }
    const a = transferArgs(buf, off, length, position);
    const bytesRead = a.length === 0 ? 0 : await this.backend.read(fd, a.bytes, a.offset, a.length, a.position);
    return { bytesRead, buffer: buf };
  }

  /** Writes a buffer (`offset`, `length`, `position`) or a string (`position`, `encoding`). */
  async write<B extends NodeJS.ArrayBufferView | string>(data: B, a1?: number | ReadPositionOptions | null, a2?: number | BufferEncoding | null, a3?: number | null): Promise<FileWriteResult<B>> {
    const fd = this.live('write');
    if (typeof data === 'string') {
      const bytes = Buffer.from(data, typeof a2 === 'string' ? a2 : 'utf8');
      const bytesWritten = await this.backend.write(fd, bytes, 0, bytes.byteLength, positionOf(a1 as number | null | undefined));
      return { bytesWritten, buffer: data };
    }
    const a = transferArgs(data, a1, a2 as number | null | undefined, a3);
    const bytesWritten = await this.backend.write(fd, a.bytes, a.offset, a.length, a.position);
    return { bytesWritten, buffer: data };
  }

  /** The rest of the file from the current offset; a string with an encoding. */
  readFile(options: { encoding: BufferEncoding } | BufferEncoding): Promise<string>;
  readFile(options?: { encoding?: null } | null): Promise<Buffer>;
  async readFile(options?: ReadFileOptions | FsEncoding | null): Promise<string | Buffer> {
    const fd = this.live('read');
    try {
      return decode(await readAll(this.backend, fd, undefined, null), optionsOf(options).encoding);
    } catch (e) {
      throw isDirRead(e);
    }
  }

  /** Writes `data` at the current offset (all of it, looping over short writes). */
  async writeFile(data: FsData, options?: WriteFileOptions | FsEncoding | null): Promise<void> {
    const fd = this.live('write');
    await writeAll(this.backend, fd, dataBytes(data, optionsOf(options).encoding), null);
  }

  /** The same as {@link FileHandle.writeFile} (the handle's flags decide whether writes append). */
  appendFile(data: FsData, options?: WriteFileOptions | FsEncoding | null): Promise<void> {
    return this.writeFile(data, options);
  }

  /** fstat(2). */
  async stat(options?: StatOptions): Promise<Stats> {
    checkStatOptions(options);
    return new Stats(await this.backend.fstat(this.live('fstat')));
  }

  /** ftruncate(2) (default length 0). */
  async truncate(len?: number | null): Promise<void> {
    await this.backend.ftruncate(this.live('ftruncate'), len ?? 0);
  }

  /** fsync(2). */
  async sync(): Promise<void> {
    await this.backend.fsync(this.live('fsync'));
  }

  /** fdatasync(2). */
  async datasync(): Promise<void> {
    await this.backend.fdatasync(this.live('fdatasync'));
  }

  /** fchmod(2). */
  async chmod(mode: FsMode): Promise<void> {
    await this.backend.fchmod(this.live('fchmod'), parseMode(mode, 0));
  }

  /** fchown(2). */
  async chown(uid: number, gid: number): Promise<void> {
    await this.backend.fchown(this.live('fchown'), uid, gid);
  }

  /** A read stream over this handle (it does not close the handle unless `autoClose` is set). */
  createReadStream(options: Omit<ReadStreamOptions, 'fd'> = {}): ReadStream {
    return new ReadStream(this.backend, undefined, { autoClose: false, ...options, fd: this.live('read') });
  }

  /** A write stream over this handle (it does not close the handle unless `autoClose` is set). */
  createWriteStream(options: Omit<WriteStreamOptions, 'fd'> = {}): WriteStream {
    return new WriteStream(this.backend, undefined, { autoClose: false, ...options, fd: this.live('write') });
  }

  /** Closes the descriptor. Closing again is a no-op (it resolves when the first close does). */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const fd = this.current;
    if (fd === -1) return Promise.resolve();
    this.current = -1;
    this.closing = this.backend.close(fd);
    return this.closing;
  }

  /** `await using` support: closes the handle. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// ================================================================ the promise API

/** The `promises` object of the facade: node:fs/promises over a backend. */
export interface FsPromises {
  /** Opens a file and returns a {@link FileHandle}. */
  open: (path: PathLike, flags?: FsOpenFlags, mode?: FsMode) => Promise<FileHandle>;
  /** The whole content of a file (or a FileHandle, from its current offset). */
  readFile: {
    (path: PathLike | FileHandle, options?: { encoding?: null; flag?: FsOpenFlags } | null): Promise<Buffer>;
    (path: PathLike | FileHandle, options: { encoding: BufferEncoding; flag?: FsOpenFlags } | BufferEncoding): Promise<string>;
    (path: PathLike | FileHandle, options?: ReadFileOptions | FsEncoding | null): Promise<string | Buffer>;
  };
  /** Replaces a file's content (creating it). */
  writeFile: (file: PathLike | FileHandle, data: FsData, options?: WriteFileOptions | FsEncoding | null) => Promise<void>;
  /** Appends to a file (creating it). */
  appendFile: (file: PathLike | FileHandle, data: FsData, options?: WriteFileOptions | FsEncoding | null) => Promise<void>;
  /** A directory's entries: names, Buffers or {@link Dirent}s. */
  readdir: {
    (path: PathLike, options: ReaddirOptions & { withFileTypes: true }): Promise<Dirent[]>;
    (path: PathLike, options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer'): Promise<Buffer[]>;
    (path: PathLike, options?: { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null): Promise<string[]>;
    (path: PathLike, options?: ReaddirOptions | FsEncoding | null): Promise<ReaddirResult>;
  };
  /** Creates a directory (with `recursive`, its parents; resolves to the first directory created). */
  mkdir: (path: PathLike, options?: MkdirOptions | FsMode | null) => Promise<string | undefined>;
  /** Creates a uniquely named directory `prefix` + 6 random characters. */
  mkdtemp: PromiseStringResult<[prefix: string]>;
  /** Removes a file or (with `recursive`) a directory tree; `force` ignores a missing path. */
  rm: (path: PathLike, options?: RmOptions) => Promise<void>;
  /** Removes an empty directory. */
  rmdir: (path: PathLike, options?: RmdirOptions) => Promise<void>;
  /** Removes a directory entry. */
  unlink: (path: PathLike) => Promise<void>;
  /** Renames, atomically replacing the destination. */
  rename: (oldPath: PathLike, newPath: PathLike) => Promise<void>;
  /** stat(2). */
  stat: (path: PathLike, options?: StatOptions) => Promise<Stats>;
  /** lstat(2). */
  lstat: (path: PathLike, options?: StatOptions) => Promise<Stats>;
  /** Rejects unless the path exists and may be accessed with `mode`. */
  access: (path: PathLike, mode?: number) => Promise<void>;
  /** Copies content and mode; `COPYFILE_EXCL` fails if the destination exists. */
  copyFile: (src: PathLike, dest: PathLike, mode?: number) => Promise<void>;
  /** The canonical absolute path. */
  realpath: PromiseStringResult<[path: PathLike]>;
  /** A symlink's content. */
  readlink: PromiseStringResult<[path: PathLike]>;
  /** A new symlink at `path` whose content is `target`. */
  symlink: (target: PathLike, path: PathLike, type?: string | null) => Promise<void>;
  /** A new hard link. */
  link: (existingPath: PathLike, newPath: PathLike) => Promise<void>;
  /** Changes permission bits. */
  chmod: (path: PathLike, mode: FsMode) => Promise<void>;
  /** Changes owner and group. */
  chown: (path: PathLike, uid: number, gid: number) => Promise<void>;
  /** Sets a file's size (default 0). */
  truncate: (path: PathLike, len?: number | null) => Promise<void>;
  /** Sets access and modification times. */
  utimes: (path: PathLike, atime: FsTime, mtime: FsTime) => Promise<void>;
  /** `fs.constants`. */
  constants: typeof import('node:fs').constants;
}

/** The promise form of `StringResult`: a call resolving to a path or name (a Buffer with `encoding: 'buffer'`). */
export interface PromiseStringResult<A extends unknown[]> {
  /** With `encoding: 'buffer'`: a Buffer. */
  (...args: [...A, options: { encoding: 'buffer' } | 'buffer']): Promise<Buffer>;
  /** Otherwise a string. */
  (...args: [...A, options?: { encoding?: BufferEncoding | null } | BufferEncoding | null]): Promise<string>;
}

/** The `promises` object of a facade over `ctx`. */
export function promisesApi(ctx: FacadeContext, constants: typeof import('node:fs').constants): FsPromises {
  const b = ctx.backend;
  const P = ctx.path;

  const readFile = async (file: PathLike | FileHandle, options?: ReadFileOptions | FsEncoding | null): Promise<string | Buffer> => {
    if (file instanceof FileHandle) return file.readFile(options as null);
    const o = optionsOf(options);
    const fd = fdArg(file);
    try {
      if (fd !== undefined) return decode(await readAll(b, fd, undefined, null), o.encoding);
      const buf = await withFd(b, P(file), parseFlags(o.flag, 'r'), 0o666, async (f) => readAll(b, f, sizeHint(await b.fstat(f), f), null));
      return decode(buf, o.encoding);
    } catch (e) {
      throw isDirRead(e);
    }
  };

  const writeOrAppend = async (file: PathLike | FileHandle, data: FsData, options: WriteFileOptions | FsEncoding | null | undefined, defaultFlag: string): Promise<void> => {
    const o = optionsOf(options);
    const bytes = dataBytes(data, o.encoding);
    if (file instanceof FileHandle) {
      await writeAll(b, file.fd, bytes, null);
      return;
    }
    const given = fdArg(file);
    if (given !== undefined) {
      await writeAll(b, given, bytes, null);
      return;
    }
    const bits = parseFlags(o.flag, defaultFlag);
    await withFd(b, P(file), bits, parseMode(o.mode, 0o666), async (fd) => {
      await writeAll(b, fd, bytes, appending(bits) ? null : 0);
      if (o.flush === true) await b.fsync(fd);
    });
  };

  const readdir = async (p: PathLike, options?: ReaddirOptions | FsEncoding | null): Promise<ReaddirResult> => {
    const o = optionsOf(options);
    const root = P(p);
    if (o.recursive !== true) {
      const names = await b.readdir(root);
      if (o.withFileTypes === true) return Promise.all(names.map(async (n) => new Dirent(encodeName(n, o.encoding), root, (await b.lstat(joinPath(root, n))).mode)));
      return encodeNames(names, o.encoding);
    }
    const names: string[] = [];
    const dirents: Dirent[] = [];
    const queue: [string, string][] = [[root, '']];
    // A for-of over an array also visits what is pushed while it runs.
    for (const [dir, rel] of queue) {
      const entries = await b.readdir(dir);
      const modes = await Promise.all(entries.map(async (n) => (await b.lstat(joinPath(dir, n))).mode));
      entries.forEach((n, k) => {
        const mode = modes[k] ?? 0;
        if (o.withFileTypes === true) dirents.push(new Dirent(encodeName(n, o.encoding), dir, mode));
        else names.push(rel === '' ? n : `${rel}/${n}`);
        if ((mode & 0o170000) === 0o040000) queue.push([joinPath(dir, n), rel === '' ? n : `${rel}/${n}`]);
      });
    }
    return o.withFileTypes === true ? dirents : encodeNames(names, o.encoding);
  };

  const mkdirp = async (given: string, mode: number): Promise<string | undefined> => {
    const path = P(given);
    try {
      await b.mkdir(path, mode);
      return given;
    } catch (e) {
      if (isCode(e, 'EEXIST')) {
        if ((await b.stat(path)).isDirectory()) return undefined;
        throw e;
      }
      if (!isCode(e, 'ENOENT')) throw e;
      const parent = parentOf(given);
      if (parent === given) throw e;
      const first = await mkdirp(parent, mode);
      try {
        await b.mkdir(path, mode);
      } catch (e2) {
        if (!(isCode(e2, 'EEXIST') && (await b.stat(path)).isDirectory())) throw e2;
      }
      return first ?? given;
    }
  };

  const removeTree = async (path: string): Promise<void> => {
    for (const n of await b.readdir(path)) {
      const child = joinPath(path, n);
      if ((await b.lstat(child)).isDirectory()) await removeTree(child);
      else await b.unlink(child);
    }
    await b.rmdir(path);
  };

  const realpath = async (p: PathLike, options?: EncodingOptions | FsEncoding | null): Promise<string | Buffer> => {
    const r = new RealpathWalk(ctx.absolute(p));
    for (let step = r.next(); step !== undefined; step = r.next()) {
      const st = await b.lstat(step);
      if (st.isSymbolicLink()) r.follow(await b.readlink(step));
      else r.accept(st.isDirectory());
    }
    return encodeName(r.result(), optionsOf(options).encoding);
  };

  const api = {
    async open(p: PathLike, flags?: FsOpenFlags, mode?: FsMode): Promise<FileHandle> {
      return new FileHandle(b, await b.open(P(p), parseFlags(flags, 'r'), parseMode(mode, 0o666)));
    },
    readFile,
    writeFile(file: PathLike | FileHandle, data: FsData, options?: WriteFileOptions | FsEncoding | null): Promise<void> {
      return writeOrAppend(file, data, options, 'w');
    },
    appendFile(file: PathLike | FileHandle, data: FsData, options?: WriteFileOptions | FsEncoding | null): Promise<void> {
      return writeOrAppend(file, data, options, 'a');
    },
    readdir,
    async mkdir(p: PathLike, options?: MkdirOptions | FsMode | null): Promise<string | undefined> {
      const o = mkdirOptions(options);
      if (o.recursive) return mkdirp(pathString(p), o.mode);
      await b.mkdir(P(p), o.mode);
      return undefined;
    },
    async mkdtemp(prefix: string, options?: EncodingOptions | FsEncoding | null): Promise<string | Buffer> {
      const given = pathString(prefix, 'prefix');
      for (let attempt = 0; ; attempt++) {
        const candidate = given + tempSuffix();
        try {
          await b.mkdir(P(candidate), 0o700);
          return encodeName(candidate, optionsOf(options).encoding);
        } catch (e) {
          if (!isCode(e, 'EEXIST') || attempt >= 100) throw e;
        }
      }
    },
    async rm(p: PathLike, options?: RmOptions): Promise<void> {
      const path = P(p);
      let st: FileStat;
      try {
        st = await b.lstat(path);
      } catch (e) {
        if (options?.force === true && isCode(e, 'ENOENT')) return;
        throw reframe(e, 'rm', path);
      }
      if (st.isDirectory()) {
        if (options?.recursive !== true) throw rmIsDirectory(path);
        await removeTree(path);
      } else {
        await b.unlink(path);
      }
    },
    async rmdir(p: PathLike, options?: RmdirOptions): Promise<void> {
      if (options?.recursive === true) await removeTree(P(p));
      else await b.rmdir(P(p));
    },
    async unlink(p: PathLike): Promise<void> {
      await b.unlink(P(p));
    },
    async rename(oldPath: PathLike, newPath: PathLike): Promise<void> {
      await b.rename(P(oldPath, 'oldPath'), P(newPath, 'newPath'));
    },
    async stat(p: PathLike, options?: StatOptions): Promise<Stats> {
      checkStatOptions(options);
      return new Stats(await b.stat(P(p)));
    },
    async lstat(p: PathLike, options?: StatOptions): Promise<Stats> {
      checkStatOptions(options);
      return new Stats(await b.lstat(P(p)));
    },
    async access(p: PathLike, mode: number = F_OK): Promise<void> {
      const path = P(p);
      let st: FileStat;
      try {
        st = await b.stat(path);
      } catch (e) {
        throw reframe(e, 'access', path);
      }
      if (!accessAllowed(st, mode, ctx.credentials())) throw fsError('EACCES', 'access', path);
    },
    async copyFile(src: PathLike, dest: PathLike, mode = 0): Promise<void> {
      const from = P(src, 'src');
      const to = P(dest, 'dest');
      if ((mode & COPYFILE_FICLONE_FORCE) !== 0) throw fsError('ENOTSUP', 'copyfile', from, 'the backend cannot clone files', to);
      let sfd: number;
      try {
        sfd = await b.open(from, O.RDONLY);
      } catch (e) {
        throw reframe(e, 'copyfile', from, to);
      }
      try {
        const st = await b.fstat(sfd);
        if (st.isDirectory()) throw fsError('EISDIR', 'copyfile', from, undefined, to);
        let dfd: number;
        try {
          dfd = await b.open(to, O.WRONLY | O.CREAT | O.TRUNC | ((mode & COPYFILE_EXCL) !== 0 ? O.EXCL : 0), st.mode & 0o7777);
        } catch (e) {
          throw reframe(e, 'copyfile', from, to);
        }
        try {
          const buf = Buffer.allocUnsafe(CHUNK);
          let pos = 0;
          for (;;) {
            const n = await b.read(sfd, buf, 0, CHUNK, pos);
            if (n === 0) break;
            await writeAll(b, dfd, buf.subarray(0, n), pos);
            pos += n;
          }
          await b.fchmod(dfd, st.mode & 0o7777);
        } catch (e) {
          await closeQuietly(b, dfd);
          throw e;
        }
        await b.close(dfd);
      } finally {
        await closeQuietly(b, sfd);
      }
    },
    realpath,
    async readlink(p: PathLike, options?: EncodingOptions | FsEncoding | null): Promise<string | Buffer> {
      return encodeName(await b.readlink(P(p)), optionsOf(options).encoding);
    },
    async symlink(target: PathLike, p: PathLike): Promise<void> {
      await b.symlink(pathString(target, 'target'), P(p));
    },
    async link(existingPath: PathLike, newPath: PathLike): Promise<void> {
      await b.link(P(existingPath, 'existingPath'), P(newPath, 'newPath'));
    },
    async chmod(p: PathLike, mode: FsMode): Promise<void> {
      await b.chmod(P(p), parseMode(mode, 0));
    },
    async chown(p: PathLike, uid: number, gid: number): Promise<void> {
      await withFd(b, P(p), O.RDONLY, 0, (fd) => b.fchown(fd, uid, gid));
    },
    async truncate(p: PathLike, len?: number | null): Promise<void> {
      await withFd(b, P(p), O.RDWR, 0, (fd) => b.ftruncate(fd, len ?? 0));
    },
    async utimes(p: PathLike, atime: FsTime, mtime: FsTime): Promise<void> {
      await b.utimes(P(p), toTime(atime, 'atime'), toTime(mtime, 'mtime'));
    },
    constants,
  };
  return api as unknown as FsPromises;
}
