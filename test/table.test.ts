/**
 * Focused tests of FileTable on the real OS backend: each one checks something a plausible broken
 * implementation would get wrong, against the kernel's own view (/proc/self/fd) where it can.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileTable, REUSED_WARNING, SEEK_CUR, SEEK_END, SEEK_SET } from '../src/table/file-table.js';
import type { Descriptor } from '../src/table/descriptor.js';
import { FsError } from '../src/errors/fs-error.js';
import { O_PATH } from '../src/backend/flags.js';
import { countingBackend } from './support/counting-backend.js';
import { fdInfoFlags, fdTarget, fdsNaming, isOpen, lowestFree, openFds } from './support/proc-fds.js';

// ------------------------------------------------------------------ helpers

interface Fixture {
  /** A fresh temp dir, removed after the test. */
  readonly dir: string;
  /** The path of `name` in the temp dir; creates the file with `content` when given. */
  readonly file: (name: string, content?: string) => string;
  /** fs.openSync, closed after the test (before the leak check). */
  readonly rawOpen: (path: string, flags?: string) => number;
}

/**
 * Test fixture: a temp dir and raw descriptors cleaned up after the test; then every descriptor still
 * open in `tables` is closed, and the test fails if the tables still hold anything or the process
 * has kernel descriptors it did not have at the start.
 */
function fixture(t: TestContext, ...tables: FileTable[]): Fixture {
  const before = openFds();
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-table-'));
  const raw: number[] = [];
  t.after(() => {
    for (const n of raw) {
      try {
        fs.closeSync(n);
      } catch {
        // the test closed it itself
      }
    }
    for (const table of tables) {
      for (const d of table.descriptors()) d.closeSync();
    }
    fs.rmSync(dir, { recursive: true, force: true });
    for (const table of tables)
      assert.equal(table.heldCount, 0, 'the table still holds kernel descriptors after closing everything');
    const leaked = openFds().filter((n) => !before.includes(n));
    assert.deepEqual(leaked, [], 'kernel descriptors leaked');
  });
  return {
    dir,
    file: (name, content) => {
      const p = join(dir, name);
      if (content !== undefined) fs.writeFileSync(p, content);
      return p;
    },
    rawOpen: (path, flags = 'r') => {
      const n = fs.openSync(path, flags);
      raw.push(n);
      return n;
    },
  };
}

function readText(table: FileTable, fd: number, n: number): string {
  const buf = Buffer.alloc(n);
  return buf.subarray(0, table.readSync(fd, buf, 0, n, null)).toString();
}

function writeText(table: FileTable, fd: number, text: string): number {
  return table.writeSync(fd, Buffer.from(text));
}

/** Resolves with the next process warning that has `code`. */
function nextWarning(code: string): Promise<Error> {
  return new Promise((resolve) => {
    const listener = (w: Error): void => {
      if ((w as Error & { code?: unknown }).code !== code) return;
      process.off('warning', listener);
      resolve(w);
    };
    process.on('warning', listener);
  });
}

