/**
 * The crash model (CrashJournal) driven directly with FsOp records, the way a MemoryBackend drives it:
 * every op is applied to a live FsState and recorded, barriers are reported after they "succeed".
 * See docs/crash-model.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrashJournal, stateKey, type CrashJournalOptions } from '../src/backend/memory/crash-journal.js';
import { applyGuarded, tearPoints } from '../src/backend/memory/crash-enumerator.js';
import { FsState } from '../src/backend/memory/fs-state.js';
import { dirsOf, isDataOp, type FsOp } from '../src/backend/memory/fs-op.js';
import type { InodeKind } from '../src/backend/memory/inode.js';

let clock = 1_000;
function attrs(mode: number): {
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
} {
  const t = clock++;
  return { mode, uid: 0, gid: 0, atimeMs: t, mtimeMs: t, ctimeMs: t, birthtimeMs: t };
}
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** A live state and its crash journal, with helpers that build ops the way a backend would. */
class Harness {
  readonly live = new FsState(attrs(0o755));
  readonly journal: CrashJournal;
  readonly root = this.live.root;
  /** Everything reported to the journal, in order (for the brute-force oracle). */
  readonly events: Event[] = [];

  /** The state the journal started from. */
  readonly initial = this.live.clone();

  constructor(options?: CrashJournalOptions) {
    this.journal = new CrashJournal(this.live.clone(), options);
  }

  /** A journal with `options` fed every event so far. */
  replayInto(options: CrashJournalOptions): CrashJournal {
    const j = new CrashJournal(this.initial.clone(), options);
    for (const e of this.events) {
      if ('op' in e) j.record(e.op);
      else if (e.barrier === 'sync') j.syncAll();
      else j.barrier(e.barrier.kind, e.barrier.ino, e.barrier.isDir);
    }
    return j;
  }

  do(op: FsOp): void {
    this.live.apply(op);
    this.journal.record(op);
    this.events.push({ op });
  }
  create(dir: number, name: string, kind: InodeKind = 'file', mode = kind === 'dir' ? 0o755 : 0o644): number {
    const ino = this.live.allocateIno();
    this.do({ type: 'create', dir, name, ino, kind, attrs: attrs(mode) });
    return ino;
  }
  mkdir(dir: number, name: string): number {
    return this.create(dir, name, 'dir');
  }
  write(ino: number, offset: number, data: string | Uint8Array): void {
    // The op holds its own copy of the data, as the backend provides it.
    this.do({
      type: 'write',
      ino,
      offset,
      data: typeof data === 'string' ? bytes(data) : data.slice(),
      mtimeMs: clock++,
    });
  }
  truncate(ino: number, size: number): void {
    this.do({ type: 'truncate', ino, size, mtimeMs: clock++ });
  }
  rename(fromDir: number, fromName: string, toDir: number, toName: string): void {
    this.do({ type: 'rename', fromDir, fromName, toDir, toName, ctimeMs: clock++ });
  }
  unlink(dir: number, name: string): void {
    this.do({ type: 'unlink', dir, name, ctimeMs: clock++ });
  }
  link(ino: number, dir: number, name: string): void {
    this.do({ type: 'link', ino, dir, name, ctimeMs: clock++ });
  }
  chmod(ino: number, mode: number): void {
    this.do({ type: 'setattr', ino, mode, ctimeMs: clock++ });
  }
  fsync(ino: number): void {
    this.barrier({ kind: 'fsync', ino, isDir: this.live.inode(ino).kind === 'dir' });
  }
  fdatasync(ino: number): void {
    this.barrier({ kind: 'fdatasync', ino, isDir: this.live.inode(ino).kind === 'dir' });
  }
  sync(): void {
    this.barrier('sync');
  }
  barrier(b: Barrier): void {
    if (b === 'sync') this.journal.syncAll();
    else this.journal.barrier(b.kind, b.ino, b.isDir);
    this.events.push({ barrier: b });
  }
  /** A durable file `name` in the root holding `content` (made durable with sync). */
  durableFile(name: string, content: string, dir = this.root): number {
    const ino = this.create(dir, name);
    if (content !== '') this.write(ino, 0, content);
    this.sync();
    return ino;
  }
  /** The distinct crash states from `from` (default: now), as views. */
  views(from = this.journal.length, limit?: number): string[] {
    return this.journal.states({ from, limit }).map(view);
  }
}

type Barrier = 'sync' | { kind: 'fsync' | 'fdatasync'; ino: number; isDir: boolean };
type Event = { op: FsOp } | { barrier: Barrier };

/** The inode `path` names in `state`, if any. */
function lookup(state: FsState, path: string): number | undefined {
  let ino: number | undefined = state.root;
  for (const name of path.split('/').filter((n) => n !== '')) {
    ino = state.inodes.get(ino)?.entries?.get(name);
    if (ino === undefined) return undefined;
  }
  return ino;
}

/** The content of the file at `path` (latin1), or undefined if there is none. */
function text(state: FsState, path: string): string | undefined {
  const ino = lookup(state, path);
  if (ino === undefined) return undefined;
  const inode = state.inode(ino);
  const buf = new Uint8Array(inode.size);
  state.read(inode, buf, 0, inode.size, 0);
  return Buffer.from(buf).toString('latin1');
}

