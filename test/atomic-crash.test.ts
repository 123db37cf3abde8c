/**
 * Atomic writes under the crash model (docs/crash-model.md): every state a power loss could leave while
 * an atomic operation runs, and after it reported success, explored with `exploreCrashes`.
 *
 * The invariants: while the operation runs, the target holds the complete old or the complete new
 * content (never empty, torn or missing); once it resolved with durability 'full', only the new
 * content. The same explorer flags the classic broken writers (in-place rewrite, rename without fsync,
 * rename without the directory fsync), so the invariants can fail.
 *
 * The state counts asserted per case are a fingerprint of the syscall sequence: when the protocol
 * changes (one more write, a chown, another fsync), they change; re-check the invariants and update them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { O } from '../src/backend/flags.js';
import type { Backend } from '../src/backend/backend.js';
import { atomicWrite, atomicWriteSync } from '../src/atomic/atomic-write.js';
import { atomicCreate } from '../src/atomic/pending-file.js';
import { createExclusive } from '../src/atomic/create-exclusive.js';
import { cleanupTemps } from '../src/atomic/cleanup-temps.js';
import {
  CrashExplorationError,
  describeCrashState,
  exploreCrashes,
  type CrashExploration,
  type CrashMoment,
} from '../src/testing.js';

// ------------------------------------------------------------------ fixtures

const SECTOR = 512;
const OLD = 'o'.repeat(1000);
/** 1800 bytes: three distinguishable 600-byte chunks over four sectors, so tearing shows. */
const NEW = 'A'.repeat(600) + 'B'.repeat(600) + 'C'.repeat(600);
const CHUNKS = [NEW.slice(0, 600), NEW.slice(600, 1200), NEW.slice(1200)];
const MODE = 0o640;
const DIR = '/d';
const TARGET = '/d/f';

/** The temp names the spec prescribes: `.${base}.${pid36}-${12 hex}.fdkeeper-tmp`. */
const TEMP_NAME = /^\.(.+)\.([0-9a-z]+)-([0-9a-f]{12})\.fdkeeper-tmp$/;
const CLAIM_NAME = /^\.(.+)\.fdkeeper-claim$/;

function writeFile(b: MemoryBackend, path: string, content: string, mode = MODE): void {
  const fd = b.openSync(path, O.WRONLY | O.CREAT | O.EXCL, mode);
  const buf = Buffer.from(content);
  assert.equal(b.writeSync(fd, buf, 0, buf.length, null), buf.length);
  b.closeSync(fd);
}

/** `/d/f` holding OLD with mode 0o640 (made durable by the explorer). */
function setupOld(b: MemoryBackend): void {
  b.mkdirSync(DIR);
  writeFile(b, TARGET, OLD);
}

/** An owner other than the backend's user (root), so that keeping it shows. */
const OWNER = { uid: 1000, gid: 100 };
/** atomicWrite keeps the owner only when the process runs as root (others cannot chown). */
const KEEPS_OWNER = process.getuid?.() === 0;

/** setupOld, with the file owned by OWNER. */
function setupOwned(b: MemoryBackend): void {
  setupOld(b);
  const fd = b.openSync(TARGET, O.RDONLY);
  b.fchownSync(fd, OWNER.uid, OWNER.gid);
  b.closeSync(fd);
}

/** What `path` holds, in words: absent, old, new, empty, new[:n] (torn), old[:n], other(n), or its kind. */
function label(state: MemoryBackend, path: string, neu = NEW, old = OLD): string {
  const c = state.tree()[path];
  if (c === undefined) return 'absent';
  if (typeof c !== 'string') return c.kind;
  if (c === old) return 'old';
  if (c === neu) return 'new';
  if (c === '') return 'empty';
  if (neu.startsWith(c)) return `new[:${c.length}]`;
  if (old.startsWith(c)) return `old[:${c.length}]`;
  return `other(${c.length})`;
}

/** Permission bits of `path` in `state`. */
function modeOf(state: MemoryBackend, path: string): number {
  return state.statSync(path).mode & 0o7777;
}

/** The names in `dir` other than `keep` must be temp files (or claims): leftovers a crash may leave, nothing else. */
function assertOnlyLeftovers(state: MemoryBackend, dir: string, keep: readonly string[]): void {
  let names: string[];
  try {
    names = state.readdirSync(dir);
  } catch {
    return; // the directory itself was not durable: nothing in it either
  }
  for (const name of names) {
    if (keep.includes(name)) continue;
    assert.ok(
      TEMP_NAME.test(name) || CLAIM_NAME.test(name),
      `unexpected entry ${dir}/${name} (not a temp or claim name)`,
    );
  }
}

