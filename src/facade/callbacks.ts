/**
 * The callback functions of the node:fs facade: each runs the promise form (a path call of the
 * `promises` object, a descriptor call of the facade's table, a protocol of operations.ts with
 * `runAsync`) and hands its outcome to the callback on a later tick (so a callback that throws is an
 * uncaught exception, as in node:fs, not a rejected promise). Opens wait in the table's budget queue.
 *
 * @module
 */
import { runAsync } from '../protocol/run.js';
import {
  invalidArgType,
  parseFlags,
  parseMode,
  type FacadeContext,
  type FsData,
  type FsEncoding,
  type PathLike,
} from './context.js';
import { checkStatOptions, transferArgs, writeArgs } from './arguments.js';
import * as op from './operations.js';
import type { FsPromises } from './promises.js';
import { Stats } from './stats.js';
import type {
  FsCallbacks,
  FsMode,
  FsOpenFlags,
  ReadFileOptions,
  ReadPositionOptions,
  StatOptions,
  WriteFileOptions,
} from './types.js';

/** A node-style callback as the facade calls it: an error or null, then the values. */
type AnyCallback = (err: unknown, ...values: unknown[]) => void;

/** Splits a call's arguments into the leading ones and the callback (which must be a function). */
function split(args: unknown[], optional = false): [unknown[], AnyCallback] {
  const last = args[args.length - 1];
  if (typeof last === 'function') return [args.slice(0, -1), last as AnyCallback];
  if (optional) return [args, noop];
  throw invalidArgType('cb', 'of type function', last);
}

function noop(): void {
  // a close without a callback
}

/** Hands a promise's outcome to a node-style callback on a later tick; `spread` gives the values after `null`. */
function deliver<T>(p: Promise<T>, cb: AnyCallback, spread?: (v: T) => unknown[]): void {
  p.then(
    (v) => {
      process.nextTick(() => {
        if (spread === undefined) cb(null, v);
        else cb(null, ...spread(v));
      });
    },
    (e: unknown) => {
      process.nextTick(() => {
        cb(e);
      });
    },
  );
}

