import { statSync } from 'node:fs';
import { procProblem } from '../proc/proc-error.js';
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
 * Reports an inspection that could not be made (no such process, permission denied, no /proc) on
 * stderr, and returns its exit code; undefined for any other error, which the caller rethrows.
 */
export function reportProcFailure(command: string, pid: number, e: unknown, io: ProgramIo): number | undefined {
  const problem = procProblem(e);
  if (problem === undefined) return undefined;
  const detail = (e as { detail?: string }).detail;
  switch (problem) {
    case 'no-such-process':
      io.stderr(`fdkeeper ${command}: ${detail ?? `no process with pid ${pid}`}\n`);
      return EXIT_NO_PROCESS;
    case 'permission-denied': {
      const owner = ownerOf(pid);
      const whose = owner === undefined ? 'another user' : `uid ${owner}`;
      const uid = process.getuid?.();
      io.stderr(
        `fdkeeper ${command}: permission denied reading /proc/${pid}/fd: pid ${pid} belongs to ${whose}` +
          `${uid === undefined ? '' : ` and this is uid ${uid}`}; run as that user or as root\n`,
      );
      return EXIT_PERMISSION;
    }
    case 'unsupported':
      io.stderr(`fdkeeper ${command}: ${detail ?? 'this system has no /proc'}\n`);
      return EXIT_UNSUPPORTED;
  }
}
