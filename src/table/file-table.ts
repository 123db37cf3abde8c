import { writeSync as fsWriteSync } from 'node:fs';
import type { Backend, Bytes, FileStat } from '../backend/backend.js';
import { OsBackend } from '../backend/os-backend.js';
import { O, descriptionFlags, flagsToMode, parseOpenFlags, type OpenFlags } from '../backend/flags.js';
import { TIMEOUT_RULE, numberOption } from '../errors/number-option.js';
import { FsError, hasCode, rejected } from '../errors/fs-error.js';
import { OpenSite, SitePolicy, type SiteMode } from '../diagnostics/open-site.js';
import {
  OpenHandle,
  formatLeakReport,
  summarizeOpenSites,
  type LeakReportOptions,
} from '../diagnostics/leak-report.js';
import { UnclosedWatch } from '../diagnostics/unclosed-watch.js';
import { Descriptor, checkLength, checkPosition, type DescriptorOrigin } from './descriptor.js';
import { OpenFileDescription } from './open-file-description.js';
import { FdBudget, type RoomWake } from './fd-budget.js';
import { NumberMap } from './number-map.js';

/** The warning code emitted when the kernel hands out a number the table thought it still held. */
export const REUSED_WARNING = 'FDKEEPER_FD_REUSED';

/** Options for {@link FileTable}. */
export interface FileTableOptions {
  /** Where descriptors come from. Default: the operating system ({@link OsBackend}). */
  backend?: Backend;
  /**
   * The fd budget: the most backend descriptors the table holds at once. Promise opens past it wait in
   * a queue; synchronous opens past it fail at once with EMFILE naming the top open sites.
   * Default: no budget (`Infinity`).
   */
  maxOpen?: number;
  /** When to record open and close sites; see {@link SiteMode}. Default `FDKEEPER_OPEN_SITES` or `'auto'`. */
  openSites?: SiteMode;
  /** In `'auto'` mode, how many open descriptors make the table start recording sites. Default 32. */
  siteThreshold?: number;
  /**
   * How long a promise open keeps retrying after the OS refuses with EMFILE or ENFILE, in milliseconds.
   * Retries happen when the table closes a descriptor, and on a backoff timer. Default 60 000.
   */
  emfileRetryMs?: number;
  /** Print a leak report of whatever is still open to stderr when the process exits. Default false. */
  reportAtExit?: boolean;
}

/** Whence values for {@link FileTable.seekSync}: from the start, the current offset, the end. */
export const SEEK_SET = 0;
/** See {@link SEEK_SET}. */
export const SEEK_CUR = 1;
/** See {@link SEEK_SET}. */
export const SEEK_END = 2;
/** A whence value for seek: 0, 1 or 2. */
export type Whence = 0 | 1 | 2;

/** Options for {@link FileTable.adopt}. */
export interface AdoptOptions {
  /**
   * Whether closing the table's descriptor closes the raw one. Default true, except for 0, 1 and 2
   * (stdio is only ever borrowed unless you say otherwise).
   */
  closefd?: boolean;
  /** The descriptor's flags, if known; otherwise read from the kernel where possible (Linux). */
  flags?: number;
  /** A path to show in reports and messages. */
  path?: string;
  /** A mode to show in reports. */
  mode?: string;
}

/**
 * A descriptor table with explicit ownership: the numbers a process uses, each pointing at an open file
 * description that holds the offset, the status flags and one backend descriptor.
 *
 * It offers two ways in:
 * - the **number API**, shaped like POSIX (`openSync`, `dup`, `dup2`, `readSync(fd, …)`, `seekSync`,
 *   `closeSync`): numbers, with POSIX's hazards (a stale number names whatever reuses it);
 * - the **descriptor API** (`openDescriptorSync`, `descriptor(n)`), returning {@link Descriptor} objects
 *   that fail loudly once closed. The io layer (`open()`) is built on it.
 *
 * ### Descriptor numbers
 * Node has no dup(2), so the table emulates duplicates: a duplicate is a new number pointing at the same
 * open file description (shared offset and flags). Its number is reserved in the kernel by a descriptor
 * that names the same file and refuses I/O (Linux: `O_PATH` through `/proc/self/fd`), so the kernel
 * can never hand that number to another open, `/proc/PID/fd` shows the right file, and raw I/O on a
 * duplicate's number fails with EBADF instead of going somewhere unexpected. Every number the table
 * hands out is therefore an open kernel descriptor, allocated lowest-free by the kernel, as POSIX
 * requires of open and dup. See docs/design.md for dup2 and the one deviation (a closed original's number
 * stays busy while its duplicates live).
 *
 * ### Budget
 * With `maxOpen`, at most that many backend descriptors are held; see {@link FileTableOptions.maxOpen}.
 *
 * Not safe for use from several worker threads: each thread should have its own table.
 */
