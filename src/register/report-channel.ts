import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { O } from '../backend/flags.js';

/**
 * The rendezvous between `fdkeeper report <pid>` and the hook inside process `<pid>`: a directory private
 * to the app's user, made by the app, that only it, its user and root can enter.
 *
 * - At start-up the hook creates `<its temp dir>/fdkeeper-report-<pid>-XXXXXX` (mkdtemp: a fresh, random
 *   name, mode 0700), opens it (`O_DIRECTORY|O_NOFOLLOW`) and checks the open directory with fstat: a
 *   directory, owned by the process's user, no access for group or others. Otherwise no channel.
 * - It keeps that descriptor open for its life. The CLI finds the directory through `/proc/<pid>/fd`
 *   (reading another process's descriptors needs its user or root: the same rule as signalling it), and
 *   both sides then work through the descriptor (`/proc/<pid>/fd/<n>/…`), never through the name in a
 *   shared directory: renaming or replacing it changes nothing, and no predictable name exists to plant.
 * - The CLI creates `<token>.request` there (`O_EXCL|O_NOFOLLOW`; as root, chowned to the app's user)
 *   and sends {@link REQUEST_SIGNAL}. The hook claims each request by unlinking it, and writes
 *   `<token>.json` (temp file + rename, mode 0600). The CLI opens the answer `O_NOFOLLOW|O_NONBLOCK` and
 *   checks it with fstat (a regular file of the app's user, at most {@link MAX_RESPONSE_BYTES}).
 * - A CLI that gives up claims its request back (unlinks it): whoever unlinks first decides whether the
 *   app answers. Answers nobody collected are removed by the app after {@link STALE_RESPONSE_MS}, and the
 *   directory at exit.
 */
export interface ReportChannel {
  /** The directory's path when it was made (for messages and removal at exit). */
  readonly path: string;
  /** The open directory: what every operation goes through. */
  readonly fd: number;
  /** A path that reaches the directory through {@link fd}: `/proc/self/fd/<fd>` on Linux, else {@link path}. */
  readonly via: string;
}

/**
 * The signal that says "look in your channel". Its default action is to be ignored, so it can never
 * terminate a process, whatever the timing: one without the hook, or one whose request was already
 * answered or taken back. SIGUSR2 keeps its own meaning (a plain report, nodemon's restart), and
 * SIGUSR1 is Node's inspector.
 */
export const REQUEST_SIGNAL = 'SIGURG';

/**
 * A file the hook keeps in its channel: it tells the CLI a directory is a channel even after another
 * user renamed it (possible in a world-writable directory without the sticky bit), and keeps the
 * directory from being empty, which such a user could otherwise remove with rmdir.
 */
export const CHANNEL_MARKER = '.fdkeeper-report-channel';

/** A request's token: 24 lowercase hex digits. */
export const TOKEN_PATTERN = /^[0-9a-f]{24}$/;

/** The largest answer the CLI reads. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** An answer nobody collected within this long is removed by the app. */
export const STALE_RESPONSE_MS = 60_000;

/** How many requests one signal answers; more stay for the next signal (each CLI sends its own). */
const MAX_REQUESTS_PER_SIGNAL = 16;

/** `fdkeeper-report-<pid>-`: the start of the channel directory's name. */
export function channelPrefix(pid: number): string {
  return `fdkeeper-report-${pid}-`;
}

/** Matches the path of process `pid`'s channel directory (as `/proc/<pid>/fd/<n>` links show it). */
export function channelPattern(pid: number): RegExp {
  return new RegExp(`[/\\\\]${channelPrefix(pid)}[A-Za-z0-9]{6}$`);
}

/** `<token>.request` */
export function requestName(token: string): string {
  return `${token}.request`;
}

/** `<token>.json` */
export function responseName(token: string): string {
  return `${token}.json`;
}

/** A fresh random token (see {@link TOKEN_PATTERN}). */
export function newToken(): string {
  return randomBytes(12).toString('hex');
}

/** The effective uid, where there is one. */
function euid(): number | undefined {
  return process.geteuid?.();
}

/**
 * Creates and opens this process's channel in `dir` (default: the temp dir). Returns undefined, and
 * leaves nothing behind, when that is not possible or the directory fails the checks (see
 * {@link ReportChannel}): the app runs on, without on-demand reports.
 */
