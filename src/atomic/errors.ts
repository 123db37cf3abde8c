/**
 * The errors atomic operations report. Every failure is an {@link FsError} naming the target (the temp
 * file's path goes in the detail), and says whether the target was changed.
 *
 * @module
 */
import { FsError } from '../errors/fs-error.js';

/** Errors this module already shaped: passed through unchanged when they travel up. */
const shaped = new WeakSet<FsError>();

function mark(e: FsError): FsError {
  shaped.add(e);
  return e;
}

/** Marks `e` as already shaped: an error rebuilt from a worker's reply that was shaped there. */
export function markShaped(e: FsError): FsError {
  return mark(e);
}

/** Whether `e` is an error this module shaped (it names the target and says what became of it). */
export function isShaped(e: unknown): boolean {
  return e instanceof FsError && shaped.has(e);
}

/** The code, syscall and detail of a system error (an FsError or a Node error), if it is one. */
function systemFields(e: unknown): { code: string; syscall: string; detail: string | undefined; bytesWritten: number | undefined } | undefined {
  if (!(e instanceof Error)) return undefined;
  const r = e as Error & { code?: unknown; syscall?: unknown; detail?: unknown; bytesWritten?: unknown };
  if (typeof r.code !== 'string' || !/^E[A-Z0-9]+$/.test(r.code)) return undefined;
  return {
    code: r.code,
    syscall: typeof r.syscall === 'string' ? r.syscall : 'write',
    detail: typeof r.detail === 'string' ? r.detail : undefined,
    bytesWritten: typeof r.bytesWritten === 'number' ? r.bytesWritten : undefined,
  };
}

function joinDetail(...parts: (string | undefined)[]): string {
  return parts.filter((p) => p !== undefined && p !== '').join('; ');
}

/**
 * `e`, a system error, re-reported for `target` with `detail` (built from the original's detail):
 * its code, syscall and progress are kept and it is marked as shaped. Anything that is not a system
 * error (a TypeError: a programming error) is returned as it is.
 */
function reshape(e: unknown, target: string, detail: (original: string | undefined) => string): unknown {
  const f = systemFields(e);
  if (f === undefined) return e;
  return mark(new FsError({ code: f.code, syscall: f.syscall, path: target, bytesWritten: f.bytesWritten, detail: detail(f.detail), cause: e }));
}

/**
 * An error that happened before the rename (the target is untouched): a system error becomes an
 * FsError with its code and syscall, `path` the target and the temp path in the detail. Errors already
 * shaped pass through; anything that is not a system error (a TypeError: a programming error) too.
 */
export function failedBeforeRename(e: unknown, target: string, temp: string | undefined, why?: string): unknown {
  if (isShaped(e)) return e;
  return reshape(e, target, (d) => joinDetail(why, d, temp === undefined ? undefined : `temp file '${temp}'`, 'the target was not changed'));
}

/**
 * A failure to take (or write) createExclusive's claim file: reported for the target, since that is what
 * the caller asked for, with the claim file in the detail. Nothing was created.
 */
export function claimFailed(e: unknown, target: string, claim: string): unknown {
  return reshape(e, target, () => joinDetail(`taking the claim '${claim}'`, 'the target was not created'));
}

/**
 * An error after the rename (the directory fsync): the new content is in place, but a power loss may
 * still bring the old content back.
 */
export function failedAfterRename(e: unknown, target: string): unknown {
  if (isShaped(e)) return e;
  return reshape(e, target, (d) => joinDetail(d, 'the new content is in place (the rename succeeded), but syncing its directory failed: a power loss may still bring back the old content'));
}

/** The write was cancelled through its AbortSignal before the rename: ECANCELED, the reason as cause. */
export function canceled(target: string, signal: AbortSignal): FsError {
  return mark(new FsError({ code: 'ECANCELED', syscall: 'write', path: target, detail: 'aborted; the target was not changed', cause: signal.reason }));
}

/** Throws {@link canceled} when `signal` has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, target: string): void {
  if (signal?.aborted === true) throw canceled(target, signal);
}

/** The data source (a stream, an iterable) failed: the write is abandoned as if aborted. */
export function sourceFailed(target: string, cause: unknown): FsError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return mark(new FsError({ code: 'ECANCELED', syscall: 'write', path: target, detail: `the data source failed (${why}); the target was not changed`, cause }));
}

/** An error of fdkeeper's own making (EBUSY, EISDIR, ELOOP, EBADF…) about `path`. */
export function atomicError(code: string, syscall: string, path: string, detail: string): FsError {
  return mark(new FsError({ code, syscall, path, detail }));
}
