/**
 * Named POSIX scenarios: each runs a short sequence of syscalls through a {@link Backend} inside `root`
 * (an existing, empty directory) and returns a plain, JSON-able observation of what happened: return
 * values, error codes with their syscall, file contents, sizes, link counts, permission bits, kinds,
 * sorted directory listings.
 *
 * The same scenario run on the real OS ({@link OsBackend}) and on the in-memory backend must give
 * deepStrictEqual observations, so an observation never holds anything that legitimately differs between
 * the two: no absolute descriptor numbers (the OS process has other descriptors open; only relations
 * such as "the reused number equals the first one"), no timestamps (only orderings, except where a
 * scenario set the time itself), no absolute paths (they are rewritten relative to `root`), no
 * directory sizes, no inode numbers (only "same inode as").
 *
 * Scenarios run with the umask their `umask` field names (0o022 by default) and with the process's
 * uid/gid; a harness gives the memory backend the same values.
 */
import type { Backend, FileStat } from '../../src/backend/backend.js';
import { O } from '../../src/backend/flags.js';

/** A JSON-able value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** What a scenario returns. */
export type Observation = Record<string, Json>;

/** One named scenario. */
export interface Scenario {
  /** A unique, descriptive name (it names the test). */
  readonly name: string;
  /** The umask the scenario runs under (default {@link DEFAULT_UMASK}). */
  readonly umask?: number;
  /**
   * The scenario's observation depends on permission checks that root bypasses (EACCES): as root, the
   * OS side cannot show the behaviour, so a harness running as root skips the comparison.
   */
  readonly needsNonRoot?: boolean;
  /** Runs the syscalls under `root` and reports what happened. */
  readonly run: (b: Backend, root: string) => Observation | Promise<Observation>;
}

/** The umask a scenario runs under unless it names another. */
export const DEFAULT_UMASK = 0o022;

// ------------------------------------------------------------------ helpers

/** An error as an observation: its code and syscall for a system error, its class name otherwise. */
export function describeError(e: unknown): Json {
  if (e instanceof Error) {
    const { code, syscall } = e as Error & { code?: unknown; syscall?: unknown };
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code))
      return { error: code, syscall: typeof syscall === 'string' ? syscall : null };
    return { threw: e.name, code: typeof code === 'string' ? code : null };
  }
  return { threw: typeof e };
}

/** Runs a call made for its effect: `'ok'`, or the error it threw. */
export function act(fn: () => unknown): Json {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return describeError(e);
  }
}

/** Runs a call for its value: `{ ok: value }`, or the error it threw. */
export function get(fn: () => Json): Json {
  try {
    return { ok: fn() };
  } catch (e) {
    return describeError(e);
  }
}

/** Promise form of {@link act}. */
export async function actAsync(fn: () => Promise<unknown>): Promise<Json> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    return describeError(e);
  }
}

/** Promise form of {@link get}. */
export async function getAsync(fn: () => Promise<Json>): Promise<Json> {
  try {
    return { ok: await fn() };
  } catch (e) {
    return describeError(e);
  }
}

/**
 * `b` with some members replaced: every other member is `b`'s own, called on `b` (so a backend with
 * private state works through the wrapper).
 */
export function overriding(b: Backend, overrides: Partial<Backend>): Backend {
  return new Proxy(b, {
    get(target, prop): unknown {
      if (Object.prototype.hasOwnProperty.call(overrides, prop))
        return (overrides as Record<string | symbol, unknown>)[prop];
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The kind of file a stat describes. */
export function kindOf(st: FileStat): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  return 'unknown';
}

/** The comparable part of a stat: kind, permission bits, link count, and size (not for directories). */
export function statView(st: FileStat): Json {
  const view: Record<string, Json> = { kind: kindOf(st), perm: st.mode & 0o7777, nlink: st.nlink };
  if (!st.isDirectory()) view['size'] = st.size;
  return view;
}

const latin1 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/** A scenario's toolkit: paths under the root and short forms of the common calls. */
class Fx {
  constructor(
    readonly b: Backend,
    readonly root: string,
  ) {}

  /** The absolute path of `rel` under the root (`''` is the root itself). */
  p(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }
  /** `s` with the root replaced by `<root>`, for absolute paths in observations. */
  rel(s: string): string {
    return s.startsWith(this.root) ? `<root>${s.slice(this.root.length)}` : s;
  }
  open(rel: string, flags: number, mode?: number): number {
    return mode === undefined ? this.b.openSync(this.p(rel), flags) : this.b.openSync(this.p(rel), flags, mode);
  }
  /** Creates (or replaces) a file holding `text`. */
  put(rel: string, text: string, mode?: number): void {
    const fd = this.open(rel, O.WRONLY | O.CREAT | O.TRUNC, mode);
    try {
      this.write(fd, text);
    } finally {
      this.b.closeSync(fd);
    }
  }
  /** The whole content of a file, read through a fresh descriptor. */
  cat(rel: string): string {
    const fd = this.open(rel, O.RDONLY);
    try {
      return this.readAll(fd);
    } finally {
      this.b.closeSync(fd);
    }
  }
  /** {@link Fx.cat}, or the error. */
  tryCat(rel: string): Json {
    return get(() => this.cat(rel));
  }
  /** Reads from the current offset (or `position`) to end of file. */
  readAll(fd: number, position: number | null = null): string {
    let out = '';
    let pos = position;
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = this.b.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return out;
      out += latin1(buf.subarray(0, n));
      if (pos !== null) pos += n;
    }
  }
  /** One read of up to `n` bytes, as latin1 text. */
  read(fd: number, n: number, position: number | null = null): string {
    const buf = new Uint8Array(n);
    const got = this.b.readSync(fd, buf, 0, n, position);
    return latin1(buf.subarray(0, got));
  }
  /** {@link Fx.read}, or the error. */
  tryRead(fd: number, n: number, position: number | null = null): Json {
    return get(() => this.read(fd, n, position));
  }
  /** One write of `text` (latin1); returns the count written. */
  write(fd: number, text: string, position: number | null = null): number {
    const bytes = Buffer.from(text, 'latin1');
    return this.b.writeSync(fd, bytes, 0, bytes.length, position);
  }
  /** {@link Fx.write}, or the error. */
  tryWrite(fd: number, text: string, position: number | null = null): Json {
    return get(() => this.write(fd, text, position));
  }
  stat(rel: string): Json {
    return get(() => statView(this.b.statSync(this.p(rel))));
  }
  lstat(rel: string): Json {
    return get(() => statView(this.b.lstatSync(this.p(rel))));
  }
  fstat(fd: number): Json {
    return get(() => statView(this.b.fstatSync(fd)));
  }
  /** The sorted listing of a directory, or the error. */
  ls(rel = ''): Json {
    return get(() => [...this.b.readdirSync(this.p(rel))].sort());
  }
  /** The inode number of a path (for "same inode as" comparisons only). */
  ino(rel: string): number {
    return this.b.statSync(this.p(rel)).ino;
  }
  /** A descriptor's offset as the backend reports it, or null if unknown. */
  offset(fd: number): Json {
    return this.b.fdInfoSync(fd).offset ?? null;
  }
}

const fx = (b: Backend, root: string): Fx => new Fx(b, root);

// ------------------------------------------------------------------ the scenarios

const scenarios: Scenario[] = [];

/** Registers a scenario. */
function scenario(
  name: string,
  run: (x: Fx) => Observation | Promise<Observation>,
  options: { umask?: number; needsNonRoot?: boolean } = {},
): void {
  scenarios.push({ name, ...options, run: (b, root) => run(fx(b, root)) });
}

// ---- open files that lose their names

scenario('unlink while open: fd still reads, writes and fstats (nlink 0)', (x) => {
  x.put('f', 'hello');
  const fd = x.open('f', O.RDWR);
  x.b.unlinkSync(x.p('f'));
  const afterUnlink = x.fstat(fd);
  const read = x.read(fd, 100);
  const wrote = x.write(fd, ' world');
  const afterWrite = x.fstat(fd);
  const whole = x.readAll(fd, 0);
  const pathStat = x.stat('f');
  const listing = x.ls();
  x.b.closeSync(fd);
  return { afterUnlink, read, wrote, afterWrite, whole, pathStat, listing, listingAfterClose: x.ls() };
});

scenario('fstat of an unlinked open file; fchmod and ftruncate still work on it', (x) => {
  const fd = x.open('f', O.RDWR | O.CREAT, 0o640);
  x.write(fd, 'abcdef');
  const before = x.fstat(fd);
  x.b.unlinkSync(x.p('f'));
  const after = x.fstat(fd);
  const chmod = act(() => {
    x.b.fchmodSync(fd, 0o600);
  });
  const truncate = act(() => {
    x.b.ftruncateSync(fd, 2);
  });
  const final = x.fstat(fd);
  const content = x.readAll(fd, 0);
  x.b.closeSync(fd);
  return { before, after, chmod, truncate, final, content };
});

scenario('rename over a path while an fd is open on the old file', (x) => {
  x.put('a', 'old content');
  x.put('b', 'new');
  const oldIno = x.ino('a');
  const newIno = x.ino('b');
  const fd = x.open('a', O.RDONLY);
  const rename = act(() => {
    x.b.renameSync(x.p('b'), x.p('a'));
  });
  const viaFd = x.readAll(fd);
  const viaPath = x.cat('a');
  const fdStat = x.fstat(fd);
  const fdStillOldInode = x.b.fstatSync(fd).ino === oldIno;
  const pathIsNewInode = x.ino('a') === newIno;
  x.b.closeSync(fd);
  return { rename, viaFd, viaPath, fdStat, fdStillOldInode, pathIsNewInode, listing: x.ls() };
});

// ---- offsets

scenario('two separately opened fds have independent offsets', (x) => {
  x.put('f', 'abcdefgh');
  const fd1 = x.open('f', O.RDWR);
  const fd2 = x.open('f', O.RDWR);
  const r1 = x.read(fd1, 2);
  const r2 = x.read(fd2, 3);
  const r1b = x.read(fd1, 2);
  // Each writes at its own offset: fd1 at 4, fd2 at 3.
  const w1 = x.write(fd1, 'XY');
  const w2 = x.write(fd2, 'Z');
  const offsets = [x.offset(fd1), x.offset(fd2)];
  x.b.closeSync(fd1);
  x.b.closeSync(fd2);
  return { r1, r2, r1b, w1, w2, offsets, content: x.cat('f') };
});

scenario('pread/pwrite do not move the offset', (x) => {
  x.put('f', '0123456789');
  const fd = x.open('f', O.RDWR);
  const first = x.read(fd, 2);
  const pread = x.read(fd, 3, 6);
  const pwrite = x.write(fd, 'AB', 0);
  const offset = x.offset(fd);
  const next = x.read(fd, 3);
  const write = x.write(fd, 'w');
  const after = x.offset(fd);
  x.b.closeSync(fd);
  return { first, pread, pwrite, offset, next, write, after, content: x.cat('f') };
});

scenario('O_APPEND: writes land at the end even after a positioned read', (x) => {
  x.put('f', '0123456789');
  const fd = x.open('f', O.RDWR | O.APPEND);
  const initialOffset = x.offset(fd);
  const read = x.read(fd, 4);
  const offsetAfterRead = x.offset(fd);
  const pread = x.read(fd, 2, 1);
  const wrote = x.write(fd, 'XY');
  const offsetAfterWrite = x.offset(fd);
  const readAfterWrite = x.read(fd, 10);
  // Another descriptor grows the file; the appending write still goes to the (new) end.
  const other = x.open('f', O.WRONLY);
  x.write(other, 'abcdefghijklmnop', 0);
  x.b.closeSync(other);
  x.write(fd, '!');
  x.b.closeSync(fd);
  return { initialOffset, read, offsetAfterRead, pread, wrote, offsetAfterWrite, readAfterWrite, content: x.cat('f') };
});

scenario('pwrite on an O_APPEND fd appends (Linux)', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.WRONLY | O.APPEND);
  const wrote = x.write(fd, 'Z', 0);
  const offset = x.offset(fd);
  x.b.closeSync(fd);
  return { wrote, offset, content: x.cat('f') };
});

