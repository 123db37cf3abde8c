import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FsState } from '../src/backend/memory/fs-state.js';
import type { InodeAttrs } from '../src/backend/memory/inode.js';

const attrs: InodeAttrs = { mode: 0o644, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, birthtimeMs: 0 };

function readAll(state: FsState, ino: number): string {
  const inode = state.inode(ino);
  const out = new Uint8Array(inode.size);
  state.read(inode, out, 0, inode.size, 0);
  return Buffer.from(out).toString('latin1');
}

test("a clone and its source do not see each other's later writes (copy-on-write both ways)", () => {
  const a = new FsState({ ...attrs, mode: 0o755 });
  const ino = a.allocateIno();
  a.apply({ type: 'create', dir: a.root, name: 'f', ino, kind: 'file', attrs });
  a.apply({ type: 'write', ino, offset: 0, data: Buffer.from('original'), mtimeMs: 1 });
  const b = a.clone();
  a.apply({ type: 'write', ino, offset: 0, data: Buffer.from('SOURCE!!'), mtimeMs: 2 });
  b.apply({ type: 'write', ino, offset: 0, data: Buffer.from('clone'), mtimeMs: 3 });
  assert.equal(readAll(a, ino), 'SOURCE!!');
  assert.equal(readAll(b, ino), 'clonenal');
  const c = b.clone();
  b.apply({ type: 'truncate', ino, size: 2, mtimeMs: 4 });
  assert.equal(readAll(c, ino), 'clonenal', 'a truncate of the source leaves the clone alone');
  assert.equal(readAll(b, ino), 'cl');
});

test('holes read as zeros, across chunk boundaries and after shrinking then growing', () => {
  const s = new FsState({ ...attrs, mode: 0o755 });
  const ino = s.allocateIno();
  s.apply({ type: 'create', dir: s.root, name: 'f', ino, kind: 'file', attrs });
  s.apply({ type: 'write', ino, offset: 200_000, data: Buffer.from('x'), mtimeMs: 1 });
  const inode = s.inode(ino);
  assert.equal(inode.size, 200_001);
  const buf = new Uint8Array(200_001).fill(7);
  s.read(inode, buf, 0, buf.length, 0);
  assert.ok(buf.subarray(0, 200_000).every((b) => b === 0));
  assert.equal(buf[200_000], 0x78);
  s.apply({ type: 'write', ino, offset: 0, data: Buffer.alloc(100, 0x41), mtimeMs: 2 });
  s.apply({ type: 'truncate', ino, size: 10, mtimeMs: 3 });
  s.apply({ type: 'truncate', ino, size: 100, mtimeMs: 4 });
  const again = new Uint8Array(100);
  s.read(inode, again, 0, 100, 0);
  assert.equal(Buffer.from(again).toString('latin1'), 'A'.repeat(10) + '\0'.repeat(90));
});
