/**
 * The atomic-write suites again, with a replace worker forced on (src/atomic/worker-pool.ts): from the
 * first write, every in-memory write on the OS backend that a worker can take runs on it. Whatever the
 * suites assert of the main thread's path (content, modes, owners, symlinks, errors, abort, coalescing,
 * concurrency, no descriptor left) must hold on the worker path too. One worker, started before the
 * suites and kept for the whole run, so that their descriptor counts stay steady.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setWorkerPolicy, stopWorkers, workersReady, workerStats } from '../src/atomic/worker-pool.js';
import { workerMode } from './support/worker-mode.js';

workerMode.forced = true;
setWorkerPolicy({ max: 1, startAfter: 0, idleMs: 3_600_000 });
assert.equal(await workersReady(), true, 'a replace worker starts');
after(async () => {
  assert.ok(workerStats.done >= 25, `the suites' writes ran on the worker (${workerStats.done} did)`);
  await stopWorkers();
});
await import('./atomic.test.js');
await import('./atomic-errors.test.js');
await import('./atomic-concurrency.test.js');
