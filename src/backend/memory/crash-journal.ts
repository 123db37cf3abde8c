/**
 * The crash model of the memory backend: which states a power loss could leave, given the operations
 * applied and the durability barriers (fsync, fdatasync, sync) that succeeded. The model, its reference
 * (ext4, data=ordered) and where it is more conservative are described in docs/crash-model.md.
 *
 * @module
 */
import {
  applyGuarded,
  boxDifference,
  boxDifferenceSize,
  createStateKeyer,
  freezeInode,
  tearPoints,
} from './crash-enumerator.js';
import { dirsOf, isDataOp, type DataOp, type FsOp, type MetaOp } from './fs-op.js';
import { FsState } from './fs-state.js';
import { Inode, type Chunk } from './inode.js';
import type { BarrierKind, Journal } from './journal.js';

export { stateKey } from './crash-enumerator.js';

/** Options of {@link CrashJournal}. */
export interface CrashJournalOptions {
  /**
   * The unit in which a data write can be torn by a crash: a write persisted only in part keeps a prefix
   * that ends on a multiple of this many bytes of the file (disk sectors are written whole). Default 512.
   */
  tearSize?: number;
  /**
   * At most this many interior tear points per write (evenly spaced sector boundaries, the first and
   * last included), to bound the number of states. Default 8; 0 turns tearing off.
   */
  tearPoints?: number;
  /**
   * Compaction: once the log holds more than this many operations, the longest prefix of it that
   * barriers have forced is folded into the durable base and dropped, so that a long-running backend
   * that fsyncs regularly keeps a bounded log. Crash points before the fold can then no longer be
   * explored ({@link CrashJournal.firstPosition}). Default 4096; 0 folds at every barrier; `Infinity`
   * never folds.
   */
  compactAfter?: number;
  /** Compaction also starts once the operations in the log hold more than this many bytes of written data. Default 64 MiB. */
  compactAfterBytes?: number;
}

/** Options of `MemoryBackend.crashStates` (and of `CrashJournal.states`). */
export interface CrashStatesOptions {
  /**
   * Only crash points at or after this journal position (see `MemoryBackend.journalLength`): the crash
   * happens once the first `from` operations and every barrier that followed them have completed, or
   * later. Positions before the journal's first kept position (folded by compaction) are clamped to it.
   * Default 0.
   */
  from?: number;
  /** Give up (throw) past this many candidate states before de-duplication. Default 200 000. */
  limit?: number;
}

/** A recorded operation. `forcedAt`: the journal length when a barrier first forced it (Infinity: never). */
interface MetaEntry {
  readonly kind: 'meta';
  readonly op: MetaOp;
  /** Position in the journal (among all operations ever recorded). */
  readonly index: number;
  /** Position among all metadata operations ever recorded. */
  readonly seq: number;
  forcedAt: number;
  /** Inodes whose liveness (nlink > 0) this operation sets, and to what. */
  readonly links: readonly (readonly [number, boolean])[];
}

interface DataEntry {
  readonly kind: 'data';
  readonly op: DataOp;
  readonly stream: DataStream;
  /** Position in the journal (among all operations ever recorded). */
  readonly index: number;
  /** Position among all data operations ever recorded for this inode. */
  readonly seq: number;
  forcedAt: number;
}

type Entry = MetaEntry | DataEntry;

/** One inode's data operations, in order, since the last compaction. */
interface DataStream {
  readonly ino: number;
  entries: DataEntry[];
  /** Data operations of this inode folded into the base. */
  offset: number;
  /** How many of `entries` are forced (always a prefix). */
  forced: number;
}

/** One choice for a stream: its first `d` operations persist, the last one cut at `tear` bytes (−1: whole). */
interface DataChoice {
  readonly d: number;
  readonly tear: number;
}

/** The lower or upper bounds of a box of choices: a metadata prefix length and one per stream. */
interface Bounds {
  readonly meta: number;
  readonly data: Map<DataStream, number>;
}

/** A stream with more than one choice in an epoch. */
interface ActiveStream {
  readonly stream: DataStream;
  readonly options: readonly DataChoice[];
  /** The options still available in the next epoch (undefined in the last one). */
  readonly nextOptions: readonly DataChoice[] | undefined;
}

