/**
 * How a LogFile cooperates with a rotator (issue 10): after a rename with nothing at the path it leaves
 * the path for the rotator's `create` (logrotate opens it with O_EXCL) and writes on into the renamed
 * file until the path exists or `renameGrace` passes; the checks around every buffer write keep buffers
 * out of a file the path no longer names and confirm what was written (no duplicate on a later carry);
 * and the SIGHUP recipe works for a log in a worker thread (the pino transport) through the main
 * thread's relay. The real-logrotate runs are in log-logrotate.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { openLog } from '../src/log/log-file.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { hasCode } from '../src/errors/fs-error.js';
import { assertLogDistFresh } from './support/log-loss/harness.js';
import { lines, memText, memWrite, writeLines } from './support/log-loss/memory-lines.js';

/** Detection only by explicit checkNow() (plus, where a test says so, around writes). */
const MANUAL = {
  checkInterval: 3_600_000,
  flushInterval: 3_600_000,
  watch: false,
  exitFlush: false,
  checkAroundWrites: false,
} as const;
const { O_WRONLY, O_CREAT, O_EXCL } = fs.constants;

let alive: NodeJS.Timeout | undefined;
before(() => {
  alive = setInterval(() => undefined, 1000);
});
after(() => {
  clearInterval(alive);
});

function memExists(m: Backend, p: string): boolean {
  try {
    m.statSync(p);
    return true;
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return false;
    throw e;
  }
}

/** What logrotate's `create` does right after its rename: open(2) with O_CREAT | O_EXCL. */
function rotatorCreate(m: Backend, p: string): void {
  m.closeSync(m.openSync(p, O_WRONLY | O_CREAT | O_EXCL, 0o640));
}

describe('rename grace: the path is left to the rotator', () => {
  test("renamed, nothing at the path: records go on into the renamed file, the rotator's O_EXCL create succeeds, then the log follows it", () => {
    const m = new MemoryBackend();
    using log = openLog('/app.log', { ...MANUAL, backend: m, renameGrace: 3_600_000 });
    writeLines(log, 0, 3);
    log.flushSync();
    m.renameSync('/app.log', '/app.log.1');
    assert.equal(log.checkNow(), undefined, 'no reopen while the path is empty');
    writeLines(log, 3, 5);
    log.flushSync();
    assert.equal(memExists(m, '/app.log'), false, 'the log did not create the path');
    rotatorCreate(m, '/app.log');
    assert.equal(log.checkNow(), 'renamed');
    writeLines(log, 5, 7);
    log.closeSync();
    assert.equal(memText(m, '/app.log.1'), lines(0, 5), 'the renamed file has everything written before the create');
    assert.equal(memText(m, '/app.log'), lines(5, 7));
  });

  test('control: renameGrace 0 creates the path at once, and the rotator’s create then fails with EEXIST', () => {
    const m = new MemoryBackend();
    using log = openLog('/app.log', { ...MANUAL, backend: m, renameGrace: 0 });
    writeLines(log, 0, 3);
    log.flushSync();
    m.renameSync('/app.log', '/app.log.1');
    assert.equal(log.checkNow(), 'renamed');
    assert.throws(
      () => {
        rotatorCreate(m, '/app.log');
      },
      (e: unknown) => hasCode(e, 'EEXIST'),
    );
  });

  test('nothing created within renameGrace: the log creates the path itself', async () => {
    const m = new MemoryBackend();
    using log = openLog('/app.log', { ...MANUAL, backend: m, renameGrace: 30 });
    writeLines(log, 0, 2);
    log.flushSync();
    m.renameSync('/app.log', '/app.log.1');
    assert.equal(log.checkNow(), undefined);
    writeLines(log, 2, 3);
    log.flushSync();
    await delay(60);
    assert.equal(log.checkNow(), 'renamed');
    writeLines(log, 3, 5);
    log.closeSync();
    assert.equal(memText(m, '/app.log.1'), lines(0, 3));
    assert.equal(memText(m, '/app.log'), lines(3, 5));
  });

  test('a delete is not a rename: the log recreates the path at once and carries over', () => {
    const m = new MemoryBackend();
    using log = openLog('/app.log', { ...MANUAL, backend: m, renameGrace: 3_600_000 });
    writeLines(log, 0, 2);
    log.flushSync();
    log.checkNow();
    writeLines(log, 2, 4);
    log.flushSync();
    m.unlinkSync('/app.log');
    assert.equal(log.checkNow(), 'deleted');
    log.closeSync();
    assert.equal(memText(m, '/app.log'), lines(2, 4));
  });
});

