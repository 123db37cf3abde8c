/**
 * The divergences from CPython the differential test found in the descriptor table (issue 12 item 7),
 * each as a fixed sequence: run through CPython and fdkeeper and compared (as the random test does), and
 * with the POSIX answer asserted explicitly, next to what the old behaviour would have answered (the
 * control: the assertion fails for it). The memory backend must agree too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { FsError } from '../src/errors/fs-error.js';
import { FileTable } from '../src/table/file-table.js';
import { check, formatDivergence, runBoth } from './support/cpython-compare.js';
import { OS_FLAG_BITS } from './support/cpython-fdkeeper.js';
import type { Op, Sequence } from './support/cpython-sequences.js';

const HAVE_PYTHON = spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 11)']).status === 0;
const SKIP =
  process.platform !== 'linux' ? 'needs Linux (/proc/self/fd)' : HAVE_PYTHON ? false : 'needs python3 >= 3.11';

/** Runs `ops` through CPython and fdkeeper (sync and promise API); they must agree. Returns CPython's results. */
async function agree(ops: Op[], init: Record<string, string> = {}): Promise<unknown[]> {
  const seqs: Sequence[] = (['sync', 'promise'] as const).map((api) => ({
    seed: 0,
    level: 'os',
    api,
    files: ['f0', 'f1', 'f2'],
    init,
    ops,
  }));
  const { py, fk } = await runBoth(seqs);
  seqs.forEach((seq, i) => {
    const r = check(seq, py[i]!, fk[i]!);
    assert.equal(r.stop, undefined, r.stop === undefined ? '' : formatDivergence(seq, r.stop.d, py[i]!, fk[i]!));
  });
  return py[0]!.steps.map((s) => ('v' in s ? s.v : `error ${s.e}`));
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

test(
  'a+ tail reader: after an append write the offset is the end as of that write, not the end now',
  { skip: SKIP },
  async () => {
    const steps = await agree([
      ['open', 'f0', 'a+'], // fd0: the tail reader
      ['open', 'f0', 'a'], // fd1: another writer
      ['write', 0, hex('abc')],
      ['write', 1, hex('XYZ')],
      ['lseek', 0, 0, 1],
      ['read', 0, 10],
      ['fstat', 0],
    ]);
    assert.equal(steps[4], 3, 'the offset stays where the write ended');
    assert.equal(steps[5], hex('XYZ'), 'the reader sees what the other description appended');
    // The control: the old rule ("at end", resolved when next needed) would have used the size now.
    assert.equal(steps[6], 6);
    assert.notEqual(steps[6], steps[4]);
  },
);

for (const [name, table] of [
  ['OsBackend', () => new FileTable()],
  ['MemoryBackend', () => new FileTable({ backend: new MemoryBackend() })],
] as const) {
  test(`${name}: append offsets are POSIX's (read, lseek, ftruncate, pwrite, dup2 moving the description)`, () => {
    const t = table();
    const dir = name === 'OsBackend' ? fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-pydiff-reg-')) : '/';
    if (name === 'MemoryBackend') t.backend.mkdirSync('/d');
    const p = join(name === 'OsBackend' ? dir : '/d', 'log');
    try {
      const reader = t.openSync(p, OS_FLAG_BITS['a+']);
      const writer = t.openSync(p, OS_FLAG_BITS['a']);
      t.writeSync(reader, Buffer.from('abc'));
      t.writeSync(writer, Buffer.from('XYZ'));
      // pwrite in append mode goes to the end and leaves the offset alone (write(2) would move the kernel's).
      t.writeSync(reader, Buffer.from('12'), 0, 2, 0);
      t.ftruncateSync(writer, 7);
      assert.equal(t.seekSync(reader, 0, 1), 3);
      const dup = t.dup(reader);
      t.dup2(writer, reader); // reader's description moves onto dup's number, offset kept
      const buf = Buffer.alloc(10);
      assert.equal(buf.subarray(0, t.readSync(dup, buf)).toString(), 'XYZ1');
      for (const fd of [reader, writer, dup]) t.closeSync(fd);
      assert.equal(t.size, 0);
    } finally {
      if (name === 'OsBackend') fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test(
  'pread/pwrite/ftruncate: a negative position or length is EINVAL before the descriptor is looked at',
  { skip: SKIP },
  async () => {
    const steps = await agree([
      ['open', 'f0', 'w'], // write-only
      ['pread', 0, 4, -1],
      ['open', 'f0', 'r'],
      ['pwrite', 1, hex('x'), -1],
      ['ftruncate', 1, -1],
      ['close', 1],
      ['pread', 1, 4, -1], // closed
      ['ftruncate', 1, -1],
      ['pwrite', 1, hex('x'), -1],
      ['pread', 1, 4, 0], // closed, valid position: EBADF
    ]);
    assert.deepEqual(steps.slice(1), [
      'error EINVAL',
      1,
      'error EINVAL',
      'error EINVAL',
      null,
      'error EINVAL',
      'error EINVAL',
      'error EINVAL',
      'error EBADF',
    ]);
    // The number API says so too for a number that was never open.
    const t = new FileTable({ backend: new MemoryBackend() });
    const code =
      (c: string) =>
      (e: unknown): boolean =>
        e instanceof FsError && e.code === c;
    assert.throws(() => t.readSync(999, Buffer.alloc(1), 0, 1, -1), code('EINVAL'));
    assert.throws(() => {
      t.ftruncateSync(999, -1);
    }, code('EINVAL'));
    assert.throws(() => t.readSync(999, Buffer.alloc(1), 0, 1, 0), code('EBADF'));
  },
);

test(
  'closing an original that a duplicate shares frees its number for the next open (POSIX numbering)',
  { skip: SKIP },
  async () => {
    const steps = await agree(
      [
        ['open', 'f0', 'r+'], // base+0
        ['dup', 0], // base+1
        ['read', 0, 2],
        ['close', 0],
        ['open', 'f1', 'r'], // POSIX: base+0 again
        ['read', 1, 2], // the duplicate goes on at the shared offset
        ['write', 1, hex('!')],
        ['dup', 1], // base+2
        ['close', 1],
        ['read', 3, 10],
        ['lseek', 3, 0, 1],
        ['open', 'f2', 'w'], // base+1 again
      ],
      { f0: hex('abcdefgh'), f1: hex('x') },
    );
    assert.deepEqual(steps, [0, 1, hex('ab'), null, 0, hex('cd'), 1, 2, null, hex('fgh'), 8, 1]);
  },
);

test('dup2 onto an original shared with a duplicate hands out no hidden number', { skip: SKIP }, async () => {
  const steps = await agree(
    [
      ['open', 'f0', 'a+'], // base+0
      ['dup', 0], // base+1 shares it
      ['open', 'f1', 'r'], // base+2
      ['write', 0, hex('abc')],
      ['dup2', 2, { h: 0 }], // base+0 now names f1; f0's description lives on as base+1
      ['open', 'f2', 'w'], // POSIX: base+3 (the old implementation moved f0's description to it)
      ['dup', 1], // base+4
      ['lseek', 1, 0, 1], // f0's offset: where the append ended
      ['read', 0, 5], // base+0 reads f1
      ['dup2', 4, { h: 1 }], // f2 onto base+1, the duplicate that now backs f0's description
      ['read', 5, 5], // f0's description still works through base+4
      ['lseek', 5, 0, 0],
      ['read', 5, 5],
      ['open', 'f1', 'r'], // base+2 was never given away: the next number is base+5
    ],
    { f0: hex('12'), f1: hex('one') },
  );
  assert.deepEqual(steps, [0, 1, 2, 3, 0, 3, 4, 5, hex('one'), 1, '', 0, hex('12abc'), 5]);
});

test("a pipe end cannot be reopened onto a duplicate's number: its number stays busy while duplicates live (documented)", () => {
  const t = new FileTable();
  const [r, w] = t.pipeDescriptors();
  const dup = t.dupDescriptor(w);
  const wNumber = w.number;
  w.closeSync();
  assert.equal(t.has(wNumber), false);
  assert.match(
    fs.readlinkSync(`/proc/self/fd/${wNumber}`),
    /fifo/,
    "the write end's number is still its description's backend descriptor",
  );
  assert.equal(dup.writeSync(Buffer.from('hi')), 2);
  const buf = Buffer.alloc(2);
  assert.equal(r.readSync(buf), 2);
  for (const d of [dup, r]) d.closeSync();
  assert.equal(t.heldCount, 0);
});
