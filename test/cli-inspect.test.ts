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
import { whyDenied } from '../src/cli/output/proc-failure.js';
import { ESC, NOBODY, canSwitchUser, runCli } from './support/cli-run.js';
import { startFdProcess, isRunning } from './support/cli-fd-process.js';
import { loadSchema, validate } from './support/cli-schema.js';

const linux = process.platform === 'linux' ? false : 'reads /proc (Linux only)';
const schema = loadSchema('docs/inspect.schema.json');

test(
  "inspect --json: exactly the child's descriptors, each with the kind, path, offset, size and flags it opened with",
  { skip: linux },
  async () => {
    const child = await startFdProcess({ softLimit: 777 });
    try {
      const run = await runCli(['inspect', String(child.pid), '--json']);
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as ProcessInspection;
      assert.deepEqual(validate(out, schema), [], 'valid against docs/inspect.schema.json');

      // Exactly the descriptors the child finds open with fstat (no /proc involved on its side).
      assert.deepEqual(
        out.fds.map((f) => f.fd),
        child.fds,
      );
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
        for (const flag of o.flags ?? [])
          assert.ok(f.flagNames.includes(flag), `${where}: ${flag} in ${f.flagNames.join(',')}`);
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
      const kinds = { file: 0, dir: 0, pipe: 0, socket: 0, anon_inode: 0, device: 0, memfd: 0, other: 0 } as Record<
        string,
        number
      >;
      for (const f of out.fds) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
      assert.deepEqual(out.byKind, kinds);
      assert.ok(out.byKind.socket >= 3 && out.byKind.anon_inode >= 1, "the sockets and node's own epoll/eventfd");
    } finally {
      await child.stop();
    }
  },
);

test(
  'inspect (table, NO_COLOR): one row per descriptor, the deleted file and the same-file group highlighted in words, no escape codes',
  { skip: linux },
  async () => {
    const child = await startFdProcess({ softLimit: 777 });
    try {
      const run = await runCli(['inspect', String(child.pid)], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(!run.stdout.includes(ESC), 'no ANSI escape codes');
      const lines = run.stdout.split('\n');
      assert.match(lines[0]!, new RegExp(`^pid ${child.pid}  .*node .*cli-fd-child\\.mjs`));
      assert.match(
        lines[1]!,
        new RegExp(`^${child.fds.length} open, soft limit 777 \\(\\d+(\\.\\d)?% used\\), hard limit 777$`),
      );
      assert.match(run.stdout, /^ *FD +KIND +MODE +FLAGS +OFFSET +SIZE +TARGET$/m);
      const rows = lines.filter((l) => /^ *\d+ {2}[a-z_]+ /.test(l));
      assert.deepEqual(
        rows.map((l) => Number(l.trim().split(/\s+/)[0])),
        child.fds,
        'one row per open descriptor',
      );
      for (const o of child.opened) {
        const row = rows.find((l) => l.trim().startsWith(`${o.fd} `));
        assert.ok(row !== undefined);
        assert.ok(row.includes(` ${o.kind} `), `${row} has kind ${o.kind}`);
        if (o.path !== undefined)
          assert.ok(row.endsWith(o.deleted === true ? `${o.path} (deleted)` : o.path), `${row} ends with its path`);
        if (o.socket !== undefined)
          assert.ok(
            row.endsWith(
              o.socket.remote === null
                ? `tcp ${o.socket.local} LISTEN`
                : `tcp ${o.socket.local} -> ${o.socket.remote} ESTABLISHED`,
            ),
            row,
          );
      }
      const gone = child.opened.find((o) => o.deleted === true)!;
      assert.match(run.stdout, /^deleted but open: 1 file, 4\.9 KiB held on disk until closed$/m);
      assert.ok(run.stdout.includes(`\n  fd ${gone.fd}  ${gone.path}  4.9 KiB\n`));
      assert.ok(
        run.stdout.includes(
          `open more than once: 1 file\n  ${path.join(child.dir, 'a.log')}  fds ${child.opened[0]!.fd}, ${child.opened[1]!.fd}\n`,
        ),
      );
    } finally {
      await child.stop();
    }
  },
);

test(
  'inspect of a pid that has exited: a clear message and exit code 4, nothing on stdout',
  { skip: linux },
  async () => {
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
      assert.match(
        z.stderr,
        new RegExp(
          `no process with pid ${zombie} \\(it has exited; a zombie until its parent, pid ${parent.pid}, reaps it\\)`,
        ),
      );
    } finally {
      parent.kill('SIGKILL');
    }
  },
);

test(
  "inspect of another user's process: permission denied, exit code 5; the same user may look",
  { skip: linux || (canSwitchUser ? false : 'needs root and setpriv') },
  async () => {
    const child = await startFdProcess();
    try {
      const denied = await runCli(['inspect', String(child.pid)], { asUid: NOBODY });
      assert.equal(denied.code, 5, denied.stderr);
      assert.equal(denied.stdout, '');
      assert.match(
        denied.stderr,
        new RegExp(
          `permission denied reading /proc/${child.pid}/fd: pid ${child.pid} belongs to uid 0 and this is uid ${NOBODY}; run as that user or as root`,
        ),
      );
    } finally {
      await child.stop();
    }
    // Control: nobody inspecting nobody's own process works, so the denial above was the permission.
    const own = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sleep', '30'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const ok = await runCli(['inspect', String(own.pid), '--json'], { asUid: NOBODY });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as ProcessInspection).command, 'sleep');
    } finally {
      own.kill('SIGKILL');
    }
  },
);

