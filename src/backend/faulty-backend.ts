/**
 * A {@link Backend} that delegates to another one and injects failures where rules say: ENOSPC on the
 * third write, EIO from an fsync that did write, a short write, EMFILE from the first open under a
 * directory… For testing how code above the Backend interface copes with the errors real systems give.
 *
 * @module
 */
import { getSystemErrorMap } from 'node:util';
import type { Backend, Bytes, FdInfo, FileStat, TimeLike } from './backend.js';
import { FsError, rejected } from '../errors/fs-error.js';

/**
 * The calls a {@link FaultRule} can select: the {@link Backend} method names without `Sync` (a rule
 * selects the synchronous and the promise form alike).
 */
export type FaultSyscall =
  | 'open'
  | 'close'
  | 'read'
  | 'write'
  | 'fstat'
  | 'stat'
  | 'lstat'
  | 'ftruncate'
  | 'fsync'
  | 'fdatasync'
  | 'rename'
  | 'unlink'
  | 'link'
  | 'symlink'
  | 'readlink'
  | 'mkdir'
  | 'rmdir'
  | 'readdir'
  | 'chmod'
  | 'fchmod'
  | 'fchown'
  | 'utimes'
  | 'reserve'
  | 'reserveAt'
  | 'reopen'
  | 'pipe'
  | 'fdInfo';

/** How a {@link FaultRule} matches a path: exactly, by regular expression, or by a predicate. */
export type PathMatcher = string | RegExp | ((path: string) => boolean);

/**
 * One fault to inject. A rule **matches** a call when the syscall is one of `syscall` and, if `path`
 * is given, the call's path (or, for two-path calls, its destination) matches it; for calls on a
 * descriptor, the path is the one the descriptor was opened with through this wrapper (a descriptor
 * whose origin is unknown has no path and never matches a rule with `path`). Each rule counts the calls
 * it matches, independently of other rules; when it **fires**, its effect replaces (or, with `after`,
 * follows) the real call. The first rule that fires for a call decides it; rules are tried in the order
 * they were added.
 *
 * When it fires:
 * - `nth: n`: on the n-th matching call, and (with `times` above 1) on the matching calls right after it;
 * - otherwise (`every`, the default): on every matching call, or with `every: k` on every k-th (k, 2k…);
 * - in both cases at most `times` times in all (default: 1 with `nth`, unlimited without).
 *
 * The effect is exactly one of `code` (throw an {@link FsError} like the kernel's, before the real call
 * or with `after: true` after it), `shortWrite` or `shortRead`.
 */
export interface FaultRule {
  /** The call or calls the rule applies to. */
  readonly syscall: FaultSyscall | readonly FaultSyscall[];
  /** Only calls about a matching path (see the interface description). */
  readonly path?: PathMatcher;
  /** Fire on the n-th matching call (1-based), and on `times - 1` more matching calls after it. */
  readonly nth?: number;
  /** Fire on every matching call (`true`, the default when `nth` is absent) or on every k-th one. */
  readonly every?: true | number;
  /** The most times the rule fires. Default: 1 with `nth`, unlimited otherwise. */
  readonly times?: number;
  /** Fail with this error code (`'ENOSPC'`, `'EIO'`, `'EMFILE'`, `'EACCES'`, `'EINTR'`, `'EROFS'`, `'EAGAIN'`…). */
  readonly code?: string;
  /**
   * With `code`: make the real call first, then report the error anyway (an fsync that wrote the data
   * but says EIO; a close that closed the descriptor but says EIO — Linux's close(2) always frees the
   * number). Without it, the real call is not made at all and nothing changes. A call that creates
   * descriptors (`open`, `reserve`, `reopen`, `pipe`) keeps its side effects (a file created or
   * truncated) but closes the new descriptors before reporting the error, since the caller never learns
   * their numbers.
   */
  readonly after?: boolean;
  /**
   * `write` only: write just the first `n` bytes asked for (or half of them, rounded down, for
   * `'half'`) and return that smaller count, as a short write(2) does.
   */
  readonly shortWrite?: number | 'half';
  /** `read` only: read at most `n` bytes (or half of what was asked, for `'half'`) and return the count. */
  readonly shortRead?: number | 'half';
  /** Extra text for the injected error's message (default: none, like the kernel's). */
  readonly detail?: string;
}