scenario("'a+' reads from offset 0, writes append, and reads continue from the end", (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.RDWR | O.APPEND | O.CREAT);
  const firstRead = x.read(fd, 10);
  const wrote = x.write(fd, 'de');
  const readAfterWrite = x.read(fd, 10);
  const pread = x.read(fd, 10, 0);
  x.b.closeSync(fd);
  // A fresh a+ descriptor that writes first: its offset moves to the end, so a plain read finds nothing.
  const fd2 = x.open('f', O.RDWR | O.APPEND | O.CREAT);
  x.write(fd2, 'f');
  const readAfterFirstWrite = x.read(fd2, 10);
  const fromZero = x.readAll(fd2, 0);
  x.b.closeSync(fd2);
  // On a new file.
  const fd3 = x.open('g', O.RDWR | O.APPEND | O.CREAT);
  x.write(fd3, 'hello');
  const newFile = x.readAll(fd3, 0);
  x.b.closeSync(fd3);
  return { firstRead, wrote, readAfterWrite, pread, readAfterFirstWrite, fromZero, newFile };
});

// ---- O_EXCL, O_TRUNC, O_CREAT

scenario('O_EXCL|O_CREAT on an existing file is EEXIST; O_EXCL without O_CREAT opens it', (x) => {
  x.put('f', 'keep');
  const excl = get(() => x.open('f', O.WRONLY | O.CREAT | O.EXCL) >= 0);
  const exclTrunc = get(() => x.open('f', O.RDWR | O.CREAT | O.EXCL | O.TRUNC) >= 0);
  const fd = x.open('f', O.RDONLY | O.EXCL);
  const exclWithoutCreat = x.read(fd, 10);
  x.b.closeSync(fd);
  x.b.mkdirSync(x.p('d'));
  const exclOnDir = get(() => x.open('d', O.RDONLY | O.CREAT | O.EXCL) >= 0);
  const fresh = x.open('new', O.RDWR | O.CREAT | O.EXCL, 0o600);
  x.b.closeSync(fresh);
  return { excl, exclTrunc, exclWithoutCreat, exclOnDir, content: x.cat('f'), newStat: x.stat('new'), listing: x.ls() };
});

scenario('O_EXCL|O_CREAT on a dangling symlink is EEXIST; O_CREAT alone creates the target', (x) => {
  x.b.symlinkSync('target', x.p('dangling'));
  const excl = get(() => x.open('dangling', O.WRONLY | O.CREAT | O.EXCL) >= 0);
  const listingAfterExcl = x.ls();
  const fd = x.open('dangling', O.WRONLY | O.CREAT, 0o600);
  x.write(fd, 'through the link');
  x.b.closeSync(fd);
  return {
    excl,
    listingAfterExcl,
    listing: x.ls(),
    target: x.cat('target'),
    targetStat: x.lstat('target'),
    link: x.lstat('dangling'),
  };
});

scenario('O_TRUNC empties the file, also with O_RDONLY (Linux), and other fds see it', (x) => {
  x.put('f', 'hello world');
  const reader = x.open('f', O.RDONLY);
  const before = x.read(reader, 6);
  const fd = x.open('f', O.WRONLY | O.TRUNC);
  const sizeAfterTrunc = x.fstat(fd);
  const readerAfter = x.read(reader, 10);
  x.write(fd, 'xy');
  x.b.closeSync(fd);
  const readerSees = x.readAll(reader, 0);
  x.b.closeSync(reader);
  const ro = x.open('f', O.RDONLY | O.TRUNC);
  const rdonlyTrunc = x.fstat(ro);
  x.b.closeSync(ro);
  const missing = get(() => x.open('missing', O.WRONLY | O.TRUNC) >= 0);
  return { before, sizeAfterTrunc, readerAfter, readerSees, rdonlyTrunc, missing };
});

scenario('O_CREAT on an existing file keeps its mode and content; in a missing directory is ENOENT', (x) => {
  x.put('f', 'data', 0o600);
  const fd = x.open('f', O.RDWR | O.CREAT, 0o777);
  const st = x.fstat(fd);
  x.b.closeSync(fd);
  const missingDir = get(() => x.open('nodir/f', O.WRONLY | O.CREAT) >= 0);
  const noCreat = get(() => x.open('nofile', O.RDONLY) >= 0);
  return { st, content: x.cat('f'), missingDir, noCreat, listing: x.ls() };
});

// ---- sizes, truncation, holes

scenario('ftruncate grow and shrink, then read; the offset stays where it was', (x) => {
  const fd = x.open('f', O.RDWR | O.CREAT);
  x.write(fd, 'abcdef');
  const shrink = act(() => {
    x.b.ftruncateSync(fd, 3);
  });
  const afterShrink = x.fstat(fd);
  const readAtOldOffset = x.read(fd, 10);
  const grow = act(() => {
    x.b.ftruncateSync(fd, 8);
  });
  const afterGrow = x.fstat(fd);
  const grown = x.readAll(fd, 0);
  const offset = x.offset(fd);
  const writeAtOffset = x.write(fd, 'Z');
  const final = x.readAll(fd, 0);
  const zero = act(() => {
    x.b.ftruncateSync(fd, 0);
  });
  const empty = x.fstat(fd);
  x.b.closeSync(fd);
  return { shrink, afterShrink, readAtOldOffset, grow, afterGrow, grown, offset, writeAtOffset, final, zero, empty };
});

scenario('holes read as zeros (small gap and one past 64 KiB)', (x) => {
  const fd = x.open('f', O.RDWR | O.CREAT);
  x.write(fd, 'X', 70_000);
  const size = x.fstat(fd);
  const head = x.read(fd, 8, 0);
  const tail = x.read(fd, 4, 69_998);
  const middle = x.read(fd, 3, 65_535);
  const all = x.readAll(fd, 0);
  const allZeroExceptLast = all.length === 70_001 && /^\0*X$/.test(all);
  x.b.closeSync(fd);
  return { size, head, tail, middle, allZeroExceptLast };
});

scenario('write past EOF with pwrite, then read the gap', (x) => {
  const fd = x.open('f', O.RDWR | O.CREAT);
  x.write(fd, 'ab');
  const pwrite = x.write(fd, 'Z', 6);
  const size = x.fstat(fd);
  const gap = x.read(fd, 10);
  const all = x.readAll(fd, 0);
  const readAtEof = x.read(fd, 5, 7);
  const readFarPastEof = x.read(fd, 5, 1000);
  x.b.closeSync(fd);
  return { pwrite, size, gap, all, readAtEof, readFarPastEof };
});

scenario('zero-length reads and writes return 0 and change nothing', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.RDWR);
  const read0 = x.tryRead(fd, 0);
  const write0 = x.tryWrite(fd, '');
  const pwrite0Far = x.tryWrite(fd, '', 100);
  const st = x.fstat(fd);
  const offset = x.offset(fd);
  x.b.closeSync(fd);
  return { read0, write0, pwrite0Far, st, offset };
});

// ---- links

