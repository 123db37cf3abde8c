/**
 * The facade's FileHandle closed while an operation is in flight (issue 13 item 1): the operation keeps
 * working on its own file and never reads from or writes into a file opened meanwhile — even when that
 * open would get the same descriptor number. Each case runs on the OS backend (real files, real
 * descriptors) and on the in-memory backend, with a control: a naive handle holding a bare number, as
 * the facade's FileHandle did, reads the other file's bytes, writes into it, or fails with EBADF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Backend } from '../src/backend/backend.js';
import { O } from '../src/backend/flags.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { FaultyBackend } from '../src/backend/faulty-backend.js';
import { createFs, type FsFacade } from '../src/facade/create-fs.js';

const SIZE = 1 << 20; // 1 MiB: many chunked reads or writes, each a separate backend call
const CHUNK = 16 * 1024;

const tmp = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-facade-inflight-'));
test.after(() => {
  nodeFs.rmSync(tmp, { recursive: true, force: true });
});
let serial = 0;

interface Setup {
  readonly backend: Backend;
  readonly fs: FsFacade;
  readonly dir: string;
  /** Whether descriptor numbers are deterministic (lowest free, nothing else opening). */
  readonly exactNumbers: boolean;
}

const SETUPS: readonly { name: string; make: () => Setup }[] = [
  {
    name: 'os',
    make: () => {
      const dir = path.join(tmp, String(++serial));
      nodeFs.mkdirSync(dir);
      const backend = new OsBackend();
      return { backend, fs: createFs(backend), dir, exactNumbers: false };
    },
  },
  {
    name: 'memory',
    make: () => {
      const backend = new MemoryBackend();
      const fs = createFs(backend);
      fs.mkdirSync('/d');
      return { backend, fs, dir: '/d', exactNumbers: true };
    },
  },
];

function each(name: string, body: (s: Setup) => Promise<void>): void {
  for (const s of SETUPS) test(`[${s.name}] ${name}`, () => body(s.make()));
}

const contentA = Buffer.alloc(SIZE, 'a');
const contentB = Buffer.alloc(SIZE, 'b');

/** The bare-number handle the facade used to have: close() closes at once, in-flight calls or not. */
class NaiveHandle {
  constructor(
    private readonly b: Backend,
    readonly fd: number,
  ) {}

  async readFile(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let pos = 0; ;) {
      const buf = Buffer.alloc(CHUNK);
      const n = await this.b.read(this.fd, buf, 0, CHUNK, pos);
      if (n === 0) return Buffer.concat(parts);
      parts.push(buf.subarray(0, n));
      pos += n;
    }
  }

  async writeFile(data: Buffer): Promise<void> {
    for (let pos = 0; pos < data.byteLength;)
      pos += await this.b.write(this.fd, data, pos, Math.min(CHUNK, data.byteLength - pos), pos);
  }

  close(): Promise<void> {
    return this.b.close(this.fd);
  }
}

/**
 * Closes the naive handle and opens another file as soon as the number is free: in memory the close
 * happens within the call (so the open follows it at once, before the in-flight operation's next step);
 * on the OS the close runs on libuv's pool, so the open waits for it.
 */
async function closeThenOpen(naive: NaiveHandle, open: () => number, closesAtOnce: boolean): Promise<number> {
  const closing = naive.close();
  if (closesAtOnce) {
    const n = open();
    await closing;
    return n;
  }
  await closing;
  return open();
}

