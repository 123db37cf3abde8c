// `fdkeeper watch <pid>` against real processes: one that leaks descriptors steadily (growth positive,
// the threshold alarm exits 3), one that does not, one that exits; NDJSON, plain lines, and the live
// chart in a real terminal (tmux), stopped with Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fitGrowth, secondsToLimit } from '../src/cli/output/growth.js';
import { fitLine } from '../src/cli/output/live-region.js';
import { bar, sparkline } from '../src/cli/output/sparkline.js';
import type { WatchSample, WatchSummary } from '../src/cli/output/watch-render.js';
import { ESC, cliCommand, runCli } from './support/cli-run.js';
import { startFdProcess } from './support/cli-fd-process.js';

const linux = process.platform === 'linux' ? false : 'reads /proc (Linux only)';

function parseNdjson(stdout: string): { samples: WatchSample[]; summary: WatchSummary } {
  const lines = stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as WatchSample | WatchSummary);
  const summary = lines.pop();
  assert.ok(summary?.type === 'summary', 'the last line is the summary');
  assert.ok(
    lines.every((l) => l.type === 'sample'),
    'every other line is a sample',
  );
  const samples = lines;
  for (const s of samples) {
    assert.deepEqual(Object.keys(s), [
      'type',
      'time',
      'timeMs',
      'elapsedMs',
      'count',
      'byKind',
      'limit',
      'growthPerMinute',
      'secondsToLimit',
    ]);
    assert.equal(
      s.count,
      Object.values(s.byKind).reduce((a, b) => a + b, 0),
      'the kinds add up to the count',
    );
  }
  assert.deepEqual(Object.keys(summary), [
    'type',
    'pid',
    'command',
    'reason',
    'samples',
    'durationMs',
    'first',
    'last',
    'min',
    'max',
    'growthPerMinute',
    'r2',
    'secondsToLimit',
    'limit',
    'byKind',
    'threshold',
    'crossedAt',
    'exitCode',
  ]);
  return { samples, summary };
}

