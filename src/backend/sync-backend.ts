/**
 * A base for backends whose calls are synchronous by nature (the in-memory file system): they write the
 * synchronous form of every call, and the promise forms are derived, once, for all of them.
 *
 * @module
 */
import { TWIN_METHODS, type BackendPromiseForms, type BackendSyncForms } from './backend.js';
import { rejected } from '../errors/fs-error.js';

// The promise forms are installed on the prototype below; this interface tells the compiler they exist.
// A subclass declares `implements Backend`, which checks that it writes every synchronous form itself.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface SyncBackend extends BackendPromiseForms {}

/**
 * A {@link Backend} written in its synchronous forms only. Each promise form `x(...args)` runs
 * `xSync(...args)` at once, when called, and returns a settled promise: fulfilled with its result, or
 * rejected with what it threw. A subclass therefore cannot make the two forms differ.
 *
 * ```ts
 * class MyBackend extends SyncBackend implements Backend {
 *   openSync(path: string, flags: number, mode?: number): number { … }
 *   // …every other xxxSync; open(), read()… are inherited
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class SyncBackend {
  /** A short name for messages and reports. */
  abstract readonly name: string;
}

for (const name of TWIN_METHODS) {
  const syncName = `${name}Sync` as const;
  Object.defineProperty(SyncBackend.prototype, name, {
    configurable: true,
    writable: true,
    value: {
      // A method definition (not a function expression), so that stack traces and `.name` say `open`.
      [name](this: BackendSyncForms, ...args: unknown[]): Promise<unknown> {
        try {
          const result: unknown = Reflect.apply(this[syncName], this, args);
          return Promise.resolve(result);
        } catch (e) {
          return rejected(e);
        }
      },
    }[name],
  });
}
