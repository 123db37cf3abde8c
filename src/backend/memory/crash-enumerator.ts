/**
 * The pieces of the crash model that do not need the journal's bookkeeping: replaying a chosen subset
 * of operations safely, the tear points of a write, the canonical form of a crash state (for
 * de-duplication), and the enumeration of "a box minus a smaller box" of choices.
 *
 * See docs/crash-model.md for the model itself.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { FsOp, WriteOp } from './fs-op.js';
import type { FsState } from './fs-state.js';
import { CHUNK, type Chunk, type Inode } from './inode.js';

/**
 * Applies `op` to `state` unless a subset of the history made it impossible, in which case it does what
 * a real file system would have done with the operations that did reach the disk:
 *
 * - a data operation or a `setattr` on an inode that does not exist (its `create` was lost, or it was an
 *   unlinked file only a descriptor kept alive) is skipped: those blocks or attributes are unreachable;
 * - `link` to a missing inode, into a missing directory, or over an existing name is skipped;
 * - `create` into a missing directory or over an existing name is skipped (the inode never appears);
 * - `unlink` of a missing entry is skipped;
 * - `rename` of a missing entry, or into a missing directory, is skipped.
 *
 * With the in-order metadata rule, the metadata operations replayed are always a prefix of a valid
 * history, so in practice only the first case happens; the others are guards.
 *
 * @returns whether the operation was applied.
 */
export function applyGuarded(state: FsState, op: FsOp): boolean {
  const isDir = (ino: number): boolean => state.inodes.get(ino)?.entries !== undefined;
  const has = (dir: number, name: string): boolean => state.inodes.get(dir)?.entries?.has(name) === true;
  switch (op.type) {
    case 'write':
    case 'truncate':
    case 'setattr':
      if (!state.inodes.has(op.ino)) return false;
      break;
    case 'create':
      if (!isDir(op.dir) || has(op.dir, op.name) || state.inodes.has(op.ino)) return false;
      break;
    case 'link':
      if (!state.inodes.has(op.ino) || !isDir(op.dir) || has(op.dir, op.name)) return false;
      break;
    case 'unlink':
      if (!has(op.dir, op.name)) return false;
      break;
    case 'rename':
      if (!has(op.fromDir, op.fromName) || !isDir(op.toDir)) return false;
      break;
  }
  state.apply(op);
  return true;
}

/**
 * The interior tear points of a write: the lengths `p` (0 < p < data length) of the prefixes that end
 * on a `tearSize` boundary of the file (`offset + p` a multiple of `tearSize`: disks write whole sectors,
 * and file blocks are sector-aligned). At most `max` of them, evenly spaced and always including the
 * first and the last boundary. The zero-length prefix (the write not persisted) and the full write are
 * not tear points: the per-inode prefix already covers them.
 */
export function tearPoints(op: WriteOp, tearSize: number, max: number): number[] {
  const end = op.offset + op.data.length;
  const first = (Math.floor(op.offset / tearSize) + 1) * tearSize;
  if (first >= end || max <= 0) return [];
  const count = Math.ceil((end - first) / tearSize); // boundaries first, first + tearSize, … < end
  const at = (i: number): number => first + i * tearSize - op.offset;
  if (count <= max) return Array.from({ length: count }, (_, i) => at(i));
  if (max === 1) return [at(0)];
  const out: number[] = [];
  for (let i = 0; i < max; i++) {
    const p = at(Math.round((i * (count - 1)) / (max - 1)));
    if (out[out.length - 1] !== p) out.push(p);
  }
  return out;
}

const ZEROS = new Uint8Array(CHUNK);

/**
 * Marks the data chunks of `inode` as owned by no state, so that every state sharing them copies them
 * before writing (for chunks shared by inode copies rather than by a whole-state clone).
 */
export function freezeInode(inode: Inode): void {
  for (const c of inode.chunks) if (c !== undefined && c.owner !== 0) (c as { owner: number }).owner = 0;
}

/**
 * A {@link stateKey} function that remembers the hash of every data chunk it has seen, so that data
 * shared (copy-on-write) by many states is hashed once. Valid while the chunks it has seen are not
 * written in place: use one per batch of finished states.
 */
export function createStateKeyer(): (state: FsState) => string {
  const chunkHashes = new WeakMap<object, Map<number, string>>();
  const zeroHashes = new Map<number, string>();
  return (state) =>
    serialise(state, (inode) =>
      fileHash(inode, (chunk, len) => {
        const cache = chunk === undefined ? zeroHashes : (chunkHashes.get(chunk) ?? new Map<number, string>());
        if (chunk !== undefined && !chunkHashes.has(chunk)) chunkHashes.set(chunk, cache);
        let h = cache.get(len);
        if (h === undefined) {
          h = windowHash(chunk, len);
          cache.set(len, h);
        }
        return h;
      }),
    );
}

/** SHA-256 of the first `len` bytes of a chunk's window (what a short chunk, or a hole, lacks reads as zeros). */
function windowHash(chunk: Chunk | undefined, len: number): string {
  const hash = createHash('sha256');
  const bytes = chunk?.bytes.subarray(0, len) ?? ZEROS.subarray(0, 0);
  hash.update(bytes);
  if (bytes.length < len) hash.update(ZEROS.subarray(0, len - bytes.length));
  return hash.digest('base64');
}

