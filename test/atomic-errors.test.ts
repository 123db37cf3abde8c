/**
 * Atomic writes on the error paths, against the real operating system wherever it can produce the
 * error (a full tmpfs, a read-only bind mount, a directory an unprivileged child cannot write, a child
 * under a low `ulimit -n`), and through FaultyBackend over OsBackend where it cannot (EIO from fsync, a
 * failure after the rename) or when not running as root.
 *
 * Every failure case asserts the promise of the atomic-write spec (fdkeeper issue 4, "Errors everywhere"):
 * - the promise rejects, and the Sync form throws, an FsError with the expected `code` and the
 *   target's `path`;
 * - the target is byte-identical, and the same file (inode, mode, owner, mtime);
 * - no `.fdkeeper-tmp` (nor `.fdkeeper-claim`) file is left in the directory, which holds exactly the
 *   names it held before;
 * - no descriptor leaked (/proc/self/fd before and after).
 *
 * Mounts are undone in `t.after` hooks, which then check /proc/mounts; mounts left by an earlier run
 * that died are swept at startup, so the suite can run again and again.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path, { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { atomicWrite, atomicWriteSync } from '../src/atomic/atomic-write.js';
import { atomicCreate, atomicCreateSync } from '../src/atomic/pending-file.js';
import { createExclusive } from '../src/atomic/create-exclusive.js';
import { FsError } from '../src/errors/fs-error.js';
import { FileTable } from '../src/table/file-table.js';
import { FaultyBackend, type FaultRule } from '../src/backend/faulty-backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import {
  NOBODY,
  Mounts,
  ReadOnlyDirBackend,
  assertNothingLeft,
  assertUnchanged,
  fdGuard,
  forceUnmount,
  isRoot,
  leftovers,
  listDir,
  mountsUnder,
  rejectsWith,
  runChild,
  runRoot,
  snapshot,
  sweepStaleMounts,
  throwsWith,
  type FileSnapshot,
} from './support/atomic-harness.js';
import type { ChildReport, OpOutcome } from './support/atomic-child.js';
import { settleWorkers } from './support/worker-mode.js';

settleWorkers();

const PREFIX = 'fdkeeper-atomic-errors-';
const swept = sweepStaleMounts(os.tmpdir(), PREFIX);
if (swept.length > 0)
  process.stderr.write(
    `atomic-errors: unmounted ${swept.length} mount(s) left by an earlier run: ${swept.join(', ')}\n`,
  );
const ROOT = runRoot(PREFIX);

after(() => {
  const left = mountsUnder(ROOT);
  // A test's own hook should have unmounted; never leave anything mounted, whatever happened.
  const failed = forceUnmount(left);
  fs.rmSync(ROOT, { recursive: true, force: true });
  assert.deepEqual(left, [], 'a test left mounts behind (unmounted now)');
  assert.deepEqual(failed, [], 'mounts that could not be unmounted');
});

const OLD = 'old content: must survive every failure\n';
const PAST = new Date('2001-02-03T04:05:06.789Z');

let serial = 0;
/** A fresh directory (mode 0755, so a privilege-dropping child can traverse it). */
function caseDir(): string {
  const dir = join(ROOT, `case-${++serial}`);
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** Creates `dir/name` with the old content, mode 0640 and an mtime in the past. */
function makeTarget(dir: string, name = 'target.txt', mode = 0o640): string {
  const p = join(dir, name);
  fs.writeFileSync(p, OLD);
  fs.chmodSync(p, mode);
  fs.utimesSync(p, PAST, PAST);
  return p;
}

/** The faulty backend over the real OS. */
function faultyOs(...rules: FaultRule[]): FaultyBackend {
  return new FaultyBackend(new OsBackend(), rules);
}

const TEMP = /\.fdkeeper-tmp$/;

/** Everything the spec promises after a failure, in one call. */
interface Scene {
  readonly dir: string;
  readonly target: string;
  readonly before: FileSnapshot | undefined;
  readonly names: string[];
  readonly guard: ReturnType<typeof fdGuard>;
}

function scene(dir: string, target: string): Scene {
  const isFile = fs.lstatSync(target, { throwIfNoEntry: false })?.isFile() === true;
  return { dir, target, before: isFile ? snapshot(target) : undefined, names: listDir(dir), guard: fdGuard() };
}

async function assertIntact(s: Scene, label: string, faulty?: FaultyBackend): Promise<void> {
  if (s.before === undefined) assert.equal(fs.existsSync(s.target), false, `${label}: the target was created`);
  else assertUnchanged(s.target, s.before, label);
  assertNothingLeft(s.dir, s.names, label);
  if (faulty !== undefined)
    assert.deepEqual(faulty.openFds(), [], `${label}: descriptors opened through the backend and never closed`);
  await s.guard.check(label);
}

/** The spec: an error on the temp file names the target in `path` and the temp in the detail. */
function assertTempInDetail(e: FsError, label: string): void {
  assert.match(e.detail ?? '', /\.fdkeeper-tmp/, `${label}: the temp path is not in the error's detail: ${e.message}`);
}

const renamesOf = (f: FaultyBackend): number => f.calls.filter((c) => c.syscall === 'rename').length;
const fsyncsOf = (f: FaultyBackend): number => f.calls.filter((c) => c.syscall === 'fsync').length;
const fdatasyncsOf = (f: FaultyBackend): number => f.calls.filter((c) => c.syscall === 'fdatasync').length;

/** Skips the test with `why` (node:test's skip does not stop the function: return after it). */
function skip(t: TestContext, why: string): void {
  t.diagnostic(`SKIPPED: ${why}`);
  t.skip(why);
}

/** Registers the mount cleanup (always, even when the test fails) before anything is mounted. */
function mountsFor(t: TestContext, dir: string): Mounts {
  const mounts = new Mounts();
  t.after(() => {
    mounts.cleanup();
    assert.deepEqual(mountsUnder(dir), [], `mounts left under ${dir}`);
  });
  return mounts;
}

// ==================================================================== ENOSPC

describe('ENOSPC', () => {
  test('a real 1 MiB tmpfs: 2 MiB fails, a full tmpfs fails even a small write, freeing space lets the next write through (root)', async (t) => {
    if (!isRoot) {
      skip(t, 'not root: cannot mount a tmpfs (ENOSPC is covered through FaultyBackend below)');
      return;
    }
    const dir = caseDir();
    const mnt = join(dir, 'tmpfs');
    fs.mkdirSync(mnt);
    const mounts = mountsFor(t, dir);
    const why = mounts.tmpfs(mnt, '1m');
    if (why !== undefined) {
      skip(t, `mounting is not permitted here: ${why}`);
      return;
    }
    const target = makeTarget(mnt);
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);

    const s = scene(mnt, target);
    const freeBefore = fs.statfsSync(mnt).bfree;
    const e1 = await rejectsWith(atomicWrite(target, big), { code: 'ENOSPC', path: target });
    assertTempInDetail(e1, 'async 2 MiB');
    await assertIntact(s, 'async 2 MiB');
    assert.equal(fs.statfsSync(mnt).bfree, freeBefore, 'space is still held (an unlinked temp kept open?)');
    const s2 = scene(mnt, target);
    throwsWith(
      () => {
        atomicWriteSync(target, big);
      },
      { code: 'ENOSPC', path: target },
    );
    await assertIntact(s2, 'sync 2 MiB');
    assert.equal(fs.statfsSync(mnt).bfree, freeBefore, 'space is still held after the sync form');

    // Fill the tmpfs up with another file: even a small replacement has no room.
    const filler = join(mnt, 'filler');
    const fd = fs.openSync(filler, 'w');
    const page = Buffer.alloc(4096, 0x7a);
    try {
      for (;;) fs.writeSync(fd, page);
    } catch (e) {
      assert.equal((e as { code?: unknown }).code, 'ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(fs.statfsSync(mnt).bfree, 0, 'the tmpfs is full');
    await t.test('full tmpfs: a small atomicWrite / atomicWriteSync fails with ENOSPC', async () => {
      const s = scene(mnt, target);
      await rejectsWith(atomicWrite(target, 'a small new content\n'), { code: 'ENOSPC', path: target });
      await assertIntact(s, 'async small write on a full tmpfs');
      throwsWith(
        () => {
          atomicWriteSync(target, 'a small new content\n');
        },
        { code: 'ENOSPC', path: target },
      );
      await assertIntact(s, 'sync small write on a full tmpfs');
      await rejectsWith(atomicWrite(target, 'a small new content\n', { durability: 'none' }), {
        code: 'ENOSPC',
        path: target,
      });
      await assertIntact(s, "async small write on a full tmpfs, durability 'none'");
    });

    await t.test('full tmpfs: PendingFile.write fails with ENOSPC; await using removes the temp', async () => {
      const s = scene(mnt, target);
      let tempPath = '';
      await rejectsWith(
        (async () => {
          await using f = await atomicCreate(target);
          tempPath = f.tempPath;
          await f.write('a small new content\n');
          await f.commit();
        })(),
        { code: 'ENOSPC', path: target },
      );
      assert.notEqual(tempPath, '');
      await assertIntact(s, 'PendingFile on a full tmpfs');
    });

    await t.test('full tmpfs: createExclusive of a new file fails with ENOSPC, no claim left', async () => {
      const fresh = join(mnt, 'new.txt');
      const s = scene(mnt, fresh);
      await rejectsWith(createExclusive(fresh, 'a small new content\n'), { code: 'ENOSPC', path: fresh });
      await assertIntact(s, 'createExclusive on a full tmpfs');
    });

    // Free the space: nothing left behind blocks the next write.
    fs.unlinkSync(filler);
    const guard = fdGuard();
    await atomicWrite(target, 'new content after freeing space\n');
    assert.equal(fs.readFileSync(target, 'utf8'), 'new content after freeing space\n');
    assert.equal(fs.statSync(target).mode & 0o7777, 0o640, 'the replaced file keeps the old mode');
    atomicWriteSync(target, 'and again, synchronously\n');
    assert.equal(fs.readFileSync(target, 'utf8'), 'and again, synchronously\n');
    assert.deepEqual(listDir(mnt), ['target.txt']);
    await guard.check('writes after freeing space');
  });

  test('FaultyBackend: ENOSPC on the first write, async and sync', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs({ syscall: 'write', code: 'ENOSPC' });
      const s = scene(dir, target);
      const e = sync
        ? throwsWith(
            () => {
              atomicWriteSync(target, 'new content', { backend: faulty });
            },
            { code: 'ENOSPC', path: target },
          )
        : await rejectsWith(atomicWrite(target, 'new content', { backend: faulty }), { code: 'ENOSPC', path: target });
      assertTempInDetail(e, label);
      assert.equal(renamesOf(faulty), 0, `${label}: renamed after a failed write`);
      await assertIntact(s, label, faulty);
    }
  });

  test('FaultyBackend: ENOSPC after a short write (the loop goes on, then fails), async and sync', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const data = Buffer.alloc(64 * 1024, 0x62);
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs(
        { syscall: 'write', shortWrite: 'half', nth: 1 },
        { syscall: 'write', code: 'ENOSPC', nth: 2 },
      );
      const s = scene(dir, target);
      if (sync)
        throwsWith(
          () => {
            atomicWriteSync(target, data, { backend: faulty });
          },
          { code: 'ENOSPC', path: target },
        );
      else await rejectsWith(atomicWrite(target, data, { backend: faulty }), { code: 'ENOSPC', path: target });
      assert.deepEqual(faulty.fired(), [1, 1], `${label}: the short write was followed by a second write`);
      await assertIntact(s, label, faulty);
    }
  });
});

