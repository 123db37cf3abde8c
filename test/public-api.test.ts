// The public API: the exact values every entry point exports (an addition is a deliberate edit here and in
// docs/design.md "Public API"), no aliases or internals in any entry, and what importing the root costs in
// modules — checked in fresh node processes from the module lists, never from timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { childEnv } from './support/child-env.js';

const root = path.resolve(import.meta.dirname, '..');

/** Every export path of package.json and the value names it must export, sorted. */
const ENTRIES: Record<string, readonly string[]> = {
  fdkeeper: [
    'BufferedFile',
    'Descriptor',
    'FileTable',
    'FsError',
    'LogFile',
    'PendingFile',
    'RawFile',
    'TextFile',
    'activeNodeFsTracker',
    'atomicCreate',
    'atomicCreateSync',
    'atomicWrite',
    'atomicWriteSync',
    'cleanupTemps',
    'createExclusive',
    'fdtable',
    'formatLeakReport',
    'hasCode',
    'open',
    'openLog',
    'openSync',
    'pipe',
    'trackNodeFs',
  ],
  'fdkeeper/testing': [
    'CrashExplorationError',
    'FaultyBackend',
    'LeakError',
    'MemoryBackend',
    'O',
    'OsBackend',
    'describeCrashState',
    'exploreCrashes',
    'leakCheck',
    'withoutLeaks',
  ],
  'fdkeeper/fs': ['createFs'],
  'fdkeeper/log': ['LogTransport', 'createLogWritable', 'logDestination'],
  'fdkeeper/pino': ['default', 'relayReopenSignal'],
  'fdkeeper/register': [],
};

/** Names that were aliases of another export, or internals, before issue 13.4: no entry may export them. */
const REMOVED = [
  'fdopen',
  'fdkeeperDestination',
  'createLogTransport',
  'tempNameFor',
  'parseTempName',
  'isTempName',
  'isClaimName',
  'formatAge',
  'O_PATH',
  'accessMode',
  'flagsToMode',
  'parseOpenFlags',
  'parseMode',
];

interface EntryFacts {
  names: string[];
  /** Pairs of names in one entry bound to the same function, class or object: an alias. */
  aliases: [string, string][];
}

