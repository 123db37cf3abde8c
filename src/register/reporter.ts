import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, extname, join } from 'node:path';
import { renderHtmlReport } from './html-report.js';
import type { NodeFsTracker } from './node-fs-tracker.js';
import { buildReport, formatReportText, htmlWrittenLine, type ReportReason } from './report.js';
import {
  REQUEST_SIGNAL,
  closeChannel,
  openChannel,
  sweepStaleChannels,
  takeRequests,
  writeFileReplacing,
  writeResponse,
  type ReportChannel,
} from './report-channel.js';
import type { ReportForm } from './report-form.js';

/**
 * The signal that prints the report (in the `FDKEEPER_REPORT` form) and then does what it would have done
 * without the hook. `fdkeeper report` never sends it: it asks with {@link REQUEST_SIGNAL}.
 */
export const REPORT_SIGNAL = 'SIGUSR2';

/**
 * How `fdkeeper report` recognises a process running the hook: the hook keeps the hook's entry file open
 * (read-only, close-on-exec), so `/proc/PID/fd` shows a link to `…/dist/register.js` (`…/src/register.ts`
 * from the sources). The entry, not this module: in the built package this module's code is in a shared
 * chunk (dist/lib/chunk-….js, scripts/build.mjs) whose name says nothing. Unlike
 * a marker file it cannot go stale: it disappears with the process, and a reused pid does not have it.
 * A process that merely catches SIGUSR2 (for a graceful restart, a heap dump) is never signalled.
 */
export const BEACON_PATTERN = /[/\\](?:dist|src)[/\\]register\.[cm]?[jt]s$/;

/** How long after start-up the stale-channel sweep runs (start-up is the app's busy time). */
const SWEEP_DELAY_MS = 2000;

/** Options of {@link startReporter}. */
export interface ReporterOptions {
  /**
   * The `fdkeeper report` channel (default: a new one in the temp dir, see {@link openChannel}); null for
   * none. The reporter closes and removes it when it stops or the process exits.
   */
  readonly channel?: ReportChannel | null;
  /** Where text goes (default: process.stderr). */
  readonly write?: (text: string) => void;
}

/** A running reporter: {@link Reporter.stop} removes its exit hook and signal listener. */
export interface Reporter {
  stop(): void;
}

