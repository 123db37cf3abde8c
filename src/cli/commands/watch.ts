import { InvalidArgumentError, Option, type Command } from 'commander';
import { inspectProcess, type ProcessInspection } from '../proc/inspect-process.js';
import { procProblem } from '../proc/proc-error.js';
import { colors, shouldColor } from '../output/color.js';
import { durationParser } from '../output/duration.js';
import { EXIT_ALARM, EXIT_OK, EXIT_USAGE } from '../output/exit-codes.js';
import { fitGrowth, secondsToLimit } from '../output/growth.js';
import type { ProgramIo } from '../output/io.js';
import { formatJsonLine } from '../output/json.js';
import { LiveRegion } from '../output/live-region.js';
import { parsePid } from '../output/pid-argument.js';
import { reportProcFailure } from '../output/proc-failure.js';
import {
  renderFrame,
  renderSampleLine,
  renderSummary,
  type StopReason,
  type WatchSample,
  type WatchSummary,
} from '../output/watch-render.js';

/** `--threshold`: a number of descriptors, or a percentage of the soft limit. */
type Threshold = { count: number } | { percent: number };

interface WatchOptions {
  interval: number;
  window: number;
  duration?: number;
  count?: number;
  threshold?: Threshold;
  json?: boolean;
}

function positiveInteger(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new InvalidArgumentError(`'${text}' is not a positive integer`);
  return Number(text);
}

function parseThreshold(text: string): Threshold {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct !== null && Number(pct[1]) > 0 && Number(pct[1]) <= 100) return { percent: Number(pct[1]) };
  if (/^[1-9]\d*$/.test(text)) return { count: Number(text) };
  throw new InvalidArgumentError(
    `'${text}' is not a threshold (a descriptor count such as 500, or a percentage of the soft limit such as 80%)`,
  );
}

/** `fdkeeper watch <pid>`: sample the descriptor count, chart it live, alarm on a threshold. */
export function registerWatchCommand(program: Command, io: ProgramIo, exit: (code: number) => void): void {
  program
    .command('watch')
    .description("Sample a process's descriptor count and kinds, chart it live, report growth and time to the limit")
    .argument('<pid>', 'the process to watch', parsePid)
    .addOption(
      new Option('--interval <duration>', 'time between samples (500ms, 2s, 1m)')
        .argParser(durationParser('--interval'))
        .default(1000, '1s'),
    )
    .addOption(
      new Option('--window <duration>', 'how far back the live growth rate looks')
        .argParser(durationParser('--window'))
        .default(60_000, '1m'),
    )
    .option('--duration <duration>', 'stop after this long', durationParser('--duration'))
    .option('--count <n>', 'stop after this many samples', positiveInteger)
    .option(
      '--threshold <n|p%>',
      'alarm: stop with exit code 3 as soon as the count reaches n (or p% of the soft limit)',
      parseThreshold,
    )
    .option('--json', 'one JSON object per sample (NDJSON), then a summary object')
    .addHelpText(
      'after',
      `
On a terminal the chart is redrawn in place; into a pipe or file, one line per sample. The growth
rate is a least-squares fit over the window (the summary: over the whole watch), and the time to the
limit assumes it continues. Stops on Ctrl-C (SIGINT) or SIGTERM, when the process exits, after
--duration or --count, or when --threshold is reached; the summary is printed in every case.

Exit codes: 0 stopped normally; 3 threshold crossed; 2 bad usage; 4 no such process; 5 permission
denied; 6 no /proc (not Linux).

Examples:
  $ fdkeeper watch 4242
  $ fdkeeper watch 4242 --interval 250ms --duration 1m
  $ fdkeeper watch $(pgrep -n node) --threshold 80% --duration 10m   # CI / monitoring alarm
  $ fdkeeper watch 4242 --json --count 10 | jq 'select(.type == "summary")'`,
    )
    .action(async (pid: number, options: WatchOptions) => {
      exit(await watch(pid, options, io));
    });
}

