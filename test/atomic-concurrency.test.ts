/**
 * In-process concurrency of atomicWrite: per-path coalescing and group-committed directory fsyncs.
 *
 * A fast-check property drives random batches of same-path calls (random sizes, random gaps between
 * the calls — none, a few microtasks, a timer — and mixed durabilities) through a logging FaultyBackend,
 * over the memory backend (many runs) and the OS (fewer runs): every promise settles and resolves, the
 * file ends with the last call's data, no temp file is left, every descriptor is closed, and the fsyncs
 * never outnumber the calls that asked for them. Then two fixed bursts on the OS show that coalescing
 * and group commit really happen. FDKEEPER_STRESS=1 runs ten times as many cases.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import { atomicWrite } from '../src/atomic/atomic-write.js';
import { isTempName } from '../src/atomic/temp-name.js';
import type { Durability } from '../src/atomic/types.js';
import type { Backend } from '../src/backend/backend.js';
import { FaultyBackend, type FaultCall } from '../src/backend/faulty-backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { settleWorkers } from './support/worker-mode.js';

settleWorkers();

const STRESS = process.env['FDKEEPER_STRESS'] !== undefined && process.env['FDKEEPER_STRESS'] !== '';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-atomic-conc-'));
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});
let serial = 0;
const osb = new OsBackend();

/** This process's open descriptors (Linux /proc/self/fd; elsewhere 0, and the checks pass trivially). */
function openFdCount(): number {
  return process.platform === 'linux' ? fs.readdirSync('/proc/self/fd').length : 0;
}

/** One call of a batch: how long to wait before making it, how much to write, how durably. */
interface CallSpec {
  readonly gap: { kind: 'none' } | { kind: 'micro'; n: number } | { kind: 'timer'; ms: number };
  readonly size: number;
  readonly durability: Durability;
}

const callSpec: fc.Arbitrary<CallSpec> = fc.record({
  gap: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 12 }).map((n) => ({ kind: 'micro' as const, n })) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }).map((ms) => ({ kind: 'timer' as const, ms })) },
  ),
  size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 65, max: 20_000 })),
  durability: fc.constantFrom<Durability>('full', 'file', 'none'),
});

/** Distinct content for call `i`: its index in the first bytes, then a pattern. */
function dataFor(i: number, size: number): Buffer {
  const b = Buffer.alloc(size, 97 + (i % 26));
  const tag = Buffer.from(`#${i}#`);
  tag.copy(b, 0, 0, Math.min(tag.length, size));
  return b;
}

async function gap(g: CallSpec['gap']): Promise<void> {
  if (g.kind === 'micro') for (let k = 0; k < g.n; k++) await Promise.resolve();
  else if (g.kind === 'timer') await delay(g.ms);
}

/** fsyncs of temp files, and of the directory `dir`. */
function fsyncCounts(calls: readonly FaultCall[], dir: string): { file: number; dir: number } {
  let file = 0;
  let dirs = 0;
  for (const c of calls) {
    if (c.syscall !== 'fsync' || c.path === undefined) continue;
    if (isTempName(path.basename(c.path))) file++;
    else if (c.path === dir) dirs++;
  }
  return { file, dir: dirs };
}

/** Runs one batch against `inner` in directory `dir` and checks every invariant. */
async function runBatch(
  inner: Backend,
  dir: string,
  specs: readonly CallSpec[],
  read: (p: string) => Buffer,
): Promise<void> {
  const f = new FaultyBackend(inner);
  const target = path.join(dir, 'target.bin');
  const fdsBefore = inner === osb ? openFdCount() : 0;
  const promises: Promise<void>[] = [];
  const datas: Buffer[] = [];
  for (const [i, spec] of specs.entries()) {
    await gap(spec.gap);
    const data = dataFor(i, spec.size);
    datas.push(data);
    promises.push(atomicWrite(target, data, { backend: f, durability: spec.durability }));
  }
  const settled = await Promise.allSettled(promises);
  for (const [i, s] of settled.entries())
    assert.equal(s.status, 'fulfilled', `call ${i}: ${s.status === 'rejected' ? String(s.reason) : ''}`);
  assert.ok(read(target).equals(datas[datas.length - 1]!), "the file ends with the last call's data");
  assert.deepEqual(
    inner.readdirSync(dir).filter((n) => isTempName(n)),
    [],
    'no temp file left',
  );
  // FaultyBackend counts by number, which concurrent OS calls can confuse (a number freed and taken
  // again before the close's completion runs): on the OS, ask the kernel instead.
  if (inner === osb) assert.ok(openFdCount() <= fdsBefore, 'every descriptor closed');
  else assert.deepEqual(f.openFds(), [], 'every descriptor closed');
  const renames = f.calls.filter((c) => c.syscall === 'rename').length;
  const { file, dir: dirSyncs } = fsyncCounts(f.calls, dir);
  const wantFile = specs.filter((s) => s.durability !== 'none').length;
  const wantFull = specs.filter((s) => s.durability === 'full').length;
  assert.ok(renames >= 1 && renames <= specs.length, `${renames} renames for ${specs.length} calls`);
  assert.ok(file <= wantFile, `${file} file fsyncs for ${wantFile} calls asking for one`);
  assert.ok(dirSyncs <= wantFull, `${dirSyncs} directory fsyncs for ${wantFull} 'full' calls`);
  assert.ok(file <= renames, 'a file fsync per write at most');
  if (wantFull > 0) assert.ok(dirSyncs >= 1, "a 'full' call got its directory fsync");
  if (wantFile > 0) assert.ok(file >= 1, 'a durable call got its file fsync');
}

