import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, type MemoryBackendOptions } from '../src/backend/memory/memory-backend.js';
import { FsState } from '../src/backend/memory/fs-state.js';
import { CHUNK } from '../src/backend/memory/inode.js';
import { O } from '../src/backend/flags.js';
import { TWIN_METHODS } from '../src/backend/backend.js';
import { failingTwinArgs } from './support/backend-twins.js';
import { FsError } from '../src/errors/fs-error.js';
import { FileTable } from '../src/table/file-table.js';
import { open, openSync } from '../src/io/open.js';
import { pipe } from '../src/io/pipe.js';

const RW_CREAT = O.RDWR | O.CREAT;

/** Asserts that `fn` throws an FsError with `code` (and `syscall`, when given). */
function throwsCode(fn: () => unknown, code: string, syscall?: string): FsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FsError, `expected FsError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (syscall !== undefined) assert.equal(caught.syscall, syscall, caught.message);
  return caught;
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Writes `content` to a new file at `path` (through a descriptor, closed again). */
function put(b: MemoryBackend, path: string, content: string, mode = 0o666): void {
  const fd = b.openSync(path, O.WRONLY | O.CREAT | O.TRUNC, mode);
  b.writeSync(fd, bytes(content), 0, content.length, null);
  b.closeSync(fd);
}

/** The whole content of `path`. */
function get(b: MemoryBackend, path: string): string {
  const fd = b.openSync(path, O.RDONLY);
  try {
    const buf = Buffer.alloc(b.fstatSync(fd).size);
    b.readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('latin1');
  } finally {
    b.closeSync(fd);
  }
}

/** Reads `n` bytes from `fd` at its offset. */
function readN(b: MemoryBackend, fd: number, n: number, position: number | null = null): string {
  const buf = Buffer.alloc(n);
  const got = b.readSync(fd, buf, 0, n, position);
  return buf.subarray(0, got).toString('latin1');
}

/** A backend with a clock the test moves. */
function clocked(options: MemoryBackendOptions = {}): { b: MemoryBackend; tick: (ms?: number) => number } {
  let t = 1_000_000;
  const b = new MemoryBackend({ ...options, now: () => t });
  return { b, tick: (ms = 1000) => (t += ms) };
}

describe('descriptors', () => {
  test('numbers are lowest-free from firstFd; 0-2 are never handed out; a closed number is reused', () => {
    const b = new MemoryBackend();
    const fds = [b.openSync('/a', RW_CREAT), b.openSync('/b', RW_CREAT), b.openSync('/c', RW_CREAT)];
    assert.deepEqual(fds, [3, 4, 5]);
    b.closeSync(4);
    assert.equal(b.openSync('/a', O.RDONLY), 4, 'the lowest free number, not the next one');
    b.closeSync(3);
    b.closeSync(5);
    assert.equal(b.openSync('/a', O.RDONLY), 3);
    assert.equal(b.openSync('/a', O.RDONLY), 5);
    assert.deepEqual(b.descriptors(), [3, 4, 5]);
    const c = new MemoryBackend({ firstFd: 10 });
    assert.equal(c.openSync('/x', RW_CREAT), 10);
  });

  test('double close and any call on a closed number are EBADF', () => {
    const b = new MemoryBackend();
    const fd = b.openSync('/f', RW_CREAT);
    b.closeSync(fd);
    throwsCode(
      () => {
        b.closeSync(fd);
      },
      'EBADF',
      'close',
    );
    throwsCode(() => b.readSync(fd, Buffer.alloc(1), 0, 1, null), 'EBADF', 'read');
    throwsCode(() => b.writeSync(fd, Buffer.alloc(1), 0, 1, null), 'EBADF', 'write');
    throwsCode(() => b.fstatSync(fd), 'EBADF', 'fstat');
    throwsCode(
      () => {
        b.fsyncSync(fd);
      },
      'EBADF',
      'fsync',
    );
    throwsCode(
      () => {
        b.ftruncateSync(fd, 0);
      },
      'EBADF',
      'ftruncate',
    );
    throwsCode(
      () => {
        b.fchmodSync(fd, 0o600);
      },
      'EBADF',
      'fchmod',
    );
    throwsCode(() => b.reserveSync(fd), 'EBADF', 'dup');
    throwsCode(() => b.reopenSync(fd, O.RDONLY), 'EBADF', 'reopen');
    throwsCode(() => b.fdInfoSync(fd), 'EBADF');
    throwsCode(() => b.readSync(0, Buffer.alloc(1), 0, 1, null), 'EBADF', 'read');
  });

  test('access modes: read on write-only and write on read-only are EBADF; ftruncate on read-only is EINVAL', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'abc');
    const w = b.openSync('/f', O.WRONLY);
    throwsCode(() => b.readSync(w, Buffer.alloc(1), 0, 1, null), 'EBADF', 'read');
    const r = b.openSync('/f', O.RDONLY);
    throwsCode(() => b.writeSync(r, bytes('x'), 0, 1, null), 'EBADF', 'write');
    throwsCode(
      () => {
        b.ftruncateSync(r, 0);
      },
      'EINVAL',
      'ftruncate',
    );
    throwsCode(
      () => {
        b.ftruncateSync(w, -1);
      },
      'EINVAL',
      'ftruncate',
    );
    throwsCode(() => b.readSync(r, Buffer.alloc(1), 0, 1, -1), 'EINVAL', 'read');
    throwsCode(() => b.writeSync(w, bytes('x'), 0, 1, -5), 'EINVAL', 'write');
    assert.equal(get(b, '/f'), 'abc', 'nothing changed');
  });

  test('null position uses and advances the offset; a number is pread/pwrite and leaves it', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'abcdefgh');
    const fd = b.openSync('/f', O.RDWR);
    assert.equal(readN(b, fd, 3), 'abc');
    assert.equal(readN(b, fd, 2, 6), 'gh', 'pread');
    assert.equal(readN(b, fd, 2), 'de', 'the pread did not move the offset');
    b.writeSync(fd, bytes('XY'), 0, 2, 0);
    assert.equal(b.fdInfoSync(fd).offset, 5);
    b.writeSync(fd, bytes('Z'), 0, 1, null);
    assert.equal(b.fdInfoSync(fd).offset, 6);
    assert.equal(get(b, '/f'), 'XYcdeZgh');
    assert.equal(b.fdInfoSync(fd).flags, O.RDWR);
  });

  test('EMFILE at maxOpen, checked before the path: an O_CREAT open that fails creates nothing', () => {
    const b = new MemoryBackend({ maxOpen: 6 });
    b.openSync('/a', RW_CREAT);
    b.openSync('/b', RW_CREAT);
    b.openSync('/c', RW_CREAT);
    throwsCode(() => b.openSync('/d', RW_CREAT), 'EMFILE', 'open');
    throwsCode(() => b.statSync('/d'), 'ENOENT');
    throwsCode(() => b.pipeSync(), 'EMFILE', 'pipe');
    b.closeSync(5);
    throwsCode(() => b.pipeSync(), 'EMFILE', 'pipe');
    assert.deepEqual(b.descriptors(), [3, 4], 'the failed pipe left no read end behind');
  });
});

describe('inodes', () => {
  test('an unlinked file stays readable and writable through an open fd (nlink 0) and is dropped at the last close', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'hello');
    const fd = b.openSync('/f', O.RDWR);
    const ino = b.fstatSync(fd).ino;
    const used = b.bytesUsed;
    b.unlinkSync('/f');
    throwsCode(() => b.statSync('/f'), 'ENOENT', 'stat');
    assert.equal(b.fstatSync(fd).nlink, 0);
    assert.equal(readN(b, fd, 5), 'hello');
    b.writeSync(fd, bytes('!'), 0, 1, null);
    assert.equal(b.fstatSync(fd).size, 6);
    assert.ok(b.state.inodes.has(ino));
    assert.equal(b.bytesUsed, used + 1, 'its data still takes space');
    b.closeSync(fd);
    assert.equal(b.state.inodes.has(ino), false, 'dropped with the last descriptor');
    assert.equal(b.bytesUsed, 0, 'and its data freed');
  });

  test('rename over an open file: the fd keeps the replaced inode (nlink 0); the name shows the new one', () => {
    const b = new MemoryBackend();
    put(b, '/old', 'OLD');
    put(b, '/new', 'NEW');
    const fd = b.openSync('/old', O.RDONLY);
    const ino = b.fstatSync(fd).ino;
    b.renameSync('/new', '/old');
    assert.equal(get(b, '/old'), 'NEW');
    assert.equal(readN(b, fd, 3), 'OLD');
    assert.equal(b.fstatSync(fd).nlink, 0);
    throwsCode(() => b.statSync('/new'), 'ENOENT');
    b.closeSync(fd);
    assert.equal(b.state.inodes.has(ino), false);
  });

  test('nlink: hard links count, directories count 2 + subdirectories, moves update both parents', () => {
    const b = new MemoryBackend();
    assert.equal(b.statSync('/').nlink, 2);
    put(b, '/f', 'x');
    b.linkSync('/f', '/g');
    assert.equal(b.statSync('/f').nlink, 2);
    assert.equal(b.statSync('/g').ino, b.statSync('/f').ino);
    b.unlinkSync('/f');
    assert.equal(b.statSync('/g').nlink, 1);
    assert.equal(get(b, '/g'), 'x');
    b.mkdirSync('/a');
    b.mkdirSync('/b');
    assert.equal(b.statSync('/a').nlink, 2);
    assert.equal(b.statSync('/').nlink, 4);
    b.mkdirSync('/a/sub');
    assert.equal(b.statSync('/a').nlink, 3);
    b.renameSync('/a/sub', '/b/sub');
    assert.equal(b.statSync('/a').nlink, 2);
    assert.equal(b.statSync('/b').nlink, 3);
    assert.equal(b.statSync('/b/sub/..').ino, b.statSync('/b').ino, "the moved directory's '..' follows it");
    b.rmdirSync('/b/sub');
    assert.equal(b.statSync('/b').nlink, 2);
    b.linkSync('/g', '/a/g2');
    assert.equal(b.statSync('/g').nlink, 2);
    throwsCode(
      () => {
        b.linkSync('/a', '/a2');
      },
      'EPERM',
      'link',
    );
    throwsCode(
      () => {
        b.linkSync('/g', '/a/g2');
      },
      'EEXIST',
      'link',
    );
    throwsCode(
      () => {
        b.linkSync('/none', '/x');
      },
      'ENOENT',
      'link',
    );
  });

  test("'.' and '..' resolve but are not listed; readdir needs a directory", () => {
    const b = new MemoryBackend();
    b.mkdirSync('/d');
    b.mkdirSync('/d/e');
    put(b, '/d/f', '');
    assert.deepEqual(b.readdirSync('/d').sort(), ['e', 'f']);
    assert.equal(b.statSync('/d/e/../.').ino, b.statSync('/d').ino);
    assert.equal(b.statSync('/..').ino, b.statSync('/').ino, "the root is its own '..'");
    throwsCode(() => b.readdirSync('/d/f'), 'ENOTDIR', 'scandir');
    throwsCode(() => b.readdirSync('/nope'), 'ENOENT', 'scandir');
  });
});

describe('symlinks', () => {
  test('relative targets resolve from the link directory, absolute from the root; lstat sees the link', () => {
    const b = new MemoryBackend();
    b.mkdirSync('/d');
    put(b, '/d/target', 'T');
    put(b, '/target', 'ROOT');
    b.symlinkSync('target', '/d/rel');
    b.symlinkSync('/target', '/d/abs');
    b.symlinkSync('d/rel', '/chain');
    b.symlinkSync('d', '/dirlink');
    assert.equal(get(b, '/d/rel'), 'T');
    assert.equal(get(b, '/d/abs'), 'ROOT');
    assert.equal(get(b, '/chain'), 'T');
    assert.equal(get(b, '/dirlink/target'), 'T', 'a symlink in the middle of a path');
    assert.ok(b.lstatSync('/d/rel').isSymbolicLink());
    assert.equal(b.lstatSync('/d/rel').size, 'target'.length);
    assert.ok(b.statSync('/d/rel').isFile());
    assert.equal(b.readlinkSync('/d/abs'), '/target');
    assert.ok(b.lstatSync('/dirlink/').isDirectory(), 'a trailing slash follows the link');
    throwsCode(() => b.readlinkSync('/d/target'), 'EINVAL', 'readlink');
    b.symlinkSync('missing', '/dangling');
    throwsCode(() => b.statSync('/dangling'), 'ENOENT', 'stat');
    assert.ok(b.lstatSync('/dangling').isSymbolicLink());
    throwsCode(
      () => {
        b.symlinkSync('x', '/dangling');
      },
      'EEXIST',
      'symlink',
    );
    throwsCode(
      () => {
        b.symlinkSync('', '/empty');
      },
      'ENOENT',
      'symlink',
    );
  });

  test('ELOOP after 40 hops (40 are fine), and for a loop', () => {
    const b = new MemoryBackend();
    put(b, '/end', 'E');
    b.symlinkSync('/end', '/l0');
    for (let i = 1; i <= 40; i++) b.symlinkSync(`/l${i - 1}`, `/l${i}`);
    assert.equal(get(b, '/l39'), 'E', '40 symlinks followed');
    throwsCode(() => b.statSync('/l40'), 'ELOOP', 'stat');
    b.symlinkSync('/loop2', '/loop1');
    b.symlinkSync('/loop1', '/loop2');
    throwsCode(() => b.openSync('/loop1', O.RDONLY), 'ELOOP', 'open');
    throwsCode(() => b.statSync('/loop1/x'), 'ELOOP');
    assert.ok(b.lstatSync('/loop1').isSymbolicLink());
  });

  test('O_NOFOLLOW, O_DIRECTORY, O_EXCL, O_CREAT through a dangling link', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'x');
    b.mkdirSync('/d');
    b.symlinkSync('f', '/lf');
    b.symlinkSync('d', '/ld');
    b.symlinkSync('made', '/dangling');
    throwsCode(() => b.openSync('/lf', O.RDONLY | O.NOFOLLOW), 'ELOOP', 'open');
    throwsCode(() => b.openSync('/ld', O.RDONLY | O.NOFOLLOW | O.DIRECTORY), 'ENOTDIR', 'open');
    b.closeSync(b.openSync('/ld', O.RDONLY | O.DIRECTORY));
    throwsCode(() => b.openSync('/f', O.RDONLY | O.DIRECTORY), 'ENOTDIR', 'open');
    throwsCode(() => b.openSync('/f', RW_CREAT | O.EXCL), 'EEXIST', 'open');
    throwsCode(() => b.openSync('/dangling', RW_CREAT | O.EXCL), 'EEXIST', 'open');
    throwsCode(() => b.statSync('/made'), 'ENOENT');
    throwsCode(() => b.openSync('/new', RW_CREAT | O.DIRECTORY), 'EINVAL', 'open');
    b.closeSync(b.openSync('/dangling', O.WRONLY | O.CREAT));
    assert.ok(b.statSync('/made').isFile(), 'O_CREAT through a dangling symlink creates its target');
  });
});

describe('paths and errors', () => {
  test('trailing slashes, ENAMETOOLONG, directories opened or read wrongly', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'x');
    b.mkdirSync('/d');
    throwsCode(() => b.statSync('/f/'), 'ENOTDIR', 'stat');
    throwsCode(() => b.openSync('/f/', O.RDONLY), 'ENOTDIR', 'open');
    throwsCode(() => b.statSync('/f/x'), 'ENOTDIR', 'stat');
    throwsCode(() => b.openSync('/new/', RW_CREAT), 'EISDIR', 'open');
    throwsCode(
      () => {
        b.unlinkSync('/f/');
      },
      'ENOTDIR',
      'unlink',
    );
    throwsCode(
      () => {
        b.unlinkSync('/d');
      },
      'EISDIR',
      'unlink',
    );
    b.mkdirSync('/slash/');
    assert.ok(b.statSync('/slash//').isDirectory());
    throwsCode(() => b.openSync('/' + 'n'.repeat(256), RW_CREAT), 'ENAMETOOLONG', 'open');
    b.closeSync(b.openSync('/' + 'n'.repeat(255), RW_CREAT));
    throwsCode(() => b.statSync('/' + 'é'.repeat(128)), 'ENAMETOOLONG', 'stat'); // 256 bytes in UTF-8
    throwsCode(() => b.openSync('/d', O.WRONLY), 'EISDIR', 'open');
    throwsCode(() => b.openSync('/d', O.RDWR), 'EISDIR', 'open');
    const dfd = b.openSync('/d', O.RDONLY);
    throwsCode(() => b.readSync(dfd, Buffer.alloc(4), 0, 4, null), 'EISDIR', 'read');
    throwsCode(
      () => {
        b.ftruncateSync(dfd, 0);
      },
      'EINVAL',
      'ftruncate',
    );
    b.fsyncSync(dfd);
    throwsCode(() => b.statSync(''), 'ENOENT', 'stat');
    assert.throws(() => b.statSync('/a\u0000b'), TypeError);
  });

  test('rename: replace, type mismatches, non-empty target, own subtree, hard links, dots', () => {
    const b = new MemoryBackend();
    b.mkdirSync('/d');
    b.mkdirSync('/e');
    b.mkdirSync('/full');
    put(b, '/full/x', '');
    put(b, '/f', 'F');
    put(b, '/g', 'G');
    throwsCode(
      () => {
        b.renameSync('/f', '/d');
      },
      'EISDIR',
      'rename',
    );
    throwsCode(
      () => {
        b.renameSync('/d', '/f');
      },
      'ENOTDIR',
      'rename',
    );
    const err = throwsCode(
      () => {
        b.renameSync('/d', '/full');
      },
      'ENOTEMPTY',
      'rename',
    );
    assert.equal(err.path, '/d');
    assert.equal(err.dest, '/full');
    throwsCode(
      () => {
        b.renameSync('/d', '/d/sub');
      },
      'EINVAL',
      'rename',
    );
    throwsCode(
      () => {
        b.renameSync('/full/x', '/full');
      },
      'ENOTEMPTY',
      'rename',
    ); // over its own parent, even for a file
    throwsCode(
      () => {
        b.renameSync('/none', '/x');
      },
      'ENOENT',
      'rename',
    );
    throwsCode(
      () => {
        b.renameSync('/f', '/g/');
      },
      'ENOTDIR',
      'rename',
    );
    throwsCode(
      () => {
        b.renameSync('/d/.', '/x');
      },
      'EBUSY',
      'rename',
    );
    const eIno = b.statSync('/e').ino;
    b.renameSync('/d', '/e');
    assert.equal(b.statSync('/e').ino !== eIno, true, 'a directory replaces an empty one');
    assert.equal(b.state.inodes.has(eIno), false, 'the replaced directory is gone');
    b.renameSync('/f', '/g');
    assert.equal(get(b, '/g'), 'F');
    throwsCode(() => b.statSync('/f'), 'ENOENT');
    b.linkSync('/g', '/h');
    b.renameSync('/g', '/h');
    assert.equal(b.statSync('/g').nlink, 2, 'rename between two links of one inode does nothing');
    b.renameSync('/g', '/g');
  });

  test('rmdir and unlink of special names; ENOTEMPTY; syscall names match node:fs', () => {
    const b = new MemoryBackend();
    b.mkdirSync('/d');
    put(b, '/d/f', '');
    throwsCode(
      () => {
        b.rmdirSync('/d');
      },
      'ENOTEMPTY',
      'rmdir',
    );
    throwsCode(
      () => {
        b.rmdirSync('/d/f');
      },
      'ENOTDIR',
      'rmdir',
    );
    throwsCode(
      () => {
        b.rmdirSync('/');
      },
      'EBUSY',
      'rmdir',
    );
    throwsCode(
      () => {
        b.rmdirSync('/d/.');
      },
      'EINVAL',
      'rmdir',
    );
    throwsCode(
      () => {
        b.rmdirSync('/d/..');
      },
      'ENOTEMPTY',
      'rmdir',
    );
    throwsCode(
      () => {
        b.unlinkSync('/');
      },
      'EISDIR',
      'unlink',
    );
    throwsCode(
      () => {
        b.mkdirSync('/d');
      },
      'EEXIST',
      'mkdir',
    );
    throwsCode(
      () => {
        b.mkdirSync('/x/y');
      },
      'ENOENT',
      'mkdir',
    );
    throwsCode(
      () => {
        b.utimesSync('/nope', 1, 1);
      },
      'ENOENT',
      'utime',
    );
    throwsCode(
      () => {
        b.chmodSync('/nope', 0o644);
      },
      'ENOENT',
      'chmod',
    );
    throwsCode(() => b.lstatSync('/nope'), 'ENOENT', 'lstat');
    const e = throwsCode(
      () => {
        b.symlinkSync('t', '/d/f');
      },
      'EEXIST',
      'symlink',
    );
    assert.equal(e.path, 't');
    assert.equal(e.dest, '/d/f');
    b.unlinkSync('/d/f');
    b.rmdirSync('/d');
    throwsCode(() => b.statSync('/d'), 'ENOENT');
  });

  test('relative paths resolve from cwd', () => {
    const b = new MemoryBackend();
    b.mkdirSync('/home');
    b.chdir('home');
    assert.equal(b.cwd, '/home');
    put(b, 'notes', 'n');
    assert.equal(get(b, '/home/notes'), 'n');
    assert.equal(get(b, '../home/./notes'), 'n');
    const c = new MemoryBackend({ cwd: '/srv/app', crashModel: true });
    assert.ok(c.statSync('/srv/app').isDirectory(), 'a new file system gets its cwd created');
    c.mkdirSync('w');
    assert.ok(c.statSync('/srv/app/w').isDirectory());
    assert.deepEqual(
      c.crash().tree(),
      { '/srv': { kind: 'dir' }, '/srv/app': { kind: 'dir' } },
      'the cwd is part of the durable initial content',
    );
    throwsCode(() => new MemoryBackend({ cwd: 'relative' }), 'EINVAL');
  });

  test('promise forms take effect at once and reject with the FsError', async () => {
    const b = new MemoryBackend();
    const p = b.open('/p', RW_CREAT);
    assert.ok(b.statSync('/p').isFile(), 'created before the promise settles');
    const fd = await p;
    assert.equal(await b.write(fd, bytes('abc'), 0, 3, null), 3);
    const buf = Buffer.alloc(3);
    assert.equal(await b.read(fd, buf, 0, 3, 0), 3);
    assert.equal(buf.toString(), 'abc');
    assert.equal((await b.fstat(fd)).size, 3);
    await b.close(fd);
    await assert.rejects(b.close(fd), (e: unknown) => e instanceof FsError && e.code === 'EBADF');
    await assert.rejects(
      b.readdir('/p'),
      (e: unknown) => e instanceof FsError && e.code === 'ENOTDIR' && e.syscall === 'scandir',
    );
    await b.rename('/p', '/q');
    assert.deepEqual(await b.readdir('/'), ['q']);
  });
});

describe('data', () => {
  test('O_TRUNC truncates an existing file; O_APPEND writes at the end even for a pwrite', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'hello');
    b.closeSync(b.openSync('/f', O.WRONLY | O.TRUNC));
    assert.equal(b.statSync('/f').size, 0);
    put(b, '/f', 'hello');
    const fd = b.openSync('/f', O.RDWR | O.APPEND);
    b.writeSync(fd, bytes('XY'), 0, 2, 0);
    assert.equal(get(b, '/f'), 'helloXY', 'pwrite in append mode still appends (Linux)');
    assert.equal(b.fdInfoSync(fd).offset, 0, 'a pwrite does not move the offset');
    assert.equal(readN(b, fd, 2), 'he', 'reads happen at the offset');
    b.writeSync(fd, bytes('!'), 0, 1, null);
    assert.equal(get(b, '/f'), 'helloXY!');
    assert.equal(b.fdInfoSync(fd).offset, 8, 'a write moves the offset to the new end');
    assert.equal(b.fdInfoSync(fd).flags, O.RDWR | O.APPEND);
  });

  test('holes read as zeros and take no space; shrinking then growing does not resurrect old bytes', () => {
    const b = new MemoryBackend();
    const fd = b.openSync('/sparse', RW_CREAT);
    b.writeSync(fd, bytes('A'), 0, 1, 0);
    b.writeSync(fd, bytes('Z'), 0, 1, 4 * CHUNK + 10);
    const st = b.fstatSync(fd);
    assert.equal(st.size, 4 * CHUNK + 11);
    assert.ok(st.blocks < st.size / 512 / 2, `blocks ${st.blocks} reflect the holes`);
    assert.equal(b.bytesUsed, CHUNK + 11, 'chunks 1-3 were never written');
    const buf = Buffer.alloc(4 * CHUNK + 11, 0xff);
    assert.equal(b.readSync(fd, buf, 0, buf.length, 0), buf.length);
    assert.equal(buf[0], 0x41);
    assert.equal(buf[buf.length - 1], 0x5a);
    assert.ok(
      buf.subarray(1, buf.length - 1).every((x) => x === 0),
      'the hole reads as zeros',
    );
    b.ftruncateSync(fd, 0);
    b.writeSync(fd, bytes('abcdef'), 0, 6, 0);
    b.ftruncateSync(fd, 2);
    b.ftruncateSync(fd, 6);
    assert.equal(readN(b, fd, 6, 0), 'ab\0\0\0\0');
    assert.equal(readN(b, fd, 10, 100), '', 'reading past the end gives 0 bytes');
  });

  test('small files do not cost a whole chunk, and a clone stays independent (copy on write)', () => {
    const b = new MemoryBackend({ crashModel: false });
    put(b, '/small', 'tiny');
    const ino = b.statSync('/small').ino;
    const chunk = b.state.inode(ino).chunks[0];
    assert.ok(chunk !== undefined && chunk.bytes.length < 1024, 'a 4-byte file allocates a small chunk');
    const snapshot = b.state.clone();
    const fd = b.openSync('/small', O.RDWR);
    b.writeSync(fd, Buffer.alloc(3000, 0x62), 0, 3000, 2);
    const copy = Buffer.alloc(4);
    snapshot.read(snapshot.inode(ino), copy, 0, 4, 0);
    assert.equal(copy.toString(), 'tiny');
    assert.equal(readN(b, fd, 4, 0), 'tibb');
  });

  test('ENOSPC at the capacity with nothing changed; unlink frees space only once the last fd closes', () => {
    const b = new MemoryBackend({ capacity: 100 });
    const fd = b.openSync('/f', RW_CREAT);
    assert.equal(b.writeSync(fd, Buffer.alloc(60, 0x61), 0, 60, null), 60);
    const before = b.fstatSync(fd);
    throwsCode(() => b.writeSync(fd, Buffer.alloc(50, 0x62), 0, 50, null), 'ENOSPC', 'write');
    const after = b.fstatSync(fd);
    assert.equal(after.size, 60, 'no partial write');
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.equal(b.fdInfoSync(fd).offset, 60, 'the offset did not move');
    assert.equal(readN(b, fd, 60, 0), 'a'.repeat(60));
    assert.equal(b.writeSync(fd, Buffer.alloc(60, 0x63), 0, 60, 0), 60, 'overwriting needs no new space');
    throwsCode(
      () => {
        b.ftruncateSync(fd, 200);
      },
      'ENOSPC',
      'ftruncate',
    );
    assert.equal(b.fstatSync(fd).size, 60);
    const g = b.openSync('/g', RW_CREAT);
    throwsCode(() => b.writeSync(g, Buffer.alloc(41), 0, 41, null), 'ENOSPC');
    b.unlinkSync('/f');
    throwsCode(() => b.writeSync(g, Buffer.alloc(41), 0, 41, null), 'ENOSPC', 'write');
    b.closeSync(fd);
    assert.equal(b.writeSync(g, Buffer.alloc(100), 0, 100, null), 100);
    assert.equal(b.bytesUsed, 100);
  });

  test('umask and modes on create; setgid directories pass on their group', () => {
    const b = new MemoryBackend();
    b.closeSync(b.openSync('/f', RW_CREAT, 0o666));
    assert.equal(b.statSync('/f').mode, 0o100644);
    b.mkdirSync('/d');
    assert.equal(b.statSync('/d').mode, 0o040755);
    b.umask = 0o077;
    b.closeSync(b.openSync('/g', RW_CREAT, 0o666));
    assert.equal(b.statSync('/g').mode & 0o777, 0o600);
    b.symlinkSync('f', '/l');
    assert.equal(b.lstatSync('/l').mode, 0o120777, 'symlinks ignore the umask');
    b.chmodSync('/d', 0o2775);
    const fd = b.openSync('/d', O.RDONLY);
    b.fchownSync(fd, -1, 42);
    b.closeSync(fd);
    b.mkdirSync('/d/sub');
    const sub = b.statSync('/d/sub');
    assert.equal(sub.gid, 42);
    assert.equal(sub.mode & 0o2000, 0o2000);
  });

  test('timestamps: create, write, read (relatime), chmod, link, unlink, rename, utimes', () => {
    const { b, tick } = clocked();
    b.mkdirSync('/d');
    const t1 = tick();
    put(b, '/d/f', 'x');
    let st = b.statSync('/d/f');
    assert.deepEqual([st.atimeMs, st.mtimeMs, st.ctimeMs, st.birthtimeMs], [t1, t1, t1, t1]);
    let dir = b.statSync('/d');
    assert.equal(dir.mtimeMs, t1, 'creating an entry changes the directory');
    assert.equal(dir.ctimeMs, t1);
    const t2 = tick();
    const fd = b.openSync('/d/f', O.RDWR);
    b.writeSync(fd, bytes('y'), 0, 1, null);
    st = b.fstatSync(fd);
    assert.deepEqual([st.atimeMs, st.mtimeMs, st.ctimeMs], [t1, t2, t2], 'write: mtime and ctime');
    const t3 = tick();
    readN(b, fd, 1, 0);
    assert.equal(b.fstatSync(fd).atimeMs, t3, 'read: atime, since it was not newer than mtime');
    tick();
    readN(b, fd, 1, 0);
    assert.equal(b.fstatSync(fd).atimeMs, t3, 'relatime: not again while atime is newer');
    const t5 = tick();
    b.chmodSync('/d/f', 0o600);
    st = b.statSync('/d/f');
    assert.deepEqual([st.mtimeMs, st.ctimeMs], [t2, t5], 'chmod: ctime only');
    const t6 = tick();
    b.linkSync('/d/f', '/d/g');
    assert.equal(b.statSync('/d/f').ctimeMs, t6);
    assert.equal(b.statSync('/d/f').mtimeMs, t2);
    assert.equal(b.statSync('/d').mtimeMs, t6);
    const t7 = tick();
    b.renameSync('/d/g', '/h');
    assert.equal(b.statSync('/h').ctimeMs, t7);
    assert.equal(b.statSync('/d').mtimeMs, t7);
    assert.equal(b.statSync('/').mtimeMs, t7);
    const t8 = tick();
    b.unlinkSync('/h');
    assert.equal(b.fstatSync(fd).ctimeMs, t8, 'unlink changes the inode ctime');
    dir = b.statSync('/');
    assert.deepEqual([dir.mtimeMs, dir.ctimeMs], [t8, t8]);
    const t9 = tick();
    b.utimesSync('/d/f', 100, new Date(200_000));
    st = b.statSync('/d/f');
    assert.deepEqual([st.atimeMs, st.mtimeMs, st.ctimeMs], [100_000, 200_000, t9]);
    const t10 = tick();
    b.closeSync(b.openSync('/d/f', O.WRONLY | O.TRUNC));
    assert.equal(b.statSync('/d/f').mtimeMs, t10, 'O_TRUNC sets mtime');
    tick();
    b.writeSync(fd, bytes(''), 0, 0, null);
    assert.equal(b.fstatSync(fd).mtimeMs, t10, 'a zero-length write changes nothing');
  });
});

describe('permissions (non-root)', () => {
  function asUser(): MemoryBackend {
    // Root builds the tree, then the backend acts as uid 1000.
    const b = new MemoryBackend();
    b.mkdirSync('/home', 0o755);
    b.mkdirSync('/home/u', 0o755);
    const fd = b.openSync('/home/u', O.RDONLY);
    b.fchownSync(fd, 1000, 1000);
    b.closeSync(fd);
    put(b, '/rootfile', 'secret', 0o600);
    put(b, '/public', 'pub', 0o644);
    b.mkdirSync('/locked', 0o700);
    put(b, '/locked/inner', 'in', 0o644);
    b.uid = 1000;
    b.gid = 1000;
    return b;
  }

  test('read/write bits for owner, group and other', () => {
    const b = asUser();
    throwsCode(() => b.openSync('/rootfile', O.RDONLY), 'EACCES', 'open');
    assert.equal(get(b, '/public'), 'pub');
    throwsCode(() => b.openSync('/public', O.WRONLY), 'EACCES', 'open');
    throwsCode(() => b.openSync('/public', O.RDONLY | O.TRUNC), 'EACCES', 'open');
    put(b, '/home/u/mine', 'm', 0o640);
    const st = b.statSync('/home/u/mine');
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1000, 1000, 0o640]);
    b.chmodSync('/home/u/mine', 0o400);
    throwsCode(() => b.openSync('/home/u/mine', O.RDWR), 'EACCES', 'open');
    b.uid = 2000; // same group, other user
    throwsCode(() => b.openSync('/home/u/mine', O.RDONLY), 'EACCES', 'open');
    b.uid = 1000;
    b.chmodSync('/home/u/mine', 0o040);
    throwsCode(() => b.openSync('/home/u/mine', O.RDONLY), 'EACCES', 'open');
    b.uid = 2000;
    assert.equal(get(b, '/home/u/mine'), 'm', 'the group bits apply to a group member');
  });

  test('search permission on every directory walked; write and search on the parent to change entries', () => {
    const b = asUser();
    throwsCode(() => b.statSync('/locked/inner'), 'EACCES', 'stat');
    throwsCode(() => b.readdirSync('/locked'), 'EACCES', 'scandir');
    throwsCode(() => b.openSync('/newfile', RW_CREAT), 'EACCES', 'open');
    throwsCode(
      () => {
        b.mkdirSync('/newdir');
      },
      'EACCES',
      'mkdir',
    );
    throwsCode(
      () => {
        b.unlinkSync('/public');
      },
      'EACCES',
      'unlink',
    );
    throwsCode(
      () => {
        b.renameSync('/public', '/home/u/p');
      },
      'EACCES',
      'rename',
    );
    throwsCode(
      () => {
        b.symlinkSync('x', '/l');
      },
      'EACCES',
      'symlink',
    );
    throwsCode(
      () => {
        b.linkSync('/public', '/p2');
      },
      'EACCES',
      'link',
    );
    b.linkSync('/public', '/home/u/p2');
    b.unlinkSync('/home/u/p2');
    b.mkdirSync('/home/u/sub', 0o700);
    b.chmodSync('/home/u/sub', 0o600); // no search
    throwsCode(() => b.openSync('/home/u/sub/f', RW_CREAT), 'EACCES', 'open');
  });

  test('only the owner may chmod, chown to its group or set times; nobody else may chown the owner', () => {
    const b = asUser();
    throwsCode(
      () => {
        b.chmodSync('/public', 0o777);
      },
      'EPERM',
      'chmod',
    );
    throwsCode(
      () => {
        b.utimesSync('/public', 1, 1);
      },
      'EPERM',
      'utime',
    );
    put(b, '/home/u/f', '');
    const fd = b.openSync('/home/u/f', O.RDONLY);
    throwsCode(
      () => {
        b.fchownSync(fd, 0, -1);
      },
      'EPERM',
      'fchown',
    );
    throwsCode(
      () => {
        b.fchownSync(fd, -1, 5);
      },
      'EPERM',
      'fchown',
    );
    b.fchownSync(fd, -1, 1000);
    b.fchmodSync(fd, 0o4755);
    b.closeSync(fd);
    const w = b.openSync('/home/u/f', O.WRONLY);
    b.writeSync(w, bytes('x'), 0, 1, null);
    assert.equal(b.fstatSync(w).mode & 0o7777, 0o755, 'a write by a non-root user clears set-user-id');
  });

  test('the sticky bit: only the owner of the file or directory removes an entry', () => {
    const b = new MemoryBackend();
    b.mkdirSync('/tmp', 0o777);
    b.chmodSync('/tmp', 0o1777);
    b.uid = 1000;
    put(b, '/tmp/a', 'a');
    b.uid = 2000;
    throwsCode(
      () => {
        b.unlinkSync('/tmp/a');
      },
      'EPERM',
      'unlink',
    );
    throwsCode(
      () => {
        b.renameSync('/tmp/a', '/tmp/b');
      },
      'EPERM',
      'rename',
    );
    b.uid = 1000;
    b.unlinkSync('/tmp/a');
  });

  test('root bypasses permission bits', () => {
    const b = asUser();
    b.uid = 0;
    assert.equal(get(b, '/rootfile'), 'secret');
    b.chmodSync('/rootfile', 0);
    put(b, '/rootfile', 'still');
    assert.equal(get(b, '/locked/inner'), 'in');
  });
});

describe('mounts', () => {
  test('a mounted file system: EXDEV for rename and link across, its own dev, EBUSY on the mount point', () => {
    const b = new MemoryBackend();
    b.mkdirSync('/mnt');
    put(b, '/f', 'F');
    const other = b.mount('/mnt');
    put(b, '/mnt/g', 'G');
    assert.deepEqual(other.readdirSync('/'), ['g'], 'the mounted backend sees what was written through the mount');
    assert.notEqual(b.statSync('/mnt').dev, b.statSync('/').dev);
    assert.equal(b.statSync('/mnt/g').dev, other.dev);
    const fd = b.openSync('/mnt/g', O.RDONLY);
    assert.equal(b.fstatSync(fd).dev, other.dev);
    throwsCode(
      () => {
        b.renameSync('/f', '/mnt/f');
      },
      'EXDEV',
      'rename',
    );
    throwsCode(
      () => {
        b.renameSync('/mnt/g', '/g');
      },
      'EXDEV',
      'rename',
    );
    throwsCode(
      () => {
        b.linkSync('/mnt/g', '/g');
      },
      'EXDEV',
      'link',
    );
    throwsCode(
      () => {
        b.rmdirSync('/mnt');
      },
      'EBUSY',
      'rmdir',
    );
    throwsCode(
      () => {
        b.renameSync('/mnt', '/mnt2');
      },
      'EBUSY',
      'rename',
    );
    b.renameSync('/mnt/g', '/mnt/h');
    assert.equal(b.statSync('/mnt/../f').ino, b.statSync('/f').ino, "'..' of the mounted root leads back to the host");
    throwsCode(() => {
      b.unmount('/mnt');
    }, 'EBUSY');
    b.closeSync(fd);
    b.unmount('/mnt');
    assert.deepEqual(b.readdirSync('/mnt'), []);
    throwsCode(() => {
      b.mount('/f');
    }, 'ENOTDIR');
    throwsCode(() => {
      b.mount('/');
    }, 'EBUSY');
  });

  test('mounting an existing backend shares its file system; it cannot be mounted inside itself', () => {
    const host = new MemoryBackend();
    const guest = new MemoryBackend({ capacity: 10 });
    host.mkdirSync('/data');
    put(guest, '/x', 'guest');
    host.mount('/data', guest);
    assert.equal(get(host, '/data/x'), 'guest');
    const fd = host.openSync('/data/x', O.WRONLY);
    throwsCode(() => host.writeSync(fd, Buffer.alloc(20), 0, 20, null), 'ENOSPC', 'write');
    guest.mkdirSync('/inner');
    throwsCode(() => {
      guest.mount('/inner', host);
    }, 'EINVAL');
    const third = new MemoryBackend();
    third.mkdirSync('/m');
    throwsCode(() => {
      third.mount('/m', guest);
    }, 'EBUSY');
  });
});

describe('pipes', () => {
  test('bytes flow in order; EAGAIN when empty with a writer; 0 at end of file; EPIPE without reader; ESPIPE', () => {
    const b = new MemoryBackend({ pipeCapacity: 8 });
    const [r, w] = b.pipeSync();
    assert.ok(b.fstatSync(r).isFIFO());
    assert.ok(b.fstatSync(w).isFIFO());
    throwsCode(() => readN(b, r, 4), 'EAGAIN', 'read');
    assert.equal(b.writeSync(w, bytes('abc'), 0, 3, null), 3);
    assert.equal(b.writeSync(w, bytes('defghijk'), 0, 8, null), 5, 'a partial write up to the capacity');
    throwsCode(() => b.writeSync(w, bytes('x'), 0, 1, null), 'EAGAIN', 'write');
    assert.equal(readN(b, r, 2), 'ab');
    assert.equal(readN(b, r, 10), 'cdefgh');
    throwsCode(() => b.writeSync(w, bytes('x'), 0, 1, 0), 'ESPIPE', 'write');
    throwsCode(() => b.readSync(r, Buffer.alloc(1), 0, 1, 0), 'ESPIPE', 'read');
    throwsCode(() => b.readSync(w, Buffer.alloc(1), 0, 1, null), 'EBADF', 'read');
    throwsCode(
      () => {
        b.fsyncSync(r);
      },
      'EINVAL',
      'fsync',
    );
    b.writeSync(w, bytes('z'), 0, 1, null);
    b.closeSync(w);
    assert.equal(readN(b, r, 4), 'z', 'what was written before the close is still read');
    assert.equal(readN(b, r, 4), '', 'then end of file');
    const [r2, w2] = b.pipeSync();
    b.closeSync(r2);
    throwsCode(() => b.writeSync(w2, bytes('x'), 0, 1, null), 'EPIPE', 'write');
  });

  test('a reopened pipe end is another writer: the reader sees end of file only when both close', () => {
    const b = new MemoryBackend();
    const [r, w] = b.pipeSync();
    const w2 = b.reopenSync(w, O.WRONLY);
    b.closeSync(w);
    throwsCode(() => readN(b, r, 1), 'EAGAIN');
    b.writeSync(w2, bytes('k'), 0, 1, null);
    b.closeSync(w2);
    assert.equal(readN(b, r, 2), 'k');
    assert.equal(readN(b, r, 2), '');
  });
});

describe('descriptor-table support', () => {
  test('reserveSync: lowest free number, same file, refuses I/O, keeps an unlinked file alive', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'data');
    const fd = b.openSync('/f', O.RDWR);
    b.openSync('/f', O.RDONLY); // 4
    b.closeSync(fd);
    const src = b.openSync('/f', O.RDWR); // 3 again
    const res = b.reserveSync(src);
    assert.equal(res, 5);
    assert.equal(b.fstatSync(res).ino, b.fstatSync(src).ino);
    throwsCode(() => b.readSync(res, Buffer.alloc(1), 0, 1, null), 'EBADF', 'read');
    throwsCode(() => b.writeSync(res, bytes('x'), 0, 1, null), 'EBADF', 'write');
    throwsCode(
      () => {
        b.ftruncateSync(res, 0);
      },
      'EBADF',
      'ftruncate',
    );
    throwsCode(
      () => {
        b.fsyncSync(res);
      },
      'EBADF',
      'fsync',
    );
    const ino = b.fstatSync(src).ino;
    b.unlinkSync('/f');
    b.closeSync(src);
    b.closeSync(4);
    assert.ok(b.state.inodes.has(ino), 'the reservation holds the inode');
    const again = b.reopenSync(res, O.RDONLY);
    assert.equal(readN(b, again, 4), 'data', 'reopen works on an unlinked file, even through a reservation');
    b.closeSync(res);
    b.closeSync(again);
    assert.equal(b.state.inodes.has(ino), false);
  });

  test('reserveAtSync claims exactly the target: EBUSY if held without replace, EBADF past maxOpen, replace closes the old', () => {
    const b = new MemoryBackend({ maxOpen: 64 });
    put(b, '/a', 'A');
    put(b, '/b', 'B');
    const a = b.openSync('/a', O.RDONLY);
    const other = b.openSync('/b', O.RDONLY);
    assert.equal(b.reserveAtSync(20, a, false), true);
    assert.equal(b.fstatSync(20).ino, b.fstatSync(a).ino);
    assert.equal(b.openSync('/a', O.RDONLY), 5, 'numbers below the target stay free');
    throwsCode(() => b.reserveAtSync(other, a, false), 'EBUSY', 'dup2');
    throwsCode(() => b.reserveAtSync(64, a, false), 'EBADF', 'dup2');
    throwsCode(() => b.reserveAtSync(-1, a, false), 'EBADF', 'dup2');
    throwsCode(() => b.reserveAtSync(1, a, true), 'EBUSY', 'dup2');
    const bIno = b.fstatSync(other).ino;
    assert.equal(b.reserveAtSync(other, a, true), true);
    assert.equal(b.fstatSync(other).ino, b.fstatSync(a).ino, 'the number now names a');
    assert.notEqual(b.fstatSync(other).ino, bIno);
    assert.deepEqual(b.descriptors(), [3, 4, 5, 20]);
  });

  test('reopenSync: an independent description with its own offset and flags; permissions are checked again', () => {
    const b = new MemoryBackend();
    put(b, '/f', 'abcdef');
    const fd = b.openSync('/f', O.RDONLY);
    assert.equal(readN(b, fd, 2), 'ab');
    const re = b.reopenSync(fd, O.RDWR | O.APPEND);
    assert.equal(readN(b, re, 2), 'ab', 'its own offset, starting at 0');
    assert.equal(readN(b, fd, 2), 'cd');
    b.writeSync(re, bytes('!'), 0, 1, null);
    assert.equal(get(b, '/f'), 'abcdef!');
    assert.deepEqual(b.fdInfoSync(re), { flags: O.RDWR | O.APPEND, offset: 7 });
    const d = b.openSync('/', O.RDONLY);
    throwsCode(() => b.reopenSync(d, O.WRONLY), 'EISDIR', 'reopen');
    b.chmodSync('/f', 0o444);
    b.uid = 1000;
    throwsCode(() => b.reopenSync(fd, O.RDWR), 'EACCES', 'reopen');
  });
});

describe('FileTable and open() on the memory backend', () => {
  test('dup shares the offset; dup2 redirects; every backend descriptor is closed at the end', () => {
    const b = new MemoryBackend();
    const table = new FileTable({ backend: b });
    put(b, '/f', '0123456789');
    const fd = table.openSync('/f', 'r');
    const dup = table.dup(fd);
    const buf = Buffer.alloc(3);
    table.readSync(fd, buf, 0, 3, null);
    assert.equal(buf.toString(), '012');
    table.readSync(dup, buf, 0, 3, null);
    assert.equal(buf.toString(), '345', 'the duplicate continues from the shared offset');
    const g = table.openSync('/g', 'w');
    table.dup2(fd, g);
    table.readSync(g, buf, 0, 3, null);
    assert.equal(buf.toString(), '678', "dup2 made g name f's description");
    table.closeSync(fd);
    table.closeSync(dup);
    table.closeSync(g);
    assert.deepEqual(b.descriptors(), [], 'no backend descriptor leaked');
  });

  test("open() 'ab+': writes append after a seek, reads happen at the seek position", async () => {
    const b = new MemoryBackend();
    const table = new FileTable({ backend: b });
    {
      using f = openSync('/log', 'w', { table });
      f.writeSync('first\n');
    }
    {
      using f = openSync('/log', 'ab+', { table });
      f.seekSync(0);
      assert.equal(f.readSync(5).toString(), 'first');
      f.seekSync(0);
      f.writeSync(Buffer.from('second\n'));
      f.flushSync();
      assert.equal(f.tell(), 13);
    }
    assert.equal(get(b, '/log'), 'first\nsecond\n');
    const t = await open('/log', 'r', { table });
    assert.deepEqual(await t.read(), 'first\nsecond\n');
    await t.close();
    await assert.rejects(open('/', 'w', { table }), (e: unknown) => e instanceof FsError && e.code === 'EISDIR');
    assert.deepEqual(b.descriptors(), []);
  });

  test('a pipe through the table and the io layer', () => {
    const b = new MemoryBackend();
    const table = new FileTable({ backend: b });
    const p = pipe({ table });
    p.writer.writeSync(Buffer.from('through'));
    p.writer.closeSync();
    const buf = Buffer.alloc(16);
    const n = p.reader.readintoSync(buf);
    assert.equal(buf.subarray(0, n).toString(), 'through');
    p.closeSync();
    assert.deepEqual(b.descriptors(), []);
  });
});

describe('crash model and helpers', () => {
  test('tree() lists every path with file contents, directories and symlinks, including mounts', () => {
    const b = new MemoryBackend();
    b.mkdirSync('/d');
    put(b, '/d/f', 'hello');
    b.symlinkSync('d/f', '/l');
    b.mkdirSync('/m');
    const m = b.mount('/m');
    put(m, '/inner', 'i');
    assert.deepEqual(b.tree(), {
      '/d': { kind: 'dir' },
      '/d/f': 'hello',
      '/l': { kind: 'symlink', target: 'd/f' },
      '/m': { kind: 'dir' },
      '/m/inner': 'i',
    });
    assert.deepEqual(b.tree({ mounts: false })['/m/inner'], undefined);
  });

  test('fromState serves an existing state, dropping orphans', () => {
    const b = new MemoryBackend({ crashModel: false });
    put(b, '/keep', 'k');
    put(b, '/orphan', 'o');
    const fd = b.openSync('/orphan', O.RDONLY);
    b.unlinkSync('/orphan');
    const state: FsState = b.state.clone();
    assert.equal(state.inodes.size, 3);
    const c = MemoryBackend.fromState(state, { crashModel: false });
    assert.equal(state.inodes.size, 2, 'the unlinked inode held only by an fd of the old backend is gone');
    assert.deepEqual(c.tree(), { '/keep': 'k' });
    assert.equal(c.bytesUsed, 1);
    b.closeSync(fd);
  });

  test('with crashModel: false the crash methods throw a clear error; syncAll still works', () => {
    const b = new MemoryBackend({ crashModel: false });
    assert.throws(() => b.crash(), /crash model is off/);
    assert.throws(() => b.crashStates(), /crash model is off/);
    assert.throws(() => b.journalLength, /crash model is off/);
    b.syncAll();
  });

  test('crash() after fsync keeps the synced file (when the crash model is implemented)', (t) => {
    const b = new MemoryBackend({ dev: 77, crashModel: true });
    const fd = b.openSync('/durable', RW_CREAT);
    b.writeSync(fd, bytes('safe'), 0, 4, null);
    b.fsyncSync(fd);
    const dirFd = b.openSync('/', O.RDONLY);
    b.fsyncSync(dirFd);
    let after: MemoryBackend;
    try {
      after = b.crash();
    } catch (e) {
      if (e instanceof Error && /not implemented/.test(e.message)) {
        t.skip('CrashJournal is not implemented yet');
        return;
      }
      throw e;
    }
    assert.deepEqual(after.tree(), { '/durable': 'safe' });
    assert.deepEqual(after.descriptors(), []);
    assert.equal(after.dev, 77, 'the same options, device number included');
  });
});

describe('promise forms derived from the sync ones (issue 13.2)', () => {
  const failing = failingTwinArgs();

  test('every twinned method fails the same way in both forms, the promise one rejecting rather than throwing', async () => {
    assert.deepEqual(new Set(Object.keys(failing)), new Set(TWIN_METHODS), 'the table covers every twin');
    const b = new MemoryBackend();
    const calls = b as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of TWIN_METHODS) {
      const args = failing[name];
      const syncError = throwsCode(
        () => calls[`${name}Sync`]!(...args),
        typeof args[0] === 'number' ? 'EBADF' : 'ENOENT',
      );
      let p: unknown;
      assert.doesNotThrow(() => (p = calls[name]!(...args)), `${name}() threw synchronously`);
      assert.ok(p instanceof Promise, `${name}() returns a promise`);
      const asyncError: unknown = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(asyncError instanceof FsError, `${name}() rejects with an FsError`);
      assert.deepEqual(
        [asyncError.code, asyncError.syscall, asyncError.path, asyncError.fd, asyncError.dest],
        [syncError.code, syncError.syscall, syncError.path, syncError.fd, syncError.dest],
        name,
      );
    }
  });

  test("a promise form makes its change before it returns, with the sync form's result", async () => {
    const b = new MemoryBackend();
    const p = b.open('/a', O.RDWR | O.CREAT);
    assert.deepEqual(b.descriptors(), [3], 'the open happened at the call, not at a later tick');
    const fd = await p;
    assert.equal(fd, 3);
    assert.equal(await b.write(fd, bytes('hello'), 0, 5, null), 5);
    assert.equal((await b.fstat(fd)).size, 5);
    assert.deepEqual(await b.readdir('/'), ['a']);
    await b.close(fd);
    assert.deepEqual(b.descriptors(), []);
  });
});
