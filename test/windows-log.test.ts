/**
 * Log files when another process rotates them, on the real file system of whatever platform runs the
 * tests (Windows under Wine with `npm run test:windows`; docs/portability.md). Node opens files with
 * FILE_SHARE_DELETE on Windows, so another process may rename the open log away there as on POSIX; it
 * may not rename a new file over it (the control below). Deleting an open file is delete-pending on
 * Windows, which Wine does not reproduce: that case is documented, not tested here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openLog } from '../src/log/log-file.js';
import type { ReopenEvent } from '../src/log/types.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-win-log-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Runs `code` (CommonJS, `fs` in scope, the paths as argv[1..]) in another Node process; throws if it fails. */
function inAnotherProcess(code: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, ['-e', `const fs=require("fs");${code}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`the other process failed (${String(r.status)}): ${r.stderr}`);
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('another process renames the open log away: noticed (timer or directory watch), the next lines go to a new file at the path', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  const log = openLog(file, { checkInterval: 50, renameGrace: 0 });
  const seen: ReopenEvent[] = [];
  log.on('reopen', (e) => seen.push(e));
  try {
    log.write('one\n');
    await log.flush();
    inAnotherProcess('fs.renameSync(process.argv[1], process.argv[2]);', file, `${file}.1`);
    await until('the reopen', () => seen.length > 0);
    log.write('two\n');
    await log.flush();
  } finally {
    await log.close();
  }
  assert.deepEqual(
    seen.map((e) => e.reason),
    ['renamed'],
  );
  assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'one\n', 'the renamed file keeps its lines');
  assert.equal(fs.readFileSync(file, 'utf8'), 'two\n', 'a new file at the path gets the next ones');
});

test('checkNow after another process renamed the log away and created a new one: renamed, nothing lost or doubled', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  const log = openLog(file, {
    checkInterval: 3_600_000,
    flushInterval: 3_600_000,
    watch: false,
    checkAroundWrites: false,
    renameGrace: 0,
  });
  try {
    log.write('a\n');
    log.flushSync();
    assert.equal(log.checkNow(), undefined);
    inAnotherProcess(
      'fs.renameSync(process.argv[1], process.argv[2]); fs.writeFileSync(process.argv[1], "");',
      file,
      `${file}.1`,
    );
    assert.equal(log.checkNow(), 'renamed', 'a link count of 1 on the open file: renamed away, not deleted');
    log.write('b\n');
    log.flushSync();
  } finally {
    log.closeSync();
  }
  assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'a\n');
  assert.equal(fs.readFileSync(file, 'utf8'), 'b\n');
});

test(
  'Windows: another process cannot rename a new file over the open log (the reason rotations there rename away or copy)',
  { skip: process.platform === 'win32' ? false : 'Windows-only: POSIX lets a rename replace an open file' },
  async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'app.log');
    const log = openLog(file, { watch: false });
    try {
      log.write('kept\n');
      await log.flush();
      fs.writeFileSync(`${file}.new`, 'new\n');
      assert.throws(() => {
        inAnotherProcess('fs.renameSync(process.argv[1], process.argv[2]);', `${file}.new`, file);
      }, /EPERM|EACCES|EBUSY/);
    } finally {
      await log.close();
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'kept\n');
  },
);
