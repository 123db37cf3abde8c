/**
 * Helpers for test/atomic-errors.test.ts: snapshots that prove a target was left alone, the checks that
 * no temp (or claim) file and no descriptor was left behind, mounts that are always undone, and a
 * child process (test/support/atomic-child.ts) for what only another process can show: a dropped
 * privilege, a low descriptor limit.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { FsError, rejected, type TargetOutcome } from '../../src/errors/fs-error.js';
import { OsBackend } from '../../src/backend/os-backend.js';
import { O } from '../../src/backend/flags.js';
import { openFds } from './proc-fds.js';
import type { ChildPlan, ChildReport } from './atomic-child.js';

/** Whether this process runs as root (then the mount and privilege-drop cases run for real). */
export const isRoot = process.getuid?.() === 0;

/** The uid/gid the privilege-dropping child becomes (`nobody`/`nogroup` on Debian-like systems). */
export const NOBODY = 65534;

/** What must not change about a target when an atomic operation fails. */
export interface FileSnapshot {
  readonly bytes: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly dev: number;
  readonly ino: number;
  readonly nlink: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Reads the file's bytes and the metadata a failed replace must leave alone. */
export function snapshot(path: string): FileSnapshot {
  const st = fs.lstatSync(path);
  return {
    bytes: fs.readFileSync(path),
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    dev: st.dev,
    ino: st.ino,
    nlink: st.nlink,
    size: st.size,
    mtimeMs: st.mtimeMs,
  };
}

/**
 * Asserts the file is byte-identical to `before`, and the very same file (same inode: no replacement by
 * a copy) with the same mode, owner and mtime.
 */
export function assertUnchanged(path: string, before: FileSnapshot, label = ''): void {
  const now = snapshot(path);
  const where = label === '' ? path : `${label}: ${path}`;
  assert.ok(
    now.bytes.equals(before.bytes),
    `${where}: content changed (${before.bytes.length} bytes before, ${now.bytes.length} after: ${JSON.stringify(now.bytes.subarray(0, 40).toString('latin1'))})`,
  );
  assert.equal(now.ino, before.ino, `${where}: replaced by another file (inode ${before.ino} -> ${now.ino})`);
  assert.equal(now.mode.toString(8), before.mode.toString(8), `${where}: mode changed`);
  assert.equal(now.uid, before.uid, `${where}: owner changed`);
  assert.equal(now.gid, before.gid, `${where}: group changed`);
  assert.equal(now.mtimeMs, before.mtimeMs, `${where}: mtime changed`);
  assert.equal(now.nlink, before.nlink, `${where}: link count changed`);
}

/**
 * A temp root for one test file (removed once its tests are done), and a function that makes a new,
 * empty directory in it on each call.
 */
export function freshDirs(prefix: string): () => string {
  const root = fs.mkdtempSync(join(os.tmpdir(), prefix));
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });
  let serial = 0;
  return () => {
    const d = join(root, String(++serial));
    fs.mkdirSync(d);
    return d;
  };
}

/** The names in `dir`, sorted. */
export function listDir(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** Names in `dir` that atomic operations create and must never leave behind after a failure. */
export function leftovers(dir: string): string[] {
  return listDir(dir).filter((n) => n.endsWith('.fdkeeper-tmp') || n.endsWith('.fdkeeper-claim'));
}

/** Asserts `dir` holds no temp or claim file and, when given, exactly the names it held before. */
export function assertNothingLeft(dir: string, namesBefore?: readonly string[], label = ''): void {
  const pre = label === '' ? '' : `${label}: `;
  assert.deepEqual(leftovers(dir), [], `${pre}temp/claim files left in ${dir}`);
  if (namesBefore !== undefined)
    assert.deepEqual(listDir(dir), [...namesBefore].sort(), `${pre}the directory ${dir} gained or lost names`);
}

/** What a failure must look like. */
export interface Expected {
  readonly code: string;
  readonly path: string;
  readonly syscall?: string;
  /** What the error must say became of the target (its `target` field). Default `'unchanged'`. */
  readonly target?: TargetOutcome;
}

function checkError(e: unknown, expected: Expected, how: string): FsError {
  if (!(e instanceof FsError)) {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    assert.fail(`${how} with something other than an FsError (wanted ${expected.code} for ${expected.path}): ${text}`);
  }
  assert.equal(e.code, expected.code, `${how} with ${e.code} instead of ${expected.code}: ${e.message}`);
  assert.equal(e.path, expected.path, `${how} naming path ${String(e.path)} instead of the target: ${e.message}`);
  if (expected.syscall !== undefined)
    assert.equal(e.syscall, expected.syscall, `${how} with syscall ${e.syscall}: ${e.message}`);
  const target = expected.target ?? 'unchanged';
  assert.equal(e.target, target, `${how} saying the target is ${String(e.target)}, not ${target}: ${e.message}`);
  return e;
}

/** Awaits `p`, which must reject with an FsError of the expected code and path; returns the error. */
export async function rejectsWith(p: Promise<unknown>, expected: Expected): Promise<FsError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await p };
  } catch (e) {
    outcome = { ok: false, error: e };
  }
  if (outcome.ok)
    assert.fail(
      `resolved (with ${String(outcome.value)}) instead of rejecting with ${expected.code} for ${expected.path}`,
    );
  return checkError(outcome.error, expected, 'rejected');
}

