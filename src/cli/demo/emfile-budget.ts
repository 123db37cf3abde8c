import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeExit, resultOf, runChild } from './child.js';
import { BUDGET_MAX_OPEN } from './children/shared.js';
import type { DemoContext, DemoRow, RowOutcome } from './types.js';

/** The descriptor limit the children run under. */
export const BUDGET_ULIMIT = 256;
/** Concurrent opens each child starts. */
export const BUDGET_OPENS = 2000;
export { BUDGET_MAX_OPEN } from './children/shared.js';

/** What a child reported about its concurrent opens. */
export interface BurstFacts {
  readonly count: number;
  /** Opens (each followed by a read and a close) that succeeded. */
  readonly ok: number;
  /** Failures by error code. */
  readonly codes: Readonly<Record<string, number>>;
  /** The first failure's message, if any. */
  readonly firstError: string | null;
  readonly ms: number;
  readonly exit: string;
  readonly exitCode: number | null;
}

/** The fdkeeper child adds what its table saw. */
export interface FdkeeperBurstFacts extends BurstFacts {
  /** The most backend descriptors the table held at once. */
  readonly peak: number;
  readonly sizeAfter: number;
  readonly heldAfter: number;
}

function dataFile(ctx: DemoContext): string {
  const path = join(ctx.dir, 'burst.txt');
  writeFileSync(path, 'burst of opens\n');
  return path;
}

/** Plain node:fs under `ulimit -n 256`: 2,000 concurrent `fs.promises.open`, each read and closed. */
export async function plainEmfileBurst(ctx: DemoContext, count = BUDGET_OPENS): Promise<BurstFacts> {
  const run = await runChild<Omit<BurstFacts, 'exit' | 'exitCode'>>(ctx, 'plain-burst', {
    ulimit: BUDGET_ULIMIT,
    args: [dataFile(ctx), String(count)],
  });
  return { ...resultOf('the plain node:fs', run), exit: describeExit(run), exitCode: run.code };
}

/** fdkeeper under `ulimit -n 256`: 2,000 concurrent `table.open` on a table with `maxOpen: 64`. */
export async function fdkeeperEmfileBurst(ctx: DemoContext, count = BUDGET_OPENS): Promise<FdkeeperBurstFacts> {
  const run = await runChild<Omit<FdkeeperBurstFacts, 'exit' | 'exitCode'>>(ctx, 'fdkeeper-burst', {
    ulimit: BUDGET_ULIMIT,
    args: [dataFile(ctx), String(count)],
  });
  return { ...resultOf('the fdkeeper', run), exit: describeExit(run), exitCode: run.code };
}

function failures(f: BurstFacts): string {
  const parts = Object.entries(f.codes).map(([code, n]) => `${n} ${code}`);
  return parts.length === 0 ? 'none failed' : parts.join(', ');
}

export const emfileBudget: DemoRow = {
  id: 'emfile-budget',
  title: 'fd budget under a burst of opens',
  async run(ctx): Promise<RowOutcome> {
    const p = await plainEmfileBurst(ctx);
    const f = await fdkeeperEmfileBurst(ctx);
    const emfile = p.codes['EMFILE'] ?? 0;
    const plainOutcome =
      emfile > 0
        ? `${emfile} of ${p.count} opens failed with EMFILE`
        : `${p.ok} of ${p.count} opens succeeded (${failures(p)})`;
    const plainDetail = [
      `ulimit -n ${BUDGET_ULIMIT}; ${p.count} concurrent fs.promises.open + read + close: ${p.ok} succeeded, ${failures(p)} (${p.ms.toFixed(0)} ms, child ${p.exit})`,
      `first error: ${p.firstError ?? '(none)'}`,
    ].join('\n');
    const clean = f.sizeAfter === 0 && f.heldAfter === 0;
    const pass = f.ok === f.count && f.count === BUDGET_OPENS && f.peak <= BUDGET_MAX_OPEN && clean && f.exitCode === 0;
    let fdOutcome = `${f.ok} of ${f.count} succeeded${f.ok === f.count ? '' : ` (${failures(f)})`}; at most ${f.peak} open at once`;
    if (!clean) fdOutcome += `; ${f.heldAfter} descriptor(s) still held`;
    const fdDetail = [
      `ulimit -n ${BUDGET_ULIMIT}; FileTable({ maxOpen: ${BUDGET_MAX_OPEN} }); ${f.count} concurrent table.open + read + close: ${f.ok} succeeded, ${failures(f)} (${f.ms.toFixed(0)} ms, child ${f.exit})`,
      `peak descriptors held by the table: ${f.peak}; after: ${f.sizeAfter} open, ${f.heldAfter} held${f.firstError === null ? '' : `; first error: ${f.firstError}`}`,
    ].join('\n');
    return {
      plain: { outcome: plainOutcome, detail: plainDetail },
      fdkeeper: { outcome: fdOutcome, detail: fdDetail },
      pass,
    };
  },
};
