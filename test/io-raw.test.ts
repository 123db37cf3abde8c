import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, openSync } from '../src/io/open.js';
import { RawFile } from '../src/io/raw-file.js';
import { ioFixture, rejectsFs, throwsFs, allRejectFs } from './support/io-fixture.js';

const { table, file, read } = ioFixture('raw');

function raw(p: string, mode: string): RawFile {
  const f = openSync(p, mode, { table, buffering: 0 });
  assert.ok(f instanceof RawFile);
  return f;
}

test('buffering: 0 gives a RawFile for binary modes, EINVAL for text modes', async () => {
  const p = file('kind.bin', 'abc');
  const f = openSync(p, 'rb', { table, buffering: 0 });
  assert.ok(f instanceof RawFile);
  assert.equal(f.mode, 'rb');
  assert.equal(f.name, p);
  f.closeSync();
  const g = await open(p, 'r+b', { table, buffering: 0 });
  assert.ok(g instanceof RawFile);
  assert.equal(g.mode, 'rb+');
  await g.close();
  throwsFs(() => openSync(p, 'r', { table, buffering: 0 }), 'EINVAL', 'unbuffered text');
  await rejectsFs(open(p, 'w', { table, buffering: 0 }), 'EINVAL', 'unbuffered text');
  assert.equal(read(p).toString(), 'abc'); // the failed 'w' did not truncate
});

test('read(n) returns at most n bytes, short at end of file, then empty', () => {
  const p = file('read.bin', 'abcdefgh');
  using f = raw(p, 'rb');
  assert.deepEqual(f.readSync(3), Buffer.from('abc'));
  assert.deepEqual(f.readSync(0), Buffer.alloc(0));
  assert.deepEqual(f.readSync(10), Buffer.from('defgh'));
  assert.deepEqual(f.readSync(10), Buffer.alloc(0));
  assert.deepEqual(f.readSync(), Buffer.alloc(0));
  assert.equal(f.tell(), 8);
});

test('read(n) async: same results and offsets', async () => {
  const p = file('read-async.bin', 'abcdefgh');
  await using f = raw(p, 'rb');
  assert.deepEqual(await f.read(3), Buffer.from('abc'));
  assert.deepEqual(await f.read(10), Buffer.from('defgh'));
  assert.deepEqual(await f.read(10), Buffer.alloc(0));
  assert.equal(f.tell(), 8);
});

test('read() / readall() read to end of file from the current offset, sync and async', async () => {
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  const p = file('readall.bin', big);
  using f = raw(p, 'rb');
  assert.deepEqual(f.readallSync(), big);
  assert.deepEqual(f.readallSync(), Buffer.alloc(0));
  f.seekSync(100);
  assert.deepEqual(f.readSync(), big.subarray(100));
  f.seekSync(1000);
  assert.deepEqual(await f.readall(), big.subarray(1000));
  f.seekSync(199_999);
  assert.deepEqual(await f.read(), big.subarray(199_999));
  assert.deepEqual(await f.read(-1), Buffer.alloc(0));
});

test('readall sees data appended after the size hint was taken', () => {
  const p = file('grow.bin', 'ab');
  using f = raw(p, 'rb+');
  using g = raw(p, 'ab');
  g.writeSync(Buffer.from('cdef'));
  assert.deepEqual(f.readallSync(), Buffer.from('abcdef'));
});

test('readinto fills what it can and returns the count; 0 at end of file', async () => {
  const p = file('into.bin', 'hello');
  using f = raw(p, 'rb');
  const buf = Buffer.alloc(3);
  assert.equal(f.readintoSync(buf), 3);
  assert.equal(buf.toString(), 'hel');
  const big = new Uint8Array(10);
  assert.equal(await f.readinto(big), 2);
  assert.equal(Buffer.from(big.subarray(0, 2)).toString(), 'lo');
  assert.equal(f.readintoSync(buf), 0);
  assert.equal(await f.readinto(buf), 0);
});

