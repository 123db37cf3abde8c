import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The rendezvous between `fdkeeper report <pid>` and the hook inside process `<pid>`. A signal carries
 * no data, so the CLI first writes a request file naming a random token, then sends SIGUSR2; the hook
 * finds the request, removes it, and writes its report, with the token, to the response file (atomically:
 * temp file + rename, so the CLI never reads half a report). A SIGUSR2 without a request file is a plain
 * "print your report" (to stderr, in the `FDKEEPER_REPORT` form), and leaves no file behind.
 *
 * Both files live in the *target's* temporary directory (its `TMPDIR`, else `/tmp`); the CLI reads
 * that from `/proc/<pid>/environ`.
 */
export interface ReportChannel {
  /** `<dir>/fdkeeper-report-<pid>.request`: the token, written by the CLI. */
  readonly request: string;
  /** `<dir>/fdkeeper-report-<pid>.json`: the report, written by the hook. */
  readonly response: string;
}

/** The request and response paths for process `pid`, in `dir` (default: this process's temp dir). */
export function reportChannel(pid: number, dir: string = tmpdir()): ReportChannel {
  return { request: join(dir, `fdkeeper-report-${pid}.request`), response: join(dir, `fdkeeper-report-${pid}.json`) };
}

/** What the CLI writes into the request file. */
export interface ReportRequest {
  /** Echoed in the response, so a stale or planted response file is never mistaken for the answer. */
  readonly token: string;
  /** The requesting CLI's pid (for a human looking at a leftover file). */
  readonly from: number;
}

/** A fresh random token. */
export function newToken(): string {
  return randomBytes(12).toString('hex');
}

/**
 * Reads and removes a pending request; undefined when there is none (a plain SIGUSR2). Removing it
 * first means a second signal does not answer the same request twice.
 */
export function takeRequest(channel: ReportChannel): ReportRequest | undefined {
  let text: string;
  try {
    text = readFileSync(channel.request, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    unlinkSync(channel.request);
  } catch {
    // Already taken (by a concurrent signal) or removed by a CLI that gave up: answer anyway.
  }
  const parsed = JSON.parse(text) as Partial<ReportRequest>;
  if (typeof parsed.token !== 'string') return undefined;
  return { token: parsed.token, from: typeof parsed.from === 'number' ? parsed.from : 0 };
}

/**
 * Writes `data` to `path` by way of a new temp file in the same directory (O_EXCL, default mode 0600:
 * the report names the app's files) renamed over it: a reader sees the old file or the whole new one, and
 * a name planted in a shared /tmp is replaced rather than followed. No fsync: the file is a message
 * between two live processes, not data that must survive a power loss.
 */
export function writeFileReplacing(path: string, data: string, mode = 0o600): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, data, { flag: 'wx', mode });
  try {
    renameSync(temp, path);
  } catch (e) {
    try {
      unlinkSync(temp);
    } catch {
      // The rename's error is the one to report.
    }
    throw e;
  }
}
