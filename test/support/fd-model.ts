/**
 * A reference model of a POSIX descriptor table over a model file system (name → bytes), written to be
 * obviously right rather than fast. The property test (test/table-model.test.ts) runs the same random
 * operations on a real FileTable and on this model and compares every result.
 *
 * What it models:
 * - open(2) with an access mode and O_CREAT / O_EXCL / O_TRUNC / O_APPEND, returning the lowest free
 *   number; close, dup, dup2, read, pread, write, lseek, ftruncate, fstat's size;
 * - open file descriptions: duplicates share one offset and one set of status flags;
 * - append mode: every write goes to the end of the file; holes read as zeros;
 * - POSIX errors: EBADF (not open; not open for reading/writing), ENOENT, EEXIST, EINVAL (negative
 *   resulting offset, bad whence, negative length or position, ftruncate on a read-only description as
 *   Linux reports it).
 *
 * What it models because fdkeeper documents it (a real kernel would differ):
 * - numbers are allocated lowest-free among the numbers *busy in the kernel*, which are: numbers open
 *   outside the table (seeded from /proc/self/fd at the start) and the table's open numbers. Each open
 *   file description has one backend number among its open numbers: closing it (or dup2 onto it) while
 *   duplicates live moves the description onto a duplicate's number, so no number stays busy that
 *   POSIX would have freed (regular files: fdkeeper reopens the file onto the duplicate's number);
 * - dup2 onto a number busy outside the table's open numbers fails with EBUSY;
 * - a negative position (pread) or length (ftruncate) is EINVAL before the descriptor is looked at, as
 *   Linux checks them;
 * - after a write in append mode the offset is where the write ended (`appendOffset: 'posix'`, the
 *   default). `appendOffset: 'lazy-end'` is the rule fdkeeper had before: "at the end of the file",
 *   resolved to the file's size when next needed (the model test's control uses it).
 */
import { constants } from 'node:fs';

/** The `O_*` bits the model understands (node:fs's values for this platform). */
export const MO = {
  RDONLY: constants.O_RDONLY,
  WRONLY: constants.O_WRONLY,
  RDWR: constants.O_RDWR,
  ACCMODE: constants.O_RDONLY | constants.O_WRONLY | constants.O_RDWR,
  CREAT: constants.O_CREAT,
  EXCL: constants.O_EXCL,
  TRUNC: constants.O_TRUNC,
  APPEND: constants.O_APPEND,
} as const;

/** A POSIX error raised by the model: only the code matters. */
export class ModelError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ModelError';
    this.code = code;
  }
}

/** How the offset behaves after a write in append mode; see the module comment. */
export type AppendOffsetRule = 'lazy-end' | 'posix';

/** Options for {@link FdModel}. */
export interface FdModelOptions {
  /** Numbers open in the process outside the table when the model starts (stdio, the runner's, …). */
  outside: Iterable<number>;
  /** See {@link AppendOffsetRule}. Default `'posix'`. */
  appendOffset?: AppendOffsetRule;
  /** Initial files. */
  files?: Iterable<[string, Uint8Array]>;
}

/** `'end'`: at the end of the file, resolved when next needed (after an append write, `'lazy-end'` rule). */
type Offset = number | 'end';

interface Description {
  readonly id: number;
  readonly path: string;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly append: boolean;
  offset: Offset;
  /** The table number that is this description's backend descriptor (the original's, until it closes or dup2 replaces it). */
  backend: number;
  /** Numbers in the table pointing at it. */
  refs: number;
}

/** Whence values as lseek takes them. */
export const SEEK = { SET: 0, CUR: 1, END: 2 } as const;

export class FdModel {
  /** The file system: name → contents. */
  readonly files = new Map<string, Uint8Array>();
  private readonly outside: ReadonlySet<number>;
  private readonly appendRule: AppendOffsetRule;
  private readonly entries = new Map<number, Description>();
  private nextId = 1;

