// Open sites under TypeScript, from the package as users install it: `npm pack`, installed into a
// temporary project, an app that leaks from distinct lines run with tsx, with `node --enable-source-maps`
// (also on compiled TypeScript with its source map), and plain. The shipped source maps point fdkeeper's
// own frames at src/*.ts; every site must still be the user's line, never a file of the package.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { TSX } from './support/cli-run.js';
import { ROOT, assertBuilt, jsonReport, lineOf, tempDir } from './support/register-apps.js';

/** Node, npm and git without the test runner's own NODE_OPTIONS (its --import tsx). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['NODE_OPTIONS'];
  delete env['NODE_TEST_CONTEXT'];
  delete env['FDKEEPER_OPEN_SITES'];
  return env;
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 120_000 });
}

let project = '';
before(() => {
  assertBuilt();
  project = tempDir('fdkeeper-ts-project-');
  const packed = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project], ROOT);
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = path.join(project, packed.stdout.trim().split('\n').at(-1) ?? '');
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'ts-user', private: true, type: 'module' }),
  );
  const npmArgs = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball];
  // From npm's cache when it has commander and picocolors; else from the registry.
  let installed = run('npm', ['--offline', ...npmArgs], project);
  if (installed.status !== 0) installed = run('npm', ['--prefer-offline', ...npmArgs], project);
  assert.equal(installed.status, 0, installed.stderr);
  // Since issue 14 the package ships no source maps (they pointed at the unshipped src/); open-site.ts
  // still recognises its own frames by their dist/ path if a build with maps is installed.
  assert.ok(
    !fs.existsSync(path.join(project, 'node_modules', 'fdkeeper', 'dist', 'diagnostics', 'open-site.js.map')),
    'the package ships no source maps',
  );
});
after(() => {
  fs.rmSync(project, { recursive: true, force: true });
});

// Leaks two descriptors from each of four lines (two through a FileTable, two through node:fs, which
// the register hook tracks), runs a small fd budget out (its EMFILE names the top open sites), and
// makes an EBADF naming where a descriptor was opened and closed.
const APP_TS = `import fs from 'node:fs';
import { FileTable, type FsError } from 'fdkeeper';
interface Where { readonly path: string }
const table = new FileTable({ openSites: 'always' });
const here: Where = { path: process.argv[2] ?? '' };
function tableA(w: Where): number { return table.openSync(w.path, 'r'); } // @tableA
function tableB(w: Where): number { return table.openSync(w.path, 'r'); } // @tableB
function nodeC(w: Where): number { return fs.openSync(w.path, 'r'); } // @nodeC
function nodeD(w: Where): number { return fs.openSync(w.path, 'r'); } // @nodeD
for (let i = 0; i < 2; i++) { tableA(here); tableB(here); nodeC(here); nodeD(here); }
const small = new FileTable({ maxOpen: 2, openSites: 'always' });
function budgetA(w: Where): number { return small.openSync(w.path, 'r'); } // @budgetA
function budgetB(w: Where): number { return small.openSync(w.path, 'r'); } // @budgetB
budgetA(here); budgetB(here);
let emfile = '';
try { budgetA(here); } catch (e) { emfile = (e as Error).message; }
const d = table.openDescriptorSync(here.path, 'r'); // @opened
d.closeSync(); // @closed
let failure: Partial<FsError> = {};
try { d.statSync(); } catch (e) { failure = e as FsError; }
console.log(JSON.stringify({ sites: table.openHandles().map((h) => h.site), summary: table.leakReport(), emfile, openedAt: failure.openedAt, closedAt: failure.closedAt, message: failure.message }));
`;

// The same lines as plain JavaScript.
const APP_MJS = APP_TS.replace(/, type FsError/, '')
  .replace(/^interface .*$/m, '// (no types)')
  .replace(/\(w: Where\): number/g, '(w)')
  .replace(/const here: Where/, 'const here')
  .replace(/let failure: Partial<FsError> = \{\};/, 'let failure = {};')
  .replace(/failure = e as FsError;/, 'failure = e;')
  .replace(/\(e as Error\)/, 'e');

interface AppOutput {
  sites: string[];
  summary: string;
  emfile: string;
  openedAt: string;
  closedAt: string;
  message: string;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Runs `script` under the hook (`--import fdkeeper/register`, resolved in the project), after `node`
 * flags, and checks that every site names `source` at the marked lines.
 */
