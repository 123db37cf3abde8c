/**
 * Node built-ins the library needs only on some paths, loaded at first use instead of at import.
 * `import('fdkeeper')` must not load worker threads, child processes or crypto (issue 14: a CLI that
 * imports fdkeeper pays for what it calls, not for what the library could call). A static
 * `import … from 'node:worker_threads'` would load them for every app; these load them once, on the
 * first call, synchronously (so sync paths such as `atomicWriteSync` and `pipe()` can use them too).
 * Type-only imports of these modules stay static: they are erased from the output.
 *
 * @module
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** `node:worker_threads`, loaded on first use. */
export function workerThreads(): typeof import('node:worker_threads') {
  return load('node:worker_threads') as typeof import('node:worker_threads');
}

/** `node:child_process`, loaded on first use. */
export function childProcess(): typeof import('node:child_process') {
  return load('node:child_process') as typeof import('node:child_process');
}

/** `node:crypto`, loaded on first use. */
export function nodeCrypto(): typeof import('node:crypto') {
  return load('node:crypto') as typeof import('node:crypto');
}