/** Collects warnings with `code` while `body` runs and one more turn of the event loop. */
async function warningsDuring(code: string, body: () => void | Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (w: Error): void => {
    if ((w as Error & { code?: unknown }).code === code) seen.push(w);
  };
  process.on('warning', listener);
  try {
    await body();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

const isEbadf = { name: 'FsError', code: 'EBADF' };

// ------------------------------------------------------------------ dup

test('dup shares the offset both ways', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const a = table.openSync(file('f', 'abcdefghij'), 'r+');
  const b = table.dup(a);
  assert.notEqual(a, b);
  assert.equal(readText(table, a, 3), 'abc');
  assert.equal(readText(table, b, 2), 'de', "a read through the original moves the duplicate's offset");
  assert.equal(table.seekSync(a, 0, SEEK_CUR), 5);
  assert.equal(table.seekSync(b, 8, SEEK_SET), 8);
  assert.equal(readText(table, a, 5), 'ij', "a seek through the duplicate moves the original's offset");
  table.seekSync(a, 0, SEEK_SET);
  assert.equal(writeText(table, b, 'XY'), 2);
  assert.equal(table.seekSync(a, 0, SEEK_CUR), 2, "a write through the duplicate moves the original's offset");
  assert.equal(readText(table, a, 3), 'cde');
  assert.equal(writeText(table, a, 'Z'), 1);
  assert.equal(readText(table, b, 1), 'g');
  assert.equal(fs.readFileSync(file('f'), 'utf8'), 'XYcdeZghij');
  // Still shared once the original is closed.
  table.closeSync(a);
  table.seekSync(b, 0, SEEK_SET);
  const c = table.dup(b);
  assert.equal(readText(table, b, 4), 'XYcd');
  assert.equal(readText(table, c, 2), 'eZ');
});

test('dup returns the lowest free kernel number, skipping numbers held outside the table', (t) => {
  const table = new FileTable();
  const { file, rawOpen } = fixture(t, table);
  const p = file('f', 'x');
  const a = table.openSync(p);
  const b = table.openSync(p);
  const c = table.openSync(p);
  table.closeSync(b);
  assert.equal(lowestFree(), b, 'closing a plain descriptor frees its kernel number');
  const d1 = table.dup(a);
  assert.equal(d1, b, 'dup takes the lowest free number');
  assert.ok(isOpen(d1));
  // A number opened behind the table's back is skipped, like the kernel would.
  const expectedOutside = lowestFree();
  const outside = rawOpen(p, 'r');
  assert.equal(outside, expectedOutside);
  const free = lowestFree();
  const d2 = table.dup(c);
  assert.equal(d2, free);
  assert.notEqual(d2, outside);
  // Closing an original with live duplicates frees its number, as close(2) does: the description moves
  // onto the duplicate's number (reopened there), which keeps working at the same offset.
  table.seekSync(a, 1);
  table.closeSync(a);
  assert.equal(isOpen(a), false, "the original's number is free again");
  assert.equal(lowestFree(), a);
  assert.equal(table.seekSync(d1, 0, 1), 1);
  assert.equal(readText(table, d1, 1), '');
  const d3 = table.dup(c);
  assert.equal(d3, a, "the next dup takes the original's number");
  table.closeSync(d1); // the last user of a's description
  assert.equal(isOpen(d1), false);
  assert.equal(table.dup(c), d1);
});

test("raw I/O on a duplicate's number fails with EBADF, while /proc/self/fd names the same file", (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'hello');
  const a = table.openSync(p, 'r+');
  const d = table.dup(a);
  assert.equal(fdTarget(d), p);
  assert.equal(fdTarget(a), p);
  assert.throws(() => fs.writeSync(d, 'oops'), { code: 'EBADF' });
  assert.throws(() => fs.readSync(d, Buffer.alloc(5), 0, 5, 0), { code: 'EBADF' });
  if (O_PATH !== 0) assert.equal((fdInfoFlags(d) ?? 0) & O_PATH, O_PATH, 'the reservation is an O_PATH descriptor');
  assert.equal(fs.readFileSync(p, 'utf8'), 'hello', "raw writes through a duplicate's number went nowhere");
  // Through the table the duplicate works.
  assert.equal(writeText(table, d, 'J'), 1);
  assert.equal(fs.readFileSync(p, 'utf8'), 'Jello');
});

// ------------------------------------------------------------------ dup2

test('dup2 onto a free number claims exactly that number and leaves lower free numbers free', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'abcdef');
  const a = table.openSync(p, 'r+');
  // The fourth free number: three free numbers below it must stay free.
  const busy = new Set(openFds());
  const frees: number[] = [];
  for (let n = 0; frees.length < 4; n++) if (!busy.has(n)) frees.push(n);
  const [free, f1, f2, target] = frees as [number, number, number, number];
  assert.equal(table.dup2(a, target), target);
  assert.equal(fdTarget(target), p);
  for (const n of [free, f1, f2]) assert.equal(isOpen(n), false, `dup2 left its placeholder ${n} open`);
  // (Not `=== free`: a lower number may have been freed meanwhile — an earlier test's deliberately
  // leaked handle closed by its FinalizationRegistry watch, say.)
  assert.ok(lowestFree() <= free, `lowest free ${lowestFree()}, expected at most ${free}`);
  // The new number shares the description.
  assert.equal(readText(table, target, 2), 'ab');
  assert.equal(readText(table, a, 2), 'cd');
  assert.equal(table.heldCount, 2);
  // And the next open still gets the lowest free number.
  const lowest = lowestFree();
  assert.equal(table.openSync(p), lowest);
});

test('dup2 onto a table number closes the old file exactly once and makes the number name the new one', (t) => {
  const counting = countingBackend();
  const table = new FileTable({ backend: counting.backend, openSites: 'always' });
  const { file } = fixture(t, table);
  const oldPath = file('old', 'old');
  const newPath = file('new', 'new data');
  const n = table.openSync(oldPath, 'r+');
  const oldDescriptor = table.descriptor(n);
  const src = table.openSync(newPath, 'r+');
  assert.equal(fdsNaming(oldPath).length, 1);
  assert.equal(table.dup2(src, n), n);
  assert.equal(fdTarget(n), newPath, '/proc/self/fd/N names the new file');
  assert.deepEqual(fdsNaming(oldPath), [], 'the old file is closed');
  assert.equal(counting.closes().filter((c) => c === n).length, 1, 'the old file was closed once');
  assert.equal(oldDescriptor.closed, true);
  assert.throws(() => oldDescriptor.readSync(Buffer.alloc(1)), isEbadf);
  assert.equal(readText(table, n, 3), 'new');
  assert.equal(readText(table, src, 5), ' data');
  // Closing the rest closes every backend descriptor exactly once, the old file's included.
  table.closeSync(n);
  table.closeSync(src);
  oldDescriptor.closeSync(); // already closed by dup2: a no-op
  assert.deepEqual(
    [...counting.closes()].sort((x, y) => x - y),
    counting.created().sort((x, y) => x - y),
  );
});

