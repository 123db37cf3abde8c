/**
 * The pino transport target: `pino.transport({ target: 'fdkeeper/pino', options: { destination } })`.
 * pino runs the target in a worker thread and calls its default export with the options; the returned
 * stream gets the serialized lines in chunks that may cut a line anywhere, so whole lines are
 * reassembled before they reach the log, and every chunk is flushed at once (a worker can be stopped
 * at the process's exit without running exit hooks, so nothing waits in its buffer).
 *
 * @module
 */
import { createLogWritable, type LogWritable } from './log-writable.js';
import type { LogFileOptions } from './types.js';

/**
 * The transport's options: where to write and the serializable {@link LogFileOptions} (no `backend`:
 * options cross into the worker by structured clone).
 */
export interface PinoTransportOptions extends Omit<LogFileOptions, 'backend' | 'exitFlush' | 'reopenOnSignal'> {
  /** The log file's path. */
  readonly destination: string;
}

/** Builds the transport's stream: pino calls this in its worker. */
export default function pinoTransport(options: PinoTransportOptions): LogWritable {
  const { destination, ...rest } = options;
  if (typeof destination !== 'string' || destination === '') throw new TypeError("fdkeeper/pino: options.destination must be the log file's path");
  // Signals and exit hooks belong to the main thread; the worker writes every chunk through at once.
  return createLogWritable(destination, { ...rest, wholeLines: true, flushEachChunk: true, exitFlush: false });
}