scenario('nlink after link and unlink; hard links share data', (x) => {
  x.put('f', 'one');
  const n1 = x.stat('f');
  x.b.linkSync(x.p('f'), x.p('g'));
  const n2 = x.stat('f');
  x.b.mkdirSync(x.p('d'));
  x.b.linkSync(x.p('f'), x.p('d/h'));
  const n3 = x.stat('g');
  const sameInode = x.ino('f') === x.ino('g') && x.ino('g') === x.ino('d/h');
  x.b.unlinkSync(x.p('f'));
  const afterUnlink = x.stat('g');
  const fd = x.open('g', O.WRONLY | O.APPEND);
  x.write(fd, '+two');
  x.b.closeSync(fd);
  const viaH = x.cat('d/h');
  const exists = act(() => {
    x.b.linkSync(x.p('g'), x.p('d/h'));
  });
  const missing = act(() => {
    x.b.linkSync(x.p('nope'), x.p('z'));
  });
  const intoMissingDir = act(() => {
    x.b.linkSync(x.p('g'), x.p('nodir/z'));
  });
  return { n1, n2, n3, sameInode, afterUnlink, viaH, exists, missing, intoMissingDir, listing: x.ls() };
});

scenario('link to a directory is EPERM', (x) => {
  x.b.mkdirSync(x.p('d'));
  const link = act(() => {
    x.b.linkSync(x.p('d'), x.p('d2'));
  });
  return { link, listing: x.ls(), d: x.stat('d') };
});

scenario('link to a symlink links the symlink itself (link(2) does not follow)', (x) => {
  x.put('f', 'target');
  x.b.symlinkSync('f', x.p('s'));
  const link = act(() => {
    x.b.linkSync(x.p('s'), x.p('s2'));
  });
  return {
    link,
    s2: x.lstat('s2'),
    s: x.lstat('s'),
    f: x.stat('f'),
    readlink: get(() => x.b.readlinkSync(x.p('s2'))),
    content: x.cat('s2'),
  };
});

scenario('directory nlink counts subdirectories', (x) => {
  const rootBefore = x.stat('');
  x.b.mkdirSync(x.p('d'));
  const empty = x.stat('d');
  x.b.mkdirSync(x.p('d/a'));
  x.b.mkdirSync(x.p('d/b'));
  x.put('d/f', 'file');
  x.b.symlinkSync('a', x.p('d/s'));
  const twoSubdirs = x.stat('d');
  x.b.rmdirSync(x.p('d/a'));
  const oneSubdir = x.stat('d');
  x.b.renameSync(x.p('d/b'), x.p('b'));
  const movedOut = x.stat('d');
  const rootAfter = x.stat('');
  const sub = x.stat('b');
  return { rootBefore, empty, twoSubdirs, oneSubdir, movedOut, rootAfter, sub };
});

// ---- descriptors

scenario('double close is EBADF', (x) => {
  const fd = x.open('f', O.WRONLY | O.CREAT);
  const first = act(() => {
    x.b.closeSync(fd);
  });
  const second = act(() => {
    x.b.closeSync(fd);
  });
  return { first, second };
});

scenario('calls on a closed fd are EBADF', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.RDWR);
  x.b.closeSync(fd);
  return {
    read: x.tryRead(fd, 3),
    pread: x.tryRead(fd, 3, 0),
    write: x.tryWrite(fd, 'z'),
    fstat: x.fstat(fd),
    ftruncate: act(() => {
      x.b.ftruncateSync(fd, 0);
    }),
    fsync: act(() => {
      x.b.fsyncSync(fd);
    }),
    fdatasync: act(() => {
      x.b.fdatasyncSync(fd);
    }),
    fchmod: act(() => {
      x.b.fchmodSync(fd, 0o600);
    }),
    content: x.cat('f'),
  };
});

scenario('open returns the lowest free fd, reusing closed numbers', (x) => {
  const a = x.open('a', O.WRONLY | O.CREAT);
  const b = x.open('b', O.WRONLY | O.CREAT);
  const c = x.open('c', O.WRONLY | O.CREAT);
  const ascending = a < b && b < c;
  x.b.closeSync(b);
  const d = x.open('d', O.WRONLY | O.CREAT);
  x.b.closeSync(a);
  const e = x.open('a', O.RDONLY);
  const f = x.open('b', O.RDONLY);
  const result = {
    ascending,
    dReusesB: d === b,
    eReusesA: e === a,
    fIsNewAboveC: f > c,
    distinct: new Set([c, d, e, f]).size === 4,
  };
  for (const n of [c, d, e, f]) x.b.closeSync(n);
  return result;
});

// ---- wrong kinds of file

scenario('EISDIR: open a directory for writing, read a directory fd', (x) => {
  x.b.mkdirSync(x.p('d'));
  const wronly = get(() => x.open('d', O.WRONLY) >= 0);
  const rdwr = get(() => x.open('d', O.RDWR) >= 0);
  const creat = get(() => x.open('d', O.RDONLY | O.CREAT) >= 0);
  const trunc = get(() => x.open('d', O.WRONLY | O.TRUNC) >= 0);
  const fd = x.open('d', O.RDONLY);
  const read = x.tryRead(fd, 10);
  const pread = x.tryRead(fd, 10, 0);
  const write = x.tryWrite(fd, 'x');
  const fstat = x.fstat(fd);
  const ftruncate = act(() => {
    x.b.ftruncateSync(fd, 0);
  });
  x.b.closeSync(fd);
  return { wronly, rdwr, creat, trunc, read, pread, write, fstat, ftruncate };
});

scenario('ENOTDIR: a path through a file', (x) => {
  x.put('f', 'x');
  return {
    open: get(() => x.open('f/x', O.RDONLY) >= 0),
    create: get(() => x.open('f/x', O.WRONLY | O.CREAT) >= 0),
    stat: x.stat('f/x'),
    lstat: x.lstat('f/x'),
    mkdir: act(() => {
      x.b.mkdirSync(x.p('f/x'));
    }),
    unlink: act(() => {
      x.b.unlinkSync(x.p('f/x'));
    }),
    readdir: x.ls('f'),
    rmdir: act(() => {
      x.b.rmdirSync(x.p('f'));
    }),
    listing: x.ls(),
  };
});

scenario('ENOTDIR: a trailing slash on a file; EISDIR when creating with one', (x) => {
  x.put('f', 'x');
  return {
    open: get(() => x.open('f/', O.RDONLY) >= 0),
    stat: x.stat('f/'),
    lstat: x.lstat('f/'),
    unlink: act(() => {
      x.b.unlinkSync(x.p('f/'));
    }),
    renameFrom: act(() => {
      x.b.renameSync(x.p('f/'), x.p('g'));
    }),
    renameToMissing: act(() => {
      x.b.renameSync(x.p('f'), x.p('g/'));
    }),
    createExisting: get(() => x.open('f/', O.WRONLY | O.CREAT) >= 0),
    createMissing: get(() => x.open('n/', O.WRONLY | O.CREAT) >= 0),
    createExclMissing: get(() => x.open('n/', O.WRONLY | O.CREAT | O.EXCL) >= 0),
    createExclOnDir: get(() => {
      x.b.mkdirSync(x.p('d'));
      return x.open('d/', O.RDONLY | O.CREAT | O.EXCL) >= 0;
    }),
    createOnDir: get(() => x.open('d/', O.RDONLY | O.CREAT) >= 0),
    listing: x.ls(),
  };
});

scenario('O_DIRECTORY: ENOTDIR on a file, fine on a directory and a symlink to one', (x) => {
  x.put('f', 'x');
  x.b.mkdirSync(x.p('d'));
  x.b.symlinkSync('d', x.p('sd'));
  x.b.symlinkSync('f', x.p('sf'));
  const onFile = get(() => x.open('f', O.RDONLY | O.DIRECTORY) >= 0);
  const onFileLink = get(() => x.open('sf', O.RDONLY | O.DIRECTORY) >= 0);
  const onMissing = get(() => x.open('missing', O.RDONLY | O.DIRECTORY) >= 0);
  const fd = x.open('d', O.RDONLY | O.DIRECTORY);
  const dirStat = x.fstat(fd);
  x.b.closeSync(fd);
  const fd2 = x.open('sd', O.RDONLY | O.DIRECTORY);
  const viaLink = x.fstat(fd2);
  x.b.closeSync(fd2);
  const withSlash = get(() => {
    const n = x.open('d/', O.RDONLY | O.DIRECTORY);
    x.b.closeSync(n);
    return true;
  });
  return { onFile, onFileLink, onMissing, dirStat, viaLink, withSlash };
});

scenario('rmdir on a file is ENOTDIR; rmdir of a missing dir, of "." and ".."', (x) => {
  x.put('f', 'x');
  x.b.mkdirSync(x.p('d'));
  x.b.mkdirSync(x.p('e'));
  x.b.symlinkSync('e', x.p('se'));
  return {
    file: act(() => {
      x.b.rmdirSync(x.p('f'));
    }),
    missing: act(() => {
      x.b.rmdirSync(x.p('missing'));
    }),
    dot: act(() => {
      x.b.rmdirSync(x.p('d/.'));
    }),
    dotdot: act(() => {
      x.b.rmdirSync(x.p('d/..'));
    }),
    symlinkToDir: act(() => {
      x.b.rmdirSync(x.p('se'));
    }),
    symlinkToDirSlash: act(() => {
      x.b.rmdirSync(x.p('se/'));
    }),
    trailingSlash: act(() => {
      x.b.rmdirSync(x.p('d/'));
    }),
    listing: x.ls(),
  };
});

scenario('unlink on a directory (EISDIR on Linux); unlink of a symlink to a directory', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('d/f', 'x');
  x.b.symlinkSync('d', x.p('sd'));
  return {
    dir: act(() => {
      x.b.unlinkSync(x.p('d'));
    }),
    dirSlash: act(() => {
      x.b.unlinkSync(x.p('d/'));
    }),
    symlinkSlash: act(() => {
      x.b.unlinkSync(x.p('sd/'));
    }),
    symlink: act(() => {
      x.b.unlinkSync(x.p('sd'));
    }),
    missing: act(() => {
      x.b.unlinkSync(x.p('missing'));
    }),
    listing: x.ls(),
    inside: x.ls('d'),
  };
});

// ---- directories

