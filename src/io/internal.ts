/**
 * The keys of what the io layers share with each other and with `open()`, and nothing else may use.
 *
 * Each is a symbol, so a member keyed by it is not a name: it does not show in autocompletion, cannot be
 * called by a user (this module is not reachable through the package's `exports`), and does not widen the
 * public classes' documented surface. A call through a symbol key is an ordinary property lookup, as fast
 * as a named method (the read paths keep their speed; docs/benchmarks.md).
 *
 * Kept apart from the classes so that each layer imports the keys, not the other layer's module: the
 * CLI demo's child loads the io stack under `ulimit -n 64`, where every module counts (test/demo.test.ts).
 *
 * @module
 */

// ---------------------------------------------------------------- every layer (IoBase)

/** `(syscall) => void`: EBADF if this object or anything under it is closed. */
export const check = Symbol('check');
/** `(syscall) => void`: {@link check}, and EBUSY while a promise call on the stack is unfinished. */
export const checkSync = Symbol('checkSync');
/** The stack's {@link OpLock} (undefined on a bare RawFile: its calls are single syscalls). */
export const opLock = Symbol('opLock');
/** The table entry the stack reads and writes through. */
export const descriptorOf = Symbol('descriptorOf');
/** The table the descriptor lives in (its leak watch). */
export const tableOf = Symbol('tableOf');
/** `(syscall) => Protocol<void>`: checks the file is open and writes out whatever this layer and those under it buffer. */
export const settle = Symbol('settle');
/** `() => Protocol<void>`: this layer's close, then the layer under it (or the descriptor). */
export const closeSteps = Symbol('closeSteps');
/** `() => Protocol<void>`: what a layer writes out and lets go of when it closes (the hook of {@link closeSteps}). */
export const beforeClose = Symbol('beforeClose');
/** Whether this object's own close has run (a layer under it may have been closed on its own). */
export const closedSelf = Symbol('closedSelf');

// ---------------------------------------------------------------- the raw layer, for the buffered layer

/** `(data) => Protocol<void>`: writes all of `data`, looping over short writes. */
export const writeAllSteps = Symbol('writeAllSteps');

// ---------------------------------------------------------------- the buffered layer, for the text layer and open()

/** The {@link WriteBuffer} of unflushed writes (the leak watch flushes it at exit). */
export const pending = Symbol('pending');
/** `() => Buffer`: the unread bytes in the read buffer, neither copied nor consumed. */
export const peekBuffered = Symbol('peekBuffered');
/** `(n) => void`: marks `n` buffered bytes as read. */
export const consumeBuffered = Symbol('consumeBuffered');
/** `() => Protocol<void>`: checks the file is readable and flushes pending writes (lock held). */
export const startRead = Symbol('startRead');
/** `() => Protocol<number>`: one raw read appended to the read buffer; 0 at end of file. */
export const fill = Symbol('fill');
/** `(bytes) => Protocol<number>`: buffers or writes `bytes` (lock held). */
export const writeBytes = Symbol('writeBytes');
/** `() => Protocol<void>`: writes the pending bytes out, keeping what was not written on failure. */
export const flushPending = Symbol('flushPending');
/** `(offset, whence) => number`: moves the raw offset and drops the read buffer (pending writes flushed first). */
export const seekRaw = Symbol('seekRaw');
/** `(size?) => Protocol<number>`: truncate with the lock held. */
export const truncateSteps = Symbol('truncateSteps');

// ---------------------------------------------------------------- the text layer, for its tests

/** UTF-16 units the text read path has handled: the linearity tests' clock-free measure of work. */
export const work = Symbol('work');
