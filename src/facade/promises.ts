/**
 * The `promises` half of the node:fs facade, and its `FileHandle`. Every open file is a
 * {@link Descriptor} of the facade's {@link FileTable}: opens wait in the table's budget queue (and retry
 * an EMFILE) instead of failing, multi-step calls run the protocols of operations.ts with `runAsync`,
 * and a FileHandle closes only after the operations already started on it have finished.
 *
 * @module
 */
import { runAsync } from '../protocol/run.js';
import type { Descriptor } from '../table/descriptor.js';
import {
  fsError,
  parseFlags,
  parseMode,
  pathString,
  type FacadeContext,
  type FsData,
  type FsEncoding,
  type PathLike,
} from './context.js';
import { checkStatOptions, toTime, writeArgs, transferArgs } from './arguments.js';
import * as op from './operations.js';
import { Dirent, Stats } from './stats.js';
import { ReadStream, WriteStream } from './streams.js';
import type {
  EncodingOptions,
  FsMode,
  FsOpenFlags,
  FsTime,
  MkdirOptions,
  ReadFileOptions,
  ReadPositionOptions,
  ReadStreamOptions,
  ReaddirOptions,
  ReaddirResult,
  RmOptions,
  RmdirOptions,
  StatOptions,
  WriteFileOptions,
  WriteStreamOptions,
} from './types.js';

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
 * An open file of the facade's `promises.open()`, shaped like node:fs's `FileHandle`. It holds a
 * {@link Descriptor} of the facade's table; its `fd` is that descriptor's number (-1 once closed).
 *
 * As Node's own FileHandle does, it counts the operations in flight on it: `close()` stops new ones at
 * once (they reject with EBADF) and closes the descriptor only after the ones already started have
 * finished. So a `readFile()` that is still reading when the handle is closed keeps reading *this*
 * file, never one that was opened meanwhile and given the same number. Supports `await using`.
 */
export class FileHandle {
  private readonly ctx: FacadeContext;
  private readonly file: Descriptor;
  private current: number;
  private inflight = 0;
  private idle: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  /** @internal Use the facade's `promises.open()`. */
  constructor(ctx: FacadeContext, file: Descriptor) {
    this.ctx = ctx;
    this.file = file;
    this.current = file.number;
  }

  /** The descriptor number in the facade's table; -1 once closed. */
  get fd(): number {
    return this.current;
  }

  /** Runs one operation on the descriptor, counted as in flight; EBADF once a close has begun. */
  private async op<T>(syscall: string, run: (d: Descriptor) => Promise<T>): Promise<T> {
    if (this.closing !== undefined) throw fsError('EBADF', syscall, this.file.path, 'the FileHandle is closed');
    this.inflight++;
    try {
      return await run(this.file);
    } finally {
      if (--this.inflight === 0) this.idle?.();
    }
  }

  /**
   * Reads into `buffer` (default: a new 16 KiB Buffer) at `position` (default: the current offset).
   * Also takes `(options)` or `(buffer, options)` with `{ buffer?, offset, length, position }`.
   */
  read<B extends NodeJS.ArrayBufferView>(
    buffer: B,
    offset?: number | null,
    length?: number | null,
    position?: number | bigint | null,
  ): Promise<FileReadResult<B>>;
  read<B extends NodeJS.ArrayBufferView>(buffer: B, options: ReadPositionOptions): Promise<FileReadResult<B>>;
  read(options?: ReadPositionOptions): Promise<FileReadResult<Buffer>>;
  read<B extends NodeJS.ArrayBufferView>(options: ReadPositionOptions & { buffer: B }): Promise<FileReadResult<B>>;
  read(
    buffer?: NodeJS.ArrayBufferView | (ReadPositionOptions & { buffer?: NodeJS.ArrayBufferView }),
    offset?: number | ReadPositionOptions | null,
    length?: number | null,
    position?: number | bigint | null,
  ): Promise<FileReadResult<NodeJS.ArrayBufferView>> {
    return this.op('read', async (d) => {
      let buf: NodeJS.ArrayBufferView;
      let off: number | ReadPositionOptions | null | undefined = offset;
      if (buffer === undefined || !ArrayBuffer.isView(buffer)) {
        buf = buffer?.buffer ?? Buffer.alloc(16384);
        off = buffer;
      } else {
        buf = buffer;
      }
      const a = transferArgs(buf, off, length, position);
      const bytesRead = a.length === 0 ? 0 : await d.read(a.bytes, a.offset, a.length, a.position);
      return { bytesRead, buffer: buf };
    });
  }

