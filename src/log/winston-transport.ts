/**
 * A winston transport over a {@link LogFile}:
 * `winston.createLogger({ transports: [new LogTransport({ filename })] })`.
 *
 * winston (and winston-transport) are not dependencies of fdkeeper, so this implements the transport
 * contract itself, on node:stream's Writable, the way winston-transport's `TransportStream` does: an
 * object-mode Writable that the logger pipes `info` objects into; the logger's `levels` arrive with the
 * `'pipe'` event; a transport-level `level` filters; `format` (any object with `transform(info, opts)`)
 * applies; and the formatted line is `info[Symbol.for('message')]`, as winston's formats leave it.
 *
 * @module
 */
import { Writable } from 'node:stream';
import { LogFile } from './log-file.js';
import type { LogFileOptions } from './types.js';
import { whenAccepting } from './when-accepting.js';

/** winston's keys: the level a record was logged at (unaffected by colorize) and the formatted message. */
const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

/** The part of a winston format the transport uses. */
export interface WinstonFormat {
  /** Returns the transformed record, or false to drop it. */
  transform(info: WinstonInfo, options?: unknown): WinstonInfo | boolean;
  /** The options the format was made with. */
  readonly options?: object;
}

/** A winston log record, as the transport sees it. */
export interface WinstonInfo {
  /** The level name (possibly colorized; the plain one is under `Symbol.for('level')`). */
  level: string;
  /** The message logged. */
  message: unknown;
  [key: string | symbol]: unknown;
}

/** Options of {@link LogTransport}: the LogFile's, plus winston's transport options. */
export interface LogTransportOptions extends LogFileOptions {
  /** The log file's path (winston's File transport calls it `filename`). */
  readonly filename: string;
  /** The most verbose level written (default: the logger's level). */
  readonly level?: string;
  /** A winston format applied in this transport only. */
  readonly format?: WinstonFormat;
  /** Write nothing. */
  readonly silent?: boolean;
  /** Also write the records winston makes for uncaught exceptions (`handleExceptions` on the logger). */
  readonly handleExceptions?: boolean;
  /** Also write the records winston makes for unhandled rejections. */
  readonly handleRejections?: boolean;
  /** The line ending added after each record (default `'\n'`, as winston's File transport, `os.EOL` there). */
  readonly eol?: string;
}

interface PipeSource {
  readonly levels?: Record<string, number>;
  readonly level?: string;
}

/**
 * The winston transport. Also usable on its own as an object-mode Writable of `info` objects.
 * `.log` (a method, by winston's contract) writes one record; the file is {@link LogTransport.file}.
 */
export class LogTransport extends Writable {
  /** The rotation-proof file written to. */
  readonly file: LogFile;
  /** winston reads these (the transport's own threshold and its exception handling). */
  level: string | undefined;
  /** A format applied in this transport only. */
  format: WinstonFormat | undefined;
  /** Write nothing. */
  silent: boolean;
  /** Write winston's uncaught-exception records. */
  handleExceptions: boolean;
  /** Write winston's unhandled-rejection records. */
  handleRejections: boolean;
  /** Set by the logger on pipe. */
  levels: Record<string, number> | undefined;
  private parent: PipeSource | undefined;
  private readonly eol: string;

  constructor(options: LogTransportOptions) {
    super({ objectMode: true });
    const { filename, level, format, silent, handleExceptions, handleRejections, eol, ...logOptions } = options;
    if (typeof filename !== 'string' || filename === '') throw new TypeError('LogTransport needs options.filename');
    this.file = new LogFile(filename, logOptions);
    this.level = level;
    this.format = format;
    this.silent = silent === true;
    this.handleExceptions = handleExceptions === true;
    this.handleRejections = handleRejections === true;
    this.eol = eol ?? '\n';
    this.once('pipe', (src: PipeSource) => {
      this.levels = src.levels;
      this.parent = src;
    });
    this.once('unpipe', (src: PipeSource) => {
      if (src === this.parent) this.parent = undefined;
    });
  }

  /** winston's transport method: writes one record, then calls back (at once: records are buffered). */
  log(info: WinstonInfo, callback: () => void): void {
    const message = info[MESSAGE];
    const line =
      typeof message === 'string' ? message : JSON.stringify({ ...info, level: info.level, message: info.message });
    const ok = this.file.write(line + this.eol);
    this.emit('logged', info);
    if (ok) callback();
    else whenAccepting(this.file, callback);
  }

  /** Whether a record passes the transport's level (winston-transport's rule). */
  private accepts(info: WinstonInfo): boolean {
    if (this.silent) return false;
    if (info['exception'] === true) return this.handleExceptions;
    const level = this.level ?? this.parent?.level;
    const levels = this.levels;
    const infoLevel = info[LEVEL];
    if (level === undefined || levels === undefined || typeof infoLevel !== 'string') return true;
    const max = levels[level];
    const mine = levels[infoLevel];
    return max === undefined || mine === undefined || max >= mine;
  }

  /** @internal Writable's hook: the logger pipes `info` objects here. */
  override _write(info: WinstonInfo, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (!this.accepts(info)) {
      callback(null);
      return;
    }
    if (this.format === undefined) {
      this.log(info, callback);
      return;
    }
    const out = this.format.transform(Object.assign({}, info), this.format.options);
    if (typeof out !== 'object') {
      callback(null); // the format filtered the record out
      return;
    }
    this.log(out, callback);
  }

  /** @internal Flushes and closes the file when the stream ends (`logger.end()`). */
  override _final(callback: (err?: Error | null) => void): void {
    this.file.close().then(() => {
      callback(null);
    }, callback);
  }

  /** @internal */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.file.isClosed) this.file.closeSync();
    callback(err);
  }

  /** winston calls this when the transport is removed or the logger closes. */
  close(): void {
    this.file.closeSync();
  }
}

/** `new LogTransport(options)`, for call sites that prefer a factory. */
export function createLogTransport(options: LogTransportOptions): LogTransport {
  return new LogTransport(options);
}
