/**
 * SIGKILL torture of atomicWrite on the real file system (test/support/atomic-torture.ts): writers
 * replacing one target in a tight loop are killed at random instants and respawned while readers
 * validate every read. No read may be empty, torn or missing; afterwards cleanupTemps removes every
 * temp the killed writers left. The negative control runs the same harness with fs.writeFileSync in
 * place and must see invalid reads: the readers can see tearing.
 *
 * Each writer is killed 5–60 ms (uniformly random) after it reported ready — after its Node start and
 * the import of the library, which take longer than that on a busy machine, so counting from spawn()
 * would kill most writers before their first write. Every few kills (and at the end) cleanupTemps runs
 * on the directory while the other writers keep going: it must remove only dead writers' temps.
 *
 * Default: ≥ 500 kills. FDKEEPER_STRESS=1: ≥ 10 000. The children run the built library: needs a
 * current dist/ (`npm test` builds it; the test refuses a dist/ older than src/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDistFresh, torture, type TortureResult } from './support/atomic-torture.js';

const STRESS = process.env['FDKEEPER_STRESS'] !== undefined && process.env['FDKEEPER_STRESS'] !== '';
const KILLS = STRESS ? 10_000 : 500;

function summary(name: string, r: TortureResult): string {
  const rate = (r.readers.reads / (r.ms / 1000)).toFixed(0);
  return (
    `# ${name}: ${r.kills} kills, ${r.spawns} spawns, ${r.writes} completed writes, ${r.readers.reads} reads (${rate}/s, ` +
    `${r.readers.changes} content changes seen, ${r.readers.invalid} invalid ${JSON.stringify(r.readers.reasons)}), ` +
    `${r.cleanedDuringRun} temps cleaned during the run, ${r.cleanedAtEnd.length} at the end` +
    `${r.reusedPids.length > 0 ? ` (+${r.reusedPids.length} of writers whose pid was reused)` : ''}, ${(r.ms / 1000).toFixed(1)} s`
  );
}

test(
  `atomicWrite survives ${KILLS} SIGKILLs: every read is a complete content, no temp survives cleanupTemps`,
  { timeout: STRESS ? 3_600_000 : 240_000 },
  async () => {
    assertDistFresh();
    const r = await torture({
      mode: 'atomic',
      kills: KILLS,
      // SIGKILL does not lose the page cache: 'none' is the durability that matters here (and the
      // cheapest, so the most writes per kill); two slots pay for fsyncs to cover those paths too.
      writers: ['none', 'none', 'none', 'file', 'full'],
      readers: 2,
      maxMs: STRESS ? 3_000_000 : 180_000,
    });
    console.log(summary('atomic', r));
    assert.deepEqual(r.writerErrors, [], 'writers must only die by SIGKILL');
    assert.ok(r.kills >= KILLS, `only ${r.kills} kills in ${r.ms} ms`);
    assert.equal(
      r.readers.invalid,
      0,
      `invalid reads: ${JSON.stringify(r.readers.reasons)} ${JSON.stringify(r.readers.samples)}`,
    );
    assert.equal(r.readers.missingBeforeFirst, 0, 'the target exists from the start');
    assert.ok(r.readers.reads >= 1000, `only ${r.readers.reads} reads`);
    assert.ok(r.writes >= KILLS, `only ${r.writes} completed writes`);
    assert.ok(r.readers.changes >= 100, `the readers saw only ${r.readers.changes} contents`);
    assert.ok(
      r.cleanedDuringRun + r.cleanedAtEnd.length > 0,
      'killed writers left temps (or the kills all landed between writes)',
    );
    assert.deepEqual(r.cleanedLive, [], 'cleanupTemps removed only the temps of dead writers');
    assert.deepEqual(r.leftover, [], `left in ${r.dir}`);
    assert.equal(r.target, 'ok');
  },
);

test(
  'negative control: fs.writeFileSync in place under the same harness gives torn or empty reads',
  { timeout: 120_000 },
  async () => {
    const r = await torture({ mode: 'naive', kills: 40, writers: ['none', 'none'], readers: 2, maxMs: 30_000 });
    console.log(summary('naive', r));
    assert.deepEqual(r.writerErrors, []);
    assert.ok(
      r.readers.invalid > 0,
      `the readers saw no invalid read in ${r.readers.reads} reads: they could not see tearing`,
    );
    const reasons = Object.keys(r.readers.reasons);
    assert.ok(
      reasons.some((k) => ['empty', 'truncated', 'tiny', 'checksum', 'long'].includes(k)),
      JSON.stringify(r.readers.reasons),
    );
  },
);
