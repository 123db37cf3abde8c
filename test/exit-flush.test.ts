/**
 * The flush at exit, in real child processes (test/support/exit-flush-child.mjs, running dist/):
 *
 * - issue 10 item 4: SIGTERM and SIGINT end the process — with the status the signal gives a process
 *   without fdkeeper — also when signal-exit is loaded (before or after fdkeeper) and when two copies of
 *   fdkeeper are loaded; every line of every log is in its file, and signal-exit's exit callbacks run once.
 * - issue 12 item 4: a still-open buffered or text file from open()/fdopen() is flushed when the process
 *   exits (process.exit, the end of the program, an uncaught exception, SIGTERM), per mode; a flush that
 *   fails at exit is reported on stderr with the path and the open site.
 *
 * Controls: the same children with fdkeeper's hooks removed (`naive`) lose the buffered tail, so the
 * line counts can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assertLogDistFresh } from './support/log-loss/harness.js';
import { childEnv } from './support/child-env.js';
import { LINE_BYTES, scanLines } from './support/log-loss/line.mjs';
import { isExitFlushListener, signalAction, EXIT_FLUSH_MARK } from '../src/process/exit-hooks.js';

const CHILD = fileURLToPath(new URL('./support/exit-flush-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const LIB = pathToFileURL(path.join(DIST, 'index.js')).href;
/** 1,000 lines of 100 bytes: more than the 64 KiB buffers, so part is written while writing and the tail is buffered. */
const LINES = 1000;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-exit-flush-'));
let runs = 0;
/** A second copy of the build, in another directory: a second fdkeeper, as two installed versions give. */
let copyLib = '';

interface ChildConfig {
  readonly libs: readonly string[];
  readonly kind: 'log' | 'io';
  readonly mode?: string;
  readonly end: 'exit' | 'natural' | 'throw' | 'wait';
  readonly signal?: NodeJS.Signals;
  readonly se?: 'none' | 'before' | 'after';
  readonly naive?: boolean;
  readonly faulty?: boolean;
  readonly lines?: number;
  /** Where the files go (default: a fresh directory). */
  readonly dir?: string;
}

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: Buffer;
  readonly dir: string;
  /** Milliseconds from the parent's signal to the child's end (wait only). */
  readonly afterSignalMs: number | undefined;
}

function runChild(config: ChildConfig, env: NodeJS.ProcessEnv = {}): Promise<ChildRun> {
  const dir = config.dir ?? fs.mkdtempSync(path.join(root, `run-${++runs}-`));
  const full = { lines: LINES, se: 'none', ...config, dir };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(full)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(env),
    });
    let stderr = '';
    const stdout: Buffer[] = [];
    let sentAt: number | undefined;
    // Generous: the machine is loaded. A child still alive then dies of SIGKILL, which no check accepts.
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (sentAt === undefined && config.end === 'wait' && stderr.includes('READY\n')) {
        sentAt = performance.now();
        child.kill(config.signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({
        code,
        signal,
        stderr: stderr.replace('READY\n', ''),
        stdout: Buffer.concat(stdout),
        dir,
        afterSignalMs: sentAt === undefined ? undefined : performance.now() - sentAt,
      });
    });
  });
}

/** The sequence numbers of the intact lines in `bytes`; asserts no torn bytes. */
function seqsIn(bytes: Buffer): number[] {
  const seqs: number[] = [];
  const torn = scanLines(bytes, (seq) => seqs.push(seq));
  assert.equal(torn, 0, 'torn or foreign bytes');
  return seqs;
}

function assertEveryLine(bytes: Buffer, what: string, expected = LINES): void {
  const seqs = seqsIn(bytes);
  assert.equal(seqs.length, expected, `${what}: ${expected - seqs.length} of ${expected} lines missing`);
  seqs.forEach((seq, i) => {
    if (seq !== i) assert.fail(`${what}: line ${i} is #${seq}: out of order or duplicated`);
  });
}

function out(r: ChildRun, i: number): Buffer {
  const p = path.join(r.dir, `out-${i}`);
  return fs.existsSync(p) ? fs.readFileSync(p) : Buffer.alloc(0);
}

