/**
 * Node built-ins the library needs only on some paths, loaded at first use instead of at import.
 * `import('fdkeeper')` must not load worker threads, child processes or crypto (issue 14: a CLI that
 * imports fdkeeper pays for what it calls, not for what the library could call). A static
 * `import … from 'node:worker_threads'` would load them for every app; these load them once, on the
 * first call, synchronously (so sync paths such as `atomicWriteSync` and `pipe()` can use them too), with
 * `process.getBuiltinModule` (Node 20.16+; `engines` asks for 20.19), which, unlike `createRequire`,
 * needs no `node:module` itself.
 * Type-only imports of these modules stay static: they are erased from the output.
 *
 * @module
 */

/** `node:worker_threads`, loaded on first use. */
export function workerThreads(): typeof import('node:worker_threads') {
  return process.getBuiltinModule('node:worker_threads');
}

/** `node:child_process`, loaded on first use. */
export function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

/** `node:crypto`, loaded on first use. */
export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}

/** `node:os`, loaded on first use (it is not in Node's start-up snapshot). */
export function nodeOs(): typeof import('node:os') {
  return process.getBuiltinModule('node:os');
}

/** `node:stream`, loaded on first use. */
export function nodeStream(): typeof import('node:stream') {
  return process.getBuiltinModule('node:stream');
}

/** `node:module`, loaded on first use (its ESM form loads the source-map support with it). */
export function nodeModule(): typeof import('node:module') {
  return process.getBuiltinModule('node:module');
}
