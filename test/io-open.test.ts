import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BufferedFile } from '../src/io/buffered-file.js';
import { open, openSync, type OpenOptions } from '../src/io/open.js';
import { RawFile } from '../src/io/raw-file.js';
import { TextFile } from '../src/io/text-file.js';
import { FileTable } from '../src/table/file-table.js';
import { fdIsOpen, ioFixture, rejectsFs, throwsFs } from './support/io-fixture.js';

const { table, file, dir, read } = ioFixture('open');

/** The current umask, found without the deprecated process.umask() getter. */
function umask(): number {
  const probe = path.join(dir, `umask-probe-${String(Math.random()).slice(2)}`);
  fs.writeFileSync(probe, '', { mode: 0o777 });
  const mode = fs.statSync(probe).mode & 0o777;
  fs.rmSync(probe);
  return 0o777 & ~mode;
}

test('open() returns RawFile, BufferedFile or TextFile by mode and buffering', async () => {
  const p = file('kinds.txt', 'abc');
  const kinds: [string, number | undefined, unknown][] = [
    ['r', undefined, TextFile],
    ['rt', 4, TextFile],
    ['rb', undefined, BufferedFile],
    ['rb', 2, BufferedFile],
    ['rb', 0, RawFile],
    ['r+b', 0, RawFile],
  ];
  for (const [mode, buffering, kind] of kinds) {
    const options = buffering === undefined ? { table } : { table, buffering };
    const f = openSync(p, mode, options);
    assert.ok(f instanceof (kind as typeof RawFile), `${mode} buffering ${String(buffering)}`);
    f.closeSync();
    const g = await open(p, mode, options);
    assert.ok(g instanceof (kind as typeof RawFile));
    await g.close();
  }
});

test('a table number is wrapped, sharing its offset; closing the file closes it (closefd default)', () => {
  const p = file('table-number.txt', 'line1\nline2\n');
  const n = table.openSync(p, 'r');
  table.seekSync(n, 6);
  {
    using f = openSync(n, 'r', { table });
    assert.equal(f.name, n);
    assert.equal(f.buffer.raw.descriptor, table.descriptor(n), 'the same Descriptor, not an adoption');
    assert.equal(f.readlineSync(), 'line2\n');
  }
  assert.equal(table.has(n), false, 'closing the file closed the table descriptor');
});

test('a table number wrapped with closefd: false stays open after the file closes', async () => {
  const p = file('table-borrow.txt', 'abc');
  const n = table.openSync(p, 'r');
  {
    await using f = await open(n, 'rb', { table, closefd: false });
    assert.equal(f.raw.closefd, false);
    assert.equal((await f.read(1)).toString(), 'a');
  }
  assert.equal(table.has(n), true);
  const buf = Buffer.alloc(2);
  // The buffered file read ahead, so the shared offset is at the end; the descriptor still works.
  assert.equal(table.readSync(n, buf, 0, 2, 0), 2);
  table.closeSync(n);
});

test('adopting an fs.openSync descriptor: closefd true closes it, closefd false leaves it open', async () => {
  const p = file('adopt.txt', 'hello');
  const fd1 = fs.openSync(p, 'r');
  {
    using f = openSync(fd1, 'r', { table });
    assert.equal(f.name, fd1);
    assert.equal(f.readSync(), 'hello');
    assert.equal(table.size, 1);
  }
  assert.equal(fdIsOpen(fd1), false, 'closefd defaults to true for adopted numbers above 2');
  assert.equal(table.size, 0);

  const fd2 = fs.openSync(p, 'r');
  try {
    {
      await using f = await open(fd2, 'rb', { table, closefd: false });
      assert.equal((await f.read()).toString(), 'hello');
    }
    assert.equal(fdIsOpen(fd2), true, 'closefd: false left the raw descriptor open');
    assert.equal(table.size, 0, 'but the adopted table entry went away with the file');
    assert.equal(fs.fstatSync(fd2).size, 5, 'the raw descriptor is still usable');
  } finally {
    fs.closeSync(fd2);
  }
});