/** One call the wrapper saw, in {@link FaultyBackend.calls}. */
export interface FaultCall {
  /** Which call (the Backend method name without `Sync`). */
  readonly syscall: FaultSyscall;
  /** Whether it was the synchronous form. */
  readonly sync: boolean;
  /** The call's path (its first path for two-path calls), or the path the descriptor was opened with. */
  readonly path: string | undefined;
  /** The second path of a two-path call (`rename`, `link`, `symlink`). */
  readonly dest: string | undefined;
  /** The descriptor the call was about, if any. */
  readonly fd: number | undefined;
  /** What it returned when that was a number: a descriptor (`open`, `reserve`, `reopen`) or a byte count (`read`, `write`). */
  result: number | undefined;
  /** The error code it failed with, injected or real; undefined on success. */
  error: string | undefined;
  /** What the wrapper did to it: nothing, an injected error (before or after the real call), or a short transfer. */
  fault: 'error' | 'error-after' | 'short' | undefined;
}

/** Node-style descriptions of error codes (libuv's strerror), for injected errors' messages. */
let descriptions: Map<string, string> | undefined;

function describe(code: string): string | undefined {
  if (descriptions === undefined) {
    descriptions = new Map();
    for (const [name, text] of getSystemErrorMap().values()) descriptions.set(name, text);
  }
  return descriptions.get(code);
}

interface Target {
  readonly path?: string | undefined;
  readonly dest?: string | undefined;
  readonly fd?: number | undefined;
}

interface RuleState {
  readonly rule: FaultRule;
  readonly syscalls: ReadonlySet<FaultSyscall>;
  readonly times: number;
  seen: number;
  fired: number;
}

/** What the Node error names the syscall, where it differs from the Backend method (as {@link OsBackend} reports it). */
const KERNEL_NAMES: Partial<Record<FaultSyscall, string>> = { readdir: 'scandir', utimes: 'utime', reserve: 'dup', reserveAt: 'dup2', fdInfo: 'fdinfo' };

function validate(rule: FaultRule): RuleState {
  const list = typeof rule.syscall === 'string' ? [rule.syscall] : rule.syscall;
  const bad = (why: string): never => {
    throw new TypeError(`FaultyBackend: invalid rule for ${list.join('/')}: ${why}`);
  };
  if (list.length === 0) bad('no syscall');
  const effects = [rule.code, rule.shortWrite, rule.shortRead].filter((x) => x !== undefined).length;
  if (effects !== 1) bad('give exactly one of code, shortWrite, shortRead');
  if (rule.code !== undefined && !/^E[A-Z0-9]+$/.test(rule.code)) bad(`'${rule.code}' is not an error code`);
  if (rule.after === true && rule.code === undefined) bad('after needs code');
  if (rule.shortWrite !== undefined && list.some((s) => s !== 'write')) bad('shortWrite applies to write only');
  if (rule.shortRead !== undefined && list.some((s) => s !== 'read')) bad('shortRead applies to read only');
  for (const n of [rule.shortWrite, rule.shortRead]) if (typeof n === 'number' && !(Number.isSafeInteger(n) && n >= 0)) bad('a short transfer needs a non-negative integer or \'half\'');
  if (rule.nth !== undefined && !(Number.isSafeInteger(rule.nth) && rule.nth >= 1)) bad('nth must be a positive integer');
  if (rule.nth !== undefined && rule.every !== undefined) bad('give nth or every, not both');
  if (typeof rule.every === 'number' && !(Number.isSafeInteger(rule.every) && rule.every >= 1)) bad('every must be true or a positive integer');
  if (rule.times !== undefined && !(rule.times >= 0)) bad('times must be a non-negative number');
  return { rule, syscalls: new Set(list), times: rule.times ?? (rule.nth !== undefined ? 1 : Infinity), seen: 0, fired: 0 };
}