describe('checks around writes', () => {
  test('renamed and created before the next flush: the buffer goes to the new file, never into the renamed one (a compressor may be reading it)', () => {
    for (const around of [true, false]) {
      const m = new MemoryBackend();
      using log = openLog('/app.log', { ...MANUAL, backend: m, checkAroundWrites: around });
      writeLines(log, 0, 3);
      log.flushSync();
      m.renameSync('/app.log', '/app.log.1');
      rotatorCreate(m, '/app.log');
      writeLines(log, 3, 6);
      log.flushSync(); // no checkNow(): only the checks around the write can see the rotation
      if (around) {
        assert.equal(memText(m, '/app.log.1'), lines(0, 3), 'nothing written into the renamed file after the create');
        assert.equal(memText(m, '/app.log'), lines(3, 6));
      } else {
        // control: without the checks the buffer lands in the renamed file
        assert.equal(memText(m, '/app.log.1'), lines(0, 6));
      }
    }
  });

  test('replaced by an editor’s copy after a flush: what the flush wrote was confirmed, so nothing is carried twice', () => {
    for (const around of [true, false]) {
      const m = new MemoryBackend();
      using log = openLog('/app.log', { ...MANUAL, backend: m, checkAroundWrites: around });
      writeLines(log, 0, 4);
      log.flushSync();
      memWrite(m, '/app.log.tmp', memText(m, '/app.log'));
      m.renameSync('/app.log.tmp', '/app.log');
      writeLines(log, 4, 6);
      log.flushSync();
      log.checkNow();
      log.closeSync();
      // control: without the post-write check the lines are unconfirmed, carried, and on disk twice
      assert.equal(memText(m, '/app.log'), around ? lines(0, 6) : lines(0, 4) + lines(0, 6));
    }
  });
});

describe('SIGHUP for a log in a worker thread (the pino transport)', () => {
  const root = path.resolve(import.meta.dirname, '..');
  const child = `
    import pino from 'pino';
    const [dist, dest, relay] = process.argv.slice(1);
    const { relayReopenSignal } = await import(dist + '/log/pino-transport.js');
    // Only the signal can reopen: no timer, no hint, a rename grace longer than the test.
    const transport = pino.transport({ target: dist + '/log/pino-transport.js', options: { destination: dest, reopenOnSignal: 'SIGHUP', checkInterval: 3600000, watch: false, renameGrace: 3600000 } });
    if (relay === 'relay') relayReopenSignal('SIGHUP');
    const logger = pino({ base: null, timestamp: false }, transport);
    for (let i = 0; i < 100; i++) logger.info('n=' + i);
    process.stdin.once('data', () => {
      process.stdin.pause();
      for (let i = 100; i < 200; i++) logger.info('n=' + i);
      transport.end(); // pino flushes the worker at exit
    });
  `;

  function seqs(file: string): number[] {
    if (!fs.existsSync(file)) return [];
    return [...fs.readFileSync(file, 'utf8').matchAll(/n=(\d+)\b/g)].map((m) => Number(m[1]));
  }

  async function waitFor(what: string, cond: () => boolean): Promise<void> {
    const end = Date.now() + 20_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await delay(10);
    }
  }

  for (const relay of [true, false]) {
    test(
      relay
        ? 'relayReopenSignal: kill -HUP makes the worker’s log reopen; the process lives on and exits 0'
        : 'control: without the relay nothing handles SIGHUP in the main thread and the process dies of it',
      async (t) => {
        assertLogDistFresh();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-hup-'));
        t.after(() => {
          fs.rmSync(dir, { recursive: true, force: true });
        });
        const p = path.join(dir, 'app.log');
        const nodeOptions = (process.env['NODE_OPTIONS'] ?? '').replace(/--import[= ]tsx\b/g, '').trim();
        const c = spawn(
          process.execPath,
          ['--input-type=module', '-e', child, path.join(root, 'dist'), p, relay ? 'relay' : 'none'],
          { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: nodeOptions } },
        );
        let out = '';
        c.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          c.on('close', (code, signal) => {
            resolve({ code, signal });
          }),
        );
        await waitFor('the first 100 records', () => seqs(p).length === 100);
        fs.renameSync(p, `${p}.1`); // logrotate's rename; nothing at the path
        c.kill('SIGHUP');
        if (!relay) {
          assert.deepEqual(await exited, { code: null, signal: 'SIGHUP' });
          return;
        }
        await waitFor('the worker to reopen (create the path)', () => fs.existsSync(p));
        c.stdin.end('go\n');
        const end = await exited;
        assert.deepEqual(end, { code: 0, signal: null }, out);
        assert.deepEqual(
          seqs(`${p}.1`),
          Array.from({ length: 100 }, (_, i) => i),
        );
        assert.deepEqual(
          seqs(p),
          Array.from({ length: 100 }, (_, i) => 100 + i),
        );
      },
    );
  }
});
