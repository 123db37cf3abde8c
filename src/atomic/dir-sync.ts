/**
 * Directory fsync, group-committed: one fsync(2) of a directory makes durable every entry change
 * (rename, link, mkdir) made in it before the fsync started. So concurrent writers in one directory
 * share fsyncs: a request that arrives while one is running waits for the next one, which starts as
 * soon as the running one ends and serves every request that arrived meanwhile.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import { hasCode } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import { quickCallsSyncIn } from './close-policy.js';

/** How a directory is opened to be fsynced: read-only (all a directory allows), and nothing but one. */
const DIR_FLAGS = O.RDONLY | O.DIRECTORY | O.CLOEXEC;

/**
 * Errors Windows gives for opening or fsyncing a directory, which it cannot do (NTFS makes a rename's
 * directory entry durable on its own): there the directory fsync is skipped.
 */
function unsupported(e: unknown): boolean {
  return (
    process.platform === 'win32' &&
    (hasCode(e, 'EISDIR') || hasCode(e, 'EPERM') || hasCode(e, 'EACCES') || hasCode(e, 'EINVAL'))
  );
}

/**
 * open(dir, O_RDONLY|O_DIRECTORY) + fsync + close. An fsync error is reported, never retried (after a
 * failed fsync Linux may report the next one clean without having written anything). A close error
 * after a successful fsync is ignored: a read-only directory descriptor holds no data. `quick`: in the
 * promise run, open and close without a thread-pool job (a local file system, see close-policy.ts).
 */
function* fsyncDir(backend: Backend, dir: string, quick: boolean): Protocol<void> {
  let fd: number;
  try {
    fd = yield* call(
      () => backend.openSync(dir, DIR_FLAGS),
      () => (quick ? Promise.resolve(backend.openSync(dir, DIR_FLAGS)) : backend.open(dir, DIR_FLAGS)),
    );
  } catch (e) {
    if (unsupported(e)) return;
    throw e;
  }
  try {
    yield* call(
      () => {
        backend.fsyncSync(fd);
      },
      () => backend.fsync(fd),
    );
  } catch (e) {
    if (!unsupported(e)) throw e;
  } finally {
    const closeSync = (): void => {
      backend.closeSync(fd);
    };
    try {
      yield* call(closeSync, () => {
        if (!quick) return backend.close(fd);
        closeSync();
        return Promise.resolve();
      });
    } catch {
      // see above
    }
  }
}

/** {@link fsyncDir} synchronously, now. */
export function fsyncDirSync(backend: Backend, dir: string): void {
  runSync(fsyncDir(backend, dir, false));
}

/** {@link fsyncDir} in the promise form, now (one fsync, not grouped: see {@link syncDir}). */
export function fsyncDirNow(backend: Backend, dir: string): Promise<void> {
  // On a local file system the directory a rename just went into opens and closes without a job.
  return runAsync(fsyncDir(backend, dir, quickCallsSyncIn(backend, dir)));
}

/** A directory whose fsync is running (it is in the map only then), and the one queued after it. */
interface DirGroup {
  next: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
}

const groups = new WeakMap<Backend, Map<string, DirGroup>>();

/** Starts an fsync of `dir` for group `g`; when it ends, starts the queued one (if any) or retires `g`. */
function start(backend: Backend, dir: string, g: DirGroup, map: Map<string, DirGroup>): Promise<void> {
  const p = fsyncDirNow(backend, dir);
  const after = (): void => {
    const n = g.next;
    g.next = undefined;
    if (n === undefined) {
      map.delete(dir);
      return;
    }
    start(backend, dir, g, map).then(n.resolve, n.reject);
  };
  p.then(after, after);
  return p;
}

/** Whether an fsync of `dir` is running now (a {@link syncDir} call would wait for the next one). */
export function isSyncing(backend: Backend, dir: string): boolean {
  return groups.get(backend)?.has(dir) === true;
}

/**
 * Makes durable every change to `dir`'s entries made before the call: resolves once an fsync of `dir`
 * that *started after this call* has succeeded; rejects with that fsync's error. While an fsync of `dir`
 * is running, every call joins the single fsync queued to start when it ends.
 *
 * (The directory is not opened ahead of the rename: measured, it saved nothing, and under concurrency
 * most such opens were closed unused.)
 */
export function syncDir(backend: Backend, dir: string): Promise<void> {
  let map = groups.get(backend);
  if (map === undefined) {
    map = new Map();
    groups.set(backend, map);
  }
  let g = map.get(dir);
  if (g === undefined) {
    g = { next: undefined };
    map.set(dir, g);
    return start(backend, dir, g, map);
  }
  if (g.next === undefined) {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    g.next = { promise, resolve, reject };
  }
  return g.next.promise;
}
