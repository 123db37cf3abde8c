/**
 * The data an atomic write takes, sorted into what can wait in memory (and so be superseded by a newer
 * write) and what has to be consumed as it comes (iterators and streams).
 *
 * @module
 */
import type { AtomicData, AtomicDataSync } from './types.js';

/** Data already in memory: bytes to write, in order. */
export interface InMemory {
  readonly kind: 'memory';
  readonly chunks: readonly Uint8Array[];
}

/** Data that arrives as it is consumed: an iterator, a generator, a stream. */
export interface Streamed {
  readonly kind: 'stream';
  readonly source: Iterable<unknown> | AsyncIterable<unknown>;
}

/** Data sorted by {@link prepare}. */
export type Prepared = InMemory | Streamed;

/** Below this, the chunks of an array are joined into one buffer: one write(2) rather than many. */
const JOIN_LIMIT = 1 << 20;

/** One chunk as bytes (TypeError for anything but a string or a Uint8Array). */
export function toBytes(chunk: unknown, encoding: BufferEncoding): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding);
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(
    `atomic write data chunks must be strings or Uint8Arrays, got ${chunk === null ? 'null' : typeof chunk}`,
  );
}

/**
 * Sorts `data`: a string, a Uint8Array or an array of chunks is in memory (strings encoded now, bytes
 * not copied: do not change them until the write settles); any other iterable or async iterable is
 * streamed. TypeError for anything else.
 */
export function prepare(data: AtomicData | AtomicDataSync, encoding: BufferEncoding): Prepared {
  if (typeof data === 'string') return { kind: 'memory', chunks: [Buffer.from(data, encoding)] };
  if (data instanceof Uint8Array) return { kind: 'memory', chunks: [data] };
  if (Array.isArray(data)) {
    const chunks = (data as unknown[]).map((c) => toBytes(c, encoding));
    if (chunks.length > 1) {
      let total = 0;
      for (const c of chunks) total += c.byteLength;
      if (total <= JOIN_LIMIT) return { kind: 'memory', chunks: [Buffer.concat(chunks, total)] };
    }
    return { kind: 'memory', chunks };
  }
  if (
    typeof data === 'object' &&
    (data as unknown) !== null &&
    (Symbol.asyncIterator in data || Symbol.iterator in data)
  )
    return { kind: 'stream', source: data };
  throw new TypeError('atomic write data must be a string, a Uint8Array, or an (async) iterable of them');
}
