import { FsError, rejected } from '../errors/fs-error.js';
import { nodeOs } from '../process/builtins.js';
import type { Protocol } from '../protocol/run.js';
import type { Whence } from '../table/file-table.js';
import type { BufferedFile } from './buffered-file.js';
import {
  asyncOp,
  beforeClose,
  check,
  checkSize,
  closedFileError,
  closedSelf,
  consumeBuffered,
  descriptorOf,
  fill,
  flushPending,
  IoBase,
  lineIterator,
  type OpLock,
  opLock,
  peekBuffered,
  pending,
  seekRaw,
  showName,
  startRead,
  syncOp,
  tableOf,
  truncateSteps,
  unsupported,
  work,
  writeBytes,
} from './io-base.js';
import { LineSplitter, stripEnding, type Newline } from './newline.js';
import {
  TextCodec,
  canonicalEncoding,
  codePointLength,
  type CanonicalEncoding,
  type DecodeErrors,
  type TextEncoding,
} from './text-codec.js';

export type { Newline } from './newline.js';
export type { DecodeErrors, TextEncoding } from './text-codec.js';

/** Options of the text layer. */
export interface TextOptions {
  /** Default `'utf8'`. */
  encoding?: TextEncoding;
  /** Default `'replace'` (Node's convention; Python's is strict). */
  errors?: DecodeErrors;
  /** Default `undefined`: universal newlines. */
  newline?: Newline;
  /** Flush after every write that contains a line ending. Default false. */
  lineBuffering?: boolean;
}

/** Options of {@link TextFile.lines}. */
export interface LinesOptions {
  /** Keep each line's ending (Python's default). When false the ending is removed. Default true. */
  keepends?: boolean;
}

/** The text options, checked and resolved. */
/** The text options, checked and resolved. */
interface ResolvedTextOptions {
  readonly encoding: CanonicalEncoding;
  readonly errors: DecodeErrors;
  readonly newline: Exclude<Newline, null> | undefined;
  readonly lineBuffering: boolean;
}

/**
 * Checks the text options (EINVAL naming the bad one), so `open()` can refuse them before
 * it opens, creates or truncates anything.
 */
export function resolveTextOptions(options: TextOptions, path?: string): ResolvedTextOptions {
  const invalid = (detail: string): FsError => new FsError({ code: 'EINVAL', syscall: 'open', path, detail });
  const requested: unknown = options.encoding ?? 'utf8';
  const encoding = typeof requested === 'string' ? canonicalEncoding(requested) : undefined;
  if (encoding === undefined)
    throw invalid(`unsupported text encoding '${String(options.encoding)}' (use utf8, utf16le, latin1 or ascii)`);
  const errors = options.errors ?? 'replace';
  if ((errors as string) !== 'replace' && (errors as string) !== 'strict')
    throw invalid(`errors must be 'replace' or 'strict', not ${JSON.stringify(errors)}`);
  const newline = options.newline ?? undefined;
  if (newline !== undefined && !['', '\n', '\r', '\r\n'].includes(newline))
    throw invalid(`illegal newline value ${JSON.stringify(newline)}`);
  return { encoding, errors, newline, lineBuffering: options.lineBuffering === true };
}

/**
 * The text layer, Python's `TextIOWrapper`: strings over a {@link BufferedFile}. Decoding never splits a
 * multi-byte character, however the reads fall; newlines follow {@link Newline}.
 *
 * `tell()` returns the byte offset of the next character to be read (or written), and `seek()` accepts
 * such a value with whence 0, or offset 0 with whence 1 or 2, as in Python.
 *
 * Promise calls run one at a time (they share the buffered file's lock); `for await (const line of f)`
 * iterates over lines including their endings. Supports `using` / `await using`.
 */
export class TextFile extends IoBase implements AsyncIterable<string>, Iterable<string> {
  /** The buffered file underneath. */
  readonly buffer: BufferedFile;
  /** The encoding (canonical Node name). */
  readonly encoding: CanonicalEncoding;
  /** See {@link DecodeErrors}. */
  readonly errors: DecodeErrors;
  /** See {@link Newline}. */
  readonly newline: Newline | undefined;
  /** Whether writes with a line ending flush. */
  readonly lineBuffering: boolean;

  readonly #codec: TextCodec;
  readonly #text: LineSplitter;
  readonly #lock: OpLock;
  readonly #writeNewline: string | undefined;
  /** Whether the file can seek (asked once, by the first read of everything in translating mode). */
  #canSeek: boolean | undefined;

