/**
 * Atomic file writes: fdkeeper's `atomicWrite` against the npm libraries people use for the same job
 * (write-file-atomic, atomically, steno) and against bare node:fs doing the minimal syscalls itself.
 *
 * Rows are labelled by what they make durable before their promise resolves:
 * - `[durable: file+dir]` — the file is fsynced before the rename and the directory after it (survives
 *   a power loss): fdkeeper `'full'`, the bare durable baseline, and the two peers with a directory fsync
 *   added by hand after their write;
 * - `[file fsync only]` — the file is fsynced, the directory is not (a crash may bring back the old
 *   file, never a torn one): fdkeeper `'file'`, write-file-atomic and atomically with their defaults,
 *   the bare file-fsync baseline;
 * - `[no fsync]` — atomic against readers and process crashes only: fdkeeper `'none'`, steno, the bare
 *   non-durable baseline.
 * None of the JS peers fsyncs the directory (checked in their sources: docs/benchmarks.md, "Atomic
 * writes vs write-file-atomic, atomically, steno").
 *
 * Every sample is verified (untimed): the target holds exactly the last buffer written (sequential
 * groups), one of the buffers written by this sample (concurrent same-path group), or each file its own
 * buffer (distinct-files group); and the directory holds nothing but the targets (no temp file left).
 * Each sample writes buffers different from the previous sample's, so a sample that wrote nothing fails.
 *
 * `bench/atomic-syscalls.ts` reuses {@link atomicWriters} to count syscalls per write with strace.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { writeFile as AtomicallyWriteFile } from 'atomically';
import type { Writer as StenoWriter } from 'steno';
import { atomicWrite } from '../../dist/index.js';
import type { BenchCase, Contender, Group, Target } from '../harness.js';

// ================================================================ contenders

/** What a row makes durable before its promise resolves. */
export type DurabilityClass = 'file+dir' | 'file' | 'none';

/** One way of replacing a file's content atomically. */
export interface AtomicWriter {
  readonly name: string;
  /** Ratio column label when the row is a baseline. */
  readonly short?: string;
  readonly durability: DurabilityClass;
  /** An fdkeeper row (skipped while `atomicWrite` is not implemented). */
  readonly fdkeeper: boolean;
  /** Loads the library the row uses (call once before `write`). */
  load(): Promise<void>;
  write(target: string, data: Buffer): Promise<void>;
}

const TAG: Record<DurabilityClass, string> = {
  'file+dir': '[durable: file+dir]',
  file: '[file fsync only]',
  none: '[no fsync]',
};

export const FDK_FULL = `fdkeeper atomicWrite 'full' ${TAG['file+dir']}`;
export const FDK_FILE = `fdkeeper atomicWrite 'file' ${TAG.file}`;
export const FDK_NONE = `fdkeeper atomicWrite 'none' ${TAG.none}`;
export const WFA = `write-file-atomic ${TAG.file}`;
export const WFA_DIR = `write-file-atomic + dir fsync by hand ${TAG['file+dir']}`;
export const ATOMICALLY = `atomically ${TAG.file}`;
export const ATOMICALLY_DIR = `atomically + dir fsync by hand ${TAG['file+dir']}`;
export const STENO = `steno Writer ${TAG.none}`;
export const BARE = `bare syscalls: wx temp, fdatasync, rename, dir fsync ${TAG['file+dir']}`;
export const BARE_FILE = `bare syscalls, no dir fsync ${TAG.file}`;
export const BARE_NONE = `bare syscalls, no fsync ${TAG.none}`;

// ---------------------------------------------------------------- node:fs callbacks in a Promise

/** A node:fs callback call as a Promise: the thinnest promise form node:fs offers. */
function call<T>(run: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, value) => {
      if (err === null) resolve(value);
      else reject(err);
    });
  });
}

function done(run: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    run((err) => {
      if (err === null) resolve();
      else reject(err);
    });
  });
}

