/**
 * The loss test of issue 5: log files must survive rotation (test/support/log-loss/). A writer process
 * emits sequence-numbered lines at 25,000 lines/s while a separate rotator process rotates the file at
 * random intervals of 20–250 ms in one style per run: (a) rename away (logrotate `create`), (b) delete,
 * (c) replace as vim does (write a copy of the file, rename it over), (d) copytruncate. The analysis
 * (test/support/log-loss/analysis.ts) counts a line lost when it is in no file left on disk although it
 * was written after the event that removed or replaced the file it went into (the rotator reads what a
 * removed inode held through its own descriptor), or when it is in no file at all; for copytruncate,
 * losses in logrotate's documented copy-then-truncate window are counted apart.
 *
 * Required of fdkeeper's LogFile: 0 lost in every style; for copytruncate only window losses; no
 * duplicates except in (c), where carry-over rewrites lines the editor's copy already held — only lines
 * written after the writer's last confirmed check, so none older than one check interval (+ the write
 * buffer's delay and the event loop's stalls) before the editor read the file. The control: plain
 * fs.createWriteStream under the same harness must lose most lines in (b) and (c); and a minimal
 * reference writer (reference-log.mjs) must lose none, so the harness tells a correct writer from a naive
 * one independently of LogFile. The table of every run is printed (docs/logs.md, "Loss test results",
 * keeps a measured one).
 *
 * Default: 3 s per run, two runs at a time. FDKEEPER_STRESS=1: 5 rounds of 10 s per style for fdkeeper,
 * and one more per style with `watch: false` (detection by the timer alone: more lines to carry).
 * The fdkeeper writer runs the built library: needs a current dist/ (`npm test` builds it first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from '../src/index.js';
import { analyze, type RotationEvent, type WriterReport } from './support/log-loss/analysis.js';
import {
  inParallel,
  lossTable,
  runLoss,
  STYLES,
  type Contender,
  type LossRunResult,
  type RotationStyle,
} from './support/log-loss/harness.js';
import { formatLine, LINE_BYTES, scanLines } from './support/log-loss/line.mjs';

const STRESS = process.env['FDKEEPER_STRESS'] !== undefined && process.env['FDKEEPER_STRESS'] !== '';
const DURATION_MS = STRESS ? 10_000 : 3_000;
const ROUNDS = STRESS ? 5 : 1;
const RATE = 25_000;
/** LogFile's defaults, which the fdkeeper writer uses. */
const CHECK_INTERVAL = 100;
const FLUSH_INTERVAL = 100;

// ---------------------------------------------------------------------------------------------------
// The analysis on hand-made inputs: it must call lost what is lost and nothing else.

function lines(...seqs: number[]): Buffer {
  return Buffer.from(seqs.map((s) => formatLine(s, 1000 + s)).join(''), 'latin1');
}

function writerOf(written: number, samples: number[] = []): WriterReport {
  return {
    written,
    start: 1000,
    emitEnd: 1000 + written,
    closed: 1000 + written + 1,
    maxStallMs: 1,
    samples,
    bursts: [1000, 0],
    reopens: 0,
    carried: [],
    errors: [],
    dropped: 0,
  };
}

