/**
 * fdkeeper: file descriptors you can trust.
 *
 * - {@link open} / {@link openSync}: Python-style file objects (raw, buffered, text) with explicit ownership.
 * - {@link FileTable}: a descriptor table with POSIX `dup`/`dup2`, an fd budget and leak reports;
 *   {@link fdtable} is the process-wide one.
 * - {@link atomicWrite}, {@link openLog}, {@link pipe}: atomic file replacement, rotation-proof logs, pipes.
 * - {@link FsError}: the one error type, with `code`, `syscall`, `path`, `fd` and open/close sites.
 *
 * The rest lives in subpaths: `fdkeeper/testing` (leak checks, memory and faulty backends, the crash
 * explorer), `fdkeeper/fs` (a node:fs facade over any backend), `fdkeeper/log` (pino, winston and stream
 * adapters), `fdkeeper/pino` (the pino transport), `fdkeeper/register` (the `--import` hook).
 * docs/design.md "Public API" lists every export and why it is here.
 *
 * @packageDocumentation
 */
export { FsError, hasCode, type FsErrorInit, type TargetOutcome } from './errors/fs-error.js';

export type { Backend, Bytes, FdInfo, FileStat, TimeLike } from './backend/backend.js';
export type { OpenFlags } from './backend/flags.js';

export { FileTable, type AdoptOptions, type FileTableOptions, type Whence } from './table/file-table.js';
export { fdtable } from './table/default-table.js';
export { Descriptor, type DescriptorOrigin, type DescriptorTable } from './table/descriptor.js';
export type { OpenFileDescription } from './table/open-file-description.js';
export type { FdBudget, RoomWake } from './table/fd-budget.js';

export {
  open,
  openSync,
  type AnyFile,
  type BinaryFileFor,
  type BufferingOf,
  type FileFor,
  type NoOptions,
  type OpenOptions,
} from './io/open.js';
export type { ParsedMode } from './io/mode.js';
export type { CanonicalEncoding } from './io/text-codec.js';
export { RawFile } from './io/raw-file.js';
export { BufferedFile } from './io/buffered-file.js';
export {
  TextFile,
  type DecodeErrors,
  type LinesOptions,
  type Newline,
  type TextEncoding,
  type TextOptions,
} from './io/text-file.js';
export { pipe, type Pipe, type PipeOptions } from './io/pipe.js';

export {
  formatLeakReport,
  type LeakReportOptions,
  type OpenHandle,
  type OpenSiteGroup,
} from './diagnostics/leak-report.js';
export type { OpenSite, SiteMode, SitePolicy, SitePolicyOptions, StackFrame } from './diagnostics/open-site.js';
export {
  activeNodeFsTracker,
  trackNodeFs,
  type NodeFsTracker,
  type NodeFsTrackerOptions,
  type NodeFsTrackerStats,
} from './register/node-fs-tracker.js';
export type { NodeFsOpenApi } from './register/fd-record.js';
export type { OpenCountPoint } from './register/open-count-series.js';
export type { RegisterReport, RegisterReportReclaimed, RegisterReportSite, ReportReason } from './register/report.js';

export { atomicWrite, atomicWriteSync } from './atomic/atomic-write.js';
export { PendingFile, atomicCreate, atomicCreateSync } from './atomic/pending-file.js';
export { createExclusive } from './atomic/create-exclusive.js';
export { cleanupTemps } from './atomic/cleanup-temps.js';
export type {
  AtomicCreateOptions,
  AtomicData,
  AtomicDataSync,
  AtomicOptions,
  AtomicWriteOptions,
  CleanupOptions,
  CreateExclusiveOptions,
  Durability,
  ExclusiveResult,
} from './atomic/types.js';

export { LogFile, openLog, type LogFileEvents } from './log/log-file.js';
export type {
  CarriedOver,
  DropEvent,
  FsyncPolicy,
  LogFileOptions,
  LogFileStats,
  ReopenEvent,
  ReopenReason,
  ReopenSignal,
  SymlinkPolicy,
} from './log/types.js';
