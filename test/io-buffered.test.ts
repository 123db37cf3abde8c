import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import { BufferedFile } from '../src/io/buffered-file.js';
import { open, openSync } from '../src/io/open.js';
import { ioFixture, rejectsFs, throwsFs, allRejectFs } from './support/io-fixture.js';

const { table, file, read } = ioFixture('buffered');

function bopen(p: string, mode: string, buffering?: number): BufferedFile {
  const f = openSync(p, mode, buffering === undefined ? { table } : { table, buffering });
  assert.ok(f instanceof BufferedFile, `${mode} gives a BufferedFile`);
  return f;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const SIZES = [1, 2, 3, 4, 5, 7, 8, 64, 65536];

test('binary modes give a BufferedFile with the requested buffer size', async () => {
  const p = file('kind.bin', 'x');
  const f = bopen(p, 'rb');
  assert.equal(f.bufferSize, 64 * 1024);
  assert.equal(f.mode, 'rb');
  f.closeSync();
  const g = await open(p, 'ab+', { table, buffering: 5 });
  assert.ok(g instanceof BufferedFile);
  assert.equal(g.bufferSize, 5);
  await g.close();
  throwsFs(() => openSync(p, 'rb', { table, buffering: -2 }), 'EINVAL', 'buffering');
  throwsFs(() => openSync(p, 'rb', { table, buffering: 1.5 }), 'EINVAL', 'buffering');
  throwsFs(() => openSync(p, 'rb', { table, encoding: 'utf8' }), 'EINVAL', 'encoding');
  throwsFs(() => openSync(p, 'rb', { table, newline: '\n' }), 'EINVAL', 'newline');
  throwsFs(() => openSync(p, 'rb', { table, errors: 'strict' }), 'EINVAL', 'errors');
});

test('read(n) returns exactly n bytes unless end of file comes first, for every buffer size', async () => {
  const data = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const p = file('read.bin', data);
  for (const size of SIZES) {
    for (const n of [1, 2, 3, 5, 8, 13]) {
      {
        using f = bopen(p, 'rb', size);
        const got: string[] = [];
        for (;;) {
          const chunk = f.readSync(n);
          if (chunk.length === 0) break;
          got.push(chunk.toString());
          assert.equal(f.tell(), got.join('').length);
        }
        assert.equal(got.join(''), data, `size ${size} n ${n}`);
        for (const c of got.slice(0, -1)) assert.equal(c.length, n, `size ${size} n ${n}: only the last read is short`);
      }
      {
        await using f = bopen(p, 'rb', size);
        const got: string[] = [];
        for (;;) {
          const chunk = await f.read(n);
          if (chunk.length === 0) break;
          got.push(chunk.toString());
        }
        assert.equal(got.join(''), data);
        for (const c of got.slice(0, -1)) assert.equal(c.length, n);
      }
    }
  }
});

test('read() and read(-1) return everything left, including what is buffered', async () => {
  const p = file('readall.bin', 'hello world');
  for (const size of SIZES) {
    using f = bopen(p, 'rb', size);
    assert.equal(f.readSync(3).toString(), 'hel');
    assert.equal(f.readSync().toString(), 'lo world');
    assert.equal(f.readSync().length, 0);
    f.seekSync(6);
    assert.equal((await f.read(-1)).toString(), 'world');
    assert.equal((await f.read()).length, 0);
  }
});

test('readinto fills the whole buffer unless end of file comes first', async () => {
  const p = file('into.bin', 'abcdefghij');
  for (const size of SIZES) {
    using f = bopen(p, 'rb', size);
    const buf = Buffer.alloc(4);
    assert.equal(f.readintoSync(buf), 4);
    assert.equal(buf.toString(), 'abcd');
    assert.equal(await f.readinto(buf), 4);
    assert.equal(buf.toString(), 'efgh');
    const u8 = new Uint8Array(4);
    assert.equal(f.readintoSync(u8), 2);
    assert.equal(Buffer.from(u8.subarray(0, 2)).toString(), 'ij');
    assert.equal(await f.readinto(u8), 0);
  }
});

test('read1 makes at most one raw read', async () => {
  const p = file('read1.bin', 'abcdefghij');
  using f = bopen(p, 'rb', 4);
  assert.equal(f.read1Sync().toString(), 'abcd');
  assert.equal(f.read1Sync(2).toString(), 'ef');
  assert.equal((await f.read1()).toString(), 'gh');
  assert.equal((await f.read1(100)).toString(), 'ij');
  assert.equal(f.read1Sync().length, 0);
  assert.equal((await f.read1()).length, 0);
});

test('readline and readline(limit) for every buffer size, sync and async', async () => {
  const text = 'first line\n\nthird\r\nno newline at end';
  const p = file('lines.bin', text);
  for (const size of SIZES) {
    {
      using f = bopen(p, 'rb', size);
      assert.equal(f.readlineSync().toString(), 'first line\n');
      assert.equal(f.readlineSync().toString(), '\n');
      assert.equal(f.readlineSync(3).toString(), 'thi');
      assert.equal(f.readlineSync(3).toString(), 'rd\r');
      assert.equal(f.readlineSync(3).toString(), '\n');
      assert.equal(f.readlineSync(0).toString(), '');
      assert.equal(f.readlineSync().toString(), 'no newline at end');
      assert.equal(f.readlineSync().length, 0);
      assert.equal(f.tell(), text.length);
    }
    {
      await using f = bopen(p, 'rb', size);
      assert.equal((await f.readline()).toString(), 'first line\n');
      assert.equal((await f.readline(100)).toString(), '\n');
      assert.equal((await f.readline(2)).toString(), 'th');
      assert.equal(f.tell(), 14);
      assert.equal((await f.readline()).toString(), 'ird\r\n');
      assert.equal((await f.readline()).toString(), 'no newline at end');
      assert.equal((await f.readline()).length, 0);
    }
  }
});

test('for…of and for await…of iterate over the lines (values, not indices)', async () => {
  const p = file('iter.bin', 'a\nbb\n\nccc');
  const want = ['a\n', 'bb\n', '\n', 'ccc'];
  for (const size of [1, 3, 100]) {
    {
      using f = bopen(p, 'rb', size);
      const got: string[] = [];
      for (const line of f) {
        assert.ok(Buffer.isBuffer(line));
        got.push(line.toString());
      }
      assert.deepEqual(got, want);
    }
    {
      using f = bopen(p, 'rb', size);
      assert.deepEqual([...f.linesSync()].map(String), want);
    }
    {
      await using f = bopen(p, 'rb', size);
      const got: string[] = [];
      for await (const line of f) got.push(line.toString());
      assert.deepEqual(got, want);
    }
    {
      await using f = bopen(p, 'rb', size);
      const got: string[] = [];
      for await (const line of f.lines()) got.push(line.toString());
      assert.deepEqual(got, want);
    }
  }
});

test('writes stay in the buffer until flush, then reach the file', async () => {
  const p = file('flush.bin');
  {
    using f = bopen(p, 'wb', 16);
    assert.equal(f.writeSync('abc'), 3);
    assert.equal(f.writeSync(b('def')), 3);
    assert.equal(read(p).length, 0, 'nothing on disk before flush');
    assert.equal(f.tell(), 6);
    f.flushSync();
    assert.equal(read(p).toString(), 'abcdef');
    assert.equal(await f.write(new Uint8Array([0x67])), 1);
    assert.equal(await f.write('hi'), 2);
    assert.equal(read(p).toString(), 'abcdef');
    await f.flush();
    assert.equal(read(p).toString(), 'abcdefghi');
    f.writeSync('tail');
  }
  assert.equal(read(p).toString(), 'abcdefghitail', 'close flushes');
});

test('await using / close() flush pending writes', async () => {
  const p = file('close-flush.bin');
  {
    await using f = bopen(p, 'wb');
    await f.write('pending');
    assert.equal(read(p).length, 0);
  }
  assert.equal(read(p).toString(), 'pending');
});

test('buffer sizes smaller and larger than the writes: the file gets every byte in order', async () => {
  const chunks = ['a', 'bc', 'defg', 'hijklmnop', 'q', 'rstuvwxyz0123456789', '', 'ABCDEFGH'];
  const want = chunks.join('');
  for (const size of SIZES) {
    const p = file('sizes.bin');
    {
      using f = bopen(p, 'wb', size);
      let written = 0;
      for (const c of chunks) {
        f.writeSync(c);
        written += c.length;
        assert.equal(f.tell(), written);
        const onDisk = read(p).toString();
        assert.ok(want.startsWith(onDisk), `size ${size}: disk has a prefix`);
      }
    }
    assert.equal(read(p).toString(), want, `size ${size} sync`);
    const q = file('sizes-async.bin');
    {
      await using f = bopen(q, 'wb', size);
      for (const c of chunks) await f.write(c);
    }
    assert.equal(read(q).toString(), want, `size ${size} async`);
  }
});

test('a write that fills the buffer exactly goes out; one larger than the buffer goes straight through', () => {
  const p = file('exact.bin');
  using f = bopen(p, 'wb', 4);
  f.writeSync('ab');
  assert.equal(read(p).length, 0);
  f.writeSync('cd');
  assert.equal(read(p).toString(), 'abcd');
  f.writeSync('e');
  f.writeSync('fghijk');
  assert.equal(read(p).toString(), 'abcdefghijk');
  f.writeSync('l');
  assert.equal(read(p).toString(), 'abcdefghijk');
});

test('r+b: read(2) then write lands at position 2, as in Python (file abXYef)', async () => {
  for (const size of SIZES) {
    const p = file('rplus.bin');
    {
      using f = bopen(p, 'wb+', size);
      f.writeSync('abcdef');
      f.seekSync(0);
      assert.equal(f.readSync(2).toString(), 'ab');
      assert.equal(f.tell(), 2);
      f.writeSync('XY');
      assert.equal(f.tell(), 4);
      assert.equal(f.readSync(1).toString(), 'e', `size ${size}: the read after the write continues after it`);
      assert.equal(f.tell(), 5);
    }
    assert.equal(read(p).toString(), 'abXYef', `size ${size}`);
    const q = file('rplus-async.bin', 'abcdef');
    {
      await using f = bopen(q, 'rb+', size);
      assert.equal((await f.read(2)).toString(), 'ab');
      await f.write('XY');
      assert.equal((await f.read()).toString(), 'ef');
    }
    assert.equal(read(q).toString(), 'abXYef', `size ${size} async`);
  }
});

test('r+b: write then read reads what follows the write (pending data is flushed first)', async () => {
  for (const size of SIZES) {
    const p = file('wr.bin', '0123456789');
    {
      using f = bopen(p, 'rb+', size);
      f.writeSync('AB');
      assert.equal(f.readSync(3).toString(), '234');
      f.writeSync('C');
      assert.equal(f.readlineSync().toString(), '6789');
      f.seekSync(0);
      assert.equal(f.readSync().toString(), 'AB234C6789');
    }
    assert.equal(read(p).toString(), 'AB234C6789');
    const q = file('wr-async.bin', '0123456789');
    {
      await using f = bopen(q, 'rb+', size);
      await f.write('AB');
      assert.equal((await f.read(3)).toString(), '234');
      await f.write('C');
      assert.equal((await f.readline()).toString(), '6789');
    }
    assert.equal(read(q).toString(), 'AB234C6789');
  }
});

test('unawaited promise calls run in call order (read, write, read)', async () => {
  for (const size of [1, 4, 65536]) {
    const p = file('order.bin', 'abcdef');
    {
      await using f = bopen(p, 'rb+', size);
      const r1 = f.read(2);
      const w = f.write('XY');
      const r2 = f.read(1);
      const t = f.seek(0);
      const r3 = f.read();
      assert.equal((await r1).toString(), 'ab');
      assert.equal(await w, 2);
      assert.equal((await r2).toString(), 'e');
      assert.equal(await t, 0);
      assert.equal((await r3).toString(), 'abXYef');
    }
    assert.equal(read(p).toString(), 'abXYef');
  }
});

test("append 'ab': seek(0) then write lands at the end; tell reports the end", async () => {
  for (const size of [1, 4, 65536]) {
    const p = file('append.bin', 'hello');
    {
      using f = bopen(p, 'ab', size);
      assert.equal(f.tell(), 5);
      f.seekSync(0);
      f.writeSync('XY');
      assert.equal(f.tell(), 7, `size ${size}: tell after an append write is the end`);
      f.flushSync();
      assert.equal(f.tell(), 7);
      await f.seek(1);
      await f.write('!');
      assert.equal(f.tell(), 8);
    }
    assert.equal(read(p).toString(), 'helloXY!');
  }
});

test("append 'ab+': reads from the seek position, writes at the end", async () => {
  for (const size of [1, 3, 65536]) {
    const p = file('appendplus.bin', 'hello');
    {
      using f = bopen(p, 'ab+', size);
      assert.equal(f.readSync().length, 0, 'an append-mode file starts at the end');
      f.seekSync(1);
      assert.equal(f.readSync(2).toString(), 'el');
      f.writeSync('XY');
      assert.equal(f.tell(), 7);
      assert.equal(f.readSync().length, 0, 'after an append write the position is the end');
      f.seekSync(0);
      assert.equal(f.readSync().toString(), 'helloXY');
    }
    assert.equal(read(p).toString(), 'helloXY');
    const q = file('appendplus-async.bin', 'hello');
    {
      await using f = bopen(q, 'ab+', size);
      await f.seek(0);
      assert.equal((await f.read(3)).toString(), 'hel');
      await f.write('Z');
      assert.equal(f.tell(), 6);
      await f.seek(-3, 2);
      assert.equal((await f.read()).toString(), 'loZ');
    }
    assert.equal(read(q).toString(), 'helloZ');
  }
});

test('truncate: default size is the logical position; the position does not move', async () => {
  for (const size of [1, 4, 65536]) {
    const p = file('trunc.bin', 'abcdefghij');
    {
      using f = bopen(p, 'rb+', size);
      assert.equal(f.readSync(3).toString(), 'abc'); // the buffer has read ahead
      assert.equal(f.truncateSync(), 3);
      assert.equal(f.tell(), 3);
      assert.equal(read(p).toString(), 'abc');
      f.writeSync('DE'); // pending
      assert.equal(await f.truncate(), 5);
      assert.equal(f.tell(), 5);
      assert.equal(read(p).toString(), 'abcDE');
      assert.equal(f.truncateSync(2), 2);
      assert.equal(f.tell(), 5);
      assert.equal(read(p).toString(), 'ab');
      f.seekSync(0);
      assert.equal(f.readSync().toString(), 'ab');
    }
  }
});

test('seek whence 0/1/2 through buffered reads; negative results are EINVAL and move nothing', async () => {
  for (const size of [1, 3, 65536]) {
    const p = file('seek.bin', '0123456789');
    using f = bopen(p, 'rb', size);
    assert.equal(f.readSync(2).toString(), '01');
    assert.equal(f.seekSync(2, 1), 4);
    assert.equal(f.readSync(1).toString(), '4');
    assert.equal(f.seekSync(-2, 1), 3);
    assert.equal(f.readSync(1).toString(), '3');
    assert.equal(f.seekSync(-1, 2), 9);
    assert.equal(f.readSync().toString(), '9');
    assert.equal(await f.seek(1), 1);
    assert.equal(f.readSync(2).toString(), '12');
    throwsFs(() => f.seekSync(-1), 'EINVAL');
    throwsFs(() => f.seekSync(-4, 1), 'EINVAL');
    throwsFs(() => f.seekSync(-11, 2), 'EINVAL');
    throwsFs(() => f.seekSync(0, 7 as 0), 'EINVAL');
    await rejectsFs(f.seek(-100, 1), 'EINVAL');
    assert.equal(f.tell(), 3, `size ${size}: a failed seek leaves the position alone`);
    assert.equal(f.readSync(2).toString(), '34', `size ${size}: and the buffered data`);
  }
});

test('a failed seek with pending writes keeps them and the position', () => {
  const p = file('seek-w.bin', '0123456789');
  {
    using f = bopen(p, 'rb+', 100);
    f.writeSync('AB');
    throwsFs(() => f.seekSync(-3, 1), 'EINVAL');
    assert.equal(f.tell(), 2);
    f.writeSync('C');
  }
  assert.equal(read(p).toString(), 'ABC3456789');
});

test('tell follows buffered reads and writes', async () => {
  const p = file('tell.bin', 'x'.repeat(100));
  using f = bopen(p, 'rb+', 7);
  assert.equal(f.tell(), 0);
  f.readSync(3);
  assert.equal(f.tell(), 3);
  f.readlineSync(10);
  assert.equal(f.tell(), 13);
  f.writeSync('yy');
  assert.equal(f.tell(), 15);
  await f.read(20);
  assert.equal(f.tell(), 35);
  await f.write('z'.repeat(20));
  assert.equal(f.tell(), 55);
  f.seekSync(0, 2);
  assert.equal(f.tell(), 100);
});

test('read on a write-only file and write on a read-only file are EBADF "not open for …"', async () => {
  const p = file('access.bin', 'abc');
  {
    using f = bopen(p, 'rb');
    throwsFs(() => f.writeSync('x'), 'EBADF', 'not open for writing');
    await rejectsFs(f.write('x'), 'EBADF', 'not open for writing');
    throwsFs(() => f.truncateSync(0), 'EBADF', 'not open for writing');
    assert.equal(f.readSync().toString(), 'abc');
  }
  {
    using f = bopen(p, 'ab');
    throwsFs(() => f.readSync(1), 'EBADF', 'not open for reading');
    await rejectsFs(f.read(1), 'EBADF', 'not open for reading');
    throwsFs(() => f.readlineSync(), 'EBADF', 'not open for reading');
    await rejectsFs(f.readline(), 'EBADF', 'not open for reading');
    throwsFs(() => f.read1Sync(), 'EBADF', 'not open for reading');
    throwsFs(() => f.readintoSync(Buffer.alloc(1)), 'EBADF', 'not open for reading');
  }
  assert.equal(read(p).toString(), 'abc');
});

test('double close is a no-op; every method after close is EBADF', async () => {
  const p = file('closed.bin', 'abc');
  const f = bopen(p, 'rb+');
  f.writeSync('Z');
  f.closeSync();
  f.closeSync();
  await f.close();
  assert.equal(f.closed, true);
  assert.equal(read(p).toString(), 'Zbc');
  const syncCalls: [string, () => unknown][] = [
    ['read', () => f.readSync(1)],
    ['readAll', () => f.readSync()],
    ['readinto', () => f.readintoSync(Buffer.alloc(1))],
    ['read1', () => f.read1Sync()],
    ['readline', () => f.readlineSync()],
    ['iterate', () => [...f]],
    ['write', () => f.writeSync('x')],
    [
      'flush',
      () => {
        f.flushSync();
      },
    ],
    ['seek', () => f.seekSync(0)],
    ['tell', () => f.tell()],
    ['truncate', () => f.truncateSync(0)],
    [
      'sync',
      () => {
        f.syncSync();
      },
    ],
    ['stat', () => f.statSync()],
    ['fileno', () => f.fileno()],
  ];
  for (const [name, call] of syncCalls) {
    const e = throwsFs(call, 'EBADF');
    assert.match(e.message, /closed/, name);
  }
  const asyncCalls: [string, () => Promise<unknown>][] = [
    ['read', () => f.read(1)],
    ['readinto', () => f.readinto(Buffer.alloc(1))],
    ['read1', () => f.read1()],
    ['readline', () => f.readline()],
    ['write', () => f.write('x')],
    ['flush', () => f.flush()],
    ['seek', () => f.seek(0)],
    ['truncate', () => f.truncate(0)],
    ['sync', () => f.sync()],
    ['stat', () => f.stat()],
    [
      'iterate',
      async () => {
        for await (const _ of f) break;
      },
    ],
  ];
  await allRejectFs(asyncCalls, 'EBADF', /closed/);
  assert.equal(read(p).toString(), 'Zbc', 'nothing was written after close');
});

test('a Sync call while a promise call is unfinished is EBUSY; afterwards it works', async () => {
  const p = file('busy.bin', 'abcdef');
  const f = bopen(p, 'rb+', 2);
  const pending = f.read(3);
  throwsFs(() => f.readSync(1), 'EBUSY', 'asynchronous');
  throwsFs(() => f.writeSync('x'), 'EBUSY');
  throwsFs(() => f.seekSync(0), 'EBUSY');
  throwsFs(() => {
    f.flushSync();
  }, 'EBUSY');
  throwsFs(() => f.truncateSync(), 'EBUSY');
  throwsFs(() => f.readlineSync(), 'EBUSY');
  throwsFs(() => {
    f.closeSync();
  }, 'EBUSY');
  assert.equal(f.closed, false);
  assert.equal((await pending).toString(), 'abc');
  assert.equal(f.readSync(1).toString(), 'd');
  const w = f.write('W'.repeat(10)); // larger than the buffer: goes through the lock
  throwsFs(() => f.readSync(), 'EBUSY');
  await w;
  f.closeSync();
  assert.equal(read(p).toString(), 'abcdWWWWWWWWWW');
});

test('close() waits for earlier promise calls', async () => {
  const p = file('close-wait.bin', 'abcdef');
  const f = bopen(p, 'rb+', 2);
  const r = f.read(4);
  const w = f.write('XY');
  const c = f.close();
  assert.equal((await r).toString(), 'abcd');
  assert.equal(await w, 2);
  await c;
  assert.equal(f.closed, true);
  assert.equal(read(p).toString(), 'abcdXY');
});

test('using closes (and flushes) at the end of the block, even when it throws', () => {
  const p = file('using.bin');
  let kept: BufferedFile | undefined;
  assert.throws(() => {
    using f = bopen(p, 'wb');
    kept = f;
    f.writeSync('data');
    throw new Error('boom');
  }, /boom/);
  assert.equal(kept?.closed, true);
  assert.equal(read(p).toString(), 'data');
});

test('stat and sync flush first', async () => {
  const p = file('stat.bin');
  using f = bopen(p, 'wb');
  f.writeSync('abc');
  assert.equal(f.statSync().size, 3);
  await f.write('de');
  assert.equal((await f.stat()).size, 5);
  f.writeSync('f');
  f.syncSync();
  assert.equal(read(p).toString(), 'abcdef');
  await f.write('g');
  await f.sync();
  assert.equal(read(p).toString(), 'abcdefg');
  assert.match(f.toString(), /BufferedFile\(name='.*stat\.bin', mode='wb'\)/);
});

test('a big file read through a small buffer round-trips byte for byte', async () => {
  const big = Buffer.alloc(100_003);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  const p = file('big.bin', big);
  {
    using f = bopen(p, 'rb', 4096);
    const parts: Buffer[] = [];
    for (;;) {
      const c = f.readSync(1000);
      if (c.length === 0) break;
      parts.push(c);
    }
    assert.deepEqual(Buffer.concat(parts), big);
  }
  const q = file('big-copy.bin');
  {
    await using f = bopen(q, 'wb', 4096);
    for (let i = 0; i < big.length; i += 777) await f.write(big.subarray(i, i + 777));
  }
  assert.deepEqual(fs.readFileSync(q), big);
});

// ---------------------------------------------------------------- model-based: random operation sequences

type Op =
  | { op: 'read' | 'read1' | 'readinto'; n: number; sync: boolean }
  | { op: 'readline'; n: number; sync: boolean }
  | { op: 'write'; data: number[]; sync: boolean }
  | { op: 'seek'; off: number; whence: 0 | 1 | 2; sync: boolean }
  | { op: 'tell' }
  | { op: 'truncate'; size: number | undefined; sync: boolean }
  | { op: 'flush'; sync: boolean };

const byte = fc.constantFrom(0x61, 0x62, 0x0a);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('read' as const, 'read1' as const, 'readinto' as const),
    n: fc.integer({ min: -1, max: 12 }),
    sync: fc.boolean(),
  }),
  fc.record({ op: fc.constant('readline' as const), n: fc.integer({ min: -1, max: 8 }), sync: fc.boolean() }),
  fc.record({ op: fc.constant('write' as const), data: fc.array(byte, { maxLength: 12 }), sync: fc.boolean() }),
  fc.record({
    op: fc.constant('seek' as const),
    off: fc.integer({ min: -8, max: 30 }),
    whence: fc.constantFrom(0 as const, 1 as const, 2 as const),
    sync: fc.boolean(),
  }),
  fc.record({ op: fc.constant('tell' as const) }),
  fc.record({
    op: fc.constant('truncate' as const),
    size: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    sync: fc.boolean(),
  }),
  fc.record({ op: fc.constant('flush' as const), sync: fc.boolean() }),
);

