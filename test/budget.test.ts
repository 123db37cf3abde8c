/**
 * The fd budget (`maxOpen`) and EMFILE handling: promise opens past the budget wait, synchronous ones
 * fail at once naming the top open sites, and EMFILE from the OS itself is retried (checked in a child
 * process run under a low `ulimit -n`).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileTable } from '../src/table/file-table.js';
import { FsError } from '../src/errors/fs-error.js';
import { openFds } from './support/proc-fds.js';
import type { ChildResult } from './support/emfile-child.js';

function tempFile(t: TestContext, content = 'x'): string {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-budget-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const p = join(dir, 'f');
  fs.writeFileSync(p, content);
  return p;
}

test('20,000 concurrent promise opens with maxOpen 64 all succeed, never holding more than 64', async (t) => {
  const p = tempFile(t, 'abc');
  const table = new FileTable({ maxOpen: 64 });
  const baseline = openFds().length;
  let maxHeld = 0;
  let maxInUse = 0;
  let maxKernel = 0;
  let opened = 0;
  const observe = (): void => {
    maxHeld = Math.max(maxHeld, table.heldCount);
    maxInUse = Math.max(maxInUse, table.budget.inUse);
  };
  const all = Array.from({ length: 20_000 }, async (_, i) => {
    const fd = await table.open(p, 'r');
    observe();
    if (++opened % 1000 === 0) maxKernel = Math.max(maxKernel, openFds().length - baseline);
    assert.equal(table.readSync(fd, Buffer.alloc(3), 0, 3, 0), 3, 'each open is a real, readable descriptor');
    // Half close at once, half through the promise close.
    if (i % 2 === 0) table.closeSync(fd);
    else await table.close(fd);
    observe();
  });
  observe();
  assert.equal(table.budget.waiting, 20_000 - 64, 'opens past the budget wait in the queue');
  await Promise.all(all);
  assert.equal(opened, 20_000);
  assert.ok(maxHeld <= 64, `held ${maxHeld} > 64 at some point`);
  assert.ok(maxInUse <= 64, `budget slots in use reached ${maxInUse}`);
  assert.equal(maxInUse, 64, 'the whole budget is used (slots count opens under way too)');
  assert.ok(maxKernel <= 64, `the process had ${maxKernel} more descriptors open than at the start`);
  assert.equal(table.heldCount, 0);
  assert.equal(table.budget.inUse, 0);
  assert.equal(table.budget.waiting, 0);
  // Nothing of ours is left open: no descriptor names the file, and no more are open than at the start
  // (fewer is possible: the test runner may close one of its own meanwhile).
  const real = fs.realpathSync(p);
  const leftOnFile = openFds().filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === real;
    } catch {
      return false;
    }
  });
  assert.deepEqual(leftOnFile, [], 'descriptors on the file left open');
  assert.ok(openFds().length <= baseline, `${openFds().length} descriptors open, ${baseline} at the start`);
});

test('a synchronous open past the budget fails at once with EMFILE listing the top open sites', async (t) => {
  const p = tempFile(t);
  const table = new FileTable({ maxOpen: 5, openSites: 'always' });
  const held: number[] = [];
  function openLogFiles(): void {
    for (let i = 0; i < 4; i++) held.push(table.openSync(p));
  }
  function openConfig(): void {
    held.push(table.openSync(p));
  }
  openLogFiles();
  openConfig();
  const err = ((): unknown => {
    try {
      table.openSync(p);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof FsError, 'openSync past the budget must throw');
  assert.equal(err.code, 'EMFILE');
  assert.equal(err.syscall, 'open');
  assert.match(err.message, /fd budget of 5 exhausted \(5 in use, 0 waiting\)/);
  assert.match(
    err.message,
    /top open sites: 4 × openLogFiles \(.*budget\.test\.ts:\d+:\d+\); 1 × openConfig \(.*budget\.test\.ts:\d+:\d+\)/,
  );
  // dup and pipe count against the budget too, and fail the same way.
  assert.throws(() => table.dup(held[0] ?? -1), { code: 'EMFILE' });
  assert.throws(() => table.pipeDescriptors(), { code: 'EMFILE' });
  assert.equal(table.heldCount, 5);
  // A promise open waits instead, and gets the slot of the next close.
  let resolved = false;
  const waiting = table.open(p).then((fd) => {
    resolved = true;
    return fd;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(resolved, false);
  assert.equal(table.budget.waiting, 1);
  const freed = held.pop() ?? -1;
  table.closeSync(freed);
  assert.throws(
    () => table.openSync(p),
    { code: 'EMFILE' },
    'the freed slot went to the waiting open, not to a later sync one',
  );
  const fd = await waiting;
  assert.equal(fd, freed, 'the waiting open got the lowest free number');
  held.push(fd);
  for (const n of held) table.closeSync(n);
  assert.equal(table.heldCount, 0);
  assert.equal(table.budget.inUse, 0);
  const again = table.openSync(p);
  table.closeSync(again);
});

// ------------------------------------------------------------------ EMFILE from the OS

const CHILD = fileURLToPath(new URL('./support/emfile-child.ts', import.meta.url));
const LIMIT = 100;
const COUNT = 2000;

/**
 * Runs the child under `ulimit -n LIMIT` (hard and soft: Node raises its soft limit to the hard one at
 * startup). NODE_OPTIONS already carries `--import tsx` under the test runner; otherwise it is added.
 */
