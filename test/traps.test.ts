// One test per trap fdkeeper answers: each reproduces the trap with plain node:fs (asserting that the
// silent failure or the leak really happens) and then shows fdkeeper preventing it.
//
// The child-process traps (finalizer leak, EMFILE burst) reuse the demo's row code, which runs the
// built library (dist/); `npm test` builds first. The GC test runs src/ through tsx in its child.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FsError } from '../src/errors/fs-error.js';
import { FileTable } from '../src/table/file-table.js';
import { open, openSync } from '../src/io/open.js';
import { builtLibraryUrl, makeTempDir } from '../src/cli/demo/index.js';
import { childPath } from '../src/cli/demo/child.js';
import type { DemoContext } from '../src/cli/demo/types.js';
import { fdkeeperFinalizerLeak, LEAK_BUDGET, plainFinalizerLeak } from '../src/cli/demo/finalizer-leak.js';
import { BUDGET_MAX_OPEN, BUDGET_OPENS, fdkeeperEmfileBurst, plainEmfileBurst } from '../src/cli/demo/emfile-budget.js';

const linux = process.platform === 'linux';
const root = makeTempDir('fdkeeper-traps-');
test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

let dirs = 0;
/** A fresh directory under the test's temp dir. */
function freshDir(name: string): string {
  const dir = path.join(root, `${String(++dirs)}-${name}`);
  fs.mkdirSync(dir);
  return dir;
}

/** A demo context in a fresh directory, with children importing the built library. */
function demoContext(name: string): DemoContext {
  return { dir: freshDir(name), fdkeeperUrl: builtLibraryUrl(), node: process.execPath };
}

/** The line number of the caller's call to this function (the stack is source-mapped by tsx, as open sites are). */
function lineHere(): number {
  const frame = (new Error().stack ?? '').split('\n')[2] ?? '';
  const m = /:(\d+):\d+\)?$/.exec(frame);
  assert.ok(m !== null, `no line in stack frame ${frame}`);
  return Number(m[1]);
}

/** `s` with regular-expression metacharacters escaped. */
function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The 1-based number of the line of `file` that contains `marker`. */
function markedLine(file: string, marker: string): number {
  const index = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(marker));
  assert.ok(index >= 0, `${marker} not in ${file}`);
  return index + 1;
}