  /**
   * Text over `buffer` (Python's `TextIOWrapper(buffer, …)`); `open()` builds one for you. `mode` is
   * what the file reports as its mode. Bad options are EINVAL.
   */
  constructor(buffer: BufferedFile, mode: string, options: TextOptions = {}) {
    const { encoding, errors, newline, lineBuffering } = resolveTextOptions(
      options,
      typeof buffer.name === 'string' ? buffer.name : undefined,
    );
    const lock = buffer[opLock] as OpLock;
    super(buffer.name, mode, buffer[descriptorOf], buffer[tableOf], lock, buffer, false);
    this.#lock = lock;
    this.buffer = buffer;
    this.encoding = encoding;
    this.errors = errors;
    this.newline = newline;
    this.lineBuffering = lineBuffering;
    this.#codec = new TextCodec(encoding, errors);
    this.#text = new LineSplitter(newline, encoding);
    this.#writeNewline =
      newline === undefined
        ? nodeOs().EOL === '\n'
          ? undefined
          : nodeOs().EOL
        : newline === '' || newline === '\n'
          ? undefined
          : newline;
  }

  /** The base's check, without its walk: the buffered file is under it (hot: every call). @internal */
  override [check](syscall: string): void {
    if (this[closedSelf]) throw closedFileError(syscall, this.name);
    this.buffer[check](syscall);
  }

  /** UTF-16 units the read path has handled (the linearity tests' measure of work). @internal */
  get [work](): number {
    return this.#text.units;
  }

  // ================================================================ reading

