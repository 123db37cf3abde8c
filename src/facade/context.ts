/**
 * What every part of the node:fs facade shares: the backend, path resolution, argument parsing the way
 * node:fs does it, and a few loops (read everything, write everything) used by both the synchronous and
 * the promise forms.
 *
 * @module
 */
import { posix, resolve as resolveNative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../backend/backend.js';
import { OsBackend } from '../backend/os-backend.js';
import { O, parseOpenFlags } from '../backend/flags.js';
import { FsError } from '../errors/fs-error.js';
import { FileTable } from '../table/file-table.js';
import { fdtable } from '../table/default-table.js';

/** A path as node:fs takes it: a string, a Buffer (its UTF-8 bytes), or a `file:` URL. */
export type PathLike = string | Buffer | URL;

/** The encodings node:fs takes for text, plus `'buffer'` for "give me Buffers". */
export type FsEncoding = BufferEncoding | 'buffer';

/** Data to write: a string or any typed array / DataView. */
export type FsData = string | NodeJS.ArrayBufferView;

/** The shared state of one facade: its backend, its descriptor table and how it resolves relative paths. */
export interface FacadeContext {
  readonly backend: Backend;
  /** Where every file the facade opens is held, as a Descriptor. */
  readonly table: FileTable;
  /** Turns a path argument into the path handed to the backend. */
  readonly path: (p: PathLike, name?: string) => string;
  /** The absolute form of a path argument (for `realpath`). */
  readonly absolute: (p: PathLike) => string;
  /** Who `access` checks are made for. */
  readonly credentials: () => { uid: number; gid: number; groups: readonly number[] };
}

/** Options of {@link createFs}. */
export interface CreateFsOptions {
  /**
   * The directory relative paths are resolved against, by the facade, before they reach the backend.
   * Default: none: relative paths go to the backend as they are, and it resolves them as its own
   * working directory says — the OS against `process.cwd()`, as node:fs does; the in-memory backend
   * against its `cwd` option, `'/'` by default.
   */
  cwd?: string;
  /**
   * The descriptor table every open file of the facade lives in: `openSync` returns its numbers, a
   * FileHandle and a stream hold its Descriptors, and the promise and callback forms wait in its budget
   * queue (see `FileTableOptions.maxOpen`) and retry an EMFILE instead of failing. Its backend must be
   * `backend`. Default: the process table ({@link fdtable}) when `backend` is its backend, otherwise a
   * new `FileTable({ backend })` of the facade's own.
   */
  table?: FileTable;
}

/** A backend that says what its working directory is (the in-memory one does). */
interface WithCwd {
  readonly cwd?: unknown;
}

/** Builds the context of a facade over `backend`. */
export function makeContext(backend: Backend, options: CreateFsOptions = {}): FacadeContext {
  const cwd = options.cwd;
  if (cwd !== undefined && !cwd.startsWith('/'))
    throw new TypeError(`createFs: cwd must be an absolute path, not '${cwd}'`);
  const base = cwd === undefined ? '' : cwd.endsWith('/') ? cwd : `${cwd}/`;
  const path = (p: PathLike, name = 'path'): string => {
    const s = pathString(p, name);
    // Joined, not normalized: '..' and symlinks are the backend's to resolve, as the kernel's are.
    return cwd === undefined || s.startsWith('/') ? s : base + s;
  };
  const absolute = (p: PathLike): string => {
    const s = pathString(p, 'path');
    if (cwd !== undefined) return posix.resolve(cwd, s);
    if (backend instanceof OsBackend) return resolveNative(s);
    const own = (backend as WithCwd).cwd;
    return posix.resolve(typeof own === 'string' ? own : '/', s);
  };
  return {
    backend,
    table: tableFor(backend, options.table),
    path,
    absolute,
    credentials: () => credentialsOf(backend),
  };
}

/** The table of a facade over `backend`: the one given (over the same backend), or the default. */
function tableFor(backend: Backend, table: FileTable | undefined): FileTable {
  if (table === undefined) return backend === fdtable.backend ? fdtable : new FileTable({ backend });
  if (table.backend !== backend)
    throw new TypeError('createFs: options.table must be a FileTable over the same backend');
  return table;
}

/** A backend that says which user it acts as (the in-memory one does). */
interface WithCredentials {
  readonly uid?: unknown;
  readonly gid?: unknown;
}

/** The uid/gid access checks are made for: the backend's own, if it has them, else this process's. */
function credentialsOf(backend: Backend): { uid: number; gid: number; groups: readonly number[] } {
  const c = backend as WithCredentials;
  if (!(backend instanceof OsBackend) && typeof c.uid === 'number' && typeof c.gid === 'number')
    return { uid: c.uid, gid: c.gid, groups: [c.gid] };
  const gid = process.getgid?.() ?? 0;
  return { uid: process.getuid?.() ?? 0, gid, groups: process.getgroups?.() ?? [gid] };
}

/** The string form of a path argument; a TypeError (as node:fs throws) for anything else. */
export function pathString(p: PathLike, name = 'path'): string {
  if (typeof p === 'string') {
    if (p.includes('\u0000')) throw invalidArgValue(name, p, 'must be a string without null bytes');
    return p;
  }
  if (Buffer.isBuffer(p)) return pathString(p.toString('utf8'), name);
  if (p instanceof URL) return fileURLToPath(p);
  throw invalidArgType(name, 'of type string or an instance of Buffer or URL', p);
}

/** A Node-style `TypeError [ERR_INVALID_ARG_TYPE]`. */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  const e = new TypeError(`The "${name}" argument must be ${expected}. Received ${describeValue(actual)}`);
  (e as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

/** A Node-style `TypeError [ERR_INVALID_ARG_VALUE]`. */
export function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  const e = new TypeError(`The argument '${name}' ${reason}. Received ${describeValue(value)}`);
  (e as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  return e;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `'${v.length > 28 ? `${v.slice(0, 25)}...` : v}'`;
  if (typeof v === 'function') return 'function';
  if (typeof v === 'object')
    return `an instance of ${(Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'Object'}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean')
    return `type ${typeof v} (${String(v)})`;
  return `type ${typeof v}`;
}

/** `O_*` bits from a node:fs flags argument (`'r'`, `'a+'`, a number), or `fallback` when absent. */
export function parseFlags(flags: string | number | undefined | null, fallback: string | number): number {
  const f = flags ?? fallback;
  const bits = parseOpenFlags(f);
  if (bits === undefined) throw invalidArgValue('flags', f, 'is invalid');
  return bits;
}

/** Whether `flags` (bits) open for appending. */
export function appending(bits: number): boolean {
  return (bits & O.APPEND) !== 0;
}

/** The file-mode argument as a number (`'644'` strings are octal, as in node:fs), or `fallback`. */
export function parseMode(mode: number | string | undefined | null, fallback: number): number {
  if (mode === undefined || mode === null) return fallback;
  if (typeof mode === 'number') return mode;
  if (/^[0-7]+$/.test(mode)) return parseInt(mode, 8);
  throw invalidArgValue('mode', mode, 'must be a 32-bit unsigned integer or an octal string');
}

/** The options object of a call whose options may also be given as just an encoding string. */
export function optionsOf<T extends object>(
  options: T | FsEncoding | undefined | null,
): Partial<T> & { encoding?: FsEncoding | null } {
  if (options === undefined || options === null) return {};
  if (typeof options === 'string') return { encoding: options } as Partial<T> & { encoding?: FsEncoding | null };
  return options;
}

/** A Uint8Array over the same memory as `v` (no copy). */
export function bytesOf(v: NodeJS.ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The bytes of data to write: a string encoded (UTF-8 by default), a view as it is. */
export function dataBytes(data: FsData, encoding: FsEncoding | null | undefined): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding === 'buffer' || encoding == null ? 'utf8' : encoding);
  if (ArrayBuffer.isView(data)) return bytesOf(data);
  throw invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

/** A Buffer decoded with `encoding`, or the Buffer itself (no encoding, or `'buffer'`). */
export function decode(buf: Buffer, encoding: FsEncoding | null | undefined): string | Buffer {
  return encoding == null || encoding === 'buffer' ? buf : buf.toString(encoding);
}

/** A read or write position as node:fs takes it: `null`, `undefined` and `-1` mean "at the current offset". */
export function positionOf(position: number | bigint | null | undefined): number | null {
  if (position === null || position === undefined) return null;
  const n = typeof position === 'bigint' ? Number(position) : position;
  if (n === -1) return null;
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgValue('position', position, 'must be an integer >= -1');
  return n;
}

/** Checks `offset`/`length` against a buffer as node:fs does (a RangeError when they do not fit). */
export function checkRange(buffer: Uint8Array, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > buffer.byteLength) {
    const e = new RangeError(
      `The value of "offset" is out of range. It must be >= 0 && <= ${buffer.byteLength}. Received ${offset}`,
    );
    (e as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
    throw e;
  }
  if (!Number.isSafeInteger(length) || length < 0 || offset + length > buffer.byteLength) {
    const e = new RangeError(
      `The value of "length" is out of range. It must be >= 0 && <= ${buffer.byteLength - offset}. Received ${length}`,
    );
    (e as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
    throw e;
  }
}

/** The same error with another syscall and paths (`copyfile 'a' -> 'b'` for a failed open inside copyFile). */
export function reframe(e: unknown, syscall: string, path: string, dest?: string): unknown {
  if (!(e instanceof FsError)) return e;
  return new FsError({ code: e.code, syscall, path, dest, detail: e.detail, cause: e });
}

/** An FsError built here (EISDIR from readFile on a directory, ELOOP in realpath…). */
export function fsError(code: string, syscall: string, path?: string, detail?: string, dest?: string): FsError {
  return new FsError({ code, syscall, path, dest, detail });
}

/** node:fs's `rm` of a directory without `recursive`: `ERR_FS_EISDIR`. */
export function rmIsDirectory(path: string): FsError {
  const cause = new Error(`ERR_FS_EISDIR: Path is a directory, rm '${path}'`);
  return new FsError({
    code: 'ERR_FS_EISDIR',
    syscall: 'rm',
    path,
    detail: 'rm returned EISDIR (is a directory); pass recursive: true',
    cause,
  });
}

/** Whether `e` is an error with one of `codes`. */
export function isCode(e: unknown, ...codes: string[]): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as Error & { code?: unknown }).code;
  return typeof code === 'string' && codes.includes(code);
}

/** Size of the chunks files of unknown size are read in, and copies are made in. */
export const CHUNK = 64 * 1024;

/** Letters for mkdtemp suffixes. */
const TEMP_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Six random characters, as mkdtemp(3) puts after the prefix. */
export function tempSuffix(): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += TEMP_CHARS[Math.floor(Math.random() * TEMP_CHARS.length)] ?? 'X';
  return s;
}

/** The parent of a path as the user gave it (`'a/b'` → `'a'`, `'a'` → `'.'`, `'/'` → `'/'`). */
export function parentOf(p: string): string {
  return posix.dirname(p);
}

/** `dir/name` without doubling the slash. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** node:fs `access` modes. */
export const F_OK = 0;
/** See {@link F_OK}. */
export const R_OK = 4;
/** See {@link F_OK}. */
export const W_OK = 2;
/** See {@link F_OK}. */
export const X_OK = 1;

/**
 * access(2) from a file's mode bits and owner, as the kernel decides it for `who`: root may read and
 * write anything and execute what has any execute bit (or is a directory).
 */
export function accessAllowed(
  st: { mode: number; uid: number; gid: number; isDirectory(): boolean },
  mode: number,
  who: { uid: number; gid: number; groups: readonly number[] },
): boolean {
  if (mode === F_OK) return true;
  if (who.uid === 0) return (mode & X_OK) === 0 || (st.mode & 0o111) !== 0 || st.isDirectory();
  const bits =
    st.uid === who.uid
      ? (st.mode >> 6) & 7
      : st.gid === who.gid || who.groups.includes(st.gid)
        ? (st.mode >> 3) & 7
        : st.mode & 7;
  return (bits & mode) === mode;
}