scenario('ENOTEMPTY: rmdir of a non-empty directory', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('d/f', 'x');
  x.b.mkdirSync(x.p('e'));
  x.b.mkdirSync(x.p('e/sub'));
  const withFile = act(() => {
    x.b.rmdirSync(x.p('d'));
  });
  const withSubdir = act(() => {
    x.b.rmdirSync(x.p('e'));
  });
  x.b.unlinkSync(x.p('d/f'));
  const emptied = act(() => {
    x.b.rmdirSync(x.p('d'));
  });
  return { withFile, withSubdir, emptied, listing: x.ls() };
});

scenario('mkdir on an existing name is EEXIST; with a missing parent ENOENT', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('f', 'x');
  x.b.symlinkSync('nowhere', x.p('dangling'));
  return {
    dir: act(() => {
      x.b.mkdirSync(x.p('d'));
    }),
    file: act(() => {
      x.b.mkdirSync(x.p('f'));
    }),
    danglingSymlink: act(() => {
      x.b.mkdirSync(x.p('dangling'));
    }),
    missingParent: act(() => {
      x.b.mkdirSync(x.p('no/such'));
    }),
    trailingSlash: act(() => {
      x.b.mkdirSync(x.p('e/'));
    }),
    listing: x.ls(),
    nowhere: x.lstat('nowhere'),
  };
});

scenario('readdir: sorted listing, missing dir ENOENT, file ENOTDIR, through a symlink', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('d/b', '');
  x.put('d/a', '');
  x.b.mkdirSync(x.p('d/c'));
  x.b.symlinkSync('a', x.p('d/l'));
  x.b.symlinkSync('d', x.p('sd'));
  const full = x.ls('d');
  x.b.unlinkSync(x.p('d/b'));
  return {
    full,
    afterUnlink: x.ls('d'),
    viaSymlink: x.ls('sd'),
    emptySub: x.ls('d/c'),
    missing: x.ls('missing'),
    file: x.ls('d/a'),
    root: x.ls(),
  };
});

scenario('"." and ".." in paths; ".." after a symlink is the physical parent', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.b.mkdirSync(x.p('d/sub'));
  x.put('d/f', 'in d');
  x.put('top', 'top');
  x.b.symlinkSync('d/sub', x.p('link'));
  return {
    dot: x.tryCat('d/./f'),
    dotdot: x.tryCat('d/sub/../f'),
    dotdotTop: x.tryCat('d/../top'),
    throughLink: x.tryCat('link/../f'),
    doubleSlash: x.tryCat('d//f'),
    dirDot: x.stat('d/.'),
  };
});

// ---- rename

scenario('rename a file over a file', (x) => {
  x.put('a', 'A');
  x.put('b', 'B');
  const aIno = x.ino('a');
  const rename = act(() => {
    x.b.renameSync(x.p('a'), x.p('b'));
  });
  return {
    rename,
    listing: x.ls(),
    content: x.cat('b'),
    keepsInode: x.ino('b') === aIno,
    missing: act(() => {
      x.b.renameSync(x.p('a'), x.p('c'));
    }),
  };
});

scenario('rename a directory over an empty directory; over a non-empty one is ENOTEMPTY', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('d/f', 'x');
  x.b.mkdirSync(x.p('empty'));
  x.b.mkdirSync(x.p('full'));
  x.put('full/g', 'y');
  const overFull = act(() => {
    x.b.renameSync(x.p('d'), x.p('full'));
  });
  const dIno = x.ino('d');
  const overEmpty = act(() => {
    x.b.renameSync(x.p('d'), x.p('empty'));
  });
  return {
    overFull,
    overEmpty,
    keepsInode: x.ino('empty') === dIno,
    listing: x.ls(),
    moved: x.ls('empty'),
    full: x.ls('full'),
    root: x.stat(''),
  };
});

scenario('rename a file over a directory is EISDIR; a directory over a file ENOTDIR', (x) => {
  x.put('f', 'x');
  x.b.mkdirSync(x.p('d'));
  x.b.mkdirSync(x.p('e'));
  return {
    fileOverDir: act(() => {
      x.b.renameSync(x.p('f'), x.p('d'));
    }),
    fileOverEmptyDir: act(() => {
      x.b.renameSync(x.p('f'), x.p('e'));
    }),
    dirOverFile: act(() => {
      x.b.renameSync(x.p('d'), x.p('f'));
    }),
    listing: x.ls(),
    content: x.cat('f'),
  };
});

scenario('rename a directory into its own subtree is EINVAL; onto itself is a no-op', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.b.mkdirSync(x.p('d/sub'));
  return {
    intoChild: act(() => {
      x.b.renameSync(x.p('d'), x.p('d/x'));
    }),
    intoGrandchild: act(() => {
      x.b.renameSync(x.p('d'), x.p('d/sub/x'));
    }),
    ontoItself: act(() => {
      x.b.renameSync(x.p('d'), x.p('d'));
    }),
    parentOntoChild: act(() => {
      x.b.renameSync(x.p('d'), x.p('d/sub'));
    }),
    // Onto an ancestor of the source: Linux checks this (ENOTEMPTY) before the file-over-directory rule.
    childOntoParent: act(() => {
      x.b.renameSync(x.p('d/sub'), x.p('d'));
    }),
    fileOntoParent: act(() => {
      x.put('d/f', 'x');
      x.b.renameSync(x.p('d/f'), x.p('d'));
    }),
    fileOntoGrandparent: act(() => {
      x.put('d/sub/g', 'x');
      x.b.renameSync(x.p('d/sub/g'), x.p('d'));
    }),
    listing: x.ls(),
    inside: x.ls('d'),
  };
});

scenario('rename a hard link onto its twin is a no-op', (x) => {
  x.put('a', 'same');
  x.b.linkSync(x.p('a'), x.p('b'));
  const rename = act(() => {
    x.b.renameSync(x.p('a'), x.p('b'));
  });
  const self = act(() => {
    x.b.renameSync(x.p('a'), x.p('a'));
  });
  return { rename, self, listing: x.ls(), a: x.stat('a'), b: x.stat('b') };
});

scenario('rename moves files between directories and renames symlinks, not their targets', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.b.mkdirSync(x.p('e'));
  x.put('d/f', 'moved');
  x.b.symlinkSync('d', x.p('s'));
  const move = act(() => {
    x.b.renameSync(x.p('d/f'), x.p('e/g'));
  });
  const link = act(() => {
    x.b.renameSync(x.p('s'), x.p('t'));
  });
  const intoMissing = act(() => {
    x.b.renameSync(x.p('e/g'), x.p('missing/g'));
  });
  return {
    move,
    link,
    intoMissing,
    d: x.ls('d'),
    e: x.ls('e'),
    root: x.ls(),
    t: x.lstat('t'),
    content: x.cat('e/g'),
    readlink: get(() => x.b.readlinkSync(x.p('t'))),
  };
});

// ---- symlinks

scenario('ELOOP: a self-loop and a two-link cycle', (x) => {
  x.b.symlinkSync('loop', x.p('loop'));
  x.b.symlinkSync('b', x.p('a'));
  x.b.symlinkSync('a', x.p('b'));
  return {
    stat: x.stat('loop'),
    lstat: x.lstat('loop'),
    open: get(() => x.open('loop', O.RDONLY) >= 0),
    create: get(() => x.open('loop', O.WRONLY | O.CREAT) >= 0),
    cycle: x.stat('a'),
    through: x.stat('a/x'),
    readlink: get(() => x.b.readlinkSync(x.p('loop'))),
    readdir: x.ls('loop'),
    listing: x.ls(),
  };
});

scenario('O_NOFOLLOW on a symlink is ELOOP; only the last component is checked', (x) => {
  x.put('f', 'file');
  x.b.mkdirSync(x.p('d'));
  x.put('d/g', 'in d');
  x.b.symlinkSync('f', x.p('s'));
  x.b.symlinkSync('d', x.p('sd'));
  const onLink = get(() => x.open('s', O.RDONLY | O.NOFOLLOW) >= 0);
  const onLinkCreate = get(() => x.open('s', O.WRONLY | O.CREAT | O.NOFOLLOW) >= 0);
  const onFile = get(() => {
    const fd = x.open('f', O.RDONLY | O.NOFOLLOW);
    const s = x.read(fd, 10);
    x.b.closeSync(fd);
    return s;
  });
  const throughDirLink = get(() => {
    const fd = x.open('sd/g', O.RDONLY | O.NOFOLLOW);
    const s = x.read(fd, 10);
    x.b.closeSync(fd);
    return s;
  });
  const dirLinkNoFollow = get(() => x.open('sd', O.RDONLY | O.NOFOLLOW) >= 0);
  const dirLinkNoFollowDirectory = get(() => x.open('sd', O.RDONLY | O.NOFOLLOW | O.DIRECTORY) >= 0);
  const dirLinkSlashNoFollow = get(() => {
    const fd = x.open('sd/', O.RDONLY | O.NOFOLLOW);
    x.b.closeSync(fd);
    return true;
  });
  return {
    onLink,
    onLinkCreate,
    onFile,
    throughDirLink,
    dirLinkNoFollow,
    dirLinkNoFollowDirectory,
    dirLinkSlashNoFollow,
  };
});

scenario('relative symlinks resolve from the link’s directory', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('d/f', 'in d');
  x.put('top', 'top');
  x.b.symlinkSync('f', x.p('d/rel'));
  x.b.symlinkSync('../top', x.p('d/up'));
  x.b.symlinkSync('d/f', x.p('down'));
  x.b.symlinkSync('f', x.p('wrongDir'));
  x.b.symlinkSync('d/rel', x.p('chain'));
  return {
    rel: x.tryCat('d/rel'),
    up: x.tryCat('d/up'),
    down: x.tryCat('down'),
    wrongDir: x.tryCat('wrongDir'),
    chain: x.tryCat('chain'),
    lstatRel: x.lstat('d/rel'),
    statRel: x.stat('d/rel'),
  };
});

