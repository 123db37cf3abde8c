import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import { LIBRARY_ENV, RESULT_PREFIX } from './children/report.js';
import type { DemoContext } from './types.js';

export { RESULT_PREFIX } from './children/report.js';

/** How a child script run ended. */
export interface ChildRun<R> {
  /** The child program that ran (a module of the build: dist/cli/demo/children/<name>.js). */
  readonly script: string;
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The JSON the script printed on its `RESULT ` line, if it printed one. */
  readonly result: R | undefined;
  /** True when the run was killed for taking longer than its timeout. */
  readonly timedOut: boolean;
}

/** Options of {@link runChild}. */
export interface ChildOptions {
  /** Lower the soft descriptor limit (`ulimit -n`) before starting node. */
  readonly ulimit?: number;
  /** Extra node flags (`--expose-gc`). */
  readonly nodeArgs?: readonly string[];
  /** Arguments for the script (`process.argv[2]`, …). */
  readonly args?: readonly string[];
  /** Kill the child after this long. Default 30 s. */
  readonly timeoutMs?: number;
}

/**
 * The path of the demo child program `name` (`fdkeeper-leak`…) in the build. The children are modules of
 * src/cli/demo/children, compiled, type-checked and linted with the rest; they run in plain node, so run
 * from the sources (tests under tsx) this still names the build's copy (scripts/run-tests.mjs builds
 * first when it is stale). The build copies them unbundled to dist/cli/demo/children (scripts/build.mjs).
 */
export function childPath(name: string): string {
  return join(PACKAGE_ROOT, 'dist', 'cli', 'demo', 'children', `${name}.js`);
}

/** The text of the child program `name` (to find its marker lines: the sites its stack traces name). */
export function childSource(name: string): string {
  return readFileSync(childPath(name), 'utf8');
}

/** The 1-based number of the first line of `source` containing `marker`. */
export function lineOf(source: string, marker: string): number {
  const index = source.split('\n').findIndex((l) => l.includes(marker));
  if (index < 0) throw new Error(`marker ${marker} not found in the child program`);
  return index + 1;
}

/** The line of `source` numbered `line` (1-based), trimmed, without its marker comment. */
export function sourceLine(source: string, line: number): string {
  return (source.split('\n')[line - 1] ?? '').replace(/\s*\/\/ @[\w-]+$/, '').trim();
}

/**
 * The environment for demo children: NODE_OPTIONS is dropped, because a loader preloaded through it
 * (tsx, a coverage hook) takes descriptors of its own and would skew the lowered limits, and so is
 * FDKEEPER_OPEN_SITES, since each child sets its site mode explicitly.
 */
function childEnv(ctx: DemoContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [LIBRARY_ENV]: ctx.fdkeeperUrl };
  delete env['NODE_OPTIONS'];
  delete env['FDKEEPER_OPEN_SITES'];
  return env;
}

/**
 * Runs the child program `name` with node in `ctx.dir`, optionally under a lowered descriptor limit
 * (`sh -c 'ulimit -n N; exec node …'`); the child finds the library under test through
 * `FDKEEPER_DEMO_LIBRARY` (`ctx.fdkeeperUrl`). Resolves when the child has exited, however it ended.
 */
export function runChild<R>(ctx: DemoContext, name: string, options: ChildOptions = {}): Promise<ChildRun<R>> {
  const script = childPath(name);
  const nodeArgv = [...(options.nodeArgs ?? []), script, ...(options.args ?? [])];
  const [command, argv] =
    options.ulimit === undefined
      ? [ctx.node, nodeArgv]
      : [
          'sh',
          ['-c', 'ulimit -n "$1" || exit 125; shift; exec "$@"', 'sh', String(options.ulimit), ctx.node, ...nodeArgv],
        ];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: ctx.dir, env: childEnv(ctx), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const line = stdout.split('\n').findLast((l) => l.startsWith(RESULT_PREFIX));
      const result = line === undefined ? undefined : (JSON.parse(line.slice(RESULT_PREFIX.length)) as R);
      resolve({ script, code, signal, stdout, stderr, result, timedOut });
    });
  });
}

/** `exit code 1`, `killed by SIGKILL (timed out)`… */
export function describeExit(run: ChildRun<unknown>): string {
  if (run.timedOut) return 'killed after timing out';
  if (run.signal !== null) return `killed by ${run.signal}`;
  return `exit code ${String(run.code)}`;
}

/** Thrown when a child did not report a result: the row shows its exit and stderr instead of guessing. */
export class ChildFailed extends Error {
  constructor(what: string, run: ChildRun<unknown>) {
    const tail = run.stderr.trim().split('\n').slice(-6).join('\n');
    super(`${what} child reported nothing (${describeExit(run)})${tail === '' ? '' : `:\n${tail}`}`);
    this.name = 'ChildFailed';
  }
}

/** The result a child reported, or a {@link ChildFailed}. */
export function resultOf<R>(what: string, run: ChildRun<R>): R {
  if (run.result === undefined) throw new ChildFailed(what, run);
  return run.result;
}
