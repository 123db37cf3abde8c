#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test, TypeScript loaded through tsx.
// Node 20's --test takes no globs, so the files are listed here. Extra arguments (file paths or
// name filters such as --test-name-pattern=…) are passed through; with file arguments only those run.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const fileArgs = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// Some tests run the build (dist/): child processes that must start fast, and the atomic writes' replace
// workers (worker threads do not get tsx's loader). Build first when a source is newer than the build.
function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(p) : st.mtimeMs);
  }
  return t;
}
let built = 0;
try {
  built = statSync(join(root, 'dist', 'index.js')).mtimeMs;
} catch {
  // no build yet
}
if (newest(join(root, 'src')) > built) {
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

const files =
  fileArgs.length > 0
    ? fileArgs
    : find(join(root, 'test'))
        .map((p) => relative(root, p))
        .sort();
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
  // TSX_DISABLE_CACHE: with its cache on, tsx holds a descriptor on its cache directory (/tmp/tsx-<uid>)
  // for the first second or so of every process and closes it in the background, which tests that
  // compare this process's descriptor numbers before and after would see as a descriptor vanishing.
  env: {
    ...process.env,
    TSX_DISABLE_CACHE: '1',
    NODE_OPTIONS: [process.env.NODE_OPTIONS, '--import tsx'].filter(Boolean).join(' '),
  },
});
process.exit(result.status ?? 1);
