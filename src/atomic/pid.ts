/**
 * Whether a process that left a temp file or a claim is still alive.
 *
 * @module
 */
import { nodeOs } from '../process/builtins.js';

let hostName: string | undefined;

/** This host's name, as claims record it (read once, at the first call: node:os is not loaded at import). */
export function host(): string {
  return (hostName ??= nodeOs().hostname());
}

/**
 * True when no process `pid` exists on this host: `process.kill(pid, 0)` says ESRCH. A process that
 * exists but belongs to another user (EPERM) is alive; an impossible pid (0, negative, not an integer)
 * is not known to be dead. Process ids are reused, so "alive" only means "a process with that id exists".
 */
export function isPidDead(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as { code?: unknown }).code === 'ESRCH';
  }
}

/**
 * When this host booted (ms since the epoch). A file a process left before that cannot belong to a live
 * process, whatever process now has its pid.
 */
export function bootTimeMs(): number {
  return Date.now() - nodeOs().uptime() * 1000;
}
