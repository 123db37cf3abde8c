// The `fdkeeper report` channel under attack and under bad timing: a CLI that gives up early against a
// busy app, a second real user planting files, FIFOs, links and directories at every name it can
// predict, and root asking a process of another user (also a hostile one).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requestReport } from '../src/register/request-report.js';
import { ATTACKER_SKIP, attacker, sharedStickyDir } from './support/attacker.js';
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

const linuxOnly = process.platform === 'linux' ? false : 'the report channel is found through /proc';

let dir = '';
before(() => {
  assertBuilt();
  dir = tempDir();
  fs.chmodSync(dir, 0o755); // the attacker runs apps from here
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, source: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source, { mode: 0o644 });
  return file;
}

/**
 * An app that keeps `times` descriptors from one line (`keep`), runs `extra`, prints READY and idles
 * until SIGTERM (which exits normally, so the hook's exit clean-up runs).
 */
function keeper(times: number, extra = ''): string {
  return `const fs = require('fs');
function keep() { return fs.openSync(__filename, 'r'); } // @keep
for (let i = 0; i < ${times}; i++) keep();
${extra}
process.on('SIGTERM', () => process.exit(0));
console.log('READY');
setInterval(() => {}, 1000);
`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function stop(app: RunningApp): Promise<void> {
  if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGTERM');
  await app.done;
}

// Keeps two descriptors from one line, then blocks its event loop (sleeping in Atomics.wait, so as not
// to burn a core) until the file named by argv[2] exists; then idles until SIGTERM.
const BUSY = `const fs = require('fs');
const go = process.argv[2];
function keep() { return fs.openSync(__filename, 'r'); } // @keep
keep(); keep();
process.on('SIGTERM', () => process.exit(0));
console.log('BUSY');
const cell = new Int32Array(new SharedArrayBuffer(4));
while (!fs.existsSync(go)) Atomics.wait(cell, 0, 0, 20);
console.log('IDLE');
setInterval(() => {}, 1000);
`;

test(
  'a report that gives up on a busy app (tiny --timeout) leaves it running undisturbed, and the next report is answered',
  { skip: linuxOnly },
  async () => {
    const file = write('busy.cjs', BUSY);
    const go = path.join(dir, 'go-busy');
    const app = startApp(file, { args: [go], env: { FDKEEPER_REPORT: 'exit' } });
    try {
      await app.waitFor(/BUSY/);
      const cli = await runCli(['report', String(app.pid), '--timeout', '300ms']);
      assert.equal(cli.code, 7, cli.stderr);
      assert.match(
        cli.stderr,
        new RegExp(
          `^fdkeeper report: pid ${app.pid} did not take the request within 0\\.3 s: its event loop is probably blocked .*the request was taken back`,
        ),
      );
      // More of the same, down to a millisecond, and a stray signal with no request at all.
      for (const timeoutMs of [1, 2, 5, 10, 20, 50]) {
        await assert.rejects(requestReport(app.pid, { timeoutMs, pollMs: 1 }), { code: 'ETIMEDOUT' });
      }
      process.kill(app.pid, 'SIGURG');
      const channel = channelDirOf(app.pid);
      assert.ok(channel !== undefined);
      assert.deepEqual(channelEntries(channel), [], 'every request taken back');

      fs.writeFileSync(go, '');
      await app.waitFor(/IDLE/);
      await sleep(300); // the queued signals are handled now
      assert.equal(app.child.exitCode, null, 'still running');
      assert.equal(app.child.signalCode, null);
      const next = await runCli(['report', String(app.pid), '--json']);
      assert.equal(next.code, 0, next.stderr);
      const report = JSON.parse(next.stdout) as { sites: { function: string; line: number; count: number }[] };
      assert.deepEqual(
        report.sites.map((s) => [s.function, s.line, s.count]),
        [['keep', lineOf(BUSY, '@keep'), 2]],
      );
      assert.equal(app.stderr(), '', 'no report printed, no error: the requests and the stray signal did nothing');
      assert.deepEqual(channelEntries(channel), []);
    } finally {
      await stop(app);
    }

    // The control: the signal the old protocol sent (SIGUSR2) does kill such an app when its request is
    // gone, as a plain SIGUSR2 must (nodemon). Asking must never use a signal that can.
    const go2 = path.join(dir, 'go-busy-2');
    const control = startApp(file, { args: [go2], env: { FDKEEPER_REPORT: 'off' } });
    await control.waitFor(/BUSY/);
    control.child.kill('SIGUSR2');
    fs.writeFileSync(go2, '');
    const ended = await control.done;
    assert.equal(ended.signal, 'SIGUSR2');
  },
);

// Busy in short bursts, forever: each burst blocks the event loop 0-30 ms, so requests land before,
// during and after a claim.
const BURSTS = `const fs = require('fs');
function keep() { return fs.openSync(__filename, 'r'); } // @keep
keep();
process.on('SIGTERM', () => process.exit(0));
const cell = new Int32Array(new SharedArrayBuffer(4));
(function burst() { Atomics.wait(cell, 0, 0, Math.random() * 30); setTimeout(burst, Math.random() * 5); })();
console.log('READY');
`;

test(
  'a hundred requests that give up at random moments (1-40 ms) against an app busy in bursts: it never dies, never prints, and answers the next one',
  { skip: linuxOnly },
  async () => {
    const file = write('bursts.cjs', BURSTS);
    const app = startApp(file, { env: { FDKEEPER_REPORT: 'exit' } });
    let channel: string | undefined;
    try {
      await app.waitFor(/READY/);
      channel = channelDirOf(app.pid);
      assert.ok(channel !== undefined);
      let answered = 0;
      for (let i = 0; i < 100; i++) {
        try {
          await requestReport(app.pid, { timeoutMs: 1 + Math.floor(Math.random() * 40), pollMs: 1 });
          answered++;
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'ETIMEDOUT', String(e));
        }
      }
      await sleep(300);
      assert.equal(app.child.exitCode, null, `still running after ${answered} answered, ${100 - answered} given up`);
      assert.equal(app.child.signalCode, null);
      const next = await requestReport(app.pid, { timeoutMs: 10_000 });
      assert.deepEqual(
        next.sites.map((s) => [s.function, s.line, s.count]),
        [['keep', lineOf(BURSTS, '@keep'), 1]],
      );
      // No request is left for the app to act on later; only answers claimed just before their CLI gave
      // up, which the app removes after a minute or at exit.
      assert.deepEqual(
        channelEntries(channel).filter((n) => !/^[0-9a-f]{24}\.json$/.test(n)),
        [],
      );
      assert.equal(app.stderr(), '');
    } finally {
      await stop(app);
    }
    assert.equal(fs.existsSync(channel), false, 'the channel and any uncollected answer removed at exit');
  },
);

