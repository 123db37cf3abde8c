/**
 * Argument parsing shared by the synchronous, callback and promise forms of the node:fs facade: the
 * `(buffer, offset, length, position)` / `(buffer, options)` shapes, mkdir and stat options, times,
 * name encodings. Pure functions: no system call happens here.
 *
 * @module
 */
import type { TimeLike } from '../backend/backend.js';
import {
  bytesOf,
  checkRange,
  invalidArgType,
  invalidArgValue,
  parseMode,
  positionOf,
  type FsEncoding,
} from './context.js';
import type { FsMode, FsTime, MkdirOptions, ReadPositionOptions, StatOptions } from './types.js';

/** `fs.constants.COPYFILE_EXCL`. */
export const COPYFILE_EXCL = 1;
/** `fs.constants.COPYFILE_FICLONE_FORCE`: the facade cannot clone, so this fails with ENOTSUP. */
export const COPYFILE_FICLONE_FORCE = 4;

/** `utimes` times as the backend takes them (Dates, or seconds since the epoch). */
export function toTime(t: FsTime, name: string): TimeLike {
  if (t instanceof Date) return t;
  if (typeof t === 'number') return t;
  if (typeof t === 'string' && t.trim() !== '' && Number.isFinite(Number(t))) return Number(t);
  throw invalidArgType(name, 'of type number or an instance of Date', t);
}

/** A name or path in the encoding asked for (`'buffer'`: a Buffer). */
export function encodeName(s: string, encoding: FsEncoding | null | undefined): string | Buffer {
  if (encoding == null || encoding === 'utf8' || encoding === 'utf-8') return s;
  const buf = Buffer.from(s, 'utf8');
  return encoding === 'buffer' ? buf : buf.toString(encoding);
}

/** Names in the encoding asked for. */
export function encodeNames(names: string[], encoding: FsEncoding | null | undefined): string[] | Buffer[] {
  if (encoding == null || encoding === 'utf8' || encoding === 'utf-8') return names;
  if (encoding === 'buffer') return names.map((n) => Buffer.from(n, 'utf8'));
  return names.map((n) => Buffer.from(n, 'utf8').toString(encoding));
}

/** Validates stat options (no BigInt stats). */
export function checkStatOptions(options: StatOptions | undefined): void {
  const bigint: unknown = options?.bigint;
  if (bigint === true) throw invalidArgValue('options.bigint', true, 'is not supported by the fdkeeper facade');
}

/** What {@link transferArgs} makes of a read or write call's arguments. */
export interface Transfer {
  /** The bytes of the buffer argument. */
  readonly bytes: Uint8Array;
  /** Where in `bytes` to start. */
  readonly offset: number;
  /** How many bytes. */
  readonly length: number;
  /** Where in the file; null: at the current offset. */
  readonly position: number | null;
}

/** The arguments of a read or write given as `(buffer, offset, length, position)` or `(buffer, { … })`. */
export function transferArgs(
  buffer: NodeJS.ArrayBufferView,
  offsetOrOptions: number | ReadPositionOptions | null | undefined,
  length: number | null | undefined,
  position: number | bigint | null | undefined,
): Transfer {
  if (!ArrayBuffer.isView(buffer))
    throw invalidArgType('buffer', 'an instance of Buffer, TypedArray, or DataView', buffer);
  const bytes = bytesOf(buffer);
  let offset: number;
  let len: number | null | undefined;
  let pos: number | bigint | null | undefined;
  if (typeof offsetOrOptions === 'object' && offsetOrOptions !== null) {
    offset = offsetOrOptions.offset ?? 0;
    len = offsetOrOptions.length;
    pos = offsetOrOptions.position;
  } else {
    offset = offsetOrOptions ?? 0;
    len = length;
    pos = position;
  }
  const l = len ?? bytes.byteLength - offset;
  checkRange(bytes, offset, l);
  return { bytes, offset, length: l, position: positionOf(pos) };
}

/**
 * The arguments of a write: a buffer with `(offset, length, position)` or `(options)`, or a string
 * with `(position, encoding)`.
 */
export function writeArgs(
  data: NodeJS.ArrayBufferView | string,
  a1: number | ReadPositionOptions | null | undefined,
  a2: number | string | null | undefined,
  a3: number | bigint | null | undefined,
): Transfer {
  if (typeof data === 'string') {
    const bytes = Buffer.from(data, typeof a2 === 'string' ? encodingArg(a2) : 'utf8');
    return { bytes, offset: 0, length: bytes.byteLength, position: positionOf(typeof a1 === 'number' ? a1 : null) };
  }
  return transferArgs(data, a1, typeof a2 === 'string' ? undefined : a2, a3);
}

/** A string argument that must be an encoding. */
function encodingArg(e: string): BufferEncoding {
  if (!Buffer.isEncoding(e)) throw invalidArgValue('encoding', e, 'is invalid encoding');
  return e;
}

/** The options of `mkdir` (a mode number or string, or an object). */
export function mkdirOptions(options: MkdirOptions | FsMode | null | undefined): { recursive: boolean; mode: number } {
  if (typeof options === 'number' || typeof options === 'string')
    return { recursive: false, mode: parseMode(options, 0o777) };
  return { recursive: options?.recursive === true, mode: parseMode(options?.mode, 0o777) };
}

/** A descriptor-number argument, checked as node:fs checks it. */
export function fdArg(fd: number): number {
  if (!Number.isSafeInteger(fd) || fd < 0) throw invalidArgValue('fd', fd, 'must be a non-negative integer');
  return fd;
}
