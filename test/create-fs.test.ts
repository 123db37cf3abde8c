/**
 * createFs(backend): the same node:fs-style assertions run against the OS backend (in a temp dir) and
 * the in-memory backend, plus code written against the node:fs API run unchanged on the facade (and on
 * node:fs itself, for comparison).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createFs, type FsFacade } from '../src/facade/create-fs.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { FaultyBackend } from '../src/backend/faulty-backend.js';
import { FsError } from '../src/errors/fs-error.js';
import { FileTable } from '../src/table/file-table.js';

interface Setup {
  readonly fs: FsFacade;
  /** A fresh, empty directory for the test. */
  readonly root: string;
}

const tmp = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-createfs-'));
test.after(() => {
  nodeFs.rmSync(tmp, { recursive: true, force: true });
});
let serial = 0;

const BACKENDS: readonly { readonly name: string; readonly make: () => Setup }[] = [
  {
    name: 'os',
    make: () => {
      const root = path.join(tmp, String(++serial));
      nodeFs.mkdirSync(root);
      return { fs: createFs(new OsBackend()), root };
    },
  },
  {
    name: 'memory',
    make: () => {
      const fs = createFs(new MemoryBackend());
      fs.mkdirSync('/work');
      return { fs, root: '/work' };
    },
  },
];

/** Registers `body` once per backend. */
function both(name: string, body: (s: Setup) => void | Promise<void>): void {
  for (const b of BACKENDS) test(`[${b.name}] ${name}`, () => body(b.make()));
}

/** Asserts `fn` throws an error with `code` (and, if given, syscall and path). */
function throwsCode(fn: () => unknown, code: string, syscall?: string, p?: string): NodeJS.ErrnoException {
  try {
    fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    assert.equal(err.code, code, String(e));
    if (syscall !== undefined) assert.equal(err.syscall, syscall, String(e));
    if (p !== undefined) assert.equal(err.path, p, String(e));
    return err;
  }
  assert.fail(`expected ${code}`);
}

async function rejectsCode(p: Promise<unknown>, code: string, syscall?: string): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    assert.equal(err.code, code, String(e));
    if (syscall !== undefined) assert.equal(err.syscall, syscall, String(e));
    return err;
  }
  assert.fail(`expected ${code}`);
}

const sorted = <T>(xs: readonly T[]): T[] => [...xs].sort();

// ================================================================ synchronous API

both('writeFileSync / readFileSync / appendFileSync / existsSync', ({ fs, root }) => {
  const p = `${root}/a.txt`;
  assert.equal(fs.existsSync(p), false);
  fs.writeFileSync(p, 'héllo');
  assert.equal(fs.existsSync(p), true);
  assert.deepEqual(fs.readFileSync(p), Buffer.from('héllo'));
  assert.equal(fs.readFileSync(p, 'utf8'), 'héllo');
  assert.equal(fs.readFileSync(p, { encoding: 'latin1' }), Buffer.from('héllo').toString('latin1'));
  fs.appendFileSync(p, Buffer.from(' world'));
  fs.appendFileSync(p, '!', { encoding: 'utf8' });
  assert.equal(fs.readFileSync(p, 'utf8'), 'héllo world!');
  fs.writeFileSync(p, 'aGk=', 'base64');
  assert.equal(fs.readFileSync(p, 'utf8'), 'hi');
  fs.writeFileSync(p, new Uint16Array([0x6968]));
  assert.equal(fs.readFileSync(p, 'utf8'), 'hi', 'any ArrayBufferView writes its bytes');
  throwsCode(
    () => {
      fs.writeFileSync(p, 'x', { flag: 'wx' });
    },
    'EEXIST',
    'open',
    p,
  );
  const e = throwsCode(() => fs.readFileSync(`${root}/missing`), 'ENOENT', 'open', `${root}/missing`);
  assert.ok(e instanceof FsError);
  assert.equal(e.message, `ENOENT: no such file or directory, open '${root}/missing'`);
  assert.equal(e.errno, -os.constants.errno.ENOENT);
  throwsCode(() => fs.readFileSync(root), 'EISDIR', 'read');
  // a mode for a new file (before the umask)
  fs.writeFileSync(`${root}/m.txt`, '', { mode: 0o600 });
  assert.equal(fs.statSync(`${root}/m.txt`).mode & 0o777, 0o600);
  // an empty file
  assert.equal(fs.readFileSync(`${root}/m.txt`, 'utf8'), '');
  // flag 'a+' through readFile options
  assert.equal(fs.readFileSync(p, { encoding: 'utf8', flag: 'a+' }), 'hi');
});

both('openSync / readSync / writeSync / fstatSync / ftruncateSync / closeSync', ({ fs, root }) => {
  const p = `${root}/rw.bin`;
  const fd = fs.openSync(p, 'w+');
  assert.equal(typeof fd, 'number');
  assert.equal(fs.writeSync(fd, Buffer.from('0123456789')), 10);
  assert.equal(fs.writeSync(fd, 'abc', 2), 3, 'a string at a position');
  assert.equal(fs.writeSync(fd, Buffer.from('XYZ'), 1, 2, 8), 2, 'buffer, offset, length, position');
  assert.equal(fs.writeSync(fd, Buffer.from('Q'), { position: 0 }), 1, 'options form');
  const buf = Buffer.alloc(10);
  assert.equal(fs.readSync(fd, buf, 0, 10, 0), 10);
  assert.equal(buf.toString(), 'Q1abc567YZ');
  const small = Buffer.alloc(4);
  assert.equal(fs.readSync(fd, small, { position: 6, length: 3 }), 3);
  assert.equal(small.subarray(0, 3).toString(), '67Y');
  assert.equal(fs.fstatSync(fd).size, 10);
  fs.ftruncateSync(fd, 4);
  assert.equal(fs.fstatSync(fd).size, 4);
  fs.fsyncSync(fd);
  fs.fdatasyncSync(fd);
  fs.closeSync(fd);
  throwsCode(
    () => {
      fs.closeSync(fd);
    },
    'EBADF',
    'close',
  );
  assert.equal(fs.readFileSync(p, 'utf8'), 'Q1ab');
  // sequential reads at the current offset (position null / -1 / absent)
  const r = fs.openSync(p, 'r');
  const one = Buffer.alloc(2);
  assert.equal(fs.readSync(r, one, 0, 2, null), 2);
  assert.equal(one.toString(), 'Q1');
  assert.equal(fs.readSync(r, one, 0, 2, -1), 2);
  assert.equal(one.toString(), 'ab');
  assert.equal(fs.readSync(r, one), 0, 'end of file');
  assert.equal(fs.readFileSync(r, 'utf8'), '', 'readFile on an fd reads from its offset');
  throwsCode(() => fs.writeSync(r, 'x'), 'EBADF', 'write');
  fs.closeSync(r);
  assert.throws(() => fs.openSync(p, 'bogus'), { code: 'ERR_INVALID_ARG_VALUE' });
  throwsCode(() => fs.openSync(`${root}/nope/x`, 'r'), 'ENOENT', 'open');
});

