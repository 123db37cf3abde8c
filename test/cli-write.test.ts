// `fdkeeper write <path>`: the atomic sponge. It replaces the file only when the input ended cleanly
// (or, in the exec form, when the command exited 0); every other ending leaves the target
// byte-identical and no temp file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliCommand, runCli } from './support/cli-run.js';

function tempDir(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-write-')));
}

/** A target with content no run could produce by accident. */
function seed(dir: string, name = 'out.bin'): { target: string; original: Buffer } {
  const target = path.join(dir, name);
  const original = crypto.randomBytes(4096);
  fs.writeFileSync(target, original);
  return { target, original };
}

function assertUntouched(dir: string, target: string, original: Buffer): void {
  assert.deepEqual(fs.readFileSync(target), original, 'the target is byte-identical');
  assert.deepEqual(fs.readdirSync(dir), [path.basename(target)], 'no temp file left');
}

test('stdin that ends cleanly replaces the file; nothing on stdout; no temp left', async () => {
  const dir = tempDir();
  const { target } = seed(dir);
  const input = crypto.randomBytes(300_000); // several pipe buffers
  const run = await runCli(['write', target], { input });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, '');
  assert.deepEqual(fs.readFileSync(target), input);
  assert.deepEqual(fs.readdirSync(dir), ['out.bin']);
  fs.rmSync(dir, { recursive: true });
});

test('--json reports the outcome; the replaced file keeps its mode; --mode and --mkdir for a new one', async () => {
  const dir = tempDir();
  const { target } = seed(dir);
  fs.chmodSync(target, 0o640);
  const run = await runCli(['write', target, '--json'], { input: 'hello\n' });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    path: target,
    committed: true,
    bytes: 6,
    reason: null,
    exitCode: 0,
    message: null,
  });
  assert.equal(fs.statSync(target).mode & 0o777, 0o640, 'mode of the replaced file kept');

  const nested = path.join(dir, 'a', 'b', 'new.txt');
  const made = await runCli(['write', '--mkdir', '--mode', '600', nested], { input: 'x' });
  assert.equal(made.code, 0, made.stderr);
  assert.equal(fs.readFileSync(nested, 'utf8'), 'x');
  assert.equal(fs.statSync(nested).mode & 0o777, 0o600);
  const noParent = await runCli(['write', path.join(dir, 'missing', 'f.txt')], { input: 'x' });
  assert.equal(noParent.code, 1);
  assert.match(noParent.stderr, /^fdkeeper write: ENOENT/);
  fs.rmSync(dir, { recursive: true });
});

test("exec form: the command's stdout is committed only when it exits 0; otherwise its status is passed on", async () => {
  const dir = tempDir();
  const { target, original } = seed(dir);

  const failed = await runCli(['write', target, '--json', '--', 'sh', '-c', 'echo partial output; exit 3']);
  assert.equal(failed.code, 3, "the command's status");
  assert.match(
    failed.stderr,
    /^fdkeeper write: sh -c 'echo partial output; exit 3' exited with status 3; .* left as it was$/m,
  );
  assert.deepEqual(JSON.parse(failed.stdout), {
    path: target,
    committed: false,
    bytes: 15,
    reason: 'command-failed',
    exitCode: 3,
    message: `sh -c 'echo partial output; exit 3' exited with status 3; ${target} left as it was`,
  });
  assertUntouched(dir, target, original);

  const killed = await runCli(['write', target, '--', 'sh', '-c', 'echo partial; kill -TERM $$']);
  assert.equal(killed.code, 143, '128 + SIGTERM');
  assert.match(killed.stderr, /was killed by SIGTERM/);
  assertUntouched(dir, target, original);

  const missing = await runCli(['write', target, '--', 'fdkeeper-no-such-command']);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /cannot run fdkeeper-no-such-command/);
  assertUntouched(dir, target, original);

  const ok = await runCli(['write', target, '--', 'sh', '-c', 'printf "%s" "$1"', 'sh', 'generated --with dashes']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(fs.readFileSync(target, 'utf8'), 'generated --with dashes');
  assert.deepEqual(fs.readdirSync(dir), ['out.bin']);
  fs.rmSync(dir, { recursive: true });
});

/** Starts the CLI with a stdin pipe, sends part of the input, waits for the temp file, then signals it. */
async function interrupt(
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stderr: string; dir: string; target: string; original: Buffer }> {
  const dir = tempDir();
  const { target, original } = seed(dir);
  const [cmd, argv] = cliCommand(['write', target]);
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.write('the first half of the input, no end yet\n');
  // The temp file appears beside the target once the CLI is running and writing.
  for (let i = 0; i < 200 && fs.readdirSync(dir).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(fs.readdirSync(dir).length, 2, 'a temp file beside the target while input is open');
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', (c) => {
      resolve(c);
    });
    child.kill(signal);
  });
  child.stdin.destroy();
  return { code, stderr, dir, target, original };
}

