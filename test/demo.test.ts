// The `fdkeeper demo` command, run as users run it: `node dist/cli/main.js demo …` (npm test builds first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { DEMO_ROWS, runDemo, UnknownTrapError, type DemoRow } from '../src/cli/demo/index.js';
import { LEAK_ULIMIT, LOAD_MARGIN, leakChildModule } from '../src/cli/demo/finalizer-leak.js';
import { renderTable } from '../src/cli/demo/render.js';

const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'dist', 'cli', 'main.js');
const ESC = '\u001b[';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with `args` (environment: this process's, plus `env`). */
function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  assert.ok(fs.existsSync(main), `${main} is missing: run \`npm run build\` first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

interface Side {
  outcome: string;
  detail: string;
}
interface Row {
  trap: string;
  title: string;
  plain: Side;
  fdkeeper: Side;
  pass: boolean;
}

function assertSide(side: unknown, where: string): asserts side is Side {
  assert.ok(typeof side === 'object' && side !== null, where);
  assert.deepEqual(Object.keys(side).sort(), ['detail', 'outcome'], where);
  const s = side as Record<string, unknown>;
  assert.equal(typeof s['outcome'], 'string', where);
  assert.equal(typeof s['detail'], 'string', where);
  assert.notEqual(s['outcome'], '', where);
  assert.notEqual(s['detail'], '', where);
}

function parseRows(stdout: string): Row[] {
  const rows = JSON.parse(stdout) as unknown;
  assert.ok(Array.isArray(rows), 'the JSON is an array of rows');
  for (const [i, row] of (rows as unknown[]).entries()) {
    assert.ok(typeof row === 'object' && row !== null);
    assert.deepEqual(Object.keys(row), ['trap', 'title', 'plain', 'fdkeeper', 'pass'], `row ${String(i)} keys`);
    const r = row as Record<string, unknown>;
    assert.equal(typeof r['trap'], 'string');
    assert.equal(typeof r['title'], 'string');
    assert.equal(typeof r['pass'], 'boolean');
    assertSide(r['plain'], `row ${String(i)} plain`);
    assertSide(r['fdkeeper'], `row ${String(i)} fdkeeper`);
  }
  return rows as Row[];
}

test('demo --json: every row runs, passes, and has the documented shape', async () => {
  const run = await cli(['demo', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const rows = parseRows(run.stdout);
  assert.deepEqual(
    rows.map((r) => r.trap),
    [
      'closed-behind-back',
      'finalizer-leak',
      'dup-offset',
      'append-plus',
      'emfile-budget',
      'log-replaced',
      'torn-write',
      'crash-state',
    ],
  );
  assert.deepEqual(
    rows.map((r) => r.title),
    DEMO_ROWS.map((r) => r.title),
  );
  for (const r of rows) assert.equal(r.pass, true, `${r.trap}: ${r.fdkeeper.outcome}\n${r.fdkeeper.detail}`);

  // The cells carry what happened, not canned text.
  const by = new Map(rows.map((r) => [r.trap, r]));
  const closed = by.get('closed-behind-back')!;
  assert.match(closed.plain.outcome, /landed in the other file/);
  assert.match(closed.plain.detail, /other file now holds "borrower: a log line\\n"/);
  assert.match(
    closed.fdkeeper.detail,
    /EBADF: bad file descriptor, write .*opened at ownerOpens \(.*fdkeeper-closed\.js:\d+:\d+\); closed at ownerCloses/,
  );
  const leak = by.get('finalizer-leak')!;
  assert.match(leak.plain.outcome, /^died with EMFILE after \d+ dropped FileHandles/);
  assert.match(leak.fdkeeper.detail, /fd budget of 40 exhausted.*leakyOpen \(.*fdkeeper-leak\.js:\d+:\d+\)/);
  assert.match(leak.fdkeeper.detail, /\| fdkeeper: 40 descriptors still open/);
  assert.match(by.get('dup-offset')!.plain.detail, /file: "second\\n"/);
  assert.match(by.get('dup-offset')!.fdkeeper.outcome, /"first\\nsecond\\nthird\\n"; one offset \(19\)/);
  assert.match(by.get('append-plus')!.fdkeeper.outcome, /"hello world", read "hello" after seek\(0\), tell\(\) = 11/);
  assert.match(by.get('emfile-budget')!.plain.outcome, /^\d+ of 2000 opens failed with EMFILE$/);
  assert.match(by.get('emfile-budget')!.fdkeeper.outcome, /^2000 of 2000 succeeded; at most \d+ open at once$/);
  const log = by.get('log-replaced')!;
  assert.match(log.plain.outcome, /^lost \d+ of 100 lines after a replace, \d+ of 100 after a delete$/);
  assert.equal(log.fdkeeper.outcome, 'lost 0 lines after a replace and 0 after a delete');
  assert.match(log.fdkeeper.detail, /reopens \{"replaced":1\}/);
  assert.match(log.fdkeeper.detail, /reopens \{"deleted":1\}/);
  const torn = by.get('torn-write')!;
  assert.match(torn.plain.detail, /^\d+ reads: \d+ complete, \d+ empty, \d+ torn$/m);
  assert.match(torn.fdkeeper.outcome, /^all (\d+) reads complete across \d+ replacements$/);
  assert.match(torn.fdkeeper.detail, /^(\d+) reads: \1 complete, 0 empty, 0 torn$/m);
  const crash = by.get('crash-state')!;
  assert.match(crash.plain.outcome, /^[1-9]\d* of \d+ crash states bad \(.*empty ×\d+.*\)$/);
  assert.match(crash.fdkeeper.outcome, /^0 of [1-9]\d* crash states bad$/);
});

test('demo (table) with NO_COLOR=1: no escape codes, every trap and verdict printed, temp dir removed', async () => {
  const run = await cli(['demo'], { NO_COLOR: '1', FORCE_COLOR: '1' });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(!run.stdout.includes(ESC), 'no ANSI escape codes');
  const header = run.stdout.split('\n').find((l) => l.includes('trap') && l.includes('what plain node:fs did'));
  assert.ok(header?.includes('what fdkeeper did') && header.includes('pass/fail'), 'the table header');
  for (const r of DEMO_ROWS)
    assert.match(run.stdout, new RegExp(`^ ${r.id} +│ .* │ pass$`, 'm'), `${r.id} row with its verdict`);
  assert.match(run.stdout, new RegExp(`^${DEMO_ROWS.length} of ${DEMO_ROWS.length} passed$`, 'm'));
  const dir = /\$DEMO_DIR = (\S+), removed afterwards/.exec(run.stdout)?.[1];
  assert.ok(dir !== undefined && dir.includes('fdkeeper-demo-'), 'the evidence names the temp dir');
  assert.equal(fs.existsSync(dir), false, 'the temp dir was removed');
});

// A pseudo-terminal, so stdout is a TTY: only there may colors appear, and NO_COLOR still turns them off.
const script = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0 && process.platform === 'linux';
test(
  'demo on a terminal: colored, unless NO_COLOR is set',
  { skip: script ? false : 'needs util-linux script(1)' },
  async () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(main)} demo --only append-plus`;
    const inPty = (env: NodeJS.ProcessEnv): Promise<Run> =>
      new Promise((resolve, reject) => {
        const child = spawn('script', ['-qec', command, '/dev/null'], {
          cwd: root,
          env: { ...process.env, TERM: 'xterm', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        child.on('error', reject);
        child.on('close', (code) => {
          resolve({ code, stdout, stderr });
        });
      });
    const env: NodeJS.ProcessEnv = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined };
    const colored = await inPty(env);
    assert.equal(colored.code, 0, colored.stdout + colored.stderr);
    assert.ok(colored.stdout.includes(ESC), 'colors on a terminal');
    assert.match(colored.stdout, /append-plus/);
    const plain = await inPty({ ...env, NO_COLOR: '1' });
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /append-plus/);
    assert.ok(!plain.stdout.includes(ESC), 'no colors with NO_COLOR, even on a terminal');
  },
);

test('demo --only dup-offset runs just that row', async () => {
  const run = await cli(['demo', '--only', 'dup-offset', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const rows = parseRows(run.stdout);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.trap, 'dup-offset');
  assert.equal(rows[0]!.pass, true);

  const table = await cli(['demo', '--only', 'dup-offset'], { NO_COLOR: '1' });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ dup-offset +│/m);
  assert.doesNotMatch(table.stdout, /closed-behind-back|emfile-budget/);
  assert.match(table.stdout, /^1 of 1 passed$/m);
});

test('demo --only nope: a clear error and exit code 2, nothing run', async () => {
  const run = await cli(['demo', '--only', 'nope']);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /unknown trap 'nope'/);
  for (const r of DEMO_ROWS) assert.ok(run.stderr.includes(r.id), `the error lists ${r.id}`);
});

