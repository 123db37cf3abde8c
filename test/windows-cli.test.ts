/**
 * The CLI's Linux-only commands on other platforms, and the `--import fdkeeper/register` hook on Windows
 * (run under Wine by `npm run test:windows`; docs/portability.md). `fdkeeper inspect` and `watch` read
 * /proc: elsewhere they must say so, with what to use instead, not fail with an ENOENT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const NO_PROC =
  process.platform === 'linux' ? 'Linux has /proc: test/cli-inspect.test.ts and cli-watch.test.ts cover it' : false;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const command of ['inspect', 'watch'] as const) {
  test(
    `fdkeeper ${command} without /proc: a failure saying only Linux has /proc, and what to use instead`,
    { skip: NO_PROC },
    () => {
      const r = cli(command, String(process.pid));
      assert.notEqual(r.status, 0, r.stdout);
      assert.match(r.stderr, new RegExp(`this is ${process.platform}, and only Linux has /proc`));
      assert.match(r.stderr, process.platform === 'win32' ? /handle -p PID/ : /lsof -p PID/);
    },
  );
}

test('--import fdkeeper/register: a leaked descriptor is reported at exit with its file and line', (t) => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-win-register-')));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const app = path.join(dir, 'leaky.cjs');
  fs.writeFileSync(
    app,
    [
      'const fs = require("fs");',
      'const path = require("path");',
      'globalThis.kept = fs.openSync(path.join(__dirname, "data.txt"), "w"); // LEAK',
      'console.log("done");',
      '',
    ].join('\n'),
  );
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.FDKEEPER_REPORT;
  // Run from the package root, so that `fdkeeper/register` resolves through the package's own exports.
  const r = spawnSync(process.execPath, ['--import', 'fdkeeper/register', app], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'done\n', "the app's own output unchanged");
  assert.match(r.stderr, /leaky\.cjs:3/, 'the report names the line that opened it');
  assert.match(r.stderr, /data\.txt/);
});
