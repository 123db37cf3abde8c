/**
 * Atomic writes (issue 4): atomicWrite / atomicWriteSync, PendingFile, createExclusive, cleanupTemps.
 *
 * Real temp directories on the OS backend, and the same protocol on the in-memory backend where it
 * makes sense. A FaultyBackend logs every call (the syscall sequence per durability level) and fails
 * each step in turn: before the rename the target must stay byte-identical with no temp file left and
 * every descriptor closed; after it, the new content is in place and the error is still reported.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { atomicWrite, atomicWriteSync } from '../src/atomic/atomic-write.js';
import { PendingFile, atomicCreate, atomicCreateSync } from '../src/atomic/pending-file.js';
import { createExclusive } from '../src/atomic/create-exclusive.js';
import { cleanupTemps } from '../src/atomic/cleanup-temps.js';
import {
  claimNameFor,
  isClaimName,
  isTempName,
  parseTempName,
  setTempRandomSource,
  tempNameFor,
} from '../src/atomic/temp-name.js';
import { refreshProcessUmask } from '../src/atomic/identity.js';
import { forgetFileSystems, isLocalDir } from '../src/atomic/close-policy.js';
import type { Durability } from '../src/atomic/types.js';
import type { Backend } from '../src/backend/backend.js';
import { FaultyBackend, type FaultCall, type FaultRule } from '../src/backend/faulty-backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { O } from '../src/backend/flags.js';
import { FsError } from '../src/errors/fs-error.js';
import { rejectsFs, throwsFs } from './support/io-fixture.js';
import { freshDirs } from './support/atomic-harness.js';
import { settleWorkers } from './support/worker-mode.js';

settleWorkers();

/** A fresh directory for one test. */
const freshDir = freshDirs('fdkeeper-atomic-');
/** A path in a fresh directory; with `content`, the file is created with it. */
function file(name: string, content?: string | Uint8Array): string {
  const p = path.join(freshDir(), name);
  if (content !== undefined) fs.writeFileSync(p, content);
  return p;
}
const isRoot = process.geteuid?.() === 0;
const osb = new OsBackend();

/** Names in `dir` that are temp files or claims. */
function leftovers(dir: string, backend: Backend = osb): string[] {
  return backend.readdirSync(dir).filter((n) => isTempName(n) || isClaimName(n));
}
function assertNoTemps(dir: string, backend: Backend = osb): void {
  assert.deepEqual(leftovers(dir, backend), [], 'no temp file or claim is left');
}
/**
 * Every descriptor opened through `f` was closed. Only for calls that never overlap a close with an open:
 * FaultyBackend counts by descriptor number, and a number freed by one call and taken by another before
 * the first call's completion runs confuses its counts (see {@link assertNoFdLeak} for concurrent work).
 */
function assertBalanced(f: FaultyBackend): void {
  assert.deepEqual(f.openFds(), [], 'every descriptor opened is closed');
  assert.equal(f.opened(), f.closed());
}
/** This process's open descriptors (Linux: /proc/self/fd), for checks around concurrent work. */
function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}
/** No more descriptors are open than `before` (what {@link openFdCount} said before the work). */
function assertNoFdLeak(before: number): void {
  if (process.platform === 'linux')
    assert.ok(openFdCount() <= before, `descriptors leaked: ${openFdCount()} open, ${before} before`);
}
/** The calls as `syscall` names, with where they went: `open:temp`, `fsync:dir`… */
function sequence(calls: readonly FaultCall[], target: string): string[] {
  const dir = path.dirname(target);
  const where = (p: string | undefined): string => {
    if (p === undefined) return '';
    if (p === target) return ':target';
    if (p === dir) return ':dir';
    if (dir.startsWith(p + path.sep)) return ':ancestor';
    if (isTempName(path.basename(p))) return ':temp';
    return `:${p}`;
  };
  return calls.map((c) => c.syscall + where(c.path));
}
const mode = (p: string): number => fs.statSync(p).mode & 0o7777;
/** An async generator of `chunks`, one per turn of the event loop's microtasks. */
async function* chunksOf(...chunks: string[]): AsyncGenerator<string> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

// ================================================================ temp names

