import type { AtomicData, AtomicDataSync, AtomicWriteOptions } from './types.js';

/**
 * Replaces the file at `path` with `data`, atomically: readers (and a crash, with the default
 * durability) see the complete old content or the complete new content, never a mix, an empty file or
 * a torn one. SKELETON — being implemented (see docs/atomic.md for the protocol).
 */
export function atomicWrite(_path: string, _data: AtomicData, _options: AtomicWriteOptions = {}): Promise<void> {
  return Promise.reject(new Error('atomicWrite: not implemented yet'));
}

/** Synchronous form of {@link atomicWrite}. SKELETON. */
export function atomicWriteSync(_path: string, _data: AtomicDataSync, _options: Omit<AtomicWriteOptions, 'signal'> = {}): void {
  throw new Error('atomicWriteSync: not implemented yet');
}
