/**
 * FaultyBackend over the real OS backend in a temp dir: each rule kind fires exactly where specified and
 * nowhere else; short writes write exactly the prefix; `after` makes the real call and still fails;
 * path rules follow descriptors; and the table and io layer surface the injected errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaultyBackend, type FaultRule } from '../src/backend/faulty-backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { O } from '../src/backend/flags.js';
import { TWIN_METHODS } from '../src/backend/backend.js';
import { twinArgs } from './support/backend-twins.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { FsError } from '../src/errors/fs-error.js';
import { FileTable } from '../src/table/file-table.js';
import { open, openSync } from '../src/io/open.js';
import { BufferedFile } from '../src/io/buffered-file.js';
import { RawFile } from '../src/io/raw-file.js';
import { fdIsOpen, rejectsFs, throwsFs } from './support/io-fixture.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-faulty-'));
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
let serial = 0;
/** A fresh path in the temp dir, optionally created with `content`. */
function file(name: string, content?: string): string {
  const p = path.join(dir, `${String(++serial)}-${name}`);
  if (content !== undefined) fs.writeFileSync(p, content);
  return p;
}

const os_ = new OsBackend();
const WR = O.WRONLY | O.CREAT | O.TRUNC;
const b = (s: string): Buffer => Buffer.from(s);

/** A FaultyBackend over the OS with `rules`, and a checker that it closed everything it opened. */
function faulty(rules: FaultRule[] = []): FaultyBackend {
  return new FaultyBackend(os_, rules);
}

function assertBalanced(f: FaultyBackend): void {
  assert.deepEqual(f.openFds(), [], 'every descriptor opened through the wrapper is closed');
  assert.equal(f.opened(), f.closed());
}

test('nth fails exactly the n-th matching call, sync and promise forms counted together', async () => {
  const p = file('nth.txt');
  const f = faulty([{ syscall: 'write', nth: 2, code: 'ENOSPC' }]);
  const fd = f.openSync(p, WR);
  assert.equal(f.writeSync(fd, b('one,'), 0, 4, null), 4);
  const e = await rejectsFs(f.write(fd, b('two,'), 0, 4, null), 'ENOSPC');
  assert.equal(f.writeSync(fd, b('three'), 0, 5, null), 5);
  assert.equal(await f.write(fd, b('!'), 0, 1, null), 1);
  f.closeSync(fd);
  assert.equal(fs.readFileSync(p, 'utf8'), 'one,three!', 'the failed write changed nothing');
  // The error looks like the kernel's.
  assert.equal(e.syscall, 'write');
  assert.equal(e.fd, fd);
  assert.equal(e.path, undefined, 'like the OS backend, an fd call names the fd');
  assert.equal(e.errno, -os.constants.errno.ENOSPC);
  assert.match(e.message, new RegExp(`^ENOSPC: no space left on device, write \\(fd ${fd}\\)$`));
  assert.ok(f.injected(e));
  assert.deepEqual(f.fired(), [1]);
  assertBalanced(f);
});

test('nth with times fires on consecutive matching calls; every: k fires on every k-th', () => {
  const p = file('times.txt', 'x');
  const f = faulty([
    { syscall: 'stat', nth: 2, times: 2, code: 'EIO' },
    { syscall: 'lstat', every: 3, code: 'EAGAIN' },
  ]);
  const stats = [1, 2, 3, 4, 5].map(() => {
    try {
      f.statSync(p);
      return 'ok';
    } catch (e) {
      return (e as FsError).code;
    }
  });
  assert.deepEqual(stats, ['ok', 'EIO', 'EIO', 'ok', 'ok']);
  const lstats = [1, 2, 3, 4, 5, 6, 7].map(() => {
    try {
      f.lstatSync(p);
      return 'ok';
    } catch (e) {
      return (e as FsError).code;
    }
  });
  assert.deepEqual(lstats, ['ok', 'ok', 'EAGAIN', 'ok', 'ok', 'EAGAIN', 'ok']);
});

test('every (the default) fails every matching call, up to times, and nothing else', async () => {
  const p = file('every.txt', 'data');
  const f = faulty([{ syscall: 'fsync', code: 'EIO', times: 2 }]);
  const fd = f.openSync(p, O.RDWR);
  throwsFs(() => {
    f.fsyncSync(fd);
  }, 'EIO');
  await rejectsFs(f.fsync(fd), 'EIO');
  f.fsyncSync(fd); // times used up
  f.fdatasyncSync(fd); // another syscall: never matched
  f.fstatSync(fd);
  f.closeSync(fd);
  const g = faulty([{ syscall: ['open', 'close'], code: 'EACCES' }]);
  throwsFs(() => g.openSync(p, O.RDONLY), 'EACCES', `open '${p}'`);
  await rejectsFs(g.open(p, O.RDONLY), 'EACCES');
  assert.equal(g.opened(), 0, 'an error before the call opens nothing');
  g.statSync(p);
  assertBalanced(f);
});