function runChild(mode: string, file: string): Promise<ChildResult> {
  const nodeOptions = process.env['NODE_OPTIONS'] ?? '';
  const importTsx = /--import[= ]tsx\b/.test(nodeOptions) ? [] : ['--import', 'tsx'];
  return new Promise((resolve, reject) => {
    const child = spawn(
      'sh',
      ['-c', `ulimit -n ${LIMIT} && exec "$0" "$@"`, process.execPath, ...importTsx, CHILD, mode, file, String(COUNT)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`child (${mode}) exited with ${String(code)}:\n${err}${out}`));
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ChildResult);
      } catch {
        reject(new Error(`child (${mode}) printed no result:\n${err}${out}`));
      }
    });
  });
}

test(`EMFILE from the OS: ${COUNT} concurrent table.open() calls under ulimit -n ${LIMIT} all succeed, while fs.promises.open fails`, async (t) => {
  const p = tempFile(t);
  const plain = await runChild('fs', p);
  assert.match(
    plain.limit,
    new RegExp(`^Max open files\\s+${LIMIT}\\s+${LIMIT}\\b`),
    'the child runs under the low limit',
  );
  assert.ok(plain.failed > 0, `plain fs.promises.open should hit EMFILE: ${JSON.stringify(plain)}`);
  assert.deepEqual(Object.keys(plain.codes), ['EMFILE']);
  assert.equal(plain.succeeded + plain.failed, COUNT);

  const table = await runChild('table', p);
  assert.equal(table.failed, 0, `table opens failed: ${JSON.stringify(table.codes)}`);
  assert.equal(table.succeeded, COUNT);
  assert.ok(table.emfileFromOs > 0, 'the OS refused some opens (and the table retried them)');
  assert.ok(table.maxHeld < LIMIT);
  // Retries are woken one per close, not all at once: the refusals stay linear in the number of opens
  // (a thundering herd made ~12 per open at 2,000 opens, ~130 per open at 20,000).
  assert.ok(table.emfileFromOs <= 2 * COUNT, `${table.emfileFromOs} refused opens for ${COUNT} opens`);
});

test('EMFILE from the OS with the room freed outside the table: the backoff timer finds it', async (t) => {
  const p = tempFile(t);
  const result = await runChild('table-outside', p);
  assert.equal(result.failed, 0, `table opens failed: ${JSON.stringify(result.codes)}`);
  assert.equal(result.succeeded, COUNT);
  assert.ok(result.emfileFromOs >= 1, 'the OS refused opens before the room was freed');
  assert.ok(result.emfileFromOs <= 2 * COUNT, `${result.emfileFromOs} refused opens for ${COUNT} opens`);
});

test('EMFILE from the OS that never clears: every waiting open gives up with EMFILE at about emfileRetryMs', async (t) => {
  const p = tempFile(t);
  const result = await runChild('table-deadline', p);
  assert.equal(result.succeeded, 0);
  assert.deepEqual(result.codes, { EMFILE: COUNT });
  assert.match(
    result.firstMessage ?? '',
    /the process is out of descriptors; this table holds 0; top open sites: none/,
  );
  // emfileRetryMs is 300 ms in the child; the waiters must not give up one backoff tick at a time.
  assert.ok(result.ms < 5000, `giving up took ${result.ms} ms`);
});
