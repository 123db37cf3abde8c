import type { Command } from 'commander';
import { inspectProcess } from '../proc/inspect-process.js';
import { colors, shouldColor } from '../output/color.js';
import { EXIT_OK } from '../output/exit-codes.js';
import { renderInspection } from '../output/inspect-table.js';
import type { ProgramIo } from '../output/io.js';
import { formatJson } from '../output/json.js';
import { parsePid } from '../output/pid-argument.js';
import { reportProcFailure } from '../output/proc-failure.js';

interface InspectOptions {
  json?: boolean;
}

/** `fdkeeper inspect <pid> [--json]`: every descriptor of a process, from /proc. */
export function registerInspectCommand(program: Command, io: ProgramIo, exit: (code: number) => void): void {
  program
    .command('inspect')
    .description(
      "List a process's open file descriptors (Linux /proc): kind, target, offset, flags, deleted-but-open files, limits",
    )
    .argument('<pid>', 'the process to inspect', parsePid)
    .option('--json', 'print one JSON object (schema: docs/inspect.schema.json)')
    .addHelpText(
      'after',
      `
Reads /proc/PID/fd, fdinfo, limits and the socket tables; nothing is changed in the process.
Another user's process needs root (or that user). Linux only: on macOS use \`lsof -p PID\`.

Exit codes: 0 listed; 2 bad pid; 4 no such process; 5 permission denied; 6 no /proc (not Linux).

Examples:
  $ fdkeeper inspect 4242
  $ fdkeeper inspect $(pgrep -n node)
  $ fdkeeper inspect 4242 --json | jq '.deleted'
  $ fdkeeper inspect 4242 --json | jq '.fds[] | select(.kind == "socket") | .detail'`,
    )
    .action((pid: number, options: InspectOptions) => {
      exit(inspect(pid, options, io));
    });
}

function inspect(pid: number, options: InspectOptions, io: ProgramIo): number {
  try {
    const result = inspectProcess(pid);
    io.stdout(
      options.json === true ? formatJson(result) : renderInspection(result, colors(shouldColor({ isTTY: io.isTTY }))),
    );
    return EXIT_OK;
  } catch (e) {
    const code = reportProcFailure('inspect', pid, e, io);
    if (code === undefined) throw e;
    return code;
  }
}