function seExits(r: ChildRun): string[] {
  const p = path.join(r.dir, 'se.txt');
  return fs.existsSync(p)
    ? fs
        .readFileSync(p, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

test.before(() => {
  assertLogDistFresh();
  const copy = path.join(root, 'second-copy');
  fs.cpSync(DIST, path.join(copy, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ name: 'fdkeeper', type: 'module' }));
  copyLib = pathToFileURL(path.join(copy, 'dist', 'index.js')).href;
});
test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('the child writes more than one buffer: part of the lines goes out while writing, the tail is buffered', () => {
  assert.ok(LINES * LINE_BYTES > 64 * 1024 && LINES * LINE_BYTES < 2 * 64 * 1024);
});

// ------------------------------------------------------------------ issue 10 item 4: signals

test('signalAction: passive listeners (fdkeeper copies, signal-exit) re-raise once; any other listener leaves it to the application', () => {
  const mark = (f: () => void): (() => void) => Object.defineProperty(f, EXIT_FLUSH_MARK, { value: () => undefined });
  const self = mark(() => undefined);
  const copy = mark(() => undefined);
  const se = (): void => undefined;
  const app = (): void => undefined;
  assert.equal(isExitFlushListener(self), true);
  assert.equal(isExitFlushListener(se), false);
  assert.equal(signalAction([self], self, 0), 'raise');
  assert.equal(signalAction([self, copy], self, 0), 'raise', 'another fdkeeper copy is passive');
  assert.equal(signalAction([copy, self], self, 0), 'raise');
  assert.equal(signalAction([self, se], self, 1), 'defer', 'signal-exit runs after us and raises once ours are gone');
  assert.equal(signalAction([se, self], self, 1), 'raise', 'signal-exit already declined: our raise reaches it again');
  assert.equal(signalAction([se, self, copy], self, 1), 'raise');
  assert.equal(signalAction([self, app], self, 0), 'leave', 'the application decides');
  assert.equal(
    signalAction([se, self, app], self, 1),
    'leave',
    'one listener more than signal-exit counts is the application’s',
  );
  // Control: the rule before issue 10 ("re-raise only when ours is the only listener") leaves every one of
  // the passive cases above to somebody else — and signal-exit leaves it to us: nobody ends the process.
  const old = (listeners: readonly unknown[]): string => (listeners.length === 1 ? 'raise' : 'leave');
  assert.equal(old([self, se]), 'leave');
  assert.equal(old([self, copy]), 'leave');
});

const SIGNAL_SETUPS = [
  { name: 'signal-exit loaded before fdkeeper', libs: (): string[] => [LIB], se: 'before' },
  { name: 'signal-exit loaded after fdkeeper', libs: (): string[] => [LIB], se: 'after' },
  { name: 'two copies of fdkeeper', libs: (): string[] => [LIB, copyLib], se: 'none' },
  { name: 'two copies of fdkeeper and signal-exit', libs: (): string[] => [LIB, copyLib], se: 'before' },
] as const;

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  for (const setup of SIGNAL_SETUPS) {
    test(`${signal} with ${setup.name}: the process dies of ${signal} as without fdkeeper, every log line written, signal-exit's callbacks once`, async (t) => {
      const libs = setup.libs();
      const [logged, plain] = await Promise.all([
        runChild({ libs, kind: 'log', end: 'wait', signal, se: setup.se }),
        runChild({ libs: [], kind: 'log', end: 'wait', signal, se: setup.se }),
      ]);
      assert.deepEqual(
        { code: plain.code, signal: plain.signal },
        { code: null, signal },
        `without fdkeeper the process dies of ${signal} (stderr: ${plain.stderr})`,
      );
      assert.deepEqual(
        { code: logged.code, signal: logged.signal },
        { code: null, signal },
        `with fdkeeper it must end the same (stderr: ${logged.stderr})`,
      );
      libs.forEach((_, i) => {
        assertEveryLine(out(logged, i), `log of copy ${i}`);
      });
      if (setup.se !== 'none') {
        assert.deepEqual(seExits(logged), [`exit null ${signal}`], 'signal-exit ran its exit callbacks once');
        assert.deepEqual(seExits(plain), [`exit null ${signal}`]);
      }
      assert.equal(logged.stderr, '', 'nothing reported');
      t.diagnostic(
        `died ${Math.round(logged.afterSignalMs ?? -1)} ms after the signal (plain: ${Math.round(plain.afterSignalMs ?? -1)} ms)`,
      );
    });
  }
}

test('SIGTERM with signal-exit and an open io file: dies of SIGTERM, every line in the file', async () => {
  for (const se of ['before', 'after'] as const) {
    const r = await runChild({ libs: [LIB, copyLib], kind: 'io', mode: 'w', end: 'wait', signal: 'SIGTERM', se });
    assert.deepEqual({ code: r.code, signal: r.signal }, { code: null, signal: 'SIGTERM' }, r.stderr);
    assertEveryLine(out(r, 0), `copy 0, signal-exit ${se}`);
    assertEveryLine(out(r, 1), `copy 1, signal-exit ${se}`);
    assert.deepEqual(seExits(r), ['exit null SIGTERM']);
  }
});

// ------------------------------------------------------------------ issue 12 item 4: open files at exit

const MODES = ['w', 'wb', 'a', 'ab', 'r+', 'rb+', 'w+', 'x'] as const;
const ENDS = [
  { end: 'exit', status: { code: 3, signal: null } },
  { end: 'natural', status: { code: 0, signal: null } },
  { end: 'throw', status: { code: 1, signal: null } },
  { end: 'wait', signal: 'SIGTERM', status: { code: null, signal: 'SIGTERM' } },
] as const;

for (const mode of MODES) {
  test(`open(path, '${mode}'), awaited writes, still open at the end: every line in the file after process.exit, the end of the program, an uncaught exception, SIGTERM`, async () => {
    const runsOf = await Promise.all(
      ENDS.map((e) =>
        runChild({ libs: [LIB], kind: 'io', mode, end: e.end, signal: 'signal' in e ? e.signal : undefined }),
      ),
    );
    runsOf.forEach((r, i) => {
      const e = ENDS[i]!;
      assert.deepEqual({ code: r.code, signal: r.signal }, e.status, `${e.end}: exit status (stderr: ${r.stderr})`);
      assertEveryLine(out(r, 0), `'${mode}' ${e.end}`);
      if (e.end !== 'throw') assert.equal(r.stderr, '', `${e.end}: nothing reported`);
    });
  });
}

