/**
 * `LogFile`: an append-only writer of lines or records that survives rotation. It notices by itself
 * when its path stops naming the file it has open (renamed away, deleted, replaced, turned into a
 * directory, truncated), reopens within a bounded delay, and carries into the new file the lines a
 * deleted or replaced file received after the last confirmed check. See docs/logs.md.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { basename, dirname, resolve } from 'node:path';
import type { Backend, FileStat } from '../backend/backend.js';
import { isOnOs } from '../backend/on-os.js';
import { OpenSite } from '../diagnostics/open-site.js';
import { FsError, toFsError } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import type { Descriptor } from '../table/descriptor.js';
import { carryOver } from './carry-over.js';
import { watchDirectory, type DirWatch } from './dir-watch.js';
import { addExitFlush, removeExitFlush } from '../process/exit-hooks.js';
import { checkIdentity } from './identity-check.js';
import { KeepQueue } from './keep-queue.js';
import { openLogPath, type OpenedPath } from './open-path.js';
import { RecordBuffer } from './record-buffer.js';
import { logSettingsOf, type LogSettings } from './settings.js';
import { addSignalReopen, removeSignalReopen } from './signal-reopen.js';
import {
  type CarriedOver,
  type DropEvent,
  type LogFileOptions,
  type LogFileStats,
  type ReopenEvent,
  type ReopenReason,
} from './types.js';
import { writeFully } from './write-fully.js';

/**
 * The buffer size once the file has been truncated under the log (logrotate's `copytruncate`): a buffer
 * written between logrotate's look at the file and its truncate is lost whole, so after the first
 * truncation the log writes in smaller batches (~40 lines of 100 bytes instead of ~650): the same loss on
 * average as a line-by-line writer, without its scatter.
 */
const COPYTRUNCATE_BATCH = 4096;

/** The events of a {@link LogFile}, for typed listeners. */
export interface LogFileEvents {
  /** The log reopened its path (or, for `'truncated'`, noticed a truncation). */
  reopen: [event: ReopenEvent];
  /** A write, reopen or fsync failed; records are kept and retried. Once per failure episode and code. */
  error: [error: FsError];
  /** Records were dropped because the keep-queue was full. */
  drop: [event: DropEvent];
  /** Writing works again after a failure; kept records have been written. */
  resume: [];
  /** `write()` returned false earlier and the buffer has been written since. */
  drain: [];
  /** The log is closed. */
  close: [];
}