/** Python's semantics on a byte array and a position: what a BufferedRandom must behave like. */
class Model {
  pos: number;
  constructor(
    public data: number[],
    readonly append: boolean,
  ) {
    this.pos = append ? data.length : 0;
  }
  read(n: number): number[] {
    const end = n < 0 ? Math.max(this.data.length, this.pos) : this.pos + n;
    const out = this.data.slice(this.pos, end);
    this.pos += out.length;
    return out;
  }
  readline(limit: number): number[] {
    const rest = this.data.slice(this.pos);
    const nl = rest.indexOf(0x0a);
    let end = nl < 0 ? rest.length : nl + 1;
    if (limit >= 0) end = Math.min(end, limit);
    this.pos += end;
    return rest.slice(0, end);
  }
  write(bytes: number[]): void {
    if (bytes.length === 0) return; // an empty write writes nothing, not even the gap after a seek past the end
    if (this.append) this.pos = this.data.length;
    while (this.data.length < this.pos) this.data.push(0);
    this.data.splice(this.pos, bytes.length, ...bytes);
    this.pos += bytes.length;
  }
  seek(off: number, whence: 0 | 1 | 2): number | undefined {
    const target = (whence === 0 ? 0 : whence === 1 ? this.pos : this.data.length) + off;
    if (target < 0) return undefined;
    return (this.pos = target);
  }
  truncate(size: number | undefined): number {
    const n = size ?? this.pos;
    this.data.length = Math.min(this.data.length, n);
    while (this.data.length < n) this.data.push(0);
    return n;
  }
}

