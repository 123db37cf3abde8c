import { constants } from 'node:fs';

/** A constant node:fs may lack on this platform (Windows has no O_NOFOLLOW…): its value, or 0. */
function optional(name: string): number {
  return (constants as unknown as Record<string, number | undefined>)[name] ?? 0;
}

/**
 * The `O_*` open flags, with this platform's values (node:fs passes them straight to open(2)).
 * Every backend interprets these same numbers, so a flags value means the same thing on the OS and in
 * memory.
 */
export const O = {
  RDONLY: constants.O_RDONLY,
  WRONLY: constants.O_WRONLY,
  RDWR: constants.O_RDWR,
  ACCMODE: constants.O_RDONLY | constants.O_WRONLY | constants.O_RDWR,
  CREAT: constants.O_CREAT,
  EXCL: constants.O_EXCL,
  TRUNC: constants.O_TRUNC,
  APPEND: constants.O_APPEND,
  NONBLOCK: optional('O_NONBLOCK'),
  NOFOLLOW: optional('O_NOFOLLOW'),
  DIRECTORY: optional('O_DIRECTORY'),
  NOCTTY: optional('O_NOCTTY'),
  SYNC: optional('O_SYNC'),
  DSYNC: optional('O_DSYNC'),
  /** Close-on-exec. Node does not export it; 0o2000000 is its value on every Linux architecture. */
  CLOEXEC: process.platform === 'linux' ? 0o2000000 : 0,
} as const;

/**
 * Linux `O_PATH` (a descriptor that names a file but can do no I/O), or 0 where it is unknown.
 * Its value differs on a few architectures; these are the common ones.
 */
export const O_PATH: number =
  process.platform === 'linux' &&
  ['x64', 'arm64', 'arm', 'ia32', 'riscv64', 'ppc64', 's390x', 'loong64'].includes(process.arch)
    ? 0o10000000
    : 0;

/** The access-mode part of `flags`: `O.RDONLY`, `O.WRONLY` or `O.RDWR`. */
export function accessMode(flags: number): number {
  return flags & O.ACCMODE;
}

/** Whether `flags` allow reading. */
export function isReadable(flags: number): boolean {
  return accessMode(flags) !== O.WRONLY;
}

/** Whether `flags` allow writing. */
export function isWritable(flags: number): boolean {
  return accessMode(flags) !== O.RDONLY;
}

/** The status flags that stay with an open file description after open (access mode, append, nonblock). */
export function descriptionFlags(flags: number): number {
  return flags & (O.ACCMODE | O.APPEND | O.NONBLOCK | O.SYNC | O.DSYNC);
}

/** Node-style flag strings accepted by the table's number API, and the `O_*` bits each means. */
const NODE_FLAGS: Readonly<Record<string, number>> = {
  r: O.RDONLY,
  rs: O.RDONLY | O.SYNC,
  sr: O.RDONLY | O.SYNC,
  'r+': O.RDWR,
  'rs+': O.RDWR | O.SYNC,
  'sr+': O.RDWR | O.SYNC,
  w: O.TRUNC | O.CREAT | O.WRONLY,
  wx: O.TRUNC | O.CREAT | O.WRONLY | O.EXCL,
  xw: O.TRUNC | O.CREAT | O.WRONLY | O.EXCL,
  'w+': O.TRUNC | O.CREAT | O.RDWR,
  'wx+': O.TRUNC | O.CREAT | O.RDWR | O.EXCL,
  'xw+': O.TRUNC | O.CREAT | O.RDWR | O.EXCL,
  a: O.APPEND | O.CREAT | O.WRONLY,
  ax: O.APPEND | O.CREAT | O.WRONLY | O.EXCL,
  xa: O.APPEND | O.CREAT | O.WRONLY | O.EXCL,
  as: O.APPEND | O.CREAT | O.WRONLY | O.SYNC,
  sa: O.APPEND | O.CREAT | O.WRONLY | O.SYNC,
  'a+': O.APPEND | O.CREAT | O.RDWR,
  'ax+': O.APPEND | O.CREAT | O.RDWR | O.EXCL,
  'xa+': O.APPEND | O.CREAT | O.RDWR | O.EXCL,
  'as+': O.APPEND | O.CREAT | O.RDWR | O.SYNC,
  'sa+': O.APPEND | O.CREAT | O.RDWR | O.SYNC,
};

/** Flags as the number API takes them: `O_*` bits, or a node:fs flag string such as `'r+'` or `'ax'`. */
export type OpenFlags = number | string;

/** Turns {@link OpenFlags} into `O_*` bits; undefined for an unknown string. */
export function parseOpenFlags(flags: OpenFlags): number | undefined {
  return typeof flags === 'number' ? flags : NODE_FLAGS[flags];
}

/** A short text for reports: `'r'`, `'w'`, `'r+'`, `'a'`, `'a+'` from `O_*` bits. */
export function flagsToMode(flags: number): string {
  const acc = accessMode(flags);
  const append = (flags & O.APPEND) !== 0;
  if (acc === O.RDONLY) return 'r';
  if (acc === O.WRONLY) return append ? 'a' : 'w';
  return append ? 'a+' : (flags & O.TRUNC) !== 0 ? 'w+' : 'r+';
}