// ==================================================================== EROFS

describe('EROFS', () => {
  test('a read-only bind mount: no temp can be created, the target is untouched; createExclusive leaves no claim (root)', async (t) => {
    if (!isRoot) {
      skip(t, 'not root: cannot bind-mount (EROFS is covered through FaultyBackend below)');
      return;
    }
    const dir = caseDir();
    const src = join(dir, 'src');
    const ro = join(dir, 'ro');
    fs.mkdirSync(src);
    fs.mkdirSync(ro);
    fs.chmodSync(src, 0o755);
    makeTarget(src);
    const mounts = mountsFor(t, dir);
    const why = mounts.bindReadOnly(src, ro);
    if (why !== undefined) {
      skip(t, `mounting is not permitted here: ${why}`);
      return;
    }
    assert.throws(
      () => {
        fs.writeFileSync(join(ro, 'probe'), 'x');
      },
      { code: 'EROFS' },
      'the bind mount is read-only',
    );
    const target = join(ro, 'target.txt');
    const fresh = join(ro, 'new.txt');

    await t.test('atomicWrite, atomicWriteSync (existing and new target)', async () => {
      let s = scene(ro, target);
      await rejectsWith(atomicWrite(target, 'new content'), { code: 'EROFS', path: target });
      await assertIntact(s, 'atomicWrite');
      throwsWith(
        () => {
          atomicWriteSync(target, 'new content');
        },
        { code: 'EROFS', path: target },
      );
      await assertIntact(s, 'atomicWriteSync');
      s = scene(ro, fresh);
      await rejectsWith(atomicWrite(fresh, 'new content'), { code: 'EROFS', path: fresh });
      await assertIntact(s, 'atomicWrite of a new file');
    });

    await t.test('atomicWrite with mkdir: true under the read-only mount', async () => {
      const s = scene(ro, fresh);
      const nested = join(ro, 'sub', 'deeper', 'x.txt');
      await rejectsWith(atomicWrite(nested, 'x', { mkdir: true }), { code: 'EROFS', path: nested });
      throwsWith(
        () => {
          atomicWriteSync(nested, 'x', { mkdir: true });
        },
        { code: 'EROFS', path: nested },
      );
      await assertIntact(s, 'mkdir under a read-only mount');
    });

    await t.test('atomicCreate, atomicCreateSync', async () => {
      const s = scene(ro, target);
      await rejectsWith(atomicCreate(target), { code: 'EROFS', path: target });
      await assertIntact(s, 'atomicCreate');
      throwsWith(() => atomicCreateSync(target), { code: 'EROFS', path: target });
      await assertIntact(s, 'atomicCreateSync');
    });

    await t.test('createExclusive: the error and no claim; an existing target is reported as such', async () => {
      const s = scene(ro, fresh);
      await rejectsWith(createExclusive(fresh, 'new content'), { code: 'EROFS', path: fresh });
      await assertIntact(s, 'createExclusive of a new file');
      await rejectsWith(
        createExclusive(fresh, (f) => f.write('produced')),
        { code: 'EROFS', path: fresh },
      );
      await assertIntact(s, 'createExclusive with a producer');
      const guard = fdGuard();
      assert.deepEqual(await createExclusive(target, 'other'), { created: false, path: target, reason: 'exists' });
      await guard.check('createExclusive of an existing file');
    });
    assertNothingLeft(src, ['target.txt'], 'the bind source');
  });

  test('FaultyBackend: EROFS from a write mid-way in a writable directory, async and sync', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const data = Buffer.alloc(256 * 1024, 0x63);
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs(
        { syscall: 'write', shortWrite: 4096, nth: 1 },
        { syscall: 'write', code: 'EROFS', nth: 2 },
      );
      const s = scene(dir, target);
      const e = sync
        ? throwsWith(
            () => {
              atomicWriteSync(target, data, { backend: faulty });
            },
            { code: 'EROFS', path: target },
          )
        : await rejectsWith(atomicWrite(target, data, { backend: faulty }), { code: 'EROFS', path: target });
      assertTempInDetail(e, label);
      assert.equal(renamesOf(faulty), 0, `${label}: renamed after a failed write`);
      await assertIntact(s, label, faulty);
    }
  });

  test('FaultyBackend: EROFS creating the temp (what a read-only mount gives), async and sync', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs({ syscall: 'open', path: TEMP, code: 'EROFS' });
      const s = scene(dir, target);
      if (sync)
        throwsWith(
          () => {
            atomicWriteSync(target, 'new', { backend: faulty });
          },
          { code: 'EROFS', path: target },
        );
      else await rejectsWith(atomicWrite(target, 'new', { backend: faulty }), { code: 'EROFS', path: target });
      await assertIntact(s, label, faulty);
    }
  });
});