/** What a promise settled with: its value, or its error. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: NodeJS.ErrnoException }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as NodeJS.ErrnoException }),
  );
}

each(
  'FileHandle.close() during readFile(): the read finishes on its own file, never on one that reuses the number',
  async ({ backend, fs, dir, exactNumbers }) => {
    const a = `${dir}/a`;
    const b = `${dir}/b`;
    fs.writeFileSync(a, contentA);
    fs.writeFileSync(b, contentB);

    const h = await fs.promises.open(a, 'r');
    const n = h.fd;
    const reading = settle(h.readFile());
    const closing = h.close();
    const refusing = settle(h.read(Buffer.alloc(1)));
    // Opened while the read is in flight: the number still names file a, so this open gets another.
    const other = fs.openSync(b, 'r+');
    const got = await reading;
    await closing;
    fs.closeSync(other);
    assert.ok(got.ok, `readFile failed: ${got.ok ? '' : String(got.error)}`);
    assert.ok(got.value.equals(contentA), 'readFile returned file a, whole');
    assert.ok(fs.readFileSync(b).equals(contentB), 'file b untouched');
    assert.notEqual(other, n, 'the number was still held while the read was in flight');
    assert.equal(h.fd, -1);
    const refused = await refusing;
    assert.ok(!refused.ok && refused.error.code === 'EBADF', 'no new operation starts once close() was called');
    if (exactNumbers) {
      // Once the read is done the number is free again, and the next open gets it.
      const again = fs.openSync(b, 'r');
      assert.equal(again, n);
      fs.closeSync(again);
    }

    // Control: the bare-number handle. Its close frees the number at once; the other open takes it.
    const naive = new NaiveHandle(backend, await backend.open(a, O.RDONLY));
    const naiveReading = settle(naive.readFile());
    const taken = await closeThenOpen(naive, () => backend.openSync(b, O.RDWR), exactNumbers);
    const outcome = await naiveReading;
    backend.closeSync(taken);
    if (outcome.ok) {
      assert.ok(!outcome.value.equals(contentA), 'the naive read cannot have read file a whole');
      assert.ok(outcome.value.includes('b'), "the naive read read file b's bytes");
    } else {
      assert.equal(outcome.error.code, 'EBADF', String(outcome.error));
    }
    if (exactNumbers) {
      assert.equal(taken, naive.fd, "the naive handle's number was reused");
      assert.ok(outcome.ok && outcome.value.includes('b'), 'in memory the naive read deterministically reads file b');
    }
  },
);

each(
  'FileHandle.close() during writeFile(): the write finishes into its own file, never into one that reuses the number',
  async (setup) => {
    // Short writes of at most CHUNK bytes, so that writeFile is many backend calls on both backends.
    const backend = new FaultyBackend(setup.backend, [{ syscall: 'write', shortWrite: CHUNK }]);
    const fs = createFs(backend);
    const { dir, exactNumbers } = setup;
    const a = `${dir}/a`;
    const b = `${dir}/b`;
    fs.writeFileSync(b, contentB);

    const h = await fs.promises.open(a, 'w');
    const writing = settle(h.writeFile(contentA));
    const closing = h.close();
    const other = fs.openSync(b, 'r+');
    const got = await writing;
    await closing;
    fs.closeSync(other);
    assert.ok(got.ok, `writeFile failed: ${got.ok ? '' : String(got.error)}`);
    assert.ok(fs.readFileSync(a).equals(contentA), 'file a has everything written');
    assert.ok(fs.readFileSync(b).equals(contentB), 'file b untouched');

    // Control: the bare-number handle writes the rest into whatever file gets its number.
    fs.writeFileSync(b, contentB);
    const naive = new NaiveHandle(backend, await backend.open(a, O.WRONLY | O.TRUNC));
    const naiveWriting = settle(naive.writeFile(contentA));
    const taken = await closeThenOpen(naive, () => backend.openSync(b, O.RDWR), exactNumbers);
    const outcome = await naiveWriting;
    backend.closeSync(taken);
    const bNow = fs.readFileSync(b);
    assert.ok(!bNow.equals(contentB) || !outcome.ok, 'the naive write either landed in file b or failed half-way');
    if (!outcome.ok) assert.equal(outcome.error.code, 'EBADF', String(outcome.error));
    if (exactNumbers) {
      assert.equal(taken, naive.fd, "the naive handle's number was reused");
      assert.ok(bNow.includes('a'), 'in memory the naive write deterministically wrote into file b');
    }
  },
);

each(
  'callback and sync forms: fs.close(fd) during fs.read(fd): the backend descriptor outlives the read',
  async ({ fs, dir }) => {
    const a = `${dir}/a`;
    const b = `${dir}/b`;
    fs.writeFileSync(a, contentA);
    fs.writeFileSync(b, contentB);
    const fd = fs.openSync(a, 'r');
    const buf = Buffer.alloc(SIZE);
    const read = new Promise<number>((resolve, reject) => {
      fs.read(fd, buf, 0, SIZE, 0, (err, n) => {
        if (err === null) resolve(n);
        else reject(err);
      });
    });
    fs.closeSync(fd);
    assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' }, 'the number left the table at once');
    const other = fs.openSync(b, 'r');
    assert.equal(await read, SIZE);
    assert.ok(buf.equals(contentA), 'the read read file a');
    fs.closeSync(other);
  },
);