test(
  'another user can neither trigger, block, feed nor read the report channel; plain SIGUSR2 keeps its meaning',
  { skip: attacker === undefined ? ATTACKER_SKIP : linuxOnly },
  async () => {
    const a = attacker!;
    const shared = sharedStickyDir('fdk-report-');
    const file = write('own-usr2.cjs', keeper(1, `process.on('SIGUSR2', () => console.log('own SIGUSR2'));`));
    // A stale channel of a dead process of ours (removed by the app's sweep) and the attacker's look-alike
    // of one (left alone).
    let dead = 4_000_000;
    while (spawnSync('kill', ['-0', String(dead)]).status === 0) dead--;
    const staleOurs = path.join(shared, `fdkeeper-report-${dead}-AbCdEf`);
    fs.mkdirSync(staleOurs, { mode: 0o700 });
    fs.writeFileSync(path.join(staleOurs, `${'a'.repeat(24)}.json`), '{}');
    const staleTheirs = path.join(shared, `fdkeeper-report-${dead}-ZyXwVu`);
    a.sh(`mkdir -m 700 ${staleTheirs}`);

    const app = startApp(file, { env: { TMPDIR: shared, FDKEEPER_REPORT: 'exit' } });
    let channel: string | undefined;
    try {
      await app.waitFor(/READY/);
      const pid = app.pid;
      channel = channelDirOf(pid);
      assert.ok(channel !== undefined && path.dirname(channel) === shared, String(channel));

      // Every name the attacker can predict: the old request/response names (a FIFO and a forged answer
      // planted before any request), look-alike channel directories with requests in them, a link.
      const fifo = path.join(shared, `fdkeeper-report-${pid}.request`);
      const forged = path.join(shared, `fdkeeper-report-${pid}.json`);
      const lookAlike = path.join(shared, `fdkeeper-report-${pid}-aaaaaa`);
      const link = path.join(shared, `fdkeeper-report-${pid}-bbbbbb`);
      a.sh(
        `mkfifo ${fifo} && printf '{"format":"fdkeeper-register-report","version":1,"pid":${pid},"request":"x","sites":[]}' > ${forged}` +
          ` && mkdir -m 777 ${lookAlike} && touch ${lookAlike}/${'b'.repeat(24)}.request && ln -s ${lookAlike} ${link}`,
      );

      // Trigger: the kernel refuses the attacker's signals. Read or feed the channel: its mode refuses.
      assert.notEqual(a.run(['kill', '-URG', String(pid)]).status, 0, 'the attacker cannot signal the app');
      assert.notEqual(a.run(['kill', '-USR2', String(pid)]).status, 0);
      assert.notEqual(a.run(['ls', channel]).status, 0, 'the attacker cannot list the channel');
      assert.notEqual(
        a.run(['touch', path.join(channel, `${'c'.repeat(24)}.request`)]).status,
        0,
        'nor put a request in it',
      );
      assert.notEqual(a.run(['ls', `/proc/${pid}/fd/`]).status, 0, 'nor reach it through /proc');

      // The report is answered (the FIFO is never opened: the app would hang in open(2)); twice, to
      // show nothing was left pending.
      for (let i = 0; i < 2; i++) {
        const run = await runCli(['report', String(pid), '--json']);
        assert.equal(run.code, 0, run.stderr);
        const report = JSON.parse(run.stdout) as { request: string; sites: { function: string; count: number }[] };
        assert.match(report.request, /^[0-9a-f]{24}$/);
        assert.deepEqual(
          report.sites.map((s) => [s.function, s.count]),
          [['keep', 1]],
        );
      }
      assert.deepEqual(channelEntries(channel), []);

      // A plain SIGUSR2 is the app's (nodemon's restart): its own listener runs, and the hook's report.
      app.child.kill('SIGUSR2');
      await app.waitFor(/own SIGUSR2/);
      await app.waitFor(/1 descriptor opened through node:fs still open on SIGUSR2/, 'stderr');
      assert.equal(app.child.exitCode, null);

      // The attacker's plants are untouched: nothing of ours followed or removed them.
      assert.ok(fs.lstatSync(fifo).isFIFO());
      assert.equal(fs.lstatSync(forged).uid, a.uid);
      assert.ok(fs.lstatSync(link).isSymbolicLink());
      assert.deepEqual(fs.readdirSync(lookAlike), [`${'b'.repeat(24)}.request`]);
      // The sweep (2 s after start-up) removed our dead process's channel, not the attacker's look-alike.
      for (let i = 0; i < 100 && fs.existsSync(staleOurs); i++) await sleep(100);
      assert.equal(fs.existsSync(staleOurs), false, 'our stale channel swept');
      assert.equal(fs.lstatSync(staleTheirs).uid, a.uid, "the attacker's directory left alone");

      // The control: the planted FIFO is real; a reader that opens it by name, as the old hook did, hangs.
      const naive = spawnSync(process.execPath, ['-e', `require('fs').readFileSync(${JSON.stringify(fifo)})`], {
        timeout: 1500,
      });
      assert.equal(naive.signal, 'SIGTERM', 'the naive read blocked until killed');
    } finally {
      await stop(app);
    }
    assert.equal(fs.existsSync(channel), false, 'our channel removed at exit');
  },
);