function matchPath(m: PathMatcher, p: string): boolean {
  if (typeof m === 'string') return m === p;
  if (m instanceof RegExp) {
    m.lastIndex = 0; // a /g or /y expression would otherwise remember the last match
    return m.test(p);
  }
  return m(p);
}

/**
 * A {@link Backend} wrapper that injects faults: `new FaultyBackend(inner, rules)` behaves exactly like
 * `inner` except where one of the {@link FaultRule}s fires. It also logs every call ({@link FaultyBackend.calls})
 * and counts the descriptors handed out and closed ({@link FaultyBackend.opened}, {@link FaultyBackend.closed}),
 * so a test can check that code closes what it opens even when things fail.
 *
 * ```ts
 * const faulty = new FaultyBackend(new OsBackend(), [{ syscall: 'write', nth: 2, code: 'ENOSPC' }]);
 * const table = new FileTable({ backend: faulty });
 * ```
 *
 * Injected errors are {@link FsError}s shaped like the inner backend's own: `code`, `errno`, `syscall`
 * (the kernel's name: `open`, `write`, `scandir`…), `path`/`dest` for path calls, `fd` for descriptor
 * calls, and a message like Node's (`ENOSPC: no space left on device, write (fd 7)`).
 * {@link FaultyBackend.injected} tells them apart from real ones.
 *
 * Descriptors opened through the wrapper (`open`, `reserve`, `reserveAt`, `reopen`) remember their path
 * until closed, so rules with `path` also match reads, writes, fsyncs… on them.
 */
export class FaultyBackend implements Backend {
  /** `faulty(<inner name>)`. */
  readonly name: string;
  /** The backend every call goes to. */
  readonly inner: Backend;
  /** Every call seen, oldest first (see {@link FaultCall}); {@link FaultyBackend.clearCalls} empties it. */
  readonly calls: FaultCall[] = [];

  private rules: RuleState[] = [];
  private readonly paths = new Map<number, string | undefined>();
  private openedCount = 0;
  private closedCount = 0;
  private readonly injectedErrors = new WeakSet<object>();

  constructor(inner: Backend, rules: readonly FaultRule[] = []) {
    this.inner = inner;
    this.name = `faulty(${inner.name})`;
    for (const r of rules) this.addRule(r);
  }

  // ---------------------------------------------------------------- rules and accounting

  /** Adds a rule after the existing ones (its call count starts at 0). Throws a TypeError for an invalid rule. */
  addRule(rule: FaultRule): this {
    this.rules.push(validate(rule));
    return this;
  }

  /** Removes every rule: from now on every call goes straight through. */
  clearRules(): this {
    this.rules = [];
    return this;
  }

  /** How many times each rule has fired so far, in the order the rules were added. */
  fired(): number[] {
    return this.rules.map((r) => r.fired);
  }

  /** Empties {@link FaultyBackend.calls}. */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /**
   * How many descriptors the wrapper has handed out: successful `open`s, `reserve`s, `reopen`s,
   * `reserveAt`s that took their number, and both ends of each `pipe`.
   */
  opened(): number {
    return this.openedCount;
  }

  /**
   * How many of those have been closed: successful `close`s, `close`s that closed and then reported an
   * injected error (`after: true`), and numbers a `reserveAt` with `replace` closed. Descriptors the
   * wrapper did not hand out (adopted from elsewhere) are not counted.
   */
  closed(): number {
    return this.closedCount;
  }

  /** The descriptors handed out by the wrapper and not closed yet, ascending. */
  openFds(): number[] {
    return [...this.paths.keys()].sort((a, b) => a - b);
  }

  /** The path descriptor `fd` was opened with through the wrapper, if it is open and was. */
  pathOf(fd: number): string | undefined {
    return this.paths.get(fd);
  }

  /** Whether `err` is an error this wrapper injected (rather than one from the inner backend). */
  injected(err: unknown): boolean {
    return typeof err === 'object' && err !== null && this.injectedErrors.has(err);
  }