export class FileTable {
  /** The backend descriptors come from. */
  readonly backend: Backend;
  /** When open and close sites are recorded. Its `mode` may be changed at run time. */
  readonly sites: SitePolicy;
  /** The fd budget. */
  readonly budget: FdBudget;
  /** Watches file objects for garbage collection while open. @internal */
  readonly unclosed = new UnclosedWatch();

  private readonly entries = new NumberMap<Descriptor>();
  /** Every backend descriptor the table holds: description backends and duplicates' reservations. */
  private readonly held = new NumberMap<OpenFileDescription | Descriptor>();
  private readonly emfileRetryMs: number;
  private exitHook: (() => void) | undefined;

  constructor(options: FileTableOptions = {}) {
    this.backend = options.backend ?? sharedOsBackend();
    const site = { syscall: 'open' };
    this.sites = new SitePolicy({
      mode: options.openSites,
      autoThreshold: numberOption(
        'siteThreshold',
        options.siteThreshold,
        32,
        { min: 0, says: 'an integer from 0 up' },
        site,
      ),
    });
    this.budget = new FdBudget(
      numberOption(
        'maxOpen',
        options.maxOpen,
        Infinity,
        { min: 1, max: Infinity, says: 'an integer from 1 up, or Infinity' },
        site,
      ),
    );
    this.emfileRetryMs = numberOption('emfileRetryMs', options.emfileRetryMs, 60_000, TIMEOUT_RULE, site);
    if (options.reportAtExit === true) this.reportAtExit(true);
  }

  /** How many descriptors are open in the table. */
  get size(): number {
    return this.entries.size;
  }

  /** How many backend descriptors the table holds (open descriptors, reservations, descriptions kept alive by duplicates). */
  get heldCount(): number {
    return this.held.size;
  }

  // ================================================================ number API

  /** open(2): opens `path` and returns the lowest free descriptor number. `flags` as in node:fs. */
  openSync(path: string, flags: OpenFlags = 'r', mode = 0o666): number {
    const d = this.openDescriptorSync(path, flags, mode);
    d.escaped = true;
    return d.number;
  }

  /** Promise form of {@link FileTable.openSync}; waits for a budget slot if needed. */
  async open(path: string, flags: OpenFlags = 'r', mode = 0o666): Promise<number> {
    const d = await this.openDescriptor(path, flags, mode);
    d.escaped = true;
    return d.number;
  }

  /** close(2). EBADF if `fd` is not open in the table. */
  closeSync(fd: number): void {
    this.entry(fd, 'close').closeSync();
  }

  /** Promise form of {@link FileTable.closeSync}. */
  close(fd: number): Promise<void> {
    return this.onEntry(fd, 'close', (d) => d.close());
  }

  /** dup(2): a new, lowest-free number sharing `fd`'s open file description. */
  dup(fd: number): number {
    const d = this.dupDescriptor(this.entry(fd, 'dup'));
    d.escaped = true;
    return d.number;
  }

  /**
   * dup2(2): makes `fd2` name `fd`'s open file description, closing what `fd2` named first, in one
   * step. Returns `fd2`. Fails with EBUSY (changing nothing) if `fd2` is held by a descriptor outside
   * this table, by a borrowed descriptor (stdio), or by a description with I/O in flight.
   */
  dup2(fd: number, fd2: number): number {
    const src = this.entry(fd, 'dup2');
    const description = src.check('dup2');
    if (!Number.isSafeInteger(fd2) || fd2 < 0)
      throw new FsError({ code: 'EBADF', syscall: 'dup2', fd: fd2, detail: 'not a valid descriptor number' });
    if (fd2 === fd) return fd2;
    const site = this.captureSite();
    const old = this.entries.get(fd2);
    if (old === undefined) {
      if (this.held.has(fd2))
        throw new FsError({
          code: 'EBUSY',
          syscall: 'dup2',
          fd: fd2,
          detail: "the number still backs a closed descriptor's duplicates",
        });
      this.takeSlotSync('dup2');
      try {
        this.backend.reserveAtSync(fd2, description.backendFd, false);
      } catch (e) {
        this.budget.release();
        throw e;
      }
    } else if (!this.replaceNumber(old, description)) {
      throw new FsError({
        code: 'EBUSY',
        syscall: 'dup2',
        fd: fd2,
        detail: `descriptor ${fd2} was closed, but another open took the number before it could be reused`,
      });
    }
    const d = new Descriptor(this, fd2, description, 'dup', src.mode, site);
    description.addRef();
    this.claim(fd2, d);
    this.entries.set(fd2, d);
    d.escaped = true;
    return fd2;
  }