/** Runs `fn`, which must throw an FsError of the expected code and path; returns the error. */
export function throwsWith(fn: () => unknown, expected: Expected): FsError {
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    return checkError(e, expected, 'threw');
  }
  return assert.fail(`returned (${String(value)}) instead of throwing ${expected.code} for ${expected.path}`);
}

/**
 * Remembers the open descriptors; `check()` asserts the same ones are open now. A descriptor that is
 * still open when the call settled but closes shortly after is reported as such (the operation settled
 * before cleaning up).
 */
export function fdGuard(): { check(label?: string): Promise<void> } {
  const before = openFds();
  return {
    async check(label = ''): Promise<void> {
      const now = openFds();
      if (now.join() === before.join()) return;
      await delay(100);
      const later = openFds();
      const pre = label === '' ? '' : `${label}: `;
      const describe = (list: number[]): string => list.map((n) => `${n}=${readLink(n)}`).join(', ');
      const extra = now.filter((n) => !before.includes(n));
      const missing = before.filter((n) => !now.includes(n));
      if (later.join() === before.join())
        assert.fail(
          `${pre}descriptors still open when the operation settled, closed only later: +[${describe(extra)}] -[${missing.join(', ')}]`,
        );
      assert.fail(
        `${pre}descriptor leak: +[${describe(later.filter((n) => !before.includes(n)))}] -[${before.filter((n) => !later.includes(n)).join(', ')}]`,
      );
    },
  };
}

function readLink(fd: number): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '?';
  }
}

// ------------------------------------------------------------------ a read-only directory without root

/**
 * The real OS, except that `dir` behaves as on a read-only file system: every call that would create,
 * remove or rename a name in it (an open with O_CREAT, link, rename, unlink, mkdir, symlink) fails with
 * EROFS before touching anything, as the kernel does; reads go through (a read-only open of a missing
 * file still gives ENOENT). For the EROFS cases when not root (no bind mount).
 */
export class ReadOnlyDirBackend extends OsBackend {
  constructor(private readonly dir: string) {
    super();
  }

  private refuse(syscall: string, ...paths: string[]): void {
    const hit = paths.find((p) => dirname(resolve(p)) === this.dir);
    if (hit !== undefined)
      throw new FsError({
        code: 'EROFS',
        syscall,
        path: hit,
        cause: new Error(`EROFS: read-only file system, ${syscall}`),
      });
  }

  private refused(syscall: string, ...paths: string[]): Promise<never> | undefined {
    try {
      this.refuse(syscall, ...paths);
      return undefined;
    } catch (e) {
      return rejected(e);
    }
  }

  override openSync(path: string, flags: number, mode?: number): number {
    if ((flags & O.CREAT) !== 0) this.refuse('open', path);
    return super.openSync(path, flags, mode);
  }
  override open(path: string, flags: number, mode?: number): Promise<number> {
    return ((flags & O.CREAT) !== 0 ? this.refused('open', path) : undefined) ?? super.open(path, flags, mode);
  }
  override linkSync(existingPath: string, newPath: string): void {
    this.refuse('link', newPath);
    super.linkSync(existingPath, newPath);
  }
  override link(existingPath: string, newPath: string): Promise<void> {
    return this.refused('link', newPath) ?? super.link(existingPath, newPath);
  }
  override renameSync(oldPath: string, newPath: string): void {
    this.refuse('rename', oldPath, newPath);
    super.renameSync(oldPath, newPath);
  }
  override rename(oldPath: string, newPath: string): Promise<void> {
    return this.refused('rename', oldPath, newPath) ?? super.rename(oldPath, newPath);
  }
  override unlinkSync(path: string): void {
    this.refuse('unlink', path);
    super.unlinkSync(path);
  }
  override unlink(path: string): Promise<void> {
    return this.refused('unlink', path) ?? super.unlink(path);
  }
  override mkdirSync(path: string, mode?: number): void {
    this.refuse('mkdir', path);
    super.mkdirSync(path, mode);
  }
  override mkdir(path: string, mode?: number): Promise<void> {
    return this.refused('mkdir', path) ?? super.mkdir(path, mode);
  }
  override symlinkSync(target: string, path: string): void {
    this.refuse('symlink', path);
    super.symlinkSync(target, path);
  }
  override symlink(target: string, path: string): Promise<void> {
    return this.refused('symlink', path) ?? super.symlink(target, path);
  }
}

