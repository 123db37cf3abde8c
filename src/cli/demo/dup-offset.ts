import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FileTable } from '../../index.js';
import type { DemoContext, DemoRow, RowOutcome } from './types.js';

/** What each writer writes, in order. */
export const DUP_WRITES = ['first\n', 'second\n', 'third\n'] as const;

/** What plain node:fs did with its dup workaround. */
export interface PlainDupFacts {
  /** The workaround used: reopening `/proc/self/fd/N` (Linux) or opening the path a second time. */
  readonly workaround: string;
  readonly fd: number;
  readonly copy: number;
  /** The file after writer 1 wrote `first\n` through `fd` and writer 2 wrote `second\n` through `copy`. */
  readonly content: string;
}

/** What fdkeeper did with `table.dup` and `table.dup2`. */
export interface FdkeeperDupFacts {
  readonly fd: number;
  /** `table.dup(fd)`. */
  readonly dup: number;
  /** The number `table.dup2(fd, n)` made name fd's file (it was another open file first). */
  readonly dup2: number;
  /** The file after `first\n` through fd, `second\n` through the dup, `third\n` through the dup2 copy. */
  readonly content: string;
  /** The file dup2's target named before: it must get nothing. */
  readonly replacedContent: string;
  /** `seek(n, 0, SEEK_CUR)` on fd, dup and dup2 after the writes: one shared offset. */
  readonly offsets: readonly number[];
  readonly tableSize: number;
  readonly tableHeld: number;
}

/** Plain node:fs: no dup(2), so a second descriptor for the same file, with its own offset. */
export function plainDupOffset(ctx: DemoContext): PlainDupFacts {
  const path = join(ctx.dir, 'plain-dup.log');
  const fd = openSync(path, 'w');
  let copy: number | undefined;
  let workaround: string;
  try {
    if (process.platform === 'linux') {
      workaround = `openSync('/proc/self/fd/${fd}')`;
      copy = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY);
    } else {
      workaround = 'openSync(path) a second time';
      copy = openSync(path, constants.O_WRONLY);
    }
    writeSync(fd, DUP_WRITES[0]);
    writeSync(copy, DUP_WRITES[1]);
  } finally {
    if (copy !== undefined) closeSync(copy);
    closeSync(fd);
  }
  return { workaround, fd, copy, content: readFileSync(path, 'utf8') };
}

/** fdkeeper: `table.dup` and `table.dup2` name one open file description, so one offset. */
export function fdkeeperDupOffset(ctx: DemoContext): FdkeeperDupFacts {
  const path = join(ctx.dir, 'fdkeeper-dup.log');
  const elsewhere = join(ctx.dir, 'fdkeeper-replaced.log');
  const table = new FileTable();
  const opened: number[] = [];
  let facts: Omit<FdkeeperDupFacts, 'tableSize' | 'tableHeld'>;
  try {
    const fd = table.openSync(path, 'w');
    opened.push(fd);
    const dup = table.dup(fd);
    opened.push(dup);
    const target = table.openSync(elsewhere, 'w');
    opened.push(target);
    const dup2 = table.dup2(fd, target);
    table.writeSync(fd, Buffer.from(DUP_WRITES[0]));
    table.writeSync(dup, Buffer.from(DUP_WRITES[1]));
    table.writeSync(dup2, Buffer.from(DUP_WRITES[2]));
    const offsets = [fd, dup, dup2].map((n) => table.seekSync(n, 0, 1));
    facts = {
      fd,
      dup,
      dup2,
      offsets,
      content: readFileSync(path, 'utf8'),
      replacedContent: readFileSync(elsewhere, 'utf8'),
    };
  } finally {
    for (const n of opened) if (table.has(n)) table.closeSync(n);
  }
  return { ...facts, tableSize: table.size, tableHeld: table.heldCount };
}

export const dupOffset: DemoRow = {
  id: 'dup-offset',
  title: 'duplicated descriptors share one offset',
  run(ctx): Promise<RowOutcome> {
    const p = plainDupOffset(ctx);
    const f = fdkeeperDupOffset(ctx);
    const bothPlain = DUP_WRITES[0] + DUP_WRITES[1];
    const plainOutcome =
      p.content === bothPlain
        ? `both writes kept: ${JSON.stringify(p.content)}`
        : `second writer overwrote the first: file is ${JSON.stringify(p.content)}`;
    const plainDetail = [
      `Node has no dup(); workaround: ${p.workaround} -> fd ${p.copy}, with its own offset`,
      `writeSync(${p.fd}, ${JSON.stringify(DUP_WRITES[0])}) then writeSync(${p.copy}, ${JSON.stringify(DUP_WRITES[1])})`,
      `file: ${JSON.stringify(p.content)} (expected ${JSON.stringify(bothPlain)})`,
    ].join('\n');

    const expected = DUP_WRITES.join('');
    const end = Buffer.byteLength(expected);
    const shared = f.offsets.every((o) => o === end);
    const clean = f.tableSize === 0 && f.tableHeld === 0;
    const pass = f.content === expected && shared && f.replacedContent === '' && clean;
    let fdOutcome =
      f.content === expected
        ? `all three writes in order: ${JSON.stringify(f.content)}`
        : `file is ${JSON.stringify(f.content)}, not ${JSON.stringify(expected)}`;
    fdOutcome += shared ? `; one offset (${end})` : `; offsets differ: ${f.offsets.join(', ')}`;
    if (f.replacedContent !== '') fdOutcome += `; dup2's old file got ${JSON.stringify(f.replacedContent)}`;
    if (!clean) fdOutcome += `; ${f.tableHeld} descriptor(s) still held`;
    const fdDetail = [
      `table.openSync -> fd ${f.fd}; table.dup(${f.fd}) -> ${f.dup}; table.dup2(${f.fd}, ${f.dup2}) over another open file`,
      `writes: fd ${f.fd} ${JSON.stringify(DUP_WRITES[0])}, fd ${f.dup} ${JSON.stringify(DUP_WRITES[1])}, fd ${f.dup2} ${JSON.stringify(DUP_WRITES[2])}`,
      `offsets after (tell on each): ${f.offsets.join(', ')}; file: ${JSON.stringify(f.content)}; dup2's old file: ${JSON.stringify(f.replacedContent)}`,
    ].join('\n');
    return Promise.resolve({
      plain: { outcome: plainOutcome, detail: plainDetail },
      fdkeeper: { outcome: fdOutcome, detail: fdDetail },
      pass,
    });
  },
};