  /** Writes a buffer (`offset`, `length`, `position`) or a string (`position`, `encoding`). */
  write<B extends NodeJS.ArrayBufferView | string>(
    data: B,
    a1?: number | ReadPositionOptions | null,
    a2?: number | BufferEncoding | null,
    a3?: number | null,
  ): Promise<FileWriteResult<B>> {
    return this.op('write', async (d) => {
      const a = writeArgs(data, a1, a2, a3);
      return { bytesWritten: await d.write(a.bytes, a.offset, a.length, a.position), buffer: data };
    });
  }

  /** The rest of the file from the current offset; a string with an encoding. */
  readFile(options: { encoding: BufferEncoding } | BufferEncoding): Promise<string>;
  readFile(options?: { encoding?: null } | null): Promise<Buffer>;
  readFile(options?: ReadFileOptions | FsEncoding | null): Promise<string | Buffer>;
  readFile(options?: ReadFileOptions | FsEncoding | null): Promise<string | Buffer> {
    return this.op('read', (d) => runAsync(op.readFile(this.ctx, d, options)));
  }

  /** Writes `data` at the current offset (all of it, looping over short writes). */
  writeFile(data: FsData, options?: WriteFileOptions | FsEncoding | null): Promise<void> {
    return this.op('write', (d) => runAsync(op.writeFile(this.ctx, d, data, options, 'w')));
  }

  /** The same as {@link FileHandle.writeFile} (the handle's flags decide whether writes append). */
  appendFile(data: FsData, options?: WriteFileOptions | FsEncoding | null): Promise<void> {
    return this.writeFile(data, options);
  }

  /** fstat(2). */
  stat(options?: StatOptions): Promise<Stats> {
    return this.op('fstat', async (d) => {
      checkStatOptions(options);
      return new Stats(await d.stat());
    });
  }

  /** ftruncate(2) (default length 0). */
  truncate(len?: number | null): Promise<void> {
    return this.op('ftruncate', (d) => d.truncate(len ?? 0));
  }

  /** fsync(2). */
  sync(): Promise<void> {
    return this.op('fsync', (d) => d.sync());
  }

  /** fdatasync(2). */
  datasync(): Promise<void> {
    return this.op('fdatasync', (d) => d.datasync());
  }

  /** fchmod(2). */
  chmod(mode: FsMode): Promise<void> {
    return this.op('fchmod', (d) => runAsync(op.fchmodOf(d, mode)));
  }

  /** fchown(2). */
  chown(uid: number, gid: number): Promise<void> {
    return this.op('fchown', (d) => runAsync(op.fchownOf(d, uid, gid)));
  }

  /** The descriptor, for a stream; EBADF once a close has begun. */
  private streamFile(syscall: string): Descriptor {
    if (this.closing !== undefined) throw fsError('EBADF', syscall, this.file.path, 'the FileHandle is closed');
    return this.file;
  }

  /** A read stream over this handle (it does not close the handle unless `autoClose` is set). */
  createReadStream(options: Omit<ReadStreamOptions, 'fd'> = {}): ReadStream {
    return new ReadStream(this.ctx.table, undefined, { autoClose: false, ...options }, this.streamFile('read'));
  }

  /** A write stream over this handle (it does not close the handle unless `autoClose` is set). */
  createWriteStream(options: Omit<WriteStreamOptions, 'fd'> = {}): WriteStream {
    return new WriteStream(this.ctx.table, undefined, { autoClose: false, ...options }, this.streamFile('write'));
  }

  /**
   * Closes the handle: new operations reject with EBADF at once; the descriptor is closed when the
   * operations already in flight have finished. Closing again resolves when the first close does.
   */
  close(): Promise<void> {
    this.closing ??= this.closeWhenIdle();
    return this.closing;
  }

