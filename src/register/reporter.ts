import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderHtmlReport } from './html-report.js';
import type { NodeFsTracker } from './node-fs-tracker.js';
import { buildReport, formatReportText, htmlWrittenLine, type ReportReason } from './report.js';
import { reportChannel, takeRequest, writeFileReplacing, type ReportChannel } from './report-channel.js';
import type { ReportForm } from './report-form.js';

/** The signal that asks the hook for a report. SIGUSR1 is Node's inspector; SIGUSR2 is free. */
export const REPORT_SIGNAL = 'SIGUSR2';

/**
 * How `fdkeeper report` recognises a process running the hook: the hook keeps this module's own file
 * open (read-only, close-on-exec), so `/proc/PID/fd` shows a link to `…/register/reporter.js`. Unlike
 * a marker file it cannot go stale: it disappears with the process, and a reused pid does not have it.
 * A process that merely catches SIGUSR2 (for a graceful restart, a heap dump) is never signalled.
 */
export const BEACON_PATTERN = /[/\\]register[/\\]reporter\.[cm]?[jt]s$/;

/** Options of {@link startReporter}. */
export interface ReporterOptions {
  /** Where the request/response files live (default: the temp dir). */
  readonly channel?: ReportChannel;
  /** Where text goes (default: process.stderr). */
  readonly write?: (text: string) => void;
}

/** A running reporter: {@link Reporter.stop} removes its exit hook and signal listener. */
export interface Reporter {
  stop(): void;
}

type Emit = (this: NodeJS.Process, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Reports what `tracker` has open: at exit and on a plain SIGUSR2 in the chosen `form`, and as JSON to
 * the response file when `fdkeeper report <pid>` asked (a request file is present).
 *
 * At exit it runs after every `'exit'` listener of the app (those may still close files), by wrapping
 * `process.emit` the way signal-exit's `alwaysLast` does; listeners run in registration order and the
 * hook registers first, so a plain listener would report too early.
 *
 * The SIGUSR2 listener is added next to any the app has, never instead of them. A plain SIGUSR2 (no
 * request file) prints the report and then does what it would have done without the hook: nothing more
 * when the app listens for it, and otherwise terminates the process by that signal (signal-exit's way:
 * remove the listener, raise it again). Only a `fdkeeper report` request is answered without that.
 */
export function startReporter(tracker: NodeFsTracker, form: ReportForm, options: ReporterOptions = {}): Reporter {
  const channel = options.channel ?? reportChannel(process.pid);
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
            writeFileReplacing(form.file, renderHtmlReport(r), 0o644);
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
    try {
      tracker.untracked(() => {
        const request = takeRequest(channel);
        if (request === undefined) {
          report('signal');
          if (process.listenerCount(REPORT_SIGNAL) === 1) dieOfSignal();
          return;
        }
        writeFileReplacing(channel.response, JSON.stringify(buildReport(tracker, 'request', { request: request.token })) + '\n');
      });
    } catch (e) {
      write(`fdkeeper: could not answer the report request: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };

  // A plain SIGUSR2 to an app with no listener of its own would have terminated it (nodemon restarts
  // apps this way): after the report, the default action is restored and the signal raised again, so
  // the app ends exactly as it would have. Only `fdkeeper report`'s request leaves it running.
  const dieOfSignal = (): void => {
    process.removeListener(REPORT_SIGNAL, onSignal);
    process.kill(process.pid, REPORT_SIGNAL);
  };

  let exited = false;
  let stopped = false;
  const originalEmit = Reflect.get(process, 'emit') as Emit;
  const emit: Emit = function (this: NodeJS.Process, event, ...args) {
    if (event !== 'exit' || exited || stopped) return Reflect.apply(originalEmit, this, [event, ...args]);
    exited = true;
    try {
      return Reflect.apply(originalEmit, this, [event, ...args]);
    } finally {
      report('exit');
    }
  };
  process.emit = emit as unknown as typeof process.emit;
  // Windows has no SIGUSR2: there only the exit report exists. The beacon is for /proc, so Linux only.
  if (process.platform !== 'win32') process.on(REPORT_SIGNAL, onSignal);
  const beacon = process.platform === 'linux' ? openBeacon(tracker) : undefined;

  return {
    stop(): void {
      stopped = true;
      process.removeListener(REPORT_SIGNAL, onSignal);
      if (beacon !== undefined) closeSync(beacon);
      // Wrapped again by someone after us: ours stays in their chain, passing through.
      if ((process.emit as unknown) === emit) process.emit = originalEmit as unknown as typeof process.emit;
    },
  };
}

/** Opens the beacon (see {@link BEACON_PATTERN}); undefined when it cannot be opened (no report then). */
function openBeacon(tracker: NodeFsTracker): number | undefined {
  try {
    return tracker.untracked(() => openSync(fileURLToPath(import.meta.url), 'r'));
  } catch {
    return undefined;
  }
}
