/**
 * A crash explorer: runs an operation on an in-memory file system with the crash model on, and checks
 * an invariant over every state a power loss could leave — while the operation runs, and after it has
 * reported success (docs/crash-model.md describes what the model allows).
 *
 * ```ts
 * import { exploreCrashes } from 'fdkeeper/testing';
 * import { atomicWrite } from 'fdkeeper';
 *
 * const result = await exploreCrashes({
 *   setup: (b) => { b.mkdirSync('/d'); writeFile(b, '/d/config', 'old'); },
 *   run: (b) => atomicWrite('/d/config', 'new', { backend: b }),
 *   check: (state, when) => {
 *     const content = state.tree()['/d/config'];
 *     if (when === 'during') assert.ok(content === 'old' || content === 'new');
 *     else assert.equal(content, 'new'); // once it resolved, the new content is durable
 *   },
 * });
 * console.log(result.during, result.after); // how many states were checked
 * ```
 *
 * @module
 */
import { MemoryBackend, type MemoryBackendOptions, type MemoryTreeEntry } from '../backend/memory/memory-backend.js';
import { CrashJournal } from '../backend/memory/crash-journal.js';

/**
 * When a crash state could happen: `'during'` — a power loss at any moment from the start of the
 * operation on (while it runs, or after); `'after'` — a power loss at any moment after the operation
 * reported success (its promise resolved or its function returned).
 */
export type CrashMoment = 'during' | 'after';

/** Options of {@link exploreCrashes}. */
export interface ExploreCrashesOptions {
  /**
   * Builds the starting file system (directories, existing files). Everything it does is made durable
   * (`syncAll()`) before the operation starts: crashes are explored from there on only.
   */
  setup?: (backend: MemoryBackend) => void | Promise<void>;
  /** The operation under test. Whatever it throws is rethrown by {@link exploreCrashes} (no states are checked). */
  run: (backend: MemoryBackend) => void | Promise<void>;
  /**
   * The invariant: throws (e.g. an `assert` failure) when `state` is not acceptable. Called once with
   * `'during'` for every state a crash from the start of `run` on could leave, and once with `'after'` for
   * every state a crash after `run` resolved could leave (those are also `'during'` states: a state is
   * checked with both labels when it can happen at both times). `state` is a backend of its own, with no
   * open descriptors; the check may read or change it.
   */
  check: (state: MemoryBackend, when: CrashMoment) => void | Promise<void>;
  /** The unit in which the crash model tears a data write (a disk sector). Default 512. */
  tearSize?: number;
  /** Other options of the {@link MemoryBackend} built for the exploration (umask, uid, clock…). */
  backendOptions?: Omit<MemoryBackendOptions, 'crashModel' | 'tearSize'>;
  /** Give up (throw) past this many candidate states per range, before de-duplication. Default: the crash model's (200 000). */
  limit?: number;
  /**
   * Throw a {@link CrashExplorationError} when a state fails the check (default true). With false, the
   * failures are returned in {@link CrashExploration.failures}: for tests that show a broken writer is
   * caught.
   */
  throwOnFailure?: boolean;
  /** How many failing states the error message describes (the others are counted). Default 8. */
  maxReported?: number;
}

/** One state that failed the check. */
export interface CrashFailure {
  /** When the crash happened. */
  readonly when: CrashMoment;
  /** The state's index among those of its moment (as `crashStates` returned them). */
  readonly index: number;
  /** The file system the crash left, as {@link MemoryBackend.tree} shows it (taken before the check ran). */
  readonly tree: Readonly<Record<string, MemoryTreeEntry>>;
  /** The state itself (after the check ran on it). */
  readonly state: MemoryBackend;
  /** What the check threw. */
  readonly error: unknown;
  /** The first line of the error's message. */
  readonly message: string;
}

/** What {@link exploreCrashes} found. */
export interface CrashExploration {
  /** How many checks ran: {@link CrashExploration.during} + {@link CrashExploration.after}. */
  readonly states: number;
  /** Distinct states a crash from the start of the operation on could leave (each checked as `'during'`). */
  readonly during: number;
  /** Distinct states a crash after the operation reported success could leave (each checked as `'after'`). */
  readonly after: number;
  /** The states that failed the check (empty when everything passed). */
  readonly failures: readonly CrashFailure[];
  /** Journal position where the operation started (after the setup was made durable). */
  readonly from: number;
  /** Journal position where the operation reported success. */
  readonly to: number;
  /** The backend the operation ran on (its live state is what no crash left). */
  readonly backend: MemoryBackend;
}

/** The error {@link exploreCrashes} throws when states fail the check: the message lists them. */
export class CrashExplorationError extends Error {
  /** The whole result, failures included. */
  readonly exploration: CrashExploration;

  /** Builds the message from `exploration` (describing at most `maxReported` failing states). */
  constructor(exploration: CrashExploration, maxReported = 8) {
    super(formatFailures(exploration, maxReported));
    this.name = 'CrashExplorationError';
    this.exploration = exploration;
  }
}