type Emit = (this: NodeJS.Process, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Reports what `tracker` has open: at exit and on SIGUSR2 in the chosen `form`, and as JSON in its
 * private channel when `fdkeeper report <pid>` asks (a request there, then {@link REQUEST_SIGNAL}).
 *
 * At exit it runs after every `'exit'` listener of the app (those may still close files), by wrapping
 * `process.emit` the way signal-exit's `alwaysLast` does; listeners run in registration order and the
 * hook registers first, so a plain listener would report too early.
 *
 * The SIGUSR2 listener is added next to any the app has, never instead of them. SIGUSR2 prints the
 * report and then does what it would have done without the hook: nothing more when the app listens for
 * it, and otherwise terminates the process by that signal (signal-exit's way: remove the listener, raise
 * it again). `fdkeeper report` asks with another signal, so every SIGUSR2 keeps that one meaning.
 */
export function startReporter(tracker: NodeFsTracker, form: ReportForm, options: ReporterOptions = {}): Reporter {
  const channel =
    options.channel === undefined ? tracker.untracked(() => openChannel()) : (options.channel ?? undefined);
  const write =
    options.write ??
    ((text: string): void => {
      process.stderr.write(text);
    });

  const report = (reason: ReportReason): void => {
    try {
      tracker.untracked(() => {
        switch (form.kind) {
          case 'off':
            return;
          case 'exit':
            write(formatReportText(tracker, reason));
            return;
          case 'json':
            write(JSON.stringify(buildReport(tracker, reason)) + '\n');
            return;
          case 'html': {
            const r = buildReport(tracker, reason, { series: true });
            try {
              // 0600 like every answer: the page names the app's arguments, directory and files.
              writeFileReplacing(form.file, renderHtmlReport(r));
            } catch (e) {
              // A page that cannot be written must not take the report with it: say why, then give
              // the text form on stderr, as FDKEEPER_REPORT=exit would have.
              write(
                `fdkeeper: could not write the HTML report to ${form.file}: ${e instanceof Error ? e.message : String(e)}; the report follows as text\n`,
              );
              write(formatReportText(tracker, reason));
              return;
            }
            write(htmlWrittenLine(form.file, r));
            return;
          }
        }
      });
    } catch (e) {
      // Never let the reporter break the app it watches: say what failed and carry on.
      write(`fdkeeper: could not report open descriptors: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };

  const onSignal = (): void => {
    report('signal');
    if (process.listenerCount(REPORT_SIGNAL) === 1) dieOfSignal();
  };

  // Requests are answered only from the channel, so a signal with nothing there (one whose CLI gave up
  // and took its request back, or a stray one) does nothing: its default action is to be ignored.
  const onRequest = (): void => {
    if (channel === undefined) return;
    try {
      tracker.untracked(() => {
        const tokens = takeRequests(channel);
        if (tokens.length === 0) return;
        const base = buildReport(tracker, 'request');
        for (const token of tokens) writeResponse(channel, token, JSON.stringify({ ...base, request: token }) + '\n');
      });
    } catch (e) {
      write(`fdkeeper: could not answer the report request: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };

  // A plain SIGUSR2 to an app with no listener of its own would have terminated it (nodemon restarts
  // apps this way): after the report, the default action is restored and the signal raised again, so
  // the app ends exactly as it would have.
  const dieOfSignal = (): void => {
    process.removeListener(REPORT_SIGNAL, onSignal);
    process.kill(process.pid, REPORT_SIGNAL);
  };

  let exited = false;
  let stopped = false;
  let channelClosed = false;
  const dropChannel = (): void => {
    if (channel === undefined || channelClosed) return;
    channelClosed = true;
    tracker.untracked(() => {
      closeChannel(channel);
    });
  };
  const originalEmit = Reflect.get(process, 'emit') as Emit;
  const emit: Emit = function (this: NodeJS.Process, event, ...args) {
    if (event !== 'exit' || exited || stopped) return Reflect.apply(originalEmit, this, [event, ...args]);
    exited = true;
    try {
      return Reflect.apply(originalEmit, this, [event, ...args]);
    } finally {
      report('exit');
      dropChannel();
    }
  };
  process.emit = emit as unknown as typeof process.emit;
  // Windows has no SIGUSR2: there only the exit report exists. The beacon is for /proc, so Linux only.
  if (process.platform !== 'win32') {
    process.on(REPORT_SIGNAL, onSignal);
    process.on(REQUEST_SIGNAL, onRequest);
  }
  const beacon = process.platform === 'linux' ? openBeacon(tracker) : undefined;
  // Channels of this user's processes that were killed: removed a little after start-up, in the background.
  if (channel !== undefined && options.channel === undefined)
    setTimeout(() => void sweepStaleChannels(), SWEEP_DELAY_MS).unref();

  return {
    stop(): void {
      stopped = true;
      process.removeListener(REPORT_SIGNAL, onSignal);
      process.removeListener(REQUEST_SIGNAL, onRequest);
      dropChannel();
      if (beacon !== undefined) closeSync(beacon);
      // Wrapped again by someone after us: ours stays in their chain, passing through.
      if ((process.emit as unknown) === emit) process.emit = originalEmit as unknown as typeof process.emit;
    },
  };
}

/** Opens the beacon (see {@link BEACON_PATTERN}); undefined when it cannot be opened (no report then). */
function openBeacon(tracker: NodeFsTracker): number | undefined {
  try {
    // This module is at <root>/register/reporter.{js,ts} in src/, and at depth 1 in dist/ too (dist/lib/).
    const self = fileURLToPath(import.meta.url);
    const entry = join(dirname(dirname(self)), `register${extname(self)}`);
    return tracker.untracked(() => openSync(entry, 'r'));
  } catch {
    return undefined;
  }
}
