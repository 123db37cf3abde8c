/**
 * A {@link Backend} that delegates to another one and injects failures where rules say: ENOSPC on the
 * third write, EIO from an fsync that did write, a short write, EMFILE from the first open under a
 * directory… For testing how code above the Backend interface copes with the errors real systems give.
 *
 * @module
 */
import { getSystemErrorMap } from 'node:util';
import { TWIN_METHODS, type Backend, type FdInfo, type TwinMethod, type TwinSyncMethod } from './backend.js';
import { FsError } from '../errors/fs-error.js';
import { call, now, runAsync, runSync, type Protocol } from '../protocol/run.js';
import { WRAPPED } from './on-os.js';

/**
 * The calls a {@link FaultRule} can select: the {@link Backend} method names without `Sync` (a rule
 * selects the synchronous and the promise form alike).
 */
export type FaultSyscall = TwinMethod | 'reserve' | 'reserveAt' | 'reopen' | 'pipe' | 'fdInfo';

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

/** How the wrapper sees one call: what it is about, and what it does to the wrapper's accounting. */
interface Plan<T> {
  readonly target: Target;
  /** For read and write: the length asked for (what a short-transfer rule shortens). */
  readonly length?: number | undefined;
  /** Bookkeeping when the real call is issued. */
  readonly before?: () => void;
  /** Bookkeeping after the real call succeeded (a new descriptor, a closed one), even if an error is injected after it. */
  readonly effect?: (value: T) => void;
  /** The descriptors a successful call created, closed again when an error is injected after it. */
  readonly orphans?: (value: T) => number[];
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
const KERNEL_NAMES: Partial<Record<FaultSyscall, string>> = {
  readdir: 'scandir',
  utimes: 'utime',
  reserve: 'dup',
  reserveAt: 'dup2',
  fdInfo: 'fdinfo',
};

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
  for (const n of [rule.shortWrite, rule.shortRead])
    if (typeof n === 'number' && !(Number.isSafeInteger(n) && n >= 0))
      bad("a short transfer needs a non-negative integer or 'half'");
  if (rule.nth !== undefined && !(Number.isSafeInteger(rule.nth) && rule.nth >= 1))
    bad('nth must be a positive integer');
  if (rule.nth !== undefined && rule.every !== undefined) bad('give nth or every, not both');
  if (typeof rule.every === 'number' && !(Number.isSafeInteger(rule.every) && rule.every >= 1))
    bad('every must be true or a positive integer');
  if (rule.times !== undefined && !(rule.times >= 0)) bad('times must be a non-negative number');
  return {
    rule,
    syscalls: new Set(list),
    times: rule.times ?? (rule.nth !== undefined ? 1 : Infinity),
    seen: 0,
    fired: 0,
  };
}

function matchPath(m: PathMatcher, p: string): boolean {
  if (typeof m === 'string') return m === p;
  if (m instanceof RegExp) {
    m.lastIndex = 0; // a /g or /y expression would otherwise remember the last match
    return m.test(p);
  }
  return m(p);
}

/* eslint-disable @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type --
   the interface declares what the class's static block installs on the prototype */
/**
 * Both forms of every twinned {@link Backend} call (`open` and `openSync`…), installed on the prototype
 * by the class's static block from one protocol each; this declaration tells the compiler they exist.
 */