describe('temp names', () => {
  test('pattern: .base.pid36-rand.fdkeeper-tmp in the target directory, parseable, fresh each time', () => {
    const t = path.join('/some/dir', 'config.json');
    const a = tempNameFor(t);
    const b = tempNameFor(t);
    assert.notEqual(a, b);
    assert.equal(path.dirname(a), '/some/dir');
    const name = path.basename(a);
    assert.match(name, new RegExp(`^\\.config\\.json\\.${process.pid.toString(36)}-[0-9a-f]{12}\\.fdkeeper-tmp$`));
    assert.ok(isTempName(name));
    assert.deepEqual(parseTempName(name), { base: 'config.json', pid: process.pid });
    for (const n of [
      'config.json',
      '.config.json.tmp',
      '.x.1-abc.fdkeeper-tmp',
      '.x.1-ABCDEFABCDEF.fdkeeper-tmp',
      'x.1-abcdefabcdef.fdkeeper-tmp',
    ]) {
      assert.equal(isTempName(n), false, n);
      assert.equal(parseTempName(n), undefined, n);
    }
    assert.equal(path.basename(claimNameFor(t)), '.config.json.fdkeeper-claim');
    assert.ok(isClaimName('.config.json.fdkeeper-claim'));
    assert.equal(isClaimName(name), false);
  });

  test('long and multibyte names are shortened to at most 255 bytes, never inside a character', () => {
    for (const base of ['a'.repeat(255), 'é'.repeat(127), '😀'.repeat(63) + 'x', 'ab😀'.repeat(40)]) {
      const name = path.basename(tempNameFor(path.join('/d', base)));
      assert.ok(Buffer.byteLength(name) <= 255, `${Buffer.byteLength(name)} bytes`);
      assert.ok(isTempName(name));
      const parsed = parseTempName(name);
      assert.ok(parsed !== undefined && base.startsWith(parsed.base) && parsed.base.length > 0);
      assert.ok(
        !parsed.base.includes('\uFFFD') && Buffer.from(parsed.base).toString() === parsed.base,
        'no split character',
      );
      const claim = path.basename(claimNameFor(path.join('/d', base)));
      assert.ok(Buffer.byteLength(claim) <= 255 && isClaimName(claim));
    }
  });

  test('a taken name (EEXIST) is retried with a new one; the file holding the name is left alone', async () => {
    const p = file('target.txt', 'old');
    const names = ['aaaaaaaaaaaa', 'aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'bbbbbbbbbbbb', 'cccccccccccc'];
    let i = 0;
    setTempRandomSource(() => names[Math.min(i++, names.length - 1)] ?? 'cccccccccccc');
    try {
      const squatter = tempNameFor(p); // 'aaaa…'
      fs.writeFileSync(squatter, 'not yours');
      const squatter2 = tempNameFor(p); // 'aaaa…' again: consumed
      assert.equal(squatter2, squatter);
      fs.writeFileSync(tempNameFor(p), 'not yours either'); // 'bbbb…'
      i = 0;
      await atomicWrite(p, 'new');
      assert.equal(fs.readFileSync(p, 'utf8'), 'new');
      assert.equal(fs.readFileSync(squatter, 'utf8'), 'not yours');
      assert.equal(leftovers(path.dirname(p)).length, 2, 'only the two squatters remain');
    } finally {
      setTempRandomSource(undefined);
    }
  });

  test('after 100 taken names: EEXIST, target untouched', async () => {
    const p = file('target.txt', 'old');
    setTempRandomSource(() => 'dddddddddddd');
    try {
      fs.writeFileSync(tempNameFor(p), 'squatter');
      const f = new FaultyBackend(osb);
      const e = await rejectsFs(atomicWrite(p, 'new', { backend: f }), 'EEXIST', 'no unused temp name after 100 tries');
      assert.equal(e.path, p);
      assert.equal(f.calls.filter((c) => c.syscall === 'open').length, 100);
      throwsFs(() => {
        atomicWriteSync(p, 'new');
      }, 'EEXIST');
      assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    } finally {
      setTempRandomSource(undefined);
    }
  });

  test('EEXIST injected on the first temp create: retried, written', async () => {
    const p = file('t.txt', 'old');
    const f = new FaultyBackend(osb, [{ syscall: 'open', path: /fdkeeper-tmp$/, nth: 1, code: 'EEXIST' }]);
    await atomicWrite(p, 'new', { backend: f });
    assert.equal(fs.readFileSync(p, 'utf8'), 'new');
    assert.equal(
      f.calls.filter((c) => c.syscall === 'open' && c.path !== undefined && isTempName(path.basename(c.path))).length,
      2,
    );
    assertNoTemps(path.dirname(p));
    assertBalanced(f);
  });
});

// ================================================================ content

describe('content of every data kind', () => {
  const cases: [string, () => Parameters<typeof atomicWrite>[1], string][] = [
    ['string', () => 'héllo', 'héllo'],
    ['empty string', () => '', ''],
    ['Uint8Array', () => new Uint8Array([104, 105]), 'hi'],
    ['Buffer slice', () => Buffer.from('xxhixx').subarray(2, 4), 'hi'],
    ['array of chunks', () => ['a', Buffer.from('b'), new Uint8Array([99])], 'abc'],
    [
      'big array (not joined)',
      () => [Buffer.alloc(700_000, 'a'), Buffer.alloc(700_000, 'b')],
      'a'.repeat(700_000) + 'b'.repeat(700_000),
    ],
    [
      'generator',
      () =>
        (function* () {
          yield 'x';
          yield Buffer.from('y');
        })(),
      'xy',
    ],
    [
      'async generator',
      () =>
        (async function* () {
          yield 'x';
          await delay(1);
          yield 'yz';
        })(),
      'xyz',
    ],
    ['Readable stream', () => Readable.from([Buffer.from('st'), Buffer.from('ream')]), 'stream'],
  ];
  for (const [name, make, want] of cases) {
    test(`atomicWrite: ${name}`, async () => {
      const p = file('f.txt', 'old content');
      await atomicWrite(p, make());
      assert.equal(fs.readFileSync(p, 'utf8'), want);
      assertNoTemps(path.dirname(p));
    });
  }

  test('a file stream as data', async () => {
    const src = file('src.bin', Buffer.alloc(300_000, 7));
    const p = path.join(path.dirname(src), 'copy.bin');
    await atomicWrite(p, fs.createReadStream(src));
    assert.ok(fs.readFileSync(p).equals(fs.readFileSync(src)));
  });

  test('encoding applies to string data and string chunks', async () => {
    const p = file('f.txt');
    await atomicWrite(p, '68656c6c6f', { encoding: 'hex' });
    assert.equal(fs.readFileSync(p, 'utf8'), 'hello');
    await atomicWrite(p, ['aGk=', 'IQ=='], { encoding: 'base64' });
    assert.equal(fs.readFileSync(p, 'utf8'), 'hi!');
    atomicWriteSync(p, 'e9', { encoding: 'hex' });
    assert.deepEqual([...fs.readFileSync(p)], [0xe9]);
  });

  test('atomicWriteSync: string, bytes, array, generator', () => {
    const p = file('f.txt', 'old');
    atomicWriteSync(p, 'one');
    assert.equal(fs.readFileSync(p, 'utf8'), 'one');
    atomicWriteSync(p, Buffer.from('two'));
    assert.equal(fs.readFileSync(p, 'utf8'), 'two');
    atomicWriteSync(p, ['th', 'ree']);
    assert.equal(fs.readFileSync(p, 'utf8'), 'three');
    atomicWriteSync(
      p,
      (function* () {
        yield 'fo';
        yield 'ur';
      })(),
    );
    assert.equal(fs.readFileSync(p, 'utf8'), 'four');
    assertNoTemps(path.dirname(p));
  });

  test('invalid data: TypeError, nothing written, no temp', async () => {
    const p = file('f.txt', 'old');
    await assert.rejects(atomicWrite(p, 42 as unknown as string), TypeError);
    await assert.rejects(atomicWrite(p, null as unknown as string), TypeError);
    await assert.rejects(atomicWrite(p, ['ok', 42] as unknown as string[]), TypeError);
    await assert.rejects(
      atomicWrite(
        p,
        (function* () {
          yield 'ok';
          yield 42;
        })() as unknown as Iterable<string>,
      ),
      TypeError,
    );
    assert.throws(() => {
      atomicWriteSync(p, chunksOf('x') as unknown as Iterable<string>);
    }, TypeError);
    assert.throws(() => {
      atomicWriteSync(
        p,
        (function* () {
          yield 'ok';
          yield {};
        })() as unknown as Iterable<string>,
      );
    }, TypeError);
    await assert.rejects(atomicWrite(p, 'x', { durability: 'always' as Durability }), TypeError);
    await assert.rejects(atomicWrite(p, 'x', { mode: 0o10000 }), { name: 'FsError', code: 'EINVAL' }); // numeric options: EINVAL (issue 11)
    await assert.rejects(atomicWrite('', 'x'), TypeError);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assertNoTemps(path.dirname(p));
  });

  test('a directory is EISDIR, a trailing slash too; the directory is untouched', async () => {
    const d = freshDir();
    fs.mkdirSync(path.join(d, 'sub'));
    await rejectsFs(atomicWrite(path.join(d, 'sub'), 'x'), 'EISDIR');
    throwsFs(() => {
      atomicWriteSync(path.join(d, 'sub'), 'x');
    }, 'EISDIR');
    await rejectsFs(atomicWrite(path.join(d, 'new') + '/', 'x'), 'EISDIR');
    assert.ok(fs.statSync(path.join(d, 'sub')).isDirectory());
    assertNoTemps(d);
  });

  test('relative paths resolve against the working directory', async () => {
    const d = freshDir();
    const rel = path.relative(process.cwd(), path.join(d, 'rel.txt'));
    await atomicWrite(rel, 'relative');
    assert.equal(fs.readFileSync(path.join(d, 'rel.txt'), 'utf8'), 'relative');
  });
});

// ================================================================ mode and owner

describe('mode and owner', () => {
  test('an existing file keeps its mode (setuid/setgid bits included)', async () => {
    const p = file('m.txt', 'old');
    for (const m of [0o640, 0o755, 0o400, 0o2750]) {
      fs.chmodSync(p, m);
      await atomicWrite(p, `mode ${m.toString(8)}`);
      assert.equal(mode(p), m, `after async write, mode ${m.toString(8)}`);
      atomicWriteSync(p, 'sync');
      assert.equal(mode(p), m, `after sync write, mode ${m.toString(8)}`);
    }
  });

  test('`mode` sets the mode exactly (no umask), for new and existing files', async () => {
    const p = file('m.txt', 'old');
    await atomicWrite(p, 'x', { mode: 0o600 });
    assert.equal(mode(p), 0o600);
    const q = path.join(path.dirname(p), 'new.txt');
    await atomicWrite(q, 'x', { mode: 0o777 });
    assert.equal(mode(q), 0o777);
    atomicWriteSync(q, 'x', { mode: 0o604 });
    assert.equal(mode(q), 0o604);
  });

  test('a new file gets 0o666 less the umask (the temp file itself is created 0600)', async () => {
    const old = process.umask(0o027);
    try {
      assert.equal(refreshProcessUmask(), 0o027);
      const p = file('u.txt');
      const f = new FaultyBackend(osb);
      const opens: number[] = [];
      const spy: Backend = Object.create(f, {
        open: {
          value: (pth: string, flags: number, m?: number) => {
            opens.push(m ?? -1);
            return f.open(pth, flags, m);
          },
        },
      }) as Backend;
      await atomicWrite(p, 'x', { backend: spy });
      assert.equal(mode(p), 0o640);
      assert.equal(opens[0], 0o600, 'the temp file is created 0600');
    } finally {
      process.umask(old);
      refreshProcessUmask();
    }
    const p2 = file('u2.txt');
    atomicWriteSync(p2, 'x');
    assert.equal(mode(p2), 0o666 & ~old);
  });

  test("on the memory backend the umask is the backend's", async () => {
    const m = new MemoryBackend({ umask: 0o077 });
    m.mkdirSync('/d');
    await atomicWrite('/d/a', 'x', { backend: m });
    assert.equal(m.statSync('/d/a').mode & 0o777, 0o600);
    m.umask = 0o002;
    atomicWriteSync('/d/b', 'x', { backend: m });
    assert.equal(m.statSync('/d/b').mode & 0o777, 0o664);
  });

  test(
    'as root the owner is kept; chown: false drops it; chown: {uid,gid} sets it',
    { skip: !isRoot && 'needs root' },
    async () => {
      const p = file('o.txt', 'old');
      fs.chownSync(p, 1234, 1234);
      fs.chmodSync(p, 0o640);
      await atomicWrite(p, 'new');
      let st = fs.statSync(p);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1234, 1234, 0o640]);
      atomicWriteSync(p, 'newer');
      st = fs.statSync(p);
      assert.deepEqual([st.uid, st.gid], [1234, 1234]);
      await atomicWrite(p, 'mine', { chown: false });
      st = fs.statSync(p);
      assert.deepEqual([st.uid, st.gid], [process.geteuid?.(), process.getegid?.()]);
      await atomicWrite(p, 'theirs', { chown: { uid: 4321, gid: 4322 } });
      st = fs.statSync(p);
      assert.deepEqual([st.uid, st.gid], [4321, 4322]);
      const q = path.join(path.dirname(p), 'new.txt');
      atomicWriteSync(q, 'x', { chown: { uid: 55, gid: 66 } });
      st = fs.statSync(q);
      assert.deepEqual([st.uid, st.gid], [55, 66]);
    },
  );

  test(
    'as root, a set-id bit survives keeping the owner (fchown before fchmod)',
    { skip: !isRoot && 'needs root' },
    async () => {
      const p = file('suid', 'old');
      fs.chownSync(p, 1234, 1234);
      fs.chmodSync(p, 0o4755);
      const f = new FaultyBackend(osb);
      await atomicWrite(p, 'new', { backend: f });
      assert.equal(mode(p), 0o4755);
      const names = f.calls.map((c) => c.syscall);
      assert.ok(names.indexOf('fchown') < names.indexOf('fchmod'));
    },
  );

  test("root writing root's own file makes no fchown call", { skip: !isRoot && 'needs root' }, async () => {
    const p = file('r.txt', 'old');
    const f = new FaultyBackend(osb);
    await atomicWrite(p, 'new', { backend: f });
    assert.equal(f.calls.filter((c) => c.syscall === 'fchown').length, 0);
  });
});