/** Where /proc says descriptor `fd` points, or null if it is not open. */
function procLink(fd: number): string | null {
  try {
    return fs.readlinkSync(`/proc/self/fd/${String(fd)}`);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------- (1)

test('closed behind your back: plain node:fs writes into whatever reused the number; fdkeeper fails with EBADF naming both sites', () => {
  const dir = freshDir('closed');
  const BYTES = 'borrower: a log line\n';

  // Plain node:fs. Nothing asynchronous runs between the close and the reopen, so the kernel's
  // lowest-free rule hands the other open the very number the borrower still holds.
  {
    const ownerPath = path.join(dir, 'plain-owner.log');
    const otherPath = path.join(dir, 'plain-other.log');
    const ownerFd = fs.openSync(ownerPath, 'w');
    const borrowed = ownerFd;
    fs.closeSync(ownerFd);
    const otherFd = fs.openSync(otherPath, 'w');
    try {
      // Only write through the stale number when it names our own file: never scribble on the runner's.
      assert.equal(otherFd, borrowed, 'the kernel did not reuse the number; the trap cannot be shown');
      const written = fs.writeSync(borrowed, BYTES); // no error...
      assert.equal(written, BYTES.length);
    } finally {
      fs.closeSync(otherFd);
    }
    assert.equal(fs.readFileSync(otherPath, 'utf8'), BYTES, '...and the bytes silently landed in the other file');
    assert.equal(fs.readFileSync(ownerPath, 'utf8'), '');
  }

  // fdkeeper: the owner's RawFile closes; the borrower holds a borrow() view, not the number.
  {
    const table = new FileTable({ openSites: 'always' });
    const ownerPath = path.join(dir, 'fdkeeper-owner.log');
    const otherPath = path.join(dir, 'fdkeeper-other.log');
    const openLine = lineHere() + 1; // the next line opens
    const owner = openSync(ownerPath, 'wb', { table, buffering: 0 });
    const view = owner.borrow();
    const number = owner.descriptor.number;
    const closeLine = lineHere() + 1; // the next line closes
    owner.closeSync();
    const otherFd = fs.openSync(otherPath, 'w');
    try {
      assert.equal(otherFd, number, 'the number was reused by the other open');
      const thisFile = escapeRe(path.basename(import.meta.filename));
      assert.throws(
        () => view.writeSync(Buffer.from(BYTES)),
        (e: unknown) => {
          assert.ok(e instanceof FsError);
          assert.equal(e.code, 'EBADF');
          assert.equal(e.syscall, 'write');
          assert.equal(e.fd, number);
          assert.equal(e.path, ownerPath);
          assert.match(e.openedAt ?? '', new RegExp(`\\(\\S*/${thisFile}:${String(openLine)}:\\d+\\)$`));
          assert.match(e.closedAt ?? '', new RegExp(`\\(\\S*/${thisFile}:${String(closeLine)}:\\d+\\)$`));
          assert.ok(
            e.message.includes(`opened at ${e.openedAt ?? '?'}`) &&
              e.message.includes(`closed at ${e.closedAt ?? '?'}`),
            e.message,
          );
          return true;
        },
      );
      // A Descriptor held directly fails the same way.
      assert.throws(() => owner.descriptor.writeSync(Buffer.from(BYTES)), { code: 'EBADF' });
    } finally {
      fs.closeSync(otherFd);
      view.closeSync();
    }
    assert.equal(fs.readFileSync(otherPath, 'utf8'), '', 'the other file is untouched');
    assert.equal(fs.readFileSync(ownerPath, 'utf8'), '');
    assert.equal(table.size, 0);
    assert.equal(table.heldCount, 0);
  }
});

// ---------------------------------------------------------------------------------------------- (2)

test("finalizer leak: plain node:fs dies with EMFILE blaming nobody; fdkeeper's budget fails at once naming the leaking line", async () => {
  const ctx = demoContext('leak');

  const plain = await plainFinalizerLeak(ctx);
  assert.equal(plain.exitCode, 1, `the plain child died (${plain.exit})`);
  assert.equal(plain.code, 'EMFILE');
  assert.match(plain.stderr, /EMFILE: too many open files/);
  assert.ok(plain.leaked > 20 && plain.leaked < 64, `it leaked ${String(plain.leaked)} FileHandles before dying`);
  // The error only names the unlucky call that opened next (readConfig), not the code holding the descriptors.
  assert.ok(plain.stack.includes('readConfig'), plain.stack);
  assert.equal(plain.namesLeaker, false);
  assert.ok(!plain.stderr.includes('leakyOpen') && !plain.message.includes('leakyOpen'));

  const fk = await fdkeeperFinalizerLeak(ctx);
  assert.equal(fk.exitCode, 0, `the fdkeeper child survived (${fk.exit})`);
  assert.equal(fk.leaked, LEAK_BUDGET, 'exactly the budget was opened before the refusal');
  assert.ok(fk.error !== null);
  assert.equal(fk.error.name, 'FsError');
  assert.equal(fk.error.code, 'EMFILE');
  const script = childPath('fdkeeper-leak');
  const leakLine = markedLine(script, '// @leak');
  assert.ok(fk.error.message.includes(`fd budget of ${String(LEAK_BUDGET)} exhausted`), fk.error.message);
  assert.ok(
    fk.error.message.includes(`leakyOpen (${script}:${String(leakLine)}:`),
    `the EMFILE names the leaking function and file:line: ${fk.error.message}`,
  );
  assert.ok(fk.failMs !== null && fk.failMs < 1000, 'the refusal is immediate');
  // The leak report groups the 40 handles by open site; the recorded ones point at the same line.
  assert.match(fk.leakReport, /^fdkeeper: 40 descriptors still open, from \d+ open sites?$/m);
  assert.match(fk.leakReport, new RegExp(`\\d+ × leakyOpen \\(${escapeRe(script)}:${String(leakLine)}:\\d+\\)`));
  assert.equal(fk.openAtFailure, LEAK_BUDGET);
  assert.equal(fk.sizeAfter, 0);
  assert.equal(fk.heldAfter, 0);
});

test(
  'finalizer leak with the GC: FDKEEPER_UNCLOSED names the path and open site; an escaped number stays open, the other is closed',
  { skip: linux ? false : 'needs /proc/self/fd' },
  async () => {
    const dir = freshDir('gc');
    const escapedPath = path.join(dir, 'escaped.txt');
    const droppedPath = path.join(dir, 'dropped.txt');
    const script = path.join(dir, 'gc-child.mjs');
    const srcUrl = pathToFileURL(path.resolve(import.meta.dirname, '../src/index.ts')).href;
    fs.writeFileSync(
      script,
      `import { readlinkSync, writeSync } from 'node:fs';
import { FileTable, open } from ${JSON.stringify(srcUrl)};
import { UNCLOSED_WARNING } from ${JSON.stringify(new URL('diagnostics/unclosed-watch.ts', srcUrl).href)};
const [escapedPath, droppedPath] = process.argv.slice(2);
const table = new FileTable({ openSites: 'always' });
const warnings = [];
process.on('warning', (w) => { if (w.code === UNCLOSED_WARNING) warnings.push({ name: w.name, message: w.message, detail: w.detail ?? null }); });
const link = (fd) => { try { return readlinkSync('/proc/self/fd/' + fd); } catch { return null; } };

async function openEscaped() {
  const f = await open(escapedPath, 'w', { table }); // @escaped
  return f.fileno(); // the number escapes: only an explicit close may close it now
}
async function openDropped() {
  const f = await open(droppedPath, 'w', { table }); // @dropped
  f.write('buffered, never flushed');
  return table.descriptors().find((d) => d.path === droppedPath).number; // read without fileno()
}

const escapedFd = await openEscaped();
const droppedFd = await openDropped();
const before = { escaped: link(escapedFd), dropped: link(droppedFd) };
for (let i = 0; i < 20 && warnings.length < 2; i++) {
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 5));
}
writeSync(1, 'RESULT ' + JSON.stringify({ escapedFd, droppedFd, before, after: { escaped: link(escapedFd), dropped: link(droppedFd) }, warnings, open: table.descriptors().map((d) => d.number) }) + '\\n');
`,
    );
    // NODE_OPTIONS (with --import tsx) is inherited, so the child can import src/*.ts.
    const child = spawn(process.execPath, ['--expose-gc', script, escapedPath, droppedPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line !== undefined, `no result; stderr:\n${stderr}`);
    const r = JSON.parse(line.slice('RESULT '.length)) as {
      escapedFd: number;
      droppedFd: number;
      before: { escaped: string | null; dropped: string | null };
      after: { escaped: string | null; dropped: string | null };
      warnings: { name: string; message: string; detail: string | null }[];
      open: number[];
    };

    assert.equal(r.before.escaped, escapedPath);
    assert.equal(r.before.dropped, droppedPath);
    assert.equal(r.warnings.length, 2, `two FDKEEPER_UNCLOSED warnings: ${JSON.stringify(r.warnings)}`);
    const escapedLine = markedLine(script, '// @escaped');
    const droppedLine = markedLine(script, '// @dropped');
    const dropped = r.warnings.find((w) => w.message.includes(droppedPath));
    const escaped = r.warnings.find((w) => w.message.includes(escapedPath));
    assert.ok(dropped !== undefined && escaped !== undefined, JSON.stringify(r.warnings));
    assert.equal(dropped.name, 'ResourceWarning');
    assert.ok(dropped.message.includes(`file '${droppedPath}' (fd ${String(r.droppedFd)}`), dropped.message);
    assert.ok(dropped.message.includes(`opened at openDropped (${script}:${String(droppedLine)}:`), dropped.message);
    assert.match(dropped.message, /fdkeeper closed it/);
    assert.ok(
      dropped.detail?.includes(`at openDropped (${script}:${String(droppedLine)}:`),
      'the warning detail is the open-site stack',
    );
    assert.ok(escaped.message.includes(`opened at openEscaped (${script}:${String(escapedLine)}:`), escaped.message);
    assert.match(escaped.message, /escaped via fileno\(\), so it was left open/);

    // The escaped number is still open on its file (in /proc/self/fd and in the table); the other was closed,
    // after its buffered text was flushed.
    assert.equal(r.after.escaped, escapedPath);
    assert.deepEqual(r.open, [r.escapedFd]);
    assert.notEqual(r.after.dropped, droppedPath);
    assert.equal(fs.readFileSync(droppedPath, 'utf8'), 'buffered, never flushed');
  },
);

// ---------------------------------------------------------------------------------------------- (3)

test('duplicated descriptors: the plain reopen workaround loses data; table.dup, dup2 and RawFile.dup share one offset', () => {
  const dir = freshDir('dup');

  // Plain node:fs has no dup(2); the usual workaround opens the file again, with an offset of its own.
  {
    assert.equal('dup' in fs, false);
    const p = path.join(dir, 'plain.log');
    const fd = fs.openSync(p, 'w');
    const copy = fs.openSync(linux ? `/proc/self/fd/${String(fd)}` : p, fs.constants.O_WRONLY);
    try {
      fs.writeSync(fd, 'first\n');
      fs.writeSync(copy, 'second\n');
    } finally {
      fs.closeSync(copy);
      fs.closeSync(fd);
    }
    assert.equal(fs.readFileSync(p, 'utf8'), 'second\n', 'the second writer overwrote the first: "first" is lost');
  }

  const table = new FileTable();
  // table.dup and table.dup2: one open file description, so one offset.
  {
    const p = path.join(dir, 'fdkeeper.log');
    const other = path.join(dir, 'replaced.log');
    const fd = table.openSync(p, 'w');
    const dup = table.dup(fd);
    const target = table.openSync(other, 'w');
    try {
      assert.notEqual(dup, fd);
      if (linux) assert.equal(procLink(dup), p, "the duplicate's number names the same file in /proc");
      assert.equal(table.dup2(fd, target), target);
      if (linux) assert.equal(procLink(target), p, 'dup2 made the target number name the file');
      table.writeSync(fd, Buffer.from('first\n'));
      assert.equal(table.seekSync(dup, 0, 1), 6, "the dup sees the original's write in its offset");
      table.writeSync(dup, Buffer.from('second\n'));
      table.writeSync(target, Buffer.from('third\n'));
      assert.deepEqual(
        [fd, dup, target].map((n) => table.seekSync(n, 0, 1)),
        [19, 19, 19],
      );
      table.seekSync(dup, 0);
      assert.equal(table.seekSync(fd, 0, 1), 0, 'seeking one moves them all');
    } finally {
      for (const n of [fd, dup, target]) if (table.has(n)) table.closeSync(n);
    }
    assert.equal(fs.readFileSync(p, 'utf8'), 'first\nsecond\nthird\n');
    assert.equal(fs.readFileSync(other, 'utf8'), '', 'the file dup2 replaced got nothing');
  }
  // RawFile.dup(): a file object owning a duplicate, same offset; closing the original leaves it working.
  {
    const p = path.join(dir, 'raw.log');
    const raw = openSync(p, 'wb+', { table, buffering: 0 });
    const copy = raw.dupSync();
    try {
      raw.writeAllSync(Buffer.from('ab'));
      assert.equal(copy.tell(), 2);
      copy.writeAllSync(Buffer.from('cd'));
      assert.equal(raw.tell(), 4);
      raw.closeSync();
      copy.writeAllSync(Buffer.from('ef'));
      copy.seekSync(0);
      assert.equal(copy.readSync().toString(), 'abcdef');
    } finally {
      raw.closeSync();
      copy.closeSync();
    }
    assert.equal(fs.readFileSync(p, 'utf8'), 'abcdef');
  }
  assert.equal(table.size, 0);
  assert.equal(table.heldCount, 0);
});

// ---------------------------------------------------------------------------------------------- (4)

test("append-and-read ('a+'/'ab+'): plain node:fs cannot seek; fdkeeper writes at the end after a seek and tells the truth", async () => {
  const dir = freshDir('append');

  // Plain node:fs: no seek() and no tell(). After an append write the kernel offset is at the end, so a
  // read "from the current position" returns nothing; reading the start needs an explicit position.
  {
    assert.equal('seek' in fs || 'lseek' in fs, false);
    const p = path.join(dir, 'plain.log');
    const fd = fs.openSync(p, 'a+');
    try {
      fs.writeSync(fd, 'hello');
      const buf = Buffer.alloc(5);
      assert.equal(fs.readSync(fd, buf, 0, 5, null), 0, 'the current position is the end: nothing to read');
      assert.equal(fs.readSync(fd, buf, 0, 5, 0), 5);
      assert.equal(buf.toString(), 'hello');
      // An explicit position for a write to an append-mode file: Linux ignores it and appends (Node
      // documents this); other systems may write at the position. Report what this system did.
      fs.writeSync(fd, ' world', 0);
    } finally {
      fs.closeSync(fd);
    }
    const content = fs.readFileSync(p, 'utf8');
    if (linux) assert.equal(content, 'hello world', 'on Linux the kernel appended despite the position');
    else assert.ok(content === 'hello world' || content === ' world', content);
  }

  const table = new FileTable();
  // fdkeeper, buffered: open(p, 'ab+').
  {
    const p = path.join(dir, 'buffered.log');
    const f = await open(p, 'ab+', { table });
    try {
      await f.write(Buffer.from('hello'));
      assert.equal(await f.seek(0), 0);
      assert.equal(f.tell(), 0);
      assert.equal((await f.read(5)).toString(), 'hello');
      assert.equal(f.tell(), 5);
      await f.write(Buffer.from(' world'));
      assert.equal(f.tell(), 11);
      await f.seek(0);
      await f.write(Buffer.from('!'));
      assert.equal(f.tell(), 12, 'a write after seek(0) still goes to the end');
    } finally {
      await f.close();
    }
    assert.equal(fs.readFileSync(p, 'utf8'), 'hello world!');
  }
  // fdkeeper, raw (one syscall per call): the same through the unbuffered layer.
  {
    const p = path.join(dir, 'raw.log');
    const f = openSync(p, 'ab+', { table, buffering: 0 });
    try {
      f.writeAllSync(Buffer.from('hello'));
      assert.equal(f.seekSync(0), 0);
      assert.equal(f.readSync(5).toString(), 'hello');
      f.writeAllSync(Buffer.from(' world'));
      assert.equal(f.tell(), 11);
    } finally {
      f.closeSync();
    }
    assert.equal(fs.readFileSync(p, 'utf8'), 'hello world');
  }
  assert.equal(table.size, 0);
  assert.equal(table.heldCount, 0);
});

// ---------------------------------------------------------------------------------------------- (5)

test('fd budget: 2,000 concurrent opens under ulimit -n 256 hit EMFILE with node:fs; all succeed through a table with maxOpen 64', async () => {
  const ctx = demoContext('budget');

  const plain = await plainEmfileBurst(ctx);
  assert.equal(plain.exitCode, 0);
  assert.equal(plain.count, BUDGET_OPENS);
  const emfile = plain.codes['EMFILE'] ?? 0;
  assert.ok(emfile > 0, `some plain opens failed with EMFILE: ${JSON.stringify(plain.codes)}`);
  assert.equal(plain.ok + emfile, BUDGET_OPENS, 'every failure was EMFILE');
  assert.match(plain.firstError ?? '', /^EMFILE: too many open files, open /);

  const fk = await fdkeeperEmfileBurst(ctx);
  assert.equal(fk.exitCode, 0);
  assert.equal(fk.count, BUDGET_OPENS);
  assert.equal(fk.ok, BUDGET_OPENS, `all succeeded: ${JSON.stringify(fk.codes)} ${fk.firstError ?? ''}`);
  assert.deepEqual(fk.codes, {});
  assert.equal(fk.firstError, null);
  assert.ok(
    fk.peak > 1 && fk.peak <= BUDGET_MAX_OPEN,
    `never more than the budget held at once (peak ${String(fk.peak)})`,
  );
  assert.equal(fk.sizeAfter, 0);
  assert.equal(fk.heldAfter, 0);
});
