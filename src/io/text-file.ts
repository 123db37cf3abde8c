import { EOL } from 'node:os';
import { TextDecoder } from 'node:util';
import type { FileStat } from '../backend/backend.js';
import { FsError, rejected } from '../errors/fs-error.js';
import type { Whence } from '../table/file-table.js';
import type { BufferedFile } from './buffered-file.js';
import { checkSize, lineIterator, unsupported } from './io-base.js';

/** Encodings the text layer reads and writes. */
export type TextEncoding = 'utf8' | 'utf-8' | 'utf16le' | 'utf-16le' | 'ucs2' | 'ucs-2' | 'latin1' | 'binary' | 'ascii';

/**
 * Line endings, as Python's `newline` argument:
 * - `undefined`/`null` (default): reading accepts `\n`, `\r\n` and `\r` and turns each into `\n`;
 *   writing turns `\n` into the platform's line ending (`\n` on Linux and macOS, `\r\n` on Windows);
 * - `''`: reading splits lines at any of the three but leaves them as they are; writing translates nothing;
 * - `'\n'`, `'\r'`, `'\r\n'`: only that sequence ends a line when reading, nothing is translated;
 *   writing turns `\n` into it.
 */
export type Newline = null | '' | '\n' | '\r' | '\r\n';

/**
 * What to do with bytes that are not valid in the encoding (reading: U+FFFD, or EILSEQ) and with
 * characters the encoding cannot hold (writing: `?`, or EILSEQ, nothing written), as Python's `errors`.
 */
export type DecodeErrors = 'replace' | 'strict';

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

type CanonicalEncoding = 'utf8' | 'utf16le' | 'latin1' | 'ascii';

function canonicalEncoding(e: string): CanonicalEncoding | undefined {
  switch (e.toLowerCase()) {
    case 'utf8':
    case 'utf-8':
      return 'utf8';
    case 'utf16le':
    case 'utf-16le':
    case 'ucs2':
    case 'ucs-2':
      return 'utf16le';
    case 'latin1':
    case 'binary':
      return 'latin1';
    case 'ascii':
      return 'ascii';
    default:
      return undefined;
  }
}

const LF = 10;
const CR = 13;
const CRLF_OR_CR = /\r\n?/g;
/** Characters each encoding cannot hold (whole code points: a surrogate pair is one character). */
const UNENCODABLE: Readonly<Record<CanonicalEncoding, RegExp>> = {
  latin1: /[\u0100-\u{10ffff}]/gu,
  ascii: /[\u0080-\u{10ffff}]/gu,
  // Lone surrogates: UTF-8 and UTF-16 can encode every scalar value, but not half a pair.
  utf8: /\p{Cs}/gu,
  utf16le: /\p{Cs}/gu,
};
const NON_ASCII = /[\u0080-\u00ff]/g;

/** The text options, checked and resolved. */
interface ResolvedTextOptions {
  readonly encoding: CanonicalEncoding;
  readonly errors: DecodeErrors;
  readonly newline: Exclude<Newline, null> | undefined;
  readonly lineBuffering: boolean;
}

/**
 * @internal Checks the text options (EINVAL naming the bad one), so `open()` can refuse them before
 * it opens, creates or truncates anything.
 */
