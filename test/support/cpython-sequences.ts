/**
 * Seeded random operation sequences for the CPython differential test (test/cpython-differential.test.ts).
 * The same sequence runs through CPython (test/support/cpython-runner.py) and through fdkeeper
 * (test/support/cpython-fdkeeper.ts); a sequence is plain JSON so both sides read it.
 *
 * Two levels:
 * - `os`: os.open/read/write/lseek/pread/pwrite/ftruncate/fstat/dup/dup2/close against FileTable's
 *   number API. Handles are indexes of the ops that made a descriptor (open, dup, dup2); a failed one
 *   stands for -1, a closed one stays nameable (EBADF, or whatever reused its number — as in POSIX).
 * - `io`: io.open(…) file objects (raw, buffered, text) against fdkeeper's open().
 *
 * Rules the generator keeps so that only defined behaviour is compared (docs/design.md, "Differential
 * test against CPython"): buffer timing is implementation-defined, so
 * - G1: before an op on a file while another handle on it holds unflushed writes, that handle is flushed;
 * - G2: a buffered handle that has read (so may hold read-ahead) when another handle changes the file is
 *   stale: its next op is `seek(0, 2)` (which drops the read-ahead in both) or `close`;
 * - G3: a text handle that has read does a `seek(tell())` before it writes or truncates (C's rule for
 *   update streams: CPython's TextIOWrapper writes where its read-ahead ended, fdkeeper where the reading
 *   stopped);
 * - G4: a text handle with unflushed writes flushes before it reads, and a buffered binary one in append
 *   mode before it reads, seeks or tells (the other half of C's rule: CPython's TextIOWrapper.readline
 *   reads before its pending writes go out, and its BufferedRandom in append mode counts unflushed
 *   writes from its offset although they land at the end, so its position is one of its own making
 *   until an explicit flush; fdkeeper flushes first and goes on where the writes ended).
 */

/** One operation; the first element names it. See the runner for the exact meaning of each. */
export type Op =
  | ['open', string, string]
  | ['ioopen', string, string, IoOptions]
  | ['close', number]
  | ['read', number, number]
  | ['readline', number, number]
  | ['write', number, string]
  | ['lseek', number, number, 0 | 1 | 2]
  | ['seek', number, number, number]
  | ['tell', number]
  | ['seektell', number]
  | ['truncate', number, number | null]
  | ['flush', number]
  | ['pread', number, number, number]
  | ['pwrite', number, string, number]
  | ['ftruncate', number, number]
  | ['fstat', number]
  | ['dup', number]
  | ['dup2', number, { h: number } | { rel: number }];

/** io.open options; an absent key means the default. */
export interface IoOptions {
  buffering?: number;
  encoding?: 'utf-8' | 'latin1';
  errors?: 'strict' | 'replace';
  newline?: null | '' | '\n' | '\r' | '\r\n';
}

/** A sequence: what both sides run. */
export interface Sequence {
  /** The seed it was generated from (printed with a divergence; `FDKEEPER_PYDIFF_SEED` replays it). */
  seed: number;
  level: 'os' | 'io';
  /** Which fdkeeper API runs it: the synchronous calls or the promise ones (CPython has one). */
  api: 'sync' | 'promise';
  /** The file names the sequence uses (compared at the end). */
  files: string[];
  /** Initial contents (hex) of the files that exist at the start. */
  init: Record<string, string>;
  ops: Op[];
}