both('statSync / lstatSync: Stats fields, dates, predicates, throwIfNoEntry', ({ fs, root }) => {
  const p = `${root}/s.txt`;
  fs.writeFileSync(p, '12345');
  const st = fs.statSync(p);
  assert.equal(st.size, 5);
  assert.ok(st.isFile());
  assert.ok(!st.isDirectory());
  assert.ok(st.mtime instanceof Date);
  assert.ok(Math.abs(st.mtime.getTime() - st.mtimeMs) < 1);
  assert.ok(st.nlink >= 1);
  assert.ok(fs.statSync(root).isDirectory());
  assert.equal(fs.statSync(`${root}/none`, { throwIfNoEntry: false }), undefined);
  assert.equal(fs.lstatSync(`${root}/none`, { throwIfNoEntry: false }), undefined);
  throwsCode(() => fs.statSync(`${root}/none`), 'ENOENT', 'stat', `${root}/none`);
  throwsCode(() => fs.lstatSync(`${root}/none`), 'ENOENT', 'lstat');
  assert.ok(st instanceof fs.Stats);
});

both(
  'mkdirSync recursive returns the first directory created; readdirSync with file types and recursive',
  ({ fs, root }) => {
    assert.equal(fs.mkdirSync(`${root}/a/b/c`, { recursive: true }), `${root}/a`);
    assert.equal(fs.mkdirSync(`${root}/a/b/c`, { recursive: true }), undefined, 'nothing created');
    assert.equal(fs.mkdirSync(`${root}/a/b/d`, { recursive: true }), `${root}/a/b/d`);
    assert.equal(fs.mkdirSync(`${root}/x`), undefined);
    throwsCode(() => fs.mkdirSync(`${root}/x`), 'EEXIST', 'mkdir', `${root}/x`);
    throwsCode(() => fs.mkdirSync(`${root}/y/z`), 'ENOENT', 'mkdir');
    fs.writeFileSync(`${root}/a/f.txt`, 'f');
    throwsCode(() => fs.mkdirSync(`${root}/a/f.txt`, { recursive: true }), 'EEXIST');
    throwsCode(() => fs.mkdirSync(`${root}/a/f.txt/g`, { recursive: true }), 'ENOTDIR');
    fs.symlinkSync('f.txt', `${root}/a/link`);

    assert.deepEqual(sorted(fs.readdirSync(`${root}/a`)), ['b', 'f.txt', 'link']);
    const dirents = fs.readdirSync(`${root}/a`, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name));
    assert.deepEqual(
      dirents.map((d) => [d.name, d.isDirectory(), d.isFile(), d.isSymbolicLink()]),
      [
        ['b', true, false, false],
        ['f.txt', false, true, false],
        ['link', false, false, true],
      ],
    );
    assert.equal(dirents[0]!.parentPath, `${root}/a`);
    assert.deepEqual(sorted(fs.readdirSync(`${root}/a`, { recursive: true })), ['b', 'b/c', 'b/d', 'f.txt', 'link']);
    const deep = fs.readdirSync(`${root}/a`, { recursive: true, withFileTypes: true });
    assert.deepEqual(sorted(deep.map((d) => `${d.parentPath}/${d.name}`)), [
      `${root}/a/b`,
      `${root}/a/b/c`,
      `${root}/a/b/d`,
      `${root}/a/f.txt`,
      `${root}/a/link`,
    ]);
    assert.deepEqual(fs.readdirSync(`${root}/a/b/c`), []);
    assert.deepEqual(sorted(fs.readdirSync(`${root}/a`, 'buffer')).map(String), ['b', 'f.txt', 'link']);
    assert.ok(Buffer.isBuffer(fs.readdirSync(`${root}/a`, { encoding: 'buffer' })[0]));
    throwsCode(() => fs.readdirSync(`${root}/a/f.txt`), 'ENOTDIR', 'scandir');
    throwsCode(() => fs.readdirSync(`${root}/none`), 'ENOENT', 'scandir', `${root}/none`);
  },
);