/** A range of crash moments with the same forced set: its states are one box of choices. */
interface Epoch {
  readonly lo: Bounds;
  readonly hi: Bounds;
  /** The lower bounds of the next epoch: choices at or above them are generated there instead. */
  readonly next: Bounds | undefined;
  readonly active: readonly ActiveStream[];
}

const DEFAULT_LIMIT = 200_000;

/**
 * The crash model: keeps a durable *base* (the file system when the backend was created, plus what
 * compaction folded into it), the operations applied since and which of them barriers forced, and builds
 * the states a power loss could leave.
 *
 * - Metadata operations (create, link, unlink, rename, setattr) persist in order: a crash keeps a prefix
 *   of them. Forcing one forces every earlier one.
 * - Each inode's data operations (write, truncate) persist in order, independently of the metadata and
 *   of other inodes: a crash keeps a prefix of each inode's, whose last write may be torn at a sector
 *   boundary.
 * - `fdatasync(file)` forces the file's data; `fsync(file)` also its `setattr`s (not its names);
 *   `fsync(dir)` forces the operations that changed the directory's entries; `syncAll()` everything.
 *
 * A MemoryBackend creates it with a clone of its state (the durable base), reports every operation with
 * {@link record} after applying it and every successful barrier, and asks {@link minimalState} or
 * {@link states} to crash.
 */
export class CrashJournal implements Journal {
  private base: FsState;
  /** The base plus every metadata operation (no data): who is linked, for liveness and entry lookups. */
  private shadowState: FsState | undefined;
  private readonly tearSize: number;
  private readonly maxTears: number;
  private readonly compactAfter: number;
  private readonly compactAfterBytes: number;
  /** Bytes of written data the operations in the log hold. */
  private retainedBytes = 0;
  /** Operations recorded since the last compaction, in order. */
  private log: Entry[] = [];
  /** Operations folded into the base. */
  private offset = 0;
  /** The position of the barrier that forced the last folded operation: the first explorable crash point. */
  private compactedAt = 0;
  private meta: MetaEntry[] = [];
  /** Metadata operations folded into the base. */
  private metaOffset = 0;
  /** How many of `meta` are forced (always a prefix). */
  private metaForced = 0;
  private readonly streams = new Map<number, DataStream>();
  /** inode → seq of its last setattr. */
  private readonly lastSetattr = new Map<number, number>();
  /** directory → seq of the last operation that changed its entries. */
  private readonly lastDirChange = new Map<number, number>();
  /** Journal lengths at which a barrier forced something new, ascending. */
  private forceTimes: number[] = [];

  constructor(base: FsState, options: CrashJournalOptions = {}) {
    const tearSize = options.tearSize ?? 512;
    if (!Number.isInteger(tearSize) || tearSize <= 0)
      throw new RangeError(`CrashJournal: tearSize must be a positive integer, got ${tearSize}`);
    const maxTears = options.tearPoints ?? 8;
    if (!Number.isInteger(maxTears) || maxTears < 0)
      throw new RangeError(`CrashJournal: tearPoints must be a non-negative integer, got ${maxTears}`);
    this.tearSize = tearSize;
    this.maxTears = maxTears;
    this.compactAfter = nonNegative('compactAfter', options.compactAfter ?? 4096);
    this.compactAfterBytes = nonNegative('compactAfterBytes', options.compactAfterBytes ?? 64 * 1024 * 1024);
    this.base = base;
  }

  /** Operations recorded so far (a crash point index: a crash "at position k" happens after k operations). */
  get length(): number {
    return this.offset + this.log.length;
  }

  /**
   * The earliest position {@link states} can explore (0 until compaction first folds operations into
   * the durable base): the position of the barrier that forced the last folded operation. Earlier `from`
   * values are clamped to it.
   */
  get firstPosition(): number {
    return this.compactedAt;
  }

  /** Operations kept in the log (recorded since the last compaction): what the model's memory grows with. */
  get retained(): number {
    return this.log.length;
  }