test('path rules: exact string, RegExp and predicate; fd calls match the path they were opened with', async () => {
  const a = file('a.log', 'aaaa');
  const c = file('c.dat', 'cccc');
  const f = faulty([
    { syscall: 'read', path: a, code: 'EINTR' },
    { syscall: 'fsync', path: /\.dat$/, code: 'EIO' },
    { syscall: 'stat', path: (p) => p.endsWith('missing-on-purpose'), code: 'EROFS' },
  ]);
  const fa = f.openSync(a, O.RDWR);
  const fc = await f.open(c, O.RDWR);
  const buf = Buffer.alloc(4);
  const e = throwsFs(() => f.readSync(fa, buf, 0, 4, 0), 'EINTR');
  assert.equal(e.fd, fa);
  assert.equal(f.readSync(fc, buf, 0, 4, 0), 4, 'another file reads');
  assert.equal(buf.toString(), 'cccc');
  f.fsyncSync(fa);
  await rejectsFs(f.fsync(fc), 'EIO');
  f.statSync(a);
  const s = throwsFs(() => f.statSync(path.join(dir, 'missing-on-purpose')), 'EROFS');
  assert.match(s.message, /^EROFS: read-only file system, stat '.*missing-on-purpose'$/);
  assert.equal(s.path, path.join(dir, 'missing-on-purpose'));
  assert.equal(f.pathOf(fa), a);
  f.closeSync(fa);
  await f.close(fc);
  assert.equal(f.pathOf(fa), undefined);
  // A rule with a path never matches a descriptor the wrapper did not open.
  const raw = fs.openSync(a, 'r');
  try {
    assert.equal(f.readSync(raw, buf, 0, 4, 0), 4);
  } finally {
    fs.closeSync(raw);
  }
  assertBalanced(f);
});

test('two-path calls match on either path, and errors carry path and dest', () => {
  const from = file('from.txt', 'x');
  const to = path.join(dir, 'renamed-target.txt');
  const f = faulty([{ syscall: 'rename', path: /renamed-target/, code: 'EXDEV', nth: 1 }]);
  const e = throwsFs(() => {
    f.renameSync(from, to);
  }, 'EXDEV');
  assert.equal(e.path, from);
  assert.equal(e.dest, to);
  assert.equal(e.syscall, 'rename');
  assert.equal(e.message, `EXDEV: cross-device link not permitted, rename '${from}' -> '${to}'`);
  assert.ok(fs.existsSync(from), 'nothing was renamed');
  f.renameSync(from, to);
  assert.ok(fs.existsSync(to));
});

test('kernel syscall names in errors: readdir is scandir, utimes is utime', async () => {
  const f = faulty([{ syscall: ['readdir', 'utimes'], code: 'EIO' }]);
  assert.equal(throwsFs(() => f.readdirSync(dir), 'EIO').syscall, 'scandir');
  assert.equal((await rejectsFs(f.utimes(dir, 1, 1), 'EIO')).syscall, 'utime');
});

test('shortWrite writes exactly the prefix and returns the smaller count', async () => {
  const p = file('short.bin');
  const f = faulty([
    { syscall: 'write', nth: 1, shortWrite: 3 },
    { syscall: 'write', nth: 3, shortWrite: 'half' },
  ]);
  const fd = f.openSync(p, WR);
  assert.equal(f.writeSync(fd, b('abcdefgh'), 0, 8, 0), 3, 'n bytes');
  assert.equal(fs.readFileSync(p, 'latin1'), 'abc');
  assert.equal(await f.write(fd, b('XYZ'), 0, 3, 3), 3, 'second call untouched');
  assert.equal(await f.write(fd, b('0123456789'), 2, 7, 6), 3, 'half of 7 is 3');
  assert.equal(
    fs.readFileSync(p, 'latin1'),
    'abcXYZ234',
    'exactly the prefix of what was asked, from the given offset',
  );
  assert.equal(f.writeSync(fd, b('tail'), 0, 4, null), 4);
  const log = f.calls.filter((c) => c.syscall === 'write');
  assert.deepEqual(
    log.map((c) => [c.result, c.fault]),
    [
      [3, 'short'],
      [3, undefined],
      [3, 'short'],
      [4, undefined],
    ],
  );
  f.closeSync(fd);
  assertBalanced(f);
});