// ================================================================ symlinks

describe('symlinks', () => {
  test('written through by default: the link stays, its target gets the data and keeps its mode', async () => {
    const d = freshDir();
    fs.mkdirSync(path.join(d, 'real'));
    const real = path.join(d, 'real', 'data.txt');
    fs.writeFileSync(real, 'old');
    fs.chmodSync(real, 0o604);
    const link = path.join(d, 'link.txt');
    fs.symlinkSync('real/data.txt', link); // relative to the link's directory
    const f = new FaultyBackend(osb);
    await atomicWrite(link, 'through', { backend: f });
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.equal(fs.readlinkSync(link), 'real/data.txt');
    assert.equal(fs.readFileSync(real, 'utf8'), 'through');
    assert.equal(mode(real), 0o604);
    const renames = f.calls.filter((c) => c.syscall === 'rename');
    assert.equal(renames.length, 1);
    assert.equal(path.dirname(renames[0]!.path!), path.join(d, 'real'), 'the temp file was beside the real file');
    assertNoTemps(d);
    assertNoTemps(path.join(d, 'real'));
    atomicWriteSync(link, 'sync through');
    assert.equal(fs.readFileSync(real, 'utf8'), 'sync through');
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assertBalanced(f);
  });

  test('chains, absolute targets and dangling links', async () => {
    const d = freshDir();
    const real = path.join(d, 'real.txt');
    fs.symlinkSync(real, path.join(d, 'l1')); // absolute, dangling
    fs.symlinkSync('l1', path.join(d, 'l2'));
    fs.symlinkSync(path.join(d, 'l2'), path.join(d, 'l3'));
    await atomicWrite(path.join(d, 'l3'), 'created through 3 links');
    assert.equal(fs.readFileSync(real, 'utf8'), 'created through 3 links');
    for (const l of ['l1', 'l2', 'l3']) assert.ok(fs.lstatSync(path.join(d, l)).isSymbolicLink());
  });

  test('replaceSymlink: the link itself becomes a regular file, its old target untouched', async () => {
    const d = freshDir();
    const real = path.join(d, 'real.txt');
    fs.writeFileSync(real, 'old');
    const link = path.join(d, 'link.txt');
    fs.symlinkSync('real.txt', link);
    await atomicWrite(link, 'replaced', { replaceSymlink: true });
    assert.ok(fs.lstatSync(link).isFile());
    assert.equal(fs.readFileSync(link, 'utf8'), 'replaced');
    assert.equal(fs.readFileSync(real, 'utf8'), 'old');
    fs.rmSync(link);
    fs.symlinkSync('real.txt', link);
    atomicWriteSync(link, 'sync replaced', { replaceSymlink: true });
    assert.ok(fs.lstatSync(link).isFile());
    assert.equal(fs.readFileSync(real, 'utf8'), 'old');
  });

  test('a symlink loop is ELOOP; nothing is left', async () => {
    const d = freshDir();
    fs.symlinkSync('b', path.join(d, 'a'));
    fs.symlinkSync('a', path.join(d, 'b'));
    await rejectsFs(atomicWrite(path.join(d, 'a'), 'x'), 'ELOOP');
    throwsFs(() => {
      atomicWriteSync(path.join(d, 'a'), 'x');
    }, 'ELOOP');
    assertNoTemps(d);
  });

  test('on the memory backend too', async () => {
    const m = new MemoryBackend();
    m.mkdirSync('/d');
    m.mkdirSync('/e');
    m.symlinkSync('../e/real', '/d/link');
    await atomicWrite('/d/link', 'via link', { backend: m });
    assert.deepEqual(m.tree(), {
      '/d': { kind: 'dir' },
      '/d/link': { kind: 'symlink', target: '../e/real' },
      '/e': { kind: 'dir' },
      '/e/real': 'via link',
    });
    atomicWriteSync('/d/link', 'replaced', { backend: m, replaceSymlink: true });
    assert.equal(m.tree()['/d/link'], 'replaced');
  });
});

// ================================================================ mkdir

describe('missing parents', () => {
  test('ENOENT without mkdir; nothing is created', async () => {
    const d = freshDir();
    const p = path.join(d, 'a', 'b', 'f.txt');
    await rejectsFs(atomicWrite(p, 'x'), 'ENOENT');
    throwsFs(() => {
      atomicWriteSync(p, 'x');
    }, 'ENOENT');
    assert.deepEqual(fs.readdirSync(d), []);
  });

  for (const sync of [false, true]) {
    test(`mkdir creates them (${sync ? 'sync' : 'async'}); 'full' fsyncs each created directory's parent`, async () => {
      const d = freshDir();
      const p = path.join(d, 'a', 'b', 'c', 'f.txt');
      const f = new FaultyBackend(osb);
      if (sync) atomicWriteSync(p, 'deep', { mkdir: true, backend: f });
      else await atomicWrite(p, 'deep', { mkdir: true, backend: f });
      assert.equal(fs.readFileSync(p, 'utf8'), 'deep');
      assert.equal(mode(path.join(d, 'a')) & 0o777, 0o777 & ~refreshProcessUmask());
      const mkdirs = f.calls.filter((c) => c.syscall === 'mkdir' && c.error === undefined).map((c) => c.path);
      assert.deepEqual(mkdirs.sort(), [path.join(d, 'a'), path.join(d, 'a', 'b'), path.join(d, 'a', 'b', 'c')]);
      const dirSyncs = f.calls
        .filter((c) => c.syscall === 'fsync' && c.path !== undefined && !isTempName(path.basename(c.path)))
        .map((c) => c.path);
      assert.deepEqual(
        [...new Set(dirSyncs)].sort(),
        [d, path.join(d, 'a'), path.join(d, 'a', 'b'), path.join(d, 'a', 'b', 'c')].sort(),
      );
      assertBalanced(f);
    });
  }

  test('mkdir with durability none fsyncs nothing; works on the memory backend', async () => {
    const mem = new MemoryBackend();
    const m = new FaultyBackend(mem);
    await atomicWrite('/x/y/z.txt', 'mem', { mkdir: true, durability: 'none', backend: m });
    assert.equal(m.calls.filter((c) => c.syscall === 'fsync').length, 0);
    assert.equal(mem.tree()['/x/y/z.txt'], 'mem');
  });
});

// ================================================================ syscall sequences

const EXPECTED: Record<Durability | 'full (async)', string[]> = {
  full: [
    'lstat:target',
    'open:temp',
    'write:temp',
    'fchmod:temp',
    'fsync:temp',
    'close:temp',
    'rename:temp',
    'open:dir',
    'fsync:dir',
    'close:dir',
  ],
  // The promise form makes the same calls in the same order (the directory is not opened ahead: measured
  // twice, once alongside the temp file's create and once alongside its write, it gained nothing here).
  'full (async)': [
    'lstat:target',
    'open:temp',
    'write:temp',
    'fchmod:temp',
    'fsync:temp',
    'close:temp',
    'rename:temp',
    'open:dir',
    'fsync:dir',
    'close:dir',
  ],
  file: ['lstat:target', 'open:temp', 'write:temp', 'fchmod:temp', 'fsync:temp', 'close:temp', 'rename:temp'],
  none: ['lstat:target', 'open:temp', 'write:temp', 'fchmod:temp', 'close:temp', 'rename:temp'],
};

