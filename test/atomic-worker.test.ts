/**
 * Replace workers (src/atomic/worker-pool.ts): atomic writes on the OS backend run whole on a worker
 * thread once one is online. What is checked here is what the worker path must share with the main
 * thread's path — content, mode, owner, errors, abort, no temp left — and what is its own: when it is
 * taken, what it hands back (symlinks, missing directories), and when workers start and stop.
 * test/atomic-on-workers.test.ts runs the whole atomic suites again with workers forced on.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../src/atomic/atomic-write.js';
import { cleanupTemps } from '../src/atomic/cleanup-temps.js';
import {
  crashWorkers,
  setWorkerPolicy,
  stopWorkers,
  workerCount,
  workersReady,
  workerStats,
  type WorkerPolicy,
} from '../src/atomic/worker-pool.js';
import { processUmask } from '../src/atomic/identity.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { FsError } from '../src/errors/fs-error.js';
import { freshDirs, leftovers } from './support/atomic-harness.js';

const freshDir = freshDirs('fdkeeper-worker-');
let saved: WorkerPolicy;
before(() => {
  saved = setWorkerPolicy({ max: 4, startAfter: 0, idleMs: 60_000 });
});
after(async () => {
  setWorkerPolicy(saved);
  await stopWorkers();
});
/** Runs `fn` and returns how the worker stats moved meanwhile. */
async function counted(fn: () => Promise<unknown>): Promise<typeof workerStats> {
  const before = { ...workerStats };
  await fn();
  return {
    done: workerStats.done - before.done,
    failed: workerStats.failed - before.failed,
    aborted: workerStats.aborted - before.aborted,
    handBack: workerStats.handBack - before.handBack,
  };
}
async function errorOf(p: Promise<unknown>): Promise<FsError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof FsError, `an FsError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

test('once a worker is online, in-memory writes on the OS backend run on it; content and mode as on the main thread', async () => {
  assert.equal(await workersReady(), true);
  const dir = freshDir();
  const p = path.join(dir, 'a.conf');
  fs.writeFileSync(p, 'old');
  fs.chmodSync(p, 0o640);
  const moved = await counted(async () => {
    await atomicWrite(p, 'new content');
    await atomicWrite(path.join(dir, 'fresh'), Buffer.from([1, 2, 3]));
    await atomicWrite(path.join(dir, 'moded'), ['a', 'b', Buffer.from('c')], { mode: 0o600 });
    await atomicWrite(path.join(dir, 'empty'), '');
  });
  assert.deepEqual(moved, { done: 4, failed: 0, aborted: 0, handBack: 0 });
  assert.equal(fs.readFileSync(p, 'utf8'), 'new content');
  assert.equal(fs.statSync(p).mode & 0o7777, 0o640, 'the replaced file keeps its mode');
  const umask = processUmask();
  assert.equal(fs.statSync(path.join(dir, 'fresh')).mode & 0o7777, 0o666 & ~umask);
  assert.deepEqual([...fs.readFileSync(path.join(dir, 'fresh'))], [1, 2, 3]);
  assert.equal(fs.readFileSync(path.join(dir, 'moded'), 'utf8'), 'abc');
  assert.equal(fs.statSync(path.join(dir, 'moded')).mode & 0o7777, 0o600);
  assert.equal(fs.readFileSync(path.join(dir, 'empty'), 'utf8'), '');
  assert.deepEqual(leftovers(dir), []);
});

test(
  'as root the replaced file keeps its owner on the worker path too',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async () => {
    assert.equal(await workersReady(), true);
    const p = path.join(freshDir(), 'owned');
    fs.writeFileSync(p, 'old');
    fs.chownSync(p, 1234, 5678);
    const moved = await counted(() => atomicWrite(p, 'new'));
    assert.equal(moved.done, 1);
    const st = fs.statSync(p);
    assert.deepEqual([st.uid, st.gid], [1234, 5678]);
  },
);

test('a symlink, a missing directory with mkdir: handed back to the main thread, written as there', async () => {
  assert.equal(await workersReady(), true);
  const dir = freshDir();
  fs.writeFileSync(path.join(dir, 'real'), 'old');
  fs.symlinkSync('real', path.join(dir, 'link'));
  const moved = await counted(async () => {
    await atomicWrite(path.join(dir, 'link'), 'through the link');
    await atomicWrite(path.join(dir, 'sub', 'deeper', 'f'), 'made', { mkdir: true });
  });
  assert.equal(moved.handBack, 2);
  assert.equal(fs.readFileSync(path.join(dir, 'real'), 'utf8'), 'through the link');
  assert.ok(fs.lstatSync(path.join(dir, 'link')).isSymbolicLink());
  assert.equal(fs.readFileSync(path.join(dir, 'sub', 'deeper', 'f'), 'utf8'), 'made');
  assert.deepEqual(leftovers(dir), []);
});

test("errors on the worker path are the main thread's: same code, path and message; target untouched, no temp", async () => {
  assert.equal(await workersReady(), true);
  const dir = freshDir();
  fs.mkdirSync(path.join(dir, 'adir'));
  const cases = [path.join(dir, 'adir'), path.join(dir, 'missing', 'x'), path.join(dir, 'adir', 'x', 'y')];
  for (const target of cases) {
    const onWorker = await errorOf(atomicWrite(target, 'x'));
    setWorkerPolicy({ max: 0 });
    const onMain = await errorOf(atomicWrite(target, 'x'));
    setWorkerPolicy({ max: 4 });
    assert.equal(await workersReady(), true);
    assert.equal(onWorker.code, onMain.code, target);
    assert.equal(onWorker.syscall, onMain.syscall, target);
    assert.equal(onWorker.path, onMain.path, target);
    // The temp file's random name differs; the rest of the message does not.
    const noTemp = (m: string): string => m.replace(/'[^']*\.fdkeeper-tmp'/g, "'<temp>'");
    assert.equal(noTemp(onWorker.message), noTemp(onMain.message), target);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['adir']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'adir')), []);
});

test('an abort right after the call: ECANCELED from the worker, target untouched, no temp', async () => {
  assert.equal(await workersReady(), true);
  const dir = freshDir();
  const p = path.join(dir, 'f');
  fs.writeFileSync(p, 'old');
  const ac = new AbortController();
  const errors: FsError[] = [];
  const moved = await counted(async () => {
    const w = atomicWrite(p, Buffer.alloc(1 << 20, 7), { signal: ac.signal });
    ac.abort();
    errors.push(await errorOf(w));
  });
  assert.equal(moved.aborted, 1);
  assert.deepEqual(
    errors.map((e) => [e.code, e.path]),
    [['ECANCELED', p]],
  );
  assert.equal(fs.readFileSync(p, 'utf8'), 'old');
  assert.deepEqual(leftovers(dir), []);
});

test('1,000 concurrent writes to distinct files: several workers, every file exact, one batch shares a directory fsync', async () => {
  assert.equal(await workersReady(), true);
  const dir = freshDir();
  const bufs = Array.from({ length: 1000 }, (_, i) => Buffer.from(`file ${i} `.repeat(1 + (i % 50))));
  const moved = await counted(() => Promise.all(bufs.map((b, i) => atomicWrite(path.join(dir, `f${i}`), b))));
  assert.equal(moved.failed + moved.aborted + moved.handBack, 0);
  assert.ok(moved.done > 0, 'the worker path was taken');
  assert.ok(workerCount() >= 2, `workers were added under load (${workerCount()})`);
  for (let i = 0; i < bufs.length; i++) assert.deepEqual(fs.readFileSync(path.join(dir, `f${i}`)), bufs[i]);
  assert.deepEqual(leftovers(dir), []);
});

test('not for other backends, nor streamed data', async () => {
  assert.equal(await workersReady(), true);
  const mem = new MemoryBackend();
  const moved = await counted(async () => {
    await atomicWrite('/m', 'memory', { backend: mem });
    function* gen(): Generator<string> {
      yield 'str';
      yield 'eamed';
    }
    await atomicWrite(path.join(freshDir(), 's'), gen());
  });
  assert.deepEqual(moved, { done: 0, failed: 0, aborted: 0, handBack: 0 });
});

test('workers start only after `startAfter` writes, and stop after `idleMs` without one', async () => {
  await stopWorkers();
  setWorkerPolicy({ startAfter: 3, idleMs: 150 });
  try {
    const dir = freshDir();
    await atomicWrite(path.join(dir, 'a'), '1');
    await atomicWrite(path.join(dir, 'a'), '2');
    assert.equal(workerCount(), 0, 'two writes: no worker');
    await atomicWrite(path.join(dir, 'a'), '3');
    assert.equal(workerCount(), 1, 'the third starts one');
    const t0 = Date.now();
    while (workerCount() > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(workerCount(), 0, 'stopped when idle');
    assert.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), '3');
  } finally {
    setWorkerPolicy({ startAfter: 0, idleMs: 60_000 });
  }
});

// Last in this file: after it, workers stay off in this process.
test("a worker that dies: its writes in flight fail with EIO saying the outcome is unknown; later writes take the main thread's path", async () => {
  assert.equal(await workersReady(), true);
  const dir = freshDir();
  const big = Buffer.alloc(4 << 20, 1);
  const inFlight = Array.from({ length: 6 }, (_, i) =>
    atomicWrite(path.join(dir, `f${i}`), big).then(
      () => 'ok',
      (e: unknown) => e,
    ),
  );
  await crashWorkers();
  const outcomes = await Promise.all(inFlight);
  assert.ok(
    outcomes.some((o) => o !== 'ok'),
    'writes were in flight on the worker when it died',
  );
  for (const o of outcomes) {
    if (o === 'ok') continue;
    assert.ok(o instanceof FsError, String(o));
    assert.equal(o.code, 'EIO');
    assert.match(o.message, /replace worker thread stopped.*may or may not hold the new content/);
  }
  assert.equal(workerCount(), 0);
  assert.equal(await workersReady(), false, 'no worker starts again');
  const moved = await counted(() => atomicWrite(path.join(dir, 'after'), 'still works'));
  assert.deepEqual(moved, { done: 0, failed: 0, aborted: 0, handBack: 0 });
  assert.equal(fs.readFileSync(path.join(dir, 'after'), 'utf8'), 'still works');
  await cleanupTemps(dir, { olderThanMs: 0 });
  assert.deepEqual(leftovers(dir), []);
});