test('adopting an unbuffered raw file with closefd: false, closed twice', () => {
  const p = file('adopt-raw.bin', 'xyz');
  const fd = fs.openSync(p, 'r+');
  try {
    const f = openSync(fd, 'rb+', { table, buffering: 0, closefd: false });
    assert.equal(f.readSync(1).toString(), 'x');
    f.closeSync();
    f.closeSync();
    assert.equal(fdIsOpen(fd), true);
    assert.equal(table.size, 0);
  } finally {
    fs.closeSync(fd);
  }
});

test('stdio numbers are borrowed by default', () => {
  for (const fd of [0, 1, 2]) {
    if (!fdIsOpen(fd)) continue;
    const f = openSync(fd, fd === 0 ? 'rb' : 'wb', { table, buffering: 0 });
    assert.equal(f.closefd, false, `fd ${fd}`);
    f.closeSync();
    assert.equal(fdIsOpen(fd), true, `fd ${fd} is still open`);
    assert.equal(table.size, 0);
  }
});

test('an invalid descriptor number is EINVAL; a number that is not open is EBADF', async () => {
  for (const bad of [-1, 1.5, Number.NaN]) {
    throwsFs(() => openSync(bad, 'r', { table }), 'EINVAL', 'descriptor');
    await rejectsFs(open(bad, 'r', { table }), 'EINVAL');
  }
  const fd = fs.openSync(file('gone.txt', ''), 'r');
  fs.closeSync(fd);
  throwsFs(() => openSync(fd, 'r', { table }), 'EBADF');
  assert.equal(table.size, 0);
});

test('closefd: false with a path is EINVAL and opens nothing', async () => {
  const p = file('closefd-path.txt');
  throwsFs(() => openSync(p, 'w', { table, closefd: false }), 'EINVAL', 'closefd');
  await rejectsFs(open(p, 'w', { table, closefd: false }), 'EINVAL', 'closefd');
  assert.equal(fs.existsSync(p), false);
  // closefd: true with a path is fine
  openSync(p, 'w', { table, closefd: true }).closeSync();
  assert.equal(fs.existsSync(p), true);
});

test('opening a directory is EISDIR in every mode, and leaves nothing open', async () => {
  const d = path.join(dir, 'a-directory');
  fs.mkdirSync(d);
  const before = process.platform === 'linux' ? fs.readdirSync('/proc/self/fd').length : 0;
  for (const mode of ['r', 'rb', 'rt', 'r+', 'w', 'a', 'ab+']) {
    const e = throwsFs(() => openSync(d, mode, { table }), 'EISDIR');
    assert.equal(e.path, d, mode);
    await rejectsFs(open(d, mode, { table }), 'EISDIR', d);
    assert.equal(table.size, 0);
    assert.equal(table.heldCount, 0);
  }
  throwsFs(() => openSync(d, 'rb', { table, buffering: 0 }), 'EISDIR');
  assert.equal(table.size, 0);
  if (process.platform === 'linux')
    assert.equal(fs.readdirSync('/proc/self/fd').length, before, 'no kernel descriptor left open');
});

test('wrapping a directory descriptor is EISDIR; the descriptor is left open for its owner', () => {
  const d = path.join(dir, 'dir-fd');
  fs.mkdirSync(d);
  const fd = fs.openSync(d, 'r');
  try {
    throwsFs(() => openSync(fd, 'r', { table }), 'EISDIR');
    throwsFs(() => openSync(fd, 'rb', { table, buffering: 0 }), 'EISDIR');
    assert.equal(table.size, 0);
    assert.equal(fdIsOpen(fd), true);
  } finally {
    fs.closeSync(fd);
  }
  const n = table.openSync(d, 'r');
  throwsFs(() => openSync(n, 'r', { table }), 'EISDIR');
  assert.equal(table.has(n), true);
  table.closeSync(n);
});

