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
 * The steps exist in a synchronous and a promise form. The promise form overlaps independent calls on
 * Node's thread pool (the write with the fchmod), and makes the path lookups synchronously on a local
 * file system, so a write costs no more round trips than the bare minimum; every call on a descriptor
 * has settled before it is closed.
 *
 * @module
 */
import { dirname } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import { FsError, hasCode } from '../errors/fs-error.js';
import type { InMemory, Prepared } from './data.js';
import { toBytes } from './data.js';
import { quickCallsSyncIn } from './close-policy.js';
import { fsyncDirSync } from './dir-sync.js';
import { canceled, failedAfterRename, failedBeforeRename, isShaped, sourceFailed, throwIfAborted } from './errors.js';
import { acquireSlot, releaseSlot } from './fd-gate.js';
import { addLive, deleteLive } from './live-temps.js';
import { resolveTarget, resolveTargetSync, type Target } from './resolve-target.js';
import type { Settings } from './settings.js';
import { tempNameFor } from './temp-name.js';
import { renameOver, renameOverSync } from './rename-retry.js';
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
 * A temp file being written. `open` is false once its descriptor has been closed (or a close tried);
 * `removed` once it has been discarded (its name is never unlinked twice: it may be someone else's by then).
 */
export interface TempFile {
  readonly path: string;
  readonly fd: number;
  open: boolean;
  removed: boolean;
}

function noUnusedName(e: unknown, forPath: string, temp: string): unknown {
  return failedBeforeRename(e, forPath, temp, `no unused temp name after ${MAX_NAME_TRIES} tries`);
}

/**
 * Step 3: creates a temp file for `forPath` in its directory (a fresh random name per try, up to 100
 * tries on EEXIST; the directory was made, for `mkdir`, by the resolution). The temp path is registered
 * as live (cleanupTemps keeps it) before the create. Errors come out shaped (path: `forPath`).
 */
export function createTempSync(forPath: string, s: Settings, mode: number = TEMP_MODE): TempFile {
  for (let tries = 1; ; tries++) {
    const path = tempNameFor(forPath);
    addLive(path);
    try {
      return { path, fd: s.backend.openSync(path, TEMP_FLAGS, mode), open: true, removed: false };
    } catch (e) {
      deleteLive(path);
      if (hasCode(e, 'EEXIST')) {
        if (tries < MAX_NAME_TRIES) continue;
        throw noUnusedName(e, forPath, path);
      }
      // Not EEXIST: the name was free, so if the open created the file before failing (a permission
      // hook refusing it after the create, say) it is ours to remove.
      removeQuietlySync(s.backend, path);
      throw failedBeforeRename(e, forPath, path);
    }
  }
}

/** Promise form of {@link createTempSync}. */
export async function createTemp(forPath: string, s: Settings, mode: number = TEMP_MODE): Promise<TempFile> {
  for (let tries = 1; ; tries++) {
    const path = tempNameFor(forPath);
    addLive(path);
    try {
      return { path, fd: await s.backend.open(path, TEMP_FLAGS, mode), open: true, removed: false };
    } catch (e) {
      deleteLive(path);
      if (hasCode(e, 'EEXIST')) {
        if (tries < MAX_NAME_TRIES) continue;
        throw noUnusedName(e, forPath, path);
      }
      await s.backend.unlink(path).catch(() => undefined); // see createTempSync
      throw failedBeforeRename(e, forPath, path);
    }
  }
}

/** Unlinks `path`, ignoring any failure (cleanup on the way out of another error). */
export function removeQuietlySync(backend: Backend, path: string): void {
  try {
    backend.unlinkSync(path);
  } catch {
    // the original error is what matters
  }
}

function zeroWrite(fd: number, done: number): FsError {
  return new FsError({ code: 'EIO', syscall: 'write', fd, bytesWritten: done, detail: 'write(2) wrote 0 bytes' });
}

/** Writes all of `bytes` at the descriptor's offset, looping on short writes; a 0-byte write is EIO. */
export function writeAllSync(backend: Backend, fd: number, bytes: Uint8Array): void {
  const length = bytes.byteLength;
  for (let done = 0; done < length; ) {
    const n = backend.writeSync(fd, bytes, done, length - done, null);
    if (!(n > 0)) throw zeroWrite(fd, done);
    done += n;
  }
}

/** Promise form of {@link writeAllSync}. */
export async function writeAll(backend: Backend, fd: number, bytes: Uint8Array): Promise<void> {
  const length = bytes.byteLength;
  for (let done = 0; done < length; ) {
    const n = await backend.write(fd, bytes, done, length - done, null);
    if (!(n > 0)) throw zeroWrite(fd, done);
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

/** Writes the chunks of a synchronous iterable as they come. A failing iterable is {@link sourceFailed}. */
export function writeIterableSync(backend: Backend, fd: number, source: Iterable<unknown>, encoding: BufferEncoding, target: string): void {
  const it = source[Symbol.iterator]();
  let done = false;
  try {
    for (;;) {
      let r: IteratorResult<unknown>;
      try {
        r = it.next();
      } catch (e) {
        done = true;
        throw sourceFailed(target, e);
      }
      if (r.done === true) {
        done = true;
        return;
      }
      writeAllSync(backend, fd, toBytes(r.value, encoding));
    }
  } finally {
    if (!done) closeIterator(it);
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
 * Writes the chunks of an iterable or async iterable (a stream) as they come, checking `signal` after
 * each and while waiting for the next (an abort stops consuming the source at once). A failing source is
 * {@link sourceFailed}. On any failure the source is closed: `return()` on its iterator (a generator's
 * `finally` runs), and `destroy()` when it has one (a Readable stream, even one the write was waiting on).
 */
export async function writeStream(backend: Backend, fd: number, source: Iterable<unknown> | AsyncIterable<unknown>, encoding: BufferEncoding, signal: AbortSignal | undefined, target: string): Promise<void> {
  const asyncIt = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : undefined;
  const syncIt = asyncIt === undefined ? (source as Iterable<unknown>)[Symbol.iterator]() : undefined;
  const it = (asyncIt ?? syncIt) as AsyncIterator<unknown> | Iterator<unknown>;
  let done = false;
  try {
    for (;;) {
      let r: IteratorResult<unknown>;
      try {
        if (asyncIt !== undefined) {
          const next = Promise.resolve(asyncIt.next());
          r = await (signal === undefined ? next : raceAbort(next, signal, target));
        } else r = (syncIt as Iterator<unknown>).next();
      } catch (e) {
        if (isShaped(e)) throw e;
        done = true; // the source failed: it has finished itself
        throw sourceFailed(target, e);
      }
      if (r.done === true) {
        done = true;
        return;
      }
      await writeAll(backend, fd, toBytes(r.value, encoding));
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
export function setMetaSync(backend: Backend, fd: number, target: Target): void {
  if (target.owner !== undefined) backend.fchownSync(fd, target.owner.uid, target.owner.gid);
  backend.fchmodSync(fd, target.mode);
}

/** Promise form of {@link setMetaSync}. */
export async function setMeta(backend: Backend, fd: number, target: Target): Promise<void> {
  if (target.owner !== undefined) await backend.fchown(fd, target.owner.uid, target.owner.gid);
  await backend.fchmod(fd, target.mode);
}

/**
 * Step 4's end: fsync (not fdatasync: the mode and owner just set must be durable too) unless
 * `'none'`, then close. The descriptor counts as closed once close is tried: close is never retried.
 */
export function syncAndCloseSync(backend: Backend, tmp: TempFile, durability: Durability): void {
  if (durability !== 'none') backend.fsyncSync(tmp.fd);
  tmp.open = false;
  backend.closeSync(tmp.fd);
}

/** Promise form of {@link syncAndCloseSync}. */
export async function syncAndClose(backend: Backend, tmp: TempFile, durability: Durability): Promise<void> {
  if (durability !== 'none') await backend.fsync(tmp.fd);
  tmp.open = false;
  // After an fsync, on a local file system, close(2) has nothing to wait for: no thread-pool job for it.
  if (durability !== 'none' && quickCallsSyncIn(backend, dirname(tmp.path))) backend.closeSync(tmp.fd);
  else await backend.close(tmp.fd);
}

/**
 * Step 6: closes the temp file if open and unlinks it (once), ignoring errors (the original one is
 * reported). Only for a temp file not renamed: after a rename its name may belong to another writer.
 */
export function discardSync(backend: Backend, tmp: TempFile): void {
  if (tmp.removed) return;
  tmp.removed = true;
  if (tmp.open) {
    tmp.open = false;
    try {
      backend.closeSync(tmp.fd);
    } catch {
      // the original error is what is reported
    }
  }
  try {
    backend.unlinkSync(tmp.path);
  } catch {
    // likewise
  }
  deleteLive(tmp.path);
}

/** Promise form of {@link discardSync}. Never rejects. */
export async function discard(backend: Backend, tmp: TempFile): Promise<void> {
  if (tmp.removed) return;
  tmp.removed = true;
  if (tmp.open) {
    tmp.open = false;
    try {
      await backend.close(tmp.fd);
    } catch {
      // the original error is what is reported
    }
  }
  try {
    await backend.unlink(tmp.path);
  } catch {
    // likewise
  }
  deleteLive(tmp.path);
}

/** The chunks of in-memory data, written in order. */
function writeChunksSync(backend: Backend, fd: number, data: InMemory): void {
  for (const c of data.chunks) writeAllSync(backend, fd, c);
}

async function writeChunks(backend: Backend, fd: number, data: InMemory): Promise<void> {
  for (const c of data.chunks) await writeAll(backend, fd, c);
}

/**
 * The whole protocol, synchronously: resolve, temp, write, fchown/fchmod, fsync, close, rename, and for
 * `'full'` the directory fsync. Streamed data must be a synchronous iterable here.
 */
export function replaceSync(abs: string, data: Prepared, s: Settings): void {
  const b = s.backend;
  if (data.kind === 'stream' && !(Symbol.iterator in data.source)) throw new TypeError('the synchronous forms take a string, a Uint8Array or a synchronous iterable (not an async iterable or stream)');
  let target: Target;
  try {
    target = resolveTargetSync(abs, s);
  } catch (e) {
    throw failedBeforeRename(e, abs, undefined);
  }
  const tmp = createTempSync(target.path, s);
  try {
    if (data.kind === 'memory') writeChunksSync(b, tmp.fd, data);
    else writeIterableSync(b, tmp.fd, data.source as Iterable<unknown>, s.encoding, target.path);
    setMetaSync(b, tmp.fd, target);
    syncAndCloseSync(b, tmp, s.durability);
    renameOverSync(b, tmp.path, target.path);
  } catch (e) {
    discardSync(b, tmp);
    throw failedBeforeRename(e, target.path, tmp.path);
  }
  tmp.removed = true; // renamed: the name is no longer ours (never unlinked from here on)
  deleteLive(tmp.path);
  if (s.durability === 'full') {
    try {
      fsyncDirSync(b, target.dir);
    } catch (e) {
      throw failedAfterRename(e, target.path);
    }
  }
}

/**
 * Steps 1–3 in the promise form: the target resolved (see {@link resolveTarget}), then the temp file
 * created beside it. Returns both; on failure nothing is left.
 */
export async function prepareTemp(abs: string, s: Settings): Promise<{ target: Target; tmp: TempFile }> {
  let target: Target;
  try {
    target = await resolveTarget(abs, s);
  } catch (e) {
    throw failedBeforeRename(e, abs, undefined);
  }
  return { target, tmp: await createTemp(target.path, s) };
}

/**
 * The whole protocol up to and including the rename, in the promise form; returns the target now in
 * place (the end of a symlink chain when `abs` is a link). The caller makes the rename
 * durable for `'full'` (the group-committed directory fsync, {@link syncDir}). Calls overlap where
 * nothing orders them: the write with the fchown/fchmod (both on the temp descriptor, both settled
 * before it is closed).
 */
export async function replaceUpToRename(abs: string, data: Prepared, s: Settings): Promise<Target> {
  const b = s.backend;
  throwIfAborted(s.signal, abs);
  let gated = false;
  if (data.kind === 'memory') {
    const wait = acquireSlot();
    if (wait !== undefined) await wait;
    gated = true;
  }
  let handedOver = data.kind === 'memory'; // a stream: once writeStream has it, it closes it on failure
  try {
    throwIfAborted(s.signal, abs);
    const { target, tmp } = await prepareTemp(abs, s);
    try {
      throwIfAborted(s.signal, target.path);
      handedOver = true;
      const writing = data.kind === 'memory' ? writeChunks(b, tmp.fd, data) : writeStream(b, tmp.fd, data.source, s.encoding, s.signal, target.path);
      const meta = setMeta(b, tmp.fd, target);
      const [w, m] = await Promise.allSettled([writing, meta]);
      if (w.status === 'rejected') throw w.reason;
      if (m.status === 'rejected') throw m.reason;
      throwIfAborted(s.signal, target.path);
      await syncAndClose(b, tmp, s.durability);
      throwIfAborted(s.signal, target.path);
      await renameOver(b, tmp.path, target.path);
    } catch (e) {
      await discard(b, tmp);
      throw failedBeforeRename(e, target.path, tmp.path);
    }
    tmp.removed = true; // renamed: the name is no longer ours (never unlinked from here on)
    deleteLive(tmp.path);
    return target;
  } catch (e) {
    // Failed (refused, aborted) before the stream was read: it is given up on all the same.
    if (!handedOver && data.kind === 'stream') destroySource(data.source);
    throw e;
  } finally {
    if (gated) releaseSlot();
  }
}
