/**
 * One protocol, run two ways. A multi-step file operation (create a temp, write it, fsync, rename…) is
 * written once, as a generator that yields the system calls it needs; {@link runSync} performs each call
 * with its synchronous form and {@link runAsync} with its promise form. A failing call is thrown back
 * into the generator at the `yield`, so the protocol's own `try`/`catch`/`finally` handle it in both
 * runs exactly the same way. This is how the sync and promise APIs stay one piece of code that cannot
 * drift (the pattern of Rust's sans-io crates, and of CPython's `_pyio` where one Python body serves
 * both blocking and non-blocking descriptors).
 *
 * ```ts
 * function* sizeOf(backend: Backend, path: string): Protocol<number> {
 *   const st = yield* call(() => backend.statSync(path), () => backend.stat(path));
 *   return st.size;
 * }
 * runSync(sizeOf(b, '/x'));        // number
 * await runAsync(sizeOf(b, '/x')); // number
 * ```
 *
 * @module
 */

/** One system call in both of its forms; a runner performs exactly one of them. */
export interface Call<T = unknown> {
  /** The synchronous form. */
  readonly sync: () => T;
  /** The promise form. */
  readonly async: () => Promise<T>;
}

/** A multi-step operation that yields {@link Call}s and returns `R`. */
export type Protocol<R> = Generator<Call, R, unknown>;

/**
 * Yields one call and returns its typed result; use as `const x = yield* call(syncForm, asyncForm)`.
 * Both forms must do the same thing: the runner decides which one runs.
 */
export function* call<T>(sync: () => T, async: () => Promise<T>): Generator<Call, T, unknown> {
  return (yield { sync, async }) as T;
}

/** The two forms of one call as a {@link Call} object, to yield later (see {@link perform}). */
export function step<T>(sync: () => T, async: () => Promise<T>): Call<T> {
  return { sync, async };
}

/**
 * Yields a prepared {@link Call} and returns its typed result: `const n = yield* perform(readAt(d, …))`.
 *
 * What a step costs. In the synchronous run every generator is an object to allocate and a frame to
 * resume, and `yield* call(…)` is one generator more per step: about 60 ns a step, against ~30 ns for
 * a plain `yield` of a prepared Call (V8 12, measured in isolation). Ordinary protocols use `call` or
 * `perform` and stay typed. The few on the hottest paths (an open, `readFile`, `writeFile`) yield the
 * Call itself, `(yield c) as T`, where `c` is a `Call<T>` made on the line before: the one place a
 * cast stands in for the type, kept next to the call it types.
 */
export function* perform<T>(c: Call<T>): Generator<Call, T, unknown> {
  return (yield c) as T;
}

/** Yields a call that is synchronous in both runs (a pure step that still belongs in the sequence). */
export function* now<T>(step: () => T): Generator<Call, T, unknown> {
  return (yield { sync: step, async: () => Promise.resolve().then(step) }) as T;
}

/** Runs `protocol` with the synchronous form of every call. */
export function runSync<R>(protocol: Protocol<R>): R {
  let step = protocol.next();
  while (step.done !== true) {
    let value: unknown;
    try {
      value = step.value.sync();
    } catch (e) {
      step = protocol.throw(e);
      continue;
    }
    step = protocol.next(value);
  }
  return step.value;
}

/** Runs `protocol` with the promise form of every call. */
export async function runAsync<R>(protocol: Protocol<R>): Promise<R> {
  let step = protocol.next();
  while (step.done !== true) {
    let value: unknown;
    try {
      value = await step.value.async();
    } catch (e) {
      step = protocol.throw(e);
      continue;
    }
    step = protocol.next(value);
  }
  return step.value;
}