test('a missing file is ENOENT naming the path', async () => {
  const p = path.join(dir, 'no', 'such', 'file.txt');
  for (const mode of ['r', 'rb', 'r+', 'w']) {
    const e = throwsFs(() => openSync(p, mode, { table }), 'ENOENT', p);
    assert.equal(e.path, p);
    assert.equal(e.syscall, 'open');
    const e2 = await rejectsFs(open(p, mode, { table }), 'ENOENT', p);
    assert.equal(e2.path, p);
  }
  assert.equal(table.size, 0);
});

test("'x' on an existing file is EEXIST (sync and async); on a new file it creates it", async () => {
  const p = file('excl.txt', 'old');
  throwsFs(() => openSync(p, 'x', { table }), 'EEXIST', p);
  await rejectsFs(open(p, 'xb', { table }), 'EEXIST', p);
  assert.equal(read(p).toString(), 'old');
  const q = file('excl-new.txt');
  {
    await using f = await open(q, 'x', { table });
    await f.write('new');
  }
  assert.equal(read(q).toString(), 'new');
});

test('borrow(): a view that fails with EBADF naming the open and close sites once the owner closes', async () => {
  const sited = new FileTable({ openSites: 'always' });
  const p = file('borrow.bin', 'abcdef');
  const owner = openSync(p, 'rb', { table: sited, buffering: 0 });
  const view = owner.borrow();
  assert.equal(view.closefd, false);
  assert.equal(view.readSync(2).toString(), 'ab');
  assert.equal(owner.readSync(2).toString(), 'cd', 'the view and the owner share the offset');
  // closing the view does not close the owner
  const view2 = owner.borrow();
  view2.closeSync();
  assert.equal(owner.readSync(1).toString(), 'e');
  owner.closeSync();
  assert.equal(sited.size, 0);
  const e = throwsFs(() => view.readSync(1), 'EBADF');
  assert.ok(e.openedAt !== undefined && e.openedAt.length > 0, 'the error names where it was opened');
  assert.ok(e.closedAt !== undefined && e.closedAt.length > 0, 'and where it was closed');
  assert.match(e.message, /opened at .*io-open\.test\.ts/);
  assert.match(e.message, /closed at .*io-open\.test\.ts/);
  await rejectsFs(view.read(1), 'EBADF', 'closed at');
  throwsFs(() => view.writeSync(Buffer.from('x')), 'EBADF');
  throwsFs(() => view.tell(), 'EBADF', 'closed at');
  throwsFs(() => view.fileno(), 'EBADF', 'closed at');
  throwsFs(() => view.statSync(), 'EBADF');
  throwsFs(() => view.borrow(), 'EBADF');
  view.closeSync(); // closing a view after the owner closed is fine
  view.closeSync();
  assert.equal(sited.size, 0);
});

test('borrow() on a buffered file: the view reads the same description', () => {
  const p = file('borrow2.bin', 'xyz');
  using f = openSync(p, 'rb', { table });
  const view = f.raw.borrow();
  assert.equal(view.readSync().toString(), 'xyz');
  view.closeSync();
  assert.equal(f.closed, false);
});

test('fileno() returns the number and marks the descriptor escaped', () => {
  const p = file('fileno.txt', 'x');
  {
    using f = openSync(p, 'r', { table });
    const d = f.buffer.raw.descriptor;
    assert.equal(d.escaped, false);
    const n = f.fileno();
    assert.equal(n, d.number);
    assert.equal(d.escaped, true);
    assert.ok(fdIsOpen(n));
    assert.equal(table.descriptor(n), d);
  }
  {
    using f = openSync(p, 'rb', { table });
    f.fileno();
    assert.equal(f.raw.descriptor.escaped, true);
  }
  {
    using f = openSync(p, 'rb', { table, buffering: 0 });
    f.fileno();
    assert.equal(f.descriptor.escaped, true);
  }
});