/**
 * The invariant of a replace with durability 'full': during, the target is the complete old or new
 * content, with its mode and owner; after, only the new one.
 */
function replaced(owner?: { uid: number; gid: number }, path = TARGET, neu = NEW, old = OLD) {
  return (state: MemoryBackend, when: CrashMoment): void => {
    const l = label(state, path, neu, old);
    if (when === 'during') assert.ok(l === 'old' || l === 'new', `during the write, a crash can leave ${path} ${l}`);
    else assert.equal(l, 'new', `after the write resolved, a crash can leave ${path} ${l}`);
    assert.equal(modeOf(state, path), MODE, `${path} mode`);
    if (owner !== undefined) {
      const st = state.statSync(path);
      assert.deepEqual({ uid: st.uid, gid: st.gid }, owner, `${path} owner`);
    }
    assertOnlyLeftovers(state, DIR, ['f', 'link']);
  };
}

/** The labels of `path` over the states of a moment, sorted: what the model allows. */
async function labelsOf(
  run: (b: MemoryBackend) => void | Promise<void>,
): Promise<{ during: string[]; after: string[]; x: CrashExploration }> {
  const during = new Set<string>();
  const after = new Set<string>();
  const x = await exploreCrashes({
    setup: setupOld,
    run,
    check: (s, when) => void (when === 'during' ? during : after).add(label(s, TARGET)),
  });
  return { during: [...during].sort(), after: [...after].sort(), x };
}

/** fsync(2) of a directory. */
function fsyncDir(b: MemoryBackend, path: string): void {
  const dfd = b.openSync(path, O.RDONLY | O.DIRECTORY);
  b.fsyncSync(dfd);
  b.closeSync(dfd);
}

/** Writes `chunks` through `fd`, one write(2) each. */
function writeChunks(b: MemoryBackend, fd: number, chunks: readonly string[]): void {
  for (const c of chunks) {
    const buf = Buffer.from(c);
    assert.equal(b.writeSync(fd, buf, 0, buf.length, null), buf.length);
  }
}

// ------------------------------------------------------------------ the broken writers the explorer must flag

/** Rewrites in place: open O_TRUNC, write, close. No fsync. */
function naiveWriter(b: MemoryBackend, path: string, chunks: readonly string[]): void {
  const fd = b.openSync(path, O.WRONLY | O.CREAT | O.TRUNC, MODE);
  writeChunks(b, fd, chunks);
  b.closeSync(fd);
}

/** Temp file + rename, no fsync at all. */
function renameWithoutFsync(b: MemoryBackend, path: string, chunks: readonly string[]): void {
  const tmp = `${path}.tmp`;
  const fd = b.openSync(tmp, O.WRONLY | O.CREAT | O.EXCL, MODE);
  writeChunks(b, fd, chunks);
  b.closeSync(fd);
  b.renameSync(tmp, path);
}

/** Temp file + fsync + rename, without the directory fsync. */
function renameWithoutDirFsync(b: MemoryBackend, path: string, chunks: readonly string[]): void {
  const tmp = `${path}.tmp`;
  const fd = b.openSync(tmp, O.WRONLY | O.CREAT | O.EXCL, MODE);
  writeChunks(b, fd, chunks);
  b.fsyncSync(fd);
  b.closeSync(fd);
  b.renameSync(tmp, path);
}

/** The correct protocol, by hand: temp + fsync + rename + directory fsync. */
function correctWriter(b: MemoryBackend, path: string, chunks: readonly string[]): void {
  renameWithoutDirFsync(b, path, chunks);
  fsyncDir(b, path.slice(0, path.lastIndexOf('/')) || '/');
}

/** The checker the broken writers run against: the 'full' invariant, without the temp-name rule (they use `.tmp`). */
function oldThenNew(state: MemoryBackend, when: CrashMoment): void {
  const l = label(state, TARGET);
  if (when === 'during') assert.ok(l === 'old' || l === 'new', `during: ${TARGET} is ${l}`);
  else assert.equal(l, 'new', `after: ${TARGET} is ${l}`);
}

