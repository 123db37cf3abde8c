/**
 * `createFs(backend)`: a node:fs-compatible object over any {@link Backend} — the functions memfs users
 * rely on, in synchronous, callback and `promises` forms, plus read and write streams. Code written
 * against node:fs runs unchanged on the in-memory backend, on a fault-injecting wrapper, or on the OS.
 *
 * @module
 */
import { constants as fsConstants } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import { F_OK, R_OK, W_OK, X_OK, makeContext, optionsOf, pathString, type CreateFsOptions, type FsEncoding, type PathLike } from './context.js';
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
export interface FsFacade extends FsSync, FsCallbacks {
  /** The backend every call goes to. */
  readonly backend: Backend;
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
}

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
 * - **Descriptors** are the backend's own numbers: `openSync` returns what `backend.openSync` returns,
 *   and every fd function hands the number straight back to the backend. (So on the OS backend they
 *   are real OS descriptors, usable with node:fs too.)
 * - **Errors** are the backend's {@link FsError}s: `code`, `errno`, `syscall`, `path` (and `dest`), as
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
    promises,
    constants: fsConstants,
    F_OK,
    R_OK,
    W_OK,
    X_OK,
    createReadStream(path: PathLike | null, options?: ReadStreamOptions | FsEncoding): ReadStream {
      if (path !== null) pathString(path);
      return new ReadStream(backend, streamPath(path), streamOptions(options));
    },
    createWriteStream(path: PathLike | null, options?: WriteStreamOptions | FsEncoding): WriteStream {
      if (path !== null) pathString(path);
      return new WriteStream(backend, streamPath(path), streamOptions(options));
    },
    Stats,
    Dirent,
    ReadStream,
    WriteStream,
    FileHandle,
  };
}

export type { CreateFsOptions };
