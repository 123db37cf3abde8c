/**
 * The logrotate convention: `postrotate kill -HUP <pid>` asks the process to reopen its logs. One
 * listener per signal serves every log file that opted in; it is removed with the last of them.
 *
 * @module
 */
import type { ReopenSignal } from './types.js';

/** What the listener calls. */
export interface SignalReopenable {
  reopenForSignal(): void;
}

const bySignal = new Map<ReopenSignal, { members: Set<SignalReopenable>; listener: () => void }>();

/** Makes `m` reopen when `signal` arrives. */
export function addSignalReopen(signal: ReopenSignal, m: SignalReopenable): void {
  let entry = bySignal.get(signal);
  if (entry === undefined) {
    const members = new Set<SignalReopenable>();
    const listener = (): void => {
      for (const x of members) x.reopenForSignal();
    };
    entry = { members, listener };
    bySignal.set(signal, entry);
    process.on(signal, listener);
  }
  entry.members.add(m);
}

/** Stops `m` reopening on `signal`. */
export function removeSignalReopen(signal: ReopenSignal, m: SignalReopenable): void {
  const entry = bySignal.get(signal);
  if (entry === undefined) return;
  entry.members.delete(m);
  if (entry.members.size === 0) {
    process.removeListener(signal, entry.listener);
    bySignal.delete(signal);
  }
}
