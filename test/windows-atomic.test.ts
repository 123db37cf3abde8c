/**
 * Atomic writes on Windows (run under Wine by `npm run test:windows`; docs/portability.md):
 * - a rename over a target that another process holds open is refused there (EPERM): fdkeeper retries
 *   it with a bounded backoff (src/atomic/rename-retry.ts), then fails clearly, the target unchanged
 *   and no temp left;
 * - a directory cannot be fsynced there: 'full' durability skips it (src/atomic/dir-sync.ts);
 * - temp names, cleanup and createExclusive's claims with drive-letter, backslashed paths.
 * The retry protocol itself is also tested on every platform, against a scripted backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { atomicWrite, atomicWriteSync } from '../src/atomic/atomic-write.js';
import { atomicCreate } from '../src/atomic/pending-file.js';
import { createExclusive } from '../src/atomic/create-exclusive.js';
import { cleanupTemps } from '../src/atomic/cleanup-temps.js';
import { isTempName, parseTempName, tempNameFor } from '../src/atomic/temp-name.js';
import { DEFAULT_RETRY_MS, nextDelay, renameRetryPolicy, retryRename } from '../src/atomic/rename-retry.js';
import { runAsync, runSync } from '../src/protocol/run.js';
import type { Backend } from '../src/backend/backend.js';
import { FsError } from '../src/errors/fs-error.js';

const WIN = process.platform === 'win32';
const WINDOWS_ONLY = WIN ? false : 'Windows-only: what Windows refuses, and its paths (npm run test:windows runs it)';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-win-atomic-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Names in `dir` that are temp files of an atomic write. */
function temps(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => isTempName(n));
}

/**
 * Another process that opens `file` for reading and holds it open for `ms` (or until killed). Resolves
 * once it has the file open. Node opens with FILE_SHARE_READ|WRITE|DELETE, as most Windows programs
 * that only read do not: this is the friendliest holder there is, and still a rename over it fails.
 */
function holdOpen(file: string, ms: number): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const code =
    'const fs=require("fs");const fd=fs.openSync(process.argv[1],"r");process.stdout.write("ready\\n");setTimeout(()=>{fs.closeSync(fd);},Number(process.argv[2]));';
  const child = spawn(process.execPath, ['-e', code, file, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) =>
    child.on('exit', () => {
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) resolve({ child, exited });
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      reject(new Error(`the holder exited (${String(code)}) before opening the file`));
    });
  });
}

/** Runs `fn` with FDKEEPER_RENAME_RETRY_MS set to `ms`. */
async function withRetryBound<T>(ms: number, fn: () => Promise<T> | T): Promise<T> {
  const old = process.env.FDKEEPER_RENAME_RETRY_MS;
  process.env.FDKEEPER_RENAME_RETRY_MS = String(ms);
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env.FDKEEPER_RENAME_RETRY_MS;
    else process.env.FDKEEPER_RENAME_RETRY_MS = old;
  }
}

// ---------------------------------------------------------------- the retry protocol, everywhere

/** A backend whose rename is refused `refusals` times (EPERM), then does `then`; lstat reports `mode`. */
function scripted(
  refusals: number,
  then: 'ok' | 'ENOENT' = 'ok',
  mode = 0o666,
): { backend: Backend; calls: () => number } {
  let calls = 0;
  const rename = (): void => {
    calls++;
    if (calls <= refusals)
      throw Object.assign(new Error('EPERM: operation not permitted, rename'), { code: 'EPERM', syscall: 'rename' });
    if (then === 'ENOENT')
      throw Object.assign(new Error('ENOENT: no such file or directory, rename'), {
        code: 'ENOENT',
        syscall: 'rename',
      });
  };
  const st = { mode: 0o100000 | mode, isFile: () => true };
  const backend = {
    renameSync: rename,
    rename: () => Promise.resolve().then(rename),
    lstatSync: () => st,
    lstat: () => Promise.resolve(st),
  } as unknown as Backend;
  return { backend, calls: () => calls };
}

const FIRST = Object.assign(new Error('EPERM'), { code: 'EPERM' });
const POLICY = { totalMs: 60_000, stepMs: 10, maxDelayMs: 100 };