  /** Finds the rule that fires for this call, counting the call for every rule it matches. */
  private decide(syscall: FaultSyscall, target: Target): RuleState | undefined {
    let firing: RuleState | undefined;
    for (const s of this.rules) {
      if (!s.syscalls.has(syscall)) continue;
      const m = s.rule.path;
      if (m !== undefined) {
        const hit = (target.path !== undefined && matchPath(m, target.path)) || (target.dest !== undefined && matchPath(m, target.dest));
        if (!hit) continue;
      }
      s.seen++;
      if (firing !== undefined || s.fired >= s.times) continue;
      const { nth, every } = s.rule;
      const fires = nth !== undefined ? s.seen >= nth : typeof every === 'number' ? s.seen % every === 0 : true;
      if (fires) {
        s.fired++;
        firing = s;
      }
    }
    return firing;
  }

  private makeError(syscall: FaultSyscall, target: Target, rule: FaultRule): FsError {
    const code = rule.code ?? 'EIO';
    const kernel = KERNEL_NAMES[syscall] ?? syscall;
    const description = describe(code) ?? 'unknown error';
    // The description reaches the message through the cause, as it does for errors node:fs raised.
    const cause = new Error(`${code}: ${description}, ${kernel} (injected by FaultyBackend)`);
    const isFdCall = target.fd !== undefined;
    const e = new FsError({
      code,
      syscall: kernel,
      path: isFdCall ? undefined : target.path,
      dest: isFdCall ? undefined : target.dest,
      fd: target.fd,
      detail: rule.detail,
      cause,
    });
    this.injectedErrors.add(e);
    return e;
  }

  private log(syscall: FaultSyscall, sync: boolean, target: Target): FaultCall {
    const call: FaultCall = { syscall, sync, path: target.path, dest: target.dest, fd: target.fd, result: undefined, error: undefined, fault: undefined };
    this.calls.push(call);
    return call;
  }

  private fdTarget(fd: number): Target {
    return { fd, path: this.paths.get(fd) };
  }

  /**
   * Runs one synchronous call. `effect` applies what the call did to the wrapper's accounting (a new
   * descriptor, a closed one); it runs after the real call whether or not an error is injected after it.
   */
  private runSync<T>(syscall: FaultSyscall, target: Target, real: () => T, effect?: (value: T) => void, orphans?: (value: T) => number[]): T {
    const call = this.log(syscall, true, target);
    const s = this.decide(syscall, target);
    if (s !== undefined && s.rule.code !== undefined && s.rule.after !== true) {
      call.fault = 'error';
      call.error = s.rule.code;
      throw this.makeError(syscall, target, s.rule);
    }
    let value: T;
    try {
      value = real();
    } catch (e) {
      call.error = codeOf(e);
      throw e;
    }
    return this.completed(call, syscall, target, s, value, effect, orphans);
  }

  /**
   * After the real call succeeded: logs its result, runs its bookkeeping, and, for an `after: true`
   * rule, reports the injected error anyway (closing descriptors the caller will never learn of).
   */
  private completed<T>(call: FaultCall, syscall: FaultSyscall, target: Target, s: RuleState | undefined, value: T, effect?: (value: T) => void, orphans?: (value: T) => number[]): T {
    if (typeof value === 'number') call.result = value;
    effect?.(value);
    if (s !== undefined) {
      call.fault = 'error-after';
      call.error = s.rule.code;
      if (orphans !== undefined) this.closeOrphans(orphans(value));
      throw this.makeError(syscall, target, s.rule);
    }
    return value;
  }

  /** Closes descriptors a call created but reported as failed (an injected error after the call). */
  private closeOrphans(fds: readonly number[]): void {
    for (const fd of fds) {
      try {
        this.inner.closeSync(fd);
      } catch {
        // the injected error is what the caller sees
      }
      this.untrack(fd);
    }
  }