describe('durability levels: the syscall sequence', () => {
  for (const backendName of ['os', 'memory'] as const) {
    for (const durability of ['full', 'file', 'none'] as const) {
      for (const sync of [false, true]) {
        test(`${backendName}, ${durability}, ${sync ? 'sync' : 'async'}`, async () => {
          const mem = new MemoryBackend();
          const inner: Backend = backendName === 'os' ? osb : mem;
          let p: string;
          if (backendName === 'os') p = file('seq.txt', 'old');
          else {
            inner.mkdirSync('/d');
            p = '/d/seq.txt';
            const fd = inner.openSync(p, O.WRONLY | O.CREAT);
            inner.writeSync(fd, Buffer.from('old'), 0, 3, null);
            inner.closeSync(fd);
          }
          const f = new FaultyBackend(inner);
          if (sync) atomicWriteSync(p, 'new content', { durability, backend: f });
          else await atomicWrite(p, 'new content', { durability, backend: f });
          // The path walk (resolve-target.ts): one lstat per directory component, then the target's.
          const walk = [
            ...path
              .dirname(path.dirname(p))
              .split(path.sep)
              .filter((x) => x !== '')
              .map(() => 'lstat:ancestor'),
            'lstat:dir',
          ];
          assert.deepEqual(sequence(f.calls, p), [
            ...walk,
            ...EXPECTED[durability === 'full' && !sync ? 'full (async)' : durability],
          ]);
          // The flags of the temp file's create and of the directory's open.
          const fsyncs = f.calls.filter((c) => c.syscall === 'fsync');
          assert.equal(fsyncs.length, durability === 'full' ? 2 : durability === 'file' ? 1 : 0);
          assert.equal(f.calls.filter((c) => c.syscall === 'fdatasync').length, 0, 'fsync, not fdatasync');
          const rename = f.calls.find((c) => c.syscall === 'rename')!;
          assert.equal(rename.dest, p);
          assert.equal(path.dirname(rename.path!), path.dirname(p), 'the temp file is in the target directory');
          const content = backendName === 'os' ? fs.readFileSync(p, 'utf8') : mem.tree()[p];
          assert.equal(content, 'new content');
          assertNoTemps(path.dirname(p), inner);
          assertBalanced(f);
        });
      }
    }
  }

  test("lstat, closes after an fsync and the directory's open are synchronous on a local file system (once it is known), asynchronous before that, for 'none' and off the OS", async () => {
    forgetFileSystems();
    const p = file('closes.txt', 'old');
    const closes = (f: FaultyBackend): string[] =>
      f.calls
        .filter((c) => c.syscall === 'close')
        .map((c) => `${c.sync ? 'sync' : 'async'}:${c.path === path.dirname(p) ? 'dir' : 'temp'}`);
    const first = new FaultyBackend(osb);
    await atomicWrite(p, 'one', { backend: first });
    // The first calls (the path walk's lstats) come before statfs(2) can have answered; later ones may not.
    const lstats = (f: FaultyBackend): boolean[] => [
      ...new Set(f.calls.filter((c) => c.syscall === 'lstat').map((c) => c.sync)),
    ];
    assert.deepEqual(lstats(first), [false], 'the file system is not known yet: thread-pool lstats');
    for (let i = 0; i < 200 && isLocalDir(path.dirname(p)) === undefined; i++) await delay(10); // statfs(2) answers
    const local =
      process.platform === 'linux' &&
      (fs.statfsSync(path.dirname(p)).type === 0xef53 || fs.statfsSync(path.dirname(p)).type === 0x01021994);
    const second = new FaultyBackend(osb);
    await atomicWrite(p, 'two', { backend: second });
    if (local) {
      assert.deepEqual(closes(second), ['sync:temp', 'sync:dir'], 'ext4/tmpfs: closed without a thread-pool job');
      const dirOpens = second.calls.filter((c) => c.syscall === 'open' && c.path === path.dirname(p));
      assert.deepEqual(
        dirOpens.map((c) => c.sync),
        [true],
        'the directory opened without a thread-pool job',
      );
      assert.deepEqual(lstats(second), [true], 'the lstats without a thread-pool job');
      assert.ok(
        second.calls
          .filter(
            (c) => ['open', 'write', 'fchmod', 'fsync', 'rename'].includes(c.syscall) && c.path !== path.dirname(p),
          )
          .every((c) => !c.sync),
        'create, write, fchmod, fsync and rename stay on the thread pool',
      );
    }
    const none = new FaultyBackend(osb);
    await atomicWrite(p, 'three', { backend: none, durability: 'none' });
    assert.deepEqual(closes(none), ['async:temp'], "'none': no fsync before the close, so it stays asynchronous");
    const mem = new MemoryBackend();
    mem.mkdirSync('/d');
    const onMemory = new FaultyBackend(mem);
    await atomicWrite('/d/f', 'x', { backend: onMemory });
    await delay(20);
    await atomicWrite('/d/f', 'y', { backend: onMemory });
    assert.ok(
      closes(onMemory).every((c) => c.startsWith('async')),
      'not the OS: never synchronous',
    );
    assert.equal(fs.readFileSync(p, 'utf8'), 'three');
    assertBalanced(second);
  });

  test('temp flags: O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600; directory O_RDONLY|O_DIRECTORY', async () => {
    const p = file('flags.txt', 'old');
    const seen: [string, number, number | undefined][] = [];
    const spy = new Proxy(osb, {
      get(t, prop, recv): unknown {
        if (prop === 'open')
          return (pth: string, flags: number, m?: number) => {
            seen.push([pth, flags, m]);
            return t.open(pth, flags, m);
          };
        // The directory's open is synchronous once its file system is known to be local.
        if (prop === 'openSync')
          return (pth: string, flags: number, m?: number) => {
            seen.push([pth, flags, m]);
            return t.openSync(pth, flags, m);
          };
        return Reflect.get(t, prop, recv) as unknown;
      },
    });
    await atomicWrite(p, 'x', { backend: spy });
    const [tempOpen, dirOpen] = seen;
    assert.ok(tempOpen !== undefined && dirOpen !== undefined);
    assert.equal(tempOpen[1], O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC);
    assert.equal(tempOpen[2], 0o600);
    assert.equal(dirOpen[0], path.dirname(p));
    assert.equal(dirOpen[1] & ~O.CLOEXEC, O.RDONLY | O.DIRECTORY);
  });

  test("crash model: after 'full' a power loss keeps the new content; after 'file' or 'none' it may bring back the old", async () => {
    for (const durability of ['full', 'file', 'none'] as const) {
      const m = new MemoryBackend({ crashModel: true });
      m.mkdirSync('/d');
      const fd = m.openSync('/d/f', O.WRONLY | O.CREAT);
      m.writeSync(fd, Buffer.from('old'), 0, 3, null);
      m.fsyncSync(fd);
      m.closeSync(fd);
      const dfd = m.openSync('/d', O.RDONLY | O.DIRECTORY);
      m.fsyncSync(dfd);
      m.closeSync(dfd);
      const from = m.journalLength;
      await atomicWrite('/d/f', 'new', { durability, backend: m });
      const after = m.crash().tree();
      assert.equal(after['/d/f'], durability === 'full' ? 'new' : 'old', durability);
      // With a file fsync before the rename, whatever the moment of the crash the file is whole: the
      // old content or the new. Without one ('none'), a power loss may leave the renamed file empty.
      const contents = new Set(m.crashStates({ from }).map((state) => state.tree()['/d/f']));
      if (durability === 'none') assert.ok(contents.has(''), 'an empty file is possible without fsync');
      else assert.deepEqual([...contents].sort(), ['new', 'old'], durability);
    }
  });
});

// ================================================================ failures

interface FailCase {
  readonly name: string;
  readonly rules: FaultRule[];
  readonly code: string;
  /** The error comes after the rename: the new content is in place. */
  readonly afterRename?: boolean;
}

const TEMP = /fdkeeper-tmp$/;
const FAILURES: FailCase[] = [
  { name: 'lstat', rules: [{ syscall: 'lstat', code: 'EACCES' }], code: 'EACCES' },
  { name: 'open (temp)', rules: [{ syscall: 'open', path: TEMP, code: 'ENOSPC' }], code: 'ENOSPC' },
  { name: 'write', rules: [{ syscall: 'write', code: 'ENOSPC' }], code: 'ENOSPC' },
  {
    name: 'short write, then failure',
    rules: [
      { syscall: 'write', nth: 1, shortWrite: 'half' },
      { syscall: 'write', nth: 2, code: 'EDQUOT' },
    ],
    code: 'EDQUOT',
  },
  { name: 'zero-byte write', rules: [{ syscall: 'write', shortWrite: 0 }], code: 'EIO' },
  { name: 'fchmod', rules: [{ syscall: 'fchmod', code: 'EPERM' }], code: 'EPERM' },
  { name: 'fsync (temp)', rules: [{ syscall: 'fsync', path: TEMP, code: 'EIO', after: true }], code: 'EIO' },
  { name: 'close (temp)', rules: [{ syscall: 'close', path: TEMP, code: 'EIO', after: true }], code: 'EIO' },
  { name: 'rename', rules: [{ syscall: 'rename', code: 'EXDEV' }], code: 'EXDEV' },
  {
    name: 'open (dir)',
    rules: [{ syscall: 'open', path: (p) => !TEMP.test(p), code: 'EMFILE' }],
    code: 'EMFILE',
    afterRename: true,
  },
  {
    name: 'fsync (dir)',
    rules: [{ syscall: 'fsync', path: (p) => !TEMP.test(p), code: 'EIO', after: true }],
    code: 'EIO',
    afterRename: true,
  },
];