  /**
   * Adopts a raw descriptor opened outside the table (by node:fs, a stream, a parent process) and
   * returns its number, now owned (or, with `closefd: false`, borrowed) by the table.
   */
  adopt(rawFd: number, options: AdoptOptions = {}): number {
    const d = this.adoptDescriptor(rawFd, options);
    d.escaped = true;
    return d.number;
  }

  /** read(2)/pread(2) on descriptor `fd`. */
  readSync(fd: number, buffer: Bytes, offset?: number, length?: number, position?: number | null): number {
    if (position != null) checkPosition(position, 'read', fd);
    return this.entry(fd, 'read').readSync(buffer, offset, length, position);
  }

  /** Promise form of {@link FileTable.readSync}. */
  read(fd: number, buffer: Bytes, offset?: number, length?: number, position?: number | null): Promise<number> {
    return this.onEntry(fd, 'read', (d) => d.read(buffer, offset, length, position), position);
  }

  /** write(2)/pwrite(2) on descriptor `fd`. */
  writeSync(fd: number, buffer: Bytes, offset?: number, length?: number, position?: number | null): number {
    if (position != null) checkPosition(position, 'write', fd);
    return this.entry(fd, 'write').writeSync(buffer, offset, length, position);
  }

  /** Promise form of {@link FileTable.writeSync}. */
  write(fd: number, buffer: Bytes, offset?: number, length?: number, position?: number | null): Promise<number> {
    return this.onEntry(fd, 'write', (d) => d.write(buffer, offset, length, position), position);
  }

  /** lseek(2): moves `fd`'s shared offset and returns it. Synchronous; `SEEK_END` makes an fstat. */
  seekSync(fd: number, offset: number, whence: Whence = SEEK_SET): number {
    return this.entry(fd, 'lseek').seekSync(offset, whence);
  }

  /** ftruncate(2). */
  ftruncateSync(fd: number, length = 0): void {
    checkLength(length, fd);
    this.entry(fd, 'ftruncate').truncateSync(length);
  }

  /** Promise form of {@link FileTable.ftruncateSync}. */
  ftruncate(fd: number, length = 0): Promise<void> {
    return this.onEntry(fd, 'ftruncate', (d) => d.truncate(length), length);
  }

  /** fstat(2). */
  fstatSync(fd: number): FileStat {
    return this.entry(fd, 'fstat').statSync();
  }

  /** Promise form of {@link FileTable.fstatSync}. */
  fstat(fd: number): Promise<FileStat> {
    return this.onEntry(fd, 'fstat', (d) => d.stat());
  }

  /** fsync(2). */
  fsyncSync(fd: number): void {
    this.entry(fd, 'fsync').syncSync();
  }

  /** Promise form of {@link FileTable.fsyncSync}. */
  fsync(fd: number): Promise<void> {
    return this.onEntry(fd, 'fsync', (d) => d.sync());
  }

  /** fdatasync(2). */
  fdatasyncSync(fd: number): void {
    this.entry(fd, 'fdatasync').datasyncSync();
  }

  /** Promise form of {@link FileTable.fdatasyncSync}. */
  fdatasync(fd: number): Promise<void> {
    return this.onEntry(fd, 'fdatasync', (d) => d.datasync());
  }

  // ================================================================ descriptor API

  /** The open descriptor numbered `fd`; EBADF if there is none. */
  /**
   * The open descriptor numbered `fd`; EBADF if there is none. The Descriptor object now reaches code
   * other than its opener, so its close site is recorded (in `'auto'` mode too) for a later EBADF.
   */
  descriptor(fd: number, syscall = 'fcntl'): Descriptor {
    const d = this.entry(fd, syscall);
    d.shared = true;
    return d;
  }

  /**
   * A promise call of the number API on descriptor `fd`: EINVAL for a bad `position` (read, write) or
   * `length` (ftruncate) first, as the kernel checks arguments before the descriptor, then EBADF if
   * `fd` is not open; either as a rejection.
   */
  private onEntry<T>(
    fd: number,
    syscall: string,
    op: (d: Descriptor) => Promise<T>,
    argument?: number | null,
  ): Promise<T> {
    try {
      if (argument != null) {
        if (syscall === 'ftruncate') checkLength(argument, fd);
        else checkPosition(argument, syscall, fd);
      }
      return op(this.entry(fd, syscall));
    } catch (e) {
      return rejected(e);
    }
  }

