import type { OpenSite } from './open-site.js';

/** What {@link formatLeakReport} and friends need to know of one open descriptor. */
export interface OpenHandleSource {
  readonly number: number;
  readonly path: string | undefined;
  readonly mode: string;
  readonly origin: string;
  readonly openedAt: number;
  readonly openSite: OpenSite | undefined;
  readonly escaped: boolean;
}

/**
 * A snapshot of one open descriptor, as returned by `table.openHandles()`. The open site is formatted
 * only when {@link OpenHandle.site} or {@link OpenHandle.stack} is read.
 */
export class OpenHandle {
  /** The descriptor number. */
  readonly fd: number;
  /** The path it was opened by, if any. */
  readonly path: string | undefined;
  /** The mode it was opened with (`'r+'`, `'ab+'`, …). */
  readonly mode: string;
  /** How it entered the table: `'open'`, `'dup'`, `'adopted'` or `'pipe'`. */
  readonly origin: string;
  /** When it was opened. */
  readonly openedAt: Date;
  /** How long it had been open when the snapshot was taken, in milliseconds. */
  readonly ageMs: number;
  /** Whether its number was handed out as a plain integer (such descriptors are never closed by GC). */
  readonly escaped: boolean;
  private readonly openSite: OpenSite | undefined;

  constructor(source: OpenHandleSource, now: number) {
    this.fd = source.number;
    this.path = source.path;
    this.mode = source.mode;
    this.origin = source.origin;
    this.openedAt = new Date(source.openedAt);
    this.ageMs = now - source.openedAt;
    this.escaped = source.escaped;
    this.openSite = source.openSite;
  }

  /** `function (file:line:column)` of the line that opened it, or undefined if not recorded. */
  get site(): string | undefined {
    return this.openSite?.describe();
  }

  /** The open-site stack (user frames only), or undefined if not recorded. */
  get stack(): string | undefined {
    return this.openSite?.formatStack();
  }

  /** A key that is equal for handles opened by the same line. */
  get siteKey(): string {
    return this.openSite?.key() ?? '<not recorded>';
  }

  /** A JSON-friendly copy (what `JSON.stringify` uses). */
  toJSON(): Record<string, unknown> {
    return {
      fd: this.fd,
      path: this.path,
      mode: this.mode,
      origin: this.origin,
      openedAt: this.openedAt.toISOString(),
      ageMs: this.ageMs,
      escaped: this.escaped,
      site: this.site,
      stack: this.stack,
    };
  }
}

/** Handles opened by one line. */
export interface OpenSiteGroup {
  /** `function (file:line:column)`, or `undefined` when sites were not recorded. */
  readonly site: string | undefined;
  /** The user stack of the first handle in the group. */
  readonly stack: string | undefined;
  /** The handles, oldest first. */
  readonly handles: readonly OpenHandle[];
}

/**
 * Groups handles by open site: recorded sites first, largest group first (ties: oldest first); the
 * handles whose site was not recorded come last, since they name no line to fix.
 */
export function groupByOpenSite(handles: readonly OpenHandle[]): OpenSiteGroup[] {
  const groups = new Map<string, OpenHandle[]>();
  for (const h of handles) {
    const key = h.siteKey;
    let list = groups.get(key);
    if (list === undefined) groups.set(key, (list = []));
    list.push(h);
  }
  const result: OpenSiteGroup[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
    const first = list[0];
    result.push({ site: first?.site, stack: first?.stack, handles: list });
  }
  const unrecorded = (g: OpenSiteGroup): number => (g.site === undefined ? 1 : 0);
  result.sort(
    (a, b) =>
      unrecorded(a) - unrecorded(b) ||
      b.handles.length - a.handles.length ||
      (a.handles[0]?.openedAt.getTime() ?? 0) - (b.handles[0]?.openedAt.getTime() ?? 0),
  );
  return result;
}

/** Options for {@link formatLeakReport}. */
export interface LeakReportOptions {
  /** The first line. Default: `fdkeeper: N descriptors still open, from M open sites`. */
  title?: string;
  /** How many groups to show before summarising the rest. Default 10. */
  maxGroups?: number;
  /** How many example paths to show per group. Default 3. */
  samplePaths?: number;
}

/**
 * A human-readable leak report: open descriptors grouped by the line that opened them, with counts,
 * the oldest age, sample paths and the open-site stack. Returns `''` for no handles.
 */
export function formatLeakReport(handles: readonly OpenHandle[], options: LeakReportOptions = {}): string {
  if (handles.length === 0) return '';
  const groups = groupByOpenSite(handles);
  const maxGroups = options.maxGroups ?? 10;
  const samples = options.samplePaths ?? 3;
  const lines: string[] = [
    options.title ??
      `fdkeeper: ${plural(handles.length, 'descriptor')} still open, from ${plural(groups.length, 'open site')}`,
  ];
  for (const g of groups.slice(0, maxGroups)) {
    const oldest = Math.max(...g.handles.map((h) => h.ageMs));
    lines.push(
      '',
      `  ${g.handles.length} × ${g.site ?? '<open site not recorded: set FDKEEPER_OPEN_SITES=always>'}   oldest ${formatAge(oldest)}`,
    );
    const shown = g.handles
      .slice(0, samples)
      .map((h) => `${h.path ?? '<no path>'} (fd ${h.fd}, ${h.mode}${h.origin === 'open' ? '' : `, ${h.origin}`})`);
    if (g.handles.length > samples) shown.push(`… ${g.handles.length - samples} more`);
    lines.push(`      ${shown.join(', ')}`);
    if (g.stack !== undefined && g.stack !== '') lines.push(g.stack.replace(/^ {4}/gm, '      '));
  }
  if (groups.length > maxGroups) lines.push('', `  … and ${groups.length - maxGroups} more open sites`);
  return lines.join('\n') + '\n';
}

/** `"60 × leaky (a.js:3:9); 4 × <not recorded>"`: the biggest groups on one line, for error messages. */
export function summarizeOpenSites(handles: readonly OpenHandle[], top = 3): string {
  const groups = groupByOpenSite(handles);
  const parts = groups
    .slice(0, top)
    .map((g) => `${g.handles.length} × ${g.site ?? `<site not recorded> e.g. ${g.handles[0]?.path ?? '?'}`}`);
  if (groups.length > top) parts.push(`… ${groups.length - top} more sites`);
  return parts.join('; ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `850 ms`, `12.3 s`, `4.2 min`. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
