import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { BufferedFile } from '../src/io/buffered-file.js';
import { openSync } from '../src/io/open.js';
import { Pipe, pipe } from '../src/io/pipe.js';
import { TextFile } from '../src/io/text-file.js';
import { fdtable } from '../src/table/default-table.js';
import { fdIsOpen, ioFixture, rejectsFs, throwsFs } from './support/io-fixture.js';

const { table, file } = ioFixture('pipe');
const LINUX = process.platform === 'linux';

/** The descriptor numbers open in this process (Linux). */
function procFds(): Set<number> {
  return new Set(fs.readdirSync('/proc/self/fd').map(Number));
}

test('what goes into the writer comes out of the reader, sync and async', async () => {
  using p = pipe({ table });
  assert.ok(p instanceof Pipe);
  assert.equal(p.reader.mode, 'rb');
  assert.equal(p.writer.mode, 'wb');
  assert.equal(p.reader.readable, true);
  assert.equal(p.writer.writable, true);
  assert.equal(table.size, 2);
  assert.equal(p.writer.writeSync(Buffer.from('hello')), 5);
  assert.equal(p.reader.readSync(5).toString(), 'hello');
  assert.equal(await p.writer.write(Buffer.from('world')), 5);
  assert.equal((await p.reader.read(100)).toString(), 'world', 'a pipe read returns what is there');
  await p.writer.writeAll(Buffer.from('!'));
  const buf = Buffer.alloc(4);
  assert.equal(await p.reader.readinto(buf), 1);
});

test('an async read waits for data written later', async () => {
  using p = pipe({ table });
  const pending = p.reader.read(3);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await p.writer.write(Buffer.from('abc'));
  assert.equal((await pending).toString(), 'abc');
});

test('closing the writer gives the reader end of file', async () => {
  using p = pipe({ table });
  p.writer.writeSync(Buffer.from('last words'));
  p.writer.closeSync();
  assert.equal(p.writer.closed, true);
  assert.equal(p.reader.closed, false);
  assert.equal(p.closed, false);
  assert.equal(p.reader.readSync().toString(), 'last words', 'read() reads to end of file');
  assert.equal(p.reader.readSync(10).length, 0);
  assert.equal((await p.reader.read(10)).length, 0);
  assert.equal(table.size, 1);
});

test('a pipe is not seekable, even before its first read or write', () => {
  using p = pipe({ table });
  assert.equal(p.reader.seekableSync(), false);
  assert.equal(p.writer.seekableSync(), false);
  p.writer.writeSync(Buffer.from('ab'));
  assert.equal(p.reader.readSync(1).toString(), 'a');
  // after I/O the table knows: tell and seek are ESPIPE
  throwsFs(() => p.reader.tell(), 'ESPIPE');
  throwsFs(() => p.writer.seekSync(0), 'ESPIPE');
  throwsFs(() => p.writer.tell(), 'ESPIPE');
});

test('tell and seek on a fresh pipe are ESPIPE', () => {
  using p = pipe({ table });
  throwsFs(() => p.reader.tell(), 'ESPIPE');
  throwsFs(() => p.writer.seekSync(0), 'ESPIPE');
});

test('the ends refuse the other direction with EBADF', async () => {
  using p = pipe({ table });
  throwsFs(() => p.reader.writeSync(Buffer.from('x')), 'EBADF', 'not open for writing');
  throwsFs(() => p.writer.readSync(1), 'EBADF', 'not open for reading');
  await rejectsFs(p.writer.read(1), 'EBADF', 'not open for reading');
});

test('raw readline on a pipe reads exactly one line and leaves the rest in the pipe', () => {
  using p = pipe({ table });
  p.writer.writeSync(Buffer.from('one\ntwo\nthree'));
  p.writer.closeSync();
  assert.equal(p.reader.readlineSync().toString(), 'one\n');
  assert.equal(p.reader.readSync(4).toString(), 'two\n');
  assert.deepEqual([...p.reader].map(String), ['three']);
});

test('a buffered or text file over the reader reads lines', async () => {
  using p = pipe({ table });
  const text = new TextFile(new BufferedFile(p.reader.borrow(), 4), 'r');
  p.writer.writeSync(Buffer.from('αβγ\r\nsecond line\nthird'));
  p.writer.closeSync();
  const lines: string[] = [];
  for await (const line of text) lines.push(line);
  assert.deepEqual(lines, ['αβγ\n', 'second line\n', 'third']);
  await text.close();
  assert.equal(p.reader.closed, false, 'the borrowed view did not close the reader');
});

