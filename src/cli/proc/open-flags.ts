import { constants } from 'node:fs';

/** How a descriptor may be used, from the access-mode bits of its flags. */
export type AccessMode = 'read' | 'write' | 'read-write' | 'path';

/** A descriptor's open flags, decoded. */
export interface DecodedFlags {
  readonly access: AccessMode;
  /** Flag names in a fixed order, access mode first (`O_RDONLY`, `O_WRONLY`, `O_RDWR` or `O_PATH`). */
  readonly names: readonly string[];
}

/** A constant node:fs exports on this platform, or `fallback`. */
function fsConstant(name: string, fallback: number): number {
  return (constants as unknown as Record<string, number | undefined>)[name] ?? fallback;
}

// The values that differ between Linux architectures come from node:fs, which has this machine's
// (the inspected process runs on the same kernel). The four node:fs lacks are filled from the kernel
// headers: O_CLOEXEC and O_PATH are the same everywhere we run; O_LARGEFILE is arch-specific.
const LARGEFILE =
  process.arch === 'arm' || process.arch === 'arm64' ? 0o400000 : process.arch.startsWith('ppc') ? 0o200000 : 0o100000;
const DSYNC = fsConstant('O_DSYNC', 0o10000);

/** The status flags shown, in the order `ls`-like tools and strace print them. */
const FLAG_BITS: readonly (readonly [string, number])[] = [
  ['O_APPEND', fsConstant('O_APPEND', 0o2000)],
  ['O_NONBLOCK', fsConstant('O_NONBLOCK', 0o4000)],
  ['O_CLOEXEC', 0o2000000],
  ['O_DIRECTORY', fsConstant('O_DIRECTORY', 0o200000)],
  ['O_NOFOLLOW', fsConstant('O_NOFOLLOW', 0o400000)],
  ['O_DIRECT', fsConstant('O_DIRECT', 0o40000)],
  ['O_NOATIME', fsConstant('O_NOATIME', 0o1000000)],
  ['O_ASYNC', 0o20000],
  ['O_LARGEFILE', LARGEFILE],
];
const O_PATH = 0o10000000;
/** O_SYNC is O_DSYNC plus its own bit: test the whole value first so O_SYNC is not also shown as O_DSYNC. */
const SYNC = fsConstant('O_SYNC', 0o4010000);

/**
 * Decodes the `flags:` value of /proc/PID/fdinfo/N (the file's f_flags, printed in octal, with
 * O_CLOEXEC added for a close-on-exec descriptor). O_CREAT, O_EXCL, O_TRUNC and O_NOCTTY never appear:
 * the kernel drops them once the open is done. Unknown bits are shown as one octal remainder, so
 * nothing is silently lost.
 */
export function decodeOpenFlags(flags: number): DecodedFlags {
  const names: string[] = [];
  let rest = flags;
  let access: AccessMode;
  if ((flags & O_PATH) !== 0) {
    access = 'path';
    names.push('O_PATH');
    rest &= ~O_PATH;
  } else {
    const mode = flags & 3;
    access = mode === 0 ? 'read' : mode === 1 ? 'write' : 'read-write';
    names.push(mode === 0 ? 'O_RDONLY' : mode === 1 ? 'O_WRONLY' : 'O_RDWR');
  }
  rest &= ~3;
  for (const [name, bit] of FLAG_BITS) {
    if (bit !== 0 && (rest & bit) === bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if ((rest & SYNC) === SYNC) {
    names.push('O_SYNC');
    rest &= ~SYNC;
  } else if ((rest & DSYNC) === DSYNC) {
    names.push('O_DSYNC');
    rest &= ~DSYNC;
  }
  if (rest !== 0) names.push(`0${rest.toString(8)}`);
  return { access, names };
}
