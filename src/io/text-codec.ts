/**
 * The text layer's codec, Python's incremental decoder and encoder for one encoding and one `errors`
 * mode: bytes in, whole characters out (a character split across reads waits for its last byte), each
 * piece of text knowing exactly which bytes it came from, so that `tell()` stays a true byte offset even
 * where invalid bytes were replaced by U+FFFD. It holds no bytes of its own: undecoded bytes stay in the
 * buffered layer's read buffer, which is what makes a failed read consume nothing.
 *
 * @module
 */
import { FsError } from '../errors/fs-error.js';

/** Encodings the text layer reads and writes. */
export type TextEncoding = 'utf8' | 'utf-8' | 'utf16le' | 'utf-16le' | 'ucs2' | 'ucs-2' | 'latin1' | 'binary' | 'ascii';

/**
 * What to do with bytes that are not valid in the encoding (reading: U+FFFD, or EILSEQ) and with
 * characters the encoding cannot hold (writing: `?`, or EILSEQ, nothing written), as Python's `errors`.
 */
export type DecodeErrors = 'replace' | 'strict';

/** Characters each encoding cannot hold (whole code points: a surrogate pair is one character). */
const UNENCODABLE: Readonly<Record<CanonicalEncoding, RegExp>> = {
  latin1: /[\u0100-\u{10ffff}]/gu,
  ascii: /[\u0080-\u{10ffff}]/gu,
  // Lone surrogates: UTF-8 and UTF-16 can encode every scalar value, but not half a pair.
  utf8: /\p{Cs}/gu,
  utf16le: /\p{Cs}/gu,
};

/** What {@link TextCodec.decode} made of the bytes it was given. */
export type DecodeStep = Decoded | 'more' | 'invalid';

/**
 * One encoding with one `errors` mode, decoding and encoding. Decoding is incremental: {@link
 * TextCodec.decode} takes the bytes read so far and decodes the whole characters at their start.
 */
export class TextCodec {
  constructor(
    /** The encoding (canonical Node name). */
    readonly encoding: CanonicalEncoding,
    /** See {@link DecodeErrors}. */
    readonly errors: DecodeErrors,
  ) {}

  /**
   * Decodes the whole characters at the start of `chunk`: their text and byte count, `'more'` when the
   * chunk holds no whole character yet (read more), `'invalid'` when it starts with bytes invalid in the
   * encoding and `errors` is strict. Strict, the characters before an invalid byte are decoded and the
   * invalid bytes are left, so the next call reports them (`'invalid'`).
   */
  decode(chunk: Buffer): DecodeStep {
    const k = completeLength(chunk, this.encoding);
    if (k === 0) return 'more';
    return decodeChunk(chunk, k, this.encoding, this.errors === 'strict').text ?? 'invalid';
  }

  /**
   * At end of file: decodes the incomplete bytes left over (one unfinished character) as U+FFFD, or
   * `'invalid'` when strict. Undefined when nothing is left.
   */
  decodeFinal(rest: Buffer): Decoded | 'invalid' | undefined {
    if (rest.length === 0) return undefined;
    if (this.errors === 'strict') return 'invalid';
    return decodeTail(rest, this.encoding);
  }

  /** What an `'invalid'` stands for, for the error message. */
  get invalidWhat(): string {
    return `invalid ${this.encoding === 'utf8' ? 'utf-8' : this.encoding === 'utf16le' ? 'utf-16le (lone surrogate)' : 'ascii (byte above 0x7f)'}`;
  }

  /**
   * Encodes `s`. A character the encoding cannot hold (above U+00FF in latin1, above U+007F in ascii, a
   * lone surrogate anywhere) is EILSEQ when `errors` is strict and `?` otherwise, as in Python — never
   * silently another character.
   */
  encode(s: string, path: string | undefined): Buffer {
    let t = s;
    const bad = UNENCODABLE[this.encoding];
    bad.lastIndex = 0;
    if (bad.test(t)) {
      if (this.errors === 'strict') {
        throw new FsError({
          code: 'EILSEQ',
          syscall: 'write',
          path,
          detail: `a character cannot be encoded in ${this.encoding} (errors 'strict')`,
        });
      }
      t = t.replace(bad, '?');
    }
    return Buffer.from(t, this.encoding);
  }
}

export function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
export function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

// ================================================================ the codec
//
// Decoding byte chunks into strings that know exactly which bytes they came from, so `tell()` stays a
// true byte offset even where invalid bytes were replaced by U+FFFD. Replacement follows the Unicode
// "maximal subpart" practice (one U+FFFD per maximal invalid subsequence), which is what both CPython's
// `errors='replace'` and Node's decoder do.

/** Encodings the text layer reads and writes, by their canonical Node name. */
export type CanonicalEncoding = 'utf8' | 'utf16le' | 'latin1' | 'ascii';

/** The canonical name of an encoding option, or undefined if unsupported. */
export function canonicalEncoding(e: string): CanonicalEncoding | undefined {
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
export interface Decoded {
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
export function encodedLength(s: string, encoding: CanonicalEncoding): number {
  return encoding === 'utf8' ? Buffer.byteLength(s, 'utf8') : encoding === 'utf16le' ? s.length * 2 : s.length;
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

/**
 * Decodes the incomplete bytes left at end of file (replace mode): what {@link completeLength} held back,
 * one unfinished character. UTF-8: one U+FFFD per maximal subpart. UTF-16LE: a dangling high surrogate, an
 * odd byte, or both, are one U+FFFD, as in CPython.
 */
export function decodeTail(rest: Buffer, encoding: CanonicalEncoding): Decoded {
  if (encoding === 'utf16le')
    return { s: REPLACEMENT, bytes: rest.length, anchors: rest.length === 2 ? undefined : [1, rest.length] };
  return decodeChunk(rest, rest.length, encoding, false).text ?? { s: '', bytes: 0, anchors: undefined };
}

/** Python's `len()`: code points, a surrogate pair counting once (a lone surrogate counts once too). */
export function codePointLength(s: string): number {
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