scenario('absolute symlinks', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('d/f', 'absolute');
  x.b.symlinkSync(x.p('d/f'), x.p('abs'));
  x.b.symlinkSync(x.p('d'), x.p('absdir'));
  return {
    content: x.tryCat('abs'),
    viaDir: x.tryCat('absdir/f'),
    readlink: get(() => x.rel(x.b.readlinkSync(x.p('abs')))),
    // A symlink's size is its target's length, and the root's absolute path differs between backends.
    lstatKind: get(() => kindOf(x.b.lstatSync(x.p('abs')))),
    lstatSizeIsTargetLength: x.b.lstatSync(x.p('abs')).size === Buffer.byteLength(x.p('d/f')),
    stat: x.stat('abs'),
    listing: x.ls('absdir'),
  };
});

scenario('a symlink to a directory is traversed; rmdir on it is ENOTDIR', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('d/f', 'x');
  x.b.symlinkSync('d', x.p('sd'));
  const created = act(() => {
    const fd = x.open('sd/g', O.WRONLY | O.CREAT);
    x.write(fd, 'via link');
    x.b.closeSync(fd);
  });
  const made = act(() => {
    x.b.mkdirSync(x.p('sd/sub'));
  });
  return {
    stat: x.stat('sd'),
    lstat: x.lstat('sd'),
    lstatSlash: x.lstat('sd/'),
    listing: x.ls('sd'),
    created,
    made,
    inD: x.ls('d'),
    g: x.tryCat('d/g'),
    rmdir: act(() => {
      x.b.rmdirSync(x.p('sd'));
    }),
    unlink: act(() => {
      x.b.unlinkSync(x.p('sd'));
    }),
    after: x.ls(),
    dIntact: x.ls('d'),
  };
});

scenario('readlink: target text, EINVAL on a non-symlink, ENOENT when missing; symlink errors', (x) => {
  x.put('f', 'x');
  x.b.mkdirSync(x.p('d'));
  x.b.symlinkSync('some/where/../else', x.p('s'));
  x.b.symlinkSync('f', x.p('d/s'));
  return {
    link: get(() => x.b.readlinkSync(x.p('s'))),
    nested: get(() => x.b.readlinkSync(x.p('d/s'))),
    file: get(() => x.b.readlinkSync(x.p('f'))),
    dir: get(() => x.b.readlinkSync(x.p('d'))),
    missing: get(() => x.b.readlinkSync(x.p('missing'))),
    lstat: x.lstat('s'),
    existing: act(() => {
      x.b.symlinkSync('f', x.p('f'));
    }),
    existingLink: act(() => {
      x.b.symlinkSync('x', x.p('s'));
    }),
    emptyTarget: act(() => {
      x.b.symlinkSync('', x.p('empty'));
    }),
    missingParent: act(() => {
      x.b.symlinkSync('f', x.p('no/s'));
    }),
  };
});

// ---- permissions

scenario(
  'umask 022 applies to created files and directories',
  (x) => {
    const fd = x.open('f666', O.WRONLY | O.CREAT);
    x.b.closeSync(fd);
    x.b.closeSync(x.open('f777', O.WRONLY | O.CREAT, 0o777));
    x.b.closeSync(x.open('f600', O.WRONLY | O.CREAT, 0o600));
    x.b.mkdirSync(x.p('d777'));
    x.b.mkdirSync(x.p('d700'), 0o700);
    x.b.symlinkSync('f666', x.p('link'));
    return {
      f666: x.stat('f666'),
      f777: x.stat('f777'),
      f600: x.stat('f600'),
      d777: x.stat('d777'),
      d700: x.stat('d700'),
      link: x.lstat('link'),
    };
  },
  { umask: 0o022 },
);

scenario(
  'umask 027 applies to created files and directories',
  (x) => {
    x.b.closeSync(x.open('f', O.WRONLY | O.CREAT));
    x.b.closeSync(x.open('g', O.WRONLY | O.CREAT, 0o777));
    x.b.mkdirSync(x.p('d'));
    x.b.mkdirSync(x.p('e'), 0o1777);
    return { f: x.stat('f'), g: x.stat('g'), d: x.stat('d'), e: x.stat('e') };
  },
  { umask: 0o027 },
);

scenario(
  'umask 0 keeps the requested mode',
  (x) => {
    x.b.closeSync(x.open('f', O.WRONLY | O.CREAT));
    x.b.mkdirSync(x.p('d'));
    x.b.mkdirSync(x.p('e'), 0o750);
    return { f: x.stat('f'), d: x.stat('d'), e: x.stat('e') };
  },
  { umask: 0 },
);

scenario('chmod and fchmod set permission bits; chmod follows symlinks', (x) => {
  x.put('f', 'x');
  x.b.mkdirSync(x.p('d'));
  x.b.symlinkSync('f', x.p('s'));
  const chmod = act(() => {
    x.b.chmodSync(x.p('f'), 0o600);
  });
  const afterChmod = x.stat('f');
  const fd = x.open('f', O.RDONLY);
  const fchmod = act(() => {
    x.b.fchmodSync(fd, 0o751);
  });
  const afterFchmod = x.fstat(fd);
  x.b.closeSync(fd);
  const viaLink = act(() => {
    x.b.chmodSync(x.p('s'), 0o640);
  });
  const dir = act(() => {
    x.b.chmodSync(x.p('d'), 0o700);
  });
  const missing = act(() => {
    x.b.chmodSync(x.p('missing'), 0o700);
  });
  const typeBitsIgnored = act(() => {
    x.b.chmodSync(x.p('d'), 0o40705);
  });
  return {
    chmod,
    afterChmod,
    fchmod,
    afterFchmod,
    viaLink,
    f: x.stat('f'),
    link: x.lstat('s'),
    dir,
    d: x.stat('d'),
    missing,
    typeBitsIgnored,
    d2: x.stat('d'),
  };
});

scenario('permission bits vs the effective uid (root bypasses read/write bits)', (x) => {
  x.put('f', 'secret');
  x.b.chmodSync(x.p('f'), 0o000);
  const read = x.tryCat('f');
  const write = get(() => {
    const fd = x.open('f', O.WRONLY);
    x.b.closeSync(fd);
    return true;
  });
  x.b.chmodSync(x.p('f'), 0o600);
  return { read, write, st: x.stat('f') };
});

scenario('fchown sets owner and group (EPERM for a non-root user)', (x) => {
  const fd = x.open('f', O.WRONLY | O.CREAT);
  const uid = process.getuid?.() ?? 0;
  const target = uid === 0 ? 1234 : uid + 1;
  const fchown = act(() => {
    x.b.fchownSync(fd, target, target + 1);
  });
  const st = x.b.fstatSync(fd);
  x.b.closeSync(fd);
  return { fchown, ownerIsTarget: st.uid === target, groupIsTarget: st.gid === target + 1 };
});

scenario(
  'EACCES for a non-root user: unreadable file, unsearchable and unwritable directory',
  (x) => {
    x.put('f', 'secret');
    x.b.chmodSync(x.p('f'), 0o200);
    x.b.mkdirSync(x.p('d'));
    x.put('d/g', 'inside');
    x.b.mkdirSync(x.p('ro'));
    const readFile = x.tryCat('f');
    const writeOk = get(() => {
      const fd = x.open('f', O.WRONLY);
      x.b.closeSync(fd);
      return true;
    });
    x.b.chmodSync(x.p('d'), 0o600); // readable, not searchable
    const listNoSearch = x.ls('d');
    const statThrough = x.stat('d/g');
    const openThrough = x.tryCat('d/g');
    x.b.chmodSync(x.p('d'), 0o300); // searchable, not readable
    const listNoRead = x.ls('d');
    const openNoRead = x.tryCat('d/g');
    x.b.chmodSync(x.p('ro'), 0o500); // not writable
    const createInRo = get(() => x.open('ro/new', O.WRONLY | O.CREAT) >= 0);
    const mkdirInRo = act(() => {
      x.b.mkdirSync(x.p('ro/sub'));
    });
    x.b.chmodSync(x.p('d'), 0o700);
    x.b.chmodSync(x.p('ro'), 0o700);
    x.b.chmodSync(x.p('f'), 0o600);
    return { readFile, writeOk, listNoSearch, statThrough, openThrough, listNoRead, openNoRead, createInRo, mkdirInRo };
  },
  { needsNonRoot: true },
);

scenario('rmdir while a directory fd is open: fstat shows nlink 0, creating inside is ENOENT', (x) => {
  x.b.mkdirSync(x.p('d'));
  const fd = x.open('d', O.RDONLY | O.DIRECTORY);
  const rmdir = act(() => {
    x.b.rmdirSync(x.p('d'));
  });
  const fstat = x.fstat(fd);
  const create = get(() => x.open('d/x', O.WRONLY | O.CREAT) >= 0);
  const mkdirAgain = act(() => {
    x.b.mkdirSync(x.p('d'));
  });
  const fresh = x.stat('d');
  const oldFdStillOld = x.b.fstatSync(fd).ino !== x.ino('d');
  const fsync = act(() => {
    x.b.fsyncSync(fd);
  });
  x.b.closeSync(fd);
  return { rmdir, fstat, create, mkdirAgain, fresh, oldFdStillOld, fsync };
});

scenario('unlink then re-create the name: a new inode; the old fd keeps the old data', (x) => {
  x.put('f', 'first');
  const fd = x.open('f', O.RDWR);
  const oldIno = x.ino('f');
  x.b.unlinkSync(x.p('f'));
  x.put('f', 'second!');
  const newInode = x.ino('f') !== oldIno;
  x.write(fd, 'FIRST');
  const viaOld = x.readAll(fd, 0);
  const viaPath = x.cat('f');
  const old = x.fstat(fd);
  x.b.closeSync(fd);
  return { newInode, viaOld, viaPath, old, current: x.stat('f') };
});

