/**
 * The lifetime of descriptors and open file descriptions, on the memory and the OS backend:
 * - a close while a promise call is in flight: the number leaves the table at once, the backend
 *   descriptor closes after the call, a new open may take the number, and the call still reads the file
 *   its descriptor was opened on (explicit cases, then a fast-check property over random interleavings);
 * - the two forms of every Descriptor and FileTable call agree on a closed descriptor: the same code and
 *   syscall, the promise form rejecting rather than throwing (issue 13.2's drift).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Backend } from '../src/backend/backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { FsError } from '../src/errors/fs-error.js';
import { Descriptor } from '../src/table/descriptor.js';
import { FileTable } from '../src/table/file-table.js';
import { openFds } from './support/proc-fds.js';

const STRESS = process.env['FDKEEPER_STRESS'] !== undefined && process.env['FDKEEPER_STRESS'] !== '';

/** A backend with files `f0`…`f{n-1}` whose bytes are all the digit of their name; and how to clean up. */
interface World {
  readonly backend: Backend;
  readonly path: (i: number) => string;
  /** The backend descriptors open now (memory: its own list; OS: the process's, minus those open before). */
  readonly backendFds: () => number[];
  readonly dispose: () => void;
}

function memoryWorld(files: number): World {
  const backend = new MemoryBackend();
  for (let i = 0; i < files; i++) {
    const fd = backend.openSync(`/f${i}`, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    backend.writeSync(fd, Buffer.from(String(i).repeat(64)), 0, 64, null);
    backend.closeSync(fd);
  }
  return { backend, path: (i) => `/f${i}`, backendFds: () => backend.descriptors(), dispose: () => undefined };
}

function osWorld(files: number): World {
  const before = openFds();
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-lifetime-'));
  for (let i = 0; i < files; i++) fs.writeFileSync(join(dir, `f${i}`), String(i).repeat(64));
  return {
    backend: new OsBackend(),
    path: (i) => join(dir, `f${i}`),
    backendFds: () => openFds().filter((n) => !before.includes(n)),
    dispose: () => {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const WORLDS: readonly [string, (files: number) => World][] = [
  ['MemoryBackend', memoryWorld],
  ['OsBackend', osWorld],
];

for (const [name, makeWorld] of WORLDS) {
  describe(`in-flight calls and close, ${name}`, () => {
    test('close during a promise read: the number leaves at once, the backend descriptor closes after the read', async () => {
      const w = makeWorld(2);
      try {
        const table = new FileTable({ backend: w.backend });
        const d = table.openDescriptorSync(w.path(0), 'r');
        const n = d.number;
        const buf = Buffer.alloc(4);
        let readDone = false;
        const reading = d.read(buf).then((k) => {
          readDone = true;
          return k;
        });
        const closing = d.close().then(() => `closed with the read's bytes in: ${buf.toString()}`);
        assert.equal(table.has(n), false, 'the number left the table at once');
        assert.throws(() => table.descriptor(n), { code: 'EBADF' });
        assert.throws(
          () => d.readSync(Buffer.alloc(1)),
          { code: 'EBADF', syscall: 'read' },
          'the closed Descriptor refuses new calls',
        );
        assert.ok(w.backendFds().includes(n), 'the backend descriptor is still open under the read');
        assert.equal(readDone, false);
        assert.deepEqual(
          await Promise.all([reading, closing]),
          [4, "closed with the read's bytes in: 0000"],
          'the backend close came after the read',
        );
        assert.equal(buf.toString(), '0000');
        assert.deepEqual(w.backendFds(), [], 'and then the backend descriptor was closed');
        assert.equal(table.heldCount, 0);
      } finally {
        w.dispose();
      }
    });

    test('a new open takes the number of a closed duplicate while a read through it is in flight; the read still reads the old file', async () => {
      const w = makeWorld(2);
      try {
        const table = new FileTable({ backend: w.backend });
        const d = table.openDescriptorSync(w.path(0), 'r');
        const dup = table.dupDescriptor(d);
        const buf = Buffer.alloc(4);
        const reading = dup.read(buf);
        const closing = dup.close();
        const other = table.openDescriptorSync(w.path(1), 'r');
        assert.equal(other.number, dup.number, "the closed duplicate's number was free for the next open at once");
        assert.equal(await reading, 4);
        await closing;
        assert.equal(buf.toString(), '0000', 'the in-flight read read the file its descriptor was opened on');
        const again = Buffer.alloc(4);
        other.readSync(again);
        assert.equal(again.toString(), '1111', 'and the new descriptor reads its own');
        d.closeSync();
        other.closeSync();
        assert.deepEqual(w.backendFds(), []);
      } finally {
        w.dispose();
      }
      // Control: with bare numbers the same sequence reads the wrong file (what the table prevents).
      const c = makeWorld(2);
      try {
        const b = c.backend;
        const fd = b.openSync(c.path(0), 0);
        b.closeSync(fd);
        const reused = b.openSync(c.path(1), 0);
        assert.equal(reused, fd, 'the kernel hands the freed number to the next open');
        const wrong = Buffer.alloc(4);
        await b.read(fd, wrong, 0, 4, 0);
        assert.equal(wrong.toString(), '1111', 'a stale number reads whatever took it');
        b.closeSync(reused);
      } finally {
        c.dispose();
      }
    });
  });
}

// ------------------------------------------------------------------ property

type Op =
  | { readonly kind: 'open'; readonly file: number }
  | { readonly kind: 'dup' | 'read' | 'closeSync' | 'close'; readonly which: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('open' as const), file: fc.integer({ min: 0, max: 3 }) }),
  fc.record({
    kind: fc.constantFrom('dup' as const, 'read' as const, 'read' as const, 'closeSync' as const, 'close' as const),
    which: fc.nat(20),
  }),
);

/**
 * Runs `ops` without awaiting anything in between (every promise read stays in flight to the end), then
 * checks: each read got bytes of its descriptor's own file; every close settled after the reads issued
 * before it on the same description; the table's numbers were the open Descriptors' after every step;
 * and nothing is left open in the table or the backend.
 */
async function runOps(w: World, ops: readonly Op[]): Promise<void> {
  const table = new FileTable({ backend: w.backend });
  const live: { d: Descriptor; file: number }[] = [];
  const pending: Promise<void>[] = [];
  for (const op of ops) {
    if (op.kind === 'open') {
      live.push({ d: table.openDescriptorSync(w.path(op.file), 'r'), file: op.file });
    } else if (live.length > 0) {
      const i = op.which % live.length;
      const entry = live[i]!;
      if (op.kind === 'dup') {
        live.push({ d: table.dupDescriptor(entry.d), file: entry.file });
      } else if (op.kind === 'read') {
        const buf = Buffer.alloc(8);
        pending.push(
          entry.d.read(buf).then((n) => {
            const got = buf.subarray(0, n).toString();
            assert.equal(got, String(entry.file).repeat(n), `a read on fd ${entry.d.number} got bytes of another file`);
          }),
        );
      } else {
        live.splice(i, 1);
        if (op.kind === 'closeSync') entry.d.closeSync();
        else pending.push(entry.d.close());
      }
    }
    assert.deepEqual(
      table
        .descriptors()
        .map((d) => d.number)
        .sort((a, b) => a - b),
      live.map((e) => e.d.number).sort((a, b) => a - b),
      'the table holds exactly the open Descriptors',
    );
  }
  await Promise.all(pending);
  for (const e of live) e.d.closeSync();
  assert.equal(table.heldCount, 0, 'the table holds nothing once everything is closed');
  assert.deepEqual(w.backendFds(), [], 'no backend descriptor leaked');
}

for (const [name, makeWorld] of WORLDS) {
  test(`property, ${name}: closes and opens among in-flight reads never cross files or leak`, async () => {
    const runs = (name === 'OsBackend' ? 60 : 300) * (STRESS ? 20 : 1);
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { maxLength: 40 }), async (ops) => {
        const w = makeWorld(4);
        try {
          await runOps(w, ops);
        } finally {
          w.dispose();
        }
      }),
      { numRuns: runs },
    );
  });
}

