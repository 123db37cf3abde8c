// Writer child of the log loss test (test/support/log-loss/harness.ts):
//
//   node writer.mjs '<json WriterConfig>'
//
// Opens the log with one contender — `fdkeeper` (openLog from the built library, dist/), `createWriteStream`
// (fs.createWriteStream(path, { flags: 'a' }), the naive row) or `reference` (reference-log.mjs, the
// harness's own positive control) — prints 'R', waits for a line 'go' on stdin, then emits sequence-numbered lines (line.mjs) at `rate`
// lines/s for `durationMs`: every millisecond a burst brings the count up to rate × elapsed time, so a
// stalled event loop catches up instead of lowering the rate. Each line is one write() call, as a logger
// makes them. It then prints 'E', closes the log cleanly and writes its report (JSON) to `report`.
//
// It records each burst (instant, first sequence number), so that the analysis knows when a line that is
// found nowhere was emitted. While emitting it samples, once per tick, how many bytes the contender has handed to the kernel (when
// the contender says): the analysis uses these samples to bound when a line reached the file.
import fs from 'node:fs';
import { formatLine, now, waitForGo } from './line.mjs';
import { ReferenceLog } from './reference-log.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { contender, path, durationMs, rate, report, checkInterval } = config;

/** The contender behind one interface: write a line, bytes handed to the kernel (or undefined), close. */
async function openContender() {
  if (contender === 'fdkeeper') {
    const { openLog } = await import(new URL('../../../dist/index.js', import.meta.url).href);
    const log = openLog(path, { checkInterval, ...(config.logOptions ?? {}) });
    const errors = [];
    let reopens = 0;
    const carried = [];
    log.on('reopen', (e) => {
      reopens++;
      carried.push({ reason: e.reason, ...e.carried });
    });
    log.on('error', (e) => errors.push(`${e.code} ${e.message}`));
    return {
      write: (line) => log.write(line),
      kernelBytes: () => kernelBytesOf(log.stats),
      close: () => log.close(),
      report: () => ({ reopens, carried, errors, dropped: log.dropped, stats: log.stats }),
    };
  }
  if (contender === 'createWriteStream') {
    const stream = fs.createWriteStream(path, { flags: 'a' });
    const errors = [];
    stream.on('error', (e) => errors.push(`${e.code} ${e.message}`));
    await new Promise((resolve, reject) => {
      stream.once('open', resolve);
      stream.once('error', reject);
    });
    return {
      write: (line) => stream.write(line),
      kernelBytes: () => stream.bytesWritten,
      close: () => new Promise((resolve) => stream.end(resolve)),
      report: () => ({ reopens: 0, carried: [], errors, dropped: 0 }),
    };
  }
  if (contender === 'reference') {
    const log = new ReferenceLog(path, checkInterval);
    return {
      write: (line) => log.write(line),
      tick: () => log.tick(),
      kernelBytes: () => log.bytesWritten,
      close: async () => log.close(),
      report: () => ({ reopens: log.reopens, carried: [], errors: [], dropped: 0 }),
    };
  }
  throw new Error(`unknown contender ${contender}`);
}

/** Bytes of this writer's own lines a LogFile has written (its stats count carried copies too). */
function kernelBytesOf(stats) {
  return stats.bytesWritten - stats.carried.bytes;
}

const log = await openContender();
process.stdout.write('R');
// Emitting starts when the parent says so (once the rotator runs), so that every run is rotated from its start.
await waitForGo();

const start = now();
const samples = [];
const bursts = [];
let seq = 0;
let lastTick = start;
let maxStallMs = 0;
let lastBytes = -1;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const t = now();
    maxStallMs = Math.max(maxStallMs, t - lastTick);
    lastTick = t;
    const elapsed = t - start;
    const due = elapsed >= durationMs ? Math.round((durationMs * rate) / 1000) : Math.floor((elapsed * rate) / 1000);
    if (seq < due) bursts.push(t, seq);
    while (seq < due) log.write(formatLine(seq++, now()));
    log.tick?.();
    const bytes = log.kernelBytes();
    if (bytes !== undefined && bytes !== lastBytes) {
      samples.push(now(), bytes);
      lastBytes = bytes;
    }
    if (elapsed >= durationMs) {
      clearInterval(timer);
      resolve();
    }
  }, 1);
});
const emitEnd = now();
process.stdout.write('E');
await log.close();
const closed = now();
fs.writeFileSync(
  report,
  JSON.stringify({ written: seq, start, emitEnd, closed, maxStallMs, samples, bursts, ...log.report() }),
);