test('invalid sizes are EINVAL', async () => {
  const p = file('size.bin', 'x');
  using f = raw(p, 'rb');
  for (const bad of [-2, 1.5, Number.NaN, Infinity]) {
    throwsFs(() => f.readSync(bad), 'EINVAL', 'size');
    await rejectsFs(f.read(bad), 'EINVAL', 'size');
  }
});

test('readline reads one line without reading ahead (so the offset stays exact)', async () => {
  const p = file('lines.bin', 'one\ntwo\n\nthree');
  using f = raw(p, 'rb');
  assert.deepEqual(f.readlineSync(), Buffer.from('one\n'));
  assert.equal(f.tell(), 4);
  assert.deepEqual(await f.readline(), Buffer.from('two\n'));
  assert.equal(f.tell(), 8);
  assert.deepEqual(f.readlineSync(2), Buffer.from('\n'));
  assert.deepEqual(f.readlineSync(2), Buffer.from('th'));
  assert.deepEqual(await f.readline(), Buffer.from('ree'));
  assert.deepEqual(f.readlineSync(), Buffer.alloc(0));
  assert.deepEqual(await f.readline(), Buffer.alloc(0));
});

test('for…of and for await…of iterate over the lines', async () => {
  const p = file('iter.bin', 'a\nbb\nccc');
  const want = ['a\n', 'bb\n', 'ccc'];
  {
    using f = raw(p, 'rb');
    const got: string[] = [];
    for (const line of f) got.push(line.toString());
    assert.deepEqual(got, want);
  }
  {
    await using f = raw(p, 'rb');
    const got: string[] = [];
    for await (const line of f) got.push(line.toString());
    assert.deepEqual(got, want);
  }
});

test('write returns the byte count and goes straight to the file (no buffering)', async () => {
  const p = file('write.bin');
  using f = raw(p, 'wb');
  assert.equal(f.writeSync(Buffer.from('abc')), 3);
  assert.equal(read(p).toString(), 'abc');
  assert.equal(await f.write(new Uint8Array([0x64, 0x65])), 2);
  assert.equal(read(p).toString(), 'abcde');
  f.writeAllSync(Buffer.from('fg'));
  await f.writeAll(Buffer.from('hi'));
  assert.equal(read(p).toString(), 'abcdefghi');
  assert.equal(f.tell(), 9);
});

test('r+b: reads and writes share one offset', () => {
  const p = file('rplus.bin', 'abcdef');
  using f = raw(p, 'rb+');
  assert.deepEqual(f.readSync(2), Buffer.from('ab'));
  f.writeSync(Buffer.from('XY'));
  assert.equal(f.tell(), 4);
  assert.deepEqual(f.readSync(), Buffer.from('ef'));
  assert.equal(read(p).toString(), 'abXYef');
});

test("append 'ab': every write lands at the end, even after a seek; tell reports the end", async () => {
  const p = file('append.bin', 'hello');
  using f = raw(p, 'ab');
  assert.equal(f.tell(), 5); // like Python's FileIO: an append-mode open starts at the end
  f.seekSync(0);
  f.writeSync(Buffer.from('XY'));
  assert.equal(read(p).toString(), 'helloXY');
  assert.equal(f.tell(), 7);
  f.seekSync(2);
  await f.write(Buffer.from('!'));
  assert.equal(read(p).toString(), 'helloXY!');
  assert.equal(f.tell(), 8);
});

test("append 'ab+': reads come from the seek position, writes go to the end", () => {
  const p = file('appendplus.bin', 'hello');
  using f = raw(p, 'ab+');
  f.seekSync(1);
  assert.deepEqual(f.readSync(2), Buffer.from('el'));
  f.writeSync(Buffer.from('XY'));
  assert.equal(f.tell(), 7);
  assert.deepEqual(f.readSync(), Buffer.alloc(0));
  f.seekSync(0);
  assert.deepEqual(f.readSync(), Buffer.from('helloXY'));
});

