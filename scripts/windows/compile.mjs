// Compiles the test suites (and src/, which they import) to JavaScript on Linux, for the Windows Node to
// run under Wine: tsx's esbuild binary for win32 does not start under Wine 8, so nothing is compiled
// there. Uses the esbuild that tsx brings (node_modules/esbuild, the Linux binary), one file at a time
// (a transform, no bundling: every import stays an import).
//
// The output is a mirror of the repository that the tests can treat as its root:
//   <out>/src/**.js, <out>/test/**.js   — compiled, beside the .ts (other files under test/ copied as they are);
//   <out>/dist                          — a copy of the build (child processes and workers run dist/);
//   <out>/package.json, README.md, docs — copied (the `fdkeeper/…` self-references resolve to <out>/dist);
//   <out>/node_modules                  — a symlink to the repository's.
// test/support files with a Windows stand-in in scripts/windows/overrides/ get that instead (proc-fds: no /proc).
// In every compiled test, `node:test` is replaced by scripts/windows/test-shim.mjs, which applies the
// skip list (scripts/windows/skips.mjs) and records which of its entries matched.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function posixRel(from, to) {
  const r = relative(from, to).split(sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}

/** Compiles `root`'s src/ and test/ into `out` (emptied first). Returns the compiled test files (relative to `out`). */
export function compile(root, out) {
  const esbuild = require(join(root, 'node_modules', 'esbuild'));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const shimSrc = join(root, 'scripts', 'windows', 'test-shim.mjs');
  const shim = join(out, 'win-test-shim.mjs');
  cpSync(shimSrc, shim);
  cpSync(join(root, 'scripts', 'windows', 'skips.mjs'), join(out, 'skips.mjs'));
  const tests = [];
  for (const top of ['src', 'test']) {
    for (const file of walk(join(root, top))) {
      const rel = relative(root, file);
      const dest = join(out, rel);
      mkdirSync(dirname(dest), { recursive: true });
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) {
        cpSync(file, dest);
        continue;
      }
      // The TypeScript too, timestamps kept: harnesses compare dist/ against src/*.ts to refuse a stale build.
      cpSync(file, dest, { preserveTimestamps: true });
      let code = esbuild.transformSync(readFileSync(file, 'utf8'), {
        loader: 'ts',
        format: 'esm',
        target: 'node20',
        sourcefile: rel,
      }).code;
      const js = dest.replace(/\.ts$/, '.js');
      if (top === 'test') {
        const suite = rel
          .split(sep)
          .join('/')
          .replace(/^test\//, '')
          .replace(/\.test\.ts$|\.ts$/, '');
        code = code.replace(
          /(["'])node:test\1/g,
          `'${posixRel(dirname(js), shim)}?suite=${encodeURIComponent(suite)}'`,
        );
        if (rel.endsWith('.test.ts')) tests.push(relative(out, js));
      }
      // A Windows stand-in (scripts/windows/overrides/<same path>.js) takes the compiled file's place.
      const override = join(root, 'scripts', 'windows', 'overrides', relative(out, js));
      if (existsSync(override)) code = readFileSync(override, 'utf8');
      writeFileSync(js, code);
    }
  }
  cpSync(join(root, 'dist'), join(out, 'dist'), { recursive: true, preserveTimestamps: true });
  for (const f of ['package.json', 'README.md', 'tsconfig.json']) cpSync(join(root, f), join(out, f));
  cpSync(join(root, 'docs'), join(out, 'docs'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  return tests.sort();
}
