import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { childSource, lineOf, resultOf, runChild, sourceLine } from './child.js';
import { BORROWER_BYTES } from './children/shared.js';
import type { DemoContext, DemoRow, RowOutcome } from './types.js';

export { BORROWER_BYTES } from './children/shared.js';

/** What the plain node:fs child saw. */
export interface PlainClosedFacts {
  /** The number the owner opened (and the borrower kept). */
  readonly ownerFd: number;
  /** The number the other file's open was given after the owner closed. */
  readonly otherFd: number;
  /** Bytes the borrower's writeSync reported written, or null if it threw. */
  readonly written: number | null;
  readonly error: { code: string; message: string } | null;
  readonly ownerContent: string;
  readonly otherContent: string;
}

/** What the fdkeeper child saw. */
export interface FdkeeperClosedFacts {
  /** The descriptor number the owner's RawFile had. */
  readonly number: number;
  /** The number the other (plain node:fs) open was given after the owner closed. */
  readonly otherFd: number;
  /** Bytes the borrower's view reported written, or null if it threw. */
  readonly written: number | null;
  readonly error: {
    name: string;
    code: string;
    message: string;
    openedAt: string | null;
    closedAt: string | null;
  } | null;
  /** Where the script opened and closed the owner: `fn (script:line:` prefixes the sites must start with. */
  readonly expectedOpenSite: string;
  readonly expectedCloseSite: string;
  /** The source lines at those places, for the detail text. */
  readonly openLine: string;
  readonly closeLine: string;
  readonly ownerContent: string;
  readonly otherContent: string;
  /** Descriptors and backend descriptors the table still held at the end (both should be 0). */
  readonly tableSize: number;
  readonly tableHeld: number;
}

/** Plain node:fs in a child: the owner closes, another open reuses the number, the borrower writes. */
export async function plainClosedBehindBack(ctx: DemoContext): Promise<PlainClosedFacts> {
  const owner = join(ctx.dir, 'plain-owner.log');
  const other = join(ctx.dir, 'plain-other.log');
  const run = await runChild<Omit<PlainClosedFacts, 'ownerContent' | 'otherContent'>>(ctx, 'plain-closed', {
    args: [owner, other],
  });
  const r = resultOf('the plain node:fs', run);
  return { ...r, ownerContent: readFileSync(owner, 'utf8'), otherContent: readFileSync(other, 'utf8') };
}

/** fdkeeper in a child: the owner's RawFile closes, the borrower's `borrow()` view writes after the number was reused. */
export async function fdkeeperClosedBehindBack(ctx: DemoContext): Promise<FdkeeperClosedFacts> {
  const owner = join(ctx.dir, 'fdkeeper-owner.log');
  const other = join(ctx.dir, 'fdkeeper-other.log');
  const run = await runChild<
    Pick<FdkeeperClosedFacts, 'number' | 'otherFd' | 'written' | 'error' | 'tableSize' | 'tableHeld'>
  >(ctx, 'fdkeeper-closed', { args: [owner, other] });
  const source = childSource('fdkeeper-closed');
  const r = resultOf('the fdkeeper', run);
  const openAt = lineOf(source, '// @open-site');
  const closeAt = lineOf(source, '// @close-site');
  return {
    ...r,
    expectedOpenSite: `ownerOpens (${run.script}:${openAt}:`,
    expectedCloseSite: `ownerCloses (${run.script}:${closeAt}:`,
    openLine: sourceLine(source, openAt),
    closeLine: sourceLine(source, closeAt),
    ownerContent: readFileSync(owner, 'utf8'),
    otherContent: readFileSync(other, 'utf8'),
  };
}

export const closedBehindBack: DemoRow = {
  id: 'closed-behind-back',
  title: 'descriptor closed behind your back',
  async run(ctx): Promise<RowOutcome> {
    const p = await plainClosedBehindBack(ctx);
    const f = await fdkeeperClosedBehindBack(ctx);

    const plainReused = p.otherFd === p.ownerFd;
    const plainLanded = p.error === null && p.otherContent.includes(BORROWER_BYTES);
    const plainOutcome = plainLanded
      ? `no error; the borrower's ${String(p.written)} bytes landed in the other file (fd ${p.otherFd} reused)`
      : p.error !== null
        ? `the borrower's write failed: ${p.error.code}${plainReused ? '' : ` (fd ${p.ownerFd} was not reused; the other open got ${p.otherFd})`}`
        : `write reported ${String(p.written)} bytes; the other file does not have them`;
    const plainDetail = [
      `owner opened fd ${p.ownerFd} and closed it; the other file's open got fd ${p.otherFd}`,
      `borrower: fs.writeSync(${p.ownerFd}, …) -> ${p.error === null ? `${String(p.written)} bytes, no error` : p.error.message}`,
      `other file now holds ${JSON.stringify(p.otherContent)}; the owner's file holds ${JSON.stringify(p.ownerContent)}`,
    ].join('\n');

    const reused = f.otherFd === f.number;
    const e = f.error;
    const namesSites =
      e !== null &&
      (e.openedAt ?? '').startsWith(f.expectedOpenSite) &&
      (e.closedAt ?? '').startsWith(f.expectedCloseSite);
    const untouched = f.otherContent === '';
    const clean = f.tableSize === 0 && f.tableHeld === 0;
    const pass = reused && e?.code === 'EBADF' && f.written === null && namesSites && untouched && clean;
    let fdOutcome: string;
    if (e === null) fdOutcome = `no error: the view wrote ${String(f.written)} bytes`;
    else if (e.code !== 'EBADF') fdOutcome = `failed with ${e.code}, not EBADF`;
    else
      fdOutcome = `${e.code} naming the open and close sites; the other file is ${untouched ? 'untouched' : `NOT untouched (${JSON.stringify(f.otherContent)})`}`;
    if (!reused)
      fdOutcome += `; note: fd ${f.number} was not reused (the other open got ${f.otherFd}), so nothing was proven`;
    if (!namesSites && e?.code === 'EBADF') fdOutcome += '; but the error does not name both sites';
    if (!clean) fdOutcome += `; the table still holds ${f.tableHeld} descriptor(s)`;
    const fdDetail = [
      `owner RawFile had fd ${f.number}; after it closed, the other file's open got fd ${f.otherFd}`,
      `borrower: view.writeSync(…) -> ${e === null ? `${String(f.written)} bytes, no error` : e.message}`,
      `error.openedAt: ${e?.openedAt ?? '(not recorded)'}`,
      `  | ${f.openLine}`,
      `error.closedAt: ${e?.closedAt ?? '(not recorded)'}`,
      `  | ${f.closeLine}`,
      `other file holds ${JSON.stringify(f.otherContent)}; the owner's file holds ${JSON.stringify(f.ownerContent)}`,
    ].join('\n');
    return {
      plain: { outcome: plainOutcome, detail: plainDetail },
      fdkeeper: { outcome: fdOutcome, detail: fdDetail },
      pass,
    };
  },
};
