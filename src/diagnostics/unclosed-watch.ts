import type { Descriptor } from '../table/descriptor.js';

/** The warning code of a handle garbage-collected while open. */
export const UNCLOSED_WARNING = 'FDKEEPER_UNCLOSED';

/** What the watch keeps for one watched object: never the object itself, or it could not be collected. */
interface Watched {
  readonly descriptor: Descriptor;
  /** Writes out data the object had buffered; runs before the descriptor is closed. */
  readonly flush: (() => void) | undefined;
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

  /** Watches `target`, the file object that owns `descriptor`. `flush` writes out its buffered data. */
  watch(target: object, descriptor: Descriptor, flush?: () => void): void {
    this.registry.register(target, { descriptor, flush }, target);
  }

  /** Stops watching `target` (it was closed properly). */
  unwatch(target: object): void {
    this.registry.unregister(target);
  }

  private collected(w: Watched): void {
    const d = w.descriptor;
    if (d.closed) return;
    const what = `${d.path === undefined ? 'descriptor' : `file '${d.path}'`} (fd ${d.number}, mode '${d.mode}')`;
    const where = d.openSite === undefined ? 'open site not recorded (set FDKEEPER_OPEN_SITES=always to record it)' : `opened at ${d.openSite.describe()}`;
    let action: string;
    if (d.escaped) {
      action = 'its number escaped via fileno(), so it was left open; close it explicitly';
    } else {
      action = 'fdkeeper closed it; close files explicitly (or with `using`)';
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
    else process.emitWarning(message, { type: 'ResourceWarning', code: UNCLOSED_WARNING, detail: d.openSite?.formatStack() });
  }
}