async function flagged(
  writer: (b: MemoryBackend, path: string, chunks: readonly string[]) => void,
): Promise<CrashExploration> {
  return exploreCrashes({
    setup: setupOld,
    run: (b) => {
      writer(b, TARGET, CHUNKS);
    },
    check: oldThenNew,
    throwOnFailure: false,
  });
}

/** What three chunk writes can leave torn: each chunk's end, and every sector boundary (512, 1024, 1536). */
const TORN_CHUNKED = ['new[:1024]', 'new[:1200]', 'new[:1536]', 'new[:512]', 'new[:600]'];

const failureLabels = (x: CrashExploration, when: CrashMoment): string[] =>
  [...new Set(x.failures.filter((f) => f.when === when).map((f) => label(f.state, TARGET)))].sort();

test('explorer: the correct protocol by hand passes; the counts are what the model gives', async () => {
  const x = await exploreCrashes({
    setup: setupOld,
    run: (b) => {
      correctWriter(b, TARGET, CHUNKS);
    },
    check: oldThenNew,
  });
  assert.deepEqual(x.failures, []);
  assert.equal(x.states, x.during + x.after);
  // f=old and no temp, or a temp holding a prefix of its three writes: empty, torn at 512, 600, 1024,
  // 1200, 1536, complete (7); f=new. After the directory fsync returned: f=new only.
  assert.deepEqual({ during: x.during, after: x.after }, { during: 9, after: 1 });
});

test('explorer FLAGS a naive in-place writer (O_TRUNC + write, no fsync): empty and torn files, during and after', async () => {
  const x = await flagged(naiveWriter);
  assert.ok(x.failures.length > 0);
  assert.deepEqual(failureLabels(x, 'during'), ['empty', ...TORN_CHUNKED]);
  assert.deepEqual(failureLabels(x, 'after'), ['empty', ...TORN_CHUNKED, 'old']);
  // And the error it throws by default lists the states readably.
  await assert.rejects(
    exploreCrashes({
      setup: setupOld,
      run: (b) => {
        naiveWriter(b, TARGET, CHUNKS);
      },
      check: oldThenNew,
    }),
    (e: unknown) => {
      assert.ok(e instanceof CrashExplorationError);
      assert.match(
        e.message,
        /^exploreCrashes: \d+ crash states failed the check \(\d+ of \d+ during the operation, \d+ of \d+ after it reported success; journal \d+–\d+\)/,
      );
      assert.match(e.message, /during: \/d\/f is empty\n {6}\/d → dir\n {6}\/d\/f → \(empty\)/);
      assert.match(e.message, /\/d\/f → "A" × 512/);
      assert.match(e.message, /… and \d+ more$/);
      assert.equal(e.exploration.failures.length, x.failures.length);
      return true;
    },
  );
});

test('explorer FLAGS temp + rename without fsync: the rename can survive without the data', async () => {
  const x = await flagged(renameWithoutFsync);
  assert.deepEqual(failureLabels(x, 'during'), ['empty', ...TORN_CHUNKED]);
  assert.deepEqual(failureLabels(x, 'after'), ['empty', ...TORN_CHUNKED, 'old']);
});

test('explorer FLAGS temp + fsync + rename without the directory fsync: never torn, but after it returned the old content can come back', async () => {
  const x = await flagged(renameWithoutDirFsync);
  assert.deepEqual(failureLabels(x, 'during'), [], 'atomic against crashes during the write');
  assert.deepEqual(failureLabels(x, 'after'), ['old'], 'but not durable when it returns');
  assert.ok(x.failures.every((f) => f.when === 'after'));
});

