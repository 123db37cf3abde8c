// The package as npm users get it: `npm pack` (what the tarball holds, and its size), installed into a
// fresh project (offline, from npm's cache), then every path of package.json's "exports" imported from
// ESM and required from CommonJS, a strict TypeScript consumer compiled against it with the minimum
// TypeScript (5.2) and the current one under node16, nodenext and bundler resolution, the CLI run
// through npx, and the tarball linted by publint --strict and @arethetypeswrong/cli (esm-only profile).
// The exports are read from package.json, never listed here: a new subpath is checked without edits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  engines: { node: string };
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  dependencies?: Record<string, string>;
};

/** The packed size npm may publish (bytes of the .tgz): issue 14's budget. */
const MAX_PACKED = 300_000;

/** Node, npm and npx as a user runs them: without the test runner's NODE_OPTIONS (its --import tsx). */
function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['NODE_TEST_CONTEXT'];
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
}
function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(
    r.status,
    0,
    `${what} failed (status ${r.status}, ${r.error?.message ?? ''}):\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

interface PackedFile {
  path: string;
  size: number;
}
let work = '';
let project = '';
let tarball = '';
let packed: { size: number; unpackedSize: number; entryCount: number; files: PackedFile[] };

/** Every import specifier the package offers: "fdkeeper", "fdkeeper/testing", …, with "*" patterns expanded from the installed files. */
function specifiers(): string[] {
  const installed = path.join(project, 'node_modules', pkg.name);
  const out: string[] = [];
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (key === './package.json') continue;
    const name = key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`;
    if (!key.includes('*')) {
      out.push(name);
      continue;
    }
    const file = typeof target === 'string' ? target : ((target as Record<string, unknown>)['default'] as string);
    const [pre = '', post = ''] = file.slice(2).split('*');
    for (const f of packed.files.map((x) => x.path)) {
      if (f.startsWith(pre) && f.endsWith(post) && fs.existsSync(path.join(installed, f)))
        out.push(name.replace('*', f.slice(pre.length, f.length - post.length)));
    }
  }
  return out;
}

before(() => {
  assert.ok(
    fs.existsSync(path.join(ROOT, 'dist', 'index.js')),
    'run `npm run build` first (scripts/run-tests.mjs does)',
  );
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-pack-'));
  // --ignore-scripts: dist/ is already built by the test runner; pack what is there.
  const json = ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT), 'npm pack');
  const parsed = JSON.parse(json) as (typeof packed & { filename: string })[];
  const first = parsed[0];
  assert.ok(first !== undefined);
  packed = first;
  tarball = path.join(work, first.filename);
  project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }),
  );
  // Scripts are not turned off: installing the tarball must not run the package's `prepare` (it builds a
  // clone; the tarball ships no scripts/ or src/, so a build would fail the install).
  const args = ['install', '--no-audit', '--no-fund', '--no-package-lock', tarball];
  let installed = run('npm', ['--offline', ...args], project);
  if (installed.status !== 0) installed = run('npm', ['--prefer-offline', ...args], project);
  ok(installed, 'npm install <tarball>');
});
after(() => {
  if (work !== '') fs.rmSync(work, { recursive: true, force: true });
});