test("--version prints package.json's version; --help shows examples for the program and for demo", async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
    bin: Record<string, string>;
  };
  assert.equal(pkg.bin['fdkeeper'], './dist/cli/main.js');
  assert.match(fs.readFileSync(main, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  if (process.platform !== 'win32') assert.ok((fs.statSync(main).mode & 0o111) !== 0, 'dist/cli/main.js is executable');

  const version = await cli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), pkg.version);

  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: fdkeeper/);
  assert.match(help.stdout, /Examples:\n {2}\$ fdkeeper demo/);

  const demoHelp = await cli(['demo', '--help']);
  assert.equal(demoHelp.code, 0);
  assert.match(demoHelp.stdout, /--only <trap>/);
  assert.match(demoHelp.stdout, /Examples:\n {2}\$ fdkeeper demo/);

  const bad = await cli(['demo', '--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option '--bogus'/);
});

/** The descriptors open in this process (Linux), ignoring the one readdir itself used. */
function procFds(): string[] {
  return fs.readdirSync('/proc/self/fd').filter((n) => {
    try {
      fs.fstatSync(Number(n));
      return true;
    } catch {
      return false;
    }
  });
}

test(
  'runDemo in-process: leaves no descriptor open and removes its temp dir',
  { skip: process.platform === 'linux' ? false : 'needs /proc/self/fd' },
  async () => {
    const before = procFds();
    const { dir, rows } = await runDemo();
    assert.deepEqual(procFds(), before);
    assert.equal(fs.existsSync(dir), false);
    assert.deepEqual(
      rows.map((r) => r.pass),
      DEMO_ROWS.map(() => true),
    );
  },
);

