import type { FileStat } from '../backend/backend.js';
import { FsError, rejected } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import type { Descriptor } from '../table/descriptor.js';
import type { FileTable, Whence } from '../table/file-table.js';
import {
  check,
  checkSize,
  closedFileError,
  closedSelf,
  descriptorOf,
  IoBase,
  showName,
  tableOf,
  unsupported,
  writeAllSteps,
} from './io-base.js';

/** How big a buffer `readall` starts with when the file's size says nothing useful. */
const READALL_CHUNK = 64 * 1024;
const NL = 0x0a;

/**
 * The raw layer, Python's `FileIO`: one syscall per call on one descriptor, no buffering.
 * `read(n)` may return fewer bytes than asked, `write(b)` may write fewer than given (the buffered layer
 * loops). Opened by `open(path, 'rb', { buffering: 0 })` or wrapping a number with `open(fd, …)`.
 *
 * ### Ownership
 * With `closefd` (the default for paths) the RawFile owns its descriptor: `close()` closes it. With
 * `closefd: false` it borrows: `close()` only ends this object's use, and if the owner closes the
 * descriptor first, every call here fails with EBADF naming where it was opened and closed — it never
 * reaches a number that may since belong to another file.
 *
 * `fileno()` hands out the plain number. From then on garbage collection will never close the
 * descriptor (somebody may be using the number); only an explicit close does.
 *
 * Supports `using` / `await using`. Not safe for concurrent use from several workers.
 */
export class RawFile extends IoBase implements Iterable<Buffer>, AsyncIterable<Buffer> {
  /** Whether `close()` closes the descriptor (false: borrowed). */
  readonly closefd: boolean;

  /**
   * Wraps a table entry; `open(path, 'rb', { buffering: 0 })` and `open(fd, …)` build one for you.
   * `ownsDescriptor` (default `closefd`) says whether `close()` closes the table entry: a number adopted
   * with `closefd: false` gets an entry of its own that the file closes, while the kernel descriptor under
   * it stays open (the entry's description does not own it).
   */
  constructor(
    table: FileTable,
    descriptor: Descriptor,
    name: string | number,
    mode: string,
    closefd: boolean,
    ownsDescriptor = closefd,
  ) {
    super(name, mode, descriptor, table, undefined, undefined, ownsDescriptor);
    this.closefd = closefd;
  }

  /** The table the descriptor lives in. */
  get table(): FileTable {
    return this[tableOf];
  }
  /** The table entry this file reads and writes through. */
  get descriptor(): Descriptor {
    return this[descriptorOf];
  }
  /** Whether every write goes to the end of the file (`O_APPEND`), wherever the offset is. */
  get appending(): boolean {
    return this[descriptorOf].description.append;
  }

  /**
   * A borrowed view of the same descriptor (`closefd: false`): give it to code that must not close
   * the file. Once the owner closes, the view's calls fail with EBADF naming the open and close sites.
   */
  borrow(): RawFile {
    this[check]('borrow');
    this.descriptor.shared = true;
    return new RawFile(this.table, this.descriptor, this.name, this.mode, false);
  }

  /** dup(2): a new RawFile owning a duplicate descriptor that shares this one's offset and flags. */
  dupSync(): RawFile {
    this[check]('dup');
    const d = this.table.dupDescriptor(this.descriptor);
    return new RawFile(this.table, d, this.name, this.mode, true);
  }

  // ---------------------------------------------------------------- reading

