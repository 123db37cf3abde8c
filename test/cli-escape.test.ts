// Issue 11.6: outside text (file names, paths, argv, command names, error messages) reaches the terminal
// only through escapeText, as `ls -b` shows it; `--json` keeps it exact. Each command is run against a
// real process or real files with hostile names: an ESC sequence (colours, clear screen, window title),
// a newline that would fake a row, a bidi override, bytes that are not UTF-8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderReport } from '../src/cli/commands/report.js';
import { escapeLines, escapeText } from '../src/diagnostics/terminal-text.js';
import type { ProcessInspection } from '../src/cli/proc/inspect-process.js';
import type { RegisterReport } from '../src/register/report.js';
import { runCli } from './support/cli-run.js';

const linux = process.platform === 'linux' ? false : 'reads /proc (Linux only)';

/** Fails when `text` holds anything a terminal would act on. */
function assertInert(text: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.exec(text);
  assert.equal(
    bad,
    null,
    `${what}: a control character (U+${bad?.[0].codePointAt(0)?.toString(16).padStart(4, '0') ?? ''}) reached the terminal:\n${text}`,
  );
}

test('escapeText: C escapes as ls -b prints them, octal for other controls and invalid UTF-8, \\u for bidi; printable text unchanged', () => {
  assert.equal(escapeText('plain/path name-é-日本-😀.txt'), 'plain/path name-é-日本-😀.txt');
  assert.equal(escapeText('a\nb\tc\rd\u0007\b\f\v'), 'a\\nb\\tc\\rd\\a\\b\\f\\v');
  assert.equal(escapeText('\u001b[31mred\u001b]0;title\u0007'), '\\033[31mred\\033]0;title\\a');
  assert.equal(escapeText('\u0000\u007f\u0001'), '\\000\\177\\001');
  assert.equal(escapeText('back\\slash'), 'back\\\\slash', 'a backslash doubled, so an escape always means one');
  assert.equal(escapeText('\u009b31m'), '\\302\\23331m', 'C1 CSI as its UTF-8 bytes in octal');
  assert.equal(escapeText('abc\u202edcba\u2066\u2028'), 'abc\\u202edcba\\u2066\\u2028');
  assert.equal(escapeText('lone \ud800 surrogate'), 'lone \\ud800 surrogate');
  assert.equal(
    escapeText(Buffer.from([0x61, 0xff, 0xc3, 0xa9, 0xe2, 0x82, 0x0a, 0xc0, 0xaf, 0xed, 0xa0, 0x80])),
    'a\\377é\\342\\202\\n\\300\\257\\355\\240\\200',
  );
  assert.equal(escapeLines('one\u001b\ntwo'), 'one\\033\ntwo');
  // The oracle: GNU ls -b escapes a real file name the same way.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-esc-'));
  try {
    const name = Buffer.from('a\u001b\u0007\\b\nc\u009b');
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), name, Buffer.from([0xff])]), '');
    const ls = spawnSync('ls', ['-b', dir], { env: { ...process.env, LC_ALL: 'C.UTF-8' }, encoding: 'utf8' });
    if (ls.status === 0) assert.equal(ls.stdout.trim(), escapeText(Buffer.concat([name, Buffer.from([0xff])])));
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