test('runDemo: a row that throws is shown as failed with its error, never as passed; unknown ids throw', async () => {
  const broken: DemoRow = {
    id: 'broken',
    title: 'a row that throws',
    run: () => Promise.reject(new Error('boom: no such tool')),
  };
  const failing: DemoRow = {
    id: 'failing',
    title: 'a row whose fdkeeper side fails',
    run: () =>
      Promise.resolve({
        plain: { outcome: 'trap shown', detail: 'd1' },
        fdkeeper: { outcome: 'not prevented', detail: 'd2' },
        pass: false,
      }),
  };
  const { rows } = await runDemo({ rows: [broken, failing], fdkeeperUrl: 'file:///nonexistent/index.js' });
  assert.deepEqual(
    rows.map((r) => [r.trap, r.pass]),
    [
      ['broken', false],
      ['failing', false],
    ],
  );
  assert.equal(rows[0]!.fdkeeper.detail, 'boom: no such tool');
  const text = renderTable(rows);
  // A failed row says so in words of its own, never the same text in both columns.
  assert.equal(rows[0]!.fdkeeper.outcome, 'FAILED TO RUN: boom: no such tool');
  assert.notEqual(rows[0]!.plain.outcome, rows[0]!.fdkeeper.outcome);
  assert.match(text, /^ broken +│ not run: the row failed first +│ FAILED TO RUN: boom: no such tool +│ FAIL$/m);
  assert.match(text, /^0 of 2 passed$/m);
  await assert.rejects(runDemo({ only: 'nope' }), UnknownTrapError);
});