/** A file's content hash: the hash of its chunk windows' hashes (canonical: windows are fixed). */
function fileHash(inode: Inode, chunkHash: (chunk: Chunk | undefined, len: number) => string): string {
  if (inode.size <= CHUNK) return chunkHash(inode.chunks[0], inode.size);
  const hash = createHash('sha256');
  for (let i = 0; i * CHUNK < inode.size; i++)
    hash.update(chunkHash(inode.chunks[i], Math.min(CHUNK, inode.size - i * CHUNK)));
  return hash.digest('base64');
}

/**
 * A canonical serialisation of the tree `state` reaches from its root: for every entry, its name, kind,
 * permission bits, owner, link count and content (a file's size and SHA-256, a symlink's target, a
 * directory's entries sorted by name). Hard links show as references to the first path that reached the
 * inode, so the link structure counts but inode numbers do not. Timestamps do not count, nor inodes no
 * entry reaches. Two states with the same key look the same to every path-based reader.
 */
export function stateKey(state: FsState): string {
  return serialise(state, (inode) => fileHash(inode, windowHash));
}

function serialise(state: FsState, contentHash: (inode: Inode) => string): string {
  const ids = new Map<number, number>();
  const out: string[] = [];
  const visit = (ino: number): void => {
    const id = ids.get(ino);
    if (id !== undefined) {
      out.push(`=${id}`);
      return;
    }
    ids.set(ino, ids.size);
    const inode = state.inode(ino);
    out.push(`${inode.kind} ${inode.mode} ${inode.uid} ${inode.gid} ${inode.nlink}`);
    switch (inode.kind) {
      case 'file':
        out.push(` ${inode.size} ${contentHash(inode)}`);
        break;
      case 'symlink':
        out.push(` ${JSON.stringify(inode.target)}`);
        break;
      case 'dir': {
        const names = [...(inode.entries ?? new Map<string, number>()).keys()].sort(); // by UTF-16 code units
        out.push('{');
        for (const name of names) {
          out.push(JSON.stringify(name), ':');
          visit((inode.entries as Map<string, number>).get(name) as number);
          out.push(',');
        }
        out.push('}');
        break;
      }
      case 'fifo':
        break;
    }
  };
  visit(state.root);
  return out.join('');
}

/** Multiplies non-negative counts, saturating at `cap` (so that comparing with a limit never overflows). */
export function satMul(a: number, b: number, cap: number): number {
  return Math.min(a * b, cap);
}

/**
 * The size of `Π full[i]` minus `Π kept[i]` (with `kept[i]` a subset of `full[i]`), saturating at `cap`:
 * the number of tuples {@link boxDifference} yields.
 */
export function boxDifferenceSize(full: readonly number[], kept: readonly number[] | undefined, cap: number): number {
  if (kept === undefined) return full.reduce((p, n) => satMul(p, n, cap), 1);
  // Σ_j Π_{i<j} kept[i] · (full[j] − kept[j]) · Π_{i>j} full[i]
  let total = 0;
  for (let j = 0; j < full.length; j++) {
    let term = (full[j] ?? 0) - (kept[j] ?? 0);
    for (let i = 0; i < full.length && term > 0; i++)
      if (i !== j) term = satMul(term, (i < j ? kept[i] : full[i]) ?? 0, cap);
    total = Math.min(total + term, cap);
  }
  return total;
}

/**
 * Every tuple of the product of `full[i]` that is not in the product of `kept[i]` (each `kept[i]` a subset
 * of `full[i]`; `kept` undefined: nothing excluded), each exactly once. Split as the disjoint union over
 * `j` of `kept[0..j) × (full[j] \ kept[j]) × full(j..n)`.
 */
export function* boxDifference<T>(
  full: readonly (readonly T[])[],
  kept: readonly (readonly T[])[] | undefined,
): Generator<T[]> {
  if (kept === undefined) {
    yield* product(full);
    return;
  }
  for (let j = 0; j < full.length; j++) {
    const keptJ = new Set(kept[j]);
    const rest = (full[j] ?? []).filter((x) => !keptJ.has(x));
    if (rest.length === 0) continue;
    yield* product(full.map((f, i) => (i < j ? (kept[i] ?? []) : i === j ? rest : f)));
  }
}

/** The cartesian product of `lists`, in odometer order (the last list varies fastest). */
function* product<T>(lists: readonly (readonly T[])[]): Generator<T[]> {
  if (lists.some((l) => l.length === 0)) return;
  const idx = lists.map(() => 0);
  for (;;) {
    yield lists.map((l, i) => l[idx[i] ?? 0] as T);
    let i = lists.length - 1;
    while (i >= 0) {
      const next = (idx[i] ?? 0) + 1;
      if (next < (lists[i]?.length ?? 0)) {
        idx[i] = next;
        break;
      }
      idx[i] = 0;
      i--;
    }
    if (i < 0) return;
  }
}
