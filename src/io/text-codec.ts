/**
 * @internal The text layer's codec: decoding byte chunks into strings that know exactly which bytes they
 * came from, so `tell()` stays a true byte offset even where invalid bytes were replaced by U+FFFD.
 *
 * Replacement follows the Unicode "maximal subpart" practice (one U+FFFD per maximal invalid subsequence),
 * which is what both CPython's `errors='replace'` and Node's decoder do.
 */

/** Encodings the text layer reads and writes, by their canonical Node name. */
export type CanonicalEncoding = 'utf8' | 'utf16le' | 'latin1' | 'ascii';

/** @internal The canonical name of an encoding option, or undefined if unsupported. */
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
export interface DecodeResult {
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
export function decodeChunk(chunk: Buffer, k: number, encoding: CanonicalEncoding, strict: boolean): DecodeResult {
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
export function nextInvalid(b: Uint8Array, from: number, end: number): readonly [number, number] | undefined {
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
  if (encoding === 'utf16le') return { s: REPLACEMENT, bytes: rest.length, anchors: rest.length === 2 ? undefined : [1, rest.length] };
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
