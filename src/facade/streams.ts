/**
 * node:fs's `ReadStream` and `WriteStream` for the facade: node:stream Readable/Writable over a
 * {@link Descriptor} of the facade's table, with the options and events node:fs streams have (`open`,
 * `ready`, `close`; `start`, `end`, `flags`, `encoding`, `fd`, `autoClose`). A stream's open waits in
 * the table's budget queue like every promise open of the facade.
 *
 * @module
 */
import { Readable, Writable } from 'node:stream';
import { runAsync } from '../protocol/run.js';
import type { Descriptor } from '../table/descriptor.js';
import type { FileTable } from '../table/file-table.js';
import { invalidArgValue, parseFlags } from './context.js';
import { writeAll } from './operations.js';
import type { ReadStreamOptions, WriteStreamOptions } from './types.js';

/** The Descriptor a stream's `fd` option names (a number, or a FileHandle of the same facade). */
function descriptorOption(
  table: FileTable,
  fd: number | { readonly fd: number } | null | undefined,
  syscall: string,
): Descriptor | undefined {
  if (fd === null || fd === undefined) return undefined;
  return table.descriptor(typeof fd === 'number' ? fd : fd.fd, syscall);
}

/** The descriptor side of a facade stream: the file to open (or the one given), opening it, closing it. */
class StreamFile {
  /** The open descriptor; null before the open and after the close. */
  file: Descriptor | null;
  private readonly flags: number;
  private readonly mode: number;
  readonly autoClose: boolean;

  constructor(
    private readonly table: FileTable,
    readonly path: string | undefined,
    options: ReadStreamOptions | WriteStreamOptions,
    defaultFlags: string,
    file: Descriptor | undefined,
  ) {
    this.file = file ?? descriptorOption(table, options.fd, 'open') ?? null;
    this.flags = parseFlags(options.flags, defaultFlags);
    this.mode = options.mode ?? 0o666;
    this.autoClose = options.autoClose ?? true;
    if (path === undefined && this.file === null) throw invalidArgValue('path', path, 'must be a path or an fd option');
  }

  /** A stream's `_construct`: opens the file (waiting in the table's budget queue) unless it has one. */
  construct(
    stream: Readable | Writable,
    opened: (d: Descriptor) => void,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.file !== null) {
      callback();
      return;
    }
    this.table.openDescriptor(this.path ?? '', this.flags, this.mode).then(
      (d) => {
        this.file = d;
        opened(d);
        callback();
        stream.emit('open', d.number);
        stream.emit('ready');
      },
      (e: unknown) => {
        callback(e as Error);
      },
    );
  }

  /** A stream's `_destroy`: closes the descriptor if the stream owns it (`closed` runs first), passing on the first error. */
  destroy(error: Error | null, callback: (error?: Error | null) => void, closed: () => void): void {
    const file = this.autoClose ? this.file : null;
    if (file === null) {
      callback(error);
      return;
    }
    this.file = null;
    closed();
    file.close().then(
      () => {
        callback(error);
      },
      (e: unknown) => {
        callback(error ?? (e as Error));
      },
    );
  }
}

function checkNumber(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= min))
    throw invalidArgValue(name, v, `must be an integer >= ${min}`);
}

/** A readable stream of a file's bytes, as node:fs's `createReadStream` returns. */
export class ReadStream extends Readable {
  /** The path given (undefined when reading from a descriptor). */
  readonly path: string | undefined;
  /** The descriptor number (in the facade's table), once open; null after it is closed. */
  fd: number | null;
  /** Bytes read so far. */
  bytesRead = 0;
  /** True until the file is open. */
  pending: boolean;
  /** The first byte read, if given. */
  readonly start: number | undefined;
  /** The last byte read (inclusive); Infinity for "to the end". */
  readonly end: number;
  private pos: number | undefined;
  private readonly target: StreamFile;