test('random operation sequences behave like Python on an in-memory model (rb+, ab+)', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(byte, { maxLength: 24 }),
      fc.integer({ min: 1, max: 9 }),
      fc.boolean(),
      fc.array(opArb, { maxLength: 25 }),
      async (initial, size, append, ops) => {
        const p = file(`model-${String(run++)}.bin`, Buffer.from(initial));
        const model = new Model([...initial], append);
        const f = bopen(p, append ? 'ab+' : 'rb+', size);
        const trace: string[] = [];
        try {
          for (const o of ops) {
            trace.push(JSON.stringify(o));
            const where = `after ${trace.join(' ')}`;
            switch (o.op) {
              case 'read': {
                const got = o.sync ? f.readSync(o.n) : await f.read(o.n);
                assert.deepEqual([...got], model.read(o.n), where);
                break;
              }
              case 'readinto': {
                const buf = Buffer.alloc(Math.max(o.n, 0));
                const got = o.sync ? f.readintoSync(buf) : await f.readinto(buf);
                assert.deepEqual([...buf.subarray(0, got)], model.read(buf.length), where);
                break;
              }
              case 'read1': {
                const got = [...(o.sync ? f.read1Sync(o.n) : await f.read1(o.n))];
                const could = model.data.slice(model.pos, o.n < 0 ? undefined : model.pos + o.n);
                assert.deepEqual(got, could.slice(0, got.length), `${where}: read1 returns a prefix`);
                if (could.length > 0 && o.n !== 0)
                  assert.ok(got.length > 0, `${where}: read1 returns something before end of file`);
                model.pos += got.length;
                break;
              }
              case 'readline': {
                const got = o.sync ? f.readlineSync(o.n) : await f.readline(o.n);
                assert.deepEqual([...got], model.readline(o.n), where);
                break;
              }
              case 'write': {
                const data = Buffer.from(o.data);
                assert.equal(o.sync ? f.writeSync(data) : await f.write(data), data.length, where);
                model.write(o.data);
                break;
              }
              case 'seek': {
                const want = model.seek(o.off, o.whence);
                if (want === undefined) {
                  if (o.sync) throwsFs(() => f.seekSync(o.off, o.whence), 'EINVAL');
                  else await rejectsFs(f.seek(o.off, o.whence), 'EINVAL');
                } else {
                  assert.equal(o.sync ? f.seekSync(o.off, o.whence) : await f.seek(o.off, o.whence), want, where);
                }
                break;
              }
              case 'tell':
                assert.equal(f.tell(), model.pos, where);
                break;
              case 'truncate':
                assert.equal(o.sync ? f.truncateSync(o.size) : await f.truncate(o.size), model.truncate(o.size), where);
                break;
              case 'flush':
                if (o.sync) f.flushSync();
                else await f.flush();
                assert.deepEqual([...read(p)], model.data, `${where}: the file after flush`);
                break;
            }
            assert.equal(f.tell(), model.pos, `${where}: tell`);
          }
        } finally {
          await f.close();
        }
        assert.deepEqual([...read(p)], model.data, `the file after close: ${trace.join(' ')}`);
      },
    ),
    { numRuns: process.env.FDKEEPER_STRESS === '1' ? 3000 : 300 },
  );
});
