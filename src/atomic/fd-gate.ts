/**
 * A limit on how many temp files atomic writes of in-memory data hold open at once, so that a burst of
 * concurrent writes (1,000 files at once) queues instead of running into EMFILE. Node performs file
 * system calls on a small thread pool (4 threads by default), so more open temp files than this would
 * not make the burst faster, only more likely to fail.
 *
 * @module
 */

/** Temp files held open at once by atomic writes of in-memory data. */
export const MAX_OPEN_TEMPS = 128;

let held = 0;
const waiting: (() => void)[] = [];

/** Takes a slot: at once when one is free (undefined), otherwise a promise that resolves with one. */
export function acquireSlot(): Promise<void> | undefined {
  if (held < MAX_OPEN_TEMPS) {
    held++;
    return undefined;
  }
  return new Promise<void>((resolve) => {
    waiting.push(resolve);
  });
}

/** Gives a slot back (to the longest waiter, if any). */
export function releaseSlot(): void {
  const next = waiting.shift();
  if (next !== undefined) next();
  else held--;
}
