/**
 * The callback functions of the node:fs facade: each runs the promise form and hands its outcome to the
 * callback on a later tick (so a callback that throws is an uncaught exception, as in node:fs, not a
 * rejected promise).
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import { invalidArgType, positionOf, type FacadeContext } from './context.js';
import { Stats } from './stats.js';
import { checkStatOptions, toTime, transferArgs } from './sync.js';
import type { FsPromises } from './promises.js';
import { readAll, writeAll } from './promises.js';
import { decode, optionsOf, type FsEncoding, type PathLike } from './context.js';
import type { FsCallbacks, FsTime, ReadFileOptions, ReadPositionOptions, StatOptions, WriteFileOptions } from './types.js';

type AnyCallback = (...args: unknown[]) => void;

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
function fromPromise(fn: (...args: never[]) => Promise<unknown>): (...args: unknown[]) => void {
  return (...args: unknown[]): void => {
    const [rest, cb] = split(args);
    deliver(attempt(() => (fn as (...a: unknown[]) => Promise<unknown>)(...rest)), cb);
  };
}

/** The callback functions of a facade over `ctx`, built on its promise API. */
export function callbackApi(ctx: FacadeContext, promises: FsPromises): FsCallbacks {
  const b: Backend = ctx.backend;
  const P = ctx.path;

  const readFileFd = async (fd: number, options?: ReadFileOptions | FsEncoding | null): Promise<string | Buffer> => decode(await readAll(b, fd, undefined, null), optionsOf(options).encoding);
  const writeFileFd = async (fd: number, data: string | NodeJS.ArrayBufferView, options?: WriteFileOptions | FsEncoding | null): Promise<void> => {
    const o = optionsOf(options);
    await writeAll(b, fd, typeof data === 'string' ? Buffer.from(data, o.encoding === 'buffer' || o.encoding == null ? 'utf8' : o.encoding) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength), null);
  };

  const api = {
    exists(p: PathLike, callback: (exists: boolean) => void): void {
      let path: string;
      try {
        path = P(p);
      } catch {
        process.nextTick(callback, false);
        return;
      }
      b.stat(path).then(
        () => {
          process.nextTick(callback, true);
        },
        () => {
          process.nextTick(callback, false);
        },
      );
    },
    access: fromPromise(promises.access),
    open(...args: unknown[]): void {
      const [rest, cb] = split(args);
      deliver(attempt(async () => (await promises.open(...(rest as [PathLike]))).fd), cb);
    },
    close(...args: unknown[]): void {
      const [rest, cb] = split(args, true);
      deliver(attempt(() => b.close(rest[0] as number)), cb, () => []);
    },
    read(fd: number, buffer: NodeJS.ArrayBufferView, ...args: unknown[]): void {
      const [rest, cb] = split(args);
      deliver(
        attempt(async () => {
          const [a1, a2, a3] = rest as [number | ReadPositionOptions | undefined, number | undefined, number | bigint | null | undefined];
          const a = transferArgs(buffer, a1, a2, a3);
          return a.length === 0 ? 0 : b.read(fd, a.bytes, a.offset, a.length, a.position);
        }),
        cb,
        (n) => [n, buffer],
      );
    },
    write(fd: number, data: NodeJS.ArrayBufferView | string, ...args: unknown[]): void {
      const [rest, cb] = split(args);
      deliver(
        attempt(async () => {
          if (typeof data === 'string') {
            const [position, encoding] = rest as [number | null | undefined, BufferEncoding | null | undefined];
            const bytes = Buffer.from(data, encoding ?? 'utf8');
            return b.write(fd, bytes, 0, bytes.byteLength, positionOf(position));
          }
          const [a1, a2, a3] = rest as [number | ReadPositionOptions | null | undefined, number | null | undefined, number | null | undefined];
          const a = transferArgs(data, a1, a2, a3);
          return b.write(fd, a.bytes, a.offset, a.length, a.position);
        }),
        cb,
        (n) => [n, data],
      );
    },
    readFile(file: PathLike | number, ...args: unknown[]): void {
      const [rest, cb] = split(args);
      const options = rest[0] as ReadFileOptions | FsEncoding | null | undefined;
      deliver(attempt(() => (typeof file === 'number' ? readFileFd(file, options) : promises.readFile(file, options))), cb);
    },
    writeFile(file: PathLike | number, data: string | NodeJS.ArrayBufferView, ...args: unknown[]): void {
      const [rest, cb] = split(args);
      const options = rest[0] as WriteFileOptions | FsEncoding | null | undefined;
      deliver(attempt(() => (typeof file === 'number' ? writeFileFd(file, data, options) : promises.writeFile(file, data, options))), cb, () => []);
    },
    appendFile(file: PathLike | number, data: string | NodeJS.ArrayBufferView, ...args: unknown[]): void {
      const [rest, cb] = split(args);
      const options = rest[0] as WriteFileOptions | FsEncoding | null | undefined;
      deliver(attempt(() => (typeof file === 'number' ? writeFileFd(file, data, options) : promises.appendFile(file, data, options))), cb, () => []);
    },
    stat: fromPromise(promises.stat),
    lstat: fromPromise(promises.lstat),
    fstat(fd: number, ...args: unknown[]): void {
      const [rest, cb] = split(args);
      deliver(
        attempt(async () => {
          checkStatOptions(rest[0] as StatOptions | undefined);
          return new Stats(await b.fstat(fd));
        }),
        cb,
      );
    },
    readdir: fromPromise(promises.readdir),
    mkdir: fromPromise(promises.mkdir),
    mkdtemp: fromPromise(promises.mkdtemp),
    rmdir: fromPromise(promises.rmdir),
    rm: fromPromise(promises.rm),
    unlink: fromPromise(promises.unlink),
    rename: fromPromise(promises.rename),
    copyFile: fromPromise(promises.copyFile),
    link: fromPromise(promises.link),
    symlink: fromPromise(promises.symlink),
    readlink: fromPromise(promises.readlink),
    realpath: fromPromise(promises.realpath),
    chmod: fromPromise(promises.chmod),
    fchmod(fd: number, mode: number | string, callback: AnyCallback): void {
      deliver(attempt(() => b.fchmod(fd, typeof mode === 'string' ? parseInt(mode, 8) : mode)), callback, () => []);
    },
    chown: fromPromise(promises.chown),
    fchown(fd: number, uid: number, gid: number, callback: AnyCallback): void {
      deliver(attempt(() => b.fchown(fd, uid, gid)), callback, () => []);
    },
    truncate: fromPromise(promises.truncate),
    ftruncate(fd: number, ...args: unknown[]): void {
      const [rest, cb] = split(args);
      deliver(attempt(() => b.ftruncate(fd, (rest[0] as number | null | undefined) ?? 0)), cb, () => []);
    },
    fsync(fd: number, callback: AnyCallback): void {
      deliver(attempt(() => b.fsync(fd)), callback, () => []);
    },
    fdatasync(fd: number, callback: AnyCallback): void {
      deliver(attempt(() => b.fdatasync(fd)), callback, () => []);
    },
    utimes(p: PathLike, atime: FsTime, mtime: FsTime, callback: AnyCallback): void {
      deliver(attempt(() => b.utimes(P(p), toTime(atime, 'atime'), toTime(mtime, 'mtime'))), callback, () => []);
    },
  };
  return api as unknown as FsCallbacks;
}