describe('every failure leaves the target byte-identical and no temp (before the rename)', () => {
  for (const backendName of ['os', 'memory'] as const) {
    for (const c of FAILURES) {
      for (const sync of [false, true]) {
        test(`${backendName}, ${sync ? 'sync' : 'async'}: ${c.name} fails`, async () => {
          const mem = new MemoryBackend();
          const inner: Backend = backendName === 'os' ? osb : mem;
          const old = Buffer.from('old content, byte for byte \u00e9');
          let p: string;
          if (backendName === 'os') p = file('target.bin', old);
          else {
            inner.mkdirSync('/d');
            p = '/d/target.bin';
            const fd = inner.openSync(p, O.WRONLY | O.CREAT);
            inner.writeSync(fd, old, 0, old.length, null);
            inner.closeSync(fd);
          }
          const f = new FaultyBackend(inner, c.rules);
          const data = Buffer.alloc(100_000, 'n');
          let caught: unknown;
          try {
            if (sync) atomicWriteSync(p, data, { backend: f });
            else await atomicWrite(p, data, { backend: f });
          } catch (e) {
            caught = e;
          }
          assert.ok(caught instanceof FsError, `an FsError, got ${String(caught)}`);
          assert.equal(caught.code, c.code);
          assert.equal(caught.path, p, 'the error names the target');
          const now =
            backendName === 'os'
              ? fs.readFileSync(p)
              : Buffer.from(mem.tree({ encoding: 'latin1' })[p] as string, 'latin1');
          if (c.afterRename === true) {
            assert.ok(now.equals(data), 'after the rename the new content is in place');
            assert.equal(caught.target, 'replaced', 'the error says the new content is in place');
          } else {
            assert.ok(now.equals(old), 'the target is byte-identical');
            assert.equal(caught.target, 'unchanged', 'the error says the target was not changed');
          }
          assertNoTemps(path.dirname(p), inner);
          assertBalanced(f);
          assert.equal(
            f.calls.filter((x) => x.syscall === 'unlink' && x.path === p).length,
            0,
            'the target is never unlinked',
          );
          if (c.afterRename === true)
            assert.equal(
              f.calls.filter((x) => x.syscall === 'unlink').length,
              0,
              'nothing is unlinked after the rename',
            );
        });
      }
    }
  }

  test('EIO from the file fsync is reported once, never retried', async () => {
    const p = file('eio.txt', 'old');
    for (const sync of [false, true]) {
      const f = new FaultyBackend(osb, [{ syscall: 'fsync', code: 'EIO', after: true }]);
      const e = sync
        ? throwsFs(() => {
            atomicWriteSync(p, 'new', { backend: f });
          }, 'EIO')
        : await rejectsFs(atomicWrite(p, 'new', { backend: f }), 'EIO');
      assert.equal(e.syscall, 'fsync');
      assert.equal(f.calls.filter((c) => c.syscall === 'fsync').length, 1, 'exactly one fsync');
      assert.equal(f.calls.filter((c) => c.syscall === 'rename').length, 0, 'no rename after a failed fsync');
      assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    }
    assertNoTemps(path.dirname(p));
  });

  test('a failing unlink during cleanup does not replace the original error', async () => {
    const p = file('t.txt', 'old');
    const f = new FaultyBackend(osb, [
      { syscall: 'rename', code: 'EACCES' },
      { syscall: 'unlink', code: 'EBUSY' },
    ]);
    const e = await rejectsFs(atomicWrite(p, 'new', { backend: f }), 'EACCES');
    assert.equal(e.syscall, 'rename');
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assertBalanced(f);
    for (const n of leftovers(path.dirname(p))) fs.rmSync(path.join(path.dirname(p), n)); // the unlink really failed
  });

  test('short writes are completed by the loop', async () => {
    const p = file('short.txt', 'old');
    const data = Buffer.from('0123456789'.repeat(1000));
    const f = new FaultyBackend(osb, [{ syscall: 'write', shortWrite: 7, times: 5 }]);
    await atomicWrite(p, data, { backend: f });
    assert.ok(fs.readFileSync(p).equals(data));
    assert.equal(f.calls.filter((c) => c.syscall === 'write').length, 6);
    const g = new FaultyBackend(osb, [{ syscall: 'write', shortWrite: 'half', times: 3 }]);
    atomicWriteSync(p, data, { backend: g });
    assert.ok(fs.readFileSync(p).equals(data));
  });

  test('a failure while writing a stream destroys the stream', async () => {
    const p = file('s.txt', 'old');
    let finalized = false;
    const source = (async function* () {
      try {
        for (let i = 0; ; i++) {
          await Promise.resolve();
          yield `chunk ${i}\n`;
        }
      } finally {
        finalized = true;
      }
    })();
    const f = new FaultyBackend(osb, [{ syscall: 'write', nth: 3, code: 'ENOSPC' }]);
    await rejectsFs(atomicWrite(p, source, { backend: f }), 'ENOSPC');
    await delay(5);
    assert.ok(finalized, 'the generator was closed');
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assertNoTemps(path.dirname(p));
    assertBalanced(f);
  });
});

// ================================================================ abort

describe('abort', () => {
  test('already aborted: ECANCELED before any syscall', async () => {
    const p = file('a.txt', 'old');
    const f = new FaultyBackend(osb);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const e = await rejectsFs(atomicWrite(p, 'new', { backend: f, signal: ac.signal }), 'ECANCELED');
    assert.equal(e.syscall, 'write');
    assert.equal(e.path, p);
    assert.equal((e.cause as Error).message, 'stop');
    assert.deepEqual(f.calls, []);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
  });

  test('aborted during a stream: stops consuming it at once, temp removed, target untouched', async () => {
    const p = file('a.txt', 'old');
    const ac = new AbortController();
    const source = (async function* () {
      yield 'first chunk';
      ac.abort('enough');
      await new Promise(() => undefined); // a stream that never sends its next chunk
    })();
    const f = new FaultyBackend(osb);
    const e = await rejectsFs(atomicWrite(p, source, { backend: f, signal: ac.signal }), 'ECANCELED');
    assert.equal(e.cause, 'enough');
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assertNoTemps(path.dirname(p));
    assertBalanced(f);
  });

  test('aborted during a Readable: the stream is destroyed', async () => {
    const p = file('a.txt', 'old');
    const ac = new AbortController();
    const r = new Readable({
      read() {
        /* pushes nothing after the first chunk */
      },
    });
    r.push('first');
    const w = atomicWrite(p, r, { signal: ac.signal });
    await delay(20);
    ac.abort();
    await rejectsFs(w, 'ECANCELED');
    await delay(5);
    assert.ok(r.destroyed);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assertNoTemps(path.dirname(p));
  });

  test('aborted between steps (during the fsync): ECANCELED, target untouched', async () => {
    const p = file('a.txt', 'old');
    const ac = new AbortController();
    const f = new FaultyBackend(osb);
    const spy = Object.create(f, {
      fsync: {
        value: (fd: number) => {
          ac.abort();
          return f.fsync(fd);
        },
      },
    }) as Backend;
    await rejectsFs(atomicWrite(p, 'new', { backend: spy, signal: ac.signal }), 'ECANCELED');
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assert.equal(f.calls.filter((c) => c.syscall === 'rename').length, 0);
    assertNoTemps(path.dirname(p));
    assertBalanced(f);
  });

  test('an abort during the rename is too late: the write completes', async () => {
    const p = file('a.txt', 'old');
    const ac = new AbortController();
    const f = new FaultyBackend(osb);
    const spy = Object.create(f, {
      rename: {
        value: (a: string, b: string) => {
          ac.abort();
          return f.rename(a, b);
        },
      },
    }) as Backend;
    await atomicWrite(p, 'new', { backend: spy, signal: ac.signal });
    assert.equal(fs.readFileSync(p, 'utf8'), 'new');
  });

  test('a failing stream aborts the write: ECANCELED with the stream error as cause', async () => {
    const p = file('a.txt', 'old');
    const boom = new Error('source broke');
    const source = (async function* () {
      yield* chunksOf('partial');
      throw boom;
    })();
    const e = await rejectsFs(atomicWrite(p, source), 'ECANCELED', 'source broke');
    assert.equal(e.cause, boom);
    const r = new Readable({
      read() {
        this.destroy(new Error('readable broke'));
      },
    });
    await rejectsFs(atomicWrite(p, r), 'ECANCELED', 'readable broke');
    const gen = (function* () {
      yield 'x';
      throw boom;
    })();
    throwsFs(() => {
      atomicWriteSync(p, gen);
    }, 'ECANCELED');
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assertNoTemps(path.dirname(p));
  });

  test('a waiting call aborted is dropped; the others still land', async () => {
    const p = file('a.txt', 'old');
    const ac = new AbortController();
    const first = atomicWrite(p, 'first');
    const second = rejectsFs(atomicWrite(p, 'second', { signal: ac.signal }), 'ECANCELED');
    const third = atomicWrite(p, 'third');
    ac.abort();
    await first;
    await second;
    await third;
    assert.equal(fs.readFileSync(p, 'utf8'), 'third');
  });

  test('the carrier of coalesced calls aborted: the calls it carried are written after all', async () => {
    const p = file('a.txt', 'old');
    const ac = new AbortController();
    const f = new FaultyBackend(osb);
    let tempSyncs = 0;
    const onFsync = (fd: number): Promise<void> => {
      if (isTempName(path.basename(f.pathOf(fd) ?? '')) && ++tempSyncs === 2) ac.abort(); // during the second write
      return f.fsync(fd);
    };
    const spy = Object.create(f, { fsync: { value: onFsync } }) as Backend;
    const first = atomicWrite(p, 'first', { backend: spy });
    const second = atomicWrite(p, 'second', { backend: spy });
    const third = atomicWrite(p, 'third', { backend: spy, signal: ac.signal }); // carries 'second'
    // Observed at once: 'third' may reject while 'first' still waits for its directory fsync.
    const thirdCanceled = rejectsFs(third, 'ECANCELED');
    await first;
    await thirdCanceled;
    await second;
    assert.equal(fs.readFileSync(p, 'utf8'), 'second');
    assertNoTemps(path.dirname(p));
  });
});