test(
  'in a world-writable TMPDIR without the sticky bit, the attacker cannot remove the channel, and renaming it and planting a link at its name neither blocks nor misdirects a report',
  { skip: attacker === undefined ? ATTACKER_SKIP : linuxOnly },
  async () => {
    const a = attacker!;
    const base = tempDir('fdkeeper-open-tmp-');
    fs.chmodSync(base, 0o755);
    const open = path.join(base, 'tmp');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777); // no sticky bit: anyone may rename anything in it
    const file = write('renamed.cjs', keeper(1));
    const app = startApp(file, { env: { TMPDIR: open, FDKEEPER_REPORT: 'off' } });
    try {
      await app.waitFor(/READY/);
      const channel = channelDirOf(app.pid);
      assert.ok(channel !== undefined);
      const moved = path.join(open, 'moved-away');
      const decoy = path.join(open, 'decoy');
      assert.notEqual(
        a.run(['rmdir', channel]).status,
        0,
        "the hook's marker keeps the channel from being empty, so it cannot be removed",
      );
      a.sh(`mv ${channel} ${moved} && mkdir -m 777 ${decoy} && ln -s ${decoy} ${channel}`);
      assert.ok(fs.lstatSync(channel).isSymbolicLink());

      const run = await runCli(['report', String(app.pid), '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        (JSON.parse(run.stdout) as { sites: { function: string }[] }).sites.map((s) => s.function),
        ['keep'],
      );
      assert.deepEqual(fs.readdirSync(decoy), [], 'nothing went through the planted link');
      assert.deepEqual(channelEntries(moved), []);
      await stop(app);
      assert.ok(
        fs.lstatSync(channel).isSymbolicLink(),
        'at exit the link at the old name is not taken for the channel',
      );
      assert.deepEqual(fs.readdirSync(decoy), []);
    } finally {
      await stop(app);
      fs.rmSync(base, { recursive: true, force: true });
    }
  },
);