  constructor(options: FdModelOptions) {
    this.outside = new Set(options.outside);
    this.appendRule = options.appendOffset ?? 'posix';
    for (const [name, bytes] of options.files ?? []) this.files.set(name, Uint8Array.from(bytes));
  }

  // ---------------------------------------------------------------- queries

  /** The table's open numbers, ascending. */
  openNumbers(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  /** Every number busy in the kernel, ascending: outside ones, the table's, and retained backends. */
  busyNumbers(): number[] {
    const busy = new Set<number>(this.outside);
    for (const [n, d] of this.entries) {
      busy.add(n);
      busy.add(d.backend);
    }
    return [...busy].sort((a, b) => a - b);
  }

  /**
   * How many kernel descriptors the table itself holds: one per live description (its backend) plus
   * one per open number that is not its description's backend (a duplicate's reservation).
   */
  heldCount(): number {
    return this.tableBusy().size;
  }

  /** A description's path, for messages. */
  pathOf(fd: number): string | undefined {
    return this.entries.get(fd)?.path;
  }

  // ---------------------------------------------------------------- syscalls

  /** open(2). `flags` are `O_*` bits ({@link MO}). */
  open(path: string, flags: number): number {
    const acc = flags & MO.ACCMODE;
    const exists = this.files.has(path);
    if ((flags & MO.CREAT) !== 0 && (flags & MO.EXCL) !== 0 && exists) throw new ModelError('EEXIST', `open '${path}'`);
    if (!exists && (flags & MO.CREAT) === 0) throw new ModelError('ENOENT', `open '${path}'`);
    if (!exists) this.files.set(path, new Uint8Array(0));
    // O_TRUNC on a read-only open is unspecified by POSIX; the model only truncates with write access.
    if ((flags & MO.TRUNC) !== 0 && acc !== MO.RDONLY) this.files.set(path, new Uint8Array(0));
    const n = this.lowestFree();
    const d: Description = {
      id: this.nextId++,
      path,
      readable: acc !== MO.WRONLY,
      writable: acc !== MO.RDONLY,
      append: (flags & MO.APPEND) !== 0,
      offset: 0,
      backend: n,
      refs: 1,
    };
    this.entries.set(n, d);
    return n;
  }

  /** close(2). */
  close(fd: number): void {
    const d = this.get(fd, 'close');
    this.entries.delete(fd);
    d.refs--;
    this.moveBackendOff(d, fd);
  }

  /** When `d`'s backend number `fd` leaves it, the description moves onto another of its numbers. */
  private moveBackendOff(d: Description, fd: number): void {
    if (d.backend !== fd) return;
    for (const [n, other] of this.entries) {
      if (other === d && n !== fd) {
        d.backend = n;
        return;
      }
    }
  }

  /** dup(2). */
  dup(fd: number): number {
    const d = this.get(fd, 'dup');
    const n = this.lowestFree();
    this.entries.set(n, d);
    d.refs++;
    return n;
  }

  /** dup2(2), with fdkeeper's EBUSY for a number busy outside the table's open numbers. */
  dup2(fd: number, fd2: number): number {
    const d = this.get(fd, 'dup2');
    if (!Number.isSafeInteger(fd2) || fd2 < 0) throw new ModelError('EBADF', `dup2 onto ${fd2}`);
    if (fd2 === fd) return fd2;
    const old = this.entries.get(fd2);
    if (old === undefined) {
      if (this.busyNumbers().includes(fd2)) throw new ModelError('EBUSY', `dup2 onto ${fd2}, busy outside the table`);
    } else {
      old.refs--;
    }
    this.entries.set(fd2, d);
    // The original of a description that duplicates still use: it moves onto one of their numbers.
    if (old !== undefined) this.moveBackendOff(old, fd2);
    d.refs++;
    return fd2;
  }

  /** read(2): up to `length` bytes at the shared offset, advancing it. */
  read(fd: number, length: number): Uint8Array {
    const d = this.get(fd, 'read');
    if (!d.readable) throw new ModelError('EBADF', `read: fd ${fd} not open for reading`);
    const file = this.file(d);
    const pos = d.offset === 'end' ? file.length : d.offset;
    const out = file.slice(Math.min(pos, file.length), Math.min(pos + length, file.length));
    d.offset = pos + out.length;
    return out;
  }

  /** pread(2): up to `length` bytes at `position`; the offset does not move. */
  pread(fd: number, length: number, position: number): Uint8Array {
    if (position < 0) throw new ModelError('EINVAL', `pread at ${position}`);
    const d = this.get(fd, 'read');
    if (!d.readable) throw new ModelError('EBADF', `pread: fd ${fd} not open for reading`);
    const file = this.file(d);
    return file.slice(Math.min(position, file.length), Math.min(position + length, file.length));
  }

  /** write(2): at the shared offset, or at the end in append mode. Returns the bytes written. */
  write(fd: number, data: Uint8Array): number {
    const d = this.get(fd, 'write');
    if (!d.writable) throw new ModelError('EBADF', `write: fd ${fd} not open for writing`);
    const file = this.file(d);
    if (d.append) {
      this.files.set(d.path, concat(file, data));
      // An empty write leaves the offset alone (Linux does not even look at the end for it).
      if (data.length > 0) d.offset = this.appendRule === 'lazy-end' ? 'end' : file.length + data.length;
      return data.length;
    }
    const pos = d.offset === 'end' ? file.length : d.offset;
    if (data.length > 0) this.files.set(d.path, writeAt(file, pos, data));
    d.offset = pos + data.length;
    return data.length;
  }

  /** lseek(2). */
  seek(fd: number, offset: number, whence: number): number {
    const d = this.get(fd, 'lseek');
    const size = this.file(d).length;
    let base: number;
    if (whence === SEEK.SET) base = 0;
    else if (whence === SEEK.CUR) base = d.offset === 'end' ? size : d.offset;
    else if (whence === SEEK.END) base = size;
    else throw new ModelError('EINVAL', `lseek whence ${whence}`);
    const target = base + offset;
    if (target < 0) throw new ModelError('EINVAL', `lseek to ${target}`);
    d.offset = target;
    return target;
  }

  /** ftruncate(2); the offset does not move. */
  ftruncate(fd: number, length: number): void {
    if (length < 0) throw new ModelError('EINVAL', `ftruncate to ${length}`);
    const d = this.get(fd, 'ftruncate');
    if (!d.writable) throw new ModelError('EINVAL', `ftruncate: fd ${fd} not open for writing`);
    const file = this.file(d);
    // fdkeeper fixes an "at end" offset before changing the size through the same description.
    if (d.offset === 'end') d.offset = file.length;
    const out = new Uint8Array(length);
    out.set(file.subarray(0, Math.min(length, file.length)));
    this.files.set(d.path, out);
  }

  /** fstat(2)'s size. */
  size(fd: number): number {
    return this.file(this.get(fd, 'fstat')).length;
  }

  // ---------------------------------------------------------------- internals

  private get(fd: number, syscall: string): Description {
    const d = this.entries.get(fd);
    if (d === undefined) throw new ModelError('EBADF', `${syscall}: fd ${fd} is not open in the table`);
    return d;
  }

  private file(d: Description): Uint8Array {
    const f = this.files.get(d.path);
    if (f === undefined) throw new Error(`model invariant: open file '${d.path}' has no contents`);
    return f;
  }

  /** Numbers busy in the kernel because of the table. */
  private tableBusy(): Set<number> {
    const busy = new Set<number>();
    for (const [n, d] of this.entries) {
      busy.add(n);
      busy.add(d.backend);
    }
    return busy;
  }

  private lowestFree(): number {
    const busy = new Set(this.busyNumbers());
    let n = 0;
    while (busy.has(n)) n++;
    return n;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** `file` with `data` written at `pos`, the gap (if any) filled with zeros. */
function writeAt(file: Uint8Array, pos: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(file.length, pos + data.length));
  out.set(file);
  out.set(data, pos);
  return out;
}