// ==================================================================== EACCES

/**
 * No descriptor the child had not before the call is open after it. (One it had may be gone: the
 * child's runtime closes descriptors of its own in the background, which is no leak.)
 */
function assertNoChildLeak(o: OpOutcome, label: string): void {
  const added = o.fdsAfter.filter((n) => !o.fdsBefore.includes(n));
  assert.deepEqual(added, [], `${label}: descriptor leak in the child`);
}

function assertChildFailed(o: OpOutcome | undefined, code: string, target: string, label: string): void {
  assert.ok(o !== undefined, `${label}: no outcome`);
  assert.equal(o.ok, false, `${label}: succeeded as an unprivileged user (value ${JSON.stringify(o.value)})`);
  const e = o.error;
  assert.ok(e !== undefined);
  assert.equal(e.isFsError, true, `${label}: not an FsError: ${e.name}: ${e.message}`);
  assert.equal(e.code, code, `${label}: ${e.message}`);
  assert.equal(e.path, target, `${label}: path ${String(e.path)}: ${e.message}`);
  assertNoChildLeak(o, label);
}

describe('EACCES', () => {
  test('a directory the user cannot write (0555, owned by root): an unprivileged child gets EACCES and the directory gains nothing', async (t) => {
    const dir = caseDir();
    const locked = join(dir, 'locked');
    fs.mkdirSync(locked);
    const target = makeTarget(locked, 'target.txt', 0o644);
    const fresh = join(locked, 'new.txt');
    fs.chmodSync(locked, 0o555);
    t.after(() => {
      fs.chmodSync(locked, 0o755);
    });
    const s = scene(locked, target);
    if (!isRoot) {
      // Not root: this process is the unprivileged user.
      await rejectsWith(atomicWrite(target, 'new'), { code: 'EACCES', path: target });
      throwsWith(
        () => {
          atomicWriteSync(target, 'new');
        },
        { code: 'EACCES', path: target },
      );
      await rejectsWith(atomicWrite(fresh, 'new'), { code: 'EACCES', path: fresh });
      await rejectsWith(atomicCreate(target), { code: 'EACCES', path: target });
      await rejectsWith(createExclusive(fresh, 'new'), { code: 'EACCES', path: fresh });
      await assertIntact(s, 'unprivileged, in process');
      return;
    }
    const report: ChildReport = await runChild({
      dropTo: NOBODY,
      ops: [
        { kind: 'atomicWrite', target, data: 'new content' },
        { kind: 'atomicWriteSync', target, data: 'new content' },
        { kind: 'atomicCreateCommit', target, data: 'new content' },
        { kind: 'atomicWrite', target: fresh, data: 'new content' },
        { kind: 'createExclusive', target: fresh, data: 'new content' },
      ],
    });
    assert.equal(report.uid, NOBODY, 'the child dropped its uid');
    assert.equal(report.gid, NOBODY, 'the child dropped its gid');
    assert.deepEqual(
      report.groups.filter((g) => g === 0),
      [],
      'the child kept group root',
    );
    const expect: [number, string, string][] = [
      [0, 'atomicWrite', target],
      [1, 'atomicWriteSync', target],
      [2, 'atomicCreate + commit', target],
      [3, 'atomicWrite of a new file', fresh],
      [4, 'createExclusive of a new file', fresh],
    ];
    for (const [i, label, path] of expect) {
      await t.test(`as nobody: ${label} -> EACCES`, () => {
        const o = report.outcomes[i];
        assertChildFailed(o, 'EACCES', path, label);
        assert.deepEqual(o?.dirNames, s.names, `${label}: the directory gained or lost names`);
      });
    }
    await assertIntact(s, 'after the unprivileged child');
  });

  test('an unwritable target (0444) in a writable directory: the replace SUCCEEDS (the directory decides) and keeps mode 0444', async () => {
    const dir = caseDir();
    const target = makeTarget(dir, 'readonly.txt', 0o444);
    const guard = fdGuard();
    await atomicWrite(target, 'replaced despite 0444\n');
    assert.equal(fs.readFileSync(target, 'utf8'), 'replaced despite 0444\n');
    assert.equal((fs.statSync(target).mode & 0o7777).toString(8), '444', "the new file has the old file's mode");
    atomicWriteSync(target, 'and synchronously\n');
    assert.equal(fs.readFileSync(target, 'utf8'), 'and synchronously\n');
    assert.equal((fs.statSync(target).mode & 0o7777).toString(8), '444');
    assertNothingLeft(dir, ['readonly.txt']);
    if (isRoot) {
      // As root the existing owner is kept (spec, step 2).
      fs.chownSync(target, NOBODY, NOBODY);
      await atomicWrite(target, 'owner kept\n');
      const st = fs.statSync(target);
      assert.deepEqual(
        [st.uid, st.gid, (st.mode & 0o7777).toString(8)],
        [NOBODY, NOBODY, '444'],
        'owner and mode of the replaced file',
      );
    }
    await guard.check();
  });

  test('the same as an unprivileged owner (child as nobody, the file 0444 and the directory its own)', async (t) => {
    if (!isRoot) {
      skip(t, 'not root: the in-process case above already ran as an unprivileged user');
      return;
    }
    const dir = caseDir();
    const own = join(dir, 'own');
    fs.mkdirSync(own);
    const target = makeTarget(own, 'readonly.txt', 0o444);
    fs.chownSync(own, NOBODY, NOBODY);
    fs.chownSync(target, NOBODY, NOBODY);
    const report = await runChild({
      dropTo: NOBODY,
      ops: [
        { kind: 'atomicWrite', target, data: 'by nobody\n' },
        { kind: 'atomicWriteSync', target, data: 'by nobody, sync\n' },
      ],
    });
    assert.equal(report.uid, NOBODY);
    for (const o of report.outcomes) {
      assert.equal(o.ok, true, `${o.kind} failed: ${o.error?.message ?? ''}`);
      assert.equal(o.mode?.toString(8), '444', `${o.kind}: mode`);
      assert.equal(o.uid, NOBODY, `${o.kind}: owner`);
      assert.deepEqual(o.dirNames, ['readonly.txt'], `${o.kind}: left something behind`);
      assertNoChildLeak(o, o.kind);
    }
    assert.equal(fs.readFileSync(target, 'utf8'), 'by nobody, sync\n');
  });
});

