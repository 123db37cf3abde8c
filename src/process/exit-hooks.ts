/**
 * One set of process hooks for everything fdkeeper must write out before the process ends (open log
 * files, still-open buffered and text files): a synchronous flush when the process exits, is about to
 * exit, dies of an uncaught exception, or gets SIGINT, SIGTERM or SIGHUP. Installed when the first member
 * joins and removed when the last one leaves, so the process's signal behaviour is its own again
 * afterwards. The lowest layer that knows about the process: io and log both use it.
 *
 * The hooks change nothing else:
 * - an uncaught exception is watched with `uncaughtExceptionMonitor`, which (unlike `uncaughtException`)
 *   leaves Node's own handling (print and exit 1, or the application's handler) in place;
 * - after a signal, the handler flushes and then decides with {@link signalAction} from the signal's
 *   listeners: if any of them belongs to the application, the application decides (the process lives on
 *   unless it ends itself); if all of them are *passive* — this hook of any fdkeeper copy, and
 *   signal-exit's — the signal is raised again once all of them have flushed, so the process dies of it
 *   as it would have (same exit status, same core policy).
 *
 * Passive listeners are recognised across copies of fdkeeper (two versions installed side by side, a
 * bundled copy) by a property under the process-wide key `Symbol.for('fdkeeper.exit-flush')`, whose value
 * is that copy's synchronous flush: whichever copy's handler runs first flushes every copy, removes every
 * copy's handler for the signal, and raises it. signal-exit (v3 and v4) re-raises only when every
 * listener of the signal is its own, counting them through its process-wide emitters; so once fdkeeper's
 * handlers are gone it does the raising itself, after running its own exit callbacks.
 *
 * @module
 */

/** What the hooks call: flush everything buffered, synchronously, never throwing. */
export interface ExitFlushable {
  flushForExit(): void;
}

/** The signals after which a process normally terminates, and which it can catch. */
export const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The property that marks a signal listener as fdkeeper's exit flush; its value flushes that copy. */
export const EXIT_FLUSH_MARK: unique symbol = Symbol.for('fdkeeper.exit-flush') as never;

/** signal-exit v4's process-wide emitter (shared by its copies) and v3's; both count loaded instances. */
const SIGNAL_EXIT_V4 = Symbol.for('signal-exit emitter');

type Listener = (...args: unknown[]) => void;
type MarkedListener = Listener & { [EXIT_FLUSH_MARK]?: unknown };

/**
 * What a signal handler does once it has flushed:
 * - `'leave'`: the application listens too and decides (nothing is raised, the hooks stay);
 * - `'defer'`: the other listeners are signal-exit's, and one of them runs after this handler in the
 *   current emission: remove fdkeeper's handlers and let it re-raise;
 * - `'raise'`: nobody else will: remove fdkeeper's handlers and raise the signal again.
 */
export type SignalAction = 'leave' | 'defer' | 'raise';

/** Whether `f` is an exit-flush handler of some fdkeeper copy. */
export function isExitFlushListener(f: unknown): boolean {
  return typeof f === 'function' && typeof (f as MarkedListener)[EXIT_FLUSH_MARK] === 'function';
}

/** How many signal listeners signal-exit (v4, and v3 through `process.__signal_exit_emitter__`) says are its own. */
export function signalExitListenerCount(): number {
  const count = (emitter: unknown): number => {
    if (typeof emitter !== 'object' || emitter === null) return 0;
    const c = (emitter as { count?: unknown }).count;
    return typeof c === 'number' && Number.isSafeInteger(c) && c > 0 ? c : 0;
  };
  const g = globalThis as Record<symbol, unknown>;
  return count(g[SIGNAL_EXIT_V4]) + count((process as unknown as Record<string, unknown>)['__signal_exit_emitter__']);
}

/**
 * The rule (pure, for tests): `listeners` are the signal's listeners as the handler `self` sees them,
 * `signalExit` the number signal-exit counts as its own.
 */
export function signalAction(listeners: readonly unknown[], self: unknown, signalExit: number): SignalAction {
  const others: number[] = [];
  listeners.forEach((f, i) => {
    if (!isExitFlushListener(f)) others.push(i);
  });
  if (others.length === 0) return 'raise';
  if (others.length > signalExit) return 'leave';
  // Only signal-exit's are left. One still to run in this emission re-raises once ours are gone; if all
  // of them already ran (and declined, seeing ours), our raise reaches them and they re-raise.
  const at = listeners.indexOf(self);
  return others.some((i) => i > at) ? 'defer' : 'raise';
}

const members = new Set<ExitFlushable>();
const signalHandlers = new Map<NodeJS.Signals, MarkedListener>();
let installed = false;

function flushAll(): void {
  for (const m of members) {
    try {
      m.flushForExit();
    } catch {
      // an exiting process cannot do better than the next member
    }
  }
}

const onExit = (): void => {
  flushAll();
};

function onSignal(signal: NodeJS.Signals, self: MarkedListener): void {
  const listeners = process.listeners(signal);
  const action = signalAction(listeners, self, signalExitListenerCount());
  if (action === 'leave') {
    flushAll();
    return;
  }
  // Every fdkeeper copy's data goes out before any of them lets the process die.
  for (const f of listeners) {
    if (!isExitFlushListener(f)) continue;
    try {
      ((f as MarkedListener)[EXIT_FLUSH_MARK] as () => void)();
    } catch {
      // as in flushAll
    }
    process.removeListener(signal, f as Listener);
  }
  if (signalHandlers.get(signal) === self) signalHandlers.delete(signal);
  if (action === 'raise') process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  process.on('beforeExit', onExit);
  process.on('uncaughtExceptionMonitor', onExit);
  if (process.platform === 'win32') return; // signals there cannot be re-raised faithfully
  for (const s of EXIT_SIGNALS) {
    const h: MarkedListener = (): void => {
      onSignal(s, h);
    };
    Object.defineProperty(h, EXIT_FLUSH_MARK, { value: flushAll });
    signalHandlers.set(s, h);
    process.on(s, h);
  }
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', onExit);
  process.removeListener('beforeExit', onExit);
  process.removeListener('uncaughtExceptionMonitor', onExit);
  for (const [s, h] of signalHandlers) process.removeListener(s, h);
  signalHandlers.clear();
}

/** Adds `m` to what is flushed at exit (installing the hooks with the first one). */
export function addExitFlush(m: ExitFlushable): void {
  members.add(m);
  install();
}

/** Removes `m` (and the hooks with the last one). */
export function removeExitFlush(m: ExitFlushable): void {
  members.delete(m);
  if (members.size === 0) uninstall();
}
