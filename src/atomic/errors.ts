/**
 * The errors atomic operations report. Every failure is an {@link FsError} naming the target (the temp
 * file's path goes in the detail) whose `target` field says, as data, what became of the target
 * (`'unchanged'`, `'replaced'`, `'unknown'`); the detail says the same in words.
 *
 * @module
 */
import { FsError, type TargetOutcome } from '../errors/fs-error.js';

/**
 * Whether `e` is an error this module already shaped (it names the target and says what became of
 * it): such an error travels up unchanged.
 */
export function isShaped(e: unknown): e is FsError {
  return e instanceof FsError && e.target !== undefined;
}

/** The code, syscall and detail of a system error (an FsError or a Node error), if it is one. */
function systemFields(
  e: unknown,
): { code: string; syscall: string; detail: string | undefined; bytesWritten: number | undefined } | undefined {
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
 * `e`, a system error, re-reported for `path` with `detail` (built from the original's detail) and the
 * `target` outcome: its code, syscall and progress are kept. Anything that is not a system error (a
 * TypeError: a programming error) is returned as it is.
 */
function reshape(
  e: unknown,
  path: string,
  target: TargetOutcome,
  detail: (original: string | undefined) => string,
): unknown {
  const f = systemFields(e);
  if (f === undefined) return e;
  return new FsError({
    code: f.code,
    syscall: f.syscall,
    path,
    bytesWritten: f.bytesWritten,
    detail: detail(f.detail),
    target,
    cause: e,
  });
}

/**
 * An error that happened before the rename (`target: 'unchanged'`): a system error becomes an FsError
 * with its code and syscall, `path` the target and the temp path in the detail. Errors already shaped
 * pass through; anything that is not a system error (a TypeError: a programming error) too.
 */
export function failedBeforeRename(e: unknown, target: string, temp: string | undefined, why?: string): unknown {
  if (isShaped(e)) return e;
  return reshape(e, target, 'unchanged', (d) =>
    joinDetail(why, d, temp === undefined ? undefined : `temp file '${temp}'`, 'the target was not changed'),
  );
}

/**
 * A failure to take (or write) createExclusive's claim file: reported for the target, since that is what
 * the caller asked for, with the claim file in the detail. Nothing was created (`'unchanged'`).
 */
export function claimFailed(e: unknown, target: string, claim: string): unknown {
  return reshape(e, target, 'unchanged', () => joinDetail(`taking the claim '${claim}'`, 'the target was not created'));
}

/**
 * An error after the rename (the directory fsync): the new content is in place (`'replaced'`), but a
 * power loss may still bring the old content back.
 */
export function failedAfterRename(e: unknown, target: string): unknown {
  if (isShaped(e)) return e;
  return reshape(e, target, 'replaced', (d) =>
    joinDetail(
      d,
      'the new content is in place (the rename succeeded), but syncing its directory failed: a power loss may still bring back the old content',
    ),
  );
}

/** The write was cancelled through its AbortSignal before the rename: ECANCELED, the reason as cause. */
export function canceled(target: string, signal: AbortSignal): FsError {
  return atomicError({
    code: 'ECANCELED',
    syscall: 'write',
    path: target,
    detail: 'aborted; the target was not changed',
    cause: signal.reason,
  });
}

/** Throws {@link canceled} when `signal` has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, target: string): void {
  if (signal?.aborted === true) throw canceled(target, signal);
}

/** The data source (a stream, an iterable) failed: the write is abandoned as if aborted. */
export function sourceFailed(target: string, cause: unknown): FsError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return atomicError({
    code: 'ECANCELED',
    syscall: 'write',
    path: target,
    detail: `the data source failed (${why}); the target was not changed`,
    cause,
  });
}

/** What {@link atomicError} takes: an FsError's fields, `path` required, `target` by default `'unchanged'`. */
export interface AtomicErrorInit {
  readonly code: string;
  readonly syscall: string;
  readonly path: string;
  readonly detail: string;
  readonly target?: TargetOutcome;
  readonly cause?: unknown;
}

/** An error of fdkeeper's own making (EBUSY, EISDIR, ELOOP, EBADF…) about `path`; the target unchanged unless said. */
export function atomicError(init: AtomicErrorInit): FsError {
  return new FsError({ ...init, target: init.target ?? 'unchanged' });
}
