const TICKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * The last `width` values as a sparkline, scaled between their minimum and maximum (a flat series is
 * drawn at the bottom, so a steady count reads as calm and growth as a rising edge).
 */
export function sparkline(values: readonly number[], width: number): string {
  const shown = values.slice(-Math.max(1, width));
  const min = Math.min(...shown);
  const max = Math.max(...shown);
  const span = max - min;
  return shown.map((v) => TICKS[span === 0 ? 0 : Math.round(((v - min) / span) * (TICKS.length - 1))] ?? '▁').join('');
}

/** A horizontal bar of `value / max` of `width` cells, in eighths of a cell. */
export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + (EIGHTHS[eighths % 8] ?? '');
}
