/**
 * Runs small apps under `node --import <dist/register.js>`, as users run them: real child processes,
 * the built hook, real files in a fresh temp dir. `npm test` builds dist/ first.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The built hook, as `--import` takes it. */
export const REGISTER_URL = pathToFileURL(path.join(ROOT, 'dist', 'register.js')).href;

/** A fresh real directory (realpath, so stack traces and expectations name the same paths). */
export function tempDir(prefix = 'fdkeeper-register-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** The 1-based line of `source` holding `marker`. */
export function lineOf(source: string, marker: string): number {
  const i = source.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `marker ${marker} not in the app`);
  return i + 1;
}

/** How an app run ended. */
export interface AppRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link startApp}. */
export interface AppOptions {
  /** Load the hook (default true). */
  hook?: boolean;
  /** Set on top of a clean environment (undefined removes). */
  env?: NodeJS.ProcessEnv;
  args?: readonly string[];
  /** Node flags before the hook (`--expose-gc`). */
  nodeArgs?: readonly string[];
  /** Replaces `--import <dist/register.js>` (e.g. `--import fdkeeper/register`). */
  importSpecifier?: string;
  cwd?: string;
  /** Kill after this long. Default 20 s. */
  timeoutMs?: number;
  /** Run as this user (setpriv; root only). The hook then loads from {@link hookForOtherUsers}. */
  asUser?: { readonly uid: number; readonly gid: number };
}

/**
 * The environment apps run in: no NODE_OPTIONS (the test runner's `--import tsx` would load a loader
 * that opens files of its own), no FDKEEPER_REPORT unless a test sets it.
 */
function appEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dropped = new Set(['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'FDKEEPER_REPORT', 'FDKEEPER_OPEN_SITES']);
  const merged = Object.entries({ ...process.env, ...extra }).filter(
    ([k, v]) => v !== undefined && (!dropped.has(k) || k in extra),
  );
  return Object.fromEntries(merged);
}

/** A running app: its process, what it printed so far, and a promise of how it ended. */
export interface RunningApp {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) matches `re`; rejects if the app ends first or after `ms`. */
  waitFor(re: RegExp, stream?: 'stdout' | 'stderr', ms?: number): Promise<void>;
  readonly done: Promise<AppRun>;
}

/** Starts `file` (a script path) under the hook. */
export function startApp(file: string, options: AppOptions = {}): RunningApp {
  const hook = options.hook ?? true;
  const register = (): string =>
    options.importSpecifier ?? (options.asUser === undefined ? REGISTER_URL : hookForOtherUsers());
  const argv = [...(options.nodeArgs ?? []), ...(hook ? ['--import', register()] : []), file, ...(options.args ?? [])];
  const [command, args] =
    options.asUser === undefined
      ? [process.execPath, argv]
      : [
          'setpriv',
          [
            `--reuid=${options.asUser.uid}`,
            `--regid=${options.asUser.gid}`,
            '--clear-groups',
            '--',
            process.execPath,
            ...argv,
          ],
        ];
  const child = spawn(command, args, {
    cwd: options.cwd ?? path.dirname(file),
    env: appEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    poke();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    poke();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const done = new Promise<AppRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ended = true;
      poke();
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  const waitFor = (re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', ms = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${String(re)} on ${stream}; stdout:\n${out}\nstderr:\n${err}`));
      }, ms);
      function check(): void {
        if (re.test(stream === 'stdout' ? out : err)) {
          waiters.delete(check);
          clearTimeout(t);
          resolve();
        } else if (ended) {
          waiters.delete(check);
          clearTimeout(t);
          reject(
            new Error(`the app ended before ${String(re)} appeared on ${stream}; stdout:\n${out}\nstderr:\n${err}`),
          );
        }
      }
      waiters.add(check);
      check();
    });
  assert.ok(child.pid !== undefined, 'the app started');
  return { child, pid: child.pid, stdout: () => out, stderr: () => err, waitFor, done };
}

let hookCopy: string | undefined;

/**
 * The built hook as another user can load it: a world-readable copy of `dist/` and package.json (the
 * checkout may sit in a 0700 directory) in the temp dir, made once per process and removed at exit.
 * Returns its `register.js` URL.
 */
export function hookForOtherUsers(): string {
  if (hookCopy === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-hook-copy-'));
    fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.chmodSync(dir, 0o755); // mkdtemp makes it 0700
    process.on('exit', () => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
    hookCopy = dir;
  }
  return pathToFileURL(path.join(hookCopy, 'dist', 'register.js')).href;
}

/** Process `pid`'s report channel directory (found through /proc, as the CLI finds it), or undefined. */
export function channelDirOf(pid: number): string | undefined {
  const fdDir = `/proc/${pid}/fd`;
  for (const n of fs.readdirSync(fdDir)) {
    try {
      const link = fs.readlinkSync(`${fdDir}/${n}`);
      if (new RegExp(`/fdkeeper-report-${pid}-[A-Za-z0-9]{6}$`).test(link)) return link;
    } catch {
      // Closed while we looked.
    }
  }
  return undefined;
}

/** What a report channel holds besides the hook's marker file (requests, answers): [] when idle. */
export function channelEntries(channel: string): string[] {
  return fs.readdirSync(channel).filter((n) => n !== '.fdkeeper-report-channel');
}

/** Writes `source` to `<dir>/<name>` and runs it to the end under the hook. */
export function runApp(dir: string, name: string, source: string, options: AppOptions = {}): Promise<AppRun> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return startApp(file, options).done;
}

/** The last line of `stderr` that parses as a JSON object with `format: 'fdkeeper-register-report'`. */
export function jsonReport(stderr: string): Record<string, unknown> {
  const line = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .findLast((l) => l.includes('"fdkeeper-register-report"'));
  assert.ok(line !== undefined, `no JSON report on stderr:\n${stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** Asserts the built hook exists (npm test builds it first). */
export function assertBuilt(): void {
  assert.ok(
    fs.existsSync(path.join(ROOT, 'dist', 'register.js')),
    'dist/register.js is missing: run `npm run build` first',
  );
}
