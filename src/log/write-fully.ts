/**
 * One record batch, written whole: short writes continue with the remainder, EAGAIN and EINTR retry.
 *
 * @module
 */
import { FsError, toFsError } from '../errors/fs-error.js';
import type { Descriptor } from '../table/descriptor.js';

/** What {@link writeFully} did. */
export interface WriteOutcome {
  /** Bytes written (all of them unless `error` is set). */
  readonly written: number;
  /** write(2) calls made. */
  readonly calls: number;
  /** Why it stopped early. */
  readonly error: FsError | undefined;
}

/** How long a non-blocking descriptor (a pipe, a terminal) may refuse with EAGAIN before it counts as a failure. */
export const EAGAIN_PATIENCE_MS = 1000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (Atomics.wait: no busy loop, and allowed on the main thread in Node). */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Writes `bytes[from, to)` through `d` (write(2) at the end: the log opens with O_APPEND). A regular file takes it
 * in one write(2), so concurrent appenders
 * (other processes with `O_APPEND`) never interleave inside it; the loop only matters for pipes,
 * terminals, signals and a disk that fills up in the middle (the part that fitted stays, the rest is
 * reported through `written` and `error`).
 */
export function writeFully(d: Descriptor, bytes: Uint8Array, from = 0, to = bytes.length): WriteOutcome {
  let off = from;
  let calls = 0;
  let waited = 0;
  let pause = 1;
  while (off < to) {
    let n: number;
    calls++;
    try {
      n = d.writeSync(bytes, off, to - off, null);
    } catch (e) {
      const err = toFsError(e, 'write', { fd: d.number });
      if (err.code === 'EINTR') continue;
      if (err.code === 'EAGAIN' && waited < EAGAIN_PATIENCE_MS) {
        sleepSync(pause);
        waited += pause;
        pause = Math.min(pause * 2, 50);
        continue;
      }
      return { written: off - from, calls, error: err };
    }
    if (n === 0) {
      // write(2) returns 0 only for a zero-length request; treat a 0 as "try again" rather than spin forever.
      if (waited >= EAGAIN_PATIENCE_MS)
        return {
          written: off - from,
          calls,
          error: new FsError({
            code: 'EIO',
            syscall: 'write',
            fd: d.number,
            path: d.path,
            detail: 'write returned 0 bytes repeatedly',
          }),
        };
      sleepSync(pause);
      waited += pause;
      pause = Math.min(pause * 2, 50);
      continue;
    }
    off += n;
  }
  return { written: off - from, calls, error: undefined };
}