// ==================================================================== path errors

describe('path errors', () => {
  test('the target is a directory: EISDIR, nothing created', async () => {
    const dir = caseDir();
    const target = join(dir, 'adir');
    fs.mkdirSync(target);
    fs.writeFileSync(join(target, 'inside'), 'x');
    const s = scene(dir, target);
    const inside = listDir(target);
    await rejectsWith(atomicWrite(target, 'new'), { code: 'EISDIR', path: target });
    throwsWith(
      () => {
        atomicWriteSync(target, 'new');
      },
      { code: 'EISDIR', path: target },
    );
    assert.ok(fs.statSync(target).isDirectory());
    assert.deepEqual(listDir(target), inside, "the directory's content changed");
    assertNothingLeft(dir, s.names);
    await s.guard.check();
  });

  test('the target is a directory: atomicCreate and atomicCreateSync fail with EISDIR, nothing created', async () => {
    const dir = caseDir();
    const target = join(dir, 'adir');
    fs.mkdirSync(target);
    const s = scene(dir, target);
    await rejectsWith(atomicCreate(target), { code: 'EISDIR', path: target });
    throwsWith(() => atomicCreateSync(target), { code: 'EISDIR', path: target });
    assert.deepEqual(listDir(target), []);
    assertNothingLeft(dir, s.names);
    await s.guard.check();
  });

  test('the parent is missing: ENOENT and nothing created; with mkdir: true the write succeeds', async () => {
    const dir = caseDir();
    const target = join(dir, 'missing', 'sub', 'f.txt');
    const s = scene(dir, target);
    await rejectsWith(atomicWrite(target, 'new'), { code: 'ENOENT', path: target });
    throwsWith(
      () => {
        atomicWriteSync(target, 'new');
      },
      { code: 'ENOENT', path: target },
    );
    assert.equal(fs.existsSync(join(dir, 'missing')), false, 'a parent was created without mkdir');
    await assertIntact(s, 'without mkdir');
    await atomicWrite(target, 'with mkdir\n', { mkdir: true });
    assert.equal(fs.readFileSync(target, 'utf8'), 'with mkdir\n');
    const target2 = join(dir, 'missing2', 'f.txt');
    atomicWriteSync(target2, 'with mkdir, sync\n', { mkdir: true });
    assert.equal(fs.readFileSync(target2, 'utf8'), 'with mkdir, sync\n');
    assert.deepEqual(leftovers(join(dir, 'missing', 'sub')), []);
    assert.deepEqual(listDir(join(dir, 'missing2')), ['f.txt']);
    await s.guard.check('with mkdir');
  });

  test('the parent is missing: atomicCreate and atomicCreateSync fail with ENOENT, nothing created', async () => {
    const dir = caseDir();
    const target = join(dir, 'missing', 'sub', 'f.txt');
    const s = scene(dir, target);
    await rejectsWith(atomicCreate(target), { code: 'ENOENT', path: target });
    throwsWith(() => atomicCreateSync(target), { code: 'ENOENT', path: target });
    await assertIntact(s, 'atomicCreate without mkdir');
  });

  test('a path through a file (file/x): ENOTDIR, the file untouched', async () => {
    const dir = caseDir();
    const file = makeTarget(dir, 'file');
    const target = join(file, 'x');
    const s = scene(dir, file);
    await rejectsWith(atomicWrite(target, 'new'), { code: 'ENOTDIR', path: target });
    throwsWith(
      () => {
        atomicWriteSync(target, 'new');
      },
      { code: 'ENOTDIR', path: target },
    );
    await rejectsWith(atomicWrite(target, 'new', { mkdir: true }), { code: 'ENOTDIR', path: target });
    await assertIntact(s, 'ENOTDIR');
  });
});

// ==================================================================== EMFILE