test('dup2 onto an original that still has duplicates: they keep working, with their offset', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const oldPath = file('old', 'abcdefgh');
  const newPath = file('new', '12345678');
  const orig = table.openSync(oldPath, 'r+');
  const dupOfOrig = table.dup(orig);
  assert.equal(readText(table, dupOfOrig, 2), 'ab');
  const src = table.openSync(newPath, 'r+');
  assert.equal(table.dup2(src, orig), orig);
  assert.equal(fdTarget(orig), newPath);
  assert.equal(readText(table, orig, 2), '12');
  assert.equal(readText(table, dupOfOrig, 2), 'cd', 'the duplicate kept its description and offset');
  assert.equal(writeText(table, dupOfOrig, 'EF'), 2);
  assert.equal(fs.readFileSync(oldPath, 'utf8'), 'abcdEFgh');
  assert.equal(fs.readFileSync(newPath, 'utf8'), '12345678');
  // The old description lives on under the duplicate's number (reopened there): no other number is used.
  assert.deepEqual(fdsNaming(oldPath), [dupOfOrig]);
  table.closeSync(dupOfOrig);
  assert.deepEqual(fdsNaming(oldPath), [], 'the last duplicate closed the moved description');
  assert.equal(table.heldCount, 2);
});

test('dup2 of a duplicate onto its own original keeps the description', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'abcdef');
  const orig = table.openSync(p, 'r+');
  const d = table.dup(orig);
  assert.equal(readText(table, orig, 2), 'ab');
  assert.equal(table.dup2(d, orig), orig);
  assert.equal(readText(table, orig, 2), 'cd');
  assert.equal(readText(table, d, 2), 'ef');
  assert.equal(fdTarget(orig), p);
  table.closeSync(d);
  table.seekSync(orig, 0);
  assert.equal(readText(table, orig, 6), 'abcdef');
});

test('dup2 onto itself returns the number and changes nothing; on closed numbers it is EBADF', (t) => {
  const counting = countingBackend();
  const table = new FileTable({ backend: counting.backend });
  const { file } = fixture(t, table);
  const a = table.openSync(file('f', 'abcdef'), 'r+');
  table.seekSync(a, 3);
  const calls = counting.calls.length;
  assert.equal(table.dup2(a, a), a);
  assert.equal(counting.calls.length, calls, 'dup2(fd, fd) makes no syscall');
  assert.equal(table.seekSync(a, 0, SEEK_CUR), 3);
  assert.equal(readText(table, a, 3), 'def');
  table.closeSync(a);
  assert.throws(() => table.dup2(a, a), isEbadf);
  const b = table.openSync(file('f'), 'r');
  assert.throws(() => table.dup2(b, -1), isEbadf);
  assert.throws(() => table.dup2(b, 1.5), isEbadf);
});

test('dup2 beyond the open-file limit is EBADF at once, without filling the process with placeholders', (t) => {
  const { file } = fixture(t);
  const table = new FileTable();
  const limits = fs.readFileSync('/proc/self/limits', 'latin1');
  const limit = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
  assert.ok(limit > 0);
  const a = table.openSync(file('f', 'x'));
  const before = openFds();
  assert.throws(
    () => table.dup2(a, limit),
    (e: unknown) => e instanceof FsError && e.code === 'EBADF' && e.syscall === 'dup2' && e.fd === limit,
  );
  assert.throws(() => table.dup2(a, 2 ** 31), isEbadf);
  assert.deepEqual(openFds(), before);
  assert.equal(table.heldCount, 1);
  assert.equal(table.budget.inUse, 1);
  table.closeSync(a);
});

test('dup2 onto numbers the table does not own fails with EBUSY and changes nothing', (t) => {
  const table = new FileTable();
  const { file, rawOpen } = fixture(t, table);
  const p = file('f', 'data');
  const a = table.openSync(p, 'r');
  const stdoutIno = fs.fstatSync(1).ino;
  const heldBefore = table.heldCount;
  // stdio, not adopted
  assert.throws(() => table.dup2(a, 1), { code: 'EBUSY' });
  assert.equal(fs.fstatSync(1).ino, stdoutIno);
  // stdio, adopted: borrowed (closefd false by default)
  const err = table.adopt(2);
  assert.equal(err, 2);
  const stderrIno = fs.fstatSync(2).ino;
  assert.throws(() => table.dup2(a, 2), { code: 'EBUSY' });
  assert.equal(fs.fstatSync(2).ino, stderrIno);
  assert.ok(table.has(2));
  table.closeSync(2);
  assert.ok(isOpen(2), 'closing a borrowed stdio descriptor leaves it open');
  // a raw descriptor opened behind the table's back
  const other = file('other', 'other');
  const raw = rawOpen(other, 'r');
  assert.throws(() => table.dup2(a, raw), { code: 'EBUSY' });
  assert.equal(fdTarget(raw), other);
  // a number retained for the duplicates of a closed original (a pipe end: it cannot be reopened onto
  // the duplicate's number, so its own stays busy)
  const [pipeRead, pipeWrite] = table.pipeDescriptors();
  const b = pipeWrite.number;
  const bDup = table.dupDescriptor(pipeWrite);
  pipeWrite.closeSync();
  assert.throws(() => table.dup2(a, b), { code: 'EBUSY' });
  assert.ok(isOpen(b));
  bDup.closeSync();
  pipeRead.closeSync();
  assert.equal(table.heldCount, heldBefore);
  assert.equal(isOpen(b), false);
});