/** A one-line picture of a state: `path=content` for files, `path/` for directories, sorted. */
function view(state: FsState): string {
  const out: string[] = [];
  const walk = (ino: number, prefix: string): void => {
    const entries = [...(state.inode(ino).entries ?? new Map<string, number>())].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [name, child] of entries) {
      const inode = state.inode(child);
      const path = prefix + name;
      if (inode.kind === 'dir') {
        out.push(`${path}/`);
        walk(child, `${path}/`);
      } else {
        out.push(`${path}=${text(state, path) ?? ''}`);
      }
    }
  };
  walk(state.root, '');
  return out.join(' ');
}

const sorted = (xs: string[]): string[] => [...xs].sort();

// ---------------------------------------------------------------------------------------------- metadata

test('metadata persists as a prefix: creates without a barrier leave 0, 1, 2 or 3 of them, in order', () => {
  const h = new Harness();
  h.create(h.root, 'a');
  h.create(h.root, 'b');
  h.create(h.root, 'c');
  assert.deepEqual(sorted(h.views(0)), ['', 'a=', 'a= b=', 'a= b= c=']);
});

test('metadata prefix: a rename never survives without the create before it', () => {
  const h = new Harness();
  const d1 = h.mkdir(h.root, 'd1');
  const d2 = h.mkdir(h.root, 'd2');
  h.sync();
  const from = h.journal.length;
  h.create(d1, 'x');
  h.rename(d1, 'x', d2, 'y');
  assert.deepEqual(sorted(h.views(from)), ['d1/ d1/x= d2/', 'd1/ d2/', 'd1/ d2/ d2/y=']);
  // fsync of d2 forces the rename and, in order, the create before it.
  h.fsync(d2);
  assert.deepEqual(h.views(), ['d1/ d2/ d2/y=']);
});

test('metadata: unlink and link replay as a prefix, and link counts are part of the state', () => {
  const h = new Harness();
  const a = h.durableFile('a', 'A');
  const from = h.journal.length;
  h.link(a, h.root, 'b');
  h.unlink(h.root, 'a');
  const states = h.journal.states({ from });
  assert.deepEqual(sorted(states.map(view)), ['a=A', 'a=A b=A', 'b=A']);
  const both = states.find((s) => view(s) === 'a=A b=A')!;
  assert.equal(both.inode(lookup(both, 'a')!).nlink, 2);
  assert.equal(lookup(both, 'a'), lookup(both, 'b'));
});

// ---------------------------------------------------------------------------------------------- data

test('data streams are independent of each other and of the metadata journal', () => {
  const h = new Harness();
  const a = h.durableFile('a', '');
  const b = h.durableFile('b', '');
  const from = h.journal.length;
  h.write(a, 0, 'A');
  h.write(b, 0, 'B');
  h.create(h.root, 'c');
  const views = sorted(h.views(from));
  // Every combination: a later write (b) can persist while an earlier one (a) is lost, and the create
  // (metadata) can persist while both writes before it are lost.
  assert.deepEqual(
    views,
    sorted(['a= b=', 'a=A b=', 'a= b=B', 'a=A b=B', 'a= b= c=', 'a=A b= c=', 'a= b=B c=', 'a=A b=B c=']),
  );
});

test("one inode's data operations persist in order: never a later write without an earlier one", () => {
  const h = new Harness();
  const f = h.durableFile('f', '');
  const from = h.journal.length;
  h.write(f, 0, 'aaa');
  h.write(f, 3, 'bbb');
  h.truncate(f, 2);
  assert.deepEqual(sorted(h.views(from)), ['f=', 'f=aa', 'f=aaa', 'f=aaabbb']);
});

test('a write to a file whose create was lost applies to an orphan inode that the crash drops', () => {
  const h = new Harness();
  const f = h.create(h.root, 'f');
  h.write(f, 0, 'data');
  h.fdatasync(f); // data forced, the name is not
  assert.deepEqual(sorted(h.views(0)), ['', 'f=', 'f=data']);
  assert.deepEqual(sorted(h.views()), ['', 'f=data']);
});

// ---------------------------------------------------------------------------------------------- tearing

test('tearing: the last persisted write keeps a prefix ending on a tearSize boundary', () => {
  const h = new Harness({ tearSize: 512 });
  const f = h.durableFile('f', '');
  const from = h.journal.length;
  h.write(f, 0, 'x'.repeat(2048));
  const sizes = h.journal.states({ from }).map((s) => text(s, 'f')?.length);
  assert.deepEqual(sorted(sizes.map(String)), sorted(['0', '512', '1024', '1536', '2048']));
});

test('tearing: boundaries are sectors of the file, so an unaligned write tears at the next boundary', () => {
  const h = new Harness({ tearSize: 512 });
  const f = h.durableFile('f', 'o'.repeat(100));
  const from = h.journal.length;
  h.write(f, 100, 'n'.repeat(1000)); // sectors end at 512 and 1024 within [100, 1100)
  const contents = h.journal.states({ from }).map((s) => text(s, 'f') ?? '');
  assert.deepEqual(sorted(contents.map((c) => String(c.length))), ['100', '1024', '1100', '512']);
  for (const c of contents) assert.match(c, /^o{100}n*$/);
});

