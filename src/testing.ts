/**
 * Test helpers: fail a test that leaves descriptors open ({@link withoutLeaks}, {@link leakCheck}); backends
 * to run fdkeeper (or, through `fdkeeper/fs`, node:fs code) on: {@link MemoryBackend} (with a crash
 * model), {@link FaultyBackend} (injected errors), {@link OsBackend} (the real one, to wrap), and
 * {@link exploreCrashes}, which enumerates every state a power loss could leave.
 *
 * ```ts
 * import { test } from 'node:test';
 * import { withoutLeaks } from 'fdkeeper/testing';
 * test('closes what it opens', withoutLeaks(async () => { … }));
 * ```
 *
 * The check looks at the table, not at the garbage collector: it never forces a collection (which could
 * close a leaked file and hide the leak), and while it runs, a file the engine does collect while open
 * counts as a leak too.
 *
 * @module
 */
import { fdtable } from './table/default-table.js';
import type { FileTable } from './table/file-table.js';
import type { Descriptor } from './table/descriptor.js';
import type { SiteMode } from './diagnostics/open-site.js';
import { OpenHandle, formatLeakReport } from './diagnostics/leak-report.js';

/** Options of {@link leakCheck}. */
export interface LeakCheckOptions {
  /** The table to watch. Default: the process-wide table. */
  table?: FileTable;
  /** Record every open site while the check runs (so the report can name lines). Default true. */
  recordSites?: boolean;
}

/** A running leak check; see {@link leakCheck}. */
export interface LeakCheck {
  /** Descriptors opened since the check started and still open. */
  leaked(): Descriptor[];
  /** Throws an Error with a leak report if anything opened since the start is still open, or was collected while open. Stops the check. */
  assertNoLeaks(): void;
  /** Stops the check (restores the site mode and the leak watch). Idempotent. */
  stop(): void;
}

/** The error {@link LeakCheck.assertNoLeaks} throws. */
export class LeakError extends Error {
  /** The descriptors still open. */
  readonly handles: readonly OpenHandle[];
  /** Warnings about files collected while open. */
  readonly collected: readonly string[];

  constructor(handles: readonly OpenHandle[], collected: readonly string[]) {
    const parts: string[] = [];
    if (handles.length > 0)
      parts.push(
        formatLeakReport(handles, {
          title: `fdkeeper: the test left ${handles.length} descriptor${handles.length === 1 ? '' : 's'} open`,
        }),
      );
    for (const c of collected) parts.push(`fdkeeper: ${c}`);
    super(parts.join('\n'));
    this.name = 'LeakError';
    this.handles = handles;
    this.collected = collected;
  }
}

/**
 * Starts watching a table: everything open now is the baseline; {@link LeakCheck.assertNoLeaks} later
 * fails if anything opened since is still open.
 */
export function leakCheck(options: LeakCheckOptions = {}): LeakCheck {
  const table = options.table ?? fdtable;
  const before = new Set(table.descriptors());
  const previousMode: SiteMode = table.sites.mode;
  if (options.recordSites !== false) table.sites.mode = 'always';
  const collected: string[] = [];
  const previousHook = table.unclosed.onUnclosed;
  table.unclosed.onUnclosed = (message) => collected.push(message);
  let running = true;
  const stop = (): void => {
    if (!running) return;
    running = false;
    table.sites.mode = previousMode;
    table.unclosed.onUnclosed = previousHook;
  };
  const leaked = (): Descriptor[] => table.descriptors().filter((d) => !before.has(d));
  return {
    leaked,
    stop,
    assertNoLeaks(): void {
      stop();
      const now = Date.now();
      const handles = leaked().map((d) => new OpenHandle(d, now));
      if (handles.length > 0 || collected.length > 0) throw new LeakError(handles, collected);
    },
  };
}

/**
 * Wraps a test body: runs it, then fails if it left descriptors open (the report names the lines that
 * opened them). The body's own failure takes precedence.
 */
export function withoutLeaks<A extends unknown[], R>(
  body: (...args: A) => R | Promise<R>,
  options: LeakCheckOptions = {},
): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    const check = leakCheck(options);
    let result: R;
    try {
      result = await body(...args);
    } catch (e) {
      check.stop();
      throw e;
    }
    check.assertNoLeaks();
    return result;
  };
}

export {
  CrashExplorationError,
  describeCrashState,
  exploreCrashes,
  type CrashExploration,
  type CrashFailure,
  type CrashMoment,
  type DescribeCrashStateOptions,
  type ExploreCrashesOptions,
} from './testing/explore-crashes.js';

export type { Backend, Bytes, FdInfo, FileStat, TimeLike } from './backend/backend.js';
export { OsBackend } from './backend/os-backend.js';
export { O } from './backend/flags.js';
export {
  MemoryBackend,
  type MemoryBackendOptions,
  type MemoryTreeEntry,
  type MemoryTreeOptions,
} from './backend/memory/memory-backend.js';
export type { CrashStatesOptions } from './backend/memory/crash-journal.js';
export type { TwinMethod } from './backend/backend.js';
export {
  FaultyBackend,
  type FaultCall,
  type FaultRule,
  type FaultSyscall,
  type PathMatcher,
} from './backend/faulty-backend.js';