both('rmdirSync / rmSync (recursive, force) / unlinkSync', ({ fs, root }) => {
  fs.mkdirSync(`${root}/t/u/v`, { recursive: true });
  fs.writeFileSync(`${root}/t/u/file`, 'x');
  fs.symlinkSync('/nonexistent-target', `${root}/t/dangling`);
  throwsCode(
    () => {
      fs.rmdirSync(`${root}/t`);
    },
    'ENOTEMPTY',
    'rmdir',
  );
  const e = throwsCode(
    () => {
      fs.rmSync(`${root}/t`);
    },
    'ERR_FS_EISDIR',
    'rm',
  );
  assert.match(e.message, /rm/);
  fs.rmSync(`${root}/t`, { recursive: true });
  assert.equal(fs.existsSync(`${root}/t`), false);
  throwsCode(() => {
    fs.rmSync(`${root}/t`);
  }, 'ENOENT');
  fs.rmSync(`${root}/t`, { force: true });
  fs.rmSync(`${root}/t`, { recursive: true, force: true });
  fs.writeFileSync(`${root}/f`, 'x');
  fs.rmSync(`${root}/f`);
  assert.equal(fs.existsSync(`${root}/f`), false);
  fs.writeFileSync(`${root}/g`, 'x');
  fs.unlinkSync(`${root}/g`);
  throwsCode(
    () => {
      fs.unlinkSync(`${root}/g`);
    },
    'ENOENT',
    'unlink',
    `${root}/g`,
  );
  fs.mkdirSync(`${root}/d`);
  throwsCode(() => {
    fs.unlinkSync(`${root}/d`);
  }, 'EISDIR');
  fs.rmdirSync(`${root}/d`);
  fs.mkdirSync(`${root}/e/f`, { recursive: true });
  fs.rmdirSync(`${root}/e`, { recursive: true });
  assert.equal(fs.existsSync(`${root}/e`), false);
});

both('renameSync / linkSync / symlinkSync / readlinkSync / realpathSync', ({ fs, root }) => {
  fs.writeFileSync(`${root}/a`, 'A');
  fs.writeFileSync(`${root}/b`, 'B');
  fs.renameSync(`${root}/a`, `${root}/b`);
  assert.equal(fs.readFileSync(`${root}/b`, 'utf8'), 'A', 'rename replaces the destination');
  assert.equal(fs.existsSync(`${root}/a`), false);
  const e = throwsCode(
    () => {
      fs.renameSync(`${root}/a`, `${root}/c`);
    },
    'ENOENT',
    'rename',
    `${root}/a`,
  );
  assert.equal((e as NodeJS.ErrnoException & { dest?: string }).dest, `${root}/c`);
  fs.linkSync(`${root}/b`, `${root}/hard`);
  assert.equal(fs.statSync(`${root}/b`).nlink, 2);
  assert.equal(fs.statSync(`${root}/hard`).ino, fs.statSync(`${root}/b`).ino);
  fs.mkdirSync(`${root}/dir/sub`, { recursive: true });
  fs.symlinkSync('../b', `${root}/dir/rel`);
  fs.symlinkSync(`${root}/dir`, `${root}/abs`);
  assert.equal(fs.readlinkSync(`${root}/dir/rel`), '../b');
  assert.ok(Buffer.isBuffer(fs.readlinkSync(`${root}/dir/rel`, 'buffer')));
  assert.ok(fs.lstatSync(`${root}/dir/rel`).isSymbolicLink());
  assert.ok(fs.statSync(`${root}/dir/rel`).isFile());
  assert.equal(fs.readFileSync(`${root}/abs/rel`, 'utf8'), 'A');
  const real = fs.realpathSync(root);
  assert.equal(fs.realpathSync(`${root}/abs/rel`), `${real}/b`);
  assert.equal(fs.realpathSync(`${root}/abs/sub/../sub/./`), `${real}/dir/sub`);
  assert.equal(fs.realpathSync.native(`${root}/abs`), `${real}/dir`);
  throwsCode(() => fs.realpathSync(`${root}/abs/missing`), 'ENOENT');
  fs.symlinkSync(`${root}/loop2`, `${root}/loop1`);
  fs.symlinkSync(`${root}/loop1`, `${root}/loop2`);
  throwsCode(() => fs.realpathSync(`${root}/loop1`), 'ELOOP');
  throwsCode(() => fs.readFileSync(`${root}/loop1`), 'ELOOP', 'open');
  throwsCode(
    () => {
      fs.symlinkSync('x', `${root}/b`);
    },
    'EEXIST',
    'symlink',
  );
  throwsCode(() => fs.readlinkSync(`${root}/b`), 'EINVAL', 'readlink');
});

both('copyFileSync (COPYFILE_EXCL) copies content and mode', ({ fs, root }) => {
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  fs.writeFileSync(`${root}/src`, big, { mode: 0o640 });
  fs.chmodSync(`${root}/src`, 0o640);
  fs.copyFileSync(`${root}/src`, `${root}/dst`);
  assert.deepEqual(fs.readFileSync(`${root}/dst`), big);
  assert.equal(fs.statSync(`${root}/dst`).mode & 0o777, 0o640);
  fs.writeFileSync(`${root}/small`, 'tiny');
  fs.copyFileSync(`${root}/small`, `${root}/dst`);
  assert.equal(fs.readFileSync(`${root}/dst`, 'utf8'), 'tiny', 'the destination is truncated');
  const e = throwsCode(
    () => {
      fs.copyFileSync(`${root}/small`, `${root}/dst`, fs.constants.COPYFILE_EXCL);
    },
    'EEXIST',
    'copyfile',
    `${root}/small`,
  );
  assert.equal((e as NodeJS.ErrnoException & { dest?: string }).dest, `${root}/dst`);
  assert.equal(e.message, `EEXIST: file already exists, copyfile '${root}/small' -> '${root}/dst'`);
  throwsCode(
    () => {
      fs.copyFileSync(`${root}/none`, `${root}/x`);
    },
    'ENOENT',
    'copyfile',
    `${root}/none`,
  );
});

both('accessSync / access modes from mode bits', async ({ fs, root }) => {
  const p = `${root}/acc`;
  fs.writeFileSync(p, 'x', { mode: 0o644 });
  fs.chmodSync(p, 0o644);
  fs.accessSync(p);
  fs.accessSync(p, fs.constants.R_OK | fs.constants.W_OK);
  fs.accessSync(p, fs.F_OK);
  throwsCode(
    () => {
      fs.accessSync(p, fs.X_OK);
    },
    'EACCES',
    'access',
    p,
  );
  fs.chmodSync(p, 0o755);
  fs.accessSync(p, fs.X_OK);
  throwsCode(
    () => {
      fs.accessSync(`${root}/none`);
    },
    'ENOENT',
    'access',
    `${root}/none`,
  );
  await fs.promises.access(p, fs.R_OK);
  await rejectsCode(fs.promises.access(`${root}/none`), 'ENOENT', 'access');
  await new Promise<void>((resolve, reject) => {
    fs.access(p, fs.W_OK, (err) => {
      if (err === null) resolve();
      else reject(err);
    });
  });
});

