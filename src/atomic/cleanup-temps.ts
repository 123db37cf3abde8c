import type { CleanupOptions } from './types.js';

/**
 * Removes the temp files (and stale claims) that crashed or killed writers left in `dir`, never one a
 * live writer is still writing. Returns the names removed (or, with `dryRun`, that would be). SKELETON.
 */
export function cleanupTemps(_dir: string, _options: CleanupOptions = {}): Promise<string[]> {
  return Promise.reject(new Error('cleanupTemps: not implemented yet'));
}
