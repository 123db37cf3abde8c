import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FsError } from '../errors/fs-error.js';
import { OpenHandle, formatLeakReport, type LeakReportOptions } from '../diagnostics/leak-report.js';
import { OpenSite } from '../diagnostics/open-site.js';
import { FdRecord, type NodeFsOpenApi } from './fd-record.js';
import { OpenCountSeries, type OpenCountPoint } from './open-count-series.js';
import { nodeModule } from '../process/builtins.js';

/** Options of {@link trackNodeFs}. */
export interface NodeFsTrackerOptions {
  /**
   * Also record how many tracked descriptors were open over time ({@link NodeFsTracker.series}), for
   * the HTML report's chart. Costs one timestamp per open and close. Default false.
   */
  series?: boolean;
}

/** Counters of a {@link NodeFsTracker} since it was installed. */
export interface NodeFsTrackerStats {
  /** Descriptors opened through the tracked calls. */
  readonly opened: number;
  /** Of those, closed through `fs.close`, `fs.closeSync` or `FileHandle.close()` (streams close with `fs.close`). */
  readonly closed: number;
  /** FileHandles the garbage collector reclaimed while open (Node closes their descriptor, with a warning). */
  readonly gcClosed: number;
  /** Numbers found closed by something other than node:fs when a report checked them (see {@link NodeFsTracker.reconcile}). */
  readonly closedElsewhere: number;
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The node:fs functions the tracker replaces, by where they live: the module object itself, which every
 * `require('node:fs')` and default import share. Patched there, not through this module's import: in the
 * bundled build an import is a view of the built-in (scripts/build.mjs), and a write to it would stay in
 * the view.
 */
const fsModule = (): Record<string, unknown> => process.getBuiltinModule('node:fs');
/** `fs.promises`, read when a tracker is installed: reading it loads node:fs/promises (not at import). */
const promisesModule = (): Record<string, unknown> => process.getBuiltinModule('node:fs').promises;

/** How many FileHandles reclaimed by the GC are kept for the report (the count is always exact). */
const MAX_GC_RECORDS = 1000;

/** The tracker the wrappers report to; `undefined` makes every wrapper a plain pass-through. */
let current: NodeFsTracker | undefined;
/**
 * True while a wrapper is inside the call it wraps. A wrapper that finds it set passes straight through:
 * that happens only when our wrappers are stacked (another library wrapped ours, and we were installed
 * again on top), and each descriptor must be recorded once.
 */
let inside = false;
/** The functions that were in place before the wrappers, by property name. */
const originals = new Map<string, AnyFunction>();

function original(key: string): AnyFunction {
  const f = originals.get(key);
  if (f === undefined) throw new Error(`fdkeeper: node:fs ${key} was not captured`);
  return f;
}

function callInside(fn: AnyFunction, self: unknown, args: unknown[]): unknown {
  inside = true;
  try {
    return Reflect.apply(fn, self, args);
  } finally {
    inside = false;
  }
}

// ---------------------------------------------------------------- the wrappers
// Each wrapper calls the original with the caller's own `this` and arguments (fs.open looks at
// `arguments.length`), so the app sees exactly what it saw before. Sites are captured in the wrapper,
// synchronously, while the caller's frames are still on the stack.

function openSync(this: unknown, ...args: unknown[]): unknown {
  const t = current;
  if (t === undefined || inside) return Reflect.apply(original('openSync'), this, args);
  const fd = callInside(original('openSync'), this, args);
  if (typeof fd === 'number') t.add(fd, args[0], args[1], 'openSync', OpenSite.capture(openSync));
  return fd;
}

function closeSync(this: unknown, ...args: unknown[]): unknown {
  // Forgotten before the close is issued: once close(2) runs the kernel may hand the number to the
  // next open, and that record must not be the one removed.
  if (current !== undefined && !inside && typeof args[0] === 'number') current.remove(args[0]);
  return Reflect.apply(original('closeSync'), this, args);
}

function open(this: unknown, ...args: unknown[]): unknown {
  const t = current;
  const last = args.length - 1;
  const callback = args[last];
  if (t === undefined || inside || typeof callback !== 'function') return Reflect.apply(original('open'), this, args);
  const site = OpenSite.capture(open);
  const path = args[0];
  // fs.open(path, cb) opens read-only; with three or more arguments the second is the flags.
  const flags = args.length < 3 ? undefined : args[1];
  args[last] = function openCallback(this: unknown, ...result: unknown[]): unknown {
    const [err, fd] = result;
    if ((err === null || err === undefined) && typeof fd === 'number' && current === t)
      t.add(fd, path, flags, 'open', site);
    return Reflect.apply(callback as AnyFunction, this, result);
  };
  return callInside(original('open'), this, args);
}

function close(this: unknown, ...args: unknown[]): unknown {
  if (current !== undefined && !inside && typeof args[0] === 'number') current.remove(args[0]);
  return Reflect.apply(original('close'), this, args);
}

function promisesOpen(this: unknown, ...args: unknown[]): unknown {
  const t = current;
  if (t === undefined || inside) return Reflect.apply(original('promises.open'), this, args);
  const site = OpenSite.capture(promisesOpen);
  const pending = callInside(original('promises.open'), this, args) as Promise<FileHandle>;
  return pending.then((handle) => {
    if (current === t) t.addHandle(handle, args[0], args[1], site);
    return handle;
  });
}

/**
 * Streams open in a later tick (`_construct`), where the stack no longer shows who created them; the
 * site is captured here and given to the record when the stream announces its descriptor ('open' is
 * emitted synchronously in fs.open's callback, right after the open wrapper recorded the number).
 */
function streamWrapper(key: 'createReadStream' | 'createWriteStream'): AnyFunction {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const t = current;
    if (t === undefined || inside) return Reflect.apply(original(key), this, args);
    const stream = callInside(original(key), this, args) as { fd?: unknown; once?: unknown } | null;
    if (stream !== null && typeof stream === 'object' && stream.fd === null && typeof stream.once === 'function') {
      const site = OpenSite.capture(wrapper);
      (stream as NodeJS.EventEmitter).once('open', (fd: number) => {
        if (current === t) t.attribute(fd, key, site);
      });
    }
    return stream;
  };
  Object.defineProperty(wrapper, 'name', { value: key });
  return wrapper;
}