  record(op: FsOp): void {
    if (isDataOp(op)) {
      let stream = this.streams.get(op.ino);
      if (stream === undefined) {
        stream = { ino: op.ino, entries: [], offset: 0, forced: 0 };
        this.streams.set(op.ino, stream);
      }
      const entry: DataEntry = {
        kind: 'data',
        op,
        stream,
        index: this.length,
        seq: stream.offset + stream.entries.length,
        forcedAt: Infinity,
      };
      stream.entries.push(entry);
      this.log.push(entry);
      if (op.type === 'write') this.retainedBytes += op.data.length;
      this.maybeCompact();
      return;
    }
    const seq = this.metaOffset + this.meta.length;
    const touched = this.touched(op);
    applyGuarded(this.shadow, op);
    const links = touched.map((ino) => [ino, (this.shadow.inodes.get(ino)?.nlink ?? 0) > 0] as const);
    const entry: MetaEntry = { kind: 'meta', op, index: this.length, seq, forcedAt: Infinity, links };
    this.meta.push(entry);
    this.log.push(entry);
    if (op.type === 'setattr') this.lastSetattr.set(op.ino, seq);
    for (const dir of dirsOf(op)) this.lastDirChange.set(dir, seq);
    this.maybeCompact();
  }

  barrier(kind: BarrierKind, ino: number, isDir: boolean): void {
    const now = this.length;
    let changed = false;
    if (isDir) {
      // A directory's entries are what fsync and fdatasync of it make durable; fsync also its attributes.
      const entriesSeq = this.lastDirChange.get(ino);
      const attrSeq = kind === 'fsync' ? this.lastSetattr.get(ino) : undefined;
      changed = this.forceMetaThrough(Math.max(entriesSeq ?? -1, attrSeq ?? -1), now);
    } else {
      const stream = this.streams.get(ino);
      if (stream !== undefined) changed = this.forceStream(stream, now);
      if (kind === 'fsync') changed = this.forceMetaThrough(this.lastSetattr.get(ino) ?? -1, now) || changed;
    }
    if (changed) this.forced(now);
  }

  syncAll(): void {
    const now = this.length;
    let changed = this.forceMetaThrough(this.metaOffset + this.meta.length - 1, now);
    for (const stream of this.streams.values()) changed = this.forceStream(stream, now) || changed;
    if (changed) this.forced(now);
  }

  /**
   * The state if power were lost now and only what was made durable survived (the most pessimistic
   * state). Like the states of {@link states}, it may be taken over and changed.
   */
  minimalState(): FsState {
    const lo = this.forcedBounds(Number.MAX_VALUE); // every barrier so far (unforced: forcedAt Infinity)
    const stage = this.hoist({ state: this.base, hoisted: 0 }, lo);
    return this.build(stage, lo.meta, new Map(), lo, this.contents(stage, lo, lo));
  }

  /**
   * Every distinct state a crash at any position from `options.from` to now could leave, de-duplicated by
   * {@link stateKey}. Throws if more than `options.limit` candidates would have to be built.
   *
   * The states share unchanged file data with each other and with the journal, copy-on-write: each may
   * be taken over and changed (through `FsState.apply`) without affecting the journal or the others.
   */
  states(options: CrashStatesOptions = {}): FsState[] {
    const limit = options.limit ?? DEFAULT_LIMIT;
    const requested = options.from ?? 0;
    if (!Number.isInteger(requested) || requested < 0 || requested > this.length) {
      throw new RangeError(
        `CrashJournal.states: from must be an integer between 0 and the journal length ${this.length}, got ${requested}`,
      );
    }
    const from = Math.max(requested, this.compactedAt);
    const epochs = this.epochs(from);
    let total = 0;
    const counting = this.cursor();
    for (const epoch of epochs) {
      total = Math.min(total + this.countEpoch(epoch, counting, limit + 1), limit + 1);
      if (total > limit) {
        throw new Error(
          `CrashJournal.states: more than ${limit} candidate crash states between positions ${from} and ${this.length} ` +
            `(${this.log.length} operations in the log). Explore a later range (from), make more of it durable ` +
            '(fsync), use fewer or smaller writes, or raise the limit (options.limit).',
        );
      }
    }
    const seen = new Map<string, FsState>();
    const keyOf = createStateKeyer();
    let stage: Stage = { state: this.base, hoisted: 0 };
    const building = this.cursor();
    for (const epoch of epochs) {
      stage = this.hoist(stage, epoch.lo);
      const contents = this.contents(stage, epoch.lo, epoch.hi);
      const at = stage;
      this.forEachCandidate(epoch, building, (m, data) => {
        const state = this.build(at, m, data, epoch.lo, contents);
        const key = keyOf(state);
        if (!seen.has(key)) seen.set(key, state);
      });
    }
    return [...seen.values()];
  }