/**
 * Explores every crash of an operation: builds a `MemoryBackend` with the crash model, runs `setup`,
 * makes it durable, runs `run`, then calls `check` on every state a power loss during the operation
 * (`'during'`) and after it reported success (`'after'`) could leave. Throws a
 * {@link CrashExplorationError} listing the failing states (path → content, truncated) unless
 * `throwOnFailure` is false; returns the counts otherwise.
 *
 * Errors from `setup` or `run` propagate as they are. The explored range must be small enough for the
 * crash model's limit (keep files to a few KiB and writes few; see docs/crash-model.md, "Cost").
 */
export async function exploreCrashes(options: ExploreCrashesOptions): Promise<CrashExploration> {
  const backend = new MemoryBackend({
    ...options.backendOptions,
    crashModel: true,
    ...(options.tearSize === undefined ? {} : { tearSize: options.tearSize }),
  });
  if (options.setup !== undefined) await options.setup(backend);
  backend.syncAll();
  const from = backend.journalLength;
  await options.run(backend);
  const to = backend.journalLength;
  const journal = backend.journal;
  if (journal instanceof CrashJournal && journal.firstPosition > from) {
    throw new Error(
      `exploreCrashes: the crash model folded operations past the start of the run (position ${from}, first explorable ${journal.firstPosition}): ` +
        'the operation wrote too much to explore it in full; use smaller data',
    );
  }
  const limit = options.limit === undefined ? {} : { limit: options.limit };
  const duringStates = backend.crashStates({ from, ...limit });
  const afterStates = backend.crashStates({ from: to, ...limit });
  const failures: CrashFailure[] = [];
  const checkAll = async (states: MemoryBackend[], when: CrashMoment): Promise<void> => {
    for (const [index, state] of states.entries()) {
      const tree = state.tree();
      try {
        await options.check(state, when);
      } catch (error) {
        failures.push({ when, index, tree, state, error, message: firstLine(error) });
      }
    }
  };
  await checkAll(duringStates, 'during');
  await checkAll(afterStates, 'after');
  const exploration: CrashExploration = {
    states: duringStates.length + afterStates.length,
    during: duringStates.length,
    after: afterStates.length,
    failures,
    from,
    to,
    backend,
  };
  if (failures.length > 0 && options.throwOnFailure !== false)
    throw new CrashExplorationError(exploration, options.maxReported);
  return exploration;
}

/** Options of {@link describeCrashState}. */
export interface DescribeCrashStateOptions {
  /** File contents longer than this are cut (their length is given). Default 48. */
  maxContent?: number;
  /** Indentation of each line. Default `''`. */
  indent?: string;
}

/**
 * A readable listing of a file system (a backend, or a {@link MemoryBackend.tree}): one line per path,
 * `path → content`. A content made of up to four runs of one repeated character is shown as
 * `"x" × 600 + "y" × 12`; others as JSON strings cut to `maxContent` characters, with their length;
 * `(empty)` for an empty file.
 */
export function describeCrashState(
  state: MemoryBackend | Readonly<Record<string, MemoryTreeEntry>>,
  options: DescribeCrashStateOptions = {},
): string {
  const tree = state instanceof MemoryBackend ? state.tree() : state;
  const indent = options.indent ?? '';
  const max = options.maxContent ?? 48;
  const lines = Object.entries(tree).map(([path, entry]) => `${indent}${path} → ${describeEntry(entry, max)}`);
  return lines.length === 0 ? `${indent}(nothing)` : lines.join('\n');
}

function describeEntry(entry: MemoryTreeEntry, max: number): string {
  if (typeof entry !== 'string') {
    if (entry.kind === 'symlink') return `symlink to ${JSON.stringify(entry.target)}`;
    return entry.kind;
  }
  if (entry.length === 0) return '(empty)';
  const runs = runsOf(entry, 4);
  if (runs !== undefined && runs.some(([, n]) => n > 1) && entry.length > 8)
    return runs.map(([c, n]) => (n === 1 ? JSON.stringify(c) : `${JSON.stringify(c)} × ${n}`)).join(' + ');
  if (entry.length <= max) return JSON.stringify(entry);
  return `${JSON.stringify(entry.slice(0, max))}… (${entry.length} chars)`;
}

/** `text` as runs of one repeated character (`[char, count]`), or undefined past `max` runs. */
function runsOf(text: string, max: number): [string, number][] | undefined {
  const runs: [string, number][] = [];
  for (const c of text) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] === c) last[1]++;
    else if (runs.push([c, 1]) > max) return undefined;
  }
  return runs;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.trim();
}

function formatFailures(x: CrashExploration, maxReported: number): string {
  const during = x.failures.filter((f) => f.when === 'during').length;
  const after = x.failures.length - during;
  const head =
    `exploreCrashes: ${x.failures.length} crash state${x.failures.length === 1 ? '' : 's'} failed the check ` +
    `(${during} of ${x.during} during the operation, ${after} of ${x.after} after it reported success; journal ${x.from}–${x.to})`;
  const parts = [head];
  for (const f of x.failures.slice(0, Math.max(0, maxReported))) {
    parts.push(`  #${f.index} (${f.when}): ${f.message}\n${describeCrashState(f.tree, { indent: '      ' })}`);
  }
  if (x.failures.length > maxReported) parts.push(`  … and ${x.failures.length - maxReported} more`);
  return parts.join('\n');
}
