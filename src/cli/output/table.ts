/** One cell: its text, and how to paint it once padded (colors never count toward the width). */
export interface Cell {
  readonly text: string;
  readonly paint?: (s: string) => string;
}

/** A column of {@link renderColumns}. */
export interface Column {
  readonly header: string;
  /** `right` for numbers. Default `left`. */
  readonly align?: 'left' | 'right';
}

/** Options of {@link renderColumns}. */
export interface ColumnsOptions {
  /** Paints the header row (e.g. bold). */
  readonly header?: (s: string) => string;
  /** Paints the rule under the header (e.g. dim). */
  readonly rule?: (s: string) => string;
}

/**
 * A plain aligned table: a header, a rule, one line per row; columns separated by two spaces, the
 * last column unpadded so long paths are never cut (a script grepping the table sees them whole).
 * Strings or {@link Cell}s; widths come from the unpainted text.
 */
export function renderColumns(
  columns: readonly Column[],
  rows: readonly (readonly (string | Cell)[])[],
  options: ColumnsOptions = {},
): string[] {
  const cells = rows.map((r) => r.map((c): Cell => (typeof c === 'string' ? { text: c } : c)));
  const widths = columns.map((col, i) => Math.max(col.header.length, ...cells.map((r) => r[i]?.text.length ?? 0)));
  const last = columns.length - 1;
  const layout = (row: readonly Cell[]): string =>
    columns
      .map((col, i) => {
        const cell = row[i] ?? { text: '' };
        const width = widths[i] ?? 0;
        const text =
          col.align === 'right' ? cell.text.padStart(width) : i === last ? cell.text : cell.text.padEnd(width);
        return cell.paint === undefined ? text : cell.paint(text);
      })
      .join('  ')
      .trimEnd();
  const header = options.header ?? ((s: string) => s);
  const rule = options.rule ?? ((s: string) => s);
  return [
    layout(columns.map((c) => ({ text: c.header, paint: header }))),
    rule(widths.map((w) => '─'.repeat(w)).join('  ')),
    ...cells.map(layout),
  ];
}
