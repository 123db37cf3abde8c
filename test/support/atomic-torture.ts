/**
 * The SIGKILL torture harness of test/atomic-torture.test.ts, on the real file system: writer children
 * (atomic-torture-writer.mjs) replace ONE target in a tight loop and are killed with SIGKILL at random
 * instants and respawned; reader children (atomic-torture-reader.mjs) read the target continuously and
 * validate every read. The children run the built library (dist/), so that a respawn costs a plain
 * Node start: {@link assertDistFresh} refuses a dist/ older than src/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanupTemps } from '../../src/atomic/cleanup-temps.js';
import type { Durability } from '../../src/atomic/types.js';
import { makeContent, validate } from './atomic-torture-content.mjs';

const WRITER = fileURLToPath(new URL('./atomic-torture-writer.mjs', import.meta.url));
const READER = fileURLToPath(new URL('./atomic-torture-reader.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The temp names of the spec: `.${base}.${pid36}-${12 hex}.fdkeeper-tmp`; group 1 is the writer's pid in base 36. */
export const TEMP_NAME = /^\..+\.([0-9a-z]+)-[0-9a-f]{12}\.fdkeeper-tmp$/;

/** What the readers report (atomic-torture-reader.mjs), summed over readers. */
export interface ReaderStats {
  reads: number;
  valid: number;
  changes: number;
  missingBeforeFirst: number;
  invalid: number;
  reasons: Record<string, number>;
  samples: { reason: string; length: number; head: string }[];
}

/** Options of {@link torture}. */
export interface TortureOptions {
  /**
   * atomicWrite (the library under test), fs.writeFileSync in place (the negative control), or a
   * hand-written temp + rename (a positive control of the harness itself; its temps are left).
   */
  readonly mode: 'atomic' | 'naive' | 'rename';
  /** Stop once this many writers were killed. */
  readonly kills: number;
  /** One writer slot per entry, with that durability (ignored by the naive writer). */
  readonly writers: readonly Durability[];
  /** Reader processes. */
  readonly readers: number;
  /** Give up after this long even if `kills` is not reached (the result then says so). */
  readonly maxMs: number;
  /** A writer is killed this many ms (uniformly random) after it reported ready. Default [5, 60]. */
  readonly killDelayMs?: readonly [number, number];
  /**
   * The readers' nice value (0–19). Default 15: they read in the CPU time the writers and their
   * respawns leave, so that the kill rate does not depend on how busy the readers keep the machine.
   */
  readonly readerNice?: number;
  /** Run cleanupTemps on the directory every this many kills while writers run (0: only at the end). Default 100. */
  readonly cleanupEvery?: number;
}

/** What {@link torture} saw. */
export interface TortureResult {
  readonly dir: string;
  readonly kills: number;
  readonly spawns: number;
  /** Writes that completed (the writers print one dot each). */
  readonly writes: number;
  /** Writers that exited other than by the parent's SIGKILL: their stderr. */
  readonly writerErrors: readonly string[];
  readonly readers: ReaderStats;
  readonly ms: number;
  /** Temps removed by the cleanups while writers ran. */
  readonly cleanedDuringRun: number;
  /** Removed names whose writer pid was not one the harness saw die (must be empty). */
  readonly cleanedLive: readonly string[];
  /** What the final cleanupTemps removed. */
  readonly cleanedAtEnd: readonly string[];
  /** Temps the final cleanup kept because their (dead) writer's pid is in use again; then removed by age. */
  readonly reusedPids: readonly string[];
  /** What is left in the directory besides the target, after the final cleanup. */
  readonly leftover: readonly string[];
  /** The final target's validation ('ok', or the reason it is invalid). */
  readonly target: string;
}

