/**
 * The synchronous node:fs functions of the facade. Descriptor calls go to the facade's
 * {@link FileTable} (its numbers are the ones `openSync` returns); multi-step calls run the protocols of
 * operations.ts with `runSync`; one-call path functions call the backend directly (a generator would
 * cost a measurable share of a `statSync`).
 *
 * A synchronous open cannot wait: past the table's budget, or when the backend is out of descriptors,
 * it fails at once with an EMFILE {@link FsError} naming the top open sites.
 *
 * @module
 */
import { runSync } from '../protocol/run.js';
import {
  parseFlags,
  parseMode,
  pathString,
  type FacadeContext,
  type FsData,
  type FsEncoding,
  type PathLike,
} from './context.js';
import { checkStatOptions, toTime, transferArgs, writeArgs } from './arguments.js';
import type { Descriptor } from '../table/descriptor.js';
import * as op from './operations.js';
import { Dirent, Stats } from './stats.js';
import type {
  EncodingOptions,
  FsMode,
  FsOpenFlags,
  FsSync,
  FsTime,
  MkdirOptions,
  ReadFileOptions,
  ReadPositionOptions,
  ReaddirOptions,
  ReaddirResult,
  RmOptions,
  RmdirOptions,
  StatOptions,
  WriteFileOptions,
} from './types.js';

