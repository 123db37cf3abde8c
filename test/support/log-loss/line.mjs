// The line format and the clock of the log loss test (test/log-loss.test.ts), shared by the writer
// child, the rotator child and the analysis. Plain JavaScript (types in line.d.mts): the children run
// without a TypeScript loader, so that they start fast.
//
// A line is exactly LINE_BYTES bytes: `#<seq>#<t> ` + padding + '\n', where <seq> is the writer's
// sequence number (decimal, from 0) and <t> the instant the writer emitted it (epoch ms, 3 decimals, on
// the clock below). '#' occurs only at the two places of the header, so a reader can find every intact
// line anywhere in a file — also behind a torn one (a partial line glued to the next, as an editor's
// copy taken during a write can leave) — and tell intact lines from fragments.

/** Bytes of every line, '\n' included. */
import { performance } from 'node:perf_hooks';

export const LINE_BYTES = 100;

const PAD = '.'.repeat(LINE_BYTES);
const HASH = 0x23;
const NL = 0x0a;
const SPACE = 0x20;
const DOT = 0x2e;

/**
 * Now, in epoch milliseconds with sub-millisecond precision. Every process of the test reads this same
 * clock (the wall clock at the process's start plus its monotonic clock), so the writer's emit instants
 * and the rotator's event instants compare.
 */
export function now() {
  return performance.timeOrigin + performance.now();
}

/** The line of sequence number `seq` emitted at `t` (epoch ms). */
export function formatLine(seq, t) {
  const head = `#${seq}#${t.toFixed(3)} `;
  return head + PAD.slice(0, LINE_BYTES - 1 - head.length) + '\n';
}

/**
 * Finds every intact line in `bytes` and calls `onLine(seq, t, offset)` for each (offset: of its first
 * byte). Returns the number of bytes that belong to no intact line (fragments of torn lines, foreign text).
 */
export function scanLines(bytes, onLine) {
  let torn = 0;
  let pos = 0;
  const end = bytes.length;
  while (pos < end) {
    const start = bytes.indexOf(HASH, pos);
    if (start < 0) {
      torn += end - pos;
      break;
    }
    const parsed = start + LINE_BYTES <= end ? parseAt(bytes, start) : undefined;
    if (parsed === undefined) {
      // Not an intact line here: skip this '#' (it may be the second '#' of a torn header, or a
      // fragment) and look for the next line start.
      torn += start + 1 - pos;
      pos = start + 1;
      continue;
    }
    torn += start - pos;
    onLine(parsed.seq, parsed.t, start);
    pos = start + LINE_BYTES;
  }
  return torn;
}

/** The line starting at `start` (a '#'), or undefined when the bytes there are not an intact line. */
function parseAt(bytes, start) {
  if (bytes[start + LINE_BYTES - 1] !== NL) return undefined;
  let i = start + 1;
  let seq = 0;
  let digits = 0;
  for (; digits < 12; i++, digits++) {
    const c = bytes[i] - 0x30;
    if (c < 0 || c > 9) break;
    seq = seq * 10 + c;
  }
  if (digits === 0 || bytes[i] !== HASH) return undefined;
  i++;
  let tStart = i;
  for (; i < start + LINE_BYTES - 1; i++) {
    const c = bytes[i];
    if (c === SPACE) break;
    if (c !== DOT && (c < 0x30 || c > 0x39)) return undefined;
  }
  if (bytes[i] !== SPACE || i === tStart) return undefined;
  const t = Number(bytes.toString('latin1', tStart, i));
  if (!Number.isFinite(t)) return undefined;
  for (i++; i < start + LINE_BYTES - 1; i++) if (bytes[i] !== DOT) return undefined;
  return { seq, t };
}

/** mulberry32: a small seeded generator, so that a failing schedule can be replayed. */
export function generator(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves once a line `word` arrives on stdin; stdin is paused then. */
export function waitForLine(word) {
  return new Promise((resolve) => {
    let input = '';
    process.stdin.setEncoding('utf8');
    process.stdin.resume();
    process.stdin.on('data', function onData(s) {
      input += s;
      if (!input.includes(`${word}\n`)) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve();
    });
  });
}

/** Resolves once a line `go` arrives on stdin (the parent's start signal to a writer child). */
export function waitForGo() {
  return waitForLine('go');
}