test('analysis: a line in a deleted file written after the delete is lost unless it is on disk; before it is the rotator’s doing', () => {
  // Lines 0–1 were in the file when it was deleted (size 2 lines just after the unlink), 2–4 came after.
  const deleted: RotationEvent = {
    n: 1,
    before: 1001.5,
    at: 1001.6,
    ino: 11,
    fd: 20,
    sizeBefore: 2 * LINE_BYTES,
    sizeAfter: 2 * LINE_BYTES,
  };
  const removed = new Map([[1, lines(0, 1, 2, 3, 4)]]);
  const carried = analyze({
    style: 'delete',
    writer: writerOf(7),
    events: [deleted],
    onDisk: [{ name: 'app.log', ino: 12, bytes: lines(2, 3, 4, 5, 6) }],
    removed,
    fallbackLagMs: 0,
  });
  assert.equal(carried.lost, 0);
  assert.equal(carried.rotatorsDoing, 2);
  const notCarried = analyze({
    style: 'delete',
    writer: writerOf(7),
    events: [deleted],
    onDisk: [{ name: 'app.log', ino: 12, bytes: lines(5, 6) }],
    removed,
    fallbackLagMs: 0,
  });
  assert.equal(notCarried.lost, 3);
  assert.deepEqual(
    notCarried.lostSamples.map((l) => l.seq),
    [2, 3, 4],
  );
  // A line that is nowhere at all is lost too.
  const gap = analyze({
    style: 'delete',
    writer: writerOf(7),
    events: [deleted],
    onDisk: [{ name: 'app.log', ino: 12, bytes: lines(2, 3, 5, 6) }],
    removed,
    fallbackLagMs: 0,
  });
  assert.equal(gap.lost, 1);
  assert.equal(gap.lostSamples[0]!.where, 'event 1 at offset 400 (size after the event 200)');
});

test('analysis: a carried line whose new file was deleted in turn is the rotator’s doing, not a loss', () => {
  const first: RotationEvent = { n: 1, at: 1002, ino: 11, fd: 20, sizeBefore: LINE_BYTES, sizeAfter: LINE_BYTES };
  // Line 1 went into the first file after its delete, was carried into the second, which was deleted with it.
  const second: RotationEvent = {
    n: 2,
    at: 1004,
    ino: 12,
    fd: 21,
    sizeBefore: 2 * LINE_BYTES,
    sizeAfter: 2 * LINE_BYTES,
  };
  const r = analyze({
    style: 'delete',
    writer: writerOf(3),
    events: [first, second],
    onDisk: [{ name: 'app.log', ino: 13, bytes: lines(2) }],
    removed: new Map([
      [1, lines(0, 1)],
      [2, lines(1, 2)],
    ]),
    fallbackLagMs: 0,
  });
  assert.equal(r.lost, 0);
  assert.equal(r.rotatorsDoing, 2);
});

test('analysis: copytruncate counts only lines that reached the file inside the copy–truncate window as window losses', () => {
  const event: RotationEvent = { n: 1, copyStart: 1003.5, copied: 4 * LINE_BYTES, before: 1005.5, at: 1005.6, ino: 11 };
  // Lines 4 and 5 (emitted at 1004, 1005) are missing: inside the window. Line 7 (1007) is missing: outside.
  const onDisk = [
    { name: 'app.log.1', ino: 12, bytes: lines(0, 1, 2, 3) },
    { name: 'app.log', ino: 11, bytes: lines(6, 8) },
  ];
  const samples = [1000.5, 1 * LINE_BYTES, 1004.2, 5 * LINE_BYTES, 1005.2, 6 * LINE_BYTES, 1007.5, 9 * LINE_BYTES];
  const r = analyze({
    style: 'copytruncate',
    writer: { ...writerOf(9, samples), bursts: [1000, 0, 1004, 4, 1005, 5, 1006, 6, 1007, 7, 1008, 8] },
    events: [event],
    onDisk,
    removed: new Map(),
    fallbackLagMs: 0,
  });
  assert.equal(r.windowLost, 2);
  assert.equal(r.lost, 1);
  assert.equal(r.lostSamples[0]!.seq, 7);
  // Line 3 emitted before the copy but handed to the kernel inside the window, then missing: window too.
  const late = analyze({
    style: 'copytruncate',
    writer: writerOf(9, [1003.8, 4 * LINE_BYTES, 1009, 9 * LINE_BYTES]),
    events: [event],
    onDisk: [{ name: 'app.log', ino: 11, bytes: lines(0, 1, 2, 4, 5, 6, 7, 8) }],
    removed: new Map(),
    fallbackLagMs: 0,
  });
  assert.deepEqual([late.windowLost, late.lost], [1, 0]);
});

