import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childSource, describeExit, lineOf, resultOf, runChild, sourceLine } from './child.js';
import { LEAK_BUDGET } from './children/shared.js';
import { failedSide } from './types.js';
import type { DemoContext, DemoRow, RowOutcome, SideResult } from './types.js';

/** The descriptor limit the children run under. */
export const LEAK_ULIMIT = 64;
export { LEAK_BUDGET } from './children/shared.js';

/** What the plain node:fs child reported, and how it ended. */
export interface PlainLeakFacts {
  /** FileHandles opened (and dropped) before the process ran out. */
  readonly leaked: number;
  /** FileHandles Node closed on garbage collection before that (its warning counted). */
  readonly gcClosed: number;
  readonly code: string | null;
  readonly message: string;
  readonly stack: string;
  /** The child's exit: `exit code 1` when it died of the error. */
  readonly exit: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  /** Whether anything the process printed mentions the leaking function. */
  readonly namesLeaker: boolean;
  /** `function (file:line` of the victim, the call that failed. */
  readonly victimSite: string;
}

/** What the fdkeeper child reported. */
export interface FdkeeperLeakFacts {
  /** Files opened (and dropped) before the budget refused. */
  readonly leaked: number;
  readonly error: { name: string; code: string; message: string } | null;
  /** How long the refused open took, in milliseconds. */
  readonly failMs: number | null;
  /** `table.leakReport()` when the budget refused. */
  readonly leakReport: string;
  /** Open descriptors in the table when the budget refused. */
  readonly openAtFailure: number;
  /** After closing what leaked: descriptors and backend descriptors still held (both should be 0). */
  readonly sizeAfter: number;
  readonly heldAfter: number;
  /** The child's exit (it should survive: `exit code 0`). */
  readonly exit: string;
  readonly exitCode: number | null;
  /** `leakyOpen (script:line:` — what the EMFILE message must contain. */
  readonly expectedSite: string;
  /** The line number of the leaking open in the child script, and its source text. */
  readonly leakLineNumber: number;
  readonly leakLine: string;
}

/**
 * The module the fdkeeper child (children/fdkeeper-leak.ts) imports: the package index. Node's ESM loader
 * reads a module graph's files concurrently; unbundled, the whole library (86 modules) needed 64–80
 * descriptors to load, so under \`ulimit -n 64\` importing dist/index.js failed with EMFILE before the
 * demo began. The build bundles it (scripts/build.mjs): the index and a few chunks. test/demo.test.ts
 * checks that it loads with {@link LOAD_MARGIN} descriptors to spare.
 */
export function leakChildModule(libraryUrl: string): string {
  return new URL('./index.js', libraryUrl).href;
}

/** Descriptors below {@link LEAK_ULIMIT} that the fdkeeper child's imports must load within. */
export const LOAD_MARGIN = 16;

function files(ctx: DemoContext): [string, string] {
  const data = join(ctx.dir, 'data.bin');
  const config = join(ctx.dir, 'config.json');
  writeFileSync(data, 'some data\n');
  writeFileSync(config, '{"retries": 3}\n');
  return [data, config];
}

/** Plain node:fs under `ulimit -n 64`: FileHandles dropped for the GC until the process dies with EMFILE. */
export async function plainFinalizerLeak(ctx: DemoContext): Promise<PlainLeakFacts> {
  const run = await runChild<Pick<PlainLeakFacts, 'leaked' | 'gcClosed' | 'code' | 'message' | 'stack'>>(
    ctx,
    'plain-leak',
    { ulimit: LEAK_ULIMIT, args: files(ctx) },
  );
  const r = resultOf('the plain node:fs', run);
  return {
    ...r,
    exit: describeExit(run),
    exitCode: run.code,
    stderr: run.stderr,
    namesLeaker: `${r.message}\n${r.stack}\n${run.stderr}`.includes('leakyOpen'),
    victimSite: `readConfig (${run.script}:${lineOf(childSource('plain-leak'), '// @victim')}`,
  };
}

/** The same loop on `FileTable({ maxOpen: 40, openSites: 'auto' })` under `ulimit -n 64`. */
export async function fdkeeperFinalizerLeak(ctx: DemoContext): Promise<FdkeeperLeakFacts> {
  const run = await runChild<
    Pick<FdkeeperLeakFacts, 'leaked' | 'error' | 'failMs' | 'leakReport' | 'openAtFailure' | 'sizeAfter' | 'heldAfter'>
  >(ctx, 'fdkeeper-leak', { ulimit: LEAK_ULIMIT, args: files(ctx) });
  const source = childSource('fdkeeper-leak');
  if (run.result === undefined && /\bEMFILE\b/.test(run.stderr)) {
    const tail = run.stderr.trim().split('\n').slice(-4).join('\n');
    throw new Error(
      `the fdkeeper child could not load the library under ulimit -n ${LEAK_ULIMIT}: EMFILE while importing its modules (${describeExit(run)})\n${tail}`,
    );
  }
  const r = resultOf('the fdkeeper', run);
  const line = lineOf(source, '// @leak');
  return {
    ...r,
    exit: describeExit(run),
    exitCode: run.code,
    expectedSite: `leakyOpen (${run.script}:${line}:`,
    leakLineNumber: line,
    leakLine: sourceLine(source, line),
  };
}

