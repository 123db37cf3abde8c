/**
 * What travels between the main thread and the replace workers ({@link ./worker-pool.ts},
 * {@link ./replace-worker.ts}): one job per atomic write, one reply per job, and errors as plain data
 * (an FsError does not survive structured cloning as an FsError).
 *
 * @module
 */
import { FsError, type TargetOutcome } from '../errors/fs-error.js';
import type { Durability } from './types.js';

/** One write for a worker: the whole protocol, from the lstat to the directory fsync. */
export interface Job {
  readonly id: number;
  /** The absolute target path (a symlink followed to another file is handed back, see {@link Reply}). */
  readonly path: string;
  /** The temp file's path, chosen (and registered as live) by the main thread. */
  readonly temp: string;
  /** The data: `length` bytes of `arena` from `offset`. */
  readonly arena: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
  readonly durability: Durability;
  readonly mode: number | undefined;
  readonly chown: { readonly uid: number; readonly gid: number } | false | undefined;
  readonly replaceSymlink: boolean;
  readonly untrustedSymlink: 'refuse' | 'replace';
  /**
   * Not on Linux: the main thread's umask (elsewhere it cannot be read without changing it, see
   * identity.ts). On Linux undefined: the worker reads the process's own when a new file needs it.
   */
  readonly umask: number | undefined;
  /**
   * Two Int32s, when the call has an AbortSignal or large data: [0] is set to 1 when the signal fires;
   * [1] is set to 1 once the data is in the arena, when `dataLater` (the main thread copies large data
   * after posting the job, while the worker does the lstat and the create).
   */
  readonly flags: SharedArrayBuffer | undefined;
  readonly dataLater: boolean;
}

/** Index in {@link Job.flags} of the abort flag, set to 1 when the call's AbortSignal fires. */
export const FLAG_ABORTED = 0;
/** Index in {@link Job.flags} of the data-ready flag, set to 1 once `dataLater` data is in the arena. */
export const FLAG_DATA_READY = 1;

/**
 * What became of a job: `done` (durable as asked), `aborted` (before the rename: the target untouched,
 * no temp left), `failed` (`renamed` says whether before or after the rename), or `handBack`: the main
 * thread does this one itself (a symlink to follow, a missing directory to create, a taken temp name);
 * nothing was changed and no temp file is left.
 */
export type Reply =
  | { readonly id: number; readonly outcome: 'done' | 'aborted' | 'handBack' }
  | { readonly id: number; readonly outcome: 'failed'; readonly renamed: boolean; readonly error: WireError };

/** An error as plain data. */
export interface WireError {
  readonly message: string;
  readonly fs: FsFields | undefined;
  readonly cause: WireError | undefined;
}

interface FsFields {
  readonly code: string;
  readonly syscall: string;
  readonly path: string | undefined;
  readonly dest: string | undefined;
  readonly fd: number | undefined;
  readonly bytesWritten: number | undefined;
  readonly detail: string | undefined;
  readonly target: TargetOutcome | undefined;
}

/** `e` as plain data (its FsError fields, and its causes, three deep). */
export function toWire(e: unknown, depth = 0): WireError {
  const cause = e instanceof Error && e.cause !== undefined && depth < 3 ? toWire(e.cause, depth + 1) : undefined;
  if (e instanceof FsError) {
    return {
      message: e.message,
      fs: {
        code: e.code,
        syscall: e.syscall,
        path: e.path,
        dest: e.dest,
        fd: e.fd,
        bytesWritten: e.bytesWritten,
        detail: e.detail,
        target: e.target,
      },
      cause,
    };
  }
  const r = e as { code?: unknown; syscall?: unknown } | null;
  if (e instanceof Error && typeof r?.code === 'string' && typeof r.syscall === 'string') {
    return {
      message: e.message,
      fs: {
        code: r.code,
        syscall: r.syscall,
        path: undefined,
        dest: undefined,
        fd: undefined,
        bytesWritten: undefined,
        detail: undefined,
        target: undefined,
      },
      cause,
    };
  }
  return { message: e instanceof Error ? e.message : String(e), fs: undefined, cause };
}

/** The error `w` describes: an FsError with the same fields (its target outcome too), else an Error. */
export function fromWire(w: WireError): Error {
  const cause = w.cause === undefined ? undefined : fromWire(w.cause);
  if (w.fs === undefined) return new Error(w.message, cause === undefined ? undefined : { cause });
  return new FsError({ ...w.fs, cause });
}
