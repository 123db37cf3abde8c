import { nodeOs } from '../process/builtins.js';
import type { OpenSite } from '../diagnostics/open-site.js';

/** Human descriptions for the codes fdkeeper raises itself (Node supplies its own for system errors). */
const DESCRIPTIONS: Readonly<Record<string, string>> = {
  EBADF: 'bad file descriptor',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  EINVAL: 'invalid argument',
  EISDIR: 'illegal operation on a directory',
  EMFILE: 'too many open files',
  ENFILE: 'file table overflow',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  ENOSYS: 'function not implemented',
  ENOTDIR: 'not a directory',
  ESPIPE: 'invalid seek',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'i/o error',
  EAGAIN: 'resource temporarily unavailable',
  EINTR: 'interrupted system call',
  ECANCELED: 'operation canceled',
  EILSEQ: 'illegal byte sequence',
  ELOOP: 'too many symbolic links encountered',
  EXDEV: 'cross-device link not permitted',
  ENOTEMPTY: 'directory not empty',
  ENAMETOOLONG: 'name too long',
  EPIPE: 'broken pipe',
  EFBIG: 'file too large',
  ENXIO: 'no such device or address',
  EROFS: 'read-only file system',
  EDQUOT: 'disk quota exceeded',
  ETIMEDOUT: 'operation timed out',
};

/** errno numbers by code, read at the first FsError (node:os is not loaded at import). */
const errno = (): Readonly<Record<string, number | undefined>> => nodeOs().constants.errno;

/** What an {@link FsError} is built from. Only `code` and `syscall` are required. */
export interface FsErrorInit {
  /** The POSIX error code, e.g. `'ENOENT'`, `'EBADF'`. */
  code: string;
  /** The system call or operation that failed, e.g. `'open'`, `'write'`, `'dup2'`. */
  syscall: string;
  /** The path the call was about, when it had one. */
  path?: string | undefined;
  /** The second path of a two-path call (`rename`, `link`, `symlink`). */
  dest?: string | undefined;
  /** The descriptor number the call was about, when it had one. */
  fd?: number | undefined;
  /** Extra explanation appended to the message. */
  detail?: string | undefined;
  /** Where the handle involved was opened (handle errors only). */
  openedAt?: OpenSite | undefined;
  /** Where the handle involved was closed (use-after-close errors only). */
  closedAt?: OpenSite | undefined;
  /** Bytes already written when a write failed part-way. */
  bytesWritten?: number | undefined;
  /** What became of the target of a failed replace; see {@link FsError.target}. */
  target?: TargetOutcome | undefined;
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
}

/**
 * What a failed operation that replaces or creates a file (an atomic write, a PendingFile commit,
 * createExclusive) did to its target:
 * - `'unchanged'`: the target is as it was; nothing was renamed or linked into place, and no temp file
 *   was left;
 * - `'replaced'`: the new content is in place (the rename succeeded); what failed came after it (the
 *   directory fsync), so a power loss may still bring back the old content;
 * - `'unknown'`: it cannot be told (the thread doing the write stopped part-way); read the target.
 */
export type TargetOutcome = 'unchanged' | 'replaced' | 'unknown';

/**
 * The one error type fdkeeper throws for file-system and descriptor failures.
 *
 * It has the shape of Node's own system errors (`code`, `errno`, `syscall`, `path`, `dest`), so code
 * that checks `err.code === 'ENOENT'` keeps working, and adds `fd` and, for errors about a handle,
 * where that handle was opened and closed. The message reads like Node's:
 * `EBADF: bad file descriptor, write (fd 7 '/tmp/a.log'), opened at main (/app/a.js:3:9), closed at …`.
 */
