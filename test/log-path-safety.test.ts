/**
 * What may take a log's path, and what the log does then: a FIFO, a socket or a directory is refused
 * right after the open (the reopen used to open a FIFO read-write and stall the event loop on EAGAIN),
 * the path is re-checked while failing, and the log resumes once a regular file or nothing is there;
 * and in a sticky world-writable directory a symlink is followed only where the kernel's
 * protected_symlinks would follow it — tested with a second real user planting the links while root
 * logs, and the kernel protection off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { openLog, type LogFile } from '../src/log/log-file.js';
import { FileTable } from '../src/table/file-table.js';
import { O } from '../src/backend/flags.js';
import { writeFully } from '../src/log/write-fully.js';
import type { FsError } from '../src/errors/fs-error.js';
import { ATTACKER_SKIP, attacker, sharedStickyDir, withProtectedSymlinksOff } from './support/attacker.js';
import { tmpdir } from './support/log-fixture.js';

/** The longest gap between 10 ms ticks while it runs (the event loop's worst stall). */
function loopGaps(): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(worst, performance.now() - last);
    },
  };
}

/** Every `line <n>` in the files, counted. */
function counts(...files: string[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const f of files) {
    if (!fs.existsSync(f) || !fs.statSync(f).isFile()) continue;
    for (const x of fs.readFileSync(f, 'utf8').matchAll(/line (\d+)\n/g))
      m.set(Number(x[1]), (m.get(Number(x[1])) ?? 0) + 1);
  }
  return m;
}

function assertAllOnce(c: Map<number, number>, n: number, what: string): void {
  const missing = [];
  for (let i = 0; i < n; i++) if (c.get(i) !== 1) missing.push(`${i}×${c.get(i) ?? 0}`);
  assert.deepEqual(missing.slice(0, 10), [], `${what}: every line exactly once`);
}

const KINDS = ['FIFO', 'socket', 'directory'] as const;

for (const kind of KINDS) {
  test(
    `a ${kind} takes the path: refused, no event-loop gap over 250 ms, resumes within 2 s once a regular file is back, nothing lost`,
    { timeout: 60_000 },
    async (t) => {
      const dir = tmpdir(t);
      const p = path.join(dir, 'app.log');
      const log = openLog(p, { checkInterval: 50, exitFlush: false });
      t.after(() => {
        log.closeSync();
      });
      const errors: FsError[] = [];
      log.on('error', (e) => errors.push(e));
      let n = 0;
      const writer = setInterval(() => {
        for (let i = 0; i < 20; i++) log.write(`line ${n++}\n`);
      }, 5);
      let server: net.Server | undefined;
      try {
        await delay(100);
        const gaps = loopGaps();
        // The path is renamed away and something that is not a regular file takes it.
        fs.renameSync(p, `${p}.1`);
        if (kind === 'FIFO') assert.equal(spawnSync('mkfifo', [p]).status, 0);
        if (kind === 'directory') fs.mkdirSync(p);
        if (kind === 'socket') {
          const s = net.createServer();
          server = s;
          await new Promise<void>((resolve) => s.listen(p, resolve));
        }
        await delay(1500);
        assert.equal(log.failing, true, 'the log refuses the path');
        assert.ok(
          errors.length >= 1 && errors[0]!.path === p,
          `an error naming the path: ${errors.map((e) => e.message).join('; ')}`,
        );
        // A regular file comes back (an operator's fix).
        if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
        fs.rmSync(p, { recursive: true, force: true });
        fs.writeFileSync(`${p}.new`, '');
        fs.renameSync(`${p}.new`, p);
        const back = performance.now();
        const resumed = new Promise<number>((resolve) =>
          log.once('resume', () => {
            resolve(performance.now() - back);
          }),
        );
        const tookMs = await Promise.race([resumed, delay(5000).then(() => Infinity)]);
        await delay(200);
        const worst = gaps.stop();
        assert.ok(tookMs < 2000, `resumed ${tookMs.toFixed(0)} ms after the regular file came back`);
        assert.ok(worst < 250, `the longest event-loop gap was ${worst.toFixed(0)} ms`);
      } finally {
        clearInterval(writer);
        if (server?.listening === true) server.close();
      }
      log.closeSync();
      assertAllOnce(counts(`${p}.1`, p), n, kind);
    },
  );
}

test('control: writing into a FIFO nobody reads stalls the thread (what the reopen used to do)', (t) => {
  const p = path.join(tmpdir(t), 'fifo');
  assert.equal(spawnSync('mkfifo', [p]).status, 0);
  const table = new FileTable();
  const d = table.openDescriptorSync(p, O.RDWR | O.NONBLOCK, 0o666);
  try {
    const t0 = performance.now();
    const out = writeFully(d, Buffer.alloc(1 << 20, 0x61)); // more than a pipe holds
    const took = performance.now() - t0;
    assert.equal(out.error?.code, 'EAGAIN');
    assert.ok(took > 250, `blocked ${took.toFixed(0)} ms`);
  } finally {
    d.closeSync();
  }
});