/** Throws when dist/ is missing or older than src/ (the children would run stale code). */
export function assertDistFresh(): void {
  const stale: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        // The build bundles every module into dist/index.js and its chunks (scripts/build.mjs), all written
        // after every source was read: dist/index.js older than a source means a stale build.
        const out = path.join(ROOT, 'dist', 'index.js');
        let built = 0;
        try {
          built = fs.statSync(out).mtimeMs;
        } catch {
          // missing
        }
        if (built < fs.statSync(path.join(ROOT, rel)).mtimeMs) stale.push(rel);
      }
    }
  };
  visit('src/atomic');
  visit('src/backend');
  visit('src/table');
  if (stale.length > 0)
    throw new Error(
      `dist/ is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? '…' : ''}: run \`npm run build\` first (the torture children run the built library)`,
    );
}

/** Whether a process with this pid exists (signal 0). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The environment of the children: no `--import tsx` (they are plain JavaScript and must start fast). */
function childEnv(): NodeJS.ProcessEnv {
  const nodeOptions = (process.env['NODE_OPTIONS'] ?? '').replace(/--import[= ]tsx\b/g, '').trim();
  return { ...process.env, NODE_OPTIONS: nodeOptions };
}

function emptyStats(): ReaderStats {
  return { reads: 0, valid: 0, changes: 0, missingBeforeFirst: 0, invalid: 0, reasons: {}, samples: [] };
}

/** Starts a reader; resolves its stats once `stop()` ended its stdin. */
function startReader(target: string, nice: number): { ready: Promise<void>; stop: () => Promise<ReaderStats> } {
  const child = spawn(process.execPath, [READER, target, String(nice)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv(),
  });
  let out = '';
  let err = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    if (out.startsWith('R')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<ReaderStats>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      markReady();
      const line = out.slice(1).trim();
      if (code !== 0 || line === '') reject(new Error(`reader exited with ${String(code)}: ${err}${out}`));
      else resolve(JSON.parse(line) as ReaderStats);
    });
  });
  return {
    ready,
    stop: () => {
      child.stdin.end();
      return exited;
    },
  };
}

