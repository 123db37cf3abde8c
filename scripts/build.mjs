#!/usr/bin/env node
// Builds dist/ from src/ for the package (`npm run build`, also run by `prepare` on a clone).
//
// Two passes of the project's own TypeScript (node_modules/typescript, not whatever `tsc` is on PATH:
// the `typescript-5.2` devDependency also installs a `tsc` bin and may win node_modules/.bin/tsc):
//   1. type check and emit the declarations (.d.ts, with their TSDoc; `stripInternal` drops @internal);
//   2. emit the JavaScript without comments (except the demo's child programs, step 3) and without checking again
// (`noCheck`): the TSDoc lives in
//      the .d.ts files, where editors read it, and leaving it out of the .js keeps the tarball small.
// No source maps: they would point at src/*.ts, which the package does not ship (docs/packaging.md).
// dist/ is removed first, so a module that was moved or deleted in src/ is not shipped stale.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function run(args, project = 'tsconfig.build.json') {
  const r = spawnSync(process.execPath, [tsc, '-p', project, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run(['--emitDeclarationOnly']);
run(['--declaration', 'false', '--removeComments', '--noCheck']);
// 3. the demo's child programs once more, with their comments: the demo finds the lines its stack traces
//    must name by marker comments (`// @leak`) in the compiled .js.
//    Their type-only imports pull the library into that program, so it is emitted to a scratch directory
//    and only the children are copied over.
const scratch = mkdtempSync(path.join(tmpdir(), 'fdkeeper-build-'));
try {
  run(['--outDir', scratch], 'tsconfig.children.json');
  const children = path.join('cli', 'demo', 'children');
  for (const name of readdirSync(path.join(scratch, children))) {
    if (name.endsWith('.js')) copyFileSync(path.join(scratch, children, name), path.join(root, 'dist', children, name));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
chmodSync(path.join(root, 'dist', 'cli', 'main.js'), 0o755);