// ------------------------------------------------------------------ close

test('close is exactly-once: every backend descriptor is closed once, when its last user goes', async (t) => {
  const counting = countingBackend();
  const table = new FileTable({ backend: counting.backend });
  const { file } = fixture(t, table);
  const p = file('f', 'abc');
  const a = table.openDescriptorSync(p, 'r+');
  const d1 = table.dupDescriptor(a);
  const d2 = table.dupDescriptor(a);
  const closesOf = (n: number): number => counting.closes().filter((c) => c === n).length;

  a.closeSync();
  // The description moved onto d1's number (its reservation closed, the file reopened there); a's own
  // number is closed, as close(2) frees it.
  assert.equal(closesOf(a.number), 1, "the original's number is freed");
  assert.equal(closesOf(d1.number), 1, "d1's reservation made way for the description");
  a.closeSync();
  await a.close();
  assert.equal(closesOf(a.number), 1);
  table.closeSync(d1.number);
  assert.equal(closesOf(d1.number), 2, "d1 was the description's backend: it moved on to d2");
  assert.equal(closesOf(d2.number), 1);
  assert.throws(() => {
    table.closeSync(d1.number);
  }, isEbadf);
  await table.close(d2.number);
  assert.equal(closesOf(d2.number), 2, 'the last duplicate closed the description');
  d1.closeSync();
  d2.closeSync();
  await assert.rejects(table.close(d2.number), isEbadf);
  assert.deepEqual(
    [...counting.closes()].sort((x, y) => x - y),
    counting.created().sort((x, y) => x - y),
  );
  assert.equal(table.heldCount, 0);
});

test('closing a Descriptor twice is a no-op, but table.closeSync of a closed number is EBADF', async (t) => {
  const counting = countingBackend();
  const table = new FileTable({ backend: counting.backend });
  const { file } = fixture(t, table);
  const d = table.openDescriptorSync(file('f', 'x'));
  d.closeSync();
  d.closeSync();
  await d.close();
  assert.equal(counting.count('closeSync') + counting.count('close'), 1);
  assert.throws(
    () => {
      table.closeSync(d.number);
    },
    (e: unknown) => e instanceof FsError && e.code === 'EBADF' && e.syscall === 'close' && e.fd === d.number,
  );
  await assert.rejects(table.close(d.number), isEbadf);
  assert.equal(counting.count('closeSync') + counting.count('close'), 1);
});

test('use after close throws EBADF naming the open and close sites, and makes no syscall', async (t) => {
  const counting = countingBackend();
  const table = new FileTable({ backend: counting.backend, openSites: 'always' });
  const { file } = fixture(t, table);
  const p = file('f', 'abc');
  function openTheFile(): Descriptor {
    return table.openDescriptorSync(p, 'r+');
  }
  function closeTheFile(d: Descriptor): void {
    d.closeSync();
  }
  const d = openTheFile();
  closeTheFile(d);
  const calls = counting.calls.length;
  const buf = Buffer.alloc(3);
  const check = (e: unknown): boolean => {
    assert.ok(e instanceof FsError);
    assert.equal(e.code, 'EBADF');
    assert.equal(e.fd, d.number);
    assert.match(e.message, /opened at openTheFile \(.*table\.test\.ts:\d+:\d+\)/);
    assert.match(e.message, /closed at closeTheFile \(.*table\.test\.ts:\d+:\d+\)/);
    assert.match(e.openedAt ?? '', /^openTheFile /);
    assert.match(e.closedAt ?? '', /^closeTheFile /);
    return true;
  };
  assert.throws(() => d.readSync(buf), check);
  assert.throws(() => d.writeSync(buf), check);
  assert.throws(() => d.seekSync(0, 0), check);
  assert.throws(() => d.tellSync(), check);
  assert.throws(() => d.statSync(), check);
  assert.throws(() => {
    d.truncateSync(0);
  }, check);
  assert.throws(() => {
    d.syncSync();
  }, check);
  assert.throws(() => {
    d.datasyncSync();
  }, check);
  assert.throws(() => table.dupDescriptor(d), check);
  await assert.rejects(d.read(buf), check);
  await assert.rejects(d.write(buf), check);
  await assert.rejects(d.stat(), check);
  await assert.rejects(d.truncate(0), check);
  await assert.rejects(d.sync(), check);
  assert.equal(
    counting.calls.length,
    calls,
    `a closed descriptor reached the backend: ${counting.calls
      .slice(calls)
      .map((c) => c.method)
      .join(', ')}`,
  );
});