scenario('O_CREAT with mode 0444 still returns a writable fd; umask does not touch an existing file', (x) => {
  const fd = x.open('ro', O.RDWR | O.CREAT | O.EXCL, 0o444);
  const wrote = x.tryWrite(fd, 'data');
  const st = x.fstat(fd);
  x.b.closeSync(fd);
  x.put('f', 'x', 0o606);
  x.b.chmodSync(x.p('f'), 0o777);
  x.b.closeSync(x.open('f', O.WRONLY | O.CREAT, 0o600));
  return { wrote, st, content: x.cat('ro'), f: x.stat('f') };
});

scenario('trailing slashes and symlinks in the middle of paths', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('f', 'x');
  x.b.symlinkSync('f', x.p('sf'));
  x.b.symlinkSync('d', x.p('sd'));
  return {
    statDirSlash: x.stat('d/'),
    statDirSlashes: x.stat('d//'),
    throughFileLink: x.stat('sf/x'),
    fileLinkSlash: x.stat('sf/'),
    lstatFileLinkSlash: x.lstat('sf/'),
    renameDirSlashes: act(() => {
      x.b.renameSync(x.p('d/'), x.p('e/'));
    }),
    afterRename: x.ls(),
    linkSlash: act(() => {
      x.b.linkSync(x.p('f'), x.p('g/'));
    }),
    symlinkSlash: act(() => {
      x.b.symlinkSync('f', x.p('h/'));
    }),
    mkdirViaLink: act(() => {
      x.b.mkdirSync(x.p('sd'));
    }),
    linkFromFileSlash: act(() => {
      x.b.linkSync(x.p('f/'), x.p('l1'));
    }),
    linkFromFileLinkSlash: act(() => {
      x.b.linkSync(x.p('sf/'), x.p('l2'));
    }),
    linkFromDirLinkSlash: act(() => {
      x.b.linkSync(x.p('sd/'), x.p('l3'));
    }),
    symlinkOntoDirSlash: act(() => {
      x.b.symlinkSync('x', x.p('e/'));
    }),
    mkdirOntoDirSlash: act(() => {
      x.b.mkdirSync(x.p('e/'));
    }),
    rmdirDoubleSlash: act(() => {
      x.b.rmdirSync(x.p('e//'));
    }),
    final: x.ls(),
  };
});

scenario('setgid directories: new subdirectories inherit the bit, new files the group', (x) => {
  x.b.mkdirSync(x.p('d'));
  const dfd = x.open('d', O.RDONLY);
  const gid = (process.getgid?.() ?? 0) === 0 ? 4321 : (process.getgid?.() ?? 0);
  const fchown = act(() => {
    x.b.fchownSync(dfd, x.b.fstatSync(dfd).uid, gid);
  });
  x.b.closeSync(dfd);
  const chmod = act(() => {
    x.b.chmodSync(x.p('d'), 0o2775);
  });
  x.b.mkdirSync(x.p('d/sub'));
  x.put('d/f', 'x');
  const sub = x.b.statSync(x.p('d/sub'));
  const f = x.b.statSync(x.p('d/f'));
  return {
    fchown,
    chmod,
    d: x.stat('d'),
    sub: statView(sub),
    f: statView(f),
    subGroupInherited: sub.gid === gid,
    fileGroupInherited: f.gid === gid,
  };
});

scenario('invalid buffer ranges are rejected and change nothing', (x) => {
  x.put('f', 'abcdef');
  const fd = x.open('f', O.RDWR);
  const buf = new Uint8Array(4);
  // node:fs rejects these before any syscall, with a RangeError (ERR_OUT_OF_RANGE), not an FsError.
  const result = {
    readNegativeLength: act(() => x.b.readSync(fd, buf, 0, -1, null)),
    readPastBuffer: act(() => x.b.readSync(fd, buf, 2, 4, null)),
    writePastBuffer: act(() => x.b.writeSync(fd, buf, 0, 8, null)),
    writeNegativeOffset: act(() => x.b.writeSync(fd, buf, -1, 1, null)),
    ftruncateFractional: act(() => {
      x.b.ftruncateSync(fd, 1.5);
    }),
    offset: x.offset(fd),
    content: x.readAll(fd, 0),
  };
  x.b.closeSync(fd);
  return result;
});

scenario('"." and ".." as the last component: EBUSY, EISDIR, EEXIST, EINVAL', (x) => {
  x.b.mkdirSync(x.p('d'));
  x.put('f', 'x');
  return {
    unlinkDot: act(() => {
      x.b.unlinkSync(x.p('d/.'));
    }),
    unlinkFileDot: act(() => {
      x.b.unlinkSync(x.p('f/.'));
    }),
    mkdirDot: act(() => {
      x.b.mkdirSync(x.p('d/.'));
    }),
    mkdirDotDot: act(() => {
      x.b.mkdirSync(x.p('d/..'));
    }),
    renameDot: act(() => {
      x.b.renameSync(x.p('d/.'), x.p('x'));
    }),
    renameOntoDot: act(() => {
      x.b.renameSync(x.p('f'), x.p('d/.'));
    }),
    renameDotDot: act(() => {
      x.b.renameSync(x.p('d/..'), x.p('x'));
    }),
    linkOntoDot: act(() => {
      x.b.linkSync(x.p('f'), x.p('d/.'));
    }),
    symlinkOntoDot: act(() => {
      x.b.symlinkSync('f', x.p('d/.'));
    }),
    openDotCreate: get(() => x.open('d/.', O.RDONLY | O.CREAT) >= 0),
    readdirDot: x.ls('d/.'),
    readdirDotDot: x.ls('d/..'),
    listing: x.ls(),
  };
});

scenario('symlink chains: 40 links are followed, the 41st is ELOOP', (x) => {
  x.put('f', 'end');
  let prev = 'f';
  for (let i = 1; i <= 41; i++) {
    x.b.symlinkSync(prev, x.p(`l${i}`));
    prev = `l${i}`;
  }
  return { l40: x.tryCat('l40'), l41: x.tryCat('l41'), stat41: x.stat('l41'), lstat41: x.lstat('l41') };
});

scenario('PATH_MAX: a path of 4096 bytes or more is ENAMETOOLONG', (x) => {
  x.b.mkdirSync(x.p('d'));
  // Paths of exactly 4095, 4096 and 4097 bytes: d followed by "/." steps (naming d when short enough).
  const base = x.p('d').length;
  const make = (len: number): string => x.p('d') + '/.'.repeat(Math.ceil((len - base) / 2)).slice(0, len - base);
  return {
    len4095: x.b.statSync(make(4095)).isDirectory() ? 'dir' : 'other',
    len4096: act(() => {
      x.b.statSync(make(4096));
    }),
    len4097: act(() => {
      x.b.statSync(make(4097));
    }),
    deepMissing: act(() => {
      x.b.statSync(`${x.p('')}/${Array(2100).fill('a').join('/')}`);
    }),
  };
});

scenario('mode bits beyond 0777: create, mkdir and chmod', (x) => {
  x.b.closeSync(x.open('f', O.WRONLY | O.CREAT, 0o4777));
  x.b.mkdirSync(x.p('sticky'), 0o7777);
  x.b.mkdirSync(x.p('setid'), 0o6777);
  x.put('g', '');
  const chmod = act(() => {
    x.b.chmodSync(x.p('g'), 0o7777);
  });
  return { f: x.stat('f'), sticky: x.stat('sticky'), setid: x.stat('setid'), chmod, g: x.stat('g') };
});

scenario('open flags on a directory: O_TRUNC/O_WRONLY are EISDIR, O_APPEND/O_EXCL alone are fine', (x) => {
  x.b.mkdirSync(x.p('d'));
  const tryOpen = (flags: number): Json =>
    get(() => {
      const fd = x.open('d', flags);
      x.b.closeSync(fd);
      return true;
    });
  return {
    rdonlyTrunc: tryOpen(O.RDONLY | O.TRUNC),
    rdonlyAppend: tryOpen(O.RDONLY | O.APPEND),
    rdonlyExcl: tryOpen(O.RDONLY | O.EXCL),
    creatExcl: tryOpen(O.RDONLY | O.CREAT | O.EXCL),
    wronlyDirectory: tryOpen(O.WRONLY | O.DIRECTORY),
    rdwrDirectoryTrunc: tryOpen(O.RDWR | O.DIRECTORY | O.TRUNC),
    slash: tryOpen(O.RDONLY | O.DIRECTORY),
  };
});

scenario('access mode 3 (O_WRONLY|O_RDWR): Linux opens it for neither reading nor writing', (x) => {
  x.put('f', 'abc');
  return {
    opened: get(() => {
      const fd = x.open('f', O.WRONLY | O.RDWR);
      const r = {
        read: x.tryRead(fd, 2),
        write: x.tryWrite(fd, 'z'),
        fstat: x.fstat(fd),
        ftruncate: act(() => {
          x.b.ftruncateSync(fd, 0);
        }),
      };
      x.b.closeSync(fd);
      return r;
    }),
    content: x.cat('f'),
  };
});

scenario('ftruncate on an O_APPEND fd, then append and read back', (x) => {
  const fd = x.open('f', O.RDWR | O.CREAT | O.APPEND);
  x.write(fd, 'abcdef');
  const truncate = act(() => {
    x.b.ftruncateSync(fd, 2);
  });
  const offsetAfterTruncate = x.offset(fd);
  x.write(fd, 'Z');
  const offset = x.offset(fd);
  const content = x.readAll(fd, 0);
  x.b.closeSync(fd);
  return { truncate, offsetAfterTruncate, offset, content };
});

