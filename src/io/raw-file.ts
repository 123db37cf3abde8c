import type { FileStat } from '../backend/backend.js';
import { FsError, rejected } from '../errors/fs-error.js';
import type { Descriptor } from '../table/descriptor.js';
import type { FileTable, Whence } from '../table/file-table.js';
import { checkSize, closedFileError, unsupported } from './io-base.js';

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
export class RawFile implements Disposable, AsyncDisposable, Iterable<Buffer>, AsyncIterable<Buffer> {
  /** The path it was opened by, or the descriptor number it wraps. */
  readonly name: string | number;
  /** The binary mode, as Python spells it: `'rb'`, `'rb+'`, `'wb'`, `'ab+'`, `'xb'`… */
  readonly mode: string;
  /** Whether `close()` closes the descriptor (false: borrowed). */
  readonly closefd: boolean;
  /** The table the descriptor lives in. */
  readonly table: FileTable;
  /** The table entry this file reads and writes through. */
  readonly descriptor: Descriptor;
  /**
   * Whether `close()` closes {@link RawFile.descriptor}, the table entry. Usually `closefd`; but a number
   * adopted with `closefd: false` gets an entry of its own that the file closes, while the kernel
   * descriptor under it stays open (the entry's description does not own it).
   */
  private readonly ownsDescriptor: boolean;
  private isClosed = false;

  /** @internal Use `open()`/`openSync()`. */
  constructor(table: FileTable, descriptor: Descriptor, name: string | number, mode: string, closefd: boolean, ownsDescriptor = closefd) {
    this.table = table;
    this.descriptor = descriptor;
    this.name = name;
    this.mode = mode;
    this.closefd = closefd;
    this.ownsDescriptor = ownsDescriptor;
  }

  /** True once this object, or (for an owner) its descriptor, is closed. */
  get closed(): boolean {
    return this.isClosed || (this.ownsDescriptor && this.descriptor.closed);
  }
  /** Whether the file was opened for reading. */
  get readable(): boolean {
    return this.descriptor.readable;
  }
  /** Whether the file was opened for writing. */
  get writable(): boolean {
    return this.descriptor.writable;
  }
  /** Whether every write goes to the end of the file (`O_APPEND`), wherever the offset is. */
  get appending(): boolean {
    return this.descriptor.description.append;
  }

  /**
   * The descriptor number. Handing it out marks the descriptor *escaped*: it is never closed by
   * garbage collection afterwards, only by an explicit `close()`.
   */
  fileno(): number {
    this.check('fileno');
    this.descriptor.escaped = true;
    return this.descriptor.number;
  }

  /**
   * A borrowed view of the same descriptor (`closefd: false`): give it to code that must not close
   * the file. Once the owner closes, the view's calls fail with EBADF naming the open and close sites.
   */
  borrow(): RawFile {
    this.check('borrow');
    this.descriptor.shared = true;
    return new RawFile(this.table, this.descriptor, this.name, this.mode, false);
  }

  /** dup(2): a new RawFile owning a duplicate descriptor that shares this one's offset and flags. */
  dup(): RawFile {
    this.check('dup');
    const d = this.table.dupDescriptor(this.descriptor);
    return new RawFile(this.table, d, this.name, this.mode, true);
  }

  // ---------------------------------------------------------------- reading

  /** Reads up to `size` bytes with one read(2); `-1`/omitted reads to end of file. An empty buffer means end of file. */
  readSync(size = -1): Buffer {
    const n = checkSize(size, 'read');
    if (n < 0) return this.readallSync();
    const buf = Buffer.allocUnsafe(n);
    const got = this.readintoSync(buf);
    return got === n ? buf : buf.subarray(0, got);
  }

  /** Promise form of {@link RawFile.readSync}. */
  async read(size = -1): Promise<Buffer> {
    const n = checkSize(size, 'read');
    if (n < 0) return this.readall();
    const buf = Buffer.allocUnsafe(n);
    const got = await this.readinto(buf);
    return got === n ? buf : buf.subarray(0, got);
  }

  /** Reads into `buffer` with one read(2); returns the byte count (0 at end of file). */
  readintoSync(buffer: Uint8Array): number {
    if (this.isClosed) throw closedFileError('read', this.name); // the descriptor checks the rest
    return this.descriptor.readSync(buffer, 0, buffer.byteLength);
  }