  /** @internal Use the facade's `createReadStream`. */
  constructor(table: FileTable, path: string | undefined, options: ReadStreamOptions = {}, file?: Descriptor) {
    super({
      highWaterMark: options.highWaterMark ?? 64 * 1024,
      encoding: options.encoding === 'buffer' || options.encoding == null ? undefined : options.encoding,
      emitClose: options.emitClose ?? true,
      autoDestroy: options.autoClose ?? true,
    });
    checkNumber('start', options.start, 0);
    checkNumber('end', options.end, 0);
    this.path = path;
    this.start = options.start;
    this.end = options.end ?? Infinity;
    this.pos = options.start ?? (options.end !== undefined ? 0 : undefined);
    if (this.pos !== undefined && this.pos > this.end) {
      const e = new RangeError(
        `The value of "start" is out of range. It must be <= "end" (here: ${this.end}). Received ${this.pos}`,
      );
      (e as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
      throw e;
    }
    this.target = new StreamFile(table, path, options, 'r', file);
    this.fd = this.target.file?.number ?? null;
    this.pending = this.fd === null;
  }

  /** @internal */
  override _construct(callback: (error?: Error | null) => void): void {
    this.target.construct(
      this,
      (d) => {
        this.fd = d.number;
        this.pending = false;
      },
      callback,
    );
  }

  /** @internal */
  override _read(size: number): void {
    const file = this.target.file;
    if (file === null) return;
    const want = this.pos === undefined || this.end === Infinity ? size : Math.min(size, this.end - this.pos + 1);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafeSlow(want);
    file.read(buf, 0, want, this.pos ?? null).then(
      (n) => {
        if (n === 0) {
          this.push(null);
          return;
        }
        if (this.pos !== undefined) this.pos += n;
        this.bytesRead += n;
        this.push(n === want ? buf : buf.subarray(0, n));
      },
      (e: unknown) => {
        this.destroy(e as Error);
      },
    );
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.target.destroy(error, callback, () => {
      this.fd = null;
    });
  }

  /** Destroys the stream (closing the descriptor); `callback` runs on `'close'`. */
  close(callback?: (err?: Error | null) => void): void {
    if (callback !== undefined) onClosed(this, callback);
    this.destroy();
  }
}

/** A writable stream into a file, as node:fs's `createWriteStream` returns. */
export class WriteStream extends Writable {
  /** The path given (undefined when writing to a descriptor). */
  readonly path: string | undefined;
  /** The descriptor number (in the facade's table), once open; null after it is closed. */
  fd: number | null;
  /** Bytes written so far. */
  bytesWritten = 0;
  /** True until the file is open. */
  pending: boolean;
  /** Where writing started, if given. */
  readonly start: number | undefined;
  private pos: number | undefined;
  private readonly target: StreamFile;
  private readonly flush: boolean;

  /** @internal Use the facade's `createWriteStream`. */
  constructor(table: FileTable, path: string | undefined, options: WriteStreamOptions = {}, file?: Descriptor) {
    super({
      highWaterMark: options.highWaterMark ?? 16 * 1024,
      defaultEncoding: options.encoding === 'buffer' || options.encoding == null ? 'utf8' : options.encoding,
      emitClose: options.emitClose ?? true,
      autoDestroy: options.autoClose ?? true,
      decodeStrings: true,
    });
    checkNumber('start', options.start, 0);
    this.path = path;
    this.flush = options.flush === true;
    this.start = options.start;
    this.pos = options.start;
    this.target = new StreamFile(table, path, options, 'w', file);
    this.fd = this.target.file?.number ?? null;
    this.pending = this.fd === null;
  }

  /** @internal */
  override _construct(callback: (error?: Error | null) => void): void {
    this.target.construct(
      this,
      (d) => {
        this.fd = d.number;
        this.pending = false;
      },
      callback,
    );
  }

  /** @internal */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeChunk(chunk, callback);
  }

  /** @internal */
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.writeChunk(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private writeChunk(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const file = this.target.file;
    if (file === null) {
      callback(new Error('WriteStream: the file is not open'));
      return;
    }
    runAsync(writeAll(file, chunk, this.pos ?? null)).then(
      () => {
        this.bytesWritten += chunk.byteLength;
        if (this.pos !== undefined) this.pos += chunk.byteLength;
        callback();
      },
      (e: unknown) => {
        callback(e as Error);
      },
    );
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    const file = this.target.file;
    if (!this.flush || file === null) {
      callback();
      return;
    }
    file.sync().then(
      () => {
        callback();
      },
      (e: unknown) => {
        callback(e as Error);
      },
    );
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.target.destroy(error, callback, () => {
      this.fd = null;
    });
  }

  /** Ends the stream (flushing what is buffered) and closes the descriptor; `callback` runs on `'close'`. */
  close(callback?: (err?: Error | null) => void): void {
    if (callback !== undefined) onClosed(this, callback);
    if (this.writableEnded) {
      if (!this.destroyed && this.writableFinished) this.destroy();
      return;
    }
    this.end();
  }
}

function onClosed(stream: Readable | Writable, callback: (err?: Error | null) => void): void {
  if (stream.closed) {
    process.nextTick(callback, stream.errored);
    return;
  }
  stream.once('close', () => {
    callback(stream.errored);
  });
}
