import { FD_KINDS, type FdKind } from '../proc/fd-entry.js';
import type { OpenFilesLimit } from '../proc/limits.js';
import type { Colors } from './color.js';
import { formatDuration } from './duration.js';
import { escapeText } from '../../diagnostics/terminal-text.js';
import { plural } from './plural.js';
import { fitGrowth, type Growth } from './growth.js';
import { bar, sparkline } from './sparkline.js';

/** One sample of `fdkeeper watch` (an NDJSON line with `"type": "sample"`). */
export interface WatchSample {
  readonly type: 'sample';
  readonly time: string;
  readonly timeMs: number;
  readonly elapsedMs: number;
  readonly count: number;
  readonly byKind: Readonly<Record<FdKind, number>>;
  readonly limit: OpenFilesLimit | null;
  /** Growth over the regression window, descriptors per minute; null until two samples. */
  readonly growthPerMinute: number | null;
  /** Seconds until the soft limit at that rate; null when not growing or unlimited. */
  readonly secondsToLimit: number | null;
}

/** Why a watch ended (`reason` of the summary). */
export type StopReason = 'interrupted' | 'exited' | 'duration' | 'count' | 'threshold';

/** The summary a watch prints when it ends (the last NDJSON line, `"type": "summary"`). */
export interface WatchSummary {
  readonly type: 'summary';
  readonly pid: number;
  readonly command: string | null;
  readonly reason: StopReason;
  readonly samples: number;
  readonly durationMs: number;
  readonly first: number | null;
  readonly last: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Growth over the whole watch (regression over every sample), per minute; null under two samples. */
  readonly growthPerMinute: number | null;
  readonly r2: number | null;
  readonly secondsToLimit: number | null;
  readonly limit: OpenFilesLimit | null;
  readonly byKind: {
    readonly first: Readonly<Record<FdKind, number>> | null;
    readonly last: Readonly<Record<FdKind, number>> | null;
  };
  readonly threshold: number | null;
  /** The first sample at or over the threshold, or null. */
  readonly crossedAt: { readonly time: string; readonly count: number; readonly sample: number } | null;
  readonly exitCode: number;
}

const signed = (n: number): string =>
  `${n > 0 ? '+' : n < 0 ? '−' : '±'}${Math.abs(n) >= 10 ? Math.abs(n).toFixed(0) : Math.abs(n).toFixed(1)}`;

function growthText(g: Growth | undefined, c: Colors): string {
  if (g === undefined) return c.dim('measuring…');
  const text = `${signed(g.perMinute)} fds/min`;
  return g.perMinute > 0.5 ? c.red(text) : g.perMinute < -0.5 ? c.green(text) : text;
}

function etaText(seconds: number | undefined | null, soft: number | null): string {
  if (soft === null) return 'no soft limit';
  if (seconds === undefined || seconds === null) return 'not growing toward the limit';
  return `soft limit (${soft}) in ~${formatDuration(seconds * 1000)}`;
}

/** Options of the live frame. */
export interface FrameInfo {
  pid: number;
  command: string | null;
  intervalMs: number;
  windowMs: number;
  threshold: number | null;
  width: number;
}

