import { existsSync, readFileSync } from 'node:fs';
import { FsError, hasCode, toFsError } from '../../errors/fs-error.js';

/** Why a process could not be inspected, as the CLI reports it (each has its exit code). */
export type ProcProblem = 'no-such-process' | 'permission-denied' | 'unsupported';

/** The error of an inspection that cannot proceed: an {@link FsError} whose `code` tells the problem. */
export function noSuchProcess(pid: number, procRoot: string, why = 'it has exited, or never existed'): FsError {
  return new FsError({
    code: 'ESRCH',
    syscall: 'inspect',
    path: `${procRoot}/${pid}`,
    detail: `no process with pid ${pid} (${why})`,
    cause: new Error('ESRCH: no such process'),
  });
}

/** /proc is Linux's; elsewhere (or with /proc not mounted) there is nothing to read. */
export function unsupported(procRoot: string): FsError {
  const where =
    process.platform === 'linux'
      ? `${procRoot} is not mounted`
      : `this is ${process.platform}, and only Linux has ${procRoot}`;
  return new FsError({
    code: 'ENOSYS',
    syscall: 'inspect',
    path: procRoot,
    detail: `${where}; on macOS use \`lsof -p PID\`, on Windows Sysinternals \`handle -p PID\``,
  });
}

/**
 * The parent of `pid` when it is a zombie (exited, not yet reaped: /proc/PID still exists, with no
 * descriptors), else undefined.
 */
export function zombieParent(pid: number, procRoot: string): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "PID (comm) STATE PPID …": comm may hold spaces and parentheses, so split after the last ')'.
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return state === 'Z' ? Number(ppid) : undefined;
}

/** Checks that `procRoot` is a mounted procfs before anything is read from it. */
export function assertProcfs(procRoot: string): void {
  if (process.platform !== 'linux' || !existsSync(`${procRoot}/self/fd`)) throw unsupported(procRoot);
}

/**
 * Maps a failed read of /proc/PID/... to the problem it means: a missing /proc/PID is ESRCH (the process
 * is gone: a pid that exits mid-read makes every path under it vanish); EACCES and EPERM (another user's
 * process, ptrace access denied) pass through as FsErrors.
 */
export function procError(e: unknown, pid: number, procRoot: string, syscall: string): FsError {
  if ((hasCode(e, 'ENOENT') || hasCode(e, 'ESRCH')) && !existsSync(`${procRoot}/${pid}`))
    return noSuchProcess(pid, procRoot);
  return toFsError(e, syscall);
}

/** The {@link ProcProblem} an error from an inspection stands for, or undefined for any other failure. */
export function procProblem(e: unknown): ProcProblem | undefined {
  if (hasCode(e, 'ESRCH')) return 'no-such-process';
  if (hasCode(e, 'EACCES') || hasCode(e, 'EPERM')) return 'permission-denied';
  if (hasCode(e, 'ENOSYS')) return 'unsupported';
  return undefined;
}