scenario(
  'pipeSync: a blocking pipe, EOF after the writer closes, EPIPE after the reader closes, ESPIPE for positions',
  (x) => {
    const [r, w] = x.b.pipeSync();
    const st = x.b.fstatSync(r);
    const kind = kindOf(st);
    const perm = st.mode & 0o777;
    const flags = [x.b.fdInfoSync(r).flags, x.b.fdInfoSync(w).flags].map((f) =>
      f === undefined ? null : f & O.ACCMODE,
    );
    const wrote = x.write(w, 'hello');
    const first = x.read(r, 3);
    const pread = x.tryRead(r, 1, 0);
    const pwrite = x.tryWrite(w, 'x', 0);
    const readWriteEnd = x.tryRead(w, 1);
    const writeReadEnd = x.tryWrite(r, 'x');
    const ftruncate = act(() => {
      x.b.ftruncateSync(w, 0);
    });
    const fsync = act(() => {
      x.b.fsyncSync(w);
    });
    const rest = x.read(r, 10);
    x.b.closeSync(w);
    const eof = x.read(r, 10);
    x.b.closeSync(r);
    const [r2, w2] = x.b.pipeSync();
    x.b.closeSync(r2);
    const epipe = x.tryWrite(w2, 'x');
    x.b.closeSync(w2);
    return {
      kind,
      perm,
      flags,
      wrote,
      first,
      pread,
      pwrite,
      readWriteEnd,
      writeReadEnd,
      ftruncate,
      fsync,
      rest,
      eof,
      epipe,
      distinct: r !== w,
    };
  },
);

// ---- invalid arguments and access modes

scenario('negative position is EINVAL for pread/pwrite; negative length for ftruncate', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.RDWR);
  const pread = x.tryRead(fd, 2, -1);
  const pwrite = x.tryWrite(fd, 'z', -5);
  const ftruncate = act(() => {
    x.b.ftruncateSync(fd, -1);
  });
  const st = x.fstat(fd);
  x.b.closeSync(fd);
  return { pread, pwrite, ftruncate, st, content: x.cat('f') };
});

scenario('a non-integer position is EINVAL for pread/pwrite and moves nothing', (x) => {
  x.put('f', 'abcdef');
  const fd = x.open('f', O.RDWR);
  const pread = x.tryRead(fd, 2, 1.5);
  const pwrite = x.tryWrite(fd, 'z', 2.5);
  const next = x.tryRead(fd, 6); // the offset is still 0
  x.b.closeSync(fd);
  return { pread, pwrite, next, content: x.cat('f') };
});

scenario('reserving (dup) or asking fdinfo of a closed descriptor is EBADF', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.RDONLY);
  x.b.closeSync(fd);
  const reserve = act(() => x.b.reserveSync(fd));
  const info = act(() => x.b.fdInfoSync(fd));
  return { reserve, info };
});

scenario('write on a read-only fd is EBADF', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.RDONLY);
  const write = x.tryWrite(fd, 'z');
  const pwrite = x.tryWrite(fd, 'z', 0);
  const read = x.tryRead(fd, 3);
  x.b.closeSync(fd);
  return { write, pwrite, read, content: x.cat('f') };
});

scenario('read on a write-only fd is EBADF', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.WRONLY);
  const read = x.tryRead(fd, 3);
  const pread = x.tryRead(fd, 3, 0);
  const write = x.tryWrite(fd, 'X');
  const appendFd = x.open('f', O.WRONLY | O.APPEND);
  const appendRead = x.tryRead(appendFd, 3);
  x.b.closeSync(appendFd);
  x.b.closeSync(fd);
  return { read, pread, write, appendRead, content: x.cat('f') };
});

scenario('ftruncate on a read-only fd is EINVAL', (x) => {
  x.put('f', 'abcdef');
  const fd = x.open('f', O.RDONLY);
  const ftruncate = act(() => {
    x.b.ftruncateSync(fd, 2);
  });
  const grow = act(() => {
    x.b.ftruncateSync(fd, 20);
  });
  x.b.closeSync(fd);
  return { ftruncate, grow, content: x.cat('f') };
});

scenario('fsync/fdatasync on regular fds (any access mode) and a directory fd', (x) => {
  x.put('f', 'abc');
  x.b.mkdirSync(x.p('d'));
  const rw = x.open('f', O.RDWR);
  const ro = x.open('f', O.RDONLY);
  const dir = x.open('d', O.RDONLY);
  const result = {
    fsyncRw: act(() => {
      x.b.fsyncSync(rw);
    }),
    fdatasyncRw: act(() => {
      x.b.fdatasyncSync(rw);
    }),
    fsyncRo: act(() => {
      x.b.fsyncSync(ro);
    }),
    fdatasyncRo: act(() => {
      x.b.fdatasyncSync(ro);
    }),
    fsyncDir: act(() => {
      x.b.fsyncSync(dir);
    }),
    fdatasyncDir: act(() => {
      x.b.fdatasyncSync(dir);
    }),
  };
  for (const fd of [rw, ro, dir]) x.b.closeSync(fd);
  return result;
});

scenario('empty path is ENOENT everywhere', (x) => ({
  open: get(() => x.b.openSync('', O.RDONLY) >= 0),
  create: get(() => x.b.openSync('', O.WRONLY | O.CREAT) >= 0),
  stat: get(() => statView(x.b.statSync(''))),
  lstat: get(() => statView(x.b.lstatSync(''))),
  mkdir: act(() => {
    x.b.mkdirSync('');
  }),
  rmdir: act(() => {
    x.b.rmdirSync('');
  }),
  unlink: act(() => {
    x.b.unlinkSync('');
  }),
  readdir: get(() => x.b.readdirSync('')),
  readlink: get(() => x.b.readlinkSync('')),
  renameFrom: act(() => {
    x.b.renameSync('', x.p('z'));
  }),
  chmod: act(() => {
    x.b.chmodSync('', 0o600);
  }),
  listing: x.ls(),
}));

scenario('a 256-byte name is ENAMETOOLONG; 255 bytes is fine', (x) => {
  const long = 'n'.repeat(256);
  const ok = 'k'.repeat(255);
  const created = get(() => {
    const fd = x.open(ok, O.WRONLY | O.CREAT);
    x.b.closeSync(fd);
    return true;
  });
  return {
    created,
    open: get(() => x.open(long, O.WRONLY | O.CREAT) >= 0),
    stat: x.stat(long),
    mkdir: act(() => {
      x.b.mkdirSync(x.p(long));
    }),
    symlink: act(() => {
      x.b.symlinkSync('x', x.p(long));
    }),
    rename: act(() => {
      x.b.renameSync(x.p(ok), x.p(long));
    }),
    inPath: x.stat(`${long}/f`),
    listing: get(() => x.b.readdirSync(x.p('')).map((n) => n.length)),
  };
});

// ---- times

scenario('utimes sets atime/mtime exactly; follows symlinks; ENOENT when missing', (x) => {
  x.put('f', 'x');
  x.b.symlinkSync('f', x.p('s'));
  const numbers = act(() => {
    x.b.utimesSync(x.p('f'), 1_000_000_000, 1_234_567_890.5);
  });
  const st1 = x.b.statSync(x.p('f'));
  const dates = act(() => {
    x.b.utimesSync(x.p('s'), new Date(1_500_000_000_123), new Date(1_600_000_000_456));
  });
  const st2 = x.b.statSync(x.p('f'));
  const missing = act(() => {
    x.b.utimesSync(x.p('missing'), 1, 1);
  });
  return {
    numbers,
    atime1: st1.atimeMs,
    mtime1: st1.mtimeMs,
    dates,
    atime2: Math.round(st2.atimeMs),
    mtime2: Math.round(st2.mtimeMs),
    missing,
  };
});

scenario('mtime/ctime move forward on write, truncate and directory changes; not on read', (x) => {
  const past = 1_000_000_000; // 2001: anything the clock says now is later
  x.put('f', 'abc');
  x.b.mkdirSync(x.p('d'));
  x.b.utimesSync(x.p('f'), past, past);
  x.b.utimesSync(x.p('d'), past, past);
  const fd = x.open('f', O.RDWR);
  x.read(fd, 3, 0);
  const afterRead = x.b.fstatSync(fd).mtimeMs === past * 1000;
  x.write(fd, 'z', 0);
  const afterWrite = x.b.fstatSync(fd).mtimeMs > past * 1000;
  x.b.utimesSync(x.p('f'), past, past);
  x.b.ftruncateSync(fd, 1);
  const afterTruncate = x.b.fstatSync(fd).mtimeMs > past * 1000;
  x.b.closeSync(fd);
  const dirUntouched = x.b.statSync(x.p('d')).mtimeMs === past * 1000;
  x.b.closeSync(x.open('d/new', O.WRONLY | O.CREAT));
  const dirAfterCreate = x.b.statSync(x.p('d')).mtimeMs > past * 1000;
  x.b.utimesSync(x.p('f'), past, past);
  const before = x.b.statSync(x.p('f'));
  x.b.chmodSync(x.p('f'), 0o600);
  const after = x.b.statSync(x.p('f'));
  const ctimeNotBackwards = after.ctimeMs >= before.ctimeMs;
  const mtimeUntouchedByChmod = after.mtimeMs === past * 1000;
  const ctimeAfterMtime = after.ctimeMs > after.mtimeMs;
  return {
    afterRead,
    afterWrite,
    afterTruncate,
    dirUntouched,
    dirAfterCreate,
    ctimeNotBackwards,
    mtimeUntouchedByChmod,
    ctimeAfterMtime,
  };
});

// ---- descriptor-table support

