/**
 * Syscalls per atomic write, for every contender of `bench/cases/atomic.ts`, counted with strace.
 *
 *   node --import tsx bench/atomic-syscalls.ts [--writes N] [--pattern seq,conc,distinct] [--only text,…] [--json FILE]
 *
 * Needs strace (`apt-get install -y strace`) and the built library (`npm run build`: the fdkeeper rows
 * import dist/, and are skipped while `atomicWrite` is not implemented).
 *
 * For each contender and pattern a child process runs under `strace -f -y` (all threads: the libuv
 * thread pool does the file syscalls). It loads only that contender's library (peers interfere: see
 * `peers` in cases/atomic.ts), warms up (20 writes, a 500 ms pause, 20 more: fdkeeper's replace worker
 * is then running; untimed and uncounted), then marks the
 * start of the measured region with a failing `access("/__fdkeeper_syscalls_begin__")`, does the writes,
 * and marks the end the same way. Only syscalls between the two markers are counted, so Node's
 * start-up, module loading and exit are not in the numbers. Patterns:
 * - `seq`: N sequential 1 KiB writes to one existing file (the number the issue quotes);
 * - `conc`: N concurrent calls (Promise.all) to one path (coalescing rows write far fewer files);
 * - `distinct`: N concurrent calls to N files in one directory (directory fsyncs shared or not).
 *
 * Columns: "fs" counts syscalls that touch files (open/openat, read/write/pwrite64 on files,
 * fsync/fdatasync, close, rename, unlink, stat family, fchmod/chmod, fchown/chown, readlink, mkdir, …);
 * "signal handlers" counts rt_sigaction, rt_sigprocmask and libuv's signal-lock pipe reads and writes
 * (write-file-atomic's signal-exit installs and removes handlers on 15 signals around every call);
 * "plumbing" counts the event loop's and thread pool's own (futex, epoll_*, reads and writes of libuv's
 * eventfd), and memory management (mmap, munmap, mprotect, madvise, brk: V8's heap and JIT); "all" is
 * their sum. Divided by N.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atomicWriters, fdkeeperUnavailable, makeBuf, peerVersion, type AtomicWriter } from './cases/atomic.js';
import { markdownTable } from './harness.js';

const HERE = fileURLToPath(import.meta.url);
const BEGIN = '/__fdkeeper_syscalls_begin__';
const END = '/__fdkeeper_syscalls_end__';
type Pattern = 'seq' | 'conc' | 'distinct';
const PATTERNS: readonly Pattern[] = ['seq', 'conc', 'distinct'];

// ================================================================ the child: drive one contender

async function drive(name: string, pattern: Pattern, n: number, dir: string): Promise<void> {
  const w = atomicWriters().find((x) => x.name === name);
  if (w === undefined) throw new Error(`no contender named '${name}'`);
  await w.load(); // this row's library only (see peers in cases/atomic.ts)
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, 'target.bin');
  const bufs = [0, 1, 2, 3].map((i) => makeBuf(1024, 100 + i));
  const many = Array.from({ length: n }, (_, i) => makeBuf(512 + ((i * 37) % 1024), 5000 + i));
  const files = Array.from({ length: n }, (_, i) => path.join(dir, `file-${i}.bin`));
  // Warm-up: module-level state, lazily created helpers, the files themselves (replaced, not created).
  for (let i = 0; i < 20; i++) await w.write(target, bufs[i % 4]!);
  // fdkeeper starts a replace worker after 8 writes (src/atomic/worker-pool.ts): give it time to load,
  // then warm it up too, so that the measured writes are those of a process that writes often.
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 20; i++) await w.write(target, bufs[i % 4]!);
  if (pattern === 'distinct') await Promise.all(files.map((f, i) => w.write(f, many[i]!)));
  const mark = (m: string): void => {
    try {
      fs.accessSync(m);
    } catch {
      // expected: the marker does not exist, the failing access(2) is the mark
    }
  };
  mark(BEGIN);
  if (pattern === 'seq') {
    for (let i = 0; i < n; i++) await w.write(target, bufs[i % 4]!);
  } else if (pattern === 'conc') {
    await Promise.all(many.map((b) => w.write(target, b)));
  } else {
    await Promise.all(files.map((f, i) => w.write(f, many[(i + 1) % n]!)));
  }
  mark(END);
}

// ================================================================ the parent: trace and count

const PLUMBING = new Set([
  'futex',
  'epoll_wait',
  'epoll_pwait',
  'epoll_pwait2',
  'epoll_ctl',
  'mmap',
  'munmap',
  'mprotect',
  'madvise',
  'brk',
  'getpid',
  'gettid',
  'sched_yield',
  'clock_gettime',
  'clock_nanosleep',
  'nanosleep',
  'rseq',
  'membarrier',
]);
/** Installing and removing signal handlers (libuv takes a lock made of a pipe around each). */
const SIGNALS = new Set(['rt_sigaction', 'rt_sigprocmask']);
const SYNCS = new Set(['fsync', 'fdatasync', 'syncfs', 'sync_file_range']);

