// `fdkeeper report <pid>` against real running children: one under the built hook, one without it, one
// that catches SIGUSR2 for itself, and one that is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './support/cli-run.js';
import {
  assertBuilt,
  channelDirOf,
  channelEntries,
  lineOf,
  startApp,
  tempDir,
  type RunningApp,
} from './support/register-apps.js';

let dir = '';
before(() => {
  assertBuilt();
  dir = tempDir();
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// Leaks 30 + 20 descriptors from two sites and keeps running until told (stdin would be simpler, but
// the harness gives apps no stdin): it exits on SIGTERM.
const SERVER = `const fs = require('fs');
const dir = process.argv[2];
function acceptUpload(i) { return fs.openSync(dir + '/upload-' + i, 'w'); } // @upload
function readTemplate(i) { return fs.promises.open(__filename, 'r'); } // @template
const kept = []; // the FileHandles stay referenced: the GC must not close them (and warn) mid-test
(async () => {
  for (let i = 0; i < 30; i++) acceptUpload(i);
  for (let i = 0; i < 20; i++) kept.push(await readTemplate(i));
  console.log('READY');
})();
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;

function startServer(work: string, env: NodeJS.ProcessEnv = {}): RunningApp {
  const file = path.join(dir, 'server.cjs');
  fs.writeFileSync(file, SERVER);
  return startApp(file, { args: [work], env: { FDKEEPER_REPORT: 'off', ...env } });
}

/** What the report channel left in a temp dir for `pid`: the channel directory (while the app runs) and anything else named for it. */
function leftovers(tmp: string, pid: number): string[] {
  return fs.readdirSync(tmp).filter((n) => n.startsWith(`fdkeeper-report-${pid}`));
}

test('fdkeeper report <pid>: the running app answers with its open sites; table and --json; the app lives on; no files left', async () => {
  const work = tempDir();
  const tmp = tempDir('fdkeeper-report-tmp-');
  const app = startServer(work, { TMPDIR: tmp });
  try {
    await app.waitFor(/READY/);
    const file = path.join(dir, 'server.cjs');
    const table = await runCli(['report', String(app.pid)], { env: { NO_COLOR: '1' } });
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      new RegExp(`^pid ${app.pid} \\(.*server\\.cjs .*\\), running \\S+: 50 opened through node:fs, 0 closed$`, 'm'),
    );
    assert.match(table.stdout, /^50 descriptors still open, from 2 open sites$/m);
    assert.match(table.stdout, /^OPEN +OLDEST +OPEN SITE +SAMPLE PATHS$/m);
    assert.match(
      table.stdout,
      new RegExp(
        `^ {2}30 +\\S+ +acceptUpload \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${lineOf(SERVER, '@upload')}:\\d+\\) +${work}/upload-0, ${work}/upload-1, … 28 more$`,
        'm',
      ),
    );
    assert.match(
      table.stdout,
      new RegExp(
        `^ {2}20 +\\S+ +readTemplate \\(.*server\\.cjs:${lineOf(SERVER, '@template')}:\\d+\\) +${file}, … 19 more$`,
        'm',
      ),
    );
    assert.equal(table.stderr, '');

    const json = await runCli(['report', String(app.pid), '--json', '--timeout', '10s']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      format: string;
      reason: string;
      pid: number;
      open: number;
      request: string;
      sites: { function: string; line: number; count: number; apis: Record<string, number> }[];
    };
    assert.equal(report.format, 'fdkeeper-register-report');
    assert.equal(report.reason, 'request');
    assert.equal(report.pid, app.pid);
    assert.equal(report.open, 50);
    assert.match(report.request, /^[0-9a-f]{24}$/);
    assert.deepEqual(
      report.sites.map((s) => [s.function, s.line, s.count, s.apis]),
      [
        ['acceptUpload', lineOf(SERVER, '@upload'), 30, { openSync: 30 }],
        ['readTemplate', lineOf(SERVER, '@template'), 20, { 'promises.open': 20 }],
      ],
    );

    const stacks = await runCli(['report', String(app.pid), '--stacks'], { env: { NO_COLOR: '1' } });
    assert.equal(stacks.code, 0);
    assert.match(stacks.stdout, /^30 × acceptUpload \(.*\)\n {4}at acceptUpload \(/m);

    const channel = channelDirOf(app.pid);
    assert.ok(
      channel !== undefined && path.dirname(channel) === tmp,
      `the channel is in the app's TMPDIR: ${String(channel)}`,
    );
    assert.deepEqual(leftovers(tmp, app.pid), [path.basename(channel)], 'only the channel directory');
    const st = fs.lstatSync(channel);
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o777, 0o700, "private to the app's user");
    assert.deepEqual(channelEntries(channel), [], 'requests and answers removed');
    assert.equal(app.stderr(), '', "FDKEEPER_REPORT=off: a request writes nothing on the app's stderr");
    assert.equal(app.child.exitCode, null, 'the app is still running');
    app.child.kill('SIGTERM');
    await app.done;
    assert.deepEqual(leftovers(tmp, app.pid), [], 'the channel is removed at exit');
  } finally {
    app.child.kill('SIGTERM');
    await app.done;
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('fdkeeper report on a node process without the hook: refused, exit 7, and the process is not killed', async () => {
  const file = path.join(dir, 'plain.cjs');
  fs.writeFileSync(
    file,
    `console.log('READY'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);\n`,
  );
  const app = startApp(file, { hook: false });
  try {
    await app.waitFor(/READY/);
    const run = await runCli(['report', String(app.pid)]);
    assert.equal(run.code, 7);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      new RegExp(
        `^fdkeeper report: pid ${app.pid} is not running fdkeeper/register \\(no descriptor on the hook's dist/register\\.js in /proc/${app.pid}/fd\\).*Nothing was sent`,
      ),
    );
    // --force skips the beacon, but a process without the hook has no channel: still nothing is sent.
    const forced = await runCli(['report', String(app.pid), '--force']);
    assert.equal(forced.code, 7);
    assert.match(
      forced.stderr,
      new RegExp(
        `^fdkeeper report: pid ${app.pid} has no fdkeeper report channel open \\(no fdkeeper-report-${app.pid}-XXXXXX directory in /proc/${app.pid}/fd\\).*Nothing was sent`,
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(app.child.exitCode, null, 'still running');
    assert.equal(app.child.signalCode, null);
    assert.deepEqual(leftovers(os.tmpdir(), app.pid), []);
  } finally {
    app.child.kill('SIGTERM');
    await app.done;
  }
});

test('fdkeeper report on a process that handles SIGUSR2 itself (a graceful restart): never sent SIGUSR2, with or without --force', async () => {
  const file = path.join(dir, 'own-usr2.cjs');
  fs.writeFileSync(
    file,
    `process.on('SIGUSR2', () => console.log('own handler')); console.log('READY'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);\n`,
  );
  const app = startApp(file, { hook: false });
  try {
    await app.waitFor(/READY/);
    const run = await runCli(['report', String(app.pid)]);
    assert.equal(run.code, 7);
    assert.match(run.stderr, /is not running fdkeeper\/register .*Nothing was sent/);
    const forced = await runCli(['report', String(app.pid), '--timeout', '400ms', '--force']);
    assert.equal(forced.code, 7);
    assert.match(forced.stderr, /has no fdkeeper report channel open .*Nothing was sent/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(app.stdout(), 'READY\n', 'its SIGUSR2 handler never ran');
    assert.deepEqual(leftovers(os.tmpdir(), app.pid), []);
  } finally {
    app.child.kill('SIGTERM');
    await app.done;
  }
});

test('fdkeeper report on a pid that is gone: exit 4; bad pid and bad timeout: exit 2', async () => {
  const file = path.join(dir, 'gone.cjs');
  fs.writeFileSync(file, '');
  const gone = startApp(file, { hook: false });
  await gone.done;
  const run = await runCli(['report', String(gone.pid)]);
  assert.equal(run.code, 4);
  assert.match(run.stderr, new RegExp(`^fdkeeper report: no process with pid ${gone.pid}`));

  const bad = await runCli(['report', 'abc']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'abc' is not a process id/);
  const badTimeout = await runCli(['report', '1', '--timeout', 'soon']);
  assert.equal(badTimeout.code, 2);
  assert.match(badTimeout.stderr, /'soon' is not a duration/);

  const help = await runCli(['report', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:\n {2}\$ node --import fdkeeper\/register server\.js &/);
});

test(
  'fdkeeper report as an unprivileged user on a root process: exit 5, nothing sent',
  { skip: process.getuid?.() === 0 ? false : 'needs root to run the CLI as nobody' },
  async () => {
    const app = startServer(tempDir());
    try {
      await app.waitFor(/READY/);
      const run = await runCli(['report', String(app.pid)], { asUid: 65534 });
      assert.equal(run.code, 5, run.stderr);
      assert.match(run.stderr, new RegExp(`^fdkeeper report: not permitted to signal pid ${app.pid}`));
    } finally {
      app.child.kill('SIGTERM');
      await app.done;
    }
  },
);