/** The live terminal frame: header, sparkline of the count, limit and growth, a bar per kind. */
export function renderFrame(samples: readonly WatchSample[], info: FrameInfo, c: Colors): string[] {
  const last = samples[samples.length - 1];
  if (last === undefined) return [];
  const width = Math.max(40, info.width) - 1;
  const counts = samples.map((s) => s.count);
  const lines: string[] = [];
  lines.push(
    c.bold(`fdkeeper watch ${info.pid}`) +
      c.dim(
        ` (${escapeText(info.command ?? '?')}) · every ${formatDuration(info.intervalMs)} · ${plural(samples.length, 'sample')} over ${formatDuration(last.elapsedMs)} · Ctrl-C to stop`,
      ),
  );
  const label = `open ${String(last.count).padStart(6)} `;
  const stats = `  min ${Math.min(...counts)} · max ${Math.max(...counts)}`;
  const sparkWidth = Math.max(8, width - label.length - stats.length);
  lines.push(c.bold(label) + c.cyan(sparkline(counts, sparkWidth)) + c.dim(stats));
  const soft = last.limit?.soft ?? null;
  const pct = soft === null || soft === 0 ? undefined : (last.count / soft) * 100;
  const limitText =
    last.limit === null
      ? 'limit unknown'
      : `${pct === undefined ? 'unlimited' : `${pct.toFixed(1)}% of ${soft}`} (hard ${last.limit.hard ?? 'unlimited'})`;
  const paintPct =
    pct === undefined ? (s: string) => s : pct >= 90 ? (s: string) => c.bold(c.red(s)) : pct >= 70 ? c.yellow : c.green;
  const thresholdText =
    info.threshold === null
      ? ''
      : `   threshold ${info.threshold}${last.count >= info.threshold ? c.bold(c.red(' CROSSED')) : ''}`;
  lines.push(`limit ${paintPct(limitText)}${thresholdText}`);
  const windowed = fitGrowth(samples.filter((s) => s.timeMs >= last.timeMs - info.windowMs));
  lines.push(
    `growth ${growthText(windowed, c)}${windowed === undefined ? '' : c.dim(` (r² ${windowed.r2.toFixed(2)}, last ${formatDuration(Math.min(info.windowMs, last.elapsedMs))})`)} · ${etaText(last.secondsToLimit, soft)}`,
  );
  const maxKind = Math.max(1, ...FD_KINDS.map((k) => last.byKind[k]));
  const barWidth = Math.max(10, Math.min(50, width - 20));
  for (const k of FD_KINDS) {
    const n = last.byKind[k];
    if (n === 0 && samples.every((s) => s.byKind[k] === 0)) continue;
    lines.push(`  ${k.padEnd(10)} ${String(n).padStart(6)} ${c.cyan(bar(n, maxKind, barWidth))}`);
  }
  return lines;
}

/** One plain line per sample (not a terminal: a log file or a pipe). */
export function renderSampleLine(s: WatchSample): string {
  const kinds = FD_KINDS.filter((k) => s.byKind[k] > 0)
    .map((k) => `${k}=${s.byKind[k]}`)
    .join(' ');
  const growth = s.growthPerMinute === null ? '' : ` growth=${s.growthPerMinute.toFixed(1)}/min`;
  const eta = s.secondsToLimit === null ? '' : ` limit_in=${formatDuration(s.secondsToLimit * 1000)}`;
  return `${s.time} fds=${s.count} ${kinds}${growth}${eta}\n`;
}

const REASONS: Readonly<Record<StopReason, string>> = {
  interrupted: 'interrupted',
  exited: 'the process exited',
  duration: 'duration reached',
  count: 'sample count reached',
  threshold: 'THRESHOLD CROSSED',
};

/** The summary as text. */
export function renderSummary(s: WatchSummary, c: Colors): string {
  const out: string[] = [];
  out.push(c.bold(`fdkeeper watch: pid ${s.pid} (${escapeText(s.command ?? '?')}), stopped: ${REASONS[s.reason]}`));
  if (s.samples === 0 || s.first === null || s.last === null) return out.join('\n') + '\n';
  out.push(
    `  ${plural(s.samples, 'sample')} over ${formatDuration(s.durationMs)}: ${s.first} → ${s.last} open (${s.last - s.first > 0 ? '+' : ''}${s.last - s.first}), min ${s.min ?? '?'}, max ${s.max ?? '?'}`,
  );
  if (s.growthPerMinute !== null) {
    const g = { perMinute: s.growthPerMinute, r2: s.r2 ?? 0 };
    out.push(
      `  growth ${growthText(g, c)} (r² ${g.r2.toFixed(2)}); ${etaText(s.secondsToLimit, s.limit?.soft ?? null)}`,
    );
  }
  const first = s.byKind.first;
  const last = s.byKind.last;
  if (first !== null && last !== null) {
    const kinds = FD_KINDS.filter((k) => first[k] > 0 || last[k] > 0).map((k) => `${k} ${first[k]}→${last[k]}`);
    out.push(`  by kind: ${kinds.join(', ')}`);
  }
  if (s.threshold !== null) {
    out.push(
      s.crossedAt === null
        ? `  threshold ${s.threshold}: not crossed`
        : c.bold(
            c.red(
              `  threshold ${s.threshold} crossed at ${s.crossedAt.time} (sample ${s.crossedAt.sample}: ${s.crossedAt.count} open)`,
            ),
          ),
    );
  }
  return out.join('\n') + '\n';
}
