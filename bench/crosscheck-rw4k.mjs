#!/usr/bin/env node
// Cross-check of groups 2a/2b (sync 4 KiB reads) without the harness: one tight loop per contender,
// the same descriptor work as the harness rows, 16 rounds alternating order, median of per-round ratios.
// Run after `npm run build`: node bench/crosscheck-rw4k.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileTable, openSync } from '../dist/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-crosscheck-'));
const p = path.join(dir, 'read-1m.bin');
fs.writeFileSync(p, Buffer.alloc(1 << 20, 1));
const fd = fs.openSync(p, 'r');
const b = Buffer.alloc(4096);
const table = new FileTable();
const tfd = table.openSync(p, 'r');
const desc = table.openDescriptorSync(p, 'r');
const raw = openSync(p, 'rb', { buffering: 0 });
const N = 256 * 800;
const contenders = {
  'node:fs readSync at 0': () => {
    for (let i = 0; i < N; i++) fs.readSync(fd, b, 0, 4096, 0);
  },
  'Descriptor.readSync(b, 0, 4096, 0)': () => {
    for (let i = 0; i < N; i++) desc.readSync(b, 0, 4096, 0);
  },
  'table.readSync(fd, b, 0, 4096, 0)': () => {
    for (let i = 0; i < N; i++) table.readSync(tfd, b, 0, 4096, 0);
  },
  'node:fs readSync sequential': () => {
    let pos = 0;
    for (let i = 0; i < N; i++) {
      if (pos === 1 << 20) pos = 0;
      pos += fs.readSync(fd, b, 0, 4096, pos);
    }
  },
  'Descriptor.readSync(b) sequential': () => {
    for (let i = 0; i < N; i++) {
      if (i % 256 === 0) desc.seek(0);
      desc.readSync(b);
    }
  },
  'table.readSync(fd, b) sequential': () => {
    for (let i = 0; i < N; i++) {
      if (i % 256 === 0) table.seek(tfd, 0);
      table.readSync(tfd, b);
    }
  },
  'RawFile.readintoSync sequential': () => {
    for (let i = 0; i < N; i++) {
      if (i % 256 === 0) raw.seek(0);
      raw.readintoSync(b);
    }
  },
};
const names = Object.keys(contenders);
const times = Object.fromEntries(names.map((k) => [k, []]));
for (let r = 0; r < 16; r++) {
  for (const k of r % 2 ? [...names].reverse() : names) {
    const t0 = process.hrtime.bigint();
    contenders[k]();
    times[k].push(Number(process.hrtime.bigint() - t0) / N);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k of names) {
  const base = k.endsWith('sequential') ? 'node:fs readSync sequential' : 'node:fs readSync at 0';
  const ratio = median(times[k].map((v, i) => v / times[base][i]));
  console.log(`${k.padEnd(36)} ${median(times[k]).toFixed(0).padStart(5)} ns/op   time ÷ raw ${ratio.toFixed(3)}×`);
}
raw.closeSync();
desc.closeSync();
table.closeSync(tfd);
fs.closeSync(fd);
fs.rmSync(dir, { recursive: true, force: true });