/** mulberry32: small, fast, and the same on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }
  weighted<T extends string>(table: Readonly<Record<T, number>>): T {
    const entries = Object.entries(table) as [T, number][];
    let r = this.next() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return (entries[entries.length - 1] as [T, number])[0];
  }
}

const FILES = ['f0', 'f1', 'f2'];
/** Bytes written and initially present: ASCII, line endings, pieces of UTF-8 (é, €) and invalid bytes. */
const BYTES = [0x61, 0x62, 0x63, 0x0a, 0x0a, 0x0d, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0x80];
/** Text written: ASCII, 2- 3- and 4-byte characters (😀 is a surrogate pair in JavaScript), line endings, ÿ (latin-1's last). */
const CHARS = ['a', 'b', 'x', 'é', '€', '😀', 'ÿ', '\n', '\n', '\r', '\r\n'];
export const OS_FLAGS = ['r', 'r+', 'w', 'w+', 'a', 'a+', 'x', 'x+', 'r-append'] as const;
const IO_MODES = ['r', 'r+', 'w', 'w+', 'a', 'a+', 'x', 'x+'];

function randomBytes(r: Rng): string {
  const n = r.chance(0.08) ? r.int(60, 200) : r.int(0, 9);
  let hex = '';
  for (let i = 0; i < n; i++) hex += r.pick(BYTES).toString(16).padStart(2, '0');
  return hex;
}

function randomText(r: Rng): string {
  const n = r.chance(0.08) ? r.int(40, 120) : r.int(0, 7);
  let s = '';
  for (let i = 0; i < n; i++) s += r.pick(CHARS);
  return s;
}

function initialFiles(r: Rng): Record<string, string> {
  const init: Record<string, string> = {};
  for (const f of FILES) {
    if (r.chance(0.6)) init[f] = r.chance(0.15) ? '' : randomBytes(r) + randomBytes(r);
  }
  return init;
}

/** Two of three picks name f0, so two handles on one file are common. */
function pickFile(r: Rng): string {
  return r.chance(0.65) ? 'f0' : r.pick(FILES);
}

/** Generates the sequence for `seed`: the level, the API and the ops all follow from it. */
export function generate(seed: number, maxOps = 30): Sequence {
  const r = new Rng(seed);
  const level = r.chance(0.5) ? 'os' : 'io';
  const api = r.chance(0.3) ? 'promise' : 'sync';
  const init = initialFiles(r);
  const ops = level === 'os' ? osOps(r, maxOps) : ioOps(r, maxOps);
  return { seed, level, api, files: FILES, init, ops };
}

function osOps(r: Rng, maxOps: number): Op[] {
  const ops: Op[] = [];
  const closed = new Set<number>();
  let handles = 0;
  const h = (): number => {
    const live = [...Array(handles).keys()].filter((i) => !closed.has(i));
    return live.length > 0 && r.chance(0.9) ? r.pick(live) : r.int(0, handles - 1);
  };
  const n = r.int(4, maxOps);
  const first = r.int(1, 3);
  for (let i = 0; i < first; i++) {
    ops.push(['open', pickFile(r), r.pick(OS_FLAGS)]);
    handles++;
  }
  while (ops.length < n) {
    const kind = r.weighted({
      open: 10,
      close: 7,
      read: 12,
      write: 13,
      lseek: 8,
      pread: 5,
      pwrite: 5,
      ftruncate: 4,
      fstat: 4,
      dup: 7,
      dup2: 6,
    });
    if (kind === 'open') {
      ops.push(['open', pickFile(r), r.pick(OS_FLAGS)]);
      handles++;
      continue;
    }
    const a = h();
    switch (kind) {
      case 'close':
        ops.push(['close', a]);
        closed.add(a);
        break;
      case 'read':
        ops.push(['read', a, r.chance(0.1) ? 300 : r.int(0, 12)]);
        break;
      case 'write':
        ops.push(['write', a, randomBytes(r)]);
        break;
      case 'lseek':
        ops.push(['lseek', a, r.int(-3, 20), r.pick([0, 1, 2] as const)]);
        break;
      case 'pread':
        ops.push(['pread', a, r.int(0, 12), r.chance(0.1) ? -1 : r.int(0, 20)]);
        break;
      case 'pwrite':
        ops.push(['pwrite', a, randomBytes(r), r.chance(0.1) ? -1 : r.int(0, 20)]);
        break;
      case 'ftruncate':
        ops.push(['ftruncate', a, r.chance(0.1) ? -1 : r.int(0, 20)]);
        break;
      case 'fstat':
        ops.push(['fstat', a]);
        break;
      case 'dup':
        ops.push(['dup', a]);
        handles++;
        break;
      case 'dup2': {
        if (r.chance(0.6)) {
          const t = h();
          ops.push(['dup2', a, { h: t }]);
          if (t !== a) closed.add(t);
        } else {
          ops.push(['dup2', a, { rel: r.int(0, 6) }]);
        }
        handles++;
        break;
      }
    }
  }
  for (let i = 0; i < handles; i++) if (!closed.has(i) && r.chance(0.7)) ops.push(['close', i]);
  return ops;
}

