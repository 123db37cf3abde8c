import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPORT_FUNCTION, describeExit, lineOf, resultOf, runScript, sourceLine } from './child.js';
import type { DemoContext, DemoRow, RowOutcome } from './types.js';

/** The descriptor limit the children run under. */
export const LEAK_ULIMIT = 64;
/** The fdkeeper child's budget. */
export const LEAK_BUDGET = 40;

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

const PLAIN_SCRIPT = `import { readFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
${REPORT_FUNCTION}
const [dataPath, configPath] = process.argv.slice(2);
let leaked = 0;
let gcClosed = 0;
process.on('warning', (w) => { if (/^Closing file descriptor \\d+ on garbage collection/.test(w.message)) gcClosed++; });

function readConfig() {
  return readFileSync(configPath, 'utf8'); // @victim
}

async function leakyOpen() {
  const handle = await open(dataPath, 'r'); // @leak
  leaked++;
  // ...uses handle, never closes it: the FileHandle is left for the garbage collector to close
}

try {
  for (;;) {
    readConfig();
    await leakyOpen();
  }
} catch (e) {
  report({ leaked, gcClosed, code: e.code ?? null, message: e.message, stack: e.stack ?? '' });
  throw e;
}
`;

function fdkeeperScript(url: string): string {
  // The two modules it uses, not the whole package: under `ulimit -n 64` Node's ESM loader, which reads
  // every module of a graph at once, ran out of descriptors loading the index's ~140 files.
  return `import { writeSync } from 'node:fs';
import { FileTable } from ${JSON.stringify(new URL('./table/file-table.js', url).href)};
import { openSync } from ${JSON.stringify(new URL('./io/open.js', url).href)};
${REPORT_FUNCTION}
const [dataPath, configPath] = process.argv.slice(2);
const table = new FileTable({ maxOpen: ${LEAK_BUDGET}, openSites: 'auto' });
let leaked = 0;

function readConfig() {
  const f = openSync(configPath, 'rb', { table }); // @victim
  try { return f.readSync(); } finally { f.closeSync(); }
}

function leakyOpen() {
  const file = openSync(dataPath, 'rb', { table }); // @leak
  leaked++;
  // ...uses file, never closes it: the file object is left for the garbage collector
}

let error = null;
let failMs = null;
let t0 = 0;
try {
  for (;;) {
    t0 = performance.now();
    readConfig();
    t0 = performance.now();
    leakyOpen();
  }
} catch (e) {
  failMs = performance.now() - t0;
  error = { name: e.name, code: e.code, message: e.message };
}
const leakReport = table.leakReport();
const openAtFailure = table.size;
for (const d of table.descriptors()) d.closeSync(); // the demo cleans up what the loop leaked
report({ leaked, error, failMs, leakReport, openAtFailure, sizeAfter: table.size, heldAfter: table.heldCount });
`;
}

function files(ctx: DemoContext): [string, string] {
  const data = join(ctx.dir, 'data.bin');
  const config = join(ctx.dir, 'config.json');
  writeFileSync(data, 'some data\n');
  writeFileSync(config, '{"retries": 3}\n');
  return [data, config];
}

/** Plain node:fs under `ulimit -n 64`: FileHandles dropped for the GC until the process dies with EMFILE. */
export async function plainFinalizerLeak(ctx: DemoContext): Promise<PlainLeakFacts> {
  const run = await runScript<Pick<PlainLeakFacts, 'leaked' | 'gcClosed' | 'code' | 'message' | 'stack'>>(ctx, 'plain-leak.mjs', PLAIN_SCRIPT, { ulimit: LEAK_ULIMIT, args: files(ctx) });
  const r = resultOf('the plain node:fs', run);
  return {
    ...r,
    exit: describeExit(run),
    exitCode: run.code,
    stderr: run.stderr,
    namesLeaker: `${r.message}\n${r.stack}\n${run.stderr}`.includes('leakyOpen'),
    victimSite: `readConfig (${run.script}:${lineOf(PLAIN_SCRIPT, '// @victim')}`,
  };
}

/** The same loop on `FileTable({ maxOpen: 40, openSites: 'auto' })` under `ulimit -n 64`. */
export async function fdkeeperFinalizerLeak(ctx: DemoContext): Promise<FdkeeperLeakFacts> {
  const source = fdkeeperScript(ctx.fdkeeperUrl);
  const run = await runScript<Pick<FdkeeperLeakFacts, 'leaked' | 'error' | 'failMs' | 'leakReport' | 'openAtFailure' | 'sizeAfter' | 'heldAfter'>>(ctx, 'fdkeeper-leak.mjs', source, { ulimit: LEAK_ULIMIT, args: files(ctx) });
  const r = resultOf('the fdkeeper', run);
  const line = lineOf(source, '// @leak');
  return { ...r, exit: describeExit(run), exitCode: run.code, expectedSite: `leakyOpen (${run.script}:${line}:`, leakLineNumber: line, leakLine: sourceLine(source, line) };
}

/** The first line of `text` matching `re`, or the first line. */
function pickLine(text: string, re: RegExp): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => re.test(l)) ?? lines[0] ?? '';
}

export const finalizerLeak: DemoRow = {
  id: 'finalizer-leak',
  title: 'leaks from relying on finalizers',
  async run(ctx): Promise<RowOutcome> {
    const p = await plainFinalizerLeak(ctx);
    const f = await fdkeeperFinalizerLeak(ctx);

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

    const e = f.error;
    const namesLeak = e !== null && e.message.includes(f.expectedSite);
    const clean = f.sizeAfter === 0 && f.heldAfter === 0;
    const pass = e?.code === 'EMFILE' && namesLeak && f.leaked === LEAK_BUDGET && f.exitCode === 0 && clean;
    const site = `leakyOpen (fdkeeper-leak.mjs:${f.leakLineNumber})`;
    let fdOutcome: string;
    if (e === null) fdOutcome = `the loop ended without an error (${f.exit})`;
    else if (e.code !== 'EMFILE') fdOutcome = `failed with ${e.code}: ${e.message}`;
    else fdOutcome = `EMFILE at the budget (${f.leaked} open, in ${(f.failMs ?? 0).toFixed(2)} ms) ${namesLeak ? `naming ${site}` : 'NOT naming the leaking line'}; process lived on`;
    if (e?.code === 'EMFILE' && f.leaked !== LEAK_BUDGET) fdOutcome += `; but ${f.leaked} opened, not ${LEAK_BUDGET}`;
    if (f.exitCode !== 0) fdOutcome += `; child ${f.exit}`;
    if (!clean) fdOutcome += `; ${f.heldAfter} descriptor(s) still held after cleanup`;
    const report = f.leakReport.trimEnd().split('\n').slice(0, 12).map((l) => `  | ${l}`);
    const fdDetail = [
      `ulimit -n ${LEAK_ULIMIT}; FileTable({ maxOpen: ${LEAK_BUDGET}, openSites: 'auto' }); the same loop with openSync(path, 'rb', { table })`,
      `error: ${e === null ? '(none)' : e.message}`,
      `leaking line: ${f.leakLine}`,
      `table.leakReport() at that moment (${f.openAtFailure} open; 'auto' starts recording sites once 32 descriptors are open):`,
      ...report,
    ].join('\n');
    return { plain: { outcome: plainOutcome, detail: plainDetail }, fdkeeper: { outcome: fdOutcome, detail: fdDetail }, pass };
  },
};
