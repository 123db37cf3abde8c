/**
 * {@link LogFileOptions} checked, with their defaults filled in.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import {
  INT32_MAX,
  INTERVAL_RULE,
  MODE_RULE,
  SIZE_RULE,
  checkNumber,
  numberOption,
  type NumberRule,
  type OptionSite,
} from '../errors/number-option.js';
import { tableFor } from '../table/default-table.js';
import { FileTable } from '../table/file-table.js';
import type { FsyncPolicy, LogFileOptions, ReopenSignal, SymlinkPolicy } from './types.js';

/** The options a LogFile runs with. */
export interface LogSettings {
  /** The table the log's descriptors come from (its budget, its leak report). */
  readonly table: FileTable;
  /** `table.backend`: what path calls (stat, lstat, mkdir) go to. */
  readonly backend: Backend;
  readonly mode: number;
  readonly mkdir: boolean;
  readonly checkInterval: number;
  readonly watch: boolean;
  readonly carryOver: boolean;
  readonly bufferSize: number;
  readonly flushInterval: number;
  readonly sync: boolean;
  readonly fsync: FsyncPolicy;
  readonly reopenOnSignal: ReopenSignal | false;
  readonly exitFlush: boolean;
  readonly maxKept: number;
  readonly retryInterval: number;
  readonly renameGrace: number;
  readonly followSymlinks: SymlinkPolicy;
  readonly checkAroundWrites: boolean;
}

/** The defaults, in one place (docs/logs.md quotes them). */
export const LOG_DEFAULTS = {
  mode: 0o666,
  checkInterval: 100,
  bufferSize: 64 * 1024,
  flushInterval: 100,
  maxKept: 16 * 1024 * 1024,
  retryInterval: 500,
  renameGrace: 1000,
} as const;

const SIGNALS: readonly string[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2'];
const SYMLINK_POLICIES: readonly string[] = ['protected', 'always', 'never'];

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** renameGrace: 0 (reopen at once) or a delay a timer can take. */
const GRACE_RULE: NumberRule = {
  integer: false,
  min: 0,
  max: INT32_MAX,
  says: 'a number of milliseconds from 0 to 2**31-1',
};

/** maxKept: a byte count kept in memory, any positive integer. */
const KEPT_RULE: NumberRule = { min: 1, says: 'a positive integer (bytes)' };

function flag(name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be true or false, got ${show(v)}`);
  return v;
}

/**
 * Checks `options` and fills in the defaults. A bad numeric option is an FsError EINVAL naming it (see
 * src/errors/number-option.ts); another bad option a TypeError naming it.
 */
export function logSettingsOf(options: LogFileOptions, path?: string): LogSettings {
  const site: OptionSite = { syscall: 'open', path };
  const mode = numberOption('mode', options.mode, LOG_DEFAULTS.mode, MODE_RULE, site);
  const fsync = options.fsync ?? 'never';
  if (!(fsync === 'never' || fsync === 'every' || (typeof fsync === 'object' && (fsync as unknown) !== null))) {
    throw new TypeError(
      `fsync must be 'never', 'every' or { intervalMs } with a positive interval, got ${show(fsync)}`,
    );
  }
  if (typeof fsync === 'object') checkNumber('fsync.intervalMs', fsync.intervalMs, INTERVAL_RULE, site);
  const signal = options.reopenOnSignal ?? false;
  if (signal !== false && !SIGNALS.includes(signal))
    throw new TypeError(`reopenOnSignal must be false, 'SIGHUP', 'SIGUSR1' or 'SIGUSR2', got ${show(signal)}`);
  const positive = (name: keyof LogFileOptions & keyof typeof LOG_DEFAULTS, rule: NumberRule): number =>
    numberOption(name, options[name], LOG_DEFAULTS[name], rule, site);
  const followSymlinks = options.followSymlinks ?? 'protected';
  if (!SYMLINK_POLICIES.includes(followSymlinks))
    throw new TypeError(`followSymlinks must be 'protected', 'always' or 'never', got ${show(followSymlinks)}`);
  const table = tableFor(options);
  return {
    table,
    backend: table.backend,
    mode,
    mkdir: flag('mkdir', options.mkdir, false),
    checkInterval: positive('checkInterval', INTERVAL_RULE),
    watch: flag('watch', options.watch, true),
    carryOver: flag('carryOver', options.carryOver, true),
    bufferSize: positive('bufferSize', SIZE_RULE),
    flushInterval: positive('flushInterval', INTERVAL_RULE),
    sync: flag('sync', options.sync, true),
    fsync,
    reopenOnSignal: signal,
    exitFlush: flag('exitFlush', options.exitFlush, true),
    maxKept: positive('maxKept', KEPT_RULE),
    retryInterval: positive('retryInterval', INTERVAL_RULE),
    renameGrace: positive('renameGrace', GRACE_RULE),
    followSymlinks,
    checkAroundWrites: flag('checkAroundWrites', options.checkAroundWrites, true),
  };
}
