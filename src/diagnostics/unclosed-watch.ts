import { writeSync } from 'node:fs';
import { addExitFlush, removeExitFlush, type ExitFlushable } from '../process/exit-hooks.js';
import type { Descriptor } from '../table/descriptor.js';
import { escapeText } from './terminal-text.js';

/** The warning code of a handle garbage-collected while open. */
export const UNCLOSED_WARNING = 'FDKEEPER_UNCLOSED';

/** What the watch keeps for one watched object: never the object itself, or it could not be collected. */
interface Watched {
  readonly descriptor: Descriptor;
  /** Writes out data the object had buffered; runs before the descriptor is closed. */
  readonly flush: (() => void) | undefined;
  /** Whether the object owns the descriptor (closefd): only then is a collected one closed and reported. */
  readonly owns: boolean;
  /** Whether a promise call on the object is unfinished (its buffer may be half written by it). */
  readonly busy: (() => boolean) | undefined;
}

/** How the io layer describes a watched file: see {@link UnclosedWatch.watch}. */
export interface WatchOptions {
  /** Writes out data the object has buffered (without touching the object itself). */
  readonly flush?: () => void;
  /** Whether the object owns the descriptor (closefd). Default true. */
  readonly owns?: boolean;
  /** Write its buffered data at the process's exit (a writable buffered or text file). Default false. */
  readonly flushAtExit?: boolean;
  /** Whether a promise call on the object is unfinished. */
  readonly busy?: () => boolean;
}

// ------------------------------------------------------------------ flush at exit

/**
 * The buffered files still open, process-wide, to flush at exit (CPython flushes its open files at
 * interpreter shutdown). The records, not the file objects: a leaked file can still be collected (the
 * record goes with it). One exit-hook member serves them all; it leaves the hooks a while after the last
 * file closed, so that an open/close loop does not install and remove process listeners every time.
 */
const atExit = new Set<Watched>();
const atExitOf = new WeakMap<object, Watched>();
/** How long the exit hooks stay after the last buffered file closed. */
const LINGER_MS = 1000;
let hooked = false;
let lingering: NodeJS.Timeout | undefined;

const exitMember: ExitFlushable = {
  flushForExit(): void {
    flushOpenFilesAtExit();
  },
};

function addAtExit(target: object, w: Watched): void {
  atExit.add(w);
  atExitOf.set(target, w);
  if (!hooked) {
    hooked = true;
    addExitFlush(exitMember);
  }
}

function dropAtExit(w: Watched): void {
  atExit.delete(w);
  if (atExit.size === 0 && hooked && lingering === undefined) {
    lingering = setTimeout(() => {
      lingering = undefined;
      if (atExit.size === 0 && hooked) {
        hooked = false;
        removeExitFlush(exitMember);
      }
    }, LINGER_MS);
    lingering.unref();
  }
}

/** Writes out every still-open buffered file; a failure is reported on stderr with the path and open site. */
export function flushOpenFilesAtExit(): void {
  for (const w of atExit) {
    const d = w.descriptor;
    if (d.closed || w.flush === undefined) continue;
    let failure: string | undefined;
    if (w.busy?.() === true) {
      failure =
        'an asynchronous call on it had not finished, so its buffered data was not written (await writes before exiting)';
    } else {
      try {
        w.flush();
        continue;
      } catch (e) {
        failure = `writing its buffered data failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    atExit.delete(w); // reported once, not again at the next exit event
    const site =
      d.openSite === undefined
        ? '  open site not recorded (set FDKEEPER_OPEN_SITES=always to record it)'
        : `  opened at ${d.openSite.describe()}\n${d.openSite.formatStack()}`;
    try {
      writeSync(2, `fdkeeper: at exit, ${describeFile(d)}: ${failure}\n${site}\n`);
    } catch {
      // no stderr: nothing left to tell
    }
  }
}

/** `file '/a' (fd 5, mode 'w')`, with control characters escaped (the text goes to a terminal). */
function describeFile(d: Descriptor): string {
  return `${d.path === undefined ? 'descriptor' : `file '${escapeText(d.path)}'`} (fd ${d.number}, mode '${d.mode}')`;
}

/**
 * Notices file objects that become unreachable while their descriptor is still open: the leak of
 * "relying on the finalizer". Each one produces a process warning `FDKEEPER_UNCLOSED` naming the path
 * and, when recorded, the open site (like Python's ResourceWarning with tracemalloc on).
 *
 * The descriptor is then closed — but only if its number never escaped. A number handed out by
 * `fileno()` may be in use by code fdkeeper cannot see (a stream, a child process, a native addon), so
 * it is left open and only reported: closing it could redirect that code's writes into whatever file
 * reuses the number.
 *
 * The watch never forces a collection; it only reports what the engine collected on its own.
 */
export class UnclosedWatch {
  private readonly registry = new FinalizationRegistry<Watched>((w) => {
    this.collected(w);
  });
  /** Set to capture warnings instead of emitting them (tests). */
  onUnclosed: ((message: string, descriptor: Descriptor) => void) | undefined;

  /**
   * Watches `target`, the file object on `descriptor`. With `flushAtExit` its buffered data is also
   * written at the process's exit (and on SIGINT/SIGTERM/SIGHUP) while it stays open.
   */
  watch(target: object, descriptor: Descriptor, options: WatchOptions = {}): void {
    const w: Watched = { descriptor, flush: options.flush, owns: options.owns ?? true, busy: options.busy };
    this.registry.register(target, w, target);
    if (options.flushAtExit === true && w.flush !== undefined) addAtExit(target, w);
  }

  /** Stops watching `target` (it was closed properly). */
  unwatch(target: object): void {
    this.registry.unregister(target);
    const w = atExitOf.get(target);
    if (w !== undefined) {
      atExitOf.delete(target);
      dropAtExit(w);
    }
  }

  private collected(w: Watched): void {
    if (atExit.has(w)) dropAtExit(w);
    const d = w.descriptor;
    if (d.closed) return;
    if (!w.owns) {
      // A borrowed descriptor (fdopen(1, 'w')…): write out what was buffered, as Python's close at
      // collection does, and leave the descriptor to its owner. Not a leak: nothing to report.
      try {
        w.flush?.();
      } catch {
        // nobody left to tell but the exit report, which no longer sees it
      }
      return;
    }
    const what = describeFile(d);
    const where =
      d.openSite === undefined
        ? 'open site not recorded (set FDKEEPER_OPEN_SITES=always to record it)'
        : `opened at ${d.openSite.describe()}`;
    let action: string;
    if (d.escaped) {
      action = 'its number escaped via fileno(), so it was left open; close it explicitly';
    } else {
      action =
        'fdkeeper closed it, after writing out its buffered data (files still open at exit are flushed too); close files explicitly (or with `using`)';
      try {
        w.flush?.();
      } catch (e) {
        action += `; flushing its buffered data failed: ${e instanceof Error ? e.message : String(e)}`;
      }
      try {
        d.closeSync();
      } catch (e) {
        action += `; closing failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    const message = `${what} was garbage-collected while open; ${where}; ${action}`;
    if (this.onUnclosed !== undefined) this.onUnclosed(message, d);
    else
      process.emitWarning(message, {
        type: 'ResourceWarning',
        code: UNCLOSED_WARNING,
        detail: d.openSite?.formatStack(),
      });
  }
}