  /** Promise form of {@link FaultyBackend.runSync}: the rule is decided when the call is made. */
  private runAsync<T>(syscall: FaultSyscall, target: Target, real: () => Promise<T>, effect?: (value: T) => void, orphans?: (value: T) => number[]): Promise<T> {
    const call = this.log(syscall, false, target);
    const s = this.decide(syscall, target);
    if (s !== undefined && s.rule.code !== undefined && s.rule.after !== true) {
      call.fault = 'error';
      call.error = s.rule.code;
      return rejected(this.makeError(syscall, target, s.rule));
    }
    let p: Promise<T>;
    try {
      p = real();
    } catch (e) {
      call.error = codeOf(e);
      return rejected(e);
    }
    return p.then(
      (value) => this.completed(call, syscall, target, s, value, effect, orphans),
      (e: unknown) => {
        call.error = codeOf(e);
        throw e;
      },
    );
  }

  /** The byte count a short-transfer rule allows out of `length`, or `length` when no such rule fires. */
  private shortLength(syscall: 'read' | 'write', sync: boolean, target: Target, length: number): { call: FaultCall; length: number; error: FsError | undefined; after: FaultRule | undefined } {
    const call = this.log(syscall, sync, target);
    const s = this.decide(syscall, target);
    if (s === undefined) return { call, length, error: undefined, after: undefined };
    const r = s.rule;
    if (r.code !== undefined) {
      if (r.after === true) return { call, length, error: undefined, after: r };
      call.fault = 'error';
      call.error = r.code;
      return { call, length, error: this.makeError(syscall, target, r), after: undefined };
    }
    const n = syscall === 'write' ? r.shortWrite : r.shortRead;
    call.fault = 'short';
    return { call, length: n === 'half' || n === undefined ? Math.floor(length / 2) : Math.min(n, length), error: undefined, after: undefined };
  }