test('shortRead reads at most n bytes', () => {
  const p = file('shortread.txt', 'abcdefgh');
  const f = faulty([{ syscall: 'read', nth: 1, shortRead: 'half' }]);
  const fd = f.openSync(p, O.RDONLY);
  const buf = Buffer.alloc(8);
  assert.equal(f.readSync(fd, buf, 0, 8, 0), 4);
  assert.equal(buf.subarray(0, 4).toString(), 'abcd');
  assert.equal(buf.subarray(4).toString('hex'), '00000000', 'nothing past the short count');
  assert.equal(f.readSync(fd, buf, 0, 8, 0), 8);
  f.closeSync(fd);
});

test('after: the real call happens, then the error', async () => {
  const p = file('after.txt');
  const f = faulty([
    { syscall: 'write', nth: 1, code: 'EIO', after: true },
    { syscall: 'fsync', code: 'EIO', after: true },
    { syscall: 'close', nth: 1, code: 'EIO', after: true },
  ]);
  const fd = f.openSync(p, WR);
  throwsFs(() => f.writeSync(fd, b('written anyway'), 0, 14, 0), 'EIO');
  assert.equal(fs.readFileSync(p, 'utf8'), 'written anyway', 'the data went out');
  throwsFs(() => {
    f.fsyncSync(fd);
  }, 'EIO');
  const fsyncs = f.calls.filter((c) => c.syscall === 'fsync');
  assert.deepEqual(
    fsyncs.map((c) => [c.fault, c.error]),
    [['error-after', 'EIO']],
  );
  const e = throwsFs(() => {
    f.closeSync(fd);
  }, 'EIO');
  assert.ok(f.injected(e));
  assert.equal(fdIsOpen(fd), false, 'the descriptor is closed despite the error');
  assertBalanced(f);
  // Promise form too.
  const fd2 = await f.open(p, O.RDWR);
  await rejectsFs(f.fsync(fd2), 'EIO');
  await f.close(fd2);
  assertBalanced(f);
});

test('after on open: the file is created, the new descriptor closed, the error reported', async () => {
  const p = file('created-anyway.txt');
  const f = faulty([{ syscall: 'open', code: 'EINTR', after: true, times: 2 }]);
  throwsFs(() => f.openSync(p, WR), 'EINTR', p);
  assert.ok(fs.existsSync(p), 'O_CREAT took effect');
  await rejectsFs(f.open(p, O.RDONLY), 'EINTR');
  assert.equal(f.opened(), 2);
  assertBalanced(f);
  assert.deepEqual(
    f.calls.map((c) => c.fault),
    ['error-after', 'error-after'],
  );
});

test('an error before close leaves the descriptor open; opened/closed count what the wrapper handed out', () => {
  const p = file('close.txt', 'x');
  const f = faulty([{ syscall: 'close', nth: 1, code: 'EINTR' }]);
  const fd = f.openSync(p, O.RDONLY);
  const r = f.reserveSync(fd);
  assert.equal(f.opened(), 2);
  throwsFs(() => {
    f.closeSync(fd);
  }, 'EINTR');
  assert.equal(fdIsOpen(fd), true);
  assert.deepEqual(
    f.openFds(),
    [fd, r].sort((x, y) => x - y),
  );
  assert.equal(f.pathOf(r), p, 'a reservation names the same file');
  f.closeSync(fd);
  f.closeSync(r);
  assert.equal(f.closed(), 2);
  assertBalanced(f);
});

test('the calls log records every call with its target, result and error', async () => {
  const p = file('log.txt', 'hello');
  const f = faulty([{ syscall: 'fstat', nth: 1, code: 'EIO' }]);
  const fd = f.openSync(p, O.RDONLY);
  throwsFs(() => f.fstatSync(fd), 'EIO');
  await f.read(fd, Buffer.alloc(5), 0, 5, 0);
  throwsFs(() => f.statSync(path.join(dir, 'nope')), 'ENOENT');
  f.closeSync(fd);
  assert.deepEqual(
    f.calls.map((c) => ({
      syscall: c.syscall,
      sync: c.sync,
      path: c.path,
      fd: c.fd,
      result: c.result,
      error: c.error,
      fault: c.fault,
    })),
    [
      { syscall: 'open', sync: true, path: p, fd: undefined, result: fd, error: undefined, fault: undefined },
      { syscall: 'fstat', sync: true, path: p, fd, result: undefined, error: 'EIO', fault: 'error' },
      { syscall: 'read', sync: false, path: p, fd, result: 5, error: undefined, fault: undefined },
      {
        syscall: 'stat',
        sync: true,
        path: path.join(dir, 'nope'),
        fd: undefined,
        result: undefined,
        error: 'ENOENT',
        fault: undefined,
      },
      { syscall: 'close', sync: true, path: p, fd, result: undefined, error: undefined, fault: undefined },
    ],
  );
  f.clearCalls();
  assert.equal(f.calls.length, 0);
});