test('rename retry: refused a few times, then done; the backoff grows by 10 ms up to 100 ms', async () => {
  const delays: number[] = [];
  for (let d = nextDelay(0, POLICY); delays.length < 12; d = nextDelay(d, POLICY)) delays.push(d);
  assert.deepEqual(delays, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100, 100]);
  for (const run of ['sync', 'async'] as const) {
    const { backend, calls } = scripted(3); // refused 3 times in all (the first one is the caller's), then done
    const p = retryRename(backend, 'tmp', 'target', FIRST, POLICY);
    if (run === 'sync') runSync(p);
    else await runAsync(p);
    assert.equal(calls(), 4, `${run}: renamed until it worked, and not once more`);
  }
});

test('rename retry: a refusal that outlasts the bound is an FsError with the code, what was tried, and no retry past the bound', async () => {
  for (const run of ['sync', 'async'] as const) {
    const { backend, calls } = scripted(Infinity);
    let now = 0;
    const clock = (): number => (now += 40); // every look at the clock: 40 ms later
    const p = retryRename(backend, 'tmp', 'target', FIRST, { totalMs: 400, stepMs: 10, maxDelayMs: 100 }, clock);
    const err = await (
      run === 'sync'
        ? Promise.resolve().then(() => {
            runSync(p);
          })
        : runAsync(p)
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof FsError, `${run}: an FsError`);
    assert.equal(err.code, 'EPERM');
    assert.equal(err.syscall, 'rename');
    assert.equal(err.dest, 'target');
    assert.match(err.message, /another process has the target open/);
    assert.match(err.message, /retried for up to 400 ms/);
    assert.ok(calls() >= 2 && calls() < 20, `${run}: retried, and stopped at the bound (${calls()} renames)`);
  }
});

test('rename retry: a read-only target is refused at once; another error mid-way is passed on as it is', async () => {
  const ro = scripted(Infinity, 'ok', 0o444);
  assert.throws(
    () => {
      runSync(retryRename(ro.backend, 'tmp', 'target', FIRST, POLICY));
    },
    (e: unknown) => e instanceof FsError && /read-only attribute/.test(e.message),
  );
  assert.equal(ro.calls(), 0, 'no rename tried again');
  const gone = scripted(1, 'ENOENT');
  await assert.rejects(
    runAsync(retryRename(gone.backend, 'tmp', 'target', FIRST, POLICY)),
    (e: unknown) => (e as { code?: string }).code === 'ENOENT' && !(e instanceof FsError),
  );
});

test('rename retry: the bound is 5 s unless FDKEEPER_RENAME_RETRY_MS sets another; nonsense is ignored', async () => {
  assert.equal(DEFAULT_RETRY_MS, 5000);
  await withRetryBound(250, () => {
    assert.equal(renameRetryPolicy().totalMs, 250);
  });
  await withRetryBound(0, () => {
    assert.equal(renameRetryPolicy().totalMs, 0);
  });
  for (const bad of ['-1', 'soon', '1.5']) {
    await withRetryBound(bad as unknown as number, () => {
      assert.equal(renameRetryPolicy().totalMs, DEFAULT_RETRY_MS, bad);
    });
  }
});

// ---------------------------------------------------------------- the real thing, on Windows

test(
  'Windows: a rename over a file another process holds open is refused (the control: plain fs.renameSync)',
  { skip: WINDOWS_ONLY },
  async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, 'held.txt');
    fs.writeFileSync(target, 'old');
    fs.writeFileSync(path.join(dir, 'new.txt'), 'new');
    const { child, exited } = await holdOpen(target, 60_000);
    try {
      assert.throws(
        () => {
          fs.renameSync(path.join(dir, 'new.txt'), target);
        },
        (e: unknown) => ['EPERM', 'EACCES', 'EBUSY'].includes((e as { code?: string }).code ?? ''),
      );
      assert.equal(fs.readFileSync(target, 'utf8'), 'old');
    } finally {
      child.kill();
      await exited;
    }
  },
);

test(
  'Windows: atomicWriteSync and atomicWrite over a target held open for a moment: retried until it is let go, then written',
  { skip: WINDOWS_ONLY },
  async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, 'settings.json');
    for (const form of ['sync', 'async'] as const) {
      fs.writeFileSync(target, 'old');
      const { exited } = await holdOpen(target, 600);
      if (form === 'sync') atomicWriteSync(target, `new ${form}`);
      else await atomicWrite(target, `new ${form}`);
      await exited;
      assert.equal(fs.readFileSync(target, 'utf8'), `new ${form}`);
      assert.deepEqual(temps(dir), [], 'no temp file left');
    }
  },
);