function newlines(b: Uint8Array): number {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * A log file that notices rotation. Create it with {@link openLog}.
 *
 * - `write(record)` appends a string or bytes record (give it whole lines: records are never split
 *   between write syscalls, so several processes appending to one file never interleave inside one).
 *   It buffers; a full buffer (`bufferSize`) is written at once, and a timer writes the rest every
 *   `flushInterval` ms. It returns false while records cannot reach the file (backpressure).
 * - Every `checkInterval` ms, at once when `fs.watch` reports a name change in the directory, and around
 *   every buffer write (`checkAroundWrites`), it compares (dev, ino) of the path with the open descriptor
 *   and reopens when they differ — except that after a rename with nothing at the path it leaves the
 *   path to the rotator for `renameGrace` ms, writing on into the renamed file.
 * - Failures (disk full, permission refused, the directory gone) go to the `'error'` event; records are
 *   kept (up to `maxKept` bytes, the rest counted in {@link LogFile.dropped}) and written when a retry
 *   succeeds (`'resume'`).
 *
 * Events: `'reopen'` ({@link ReopenEvent}), `'error'` ({@link FsError}; without a listener it becomes a
 * process warning, since a full disk must not crash the service), `'drop'` ({@link DropEvent}),
 * `'resume'`, `'drain'`, `'close'`.
 *
 * Single-threaded JavaScript makes every method safe to call from anywhere in the process; the file
 * may be shared with other processes appending to it.
 */
export class LogFile extends EventEmitter<LogFileEvents> implements Disposable, AsyncDisposable {
  /** The path written to, as given (resolved against the working directory at open). */
  readonly path: string;

  private readonly settings: LogSettings;
  private readonly backend: Backend;
  private readonly absolute: string;
  private readonly buffer: RecordBuffer;
  private readonly kept: KeepQueue;
  /**
   * Where the log was opened (the caller of openLog), when the table's site policy records sites:
   * every descriptor the log opens, reopens included, shows this line in the table's leak report.
   */
  private readonly site: OpenSite | undefined;

  /** The open file, a descriptor in the settings' table (`d.readable`: carry-over can read it back). */
  private d: Descriptor;
  /** Whether `d` is a regular file (truncation is checked only then). */
  private regular = true;
  /** The size of the open file at the last check that confirmed the path: carry-over starts here. */
  private confirmed = 0;
  /** At least this many bytes should be in the file (confirmed + written since): less means truncated. */
  private expectedMin = 0;
  private lastCheck = 0;
  /**
   * Set while the open file has been renamed away and nothing is at the path yet: until this instant
   * (performance.now()) the log waits for the rotator to create the next file, writing on into the
   * renamed one (logrotate's `create` opens the path with O_EXCL and fails if we create it first).
   */
  private graceUntil: number | undefined;
  private lastSync = 0;
  private unsynced = false;

  /** Set while failing: the error reported for the current episode. */
  private failure: FsError | undefined;
  /** A reopen that detection asked for but that failed (retried with the kept records). */
  private pendingReopen: { reason: ReopenReason; unlinked: boolean } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  /** The timer's period: the smallest of the check, flush and fsync intervals. */
  private readonly tickMs: number;
  private watch: DirWatch | undefined;
  private flushScheduled = false;
  private wantDrain = false;
  private closed = false;
  private warned = false;

  // statistics
  private readonly reopenCounts: Record<ReopenReason, number> = {
    renamed: 0,
    deleted: 0,
    replaced: 0,
    'not-a-file': 0,
    truncated: 0,
    manual: 0,
    signal: 0,
    lost: 0,
  };
  private carriedBytes = 0;
  private carriedLines = 0;
  private writes = 0;
  private writeCalls = 0;
  private bytesWritten = 0;
  private checks = 0;
  private errors = 0;

  /** Use {@link openLog}. */
  constructor(path: string, options: LogFileOptions = {}) {
    super();
    if (typeof path !== 'string' || path === '')
      throw new TypeError(`path must be a non-empty string, got ${typeof path === 'string' ? "''" : typeof path}`);
    this.settings = logSettingsOf(options, path);
    this.backend = this.settings.backend;
    this.path = path;
    // A chdir later must not move the log: name it absolutely for the OS; the memory backend has its own cwd.
    this.absolute = isOnOs(this.backend) ? resolve(path) : path;
    this.buffer = new RecordBuffer(this.settings.bufferSize);
    this.kept = new KeepQueue(this.settings.maxKept);
    const table = this.settings.table;
    // Captured here, not in the table: this frame's callers are the user's line, and a reopen (from a
    // timer) has no user frame at all.
    this.site = table.sites.shouldCapture(table.size) ? OpenSite.capture() : undefined;

    // Throws: a log that cannot be opened at all is the caller's error.
    const { d, st } = this.openPath();
    this.d = d;
    this.adopt(st);
    this.lastCheck = performance.now();
    this.lastSync = this.lastCheck;

    this.tickMs = Math.min(
      this.settings.checkInterval,
      this.settings.flushInterval,
      typeof this.settings.fsync === 'object' ? this.settings.fsync.intervalMs : Infinity,
    );
    this.ticker = setInterval(() => {
      this.onTick();
    }, this.tickMs);
    this.ticker.unref();
    this.startWatch();
    if (this.settings.exitFlush) addExitFlush(this);
    if (this.settings.reopenOnSignal !== false) addSignalReopen(this.settings.reopenOnSignal, this);
  }

  // ---------------------------------------------------------------- public API

  /**
   * Appends one record (or a batch of whole records). Returns false when it is over the high-water mark:
   * with `sync: false`, while a full buffer waits for the next turn of the event loop; in both modes,
   * while the file cannot be written and records go to the keep-queue (or are dropped). `'drain'`
   * follows a false once records flow again. Throws EBADF after close.
   */
  write(chunk: string | Uint8Array): boolean {
    this.writes++;
    if (this.closed)
      throw new FsError({ code: 'EBADF', syscall: 'write', path: this.path, detail: 'the log file is closed' });
    if (this.failure !== undefined) return this.keep(chunk);
    let full: boolean;
    if (typeof chunk === 'string') full = this.buffer.pushText(chunk);
    else if (chunk instanceof Uint8Array) full = this.buffer.pushBytes(chunk);
    else throw new TypeError(`a log record must be a string or a Uint8Array, got ${typeof chunk}`);
    if (!full) return true;
    if (this.settings.sync) {
      this.flushBuffer();
      if (!this.failing) return true;
      this.wantDrain = true;
      return false;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (this.closed) return;
        this.flushBuffer();
        this.maybeDrain();
      });
    }
    this.wantDrain = true;
    return false;
  }

  /**
   * Writes everything buffered so far to the file, synchronously. While the file cannot be written, it
   * retries once, and what still fails stays in the keep-queue. Never throws for I/O failures (they go
   * to `'error'`); a no-op after close.
   */
  flushSync(): void {
    if (this.closed) return;
    if (this.failure !== undefined && !this.recover()) {
      this.keepBuffer();
      return;
    }
    this.flushBuffer();
    this.maybeDrain();
  }

  /** Promise form of {@link LogFile.flushSync} (resolves once the records are in the file or kept). */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.flushSync();
      resolve();
    });
  }

  /**
   * Reopens the path now (the logrotate convention, for a `postrotate` hook): buffered records go to
   * the new file, and if the old one has no name left, its unconfirmed lines are carried over.
   */
  reopenSync(): void {
    this.reopenBy('manual');
  }

  /**
   * Runs the identity check now (the timer and the `fs.watch` hint do this by themselves) and reopens
   * if the path no longer names the open file. Returns what it found: the reopen reason, or undefined
   * when the path still names the file, when the file was renamed away and the log is still leaving the
   * empty path to the rotator (`renameGrace`), or when the log is failing, closed, or the check could
   * not tell.
   */
  checkNow(): ReopenReason | undefined {
    if (this.closed || this.failure !== undefined) return undefined;
    return this.check();
  }

  /** Promise form of {@link LogFile.reopenSync}. */
  reopen(): Promise<void> {
    return new Promise((resolve) => {
      this.reopenSync();
      resolve();
    });
  }

  /**
   * Flushes, checks the path a last time (so lines written into a file deleted a moment ago are carried
   * over), and closes. Idempotent. Records still kept because the file cannot be written are counted in
   * {@link LogFile.dropped}.
   */
  closeSync(): void {
    runSync(this.closing());
  }

  /**
   * Promise form of {@link LogFile.closeSync}: the records are written before it returns (a `write()`
   * after it throws EBADF); the final fsync (with an `fsync` policy) and the close run without blocking
   * the event loop, and the promise resolves once the descriptor is closed.
   */
  close(): Promise<void> {
    return runAsync(this.closing());
  }

  /** The close, run by {@link LogFile.closeSync} and {@link LogFile.close}: everything but fsync and close(2) is synchronous in both. */
  private *closing(): Protocol<void> {
    if (this.closed) return;
    this.flushSync();
    if (this.failure === undefined) this.check();
    if (this.failure !== undefined) this.recover();
    this.closed = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.watch?.close();
    if (this.settings.exitFlush) removeExitFlush(this);
    if (this.settings.reopenOnSignal !== false) removeSignalReopen(this.settings.reopenOnSignal, this);
    if (!this.kept.empty) {
      this.kept.dropKept();
      this.reportDrops();
    }
    const d = this.d;
    if (this.unsynced && this.settings.fsync !== 'never') {
      try {
        yield* call(
          () => {
            d.syncSync();
          },
          () => d.sync(),
        );
      } catch {
        // reported with the close below if it matters
      }
    }
    try {
      yield* call(
        () => {
          d.closeSync();
        },
        () => d.close(),
      );
    } catch (e) {
      this.report(toFsError(e, 'close', { path: this.path, fd: d.number }));
    }
    this.emit('close');
  }

  /** Closes synchronously (`using log = openLog(…)`). */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** Closes (`await using log = openLog(…)`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Whether {@link LogFile.close} has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether the log is failing: records go to the keep-queue until a retry succeeds. */
  get failing(): boolean {
    return this.failure !== undefined;
  }

  /** Records dropped because the keep-queue overflowed while failing (and records still kept at close). */
  get dropped(): number {
    return this.kept.dropped;
  }

  /** A snapshot of the counters. */
  get stats(): LogFileStats {
    const reopens = { ...this.reopenCounts };
    const carried: CarriedOver = { bytes: this.carriedBytes, lines: this.carriedLines };
    return {
      reopens,
      carried,
      writes: this.writes,
      writeCalls: this.writeCalls,
      bytesWritten: this.bytesWritten,
      checks: this.checks,
      errors: this.errors,
      dropped: this.kept.dropped,
      keptBytes: this.kept.bytes,
    };
  }

  // ---------------------------------------------------------------- hooks (exit, signal)

  /** @internal The exit hooks: flush, and a last check so a just-deleted file's lines are carried over. */
  flushForExit(): void {
    if (this.closed) return;
    this.flushSync();
    // The descriptor was lost just now (an earlier exit listener closed it through the table): reopen
    // and write the kept records at once, since no retry timer runs after this.
    if (this.pendingReopen?.reason === 'lost') this.recover();
    if (this.failure === undefined) this.check();
    if (this.unsynced && this.settings.fsync !== 'never') this.syncNow();
  }

  /** @internal The signal hook. */
  reopenForSignal(): void {
    if (!this.closed) this.reopenBy('signal');
  }

  // ---------------------------------------------------------------- writing

  /**
   * Writes the buffer to the file (one write syscall for a regular file); on failure, keeps the rest.
   * With `checkAroundWrites` (default) a regular file is checked on both sides of the write (two fstat +
   * stat pairs per buffer, nothing per record): before, so that a buffer never goes into a file the path
   * stopped naming a moment ago (a rotator's compressor may be reading it: what it misses is gone with
   * it); after, so that what was just written is confirmed at once and never carried over (duplicated)
   * when the file later goes.
   */
  private flushBuffer(): void {
    if (this.buffer.empty) return;
    const around = this.regular && this.settings.checkAroundWrites;
    if (this.failure === undefined && around) this.check();
    if (this.failure !== undefined) {
      this.keepBuffer();
      return;
    }
    const records = this.buffer.records;
    const bytes = this.buffer.take();
    const out = writeFully(this.d, bytes);
    this.accountWrite(out.written, out.calls);
    if (out.error !== undefined) {
      const rest = bytes.subarray(out.written);
      this.kept.keepFailed(rest, out.written === 0 ? records : newlines(rest) + (rest[rest.length - 1] === 10 ? 0 : 1));
      this.fail(out.error);
      return;
    }
    // Confirm what was written (on a regular file), and check on the writer's own flushes anyway once the
    // interval has passed: a busy writer may keep the event loop from running the timer.
    if (around || performance.now() - this.lastCheck >= this.settings.checkInterval) this.check();
  }

  private accountWrite(bytes: number, calls: number): void {
    this.writeCalls += calls;
    this.bytesWritten += bytes;
    this.expectedMin += bytes;
    if (bytes === 0) return;
    this.unsynced = true;
    if (this.settings.fsync === 'every') this.syncNow();
  }

  private syncNow(): void {
    this.lastSync = performance.now();
    this.unsynced = false;
    try {
      this.d.syncSync();
    } catch (e) {
      this.report(this.naming(toFsError(e, 'fsync', { fd: this.d.number })));
    }
  }

  /** While failing: one record into the keep-queue, or counted as dropped. */
  private keep(chunk: string | Uint8Array): false {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!(bytes instanceof Uint8Array))
      throw new TypeError(`a log record must be a string or a Uint8Array, got ${typeof chunk}`);
    this.kept.offer(bytes);
    this.wantDrain = true;
    return false;
  }

  /** Moves the buffer into the keep-queue (failing: nothing may be written before the kept records). */
  private keepBuffer(): void {
    if (this.buffer.empty) return;
    const records = this.buffer.records;
    this.kept.keepFailed(this.buffer.take(), records);
  }

  private maybeDrain(): void {
    if (this.wantDrain && this.failure === undefined && this.buffer.size < this.settings.bufferSize) {
      this.wantDrain = false;
      this.emit('drain');
    }
  }

  // ---------------------------------------------------------------- detection

  private onTick(): void {
    if (this.closed) return;
    // Flush first, so the check confirms what was just written (fewer lines to carry, fewer duplicates).
    if (this.failure === undefined) this.flushBuffer();
    // Check unless the next tick still comes within checkInterval of the last check (a hint-triggered
    // check does not postpone the timer's: the confirmed offset must never age past one interval, since
    // the lines after it are the ones a replace can duplicate).
    if (this.failure === undefined && performance.now() - this.lastCheck + this.tickMs > this.settings.checkInterval)
      this.check();
    const fs = this.settings.fsync;
    if (this.unsynced && typeof fs === 'object' && performance.now() - this.lastSync >= fs.intervalMs) this.syncNow();
    this.maybeDrain();
  }

  /** The identity check; reopens when the path no longer names the open file. Returns why it reopened. */
  private check(): ReopenReason | undefined {
    if (this.closed || this.pendingReopen !== undefined) return undefined;
    this.checks++;
    this.lastCheck = performance.now();
    const v = checkIdentity(this.backend, this.absolute, this.d);
    if (v.kind === 'unknown') return undefined;
    if (v.kind === 'same') {
      this.graceUntil = undefined;
      const truncated = this.regular && v.size < this.expectedMin;
      this.confirmed = v.size;
      this.expectedMin = v.size;
      if (!truncated) return undefined;
      // copytruncate: O_APPEND already writes at the new end; nothing to reopen, but say so.
      this.buffer.lowerLimit(COPYTRUNCATE_BATCH);
      this.reopenCounts.truncated++;
      this.emit('reopen', { reason: 'truncated', carried: { bytes: 0, lines: 0 } });
      return 'truncated';
    }
    if (v.reason === 'renamed' && v.vacant && this.waitForRotator(v.size)) return undefined;
    this.reopenFor(v.reason, v.unlinked);
    return v.reason;
  }

  /**
   * Renamed away, nothing at the path: whether to keep writing into the renamed file a while longer
   * (`renameGrace`), leaving the path for the rotator to create. What the renamed file holds now was
   * written while the path was empty, before any create, so a compressor started after that create
   * reads all of it: confirmed.
   */
  private waitForRotator(size: number): boolean {
    const grace = this.settings.renameGrace;
    if (grace <= 0) return false;
    const now = performance.now();
    this.graceUntil ??= now + grace;
    if (now >= this.graceUntil) return false;
    this.confirmed = size;
    this.expectedMin = size;
    return true;
  }

  /** A reopen asked for from outside (manual, signal): with carry-over if the old file has no name left. */
  private reopenBy(reason: 'manual' | 'signal'): void {
    if (this.closed) return;
    let unlinked = false;
    try {
      unlinked = this.d.statSync().nlink === 0;
    } catch {
      // the descriptor is unusable: reopen anyway, nothing to carry
    }
    this.pendingReopen = undefined;
    if (this.reopenFor(reason, unlinked) && this.failure !== undefined) this.recover();
  }

  /**
   * Opens the path anew, carries over what the old file got since the last confirmed check if it has no
   * name left, switches descriptors and closes the old one. Returns false (and fails) if the open fails;
   * the old descriptor is then kept, for the carry-over of a later attempt.
   */
  private reopenFor(reason: ReopenReason, unlinked: boolean): boolean {
    let d: Descriptor;
    let st: FileStat;
    try {
      ({ d, st } = this.openPath());
    } catch (e) {
      this.pendingReopen = { reason, unlinked };
      this.keepBuffer();
      this.fail(toFsError(e, 'open', { path: this.path }));
      return false;
    }
    const old = this.d;
    let carried = { bytes: 0, lines: 0 };
    let keptRest: Buffer | undefined;
    let carryError: FsError | undefined;
    if (unlinked && this.settings.carryOver && old.readable) {
      const r = carryOver(old, d, this.confirmed);
      this.writeCalls += r.calls;
      this.bytesWritten += r.bytes;
      carried = { bytes: r.bytes, lines: r.lines };
      this.carriedBytes += r.bytes;
      this.carriedLines += r.lines;
      keptRest = r.rest;
      carryError = r.error;
    }
    this.d = d;
    this.adopt(st);
    this.expectedMin += carried.bytes;
    if (carried.bytes > 0) {
      this.unsynced = true;
      // The carried lines are in the new file now; confirm them there at once. Left unconfirmed (the
      // fstat above predates them), a replace of the new file before the next check would carry them
      // a second time. If the path no longer names the new file, the next check deals with it.
      const v = checkIdentity(this.backend, this.absolute, d);
      if (v.kind === 'same') {
        this.confirmed = v.size;
        this.expectedMin = v.size;
      }
    }
    this.pendingReopen = undefined;
    this.graceUntil = undefined;
    try {
      old.closeSync();
    } catch {
      // close(2) frees the number even when it reports an error; nothing was pending on it
    }
    this.reopenCounts[reason]++;
    this.startWatch();
    this.lastCheck = performance.now();
    this.emit('reopen', { reason, carried });
    if (carryError !== undefined) {
      // The rest of the carried lines come first: before the buffer and before anything kept.
      this.keepBuffer();
      if (keptRest !== undefined) this.kept.keepFront(keptRest, newlines(keptRest));
      this.fail(carryError);
    }
    return true;
  }

  /** Opens the path in the table (see open-path.ts: the link rule, regular files only). */
  private openPath(): OpenedPath {
    return openLogPath(this.settings, this.absolute, this.site);
  }

  /** Takes `st` (the newly opened file) as the confirmed state. */
  private adopt(st: FileStat): void {
    this.regular = st.isFile();
    this.confirmed = st.size;
    this.expectedMin = st.size;
  }

  private startWatch(): void {
    this.watch?.close();
    this.watch = undefined;
    if (!this.settings.watch || !isOnOs(this.backend) || this.closed) return;
    this.watch = watchDirectory(dirname(this.absolute), basename(this.absolute), () => {
      // A name changed in the directory: check now rather than at the next tick; while a reopen fails
      // (a FIFO or a foreign link at the path), try it again now: the name that blocked it may be gone.
      if (this.closed) return;
      if (this.failure === undefined) this.check();
      else if (this.pendingReopen !== undefined) this.recover();
    });
  }

  // ---------------------------------------------------------------- failure and recovery

  /** Descriptor errors (write, fsync) name only the fd: `e` saying which log it was, if it did not. */
  private naming(e: FsError): FsError {
    if (e.path !== undefined) return e;
    return new FsError({
      code: e.code,
      syscall: e.syscall,
      path: this.path,
      fd: e.fd,
      detail: e.detail,
      bytesWritten: e.bytesWritten,
      cause: e,
    });
  }

  /** Enters (or stays in) the failing state; reports the error once per episode and code. */
  private fail(cause: FsError): void {
    const err = this.naming(cause);
    const fresh = this.failure === undefined || this.failure.code !== err.code;
    this.failure = err;
    // The descriptor itself is gone (closed behind the log's back, or revoked by its table when the
    // kernel gave its number to another open): no retry on it can succeed, a reopen of the path can.
    if (this.pendingReopen === undefined && (this.d.closed || this.d.description.revoked !== undefined))
      this.pendingReopen = { reason: 'lost', unlinked: false };
    if (fresh) this.report(err);
    this.scheduleRetry();
  }

  private report(err: FsError): void {
    this.errors++;
    if (this.listenerCount('error') > 0) {
      this.emit('error', err);
      return;
    }
    // Unlike a stream, an unwatched log error does not throw: a full disk must not crash the service.
    if (!this.warned) {
      this.warned = true;
      process.emitWarning(
        `${err.message} (log records are kept and retried; listen for 'error' on the LogFile to handle this)`,
        { code: 'FDKEEPER_LOG_ERROR' },
      );
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed) return;
      this.reportDrops();
      if (!this.recover()) this.scheduleRetry();
    }, this.settings.retryInterval);
    this.retryTimer.unref();
  }

  /** Tries to leave the failing state: the pending reopen, then the kept records in order. */
  private recover(): boolean {
    if (this.failure === undefined) return true;
    if (this.pendingReopen !== undefined) {
      const { reason, unlinked } = this.pendingReopen;
      if (!this.reopenFor(reason, unlinked)) return false;
    }
    for (let chunk = this.kept.peek(); chunk !== undefined; chunk = this.kept.peek()) {
      const out = writeFully(this.d, chunk);
      this.accountWrite(out.written, out.calls);
      this.kept.consume(out.written);
      if (out.error !== undefined) {
        this.fail(out.error);
        return false;
      }
    }
    this.failure = undefined;
    this.warned = false;
    this.reportDrops();
    this.emit('resume');
    // Records buffered meanwhile (none in the failing state, but a reopen may have left some) follow.
    this.flushBuffer();
    this.maybeDrain();
    return !this.failing;
  }

  private reportDrops(): void {
    const d = this.kept.takeDrops();
    if (d.records > 0) this.emit('drop', d);
  }
}

/**
 * Opens (creating it if needed) a log file that survives rotation: see {@link LogFile}. Synchronous, so
 * a logger can be made at module load; throws an {@link FsError} if the file cannot be opened at all
 * (missing directory without `mkdir`, a directory at the path, permission refused).
 *
 * ```ts
 * const log = openLog('/var/log/app.log');
 * log.write(`${new Date().toISOString()} started\n`);
 * ```
 */
export function openLog(path: string, options?: LogFileOptions): LogFile {
  return new LogFile(path, options);
}