  /**
   * Reads `size` characters (fewer only at end of file); -1/omitted reads the rest. `''` at end of file.
   * Characters are counted as Python does: code points (a surrogate pair is one), after newline
   * translation (a `\r\n` read as `\n` is one). A call that fails (EILSEQ with `errors: 'strict'`, an I/O
   * error) consumes nothing: `tell()` and the next read start where this one started.
   */
  readSync(size = -1): string {
    // The common case without a protocol run: `size` characters are decoded already.
    if (size >= 0 && Number.isSafeInteger(size) && this.#readyToRead()) {
      const text = this.#text;
      text.startScan();
      if (text.scanChars(size)) return text.takeScanned();
    }
    return syncOp(this, 'read', this.#read(size));
  }

  /** Promise form of {@link TextFile.readSync}. */
  read(size = -1): Promise<string> {
    return asyncOp(this, this.#read(size));
  }

  *#read(size: number): Protocol<string> {
    const n = checkSize(size, 'read');
    yield* this.buffer[startRead]();
    const text = this.#text;
    text.startScan();
    if (n < 0) {
      const early = this.#translateEarly();
      try {
        while (yield* this.#decode()) if (early) text.pretranslateLast();
      } catch (e) {
        if (early) this.#abandonEarly();
        throw e;
      }
      return text.takeAll();
    }
    while (!text.scanChars(n)) yield* this.#decode();
    return text.takeScanned();
  }

  /**
   * One line including its ending; `''` at end of file. `limit` caps the characters (counted as by
   * `read`). Like `read`, a call that fails consumes nothing.
   */
  readlineSync(limit = -1): string {
    // The common case without a protocol run: the line is decoded already.
    return (
      (limit >= -1 && Number.isSafeInteger(limit) && this.#readyToRead() ? this.#text.decodedLine(limit) : undefined) ??
      syncOp(this, 'read', this.#readline(limit))
    );
  }

  /** Promise form of {@link TextFile.readlineSync}. */
  readline(limit = -1): Promise<string> {
    return asyncOp(this, this.#readline(limit));
  }

  *#readline(limit: number): Protocol<string> {
    const max = checkSize(limit, 'readline');
    yield* this.buffer[startRead]();
    const text = this.#text;
    text.startScan();
    while (!text.scanLine(max)) yield* this.#decode();
    return text.takeScanned();
  }

  /**
   * Whether a read may be served from decoded text right now, without the protocol: nothing queued,
   * nothing to flush. Checks the file is open and readable (EBADF), as the protocol would first.
   */
  #readyToRead(): boolean {
    if (this.#lock.held || this.buffer[pending].len !== 0) return false;
    this[check]('read');
    if (!this.buffer.readable) throw unsupported('read', this.name, this.mode, 'reading');
    return true;
  }

  /** Every remaining line. */
  readlinesSync(): string[] {
    return [...this.linesSync()];
  }

  /** Promise form of {@link TextFile.readlinesSync}. */
  async readlines(): Promise<string[]> {
    const out: string[] = [];
    for await (const line of this.lines()) out.push(line);
    return out;
  }

  /** Iterates over the remaining lines (see {@link LinesOptions}). */
  *linesSync(options: LinesOptions = {}): Generator<string, void, undefined> {
    const strip = options.keepends === false;
    for (;;) {
      const line = this.readlineSync();
      if (line === '') return;
      yield strip ? stripEnding(line) : line;
    }
  }

  /**
   * Async iteration over the remaining lines (see {@link LinesOptions}). Lines already decoded are
   * handed out without waiting; the file is read in `bufferSize` chunks.
   */
  lines(options: LinesOptions = {}): AsyncIterableIterator<string> {
    const strip = options.keepends === false;
    return lineIterator(
      // A whole line already decoded, and nobody else using the file: no lock, no await.
      () =>
        this.#lock.held || this.buffer[pending].len !== 0 || this.buffer.closed ? undefined : this.#text.decodedLine(),
      () => this.readline(),
      (line) => line === '',
      strip ? stripEnding : undefined,
    );
  }

  /** `for (const line of file)`. */
  [Symbol.iterator](): Iterator<string> {
    return this.linesSync();
  }

  /** `for await (const line of file)`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<string> {
    return this.lines();
  }

  // ---------------------------------------------------------------- decoding

  /** Decodes more of the file into the splitter; false at end of file (with nothing more to add). */
  *#decode(): Protocol<boolean> {
    const text = this.#text;
    if (text.eof) return false;
    const buffer = this.buffer;
    for (;;) {
      // Strict: the characters before an invalid byte are decoded and the invalid bytes stay buffered,
      // so a call fails only if it needs to read past them (and the next call fails again).
      const step = this.#codec.decode(buffer[peekBuffered]());
      if (step === 'invalid') throw this.#decodeError(this.#codec.invalidWhat);
      if (step !== 'more') {
        buffer[consumeBuffered](step.bytes);
        text.push(step);
        return true;
      }
      if ((yield* buffer[fill]()) === 0) return this.#finishDecoding();
    }
  }

  /** At end of file: decode whatever incomplete bytes are left (as U+FFFD, or EILSEQ when strict). */
  #finishDecoding(): boolean {
    const last = this.#codec.decodeFinal(this.buffer[peekBuffered]());
    // Strict: fail, keeping the bytes, so that the next call fails again instead of dropping them.
    if (last === 'invalid') throw this.#decodeError('incomplete character at end of file');
    this.#text.eof = true;
    if (last === undefined) return false;
    this.buffer[consumeBuffered](last.bytes);
    this.#text.push(last);
    return true;
  }

  #decodeError(what: string): FsError {
    let at = '';
    try {
      at = ` at byte ${this.buffer.tell()}`;
    } catch {
      // a pipe: no position to name
    }
    return new FsError({
      code: 'EILSEQ',
      syscall: 'read',
      path: this.#path,
      detail: `${what}${at} (encoding ${this.encoding}, errors 'strict')`,
    });
  }

  /**
   * Reading everything with universal newlines: translate each segment as it is decoded, while it is
   * fresh, and drop its untranslated text (keeping both, or translating everything at the end, doubled the
   * garbage collector's work: CRLF read 1.6–2× slower than LF instead of 1.1–1.4×). Only where a failure
   * can be undone by seeking back (not on pipes).
   */
  #translateEarly(): boolean {
    if (!this.#text.translateRead) return false;
    if (this.#canSeek === undefined) {
      try {
        this.#canSeek = this.buffer.raw.seekableSync();
      } catch {
        return false;
      }
    }
    return this.#canSeek;
  }

  /**
   * A read of everything failed after translating early: go back to where it started (the exact offset:
   * translated segments are undelivered and whole) and drop the decoded text, so nothing is consumed.
   */
  #abandonEarly(): void {
    try {
      this.#rewindReadAhead();
    } catch {
      this.#text.clear(); // the descriptor is gone: the caller sees the first error
    }
  }

  /** Before writing after reading: move the buffered position back to the first undelivered character. */
  #rewindReadAhead(): void {
    if (this.#text.empty && this.buffer[peekBuffered]().length === 0) return;
    const pos = this.#tell();
    this.#text.clear();
    this.buffer[seekRaw](pos, 0);
  }

  // ================================================================ writing