both('chmod / fchmod / chown / fchown / truncate / utimes / mkdtemp', ({ fs, root }) => {
  const p = `${root}/meta`;
  fs.writeFileSync(p, '0123456789');
  fs.chmodSync(p, '600');
  assert.equal(fs.statSync(p).mode & 0o7777, 0o600);
  const fd = fs.openSync(p, 'r+');
  fs.fchmodSync(fd, 0o640);
  assert.equal(fs.fstatSync(fd).mode & 0o7777, 0o640);
  const st = fs.fstatSync(fd);
  fs.fchownSync(fd, st.uid, st.gid);
  fs.closeSync(fd);
  fs.chownSync(p, st.uid, st.gid);
  fs.truncateSync(p, 3);
  assert.equal(fs.readFileSync(p, 'utf8'), '012');
  fs.truncateSync(p);
  assert.equal(fs.statSync(p).size, 0);
  fs.utimesSync(p, new Date(1_000_000), 2_000);
  const t = fs.statSync(p);
  assert.equal(t.atimeMs, 1_000_000);
  assert.equal(t.mtimeMs, 2_000_000);
  const made = fs.mkdtempSync(`${root}/tmp-`);
  assert.match(made, new RegExp(`^${root}/tmp-[A-Za-z0-9]{6}$`));
  assert.ok(fs.statSync(made).isDirectory());
  assert.notEqual(fs.mkdtempSync(`${root}/tmp-`), made);
});

// ================================================================ callbacks

both('callback API: results and errors arrive asynchronously', async ({ fs, root }) => {
  const p = `${root}/cb.txt`;
  let sync = true;
  const writeFile = promisify(
    fs.writeFile as (file: string, data: string, cb: (err: NodeJS.ErrnoException | null) => void) => void,
  );
  const done = writeFile(p, 'callback data');
  sync = false;
  await done;
  let calledSync = true;
  const read = new Promise<string>((resolve, reject) => {
    fs.readFile(p, 'utf8', (err, data) => {
      assert.equal(calledSync, false, 'the callback runs after the call returns');
      if (err !== null) reject(err);
      else resolve(data);
    });
  });
  calledSync = false;
  assert.equal(await read, 'callback data');
  assert.equal(sync, false);
  const stat = await new Promise<number>((resolve, reject) => {
    fs.stat(p, (err, st) => {
      if (err !== null) reject(err);
      else resolve(st.size);
    });
  });
  assert.equal(stat, 13);
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    fs.readFile(`${root}/none`, (e) => {
      resolve(e);
    });
  });
  assert.equal(err?.code, 'ENOENT');
  assert.equal(err.syscall, 'open');
  // fd callbacks: open, write (buffer and string), read, fstat, close
  const fd = await new Promise<number>((resolve, reject) => {
    fs.open(`${root}/fd.txt`, 'w+', (e, n) => {
      if (e !== null) reject(e);
      else resolve(n);
    });
  });
  const written = await new Promise<[number, string]>((resolve, reject) => {
    fs.write(fd, 'hello', 0, 'utf8', (e, n, s) => {
      if (e !== null) reject(e);
      else resolve([n, s]);
    });
  });
  assert.deepEqual(written, [5, 'hello']);
  const buf = Buffer.alloc(5);
  const got = await new Promise<[number, Buffer]>((resolve, reject) => {
    fs.read(fd, buf, 0, 5, 0, (e, n, b) => {
      if (e !== null) reject(e);
      else resolve([n, b]);
    });
  });
  assert.equal(got[0], 5);
  assert.equal(got[1], buf);
  assert.equal(buf.toString(), 'hello');
  await promisify(fs.fsync)(fd);
  await promisify(fs.close)(fd);
  // exists gets a boolean
  assert.equal(
    await new Promise<boolean>((resolve) => {
      fs.exists(p, resolve);
    }),
    true,
  );
  assert.equal(
    await new Promise<boolean>((resolve) => {
      fs.exists(`${root}/none`, resolve);
    }),
    false,
  );
  // mkdir recursive, readdir with types, rm
  const first = await new Promise<string | undefined>((resolve, reject) => {
    fs.mkdir(`${root}/m/n`, { recursive: true }, (e, made) => {
      if (e !== null) reject(e);
      else resolve(made);
    });
  });
  assert.equal(first, `${root}/m`);
  const names = await new Promise<string[]>((resolve, reject) => {
    fs.readdir(`${root}/m`, { withFileTypes: true }, (e, ds) => {
      if (e !== null) reject(e);
      else resolve(ds.map((d) => `${d.name}:${d.isDirectory()}`));
    });
  });
  assert.deepEqual(names, ['n:true']);
  await new Promise<void>((resolve, reject) => {
    fs.rm(`${root}/m`, { recursive: true }, (e) => {
      if (e !== null) reject(e);
      else resolve();
    });
  });
  assert.equal(fs.existsSync(`${root}/m`), false);
  assert.throws(
    () => {
      (fs.stat as (p: string) => void)(p);
    },
    { code: 'ERR_INVALID_ARG_TYPE' },
    'a missing callback is a TypeError',
  );
});

// ================================================================ promises

