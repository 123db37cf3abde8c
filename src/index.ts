/**
 * fdkeeper: file descriptors you can trust.
 *
 * - {@link open} / {@link openSync}: Python-style file objects (raw, buffered, text) with explicit ownership.
 * - {@link FileTable}: a descriptor table with POSIX `dup`/`dup2`, an fd budget and leak reports;
 *   {@link fdtable} is the process-wide one.
 * - {@link FsError}: the one error type, with `code`, `syscall`, `path`, `fd` and open/close sites.
 *
 * @packageDocumentation
 */
export { FsError, hasCode, type FsErrorInit } from './errors/fs-error.js';

export type { Backend, Bytes, FdInfo, FileStat, TimeLike } from './backend/backend.js';
export { OsBackend } from './backend/os-backend.js';
export { O, O_PATH, accessMode, flagsToMode, parseOpenFlags, type OpenFlags } from './backend/flags.js';

export { FileTable, REUSED_WARNING, SEEK_CUR, SEEK_END, SEEK_SET, type AdoptOptions, type FileTableOptions, type Whence } from './table/file-table.js';
export { fdtable } from './table/default-table.js';
export { Descriptor, type DescriptorOrigin } from './table/descriptor.js';
export type { OpenFileDescription } from './table/open-file-description.js';
export type { FdBudget } from './table/fd-budget.js';

export { open, openSync, type AnyFile, type FileFor, type OpenOptions } from './io/open.js';
export { parseMode, type ParsedMode } from './io/mode.js';
export { RawFile } from './io/raw-file.js';
export { BufferedFile, DEFAULT_BUFFER_SIZE } from './io/buffered-file.js';
export { TextFile, type DecodeErrors, type LinesOptions, type Newline, type TextEncoding, type TextOptions } from './io/text-file.js';
export { Pipe, pipe, type PipeOptions } from './io/pipe.js';

export { OpenHandle, formatAge, formatLeakReport, groupByOpenSite, summarizeOpenSites, type LeakReportOptions, type OpenSiteGroup } from './diagnostics/leak-report.js';
export { OpenSite, type SiteMode, type StackFrame } from './diagnostics/open-site.js';
export { UNCLOSED_WARNING } from './diagnostics/unclosed-watch.js';
export { NodeFsTracker, activeNodeFsTracker, trackNodeFs, type NodeFsTrackerOptions, type NodeFsTrackerStats } from './register/node-fs-tracker.js';
export type { NodeFsOpenApi } from './register/fd-record.js';
export type { OpenCountPoint } from './register/open-count-series.js';
export { REPORT_FORMAT, type RegisterReport, type RegisterReportReclaimed, type RegisterReportSite, type ReportReason } from './register/report.js';

export { MemoryBackend, type MemoryBackendOptions, type MemoryTreeEntry, type MemoryTreeOptions } from './backend/memory/memory-backend.js';

export { FaultyBackend, type FaultCall, type FaultRule, type FaultSyscall, type PathMatcher } from './backend/faulty-backend.js';

export { createFs, type CreateFsOptions, type FsFacade } from './facade/create-fs.js';
export type { FsData, FsEncoding, PathLike } from './facade/context.js';
export type { Callback, EncodingOptions, FsCallbacks, FsMode, FsOpenFlags, FsSync, FsTime, MkdirOptions, NoResultCallback, ReadFileOptions, ReadPositionOptions, ReadStreamOptions, ReaddirOptions, ReaddirResult, RmOptions, RmdirOptions, StatOptions, StringResult, WriteFileOptions, WriteStreamOptions } from './facade/types.js';
export type { FileReadResult, FileWriteResult, FsPromises, PromiseStringResult } from './facade/promises.js';
export type { FileHandle as FsFileHandle } from './facade/promises.js';
export type { Dirent as FsDirent, Stats as FsStats } from './facade/stats.js';
export type { ReadStream as FsReadStream, WriteStream as FsWriteStream } from './facade/streams.js';

export { atomicWrite, atomicWriteSync } from './atomic/atomic-write.js';
export { PendingFile, atomicCreate, atomicCreateSync } from './atomic/pending-file.js';
export { createExclusive } from './atomic/create-exclusive.js';
export { cleanupTemps } from './atomic/cleanup-temps.js';
export { isClaimName, isTempName, parseTempName, tempNameFor } from './atomic/temp-name.js';
export type { AtomicCreateOptions, AtomicData, AtomicDataSync, AtomicOptions, AtomicWriteOptions, CleanupOptions, CreateExclusiveOptions, Durability, ExclusiveResult } from './atomic/types.js';

export { LogFile, openLog, type LogFileEvents } from './log/log-file.js';
export { REOPEN_REASONS, type CarriedOver, type DropEvent, type FsyncPolicy, type LogFileOptions, type LogFileStats, type ReopenEvent, type ReopenReason, type ReopenSignal, type SymlinkPolicy } from './log/types.js';
export { relayReopenSignal } from './log/signal-reopen.js';
export { LogDestination, fdkeeperDestination, logDestination, type LogDestinationEvents } from './log/log-destination.js';
export { LogTransport, createLogTransport, type LogTransportOptions, type WinstonFormat, type WinstonInfo } from './log/winston-transport.js';
export { createLogWritable, type LogWritable, type LogWritableOptions } from './log/log-writable.js';
export type { PinoTransportOptions } from './log/pino-transport.js';
