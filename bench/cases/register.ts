/**
 * What `node --import fdkeeper/register` costs an app: the same node:fs calls timed with the tracker
 * installed and not installed.
 *
 * In-process, on purpose: both contenders run the identical call (`fs.openSync(...)` through the
 * module, as an app does), and only the tracker's state differs — installed by the "with hook"
 * contender's untimed `beforeSample`, removed by the plain one's — so rounds alternate and pair as in
 * every other group. `trackNodeFs()` is exactly what the register entry installs (the reporter adds
 * nothing per call: it only runs at exit or on SIGUSR2). The start-up cost, which only a fresh process
 * shows, is its own group: `node -e` with and without `--import dist/register.js`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackNodeFs, type NodeFsTracker } from '../../dist/index.js';
import type { BenchCase, Contender, Group } from '../harness.js';

const PLAIN = 'node:fs, no hook';
const HOOKED = 'node:fs under fdkeeper/register';

const REGISTER = path.join(
  path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url)))),
  'dist',
  'register.js',
);

/** Installs and removes the tracker between samples, so both contenders run the same code. */
class HookSwitch {
  private tracker: NodeFsTracker | undefined;
  on(): void {
    this.tracker ??= trackNodeFs();
  }
  off(): void {
    this.tracker?.uninstall();
    this.tracker = undefined;
  }
  /** After a plain sample the tracker must not exist; after a hooked one it must have seen every open closed. */
  check(): string | undefined {
    const t = this.tracker;
    if (t !== undefined && t.openCount !== 0) return `the tracker still holds ${t.openCount} open descriptors`;
    return undefined;
  }
  /** How many opens the current tracker saw (0 when off). */
  opened(): number {
    return this.tracker?.stats().opened ?? 0;
  }
}

function pair(
  hook: HookSwitch,
  run: (n: number) => number | Promise<number>,
  expectTracked: boolean,
): [Contender, Contender] {
  return [
    {
      name: PLAIN,
      short: 'no hook',
      beforeSample: () => {
        hook.off();
      },
      run,
    },
    {
      name: HOOKED,
      beforeSample: () => {
        hook.off();
        hook.on();
      },
      run,
      check: (n) =>
        hook.check() ??
        (expectTracked && hook.opened() < n ? `the tracker saw ${hook.opened()} opens, expected ${n}` : undefined),
    },
  ];
}

export const register: BenchCase = {
  name: 'register',
  groupIds: ['register-sync', 'register-promise', 'register-readfile', 'register-stream', 'register-startup'],
  async groups(ctx) {
    const p = await ctx.fixture('small-file', () => {
      const f = path.join(ctx.dir, 'small.txt');
      fs.writeFileSync(f, 'a small file that is opened and closed over and over\n');
      return f;
    });
    const hook = new HookSwitch();
    const teardown = (): void => {
      hook.off();
    };
    const notes = [
      'Both rows run the same call; the hook is installed (trackNodeFs(), what fdkeeper/register installs) before each "with hook" sample and removed before each plain one, untimed.',
      'Per open the hook captures a V8 stack (formatted only if a report asks) and adds a Map entry; per close it deletes it.',
    ];

    const sync: Group = {
      id: 'register-sync',
      title: 'R1. fs.openSync + fs.closeSync, with and without fdkeeper/register',
      about: 'One op = `fs.closeSync(fs.openSync(p, "r"))` on an existing small file.',
      kind: 'latency',
      baselines: [PLAIN],
      expect: (n) => n,
      contenders: pair(
        hook,
        (n) => {
          for (let i = 0; i < n; i++) fs.closeSync(fs.openSync(p, 'r'));
          return n;
        },
        true,
      ),
      notes,
      teardown,
    };

    const promise: Group = {
      id: 'register-promise',
      title: 'R2. fs.promises.open + FileHandle.close, with and without fdkeeper/register',
      about: 'One op = `await (await fsp.open(p, "r")).close()`, one after the other.',
      kind: 'latency',
      baselines: [PLAIN],
      expect: (n) => n,
      contenders: pair(
        hook,
        async (n) => {
          for (let i = 0; i < n; i++) await (await fsp.open(p, 'r')).close();
          return n;
        },
        true,
      ),
      notes: ['The hook adds a .then() to the open promise and a once("close") listener to each FileHandle.'],
      teardown,
    };

    const readFile: Group = {
      id: 'register-readfile',
      title: 'R3. fs.readFileSync (Buffer), with and without fdkeeper/register',
      about:
        'One op = `fs.readFileSync(p)` of the small file: Node opens it through fs.openSync and closes it through fs.closeSync, so the hook records and forgets one descriptor per call.',
      kind: 'latency',
      baselines: [PLAIN],
      expect: (n) => n,
      contenders: pair(
        hook,
        (n) => {
          for (let i = 0; i < n; i++) fs.readFileSync(p);
          return n;
        },
        true,
      ),
      teardown,
    };

    const stream: Group = {
      id: 'register-stream',
      title: 'R4. fs.createReadStream of a small file, read to the end, with and without fdkeeper/register',
      about: 'One op = create a read stream of the small file, consume it, wait for its close.',
      kind: 'latency',
      baselines: [PLAIN],
      expect: (n) => n,
      contenders: pair(
        hook,
        async (n) => {
          for (let i = 0; i < n; i++) {
            const s = fs.createReadStream(p);
            for await (const _chunk of s) {
              // consume
            }
          }
          return n;
        },
        true,
      ),
      notes: ['The stream wrapper captures the creation site and listens for "open" to give the record that site.'],
      teardown,
    };

    const startup: Group = {
      id: 'register-startup',
      title: 'R5. Start-up: `node -e ""` with and without `--import dist/register.js`',
      about:
        'One op = spawn a fresh node that does nothing and wait for it (spawnSync). The difference is loading the hook: its modules, the fs patches, the signal listener.',
      kind: 'latency',
      baselines: ['node -e ""'],
      calibrate: 'baseline',
      expect: (n) => n,
      contenders: [
        {
          name: 'node -e ""',
          short: 'plain node',
          run(n) {
            for (let i = 0; i < n; i++) {
              const r = spawnSync(process.execPath, ['-e', ''], {
                stdio: 'ignore',
                env: { ...process.env, NODE_OPTIONS: '' },
              });
              if (r.status !== 0) return -1;
            }
            return n;
          },
        },
        {
          name: 'node --import dist/register.js -e ""',
          run(n) {
            for (let i = 0; i < n; i++) {
              const r = spawnSync(process.execPath, ['--import', REGISTER, '-e', ''], {
                stdio: 'ignore',
                env: { ...process.env, NODE_OPTIONS: '', FDKEEPER_REPORT: 'off' },
              });
              if (r.status !== 0) return -1;
            }
            return n;
          },
        },
      ],
      notes: [
        'FDKEEPER_REPORT=off, so nothing is printed at exit; with the default form the exit adds one short stderr write.',
      ],
    };

    return [sync, promise, readFile, stream, startup];
  },
};
