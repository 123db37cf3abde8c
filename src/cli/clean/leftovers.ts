/**
 * What `fdkeeper clean` decides about each file, and how it removes one: the rules of
 * docs/security.md ("CLI output and clean").
 *
 * A file is one of ours only when everything about it says so, not its name alone: its name is a temp
 * file's or a claim's, it is a regular file (lstat: a symlink, FIFO or directory under such a name is
 * someone else's), it has one link, it belongs to the user running the cleaner (unless `--any-owner`),
 * a temp name's pid is a possible pid, and a claim holds exactly `PID\nHOST\n` (or nothing: what a power
 * loss leaves of one). Only then do the writer's pid, the boot time and the age decide; the reason
 * printed is the rule that decided, so the words can never disagree with the action.
 *
 * Names are handled as bytes: a name that is not valid UTF-8 is still reachable, and printed escaped.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { CLAIM_MAX_BYTES, parseClaim, type ClaimText } from '../../atomic/claim.js';
import { bootTimeMs } from '../../atomic/pid.js';
import { isClaimName, parseTempName } from '../../atomic/temp-name.js';
import { formatDuration } from '../output/duration.js';

/** PID_MAX_LIMIT on 64-bit Linux: no pid is ever larger, whatever kernel.pid_max says. */
const PID_MAX_LIMIT = 4_194_304;

/**
 * The environment variable that fakes this host's boot time (ms since the epoch) for `fdkeeper clean`.
 * For tests only: it lets a test put the boot before or after a file's mtime on any host, however long
 * it has been up. Documented in docs/cli.md; never set it outside a test.
 */
export const TEST_BOOT_TIME_ENV = 'FDKEEPER_TEST_BOOT_TIME_MS';

/** When this host booted (ms since the epoch), or the test's fake (see {@link TEST_BOOT_TIME_ENV}). */
export function hostBootTimeMs(env: NodeJS.ProcessEnv = process.env): number {
  const fake = env[TEST_BOOT_TIME_ENV];
  return fake !== undefined && /^\d{1,15}$/.test(fake) ? Number(fake) : bootTimeMs();
}

/** The largest pid this kernel hands out (kernel.pid_max), or Linux's hard limit where unreadable. */
export function pidMax(): number {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    return Number.isSafeInteger(n) && n > 1 ? n : PID_MAX_LIMIT;
  } catch {
    return PID_MAX_LIMIT;
  }
}

/** What a claim file held. */
export type ClaimContent = ClaimText | { readonly state: 'unreadable'; readonly code: string };

/** Everything the cleaner looked at for one name: the facts {@link judge} decides on. */
export interface Leftover {
  /** The name as bytes (exact, for the file system) and as text (UTF-8, for JSON). */
  readonly nameBytes: Buffer;
  readonly kind: 'temp' | 'claim';
  /** lstat of the name; undefined when it vanished before it was looked at. */
  readonly stat: Stats | undefined;
  /** A temp name's pid, or a valid claim's; undefined otherwise. */
  readonly pid: number | undefined;
  /** A valid claim's host. */
  readonly host: string | undefined;
  /** For claims: what the file held (read only when every other check passed). */
  readonly claim: ClaimContent | undefined;
}

/** What the decision depends on besides the file. */
export interface JudgeContext {
  readonly now: number;
  readonly bootMs: number;
  readonly olderThanMs: number;
  readonly checkPids: boolean;
  readonly anyOwner: boolean;
  /** The user the cleaner runs as; undefined where there are no uids (Windows: the owner rule is skipped). */
  readonly uid: number | undefined;
  readonly pidMax: number;
  /** This host's name (claims from another host cannot have their pid checked). */
  readonly host: string;
  /** Whether no process `pid` exists on this host. */
  readonly isDead: (pid: number) => boolean;
}

/** The decision about one file, with the rule that made it. */
export interface Verdict {
  readonly remove: boolean;
  readonly reason: string;
}

