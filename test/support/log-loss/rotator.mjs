// Rotator child of the log loss test (test/support/log-loss/harness.ts):
//
//   node rotator.mjs '<json RotatorConfig>'
//
// At random intervals (uniform in [minMs, maxMs], from a seeded generator so that a run can be
// replayed) it rotates the log at `path` in ONE style:
//   rename        logrotate `create`: rename to a unique rotated name, left on disk
//   delete        unlink
//   replace       as vim saves: read the file (vim's buffer), write that copy to a new file, rename it over
//   copytruncate  logrotate `copytruncate`: copy to a unique rotated name, then truncate in place
// Before each destructive event (delete, replace) it opens its own descriptor on the inode that is about
// to go and keeps it open to the end: the parent reads what that inode held at the end through
// /proc/<pid>/fd/<fd>. Each event records the instants (line.mjs's clock) around its system calls and
// the inode's size just before and just after, so that the analysis can tell lines that were in the file
// when it went (the rotator's doing) from lines written after (which a rotation-proof writer must save).
//
// Protocol: prints 'R' once started; on a line 'stop' on stdin it stops rotating and prints its report
// (one JSON line); it keeps its descriptors open until stdin ends, then exits.
import fs from 'node:fs';
import nodePath from 'node:path';
import { generator, now } from './line.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { style, path, seed, minMs, maxMs } = config;
const dir = nodePath.dirname(path);
const base = nodePath.basename(path);

const random = generator(seed);

const events = [];
let stopped = false;
let timer;

function openOrSkip(flags) {
  try {
    return fs.openSync(path, flags);
  } catch (e) {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/** One rotation; returns its record. Every event's `at` is the instant its destructive call returned. */
function rotate(n) {
  const rotated = nodePath.join(dir, `${base}.${n}`);
  if (style === 'rename') {
    const before = now();
    try {
      fs.renameSync(path, rotated);
    } catch (e) {
      if (e.code === 'ENOENT') return { n, skipped: 'ENOENT', at: before };
      throw e;
    }
    return { n, before, at: now(), ino: fs.statSync(rotated).ino, rotated: nodePath.basename(rotated) };
  }
  if (style === 'delete') {
    const fd = openOrSkip('r');
    if (fd === undefined) return { n, skipped: 'ENOENT', at: now() };
    const ino = fs.fstatSync(fd).ino;
    const sizeBefore = fs.fstatSync(fd).size;
    const before = now();
    fs.unlinkSync(path);
    const at = now();
    const sizeAfter = fs.fstatSync(fd).size;
    return { n, before, at, ino, fd, sizeBefore, sizeAfter };
  }
  if (style === 'replace') {
    const fd = openOrSkip('r');
    if (fd === undefined) return { n, skipped: 'ENOENT', at: now() };
    const ino = fs.fstatSync(fd).ino;
    // vim's buffer: what the file held when it was read.
    const readStart = now();
    const content = readAll(fd);
    const temp = nodePath.join(dir, `.${base}.swp${n}`);
    fs.writeFileSync(temp, content);
    const sizeBefore = fs.fstatSync(fd).size;
    const before = now();
    fs.renameSync(temp, path);
    const at = now();
    const sizeAfter = fs.fstatSync(fd).size;
    return {
      n,
      readStart,
      readSize: content.length,
      before,
      at,
      ino,
      newIno: fs.statSync(path).ino,
      fd,
      sizeBefore,
      sizeAfter,
    };
  }
  if (style === 'copytruncate') {
    const fd = openOrSkip('r+');
    if (fd === undefined) return { n, skipped: 'ENOENT', at: now() };
    const ino = fs.fstatSync(fd).ino;
    const copyStart = now();
    const out = fs.openSync(rotated, 'wx');
    const chunk = Buffer.alloc(1 << 20);
    let copied = 0;
    for (;;) {
      const got = fs.readSync(fd, chunk, 0, chunk.length, copied);
      if (got === 0) break;
      fs.writeSync(out, chunk, 0, got);
      copied += got;
    }
    fs.closeSync(out);
    const before = now();
    fs.ftruncateSync(fd, 0);
    const at = now();
    fs.closeSync(fd);
    return { n, copyStart, copied, before, at, ino, rotated: nodePath.basename(rotated) };
  }
  throw new Error(`unknown style ${style}`);
}

function readAll(fd) {
  const parts = [];
  const chunk = Buffer.alloc(1 << 20);
  let pos = 0;
  for (;;) {
    const got = fs.readSync(fd, chunk, 0, chunk.length, pos);
    if (got === 0) break;
    parts.push(Buffer.from(chunk.subarray(0, got)));
    pos += got;
  }
  return Buffer.concat(parts);
}

function schedule() {
  timer = setTimeout(
    () => {
      if (stopped) return;
      events.push(rotate(events.length + 1));
      schedule();
    },
    minMs + random() * (maxMs - minMs),
  );
}

process.stdout.write('R');
schedule();

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (s) => {
  input += s;
  if (!stopped && input.includes('stop\n')) {
    stopped = true;
    clearTimeout(timer);
    process.stdout.write(JSON.stringify({ pid: process.pid, events }) + '\n');
  }
});
// The descriptors stay open until the parent has read through them and ends stdin.
process.stdin.on('end', () => process.exit(0));
