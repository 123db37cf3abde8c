/**
 * The loss analysis of the log loss test, exactly as issue 5 defines it, as a pure function of what the
 * run left: the files on disk, the final content of every inode the rotator removed or replaced (read
 * through the rotator's own descriptor), the rotator's events and the writer's report.
 *
 * - A line is **lost** when it is in no file left on disk although it was written after the event that
 *   removed or replaced the file it went into — it sits in a removed inode at or beyond the size that
 *   inode had just after the event (the rotator's fstat right after its call) — or when it is in no file
 *   at all.
 * - Lines found only in a removed inode below the size it had just before the event were in the file
 *   when the rotator removed it: the rotator's doing, not losses. Lines between the two sizes were
 *   written while the rotator's call ran; they are counted as `inFlight` and, being possibly written
 *   before the event, not as losses.
 * - copytruncate: a line missing everywhere that reached the file between an event's copy start and its
 *   truncate (emitted before the truncate returned, handed to the kernel after the copy started) is a
 *   **window** loss, the one logrotate documents; any other missing line is lost.
 * - A line is **duplicated** when it appears more than once across the files on disk.
 */
import { LINE_BYTES, scanLines } from './line.mjs';

/** The rotation styles (see rotator.mjs). */
export type RotationStyle = 'rename' | 'delete' | 'replace' | 'copytruncate';

/** One event as rotator.mjs records it. Instants are epoch ms on line.mjs's clock. */
export interface RotationEvent {
  readonly n: number;
  /** Set when there was nothing to rotate (the path did not exist). */
  readonly skipped?: string;
  /** Just before the destructive call. */
  readonly before?: number;
  /** Just after the destructive call returned. */
  readonly at: number;
  /** The inode the event renamed, removed, replaced or truncated. */
  readonly ino?: number;
  /** The rotator's descriptor on a removed/replaced inode. */
  readonly fd?: number;
  /** Size of the removed/replaced inode just before and just after the call. */
  readonly sizeBefore?: number;
  readonly sizeAfter?: number;
  /** replace: when the editor read the file, how much it read, and the inode that replaced it. */
  readonly readStart?: number;
  readonly readSize?: number;
  readonly newIno?: number;
  /** copytruncate: when the copy started and how many bytes it copied. */
  readonly copyStart?: number;
  readonly copied?: number;
  /** rename, copytruncate: the rotated file's name. */
  readonly rotated?: string;
}

/** What writer.mjs reports. */
export interface WriterReport {
  /** Lines emitted: sequence numbers 0 … written − 1. */
  readonly written: number;
  readonly start: number;
  readonly emitEnd: number;
  readonly closed: number;
  /** The longest gap between two of the writer's 1 ms ticks. */
  readonly maxStallMs: number;
  /** Flat pairs (instant, bytes the contender had handed to the kernel); empty when it does not say. */
  readonly samples: readonly number[];
  /** Flat pairs (instant, first sequence number) of every burst of lines. */
  readonly bursts: readonly number[];
  readonly reopens: number;
  readonly carried: readonly unknown[];
  readonly errors: readonly string[];
  readonly dropped: number;
  readonly stats?: unknown;
}

/** A file or inode's final bytes. */
export interface InodeBytes {
  readonly ino: number;
  readonly bytes: Buffer;
}

/** A file left on disk. */
export interface DiskFile extends InodeBytes {
  readonly name: string;
}

/** Input of {@link analyze}. */
export interface LossInput {
  readonly style: RotationStyle;
  readonly writer: WriterReport;
  readonly events: readonly RotationEvent[];
  readonly onDisk: readonly DiskFile[];
  /** The final content of removed/replaced inodes, by the event that removed them (event n → bytes). */
  readonly removed: ReadonlyMap<number, Buffer>;
  /**
   * When the writer gives no byte samples: a line is taken to reach the file at most this long after it
   * was emitted (for the copytruncate window only).
   */
  readonly fallbackLagMs: number;
}

/** A lost line, for the failure message. */
export interface LostLine {
  readonly seq: number;
  readonly emitted: number;
  /** Where it was found: `nowhere`, or `event <n> at offset <o> (size after <s>)`. */
  readonly where: string;
}

/** What {@link analyze} finds. */
export interface LossAnalysis {
  readonly written: number;
  readonly lost: number;
  readonly windowLost: number;
  /** Lines that appear more than once on disk, and the extra copies in all. */
  readonly duplicated: number;
  readonly extraCopies: number;
  /** replace: per event, lines the editor's copy held that were also written again behind it. */
  readonly duplicatedPerEvent: readonly number[];
  /** replace: the oldest such line, in ms before the first editor's read that copied it (−∞ when there are none). */
  readonly maxDuplicateAgeMs: number;
  /** Lines found only in removed inodes, below their size before the event: the rotator's doing. */
  readonly rotatorsDoing: number;
  /** Lines found only in removed inodes, written while the rotator's call ran. */
  readonly inFlight: number;
  /** Bytes on disk that belong to no intact line. */
  readonly tornBytes: number;
  /** Lines on disk with a sequence number the writer never emitted. */
  readonly foreign: number;
  readonly events: number;
  readonly skippedEvents: number;
  readonly lostSamples: readonly LostLine[];
}

/**
 * For every line, the first sampled instant at which the contender had handed its bytes to the kernel
 * (an upper bound on when it reached the file), or undefined without samples.
 */
function writtenByFinder(writer: WriterReport): ((seq: number) => number) | undefined {
  const s = writer.samples;
  if (s.length === 0) return undefined;
  return (seq) => {
    const need = (seq + 1) * LINE_BYTES;
    let lo = 0;
    let hi = s.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid * 2 + 1]! >= need) hi = mid;
      else lo = mid + 1;
    }
    return lo < s.length / 2 ? s[lo * 2]! : writer.closed;
  };
}