test("fdopen(1, 'w') to a pipe: the buffered tail reaches the reader at process.exit, the end of the program and SIGTERM", async () => {
  for (const e of ENDS) {
    const r = await runChild({
      libs: [LIB],
      kind: 'io',
      mode: 'fdopen1',
      end: e.end,
      signal: 'signal' in e ? e.signal : undefined,
    });
    assert.deepEqual({ code: r.code, signal: r.signal }, e.status, `${e.end}: exit status (stderr: ${r.stderr})`);
    assertEveryLine(r.stdout, `fdopen(1) ${e.end}`);
  }
});

test('control: without the exit hooks (the naive implementation) the buffered tail is lost — the checks above can fail', async () => {
  const cases = [
    { kind: 'io', mode: 'w', end: 'exit' },
    { kind: 'io', mode: 'wb', end: 'natural' },
    { kind: 'io', mode: 'a', end: 'wait', signal: 'SIGTERM' },
    { kind: 'io', mode: 'fdopen1', end: 'exit' },
  ] as const;
  const results = await Promise.all(cases.map((c) => runChild({ libs: [LIB], naive: true, ...c })));
  results.forEach((r, i) => {
    const c = cases[i]!;
    const n = seqsIn(c.mode === 'fdopen1' ? r.stdout : out(r, 0)).length;
    assert.ok(n < LINES, `${c.mode} ${c.end}: ${n} of ${LINES} lines; the tail should have been lost`);
  });
});

test('a flush that fails at exit is reported on stderr with the path and the open site; the exit status is unchanged', async () => {
  const r = await runChild({ libs: [LIB], kind: 'io', mode: 'w', end: 'exit', faulty: true, lines: 10 });
  assert.equal(r.code, 3, r.stderr);
  const file = path.join(r.dir, 'out-0');
  assert.match(
    r.stderr,
    new RegExp(
      `fdkeeper: at exit, file '${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}' \\(fd \\d+, mode 'w'\\): writing its buffered data failed: ENOSPC`,
    ),
  );
  assert.match(r.stderr, /opened at .*exit-flush-child\.mjs:\d+:\d+/, 'the open site names the child line');
  assert.equal(r.stderr.match(/fdkeeper: at exit/g)?.length, 1, 'reported once (beforeExit and exit both flush)');
});

const isRoot = process.getuid?.() === 0;

test(
  'a flush that fails at exit on a real full file system (1 MiB tmpfs) names the path and the open site',
  { skip: isRoot ? false : 'needs root to mount a tmpfs' },
  async (t) => {
    const mnt = fs.mkdtempSync(path.join(root, 'tmpfs-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`);
      return;
    }
    try {
      // Fill it but for a few KiB, so the 64 KiB buffered tail cannot fit.
      fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(1024 * 1024 - 8 * 1024));
      const r = await runChild(
        { libs: [LIB], kind: 'io', mode: 'w', end: 'exit', lines: 600, dir: mnt },
        { FDKEEPER_OPEN_SITES: 'always' },
      );
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr,
        /fdkeeper: at exit, file '.*out-0' \(fd \d+, mode 'w'\): writing its buffered data failed: ENOSPC/,
      );
      assert.match(r.stderr, /opened at .*exit-flush-child\.mjs:\d+:\d+/);
    } finally {
      spawnSync('umount', [mnt]);
    }
  },
);

test('the registry holds files weakly: a leaked open file is still collected (and flushed then), not kept for the exit', () => {
  const dir = fs.mkdtempSync(path.join(root, 'gc-'));
  const p = path.join(dir, 'leaked.txt');
  const code = `
    const { open } = await import(${JSON.stringify(LIB)});
    let f = await open(${JSON.stringify(p)}, 'w');
    await f.write('kept by nobody');
    const ref = new WeakRef(f);
    f = undefined;
    const warned = new Promise((resolve) => process.once('warning', resolve));
    for (let i = 0; i < 50 && ref.deref() !== undefined; i++) { await new Promise((r) => setTimeout(r, 10)); globalThis.gc(); }
    const w = await Promise.race([warned, new Promise((r) => setTimeout(() => r(undefined), 5000))]);
    process.stdout.write(JSON.stringify({ collected: ref.deref() === undefined, warning: w?.message, size: (await import('node:fs')).statSync(${JSON.stringify(p)}).size }));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: childEnv(),
  });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { collected: boolean; warning: string | undefined; size: number };
  assert.equal(got.collected, true, 'the file object was collected');
  assert.match(
    got.warning ?? '',
    /garbage-collected while open.*fdkeeper closed it, after writing out its buffered data \(files still open at exit are flushed too\)/,
  );
  assert.equal(got.size, 'kept by nobody'.length, 'flushed at collection');
});
