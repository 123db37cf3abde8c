// `fdkeeper clean <dir>`: removes what dead or long-gone writers left, keeps a live writer's fresh
// temp file, never touches other files, and says why for each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CleanReport } from '../src/cli/output/clean-render.js';
import { TEST_BOOT_TIME_ENV } from '../src/cli/clean/leftovers.js';
import { ATTACKER_SKIP, attacker, sharedStickyDir } from './support/attacker.js';
import { ESC, runCli } from './support/cli-run.js';

/** The environment that puts this host's boot `ago` ms in the past, whatever its real uptime. */
const bootedAgo = (ago: number): NodeJS.ProcessEnv => ({ [TEST_BOOT_TIME_ENV]: String(Date.now() - ago) });
/** Booted long before any file of the fixtures: the boot rule never applies. */
const LONG_UP = bootedAgo(30 * 86_400_000);

const temp = (base: string, pid: number, rand = '0123456789ab'): string =>
  `.${base}.${pid.toString(36)}-${rand}.fdkeeper-tmp`;

/** A pid that was just used by a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

interface Fixture {
  dir: string;
  livePid: number;
  dead: number;
  names: { deadTemp: string; liveYoung: string; liveOld: string; deadClaim: string; dirLike: string; other: string };
  stop: () => void;
}

function fixture(): Fixture {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-clean-')));
  const live = spawn('sleep', ['60'], { stdio: 'ignore' });
  const livePid = live.pid!;
  const dead = deadPid();
  const names = {
    deadTemp: temp('out.json', dead),
    liveYoung: temp('cfg.json', livePid, 'aaaaaaaaaaaa'),
    liveOld: temp('old.json', livePid, 'bbbbbbbbbbbb'),
    deadClaim: '.report.pdf.fdkeeper-claim',
    dirLike: temp('dir', dead, 'cccccccccccc'),
    other: 'notes.txt',
  };
  fs.writeFileSync(path.join(dir, names.deadTemp), 'x'.repeat(100));
  fs.writeFileSync(path.join(dir, names.liveYoung), 'y');
  fs.writeFileSync(path.join(dir, names.liveOld), 'z');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  fs.utimesSync(path.join(dir, names.liveOld), twoHoursAgo, twoHoursAgo);
  fs.writeFileSync(path.join(dir, names.deadClaim), `${dead}\n${os.hostname()}\n`);
  fs.mkdirSync(path.join(dir, names.dirLike));
  fs.writeFileSync(path.join(dir, names.other), 'keep me');
  return { dir, livePid, dead, names, stop: () => live.kill('SIGKILL') };
}

test("clean --json: dead writer's temp and claim and an old temp removed, a live writer's fresh temp kept, each with its reason", async () => {
  const f = fixture();
  try {
    const run = await runCli(['clean', f.dir, '--json'], { env: LONG_UP });
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as CleanReport;
    assert.deepEqual(Object.keys(r), [
      'dir',
      'dryRun',
      'olderThanMs',
      'checkPids',
      'anyOwner',
      'removed',
      'kept',
      'otherFiles',
    ]);
    assert.deepEqual(Object.keys(r.removed[0]!), ['name', 'kind', 'pid', 'host', 'uid', 'size', 'modified', 'reason']);
    assert.equal(r.anyOwner, false);
    assert.equal(r.dir, f.dir);
    assert.equal(r.olderThanMs, 3600_000);
    assert.equal(r.dryRun, false);
    const removed = Object.fromEntries(r.removed.map((e) => [e.name, e]));
    const kept = Object.fromEntries(r.kept.map((e) => [e.name, e]));
    assert.deepEqual(Object.keys(removed).sort(), [f.names.deadTemp, f.names.liveOld, f.names.deadClaim].sort());
    assert.deepEqual(Object.keys(kept).sort(), [f.names.liveYoung, f.names.dirLike].sort());
    assert.equal(removed[f.names.deadTemp]!.reason, `writer pid ${f.dead} is not running`);
    assert.equal(removed[f.names.deadTemp]!.size, 100);
    assert.equal(removed[f.names.deadTemp]!.pid, f.dead);
    assert.match(removed[f.names.liveOld]!.reason, /^modified 2h( 0\dm)? ago, older than 1h$/);
    assert.equal(removed[f.names.deadClaim]!.kind, 'claim');
    assert.equal(removed[f.names.deadClaim]!.reason, `claim of pid ${f.dead} on this host, which is not running`);
    assert.match(
      kept[f.names.liveYoung]!.reason,
      new RegExp(`^writer pid ${f.livePid} is running; modified \\S+ ago, younger than 1h$`),
    );
    assert.equal(kept[f.names.dirLike]!.reason, 'a directory, not a regular file: not one of ours');
    assert.equal(r.otherFiles, 1);
    // What is on disk agrees with the report.
    assert.deepEqual(fs.readdirSync(f.dir).sort(), [f.names.liveYoung, f.names.dirLike, f.names.other].sort());
    assert.equal(fs.readFileSync(path.join(f.dir, f.names.other), 'utf8'), 'keep me');
  } finally {
    f.stop();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test('clean --dry-run (table, NO_COLOR): lists the same decisions, removes nothing, no escape codes', async () => {
  const f = fixture();
  try {
    const before = fs.readdirSync(f.dir).sort();
    const run = await runCli(['clean', '--dry-run', f.dir], { env: { NO_COLOR: '1', FORCE_COLOR: '1', ...LONG_UP } });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(ESC));
    assert.deepEqual(fs.readdirSync(f.dir).sort(), before, 'nothing removed');
    assert.match(run.stdout, /dry run: nothing removed/);
    assert.match(run.stdout, /^would remove 3:$/m);
    assert.match(
      run.stdout,
      new RegExp(
        `^ {2}${f.names.deadTemp.replace(/\./g, '\\.')} +temp +100 B +writer pid ${f.dead} is not running$`,
        'm',
      ),
    );
    assert.match(run.stdout, /^kept 2:$/m);
    assert.match(run.stdout, new RegExp(`writer pid ${f.livePid} is running`));
    assert.match(run.stdout, /^1 other entry \(not fdkeeper temp files or claims\) left alone$/m);

    // --older-than 0 makes age alone enough: the live writer's fresh temp goes too.
    const all = await runCli(['clean', '--older-than', '0s', '--json', f.dir], { env: LONG_UP });
    assert.equal(all.code, 0, all.stderr);
    assert.ok((JSON.parse(all.stdout) as CleanReport).removed.some((e) => e.name === f.names.liveYoung));
  } finally {
    f.stop();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test("clean --no-check-pids decides by age only: a dead writer's fresh temp is kept", async () => {
  const f = fixture();
  try {
    const run = await runCli(['clean', '--no-check-pids', '--json', f.dir], { env: LONG_UP });
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as CleanReport;
    assert.equal(r.checkPids, false);
    assert.deepEqual(
      r.removed.map((e) => e.name),
      [f.names.liveOld],
    );
    assert.ok(r.kept.some((e) => e.name === f.names.deadTemp && /pids not checked/.test(e.reason)));
  } finally {
    f.stop();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test('clean of a missing directory: exit 1 naming it; a bad --older-than: exit 2', async () => {
  const missing = path.join(os.tmpdir(), `fdkeeper-no-such-dir-${process.pid}`);
  const [gone, bad] = await Promise.all([
    runCli(['clean', missing]),
    runCli(['clean', '--older-than', 'a while', os.tmpdir()]),
  ]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`^fdkeeper clean: ENOENT: no such file or directory, scandir '${missing}'`));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'a while' is not a duration/);
});

// Issue 12.1: a live writer's temp must be judged by the right rule whatever the host's uptime. The boot
// time is faked (FDKEEPER_TEST_BOOT_TIME_MS) before and after the files' mtimes, so this runs the same
// on a machine booted a minute ago and on one up for a month.
test("clean: a live writer's temp, with the boot faked before and after its mtime: each rule says what decided", async () => {
  const f = fixture();
  const young = temp('mid.json', f.livePid, 'dddddddddddd');
  const thirtyMinutesAgo = new Date(Date.now() - 30 * 60_000);
  fs.writeFileSync(path.join(f.dir, young), 'm');
  fs.utimesSync(path.join(f.dir, young), thirtyMinutesAgo, thirtyMinutesAgo);
  const reasons = async (env: NodeJS.ProcessEnv): Promise<Map<string, { removed: boolean; reason: string }>> => {
    const run = await runCli(['clean', '--dry-run', '--json', f.dir], { env });
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as CleanReport;
    const entries = [
      ...r.removed.map((e) => ({ ...e, removed: true })),
      ...r.kept.map((e) => ({ ...e, removed: false })),
    ];
    return new Map(entries.map((e) => [e.name, { removed: e.removed, reason: e.reason }]));
  };
  // The clock moves while the test runs: "30m" may read "30m 01s".
  const verdict = (v: { removed: boolean; reason: string } | undefined, removed: boolean, reason: RegExp): void => {
    assert.equal(v?.removed, removed, v?.reason);
    assert.match(v.reason, reason);
  };
  try {
    // Booted 3 h ago: both files were written since; the live writer keeps its 30-minute-old temp.
    const before = await reasons(bootedAgo(3 * 3600_000));
    verdict(
      before.get(young),
      false,
      new RegExp(`^writer pid ${f.livePid} is running; modified 30m( 0\\ds)? ago, younger than 1h$`),
    );
    verdict(before.get(f.names.liveOld), true, /^modified 2h( 0\dm)? ago, older than 1h$/);
    // Booted 10 min ago (a CI machine): the 30-minute-old temp predates the boot, so whoever has that
    // pid now cannot be its writer. The 2-hour-old one is still removed by age, and said so: the boot
    // rule never explains a file the age rule already covers.
    const after = await reasons(bootedAgo(10 * 60_000));
    verdict(
      after.get(young),
      true,
      new RegExp(
        `^writer pid ${f.livePid} is running, but modified 30m( 0\\ds)? ago, before this host booted 10m( 0\\ds)? ago: that pid is another process now$`,
      ),
    );
    verdict(after.get(f.names.liveOld), true, /^modified 2h( 0\dm)? ago, older than 1h$/);
    // The real boot time (no fake): the 2-hour-old file's reason does not depend on the uptime.
    const real = await reasons({ [TEST_BOOT_TIME_ENV]: undefined });
    verdict(real.get(f.names.liveOld), true, /^modified 2h( 0\dm)? ago, older than 1h$/);
  } finally {
    f.stop();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test('clean: impossible pids and look-alike content are not ours: kept, with a reason that says so', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-clean-')));
  const names = {
    pid0: temp('zero', 0),
    pidHuge: `.huge.${(2 ** 40).toString(36)}-0123456789ab.fdkeeper-tmp`,
    badClaim: '.notes.fdkeeper-claim',
    claimPid0: '.zero.fdkeeper-claim',
    twoLinks: temp('linked', deadPid(), 'eeeeeeeeeeee'),
    emptyClaim: '.crashed.fdkeeper-claim',
  };
  try {
    for (const n of [names.pid0, names.pidHuge]) fs.writeFileSync(path.join(dir, n), 'x');
    fs.writeFileSync(path.join(dir, names.badClaim), 'my own notes, not a claim\n');
    fs.writeFileSync(path.join(dir, names.claimPid0), `0\n${os.hostname()}\n`);
    fs.writeFileSync(path.join(dir, 'precious'), 'precious data');
    fs.linkSync(path.join(dir, 'precious'), path.join(dir, names.twoLinks));
    fs.writeFileSync(path.join(dir, names.emptyClaim), '');
    const run = await runCli(['clean', '--json', '--older-than', '0s', dir], { env: LONG_UP });
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as CleanReport;
    const kept = new Map(r.kept.map((e) => [e.name, e.reason]));
    assert.match(
      kept.get(names.pid0) ?? '',
      /^pid 0 in its name is not a possible process id \(1–\d+\): not one of ours$/,
    );
    assert.match(kept.get(names.pidHuge) ?? '', /^pid 1099511627776 in its name is not a possible process id/);
    assert.equal(kept.get(names.badClaim), 'its content is not a claim\'s ("PID\\nHOST\\n"): not one of ours');
    assert.equal(kept.get(names.claimPid0), 'its content is not a claim\'s ("PID\\nHOST\\n"): not one of ours');
    assert.equal(kept.get(names.twoLinks), '2 hard links, where a temp file or claim has one: not one of ours');
    assert.deepEqual(
      r.removed.map((e) => [e.name, e.reason]),
      [[names.emptyClaim, 'empty claim: its writer crashed before the content reached the disk']],
    );
    assert.equal(fs.readFileSync(path.join(dir, 'precious'), 'utf8'), 'precious data');
    assert.deepEqual(
      fs.readdirSync(dir).sort(),
      Object.values(names)
        .filter((n) => n !== names.emptyClaim)
        .concat('precious')
        .sort(),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('clean: a name that is not valid UTF-8 is still removed, and printed with octal escapes; control characters never reach the terminal', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-clean-')));
  const dead = deadPid();
  const invalid = Buffer.concat([
    Buffer.from('.bad'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(`.${dead.toString(36)}-0123456789ab.fdkeeper-tmp`),
  ]);
  const hostile = temp('log\n  FAKE ROW \u001b[31mred\u001b]0;title\u0007\u202e', dead, 'ffffffffffff');
  try {
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), invalid]), 'x');
    fs.writeFileSync(path.join(dir, hostile), 'y');
    const run = await runCli(['clean', dir], { env: { FORCE_COLOR: '0', ...LONG_UP } });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(fs.readdirSync(dir), [], 'both removed');
    assert.ok(!run.stdout.includes('\u001b'), 'no ESC reaches the terminal');
    assert.ok(!run.stdout.includes('\u0007') && !run.stdout.includes('\u202e'));
    assert.doesNotMatch(run.stdout, /^ *FAKE ROW/m, 'no fake row');
    assert.match(
      run.stdout,
      new RegExp(`^ {2}\\.bad\\\\377\\\\376\\.${dead.toString(36)}-0123456789ab\\.fdkeeper-tmp +temp`, 'm'),
    );
    assert.ok(run.stdout.includes('.log\\n  FAKE ROW \\033[31mred\\033]0;title\\a\\u202e.'), run.stdout);
    // The same with a naive print (what `clean` did before): the ESC and the newline go through raw.
    assert.ok(`  ${hostile}`.includes('\u001b') && hostile.includes('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Issue 11.7: root cleaning a shared sticky directory. A second real user plants look-alikes: files with
// our names and a dead pid, an empty claim, symlinks to root's files, FIFOs. None may be removed, opened
// blocking, or followed; only --any-owner considers the attacker's regular files, and still never links
// or FIFOs.
test(
  "clean as root in a shared sticky dir: another user's look-alikes, links and FIFOs are left alone",
  { skip: attacker === undefined ? ATTACKER_SKIP : false },
  async () => {
    const a = attacker!;
    const dir = sharedStickyDir('fdk-clean-shared-');
    const dead = deadPid();
    const victim = path.join(path.dirname(dir), 'victim.conf');
    fs.writeFileSync(victim, 'root config\n');
    fs.chmodSync(path.dirname(dir), 0o755);
    const planted = {
      deadTemp: temp('app.json', dead, '111111111111'),
      emptyClaim: '.app.json.fdkeeper-claim',
      fakeClaim: '.db.fdkeeper-claim',
      linkTemp: temp('victim', dead, '222222222222'),
      linkClaim: '.victim.fdkeeper-claim',
      fifoClaim: '.pipe.fdkeeper-claim',
      fifoTemp: temp('pipe', dead, '333333333333'),
    };
    const ours = temp('ours.json', dead, '444444444444');
    a.sh(
      [
        `cd '${dir}'`,
        `printf x > '${planted.deadTemp}'`,
        `: > '${planted.emptyClaim}'`,
        `printf '${dead}\\n${os.hostname()}\\n' > '${planted.fakeClaim}'`,
        `ln -s '${victim}' '${planted.linkTemp}'`,
        `ln -s '${victim}' '${planted.linkClaim}'`,
        `mkfifo '${planted.fifoClaim}' '${planted.fifoTemp}'`,
      ].join(' && '),
    );
    fs.writeFileSync(path.join(dir, ours), 'root temp');
    const before = fs.readdirSync(dir).sort();
    try {
      const run = await runCli(['clean', '--json', '--older-than', '0s', dir], { env: LONG_UP, timeoutMs: 60_000 });
      assert.equal(run.signal, null, 'no hang on a FIFO');
      assert.equal(run.code, 0, run.stderr);
      const r = JSON.parse(run.stdout) as CleanReport;
      assert.deepEqual(
        r.removed.map((e) => e.name),
        [ours],
        "only root's own temp",
      );
      const kept = new Map(r.kept.map((e) => [e.name, e]));
      for (const n of [planted.deadTemp, planted.emptyClaim, planted.fakeClaim]) {
        assert.equal(
          kept.get(n)?.reason,
          `owned by uid ${a.uid}, not by this user (uid 0): left alone (--any-owner to include it)`,
          n,
        );
        assert.equal(kept.get(n)?.uid, a.uid);
      }
      for (const n of [planted.linkTemp, planted.linkClaim])
        assert.equal(kept.get(n)?.reason, 'a symbolic link, not a regular file: not one of ours', n);
      for (const n of [planted.fifoTemp, planted.fifoClaim])
        assert.equal(kept.get(n)?.reason, 'a FIFO, not a regular file: not one of ours', n);
      assert.deepEqual(
        fs.readdirSync(dir).sort(),
        before.filter((n) => n !== ours),
      );
      assert.equal(fs.readFileSync(victim, 'utf8'), 'root config\n', 'the link target untouched');

      // --any-owner: the attacker's regular files are judged like root's (a dead pid, an empty claim);
      // links and FIFOs are still never ours. The control for the owner rule above: without it, root
      // would have deleted these by name alone.
      const any = await runCli(['clean', '--json', '--any-owner', '--dry-run', '--older-than', '0s', dir], {
        env: LONG_UP,
        timeoutMs: 60_000,
      });
      assert.equal(any.code, 0, any.stderr);
      const ra = JSON.parse(any.stdout) as CleanReport;
      assert.equal(ra.anyOwner, true);
      assert.deepEqual(
        ra.removed.map((e) => e.name).sort(),
        [planted.deadTemp, planted.emptyClaim, planted.fakeClaim].sort(),
      );
      assert.ok(ra.kept.every((e) => /not a regular file/.test(e.reason)));
      assert.deepEqual(
        fs.readdirSync(dir).sort(),
        before.filter((n) => n !== ours),
        '--dry-run removed nothing',
      );
    } finally {
      fs.rmSync(victim, { force: true });
    }
  },
);
