/**
 * Replace workers: worker threads that run whole atomic writes off the main thread, for the OS backend.
 *
 * Why: on the promise path each protocol step is one job on libuv's thread pool (create, write,
 * fchmod, fsync, rename, the directory's fsync…), and each job costs a round trip between threads —
 * 50–70 µs on a small VM, more than the syscall itself. A replace worker runs the steps of a write as
 * synchronous calls, one after the other, and answers once: one round trip per write (per batch of
 * writes, under load), while the main thread's event loop never blocks on a journal commit. Writes
 * to one directory that a worker takes together share one directory fsync; several workers under load
 * keep several fsyncs in flight, which the file system's journal commits together.
 *
 * When: a process that makes few atomic writes never starts a worker (the first
 * {@link WorkerPolicy.startAfter} in-memory writes on the OS backend, and the writes made while the first
 * worker starts, take the thread-pool path). A write that finds every running worker full takes the
 * thread-pool path and starts one more, up to {@link WorkerPolicy.max}, and all are stopped after {@link
 * WorkerPolicy.idleMs} without a write; they
 * never keep the process alive when idle. `FDKEEPER_ATOMIC_THREADS=0` turns them off (`=N`: at most N).
 *
 * What stays on the main thread: coalescing (path-queue.ts), streamed data, other backends (the memory
 * backend, FaultyBackend), and whatever a worker hands back: a symlink to follow, a directory to create,
 * a taken temp name, data over {@link MAX_JOB_BYTES}.
 *
 * @module
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { workerThreads } from '../process/builtins.js';
import { OsBackend } from '../backend/os-backend.js';
import type { InMemory } from './data.js';
import { processUmask } from './identity.js';
import { addLive, deleteLive } from './live-temps.js';
import type { Settings } from './settings.js';
import { tempNameFor } from './temp-name.js';
import { atomicError } from './errors.js';
import { FLAG_ABORTED, FLAG_DATA_READY, toWire, type Job, type Reply } from './worker-wire.js';

/** When workers start, how many run, when they stop. */
export interface WorkerPolicy {
  /** Most workers at once (0: none, every write on the thread pool). Default 4 (`FDKEEPER_ATOMIC_THREADS`). */
  max: number;
  /** In-memory OS-backend writes made on the thread pool before the first worker starts. Default 8. */
  startAfter: number;
  /** Workers stop after this long without a write. Default 30,000 ms. */
  idleMs: number;
}

/** Data larger than this is written on the main thread's path (it would have to be copied). */
export const MAX_JOB_BYTES = 16 << 20;
const MIN_ARENA_BYTES = 256 << 10;
/** Jobs sent to one worker before its replies: it takes them as one batch. */
const PER_WORKER = 8;

function envMax(): number {
  const v = process.env.FDKEEPER_ATOMIC_THREADS;
  if (v === undefined || v === '') return 4;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : 4;
}

const policy: WorkerPolicy = { max: envMax(), startAfter: 8, idleMs: 30_000 };

interface Slot {
  readonly worker: Worker;
  online: boolean;
  readonly inflight: Map<number, Pending>;
}

interface Pending {
  readonly job: Job;
  readonly settle: (r: Reply) => void;
}

const slots: Slot[] = [];
let nextId = 1;
let writesSeen = 0;
/** Set when a worker failed to start or died: the thread-pool path from then on. */
let broken = false;
let idleTimer: NodeJS.Timeout | undefined;
let arena: SharedArrayBuffer | undefined;
let arenaUsed = 0;
let jobsOut = 0;

/**
 * Changes when workers start, how many and when they stop (tests; a `max` of 0 stops them). Returns the
 * policy in force before.
 *
 * @internal
 */
export function setWorkerPolicy(change: Partial<WorkerPolicy>): WorkerPolicy {
  const before = { ...policy };
  Object.assign(policy, change);
  if (policy.max === 0) void stopWorkers();
  return before;
}

/** How many replace workers are running (started or starting). @internal */
export function workerCount(): number {
  return slots.length;
}

/** Writes answered by workers since the process started, by outcome. @internal */
export const workerStats = { done: 0, failed: 0, aborted: 0, handBack: 0 };

/**
 * Resolves once a worker is online: starts one now if none is running (tests). False when workers are
 * off or broken.
 *
 * @internal
 */
