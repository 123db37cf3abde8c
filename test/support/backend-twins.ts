/**
 * Arguments for every twinned Backend call (`open`/`openSync`…), for tests that call both forms of
 * each by name: valid ones on a file system holding the file `/f` (open as `fd`, read-write), the
 * directory `/d` and the symlink `/s`, and failing ones (ENOENT or EBADF) derived from them.
 */
import { TWIN_METHODS, type TwinMethod } from '../../src/backend/backend.js';
import { O } from '../../src/backend/flags.js';

/** Valid arguments for each twin, with `fd` an open read-write descriptor on `/f`. */
export function twinArgs(fd: number): Record<TwinMethod, unknown[]> {
  return {
    open: ['/f', O.RDONLY],
    close: [fd],
    read: [fd, Buffer.alloc(4), 0, 4, null],
    write: [fd, Buffer.from('data'), 0, 4, null],
    fstat: [fd],
    stat: ['/f'],
    lstat: ['/f'],
    ftruncate: [fd, 9],
    fsync: [fd],
    fdatasync: [fd],
    rename: ['/f', '/g'],
    unlink: ['/f'],
    link: ['/f', '/h'],
    symlink: ['/f', '/t'],
    readlink: ['/s'],
    mkdir: ['/e'],
    rmdir: ['/d'],
    readdir: ['/d'],
    chmod: ['/f', 0o600],
    fchmod: [fd, 0o600],
    fchown: [fd, 1, 1],
    utimes: ['/f', 1, 1],
  };
}

/**
 * Arguments with which each twin fails on any file system without `/missing`: descriptor calls on the
 * number 99 (EBADF), path calls under `/missing` (ENOENT).
 */
export function failingTwinArgs(): Record<TwinMethod, unknown[]> {
  const valid = twinArgs(99);
  const out = {} as Record<TwinMethod, unknown[]>;
  for (const name of TWIN_METHODS) {
    out[name] = valid[name].map((a, i) => (typeof a === 'string' && i < 2 ? `/missing${a}` : a));
  }
  return out;
}
