/**
 * Replace workers in the atomic suites. Their threads hold a few descriptors of their own (an epoll, an
 * eventfd, a pipe), and the suites count descriptors exactly: by default they run with workers off, so
 * every write takes the main thread's path; test/atomic-on-workers.test.ts sets `forced` and starts one
 * worker (and only one, for good) before loading them, so every write a worker can take runs on it and
 * the descriptor counts stay steady.
 */
import { setWorkerPolicy } from '../../src/atomic/worker-pool.js';

export const workerMode = { forced: false };

/** Called at the top of each atomic suite: workers off unless the run forces them on. */
export function settleWorkers(): void {
  if (!workerMode.forced) setWorkerPolicy({ max: 0 });
}
