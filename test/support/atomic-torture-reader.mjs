// Reader child of test/atomic-torture.test.ts:
//
//   node atomic-torture-reader.mjs <target> [nice]
//
// Reads <target> whole (fs.readFileSync) as fast as it can and validates every read
// (atomic-torture-content.mjs) until its stdin ends, then prints one JSON line: how many reads (attempts), how
// many valid, how many times the content changed, the misses before the file first appeared, and the invalid
// reads (counted by reason; the first few described). A missing file is valid only until the first
// successful read: an atomic replace never removes the target.
import fs from 'node:fs';
import os from 'node:os';
import { validate } from './atomic-torture-content.mjs';

const [target, nice] = process.argv.slice(2);
if (target === undefined) {
  process.stderr.write('usage: atomic-torture-reader.mjs <target> [nice]\n');
  process.exit(2);
}

const stats = { reads: 0, valid: 0, changes: 0, missingBeforeFirst: 0, invalid: 0, reasons: {}, samples: [] };
let lastId;
let seen = false;
let stop = false;

function invalid(reason, bytes) {
  stats.invalid++;
  stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
  if (stats.samples.length < 5)
    stats.samples.push({
      reason,
      length: bytes?.length ?? -1,
      head: bytes === undefined ? '' : bytes.subarray(0, 40).toString('latin1'),
    });
}

function readOnce() {
  let bytes;
  stats.reads++;
  try {
    bytes = fs.readFileSync(target);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    if (seen) invalid('missing');
    else stats.missingBeforeFirst++;
    return;
  }
  const v = validate(bytes);
  if (!v.ok) {
    invalid(v.reason, bytes);
    return;
  }
  seen = true;
  stats.valid++;
  if (v.id !== lastId) {
    stats.changes++;
    lastId = v.id;
  }
}

function batch() {
  if (stop) {
    process.stdout.write(JSON.stringify(stats) + '\n');
    return;
  }
  for (let i = 0; i < 20; i++) readOnce();
  setImmediate(batch);
}

process.stdin.on('data', () => {});
process.stdin.on('end', () => (stop = true));
process.stdin.on('error', () => (stop = true));
// A lower priority: the readers take the CPU the writers (and their respawns) leave, not more.
os.setPriority(Number(nice ?? 0));
process.stdout.write('R');
batch();
