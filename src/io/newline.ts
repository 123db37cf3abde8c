/**
 * The text layer's newline handling and line splitting, as `_pyio`'s `IncrementalNewlineDecoder` and the
 * line search of its `TextIOWrapper`: decoded text waits here, one segment per decoded chunk, each knowing
 * the bytes it came from; a read call first *scans* (from the first undelivered character, across as many
 * segments as it needs, each looked at once) for where its result ends (`n` characters, or a line in the
 * file's {@link Newline} mode), and only then *takes* the text up to there, translated. So the work is
 * linear in the text whatever the newline mode, and a call that fails before taking consumes nothing.
 * It does no I/O: the text file decodes more (with its codec) whenever a scan says it needs more.
 *
 * @module
 */
import { encodedLength, isHighSurrogate, isLowSurrogate, type CanonicalEncoding, type Decoded } from './text-codec.js';

/**
 * Line endings, as Python's `newline` argument:
 * - `undefined`/`null` (default): reading accepts `\n`, `\r\n` and `\r` and turns each into `\n`;
 *   writing turns `\n` into the platform's line ending (`\n` on Linux and macOS, `\r\n` on Windows);
 * - `''`: reading splits lines at any of the three but leaves them as they are; writing translates nothing;
 * - `'\n'`, `'\r'`, `'\r\n'`: only that sequence ends a line when reading, nothing is translated;
 *   writing turns `\n` into it.
 */
export type Newline = null | '' | '\n' | '\r' | '\r\n';

const LF = 10;
const CR = 13;
/** A segment's `lf`/`cr` cache before its first lookup. */
const UNKNOWN = -2;

/** Decoded text waiting to be delivered, with lazily found line-ending positions (see `LineSplitter.find`). */
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

/** Decoded text not yet delivered, and the scan of one read call over it. */
export class LineSplitter {
  /** Decoded text not yet delivered, untranslated: `segs[0].s.slice(tpos)`, then the other segments. */
  private segs: Segment[] = [];
  private tpos = 0;
  /** Where the current call's scan has got to: segment, index, characters counted. */
  private cseg = 0;
  private ci = 0;
  private ccount = 0;
  /** How many characters the last {@link LineSplitter.advance} counted. */
  private counted = 0;
  /** End of file was seen during the current read call (reset by each scan, so a file that grows is read on). */
  eof = false;
  /**
   * UTF-16 units decoded, searched, counted, translated and copied so far: a measure of work the
   * linearity tests compare with the length of the text (no clocks).
   */
  units = 0;
  private readonly universal: boolean;
  /** Whether reading translates `\r\n` and `\r` to `\n` (universal newlines, the default). */
  readonly translateRead: boolean;

  constructor(
    private readonly newline: Exclude<Newline, null> | undefined,
    private readonly encoding: CanonicalEncoding,
  ) {
    this.universal = newline === undefined || newline === '';
    this.translateRead = newline === undefined;
  }

  /** Whether no decoded text is waiting. */
  get empty(): boolean {
    return this.segs.length === 0;
  }

  /** Adds a decoded chunk. */
  push(d: Decoded): void {
    this.units += d.s.length;
    const rawEndsCr = d.s.charCodeAt(d.s.length - 1) === CR;
    this.segs.push({
      s: d.s,
      bytes: d.bytes,
      anchors: d.anchors,
      lf: UNKNOWN,
      cr: UNKNOWN,
      translated: false,
      rawEndsCr,
      mu: 0,
      mb: 0,
      ai: 0,
    });
  }

  /** Drops all decoded text (after a seek, a write, a close). */
  clear(): void {
    this.segs = [];
    this.tpos = 0;
    this.eof = false;
  }

  /** The next complete line (at most `max` characters when `max >= 0`), if it is decoded already (the fast paths). */
  decodedLine(max = -1): string | undefined {
    this.startScan();
    return this.scanLine(max) ? this.takeScanned() : undefined;
  }

  /** Starts a read call's scan at the first undelivered character. */
  startScan(): void {
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

  /**
   * The index of the next `\n` (`which` 'lf') or of the next `\r` (universal modes), `\r\n` (newline
   * '\r\n') or `\r` (newline '\r') (`which` 'cr') at or after `i` in `seg`, -1 if none. Cached per
   * segment: lookups in a segment only move forward, so each segment is searched once per kind.
   */
  find(seg: Segment, which: 'lf' | 'cr', i: number): number {
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
  scanLine(max: number): boolean {
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
          endAt =
            this.newline === '\r\n' ? cr + 2 : cr + 1 === len ? -1 : s.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
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
  scanChars(n: number): boolean {
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
   * character, and so is `\r\n` when reading translates it. Sets {@link LineSplitter.counted}.
   */
  advance(s: string, from: number, n: number, stop: number): number {
    let i = from;
    let count = 0;
    while (count < n && i < stop) {
      const c = s.charCodeAt(i);
      if (
        i + 1 < stop &&
        ((isHighSurrogate(c) && isLowSurrogate(s.charCodeAt(i + 1))) ||
          (c === CR && this.translateRead && s.charCodeAt(i + 1) === LF))
      )
        i += 2;
      else i++;
      count++;
    }
    this.counted = count;
    this.units += i - from;
    return i;
  }

  /**
   * Translates the newest segment as soon as it is decoded, for a read of everything (see TextFile's
   * `translateEarly`): its untranslated text is dropped, so it is delivered whole or not at all.
   */
  pretranslateLast(): void {
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

  /** Everything decoded: the scan ends at the end. */
  takeAll(): string {
    const last = this.segs.length - 1;
    this.cseg = Math.max(0, last);
    this.ci = last < 0 ? 0 : (this.segs[last]?.s.length ?? 0);
    return this.takeScanned();
  }

  /** Delivers the text from `tpos` to where the scan ended, translated. */
  takeScanned(): string {
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
  undeliveredBytes(): number {
    const segs = this.segs;
    const head = segs[0];
    if (head === undefined) return 0;
    let n = head.bytes - this.bytesBefore(head, this.tpos);
    for (let k = 1; k < segs.length; k++) n += (segs[k] as Segment).bytes;
    return n;
  }

  /** The bytes the first `u` units of `seg` came from. */
  bytesBefore(seg: Segment, u: number): number {
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

export function stripEnding(line: string): string {
  if (line.endsWith('\r\n')) return line.slice(0, -2);
  if (line.endsWith('\n') || line.endsWith('\r')) return line.slice(0, -1);
  return line;
}
