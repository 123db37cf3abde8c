/**
 * {@link LogFileOptions} checked, with their defaults filled in.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import { fdtable } from '../table/default-table.js';
import type { FsyncPolicy, LogFileOptions, ReopenSignal, SymlinkPolicy } from './types.js';

/** The options a LogFile runs with. */
export interface LogSettings {
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

function positive(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new TypeError(`${name} must be a positive number, got ${show(v)}`);
  return v;
}

function flag(name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be true or false, got ${show(v)}`);
  return v;
}

/** Checks `options` (a TypeError names the bad one) and fills in the defaults. */
export function logSettingsOf(options: LogFileOptions): LogSettings {
  const mode = options.mode ?? LOG_DEFAULTS.mode;
  if (!(Number.isSafeInteger(mode) && mode >= 0 && mode <= 0o7777)) throw new TypeError(`mode must be an integer from 0 to 0o7777, got ${show(mode)}`);
  const fsync = options.fsync ?? 'never';
  if (!(fsync === 'never' || fsync === 'every' || (typeof fsync === 'object' && typeof fsync.intervalMs === 'number' && fsync.intervalMs > 0))) {
    throw new TypeError(`fsync must be 'never', 'every' or { intervalMs } with a positive interval, got ${show(fsync)}`);
  }
  const signal = options.reopenOnSignal ?? false;
  if (signal !== false && !SIGNALS.includes(signal)) throw new TypeError(`reopenOnSignal must be false, 'SIGHUP', 'SIGUSR1' or 'SIGUSR2', got ${show(signal)}`);
  const renameGrace = options.renameGrace ?? LOG_DEFAULTS.renameGrace;
  if (!(typeof renameGrace === 'number' && Number.isFinite(renameGrace) && renameGrace >= 0)) throw new TypeError(`renameGrace must be a number of milliseconds, 0 or more, got ${show(renameGrace)}`);
  const followSymlinks = options.followSymlinks ?? 'protected';
  if (!SYMLINK_POLICIES.includes(followSymlinks)) throw new TypeError(`followSymlinks must be 'protected', 'always' or 'never', got ${show(followSymlinks)}`);
  const bufferSize = Math.floor(positive('bufferSize', options.bufferSize, LOG_DEFAULTS.bufferSize));
  return {
    backend: options.backend ?? fdtable.backend,
    mode,
    mkdir: flag('mkdir', options.mkdir, false),
    checkInterval: positive('checkInterval', options.checkInterval, LOG_DEFAULTS.checkInterval),
    watch: flag('watch', options.watch, true),
    carryOver: flag('carryOver', options.carryOver, true),
    bufferSize: Math.max(1, bufferSize),
    flushInterval: positive('flushInterval', options.flushInterval, LOG_DEFAULTS.flushInterval),
    sync: flag('sync', options.sync, true),
    fsync,
    reopenOnSignal: signal,
    exitFlush: flag('exitFlush', options.exitFlush, true),
    maxKept: positive('maxKept', options.maxKept, LOG_DEFAULTS.maxKept),
    retryInterval: positive('retryInterval', options.retryInterval, LOG_DEFAULTS.retryInterval),
    renameGrace,
    followSymlinks,
    checkAroundWrites: flag('checkAroundWrites', options.checkAroundWrites, true),
  };
}
