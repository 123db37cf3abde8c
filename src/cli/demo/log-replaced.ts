import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resultOf, runChild, type ChildRun } from './child.js';
import { HALF, LINE_GAP_MS } from './children/shared.js';
import type { DemoContext, DemoRow, RowOutcome } from './types.js';

export { HALF } from './children/shared.js';
/** How long the demo waits for the writer to reach the middle. */
const HANDSHAKE_MS = 10_000;

/** What happens to the file in the middle of the run. */
export type LogEvent = 'replaced' | 'deleted';

/** What the writer child reported. */
export interface LogWriterFacts {
  readonly written: number;
  /** fdkeeper's LogFile counters: reopens by reason and lines carried over (absent for the plain writer). */
  readonly reopens?: Record<string, number>;
  readonly carriedLines?: number;
}

/** One run: what was written, what the path holds at the end. */
export interface LogRunFacts {
  readonly event: LogEvent;
  readonly writer: LogWriterFacts;
  /** Lines written after the event that are not in the file at the end. */
  readonly lostAfter: number;
  /** Lines in the file more than once (carry-over re-writing lines an editor's copy already held). */
  readonly duplicates: number;
  /** Lines in the file at the end. */
  readonly linesInFile: number;
}

/** Does to `path` what an editor saving it (write a copy, rename it over) or a cleanup script (rm) does. */
function strike(path: string, event: LogEvent): void {
  if (event === 'deleted') {
    unlinkSync(path);
    return;
  }
  const copy = `${path}.swp`;
  writeFileSync(copy, readFileSync(path));
  renameSync(copy, path);
}

async function runOnce(ctx: DemoContext, side: 'plain' | 'fdkeeper', event: LogEvent): Promise<LogRunFacts> {
  const dir = join(ctx.dir, `${side}-${event}`);
  mkdirSync(dir);
  const path = join(dir, 'app.log');
  const child = runChild<LogWriterFacts>(ctx, `${side}-log-writer`, { args: [path, dir], timeoutMs: 20_000 });
  let finished: ChildRun<LogWriterFacts> | undefined;
  void child.then((r) => (finished = r));
  const deadline = Date.now() + HANDSHAKE_MS;
  while (!existsSync(join(dir, 'half'))) {
    if (finished !== undefined || Date.now() > deadline) break;
    await sleep(1);
  }
  if (existsSync(join(dir, 'half'))) {
    strike(path, event);
    writeFileSync(join(dir, 'go'), '');
  }
  const writer = resultOf(`the ${side} writer`, await child);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const numbers = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(/^line (\d+)$/.exec(l)?.[1] ?? NaN));
  const present = new Set(numbers);
  let lostAfter = 0;
  for (let i = HALF + 1; i <= writer.written; i++) if (!present.has(i)) lostAfter++;
  return { event, writer, lostAfter, duplicates: numbers.length - present.size, linesInFile: numbers.length };
}

async function bothEvents(ctx: DemoContext, side: 'plain' | 'fdkeeper'): Promise<[LogRunFacts, LogRunFacts]> {
  const [replaced, deleted] = await Promise.all([runOnce(ctx, side, 'replaced'), runOnce(ctx, side, 'deleted')]);
  return [replaced, deleted];
}

/** Plain node:fs: `fs.createWriteStream(path, { flags: 'a' })`. */
export function plainLogReplaced(ctx: DemoContext): Promise<[LogRunFacts, LogRunFacts]> {
  return bothEvents(ctx, 'plain');
}

/** fdkeeper: `openLog(path)` with its defaults. */
export function fdkeeperLogReplaced(ctx: DemoContext): Promise<[LogRunFacts, LogRunFacts]> {
  return bothEvents(ctx, 'fdkeeper');
}

function runLine(r: LogRunFacts): string {
  const after = r.writer.written - HALF;
  const how = r.event === 'replaced' ? 'replaced (an editor saved it: copy + rename over)' : 'deleted (rm)';
  let line = `${how} after line ${HALF}: ${r.lostAfter} of the ${after} lines written afterwards missing from app.log; it holds ${r.linesInFile} lines`;
  if (r.duplicates > 0) line += ` (${r.duplicates} twice: carried over although the editor's copy had them)`;
  if (r.writer.reopens !== undefined)
    line += `; reopens ${JSON.stringify(r.writer.reopens)}, ${r.writer.carriedLines ?? 0} lines carried over`;
  return line;
}

export const logReplaced: DemoRow = {
  id: 'log-replaced',
  title: 'a log file replaced or deleted under its writer',
  async run(ctx): Promise<RowOutcome> {
    const [pr, pd] = await plainLogReplaced(ctx);
    const [fr, fd] = await fdkeeperLogReplaced(ctx);

    const plainOutcome = `lost ${pr.lostAfter} of ${pr.writer.written - HALF} lines after a replace, ${pd.lostAfter} of ${pd.writer.written - HALF} after a delete`;
    const plainDetail = [
      `a writer logs ${2 * HALF} lines, one every ${LINE_GAP_MS} ms, with fs.createWriteStream(path, { flags: 'a' }); after line ${HALF} another process replaces or deletes app.log`,
      runLine(pr),
      runLine(pd),
      'the stream keeps its descriptor: it goes on writing into the old inode, which no name reaches any more',
    ].join('\n');

    const complete = (r: LogRunFacts): boolean => r.writer.written === 2 * HALF && r.lostAfter === 0;
    const pass = complete(fr) && complete(fd);
    const fdOutcome = pass
      ? `lost 0 lines after a replace and 0 after a delete`
      : `lost ${fr.lostAfter} after a replace, ${fd.lostAfter} after a delete (wrote ${fr.writer.written}, ${fd.writer.written})`;
    const fdDetail = [
      `the same writer with openLog(path) (defaults: identity check every 100 ms plus an fs.watch hint, carry-over on)`,
      runLine(fr),
      runLine(fd),
    ].join('\n');
    return {
      plain: { outcome: plainOutcome, detail: plainDetail },
      fdkeeper: { outcome: fdOutcome, detail: fdDetail },
      pass,
    };
  },
};
