/**
 * Every multi-step operation of the node:fs facade, written once as a protocol (see
 * src/protocol/run.ts): `readFile` is open + fstat + reads + close, `mkdir -p` walks up, `rm -r` walks
 * down, `realpath` resolves one component at a time, `copyFile` opens two files and loops. The
 * synchronous API runs these with `runSync`, the promise and callback APIs with `runAsync`, so the
 * forms cannot drift.
 *
 * Files are opened in the facade's {@link FileTable} and held as {@link Descriptor}s, never as bare
 * numbers: the promise forms wait in the table's budget queue (and retry an EMFILE) instead of failing,
 * and a close never lets an in-flight call touch a number the kernel has reused.
 *
 * @module
 */
import type { Backend, FileStat } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import { call, perform, runSync, step, type Call, type Protocol } from '../protocol/run.js';
import type { Descriptor } from '../table/descriptor.js';
import type { FileTable } from '../table/file-table.js';
import {
  CHUNK,
  F_OK,
  accessAllowed,
  appending,
  dataBytes,
  decode,
  fsError,
  isCode,
  joinPath,
  optionsOf,
  parentOf,
  parseFlags,
  parseMode,
  pathString,
  reframe,
  rmIsDirectory,
  tempSuffix,
  type FacadeContext,
  type FsData,
  type FsEncoding,
  type PathLike,
} from './context.js';
import { COPYFILE_EXCL, COPYFILE_FICLONE_FORCE, encodeName, encodeNames, fdArg, mkdirOptions } from './arguments.js';
import { Dirent } from './stats.js';
import type {
  EncodingOptions,
  FsMode,
  MkdirOptions,
  ReadFileOptions,
  ReaddirOptions,
  ReaddirResult,
  RmOptions,
  RmdirOptions,
  WriteFileOptions,
} from './types.js';

// ================================================================ one call, both forms

/** Opens `path` in `table` as a Descriptor (the promise form waits for a budget slot). */
export function openFile(table: FileTable, path: string, bits: number, mode: number): Call<Descriptor> {
  return step(
    () => table.openDescriptorSync(path, bits, mode),
    () => table.openDescriptor(path, bits, mode),
  );
}

/** Closes a Descriptor (its backend descriptor closes once no call is in flight on it). */
export function closeFile(d: Descriptor): Call<void> {
  return step(
    () => {
      d.closeSync();
    },
    () => d.close(),
  );
}

/** read(2) (`position` null) or pread(2) on a Descriptor. */
export function readAt(
  d: Descriptor,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number | null,
): Call<number> {
  return step(
    () => d.readSync(buf, offset, length, position),
    () => d.read(buf, offset, length, position),
  );
}

/** write(2) (`position` null) or pwrite(2) on a Descriptor. */
export function writeAt(
  d: Descriptor,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number | null,
): Call<number> {
  return step(
    () => d.writeSync(buf, offset, length, position),
    () => d.write(buf, offset, length, position),
  );
}

/** fsync(2) on a Descriptor. */
export function syncOf(d: Descriptor): Call<void> {
  return step(
    () => {
      d.syncSync();
    },
    () => d.sync(),
  );
}

/** fstat(2) on a Descriptor. */
export function fstatOf(d: Descriptor): Call<FileStat> {
  return step(
    () => d.statSync(),
    () => d.stat(),
  );
}

/** stat(2) (`link` false) or lstat(2) (`link` true) of a path. */
export function statPath(b: Backend, path: string, link: boolean): Call<FileStat> {
  return step(
    () => (link ? b.lstatSync(path) : b.statSync(path)),
    () => (link ? b.lstat(path) : b.stat(path)),
  );
}

function mkdirCall(b: Backend, path: string, mode: number): Call<void> {
  return step(
    () => {
      b.mkdirSync(path, mode);
    },
    () => b.mkdir(path, mode),
  );
}

function readdirCall(b: Backend, path: string): Call<string[]> {
  return step(
    () => b.readdirSync(path),
    () => b.readdir(path),
  );
}

function unlinkCall(b: Backend, path: string): Call<void> {
  return step(
    () => {
      b.unlinkSync(path);
    },
    () => b.unlink(path),
  );
}

function rmdirCall(b: Backend, path: string): Call<void> {
  return step(
    () => {
      b.rmdirSync(path);
    },
    () => b.rmdir(path),
  );
}