// ------------------------------------------------------------------ mounts

/** Mount points listed in /proc/mounts at or under `prefix` (deepest first). */
export function mountsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const field = line.split(' ')[1];
    if (field === undefined) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point === prefix || point.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}

function run(cmd: string, args: readonly string[]): { ok: boolean; text: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  const text = `${r.stderr}${r.stdout}`.trim() || (r.error?.message ?? `exit ${String(r.status)}`);
  return { ok: r.status === 0, text };
}

/**
 * Mounts made by one test, undone by {@link Mounts.cleanup} (registered with `t.after`), which also
 * checks /proc/mounts so that no failure, ever, leaves a mount behind.
 */
export class Mounts {
  private readonly points: string[] = [];

  /** A tmpfs of `size` (e.g. `'1m'`) at `point`. Returns undefined, or why mounting is not permitted. */
  tmpfs(point: string, size: string): string | undefined {
    const r = run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', point]);
    if (!r.ok) return `mount -t tmpfs failed: ${r.text}`;
    this.points.push(point);
    return undefined;
  }

  /** A read-only bind mount of `src` at `point`. Returns undefined, or why mounting is not permitted. */
  bindReadOnly(src: string, point: string): string | undefined {
    const r = run('mount', ['--bind', src, point]);
    if (!r.ok) return `mount --bind failed: ${r.text}`;
    this.points.push(point);
    const ro = run('mount', ['-o', 'remount,bind,ro', point]);
    if (!ro.ok) return `remount read-only failed: ${ro.text}`;
    return undefined;
  }

  /** Unmounts everything (lazily if a plain umount fails) and asserts /proc/mounts lists none of it. */
  cleanup(): void {
    const problems: string[] = [];
    for (const point of this.points.splice(0).reverse()) {
      if (mountsUnder(point).length === 0) continue;
      const r = run('umount', [point]);
      if (!r.ok) {
        const lazy = run('umount', ['-l', point]);
        if (!lazy.ok) problems.push(`umount ${point}: ${r.text}; umount -l: ${lazy.text}`);
      }
    }
    assert.deepEqual(problems, [], 'unmounting failed');
  }
}

/** Unmounts each point (lazily if need be); returns the points that stay mounted. */
export function forceUnmount(points: readonly string[]): string[] {
  for (const point of points) {
    if (!run('umount', [point]).ok) run('umount', ['-l', point]);
  }
  return points.filter((p) => mountsUnder(p).includes(p));
}

/** Removes mounts left under `prefix` by an earlier run whose process is gone (the suite is rerunnable). */
export function sweepStaleMounts(tmpRoot: string, namePrefix: string): string[] {
  const swept: string[] = [];
  const pattern = new RegExp(`^${namePrefix}(\\d+)-`);
  for (const name of fs.readdirSync(tmpRoot)) {
    const m = pattern.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && pidAlive(pid)) continue;
    const dir = join(tmpRoot, name);
    const points = mountsUnder(dir);
    const stuck = forceUnmount(points);
    swept.push(...points.filter((p) => !stuck.includes(p)));
    if (mountsUnder(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true });
  }
  return swept;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
}

/** A fresh directory for this run, named so that a later run can tell whether its owner is alive. */
export function runRoot(namePrefix: string): string {
  const dir = fs.mkdtempSync(join(os.tmpdir(), `${namePrefix}${process.pid}-`));
  // Traversable by the privilege-dropping child.
  fs.chmodSync(dir, 0o755);
  return dir;
}

// ------------------------------------------------------------------ child process

const CHILD = fileURLToPath(new URL('./atomic-child.ts', import.meta.url));

/**
 * Runs test/support/atomic-child.ts with `plan`, under `ulimit -n` (hard and soft) when `fdLimit` is
 * given. NODE_OPTIONS carries `--import tsx` under the test runner; otherwise it is added.
 */
export function runChild(plan: ChildPlan, fdLimit?: number): Promise<ChildReport> {
  const nodeOptions = process.env['NODE_OPTIONS'] ?? '';
  const importTsx = /--import[= ]tsx\b/.test(nodeOptions) ? [] : ['--import', 'tsx'];
  const argv = [process.execPath, ...importTsx, CHILD, JSON.stringify(plan)];
  // dash's `ulimit -n` sets the hard and the soft limit (Node raises its soft limit to the hard one).
  const [cmd, args] =
    fdLimit === undefined
      ? [argv[0]!, argv.slice(1)]
      : ['sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, ...argv]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        const report = JSON.parse(last) as ChildReport;
        if (code !== 0) reject(new Error(`child exited with ${String(code)}:\n${err}${out}`));
        else resolve(report);
      } catch {
        reject(new Error(`child printed no report (exit ${String(code)}):\n${err}${out}`));
      }
    });
  });
}