/** Where each wrapper goes: the object, the property, the key of its original. */
const PATCHES: readonly {
  readonly target: () => Record<string, unknown>;
  readonly prop: string;
  readonly key: string;
  readonly wrapper: AnyFunction;
}[] = [
  { target: fsModule, prop: 'openSync', key: 'openSync', wrapper: openSync },
  { target: fsModule, prop: 'closeSync', key: 'closeSync', wrapper: closeSync },
  { target: fsModule, prop: 'open', key: 'open', wrapper: open },
  { target: fsModule, prop: 'close', key: 'close', wrapper: close },
  { target: fsModule, prop: 'createReadStream', key: 'createReadStream', wrapper: streamWrapper('createReadStream') },
  {
    target: fsModule,
    prop: 'createWriteStream',
    key: 'createWriteStream',
    wrapper: streamWrapper('createWriteStream'),
  },
  { target: promisesModule, prop: 'open', key: 'promises.open', wrapper: promisesOpen },
];

function patch(): void {
  for (const p of PATCHES) {
    const target = p.target();
    const present = target[p.prop];
    // Still ours from an earlier install (it could not be restored): keep the original we had.
    if (present === p.wrapper) continue;
    if (typeof present !== 'function')
      throw new FsError({ code: 'EINVAL', syscall: 'trackNodeFs', detail: `node:fs ${p.key} is not a function` });
    originals.set(p.key, present as AnyFunction);
    target[p.prop] = p.wrapper;
  }
  // ESM `import { openSync } from 'node:fs'` binds to the module's export, not to the property: this
  // copies the patched properties into those bindings (Node docs: module.syncBuiltinESMExports).
  nodeModule().syncBuiltinESMExports();
}