/** A python3 process, started through a symlink with a hostile name (its comm), with hostile argv and open files. */
async function hostileProcess(): Promise<{ pid: number; dir: string; stop: () => void; names: string[] }> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-esc-')));
  const exe = path.join(dir, 'py\u001b[31mX');
  // The interpreter itself (not a pyenv shim, which finds its program by its own name).
  fs.symlinkSync(
    spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim(),
    exe,
  );
  const names = ['log\n  99  file  -  FAKE ROW', 'title\u001b]0;pwned\u0007', 'rtl\u202etxt.exe'];
  const script = [
    'import os, sys, time',
    'd = sys.argv[1]',
    `fds = [os.open(os.path.join(d, n), os.O_CREAT | os.O_RDWR) for n in ${JSON.stringify(names)}]`,
    "fds.append(os.open(os.path.join(d.encode(), b'bad\\xff\\xfe'), os.O_CREAT | os.O_RDWR))",
    "print('ready', flush=True)",
    'time.sleep(120)',
  ].join('\n');
  const child = spawn(exe, ['-c', script, dir, 'arg\u001b[2J\nFAKE'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => {
      resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`python exited ${String(code)}`));
    });
  });
  return {
    pid: child.pid!,
    dir,
    names,
    stop: () => {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const python = spawnSync('python3', ['--version']).status === 0;

test(
  'inspect and watch: a hostile command name, argv and file names are escaped; --json keeps them exact',
  { skip: linux || (python ? false : 'needs python3') },
  async () => {
    const p = await hostileProcess();
    try {
      const table = await runCli(['inspect', String(p.pid)], { env: { FORCE_COLOR: '0' } });
      assert.equal(table.code, 0, table.stderr);
      assertInert(table.stdout, 'inspect');
      assert.doesNotMatch(table.stdout, /^ *99 +file/m, 'no fake row');
      assert.match(table.stdout, /^pid \d+ {2}.*py\\033\[31mX -c .* arg\\033\[2J\\nFAKE$/m);
      assert.ok(table.stdout.includes(`${p.dir}/log\\n  99  file  -  FAKE ROW`));
      assert.ok(table.stdout.includes(`${p.dir}/title\\033]0;pwned\\a`));
      assert.ok(table.stdout.includes(`${p.dir}/rtl\\u202etxt.exe`));
      // Invalid UTF-8 in a /proc link is decoded by Node before fdkeeper sees it (U+FFFD): visible, inert.
      assert.ok(table.stdout.includes(`${p.dir}/bad\ufffd\ufffd`));

      const json = await runCli(['inspect', String(p.pid), '--json']);
      const out = JSON.parse(json.stdout) as ProcessInspection;
      assert.ok(out.cmdline.includes('arg\u001b[2J\nFAKE'), 'argv exact in JSON');
      for (const n of p.names)
        assert.ok(
          out.fds.some((f) => f.path === path.join(p.dir, n)),
          `${JSON.stringify(n)} exact in JSON`,
        );
      assert.equal(out.command, 'py\u001b[31mX');

      const watch = await runCli(['watch', String(p.pid), '--count', '1', '--interval', '100ms'], {
        env: { FORCE_COLOR: '0' },
      });
      assert.equal(watch.code, 0, watch.stderr);
      assertInert(watch.stdout, 'watch');
      assert.match(watch.stdout, /^fdkeeper watch: pid \d+ \(py\\033\[31mX\), stopped: sample count reached$/m);
      assert.match(watch.stdout, /^ {2}1 sample over /m, 'one sample, not "1 samples"');
    } finally {
      p.stop();
    }
  },
);

test('report: argv, open sites, sample paths and stacks from the process are escaped in the table', () => {
  const evil = '/tmp/x\u001b[2J\nFAKE';
  const r: RegisterReport = {
    format: 'fdkeeper-report',
    version: 1,
    reason: 'request',
    pid: 42,
    argv: ['node', 'app.js', `--name=${evil}`],
    cwd: '/',
    node: 'v20.0.0',
    time: new Date(0).toISOString(),
    uptimeMs: 1000,
    open: 1,
    opened: 1,
    closed: 0,
    gcClosed: 1,
    closedElsewhere: 0,
    sites: [
      {
        site: `leak (${evil}:1:2)`,
        function: 'leak',
        file: evil,
        line: 1,
        column: 2,
        count: 1,
        oldestAgeMs: 5,
        fds: [9],
        samplePaths: [evil],
        apis: { openSync: 1 },
        stack: `    at leak (${evil}:1:2)\n    at main`,
      },
    ],
    reclaimed: [{ site: `gc (${evil})`, count: 1, samplePaths: [evil] }],
  } as unknown as RegisterReport;
  const text = renderReport(r, { stacks: true });
  assertInert(text, 'report');
  assert.doesNotMatch(text, /^FAKE/m);
  assert.ok(text.includes('--name=/tmp/x\\033[2J\\nFAKE'));
  assert.ok(text.includes('leak (/tmp/x\\033[2J\\nFAKE:1:2)'));
  assert.match(
    text,
    /^ {4}at leak \(\/tmp\/x\\033\[2J\\nFAKE:1:2\)\n {4}at main$/m,
    "a stack keeps its own lines, not a path's",
  );
  assert.match(text, /^1 FileHandle never closed by the app was closed by the garbage collector:$/m);
  assert.ok(text.includes('1 × gc (/tmp/x\\033[2J\\nFAKE)'));
});

test('write and argument errors: a hostile path or argument in a message is escaped on stderr, exact in --json', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-esc-')));
  try {
    const target = path.join(dir, 'no\u001b[31m-dir\n', 'out');
    const run = await runCli(['write', target, '--json'], { input: 'x' });
    assert.equal(run.code, 1);
    assertInert(run.stderr, 'write');
    assert.match(run.stderr, /no\\033\[31m-dir\\n\/out/);
    assert.ok(
      (JSON.parse(run.stdout) as { message: string }).message.includes('no\u001b[31m-dir\n/out'),
      'exact in JSON',
    );

    const usage = await runCli(['inspect', '12\u001b]0;pwned\u0007']);
    assert.equal(usage.code, 2);
    assertInert(usage.stderr, 'commander error');
    assert.match(usage.stderr, /'12\\033]0;pwned\\a' is not a process id/);
    const option = await runCli(['watch', '1', '--interval', 'x\u001b[2J']);
    assert.equal(option.code, 2);
    assertInert(option.stderr, 'option error');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
