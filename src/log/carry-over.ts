/**
 * Carry-over: the lines a deleted or replaced log file received after the last confirmed check are
 * still readable through the writer's own descriptor (an unlinked inode lives while it is open). They
 * are read back with positional reads and appended to the new file, so a delete or a replace loses
 * nothing the writer wrote.
 *
 * @module
 */
import type { FsError } from '../errors/fs-error.js';
import type { Descriptor } from '../table/descriptor.js';
import { writeFully } from './write-fully.js';

/** Bytes read back per pread(2). */
const CHUNK = 1 << 20;

/** What {@link carryOver} did. */
export interface CarryResult {
  /** Bytes appended to the new file. */
  readonly bytes: number;
  /** Newlines among them. */
  readonly lines: number;
  /** write(2) calls made. */
  readonly calls: number;
  /** Bytes read back but not written (the new file failed): the caller keeps them. */
  readonly rest: Buffer | undefined;
  /** Why the copy stopped early, if it did. */
  readonly error: FsError | undefined;
}

function countNewlines(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = b.indexOf(10, from); i !== -1 && i < to; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Appends `old`'s bytes from `from` to its end onto `next`. Writes end at a newline whenever the
 * data has one, so the copy, like every other write of the log, never splits a line between two
 * write(2) calls (other appenders cannot interleave inside it). A read failure stops the copy quietly
 * (what was read is written); a write failure returns the unwritten bytes in `rest`.
 */
export function carryOver(old: Descriptor, next: Descriptor, from: number): CarryResult {
  let pos = from;
  let bytes = 0;
  let lines = 0;
  let calls = 0;
  let pending = Buffer.alloc(0);
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    let n = 0;
    try {
      n = old.readSync(chunk, 0, CHUNK, pos);
    } catch {
      n = 0; // unreadable: carry what was read so far
    }
    const eof = n === 0;
    pos += n;
    const data = pending.length === 0 ? chunk.subarray(0, n) : Buffer.concat([pending, chunk.subarray(0, n)]);
    // Up to and including the last newline, unless this is the end (then everything).
    const cut = eof ? data.length : data.lastIndexOf(10) + 1;
    if (cut > 0) {
      const out = writeFully(next, data, 0, cut);
      calls += out.calls;
      bytes += out.written;
      lines += countNewlines(data, 0, out.written);
      if (out.error !== undefined) {
        const rest = Buffer.concat([data.subarray(out.written), readRest(old, pos)]);
        return { bytes, lines, calls, rest, error: out.error };
      }
    }
    pending = Buffer.from(data.subarray(cut));
    if (eof) return { bytes, lines, calls, rest: undefined, error: undefined };
  }
}

/** Everything from `pos` to the end of `d`'s file, for keeping after a failed copy. */
function readRest(d: Descriptor, pos: number): Buffer {
  const parts: Buffer[] = [];
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    let n: number;
    try {
      n = d.readSync(chunk, 0, CHUNK, pos);
    } catch {
      break; // unreadable: what was read is all there is
    }
    if (n === 0) break;
    parts.push(Buffer.from(chunk.subarray(0, n)));
    pos += n;
  }
  return Buffer.concat(parts);
}