  /** The open descriptor numbered `fd` for a number-API call; EBADF if there is none. */
  private entry(fd: number, syscall: string): Descriptor {
    const d = this.entries.get(fd);
    if (d === undefined)
      throw new FsError({ code: 'EBADF', syscall, fd, detail: 'not an open descriptor in this table' });
    return d;
  }

  /** Whether `fd` is an open descriptor in the table. */
  has(fd: number): boolean {
    return this.entries.has(fd);
  }

  /**
   * Opens `path` and returns its {@link Descriptor}. `modeText` is what reports show (default from the
   * flags); `openSite`, the site to record instead of this call's (a feature opening on its caller's
   * behalf, such as a log reopening after rotation, passes the site of the call that created it).
   */
  openDescriptorSync(
    path: string,
    flags: OpenFlags = 'r',
    mode = 0o666,
    modeText?: string,
    openSite?: OpenSite,
  ): Descriptor {
    const bits = this.flagBits(flags, path);
    const site = openSite ?? this.captureSite();
    return this.installOpened(this.openSlotSync(path, bits, mode), bits, path, modeText, site);
  }

  /** A budget slot, then open(2): the descriptor number, or the slot given back and the error explained. */
  private openSlotSync(path: string, bits: number, mode: number): number {
    this.takeSlotSync('open', path);
    try {
      return this.backend.openSync(path, bits | O.CLOEXEC, mode);
    } catch (e) {
      throw this.openFailed(e);
    }
  }

  /**
   * Promise form of {@link FileTable.openDescriptorSync}. Waits in the budget queue when the table is at
   * `maxOpen`, and retries when the OS refuses with EMFILE/ENFILE (see {@link FileTableOptions.emfileRetryMs}).
   *
   * The two forms are the one open written twice on purpose: open is the hottest call in the library,
   * and as a protocol (src/protocol/run.ts) the generator and its steps cost ~110 ns of a ~240 ns table
   * open + close on a backend that does nothing (~130 ns written straight). What they share (the flags, the site, giving the slot
   * back on failure, the install) is one method each, so only the budget step and the open(2) differ:
   * the sync form has a slot or fails with EMFILE at once, the promise form queues and retries.
   */
  async openDescriptor(
    path: string,
    flags: OpenFlags = 'r',
    mode = 0o666,
    modeText?: string,
    openSite?: OpenSite,
  ): Promise<Descriptor> {
    const bits = this.flagBits(flags, path);
    const site = openSite ?? this.captureSite();
    const wait = this.budget.take();
    if (wait !== undefined) await wait;
    const bitsAtOpen = bits | O.CLOEXEC;
    let delay = 5;
    const deadline = Date.now() + this.emfileRetryMs;
    // While earlier opens wait for the OS to have room, queue behind them rather than try (and fail).
    let woken: RoomWake | undefined = this.budget.waitingForRoom > 0 ? await this.budget.nextRelease(delay) : undefined;
    let refused = woken !== undefined; // a refusal after waiting in the queue goes back to its head
    for (;;) {
      let fd: number;
      try {
        fd = await this.backend.open(path, bitsAtOpen, mode);
      } catch (e) {
        if ((hasCode(e, 'EMFILE') || hasCode(e, 'ENFILE')) && Date.now() < deadline) {
          // The OS is out of descriptors: wait for a close (or a timer) and retry.
          woken = await this.budget.nextRelease(delay, refused);
          refused = true;
          delay = Math.min(delay * 2, 500);
          continue;
        }
        throw this.openFailed(e);
      }
      // Room found by the timer was freed outside the table and may fit more: let the next one try.
      if (woken === 'timer') this.budget.wakeRoomWaiter('timer');
      return this.installOpened(fd, bits, path, modeText, site);
    }
  }

  /**
   * A brief open: `path` opened for the length of one synchronous call that closes it before it returns
   * (the node:fs facade's `readFileSync`/`writeFileSync` of a path). It takes a budget slot like
   * {@link FileTable.openDescriptorSync} (EMFILE at `maxOpen`, explained the same way) and returns the
   * backend's descriptor number; {@link FileTable.closeBriefSync} closes it and gives the slot back.
   *
   * What it skips is what exists for descriptors that outlive a call: the {@link Descriptor} and its open
   * file description, the entry in the number map, the open site and the leak report. None can matter
   * while no other code runs, and a synchronous call lets none run; the number never leaves the caller. A
   * caller that must go on in ways only a Descriptor supports (a short read or write continued by a
   * protocol) turns it into one with {@link FileTable.keepBriefSync}. The Descriptor and open file
   * description cost ~0.15 µs of a ~0.9 µs in-memory `writeFileSync` (bench 6a).
   * @internal
   */
  openBriefSync(path: string, bits: number, mode: number): number {
    const fd = this.openSlotSync(path, bits, mode);
    // A number the table still believes it holds was closed behind its back: revoke the stale holder now,
    // as any open does, so that it can never reach whatever file gets the number after this one.
    const prev = this.held.get(fd);
    if (prev !== undefined) {
      this.held.delete(fd);
      this.numberReused(fd, prev, undefined);
    }
    return fd;
  }

