// Runs every code snippet of README.md as a user would, each in a fresh directory where `fdkeeper`
// resolves to this package through its "exports" (node_modules/fdkeeper links to the repository, so the
// built dist/ is what runs): ```ts blocks under tsx, and type checked together with the current
// TypeScript (strict, nodenext); ```js blocks with plain `node` as .mjs, without tsx. A TypeScript
// snippet that uses `using` (which Node 20 cannot parse) must be followed by its plain JavaScript form.
// A quick start that does not run is a bug.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

interface Snippet {
  /** 1-based, in README order. */
  readonly n: number;
  readonly lang: 'ts' | 'js';
  readonly code: string;
  /** For a JavaScript form in a <details> block: the TypeScript snippet it is the plain form of. */
  readonly twinOf: number | undefined;
}

function parse(text: string): Snippet[] {
  const out: Snippet[] = [];
  for (const m of text.matchAll(/^(<details>.*\n\n)?```(ts|js)\n([\s\S]*?)^```$/gm)) {
    const lang = m[2] as 'ts' | 'js';
    const previous = out.at(-1);
    const twinOf = m[1] !== undefined && lang === 'js' && previous?.lang === 'ts' ? previous.n : undefined;
    out.push({ n: out.length + 1, lang, code: m[3] ?? '', twinOf });
  }
  return out;
}
const snippets = parse(readme);

/** Node without the test runner's `--import tsx`: the environment of a user running `node file.mjs`. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['NODE_TEST_CONTEXT'];
  return env;
}
const tsxLoader = import.meta.resolve('tsx');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function firstLine(code: string): string {
  return (code.split('\n').find((l) => l.trim() !== '' && !l.startsWith('import')) ?? '').trim().slice(0, 60);
}

/** A fresh directory where `import 'fdkeeper'` (and every subpath) resolves to this package. */
function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-readme-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'fdkeeper'), 'dir');
  return dir;
}

/** What a snippet must print, beyond exiting 0: the outputs its comments promise. */
function checkOutput(s: Snippet, stdout: string): void {
  const code = s.code;
  const where = `snippet ${s.n} (${s.lang}) printed:\n${stdout}`;
  if (code.includes('crashStates('))
    assert.match(stdout, /^"" .*"\{\\"v\\":1\}".*"\{\\"v\\":2\}"/m, `the naive rewrite can be left empty; ${where}`);
  if (code.includes('createExclusive(')) assert.match(stdout, /^created$/m, where);
  if (code.includes('FaultyBackend')) assert.match(stdout, /^ENOSPC: no space left on device, write/m, where);
  if (code.includes('unlinkSync')) assert.match(stdout, /^hello\n 0$/m, where);
  if (code.includes('leakReport()'))
    assert.match(stdout, /fdkeeper: 3 descriptors still open, from 1 open site[\s\S]*3 × loadTemplate \(/, where);
  if (code.includes('trackNodeFs()')) assert.match(stdout, /^1\nopenRunLog \(.*snippet\.m[jt]s:\d+:\d+\)$/m, where);
  if (code.includes("open('app.log', 'a+')")) assert.match(stdout, /^started$/m, where);
  const shown = [...code.matchAll(/console\.log\((.*)\);\s*\/\/ (\S.*)$/gm)].map((m) => m[2] ?? '');
  for (const expected of shown) {
    if (/^(hello world|20000|ping|EBADF)/.test(expected))
      assert.ok(
        stdout.includes(expected.split(',')[0] ?? expected),
        `snippet ${s.n} should print ${expected}; ${where}`,
      );
  }
}

test('README has TypeScript and plain JavaScript snippets', () => {
  assert.ok(snippets.filter((s) => s.lang === 'ts').length >= 5, `found ${snippets.length} snippets`);
  assert.ok(snippets.filter((s) => s.lang === 'js').length >= 5, `found ${snippets.length} snippets`);
});

test('a TypeScript snippet that Node 20 cannot parse as JavaScript has a plain JavaScript form after it', () => {
  for (const s of snippets.filter((x) => x.lang === 'ts' && /\b(await\s+)?using\s+\w+\s*=/.test(x.code))) {
    const twin = snippets.find((x) => x.twinOf === s.n);
    assert.ok(
      twin !== undefined,
      `snippet ${s.n} (${firstLine(s.code)}) uses \`using\` and has no JavaScript form in a <details> block after it`,
    );
    assert.doesNotMatch(twin.code, /\busing\s+\w+\s*=/, `the JavaScript form of snippet ${s.n} uses \`using\``);
    // The same imports: the two forms show the same API.
    const imports = (c: string): string[] => [...c.matchAll(/^import .*$/gm)].map((m) => m[0]).sort();
    assert.deepEqual(
      imports(twin.code),
      imports(s.code),
      `snippet ${s.n} and its JavaScript form import different things`,
    );
  }
});

test('every ```js snippet is valid plain JavaScript (node --check, no tsx)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-readme-check-'));
  try {
    for (const s of snippets.filter((x) => x.lang === 'js')) {
      const file = path.join(dir, `snippet-${s.n}.mjs`);
      fs.writeFileSync(file, s.code);
      const r = spawnSync(process.execPath, ['--check', file], { env: plainEnv(), encoding: 'utf8' });
      assert.equal(r.status, 0, `snippet ${s.n} is not plain JavaScript:\n${s.code}\n${r.stderr}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

let typed = '';
before(() => {
  typed = project();
});
after(() => {
  fs.rmSync(typed, { recursive: true, force: true });
});

test('every ```ts snippet type checks (tsc --strict, module nodenext) against the built package', () => {
  const files = snippets
    .filter((s) => s.lang === 'ts')
    .map((s) => {
      const name = `snippet-${s.n}.mts`;
      // Each snippet is a module of its own (top-level await, its own names).
      fs.writeFileSync(path.join(typed, name), `${s.code}\nexport {};\n`);
      return name;
    });
  const tsconfig = {
    compilerOptions: {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2023', 'esnext.disposable'],
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      noEmit: true,
      skipLibCheck: true,
    },
    files,
  };
  fs.writeFileSync(path.join(typed, 'tsconfig.json'), JSON.stringify(tsconfig));
  const r = spawnSync(process.execPath, [tsc, '-p', typed], {
    cwd: typed,
    env: plainEnv(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `README snippets do not type check:\n${r.stdout}${r.stderr}`);
});

for (const s of snippets) {
  const form = s.lang === 'ts' ? 'under tsx' : 'with plain node';
  test(`README snippet ${s.n} (${s.lang}) runs ${form}: ${firstLine(s.code)}`, () => {
    const dir = project();
    try {
      const file = path.join(dir, s.lang === 'ts' ? 'snippet.mts' : 'snippet.mjs');
      fs.writeFileSync(file, s.code);
      const args = s.lang === 'ts' ? ['--import', tsxLoader, file] : [file];
      const r = spawnSync(process.execPath, args, { cwd: dir, env: plainEnv(), encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `snippet ${s.n} failed:\n${s.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      checkOutput(s, r.stdout);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
