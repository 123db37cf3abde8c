/**
 * What `import('fdkeeper')` costs a program at start: a fresh node that imports the built root entry
 * (and, for scale, `fdkeeper/testing`) against a fresh node that imports nothing. Issue 14's target: the
 * root entry adds at most 15 ms to `node -e ""` (median). Only a fresh process shows this cost, so every
 * operation is a spawn; the Δ against `node -e ""` is the import's cost.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchCase, Contender, Group } from '../harness.js';

const DIST = path.join(path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url)))), 'dist');
const PLAIN = 'node -e ""';

/** A contender that spawns `node <args>` once per iteration (no NODE_OPTIONS: no tsx loader in the child). */
function spawning(name: string, args: readonly string[], short?: string): Contender {
  return {
    name,
    ...(short === undefined ? {} : { short }),
    run(n) {
      for (let i = 0; i < n; i++) {
        const r = spawnSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });
        if (r.status !== 0) return -1;
      }
      return n;
    },
  };
}

const importOf = (file: string): string[] => [
  '--input-type=module',
  '-e',
  `await import(${JSON.stringify(pathToFileURL(path.join(DIST, file)).href)})`,
];

export const importCost: BenchCase = {
  name: 'import',
  groupIds: ['import-startup'],
  groups() {
    const startup: Group = {
      id: 'import-startup',
      title: 'I1. Start-up: `node -e ""` against a node that imports an fdkeeper entry',
      about:
        'One op = spawn a fresh node and wait for it (spawnSync). The Δ against `node -e ""` is what importing the entry costs a CLI at start.',
      kind: 'latency',
      baselines: [PLAIN],
      calibrate: 'baseline',
      expect: (n) => n,
      contenders: [
        spawning(PLAIN, ['-e', ''], 'plain node'),
        spawning('node --input-type=module -e ""', ['--input-type=module', '-e', '']),
        spawning("import('fdkeeper')", importOf('index.js')),
        spawning("import('fdkeeper/testing')", importOf('testing.js')),
      ],
      notes: [
        "Issue 14's target: import('fdkeeper') at most 15 ms over node -e \"\" (median; `--rounds 11` for the issue's median of 11).",
        'The ESM row without an import shows what the module loader itself costs, which any ESM program pays.',
        'test/public-api.test.ts checks, without timing, that the root loads no worker_threads, child_process, crypto, facade or memory backend.',
      ],
    };
    return [startup];
  },
};
