import { FsError } from '../errors/fs-error.js';
import { INT32_MAX, MODE_RULE, checkNumber, numberOption, type NumberRule } from '../errors/number-option.js';
import { fdtable } from '../table/default-table.js';
import type { Descriptor } from '../table/descriptor.js';
import type { FileTable } from '../table/file-table.js';
import { BufferedFile, DEFAULT_BUFFER_SIZE, flushWriteBufferSync } from './buffered-file.js';
import { opLock, type OpLock, pending } from './io-base.js';
import { parseMode, type ParsedMode } from './mode.js';
import { RawFile } from './raw-file.js';
import { TextFile, resolveTextOptions, type TextOptions } from './text-file.js';

/** Options of {@link open} and {@link openSync}. */
export interface OpenOptions extends TextOptions {
  /**
   * `0`: no buffering, a {@link RawFile} (binary modes only). `1`: line buffering (text modes only).
   * A larger number: the buffer size in bytes. Default `-1`: `DEFAULT_BUFFER_SIZE` (64 KiB).
   */
  buffering?: number;
  /**
   * For a descriptor number: whether closing the file closes the descriptor. Default true, except for
   * 0, 1 and 2. With a path it must be true (or omitted).
   */
  closefd?: boolean;
  /** Permission bits for a file the open creates (before the umask): an integer 0–0o7777. Default 0o666. */
  perm?: number;
  /** The descriptor table to open in. Default: the process-wide {@link fdtable}. */
  table?: FileTable;
}

/** Any file object {@link open} can return. */
export type AnyFile = RawFile | BufferedFile | TextFile;

/**
 * The file object `open(file, mode, options)` returns: a {@link TextFile} for text modes (`'r'`, `'w+'`…);
 * for binary modes (`'rb'`, `'ab+'`…) a {@link RawFile} when `buffering` is the literal `0`, a
 * {@link BufferedFile} when it is absent or a literal other than 0, and either (`RawFile | BufferedFile`)
 * when its type admits 0 (`buffering: n` with `n: number`, options typed `OpenOptions`). When the mode
 * is not a literal, any of the three.
 */
export type FileFor<M extends string, O> = string extends M
  ? AnyFile
  : M extends `${string}b${string}`
    ? BinaryFileFor<BufferingOf<O>>
    : TextFile;

/** The options type of a call without options (a binary mode then gives a {@link BufferedFile}). */
export interface NoOptions extends OpenOptions {
  readonly buffering?: undefined;
}

/** The type of `buffering` in an options type, `undefined` when it has none (a step of {@link FileFor}). */
export type BufferingOf<O> = 'buffering' extends keyof O ? O['buffering' & keyof O] : undefined;

/** A binary mode's file for a `buffering` of type `B`: only a literal 0 is surely raw, only a type without 0 surely
 * buffered (a step of {@link FileFor}). */
export type BinaryFileFor<B> = [B] extends [0] ? RawFile : 0 extends B ? RawFile | BufferedFile : BufferedFile;

/**
 * Opens a file and returns a file object, like Python's `open()`.
 *
 * - `file`: a path, or a descriptor number (a number already in the table is wrapped; any other number,
 *   e.g. one node:fs opened, is adopted: Python's `os.fdopen`). Pass `closefd: false` to borrow a number
 *   rather than own it (the default for 0, 1 and 2).
 * - `mode`: `r` read, `w` truncate/create, `a` append/create, `x` create exclusively; `+` read and write;
 *   `b` binary, `t` text (default). In append modes every write lands at the end of the file, even after a
 *   seek; reads happen at the seek position.
 *
 * Errors: an {@link FsError} — EINVAL for a bad mode or option (nothing is opened), ENOENT, EACCES, EEXIST
 * (`x`), EISDIR (a directory, whatever the mode), EMFILE (budget or OS limit) — with the path. If
 * building the stack fails after the open, the descriptor is closed again (when this call opened it).
 *
 * The returned object supports `await using`. Closing it flushes and closes the descriptor. A writable
 * buffered or text file still open when the process exits (or gets SIGINT, SIGTERM, SIGHUP) has its
 * buffer written out then, as CPython does at shutdown; a failure there is printed on stderr with the path
 * and open site.
 */