function unpatch(): void {
  for (const p of PATCHES) {
    // Someone wrapped ours after we patched: removing ours would remove theirs too, so ours stays and
    // passes through (current is undefined).
    const target = p.target();
    if (target[p.prop] === p.wrapper) target[p.prop] = originals.get(p.key);
  }
  nodeModule().syncBuiltinESMExports();
}

const GLOBAL_KEY = Symbol.for('fdkeeper.nodeFsTracker');

/**
 * Records every descriptor the app opens through node:fs — `fs.openSync`, `fs.open`,
 * `fs.promises.open` (FileHandles) and `fs.createReadStream`/`createWriteStream` — with its open site,
 * path, flags and time, and forgets it when it is closed (`fs.closeSync`, `fs.close`,
 * `FileHandle.close()`, a stream's close or destroy). What is left is what leaked.
 *
 * Made by {@link trackNodeFs}; `node --import fdkeeper/register app.js` installs one for the whole run.
 * Helpers that open and close internally (`readFileSync`, `fs.writeFile`, …) may pass through the
 * tracked calls; they close what they open, so they never remain in a report.
 */
export class NodeFsTracker implements Disposable {
  private readonly numbered = new Map<number, FdRecord>();
  private readonly handles = new Set<FdRecord>();
  private readonly reclaimed: FdRecord[] = [];
  private readonly registry = new FinalizationRegistry<FdRecord>((record) => {
    this.collected(record);
  });
  private openedCount = 0;
  private closedCount = 0;
  private gcCount = 0;
  private elsewhereCount = 0;
  private countSeries: OpenCountSeries | undefined;
  private holders = 1;

  /** @internal Use {@link trackNodeFs}. */
  constructor(options: NodeFsTrackerOptions = {}) {
    if (options.series === true) this.countSeries = new OpenCountSeries();
  }

  /** Whether the tracker is installed (node:fs calls are being recorded). */
  get active(): boolean {
    return current === this;
  }

  /** How many tracked descriptors are open now. */
  get openCount(): number {
    return this.numbered.size + this.handles.size;
  }

  /** Counters since installation. */
  stats(): NodeFsTrackerStats {
    return {
      opened: this.openedCount,
      closed: this.closedCount,
      gcClosed: this.gcCount,
      closedElsewhere: this.elsewhereCount,
    };
  }

  /** The descriptors open now, oldest first; the open sites are formatted only when read. */
  openHandles(): OpenHandle[] {
    const now = Date.now();
    const records = [...this.numbered.values(), ...this.handles];
    records.sort((a, b) => a.openedAt - b.openedAt);
    return records.map((r) => new OpenHandle(r, now));
  }

  /** FileHandles the garbage collector closed while they were open (at most the last 1000). */
  reclaimedHandles(): OpenHandle[] {
    const now = Date.now();
    return this.reclaimed.map((r) => new OpenHandle(r, now));
  }

  /** {@link formatLeakReport} of {@link NodeFsTracker.openHandles}: `''` when nothing is open. */
  leakReport(options?: LeakReportOptions): string {
    return formatLeakReport(this.openHandles(), options);
  }

  /** The open-count chart data, when tracking was installed with `series: true`. */
  series(): OpenCountPoint[] | undefined {
    return this.countSeries?.points();
  }

  /**
   * Drops the records of numbers that are no longer open at all (EBADF): something closed them without
   * node:fs (a native addon, `net.Socket({ fd })`). Returns how many were dropped. A number closed that
   * way and already reused stays recorded; no check short of comparing inodes at every open could tell.
   */
  reconcile(): number {
    let dropped = 0;
    for (const [fd, record] of this.numbered) {
      try {
        fs.fstatSync(fd);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBADF') continue;
        if (this.numbered.get(fd) === record) this.numbered.delete(fd);
        dropped++;
      }
    }
    this.elsewhereCount += dropped;
    return dropped;
  }

  /** Runs `fn` without recording what it opens (the reporter's own files). */
  untracked<T>(fn: () => T): T {
    const saved = inside;
    inside = true;
    try {
      return fn();
    } finally {
      inside = saved;
    }
  }

