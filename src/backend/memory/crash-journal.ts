import type { FsOp } from './fs-op.js';
import type { FsState } from './fs-state.js';
import type { BarrierKind, Journal } from './journal.js';

/** Options of {@link CrashJournal}. */
export interface CrashJournalOptions {
  /**
   * The unit in which a data write can be torn by a crash: a write persisted only in part keeps a prefix
   * that is a multiple of this many bytes (disk sectors are written whole). Default 512.
   */
  tearSize?: number;
}

/** Options of {@link CrashJournal.states}. */
export interface CrashStatesOptions {
  /** Only crash points at or after this journal position (see {@link CrashJournal.length}). Default 0. */
  from?: number;
  /** Give up (throw) past this many candidate states before de-duplication. Default 200 000. */
  limit?: number;
}

/**
 * The crash model: keeps the operations applied since the last point where everything was durable, and
 * the barriers, and builds the states a power loss could leave. SKELETON — being implemented.
 */
export class CrashJournal implements Journal {
  constructor(base: FsState, options: CrashJournalOptions = {}) {
    void base;
    void options;
  }

  /** Operations recorded so far (a crash point index: a crash "at position k" happens after k operations). */
  get length(): number {
    return 0;
  }

  record(op: FsOp): void {
    void op;
  }

  barrier(kind: BarrierKind, ino: number, isDir: boolean): void {
    void kind;
    void ino;
    void isDir;
  }

  syncAll(): void {
    // skeleton
  }

  /** The state if power were lost now and only what was made durable survived (the most pessimistic state). */
  minimalState(): FsState {
    throw new Error('CrashJournal.minimalState: not implemented yet');
  }

  /** Every distinct state a crash at any position from `options.from` to now could leave. */
  states(options: CrashStatesOptions = {}): FsState[] {
    void options;
    throw new Error('CrashJournal.states: not implemented yet');
  }
}