// ================================================================ in-process concurrency

describe('coalescing and EBUSY', () => {
  test('concurrent calls for one path: superseded ones never write, all resolve, the last wins', async () => {
    const p = file('c.txt', 'old');
    const f = new FaultyBackend(osb);
    const fds = openFdCount();
    const calls = Array.from({ length: 20 }, (_, i) => atomicWrite(p, `v${i}`, { backend: f }));
    await Promise.all(calls);
    assert.equal(fs.readFileSync(p, 'utf8'), 'v19');
    const renames = f.calls.filter((c) => c.syscall === 'rename').length;
    assert.ok(renames <= 2, `${renames} renames for 20 calls`);
    assertNoFdLeak(fds);
    assertNoTemps(path.dirname(p));
  });

  test('a coalesced write uses the strongest durability among its calls', async () => {
    const p = file('c.txt', 'old');
    const f = new FaultyBackend(osb);
    const a = atomicWrite(p, 'a', { backend: f, durability: 'none' });
    const b = atomicWrite(p, 'b', { backend: f, durability: 'full' });
    const c = atomicWrite(p, 'c', { backend: f, durability: 'none' });
    await Promise.all([a, b, c]);
    // 'a' alone (no fsync), then 'c' carrying 'b': file and directory fsynced.
    assert.deepEqual(
      sequence(f.calls, p).filter((s) => s.startsWith('fsync')),
      ['fsync:temp', 'fsync:dir'],
    );
  });

  test('a failed write rejects every call it carried, with its error', async () => {
    const p = file('c.txt', 'old');
    const f = new FaultyBackend(osb, [{ syscall: 'rename', nth: 2, code: 'EIO' }]);
    const results = await Promise.allSettled(['a', 'b', 'c'].map((s) => atomicWrite(p, s, { backend: f })));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected'],
    );
    assert.equal(fs.readFileSync(p, 'utf8'), 'a');
    const r1 = results[1] as PromiseRejectedResult;
    assert.equal(r1.reason, (results[2] as PromiseRejectedResult).reason, 'the same error');
    assertNoTemps(path.dirname(p));
  });

  test('streams are not coalesced: every stream call writes, in order', async () => {
    const p = file('c.txt', 'old');
    const f = new FaultyBackend(osb);
    const gen = (s: string): AsyncGenerator<string> => chunksOf(s);
    await Promise.all([
      atomicWrite(p, gen('s1'), { backend: f }),
      atomicWrite(p, gen('s2'), { backend: f }),
      atomicWrite(p, 'm3', { backend: f }),
      atomicWrite(p, gen('s4'), { backend: f }),
    ]);
    assert.equal(fs.readFileSync(p, 'utf8'), 's4');
    assert.equal(f.calls.filter((c) => c.syscall === 'rename').length, 4);
  });

  test('atomicWriteSync while promise-form writes to the path are in flight: EBUSY', async () => {
    const p = file('c.txt', 'old');
    const w = atomicWrite(p, 'async');
    const e = throwsFs(() => {
      atomicWriteSync(p, 'sync');
    }, 'EBUSY');
    assert.equal(e.path, p);
    atomicWriteSync(path.join(path.dirname(p), 'other.txt'), 'other path is fine');
    await w;
    atomicWriteSync(p, 'right after the promise resolved');
    const m = new MemoryBackend();
    m.mkdirSync('/d');
    for (let i = 0; i < 3; i++) {
      await atomicWrite('/d/x', 'async', { backend: m });
      atomicWriteSync('/d/x', 'sync', { backend: m }); // the settled write no longer counts
    }
    atomicWriteSync(p, 'sync');
    assert.equal(fs.readFileSync(p, 'utf8'), 'sync');
  });

  test('distinct files in one directory share directory fsyncs', async () => {
    const d = freshDir();
    const f = new FaultyBackend(osb);
    const fds = openFdCount();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => atomicWrite(path.join(d, `f${i}`), `content ${i}`, { backend: f })),
    );
    const dirSyncs = f.calls.filter((c) => c.syscall === 'fsync' && c.path === d).length;
    assert.ok(dirSyncs < 40 && dirSyncs >= 1, `${dirSyncs} directory fsyncs for 40 files`);
    for (let i = 0; i < 40; i++) assert.equal(fs.readFileSync(path.join(d, `f${i}`), 'utf8'), `content ${i}`);
    assertNoFdLeak(fds);
  });
});

// ================================================================ PendingFile