test('property: concurrent same-path writes on the memory backend', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(callSpec, { minLength: 1, maxLength: 30 }), async (specs) => {
      const mem = new MemoryBackend();
      mem.mkdirSync('/d');
      await runBatch(mem, '/d', specs, (p) => Buffer.from(mem.tree({ encoding: 'latin1' })[p] as string, 'latin1'));
    }),
    { numRuns: STRESS ? 3000 : 300 },
  );
});

test('property: concurrent same-path writes on the OS', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(callSpec, { minLength: 1, maxLength: 20 }), async (specs) => {
      const dir = path.join(root, `p${++serial}`);
      fs.mkdirSync(dir);
      try {
        await runBatch(osb, dir, specs, (p) => fs.readFileSync(p));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: STRESS ? 300 : 40 },
  );
});

test('a burst of 50 concurrent calls to one path: strictly fewer file fsyncs than calls', async () => {
  for (const durability of ['full', 'file'] as const) {
    const dir = path.join(root, `burst-${durability}`);
    fs.mkdirSync(dir);
    const target = path.join(dir, 'burst.bin');
    fs.writeFileSync(target, 'old');
    const f = new FaultyBackend(osb);
    const datas = Array.from({ length: 50 }, (_, i) => dataFor(i, 1000 + i));
    await Promise.all(datas.map((d) => atomicWrite(target, d, { backend: f, durability })));
    assert.ok(fs.readFileSync(target).equals(datas[49]!));
    const { file, dir: dirSyncs } = fsyncCounts(f.calls, dir);
    assert.ok(file < 50, `${file} file fsyncs for 50 calls`);
    assert.ok(file <= 2, `the first call alone, then one write for the 49 others (${file})`);
    if (durability === 'full') assert.ok(dirSyncs >= 1 && dirSyncs < 50, `${dirSyncs} directory fsyncs`);
    else assert.equal(dirSyncs, 0);
  }
});

test('100 concurrent writes to distinct files in one directory: fewer directory fsyncs than writes', async () => {
  const dir = path.join(root, 'distinct');
  fs.mkdirSync(dir);
  const f = new FaultyBackend(osb);
  const fds = openFdCount();
  const names = Array.from({ length: 100 }, (_, i) => `file-${i}.bin`);
  await Promise.all(names.map((n, i) => atomicWrite(path.join(dir, n), dataFor(i, 512), { backend: f })));
  for (const [i, n] of names.entries()) assert.ok(fs.readFileSync(path.join(dir, n)).equals(dataFor(i, 512)), n);
  const { file, dir: dirSyncs } = fsyncCounts(f.calls, dir);
  assert.equal(file, 100, 'every distinct file is fsynced');
  assert.ok(dirSyncs >= 1 && dirSyncs < 100, `${dirSyncs} directory fsyncs for 100 renames`);
  assert.deepEqual(fs.readdirSync(dir).filter(isTempName), []);
  assert.ok(openFdCount() <= fds, 'every descriptor closed');
});

test('every promise of a distinct-files burst resolves only after a directory fsync that followed its rename', async () => {
  const dir = path.join(root, 'order');
  fs.mkdirSync(dir);
  const events: string[] = [];
  const f = new FaultyBackend(osb);
  const spy = Object.create(f, {
    rename: {
      value: async (a: string, b: string) => {
        await f.rename(a, b);
        events.push(`renamed ${path.basename(b)}`);
      },
    },
    fsync: {
      value: async (fd: number) => {
        const p = f.pathOf(fd);
        const start = events.length;
        await f.fsync(fd);
        if (p === dir) events.push(`dirsync-start@${start}`);
      },
    },
  }) as Backend;
  const names = Array.from({ length: 30 }, (_, i) => `f${i}`);
  await Promise.all(
    names.map((n) =>
      atomicWrite(path.join(dir, n), n, { backend: spy }).then(() => {
        events.push(`resolved ${n}`);
      }),
    ),
  );
  for (const n of names) {
    const renamedAt = events.indexOf(`renamed ${n}`);
    const resolvedAt = events.indexOf(`resolved ${n}`);
    assert.ok(renamedAt >= 0 && resolvedAt > renamedAt);
    // Some directory fsync started after the rename and finished before the promise resolved.
    const covering = events.slice(renamedAt, resolvedAt).some((e) => {
      const m = /^dirsync-start@(\d+)$/.exec(e);
      return m !== null && Number(m[1]) > renamedAt;
    });
    assert.ok(covering, `${n}: no directory fsync between its rename and its resolution`);
  }
});
