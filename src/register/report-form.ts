import { resolve } from 'node:path';

/**
 * How `fdkeeper/register` reports, from `FDKEEPER_REPORT`:
 *
 * - `exit` (default): the human leak report on stderr at exit (and on a plain SIGUSR2).
 * - `json`: the same report as one line of JSON on stderr.
 * - `html:<file>`: a self-contained HTML page (charts of open descriptors over time and per open
 *   site) written to `<file>`, plus one line on stderr naming it.
 * - `off`: nothing printed; tracking stays on, so `fdkeeper report <pid>` still answers.
 */
export type ReportForm =
  | { readonly kind: 'exit' }
  | { readonly kind: 'json' }
  | { readonly kind: 'off' }
  | { readonly kind: 'html'; readonly file: string };

/** What {@link parseReportForm} returns: the form, and a warning when the value was not understood. */
export interface ParsedReportForm {
  readonly form: ReportForm;
  readonly warning: string | undefined;
}

/** The variable {@link parseReportForm} reads. */
export const REPORT_ENV = 'FDKEEPER_REPORT';

/**
 * Parses an `FDKEEPER_REPORT` value. An unknown value falls back to `exit` with a warning rather than
 * failing: the hook runs inside someone else's app, which must start whatever the variable says.
 * A relative HTML path is resolved against `cwd` now, since the app may change directory before exit.
 */
export function parseReportForm(value: string | undefined, cwd: string = process.cwd()): ParsedReportForm {
  const v = value?.trim() ?? '';
  if (v === '' || v === 'exit') return { form: { kind: 'exit' }, warning: undefined };
  if (v === 'json' || v === 'off') return { form: { kind: v }, warning: undefined };
  if (v.startsWith('html:') && v.length > 'html:'.length)
    return { form: { kind: 'html', file: resolve(cwd, v.slice('html:'.length)) }, warning: undefined };
  return {
    form: { kind: 'exit' },
    warning: `fdkeeper: ${REPORT_ENV}=${JSON.stringify(value)} is not one of off, exit, json, html:<file>; using exit\n`,
  };
}