  /** Promise form of {@link RawFile.readintoSync}. */
  readinto(buffer: Uint8Array): Promise<number> {
    if (this.isClosed) return rejected(closedFileError('read', this.name)); // the descriptor checks the rest
    return this.descriptor.read(buffer, 0, buffer.byteLength);
  }

  /** Reads everything from the current offset to end of file. */
  readallSync(): Buffer {
    this.checkReadable();
    const chunks: Buffer[] = [];
    let total = 0;
    let size = this.sizeHint(this.descriptor.statSync());
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const n = this.descriptor.readSync(buf, 0, size);
      if (n === 0) break;
      chunks.push(n === size ? buf : buf.subarray(0, n));
      total += n;
      size = READALL_CHUNK;
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  }

  /** Promise form of {@link RawFile.readallSync}. */
  async readall(): Promise<Buffer> {
    this.checkReadable();
    const chunks: Buffer[] = [];
    let total = 0;
    let size = this.sizeHint(await this.descriptor.stat());
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const n = await this.descriptor.read(buf, 0, size);
      if (n === 0) break;
      chunks.push(n === size ? buf : buf.subarray(0, n));
      total += n;
      size = READALL_CHUNK;
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  }

  /** A first read size: what is left of a regular file plus one byte (to see end of file in one more call). */
  private sizeHint(st: FileStat): number {
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
    const max = checkSize(limit, 'readline');
    this.checkReadable();
    const out: number[] = [];
    const one = Buffer.allocUnsafe(1);
    while (max < 0 || out.length < max) {
      if (this.descriptor.readSync(one, 0, 1) === 0) break;
      const b = one[0] as number;
      out.push(b);
      if (b === NL) break;
    }
    return Buffer.from(out);
  }