test('analysis: duplicates on disk are counted, and for an editor’s replace attributed to the event with their age', () => {
  // The editor read lines 0–2 at 1010; the writer carried lines 2–3 (written after its last check) behind the copy.
  const event: RotationEvent = {
    n: 1,
    readStart: 1010,
    readSize: 3 * LINE_BYTES,
    before: 1011,
    at: 1011.1,
    ino: 11,
    newIno: 12,
    fd: 20,
    sizeBefore: 4 * LINE_BYTES,
    sizeAfter: 4 * LINE_BYTES,
  };
  const r = analyze({
    style: 'replace',
    writer: writerOf(5),
    events: [event],
    onDisk: [{ name: 'app.log', ino: 12, bytes: Buffer.concat([lines(0, 1, 2), lines(2, 3, 4)]) }],
    removed: new Map([[1, lines(0, 1, 2, 3)]]),
    fallbackLagMs: 0,
  });
  assert.equal(r.lost, 0);
  assert.equal(r.duplicated, 1);
  assert.deepEqual(r.duplicatedPerEvent, [1]);
  assert.equal(r.maxDuplicateAgeMs, 1010 - 1002);
});

test('analysis: a writer that notices a replace only after the next one carries lines the first copy held: their age counts from that first read', () => {
  const first: RotationEvent = {
    n: 1,
    readStart: 1010,
    readSize: 3 * LINE_BYTES,
    at: 1011,
    ino: 11,
    newIno: 12,
    fd: 20,
    sizeBefore: 4 * LINE_BYTES,
    sizeAfter: 4 * LINE_BYTES,
  };
  const second: RotationEvent = {
    n: 2,
    readStart: 1100,
    readSize: 3 * LINE_BYTES,
    at: 1101,
    ino: 12,
    newIno: 13,
    fd: 21,
    sizeBefore: 3 * LINE_BYTES,
    sizeAfter: 3 * LINE_BYTES,
  };
  const r = analyze({
    style: 'replace',
    writer: writerOf(5),
    events: [first, second],
    onDisk: [{ name: 'app.log', ino: 13, bytes: Buffer.concat([lines(0, 1, 2), lines(2, 3, 4)]) }],
    removed: new Map([
      [1, lines(0, 1, 2, 3)],
      [2, lines(0, 1, 2)],
    ]),
    fallbackLagMs: 0,
  });
  assert.equal(r.lost, 0);
  assert.deepEqual(r.duplicatedPerEvent, [0, 1]);
  assert.equal(
    r.maxDuplicateAgeMs,
    1010 - 1002,
    'line 2 was first copied by the first read, 8 ms after it was emitted',
  );
});

test('line scanner: finds every intact line, also behind a torn one, and counts the torn bytes', () => {
  const a = formatLine(1, 1234.5);
  const b = formatLine(22, 1235);
  const bytes = Buffer.from(a.slice(0, 37) + b + '#3#' + a, 'latin1');
  const found: number[] = [];
  const torn = scanLines(bytes, (seq) => found.push(seq));
  assert.deepEqual(found, [22, 1]);
  assert.equal(torn, 37 + 3);
  assert.equal(a.length, LINE_BYTES);
});

// ---------------------------------------------------------------------------------------------------
// A deterministic case the runs showed (replace rows: more extra copies than duplicated lines, and
// duplicates older than one check interval): carried lines are carried again.