test(
  'watch --json on a process leaking 20 fds/s: growth about +1200/min, time to the limit from it, summary after --count',
  { skip: linux },
  async () => {
    const child = await startFdProcess({ softLimit: 4000, leakMs: 50 });
    try {
      const run = await runCli(['watch', String(child.pid), '--interval', '250ms', '--count', '8', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const { samples, summary } = parseNdjson(run.stdout);
      assert.equal(samples.length, 8);
      assert.equal(summary.samples, 8);
      assert.equal(summary.reason, 'count');
      assert.equal(summary.pid, child.pid);
      assert.equal(summary.command, 'node');
      assert.ok(samples[7]!.count > samples[0]!.count + 20, `grew: ${samples.map((s) => s.count).join(' ')}`);
      assert.ok(samples[7]!.byKind.file > samples[0]!.byKind.file, 'the growth is in files');
      assert.equal(samples[7]!.byKind.socket, samples[0]!.byKind.socket, 'sockets steady');
      // 20 per second is 1200 per minute; a loaded machine delays the leak timer, never speeds it up.
      assert.ok(
        summary.growthPerMinute! > 500 && summary.growthPerMinute! < 1400,
        `growth ${summary.growthPerMinute!}/min`,
      );
      assert.ok(summary.r2! > 0.9, `steady: r² ${summary.r2!}`);
      const expected = ((4000 - summary.last!) / summary.growthPerMinute!) * 60;
      assert.ok(
        Math.abs(summary.secondsToLimit! - expected) < 1,
        `${summary.secondsToLimit!} s to the limit ≈ ${expected}`,
      );
      assert.deepEqual(summary.limit, { soft: 4000, hard: 4000 });
      assert.equal(summary.exitCode, 0);
      assert.equal(summary.crossedAt, null);
    } finally {
      await child.stop();
    }
  },
);

test(
  'watch --threshold: exits 3 as soon as the count reaches it (a count, or a percentage of the soft limit)',
  { skip: linux },
  async () => {
    const child = await startFdProcess({ softLimit: 500, leakMs: 20 });
    try {
      const run = await runCli([
        'watch',
        String(child.pid),
        '--interval',
        '100ms',
        '--threshold',
        String(child.fds.length + 25),
        '--json',
        '--duration',
        '20s',
      ]);
      assert.equal(run.code, 3, run.stderr);
      const { samples, summary } = parseNdjson(run.stdout);
      assert.equal(summary.reason, 'threshold');
      assert.equal(summary.exitCode, 3);
      assert.equal(summary.threshold, child.fds.length + 25);
      assert.ok(summary.crossedAt !== null && summary.crossedAt.count >= summary.threshold);
      assert.equal(summary.crossedAt.sample, samples.length, 'it stopped at the sample that crossed');
      assert.ok(
        samples.slice(0, -1).every((s) => s.count < summary.threshold!),
        'no earlier sample crossed',
      );

      // 20% of the soft limit of 500 is 100 descriptors.
      const pct = await runCli(
        ['watch', String(child.pid), '--interval', '100ms', '--threshold', '20%', '--duration', '20s'],
        { env: { NO_COLOR: '1' } },
      );
      assert.equal(pct.code, 3, pct.stderr);
      assert.match(pct.stdout, /stopped: THRESHOLD CROSSED/);
      assert.match(pct.stdout, /^ {2}threshold 100 crossed at \S+ \(sample \d+: \d+ open\)$/m);
    } finally {
      await child.stop();
    }
  },
);

test(
  'watch of a steady process (plain lines, not a terminal): no escape codes, growth ~0, not growing toward the limit',
  { skip: linux },
  async () => {
    const child = await startFdProcess();
    try {
      const run = await runCli(['watch', String(child.pid), '--interval', '200ms', '--duration', '1s'], {
        env: { FORCE_COLOR: undefined, NO_COLOR: undefined },
      });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(!run.stdout.includes(ESC), 'no escape codes into a pipe');
      const lines = run.stdout.split('\n').filter((l) => / fds=\d+ /.test(l));
      assert.ok(lines.length >= 5 && lines.length <= 7, `${lines.length} sample lines`);
      for (const l of lines)
        assert.match(l, new RegExp(`^\\S+Z fds=${child.fds.length} file=\\d+ dir=1 pipe=\\d+ socket=\\d+ `));
      assert.match(run.stdout, /stopped: duration reached/);
      assert.match(run.stdout, /growth [+−±]0\.0 fds\/min .*not growing toward the limit/);
    } finally {
      await child.stop();
    }
  },
);

test(
  'watch ends with a summary when the process exits (exit 0); a pid that is gone from the start is exit 4',
  { skip: linux },
  async () => {
    const child = await startFdProcess();
    // Stop the process once the watch has taken three samples of it.
    let lines = 0;
    let stopping: Promise<void> | undefined;
    const run = await runCli(['watch', String(child.pid), '--interval', '100ms', '--json'], {
      onStdout: (text) => {
        lines += text.split('\n').length - 1;
        if (lines >= 3) stopping ??= child.stop();
      },
    });
    await stopping;
    assert.equal(run.code, 0, run.stderr);
    const { samples, summary } = parseNdjson(run.stdout);
    assert.equal(summary.reason, 'exited');
    assert.ok(samples.length >= 3);
    const gone = await runCli(['watch', String(child.pid)]);
    assert.equal(gone.code, 4);
    assert.match(gone.stderr, /^fdkeeper watch: no process with pid/);
  },
);

test('watch with bad options: usage errors, exit 2', async () => {
  const runs = await Promise.all([
    runCli(['watch', '1', '--interval', 'soon']),
    runCli(['watch', '1', '--threshold', '120%']),
    runCli(['watch', '1', '--count', '0']),
  ]);
  for (const r of runs) assert.equal(r.code, 2, r.stderr);
  assert.match(runs[0].stderr, /'soon' is not a duration/);
  assert.match(runs[1].stderr, /'120%' is not a threshold/);
});

const tmux = process.platform === 'linux' && spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
test(
  'watch on a terminal (tmux): the chart is drawn and redrawn in place, Ctrl-C stops it with a summary and exit 0',
  { skip: tmux ? false : 'needs tmux' },
  async () => {
    const child = await startFdProcess({ softLimit: 4000, leakMs: 100 });
    const session = `fdkeeper-watch-${process.pid}`;
    const [cmd, argv] = cliCommand(['watch', String(child.pid), '--interval', '200ms']);
    const quoted = [cmd, ...argv].map((a) => `'${a}'`).join(' ');
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
    delete env['NO_COLOR'];
    delete env['FORCE_COLOR'];
    const capture = (): string => spawnSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).stdout;
    const waitFor = async (re: RegExp, what: string): Promise<string> => {
      let screen = '';
      for (let i = 0; i < 100; i++) {
        screen = capture();
        if (re.test(screen)) return screen;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`${what} never appeared; the screen:\n${screen}`);
    };
    try {
      const started = spawnSync(
        'tmux',
        ['new-session', '-d', '-s', session, '-x', '100', '-y', '30', `${quoted}; echo "EXIT=$?"; sleep 60`],
        { env },
      );
      assert.equal(started.status, 0, started.stderr.toString());
      const screen = await waitFor(/^growth \+/m, 'the chart with a growth rate');
      assert.match(screen, /^fdkeeper watch \d+ \(node\) · every 200ms · \d+ samples over/m);
      assert.match(screen, /^open +\d+ [▁▂▃▄▅▆▇█]+ +min \d+ · max \d+$/m);
      assert.match(screen, /^limit \d+\.\d% of 4000 \(hard 4000\)$/m);
      assert.match(screen, /^growth \+\d+ fds\/min \(r² /m);
      assert.match(screen, /^ {2}file +\d+ [█▉▊▋▌▍▎▏]+$/m);
      // Later frames replace earlier ones: the header is on screen once, with a higher sample count.
      const later = await waitFor(/ (1\d|[2-9]\d) samples over/, 'ten samples');
      assert.equal(later.match(/^fdkeeper watch /gm)?.length, 1, `one frame on screen:\n${later}`);

      spawnSync('tmux', ['send-keys', '-t', session, 'C-c']);
      const end = await waitFor(/EXIT=\d+/, 'the exit status');
      assert.match(end, /fdkeeper watch: pid \d+ \(node\), stopped: interrupted/);
      assert.match(end, /^ {2}\d+ samples over .*: \d+ → \d+ open \(\+\d+\)/m);
      assert.match(end, /^EXIT=0$/m);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
      await child.stop();
    }
  },
);

test('fitGrowth: the least-squares slope per minute and r²; secondsToLimit; sparkline and bar scale', () => {
  const steady = Array.from({ length: 10 }, (_, i) => ({ timeMs: 1000 * i, count: 100 + 2 * i }));
  assert.deepEqual(fitGrowth(steady), { perMinute: 120, r2: 1 });
  assert.equal(fitGrowth(steady.slice(0, 1)), undefined);
  assert.deepEqual(
    fitGrowth([
      { timeMs: 0, count: 5 },
      { timeMs: 1000, count: 5 },
    ]),
    { perMinute: 0, r2: 1 },
  );
  // One burst at the end moves a regression less than it moves last-minus-first.
  const burst = [...steady.slice(0, 9).map((p) => ({ ...p, count: 100 })), { timeMs: 9000, count: 190 }];
  assert.ok(fitGrowth(burst)!.perMinute < ((190 - 100) / 9) * 60);
  assert.equal(secondsToLimit(900, 1024, 124), 60);
  assert.equal(secondsToLimit(900, 1024, 0), undefined);
  assert.equal(secondsToLimit(900, null, 10), undefined);
  assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([5, 5, 5], 10), '▁▁▁');
  assert.equal(sparkline([1, 2, 3, 4], 2), '▁█', 'the most recent values');
  assert.equal(bar(10, 10, 4), '████');
  assert.equal(bar(1, 16, 4), '▎');
  assert.equal(bar(0, 10, 4), '');
  // A live frame's line never wraps: colored text is measured without its escape codes.
  assert.equal(fitLine('\u001b[31mshort\u001b[39m', 10), '\u001b[31mshort\u001b[39m');
  assert.equal(fitLine('\u001b[31m0123456789abc\u001b[39m', 10), '012345678…');
});