test('truncate: default size is the position, the position does not move', async () => {
  const p = file('trunc.bin', 'abcdefgh');
  using f = raw(p, 'rb+');
  f.seekSync(5);
  assert.equal(f.truncateSync(), 5);
  assert.equal(f.tell(), 5);
  assert.equal(read(p).toString(), 'abcde');
  assert.equal(await f.truncate(2), 2);
  assert.equal(f.tell(), 5);
  assert.equal(read(p).toString(), 'ab');
  f.writeSync(Buffer.from('Z'));
  assert.deepEqual(read(p), Buffer.from('ab\0\0\0Z'));
  assert.equal(f.truncateSync(10), 10);
  assert.equal(fs.statSync(p).size, 10);
});

test('truncate on a read-only file fails and changes nothing', async () => {
  const p = file('trunc-ro.bin', 'abc');
  using f = raw(p, 'rb');
  throwsFs(() => f.truncateSync(0), 'EBADF', 'not open for writing');
  await rejectsFs(f.truncate(0), 'EBADF', 'not open for writing');
  assert.equal(read(p).toString(), 'abc');
});

test('seek whence 0/1/2; negative results and bad whence are EINVAL and leave the offset alone', () => {
  const p = file('seek.bin', '0123456789');
  using f = raw(p, 'rb');
  assert.equal(f.seekSync(3), 3);
  assert.equal(f.seekSync(2, 1), 5);
  assert.equal(f.seekSync(-1, 1), 4);
  assert.equal(f.seekSync(-3, 2), 7);
  assert.deepEqual(f.readSync(1), Buffer.from('7'));
  assert.equal(f.seekSync(0, 2), 10);
  assert.equal(f.seekSync(5, 2), 15); // past the end is allowed
  assert.deepEqual(f.readSync(1), Buffer.alloc(0));
  f.seekSync(4);
  throwsFs(() => f.seekSync(-1), 'EINVAL');
  throwsFs(() => f.seekSync(-5, 1), 'EINVAL');
  throwsFs(() => f.seekSync(-11, 2), 'EINVAL');
  throwsFs(() => f.seekSync(0, 3 as 0), 'EINVAL');
  throwsFs(() => f.seekSync(1.5), 'EINVAL');
  assert.equal(f.tell(), 4);
  assert.equal(f.seekableSync(), true);
});

test('read on a write-only file and write on a read-only file are EBADF "not open for …"', async () => {
  const p = file('access.bin', 'abc');
  {
    using f = raw(p, 'rb');
    throwsFs(() => f.writeSync(Buffer.from('x')), 'EBADF', 'not open for writing');
    await rejectsFs(f.write(Buffer.from('x')), 'EBADF', 'not open for writing');
    throwsFs(
      () => {
        f.writeAllSync(Buffer.from('x'));
      },
      'EBADF',
      'not open for writing',
    );
    await rejectsFs(f.writeAll(Buffer.from('x')), 'EBADF', 'not open for writing');
  }
  {
    using f = raw(p, 'ab');
    throwsFs(() => f.readSync(1), 'EBADF', 'not open for reading');
    await rejectsFs(f.read(1), 'EBADF', 'not open for reading');
    await rejectsFs(f.read(), 'EBADF', 'not open for reading');
    throwsFs(() => f.readallSync(), 'EBADF', 'not open for reading');
    throwsFs(() => f.readintoSync(Buffer.alloc(1)), 'EBADF', 'not open for reading');
    throwsFs(() => f.readlineSync(), 'EBADF', 'not open for reading');
  }
  assert.equal(read(p).toString(), 'abc');
});

