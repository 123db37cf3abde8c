import { InvalidArgumentError } from 'commander';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration as the options take it: `500ms`, `2s`, `1.5m`, `1h`, `7d`, or a bare number of
 * seconds (`2` = 2 s). Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (m === null) return undefined;
  const value = Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  return Number.isFinite(value) ? value : undefined;
}

/** Milliseconds for a person: `850ms`, `42s`, `8m 31s`, `3h 05m`, `1h`, `2d 4h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  // A zero remainder is left out: "1h", not "1h 00m".
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h}h` : `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * The argument parser of a duration option (`--interval`, `--older-than`…): milliseconds, or a usage
 * error naming the option. Zero is refused unless `allowZero`. Give the option its default with
 * `Option.default(ms, formatDuration(ms))`, so `--help` shows `1s`, not the milliseconds a bare number
 * would be misread as (a bare number means seconds).
 */
export function durationParser(name: string, options: { allowZero?: boolean } = {}): (text: string) => number {
  return (text) => {
    const ms = parseDuration(text);
    if (ms === undefined || (ms === 0 && options.allowZero !== true)) {
      throw new InvalidArgumentError(
        `'${text}' is not a duration for ${name} (e.g. 500ms, 2s, 5m, 1h, 7d; a bare number is seconds)`,
      );
    }
    return ms;
  };
}