interface Counts {
  /** Per syscall name: how many calls between the markers (fs syscalls only). */
  fs: Record<string, number>;
  plumbing: number;
  signals: number;
  all: number;
}

/** Counts the syscalls between the two markers of an `strace -f -y -o` trace. */
function countTrace(file: string): Counts {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const counts: Counts = { fs: {}, plumbing: 0, signals: 0, all: 0 };
  let inside = false;
  let sawEnd = false;
  for (const line of lines) {
    if (line.includes(BEGIN)) {
      inside = true;
      continue;
    }
    if (line.includes(END)) {
      sawEnd = true;
      break;
    }
    if (!inside) continue;
    // "<pid> name(args…" starts a call; "<pid> <... name resumed>…" finishes one already counted.
    const m = /^\d+\s+([a-z0-9_]+)\((.*)$/.exec(line);
    if (m === null) continue;
    const name = m[1]!;
    const args = m[2]!;
    counts.all++;
    const rw = name === 'read' || name === 'write';
    if (SIGNALS.has(name) || (rw && /^\d+<pipe:/.test(args))) counts.signals++;
    else if (PLUMBING.has(name) || (rw && /^\d+<anon_inode:\[eventfd\]/.test(args))) counts.plumbing++;
    else counts.fs[name] = (counts.fs[name] ?? 0) + 1;
  }
  if (!inside || !sawEnd) throw new Error(`${file}: markers not found (did the child fail?)`);
  return counts;
}

interface Row {
  contender: string;
  pattern: Pattern;
  n: number;
  fsPerWrite: number;
  syncsPerWrite: number;
  renamesPerWrite: number;
  plumbingPerWrite: number;
  signalsPerWrite: number;
  allPerWrite: number;
  breakdown: Record<string, number>;
}

function trace(w: AtomicWriter, pattern: Pattern, n: number, work: string): Row {
  const out = path.join(work, 'trace.txt');
  const dir = path.join(work, 'files');
  fs.rmSync(dir, { recursive: true, force: true });
  const child = spawnSync(
    'strace',
    [
      '-f',
      '-y',
      '-qq',
      '-o',
      out,
      '--',
      process.execPath,
      ...process.execArgv,
      HERE,
      '--drive',
      w.name,
      pattern,
      String(n),
      dir,
    ],
    {
      cwd: path.dirname(path.dirname(HERE)), // the project root: where `--import tsx` resolves
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.status !== 0)
    throw new Error(`${w.name} ${pattern}: child exited with ${String(child.status)}\n${child.stderr}`);
  const c = countTrace(out);
  fs.rmSync(dir, { recursive: true, force: true });
  const fsTotal = Object.values(c.fs).reduce((a, b) => a + b, 0);
  const syncs = Object.entries(c.fs)
    .filter(([k]) => SYNCS.has(k))
    .reduce((a, [, v]) => a + v, 0);
  const per = (x: number): number => Math.round((x / n) * 100) / 100;
  const breakdown = Object.fromEntries(
    Object.entries(c.fs)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, per(v)]),
  );
  return {
    contender: w.name,
    pattern,
    n,
    fsPerWrite: per(fsTotal),
    syncsPerWrite: per(syncs),
    renamesPerWrite: per(c.fs['rename'] ?? 0),
    plumbingPerWrite: per(c.plumbing),
    signalsPerWrite: per(c.signals),
    allPerWrite: per(c.all),
    breakdown,
  };
}