describe('EMFILE', () => {
  const LIMIT = 64;

  test(`a real EMFILE: a child under ulimit -n ${LIMIT} with no descriptor free fails, with one free succeeds`, async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const s = scene(dir, target);
    const report = await runChild(
      {
        ops: [
          // A promise-form open refused with EMFILE waits (the table's emfileRetryMs) for a close that
          // would make room; nothing closes here, so it fails once that time is up.
          { kind: 'atomicWrite', target, data: 'none free, async', leaveFree: 0, emfileRetryMs: 300 },
          { kind: 'atomicWriteSync', target, data: 'none free, sync', leaveFree: 0 },
          { kind: 'atomicWrite', target, data: 'one free, async', leaveFree: 1 },
          { kind: 'atomicWriteSync', target, data: 'one free, sync', leaveFree: 1 },
        ],
      },
      LIMIT,
    );
    assert.match(
      report.limit,
      new RegExp(`^Max open files\\s+${LIMIT}\\s+${LIMIT}\\b`),
      'the child runs under the low limit (hard and soft)',
    );
    const outcome = (i: number): OpOutcome => {
      const o = report.outcomes[i];
      assert.ok(o !== undefined, `no outcome ${i}`);
      return o;
    };
    for (const [i, label] of [
      [0, 'async, none free'],
      [1, 'sync, none free'],
    ] as const) {
      const o = outcome(i);
      assert.equal(o.freeAtCall, 0, `${label}: the child filled the table`);
      assertChildFailed(o, 'EMFILE', target, label);
      assert.equal(o.content, OLD, `${label}: the target changed`);
      assert.equal(o.ino, s.before?.ino, `${label}: the target was replaced`);
      assert.equal(o.mtimeMs, s.before?.mtimeMs, `${label}: mtime`);
      assert.deepEqual(o.dirNames, s.names, `${label}: the directory gained or lost names`);
    }
    // The protocol holds one descriptor at a time (the temp is closed before the directory is opened).
    for (const [i, label, data] of [
      [2, 'async, one free', 'one free, async'],
      [3, 'sync, one free', 'one free, sync'],
    ] as const) {
      const o = outcome(i);
      assert.equal(o.freeAtCall, 1, `${label}: the child left exactly one number free`);
      assert.equal(o.ok, true, `${label}: failed with one descriptor free: ${o.error?.message ?? ''}`);
      assert.equal(o.content, data);
      assert.deepEqual(o.dirNames, s.names, `${label}: left something behind`);
      assertNoChildLeak(o, label);
    }
    await s.guard.check();
  });

  test('FaultyBackend: EMFILE opening the temp, async and sync', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs({ syscall: 'open', path: TEMP, code: 'EMFILE' });
      const s = scene(dir, target);
      if (sync)
        throwsWith(
          () => {
            atomicWriteSync(target, 'new', { backend: faulty });
          },
          { code: 'EMFILE', path: target },
        );
      // emfileRetryMs 0: the table gives up on an EMFILE open at once instead of waiting for a close.
      else
        await rejectsWith(atomicWrite(target, 'new', { table: new FileTable({ backend: faulty, emfileRetryMs: 0 }) }), {
          code: 'EMFILE',
          path: target,
        });
      await assertIntact(s, label, faulty);
    }
  });

  test('FaultyBackend: the open of the temp created the file and then failed (after: true, EPERM as a fanotify denial gives): the temp is still removed', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs({ syscall: 'open', path: TEMP, code: 'EPERM', after: true });
      const s = scene(dir, target);
      if (sync)
        throwsWith(
          () => {
            atomicWriteSync(target, 'new', { backend: faulty });
          },
          { code: 'EPERM', path: target },
        );
      else await rejectsWith(atomicWrite(target, 'new', { backend: faulty }), { code: 'EPERM', path: target });
      await assertIntact(s, label, faulty);
    }
  });

  test('FaultyBackend: EMFILE opening the directory for its fsync (after the rename): reported, the new content is in place and the error says so', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const isDir = (p: string): boolean => path.resolve(p) === dir;
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      await failAfterRename(dir, target, { syscall: 'open', path: isDir, code: 'EMFILE' }, sync, () => {
        assert.equal((fs.statSync(target).mode & 0o7777).toString(8), '640', `${label}: mode kept`);
      });
    }
  });
});

/**
 * A write whose directory step (after the rename) fails by `rule`: the call fails with the rule's code for
 * the target, says the new content is in place, and it is; nothing is left in the directory, the temp
 * name is not unlinked after the rename, no descriptor stays open. `more` adds checks of its own (it
 * gets the FaultyBackend that ran the write).
 */
async function failAfterRename(
  dir: string,
  target: string,
  rule: FaultRule & { code: string },
  sync: boolean,
  more: (faulty: FaultyBackend, label: string) => void,
): Promise<void> {
  const label = sync ? 'sync' : 'async';
  const data = `new content (${label})\n`;
  const faulty = faultyOs(rule);
  const guard = fdGuard();
  const names = listDir(dir);
  const expected = { code: rule.code, path: target, target: 'replaced' } as const;
  const e = sync
    ? throwsWith(() => {
        atomicWriteSync(target, data, { backend: faulty });
      }, expected)
    : await rejectsWith(atomicWrite(target, data, { backend: faulty }), expected);
  // expected.target: the outcome as data; the detail still says it in words for a human.
  assert.match(
    e.detail ?? '',
    /in place/,
    `${label}: the detail does not say the new content is in place: ${e.message}`,
  );
  assert.equal(fs.readFileSync(target, 'utf8'), data, `${label}: the new content is in place`);
  more(faulty, label);
  assertNothingLeft(dir, names, label);
  assertNoUnlinkAfterRename(faulty, label);
  assert.deepEqual(faulty.openFds(), [], `${label}: descriptors left open`);
  await guard.check(label);
}

/** The spec: after a successful rename the temp name is never unlinked (another writer may own it). */
function assertNoUnlinkAfterRename(faulty: FaultyBackend, label: string): void {
  const i = faulty.calls.findIndex((c) => c.syscall === 'rename' && c.error === undefined);
  assert.ok(i >= 0, `${label}: no successful rename`);
  const renamed = faulty.calls[i]!.path;
  const unlinks = faulty.calls.slice(i + 1).filter((c) => c.syscall === 'unlink' && c.path === renamed);
  assert.deepEqual(unlinks, [], `${label}: unlinked the temp name after the rename`);
}

// ==================================================================== EIO on fsync

