/**
 * A LogFile holds a Descriptor from a FileTable (issue 13.1): the log's file is in the table's
 * `openHandles()` and leak report with the line that opened the log as its site (before and after a
 * reopen from anywhere), a close removes it, rotations swap descriptors without the count growing, the
 * table's budget counts it, and the exit-time flush works with a table that reports at exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { openLog } from '../src/log/log-file.js';
import { FileTable } from '../src/table/file-table.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { FsError } from '../src/errors/fs-error.js';
import { assertLogDistFresh } from './support/log-loss/harness.js';
import { childEnv } from './support/child-env.js';
import { memText } from './support/log-loss/memory-lines.js';
import { MANUAL, tmpdir } from './support/log-fixture.js';

/** The line of the caller of `here()` (to compare with a recorded open site on the same line). */
function here(): number {
  const frame = (new Error().stack ?? '').split('\n')[2] ?? '';
  const m = /:(\d+):\d+\)?$/.exec(frame);
  assert.ok(m !== null, `no line in ${frame}`);
  return Number(m[1]);
}

test('an open log is in its table: openHandles and the leak report name the openLog line; a reopen keeps that site; close removes it', (t) => {
  const p = path.join(tmpdir(t), 'app.log');
  const table = new FileTable({ openSites: 'always' });
  const [log, line] = [openLog(p, { ...MANUAL, table }), here()];
  const [handle] = table.openHandles();
  assert.equal(table.size, 1);
  assert.ok(handle !== undefined);
  assert.equal(handle.path, p);
  assert.equal(handle.mode, 'a+');
  assert.match(
    handle.site ?? '',
    new RegExp(`log-table\\.test\\.[jt]s:${line}:`),
    'the site is the line that called openLog, not a line inside fdkeeper',
  );
  assert.match(table.leakReport(), new RegExp(`log-table\\.test\\.[jt]s:${line}:`));
  const first = handle.fd;

  // A reopen made from another line (here checkNow): the site is still the openLog line, which a table
  // capturing its own site at each open would lose (it would name the checkNow line, or from a timer none).
  fs.renameSync(p, `${p}.1`);
  const checkLine = here() + 1;
  assert.equal(log.checkNow(), 'renamed');
  const [after] = table.openHandles();
  assert.ok(after !== undefined);
  assert.notEqual(after.fd, first, 'a new descriptor');
  assert.equal(table.size, 1, 'the old descriptor left the table');
  assert.match(after.site ?? '', new RegExp(`log-table\\.test\\.[jt]s:${line}:`));
  assert.doesNotMatch(after.site ?? '', new RegExp(`:${checkLine}:`));

  log.closeSync();
  assert.equal(table.size, 0);
  assert.deepEqual(table.openHandles(), []);
  assert.equal(table.leakReport(), '');
  assert.equal(table.heldCount, 0, 'no backend descriptor held');
});

test('rotations swap descriptors without the count growing (rename, delete with carry-over, replace), on the real file system', (t) => {
  const dir = tmpdir(t);
  const p = path.join(dir, 'app.log');
  const table = new FileTable();
  const log = openLog(p, { ...MANUAL, table });
  const numbers = new Set<number>();
  let n = 0;
  const write = (): void => {
    log.write(`line ${n++}\n`);
    log.flushSync();
  };
  for (let round = 0; round < 30; round++) {
    write();
    const kind = round % 3;
    if (kind === 0) fs.renameSync(p, path.join(dir, `app.log.${round}`));
    else if (kind === 1) fs.unlinkSync(p);
    else {
      fs.copyFileSync(p, `${p}.new`); // an editor's replace: what the file held is in the replacement
      fs.renameSync(`${p}.new`, p);
    }
    write(); // into the old file: renamed, it stays there; deleted or replaced, carry-over moves it
    assert.equal(log.checkNow(), kind === 0 ? 'renamed' : kind === 1 ? 'deleted' : 'replaced');
    assert.equal(table.size, 1, `after rotation ${round}`);
    assert.equal(table.heldCount, 1, `after rotation ${round}: one backend descriptor held`);
    numbers.add(table.openHandles()[0]?.fd ?? -1);
  }
  assert.ok(numbers.size >= 2, 'the descriptor changed');
  const fds = fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(p);
    } catch {
      return false;
    }
  });
  assert.equal(fds.length, 1, `the kernel holds one descriptor on the log: ${fds.join(', ')}`);
  log.closeSync();
  assert.equal(table.size, 0);
  assert.equal(log.stats.carried.lines, 40, 'deleted and replaced rounds carried their two unconfirmed lines');
  const seen = fs
    .readdirSync(dir)
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter((l) => l !== '');
  // A replace copies the unconfirmed line the carry-over carries as well (docs/logs.md): lines may appear twice, none is lost.
  const distinct = [...new Set(seen)].sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  assert.deepEqual(
    distinct,
    Array.from({ length: n }, (_, i) => `line ${i}`),
    'every line, across the renamed files and the log',
  );
});