describe('PendingFile', () => {
  test('write, writeSync, commit: the target changes only on commit; the mode is applied', async () => {
    const p = file('p.txt', 'old');
    fs.chmodSync(p, 0o640);
    const pf = await atomicCreate(p);
    assert.equal(pf.state, 'open');
    assert.equal(pf.path, p);
    assert.equal(path.dirname(pf.tempPath), path.dirname(p));
    assert.ok(isTempName(path.basename(pf.tempPath)));
    await pf.write('one ');
    pf.writeSync(Buffer.from('two '));
    await pf.write('three');
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    const c1 = pf.commit();
    const c2 = pf.commit();
    assert.equal(c1, c2, 'a commit in progress is the same promise');
    await c1;
    assert.equal(pf.state, 'committed');
    assert.equal(fs.readFileSync(p, 'utf8'), 'one two three');
    assert.equal(mode(p), 0o640);
    await pf.commit(); // idempotent
    pf.commitSync();
    await pf.abort(); // nothing after a commit
    pf.abortSync();
    assert.equal(fs.readFileSync(p, 'utf8'), 'one two three');
    await rejectsFs(pf.write('more'), 'EBADF', 'already committed');
    throwsFs(() => {
      pf.writeSync('more');
    }, 'EBADF');
    assertNoTemps(path.dirname(p));
  });

  test('abort: temp removed, target untouched, idempotent; commit afterwards is EBADF', async () => {
    const p = file('p.txt', 'old');
    const pf = await atomicCreate(p);
    await pf.write('never');
    const a1 = pf.abort();
    const a2 = pf.abort();
    await Promise.all([a1, a2]);
    assert.equal(pf.state, 'aborted');
    assert.equal(fs.existsSync(pf.tempPath), false);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    await rejectsFs(pf.commit(), 'EBADF', 'already aborted');
    throwsFs(
      () => {
        pf.commitSync();
      },
      'EBADF',
      'already aborted',
    );
    await rejectsFs(pf.write('x'), 'EBADF');
    await pf.abort();
    pf.abortSync();
  });

  test('await using / using abort unless committed', async () => {
    const p = file('p.txt', 'old');
    let temp = '';
    {
      await using pf = await atomicCreate(p);
      temp = pf.tempPath;
      await pf.write('dropped');
    }
    assert.equal(fs.existsSync(temp), false);
    {
      using pf = atomicCreateSync(p);
      temp = pf.tempPath;
      pf.writeSync('dropped too');
    }
    assert.equal(fs.existsSync(temp), false);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    {
      await using pf = await atomicCreate(p);
      await pf.write('kept');
      await pf.commit();
    }
    assert.equal(fs.readFileSync(p, 'utf8'), 'kept');
    {
      using pf = atomicCreateSync(p, { durability: 'file' });
      pf.writeSync('kept sync');
      pf.commitSync();
    }
    assert.equal(fs.readFileSync(p, 'utf8'), 'kept sync');
    assertNoTemps(path.dirname(p));
  });

  test('stream(): a Writable into the temp file; ending it does not commit', async () => {
    const p = file('p.txt', 'old');
    const pf = await atomicCreate(p);
    const w = pf.stream();
    assert.ok(w instanceof Writable);
    await pipeline(Readable.from(['a', 'b', 'c']), w);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old', 'finished stream, no commit yet');
    await pf.commit();
    assert.equal(fs.readFileSync(p, 'utf8'), 'abc');
    const pf2 = await atomicCreate(p);
    await pf2.abort();
    await assert.rejects(
      pipeline(Readable.from(['x']), pf2.stream()),
      (e: unknown) => e instanceof FsError && e.code === 'EBADF',
    );
  });

  test('a failed commit aborts the file (temp removed) and rethrows; a failed write too', async () => {
    const p = file('p.txt', 'old');
    const f = new FaultyBackend(osb, [{ syscall: 'rename', code: 'EACCES' }]);
    const pf = await atomicCreate(p, { backend: f });
    await pf.write('new');
    const first = await rejectsFs(pf.commit(), 'EACCES');
    assert.equal(pf.state, 'aborted');
    assert.equal(fs.existsSync(pf.tempPath), false);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    await assert.rejects(pf.commit(), (e) => e === first, 'commit again: the same outcome');
    assertBalanced(f);

    const g = new FaultyBackend(osb, [{ syscall: 'write', code: 'ENOSPC' }]);
    const pf2 = await atomicCreate(p, { backend: g });
    await rejectsFs(pf2.write('x'), 'ENOSPC');
    assert.equal(pf2.state, 'aborted');
    await rejectsFs(pf2.commit(), 'EBADF', 'failed');
    assert.equal(fs.existsSync(pf2.tempPath), false);
    assertBalanced(g);

    const h = new FaultyBackend(osb, [{ syscall: 'fsync', code: 'EIO', after: true }]);
    const pf3 = atomicCreateSync(p, { backend: h });
    pf3.writeSync('x');
    throwsFs(() => {
      pf3.commitSync();
    }, 'EIO');
    assert.equal(pf3.state, 'aborted');
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assertBalanced(h);
  });

  test('a directory fsync failure after the rename: committed, error reported', async () => {
    const p = file('p.txt', 'old');
    const f = new FaultyBackend(osb, [{ syscall: 'fsync', path: path.dirname(p), code: 'EIO', after: true }]);
    const pf = await atomicCreate(p, { backend: f });
    await pf.write('new');
    const e = await rejectsFs(pf.commit(), 'EIO', 'in place');
    assert.equal(e.path, p);
    assert.equal(e.target, 'replaced');
    assert.equal(pf.state, 'committed');
    assert.equal(fs.readFileSync(p, 'utf8'), 'new');
    await pf.abort();
    assert.equal(fs.readFileSync(p, 'utf8'), 'new');
    assertBalanced(f);
  });

  test('calls are ordered; a sync call during promise-form calls is EBUSY; abortSync defers its cleanup', async () => {
    const p = file('p.txt', 'old');
    const pf = await atomicCreate(p);
    const writes = [pf.write('1'), pf.write('2'), pf.write('3')];
    throwsFs(() => {
      pf.writeSync('x');
    }, 'EBUSY');
    throwsFs(() => {
      pf.commitSync();
    }, 'EBUSY');
    await Promise.all(writes);
    const w = rejectsFs(pf.write('4'), 'EBADF', 'already aborted'); // queued behind nothing, but not started
    pf.abortSync();
    assert.equal(pf.state, 'aborted');
    await w;
    await pf.abort();
    assert.equal(fs.existsSync(pf.tempPath), false);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
  });

  test('its signal aborts it', async () => {
    const p = file('p.txt', 'old');
    const ac = new AbortController();
    const pf = await atomicCreate(p, { signal: ac.signal });
    await pf.write('x');
    ac.abort('stop');
    await pf.abort();
    assert.equal(pf.state, 'aborted');
    assert.equal(fs.existsSync(pf.tempPath), false);
    const e = await rejectsFs(pf.commit(), 'ECANCELED');
    assert.equal(e.cause, 'stop');
    await rejectsFs(atomicCreate(p, { signal: ac.signal }), 'ECANCELED');
    assertNoTemps(path.dirname(p));
  });

  test('the constructor is not public', () => {
    assert.throws(() => new PendingFile('/a', '/b'), TypeError);
  });

  test('on the memory backend', async () => {
    const m = new MemoryBackend();
    m.mkdirSync('/d');
    const pf = await atomicCreate('/d/x', { backend: m, mode: 0o600 });
    await pf.write('mem');
    assert.deepEqual(
      Object.keys(m.tree())
        .filter((k) => k.startsWith('/d/'))
        .map((k) => isTempName(path.basename(k))),
      [true],
    );
    await pf.commit();
    assert.deepEqual(m.tree(), { '/d': { kind: 'dir' }, '/d/x': 'mem' });
    assert.equal(m.statSync('/d/x').mode & 0o777, 0o600);
  });
});

// ================================================================ createExclusive

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(r.stdout.toString());
  assert.ok(pid > 0);
  return pid;
}