test('bad options open nothing: encoding, errors, newline, buffering', async () => {
  const existing = file('opts.txt', 'keep');
  const bad: Record<string, unknown>[] = [
    { encoding: 'klingon' },
    { encoding: 8 },
    { errors: 'ignore' },
    { newline: '\t' },
    { buffering: -5 },
    { buffering: 0 },
    { buffering: Number.NaN },
  ];
  for (const opts of bad) {
    for (const mode of ['w', 'a+', 'r+']) {
      throwsFs(() => openSync(existing, mode, { ...opts, table }), 'EINVAL');
      await rejectsFs(open(existing, mode, { ...opts, table }), 'EINVAL');
    }
    const fresh = file('fresh.txt');
    throwsFs(() => openSync(fresh, 'x', { ...opts, table }), 'EINVAL');
    await rejectsFs(open(fresh, 'w', { ...opts, table }), 'EINVAL');
    assert.equal(fs.existsSync(fresh), false, `${JSON.stringify(opts)} created the file`);
    assert.equal(table.size, 0);
  }
  assert.equal(read(existing).toString(), 'keep');
  // the same for descriptor numbers: nothing adopted, the raw descriptor left alone, a table number kept
  const fd = fs.openSync(existing, 'r');
  try {
    throwsFs(() => openSync(fd, 'r', { table, encoding: 'klingon' as 'utf8' }), 'EINVAL', 'encoding');
    assert.equal(table.size, 0);
    assert.equal(fdIsOpen(fd), true);
  } finally {
    fs.closeSync(fd);
  }
  const n = table.openSync(existing, 'r');
  throwsFs(() => openSync(n, 'r', { table, newline: 'x' as '\n' }), 'EINVAL', 'newline');
  assert.equal(table.has(n), true, 'a failed wrap does not close the table descriptor');
  table.closeSync(n);
});

test('perm is applied to a file the open creates, through the umask; an existing file keeps its mode', async () => {
  const mask = umask();
  for (const perm of [0o600, 0o640, 0o644, 0o700]) {
    const p = file(`perm-${perm.toString(8)}.txt`);
    openSync(p, 'w', { table, perm }).closeSync();
    assert.equal(fs.statSync(p).mode & 0o777, perm & ~mask, `perm ${perm.toString(8)}`);
    const q = file(`perm-async-${perm.toString(8)}.bin`);
    await (await open(q, 'xb', { table, perm })).close();
    assert.equal(fs.statSync(q).mode & 0o777, perm & ~mask);
  }
  const d = file('perm-default.txt');
  openSync(d, 'a', { table }).closeSync();
  assert.equal(fs.statSync(d).mode & 0o777, 0o666 & ~mask);
  const e = file('perm-existing.txt', 'x');
  fs.chmodSync(e, 0o604);
  openSync(e, 'w', { table, perm: 0o600 }).closeSync();
  assert.equal(fs.statSync(e).mode & 0o777, 0o604);
});

test('an append-mode open starts at the end, also for an adopted descriptor', () => {
  const p = file('append-start.txt', 'hello');
  const fd = fs.openSync(p, 'a+');
  using f = openSync(fd, 'a+', { table });
  assert.equal(f.tell(), 5);
  assert.equal(f.readSync(), '');
  f.writeSync('!');
  f.seekSync(0);
  assert.equal(f.readSync(), 'hello!');
});

test('the returned file is watched for leaks only when it owns its descriptor', () => {
  const p = file('watch.txt', 'x');
  const watched: object[] = [];
  const unclosed = table.unclosed;
  const original = unclosed.watch.bind(unclosed);
  unclosed.watch = (target, descriptor, flush) => {
    watched.push(target);
    original(target, descriptor, flush);
  };
  try {
    const f = openSync(p, 'r', { table });
    assert.deepEqual(watched, [f], 'the outermost object is watched');
    f.closeSync();
    const n = table.openSync(p, 'r');
    const g = openSync(n, 'rb', { table, closefd: false });
    assert.equal(watched.length, 1, 'a borrowed wrap is not watched');
    g.closeSync();
    table.closeSync(n);
  } finally {
    unclosed.watch = original;
  }
});