interface IoHandle {
  file: string;
  buffered: boolean;
  closed: boolean;
  dirty: boolean;
  readSince: boolean;
  /** Read (text) since its last seek: G3. */
  textRead: boolean;
  stale: boolean;
  text: boolean;
  append: boolean;
}

function ioOps(r: Rng, maxOps: number): Op[] {
  const ops: Op[] = [];
  const hs: IoHandle[] = [];
  const open = (): void => {
    const file = pickFile(r);
    let mode = r.pick(IO_MODES);
    const binary = r.chance(0.4);
    if (binary) mode += 'b';
    const opts: IoOptions = {};
    const buffering = r.pick(binary ? [-1, 0, 0, 2, 3, 7, 16, 64, 4096] : [-1, 1, 2, 3, 7, 16, 64, 4096]);
    if (buffering !== -1 || r.chance(0.3)) opts.buffering = buffering;
    if (!binary) {
      if (r.chance(0.8)) opts.encoding = r.chance(0.7) ? 'utf-8' : 'latin1';
      if (r.chance(0.8)) opts.errors = r.chance(0.5) ? 'strict' : 'replace';
      if (r.chance(0.6)) opts.newline = r.pick([null, '', '\n', '\r', '\r\n'] as const);
    }
    if (r.chance(0.02)) opts.buffering = 0; // text with buffering 0 (an error) now and then
    // An open may truncate ('w') the file: G1 and G2 apply to it as to a write.
    for (let j = 0; j < hs.length; j++) {
      const o = hs[j] as IoHandle;
      if (o.closed || o.file !== file) continue;
      if (o.dirty) {
        ops.push(['flush', j]);
        o.dirty = false;
      }
      if (mode.startsWith('w') && o.buffered && o.readSince) o.stale = true;
    }
    ops.push(['ioopen', file, mode, opts]);
    hs.push({
      file,
      buffered: opts.buffering !== 0,
      closed: false,
      dirty: false,
      readSince: false,
      textRead: false,
      stale: false,
      text: !binary,
      append: mode.startsWith('a'),
    });
  };
  const n = r.int(4, maxOps);
  const first = r.int(1, 3);
  for (let i = 0; i < first; i++) open();
  while (ops.length < n) {
    const kind = r.weighted({
      open: 8,
      read: 14,
      readline: 10,
      write: 16,
      seek: 8,
      tell: 8,
      truncate: 4,
      flush: 4,
      close: 5,
    });
    if (kind === 'open') {
      open();
      continue;
    }
    const live = hs.map((_, i) => i).filter((i) => !(hs[i] as IoHandle).closed);
    const a = live.length > 0 && r.chance(0.93) ? r.pick(live) : r.int(0, hs.length - 1);
    const hd = hs[a] as IoHandle;
    // G1: whoever else holds unflushed writes to this file flushes them first.
    for (let j = 0; j < hs.length; j++) {
      const o = hs[j] as IoHandle;
      if (j !== a && !o.closed && o.dirty && o.file === hd.file) {
        ops.push(['flush', j]);
        o.dirty = false;
      }
    }
    if (hd.stale && !hd.closed && kind !== 'close') {
      // G2: a stale handle first drops its read-ahead.
      ops.push(['seek', a, 0, 2]);
      hd.stale = false;
      hd.readSince = hd.textRead = false;
    }
    const positional = kind === 'read' || kind === 'readline' || (!hd.text && (kind === 'seek' || kind === 'tell'));
    if ((hd.text || (hd.append && hd.buffered)) && hd.dirty && !hd.closed && positional) {
      ops.push(['flush', a]); // G4
      hd.dirty = false;
    }
    if (hd.textRead && !hd.closed && (kind === 'write' || kind === 'truncate')) {
      ops.push(['seektell', a]); // G3
      hd.textRead = false;
    }
    const changes = (): void => {
      for (let j = 0; j < hs.length; j++) {
        const o = hs[j] as IoHandle;
        if (j !== a && !o.closed && o.file === hd.file && o.buffered && o.readSince) o.stale = true;
      }
    };
    switch (kind) {
      case 'read':
        ops.push(['read', a, r.chance(0.25) ? -1 : r.int(0, 10)]);
        hd.readSince = true;
        hd.textRead = hd.text;
        break;
      case 'readline':
        ops.push(['readline', a, r.chance(0.6) ? -1 : r.int(0, 10)]);
        hd.readSince = true;
        hd.textRead = hd.text;
        break;
      case 'write':
        ops.push(['write', a, hd.text ? randomText(r) : randomBytes(r)]);
        hd.dirty = true;
        changes();
        break;
      case 'seek': {
        const whence = r.pick([0, 0, 1, 2]);
        const off = whence === 0 ? r.int(r.chance(0.05) ? -2 : 0, 20) : hd.text && r.chance(0.9) ? 0 : r.int(-3, 5);
        ops.push(['seek', a, off, whence]);
        // The rules count only seeks that surely succeed and move: a failed one (a negative target, a
        // text seek by a nonzero amount from the current position or the end) changes nothing. A text
        // seek(0, 1) is tell(): fdkeeper does not flush for it, and CPython's cookie may need re-decoding
        // (N2), so it does not stand for G3's seek either.
        const sure = hd.text ? (whence === 0 ? off >= 0 : off === 0) : off >= 0 || whence === 1;
        if (sure && !(hd.text && whence === 1)) {
          hd.dirty = false;
          hd.textRead = false;
          if (whence === 2) hd.readSince = false;
        } else if (!hd.text) {
          hd.dirty = false; // a binary seek flushes before it tries
        }
        break;
      }
      case 'tell':
        ops.push(['tell', a]);
        break;
      case 'truncate':
        ops.push(['truncate', a, r.chance(0.4) ? null : r.int(0, 15)]);
        hd.dirty = false;
        changes();
        break;
      case 'flush':
        ops.push(['flush', a]);
        hd.dirty = false;
        break;
      case 'close':
        ops.push(['close', a]);
        hd.closed = true;
        hd.dirty = false;
        break;
    }
  }
  // Close everything left, in order: each close flushes, and (G1) at most one handle per file is dirty.
  for (let i = 0; i < hs.length; i++) if (!(hs[i] as IoHandle).closed) ops.push(['close', i]);
  return ops;
}