test(
  'Windows: held open past the bound: an FsError naming the target, the target byte-identical, no temp left',
  { skip: WINDOWS_ONLY },
  async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, 'held.log');
    fs.writeFileSync(target, 'the original');
    const { child, exited } = await holdOpen(target, 60_000);
    try {
      await withRetryBound(300, async () => {
        const check = (e: unknown): boolean => {
          assert.ok(e instanceof FsError);
          assert.ok(['EPERM', 'EACCES', 'EBUSY'].includes(e.code), e.code);
          assert.equal(e.path, target);
          assert.match(e.message, /another process has the target open/);
          assert.match(e.message, /the target was not changed/);
          return true;
        };
        assert.throws(() => {
          atomicWriteSync(target, 'replacement');
        }, check);
        await assert.rejects(atomicWrite(target, 'replacement'), check);
        const pending = await atomicCreate(target);
        await pending.write('replacement');
        await assert.rejects(pending.commit(), check);
      });
      assert.equal(fs.readFileSync(target, 'utf8'), 'the original');
      assert.deepEqual(temps(dir), [], 'no temp file left');
    } finally {
      child.kill();
      await exited;
    }
  },
);

test(
  "Windows: a directory cannot be fsynced there (the control), and 'full' durability skips it",
  { skip: WINDOWS_ONLY },
  async (t) => {
    const dir = tempDir(t);
    let fd: number | undefined;
    try {
      fd = fs.openSync(dir, 'r');
      fs.fsyncSync(fd);
      assert.fail('fsync of a directory worked: the skip in src/atomic/dir-sync.ts may be unneeded');
    } catch (e) {
      assert.ok(['EPERM', 'EISDIR', 'EACCES', 'EINVAL'].includes((e as { code?: string }).code ?? ''), String(e));
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    const target = path.join(dir, 'durable.txt');
    atomicWriteSync(target, 'one', { durability: 'full' });
    await atomicWrite(target, 'two', { durability: 'full' });
    assert.equal(fs.readFileSync(target, 'utf8'), 'two');
  },
);

test(
  "Windows paths: temp names beside a drive-letter target, backslashes or not; cleanupTemps removes a dead writer's temp",
  { skip: WINDOWS_ONLY },
  async (t) => {
    const dir = tempDir(t);
    assert.match(dir, /^[A-Za-z]:\\/, 'os.tmpdir() is a drive-letter path');
    const target = path.join(dir, 'a.txt');
    const temp = tempNameFor(target);
    assert.equal(path.dirname(temp), dir, "the temp file is in the target's directory");
    assert.equal(parseTempName(path.basename(temp))?.base, 'a.txt');
    // Forward slashes and a relative path name the same file.
    atomicWriteSync(target.replaceAll('\\', '/'), 'slashes');
    assert.equal(fs.readFileSync(target, 'utf8'), 'slashes');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await atomicWrite('.\\b.txt', 'relative');
    } finally {
      process.chdir(cwd);
    }
    assert.equal(fs.readFileSync(path.join(dir, 'b.txt'), 'utf8'), 'relative');
    // A temp left by a writer that is gone (a pid no process has): cleanupTemps takes it, and only it.
    const stale = path.join(dir, path.basename(tempNameFor(target)).replace(/pid\d+/, 'pid999999'));
    fs.writeFileSync(stale, 'half');
    const removed = await cleanupTemps(dir);
    assert.deepEqual(
      removed.map((p) => path.basename(p)),
      [path.basename(stale)],
    );
    assert.deepEqual(temps(dir), []);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.txt', 'b.txt']);
  },
);

test(
  'Windows: createExclusive claims a name once; the second caller is told it exists; no claim or temp left',
  { skip: WINDOWS_ONLY },
  async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, 'lock.json');
    const [a, b] = await Promise.all([createExclusive(target, 'first'), createExclusive(target, 'second')]);
    const results = [a, b];
    assert.equal(results.filter((r) => r.created).length, 1, 'exactly one created it');
    const winner = a.created ? 'first' : 'second';
    assert.equal(fs.readFileSync(target, 'utf8'), winner);
    const again = await createExclusive(target, 'third');
    assert.deepEqual(again.created, false);
    assert.equal(fs.readFileSync(target, 'utf8'), winner);
    assert.deepEqual(fs.readdirSync(dir), ['lock.json'], 'no claim or temp file left');
  },
);