/** See the module comment. */
export function analyze(input: LossInput): LossAnalysis {
  const { writer, events, style } = input;
  const n = writer.written;
  const onDiskCount = new Uint32Array(n);
  const emitted = new Float64Array(n).fill(NaN);
  let tornBytes = 0;
  let foreign = 0;

  for (const file of input.onDisk) {
    tornBytes += scanLines(file.bytes, (seq, t) => {
      if (seq >= n) {
        foreign++;
        return;
      }
      onDiskCount[seq]!++;
      emitted[seq] = t;
    });
  }

  // Where each line not on disk sits in the removed inodes: 0 nowhere, 1 below the size before the
  // event, 2 written during the call, 3 written after the event. The best place wins: a line that was
  // in some file when the rotator removed that file was removed by the rotator — also when it had been
  // written into an earlier removed file after that one's event, and carried over.
  const removedPlace = new Uint8Array(n);
  const lostWhere = new Map<number, string>();
  for (const event of events) {
    const bytes = input.removed.get(event.n);
    if (bytes === undefined) continue;
    const sizeBefore = event.sizeBefore ?? 0;
    const sizeAfter = event.sizeAfter ?? 0;
    scanLines(bytes, (seq, t, offset) => {
      if (seq >= n || onDiskCount[seq]! > 0) return;
      emitted[seq] = t;
      const place = offset >= sizeAfter ? 3 : offset >= sizeBefore ? 2 : 1;
      if (removedPlace[seq] === 0 || place < removedPlace[seq]!) {
        removedPlace[seq] = place;
        if (place === 3) lostWhere.set(seq, `event ${event.n} at offset ${offset} (size after the event ${sizeAfter})`);
      }
    });
  }

  const writtenBy = writtenByFinder(writer);
  const windows = events.filter((e) => e.copyStart !== undefined).map((e) => [e.copyStart!, e.at] as const);
  const inWindow = (seq: number, emit: number): boolean => {
    const reached = writtenBy !== undefined ? writtenBy(seq) : Math.min(writer.closed, emit + input.fallbackLagMs);
    return windows.some(([copyStart, truncated]) => emit <= truncated && reached >= copyStart);
  };
  // A line found nowhere carries no emit instant: its burst's instant stands for it.
  const emitOf = (seq: number): number => {
    if (!Number.isNaN(emitted[seq]!)) return emitted[seq]!;
    const b = writer.bursts;
    let lo = 0;
    let hi = b.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid * 2 + 1]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? b[(lo - 1) * 2]! : writer.start;
  };

  let lost = 0;
  let windowLost = 0;
  let duplicated = 0;
  let extraCopies = 0;
  let rotatorsDoing = 0;
  let inFlight = 0;
  const lostSamples: LostLine[] = [];
  for (let seq = 0; seq < n; seq++) {
    const count = onDiskCount[seq]!;
    if (count > 1) {
      duplicated++;
      extraCopies += count - 1;
    }
    if (count > 0) continue;
    const place = removedPlace[seq]!;
    if (place === 1) rotatorsDoing++;
    else if (place === 2) inFlight++;
    else {
      const emit = emitOf(seq);
      if (place === 0 && style === 'copytruncate' && inWindow(seq, emit)) windowLost++;
      else {
        lost++;
        if (lostSamples.length < 10) lostSamples.push({ seq, emitted: emit, where: lostWhere.get(seq) ?? 'nowhere' });
      }
    }
  }

  // replace: which lines the editor's copy held and the writer wrote again behind it (carry-over).
  const duplicatedPerEvent: number[] = [];
  let maxDuplicateAgeMs = -Infinity;
  if (style === 'replace') {
    const contentOf = new Map<number, Buffer>();
    for (const f of input.onDisk) contentOf.set(f.ino, f.bytes);
    for (const e of events) {
      const bytes = input.removed.get(e.n);
      if (bytes !== undefined && e.ino !== undefined) contentOf.set(e.ino, bytes);
    }
    // When an editor first copied each line: every later copy holds the earlier ones, and a writer that
    // noticed a replace only after the next one carries lines the *first* copy already held. A line's
    // age counts from that first read.
    const firstCopied = new Float64Array(n).fill(NaN);
    for (const e of events) {
      if (e.skipped !== undefined) continue;
      const old = contentOf.get(e.ino!);
      const replacement = e.newIno === undefined ? undefined : contentOf.get(e.newIno);
      if (old === undefined || replacement === undefined) continue;
      const copied = new Set<number>();
      scanLines(old.subarray(0, e.readSize), (seq) => {
        copied.add(seq);
        if (seq < n && Number.isNaN(firstCopied[seq]!)) firstCopied[seq] = e.readStart!;
      });
      let count = 0;
      scanLines(replacement.subarray(e.readSize), (seq, t) => {
        if (!copied.has(seq)) return;
        count++;
        maxDuplicateAgeMs = Math.max(maxDuplicateAgeMs, (seq < n ? firstCopied[seq]! : e.readStart!) - t);
      });
      duplicatedPerEvent.push(count);
    }
  }

  return {
    written: n,
    lost,
    windowLost,
    duplicated,
    extraCopies,
    duplicatedPerEvent,
    maxDuplicateAgeMs,
    rotatorsDoing,
    inFlight,
    tornBytes,
    foreign,
    events: events.filter((e) => e.skipped === undefined).length,
    skippedEvents: events.filter((e) => e.skipped !== undefined).length,
    lostSamples,
  };
}