function typeName(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Whether `facts` is a file of ours before its content is read: undefined when it may be, otherwise
 * the reason it is left alone. The content of a claim is read only after this passes, so a FIFO, a
 * link or another user's file is never opened.
 */
export function notOurs(facts: Omit<Leftover, 'claim' | 'host'>, ctx: JudgeContext): string | undefined {
  const st = facts.stat;
  if (st === undefined) return 'vanished before it could be examined';
  if (!st.isFile()) return `${typeName(st)}, not a regular file: not one of ours`;
  if (!ctx.anyOwner && ctx.uid !== undefined && st.uid !== ctx.uid)
    return `owned by uid ${st.uid}, not by this user (uid ${ctx.uid}): left alone (--any-owner to include it)`;
  if (st.nlink !== 1) return `${st.nlink} hard links, where a temp file or claim has one: not one of ours`;
  if (facts.kind === 'temp' && (facts.pid === undefined || facts.pid < 1 || facts.pid > ctx.pidMax)) {
    return `pid ${facts.pid ?? '?'} in its name is not a possible process id (1–${ctx.pidMax}): not one of ours`;
  }
  return undefined;
}

/** The decision about one file (see the module comment). */
export function judge(facts: Leftover, ctx: JudgeContext): Verdict {
  const keep = (reason: string): Verdict => ({ remove: false, reason });
  const remove = (reason: string): Verdict => ({ remove: true, reason });
  const refused = notOurs(facts, ctx);
  if (refused !== undefined || facts.stat === undefined) return keep(refused ?? 'vanished');
  const age = ctx.now - facts.stat.mtimeMs;
  const ageText = `modified ${formatDuration(Math.max(0, age))} ago`;
  const old = age >= ctx.olderThanMs;
  const limit = formatDuration(ctx.olderThanMs);
  let who: string;
  let local: boolean;
  if (facts.kind === 'claim') {
    const c = facts.claim;
    if (c === undefined || c.state === 'invalid')
      return keep('its content is not a claim\'s ("PID\\nHOST\\n"): not one of ours');
    if (c.state === 'unreadable') return keep(`could not be read (${c.code}): left alone`);
    if (c.state === 'empty') {
      if (ctx.checkPids) return remove('empty claim: its writer crashed before the content reached the disk');
      return old
        ? remove(`empty claim; ${ageText}, older than ${limit}`)
        : keep(`empty claim; ${ageText}, younger than ${limit} (pids not checked)`);
    }
    local = c.host === ctx.host;
    who = `claim of pid ${c.pid} on ${local ? 'this host' : `host ${c.host}`}`;
  } else {
    local = true;
    who = `writer pid ${facts.pid ?? '?'}`;
  }
  const pid = facts.pid ?? 0;
  // A temp file's age speaks for itself; a claim's reason also says whose it is.
  const whose = facts.kind === 'claim' ? `${who}; ` : '';
  if (ctx.checkPids && local && ctx.isDead(pid))
    return remove(`${who}${facts.kind === 'claim' ? ', which' : ''} is not running`);
  if (old) return remove(`${whose}${ageText}, older than ${limit}`);
  if (!ctx.checkPids) return keep(`${whose}${ageText}, younger than ${limit} (pids not checked)`);
  if (!local) return keep(`${who}: its process cannot be checked from here; ${ageText}, younger than ${limit}`);
  if (facts.stat.mtimeMs < ctx.bootMs) {
    return remove(
      `${who} is running, but ${ageText}, before this host booted ${formatDuration(ctx.now - ctx.bootMs)} ago: that pid is another process now`,
    );
  }
  return keep(`${who} is running; ${ageText}, younger than ${limit}`);
}

/** Reads a claim's content without following a link or blocking on a FIFO, from the file `st` describes. */
export function readClaimContent(path: Buffer, st: Stats, pidLimit: number): ClaimContent {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return { state: 'unreadable', code: (e as { code?: string }).code ?? 'error' };
  }
  try {
    const now = fstatSync(fd);
    if (!now.isFile() || now.dev !== st.dev || now.ino !== st.ino)
      return { state: 'unreadable', code: 'changed while read' };
    if (now.size === 0) return { state: 'empty' };
    if (now.size > CLAIM_MAX_BYTES) return { state: 'invalid' };
    const buf = Buffer.alloc(CLAIM_MAX_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n === 0) return { state: 'empty' };
    return parseClaim(buf.subarray(0, n), pidLimit);
  } catch (e) {
    return { state: 'unreadable', code: (e as { code?: string }).code ?? 'error' };
  } finally {
    closeSync(fd);
  }
}

/** `name` as a temp or a claim of ours by its name alone (latin1 keeps one char per byte, so the ASCII suffixes
 * parse whatever the rest is). */
export function classifyName(name: Buffer): { kind: 'temp'; pid: number } | { kind: 'claim' } | undefined {
  const text = name.toString('latin1');
  const temp = parseTempName(text);
  if (temp !== undefined) return { kind: 'temp', pid: temp.pid };
  return isClaimName(text) ? { kind: 'claim' } : undefined;
}

/** How {@link removeJudged} ended. */
export type Removal = 'removed' | 'vanished' | 'changed';

/**
 * Removes `path` only if it is still the file `st` describes: the name is first renamed to a private
 * temp name of ours in the same directory (a rename never follows links), the file there compared by
 * device and inode, and only then unlinked. A different file (a claim a live producer made meanwhile)
 * is linked back under its name; should that name have been taken again, it stays under the private
 * name, which the next `clean` judges like any other.
 */
export function removeJudged(dir: Buffer, path: Buffer, st: Stats): Removal {
  const aside = Buffer.concat([
    dir,
    Buffer.from(`/.fdkeeper-clean.${process.pid.toString(36)}-${randomBytes(6).toString('hex')}.fdkeeper-tmp`),
  ]);
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return 'vanished';
    throw e;
  }
  const moved = lstatSync(aside);
  if (moved.dev === st.dev && moved.ino === st.ino) {
    unlinkSync(aside);
    return 'removed';
  }
  try {
    linkSync(aside, path);
    unlinkSync(aside);
  } catch {
    // the name was taken again: leave the file under the private name rather than lose it
  }
  return 'changed';
}