test('a stale Descriptor whose number was reused by another open fails with EBADF and leaves the new file alone', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const pa = file('a', 'aaaa');
  const pb = file('b', 'bbbb');
  const stale = table.openDescriptorSync(pa, 'r+');
  stale.closeSync();
  const fresh = table.openDescriptorSync(pb, 'r+');
  assert.equal(fresh.number, stale.number, 'test setup: the kernel reuses the number');
  assert.throws(() => stale.writeSync(Buffer.from('XX')), isEbadf);
  assert.throws(() => stale.readSync(Buffer.alloc(2)), isEbadf);
  assert.throws(() => {
    stale.truncateSync(0);
  }, isEbadf);
  assert.throws(() => stale.seekSync(2, SEEK_SET), isEbadf);
  stale.closeSync(); // a no-op: must not close the number's new owner
  assert.equal(fs.readFileSync(pb, 'utf8'), 'bbbb');
  assert.equal(fresh.closed, false);
  assert.equal(fresh.tellSync(), 0, 'the stale seek did not move the new description');
  assert.equal(table.descriptor(fresh.number), fresh);
  assert.equal(fdTarget(fresh.number), pb);
  const buf = Buffer.alloc(4);
  assert.equal(fresh.readSync(buf), 4);
  assert.equal(buf.toString(), 'bbbb');
});

test("a descriptor closed behind the table's back and reused: FDKEEPER_FD_REUSED, and the stale one fails with EBADF", async (t) => {
  const table = new FileTable({ openSites: 'always' });
  const { file } = fixture(t, table);
  const pa = file('a', 'aaaa');
  const pb = file('b', 'bbbb');
  const stale = table.openDescriptorSync(pa, 'r+');
  const warning = nextWarning(REUSED_WARNING);
  fs.closeSync(stale.number); // behind the table's back
  const fresh = table.openDescriptorSync(pb, 'r+');
  assert.equal(fresh.number, stale.number, 'test setup: the kernel reuses the number');
  const w = await warning;
  assert.match(w.message, new RegExp(`descriptor ${stale.number} was closed outside fdkeeper`));
  assert.match(w.message, /opened at /);
  assert.equal(stale.closed, true);
  assert.throws(
    () => stale.readSync(Buffer.alloc(2)),
    (e: unknown) => e instanceof FsError && e.code === 'EBADF' && /closed outside fdkeeper/.test(e.message),
  );
  assert.throws(() => stale.writeSync(Buffer.from('XX')), isEbadf);
  stale.closeSync();
  assert.equal(fs.readFileSync(pb, 'utf8'), 'bbbb');
  assert.equal(table.size, 1);
  assert.equal(table.heldCount, 1);
  assert.equal(table.budget.inUse, 1);
  fresh.closeSync();
  assert.equal(isOpen(fresh.number), false, 'the new file is closed once, by its own descriptor');
  assert.equal(table.budget.inUse, 0);
});

test("a duplicate's number closed behind the table's back and reused is detected too", async (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const pa = file('a', 'aaaa');
  const pb = file('b', 'bbbb');
  const orig = table.openDescriptorSync(pa, 'r+');
  const dup = table.dupDescriptor(orig);
  const warnings = await warningsDuring(REUSED_WARNING, () => {
    fs.closeSync(dup.number);
    const fresh = table.openDescriptorSync(pb, 'r');
    assert.equal(fresh.number, dup.number);
  });
  assert.equal(warnings.length, 1);
  assert.throws(() => dup.writeSync(Buffer.from('X')), isEbadf);
  assert.equal(fs.readFileSync(pb, 'utf8'), 'bbbb');
  // The original is unaffected, and closing it closes its description (the dup's reference is gone).
  assert.equal(orig.writeSync(Buffer.from('A')), 1);
  orig.closeSync();
  assert.deepEqual(fdsNaming(pa), []);
});

test("a descriptor closed behind the table's back and not reused: the kernel's EBADF revokes it for good", (t) => {
  const counting = countingBackend();
  const table = new FileTable({ backend: counting.backend });
  const { file, rawOpen } = fixture(t, table);
  const d = table.openDescriptorSync(file('a', 'aaaa'), 'r+');
  fs.closeSync(d.number);
  assert.throws(() => d.readSync(Buffer.alloc(1)), isEbadf);
  const calls = counting.calls.length;
  // The number may now belong to anybody: no further syscall may use it.
  const outside = rawOpen(file('b', 'bbbb'), 'r+');
  assert.equal(outside, d.number, 'test setup: an outside open reuses the number');
  assert.throws(() => d.writeSync(Buffer.from('X')), isEbadf);
  assert.throws(() => d.statSync(), isEbadf);
  d.closeSync();
  assert.equal(counting.calls.length, calls);
  assert.ok(isOpen(outside), 'closing the revoked descriptor did not close the outside one');
  assert.equal(fs.readFileSync(file('b'), 'utf8'), 'bbbb');
});