test("the table's budget counts the log: a full budget refuses other opens with EMFILE; a reopen needs a second slot for a moment", (t) => {
  const dir = tmpdir(t);
  const p = path.join(dir, 'app.log');
  const table = new FileTable({ maxOpen: 1 });
  const log = openLog(p, { ...MANUAL, table });
  assert.equal(table.budget.inUse, 1);
  assert.throws(
    () => table.openDescriptorSync(path.join(dir, 'other'), 'w'),
    (e: unknown) => e instanceof FsError && e.code === 'EMFILE' && /fd budget of 1/.test(e.message),
  );
  assert.throws(
    () => openLog(path.join(dir, 'b.log'), { ...MANUAL, table }),
    (e: unknown) => e instanceof FsError && e.code === 'EMFILE',
  );

  // A reopen opens the new file before closing the old one (carry-over reads the old one): with no slot
  // left it fails like any failed reopen, records kept and retried.
  const errors: FsError[] = [];
  log.on('error', (e) => errors.push(e));
  log.write('kept\n');
  fs.renameSync(p, `${p}.1`);
  assert.equal(log.checkNow(), 'renamed');
  assert.equal(log.checkNow(), undefined, 'failing: no check');
  assert.equal(log.failing, true);
  assert.equal(errors[0]?.code, 'EMFILE');
  assert.equal(table.size, 1);
  log.closeSync();
  assert.equal(table.budget.inUse, 0);
  assert.equal(log.dropped, 1, 'the kept record is counted as dropped at close');

  // With one slot of headroom the same rotation reopens.
  const roomy = new FileTable({ maxOpen: 2 });
  const log2 = openLog(p, { ...MANUAL, table: roomy });
  fs.renameSync(p, `${p}.2`);
  assert.equal(log2.checkNow(), 'renamed');
  assert.equal(roomy.budget.inUse, 1);
  log2.closeSync();
  assert.equal(roomy.budget.inUse, 0);
});

test('its number closed behind its back and reused by another open of the table: the log never writes there; it reports EBADF, reopens (reason lost) and writes on', async (t) => {
  const dir = tmpdir(t);
  const p = path.join(dir, 'app.log');
  const table = new FileTable();
  const log = openLog(p, { ...MANUAL, table, retryInterval: 20 });
  const errors: FsError[] = [];
  log.on('error', (e) => errors.push(e));
  const reasons: string[] = [];
  log.on('reopen', (e) => reasons.push(e.reason));
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    warnings.push(w.code ?? '');
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  log.write('a\n');
  log.flushSync();
  const n = table.openHandles()[0]?.fd ?? -1;
  fs.closeSync(n); // behind the log's back
  // Open through the table until the kernel hands out n again (lowest free number first).
  const others = [];
  let other: ReturnType<FileTable['openDescriptorSync']> | undefined;
  for (let i = 0; i < 64 && other === undefined; i++) {
    const d = table.openDescriptorSync(path.join(dir, `other-${i}`), 'w');
    if (d.number === n) other = d;
    else others.push(d);
  }
  assert.ok(other !== undefined, `number ${n} came back`);
  const otherPath = other.path ?? '';
  log.write('b\n');
  log.flushSync();
  assert.equal(
    fs.readFileSync(otherPath, 'utf8'),
    '',
    "the log's record did not go into the file that took its number",
  );
  assert.equal(errors[0]?.code, 'EBADF');
  const resumed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, 10_000);
    log.once('resume', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  assert.ok(resumed, 'resumed');
  assert.deepEqual(reasons, ['lost']);
  log.write('c\n');
  log.closeSync();
  assert.equal(fs.readFileSync(p, 'utf8'), 'a\nb\nc\n');
  assert.equal(fs.readFileSync(otherPath, 'utf8'), '');
  assert.ok(warnings.includes('FDKEEPER_FD_REUSED'), `warnings: ${warnings.join(', ')}`);
  // Control: a writer holding the bare number (what LogFile held before) writes into the other file.
  fs.writeSync(n, 'naive\n');
  assert.equal(fs.readFileSync(otherPath, 'utf8'), 'naive\n');
  other.closeSync();
  for (const d of others) d.closeSync();
  assert.equal(table.size, 0);
});

