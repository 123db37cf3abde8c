/**
 * Issue 11 item 5: no option value aborts the process. Every numeric option of the public API is tried
 * with -0, -1, 2**31, NaN, Infinity, 1.5 and 'x', in a child process (test/support/option-child.mjs,
 * running dist/) — `-0` or `2**31` as a mode used to end the process with an uncatchable C++ assertion
 * in node:fs, which would take the test runner with it. A value outside the option's rule must be an
 * FsError EINVAL naming the option and the value, with nothing created (no file, no temp, an atomic
 * write's original byte-identical); a value inside it must work.
 *
 * The control: plain node:fs with -0 as a mode dies of SIGABRT — what the checks prevent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assertLogDistFresh } from './support/log-loss/harness.js';
import { childEnv } from './support/child-env.js';
import { checkNumber, int32Arg, MODE_RULE, showValue } from '../src/errors/number-option.js';
import { FsError } from '../src/errors/fs-error.js';

const CHILD = fileURLToPath(new URL('./support/option-child.mjs', import.meta.url));
const LIB = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
const VALUES = ['-0', '-1', '2**31', 'NaN', 'Infinity', '1.5', "'x'"] as const;
type Value = (typeof VALUES)[number];
const ORIGINAL = 'original content\n';

/** One public call and one of its numeric options, with the values the option accepts among VALUES. */
interface OptionCase {
  readonly api: string;
  readonly option: string;
  readonly accepts?: readonly Value[];
  /** What a rejected call leaves in its directory: nothing, or the original target. */
  readonly leaves?: 'nothing' | 'original';
  /** Only these values get our EINVAL; node:fs's own checks answer the others (the facade). */
  readonly einvalOnly?: readonly Value[];
}

const OPTIONS: readonly OptionCase[] = [
  { api: 'open', option: 'perm' },
  { api: 'openSync', option: 'perm' },
  { api: 'open', option: 'buffering', accepts: ['-1'] },
  { api: 'openSync', option: 'buffering', accepts: ['-1'] },
  { api: 'fdopen', option: 'fd', accepts: ["'x'"] }, // 'x' is a path: open('x', 'w') in the cwd is not tried
  { api: 'openLog', option: 'mode' },
  { api: 'openLog', option: 'bufferSize' },
  { api: 'openLog', option: 'checkInterval', accepts: ['1.5'] },
  { api: 'openLog', option: 'flushInterval', accepts: ['1.5'] },
  { api: 'openLog', option: 'retryInterval', accepts: ['1.5'] },
  { api: 'openLog', option: 'renameGrace', accepts: ['1.5'] },
  { api: 'openLog', option: 'fsync.intervalMs', accepts: ['1.5'] },
  { api: 'openLog', option: 'maxKept', accepts: ['2**31'] },
  { api: 'atomicWrite', option: 'mode', leaves: 'original' },
  { api: 'atomicWriteSync', option: 'mode', leaves: 'original' },
  { api: 'atomicWrite', option: 'chown.uid', accepts: ['2**31'], leaves: 'original' },
  { api: 'atomicWrite', option: 'chown.gid', accepts: ['2**31'], leaves: 'original' },
  { api: 'atomicCreate', option: 'mode' },
  { api: 'createExclusive', option: 'wait.timeoutMs', accepts: ['2**31', 'Infinity', '1.5'] },
  { api: 'createExclusive', option: 'wait.pollMs', accepts: ['1.5'] },
  { api: 'cleanupTemps', option: 'olderThanMs', accepts: ['2**31', 'Infinity', '1.5'] },
  { api: 'FileTable', option: 'maxOpen', accepts: ['2**31', 'Infinity'] },
  { api: 'FileTable', option: 'siteThreshold', accepts: ['2**31'] },
  { api: 'FileTable', option: 'emfileRetryMs', accepts: ['2**31', 'Infinity', '1.5'] },
  { api: 'facade.openSync', option: 'mode', einvalOnly: ['-0', '2**31'] },
  { api: 'facade.mkdirSync', option: 'mode', einvalOnly: ['-0', '2**31'] },
  { api: 'facade.chmodSync', option: 'mode', einvalOnly: ['-0', '2**31'], leaves: 'original' },
];

interface Case {
  readonly id: number;
  readonly api: string;
  readonly option: string;
  readonly value: Value;
}