  // ---------------------------------------------------------------- recording and forcing

  /**
   * The base plus every metadata operation recorded, without file data. Made on the first metadata
   * operation (until then it is the base): a backend that is only inspected never pays for it.
   */
  private get shadow(): FsState {
    if (this.shadowState === undefined) {
      this.shadowState = this.base.clone();
      for (const inode of this.shadowState.inodes.values()) inode.chunks = [];
    }
    return this.shadowState;
  }

  /** The inodes whose link count `op` (not yet applied to the shadow) can change. */
  private touched(op: MetaOp): number[] {
    switch (op.type) {
      case 'create':
      case 'link':
        return [op.ino];
      case 'unlink': {
        const ino = this.shadow.inodes.get(op.dir)?.entries?.get(op.name);
        return ino === undefined ? [] : [ino];
      }
      case 'rename': {
        const ino = this.shadow.inodes.get(op.toDir)?.entries?.get(op.toName);
        return ino === undefined ? [] : [ino];
      }
      case 'setattr':
        return [];
    }
  }

  /** Forces the metadata operations up to and including `seq` (and so every earlier one). */
  private forceMetaThrough(seq: number, now: number): boolean {
    const upTo = Math.min(seq - this.metaOffset + 1, this.meta.length);
    if (upTo <= this.metaForced) return false;
    for (let i = this.metaForced; i < upTo; i++) (this.meta[i] as MetaEntry).forcedAt = now;
    this.metaForced = upTo;
    return true;
  }

  /** Forces every data operation of `stream` so far. */
  private forceStream(stream: DataStream, now: number): boolean {
    if (stream.forced === stream.entries.length) return false;
    for (let i = stream.forced; i < stream.entries.length; i++) (stream.entries[i] as DataEntry).forcedAt = now;
    stream.forced = stream.entries.length;
    return true;
  }

  /** A barrier at `now` forced something new. */
  private forced(now: number): void {
    if (this.forceTimes[this.forceTimes.length - 1] !== now) this.forceTimes.push(now);
    this.maybeCompact();
  }

  /** Folds the longest forced prefix of the log into the base if the log is past the compaction thresholds. */
  private maybeCompact(): void {
    if (this.log.length <= this.compactAfter && this.retainedBytes <= this.compactAfterBytes) return;
    if (this.log[0]?.forcedAt === undefined || this.log[0].forcedAt === Infinity) return;
    let j = 0;
    let forcedBy = 0;
    while (j < this.log.length && (this.log[j] as Entry).forcedAt !== Infinity)
      forcedBy = Math.max(forcedBy, (this.log[j++] as Entry).forcedAt);
    // A fresh clone: states built from the old base (handed out by states()) share its chunks, which
    // must not change under them.
    const base = this.base.clone();
    let metaFolded = 0;
    const dataFolded = new Map<DataStream, number>();
    for (const entry of this.log.slice(0, j)) {
      applyGuarded(base, entry.op);
      if (entry.op.type === 'write') this.retainedBytes -= entry.op.data.length;
      if (entry.kind === 'meta') metaFolded++;
      else dataFolded.set(entry.stream, (dataFolded.get(entry.stream) ?? 0) + 1);
    }
    base.collect(); // no descriptor survives a crash
    this.base = base;
    this.log = this.log.slice(j);
    this.offset += j;
    this.meta = this.meta.slice(metaFolded);
    this.metaOffset += metaFolded;
    this.metaForced -= metaFolded;
    for (const [stream, n] of dataFolded) {
      stream.entries = stream.entries.slice(n);
      stream.offset += n;
      stream.forced -= n;
      if (stream.entries.length === 0) this.streams.delete(stream.ino);
    }
    for (const map of [this.lastSetattr, this.lastDirChange])
      for (const [k, seq] of map) if (seq < this.metaOffset) map.delete(k);
    this.shadowState?.collect();
    // Every crash moment from the last barrier that forced a folded operation on has all of them.
    this.compactedAt = Math.max(this.compactedAt, forcedBy);
    this.forceTimes = this.forceTimes.filter((t) => t > forcedBy);
  }

