/**
 * The protocol of an atomic replace, step by step (docs/atomic.md explains each):
 *
 * 1. resolve the target (each component lstat'ed, symlinks judged by the fs.protected_symlinks rule and
 *    followed, missing directories made for `mkdir`) — {@link resolveTarget};
 * 2. mode and owner from the existing file;
 * 3. create a temp file beside it: O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600;
 * 4. write everything (looping on short writes), fchown, fchmod, fsync (`'full'`, `'file'`), close;
 * 5. rename(temp, target); for `'full'`, fsync the directory;
 * 6. on any failure before the rename: close, unlink the temp, report (the target is untouched); after
 *    the rename, never unlink the temp name again (another writer may own it by then).
 *
 * Each step is written once, as a {@link Protocol} (src/protocol/run.ts) that yields the calls it
 * needs, and run by `runSync` or `runAsync`. The temp file is a {@link Descriptor} opened through the
 * operation's {@link FileTable}: it counts against the table's budget (a promise-form open waits for a
 * slot), shows in its leak reports, and a close waits for the calls in flight on it. The promise run
 * overlaps independent calls on Node's thread pool (the write with the fchmod), and makes the path
 * lookups synchronously on a local file system, so a write costs no more round trips than the bare
 * minimum.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import { FsError, hasCode } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import type { Descriptor } from '../table/descriptor.js';
import type { InMemory, Prepared } from './data.js';
import { toBytes } from './data.js';
import { quickCallsSyncIn } from './close-policy.js';
import { fsyncDirSync } from './dir-sync.js';
import { canceled, failedAfterRename, failedBeforeRename, isShaped, sourceFailed, throwIfAborted } from './errors.js';
import { addLive, deleteLive } from './live-temps.js';
import { resolveTarget, resolveTargetSync, type Target } from './resolve-target.js';
import type { Settings } from './settings.js';
import { tempNameFor } from './temp-name.js';
import { renamingOver } from './rename-retry.js';
import type { Durability } from './types.js';

/**
 * How temp files are created: write-only; created here and nowhere else (O_EXCL: never an existing
 * file, never through a symlink planted at the name); O_NOFOLLOW for the same reason where O_EXCL is
 * not honoured (old NFS); not inherited by child processes.
 */
export const TEMP_FLAGS = O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC;
/** A temp file is private until its mode is set: 0600, whatever the umask. */
export const TEMP_MODE = 0o600;
/** Temp names tried before giving up with EEXIST. */
export const MAX_NAME_TRIES = 100;

/**
 * A temp file being written: its path and its descriptor (closed once a close has been tried: close
 * is never retried). `removed` once it has been discarded or renamed (its name is never unlinked twice:
 * it may be someone else's by then).
 */
export interface TempFile {
  readonly path: string;
  readonly file: Descriptor;
  removed: boolean;
}

/** Runs `step`, ignoring its failure (cleanup on the way out of another error: that one is reported). */
function* quietly(step: Protocol<unknown>): Protocol<void> {
  try {
    yield* step;
  } catch {
    // the original error is what matters
  }
}

/** unlink(2) of `path` on `backend`. */
function unlink(backend: Backend, path: string): Protocol<void> {
  return call(
    () => {
      backend.unlinkSync(path);
    },
    () => backend.unlink(path),
  );
}

function noUnusedName(e: unknown, forPath: string, temp: string): unknown {
  return failedBeforeRename(e, forPath, temp, `no unused temp name after ${MAX_NAME_TRIES} tries`);
}

/**
 * Step 3: creates a temp file for `forPath` in its directory, through the settings' table (a fresh
 * random name per try, up to 100 tries on EEXIST; the directory was made, for `mkdir`, by the
 * resolution). The promise run waits for a slot when the table is at its budget; the synchronous one
 * fails with EMFILE. The temp path is registered as live (cleanupTemps keeps it) before the create.
 * Errors come out shaped (path: `forPath`).
 */
export function* createTemp(forPath: string, s: Settings, mode: number = TEMP_MODE): Protocol<TempFile> {
  for (let tries = 1; ; tries++) {
    const path = tempNameFor(forPath);
    addLive(path);
    try {
      const file = yield* call(
        () => s.table.openDescriptorSync(path, TEMP_FLAGS, mode),
        () => s.table.openDescriptor(path, TEMP_FLAGS, mode),
      );
      return { path, file, removed: false };
    } catch (e) {
      deleteLive(path);
      if (hasCode(e, 'EEXIST')) {
        if (tries < MAX_NAME_TRIES) continue;
        throw noUnusedName(e, forPath, path);
      }
      // Not EEXIST: the name was free, so if the open created the file before failing (a permission
      // hook refusing it after the create, say) it is ours to remove.
      yield* quietly(unlink(s.backend, path));
      throw failedBeforeRename(e, forPath, path);
    }
  }
}

