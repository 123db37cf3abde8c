import { formatAge, formatLeakReport, groupByOpenSite, type OpenHandle } from '../diagnostics/leak-report.js';
import { displayFile, parseStack } from '../diagnostics/open-site.js';
import type { NodeFsTracker } from './node-fs-tracker.js';
import type { OpenCountPoint } from './open-count-series.js';

/** The `format` field of every {@link RegisterReport}. */
export const REPORT_FORMAT = 'fdkeeper-register-report';

/** Why a report was made: the process exiting, a plain SIGUSR2, or `fdkeeper report <pid>`. */
export type ReportReason = 'exit' | 'signal' | 'request';

/** The descriptors still open from one line of code. */
export interface RegisterReportSite {
  /** `function (file:line:column)`, or null when no frame outside Node and fdkeeper was on the stack. */
  readonly site: string | null;
  /** The function of that frame (`<anonymous>` for anonymous ones), or null. */
  readonly function: string | null;
  /** The file of that frame, as a path (file: URLs converted), or null. */
  readonly file: string | null;
  /** 1-based line of the open call, or null. */
  readonly line: number | null;
  /** 1-based column of the open call, or null. */
  readonly column: number | null;
  /** How many descriptors this line opened that are still open. */
  readonly count: number;
  /** The age of the oldest of them, in milliseconds. */
  readonly oldestAgeMs: number;
  /** Their numbers, oldest first. */
  readonly fds: readonly number[];
  /** Up to five distinct paths they were opened by. */
  readonly samplePaths: readonly string[];
  /** How many were opened by each node:fs call (`openSync`, `open`, `promises.open`, `createReadStream`, `createWriteStream`). */
  readonly apis: Readonly<Record<string, number>>;
  /** The user frames of the first one's open site, one `    at …` line each. */
  readonly stack: string;
}

/** FileHandles the garbage collector closed for the app, by open site. */
export interface RegisterReportReclaimed {
  /** `function (file:line:column)` of the open call, or null. */
  readonly site: string | null;
  /** How many FileHandles from that line the garbage collector closed (of the last 1000 recorded). */
  readonly count: number;
  /** Up to five distinct paths they were opened by. */
  readonly samplePaths: readonly string[];
}

/**
 * What `fdkeeper/register` reports (`FDKEEPER_REPORT=json`, `fdkeeper report <pid> --json`). The
 * schema is documented in docs/cli.md; fields are only ever added.
 */
export interface RegisterReport {
  /** Always `'fdkeeper-register-report'` (`REPORT_FORMAT`): lets a script check it has the right file. */
  readonly format: typeof REPORT_FORMAT;
  /** The schema version; bumped only for an incompatible change. */
  readonly version: 1;
  /** What triggered the report. */
  readonly reason: ReportReason;
  /** The reporting process. */
  readonly pid: number;
  /** Its `process.argv`. */
  readonly argv: readonly string[];
  /** Its working directory when the report was made. */
  readonly cwd: string;
  /** Node's version (`v20.11.0`). */
  readonly node: string;
  /** When the report was made (ISO 8601). */
  readonly time: string;
  /** How long the process had been running, in milliseconds. */
  readonly uptimeMs: number;
  /** Descriptors opened through node:fs that are open now. */
  readonly open: number;
  /** Descriptors opened through the tracked node:fs calls since the hook was installed. */
  readonly opened: number;
  /** Of those, closed through node:fs (close, closeSync, FileHandle.close, stream close). */
  readonly closed: number;
  /** FileHandles the garbage collector closed because the app never did. */
  readonly gcClosed: number;
  /** Numbers found closed without node:fs (EBADF at report time) and dropped. */
  readonly closedElsewhere: number;
  /** Open descriptors grouped by open site: largest group first. */
  readonly sites: readonly RegisterReportSite[];
  /** FileHandles left to the garbage collector (closed by Node with a warning), by open site. */
  readonly reclaimed: readonly RegisterReportReclaimed[];
  /** Open descriptors over time (`FDKEEPER_REPORT=html` only). */
  readonly series?: readonly OpenCountPoint[];
  /** The token of the `fdkeeper report` request this answers. */
  readonly request?: string;
}

/** How many distinct sample paths a site lists. */
const SAMPLE_PATHS = 5;