test('openSync(fd) wraps a raw descriptor (Python os.fdopen), owning it unless told to borrow', () => {
  const p = file('fdopen.txt', 'hello');
  const raw = fs.openSync(p, 'r');
  const f = openSync(raw, 'r', { table });
  assert.equal(f.readSync(), 'hello');
  f.closeSync();
  assert.equal(fdIsOpen(raw), false, 'owned by default: closing the file closed the descriptor');

  const raw2 = fs.openSync(p, 'r');
  const g = openSync(raw2, 'rb', { table, closefd: false });
  assert.deepEqual(g.readSync(2), Buffer.from('he'));
  g.closeSync();
  assert.equal(fdIsOpen(raw2), true, 'borrowed: still open for its owner');
  fs.closeSync(raw2);
});

test('the declared type of openSync/open is what it returns: buffering decides raw vs buffered only when its type says so', async () => {
  const p = file('types.bin', 'abc');
  // The control: options whose type is not a literal. Before issue 13.4 this was typed BufferedFile (the
  // `@ts-expect-error` would be unused: a compile error) and returned a RawFile.
  const opts: OpenOptions = { table, buffering: 0 };
  // @ts-expect-error — `opts.buffering` may be 0: the result may be a RawFile, so it is not a BufferedFile
  const wrong: BufferedFile = openSync(p, 'rb', opts);
  assert.ok(wrong instanceof RawFile, 'the value the old type called a BufferedFile');
  wrong.closeSync();
  const either: RawFile | BufferedFile = openSync(p, 'rb', opts);
  assert.ok(either instanceof RawFile);
  either.closeSync();
  const n: number = Number(process.env.FDKEEPER_NO_SUCH_VAR ?? '64');
  const sized: RawFile | BufferedFile = openSync(p, 'rb', { table, buffering: n });
  assert.ok(sized instanceof BufferedFile);
  sized.closeSync();
  // Literals decide: 0 is raw, absent or any other literal is buffered, text modes are text.
  const raw: RawFile = openSync(p, 'rb', { table, buffering: 0 });
  const buffered: BufferedFile = openSync(p, 'rb', { table });
  const sizedLiteral: BufferedFile = openSync(p, 'rb', { table, buffering: 4096 });
  const text: TextFile = openSync(p, 'r', { table });
  const textDefault: TextFile = openSync(p);
  const asyncRaw: RawFile = await open(p, 'rb', { table, buffering: 0 });
  assert.ok(raw instanceof RawFile && asyncRaw instanceof RawFile);
  assert.ok(buffered instanceof BufferedFile && sizedLiteral instanceof BufferedFile);
  assert.ok(text instanceof TextFile && textDefault instanceof TextFile);
  // One naming rule on every class: seekSync returns a number, seek a promise of one.
  for (const f of [raw, buffered, text]) {
    const at: number = f.seekSync(0);
    const later: Promise<number> = f.seek(0);
    assert.equal(at, 0);
    assert.equal(await later, 0);
  }
  for (const f of [raw, buffered, sizedLiteral, text, textDefault, asyncRaw]) f.closeSync();
});

// Issue 13.4: one naming rule on every file class. Each operation has the same two names on RawFile,
// BufferedFile and TextFile: `xSync` returns its value, `x` a promise of it.
const TWINS = [
  'read',
  'readline',
  'write',
  'seek',
  'truncate',
  'flush',
  'sync',
  'datasync',
  'stat',
  'seekable',
  'close',
] as const;