describe('EIO on fsync', () => {
  for (const afterCall of [false, true]) {
    test(`FaultyBackend: EIO from the file's fsync${afterCall ? ' (after: true: the fsync ran, then reported EIO)' : ''}: reported once, never retried, temp removed, target old`, async () => {
      const dir = caseDir();
      const target = makeTarget(dir);
      for (const sync of [false, true]) {
        for (const durability of ['full', 'file'] as const) {
          const label = `${sync ? 'sync' : 'async'}, ${durability}`;
          const faulty = faultyOs({ syscall: 'fsync', path: TEMP, code: 'EIO', after: afterCall });
          const s = scene(dir, target);
          const e = sync
            ? throwsWith(
                () => {
                  atomicWriteSync(target, 'new', { backend: faulty, durability });
                },
                { code: 'EIO', path: target },
              )
            : await rejectsWith(atomicWrite(target, 'new', { backend: faulty, durability }), {
                code: 'EIO',
                path: target,
              });
          assertTempInDetail(e, label);
          assert.equal(fsyncsOf(faulty), 1, `${label}: ${fsyncsOf(faulty)} fsync calls (a retry hides the lost data)`);
          assert.equal(fdatasyncsOf(faulty), 0, `${label}: fdatasync called`);
          assert.equal(renamesOf(faulty), 0, `${label}: renamed after a failed fsync`);
          await assertIntact(s, label, faulty);
        }
      }
    });
  }

  test('FaultyBackend: EIO from the directory fsync (after the rename): reported once, the new content in place, the temp name not unlinked', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const isDir = (p: string): boolean => path.resolve(p) === dir;
    for (const sync of [false, true]) {
      await failAfterRename(dir, target, { syscall: 'fsync', path: isDir, code: 'EIO' }, sync, (faulty, label) => {
        assert.equal(
          faulty.calls.filter((c) => c.syscall === 'fsync' && c.path !== undefined && isDir(c.path)).length,
          1,
          `${label}: the directory fsync was retried`,
        );
      });
    }
  });
});

// ==================================================================== abort

describe('abort', () => {
  test('aborted before the start: ECANCELED with the reason as cause, nothing opened', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    for (const reason of [new Error('cancelled before the start'), undefined]) {
      const ac = new AbortController();
      ac.abort(reason);
      const faulty = faultyOs();
      const s = scene(dir, target);
      const e = await rejectsWith(atomicWrite(target, 'new', { signal: ac.signal, backend: faulty }), {
        code: 'ECANCELED',
        path: target,
        syscall: 'write',
      });
      assert.equal(e.cause, ac.signal.reason, "cause is the signal's reason");
      assert.deepEqual(
        faulty.calls.filter((c) => c.syscall === 'open'),
        [],
        'opened something although aborted before the start',
      );
      await assertIntact(s, `reason ${String(reason)}`, faulty);
    }
  });

  test('aborted during a slow async-iterable source: ECANCELED, consumption stops, the source is closed, no temp', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const ac = new AbortController();
    const reason = new Error('cancelled mid-stream');
    let produced = 0;
    let finalized = false;
    async function* slow(): AsyncGenerator<string> {
      try {
        for (let i = 0; i < 40; i++) {
          produced++;
          yield `chunk ${i}\n`;
          if (produced === 3) ac.abort(reason);
          await delay(10);
        }
      } finally {
        finalized = true;
      }
    }
    const s = scene(dir, target);
    const e = await rejectsWith(atomicWrite(target, slow(), { signal: ac.signal }), {
      code: 'ECANCELED',
      path: target,
      syscall: 'write',
    });
    assert.equal(e.cause, reason, 'cause is the reason');
    assert.ok(produced <= 5, `the source was consumed on after the abort: ${produced} chunks`);
    // The generator is closed at its next yield: give a loaded machine time to get there.
    const closed = (): boolean => finalized; // read through a function: the generator sets it behind TypeScript's back
    for (let waited = 0; !closed() && waited < 3000; waited += 10) await delay(10);
    assert.equal(finalized, true, 'the source iterator was not closed (return() not called): a stream would stay open');
    assert.ok(produced <= 5, `the source was consumed in the background after the rejection: ${produced} chunks`);
    await assertIntact(s, 'mid-stream');
  });

  test('aborted during the fsync (before the rename): ECANCELED, the target untouched, no temp', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const ac = new AbortController();
    const reason = new Error('cancelled during the fsync');
    class AbortDuringFsync extends OsBackend {
      override async fsync(fd: number): Promise<void> {
        ac.abort(reason);
        await super.fsync(fd);
      }
    }
    const backend = new AbortDuringFsync();
    const s = scene(dir, target);
    const e = await rejectsWith(atomicWrite(target, 'new', { signal: ac.signal, backend }), {
      code: 'ECANCELED',
      path: target,
      syscall: 'write',
    });
    assert.equal(e.cause, reason);
    await assertIntact(s, 'abort during fsync');
  });

  test('aborted while waiting behind another write to the same path: ECANCELED for that call only', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const ac = new AbortController();
    const reason = new Error('cancelled while queued');
    const guard = fdGuard();
    const first = atomicWrite(target, 'first\n');
    const queued = atomicWrite(target, 'queued\n', { signal: ac.signal });
    ac.abort(reason);
    const e = await rejectsWith(queued, { code: 'ECANCELED', path: target, syscall: 'write' });
    assert.equal(e.cause, reason);
    await first;
    assert.equal(fs.readFileSync(target, 'utf8'), 'first\n');
    assertNothingLeft(dir, ['target.txt']);
    await guard.check();
  });

  test('aborted after completion: no effect', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const guard = fdGuard();
    const ac = new AbortController();
    await atomicWrite(target, 'written\n', { signal: ac.signal });
    ac.abort(new Error('too late'));
    await delay(20);
    assert.equal(fs.readFileSync(target, 'utf8'), 'written\n');
    assertNothingLeft(dir, ['target.txt']);
    await guard.check();
  });

  test('an abort arriving right after the rename is too late: the write completes (and resolves)', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const ac = new AbortController();
    class AbortAfterRename extends OsBackend {
      override async rename(oldPath: string, newPath: string): Promise<void> {
        await super.rename(oldPath, newPath);
        ac.abort(new Error('arrived after the rename'));
      }
    }
    const guard = fdGuard();
    await atomicWrite(target, 'completed\n', { signal: ac.signal, backend: new AbortAfterRename() });
    assert.equal(ac.signal.aborted, true, 'the rename went through the backend');
    assert.equal(fs.readFileSync(target, 'utf8'), 'completed\n');
    assertNothingLeft(dir, ['target.txt']);
    await guard.check();
  });
});

// ==================================================================== more protocol error paths