// ------------------------------------------------------------------ the two forms on a closed descriptor

/** Arguments for every twinned Descriptor call (by its promise name). */
const DESCRIPTOR_ARGS: Record<string, unknown[]> = {
  read: [Buffer.alloc(4)],
  write: [Buffer.from('x')],
  stat: [],
  truncate: [0],
  sync: [],
  datasync: [],
  chmod: [0o644],
  chown: [0, 0],
};

/** The FileTable number-API twins: the Descriptor ones under their syscall names, and close. */
const TABLE_NAMES: Record<string, string> = {
  read: 'read',
  write: 'write',
  stat: 'fstat',
  truncate: 'ftruncate',
  sync: 'fsync',
  datasync: 'fdatasync',
};
const TABLE_ARGS: Record<string, unknown[]> = { close: [] };
// chmod/chown are Descriptor-only (the number API has no fchmod/fchown).
for (const [name, args] of Object.entries(DESCRIPTOR_ARGS))
  if (TABLE_NAMES[name] !== undefined) TABLE_ARGS[TABLE_NAMES[name]] = args;

/** The promise names `x` of an object's methods that have an `xSync` twin. */
function twins(proto: object): string[] {
  const names = Object.getOwnPropertyNames(proto);
  return names
    .filter((n) => n.endsWith('Sync') && names.includes(n.slice(0, -4)))
    .map((n) => n.slice(0, -4))
    .sort();
}