test('explorer: errors of setup and run propagate; a check may be async; describeCrashState', async () => {
  await assert.rejects(
    exploreCrashes({ run: () => Promise.reject(new Error('boom')), check: () => undefined }),
    /boom/,
  );
  await assert.rejects(
    exploreCrashes({
      setup: () => {
        throw new Error('setup failed');
      },
      run: () => undefined,
      check: () => undefined,
    }),
    /setup failed/,
  );
  let calls = 0;
  const x = await exploreCrashes({
    setup: setupOld,
    run: (b) => {
      correctWriter(b, TARGET, CHUNKS);
    },
    check: async () => {
      await Promise.resolve();
      calls++;
    },
  });
  assert.equal(calls, x.states);
  const b = new MemoryBackend();
  b.mkdirSync('/x');
  writeFile(b, '/x/u', 'u'.repeat(100));
  writeFile(b, '/x/e', '');
  writeFile(b, '/x/t', 'abc'.repeat(30));
  writeFile(b, '/x/r', NEW.slice(0, 1500) + '\n');
  writeFile(b, '/x/s', 'short');
  b.symlinkSync('u', '/x/l');
  assert.equal(
    describeCrashState(b, { indent: '> ', maxContent: 6 }),
    [
      '> /x → dir',
      '> /x/e → (empty)',
      '> /x/l → symlink to "u"',
      '> /x/r → "A" × 600 + "B" × 600 + "C" × 300 + "\\n"',
      '> /x/s → "short"',
      '> /x/t → "abcabc"… (90 chars)',
      '> /x/u → "u" × 100',
    ].join('\n'),
  );
  assert.equal(describeCrashState({}), '(nothing)');
});

test('explorer: refuses a run the crash model could not keep in full (compaction folded part of it)', async () => {
  await assert.rejects(
    exploreCrashes({
      setup: setupOld,
      run: (b) => {
        const fd = b.openSync(TARGET, O.WRONLY);
        for (let i = 0; i < 5000; i++) {
          b.writeSync(fd, Buffer.from('x'), 0, 1, i);
          b.fsyncSync(fd);
        }
        b.closeSync(fd);
      },
      check: () => undefined,
    }),
    /exploreCrashes: the crash model folded operations past the start of the run/,
  );
});

test('explorer: tearSize is passed to the crash model (smaller sectors, more torn states)', async () => {
  const at = async (tearSize: number): Promise<string[]> => {
    const seen = new Set<string>();
    await exploreCrashes({
      tearSize,
      setup: setupOld,
      run: (b) => {
        naiveWriter(b, TARGET, [NEW]);
      },
      check: (s) => void seen.add(label(s, TARGET)),
    });
    return [...seen].filter((l) => l.startsWith('new[')).sort();
  };
  assert.deepEqual(await at(SECTOR), ['new[:1024]', 'new[:1536]', 'new[:512]']);
  assert.equal((await at(128)).length, 8); // tearPoints: at most 8 interior boundaries per write
});

// ------------------------------------------------------------------ atomicWrite

/** Explores, prints the state counts (for the record) and checks them: see the file's header. */
async function explore(
  name: string,
  options: Parameters<typeof exploreCrashes>[0],
  expected?: { during: number; after: number },
): Promise<CrashExploration> {
  const x = await exploreCrashes(options);
  console.log(`# states ${name}: during ${x.during}, after ${x.after}`);
  if (expected !== undefined) assert.deepEqual({ during: x.during, after: x.after }, expected, `${name}: state counts`);
  return x;
}

// How the counts come about, for 'full' over OLD with NEW in one write (12 during, 1 after): /d/f is
// OLD and there is no temp yet (1); or OLD and a temp, created 0o600 and then fchmod'ed to 0o640 (two
// metadata states), holding nothing, 512, 1024, 1536 bytes (torn at sectors) or all of NEW (5 data
// states): 10; or /d/f is NEW (the rename is durable only with the temp's data, which the fsync before
// it forced) (1). After the directory fsync returned, only NEW with no temp (1).

test("atomicWrite 'full' over a durable file: complete old or new during; only new once it resolved", async () => {
  await explore(
    'atomicWrite full',
    { setup: setupOld, run: (backend) => atomicWrite(TARGET, NEW, { backend }), check: replaced() },
    { during: 12, after: 1 },
  );
});

test("atomicWrite 'full' keeps the owner (as root) in every state: the fchown is durable before the rename", async () => {
  await explore(
    'atomicWrite full, owned',
    {
      setup: setupOwned,
      run: (backend) => atomicWrite(TARGET, NEW, { backend }),
      check: replaced(KEEPS_OWNER ? OWNER : { uid: 0, gid: 0 }),
    },
    // The temp goes through one more metadata state (chown'ed) when the owner is kept: 1 + 5 × 3 + 1.
    KEEPS_OWNER ? { during: 17, after: 1 } : { during: 12, after: 1 },
  );
});