function readlinkCall(b: Backend, path: string): Call<string> {
  return step(
    () => b.readlinkSync(path),
    () => b.readlink(path),
  );
}

// ================================================================ loops

/** Reads the rest of an open file (up to `size` bytes when its size is known, else to end of file). */
export function* readAll(d: Descriptor, size: number | undefined, position: number | null): Protocol<Buffer> {
  if (size !== undefined && size > 0) {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const read = readAt(d, buf, got, size - got, position === null ? null : position + got);
      const n = (yield read) as number;
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const read = readAt(d, buf, 0, CHUNK, position === null ? null : position + total);
    const n = (yield read) as number;
    if (n === 0) break;
    parts.push(n === CHUNK ? buf : buf.subarray(0, n));
    total += n;
  }
  const only = parts.length === 1 ? parts[0] : undefined;
  return only ?? Buffer.concat(parts, total);
}

/** Writes all of `bytes`, looping over short writes; `position` null: at the current offset. */
export function* writeAll(d: Descriptor, bytes: Uint8Array, position: number | null): Protocol<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const write = writeAt(d, bytes, done, bytes.byteLength - done, position === null ? null : position + done);
    const n = (yield write) as number;
    if (n <= 0) throw fsError('EIO', 'write', d.path, 'write(2) wrote nothing');
    done += n;
  }
}

/** {@link writeAll}, then fsync(2) when `flush` is asked for (writeFile's `flush` option). */
function* writeOut(d: Descriptor, bytes: Uint8Array, position: number | null, flush: boolean): Protocol<void> {
  yield* writeAll(d, bytes, position);
  if (flush) yield syncOf(d);
}

/** Closes a descriptor on the way out of a failure: the first error is the one to report. */
function* closeQuietly(d: Descriptor): Protocol<void> {
  try {
    yield closeFile(d);
  } catch {
    // the original error matters more
  }
}

/**
 * Runs `run` on a file opened for it, closing it afterwards (a close failure counts only on success).
 * Pass an arrow to a module-level generator function, never a `function*` expression: V8 gives every
 * new generator function a prototype and a map, which costs microseconds per call. And each generator
 * level a step passes through costs some tens of nanoseconds, so the hot readFile and writeFile have
 * these steps written out.
 */
export function* withFile<T>(
  ctx: FacadeContext,
  path: string,
  bits: number,
  mode: number,
  run: (d: Descriptor) => Protocol<T>,
): Protocol<T> {
  const d = yield* perform(openFile(ctx.table, path, bits, mode));
  return yield* closingAfter(d, run(d));
}

// ================================================================ whole-file operations

/** read(2) on a directory: EISDIR, as node:fs reports it (no path). */
function sizeHint(st: FileStat): number | undefined {
  if (st.isDirectory()) throw fsError('EISDIR', 'read');
  return st.isFile() ? st.size : undefined;
}

/** `readFile`: a path (opened, read to the end, closed) or an open Descriptor (read from its offset). */
export function* readFile(
  ctx: FacadeContext,
  file: PathLike | Descriptor,
  options: ReadFileOptions | FsEncoding | null | undefined,
): Protocol<string | Buffer> {
  const o = optionsOf(options);
  if (isDescriptor(file)) return decode(yield* readAll(file, undefined, null), o.encoding);
  // withFile's steps, written out, with the Calls yielded as they are: on the hot path every generator
  // level costs (see withFile and `perform`).
  const open = openFile(ctx.table, ctx.path(file), parseFlags(o.flag, 'r'), 0o666);
  const d = (yield open) as Descriptor;
  let buf: Buffer;
  try {
    const fstat = fstatOf(d);
    buf = yield* readAll(d, sizeHint((yield fstat) as FileStat), null);
  } catch (e) {
    yield* closeQuietly(d);
    throw e;
  }
  yield closeFile(d);
  return decode(buf, o.encoding);
}

/**
 * `writeFile` (`defaultFlag` `'w'`) and `appendFile` (`'a'`): a path (opened, written, flushed if
 * asked, closed) or an open Descriptor (written at its offset).
 */
