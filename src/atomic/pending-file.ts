import type { Writable } from 'node:stream';
import { hasCode, rejected, type FsError } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import { toBytes } from './data.js';
import { fsyncDirSync, syncDir } from './dir-sync.js';
import { atomicError, canceled, failedAfterRename, failedBeforeRename, throwIfAborted } from './errors.js';
import { deleteLive } from './live-temps.js';
import { renamingOver } from './rename-retry.js';
import { absoluteTarget, type Target } from './resolve-target.js';
import { settingsOf, type Settings } from './settings.js';
import { nodeStream } from '../process/builtins.js';
import type { AtomicCreateOptions } from './types.js';
import { discard, prepareTemp, setMeta, syncAndClose, writeAll, type TempFile } from './write-protocol.js';

/**
 * What a {@link PendingFile} is made of; built by {@link atomicCreate} and createExclusive.
 *
 * @internal
 */
export interface PendingParts {
  readonly settings: Settings;
  readonly target: Target;
  readonly tmp: TempFile;
  /** `'rename'` replaces the target; `'link'` (createExclusive) publishes it only if nothing is there. */
  readonly publish: 'rename' | 'link';
}

const noop = (): void => undefined;

/**
 * A file being written that replaces its target only when committed: a temp file in the target's
 * directory, renamed over the target by {@link PendingFile.commit}, removed by {@link PendingFile.abort}
 * (and by `await using` / `using` without a commit).
 *
 * The mode and owner the file gets on commit are decided when it is created (from the target as it was
 * then, see {@link atomicCreate}). Calls are ordered: writes append in call order, and a commit or an
 * abort waits for the writes before it. A synchronous call while promise-form calls are in flight throws
 * EBUSY (it could not be ordered with them), except {@link PendingFile.abortSync}, which then finishes
 * the cleanup once they are done.
 *
 * A failed write or a failed commit (before the rename) aborts the file: the temp file is removed, the
 * error rethrown (its `target` is `'unchanged'`), and later calls fail with EBADF ("already aborted").
 * Start again with a new PendingFile to retry. Nothing is cleaned up by the garbage collector: a
 * PendingFile that is neither committed nor aborted leaves its temp file (and descriptor) until the
 * process exits; cleanupTemps() removes such files later. Its descriptor is one of the table's (the
 * `table` option): until the commit or abort it counts against the table's budget and shows, with the
 * site that created it, in the table's `openHandles()` and leak reports.
 */
export class PendingFile implements AsyncDisposable, Disposable {
  /** The file this one replaces on commit (absolute; the end of the symlink chain, if the path was one). */
  readonly path: string;
  /** The temp file being written. */
  readonly tempPath: string;

  readonly #s: Settings;
  readonly #target: Target;
  readonly #tmp: TempFile;
  readonly #publish: 'rename' | 'link';
  #state: 'open' | 'committed' | 'aborted' = 'open';
  /** Why it was aborted: an explicit abort, the signal, or a failure (whose error later calls mention). */
  #abortedBy: 'abort' | 'signal' | 'failure' | undefined;
  #commit: Promise<void> | undefined;
  #cleanup: Promise<void> | undefined;
  /** The end of the chain of promise-form calls: each starts when the previous one has settled. */
  #tail: Promise<void> = Promise.resolve();
  #inFlight = 0;
  #onAbort: (() => void) | undefined;

  /** @internal Use {@link atomicCreate}. */
  constructor(path: string, tempPath: string, parts?: PendingParts) {
    if (parts === undefined) throw new TypeError('PendingFile: use atomicCreate() or atomicCreateSync()');
    this.path = path;
    this.tempPath = tempPath;
    this.#s = parts.settings;
    this.#target = parts.target;
    this.#tmp = parts.tmp;
    this.#publish = parts.publish;
    const signal = parts.settings.signal;
    if (signal !== undefined) {
      this.#onAbort = (): void => {
        if (this.#state === 'open' && this.#commit === undefined) void this.#abortWith('signal');
      };
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** `'open'` until committed or aborted (a commit in progress is still `'open'`). */
  get state(): 'open' | 'committed' | 'aborted' {
    return this.#state;
  }

  /** Runs `op` after every promise-form call before it has settled. */
  #run<T>(op: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    const p = this.#tail.then(op);
    this.#tail = p.then(
      () => {
        this.#inFlight--;
      },
      () => {
        this.#inFlight--;
      },
    );
    return p;
  }

  #forgetSignal(): void {
    if (this.#onAbort !== undefined) {
      this.#s.signal?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
  }