test("atomicWrite 'full' with multi-chunk data (an iterable and an async iterable)", async () => {
  // A synchronous iterable is gathered into one write (as many states as one string) …
  await explore(
    'atomicWrite full iterable',
    { setup: setupOld, run: (backend) => atomicWrite(TARGET, CHUNKS, { backend }), check: replaced() },
    { during: 12, after: 1 },
  );
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const c of CHUNKS) {
      await Promise.resolve();
      yield Buffer.from(c);
    }
  }
  // … an asynchronous one is written chunk by chunk: the temp can also hold 600 or 1200 bytes (×2 modes).
  await explore(
    'atomicWrite full async iterable',
    { setup: setupOld, run: (backend) => atomicWrite(TARGET, chunks(), { backend }), check: replaced() },
    { during: 16, after: 1 },
  );
});

test("atomicWrite 'file': never torn or empty; after it resolved the old content may still come back", async () => {
  const seen = { during: new Set<string>(), after: new Set<string>() };
  await explore(
    'atomicWrite file',
    {
      setup: setupOld,
      run: (backend) => atomicWrite(TARGET, NEW, { backend, durability: 'file' }),
      check: (state, when) => {
        const l = label(state, TARGET);
        seen[when].add(l);
        assert.ok(l === 'old' || l === 'new', `${when}: ${TARGET} is ${l}`);
        assert.equal(modeOf(state, TARGET), MODE);
        assertOnlyLeftovers(state, DIR, ['f']);
      },
    },
    // The same 12 during; after: NEW, or OLD with the complete temp beside it (the rename was not made durable).
    { during: 12, after: 2 },
  );
  assert.deepEqual([...seen.during].sort(), ['new', 'old']);
  assert.deepEqual([...seen.after].sort(), ['new', 'old']);
});

test("atomicWrite 'none': what the model allows (not power-loss safe: the rename can outlive the temp's data)", async () => {
  const { during, after, x } = await labelsOf((backend) => atomicWrite(TARGET, NEW, { backend, durability: 'none' }));
  console.log(`# states atomicWrite none: during ${x.during}, after ${x.after}`);
  // Without an fsync the temp's data and the rename reach the disk independently (delayed allocation):
  // the rename can be durable while the data is not, or only part of it — exactly the 2009 ext4
  // "zero-length file" case. 'none' is documented as atomic against readers and process crashes only,
  // and that is all it is: a power loss, even long after the call resolved, can leave the target
  // empty or torn (nothing was ever forced, so every state stays possible).
  assert.deepEqual(during, ['empty', 'new', 'new[:1024]', 'new[:1536]', 'new[:512]', 'old']);
  assert.deepEqual(after, during);
  // The 11 states with /d/f OLD as for 'full', plus /d/f empty, 512, 1024, 1536 bytes or NEW.
  assert.deepEqual({ during: x.during, after: x.after }, { during: 16, after: 16 });
});

test("atomicWriteSync 'full': the same invariants", async () => {
  await explore(
    'atomicWriteSync full',
    {
      setup: setupOld,
      run: (backend) => {
        atomicWriteSync(TARGET, CHUNKS, { backend });
      },
      check: replaced(),
    },
    { during: 12, after: 1 },
  );
});

test('atomicWrite through a symlink: the link stays, the file it points to is replaced atomically', async () => {
  await explore(
    'atomicWrite through symlink',
    {
      setup: (b) => {
        setupOld(b);
        b.symlinkSync('f', '/d/link');
      },
      run: (backend) => atomicWrite('/d/link', NEW, { backend }),
      check: (state, when) => {
        replaced()(state, when);
        assert.deepEqual(state.tree()['/d/link'], { kind: 'symlink', target: 'f' });
      },
    },
    { during: 12, after: 1 },
  );
});