export function* writeFile(
  ctx: FacadeContext,
  file: PathLike | Descriptor,
  data: FsData,
  options: WriteFileOptions | FsEncoding | null | undefined,
  defaultFlag: 'w' | 'a',
): Protocol<void> {
  const o = optionsOf(options);
  const bytes = dataBytes(data, o.encoding);
  if (isDescriptor(file)) {
    yield* writeAll(file, bytes, null);
    return;
  }
  const bits = parseFlags(o.flag, defaultFlag);
  // withFile's steps, written out, as in readFile.
  const open = openFile(ctx.table, ctx.path(file), bits, parseMode(o.mode, 0o666));
  const d = (yield open) as Descriptor;
  try {
    yield* writeOut(d, bytes, appending(bits) ? null : 0, o.flush === true);
  } catch (e) {
    yield* closeQuietly(d);
    throw e;
  }
  yield closeFile(d);
}

/**
 * `readFileSync` of a path: the common case of {@link readFile} run straight, each step called directly
 * on a brief open of the table ({@link FileTable.openBriefSync}: a budget slot and a backend descriptor,
 * no Descriptor, for a file opened and closed within this one call): open, fstat, one pread(2) of the
 * whole size, close. The protocol's runner and steps cost ~250 ns, and a Descriptor with its open file
 * description ~150 ns more, of a ~0.9 µs small-file read on the memory backend (bench 6a).
 *
 * Only the case is special, not the rules. A regular file read whole in one call is the case; anything
 * else turns the descriptor into a Descriptor of the table ({@link FileTable.keepBriefSync}) and reads
 * through {@link readAll}: a read that came back short continues at its position, a size that means
 * nothing (a FIFO, a /proc file) reads to the end. A failure closes the descriptor.
 */
export function readPathSync(
  ctx: FacadeContext,
  file: PathLike,
  options: ReadFileOptions | FsEncoding | null | undefined,
): string | Buffer {
  const o = optionsOf(options);
  const { table, backend } = ctx;
  const path = ctx.path(file);
  const bits = parseFlags(o.flag, 'r');
  const fd = table.openBriefSync(path, bits, 0o666);
  let got = EMPTY;
  let size: number | undefined;
  let whole: Buffer | undefined;
  try {
    size = sizeHint(backend.fstatSync(fd));
    if (size !== undefined && size > 0) {
      const buf = Buffer.allocUnsafe(size);
      const n = backend.readSync(fd, buf, 0, size, 0);
      if (n === size || n === 0) whole = n === 0 ? EMPTY : buf;
      else got = buf.subarray(0, n);
    }
  } catch (e) {
    closeBriefQuietly(table, fd);
    throw e;
  }
  if (whole !== undefined) {
    // Outside the try: a failing close has closed the descriptor and given its slot back already.
    table.closeBriefSync(fd);
    return decode(whole, o.encoding);
  }
  const d = table.keepBriefSync(fd, bits, path);
  // After a short read, at its end; otherwise nothing was read: at the description's offset, which also
  // reads a FIFO (a positioned read there fails with ESPIPE).
  const at = got.byteLength === 0 ? null : got.byteLength;
  const rest = runSync(closingAfter(d, readAll(d, size === undefined ? undefined : size - got.byteLength, at)));
  return decode(got.byteLength === 0 ? rest : Buffer.concat([got, rest]), o.encoding);
}

/**
 * `writeFileSync`/`appendFileSync` of a path: the common case of {@link writeFile} run straight on a brief
 * open (see {@link readPathSync} for why): open, one write(2) of everything, fsync if asked, close. A
 * short write turns the descriptor into a Descriptor and continues in {@link writeAll}; a failure closes it.
 */
export function writePathSync(
  ctx: FacadeContext,
  file: PathLike,
  data: FsData,
  options: WriteFileOptions | FsEncoding | null | undefined,
  defaultFlag: 'w' | 'a',
): void {
  const o = optionsOf(options);
  const { table, backend } = ctx;
  const bytes = dataBytes(data, o.encoding);
  const path = ctx.path(file);
  const bits = parseFlags(o.flag, defaultFlag);
  const fd = table.openBriefSync(path, bits, parseMode(o.mode, 0o666));
  const at = appending(bits) ? null : 0;
  let n: number;
  try {
    n = bytes.byteLength === 0 ? 0 : backend.writeSync(fd, bytes, 0, bytes.byteLength, at);
    if (n === bytes.byteLength && o.flush === true) backend.fsyncSync(fd);
  } catch (e) {
    closeBriefQuietly(table, fd);
    throw e;
  }
  if (n === bytes.byteLength) {
    // Outside the try: a failing close has closed the descriptor and given its slot back already.
    table.closeBriefSync(fd);
    return;
  }
  const d = table.keepBriefSync(fd, bits, path);
  runSync(closingAfter(d, writeOut(d, bytes.subarray(n), at === null ? null : n, o.flush === true)));
}