test('tearing: tear points are bounded and evenly spaced; tearSize and tearPoints are options', () => {
  const op = { type: 'write', ino: 3, offset: 0, data: new Uint8Array(100 * 512), mtimeMs: 0 } as const;
  const points = tearPoints(op, 512, 8);
  assert.equal(points.length, 8);
  assert.equal(points[0], 512);
  assert.equal(points[7], 99 * 512);
  for (const p of points) assert.equal(p % 512, 0);
  assert.deepEqual(tearPoints(op, 512, 0), []);
  assert.deepEqual(tearPoints({ ...op, data: new Uint8Array(10) }, 4, 8), [4, 8]);

  const h = new Harness({ tearSize: 4 });
  const f = h.durableFile('f', '');
  const from = h.journal.length;
  h.write(f, 0, 'abcdefghij');
  assert.deepEqual(sorted(h.views(from)), ['f=', 'f=abcd', 'f=abcdefgh', 'f=abcdefghij']);
  const off = new Harness({ tearSize: 4, tearPoints: 0 });
  const g = off.durableFile('g', '');
  const gFrom = off.journal.length;
  off.write(g, 0, 'abcdefghij');
  assert.deepEqual(sorted(off.views(gFrom)), ['g=', 'g=abcdefghij']);
});

test('tearing: only the last persisted write of an inode is torn, and a forced write never is', () => {
  const h = new Harness({ tearSize: 4 });
  const f = h.durableFile('f', '');
  const from = h.journal.length;
  h.write(f, 0, 'aaaaaaaa');
  h.write(f, 8, 'bbbbbbbb');
  assert.deepEqual(
    sorted(h.views(from)),
    sorted(['f=', 'f=aaaa', 'f=aaaaaaaa', 'f=aaaaaaaabbbb', 'f=aaaaaaaabbbbbbbb']),
  );
  h.fdatasync(f);
  assert.deepEqual(h.views(), ['f=aaaaaaaabbbbbbbb']);
});

// ---------------------------------------------------------------------------------------------- barriers

test("fdatasync(file) forces that inode's data so far, not other inodes' data, not its attributes", () => {
  const h = new Harness();
  const a = h.durableFile('a', '');
  const b = h.durableFile('b', '');
  h.write(a, 0, 'A');
  h.write(b, 0, 'B');
  h.chmod(a, 0o600);
  h.fdatasync(a);
  const states = h.journal.states({ from: h.journal.length });
  const described = states.map((s) => `${view(s)} mode=${s.inode(lookup(s, 'a')!).mode.toString(8)}`);
  assert.deepEqual(sorted(described), ['a=A b= mode=600', 'a=A b= mode=644', 'a=A b=B mode=600', 'a=A b=B mode=644']);
});

test('fsync(file) also forces its setattr operations (and, in order, the metadata before them)', () => {
  const h = new Harness();
  const a = h.durableFile('a', '');
  const from = h.journal.length;
  h.create(h.root, 'other');
  h.chmod(a, 0o600);
  h.write(a, 0, 'A');
  h.fsync(a);
  const states = h.journal.states({ from: h.journal.length });
  assert.deepEqual(states.map(view), ['a=A other=']);
  assert.equal(states[0]!.inode(lookup(states[0]!, 'a')!).mode, 0o600);
  // Before the fsync, the chmod could be lost.
  const modes = new Set(h.journal.states({ from }).map((s) => s.inode(lookup(s, 'a')!).mode));
  assert.deepEqual([...modes].sort(), [0o600, 0o644]);
});

test('fsync(file) does not make its directory entry durable', () => {
  const h = new Harness();
  const f = h.create(h.root, 'f');
  h.write(f, 0, 'data');
  h.fsync(f);
  const views = sorted(h.views());
  assert.deepEqual(views, ['', 'f=data']); // the name can be lost; if it is there, so is the data
});

test('fsync(dir) forces the entries of that directory and every metadata operation before them, not data', () => {
  const h = new Harness();
  const d1 = h.mkdir(h.root, 'd1');
  const d2 = h.mkdir(h.root, 'd2');
  h.sync();
  const g = h.create(d2, 'g');
  const f = h.create(d1, 'f');
  h.write(f, 0, 'F');
  h.write(g, 0, 'G');
  h.create(d2, 'late');
  h.fsync(d1);
  // d1/f forced, and by the in-order rule d2/g (created before it); d2/late is not; data is not.
  assert.deepEqual(
    sorted(h.views()),
    sorted([
      'd1/ d1/f= d2/ d2/g=',
      'd1/ d1/f=F d2/ d2/g=',
      'd1/ d1/f= d2/ d2/g=G',
      'd1/ d1/f=F d2/ d2/g=G',
      'd1/ d1/f= d2/ d2/g= d2/late=',
      'd1/ d1/f=F d2/ d2/g= d2/late=',
      'd1/ d1/f= d2/ d2/g=G d2/late=',
      'd1/ d1/f=F d2/ d2/g=G d2/late=',
    ]),
  );
  // fdatasync of a directory also makes its entries durable.
  h.fdatasync(d2);
  assert.deepEqual(
    sorted(h.views()),
    sorted([
      'd1/ d1/f= d2/ d2/g= d2/late=',
      'd1/ d1/f=F d2/ d2/g= d2/late=',
      'd1/ d1/f= d2/ d2/g=G d2/late=',
      'd1/ d1/f=F d2/ d2/g=G d2/late=',
    ]),
  );
});

