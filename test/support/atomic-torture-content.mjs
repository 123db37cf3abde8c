// Self-validating file contents for test/atomic-torture.test.ts: every content says how long it is and
// carries a checksum of itself, so a reader can tell a complete content from an empty, truncated, torn
// (a mix of two contents) or otherwise wrong one without knowing which write produced it.
//
// Plain JavaScript (with atomic-torture-content.d.mts for the TypeScript test): the writer and reader
// children run it without a TypeScript loader, so that they start fast.
//
// Format, for a content of length L:
// - L >= 64: a 64-byte ASCII header `FKT1 <L, 8 hex> <id, 16 chars> <sha256(body), 32 hex>` padded with
//   spaces and ended by '\n', then L - 64 bytes of body: a 32-byte pattern derived from the id, repeated.
// - 1 <= L < 64: the first L bytes of sha256(`tiny:${L}`) repeated: determined by the length alone.
// - L = 0 is never written: an empty file is always invalid.
import { createHash } from 'node:crypto';

export const HEADER = 64;
export const MAX_SIZE = 256 * 1024;

function sha256(data) {
  return createHash('sha256').update(data).digest();
}

function tiny(length) {
  const seed = sha256(`tiny:${length}`);
  const out = Buffer.alloc(length);
  out.fill(seed);
  return out;
}

/** The content of `length` bytes (1 … MAX_SIZE) for the write named `id` (at most 16 characters). */
export function makeContent(id, length) {
  if (!Number.isInteger(length) || length < 1 || length > MAX_SIZE) throw new RangeError(`bad length ${length}`);
  if (length < HEADER) return tiny(length);
  const out = Buffer.alloc(length);
  const body = out.subarray(HEADER);
  body.fill(sha256(`body:${id}`));
  const sum = sha256(body).toString('hex').slice(0, 32);
  const header =
    `FKT1 ${length.toString(16).padStart(8, '0')} ${String(id).padEnd(16).slice(0, 16)} ${sum}`.padEnd(HEADER - 1) +
    '\n';
  out.write(header, 0, 'latin1');
  return out;
}

/** A length from 1 to MAX_SIZE: a fifth below the header size, the rest log-uniform from 64 bytes up. */
export function randomLength(random = Math.random) {
  if (random() < 0.2) return 1 + Math.floor(random() * (HEADER - 1));
  return Math.min(MAX_SIZE, Math.floor(HEADER * Math.exp(random() * Math.log(MAX_SIZE / HEADER + 1))));
}

/**
 * Checks `bytes` against the format: `{ ok: true, id }` (id: the write's id, or `tiny:L`) or
 * `{ ok: false, reason }` with reason 'empty', 'truncated' (shorter than its header says), 'long',
 * 'header' (no valid header on a content of 64 bytes or more) or 'checksum' (a mix of contents).
 */
export function validate(bytes) {
  const length = bytes.length;
  if (length === 0) return { ok: false, reason: 'empty' };
  if (length < HEADER)
    return tiny(length).equals(bytes) ? { ok: true, id: `tiny:${length}` } : { ok: false, reason: 'tiny' };
  const header = bytes.subarray(0, HEADER).toString('latin1');
  const m = /^FKT1 ([0-9a-f]{8}) (.{16}) ([0-9a-f]{32}) *\n$/.exec(header);
  if (m === null) return { ok: false, reason: 'header' };
  const declared = parseInt(m[1], 16);
  if (declared > length) return { ok: false, reason: 'truncated' };
  if (declared < length) return { ok: false, reason: 'long' };
  if (sha256(bytes.subarray(HEADER)).toString('hex').slice(0, 32) !== m[3]) return { ok: false, reason: 'checksum' };
  return { ok: true, id: m[2].trimEnd() };
}