export function openChannel(dir: string = tmpdir()): ReportChannel | undefined {
  let path: string;
  try {
    path = mkdtempSync(join(dir, channelPrefix(process.pid)));
  } catch {
    return undefined;
  }
  let fd: number | undefined;
  try {
    fd = openSync(path, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
    const st = fstatSync(fd);
    const uid = euid();
    if (
      !st.isDirectory() ||
      (uid !== undefined && st.uid !== uid) ||
      (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    )
      throw new Error('not private');
    const via = process.platform === 'linux' ? `/proc/self/fd/${fd}` : path;
    writeFileSync(join(via, CHANNEL_MARKER), `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return { path, fd, via };
  } catch {
    if (fd !== undefined) closeSync(fd);
    // Ours only if it still is the directory we made (a directory another user put there is not empty or not removable).
    try {
      removeQuietly(join(path, CHANNEL_MARKER));
      rmdirSync(path);
    } catch {
      // Not ours, or gone.
    }
    return undefined;
  }
}

/**
 * Claims the pending requests: each `<token>.request` that is a regular file of this user (or of root,
 * which may ask for any process) is unlinked, and its token returned. Nothing is opened or read, so no
 * file type can block the app. A request the CLI already took back is skipped (its unlink fails).
 * Also removes answers older than {@link STALE_RESPONSE_MS}.
 */
export function takeRequests(channel: ReportChannel, now = Date.now()): string[] {
  const tokens: string[] = [];
  const uid = euid();
  for (const name of readdirSync(channel.via)) {
    if (name === CHANNEL_MARKER) continue;
    const file = join(channel.via, name);
    let st;
    try {
      st = lstatSync(file);
    } catch {
      continue;
    }
    if (name.endsWith('.request')) {
      const token = name.slice(0, -'.request'.length);
      if (tokens.length >= MAX_REQUESTS_PER_SIGNAL || !TOKEN_PATTERN.test(token) || !st.isFile()) continue;
      if (uid !== undefined && st.uid !== uid && st.uid !== 0) continue;
      try {
        unlinkSync(file);
      } catch {
        continue; // Taken back by a CLI that gave up: it is not waiting any more.
      }
      tokens.push(token);
    } else if (now - st.mtimeMs > STALE_RESPONSE_MS) {
      removeQuietly(file);
    }
  }
  return tokens;
}

/** Writes the answer to request `token` (atomically: the CLI never reads half of it). */
export function writeResponse(channel: ReportChannel, token: string, data: string): void {
  writeFileReplacing(join(channel.via, responseName(token)), data);
}

/**
 * Closes the channel and removes its directory with whatever is left in it (answers nobody collected).
 * The entries are removed through the descriptor; the directory by name only while that name still is
 * the directory we made.
 */
export function closeChannel(channel: ReportChannel): void {
  try {
    for (const name of readdirSync(channel.via)) removeQuietly(join(channel.via, name));
    const mine = fstatSync(channel.fd);
    const there = lstatSync(channel.path);
    if (there.ino === mine.ino && there.dev === mine.dev) rmdirSync(channel.path);
  } catch {
    // Gone already, or renamed away: nothing of ours to remove by that name.
  } finally {
    closeSync(channel.fd);
  }
}

/**
 * Removes channel directories left by processes of this user that died without running their exit
 * code (SIGKILL, an unhandled SIGTERM): in the background (asynchronous calls, off the event loop's
 * critical path), only directories of this user with no access for others whose pid no longer exists.
 * A pid in use again is left alone: its directory goes at the next sweep after that process ends.
 */
export async function sweepStaleChannels(dir: string = tmpdir()): Promise<number> {
  const uid = euid();
  const name = /^fdkeeper-report-(\d+)-[A-Za-z0-9]{6}$/;
  let removed = 0;
  let entries: string[];
  try {
    entries = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const pid = Number(name.exec(entry)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid === process.pid || pidExists(pid)) continue;
    const path = join(dir, entry);
    try {
      const st = await fsp.lstat(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) continue;
      // The directory is ours and private: nobody else can have put anything in it.
      await fsp.rm(path, { recursive: true });
      removed++;
    } catch {
      // Removed by another sweep, or not ours.
    }
  }
  return removed;
}

/** Whether a process `pid` exists (`kill(pid, 0)` does not say ESRCH; one of another user does exist). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Writes `data` to `path` by way of a new temp file in the same directory (O_EXCL, default mode 0600:
 * reports name the app's files, arguments and working directory) renamed over it: a reader sees the old
 * file or the whole new one, and a name planted in a shared directory is replaced rather than followed.
 * No fsync: the file is a message between two live processes, not data that must survive a power loss.
 */
export function writeFileReplacing(path: string, data: string, mode = 0o600): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, data, { flag: 'wx', mode });
  try {
    renameSync(temp, path);
  } catch (e) {
    removeQuietly(temp);
    throw e;
  }
}

/** Unlinks `path`, ignoring every error (not there, or not ours to remove). */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // The caller's own error, if any, is the one to report.
  }
}