describe('createExclusive', () => {
  test('one of N concurrent callers creates; the others learn it is in progress or exists', async () => {
    const p = file('x.txt');
    let produced = 0;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        createExclusive(p, async (f) => {
          produced++;
          await f.write(`by ${i}`);
          await delay(30);
        }),
      ),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(produced, 1);
    const reasons = new Set(results.map((r) => (r.created ? 'created' : r.reason)));
    reasons.delete('created');
    for (const r of reasons) assert.ok(['in-progress', 'exists'].includes(r), r);
    assert.match(fs.readFileSync(p, 'utf8'), /^by \d$/);
    assertNoTemps(path.dirname(p));
  });

  test("wait: the others return 'exists' once the producer has finished", async () => {
    const p = file('x.txt');
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        createExclusive(
          p,
          async (f) => {
            await f.write(`by ${i}`);
            await delay(60);
          },
          { wait: { pollMs: 5 } },
        ),
      ),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.deepEqual(results.map((r) => (r.created ? 'created' : r.reason)).sort(), [
      'created',
      'exists',
      'exists',
      'exists',
      'exists',
    ]);
  });

  test("an existing target: 'exists' at once, untouched (a dangling symlink counts)", async () => {
    const p = file('x.txt', 'there');
    const f = new FaultyBackend(osb);
    assert.deepEqual(await createExclusive(p, 'new', { backend: f }), { created: false, path: p, reason: 'exists' });
    assert.equal(fs.readFileSync(p, 'utf8'), 'there');
    assert.ok(
      f.calls.every((c) => c.syscall === 'lstat'),
      'only looked (the directory walk, then the name)',
    );
    assert.equal(f.calls.at(-1)?.path, p);
    const l = path.join(path.dirname(p), 'dangling');
    fs.symlinkSync('nowhere', l);
    assert.equal((await createExclusive(l, 'x')).created, false);
  });

  test('data content; the file is complete before it appears (a temp linked into place), then claim and temp go', async () => {
    const p = file('x.txt');
    const f = new FaultyBackend(osb);
    const r = await createExclusive(p, ['com', 'plete'], { backend: f, mode: 0o640 });
    assert.deepEqual(r, { created: true, path: p });
    assert.equal(fs.readFileSync(p, 'utf8'), 'complete');
    assert.equal(mode(p), 0o640);
    const seq = sequence(f.calls, p);
    assert.ok(seq.includes('link:temp'), 'published with link(2), which never replaces');
    assert.equal(f.calls.filter((c) => c.syscall === 'rename').length, 0);
    const linkAt = seq.lastIndexOf('link:temp');
    assert.ok(seq.slice(0, linkAt).includes('fsync:temp'), 'fsynced before the link');
    assert.ok(seq.slice(linkAt).includes('fsync:dir'), 'directory fsynced after it');
    assertNoTemps(path.dirname(p));
    assertBalanced(f);
  });

  test('a stale claim (its process is dead) is taken over', async () => {
    const p = file('x.txt');
    const claim = claimNameFor(p);
    fs.writeFileSync(claim, `${deadPid()}\n${os.hostname()}\n`);
    assert.deepEqual(await createExclusive(p, 'mine'), { created: true, path: p });
    assert.equal(fs.readFileSync(p, 'utf8'), 'mine');
    assert.equal(fs.existsSync(claim), false);
  });

  test("a torn claim (not exactly PID\\nHOST\\n: one parser, the CLI's strict rule) is stale and taken over; a whole one is honoured", async () => {
    for (const torn of [
      `${process.ppid}\n`,
      `${process.ppid}\n${os.hostname().slice(0, 1)}`,
      `${process.ppid}\n${os.hostname()}\nmore\n`,
    ]) {
      const p = file('torn.txt');
      fs.rmSync(p, { force: true });
      fs.writeFileSync(claimNameFor(p), torn);
      assert.deepEqual(await createExclusive(p, 'mine'), { created: true, path: p }, JSON.stringify(torn));
      assert.equal(fs.existsSync(claimNameFor(p)), false);
    }
    // Control: the same pid (alive) in a whole claim is a live producer.
    const q = file('whole.txt');
    fs.rmSync(q, { force: true });
    fs.writeFileSync(claimNameFor(q), `${process.ppid}\n${os.hostname()}\n`);
    assert.deepEqual(await createExclusive(q, 'mine'), { created: false, path: q, reason: 'in-progress' });
    fs.rmSync(claimNameFor(q));
  });

  test("a claim with this process's pid that this process does not hold (pid reuse) is stale", async () => {
    const p = file('x.txt');
    fs.writeFileSync(claimNameFor(p), `${process.pid}\n${os.hostname()}\n`);
    assert.deepEqual(await createExclusive(p, 'mine'), { created: true, path: p });
    const q = path.join(path.dirname(p), 'ghost');
    const ghost = path.join(path.dirname(p), `.ghost.${process.pid.toString(36)}-0123456789ab.fdkeeper-tmp`);
    fs.writeFileSync(ghost, 'left by an earlier process with our pid');
    const pf = await atomicCreate(q); // a temp file this process really is writing
    assert.deepEqual(await cleanupTemps(path.dirname(p)), [path.basename(ghost)]);
    assert.ok(fs.existsSync(pf.tempPath));
    await pf.abort();
  });

  test("a live claim: 'in-progress'; with wait it times out (ETIMEDOUT), or ends when the claim goes", async () => {
    const p = file('x.txt');
    const claim = claimNameFor(p);
    fs.writeFileSync(claim, `${process.ppid}\n${os.hostname()}\n`);
    assert.deepEqual(await createExclusive(p, 'x'), { created: false, path: p, reason: 'in-progress' });
    await rejectsFs(createExclusive(p, 'x', { wait: { timeoutMs: 60, pollMs: 10 } }), 'ETIMEDOUT');
    // A claim from another host cannot be judged: in progress too.
    fs.writeFileSync(claim, `${deadPid()}\nsome-other-host\n`);
    assert.deepEqual(await createExclusive(p, 'x'), { created: false, path: p, reason: 'in-progress' });
    // The holder gives up (its claim disappears): the waiter produces the file.
    const waiting = createExclusive(p, 'waited', { wait: { timeoutMs: 5000, pollMs: 10 } });
    await delay(40);
    fs.rmSync(claim);
    assert.deepEqual(await waiting, { created: true, path: p });
    assert.equal(fs.readFileSync(p, 'utf8'), 'waited');
    const ac = new AbortController();
    fs.writeFileSync(claim, `${process.ppid}\n${os.hostname()}\n`);
    const q = path.join(path.dirname(p), 'q.txt');
    fs.writeFileSync(claimNameFor(q), `${process.ppid}\n${os.hostname()}\n`);
    const w = createExclusive(q, 'x', { wait: true, signal: ac.signal });
    await delay(20);
    ac.abort();
    await rejectsFs(w, 'ECANCELED');
  });

  test('a failing producer: error rethrown, nothing created, claim and temp removed', async () => {
    const p = file('x.txt');
    await assert.rejects(
      createExclusive(p, async (f) => {
        await f.write('half');
        throw new Error('producer failed');
      }),
      /producer failed/,
    );
    assert.equal(fs.existsSync(p), false);
    assertNoTemps(path.dirname(p));
    await rejectsFs(
      createExclusive(p, (f) => f.abort()),
      'ECANCELED',
      'aborted',
    );
    assert.equal(fs.existsSync(p), false);
    assertNoTemps(path.dirname(p));
    // And the next one can create it.
    assert.equal((await createExclusive(p, 'second try')).created, true);
  });

  test("someone bypassing the claim creates the target first: 'exists', theirs kept", async () => {
    const p = file('x.txt');
    const r = await createExclusive(p, async (f) => {
      await f.write('mine');
      fs.writeFileSync(p, 'theirs');
    });
    assert.deepEqual(r, { created: false, path: p, reason: 'exists' });
    assert.equal(fs.readFileSync(p, 'utf8'), 'theirs');
    assertNoTemps(path.dirname(p));
  });

  test('the producer may commit itself; mkdir creates parents; on the memory backend', async () => {
    const m = new MemoryBackend();
    const r = await createExclusive(
      '/a/b/x',
      async (f) => {
        f.writeSync('memory');
        await f.commit();
      },
      { backend: m, mkdir: true },
    );
    assert.equal(r.created, true);
    assert.deepEqual(m.tree(), { '/a': { kind: 'dir' }, '/a/b': { kind: 'dir' }, '/a/b/x': 'memory' });
    assert.equal((await createExclusive('/a/b/x', 'again', { backend: m })).created, false);
  });
});

// ================================================================ cleanupTemps

describe('cleanupTemps', () => {
  /** A temp file name as a process with `pid` would have made it. */
  function tempOf(dir: string, base: string, pid: number): string {
    return path.join(dir, `.${base}.${pid.toString(36)}-0123456789ab.fdkeeper-tmp`);
  }
  const HOUR = 3600 * 1000;
  function age(p: string, ms: number): void {
    const t = (Date.now() - ms) / 1000;
    fs.utimesSync(p, t, t);
  }

  test("removes dead writers' and old temps and stale claims; keeps live ones and this process's in-flight ones", async () => {
    const d = freshDir();
    const dead = deadPid();
    const live = process.ppid;
    const deadTemp = tempOf(d, 'a', dead);
    const liveFresh = tempOf(d, 'b', live);
    const liveOld = tempOf(d, 'c', live);
    const staleClaim = path.join(d, '.e.fdkeeper-claim');
    const liveClaim = path.join(d, '.f.fdkeeper-claim');
    const otherHostClaim = path.join(d, '.g.fdkeeper-claim');
    for (const t of [deadTemp, liveFresh, liveOld]) fs.writeFileSync(t, 'partial');
    fs.writeFileSync(staleClaim, `${dead}\n${os.hostname()}\n`);
    fs.writeFileSync(liveClaim, `${live}\n${os.hostname()}\n`);
    fs.writeFileSync(otherHostClaim, `${dead}\nelsewhere\n`);
    fs.writeFileSync(path.join(d, 'regular.txt'), 'keep');
    fs.writeFileSync(path.join(d, '.hidden'), 'keep');
    age(liveOld, 2 * HOUR);
    // This process's own in-flight temp file, even when old:
    const pf = await atomicCreate(path.join(d, 'inflight.txt'));
    age(pf.tempPath, 5 * HOUR);

    const wouldGo = await cleanupTemps(d, { dryRun: true });
    const expected = [path.basename(deadTemp), path.basename(liveOld), path.basename(staleClaim)].sort();
    assert.deepEqual(wouldGo, expected);
    assert.equal(fs.readdirSync(d).length, 9, 'dry run removes nothing');

    const removed = await cleanupTemps(d);
    assert.deepEqual(removed, expected);
    assert.deepEqual(
      fs.readdirSync(d).sort(),
      [
        path.basename(pf.tempPath),
        path.basename(liveFresh),
        path.basename(liveClaim),
        path.basename(otherHostClaim),
        '.hidden',
        'regular.txt',
      ].sort(),
    );
    await pf.commit();

    // By age only: the other host's claim and the live writer's temp once old enough.
    age(otherHostClaim, 2 * HOUR);
    assert.deepEqual(await cleanupTemps(d, { olderThanMs: HOUR }), [path.basename(otherHostClaim)]);
    assert.deepEqual(
      await cleanupTemps(d, { olderThanMs: 0 }),
      [path.basename(liveClaim), path.basename(liveFresh)].sort(),
    );
  });

  test("a relative directory: this process's in-flight temp files are still recognised", async () => {
    const d = freshDir();
    const pf = await atomicCreate(path.join(d, 'x'));
    age(pf.tempPath, 5 * HOUR);
    assert.deepEqual(await cleanupTemps(path.relative(process.cwd(), d), { olderThanMs: 0 }), []);
    await pf.abort();
  });

  test('checkPids: false goes by age alone', async () => {
    const d = freshDir();
    const t = tempOf(d, 'a', deadPid());
    fs.writeFileSync(t, 'x');
    assert.deepEqual(await cleanupTemps(d, { checkPids: false }), []);
    age(t, 2 * HOUR);
    assert.deepEqual(await cleanupTemps(d, { checkPids: false }), [path.basename(t)]);
  });

  test('a missing directory is ENOENT; on the memory backend', async () => {
    await rejectsFs(cleanupTemps(path.join(freshDir(), 'no-such-dir')), 'ENOENT');
    const m = new MemoryBackend();
    m.mkdirSync('/d');
    const name = `.x.${deadPid().toString(36)}-abcdefabcdef.fdkeeper-tmp`;
    m.closeSync(m.openSync(`/d/${name}`, O.WRONLY | O.CREAT));
    m.closeSync(m.openSync('/d/x', O.WRONLY | O.CREAT));
    assert.deepEqual(await cleanupTemps('/d', { backend: m }), [name]);
    assert.deepEqual(m.readdirSync('/d'), ['x']);
  });
});
