/**
 * The option types and the synchronous and callback surfaces of the node:fs facade ({@link createFs}).
 *
 * @module
 */
import type { Dirent, Stats } from './stats.js';
import type { FsData, FsEncoding, PathLike } from './context.js';

/** Open flags as node:fs takes them: `'r'`, `'w+'`, `'ax'`… or `O_*` bits. */
export type FsOpenFlags = string | number;
/** A file mode: a number, or an octal string such as `'644'`. */
export type FsMode = number | string;
/** A time as `utimes` takes it: a Date, seconds since the epoch, or a numeric string. */
export type FsTime = Date | number | string;

/** Options of `readFile`. */
export interface ReadFileOptions {
  /** Decode the content with this encoding (default: return a Buffer). */
  encoding?: FsEncoding | null;
  /** Open flags (default `'r'`). */
  flag?: FsOpenFlags;
}

/** Options of `writeFile` and `appendFile`. */
export interface WriteFileOptions {
  /** Encoding of string data (default `'utf8'`). */
  encoding?: FsEncoding | null;
  /** Mode of a file the call creates (default `0o666`, before the umask). */
  mode?: FsMode;
  /** Open flags (default `'w'`; `'a'` for appendFile). */
  flag?: FsOpenFlags;
  /** fsync the file before closing it. */
  flush?: boolean;
}

/** Options of `mkdir`. */
export interface MkdirOptions {
  /** Create missing parents too, and do not fail if the directory exists. */
  recursive?: boolean;
  /** Mode of the directories created (default `0o777`, before the umask). */
  mode?: FsMode;
}

/** Options of `rm`. */
export interface RmOptions {
  /** Ignore a missing path. */
  force?: boolean;
  /** Remove directories and their contents. */
  recursive?: boolean;
  /** Accepted for compatibility; the facade does not retry. */
  maxRetries?: number;
  /** Accepted for compatibility; the facade does not retry. */
  retryDelay?: number;
}

/** Options of `rmdir`. */
export interface RmdirOptions {
  /** Deprecated in node:fs: remove the contents too (as `rm` with `recursive`). */
  recursive?: boolean;
  /** Accepted for compatibility; the facade does not retry. */
  maxRetries?: number;
  /** Accepted for compatibility; the facade does not retry. */
  retryDelay?: number;
}

/** Options of `readdir`. */
export interface ReaddirOptions {
  /** `'buffer'` for Buffer names (default UTF-8 strings). */
  encoding?: FsEncoding | null;
  /** Return {@link Dirent}s instead of names. */
  withFileTypes?: boolean;
  /** List subdirectories too (names relative to the directory listed). */
  recursive?: boolean;
}

/** Options of `stat`, `lstat` and `fstat`. */
export interface StatOptions {
  /** BigInt stats are not supported: must be absent or false. */
  bigint?: false;
  /** With false, a missing path returns `undefined` instead of throwing (`stat`/`lstat` only). */
  throwIfNoEntry?: boolean;
}

/** Options of `readSync`/`read` given as an object. */
export interface ReadPositionOptions {
  /** Where in the buffer to put the bytes (default 0). */
  offset?: number;
  /** How many bytes to read at most (default: the rest of the buffer). */
  length?: number;
  /** Where in the file to read (default: at the current offset). */
  position?: number | bigint | null;
}

/** Options of `readlink`, `realpath` and `mkdtemp`. */
export interface EncodingOptions {
  /** `'buffer'` for a Buffer result (default UTF-8 string). */
  encoding?: FsEncoding | null;
}

/** Options of `createReadStream`. */
export interface ReadStreamOptions {
  /** Open flags (default `'r'`). */
  flags?: FsOpenFlags;
  /** Decode chunks with this encoding (default: Buffers). */
  encoding?: FsEncoding | null;
  /** Read from this descriptor instead of opening the path (number or FileHandle). */
  fd?: number | { readonly fd: number } | null;
  /** Mode of a file the open creates. */
  mode?: number;
  /** Close the descriptor when the stream ends or fails (default true). */
  autoClose?: boolean;
  /** Emit `'close'` after destruction (default true). */
  emitClose?: boolean;
  /** First byte to read (default: at the current offset; 0 when `end` is given). */
  start?: number;
  /** Last byte to read, inclusive (default: to the end of the file). */
  end?: number;
  /** Bytes per read (default 64 KiB). */
  highWaterMark?: number;
}