test(`the tarball is lean: at most ${MAX_PACKED} bytes, no source maps, no internal logs, a LICENSE`, () => {
  const files = packed.files.map((f) => f.path);
  const report = `${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files`;
  assert.ok(packed.size <= MAX_PACKED, `the tarball is ${report}; the budget is ${MAX_PACKED}`);
  assert.deepEqual(
    files.filter((f) => f.endsWith('.map')),
    [],
    'source maps would point at src/, which is not shipped',
  );
  const allowed = /^(dist\/.*\.(js|d\.ts)|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/;
  assert.deepEqual(
    files.filter((f) => !allowed.test(f)),
    [],
    'only dist/*.js, dist/*.d.ts, README.md, LICENSE, CHANGELOG.md and package.json are shipped',
  );
  assert.ok(files.includes('LICENSE'));
  assert.match(
    fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'),
    /^MIT License\n\nCopyright \(c\) \d{4} fdkeeper contributors\n/,
  );
  // Every file "exports" and "bin" name is in the tarball (a moved entry would otherwise ship broken).
  const leaves = (v: unknown): string[] =>
    typeof v === 'string' ? [v] : typeof v === 'object' && v !== null ? Object.values(v).flatMap(leaves) : [];
  for (const t of leaves([pkg.exports, pkg.bin]).filter((x) => !x.includes('*')))
    assert.ok(files.includes(t.replace(/^\.\//, '')), `${t} is not in the tarball`);
  // The CLI keeps its shebang (the JavaScript is emitted without comments).
  const cli = fs.readFileSync(path.join(project, 'node_modules', pkg.name, Object.values(pkg.bin)[0] ?? ''), 'utf8');
  assert.match(cli, /^#!\/usr\/bin\/env node\n/);
  // stripInternal: no @internal member reaches the declarations (nor users' autocomplete).
  const internal = files.filter(
    (f) =>
      f.endsWith('.d.ts') &&
      fs.readFileSync(path.join(project, 'node_modules', pkg.name, f), 'utf8').includes('@internal'),
  );
  assert.deepEqual(internal, [], 'declarations with @internal members');
  console.log(`# packed: ${report}`);
});

test('installing the tarball runs no script of the package and installs only its runtime dependencies', () => {
  const installed = path.join(project, 'node_modules', pkg.name);
  assert.ok(!fs.existsSync(path.join(installed, 'scripts')) && !fs.existsSync(path.join(installed, 'src')));
  const top = fs.readdirSync(path.join(project, 'node_modules')).filter((n) => !n.startsWith('.'));
  assert.deepEqual(top.sort(), [pkg.name, ...Object.keys(pkg.dependencies ?? {})].sort());
  // The installed files are the tarball's, byte for byte (nothing rebuilt them).
  for (const f of packed.files) assert.equal(fs.statSync(path.join(installed, f.path)).size, f.size, f.path);
});

test('every export path loads from ESM (import) and from CommonJS (require, Node ≥ 20.19) with the same names', () => {
  const names = specifiers();
  assert.ok(names.includes(pkg.name) && names.length >= 2, `export paths: ${names.join(', ')}`);
  for (const spec of names) {
    const esm = ok(
      run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const ns = await import(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(ns).sort()))`,
        ],
        project,
      ),
      `import('${spec}')`,
    );
    const cjs = ok(
      run(
        process.execPath,
        [
          '-e',
          `const ns = require(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(ns).filter((k) => k !== '__esModule' && k !== 'module.exports').sort()))`,
        ],
        project,
      ),
      `require('${spec}')`,
    );
    assert.deepEqual(JSON.parse(cjs), JSON.parse(esm), `require('${spec}') and import('${spec}') differ`);
  }
  const self = ok(
    run(process.execPath, ['-p', `require('${pkg.name}/package.json').name`], project),
    'require(package.json)',
  );
  assert.equal(self.trim(), pkg.name);
});

test('engines states the Node that require(esm) needs', () => {
  assert.equal(pkg.engines.node, '>=20.19');
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  assert.ok(major > 20 || (major === 20 && minor >= 19), `this test runs on Node ${process.versions.node}`);
});

test('a strict TypeScript consumer compiles with TypeScript 5.2 and the current one (node16, nodenext, bundler)', () => {
  const names = specifiers();
  const lines = names.map((n, i) => `import * as e${i} from '${n}';`);
  // The control: a file that is not an export must not resolve (the consumer goes through "exports").
  lines.push(`// @ts-expect-error: not an export path\nimport * as hidden from '${pkg.name}/dist/index.js';`);
  lines.push(`export const entries: readonly object[] = [${names.map((_, i) => `e${i}`).join(', ')}, hidden];`);
  const consumer = path.join(project, 'consumer.mts');
  fs.writeFileSync(consumer, `${lines.join('\n')}\n`);
  const base = {
    strict: true,
    target: 'es2022',
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  };
  const settings = {
    node16: { ...base, module: 'node16', moduleResolution: 'node16' },
    nodenext: { ...base, module: 'nodenext', moduleResolution: 'nodenext' },
    bundler: { ...base, module: 'esnext', moduleResolution: 'bundler' },
  };
  for (const tsName of ['typescript-5.2', 'typescript']) {
    const tsDir = path.dirname(require.resolve(`${tsName}/package.json`));
    const version = (JSON.parse(fs.readFileSync(path.join(tsDir, 'package.json'), 'utf8')) as { version: string })
      .version;
    const out = ok(
      run(
        process.execPath,
        [path.join(ROOT, 'test', 'support', 'ts-consumer.mjs'), tsDir, project, consumer, JSON.stringify(settings)],
        project,
      ),
      `TypeScript ${version}`,
    );
    const results = JSON.parse(out) as Record<string, { packageFiles: number; diagnostics: string[] }>;
    for (const [name, r] of Object.entries(results)) {
      assert.deepEqual(r.diagnostics, [], `TypeScript ${version}, ${name}`);
      assert.ok(
        r.packageFiles >= names.length,
        `TypeScript ${version}, ${name}: only ${r.packageFiles} declaration files of the package were checked`,
      );
    }
  }
});

test('npx fdkeeper --help runs the installed CLI', () => {
  const out = ok(run('npx', ['--offline', pkg.name, '--help'], project), 'npx fdkeeper --help');
  assert.match(out, /^Usage: fdkeeper /m);
});

test('publint --strict and @arethetypeswrong/cli --profile esm-only find nothing on the tarball', () => {
  /** The file a package's "bin" names (their "exports" offer neither it nor package.json). */
  const bin = (name: string, command: string): string => {
    const manifest = path.join(ROOT, 'node_modules', name, 'package.json');
    const bins = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }).bin;
    return path.join(path.dirname(manifest), bins[command] ?? '');
  };
  const lint = ok(
    run(process.execPath, [bin('publint', 'publint'), 'run', tarball, '--strict'], work),
    'publint --strict',
  );
  assert.match(lint, /All good/);
  ok(
    run(
      process.execPath,
      [bin('@arethetypeswrong/cli', 'attw'), tarball, '--profile', 'esm-only', '--format', 'table-flipped'],
      work,
    ),
    'attw --profile esm-only',
  );
});