  private async closeWhenIdle(): Promise<void> {
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
      });
    }
    this.current = -1;
    await this.file.close();
  }

  /** `await using` support: closes the handle. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// ================================================================ the promise API

/**
 * The `promises` object of the facade: node:fs/promises over a backend. (A type alias, not an
 * interface, so that it fits option types with an index signature, such as glob's `fs.promises`.)
 */
export type FsPromises = {
  /** Opens a file and returns a {@link FileHandle}. */
  open: (path: PathLike, flags?: FsOpenFlags, mode?: FsMode) => Promise<FileHandle>;
  /** The whole content of a file (or a FileHandle, from its current offset). */
  readFile: {
    (path: PathLike | FileHandle, options?: { encoding?: null; flag?: FsOpenFlags } | null): Promise<Buffer>;
    (
      path: PathLike | FileHandle,
      options: { encoding: BufferEncoding; flag?: FsOpenFlags } | BufferEncoding,
    ): Promise<string>;
    (path: PathLike | FileHandle, options?: ReadFileOptions | FsEncoding | null): Promise<string | Buffer>;
  };
  /** Replaces a file's content (creating it). */
  writeFile: (
    file: PathLike | FileHandle,
    data: FsData,
    options?: WriteFileOptions | FsEncoding | null,
  ) => Promise<void>;
  /** Appends to a file (creating it). */
  appendFile: (
    file: PathLike | FileHandle,
    data: FsData,
    options?: WriteFileOptions | FsEncoding | null,
  ) => Promise<void>;
  /** A directory's entries: names, Buffers or {@link Dirent}s. */
  readdir: {
    (path: PathLike, options: ReaddirOptions & { withFileTypes: true }): Promise<Dirent[]>;
    (
      path: PathLike,
      options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer',
    ): Promise<Buffer[]>;
    (
      path: PathLike,
      options?:
        { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null,
    ): Promise<string[]>;
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
};

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

  function readFile(
    file: PathLike | FileHandle,
    options?: { encoding?: null; flag?: FsOpenFlags } | null,
  ): Promise<Buffer>;
  function readFile(
    file: PathLike | FileHandle,
    options: { encoding: BufferEncoding; flag?: FsOpenFlags } | BufferEncoding,
  ): Promise<string>;
  function readFile(
    file: PathLike | FileHandle,
    options?: ReadFileOptions | FsEncoding | null,
  ): Promise<string | Buffer>;
  async function readFile(
    file: PathLike | FileHandle | number,
    options?: ReadFileOptions | FsEncoding | null,
  ): Promise<string | Buffer> {
    if (file instanceof FileHandle) return file.readFile(options);
    return runAsync(op.readFile(ctx, op.fileOf(ctx.table, file, 'read'), options));
  }

  const writeOrAppend = async (
    file: PathLike | FileHandle | number,
    data: FsData,
    options: WriteFileOptions | FsEncoding | null | undefined,
    flag: 'w' | 'a',
  ): Promise<void> => {
    if (file instanceof FileHandle) await file.writeFile(data, options);
    else await runAsync(op.writeFile(ctx, op.fileOf(ctx.table, file, 'write'), data, options, flag));
  };

  function readdir(p: PathLike, options: ReaddirOptions & { withFileTypes: true }): Promise<Dirent[]>;
  function readdir(
    p: PathLike,
    options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer',
  ): Promise<Buffer[]>;
  function readdir(
    p: PathLike,
    options?: { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null,
  ): Promise<string[]>;
  function readdir(p: PathLike, options?: ReaddirOptions | FsEncoding | null): Promise<ReaddirResult>;
  async function readdir(p: PathLike, options?: ReaddirOptions | FsEncoding | null): Promise<ReaddirResult> {
    return runAsync(op.readdir(ctx, p, options));
  }

  function mkdtemp(prefix: string, options: { encoding: 'buffer' } | 'buffer'): Promise<Buffer>;
  function mkdtemp(
    prefix: string,
    options?: { encoding?: BufferEncoding | null } | BufferEncoding | null,
  ): Promise<string>;
  async function mkdtemp(prefix: string, options?: EncodingOptions | FsEncoding | null): Promise<string | Buffer> {
    return runAsync(op.mkdtemp(ctx, prefix, options));
  }

  function readlink(p: PathLike, options: { encoding: 'buffer' } | 'buffer'): Promise<Buffer>;
  function readlink(
    p: PathLike,
    options?: { encoding?: BufferEncoding | null } | BufferEncoding | null,
  ): Promise<string>;
  async function readlink(p: PathLike, options?: EncodingOptions | FsEncoding | null): Promise<string | Buffer> {
    return runAsync(op.readlink(ctx, p, options));
  }

  function realpath(p: PathLike, options: { encoding: 'buffer' } | 'buffer'): Promise<Buffer>;
  function realpath(
    p: PathLike,
    options?: { encoding?: BufferEncoding | null } | BufferEncoding | null,
  ): Promise<string>;
  async function realpath(p: PathLike, options?: EncodingOptions | FsEncoding | null): Promise<string | Buffer> {
    return runAsync(op.realpath(ctx, p, options));
  }

  const stat = async (p: PathLike, options: StatOptions | undefined, link: boolean): Promise<Stats> => {
    checkStatOptions(options);
    const path = P(p);
    return new Stats(await (link ? b.lstat(path) : b.stat(path)));
  };

  return {
    open: async (p: PathLike, flags?: FsOpenFlags, mode?: FsMode): Promise<FileHandle> =>
      new FileHandle(ctx, await ctx.table.openDescriptor(P(p), parseFlags(flags, 'r'), parseMode(mode, 0o666))),
    readFile,
    writeFile: (
      file: PathLike | FileHandle,
      data: FsData,
      options?: WriteFileOptions | FsEncoding | null,
    ): Promise<void> => writeOrAppend(file, data, options, 'w'),
    appendFile: (
      file: PathLike | FileHandle,
      data: FsData,
      options?: WriteFileOptions | FsEncoding | null,
    ): Promise<void> => writeOrAppend(file, data, options, 'a'),
    readdir,
    mkdir: async (p: PathLike, options?: MkdirOptions | FsMode | null): Promise<string | undefined> =>
      runAsync(op.mkdir(ctx, p, options)),
    mkdtemp,
    rm: async (p: PathLike, options?: RmOptions): Promise<void> => runAsync(op.rm(ctx, p, options)),
    rmdir: async (p: PathLike, options?: RmdirOptions): Promise<void> => runAsync(op.rmdir(ctx, p, options)),
    unlink: async (p: PathLike): Promise<void> => b.unlink(P(p)),
    rename: async (oldPath: PathLike, newPath: PathLike): Promise<void> =>
      b.rename(P(oldPath, 'oldPath'), P(newPath, 'newPath')),
    stat: (p: PathLike, options?: StatOptions): Promise<Stats> => stat(p, options, false),
    lstat: (p: PathLike, options?: StatOptions): Promise<Stats> => stat(p, options, true),
    access: async (p: PathLike, mode?: number): Promise<void> => runAsync(op.access(ctx, p, mode)),
    copyFile: async (src: PathLike, dest: PathLike, mode = 0): Promise<void> =>
      runAsync(op.copyFile(ctx, src, dest, mode)),
    realpath,
    readlink,
    symlink: async (target: PathLike, p: PathLike): Promise<void> => b.symlink(pathString(target, 'target'), P(p)),
    link: async (existingPath: PathLike, newPath: PathLike): Promise<void> =>
      b.link(P(existingPath, 'existingPath'), P(newPath, 'newPath')),
    chmod: async (p: PathLike, mode: FsMode): Promise<void> => b.chmod(P(p), parseMode(mode, 0)),
    chown: async (p: PathLike, uid: number, gid: number): Promise<void> => runAsync(op.chownPath(ctx, p, uid, gid)),
    truncate: async (p: PathLike, len?: number | null): Promise<void> => runAsync(op.truncatePath(ctx, p, len)),
    utimes: async (p: PathLike, atime: FsTime, mtime: FsTime): Promise<void> =>
      b.utimes(P(p), toTime(atime, 'atime'), toTime(mtime, 'mtime')),
    constants,
  };
}