test('table and backend options: a table over a memory backend; a backend that is not the table’s is refused', () => {
  const backend = new MemoryBackend();
  const table = new FileTable({ backend });
  const log = openLog('/app.log', { ...MANUAL, table });
  log.write('a\n');
  log.closeSync();
  assert.equal(memText(backend, '/app.log'), 'a\n');
  assert.throws(
    () => openLog('/b.log', { ...MANUAL, table, backend: new MemoryBackend() }),
    /backend and table disagree/,
  );
  const notATable: unknown = { backend };
  assert.throws(() => openLog('/b.log', { ...MANUAL, table: notATable as FileTable }), /table must be a FileTable/);
  // Given the table's own backend as well, it is accepted.
  openLog('/c.log', { ...MANUAL, table, backend }).closeSync();
  assert.equal(table.size, 0);
});

test('close(): the records are in the file when it returns; the fsync and close(2) complete by the promise; the table is empty after', async (t) => {
  const p = path.join(tmpdir(t), 'app.log');
  const table = new FileTable();
  const log = openLog(p, { ...MANUAL, table, fsync: { intervalMs: 3_600_000 } });
  log.write('a\n');
  const closing = log.close();
  assert.equal(fs.readFileSync(p, 'utf8'), 'a\n');
  assert.equal(log.isClosed, true);
  assert.throws(
    () => log.write('b\n'),
    (e: unknown) => e instanceof FsError && e.code === 'EBADF',
  );
  await closing;
  assert.equal(table.size, 0);
  assert.equal(table.heldCount, 0);
});

/**
 * Runs an ES module child over the built library: line 1 imports FileTable and openLog, then `body`'s
 * lines, given the log's path as a JavaScript string literal. Returns the run and the log's path.
 */
function runChild(
  t: { after(fn: () => void): void },
  body: (file: string) => string[],
): { r: SpawnSyncReturns<string>; file: string } {
  assertLogDistFresh();
  const dir = tmpdir(t);
  const file = path.join(dir, 'app.log');
  const child = path.join(dir, 'child.mjs');
  const dist = pathToFileURL(path.resolve('dist/index.js')).href;
  fs.writeFileSync(
    child,
    [`import { FileTable, openLog } from ${JSON.stringify(dist)};`, ...body(JSON.stringify(file))].join('\n'),
  );
  return { r: spawnSync(process.execPath, [child], { encoding: 'utf8', env: childEnv(), timeout: 30_000 }), file };
}

/** The child's log opening (no timer flush or check before the exit) and its 100 lines. */
const OPEN_LOG = (file: string): string =>
  `const log = openLog(${file}, { table, flushInterval: 3600000, checkInterval: 3600000 });`;
const WRITE_100 = `for (let i = 0; i < 100; i++) log.write('line ' + i + '\\n');`;
const LINES_100 = Array.from({ length: 100 }, (_, i) => `line ${i}`);

test('exit: a table that reports at exit lists the still-open log with its openLog line; the flush at exit writes every line; an exit handler closing the log after the report does not throw', (t) => {
  const { r, file } = runChild(t, (f) => [
    `const table = new FileTable({ reportAtExit: true, openSites: 'always' });`,
    OPEN_LOG(f) + ' // line 3',
    WRITE_100,
    `process.on('exit', () => { log.closeSync(); process.stdout.write('closed ' + table.size + '\\n'); });`,
    `process.exit(0);`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'closed 0\n');
  assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n'), [...LINES_100, '']);
  assert.match(r.stderr, /app\.log/, 'the report lists the log');
  assert.match(r.stderr, /child\.mjs:3:/, 'with the line that opened it');
  assert.doesNotMatch(r.stderr, /Error|at process\./, 'nothing thrown at exit');
});

test("exit: an earlier exit listener closes every descriptor of the table (the log's too): the exit flush reopens the path and writes every buffered line", (t) => {
  const { r, file } = runChild(t, (f) => [
    `const table = new FileTable();`,
    // Registered before the log joins the exit hooks, so it runs before the exit flush.
    `process.on('exit', () => { let n = 0; for (const d of table.descriptors()) { d.closeSync(); n++; } process.stdout.write('swept ' + n + '\\n'); });`,
    OPEN_LOG(f),
    `log.on('error', (e) => { process.stdout.write('error ' + e.code + '\\n'); });`,
    // Registered after: runs once the exit flush is done.
    `process.on('exit', () => { process.stdout.write('lost ' + log.stats.reopens.lost + '\\n'); });`,
    WRITE_100,
    `process.exit(0);`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  // The log's descriptor was closed before the flush (its write failed with EBADF), and the flush reopened.
  assert.equal(r.stdout, 'swept 1\nerror EBADF\nlost 1\n');
  assert.equal(r.stderr, '');
  assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n'), [...LINES_100, '']);
});
