import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCleanCommand } from './commands/clean.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerReportCommand } from './commands/report.js';
import { registerWatchCommand } from './commands/watch.js';
import { registerWriteCommand } from './commands/write.js';
import { escapeLines, escapeText } from '../diagnostics/terminal-text.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE } from './output/exit-codes.js';
import { processIo, type ProgramIo } from './output/io.js';

export * from './output/exit-codes.js';
export type { ProgramIo } from './output/io.js';

/** The package's version, from its package.json (`<root>/{src,dist}/cli/program.*` → `<root>/package.json`). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

/**
 * The `fdkeeper` command line. Each command lives in ./commands/<name>.ts and is added by one
 * `register<Name>Command` call below. Actions report their exit code through `exit`; commander's own
 * usage errors throw a CommanderError (see {@link main}).
 */
export function buildProgram(
  io: ProgramIo = processIo,
  exit: (code: number) => void = (code) => (process.exitCode = code),
): Command {
  const program = new Command();
  program
    .name('fdkeeper')
    .description(
      'Trustworthy file descriptors for Node.js: ownership, dup/dup2, leak reports with open sites, an fd budget.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run with --help for usage)')
    // Commander's errors quote the arguments given ('…' is not a process id, unknown option '…'):
    // escaped here, in one place, so no parser needs to (and nothing is escaped twice).
    .configureOutput({
      writeOut: io.stdout,
      writeErr: (text) => {
        io.stderr(escapeLines(text));
      },
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ fdkeeper demo                        run every trap, plain node:fs first, then fdkeeper
  $ fdkeeper demo --only dup-offset      run one trap
  $ fdkeeper demo --json                 the same rows as JSON
  $ fdkeeper inspect 4242                every descriptor of pid 4242 (Linux)
  $ fdkeeper watch 4242 --threshold 80%  chart its fd count; exit 3 at 80% of its limit
  $ jq . in.json | fdkeeper write out.json   replace out.json only when the input ended cleanly
  $ fdkeeper clean --dry-run ./data      what crashed writers left behind
  $ fdkeeper --version

Every command has --help with examples and --json for scripts. Colors only on a terminal, never
with NO_COLOR set. Exit codes (docs/cli.md): 0 ok, 1 failed, 2 bad usage, 3 watch threshold
crossed, 4 no such process, 5 permission denied, 6 no /proc (not Linux), 7 no report hook (report).`,
    );

  registerDemoCommand(program, io, exit);
  registerInspectCommand(program, io, exit);
  registerReportCommand(program, io, exit);
  registerWatchCommand(program, io, exit);
  registerWriteCommand(program, io, exit);
  registerCleanCommand(program, io, exit);
  return program;
}

/** Runs the program on `argv` (as in `process.argv`) and returns the exit code. */
export async function main(argv: readonly string[], io: ProgramIo = processIo): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    io.stderr(`fdkeeper: ${escapeText(e instanceof Error ? e.message : String(e))}\n`);
    return EXIT_FAIL;
  }
  return code;
}
