import { Option, type Command } from 'commander';
import { hasCode } from '../../errors/fs-error.js';
import type { RegisterReport } from '../../register/report.js';
import { requestReport } from '../../register/request-report.js';
import { colors, shouldColor, type Colors } from '../output/color.js';
import { durationParser, formatDuration } from '../output/duration.js';
import { escapeStack, escapeText } from '../../diagnostics/terminal-text.js';
import { EXIT_FAIL, EXIT_NO_PROCESS, EXIT_OK, EXIT_PERMISSION, EXIT_UNSUPPORTED } from '../output/exit-codes.js';
import type { ProgramIo } from '../output/io.js';
import { formatJson } from '../output/json.js';
import { parsePid } from '../output/pid-argument.js';
import { renderColumns } from '../output/table.js';

/** `report`: the process does not run fdkeeper/register (it does not catch SIGUSR2, or never answered). */
export const EXIT_NO_HOOK = 7;

/** The default `--timeout`. */
const DEFAULT_TIMEOUT_MS = 5000;

interface ReportOptions {
  json?: boolean;
  timeout: number;
  stacks?: boolean;
  force?: boolean;
}

/** `fdkeeper report <pid> [--json] [--timeout 5s] [--stacks] [--force]`: the register hook's report, on demand. */
export function registerReportCommand(program: Command, io: ProgramIo, exit: (code: number) => void): void {
  program
    .command('report')
    .description(
      'Ask a process running fdkeeper/register which descriptors it has open, grouped by the line that opened them',
    )
    .argument('<pid>', 'the process to ask (started with node --import fdkeeper/register)', parsePid)
    .option('--json', 'print the report as JSON (schema: "fdkeeper report" in docs/cli.md)')
    .addOption(
      new Option('--timeout <duration>', 'how long to wait for the answer')
        .argParser(durationParser('--timeout'))
        .default(DEFAULT_TIMEOUT_MS, formatDuration(DEFAULT_TIMEOUT_MS)),
    )
    .option('--stacks', "print each open site's stack under the table")
    .option(
      '--force',
      'ask without checking /proc for the hook (systems without /proc, e.g. macOS: the channel is then looked for in your temp dir)',
    )
    .addHelpText(
      'after',
      `
How: the hook keeps a private directory (mode 0700, random name) open in the process; this finds it
through /proc/<pid>/fd, puts a request in it, and sends SIGURG, a signal that is ignored by default and
so cannot terminate any process. The hook answers from its event loop; the answer is checked (a regular
file of the process's user), printed and removed. On a timeout the request is taken back. The process
keeps running; its SIGUSR2 handling is never touched. Only a process that /proc shows to run the hook
(it keeps its register/reporter.js and its channel open) is signalled.

Exit codes: 0 report printed; 2 bad usage; 4 no such process; 5 not permitted to signal it, or its
channel or answer is not its user's;
6 no /proc to check it (use --force); 7 it does not run fdkeeper/register or did not answer in time;
1 its answer was not a report.

Examples:
  $ node --import fdkeeper/register server.js &
  $ fdkeeper report $!
  $ fdkeeper report 4242 --stacks
  $ fdkeeper report 4242 --json | jq '.sites[] | {site, count}'
  $ fdkeeper report 4242 --timeout 30s      a busy event loop answers late`,
    )
    .action(async (pid: number, options: ReportOptions) => {
      exit(await report(pid, options, io));
    });
}

async function report(pid: number, options: ReportOptions, io: ProgramIo): Promise<number> {
  let result: RegisterReport;
  try {
    result = await requestReport(pid, { timeoutMs: options.timeout, force: options.force === true });
  } catch (e) {
    const code = exitCodeFor(e);
    if (code === undefined) throw e;
    io.stderr(`fdkeeper report: ${escapeText((e as { detail?: string }).detail ?? (e as Error).message)}\n`);
    return code;
  }
  io.stdout(
    options.json === true
      ? formatJson(result)
      : renderReport(result, { stacks: options.stacks === true, colors: colors(shouldColor({ isTTY: io.isTTY })) }),
  );
  return EXIT_OK;
}

function exitCodeFor(e: unknown): number | undefined {
  if (hasCode(e, 'ESRCH')) return EXIT_NO_PROCESS;
  if (hasCode(e, 'EPERM') || hasCode(e, 'EACCES')) return EXIT_PERMISSION;
  if (hasCode(e, 'ENOSYS')) return EXIT_UNSUPPORTED;
  if (hasCode(e, 'ENOTSUP') || hasCode(e, 'ETIMEDOUT')) return EXIT_NO_HOOK;
  if (hasCode(e, 'EBUSY') || hasCode(e, 'EINVAL')) return EXIT_FAIL;
  return undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Options of {@link renderReport}. */
export interface RenderReportOptions {
  /** Print each site's stack under the table. */
  readonly stacks?: boolean;
  readonly colors?: Colors;
}

/**
 * The report as a table: one row per open site (count, oldest, site, sample paths), the biggest first,
 * under a line saying what the process is and how many it opened and closed.
 */
export function renderReport(r: RegisterReport, options: RenderReportOptions = {}): string {
  const c = options.colors ?? colors(false);
  const command = r.argv.slice(1).map(escapeText).join(' ');
  const lines: string[] = [];
  const head = `pid ${r.pid} (${command}), running ${formatDuration(r.uptimeMs)}: ${r.opened} opened through node:fs, ${r.closed} closed`;
  if (r.open === 0) {
    lines.push(head, c.green('no descriptor opened through node:fs is open'));
  } else {
    lines.push(
      head,
      c.bold(`${c.red(plural(r.open, 'descriptor'))} still open, from ${plural(r.sites.length, 'open site')}`),
      '',
    );
    const rows = r.sites.map((s) => {
      const shown = s.samplePaths.slice(0, 2).map(escapeText).join(', ');
      const more = s.count - Math.min(2, s.samplePaths.length);
      return [
        { text: String(s.count), paint: c.red },
        formatDuration(s.oldestAgeMs),
        escapeText(s.site ?? '<unknown site>'),
        more > 0 ? `${shown}, … ${more} more` : shown,
      ];
    });
    lines.push(
      ...renderColumns(
        [
          { header: 'OPEN', align: 'right' },
          { header: 'OLDEST', align: 'right' },
          { header: 'OPEN SITE' },
          { header: 'SAMPLE PATHS' },
        ],
        rows,
        { header: c.bold, rule: c.dim },
      ),
    );
    if (options.stacks === true) {
      for (const s of r.sites)
        lines.push(
          '',
          `${s.count} × ${escapeText(s.site ?? '<unknown site>')}`,
          c.dim(s.stack === '' ? '    (no stack)' : escapeStack(s.stack)),
        );
    }
  }
  if (r.gcClosed > 0) {
    lines.push(
      '',
      c.yellow(
        `${plural(r.gcClosed, 'FileHandle')} never closed by the app ${r.gcClosed === 1 ? 'was' : 'were'} closed by the garbage collector:`,
      ),
    );
    for (const g of r.reclaimed.slice(0, 5)) lines.push(`  ${g.count} × ${escapeText(g.site ?? '<unknown site>')}`);
  }
  if (r.closedElsewhere > 0)
    lines.push(
      '',
      c.dim(
        `${plural(r.closedElsewhere, 'descriptor')} recorded open had been closed outside node:fs and were dropped`,
      ),
    );
  return lines.join('\n') + '\n';
}
