/**
 * Atomic writes open their temp files through a FileTable (the `table` option): one budget for
 * everything, and an uncommitted PendingFile is an open handle like any other, in `openHandles()` and
 * leak reports, with the site that created it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { atomicWrite, atomicWriteSync } from '../src/atomic/atomic-write.js';
import { atomicCreate, atomicCreateSync } from '../src/atomic/pending-file.js';
import { FaultyBackend } from '../src/backend/faulty-backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { FsError } from '../src/errors/fs-error.js';
import { FileTable } from '../src/table/file-table.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fdk-atomic-table-'));
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});
let n = 0;
function freshDir(): string {
  const d = path.join(root, `case-${++n}`);
  fs.mkdirSync(d);
  return d;
}

const TEMP = /\.fdkeeper-tmp$/;

/**
 * The most temp files the calls `f` logged had open at once: +1 at each open of a temp, -1 at each
 * close of one. Opens are logged when they start and closes when they start, so this is an upper bound
 * of what was open at any moment.
 */
function peakTemps(f: FaultyBackend): number {
  const open = new Set<number>();
  let peak = 0;
  for (const c of f.calls) {
    if (c.syscall === 'open' && c.path !== undefined && TEMP.test(c.path)) {
      open.add(f.calls.indexOf(c));
      peak = Math.max(peak, open.size);
    } else if (c.syscall === 'close' && c.path !== undefined && TEMP.test(c.path)) {
      const first = open.values().next();
      if (first.done !== true) open.delete(first.value);
    }
  }
  return peak;
}

/** 200 concurrent writes of 64 KiB to distinct files in `dir` through `table`. */
async function burst(dir: string, table: FileTable): Promise<void> {
  const data = Buffer.alloc(64 << 10, 'x');
  await Promise.all(
    Array.from({ length: 200 }, (_, i) => atomicWrite(path.join(dir, `f${i}`), data, { table, durability: 'file' })),
  );
  for (let i = 0; i < 200; i++) assert.equal(fs.statSync(path.join(dir, `f${i}`)).size, data.length, `f${i} written`);
  assert.deepEqual(
    fs.readdirSync(dir).filter((x) => TEMP.test(x)),
    [],
    'no temp file left',
  );
}

describe('one budget: the table option', () => {
  test('200 concurrent atomicWrites through new FileTable({ maxOpen: 8 }) all succeed, never more than 8 temps open', async () => {
    const f = new FaultyBackend(new OsBackend(), []);
    const table = new FileTable({ backend: f, maxOpen: 8 });
    let peakInUse = 0;
    const timer = setInterval(() => {
      peakInUse = Math.max(peakInUse, table.budget.inUse);
    }, 1);
    try {
      await burst(freshDir(), table);
    } finally {
      clearInterval(timer);
    }
    assert.ok(peakTemps(f) <= 8, `at most 8 temp files open at once, saw ${peakTemps(f)}`);
    assert.ok(peakInUse <= 8, `the budget held: ${peakInUse} in use`);
    assert.equal(table.budget.inUse, 0, 'every slot given back');
    assert.equal(table.size, 0, 'nothing left open in the table');

    // Control: the same burst through a table with no budget has far more open at once, so the count
    // above is what the budget did (and the measurement can see it).
    const free = new FaultyBackend(new OsBackend(), []);
    await burst(freshDir(), new FileTable({ backend: free }));
    assert.ok(peakTemps(free) > 8, `without a budget more than 8 are open at once (saw ${peakTemps(free)})`);
  });

  test('the synchronous form past the budget fails with EMFILE (target unchanged, nothing left); the promise form waits for the slot', async () => {
    const dir = freshDir();
    const target = path.join(dir, 't.txt');
    fs.writeFileSync(target, 'old');
    const table = new FileTable({ maxOpen: 1 });
    const holder = atomicCreateSync(path.join(dir, 'held.txt'), { table });
    assert.equal(table.budget.inUse, 1);
    assert.throws(
      () => {
        atomicWriteSync(target, 'new', { table });
      },
      (e: unknown) => e instanceof FsError && e.code === 'EMFILE' && e.path === target && e.target === 'unchanged',
    );
    assert.equal(fs.readFileSync(target, 'utf8'), 'old');
    let done = false;
    const waiting = atomicWrite(target, 'new', { table }).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(done, false, 'the promise form waits while the only slot is held');
    assert.equal(table.budget.waiting, 1, 'queued on the table budget');
    await holder.abort();
    await waiting;
    assert.equal(fs.readFileSync(target, 'utf8'), 'new');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['t.txt'], 'no temp file left');
    assert.equal(table.size, 0);
  });

  test('a table and a backend that is not its own: TypeError, nothing written', async () => {
    const dir = freshDir();
    const table = new FileTable();
    const target = path.join(dir, 'x');
    await assert.rejects(atomicWrite(target, 'x', { table, backend: new MemoryBackend() }), TypeError);
    assert.throws(() => {
      atomicWriteSync(target, 'x', { table, backend: new MemoryBackend() });
    }, TypeError);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('a backend option alone: its files are opened through one table per backend (the memory backend too)', async () => {
    const mem = new MemoryBackend();
    mem.mkdirSync('/d');
    const f = new FaultyBackend(mem, []);
    await atomicWrite('/d/a', 'A', { backend: f });
    atomicWriteSync('/d/b', 'B', { backend: f });
    const pf = await atomicCreate('/d/c', { backend: f });
    assert.equal(f.openFds().length, 1, 'the pending file holds one descriptor');
    const again = await atomicCreate('/d/e', { backend: f });
    assert.equal(f.openFds().length, 2);
    await again.abort();
    await pf.write('C');
    await pf.commit();
    assert.deepEqual(f.openFds(), []);
    assert.deepEqual(mem.tree(), { '/d': { kind: 'dir' }, '/d/a': 'A', '/d/b': 'B', '/d/c': 'C' });
  });
});

describe('an uncommitted PendingFile is an open handle of its table', () => {
  for (const sync of [false, true]) {
    test(`${sync ? 'atomicCreateSync' : 'atomicCreate'}: in openHandles() and the leak report with its open site until committed`, async () => {
      const dir = freshDir();
      const target = path.join(dir, 'p.txt');
      const table = new FileTable({ openSites: 'always' });
      assert.equal(table.leakReport(), '', 'nothing open before');
      const pf = sync ? atomicCreateSync(target, { table }) : await atomicCreate(target, { table });
      const handles = table.openHandles();
      assert.equal(handles.length, 1, "the temp file is the table's one open handle");
      const h = handles[0];
      assert.ok(h !== undefined);
      assert.equal(h.path, pf.tempPath);
      assert.match(h.site ?? '', /atomic-table\.test/, `the open site is the caller's line: ${String(h.site)}`);
      const report = table.leakReport();
      assert.ok(report.includes(pf.tempPath), `the leak report names the temp file:\n${report}`);
      pf.writeSync('content');
      if (sync) pf.commitSync();
      else await pf.commit();
      assert.deepEqual(table.openHandles(), [], 'committed: nothing open');
      assert.equal(table.leakReport(), '');
      assert.equal(fs.readFileSync(target, 'utf8'), 'content');
    });
  }

  test('aborted: gone from the table as well', async () => {
    const table = new FileTable();
    const pf = await atomicCreate(path.join(freshDir(), 'q.txt'), { table });
    assert.equal(table.size, 1);
    await pf.abort();
    assert.equal(table.size, 0);
  });
});