test('every file class has xSync returning a value and x returning a promise, for the same operations', async () => {
  const p = file('twins.bin', 'line one\nline two\n');
  const files = [
    openSync(p, 'rb+', { table, buffering: 0 }),
    openSync(p, 'rb+', { table }),
    openSync(p, 'r+', { table }),
  ];
  for (const f of files) {
    const kind = f.constructor.name;
    for (const op of TWINS) {
      assert.equal(typeof (f as unknown as Record<string, unknown>)[`${op}Sync`], 'function', `${kind}.${op}Sync`);
      assert.equal(typeof (f as unknown as Record<string, unknown>)[op], 'function', `${kind}.${op}`);
    }
    // Sync forms return plain values, promise forms promises (the control: before 13.4 RawFile.seek returned a number).
    assert.equal(typeof f.seekSync(0), 'number', `${kind}.seekSync`);
    const seeking: unknown = f.seek(0);
    assert.ok(seeking instanceof Promise, `${kind}.seek returns a promise`);
    assert.equal(await seeking, 0);
    assert.equal(f.seekableSync(), true, kind);
    assert.equal(await f.seekable(), true, kind);
    assert.equal(f.statSync().size, 18, kind);
    assert.equal((await f.stat()).size, 18, kind);
    f.datasyncSync();
    await f.datasync();
    await f.close();
  }
});

test('a closed file of each class reports each metadata call with its own syscall, the same in both forms', async () => {
  // Before 13.2/13.3 a closed BufferedFile's statSync() said syscall 'flush' and stat() 'fstat'.
  const p = file('closed-meta.bin', 'x');
  const files = [
    openSync(p, 'rb+', { table, buffering: 0 }),
    openSync(p, 'rb+', { table }),
    openSync(p, 'r+', { table }),
  ];
  for (const f of files) {
    f.closeSync();
    const kind = f.constructor.name;
    const cases: [string, () => unknown, () => Promise<unknown>][] = [
      ['fstat', () => f.statSync(), () => f.stat()],
      [
        'fsync',
        () => {
          f.syncSync();
        },
        () => f.sync(),
      ],
      [
        'fdatasync',
        () => {
          f.datasyncSync();
        },
        () => f.datasync(),
      ],
      [
        'flush',
        () => {
          f.flushSync();
        },
        () => f.flush(),
      ],
      ['lseek', () => f.seekSync(0), () => f.seek(0)],
      ['lseek', () => f.seekableSync(), () => f.seekable()],
    ];
    for (const [syscall, sync, promise] of cases) {
      assert.equal(throwsFs(sync, 'EBADF', /closed/).syscall, syscall, `${kind} sync ${syscall}`);
      assert.equal((await rejectsFs(promise, 'EBADF', /closed/)).syscall, syscall, `${kind} promise ${syscall}`);
    }
  }
});

test('the io classes expose no internals by name: no @internal in their declarations, none of the old members on them', () => {
  // The members BufferedFile and TextFile used to publish for each other (marked @internal, shipped anyway).
  const old = [
    'peekBuffered',
    'consumeBuffered',
    'startReadSync',
    'startRead',
    'fillSync',
    'fill',
    'writeBytesSync',
    'writeBytes',
    'flushPendingSync',
    'flushPending',
    'seekRaw',
    'truncateUnlockedSync',
    'truncateUnlocked',
    'closeUnlockedSync',
    'closeUnlocked',
    'checkSync',
    'check',
    'opLock',
    'pending',
    'work',
  ];
  const p = file('surface.txt', 'x');
  for (const f of [
    openSync(p, 'rb', { table, buffering: 0 }),
    openSync(p, 'rb', { table }),
    openSync(p, 'r', { table }),
  ]) {
    const names = new Set<string>();
    for (let o: object | null = f; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null)
      for (const n of Object.getOwnPropertyNames(o)) names.add(n);
    for (const n of old) assert.ok(!names.has(n), `${f.constructor.name} still has a member named ${n}`);
    assert.ok(names.has('readSync') && names.has('closeSync'), 'the control: the walk sees the public members');
    f.closeSync();
  }
  const dts = fileURLToPath(new URL('../dist/io', import.meta.url));
  for (const name of fs.readdirSync(dts).filter((n) => n.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(dts, name), 'utf8');
    assert.ok(!text.includes('@internal'), `dist/io/${name} declares an @internal member`);
    for (const n of old)
      assert.doesNotMatch(
        text,
        new RegExp(`^\\s+(?:readonly |get )?${n}[(:<]`, 'm'),
        `dist/io/${name} declares ${n} by name`,
      );
  }
});