test("closing a duplicate whose number was closed behind the table's back still releases the description", (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('a', 'aaaa');
  const orig = table.openDescriptorSync(p, 'r+');
  const dup = table.dupDescriptor(orig);
  orig.closeSync(); // the description now lives on for the duplicate only
  fs.closeSync(dup.number); // behind the table's back
  assert.throws(
    () => {
      dup.closeSync();
    },
    (e: unknown) => e instanceof FsError && e.code === 'EBADF' && /closed outside fdkeeper/.test(e.message),
  );
  assert.equal(dup.closed, true);
  assert.deepEqual(fdsNaming(p), [], "the description's backend descriptor was closed anyway");
  assert.equal(table.heldCount, 0);
  assert.equal(table.budget.inUse, 0);
});

test('a promise close still settling when the kernel reuses its number is not reported as a reuse', async (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const a = table.openSync(file('a', 'aaaa'), 'r+');
  const warnings = await warningsDuring(REUSED_WARNING, async () => {
    const closing = table.close(a);
    // Wait (synchronously, so the close's callback cannot run) until the kernel has closed it.
    const deadline = Date.now() + 5000;
    while (isOpen(a) && Date.now() < deadline) {
      // spin
    }
    const b = table.openSync(file('b', 'bbbb'), 'r');
    assert.equal(b, a, 'test setup: the kernel reuses the number before the close settles');
    await closing;
    assert.equal(readText(table, b, 4), 'bbbb');
    assert.equal(table.heldCount, 1);
    assert.equal(table.budget.inUse, 1);
    table.closeSync(b);
    assert.equal(isOpen(b), false);
  });
  assert.deepEqual(
    warnings.map((w) => w.message),
    [],
  );
  assert.equal(table.budget.inUse, 0);
});

// ------------------------------------------------------------------ async I/O

test('promise reads and writes on one description run in call order', async (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f');
  const a = table.openSync(p, 'w+');
  const b = table.dup(a);
  const writes: Promise<number>[] = [];
  for (let i = 0; i < 40; i++) writes.push(table.write(i % 2 === 0 ? a : b, Buffer.from(`${i},`)));
  await Promise.all(writes);
  const expected = Array.from({ length: 40 }, (_, i) => `${i},`).join('');
  assert.equal(fs.readFileSync(p, 'utf8'), expected);
  table.seekSync(a, 0);
  const reads: Promise<string>[] = [];
  for (let i = 0; i < 20; i++) {
    const buf = Buffer.alloc(5);
    reads.push(table.read(i % 2 === 0 ? b : a, buf, 0, 5, null).then((n) => buf.subarray(0, n).toString()));
  }
  assert.equal((await Promise.all(reads)).join(''), expected.slice(0, 100));
  // Interleaved reads and writes keep their order too.
  table.seekSync(a, 0);
  const buf1 = Buffer.alloc(2);
  const r1 = table.read(a, buf1, 0, 2, null);
  const w1 = table.write(b, Buffer.from('XX'));
  const buf2 = Buffer.alloc(2);
  const r2 = table.read(a, buf2, 0, 2, null);
  await Promise.all([r1, w1, r2]);
  assert.equal(buf1.toString(), '0,');
  assert.equal(buf2.toString(), '2,');
  assert.equal(fs.readFileSync(p, 'utf8').slice(0, 6), '0,XX2,');
});

test('closing while a promise read is in flight defers the real close until the read finishes', async (t) => {
  const counting = countingBackend();
  const table = new FileTable({ backend: counting.backend });
  const { file } = fixture(t, table);
  const a = table.openSync(file('f', 'hello'), 'r');
  const buf = Buffer.alloc(5);
  const reading = table.read(a, buf, 0, 5, null);
  table.closeSync(a);
  assert.equal(table.has(a), false, 'the number leaves the table at once');
  assert.deepEqual(counting.closes(), [], 'the backend descriptor stays open while the read is in flight');
  assert.ok(isOpen(a));
  assert.equal(await reading, 5);
  assert.equal(buf.toString(), 'hello');
  assert.deepEqual(counting.closes(), [a]);
  assert.equal(isOpen(a), false);
});

test('closing a pipe end while a read waits for data: the close happens after the read, and close() resolves after it', async (t) => {
  const table = new FileTable();
  fixture(t, table);
  const [r, w] = table.pipeDescriptors();
  const buf = Buffer.alloc(16);
  const events: string[] = [];
  const reading = r.read(buf).then((n) => {
    events.push('read');
    return n;
  });
  const closing = r.close().then(() => {
    events.push(`closed after the read got ${JSON.stringify(buf.subarray(0, 4).toString())}`);
  });
  assert.equal(table.has(r.number), false);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(events, [], 'the read is still waiting for data');
  assert.ok(isOpen(r.number), 'the kernel descriptor is still open under the waiting read');
  w.writeSync(Buffer.from('ping'));
  assert.equal(await reading, 4);
  await closing;
  assert.deepEqual(events.sort(), ['closed after the read got "ping"', 'read']);
  assert.equal(buf.subarray(0, 4).toString(), 'ping');
  assert.equal(isOpen(r.number) && fdTarget(r.number) === fdTarget(w.number), false, 'the read end is closed');
  w.closeSync();
});