test('syncAll forces everything: one state, equal to the live one', () => {
  const h = new Harness();
  const d = h.mkdir(h.root, 'd');
  const f = h.create(d, 'f');
  h.write(f, 0, 'hello');
  h.chmod(f, 0o640);
  h.create(h.root, 'g');
  h.sync();
  const states = h.journal.states({ from: h.journal.length });
  assert.equal(states.length, 1);
  assert.equal(stateKey(states[0]!), stateKey(h.live));
});

test('a crash can happen while a barrier is in flight: states before it are explored from earlier positions', () => {
  const h = new Harness();
  const a = h.durableFile('a', '');
  const b = h.durableFile('b', '');
  const from = h.journal.length;
  h.write(a, 0, 'A');
  h.write(b, 0, 'B');
  h.fdatasync(a);
  // During the fdatasync, b's write may be on disk while a's is not yet.
  assert.ok(h.views(from).includes('a= b=B'));
  // Once it has returned, a's write is durable.
  assert.ok(!h.views().includes('a= b=B'));
});

// ---------------------------------------------------------------------------------------------- minimalState

test('minimalState keeps only what barriers forced', () => {
  const h = new Harness();
  const old = h.durableFile('old', 'keep');
  const d = h.mkdir(h.root, 'd');
  const f = h.create(d, 'f');
  h.write(f, 0, 'F');
  h.write(old, 0, 'XXXX');
  assert.equal(view(h.journal.minimalState()), 'old=keep');
  h.fsync(h.root); // d's entry (and, in order, nothing later)
  assert.equal(view(h.journal.minimalState()), 'd/ old=keep');
  h.fsync(d);
  assert.equal(view(h.journal.minimalState()), 'd/ d/f= old=keep');
  h.fdatasync(f);
  assert.equal(view(h.journal.minimalState()), 'd/ d/f=F old=keep');
  // The minimal state is one of the states.
  assert.ok(h.views(0).includes('d/ d/f=F old=keep'));
});

// ---------------------------------------------------------------------------------------------- compaction

test('compaction: a backend that syncs regularly keeps a short log; earlier positions are clamped', () => {
  const h = new Harness({ compactAfter: 0 });
  const f = h.durableFile('f', '');
  for (let i = 0; i < 100; i++) {
    h.write(f, i, String(i % 10));
    if (i % 10 === 9) h.fdatasync(f);
  }
  assert.equal(h.journal.retained, 0);
  assert.equal(h.journal.length, 101);
  assert.equal(h.journal.firstPosition, 101);
  // from 0 is clamped: only the durable state remains.
  assert.deepEqual(h.views(0), [`f=${'0123456789'.repeat(10)}`]);
});

test('compaction folds only a forced prefix: an unforced operation at the front keeps the rest', () => {
  const h = new Harness({ compactAfter: 0 });
  const g = h.durableFile('g', '');
  const start = h.journal.length;
  h.create(h.root, 'f'); // not forced by what follows
  h.write(g, 0, 'G');
  h.fdatasync(g);
  assert.equal(h.journal.retained, 2);
  assert.equal(h.journal.firstPosition, start);
  h.fsync(h.root);
  assert.equal(h.journal.retained, 0);
  assert.deepEqual(h.views(0), ['f= g=G']);
});

test('compaction does not change the states from the positions it keeps', () => {
  const script = (h: Harness): number => {
    const d = h.mkdir(h.root, 'd');
    const a = h.create(d, 'a');
    h.write(a, 0, 'a'.repeat(1500));
    h.fsync(a);
    h.fsync(d);
    h.fsync(h.root);
    const mark = h.journal.length;
    const b = h.create(d, 'b');
    h.write(b, 0, 'b'.repeat(700));
    h.truncate(a, 10);
    h.fdatasync(a);
    h.write(a, 10, 'c'.repeat(600));
    h.rename(d, 'b', d, 'a');
    h.chmod(b, 0o600);
    return mark;
  };
  const compacted = new Harness({ compactAfter: 0 });
  const full = new Harness({ compactAfter: Infinity });
  const mark = script(compacted);
  assert.equal(script(full), mark);
  assert.ok(compacted.journal.retained < full.journal.retained);
  const keys = (h: Harness): string[] => sorted(h.journal.states({ from: mark }).map(stateKey));
  assert.deepEqual(keys(compacted), keys(full));
  assert.ok(keys(full).length > 10);
  // Without compaction, earlier positions stay explorable (and add states).
  assert.ok(full.journal.states({ from: 0 }).length > keys(full).length);
});

test('states handed out stay intact when the journal folds more into its base, and the base is not the live state', () => {
  const h = new Harness({ compactAfter: 0 });
  const f = h.durableFile('f', 'x'.repeat(100));
  const before = h.journal.minimalState();
  h.write(f, 0, 'y'.repeat(100)); // the live state writes its chunk in place
  assert.equal(text(h.journal.minimalState(), 'f'), 'x'.repeat(100));
  h.fdatasync(f); // folds the write into the base
  const mid = h.journal.states()[0]!;
  h.write(f, 0, 'z'.repeat(50));
  h.sync(); // folds again: the base must not write in place the chunks `mid` shares
  assert.equal(text(before, 'f'), 'x'.repeat(100));
  assert.equal(text(mid, 'f'), 'y'.repeat(100));
  assert.equal(text(h.journal.minimalState(), 'f'), 'z'.repeat(50) + 'y'.repeat(50));
});

