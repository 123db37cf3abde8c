// Runs every ```ts block of README.md as a module, in a fresh directory, against the source tree:
// a quick start that does not run is a bug.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
/** The package's import specifiers the snippets use, mapped to the source entry each one names. */
const entries: [string, string][] = [['fdkeeper/testing', 'src/testing.ts'], ['fdkeeper/fs', 'src/fs.ts'], ['fdkeeper/log', 'src/log.ts'], ['fdkeeper', 'src/index.ts']];
// The snippets run in a temporary directory, where a bare `--import tsx` would not resolve.
const env = { ...process.env, NODE_OPTIONS: `--import ${import.meta.resolve('tsx')}` };

test('README has quick-start snippets', () => {
  assert.ok(blocks.length >= 7, `found ${blocks.length} ts blocks`);
});

for (const [i, block] of blocks.entries()) {
  const title = (block.split('\n').find((l) => l.trim() !== '' && !l.startsWith('import')) ?? '').trim();
  test(`README snippet ${i + 1} runs: ${title.slice(0, 60)}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-readme-'));
    try {
      const code = entries.reduce((c, [specifier, file]) => c.replaceAll(`from '${specifier}'`, `from '${pathToFileURL(path.join(root, file)).href}'`), block);
      const file = path.join(dir, 'snippet.mts');
      fs.writeFileSync(file, code);
      const r = spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `snippet ${i + 1} failed:\n${code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      if (block.includes('crashStates(')) assert.match(r.stdout, /^"" .*"\{\\"v\\":1\}".*"\{\\"v\\":2\}"/m, 'the naive rewrite can be left empty');
      if (block.includes('createExclusive(')) assert.match(r.stdout, /^created$/m);
      if (block.includes('FaultyBackend')) assert.match(r.stdout, /^ENOSPC: no space left on device, write/m);
      if (block.includes('unlinkSync')) assert.match(r.stdout, /^hello\n 0$/m);
      if (block.includes('leakReport()')) assert.match(r.stdout, /fdkeeper: 3 descriptors still open, from 1 open site[\s\S]*3 × loadTemplate \(/);
      const shown = [...block.matchAll(/console\.log\((.*)\);\s*\/\/ (\S.*)$/gm)].map((m) => m[2] ?? '');
      for (const expected of shown) {
        if (/^(hello world|20000|ping|EBADF)/.test(expected)) assert.ok(r.stdout.includes(expected.split(',')[0] ?? expected), `snippet ${i + 1} should print ${expected}; printed:\n${r.stdout}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
