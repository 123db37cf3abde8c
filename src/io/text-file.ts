import { EOL } from 'node:os';
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

const LF = 10;
const CR = 13;
/** A segment's `lf`/`cr` cache before its first lookup. */
const UNKNOWN = -2;
/** Characters each encoding cannot hold (whole code points: a surrogate pair is one character). */
const UNENCODABLE: Readonly<Record<CanonicalEncoding, RegExp>> = {
  latin1: /[\u0100-\u{10ffff}]/gu,
  ascii: /[\u0080-\u{10ffff}]/gu,
  // Lone surrogates: UTF-8 and UTF-16 can encode every scalar value, but not half a pair.
  utf8: /\p{Cs}/gu,
  utf16le: /\p{Cs}/gu,
};

/** Decoded text waiting to be delivered, with lazily found line-ending positions (see `TextFile.find`). */
interface Segment {
  /** The decoded text; translated already when `translated`. */
  s: string;
  /** The bytes it came from. */
  readonly bytes: number;
  /** See {@link Decoded.anchors} (undefined once translated). */
  anchors: readonly number[] | undefined;
  lf: number;
  cr: number;
  /**
   * `s` was translated as it was decoded, by a read of everything, and its untranslated text dropped:
   * then only `bytes` is known, so the segment is delivered whole or not at all (if that read fails, the
   * position is rewound to where it started and the segment dropped).
   */
  translated: boolean;
  /** The untranslated text ended with `\r` (a `\n` starting the next segment is its second half). */
  readonly rawEndsCr: boolean;
  /** Memo for `tell()`: the first `mu` units of `s` came from `mb` bytes (so a tell() per line stays linear). */
  mu: number;
  mb: number;
  /** The first anchor (index into `anchors`) past `mu`. */
  ai: number;
}

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

  /** Decoded text not yet delivered, untranslated: `segs[0].s.slice(tpos)`, then the other segments. */
  private segs: Segment[] = [];
  private tpos = 0;
  /** Where the current call's scan has got to: segment, index, characters counted. */
  private cseg = 0;
  private ci = 0;
  private ccount = 0;
  /** End of file was seen during the current read call (reset by each call, so a file that grows is read on). */
  private eof = false;
  /** How many characters the last {@link TextFile.advance} counted. */
  private counted = 0;
  /** Whether the file can seek (asked once, by the first read of everything in translating mode). */
  private canSeek: boolean | undefined;
  /** See {@link TextFile.work}. */
  private units = 0;
  private readonly universal: boolean;
  private readonly translateRead: boolean;
  private readonly writeNewline: string | undefined;

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
  }

  /**
   * @internal UTF-16 units the read path has decoded, searched, counted, translated and copied so far: a
   * measure of work the linearity tests compare with the length of the text (no clocks).
   */
  get work(): number {
    return this.units;
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
   * translation (a `\r\n` read as `\n` is one). A call that fails (EILSEQ with `errors: 'strict'`, an I/O
   * error) consumes nothing: `tell()` and the next read start where this one started.
   */
  readSync(size = -1): string {
    const n = checkSize(size, 'read');
    this.buffer.startReadSync();
    this.startScan();
    if (n < 0) {
      const early = this.translateEarly();
      try {
        while (this.decodeSync()) if (early) this.pretranslate();
      } catch (e) {
        if (early) this.abandonEarly();
        throw e;
      }
      return this.takeAll();
    }
    while (!this.scanChars(n)) this.decodeSync();
    return this.takeScanned();
  }

  /** Promise form of {@link TextFile.readSync}. */
  read(size = -1): Promise<string> {
    return this.buffer.opLock.run(async () => {
      const n = checkSize(size, 'read');
      await this.buffer.startRead();
      this.startScan();
      if (n < 0) {
        const early = this.translateEarly();
        try {
          while (await this.decode()) if (early) this.pretranslate();
        } catch (e) {
          if (early) this.abandonEarly();
          throw e;
        }
        return this.takeAll();
      }
      while (!this.scanChars(n)) await this.decode();
      return this.takeScanned();
    });
  }

  /**
   * One line including its ending; `''` at end of file. `limit` caps the characters (counted as by
   * `read`). Like `read`, a call that fails consumes nothing.
   */
  readlineSync(limit = -1): string {
    const max = checkSize(limit, 'readline');
    this.buffer.startReadSync();
    this.startScan();
    while (!this.scanLine(max)) this.decodeSync();
    return this.takeScanned();
  }

  /** Promise form of {@link TextFile.readlineSync}. */
  readline(limit = -1): Promise<string> {
    return this.buffer.opLock.run(async () => {
      const max = checkSize(limit, 'readline');
      await this.buffer.startRead();
      this.startScan();
      while (!this.scanLine(max)) await this.decode();
      return this.takeScanned();
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
      () => (this.buffer.opLock.held || this.buffer.pending.len !== 0 || this.buffer.closed ? undefined : this.decodedLine()),
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
  //
  // Decoded text waits in `segs`, one segment per decoded chunk, each knowing the bytes it came from.
  // A read call first *scans* (from `tpos` in `segs[0]`, decoding more segments as needed, each looked at
  // once) for where its result ends, and only then *takes* the text up to there. So the work is linear in
  // the text, whatever the newline mode, and a call that fails before taking consumes nothing.

  /** The next complete line, if it is decoded already (the iterator's fast path). */
  private decodedLine(): string | undefined {
    this.startScan();
    return this.scanLine(-1) ? this.takeScanned() : undefined;
  }

  /** Starts a read call's scan at the first undelivered character. */
  private startScan(): void {
    this.eof = false;
    const head = this.segs[0];
    if (head !== undefined && this.tpos === head.s.length) {
      this.segs.shift();
      this.tpos = 0;
    }
    this.cseg = 0;
    this.ci = this.tpos;
    this.ccount = 0;
  }

  /** Decodes more of the file into a new segment; false at end of file (with nothing more to add). */
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
    this.push(decodeTail(rest, this.encoding));
    return true;
  }

  /**
   * Decodes the first `k` buffered bytes. Strict: the characters before an invalid byte become a segment
   * and the invalid bytes stay buffered, so the call fails only if it needs to read past them (and the
   * next call fails again).
   */
  private appendDecoded(chunk: Buffer, k: number): boolean {
    const { text } = decodeChunk(chunk, k, this.encoding, this.errors === 'strict');
    if (text === undefined) throw this.decodeError(`invalid ${this.encoding === 'utf8' ? 'utf-8' : this.encoding === 'utf16le' ? 'utf-16le (lone surrogate)' : 'ascii (byte above 0x7f)'}`);
    this.push(text);
    return true;
  }

  private push(d: Decoded): void {
    this.buffer.consumeBuffered(d.bytes);
    this.units += d.s.length;
    const rawEndsCr = d.s.charCodeAt(d.s.length - 1) === CR;
    this.segs.push({ s: d.s, bytes: d.bytes, anchors: d.anchors, lf: UNKNOWN, cr: UNKNOWN, translated: false, rawEndsCr, mu: 0, mb: 0, ai: 0 });
  }

  private decodeError(what: string): FsError {
    let at = '';
    try {
      at = ` at byte ${this.buffer.tell()}`;
    } catch {
      // a pipe: no position to name
    }
    return new FsError({ code: 'EILSEQ', syscall: 'read', path: typeof this.name === 'string' ? this.name : undefined, detail: `${what}${at} (encoding ${this.encoding}, errors 'strict')` });
  }

  /**
   * The index of the next `\n` (`which` 'lf') or of the next `\r` (universal modes), `\r\n` (newline
   * '\r\n') or `\r` (newline '\r') (`which` 'cr') at or after `i` in `seg`, -1 if none. Cached per
   * segment: lookups in a segment only move forward, so each segment is searched once per kind.
   */
  private find(seg: Segment, which: 'lf' | 'cr', i: number): number {
    const cached = seg[which];
    if (cached === UNKNOWN || (cached >= 0 && cached < i)) {
      const at = (seg[which] = seg.s.indexOf(which === 'lf' ? '\n' : this.newline === '\r\n' ? '\r\n' : '\r', i));
      this.units += (at < 0 ? seg.s.length : at + 1) - i;
      return at;
    }
    return cached;
  }

  /**
   * Scans on for the end of the next line, at most `max` characters when `max >= 0`. True when found:
   * the line ends at (`cseg`, `ci`). False when more text must be decoded first (a `\r` at the end of what
   * is decoded, in a mode where `\r\n` ends lines, is undecided until the next character is known).
   */
  private scanLine(max: number): boolean {
    const segs = this.segs;
    for (;;) {
      const seg = segs[this.cseg];
      if (seg === undefined) return this.eof; // nothing decoded
      const s = seg.s;
      const len = s.length;
      const i = this.ci;
      const next = segs[this.cseg + 1];
      let j = -1; // where the line ending starts, -1 if none (yet) in this segment
      let endSeg = this.cseg;
      let endAt = -1; // just past the line ending
      let hold = len; // where to stop when the ending is undecided
      if (this.universal || this.newline === '\r\n') {
        const cr = this.find(seg, 'cr', i); // universal: the next '\r'; newline '\r\n': the next '\r\n'
        const lf = this.universal ? this.find(seg, 'lf', i) : -1;
        if (cr >= 0 && (lf < 0 || cr < lf)) {
          j = cr;
          endAt = this.newline === '\r\n' ? cr + 2 : cr + 1 === len ? -1 : s.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        } else if (lf >= 0) {
          j = lf;
          endAt = lf + 1;
        } else if (this.newline === '\r\n' && len > i && s.charCodeAt(len - 1) === CR) {
          j = len - 1;
        }
        if (j >= 0 && endAt < 0) {
          // A '\r' last in the segment: the first character of the next segment decides.
          if (next !== undefined && next.s.charCodeAt(0) === LF) {
            endSeg++;
            endAt = 1;
          } else if (next === undefined && !this.eof) {
            hold = j;
            j = -1;
          } else if (this.universal) {
            endAt = len;
          } else {
            j = -1; // newline '\r\n': a lone '\r' ends nothing
          }
        }
      } else {
        j = this.find(seg, this.newline === '\n' ? 'lf' : 'cr', i);
        endAt = j + 1;
      }
      const stop = j >= 0 ? j : hold;
      if (max >= 0) {
        const cut = this.advance(s, i, max - this.ccount, stop);
        this.ccount += this.counted;
        if (this.ccount === max) {
          this.ci = cut;
          return true;
        }
        if (j >= 0 && !this.translateRead) {
          // Untranslated, '\r\n' is two characters: with one left, the line ends after the '\r'.
          const endChars = endSeg > this.cseg ? len - j + endAt : endAt - j;
          if (this.ccount + endChars > max) {
            this.ci = j + 1;
            return true;
          }
        }
      }
      if (j >= 0) {
        this.cseg = endSeg;
        this.ci = endAt;
        return true;
      }
      if (hold < len || next === undefined) {
        this.ci = hold;
        return hold === len && this.eof;
      }
      this.cseg++;
      this.ci = 0;
    }
  }

  /**
   * Scans on for the end of `n` characters. True when found (at `cseg`, `ci`) or at end of file; false
   * when more must be decoded.
   */
  private scanChars(n: number): boolean {
    const segs = this.segs;
    for (;;) {
      const seg = segs[this.cseg];
      if (seg === undefined) return this.eof;
      const s = seg.s;
      const len = s.length;
      let cut = this.advance(s, this.ci, n - this.ccount, len);
      this.ccount += this.counted;
      let nextFrom = 0;
      if (this.translateRead && cut === len && cut > this.ci && s.charCodeAt(len - 1) === CR) {
        // A '\r' last in the segment: one character with the '\n' that may start the next one.
        const next = segs[this.cseg + 1];
        if (next === undefined && !this.eof) {
          this.ccount--;
          this.ci = len - 1;
          return false;
        }
        if (next !== undefined && next.s.charCodeAt(0) === LF) {
          nextFrom = 1;
          if (this.ccount === n) {
            this.cseg++;
            cut = 1;
          }
        }
      }
      if (this.ccount === n) {
        this.ci = cut;
        return true;
      }
      if (this.cseg + 1 === segs.length) {
        this.ci = len;
        return this.eof;
      }
      this.cseg++;
      this.ci = nextFrom;
    }
  }

  /**
   * The index just past `n` characters of `s` from `from`, stopping at `stop`: a surrogate pair is one
   * character, and so is `\r\n` when reading translates it. Sets {@link TextFile.counted}.
   */
  private advance(s: string, from: number, n: number, stop: number): number {
    let i = from;
    let count = 0;
    while (count < n && i < stop) {
      const c = s.charCodeAt(i);
      if (i + 1 < stop && ((isHighSurrogate(c) && isLowSurrogate(s.charCodeAt(i + 1))) || (c === CR && this.translateRead && s.charCodeAt(i + 1) === LF))) i += 2;
      else i++;
      count++;
    }
    this.counted = count;
    this.units += i - from;
    return i;
  }

  /**
   * Reading everything with universal newlines: translate each segment as it is decoded, while it is
   * fresh, and drop its untranslated text (keeping both, or translating everything at the end, doubled the
   * garbage collector's work: CRLF read 1.6–2× slower than LF instead of 1.1–1.4×). Only where a failure
   * can be undone by seeking back (not on pipes).
   */
  private translateEarly(): boolean {
    if (!this.translateRead) return false;
    if (this.canSeek === undefined) {
      try {
        this.canSeek = this.buffer.raw.seekable();
      } catch {
        return false;
      }
    }
    return this.canSeek;
  }

  /** Translates the newest segment (see {@link TextFile.translateEarly}). */
  private pretranslate(): void {
    const segs = this.segs;
    const seg = segs[segs.length - 1];
    if (seg === undefined) return;
    this.units += seg.s.length;
    // A '\n' after a '\r' that ended the previous segment is the second half of that '\r\n'.
    const s = segs[segs.length - 2]?.rawEndsCr === true && seg.s.charCodeAt(0) === LF ? seg.s.slice(1) : seg.s;
    seg.s = translate(s);
    seg.anchors = undefined;
    seg.translated = true;
  }

  /**
   * A read of everything failed after translating early: go back to where it started (the exact offset:
   * translated segments are undelivered and whole) and drop the decoded text, so nothing is consumed.
   */
  private abandonEarly(): void {
    try {
      this.rewindReadAhead();
    } catch {
      this.dropText(); // the descriptor is gone: the caller sees the first error
    }
  }

  /** Everything decoded: the scan ends at the end. */
  private takeAll(): string {
    const last = this.segs.length - 1;
    this.cseg = Math.max(0, last);
    this.ci = last < 0 ? 0 : (this.segs[last]?.s.length ?? 0);
    return this.takeScanned();
  }

  /** Delivers the text from `tpos` to where the scan ended, translated. */
  private takeScanned(): string {
    const segs = this.segs;
    const head = segs[0];
    if (head === undefined) return '';
    const end = this.cseg;
    const at = this.ci;
    let out: string;
    if (end === 0) {
      const from = this.tpos;
      this.units += at - from;
      out = head.s.slice(from, at);
      if (this.translateRead && !head.translated) {
        const cr = this.find(head, 'cr', from);
        if (cr >= 0 && cr < at) {
          // The first '\r' ends the piece (a line's ending, most often): no need to search further.
          const last = out.charCodeAt(out.length - 1);
          out = cr === at - 1 || (cr === at - 2 && last === LF) ? out.slice(0, cr - from) + '\n' : translate(out);
        }
      }
    } else {
      const parts: string[] = [];
      let prevCr = false;
      for (let k = 0; k <= end; k++) {
        const seg = segs[k] as Segment;
        const from = k === 0 ? this.tpos : 0;
        const to = k === end ? at : seg.s.length;
        this.units += to - from;
        const piece = from === 0 && to === seg.s.length ? seg.s : seg.s.slice(from, to);
        if (!this.translateRead) parts.push(piece);
        else if (seg.translated) {
          parts.push(piece);
          prevCr = seg.rawEndsCr;
        } else prevCr = translateInto(parts, piece, prevCr);
      }
      out = parts.join('');
      this.segs = segs.slice(end);
    }
    this.tpos = at;
    if (this.segs.length === 1 && at === this.segs[0]?.s.length) {
      this.segs = [];
      this.tpos = 0;
    }
    return out;
  }

  /** Decoded text not yet delivered, as the bytes it came from (exact, whatever was replaced). */
  private undeliveredBytes(): number {
    const segs = this.segs;
    const head = segs[0];
    if (head === undefined) return 0;
    let n = head.bytes - this.bytesBefore(head, this.tpos);
    for (let k = 1; k < segs.length; k++) n += (segs[k] as Segment).bytes;
    return n;
  }

  /** The bytes the first `u` units of `seg` came from. */
  private bytesBefore(seg: Segment, u: number): number {
    if (u < seg.mu) seg.mu = seg.mb = seg.ai = 0;
    const a = seg.anchors;
    if (a !== undefined) {
      // Jump to the last anchor at or before `u`: between anchors every character is its encoded length.
      for (; seg.ai < a.length && (a[seg.ai] ?? 0) <= u; seg.ai += 2) {
        seg.mu = a[seg.ai] ?? 0;
        seg.mb = a[seg.ai + 1] ?? 0;
      }
    }
    this.units += u - seg.mu;
    seg.mb += encodedLength(seg.s.slice(seg.mu, u), this.encoding);
    seg.mu = u;
    return seg.mb;
  }

  /** Before writing after reading: move the buffered position back to the first undelivered character. */
  private rewindReadAhead(): void {
    if (this.segs.length === 0 && this.buffer.peekBuffered().length === 0) return;
    const pos = this.tellUnlocked();
    this.dropText();
    this.buffer.seekRaw(pos, 0);
  }

  private dropText(): void {
    this.segs = [];
    this.tpos = 0;
    this.eof = false;
  }

  // ================================================================ writing

  /**
   * Writes `s` (translating `\n` per {@link Newline}); returns its length in characters as Python counts
   * them (code points: `'a😀b'` is 3). After reading, the text lands at `tell()`, the first character not
   * yet read.
   */
  writeSync(s: string): number {
    this.checkWrite(this.buffer.checkSync.bind(this.buffer));
    const bytes = this.encode(s);
    this.rewindReadAhead();
    this.eof = false;
    this.buffer.writeBytesSync(bytes);
    if (this.lineBuffering && (s.includes('\n') || s.includes('\r'))) this.buffer.flushPendingSync();
    return codePointLength(s);
  }

  /** Promise form of {@link TextFile.writeSync}. A closed or read-only file is EBADF before `s` is looked at. */
  write(s: string): Promise<number> {
    let bytes: Buffer;
    try {
      this.checkWrite(this.buffer.check.bind(this.buffer));
      bytes = this.encode(s);
    } catch (e) {
      return rejected(e);
    }
    // Fast path: the buffered layer's own fast path, when nothing is read ahead, no flush is needed and
    // no earlier call is queued (that call may read ahead before this one runs).
    if (!this.buffer.opLock.held && !this.lineBuffering && this.segs.length === 0) {
      this.eof = false;
      return this.buffer.write(bytes).then(() => codePointLength(s));
    }
    return this.buffer.opLock.run(async () => {
      this.checkWrite(this.buffer.check.bind(this.buffer));
      this.rewindReadAhead();
      this.eof = false;
      await this.buffer.writeBytes(bytes);
      if (this.lineBuffering && (s.includes('\n') || s.includes('\r'))) await this.buffer.flushPending();
      return codePointLength(s);
    });
  }

  /** EBADF when closed (EBUSY when `check` is the sync check and a promise call is unfinished), then EBADF when not writable. */
  private checkWrite(check: (syscall: string) => void): void {
    check('write');
    if (!this.buffer.writable) throw unsupported('write', this.name, this.mode, 'writing');
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

  /**
   * The byte offset of the next character to be read or written, exact for any input (a U+FFFD counts as
   * the bytes it replaced); pass it to {@link TextFile.seekSync} to come back.
   */
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

/** Universal newlines: every `\r\n` and lone `\r` becomes `\n`. */
function translate(s: string): string {
  if (!s.includes('\r')) return s;
  // One split at '\r', the '\n' of each '\r\n' dropped, joined with '\n': three times faster on V8 than
  // replaceAll or a regular expression (docs/benchmarks.md, "Text reads").
  const pieces = s.split('\r');
  for (let i = 1; i < pieces.length; i++) {
    const p = pieces[i] as string;
    if (p.charCodeAt(0) === LF) pieces[i] = p.slice(1);
  }
  return pieces.join('\n');
}

/**
 * Appends the translation of `raw` to `out`, where `prevCr` says the piece before ended with `\r` (a `\n`
 * starting this one is then the second half of that `\r\n`). Returns whether `raw` ends with `\r`.
 */
function translateInto(out: string[], raw: string, prevCr: boolean): boolean {
  if (raw === '') return prevCr;
  out.push(translate(prevCr && raw.charCodeAt(0) === LF ? raw.slice(1) : raw));
  return raw.charCodeAt(raw.length - 1) === CR;
}

function stripEnding(line: string): string {
  if (line.endsWith('\r\n')) return line.slice(0, -2);
  if (line.endsWith('\n') || line.endsWith('\r')) return line.slice(0, -1);
  return line;
}

// ================================================================ the codec
//
// Decoding byte chunks into strings that know exactly which bytes they came from, so `tell()` stays a
// true byte offset even where invalid bytes were replaced by U+FFFD. Replacement follows the Unicode
// "maximal subpart" practice (one U+FFFD per maximal invalid subsequence), which is what both CPython's
// `errors='replace'` and Node's decoder do. (Kept in this module rather than a module of its own: the
// CLI demo's children import the library under `ulimit -n 64`, and Node's ESM loader opens every module
// of the graph at once.)

/** Encodings the text layer reads and writes, by their canonical Node name. */
export type CanonicalEncoding = 'utf8' | 'utf16le' | 'latin1' | 'ascii';

/** The canonical name of an encoding option, or undefined if unsupported. */
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

/**
 * A decoded piece of text and the bytes it came from. Every character maps to exactly as many bytes as it
 * encodes to, except where `anchors` says otherwise: `anchors` holds (UTF-16 index, byte offset) pairs,
 * flat, ascending, each placed just after a replacement that did not stand for its own encoded length.
 */
interface Decoded {
  readonly s: string;
  readonly bytes: number;
  readonly anchors: readonly number[] | undefined;
}

/** What {@link decodeChunk} produced: the text of the leading valid bytes, and where decoding stopped. */
interface DecodeResult {
  /** Undefined when nothing could be decoded (the first byte is invalid, strict). */
  readonly text: Decoded | undefined;
  /** Strict only: the offset of the first invalid byte (`text` covers the bytes before it). */
  readonly invalidAt: number | undefined;
}

const REPLACEMENT = '\ufffd';
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;
const HIGH_SURROGATE = /[\ud800-\udbff]/;
const NON_ASCII = /[\u0080-\u00ff]/;
const NON_ASCII_ALL = /[\u0080-\u00ff]/g;

/**
 * Decodes the first `k` bytes of `chunk` (whole characters; see {@link completeLength}). With `strict`,
 * decoding stops at the first invalid byte: the result covers the bytes before it and says where it is.
 */
function decodeChunk(chunk: Buffer, k: number, encoding: CanonicalEncoding, strict: boolean): DecodeResult {
  switch (encoding) {
    case 'latin1':
      return { text: { s: chunk.toString('latin1', 0, k), bytes: k, anchors: undefined }, invalidAt: undefined };
    case 'ascii': {
      // Node's 'ascii' decoding clears the high bit (0xE9 would read as 'i'): make those bytes errors.
      let s = chunk.toString('latin1', 0, k);
      const bad = s.search(NON_ASCII);
      if (bad >= 0) {
        if (strict) return prefix(s.slice(0, bad), bad, bad);
        s = s.replace(NON_ASCII_ALL, REPLACEMENT); // one byte, one character: the map stays exact
      }
      return { text: { s, bytes: k, anchors: undefined }, invalidAt: undefined };
    }
    case 'utf16le': {
      // Whole code units, no high surrogate at the end (completeLength): only lone surrogates are invalid.
      let s = chunk.toString('utf16le', 0, k);
      const bad = s.search(LONE_SURROGATE);
      if (bad >= 0) {
        if (strict) return prefix(s.slice(0, bad), bad * 2, bad * 2);
        s = s.replace(LONE_SURROGATES, REPLACEMENT); // two bytes, one unit: the map stays exact
      }
      return { text: { s, bytes: k, anchors: undefined }, invalidAt: undefined };
    }
    case 'utf8':
      return decodeUtf8(chunk, k, strict);
  }
}

function prefix(s: string, bytes: number, invalidAt: number): DecodeResult {
  return { text: bytes === 0 ? undefined : { s, bytes, anchors: undefined }, invalidAt };
}

function decodeUtf8(chunk: Buffer, k: number, strict: boolean): DecodeResult {
  const s = chunk.toString('utf8', 0, k);
  // No U+FFFD at all: valid. Otherwise U+FFFD may be genuine (EF BF BD) or a replacement.
  if (!s.includes(REPLACEMENT)) return { text: { s, bytes: k, anchors: undefined }, invalidAt: undefined };
  const first = nextInvalid(chunk, 0, k);
  if (first === undefined) return { text: { s, bytes: k, anchors: undefined }, invalidAt: undefined };
  if (strict) return prefix(chunk.toString('utf8', 0, first[0]), first[0], first[0]);
  // Each replacement takes 1 to 3 bytes and re-encodes as 3. If the lengths agree, every one took 3 and
  // the map is exact; otherwise rebuild the text run by run, anchoring after each replacement.
  if (Buffer.byteLength(s, 'utf8') === k) return { text: { s, bytes: k, anchors: undefined }, invalidAt: undefined };
  const parts: string[] = [];
  const anchors: number[] = [];
  let units = 0;
  let at = 0;
  for (let bad: readonly [number, number] | undefined = first; bad !== undefined; bad = nextInvalid(chunk, at, k)) {
    const run = chunk.toString('utf8', at, bad[0]);
    parts.push(run, REPLACEMENT);
    units += run.length + 1;
    at = bad[1];
    anchors.push(units, at);
  }
  const tail = chunk.toString('utf8', at, k);
  parts.push(tail);
  return { text: { s: parts.join(''), bytes: k, anchors }, invalidAt: undefined };
}

/**
 * The next maximal invalid subsequence of UTF-8 in `b[from, end)`, as [start, end), or undefined.
 * (Unicode 15, table 3-7: the well-formed byte sequences.)
 */
function nextInvalid(b: Uint8Array, from: number, end: number): readonly [number, number] | undefined {
  let i = from;
  while (i < end) {
    const c = b[i] ?? 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return [i, i + 1]; // 80..C1, F5..FF never start a character
    let j = i + 1;
    for (let n = 0; n < need; n++, j++) {
      const x = j < end ? (b[j] ?? 0) : -1;
      if (x < lo || x > hi) return [i, j]; // the lead and the continuations that fitted: one replacement
      lo = 0x80;
      hi = 0xbf;
    }
    i = j;
  }
  return undefined;
}

/** How many bytes `s` stands for in `encoding`, where every character maps to its own encoded length. */
function encodedLength(s: string, encoding: CanonicalEncoding): number {
  return encoding === 'utf8' ? Buffer.byteLength(s, 'utf8') : encoding === 'utf16le' ? s.length * 2 : s.length;
}

/** How many leading bytes of `chunk` form whole characters in `encoding`. */
function completeLength(chunk: Buffer, encoding: CanonicalEncoding): number {
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

/**
 * Decodes the incomplete bytes left at end of file (replace mode): what {@link completeLength} held back,
 * one unfinished character. UTF-8: one U+FFFD per maximal subpart. UTF-16LE: a dangling high surrogate, an
 * odd byte, or both, are one U+FFFD, as in CPython.
 */
function decodeTail(rest: Buffer, encoding: CanonicalEncoding): Decoded {
  if (encoding === 'utf16le') return { s: REPLACEMENT, bytes: rest.length, anchors: rest.length === 2 ? undefined : [1, rest.length] };
  return decodeChunk(rest, rest.length, encoding, false).text ?? { s: '', bytes: 0, anchors: undefined };
}

/** Python's `len()`: code points, a surrogate pair counting once (a lone surrogate counts once too). */
function codePointLength(s: string): number {
  if (!HIGH_SURROGATE.test(s)) return s.length;
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