export function openSync<const M extends string = 'r', const O extends OpenOptions = NoOptions>(
  file: string | number,
  mode?: M,
  options?: O,
): FileFor<M, O>;
export function openSync(file: string | number, mode = 'r', options: OpenOptions = {}): AnyFile {
  const plan = planOpen(file, mode, options);
  let descriptor: Descriptor;
  let opened = false; // whether this call put `descriptor` in the table (and so must take it out on failure)
  let adopted = false;
  if (typeof file === 'number') {
    if (plan.table.has(file)) {
      descriptor = plan.table.descriptor(file);
      if (descriptor.statSync().isDirectory()) throw isDirectory(file);
    } else {
      // Checked before adopting: a failed open must leave a number it was handed alone (as Python's FileIO does).
      if (plan.table.backend.fstatSync(file).isDirectory()) throw isDirectory(file);
      // With closefd: false the description does not own the kernel descriptor, so closing the entry
      // leaves the number open for its owner.
      descriptor = plan.table.adoptDescriptor(file, { closefd: plan.closefd, flags: plan.parsed.flags, mode });
      opened = adopted = true;
    }
  } else {
    descriptor = plan.table.openDescriptorSync(file, plan.parsed.flags, plan.perm, mode);
    opened = true;
  }
  try {
    if (typeof file === 'string' && mayBeDirectory(plan) && descriptor.statSync().isDirectory())
      throw isDirectory(file);
    return build(plan, descriptor, file, mode, options, adopted);
  } catch (e) {
    if (opened) closeQuietly(descriptor);
    throw e;
  }
}

/** Promise form of {@link openSync}. The open waits for a budget slot when the table is at `maxOpen`. */
export async function open<const M extends string = 'r', const O extends OpenOptions = NoOptions>(
  file: string | number,
  mode?: M,
  options?: O,
): Promise<FileFor<M, O>>;
export async function open(file: string | number, mode = 'r', options: OpenOptions = {}): Promise<AnyFile> {
  const plan = planOpen(file, mode, options);
  if (typeof file === 'number') return openSync(file, mode, options);
  const descriptor = await plan.table.openDescriptor(file, plan.parsed.flags, plan.perm, mode);
  try {
    // fstat on a descriptor just opened answers from memory: cheaper inline than a thread-pool round trip.
    if (mayBeDirectory(plan) && descriptor.statSync().isDirectory()) throw isDirectory(file);
    return build(plan, descriptor, file, mode, options);
  } catch (e) {
    closeQuietly(descriptor);
    throw e;
  }
}

/** A descriptor number: what the kernel's int takes. */
const FD_RULE: NumberRule = { min: 0, max: INT32_MAX, says: 'an integer from 0 to 2**31-1' };
/** -1 (default), 0 (unbuffered), 1 (lines) or a buffer size in bytes. */
const BUFFERING_RULE: NumberRule = {
  min: -1,
  max: INT32_MAX,
  says: '-1, 0, 1 or a buffer size in bytes (an integer up to 2**31-1)',
};

interface Plan {
  readonly table: FileTable;
  readonly parsed: ParsedMode;
  readonly perm: number;
  readonly closefd: boolean;
  readonly bufferSize: number;
  readonly lineBuffering: boolean;
}

