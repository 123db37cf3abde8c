/**
 * The one function through which outside text (file names, paths, argv, host names, error messages,
 * stacks) reaches a terminal: the CLI's output and the library's own stderr messages (the exit-flush
 * report of src/diagnostics/unclosed-watch.ts). A name such as `log\n\u001b[31mfake row` printed raw adds a row, paints the
 * screen, sets the window title or hides what follows; printed through {@link escapeText} it reads
 * `log\n\033[31mfake row`, one line, as `ls -b` shows it.
 *
 * The rules (docs/security.md, "CLI output and clean"):
 * - a backslash is doubled, so an escape in the output always means one;
 * - C0 controls and DEL: `\a \b \t \n \v \f \r` as in C, every other one in 3-digit octal (`\033` for ESC,
 *   `\000`, `\177`), as `ls -b`;
 * - C1 controls (U+0080–U+009F, which some terminals obey like ESC sequences: U+009B is a CSI) as the octal
 *   of their UTF-8 bytes (`\302\233`), as `ls -b` does in a UTF-8 locale;
 * - bytes that are not valid UTF-8 (only a `Uint8Array` can hold them) in octal, one per byte (`\377`);
 *   a lone UTF-16 surrogate in a string as `\udc80`;
 * - the bidirectional controls (U+061C, U+200E/F, U+202A–E, U+2066–9) and the line and paragraph
 *   separators U+2028/9 as `\u202e`: they reorder or break what a reader sees ("Trojan Source").
 *
 * Everything else (printable ASCII, spaces, any other Unicode) passes unchanged. `--json` output is never
 * escaped: JSON has its own escapes, and a script must get the exact text.
 *
 * @module
 */

const NAMED: Readonly<Record<number, string>> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
};

const octal = (byte: number): string => `\\${byte.toString(8).padStart(3, '0')}`;
const unicode = (cp: number): string => `\\u${cp.toString(16).padStart(4, '0')}`;

/** Whether `cp` is a bidirectional control or a line/paragraph separator. */
function isBidiOrSeparator(cp: number): boolean {
  return (
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0x2028 ||
    cp === 0x2029
  );
}

/** One code point as the terminal may see it. */
function escapeCodePoint(cp: number): string {
  if (cp === 0x5c) return '\\\\';
  if (cp < 0x20 || cp === 0x7f) return NAMED[cp] ?? octal(cp);
  if (cp >= 0x80 && cp <= 0x9f) return octal(0xc0 | (cp >> 6)) + octal(0x80 | (cp & 0x3f));
  if (cp >= 0xd800 && cp <= 0xdfff) return unicode(cp); // a lone surrogate (a pair is one code point)
  if (isBidiOrSeparator(cp)) return unicode(cp);
  return String.fromCodePoint(cp);
}

/**
 * The code point of the UTF-8 sequence at `bytes[i]` and its length, or undefined when the sequence is
 * not valid UTF-8 (truncated, a stray continuation byte, overlong, a surrogate, past U+10FFFF).
 */
function decodeUtf8At(bytes: Uint8Array, i: number): { cp: number; length: number } | undefined {
  const b0 = bytes[i] ?? 0;
  if (b0 < 0x80) return { cp: b0, length: 1 };
  const length = b0 >= 0xc2 && b0 <= 0xdf ? 2 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xf0 && b0 <= 0xf4 ? 4 : 0;
  if (length === 0 || i + length > bytes.length) return undefined;
  let cp = b0 & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) {
    const b = bytes[i + k] ?? 0;
    if ((b & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (b & 0x3f);
  }
  const min = length === 2 ? 0x80 : length === 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return { cp, length };
}

/* eslint-disable no-control-regex -- the escaper's whole job is control characters */
/** Any code point {@link escapeText} would rewrite: controls, backslash, bidi marks, line separators, lone surrogates. */
const NEEDS_ESCAPE =
  /[\u0000-\u001f\u007f-\u009f\\\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]/;
/* eslint-enable no-control-regex */

/**
 * `text` made safe to print on a terminal (see the module comment for the rules). A `Uint8Array` is
 * read as UTF-8, its invalid bytes escaped in octal; a string's code points are escaped the same way.
 */
export function escapeText(text: string | Uint8Array): string {
  let out = '';
  if (typeof text === 'string') {
    // Fast path: most names need nothing.
    if (!NEEDS_ESCAPE.test(text)) return text;
    for (const ch of text) out += escapeCodePoint(ch.codePointAt(0) ?? 0);
    return out;
  }
  for (let i = 0; i < text.length;) {
    const d = decodeUtf8At(text, i);
    if (d === undefined) {
      out += octal(text[i] ?? 0);
      i++;
    } else {
      out += escapeCodePoint(d.cp);
      i += d.length;
    }
  }
  return out;
}

/** Each line of `text` escaped, the line breaks kept: for multi-line evidence (stacks, reports) whose lines are ours. */
export function escapeLines(text: string): string {
  return text.split('\n').map(escapeText).join('\n');
}

/**
 * A V8 stack (`    at fn (file:line:col)` lines) escaped: a line break is kept only before a frame
 * line; any other one came from inside a name (a file path, a message) and is escaped as `\n`, so a
 * path cannot fake a frame or a row.
 */
export function escapeStack(stack: string): string {
  const lines = stack.split('\n');
  let out = escapeText(lines[0] ?? '');
  for (const line of lines.slice(1)) out += (/^\s+at /.test(line) ? '\n' : '\\n') + escapeText(line);
  return out;
}