test('compaction waits for the thresholds: short scenarios stay explorable from their start', () => {
  const h = new Harness({ compactAfter: 5 });
  const f = h.durableFile('f', '');
  for (let i = 0; i < 4; i++) {
    h.write(f, i, 'x');
    h.fdatasync(f);
  }
  assert.equal(h.journal.retained, 5); // create + 4 writes: not more than 5
  assert.equal(h.journal.firstPosition, 0);
  assert.deepEqual(sorted(h.views(1)), ['f=', 'f=x', 'f=xx', 'f=xxx', 'f=xxxx']);
  h.write(f, 4, 'x'); // the sixth operation: past the threshold, the forced prefix is folded
  assert.equal(h.journal.retained, 1);
  assert.equal(h.journal.firstPosition, 5);
  assert.deepEqual(sorted(h.views(0)), ['f=xxxx', 'f=xxxxx']);

  const b = new Harness({ compactAfterBytes: 1000 });
  const g = b.durableFile('g', '');
  b.write(g, 0, 'y'.repeat(600));
  b.fdatasync(g);
  assert.equal(b.journal.retained, 2);
  b.write(g, 600, 'y'.repeat(600)); // 1200 bytes held: fold what is forced
  assert.equal(b.journal.retained, 1);
});

test('the states returned can be changed without affecting each other or the journal', () => {
  const h = new Harness({ compactAfter: 0 });
  const f = h.durableFile('f', 'a'.repeat(3000));
  const from = h.journal.length;
  h.write(f, 3000, 'b'.repeat(10));
  const [s1, s2] = h.journal.states({ from });
  assert.ok(s1 !== undefined && s2 !== undefined);
  const before2 = text(s2, 'f');
  const ino = lookup(s1, 'f')!;
  s1.apply({ type: 'write', ino, offset: 0, data: bytes('ZZZZ'), mtimeMs: 1 });
  assert.equal(text(s1, 'f')?.slice(0, 5), 'ZZZZa');
  assert.equal(text(s2, 'f'), before2);
  assert.deepEqual(sorted(h.journal.states({ from }).map((s) => String(text(s, 'f')?.length))), ['3000', '3010']);
  assert.equal(text(h.journal.minimalState(), 'f'), 'a'.repeat(3000));
});

test('a crash state has the times a replay in the original order gives', () => {
  // Unforced: every combination, each with the times of the operations it keeps, in their order.
  const u = new Harness();
  const e = u.durableFile('e', '');
  const created = u.live.inode(e).mtimeMs;
  const from = u.journal.length;
  u.write(e, 0, 'x');
  const written = u.live.inode(e).mtimeMs;
  u.do({ type: 'setattr', ino: e, mode: 0o600, mtimeMs: 42, ctimeMs: 43 });
  const seen = u.journal.states({ from }).map((st) => {
    const i = st.inode(lookup(st, 'e')!);
    const t = i.mtimeMs === created ? 'created' : i.mtimeMs === written ? 'written' : String(i.mtimeMs);
    return `${text(st, 'e')}/${i.mode.toString(8)}/${t}`;
  });
  assert.deepEqual(sorted(seen), ['/600/42', '/644/created', 'x/600/42', 'x/644/written']);
  // Forced, with a later write after the setattr:
  const h = new Harness();
  const f = h.durableFile('f', '');
  h.write(f, 0, 'x');
  h.do({ type: 'setattr', ino: f, mtimeMs: 42, ctimeMs: 43 });
  h.write(f, 1, 'y');
  h.fsync(f);
  const st = h.journal.minimalState();
  const inode = st.inode(lookup(st, 'f')!);
  assert.equal(text(st, 'f'), 'xy');
  assert.equal(inode.mtimeMs, h.live.inode(f).mtimeMs);
  assert.equal(inode.ctimeMs, h.live.inode(f).ctimeMs);
  const g = h.durableFile('g', '');
  h.write(g, 0, 'z');
  h.do({ type: 'setattr', ino: g, mtimeMs: 7 });
  h.sync();
  const st2 = h.journal.minimalState();
  assert.equal(st2.inode(lookup(st2, 'g')!).mtimeMs, 7);
});

test('the durable base is a snapshot: the live state writing its data in place does not change it', () => {
  const live = new FsState(attrs(0o755));
  const ino = live.allocateIno();
  live.apply({ type: 'create', dir: live.root, name: 'f', ino, kind: 'file', attrs: attrs(0o644) });
  live.apply({ type: 'write', ino, offset: 0, data: bytes('old!'), mtimeMs: 1 });
  const journal = new CrashJournal(live.clone()); // as a backend does when it is created
  const op: FsOp = { type: 'write', ino, offset: 0, data: bytes('new!'), mtimeMs: 2 };
  live.apply(op);
  journal.record(op);
  assert.equal(text(live, 'f'), 'new!');
  assert.equal(text(journal.minimalState(), 'f'), 'old!');
  assert.deepEqual(sorted(journal.states().map((st) => text(st, 'f') ?? '')), ['new!', 'old!']);
});