/** Closes a brief open on the way out of a failure: the first error is the one to report. */
function closeBriefQuietly(table: FileTable, fd: number): void {
  try {
    table.closeBriefSync(fd);
  } catch {
    // the original error matters more
  }
}

const EMPTY = Buffer.alloc(0);

/** `truncate` of a path: open read-write, ftruncate, close. */
export function* truncatePath(ctx: FacadeContext, p: PathLike, len: number | null | undefined): Protocol<void> {
  yield* withFile(ctx, ctx.path(p), O.RDWR, 0o666, (d) =>
    call(
      () => {
        d.truncateSync(len ?? 0);
      },
      () => d.truncate(len ?? 0),
    ),
  );
}

/** `chown` of a path: open read-only, fchown, close. */
export function* chownPath(ctx: FacadeContext, p: PathLike, uid: number, gid: number): Protocol<void> {
  yield* withFile(ctx, ctx.path(p), O.RDONLY, 0o666, (d) => fchownOf(d, uid, gid));
}

/** fchmod(2) on a Descriptor. */
export function fchmodOf(d: Descriptor, mode: FsMode): Protocol<void> {
  const bits = parseMode(mode, 0);
  return call(
    () => {
      d.chmodSync(bits);
    },
    () => d.chmod(bits),
  );
}

/** fchown(2) on a Descriptor. */
export function fchownOf(d: Descriptor, uid: number, gid: number): Protocol<void> {
  return call(
    () => {
      d.chownSync(uid, gid);
    },
    () => d.chown(uid, gid),
  );
}

/** `copyFile`: content and mode, through two descriptors; errors named `copyfile 'src' -> 'dest'`. */
export function* copyFile(ctx: FacadeContext, src: PathLike, dest: PathLike, mode: number): Protocol<void> {
  const from = ctx.path(src, 'src');
  const to = ctx.path(dest, 'dest');
  if ((mode & COPYFILE_FICLONE_FORCE) !== 0)
    throw fsError('ENOTSUP', 'copyfile', from, 'the backend cannot clone files', to);
  let sfd: Descriptor;
  try {
    sfd = yield* perform(openFile(ctx.table, from, O.RDONLY, 0o666));
  } catch (e) {
    throw reframe(e, 'copyfile', from, to);
  }
  try {
    const st = yield* perform(fstatOf(sfd));
    if (st.isDirectory()) throw fsError('EISDIR', 'copyfile', from, undefined, to);
    const perm = st.mode & 0o7777;
    let dfd: Descriptor;
    try {
      dfd = yield* perform(
        openFile(ctx.table, to, O.WRONLY | O.CREAT | O.TRUNC | ((mode & COPYFILE_EXCL) !== 0 ? O.EXCL : 0), perm),
      );
    } catch (e) {
      throw reframe(e, 'copyfile', from, to);
    }
    yield* closingAfter(dfd, copyContent(sfd, dfd, perm));
  } finally {
    yield* closeQuietly(sfd);
  }
}

/** Copies `from`'s content into `to` from offset 0, then gives `to` the permission bits `perm`. */
function* copyContent(from: Descriptor, to: Descriptor, perm: number): Protocol<void> {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; ;) {
    const n = yield* perform(readAt(from, buf, 0, CHUNK, pos));
    if (n === 0) break;
    yield* writeAll(to, buf.subarray(0, n), pos);
    pos += n;
  }
  yield* fchmodOf(to, perm);
}

/** Runs `work` on `d`, then closes `d` (quietly if `work` failed: its error is the one to report). */
function* closingAfter<T>(d: Descriptor, work: Protocol<T>): Protocol<T> {
  let result: T;
  try {
    result = yield* work;
  } catch (e) {
    yield* closeQuietly(d);
    throw e;
  }
  yield* perform(closeFile(d));
  return result;
}

// ================================================================ paths