/** Options of `createWriteStream`. */
export interface WriteStreamOptions {
  /** Open flags (default `'w'`). */
  flags?: FsOpenFlags;
  /** Default encoding of string chunks (default `'utf8'`). */
  encoding?: FsEncoding | null;
  /** Write to this descriptor instead of opening the path (number or FileHandle). */
  fd?: number | { readonly fd: number } | null;
  /** Mode of a file the open creates (default `0o666`). */
  mode?: number;
  /** Close the descriptor when the stream finishes or fails (default true). */
  autoClose?: boolean;
  /** Emit `'close'` after destruction (default true). */
  emitClose?: boolean;
  /** Where in the file to start writing (default: at the current offset, which is 0 after opening). */
  start?: number;
  /** fsync the file before closing it. */
  flush?: boolean;
  /** Buffered bytes before `write()` returns false (default 16 KiB). */
  highWaterMark?: number;
}

/** A call returning a path or name: a string, or a Buffer with `encoding: 'buffer'`. */
export interface StringResult<A extends unknown[]> {
  /** With `encoding: 'buffer'`: a Buffer. */
  (...args: [...A, options: { encoding: 'buffer' } | 'buffer']): Buffer;
  /** Otherwise a string (in the encoding asked for; default UTF-8). */
  (...args: [...A, options?: { encoding?: BufferEncoding | null } | BufferEncoding | null]): string;
}

/** A node:fs callback that gets a value. */
export type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;
/** A node:fs callback that gets only an error. */
export type NoResultCallback = (err: NodeJS.ErrnoException | null) => void;

/** `readdir`'s result for a set of options. */
export type ReaddirResult = string[] | Buffer[] | Dirent<string | Buffer>[];