test('atomicWrite of a new file with mkdir: true: absent or complete during, complete (with its directories) after', async () => {
  const path = '/a/b/c/f';
  const x = await explore(
    'atomicWrite mkdir',
    {
      setup: (b) => {
        b.mkdirSync('/a');
      },
      run: (backend) => atomicWrite(path, NEW, { backend, mkdir: true, mode: MODE }),
      check: (state, when) => {
        const l = label(state, path);
        if (when === 'during') assert.ok(l === 'absent' || l === 'new', `during: ${path} is ${l}`);
        else assert.equal(l, 'new', `after: ${path} is ${l}`);
        if (l === 'new') assert.equal(modeOf(state, path), MODE);
        assertOnlyLeftovers(state, '/a/b/c', ['f']);
      },
      // Nothing, /a/b, /a/b/c (3); the temp in /a/b/c as for a replace (10); /a/b/c/f (1). After: only the last.
    },
    { during: 14, after: 1 },
  );
  // Every prefix of the directory creations is a state of its own.
  const dirs = new Set<string>();
  await exploreCrashes({
    setup: (b) => {
      b.mkdirSync('/a');
    },
    run: (backend) => atomicWrite(path, NEW, { backend, mkdir: true }),
    check: (s) =>
      void dirs.add(
        Object.keys(s.tree())
          .filter((p) => p === '/a/b' || p === '/a/b/c')
          .join(','),
      ),
  });
  assert.deepEqual([...dirs].sort(), ['', '/a/b', '/a/b,/a/b/c']);
  assert.equal(x.after, 1);
});

test('atomicWrite of a new file: absent or complete during, complete after', async () => {
  await explore(
    'atomicWrite new file',
    {
      setup: (b) => {
        b.mkdirSync(DIR);
      },
      run: (backend) => atomicWrite(TARGET, NEW, { backend, mode: MODE }),
      check: createdOnce(TARGET),
    },
    { during: 12, after: 1 },
  );
});

test('two files of one directory written concurrently (one directory fsync may serve both): both new once both resolved', async () => {
  const OTHER = '/d/g';
  await explore(
    'atomicWrite two files, one directory',
    {
      setup: (b) => {
        setupOld(b);
        writeFile(b, OTHER, OLD);
      },
      run: async (backend) => {
        await Promise.all([atomicWrite(TARGET, NEW, { backend }), atomicWrite(OTHER, NEW, { backend })]);
      },
      check: (state, when) => {
        for (const path of [TARGET, OTHER]) {
          const l = label(state, path);
          if (when === 'during') assert.ok(l === 'old' || l === 'new', `during: ${path} is ${l}`);
          else assert.equal(l, 'new', `after: ${path} is ${l}`);
        }
        assertOnlyLeftovers(state, DIR, ['f', 'g']);
      },
    },
    { during: 83, after: 1 },
  );
});

test('coalesced atomicWrites: old, the first or the last content during; only the last once both resolved', async () => {
  const FIRST = 'F'.repeat(1300);
  await explore(
    'atomicWrite coalesced',
    {
      setup: setupOld,
      run: async (backend) => {
        await Promise.all([atomicWrite(TARGET, FIRST, { backend }), atomicWrite(TARGET, NEW, { backend })]);
      },
      check: (state, when) => {
        const c = state.tree()[TARGET];
        if (when === 'during')
          assert.ok(c === OLD || c === FIRST || c === NEW, `during: ${TARGET} is ${label(state, TARGET)}`);
        else assert.equal(label(state, TARGET), 'new');
        assertOnlyLeftovers(state, DIR, ['f']);
      },
      // OLD with no temp or the first write's temp (1 + 4 contents × 2 modes), FIRST (1), FIRST with the
      // second write's temp (10), NEW (1): 21. The first write was already running: it was not superseded.
    },
    { during: 21, after: 1 },
  );
});

test('three coalesced atomicWrites: the superseded middle one is never written, not even in a crash state', async () => {
  const FIRST = 'F'.repeat(1300);
  const SECOND = 'S'.repeat(700);
  await explore(
    'atomicWrite coalesced, one superseded',
    {
      setup: setupOld,
      run: async (backend) => {
        await Promise.all([
          atomicWrite(TARGET, FIRST, { backend }),
          atomicWrite(TARGET, SECOND, { backend }),
          atomicWrite(TARGET, NEW, { backend }),
        ]);
      },
      check: (state, when) => {
        const c = state.tree()[TARGET];
        if (when === 'during')
          assert.ok(c === OLD || c === FIRST || c === NEW, `during: ${TARGET} is ${label(state, TARGET)}`);
        else assert.equal(label(state, TARGET), 'new');
        for (const [path, content] of Object.entries(state.tree()))
          assert.ok(typeof content !== 'string' || !content.startsWith('S'), `${path} holds the superseded data`);
        assertOnlyLeftovers(state, DIR, ['f']);
      },
    },
    { during: 21, after: 1 },
  );
});

// ------------------------------------------------------------------ the same checks fail when the protocol is broken

/**
 * `b` with its fsync/fdatasync calls turned into no-ops, for files, directories or both: atomicWrite
 * through it behaves like an implementation that forgot them, and the invariants above must catch it.
 */