/** Builds the report of what `tracker` has open now. Numbers closed behind node:fs's back are dropped first. */
export function buildReport(
  tracker: NodeFsTracker,
  reason: ReportReason,
  extra: { request?: string; series?: boolean } = {},
): RegisterReport {
  tracker.reconcile();
  const handles = tracker.openHandles();
  const stats = tracker.stats();
  const series = extra.series === true ? tracker.series() : undefined;
  return {
    format: REPORT_FORMAT,
    version: 1,
    reason,
    pid: process.pid,
    argv: process.argv,
    cwd: process.cwd(),
    node: process.version,
    time: new Date().toISOString(),
    uptimeMs: Math.round(process.uptime() * 1000),
    open: handles.length,
    opened: stats.opened,
    closed: stats.closed,
    gcClosed: stats.gcClosed,
    closedElsewhere: stats.closedElsewhere,
    sites: groupByOpenSite(handles).map((g) => siteOf(g.site, g.stack, g.handles)),
    reclaimed: groupByOpenSite(tracker.reclaimedHandles()).map((g) => ({
      site: g.site ?? null,
      count: g.handles.length,
      samplePaths: samplePaths(g.handles),
    })),
    ...(series === undefined ? {} : { series }),
    ...(extra.request === undefined ? {} : { request: extra.request }),
  };
}

function siteOf(
  site: string | undefined,
  stack: string | undefined,
  handles: readonly OpenHandle[],
): RegisterReportSite {
  // `site` is formatFrame()'s `fn (file:line:col)`: read back with the stack parser that reads V8's.
  const frame = site === undefined || site === '<unknown>' ? undefined : parseStack(`    at ${site}`)[0];
  const apis: Record<string, number> = {};
  for (const h of handles) apis[h.origin] = (apis[h.origin] ?? 0) + 1;
  return {
    site: frame === undefined ? null : (site ?? null),
    function: frame?.fn ?? null,
    file: frame === undefined ? null : displayFile(frame.file),
    line: frame?.line ?? null,
    column: frame?.column ?? null,
    count: handles.length,
    oldestAgeMs: Math.max(0, ...handles.map((h) => h.ageMs)),
    fds: handles.map((h) => h.fd),
    samplePaths: samplePaths(handles),
    apis,
    stack: stack ?? '',
  };
}

function samplePaths(handles: readonly OpenHandle[]): string[] {
  const paths = new Set<string>();
  for (const h of handles) {
    if (h.path !== undefined) paths.add(h.path);
    if (paths.size === SAMPLE_PATHS) break;
  }
  return [...paths];
}

/** `exit` → `at exit`, `signal` → `on SIGUSR2`, `request` → `now`. */
function when(reason: ReportReason): string {
  return reason === 'exit' ? 'at exit' : reason === 'signal' ? 'on SIGUSR2' : 'now';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The human report: {@link formatLeakReport}'s grouping by open site under a title saying what was
 * tracked, then the FileHandles the garbage collector had to close. One line when nothing is open, so
 * a clean run still shows the hook was there.
 */
export function formatReportText(tracker: NodeFsTracker, reason: ReportReason): string {
  tracker.reconcile();
  const handles = tracker.openHandles();
  const stats = tracker.stats();
  const tally = `pid ${process.pid}: ${stats.opened} opened, ${stats.closed} closed`;
  let text: string;
  if (handles.length === 0) {
    text = `fdkeeper: no descriptor opened through node:fs is still open ${when(reason)} (${tally})\n`;
  } else {
    const sites = groupByOpenSite(handles).length;
    const title = `fdkeeper: ${plural(handles.length, 'descriptor')} opened through node:fs still open ${when(reason)}, from ${plural(sites, 'open site')} (${tally})`;
    text = formatLeakReport(handles, { title });
  }
  const reclaimed = tracker.reclaimedHandles();
  if (stats.gcClosed > 0) {
    const top = groupByOpenSite(reclaimed)
      .slice(0, 5)
      .map((g) => `  ${g.handles.length} × ${g.site ?? '<unknown>'}`);
    text +=
      [
        `fdkeeper: ${plural(stats.gcClosed, 'FileHandle')} never closed by the app were closed by the garbage collector (a leak until then):`,
        ...top,
      ].join('\n') + '\n';
  }
  return text;
}

/** One line naming a written HTML report. */
export function htmlWrittenLine(file: string, report: RegisterReport): string {
  const oldest =
    report.sites.length === 0 ? '' : `, oldest ${formatAge(Math.max(...report.sites.map((s) => s.oldestAgeMs)))}`;
  return `fdkeeper: leak report (${plural(report.open, 'descriptor')} open ${when(report.reason)}, ${plural(report.sites.length, 'open site')}${oldest}) written to ${file}\n`;
}
