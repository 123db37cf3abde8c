/**
 * Atomic writes against a local attacker (issue 11, items 1, 8, 9): a second real user
 * (test/support/attacker.ts) plants symlinks, files and FIFOs in a sticky world-writable directory, and
 * root writes there with fdkeeper.
 *
 * fdkeeper resolves links in user space (lstat, readlink, then a rename onto the result), so the kernel's
 * fs.protected_symlinks never sees those follows: fdkeeper applies the same rule itself. Each attack runs
 * twice — with the kernel's setting as it is, and with it turned off (where it can be), so a pass shows
 * fdkeeper's own rule. Naive controls (write-file-atomic, node:fs) show each hole is real.
 *
 * Also: createExclusive with claims planted at its predictable name, and the umask read at each create.
 */
import { test, describe, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { atomicWrite, atomicWriteSync } from '../src/atomic/atomic-write.js';
import { atomicCreate, atomicCreateSync } from '../src/atomic/pending-file.js';
import { createExclusive } from '../src/atomic/create-exclusive.js';
import { claimNameFor } from '../src/atomic/temp-name.js';
import { processUmask } from '../src/atomic/identity.js';
import { setWorkerPolicy, stopWorkers, workersReady, workerStats } from '../src/atomic/worker-pool.js';
import type { AtomicWriteOptions } from '../src/atomic/types.js';
import {
  ATTACKER_SKIP,
  attacker,
  ownerOf,
  protectedSymlinks,
  sharedStickyDir,
  withProtectedSymlinksOff,
  type Attacker,
} from './support/attacker.js';
import {
  assertNothingLeft,
  assertUnchanged,
  freshDirs,
  listDir,
  rejectsWith,
  snapshot,
  throwsWith,
} from './support/atomic-harness.js';
import { runCli } from './support/cli-run.js';

setWorkerPolicy({ max: 0 }); // the main thread's path, until the workers' section turns one on

const skip = attacker === undefined ? ATTACKER_SKIP : false;
const privateDir = freshDirs('fdk-victim-');
const writeFileAtomicSync = (
  createRequire(import.meta.url)('write-file-atomic') as { sync: (file: string, data: string) => void }
).sync;

function theAttacker(): Attacker {
  assert.ok(attacker !== undefined);
  return attacker;
}

/** A root-only file (0600, owned by root) with known content, in a directory of its own. */
function rootOnlyFile(name = 'secret.conf'): string {
  const p = path.join(privateDir(), name);
  fs.writeFileSync(p, `root's ${name}\n`, { mode: 0o600 });
  fs.chmodSync(p, 0o600);
  return p;
}

/** The attacker plants a symlink `link` → `to`. */
function plant(link: string, to: string): void {
  const r = theAttacker().run(['ln', '-s', to, link]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(ownerOf(link), theAttacker().uid);
}

/** A fresh sticky shared directory with the attacker's `report.txt` → a root-only file (and its snapshot). */
function plantedSecret(): { shared: string; secret: string; before: ReturnType<typeof snapshot>; link: string } {
  const shared = sharedStickyDir();
  const secret = rootOnlyFile();
  const before = snapshot(secret);
  const link = path.join(shared, 'report.txt');
  plant(link, secret);
  return { shared, secret, before, link };
}

/** Runs `fn` with the kernel's fs.protected_symlinks as it is, then off (where it can be turned off). */
async function bothKernelSettings(t: TestContext, fn: (kernelOff: boolean) => Promise<void> | void): Promise<void> {
  await fn(protectedSymlinks() === 0);
  if (!(await withProtectedSymlinksOff(() => fn(true))))
    t.diagnostic('fs.protected_symlinks cannot be turned off here: ran with the kernel setting only');
}

type Write = (p: string, data: string, o?: AtomicWriteOptions) => Promise<void>;
/** Every way a write reaches the protocol on the main thread. */
const WRITERS: Record<string, Write> = {
  atomicWrite: (p, data, o) => atomicWrite(p, data, o),
  atomicWriteSync: (p, data, o) =>
    Promise.resolve().then(() => {
      atomicWriteSync(p, data, o);
    }),
  atomicCreate: async (p, data, o) => {
    const f = await atomicCreate(p, o);
    await f.write(data);
    await f.commit();
  },
  atomicCreateSync: (p, data, o) =>
    Promise.resolve().then(() => {
      const f = atomicCreateSync(p, o);
      f.writeSync(data);
      f.commitSync();
    }),
};

/** Asserts `link` is still the attacker's symlink to `to`. */
function assertLinkStays(link: string, to: string): void {
  assert.ok(fs.lstatSync(link).isSymbolicLink(), `${link} is still a symlink`);
  assert.equal(fs.readlinkSync(link), to);
}

// ================================================================ item 1: planted links are not followed

describe('a symlink another user planted in a sticky world-writable directory', { skip }, () => {
  test('the hole is real: write-file-atomic (and node:fs with the kernel protection off) write through it', async (t) => {
    const shared = sharedStickyDir();
    const secret = rootOnlyFile();
    plant(path.join(shared, 'wfa.txt'), secret);
    writeFileAtomicSync(path.join(shared, 'wfa.txt'), 'pwned by write-file-atomic\n');
    assert.equal(
      fs.readFileSync(secret, 'utf8'),
      'pwned by write-file-atomic\n',
      'write-file-atomic resolved the link itself and replaced the root-only file',
    );
    const other = rootOnlyFile('other.conf');
    plant(path.join(shared, 'plain.txt'), other);
    const ran = await withProtectedSymlinksOff(() => {
      fs.writeFileSync(path.join(shared, 'plain.txt'), 'pwned by writeFileSync\n');
    });
    if (ran)
      assert.equal(
        fs.readFileSync(other, 'utf8'),
        'pwned by writeFileSync\n',
        'with the kernel protection off, open(2) follows it',
      );
    else t.diagnostic('fs.protected_symlinks cannot be turned off: the node:fs control did not run');
  });

  for (const [name, write] of Object.entries(WRITERS)) {
    test(`${name}: a link to a root-only file is refused (EACCES); the file byte-identical, mode and owner unchanged; no temp left`, async (t) => {
      await bothKernelSettings(t, async () => {
        const { shared, secret, before, link } = plantedSecret();
        const e = await rejectsWith(write(link, 'attacker-chosen content\n'), { code: 'EACCES', path: link });
        assert.match(e.message, /fs\.protected_symlinks/);
        assertUnchanged(secret, before);
        assertLinkStays(link, secret);
        assertNothingLeft(shared, ['report.txt']);
        assertNothingLeft(path.dirname(secret), ['secret.conf']);
      });
    });

    test(`${name}: a dangling link is refused; the file it names is not created (nor its directory, with mkdir)`, async (t) => {
      await bothKernelSettings(t, async () => {
        const shared = sharedStickyDir();
        const victim = privateDir();
        const link = path.join(shared, 'report.txt');
        plant(link, path.join(victim, 'created-by-root'));
        await rejectsWith(write(link, 'x'), { code: 'EACCES', path: link });
        const deep = path.join(shared, 'deep.txt');
        plant(deep, path.join(victim, 'newdir', 'created-by-root'));
        await rejectsWith(write(deep, 'x', { mkdir: true }), { code: 'EACCES', path: deep });
        assert.deepEqual(listDir(victim), [], 'nothing created where the links point');
        assertNothingLeft(shared, ['deep.txt', 'report.txt']);
      });
    });
  }

  test('a link to a directory in the path: refused, with and without mkdir; nothing is created under it', async (t) => {
    await bothKernelSettings(t, async (kernelOff) => {
      const shared = sharedStickyDir();
      const victim = privateDir();
      const dirLink = path.join(shared, 'data');
      plant(dirLink, victim);
      for (const [name, write] of Object.entries(WRITERS)) {
        await rejectsWith(write(path.join(dirLink, 'f.txt'), 'x'), {
          code: 'EACCES',
          path: path.join(dirLink, 'f.txt'),
        });
        await rejectsWith(write(path.join(dirLink, 'sub', 'deeper', 'f.txt'), 'x', { mkdir: true }), {
          code: 'EACCES',
          path: path.join(dirLink, 'sub', 'deeper', 'f.txt'),
        });
        assert.deepEqual(listDir(victim), [], `${name}: nothing created under the link's target`);
      }
      assertLinkStays(dirLink, victim);
      if (kernelOff) {
        // Control: mkdir -p through the link, as fdkeeper's mkdir did before, creates under the target.
        fs.mkdirSync(path.join(dirLink, 'control'), { recursive: true });
        assert.deepEqual(
          listDir(victim),
          ['control'],
          'with the kernel protection off, mkdir(2) follows the planted link',
        );
      }
    });
  });

  test("a chain: the caller's own link to an attacker's link is refused at the attacker's hop", async (t) => {
    await bothKernelSettings(t, async () => {
      const shared = sharedStickyDir();
      const secret = rootOnlyFile();
      const before = snapshot(secret);
      plant(path.join(shared, 'theirs'), secret);
      const mine = path.join(shared, 'mine');
      fs.symlinkSync(path.join(shared, 'theirs'), mine);
      await rejectsWith(atomicWrite(mine, 'x'), { code: 'EACCES', path: mine });
      throwsWith(
        () => {
          atomicWriteSync(mine, 'x');
        },
        { code: 'EACCES', path: mine },
      );
      assertUnchanged(secret, before);
    });
  });

  test('a link owned by the caller is followed, as the kernel follows it (the link stays, the file gets the data)', async (t) => {
    await bothKernelSettings(t, async () => {
      const shared = sharedStickyDir();
      const own = rootOnlyFile('own.conf');
      const link = path.join(shared, 'own-link');
      fs.symlinkSync(own, link);
      for (const [name, write] of Object.entries(WRITERS)) {
        await write(link, `via ${name}\n`);
        assert.equal(fs.readFileSync(own, 'utf8'), `via ${name}\n`);
        assert.equal(fs.statSync(own).mode & 0o7777, 0o600, 'the file keeps its mode');
      }
      assert.ok(fs.lstatSync(link).isSymbolicLink());
      assertNothingLeft(shared, ['own-link']);
    });
  });

  test("a link owned by the directory's owner is followed (the kernel's rule: an attacker-owned sticky directory)", async (t) => {
    await bothKernelSettings(t, async () => {
      const a = theAttacker();
      const theirDir = sharedStickyDir();
      fs.chownSync(theirDir, a.uid, a.gid);
      const file = rootOnlyFile('theirs-points-here.conf');
      const link = path.join(theirDir, 'link');
      plant(link, file);
      // Control: the kernel follows it too (open(2) through it works whatever the setting).
      fs.writeFileSync(link, 'kernel\n');
      assert.equal(fs.readFileSync(file, 'utf8'), 'kernel\n');
      for (const [name, write] of Object.entries(WRITERS)) {
        await write(link, `via ${name}\n`);
        assert.equal(fs.readFileSync(file, 'utf8'), `via ${name}\n`);
      }
      assertLinkStays(link, file);
    });
  });

  test("untrustedSymlink: 'replace' (and replaceSymlink) replace the planted link itself with a file of the caller's; the target untouched", async (t) => {
    await bothKernelSettings(t, async () => {
      const shared = sharedStickyDir();
      const secret = rootOnlyFile();
      const before = snapshot(secret);
      for (const [name, write] of Object.entries(WRITERS)) {
        for (const o of [{ untrustedSymlink: 'replace' }, { replaceSymlink: true }] as const) {
          const link = path.join(shared, 'report.txt');
          fs.rmSync(link, { force: true });
          plant(link, secret);
          await write(link, `${name} ${JSON.stringify(o)}\n`, o);
          const st = fs.lstatSync(link);
          assert.ok(st.isFile(), 'the link was replaced by a regular file');
          assert.equal(st.uid, 0, "the new file is root's, not the link owner's");
          assert.equal(st.mode & 0o7777, 0o666 & ~processUmask(), 'the mode of a new file');
          assert.equal(fs.readFileSync(link, 'utf8'), `${name} ${JSON.stringify(o)}\n`);
          assertUnchanged(secret, before);
        }
      }
      assertNothingLeft(shared, ['report.txt']);
    });
  });

  test('untrustedSymlink rejects anything but refuse/replace (TypeError)', async () => {
    await assert.rejects(
      atomicWrite(path.join(privateDir(), 'f'), 'x', { untrustedSymlink: 'follow' as 'refuse' }),
      TypeError,
    );
  });

  test('`fdkeeper write` (the CLI, through the library): refused, root-only file intact, `--mkdir` creates nothing', async (t) => {
    await bothKernelSettings(t, async () => {
      const { shared, secret, before, link } = plantedSecret();
      const r = await runCli(['write', link], { input: 'x\n' });
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /EACCES/);
      assertUnchanged(secret, before);
      const victim = privateDir();
      plant(path.join(shared, 'data'), victim);
      const m = await runCli(['write', '--mkdir', path.join(shared, 'data', 'sub', 'f.txt')], { input: 'x\n' });
      assert.notEqual(m.code, 0, m.stdout);
      assert.deepEqual(listDir(victim), []);
      const d = await runCli(['write', '--mkdir', path.join(shared, 'dangling')], { input: 'x\n' });
      plant(path.join(shared, 'dangling2'), path.join(victim, 'made', 'f.txt'));
      const d2 = await runCli(['write', '--mkdir', path.join(shared, 'dangling2')], { input: 'x\n' });
      assert.equal(d.code, 0, 'a plain new file is still written');
      assert.notEqual(d2.code, 0);
      assert.deepEqual(listDir(victim), []);
      assertNothingLeft(shared, ['dangling', 'dangling2', 'data', 'report.txt']);
    });
  });
});

// ================================================================ item 1 on the replace workers

describe('the same attacks through the replace workers', { skip }, () => {
  after(async () => {
    setWorkerPolicy({ max: 0 });
    await stopWorkers();
  });

  test("a worker refuses the planted link (its own error), follows the caller's own link (handed back), never touches the file", async (t) => {
    setWorkerPolicy({ max: 1, startAfter: 0, idleMs: 60_000 });
    assert.equal(await workersReady(), true, 'a replace worker starts');
    await bothKernelSettings(t, async () => {
      const { shared, secret, before, link } = plantedSecret();
      const failed = workerStats.failed;
      await rejectsWith(atomicWrite(link, 'x'), { code: 'EACCES', path: link });
      assert.equal(workerStats.failed, failed + 1, 'the worker judged the link itself');
      assertUnchanged(secret, before);
      const victim = privateDir();
      const dangling = path.join(shared, 'dangling');
      plant(dangling, path.join(victim, 'created'));
      await rejectsWith(atomicWrite(dangling, 'x'), { code: 'EACCES', path: dangling });
      const dirLink = path.join(shared, 'data');
      plant(dirLink, victim);
      await rejectsWith(atomicWrite(path.join(dirLink, 'f.txt'), 'x'), {
        code: 'EACCES',
        path: path.join(dirLink, 'f.txt'),
      });
      await rejectsWith(atomicWrite(path.join(dirLink, 'sub', 'f.txt'), 'x', { mkdir: true }), {
        code: 'EACCES',
        path: path.join(dirLink, 'sub', 'f.txt'),
      });
      assert.deepEqual(listDir(victim), []);
      assert.equal(workerStats.failed, failed + 4);
      const own = rootOnlyFile('own.conf');
      const ownLink = path.join(shared, 'own-link');
      fs.symlinkSync(own, ownLink);
      const handed = workerStats.handBack;
      await atomicWrite(ownLink, 'followed\n');
      assert.equal(fs.readFileSync(own, 'utf8'), 'followed\n');
      assert.equal(workerStats.handBack, handed + 1, 'the followed link was handed back to the main thread');
      const theirDir = sharedStickyDir();
      fs.chownSync(theirDir, theAttacker().uid, theAttacker().gid);
      const dirOwners = path.join(theirDir, 'link');
      plant(dirOwners, own);
      await atomicWrite(dirOwners, "the directory owner's link\n");
      assert.equal(
        fs.readFileSync(own, 'utf8'),
        "the directory owner's link\n",
        "a link owned by the directory's owner is followed",
      );
      assert.equal(workerStats.handBack, handed + 2);
      const done = workerStats.done;
      const replaced = path.join(shared, 'replace-me');
      plant(replaced, secret);
      await atomicWrite(replaced, 'mine\n', { untrustedSymlink: 'replace' });
      assert.equal(workerStats.done, done + 1, 'the worker replaced the link itself');
      assert.ok(fs.lstatSync(replaced).isFile());
      assertUnchanged(secret, before);
      assertNothingLeft(shared, ['dangling', 'data', 'own-link', 'replace-me', 'report.txt']);
    });
  });

  test('a worker creates new files with the umask as it is now (077 after a first write: 0600)', async () => {
    setWorkerPolicy({ max: 1, startAfter: 0, idleMs: 60_000 });
    assert.equal(await workersReady(), true);
    const dir = privateDir();
    const old = process.umask(0o022);
    try {
      const done = workerStats.done;
      await atomicWrite(path.join(dir, 'first'), 'x');
      assert.equal(fs.statSync(path.join(dir, 'first')).mode & 0o777, 0o644);
      process.umask(0o077);
      await atomicWrite(path.join(dir, 'second'), 'x');
      assert.equal(
        fs.statSync(path.join(dir, 'second')).mode & 0o777,
        0o600,
        'the umask tightened after the first write applies',
      );
      assert.equal(workerStats.done, done + 2, 'both on the worker');
    } finally {
      process.umask(old);
    }
  });
});

// ================================================================ item 8: planted claims

describe('createExclusive with a claim planted at its predictable name by another user', { skip }, () => {
  const kinds = {
    'a regular file naming a live process (pid 1, this host)': (claim: string) => {
      const r = theAttacker().run(['sh', '-c', 'cat > "$1"', 'sh', claim], { input: `1\n${os.hostname()}\n` });
      assert.equal(r.status, 0, r.stderr.toString());
    },
    'a symlink to a root-only file': (claim: string, secret: string) => {
      plant(claim, secret);
    },
    'a FIFO': (claim: string) => {
      const r = theAttacker().run(['mkfifo', claim]);
      assert.equal(r.status, 0, r.stderr.toString());
    },
    "an empty file (what a crashed claimer leaves: stale, but another user's)": (claim: string) => {
      const r = theAttacker().run(['touch', claim]);
      assert.equal(r.status, 0, r.stderr.toString());
    },
  };
  for (const [kind, make] of Object.entries(kinds)) {
    test(`${kind}: stepped around — created, the planted thing untouched, nothing else left`, async () => {
      const shared = sharedStickyDir();
      const secret = rootOnlyFile();
      const before = snapshot(secret);
      const target = path.join(shared, 'cache.bin');
      const claim = claimNameFor(target);
      make(claim, secret);
      const planted = fs.lstatSync(claim);
      assert.equal(planted.uid, theAttacker().uid);
      assert.deepEqual(await createExclusive(target, 'produced\n'), { created: true, path: target });
      assert.equal(fs.readFileSync(target, 'utf8'), 'produced\n');
      const after = fs.lstatSync(claim);
      assert.deepEqual(
        [after.ino, after.uid, after.mode, after.size],
        [planted.ino, planted.uid, planted.mode, planted.size],
        'the planted thing is left as it was',
      );
      assertUnchanged(secret, before);
      assert.deepEqual(await createExclusive(target, 'again'), { created: false, path: target, reason: 'exists' });
      assert.deepEqual(listDir(shared), [path.basename(claim), 'cache.bin']);
      // With wait, no waiting on it either.
      const waited = path.join(shared, 'waited.bin');
      make(claimNameFor(waited), secret);
      assert.deepEqual(await createExclusive(waited, 'w', { wait: { timeoutMs: 60_000, pollMs: 50 } }), {
        created: true,
        path: waited,
      });
    });
  }

  test('control: the same claims made by the caller are honoured (in-progress), so ownership is what decides', async () => {
    const shared = sharedStickyDir();
    const target = path.join(shared, 'cache.bin');
    fs.writeFileSync(claimNameFor(target), `1\n${os.hostname()}\n`);
    assert.deepEqual(await createExclusive(target, 'x'), { created: false, path: target, reason: 'in-progress' });
    const fifoTarget = path.join(shared, 'fifo.bin');
    assert.equal(spawnSync('mkfifo', [claimNameFor(fifoTarget)]).status, 0);
    assert.deepEqual(await createExclusive(fifoTarget, 'x'), {
      created: false,
      path: fifoTarget,
      reason: 'in-progress',
    });
    assert.equal(fs.existsSync(target), false);
  });

  test('a link in the directory part is judged as for a write (EACCES, nothing created under it)', async (t) => {
    await bothKernelSettings(t, async () => {
      const shared = sharedStickyDir();
      const victim = privateDir();
      plant(path.join(shared, 'data'), victim);
      const target = path.join(shared, 'data', 'sub', 'cache.bin');
      await rejectsWith(createExclusive(target, 'x', { mkdir: true }), { code: 'EACCES', path: target });
      assert.deepEqual(listDir(victim), []);
    });
  });
});

// ================================================================ item 9: the umask at each create

describe("the umask is the process's as it is at each create", () => {
  test('after a first write with 022, umask 077 gives 0600 files (every form; createExclusive too)', async () => {
    const dir = privateDir();
    const old = process.umask(0o022);
    try {
      await atomicWrite(path.join(dir, 'before'), 'x');
      assert.equal(fs.statSync(path.join(dir, 'before')).mode & 0o777, 0o644);
      process.umask(0o077);
      await atomicWrite(path.join(dir, 'a'), 'x');
      atomicWriteSync(path.join(dir, 'b'), 'x');
      const p = await atomicCreate(path.join(dir, 'c'));
      await p.commit();
      await createExclusive(path.join(dir, 'd'), 'x');
      await atomicWrite(path.join(dir, 'sub', 'e'), 'x', { mkdir: true });
      for (const n of ['a', 'b', 'c', 'd', path.join('sub', 'e')])
        assert.equal(fs.statSync(path.join(dir, n)).mode & 0o777, 0o600, n);
      assert.equal(fs.statSync(path.join(dir, 'sub')).mode & 0o777, 0o700, 'mkdir: 0777 less the umask');
      process.umask(0o002);
      await atomicWrite(path.join(dir, 'loosened'), 'x');
      assert.equal(fs.statSync(path.join(dir, 'loosened')).mode & 0o777, 0o664);
      await atomicWrite(path.join(dir, 'a'), 'y');
      assert.equal(fs.statSync(path.join(dir, 'a')).mode & 0o777, 0o600, 'a replaced file keeps its own mode');
    } finally {
      process.umask(old);
    }
  });
});