export function resolveTextOptions(options: TextOptions, path?: string): ResolvedTextOptions {
  const invalid = (detail: string): FsError => new FsError({ code: 'EINVAL', syscall: 'open', path, detail });
  const requested: unknown = options.encoding ?? 'utf8';
  const encoding = typeof requested === 'string' ? canonicalEncoding(requested) : undefined;
  if (encoding === undefined) throw invalid(`unsupported text encoding '${String(options.encoding)}' (use utf8, utf16le, latin1 or ascii)`);
  const errors = options.errors ?? 'replace';
  if ((errors as string) !== 'replace' && (errors as string) !== 'strict') throw invalid(`errors must be 'replace' or 'strict', not ${JSON.stringify(errors)}`);
  const newline = options.newline ?? undefined;
  if (newline !== undefined && !['', '\n', '\r', '\r\n'].includes(newline)) throw invalid(`illegal newline value ${JSON.stringify(newline)}`);
  return { encoding, errors, newline, lineBuffering: options.lineBuffering === true };
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
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
export class TextFile implements Disposable, AsyncDisposable, AsyncIterable<string>, Iterable<string> {
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
  /** The mode the file was opened with (`'r'`, `'a+'`…). */
  readonly mode: string;

  /** Decoded text not yet delivered, untranslated; `text.slice(tpos)` is what is left. */
  private text = '';
  private tpos = 0;
  /** Index of the next `\r` at or after `tpos`, -1 if none in `text` (only kept in universal modes). */
  private crAt = -1;
  /** End of file was seen during the current read call (reset by each call, so a file that grows is read on). */
  private eof = false;
  /** How many characters the last {@link TextFile.advance} counted. */
  private counted = 0;
  private readonly universal: boolean;
  private readonly translateRead: boolean;
  private readonly writeNewline: string | undefined;
  private readonly strictDecoder: TextDecoder | undefined;

  /** @internal Use `open()`. */
  constructor(buffer: BufferedFile, mode: string, options: TextOptions = {}) {
    const { encoding, errors, newline, lineBuffering } = resolveTextOptions(options, typeof buffer.name === 'string' ? buffer.name : undefined);
    this.buffer = buffer;
    this.mode = mode;
    this.encoding = encoding;
    this.errors = errors;
    this.newline = newline;
    this.lineBuffering = lineBuffering;
    this.universal = newline === undefined || newline === '';
    this.translateRead = newline === undefined;
    this.writeNewline = newline === undefined ? (EOL === '\n' ? undefined : EOL) : newline === '' || newline === '\n' ? undefined : newline;
    this.strictDecoder =
      errors !== 'strict' ? undefined : encoding === 'utf8' ? new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }) : encoding === 'utf16le' ? new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true }) : undefined;
  }

  /** The path or number the file was opened by. */
  get name(): string | number {
    return this.buffer.name;
  }
  /** True once closed. */
  get closed(): boolean {
    return this.buffer.closed;
  }
  /** Whether the file was opened for reading. */
  get readable(): boolean {
    return this.buffer.readable;
  }
  /** Whether the file was opened for writing. */
  get writable(): boolean {
    return this.buffer.writable;
  }
  /** The descriptor number (marks it escaped). */
  fileno(): number {
    return this.buffer.fileno();
  }

  // ================================================================ reading

  /**
   * Reads `size` characters (fewer only at end of file); -1/omitted reads the rest. `''` at end of file.
   * Characters are counted as Python does: code points (a surrogate pair is one), after newline
   * translation (a `\r\n` read as `\n` is one).
   */
  readSync(size = -1): string {
    const n = checkSize(size, 'read');
    this.buffer.startReadSync();
    this.eof = false;
    if (n < 0) {
      while (this.decodeSync()) {
        // read it all
      }
      return this.takeAll();
    }
    let out = '';
    let want = n;
    while (want > 0) {
      const piece = this.takeChars(want);
      if (piece !== undefined) {
        out += piece;
        want -= this.counted;
      } else if (!this.decodeSync() && this.tpos === this.text.length) {
        break;
      }
    }
    return out;
  }

  /** Promise form of {@link TextFile.readSync}. */
  read(size = -1): Promise<string> {
    return this.buffer.opLock.run(async () => {
      const n = checkSize(size, 'read');
      await this.buffer.startRead();
      this.eof = false;
      if (n < 0) {
        while (await this.decode()) {
          // read it all
        }
        return this.takeAll();
      }
      let out = '';
      let want = n;
      while (want > 0) {
        const piece = this.takeChars(want);
        if (piece !== undefined) {
          out += piece;
          want -= this.counted;
        } else if (!(await this.decode()) && this.tpos === this.text.length) {
          break;
        }
      }
      return out;
    });
  }

  /** One line including its ending; `''` at end of file. `limit` caps the characters (counted as by `read`). */
  readlineSync(limit = -1): string {
    const max = checkSize(limit, 'readline');
    this.buffer.startReadSync();
    this.eof = false;
    for (;;) {
      const line = this.takeLine(max);
      if (line !== undefined) return line;
      if (!this.decodeSync()) return this.takeRest(max);
    }
  }

  /** Promise form of {@link TextFile.readlineSync}. */
  readline(limit = -1): Promise<string> {
    return this.buffer.opLock.run(async () => {
      const max = checkSize(limit, 'readline');
      await this.buffer.startRead();
      this.eof = false;
      for (;;) {
        const line = this.takeLine(max);
        if (line !== undefined) return line;
        if (!(await this.decode())) return this.takeRest(max);
      }
    });
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
      () => (this.buffer.opLock.held || this.buffer.pending.len !== 0 || this.buffer.closed ? undefined : this.takeLine(-1)),
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

  // ---------------------------------------------------------------- decoding internals

  /** Decodes more of the file into `text`; false at end of file (with nothing more to add). */
  private decodeSync(): boolean {
    if (this.eof) return false;
    for (;;) {
      const chunk = this.buffer.peekBuffered();
      const k = completeLength(chunk, this.encoding);
      if (k > 0) return this.appendDecoded(chunk, k);
      if (this.buffer.fillSync() === 0) return this.finishDecoding();
    }
  }

  private async decode(): Promise<boolean> {
    if (this.eof) return false;
    for (;;) {
      const chunk = this.buffer.peekBuffered();
      const k = completeLength(chunk, this.encoding);
      if (k > 0) return this.appendDecoded(chunk, k);
      if ((await this.buffer.fill()) === 0) return this.finishDecoding();
    }
  }

  /** At end of file: decode whatever incomplete bytes are left (as U+FFFD, or EILSEQ when strict). */
  private finishDecoding(): boolean {
    const rest = this.buffer.peekBuffered();
    // Strict: fail, keeping the bytes, so that the next call fails again instead of dropping them.
    if (rest.length > 0 && this.errors === 'strict') throw this.decodeError('incomplete character at end of file');
    this.eof = true;
    if (rest.length === 0) return false;
    if (this.encoding !== 'utf16le') return this.appendDecoded(rest, rest.length);
    // Node drops a dangling odd byte and keeps a dangling high surrogate; both are U+FFFD here.
    let s = rest.toString('utf16le', 0, rest.length - (rest.length % 2));
    if (s.length > 0 && isHighSurrogate(s.charCodeAt(s.length - 1))) s = s.slice(0, -1) + '\ufffd';
    if (rest.length % 2 === 1) s += '\ufffd';
    this.pushText(s, rest.length);
    return true;
  }

  private appendDecoded(chunk: Buffer, k: number): boolean {
    let s: string;
    if (this.strictDecoder !== undefined) {
      try {
        s = this.strictDecoder.decode(chunk.subarray(0, k));
      } catch {
        throw this.decodeError(`invalid ${this.encoding === 'utf8' ? 'utf-8' : 'utf-16le'}`);
      }
    } else if (this.encoding === 'ascii') {
      // Node's 'ascii' decoding clears the high bit (0xE9 would read as 'i'): make those bytes errors.
      s = chunk.toString('latin1', 0, k);
      NON_ASCII.lastIndex = 0;
      if (NON_ASCII.test(s)) {
        if (this.errors === 'strict') throw this.decodeError('byte outside ASCII');
        s = s.replace(NON_ASCII, '\ufffd');
      }
    } else {
      s = chunk.toString(this.encoding, 0, k);
    }
    this.pushText(s, k);
    return true;
  }

  /** Appends newly decoded text `s`, made of the next `k` buffered bytes. */
  private pushText(s: string, k: number): void {
    this.buffer.consumeBuffered(k);
    const base = this.text.length - this.tpos;
    this.text = this.tpos === this.text.length ? s : this.text.slice(this.tpos) + s;
    this.tpos = 0;
    if (this.universal) {
      if (this.crAt >= 0) this.crAt = this.text.indexOf('\r');
      else this.crAt = s.indexOf('\r') < 0 ? -1 : base + s.indexOf('\r');
    }
  }

  private decodeError(what: string): FsError {
    return new FsError({ code: 'EILSEQ', syscall: 'read', path: typeof this.name === 'string' ? this.name : undefined, detail: `${what} near byte ${this.buffer.tell()} (encoding ${this.encoding}, errors 'strict')` });
  }

  /**
   * Takes one complete line from `text`, or undefined if `text` holds no complete line yet (a trailing
   * `\r` counts as incomplete in universal mode until the next character or end of file is known).
   * With `max >= 0`, at most `max` characters (code points, a translated `\r\n` counting as one).
   */
  private takeLine(max: number): string | undefined {
    const text = this.text;
    const start = this.tpos;
    let end: number; // index just past the line ending
    if (this.universal) {
      const lf = text.indexOf('\n', start);
      let cr = this.crAt;
      if (cr >= 0 && cr < start) cr = this.crAt = text.indexOf('\r', start);
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        if (cr + 1 === text.length && !this.eof) return this.limited(max);
        end = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
      } else if (lf >= 0) {
        end = lf + 1;
      } else {
        return this.eof ? undefined : this.limited(max);
      }
    } else {
      const nl = this.newline as string;
      const i = text.indexOf(nl, start);
      if (i < 0) {
        // '\r\n' split across chunks: the '\r' may be complete only with the next chunk.
        return this.eof ? undefined : this.limited(max);
      }
      end = i + nl.length;
    }
    if (max >= 0) {
      // Before the ending there is no '\r' or '\n', so the cut can never fall inside a translated '\r\n'.
      const cut = this.advance(start, max, end);
      if (cut < end) return this.takeTo(cut);
    }
    return this.takeTo(end);
  }

  /**
   * No complete line yet: with a limit, take `max` characters if that many are decoded. In translating
   * mode a trailing `\r` is held back (it may be the start of a `\r\n`, which counts as one `\n`).
   */
  private limited(max: number): string | undefined {
    if (max < 0) return undefined;
    const len = this.text.length;
    const cut = this.advance(this.tpos, max, len);
    if (this.counted < max) return undefined;
    if (this.translateRead && !this.eof && cut === len && this.text.charCodeAt(len - 1) === CR) return undefined;
    return this.takeTo(cut);
  }

  /** At end of file: the unterminated last line (or `''`), at most `max` characters. */
  private takeRest(max: number): string {
    return this.takeTo(max < 0 ? this.text.length : this.advance(this.tpos, max, this.text.length));
  }

  /** Delivers `text` from `tpos` to `end`, translated. */
  private takeTo(end: number): string {
    const start = this.tpos;
    const piece = this.text.slice(start, end);
    this.tpos = end;
    if (!this.translateRead) return piece;
    let cr = this.crAt;
    if (cr >= 0 && cr < start) cr = this.crAt = this.text.indexOf('\r', start);
    return cr >= 0 && cr < end ? piece.replace(CRLF_OR_CR, '\n') : piece; // most lines have no '\r'
  }

  /**
   * The index just past `n` characters of `text` from `from`, stopping at `stop`: a surrogate pair is
   * one character, and so is `\r\n` when reading translates it. Sets {@link TextFile.counted}.
   */
  private advance(from: number, n: number, stop: number): number {
    const text = this.text;
    let i = from;
    let count = 0;
    while (count < n && i < stop) {
      const c = text.charCodeAt(i);
      if (i + 1 < stop && ((isHighSurrogate(c) && isLowSurrogate(text.charCodeAt(i + 1))) || (c === CR && this.translateRead && text.charCodeAt(i + 1) === LF))) i += 2;
      else i++;
      count++;
    }
    this.counted = count;
    return i;
  }

  /** Up to `n` translated characters, or undefined when more text must be decoded first. Sets {@link TextFile.counted}. */
  private takeChars(n: number): string | undefined {
    const len = this.text.length;
    if (this.tpos === len) return undefined;
    let end = this.advance(this.tpos, n, len);
    if (this.translateRead && !this.eof && end === len && this.text.charCodeAt(len - 1) === CR) {
      // A '\r' at the end of what is decoded may be half of a '\r\n': wait to see what follows.
      end--;
      this.counted--;
      if (end === this.tpos) return undefined;
    }
    return this.takeTo(end);
  }

  private takeAll(): string {
    const piece = this.text.slice(this.tpos);
    this.text = '';
    this.tpos = 0;
    this.crAt = -1;
    return this.translateRead ? piece.replace(CRLF_OR_CR, '\n') : piece;
  }

  /** Decoded text not yet delivered, as the bytes it came from. */
  private undeliveredBytes(): number {
    return this.tpos === this.text.length ? 0 : Buffer.byteLength(this.text.slice(this.tpos), this.encoding);
  }

  /** Before writing after reading: move the buffered position back to the first undelivered character. */
  private rewindReadAhead(): void {
    if (this.tpos === this.text.length && this.buffer.peekBuffered().length === 0) return;
    const pos = this.tellUnlocked();
    this.dropText();
    this.buffer.seekRaw(pos, 0);
  }

  private dropText(): void {
    this.text = '';
    this.tpos = 0;
    this.crAt = -1;
    this.eof = false;
  }

  // ================================================================ writing

  /** Writes `s` (translating `\n` per {@link Newline}); returns `s.length`. */
  writeSync(s: string): number {
    this.buffer.checkSync('write');
    if (!this.buffer.writable) throw unsupported('write', this.name, this.mode, 'writing');
    const bytes = this.encode(s);
    this.rewindReadAhead();
    this.eof = false;
    this.buffer.writeBytesSync(bytes);
    if (this.lineBuffering && (s.includes('\n') || s.includes('\r'))) this.buffer.flushPendingSync();
    return s.length;
  }

  /** Promise form of {@link TextFile.writeSync}. */
  write(s: string): Promise<number> {
    let bytes: Buffer;
    try {
      bytes = this.encode(s);
    } catch (e) {
      return rejected(e);
    }
    // Fast path: the buffered layer's own fast path, when nothing is read ahead, no flush is needed and
    // no earlier call is queued (that call may read ahead before this one runs).
    if (!this.buffer.opLock.held && !this.lineBuffering && this.text.length === 0 && this.buffer.writable) {
      this.eof = false;
      return this.buffer.write(bytes).then(() => s.length);
    }
    return this.buffer.opLock.run(async () => {
      this.buffer.check('write');
      if (!this.buffer.writable) throw unsupported('write', this.name, this.mode, 'writing');
      this.rewindReadAhead();
      this.eof = false;
      await this.buffer.writeBytes(bytes);
      if (this.lineBuffering && (s.includes('\n') || s.includes('\r'))) await this.buffer.flushPending();
      return s.length;
    });
  }

  /**
   * Translates newlines and encodes. A character the encoding cannot hold (above U+00FF in latin1, above
   * U+007F in ascii, a lone surrogate anywhere) is EILSEQ when `errors` is strict and `?` otherwise, as
   * in Python — never silently another character.
   */
  private encode(s: string): Buffer {
    if (typeof s !== 'string') throw new FsError({ code: 'EINVAL', syscall: 'write', path: typeof this.name === 'string' ? this.name : undefined, detail: `write() takes a string, not ${typeof s}` });
    let t = this.writeNewline === undefined ? s : s.replaceAll('\n', this.writeNewline);
    const bad = UNENCODABLE[this.encoding];
    bad.lastIndex = 0;
    if (bad.test(t)) {
      if (this.errors === 'strict') {
        throw new FsError({ code: 'EILSEQ', syscall: 'write', path: typeof this.name === 'string' ? this.name : undefined, detail: `a character cannot be encoded in ${this.encoding} (errors 'strict')` });
      }
      t = t.replace(bad, '?');
    }
    return Buffer.from(t, this.encoding);
  }

  /** Writes out everything buffered. */
  flushSync(): void {
    this.buffer.flushSync();
  }

  /** Promise form of {@link TextFile.flushSync}. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  // ================================================================ position and metadata

  /** The byte offset of the next character to be read or written (an opaque value for {@link TextFile.seekSync}). */
  tell(): number {
    this.buffer.check('lseek');
    return this.tellUnlocked();
  }

  private tellUnlocked(): number {
    return this.buffer.tell() - this.undeliveredBytes();
  }

  /**
   * Moves to `offset` (a value from {@link TextFile.tell}) with whence 0, or to the current position or
   * the end with offset 0 and whence 1 or 2. Other combinations are EINVAL, as in Python.
   */
  seekSync(offset: number, whence: Whence = 0): number {
    this.buffer.checkSync('lseek');
    this.checkSeek(offset, whence);
    if (whence === 1) return this.tellUnlocked();
    if (this.buffer.pending.len > 0) this.buffer.flushPendingSync();
    // Drop the decoded text only once the seek succeeded: a failed one moves nothing.
    const at = this.buffer.seekRaw(offset, whence);
    this.dropText();
    return at;
  }

  /** Promise form of {@link TextFile.seekSync}. */
  seek(offset: number, whence: Whence = 0): Promise<number> {
    return this.buffer.opLock.run(async () => {
      this.buffer.check('lseek');
      this.checkSeek(offset, whence);
      if (whence === 1) return this.tellUnlocked();
      await this.buffer.flushPending();
      const at = this.buffer.seekRaw(offset, whence);
      this.dropText();
      return at;
    });
  }

  private checkSeek(offset: number, whence: Whence): void {
    if (whence !== 0 && offset !== 0) throw new FsError({ code: 'EINVAL', syscall: 'lseek', path: typeof this.name === 'string' ? this.name : undefined, detail: "text files can only seek to a tell() value, or by 0 from the current position or the end" });
  }

  /** Resizes the file to `size` bytes (default: the current position). Returns the new size. */
  truncateSync(size?: number): number {
    this.buffer.checkSync('ftruncate');
    if (!this.buffer.writable) throw unsupported('ftruncate', this.name, this.mode, 'writing');
    const n = size ?? this.tellUnlocked();
    this.rewindReadAhead();
    return this.buffer.truncateUnlockedSync(n);
  }

  /** Promise form of {@link TextFile.truncateSync}. One locked step, so later calls cannot run in between. */
  truncate(size?: number): Promise<number> {
    return this.buffer.opLock.run(() => {
      this.buffer.check('ftruncate');
      if (!this.buffer.writable) throw unsupported('ftruncate', this.name, this.mode, 'writing');
      const n = size ?? this.tellUnlocked();
      this.rewindReadAhead();
      return this.buffer.truncateUnlocked(n);
    });
  }

  /** Flushes and fsyncs. */
  syncSync(): void {
    this.buffer.syncSync();
  }

  /** Promise form of {@link TextFile.syncSync}. */
  sync(): Promise<void> {
    return this.buffer.sync();
  }

  /** fstat(2), after flushing. */
  statSync(): FileStat {
    return this.buffer.statSync();
  }

  /** Promise form of {@link TextFile.statSync}. */
  stat(): Promise<FileStat> {
    return this.buffer.stat();
  }

  // ================================================================ lifetime

  /** Flushes and closes the whole stack. Idempotent. */
  closeSync(): void {
    try {
      this.buffer.closeSync(); // EBUSY (an async call is unfinished) leaves the file open and watched
    } finally {
      if (this.buffer.closed) this.afterClose();
    }
  }

  /** Promise form of {@link TextFile.closeSync}. */
  close(): Promise<void> {
    return this.buffer.close().finally(() => {
      if (this.buffer.closed) this.afterClose();
    });
  }

  private afterClose(): void {
    this.buffer.raw.table.unclosed.unwatch(this);
    this.dropText();
  }

  /** `using` support. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `TextFile(name='/tmp/a', mode='r', encoding='utf8')`. */
  toString(): string {
    return `TextFile(name=${typeof this.name === 'string' ? `'${this.name}'` : String(this.name)}, mode='${this.mode}', encoding='${this.encoding}'${this.closed ? ', closed' : ''})`;
  }
}