scenario('reserveSync: lowest free number, same file, fstat works, I/O is EBADF', (x) => {
  x.put('f', 'abc');
  const a = x.open('f', O.RDWR);
  const b = x.open('f', O.RDONLY);
  x.b.closeSync(a);
  const r = x.b.reserveSync(b);
  const result = {
    takesLowestFree: r === a,
    sameInode: x.b.fstatSync(r).ino === x.b.fstatSync(b).ino,
    fstat: x.fstat(r),
    read: x.tryRead(r, 3),
    pread: x.tryRead(r, 3, 0),
    write: x.tryWrite(r, 'z'),
    ftruncate: act(() => {
      x.b.ftruncateSync(r, 0);
    }),
    content: x.cat('f'),
    reserveOfReserve: act(() => {
      x.b.closeSync(x.b.reserveSync(r));
    }),
    reopenOfReserve: get(() => {
      const n = x.b.reopenSync(r, O.RDONLY);
      const s = x.read(n, 10);
      x.b.closeSync(n);
      return s;
    }),
    reserveFlags: get(() => {
      const i = x.b.fdInfoSync(r);
      return [i.flags === undefined ? null : i.flags & O.ACCMODE, i.offset ?? null];
    }),
    fsync: act(() => {
      x.b.fsyncSync(r);
    }),
    fchmod: act(() => {
      x.b.fchmodSync(r, 0o600);
    }),
    close: act(() => {
      x.b.closeSync(r);
    }),
    closeAgain: act(() => {
      x.b.closeSync(r);
    }),
  };
  x.b.closeSync(b);
  return result;
});

scenario('reserveSync of an unlinked open file still names it', (x) => {
  x.put('f', 'abc');
  const fd = x.open('f', O.RDWR);
  x.b.unlinkSync(x.p('f'));
  const r = x.b.reserveSync(fd);
  const result = { sameInode: x.b.fstatSync(r).ino === x.b.fstatSync(fd).ino, fstat: x.fstat(r), above: r > fd };
  x.b.closeSync(r);
  x.b.closeSync(fd);
  return result;
});

scenario('reserveAtSync: onto a free number, EBUSY on a taken one, replace closes the old', (x) => {
  x.put('f', 'file f');
  x.put('g', 'file g');
  const a = x.open('f', O.RDONLY);
  const hole = x.open('g', O.RDONLY);
  const c = x.open('g', O.RDONLY);
  x.b.closeSync(hole);
  const onFree = get(() => x.b.reserveAtSync(hole, a, false));
  const namesF = x.b.fstatSync(hole).ino === x.ino('f');
  const readReserved = x.tryRead(hole, 3);
  const busy = get(() => x.b.reserveAtSync(c, a, false));
  const cUntouched = x.tryRead(c, 6);
  const replace = get(() => x.b.reserveAtSync(c, a, true));
  const cNowNamesF = x.b.fstatSync(c).ino === x.ino('f');
  const readReplaced = x.tryRead(c, 3);
  const next = x.open('f', O.RDONLY);
  const result = {
    onFree,
    namesF,
    readReserved,
    busy,
    cUntouched,
    replace,
    cNowNamesF,
    readReplaced,
    nextIsAboveAll: next > c && next > a && next > hole,
  };
  for (const n of [a, hole, c, next]) x.b.closeSync(n);
  return result;
});

scenario('reopenSync: independent offset, same inode, works after unlink', (x) => {
  x.put('f', 'hello');
  const fd = x.open('f', O.RDWR);
  x.read(fd, 3);
  const r = x.b.reopenSync(fd, O.RDWR);
  const readReopened = x.read(r, 10);
  const offsets = [x.offset(fd), x.offset(r)];
  const readOriginal = x.read(fd, 10);
  x.b.unlinkSync(x.p('f'));
  const r2 = x.b.reopenSync(fd, O.RDONLY);
  const sameInode = x.b.fstatSync(r2).ino === x.b.fstatSync(fd).ino && x.b.fstatSync(r).ino === x.b.fstatSync(fd).ino;
  const afterUnlink = x.fstat(r2);
  const readAfterUnlink = x.read(r2, 10);
  const writeReadOnly = x.tryWrite(r2, 'z');
  const appender = x.b.reopenSync(fd, O.WRONLY | O.APPEND);
  x.write(appender, '!', 0);
  const appended = x.readAll(fd, 0);
  const flags = [r, r2, appender].map((n) => {
    const f = x.b.fdInfoSync(n).flags;
    return f === undefined ? null : f & (O.ACCMODE | O.APPEND);
  });
  const lowest = r > fd && r2 > r && appender > r2;
  for (const n of [fd, r, r2, appender]) x.b.closeSync(n);
  return {
    readReopened,
    offsets,
    readOriginal,
    sameInode,
    afterUnlink,
    readAfterUnlink,
    writeReadOnly,
    appended,
    flags,
    lowest,
  };
});

scenario('fdInfoSync reports access mode, O_APPEND and the offset', (x) => {
  x.put('f', '0123456789');
  const opens: [string, number][] = [
    ['r', O.RDONLY],
    ['r+', O.RDWR],
    ['w', O.WRONLY],
    ['a', O.WRONLY | O.APPEND],
    ['a+', O.RDWR | O.APPEND],
  ];
  const out: Record<string, Json> = {};
  for (const [name, flags] of opens) {
    const fd = x.open('f', flags);
    const f0 = x.b.fdInfoSync(fd);
    if ((flags & O.ACCMODE) !== O.WRONLY) x.read(fd, 4);
    else x.write(fd, 'ab');
    const f1 = x.b.fdInfoSync(fd);
    out[name] = {
      flags: f0.flags === undefined ? null : f0.flags & (O.ACCMODE | O.APPEND),
      offset0: f0.offset ?? null,
      offset1: f1.offset ?? null,
    };
    x.b.closeSync(fd);
  }
  return out;
});

// ---- promise forms

scenario('async: open/write/read/fstat/close through the promise forms', async (x) => {
  const b = x.b;
  const fd = await b.open(x.p('f'), O.RDWR | O.CREAT, 0o640);
  const data = Buffer.from('promise');
  const wrote = await b.write(fd, data, 0, data.length, null);
  const buf = new Uint8Array(16);
  const n = await b.read(fd, buf, 0, 16, 0);
  const pread = await b.read(fd, buf, 0, 16, null);
  await b.ftruncate(fd, 3);
  const st = statView(await b.fstat(fd));
  await b.fsync(fd);
  await b.fdatasync(fd);
  await b.close(fd);
  const closeAgain = await actAsync(() => b.close(fd));
  return { wrote, read: latin1(buf.subarray(0, n)), pread, st, closeAgain, content: x.cat('f') };
});

scenario('async: error codes through the promise forms', async (x) => {
  const b = x.b;
  x.put('f', 'abc');
  await b.mkdir(x.p('d'));
  const fd = await b.open(x.p('f'), O.RDONLY);
  const result = {
    openMissing: await getAsync(async () => (await b.open(x.p('missing'), O.RDONLY)) >= 0),
    openDirWrite: await getAsync(async () => (await b.open(x.p('d'), O.WRONLY)) >= 0),
    writeReadOnly: await getAsync(() => b.write(fd, Buffer.from('z'), 0, 1, null)),
    preadNegative: await getAsync(() => b.read(fd, new Uint8Array(2), 0, 2, -1)),
    ftruncateReadOnly: await actAsync(() => b.ftruncate(fd, 0)),
    ftruncateNegative: await actAsync(() => b.ftruncate(fd, -1)),
    rmdirFile: await actAsync(() => b.rmdir(x.p('f'))),
    unlinkDir: await actAsync(() => b.unlink(x.p('d'))),
    mkdirExisting: await actAsync(() => b.mkdir(x.p('d'))),
    readdirMissing: await getAsync(() => b.readdir(x.p('missing'))),
    statMissing: await actAsync(() => b.stat(x.p('missing'))),
    lstatMissing: await actAsync(() => b.lstat(x.p('missing'))),
    readlinkFile: await actAsync(() => b.readlink(x.p('f'))),
    linkDir: await actAsync(() => b.link(x.p('d'), x.p('d2'))),
    renameIntoSelf: await actAsync(() => b.rename(x.p('d'), x.p('d/x'))),
    chmodMissing: await actAsync(() => b.chmod(x.p('missing'), 0o600)),
    utimesMissing: await actAsync(() => b.utimes(x.p('missing'), 1, 1)),
    symlinkExisting: await actAsync(() => b.symlink('x', x.p('f'))),
  };
  await b.close(fd);
  return result;
});

scenario('async: unlink/rename/link/symlink/readdir through the promise forms', async (x) => {
  const b = x.b;
  x.put('a', 'A');
  const fd = await b.open(x.p('a'), O.RDWR);
  await b.link(x.p('a'), x.p('b'));
  const linked = statView(await b.stat(x.p('b')));
  await b.unlink(x.p('a'));
  await b.unlink(x.p('b'));
  const orphan = statView(await b.fstat(fd));
  await b.write(fd, Buffer.from('+'), 0, 1, null);
  const buf = new Uint8Array(8);
  const n = await b.read(fd, buf, 0, 8, 0);
  await b.close(fd);
  await b.mkdir(x.p('d'), 0o700);
  await b.symlink('d', x.p('s'));
  x.put('d/f', 'x');
  await b.rename(x.p('d/f'), x.p('d/g'));
  const listing = [...(await b.readdir(x.p('s')))].sort();
  const link = await b.readlink(x.p('s'));
  const lst = statView(await b.lstat(x.p('s')));
  await b.chmod(x.p('d/g'), 0o604);
  await b.utimes(x.p('d/g'), 1_000_000, 2_000_000);
  const g = await b.stat(x.p('d/g'));
  await b.rmdir(x.p('d')).catch(() => undefined);
  const fd2 = await b.open(x.p('d/g'), O.RDONLY);
  await b.fchmod(fd2, 0o600);
  const fchmodded = statView(await b.fstat(fd2));
  await b.close(fd2);
  return {
    linked,
    orphan,
    content: latin1(buf.subarray(0, n)),
    listing,
    link,
    lst,
    g: statView(g),
    gMtime: g.mtimeMs,
    fchmodded,
    root: x.ls(),
    d: x.ls('d'),
  };
});

/** Every scenario, in registration order. */
export const POSIX_SCENARIOS: readonly Scenario[] = scenarios;
