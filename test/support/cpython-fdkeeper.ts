/**
 * The fdkeeper side of the CPython differential test: runs a {@link Sequence} through FileTable's number
 * API (`os` level) or `openSync`/`open` file objects (`io` level), synchronously or with the promise
 * API, producing results in the runner's format ({"v": value} or {"e": code}).
 *
 * It also keeps per-handle notes that the allow-list of known text bugs (cpython-compare.ts) matches on.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { O } from '../../src/backend/flags.js';
import { FsError } from '../../src/errors/fs-error.js';
import { open, openSync, type AnyFile, type OpenOptions } from '../../src/io/open.js';
import { RawFile } from '../../src/io/raw-file.js';
import { TextFile } from '../../src/io/text-file.js';
import { FileTable, type Whence } from '../../src/table/file-table.js';
import type { Op, Sequence } from './cpython-sequences.js';

/** One op's outcome, as both sides report it. */
export type Step = { v: unknown } | { e: string };

/** What running a sequence on one side produced. */
export interface Outcome {
  steps: Step[];
  /** Final contents (hex) by file name; null: no such file. */
  files: Record<string, string | null>;
}

/** The fdkeeper outcome. */
export interface FdkeeperOutcome extends Outcome {
  /** A descriptor below the sequence's base was closed by something else while it ran (see runFdkeeper). */
  interfered: boolean;
}

export const OS_FLAG_BITS: Readonly<Record<string, number>> = {
  r: O.RDONLY,
  'r+': O.RDWR,
  w: O.WRONLY | O.CREAT | O.TRUNC,
  'w+': O.RDWR | O.CREAT | O.TRUNC,
  a: O.WRONLY | O.CREAT | O.APPEND,
  'a+': O.RDWR | O.CREAT | O.APPEND,
  x: O.WRONLY | O.CREAT | O.EXCL,
  'x+': O.RDWR | O.CREAT | O.EXCL,
  'r-append': O.RDONLY | O.APPEND,
};

/** An op on a handle whose open failed: both sides skip it. */
class NoHandle extends Error {}

