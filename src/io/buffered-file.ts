import type { FileStat } from '../backend/backend.js';
import { FsError } from '../errors/fs-error.js';
import type { Whence } from '../table/file-table.js';
import { OpLock, checkSize, closedFileError, lineIterator, unsupported } from './io-base.js';
import type { RawFile } from './raw-file.js';

/** The default buffer size of the buffered layer: 64 KiB. */
export const DEFAULT_BUFFER_SIZE = 64 * 1024;

const NL = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * Bytes written but not yet flushed. Kept apart from the {@link BufferedFile} so that the leak watch can
 * flush them after the file object itself was garbage-collected.
 */
export class WriteBuffer {
  buf: Buffer | undefined;
  len = 0;
}

/**
 * The buffered layer, Python's `BufferedRandom` (and Reader/Writer): one buffer in front of a
 * {@link RawFile}. Reads fill it in `bufferSize` chunks, writes collect in it and go out in one write(2)
 * when it fills or on `flush()`, `seek()` and `close()`. Reading after writing flushes first; writing
 * after reading moves the raw offset back to the logical position, so mixing them behaves like one
 * offset.
 *
 * `read(n)` returns `n` bytes unless end of file comes first (Python's BufferedReader semantics);
 * `read1(n)` makes at most one raw read. Lines end at `\n` and include it.
 *
 * Promise calls on one file run one at a time, in call order; a `…Sync` call while a promise call is
 * unfinished fails with EBUSY. Supports `using` / `await using` (close flushes, then closes the raw file,
 * even if the flush fails).
 */
export class BufferedFile implements Disposable, AsyncDisposable, AsyncIterable<Buffer>, Iterable<Buffer> {
  /** The raw file underneath. */
  readonly raw: RawFile;
  /** The buffer size in bytes. */
  readonly bufferSize: number;
  /** @internal Unflushed writes (see {@link WriteBuffer}). */
  readonly pending = new WriteBuffer();

  private readonly lock = new OpLock();
  private rbuf: Buffer | undefined;
  private rpos = 0;
  private rend = 0;
  private isClosed = false;

