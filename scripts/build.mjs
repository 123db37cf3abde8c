#!/usr/bin/env node
// Builds dist/ from src/ for the package (`npm run build`, also run by `prepare` on a clone).
//
// The project's own TypeScript (node_modules/typescript, not whatever `tsc` is on PATH: the
// `typescript-5.2` devDependency also installs a `tsc` bin and may win node_modules/.bin/tsc), then esbuild:
//   1. tsc type checks and emits the declarations into dist/ (.d.ts per module, with their TSDoc;
//      `stripInternal` drops @internal): the `exports` map's `types` point at them;
//   2. tsc emits the JavaScript without comments and without checking again (`noCheck`) into a scratch
//      directory;
//   3. esbuild bundles that JavaScript into dist/: one file per published entry (index, fs, log, testing,
//      register, log/pino-transport, cli/main) and the replace worker, with the code they share split into
//      chunks under dist/lib/ (`splitting`: every entry of one process uses the same FsError class and the
//      same `fdtable`). Importing the root entry reads dist/index.js and one chunk instead of 62 modules: the ESM
//      loader's resolve, read and compile per module was most of what `import('fdkeeper')` cost (issue 14,
//      docs/benchmarks.md "Issue 14: import cost after bundling");
//   4. the demo's child programs are copied unbundled, with their comments (step 4 below).
// No source maps: they would point at src/*.ts, which the package does not ship (docs/packaging.md).
// dist/ is removed first, so a module that was moved or deleted in src/ is not shipped stale.
//
// Decisions (docs/packaging.md "Decisions: the bundled build"):
// - Node built-ins are read with `process.getBuiltinModule` (plugin `builtins` below) instead of
//   `import … from 'node:fs'`: the ESM form of a built-in reads every export once, and for node:fs that
//   loads fs/promises, streams, readline and the watchers, 35 internal modules the root never uses.
//   Properties are read when used (`fs.openSync(…)` reads `fs.openSync` at the call), as the ESM bindings
//   did after `syncBuiltinESMExports()` (trackNodeFs).
// - Modules that find files next to themselves with `import.meta.url` are at depth 1 in src/ (open-site's
//   LIBRARY_ROOT, worker-pool's `./replace-worker.js`, the CLI's package.json), so they must be at depth 1 in
//   dist/ too: an extra entry (`anchor`, deleted after the build) imports the ones outside src/cli, which
//   puts them in shared chunks in dist/lib/, never inlined into a depth-0 entry such as dist/index.js. The
//   CLI's modules are used only by dist/cli/main.js and are inlined there (depth 1, under dist/cli/: the
//   CLI's frames count as open sites, src/diagnostics/open-site.ts).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const esbuild = require('esbuild');

