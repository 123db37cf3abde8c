/**
 * Stream backpressure over a LogFile: calls back once the log takes records again.
 *
 * @module
 */
import type { LogFile } from './log-file.js';

/** Calls `cb` once, at the log's next `'drain'`, `'resume'` (after a failure) or `'close'`. */
export function whenAccepting(log: LogFile, cb: () => void): void {
  const done = (): void => {
    log.off('drain', done);
    log.off('resume', done);
    log.off('close', done);
    cb();
  };
  log.on('drain', done);
  log.on('resume', done);
  log.on('close', done);
}
