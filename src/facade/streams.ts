/**
 * node:fs's `ReadStream` and `WriteStream` for the facade: node:stream Readable/Writable over a backend's
 * promise calls, with the options and events node:fs streams have (`open`, `ready`, `close`; `start`,
 * `end`, `flags`, `encoding`, `fd`, `autoClose`).
 *
 * @module
 */
import { Readable, Writable } from 'node:stream';
import type { Backend } from '../backend/backend.js';
import { invalidArgValue, parseFlags } from './context.js';
import type { ReadStreamOptions, WriteStreamOptions } from './types.js';

function descriptorOption(fd: number | { readonly fd: number } | null | undefined): number | undefined {
  if (fd === null || fd === undefined) return undefined;
  return typeof fd === 'number' ? fd : fd.fd;
}

function checkNumber(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= min)) throw invalidArgValue(name, v, `must be an integer >= ${min}`);
}

async function writeAll(b: Backend, fd: number, chunk: Uint8Array, position: number | undefined): Promise<void> {
  let done = 0;
  while (done < chunk.byteLength) {
    const n = await b.write(fd, chunk, done, chunk.byteLength - done, position === undefined ? null : position + done);
    if (n <= 0) throw new Error('write(2) wrote nothing');
    done += n;
  }
}

/** A readable stream of a file's bytes, as node:fs's `createReadStream` returns. */
export class ReadStream extends Readable {
  /** The path given (undefined when reading from a descriptor). */
  readonly path: string | undefined;
  /** The backend descriptor, once open; null after it is closed. */
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
  private readonly backend: Backend;
  private readonly flags: number;
  private readonly mode: number;
  private readonly autoClose: boolean;

  /** @internal Use the facade's `createReadStream`. */
  constructor(backend: Backend, path: string | undefined, options: ReadStreamOptions = {}) {
    const autoClose = options.autoClose ?? true;
    super({
      highWaterMark: options.highWaterMark ?? 64 * 1024,
      encoding: options.encoding === 'buffer' || options.encoding == null ? undefined : options.encoding,
      emitClose: options.emitClose ?? true,
      autoDestroy: autoClose,
    });
    checkNumber('start', options.start, 0);
    checkNumber('end', options.end, 0);
    this.backend = backend;
    this.path = path;
    this.fd = descriptorOption(options.fd) ?? null;
    this.pending = this.fd === null;
    this.flags = parseFlags(options.flags, 'r');
    this.mode = options.mode ?? 0o666;
    this.autoClose = autoClose;
    this.start = options.start;
    this.end = options.end ?? Infinity;
    this.pos = options.start ?? (options.end !== undefined ? 0 : undefined);
    if (this.pos !== undefined && this.pos > this.end) {
      const e = new RangeError(`The value of "start" is out of range. It must be <= "end" (here: ${this.end}). Received ${this.pos}`);
      (e as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
      throw e;
    }
    if (path === undefined && this.fd === null) throw invalidArgValue('path', path, 'must be a path or an fd option');
  }

  /** @internal */
  override _construct(callback: (error?: Error | null) => void): void {
    if (this.fd !== null) {
      callback();
      return;
    }
    this.backend.open(this.path ?? '', this.flags, this.mode).then(
      (fd) => {
        this.fd = fd;
        this.pending = false;
        callback();
        this.emit('open', fd);
        this.emit('ready');
      },
      (e: unknown) => {
        callback(e as Error);
      },
    );
  }

  /** @internal */
  override _read(size: number): void {
    const fd = this.fd;
    if (fd === null) return;
    const want = this.pos === undefined || this.end === Infinity ? size : Math.min(size, this.end - this.pos + 1);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafeSlow(want);
    this.backend.read(fd, buf, 0, want, this.pos ?? null).then(
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
    const fd = this.autoClose ? this.fd : null;
    if (fd !== null) this.fd = null;
    closeOnDestroy(this.backend, fd, error, callback);
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
  /** The backend descriptor, once open; null after it is closed. */
  fd: number | null;
  /** Bytes written so far. */
  bytesWritten = 0;
  /** True until the file is open. */
  pending: boolean;
  /** Where writing started, if given. */
  readonly start: number | undefined;
  private pos: number | undefined;
  private readonly backend: Backend;
  private readonly flags: number;
  private readonly mode: number;
  private readonly autoClose: boolean;
  private readonly flush: boolean;

  /** @internal Use the facade's `createWriteStream`. */
  constructor(backend: Backend, path: string | undefined, options: WriteStreamOptions = {}) {
    const autoClose = options.autoClose ?? true;
    super({
      highWaterMark: options.highWaterMark ?? 16 * 1024,
      defaultEncoding: options.encoding === 'buffer' || options.encoding == null ? 'utf8' : options.encoding,
      emitClose: options.emitClose ?? true,
      autoDestroy: autoClose,
      decodeStrings: true,
    });
    checkNumber('start', options.start, 0);
    this.backend = backend;
    this.path = path;
    this.fd = descriptorOption(options.fd) ?? null;
    this.pending = this.fd === null;
    this.flags = parseFlags(options.flags, 'w');
    this.mode = options.mode ?? 0o666;
    this.autoClose = autoClose;
    this.flush = options.flush === true;
    this.start = options.start;
    this.pos = options.start;
    if (path === undefined && this.fd === null) throw invalidArgValue('path', path, 'must be a path or an fd option');
  }

  /** @internal */
  override _construct(callback: (error?: Error | null) => void): void {
    if (this.fd !== null) {
      callback();
      return;
    }
    this.backend.open(this.path ?? '', this.flags, this.mode).then(
      (fd) => {
        this.fd = fd;
        this.pending = false;
        callback();
        this.emit('open', fd);
        this.emit('ready');
      },
      (e: unknown) => {
        callback(e as Error);
      },
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
    const fd = this.fd;
    if (fd === null) {
      callback(new Error('WriteStream: the file is not open'));
      return;
    }
    writeAll(this.backend, fd, chunk, this.pos).then(
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
    const fd = this.fd;
    if (!this.flush || fd === null) {
      callback();
      return;
    }
    this.backend.fsync(fd).then(
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
    const fd = this.autoClose ? this.fd : null;
    if (fd !== null) this.fd = null;
    closeOnDestroy(this.backend, fd, error, callback);
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

/** On a stream's destroy: closes its descriptor (`fd` null: nothing to close), passing on the first error. */
function closeOnDestroy(backend: Backend, fd: number | null, error: Error | null, callback: (error?: Error | null) => void): void {
  if (fd === null) {
    callback(error);
    return;
  }
  backend.close(fd).then(
    () => {
      callback(error);
    },
    (e: unknown) => {
      callback(error ?? (e as Error));
    },
  );
}