function check(label: string, nodeArgs: readonly string[], script: string, source: string, sourceText: string): void {
  const r = run(
    process.execPath,
    [...nodeArgs, '--import', 'fdkeeper/register', script, path.join(project, 'data.txt')],
    project,
    { FDKEEPER_REPORT: 'json' },
  );
  assert.equal(r.status, 0, `${label}: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as AppOutput;
  const hook = jsonReport(r.stderr) as {
    sites: { function: string; file: string; line: number; count: number; stack: string }[];
  };
  const everything = JSON.stringify({ out, hook });
  assert.doesNotMatch(everything, /node_modules[/\\]fdkeeper/, `${label}: nothing names a file of the package`);
  const at = (fn: string, marker: string): RegExp =>
    new RegExp(`^${fn} \\(${escape(source)}:${lineOf(sourceText, marker)}:\\d+\\)$`);

  // The FileTable's sites: two groups, one per line, not one merged site.
  assert.equal(out.sites.length, 4, label);
  assert.equal(out.sites.filter((s) => at('tableA', '@tableA').test(s)).length, 2, `${label}: ${out.sites.join(', ')}`);
  assert.equal(out.sites.filter((s) => at('tableB', '@tableB').test(s)).length, 2, `${label}: ${out.sites.join(', ')}`);
  assert.match(out.summary, /from 2 open sites/, label);
  // The budget's EMFILE names its top open sites.
  assert.match(out.emfile, /^EMFILE: /, label);
  for (const [fn, marker] of [
    ['budgetA', '@budgetA'],
    ['budgetB', '@budgetB'],
  ] as const) {
    assert.ok(out.emfile.includes(`1 × ${fn} (${source}:${lineOf(sourceText, marker)}:`), `${label}: ${out.emfile}`);
  }
  // EBADF's "opened at" and "closed at".
  assert.match(out.openedAt, at('<anonymous>', '@opened'), label);
  assert.match(out.closedAt, at('<anonymous>', '@closed'), label);
  assert.ok(out.message.includes(`closed at ${out.closedAt}`), label);
  // The register hook's report: four sites, each the user's line.
  assert.deepEqual(
    hook.sites.map((s) => [s.function, s.file, s.line, s.count]).sort(),
    [
      ['budgetA', source, lineOf(sourceText, '@budgetA'), 1],
      ['budgetB', source, lineOf(sourceText, '@budgetB'), 1],
      ['nodeC', source, lineOf(sourceText, '@nodeC'), 2],
      ['nodeD', source, lineOf(sourceText, '@nodeD'), 2],
      ['tableA', source, lineOf(sourceText, '@tableA'), 2],
      ['tableB', source, lineOf(sourceText, '@tableB'), 2],
    ],
    label,
  );
  for (const s of hook.sites) assert.match(s.stack, new RegExp(`^ {4}at ${s.function} \\(${escape(source)}:`), label);
}

test("open sites, EBADF sites and the register hook name the user's file:line under tsx, --enable-source-maps and plain node, from the installed package", () => {
  fs.writeFileSync(path.join(project, 'data.txt'), 'data\n');
  const tsFile = path.join(project, 'app.ts');
  const mjsFile = path.join(project, 'app.mjs');
  fs.writeFileSync(tsFile, APP_TS);
  fs.writeFileSync(mjsFile, APP_MJS);
  // The TypeScript compiled with a source map, as `tsc --sourceMap` ships it.
  const built = ts.transpileModule(APP_TS, {
    fileName: 'app.ts',
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: true },
  });
  fs.writeFileSync(path.join(project, 'app.js'), built.outputText);
  fs.writeFileSync(path.join(project, 'app.js.map'), built.sourceMapText ?? '');

  check('tsx, app.ts', ['--import', TSX], tsFile, tsFile, APP_TS);
  check('tsx, app.mjs', ['--import', TSX], mjsFile, mjsFile, APP_MJS);
  check('--enable-source-maps, app.mjs', ['--enable-source-maps'], mjsFile, mjsFile, APP_MJS);
  check(
    '--enable-source-maps, compiled app.js → app.ts',
    ['--enable-source-maps'],
    path.join(project, 'app.js'),
    tsFile,
    APP_TS,
  );
  check('plain, app.mjs', [], mjsFile, mjsFile, APP_MJS);
});