interface Outcome {
  readonly error: { name: string; code: string | null; message: string } | null;
  readonly files: readonly string[];
  readonly content: string | null;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-options-'));

/** Runs `cases` in children; a child that dies mid-case marks it aborted and a new child takes the rest. */
function runCases(cases: readonly Case[]): Map<number, Outcome | { aborted: string }> {
  const results = new Map<number, Outcome | { aborted: string }>();
  let left = cases;
  while (left.length > 0) {
    const r = spawnSync(process.execPath, [CHILD, JSON.stringify({ lib: LIB, root, cases: left })], {
      encoding: 'utf8',
      timeout: 120_000,
      cwd: root,
      env: childEnv(),
    });
    let started: number | undefined;
    for (const line of r.stdout.split('\n')) {
      if (line === '') continue;
      const m = JSON.parse(line) as { start?: number; done?: number } & Outcome;
      if (m.start !== undefined) started = m.start;
      else if (m.done !== undefined) {
        results.set(m.done, m);
        started = undefined;
      }
    }
    if (started !== undefined)
      results.set(started, {
        aborted: `the child died (${r.signal ?? `exit ${r.status}`}): ${r.stderr.split('\n').find((l) => /Assertion|Error/.test(l)) ?? r.stderr.slice(0, 200)}`,
      });
    const next = left.filter((c) => !results.has(c.id));
    if (next.length === left.length) throw new Error(`the child made no progress: ${r.stderr}`);
    left = next;
  }
  return results;
}

/** How the message shows a value: '-0', '2147483648', "'x'". */
function shown(v: Value): string {
  return v === '2**31' ? String(2 ** 31) : v;
}

test.before(() => {
  assertLogDistFresh();
});
test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('the validator: -0, NaN, Infinity, fractions, out-of-range and non-numbers are EINVAL naming the option and the value', () => {
  for (const v of [-0, -1, 2 ** 31, Number.NaN, Infinity, 1.5, 'x']) {
    assert.throws(
      () => checkNumber('perm', v, MODE_RULE, { syscall: 'open', path: '/p' }),
      (e: unknown) => {
        assert.ok(e instanceof FsError);
        assert.equal(e.code, 'EINVAL');
        assert.equal(e.path, '/p');
        assert.ok(
          e.message.includes(`option perm must be an integer from 0 to 0o7777, not ${showValue(v)}`),
          e.message,
        );
        return true;
      },
    );
  }
  assert.equal(showValue(-0), '-0');
  assert.equal(checkNumber('perm', 0, MODE_RULE, { syscall: 'open' }), 0);
  assert.equal(checkNumber('perm', 0o7777, MODE_RULE, { syscall: 'open' }), 0o7777);
  assert.throws(
    () => int32Arg(-0, 'mode', { syscall: 'open' }),
    /EINVAL.*mode must be an integer from 0 to 2\*\*31-1, not -0/,
  );
  assert.throws(() => int32Arg(2 ** 31, 'mode', { syscall: 'open' }), /not 2147483648/);
  assert.equal(int32Arg(-1, 'mode', { syscall: 'open' }), -1, 'left to node:fs, which refuses it without aborting');
});

test('control: plain node:fs aborts the whole process on -0 as a mode (SIGABRT, no catch possible)', () => {
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `try { require('node:fs').openSync(${JSON.stringify(path.join(root, 'plain'))}, 'w', -0) } catch { process.exit(0) }`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(
    r.signal,
    'SIGABRT',
    `expected the assertion abort (status ${r.status}, stderr ${r.stderr.slice(0, 200)})`,
  );
});

test('every numeric option with -0, -1, 2**31, NaN, Infinity, 1.5 and x: EINVAL naming it, nothing created, no temp left; no child aborts', () => {
  const cases: Case[] = [];
  for (const o of OPTIONS)
    for (const value of VALUES) cases.push({ id: cases.length, api: o.api, option: o.option, value });
  const results = runCases(cases);
  const failures: string[] = [];
  for (const c of cases) {
    const o = OPTIONS.find((x) => x.api === c.api && x.option === c.option)!;
    const what = `${c.api} ${c.option}=${c.value}`;
    const r = results.get(c.id)!;
    if ('aborted' in r) {
      failures.push(`${what}: ${r.aborted}`);
      continue;
    }
    if (o.accepts?.includes(c.value) === true) {
      if (r.error !== null && r.error.code === 'EINVAL')
        failures.push(`${what}: a valid value was refused: ${r.error.message}`);
      continue;
    }
    if (r.error === null) {
      failures.push(`${what}: accepted`);
      continue;
    }
    const ours = o.einvalOnly === undefined || o.einvalOnly.includes(c.value);
    if (ours) {
      const name = c.option === 'fd' ? 'file (a descriptor number)' : c.option;
      if (r.error.name !== 'FsError' || r.error.code !== 'EINVAL')
        failures.push(`${what}: ${r.error.name} ${r.error.code}: ${r.error.message}`);
      else if (!r.error.message.includes(name) || !r.error.message.includes(`not ${shown(c.value)}`))
        failures.push(`${what}: the message does not name the option and value: ${r.error.message}`);
    }
    const leaves = o.leaves ?? 'nothing';
    if (leaves === 'nothing' && r.files.length > 0) failures.push(`${what}: left ${r.files.join(', ')}`);
    if (leaves === 'original' && (r.files.join() !== 'target' || r.content !== ORIGINAL))
      failures.push(
        `${what}: the original is not intact (files ${r.files.join(', ')}, content ${JSON.stringify(r.content)})`,
      );
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases`);
});