/** Validates everything before anything is opened, so bad arguments open nothing. */
function planOpen(file: string | number, mode: string, options: OpenOptions): Plan {
  const path = typeof file === 'string' ? file : undefined;
  const invalid = (detail: string): FsError => new FsError({ code: 'EINVAL', syscall: 'open', path, detail });
  const parsed = parseMode(mode, path);
  const site = { syscall: 'open', path };
  if (typeof file === 'string') {
    if (options.closefd === false) throw invalid('closefd: false needs a descriptor number, not a path');
  } else {
    checkNumber('file (a descriptor number)', file, FD_RULE, site);
  }
  const perm = numberOption('perm', options.perm, 0o666, MODE_RULE, site);
  const buffering = numberOption('buffering', options.buffering, -1, BUFFERING_RULE, site);
  if (parsed.binary) {
    if (options.encoding !== undefined) throw invalid("binary mode doesn't take an encoding");
    if (options.errors !== undefined) throw invalid("binary mode doesn't take an errors argument");
    if (options.newline !== undefined) throw invalid("binary mode doesn't take a newline argument");
  } else if (buffering === 0) {
    throw invalid("can't have unbuffered text I/O (buffering: 0 needs a binary mode)");
  } else {
    resolveTextOptions(options, path); // a bad encoding, errors or newline opens (creates, truncates) nothing
  }
  return {
    table: options.table ?? fdtable,
    parsed,
    perm,
    closefd: options.closefd ?? (typeof file === 'number' ? file > 2 : true),
    bufferSize: buffering > 1 ? buffering : DEFAULT_BUFFER_SIZE,
    lineBuffering: !parsed.binary && (buffering === 1 || options.lineBuffering === true),
  };
}

/** Builds raw → buffered → text on an open descriptor and registers the outermost object with the watch. */
function build(
  plan: Plan,
  descriptor: Descriptor,
  file: string | number,
  mode: string,
  options: OpenOptions,
  adopted = false,
): AnyFile {
  // An adoption's table entry belongs to the file even with closefd: false (see openSync).
  const raw = new RawFile(plan.table, descriptor, file, plan.parsed.rawMode, plan.closefd, plan.closefd || adopted);
  if (plan.parsed.appending) {
    // As Python's FileIO: an append-mode file starts at the end (reads included), not only its writes.
    try {
      descriptor.seekSync(0, 2);
    } catch (e) {
      if (!(e instanceof FsError && e.code === 'ESPIPE')) throw e;
    }
  }
  if (options.buffering === 0) return watched(plan, raw, descriptor);
  const buffered = new BufferedFile(raw, plan.bufferSize);
  const writes = buffered[pending];
  const lock = buffered[opLock] as OpLock;
  // Captures the buffer, the raw file and the lock, never the file object (the watch must not keep it alive).
  const flush = (): void => {
    flushWriteBufferSync(writes, raw);
  };
  const busy = (): boolean => lock.held;
  if (plan.parsed.binary) return watched(plan, buffered, descriptor, flush, busy);
  const text = new TextFile(buffered, mode, { ...options, lineBuffering: plan.lineBuffering });
  return watched(plan, text, descriptor, flush, busy);
}

/**
 * Registers the outermost object with the table's watch: an owned descriptor for the leak report, a
 * writable buffered or text file (owned or borrowed, as `openSync(1, 'w')`) for the flush at exit.
 */
function watched<T extends AnyFile>(
  plan: Plan,
  file: T,
  descriptor: Descriptor,
  flush?: () => void,
  busy?: () => boolean,
): T {
  const flushAtExit = flush !== undefined && plan.parsed.writing;
  if (plan.closefd || flushAtExit)
    plan.table.unclosed.watch(file, descriptor, { flush, owns: plan.closefd, flushAtExit, busy });
  return file;
}

/**
 * Whether the open may have given a directory: a read-only one on every platform (open(2) allows it); a
 * writing one only on Windows, where Node opens directories with FILE_FLAG_BACKUP_SEMANTICS in any mode.
 */
function mayBeDirectory(plan: { readonly parsed: { readonly writing: boolean } }): boolean {
  return !plan.parsed.writing || process.platform === 'win32';
}

function isDirectory(file: string | number): FsError {
  return new FsError({
    code: 'EISDIR',
    syscall: 'open',
    path: typeof file === 'string' ? file : undefined,
    fd: typeof file === 'number' ? file : undefined,
  });
}

/** Closes a descriptor this call opened, on the way out of a failure: the first error is the one to report. */
function closeQuietly(descriptor: Descriptor): void {
  try {
    descriptor.closeSync();
  } catch {
    // the original error matters more
  }
}