  /** Closes a descriptor of {@link FileTable.openBriefSync} and gives its slot back. @internal */
  closeBriefSync(fd: number): void {
    try {
      this.backend.closeSync(fd);
    } finally {
      this.budget.release();
    }
  }

  /**
   * Makes a descriptor of {@link FileTable.openBriefSync} a Descriptor of the table, as if
   * {@link FileTable.openDescriptorSync} had opened it (its slot is the one the brief open took, and the
   * brief open already revoked any stale holder of the number). Its offset is 0: the caller reads and
   * writes it at explicit positions until then. @internal
   */
  keepBriefSync(fd: number, bits: number, path: string): Descriptor {
    return this.installOpened(fd, bits, path, undefined, undefined);
  }

  /** An open(2) failed: gives its budget slot back and explains an EMFILE/ENFILE. */
  private openFailed(e: unknown): unknown {
    this.budget.release();
    return this.explainExhaustion(e);
  }

  /** Installs a descriptor the backend just opened as a new Descriptor with its own open file description. */
  private installOpened(
    fd: number,
    bits: number,
    path: string,
    modeText: string | undefined,
    site: OpenSite | undefined,
  ): Descriptor {
    return this.install(
      fd,
      new OpenFileDescription(this, this.backend, fd, descriptionFlags(bits), path),
      'open',
      modeText ?? flagsToMode(bits),
      site,
    );
  }

  /** dup(2) on a Descriptor: a new Descriptor sharing its open file description. */
  dupDescriptor(source: Descriptor): Descriptor {
    const description = source.check('dup');
    const site = this.captureSite();
    this.takeSlotSync('dup');
    let n: number;
    try {
      n = this.backend.reserveSync(description.backendFd);
    } catch (e) {
      this.budget.release();
      throw this.explainExhaustion(e);
    }
    description.addRef();
    const d = new Descriptor(this, n, description, 'dup', source.mode, site);
    this.claim(n, d);
    this.entries.set(n, d);
    return d;
  }

  /** {@link FileTable.adopt} returning the Descriptor. */
  adoptDescriptor(rawFd: number, options: AdoptOptions = {}): Descriptor {
    if (!Number.isSafeInteger(rawFd) || rawFd < 0)
      throw new FsError({ code: 'EBADF', syscall: 'fdopen', fd: rawFd, detail: 'not a valid descriptor number' });
    const existing = this.entries.get(rawFd);
    if (existing !== undefined)
      throw new FsError({
        code: 'EEXIST',
        syscall: 'fdopen',
        fd: rawFd,
        path: existing.path,
        detail: 'already open in this table; use its Descriptor',
        openedAt: existing.openSite,
      });
    if (this.held.has(rawFd))
      throw new FsError({
        code: 'EEXIST',
        syscall: 'fdopen',
        fd: rawFd,
        detail: 'held by this table for the duplicates of a closed descriptor',
      });
    this.backend.fstatSync(rawFd); // EBADF if it is not open at all
    const info = this.backend.fdInfoSync(rawFd);
    const flags = options.flags ?? info.flags ?? O.RDWR;
    const closefd = options.closefd ?? rawFd > 2;
    const site = this.captureSite();
    this.budget.forceTake();
    const description = new OpenFileDescription(this, this.backend, rawFd, descriptionFlags(flags), options.path, {
      ownsBackendFd: closefd,
      offset: info.offset ?? 0,
    });
    return this.install(rawFd, description, 'adopted', options.mode ?? flagsToMode(flags), site);
  }

  /** pipe(2): `[readEnd, writeEnd]` descriptors. */
  pipeDescriptors(): [Descriptor, Descriptor] {
    const site = this.captureSite();
    if (!this.budget.tryTake()) throw this.exhausted('pipe');
    if (!this.budget.tryTake()) {
      this.budget.release();
      throw this.exhausted('pipe');
    }
    let ends: [number, number];
    try {
      ends = this.backend.pipeSync();
    } catch (e) {
      this.budget.release();
      this.budget.release();
      throw this.explainExhaustion(e);
    }
    const [r, w] = ends;
    const reader = this.install(
      r,
      new OpenFileDescription(this, this.backend, r, O.RDONLY, '<pipe>'),
      'pipe',
      'r',
      site,
    );
    const writer = this.install(
      w,
      new OpenFileDescription(this, this.backend, w, O.WRONLY, '<pipe>'),
      'pipe',
      'w',
      site,
    );
    return [reader, writer];
  }