test('addRule / clearRules; a rule counts from when it is added', () => {
  const p = file('rules.txt', 'x');
  const f = faulty();
  f.statSync(p);
  f.addRule({ syscall: 'stat', nth: 1, code: 'EACCES' });
  throwsFs(() => f.statSync(p), 'EACCES');
  f.statSync(p);
  f.addRule({ syscall: 'stat', code: 'EIO' });
  throwsFs(() => f.statSync(p), 'EIO');
  f.clearRules();
  f.statSync(p);
  assert.deepEqual(f.fired(), []);
});

test('invalid rules are refused', () => {
  const f = faulty();
  assert.throws(() => f.addRule({ syscall: 'read', shortWrite: 3 }), TypeError);
  assert.throws(() => f.addRule({ syscall: 'write', shortWrite: 3, code: 'EIO' }), TypeError);
  assert.throws(() => f.addRule({ syscall: 'write' }), TypeError);
  assert.throws(() => f.addRule({ syscall: 'write', code: 'nope' }), TypeError);
  assert.throws(() => f.addRule({ syscall: 'write', code: 'EIO', nth: 0 }), TypeError);
  assert.throws(() => f.addRule({ syscall: 'write', code: 'EIO', nth: 1, every: 2 }), TypeError);
  assert.throws(() => f.addRule({ syscall: 'write', shortWrite: 1, after: true }), TypeError);
  assert.throws(() => f.addRule({ syscall: [], code: 'EIO' }), TypeError);
});

// ---------------------------------------------------------------- through the table and the io layer

test('ENOSPC on flush of a BufferedFile: error with code and path, unwritten bytes kept for a retry', async () => {
  const p = file('flush.bin');
  const f = faulty([
    { syscall: 'write', nth: 1, shortWrite: 10 },
    { syscall: 'write', nth: 2, code: 'ENOSPC' },
  ]);
  const table = new FileTable({ backend: f });
  const data = Buffer.alloc(100, 0x61).fill(0x62, 50);
  {
    const bf = openSync(p, 'wb', { table });
    assert.ok(bf instanceof BufferedFile);
    bf.writeSync(data);
    const e = throwsFs(
      () => {
        bf.flushSync();
      },
      'ENOSPC',
      p,
    );
    assert.equal(e.path, p);
    assert.equal(e.syscall, 'write');
    assert.equal(e.bytesWritten, 10, 'the short write before the failure is reported');
    assert.equal(fs.readFileSync(p).length, 10);
    bf.flushSync(); // the 90 bytes still buffered go out now
    assert.deepEqual(fs.readFileSync(p), data);
    bf.closeSync();
  }
  // The promise path, through a buffer that fills: the failure surfaces and the rest is written on close.
  f.clearRules().addRule({ syscall: 'write', nth: 1, code: 'ENOSPC' });
  const q = file('flush-async.bin');
  const af = await open(q, 'wb', { table, buffering: 16 });
  await af.write(data.subarray(0, 10));
  await rejectsFs(af.write(data.subarray(10, 40)), 'ENOSPC', q);
  await af.close();
  assert.ok(fs.readFileSync(q).length > 0);
  assert.equal(table.size, 0);
  assertBalanced(f);
});

test("EINTR from read surfaces as an FsError with the path and the table's number", async () => {
  const p = file('eintr.txt', 'some text');
  const f = faulty([{ syscall: 'read', nth: 1, times: 2, code: 'EINTR' }]);
  const table = new FileTable({ backend: f });
  const raw = openSync(p, 'rb', { table, buffering: 0 });
  assert.ok(raw instanceof RawFile);
  const e = throwsFs(() => raw.readSync(4), 'EINTR', p);
  assert.equal(e.path, p);
  assert.equal(e.fd, raw.fileno());
  await rejectsFs(raw.read(4), 'EINTR', p);
  assert.equal(raw.readSync(4).toString(), 'some', 'the offset did not move');
  raw.closeSync();
  // Through the number API too.
  f.addRule({ syscall: 'read', code: 'EAGAIN', nth: 1 });
  const n = table.openSync(p, 'r');
  const e2 = throwsFs(() => table.readSync(n, Buffer.alloc(4)), 'EAGAIN');
  assert.equal(e2.path, p);
  assert.equal(e2.fd, n);
  table.closeSync(n);
  assertBalanced(f);
});