/** The synchronous half of the node:fs API, over a backend. */
export type FsSync = {
  /** Whether the path exists (following symlinks); never throws. */
  existsSync: (path: PathLike) => boolean;
  /** Throws unless the path exists and this process may access it with `mode` (`F_OK`, `R_OK`, `W_OK`, `X_OK`),
   * judged from the mode bits. */
  accessSync: (path: PathLike, mode?: number) => void;
  /** Opens a file; returns the backend's descriptor number. */
  openSync: (path: PathLike, flags?: FsOpenFlags, mode?: FsMode) => number;
  /** Closes a descriptor. */
  closeSync: (fd: number) => void;
  /** Reads into `buffer`; returns the bytes read (0 at end of file). Position `null`/`-1`/absent: at the current offset. */
  readSync: {
    (
      fd: number,
      buffer: NodeJS.ArrayBufferView,
      offset: number,
      length: number,
      position?: number | bigint | null,
    ): number;
    (fd: number, buffer: NodeJS.ArrayBufferView, options?: ReadPositionOptions): number;
  };
  /** Writes a buffer (or a string, encoded); returns the bytes written. */
  writeSync: {
    (
      fd: number,
      buffer: NodeJS.ArrayBufferView,
      offset?: number | null,
      length?: number | null,
      position?: number | null,
    ): number;
    (fd: number, buffer: NodeJS.ArrayBufferView, options?: ReadPositionOptions): number;
    (fd: number, data: string, position?: number | null, encoding?: BufferEncoding | null): number;
  };
  /** The whole content of a file (a path, or a descriptor read from its current offset). */
  readFileSync: {
    (path: PathLike | number, options?: { encoding?: null; flag?: FsOpenFlags } | null): Buffer;
    (path: PathLike | number, options: { encoding: BufferEncoding; flag?: FsOpenFlags } | BufferEncoding): string;
    (path: PathLike | number, options?: ReadFileOptions | FsEncoding | null): string | Buffer;
  };
  /** Replaces a file's content (creating it), or writes to a descriptor at its current offset. */
  writeFileSync: (file: PathLike | number, data: FsData, options?: WriteFileOptions | FsEncoding | null) => void;
  /** Appends to a file (creating it). */
  appendFileSync: (file: PathLike | number, data: FsData, options?: WriteFileOptions | FsEncoding | null) => void;
  /** stat(2), following symlinks. */
  statSync: {
    (path: PathLike, options: StatOptions & { throwIfNoEntry: false }): Stats | undefined;
    (path: PathLike, options?: StatOptions): Stats;
  };
  /** lstat(2): a final symlink itself. */
  lstatSync: {
    (path: PathLike, options: StatOptions & { throwIfNoEntry: false }): Stats | undefined;
    (path: PathLike, options?: StatOptions): Stats;
  };
  /** fstat(2). */
  fstatSync: (fd: number, options?: StatOptions) => Stats;
  /** A directory's entries (without `.` and `..`): names, Buffers, or {@link Dirent}s. */
  readdirSync: {
    (path: PathLike, options: ReaddirOptions & { withFileTypes: true }): Dirent[];
    (path: PathLike, options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer'): Buffer[];
    (
      path: PathLike,
      options?:
        { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null,
    ): string[];
    (path: PathLike, options?: ReaddirOptions | FsEncoding | null): ReaddirResult;
  };
  /** Creates a directory; with `recursive`, its missing parents too, returning the first directory created (undefined if none). */
  mkdirSync: (path: PathLike, options?: MkdirOptions | FsMode | null) => string | undefined;
  /** Creates a uniquely named directory `prefix` + 6 random characters; returns its path. */
  mkdtempSync: StringResult<[prefix: string]>;
  /** Removes an empty directory. */
  rmdirSync: (path: PathLike, options?: RmdirOptions) => void;
  /** Removes a file or (with `recursive`) a directory tree; with `force`, a missing path is not an error. */
  rmSync: (path: PathLike, options?: RmOptions) => void;
  /** Removes a directory entry (not a directory). */
  unlinkSync: (path: PathLike) => void;
  /** Renames, atomically replacing the destination. */
  renameSync: (oldPath: PathLike, newPath: PathLike) => void;
  /** Copies a file's content and mode; `COPYFILE_EXCL` fails if the destination exists. */
  copyFileSync: (src: PathLike, dest: PathLike, mode?: number) => void;
  /** A new hard link. */
  linkSync: (existingPath: PathLike, newPath: PathLike) => void;
  /** A new symlink at `path` whose content is `target` (the type argument is ignored, as on POSIX). */
  symlinkSync: (target: PathLike, path: PathLike, type?: string | null) => void;
  /** A symlink's content. */
  readlinkSync: StringResult<[path: PathLike]>;
  /** The canonical absolute path: symlinks, `.` and `..` resolved. */
  realpathSync: StringResult<[path: PathLike]> & {
    /** The same (the facade has one implementation). */
    native: StringResult<[path: PathLike]>;
  };
  /** Changes permission bits. */
  chmodSync: (path: PathLike, mode: FsMode) => void;
  /** Changes permission bits of an open file. */
  fchmodSync: (fd: number, mode: FsMode) => void;
  /** Changes owner and group (opens the file read-only and fchowns it). */
  chownSync: (path: PathLike, uid: number, gid: number) => void;
  /** Changes owner and group of an open file. */
  fchownSync: (fd: number, uid: number, gid: number) => void;
  /** Sets a file's size (default 0). */
  truncateSync: (path: PathLike, len?: number | null) => void;
  /** Sets an open file's size (default 0). */
  ftruncateSync: (fd: number, len?: number | null) => void;
  /** fsync(2). */
  fsyncSync: (fd: number) => void;
  /** fdatasync(2). */
  fdatasyncSync: (fd: number) => void;
  /** Sets access and modification times (Dates, or seconds since the epoch). */
  utimesSync: (path: PathLike, atime: FsTime, mtime: FsTime) => void;
};

/** The callback half of the node:fs API, over a backend. Callbacks run asynchronously, never within the call. */
export type FsCallbacks = {
  /** Whether the path exists (the callback gets only a boolean, as in node:fs). */
  exists: (path: PathLike, callback: (exists: boolean) => void) => void;
  /** See {@link FsSync.accessSync}. */
  access: {
    (path: PathLike, callback: NoResultCallback): void;
    (path: PathLike, mode: number | undefined, callback: NoResultCallback): void;
  };
  /** See {@link FsSync.openSync}. */
  open: {
    (path: PathLike, callback: Callback<number>): void;
    (path: PathLike, flags: FsOpenFlags | undefined, callback: Callback<number>): void;
    (path: PathLike, flags: FsOpenFlags | undefined, mode: FsMode | undefined | null, callback: Callback<number>): void;
  };
  /** See {@link FsSync.closeSync}. */
  close: (fd: number, callback?: NoResultCallback) => void;
  /** See {@link FsSync.readSync}; the callback gets `(err, bytesRead, buffer)`. */
  read: {
    <B extends NodeJS.ArrayBufferView>(
      fd: number,
      buffer: B,
      offset: number,
      length: number,
      position: number | bigint | null,
      callback: (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: B) => void,
    ): void;
    <B extends NodeJS.ArrayBufferView>(
      fd: number,
      buffer: B,
      options: ReadPositionOptions,
      callback: (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: B) => void,
    ): void;
    <B extends NodeJS.ArrayBufferView>(
      fd: number,
      buffer: B,
      callback: (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: B) => void,
    ): void;
  };
  /** See {@link FsSync.writeSync}; the callback gets `(err, written, bufferOrString)`. */
  write: {
    <B extends NodeJS.ArrayBufferView>(
      fd: number,
      buffer: B,
      offset: number | undefined | null,
      length: number | undefined | null,
      position: number | undefined | null,
      callback: (err: NodeJS.ErrnoException | null, written: number, buffer: B) => void,
    ): void;
    <B extends NodeJS.ArrayBufferView>(
      fd: number,
      buffer: B,
      offset: number | undefined | null,
      length: number | undefined | null,
      callback: (err: NodeJS.ErrnoException | null, written: number, buffer: B) => void,
    ): void;
    <B extends NodeJS.ArrayBufferView>(
      fd: number,
      buffer: B,
      offset: number | undefined | null,
      callback: (err: NodeJS.ErrnoException | null, written: number, buffer: B) => void,
    ): void;
    <B extends NodeJS.ArrayBufferView>(
      fd: number,
      buffer: B,
      callback: (err: NodeJS.ErrnoException | null, written: number, buffer: B) => void,
    ): void;
    (
      fd: number,
      data: string,
      position: number | undefined | null,
      encoding: BufferEncoding | undefined | null,
      callback: (err: NodeJS.ErrnoException | null, written: number, str: string) => void,
    ): void;
    (
      fd: number,
      data: string,
      position: number | undefined | null,
      callback: (err: NodeJS.ErrnoException | null, written: number, str: string) => void,
    ): void;
    (
      fd: number,
      data: string,
      callback: (err: NodeJS.ErrnoException | null, written: number, str: string) => void,
    ): void;
  };
  /** See {@link FsSync.readFileSync}. */
  readFile: {
    (path: PathLike | number, callback: Callback<Buffer>): void;
    (
      path: PathLike | number,
      options: { encoding?: null; flag?: FsOpenFlags } | undefined | null,
      callback: Callback<Buffer>,
    ): void;
    (
      path: PathLike | number,
      options: { encoding: BufferEncoding; flag?: FsOpenFlags } | BufferEncoding,
      callback: Callback<string>,
    ): void;
    (
      path: PathLike | number,
      options: ReadFileOptions | FsEncoding | undefined | null,
      callback: Callback<string | Buffer>,
    ): void;
  };
  /** See {@link FsSync.writeFileSync}. */
  writeFile: {
    (file: PathLike | number, data: FsData, callback: NoResultCallback): void;
    (
      file: PathLike | number,
      data: FsData,
      options: WriteFileOptions | FsEncoding | undefined | null,
      callback: NoResultCallback,
    ): void;
  };
  /** See {@link FsSync.appendFileSync}. */
  appendFile: {
    (file: PathLike | number, data: FsData, callback: NoResultCallback): void;
    (
      file: PathLike | number,
      data: FsData,
      options: WriteFileOptions | FsEncoding | undefined | null,
      callback: NoResultCallback,
    ): void;
  };
  /** See {@link FsSync.statSync}. */
  stat: {
    (path: PathLike, callback: Callback<Stats>): void;
    (path: PathLike, options: StatOptions | undefined, callback: Callback<Stats>): void;
  };
  /** See {@link FsSync.lstatSync}. */
  lstat: {
    (path: PathLike, callback: Callback<Stats>): void;
    (path: PathLike, options: StatOptions | undefined, callback: Callback<Stats>): void;
  };
  /** See {@link FsSync.fstatSync}. */
  fstat: {
    (fd: number, callback: Callback<Stats>): void;
    (fd: number, options: StatOptions | undefined, callback: Callback<Stats>): void;
  };
  /** See {@link FsSync.readdirSync}. */
  readdir: {
    (path: PathLike, callback: Callback<string[]>): void;
    (path: PathLike, options: ReaddirOptions & { withFileTypes: true }, callback: Callback<Dirent[]>): void;
    (
      path: PathLike,
      options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer',
      callback: Callback<Buffer[]>,
    ): void;
    (
      path: PathLike,
      options:
        | { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean }
        | BufferEncoding
        | undefined
        | null,
      callback: Callback<string[]>,
    ): void;
    (path: PathLike, options: ReaddirOptions | FsEncoding | undefined | null, callback: Callback<ReaddirResult>): void;
  };
  /** See {@link FsSync.mkdirSync}. */
  mkdir: {
    (path: PathLike, callback: NoResultCallback): void;
    (path: PathLike, options: MkdirOptions | FsMode | undefined | null, callback: Callback<string | undefined>): void;
  };
  /** See {@link FsSync.mkdtempSync}. */
  mkdtemp: {
    (prefix: string, callback: Callback<string>): void;
    (prefix: string, options: EncodingOptions | FsEncoding | undefined | null, callback: Callback<string>): void;
  };
  /** See {@link FsSync.rmdirSync}. */
  rmdir: {
    (path: PathLike, callback: NoResultCallback): void;
    (path: PathLike, options: RmdirOptions | undefined, callback: NoResultCallback): void;
  };
  /** See {@link FsSync.rmSync}. */
  rm: {
    (path: PathLike, callback: NoResultCallback): void;
    (path: PathLike, options: RmOptions | undefined, callback: NoResultCallback): void;
  };
  /** See {@link FsSync.unlinkSync}. */
  unlink: (path: PathLike, callback: NoResultCallback) => void;
  /** See {@link FsSync.renameSync}. */
  rename: (oldPath: PathLike, newPath: PathLike, callback: NoResultCallback) => void;
  /** See {@link FsSync.copyFileSync}. */
  copyFile: {
    (src: PathLike, dest: PathLike, callback: NoResultCallback): void;
    (src: PathLike, dest: PathLike, mode: number | undefined, callback: NoResultCallback): void;
  };
  /** See {@link FsSync.linkSync}. */
  link: (existingPath: PathLike, newPath: PathLike, callback: NoResultCallback) => void;
  /** See {@link FsSync.symlinkSync}. */
  symlink: {
    (target: PathLike, path: PathLike, callback: NoResultCallback): void;
    (target: PathLike, path: PathLike, type: string | undefined | null, callback: NoResultCallback): void;
  };
  /** See {@link FsSync.readlinkSync}. */
  readlink: {
    (path: PathLike, callback: Callback<string>): void;
    (path: PathLike, options: EncodingOptions | FsEncoding | undefined | null, callback: Callback<string>): void;
  };
  /** See {@link FsSync.realpathSync}. */
  realpath: {
    (path: PathLike, callback: Callback<string>): void;
    (path: PathLike, options: EncodingOptions | FsEncoding | undefined | null, callback: Callback<string>): void;
  };
  /** See {@link FsSync.chmodSync}. */
  chmod: (path: PathLike, mode: FsMode, callback: NoResultCallback) => void;
  /** See {@link FsSync.fchmodSync}. */
  fchmod: (fd: number, mode: FsMode, callback: NoResultCallback) => void;
  /** See {@link FsSync.chownSync}. */
  chown: (path: PathLike, uid: number, gid: number, callback: NoResultCallback) => void;
  /** See {@link FsSync.fchownSync}. */
  fchown: (fd: number, uid: number, gid: number, callback: NoResultCallback) => void;
  /** See {@link FsSync.truncateSync}. */
  truncate: {
    (path: PathLike, callback: NoResultCallback): void;
    (path: PathLike, len: number | undefined | null, callback: NoResultCallback): void;
  };
  /** See {@link FsSync.ftruncateSync}. */
  ftruncate: {
    (fd: number, callback: NoResultCallback): void;
    (fd: number, len: number | undefined | null, callback: NoResultCallback): void;
  };
  /** See {@link FsSync.fsyncSync}. */
  fsync: (fd: number, callback: NoResultCallback) => void;
  /** See {@link FsSync.fdatasyncSync}. */
  fdatasync: (fd: number, callback: NoResultCallback) => void;
  /** See {@link FsSync.utimesSync}. */
  utimes: (path: PathLike, atime: FsTime, mtime: FsTime, callback: NoResultCallback) => void;
};
