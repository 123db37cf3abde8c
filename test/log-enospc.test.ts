/**
 * ENOSPC on a real file system (issue 5): a LogFile on a 1 MiB tmpfs (mounted here, as root) that a
 * filler file has almost filled writes lines until the disk is full. Required: one 'error' event (an
 * FsError ENOSPC naming the log's path), not one per write or retry; records kept within `maxKept` and the
 * rest dropped and counted exactly; once the filler is deleted, 'resume' and writing goes on. At the end
 * every line is either in the file, whole, once and in order, or counted in `dropped` — lines written =
 * lines in the file + lines dropped — and the dropped ones are one contiguous run (the newest at the time
 * memory ran out, as documented), reported by 'drop' events that add up to `dropped`.
 *
 * Skipped, with the reason, when not root or when mounting is not permitted (a container without
 * CAP_SYS_ADMIN). Every mount is undone in a hook that runs whatever happens.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError, openLog, type LogFile } from '../src/index.js';
import { Mounts, mountsUnder } from './support/atomic-harness.js';
import { formatLine, LINE_BYTES, scanLines } from './support/log-loss/line.mjs';

const isRoot = process.getuid?.() === 0;

interface Outcome {
  readonly written: number;
  readonly seqs: readonly number[];
  readonly tornBytes: number;
  readonly dropped: number;
  readonly dropEvents: number;
  readonly errors: readonly FsError[];
  readonly resumes: number;
  readonly failingWhileFull: boolean;
  readonly file: string;
}

/** Mounts a 1 MiB tmpfs in a fresh directory (undone in `t.after`); undefined (test skipped) when not possible. */
function tmpfsFor(t: TestContext): string | undefined {
  if (!isRoot) {
    t.skip('not root: cannot mount a tmpfs');
    return undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-log-enospc-'));
  const mnt = path.join(dir, 'tmpfs');
  fs.mkdirSync(mnt);
  const mounts = new Mounts();
  t.after(() => {
    try {
      mounts.cleanup();
      assert.deepEqual(mountsUnder(dir), [], `mounts left under ${dir}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  const why = mounts.tmpfs(mnt, '1m');
  if (why !== undefined) {
    t.skip(`mounting is not permitted here: ${why}`);
    return undefined;
  }
  return mnt;
}

/** Fills the file system at `mnt` with a filler file, then frees `room` bytes of it. */
function fill(mnt: string, room: number): string {
  const filler = path.join(mnt, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x66);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  // Keep writing smaller pieces: the last page or so.
  try {
    for (;;) fs.writeSync(fd, chunk, 0, 512);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  fs.ftruncateSync(fd, Math.max(0, fs.fstatSync(fd).size - room));
  fs.closeSync(fd);
  return filler;
}

/** Resolves on the log's next 'resume', or rejects after `ms`. */
function resumed(log: LogFile, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no 'resume' within ${ms} ms after space was freed`));
    }, ms);
    log.once('resume', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Writes lines until the tmpfs is full ('error'), `whileFull` more lines while it stays full (with
 * pauses, so that retries run and fail), deletes the filler, waits for 'resume', writes `after` more
 * lines and closes.
 */
async function fillUpAndFree(
  mnt: string,
  options: { maxKept?: number; whileFull: number; after: number },
): Promise<Outcome> {
  const filler = fill(mnt, 32 * 1024);
  const file = path.join(mnt, 'app.log');
  const log = openLog(file, {
    bufferSize: 4096,
    flushInterval: 10,
    retryInterval: 20,
    ...(options.maxKept !== undefined ? { maxKept: options.maxKept } : {}),
  });
  const errors: FsError[] = [];
  let dropEvents = 0;
  let resumes = 0;
  log.on('error', (e) => errors.push(e));
  log.on('drop', (d) => (dropEvents += d.records));
  log.on('resume', () => resumes++);
  let seq = 0;
  try {
    while (errors.length === 0) {
      if (seq > 20_000) throw new Error(`no 'error' after ${seq} lines on a 1 MiB tmpfs`);
      log.write(formatLine(seq++, Date.now()));
      if (seq % 50 === 0) await sleep(1);
    }
    for (let i = 0; i < options.whileFull; i++) {
      log.write(formatLine(seq++, Date.now()));
      if (i % 50 === 0) await sleep(5);
    }
    // Several retries run and fail while the disk stays full.
    await sleep(150);
    const failingWhileFull = log.failing;
    const resume = resumed(log, 10_000);
    fs.unlinkSync(filler);
    await resume;
    for (let i = 0; i < options.after; i++) log.write(formatLine(seq++, Date.now()));
    await log.close();
    const seqs: number[] = [];
    const tornBytes = scanLines(fs.readFileSync(file), (s) => seqs.push(s));
    return { written: seq, seqs, tornBytes, dropped: log.dropped, dropEvents, errors, resumes, failingWhileFull, file };
  } finally {
    log.closeSync();
  }
}

function assertInOrderOnce(seqs: readonly number[]): void {
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i]! <= seqs[i - 1]!) assert.fail(`line #${seqs[i]!} follows #${seqs[i - 1]!}: out of order or duplicated`);
  }
}