function run(args, project = 'tsconfig.build.json') {
  const r = spawnSync(process.execPath, [tsc, '-p', project, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** The published entries (package.json `exports` and `bin`) and the worker, by their path in dist/ without `.js`. */
const ENTRIES = ['index', 'fs', 'log', 'testing', 'register', 'log/pino-transport', 'cli/main'];
/**
 * Internal modules the tests' child processes drive in the build (not in package.json's `exports`): the
 * atomic-write torture's writers set the replace-worker policy (test/support/atomic-torture-writer.mjs).
 */
const INTERNAL = [['atomic/worker-pool', 'lib/worker-pool']];
/** Modules that locate files relative to themselves (see above): kept at depth 1 by the anchor entry. */
const ANCHORED = ['diagnostics/open-site', 'atomic/worker-pool', 'register/reporter'];

/**
 * A built-in as a CommonJS module for esbuild. Each importing module gets `__toESM(require_x())`: an object
 * whose prototype is `module.exports`'s prototype, onto which `module.exports`'s own properties are copied,
 * and whose `default` is `module.exports`. Here `module.exports` is an empty object whose prototype is the
 * built-in: nothing is copied per importing module (copying the built-in's properties cost 1.6 ms of the
 * root's import), and both a named import (`openSync(…)`) and the default import (`fs.openSync(…)`) read
 * the built-in's property at the call, through the prototype chain, so a patched property (trackNodeFs)
 * is seen. An earlier form was a Proxy over the built-in: every `fs.readSync` of the OS backend then went
 * through a `get` trap, which made the 4 KiB read rows (2a, 2b) 11–14 % slower than the unbundled build.
 * Writes must go to the built-in itself (`process.getBuiltinModule`, as trackNodeFs does), not through an
 * import: they would land on this object.
 */
const BUILTIN_MODULE = `module.exports = Object.create(process.getBuiltinModule(ID));`;

/** `import … from 'node:x'` → `process.getBuiltinModule('node:x')`, its properties read when used. */
const builtins = {
  name: 'builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => ({
      contents: BUILTIN_MODULE.replace('ID', JSON.stringify(a.path)),
      loader: 'js',
    }));
  },
};

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run(['--emitDeclarationOnly']);
const scratch = mkdtempSync(path.join(tmpdir(), 'fdkeeper-build-'));
try {
  const js = path.join(scratch, 'js');
  run(['--declaration', 'false', '--removeComments', '--noCheck', '--outDir', js]);
  const anchor = path.join(scratch, 'anchor.js');
  // It imports the root's graph as well, like every entry (below), or the anchored modules and what they
  // import would be split off the root's chunk.
  writeFileSync(anchor, ['index', ...ANCHORED].map((m) => `import ${JSON.stringify(`./js/${m}.js`)};\n`).join(''));
  // Every entry also imports the root's module graph, so that all of the root's modules are reached from the
  // same entries and land in one chunk: importing the root then reads dist/index.js and that chunk, not one
  // chunk per combination of entries that share a module (14 of them: the import took 13.8 ms, not 12.7).
  // The worker and the internal entries too, or the modules they share with the root would split it.
  const wrappers = path.join(scratch, 'entries');
  const entryPoints = [...ENTRIES.map((e) => [e, e]), ['atomic/replace-worker', 'lib/replace-worker'], ...INTERNAL].map(
    ([e, out]) => {
      const file = path.join(js, `${e}.js`);
      const wrapper = path.join(wrappers, `${e}.js`);
      const spec = (f) => JSON.stringify(path.relative(path.dirname(wrapper), f).split(path.sep).join('/'));
      const source = readFileSync(file, 'utf8');
      const lines = [`import ${spec(path.join(js, 'index.js'))};`, `export * from ${spec(file)};`];
      if (/\bexport default\b|\bas default\b/.test(source)) lines.push(`export { default } from ${spec(file)};`);
      // The bin's `#!/usr/bin/env node`: esbuild keeps the hashbang of an entry file, here the wrapper.
      const hashbang = /^#!.*\n/.exec(source);
      mkdirSync(path.dirname(wrapper), { recursive: true });
      writeFileSync(wrapper, (hashbang?.[0] ?? '') + lines.join('\n') + '\n');
      return { in: wrapper, out };
    },
  );
  await esbuild.build({
    entryPoints: [...entryPoints, { in: anchor, out: 'lib/anchor' }],
    outdir: path.join(root, 'dist'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'lib/[name]-[hash]',
    legalComments: 'none',
    // Whitespace and syntax, not identifiers: class and function names stay readable in stack traces and
    // `util.inspect` (renaming them saved 0.1 ms more, measured). Less text is less to parse at import.
    minifyWhitespace: true,
    minifySyntax: true,
    // No keepNames: it names every function with a `__name(fn, "name")` call, also the closures a function
    // makes on each call (`const invalid = (…) => …` in io's planOpen), and each such call is an
    // Object.defineProperty: a third of an io open + close on the no-op backend (bench 5a: 2× the
    // unbundled build). The class names it was for are restored below (`restoreClassNames`).
    keepNames: false,
    packages: 'external', // the CLI's dependencies (commander, picocolors) stay dependencies
    plugins: [builtins],
    logLevel: 'warning',
  });
  rmSync(path.join(root, 'dist', 'lib', 'anchor.js'));
  restoreClassNames(path.join(root, 'dist'));
  // 4. the demo's child programs once more, with their comments: the demo finds the lines its stack traces
  //    must name by marker comments (`// @leak`) in the compiled .js. They run as their own node processes
  //    and import the built entries (dist/index.js). Their type-only imports pull the library into that
  //    program, so it is emitted to a scratch directory and only the children are copied over.
  const withComments = path.join(scratch, 'children');
  run(['--outDir', withComments], 'tsconfig.children.json');
  const children = path.join('cli', 'demo', 'children');
  mkdirSync(path.join(root, 'dist', children), { recursive: true });
  for (const name of readdirSync(path.join(withComments, children))) {
    if (name.endsWith('.js'))
      copyFileSync(path.join(withComments, children, name), path.join(root, 'dist', children, name));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
chmodSync(path.join(root, 'dist', 'cli', 'main.js'), 0o755);

/**
 * A bundled class that refers to itself becomes `var FsError = class _FsError …`: esbuild renames the
 * class's inner binding so that it cannot be confused with the outer `var`, and the class's `name` is then
 * `_FsError` (util.inspect, error output, test/option-validation.test.ts). The inner binding may just as
 * well have the outer name, so every `X=class _X` gets `_X` back as `X` in its file. Functions renamed
 * for a clash between modules (`sleep2`) keep the suffix: only stack traces show it.
 */
function restoreClassNames(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    let code = readFileSync(file, 'utf8');
    const renamed = [...code.matchAll(/\b([A-Za-z$][\w$]*)=class _\1\b/g)].map((m) => m[1]);
    for (const name of new Set(renamed)) code = code.replace(new RegExp(`\\b_${name}\\b`, 'g'), name);
    if (renamed.length > 0) writeFileSync(file, code);
  }
}