export async function workersReady(): Promise<boolean> {
  if (policy.max === 0 || broken) return false;
  if (slots.length === 0) start();
  // `broken` and `slots` change while this waits (the worker's events): read them afresh each time.
  const state = (): { broken: boolean; count: number } => ({ broken, count: slots.length });
  while (!slots.some((x) => x.online)) {
    const now = state();
    if (now.broken || now.count === 0) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** Stops every worker now (their writes in flight are answered first). @internal */
export function stopWorkers(): Promise<void> {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = undefined;
  writesSeen = 0;
  if (jobsOut === 0) arena = undefined; // its memory goes with the workers
  const idle = slots.filter((s) => s.inflight.size === 0);
  for (const s of idle) slots.splice(slots.indexOf(s), 1);
  return Promise.all(idle.map((s) => s.worker.terminate())).then(() => undefined);
}

/**
 * Terminates every worker as if it had crashed (tests): their writes in flight fail with EIO, and no
 * worker starts again in this process.
 *
 * @internal
 */
export function crashWorkers(): Promise<void> {
  return Promise.all(slots.map((s) => s.worker.terminate())).then(() => undefined);
}

function workerUrl(): URL {
  // Run from the sources (tests, under tsx) this module is a .ts file, and worker threads do not get
  // tsx's loader: the worker is then the build's (scripts/run-tests.mjs builds first when it is stale).
  if (extname(fileURLToPath(import.meta.url)) === '.ts')
    return new URL('../../dist/lib/replace-worker.js', import.meta.url);
  return new URL('./replace-worker.js', import.meta.url);
}

function start(): void {
  let worker: Worker;
  try {
    worker = new (workerThreads().Worker)(workerUrl(), { stdout: false, stderr: false });
  } catch {
    broken = true;
    return;
  }
  worker.unref();
  const slot: Slot = { worker, online: false, inflight: new Map() };
  slots.push(slot);
  worker.on('message', (replies: Reply[] | 'ready') => {
    if (replies === 'ready') {
      // Its modules are loaded (Node's own 'online' event comes before that): it can take writes.
      slot.online = true;
      armIdleTimer();
      return;
    }
    for (const r of replies) {
      const p = slot.inflight.get(r.id);
      if (p === undefined) continue;
      slot.inflight.delete(r.id);
      finish(p, r);
    }
    if (slot.inflight.size === 0) worker.unref();
  });
  // An exit not asked for by stopWorkers (which takes the slot out first): a crash, or a failed start.
  // Its writes in flight are reported lost, and no worker is started again in this process.
  const died = (why: string): void => {
    const i = slots.indexOf(slot);
    if (i < 0) return;
    slots.splice(i, 1);
    broken = true;
    for (const p of slot.inflight.values()) finish(p, lost(p.job, why));
    slot.inflight.clear();
  };
  worker.on('error', (e: Error) => {
    died(e.message);
  });
  worker.on('exit', () => {
    died('exit');
  });
}

/** The reply for a write whose worker died under it: the target may or may not have been replaced. */
function lost(job: Job, why: string): Reply {
  const e = atomicError({
    code: 'EIO',
    syscall: 'write',
    path: job.path,
    detail: `the replace worker thread stopped (${why}); the target may or may not hold the new content; a temp file may be left (cleanupTemps removes it)`,
    target: 'unknown',
  });
  return { id: job.id, outcome: 'failed', renamed: true, error: toWire(e) };
}

function finish(p: Pending, r: Reply): void {
  jobsOut--;
  workerStats[r.outcome]++;
  deleteLive(p.job.temp);
  p.settle(r);
  if (jobsOut === 0) arenaUsed = 0;
  armIdleTimer();
}

/** With no write on a worker, the workers stop after `idleMs` unless one comes. */
function armIdleTimer(): void {
  if (jobsOut === 0 && idleTimer === undefined && slots.length > 0)
    idleTimer = setTimeout(onIdle, policy.idleMs).unref();
}

function onIdle(): void {
  idleTimer = undefined;
  if (jobsOut === 0) void stopWorkers();
}

/** The online worker with the fewest writes in flight, if one has room for another. */
function withRoom(): Slot | undefined {
  let best: Slot | undefined;
  for (const s of slots)
    if (s.online && s.inflight.size < PER_WORKER && (best === undefined || s.inflight.size < best.inflight.size))
      best = s;
  return best;
}

/** Data at least this large is copied after the job is posted, while the worker starts on it. */
const COPY_LATER_BYTES = 64 << 10;

/**
 * Room for `total` bytes in the shared arena. A bump allocator: when the arena is full, a fresh one of
 * the same size (larger if `total` needs it) takes over, and the old one is freed once the jobs using it
 * are done; the arena is reused from the start whenever no job is out.
 */
function reserve(total: number): { arena: SharedArrayBuffer; offset: number } {
  if (arena === undefined || arenaUsed + total > arena.byteLength) {
    let size = arena?.byteLength ?? MIN_ARENA_BYTES;
    while (size < total) size *= 2;
    arena = new SharedArrayBuffer(size);
    arenaUsed = 0;
  }
  const offset = arenaUsed;
  arenaUsed += total + (-total & 7);
  return { arena, offset };
}

function copyIn(data: InMemory, to: SharedArrayBuffer, offset: number): void {
  const view = new Uint8Array(to);
  let at = offset;
  for (const c of data.chunks) {
    view.set(c, at);
    at += c.byteLength;
  }
}

/** The job's flags ([0] aborted, [1] data ready), watching `signal` until `forget()`. */
function jobFlags(
  signal: AbortSignal | undefined,
  needed: boolean,
): { flags: SharedArrayBuffer | undefined; forget: () => void } {
  if (signal === undefined && !needed) return { flags: undefined, forget: () => undefined };
  const flags = new SharedArrayBuffer(8);
  if (signal === undefined) return { flags, forget: () => undefined };
  const onAbort = (): void => {
    Atomics.store(new Int32Array(flags), FLAG_ABORTED, 1);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return {
    flags,
    forget: () => {
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Runs the write of `data` to the absolute path `path` (up to and including the directory fsync, for
 * `'full'`) on a replace worker, or returns undefined when this write is for the main thread's path (not
 * the OS backend, no worker running yet, data too large). The promise never rejects: it resolves with
 * the worker's {@link Reply}, which may hand the write back.
 */
export function replaceOffThread(path: string, data: InMemory, s: Settings): Promise<Reply> | undefined {
  if (policy.max === 0 || broken || !OsBackend.isGenuine(s.backend)) return undefined;
  writesSeen++;
  if (slots.length === 0 && writesSeen >= policy.startAfter) start();
  // No worker with room (under load, or none online yet): this write takes the thread-pool path, so
  // that the pool's threads and the workers' keep fsyncs in flight together; one more worker starts.
  const slot = withRoom();
  if (slot === undefined) {
    if (slots.length > 0 && slots.length < policy.max && slots.every((x) => x.online)) start();
    return undefined;
  }
  let total = 0;
  for (const c of data.chunks) total += c.byteLength;
  if (total > MAX_JOB_BYTES) return undefined;
  const where = reserve(total);
  if (idleTimer !== undefined) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  const temp = tempNameFor(path);
  addLive(temp);
  const dataLater = total >= COPY_LATER_BYTES;
  if (!dataLater) copyIn(data, where.arena, where.offset);
  const { flags, forget } = jobFlags(s.signal, dataLater);
  const job: Job = {
    id: nextId++,
    path,
    temp,
    arena: where.arena,
    offset: where.offset,
    length: total,
    durability: s.durability,
    mode: s.mode,
    chown: s.chown,
    replaceSymlink: s.replaceSymlink,
    untrustedSymlink: s.untrustedSymlink,
    umask: process.platform === 'linux' ? undefined : processUmask(),
    flags,
    dataLater,
  };
  jobsOut++;
  const reply = new Promise<Reply>((resolve) => {
    const settle = (r: Reply): void => {
      forget();
      resolve(r);
    };
    if (slot.inflight.size === 0) slot.worker.ref();
    slot.inflight.set(job.id, { job, settle });
    slot.worker.postMessage(job);
  });
  if (dataLater && flags !== undefined) {
    // The worker does the lstat and the create meanwhile, and waits for this before its write.
    copyIn(data, where.arena, where.offset);
    const f = new Int32Array(flags);
    Atomics.store(f, FLAG_DATA_READY, 1);
    Atomics.notify(f, FLAG_DATA_READY);
  }
  return reply;
}