/** Renders one op as the Python line that runs it (the repro printed with a divergence). */
export function renderOp(seq: Sequence, op: Op, index: number): string {
  const py = (x: string | number | null | undefined): string =>
    x === null ? 'None' : typeof x === 'string' ? pyStr(x) : String(x);
  const hx = (hex: string): string => pyBytes(hex);
  const fdName = (h: number): string => `fd${h}`;
  const fName = (h: number): string => `f${h}`;
  let handle = 0;
  for (let i = 0; i < index; i++) {
    const k = (seq.ops[i] as Op)[0];
    if (k === 'open' || k === 'ioopen' || k === 'dup' || k === 'dup2') handle++;
  }
  switch (op[0]) {
    case 'open':
      return `${fdName(handle)} = os.open(${py(op[1])}, ${op[2]})`;
    case 'ioopen': {
      const o: Record<string, string | number | null | undefined> = { ...op[3] };
      const kw = Object.entries(o)
        .map(([k, v]) => `, ${k}=${py(v)}`)
        .join('');
      return `${fName(handle)} = open(${py(op[1])}, ${py(op[2])}${kw})`;
    }
    case 'dup':
      return `${fdName(handle)} = os.dup(${fdName(op[1])})`;
    case 'dup2':
      return `${fdName(handle)} = os.dup2(${fdName(op[1])}, ${'h' in op[2] ? fdName(op[2].h) : `base + ${op[2].rel}`})`;
    case 'close':
      return seq.level === 'os' ? `os.close(${fdName(op[1])})` : `${fName(op[1])}.close()`;
    case 'read':
      return seq.level === 'os' ? `os.read(${fdName(op[1])}, ${op[2]})` : `${fName(op[1])}.read(${op[2]})`;
    case 'write':
      return seq.level === 'os'
        ? `os.write(${fdName(op[1])}, ${hx(op[2])})`
        : `${fName(op[1])}.write(${isTextWrite(seq, op[1]) ? py(op[2]) : hx(op[2])})`;
    case 'lseek':
      return `os.lseek(${fdName(op[1])}, ${op[2]}, ${op[3]})`;
    case 'pread':
      return `os.pread(${fdName(op[1])}, ${op[2]}, ${op[3]})`;
    case 'pwrite':
      return `os.pwrite(${fdName(op[1])}, ${hx(op[2])}, ${op[3]})`;
    case 'ftruncate':
      return `os.ftruncate(${fdName(op[1])}, ${op[2]})`;
    case 'fstat':
      return `os.fstat(${fdName(op[1])}).st_size`;
    case 'readline':
      return `${fName(op[1])}.readline(${op[2]})`;
    case 'seek':
      return `${fName(op[1])}.seek(${op[2]}, ${op[3]})`;
    case 'tell':
      return `${fName(op[1])}.tell()`;
    case 'seektell':
      return `${fName(op[1])}.seek(${fName(op[1])}.tell())`;
    case 'truncate':
      return `${fName(op[1])}.truncate(${py(op[2])})`;
    case 'flush':
      return `${fName(op[1])}.flush()`;
  }
}