  // ================================================================ diagnostics

  /** The open descriptors themselves, by number (for tools that need identity, such as the leak check). */
  descriptors(): Descriptor[] {
    return this.entries.values();
  }

  /** A snapshot of every open descriptor, by number. */
  openHandles(): OpenHandle[] {
    const now = Date.now();
    return this.entries.values().map((d) => new OpenHandle(d, now));
  }

  /** {@link formatLeakReport} of {@link FileTable.openHandles}: `''` when nothing is open. */
  leakReport(options?: LeakReportOptions): string {
    return formatLeakReport(this.openHandles(), options);
  }

  /** Turns the exit-time leak report on or off. */
  reportAtExit(enabled: boolean): void {
    if (enabled && this.exitHook === undefined) {
      this.exitHook = () => {
        const report = this.leakReport();
        if (report !== '') fsWriteSync(2, report);
      };
      process.on('exit', this.exitHook);
    } else if (!enabled && this.exitHook !== undefined) {
      process.off('exit', this.exitHook);
      this.exitHook = undefined;
    }
  }

  // ================================================================ internals

  /** @internal DescriptorTable: the descriptor closed; free its number (and its reservation). */
  detach(d: Descriptor): void {
    if (this.entries.get(d.number) === d) this.entries.delete(d.number);
    const description = d.description;
    if (
      this.held.get(d.number) === description &&
      description.refs > 1 &&
      this.promoteDuplicate(description, d.number)
    ) {
      // The description lives on under a duplicate's number; this number is free again, as close(2)
      // leaves it (the description's other references keep it open, not this number).
      try {
        this.backend.closeSync(d.number);
      } finally {
        this.budget.release();
      }
      return;
    }
    if (d.origin === 'dup' && this.held.get(d.number) === d) {
      this.held.delete(d.number);
      try {
        this.backend.closeSync(d.number);
      } catch (e) {
        if (hasCode(e, 'EBADF'))
          throw new FsError({
            code: 'EBADF',
            syscall: 'close',
            fd: d.number,
            path: d.path,
            detail: `the duplicate's descriptor ${d.number} was closed outside fdkeeper`,
            openedAt: d.openSite,
            cause: e,
          });
        throw e;
      } finally {
        this.budget.release();
      }
    }
  }

  /** @internal DescriptorTable: whether to capture the site of `d`'s close. */
  wantsCloseSite(d: Descriptor): boolean {
    const mode = this.sites.mode;
    return mode === 'always' || (mode === 'auto' && (d.openSite !== undefined || d.shared));
  }

  /** @internal DescriptionOwner: a backend descriptor was closed. */
  backendFdReleased(description: OpenFileDescription, fd: number): void {
    if (this.held.get(fd) === description) {
      this.held.delete(fd);
      this.budget.release();
    }
  }

  /** @internal DescriptionOwner: a close that happened after the last in-flight call failed. */
  deferredCloseFailed(err: FsError): void {
    process.emitWarning(`fdkeeper: a deferred close failed: ${err.message}`, { code: 'FDKEEPER_CLOSE_FAILED' });
  }

  private captureSite(): OpenSite | undefined {
    return this.sites.shouldCapture(this.entries.size) ? OpenSite.capture() : undefined;
  }

  private flagBits(flags: OpenFlags, path: string): number {
    const bits = parseOpenFlags(flags);
    if (bits === undefined)
      throw new FsError({ code: 'EINVAL', syscall: 'open', path, detail: `unknown flags '${String(flags)}'` });
    return bits;
  }

  private install(
    fd: number,
    description: OpenFileDescription,
    origin: DescriptorOrigin,
    modeText: string,
    site: OpenSite | undefined,
  ): Descriptor {
    description.addRef();
    const d = new Descriptor(this, fd, description, origin, modeText, site);
    this.claim(fd, description);
    this.entries.set(fd, d);
    return d;
  }

  /**
   * Records that the table now holds backend descriptor `n`. If it already thought it held `n`, the
   * earlier holder's descriptor was closed behind fdkeeper's back and the kernel has reused the number:
   * the earlier holder is revoked (its calls fail with EBADF, no syscall on `n` is ever made for it
   * again) and a `FDKEEPER_FD_REUSED` warning is emitted.
   */
  private claim(n: number, holder: OpenFileDescription | Descriptor): void {
    const prev = this.held.get(n);
    this.held.set(n, holder);
    if (prev !== undefined) this.numberReused(n, prev, holder);
  }

