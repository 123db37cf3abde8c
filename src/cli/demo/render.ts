import pc from 'picocolors';
import type { RowResult } from './types.js';
import { escapeLines, escapeText } from '../../diagnostics/terminal-text.js';
import { plural } from '../output/plural.js';

/** The color functions the renderer uses (picocolors' own, or pass-throughs). */
export type Colors = ReturnType<typeof pc.createColors>;

/** Whether to color output: only on a terminal, and never with NO_COLOR set (picocolors checks that and `--no-color`). */
export function shouldColor(stream: { isTTY?: boolean } = process.stdout): boolean {
  return stream.isTTY === true && pc.isColorSupported;
}

/** Colors for `enabled`. */
export function colors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

/** Options of {@link renderTable}. */
export interface RenderOptions {
  /** Total width to fit the table in. Default 120. */
  width?: number;
  /** Color functions. Default: none. */
  colors?: Colors;
  /** The demo's temporary directory: shown once, and as `$DEMO_DIR` in the evidence. */
  dir?: string;
}

const HEADERS = ['trap', 'what plain node:fs did', 'what fdkeeper did', 'pass/fail'] as const;

/** Splits `text` into lines of at most `width` characters, breaking at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      let w = word;
      while (w.length > width) {
        if (line !== '') {
          out.push(line);
          line = '';
        }
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
      if (line === '') line = w;
      else if (line.length + 1 + w.length <= width) line += ' ' + w;
      else {
        out.push(line);
        line = w;
      }
    }
    out.push(line);
  }
  return out;
}

/**
 * The demo table: trap | what plain node:fs did | what fdkeeper did | pass/fail, cells wrapped to fit
 * `width`, followed by each row's evidence and a summary line.
 */
export function renderTable(rows: readonly RowResult[], options: RenderOptions = {}): string {
  const c = options.colors ?? colors(false);
  const width = Math.max(options.width ?? 120, 72);
  const trapW = Math.max(HEADERS[0].length, ...rows.map((r) => r.trap.length));
  const resultW = HEADERS[3].length;
  // Borders: "│ " between columns, 3 separators of 3 characters plus 1 at each side.
  const free = width - trapW - resultW - 3 * 3 - 2;
  const plainW = Math.floor(free / 2);
  const fdW = free - plainW;
  const widths = [trapW, plainW, fdW, resultW];

  const line = (cells: readonly string[][], paint: readonly ((s: string) => string)[]): string[] => {
    const height = Math.max(...cells.map((l) => l.length));
    const out: string[] = [];
    for (let i = 0; i < height; i++) {
      const parts = cells.map((lines, col) => {
        const text = (lines[i] ?? '').padEnd(widths[col] ?? 0);
        const f = paint[col];
        return f === undefined ? text : f(text);
      });
      out.push(` ${parts.join(c.dim(' │ '))} `.trimEnd());
    }
    return out;
  };
  const rule = c.dim(widths.map((w) => '─'.repeat(w + 2)).join('┼'));

  const passed = rows.filter((r) => r.pass).length;
  const out: string[] = [];
  out.push(c.bold(`fdkeeper demo: ${plural(rows.length, 'trap')}, plain node:fs first, then fdkeeper`), '');
  out.push(
    ...line(
      HEADERS.map((h) => [h]),
      HEADERS.map(() => c.bold),
    ),
  );
  out.push(rule);
  for (const r of rows) {
    const verdict = r.pass ? 'pass' : 'FAIL';
    out.push(
      ...line(
        [
          wrap(r.trap, trapW),
          wrap(escapeText(r.plain.outcome), plainW),
          wrap(escapeText(r.fdkeeper.outcome), fdW),
          [verdict],
        ],
        [c.cyan, c.yellow, r.pass ? c.green : c.red, r.pass ? c.green : (s: string) => c.bold(c.red(s))],
      ),
    );
    out.push(rule);
  }

  out.push(
    '',
    c.bold('Evidence') +
      (options.dir === undefined ? '' : c.dim(` ($DEMO_DIR = ${escapeText(options.dir)}, removed afterwards)`)),
  );
  // The evidence quotes error messages, paths and stacks: each line is escaped, the line breaks kept.
  const short = (text: string): string =>
    escapeLines(options.dir === undefined ? text : text.split(options.dir).join('$DEMO_DIR'));
  for (const r of rows) {
    out.push('', `${c.cyan(r.trap)}: ${r.title} ${r.pass ? c.green('(pass)') : c.red('(FAIL)')}`);
    out.push(`  ${c.yellow('plain node:fs')}`, ...indent(short(r.plain.detail), width));
    out.push(`  ${c.green('fdkeeper')}`, ...indent(short(r.fdkeeper.detail), width));
  }
  const summary = `${passed} of ${rows.length} passed`;
  out.push('', passed === rows.length ? c.green(c.bold(summary)) : c.red(c.bold(summary)));
  return out.join('\n') + '\n';
}

/**
 * Indents evidence lines by four spaces, wrapping long ones (continuations get two more). Quoted lines
 * (`  | …`: source lines, leak reports) are kept whole.
 */
function indent(text: string, width: number): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('  | ')) {
      out.push(`    ${l}`.trimEnd());
      continue;
    }
    const [first = '', ...rest] = wrap(l, width - 6);
    out.push(`    ${first}`, ...rest.map((r) => `      ${r}`));
  }
  return out;
}

/** The rows as `--json` prints them. */
export function renderJson(rows: readonly RowResult[]): string {
  return JSON.stringify(rows, null, 2) + '\n';
}