test('carry-over carries a line once: lines carried into the new file are not carried again when that file is replaced before the next timer check', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-log-recarry-'));
  const file = path.join(dir, 'app.log');
  /** An editor's save: a copy of the file as it is now, renamed over it. */
  const editorSave = (): void => {
    fs.writeFileSync(`${file}.swp`, fs.readFileSync(file));
    fs.renameSync(`${file}.swp`, file);
  };
  // Detection only by checkNow(): the checks around writes would see each replace first.
  const log = openLog(file, { watch: false, checkInterval: 60_000, checkAroundWrites: false });
  try {
    const write = (from: number, to: number): void => {
      for (let seq = from; seq < to; seq++) log.write(formatLine(seq, 0));
      log.flushSync();
    };
    write(0, 10);
    assert.equal(log.checkNow(), undefined, 'lines 0–9 confirmed');
    editorSave(); // the copy holds 0–9
    write(10, 20); // into the replaced file, after the copy
    assert.equal(log.checkNow(), 'replaced'); // reopens: the new file = copy 0–9 + carried 10–19
    editorSave(); // the copy holds 0–19: the path still named the new file when 10–19 were carried into it
    write(20, 30);
    assert.equal(log.checkNow(), 'replaced');
  } finally {
    log.closeSync();
  }
  const counts = new Map<number, number>();
  scanLines(fs.readFileSync(file), (seq) => counts.set(seq, (counts.get(seq) ?? 0) + 1));
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(
    [...counts.keys()].sort((a, b) => a - b),
    Array.from({ length: 30 }, (_, i) => i),
    'every line is in the file',
  );
  const twice = [...counts].filter(([, c]) => c > 1).map(([seq, c]) => `#${seq}×${c}`);
  assert.deepEqual(
    twice,
    [],
    'lines 10–19 were carried once already and were in the second copy: carrying them again duplicates them',
  );
});

// ---------------------------------------------------------------------------------------------------
// The runs. All start at once (two at a time: the machine has two cores and other test files run too);
// each test awaits its own.

interface RunKey {
  readonly contender: Contender;
  readonly style: RotationStyle;
  readonly round: number;
  /** Stress only: the LogFile without its fs.watch hint (the timer alone), where more lines are carried. */
  readonly timerOnly?: boolean;
}

const KEYS: RunKey[] = [];
for (let round = 0; round < ROUNDS; round++)
  for (const style of STYLES) KEYS.push({ contender: 'fdkeeper', style, round });
for (const style of STYLES) KEYS.push({ contender: 'createWriteStream', style, round: 0 });
for (const style of ['delete', 'replace'] as const) KEYS.push({ contender: 'reference', style, round: 0 });
if (STRESS) for (const style of STYLES) KEYS.push({ contender: 'fdkeeper', style, round: 0, timerOnly: true });

let started: Map<string, Promise<LossRunResult>> | undefined;
const keyOf = (k: RunKey): string => `${k.contender}/${k.style}/${k.round}${k.timerOnly === true ? '/timer-only' : ''}`;

/** Starts every run on first use; the result of one. */
function resultOf(k: RunKey): Promise<LossRunResult> {
  if (started === undefined) {
    const map = new Map<string, Promise<LossRunResult>>();
    const settled = new Map<string, { resolve: (r: LossRunResult) => void; reject: (e: unknown) => void }>();
    for (const key of KEYS) {
      map.set(
        keyOf(key),
        new Promise<LossRunResult>((resolve, reject) => {
          settled.set(keyOf(key), { resolve, reject });
        }),
      );
    }
    for (const p of map.values()) p.catch(() => undefined);
    void inParallel(
      2,
      KEYS.map((key) => async () => {
        const s = settled.get(keyOf(key))!;
        try {
          s.resolve(
            await runLoss({
              contender: key.contender,
              style: key.style,
              durationMs: key.contender === 'fdkeeper' ? DURATION_MS : 3_000,
              rate: RATE,
              checkInterval: CHECK_INTERVAL,
              ...(key.timerOnly === true ? { logOptions: { watch: false }, label: 'fdkeeper, watch: false' } : {}),
            }),
          );
        } catch (e) {
          s.reject(e);
        }
      }),
    );
    started = map;
  }
  return started.get(keyOf(k))!;
}