function fmt(x: number): string {
  return x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--drive') {
    await drive(argv[1]!, argv[2] as Pattern, Number(argv[3]), argv[4]!);
    return;
  }
  let n = 200;
  let patterns: Pattern[] = [...PATTERNS];
  let only: string[] | undefined;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--writes') n = Number(v());
    else if (a === '--pattern')
      patterns = v()
        .split(',')
        .map((s) => s.trim() as Pattern);
    else if (a === '--only')
      only = v()
        .split(',')
        .map((s) => s.trim());
    else if (a === '--json') json = path.resolve(v());
    else
      throw new Error(
        `unknown argument '${a}'\nusage: node --import tsx bench/atomic-syscalls.ts [--writes N] [--pattern seq,conc,distinct] [--only text,…] [--json FILE]`,
      );
  }
  if (!Number.isInteger(n) || n < 1) throw new Error('--writes needs a positive integer');
  for (const p of patterns) if (!PATTERNS.includes(p)) throw new Error(`unknown pattern '${p}'`);
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
  } catch {
    console.error('strace is not installed (apt-get install -y strace); nothing to count.');
    process.exitCode = 2;
    return;
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-syscalls-'));
  try {
    const skipped = await fdkeeperUnavailable(work);
    if (skipped !== undefined) console.error(`fdkeeper rows skipped: atomicWrite threw "${skipped}"`);
    const writers = atomicWriters().filter(
      (w) => (skipped === undefined || !w.fdkeeper) && (only === undefined || only.some((o) => w.name.includes(o))),
    );
    const rows: Row[] = [];
    for (const pattern of patterns) {
      for (const w of writers) {
        process.stderr.write(`[syscalls] ${pattern} ${w.name} …\n`);
        rows.push(trace(w, pattern, n, work));
      }
    }
    console.log(`# Syscalls per atomic write (strace -f, ${n} calls per pattern, between markers)\n`);
    console.log(
      `peers: write-file-atomic ${peerVersion('write-file-atomic')}, atomically ${peerVersion('atomically')}, steno ${peerVersion('steno')}; Node ${process.version}; ${os.type()} ${os.release()}\n`,
    );
    const titles: Record<Pattern, string> = {
      seq: `sequential 1 KiB writes to one existing file (per write)`,
      conc: `${n} concurrent calls to one path (per call)`,
      distinct: `${n} concurrent calls to ${n} files in one directory (per call)`,
    };
    for (const pattern of patterns) {
      const rs = rows.filter((r) => r.pattern === pattern);
      console.log(`## ${titles[pattern]}\n`);
      console.log(
        markdownTable(
          [
            'contender',
            'fs',
            'fsync+fdatasync',
            'rename',
            'signal handlers',
            'plumbing',
            'all',
            'fs syscalls (per call)',
          ],
          rs.map((r) => [
            r.contender,
            fmt(r.fsPerWrite),
            fmt(r.syncsPerWrite),
            fmt(r.renamesPerWrite),
            fmt(r.signalsPerWrite),
            fmt(r.plumbingPerWrite),
            fmt(r.allPerWrite),
            Object.entries(r.breakdown)
              .filter(([, v]) => v >= 0.01)
              .map(([k, v]) => `${k} ${fmt(v)}`)
              .join(', '),
          ]),
          ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
        ),
      );
      console.log('');
    }
    if (json !== undefined) {
      fs.writeFileSync(json, JSON.stringify({ n, node: process.version, rows }, null, 2) + '\n');
      console.log(`rows written to ${json}`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