/** Runs `run` in a promise, so argument errors also reach the callback. */
function attempt<T>(run: () => Promise<T>): Promise<T> {
  try {
    return run();
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/** A callback function from a promise function taking the same leading arguments. */
function fromPromise(
  fn: (...args: never[]) => Promise<unknown>,
  values: 'value' | 'none' = 'value',
): (...args: unknown[]) => void {
  const f = fn as (...a: unknown[]) => Promise<unknown>;
  return (...args: unknown[]): void => {
    const [rest, cb] = split(args);
    deliver(
      attempt(() => f(...rest)),
      cb,
      values === 'none' ? () => [] : undefined,
    );
  };
}

/** The callback functions of a facade over `ctx`, built on its promise API and its table. */
export function callbackApi(ctx: FacadeContext, promises: FsPromises): FsCallbacks {
  const table = ctx.table;
  const none = (): unknown[] => [];
  const fileCall = (file: PathLike | number, data: FsData, args: unknown[], flag: 'w' | 'a'): void => {
    const [rest, cb] = split(args);
    const options = rest[0] as WriteFileOptions | FsEncoding | null | undefined;
    deliver(
      attempt(() => runAsync(op.writeFile(ctx, op.fileOf(table, file, 'write'), data, options, flag))),
      cb,
      none,
    );
  };

  return {
    exists: (p: PathLike, callback: (exists: boolean) => void): void => {
      void runAsync(op.exists(ctx, p)).then((yes) => {
        process.nextTick(callback, yes);
      });
    },
    access: fromPromise(promises.access, 'none'),
    open: (...args: unknown[]): void => {
      const [rest, cb] = split(args);
      const [p, flags, mode] = rest as [PathLike, FsOpenFlags | undefined, FsMode | undefined | null];
      deliver(
        attempt(() => table.open(ctx.path(p), parseFlags(flags, 'r'), parseMode(mode, 0o666))),
        cb,
      );
    },
    close: (...args: unknown[]): void => {
      const [rest, cb] = split(args, true);
      deliver(
        attempt(() => table.close(rest[0] as number)),
        cb,
        none,
      );
    },
    read: (fd: number, buffer: NodeJS.ArrayBufferView, ...args: unknown[]): void => {
      const [rest, cb] = split(args);
      deliver(
        attempt(async () => {
          const [a1, a2, a3] = rest as [
            number | ReadPositionOptions | undefined,
            number | undefined,
            number | bigint | null | undefined,
          ];
          const a = transferArgs(buffer, a1, a2, a3);
          return a.length === 0 ? 0 : table.read(fd, a.bytes, a.offset, a.length, a.position);
        }),
        cb,
        (n) => [n, buffer],
      );
    },
    write: (fd: number, data: NodeJS.ArrayBufferView | string, ...args: unknown[]): void => {
      const [rest, cb] = split(args);
      deliver(
        attempt(() => {
          const [a1, a2, a3] = rest as [
            number | ReadPositionOptions | null | undefined,
            number | string | null | undefined,
            number | null | undefined,
          ];
          const a = writeArgs(data, a1, a2, a3);
          return table.write(fd, a.bytes, a.offset, a.length, a.position);
        }),
        cb,
        (n) => [n, data],
      );
    },
    readFile: (file: PathLike | number, ...args: unknown[]): void => {
      const [rest, cb] = split(args);
      const options = rest[0] as ReadFileOptions | FsEncoding | null | undefined;
      deliver(
        attempt(() => runAsync(op.readFile(ctx, op.fileOf(table, file, 'read'), options))),
        cb,
      );
    },
    writeFile: (file: PathLike | number, data: FsData, ...args: unknown[]): void => {
      fileCall(file, data, args, 'w');
    },
    appendFile: (file: PathLike | number, data: FsData, ...args: unknown[]): void => {
      fileCall(file, data, args, 'a');
    },
    stat: fromPromise(promises.stat),
    lstat: fromPromise(promises.lstat),
    fstat: (fd: number, ...args: unknown[]): void => {
      const [rest, cb] = split(args);
      deliver(
        attempt(async () => {
          checkStatOptions(rest[0] as StatOptions | undefined);
          return new Stats(await table.fstat(fd));
        }),
        cb,
      );
    },
    readdir: fromPromise(promises.readdir),
    mkdir: fromPromise(promises.mkdir),
    mkdtemp: fromPromise(promises.mkdtemp),
    rmdir: fromPromise(promises.rmdir, 'none'),
    rm: fromPromise(promises.rm, 'none'),
    unlink: fromPromise(promises.unlink, 'none'),
    rename: fromPromise(promises.rename, 'none'),
    copyFile: fromPromise(promises.copyFile, 'none'),
    link: fromPromise(promises.link, 'none'),
    symlink: fromPromise(promises.symlink, 'none'),
    readlink: fromPromise(promises.readlink),
    realpath: fromPromise(promises.realpath),
    chmod: fromPromise(promises.chmod, 'none'),
    fchmod: (...args: unknown[]): void => {
      const [[fd, mode], cb] = split(args);
      deliver(
        attempt(() => runAsync(op.fchmodOf(table.descriptor(fd as number, 'fchmod'), mode as FsMode))),
        cb,
        none,
      );
    },
    chown: fromPromise(promises.chown, 'none'),
    fchown: (...args: unknown[]): void => {
      const [[fd, uid, gid], cb] = split(args);
      deliver(
        attempt(() => runAsync(op.fchownOf(table.descriptor(fd as number, 'fchown'), uid as number, gid as number))),
        cb,
        none,
      );
    },
    truncate: fromPromise(promises.truncate, 'none'),
    ftruncate: (fd: number, ...args: unknown[]): void => {
      const [rest, cb] = split(args);
      deliver(
        attempt(() => table.ftruncate(fd, (rest[0] as number | null | undefined) ?? 0)),
        cb,
        none,
      );
    },
    fsync: (...args: unknown[]): void => {
      const [[fd], cb] = split(args);
      deliver(
        attempt(() => table.fsync(fd as number)),
        cb,
        none,
      );
    },
    fdatasync: (...args: unknown[]): void => {
      const [[fd], cb] = split(args);
      deliver(
        attempt(() => table.fdatasync(fd as number)),
        cb,
        none,
      );
    },
    utimes: fromPromise(promises.utimes, 'none'),
  };
}
