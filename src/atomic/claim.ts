/**
 * createExclusive's claims: `.${base}.fdkeeper-claim` beside the target, holding `${pid}\n${hostname}\n`
 * of the process producing the target. Whoever creates the claim produces the file; the others learn
 * who is at it, and whether that process is still alive on this host.
 *
 * A claim is written to a temp file and then hard-linked to the claim name (link(2) fails with EEXIST
 * if the name exists, like O_EXCL), so nobody ever reads a claim that is still empty.
 *
 * The name is predictable (cooperating producers must find it), so in a shared directory another user
 * can plant something there first. A claim is honoured only when its owner is trusted by the same rule
 * as a symlink ({@link ownerTrusted}: the caller, the directory's owner, or anyone when the directory is
 * not sticky and world-writable); anything else at the name — a file, a symlink, a FIFO — is stepped
 * around: never opened, never followed, never removed, and the file is produced without a claim (its
 * link(2) into place still lets exactly one producer create it).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { dirname } from 'node:path';
import type { Backend, FileStat } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import { hasCode } from '../errors/fs-error.js';
import { atomicError, claimFailed } from './errors.js';
import { identityOf } from './identity.js';
import { ownerTrusted } from './link-rule.js';
import { addLive, deleteLive, isLive } from './live-temps.js';
import { bootTimeMs, host, isPidDead } from './pid.js';
import type { Settings } from './settings.js';
import { claimNameFor, tempNameFor } from './temp-name.js';
import { runAsync } from '../protocol/run.js';
import { createTemp, discard, writeAll, type TempFile } from './write-protocol.js';

/** A claim this process holds: its path and the identity of the file, to remove only that file. */
export interface Claim {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** What an existing claim says. */
export interface Holder {
  /** The claiming process's pid, if the claim could be read. */
  readonly pid: number | undefined;
  /** The host it ran on, if the claim could be read. */
  readonly host: string | undefined;
  /** Who owns the claim file (or whatever has its name). */
  readonly uid: number;
  readonly dev: number;
  readonly ino: number;
  /** Last modification (the claim's creation), ms since the epoch. */
  readonly mtimeMs: number;
  /** Whether it is a regular file (anything else under a claim's name is not a claim of ours). */
  readonly isFile: boolean;
}

/**
 * Whether the claim at `claimPath` is known to be stale: it is empty or not valid ({@link parseClaim}: a
 * crash lost or tore its content), it was
 * made on this host before the host booted, by a process that is gone, or by this process's pid
 * although this process does not hold it (a previous process that had the same pid).
 */
export function holderIsDead(h: Holder, claimPath: string): boolean {
  // Claims are linked into place only once written, so a regular file with no readable owner can only
  // be what a crash left (its content never reached the disk): nobody holds it.
  if (h.isFile && h.pid === undefined && h.host === undefined) return true;
  if (h.host !== host() || h.pid === undefined) return false;
  if (h.mtimeMs < bootTimeMs()) return true; // made before this host booted: its process is gone
  if (h.pid === process.pid) return !isLive(claimPath);
  return isPidDead(h.pid);
}

/** Claims are a few dozen bytes; more is not a claim's content. */
export const CLAIM_MAX_BYTES = 1024;

/** What a claim file's bytes say. */
export type ClaimText =
  | { readonly state: 'valid'; readonly pid: number; readonly host: string }
  | { readonly state: 'empty' }
  | { readonly state: 'invalid' };

/**
 * The one reading of a claim's content, for createExclusive and cleanupTemps as for `fdkeeper clean`:
 * valid only if it is exactly what createExclusive writes, `PID\nHOST\n` — the pid a possible one
 * (decimal, no leading zero, at most `pidLimit`), the host a non-empty UTF-8 name of at most 255
 * characters without controls or spaces — and at most {@link CLAIM_MAX_BYTES} long. Anything else is
 * `'invalid'`: a torn write (claims are linked into place only once written, so only a crash leaves
 * one) or not a claim of ours.
 */
export function parseClaim(bytes: Uint8Array, pidLimit = 0xffff_ffff): ClaimText {
  if (bytes.byteLength === 0) return { state: 'empty' };
  if (bytes.byteLength > CLAIM_MAX_BYTES) return { state: 'invalid' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { state: 'invalid' };
  }
  // eslint-disable-next-line no-control-regex
  const m = /^([1-9][0-9]{0,9})\n([^\u0000-\u0020\u007f-\u009f]{1,255})\n$/.exec(text);
  if (m === null) return { state: 'invalid' };
  const pid = Number(m[1]);
  return pid <= pidLimit ? { state: 'valid', pid, host: m[2] ?? '' } : { state: 'invalid' };
}

/** What has a claim's name without being a readable claim: its owner and identity only. */
function notAClaim(st: FileStat): Holder {
  return { pid: undefined, host: undefined, uid: st.uid, dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, isFile: false };
}

/**
 * Reads the claim at `claimPath`; undefined when there is none. It is looked at first (lstat): only a
 * regular file is opened, and only when `open` says so (given its lstat) — a symlink, a FIFO, a socket
 * or a file of an untrusted owner is reported by its owner and identity, unopened.
 */
export async function readClaim(
  backend: Backend,
  claimPath: string,
  open: (st: FileStat) => boolean = () => true,
): Promise<Holder | undefined> {
  let seen: FileStat;
  try {
    seen = await backend.lstat(claimPath);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
    throw e;
  }
  if (!seen.isFile() || !open(seen)) return notAClaim(seen);
  let fd: number;
  try {
    // swapped meanwhile: no link followed, no FIFO waited on
    fd = await backend.open(claimPath, O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
    if (hasCode(e, 'ELOOP') || hasCode(e, 'ENXIO') || hasCode(e, 'EISDIR')) return notAClaim(seen);
    throw e;
  }
  let st: FileStat;
  let text: ClaimText;
  try {
    st = await backend.fstat(fd);
    if (!st.isFile() || st.dev !== seen.dev || st.ino !== seen.ino) return notAClaim(st);
    const buf = Buffer.alloc(CLAIM_MAX_BYTES + 1);
    const n = await backend.read(fd, buf, 0, buf.length, 0);
    text = parseClaim(buf.subarray(0, n));
  } finally {
    await backend.close(fd);
  }
  const valid = text.state === 'valid' ? text : undefined;
  return {
    pid: valid?.pid,
    host: valid?.host,
    uid: st.uid,
    dev: st.dev,
    ino: st.ino,
    mtimeMs: st.mtimeMs,
    isFile: true,
  };
}

/**
 * Removes the claim at `claimPath` if it is still the one `holder` describes. The claim is first renamed
 * to a private name, so that a claim created meanwhile by a live producer is never deleted by mistake:
 * if the file moved aside turns out to be a different one, it is linked back.
 */
export async function removeClaim(backend: Backend, claimPath: string, holder: Holder): Promise<boolean> {
  const aside = tempNameFor(claimPath);
  addLive(aside);
  try {
    try {
      await backend.rename(claimPath, aside);
    } catch (e) {
      if (hasCode(e, 'ENOENT')) return false;
      throw e;
    }
    const st = await backend.lstat(aside);
    if (st.dev === holder.dev && st.ino === holder.ino) {
      await backend.unlink(aside);
      return true;
    }
    try {
      await backend.link(aside, claimPath); // a live claim: put it back
    } catch {
      // a third claim appeared meanwhile: the one moved aside is lost to its producer, whose link()
      // of the target still keeps the creation exclusive
    }
    await backend.unlink(aside);
    return false;
  } finally {
    deleteLive(aside);
  }
}

/**
 * Tries to claim the production of `target` (a path with no symlink in its directory part). Returns
 * the claim; or the live holder of the existing one; or `stepAround`: something at the claim's name
 * that is not to be honoured — its owner is not trusted ({@link ownerTrusted}), or it is stale but this
 * process may not remove it (another user's, in a sticky directory) — and the caller produces the file
 * without a claim. A claim whose holder is dead on this host is removed and the claim tried again.
 */
export async function tryClaim(
  target: string,
  s: Settings,
): Promise<{ claim: Claim } | { holder: Holder } | { stepAround: Holder }> {
  const b = s.backend;
  const claimPath = claimNameFor(target);
  const content = Buffer.from(`${process.pid}\n${host()}\n`);
  const uid = identityOf(b).uid;
  let dirSt: FileStat | undefined;
  const trusted = (st: FileStat): boolean => dirSt === undefined || ownerTrusted(st.uid, dirSt, uid);
  for (let round = 0; round < 100; round++) {
    dirSt ??= await b.lstat(dirname(claimPath)).catch(() => undefined);
    const existing = await readClaim(b, claimPath, trusted);
    if (existing !== undefined) {
      if (dirSt !== undefined && !ownerTrusted(existing.uid, dirSt, uid)) return { stepAround: existing };
      if (!holderIsDead(existing, claimPath)) return { holder: existing };
      try {
        await removeClaim(b, claimPath, existing);
      } catch (e) {
        if (hasCode(e, 'EPERM') || hasCode(e, 'EACCES')) return { stepAround: existing };
        throw e;
      }
      continue;
    }
    let tmp: TempFile;
    try {
      tmp = await runAsync(createTemp(claimPath, s, 0o644));
    } catch (e) {
      throw claimFailed(e, target, claimPath);
    }
    let st: FileStat;
    try {
      await runAsync(writeAll(tmp.file, content));
      st = await tmp.file.stat();
      await tmp.file.close();
      addLive(claimPath);
      await b.link(tmp.path, claimPath);
    } catch (e) {
      deleteLive(claimPath);
      await runAsync(discard(b, tmp));
      if (hasCode(e, 'EEXIST')) continue; // claimed meanwhile: read that claim
      throw claimFailed(e, target, claimPath);
    }
    await runAsync(discard(b, tmp)); // the claim is the file's other name
    return { claim: { path: claimPath, dev: st.dev, ino: st.ino } };
  }
  throw atomicError({ code: 'EBUSY', syscall: 'link', path: claimPath, detail: 'the claim kept changing hands' });
}

/** Removes this process's claim (only if the claim file is still the one it created). Never rejects. */
export async function releaseClaim(backend: Backend, claim: Claim): Promise<void> {
  try {
    const st = await backend.lstat(claim.path);
    if (st.dev === claim.dev && st.ino === claim.ino) await backend.unlink(claim.path);
  } catch {
    // gone already, or not removable: a dead process's claim is stale and gets taken over
  } finally {
    deleteLive(claim.path);
  }
}