both('promises API', async ({ fs, root }) => {
  const P = fs.promises;
  const p = `${root}/p.json`;
  await P.writeFile(p, JSON.stringify({ n: 1 }));
  assert.deepEqual(JSON.parse(await P.readFile(p, 'utf8')) as unknown, { n: 1 });
  await P.appendFile(p, '\n');
  assert.equal((await P.readFile(p)).length, 8);
  assert.equal(await P.mkdir(`${root}/q/r`, { recursive: true }), `${root}/q`);
  await P.mkdir(`${root}/q/s`);
  assert.deepEqual(sorted(await P.readdir(`${root}/q`)), ['r', 's']);
  assert.deepEqual(
    (await P.readdir(`${root}/q`, { withFileTypes: true })).map((d) => d.isDirectory()),
    [true, true],
  );
  assert.deepEqual(sorted(await P.readdir(root, { recursive: true })), ['p.json', 'q', 'q/r', 'q/s']);
  await P.rename(p, `${root}/q/p.json`);
  assert.equal((await P.stat(`${root}/q/p.json`)).size, 8);
  await P.copyFile(`${root}/q/p.json`, `${root}/copy.json`);
  await rejectsCode(
    P.copyFile(`${root}/q/p.json`, `${root}/copy.json`, fs.constants.COPYFILE_EXCL),
    'EEXIST',
    'copyfile',
  );
  await P.symlink('q/p.json', `${root}/ln`);
  assert.equal(await P.readlink(`${root}/ln`), 'q/p.json');
  assert.ok((await P.lstat(`${root}/ln`)).isSymbolicLink());
  assert.equal(await P.realpath(`${root}/ln`), `${await P.realpath(root)}/q/p.json`);
  await P.link(`${root}/copy.json`, `${root}/hard.json`);
  assert.equal((await P.stat(`${root}/copy.json`)).nlink, 2);
  await P.chmod(`${root}/copy.json`, 0o600);
  assert.equal((await P.stat(`${root}/copy.json`)).mode & 0o777, 0o600);
  await P.truncate(`${root}/copy.json`, 2);
  assert.equal(await P.readFile(`${root}/hard.json`, 'utf8'), '{"');
  await P.utimes(`${root}/copy.json`, 10, 20);
  assert.equal((await P.stat(`${root}/copy.json`)).mtimeMs, 20_000);
  const t = await P.mkdtemp(`${root}/t-`);
  assert.ok((await P.stat(t)).isDirectory());
  await P.rmdir(t);
  await P.unlink(`${root}/hard.json`);
  await rejectsCode(P.unlink(`${root}/hard.json`), 'ENOENT', 'unlink');
  await rejectsCode(P.rm(`${root}/q`), 'ERR_FS_EISDIR', 'rm');
  await P.rm(`${root}/q`, { recursive: true });
  await P.rm(`${root}/q`, { force: true });
  await rejectsCode(P.readFile(`${root}/q`), 'ENOENT', 'open');
  await rejectsCode(P.readFile(root), 'EISDIR', 'read');
  assert.equal(P.constants, nodeFs.constants);
});

both(
  'promises.open(): a FileHandle with read, write, readFile, writeFile, stat, truncate, sync, close, asyncDispose',
  async ({ fs, root }) => {
    const p = `${root}/fh.txt`;
    let fdSeen: number;
    {
      await using fh = await fs.promises.open(p, 'w+');
      fdSeen = fh.fd;
      assert.ok(fdSeen >= 0);
      assert.deepEqual(await fh.write(Buffer.from('abcdef')), { bytesWritten: 6, buffer: Buffer.from('abcdef') });
      assert.equal((await fh.write('XY', 1)).bytesWritten, 2);
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(6), 0, 6, 0);
      assert.equal(bytesRead, 6);
      assert.equal(buffer.toString(), 'aXYdef');
      const r2 = await fh.read({ buffer: Buffer.alloc(3), position: 3 });
      assert.equal(r2.buffer.toString(), 'def');
      assert.equal((await fh.stat()).size, 6);
      await fh.truncate(4);
      await fh.sync();
      await fh.datasync();
      assert.equal((await fh.stat()).size, 4);
    }
    // disposed: the descriptor is closed
    throwsCode(() => fs.fstatSync(fdSeen), 'EBADF', 'fstat');
    const fh = await fs.promises.open(p, 'r');
    assert.equal(await fh.readFile('utf8'), 'aXYd');
    await fh.close();
    assert.equal(fh.fd, -1);
    await fh.close(); // idempotent
    await rejectsCode(fh.read(Buffer.alloc(1)), 'EBADF');
    const w = await fs.promises.open(p, 'a');
    await w.writeFile('++');
    await w.appendFile('!');
    await w.close();
    assert.equal(await fs.promises.readFile(p, 'utf8'), 'aXYd++!');
    const h = await fs.promises.open(p, 'r');
    assert.equal(await fs.promises.readFile(h, 'utf8'), 'aXYd++!', 'readFile takes a FileHandle');
    await h.close();
    await rejectsCode(fs.promises.open(`${root}/none`), 'ENOENT', 'open');
  },
);

// ================================================================ streams