describe('protocol error paths (FaultyBackend over the OS)', () => {
  /** Runs the async and the sync form with a fresh FaultyBackend each, asserting the failure invariants. */
  async function bothForms(
    rules: () => FaultRule[],
    code: string,
    more?: (faulty: FaultyBackend, label: string, e: FsError) => void,
    data: string | Uint8Array = 'new content',
  ): Promise<void> {
    const dir = caseDir();
    const target = makeTarget(dir);
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs(...rules());
      const s = scene(dir, target);
      const e = sync
        ? throwsWith(
            () => {
              atomicWriteSync(target, data, { backend: faulty });
            },
            { code, path: target },
          )
        : await rejectsWith(atomicWrite(target, data, { backend: faulty }), { code, path: target });
      more?.(faulty, label, e);
      await assertIntact(s, label, faulty);
    }
  }

  test('a write that returns 0 bytes is EIO (not an endless loop)', async () => {
    await bothForms(
      () => [{ syscall: 'write', shortWrite: 0 }],
      'EIO',
      (_f, label, e) => {
        assertTempInDetail(e, label);
      },
    );
  });

  test('fchmod fails (EPERM): reported, the target untouched', async () => {
    await bothForms(
      () => [{ syscall: 'fchmod', code: 'EPERM' }],
      'EPERM',
      (f, label) => {
        assert.equal(renamesOf(f), 0, `${label}: renamed`);
      },
    );
  });

  test('close of the temp reports EIO after closing it (as NFS does): reported, the descriptor not closed twice, the target untouched', async () => {
    await bothForms(
      () => [{ syscall: 'close', path: TEMP, code: 'EIO', after: true }],
      'EIO',
      (f, label) => {
        const closes = f.calls.filter((c) => c.syscall === 'close' && c.path !== undefined && TEMP.test(c.path));
        assert.equal(
          closes.length,
          1,
          `${label}: the temp descriptor was closed ${closes.length} times (a second close may close another file's descriptor)`,
        );
        assert.equal(renamesOf(f), 0, `${label}: renamed although the close reported an error`);
      },
    );
  });

  test('rename fails (EACCES, EXDEV): reported, the temp removed, the target untouched', async () => {
    for (const code of ['EACCES', 'EXDEV']) {
      await bothForms(
        () => [{ syscall: 'rename', code }],
        code,
        (_f, label, e) => {
          assertTempInDetail(e, label);
        },
      );
    }
  });

  test('every temp name is taken (EEXIST): 100 tries, then EEXIST for the target, nothing left', async () => {
    await bothForms(
      () => [{ syscall: 'open', path: TEMP, code: 'EEXIST' }],
      'EEXIST',
      (f, label) => {
        const tries = f.calls.filter((c) => c.syscall === 'open' && c.path !== undefined && TEMP.test(c.path));
        assert.equal(tries.length, 100, `${label}: ${tries.length} tries`);
        assert.equal(new Set(tries.map((c) => c.path)).size, 100, `${label}: the same name was tried twice`);
        assert.deepEqual(
          f.calls.filter((c) => c.syscall === 'unlink'),
          [],
          `${label}: unlinked a name it did not create`,
        );
      },
    );
  });

  test('mkdir: true and creating a parent fails (EACCES): reported, nothing created', async () => {
    const dir = caseDir();
    const target = join(dir, 'a', 'b', 'f.txt');
    for (const sync of [false, true]) {
      const label = sync ? 'sync' : 'async';
      const faulty = faultyOs({ syscall: 'mkdir', code: 'EACCES' });
      const s = scene(dir, target);
      if (sync)
        throwsWith(
          () => {
            atomicWriteSync(target, 'x', { backend: faulty, mkdir: true });
          },
          { code: 'EACCES', path: target },
        );
      else
        await rejectsWith(atomicWrite(target, 'x', { backend: faulty, mkdir: true }), { code: 'EACCES', path: target });
      await assertIntact(s, label, faulty);
    }
  });

  test('a symlink loop: ELOOP for the target, the links untouched', async () => {
    const dir = caseDir();
    const a = join(dir, 'a');
    fs.symlinkSync('b', a);
    fs.symlinkSync('a', join(dir, 'b'));
    const s = scene(dir, a);
    await rejectsWith(atomicWrite(a, 'x'), { code: 'ELOOP', path: a });
    throwsWith(
      () => {
        atomicWriteSync(a, 'x');
      },
      { code: 'ELOOP', path: a },
    );
    assert.equal(fs.readlinkSync(a), 'b');
    assert.equal(fs.readlinkSync(join(dir, 'b')), 'a');
    assertNothingLeft(dir, s.names);
    await s.guard.check();
  });

  test("the data source fails mid-way (a throwing generator, an erroring stream): rejected for the target, cause the source's error, no temp", async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const boom = new Error('the source broke');
    async function* failing(): AsyncGenerator<string> {
      yield 'first chunk\n';
      await delay(5);
      yield 'second chunk\n';
      throw boom;
    }
    let s = scene(dir, target);
    let e = await rejectsWith(atomicWrite(target, failing()), { code: 'ECANCELED', path: target });
    assert.equal(e.cause, boom, "cause is the source's error");
    await assertIntact(s, 'async generator');

    s = scene(dir, target);
    const stream = new Readable({
      read(): void {
        this.push('some data\n');
        setTimeout(() => {
          this.destroy(boom);
        }, 5);
      },
    });
    e = await rejectsWith(atomicWrite(target, stream), { code: 'ECANCELED', path: target });
    assert.equal(e.cause, boom, "cause is the stream's error");
    await assertIntact(s, 'erroring Readable');

    s = scene(dir, target);
    function* failingSync(): Generator<string> {
      yield 'first chunk\n';
      throw boom;
    }
    e = throwsWith(
      () => {
        atomicWriteSync(target, failingSync());
      },
      { code: 'ECANCELED', path: target },
    );
    assert.equal(e.cause, boom, "cause is the source's error (sync)");
    await assertIntact(s, 'sync generator');
  });

  test('atomicWriteSync while a promise write to the same path is in flight: EBUSY, and the promise write completes', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const guard = fdGuard();
    const pending = atomicWrite(target, 'from the promise write\n');
    throwsWith(
      () => {
        atomicWriteSync(target, 'from the sync write\n');
      },
      { code: 'EBUSY', path: target },
    );
    await pending;
    assert.equal(fs.readFileSync(target, 'utf8'), 'from the promise write\n');
    assertNothingLeft(dir, ['target.txt']);
    await guard.check();
  });

  test('coalesced writes: when the write carrying their data fails, the superseded and the superseding call reject with its error; the first write stands', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    // One write(2) per small write: the first is call 1's, the second the coalesced write (call 3's data).
    const faulty = faultyOs({ syscall: 'write', code: 'ENOSPC', nth: 2 });
    const guard = fdGuard();
    const p1 = atomicWrite(target, 'one\n', { backend: faulty });
    const p2 = atomicWrite(target, 'two\n', { backend: faulty });
    const p3 = atomicWrite(target, 'three\n', { backend: faulty });
    const [r1, r2, r3] = await Promise.allSettled([p1, p2, p3]);
    assert.equal(
      r1.status,
      'fulfilled',
      `the first write failed: ${r1.status === 'rejected' ? String(r1.reason) : ''}`,
    );
    await rejectsWith(p2, { code: 'ENOSPC', path: target });
    await rejectsWith(p3, { code: 'ENOSPC', path: target });
    assert.equal(
      r2.status === 'rejected' && r3.status === 'rejected' && r2.reason === r3.reason,
      true,
      'the superseded call rejects with the error of the write that carried its data',
    );
    assert.equal(fs.readFileSync(target, 'utf8'), 'one\n');
    assert.equal(faulty.calls.filter((c) => c.syscall === 'write').length, 2, 'the superseded data was never written');
    assertNothingLeft(dir, ['target.txt']);
    assert.deepEqual(faulty.openFds(), []);
    await guard.check();
  });
});

