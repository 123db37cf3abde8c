/**
 * Whether a backend's calls reach this machine's real file systems: the OS backend, or a FaultyBackend
 * (any depth) wrapping it. Features that act on real paths outside the Backend interface — `fs.watch`
 * hints, statfs(2) of a directory — use it to know those paths mean something.
 *
 * @module
 */
import type { Backend } from './backend.js';
import { FaultyBackend } from './faulty-backend.js';
import { OsBackend } from './os-backend.js';

/** Whether `backend` is the OS backend, possibly under FaultyBackend wrappers. */
export function isOnOs(backend: Backend): boolean {
  if (backend instanceof OsBackend) return true;
  return backend instanceof FaultyBackend && isOnOs(backend.inner);
}