  /** Promise form of {@link RawFile.readlineSync}. */
  async readline(limit = -1): Promise<Buffer> {
    const max = checkSize(limit, 'readline');
    this.checkReadable();
    const out: number[] = [];
    const one = Buffer.allocUnsafe(1);
    while (max < 0 || out.length < max) {
      if ((await this.descriptor.read(one, 0, 1)) === 0) break;
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
    if (this.isClosed) throw closedFileError('write', this.name); // the descriptor checks the rest
    return this.descriptor.writeSync(data, 0, data.byteLength);
  }

  /** Promise form of {@link RawFile.writeSync}. */
  write(data: Uint8Array): Promise<number> {
    if (this.isClosed) return rejected(closedFileError('write', this.name)); // the descriptor checks the rest
    return this.descriptor.write(data, 0, data.byteLength);
  }

  /**
   * Writes all of `data`, looping over short writes. If a write fails part-way the error's
   * `bytesWritten` says how much went out.
   */
  writeAllSync(data: Uint8Array): void {
    this.checkWritable();
    let done = 0;
    while (done < data.byteLength) {
      let n: number;
      try {
        n = this.descriptor.writeSync(data, done, data.byteLength - done);
      } catch (e) {
        throw withProgress(e, done);
      }
      if (n <= 0) throw new FsError({ code: 'EIO', syscall: 'write', fd: this.descriptor.number, path: this.descriptor.path, detail: 'write(2) wrote nothing', bytesWritten: done });
      done += n;
    }
  }

  /** Promise form of {@link RawFile.writeAllSync}. */
  async writeAll(data: Uint8Array): Promise<void> {
    this.checkWritable();
    let done = 0;
    while (done < data.byteLength) {
      let n: number;
      try {
        n = await this.descriptor.write(data, done, data.byteLength - done);
      } catch (e) {
        throw withProgress(e, done);
      }
      if (n <= 0) throw new FsError({ code: 'EIO', syscall: 'write', fd: this.descriptor.number, path: this.descriptor.path, detail: 'write(2) wrote nothing', bytesWritten: done });
      done += n;
    }
  }

  // ---------------------------------------------------------------- position and metadata

  /** Moves the offset (whence 0: from start, 1: from current, 2: from end); returns the new offset. */
  seek(offset: number, whence: Whence = 0): number {
    this.check('lseek');
    return this.descriptor.seekSync(offset, whence);
  }

  /** The current offset. */
  tell(): number {
    this.check('lseek');
    return this.descriptor.tellSync();
  }

  /** Whether the file supports seek (false for pipes, sockets and terminals). */
  seekable(): boolean {
    this.check('lseek');
    // The table learns that a descriptor is unseekable only from a failed positioned call, so a fresh
    // pipe would look seekable: ask fstat first.
    const st = this.descriptor.statSync();
    if (st.isFIFO() || st.isSocket()) return false;
    try {
      this.descriptor.tellSync();
      return true;
    } catch (e) {
      if (e instanceof FsError && e.code === 'ESPIPE') return false;
      throw e;
    }
  }

  /** Resizes the file to `size` bytes (default: the current offset), leaving the offset alone. Returns the new size. */
  truncateSync(size?: number): number {
    this.checkWritable('ftruncate');
    const n = size ?? this.descriptor.tellSync();
    this.descriptor.truncateSync(n);
    return n;
  }

  /** Promise form of {@link RawFile.truncateSync}. */
  async truncate(size?: number): Promise<number> {
    this.checkWritable('ftruncate');
    const n = size ?? this.descriptor.tellSync();
    await this.descriptor.truncate(n);
    return n;
  }

  /** Nothing to flush at this layer; checks the file is open. */
  flushSync(): void {
    this.check('flush');
  }

  /** Promise form of {@link RawFile.flushSync}. */
  flush(): Promise<void> {
    try {
      this.check('flush');
    } catch (e) {
      return rejected(e);
    }
    return Promise.resolve();
  }

  /** fsync(2): the file's data and metadata reach the disk. */
  syncSync(): void {
    this.check('fsync');
    this.descriptor.syncSync();
  }

  /** Promise form of {@link RawFile.syncSync}. */
  sync(): Promise<void> {
    try {
      this.check('fsync');
    } catch (e) {
      return rejected(e);
    }
    return this.descriptor.sync();
  }

  /** fdatasync(2). */
  datasyncSync(): void {
    this.check('fdatasync');
    this.descriptor.datasyncSync();
  }

  /** Promise form of {@link RawFile.datasyncSync}. */
  datasync(): Promise<void> {
    try {
      this.check('fdatasync');
    } catch (e) {
      return rejected(e);
    }
    return this.descriptor.datasync();
  }

  /** fstat(2). */
  statSync(): FileStat {
    this.check('fstat');
    return this.descriptor.statSync();
  }

  /** Promise form of {@link RawFile.statSync}. */
  stat(): Promise<FileStat> {
    try {
      this.check('fstat');
    } catch (e) {
      return rejected(e);
    }
    return this.descriptor.stat();
  }

  // ---------------------------------------------------------------- lifetime

  /** Closes the file (and, if it owns it, the descriptor). Closing twice does nothing. */
  closeSync(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.table.unclosed.unwatch(this);
    if (this.ownsDescriptor) this.descriptor.closeSync();
  }

  /** Promise form of {@link RawFile.closeSync}; resolves when the descriptor is closed. */
  close(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    this.isClosed = true;
    this.table.unclosed.unwatch(this);
    return this.ownsDescriptor ? this.descriptor.close() : Promise.resolve();
  }

  /** `using` support: {@link RawFile.closeSync}. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** `await using` support: {@link RawFile.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `RawFile(name='/tmp/a', mode='rb+', fd=7)` or `RawFile(name='/tmp/a', closed)`. */
  toString(): string {
    const name = typeof this.name === 'string' ? `'${this.name}'` : String(this.name);
    return this.closed ? `RawFile(name=${name}, closed)` : `RawFile(name=${name}, mode='${this.mode}', fd=${this.descriptor.number}${this.closefd ? '' : ', borrowed'})`;
  }

  // ---------------------------------------------------------------- checks

  /**
   * Throws EBADF if this object was closed, or if its descriptor was (by the owner of a borrowed view,
   * or behind fdkeeper's back): then the error names where it was opened and closed.
   */
  check(syscall: string): void {
    if (this.isClosed) throw closedFileError(syscall, this.name);
    this.descriptor.check(syscall);
  }

  private checkReadable(): void {
    this.check('read');
    if (!this.descriptor.readable) throw unsupported('read', this.name, this.mode, 'reading');
  }

  private checkWritable(syscall = 'write'): void {
    this.check(syscall);
    if (!this.descriptor.writable) throw unsupported(syscall, this.name, this.mode, 'writing');
  }
}

/** Adds `bytesWritten` to an error from the middle of a write loop. */
function withProgress(e: unknown, done: number): unknown {
  if (!(e instanceof FsError) || done === 0) return e;
  return new FsError({ code: e.code, syscall: e.syscall, path: e.path, fd: e.fd, detail: `failed after ${done} bytes`, bytesWritten: done, cause: e });
}
