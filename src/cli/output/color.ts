import { isatty } from 'node:tty';
import pc from 'picocolors';

/** The color functions the renderers use (picocolors' own, or pass-throughs). */
export type Colors = ReturnType<typeof pc.createColors>;

/** What decides whether output is colored. */
export interface ColorContext {
  /** Whether the stream written to is a terminal. */
  isTTY?: boolean;
  /** The environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Whether to color output. NO_COLOR (any non-empty value, https://no-color.org) always wins; then
 * FORCE_COLOR (any value but `0`/`false`) turns colors on even into a pipe; otherwise only a terminal
 * whose TERM is not `dumb` gets them. Never colors into a file or pipe by default, so `> out.txt` and
 * `| grep` see plain text.
 */
export function shouldColor(context: ColorContext = {}): boolean {
  const env = context.env ?? process.env;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force !== 'false';
  // isatty(1) rather than process.stdout.isTTY, which is undefined (not false) off a terminal.
  return (context.isTTY ?? isatty(1)) && env['TERM'] !== 'dumb';
}

/** Color functions: picocolors' when `enabled`, identity functions otherwise. */
export function colors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}