/** Unlinks `path`, ignoring any failure (cleanup on the way out of another error). */
export function removeQuietlySync(backend: Backend, path: string): void {
  runSync(quietly(unlink(backend, path)));
}

function zeroWrite(fd: number, done: number): FsError {
  return new FsError({ code: 'EIO', syscall: 'write', fd, bytesWritten: done, detail: 'write(2) wrote 0 bytes' });
}

/** Writes all of `bytes` at the descriptor's offset, looping on short writes; a 0-byte write is EIO. */
export function* writeAll(file: Descriptor, bytes: Uint8Array): Protocol<void> {
  const length = bytes.byteLength;
  for (let done = 0; done < length;) {
    const n = yield* call(
      () => file.writeSync(bytes, done, length - done),
      () => file.write(bytes, done, length - done),
    );
    if (!(n > 0)) throw zeroWrite(file.number, done);
    done += n;
  }
}

/** Calls an iterator's `return` (a generator's finally, a stream's destroy), ignoring what it does. */
function closeIterator(it: Iterator<unknown> | AsyncIterator<unknown>): void {
  try {
    const r = it.return?.() as unknown;
    if (r instanceof Promise) r.catch(() => undefined);
  } catch {
    // the write's own error is what is reported
  }
}

/** `p`, or ECANCELED as soon as `signal` aborts (`p` is then left to settle unobserved, its rejection handled). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, target: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(canceled(target, signal));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const forget = (): void => {
      signal.removeEventListener('abort', onAbort);
    };
    p.then(forget, forget);
    p.then(resolve, reject);
  });
}

/** A source with a `destroy()` (a Readable stream): destroyed when the write gives up on it. */
function destroySource(source: unknown): void {
  const d = (source as { destroy?: unknown }).destroy;
  if (typeof d !== 'function') return;
  try {
    (d as () => void).call(source);
  } catch {
    // the write's own error is what is reported
  }
}

/**
 * Writes the chunks of an iterable or (promise run only) an async iterable, a stream, as they come,
 * checking `signal` after each and while waiting for the next (an abort stops consuming the source at
 * once). A failing source is {@link sourceFailed}. On any failure the source is closed: `return()` on
 * its iterator (a generator's `finally` runs), and `destroy()` when it has one (a Readable stream, even
 * one the write was waiting on).
 */
export function* writeSource(
  file: Descriptor,
  source: Iterable<unknown> | AsyncIterable<unknown>,
  encoding: BufferEncoding,
  signal: AbortSignal | undefined,
  target: string,
): Protocol<void> {
  const asyncIt = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : undefined;
  const syncIt = asyncIt === undefined ? (source as Iterable<unknown>)[Symbol.iterator]() : undefined;
  const it = (asyncIt ?? syncIt) as AsyncIterator<unknown> | Iterator<unknown>;
  const next = (): IteratorResult<unknown> => (it as Iterator<unknown>).next();
  const nextAsync = (): Promise<IteratorResult<unknown>> => {
    if (asyncIt === undefined) return Promise.resolve(next());
    const p = Promise.resolve(asyncIt.next());
    return signal === undefined ? p : raceAbort(p, signal, target);
  };
  let done = false;
  try {
    for (;;) {
      let r: IteratorResult<unknown>;
      try {
        r = yield* call(next, nextAsync);
      } catch (e) {
        if (isShaped(e)) throw e;
        done = true; // the source failed: it has finished itself
        throw sourceFailed(target, e);
      }
      if (r.done === true) {
        done = true;
        return;
      }
      yield* writeAll(file, toBytes(r.value, encoding));
      throwIfAborted(signal, target);
    }
  } finally {
    if (!done) {
      closeIterator(it);
      destroySource(source);
    }
  }
}

/** Step 4's metadata: fchown (when the owner must be set) before fchmod, since a chown clears set-id bits. */
export function* setMeta(file: Descriptor, target: Target): Protocol<void> {
  const owner = target.owner;
  if (owner !== undefined) {
    yield* call(
      () => {
        file.chownSync(owner.uid, owner.gid);
      },
      () => file.chown(owner.uid, owner.gid),
    );
  }
  yield* call(
    () => {
      file.chmodSync(target.mode);
    },
    () => file.chmod(target.mode),
  );
}

/**
 * Two steps on one descriptor that nothing orders (the data and the metadata): one after the other in
 * the synchronous run, overlapped on the thread pool in the promise run (both settled before it goes on).
 */
function* both(a: () => Protocol<void>, b: () => Protocol<void>): Protocol<void> {
  yield* call(
    () => {
      runSync(a());
      runSync(b());
    },
    async () => {
      const [x, y] = await Promise.allSettled([runAsync(a()), runAsync(b())]);
      if (x.status === 'rejected') throw x.reason;
      if (y.status === 'rejected') throw y.reason;
    },
  );
}

