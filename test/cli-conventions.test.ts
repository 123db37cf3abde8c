// Conventions every fdkeeper command keeps: --help with examples, --version, exit code 2 for bad
// usage, no escape codes unless on a terminal (and never with NO_COLOR), --json that parses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shouldColor } from '../src/cli/output/color.js';
import { buildProgram, main, packageVersion, type ProgramIo } from '../src/cli/program.js';
import { ESC, ROOT, cliCommand, runCli } from './support/cli-run.js';
import { startFdProcess } from './support/cli-fd-process.js';

/** Runs the program in this process, capturing what it prints. */
async function inProcess(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: ProgramIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
    columns: undefined,
  };
  const code = await main(['node', 'fdkeeper', ...args], io);
  return { code, stdout, stderr };
}

test('every command has --help with a description, its options and examples of itself', async () => {
  const names = buildProgram().commands.map((c) => c.name());
  for (const expected of ['demo', 'inspect', 'watch', 'write', 'clean'])
    assert.ok(names.includes(expected), `${expected} is registered`);
  for (const name of names) {
    const help = await inProcess([name, '--help']);
    assert.equal(help.code, 0, `${name} --help`);
    assert.match(help.stdout, new RegExp(`^Usage: fdkeeper ${name} `, 'm'), name);
    assert.match(help.stdout, /^Options:$/m, name);
    assert.match(
      help.stdout,
      new RegExp(`Examples:\\n(?: {2}\\$ .*\\n)* {2}\\$ fdkeeper ${name}`),
      `${name} --help shows examples of ${name}`,
    );
    assert.ok(!help.stdout.includes(ESC), `${name} --help has no escape codes`);
  }
  const top = await inProcess(['--help']);
  assert.equal(top.code, 0);
  for (const name of names)
    assert.match(top.stdout, new RegExp(`^ {2}${name}\\b`, 'm'), `the program's help lists ${name}`);
  assert.match(top.stdout, /Exit codes \(docs\/cli\.md\): 0 ok, 1 failed, 2 bad usage/);
});

