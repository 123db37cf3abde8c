import type { Command } from 'commander';
import { DEMO_ROWS, UnknownTrapError, findRow, runDemo } from '../demo/index.js';
import { renderJson, renderTable } from '../demo/render.js';
import { colors, shouldColor } from '../output/color.js';
import { escapeText } from '../../diagnostics/terminal-text.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE } from '../output/exit-codes.js';
import type { ProgramIo } from '../output/io.js';

interface DemoOptions {
  json?: boolean;
  only?: string;
}

/** `fdkeeper demo [--json] [--only <trap>]`: the file-descriptor traps, live. */
export function registerDemoCommand(program: Command, io: ProgramIo, exit: (code: number) => void): void {
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
}

async function demo(options: DemoOptions, io: ProgramIo): Promise<number> {
  if (options.only !== undefined && findRow(options.only) === undefined) {
    io.stderr(`fdkeeper demo: ${escapeText(new UnknownTrapError(options.only).message)}\n`);
    return EXIT_USAGE;
  }
  const { dir, rows } = await runDemo({ only: options.only });
  if (options.json === true) io.stdout(renderJson(rows));
  else
    io.stdout(
      renderTable(rows, {
        dir,
        width: io.isTTY ? io.columns : undefined,
        colors: colors(shouldColor({ isTTY: io.isTTY })),
      }),
    );
  return rows.every((r) => r.pass) ? EXIT_OK : EXIT_FAIL;
}