// ---------------------------------------------------------------------------------------------- dedup, limit

test('de-duplication: states that look the same are returned once; timestamps do not count', () => {
  const h = new Harness();
  const f = h.durableFile('f', 'abc');
  const from = h.journal.length;
  h.write(f, 0, 'abc'); // same bytes again: persisted or not, the same state
  h.chmod(f, 0o644); // same mode, new ctime
  assert.equal(h.journal.states({ from }).length, 1);
  h.write(f, 0, 'abd');
  assert.equal(h.journal.states({ from }).length, 2);
  const a = new FsState(attrs(0o755));
  const b = a.clone();
  a.apply({ type: 'create', dir: a.root, name: 'x', ino: 10, kind: 'file', attrs: attrs(0o644) });
  b.apply({ type: 'create', dir: b.root, name: 'x', ino: 99, kind: 'file', attrs: attrs(0o644) });
  assert.equal(stateKey(a), stateKey(b)); // inode numbers do not count
  b.apply({ type: 'setattr', ino: 99, mode: 0o600 });
  assert.notEqual(stateKey(a), stateKey(b));
});

test('the limit: more candidates than the limit throws a clear error; exactly the limit does not', () => {
  const h = new Harness({ tearPoints: 0 });
  const files = ['a', 'b', 'c'].map((n) => h.durableFile(n, ''));
  const many = Array.from({ length: 30 }, (_, i) => h.durableFile(`many${i}`, ''));
  const from = h.journal.length;
  for (const f of files) h.write(f, 0, 'w');
  assert.equal(h.journal.states({ from, limit: 8 }).length, 8); // 2 × 2 × 2
  assert.throws(() => h.journal.states({ from, limit: 7 }), /more than 7 candidate crash states/);
  for (const f of many) h.write(f, 0, 'w'); // 2^33 combinations
  assert.throws(() => h.journal.states({ from }), /more than 200000 candidate crash states/);
  assert.throws(() => h.journal.states({ from: h.journal.length + 1 }), RangeError);
});

test('files created and removed without a barrier do not multiply the states of the others', () => {
  const h = new Harness();
  const from = h.journal.length;
  for (let i = 0; i < 40; i++) {
    const t = h.create(h.root, `tmp${i}`);
    h.write(t, 0, 'x'.repeat(4096));
    h.unlink(h.root, `tmp${i}`);
  }
  // 40 independent data streams would be 10^40 combinations; only the one linked at each prefix counts.
  const states = h.journal.states({ from, limit: 2_000 });
  assert.equal(states.length, 1 + 40 * 9); // empty root, or one tmp file: empty, torn at 7 sectors, or whole
});

test('replay guards: operations a subset made impossible are skipped, as a real file system would', () => {
  const s = new FsState(attrs(0o755));
  assert.equal(applyGuarded(s, { type: 'write', ino: 50, offset: 0, data: bytes('x'), mtimeMs: 0 }), false);
  assert.equal(applyGuarded(s, { type: 'setattr', ino: 50, mode: 0o600 }), false);
  assert.equal(applyGuarded(s, { type: 'unlink', dir: s.root, name: 'nope', ctimeMs: 0 }), false);
  assert.equal(
    applyGuarded(s, { type: 'rename', fromDir: s.root, fromName: 'nope', toDir: s.root, toName: 'x', ctimeMs: 0 }),
    false,
  );
  assert.equal(applyGuarded(s, { type: 'link', ino: 50, dir: s.root, name: 'x', ctimeMs: 0 }), false);
  assert.equal(
    applyGuarded(s, { type: 'create', dir: 77, name: 'x', ino: 51, kind: 'file', attrs: attrs(0o644) }),
    false,
  );
  assert.equal(
    applyGuarded(s, { type: 'create', dir: s.root, name: 'x', ino: 51, kind: 'file', attrs: attrs(0o644) }),
    true,
  );
  assert.equal(
    applyGuarded(s, { type: 'create', dir: s.root, name: 'x', ino: 52, kind: 'file', attrs: attrs(0o644) }),
    false,
  );
  assert.deepEqual([...(s.inode(s.root).entries ?? [])], [['x', 51]]);
});

// ---------------------------------------------------------------------------------------------- oracle

/**
 * The model read literally, with no cleverness: for every crash moment of `events` (recorded after
 * `base` was durable: before the first operation, then after each operation, before and after each of
 * the barriers that follow it), compute what the barriers so far forced, enumerate every metadata prefix and every per-inode data
 * prefix (torn or not) allowed, replay the chosen operations in order on the base, and collect the keys.
 */
