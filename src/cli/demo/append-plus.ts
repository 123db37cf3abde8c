import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FileTable, open } from '../../index.js';
import type { DemoContext, DemoRow, RowOutcome } from './types.js';

const EXPECTED = 'hello world';

/** What the plain node:fs version (`'a+'`, a position tracked by hand, positional I/O) observed. */
export interface PlainAppendFacts {
  /** What `readSync(fd, buf, 0, 5, 0)` returned after the "seek(0)". */
  readonly read: string;
  /** The position the program asked the second write to go to. */
  readonly askedPosition: number;
  /** Where ` world` actually landed in the file (-1: nowhere). */
  readonly landedAt: number;
  /** The hand-tracked position at the end (what a tell() would have to return). */
  readonly trackedTell: number;
  readonly content: string;
}

/** What fdkeeper's `open(path, 'ab+')` observed. */
export interface FdkeeperAppendFacts {
  readonly seek: number;
  readonly read: string;
  readonly tell: number;
  readonly content: string;
  readonly tableSize: number;
  readonly tableHeld: number;
}

/**
 * Plain node:fs. It has no seek() or tell(), so an honest implementation keeps the position in a variable
 * and passes it to every read and write.
 */
export function plainAppendPlus(ctx: DemoContext): PlainAppendFacts {
  const path = join(ctx.dir, 'plain-append.log');
  const fd = openSync(path, 'a+');
  let read: string;
  let askedPosition: number;
  let pos = 0;
  try {
    pos += writeSync(fd, 'hello', pos);
    pos = 0; // "seek(0)"
    const buf = Buffer.alloc(5);
    const n = readSync(fd, buf, 0, 5, pos);
    read = buf.subarray(0, n).toString();
    pos += n;
    askedPosition = pos;
    pos += writeSync(fd, ' world', pos);
  } finally {
    closeSync(fd);
  }
  const content = readFileSync(path, 'utf8');
  return { read, askedPosition, landedAt: content.indexOf(' world'), trackedTell: pos, content };
}

/** fdkeeper: `open(path, 'ab+')`, then write, seek, read, write and tell on the file object. */
export async function fdkeeperAppendPlus(ctx: DemoContext): Promise<FdkeeperAppendFacts> {
  const path = join(ctx.dir, 'fdkeeper-append.log');
  const table = new FileTable();
  const f = await open(path, 'ab+', { table });
  let facts: Omit<FdkeeperAppendFacts, 'content' | 'tableSize' | 'tableHeld'>;
  try {
    await f.write(Buffer.from('hello'));
    const seek = await f.seek(0);
    const read = (await f.read(5)).toString();
    await f.write(Buffer.from(' world'));
    facts = { seek, read, tell: f.tell() };
  } finally {
    await f.close();
  }
  return { ...facts, content: readFileSync(path, 'utf8'), tableSize: table.size, tableHeld: table.heldCount };
}

export const appendPlus: DemoRow = {
  id: 'append-plus',
  title: "append-and-read mode ('ab+')",
  async run(ctx): Promise<RowOutcome> {
    const p = plainAppendPlus(ctx);
    const f = await fdkeeperAppendPlus(ctx);

    const plainOk = p.read === 'hello' && p.content === EXPECTED;
    const kernelAppended = p.landedAt !== p.askedPosition;
    const plainOutcome = plainOk
      ? `${JSON.stringify(p.content)}: works, with the position tracked by hand (node:fs has no seek()/tell())`
      : `file is ${JSON.stringify(p.content)} (read ${JSON.stringify(p.read)})`;
    const where = kernelAppended
      ? 'the kernel appended, ignoring the position'
      : 'where asked, which was already the end of the file';
    const plainDetail = [
      `openSync(path, 'a+'); position kept in a variable; writeSync(fd, 'hello', 0); "seek(0)"; readSync(fd, buf, 0, 5, 0) -> ${JSON.stringify(p.read)}`,
      `writeSync(fd, ' world', ${p.askedPosition}) landed at byte ${p.landedAt}: ${where}; hand-tracked "tell" = ${p.trackedTell}`,
      `file: ${JSON.stringify(p.content)}; platform ${process.platform} (Node's docs: on Linux, positional writes are ignored when the file is opened in append mode)`,
    ].join('\n');

    const clean = f.tableSize === 0 && f.tableHeld === 0;
    const pass =
      f.seek === 0 && f.read === 'hello' && f.content === EXPECTED && f.tell === Buffer.byteLength(EXPECTED) && clean;
    let fdOutcome = `${JSON.stringify(f.content)}, read ${JSON.stringify(f.read)} after seek(0), tell() = ${f.tell}`;
    if (!pass) fdOutcome += ` (expected ${JSON.stringify(EXPECTED)}, 'hello', 11)`;
    if (!clean) fdOutcome += `; ${f.tableHeld} descriptor(s) still held`;
    const fdDetail = [
      `f = await open(path, 'ab+'); write('hello'); seek(0) -> ${f.seek}; read(5) -> ${JSON.stringify(f.read)}; write(' world'); tell() -> ${f.tell}`,
      `file: ${JSON.stringify(f.content)}`,
    ].join('\n');
    return {
      plain: { outcome: plainOutcome, detail: plainDetail },
      fdkeeper: { outcome: fdOutcome, detail: fdDetail },
      pass,
    };
  },
};