  private transferSync(syscall: 'read' | 'write', fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number {
    const target = this.fdTarget(fd);
    const plan = this.shortLength(syscall, true, target, length);
    if (plan.error !== undefined) throw plan.error;
    let n: number;
    try {
      n = syscall === 'read' ? this.inner.readSync(fd, buffer, offset, plan.length, position) : this.inner.writeSync(fd, buffer, offset, plan.length, position);
    } catch (e) {
      plan.call.error = codeOf(e);
      throw e;
    }
    plan.call.result = n;
    if (plan.after !== undefined) {
      plan.call.fault = 'error-after';
      plan.call.error = plan.after.code;
      throw this.makeError(syscall, target, plan.after);
    }
    return n;
  }

  private transfer(syscall: 'read' | 'write', fd: number, buffer: Bytes, offset: number, length: number, position: number | null): Promise<number> {
    const target = this.fdTarget(fd);
    const plan = this.shortLength(syscall, false, target, length);
    if (plan.error !== undefined) return rejected(plan.error);
    let p: Promise<number>;
    try {
      p = syscall === 'read' ? this.inner.read(fd, buffer, offset, plan.length, position) : this.inner.write(fd, buffer, offset, plan.length, position);
    } catch (e) {
      plan.call.error = codeOf(e);
      return rejected(e);
    }
    return p.then(
      (n) => {
        plan.call.result = n;
        if (plan.after !== undefined) {
          plan.call.fault = 'error-after';
          plan.call.error = plan.after.code;
          throw this.makeError(syscall, target, plan.after);
        }
        return n;
      },
      (e: unknown) => {
        plan.call.error = codeOf(e);
        throw e;
      },
    );
  }

  private track(path: string | undefined): (fd: number) => void {
    return (fd) => {
      this.paths.set(fd, path);
      this.openedCount++;
    };
  }

  private untrack(fd: number): void {
    if (this.paths.delete(fd)) this.closedCount++;
  }

  // ---------------------------------------------------------------- Backend

  openSync(path: string, flags: number, mode?: number): number {
    return this.runSync('open', { path }, () => this.inner.openSync(path, flags, mode), this.track(path), single);
  }
  open(path: string, flags: number, mode?: number): Promise<number> {
    return this.runAsync('open', { path }, () => this.inner.open(path, flags, mode), this.track(path), single);
  }
  // The number is untracked when the real close is issued, not when it completes: close(2) frees it at
  // once (even when it reports an error), and a concurrent open may be handed it before the promise settles.
  closeSync(fd: number): void {
    this.runSync('close', this.fdTarget(fd), () => {
      this.untrack(fd);
      this.inner.closeSync(fd);
    });
  }
  close(fd: number): Promise<void> {
    return this.runAsync('close', this.fdTarget(fd), () => {
      this.untrack(fd);
      return this.inner.close(fd);
    });
  }

  readSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number {
    return this.transferSync('read', fd, buffer, offset, length, position);
  }
  read(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): Promise<number> {
    return this.transfer('read', fd, buffer, offset, length, position);
  }
  writeSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number {
    return this.transferSync('write', fd, buffer, offset, length, position);
  }
  write(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): Promise<number> {
    return this.transfer('write', fd, buffer, offset, length, position);
  }

  fstatSync(fd: number): FileStat {
    return this.runSync('fstat', this.fdTarget(fd), () => this.inner.fstatSync(fd));
  }
  fstat(fd: number): Promise<FileStat> {
    return this.runAsync('fstat', this.fdTarget(fd), () => this.inner.fstat(fd));
  }
  statSync(path: string): FileStat {
    return this.runSync('stat', { path }, () => this.inner.statSync(path));
  }
  stat(path: string): Promise<FileStat> {
    return this.runAsync('stat', { path }, () => this.inner.stat(path));
  }
  lstatSync(path: string): FileStat {
    return this.runSync('lstat', { path }, () => this.inner.lstatSync(path));
  }
  lstat(path: string): Promise<FileStat> {
    return this.runAsync('lstat', { path }, () => this.inner.lstat(path));
  }

  ftruncateSync(fd: number, length: number): void {
    this.runSync('ftruncate', this.fdTarget(fd), () => { this.inner.ftruncateSync(fd, length); });
  }
  ftruncate(fd: number, length: number): Promise<void> {
    return this.runAsync('ftruncate', this.fdTarget(fd), () => this.inner.ftruncate(fd, length));
  }
  fsyncSync(fd: number): void {
    this.runSync('fsync', this.fdTarget(fd), () => { this.inner.fsyncSync(fd); });
  }
  fsync(fd: number): Promise<void> {
    return this.runAsync('fsync', this.fdTarget(fd), () => this.inner.fsync(fd));
  }
  fdatasyncSync(fd: number): void {
    this.runSync('fdatasync', this.fdTarget(fd), () => { this.inner.fdatasyncSync(fd); });
  }
  fdatasync(fd: number): Promise<void> {
    return this.runAsync('fdatasync', this.fdTarget(fd), () => this.inner.fdatasync(fd));
  }

  renameSync(oldPath: string, newPath: string): void {
    this.runSync('rename', { path: oldPath, dest: newPath }, () => { this.inner.renameSync(oldPath, newPath); });
  }
  rename(oldPath: string, newPath: string): Promise<void> {
    return this.runAsync('rename', { path: oldPath, dest: newPath }, () => this.inner.rename(oldPath, newPath));
  }
  unlinkSync(path: string): void {
    this.runSync('unlink', { path }, () => { this.inner.unlinkSync(path); });
  }
  unlink(path: string): Promise<void> {
    return this.runAsync('unlink', { path }, () => this.inner.unlink(path));
  }
  linkSync(existingPath: string, newPath: string): void {
    this.runSync('link', { path: existingPath, dest: newPath }, () => { this.inner.linkSync(existingPath, newPath); });
  }
  link(existingPath: string, newPath: string): Promise<void> {
    return this.runAsync('link', { path: existingPath, dest: newPath }, () => this.inner.link(existingPath, newPath));
  }
  symlinkSync(target: string, path: string): void {
    this.runSync('symlink', { path: target, dest: path }, () => { this.inner.symlinkSync(target, path); });
  }
  symlink(target: string, path: string): Promise<void> {
    return this.runAsync('symlink', { path: target, dest: path }, () => this.inner.symlink(target, path));
  }
  readlinkSync(path: string): string {
    return this.runSync('readlink', { path }, () => this.inner.readlinkSync(path));
  }
  readlink(path: string): Promise<string> {
    return this.runAsync('readlink', { path }, () => this.inner.readlink(path));
  }
  mkdirSync(path: string, mode?: number): void {
    this.runSync('mkdir', { path }, () => { this.inner.mkdirSync(path, mode); });
  }
  mkdir(path: string, mode?: number): Promise<void> {
    return this.runAsync('mkdir', { path }, () => this.inner.mkdir(path, mode));
  }
  rmdirSync(path: string): void {
    this.runSync('rmdir', { path }, () => { this.inner.rmdirSync(path); });
  }
  rmdir(path: string): Promise<void> {
    return this.runAsync('rmdir', { path }, () => this.inner.rmdir(path));
  }
  readdirSync(path: string): string[] {
    return this.runSync('readdir', { path }, () => this.inner.readdirSync(path));
  }
  readdir(path: string): Promise<string[]> {
    return this.runAsync('readdir', { path }, () => this.inner.readdir(path));
  }
  chmodSync(path: string, mode: number): void {
    this.runSync('chmod', { path }, () => { this.inner.chmodSync(path, mode); });
  }
  chmod(path: string, mode: number): Promise<void> {
    return this.runAsync('chmod', { path }, () => this.inner.chmod(path, mode));
  }
  fchmodSync(fd: number, mode: number): void {
    this.runSync('fchmod', this.fdTarget(fd), () => { this.inner.fchmodSync(fd, mode); });
  }
  fchmod(fd: number, mode: number): Promise<void> {
    return this.runAsync('fchmod', this.fdTarget(fd), () => this.inner.fchmod(fd, mode));
  }
  fchownSync(fd: number, uid: number, gid: number): void {
    this.runSync('fchown', this.fdTarget(fd), () => { this.inner.fchownSync(fd, uid, gid); });
  }
  fchown(fd: number, uid: number, gid: number): Promise<void> {
    return this.runAsync('fchown', this.fdTarget(fd), () => this.inner.fchown(fd, uid, gid));
  }
  utimesSync(path: string, atime: TimeLike, mtime: TimeLike): void {
    this.runSync('utimes', { path }, () => { this.inner.utimesSync(path, atime, mtime); });
  }
  utimes(path: string, atime: TimeLike, mtime: TimeLike): Promise<void> {
    return this.runAsync('utimes', { path }, () => this.inner.utimes(path, atime, mtime));
  }

  // ---------------------------------------------------------------- descriptor-table support

  reserveSync(fd: number): number {
    const path = this.paths.get(fd);
    return this.runSync('reserve', this.fdTarget(fd), () => this.inner.reserveSync(fd), this.track(path), single);
  }

  reserveAtSync(target: number, fd: number, replace: boolean): boolean {
    const path = this.paths.get(fd);
    const wasOpen = this.paths.has(target);
    return this.runSync('reserveAt', { fd: target, path }, () => this.inner.reserveAtSync(target, fd, replace), (took) => {
      // Whatever happens past the swap, a replaced number was closed; `took` says whether it was taken again.
      if (wasOpen && replace) this.untrack(target);
      if (took) this.track(path)(target);
    });
  }

  reopenSync(fd: number, flags: number): number {
    const path = this.paths.get(fd);
    return this.runSync('reopen', this.fdTarget(fd), () => this.inner.reopenSync(fd, flags), this.track(path), single);
  }

  pipeSync(): [number, number] {
    return this.runSync('pipe', {}, () => this.inner.pipeSync(), ([r, w]) => {
      this.track(undefined)(r);
      this.track(undefined)(w);
    }, (ends) => [...ends]);
  }

  fdInfoSync(fd: number): FdInfo {
    return this.runSync('fdInfo', this.fdTarget(fd), () => this.inner.fdInfoSync(fd));
  }
}

function single(fd: number): number[] {
  return [fd];
}

function codeOf(e: unknown): string | undefined {
  const code = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'thrown';
}
