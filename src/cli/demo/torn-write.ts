import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultOf, runChild } from './child.js';
import { DOC_BYTES } from './children/shared.js';
import type { DemoContext, DemoRow, RowOutcome } from './types.js';

/** How long the writer rewrites the file and the reader reads it, in milliseconds (each side). */
export const RACE_MS = 500;
export { DOC_BYTES } from './children/shared.js';

/** What the writer child reported. */
export interface WriterFacts {
  /** Versions written. */
  readonly writes: number;
}

/** What the reader child saw: every read classified. */
export interface ReaderFacts {
  readonly reads: number;
  /** Complete documents (valid JSON, version at start and end agree). */
  readonly whole: number;
  /** Zero-length reads (between the truncate and the write). */
  readonly empty: number;
  /** Anything else: a document cut short or mixed from two versions. */
  readonly torn: number;
  /** The first torn read's length, to show what it looked like. */
  readonly tornExample: number | null;
}

/** One side's race: the writer's and the reader's reports. */
export interface RaceFacts {
  readonly writer: WriterFacts;
  readonly reader: ReaderFacts;
}

/** Runs one writer and one reader child at the same time on one file (which holds version 0 first). */
async function race(ctx: DemoContext, side: 'plain' | 'fdkeeper'): Promise<RaceFacts> {
  const path = join(ctx.dir, `${side}-config.json`);
  writeFileSync(path, JSON.stringify({ v: 0, pad: '', end: 0 }));
  const args = [path, String(RACE_MS)];
  const [w, r] = await Promise.all([
    runChild<WriterFacts>(ctx, `${side}-writer`, { args }),
    runChild<ReaderFacts>(ctx, 'reader', { args }),
  ]);
  return { writer: resultOf(`the ${side} writer`, w), reader: resultOf(`the ${side} reader`, r) };
}

/** Plain node:fs: `writeFileSync` rewrites the file in place while another process reads it. */
export function plainTornWrite(ctx: DemoContext): Promise<RaceFacts> {
  return race(ctx, 'plain');
}

/** fdkeeper: `atomicWriteSync` (temp file, rename) while another process reads. */
export function fdkeeperTornWrite(ctx: DemoContext): Promise<RaceFacts> {
  return race(ctx, 'fdkeeper');
}

function readsLine(r: ReaderFacts): string {
  return `${r.reads} reads: ${r.whole} complete, ${r.empty} empty, ${r.torn} torn`;
}

export const tornWrite: DemoRow = {
  id: 'torn-write',
  title: 'a reader racing a writer (torn file)',
  async run(ctx): Promise<RowOutcome> {
    const p = await plainTornWrite(ctx);
    const f = await fdkeeperTornWrite(ctx);

    const bad = p.reader.empty + p.reader.torn;
    const plainOutcome =
      bad > 0
        ? `${bad} of ${p.reader.reads} reads were empty (${p.reader.empty}) or torn (${p.reader.torn})`
        : `no bad read this time (${p.reader.reads} reads; the race is timing-dependent)`;
    const plainDetail = [
      `two processes for ${RACE_MS} ms: one rewrites a ${DOC_BYTES / 1024} KiB JSON file in place with writeFileSync (${p.writer.writes} writes), one reads it with readFileSync`,
      readsLine(p.reader),
      p.reader.tornExample === null
        ? 'writeFileSync opens with O_TRUNC, then writes: a reader in between sees an empty or partial file'
        : `e.g. a read of ${p.reader.tornExample} of ${DOC_BYTES} bytes: writeFileSync truncates, then writes`,
    ].join('\n');

    const pass =
      f.reader.reads > 0 &&
      f.writer.writes > 0 &&
      f.reader.empty === 0 &&
      f.reader.torn === 0 &&
      f.reader.whole === f.reader.reads;
    const fdOutcome = pass
      ? `all ${f.reader.reads} reads complete across ${f.writer.writes} replacements`
      : `${f.reader.empty + f.reader.torn} bad reads (${readsLine(f.reader)})`;
    const fdDetail = [
      `the same race with atomicWriteSync(path, doc, { durability: 'none' }) (${f.writer.writes} writes; no fsync, like writeFileSync: the reader race does not depend on it)`,
      readsLine(f.reader),
      'each version goes to a temp file in the same directory and is renamed over the target: a reader opens the old file or the new one, never one being written',
    ].join('\n');
    return {
      plain: { outcome: plainOutcome, detail: plainDetail },
      fdkeeper: { outcome: fdOutcome, detail: fdDetail },
      pass,
    };
  },
};
