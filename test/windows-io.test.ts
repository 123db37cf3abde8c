/**
 * The descriptor table and the io stack where descriptor numbers are the C runtime's emulation of them
 * (Windows; run under Wine by `npm run test:windows`), checked without /proc: by what reads and writes
 * do. The same tests run on Linux, where they must hold too.
 * - numbers: small, lowest-free, usable by node:fs; dup/dup2 share one position (the table's open
 *   file description; on Windows a duplicate's number holds a handle on NUL, src/backend/os-backend.ts);
 * - pipe(): ENOSYS on Windows, a clear FsError (docs/portability.md says why not named pipes);
 * - text mode writes the platform's line ending for '\n' when `newline` is left alone, as CPython
 *   does (os.linesep: '\r\n' on Windows), and nothing else is translated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileTable, SEEK_CUR, SEEK_SET } from '../src/table/file-table.js';
import { openSync } from '../src/io/open.js';
import { pipe } from '../src/io/pipe.js';
import { FsError } from '../src/errors/fs-error.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-win-io-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

test('numbers: small integers node:fs accepts, the lowest free one reused after a close', (t) => {
  const dir = tempDir(t);
  const table = new FileTable();
  const file = path.join(dir, 'n.txt');
  fs.writeFileSync(file, 'abc');
  const a = table.openSync(file, 'r');
  const b = table.openSync(file, 'r');
  assert.ok(Number.isSafeInteger(a) && a >= 0 && a < 4096, String(a));
  assert.notEqual(a, b);
  assert.equal(fs.fstatSync(a).size, 3, 'the number is a real descriptor node:fs can use');
  table.closeSync(a);
  const c = table.openSync(file, 'r');
  assert.equal(c, a, 'the lowest free number comes back');
  table.closeSync(b);
  table.closeSync(c);
  assert.equal(table.size, 0);
  assert.equal(table.heldCount, 0, 'nothing held after closing everything');
});

test('dup and dup2 share one position with the original; closing one leaves the others working', (t) => {
  const dir = tempDir(t);
  const table = new FileTable();
  const file = path.join(dir, 'shared.txt');
  const fd = table.openSync(file, 'w+');
  const d = table.dup(fd);
  assert.notEqual(d, fd);
  table.writeSync(fd, Buffer.from('one,'));
  table.writeSync(d, Buffer.from('two,'), undefined, undefined, null);
  assert.equal(table.seekSync(fd, 0, SEEK_CUR), 8, "the write through the duplicate moved the original's position");
  // dup2 onto a number well above anything open: that number, the same position.
  const target = Math.max(fd, d) + 5;
  assert.equal(table.dup2(fd, target), target);
  table.writeSync(target, Buffer.from('three'));
  assert.equal(table.seekSync(d, 0, SEEK_CUR), 13);
  table.seekSync(d, 0, SEEK_SET);
  const buf = Buffer.alloc(32);
  const n = table.readSync(fd, buf);
  assert.equal(buf.subarray(0, n).toString(), 'one,two,three', 'one file, one position, writes in order');
  table.closeSync(fd);
  table.writeSync(target, Buffer.from('!'));
  table.closeSync(d);
  table.closeSync(target);
  assert.equal(fs.readFileSync(file, 'utf8'), 'one,two,three!');
  assert.equal(table.heldCount, 0);
});

test('dup2 over an open number replaces it: the old file is closed, the number now names the new one', (t) => {
  const dir = tempDir(t);
  const table = new FileTable();
  fs.writeFileSync(path.join(dir, 'a'), 'AAAA');
  fs.writeFileSync(path.join(dir, 'b'), 'BBBB');
  const a = table.openSync(path.join(dir, 'a'), 'r');
  const b = table.openSync(path.join(dir, 'b'), 'r');
  assert.equal(table.dup2(a, b), b);
  const buf = Buffer.alloc(4);
  table.readSync(b, buf);
  assert.equal(buf.toString(), 'AAAA', "b now reads a's file");
  table.closeSync(a);
  table.closeSync(b);
  assert.equal(table.heldCount, 0);
});

test(
  'pipe(): on Windows a clear ENOSYS FsError (no named pipes); elsewhere a working pipe',
  {
    skip:
      process.platform === 'win32' || process.platform === 'linux' || process.platform === 'darwin'
        ? false
        : 'pipe() is only specified for Linux, macOS and Windows',
  },
  () => {
    if (process.platform !== 'win32') {
      const p = pipe();
      p.writer.writeSync(Buffer.from('x'));
      assert.equal(p.reader.readSync(1).toString(), 'x');
      p.writer.closeSync();
      p.reader.closeSync();
      return;
    }
    assert.throws(
      () => pipe(),
      (e: unknown) => e instanceof FsError && e.code === 'ENOSYS' && e.syscall === 'pipe' && /Windows/.test(e.message),
    );
  },
);

test("text mode: '\\n' is written as the platform's line ending (os.EOL) when newline is left alone, as CPython's os.linesep", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 't.txt');
  const f = openSync(file, 'w');
  f.writeSync('one\ntwo\r\nthree\n');
  f.closeSync();
  const eol = os.EOL;
  assert.equal(eol, process.platform === 'win32' ? '\r\n' : '\n');
  // CPython (newline=None): every '\n' becomes os.linesep; a '\r' already there stays (so '\r\n' → '\r\r\n' on Windows).
  assert.equal(fs.readFileSync(file, 'latin1'), `one${eol}two\r${eol}three${eol}`);
  const r = openSync(file, 'r');
  assert.equal(
    r.readSync(),
    process.platform === 'win32' ? 'one\ntwo\n\nthree\n' : 'one\ntwo\nthree\n',
    'universal newlines read each \\r\\n and lone \\r as \\n',
  );
  r.closeSync();
});

test("text mode: newline '' and '\\n' write untranslated; '\\r\\n' and '\\r' translate on every platform", (t) => {
  const dir = tempDir(t);
  const cases: ['' | '\n' | '\r' | '\r\n', string][] = [
    ['', 'a\nb\r\n'],
    ['\n', 'a\nb\r\n'],
    ['\r\n', 'a\r\nb\r\r\n'],
    ['\r', 'a\rb\r\r'],
  ];
  for (const [newline, bytes] of cases) {
    const file = path.join(dir, `nl-${JSON.stringify(newline).length}-${newline.length}.txt`);
    const f = openSync(file, 'w', { newline });
    f.writeSync('a\nb\r\n');
    f.closeSync();
    assert.equal(fs.readFileSync(file, 'latin1'), bytes, `newline ${JSON.stringify(newline)}`);
  }
});
