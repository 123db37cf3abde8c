/**
 * Whether a backend's calls reach this machine's real file systems: the OS backend, or a FaultyBackend
 * (any depth) wrapping it. Features that act on real paths outside the Backend interface — `fs.watch`
 * hints, statfs(2) of a directory — use it to know those paths mean something.
 *
 * FaultyBackend registers what it wraps in {@link WRAPPED} instead of being imported here: the root entry
 * would otherwise load the fault injector (a `fdkeeper/testing` export) for this one check (issue 14).
 *
 * @module
 */
import type { Backend } from './backend.js';
import { OsBackend } from './os-backend.js';

/** Each wrapping backend (a FaultyBackend) → the backend it forwards to. */
export const WRAPPED = new WeakMap<Backend, Backend>();

/** Whether `backend` is the OS backend, possibly under FaultyBackend wrappers. */
export function isOnOs(backend: Backend): boolean {
  if (backend instanceof OsBackend) return true;
  const inner = WRAPPED.get(backend);
  return inner !== undefined && isOnOs(inner);
}