  /** The error for a call that needs the file open, or undefined when it is. */
  #notOpen(what: string): FsError | undefined {
    if (this.#state === 'open' && this.#commit === undefined) {
      const signal = this.#s.signal;
      if (signal?.aborted === true) {
        void this.#abortWith('signal');
        return canceled(this.path, signal);
      }
      return undefined;
    }
    const signal = this.#s.signal;
    if (this.#abortedBy === 'signal' && signal !== undefined) return canceled(this.path, signal);
    const why =
      this.#state === 'committed'
        ? 'already committed'
        : this.#state === 'aborted'
          ? this.#abortedBy === 'failure'
            ? 'already aborted (an earlier write or commit failed)'
            : 'already aborted'
          : 'being committed';
    return atomicError({
      code: 'EBADF',
      syscall: what,
      path: this.path,
      detail: `${why}; temp file '${this.tempPath}'`,
    });
  }

  #syncBusy(what: string): void {
    if (this.#inFlight > 0)
      throw atomicError({
        code: 'EBUSY',
        syscall: what,
        path: this.path,
        detail: 'promise-form calls on this PendingFile are in flight',
      });
  }

  /** Appends `data` to the temp file (strings in the `encoding` option). */
  write(data: string | Uint8Array): Promise<void> {
    const e = this.#notOpen('write');
    if (e !== undefined) return rejected(e);
    let bytes: Uint8Array;
    try {
      bytes = toBytes(data, this.#s.encoding);
    } catch (err) {
      return rejected(err);
    }
    return this.#run(() => {
      const e2 = this.#notOpen('write');
      if (e2 !== undefined) throw e2;
      return runAsync(this.#writing(bytes));
    });
  }

