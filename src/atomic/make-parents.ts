/**
 * Creating a directory and its missing parents (`mkdir -p`), durably for `'full'`, with every symlink
 * on the way judged as an atomic write judges it (the fs.protected_symlinks rule, see
 * resolve-target.ts): a link another user planted in a sticky world-writable directory is never
 * followed to create directories where it points.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import { runSync } from '../protocol/run.js';
import { dirSteps } from './resolve-target.js';
import type { Durability } from './types.js';

/**
 * Creates `dir` and its missing ancestors (mode 0o777, which the umask reduces as for `mkdir -p`),
 * walking the path one component at a time: directories that appear meanwhile are fine; a symlink on
 * the way is followed only where the fs.protected_symlinks rule follows it (EACCES otherwise), as the
 * kernel would. With `'full'` durability the parent of every directory created is fsynced, so that the
 * new directory entries survive a power loss along with the file about to be renamed into them.
 * Returns the directory's path with no symlink in it.
 */
export function makeParentsSync(backend: Backend, dir: string, durability: Durability): string {
  return runSync(dirSteps(dir, { backend, durability }, true)).path;
}