test('inspect on a system without /proc (macOS, Windows): says so, names the native tool, exit code 6', async () => {
  const run = await runCli(['inspect', String(process.pid)], {
    nodeArgs: ['--import', 'data:text/javascript,Object.defineProperty(process,"platform",{value:"darwin"})'],
  });
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
  assert.deepEqual(decodeOpenFlags(0o2102001), {
    access: 'write',
    names: ['O_WRONLY', 'O_APPEND', 'O_CLOEXEC', 'O_LARGEFILE'],
  });
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
  const limits =
    'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n';
  assert.deepEqual(parseOpenFilesLimit(limits), { soft: 1024, hard: 524288 });
  assert.deepEqual(parseOpenFilesLimit('Max open files            unlimited            unlimited            files\n'), {
    soft: null,
    hard: null,
  });
  assert.equal(parseOpenFilesLimit('nothing'), undefined);
});

test("readSocketTable decodes IPv4, IPv6 and unix entries of the kernel's tables", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-fakeproc-'));
  try {
    fs.mkdirSync(path.join(root, '7', 'net'), { recursive: true });
    const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    fs.writeFileSync(
      path.join(root, '7/net/tcp'),
      head +
        '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n',
    );
    fs.writeFileSync(
      path.join(root, '7/net/tcp6'),
      head +
        '   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0\n' +
        '   1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0\n',
    );
    fs.writeFileSync(
      path.join(root, '7/net/udp'),
      head + '   5: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 444 2 0\n',
    );
    fs.writeFileSync(
      path.join(root, '7/net/unix'),
      'Num       RefCount Protocol Flags    Type St Inode Path\n' +
        '0000000000000000: 00000002 00000000 00010000 0001 01 555 /run/app.sock\n' +
        '0000000000000000: 00000003 00000000 00000000 0001 03 666\n' +
        '0000000000000000: 00000002 00000000 00000000 0002 01 777 @abstract name\n',
    );
    const t = readSocketTable(root, 7);
    assert.deepEqual(t.get(111), { protocol: 'tcp', local: '127.0.0.1:8080', remote: null, state: 'LISTEN' });
    assert.deepEqual(t.get(222), {
      protocol: 'tcp6',
      local: '[::1]:8080',
      remote: '[::1]:50000',
      state: 'ESTABLISHED',
    });
    assert.deepEqual(t.get(333), { protocol: 'tcp6', local: '[::ffff:127.0.0.1]:80', remote: null, state: 'LISTEN' });
    assert.deepEqual(t.get(444), { protocol: 'udp', local: '0.0.0.0:53', remote: null, state: 'UNCONNECTED' });
    assert.deepEqual(t.get(555), { protocol: 'unix/stream', local: '/run/app.sock', remote: null, state: 'LISTEN' });
    assert.deepEqual(t.get(666), { protocol: 'unix/stream', local: null, remote: null, state: 'CONNECTED' });
    assert.deepEqual(t.get(777), {
      protocol: 'unix/dgram',
      local: '@abstract name',
      remote: null,
      state: 'UNCONNECTED',
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the schema validator used above rejects what the schema forbids (so a passing validation means something)', () => {
  const good = {
    fd: 1,
    kind: 'file',
    target: '/x',
    path: '/x',
    deleted: false,
    unlinkedName: false,
    links: 1,
    size: 1,
    dev: 1,
    inode: 2,
    pos: 0,
    flags: '01',
    flagNames: ['O_WRONLY'],
    access: 'write',
    detail: null,
    socket: null,
  };
  const fdSchema = { $ref: '#/$defs/fd', $defs: (schema as { $defs: unknown }).$defs };
  assert.deepEqual(validate(good, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, kind: 'blob' }, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, extra: 1 }, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, flags: '9' }, fdSchema), []);
  const { pos: _pos, ...noPos } = good;
  assert.notDeepEqual(validate(noPos, fdSchema), []);
  assert.notDeepEqual(validate({ ...good, socket: { protocol: 'tcp' } }, fdSchema), []);
});