  // ---------------------------------------------------------------- building states

  /**
   * The epochs of crash moments from `from` on. A crash moment is "after k operations, before or after
   * the barriers that followed the k-th": the forced set only grows and the recorded set only grows, so
   * the moments between two barriers that forced something give nested boxes of choices, and the last
   * one (just before the barrier) contains the others.
   */
  private epochs(from: number): Epoch[] {
    const ends = this.forceTimes.filter((t) => t > from);
    const bounds: { lo: Bounds; hi: Bounds }[] = [];
    let lo = this.forcedBounds(from);
    for (const t of ends) {
      bounds.push({ lo, hi: this.recordedBounds(t) });
      lo = this.forcedBounds(t);
    }
    bounds.push({ lo, hi: this.recordedBounds(this.length) });
    return bounds.map(({ lo: l, hi: h }, i) => {
      const next = bounds[i + 1]?.lo;
      const active: ActiveStream[] = [];
      for (const stream of this.streams.values()) {
        const options = this.options(stream, l.data.get(stream) ?? 0, h.data.get(stream) ?? 0);
        if (options.length <= 1) continue;
        const nlo = next?.data.get(stream);
        const nextOptions =
          nlo === undefined ? undefined : options.filter((o) => o.d >= nlo && (o.tear < 0 || o.d - 1 >= nlo));
        active.push({ stream, options, nextOptions });
      }
      return { lo: l, hi: h, next, active };
    });
  }

  /** What is forced once the barriers issued at journal length `t` or earlier have returned. */
  private forcedBounds(t: number): Bounds {
    const data = new Map<DataStream, number>();
    for (const s of this.streams.values())
      data.set(
        s,
        countWhile(s.entries, (e) => e.forcedAt <= t),
      );
    return { meta: countWhile(this.meta, (e) => e.forcedAt <= t), data };
  }

  /** What is recorded once `t` operations have been. */
  private recordedBounds(t: number): Bounds {
    const data = new Map<DataStream, number>();
    for (const s of this.streams.values())
      data.set(
        s,
        countWhile(s.entries, (e) => e.index < t),
      );
    return { meta: countWhile(this.meta, (e) => e.index < t), data };
  }

  /** A stream's choices with between `lo` and `hi` operations persisted, torn variants included. */
  private options(stream: DataStream, lo: number, hi: number): DataChoice[] {
    const out: DataChoice[] = [];
    for (let d = lo; d <= hi; d++) {
      const last = stream.entries[d - 1]?.op;
      if (d > lo && last?.type === 'write')
        for (const tear of tearPoints(last, this.tearSize, this.maxTears)) out.push({ d, tear });
      out.push({ d, tear: -1 });
    }
    return out;
  }

  /** A liveness cursor at metadata prefix 0: which inodes with data operations are linked in the base. */
  private cursor(): Cursor {
    const alive = new Map<number, boolean>();
    for (const stream of this.streams.values())
      alive.set(stream.ino, (this.base.inodes.get(stream.ino)?.nlink ?? 0) > 0);
    return { m: 0, alive };
  }

