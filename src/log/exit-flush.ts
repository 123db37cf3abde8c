/**
 * One set of process hooks for every open log file: a synchronous flush when the process exits, is about
 * to exit, dies of an uncaught exception, or gets SIGINT, SIGTERM or SIGHUP. Installed when the first
 * log file that wants it opens and removed when the last one closes, so the process's signal behaviour
 * is its own again afterwards.
 *
 * The hooks change nothing else:
 * - an uncaught exception is watched with `uncaughtExceptionMonitor`, which (unlike `uncaughtException`)
 *   leaves Node's own handling (print and exit 1, or the application's handler) in place;
 * - a signal handler flushes and then, if it is the only listener for that signal, removes itself and
 *   raises the signal again, so the process dies of it as it would have (same exit status, same core
 *   policy); if the application listens too, the application decides.
 *
 * @module
 */

/** What the hooks call: flush everything buffered, synchronously, never throwing. */
export interface ExitFlushable {
  flushForExit(): void;
}

/** The signals after which a process normally terminates, and which it can catch. */
export const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const members = new Set<ExitFlushable>();
const signalHandlers = new Map<NodeJS.Signals, () => void>();
let installed = false;

function flushAll(): void {
  for (const m of members) {
    try {
      m.flushForExit();
    } catch {
      // an exiting process cannot do better than the next file
    }
  }
}

const onExit = (): void => {
  flushAll();
};

function onSignal(signal: NodeJS.Signals): void {
  flushAll();
  if (process.listenerCount(signal) === 1) {
    // Only ours: do what the signal would have done had we not listened.
    const h = signalHandlers.get(signal);
    if (h !== undefined) process.removeListener(signal, h);
    signalHandlers.delete(signal);
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  process.on('beforeExit', onExit);
  process.on('uncaughtExceptionMonitor', onExit);
  if (process.platform === 'win32') return; // signals there cannot be re-raised faithfully
  for (const s of EXIT_SIGNALS) {
    const h = (): void => {
      onSignal(s);
    };
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

/** Adds `m` to the files flushed at exit (installing the hooks with the first one). */
export function addExitFlush(m: ExitFlushable): void {
  members.add(m);
  install();
}

/** Removes `m` (and the hooks with the last one). */
export function removeExitFlush(m: ExitFlushable): void {
  members.delete(m);
  if (members.size === 0) uninstall();
}
