// A process with known descriptors for `fdkeeper inspect` / `watch` tests. Started as
// `sleep N | node cli-fd-child.mjs DIR [--leak MS]`, so its stdin (fd 0) is a real anonymous pipe.
// It opens, in DIR: a.log twice (append, then read: the same file through two descriptors), gone.log
// (5000 bytes, then unlinked: deleted but open), 'live (deleted)' (not deleted), the directory itself, a FIFO (read-write, non-blocking),
// and a TCP server on 127.0.0.1 with a client connected to it. Then it prints one JSON line describing
// what it opened (numbers from the calls themselves, not from /proc) and waits.
// With --leak MS it then opens DIR/leak.N every MS milliseconds and never closes them.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = process.argv[2];
const leakIndex = process.argv.indexOf('--leak');
const leakMs = leakIndex < 0 ? undefined : Number(process.argv[leakIndex + 1]);
const opened = [];

const logPath = path.join(dir, 'a.log');
const appendFd = fs.openSync(logPath, 'a');
fs.writeSync(appendFd, 'hello world\n'); // offset 12
opened.push({
  fd: appendFd,
  kind: 'file',
  path: logPath,
  pos: 12,
  size: 12,
  access: 'write',
  flags: ['O_APPEND', 'O_CLOEXEC'],
});
const readFd = fs.openSync(logPath, 'r');
fs.readSync(readFd, Buffer.alloc(5), 0, 5, null); // offset 5
opened.push({ fd: readFd, kind: 'file', path: logPath, pos: 5, size: 12, access: 'read', flags: ['O_CLOEXEC'] });

const gonePath = path.join(dir, 'gone.log');
const goneFd = fs.openSync(gonePath, 'w');
fs.writeSync(goneFd, Buffer.alloc(5000, 120));
fs.unlinkSync(gonePath);
opened.push({
  fd: goneFd,
  kind: 'file',
  path: gonePath,
  deleted: true,
  pos: 5000,
  size: 5000,
  access: 'write',
  flags: ['O_CLOEXEC'],
});

// A live file whose name ends like the kernel's marker: only the link count tells them apart.
const trickPath = path.join(dir, 'live (deleted)');
const trickFd = fs.openSync(trickPath, 'w');
opened.push({
  fd: trickFd,
  kind: 'file',
  path: trickPath,
  deleted: false,
  pos: 0,
  size: 0,
  access: 'write',
  flags: ['O_CLOEXEC'],
});

const dirFd = fs.openSync(dir, 'r');
opened.push({ fd: dirFd, kind: 'dir', path: dir, pos: 0, access: 'read', flags: ['O_CLOEXEC'] });

const fifoPath = path.join(dir, 'fifo');
if (spawnSync('mkfifo', [fifoPath]).status !== 0) throw new Error('mkfifo failed');
const fifoFd = fs.openSync(fifoPath, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
opened.push({ fd: fifoFd, kind: 'pipe', path: fifoPath, access: 'read-write', flags: ['O_NONBLOCK', 'O_CLOEXEC'] });

/** Every open descriptor number, found by fstat (no /proc involved). */
function probeFds() {
  const fds = [];
  for (let fd = 0; fd < 1024; fd++) {
    try {
      fs.fstatSync(fd);
      fds.push(fd);
    } catch {
      // not open
    }
  }
  return fds;
}

const server = net.createServer();
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  server.once('connection', (accepted) => {
    // Give the client's connect callback a turn, then report.
    setImmediate(() => {
      opened.push({
        fd: server._handle.fd,
        kind: 'socket',
        socket: { protocol: 'tcp', local: `127.0.0.1:${port}`, remote: null, state: 'LISTEN' },
      });
      opened.push({
        fd: client._handle.fd,
        kind: 'socket',
        socket: {
          protocol: 'tcp',
          local: `127.0.0.1:${client.localPort}`,
          remote: `127.0.0.1:${port}`,
          state: 'ESTABLISHED',
        },
      });
      opened.push({
        fd: accepted._handle.fd,
        kind: 'socket',
        socket: {
          protocol: 'tcp',
          local: `127.0.0.1:${port}`,
          remote: `127.0.0.1:${accepted.remotePort}`,
          state: 'ESTABLISHED',
        },
      });
      process.stdout.write(JSON.stringify({ pid: process.pid, opened, fds: probeFds() }) + '\n');
      if (leakMs !== undefined) {
        let n = 0;
        setInterval(() => fs.openSync(path.join(dir, `leak.${n++}`), 'w'), leakMs);
      }
    });
  });
  const client = net.connect(port, '127.0.0.1');
});
setInterval(() => {}, 1 << 30);
