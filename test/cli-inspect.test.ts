// `fdkeeper inspect <pid>` against a real process whose descriptors are known: the output lists exactly
// those, as a table and as JSON valid against docs/inspect.schema.json; and the ways it can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeOpenFlags } from '../src/cli/proc/open-flags.js';
import { parseFdInfo } from '../src/cli/proc/fdinfo.js';
import { parseOpenFilesLimit } from '../src/cli/proc/limits.js';
import { readSocketTable } from '../src/cli/proc/sockets.js';
import type { ProcessInspection } from '../src/cli/proc/inspect-process.js';
import { ESC, NOBODY, canSwitchUser, runCli } from './support/cli-run.js';
import { startFdProcess, isRunning } from './support/cli-fd-process.js';
import { loadSchema, validate } from './support/cli-schema.js';

const linux = process.platform === 'linux' ? false : 'reads /proc (Linux only)';
const schema = loadSchema('docs/inspect.schema.json');

test('inspect --json: exactly the child\'s descriptors, each with the kind, path, offset, size and flags it opened with', { skip: linux }, async () => {
  const child = await startFdProcess({ softLimit: 777 });
  try {
    const run = await runCli(['inspect', String(child.pid), '--json']);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as ProcessInspection;
    assert.deepEqual(validate(out, schema), [], 'valid against docs/inspect.schema.json');

    // Exactly the descriptors the child finds open with fstat (no /proc involved on its side).
    assert.deepEqual(out.fds.map((f) => f.fd), child.fds);
    assert.equal(out.count, child.fds.length);
    assert.equal(out.pid, child.pid);
    assert.equal(out.command, 'node');
    assert.equal(out.cmdline[1], path.join(import.meta.dirname, 'support', 'cli-fd-child.mjs'));
    assert.equal(out.limit?.soft, 777, 'the soft limit the shell set with ulimit -Sn');
    assert.equal(out.percentOfSoftLimit, Math.round((child.fds.length / 777) * 1000) / 10);

    const byFd = new Map(out.fds.map((f) => [f.fd, f]));
    for (const o of child.opened) {
      const f = byFd.get(o.fd);
      assert.ok(f !== undefined, `fd ${o.fd} is listed`);
      const where = `fd ${o.fd} (${o.path ?? o.kind})`;
      assert.equal(f.kind, o.kind, where);
      if (o.path !== undefined) assert.equal(f.path, o.path, where);
      assert.equal(f.deleted, o.deleted ?? false, where);
      if (o.pos !== undefined) assert.equal(f.pos, o.pos, where);
      if (o.size !== undefined) assert.equal(f.size, o.size, where);
      if (o.access !== undefined) assert.equal(f.access, o.access, where);
      for (const flag of o.flags ?? []) assert.ok(f.flagNames.includes(flag), `${where}: ${flag} in ${f.flagNames.join(',')}`);
      if (o.socket !== undefined) assert.deepEqual(f.socket, o.socket, where);
    }
    // The append-mode descriptor is not O_RDWR, the read one has no O_APPEND.
    const [append, read] = child.opened;
    assert.deepEqual(byFd.get(append!.fd)?.flagNames.slice(0, 2), ['O_WRONLY', 'O_APPEND']);
    assert.ok(!byFd.get(read!.fd)?.flagNames.includes('O_APPEND'));

    // stdin is the anonymous pipe from `sleep |`.
    assert.equal(byFd.get(0)?.kind, 'pipe');
    assert.match(byFd.get(0)?.target ?? '', /^pipe:\[\d+\]$/);
    assert.equal(byFd.get(0)?.access, 'read');

    // Findings: the deleted file, with its size, and the file open twice.
    const gone = child.opened.find((o) => o.deleted === true)!;
    assert.deepEqual(out.deleted, [{ fd: gone.fd, path: gone.path, size: 5000 }]);
    assert.equal(out.deletedBytes, 5000);
    assert.deepEqual(
      out.sameFile.map((g) => [g.path, g.fds]),
      [[path.join(child.dir, 'a.log'), [append!.fd, read!.fd]]],
    );
    const kinds = { file: 0, dir: 0, pipe: 0, socket: 0, anon_inode: 0, device: 0, memfd: 0, other: 0 } as Record<string, number>;
    for (const f of out.fds) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
    assert.deepEqual(out.byKind, kinds);
    assert.ok(out.byKind.socket >= 3 && out.byKind.anon_inode >= 1, 'the sockets and node\'s own epoll/eventfd');
  } finally {
    await child.stop();
  }
});