test('openLog on a FIFO throws a clear FsError instead of writing into it', (t) => {
  const p = path.join(tmpdir(t), 'fifo');
  assert.equal(spawnSync('mkfifo', [p]).status, 0);
  assert.throws(
    () => openLog(p, { exitFlush: false }),
    (e: FsError) => e.code === 'EINVAL' && e.path === p && /FIFO/.test(e.message),
  );
});

const attackerSkip = attacker === undefined ? ATTACKER_SKIP : false;

/** Waits until `cond` holds (or `ms` pass). */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) return false;
    await delay(10);
  }
  return true;
}

for (const target of ['a root-only file', 'a dangling name in a root-only directory'] as const) {
  test(
    `attacker: a symlink to ${target} planted in a sticky shared directory after a rotation is not followed (protected_symlinks off); records kept, resumed once it goes`,
    { skip: attackerSkip, timeout: 60_000 },
    async (t) => {
      const a = attacker!;
      const ran = await withProtectedSymlinksOff(async () => {
        for (const follow of ['protected', 'always'] as const) {
          const shared = sharedStickyDir();
          const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-secret-'));
          t.after(() => {
            fs.rmSync(secretDir, { recursive: true, force: true });
          });
          const secret = path.join(secretDir, target === 'a root-only file' ? 'shadow' : 'created-elsewhere');
          if (target === 'a root-only file') fs.writeFileSync(secret, 'root only\n', { mode: 0o600 });
          const p = path.join(shared, 'app.log');
          const log: LogFile = openLog(p, {
            checkInterval: 20,
            retryInterval: 50,
            renameGrace: 100,
            exitFlush: false,
            followSymlinks: follow,
          });
          const errors: FsError[] = [];
          log.on('error', (e) => errors.push(e));
          try {
            for (let i = 0; i < 10; i++) log.write(`line ${i}\n`);
            log.flushSync();
            fs.renameSync(p, `${p}.1`); // root's logrotate renames the log away
            a.sh(`ln -s '${secret}' '${p}'`); // the attacker takes the empty name
            let n = 10;
            for (; n < 20; n++) log.write(`line ${n}\n`);
            log.flushSync();
            await delay(400); // checks, the grace, retries
            for (; n < 30; n++) log.write(`line ${n}\n`);
            log.flushSync();
            if (follow === 'always') {
              // control: following the link writes the log into the attacker's choice of file
              await until(() => fs.existsSync(secret) && fs.readFileSync(secret, 'utf8').includes('line 2'), 2000);
              assert.match(
                fs.readFileSync(secret, 'utf8'),
                /line 2\d\n/,
                'control: with followSymlinks always the log goes where the link points',
              );
              continue;
            }
            if (target === 'a root-only file')
              assert.equal(fs.readFileSync(secret, 'utf8'), 'root only\n', 'the root-only file is untouched');
            else assert.equal(fs.existsSync(secret), false, 'no file created through the dangling link');
            assert.equal(log.failing, true);
            const refusal = errors.find((e) => e.code === 'EACCES');
            assert.ok(
              refusal !== undefined && refusal.path === p && /sticky/.test(refusal.message),
              `a clear EACCES naming the path: ${errors.map((e) => e.message).join('; ')}`,
            );
            // The attacker's link goes (the operator removes it): the log creates its file and writes what it kept.
            fs.unlinkSync(p);
            assert.ok(await until(() => !log.failing, 2000), 'resumed');
            log.closeSync();
            assertAllOnce(counts(`${p}.1`, p), n, `followSymlinks ${follow}`);
            assert.equal(fs.lstatSync(p).isFile(), true);
          } finally {
            log.closeSync();
          }
        }
        // A link owned by the process's own user in the same kind of directory is followed.
        const shared = sharedStickyDir();
        const mine = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-mine-')), 'target.log');
        fs.symlinkSync(mine, path.join(shared, 'app.log'));
        const log = openLog(path.join(shared, 'app.log'), { exitFlush: false });
        log.write('mine\n');
        log.closeSync();
        assert.equal(fs.readFileSync(mine, 'utf8'), 'mine\n');
        fs.rmSync(path.dirname(mine), { recursive: true, force: true });
      });
      if (!ran) t.skip('fs.protected_symlinks cannot be turned off here (not root, or /proc/sys read-only)');
    },
  );
}
