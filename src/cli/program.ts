import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DEMO_ROWS, UnknownTrapError, findRow, runDemo } from './demo/index.js';
import { colors, renderJson, renderTable, shouldColor } from './demo/render.js';

/** Exit codes: every row passed / a row failed / bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** The package's version, from its package.json (`<root>/{src,dist}/cli/program.*` → `<root>/package.json`). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

/** Where the program writes; replaceable for tests. */
export interface ProgramIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stdout is a terminal (colors and table width). */
  isTTY: boolean;
  /** Terminal width, when known. */
  columns: number | undefined;
}

const processIo: ProgramIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: process.stdout.isTTY,
  columns: process.stdout.columns,
};

interface DemoOptions {
  json?: boolean;
  only?: string;
}

/**
 * The `fdkeeper` command line. Actions report their exit code through `exit`; commander's own usage
 * errors throw a CommanderError (see {@link main}).
 */
export function buildProgram(io: ProgramIo = processIo, exit: (code: number) => void = (code) => (process.exitCode = code)): Command {
  const program = new Command();
  program
    .name('fdkeeper')
    .description('Trustworthy file descriptors for Node.js: ownership, dup/dup2, leak reports with open sites, an fd budget.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ fdkeeper demo                        run every trap, plain node:fs first, then fdkeeper
  $ fdkeeper demo --only dup-offset      run one trap
  $ fdkeeper demo --json                 the same rows as JSON
  $ fdkeeper --version`,
    );

  program
    .command('demo')
    .description('Reproduce the file-descriptor traps live with plain node:fs, then show what fdkeeper does instead')
    .option('--json', 'print the rows as JSON instead of a table')
    .option('--only <trap>', `run one trap: ${DEMO_ROWS.map((r) => r.id).join(', ')}`)
    .addHelpText(
      'after',
      `
Each row runs in a fresh temporary directory (removed afterwards); every cell is computed from what
actually happened. Exit code: 0 when every row passes, 1 when one fails, 2 for an unknown trap.

Traps:
${DEMO_ROWS.map((r) => `  ${r.id.padEnd(20)} ${r.title}`).join('\n')}

Examples:
  $ fdkeeper demo
  $ fdkeeper demo --only closed-behind-back
  $ fdkeeper demo --json | jq '.[] | {trap, pass}'
  $ NO_COLOR=1 fdkeeper demo > demo.txt`,
    )
    .action(async (options: DemoOptions) => {
      exit(await demo(options, io));
    });
  return program;
}

async function demo(options: DemoOptions, io: ProgramIo): Promise<number> {
  if (options.only !== undefined && findRow(options.only) === undefined) {
    io.stderr(`fdkeeper demo: ${new UnknownTrapError(options.only).message}\n`);
    return EXIT_USAGE;
  }
  const { dir, rows } = await runDemo({ only: options.only });
  if (options.json === true) io.stdout(renderJson(rows));
  else io.stdout(renderTable(rows, { dir, width: io.isTTY ? io.columns : undefined, colors: colors(shouldColor({ isTTY: io.isTTY })) }));
  return rows.every((r) => r.pass) ? EXIT_OK : EXIT_FAIL;
}

/** Runs the program on `argv` (as in `process.argv`) and returns the exit code. */
export async function main(argv: readonly string[], io: ProgramIo = processIo): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    io.stderr(`fdkeeper: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAIL;
  }
  return code;
}