export interface FaultyBackend extends Pick<Backend, TwinMethod | TwinSyncMethod> {}
/* eslint-enable @typescript-eslint/no-empty-object-type */

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
    WRAPPED.set(this, inner);
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
        const hit =
          (target.path !== undefined && matchPath(m, target.path)) ||
          (target.dest !== undefined && matchPath(m, target.dest));
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
    const call: FaultCall = {
      syscall,
      sync,
      path: target.path,
      dest: target.dest,
      fd: target.fd,
      result: undefined,
      error: undefined,
      fault: undefined,
    };
    this.calls.push(call);
    return call;
  }

  private fdTarget(fd: number): Target {
    return { fd, path: this.paths.get(fd) };
  }

  /**
   * One call through the wrapper, written once for both forms: logs it, decides which rule fires,
   * injects the rule's error before the real call, or shortens its transfer, or lets it through (`real`
   * yields it; `length` is the shortened length of a short transfer), then applies its bookkeeping and
   * an `after: true` error. Run by `runSync` for a synchronous form and `runAsync` for a promise form,
   * which decides the rule and issues the real call when the method is called, not a tick later.
   */
  private *guarded<T>(
    syscall: FaultSyscall,
    sync: boolean,
    plan: Plan<T>,
    real: (length: number | undefined) => Protocol<T>,
  ): Protocol<T> {
    const { target } = plan;
    const record = this.log(syscall, sync, target);
    const rule = this.decide(syscall, target)?.rule;
    let length: number | undefined;
    if (rule !== undefined) {
      if (rule.code !== undefined && rule.after !== true) {
        record.fault = 'error';
        record.error = rule.code;
        throw this.makeError(syscall, target, rule);
      }
      if (rule.code === undefined) {
        // A short transfer (validate() allows shortRead and shortWrite on read and write only).
        const n = syscall === 'write' ? rule.shortWrite : rule.shortRead;
        const asked = plan.length ?? 0;
        length = n === 'half' || n === undefined ? Math.floor(asked / 2) : Math.min(n, asked);
        record.fault = 'short';
      }
    }
    plan.before?.();
    let value: T;
    try {
      value = yield* real(length);
    } catch (e) {
      record.error = codeOf(e);
      throw e;
    }
    if (typeof value === 'number') record.result = value;
    plan.effect?.(value);
    if (rule?.code !== undefined) {
      // after: true — the call happened; report the error anyway, closing descriptors the caller will never learn of.
      record.fault = 'error-after';
      record.error = rule.code;
      if (plan.orphans !== undefined) this.closeOrphans(plan.orphans(value));
      throw this.makeError(syscall, target, rule);
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

  /** What a twinned call is about and what it does to the accounting, from its arguments. */
  private plan(name: TwinMethod, args: readonly unknown[]): Plan<unknown> {
    const shape = SHAPES[name];
    const first = args[0];
    if (shape === 'fd') {
      const fd = first as number;
      // The number is untracked when the real close is issued, not when it completes: close(2) frees it at
      // once (even when it reports an error), and a concurrent open may be handed it before the promise settles.
      if (name === 'close')
        return {
          target: this.fdTarget(fd),
          before: () => {
            this.untrack(fd);
          },
        };
      return {
        target: this.fdTarget(fd),
        length: name === 'read' || name === 'write' ? (args[3] as number) : undefined,
      };
    }
    const path = first as string;
    if (shape === 'paths') return { target: { path, dest: args[1] as string } };
    if (name === 'open')
      return {
        target: { path },
        effect: this.track(path) as (value: unknown) => void,
        orphans: single as (value: unknown) => number[],
      };
    return { target: { path } };
  }

  /** Both forms of every twinned Backend method, installed on the prototype by the static block below. */
  private twin(name: TwinMethod, sync: boolean, args: unknown[]): unknown {
    const inner = this.inner;
    const protocol = this.guarded(name, sync, this.plan(name, args), (length) => {
      if (length !== undefined) args[3] = length; // `args` is this call's own rest array
      // Reflect.apply calls each form as a method of `inner`.
      return call(
        // eslint-disable-next-line @typescript-eslint/unbound-method
        (): unknown => Reflect.apply(inner[`${name}Sync`], inner, args),
        // eslint-disable-next-line @typescript-eslint/unbound-method
        () => Reflect.apply(inner[name], inner, args) as Promise<unknown>,
      );
    });
    return sync ? runSync(protocol) : runAsync(protocol);
  }

  /** A Backend call that has a synchronous form only. */
  private syncOnly<T>(syscall: FaultSyscall, plan: Plan<T>, real: () => T): T {
    return runSync(this.guarded(syscall, true, plan, () => now(real)));
  }

  /** Installs both forms of every twinned call: each runs {@link FaultyBackend.guarded} through `twin`. */
  static {
    for (const name of TWIN_METHODS) {
      const install = (key: string, sync: boolean): void => {
        Object.defineProperty(FaultyBackend.prototype, key, {
          configurable: true,
          writable: true,
          value: {
            [key](this: FaultyBackend, ...args: unknown[]): unknown {
              return this.twin(name, sync, args);
            },
          }[key],
        });
      };
      install(`${name}Sync`, true);
      install(name, false);
    }
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

  // ---------------------------------------------------------------- descriptor-table support

  reserveSync(fd: number): number {
    const path = this.paths.get(fd);
    return this.syncOnly('reserve', { target: this.fdTarget(fd), effect: this.track(path), orphans: single }, () =>
      this.inner.reserveSync(fd),
    );
  }

  reserveAtSync(target: number, fd: number, replace: boolean): boolean {
    const path = this.paths.get(fd);
    const wasOpen = this.paths.has(target);
    const effect = (took: boolean): void => {
      // Whatever happens past the swap, a replaced number was closed; `took` says whether it was taken again.
      if (wasOpen && replace) this.untrack(target);
      if (took) this.track(path)(target);
    };
    return this.syncOnly('reserveAt', { target: { fd: target, path }, effect }, () =>
      this.inner.reserveAtSync(target, fd, replace),
    );
  }

  reopenSync(fd: number, flags: number): number {
    const path = this.paths.get(fd);
    return this.syncOnly('reopen', { target: this.fdTarget(fd), effect: this.track(path), orphans: single }, () =>
      this.inner.reopenSync(fd, flags),
    );
  }

  pipeSync(): [number, number] {
    const effect = ([r, w]: [number, number]): void => {
      this.track(undefined)(r);
      this.track(undefined)(w);
    };
    return this.syncOnly('pipe', { target: {}, effect, orphans: (ends) => [...ends] }, () => this.inner.pipeSync());
  }

  fdInfoSync(fd: number): FdInfo {
    return this.syncOnly('fdInfo', { target: this.fdTarget(fd) }, () => this.inner.fdInfoSync(fd));
  }
}

/* eslint-enable @typescript-eslint/no-unsafe-declaration-merging */

/** What each twinned call is about: a path, two paths (the second one `dest`), or a descriptor. */
const SHAPES: Record<TwinMethod, 'path' | 'paths' | 'fd'> = {
  open: 'path',
  close: 'fd',
  read: 'fd',
  write: 'fd',
  fstat: 'fd',
  stat: 'path',
  lstat: 'path',
  ftruncate: 'fd',
  fsync: 'fd',
  fdatasync: 'fd',
  rename: 'paths',
  unlink: 'path',
  link: 'paths',
  symlink: 'paths',
  readlink: 'path',
  mkdir: 'path',
  rmdir: 'path',
  readdir: 'path',
  chmod: 'path',
  fchmod: 'fd',
  fchown: 'fd',
  utimes: 'path',
};

function single(fd: number): number[] {
  return [fd];
}

function codeOf(e: unknown): string | undefined {
  const code = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'thrown';
}
