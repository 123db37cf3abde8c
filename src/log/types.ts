/**
 * The public shapes of log files: options, events, statistics.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the target of {@link LogFile} in the comments
import type { LogFile } from './log-file.js';
import type { FileTable } from '../table/file-table.js';

/**
 * Why a {@link LogFile} reopened its path:
 * - `'renamed'`: the open file was renamed away (logrotate's `create`); its lines stay in the renamed file;
 * - `'deleted'`: the open file was unlinked and nothing is at the path (or something new appeared later);
 * - `'replaced'`: another file took the path and the open one has no name left (an editor's
 *   write-new-then-rename-over, `mv new log`);
 * - `'not-a-file'`: a directory (or a FIFO or socket) took the path;
 * - `'truncated'`: the open file shrank under the writer (logrotate's `copytruncate`); the descriptor is
 *   kept, since `O_APPEND` already writes at the new end;
 * - `'manual'`: {@link LogFile.reopen} or {@link LogFile.reopenSync} was called;
 * - `'signal'`: the configured {@link LogFileOptions.reopenOnSignal} signal arrived;
 * - `'lost'`: the log's own descriptor became unusable (its number was closed behind the log's back, or
 *   its table revoked it when the kernel gave the number to another open); nothing is carried.
 */
export type ReopenReason =
  'renamed' | 'deleted' | 'replaced' | 'not-a-file' | 'truncated' | 'manual' | 'signal' | 'lost';

/** Every {@link ReopenReason}, in a fixed order (for statistics and reports). */
export const REOPEN_REASONS: readonly ReopenReason[] = [
  'renamed',
  'deleted',
  'replaced',
  'not-a-file',
  'truncated',
  'manual',
  'signal',
  'lost',
];

/** What carry-over moved from the old file into the new one. */
export interface CarriedOver {
  /** Bytes copied. */
  readonly bytes: number;
  /** Newline characters among them (the number of whole lines, for line-oriented logs). */
  readonly lines: number;
}

/** The payload of a LogFile's `'reopen'` event. */
export interface ReopenEvent {
  /** Why the log reopened. */
  readonly reason: ReopenReason;
  /** What was carried from the old file (zeros when nothing was, e.g. for `'renamed'`). */
  readonly carried: CarriedOver;
}

/** The payload of a LogFile's `'drop'` event: records refused since the previous `'drop'` event. */
export interface DropEvent {
  /** Records (calls to `write`) dropped. */
  readonly records: number;
  /** Their bytes (UTF-8). */
  readonly bytes: number;
}

/**
 * When a LogFile calls fsync(2): `'never'` (the default: the page cache is the kernel's business),
 * `'every'` (after every write syscall: slow, for audit logs), or at most once per `intervalMs` while
 * there is unsynced data.
 */
export type FsyncPolicy = 'never' | 'every' | { readonly intervalMs: number };

/**
 * Which symlinks at the log path a (re)open follows:
 * - `'protected'` (default): the kernel's `fs.protected_symlinks` rule, applied whatever the kernel's
 *   setting: in a sticky world-writable directory (like /tmp) a link is followed only if it is owned by
 *   this process's user or by the directory's owner; anywhere else links are followed;
 * - `'always'`: follow every link, as open(2) does with the kernel protection off;
 * - `'never'`: never follow a link at the path (the open fails with ELOOP).
 */
export type SymlinkPolicy = 'protected' | 'always' | 'never';

/** The signals that can request a reopen (the logrotate `postrotate kill -HUP` convention). */
export type ReopenSignal = 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';