  /** Reads up to `size` bytes with one read(2); `-1`/omitted reads to end of file. An empty buffer means end of file. */
  readSync(size = -1): Buffer {
    return runSync(this.#read(size));
  }

  /** Promise form of {@link RawFile.readSync}. */
  read(size = -1): Promise<Buffer> {
    return runAsync(this.#read(size));
  }

  *#read(size: number): Protocol<Buffer> {
    const n = checkSize(size, 'read');
    if (n < 0) return yield* this.#readall();
    const buf = Buffer.allocUnsafe(n);
    const got = yield* call(
      () => this.readintoSync(buf),
      () => this.readinto(buf),
    );
    return got === n ? buf : buf.subarray(0, got);
  }

  // readinto and write stay a pair of one-liners: one syscall each, the rw4k rows (docs/benchmarks.md)
  // hold them to 1.05x of the Descriptor call, which a generator per call would not keep.

  /** Reads into `buffer` with one read(2); returns the byte count (0 at end of file). */
  readintoSync(buffer: Uint8Array): number {
    if (this[closedSelf]) throw closedFileError('read', this.name); // the descriptor checks the rest
    return this[descriptorOf].readSync(buffer, 0, buffer.byteLength);
  }

  /** Promise form of {@link RawFile.readintoSync}. */
  readinto(buffer: Uint8Array): Promise<number> {
    if (this[closedSelf]) return rejected(closedFileError('read', this.name)); // the descriptor checks the rest
    return this[descriptorOf].read(buffer, 0, buffer.byteLength);
  }

  /** Reads everything from the current offset to end of file. */
  readallSync(): Buffer {
    return runSync(this.#readall());
  }

  /** Promise form of {@link RawFile.readallSync}. */
  readall(): Promise<Buffer> {
    return runAsync(this.#readall());
  }

  *#readall(): Protocol<Buffer> {
    this.#checkReadable();
    const d = this.descriptor;
    const chunks: Buffer[] = [];
    let total = 0;
    let size = this.#sizeHint(
      yield* call(
        () => d.statSync(),
        () => d.stat(),
      ),
    );
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const want = size;
      const n = yield* call(
        () => d.readSync(buf, 0, want),
        () => d.read(buf, 0, want),
      );
      if (n === 0) break;
      chunks.push(n === size ? buf : buf.subarray(0, n));
      total += n;
      size = READALL_CHUNK;
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  }

  /** A first read size: what is left of a regular file plus one byte (to see end of file in one more call). */
  #sizeHint(st: FileStat): number {
    if (!st.isFile()) return READALL_CHUNK;
    let pos: number;
    try {
      pos = this.descriptor.tellSync();
    } catch {
      return READALL_CHUNK;
    }
    return Math.max(st.size - pos + 1, 1);
  }

