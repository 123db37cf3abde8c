/**
 * A Backend that delegates every call to a real {@link OsBackend} and records it: which method, with
 * which arguments, and for the calls that create descriptors, which number they returned. Used to check
 * that each backend descriptor is closed exactly once, and that a closed Descriptor makes no syscall.
 */
import { OsBackend } from '../../src/backend/os-backend.js';
import type { Backend } from '../../src/backend/backend.js';

/** One recorded backend call. */
export interface BackendCall {
  readonly method: string;
  readonly args: readonly unknown[];
  /** What a synchronous call returned (descriptor numbers for openSync, reserveSync, …). */
  readonly result?: unknown;
}

/** A counting backend and what it saw. */
export interface CountingBackend {
  readonly backend: Backend;
  /** Every call, in order. Calls OsBackend makes on itself (reserveAtSync's closeSync…) are included. */
  readonly calls: BackendCall[];
  /** The descriptor numbers passed to closeSync / close, in order. */
  closes(): number[];
  /** The descriptor numbers that backend calls created (open, reserve, reopen, pipe). */
  created(): number[];
  /** How many calls were made to `method`. */
  count(method: string): number;
}

const CREATORS = new Set(['openSync', 'reserveSync', 'reopenSync', 'pipeSync']);

export function countingBackend(): CountingBackend {
  const os = new OsBackend();
  const calls: BackendCall[] = [];
  const created: number[] = [];
  let depth = 0;
  const backend: Backend = new Proxy(os, {
    get(target, prop, receiver): unknown {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = String(prop);
      return (...args: unknown[]): unknown => {
        const call: { method: string; args: unknown[]; result?: unknown } = { method, args };
        calls.push(call); // before the call: a call that throws was still made
        const outer = depth === 0;
        depth++;
        let result: unknown;
        try {
          // `receiver` (the proxy) as `this`: OsBackend's calls on itself are recorded too.
          result = Reflect.apply(value as (...a: unknown[]) => unknown, receiver, args);
        } finally {
          depth--;
        }
        call.result = result;
        // Descriptors the table asked for (not reserveAtSync's internal placeholders, which it closes itself).
        if (outer && CREATORS.has(method)) {
          if (typeof result === 'number') created.push(result);
          else if (Array.isArray(result)) created.push(...(result as number[]));
        }
        if (outer && method === 'reserveAtSync' && result === true) created.push(args[0] as number);
        if (outer && method === 'open' && result instanceof Promise) {
          void (result as Promise<unknown>).then(
            (fd) => {
              if (typeof fd === 'number') created.push(fd);
            },
            () => undefined,
          );
        }
        return result;
      };
    },
  });
  return {
    backend,
    calls,
    closes: () => calls.filter((c) => c.method === 'closeSync' || c.method === 'close').map((c) => c.args[0] as number),
    created: () => [...created],
    count: (method) => calls.filter((c) => c.method === method).length,
  };
}
