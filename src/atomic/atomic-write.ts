import { rejected } from '../errors/fs-error.js';
import { prepare } from './data.js';
import { atomicError, canceled } from './errors.js';
import { enqueueWrite, isBusy } from './path-queue.js';
import { absoluteTarget } from './resolve-target.js';
import { settingsOf } from './settings.js';
import type { AtomicData, AtomicDataSync, AtomicWriteOptions } from './types.js';
import { replaceSync } from './write-protocol.js';

/**
 * Replaces the file at `path` with `data`, atomically: readers (and a crash, with the default
 * durability) see the complete old content or the complete new content, never a mix, an empty file or
 * a torn one.
 *
 * The data goes to a temp file beside the target (`.name.<pid>-<random>.fdkeeper-tmp`, created with
 * O_EXCL, mode 0600), which gets the target's mode (and, as root, its owner), is fsynced, closed and
 * renamed over the target; for `'full'` durability the directory is fsynced after the rename. A symlink
 * is written through (the link stays) unless `replaceSymlink`. See docs/atomic.md for every step.
 *
 * Concurrent calls for one path are coalesced: while a write to the path is in progress, later calls
 * wait, and only the newest waiting data is written next. Each promise resolves once its own data or
 * newer data is in place as durably as it asked (the strongest durability among coalesced calls is
 * used), and rejects with the error of the write that was to carry its data. Renames in one directory
 * that complete together share one directory fsync. In-memory data (strings, bytes, arrays of chunks)
 * must not be changed until the promise settles; streamed data (iterables, async iterables, streams) is
 * not coalesced but written in call order.
 *
 * Errors: an {@link FsError} with `code` and `path` (the target; the temp file's path in the message).
 * Before the rename the target is unchanged and no temp file is left; an error after the rename (the
 * directory fsync) says the new content is in place. `signal` aborts with ECANCELED until the rename.
 * EISDIR for a directory, EINVAL for another non-regular file, ENOENT for a missing parent (unless
 * `mkdir`), TypeError for invalid arguments.
 */
export function atomicWrite(path: string, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
  let key: string;
  try {
    key = absoluteTarget(path);
    const settings = settingsOf(options);
    if (settings.signal?.aborted === true) return rejected(canceled(key, settings.signal));
    const prepared = prepare(data, settings.encoding);
    return enqueueWrite(key, prepared, settings);
  } catch (e) {
    return rejected(e);
  }
}

/**
 * Synchronous form of {@link atomicWrite}: the same protocol, without coalescing (nothing can overlap
 * it). Takes a string, a Uint8Array or a synchronous iterable of chunks. Throws EBUSY when promise-form
 * writes to the same path are still in flight in this process (it could not be ordered with them).
 */
export function atomicWriteSync(
  path: string,
  data: AtomicDataSync,
  options: Omit<AtomicWriteOptions, 'signal'> = {},
): void {
  const key = absoluteTarget(path);
  const settings = settingsOf({ ...options, signal: undefined });
  if (isBusy(settings.backend, key))
    throw atomicError({
      code: 'EBUSY',
      syscall: 'write',
      path: key,
      detail:
        'promise-form atomic writes to this path are in flight; a synchronous write could not be ordered with them',
    });
  replaceSync(key, prepare(data, settings.encoding), settings);
}
