/**
 * The pino destination: `pino(logDestination('/var/log/app.log'))`. pino needs a stream-like object
 * (`writable`, `write(string)`, and optionally `flush(cb)`, `flushSync()`, `end()`, `reopen()`, as
 * sonic-boom offers); this is that shape over a {@link LogFile}, so pino's output survives rotation.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { FsError } from '../errors/fs-error.js';
import { LogFile } from './log-file.js';
import type { DropEvent, LogFileOptions, ReopenEvent } from './types.js';

/**
 * Events of a {@link LogDestination}: those of its {@link LogFile}, forwarded, plus `'finish'`. (The
 * class is an untyped EventEmitter, since pino and stream helpers listen for stream events by name.)
 */
export interface LogDestinationEvents {
  /** Forwarded from the {@link LogFile}. */
  reopen: [event: ReopenEvent];
  /** Forwarded while this destination has an `'error'` listener. */
  error: [error: FsError];
  /** Forwarded from the {@link LogFile}. */
  drop: [event: DropEvent];
  /** Forwarded from the {@link LogFile}. */
  resume: [];
  /** Forwarded from the {@link LogFile}. */
  drain: [];
  /** `end()` flushed and closed the log. */
  finish: [];
  /** The log is closed. */
  close: [];
}

/**
 * A pino-compatible destination (the sonic-boom shape) over a {@link LogFile}. Made by
 * {@link logDestination}; `.log` is the LogFile itself (stats, `dropped`, `checkNow()`).
 */
export class LogDestination extends EventEmitter {
  /** Tells pino (and anything checking `stream.writable`) that this is a writable destination. */
  readonly writable = true;
  /** The log file written to. */
  readonly log: LogFile;

  constructor(path: string, options?: LogFileOptions) {
    super();
    this.log = new LogFile(path, options);
    for (const name of ['reopen', 'drop', 'resume', 'drain', 'close'] as const) {
      this.log.on(name, (...args: unknown[]) => this.emit(name, ...args));
    }
    // 'error' is forwarded only while someone listens here: otherwise the LogFile's own rule applies
    // (a process warning rather than a crash).
    const forward = (e: FsError): void => {
      this.emit('error', e);
    };
    this.on('newListener', (event: string | symbol) => {
      if (event === 'error' && this.listenerCount('error') === 0) this.log.on('error', forward);
    });
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'error' && this.listenerCount('error') === 0) this.log.off('error', forward);
    });
  }

  /** The path written to. */
  get path(): string {
    return this.log.path;
  }

  /** Appends a record (pino passes one serialized line per call). See {@link LogFile.write}. */
  write(chunk: string | Uint8Array): boolean {
    return this.log.write(chunk);
  }

  /** Writes what is buffered; calls `cb` (pino's `logger.flush(cb)`) and resolves when done. */
  flush(cb?: (err?: Error | null) => void): Promise<void> {
    const p = this.log.flush();
    if (cb !== undefined)
      p.then(
        () => {
          cb(null);
        },
        (e: unknown) => {
          cb(e as Error);
        },
      );
    return p;
  }

  /** Writes what is buffered, synchronously (`pino.final`, exit handlers). */
  flushSync(): void {
    this.log.flushSync();
  }

  /** Reopens the path (sonic-boom's `reopen()`, for a SIGHUP handler of your own). */
  reopen(): void {
    this.log.reopenSync();
  }

  /** Flushes and closes; `'finish'` then `'close'` are emitted. Idempotent. */
  end(cb?: () => void): this {
    if (!this.log.isClosed) {
      this.log.closeSync();
      this.emit('finish');
    }
    if (cb !== undefined) queueMicrotask(cb);
    return this;
  }

  /** Same as {@link LogDestination.end}. */
  destroy(): this {
    return this.end();
  }
}

/**
 * A pino destination that survives rotation: `pino(logDestination(path))`. Takes the {@link LogFile}
 * options. pino's own `pino.destination()` (sonic-boom) reopens only when told to; this one notices
 * a rename, delete or replace by itself and carries over what would be lost.
 */
export function logDestination(path: string, options?: LogFileOptions): LogDestination {
  return new LogDestination(path, options);
}