test('--version prints the package version; an unknown command or option is exit 2 with a hint', async () => {
  const v = await inProcess(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), packageVersion());
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(packageVersion(), pkg.version);
  const unknown = await inProcess(['inspekt', '1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'inspekt'/);
  assert.match(unknown.stderr, /\(Did you mean inspect\?\)/);
  const option = await inProcess(['clean', '--bogus', '.']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /unknown option '--bogus'/);
});

test('shouldColor: NO_COLOR wins over FORCE_COLOR; FORCE_COLOR=0 and TERM=dumb turn colors off; a pipe gets none by default', () => {
  assert.equal(shouldColor({ isTTY: true, env: {} }), true);
  assert.equal(shouldColor({ isTTY: false, env: {} }), false);
  assert.equal(shouldColor({ isTTY: true, env: { NO_COLOR: '1' } }), false);
  assert.equal(
    shouldColor({ isTTY: true, env: { NO_COLOR: '' } }),
    true,
    'an empty NO_COLOR does not count (no-color.org)',
  );
  assert.equal(shouldColor({ isTTY: false, env: { FORCE_COLOR: '1' } }), true);
  assert.equal(shouldColor({ isTTY: false, env: { FORCE_COLOR: '1', NO_COLOR: '1' } }), false);
  assert.equal(shouldColor({ isTTY: true, env: { FORCE_COLOR: '0' } }), false);
  assert.equal(shouldColor({ isTTY: true, env: { TERM: 'dumb' } }), false);
});

test(
  'not a terminal: no escape codes from any command, even with FORCE_COLOR unset; with NO_COLOR+FORCE_COLOR none either; --json parses',
  { skip: process.platform === 'linux' ? false : 'inspect and watch need /proc' },
  async () => {
    const child = await startFdProcess();
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-conv-')));
    try {
      const pid = String(child.pid);
      const runs: [string, string[], string | undefined][] = [
        ['inspect', ['inspect', pid], undefined],
        ['watch', ['watch', pid, '--interval', '100ms', '--count', '3'], undefined],
        ['write', ['write', path.join(dir, 'out.txt')], 'data\n'],
        ['clean', ['clean', dir], undefined],
      ];
      for (const env of [
        { NO_COLOR: undefined, FORCE_COLOR: undefined },
        { NO_COLOR: '1', FORCE_COLOR: '1' },
      ]) {
        const results = await Promise.all(runs.map(([, args, input]) => runCli(args, { env, input })));
        results.forEach((r, i) => {
          assert.equal(r.code, 0, `${runs[i]![0]}: ${r.stderr}`);
          assert.ok(
            !r.stdout.includes(ESC) && !r.stderr.includes(ESC),
            `${runs[i]![0]} printed escape codes with ${JSON.stringify(env)}`,
          );
        });
      }
      const json = await Promise.all(
        [
          ['inspect', pid, '--json'],
          ['watch', pid, '--count', '2', '--interval', '100ms', '--json'],
          ['write', path.join(dir, 'j.txt'), '--json'],
          ['clean', dir, '--json'],
        ].map((args) => runCli(args, { input: args[0] === 'write' ? 'x' : undefined, env: { FORCE_COLOR: '1' } })),
      );
      for (const r of json) {
        assert.equal(r.code, 0, r.stderr);
        for (const line of r.stdout.trim().split(/\n(?=\{)/))
          assert.doesNotThrow(() => JSON.parse(line) as unknown, r.stdout);
        assert.ok(!r.stdout.includes(ESC), 'JSON never carries colors, even with FORCE_COLOR');
      }
    } finally {
      await child.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

const script = process.platform === 'linux' && spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
test(
  'on a terminal (script(1) pty): inspect is colored; NO_COLOR turns that off',
  { skip: script ? false : 'needs util-linux script(1)' },
  async () => {
    const inPty = (env: NodeJS.ProcessEnv): Promise<string> => {
      const [cmd, argv] = cliCommand(['inspect', String(process.pid)]);
      const command = [cmd, ...argv].map((a) => `'${a}'`).join(' ');
      return new Promise((resolve, reject) => {
        const child = spawn('script', ['-qec', command, '/dev/null'], {
          env: { ...process.env, TERM: 'xterm', NO_COLOR: undefined, FORCE_COLOR: undefined, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.on('error', reject);
        child.on('close', () => {
          resolve(out);
        });
      });
    };
    const colored = await inPty({});
    assert.match(colored, new RegExp(`pid ${process.pid}`));
    assert.ok(colored.includes(ESC), 'colors on a terminal');
    const plain = await inPty({ NO_COLOR: '1' });
    assert.match(plain, new RegExp(`pid ${process.pid}`));
    assert.ok(!plain.includes(ESC), 'no colors with NO_COLOR');
  },
);

test(
  "the README's command-line quick start runs as written",
  { skip: process.platform === 'linux' ? false : 'uses /proc' },
  () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### The command line'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(block !== undefined, 'README has a "### The command line" section with a sh block');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-readme-cli-'));
    try {
      const [cmd, argv] = cliCommand([]);
      // `npx fdkeeper …` as a new user types it, run against this tree.
      // A failing line must not leave the README's background process running.
      const npx = `trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\nnpx() { [ "$1" = fdkeeper ] && shift; ${[cmd, ...argv].map((a) => `'${a}'`).join(' ')} "$@"; }\n`;
      const r = spawnSync('bash', ['-e', '-c', npx + block], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: undefined },
      });
      assert.equal(r.status, 0, `the README block failed:\n${block}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      assert.match(r.stdout, /^pid \d+ {2}node /m, 'inspect printed its table');
      assert.match(r.stdout, /stopped: duration reached/, 'watch printed its summary');
      assert.equal(fs.readFileSync(path.join(dir, 'settings.json'), 'utf8'), '{"theme":"dark"}\n');
      assert.match(r.stdout, /would remove/, 'clean --dry-run reported');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a reader that closes the pipe early (`fdkeeper --help | head -0`): a quiet exit, no EPIPE stack trace', async () => {
  // The CLI runs from the build here: the bin's EPIPE handling lives in dist/cli/main.js as users run it.
  const bin = path.join(ROOT, 'dist', 'cli', 'main.js');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['NODE_TEST_CONTEXT'];
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--help'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first write
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stderr });
    });
  });
  assert.equal(run.stderr, '', 'nothing on stderr');
  assert.equal(run.code, 0);
});

// Issue 12.8: `--interval` showed "(default: 1000)" while a bare number means seconds: 1000 s. Every
// duration option's default is shown as a duration, and no --help shows a number that reads as one.
test('--help shows duration defaults as durations (1s, 1m, 1h, 5s), never as milliseconds', async () => {
  const expected: Record<string, readonly RegExp[]> = {
    watch: [/--interval <duration> .*\(default: 1s\)/, /--window <duration> .*\(default: 1m\)/],
    clean: [/--older-than <duration> .*\(default: 1h\)/],
    report: [/--timeout <duration> .*\(default: 5s\)/],
  };
  for (const [name, patterns] of Object.entries(expected)) {
    const help = await inProcess([name, '--help']);
    assert.equal(help.code, 0);
    const flat = help.stdout.replace(/\n {20,}/g, ' '); // commander wraps long option lines
    for (const p of patterns) assert.match(flat, p, `${name} --help`);
    assert.doesNotMatch(flat, /\(default: \d{3,}\)/, `${name} --help shows no millisecond default`);
  }
  // And the defaults are what they say: a bare `--interval 1` is one second, the default 1000 ms.
  const program = buildProgram();
  const watch = program.commands.find((c) => c.name() === 'watch')!;
  assert.equal(watch.options.find((o) => o.long === '--interval')?.defaultValue, 1000);
});