/** How many leading bytes of `chunk` form whole characters in `encoding`. */
export function completeLength(chunk: Buffer, encoding: CanonicalEncoding): number {
  const len = chunk.length;
  if (len === 0) return 0;
  if (encoding === 'utf8') {
    // Walk back over at most 3 continuation bytes to the lead byte of the last character.
    let i = len - 1;
    let cont = 0;
    while (cont < 3 && i > 0 && ((chunk[i] ?? 0) & 0xc0) === 0x80) {
      i--;
      cont++;
    }
    const lead = chunk[i] ?? 0;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    // A valid lead whose sequence is not finished yet: hold it back. Anything else is complete (or invalid).
    return lead >= 0xc0 && lead < 0xf8 && cont + 1 < need ? i : len;
  }
  if (encoding === 'utf16le') {
    let n = len - (len % 2);
    if (n >= 2) {
      const unit = (chunk[n - 2] ?? 0) | ((chunk[n - 1] ?? 0) << 8);
      if (unit >= 0xd800 && unit <= 0xdbff) n -= 2; // a high surrogate waits for its pair
    }
    return n;
  }
  return len;
}

function stripEnding(line: string): string {
  if (line.endsWith('\r\n')) return line.slice(0, -2);
  if (line.endsWith('\n') || line.endsWith('\r')) return line.slice(0, -1);
  return line;
}