const raw = {
  open: (p: string, flags: string, mode: number): Promise<number> =>
    call<number>((cb) => {
      fs.open(p, flags, mode, cb);
    }),
  write: (fd: number, b: Buffer, off: number, len: number, pos: number): Promise<number> =>
    call<number>((cb) => {
      fs.write(fd, b, off, len, pos, cb);
    }),
  fdatasync: (fd: number): Promise<void> =>
    done((cb) => {
      fs.fdatasync(fd, cb);
    }),
  fsync: (fd: number): Promise<void> =>
    done((cb) => {
      fs.fsync(fd, cb);
    }),
  close: (fd: number): Promise<void> =>
    done((cb) => {
      fs.close(fd, cb);
    }),
  rename: (a: string, b: string): Promise<void> =>
    done((cb) => {
      fs.rename(a, b, cb);
    }),
  unlink: (p: string): Promise<void> =>
    done((cb) => {
      fs.unlink(p, cb);
    }),
};

/** open(dir, O_RDONLY) + fsync + close: makes a rename in `dir` durable. */
async function fsyncDir(dir: string): Promise<void> {
  const fd = await raw.open(dir, 'r', 0);
  try {
    await raw.fsync(fd);
  } finally {
    await raw.close(fd);
  }
}

/**
 * The bare baseline: a unique temp in the target's directory created with 'wx' (O_CREAT|O_EXCL), a
 * write loop, fdatasync (unless `sync` is 'none'), close, rename over the target, then (for
 * 'file+dir') open the directory, fsync it, close it. On failure before the rename: close, unlink the
 * temp, rethrow.
 */