/** Whether handle `h` of an io sequence is a text file (its open's mode has no 'b'). */
export function isTextWrite(seq: Sequence, h: number): boolean {
  const open = handleOpen(seq, h);
  return open !== undefined && !open[2].includes('b');
}

/** The `ioopen` op that made handle `h`, if any. */
export function handleOpen(seq: Sequence, h: number): Extract<Op, ['ioopen', ...unknown[]]> | undefined {
  let handle = 0;
  for (const op of seq.ops) {
    if (op[0] === 'open' || op[0] === 'ioopen' || op[0] === 'dup' || op[0] === 'dup2') {
      if (handle === h) return op[0] === 'ioopen' ? op : undefined;
      handle++;
    }
  }
  return undefined;
}

function pyStr(s: string): string {
  return JSON.stringify(s)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/(\\ud[89ab][0-9a-f]{2})(\\ud[c-f][0-9a-f]{2})/g, (_m, hi: string, lo: string) => {
      const cp = String.fromCharCode(parseInt(hi.slice(2), 16), parseInt(lo.slice(2), 16)).codePointAt(0) ?? 0;
      return `\\U${cp.toString(16).padStart(8, '0')}`;
    });
}

function pyBytes(hex: string): string {
  let s = "b'";
  for (let i = 0; i < hex.length; i += 2) {
    const b = parseInt(hex.slice(i, i + 2), 16);
    s += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${hex.slice(i, i + 2)}`;
  }
  return s + "'";
}
