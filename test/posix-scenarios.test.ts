/**
 * Holds the in-memory backend to POSIX (as Linux implements it) by running every named scenario of
 * support/posix-scenarios.ts twice, on the real OS ({@link OsBackend}, in a fresh temp directory) and
 * on a fresh {@link MemoryBackend} (in a fresh directory `/work` of its own), and requiring the two
 * observations to be deepStrictEqual. One test per scenario, named after it.
 *
 * Both sides run under the scenario's umask and the process's uid/gid. Scenarios that need a non-root
 * user to show EACCES cannot be compared when the tests run as root (root bypasses the permission
 * bits): their comparison is skipped then, and a memory-only test checks EACCES with a non-root uid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../src/backend/backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import {
  DEFAULT_UMASK,
  POSIX_SCENARIOS,
  overriding,
  type Json,
  type Observation,
  type Scenario,
} from './support/posix-scenarios.js';

const UID = process.getuid?.() ?? 0;
const GID = process.getgid?.() ?? 0;
const IS_ROOT = UID === 0;
/** The directory each memory-side scenario runs in. */
const MEMORY_ROOT = '/work';

/**
 * `b` with every descriptor it hands out tracked, so that what a scenario leaves open (only when it
 * goes wrong) can be closed afterwards: on the OS side a leak would outlive the test.
 */
function tracking(b: Backend): { backend: Backend; closeLeftovers: () => void } {
  const open = new Set<number>();
  const created = (n: number): number => {
    open.add(n);
    return n;
  };
  const backend = overriding(b, {
    openSync: (path: string, flags: number, mode?: number) =>
      created(mode === undefined ? b.openSync(path, flags) : b.openSync(path, flags, mode)),
    open: async (path: string, flags: number, mode?: number) =>
      created(await (mode === undefined ? b.open(path, flags) : b.open(path, flags, mode))),
    reserveSync: (fd: number) => created(b.reserveSync(fd)),
    reopenSync: (fd: number, flags: number) => created(b.reopenSync(fd, flags)),
    reserveAtSync: (target: number, fd: number, replace: boolean) => {
      const ok = b.reserveAtSync(target, fd, replace);
      if (ok) open.add(target);
      return ok;
    },
    closeSync: (fd: number) => {
      b.closeSync(fd);
      open.delete(fd);
    },
    close: async (fd: number) => {
      await b.close(fd);
      open.delete(fd);
    },
  });
  return {
    backend,
    closeLeftovers: (): void => {
      for (const fd of open) {
        try {
          b.closeSync(fd);
        } catch {
          // already closed behind the tracker's back (a replaced reservation): nothing to do
        }
      }
      open.clear();
    },
  };
}

/** Runs a scenario on the real OS in a fresh temp directory under the scenario's umask. */
async function observeOs(s: Scenario): Promise<Observation> {
  const root = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-posix-'));
  const { backend, closeLeftovers } = tracking(new OsBackend());
  const saved = process.umask(s.umask ?? DEFAULT_UMASK);
  try {
    return await s.run(backend, root);
  } finally {
    process.umask(saved);
    closeLeftovers();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** A fresh memory backend with a directory of its own (mode 0700, like mkdtemp's) to run in. */
function memoryWithRoot(umask: number, uid = UID, gid = GID): MemoryBackend {
  const b = new MemoryBackend({ umask, uid, gid });
  b.mkdirSync(MEMORY_ROOT, 0o700);
  return b;
}

/** Runs a scenario on a fresh memory backend. */
async function observeMemory(s: Scenario): Promise<Observation> {
  return s.run(memoryWithRoot(s.umask ?? DEFAULT_UMASK), MEMORY_ROOT);
}

/** Whether an observation says something: at least one field, and not all of them null or empty. */
function nonTrivial(obs: Observation): boolean {
  const says = (v: Json): boolean =>
    v !== null &&
    v !== '' &&
    !(Array.isArray(v) && v.length === 0) &&
    !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
  return Object.values(obs).some(says);
}

test('there are at least 40 named scenarios, with unique names', () => {
  assert.ok(POSIX_SCENARIOS.length >= 40, `only ${POSIX_SCENARIOS.length} scenarios`);
  const names = POSIX_SCENARIOS.map((s) => s.name);
  assert.equal(new Set(names).size, names.length, 'scenario names must be unique');
});

for (const s of POSIX_SCENARIOS) {
  const skip =
    s.needsNonRoot === true && IS_ROOT
      ? 'root bypasses permission bits on the OS side; see the memory-only EACCES test'
      : false;
  test(s.name, { skip }, async () => {
    const expected = await observeOs(s);
    assert.ok(nonTrivial(expected), `the OS observation is trivially empty: ${JSON.stringify(expected)}`);
    const actual = await observeMemory(s);
    assert.ok(nonTrivial(actual), `the memory observation is trivially empty: ${JSON.stringify(actual)}`);
    assert.deepStrictEqual(
      actual,
      expected,
      `memory backend (actual) differs from Linux (expected) in scenario: ${s.name}`,
    );
  });
}

// ------------------------------------------------------------------ memory-only checks

test('MEMORY-ONLY: a non-root uid gets EACCES from the permission bits (the OS side cannot show this as root)', async () => {
  // What Linux gives an unprivileged user, written out by hand since the OS side cannot run it as root.
  const eacces = (syscall: string): Json => ({ error: 'EACCES', syscall });
  const uid = IS_ROOT ? 1000 : UID;
  const gid = IS_ROOT ? 1000 : GID;
  const run = async (name: string): Promise<Observation> => {
    const s = POSIX_SCENARIOS.find((x) => x.name.startsWith(name));
    assert.ok(s !== undefined, name);
    return s.run(memoryWithRoot(s.umask ?? DEFAULT_UMASK, uid, gid), MEMORY_ROOT);
  };
  assert.deepStrictEqual(await run('EACCES for a non-root user'), {
    readFile: eacces('open'),
    writeOk: { ok: true },
    listNoSearch: { ok: ['g'] },
    statThrough: eacces('stat'),
    openThrough: eacces('open'),
    listNoRead: eacces('scandir'),
    openNoRead: { ok: 'inside' },
    createInRo: eacces('open'),
    mkdirInRo: eacces('mkdir'),
  });
  assert.deepStrictEqual(await run('permission bits vs the effective uid'), {
    read: eacces('open'),
    write: eacces('open'),
    st: { ok: { kind: 'file', perm: 0o600, nlink: 1, size: 6 } },
  });
  assert.deepStrictEqual(await run('fchown sets owner and group'), {
    fchown: { error: 'EPERM', syscall: 'fchown' },
    ownerIsTarget: false,
    groupIsTarget: false,
  });
});
