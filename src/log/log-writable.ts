/**
 * A Node `Writable` over a {@link LogFile}, for code that pipes streams into a log. Backpressure is the
 * stream's: a write waits while the log refuses records (its buffer is over the mark with `sync:
 * false`, or the file cannot be written), so a producer that respects `write()`'s return value never
 * makes the log drop records.
 *
 * @module
 */
import { Writable } from 'node:stream';
import { LogFile } from './log-file.js';
import type { LogFileOptions } from './types.js';
import { whenAccepting } from './when-accepting.js';

/** Options of {@link createLogWritable}: the LogFile's, plus the stream's buffer size. */
export interface LogWritableOptions extends LogFileOptions {
  /** The Writable's own high-water mark in bytes (default Node's, 16 KiB). */
  readonly highWaterMark?: number;
  /**
   * Hold back an incomplete last line until the rest arrives (for sources that cut text anywhere, like
   * a pipe), so no line is split between two writes. Default false: every chunk is a record.
   */
  readonly wholeLines?: boolean;
  /**
   * Write every chunk through to the file at once (one write syscall per chunk or `writev` batch)
   * instead of buffering. For sources that already batch, and for worker threads, which can be stopped
   * without running exit hooks. Default false.
   */
  readonly flushEachChunk?: boolean;
}

/** A Writable that appends to a log file; `.log` is the file (stats, `checkNow()`). */
export interface LogWritable extends Writable {
  /** The log file written to. */
  readonly log: LogFile;
}

/**
 * Opens `path` as a {@link LogFile} and returns a Writable over it. `end()` flushes and closes the log;
 * the stream's `'close'` follows. Strings and Buffers are accepted.
 */
export function createLogWritable(path: string, options: LogWritableOptions = {}): LogWritable {
  const log = new LogFile(path, options);
  const whole = options.wholeLines === true;
  const through = options.flushEachChunk === true;
  let tail = '';
  const put = (chunk: unknown): boolean => {
    if (!whole) return log.write(chunk as string | Uint8Array);
    const text = tail + (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    const cut = text.lastIndexOf('\n') + 1;
    tail = text.slice(cut);
    return cut === 0 ? true : log.write(text.slice(0, cut));
  };
  const stream = new Writable({
    decodeStrings: false,
    ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
    write(chunk: unknown, _enc, cb) {
      const ok = put(chunk);
      if (through) log.flushSync();
      if (ok) cb();
      else
        whenAccepting(log, () => {
          cb();
        });
    },
    writev(chunks, cb) {
      let ok = true;
      for (const c of chunks) ok = put(c.chunk) && ok;
      if (through) log.flushSync();
      if (ok) cb();
      else
        whenAccepting(log, () => {
          cb();
        });
    },
    final(cb) {
      if (tail !== '') log.write(tail);
      tail = '';
      log.close().then(() => {
        cb();
      }, cb);
    },
    destroy(err, cb) {
      if (!log.isClosed) log.closeSync();
      cb(err);
    },
  });
  return Object.assign(stream, { log });
}
