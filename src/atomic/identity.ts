/**
 * Who creates files on a backend: the user and group ids (to know whether owners can be kept, which only
 * root can do) and the umask (to give a new file the mode a plain create would give it).
 *
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Backend } from '../backend/backend.js';

/** The credentials files are created with. */
export interface Identity {
  /** Effective user id (0: root). */
  readonly uid: number;
  /** Effective group id. */
  readonly gid: number;
  /** The umask new files get. */
  readonly umask: number;
}

let cachedUmask: number | undefined;

/**
 * The process umask as it is now. On Linux it is read from `/proc/self/status` at each call (a read
 * that changes nothing, ~10–15 µs; it is only needed when a new file gets no explicit `mode`), so a
 * program that tightens its umask after its first atomic write gets files with the new one. Elsewhere
 * the only way is `process.umask()`, which has to set the mask to read it and so races with file
 * creation on other threads (Node's DEP0139): there it is read once and cached, and a program that
 * changes its umask later should call {@link refreshProcessUmask}.
 */
export function processUmask(): number {
  if (process.platform === 'linux') {
    const m = readProcUmask();
    if (m !== undefined) return m;
  }
  if (cachedUmask === undefined) cachedUmask = readUmaskBySetting();
  return cachedUmask;
}

/**
 * Reads the process umask again (see {@link processUmask}) and returns it.
 *
 * @internal
 */
export function refreshProcessUmask(): number {
  cachedUmask = undefined;
  return processUmask();
}

/** The first 512 bytes of /proc/self/status hold its `Umask:` line (the 2nd line since Linux 4.7). */
const STATUS_HEAD = 512;
const statusBuf = Buffer.alloc(STATUS_HEAD);

/** The umask from /proc/self/status, or undefined (no /proc, or a kernel before 4.7 without the line). */
function readProcUmask(): number | undefined {
  let fd: number;
  try {
    fd = openSync('/proc/self/status', 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, statusBuf, 0, STATUS_HEAD, 0);
    const m = /^Umask:\s*([0-7]+)/m.exec(statusBuf.toString('latin1', 0, n));
    return m?.[1] === undefined ? undefined : parseInt(m[1], 8);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function readUmaskBySetting(): number {
  // The only portable way to read it (it sets the mask to 0 and back): done once, see processUmask.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  return process.umask();
}

/** A backend that says who it acts as (the memory backend does), or a wrapper with an `inner` one. */
interface MaybeIdentity {
  readonly uid?: unknown;
  readonly gid?: unknown;
  readonly umask?: unknown;
  readonly inner?: unknown;
}

/**
 * Who creates files through `backend`: a backend exposing numeric `uid`, `gid` and `umask` (the memory
 * backend) answers for itself, a wrapper (an object with an `inner` backend, such as FaultyBackend) for
 * its inner one; anything else is the operating system, that is this process.
 */
export function identityOf(backend: Backend): Identity {
  let b: unknown = backend;
  for (let depth = 0; depth < 16 && typeof b === 'object' && b !== null; depth++) {
    const r = b as MaybeIdentity;
    if (typeof r.uid === 'number' && typeof r.gid === 'number' && typeof r.umask === 'number')
      return { uid: r.uid, gid: r.gid, umask: r.umask };
    b = r.inner;
  }
  return {
    uid: process.geteuid?.() ?? -1,
    gid: process.getegid?.() ?? -1,
    // Read when asked (only a new file without an explicit mode needs it), and as it is then.
    get umask() {
      return processUmask();
    },
  };
}
