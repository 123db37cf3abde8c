/**
 * `createFs(backend)`: a node:fs-compatible object over any {@link Backend} — the functions memfs users
 * rely on, in synchronous, callback and `promises` forms, plus read and write streams. Code written
 * against node:fs runs unchanged on the in-memory backend, on a fault-injecting wrapper, or on the OS.
 *
 * @module
 */
import { constants as fsConstants } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import type { FileTable } from '../table/file-table.js';
import {
  F_OK,
  R_OK,
  W_OK,
  X_OK,
  makeContext,
  optionsOf,
  pathString,
  type CreateFsOptions,
  type FsEncoding,
  type PathLike,
} from './context.js';
import { Dirent, Stats } from './stats.js';
import { syncApi } from './sync.js';
import { FileHandle, promisesApi, type FsPromises } from './promises.js';
import { callbackApi } from './callbacks.js';
import { ReadStream, WriteStream } from './streams.js';
import type { FsCallbacks, FsSync, ReadStreamOptions, WriteStreamOptions } from './types.js';

/**
 * The object {@link createFs} returns: node:fs's synchronous and callback functions, `promises`,
 * streams, `constants` and the classes, all over one backend.
 */
export type FsFacade = FsSync &
  FsCallbacks & {
    /** The backend every call goes to. */
    readonly backend: Backend;
    /** The descriptor table the facade's open files live in (its numbers are the ones `openSync` returns). */
    readonly table: FileTable;
    /** node:fs/promises over the same backend. */
    readonly promises: FsPromises;
    /** `fs.constants` (open flags, modes, `COPYFILE_EXCL`, `F_OK`…). */
    readonly constants: typeof fsConstants;
    /** `access` mode: the file exists. */
    readonly F_OK: number;
    /** `access` mode: readable. */
    readonly R_OK: number;
    /** `access` mode: writable. */
    readonly W_OK: number;
    /** `access` mode: executable (or searchable). */
    readonly X_OK: number;
    /** A readable stream of a file (or, with `fd`, of an open descriptor; pass `null` as the path). */
    createReadStream: (path: PathLike | null, options?: ReadStreamOptions | FsEncoding) => ReadStream;
    /** A writable stream into a file (or, with `fd`, into an open descriptor; pass `null` as the path). */
    createWriteStream: (path: PathLike | null, options?: WriteStreamOptions | FsEncoding) => WriteStream;
    /** The class of the facade's stat results. */
    readonly Stats: typeof Stats;
    /** The class of the facade's directory entries. */
    readonly Dirent: typeof Dirent;
    /** The class of the facade's read streams. */
    readonly ReadStream: typeof ReadStream;
    /** The class of the facade's write streams. */
    readonly WriteStream: typeof WriteStream;
    /** The class of `promises.open()`'s results. */
    readonly FileHandle: typeof FileHandle;
  };

/**
 * A node:fs-compatible object over `backend`.
 *
 * ```ts
 * const fs = createFs(new MemoryBackend());
 * fs.mkdirSync('/app/config', { recursive: true });
 * fs.writeFileSync('/app/config/a.json', '{"x":1}');
 * const text = await fs.promises.readFile('/app/config/a.json', 'utf8');
 * ```
 *
 * - **Descriptors** live in a {@link FileTable} (`options.table`; by default the process table for the
 *   OS backend, a table of the facade's own for any other): `openSync` returns the table's number
 *   (the backend's own number, so on the OS backend a real OS descriptor), a FileHandle and a stream
 *   hold the table's Descriptor, and every fd function goes through the table. A number not opened in
 *   the table is EBADF (adopt it first: `fs.table.adopt(fd)`).
 * - **EMFILE:** the promise and callback forms (and streams) wait in the table's budget queue when it is
 *   full, and retry when the backend refuses with EMFILE, instead of failing; the synchronous forms
 *   cannot wait and fail at once with an EMFILE that names the top open sites.
 * - **Close during I/O:** a FileHandle's `close()` waits for the operations already started on it (as
 *   Node's does), and a closed number's backend descriptor stays open until the calls in flight on it
 *   finish, so no call ever lands on a number the kernel has meanwhile given to another open.
 * - **Errors** are the backend's `FsError`s (exported by `fdkeeper`): `code`, `errno`, `syscall`, `path` (and `dest`), as
 *   node:fs gives them. A few multi-step calls report as node:fs does (`copyfile 'a' -> 'b'`,
 *   `access`, `ERR_FS_EISDIR` from `rm` on a directory without `recursive`). Bad argument types are
 *   TypeErrors with node's `ERR_INVALID_ARG_*` codes.
 * - **Relative paths** resolve against `options.cwd`; by default, against `'/'` for every backend but
 *   the OS one (which leaves them to the OS, i.e. `process.cwd()`).
 * - Everything is built from Backend calls: `readFile` is open + fstat + reads + close, `mkdir` with
 *   `recursive` walks up with mkdir/stat, `rm` with `recursive` walks down with readdir/lstat,
 *   `realpath` resolves symlinks one component at a time with lstat/readlink, `access` judges the
 *   mode bits for this process's uid/gid (root may read and write anything). `chown` and `truncate` of
 *   a path open the file (read-only / read-write) and use the descriptor call.
 * - Not provided: watchers, `opendir`, `readv`/`writev`, `cp`, `futimes`/`lutimes`/`lchown`, BigInt
 *   stats, AbortSignals.
 */
export function createFs(backend: Backend, options: CreateFsOptions = {}): FsFacade {
  const ctx = makeContext(backend, options);
  const promises = promisesApi(ctx, fsConstants);
  const streamPath = (path: PathLike | null): string | undefined => (path === null ? undefined : ctx.path(path));
  const streamOptions = <T extends object>(o: T | FsEncoding | undefined): T => optionsOf(o) as T;
  return {
    ...callbackApi(ctx, promises),
    ...syncApi(ctx),
    backend,
    table: ctx.table,
    promises,
    constants: fsConstants,
    F_OK,
    R_OK,
    W_OK,
    X_OK,
    createReadStream(path: PathLike | null, options?: ReadStreamOptions | FsEncoding): ReadStream {
      if (path !== null) pathString(path);
      return new ReadStream(ctx.table, streamPath(path), streamOptions(options));
    },
    createWriteStream(path: PathLike | null, options?: WriteStreamOptions | FsEncoding): WriteStream {
      if (path !== null) pathString(path);
      return new WriteStream(ctx.table, streamPath(path), streamOptions(options));
    },
    Stats,
    Dirent,
    ReadStream,
    WriteStream,
    FileHandle,
  };
}

export type { CreateFsOptions };
