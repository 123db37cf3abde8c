/**
 * The logrotate convention: `postrotate kill -HUP <pid>` asks the process to reopen its logs. One
 * listener per signal serves every log file that opted in; it is removed with the last of them.
 *
 * Worker threads never see signals (Node delivers them to the main thread only), so a log opened in a
 * worker (the pino transport target runs in one) cannot hear the HUP itself. The main thread relays:
 * its listener also posts the signal's name on a BroadcastChannel, and logs in workers that opted in
 * listen there. A main thread with no log of its own installs the listener with
 * {@link relayReopenSignal}.
 *
 * @module
 */
import type { BroadcastChannel } from 'node:worker_threads';
import { workerThreads } from '../process/builtins.js';
import type { ReopenSignal } from './types.js';

/** What the listener calls. */
export interface SignalReopenable {
  reopenForSignal(): void;
}

/** The channel the main thread relays signals on (one name per process: BroadcastChannel is process-wide). */
const CHANNEL = 'fdkeeper:log-reopen-signal';

interface Entry {
  readonly members: Set<SignalReopenable>;
  /** Removes the signal listener (main thread) or closes the channel (worker). */
  readonly stop: () => void;
}

const bySignal = new Map<ReopenSignal, Entry>();

/** The main thread's sending end, made at the first relayed signal; unref'd (it never keeps the process alive). */
let sender: BroadcastChannel | undefined;

function relay(signal: ReopenSignal): void {
  if (sender === undefined) {
    sender = new (workerThreads().BroadcastChannel)(CHANNEL);
    sender.unref();
  }
  sender.postMessage(signal);
}

function reopenAll(members: Set<SignalReopenable>): void {
  for (const x of members) x.reopenForSignal();
}

function listen(signal: ReopenSignal, members: Set<SignalReopenable>): () => void {
  if (workerThreads().isMainThread) {
    const listener = (): void => {
      reopenAll(members);
      relay(signal);
    };
    process.on(signal, listener);
    return () => {
      process.removeListener(signal, listener);
    };
  }
  const channel = new (workerThreads().BroadcastChannel)(CHANNEL);
  channel.unref();
  channel.onmessage = (event: unknown): void => {
    if ((event as { data?: unknown }).data === signal) reopenAll(members);
  };
  return () => {
    channel.close();
  };
}

/** Makes `m` reopen when `signal` arrives (in a worker: when the main thread relays it). */
export function addSignalReopen(signal: ReopenSignal, m: SignalReopenable): void {
  let entry = bySignal.get(signal);
  if (entry === undefined) {
    const members = new Set<SignalReopenable>();
    entry = { members, stop: listen(signal, members) };
    bySignal.set(signal, entry);
  }
  entry.members.add(m);
}

/** Stops `m` reopening on `signal`. */
export function removeSignalReopen(signal: ReopenSignal, m: SignalReopenable): void {
  const entry = bySignal.get(signal);
  if (entry === undefined) return;
  entry.members.delete(m);
  if (entry.members.size === 0) {
    entry.stop();
    bySignal.delete(signal);
  }
}

/**
 * Makes the main thread relay `signal` (default `'SIGHUP'`) to logs opened with `reopenOnSignal` in
 * worker threads — the pino transport `fdkeeper/pino` — and handle it (so the signal no longer
 * terminates the process). Logs opened with `reopenOnSignal` in the main thread relay by themselves;
 * this is for a main thread that has none. Returns a function that undoes it. Call it in the main
 * thread; in a worker it does nothing.
 *
 * ```ts
 * const logger = pino(pino.transport({ target: 'fdkeeper/pino', options: { destination, reopenOnSignal: 'SIGHUP' } }));
 * relayReopenSignal('SIGHUP'); // logrotate: postrotate kill -HUP <pid>
 * ```
 */
export function relayReopenSignal(signal: ReopenSignal = 'SIGHUP'): () => void {
  if (!['SIGHUP', 'SIGUSR1', 'SIGUSR2'].includes(signal))
    throw new TypeError(`relayReopenSignal: the signal must be 'SIGHUP', 'SIGUSR1' or 'SIGUSR2', got ${signal}`);
  if (!workerThreads().isMainThread) return () => undefined;
  const member: SignalReopenable = { reopenForSignal: () => undefined };
  addSignalReopen(signal, member);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    removeSignalReopen(signal, member);
  };
}
