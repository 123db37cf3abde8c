/**
 * The `mkdir` option: creating a target's missing parent directories, durably for `'full'`.
 *
 * @module
 */
import { dirname } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { hasCode } from '../errors/fs-error.js';
import { fsyncDirSync, syncDir } from './dir-sync.js';
import type { Durability } from './types.js';

/**
 * Creates `dir` and its missing ancestors (mode 0o777, which the umask reduces as for `mkdir -p`).
 * Directories that appear meanwhile (EEXIST) are fine. With `'full'` durability the parent of every
 * directory found missing is fsynced, so that the new directory entries survive a power loss along
 * with the file about to be renamed into them.
 */
export function makeParentsSync(backend: Backend, dir: string, durability: Durability): void {
  const missing: string[] = []; // from `dir` upwards, each still to be created
  const found: string[] = []; // the highest missing directory, once a mkdir of it worked
  for (let d = dir; ; d = dirname(d)) {
    try {
      backend.mkdirSync(d, 0o777);
      found.push(d);
      break;
    } catch (e) {
      if (hasCode(e, 'EEXIST')) break;
      if (!hasCode(e, 'ENOENT') || dirname(d) === d) throw e;
      missing.push(d);
    }
  }
  // The highest missing directory's parent exists now: create the missing ones top-down.
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      backend.mkdirSync(missing[i] as string, 0o777);
    } catch (e) {
      if (!hasCode(e, 'EEXIST')) throw e;
    }
  }
  if (durability === 'full') for (const d of [...found, ...missing]) fsyncDirSync(backend, dirname(d));
}

/** Promise form of {@link makeParentsSync}; the parent fsyncs are group-committed (and made one at a time). */
export async function makeParents(backend: Backend, dir: string, durability: Durability): Promise<void> {
  const missing: string[] = []; // from `dir` upwards, each still to be created
  const found: string[] = []; // the highest missing directory, once a mkdir of it worked
  for (let d = dir; ; d = dirname(d)) {
    try {
      await backend.mkdir(d, 0o777);
      found.push(d);
      break;
    } catch (e) {
      if (hasCode(e, 'EEXIST')) break;
      if (!hasCode(e, 'ENOENT') || dirname(d) === d) throw e;
      missing.push(d);
    }
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      await backend.mkdir(missing[i] as string, 0o777);
    } catch (e) {
      if (!hasCode(e, 'EEXIST')) throw e;
    }
  }
  if (durability === 'full') for (const d of [...found, ...missing]) await syncDir(backend, dirname(d));
}
