import { statSync } from 'node:fs';
import { procProblem } from '../proc/proc-error.js';
import { escapeText } from '../../diagnostics/terminal-text.js';
import { EXIT_NO_PROCESS, EXIT_PERMISSION, EXIT_UNSUPPORTED } from './exit-codes.js';
import type { ProgramIo } from './io.js';

/** The owner of /proc/PID (the process's uid), for the permission message. */
function ownerOf(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

/**
 * Why this user may not read another process's descriptors, and what would help. "Run as that user or
 * as root" only when that would: root, or the owner itself, refused is the kernel's ptrace access check.
 */
export function whyDenied(pid: number, owner: number | undefined, uid: number | undefined): string {
  if (uid === 0) {
    return (
      `even root may not read pid ${pid} here: the kernel's ptrace access check refused (the process may be outside this ` +
      `container's user namespace, or a security module such as Yama ptrace_scope=3, SELinux or AppArmor forbids it)`
    );
  }
  if (owner !== undefined && owner === uid) {
    return (
      `pid ${pid} is this user's (uid ${uid}), but the kernel refused: it is not dumpable (a setuid or setgid program, or ` +
      `prctl(PR_SET_DUMPABLE, 0)) or ptrace access is restricted (Yama ptrace_scope); try as root`
    );
  }
  const whose = owner === undefined ? 'another user' : `uid ${owner}`;
  return `pid ${pid} belongs to ${whose}${uid === undefined ? '' : ` and this is uid ${uid}`}; run as that user or as root`;
}

/**
 * Reports an inspection that could not be made (no such process, permission denied, no /proc) on
 * stderr, and returns its exit code; undefined for any other error, which the caller rethrows.
 */
export function reportProcFailure(command: string, pid: number, e: unknown, io: ProgramIo): number | undefined {
  const problem = procProblem(e);
  if (problem === undefined) return undefined;
  const detail = (e as { detail?: string }).detail;
  switch (problem) {
    case 'no-such-process':
      io.stderr(`fdkeeper ${command}: ${escapeText(detail ?? `no process with pid ${pid}`)}\n`);
      return EXIT_NO_PROCESS;
    case 'permission-denied':
      io.stderr(
        `fdkeeper ${command}: permission denied reading /proc/${pid}/fd: ${whyDenied(pid, ownerOf(pid), process.geteuid?.())}\n`,
      );
      return EXIT_PERMISSION;
    case 'unsupported':
      io.stderr(`fdkeeper ${command}: ${escapeText(detail ?? 'this system has no /proc')}\n`);
      return EXIT_UNSUPPORTED;
  }
}