// ==================================================================== PendingFile

describe('PendingFile', () => {
  test('commit() fails (rename EXDEV): rejects, the file is aborted, temp removed, target untouched', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const faulty = faultyOs({ syscall: 'rename', code: 'EXDEV' });
    const s = scene(dir, target);
    const f = await atomicCreate(target, { backend: faulty });
    await f.write('new content');
    const e = await rejectsWith(f.commit(), { code: 'EXDEV', path: target });
    assertTempInDetail(e, 'commit');
    assert.equal(f.state, 'aborted');
    assert.equal(fs.existsSync(f.tempPath), false, 'the temp is still there');
    await assertIntact(s, 'failed commit', faulty);
    await assert.rejects(f.commit(), FsError, 'commit after a failed commit (aborted)');
    await f.abort();
    await assertIntact(s, 'abort after a failed commit', faulty);
  });

  test('commitSync() fails (rename EACCES): throws, the file is aborted, temp removed, target untouched', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const faulty = faultyOs({ syscall: 'rename', code: 'EACCES' });
    const s = scene(dir, target);
    const f = atomicCreateSync(target, { backend: faulty });
    f.writeSync('new content');
    throwsWith(
      () => {
        f.commitSync();
      },
      { code: 'EACCES', path: target },
    );
    assert.equal(f.state, 'aborted');
    assert.equal(fs.existsSync(f.tempPath), false, 'the temp is still there');
    assert.throws(
      () => {
        f.commitSync();
      },
      FsError,
      'commitSync after a failed commit (aborted)',
    );
    f.abortSync();
    await assertIntact(s, 'failed commitSync', faulty);
  });

  test('commit() fails on the fsync (EIO): one fsync, temp removed, target untouched', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const faulty = faultyOs({ syscall: 'fsync', code: 'EIO' });
    const s = scene(dir, target);
    const f = await atomicCreate(target, { backend: faulty });
    await f.write('new content');
    await rejectsWith(f.commit(), { code: 'EIO', path: target });
    assert.equal(fsyncsOf(faulty), 1);
    assert.equal(renamesOf(faulty), 0);
    assert.equal(f.state, 'aborted');
    await assertIntact(s, 'failed commit on fsync', faulty);
  });

  test('await using without commit removes the temp even when the body throws', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const s = scene(dir, target);
    let tempPath = '';
    let sawTemp = false;
    await assert.rejects(async () => {
      await using f = await atomicCreate(target);
      tempPath = f.tempPath;
      await f.write('partial new content');
      sawTemp = fs.existsSync(tempPath);
      throw new Error('the body failed');
    }, /the body failed/);
    assert.equal(sawTemp, true, 'the temp existed while the body ran');
    assert.equal(fs.existsSync(tempPath), false, 'the temp is still there');
    await assertIntact(s, 'await using');
  });

  test('using (sync) without commit removes the temp even when the body throws', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const s = scene(dir, target);
    let tempPath = '';
    assert.throws(() => {
      using f = atomicCreateSync(target);
      tempPath = f.tempPath;
      f.writeSync('partial new content');
      throw new Error('the body failed');
    }, /the body failed/);
    assert.equal(fs.existsSync(tempPath), false, 'the temp is still there');
    await assertIntact(s, 'using');
  });
});

// ==================================================================== createExclusive

describe('createExclusive', () => {
  test('a read-only directory (emulated: every create refused with EROFS, for non-root runs): the error for the target, no claim, no target', async () => {
    const dir = caseDir();
    const target = join(dir, 'product.txt');
    const backend = new ReadOnlyDirBackend(dir);
    const s = scene(dir, target);
    await rejectsWith(createExclusive(target, 'content', { backend }), { code: 'EROFS', path: target });
    await rejectsWith(
      createExclusive(target, (f) => f.write('x'), { backend }),
      { code: 'EROFS', path: target },
    );
    await assertIntact(s, 'read-only directory');
  });

  test('the same emulated read-only directory for atomicWrite and atomicCreate (for non-root runs)', async () => {
    const dir = caseDir();
    const target = makeTarget(dir);
    const backend = new ReadOnlyDirBackend(dir);
    const s = scene(dir, target);
    await rejectsWith(atomicWrite(target, 'new', { backend }), { code: 'EROFS', path: target });
    throwsWith(
      () => {
        atomicWriteSync(target, 'new', { backend });
      },
      { code: 'EROFS', path: target },
    );
    await rejectsWith(atomicCreate(target, { backend }), { code: 'EROFS', path: target });
    await assertIntact(s, 'read-only directory');
  });

  test('FaultyBackend: the content temp cannot be created once the claim is held (EACCES): the claim is removed', async () => {
    const dir = caseDir();
    const target = join(dir, 'product.txt');
    // The temp for the target itself (`.product.txt.<pid36>-<rand>.fdkeeper-tmp`), not one for the claim.
    const contentTemp = (p: string): boolean =>
      TEMP.test(p) && path.basename(p).startsWith('.product.txt.') && !p.includes('.fdkeeper-claim');
    const faulty = faultyOs({ syscall: 'open', path: contentTemp, code: 'EACCES' });
    const s = scene(dir, target);
    await rejectsWith(createExclusive(target, 'content', { backend: faulty }), { code: 'EACCES', path: target });
    assert.deepEqual(faulty.fired(), [1], 'the content temp was attempted (so the claim was held)');
    await assertIntact(s, 'content temp EACCES', faulty);
  });

  test('FaultyBackend: link fails (EIO): claim and temp removed, no target', async () => {
    const dir = caseDir();
    const target = join(dir, 'product.txt');
    const faulty = faultyOs({ syscall: 'link', code: 'EIO' });
    const s = scene(dir, target);
    await rejectsWith(createExclusive(target, 'content', { backend: faulty }), { code: 'EIO', path: target });
    await assertIntact(s, 'link EIO', faulty);
  });

  test('the producer throws: its error, claim and temp removed, no target', async () => {
    const dir = caseDir();
    const target = join(dir, 'product.txt');
    const s = scene(dir, target);
    const boom = new Error('the producer failed');
    await assert.rejects(
      createExclusive(target, async (f) => {
        await f.write('half');
        throw boom;
      }),
      (e: unknown) => e === boom || (e instanceof Error && e.cause === boom),
    );
    await assertIntact(s, 'producer threw');
  });
});