/** Resolves after `ms`, or at once when `wake` is called (a signal arrived). */
function sleep(ms: number, setWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    setWake(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function watch(pid: number, options: WatchOptions, io: ProgramIo): Promise<number> {
  const c = colors(shouldColor({ isTTY: io.isTTY }));
  const json = options.json === true;
  const region = io.isTTY && !json ? new LiveRegion(io.stdout, io.columns ?? 80) : undefined;
  const samples: WatchSample[] = [];
  let first: ProcessInspection | undefined;
  let threshold: number | null = null;
  let crossedAt: WatchSummary['crossedAt'] = null;
  let reason: StopReason | undefined;
  let wake: (() => void) | undefined;
  const stop = (why: StopReason): void => {
    reason ??= why;
    wake?.();
  };
  // A signal sets `reason` while the loop sleeps, which the type checker cannot see.
  const stopped = (): boolean => reason !== undefined;
  const onSignal = (): void => {
    stop('interrupted');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const start = Date.now();
  try {
    for (let i = 0; ; i++) {
      let snap: ProcessInspection;
      try {
        snap = inspectProcess(pid, { details: false });
      } catch (e) {
        if (first !== undefined && procProblem(e) === 'no-such-process') {
          stop('exited');
          break;
        }
        const code = reportProcFailure('watch', pid, e, io);
        if (code === undefined) throw e;
        return code;
      }
      if (first === undefined) {
        first = snap;
        if (options.threshold !== undefined) {
          if ('count' in options.threshold) threshold = options.threshold.count;
          else if (snap.limit?.soft == null) {
            io.stderr(
              `fdkeeper watch: --threshold ${options.threshold.percent}% needs a soft limit, and pid ${pid} has none (unlimited); give a count instead\n`,
            );
            return EXIT_USAGE;
          } else threshold = Math.ceil((snap.limit.soft * options.threshold.percent) / 100);
        }
      }
      const now = Date.now();
      const windowed = fitGrowth(
        [...samples, { timeMs: now, count: snap.count }].filter((s) => s.timeMs >= now - options.window),
      );
      const sample: WatchSample = {
        type: 'sample',
        time: new Date(now).toISOString(),
        timeMs: now,
        elapsedMs: now - start,
        count: snap.count,
        byKind: snap.byKind,
        limit: snap.limit,
        growthPerMinute: windowed === undefined ? null : round(windowed.perMinute),
        secondsToLimit: round(secondsToLimit(snap.count, snap.limit?.soft ?? null, windowed?.perMinute)) ?? null,
      };
      samples.push(sample);
      if (json) io.stdout(formatJsonLine(sample));
      else if (region !== undefined)
        region.draw(
          renderFrame(
            samples,
            {
              pid,
              command: first.command,
              intervalMs: options.interval,
              windowMs: options.window,
              threshold,
              width: io.columns ?? 80,
            },
            c,
          ),
        );
      else io.stdout(renderSampleLine(sample));

      if (threshold !== null && sample.count >= threshold) {
        crossedAt = { time: sample.time, count: sample.count, sample: samples.length };
        stop('threshold');
      }
      if (options.count !== undefined && samples.length >= options.count) stop('count');
      const next = start + (i + 1) * options.interval;
      if (options.duration !== undefined && next - start > options.duration) stop('duration');
      if (reason !== undefined) break;
      await sleep(next - Date.now(), (w) => (wake = w));
      if (stopped()) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    region?.done();
  }

  const counts = samples.map((s) => s.count);
  const whole = fitGrowth(samples);
  const last = samples[samples.length - 1];
  const exitCode = crossedAt === null ? EXIT_OK : EXIT_ALARM;
  const summary: WatchSummary = {
    type: 'summary',
    pid,
    command: first.command,
    reason: reason ?? 'interrupted',
    samples: samples.length,
    durationMs: last === undefined ? 0 : last.elapsedMs,
    first: samples[0]?.count ?? null,
    last: last?.count ?? null,
    min: counts.length === 0 ? null : Math.min(...counts),
    max: counts.length === 0 ? null : Math.max(...counts),
    growthPerMinute: whole === undefined ? null : round(whole.perMinute),
    r2: whole === undefined ? null : round(whole.r2),
    secondsToLimit:
      last === undefined
        ? null
        : (round(secondsToLimit(last.count, last.limit?.soft ?? null, whole?.perMinute)) ?? null),
    limit: last?.limit ?? null,
    byKind: { first: samples[0]?.byKind ?? null, last: last?.byKind ?? null },
    threshold,
    crossedAt,
    exitCode,
  };
  if (json) io.stdout(formatJsonLine(summary));
  else {
    // A blank line after the samples; on a terminal it also keeps the summary off the line where the
    // terminal echoed ^C.
    io.stdout('\n' + renderSummary(summary, c));
  }
  return exitCode;
}

function round(n: number): number;
function round(n: number | undefined): number | undefined;
function round(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Math.round(n * 100) / 100;
}