async function bareWrite(target: string, data: Buffer, sync: DurabilityClass): Promise<void> {
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = await raw.open(tmp, 'wx', 0o666);
  let open = true;
  try {
    let off = 0;
    while (off < data.length) {
      const n = await raw.write(fd, data, off, data.length - off, off);
      if (n <= 0) throw new Error(`write returned ${n} for ${tmp}`);
      off += n;
    }
    if (sync !== 'none') await raw.fdatasync(fd);
    open = false;
    await raw.close(fd);
    await raw.rename(tmp, target);
  } catch (e) {
    if (open) await raw.close(fd).catch(() => undefined);
    await raw.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (sync === 'file+dir') await fsyncDir(dir);
}

// ---------------------------------------------------------------- the peers

/** write-file-atomic ships no types; this is the part of its API used here. */
type WriteFileAtomic = (file: string, data: Uint8Array) => Promise<void>;

/**
 * The peers, loaded on demand (`AtomicWriter.load`): the syscall counter loads only the library it
 * traces, because they interfere. atomically's when-exit keeps listeners on the same 17 signal names
 * write-file-atomic's signal-exit uses (15 distinct signals on Linux) for good, which turns signal-exit's
 * per-call install and removal of them (~170 rt_sigaction, rt_sigprocmask and libuv signal-lock syscalls
 * per call when write-file-atomic is alone) into JS bookkeeping. The timing groups load all
 * three in one process, as an application using two of them would.
 */
const peers: { wfa?: WriteFileAtomic; atomically?: typeof AtomicallyWriteFile; Steno?: typeof StenoWriter } = {};
const requireHere = createRequire(import.meta.url);

async function loadPeer(which: 'wfa' | 'atomically' | 'steno'): Promise<void> {
  if (which === 'wfa') peers.wfa ??= requireHere('write-file-atomic') as WriteFileAtomic;
  else if (which === 'atomically') peers.atomically ??= (await import('atomically')).writeFile;
  else peers.Steno ??= (await import('steno')).Writer;
}

function wfa(p: string, b: Buffer): Promise<void> {
  return peers.wfa!(p, b);
}

function atomically(p: string, b: Buffer): Promise<void> {
  return peers.atomically!(p, b);
}

/** The installed version of a peer (for the table header). */
export function peerVersion(name: string): string {
  const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '?';
}

/**
 * Every contender, fresh (steno keeps one `Writer` per path, as lowdb does; each call of this function
 * starts a new map of them).
 */
export function atomicWriters(): AtomicWriter[] {
  const steno = new Map<string, StenoWriter>();
  const none = (): Promise<void> => Promise.resolve();
  const loadWfa = (): Promise<void> => loadPeer('wfa');
  const loadAtomically = (): Promise<void> => loadPeer('atomically');
  return [
    {
      name: BARE,
      short: 'bare durable',
      durability: 'file+dir',
      fdkeeper: false,
      load: none,
      write: (p, b) => bareWrite(p, b, 'file+dir'),
    },
    {
      name: FDK_FULL,
      durability: 'file+dir',
      fdkeeper: true,
      load: none,
      write: (p, b) => atomicWrite(p, b, { durability: 'full' }),
    },
    {
      name: WFA_DIR,
      durability: 'file+dir',
      fdkeeper: false,
      load: loadWfa,
      write: async (p, b) => {
        await wfa(p, b);
        await fsyncDir(path.dirname(p));
      },
    },
    {
      name: ATOMICALLY_DIR,
      durability: 'file+dir',
      fdkeeper: false,
      load: loadAtomically,
      write: async (p, b) => {
        await atomically(p, b);
        await fsyncDir(path.dirname(p));
      },
    },
    {
      name: BARE_FILE,
      short: 'bare file',
      durability: 'file',
      fdkeeper: false,
      load: none,
      write: (p, b) => bareWrite(p, b, 'file'),
    },
    {
      name: FDK_FILE,
      durability: 'file',
      fdkeeper: true,
      load: none,
      write: (p, b) => atomicWrite(p, b, { durability: 'file' }),
    },
    { name: WFA, short: 'w-f-a', durability: 'file', fdkeeper: false, load: loadWfa, write: wfa },
    {
      name: ATOMICALLY,
      short: 'atomically',
      durability: 'file',
      fdkeeper: false,
      load: loadAtomically,
      write: atomically,
    },
    {
      name: BARE_NONE,
      short: 'bare no-sync',
      durability: 'none',
      fdkeeper: false,
      load: none,
      write: (p, b) => bareWrite(p, b, 'none'),
    },
    {
      name: FDK_NONE,
      durability: 'none',
      fdkeeper: true,
      load: none,
      write: (p, b) => atomicWrite(p, b, { durability: 'none' }),
    },
    {
      name: STENO,
      short: 'steno',
      durability: 'none',
      fdkeeper: false,
      load: () => loadPeer('steno'),
      write: (p, b) => {
        let w = steno.get(p);
        if (w === undefined) steno.set(p, (w = new peers.Steno!(p)));
        return w.write(b);
      },
    },
  ];
}

/**
 * Whether fdkeeper's `atomicWrite` works in this build: undefined if it does, the error message if it
 * still throws "not implemented". Any other failure is rethrown (a broken implementation must not be
 * benchmarked silently).
 */
export async function fdkeeperUnavailable(dir: string): Promise<string | undefined> {
  const probeDir = path.join(dir, 'atomic-probe');
  fs.mkdirSync(probeDir, { recursive: true });
  const target = path.join(probeDir, 'probe.txt');
  try {
    await atomicWrite(target, 'probe\n', { durability: 'none' });
  } catch (e) {
    if (e instanceof Error && /not implemented/i.test(e.message)) return e.message;
    throw new Error(`fdkeeper atomicWrite probe failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    fs.rmSync(probeDir, { recursive: true, force: true });
  }
  return undefined;
}

// ================================================================ data and checks

/** Deterministic, distinct content per (size, seed); the first 4 bytes carry the seed. */
export function makeBuf(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = Math.imul(seed, 2654435761) >>> 0 || 1;
  for (let j = 0; j < size; j += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (j + 4 <= size) b.writeUInt32LE(x, j);
    else for (let k = j; k < size; k++) b[k] = (x >>> ((k - j) * 8)) & 0xff;
  }
  if (size >= 4) b.writeUInt32LE(seed >>> 0, 0);
  return b;
}

const TARGET = 'target.bin';

/** Names in `dir` other than `expected`: temp files a contender left behind. */
function leftovers(dir: string, expected: ReadonlySet<string>): string[] {
  return fs.readdirSync(dir).filter((e) => !expected.has(e));
}

function describeLeftovers(left: readonly string[]): string {
  return `${left.length} temp file(s) left: ${left.slice(0, 4).join(', ')}${left.length > 4 ? ', …' : ''}`;
}

function readOrNull(p: string): Buffer | null {
  try {
    return fs.readFileSync(p);
  } catch {
    return null;
  }
}

/**
 * Flushes every dirty page (untimed, before each sample), so no contender's fsync pays for the previous
 * contender's unsynced writes (ext4 commits its journal for everyone).
 */
function flushAll(): void {
  execFileSync('sync');
}

function safeName(s: string): string {
  return s
    .replace(/\[.*\]/, '')
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** One contender's private directory, made in setup and removed in teardown. */
function privateDir(
  root: string,
  groupId: string,
  w: AtomicWriter,
): { dir: string; setup: () => void; teardown: () => void } {
  const dir = path.join(root, 'atomic', groupId, safeName(w.name));
  return {
    dir,
    setup: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
    },
    teardown: () => {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls `write` for every item at once; returns how many calls resolved, remembering the first failure. */
async function allAtOnce<T>(
  items: readonly T[],
  n: number,
  write: (item: T, i: number) => Promise<void>,
  failed: { error: unknown },
): Promise<number> {
  const calls: Promise<void>[] = [];
  for (let i = 0; i < n; i++) calls.push(write(items[i]!, i));
  const settled = await Promise.allSettled(calls);
  let ok = 0;
  for (const s of settled) {
    if (s.status === 'fulfilled') ok++;
    else failed.error ??= s.reason;
  }
  return ok;
}

function errorText(e: unknown): string {
  if (e === undefined) return '';
  const code = (e as { code?: unknown }).code;
  return `first failure: ${typeof code === 'string' ? `${code} ` : ''}${e instanceof Error ? e.message : inspect(e)}`;
}

// ================================================================ contender shapes

/** n sequential writes to one path, cycling through 4 buffers; each sample starts one buffer further on. */
function sequential(root: string, groupId: string, w: AtomicWriter, bufs: readonly Buffer[]): Contender {
  const d = privateDir(root, groupId, w);
  const target = path.join(d.dir, TARGET);
  const only = new Set([TARGET]);
  let sample = 0;
  return {
    name: w.name,
    ...(w.short === undefined ? {} : { short: w.short }),
    setup: d.setup,
    beforeSample() {
      sample++;
      flushAll();
    },
    async run(n) {
      for (let i = 0; i < n; i++) await w.write(target, bufs[(sample + i) % bufs.length]!);
      return n;
    },
    check(n) {
      const want = bufs[(sample + n - 1) % bufs.length]!;
      const got = readOrNull(target);
      const problems: string[] = [];
      if (got === null) problems.push(`${TARGET} missing`);
      else if (!got.equals(want))
        problems.push(
          `${TARGET} (${got.length} bytes, seed ${got.length >= 4 ? got.readUInt32LE(0) : '?'}) is not the last buffer written (seed ${want.readUInt32LE(0)})`,
        );
      const left = leftovers(d.dir, only);
      if (left.length > 0) problems.push(describeLeftovers(left));
      return problems.length === 0 ? undefined : problems.join('; ');
    },
    teardown: d.teardown,
  };
}

/** Tally of the concurrent same-path group: in how many samples the file ended with the last call's data. */
interface LastWins {
  last: number;
  samples: number;
}

/** n concurrent writes (Promise.all) of distinct buffers to one path; two buffer sets, alternating per sample. */
function concurrentSamePath(
  root: string,
  groupId: string,
  w: AtomicWriter,
  sets: readonly (readonly Buffer[])[],
  tally: LastWins,
): Contender {
  const d = privateDir(root, groupId, w);
  const target = path.join(d.dir, TARGET);
  const only = new Set([TARGET]);
  let sample = 0;
  const failed: { error: unknown } = { error: undefined };
  const set = (): readonly Buffer[] => sets[sample % sets.length]!;
  return {
    name: w.name,
    ...(w.short === undefined ? {} : { short: w.short }),
    setup: d.setup,
    beforeSample() {
      sample++;
      failed.error = undefined;
      flushAll();
    },
    run(n) {
      return allAtOnce(set(), n, (b) => w.write(target, b), failed);
    },
    check(n) {
      const bufs = set().slice(0, n);
      const got = readOrNull(target);
      const problems: string[] = [];
      if (failed.error !== undefined) problems.push(errorText(failed.error));
      if (got === null) problems.push(`${TARGET} missing`);
      else {
        const seed = got.length >= 4 ? got.readUInt32LE(0) : -1;
        const match = bufs.find((b) => b.readUInt32LE(0) === seed);
        if (match === undefined || !match.equals(got))
          problems.push(
            `${TARGET} (${got.length} bytes, seed ${seed}) matches none of the ${n} buffers written by this sample`,
          );
        else {
          tally.samples++;
          if (match === bufs[n - 1]) tally.last++;
        }
      }
      const left = leftovers(d.dir, only);
      if (left.length > 0) problems.push(describeLeftovers(left));
      return problems.length === 0 ? undefined : problems.join('; ');
    },
    teardown: d.teardown,
  };
}

/** n concurrent writes, each to its own file in one directory; two buffer sets, alternating per sample. */
function concurrentDistinct(
  root: string,
  groupId: string,
  w: AtomicWriter,
  sets: readonly (readonly Buffer[])[],
  names: readonly string[],
): Contender {
  const d = privateDir(root, groupId, w);
  const paths = names.map((f) => path.join(d.dir, f));
  let sample = 0;
  const failed: { error: unknown } = { error: undefined };
  const set = (): readonly Buffer[] => sets[sample % sets.length]!;
  return {
    name: w.name,
    ...(w.short === undefined ? {} : { short: w.short }),
    setup: d.setup,
    beforeSample() {
      sample++;
      failed.error = undefined;
      flushAll();
    },
    run(n) {
      return allAtOnce(paths, n, (p, i) => w.write(p, set()[i]!), failed);
    },
    check(n) {
      const bufs = set();
      const problems: string[] = [];
      if (failed.error !== undefined) problems.push(errorText(failed.error));
      let bad = 0;
      let firstBad = '';
      for (let i = 0; i < n; i++) {
        const got = readOrNull(paths[i]!);
        if (got === null || !got.equals(bufs[i]!)) {
          if (bad++ === 0)
            firstBad = `${names[i]!} ${got === null ? 'missing' : `has ${got.length} bytes, seed ${got.length >= 4 ? got.readUInt32LE(0) : '?'}`}`;
        }
      }
      if (bad > 0) problems.push(`${bad} of ${n} files do not hold their buffer (first: ${firstBad})`);
      const left = leftovers(d.dir, new Set(names.slice(0, n)));
      if (left.length > 0) problems.push(describeLeftovers(left));
      return problems.length === 0 ? undefined : problems.join('; ');
    },
    teardown: d.teardown,
  };
}

// ================================================================ groups

const ISSUE = 'issue 4';

/** The fsync matrix, as a note under every table. */
const MATRIX_NOTE =
  "durability per row (from each library's source): write-file-atomic fsyncs the temp file (fsync, `fsync: true` default), never the directory; atomically fsyncs the temp file unless `fsync: false` (and waits for it unless `fsyncWait: false`), never the directory; steno never fsyncs; the \"+ dir fsync by hand\" rows add open(dir) + fsync + close after the peer's write resolves; fdkeeper 'full' fsyncs the file and the directory, 'file' only the file, 'none' nothing; the bare rows fdatasync the file.";

export const atomic: BenchCase = {
  name: 'atomic',
  groupIds: ['atomic-seq-1k', 'atomic-seq-1m', 'atomic-conc-same', 'atomic-distinct'],
  async groups(ctx) {
    const q = ctx.quick;
    const nSeq1k = q ? 300 : 2_000;
    const nSeq1m = q ? 30 : 200;
    const nConc = q ? 200 : 500;
    const nDistinct = q ? 200 : 1_000;

    const skipped = await fdkeeperUnavailable(ctx.dir);
    const versions = `write-file-atomic ${peerVersion('write-file-atomic')}, atomically ${peerVersion('atomically')}, steno ${peerVersion('steno')}`;
    const common: string[] = [];
    if (skipped !== undefined) {
      const msg = `fdkeeper rows SKIPPED: atomicWrite threw "${skipped}" (this dist/ build has no implementation yet); targets that name them are not evaluated.`;
      process.stderr.write(`[atomic] ${msg}\n`);
      common.unshift(msg);
    }
    /** The writers of one group (fresh steno map per group), without the fdkeeper rows while they cannot run. */
    const writers = (): AtomicWriter[] => atomicWriters().filter((w) => skipped === undefined || !w.fdkeeper);
    for (const w of writers()) await w.load();
    const names = new Set(writers().map((w) => w.name));
    const targets = (ts: readonly Target[]): Target[] => ts.filter((t) => names.has(t.contender));
    const baselines = [BARE, WFA, ATOMICALLY, STENO];

    const seqBufs1k = [0, 1, 2, 3].map((i) => makeBuf(1024, 1000 + i));
    const seqBufs1m = [0, 1, 2, 3].map((i) => makeBuf(1 << 20, 2000 + i));
    // Sizes vary (512..1535 bytes, mean ~1 KiB) so a torn or interleaved write cannot pass the check.
    const concSets = [3000, 7000].map((base) =>
      Array.from({ length: nConc }, (_, i) => makeBuf(512 + ((i * 37) % 1024), base + i)),
    );
    const distinctSets = [11000, 15000].map((base) =>
      Array.from({ length: nDistinct }, (_, i) => makeBuf(1024, base + i)),
    );
    const distinctNames = Array.from({ length: nDistinct }, (_, i) => `file-${String(i).padStart(4, '0')}.bin`);

    const seqTargets = (what: string): Target[] => [
      { contender: FDK_FULL, atLeast: 1.0, source: `${ISSUE}: 'full' ≥ bare durable baseline, ${what}` },
      { contender: FDK_FULL, vs: WFA, atLeast: 1.3, source: `${ISSUE}: 'full' ≥ 1.3× write-file-atomic, ${what}` },
    ];
    const sizes = q ? ' (--quick: smaller counts)' : '';

    const seq1k: Group = {
      id: 'atomic-seq-1k',
      title: `7a. atomic replace: ${nSeq1k.toLocaleString('en-US')} sequential 1 KiB writes to one path${sizes}`,
      about: `One op = one awaited atomic write of a 1 KiB buffer over the same existing file, ${nSeq1k.toLocaleString('en-US')} in a row per sample (cycling through 4 different buffers). After every sample the file must equal the last buffer written and its directory must hold nothing else. Every sample starts after a \`sync\` (untimed).`,
      kind: 'throughput',
      iterations: nSeq1k,
      baselines,
      expect: (n) => n,
      contenders: writers().map((w) => sequential(ctx.dir, 'atomic-seq-1k', w, seqBufs1k)),
      targets: targets(seqTargets('1 KiB sequential')),
      notes: [
        ...common,
        MATRIX_NOTE,
        `peers: ${versions}; libuv thread pool: ${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'} threads, shared by every row.`,
        'issue 4 measured on 2026-11-21 (1 KiB sequential, speed ÷ bare durable): write-file-atomic 0.92, atomically 1.18 (no dir fsync), steno 2.83 (no fsync).',
      ],
    };
    const seq1m: Group = {
      id: 'atomic-seq-1m',
      title: `7b. atomic replace: ${nSeq1m} sequential 1 MiB writes to one path${sizes}`,
      about: `As 7a with a 1 MiB buffer, ${nSeq1m} writes per sample; MB/s counts the bytes written.`,
      kind: 'throughput',
      bytesPerOp: 1 << 20,
      itemsPerOp: { count: 1, unit: 'writes' },
      iterations: nSeq1m,
      baselines,
      expect: (n) => n,
      contenders: writers().map((w) => sequential(ctx.dir, 'atomic-seq-1m', w, seqBufs1m)),
      targets: targets(seqTargets('1 MiB sequential')),
      notes: [...common],
    };

    const concTally = new Map<string, LastWins>();
    const concNotes = [...common];
    const conc: Group = {
      id: 'atomic-conc-same',
      title: `7c. ${nConc} concurrent atomic writes (Promise.all) of distinct ~1 KiB buffers to one path${sizes}`,
      about: `One op = one call; a sample starts ${nConc} calls at once (buffers of 512–1535 bytes, all different) and awaits them all. Calls/s counts resolved calls, not files written: fdkeeper and steno coalesce calls that arrive while a write is in progress (only the newest waiting data is written next), write-file-atomic and atomically queue them (one full write each), the bare rows run them all at once. After every sample the file must equal one of the sample's buffers and the directory must hold nothing else.`,
      kind: 'throughput',
      iterations: nConc,
      baselines,
      expect: (n) => n,
      contenders: writers().map((w) => {
        const tally = { last: 0, samples: 0 };
        concTally.set(w.name, tally);
        return concurrentSamePath(ctx.dir, 'atomic-conc-same', w, concSets, tally);
      }),
      targets: targets([
        { contender: FDK_FULL, vs: WFA, atLeast: 10, source: `${ISSUE}: ≥ 10× every fsyncing peer (coalescing)` },
        {
          contender: FDK_FULL,
          vs: ATOMICALLY,
          atLeast: 10,
          source: `${ISSUE}: ≥ 10× every fsyncing peer (coalescing)`,
        },
      ]),
      notes: concNotes,
      teardown() {
        const parts = [...concTally].map(([name, t]) => `${name.replace(/ \[.*\]$/, '')} ${t.last}/${t.samples}`);
        concNotes.push(
          `samples in which the file ended with the LAST call's data (the others ended with an earlier call's): ${parts.join('; ')}.`,
        );
      },
    };

    const distinct: Group = {
      id: 'atomic-distinct',
      title: `7d. ${nDistinct.toLocaleString('en-US')} concurrent atomic writes to distinct files in one directory${sizes}`,
      about: `One op = one call; a sample starts ${nDistinct.toLocaleString('en-US')} calls at once, each writing its own 1 KiB buffer to its own file (file-0000.bin…) in one directory, and awaits them all (the files exist from the second sample on: replaced, not created). After every sample every file must hold its buffer and the directory must hold nothing else.`,
      kind: 'throughput',
      iterations: nDistinct,
      baselines,
      expect: (n) => n,
      contenders: writers().map((w) => concurrentDistinct(ctx.dir, 'atomic-distinct', w, distinctSets, distinctNames)),
      targets: targets([
        {
          contender: FDK_FULL,
          atLeast: 1.5,
          source: `${ISSUE}: one directory fsync shared by renames that complete together`,
        },
      ]),
      notes: [...common],
    };
    return [seq1k, seq1m, conc, distinct];
  },
};