function describeRun(r: LossRunResult): string {
  return (
    `${r.style} × ${r.label} (seed ${r.seed}): ${r.written} written at ${r.rate} lines/s, ${r.lost} lost, ${r.windowLost} window-lost, ` +
    `${r.duplicated} duplicated (${r.extraCopies} extra copies), ${r.reopens} reopens, ${r.events} events (+${r.skippedEvents} skipped: nothing at the path), ` +
    `${r.rotatorsDoing} removed with their file, ${r.inFlight} written during a rotator call, ${r.tornBytes} torn bytes, ` +
    `longest writer stall ${r.maxStallMs.toFixed(0)} ms${r.lostSamples.length > 0 ? `; first lost: ${JSON.stringify(r.lostSamples.slice(0, 3))}` : ''}`
  );
}

/** What every fdkeeper run must show whatever the style. */
function assertHealthyRun(r: LossRunResult): void {
  assert.deepEqual(r.writerErrors, [], 'the LogFile reported errors');
  assert.equal(r.dropped, 0, 'the LogFile dropped records');
  assert.equal(r.written, Math.round((DURATION_MS * RATE) / 1000));
  assert.ok(r.rate >= 20_000, `only ${r.rate} lines/s`);
  assert.ok(r.events >= DURATION_MS / 1000, `only ${r.events} rotations in ${DURATION_MS} ms`);
  assert.equal(r.foreign, 0, 'lines the writer never emitted');
}

const VARIANTS: { round: number; timerOnly: boolean }[] = Array.from({ length: ROUNDS }, (_, round) => ({
  round,
  timerOnly: false,
}));
if (STRESS) VARIANTS.push({ round: 0, timerOnly: true });

for (const { round, timerOnly } of VARIANTS) {
  const suffix = timerOnly
    ? ' [watch: false, the timer alone]'
    : ROUNDS > 1
      ? ` (round ${round + 1} of ${ROUNDS})`
      : '';

  test(
    `fdkeeper LogFile, (a) renamed away (logrotate create): 0 lost, 0 duplicated, every rotation reopened${suffix}`,
    { timeout: 600_000 },
    async (t) => {
      const r = await resultOf({ contender: 'fdkeeper', style: 'rename', round, timerOnly });
      t.diagnostic(describeRun(r));
      assertHealthyRun(r);
      assert.equal(r.lost, 0, describeRun(r));
      assert.equal(r.duplicated, 0, 'a renamed file keeps its lines: nothing may be carried from it');
      assert.equal(r.tornBytes, 0, 'every line is written whole');
      assert.equal(
        r.writer.stats === undefined ? undefined : (r.writer.stats as { carried: { bytes: number } }).carried.bytes,
        0,
      );
      assert.ok(r.reopens >= r.events - 1, `${r.reopens} reopens for ${r.events} renames`);
    },
  );

  test(
    `fdkeeper LogFile, (b) deleted: 0 lost (lines written into the deleted file are carried over), 0 duplicated${suffix}`,
    { timeout: 600_000 },
    async (t) => {
      const r = await resultOf({ contender: 'fdkeeper', style: 'delete', round, timerOnly });
      t.diagnostic(describeRun(r));
      assertHealthyRun(r);
      assert.equal(r.lost, 0, describeRun(r));
      assert.equal(r.duplicated, 0, 'a deleted file is on disk nowhere: carrying from it duplicates nothing');
      assert.equal(r.tornBytes, 0, 'every line is written whole');
      assert.ok(r.reopens >= r.events - 1, `${r.reopens} reopens for ${r.events} deletes`);
    },
  );

  test(
    `fdkeeper LogFile, (c) replaced as vim does: 0 lost; duplicates only of lines the editor's copy held, at most one check interval old${suffix}`,
    { timeout: 600_000 },
    async (t) => {
      const r = await resultOf({ contender: 'fdkeeper', style: 'replace', round, timerOnly });
      const dupBound = CHECK_INTERVAL + FLUSH_INTERVAL + 2 * r.maxStallMs + 50;
      t.diagnostic(
        `${describeRun(r)}; duplicated per event ${JSON.stringify(r.duplicatedPerEvent)}, oldest ${r.maxDuplicateAgeMs.toFixed(1)} ms before the editor's read (bound ${dupBound.toFixed(0)} ms)`,
      );
      assertHealthyRun(r);
      assert.equal(r.lost, 0, describeRun(r));
      const explained = r.duplicatedPerEvent.reduce((a, b) => a + b, 0);
      assert.ok(
        r.duplicated <= explained,
        `${r.duplicated} duplicated lines on disk, only ${explained} explained by carry-over behind an editor's copy`,
      );
      // By the design a duplicated line is in the editor's copy and carried once: two copies, never more.
      assert.equal(
        r.extraCopies,
        r.duplicated,
        `${r.extraCopies - r.duplicated} extra copies beyond the second: carried lines carried again (see the 'carries a line once' test)`,
      );
      assert.ok(
        r.maxDuplicateAgeMs <= dupBound,
        `a duplicated line was emitted ${r.maxDuplicateAgeMs.toFixed(1)} ms before the editor read the file (bound ${dupBound.toFixed(0)} ms): carry-over started before the last confirmed check`,
      );
      assert.ok(r.reopens >= 1);
    },
  );

  test(
    `fdkeeper LogFile, (d) copytruncate: no loss outside logrotate's copy-then-truncate window, 0 duplicated${suffix}`,
    { timeout: 600_000 },
    async (t) => {
      const r = await resultOf({ contender: 'fdkeeper', style: 'copytruncate', round, timerOnly });
      t.diagnostic(describeRun(r));
      assertHealthyRun(r);
      assert.equal(r.lost, 0, describeRun(r));
      assert.equal(r.duplicated, 0, 'copytruncate keeps the inode: nothing may be carried');
      assert.ok(
        r.writer.samples.length > 0,
        'the LogFile reports bytesWritten, which bounds when a line reached the file',
      );
    },
  );
}