// ------------------------------------------------------------------ adopt

test('adopt() takes ownership of an fs.openSync descriptor (closefd true)', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'abcdef');
  const raw = fs.openSync(p, 'r+');
  assert.equal(table.adopt(raw), raw);
  assert.equal(table.descriptor(raw).origin, 'adopted');
  assert.equal(readText(table, raw, 3), 'abc');
  assert.equal(writeText(table, raw, 'D'), 1);
  assert.throws(() => table.adopt(raw), { code: 'EEXIST' });
  table.closeSync(raw);
  assert.throws(() => fs.fstatSync(raw), { code: 'EBADF' }, 'closing the adopted descriptor closed the raw one');
  assert.equal(fs.readFileSync(p, 'utf8'), 'abcDef');
});

test('adopt() with closefd false borrows: the raw descriptor stays open', (t) => {
  const table = new FileTable();
  const { file, rawOpen } = fixture(t, table);
  const raw = rawOpen(file('f', 'abcdef'), 'r');
  const d = table.adoptDescriptor(raw, { closefd: false });
  assert.equal(d.readSync(Buffer.alloc(2)), 2);
  d.closeSync();
  assert.equal(table.has(raw), false);
  assert.ok(isOpen(raw));
  const buf = Buffer.alloc(6);
  assert.equal(fs.readSync(raw, buf, 0, 6, 0), 6);
  assert.equal(table.heldCount, 0);
});

test('adopt() reads the access mode, append flag and offset from /proc/self/fdinfo', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'abcdef');
  // append, write-only
  const rawAppend = fs.openSync(p, 'a');
  const app = table.adoptDescriptor(rawAppend);
  assert.equal(app.readable, false);
  assert.equal(app.writable, true);
  assert.equal(app.description.append, true);
  assert.equal(app.mode, 'a');
  assert.throws(() => app.readSync(Buffer.alloc(1)), isEbadf);
  app.seekSync(0, SEEK_SET);
  assert.equal(app.writeSync(Buffer.from('G')), 1);
  assert.equal(fs.readFileSync(p, 'utf8'), 'abcdefG', 'an adopted append descriptor appends');
  app.closeSync();
  // read-only, with the kernel offset already moved
  const rawRead = fs.openSync(p, 'r');
  assert.equal(fs.readSync(rawRead, Buffer.alloc(3), 0, 3, null), 3);
  const rd = table.adoptDescriptor(rawRead);
  assert.equal(rd.writable, false);
  assert.equal(rd.mode, 'r');
  assert.equal(rd.tellSync(), 3, 'the offset comes from the kernel');
  const buf = Buffer.alloc(4);
  assert.equal(rd.readSync(buf), 4);
  assert.equal(buf.toString(), 'defG');
  assert.throws(() => rd.writeSync(Buffer.from('x')), isEbadf);
  rd.closeSync();
  // numbers that cannot be adopted
  assert.throws(() => table.adopt(rawRead), isEbadf);
  assert.throws(() => table.adopt(-1), isEbadf);
});

test('adopting stdio borrows it by default', (t) => {
  const table = new FileTable();
  fixture(t, table);
  const d = table.adoptDescriptor(1);
  assert.equal(d.description.ownsBackendFd, false);
  assert.equal(d.writable, true);
  d.closeSync();
  assert.ok(isOpen(1));
});

// ------------------------------------------------------------------ pipes

test('pipe descriptors: data flows, seek is ESPIPE, EOF after the write end closes, duplicates work', async (t) => {
  const table = new FileTable();
  fixture(t, table);
  const [r, w] = table.pipeDescriptors();
  assert.equal(r.readable, true);
  assert.equal(r.writable, false);
  assert.equal(w.writable, true);
  assert.ok(fs.fstatSync(r.number).isFIFO());
  assert.throws(() => w.readSync(Buffer.alloc(1)), isEbadf);
  assert.equal(w.writeSync(Buffer.from('hello')), 5);
  const buf = Buffer.alloc(16);
  assert.equal(r.readSync(buf), 5);
  assert.equal(buf.subarray(0, 5).toString(), 'hello');
  assert.throws(() => r.seekSync(0, SEEK_SET), { code: 'ESPIPE' });
  assert.throws(() => w.tellSync(), { code: 'ESPIPE' });
  // a duplicate of the write end writes into the same pipe
  const w2 = table.dupDescriptor(w);
  assert.equal(await w2.write(Buffer.from('abc')), 3);
  assert.equal(await r.read(buf), 3);
  assert.equal(buf.subarray(0, 3).toString(), 'abc');
  w.closeSync();
  assert.equal(w2.writeSync(Buffer.from('z')), 1, 'the duplicate keeps the write end open');
  w2.closeSync();
  assert.equal(r.readSync(buf), 1);
  assert.equal(r.readSync(buf), 0, 'EOF once every write end is closed');
  r.closeSync();
  assert.equal(table.heldCount, 0);
});