test('EMFILE from open on a budgeted table: the promise open retries, the sync open reports it', async () => {
  const p = file('emfile.txt', 'x');
  const f = faulty([{ syscall: 'open', nth: 1, code: 'EMFILE' }]);
  const table = new FileTable({ backend: f, maxOpen: 4, emfileRetryMs: 5_000 });
  const file1 = await open(p, 'r', { table });
  assert.deepEqual(
    f.calls.filter((c) => c.syscall === 'open').map((c) => c.error),
    ['EMFILE', undefined],
    'refused once, then retried',
  );
  await file1.close();
  f.addRule({ syscall: 'open', nth: 1, code: 'EMFILE' });
  const e = throwsFs(() => openSync(p, 'r', { table }), 'EMFILE');
  assert.equal(e.path, p);
  assert.equal(table.budget.inUse, 0, 'the failed open gave its budget slot back');
  assert.equal(table.size, 0);
  assertBalanced(f);
});

test('close that closes but reports EIO, through the table: reported once, nothing leaks', async () => {
  const p = file('close-eio.txt', 'x');
  const f = faulty([{ syscall: 'close', code: 'EIO', after: true, times: 2 }]);
  const table = new FileTable({ backend: f });
  const n = table.openSync(p, 'r');
  const e = throwsFs(() => {
    table.closeSync(n);
  }, 'EIO');
  assert.equal(e.syscall, 'close');
  assert.equal(e.fd, n);
  // The table names the descriptor's path in a close failure, as in every other descriptor error.
  assert.equal(e.path, p);
  assert.equal(table.size, 0);
  const g = await open(p, 'rb', { table });
  const e2 = await rejectsFs(g.close(), 'EIO');
  assert.equal(e2.syscall, 'close');
  assert.equal(e2.path, p);
  assert.equal(table.size, 0);
  assertBalanced(f);
});

test('fsync that writes but reports EIO, through a file object', async () => {
  const p = file('fsync.txt');
  const f = faulty([{ syscall: ['fsync', 'fdatasync'], path: p, code: 'EIO', after: true }]);
  const table = new FileTable({ backend: f });
  await using t = await open(p, 'w', { table });
  t.writeSync('durable?');
  t.flushSync();
  const e = throwsFs(
    () => {
      t.buffer.raw.syncSync();
    },
    'EIO',
    p,
  );
  assert.equal(e.syscall, 'fsync');
  await rejectsFs(t.buffer.raw.datasync(), 'EIO', p);
  assert.equal(fs.readFileSync(p, 'utf8'), 'durable?');
});

test('a rule fires for the sync and the promise form of every twinned call alike, before the real call', async () => {
  const inner = new MemoryBackend();
  const fd = inner.openSync('/f', O.RDWR | O.CREAT);
  inner.mkdirSync('/d');
  inner.symlinkSync('/f', '/s');
  const args = twinArgs(fd);
  const before = JSON.stringify([inner.tree(), inner.descriptors()]);
  const calls = (x: FaultyBackend): Record<string, (...a: unknown[]) => unknown> =>
    x as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of TWIN_METHODS) {
    const f = new FaultyBackend(inner, [{ syscall: name, code: 'EIO' }]);
    const syncError = throwsFs(() => calls(f)[`${name}Sync`]!(...args[name]), 'EIO');
    let p: unknown;
    assert.doesNotThrow(() => (p = calls(f)[name]!(...args[name])), `${name}() threw synchronously`);
    const asyncError = await rejectsFs(p as Promise<unknown>, 'EIO');
    assert.ok(f.injected(syncError) && f.injected(asyncError), name);
    assert.deepEqual(
      [asyncError.syscall, asyncError.path, asyncError.dest, asyncError.fd],
      [syncError.syscall, syncError.path, syncError.dest, syncError.fd],
      name,
    );
    assert.deepEqual(
      f.calls.map((c) => [c.syscall, c.sync, c.fault]),
      [
        [name, true, 'error'],
        [name, false, 'error'],
      ],
      name,
    );
    assert.deepEqual(f.fired(), [2], `${name}: the rule fired for both forms`);
  }
  assert.equal(JSON.stringify([inner.tree(), inner.descriptors()]), before, 'no real call was made');
  // Control: with no rule every form reaches the inner backend.
  const f = new FaultyBackend(inner);
  assert.equal(typeof f.openSync('/f', O.RDONLY), 'number');
  assert.equal(typeof (await f.open('/f', O.RDONLY)), 'number');
  assert.deepEqual(f.fired(), []);
  assert.equal(f.opened(), 2);
});