/** Runs the torture; see the module comment. Creates a fresh temp directory (removed at the end unless something is wrong). */
export async function torture(options: TortureOptions): Promise<TortureResult> {
  const [minDelay, maxDelay] = options.killDelayMs ?? [5, 60];
  const cleanupEvery = options.cleanupEvery ?? 100;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-torture-'));
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, makeContent('initial', 1000));
  const start = Date.now();

  const readers = Array.from({ length: options.readers }, () => startReader(target, options.readerNice ?? 15));
  await Promise.all(readers.map((r) => r.ready));

  let kills = 0;
  let spawns = 0;
  let writes = 0;
  let done = false;
  const writerErrors: string[] = [];
  const live = new Set<ChildProcess>();
  const dead = new Set<number>();
  let cleanedDuringRun = 0;
  const cleanedLive: string[] = [];
  let cleaning: Promise<void> | undefined;

  const checkRemoved = (names: readonly string[]): void => {
    for (const name of names) {
      const m = TEMP_NAME.exec(name);
      const pid = m === null ? NaN : parseInt(m[1]!, 36);
      if (!dead.has(pid)) cleanedLive.push(name);
    }
  };
  const cleanup = (): void => {
    if (cleaning !== undefined || options.mode !== 'atomic') return;
    cleaning = cleanupTemps(dir).then(
      (removed) => {
        cleanedDuringRun += removed.length;
        checkRemoved(removed);
        cleaning = undefined;
      },
      (e: unknown) => {
        writerErrors.push(`cleanupTemps during the run: ${String(e)}`);
        cleaning = undefined;
      },
    );
  };

  /** Spawns one writer, kills it after it reported ready, resolves when it is gone. */
  const oneWriter = (slot: number, durability: Durability): Promise<void> =>
    new Promise((resolve) => {
      spawns++;
      // Every other writer runs its writes on a replace worker from the first one (src/atomic/worker-pool.ts).
      const env = spawns % 2 === 0 ? { ...childEnv(), FDKEEPER_TORTURE_WORKER: '1' } : childEnv();
      const child = spawn(
        process.execPath,
        [WRITER, target, options.mode, durability, `w${slot}.${spawns.toString(36)}`],
        { stdio: ['ignore', 'pipe', 'pipe'], env },
      );
      live.add(child);
      let err = '';
      let killedByUs = false;
      let timer: NodeJS.Timeout | undefined;
      const kill = (): void => {
        killedByUs = true;
        child.kill('SIGKILL');
      };
      child.stdout.setEncoding('latin1').on('data', (s: string) => {
        if (timer === undefined && s.startsWith('R')) {
          timer = setTimeout(kill, minDelay + Math.random() * (maxDelay - minDelay));
          s = s.slice(1);
        }
        writes += s.length;
      });
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      // Recorded at 'exit' (emitted as the child is reaped, before any other JS runs): from then on
      // cleanupTemps may see the pid dead.
      child.on('exit', () => {
        if (child.pid !== undefined) dead.add(child.pid);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        live.delete(child);
        if (signal === 'SIGKILL' && killedByUs) {
          kills++;
          if (cleanupEvery > 0 && kills % cleanupEvery === 0) cleanup();
        } else {
          writerErrors.push(`writer ${String(child.pid)} exited with ${String(code ?? signal)}: ${err.trim()}`);
        }
        resolve();
      });
    });

  const slot = async (index: number, durability: Durability): Promise<void> => {
    while (!done) {
      await oneWriter(index, durability);
      if (kills >= options.kills || Date.now() - start > options.maxMs || writerErrors.length >= 3) done = true;
    }
  };
  await Promise.all(options.writers.map((d, i) => slot(i, d)));
  for (const child of live) child.kill('SIGKILL');
  while (cleaning !== undefined) await cleaning;

  const stats = emptyStats();
  for (const r of readers) {
    const s = await r.stop();
    stats.reads += s.reads;
    stats.valid += s.valid;
    stats.changes += s.changes;
    stats.missingBeforeFirst += s.missingBeforeFirst;
    stats.invalid += s.invalid;
    for (const [k, v] of Object.entries(s.reasons)) stats.reasons[k] = (stats.reasons[k] ?? 0) + v;
    stats.samples.push(...s.samples.slice(0, 5 - stats.samples.length));
  }
  const ms = Date.now() - start;

  let cleanedAtEnd: string[] = [];
  const reusedPids: string[] = [];
  if (options.mode === 'atomic') {
    cleanedAtEnd = await cleanupTemps(dir);
    checkRemoved(cleanedAtEnd);
    // A killed writer's pid may belong to another live process by now (pid_max is often 32768, and a
    // stress run spawns tens of thousands): cleanupTemps rightly keeps such a temp, whose writer it
    // cannot show dead. Every writer is gone now, so those go by age (0) — and are counted.
    for (const name of fs.readdirSync(dir)) {
      const m = TEMP_NAME.exec(name);
      if (m !== null && dead.has(parseInt(m[1]!, 36)) && isAlive(parseInt(m[1]!, 36))) reusedPids.push(name);
    }
    if (reusedPids.length > 0) await cleanupTemps(dir, { olderThanMs: 0 });
  }
  const leftover = fs
    .readdirSync(dir)
    .filter((n) => n !== 'target' && !reusedPids.includes(n))
    .sort();
  let targetState: string;
  try {
    const v = validate(fs.readFileSync(target));
    targetState = v.ok ? 'ok' : v.reason;
  } catch (e) {
    targetState = String(e);
  }
  const clean = writerErrors.length === 0 && stats.invalid === 0 && leftover.length === 0 && targetState === 'ok';
  if (clean || options.mode !== 'atomic') fs.rmSync(dir, { recursive: true, force: true });
  return {
    dir,
    kills,
    spawns,
    writes,
    writerErrors,
    readers: stats,
    ms,
    cleanedDuringRun,
    cleanedLive,
    cleanedAtEnd,
    reusedPids,
    leftover,
    target: targetState,
  };
}