both('createWriteStream / createReadStream with pipeline, start/end, encoding, fd', async ({ fs, root }) => {
  const p = `${root}/stream.txt`;
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`);
  const ws = fs.createWriteStream(p);
  let opened: number | undefined;
  ws.on('open', (fd: number) => {
    opened = fd;
  });
  await pipeline(Readable.from(lines), ws);
  assert.equal(typeof opened, 'number');
  assert.equal(ws.bytesWritten, lines.join('').length);
  assert.equal(fs.readFileSync(p, 'utf8'), lines.join(''));

  const chunks: string[] = [];
  const rs = fs.createReadStream(p, { encoding: 'utf8', highWaterMark: 1000 });
  for await (const c of rs) chunks.push(c as string);
  assert.equal(chunks.join(''), lines.join(''));
  assert.ok(chunks.length > 1);
  assert.equal(rs.bytesRead, lines.join('').length);

  // start/end (inclusive)
  const part: Buffer[] = [];
  for await (const c of fs.createReadStream(p, { start: 5, end: 9 })) part.push(c as Buffer);
  assert.equal(Buffer.concat(part).toString(), lines.join('').slice(5, 10));

  // read → transform → write, then flags 'a' appends
  const upper = new Transform({
    transform(chunk: Buffer, _enc, cb): void {
      cb(null, chunk.toString().toUpperCase());
    },
  });
  await pipeline(fs.createReadStream(p, { end: 13 }), upper, fs.createWriteStream(`${root}/up.txt`));
  assert.equal(fs.readFileSync(`${root}/up.txt`, 'utf8'), 'LINE 0\nLINE 1\n');
  await pipeline(Readable.from(['more']), fs.createWriteStream(`${root}/up.txt`, { flags: 'a' }));
  assert.equal(fs.readFileSync(`${root}/up.txt`, 'utf8'), 'LINE 0\nLINE 1\nmore');
  // write at a start offset into an existing file
  await pipeline(Readable.from(['__']), fs.createWriteStream(`${root}/up.txt`, { flags: 'r+', start: 4 }));
  assert.equal(fs.readFileSync(`${root}/up.txt`, 'utf8'), 'LINE__\nLINE 1\nmore');

  // on an fd (not closed with autoClose: false)
  const fd = fs.openSync(`${root}/up.txt`, 'r');
  const viaFd: Buffer[] = [];
  for await (const c of fs.createReadStream(null, { fd, autoClose: false })) viaFd.push(c as Buffer);
  assert.equal(Buffer.concat(viaFd).toString(), 'LINE__\nLINE 1\nmore');
  fs.closeSync(fd);

  // errors: a missing file fails the pipeline with the backend's error
  await rejectsCode(
    pipeline(
      fs.createReadStream(`${root}/none`),
      new Writable({
        write: (_c, _e, cb) => {
          cb();
        },
      }),
    ),
    'ENOENT',
    'open',
  );
  // a FileHandle's streams
  const fh = await fs.promises.open(`${root}/up.txt`, 'r');
  const fromHandle: Buffer[] = [];
  for await (const c of fh.createReadStream({ start: 0, end: 3 })) fromHandle.push(c as Buffer);
  assert.equal(Buffer.concat(fromHandle).toString(), 'LINE');
  await fh.close();
});

// ================================================================ third-party-style code, unchanged

type NodeFs = typeof nodeFs;

/**
 * Code written against node:fs, knowing nothing of fdkeeper: bump a JSON config's version, keep a
 * backup, log what was done through a stream, and list the tree.
 */
async function bumpConfig(fs: NodeFs, dir: string): Promise<{ version: number; tree: string[]; log: string }> {
  const configDir = path.posix.join(dir, 'etc', 'app');
  fs.mkdirSync(configDir, { recursive: true });
  const file = path.posix.join(configDir, 'config.json');
  if (!fs.existsSync(file)) await fs.promises.writeFile(file, JSON.stringify({ version: 0, name: 'demo' }, null, 2));
  const config = JSON.parse(await fs.promises.readFile(file, 'utf8')) as { version: number; name: string };
  await fs.promises.copyFile(file, `${file}.bak`);
  config.version++;
  await fs.promises.writeFile(`${file}.tmp`, JSON.stringify(config, null, 2));
  await fs.promises.rename(`${file}.tmp`, file);
  const logFile = path.posix.join(dir, 'var', 'log', 'app.log');
  fs.mkdirSync(path.posix.dirname(logFile), { recursive: true });
  await pipeline(
    Readable.from([`bumped ${config.name} `, `to ${config.version}\n`]),
    fs.createWriteStream(logFile, { flags: 'a' }),
  );
  const tree: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      tree.push(e.isDirectory() ? `${r}/` : r);
      if (e.isDirectory()) walk(path.posix.join(d, e.name), r);
    }
  };
  walk(dir, '');
  const chunks: string[] = [];
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(logFile, 'utf8')
      .on('data', (c) => chunks.push(c as string))
      .on('end', resolve)
      .on('error', reject);
  });
  return { version: config.version, tree: tree.sort(), log: chunks.join('') };
}

test('code written against node:fs runs unchanged on the facade (OS and memory) and gives what node:fs gives', async () => {
  const real = path.join(tmp, 'third-party-node');
  const viaOs = path.join(tmp, 'third-party-facade');
  nodeFs.mkdirSync(real);
  nodeFs.mkdirSync(viaOs);
  const expected = await bumpConfig(nodeFs, real);
  await bumpConfig(nodeFs, real);
  const again = await bumpConfig(nodeFs, real);
  assert.equal(expected.version, 1);
  assert.equal(again.version, 3);
  const relative = createFs(new MemoryBackend(), { cwd: '/srv2' });
  relative.mkdirSync('/srv2');
  const facades: [string, FsFacade, string][] = [
    ['os', createFs(new OsBackend()), viaOs],
    ['memory', createFs(new MemoryBackend()), '/srv'],
    ['memory, relative paths', relative, '.'],
  ];
  for (const [name, fs, dir] of facades) {
    if (!fs.existsSync(dir)) fs.mkdirSync(dir);
    const asNode = fs as unknown as NodeFs;
    assert.deepEqual(await bumpConfig(asNode, dir), expected, name);
    await bumpConfig(asNode, dir);
    assert.deepEqual(await bumpConfig(asNode, dir), again, name);
  }
  assert.equal(
    nodeFs.readFileSync(path.join(viaOs, 'etc/app/config.json'), 'utf8'),
    nodeFs.readFileSync(path.join(real, 'etc/app/config.json'), 'utf8'),
  );
});

test('error messages match node:fs for the OS backend', () => {
  const fs = createFs(new OsBackend());
  const missing = path.join(tmp, 'definitely-missing');
  const cases: [string, () => unknown, () => unknown][] = [
    ['readFileSync', () => nodeFs.readFileSync(missing), () => fs.readFileSync(missing)],
    ['statSync', () => nodeFs.statSync(missing), () => fs.statSync(missing)],
    ['readdirSync', () => nodeFs.readdirSync(missing), () => fs.readdirSync(missing)],
    [
      'unlinkSync',
      () => {
        nodeFs.unlinkSync(missing);
      },
      () => {
        fs.unlinkSync(missing);
      },
    ],
    [
      'renameSync',
      () => {
        nodeFs.renameSync(missing, `${missing}2`);
      },
      () => {
        fs.renameSync(missing, `${missing}2`);
      },
    ],
    [
      'copyFileSync',
      () => {
        nodeFs.copyFileSync(missing, `${missing}2`);
      },
      () => {
        fs.copyFileSync(missing, `${missing}2`);
      },
    ],
    [
      'accessSync',
      () => {
        nodeFs.accessSync(missing);
      },
      () => {
        fs.accessSync(missing);
      },
    ],
    [
      'mkdirSync',
      () => {
        nodeFs.mkdirSync(`${missing}/a`);
      },
      () => {
        fs.mkdirSync(`${missing}/a`);
      },
    ],
    ['readlinkSync', () => nodeFs.readlinkSync(missing), () => fs.readlinkSync(missing)],
  ];
  for (const [name, viaNode, viaFacade] of cases) {
    const a = throwsCode(viaNode, 'ENOENT');
    const b = throwsCode(viaFacade, 'ENOENT');
    assert.equal(b.message, a.message, name);
    assert.equal(b.syscall, a.syscall, name);
    assert.equal(b.path, a.path, name);
    assert.equal(b.errno, a.errno, name);
  }
});

test("descriptors are the backend's own numbers; faults injected below the facade surface as node:fs errors", async () => {
  const faulty = new FaultyBackend(new MemoryBackend(), [{ syscall: 'write', nth: 2, code: 'ENOSPC' }]);
  const fs = createFs(faulty);
  const fd = fs.openSync('/f', 'w');
  assert.deepEqual(faulty.openFds(), [fd]);
  fs.writeSync(fd, 'one');
  throwsCode(() => fs.writeSync(fd, 'two'), 'ENOSPC', 'write');
  fs.closeSync(fd);
  faulty.addRule({ syscall: 'open', path: '/g', code: 'EACCES' });
  await rejectsCode(fs.promises.writeFile('/g', 'x'), 'EACCES', 'open');
  faulty.addRule({ syscall: 'read', nth: 1, code: 'EIO' });
  await rejectsCode(fs.promises.readFile('/f'), 'EIO', 'read');
  assert.equal(faulty.opened(), faulty.closed(), 'readFile closed its descriptor after the failed read');
  assert.equal(fs.readFileSync('/f', 'utf8'), 'one');
  // short writes are completed by writeFile's loop
  faulty.addRule({ syscall: 'write', shortWrite: 'half', times: 3 });
  fs.writeFileSync('/h', 'abcdefgh');
  assert.equal(fs.readFileSync('/h', 'utf8'), 'abcdefgh');
});

test('readFileSync/writeFileSync (run straight) and their promise forms (the protocol) agree on short transfers and faults', async () => {
  // The sync forms of readFile and writeFile on a path run their common case without the protocol
  // runner (facade/operations.ts, readPathSync/writePathSync). Every case below goes through both forms:
  // a fast path that dropped a short read's rest, wrote at the wrong offset after a short write, or
  // left a descriptor open after a failure gives a different answer from the protocol.
  const data = Buffer.from('0123456789abcdefghij');
  type Scenario = [name: string, rules: Parameters<FaultyBackend['addRule']>[0][]];
  const scenarios: Scenario[] = [
    ['short reads', [{ syscall: 'read', shortRead: 'half', times: 4 }]],
    ['a short read of 1 byte, then the rest', [{ syscall: 'read', shortRead: 1, times: 1 }]],
    ['short writes', [{ syscall: 'write', shortWrite: 'half', times: 4 }]],
    ['a failing read', [{ syscall: 'read', nth: 1, code: 'EIO' }]],
    [
      'a failing write after a short one',
      [
        { syscall: 'write', shortWrite: 3, times: 1 },
        { syscall: 'write', nth: 2, code: 'ENOSPC' },
      ],
    ],
    ['a failing fstat', [{ syscall: 'fstat', nth: 1, code: 'EIO' }]],
    // close(2) fails after closing (Linux): reported once, the slot given back once
    ['a failing close', [{ syscall: 'close', nth: 1, code: 'EIO', after: true }]],
  ];
  const outcome = (f: () => unknown): string => {
    try {
      const v = f();
      return `ok ${Buffer.isBuffer(v) ? v.toString('latin1') : String(v)}`;
    } catch (e) {
      return `error ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
    }
  };
  const outcomeAsync = async (f: () => Promise<unknown>): Promise<string> => {
    try {
      const v = await f();
      return `ok ${Buffer.isBuffer(v) ? v.toString('latin1') : String(v)}`;
    } catch (e) {
      return `error ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
    }
  };
  for (const [name, rules] of scenarios) {
    const results: string[][] = [];
    for (const form of ['sync', 'promise'] as const) {
      const mem = new MemoryBackend();
      const faulty = new FaultyBackend(mem, []);
      const fs = createFs(faulty);
      fs.writeFileSync('/f', data);
      fs.writeFileSync('/a', 'start:');
      for (const r of rules) faulty.addRule(r);
      const got: string[] = [];
      if (form === 'sync') {
        got.push(outcome(() => fs.readFileSync('/f')));
        got.push(
          outcome(() => {
            fs.writeFileSync('/w', data);
          }),
          outcome(() => {
            fs.appendFileSync('/a', data);
          }),
        );
      } else {
        got.push(await outcomeAsync(() => fs.promises.readFile('/f')));
        got.push(await outcomeAsync(() => fs.promises.writeFile('/w', data)));
        got.push(await outcomeAsync(() => fs.promises.appendFile('/a', data)));
      }
      faulty.clearRules();
      got.push(
        outcome(() => fs.readFileSync('/w')),
        outcome(() => fs.readFileSync('/a')),
      );
      assert.deepEqual(faulty.openFds(), [], `${name} (${form}): every descriptor closed`);
      assert.equal(fs.table.budget.inUse, 0, `${name} (${form}): every budget slot given back, once`);
      results.push(got);
    }
    assert.deepEqual(results[0], results[1], `${name}: the sync and promise forms agree`);
  }
  // And the answers are the right ones, not merely the same: short transfers lose nothing.
  const faulty = new FaultyBackend(new MemoryBackend(), []);
  const fs = createFs(faulty);
  fs.writeFileSync('/f', data);
  faulty.addRule({ syscall: 'read', shortRead: 'half', times: 4 });
  assert.deepEqual(fs.readFileSync('/f'), data);
  faulty.clearRules().addRule({ syscall: 'write', shortWrite: 'half', times: 4 });
  fs.writeFileSync('/g', data);
  fs.appendFileSync('/g', data);
  faulty.clearRules();
  assert.deepEqual(fs.readFileSync('/g'), Buffer.concat([data, data]));
});

test('readFileSync and writeFileSync keep the table honest: budget, and a number reused behind its back', async () => {
  // The two run on a brief open (FileTable.openBriefSync: a budget slot and a backend descriptor, no
  // Descriptor). Real OS files: the kernel hands out the lowest free number, as the trap needs.
  const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-brief-'));
  try {
    const backend = new OsBackend();
    const fs = createFs(backend, { table: new FileTable({ backend, maxOpen: 2 }) });
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const c = path.join(dir, 'c');
    fs.writeFileSync(a, 'aaaa');
    fs.writeFileSync(b, 'bbbb');
    // The budget: with both slots taken, the brief open fails at once, as openSync does.
    const x = fs.openSync(a, 'r+'); // writable: so that only a revocation can refuse the write below
    const y = fs.openSync(a, 'r');
    assert.throws(() => fs.readFileSync(b), { code: 'EMFILE' });
    assert.throws(
      () => {
        fs.writeFileSync(b, 'new');
      },
      { code: 'EMFILE' },
    );
    assert.equal(nodeFs.readFileSync(b, 'utf8'), 'bbbb', 'the refused write changed nothing');
    fs.closeSync(y);
    assert.equal(fs.table.budget.inUse, 1, 'the refused brief opens gave nothing away');
    // The trap: x's number is closed behind the table's back, readFileSync's brief open gets it from the
    // kernel, and after it a plain open gets it again. The table must have revoked x at the brief open:
    // otherwise fs.writeSync(x) writes into c.
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => {
      if (w.code !== undefined) warnings.push(w.code);
    };
    process.on('warning', onWarning);
    try {
      nodeFs.closeSync(x);
      assert.equal(fs.readFileSync(b, 'utf8'), 'bbbb');
      const other = nodeFs.openSync(c, 'w');
      assert.equal(other, x, 'test setup: the kernel reuses the number');
      assert.throws(() => fs.writeSync(x, 'XX'), { code: 'EBADF' });
      nodeFs.closeSync(other);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.equal(nodeFs.readFileSync(c, 'utf8'), '', "the stale number did not write into c's file");
    assert.ok(warnings.includes('FDKEEPER_FD_REUSED'), `warnings: ${warnings.join(', ')}`);
    assert.equal(fs.table.size, 0);
    assert.equal(fs.table.budget.inUse, 0, 'every slot came back');
  } finally {
    nodeFs.rmSync(dir, { recursive: true, force: true });
  }
});

test('relative paths: resolved by the backend, or against the cwd option', () => {
  const mem = new MemoryBackend();
  const fs = createFs(mem);
  fs.writeFileSync('rel.txt', 'at the root');
  assert.equal(fs.readFileSync('/rel.txt', 'utf8'), 'at the root');
  fs.mkdirSync('/home/u', { recursive: true });
  const inHome = createFs(mem, { cwd: '/home/u' });
  inHome.writeFileSync('notes.txt', 'n');
  assert.equal(fs.readFileSync('/home/u/notes.txt', 'utf8'), 'n');
  assert.equal(inHome.realpathSync('notes.txt'), '/home/u/notes.txt');
  assert.equal(inHome.realpathSync('../u/./notes.txt'), '/home/u/notes.txt');
  assert.equal(inHome.mkdirSync('a/b', { recursive: true }), 'a', 'as node:fs: the first created path as given');
  assert.throws(() => createFs(mem, { cwd: 'relative' }), TypeError);
});

test('streams close their descriptor when a read or write fails', async () => {
  const faulty = new FaultyBackend(new MemoryBackend(), []);
  const fs = createFs(faulty);
  fs.writeFileSync('/src', Buffer.alloc(300_000, 1));
  faulty.addRule({ syscall: 'write', nth: 3, code: 'ENOSPC' });
  await rejectsCode(pipeline(fs.createReadStream('/src'), fs.createWriteStream('/dst')), 'ENOSPC', 'write');
  assert.deepEqual(faulty.openFds(), [], 'both streams closed their descriptors');
  faulty.clearRules().addRule({ syscall: 'read', nth: 2, code: 'EIO' });
  const rs = fs.createReadStream('/src', { highWaterMark: 1000 });
  await rejectsCode(
    (async () => {
      for await (const _ of rs) {
        // consume
      }
    })(),
    'EIO',
    'read',
  );
  assert.equal(rs.destroyed, true);
  assert.deepEqual(faulty.openFds(), []);
  assert.equal(faulty.opened(), faulty.closed());
  // close(cb) on a write stream ends it: the data written so far is there, the descriptor closed
  faulty.clearRules();
  const ws = fs.createWriteStream('/closing');
  ws.write('abc');
  await new Promise<void>((resolve, reject) => {
    ws.close((err) => {
      if (err == null) resolve();
      else reject(err);
    });
  });
  assert.equal(fs.readFileSync('/closing', 'utf8'), 'abc');
  assert.deepEqual(faulty.openFds(), []);
});
