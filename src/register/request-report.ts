import {
  closeSync,
  existsSync,
  fchownSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { O } from '../backend/flags.js';
import { FsError, hasCode, toFsError } from '../errors/fs-error.js';
import { REPORT_FORMAT, type RegisterReport } from './report.js';
import {
  CHANNEL_MARKER,
  MAX_RESPONSE_BYTES,
  REQUEST_SIGNAL,
  channelPattern,
  channelPrefix,
  newToken,
  pidExists,
  removeQuietly,
  requestName,
  responseName,
} from './report-channel.js';
import { BEACON_PATTERN } from './reporter.js';

/** Options of {@link requestReport}. */
export interface RequestReportOptions {
  /** How long to wait for the answer, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /**
   * Ask without seeing the hook's beacon: for systems without /proc (macOS), where the channel is then
   * looked for by name in this process's own temp dir. Default false.
   */
  force?: boolean;
  /** Where procfs is mounted. Default `/proc`. */
  procRoot?: string;
  /** How often to look for the answer, in milliseconds. Default 20. */
  pollMs?: number;
}

/**
 * Asks process `pid`, which runs `fdkeeper/register`, for its report of open descriptors, as
 * `fdkeeper report <pid>` does: creates a request in the app's private channel directory, sends
 * {@link REQUEST_SIGNAL} (ignored by default: it cannot terminate anything), waits for the answer,
 * checks it (a regular file of the app's user, for this request, from that process), and removes it.
 * On giving up it takes its request back, so the app does nothing more for it (see `ReportChannel` in report-channel.ts).
 *
 * It signals only a process /proc shows to run the hook (its beacon descriptor, see
 * {@link BEACON_PATTERN}) and its channel. Fails with an {@link FsError}: `ESRCH` no such process (or it
 * exited while asked), `EPERM` not allowed to signal it or read its /proc entries, or its channel is not
 * private to its user, `ENOSYS` no /proc to check (pass `force`), `ENOTSUP` it does not run the hook or
 * has no channel, `ETIMEDOUT` no answer in time, `EINVAL` an answer that is not a report.
 */
export async function requestReport(pid: number, options: RequestReportOptions = {}): Promise<RegisterReport> {
  const procRoot = options.procRoot ?? '/proc';
  const timeoutMs = options.timeoutMs ?? 5000;
  const pollMs = options.pollMs ?? 20;
  assertSignalable(pid);

  const status = readStatus(pid, procRoot);
  let target: Target;
  if (status === undefined) {
    if (options.force !== true) {
      throw failure(
        'ENOSYS',
        `cannot find the report channel of pid ${pid} without ${procRoot} (${process.platform}). Pass --force if it runs fdkeeper/register as your user: the channel is then looked for in ${tmpdir()}`,
      );
    }
    target = channelByName(pid);
  } else {
    const fds = scanFds(pid, procRoot);
    if (options.force !== true && !fds.beacon) {
      throw failure(
        'ENOTSUP',
        `pid ${pid} is not running fdkeeper/register (no descriptor on the hook's dist/register.js in ${procRoot}/${pid}/fd); start it with \`node --import fdkeeper/register …\`. Nothing was sent`,
      );
    }
    if (fds.channel === undefined) {
      throw failure(
        'ENOTSUP',
        `pid ${pid} has no fdkeeper report channel open (no ${channelPrefix(pid)}XXXXXX directory in ${procRoot}/${pid}/fd): it is not running fdkeeper/register, or the hook could not create its private directory in its temp dir. Nothing was sent`,
      );
    }
    if (!catches(status, REQUEST_SIGNAL)) {
      throw failure(
        'ENOTSUP',
        `pid ${pid} does not catch ${REQUEST_SIGNAL}, so it is not running fdkeeper/register; nothing was sent`,
      );
    }
    target = { via: `${procRoot}/${pid}/fd/${fds.channel}`, uid: status.uid, gid: status.gid };
  }
  assertPrivate(pid, target);

  const token = newToken();
  const request = join(target.via, requestName(token));
  const response = join(target.via, responseName(token));
  writeRequest(request, target);
  try {
    process.kill(pid, REQUEST_SIGNAL);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = readResponse(response, pid, token, target);
      if (report !== undefined) return report;
      if (!pidExists(pid)) throw failure('ESRCH', `pid ${pid} exited before it answered`);
      // Giving up takes the request back. If it is already gone, the app claimed it first and answers
      // into a file it removes itself once nobody collects it.
      if (Date.now() >= deadline) throw timedOut(pid, timeoutMs, takeBack(request));
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    takeBack(request);
    removeQuietly(response);
  }
}

/** Where the request goes and whose the answer must be. */
interface Target {
  /** A path reaching the channel directory: through the app's descriptor where /proc exists. */
  readonly via: string;
  /** The app's user: the owner of the directory and the answer. */
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

/** Descriptions FsError does not carry itself, for the codes only this module raises. */
const DESCRIPTIONS: Readonly<Record<string, string>> = { ESRCH: 'no such process', ENOTSUP: 'operation not supported' };

function failure(code: string, detail: string, cause?: unknown): FsError {
  // FsError takes a description it does not know from its cause's `CODE: description` message.
  const described = new Error(`${code}: ${DESCRIPTIONS[code] ?? 'error'}`, cause === undefined ? undefined : { cause });
  return new FsError({ code, syscall: 'report', detail, cause: described });
}

/** `kill(pid, 0)`: the process exists and we may signal it. */
function assertSignalable(pid: number): void {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (hasCode(e, 'ESRCH')) throw failure('ESRCH', `no process with pid ${pid} (it has exited, or never existed)`, e);
    if (hasCode(e, 'EPERM'))
      throw failure(
        'EPERM',
        `not permitted to signal pid ${pid}: it belongs to another user; run as that user or as root`,
        e,
      );
    throw toFsError(e, 'kill');
  }
}

/** The fields of /proc/PID/status this needs. */
interface ProcStatus {
  /** SigCgt: the signals the process catches, as a bit mask. */
  readonly caught: bigint;
  /** The filesystem uid and gid: the owner of the files it creates. */
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

/** /proc/PID/status, or undefined without procfs. A missing /proc/PID means the process is gone. */
function readStatus(pid: number, procRoot: string): ProcStatus | undefined {
  if (process.platform !== 'linux' || !existsSync(`${procRoot}/self/status`)) return undefined;
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch (e) {
    if (hasCode(e, 'ENOENT') || hasCode(e, 'ESRCH'))
      throw failure('ESRCH', `no process with pid ${pid} (it has exited, or never existed)`, e);
    throw toFsError(e, 'read', { path: `${procRoot}/${pid}/status` });
  }
  const caught = /^SigCgt:\s*([0-9a-f]+)$/im.exec(text)?.[1];
  // Uid:/Gid: real, effective, saved, filesystem.
  const fsId = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s*\\d+\\s+\\d+\\s+\\d+\\s+(\\d+)$`, 'm').exec(text)?.[1];
    return m === undefined ? undefined : Number(m);
  };
  return { caught: caught === undefined ? 0n : BigInt(`0x${caught}`), uid: fsId('Uid'), gid: fsId('Gid') };
}

/** What `pid`'s descriptors show: the hook's beacon (see {@link BEACON_PATTERN}) and its channel directory. */
function scanFds(pid: number, procRoot: string): { beacon: boolean; channel: string | undefined } {
  const dir = `${procRoot}/${pid}/fd`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) throw failure('ESRCH', `no process with pid ${pid} (it has exited, or never existed)`, e);
    if (hasCode(e, 'EACCES') || hasCode(e, 'EPERM'))
      throw failure(
        'EPERM',
        `not permitted to read ${dir}: pid ${pid} belongs to another user; run as that user or as root`,
        e,
      );
    throw toFsError(e, 'scandir', { path: dir });
  }
  const channelLink = channelPattern(pid);
  let beacon = false;
  let channel: string | undefined;
  const directories: string[] = [];
  for (const name of names) {
    try {
      const link = readlinkSync(`${dir}/${name}`);
      if (BEACON_PATTERN.test(link)) beacon = true;
      else if (channel === undefined && channelLink.test(link)) channel = name;
      else if (link.startsWith('/')) directories.push(name);
    } catch {
      // Closed while we looked.
    }
  }
  // Renamed (by another user, in a world-writable TMPDIR without the sticky bit): known by its marker.
  for (const name of channel === undefined ? directories : []) {
    try {
      if (lstatSync(`${dir}/${name}/${CHANNEL_MARKER}`).isFile()) {
        channel = name;
        break;
      }
    } catch {
      // Not a directory, not a channel, or closed.
    }
  }
  return { beacon, channel };
}

function catches(status: ProcStatus, signal: NodeJS.Signals): boolean {
  const n = constants.signals[signal];
  return (status.caught & (1n << BigInt(n - 1))) !== 0n;
}

/**
 * Without /proc (`--force`): the channel by name, in this process's temp dir (the app's too when it runs
 * as the same user with the same environment): a directory of this user, mode 0700, not a link. With
 * several (a pid reused after a process that was killed), the newest.
 */
function channelByName(pid: number): Target {
  const dir = tmpdir();
  const uid = process.geteuid?.();
  const prefix = channelPrefix(pid);
  let best: { path: string; mtimeMs: number } | undefined;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) continue;
      if (best === undefined || st.mtimeMs > best.mtimeMs) best = { path, mtimeMs: st.mtimeMs };
    } catch {
      // Gone while we looked.
    }
  }
  if (best === undefined)
    throw failure(
      'ENOTSUP',
      `no report channel of pid ${pid} (${prefix}XXXXXX, a directory of yours, mode 0700) in ${dir}: it is not running fdkeeper/register as you with this temp dir. Nothing was sent`,
    );
  return { via: best.path, uid, gid: process.getegid?.() };
}

/** The channel directory must be the app user's and private to it; otherwise nothing is written there. */
function assertPrivate(pid: number, target: Target): void {
  let st;
  try {
    st = statSync(target.via);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) throw failure('ESRCH', `pid ${pid} closed its report channel (it is exiting)`, e);
    throw toFsError(e, 'stat', { path: target.via });
  }
  if (!st.isDirectory() || (target.uid !== undefined && st.uid !== target.uid) || (st.mode & 0o077) !== 0) {
    throw failure(
      'EPERM',
      `the report channel of pid ${pid} (${target.via}) is not a directory private to its user (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}); not using it`,
    );
  }
}

/**
 * Creates the request: a new file (`O_EXCL|O_NOFOLLOW`), mode 0600, given to the app's user when we are
 * root and it is not, so that the app recognises it as its own user's.
 */
function writeRequest(path: string, target: Target): void {
  let fd: number;
  try {
    fd = openSync(path, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o600);
  } catch (e) {
    throw toFsError(e, 'open', { path });
  }
  try {
    const me = process.geteuid?.();
    if (me === 0 && target.uid !== undefined && target.uid !== 0) fchownSync(fd, target.uid, target.gid ?? -1);
    writeSync(fd, JSON.stringify({ from: process.pid }) + '\n');
  } catch (e) {
    removeQuietly(path);
    throw toFsError(e, 'write', { path });
  } finally {
    closeSync(fd);
  }
}

/** Unlinks our request; false when it was not there (the app had claimed it). */
function takeBack(request: string): boolean {
  try {
    unlinkSync(request);
    return true;
  } catch {
    return false;
  }
}

/**
 * The answer, once it is there; undefined while it is not. Opened without following a link and without
 * blocking on a FIFO, then checked on the open descriptor: a regular file of the app's user, not larger
 * than {@link MAX_RESPONSE_BYTES}, a report of `pid` answering `token`.
 */
function readResponse(path: string, pid: number, token: string, target: Target): RegisterReport | undefined {
  let fd: number;
  try {
    fd = openSync(path, O.RDONLY | O.NOFOLLOW | O.NONBLOCK);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
    if (hasCode(e, 'ELOOP'))
      throw failure('EPERM', `${path} is a symbolic link, not pid ${pid}'s answer; not following it`, e);
    throw toFsError(e, 'open', { path });
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw failure('EPERM', `${path} is not a regular file; not pid ${pid}'s answer`);
    if (target.uid !== undefined && st.uid !== target.uid)
      throw failure(
        'EPERM',
        `${path} belongs to uid ${st.uid}, not to pid ${pid} (uid ${target.uid}); not trusting it`,
      );
    if (st.size > MAX_RESPONSE_BYTES)
      throw failure('EINVAL', `${path} is ${st.size} bytes, more than a report may be (${MAX_RESPONSE_BYTES})`);
    text = readAll(fd, st.size);
  } finally {
    closeSync(fd);
  }
  let report: Partial<RegisterReport>;
  try {
    report = JSON.parse(text) as Partial<RegisterReport>;
  } catch (e) {
    throw failure('EINVAL', `${path} is not a JSON report: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (report.format !== REPORT_FORMAT || report.pid !== pid || report.request !== token)
    throw failure('EINVAL', `${path} is not pid ${pid}'s report for this request`);
  return report as RegisterReport;
}

/** Reads the file on `fd` to its end, but never more than `size` bytes and {@link MAX_RESPONSE_BYTES}. */
function readAll(fd: number, size: number): string {
  const buf = Buffer.alloc(Math.min(size, MAX_RESPONSE_BYTES));
  let n = 0;
  while (n < buf.length) {
    const got = readSync(fd, buf, n, buf.length - n, n);
    if (got === 0) break;
    n += got;
  }
  return buf.subarray(0, n).toString('utf8');
}

function timedOut(pid: number, timeoutMs: number, requestUntaken: boolean): FsError {
  const seconds = `${(timeoutMs / 1000).toFixed(timeoutMs % 1000 === 0 ? 0 : 1)} s`;
  const why = requestUntaken
    ? `pid ${pid} did not take the request within ${seconds}: its event loop is probably blocked (the hook answers from the event loop); the request was taken back, and the app goes on undisturbed`
    : `pid ${pid} took the request but wrote no report within ${seconds} (see its stderr)`;
  return failure('ETIMEDOUT', why);
}