/** Imports every entry through the package's own exports map (self-reference) in a fresh node. */
function importEntries(): Record<string, EntryFacts> {
  const source = `
const out = {};
for (const spec of ${JSON.stringify(Object.keys(ENTRIES))}) {
  const m = await import(spec);
  const names = Object.keys(m).sort();
  const aliases = [];
  for (const [i, a] of names.entries()) for (const b of names.slice(i + 1)) if (typeof m[a] === 'object' || typeof m[a] === 'function' ? m[a] === m[b] : false) aliases.push([a, b]);
  out[spec] = { names, aliases };
}
console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    cwd: root,
    encoding: 'utf8',
    env: childEnv({ FDKEEPER_REPORT: 'off' }),
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, EntryFacts>;
}

test('every entry exports exactly its pinned value list; package.json exports exactly these entries', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>;
  };
  const paths = Object.keys(pkg.exports).filter((p) => p !== './package.json');
  assert.deepEqual(
    paths.map((p) => (p === '.' ? 'fdkeeper' : `fdkeeper/${p.slice(2)}`)).sort(),
    Object.keys(ENTRIES).sort(),
  );
  const facts = importEntries();
  for (const [spec, expected] of Object.entries(ENTRIES))
    assert.deepEqual(facts[spec]?.names, [...expected].sort(), `the values ${spec} exports`);
});

test('no entry exports an alias (two names for one value) or a removed alias or internal', () => {
  const facts = importEntries();
  for (const [spec, f] of Object.entries(facts)) {
    assert.deepEqual(f.aliases, [], `${spec} exports one value under two names`);
    for (const name of REMOVED) assert.ok(!f.names.includes(name), `${spec} exports ${name}`);
  }
  // The control: the alias check sees an alias when there is one.
  const withAlias = { a: Math.max, b: Math.max, c: 1, d: 1 };
  const names = Object.keys(withAlias) as (keyof typeof withAlias)[];
  const found = names.flatMap((a, i) =>
    names
      .slice(i + 1)
      .filter((b) => typeof withAlias[a] === 'function' && withAlias[a] === withAlias[b])
      .map((b) => [a, b]),
  );
  assert.deepEqual(found, [['a', 'b']]);
});

/**
 * The node built-ins a fresh node loads for `code` (an ES module body), and the package's files it loads
 * (paths under dist/) with their text.
 */
function loadedBy(code: string): { builtins: string[]; files: string[]; code: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-api-'));
  try {
    const log = path.join(dir, 'resolved.txt');
    // The hook runs on the loader's own thread: it writes each resolved URL to a file, so the process under
    // test needs no MessagePort (which would load worker_threads itself).
    const hook = path.join(dir, 'hook.mjs');
    fs.writeFileSync(
      hook,
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
    );
    const register = path.join(dir, 'register.mjs');
    fs.writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
    );
    // Built-ins: a run without the hook (the hook's thread would show up in the list).
    const plain = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `${code}\nconsole.log(JSON.stringify(process.moduleLoadList));`],
      { cwd: dir, encoding: 'utf8', env: childEnv() },
    );
    assert.equal(plain.status, 0, plain.stderr);
    const builtins = (JSON.parse(plain.stdout.trim().split('\n').at(-1) ?? '[]') as string[])
      .filter((m) => m.startsWith('NativeModule ') && !m.startsWith('NativeModule internal/'))
      .map((m) => m.slice('NativeModule '.length));
    const hooked = spawnSync(
      process.execPath,
      ['--import', pathToFileURL(register).href, '--input-type=module', '-e', code],
      { cwd: dir, encoding: 'utf8', env: childEnv() },
    );
    assert.equal(hooked.status, 0, hooked.stderr);
    const dist = pathToFileURL(path.join(root, 'dist')).href + '/';
    const files = fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter((u) => u.startsWith(dist))
      .map((u) => u.slice(dist.length));
    const unique = [...new Set(files)];
    return {
      builtins,
      files: unique,
      code: unique.map((f) => fs.readFileSync(path.join(root, 'dist', f), 'utf8')).join('\n'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const HEAVY_BUILTINS = ['worker_threads', 'child_process', 'crypto'];
/**
 * The build bundles the modules into chunks (scripts/build.mjs), so which modules load is read from the
 * code of the loaded files: the facade's and the memory backend's declarations, which keep their names
 * (the build does not rename identifiers). The controls below find them where they are loaded.
 */
const HEAVY_CODE: Record<string, RegExp> = {
  facade: /\bfunction createFs\(/,
  'memory backend': /\bMemoryBackend=class\b|\bclass MemoryBackend\b/,
};
const heavyCode = (code: string): string[] => Object.keys(HEAVY_CODE).filter((k) => HEAVY_CODE[k]!.test(code));
const url = (file: string): string => JSON.stringify(pathToFileURL(path.join(root, 'dist', file)).href);

test('importing the root loads no worker_threads, child_process, crypto, facade or memory backend module', () => {
  const root = loadedBy(`await import(${url('index.js')});`);
  assert.ok(
    root.files.includes('index.js') && /\bFileTable=class\b|\bclass FileTable\b/.test(root.code),
    `the hook saw the import: ${root.files.join(' ')}`,
  );
  assert.deepEqual(
    HEAVY_BUILTINS.filter((b) => root.builtins.includes(b)),
    [],
  );
  assert.deepEqual(heavyCode(root.code), []);
  // The controls: the subpaths that need them load them, and so does the first call that needs crypto
  // (temp names) and a replace worker (atomicWrite's rename off the main thread).
  const testing = loadedBy(`await import(${url('testing.js')}); await import(${url('fs.js')});`);
  assert.deepEqual(heavyCode(testing.code), Object.keys(HEAVY_CODE), testing.files.join(' '));
  const used = loadedBy(
    `const { atomicWriteSync } = await import(${url('index.js')}); atomicWriteSync('out.txt', 'x', { durability: 'none' });`,
  );
  assert.ok(used.builtins.includes('crypto'), 'a temp name loads crypto at first use');
});

test("importing the root loads no built-in outside Node's start-up snapshot (os, stream, perf_hooks, module)", () => {
  // They load at first use (src/process/builtins.ts, and the build's process.getBuiltinModule proxies): an
  // ESM import of one, or a top-level read of a property, would load it for every app (issue 14).
  const LAZY = ['os', 'stream', 'perf_hooks', 'module'];
  const root = loadedBy(`await import(${url('index.js')});`);
  assert.deepEqual(
    LAZY.filter((b) => root.builtins.includes(b)),
    [],
  );
  // The controls: a text file reads os.EOL, and fdkeeper/log's transports extend node:stream's Writable.
  const used = loadedBy(
    `const { openSync } = await import(${url('index.js')}); openSync('out.txt', 'w').closeSync(); await import(${url('log.js')});`,
  );
  assert.deepEqual(
    ['os', 'stream'].filter((b) => !used.builtins.includes(b)),
    [],
  );
});

test('the bundled build: classes keep their names, and no call pays for naming helpers or trapped built-ins', async () => {
  // The build bundles without esbuild's keepNames (its `__name(fn, "x")` runs each time a function makes a
  // named closure: a third of an io open + close) and restores the names of self-referring classes itself;
  // a built-in import is a plain object over the built-in, not a Proxy (a trap on every fs.readSync cost
  // the 4 KiB read rows 11-14 %). scripts/build.mjs says why; docs/packaging.md has the measurements.
  const chunks = fs
    .readdirSync(path.join(root, 'dist'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js') && !f.includes('children'))
    .map((f) => fs.readFileSync(path.join(root, 'dist', f), 'utf8'))
    .join('\n');
  // (assert.ok, not doesNotMatch: a failure should not print the whole bundle)
  assert.ok(!/\b__name\(/.test(chunks), 'no keepNames helper in the bundle');
  assert.ok(!/new Proxy\(\{\}/.test(chunks), 'no Proxy over a built-in');
  assert.ok(!/=class _[A-Za-z]/.test(chunks), "no class left under esbuild's renamed inner binding");
  const entry = async (file: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(path.join(root, 'dist', file)).href)) as Record<string, unknown>;
  const exported = { ...(await entry('index.js')), ...(await entry('testing.js')), ...(await entry('fs.js')) };
  const misnamed = Object.entries(exported)
    .filter(([k, v]) => typeof v === 'function' && v.name !== k)
    .map(([k, v]) => `${k} is named ${(v as { name: string }).name}`);
  assert.deepEqual(misnamed, []);
  for (const k of ['FsError', 'FileTable', 'RawFile', 'MemoryBackend', 'OsBackend', 'FaultyBackend'])
    assert.equal((exported[k] as { name: string } | undefined)?.name, k, `${k} is exported under its own name`);
});
