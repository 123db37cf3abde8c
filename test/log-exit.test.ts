/**
 * Exit tests of issue 5: an exiting process loses no buffered log line. A child process
 * (test/support/log-loss/exit-child.mjs) writes 1,000 lines of 100 bytes through a LogFile — more than
 * its 64 KiB buffer, so one part is written inside write() and the tail is still buffered, with a flush
 * timer of 60 s that never fires — and then, right after the last write: calls process.exit(), throws an
 * uncaught exception (in a callback and at module top level), leaves a promise rejection unhandled, runs
 * out of work, or receives SIGTERM, SIGINT or SIGHUP (raised by itself, or sent by the parent while it
 * waits). Every line must be in the file, once, in order.
 *
 * The exit status must be the one a normal Node process shows: each ending also runs without a LogFile
 * (`plain`), and the exit code, the terminating signal and (for exceptions) stderr must match it — so the
 * log's hooks neither swallow a signal nor change an exception's exit. The control: with
 * `exitFlush: false` the buffered tail is lost, so these checks can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertLogDistFresh } from './support/log-loss/harness.js';
import { childEnv } from './support/child-env.js';
import { LINE_BYTES, scanLines } from './support/log-loss/line.mjs';

const CHILD = fileURLToPath(new URL('./support/log-loss/exit-child.mjs', import.meta.url));
const LINES = 1000;

type End = 'exit' | 'throw' | 'throw-top' | 'reject' | 'self-signal' | 'wait-signal' | 'app-handler' | 'natural';

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;
  /** The sequence numbers found in the log, in file order. */
  readonly seqs: readonly number[];
  readonly tornBytes: number;
}

interface ChildOptions {
  readonly end: End;
  readonly signal?: NodeJS.Signals;
  readonly plain?: boolean;
  readonly logOptions?: Readonly<Record<string, unknown>>;
  /** wait-signal: more signals to send first, each followed by a pause (the child must survive them). */
  readonly before?: readonly NodeJS.Signals[];
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-log-exit-'));
let runs = 0;

/** Runs one child to its end; for the waiting endings, sends the signal once it has written. */
function runChild(options: ChildOptions): Promise<ChildRun> {
  const file = path.join(dir, `log-${++runs}.log`);
  const config = {
    path: file,
    lines: LINES,
    end: options.end,
    signal: options.signal,
    plain: options.plain ?? false,
    logOptions: options.logOptions,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    });
    let stderr = '';
    let stdout = '';
    let signalled = false;
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (signalled || !stdout.includes('W')) return;
      signalled = true;
      void (async () => {
        for (const s of options.before ?? []) {
          child.kill(s);
          await new Promise((r) => setTimeout(r, 300));
        }
        child.kill(options.signal);
      })();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const seqs: number[] = [];
      let tornBytes = 0;
      if (fs.existsSync(file)) tornBytes = scanLines(fs.readFileSync(file), (seq) => seqs.push(seq));
      resolve({ code, signal, stderr, stdout, seqs, tornBytes });
    });
  });
}

function assertAllLines(r: ChildRun, expected = LINES): void {
  assert.equal(r.tornBytes, 0, 'torn or foreign bytes in the log');
  const missing = expected - r.seqs.length;
  assert.equal(
    r.seqs.length,
    expected,
    `${missing} of ${expected} lines missing (stderr: ${r.stderr.trim().slice(0, 500)})`,
  );
  r.seqs.forEach((seq, i) => {
    if (seq !== i) assert.fail(`line ${i} of the file is #${seq}: lines out of order or duplicated`);
  });
}

/** Node's report of an uncaught error, without the parts that differ between two runs (none expected). */
function errorReport(stderr: string): string {
  return stderr.replace(/\(node:\d+\)/g, '(node:PID)');
}