test('dup2 onto a pipe end that has a duplicate, its other end closed, neither hangs nor changes what the duplicate is', (t) => {
  // Moving the pipe end means reopening the FIFO through /proc; a blocking FIFO open with the other end
  // gone never returns, hence a child process with a timeout.
  const { file } = fixture(t);
  const target = file('f', 'file');
  const nodeOptions = process.env['NODE_OPTIONS'] ?? '';
  const importTsx = /--import[= ]tsx\b/.test(nodeOptions) ? [] : ['--import', 'tsx'];
  const child = spawnSync(
    process.execPath,
    [...importTsx, fileURLToPath(new URL('./support/fifo-dup2-child.ts', import.meta.url)), target],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(child.signal, null, `the child hung (killed by ${String(child.signal)}): ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), {
    writeEndDup2: true,
    writeEndNames: true,
    writeEndWrite: 'EPIPE', // still a write end, and the pipe has no reader
    readEndDup2: true,
    readEndData: 'left',
    readEndEof: 0, // still a read end, and the pipe has no writer
    aliveData: 'through',
    aliveEof: 0,
    heldAtEnd: 0,
  });
});

// ------------------------------------------------------------------ POSIX argument checks

test('ftruncate with a negative length is EINVAL and leaves the file alone', async (t) => {
  // node:fs clamps a negative length to 0, which would silently empty the file.
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'precious');
  const a = table.openSync(p, 'r+');
  assert.throws(
    () => {
      table.ftruncateSync(a, -1);
    },
    { code: 'EINVAL' },
  );
  await assert.rejects(table.ftruncate(a, -5), { code: 'EINVAL' });
  assert.equal(fs.readFileSync(p, 'utf8'), 'precious');
  table.ftruncateSync(a, 3);
  assert.equal(fs.readFileSync(p, 'utf8'), 'pre');
  table.ftruncateSync(a);
  assert.equal(fs.statSync(p).size, 0);
});

test('a negative read or write position is EINVAL, not "at the kernel\'s offset"', async (t) => {
  // node:fs reads position -1 as "the current offset", which for fdkeeper would be the kernel's
  // (never moved by positioned I/O), not the description's.
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'abcdef');
  const a = table.openSync(p, 'r+');
  table.seekSync(a, 4);
  const buf = Buffer.alloc(2);
  assert.throws(() => table.readSync(a, buf, 0, 2, -1), { code: 'EINVAL' });
  await assert.rejects(table.read(a, buf, 0, 2, -1), { code: 'EINVAL' });
  assert.throws(() => table.writeSync(a, Buffer.from('XY'), 0, 2, -1), { code: 'EINVAL' });
  await assert.rejects(table.write(a, Buffer.from('XY'), 0, 2, -1), { code: 'EINVAL' });
  assert.equal(fs.readFileSync(p, 'utf8'), 'abcdef');
  assert.equal(table.readSync(a, buf, 0, 2, 1), 2);
  assert.equal(buf.toString(), 'bc');
  assert.equal(table.seekSync(a, 0, SEEK_CUR), 4, 'pread leaves the offset alone');
  assert.equal(readText(table, a, 2), 'ef');
});

test('append mode writes at the end whatever the offset; the offset then reads as the end', (t) => {
  const table = new FileTable();
  const { file } = fixture(t, table);
  const p = file('f', 'abc');
  const a = table.openSync(p, 'a+');
  assert.equal(readText(table, a, 2), 'ab', 'a+ starts reading at 0');
  table.seekSync(a, 0, SEEK_SET);
  assert.equal(writeText(table, a, 'XYZ'), 3);
  assert.equal(fs.readFileSync(p, 'utf8'), 'abcXYZ');
  assert.equal(table.seekSync(a, 0, SEEK_CUR), 6);
  assert.equal(table.seekSync(a, -2, SEEK_END), 4);
  assert.equal(readText(table, a, 5), 'YZ');
  assert.throws(() => table.seekSync(a, -1, SEEK_SET), { code: 'EINVAL' });
  assert.equal(table.seekSync(a, 0, SEEK_CUR), 6, 'a failed seek leaves the offset');
  // A hole reads as zeros.
  const b = table.openSync(p, 'r+');
  table.seekSync(b, 8);
  writeText(table, b, '!');
  assert.equal(fs.readFileSync(p, 'latin1'), 'abcXYZ\0\0!');
});

test('a Descriptor closes itself at the end of a using / await using scope', async () => {
  const t = new FileTable();
  const p = join(os.tmpdir(), `fdkeeper-using-${process.pid}`);
  fs.writeFileSync(p, 'x');
  let n: number;
  {
    using d = t.openDescriptorSync(p, 'r');
    n = d.number;
    assert.equal(t.has(n), true);
  }
  assert.equal(t.has(n), false);
  {
    await using d = await t.openDescriptor(p, 'r');
    n = d.number;
  }
  assert.equal(t.has(n), false);
  assert.equal(t.heldCount, 0);
  fs.rmSync(p);
});
