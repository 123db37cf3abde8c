// `fdkeeper clean <dir>`: removes what dead or long-gone writers left, keeps a live writer's fresh
// temp file, never touches other files, and says why for each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CleanReport } from '../src/cli/output/clean-render.js';
import { ESC, runCli } from './support/cli-run.js';

const temp = (base: string, pid: number, rand = '0123456789ab'): string => `.${base}.${pid.toString(36)}-${rand}.fdkeeper-tmp`;

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

test('clean --json: dead writer\'s temp and claim and an old temp removed, a live writer\'s fresh temp kept, each with its reason', async () => {
  const f = fixture();
  try {
    const run = await runCli(['clean', f.dir, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as CleanReport;
    assert.deepEqual(Object.keys(r), ['dir', 'dryRun', 'olderThanMs', 'checkPids', 'removed', 'kept', 'otherFiles']);
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
    assert.match(removed[f.names.liveOld]!.reason, /^modified 2h ago, older than 1h$/);
    assert.equal(removed[f.names.deadClaim]!.kind, 'claim');
    assert.equal(removed[f.names.deadClaim]!.reason, `claim of pid ${f.dead} on this host, which is not running`);
    assert.match(kept[f.names.liveYoung]!.reason, new RegExp(`^writer pid ${f.livePid} is running; modified \\S+ ago, younger than 1h$`));
    assert.equal(kept[f.names.dirLike]!.reason, 'not a regular file: not one of ours');
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
    const run = await runCli(['clean', '--dry-run', f.dir], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(ESC));
    assert.deepEqual(fs.readdirSync(f.dir).sort(), before, 'nothing removed');
    assert.match(run.stdout, /dry run: nothing removed/);
    assert.match(run.stdout, /^would remove 3:$/m);
    assert.match(run.stdout, new RegExp(`^ {2}${f.names.deadTemp.replace(/\./g, '\\.')} +temp +100 B +writer pid ${f.dead} is not running$`, 'm'));
    assert.match(run.stdout, /^kept 2:$/m);
    assert.match(run.stdout, new RegExp(`writer pid ${f.livePid} is running`));
    assert.match(run.stdout, /^1 other entry \(not fdkeeper temp files or claims\) left alone$/m);

    // --older-than 0 makes age alone enough: the live writer's fresh temp goes too.
    const all = await runCli(['clean', '--older-than', '0s', '--json', f.dir]);
    assert.equal(all.code, 0, all.stderr);
    assert.ok((JSON.parse(all.stdout) as CleanReport).removed.some((e) => e.name === f.names.liveYoung));
  } finally {
    f.stop();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test('clean --no-check-pids decides by age only: a dead writer\'s fresh temp is kept', async () => {
  const f = fixture();
  try {
    const run = await runCli(['clean', '--no-check-pids', '--json', f.dir]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as CleanReport;
    assert.equal(r.checkPids, false);
    assert.deepEqual(r.removed.map((e) => e.name), [f.names.liveOld]);
    assert.ok(r.kept.some((e) => e.name === f.names.deadTemp && /pids not checked/.test(e.reason)));
  } finally {
    f.stop();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test('clean of a missing directory: exit 1 naming it; a bad --older-than: exit 2', async () => {
  const missing = path.join(os.tmpdir(), `fdkeeper-no-such-dir-${process.pid}`);
  const [gone, bad] = await Promise.all([runCli(['clean', missing]), runCli(['clean', '--older-than', 'a while', os.tmpdir()])]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`^fdkeeper clean: ENOENT: no such file or directory, scandir '${missing}'`));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'a while' is not a duration/);
});
