/**
 * A second, real, unprivileged local user for tests that play the attacker: it plants links, FIFOs and
 * files in shared directories, as another account on the same machine would.
 *
 * When the tests run as root, the user `fdk-attacker` is created on first use (useradd, no home, no
 * login shell) and kept: it is a real account with its own uid and group, not `nobody`, whose files
 * other daemons may also own. When not root, or without useradd/setpriv, {@link attacker} is undefined
 * and the tests that need it skip with {@link ATTACKER_SKIP} as their reason.
 *
 * `fs.protected_symlinks` is reported by {@link protectedSymlinks}: fdkeeper must hold its rules with the
 * kernel protection off (many containers and older systems), so the tests set it to 0 where they can
 * ({@link withProtectedSymlinksOff}) and say so where they cannot.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The attacker's account name. */
export const ATTACKER_NAME = 'fdk-attacker';

/** The attacker: a real user other than the one running the tests. */
export interface Attacker {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Runs `argv` as the attacker (setpriv: real and effective uid/gid, no supplementary groups). */
  run(
    argv: readonly string[],
    options?: { input?: string | Buffer; cwd?: string; timeoutMs?: number },
  ): SpawnSyncReturns<Buffer>;
  /** Runs a `sh -c` script as the attacker and throws if it fails. */
  sh(script: string): string;
}

/** Why attacker tests skip when {@link attacker} is undefined. */
export const ATTACKER_SKIP = 'needs root on Linux with useradd and setpriv to create and become a second real user';

function idOf(flag: '-u' | '-g', name: string): number | undefined {
  const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

function ensureAttacker(): Attacker | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  if (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  if (idOf('-u', ATTACKER_NAME) === undefined) {
    const r = spawnSync(
      'useradd',
      ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', ATTACKER_NAME],
      { stdio: 'ignore' },
    );
    // Another test process may have created it at the same moment: only the id lookup decides.
    if (r.status !== 0 && idOf('-u', ATTACKER_NAME) === undefined) return undefined;
  }
  const uid = idOf('-u', ATTACKER_NAME);
  const gid = idOf('-g', ATTACKER_NAME);
  if (uid === undefined || gid === undefined) return undefined;
  const prefix = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];
  const run: Attacker['run'] = (argv, options = {}) =>
    spawnSync(prefix[0]!, [...prefix.slice(1), ...argv], {
      input: options.input,
      cwd: options.cwd ?? '/',
      timeout: options.timeoutMs ?? 30_000,
    });
  return {
    name: ATTACKER_NAME,
    uid,
    gid,
    run,
    sh(script) {
      const r = run(['/bin/sh', '-c', script]);
      if (r.status !== 0) throw new Error(`as ${ATTACKER_NAME}: ${script}\n${r.stderr.toString()}`);
      return r.stdout.toString();
    },
  };
}

/** The second user, or undefined where one cannot be had (see {@link ATTACKER_SKIP}). */
export const attacker: Attacker | undefined = ensureAttacker();

/**
 * A fresh world-writable sticky directory owned by the test user (like /tmp), inside the system temp
 * directory, made searchable for everyone on the way (mkdtemp makes 0700 directories). Removed at exit.
 */
export function sharedStickyDir(prefix = 'fdk-shared-'): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(base, 0o755);
  const dir = path.join(base, 'shared');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o1777);
  process.on('exit', () => {
    fs.rmSync(base, { recursive: true, force: true });
  });
  return dir;
}

const PROTECTED = '/proc/sys/fs/protected_symlinks';

/** The kernel's `fs.protected_symlinks` (0 or 1), or undefined where it cannot be read. */
export function protectedSymlinks(): number | undefined {
  try {
    return Number(fs.readFileSync(PROTECTED, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` with `fs.protected_symlinks` set to 0 (restored afterwards) so that a passing test shows
 * fdkeeper's own rule, not the kernel's. Returns false without running `fn` where the setting cannot be
 * turned off (not root, a read-only /proc/sys): the caller then skips with that reason.
 */
export async function withProtectedSymlinksOff(fn: () => unknown): Promise<boolean> {
  const before = protectedSymlinks();
  if (before === undefined) return false;
  if (before !== 0) {
    try {
      fs.writeFileSync(PROTECTED, '0');
    } catch {
      return false;
    }
  }
  try {
    await fn();
  } finally {
    if (before !== 0) fs.writeFileSync(PROTECTED, String(before));
  }
  return true;
}

/** Makes `file` and the directories above it (up to `/`) readable/searchable to the attacker. */
export function openUpTo(file: string): void {
  for (let p = path.dirname(file); p !== path.dirname(p); p = path.dirname(p)) {
    const st = fs.statSync(p);
    if ((st.mode & 0o005) !== 0o005) fs.chmodSync(p, st.mode | 0o005);
  }
}

/** The uid that owns `p` (lstat: a link's own owner). */
export function ownerOf(p: string): number {
  return fs.lstatSync(p).uid;
}

/** `execFileSync` as the attacker, for readability in tests: returns stdout as text. */
export function asAttacker(a: Attacker, file: string, args: readonly string[] = []): string {
  return execFileSync('setpriv', [`--reuid=${a.uid}`, `--regid=${a.gid}`, '--clear-groups', '--', file, ...args], {
    encoding: 'utf8',
  });
}