/** Runs the ending with a LogFile and without; asserts the same exit, and every line. */
async function sameExitEveryLine(
  options: ChildOptions,
  expected: { code: number | null; signal: NodeJS.Signals | null },
  extraLines = 0,
): Promise<{ logged: ChildRun; plain: ChildRun }> {
  const [logged, plain] = await Promise.all([runChild(options), runChild({ ...options, plain: true })]);
  assert.deepEqual(
    { code: plain.code, signal: plain.signal },
    expected,
    `a plain Node process ends so (stderr: ${plain.stderr})`,
  );
  assert.deepEqual(
    { code: logged.code, signal: logged.signal },
    expected,
    `with a LogFile the process must end as without (stderr: ${logged.stderr})`,
  );
  assertAllLines(logged, LINES + extraLines);
  return { logged, plain };
}

test.before(() => {
  assertLogDistFresh();
});
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the child writes more than one buffer: part of its lines is written inside write(), the tail is buffered at the end', () => {
  assert.ok(LINES * LINE_BYTES > 64 * 1024 && LINES * LINE_BYTES < 2 * 64 * 1024);
});

test('process.exit(3) right after writing: every line in the file, exit code 3', async () => {
  await sameExitEveryLine({ end: 'exit' }, { code: 3, signal: null });
});

test('uncaught exception right after writing: every line in the file, exit code 1, the same stack printed as without the log', async () => {
  const { logged, plain } = await sameExitEveryLine({ end: 'throw' }, { code: 1, signal: null });
  assert.match(logged.stderr, /Error: boom\n\s+at .*boom.*exit-child\.mjs:\d+:\d+/);
  assert.equal(errorReport(logged.stderr), errorReport(plain.stderr));
});

test('exception from module top-level code right after writing: every line in the file, exit code 1, the same report', async () => {
  const { logged, plain } = await sameExitEveryLine({ end: 'throw-top' }, { code: 1, signal: null });
  assert.match(logged.stderr, /Error: boom/);
  assert.equal(errorReport(logged.stderr), errorReport(plain.stderr));
});

test('unhandled promise rejection right after writing: every line in the file, exit code 1, the same report', async () => {
  const { logged, plain } = await sameExitEveryLine({ end: 'reject' }, { code: 1, signal: null });
  assert.match(logged.stderr, /Error: rejected/);
  assert.equal(errorReport(logged.stderr), errorReport(plain.stderr));
});

test('the program runs out of work with lines buffered (beforeExit): every line in the file, exit code 0', async () => {
  await sameExitEveryLine({ end: 'natural' }, { code: 0, signal: null });
});

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${signal} raised right after writing: every line in the file, and the process still dies of ${signal}`, async () => {
    await sameExitEveryLine({ end: 'self-signal', signal }, { code: null, signal });
  });

  test(`${signal} sent by another process while lines are buffered: every line in the file, the process dies of ${signal}`, async () => {
    await sameExitEveryLine({ end: 'wait-signal', signal }, { code: null, signal });
  });
}

test('an application SIGTERM handler decides: the log does not kill the process, the handler’s process.exit(0) flushes everything', async () => {
  await sameExitEveryLine({ end: 'app-handler', signal: 'SIGTERM' }, { code: 0, signal: null }, 1);
});

test('reopenOnSignal SIGHUP: SIGHUP reopens instead of killing; a later SIGTERM still flushes and kills', async () => {
  const r = await runChild({
    end: 'wait-signal',
    signal: 'SIGTERM',
    before: ['SIGHUP'],
    logOptions: { reopenOnSignal: 'SIGHUP' },
  });
  assert.deepEqual({ code: r.code, signal: r.signal }, { code: null, signal: 'SIGTERM' }, r.stderr);
  assert.match(r.stdout, /reopen:signal;/);
  assertAllLines(r);
});

test('control: with exitFlush: false the buffered tail is lost on process.exit() and on SIGTERM (the checks above can fail)', async () => {
  const [exited, killed] = await Promise.all([
    runChild({ end: 'exit', logOptions: { exitFlush: false } }),
    runChild({ end: 'wait-signal', signal: 'SIGTERM', logOptions: { exitFlush: false } }),
  ]);
  assert.equal(exited.code, 3);
  assert.equal(killed.signal, 'SIGTERM');
  for (const r of [exited, killed]) {
    assert.ok(
      r.seqs.length > 0 && r.seqs.length < LINES,
      `${r.seqs.length} of ${LINES} lines: the tail should have been lost`,
    );
  }
});
