/**
 * Logs under the real logrotate (issue 10): every fdkeeper writer — openLog, pino + logDestination, the
 * pino transport fdkeeper/pino (a worker thread), winston + LogTransport — logs 10,000 records/s while
 * this process runs `logrotate -f -v -s state conf` every 100–500 ms with one configuration: create,
 * nocreate, create + compress, create + postrotate kill -HUP, copytruncate. Required for all but
 * copytruncate: 0 lost, 0 duplicated, 0 torn, every logrotate run exits 0, the writer exits 0. For
 * copytruncate (lossy for every writer: logrotate's copy-then-truncate window) about as many lost as the
 * best plain writer of the same run (pino's own recipe, winston's File): see the bound below.
 *
 * The controls show the harness can fail: pino.destination without a HUP under create + compress loses
 * most records (its file is compressed and deleted under it), and the previous behaviour (renameGrace: 0,
 * checkAroundWrites: false) makes logrotate fail (stress only: it needs many rotations to hit the race).
 *
 * `npm test` runs each cell for 2.5 s; FDKEEPER_STRESS=1 runs 10 s cells, FDKEEPER_STRESS_ROUNDS times
 * (default 3), and prints the full table (docs/logs.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ensureLogrotate,
  FDKEEPER_WRITERS,
  PLAIN_WRITERS,
  ROTATE_CONFIGS,
  rotateTable,
  runLogrotate,
  type RotateConfig,
  type RotateRunResult,
  type RotateWriter,
} from './support/log-loss/logrotate.js';

const STRESS = process.env['FDKEEPER_STRESS'] === '1';
const DURATION_MS = STRESS ? 10_000 : 2_500;
const ROUNDS = STRESS ? Math.max(1, Number(process.env['FDKEEPER_STRESS_ROUNDS'] ?? 3)) : 1;

const found = process.platform === 'linux' ? ensureLogrotate() : { skip: 'logrotate runs on Linux only' };
const skip = 'skip' in found ? found.skip : false;
const logrotate = 'path' in found ? found.path : '';

const all: RotateRunResult[] = [];

function describeRun(r: RotateRunResult): string {
  const failures = r.failedRotations.map((f) => `  logrotate exit ${String(f.status)}: ${f.errors}`).join('\n');
  return `${r.label} × ${r.config} (seed ${r.seed}): ${r.written} written, ${r.lost} lost, ${r.duplicated} duplicated, ${r.torn} torn, ${r.rotations} rotations (${r.failedRotations.length} failed), writer ${r.writerEnd}${r.writerErrors.length > 0 ? `, errors: ${r.writerErrors.slice(0, 3).join('; ')}` : ''}${failures === '' ? '' : `\n${failures}`}`;
}

async function run(
  writer: RotateWriter,
  config: RotateConfig,
  extra: { logOptions?: Record<string, unknown>; label?: string } = {},
): Promise<RotateRunResult> {
  const r = await runLogrotate({ logrotate, writer, config, durationMs: DURATION_MS, ...extra });
  all.push(r);
  return r;
}

function assertClean(r: RotateRunResult): void {
  const what = describeRun(r);
  assert.ok(r.rotations >= 3, `enough rotations: ${what}`);
  assert.equal(r.writerEnd, 'exit 0', `the writer exits normally: ${what}`);
  assert.equal(r.failedRotations.length, 0, `every logrotate run exits 0: ${what}`);
  assert.equal(r.lost, 0, `nothing lost: ${what}`);
  assert.equal(r.duplicated, 0, `nothing duplicated: ${what}`);
  assert.equal(r.torn, 0, `nothing torn: ${what}`);
}

for (const config of ROTATE_CONFIGS.filter((c) => c !== 'copytruncate')) {
  test(
    `real logrotate, ${config}: every fdkeeper writer — 0 lost, 0 duplicated, 0 torn, logrotate exits 0, the writer exits 0`,
    { skip, timeout: 900_000 },
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        for (const writer of FDKEEPER_WRITERS) assertClean(await run(writer, config));
        if (STRESS) for (const writer of PLAIN_WRITERS) await run(writer, config);
      }
    },
  );
}

test(
  'real logrotate, copytruncate: the fdkeeper writers lose about as much as the plain writers (the copy-truncate window), and nothing else goes wrong',
  { skip, timeout: 900_000 },
  async () => {
    const plain: RotateRunResult[] = [];
    const ours: RotateRunResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const writer of PLAIN_WRITERS) plain.push(await run(writer, 'copytruncate'));
      for (const writer of FDKEEPER_WRITERS) {
        const r = await run(writer, 'copytruncate');
        ours.push(r);
        const what = describeRun(r);
        assert.equal(r.writerEnd, 'exit 0', what);
        assert.equal(r.failedRotations.length, 0, what);
        assert.equal(r.duplicated, 0, what);
        // logrotate copies as many bytes as its stat saw; a stat taken while a write was landing can end the
        // copy inside a line: at most one torn line per copy (the issue's run saw one with pino too).
        assert.ok(r.torn <= r.rotations, what);
      }
    }
    // copytruncate loses what reaches the file between logrotate's stat and its truncate: rate × window
    // for every writer on average, but the window depends on logrotate's own run time and the machine's
    // load, which change from run to run, and a batch writer loses whole batches on rarer hits (LogFile
    // drops to 4 KiB batches after the first truncation to narrow that). So single runs scatter (one
    // stress run: openLog 2,465 against 569 and 1,897), and the comparison is of means over every run:
    // the fdkeeper writers' mean loss within half again the plain writers' mean, plus one 64 KiB batch.
    const mean = (rs: readonly RotateRunResult[]): number => rs.reduce((n, r) => n + r.lost, 0) / rs.length;
    assert.ok(
      mean(ours) <= 1.5 * mean(plain) + 700,
      `fdkeeper mean ${mean(ours).toFixed(0)} vs plain mean ${mean(plain).toFixed(0)}:\n${[...plain, ...ours].map(describeRun).join('\n')}`,
    );
  },
);

test(
  'control: pino.destination without a HUP under create + compress loses records (the harness sees a loss)',
  { skip, timeout: 900_000 },
  async () => {
    const r = await run('pino-recipe', 'create+compress');
    assert.ok(
      r.lost > r.written / 4,
      `pino.destination never reopens without a HUP, so its lines go to a compressed-then-deleted file: ${describeRun(r)}`,
    );
  },
);

if (STRESS) {
  // The race needs logrotate to be held up between its rename and its create while the old writer's
  // watch re-creates the path (~1 ms): a loaded machine shows it within a run or two, an idle one may
  // not show it at all. So this control tries up to four runs and stops at the first that shows it; if
  // none does, it is skipped with the runs as the reason — not failed, since nothing about fdkeeper is
  // wrong then. The deterministic guard of the same property is log-rotate-cooperation's "rename grace"
  // control (renameGrace: 0 makes logrotate's exclusive create fail with EEXIST).
  test(
    'control (stress): the previous behaviour — reopen at once after a rename, no checks around writes — makes logrotate create fail',
    { skip, timeout: 900_000 },
    async (t) => {
      const rows: RotateRunResult[] = [];
      const seen = (r: RotateRunResult): boolean => r.failedRotations.length > 0 || r.lost > 0;
      for (let round = 0; round < Math.max(ROUNDS, 4) && !rows.some(seen); round++) {
        rows.push(
          await run('openLog', 'create+compress', {
            logOptions: { renameGrace: 0, checkAroundWrites: false },
            label: 'openLog, renameGrace: 0, checkAroundWrites: false',
          }),
        );
      }
      if (!rows.some(seen))
        t.skip(
          `the race did not show on this machine in ${rows.length} runs (it needs logrotate held up between rename and create): ${rows.map(describeRun).join('; ')}`,
        );
    },
  );
}

test('the real-logrotate table (every run)', { skip }, () => {
  console.log(
    `\nreal logrotate, ${DURATION_MS} ms per run, 10,000 records/s, rotations every 100-500 ms\n${rotateTable(all)}\n`,
  );
});