/**
 * Step 4's end: fsync (not fdatasync: the mode and owner just set must be durable too) unless
 * `'none'`, then close. The descriptor counts as closed once close is tried: close is never retried.
 * After an fsync, on a local file system (`near` is its directory), close(2) has nothing to wait for:
 * the promise run makes it without a thread-pool job.
 */
export function* syncAndClose(tmp: TempFile, durability: Durability, near: string): Protocol<void> {
  const file = tmp.file;
  if (durability !== 'none') {
    yield* call(
      () => {
        file.syncSync();
      },
      () => file.sync(),
    );
  }
  const closeSync = (): void => {
    file.closeSync();
  };
  yield* call(closeSync, () => {
    if (durability === 'none' || !quickCallsSyncIn(file.description.backend, near)) return file.close();
    closeSync();
    return Promise.resolve();
  });
}

/**
 * Step 6: closes the temp file if open (after the calls in flight on it) and unlinks it (once),
 * ignoring errors (the original one is reported). Only for a temp file not renamed: after a rename its
 * name may belong to another writer. Never throws.
 */
export function* discard(backend: Backend, tmp: TempFile): Protocol<void> {
  if (tmp.removed) return;
  tmp.removed = true;
  yield* quietly(
    call(
      () => {
        tmp.file.closeSync();
      },
      () => tmp.file.close(),
    ),
  );
  yield* quietly(unlink(backend, tmp.path));
  deleteLive(tmp.path);
}

/** The chunks of in-memory data, written in order. */
function* writeChunks(file: Descriptor, data: InMemory): Protocol<void> {
  for (const c of data.chunks) yield* writeAll(file, c);
}

/** Step 1 (see {@link resolveTarget}); errors shaped for `abs`. */
export function* resolve(abs: string, s: Settings): Protocol<Target> {
  try {
    return yield* call(
      () => resolveTargetSync(abs, s),
      () => resolveTarget(abs, s),
    );
  } catch (e) {
    throw failedBeforeRename(e, abs, undefined);
  }
}

/** Steps 1–3: the target resolved, then the temp file created beside it. On failure nothing is left. */
export function* prepareTemp(abs: string, s: Settings): Protocol<{ target: Target; tmp: TempFile }> {
  const target = yield* resolve(abs, s);
  return { target, tmp: yield* createTemp(target.path, s) };
}

/**
 * The whole protocol up to and including the rename; returns the target now in place (the end of a
 * symlink chain when `abs` is a link). The caller makes the rename durable for `'full'`
 * ({@link replaceSync} at once; the promise form with the group-committed directory fsync, `syncDir`).
 * The promise run overlaps the write with the fchown/fchmod (both on the temp descriptor, both settled
 * before it is closed). Streamed data must be a synchronous iterable in the synchronous run.
 */
export function* replaceUpToRename(abs: string, data: Prepared, s: Settings): Protocol<Target> {
  const b = s.backend;
  let handedOver = data.kind === 'memory'; // a stream: once writeSource has it, it closes it on failure
  try {
    throwIfAborted(s.signal, abs);
    const { target, tmp } = yield* prepareTemp(abs, s);
    try {
      throwIfAborted(s.signal, target.path);
      handedOver = true;
      yield* both(
        () =>
          data.kind === 'memory'
            ? writeChunks(tmp.file, data)
            : writeSource(tmp.file, data.source, s.encoding, s.signal, target.path),
        () => setMeta(tmp.file, target),
      );
      throwIfAborted(s.signal, target.path);
      yield* syncAndClose(tmp, s.durability, target.dir);
      throwIfAborted(s.signal, target.path);
      yield* renamingOver(b, tmp.path, target.path);
    } catch (e) {
      yield* discard(b, tmp);
      throw failedBeforeRename(e, target.path, tmp.path);
    }
    tmp.removed = true; // renamed: the name is no longer ours (never unlinked from here on)
    deleteLive(tmp.path);
    return target;
  } catch (e) {
    // Failed (refused, aborted) before the stream was read: it is given up on all the same.
    if (!handedOver && data.kind === 'stream') destroySource(data.source);
    throw e;
  }
}

/**
 * The whole protocol, synchronously: {@link replaceUpToRename}, and for `'full'` the directory fsync.
 * Streamed data must be a synchronous iterable here.
 */
export function replaceSync(abs: string, data: Prepared, s: Settings): void {
  if (data.kind === 'stream' && !(Symbol.iterator in data.source))
    throw new TypeError(
      'the synchronous forms take a string, a Uint8Array or a synchronous iterable (not an async iterable or stream)',
    );
  const target = runSync(replaceUpToRename(abs, data, s));
  if (s.durability === 'full') {
    try {
      fsyncDirSync(s.backend, target.dir);
    } catch (e) {
      throw failedAfterRename(e, target.path);
    }
  }
}