function droppingFsyncs(b: MemoryBackend, drop: 'files' | 'dirs' | 'all'): Backend {
  const dropped = (fd: number): boolean => drop === 'all' || (drop === 'dirs') === b.fstatSync(fd).isDirectory();
  return new Proxy(b, {
    get(target, prop, receiver) {
      if (prop === 'fsyncSync' || prop === 'fdatasyncSync') {
        return (fd: number): void => {
          if (!dropped(fd)) target[prop](fd);
        };
      }
      if (prop === 'fsync' || prop === 'fdatasync')
        return (fd: number): Promise<void> => (dropped(fd) ? Promise.resolve() : target[prop](fd));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

test('mutation check: atomicWrite without its fsyncs is flagged (torn and empty targets during, old ones after)', async () => {
  const run = (drop: 'files' | 'dirs' | 'all') =>
    exploreCrashes({
      setup: setupOld,
      run: (b) => atomicWrite(TARGET, NEW, { backend: droppingFsyncs(b, drop) }),
      check: replaced(),
      throwOnFailure: false,
    });
  const all = await run('all');
  assert.deepEqual(failureLabels(all, 'during'), ['empty', 'new[:1024]', 'new[:1536]', 'new[:512]']);
  assert.deepEqual(failureLabels(all, 'after'), ['empty', 'new[:1024]', 'new[:1536]', 'new[:512]', 'old']);
  const files = await run('files');
  assert.deepEqual(failureLabels(files, 'during'), ['empty', 'new[:1024]', 'new[:1536]', 'new[:512]']);
  const dirs = await run('dirs');
  assert.deepEqual(failureLabels(dirs, 'during'), []);
  assert.deepEqual(failureLabels(dirs, 'after'), ['old']);
  // And through the untouched backend, nothing.
  const none = await exploreCrashes({
    setup: setupOld,
    run: (b) => atomicWrite(TARGET, NEW, { backend: b }),
    check: replaced(),
    throwOnFailure: false,
  });
  assert.equal(none.failures.length, 0);
});

test('mutation check: createExclusive without the file fsync can expose a partial target', async () => {
  const x = await exploreCrashes({
    setup: (b) => {
      b.mkdirSync(DIR);
    },
    run: async (b) => {
      await createExclusive(TARGET, NEW, { backend: droppingFsyncs(b, 'files'), mode: MODE });
    },
    check: createdOnce(TARGET),
    throwOnFailure: false,
  });
  assert.ok(failureLabels(x, 'during').includes('empty'), JSON.stringify(failureLabels(x, 'during')));
});

// ------------------------------------------------------------------ PendingFile

test('atomicCreate + three writes + commit: complete old or new during, new after', async () => {
  await explore(
    'atomicCreate commit',
    {
      setup: setupOld,
      run: async (backend) => {
        const file = await atomicCreate(TARGET, { backend });
        for (const c of CHUNKS) await file.write(c);
        await file.commit();
        assert.equal(file.state, 'committed');
      },
      check: replaced(),
    },
    { during: 16, after: 1 },
  );
});

test('atomicCreate + writes + abort: the old content in every state', async () => {
  await explore(
    'atomicCreate abort',
    {
      setup: setupOld,
      run: async (backend) => {
        const file = await atomicCreate(TARGET, { backend });
        for (const c of CHUNKS) await file.write(c);
        await file.abort();
      },
      check: (state) => {
        assert.equal(label(state, TARGET), 'old');
        assertOnlyLeftovers(state, DIR, ['f']);
      },
      // No temp, or the temp (0o600: never fchmod'ed) holding a prefix of the three writes; the unlink of an
      // aborted temp is not made durable, so the same 8 states remain possible after abort() resolved.
    },
    { during: 8, after: 8 },
  );
});

// ------------------------------------------------------------------ createExclusive

/** The invariant of createExclusive: the target never appears partial; once created, it is there. */
function createdOnce(path: string) {
  return (state: MemoryBackend, when: CrashMoment): void => {
    const l = label(state, path);
    if (when === 'during') assert.ok(l === 'absent' || l === 'new', `during: ${path} is ${l}`);
    else assert.equal(l, 'new', `after created: true, ${path} is ${l}`);
    if (l === 'new') assert.equal(modeOf(state, path), MODE);
    assertOnlyLeftovers(state, DIR, ['f']);
  };
}

test('createExclusive: the target never appears partial; after created: true every state has it complete', async () => {
  await explore(
    'createExclusive data',
    {
      setup: (b) => {
        b.mkdirSync(DIR);
      },
      run: async (backend) => {
        assert.deepEqual(await createExclusive(TARGET, NEW, { backend, mode: MODE }), { created: true, path: TARGET });
      },
      check: createdOnce(TARGET),
      // After created: true the target is complete; besides it a crash can still leave the claim (empty or
      // complete: it is never fsynced) and the temp (a second link to the target): 5 states.
    },
    { during: 32, after: 5 },
  );
  await explore(
    'createExclusive producer',
    {
      setup: (b) => {
        b.mkdirSync(DIR);
      },
      run: async (backend) => {
        const r = await createExclusive(
          TARGET,
          async (file) => {
            for (const c of CHUNKS) await file.write(c);
          },
          { backend, mode: MODE },
        );
        assert.equal(r.created, true);
      },
      check: createdOnce(TARGET),
    },
    { during: 40, after: 5 },
  );
});

test('createExclusive over an existing file changes nothing, in any state', async () => {
  await explore(
    'createExclusive exists',
    {
      setup: setupOld,
      run: async (backend) => {
        assert.deepEqual(await createExclusive(TARGET, NEW, { backend }), {
          created: false,
          path: TARGET,
          reason: 'exists',
        });
      },
      check: (state) => {
        assert.equal(label(state, TARGET), 'old');
      },
    },
    { during: 1, after: 1 },
  );
});

// ------------------------------------------------------------------ after the crash

test('after a crash during atomicWrite, cleanupTemps removes the leftover temp and keeps the target', async () => {
  // Timestamps two hours old: the temps' writer (this process) is alive, so only their age lets them go.
  const now = (): number => Date.now() - 2 * 60 * 60 * 1000;
  let withTemp = 0;
  await exploreCrashes({
    backendOptions: { now },
    setup: setupOld,
    run: (backend) => atomicWrite(TARGET, NEW, { backend }),
    check: async (state) => {
      const before = label(state, TARGET);
      const temps = state.readdirSync(DIR).filter((n) => TEMP_NAME.test(n));
      if (temps.length > 0) withTemp++;
      const removed = await cleanupTemps(DIR, { backend: state });
      assert.deepEqual(removed, temps.sort());
      assert.deepEqual(state.readdirSync(DIR), ['f']);
      assert.equal(label(state, TARGET), before);
    },
  });
  assert.ok(withTemp > 0, 'some crash states hold a temp file');
});

test('after a crash during createExclusive, the file is produced at once (a leftover claim is stale), and cleanupTemps clears the rest', async () => {
  const now = (): number => Date.now() - 2 * 60 * 60 * 1000;
  const first: Record<string, number> = {};
  await exploreCrashes({
    backendOptions: { now },
    setup: (b) => {
      b.mkdirSync(DIR);
    },
    run: async (backend) => {
      await createExclusive(TARGET, NEW, { backend, mode: MODE });
    },
    check: async (state) => {
      const present = label(state, TARGET);
      // Right after the reboot a surviving claim is empty (its content never reached the disk) or names a
      // process of before the crash: both are stale, so the file is produced at once — never 'in-progress'.
      const r = await createExclusive(TARGET, NEW, { backend: state, mode: MODE });
      const key = r.created ? 'created' : r.reason;
      first[key] = (first[key] ?? 0) + 1;
      if (present === 'new') assert.equal(key, 'exists');
      else assert.notEqual(key, 'exists');
      // cleanupTemps removes claims and temps by age; then the file can be produced.
      await cleanupTemps(DIR, { backend: state });
      const again = await createExclusive(TARGET, NEW, { backend: state, mode: MODE });
      assert.equal(again.created || again.reason === 'exists', true, JSON.stringify(again));
      assert.equal(label(state, TARGET), 'new');
      assert.deepEqual(state.readdirSync(DIR), ['f']);
    },
  });
  console.log(`# createExclusive right after a crash: ${JSON.stringify(first)}`);
  assert.ok((first['exists'] ?? 0) > 0 && (first['created'] ?? 0) > 0);
  assert.equal(first['in-progress'] ?? 0, 0, 'a claim left by a crash must not block production');
});