function bruteForce(base: FsState, events: readonly Event[], tearSize: number): Set<string> {
  const ops: FsOp[] = [];
  const keys = new Set<string>();
  const metaForced = new Set<number>(); // indexes into ops
  const dataForced = new Set<number>();
  const moment = (): void => {
    const metaIdx = ops.map((op, i) => (isDataOp(op) ? -1 : i)).filter((i) => i >= 0);
    const minMeta = metaIdx.filter((i) => metaForced.has(i)).length;
    const inos = [...new Set(ops.filter(isDataOp).map((op) => op.ino))];
    const perIno = inos.map((ino) => {
      const idx = ops.map((op, i) => (isDataOp(op) && op.ino === ino ? i : -1)).filter((i) => i >= 0);
      const lo = idx.filter((i) => dataForced.has(i)).length;
      const choices: { d: number; tear: number }[] = [];
      for (let d = lo; d <= idx.length; d++) {
        choices.push({ d, tear: -1 });
        const last = d > lo ? ops[idx[d - 1]!] : undefined;
        if (last?.type === 'write') for (const t of tearPoints(last, tearSize, 8)) choices.push({ d, tear: t });
      }
      return { idx, choices };
    });
    const combos = perIno.reduce<{ d: number; tear: number }[][]>(
      (acc, p) => acc.flatMap((c) => p.choices.map((x) => [...c, x])),
      [[]],
    );
    for (let m = minMeta; m <= metaIdx.length; m++) {
      const metaChosen = new Set(metaIdx.slice(0, m));
      for (const combo of combos) {
        const st = base.clone();
        ops.forEach((op, i) => {
          if (!isDataOp(op)) {
            if (metaChosen.has(i)) applyGuarded(st, op);
            return;
          }
          const k = inos.indexOf(op.ino);
          const pos = perIno[k]!.idx.indexOf(i);
          const c = combo[k]!;
          if (pos >= c.d) return;
          if (pos === c.d - 1 && c.tear >= 0 && op.type === 'write')
            applyGuarded(st, { ...op, data: op.data.subarray(0, c.tear) });
          else applyGuarded(st, op);
        });
        st.collect();
        keys.add(stateKey(st));
      }
    }
  };
  const force = (b: Barrier): void => {
    const forceMetaThrough = (last: number): void => {
      for (let i = 0; i <= last; i++) if (!isDataOp(ops[i]!)) metaForced.add(i);
    };
    if (b === 'sync') {
      ops.forEach((op, i) => (isDataOp(op) ? dataForced : metaForced).add(i));
      return;
    }
    ops.forEach((op, i) => {
      if (b.isDir) {
        if (dirsOf(op).includes(b.ino) || (b.kind === 'fsync' && op.type === 'setattr' && op.ino === b.ino))
          forceMetaThrough(i);
      } else {
        if (isDataOp(op) && op.ino === b.ino) dataForced.add(i);
        if (b.kind === 'fsync' && op.type === 'setattr' && op.ino === b.ino) forceMetaThrough(i);
      }
    });
  };
  moment();
  for (const e of events) {
    if ('op' in e) ops.push(e.op);
    else force(e.barrier);
    moment();
  }
  return keys;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the enumeration equals a brute-force reading of the model on random scenarios', () => {
  const names = ['a', 'b', 'c'];
  let compared = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const h = new Harness({ tearSize: 8, compactAfter: Infinity });
    const d = h.mkdir(h.root, 'd');
    h.write(h.create(h.root, 'a'), 0, 'old-old-old');
    h.sync();
    const base = h.journal.minimalState();
    const from = h.journal.length;
    const eventsBefore = h.events.length;
    const dirs = [h.root, d];
    const entries = (): { dir: number; name: string; ino: number }[] =>
      dirs.flatMap((dir) =>
        [...(h.live.inode(dir).entries ?? [])]
          .filter(([, ino]) => h.live.inode(ino).kind === 'file')
          .map(([name, ino]) => ({ dir, name, ino })),
      );
    const steps = 4 + Math.floor(rnd() * 5);
    for (let i = 0; i < steps; i++) {
      const files = entries();
      const free = dirs.flatMap((dir) =>
        names.filter((n) => h.live.inode(dir).entries?.has(n) !== true).map((name) => ({ dir, name })),
      );
      const r = rnd();
      if (r < 0.15 && free.length > 0) {
        const { dir, name } = pick(free);
        h.create(dir, name);
      } else if (r < 0.4 && files.length > 0) {
        const f = pick(files);
        const size = h.live.inode(f.ino).size;
        h.write(f.ino, Math.floor(rnd() * (size + 1)), pick(['xyz', 'w'.repeat(20)]));
      } else if (r < 0.47 && files.length > 0) {
        const f = pick(files);
        h.truncate(f.ino, Math.floor(rnd() * (h.live.inode(f.ino).size + 4)));
      } else if (r < 0.57 && files.length > 0) {
        const f = pick(files);
        const to = pick(dirs.flatMap((dir) => names.map((name) => ({ dir, name }))));
        h.rename(f.dir, f.name, to.dir, to.name);
      } else if (r < 0.62 && files.length > 0) {
        const f = pick(files);
        h.unlink(f.dir, f.name);
      } else if (r < 0.67 && files.length > 0 && free.length > 0) {
        const { dir, name } = pick(free);
        h.link(pick(files).ino, dir, name);
      } else if (r < 0.72 && files.length > 0) {
        const f = pick(files);
        h.chmod(f.ino, h.live.inode(f.ino).mode === 0o644 ? 0o600 : 0o644);
      } else if (r < 0.96) {
        const targets = [...files.map((f) => f.ino), ...dirs];
        const ino = pick(targets);
        if (rnd() < 0.5) h.fsync(ino);
        else h.fdatasync(ino);
      } else {
        h.sync();
      }
    }
    const expected = bruteForce(base, h.events.slice(eventsBefore), 8);
    const actual = h.journal.states({ from }).map(stateKey);
    assert.equal(new Set(actual).size, actual.length, `seed ${seed}: duplicates`);
    assert.deepEqual(sorted(actual), sorted([...expected]), `seed ${seed}`);
    // The most pessimistic state is one of them.
    assert.ok(expected.has(stateKey(h.journal.minimalState())), `seed ${seed}: minimal state`);
    // Compacting at every barrier changes nothing from the positions it keeps.
    const compacted = h.replayInto({ tearSize: 8, compactAfter: 0 });
    const at = Math.max(from, compacted.firstPosition);
    assert.deepEqual(
      sorted(compacted.states({ from: at }).map(stateKey)),
      sorted(h.journal.states({ from: at }).map(stateKey)),
      `seed ${seed}: compaction`,
    );
    assert.equal(
      stateKey(compacted.minimalState()),
      stateKey(h.journal.minimalState()),
      `seed ${seed}: compacted minimal state`,
    );
    compared += actual.length;
  }
  assert.ok(compared > 500);
});