async function bothForms(target: object, name: string, args: readonly unknown[]): Promise<[FsError, FsError]> {
  const calls = target as Record<string, (...a: unknown[]) => unknown>;
  let syncError: unknown;
  try {
    calls[`${name}Sync`]!(...args);
  } catch (e) {
    syncError = e;
  }
  let p: unknown;
  assert.doesNotThrow(() => (p = calls[name]!(...args)), `${name}() threw instead of rejecting`);
  assert.ok(p instanceof Promise, `${name}() returns a promise`);
  const asyncError = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(syncError instanceof FsError, `${name}Sync() failed with an FsError`);
  assert.ok(asyncError instanceof FsError, `${name}() rejected with an FsError`);
  return [syncError, asyncError];
}

describe('sync and promise forms agree on a closed descriptor', () => {
  test('every Descriptor twin: the same code, syscall, fd and path', async () => {
    assert.deepEqual(
      twins(Descriptor.prototype).filter((n) => n !== 'close'),
      Object.keys(DESCRIPTOR_ARGS).sort(),
      'every twin has arguments here',
    );
    const table = new FileTable({ backend: memoryWorld(1).backend });
    const d = table.openDescriptorSync('/f0', 'r+');
    d.closeSync();
    for (const [name, args] of Object.entries(DESCRIPTOR_ARGS)) {
      const [s, a] = await bothForms(d, name, args);
      assert.equal(s.code, 'EBADF', `${name}Sync: ${s.message}`);
      assert.deepEqual(
        [a.code, a.syscall, a.fd, a.path],
        [s.code, s.syscall, s.fd, s.path],
        `${name}: the forms disagree (${s.message} / ${a.message})`,
      );
    }
    // Closing again is a no-op in both forms.
    d.closeSync();
    await d.close();
  });

  test('every FileTable number-API twin on a closed number: the same code, syscall and fd', async () => {
    const tableTwins = twins(FileTable.prototype).filter((n) => n in TABLE_ARGS);
    assert.deepEqual(tableTwins, Object.keys(TABLE_ARGS).sort());
    const table = new FileTable({ backend: memoryWorld(1).backend });
    const n = table.openSync('/f0', 'r+');
    table.closeSync(n);
    for (const [name, args] of Object.entries(TABLE_ARGS)) {
      const [s, a] = await bothForms(table, name, [n, ...args]);
      assert.equal(s.code, 'EBADF');
      assert.deepEqual([a.code, a.syscall, a.fd], [s.code, s.syscall, s.fd], name);
    }
  });

  test("a revoked description (closed behind the table's back) fails alike in both forms", async () => {
    const w = memoryWorld(1);
    const table = new FileTable({ backend: w.backend });
    const d = table.openDescriptorSync('/f0', 'r+');
    w.backend.closeSync(d.number); // behind the table's back
    await bothForms(d, 'stat', []); // the first call finds out (EBADF from the backend) and revokes it
    for (const [name, args] of Object.entries(DESCRIPTOR_ARGS)) {
      const [s, a] = await bothForms(d, name, args);
      assert.deepEqual([a.code, a.syscall, a.detail], [s.code, s.syscall, s.detail], name);
      assert.match(s.message, /closed outside fdkeeper/);
    }
    d.closeSync();
  });
});
