import { FsError } from '../errors/fs-error.js';
import { call, runSync, type Protocol } from '../protocol/run.js';
import type { Whence } from '../table/file-table.js';
import {
  asyncOp,
  beforeClose,
  check,
  checkSize,
  closedFileError,
  closedSelf,
  consumeBuffered,
  fill,
  flushPending,
  IoBase,
  lineIterator,
  OpLock,
  peekBuffered,
  pending,
  seekRaw,
  settle,
  showName,
  startRead,
  syncOp,
  truncateSteps,
  unsupported,
  writeAllSteps,
  writeBytes,
} from './io-base.js';
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
export class BufferedFile extends IoBase implements AsyncIterable<Buffer>, Iterable<Buffer> {
  /** The raw file underneath. */
  readonly raw: RawFile;
  /** The buffer size in bytes. */
  readonly bufferSize: number;
  /** Unflushed writes (the leak watch flushes them at exit; see {@link WriteBuffer}). @internal */
  readonly [pending] = new WriteBuffer();

  readonly #lock: OpLock;
  #rbuf: Buffer | undefined;
  #rpos = 0;
  #rend = 0;

  /** Wraps `raw`; `bufferSize` defaults to `DEFAULT_BUFFER_SIZE` (64 KiB). */
  constructor(raw: RawFile, bufferSize = DEFAULT_BUFFER_SIZE) {
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 1)
      throw new FsError({
        code: 'EINVAL',
        syscall: 'open',
        detail: `buffer size must be a positive integer, not ${String(bufferSize)}`,
      });
    const lock = new OpLock();
    super(raw.name, raw.mode, raw.descriptor, raw.table, lock, raw, false);
    this.#lock = lock;
    this.raw = raw;
    this.bufferSize = bufferSize;
  }

  // ================================================================ reading

  /** Reads `size` bytes (fewer only at end of file); `-1`/omitted reads to end of file. */
  readSync(size = -1): Buffer {
    return syncOp(this, 'read', this.#read(size));
  }

  /** Promise form of {@link BufferedFile.readSync}. */
  read(size = -1): Promise<Buffer> {
    return asyncOp(this, this.#read(size));
  }

  *#read(size: number): Protocol<Buffer> {
    const n = checkSize(size, 'read');
    yield* this[startRead]();
    const raw = this.raw;
    if (n < 0)
      return concat(
        this.#takeBuffered(),
        yield* call(
          () => raw.readallSync(),
          () => raw.readall(),
        ),
      );
    const out = Buffer.allocUnsafe(n);
    const got = yield* this.#readinto(out);
    return got === n ? out : out.subarray(0, got);
  }

  /** Reads into `buffer` until it is full or end of file; returns the byte count. */
  readintoSync(buffer: Uint8Array): number {
    return syncOp(this, 'read', this.#readintoChecked(buffer));
  }

  /** Promise form of {@link BufferedFile.readintoSync}. */
  readinto(buffer: Uint8Array): Promise<number> {
    return asyncOp(this, this.#readintoChecked(buffer));
  }

  *#readintoChecked(buffer: Uint8Array): Protocol<number> {
    yield* this[startRead]();
    return yield* this.#readinto(buffer);
  }

  *#readinto(buffer: Uint8Array): Protocol<number> {
    const raw = this.raw;
    let done = this.#copyBuffered(buffer, 0);
    while (done < buffer.byteLength) {
      const want = buffer.byteLength - done;
      if (want >= this.bufferSize) {
        const rest = buffer.subarray(done);
        const n = yield* call(
          () => raw.readintoSync(rest),
          () => raw.readinto(rest),
        );
        if (n === 0) break;
        done += n;
      } else {
        if ((yield* this[fill]()) === 0) break;
        done += this.#copyBuffered(buffer, done);
      }
    }
    return done;
  }

  /** At most one raw read: what is buffered, or else one fill. For streaming without waiting for `size` bytes. */
  read1Sync(size = -1): Buffer {
    return syncOp(this, 'read', this.#read1(size));
  }

  /** Promise form of {@link BufferedFile.read1Sync}. */
  read1(size = -1): Promise<Buffer> {
    return asyncOp(this, this.#read1(size));
  }

  *#read1(size: number): Protocol<Buffer> {
    yield* this[startRead]();
    if (this.#rpos === this.#rend && (yield* this[fill]()) === 0) return EMPTY;
    return this.#takeBuffered(size);
  }

  /** One line, including its `\n`; an empty buffer at end of file. `limit` caps the length. */
  readlineSync(limit = -1): Buffer {
    // The common case without a protocol run: the line is in the read buffer already.
    return (
      (limit === -1 && this.#readyToRead() ? this.#takeBufferedLine() : undefined) ??
      syncOp(this, 'read', this.#readline(limit))
    );
  }

  /** Promise form of {@link BufferedFile.readlineSync}. */
  readline(limit = -1): Promise<Buffer> {
    return asyncOp(this, this.#readline(limit));
  }

  /**
   * Whether a read may be served from the read buffer right now, without the protocol: nothing queued,
   * nothing to flush. Checks the file is open and readable (EBADF), as the protocol would first.
   */
  #readyToRead(): boolean {
    if (this.#lock.held || this[pending].len !== 0) return false;
    this[check]('read');
    if (!this.raw.readable) throw unsupported('read', this.name, this.mode, 'reading');
    return true;
  }

  *#readline(limit: number): Protocol<Buffer> {
    const line = new LineParts(checkSize(limit, 'readline'));
    yield* this[startRead]();
    for (;;) {
      if (this.#gatherLine(line) || (yield* this[fill]()) === 0) return line.join();
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

  /** Async iteration over the lines, like {@link BufferedFile.linesSync}. */
  lines(): AsyncIterableIterator<Buffer> {
    return lineIterator(
      () => (this.#lock.held || this[pending].len !== 0 || this.closed ? undefined : this.#takeBufferedLine()),
      () => this.readline(),
      (line) => line.length === 0,
    );
  }

  /** `for await (const line of file)`: {@link BufferedFile.lines}. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this.lines();
  }

  /**
   * Moves what the read buffer holds of the current line into `line`; true once the line is complete
   * (its `\n` was found, or its limit reached). False means: refill and call again (or, at end of file,
   * the line ends here).
   */
  #gatherLine(line: LineParts): boolean {
    const rb = this.#rbuf;
    if (rb === undefined || this.#rpos === this.#rend) return false;
    const end = line.max < 0 ? this.#rend : Math.min(this.#rend, this.#rpos + line.max - line.total);
    const i = rb.indexOf(NL, this.#rpos);
    const stop = i >= 0 && i < end ? i + 1 : end;
    line.add(Buffer.from(rb.subarray(this.#rpos, stop)));
    this.#rpos = stop;
    return stop === i + 1 || (line.max >= 0 && line.total >= line.max);
  }

  /** A whole line from the read buffer, copied out, or undefined if the buffer holds no complete line. */
  #takeBufferedLine(): Buffer | undefined {
    const rb = this.#rbuf;
    if (rb === undefined || this.#rpos === this.#rend) return undefined;
    const i = rb.indexOf(NL, this.#rpos);
    if (i < 0 || i >= this.#rend) return undefined;
    const line = Buffer.from(rb.subarray(this.#rpos, i + 1));
    this.#rpos = i + 1;
    return line;
  }

  // ---------------------------------------------------------------- read internals (the text layer decodes from the buffer)

  /** The unread bytes in the read buffer, neither copied nor consumed (the text layer decodes from here). @internal */
  [peekBuffered](): Buffer {
    return this.#rbuf === undefined ? EMPTY : this.#rbuf.subarray(this.#rpos, this.#rend);
  }

  /** Marks `n` buffered bytes as read. @internal */
  [consumeBuffered](n: number): void {
    this.#rpos += n;
  }

  /** Checks the file is open and readable, and flushes pending writes first. @internal */
  *[startRead](): Protocol<void> {
    this[check]('read');
    if (!this.raw.readable) throw unsupported('read', this.name, this.mode, 'reading');
    if (this[pending].len > 0) yield* this[flushPending]();
  }

  /** Refills the buffer with one raw read, keeping any unread bytes at its front; 0 at end of file. @internal */
  *[fill](): Protocol<number> {
    const rb = this.#prepareFill();
    const room = rb.subarray(this.#rend);
    const raw = this.raw;
    const n = yield* call(
      () => raw.readintoSync(room),
      () => raw.readinto(room),
    );
    this.#rend += n;
    return n;
  }

  #prepareFill(): Buffer {
    let rb = this.#rbuf;
    const unread = this.#rend - this.#rpos;
    if (rb === undefined) {
      rb = this.#rbuf = Buffer.allocUnsafe(this.bufferSize);
    } else if (unread > 0 && this.#rpos > 0) {
      rb.copy(rb, 0, this.#rpos, this.#rend);
    }
    if (unread === rb.length) {
      // A caller (the text layer) needs more than a buffer's worth contiguous: grow.
      const bigger = Buffer.allocUnsafe(rb.length * 2);
      rb.copy(bigger, 0, this.#rpos, this.#rend);
      rb = this.#rbuf = bigger;
    }
    this.#rpos = 0;
    this.#rend = unread;
    return rb;
  }

  #copyBuffered(target: Uint8Array, at: number): number {
    const rb = this.#rbuf;
    if (rb === undefined || this.#rpos === this.#rend) return 0;
    const n = Math.min(this.#rend - this.#rpos, target.byteLength - at);
    rb.copy(target, at, this.#rpos, this.#rpos + n);
    this.#rpos += n;
    return n;
  }

  #takeBuffered(size = -1): Buffer {
    const rb = this.#rbuf;
    if (rb === undefined || this.#rpos === this.#rend) return EMPTY;
    const end = size < 0 ? this.#rend : Math.min(this.#rend, this.#rpos + size);
    const out = Buffer.from(rb.subarray(this.#rpos, end));
    this.#rpos = end;
    return out;
  }

  /** Gives back bytes read ahead: moves the raw offset to the logical position and empties the read buffer. */
  #dropReadAhead(): void {
    const unread = this.#rend - this.#rpos;
    this.#rpos = this.#rend = 0;
    if (unread > 0) {
      try {
        this.raw.seekSync(-unread, 1);
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
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.#fits(bytes)) {
      this[check]('write');
      this.#append(bytes);
      return bytes.byteLength;
    }
    return syncOp(this, 'write', this.#write(bytes));
  }

  /** Promise form of {@link BufferedFile.writeSync}. Resolves once the data is buffered or written. */
  write(data: Uint8Array | string): Promise<number> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.#fits(bytes) && !this.closed) {
      this.#append(bytes);
      return Promise.resolve(bytes.byteLength);
    }
    return asyncOp(this, this.#write(bytes));
  }

  /** The write fast path (no protocol run): nothing queued, nothing read ahead, and it fits without a flush. */
  #fits(bytes: Uint8Array): boolean {
    return (
      !this.#lock.held &&
      this.#rpos === this.#rend &&
      this.raw.writable &&
      this[pending].len + bytes.byteLength < this.bufferSize
    );
  }

  *#write(bytes: Uint8Array): Protocol<number> {
    this[check]('write');
    return yield* this[writeBytes](bytes);
  }

  /** Buffers or writes `bytes`; the caller checked the file is open (and holds the lock). @internal */
  *[writeBytes](bytes: Uint8Array): Protocol<number> {
    if (!this.raw.writable) throw unsupported('write', this.name, this.mode, 'writing');
    if (this.#rpos !== this.#rend) this.#dropReadAhead();
    const p = this[pending];
    if (p.len + bytes.byteLength <= this.bufferSize) {
      this.#append(bytes);
      if (p.len === this.bufferSize) yield* this[flushPending]();
      return bytes.byteLength;
    }
    if (p.len > 0) yield* this[flushPending]();
    if (bytes.byteLength >= this.bufferSize) yield* this.raw[writeAllSteps](bytes);
    else this.#append(bytes);
    return bytes.byteLength;
  }

  #append(bytes: Uint8Array): void {
    const p = this[pending];
    const buf = (p.buf ??= Buffer.allocUnsafe(this.bufferSize));
    buf.set(bytes, p.len);
    p.len += bytes.byteLength;
  }

  /** Writes the pending bytes out; on failure keeps what was not written. @internal */
  [flushPending](): Protocol<void> {
    return flushWriteBuffer(this[pending], this.raw);
  }

  /** The base's check, without its walk: the raw file is under it (hot: every call). @internal */
  override [check](syscall: string): void {
    if (this[closedSelf]) throw closedFileError(syscall, this.name);
    this.raw[check](syscall);
  }

  /** Checks the file is open and writes out what is pending. @internal */
  override *[settle](syscall: string): Protocol<void> {
    this[check](syscall);
    if (this[pending].len > 0) yield* this[flushPending]();
  }

  // ================================================================ position

  /** Moves the position (flushing writes first); returns the new position. */
  seekSync(offset: number, whence: Whence = 0): number {
    return syncOp(this, 'lseek', this.#seek(offset, whence));
  }

  /** Promise form of {@link BufferedFile.seekSync}. */
  seek(offset: number, whence: Whence = 0): Promise<number> {
    return asyncOp(this, this.#seek(offset, whence));
  }

  *#seek(offset: number, whence: Whence): Protocol<number> {
    yield* this[settle]('lseek');
    return this[seekRaw](offset, whence);
  }

  /** Moves the raw offset and drops the read buffer; pending writes must be flushed first. @internal */
  [seekRaw](offset: number, whence: Whence): number {
    const unread = this.#rend - this.#rpos;
    // The raw offset is `unread` bytes ahead of the logical position. Drop the read-ahead only once the
    // seek succeeded: a failed seek (EINVAL) must leave the position and the buffered bytes as they were.
    const at = whence === 1 ? this.raw.seekSync(offset - unread, 1) : this.raw.seekSync(offset, whence);
    this.#rpos = this.#rend = 0;
    return at;
  }

  /** The logical position: what has been read or written through this object. */
  tell(): number {
    this[check]('lseek');
    // In append mode the pending bytes will land at the end of the file, wherever the offset was.
    if (this[pending].len > 0 && this.raw.appending) return this.raw.statSync().size + this[pending].len;
    return this.raw.tell() - (this.#rend - this.#rpos) + this[pending].len;
  }

  /** Resizes the file to `size` (default: the current position), after flushing. Returns the new size. */
  truncateSync(size?: number): number {
    return syncOp(this, 'ftruncate', this.#truncate(size));
  }

  /** Promise form of {@link BufferedFile.truncateSync}. */
  truncate(size?: number): Promise<number> {
    return asyncOp(this, this.#truncate(size));
  }

  *#truncate(size: number | undefined): Protocol<number> {
    this[check]('ftruncate');
    return yield* this[truncateSteps](size);
  }

  /** Truncate once the file is checked open (the text layer's truncate runs it under its own checks). @internal */
  *[truncateSteps](size: number | undefined): Protocol<number> {
    if (!this.raw.writable) throw unsupported('ftruncate', this.name, this.mode, 'writing');
    if (this[pending].len > 0) yield* this[flushPending]();
    const n = size ?? this.tell();
    this.#dropReadAhead();
    const raw = this.raw;
    return yield* call(
      () => raw.truncateSync(n),
      () => raw.truncate(n),
    );
  }

  // ================================================================ lifetime

  /** Close: let go of the read buffer, and write out what is pending (unless the raw file is closed already). @internal */
  override [beforeClose](): Protocol<void> | undefined {
    this.#rbuf = undefined;
    return this[pending].len > 0 && !this.raw.closed ? this[flushPending]() : undefined;
  }

  /** `BufferedFile(name='/tmp/a', mode='rb+')`. */
  override toString(): string {
    return `BufferedFile(name=${showName(this.name)}, mode='${this.mode}'${this.closed ? ', closed' : ''})`;
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

/** Writes a {@link WriteBuffer} out through `raw`; on failure keeps what was not written. */
function* flushWriteBuffer(p: WriteBuffer, raw: RawFile): Protocol<void> {
  if (p.buf === undefined || p.len === 0) return;
  try {
    yield* raw[writeAllSteps](p.buf.subarray(0, p.len));
    p.len = 0;
  } catch (e) {
    keepUnwritten(p, e);
    throw e;
  }
}

/** {@link flushWriteBuffer}, synchronously: the leak watch's flush at exit (it holds no file object). */
export function flushWriteBufferSync(p: WriteBuffer, raw: RawFile): void {
  runSync(flushWriteBuffer(p, raw));
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