// ---------------------------------------------------------------------------------------------- headlines

const OLD = 'O'.repeat(1000);
const NEW = 'N'.repeat(1500);

/** What a reader of `path` finds, in words: absent, old, new, empty, new[:n] (a torn prefix), other. */
function label(state: FsState, path: string): string {
  const c = text(state, path);
  if (c === undefined) return 'absent';
  if (c === OLD) return 'old';
  if (c === NEW) return 'new';
  if (c === '') return 'empty';
  if (NEW.startsWith(c)) return `new[:${c.length}]`;
  return `other(${c.length})`;
}
const labels = (states: FsState[], path: string): string[] => [...new Set(states.map((s) => label(s, path)))].sort();

test('headline 1: a naive in-place writer (truncate, write, no fsync) can leave the file empty or partial', () => {
  const h = new Harness();
  const f = h.durableFile('f', OLD);
  const from = h.journal.length;
  h.truncate(f, 0);
  h.write(f, 0, NEW);
  const states = h.journal.states({ from });
  assert.deepEqual(labels(states, 'f'), ['empty', 'new', 'new[:1024]', 'new[:512]', 'old']);
  assert.equal(states.length, 5);
});

test('headline 2: temp file + rename WITHOUT fsync can leave the target empty', () => {
  const h = new Harness();
  h.durableFile('f', OLD);
  const from = h.journal.length;
  const t = h.create(h.root, 'f.tmp');
  h.write(t, 0, NEW);
  h.rename(h.root, 'f.tmp', h.root, 'f');
  const states = h.journal.states({ from });
  // The rename survived, the data did not (or only part of it).
  assert.deepEqual(labels(states, 'f'), ['empty', 'new', 'new[:1024]', 'new[:512]', 'old']);
  // f=old with no temp file or a temp file empty/512/1024/new; f=empty/512/1024/new.
  assert.equal(states.length, 9);
});

test('headline 3: create temp, write, fsync temp, rename, fsync dir never leaves anything but old or new', () => {
  const h = new Harness();
  h.durableFile('f', OLD);
  const from = h.journal.length;
  const t = h.create(h.root, 'f.tmp');
  h.write(t, 0, NEW);
  h.fsync(t);
  h.rename(h.root, 'f.tmp', h.root, 'f');
  h.fsync(h.root);
  const states = h.journal.states({ from });
  assert.deepEqual(labels(states, 'f'), ['new', 'old']);
  // f=old with no temp file or a temp file empty/512/1024/new (crash before the temp fsync returned);
  // f=new. (f=old with the complete temp file is among the first five.)
  assert.equal(states.length, 6);
  assert.deepEqual(labels(states, 'f.tmp'), ['absent', 'empty', 'new', 'new[:1024]', 'new[:512]']);
  // Moments between barriers give nested sets of choices, each generated once: 6 candidates for 6 states.
  assert.equal(h.journal.states({ from, limit: 6 }).length, 6);
  assert.throws(() => h.journal.states({ from, limit: 5 }), /more than 5 candidate/);
  // Once the directory fsync is done, every state holds the new content (and no temp file).
  const after = h.journal.states({ from: h.journal.length });
  assert.deepEqual(
    after.map((s) => `${label(s, 'f')} ${label(s, 'f.tmp')}`),
    ['new absent'],
  );
});

test('headline 3, broken: without the fsync of the temp file the target can be empty even after the dir fsync', () => {
  const h = new Harness();
  h.durableFile('f', OLD);
  const from = h.journal.length;
  const t = h.create(h.root, 'f.tmp');
  h.write(t, 0, NEW);
  h.rename(h.root, 'f.tmp', h.root, 'f');
  h.fsync(h.root);
  assert.deepEqual(labels(h.journal.states({ from }), 'f'), ['empty', 'new', 'new[:1024]', 'new[:512]', 'old']);
  assert.deepEqual(labels(h.journal.states({ from: h.journal.length }), 'f'), [
    'empty',
    'new',
    'new[:1024]',
    'new[:512]',
  ]);
});