  /** Synchronous form of {@link PendingFile.write}. */
  writeSync(data: string | Uint8Array): void {
    const e = this.#notOpen('write');
    if (e !== undefined) throw e;
    this.#syncBusy('write');
    runSync(this.#writing(toBytes(data, this.#s.encoding)));
  }

  /** The protocol of a write: on failure the file is aborted (temp removed) and the error shaped. */
  *#writing(bytes: Uint8Array): Protocol<void> {
    try {
      yield* writeAll(this.#tmp.file, bytes);
    } catch (err) {
      this.#fail();
      yield* discard(this.#s.backend, this.#tmp);
      throw failedBeforeRename(err, this.path, this.tempPath);
    }
  }

  /**
   * A new Writable stream into the temp file: each chunk is a {@link PendingFile.write}. Ending it does
   * not commit (call {@link PendingFile.commit} after its `'finish'`); a failed write errors the stream.
   */
  stream(): Writable {
    return new (nodeStream().Writable)({
      write: (chunk: Buffer, _encoding, callback: (error?: Error | null) => void): void => {
        this.write(chunk).then(
          () => {
            callback();
          },
          (err: unknown) => {
            callback(err instanceof Error ? err : new Error(String(err)));
          },
        );
      },
    });
  }

  #fail(): void {
    this.#state = 'aborted';
    this.#abortedBy = 'failure';
    this.#forgetSignal();
  }

  /**
   * Makes the temp file durable (per the durability option: fchown, fchmod, fsync, close), renames it
   * over the target, and for `'full'` fsyncs the directory. Idempotent: while a commit runs and once it
   * is done, every call returns the same promise. After an abort: EBADF. If it fails before the rename,
   * the file is aborted (temp removed, target unchanged) and the error rethrown; an error after the rename
   * (the directory fsync) leaves it committed and says so.
   */
  commit(): Promise<void> {
    if (this.#commit !== undefined) return this.#commit;
    const e = this.#notOpen('rename');
    if (e !== undefined) return rejected(e);
    this.#commit = this.#run(() => runAsync(this.#committing()));
    return this.#commit;
  }

  /** Synchronous form of {@link PendingFile.commit}. */
  commitSync(): void {
    if (this.#state === 'committed') return;
    const e = this.#notOpen('rename');
    if (e !== undefined) throw e;
    this.#syncBusy('rename');
    try {
      runSync(this.#committing());
    } catch (err) {
      if (this.state === 'committed') {
        this.#commit = rejected(err); // renamed: a later commit() reports the same
        this.#commit.catch(noop);
      }
      throw err;
    }
    this.#commit = Promise.resolve();
  }

  /** The protocol of a commit: see {@link PendingFile.commit}. */
  *#committing(): Protocol<void> {
    const b = this.#s.backend;
    const tmp = this.#tmp;
    const target = this.#target;
    try {
      throwIfAborted(this.#s.signal, this.path);
      yield* setMeta(tmp.file, target);
      yield* syncAndClose(tmp, this.#s.durability, target.dir);
      throwIfAborted(this.#s.signal, this.path);
      if (this.#publish === 'rename') {
        yield* renamingOver(b, tmp.path, target.path);
      } else {
        yield* call(
          () => {
            b.linkSync(tmp.path, target.path);
          },
          () => b.link(tmp.path, target.path),
        );
      }
    } catch (err) {
      if (this.#s.signal?.aborted === true && !hasCode(err, 'EEXIST')) {
        this.#state = 'aborted';
        this.#abortedBy = 'signal';
        this.#forgetSignal();
      } else this.#fail();
      yield* discard(b, tmp);
      throw failedBeforeRename(err, this.path, this.tempPath);
    }
    this.#committed();
    let failed = false;
    let error: unknown;
    if (this.#s.durability === 'full') {
      try {
        yield* call(
          () => {
            fsyncDirSync(b, target.dir);
          },
          () => syncDir(b, target.dir),
        );
      } catch (err) {
        failed = true;
        error = failedAfterRename(err, target.path);
      }
    }
    if (this.#publish === 'link') yield* discard(b, tmp); // the target is a second name of it now
    if (failed) throw error;
  }

  #committed(): void {
    this.#state = 'committed';
    this.#forgetSignal();
    if (this.#publish === 'rename') {
      this.#tmp.removed = true; // renamed: the name may be someone else's from now on
      deleteLive(this.#tmp.path);
    }
  }

  #abortWith(by: 'abort' | 'signal'): Promise<void> {
    if (this.#cleanup !== undefined) return this.#cleanup;
    this.#state = 'aborted';
    this.#abortedBy = by;
    this.#forgetSignal();
    this.#cleanup = this.#run(() => runAsync(discard(this.#s.backend, this.#tmp)));
    return this.#cleanup;
  }

  /**
   * Closes and removes the temp file; the target is untouched. Idempotent; nothing after a commit. While
   * a commit is running, waits for it (its outcome stands: a commit is not interrupted). Never rejects.
   */
  abort(): Promise<void> {
    if (this.#commit !== undefined) return this.#commit.then(noop, noop);
    if (this.#state === 'aborted') return this.#cleanup ?? this.#tail;
    return this.#abortWith('abort');
  }

  /**
   * Synchronous form of {@link PendingFile.abort}. With promise-form calls in flight it cannot close the
   * descriptor under them: it marks the file aborted and the cleanup runs as soon as they have settled.
   */
  abortSync(): void {
    if (this.#commit !== undefined || this.#state !== 'open') return;
    if (this.#inFlight > 0) {
      void this.#abortWith('abort');
      return;
    }
    this.#state = 'aborted';
    this.#abortedBy = 'abort';
    this.#forgetSignal();
    runSync(discard(this.#s.backend, this.#tmp));
  }

  /** `await using`: aborts unless committed (waits for a commit in progress). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.abort();
  }

  /** `using`: aborts unless committed. */
  [Symbol.dispose](): void {
    this.abortSync();
  }
}

/** The protocol of {@link atomicCreate}: target resolved, temp file created, the PendingFile made. */
function* creating(key: string, s: Settings): Protocol<PendingFile> {
  throwIfAborted(s.signal, key);
  const { target, tmp } = yield* prepareTemp(key, s);
  if (s.signal?.aborted === true) {
    yield* discard(s.backend, tmp);
    throw canceled(target.path, s.signal);
  }
  return new PendingFile(target.path, tmp.path, { settings: s, target, tmp, publish: 'rename' });
}

/**
 * Starts a {@link PendingFile} for `path`: resolves the target as {@link atomicWrite} does (symlinks
 * followed unless `replaceSymlink`, EISDIR, `mkdir`), decides the mode and owner the file will get, and
 * creates the temp file beside the target, through the `table` option's table (waiting for a slot when
 * it is at its budget). Write to it, then `commit()`; or `abort()` (or let `await using` do it).
 * `signal` aborts the file (until the rename).
 */
export async function atomicCreate(path: string, options: AtomicCreateOptions = {}): Promise<PendingFile> {
  return runAsync(creating(absoluteTarget(path), settingsOf(options)));
}

/** Synchronous form of {@link atomicCreate} (EMFILE, rather than a wait, when the table is at its budget). */
export function atomicCreateSync(path: string, options: Omit<AtomicCreateOptions, 'signal'> = {}): PendingFile {
  return runSync(creating(absoluteTarget(path), settingsOf({ ...options, signal: undefined })));
}
