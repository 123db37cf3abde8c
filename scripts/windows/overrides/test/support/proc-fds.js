// Windows stand-in for test/support/proc-fds.ts (compile.mjs puts it in place of the compiled one).
// There is no /proc: which descriptor numbers are open is asked of the C runtime, by fstat on each number
// (a closed one is EBADF). What a number names and its open flags are not known here: those helpers
// return nothing, and the tests that need them are in scripts/windows/skips.mjs.
import fs from 'node:fs';

/** Whether `fd` is an open descriptor. */
export function isOpen(fd) {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * The numbers open now, ascending: the C runtime hands out the lowest free number, so the scan stops
 * after 64 free in a row. 0–2 are taken as open without a look: an fstat on a pipe that a read is
 * pending on (the test runner's stdio) blocks on Windows.
 */
export function openFds() {
  const out = [0, 1, 2];
  for (let n = 3, free = 0; free < 64; n++) {
    if (isOpen(n)) {
      out.push(n);
      free = 0;
    } else free++;
  }
  return out;
}

/** Unknown without /proc. */
export function fdTarget(_fd) {
  return undefined;
}

/** Unknown without /proc. */
export function fdsNaming(_path) {
  return [];
}

/** The lowest number not open now. */
export function lowestFree() {
  const busy = new Set(openFds());
  let n = 0;
  while (busy.has(n)) n++;
  return n;
}

/** Unknown without /proc. */
export function fdInfoFlags(_fd) {
  return undefined;
}