test(
  "root asks an app of another user: answered through the app's own descriptor, as that user's files",
  { skip: attacker === undefined ? ATTACKER_SKIP : linuxOnly },
  async () => {
    const a = attacker!;
    const shared = sharedStickyDir('fdk-report-other-');
    const file = write('other-user.cjs', keeper(3));
    const app = startApp(file, { asUser: a, env: { TMPDIR: shared, FDKEEPER_REPORT: 'off' } });
    try {
      await app.waitFor(/READY/);
      const channel = channelDirOf(app.pid);
      assert.ok(channel !== undefined);
      assert.equal(fs.lstatSync(channel).uid, a.uid, "the channel is the app user's");
      const run = await runCli(['report', String(app.pid), '--json']);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { pid: number; sites: { function: string; count: number }[] };
      assert.equal(report.pid, app.pid);
      assert.deepEqual(
        report.sites.map((s) => [s.function, s.count]),
        [['keep', 3]],
      );
      assert.deepEqual(channelEntries(channel), []);
      assert.equal(app.stderr(), '');
    } finally {
      await stop(app);
    }
  },
);

// A hostile process of another user that looks like the hook to root's CLI (a beacon named
// dist/register.js, a channel directory) and answers each request with a trap: a link to a file only
// root may read, a FIFO, or a file too large to be a report.
const HOSTILE = `const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const [home, mode, secret] = process.argv.slice(2);
fs.mkdirSync(path.join(home, 'dist'), { recursive: true });
fs.writeFileSync(path.join(home, 'dist', 'register.js'), '');
const beacon = fs.openSync(path.join(home, 'dist', 'register.js'), 'r');
const channel = path.join(home, 'fdkeeper-report-' + process.pid + '-hostil');
fs.mkdirSync(channel, { mode: 0o700 });
const dirFd = fs.openSync(channel, 'r');
process.on('SIGURG', () => {
  for (const name of fs.readdirSync(channel)) {
    if (!name.endsWith('.request')) continue;
    const answer = path.join(channel, name.replace(/\\.request$/, '.json'));
    if (mode === 'link') fs.symlinkSync(secret, answer);
    else if (mode === 'fifo') execFileSync('mkfifo', [answer]);
    // Made whole under another name, then renamed into place: a reader must meet the 100 MiB file, not the
    // empty one of the moment between open and ftruncate (that race made the test flaky under load).
    else { const fd = fs.openSync(answer + '.part', 'w'); fs.ftruncateSync(fd, 100 * 1024 * 1024); fs.closeSync(fd); fs.renameSync(answer + '.part', answer); }
  }
});
process.on('SIGTERM', () => process.exit(0));
console.log('READY', beacon, dirFd);
setInterval(() => {}, 1000);
`;

test(
  'root asking a hostile process of another user: a link, a FIFO or a huge file as the answer is refused, never followed, never waited on',
  { skip: attacker === undefined ? ATTACKER_SKIP : linuxOnly },
  async () => {
    const a = attacker!;
    const file = write('hostile.cjs', HOSTILE);
    const secretDir = tempDir('fdkeeper-secret-');
    const secret = path.join(secretDir, 'secret');
    fs.writeFileSync(secret, 'ROOT-ONLY-SECRET', { mode: 0o600 });
    try {
      for (const [mode, code, message] of [
        ['link', 5, /is a symbolic link, not pid \d+'s answer; not following it/],
        ['fifo', 5, /is not a regular file; not pid \d+'s answer/],
        ['huge', 1, /is 104857600 bytes, more than a report may be/],
      ] as const) {
        const home = path.join(sharedStickyDir('fdk-hostile-'), mode);
        a.sh(`mkdir ${home}`);
        const app = startApp(file, { hook: false, asUser: a, args: [home, mode, secret] });
        try {
          await app.waitFor(/READY/);
          const run = await runCli(['report', String(app.pid), '--timeout', '10s']);
          assert.equal(run.code, code, `${mode}: ${run.stderr}\napp stderr: ${app.stderr()}`);
          assert.match(run.stderr, message, mode);
          assert.doesNotMatch(run.stdout + run.stderr, /ROOT-ONLY-SECRET/);
        } finally {
          await stop(app);
        }
      }
    } finally {
      fs.rmSync(secretDir, { recursive: true, force: true });
    }
  },
);
