import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../package-root.js';
import { appendPlus } from './append-plus.js';
import { closedBehindBack } from './closed-behind-back.js';
import { crashState } from './crash-state.js';
import { dupOffset } from './dup-offset.js';
import { emfileBudget } from './emfile-budget.js';
import { finalizerLeak } from './finalizer-leak.js';
import { logReplaced } from './log-replaced.js';
import { tornWrite } from './torn-write.js';
import { NOT_REACHED, failedSide, type DemoContext, type DemoRow, type RowResult } from './types.js';

export type { DemoContext, DemoRow, RowOutcome, RowResult, SideResult } from './types.js';

/** Every row of `fdkeeper demo`, in the order they run and print. */
export const DEMO_ROWS: readonly DemoRow[] = [
  closedBehindBack,
  finalizerLeak,
  dupOffset,
  appendPlus,
  emfileBudget,
  logReplaced,
  tornWrite,
  crashState,
];

/** The row with id `id`, if any. */
export function findRow(id: string): DemoRow | undefined {
  return DEMO_ROWS.find((r) => r.id === id);
}

export { PACKAGE_ROOT };

/**
 * The `file:` URL of the built library (`<root>/dist/index.js`) that the rows' child processes import.
 * Throws when it has not been built.
 */
export function builtLibraryUrl(): string {
  const path = join(PACKAGE_ROOT, 'dist', 'index.js');
  if (!existsSync(path))
    throw new Error(`fdkeeper demo: the built library is missing (${path}); run \`npm run build\` first`);
  return pathToFileURL(path).href;
}

/** A fresh temporary directory (its real path, so stack traces and messages name the same paths). */
export function makeTempDir(prefix = 'fdkeeper-demo-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** Options of {@link runDemo}. */
export interface RunDemoOptions {
  /** Run only the row with this id. */
  only?: string;
  /** The rows to choose from (default {@link DEMO_ROWS}). */
  rows?: readonly DemoRow[];
  /** Override the library URL the child processes import (default {@link builtLibraryUrl}). */
  fdkeeperUrl?: string;
  /** Called as each row finishes. */
  onRow?: (row: RowResult) => void;
}

/** What {@link runDemo} returns. */
export interface DemoRun {
  /** The temporary directory the rows ran in (already removed). */
  readonly dir: string;
  readonly rows: RowResult[];
}

/** Thrown by {@link runDemo} for an `only` that names no row. */
export class UnknownTrapError extends Error {
  constructor(readonly id: string) {
    super(`unknown trap '${id}'; the traps are: ${DEMO_ROWS.map((r) => r.id).join(', ')}`);
    this.name = 'UnknownTrapError';
  }
}

/**
 * Runs the demo rows in a fresh temporary directory, which is removed afterwards. A row that throws
 * instead of reporting is shown as failed, with the error as its evidence.
 */
export async function runDemo(options: RunDemoOptions = {}): Promise<DemoRun> {
  let rows = options.rows ?? DEMO_ROWS;
  if (options.only !== undefined) {
    const row = rows.find((r) => r.id === options.only);
    if (row === undefined) throw new UnknownTrapError(options.only);
    rows = [row];
  }
  const fdkeeperUrl = options.fdkeeperUrl ?? builtLibraryUrl();
  const root = makeTempDir();
  const results: RowResult[] = [];
  try {
    for (const row of rows) {
      const dir = join(root, row.id);
      mkdirSync(dir);
      const ctx: DemoContext = { dir, fdkeeperUrl, node: process.execPath };
      let result: RowResult;
      try {
        result = { trap: row.id, title: row.title, ...(await row.run(ctx)) };
      } catch (e) {
        result = { trap: row.id, title: row.title, plain: NOT_REACHED, fdkeeper: failedSide(e), pass: false };
      }
      results.push(result);
      options.onRow?.(result);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { dir: root, rows: results };
}
