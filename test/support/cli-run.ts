/**
 * Runs the `fdkeeper` command line from source (node --import tsx src/cli/main.ts), as a user runs the
 * bin, so a test sees real exit codes, real stdout/stderr and a real process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

/** The command and argument vector that starts the CLI with `args`. */
export function cliCommand(args: readonly string[], options: Pick<CliOptions, 'asUid' | 'nodeArgs'> = {}): [string, string[]] {
  const node = [...(options.nodeArgs ?? []), '--import', TSX, CLI_MAIN, ...args];
  if (options.asUid === undefined) return [process.execPath, node];
  return ['setpriv', [`--reuid=${options.asUid}`, `--regid=${options.asUid}`, '--clear-groups', process.execPath, ...node]];
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
    const child = spawn(cmd, argv, { cwd: options.cwd ?? ROOT, env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
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
  process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