export class FsError extends Error {
  /** The POSIX error code, e.g. `'ENOENT'`. */
  readonly code: string;
  /** The negated errno number, as Node reports it (`-2` for ENOENT); 0 when the code has no errno. */
  readonly errno: number;
  /** The system call or operation that failed. */
  readonly syscall: string;
  /** The path involved, if any. */
  readonly path: string | undefined;
  /** The destination path of a two-path call, if any. */
  readonly dest: string | undefined;
  /** The descriptor number involved, if any. */
  readonly fd: number | undefined;
  /** Where the handle involved was opened, formatted as `function (file:line:column)`, if recorded. */
  readonly openedAt: string | undefined;
  /** Where the handle involved was closed, formatted like {@link FsError.openedAt}, if recorded. */
  readonly closedAt: string | undefined;
  /** Bytes written before a write failed part-way, if any were. */
  readonly bytesWritten: number | undefined;
  /** The explanation fdkeeper added to the message, if any (kept so a wrapping error can repeat it). */
  readonly detail: string | undefined;
  /**
   * For the failure of an operation that replaces or creates a file (atomic writes, PendingFile,
   * createExclusive): what became of its target, as data (see {@link TargetOutcome}); the detail says
   * the same in words. Undefined for every other error.
   */
  readonly target: TargetOutcome | undefined;

  constructor(init: FsErrorInit) {
    super(FsError.formatMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'FsError';
    this.code = init.code;
    const n = errno()[init.code];
    this.errno = n === undefined ? 0 : -n;
    this.syscall = init.syscall;
    this.path = init.path;
    this.dest = init.dest;
    this.fd = init.fd;
    this.openedAt = init.openedAt?.describe();
    this.closedAt = init.closedAt?.describe();
    this.bytesWritten = init.bytesWritten;
    this.detail = init.detail;
    this.target = init.target;
  }

  /** Builds the message: `CODE: description, syscall 'path' -> 'dest' (fd N) …`. */
  private static formatMessage(init: FsErrorInit): string {
    const description = DESCRIPTIONS[init.code] ?? systemDescription(init.cause) ?? 'error';
    let msg = `${init.code}: ${description}, ${init.syscall}`;
    if (init.path !== undefined) msg += ` '${init.path}'`;
    if (init.dest !== undefined) msg += ` -> '${init.dest}'`;
    if (init.fd !== undefined) msg += ` (fd ${init.fd})`;
    if (init.detail !== undefined) msg += `: ${init.detail}`;
    if (init.openedAt !== undefined) msg += `; opened at ${init.openedAt.describe()}`;
    if (init.closedAt !== undefined) msg += `; closed at ${init.closedAt.describe()}`;
    return msg;
  }
}

/** Node system errors carry their description as the text between `CODE: ` and the first comma. */
function systemDescription(cause: unknown): string | undefined {
  if (!(cause instanceof Error)) return undefined;
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(cause.message);
  return m?.[1];
}

/** The fields of a Node system error that fdkeeper reads. */
interface NodeSystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  dest?: unknown;
}

/**
 * Turns whatever a node:fs call threw into an {@link FsError}, adding what Node leaves out (the fd).
 * An FsError passes through unchanged; a non-system error (a TypeError from bad arguments) is rethrown
 * as it is, since it is a programming error rather than a file-system condition.
 */
export function toFsError(
  err: unknown,
  syscall: string,
  extra?: { path?: string; dest?: string; fd?: number },
): FsError {
  if (err instanceof FsError) return err;
  if (!(err instanceof Error)) throw err;
  const e = err as Error & NodeSystemError;
  if (typeof e.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code)) throw err;
  return new FsError({
    code: e.code,
    syscall: typeof e.syscall === 'string' ? e.syscall : syscall,
    path: typeof e.path === 'string' ? e.path : extra?.path,
    dest: typeof e.dest === 'string' ? e.dest : extra?.dest,
    fd: extra?.fd,
    cause: err,
  });
}

/** True when `err` is an {@link FsError} (or any Node-style error) with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as Error & { code?: unknown }).code === code;
}

/** A rejected promise carrying `e`, for promise-returning functions that fail before any I/O. */
export function rejected(e: unknown): Promise<never> {
  return Promise.reject(e instanceof Error ? e : new Error(String(e)));
}
