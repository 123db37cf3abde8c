/**
 * The crash model seen through MemoryBackend syscalls: the three classic ways of replacing a file's
 * content, and what a power loss at any point could leave of each (docs/crash-model.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { O } from '../src/backend/flags.js';

const OLD = 'O'.repeat(1000);
const NEW = 'N'.repeat(1500);

/** A backend with a durable `/d/f` holding OLD. */
function setup(): MemoryBackend {
  const b = new MemoryBackend({ crashModel: true });
  b.mkdirSync('/d');
  write(b, '/d/f', OLD, O.WRONLY | O.CREAT | O.EXCL);
  b.syncAll();
  return b;
}

/** Opens `path` with `flags`, writes `content` in one write, and returns the still open descriptor. */
function writeOpen(b: MemoryBackend, path: string, content: string, flags: number): number {
  const fd = b.openSync(path, flags, 0o644);
  const buf = Buffer.from(content);
  assert.equal(b.writeSync(fd, buf, 0, buf.length, null), buf.length);
  return fd;
}
function write(b: MemoryBackend, path: string, content: string, flags: number): void {
  b.closeSync(writeOpen(b, path, content, flags));
}

/** What `path` holds in a crash state, in words: absent, old, new, empty, new[:n] (torn), other. */
function label(state: MemoryBackend, path: string): string {
  const c = state.tree()[path];
  if (c === undefined) return 'absent';
  if (typeof c !== 'string') return c.kind;
  if (c === OLD) return 'old';
  if (c === NEW) return 'new';
  if (c === '') return 'empty';
  if (NEW.startsWith(c)) return `new[:${c.length}]`;
  return `other(${c.length})`;
}
const labels = (states: MemoryBackend[], path: string): string[] =>
  [...new Set(states.map((s) => label(s, path)))].sort();

/** fsync(2) of a directory, through a descriptor opened O_RDONLY | O_DIRECTORY. */
function fsyncDir(b: MemoryBackend, path: string): void {
  const dfd = b.openSync(path, O.RDONLY | O.DIRECTORY);
  b.fsyncSync(dfd);
  b.closeSync(dfd);
}

test('naive in-place rewrite (O_TRUNC, write, no fsync): a crash can leave the file empty or partial', () => {
  const b = setup();
  const from = b.journalLength;
  write(b, '/d/f', NEW, O.WRONLY | O.TRUNC);
  const states = b.crashStates({ from });
  assert.deepEqual(labels(states, '/d/f'), ['empty', 'new', 'new[:1024]', 'new[:512]', 'old']);
  assert.equal(states.length, 5);
  assert.equal(label(b.crash(), '/d/f'), 'old'); // the pessimistic state: nothing since the sync
  // Even an fsync does not help while it is in flight: the truncate may be durable, the write not.
  const fd = b.openSync('/d/f', O.WRONLY | O.TRUNC);
  const buf = Buffer.from(OLD);
  b.writeSync(fd, buf, 0, buf.length, null);
  b.fsyncSync(fd);
  b.closeSync(fd);
  assert.ok(labels(b.crashStates({ from }), '/d/f').includes('empty'));
});

test('temp file + rename WITHOUT fsync: a crash can leave the target empty (the rename survived, the data did not)', () => {
  const b = setup();
  const from = b.journalLength;
  write(b, '/d/f.tmp', NEW, O.WRONLY | O.CREAT | O.EXCL);
  b.renameSync('/d/f.tmp', '/d/f');
  const states = b.crashStates({ from });
  assert.deepEqual(labels(states, '/d/f'), ['empty', 'new', 'new[:1024]', 'new[:512]', 'old']);
  assert.equal(states.length, 9);
  // Fsyncing the directory alone makes the rename durable, not the data: worse, the old content is gone.
  fsyncDir(b, '/d');
  assert.deepEqual(labels(b.crashStates({ from: b.journalLength }), '/d/f'), [
    'empty',
    'new',
    'new[:1024]',
    'new[:512]',
  ]);
  assert.equal(label(b.crash(), '/d/f'), 'empty');
});

test('create temp, write, fsync temp, rename over target, fsync dir: only the complete old or new content, then only new', () => {
  const b = setup();
  const from = b.journalLength;
  const fd = writeOpen(b, '/d/f.tmp', NEW, O.WRONLY | O.CREAT | O.EXCL);
  b.fsyncSync(fd);
  b.closeSync(fd);
  b.renameSync('/d/f.tmp', '/d/f');
  fsyncDir(b, '/d');
  const states = b.crashStates({ from });
  // The invariant, over every state a crash at any point could leave:
  for (const s of states) assert.ok(['old', 'new'].includes(label(s, '/d/f')), `/d/f is ${label(s, '/d/f')}`);
  assert.deepEqual(labels(states, '/d/f'), ['new', 'old']);
  assert.equal(states.length, 6); // f=old with no temp file or a temp file empty/512/1024/new; f=new
  // Once the directory fsync has returned, every crash state holds the new content, and no temp file.
  const after = b.crashStates({ from: b.journalLength });
  assert.deepEqual(
    after.map((s) => s.tree()),
    [{ '/d': { kind: 'dir' }, '/d/f': NEW }],
  );
  assert.deepEqual(b.crash().tree(), { '/d': { kind: 'dir' }, '/d/f': NEW });
});

test('a crash state is a working backend with no descriptors, and setup that was never synced can be lost', () => {
  const b = new MemoryBackend({ crashModel: true });
  b.mkdirSync('/d');
  write(b, '/d/f', 'hello', O.WRONLY | O.CREAT);
  const states = b.crashStates();
  assert.deepEqual(states.map((s) => JSON.stringify(s.tree())).sort(), [
    '{"/d":{"kind":"dir"},"/d/f":""}',
    '{"/d":{"kind":"dir"},"/d/f":"hello"}',
    '{"/d":{"kind":"dir"}}',
    '{}',
  ]);
  const s = states.find((x) => label(x, '/d/f') !== 'absent')!;
  assert.deepEqual(s.descriptors(), []);
  write(s, '/d/g', 'more', O.WRONLY | O.CREAT);
  assert.equal(s.tree()['/d/g'], 'more');
  assert.deepEqual(b.crash().tree(), {});
});

test('a write through an O_SYNC or O_DSYNC descriptor is durable when it returns, as if fsync followed it', () => {
  for (const flag of [O.SYNC, O.DSYNC]) {
    const b = setup();
    const fd = b.openSync('/d/f', O.WRONLY | flag);
    const from = b.journalLength;
    const buf = Buffer.from(NEW);
    b.writeSync(fd, buf, 0, buf.length, 0);
    const after = b.journalLength;
    b.closeSync(fd);
    assert.deepEqual(
      labels(b.crashStates({ from: after }), '/d/f'),
      ['new'],
      `flag ${flag}: nothing but the new content once the write returned`,
    );
    assert.ok(
      labels(b.crashStates({ from }), '/d/f').includes('old'),
      'before it returned, the old content could survive',
    );
  }
  // Without either flag the same write is not durable.
  const b = setup();
  const fd = b.openSync('/d/f', O.WRONLY);
  b.writeSync(fd, Buffer.from(NEW), 0, NEW.length, 0);
  assert.ok(labels(b.crashStates({ from: b.journalLength }), '/d/f').includes('old'));
  b.closeSync(fd);
});
