/**
 * The pino transport target: `pino.transport({ target: 'fdkeeper/pino', options: { destination } })`.
 * pino runs the target in a worker thread and calls its default export with the options; the returned
 * stream gets the serialized lines in chunks that may cut a line anywhere, so whole lines are
 * reassembled before they reach the log, and every chunk is flushed at once (a worker can be stopped
 * at the process's exit without running exit hooks, so nothing waits in its buffer).
 *
 * Signals reach only the main thread: with `reopenOnSignal` the worker's log listens for the main thread's
 * relay, which {@link relayReopenSignal} (exported here too) installs in the main thread.
 *
 * @module
 */
import { createLogWritable, type LogWritable } from './log-writable.js';
import type { LogFileOptions } from './types.js';

export { relayReopenSignal } from './signal-reopen.js';

/**
 * The transport's options: where to write and the serializable {@link LogFileOptions} (no `backend`:
 * options cross into the worker by structured clone). `reopenOnSignal` works through the main thread's
 * relay ({@link relayReopenSignal}).
 */
export interface PinoTransportOptions extends Omit<LogFileOptions, 'backend' | 'exitFlush'> {
  /** The log file's path. */
  readonly destination: string;
}

/** Builds the transport's stream: pino calls this in its worker. */
export default function pinoTransport(options: PinoTransportOptions): LogWritable {
  const { destination, ...rest } = options;
  if (typeof destination !== 'string' || destination === '')
    throw new TypeError("fdkeeper/pino: options.destination must be the log file's path");
  // Exit hooks belong to the main thread (the worker writes every chunk through at once); signals arrive
  // by the main thread's relay.
  return createLogWritable(destination, { ...rest, wholeLines: true, flushEachChunk: true, exitFlush: false });
}