test('double close is a no-op; every method after close is EBADF', async () => {
  const p = file('closed.bin', 'abc');
  const f = raw(p, 'rb+');
  f.closeSync();
  f.closeSync();
  await f.close();
  assert.equal(f.closed, true);
  const syncCalls: [string, () => unknown][] = [
    ['read', () => f.readSync(1)],
    ['readall', () => f.readallSync()],
    ['readinto', () => f.readintoSync(Buffer.alloc(1))],
    ['readline', () => f.readlineSync()],
    ['iterate', () => [...f]],
    ['write', () => f.writeSync(Buffer.from('x'))],
    [
      'writeAll',
      () => {
        f.writeAllSync(Buffer.from('x'));
      },
    ],
    ['seek', () => f.seekSync(0)],
    ['tell', () => f.tell()],
    ['seekable', () => f.seekableSync()],
    ['truncate', () => f.truncateSync(0)],
    [
      'flush',
      () => {
        f.flushSync();
      },
    ],
    [
      'sync',
      () => {
        f.syncSync();
      },
    ],
    [
      'datasync',
      () => {
        f.datasyncSync();
      },
    ],
    ['stat', () => f.statSync()],
    ['fileno', () => f.fileno()],
    ['borrow', () => f.borrow()],
    ['dup', () => f.dupSync()],
  ];
  for (const [name, call] of syncCalls) assert.match(throwsFs(call, 'EBADF').message, /closed/, name);
  const asyncCalls: [string, () => Promise<unknown>][] = [
    ['read', () => f.read(1)],
    ['readall', () => f.readall()],
    ['readinto', () => f.readinto(Buffer.alloc(1))],
    ['readline', () => f.readline()],
    ['write', () => f.write(Buffer.from('x'))],
    ['writeAll', () => f.writeAll(Buffer.from('x'))],
    ['truncate', () => f.truncate(0)],
    ['flush', () => f.flush()],
    ['sync', () => f.sync()],
    ['datasync', () => f.datasync()],
    ['stat', () => f.stat()],
    [
      'iterate',
      async () => {
        for await (const _ of f) break;
      },
    ],
  ];
  await allRejectFs(asyncCalls, 'EBADF', 'closed');
  assert.equal(read(p).toString(), 'abc');
  assert.match(f.toString(), /closed/);
});

test('using closes at the end of the block, even when the block throws', () => {
  const p = file('using.bin', 'abc');
  let kept: RawFile | undefined;
  assert.throws(() => {
    using f = raw(p, 'rb');
    kept = f;
    assert.equal(table.size, 1);
    throw new Error('boom');
  }, /boom/);
  assert.ok(kept);
  assert.equal(kept.closed, true);
  assert.equal(table.size, 0);
});

test('await using closes at the end of the block', async () => {
  const p = file('await-using.bin');
  let kept: RawFile | undefined;
  {
    await using f = await open(p, 'wb', { table, buffering: 0 });
    kept = f;
    await f.write(Buffer.from('z'));
  }
  assert.equal(kept.closed, true);
  assert.equal(read(p).toString(), 'z');
});

test('dup shares the offset; closing one leaves the other usable', () => {
  const p = file('dup.bin', 'abcdef');
  using f = raw(p, 'rb');
  using g = f.dupSync();
  assert.notEqual(g.descriptor.number, f.descriptor.number);
  assert.deepEqual(f.readSync(2), Buffer.from('ab'));
  assert.deepEqual(g.readSync(2), Buffer.from('cd'));
  f.closeSync();
  assert.deepEqual(g.readSync(), Buffer.from('ef'));
  assert.equal(table.size, 1);
});

test('stat, sync and datasync work on an open file', async () => {
  const p = file('stat.bin', 'abcd');
  using f = raw(p, 'rb+');
  assert.equal(f.statSync().size, 4);
  assert.equal((await f.stat()).size, 4);
  f.syncSync();
  await f.sync();
  f.datasyncSync();
  await f.datasync();
  f.flushSync();
  await f.flush();
  assert.match(f.toString(), /RawFile\(name='.*stat\.bin', mode='rb\+', fd=\d+\)/);
});

test('writeAll loops over short writes until everything is out', async () => {
  const p = file('writeall.bin');
  using f = raw(p, 'wb');
  const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
  f.writeAllSync(big);
  await f.writeAll(big);
  assert.equal(fs.statSync(p).size, big.length * 2);
});