  /** Wraps `raw`; `bufferSize` defaults to {@link DEFAULT_BUFFER_SIZE}. */
  constructor(raw: RawFile, bufferSize = DEFAULT_BUFFER_SIZE) {
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) throw new FsError({ code: 'EINVAL', syscall: 'open', detail: `buffer size must be a positive integer, not ${String(bufferSize)}` });
    this.raw = raw;
    this.bufferSize = bufferSize;
  }

  /** The path or number the file was opened by. */
  get name(): string | number {
    return this.raw.name;
  }
  /** The binary mode (`'rb+'`, `'ab'`…). */
  get mode(): string {
    return this.raw.mode;
  }
  /** True once closed. */
  get closed(): boolean {
    return this.isClosed || this.raw.closed;
  }
  /** Whether the file was opened for reading. */
  get readable(): boolean {
    return this.raw.readable;
  }
  /** Whether the file was opened for writing. */
  get writable(): boolean {
    return this.raw.writable;
  }

  /** The descriptor number (marks it escaped; see {@link RawFile.fileno}). */
  fileno(): number {
    this.check('fileno');
    return this.raw.fileno();
  }

  // ================================================================ reading (sync)

  /** Reads `size` bytes (fewer only at end of file); `-1`/omitted reads to end of file. */
  readSync(size = -1): Buffer {
    const n = checkSize(size, 'read');
    this.startReadSync();
    if (n < 0) return concat(this.takeBuffered(), this.raw.readallSync());
    const out = Buffer.allocUnsafe(n);
    const got = this.readintoSync(out);
    return got === n ? out : out.subarray(0, got);
  }

  /** Reads into `buffer` until it is full or end of file; returns the byte count. */
  readintoSync(buffer: Uint8Array): number {
    this.startReadSync();
    let done = this.copyBuffered(buffer, 0);
    while (done < buffer.byteLength) {
      const want = buffer.byteLength - done;
      if (want >= this.bufferSize) {
        const n = this.raw.readintoSync(buffer.subarray(done));
        if (n === 0) break;
        done += n;
      } else {
        if (this.fillSync() === 0) break;
        done += this.copyBuffered(buffer, done);
      }
    }
    return done;
  }

  /** At most one raw read: what is buffered, or else one fill. For streaming without waiting for `size` bytes. */
  read1Sync(size = -1): Buffer {
    this.startReadSync();
    if (this.rpos === this.rend && this.fillSync() === 0) return EMPTY;
    return this.takeBuffered(size);
  }

  /** One line, including its `\n`; an empty buffer at end of file. `limit` caps the length. */
  readlineSync(limit = -1): Buffer {
    const line = new LineParts(checkSize(limit, 'readline'));
    this.startReadSync();
    for (;;) {
      if (this.gatherLine(line) || this.fillSync() === 0) return line.join();
    }
  }

  /** Iterates over the lines (Buffers ending in `\n`, the last one possibly without). */
  *linesSync(): Generator<Buffer, void, undefined> {
    for (;;) {
      const line = this.readlineSync();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** `for (const line of file)`: {@link BufferedFile.linesSync}. */
  [Symbol.iterator](): Iterator<Buffer> {
    return this.linesSync();
  }

  // ================================================================ reading (promise)

  /** Promise form of {@link BufferedFile.readSync}. */
  read(size = -1): Promise<Buffer> {
    return this.lock.run(async () => {
      const n = checkSize(size, 'read');
      await this.startRead();
      if (n < 0) return concat(this.takeBuffered(), await this.raw.readall());
      const out = Buffer.allocUnsafe(n);
      const got = await this.readintoUnlocked(out);
      return got === n ? out : out.subarray(0, got);
    });
  }

  /** Promise form of {@link BufferedFile.readintoSync}. */
  readinto(buffer: Uint8Array): Promise<number> {
    return this.lock.run(async () => {
      await this.startRead();
      return this.readintoUnlocked(buffer);
    });
  }

  private async readintoUnlocked(buffer: Uint8Array): Promise<number> {
    let done = this.copyBuffered(buffer, 0);
    while (done < buffer.byteLength) {
      const want = buffer.byteLength - done;
      if (want >= this.bufferSize) {
        const n = await this.raw.readinto(buffer.subarray(done));
        if (n === 0) break;
        done += n;
      } else {
        if ((await this.fill()) === 0) break;
        done += this.copyBuffered(buffer, done);
      }
    }
    return done;
  }

  /** Promise form of {@link BufferedFile.read1Sync}. */
  read1(size = -1): Promise<Buffer> {
    return this.lock.run(async () => {
      await this.startRead();
      if (this.rpos === this.rend && (await this.fill()) === 0) return EMPTY;
      return this.takeBuffered(size);
    });
  }

  /** Promise form of {@link BufferedFile.readlineSync}. */
  readline(limit = -1): Promise<Buffer> {
    return this.lock.run(async () => {
      const line = new LineParts(checkSize(limit, 'readline'));
      await this.startRead();
      for (;;) {
        if (this.gatherLine(line) || (await this.fill()) === 0) return line.join();
      }
    });
  }

  /** Async iteration over the lines, like {@link BufferedFile.linesSync}. */
  lines(): AsyncIterableIterator<Buffer> {
    return lineIterator(
      () => (this.lock.held || this.pending.len !== 0 || this.isClosed ? undefined : this.takeBufferedLine()),
      () => this.readline(),
      (line) => line.length === 0,
    );
  }

  /**
   * Moves what the read buffer holds of the current line into `line`; true once the line is complete
   * (its `\n` was found, or its limit reached). False means: refill and call again (or, at end of file,
   * the line ends here).
   */
  private gatherLine(line: LineParts): boolean {
    const rb = this.rbuf;
    if (rb === undefined || this.rpos === this.rend) return false;
    const end = line.max < 0 ? this.rend : Math.min(this.rend, this.rpos + line.max - line.total);
    const i = rb.indexOf(NL, this.rpos);
    const stop = i >= 0 && i < end ? i + 1 : end;
    line.add(Buffer.from(rb.subarray(this.rpos, stop)));
    this.rpos = stop;
    return stop === i + 1 || (line.max >= 0 && line.total >= line.max);
  }

  /** A whole line from the read buffer, copied out, or undefined if the buffer holds no complete line. */
  private takeBufferedLine(): Buffer | undefined {
    const rb = this.rbuf;
    if (rb === undefined || this.rpos === this.rend) return undefined;
    const i = rb.indexOf(NL, this.rpos);
    if (i < 0 || i >= this.rend) return undefined;
    const line = Buffer.from(rb.subarray(this.rpos, i + 1));
    this.rpos = i + 1;
    return line;
  }

  /** `for await (const line of file)`: {@link BufferedFile.lines}. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this.lines();
  }

  // ---------------------------------------------------------------- read internals

  /** @internal The unread bytes in the buffer, without copying or consuming them (the text layer decodes from here). */
  peekBuffered(): Buffer {
    return this.rbuf === undefined ? EMPTY : this.rbuf.subarray(this.rpos, this.rend);
  }

  /** @internal Marks `n` buffered bytes as read. */
  consumeBuffered(n: number): void {
    this.rpos += n;
  }

  /** @internal Flushes pending writes and checks the file is readable (sync). */
  startReadSync(): void {
    this.checkSync('read');
    if (!this.raw.readable) throw unsupported('read', this.name, this.mode, 'reading');
    if (this.pending.len > 0) this.flushPendingSync();
  }

  /** @internal Async form of {@link BufferedFile.startReadSync}; call with the lock held. */
  async startRead(): Promise<void> {
    this.check('read');
    if (!this.raw.readable) throw unsupported('read', this.name, this.mode, 'reading');
    if (this.pending.len > 0) await this.flushPending();
  }

  /**
   * @internal Refills the buffer with one raw read, keeping any unread bytes at its front. Returns the
   * number of new bytes (0 at end of file).
   */
  fillSync(): number {
    const rb = this.prepareFill();
    const n = this.raw.readintoSync(rb.subarray(this.rend));
    this.rend += n;
    return n;
  }

  /** @internal Async form of {@link BufferedFile.fillSync}; call with the lock held. */
  async fill(): Promise<number> {
    const rb = this.prepareFill();
    const n = await this.raw.readinto(rb.subarray(this.rend));
    this.rend += n;
    return n;
  }

  private prepareFill(): Buffer {
    let rb = this.rbuf;
    const unread = this.rend - this.rpos;
    if (rb === undefined) {
      rb = this.rbuf = Buffer.allocUnsafe(this.bufferSize);
    } else if (unread > 0 && this.rpos > 0) {
      rb.copy(rb, 0, this.rpos, this.rend);
    }
    if (unread === rb.length) {
      // A caller (the text layer) needs more than a buffer's worth contiguous: grow.
      const bigger = Buffer.allocUnsafe(rb.length * 2);
      rb.copy(bigger, 0, this.rpos, this.rend);
      rb = this.rbuf = bigger;
    }
    this.rpos = 0;
    this.rend = unread;
    return rb;
  }

  private copyBuffered(target: Uint8Array, at: number): number {
    const rb = this.rbuf;
    if (rb === undefined || this.rpos === this.rend) return 0;
    const n = Math.min(this.rend - this.rpos, target.byteLength - at);
    rb.copy(target, at, this.rpos, this.rpos + n);
    this.rpos += n;
    return n;
  }

  private takeBuffered(size = -1): Buffer {
    const rb = this.rbuf;
    if (rb === undefined || this.rpos === this.rend) return EMPTY;
    const end = size < 0 ? this.rend : Math.min(this.rend, this.rpos + size);
    const out = Buffer.from(rb.subarray(this.rpos, end));
    this.rpos = end;
    return out;
  }

  /** Gives back bytes read ahead: moves the raw offset to the logical position and empties the read buffer. */
  private dropReadAhead(): void {
    const unread = this.rend - this.rpos;
    this.rpos = this.rend = 0;
    if (unread > 0) {
      try {
        this.raw.seek(-unread, 1);
      } catch (e) {
        if (!(e instanceof FsError && e.code === 'ESPIPE')) throw e;
      }
    }
  }

  // ================================================================ writing

  /**
   * Buffers `data` (Buffer, Uint8Array, or a string as UTF-8) and returns its length in bytes. Data larger
   * than the buffer is written straight through after what is pending.
   */
  writeSync(data: Uint8Array | string): number {
    this.checkSync('write');
    return this.writeBytesSync(typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Promise form of {@link BufferedFile.writeSync}. Resolves once the data is buffered or written. */
  write(data: Uint8Array | string): Promise<number> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // Fast path: nothing queued, nothing read ahead, and it fits: copy and return.
    if (!this.lock.held && !this.closed && this.rpos === this.rend && this.raw.writable && this.pending.len + bytes.byteLength < this.bufferSize) {
      this.append(bytes);
      return Promise.resolve(bytes.byteLength);
    }
    return this.lock.run(() => {
      this.check('write');
      return this.writeBytes(bytes);
    });
  }

  /** @internal {@link BufferedFile.writeSync} without the lock check (the text layer holds the lock). */
  writeBytesSync(bytes: Uint8Array): number {
    this.startWrite();
    const p = this.pending;
    if (p.len + bytes.byteLength <= this.bufferSize) {
      this.append(bytes);
      if (p.len === this.bufferSize) this.flushPendingSync();
      return bytes.byteLength;
    }
    if (p.len > 0) this.flushPendingSync();
    if (bytes.byteLength >= this.bufferSize) this.raw.writeAllSync(bytes);
    else this.append(bytes);
    return bytes.byteLength;
  }

  /** @internal Async form of {@link BufferedFile.writeBytesSync}; call with the lock held. */
  async writeBytes(bytes: Uint8Array): Promise<number> {
    this.startWrite();
    const p = this.pending;
    if (p.len + bytes.byteLength <= this.bufferSize) {
      this.append(bytes);
      if (p.len === this.bufferSize) await this.flushPending();
      return bytes.byteLength;
    }
    if (p.len > 0) await this.flushPending();
    if (bytes.byteLength >= this.bufferSize) await this.raw.writeAll(bytes);
    else this.append(bytes);
    return bytes.byteLength;
  }

  /** Writes out everything buffered. */
  flushSync(): void {
    this.checkSync('flush');
    if (this.pending.len > 0) this.flushPendingSync();
  }

  /** Promise form of {@link BufferedFile.flushSync}. */
  flush(): Promise<void> {
    return this.lock.run(async () => {
      this.check('flush');
      if (this.pending.len > 0) await this.flushPending();
    });
  }

  private startWrite(): void {
    if (!this.raw.writable) throw unsupported('write', this.name, this.mode, 'writing');
    if (this.rpos !== this.rend) this.dropReadAhead();
  }

  private append(bytes: Uint8Array): void {
    const p = this.pending;
    const buf = (p.buf ??= Buffer.allocUnsafe(this.bufferSize));
    buf.set(bytes, p.len);
    p.len += bytes.byteLength;
  }

  /** @internal Writes the pending bytes out; on failure keeps what was not written. */
  flushPendingSync(): void {
    flushWriteBufferSync(this.pending, this.raw);
  }

  /** @internal Async form of {@link BufferedFile.flushPendingSync}; call with the lock held. */
  async flushPending(): Promise<void> {
    const p = this.pending;
    if (p.buf === undefined || p.len === 0) return;
    try {
      await this.raw.writeAll(p.buf.subarray(0, p.len));
      p.len = 0;
    } catch (e) {
      keepUnwritten(p, e);
      throw e;
    }
  }

  // ================================================================ position and metadata

  /** Moves the position (flushing writes first); returns the new position. */
  seekSync(offset: number, whence: Whence = 0): number {
    this.checkSync('lseek');
    if (this.pending.len > 0) this.flushPendingSync();
    return this.seekRaw(offset, whence);
  }

  /** Promise form of {@link BufferedFile.seekSync}. */
  seek(offset: number, whence: Whence = 0): Promise<number> {
    return this.lock.run(async () => {
      this.check('lseek');
      if (this.pending.len > 0) await this.flushPending();
      return this.seekRaw(offset, whence);
    });
  }

  /** @internal Moves the raw offset and drops the read buffer; pending writes must be flushed first. */
  seekRaw(offset: number, whence: Whence): number {
    const unread = this.rend - this.rpos;
    // The raw offset is `unread` bytes ahead of the logical position. Drop the read-ahead only once the
    // seek succeeded: a failed seek (EINVAL) must leave the position and the buffered bytes as they were.
    const at = whence === 1 ? this.raw.seek(offset - unread, 1) : this.raw.seek(offset, whence);
    this.rpos = this.rend = 0;
    return at;
  }

  /** The logical position: what has been read or written through this object. */
  tell(): number {
    this.check('lseek');
    // In append mode the pending bytes will land at the end of the file, wherever the offset was.
    if (this.pending.len > 0 && this.raw.appending) return this.raw.statSync().size + this.pending.len;
    return this.raw.tell() - (this.rend - this.rpos) + this.pending.len;
  }

  /** Resizes the file to `size` (default: the current position), after flushing. Returns the new size. */
  truncateSync(size?: number): number {
    this.checkSync('ftruncate');
    return this.truncateUnlockedSync(size);
  }

  /** Promise form of {@link BufferedFile.truncateSync}. */
  truncate(size?: number): Promise<number> {
    return this.lock.run(() => {
      this.check('ftruncate');
      return this.truncateUnlocked(size);
    });
  }

  /** @internal {@link BufferedFile.truncateSync} without the lock check (the text layer holds the lock). */
  truncateUnlockedSync(size?: number): number {
    if (!this.raw.writable) throw unsupported('ftruncate', this.name, this.mode, 'writing');
    if (this.pending.len > 0) this.flushPendingSync();
    const n = size ?? this.tell();
    this.dropReadAhead();
    return this.raw.truncateSync(n);
  }

  /** @internal Async form of {@link BufferedFile.truncateUnlockedSync}; call with the lock held. */
  async truncateUnlocked(size?: number): Promise<number> {
    if (!this.raw.writable) throw unsupported('ftruncate', this.name, this.mode, 'writing');
    if (this.pending.len > 0) await this.flushPending();
    const n = size ?? this.tell();
    this.dropReadAhead();
    return this.raw.truncate(n);
  }

  /** Flushes, then fsync(2)s: the data is on disk when it returns. */
  syncSync(): void {
    this.flushSync();
    this.raw.syncSync();
  }

  /** Promise form of {@link BufferedFile.syncSync}. */
  sync(): Promise<void> {
    return this.lock.run(async () => {
      this.check('fsync');
      if (this.pending.len > 0) await this.flushPending();
      await this.raw.sync();
    });
  }

  /** fstat(2) (after flushing, so the size includes buffered writes). */
  statSync(): FileStat {
    this.flushSync();
    return this.raw.statSync();
  }

  /** Promise form of {@link BufferedFile.statSync}. */
  stat(): Promise<FileStat> {
    return this.lock.run(async () => {
      this.check('fstat');
      if (this.pending.len > 0) await this.flushPending();
      return this.raw.stat();
    });
  }

  // ================================================================ lifetime

  /** Flushes and closes the raw file (the raw close happens even if the flush fails). Idempotent. */
  closeSync(): void {
    if (this.isClosed) return;
    this.lock.assertFree('close', this.name);
    this.closeUnlockedSync();
  }

  /** @internal {@link BufferedFile.closeSync} without the lock check. */
  closeUnlockedSync(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.raw.table.unclosed.unwatch(this);
    try {
      if (this.pending.len > 0 && !this.raw.closed) this.flushPendingSync();
    } finally {
      this.rbuf = undefined;
      this.raw.closeSync();
    }
  }

  /** Promise form of {@link BufferedFile.closeSync}; waits for earlier calls first. */
  close(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return this.lock.run(() => this.closeUnlocked());
  }

  /** @internal {@link BufferedFile.close} with the lock already held. */
  async closeUnlocked(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.raw.table.unclosed.unwatch(this);
    try {
      if (this.pending.len > 0 && !this.raw.closed) await this.flushPending();
    } finally {
      this.rbuf = undefined;
      await this.raw.close();
    }
  }

  /** `using` support: {@link BufferedFile.closeSync}. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** `await using` support: {@link BufferedFile.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `BufferedFile(name='/tmp/a', mode='rb+')`. */
  toString(): string {
    return `BufferedFile(name=${typeof this.name === 'string' ? `'${this.name}'` : String(this.name)}, mode='${this.mode}'${this.closed ? ', closed' : ''})`;
  }

  /** @internal Throws EBADF if closed. */
  check(syscall: string): void {
    if (this.isClosed) throw closedFileError(syscall, this.name);
    this.raw.check(syscall);
  }

  /** @internal {@link BufferedFile.check}, and EBUSY if a promise call is unfinished. */
  checkSync(syscall: string): void {
    this.check(syscall);
    this.lock.assertFree(syscall, this.name);
  }

  /** @internal The lock the text layer shares, so text and buffered calls on one stack are ordered. */
  get opLock(): OpLock {
    return this.lock;
  }
}

/** The pieces of one line being read, possibly across several refills of the buffer. */
class LineParts {
  private readonly parts: Buffer[] = [];
  total = 0;

  constructor(readonly max: number) {}

  add(piece: Buffer): void {
    this.parts.push(piece);
    this.total += piece.length;
  }

  join(): Buffer {
    if (this.parts.length === 0) return EMPTY;
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.total);
  }
}

/** Writes a {@link WriteBuffer} out through `raw`; used by flushes and by the leak watch. */
export function flushWriteBufferSync(p: WriteBuffer, raw: RawFile): void {
  if (p.buf === undefined || p.len === 0) return;
  try {
    raw.writeAllSync(p.buf.subarray(0, p.len));
    p.len = 0;
  } catch (e) {
    keepUnwritten(p, e);
    throw e;
  }
}

/** After a failed flush, drops the bytes that did go out (`bytesWritten`) and keeps the rest. */
function keepUnwritten(p: WriteBuffer, e: unknown): void {
  const written = e instanceof FsError ? (e.bytesWritten ?? 0) : 0;
  if (written > 0 && p.buf !== undefined) {
    p.buf.copy(p.buf, 0, written, p.len);
    p.len -= written;
  }
}

function concat(a: Buffer, b: Buffer): Buffer {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return Buffer.concat([a, b], a.length + b.length);
}