  /**
   * The backend handed out `n`, which `prev` held: forgets `prev` (see {@link FileTable.claim}). `holder`
   * is the new holder, undefined for a brief open (which holds nothing in the table).
   */
  private numberReused(
    n: number,
    prev: OpenFileDescription | Descriptor,
    holder: OpenFileDescription | Descriptor | undefined,
  ): void {
    if (prev instanceof OpenFileDescription && prev.backendClosed) {
      // Not a reuse behind our back: an async close of ours was still settling when the kernel handed
      // the number out again. Its completion will find the number taken and release nothing.
      this.budget.release();
      return;
    }
    const reason = `descriptor ${n} was closed outside fdkeeper and the kernel gave the number to another open`;
    this.budget.release(); // the earlier holder's slot: that descriptor no longer exists
    const stale = this.entries.get(n);
    if (stale !== undefined && stale.description !== holder) {
      stale.markClosedWithoutRelease(reason);
      this.entries.delete(n);
    }
    if (prev instanceof OpenFileDescription) {
      prev.revoke(reason);
      if (stale !== undefined && stale.description === prev) prev.dropRefSync();
    } else {
      prev.markClosedWithoutRelease(reason);
      prev.description.dropRefSync();
    }
    const opened = stale?.openSite === undefined ? '' : ` (it was opened at ${stale.openSite.describe()})`;
    process.emitWarning(`fdkeeper: ${reason}${stale?.path === undefined ? '' : `; '${stale.path}'`}${opened}`, {
      code: REUSED_WARNING,
    });
  }

  /**
   * dup2 onto a number the table has open: close what it named and reserve it for `description`.
   * Throws (changing nothing) when that cannot be done; returns false when the old descriptor was closed
   * but the number was lost to a concurrent open (see {@link Backend.reserveAtSync}).
   */
  private replaceNumber(old: Descriptor, description: OpenFileDescription): boolean {
    const fd2 = old.number;
    const oldDescription = old.description;
    let ok: boolean;
    let releaseOld = true; // whether old's reference to its description is still to be dropped
    if (this.held.get(fd2) === old) {
      // fd2 is a duplicate's reservation: swap it for one naming the new file. (A duplicate whose number
      // became its description's backend descriptor, when the original closed, takes the branch below.)
      ok = this.backend.reserveAtSync(fd2, description.backendFd, true);
    } else {
      // fd2 is the backend descriptor of old's description.
      if (!oldDescription.ownsBackendFd)
        throw new FsError({
          code: 'EBUSY',
          syscall: 'dup2',
          fd: fd2,
          path: old.path,
          detail: 'the number is borrowed (stdio or closefd: false); Node cannot redirect a kernel descriptor',
        });
      if (oldDescription.busy)
        throw new FsError({
          code: 'EBUSY',
          syscall: 'dup2',
          fd: fd2,
          path: old.path,
          detail: 'I/O is in flight on it',
        });
      const shared = oldDescription.refs > 1;
      // Duplicates still use the old description: it moves onto one of their numbers (no number changes
      // hands, as with dup2(2)), or failing that to a fresh backend descriptor.
      const promoted = shared && this.promoteDuplicate(oldDescription, fd2);
      if (shared && !promoted) {
        const moved = this.backend.reopenSync(fd2, oldDescription.flags);
        this.budget.forceTake();
        oldDescription.moveTo(moved);
        this.claim(moved, oldDescription);
      }
      try {
        ok = this.backend.reserveAtSync(fd2, description.backendFd, true);
      } catch (e) {
        if (promoted) {
          // fd2's kernel descriptor no longer backs anything: close it, and with it `old` (as when the
          // number is lost to a concurrent open).
          this.entries.delete(fd2);
          old.markClosedWithoutRelease('dup2 failed after moving its description away');
          oldDescription.dropRefSync();
          try {
            this.backend.closeSync(fd2);
          } finally {
            this.budget.release();
          }
        } else if (shared) {
          // Undo the move: fd2 is still open and still the description's.
          const moved = oldDescription.moveTo(fd2);
          this.held.delete(moved);
          this.backend.closeSync(moved);
          this.budget.release();
        }
        throw e;
      }
      if (shared) {
        oldDescription.dropRefSync(); // its backend descriptor is `moved` now; nothing to close
        releaseOld = false;
      } else {
        oldDescription.revoke('replaced by dup2'); // its backend descriptor was closed by the swap
      }
    }
    // From here the old kernel descriptor numbered fd2 is closed, whatever `ok` says.
    this.held.delete(fd2);
    this.entries.delete(fd2);
    old.markClosedWithoutRelease();
    if (releaseOld) oldDescription.dropRefSync();
    if (!ok) this.budget.release();
    return ok;
  }