test('inspect (table, NO_COLOR): one row per descriptor, the deleted file and the same-file group highlighted in words, no escape codes', { skip: linux }, async () => {
  const child = await startFdProcess({ softLimit: 777 });
  try {
    const run = await runCli(['inspect', String(child.pid)], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(ESC), 'no ANSI escape codes');
    const lines = run.stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^pid ${child.pid}  .*node .*cli-fd-child\\.mjs`));
    assert.match(lines[1]!, new RegExp(`^${child.fds.length} open, soft limit 777 \\(\\d+(\\.\\d)?% used\\), hard limit 777$`));
    assert.match(run.stdout, /^ *FD +KIND +MODE +FLAGS +OFFSET +SIZE +TARGET$/m);
    const rows = lines.filter((l) => /^ *\d+ {2}[a-z_]+ /.test(l));
    assert.deepEqual(rows.map((l) => Number(l.trim().split(/\s+/)[0])), child.fds, 'one row per open descriptor');
    for (const o of child.opened) {
      const row = rows.find((l) => l.trim().startsWith(`${o.fd} `));
      assert.ok(row !== undefined);
      assert.ok(row.includes(` ${o.kind} `), `${row} has kind ${o.kind}`);
      if (o.path !== undefined) assert.ok(row.endsWith(o.deleted === true ? `${o.path} (deleted)` : o.path), `${row} ends with its path`);
      if (o.socket !== undefined) assert.ok(row.endsWith(o.socket.remote === null ? `tcp ${o.socket.local} LISTEN` : `tcp ${o.socket.local} -> ${o.socket.remote} ESTABLISHED`), row);
    }
    const gone = child.opened.find((o) => o.deleted === true)!;
    assert.match(run.stdout, /^deleted but open: 1 file, 4\.9 KiB held on disk until closed$/m);
    assert.ok(run.stdout.includes(`\n  fd ${gone.fd}  ${gone.path}  4.9 KiB\n`));
    assert.ok(run.stdout.includes(`open more than once: 1 file\n  ${path.join(child.dir, 'a.log')}  fds ${child.opened[0]!.fd}, ${child.opened[1]!.fd}\n`));
  } finally {
    await child.stop();
  }
});

test('inspect of a pid that has exited: a clear message and exit code 4, nothing on stdout', { skip: linux }, async () => {
  const child = await startFdProcess();
  await child.stop();
  assert.equal(isRunning(child.pid), false);
  const run = await runCli(['inspect', String(child.pid), '--json']);
  assert.equal(run.code, 4, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, new RegExp(`^fdkeeper inspect: no process with pid ${child.pid} \\(it has exited`));

  // A zombie (exited, not reaped by its parent) counts as exited too: it has no descriptors to show.
  const parent = spawn('sh', ['-c', 'sleep 0.05 & exec sleep 30'], { stdio: 'ignore' });
  try {
    let zombie = 0;
    for (let i = 0; i < 100 && zombie === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const kid = Number(fs.readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim());
      if (kid > 0 && !isRunning(kid)) zombie = kid;
    }
    assert.ok(zombie > 0, 'a zombie child of `sleep 30`');
    const z = await runCli(['inspect', String(zombie)]);
    assert.equal(z.code, 4, z.stderr);
    assert.match(z.stderr, new RegExp(`no process with pid ${zombie} \\(it has exited; a zombie until its parent, pid ${parent.pid}, reaps it\\)`));
  } finally {
    parent.kill('SIGKILL');
  }
});

test('inspect of another user\'s process: permission denied, exit code 5; the same user may look', { skip: linux || (canSwitchUser ? false : 'needs root and setpriv') }, async () => {
  const child = await startFdProcess();
  try {
    const denied = await runCli(['inspect', String(child.pid)], { asUid: NOBODY });
    assert.equal(denied.code, 5, denied.stderr);
    assert.equal(denied.stdout, '');
    assert.match(denied.stderr, new RegExp(`permission denied reading /proc/${child.pid}/fd: pid ${child.pid} belongs to uid 0 and this is uid ${NOBODY}; run as that user or as root`));
  } finally {
    await child.stop();
  }
  // Control: nobody inspecting nobody's own process works, so the denial above was the permission.
  const own = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sleep', '30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const ok = await runCli(['inspect', String(own.pid), '--json'], { asUid: NOBODY });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as ProcessInspection).command, 'sleep');
  } finally {
    own.kill('SIGKILL');
  }
});

test('inspect on a system without /proc (macOS, Windows): says so, names the native tool, exit code 6', async () => {
  const run = await runCli(['inspect', String(process.pid)], { nodeArgs: ['--import', 'data:text/javascript,Object.defineProperty(process,"platform",{value:"darwin"})'] });
  assert.equal(run.code, 6, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^fdkeeper inspect: this is darwin, and only Linux has \/proc; on macOS use `lsof -p PID`/);
});

test('inspect with a bad pid: usage error, exit code 2 (self is refused with the reason)', async () => {
  const bad = ['abc', '0', '-1', '12x', 'self'];
  const runs = await Promise.all(bad.map((b) => runCli(['inspect', b])));
  runs.forEach((run, i) => {
    assert.equal(run.code, 2, `${bad[i]!}: ${run.stderr}`);
    assert.equal(run.stdout, '');
  });
  assert.match(runs[4]!.stderr, /'self' would be fdkeeper's own process/);
  const missing = await runCli(['inspect']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing required argument 'pid'/);
});

test('decodeOpenFlags: access mode first, O_SYNC not doubled as O_DSYNC, unknown bits kept', () => {
  assert.deepEqual(decodeOpenFlags(0o2102001), { access: 'write', names: ['O_WRONLY', 'O_APPEND', 'O_CLOEXEC', 'O_LARGEFILE'] });
  assert.deepEqual(decodeOpenFlags(0o2004002).names, ['O_RDWR', 'O_NONBLOCK', 'O_CLOEXEC']);
  assert.deepEqual(decodeOpenFlags(0o10000000).access, 'path');
  assert.deepEqual(decodeOpenFlags(fs.constants.O_SYNC | 1).names, ['O_WRONLY', 'O_SYNC']);
  assert.deepEqual(decodeOpenFlags(fs.constants.O_DSYNC).names, ['O_RDONLY', 'O_DSYNC']);
  assert.deepEqual(decodeOpenFlags(0o100000000).names, ['O_RDONLY', '0100000000']);
});

test('parseFdInfo and parseOpenFilesLimit read the kernel formats; unlimited is null', () => {
  assert.deepEqual(parseFdInfo('pos:\t42\nflags:\t02100001\nmnt_id:\t27\nino:\t99\neventfd-count:  0\n'), {
    pos: 42,
    flags: 0o2100001,
    extra: { mnt_id: '27', ino: '99', 'eventfd-count': '0' },
  });
  assert.equal(parseFdInfo('garbage'), undefined);
  const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n';
  assert.deepEqual(parseOpenFilesLimit(limits), { soft: 1024, hard: 524288 });
  assert.deepEqual(parseOpenFilesLimit('Max open files            unlimited            unlimited            files\n'), { soft: null, hard: null });
  assert.equal(parseOpenFilesLimit('nothing'), undefined);
});

test('readSocketTable decodes IPv4, IPv6 and unix entries of the kernel\'s tables', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-fakeproc-'));
  try {
    fs.mkdirSync(path.join(root, '7', 'net'), { recursive: true });
    const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    fs.writeFileSync(path.join(root, '7/net/tcp'), head + '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n');
    fs.writeFileSync(
      path.join(root, '7/net/tcp6'),
      head +
        '   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0\n' +
        '   1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0\n',
    );
    fs.writeFileSync(path.join(root, '7/net/udp'), head + '   5: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 444 2 0\n');
    fs.writeFileSync(
      path.join(root, '7/net/unix'),
      'Num       RefCount Protocol Flags    Type St Inode Path\n' +
        '0000000000000000: 00000002 00000000 00010000 0001 01 555 /run/app.sock\n' +
        '0000000000000000: 00000003 00000000 00000000 0001 03 666\n' +
        '0000000000000000: 00000002 00000000 00000000 0002 01 777 @abstract name\n',
    );
    const t = readSocketTable(root, 7);
    assert.deepEqual(t.get(111), { protocol: 'tcp', local: '127.0.0.1:8080', remote: null, state: 'LISTEN' });
    assert.deepEqual(t.get(222), { protocol: 'tcp6', local: '[::1]:8080', remote: '[::1]:50000', state: 'ESTABLISHED' });
    assert.deepEqual(t.get(333), { protocol: 'tcp6', local: '[::ffff:127.0.0.1]:80', remote: null, state: 'LISTEN' });
    assert.deepEqual(t.get(444), { protocol: 'udp', local: '0.0.0.0:53', remote: null, state: 'UNCONNECTED' });
    assert.deepEqual(t.get(555), { protocol: 'unix/stream', local: '/run/app.sock', remote: null, state: 'LISTEN' });
    assert.deepEqual(t.get(666), { protocol: 'unix/stream', local: null, remote: null, state: 'CONNECTED' });
    assert.deepEqual(t.get(777), { protocol: 'unix/dgram', local: '@abstract name', remote: null, state: 'UNCONNECTED' });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the schema validator used above rejects what the schema forbids (so a passing validation means something)', () => {
  const good = { fd: 1, kind: 'file', target: '/x', path: '/x', deleted: false, size: 1, dev: 1, inode: 2, pos: 0, flags: '01', flagNames: ['O_WRONLY'], access: 'write', detail: null, socket: null };
  const fdSchema = { $ref: '#/$defs/fd', $defs: (schema as { $defs: unknown }).$defs };
  assert.deepEqual(validate(good, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, kind: 'blob' }, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, extra: 1 }, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, flags: '9' }, fdSchema), []);
  const { pos: _pos, ...noPos } = good;
  assert.notDeepEqual(validate(noPos, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, socket: { protocol: 'tcp' } }, fdSchema), []);
});
