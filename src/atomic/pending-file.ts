import type { Writable } from 'node:stream';
import type { AtomicCreateOptions } from './types.js';

/**
 * A file being written that replaces its target only when committed: a temp file in the target's
 * directory, renamed over the target by {@link PendingFile.commit}, removed by {@link PendingFile.abort}
 * (and by `await using` without a commit). SKELETON — being implemented.
 */
export class PendingFile implements AsyncDisposable, Disposable {
  /** The file this one replaces on commit. */
  readonly path: string;
  /** The temp file being written. */
  readonly tempPath: string;

  /** @internal Use {@link atomicCreate}. */
  constructor(path: string, tempPath: string) {
    this.path = path;
    this.tempPath = tempPath;
  }

  /** `'open'` until committed or aborted. */
  get state(): 'open' | 'committed' | 'aborted' {
    return 'open';
  }

  /** Appends `data` to the temp file. */
  write(_data: string | Uint8Array): Promise<void> {
    return Promise.reject(new Error('PendingFile.write: not implemented yet'));
  }

  /** Synchronous form of {@link PendingFile.write}. */
  writeSync(_data: string | Uint8Array): void {
    throw new Error('PendingFile.writeSync: not implemented yet');
  }

  /** A Writable stream into the temp file (ending it does not commit). */
  stream(): Writable {
    throw new Error('PendingFile.stream: not implemented yet');
  }

  /** Makes the temp file durable (per the durability option), renames it over the target, syncs the directory. */
  commit(): Promise<void> {
    return Promise.reject(new Error('PendingFile.commit: not implemented yet'));
  }

  /** Synchronous form of {@link PendingFile.commit}. */
  commitSync(): void {
    throw new Error('PendingFile.commitSync: not implemented yet');
  }

  /** Closes and removes the temp file; the target is untouched. Nothing after a commit. */
  abort(): Promise<void> {
    return Promise.resolve();
  }

  /** Synchronous form of {@link PendingFile.abort}. */
  abortSync(): void {
    // skeleton
  }

  /** `await using`: aborts unless committed. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.abort();
  }

  /** `using`: aborts unless committed. */
  [Symbol.dispose](): void {
    this.abortSync();
  }
}

/** Starts a {@link PendingFile} for `path`. SKELETON. */
export function atomicCreate(_path: string, _options: AtomicCreateOptions = {}): Promise<PendingFile> {
  return Promise.reject(new Error('atomicCreate: not implemented yet'));
}

/** Synchronous form of {@link atomicCreate}. SKELETON. */
export function atomicCreateSync(_path: string, _options: Omit<AtomicCreateOptions, 'signal'> = {}): PendingFile {
  throw new Error('atomicCreateSync: not implemented yet');
}