  /** Applies to `alive` the liveness changes of metadata operation `m` (0-based, in the kept list). */
  private advance(alive: Map<number, boolean>, m: number): boolean {
    let changed = false;
    for (const [ino, linked] of (this.meta[m] as MetaEntry).links) {
      if (alive.has(ino) && alive.get(ino) !== linked) {
        alive.set(ino, linked);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Walks the metadata prefix lengths of an epoch, with the active streams whose inode is linked after
   * that prefix (the others are unreachable, so their data does not matter: they get one choice).
   * `cursor` (epochs are walked in order, their lower bounds only grow) is advanced to the epoch's lower
   * bound, so that each walk does not start over from prefix 0.
   */
  private forEachPrefix(
    epoch: Epoch,
    cursor: Cursor,
    visit: (m: number, live: readonly ActiveStream[], dead: readonly ActiveStream[]) => void,
  ): void {
    while (cursor.m < epoch.lo.meta) this.advance(cursor.alive, cursor.m++);
    const alive = new Map(cursor.alive);
    let live: ActiveStream[] = [];
    let dead: ActiveStream[] = [];
    const split = (): void => {
      live = epoch.active.filter((a) => alive.get(a.stream.ino) === true);
      dead = epoch.active.filter((a) => alive.get(a.stream.ino) !== true);
    };
    split();
    for (let m = epoch.lo.meta; m <= epoch.hi.meta; m++) {
      if (m > epoch.lo.meta && this.advance(alive, m - 1) && epoch.active.length > 0) split();
      visit(m, live, dead);
    }
  }

  /** How many candidates an epoch generates (saturating at `cap`). */
  private countEpoch(epoch: Epoch, cursor: Cursor, cap: number): number {
    let total = 0;
    this.forEachPrefix(epoch, cursor, (m, live) => {
      const full = live.map((a) => a.options.length);
      const excluded = epoch.next !== undefined && m >= epoch.next.meta;
      const kept = excluded ? live.map((a) => (a.nextOptions ?? a.options).length) : undefined;
      total = Math.min(total + boxDifferenceSize(full, kept, cap), cap);
    });
    return total;
  }

  /**
   * Calls `visit` with every candidate of an epoch that the next epoch does not also generate: a
   * metadata prefix length and a choice per active stream.
   */
  private forEachCandidate(
    epoch: Epoch,
    cursor: Cursor,
    visit: (m: number, data: Map<DataStream, DataChoice>) => void,
  ): void {
    this.forEachPrefix(epoch, cursor, (m, live, dead) => {
      const excluded = epoch.next !== undefined && m >= epoch.next.meta;
      const full = live.map((a) => a.options);
      const kept = excluded ? live.map((a) => a.nextOptions ?? a.options) : undefined;
      for (const tuple of boxDifference(full, kept)) {
        // The active streams; the others have one choice, their lower bound (see build).
        const data = new Map<DataStream, DataChoice>();
        // Unlinked after this prefix: dropped by the crash whatever its data.
        for (const a of dead) data.set(a.stream, a.options[0] as DataChoice);
        live.forEach((a, i) => data.set(a.stream, tuple[i] as DataChoice));
        visit(m, data);
      }
    });
  }

  /**
   * `stage` extended with the log entries, from where it stopped, that every choice at or above `lo`
   * includes: the candidates of an epoch start from there instead of replaying them each.
   */
  private hoist(stage: Stage, lo: Bounds): Stage {
    let h = stage.hoisted;
    const shared = (e: Entry): boolean =>
      e.kind === 'meta' ? e.seq - this.metaOffset < lo.meta : e.seq - e.stream.offset < (lo.data.get(e.stream) ?? 0);
    while (h < this.log.length && shared(this.log[h] as Entry)) h++;
    if (h === stage.hoisted) return stage;
    const state = stage.state.clone(); // `stage.state` is never written again: the clone may share its chunks
    for (let i = stage.hoisted; i < h; i++) applyGuarded(state, (this.log[i] as Entry).op);
    return { state, hoisted: h };
  }

  /**
   * For each stream, the file content every choice between `lo` and `hi` leaves (beyond what `stage`
   * holds), built incrementally so that the contents share their unchanged chunks: a write's result is
   * the previous result plus one chunk copied.
   */
  private contents(stage: Stage, lo: Bounds, hi: Bounds): Map<DataStream, Map<string, Content>> {
    const out = new Map<DataStream, Map<string, Content>>();
    const hoistedBefore = this.offset + stage.hoisted;
    for (const stream of this.streams.values()) {
      const start = countWhile(stream.entries, (e) => e.index < hoistedBefore);
      const choices = this.options(stream, lo.data.get(stream) ?? 0, hi.data.get(stream) ?? 0).filter(
        (c) => c.d > start,
      );
      if (choices.length === 0) continue;
      const byKey = new Map<string, Content>();
      out.set(stream, byKey);
      // The inode as the stage has it, or a new empty file (its create comes later in the log).
      const scratch = new FsState(undefined, -1);
      const existing = stage.state.inodes.get(stream.ino);
      scratch.inodes.set(stream.ino, existing?.clone() ?? new Inode(stream.ino, 'file', NO_ATTRS));
      const inode = scratch.inode(stream.ino);
      const maxD = Math.max(...choices.map((c) => c.d));
      for (let d = start + 1; d <= maxD; d++) {
        const op = (stream.entries[d - 1] as DataEntry).op;
        for (const c of choices) {
          if (c.d !== d || c.tear < 0 || op.type !== 'write') continue;
          const torn = new FsState(undefined, -1);
          torn.inodes.set(stream.ino, inode.clone());
          torn.apply({ ...op, data: op.data.subarray(0, c.tear) });
          const t = torn.inode(stream.ino);
          byKey.set(choiceKey(c), { chunks: t.chunks.slice(), size: t.size });
        }
        scratch.apply(op);
        freezeInode(inode); // recorded below: never written in place again
        byKey.set(choiceKey({ d, tear: -1 }), { chunks: inode.chunks.slice(), size: inode.size });
      }
    }
    return out;
  }

  /**
   * One candidate: the stage plus the rest of the log with the first `m` metadata operations and, for
   * each stream, the content its choice in `data` (default: its lower bound in `lo`) leaves, installed where its
   * last chosen operation was (so that
   * the times come out as a replay in the original order would leave them).
   */
  private build(
    stage: Stage,
    m: number,
    data: Map<DataStream, DataChoice>,
    lo: Bounds,
    contents: Map<DataStream, Map<string, Content>>,
  ): FsState {
    const state = stage.state.clone();
    for (let i = stage.hoisted; i < this.log.length; i++) {
      const entry = this.log[i] as Entry;
      if (entry.kind === 'meta') {
        if (entry.seq - this.metaOffset < m) applyGuarded(state, entry.op);
        continue;
      }
      const choice = data.get(entry.stream) ?? { d: lo.data.get(entry.stream) ?? 0, tear: -1 };
      if (entry.seq - entry.stream.offset !== choice.d - 1) continue;
      const inode = state.inodes.get(entry.stream.ino);
      if (inode === undefined) continue; // an orphan: its create is not in the chosen metadata
      const content = contents.get(entry.stream)?.get(choiceKey(choice));
      if (content === undefined)
        throw new Error(`CrashJournal: no content for inode ${entry.stream.ino} choice ${choiceKey(choice)} (a bug)`);
      inode.chunks = content.chunks.slice();
      inode.size = content.size;
      inode.mtimeMs = inode.ctimeMs = entry.op.mtimeMs;
    }
    state.collect(); // no descriptor survives a crash
    return state;
  }
}

/** A file's data as a choice leaves it (chunks frozen or owned by a discarded state: shared, never written). */
interface Content {
  readonly chunks: readonly (Chunk | undefined)[];
  readonly size: number;
}

/** Which inodes with data operations are linked after the first `m` kept metadata operations. */
interface Cursor {
  m: number;
  readonly alive: Map<number, boolean>;
}

/** A state with a prefix of the log applied, and the length of that prefix. */
interface Stage {
  readonly state: FsState;
  readonly hoisted: number;
}

const NO_ATTRS = { mode: 0, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, birthtimeMs: 0 };

function choiceKey(c: DataChoice): string {
  return `${c.d}/${c.tear}`;
}

function nonNegative(name: string, n: number): number {
  if (Number.isNaN(n) || n < 0 || (Number.isFinite(n) && !Number.isInteger(n)))
    throw new RangeError(`CrashJournal: ${name} must be a non-negative integer or Infinity, got ${n}`);
  return n;
}

/** How many leading elements of `list` satisfy `pred` (which holds for a prefix of it). */
function countWhile<T>(list: readonly T[], pred: (x: T) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(list[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