  /**
   * Writes `s` (translating `\n` per {@link Newline}); returns its length in characters as Python counts
   * them (code points: `'a😀b'` is 3). After reading, the text lands at `tell()`, the first character not
   * yet read.
   */
  writeSync(s: string): number {
    // The common case without a protocol run, as write()'s: nothing decoded ahead, no flush per line.
    if (this.#lock.held || this.lineBuffering || !this.#text.empty)
      return syncOp(this, 'write', this.#write(s, undefined));
    this.#checkWrite();
    const bytes = this.#encode(s);
    this.#text.eof = false;
    this.buffer.writeSync(bytes); // its own fast path, or its protocol
    return codePointLength(s);
  }

  /** Promise form of {@link TextFile.writeSync}. A closed or read-only file is EBADF before `s` is looked at. */
  write(s: string): Promise<number> {
    let bytes: Buffer;
    try {
      this.#checkWrite();
      bytes = this.#encode(s);
    } catch (e) {
      return rejected(e);
    }
    // Fast path: the buffered layer's own fast path, when nothing is read ahead, no flush is needed and
    // no earlier call is queued (that call may read ahead before this one runs).
    if (!this.#lock.held && !this.lineBuffering && this.#text.empty) {
      this.#text.eof = false;
      return this.buffer.write(bytes).then(() => codePointLength(s));
    }
    return asyncOp(this, this.#write(s, bytes));
  }

  *#write(s: string, encoded: Buffer | undefined): Protocol<number> {
    this.#checkWrite();
    const bytes = encoded ?? this.#encode(s);
    this.#rewindReadAhead();
    this.#text.eof = false;
    yield* this.buffer[writeBytes](bytes);
    if (this.lineBuffering && (s.includes('\n') || s.includes('\r'))) yield* this.buffer[flushPending]();
    return codePointLength(s);
  }

  /** EBADF when closed, then EBADF when not writable. */
  #checkWrite(): void {
    this[check]('write');
    if (!this.buffer.writable) throw unsupported('write', this.name, this.mode, 'writing');
  }

  /** Translates newlines and encodes (see {@link TextCodec.encode}). */
  #encode(s: string): Buffer {
    if (typeof s !== 'string')
      throw new FsError({
        code: 'EINVAL',
        syscall: 'write',
        path: this.#path,
        detail: `write() takes a string, not ${typeof s}`,
      });
    return this.#codec.encode(
      this.#writeNewline === undefined ? s : s.replaceAll('\n', this.#writeNewline),
      this.#path,
    );
  }

  get #path(): string | undefined {
    return typeof this.name === 'string' ? this.name : undefined;
  }

  // ================================================================ position

  /**
   * The byte offset of the next character to be read or written, exact for any input (a U+FFFD counts as
   * the bytes it replaced); pass it to {@link TextFile.seekSync} to come back.
   */
  tell(): number {
    this[check]('lseek');
    return this.#tell();
  }

  #tell(): number {
    return this.buffer.tell() - this.#text.undeliveredBytes();
  }

  /**
   * Moves to `offset` (a value from {@link TextFile.tell}) with whence 0, or to the current position or
   * the end with offset 0 and whence 1 or 2. Other combinations are EINVAL, as in Python.
   */
  seekSync(offset: number, whence: Whence = 0): number {
    return syncOp(this, 'lseek', this.#seek(offset, whence));
  }

  /** Promise form of {@link TextFile.seekSync}. */
  seek(offset: number, whence: Whence = 0): Promise<number> {
    return asyncOp(this, this.#seek(offset, whence));
  }

  *#seek(offset: number, whence: Whence): Protocol<number> {
    this[check]('lseek');
    if (whence !== 0 && offset !== 0)
      throw new FsError({
        code: 'EINVAL',
        syscall: 'lseek',
        path: this.#path,
        detail: 'text files can only seek to a tell() value, or by 0 from the current position or the end',
      });
    if (whence === 1) return this.#tell();
    yield* this.buffer[flushPending]();
    // Drop the decoded text only once the seek succeeded: a failed one moves nothing.
    const at = this.buffer[seekRaw](offset, whence);
    this.#text.clear();
    return at;
  }

  /** Resizes the file to `size` bytes (default: the current position). Returns the new size. */
  truncateSync(size?: number): number {
    return syncOp(this, 'ftruncate', this.#truncate(size));
  }

  /** Promise form of {@link TextFile.truncateSync}. One locked step, so later calls cannot run in between. */
  truncate(size?: number): Promise<number> {
    return asyncOp(this, this.#truncate(size));
  }

  *#truncate(size: number | undefined): Protocol<number> {
    this[check]('ftruncate');
    if (!this.buffer.writable) throw unsupported('ftruncate', this.name, this.mode, 'writing');
    const n = size ?? this.#tell();
    this.#rewindReadAhead();
    return yield* this.buffer[truncateSteps](n);
  }

  // ================================================================ lifetime

  /** Close: the decoded text is dropped (the buffered layer then flushes and closes). @internal */
  override [beforeClose](): undefined {
    this.#text.clear();
    return undefined;
  }

  /** `TextFile(name='/tmp/a', mode='r', encoding='utf8')`. */
  override toString(): string {
    return `TextFile(name=${showName(this.name)}, mode='${this.mode}', encoding='${this.encoding}'${this.closed ? ', closed' : ''})`;
  }
}