/** `stat`/`lstat` with `throwIfNoEntry: false` support (undefined for a missing path). */
export function* statOf(
  ctx: FacadeContext,
  p: PathLike,
  link: boolean,
  throwIfNoEntry: boolean,
): Protocol<FileStat | undefined> {
  const path = ctx.path(p);
  try {
    return yield* perform(statPath(ctx.backend, path, link));
  } catch (e) {
    if (!throwIfNoEntry && isCode(e, 'ENOENT', 'ENOTDIR')) return undefined;
    throw e;
  }
}

/** `access`: stat, then the mode bits judged for the facade's credentials. */
export function* access(ctx: FacadeContext, p: PathLike, mode: number = F_OK): Protocol<void> {
  const path = ctx.path(p);
  let st: FileStat;
  try {
    st = yield* perform(statPath(ctx.backend, path, false));
  } catch (e) {
    throw reframe(e, 'access', path);
  }
  if (!accessAllowed(st, mode, ctx.credentials())) throw fsError('EACCES', 'access', path);
}

/** `exists`: whether stat succeeds (a bad path argument is "no"). */
export function* exists(ctx: FacadeContext, p: PathLike): Protocol<boolean> {
  try {
    yield* perform(statPath(ctx.backend, ctx.path(p), false));
    return true;
  } catch {
    return false;
  }
}

/** `mkdir`, with `recursive` walking up as `mkdir -p` (returns the first directory created, as given). */
export function* mkdir(
  ctx: FacadeContext,
  p: PathLike,
  options: MkdirOptions | FsMode | null | undefined,
): Protocol<string | undefined> {
  const o = mkdirOptions(options);
  if (o.recursive) return yield* mkdirp(ctx, pathString(p), o.mode);
  yield* perform(mkdirCall(ctx.backend, ctx.path(p), o.mode));
  return undefined;
}

function* mkdirp(ctx: FacadeContext, given: string, mode: number): Protocol<string | undefined> {
  const b = ctx.backend;
  const path = ctx.path(given);
  try {
    yield* perform(mkdirCall(b, path, mode));
    return given;
  } catch (e) {
    if (isCode(e, 'EEXIST')) {
      if ((yield* perform(statPath(b, path, false))).isDirectory()) return undefined;
      throw e;
    }
    if (!isCode(e, 'ENOENT')) throw e;
    const parent = parentOf(given);
    if (parent === given) throw e;
    const first = yield* mkdirp(ctx, parent, mode);
    try {
      yield* perform(mkdirCall(b, path, mode));
    } catch (e2) {
      if (!(isCode(e2, 'EEXIST') && (yield* perform(statPath(b, path, false))).isDirectory())) throw e2;
    }
    return first ?? given;
  }
}

/** `mkdtemp`: `prefix` + six random characters, retried on EEXIST. */
export function* mkdtemp(
  ctx: FacadeContext,
  prefix: string,
  options: EncodingOptions | FsEncoding | null | undefined,
): Protocol<string | Buffer> {
  const given = pathString(prefix, 'prefix');
  for (let attempt = 0; ; attempt++) {
    const candidate = given + tempSuffix();
    try {
      yield* perform(mkdirCall(ctx.backend, ctx.path(candidate), 0o700));
      return encodeName(candidate, optionsOf(options).encoding);
    } catch (e) {
      if (!isCode(e, 'EEXIST') || attempt >= 100) throw e;
    }
  }
}

function* removeTree(b: Backend, path: string): Protocol<void> {
  for (const n of yield* perform(readdirCall(b, path))) {
    const child = joinPath(path, n);
    if ((yield* perform(statPath(b, child, true))).isDirectory()) yield* removeTree(b, child);
    else yield* perform(unlinkCall(b, child));
  }
  yield* perform(rmdirCall(b, path));
}

/** `rm`: a file, or with `recursive` a tree; `force` ignores a missing path. */
export function* rm(ctx: FacadeContext, p: PathLike, options: RmOptions | undefined): Protocol<void> {
  const b = ctx.backend;
  const path = ctx.path(p);
  let st: FileStat;
  try {
    st = yield* perform(statPath(b, path, true));
  } catch (e) {
    if (options?.force === true && isCode(e, 'ENOENT')) return;
    throw reframe(e, 'rm', path);
  }
  if (st.isDirectory()) {
    if (options?.recursive !== true) throw rmIsDirectory(path);
    yield* removeTree(b, path);
  } else {
    yield* perform(unlinkCall(b, path));
  }
}

