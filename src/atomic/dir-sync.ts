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

/** How a directory is opened to be fsynced: read-only (all a directory allows), and nothing but one. */
const DIR_FLAGS = O.RDONLY | O.DIRECTORY | O.CLOEXEC;

/**
 * Errors Windows gives for opening or fsyncing a directory, which it cannot do (NTFS makes a rename's
 * directory entry durable on its own): there the directory fsync is skipped.
 */
function unsupported(e: unknown): boolean {
  return process.platform === 'win32' && (hasCode(e, 'EISDIR') || hasCode(e, 'EPERM') || hasCode(e, 'EACCES') || hasCode(e, 'EINVAL'));
}

/**
 * open(dir, O_RDONLY|O_DIRECTORY) + fsync + close, synchronously, now. An fsync error is reported, never
 * retried (after a failed fsync Linux may report the next one clean without having written anything).
 * A close error after a successful fsync is ignored: a read-only directory descriptor holds no data.
 */
export function fsyncDirSync(backend: Backend, dir: string): void {
  let fd: number;
  try {
    fd = backend.openSync(dir, DIR_FLAGS);
  } catch (e) {
    if (unsupported(e)) return;
    throw e;
  }
  try {
    backend.fsyncSync(fd);
  } catch (e) {
    if (!unsupported(e)) throw e;
  } finally {
    try {
      backend.closeSync(fd);
    } catch {
      // see above
    }
  }
}

/** Promise form of {@link fsyncDirSync} (one fsync, not grouped). */
export async function fsyncDirNow(backend: Backend, dir: string): Promise<void> {
  let fd: number;
  try {
    fd = await backend.open(dir, DIR_FLAGS);
  } catch (e) {
    if (unsupported(e)) return;
    throw e;
  }
  await fsyncDirFd(backend, fd);
}

/** Promise form of {@link fsyncDirSync} on a directory descriptor opened ahead: fsync, then close. */
async function fsyncDirFd(backend: Backend, fd: number): Promise<void> {
  try {
    await backend.fsync(fd);
  } catch (e) {
    if (!unsupported(e)) throw e;
  } finally {
    try {
      await backend.close(fd);
    } catch {
      // see fsyncDirSync
    }
  }
}

/**
 * A directory opened while a write was still preparing its temp file, so that the fsync after the
 * rename is one round trip on the thread pool instead of three (open, fsync, close → fsync, close).
 * `fd` is undefined when the open failed: the fsync then opens the directory itself (and reports why).
 */
export interface DirAhead {
  readonly dir: string;
  readonly fd: Promise<number | undefined>;
}

/** Writes preparing a rename in each directory now (per backend): open-ahead only for a lone writer. */
const preparing = new WeakMap<Backend, Map<string, number>>();

/**
 * Registers a write preparing a rename into `dir`; true when it is the only one and no fsync of `dir` is
 * running, i.e. when opening the directory ahead can pay (with company, the group commit shares one open
 * among many renames, and most early opens would be closed unused). Every call must be matched by
 * {@link doneAhead}.
 */
export function beginAhead(backend: Backend, dir: string): boolean {
  let map = preparing.get(backend);
  if (map === undefined) {
    map = new Map();
    preparing.set(backend, map);
  }
  const n = map.get(dir) ?? 0;
  map.set(dir, n + 1);
  return n === 0 && !isSyncing(backend, dir);
}

/**
 * Opens `dir` ahead of a rename into it. Called once the temp file exists, so that with one descriptor
 * left the temp file gets it (the directory is then opened after the temp file's close, as without
 * this). A failed open is not reported here: the fsync then opens the directory itself.
 *
 * The descriptor names the directory as it was when opened: if the directory itself were replaced
 * before the rename, the fsync would go to the old one — the same race a bare writer has between its
 * rename and its own open of the directory, narrowed here to one write's duration, never cached across calls.
 */
export function openDirAhead(backend: Backend, dir: string): DirAhead {
  return { dir, fd: backend.open(dir, DIR_FLAGS).then((fd) => fd, () => undefined) };
}

/** Ends the preparing phase that {@link beginAhead} began for `dir`. */
export function doneAhead(backend: Backend, dir: string): void {
  const map = preparing.get(backend);
  const n = map?.get(dir) ?? 0;
  if (n <= 1) map?.delete(dir);
  else map?.set(dir, n - 1);
}

/** Closes a directory opened ahead and not used. Never rejects. */
export async function dropAhead(backend: Backend, ahead: DirAhead | undefined): Promise<void> {
  const fd = await ahead?.fd;
  if (fd !== undefined) await backend.close(fd).catch(() => undefined);
}

/** A directory whose fsync is running (it is in the map only then), and the one queued after it. */
interface DirGroup {
  next: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
}

const groups = new WeakMap<Backend, Map<string, DirGroup>>();

/** Starts an fsync of `dir` for group `g`; when it ends, starts the queued one (if any) or retires `g`. */
function start(backend: Backend, dir: string, g: DirGroup, map: Map<string, DirGroup>, ahead?: DirAhead): Promise<void> {
  const p = ahead === undefined ? fsyncDirNow(backend, dir) : ahead.fd.then((fd) => (fd === undefined ? fsyncDirNow(backend, dir) : fsyncDirFd(backend, fd)));
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
 * `ahead` is a descriptor of `dir` opened before the rename ({@link openDirAhead}); it is used when this
 * call starts the fsync, closed otherwise.
 */
export function syncDir(backend: Backend, dir: string, ahead?: DirAhead): Promise<void> {
  if (ahead !== undefined && ahead.dir !== dir) {
    void dropAhead(backend, ahead);
    ahead = undefined;
  }
  let map = groups.get(backend);
  if (map === undefined) {
    map = new Map();
    groups.set(backend, map);
  }
  let g = map.get(dir);
  if (g === undefined) {
    g = { next: undefined };
    map.set(dir, g);
    return start(backend, dir, g, map, ahead);
  }
  void dropAhead(backend, ahead); // an fsync started after the open: the queued one opens its own
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
