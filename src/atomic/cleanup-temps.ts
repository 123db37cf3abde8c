import { join, resolve } from 'node:path';
import type { FileStat } from '../backend/backend.js';
import { hasCode, rejected } from '../errors/fs-error.js';
import { TIMEOUT_RULE, invalidOption, obeys } from '../errors/number-option.js';
import { fdtable } from '../table/default-table.js';
import { holderIsDead, readClaim, removeClaim } from './claim.js';
import { isLive } from './live-temps.js';
import { bootTimeMs, isPidDead } from './pid.js';
import { isClaimName, parseTempName } from './temp-name.js';
import type { CleanupOptions } from './types.js';

/** Default age past which a temp file whose writer cannot be shown dead is removed anyway. */
const DEFAULT_OLDER_THAN_MS = 60 * 60 * 1000;

/**
 * Removes the temp files (and stale claims) that crashed or killed writers left in `dir`, never one a
 * live writer is still writing. Returns the names removed (or, with `dryRun`, that would be), sorted.
 *
 * A temp file (a name `isTempName` accepts) is removed when its writer — the pid in its name — is
 * not alive on this host (`process.kill(pid, 0)` says ESRCH), or when it was last modified more than
 * `olderThanMs` ago (default one hour): a temp file of a pid that is alive may still be a dead writer's
 * whose pid was reused, and age is then the only evidence. A claim (`.name.fdkeeper-claim`) is removed
 * by the same rules, with the pid and host written inside it (a claim from another host goes by age
 * only). Files this process is writing or holding right now are never removed, whatever their age;
 * those that carry this process's pid but are not among them were left by an earlier process with the
 * same pid, and count as a dead writer's.
 * `checkPids: false` decides by age alone (directories shared between hosts).
 *
 * `dir` is resolved against the working directory, as atomicWrite resolves paths. Not recursive; only
 * regular files are considered. Errors: an {@link FsError} (ENOENT for a missing
 * directory, EACCES…); a file that disappears meanwhile is skipped.
 */
export function cleanupTemps(dir: string, options: CleanupOptions = {}): Promise<string[]> {
  const olderThanMs = options.olderThanMs ?? DEFAULT_OLDER_THAN_MS;
  if (!obeys(olderThanMs, TIMEOUT_RULE))
    return rejected(invalidOption('olderThanMs', olderThanMs, TIMEOUT_RULE, { syscall: 'scandir', path: dir }));
  if (typeof dir !== 'string' || dir === '') return rejected(new TypeError('dir must be a non-empty string'));
  return cleanup(
    resolve(dir),
    olderThanMs,
    options.dryRun === true,
    options.checkPids !== false,
    options.backend ?? fdtable.backend,
  );
}

async function cleanup(
  dir: string,
  olderThanMs: number,
  dryRun: boolean,
  checkPids: boolean,
  backend: NonNullable<CleanupOptions['backend']>,
): Promise<string[]> {
  const names = await backend.readdir(dir);
  const now = Date.now();
  const booted = bootTimeMs();
  const deadPids = new Map<number, boolean>();
  const dead = (pid: number): boolean => {
    if (pid === process.pid) return true; // not live (checked first): a previous process's, same pid
    let d = deadPids.get(pid);
    if (d === undefined) deadPids.set(pid, (d = isPidDead(pid)));
    return d;
  };
  const removed: string[] = [];
  for (const name of names.sort()) {
    const temp = parseTempName(name);
    const claim = temp === undefined && isClaimName(name);
    if (temp === undefined && !claim) continue;
    const path = join(dir, name);
    if (isLive(path)) continue;
    if (temp !== undefined) {
      let st: FileStat;
      try {
        st = await backend.lstat(path);
      } catch (e) {
        if (hasCode(e, 'ENOENT')) continue;
        throw e;
      }
      if (!st.isFile()) continue;
      // Dead writer, written before this host booted (the pid may belong to someone else now), or old.
      if (!((checkPids && (dead(temp.pid) || st.mtimeMs < booted)) || now - st.mtimeMs >= olderThanMs)) continue;
      if (!dryRun) {
        try {
          await backend.unlink(path);
        } catch (e) {
          if (hasCode(e, 'ENOENT')) continue;
          throw e;
        }
      }
      removed.push(name);
    } else {
      const holder = await readClaimOrSkip(backend, path);
      if (holder?.isFile !== true) continue;
      if (!((checkPids && holderIsDead(holder, path)) || now - holder.mtimeMs >= olderThanMs)) continue;
      if (!dryRun && !(await removeClaim(backend, path, holder))) continue;
      removed.push(name);
    }
  }
  return removed;
}

/** A claim's content, or undefined when it is gone or not a regular file. */
async function readClaimOrSkip(
  backend: NonNullable<CleanupOptions['backend']>,
  path: string,
): ReturnType<typeof readClaim> {
  try {
    return await readClaim(backend, path);
  } catch (e) {
    if (hasCode(e, 'ELOOP') || hasCode(e, 'EISDIR') || hasCode(e, 'ENXIO')) return undefined;
    throw e;
  }
}