  /**
   * Gives up this holder's claim. node:fs is restored when the last holder (every {@link trackNodeFs}
   * call returned this tracker) has uninstalled; the records stay readable afterwards.
   */
  uninstall(): void {
    if (this.holders === 0) return;
    this.holders--;
    if (this.holders > 0 || current !== this) return;
    current = undefined;
    unpatch();
    const g = globalThis as Record<symbol, unknown>;
    if (g[GLOBAL_KEY] === this) g[GLOBAL_KEY] = undefined;
  }

  /** {@link NodeFsTracker.uninstall}, for `using tracker = trackNodeFs()`. */
  [Symbol.dispose](): void {
    this.uninstall();
  }

  /** @internal One more {@link trackNodeFs} caller shares this tracker. */
  retain(options: NodeFsTrackerOptions): void {
    this.holders++;
    if (options.series === true) this.countSeries ??= new OpenCountSeries();
  }

  /** @internal A numbered descriptor was opened. */
  add(fd: number, path: unknown, flags: unknown, origin: NodeFsOpenApi, site: OpenSite): void {
    this.numbered.set(fd, new FdRecord(fd, path, flags, origin, site));
    this.openedCount++;
    this.countSeries?.record(this.openCount);
  }

  /** @internal A numbered descriptor is being closed. */
  remove(fd: number): void {
    if (!this.numbered.delete(fd)) return;
    this.closedCount++;
    this.countSeries?.record(this.openCount);
  }

  /** @internal A stream reported the descriptor it opened: the site is where the stream was created. */
  attribute(fd: number, origin: NodeFsOpenApi, site: OpenSite): void {
    const record = this.numbered.get(fd);
    if (record?.origin !== 'open') return;
    record.origin = origin;
    record.openSite = site;
  }

  /** @internal `fs.promises.open` resolved with `handle`. */
  addHandle(handle: FileHandle, path: unknown, flags: unknown, site: OpenSite): void {
    const record = new FdRecord(handle.fd, path, flags, 'promises.open', site);
    this.handles.add(record);
    this.openedCount++;
    this.countSeries?.record(this.openCount);
    // The listener holds the record, never the handle, so tracking does not keep a handle alive; the
    // registry notices the one the app drops without closing.
    (handle as unknown as NodeJS.EventEmitter).once('close', () => {
      if (!this.handles.delete(record)) return;
      this.registry.unregister(record);
      this.closedCount++;
      this.countSeries?.record(this.openCount);
    });
    this.registry.register(handle, record, record);
  }

  private collected(record: FdRecord): void {
    if (!this.handles.delete(record)) return;
    this.gcCount++;
    this.reclaimed.push(record);
    if (this.reclaimed.length > MAX_GC_RECORDS) this.reclaimed.shift();
    this.countSeries?.record(this.openCount);
  }
}

/**
 * Starts recording every descriptor opened through node:fs in this process (see {@link NodeFsTracker}),
 * or, when tracking is already on (`fdkeeper/register`, an earlier call), returns that tracker with one
 * more holder. Patches the `node:fs` module object and re-syncs its ESM exports, so CommonJS and ESM
 * code, named imports included, go through the tracker. Main thread and workers each have their own
 * node:fs: call it in the thread whose opens you want to see.
 *
 * @example
 * ```ts
 * using tracker = trackNodeFs();
 * await runTheCodeUnderTest();
 * assert.equal(tracker.leakReport(), '');
 * ```
 */
export function trackNodeFs(options: NodeFsTrackerOptions = {}): NodeFsTracker {
  const g = globalThis as Record<symbol, unknown>;
  // Looked up through a global symbol, not this module's state, so that a second copy of fdkeeper in
  // the process (the source and the built package, two installs) shares the one tracker instead of
  // stacking a second set of wrappers on the first.
  const existing = g[GLOBAL_KEY] as NodeFsTracker | undefined;
  if (existing?.active === true) {
    existing.retain(options);
    return existing;
  }
  const tracker = new NodeFsTracker(options);
  patch();
  current = tracker;
  g[GLOBAL_KEY] = tracker;
  return tracker;
}

/** The tracker installed in this process, if any. */
export function activeNodeFsTracker(): NodeFsTracker | undefined {
  return current;
}