  /**
   * Moves `description`'s backend descriptor off the number `from` (which is closing, or being replaced
   * by dup2) onto the number of one of its duplicates: that duplicate's reservation is replaced by a
   * reopened descriptor on the same file, landing on the same number (every free number below it is
   * taken first, as in {@link Backend.reserveAtSync}). No number changes hands, so the numbers handed
   * out afterwards are the ones POSIX would give. On success the kernel descriptor `from` is still open
   * but no longer held: the caller closes or replaces it (and owns its budget slot).
   *
   * Returns false, changing nothing, when that cannot be done: I/O in flight, a borrowed or revoked
   * description, no duplicate with a reservation, or a file that cannot be reopened onto the number (a
   * socket; a FIFO opened for one direction, whose reopen needs a second descriptor).
   */
  private promoteDuplicate(description: OpenFileDescription, from: number): boolean {
    if (
      !description.ownsBackendFd ||
      description.busy ||
      description.revoked !== undefined ||
      description.backendFd !== from
    )
      return false;
    let heir: Descriptor | undefined;
    for (const d of this.entries.values()) {
      if (d.description === description && d.number !== from && this.held.get(d.number) === d) {
        heir = d;
        break;
      }
    }
    if (heir === undefined) return false;
    const target = heir.number;
    const placeholders: number[] = [];
    try {
      // The reopened descriptor starts at the kernel's offset 0: fix an "after an append" offset first.
      description.pinOffsetSync();
      for (;;) {
        const n = this.backend.reserveSync(from);
        if (n > target) {
          this.backend.closeSync(n);
          break;
        }
        placeholders.push(n);
      }
    } catch {
      for (const p of placeholders) this.backend.closeSync(p);
      return false;
    }
    try {
      this.backend.closeSync(target); // the heir's reservation; `target` is now the lowest free number
      let n = -1;
      try {
        n = this.backend.reopenSync(from, description.flags);
      } catch {
        // not reopenable: put the reservation back below
      }
      if (n === target) {
        description.moveTo(target);
        this.held.set(target, description);
        this.held.delete(from);
        return true;
      }
      if (n >= 0) this.backend.closeSync(n);
      let back = -1;
      try {
        back = this.backend.reserveSync(from);
      } catch {
        // treated as lost below
      }
      if (back !== target) {
        // Another thread's open took the number in between (the race documented for dup2), or the
        // reservation could not be made again: the heir's number is no longer ours.
        if (back >= 0) this.backend.closeSync(back);
        this.entries.delete(target);
        this.held.delete(target);
        heir.markClosedWithoutRelease(
          `descriptor ${target} was taken by another open while fdkeeper moved its description`,
        );
        description.dropRefSync();
        this.budget.release();
      }
      return false;
    } finally {
      for (const p of placeholders) this.backend.closeSync(p);
    }
  }

  private takeSlotSync(syscall: string, path?: string): void {
    if (!this.budget.tryTake()) throw this.exhausted(syscall, path);
  }

  /** The EMFILE error for a synchronous call past the budget. */
  private exhausted(syscall: string, path?: string): FsError {
    return new FsError({
      code: 'EMFILE',
      syscall,
      path,
      detail: `fd budget of ${this.budget.max} exhausted (${this.budget.inUse} in use, ${this.budget.waiting} waiting); top open sites: ${summarizeOpenSites(this.openHandles()) || 'none (nothing open in this table)'}`,
    });
  }

  /** Adds the table's top open sites to an EMFILE/ENFILE from the OS. */
  private explainExhaustion(e: unknown): unknown {
    if (!(e instanceof FsError) || (e.code !== 'EMFILE' && e.code !== 'ENFILE')) return e;
    return new FsError({
      code: e.code,
      syscall: e.syscall,
      path: e.path,
      fd: e.fd,
      detail: `the process is out of descriptors; this table holds ${this.held.size}; top open sites: ${summarizeOpenSites(this.openHandles()) || 'none (nothing open in this table)'}`,
      cause: e,
    });
  }
}

let osBackend: OsBackend | undefined;

/** One OsBackend shared by every table that does not name a backend. */
function sharedOsBackend(): OsBackend {
  return (osBackend ??= new OsBackend());
}
