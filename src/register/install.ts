import { isMainThread } from 'node:worker_threads';
import { trackNodeFs, type NodeFsTracker } from './node-fs-tracker.js';
import { REPORT_ENV, parseReportForm, type ReportForm } from './report-form.js';
import { startReporter, type Reporter } from './reporter.js';

/** What {@link installRegisterHook} set up. */
export interface RegisterHook {
  readonly tracker: NodeFsTracker;
  readonly reporter: Reporter;
  readonly form: ReportForm;
}

const HOOK_KEY = Symbol.for('fdkeeper.registerHook');

/**
 * What `node --import fdkeeper/register` runs: tracks node:fs and reports in the form
 * `FDKEEPER_REPORT` chooses. Installing twice (the hook imported under two URLs) keeps the first.
 * Worker threads are skipped: each has its own node:fs, and signals belong to the main thread.
 * Returns undefined when nothing was installed.
 */
export function installRegisterHook(env: NodeJS.ProcessEnv = process.env): RegisterHook | undefined {
  if (!isMainThread) return undefined;
  const g = globalThis as Record<symbol, unknown>;
  const existing = g[HOOK_KEY] as RegisterHook | undefined;
  if (existing !== undefined) return existing;
  const { form, warning } = parseReportForm(env[REPORT_ENV]);
  if (warning !== undefined) process.stderr.write(warning);
  const tracker = trackNodeFs({ series: form.kind === 'html' });
  const hook: RegisterHook = { tracker, reporter: startReporter(tracker, form), form };
  g[HOOK_KEY] = hook;
  return hook;
}