/** The synchronous functions of a facade over `ctx`. */
export function syncApi(ctx: FacadeContext): FsSync {
  const b = ctx.backend;
  const table = ctx.table;
  const P = ctx.path;
  const target = (file: PathLike | number, syscall: string): PathLike | Descriptor => op.fileOf(table, file, syscall);

  /** stat (`link` false) or lstat; undefined for a missing path with `throwIfNoEntry: false`. */
  const statWith = (p: PathLike, options: StatOptions | undefined, link: boolean): Stats | undefined => {
    checkStatOptions(options);
    if (options?.throwIfNoEntry !== false) return new Stats(link ? b.lstatSync(P(p)) : b.statSync(P(p)));
    const st = runSync(op.statOf(ctx, p, link, false));
    return st === undefined ? undefined : new Stats(st);
  };
  function statSync(p: PathLike, options: StatOptions & { throwIfNoEntry: false }): Stats | undefined;
  function statSync(p: PathLike, options?: StatOptions): Stats;
  function statSync(p: PathLike, options?: StatOptions): Stats | undefined {
    return statWith(p, options, false);
  }
  function lstatSync(p: PathLike, options: StatOptions & { throwIfNoEntry: false }): Stats | undefined;
  function lstatSync(p: PathLike, options?: StatOptions): Stats;
  function lstatSync(p: PathLike, options?: StatOptions): Stats | undefined {
    return statWith(p, options, true);
  }

  function readSync(
    fd: number,
    buffer: NodeJS.ArrayBufferView,
    offset: number,
    length: number,
    position?: number | bigint | null,
  ): number;
  function readSync(fd: number, buffer: NodeJS.ArrayBufferView, options?: ReadPositionOptions): number;
  function readSync(
    fd: number,
    buffer: NodeJS.ArrayBufferView,
    offset?: number | ReadPositionOptions,
    length?: number,
    position?: number | bigint | null,
  ): number {
    const a = transferArgs(buffer, offset, length, position);
    if (a.length === 0) return 0;
    return table.readSync(fd, a.bytes, a.offset, a.length, a.position);
  }

  function writeSync(
    fd: number,
    buffer: NodeJS.ArrayBufferView,
    offset?: number | null,
    length?: number | null,
    position?: number | null,
  ): number;
  function writeSync(fd: number, buffer: NodeJS.ArrayBufferView, options?: ReadPositionOptions): number;
  function writeSync(fd: number, data: string, position?: number | null, encoding?: BufferEncoding | null): number;
  function writeSync(
    fd: number,
    data: NodeJS.ArrayBufferView | string,
    a1?: number | ReadPositionOptions | null,
    a2?: number | string | null,
    a3?: number | null,
  ): number {
    const a = writeArgs(data, a1, a2, a3);
    return table.writeSync(fd, a.bytes, a.offset, a.length, a.position);
  }

  function readFileSync(file: PathLike | number, options?: { encoding?: null; flag?: FsOpenFlags } | null): Buffer;
  function readFileSync(
    file: PathLike | number,
    options: { encoding: BufferEncoding; flag?: FsOpenFlags } | BufferEncoding,
  ): string;
  function readFileSync(file: PathLike | number, options?: ReadFileOptions | FsEncoding | null): string | Buffer;
  function readFileSync(file: PathLike | number, options?: ReadFileOptions | FsEncoding | null): string | Buffer {
    const f = target(file, 'read');
    return op.isDescriptor(f) ? runSync(op.readFile(ctx, f, options)) : op.readPathSync(ctx, f, options);
  }

  function readdirSync(p: PathLike, options: ReaddirOptions & { withFileTypes: true }): Dirent[];
  function readdirSync(
    p: PathLike,
    options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer',
  ): Buffer[];
  function readdirSync(
    p: PathLike,
    options?: { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null,
  ): string[];
  function readdirSync(p: PathLike, options?: ReaddirOptions | FsEncoding | null): ReaddirResult;
  function readdirSync(p: PathLike, options?: ReaddirOptions | FsEncoding | null): ReaddirResult {
    return runSync(op.readdir(ctx, p, options));
  }

  function mkdtempSync(prefix: string, options: { encoding: 'buffer' } | 'buffer'): Buffer;
  function mkdtempSync(prefix: string, options?: { encoding?: BufferEncoding | null } | BufferEncoding | null): string;
  function mkdtempSync(prefix: string, options?: EncodingOptions | FsEncoding | null): string | Buffer {
    return runSync(op.mkdtemp(ctx, prefix, options));
  }

  function readlinkSync(p: PathLike, options: { encoding: 'buffer' } | 'buffer'): Buffer;
  function readlinkSync(p: PathLike, options?: { encoding?: BufferEncoding | null } | BufferEncoding | null): string;
  function readlinkSync(p: PathLike, options?: EncodingOptions | FsEncoding | null): string | Buffer {
    return runSync(op.readlink(ctx, p, options));
  }

  function realpathSync(p: PathLike, options: { encoding: 'buffer' } | 'buffer'): Buffer;
  function realpathSync(p: PathLike, options?: { encoding?: BufferEncoding | null } | BufferEncoding | null): string;
  function realpathSync(p: PathLike, options?: EncodingOptions | FsEncoding | null): string | Buffer {
    return runSync(op.realpath(ctx, p, options));
  }

  return {
    existsSync: (p: PathLike): boolean => runSync(op.exists(ctx, p)),
    accessSync: (p: PathLike, mode?: number): void => {
      runSync(op.access(ctx, p, mode));
    },
    openSync: (p: PathLike, flags?: FsOpenFlags, mode?: FsMode): number =>
      table.openSync(P(p), parseFlags(flags, 'r'), parseMode(mode, 0o666)),
    closeSync: (fd: number): void => {
      table.closeSync(fd);
    },
    readSync,
    writeSync,
    readFileSync,
    writeFileSync: (file: PathLike | number, data: FsData, options?: WriteFileOptions | FsEncoding | null): void => {
      const f = target(file, 'write');
      if (op.isDescriptor(f)) runSync(op.writeFile(ctx, f, data, options, 'w'));
      else op.writePathSync(ctx, f, data, options, 'w');
    },
    appendFileSync: (file: PathLike | number, data: FsData, options?: WriteFileOptions | FsEncoding | null): void => {
      const f = target(file, 'write');
      if (op.isDescriptor(f)) runSync(op.writeFile(ctx, f, data, options, 'a'));
      else op.writePathSync(ctx, f, data, options, 'a');
    },
    statSync,
    lstatSync,
    fstatSync: (fd: number, options?: StatOptions): Stats => {
      checkStatOptions(options);
      return new Stats(table.fstatSync(fd));
    },
    readdirSync,
    mkdirSync: (p: PathLike, options?: MkdirOptions | FsMode | null): string | undefined =>
      runSync(op.mkdir(ctx, p, options)),
    mkdtempSync,
    rmdirSync: (p: PathLike, options?: RmdirOptions): void => {
      runSync(op.rmdir(ctx, p, options));
    },
    rmSync: (p: PathLike, options?: RmOptions): void => {
      runSync(op.rm(ctx, p, options));
    },
    unlinkSync: (p: PathLike): void => {
      b.unlinkSync(P(p));
    },
    renameSync: (oldPath: PathLike, newPath: PathLike): void => {
      b.renameSync(P(oldPath, 'oldPath'), P(newPath, 'newPath'));
    },
    copyFileSync: (src: PathLike, dest: PathLike, mode = 0): void => {
      runSync(op.copyFile(ctx, src, dest, mode));
    },
    linkSync: (existingPath: PathLike, newPath: PathLike): void => {
      b.linkSync(P(existingPath, 'existingPath'), P(newPath, 'newPath'));
    },
    symlinkSync: (linkTarget: PathLike, p: PathLike): void => {
      // The target is stored as given: a relative target is relative to the link's directory.
      b.symlinkSync(pathString(linkTarget, 'target'), P(p));
    },
    readlinkSync,
    realpathSync: Object.assign(realpathSync, { native: realpathSync }),
    chmodSync: (p: PathLike, mode: FsMode): void => {
      b.chmodSync(P(p), parseMode(mode, 0));
    },
    fchmodSync: (fd: number, mode: FsMode): void => {
      runSync(op.fchmodOf(table.descriptor(fd, 'fchmod'), mode));
    },
    chownSync: (p: PathLike, uid: number, gid: number): void => {
      runSync(op.chownPath(ctx, p, uid, gid));
    },
    fchownSync: (fd: number, uid: number, gid: number): void => {
      runSync(op.fchownOf(table.descriptor(fd, 'fchown'), uid, gid));
    },
    truncateSync: (p: PathLike, len?: number | null): void => {
      runSync(op.truncatePath(ctx, p, len));
    },
    ftruncateSync: (fd: number, len?: number | null): void => {
      table.ftruncateSync(fd, len ?? 0);
    },
    fsyncSync: (fd: number): void => {
      table.fsyncSync(fd);
    },
    fdatasyncSync: (fd: number): void => {
      table.fdatasyncSync(fd);
    },
    utimesSync: (p: PathLike, atime: FsTime, mtime: FsTime): void => {
      b.utimesSync(P(p), toTime(atime, 'atime'), toTime(mtime, 'mtime'));
    },
  };
}
