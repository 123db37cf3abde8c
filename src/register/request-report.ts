import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { FsError, hasCode, toFsError } from '../errors/fs-error.js';
import { REPORT_FORMAT, type RegisterReport } from './report.js';
import { newToken, reportChannel, type ReportChannel } from './report-channel.js';
import { BEACON_PATTERN, REPORT_SIGNAL } from './reporter.js';

/** Options of {@link requestReport}. */
export interface RequestReportOptions {
  /** How long to wait for the answer, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /**
   * Send the signal without seeing the hook's beacon: for systems without /proc (macOS; a process that
   * does not catch SIGUSR2 is then terminated by it). Where /proc shows SIGUSR2 is not caught, it is
   * still never sent. Default false.
   */
  force?: boolean;
  /** Where procfs is mounted. Default `/proc`. */
  procRoot?: string;
  /** How often to look for the answer, in milliseconds. Default 20. */
  pollMs?: number;
}

/** A request file older than this is left over from a CLI that died, and is replaced. */
const STALE_REQUEST_MS = 60_000;

/**
 * Asks process `pid`, which runs `fdkeeper/register`, for its report of open descriptors, as
 * `fdkeeper report <pid>` does: writes a request file, sends SIGUSR2, waits for the response file
 * (see {@link ReportChannel}), checks it answers this request and was written by that process, and
 * removes both files.
 *
 * It signals only a process /proc shows to run the hook (its beacon descriptor, see
 * {@link BEACON_PATTERN}) and to catch SIGUSR2: an app catching SIGUSR2 for itself (a graceful restart)
 * is not disturbed, and one that does not catch it is not terminated. Fails with an {@link FsError}:
 * `ESRCH` no such process (or it exited while asked), `EPERM` not allowed to signal it or read its
 * /proc entries, `ENOSYS` no /proc to check (pass `force`), `ENOTSUP` it does not run the hook,
 * `ETIMEDOUT` no answer in time, `EBUSY` another request is pending.
 */
export async function requestReport(pid: number, options: RequestReportOptions = {}): Promise<RegisterReport> {
  const procRoot = options.procRoot ?? '/proc';
  const timeoutMs = options.timeoutMs ?? 5000;
  const pollMs = options.pollMs ?? 20;
  assertSignalable(pid);

  const status = readStatus(pid, procRoot);
  if (status === undefined) {
    if (options.force !== true) {
      throw failure('ENOSYS', `cannot check that pid ${pid} catches ${REPORT_SIGNAL} without ${procRoot} (${process.platform}); a process that does not catch it is terminated by it. Pass --force if it runs fdkeeper/register`);
    }
  } else {
    if (options.force !== true && !hasBeacon(pid, procRoot)) {
      throw failure('ENOTSUP', `pid ${pid} is not running fdkeeper/register (no descriptor on the hook's register/reporter.js in ${procRoot}/${pid}/fd); start it with \`node --import fdkeeper/register …\`. Nothing was sent`,
      );
    }
    if (!catches(status, REPORT_SIGNAL)) {
      throw failure('ENOTSUP', `pid ${pid} does not catch ${REPORT_SIGNAL}, so it is not running fdkeeper/register; the signal was not sent, since it would terminate the process`);
    }
  }

  const channel = reportChannel(pid, targetTmpdir(pid, procRoot));
  const token = newToken();
  writeRequest(channel, pid, token);
  removeQuietly(channel.response);
  try {
    process.kill(pid, REPORT_SIGNAL);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = readResponse(channel, pid, token, status);
      if (report !== undefined) return report;
      if (!alive(pid)) throw failure('ESRCH', `pid ${pid} exited before it answered`);
      if (Date.now() >= deadline) throw timedOut(pid, timeoutMs, existsSync(channel.request));
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    removeQuietly(channel.request);
    removeQuietly(channel.response);
  }
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
    if (hasCode(e, 'EPERM')) throw failure('EPERM', `not permitted to signal pid ${pid}: it belongs to another user; run as that user or as root`, e);
    throw toFsError(e, 'kill');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return !hasCode(e, 'ESRCH');
  }
}

/** The fields of /proc/PID/status this needs. */
interface ProcStatus {
  /** SigCgt: the signals the process catches, as a bit mask. */
  readonly caught: bigint;
  /** The filesystem uid: the owner of the files it creates. */
  readonly fsuid: number | undefined;
}

/** /proc/PID/status, or undefined without procfs. A missing /proc/PID means the process is gone. */
function readStatus(pid: number, procRoot: string): ProcStatus | undefined {
  if (process.platform !== 'linux' || !existsSync(`${procRoot}/self/status`)) return undefined;
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch (e) {
    if (hasCode(e, 'ENOENT') || hasCode(e, 'ESRCH')) throw failure('ESRCH', `no process with pid ${pid} (it has exited, or never existed)`, e);
    throw toFsError(e, 'read', { path: `${procRoot}/${pid}/status` });
  }
  const caught = /^SigCgt:\s*([0-9a-f]+)$/im.exec(text)?.[1];
  // Uid: real, effective, saved, filesystem.
  const uids = /^Uid:\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(text);
  return { caught: caught === undefined ? 0n : BigInt(`0x${caught}`), fsuid: uids?.[4] === undefined ? undefined : Number(uids[4]) };
}

