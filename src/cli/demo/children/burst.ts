/**
 * emfile-budget: what both burst children share — their arguments and the tally they report.
 *
 * @module
 */
import { inspect } from 'node:util';
import { childArgs, report } from './report.js';

/** The file to open and how many concurrent opens to start. */
export function burstArgs(): { path: string; count: number } {
  const [path, count] = childArgs(2) as [string, string];
  return { path, count: Number(count) };
}

/** Reports how `count` settled opens went: successes, failures by code, the first failure's message. */
export function tally(
  count: number,
  results: readonly PromiseSettledResult<unknown>[],
  started: number,
  extra: Record<string, unknown>,
): void {
  const codes: Record<string, number> = {};
  let firstError: string | null = null;
  for (const r of results) {
    if (r.status === 'fulfilled') continue;
    const reason = r.reason as { code?: unknown; message?: unknown } | undefined;
    const code = typeof reason?.code === 'string' ? reason.code : 'other';
    codes[code] = (codes[code] ?? 0) + 1;
    firstError ??= typeof reason?.message === 'string' ? reason.message : inspect(r.reason);
  }
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  report({ count, ok, codes, firstError, ms: performance.now() - started, ...extra });
}