// Issue 12.2: the finalizer-leak row's fdkeeper child imported the whole library under `ulimit -n 64`,
// and Node's ESM loader, reading ~140 modules concurrently, ran out of descriptors first (EMFILE in 10
// of 10 cold imports). The child then imported two modules; now it imports the bundled index (a few
// files, scripts/build.mjs). This checks it loads with LOAD_MARGIN descriptors to spare, each in a fresh
// node process (nothing loaded or cached before).
test(
  "finalizer-leak: the fdkeeper child's imports load in a fresh node under ulimit -n 48 (16 below the row's 64)",
  { skip: process.platform === 'win32' ? 'needs sh ulimit' : false },
  () => {
    const url = pathToFileURL(path.join(root, 'dist', 'index.js')).href;
    const limit = LEAK_ULIMIT - LOAD_MARGIN;
    const source = `await import(${JSON.stringify(leakChildModule(url))}); console.log('loaded');`;
    for (let i = 0; i < 5; i++) {
      const r = spawnSync(
        'sh',
        [
          '-c',
          'ulimit -n "$1" && exec "$2" --input-type=module -e "$3"',
          'sh',
          String(limit),
          process.execPath,
          source,
        ],
        { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
      );
      assert.equal(r.stdout.trim(), 'loaded', `run ${i + 1} under ulimit -n ${limit}: ${r.stderr}`);
    }
  },
);

/** The files of the static import graph of `entries` (relative `import … from './x.js'` and `export … from`). */
function importGraph(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    for (const m of source.matchAll(
      /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\s*\(?\s*['"](\.[^'"]+)['"]/g,
    ))
      walk(path.resolve(path.dirname(file), m[1] ?? m[2] ?? ''));
  };
  for (const e of entries) walk(e);
  return seen;
}

// The same guard without timing: a cold page cache makes the loader hold more files open at once than a
// warm one, up to every module of the graph. Node itself holds about 20 descriptors at start; so even all
// opened together, the child's modules must leave LOAD_MARGIN of the limit free.
test("finalizer-leak: the fdkeeper child's import graph is small enough to load under the row's limit even all at once", () => {
  const url = pathToFileURL(path.join(root, 'dist', 'index.js')).href;
  const graph = importGraph([new URL(leakChildModule(url)).pathname]);
  // Measured: a fresh `node --input-type=module` holds 20 descriptors (Node 20.20, 2026-12-07; counted in
  // /proc/self/fd). The bundled build's graph is dist/index.js and one chunk (scripts/build.mjs).
  const NODE_OWN = 20;
  assert.ok(
    graph.size <= LEAK_ULIMIT - LOAD_MARGIN - NODE_OWN,
    `${graph.size} modules: more than ${LEAK_ULIMIT - LOAD_MARGIN - NODE_OWN} could exhaust ulimit -n ${LEAK_ULIMIT} while loading`,
  );
  // The control: a graph as wide as the unbundled library's (86 modules, what the row imported before)
  // is counted as too wide.
  const wide = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-wide-'));
  try {
    const many = Array.from({ length: 86 }, (_, i) => `m${i}.js`);
    for (const m of many) fs.writeFileSync(path.join(wide, m), 'export {};\n');
    fs.writeFileSync(path.join(wide, 'index.js'), many.map((m) => `import './${m}';\n`).join(''));
    assert.ok(importGraph([path.join(wide, 'index.js')]).size > LEAK_ULIMIT - NODE_OWN);
  } finally {
    fs.rmSync(wide, { recursive: true, force: true });
  }
});

test('finalizer-leak through the real command, three fresh runs: each passes', async () => {
  for (let i = 0; i < 3; i++) {
    const run = await cli(['demo', '--only', 'finalizer-leak', '--json']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const [row] = parseRows(run.stdout);
    assert.equal(row?.pass, true, `run ${i + 1}: ${row?.fdkeeper.outcome}`);
  }
});

test('finalizer-leak whose fdkeeper child cannot load its modules: the plain column shows what happened, the fdkeeper column says FAILED TO RUN and why', async () => {
  // A stand-in library as the real one was: a module graph too wide to load under ulimit -n 64 (its table
  // index imports 200 others, which Node's loader opens concurrently).
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-fake-lib-'));
  const many = Array.from({ length: 200 }, (_, i) => `m${i}.js`);
  for (const m of many) fs.writeFileSync(path.join(fake, m), 'export {};\n');
  fs.writeFileSync(
    path.join(fake, 'index.js'),
    `${many.map((m) => `import './${m}';`).join('\n')}\nexport class FileTable {}\nexport const openSync = () => 0;\n`,
  );
  try {
    const { rows } = await runDemo({
      only: 'finalizer-leak',
      fdkeeperUrl: pathToFileURL(path.join(fake, 'index.js')).href,
    });
    const row = rows[0]!;
    assert.equal(row.pass, false);
    assert.match(row.plain.outcome, /^died with EMFILE after \d+ dropped FileHandles/);
    assert.match(
      row.fdkeeper.outcome,
      /^FAILED TO RUN: the fdkeeper child could not load the library under ulimit -n 64: EMFILE while importing its modules \(exit code 1\)$/,
    );
    const text = renderTable(rows, { width: 200 });
    assert.match(
      text,
      /^ finalizer-leak +│ died with EMFILE .* │ FAILED TO RUN: the fdkeeper child could not load the library .* │ FAIL$/m,
    );
    assert.match(text, /^0 of 1 passed$/m);
  } finally {
    fs.rmSync(fake, { recursive: true, force: true });
  }
});

test('renderTable escapes what the rows quote (error messages, paths): no control character reaches the terminal', () => {
  const hostile = "EACCES: open '/tmp/x\u001b[2J\u001b]0;pwned\u0007\nFAKE │ pass'";
  const rows = [
    {
      trap: 't',
      title: 'title',
      plain: { outcome: hostile, detail: `line one\n${hostile}` },
      fdkeeper: { outcome: 'ok', detail: 'ok' },
      pass: false,
    },
  ];
  const text = renderTable(rows, { width: 200 });
  assert.ok(!text.includes('\u001b') && !text.includes('\u0007'), text);
  assert.doesNotMatch(text, /^FAKE/m);
  assert.ok(text.includes("EACCES: open '/tmp/x\\033[2J\\033]0;pwned\\a\\nFAKE │ pass'"));
  assert.match(text, /^ {4}line one$/m, 'the evidence keeps its own line breaks');
});