/** A node process that runs `source` (argv[1] is a fresh directory), prints a JSON line when ready, and sleeps. */
async function nodeChild(
  source: string,
): Promise<{ pid: number; dir: string; info: Record<string, number>; stop: () => void }> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-cli-')));
  const child = spawn(process.execPath, ['-e', `${source}\nsetInterval(() => {}, 60000);`, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (b: Buffer) => {
      resolve(b.toString());
    });
    child.once('exit', (code) => {
      reject(new Error(`child exited ${String(code)}`));
    });
  });
  return {
    pid: child.pid!,
    dir,
    info: JSON.parse(line) as Record<string, number>,
    stop: () => {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Issue 12.8: the kernel marks a name " (deleted)" when it is unlinked, though another hard link keeps
// the file. That path names nothing; inspect says what happened instead of printing it as the file.
test(
  'inspect: a file whose opened name was unlinked while another link remains is "this name deleted; 1 other link", not deleted',
  { skip: linux },
  async () => {
    const c = await nodeChild(`const fs = require('fs'); const d = process.argv[1];
fs.writeFileSync(d + '/orig', 'data'); fs.linkSync(d + '/orig', d + '/other');
const unlinked = fs.openSync(d + '/orig', 'r'); fs.unlinkSync(d + '/orig');
fs.writeFileSync(d + '/real (deleted)', 'x'); const named = fs.openSync(d + '/real (deleted)', 'r');
fs.writeFileSync(d + '/gone', 'y'); const gone = fs.openSync(d + '/gone', 'r'); fs.unlinkSync(d + '/gone');
console.log(JSON.stringify({ unlinked, named, gone }));`);
    try {
      const json = await runCli(['inspect', String(c.pid), '--json']);
      assert.equal(json.code, 0, json.stderr);
      const out = JSON.parse(json.stdout) as ProcessInspection;
      assert.deepEqual(validate(out, schema), []);
      const fd = (n: number | undefined) => out.fds.find((f) => f.fd === n)!;
      const u = fd(c.info['unlinked']);
      assert.equal(u.target, `${c.dir}/orig (deleted)`, 'what the kernel says');
      assert.deepEqual([u.path, u.deleted, u.unlinkedName, u.links], [`${c.dir}/orig`, false, true, 1]);
      const n = fd(c.info['named']);
      assert.deepEqual(
        [n.path, n.deleted, n.unlinkedName],
        [`${c.dir}/real (deleted)`, false, false],
        'a file really named "… (deleted)"',
      );
      const g = fd(c.info['gone']);
      assert.deepEqual([g.path, g.deleted, g.unlinkedName, g.links], [`${c.dir}/gone`, true, false, 0]);
      assert.deepEqual(
        out.deleted.map((d) => d.fd),
        [c.info['gone']],
        'only the file with no links left is deleted',
      );

      const table = await runCli(['inspect', String(c.pid)], { env: { FORCE_COLOR: '0' } });
      assert.match(
        table.stdout,
        new RegExp(`^ *${c.info['unlinked']} +file .* ${c.dir}/orig \\(this name deleted; 1 other link\\)$`, 'm'),
      );
      assert.match(table.stdout, new RegExp(`^ *${c.info['named']} +file .* ${c.dir}/real \\(deleted\\)$`, 'm'));
      assert.match(table.stdout, /^deleted but open: 1 file, /m);
    } finally {
      c.stop();
    }
  },
);

test(
  'inspect of a thread id (a TID, not a TGID): exit 4 naming the process it belongs to',
  { skip: linux },
  async () => {
    const c = await nodeChild(`const { Worker } = require('worker_threads');
const w = new Worker('setInterval(() => {}, 60000)', { eval: true });
w.once('online', () => console.log(JSON.stringify({})));`);
    try {
      const tid = fs
        .readdirSync(`/proc/${c.pid}/task`)
        .map(Number)
        .find((t) => t !== c.pid)!;
      assert.ok(tid > 0, 'the child has threads');
      const run = await runCli(['inspect', String(tid)]);
      assert.equal(run.code, 4, run.stderr);
      assert.equal(run.stdout, '');
      assert.equal(
        run.stderr,
        `fdkeeper inspect: no process with pid ${tid} (${tid} is a thread (TID) of process ${c.pid}, not a process; run \`fdkeeper inspect ${c.pid}\`)\n`,
      );
      const watch = await runCli(['watch', String(tid), '--count', '1']);
      assert.equal(watch.code, 4, watch.stderr);
      // Control: the process itself is inspected.
      assert.equal((await runCli(['inspect', String(c.pid), '--json'])).code, 0);
    } finally {
      c.stop();
    }
  },
);

test('permission denied as root (or as the owner): the message says the kernel refused, never "run as that user or as root"', async () => {
  assert.match(whyDenied(1, 0, 0), /^even root may not read pid 1 here: the kernel's ptrace access check refused/);
  assert.doesNotMatch(whyDenied(1, 0, 0), /run as that user/);
  assert.match(
    whyDenied(7, 1000, 1000),
    /^pid 7 is this user's \(uid 1000\), but the kernel refused: it is not dumpable/,
  );
  assert.equal(whyDenied(7, 0, 1000), 'pid 7 belongs to uid 0 and this is uid 1000; run as that user or as root');
  // Where root really is refused (a container whose pid 1 is outside its namespace, like this VM's).
  let refused = false;
  try {
    fs.readdirSync('/proc/1/fd');
  } catch {
    refused = process.geteuid?.() === 0;
  }
  if (refused) {
    const run = await runCli(['inspect', '1']);
    assert.equal(run.code, 5);
    assert.match(
      run.stderr,
      /^fdkeeper inspect: permission denied reading \/proc\/1\/fd: even root may not read pid 1 here/,
    );
  }
});
