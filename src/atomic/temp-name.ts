/**
 * The names of the files an atomic write leaves beside its target while it works: temp files
 * (`.${base}.${pid36}-${rand}.fdkeeper-tmp`) and createExclusive's claims (`.${base}.fdkeeper-claim`).
 *
 * A temp name carries the writer's pid (base 36), so {@link cleanupTemps} can tell a dead writer's
 * leftovers from a live writer's work, and 48 unpredictable bits, so another local user cannot guess the
 * name and plant a file or a symlink there first (the create uses O_EXCL|O_NOFOLLOW anyway, and retries
 * on EEXIST). The leading dot hides the files from `ls` and most globs.
 *
 * @module
 */
import { nodeCrypto } from '../process/builtins.js';
import { basename, dirname, join } from 'node:path';

const TEMP_SUFFIX = '.fdkeeper-tmp';
const CLAIM_SUFFIX = '.fdkeeper-claim';
/** The longest name most file systems accept (NAME_MAX), in bytes. */
const NAME_MAX = 255;
/** Hex characters of randomness in a temp name (6 bytes: 48 bits). */
const RAND_CHARS = 12;

const TEMP_RE = /^\.([^]*)\.([0-9a-z]{1,13})-([0-9a-f]{12})\.fdkeeper-tmp$/;
const CLAIM_RE = /^\.([^]*)\.fdkeeper-claim$/;

/** Random bytes come in blocks: one randomBytes call serves many names. */
const POOL_SIZE = 64 * 6;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function poolRandom(): string {
  if (poolOffset + 6 > pool.length) {
    pool = nodeCrypto().randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const s = pool.toString('hex', poolOffset, poolOffset + 6);
  poolOffset += 6;
  return s;
}

let randomSource: () => string = poolRandom;

/**
 * Replaces the source of the random part of temp names (12 lowercase hex characters), or restores the
 * default (`crypto.randomBytes`) when given `undefined`. For tests that need to force name collisions.
 *
 * @internal
 */
export function setTempRandomSource(source: (() => string) | undefined): void {
  randomSource = source ?? poolRandom;
}

/** `name` cut to at most `maxBytes` UTF-8 bytes, never inside a character. */
function truncateUtf8(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  let bytes = 0;
  let end = 0;
  for (const ch of name) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return name.slice(0, end);
}

/**
 * A fresh temp path for replacing `target`: in the same directory (a rename only replaces atomically
 * within one file system), named `.${base}.${pid36}-${rand}.fdkeeper-tmp` where `base` is the target's
 * name (shortened so the whole name stays within 255 bytes), `pid36` this process's pid in base 36 and
 * `rand` 12 random hex characters. Each call gives a new name.
 */
export function tempNameFor(target: string): string {
  const rand = randomSource();
  if (!/^[0-9a-f]{12}$/.test(rand))
    throw new TypeError(`the temp-name random source must give ${RAND_CHARS} lowercase hex characters, got '${rand}'`);
  const tail = `.${process.pid.toString(36)}-${rand}${TEMP_SUFFIX}`;
  const base = truncateUtf8(basename(target), NAME_MAX - 1 - tail.length);
  return join(dirname(target), `.${base}${tail}`);
}

/** Whether `name` (a file name, not a path) is an fdkeeper temp file's name. */
export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

/**
 * What a temp file's name says: the (possibly shortened) name of the target it was to replace, and the
 * pid of the process that created it. `undefined` when `name` is not a temp name.
 */
export function parseTempName(name: string): { base: string; pid: number } | undefined {
  const m = TEMP_RE.exec(name);
  if (m === null) return undefined;
  return { base: m[1] ?? '', pid: parseInt(m[2] ?? '', 36) };
}

/**
 * The claim path {@link createExclusive} uses for `target`: `.${base}.fdkeeper-claim` in the same
 * directory (`base` shortened so the name stays within 255 bytes).
 */
export function claimNameFor(target: string): string {
  const base = truncateUtf8(basename(target), NAME_MAX - 1 - CLAIM_SUFFIX.length);
  return join(dirname(target), `.${base}${CLAIM_SUFFIX}`);
}

/** Whether `name` (a file name, not a path) is a createExclusive claim's name. */
export function isClaimName(name: string): boolean {
  return CLAIM_RE.test(name);
}