function codeOf(e: unknown): string {
  if (e instanceof NoHandle) return 'NOHANDLE';
  if (e instanceof FsError) return e.code;
  return e instanceof Error ? e.constructor.name : typeof e;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** How many consecutive free numbers a sequence needs above its base (it makes at most ~45 descriptors). */
const WINDOW = 64;

/**
 * Finds the lowest number with {@link WINDOW} free numbers from it on (the base) and fills every free
 * number below it, so that the sequence's numbers are base, base+1, … without holes, as in the runner.
 * Returns the base and the plugs to close afterwards.
 */
export function plugDescriptors(): { base: number; plugs: number[] } {
  const used = new Set(fs.readdirSync('/proc/self/fd').map(Number));
  let base = 0;
  for (let n = 0; n < base + WINDOW; n++) if (used.has(n)) base = n + 1;
  const plugs: number[] = [];
  for (;;) {
    const fd = fs.openSync('/dev/null', 'r');
    if (fd >= base) {
      fs.closeSync(fd);
      return { base, plugs };
    }
    plugs.push(fd);
  }
}

/** Runs `seq` in `dir` (which must exist and be empty). */
export async function runFdkeeper(seq: Sequence, dir: string): Promise<FdkeeperOutcome> {
  for (const [name, data] of Object.entries(seq.init)) fs.writeFileSync(join(dir, name), Buffer.from(data, 'hex'));
  const table = new FileTable({ openSites: 'never' });
  let out: Omit<FdkeeperOutcome, 'files' | 'interfered'>;
  let interfered = false;
  if (seq.level === 'os') {
    const { base, plugs } = plugDescriptors();
    try {
      out = await runOs(seq, dir, table, base);
      // Something else in this process closed a descriptor below the base while the sequence ran (a
      // number this sequence could then be given): its numbers are not comparable. The caller reruns it.
      const open = new Set(fs.readdirSync('/proc/self/fd').map(Number));
      for (let n = 0; n < base; n++) if (!open.has(n)) interfered = true;
    } finally {
      for (const p of plugs) fs.closeSync(p);
    }
  } else {
    out = await runIo(seq, dir, table);
  }
  const files: Record<string, string | null> = {};
  for (const d of table.descriptors()) {
    try {
      d.closeSync();
    } catch (e) {
      // CPython closes what a sequence left open without a word: a failure here is a divergence.
      files['(closing what was left open)'] = codeOf(e);
    }
  }
  for (const name of seq.files) {
    try {
      files[name] = fs.readFileSync(join(dir, name)).toString('hex');
    } catch {
      files[name] = null;
    }
  }
  return { ...out, files, interfered };
}

async function runOs(
  seq: Sequence,
  dir: string,
  table: FileTable,
  base: number,
): Promise<Omit<FdkeeperOutcome, 'files' | 'interfered'>> {
  const fds: number[] = [];
  const steps: Step[] = [];
  const p = seq.api === 'promise';
  const fd = (h: number): number => fds[h] as number;
  for (const op of seq.ops) {
    try {
      steps.push({ v: await osOp(op) });
    } catch (e) {
      steps.push({ e: codeOf(e) });
    }
  }
  return { steps };

  async function made(n: () => number | Promise<number>): Promise<number> {
    try {
      const got = await n();
      fds.push(got);
      return got - base;
    } catch (e) {
      fds.push(-1);
      throw e;
    }
  }

  async function osOp(op: Op): Promise<unknown> {
    switch (op[0]) {
      case 'open': {
        const path = join(dir, op[1]);
        const flags = OS_FLAG_BITS[op[2]] as number;
        return made(() => (p ? table.open(path, flags, 0o666) : table.openSync(path, flags, 0o666)));
      }
      case 'close':
        return p ? table.close(fd(op[1])).then(() => null) : (table.closeSync(fd(op[1])), null);
      case 'read':
      case 'pread': {
        const buf = Buffer.alloc(op[2]);
        const pos = op[0] === 'pread' ? op[3] : null;
        const n = p ? await table.read(fd(op[1]), buf, 0, op[2], pos) : table.readSync(fd(op[1]), buf, 0, op[2], pos);
        return hex(buf.subarray(0, n));
      }
      case 'write':
      case 'pwrite': {
        const data = Buffer.from(op[2], 'hex');
        const pos = op[0] === 'pwrite' ? op[3] : null;
        return p
          ? table.write(fd(op[1]), data, 0, data.length, pos)
          : table.writeSync(fd(op[1]), data, 0, data.length, pos);
      }
      case 'lseek':
        return table.seekSync(fd(op[1]), op[2], op[3]);
      case 'ftruncate':
        return p ? table.ftruncate(fd(op[1]), op[2]).then(() => null) : (table.ftruncateSync(fd(op[1]), op[2]), null);
      case 'fstat':
        return (p ? await table.fstat(fd(op[1])) : table.fstatSync(fd(op[1]))).size;
      case 'dup':
        return made(() => table.dup(fd(op[1])));
      case 'dup2': {
        const target = 'h' in op[2] ? fd(op[2].h) : base + op[2].rel;
        return made(() => table.dup2(fd(op[1]), target));
      }
      default:
        throw new Error(`not an os op: ${op[0]}`);
    }
  }
}

async function runIo(
  seq: Sequence,
  dir: string,
  table: FileTable,
): Promise<Omit<FdkeeperOutcome, 'files' | 'interfered'>> {
  const files: (AnyFile | undefined)[] = [];
  const steps: Step[] = [];
  const p = seq.api === 'promise';
  for (const op of seq.ops) {
    try {
      steps.push({ v: await ioOp(op) });
    } catch (e) {
      steps.push({ e: codeOf(e) });
    }
  }
  for (const f of files) {
    try {
      f?.closeSync();
    } catch {
      // compared through the sequence's own close ops
    }
  }
  return { steps };

  function file(h: number): AnyFile | undefined {
    return files[h];
  }

  async function ioOp(op: Op): Promise<unknown> {
    if (op[0] === 'ioopen') {
      const [, name, mode, o] = op;
      const options: OpenOptions = { table };
      if (o.buffering !== undefined) options.buffering = o.buffering;
      if (o.encoding !== undefined) options.encoding = o.encoding;
      if (o.errors !== undefined) options.errors = o.errors;
      if (o.newline !== undefined) options.newline = o.newline;
      try {
        files.push(p ? await open(join(dir, name), mode, options) : openSync(join(dir, name), mode, options));
      } catch (e) {
        files.push(undefined);
        throw e;
      }
      return null;
    }
    const f = file(op[1] as number);
    if (f === undefined) throw new NoHandle();
    const bin = (b: Buffer | string): unknown => (typeof b === 'string' ? b : hex(b));
    switch (op[0]) {
      case 'read':
        return bin(p ? await f.read(op[2]) : f.readSync(op[2]));
      case 'readline':
        return bin(p ? await f.readline(op[2]) : f.readlineSync(op[2]));
      case 'write': {
        if (f instanceof TextFile) return p ? f.write(op[2]) : f.writeSync(op[2]);
        const data = Buffer.from(op[2], 'hex');
        return p ? f.write(data) : f.writeSync(data);
      }
      case 'seek': {
        const [, , off, whence] = op;
        if (f instanceof RawFile) return f.seek(off, whence as Whence);
        return p ? f.seek(off, whence as Whence) : f.seekSync(off, whence as Whence);
      }
      case 'tell':
        return f.tell();
      case 'seektell': {
        const at = f.tell();
        if (f instanceof RawFile) return f.seek(at, 0);
        return p ? f.seek(at, 0) : f.seekSync(at, 0);
      }
      case 'truncate': {
        const size = op[2] ?? undefined;
        return p ? f.truncate(size) : f.truncateSync(size);
      }
      case 'flush':
        return p ? f.flush().then(() => null) : (f.flushSync(), null);
      case 'close':
        return p ? f.close().then(() => null) : (f.closeSync(), null);
      default:
        throw new Error(`not an io op: ${op[0]}`);
    }
  }
}