/** Whether one of `pid`'s descriptors is the hook's beacon (see {@link BEACON_PATTERN}). */
function hasBeacon(pid: number, procRoot: string): boolean {
  const dir = `${procRoot}/${pid}/fd`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) throw failure('ESRCH', `no process with pid ${pid} (it has exited, or never existed)`, e);
    if (hasCode(e, 'EACCES') || hasCode(e, 'EPERM')) throw failure('EPERM', `not permitted to read ${dir}: pid ${pid} belongs to another user; run as that user or as root`, e);
    throw toFsError(e, 'scandir', { path: dir });
  }
  for (const name of names) {
    try {
      if (BEACON_PATTERN.test(readlinkSync(`${dir}/${name}`))) return true;
    } catch {
      // Closed while we looked.
    }
  }
  return false;
}

function catches(status: ProcStatus, signal: NodeJS.Signals): boolean {
  const n = constants.signals[signal];
  return (status.caught & (1n << BigInt(n - 1))) !== 0n;
}

/**
 * The directory the target writes its answer in: its os.tmpdir(), which Node takes from TMPDIR, TMP or
 * TEMP, else /tmp. Read from /proc/PID/environ (the environment it started with; the hook fixes its
 * directory at startup for the same reason); this process's own when that cannot be read.
 */
function targetTmpdir(pid: number, procRoot: string): string {
  let environ: string;
  try {
    environ = readFileSync(`${procRoot}/${pid}/environ`, 'latin1');
  } catch {
    return tmpdir();
  }
  const env = new Map<string, string>();
  for (const entry of environ.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  let dir = env.get('TMPDIR') || env.get('TMP') || env.get('TEMP') || '/tmp';
  if (dir.length > 1 && dir.endsWith('/')) dir = dir.slice(0, -1);
  return dir;
}

function writeRequest(channel: ReportChannel, pid: number, token: string): void {
  const body = JSON.stringify({ token, from: process.pid }) + '\n';
  for (let attempt = 0; ; attempt++) {
    try {
      // Readable by all: the CLI may run as root for another user's process, which must read it.
      writeFileSync(channel.request, body, { flag: 'wx', mode: 0o644 });
      return;
    } catch (e) {
      if (!hasCode(e, 'EEXIST') || attempt > 0) {
        if (hasCode(e, 'EEXIST')) throw failure('EBUSY', `another fdkeeper report for pid ${pid} is waiting for its answer (${channel.request}); try again, or remove that file if no report is running`, e);
        throw toFsError(e, 'open', { path: channel.request });
      }
      let age = 0;
      try {
        age = Date.now() - statSync(channel.request).mtimeMs;
      } catch {
        continue;
      }
      if (age < STALE_REQUEST_MS) throw failure('EBUSY', `another fdkeeper report for pid ${pid} is waiting for its answer (${channel.request}); try again, or remove that file if no report is running`, e);
      removeQuietly(channel.request);
    }
  }
}

/** The answer, once it is there and is for this request; undefined while it is not. */
function readResponse(channel: ReportChannel, pid: number, token: string, status: ProcStatus | undefined): RegisterReport | undefined {
  let text: string;
  try {
    text = readFileSync(channel.response, 'utf8');
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
    throw toFsError(e, 'open', { path: channel.response });
  }
  const owner = statSync(channel.response).uid;
  if (status?.fsuid !== undefined && owner !== status.fsuid) {
    throw failure('EPERM', `${channel.response} belongs to uid ${owner}, not to pid ${pid} (uid ${status.fsuid}); not trusting it`);
  }
  let report: Partial<RegisterReport>;
  try {
    report = JSON.parse(text) as Partial<RegisterReport>;
  } catch (e) {
    throw failure('EINVAL', `${channel.response} is not a JSON report: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (report.format !== REPORT_FORMAT || report.pid !== pid) throw failure('EINVAL', `${channel.response} is not a report of pid ${pid}`);
  // An answer to an earlier request that gave up: not ours, keep waiting.
  if (report.request !== token) return undefined;
  return report as RegisterReport;
}

function timedOut(pid: number, timeoutMs: number, requestUntaken: boolean): FsError {
  const seconds = `${(timeoutMs / 1000).toFixed(timeoutMs % 1000 === 0 ? 0 : 1)} s`;
  const why = requestUntaken
    ? `pid ${pid} catches ${REPORT_SIGNAL} but did not take the request within ${seconds}: it is probably not running fdkeeper/register (something else handles ${REPORT_SIGNAL}), or its event loop is blocked (the hook answers from the event loop)`
    : `pid ${pid} took the request but wrote no report within ${seconds} (see its stderr)`;
  return failure('ETIMEDOUT', why);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Not there (the usual case), or not ours to remove.
  }
}
