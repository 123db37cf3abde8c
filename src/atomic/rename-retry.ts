/**
 * The rename that publishes an atomic write, retried on Windows while another process holds the target
 * open.
 *
 * On Windows a rename over a file that some other handle has open fails (EPERM or EACCES; EBUSY from
 * some file systems): the target cannot be replaced while open, unlike POSIX where the open file lives
 * on under no name. Virus scanners, search indexers, backup and sync clients open files for a moment
 * right after they change, so a writer that replaces the same file twice in a row meets this often.
 * A second rename a moment later then succeeds.
 *
 * The bound (docs/portability.md, "Decisions"): retries with a backoff of 10, 20, … ms growing to 100
 * ms between tries (graceful-fs's step and cap), for at most {@link DEFAULT_RETRY_MS} (5 s) in all,
 * then the last error, with what was tried in its detail. graceful-fs retries for 60 s, but only
 * while the target has vanished (a delete pending); npm's move helpers for 60 s after deleting the
 * target. fdkeeper never deletes the target (it stays intact until the rename), and 60 s would freeze
 * a synchronous caller's event loop for a minute: a handle held longer than 5 s is an editor or a
 * reader that will not let go soon, and the caller is better told. `FDKEEPER_RENAME_RETRY_MS` sets
 * another bound (0: no retry). A target with the read-only attribute is refused at once (no retry
 * would help). Elsewhere than on Windows nothing is retried: there an EPERM or EACCES from rename is
 * final (a sticky directory, an immutable file, permissions).
 *
 * Only the failure path costs anything: the first rename is the plain call.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import { FsError, hasCode } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';

/** How long, in all, a refused rename is retried on Windows unless `FDKEEPER_RENAME_RETRY_MS` says otherwise. */
export const DEFAULT_RETRY_MS = 5000;

/** How a refused rename is retried: the total bound, and the backoff's step and cap (all ms). */
export interface RenameRetryPolicy {
  /** No retry starts after this long since the first refusal. */
  readonly totalMs: number;
  /** The wait grows by this much after each try… */
  readonly stepMs: number;
  /** …up to this. */
  readonly maxDelayMs: number;
}

/** The policy in force: {@link DEFAULT_RETRY_MS}, or `FDKEEPER_RENAME_RETRY_MS` (a whole number of ms ≥ 0). */
export function renameRetryPolicy(): RenameRetryPolicy {
  const v = process.env.FDKEEPER_RENAME_RETRY_MS;
  const n = v === undefined || v === '' ? NaN : Number(v);
  return { totalMs: Number.isSafeInteger(n) && n >= 0 ? n : DEFAULT_RETRY_MS, stepMs: 10, maxDelayMs: 100 };
}

/** The wait before the next try after waiting `delay` ms before this one (0 before the first retry). */
export function nextDelay(delay: number, policy: RenameRetryPolicy): number {
  return Math.min(delay + policy.stepMs, policy.maxDelayMs);
}

/** The codes Windows gives a rename whose target another handle has open. */
function refusedWhileOpen(e: unknown): boolean {
  return hasCode(e, 'EPERM') || hasCode(e, 'EACCES') || hasCode(e, 'EBUSY');
}

/** Whether a failed rename is worth retrying here: on Windows, refused while open. */
function retriable(e: unknown): boolean {
  return process.platform === 'win32' && refusedWhileOpen(e);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function codeOf(e: unknown): string {
  return (e as { code?: string }).code ?? 'EPERM';
}

/**
 * The retries after a first refusal `first`, as one protocol (run sync or async): a target with the
 * read-only attribute fails at once; otherwise rename again after each backoff step until it succeeds,
 * fails otherwise (that error is thrown as it is), or the policy's bound is spent (an {@link FsError}
 * with the last refusal's code, saying what was tried). `clock` is for tests.
 */
export function* retryRename(
  backend: Backend,
  from: string,
  to: string,
  first: unknown,
  policy: RenameRetryPolicy,
  clock: () => number = Date.now,
): Protocol<void> {
  const started = clock();
  let last = first;
  let tries = 1;
  let readOnly = false;
  try {
    const st = yield* call(
      () => backend.lstatSync(to),
      () => backend.lstat(to),
    );
    readOnly = st.isFile() && (st.mode & 0o200) === 0;
  } catch {
    // gone (a delete pending ended) or unreadable: retrying is still the thing to do
  }
  if (readOnly)
    throw new FsError({
      code: codeOf(first),
      syscall: 'rename',
      path: from,
      dest: to,
      detail: 'the target has the read-only attribute, which Windows will not replace',
      cause: first,
    });
  for (
    let delay = nextDelay(0, policy);
    clock() - started + delay <= policy.totalMs;
    delay = nextDelay(delay, policy)
  ) {
    const ms = delay;
    yield* call(
      () => {
        sleepSync(ms);
      },
      () => sleep(ms),
    );
    tries++;
    try {
      yield* call(
        () => {
          backend.renameSync(from, to);
        },
        () => backend.rename(from, to),
      );
      return;
    } catch (e) {
      if (!refusedWhileOpen(e)) throw e;
      last = e;
    }
  }
  const spent = clock() - started;
  throw new FsError({
    code: codeOf(last),
    syscall: 'rename',
    path: from,
    dest: to,
    detail: `refused ${tries} times in ${spent} ms: another process has the target open, and Windows does not replace an open file (retried for up to ${policy.totalMs} ms; FDKEEPER_RENAME_RETRY_MS sets the bound)`,
    cause: last,
  });
}

/** rename(from, to) for an atomic write, as a protocol step: on Windows, retried while the target is held open (see the module doc). */
export function* renamingOver(backend: Backend, from: string, to: string): Protocol<void> {
  try {
    yield* call(
      () => {
        backend.renameSync(from, to);
      },
      () => backend.rename(from, to),
    );
  } catch (e) {
    if (!retriable(e)) throw e;
    yield* retryRename(backend, from, to, e, renameRetryPolicy());
  }
}

/** {@link renamingOver}, run synchronously (for callers outside a protocol, such as the replace workers). */
export function renameOverSync(backend: Backend, from: string, to: string): void {
  runSync(renamingOver(backend, from, to));
}

/** Promise form of {@link renameOverSync}. */
export function renameOver(backend: Backend, from: string, to: string): Promise<void> {
  return runAsync(renamingOver(backend, from, to));
}