function assertOneErrorEvent(o: Outcome): void {
  assert.equal(o.errors.length, 1, `one 'error' per failure episode, got ${o.errors.map((e) => e.code).join(', ')}`);
  const e = o.errors[0]!;
  assert.ok(e instanceof FsError);
  assert.equal(e.code, 'ENOSPC');
  assert.equal(o.failingWhileFull, true, 'the log is failing while the disk is full');
  assert.equal(o.resumes, 1);
}

test('a full 1 MiB tmpfs: one ENOSPC error, records beyond maxKept dropped and counted exactly, writing resumes once space is freed (root)', async (t) => {
  const mnt = tmpfsFor(t);
  if (mnt === undefined) return;
  // 8 KiB kept = 81 lines of 100 bytes; 600 more lines arrive while the disk is full.
  const o = await fillUpAndFree(mnt, { maxKept: 8 * 1024, whileFull: 600, after: 300 });
  t.diagnostic(`${o.written} lines written, ${o.seqs.length} in the file, ${o.dropped} dropped`);
  assertOneErrorEvent(o);
  assert.equal(o.tornBytes, 0, 'a line cut by the full disk must be completed on resume');
  assertInOrderOnce(o.seqs);
  assert.ok(o.dropped > 0, 'some lines must have been dropped (maxKept is small)');
  assert.equal(
    o.seqs.length + o.dropped,
    o.written,
    `lines written (${o.written}) = lines in the file (${o.seqs.length}) + lines dropped (${o.dropped})`,
  );
  assert.equal(o.dropEvents, o.dropped, "the 'drop' events add up to dropped");
  // The dropped lines are one run: the newest at the time the keep-queue was full.
  const present = new Set(o.seqs);
  const missing = Array.from({ length: o.written }, (_, i) => i).filter((s) => !present.has(s));
  assert.equal(missing.length, o.dropped);
  assert.equal(
    missing[missing.length - 1]! - missing[0]! + 1,
    missing.length,
    `the dropped lines are not one contiguous run: ${missing.slice(0, 5).join(',')}…`,
  );
  // What was kept (lines after the failure, up to maxKept) was written on resume: the gap starts after them.
  const lastBeforeGap = missing[0]! - 1;
  assert.ok(
    present.has(lastBeforeGap) && present.has(missing[missing.length - 1]! + 1),
    'lines on both sides of the gap are in the file',
  );
  assert.ok(o.seqs.length >= (8 * 1024) / LINE_BYTES, 'the kept lines were written');
});

test('a full 1 MiB tmpfs with room to keep everything: no line dropped, every line in the file once and in order (root)', async (t) => {
  const mnt = tmpfsFor(t);
  if (mnt === undefined) return;
  const o = await fillUpAndFree(mnt, { whileFull: 600, after: 300 });
  t.diagnostic(`${o.written} lines written, ${o.seqs.length} in the file, ${o.dropped} dropped`);
  assertOneErrorEvent(o);
  assert.equal(o.dropped, 0);
  assert.equal(o.dropEvents, 0);
  assert.equal(o.tornBytes, 0);
  assert.deepEqual(
    o.seqs,
    Array.from({ length: o.written }, (_, i) => i),
  );
});

test('the ENOSPC error names the log file: path and descriptor (root)', async (t) => {
  const mnt = tmpfsFor(t);
  if (mnt === undefined) return;
  fill(mnt, 0);
  const file = path.join(mnt, 'app.log');
  const log = openLog(file, { bufferSize: 4096, retryInterval: 20 });
  try {
    const error = new Promise<FsError>((resolve) => log.once('error', resolve));
    for (let seq = 0; seq < 100; seq++) log.write(formatLine(seq, Date.now()));
    log.flushSync();
    const e = await error;
    assert.equal(e.code, 'ENOSPC');
    assert.equal(e.syscall, 'write');
    assert.equal(typeof e.fd, 'number');
    assert.equal(e.path, file, `the error must say which file could not be written: ${e.message}`);
  } finally {
    log.closeSync();
  }
});
