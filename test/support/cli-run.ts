/**
 * Runs the `fdkeeper` command line from source (node --import tsx src/cli/main.ts), as a user runs the
 * bin, so a test sees real exit codes, real stdout/stderr and a real process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const CLI_MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
export const ESC = '\u001b[';
/** tsx's loader by URL, so the CLI can run from any working directory. */
export const TSX = import.meta.resolve('tsx');
export const NOBODY = 65534;

/** What a CLI run produced. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface CliOptions {
  /** Added to this process's environment (undefined removes a variable). */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. Default: stdin is /dev/null. */
  input?: string | Buffer;
  /** Run as this uid/gid through setpriv(1) (root only). */
  asUid?: number;
  /** Extra node flags before the CLI (e.g. an --import that fakes the platform). */
  nodeArgs?: readonly string[];
  /** Kill the run after this long (SIGKILL). Default 30 s. */
  timeoutMs?: number;
  /** Called with each piece of stdout as it arrives. */
  onStdout?: (text: string) => void;
  /** Called with the child as soon as it is spawned (to signal it). */
  onSpawn?: (child: ChildProcess) => void;
  cwd?: string;
}

/** setpriv's arguments that run the rest of the command as `uid` (and the same gid), without groups. */
function asUser(uid: number): string[] {
  return [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
}

let builtCopy: string | undefined;

/**
 * Where another user runs the CLI from. The checkout itself when that user can read it; otherwise (a
 * clone inside a 0700 directory, as a CI job's `mktemp -d` makes) a world-readable copy of the built CLI
 * (`dist/`, package.json, commander and picocolors) in the temp directory, made once per process and
 * removed at exit. The copy runs the build, so `npm run build` must have run (npm test does).
 */
function cliRootFor(uid: number): string {
  if (spawnSync('setpriv', [...asUser(uid), 'test', '-r', CLI_MAIN], { stdio: 'ignore' }).status === 0) return ROOT;
  if (builtCopy !== undefined) return builtCopy;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-cli-copy-'));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  for (const pkg of ['commander', 'picocolors'])
    fs.cpSync(path.join(ROOT, 'node_modules', pkg), path.join(dir, 'node_modules', pkg), { recursive: true });
  fs.chmodSync(dir, 0o755); // mkdtemp makes it 0700
  process.on('exit', () => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  builtCopy = dir;
  return dir;
}

/** The command and argument vector that starts the CLI with `args`. */
export function cliCommand(
  args: readonly string[],
  options: Pick<CliOptions, 'asUid' | 'nodeArgs'> = {},
): [string, string[]] {
  const node = [...(options.nodeArgs ?? []), '--import', TSX, CLI_MAIN, ...args];
  if (options.asUid === undefined) return [process.execPath, node];
  const root = cliRootFor(options.asUid);
  const argv = root === ROOT ? node : [...(options.nodeArgs ?? []), path.join(root, 'dist', 'cli', 'main.js'), ...args];
  return ['setpriv', [...asUser(options.asUid), process.execPath, ...argv]];
}

/** Runs the CLI with `args` and resolves when it exits. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const [cmd, argv] = cliCommand(args, options);
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    // NODE_OPTIONS from the test runner (--import tsx) is not wanted twice, nor the test runner's
    // own context variables.
    delete env['NODE_TEST_CONTEXT'];
    delete env['NODE_OPTIONS'];
    const child = spawn(cmd, argv, {
      cwd: options.cwd ?? (options.asUid === undefined ? ROOT : os.tmpdir()),
      env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      options.onStdout?.(b.toString());
    });
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    // The CLI may stop reading early (a failed write): EPIPE on its stdin is then expected.
    child.stdin?.on('error', () => undefined);
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child);
  });
}

/** Whether `setpriv` can switch to `nobody` here (root on Linux with util-linux). */
export const canSwitchUser: boolean =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