test('SIGINT or SIGTERM while stdin is still open: aborts, exit 130 / 143, target byte-identical, temp removed', async () => {
  for (const [signal, expected] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const r = await interrupt(signal);
    assert.equal(r.code, expected, r.stderr);
    assert.match(r.stderr, new RegExp(`interrupted by ${signal}; .* left as it was`));
    assertUntouched(r.dir, r.target, r.original);
    fs.rmSync(r.dir, { recursive: true });
  }
});

const bash = spawnSync('bash', ['-c', 'set -o pipefail'], { stdio: 'ignore' }).status === 0;
test(
  'a failing producer in a pipe: the sponge sees a clean EOF and commits; pipefail makes the shell report it; the exec form does not commit',
  { skip: bash ? false : 'needs bash' },
  async () => {
    const dir = tempDir();
    const { target, original } = seed(dir);
    const [cmd, argv] = cliCommand(['write', target]);
    const cli = [cmd, ...argv].map((a) => `'${a}'`).join(' ');
    const piped = spawnSync('bash', ['-c', `set -o pipefail; (echo partial; exit 1) | ${cli}`], { encoding: 'utf8' });
    assert.equal(piped.status, 1, 'pipefail: the pipeline fails');
    assert.equal(
      fs.readFileSync(target, 'utf8'),
      'partial\n',
      'the reader could not know: the documented limit of a pipe',
    );

    fs.writeFileSync(target, original);
    const exec = await runCli(['write', target, '--', 'sh', '-c', 'echo partial; exit 1']);
    assert.equal(exec.code, 1);
    assertUntouched(dir, target, original);
    fs.rmSync(dir, { recursive: true });
  },
);

test('--require-input refuses empty input (exit 1); without it an empty input empties the file, as sponge does', async () => {
  const dir = tempDir();
  const { target, original } = seed(dir);
  const refused = await runCli(['write', '--require-input', target, '--json'], { input: '' });
  assert.equal(refused.code, 1);
  assert.equal((JSON.parse(refused.stdout) as { reason: string }).reason, 'empty-input');
  assertUntouched(dir, target, original);
  const emptied = await runCli(['write', target], { input: '' });
  assert.equal(emptied.code, 0, emptied.stderr);
  assert.equal(fs.statSync(target).size, 0);
  fs.rmSync(dir, { recursive: true });
});

test('a symlink is written through by default (the link stays); --replace-symlink replaces the link itself', async () => {
  const dir = tempDir();
  const real = path.join(dir, 'real.txt');
  const link = path.join(dir, 'link.txt');
  fs.writeFileSync(real, 'old');
  fs.symlinkSync('real.txt', link);
  const through = await runCli(['write', link], { input: 'through' });
  assert.equal(through.code, 0, through.stderr);
  assert.equal(fs.readlinkSync(link), 'real.txt');
  assert.equal(fs.readFileSync(real, 'utf8'), 'through');
  const replaced = await runCli(['write', '--replace-symlink', link], { input: 'own file' });
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.ok(fs.lstatSync(link).isFile());
  assert.equal(fs.readFileSync(real, 'utf8'), 'through');
  fs.rmSync(dir, { recursive: true });
});

const root = process.platform === 'linux' && process.getuid?.() === 0;
test(
  'a write error (ENOSPC on a full tmpfs): exit 1, the message names it, target byte-identical, no temp',
  { skip: root ? false : 'needs root to mount a tmpfs' },
  async () => {
    const dir = tempDir();
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    if (mount.status !== 0) {
      fs.rmSync(dir, { recursive: true });
      assert.fail(`mount tmpfs failed: ${mount.stderr.toString()}`);
    }
    try {
      const { target, original } = seed(dir);
      const run = await runCli(['write', target], { input: crypto.randomBytes(256 * 1024) });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^fdkeeper write: ENOSPC: no space left on device/);
      assertUntouched(dir, target, original);
    } finally {
      spawnSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true });
    }
  },
);

test('bad options are usage errors (exit 2), nothing written', async () => {
  const dir = tempDir();
  const { target, original } = seed(dir);
  const runs = await Promise.all([
    runCli(['write', '--mode', '999', target], { input: 'x' }),
    runCli(['write', '--durability', 'sometimes', target], { input: 'x' }),
    runCli(['write'], { input: 'x' }),
  ]);
  for (const r of runs) assert.equal(r.code, 2, r.stderr);
  assert.match(runs[0].stderr, /'999' is not an octal mode/);
  assert.match(runs[1].stderr, /Allowed choices are full, file, none/);
  assertUntouched(dir, target, original);
  fs.rmSync(dir, { recursive: true });
});

/** `sh` arguments and environment that run the CLI with the shell setting up its stdin (`< dir`, `<&-`, a FIFO). */
function shellRun(args: readonly string[], redirect: string): { argv: string[]; env: NodeJS.ProcessEnv } {
  const [cmd, argv] = cliCommand(args);
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['NODE_TEST_CONTEXT'];
  return { argv: ['-c', `"$@" ${redirect}`, 'sh', cmd, ...argv], env };
}

