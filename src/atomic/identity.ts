/**
 * Who creates files on a backend: the user and group ids (to know whether owners can be kept, which only
 * root can do) and the umask (to give a new file the mode a plain create would give it).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
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
 * The process umask, read once and cached. On Linux it comes from `/proc/self/status` (a read that
 * changes nothing); elsewhere from `process.umask()`, which has to set the mask to read it and so races
 * with worker threads and other readers (Node's DEP0139). A program that changes its umask after the
 * first atomic write should call {@link refreshProcessUmask}.
 */
export function processUmask(): number {
  if (cachedUmask === undefined) cachedUmask = readUmask();
  return cachedUmask;
}

/**
 * Reads the process umask again (see {@link processUmask}) and returns it.
 *
 * @internal
 */
export function refreshProcessUmask(): number {
  cachedUmask = readUmask();
  return cachedUmask;
}

function readUmask(): number {
  if (process.platform === 'linux') {
    try {
      const m = /^Umask:\s*([0-7]+)/m.exec(readFileSync('/proc/self/status', 'latin1'));
      if (m?.[1] !== undefined) return parseInt(m[1], 8);
    } catch {
      // no /proc: fall back
    }
  }
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
    if (typeof r.uid === 'number' && typeof r.gid === 'number' && typeof r.umask === 'number') return { uid: r.uid, gid: r.gid, umask: r.umask };
    b = r.inner;
  }
  return {
    uid: process.geteuid?.() ?? -1,
    gid: process.getegid?.() ?? -1,
    umask: processUmask(),
  };
}
