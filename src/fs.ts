/**
 * A node:fs-shaped facade over any fdkeeper backend: `createFs(new MemoryBackend())` gives code written
 * for node:fs (isomorphic-git, a config loader) an in-memory or fault-injecting file system.
 *
 * ```ts
 * import { createFs } from 'fdkeeper/fs';
 * import { MemoryBackend } from 'fdkeeper/testing';
 * const fs = createFs(new MemoryBackend());
 * fs.writeFileSync('/a.txt', 'hello');
 * ```
 *
 * @module
 */
export { createFs, type CreateFsOptions, type FsFacade } from './facade/create-fs.js';
export type { FsData, FsEncoding, PathLike } from './facade/context.js';
export type {
  Callback,
  EncodingOptions,
  FsCallbacks,
  FsMode,
  FsOpenFlags,
  FsSync,
  FsTime,
  MkdirOptions,
  NoResultCallback,
  ReadFileOptions,
  ReadPositionOptions,
  ReadStreamOptions,
  ReaddirOptions,
  ReaddirResult,
  RmOptions,
  RmdirOptions,
  StatOptions,
  StringResult,
  WriteFileOptions,
  WriteStreamOptions,
} from './facade/types.js';
export type {
  FileHandle,
  FileReadResult,
  FileWriteResult,
  FsPromises,
  PromiseStringResult,
} from './facade/promises.js';
export type { Dirent, Stats } from './facade/stats.js';
export type { ReadStream, WriteStream } from './facade/streams.js';
export type { Backend } from './backend/backend.js';
