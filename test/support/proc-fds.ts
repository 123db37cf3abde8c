/**
 * What the kernel says about this process's descriptors (Linux /proc), for tests that check fdkeeper's
 * numbers against the real thing.
 */
import fs from 'node:fs';

/** The descriptor numbers open in this process now, ascending. */
export function openFds(): number[] {
  // readdir opens a directory descriptor of its own while it reads, so /proc lists one number that is
  // already closed when the call returns: keep only the numbers that are still open.
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const n = Number(name);
    if (isOpen(n)) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

/** Whether `fd` is an open descriptor (O_PATH ones included: fstat works on those). */
export function isOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** What /proc/self/fd/N links to (a path, or `pipe:[…]`), or undefined when N is not open. */
export function fdTarget(fd: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** The numbers whose /proc link names `path`. */
export function fdsNaming(path: string): number[] {
  return openFds().filter((n) => fdTarget(n) === path);
}

/** The lowest number not open now: what the kernel's next open(2) would return. */
export function lowestFree(): number {
  const busy = new Set(openFds());
  let n = 0;
  while (busy.has(n)) n++;
  return n;
}

/** The `flags:` line of /proc/self/fdinfo/N (octal), or undefined. */
export function fdInfoFlags(fd: number): number | undefined {
  try {
    const m = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
    return m?.[1] === undefined ? undefined : parseInt(m[1], 8);
  } catch {
    return undefined;
  }
}
