/** Starts test/support/cli-fd-child.mjs (a process with known descriptors) and stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One descriptor the child opened, as it reports it (numbers from its own calls, not /proc). */
export interface OpenedFd {
  fd: number;
  kind: string;
  path?: string;
  deleted?: boolean;
  pos?: number;
  size?: number;
  access?: string;
  flags?: string[];
  socket?: { protocol: string; local: string; remote: string | null; state: string };
}

/** A running fixture process. */
export interface FdProcess {
  pid: number;
  dir: string;
  opened: OpenedFd[];
  /** Every open descriptor number, found by the child with fstat(0..1023). */
  fds: number[];
  /** The RLIMIT_NOFILE it was started with (soft = hard: node raises its soft limit to the hard one at startup). */
  softLimit: number;
  /** The shell pipeline's process group (`sleep | node`). */
  group: ChildProcess;
  /** Kills the whole pipeline and removes the directory. */
  stop: () => Promise<void>;
  /** Resolves when the node process has exited. */
  exited: Promise<void>;
}

/** Whether `pid` is a live process (not gone, not a zombie nobody has reaped). */
export function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const CHILD = path.join(import.meta.dirname, 'cli-fd-child.mjs');

/**
 * Runs `sleep | node cli-fd-child.mjs` in its own process group with an fd limit (soft and hard) of `softLimit`
 * (so stdin is an anonymous pipe and the limit is known), and waits for its report.
 */
export async function startFdProcess(options: { softLimit?: number; leakMs?: number } = {}): Promise<FdProcess> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-cli-')));
  const softLimit = options.softLimit ?? 777;
  const leak = options.leakMs === undefined ? '' : ` --leak ${options.leakMs}`;
  const script = `ulimit -n ${softLimit} && sleep 600 | exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CHILD)} ${JSON.stringify(dir)}${leak}`;
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const group = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env });
  let pidOfNode = 0;
  const report = await new Promise<string>((resolve, reject) => {
    let out = '';
    group.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    group.on('exit', (code) => {
      reject(new Error(`fixture exited early (${String(code)})`));
    });
  });
  const parsed = JSON.parse(report) as { pid: number; opened: OpenedFd[]; fds: number[] };
  pidOfNode = parsed.pid;
  const exited = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (!isRunning(pidOfNode)) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  const stop = async (): Promise<void> => {
    try {
      process.kill(-(group.pid ?? 0), 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { pid: pidOfNode, dir, opened: parsed.opened, fds: parsed.fds, softLimit, group, stop, exited };
}