  /**
   * One line, including its `\n`; an empty buffer at end of file. `limit` caps the length. Like Python's
   * FileIO, the raw layer reads one byte per read(2) so that it never consumes bytes past the line (the
   * offset stays exact, and a pipe keeps the rest for whoever reads it next): wrap the file in a
   * BufferedFile to read many lines.
   */
  readlineSync(limit = -1): Buffer {
    return runSync(this.#readline(limit));
  }

  /** Promise form of {@link RawFile.readlineSync}. */
  readline(limit = -1): Promise<Buffer> {
    return runAsync(this.#readline(limit));
  }

  *#readline(limit: number): Protocol<Buffer> {
    const max = checkSize(limit, 'readline');
    this.#checkReadable();
    const d = this.descriptor;
    const out: number[] = [];
    const one = Buffer.allocUnsafe(1);
    while (max < 0 || out.length < max) {
      if (
        (yield* call(
          () => d.readSync(one, 0, 1),
          () => d.read(one, 0, 1),
        )) === 0
      )
        break;
      const b = one[0] as number;
      out.push(b);
      if (b === NL) break;
    }
    return Buffer.from(out);
  }

  /** Iterates over the lines (Buffers ending in `\n`, the last one possibly without). */
  *linesSync(): Generator<Buffer, void, undefined> {
    for (;;) {
      const line = this.readlineSync();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** Async iteration over the lines, like {@link RawFile.linesSync}. */
  async *lines(): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** `for (const line of file)`: {@link RawFile.linesSync}. */
  [Symbol.iterator](): Iterator<Buffer> {
    return this.linesSync();
  }

  /** `for await (const line of file)`: {@link RawFile.lines}. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.lines();
  }

  // ---------------------------------------------------------------- writing

  /** Writes `data` with one write(2); returns how many bytes were written (possibly fewer). */
  writeSync(data: Uint8Array): number {
    if (this[closedSelf]) throw closedFileError('write', this.name); // the descriptor checks the rest
    return this[descriptorOf].writeSync(data, 0, data.byteLength);
  }

  /** Promise form of {@link RawFile.writeSync}. */
  write(data: Uint8Array): Promise<number> {
    if (this[closedSelf]) return rejected(closedFileError('write', this.name)); // the descriptor checks the rest
    return this[descriptorOf].write(data, 0, data.byteLength);
  }

  /**
   * Writes all of `data`, looping over short writes. If a write fails part-way the error's
   * `bytesWritten` says how much went out.
   */
  writeAllSync(data: Uint8Array): void {
    runSync(this[writeAllSteps](data));
  }

  /** Promise form of {@link RawFile.writeAllSync}. */
  writeAll(data: Uint8Array): Promise<void> {
    return runAsync(this[writeAllSteps](data));
  }

  /** The protocol of {@link RawFile.writeAllSync} (the buffered layer's flush runs it inside its own). @internal */
  *[writeAllSteps](data: Uint8Array): Protocol<void> {
    this.#checkWritable();
    const d = this.descriptor;
    let done = 0;
    while (done < data.byteLength) {
      const at = done;
      let n: number;
      try {
        n = yield* call(
          () => d.writeSync(data, at, data.byteLength - at),
          () => d.write(data, at, data.byteLength - at),
        );
      } catch (e) {
        throw withProgress(e, done);
      }
      if (n <= 0)
        throw new FsError({
          code: 'EIO',
          syscall: 'write',
          fd: d.number,
          path: d.path,
          detail: 'write(2) wrote nothing',
          bytesWritten: done,
        });
      done += n;
    }
  }

  // ---------------------------------------------------------------- position and metadata

  /** Moves the offset (whence 0: from start, 1: from current, 2: from end); returns the new offset. */
  seekSync(offset: number, whence: Whence = 0): number {
    this[check]('lseek');
    return this.descriptor.seekSync(offset, whence);
  }

  /** Promise form of {@link RawFile.seekSync} (the table keeps the offset: no thread-pool round trip). */
  seek(offset: number, whence: Whence = 0): Promise<number> {
    try {
      return Promise.resolve(this.seekSync(offset, whence));
    } catch (e) {
      return rejected(e);
    }
  }

  /** The current offset (the table keeps it: no syscall). */
  tell(): number {
    this[check]('lseek');
    return this.descriptor.tellSync();
  }

  /** Resizes the file to `size` bytes (default: the current offset), leaving the offset alone. Returns the new size. */
  truncateSync(size?: number): number {
    return runSync(this.#truncate(size));
  }

  /** Promise form of {@link RawFile.truncateSync}. */
  truncate(size?: number): Promise<number> {
    return runAsync(this.#truncate(size));
  }

  *#truncate(size: number | undefined): Protocol<number> {
    this.#checkWritable('ftruncate');
    const d = this.descriptor;
    const n = size ?? d.tellSync();
    yield* call(
      () => {
        d.truncateSync(n);
      },
      () => d.truncate(n),
    );
    return n;
  }

  /** `RawFile(name='/tmp/a', mode='rb+', fd=7)` or `RawFile(name='/tmp/a', closed)`. */
  override toString(): string {
    const name = showName(this.name);
    return this.closed
      ? `RawFile(name=${name}, closed)`
      : `RawFile(name=${name}, mode='${this.mode}', fd=${this.descriptor.number}${this.closefd ? '' : ', borrowed'})`;
  }

  // ---------------------------------------------------------------- checks

  /** The base's check, without its walk: a raw file has only its descriptor under it (hot: every call). @internal */
  override [check](syscall: string): void {
    if (this[closedSelf]) throw closedFileError(syscall, this.name);
    this[descriptorOf].check(syscall);
  }

  #checkReadable(): void {
    this[check]('read');
    if (!this.descriptor.readable) throw unsupported('read', this.name, this.mode, 'reading');
  }

  #checkWritable(syscall = 'write'): void {
    this[check](syscall);
    if (!this.descriptor.writable) throw unsupported(syscall, this.name, this.mode, 'writing');
  }
}

/** Adds `bytesWritten` to an error from the middle of a write loop. */
function withProgress(e: unknown, done: number): unknown {
  if (!(e instanceof FsError) || done === 0) return e;
  return new FsError({
    code: e.code,
    syscall: e.syscall,
    path: e.path,
    fd: e.fd,
    detail: `failed after ${done} bytes`,
    bytesWritten: done,
    cause: e,
  });
}