/** Options of {@link openLog}. Every one is optional; the defaults are the documented behaviour. */
export interface LogFileOptions {
  /**
   * The descriptor table the log opens its files through: the log's descriptor counts against the
   * table's `maxOpen` budget and shows in its `openHandles()` and leak report (with the line that
   * opened the log as its open site). Default: a table over `backend` if one is given, else the
   * process table `fdtable`.
   */
  readonly table?: FileTable;
  /**
   * The file system to write to, when no `table` is given: the log then opens through one table over
   * this backend (the same table for every log given the same backend). Default: the table's backend
   * (the real OS for the process table). Given together with `table`, it must be `table.backend`. The
   * `fs.watch` hint is used only when the backend is the OS (or a fault-injecting wrapper over it).
   */
  readonly backend?: Backend;
  /** Permission bits for files the log creates, before the umask. Default `0o666` (so `0o644` under the usual umask). */
  readonly mode?: number;
  /** Create missing parent directories, on the first open and on every reopen. Default false. */
  readonly mkdir?: boolean;
  /**
   * Milliseconds between identity checks (an fstat and a stat). Default 100. A replaced, deleted or
   * renamed file is noticed within this delay, plus however long the event loop is blocked; a writer that
   * keeps the loop busy is checked on its own buffer flushes once this delay has passed.
   */
  readonly checkInterval?: number;
  /**
   * Milliseconds to wait, after the open file was renamed away and nothing is at the path yet, for the
   * rotator to create the next file there (logrotate's `create` step) before creating it ourselves.
   * Meanwhile records go on into the renamed file, where the rotator expects them. Default 1000; 0
   * creates the path at once (and races logrotate's `create`, which then fails with EEXIST).
   */
  readonly renameGrace?: number;
  /**
   * Check the path right before and right after every buffer write to a regular file (two fstat + stat
   * pairs per write syscall; nothing per record). Before: a buffer never goes into a file renamed away
   * and already replaced at the path (a rotator's compressor may be reading it, and what it misses is
   * deleted with it). After: what was just written is confirmed at once, so carry-over never copies it
   * a second time. Default true; false leaves detection to the timer, the hint and `checkNow()`.
   */
  readonly checkAroundWrites?: boolean;
  /** Which symlinks at the path are followed: see {@link SymlinkPolicy}. Default `'protected'`. */
  readonly followSymlinks?: SymlinkPolicy;
  /** Watch the directory (`fs.watch`) to check at once when an entry is created, renamed or removed. Default true. */
  readonly watch?: boolean;
  /** Copy the lines a deleted or replaced file received after the last confirmed check into the new file. Default true. */
  readonly carryOver?: boolean;
  /** Bytes (UTF-16 code units for strings: bytes for ASCII) buffered before a write syscall. Default 65536. */
  readonly bufferSize?: number;
  /** Milliseconds a buffered record may wait for a write. Default 100. */
  readonly flushInterval?: number;
  /**
   * `true` (default): a full buffer is written synchronously inside `write()`: the fastest form, and an
   * exit loses nothing. `false`: `write()` never makes a syscall; a full buffer is written on the next
   * turn of the event loop, and `write()` returns false (backpressure) until then.
   */
  readonly sync?: boolean;
  /** When to fsync. Default `'never'`. */
  readonly fsync?: FsyncPolicy;
  /** A signal that makes every LogFile with this option reopen (logrotate's `postrotate`). Default false. */
  readonly reopenOnSignal?: ReopenSignal | false;
  /**
   * Flush synchronously on `process.exit`, `beforeExit`, an uncaught exception and SIGINT, SIGTERM and
   * SIGHUP (then let the signal do what it would have done). Default true.
   */
  readonly exitFlush?: boolean;
  /**
   * Bytes of records kept in memory while the file cannot be written (disk full, permission refused,
   * parent directory gone). Records that do not fit are dropped (the newest: what is kept is the
   * contiguous run from the failure on) and counted in {@link LogFile.dropped}. Default 16 MiB.
   */
  readonly maxKept?: number;
  /** Milliseconds between retries while the file cannot be written. Default 500. */
  readonly retryInterval?: number;
}

/** Counters of a LogFile, for monitoring and tests. A snapshot: later activity does not change it. */
export interface LogFileStats {
  /** Reopens by reason (truncations are counted here though the descriptor is kept). */
  readonly reopens: Readonly<Record<ReopenReason, number>>;
  /** Bytes and lines carried from deleted or replaced files into their successors, in all. */
  readonly carried: CarriedOver;
  /** Calls to `write()`. */
  readonly writes: number;
  /** write(2) syscalls made (including retries of short writes). */
  readonly writeCalls: number;
  /** Bytes written to files (carried bytes included). */
  readonly bytesWritten: number;
  /** Identity checks made (timer, watch hint and flush-time checks). */
  readonly checks: number;
  /** Errors reported through the `'error'` event. */
  readonly errors: number;
  /** Records dropped because the keep-queue was full (same as {@link LogFile.dropped}). */
  readonly dropped: number;
  /** Bytes currently kept while failing. */
  readonly keptBytes: number;
}