test('close() closes both ends; the second close is a no-op', async () => {
  const p = pipe({ table });
  const [r, w] = [p.reader.descriptor.number, p.writer.descriptor.number];
  if (LINUX) {
    const fds = procFds();
    assert.ok(fds.has(r) && fds.has(w));
  }
  p.closeSync();
  assert.equal(p.closed, true);
  assert.equal(p.reader.closed, true);
  assert.equal(p.writer.closed, true);
  assert.equal(table.size, 0);
  if (LINUX) {
    const fds = procFds();
    assert.equal(fds.has(r), false, 'the read end is gone from /proc/self/fd');
    assert.equal(fds.has(w), false, 'the write end is gone from /proc/self/fd');
  }
  p.closeSync();
  await p.close();
  throwsFs(() => p.reader.readSync(1), 'EBADF');
  throwsFs(() => p.writer.writeSync(Buffer.from('x')), 'EBADF');
});

test('close() closes each number exactly once: a file that reuses a number is not touched', async () => {
  for (const variant of ['sync', 'async'] as const) {
    const p = pipe({ table });
    const numbers = [p.reader.descriptor.number, p.writer.descriptor.number];
    if (variant === 'sync') p.closeSync();
    else await p.close();
    // New opens get the lowest free numbers: open until both numbers the pipe gave back are reused.
    const src = file('reuse.txt', 'still here');
    const fds: number[] = [];
    try {
      while (!numbers.every((n) => fds.includes(n)) && fds.length < 200) fds.push(fs.openSync(src, 'r'));
      assert.ok(
        numbers.every((n) => fds.includes(n)),
        'the kernel reused the numbers',
      );
      p.closeSync();
      await p.close();
      p[Symbol.dispose]();
      await p[Symbol.asyncDispose]();
      for (const fd of fds) {
        assert.equal(
          fdIsOpen(fd),
          true,
          `${variant}: a second close of the pipe closed fd ${fd}, which belongs to another file now`,
        );
        assert.equal(fs.readFileSync(fd, 'utf8'), 'still here');
      }
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  }
});

test('ends closed on their own are skipped by close()', async () => {
  {
    const p = pipe({ table });
    p.writer.closeSync();
    p.closeSync();
    assert.equal(p.closed, true);
    assert.equal(table.size, 0);
  }
  {
    const p = pipe({ table });
    await p.reader.close();
    await p.close();
    assert.equal(p.closed, true);
    assert.equal(table.size, 0);
  }
  {
    const p = pipe({ table });
    p.reader.closeSync();
    p.writer.closeSync();
    p.closeSync();
    assert.equal(table.size, 0);
  }
});

test('using closes both ends; the numbers are gone from /proc/self/fd', async () => {
  let numbers: number[] = [];
  let kept: Pipe | undefined;
  assert.throws(() => {
    using p = pipe({ table });
    kept = p;
    numbers = [p.reader.descriptor.number, p.writer.descriptor.number];
    p.writer.writeSync(Buffer.from('x'));
    throw new Error('boom');
  }, /boom/);
  assert.equal(kept?.closed, true);
  assert.equal(table.size, 0);
  if (LINUX) for (const n of numbers) assert.equal(procFds().has(n), false, `fd ${n} still open`);
  {
    await using p = pipe({ table });
    numbers = [p.reader.descriptor.number, p.writer.descriptor.number];
    await p.writer.write(Buffer.from('y'));
    assert.equal((await p.reader.read(1)).toString(), 'y');
  }
  assert.equal(table.size, 0);
  if (LINUX) for (const n of numbers) assert.equal(procFds().has(n), false, `fd ${n} still open`);
});

test('pipe() leaves no FIFO behind: its private directory is gone while both ends work', () => {
  using p = pipe({ table });
  const link = fs.readlinkSync(`/proc/self/fd/${p.reader.descriptor.number}`);
  const m = /^(.*\/fdkeeper-pipe-[^/]+)\/fifo \(deleted\)$/.exec(link);
  assert.ok(m, `the read end names the unlinked FIFO: ${link}`);
  assert.equal(fs.existsSync(m[1] ?? ''), false, 'the private FIFO directory was removed');
  p.writer.writeSync(Buffer.from('x'));
  assert.deepEqual(p.reader.readSync(1), Buffer.from('x'));
});

test('pipe() without a table uses the process-wide one', () => {
  using p = pipe();
  assert.equal(p.reader.table, fdtable);
  assert.equal(fdtable.has(p.writer.descriptor.number), true);
});

test('a pipe end can be wrapped by number with open()', () => {
  using p = pipe({ table });
  const w = openSync(p.writer.descriptor.number, 'w', { table, closefd: false });
  w.writeSync('via text\n');
  w.closeSync();
  assert.equal(p.writer.closed, false);
  assert.equal(p.reader.readlineSync().toString(), 'via text\n');
});