function viaShell(
  args: readonly string[],
  redirect: string,
): { status: number | null; stdout: string; stderr: string } {
  const { argv, env } = shellRun(args, redirect);
  const r = spawnSync('sh', argv, { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Issue 12.3: Node's stdin gives a directory as an empty stream and a closed fd 0 as /dev/null, so
// `write cfg.json < somedir` emptied cfg.json and exited 0. Every read error must abort.
test('stdin that is a directory: EISDIR aborts (exit 1, --json says read-error), target byte-identical, no temp', () => {
  const dir = tempDir();
  const { target, original } = seed(dir, 'cfg.json');
  const input = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-write-input-'));
  try {
    const r = viaShell(['write', target, '--json'], `< '${input}'`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^fdkeeper write: reading stdin failed: EISDIR: illegal operation on a directory, read; ${target} left as it was\\n$`,
      ),
    );
    const result = JSON.parse(r.stdout) as { committed: boolean; reason: string };
    assert.equal(result.committed, false);
    assert.equal(result.reason, 'read-error');
    assertUntouched(dir, target, original);
  } finally {
    fs.rmSync(input, { recursive: true });
    fs.rmSync(dir, { recursive: true });
  }
});

test('a closed stdin (<&-) is refused, not read as empty; < /dev/null still is an empty input', () => {
  const dir = tempDir();
  const { target, original } = seed(dir, 'cfg.json');
  try {
    const closed = viaShell(['write', target], '<&-');
    assert.equal(closed.status, 1, closed.stderr);
    assert.match(
      closed.stderr,
      /^fdkeeper write: stdin is closed \(<&-\): there is no input to read; for an empty input give < \/dev\/null; .*cfg\.json left as it was\n$/,
    );
    assertUntouched(dir, target, original);
    // The control: /dev/null opened by the shell is a legitimate empty input (sponge empties the file).
    const empty = viaShell(['write', target], '< /dev/null');
    assert.equal(empty.status, 0, empty.stderr);
    assert.equal(fs.statSync(target).size, 0);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("a regular file as stdin is read whole (read(2) on fd 0, not Node's stream)", () => {
  const dir = tempDir();
  const { target } = seed(dir, 'cfg.json');
  const input = path.join(os.tmpdir(), `fdkeeper-write-input-${process.pid}.bin`);
  const content = crypto.randomBytes(200_000);
  fs.writeFileSync(input, content);
  try {
    const r = viaShell(['write', target], `< '${input}'`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(target), content);
    assert.deepEqual(fs.readdirSync(dir), ['cfg.json']);
  } finally {
    fs.rmSync(input, { force: true });
    fs.rmSync(dir, { recursive: true });
  }
});

// What counts as the end of the input: a FIFO's writer closing it (even by dying) is an end of input,
// as with any pipe (the reader cannot tell); the exec form is how to commit only a producer that
// succeeded, and a producer killed by a signal mid-way then aborts.
test('a FIFO whose writer is SIGKILLed mid-way reads as EOF (documented); `write -- cmd` with cmd killed mid-way aborts', async () => {
  const dir = tempDir();
  const { target, original } = seed(dir, 'cfg.json');
  const fifo = path.join(os.tmpdir(), `fdkeeper-write-fifo-${process.pid}`);
  spawnSync('mkfifo', [fifo]);
  try {
    // The writer holds the FIFO open after writing, and is killed while it does.
    const writer = spawn('sh', ['-c', `exec 3> '${fifo}'; printf partial >&3; exec sleep 60`], { stdio: 'ignore' });
    const { argv, env } = shellRun(['write', target], `< '${fifo}'`);
    const reader = spawn('sh', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    reader.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const closed = new Promise<number | null>((resolve) => reader.on('close', resolve));
    // Wait until the 7 bytes reached the CLI's temp file, then kill the writer mid-stream.
    const deadline = Date.now() + 60_000;
    while (!fs.readdirSync(dir).some((n) => n.endsWith('.fdkeeper-tmp') && fs.statSync(path.join(dir, n)).size === 7)) {
      assert.ok(Date.now() < deadline, `the temp file never got the bytes: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    writer.kill('SIGKILL');
    const code = await closed;
    assert.equal(code, 0, stderr);
    assert.equal(fs.readFileSync(target, 'utf8'), 'partial', 'a FIFO gives no sign its writer failed');

    fs.writeFileSync(target, original);
    const killed = await runCli(['write', target, '--', 'sh', '-c', 'printf partial; kill -KILL $$']);
    assert.equal(killed.code, 137, killed.stderr);
    assert.match(killed.stderr, /was killed by SIGKILL; .* left as it was/);
    assertUntouched(dir, target, original);
  } finally {
    fs.rmSync(fifo, { force: true });
    fs.rmSync(dir, { recursive: true });
  }
});