test(
  'control: fs.createWriteStream under the same harness loses most lines when the file is deleted or replaced',
  { timeout: 600_000 },
  async (t) => {
    const rows = await Promise.all(
      STYLES.map((style) => resultOf({ contender: 'createWriteStream', style, round: 0 })),
    );
    for (const r of rows) t.diagnostic(describeRun(r));
    const by = new Map(rows.map((r) => [r.style, r]));
    for (const style of ['delete', 'replace'] as const) {
      const r = by.get(style)!;
      assert.ok(
        r.lost >= r.written / 2,
        `createWriteStream lost only ${r.lost} of ${r.written} lines with ${style}: the harness cannot see the loss (${describeRun(r)})`,
      );
    }
    // Renamed files keep their lines and copytruncate keeps the inode: by the issue's definition nothing is
    // lost there even without reopening (the lines go to the rotated file, or after the truncation).
    assert.equal(by.get('rename')!.lost, 0, describeRun(by.get('rename')!));
    assert.equal(by.get('copytruncate')!.lost, 0, describeRun(by.get('copytruncate')!));
  },
);

test(
  'positive control of the harness: a 75-line reference writer (a check every 100 ms, carry-over from unlinked files) loses nothing when deleted or replaced',
  { timeout: 600_000 },
  async (t) => {
    // test/support/log-loss/reference-log.mjs: independent of LogFile, so a LogFile failure above cannot
    // be the harness calling a correct writer lossy.
    for (const style of ['delete', 'replace'] as const) {
      const r = await resultOf({ contender: 'reference', style, round: 0 });
      t.diagnostic(describeRun(r));
      assert.equal(r.lost, 0, describeRun(r));
      assert.ok(r.events >= 3 && r.reopens >= 3, describeRun(r));
    }
  },
);

test('the loss table (every run)', { timeout: 600_000 }, async () => {
  const all = await Promise.allSettled(KEYS.map(resultOf));
  const done = all.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  console.log(
    `loss test: ${DURATION_MS / 1000} s per fdkeeper run, ${RATE} lines/s, rotations every 20–250 ms\n${lossTable(done)}`,
  );
  assert.equal(done.length, KEYS.length, all.map((s) => (s.status === 'rejected' ? String(s.reason) : '')).join(' '));
});