/** `rmdir`, with the deprecated `recursive` removing a tree. */
export function* rmdir(ctx: FacadeContext, p: PathLike, options: RmdirOptions | undefined): Protocol<void> {
  if (options?.recursive === true) yield* removeTree(ctx.backend, ctx.path(p));
  else yield* perform(rmdirCall(ctx.backend, ctx.path(p)));
}

/** `readdir`: names (or Dirents), with `recursive` breadth-first as node:fs lists. */
export function* readdir(
  ctx: FacadeContext,
  p: PathLike,
  options: ReaddirOptions | FsEncoding | null | undefined,
): Protocol<ReaddirResult> {
  const b = ctx.backend;
  const o = optionsOf(options);
  const root = ctx.path(p);
  const types = o.withFileTypes === true;
  if (o.recursive !== true) {
    const names = yield* perform(readdirCall(b, root));
    if (!types) return encodeNames(names, o.encoding);
    const dirents: Dirent<string | Buffer>[] = [];
    for (const n of names)
      dirents.push(
        new Dirent(encodeName(n, o.encoding), root, (yield* perform(statPath(b, joinPath(root, n), true))).mode),
      );
    return dirents;
  }
  const names: string[] = [];
  const dirents: Dirent<string | Buffer>[] = [];
  const queue: [string, string][] = [[root, '']];
  // A for-of over an array also visits what is pushed while it runs.
  for (const [dir, rel] of queue) {
    for (const n of yield* perform(readdirCall(b, dir))) {
      const full = joinPath(dir, n);
      const mode = (yield* perform(statPath(b, full, true))).mode;
      if (types) dirents.push(new Dirent(encodeName(n, o.encoding), dir, mode));
      else names.push(rel === '' ? n : `${rel}/${n}`);
      if ((mode & 0o170000) === 0o040000) queue.push([full, rel === '' ? n : `${rel}/${n}`]);
    }
  }
  return types ? dirents : encodeNames(names, o.encoding);
}

/** `readlink`, in the encoding asked for. */
export function* readlink(
  ctx: FacadeContext,
  p: PathLike,
  options: EncodingOptions | FsEncoding | null | undefined,
): Protocol<string | Buffer> {
  return encodeName(yield* perform(readlinkCall(ctx.backend, ctx.path(p))), optionsOf(options).encoding);
}

/** The most symlinks followed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * `realpath`: realpath(3) on the absolute form of `p`, one component at a time with lstat and readlink
 * (so it works the same on every backend).
 */
export function* realpath(
  ctx: FacadeContext,
  p: PathLike,
  options: EncodingOptions | FsEncoding | null | undefined,
): Protocol<string | Buffer> {
  const original = ctx.absolute(p);
  let resolved = '/';
  const rest = original.split('/').reverse();
  let links = 0;
  for (let c = rest.pop(); c !== undefined; c = rest.pop()) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      resolved = parentOf(resolved);
      continue;
    }
    const next = joinPath(resolved, c);
    const st = yield* perform(statPath(ctx.backend, next, true));
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw fsError('ELOOP', 'realpath', original);
      const target = yield* perform(readlinkCall(ctx.backend, next));
      if (target.startsWith('/')) resolved = '/';
      for (const t of target.split('/').reverse()) rest.push(t);
    } else if (!st.isDirectory() && rest.some((x) => x !== '')) {
      // More components follow a file: the next lstat fails with ENOTDIR anyway; say it here.
      throw fsError('ENOTDIR', 'lstat', next);
    } else {
      resolved = next;
    }
  }
  return encodeName(resolved, optionsOf(options).encoding);
}

/** readFile/writeFile's target: a path as it is, or the table's Descriptor of a descriptor number. */
export function fileOf(table: FileTable, file: PathLike | number, syscall: string): PathLike | Descriptor {
  return typeof file === 'number' ? table.descriptor(fdArg(file), syscall) : file;
}

/** Whether a readFile/writeFile target is an open Descriptor (rather than a path). */
export function isDescriptor(file: PathLike | Descriptor): file is Descriptor {
  return typeof file === 'object' && !(file instanceof URL) && !Buffer.isBuffer(file);
}
