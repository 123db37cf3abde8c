import type { AtomicData, CreateExclusiveOptions, ExclusiveResult } from './types.js';
import type { PendingFile } from './pending-file.js';

/**
 * Creates `path` only if it does not exist, fully written before it becomes visible: when several
 * processes race to produce one file, exactly one creates it and the others learn that it exists (or is
 * being produced). SKELETON — being implemented.
 */
export function createExclusive(_path: string, _content: AtomicData | ((file: PendingFile) => Promise<void> | void), _options: CreateExclusiveOptions = {}): Promise<ExclusiveResult> {
  return Promise.reject(new Error('createExclusive: not implemented yet'));
}
