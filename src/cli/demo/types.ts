/** What one side of a demo row (plain node:fs, or fdkeeper) did: a short outcome and the evidence. */
export interface SideResult {
  /** One line for the table: what happened. */
  readonly outcome: string;
  /** The evidence, possibly several lines: file contents, error messages, leak report lines. */
  readonly detail: string;
}

/** What a row's `run` returns: both sides and whether fdkeeper did the right thing. */
export interface RowOutcome {
  readonly plain: SideResult;
  readonly fdkeeper: SideResult;
  /** True when fdkeeper prevented the trap (every condition the row checks held). */
  readonly pass: boolean;
}

/** One printed row, as `--json` shows it. */
export interface RowResult extends RowOutcome {
  /** The row id (`closed-behind-back`, …). */
  readonly trap: string;
  /** A short human title. */
  readonly title: string;
}

/** What a row gets to work with. */
export interface DemoContext {
  /** A fresh, empty directory for this row alone (removed with the demo's temp dir). */
  readonly dir: string;
  /** `file:` URL of the built library (dist/index.js), for child processes to import. */
  readonly fdkeeperUrl: string;
  /** The node binary to run child processes with. */
  readonly node: string;
}

/** One trap of the demo. */
export interface DemoRow {
  /** The id `--only` takes. */
  readonly id: string;
  /** A short human title. */
  readonly title: string;
  /** Runs plain node:fs first, then fdkeeper; every cell is computed from what happened. */
  run(ctx: DemoContext): Promise<RowOutcome>;
}

/**
 * The column of a side that could not run: `FAILED TO RUN: <first line of the error>`, the whole error
 * as its evidence. Distinct from any outcome a side that ran reports, so a failed row never reads like
 * a result (or shows one text in both columns).
 */
export function failedSide(e: unknown): SideResult {
  const detail = e instanceof Error ? e.message : String(e);
  return { outcome: `FAILED TO RUN: ${detail.split('\n')[0] ?? ''}`, detail };
}

/** The other column of a row that failed before either side reported. */
export const NOT_REACHED: SideResult = {
  outcome: 'not run: the row failed first',
  detail: 'the row failed before this side reported; its error is in the fdkeeper column',
};