/** The first line of `text` matching `re`, or the first line. */
function pickLine(text: string, re: RegExp): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.find((l) => re.test(l)) ?? lines[0] ?? '';
}

/** The plain node:fs column of the row. */
function plainSide(p: PlainLeakFacts): SideResult {
  const died = p.exitCode !== 0 && p.code === 'EMFILE';
  const failedAt = pickLine(p.stack, /^at (?!.*\(node:)/);
  const plainOutcome = died
    ? `died with EMFILE after ${p.leaked} dropped FileHandles (GC closed ${p.gcClosed}); the error ${p.namesLeaker ? 'mentions' : 'says nothing about'} the leaking leakyOpen()`
    : `did not die of EMFILE (${p.exit}, ${p.code ?? p.message})`;
  const plainDetail = [
    `ulimit -n ${LEAK_ULIMIT}; loop: readConfig() then leakyOpen(), which drops a fs.promises FileHandle each time`,
    `${p.exit} after ${p.leaked} leaked handles; garbage collection closed ${p.gcClosed} of them`,
    `error: ${p.message}`,
    `  ${failedAt === '' ? '(no stack)' : failedAt}  <- ${p.namesLeaker ? 'the stack' : 'only the call that happened to open next, not the leak'}`,
    `stderr: ${pickLine(p.stderr, /EMFILE/)}`,
  ].join('\n');
  return { outcome: plainOutcome, detail: plainDetail };
}

export const finalizerLeak: DemoRow = {
  id: 'finalizer-leak',
  title: 'leaks from relying on finalizers',
  async run(ctx): Promise<RowOutcome> {
    const p = await plainFinalizerLeak(ctx);
    let f: FdkeeperLeakFacts;
    try {
      f = await fdkeeperFinalizerLeak(ctx);
    } catch (e) {
      // The plain side ran: show what it did, and the fdkeeper side's failure in its own column.
      return { plain: plainSide(p), fdkeeper: failedSide(e), pass: false };
    }

    const e = f.error;
    const namesLeak = e !== null && e.message.includes(f.expectedSite);
    const clean = f.sizeAfter === 0 && f.heldAfter === 0;
    const pass = e?.code === 'EMFILE' && namesLeak && f.leaked === LEAK_BUDGET && f.exitCode === 0 && clean;
    const site = `leakyOpen (fdkeeper-leak.js:${f.leakLineNumber})`;
    let fdOutcome: string;
    if (e === null) fdOutcome = `the loop ended without an error (${f.exit})`;
    else if (e.code !== 'EMFILE') fdOutcome = `failed with ${e.code}: ${e.message}`;
    else
      fdOutcome = `EMFILE at the budget (${f.leaked} open, in ${(f.failMs ?? 0).toFixed(2)} ms) ${namesLeak ? `naming ${site}` : 'NOT naming the leaking line'}; process lived on`;
    if (e?.code === 'EMFILE' && f.leaked !== LEAK_BUDGET) fdOutcome += `; but ${f.leaked} opened, not ${LEAK_BUDGET}`;
    if (f.exitCode !== 0) fdOutcome += `; child ${f.exit}`;
    if (!clean) fdOutcome += `; ${f.heldAfter} descriptor(s) still held after cleanup`;
    const report = f.leakReport
      .trimEnd()
      .split('\n')
      .slice(0, 12)
      .map((l) => `  | ${l}`);
    const fdDetail = [
      `ulimit -n ${LEAK_ULIMIT}; FileTable({ maxOpen: ${LEAK_BUDGET}, openSites: 'auto' }); the same loop with openSync(path, 'rb', { table })`,
      `error: ${e === null ? '(none)' : e.message}`,
      `leaking line: ${f.leakLine}`,
      `table.leakReport() at that moment (${f.openAtFailure} open; 'auto' starts recording sites once 32 descriptors are open):`,
      ...report,
    ].join('\n');
    return { plain: plainSide(p), fdkeeper: { outcome: fdOutcome, detail: fdDetail }, pass };
  },
};
