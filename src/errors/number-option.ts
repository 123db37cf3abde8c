/**
 * The one check for every numeric option of the public API (modes, permission bits, owner ids, buffer
 * sizes, intervals, limits, timeouts): a value outside its rule is an {@link FsError} EINVAL naming the
 * option and the value, raised before anything is opened or created.
 *
 * Why one place: a number that node:fs passes on to C++ unchecked can abort the process with an
 * uncatchable assertion — `-0` (not an Int32 for V8) and `2**31` as a mode, `-0` as an owner id — and a
 * timer interval above 2³¹−1 ms silently becomes 1 ms. So every rule refuses NaN, `-0` (never a
 * meaningful option value, and fatal where it reaches a syscall), non-numbers, and Infinity unless the
 * option gives it a meaning (`maxOpen`: no limit).
 *
 * @module
 */
import { FsError } from './fs-error.js';

/** What one numeric option accepts. */
export interface NumberRule {
  /** Whole numbers only. Default true. */
  readonly integer?: boolean;
  /** The smallest value allowed. */
  readonly min?: number;
  /** Values must be greater than this (for positive intervals that may be fractional). */
  readonly above?: number;
  /** The largest value allowed. Default 2⁵³−1; `Infinity` allows Infinity too. */
  readonly max?: number;
  /** The accepted values in words, for the message ("an integer from 0 to 0o7777"). */
  readonly says: string;
}

/** Where a rejected option was passed: the call that refuses it. */
export interface OptionSite {
  readonly syscall: string;
  readonly path?: string | undefined;
}

/** The largest signed 32-bit integer: the most a timer, a buffer size or a descriptor number can be. */
export const INT32_MAX = 2 ** 31 - 1;

/** Permission bits (`mode`, `perm`): what open(2), mkdir(2) and fchmod(2) take. */
export const MODE_RULE: NumberRule = { min: 0, max: 0o7777, says: 'an integer from 0 to 0o7777' };
/** A timer interval in milliseconds: positive, at most what setTimeout keeps (2³¹−1). */
export const INTERVAL_RULE: NumberRule = {
  integer: false,
  above: 0,
  max: INT32_MAX,
  says: 'a number of milliseconds greater than 0 and at most 2**31-1',
};
/** A time limit or age in milliseconds: 0 or more, fractions allowed; Infinity means no limit. */
export const TIMEOUT_RULE: NumberRule = {
  integer: false,
  min: 0,
  max: Infinity,
  says: 'a number of milliseconds from 0 up (Infinity: no limit)',
};
/** A size in bytes: a positive integer that fits a single read or write. */
export const SIZE_RULE: NumberRule = { min: 1, max: INT32_MAX, says: 'an integer from 1 to 2**31-1' };
/** A user or group id for fchown(2): 0 to 2³²−2 (2³²−1 is "unchanged" to the kernel). */
export const ID_RULE: NumberRule = { min: 0, max: 2 ** 32 - 2, says: 'an integer from 0 to 2**32-2' };

/** How a value shows in a message: `-0`, `'x'`, `NaN`, `Infinity`. */
export function showValue(v: unknown): string {
  if (Object.is(v, -0)) return '-0';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

/** Whether `v` obeys `rule`. */
export function obeys(v: unknown, rule: NumberRule): v is number {
  if (typeof v !== 'number' || Number.isNaN(v) || Object.is(v, -0)) return false;
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  if (v === Infinity) return max === Infinity;
  if (!Number.isFinite(v)) return false;
  if ((rule.integer ?? true) && !Number.isInteger(v)) return false;
  if (rule.min !== undefined && v < rule.min) return false;
  if (rule.above !== undefined && !(v > rule.above)) return false;
  return v <= max;
}

/** The error for option `name` with value `v`. */
export function invalidOption(name: string, v: unknown, rule: NumberRule, site: OptionSite): FsError {
  return new FsError({
    code: 'EINVAL',
    syscall: site.syscall,
    path: site.path,
    detail: `option ${name} must be ${rule.says}, not ${showValue(v)}`,
  });
}

/** Returns `v` if it obeys `rule`; otherwise throws EINVAL naming `name` and the value. */
export function checkNumber(name: string, v: unknown, rule: NumberRule, site: OptionSite): number {
  if (!obeys(v, rule)) throw invalidOption(name, v, rule, site);
  return v;
}

/** {@link checkNumber} for an optional option: `undefined` gives `fallback`. */
export function numberOption(name: string, v: unknown, fallback: number, rule: NumberRule, site: OptionSite): number {
  return v === undefined ? fallback : checkNumber(name, v, rule, site);
}

/**
 * The backstop under every mode and flags argument handed to node:fs: it validates these as integers up
 * to 2³²−1, but its C++ side then asserts an Int32 — so `-0` and 2³¹…2³²−1 abort the process. Those two
 * become EINVAL here; anything else is left to node:fs's own checks (so a facade caller still gets
 * node:fs's errors for what node:fs does check).
 */
export function int32Arg(v: number, name: string, site: OptionSite & { readonly fd?: number }): number {
  if (Object.is(v, -0) || (typeof v === 'number' && Number.isInteger(v) && v > INT32_MAX && v <= 2 ** 32 - 1)) {
    throw new FsError({
      code: 'EINVAL',
      syscall: site.syscall,
      path: site.path,
      fd: site.fd,
      detail: `${name} must be an integer from 0 to 2**31-1, not ${showValue(v)}`,
    });
  }
  return v;
}
