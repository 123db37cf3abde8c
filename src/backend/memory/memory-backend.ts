import type { Backend, Bytes, FdInfo, FileStat, TimeLike } from '../backend.js';
import { FsError } from '../../errors/fs-error.js';
import { SyncBackend } from '../sync-backend.js';
import { O } from '../flags.js';
import { CrashJournal, type CrashStatesOptions } from './crash-journal.js';
import { Credentials, R_OK, S_ISGID, S_ISUID, W_OK, X_OK } from './credentials.js';
import type { CreateOp, FsOp } from './fs-op.js';
import { FsState } from './fs-state.js';
import { Inode, type InodeAttrs, type InodeKind } from './inode.js';
import { NullJournal, type BarrierKind, type Journal } from './journal.js';
import { Device, allocateDev } from './memory-device.js';
import { FdTable } from './memory-fds.js';
import { MemoryFile } from './memory-file.js';
import { MemoryPipe } from './memory-pipe.js';
import { truncateGrowth, writeGrowth } from './memory-space.js';
import { MemoryStat } from './memory-stat.js';
import { copyBytes } from './small-bytes.js';
import {
  FOLLOW,
  LAST_DOT,
  LAST_DOTDOT,
  LAST_NAME,
  LAST_ROOT,
  NOFOLLOW,
  PARENT,
  PATH_MAX,
  PathWalker,
} from './path-walk.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Bits cleared from the mode of created files and directories. Default 0o022. */
  umask?: number;
  /**
   * The user id the backend acts as, and owner of what it creates (and of the root directory). Default 0:
   * root, which passes every permission check. Any other uid has permission bits enforced.
   */
  uid?: number;
  /** The group id, used for the group permission bits and given to what the backend creates. Default 0. */
  gid?: number;
  /**
   * Bytes of file data the file system holds (holes excluded); a write or truncate that would need more
   * fails with ENOSPC and changes nothing. Default `Infinity`.
   */
  capacity?: number;
  /** The open-files limit (RLIMIT_NOFILE): descriptor numbers are below it, EMFILE past it. Default 1024. */
  maxOpen?: number;
  /** The clock for timestamps, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * The working directory relative paths are resolved from: an absolute path. Default `'/'`. A new empty
   * file system gets it created (with its parents, mode 0o755, owned by `uid`/`gid`) as part of its
   * initial, durable content; over an existing state it is only recorded, and relative paths fail with
   * ENOENT while it does not exist.
   */
  cwd?: string;
  /** The lowest descriptor number handed out (0–2 are stdio, which is not emulated). Default 3. */
  firstFd?: number;
  /**
   * Record every change for the crash model ({@link MemoryBackend.crash}, {@link MemoryBackend.crashStates}).
   * Default false: the journal keeps every operation since the last point where everything was durable
   * (and a copy of every byte written), which a long-lived backend that never fsyncs would pay for with
   * memory and time (about 2× per call, see docs/benchmarks.md). Turn it on in tests that explore crashes.
   */
  crashModel?: boolean;
  /** The unit in which the crash model tears a data write (see CrashJournal). Default: the crash model's (512). */
  tearSize?: number;
  /** The device number (`FileStat.dev`). Default: a number no other backend in the process has. */
  dev?: number;
  /** Bytes an anonymous pipe holds before a write fails with EAGAIN. Default 65 536 (Linux's). */
  pipeCapacity?: number;
}

/** Options of {@link MemoryBackend.tree}. */
export interface MemoryTreeOptions {
  /** How file contents are turned into strings. Default `'utf8'`. */
  encoding?: 'utf8' | 'latin1';
  /** Whether to descend into mounted file systems. Default true. */
  mounts?: boolean;
}

/** One entry of {@link MemoryBackend.tree}: a file's content, or what else the path is. */
export type MemoryTreeEntry =
  string | { readonly kind: 'dir' } | { readonly kind: 'symlink'; readonly target: string } | { readonly kind: 'fifo' };

/** The device number fstat reports for anonymous pipes (Linux's pipefs has one of its own too). */
const PIPE_DEV = 0;
/** ext4's largest file (16 TiB): EFBIG past it. */
const MAX_FILE_SIZE = 2 ** 44;
/** relatime also updates an atime older than this. */
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A POSIX file system in memory, with emulated descriptors: usable wherever a {@link Backend} is, e.g.
 * `new FileTable({ backend: new MemoryBackend() })` and then `open(path, mode, { table })`.
 *
 * It models inodes rather than paths: hard links and link counts, directories with `.` and `..`,
 * symlinks (ELOOP after 40), permission bits with a umask and an owner, the four timestamps, sparse
 * files, open descriptors that keep an unlinked file alive, lowest-free descriptor numbers, anonymous
 * pipes, a capacity (ENOSPC), an open-files limit (EMFILE) and mounts (EXDEV). Errors carry the codes
 * Linux gives and the syscall names node:fs uses. See docs/memory-backend.md for what is and is not
 * modelled.
 *
 * Every change goes through one path: an operation record (`FsOp`) is built and validated, applied
 * to the live file system state and reported to the journal. With the crash model on (the default) the
 * journal can then build the states a power loss could leave: {@link MemoryBackend.crash},
 * {@link MemoryBackend.crashStates}.
 *
 * The promise forms are derived from the synchronous ones (`SyncBackend`): each runs the call
 * synchronously when called and returns a settled promise, so the change has taken effect before the
 * promise is even returned, and the two forms cannot differ.
 */
export class MemoryBackend extends SyncBackend implements Backend {
  readonly name = 'memory';

  /** The root file system. */
  private readonly device: Device;
  private readonly creds: Credentials;
  private readonly walker: PathWalker;
  private readonly fds: FdTable;
  private readonly clock: () => number;
  private readonly pipeCapacity: number;
  /** What crash(), crashStates() and mount() give new backends. */
  private readonly settings: MemoryBackendOptions;
  private nextPipeIno = 1;

  /** A new backend: an empty file system (a root directory owned by `uid`/`gid`, mode 0o755). */
  constructor(options?: MemoryBackendOptions);
  /** With `state`: the given file system, which the backend then owns and changes (see `MemoryBackend.fromState`). @internal */
  // eslint-disable-next-line @typescript-eslint/unified-signatures -- two signatures so that stripInternal drops this one from the .d.ts
  constructor(options: MemoryBackendOptions, state: FsState);
  constructor(options: MemoryBackendOptions = {}, state?: FsState) {
    super();
    const uid = options.uid ?? 0;
    const gid = options.gid ?? 0;
    this.clock = options.now ?? Date.now;
    const dev = options.dev ?? allocateDev();
    this.settings = { ...options, dev };
    this.creds = new Credentials(uid, gid, options.umask ?? 0o022);
    const cwd = options.cwd ?? '/';
    if (cwd.charCodeAt(0) !== 47)
      throw new FsError({
        code: 'EINVAL',
        syscall: 'chdir',
        path: cwd,
        detail: 'the cwd option must be an absolute path',
      });
    let fs = state;
    if (fs === undefined) {
      const t = this.clock();
      const attrs = { mode: 0o755, uid, gid, atimeMs: t, mtimeMs: t, ctimeMs: t, birthtimeMs: t };
      fs = new FsState(attrs);
      makeDirs(fs, cwd, attrs); // before the journal exists: part of the initial, durable content
    }
    const crashModel = options.crashModel ?? false;
    const journal: Journal = crashModel
      ? new CrashJournal(fs.clone(), options.tearSize === undefined ? {} : { tearSize: options.tearSize })
      : new NullJournal();
    this.device = new Device(dev, fs, journal, crashModel, options.capacity ?? Infinity);
    this.walker = new PathWalker(this.device, this.creds);
    this.fds = new FdTable(options.firstFd ?? 3, options.maxOpen ?? 1024);
    this.pipeCapacity = options.pipeCapacity ?? 65_536;
    this.walker.cwd = cwd;
  }

  /**
   * A backend serving `state`, which it takes over (do not change `state` elsewhere afterwards). Inodes no
   * directory entry names are dropped first, as a file system's orphan recovery does after a crash: a
   * new backend has no descriptors to keep them alive.
   * @internal
   */
  static fromState(state: FsState, options: MemoryBackendOptions = {}): MemoryBackend {
    state.collect();
    return new MemoryBackend(options, state);
  }

  // ================================================================ introspection and test helpers

  /** The device number of the root file system (`FileStat.dev`). */
  get dev(): number {
    return this.device.dev;
  }

  /** The live file system. For inspection: change it only through the backend's calls. @internal */
  get state(): FsState {
    return this.device.state;
  }

  /** The journal every change is reported to (a CrashJournal with the crash model on). @internal */
  get journal(): Journal {
    return this.device.journal;
  }

  /** Bytes of file data stored on the root file system (holes excluded): what the capacity limits. */
  get bytesUsed(): number {
    return this.device.used;
  }

  /** The open descriptor numbers, ascending (reservations and pipe ends included). */
  descriptors(): number[] {
    return this.fds.numbers();
  }

  /** The user id the backend acts as. Assignable, like setuid(2); 0 is root. */
  get uid(): number {
    return this.creds.uid;
  }
  /** Acts as user `uid` from now on (0: root). */
  set uid(uid: number) {
    this.creds.uid = uid;
  }

  /** The group id the backend acts as. Assignable, like setgid(2). */
  get gid(): number {
    return this.creds.gid;
  }
  /** Acts as group `gid` from now on. */
  set gid(gid: number) {
    this.creds.gid = gid;
  }

  /** The umask applied to created files and directories. Assignable, like umask(2). */
  get umask(): number {
    return this.creds.umask;
  }
  /** Sets the umask (only the permission bits, `0o777`, are kept). */
  set umask(mask: number) {
    this.creds.umask = mask & 0o777;
  }

  /** The working directory relative paths are resolved from (an absolute path). */
  get cwd(): string {
    return this.walker.cwd;
  }

  /**
   * chdir(2): makes `path` the working directory (ENOENT, ENOTDIR, EACCES). The working directory is
   * kept as a path and resolved again by every call, not pinned to an inode: renaming it away makes
   * relative paths fail rather than follow it.
   */
  chdir(path: string): void {
    const w = this.walker.walk(path, FOLLOW, 'chdir', path);
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'chdir', path });
    if (node.kind !== 'dir') throw new FsError({ code: 'ENOTDIR', syscall: 'chdir', path });
    if (!this.creds.can(node, X_OK)) throw new FsError({ code: 'EACCES', syscall: 'chdir', path });
    const cwd = this.walker.cwd;
    this.walker.cwd = path.charCodeAt(0) === 47 ? path : cwd === '/' ? '/' + path : cwd + '/' + path;
  }

  /**
   * For tests: every path of the file system (from the root, depth first) mapped to the file's content
   * as a string, or to `{ kind: 'dir' }`, `{ kind: 'symlink', target }` or `{ kind: 'fifo' }`. The root
   * itself is not listed. Makes crash-state assertions one `deepStrictEqual`.
   */
  tree(options: MemoryTreeOptions = {}): Record<string, MemoryTreeEntry> {
    const out: Record<string, MemoryTreeEntry> = {};
    const encoding = options.encoding ?? 'utf8';
    const mounts = options.mounts ?? true;
    const visit = (dev: Device, dir: Inode, prefix: string): void => {
      const names = [...(dir.entries as Map<string, number>).keys()].sort();
      for (const name of names) {
        const path = prefix + '/' + name;
        let node = dev.state.inode((dir.entries as Map<string, number>).get(name) as number);
        let nodeDev = dev;
        const mounted = mounts && node.kind === 'dir' ? dev.mounts.get(node.ino) : undefined;
        if (mounted !== undefined) {
          nodeDev = mounted;
          node = mounted.state.inode(mounted.state.root);
        }
        if (node.kind === 'file') {
          const bytes = Buffer.alloc(node.size);
          nodeDev.state.read(node, bytes, 0, node.size, 0);
          out[path] = bytes.toString(encoding);
        } else if (node.kind === 'dir') {
          out[path] = { kind: 'dir' };
          visit(nodeDev, node, path);
        } else if (node.kind === 'symlink') {
          out[path] = { kind: 'symlink', target: node.target };
        } else {
          out[path] = { kind: 'fifo' };
        }
      }
    };
    visit(this.device, this.device.state.inode(this.device.state.root), '');
    return out;
  }

  // ================================================================ mounts

  /**
   * Mounts another in-memory file system on the directory `path`, which then shows the other's root
   * (what the directory held is hidden until {@link MemoryBackend.unmount}). `fs` is a MemoryBackend, whose
   * file system is then shared (changes through either backend are seen by both and recorded in its own
   * journal), or options for a new empty one. Returns the mounted backend.
   *
   * rename(2) and link(2) across the boundary fail with EXDEV; fstat `dev` tells the devices apart;
   * rmdir or rename of the mount point is EBUSY. Errors: ENOENT, ENOTDIR, EBUSY (the root, a mount
   * point already, or a file system mounted elsewhere), EINVAL (mounting a file system inside itself).
   */
  mount(path: string, fs: MemoryBackend | MemoryBackendOptions = {}): MemoryBackend {
    const other = fs instanceof MemoryBackend ? fs : new MemoryBackend(fs);
    const w = this.walker.walk(path, FOLLOW, 'mount', path);
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'mount', path });
    if (node.kind !== 'dir') throw new FsError({ code: 'ENOTDIR', syscall: 'mount', path });
    const host = w.nodeDev;
    if (node.ino === host.state.root)
      throw new FsError({ code: 'EBUSY', syscall: 'mount', path, detail: 'already the root of a file system' });
    const guest = other.device;
    if (guest.mountedOn !== undefined)
      throw new FsError({ code: 'EBUSY', syscall: 'mount', path, detail: 'that file system is mounted elsewhere' });
    for (let d: Device | undefined = host; d !== undefined; d = d.mountedOn?.device) {
      if (d === guest)
        throw new FsError({
          code: 'EINVAL',
          syscall: 'mount',
          path,
          detail: 'cannot mount a file system inside itself',
        });
    }
    host.mounts.set(node.ino, guest);
    guest.mountedOn = { device: host, ino: node.ino };
    return other;
  }

  /** Unmounts the file system mounted at `path` (EINVAL if none is; EBUSY while descriptors of this backend use it). */
  unmount(path: string): void {
    const w = this.walker.walk(path, FOLLOW, 'umount', path);
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'umount', path });
    const guest = w.nodeDev;
    const on = guest.mountedOn;
    if (guest === this.device || node.ino !== guest.state.root || on === undefined)
      throw new FsError({ code: 'EINVAL', syscall: 'umount', path, detail: 'not a mount point' });
    if (guest.mounts.size > 0 || this.fds.some((f) => f.device === guest))
      throw new FsError({ code: 'EBUSY', syscall: 'umount', path });
    on.device.mounts.delete(on.ino);
    guest.mountedOn = undefined;
  }

  // ================================================================ crash model

  /**
   * The file system as a power loss now would leave it, with only what was made durable (fsync, fdatasync,
   * sync): a new backend over that state, with the same options and no open descriptors. Covers the root
   * file system only (mounts are not carried over). Throws when the crash model is off.
   */
  crash(): MemoryBackend {
    const state = this.crashJournal('crash').minimalState();
    return MemoryBackend.fromState(state, this.settings); // the journal hands out a state of its own
  }

  /**
   * Every distinct state a power loss at any point from `options.from` (a {@link MemoryBackend.journalLength}
   * taken earlier) until now could leave, each as a new backend (same options, no descriptors). Root file
   * system only. Throws when the crash model is off.
   */
  crashStates(options: CrashStatesOptions = {}): MemoryBackend[] {
    return this.crashJournal('crashStates')
      .states(options)
      .map((s) => MemoryBackend.fromState(s, this.settings));
  }

  /** How many operations the crash model has recorded: a position to pass as `crashStates({ from })`. */
  get journalLength(): number {
    return this.crashJournal('journalLength').length;
  }

  /** sync(2): makes everything so far durable, on the root file system and every mounted one. */
  syncAll(): void {
    const seen = new Set<Device>();
    const visit = (d: Device): void => {
      if (seen.has(d)) return;
      seen.add(d);
      d.journal.syncAll();
      for (const m of d.mounts.values()) visit(m);
    };
    visit(this.device);
  }

  private crashJournal(what: string): CrashJournal {
    const j = this.device.journal;
    if (!(j instanceof CrashJournal))
      throw new Error(`MemoryBackend.${what}: the crash model is off (create the backend with { crashModel: true })`);
    return j;
  }

  // ================================================================ open and close

  openSync(path: string, flags: number, mode = 0o666): number {
    const fd = this.fds.lowestFree();
    if (fd < 0) throw new FsError({ code: 'EMFILE', syscall: 'open', path });
    const creat = (flags & O.CREAT) !== 0;
    const excl = creat && (flags & O.EXCL) !== 0;
    const directory = (flags & O.DIRECTORY) !== 0;
    if (creat && directory)
      throw new FsError({ code: 'EINVAL', syscall: 'open', path, detail: 'O_CREAT with O_DIRECTORY' });
    const acc = flags & O.ACCMODE;
    const writable = acc === O.WRONLY || acc === O.RDWR;
    const trunc = (flags & O.TRUNC) !== 0;
    if (creat && path.endsWith('/')) {
      // Linux: O_CREAT with a trailing slash is EISDIR once the parent resolves, whatever the name is.
      this.walker.walk(path, PARENT, 'open', path);
      throw new FsError({ code: 'EISDIR', syscall: 'open', path });
    }
    const w = this.walker.walk(path, excl || (flags & O.NOFOLLOW) !== 0 ? NOFOLLOW : FOLLOW, 'open', path);
    let node = w.node;
    let dev = w.nodeDev;
    if (node === undefined) {
      if (!creat) throw new FsError({ code: 'ENOENT', syscall: 'open', path });
      if (w.slash) throw new FsError({ code: 'EISDIR', syscall: 'open', path });
      if (!this.creds.can(w.dir, W_OK | X_OK)) throw new FsError({ code: 'EACCES', syscall: 'open', path });
      dev = w.dev;
      node = this.create(dev, w.dir, w.name, 'file', mode & 0o7777 & ~this.creds.umask);
    } else {
      if (excl) throw new FsError({ code: 'EEXIST', syscall: 'open', path });
      if (directory && node.kind !== 'dir') throw new FsError({ code: 'ENOTDIR', syscall: 'open', path });
      if (node.kind === 'symlink') throw new FsError({ code: 'ELOOP', syscall: 'open', path }); // reached only with O_NOFOLLOW
      if (node.kind === 'dir' && (creat || writable || trunc))
        throw new FsError({ code: 'EISDIR', syscall: 'open', path });
      if (node.kind === 'fifo')
        throw new FsError({
          code: 'ENXIO',
          syscall: 'open',
          path,
          detail: 'named FIFOs are not supported by the memory backend',
        });
      const want = (acc === O.RDONLY || acc === O.RDWR ? R_OK : 0) | (writable || trunc ? W_OK : 0);
      if (!this.creds.can(node, want)) throw new FsError({ code: 'EACCES', syscall: 'open', path });
      if (trunc && node.kind === 'file') {
        // Shrinking never needs space; a truncate on open always sets mtime and ctime, as Linux does.
        const growth = truncateGrowth(node, 0);
        dev.apply({ type: 'truncate', ino: node.ino, size: 0, mtimeMs: this.clock() });
        dev.used += growth;
      }
    }
    const file = new MemoryFile(dev, node, undefined, flags, false);
    dev.hold(node);
    this.fds.set(fd, file);
    return fd;
  }

  closeSync(fd: number): void {
    const file = this.fds.remove(fd);
    if (file === undefined) throw new FsError({ code: 'EBADF', syscall: 'close', fd });
    this.release(file);
  }

  // ================================================================ read and write

  readSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number {
    if (position !== null && !(position >= 0 && Number.isSafeInteger(position)))
      throw new FsError({
        code: 'EINVAL',
        syscall: 'read',
        fd,
        detail: `position ${position} is not a non-negative integer`,
      });
    checkRange(buffer, offset, length);
    const file = this.fds.get(fd);
    if (file === undefined || !file.readable) throw new FsError({ code: 'EBADF', syscall: 'read', fd });
    const pipe = file.pipe;
    if (pipe !== undefined) return this.readPipe(fd, pipe, buffer, offset, length, position);
    if (length === 0) return 0;
    const inode = file.inode;
    if (inode.kind === 'dir') throw new FsError({ code: 'EISDIR', syscall: 'read', fd });
    const pos = position ?? file.offset;
    const n = (file.device as Device).state.read(inode, buffer, offset, length, pos);
    if (position === null) file.offset = pos + n;
    this.touch(inode);
    return n;
  }

  writeSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number {
    if (position !== null && !(position >= 0 && Number.isSafeInteger(position)))
      throw new FsError({
        code: 'EINVAL',
        syscall: 'write',
        fd,
        detail: `position ${position} is not a non-negative integer`,
      });
    checkRange(buffer, offset, length);
    const file = this.fds.get(fd);
    if (file === undefined || !file.writable) throw new FsError({ code: 'EBADF', syscall: 'write', fd });
    const pipe = file.pipe;
    if (pipe !== undefined) return writePipe(fd, pipe, buffer, offset, length, position);
    if (length === 0) return 0; // no change at all, not even the times (Linux)
    const inode = file.inode;
    const dev = file.device as Device;
    // O_APPEND: at the end, even for a pwrite (Linux); the offset moves only for a plain write.
    const pos = file.append ? inode.size : (position ?? file.offset);
    if (pos + length > MAX_FILE_SIZE) throw new FsError({ code: 'EFBIG', syscall: 'write', fd });
    const growth = writeGrowth(inode, pos, length);
    if (growth > 0 && dev.used + growth > dev.capacity) throw new FsError({ code: 'ENOSPC', syscall: 'write', fd });
    // The state copies the bytes in at once; only a journal that keeps the op needs its own copy.
    const keep = dev.keepsData;
    const data = keep
      ? copyBytes(buffer, offset, length)
      : offset === 0 && length === buffer.length
        ? buffer
        : buffer.subarray(offset, offset + length);
    const now = this.clock();
    // A kept copy is never changed again, so the state may reference it rather than copy it a second time.
    dev.apply({ type: 'write', ino: inode.ino, offset: pos, data, mtimeMs: now, frozen: keep });
    dev.used += growth;
    if ((inode.mode & (S_ISUID | S_ISGID)) !== 0) this.killPrivileges(dev, inode, now);
    if (position === null) file.offset = pos + length;
    // O_SYNC / O_DSYNC: each write is its own fsync / fdatasync (O_SYNC's bits include O_DSYNC's).
    if ((file.flags & O.SYNC) === O.SYNC && O.SYNC !== 0) dev.journal.barrier('fsync', inode.ino, false);
    else if ((file.flags & O.DSYNC) !== 0) dev.journal.barrier('fdatasync', inode.ino, false);
    return length;
  }

  private readPipe(
    fd: number,
    pipe: MemoryPipe,
    buffer: Bytes,
    offset: number,
    length: number,
    position: number | null,
  ): number {
    if (position !== null) throw new FsError({ code: 'ESPIPE', syscall: 'read', fd });
    if (length === 0) return 0;
    const n = pipe.read(buffer, offset, length);
    // An empty pipe with a writer would block; a single-threaded emulation cannot wait.
    if (n === 0 && pipe.writers > 0)
      throw new FsError({
        code: 'EAGAIN',
        syscall: 'read',
        fd,
        detail: 'the pipe is empty and its write end is open (the memory backend cannot block)',
      });
    return n;
  }

  // ================================================================ stat

  fstatSync(fd: number): FileStat {
    const file = this.fds.get(fd);
    if (file === undefined) throw new FsError({ code: 'EBADF', syscall: 'fstat', fd });
    return new MemoryStat(file.device === undefined ? PIPE_DEV : file.device.dev, file.inode);
  }

  statSync(path: string): FileStat {
    return this.statWith(path, FOLLOW, 'stat');
  }

  lstatSync(path: string): FileStat {
    return this.statWith(path, NOFOLLOW, 'lstat');
  }

  private statWith(path: string, mode: number, syscall: string): FileStat {
    const w = this.walker.walk(path, mode, syscall, path);
    if (w.node === undefined) throw new FsError({ code: 'ENOENT', syscall, path });
    return new MemoryStat(w.nodeDev.dev, w.node);
  }

  // ================================================================ truncate and sync

  ftruncateSync(fd: number, length: number): void {
    if (!(Number.isSafeInteger(length) && length >= 0))
      throw new FsError({
        code: 'EINVAL',
        syscall: 'ftruncate',
        fd,
        detail: `length ${String(length)} is not a non-negative integer`,
      });
    const file = this.fds.get(fd);
    if (file === undefined || file.pathOnly) throw new FsError({ code: 'EBADF', syscall: 'ftruncate', fd });
    const inode = file.inode;
    if (!file.writable || inode.kind !== 'file' || file.device === undefined)
      throw new FsError({ code: 'EINVAL', syscall: 'ftruncate', fd });
    if (length > MAX_FILE_SIZE) throw new FsError({ code: 'EFBIG', syscall: 'ftruncate', fd });
    const dev = file.device;
    const growth = truncateGrowth(inode, length);
    if (growth > 0 && dev.used + growth > dev.capacity) throw new FsError({ code: 'ENOSPC', syscall: 'ftruncate', fd });
    dev.apply({ type: 'truncate', ino: inode.ino, size: length, mtimeMs: this.clock() });
    dev.used += growth;
  }

  fsyncSync(fd: number): void {
    this.barrier(fd, 'fsync');
  }

  fdatasyncSync(fd: number): void {
    this.barrier(fd, 'fdatasync');
  }

  private barrier(fd: number, kind: BarrierKind): void {
    const file = this.fds.get(fd);
    if (file === undefined || file.pathOnly) throw new FsError({ code: 'EBADF', syscall: kind, fd });
    if (file.device === undefined)
      throw new FsError({ code: 'EINVAL', syscall: kind, fd, detail: 'a pipe cannot be synced' });
    file.device.journal.barrier(kind, file.inode.ino, file.inode.kind === 'dir');
  }

  // ================================================================ names

  renameSync(oldPath: string, newPath: string): void {
    const sc = 'rename';
    const w = this.walker.walk(oldPath, PARENT, sc, oldPath, newPath);
    if (w.last !== LAST_NAME) throw new FsError({ code: 'EBUSY', syscall: sc, path: oldPath, dest: newPath });
    const fromDev = w.dev;
    const fromDir = w.dir;
    const fromName = w.name;
    const src = w.node;
    const srcMounted = w.nodeDev !== fromDev;
    const oldSlash = w.slash;
    const w2 = this.walker.walk(newPath, PARENT, sc, oldPath, newPath);
    if (w2.last !== LAST_NAME) throw new FsError({ code: 'EBUSY', syscall: sc, path: oldPath, dest: newPath });
    const toDir = w2.dir;
    const toName = w2.name;
    const dst = w2.node;
    if (w2.dev !== fromDev) throw new FsError({ code: 'EXDEV', syscall: sc, path: oldPath, dest: newPath });
    if (src === undefined) throw new FsError({ code: 'ENOENT', syscall: sc, path: oldPath, dest: newPath });
    const isDir = src.kind === 'dir';
    if (!isDir && (oldSlash || w2.slash))
      throw new FsError({ code: 'ENOTDIR', syscall: sc, path: oldPath, dest: newPath });
    if (isDir && !srcMounted) {
      // A directory cannot move into its own subtree.
      for (let d = toDir; ; d = fromDev.state.inode(d.parent)) {
        if (d === src) throw new FsError({ code: 'EINVAL', syscall: sc, path: oldPath, dest: newPath });
        if (d.ino === fromDev.state.root) break;
      }
    }
    if (dst !== undefined && dst.kind === 'dir' && dst !== src) {
      // Nor can anything replace a directory it lives in (Linux says ENOTEMPTY, whatever the source is).
      for (let d = fromDir; ; d = fromDev.state.inode(d.parent)) {
        if (d === dst) throw new FsError({ code: 'ENOTEMPTY', syscall: sc, path: oldPath, dest: newPath });
        if (d.ino === fromDev.state.root) break;
      }
    }
    if (dst === src) return; // two names of one inode: nothing to do (POSIX)
    const creds = this.creds;
    if (!creds.can(fromDir, W_OK | X_OK) || !creds.can(toDir, W_OK | X_OK))
      throw new FsError({ code: 'EACCES', syscall: sc, path: oldPath, dest: newPath });
    if (!creds.mayRemoveFrom(fromDir, src) || (dst !== undefined && !creds.mayRemoveFrom(toDir, dst)))
      throw new FsError({ code: 'EPERM', syscall: sc, path: oldPath, dest: newPath });
    // Moving a directory to another parent rewrites its '..': it needs write permission itself.
    if (isDir && fromDir !== toDir && !creds.can(src, W_OK))
      throw new FsError({ code: 'EACCES', syscall: sc, path: oldPath, dest: newPath });
    if (dst !== undefined) {
      if (isDir && dst.kind !== 'dir')
        throw new FsError({ code: 'ENOTDIR', syscall: sc, path: oldPath, dest: newPath });
      if (!isDir && dst.kind === 'dir')
        throw new FsError({ code: 'EISDIR', syscall: sc, path: oldPath, dest: newPath });
    }
    if (srcMounted || (dst !== undefined && w2.nodeDev !== fromDev))
      throw new FsError({ code: 'EBUSY', syscall: sc, path: oldPath, detail: 'a mount point', dest: newPath });
    if (dst !== undefined && isDir && (dst.entries as Map<string, number>).size > 0)
      throw new FsError({ code: 'ENOTEMPTY', syscall: sc, path: oldPath, dest: newPath });
    fromDev.apply({ type: 'rename', fromDir: fromDir.ino, fromName, toDir: toDir.ino, toName, ctimeMs: this.clock() });
    if (dst !== undefined) fromDev.reap(dst.ino);
  }

  unlinkSync(path: string): void {
    const w = this.walker.walk(path, PARENT, 'unlink', path);
    if (w.last !== LAST_NAME) throw new FsError({ code: 'EISDIR', syscall: 'unlink', path });
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'unlink', path });
    if (w.slash) throw new FsError({ code: node.kind === 'dir' ? 'EISDIR' : 'ENOTDIR', syscall: 'unlink', path });
    if (!this.creds.can(w.dir, W_OK | X_OK)) throw new FsError({ code: 'EACCES', syscall: 'unlink', path });
    if (!this.creds.mayRemoveFrom(w.dir, node)) throw new FsError({ code: 'EPERM', syscall: 'unlink', path });
    if (node.kind === 'dir') throw new FsError({ code: 'EISDIR', syscall: 'unlink', path });
    const dev = w.dev;
    dev.apply({ type: 'unlink', dir: w.dir.ino, name: w.name, ctimeMs: this.clock() });
    dev.reap(node.ino);
  }

  rmdirSync(path: string): void {
    const w = this.walker.walk(path, PARENT, 'rmdir', path);
    if (w.last === LAST_DOT) throw new FsError({ code: 'EINVAL', syscall: 'rmdir', path });
    if (w.last === LAST_DOTDOT) throw new FsError({ code: 'ENOTEMPTY', syscall: 'rmdir', path });
    if (w.last === LAST_ROOT) throw new FsError({ code: 'EBUSY', syscall: 'rmdir', path });
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'rmdir', path });
    if (!this.creds.can(w.dir, W_OK | X_OK)) throw new FsError({ code: 'EACCES', syscall: 'rmdir', path });
    if (!this.creds.mayRemoveFrom(w.dir, node)) throw new FsError({ code: 'EPERM', syscall: 'rmdir', path });
    if (node.kind !== 'dir') throw new FsError({ code: 'ENOTDIR', syscall: 'rmdir', path });
    if (w.nodeDev !== w.dev) throw new FsError({ code: 'EBUSY', syscall: 'rmdir', path, detail: 'a mount point' });
    if ((node.entries as Map<string, number>).size > 0)
      throw new FsError({ code: 'ENOTEMPTY', syscall: 'rmdir', path });
    const dev = w.dev;
    dev.apply({ type: 'unlink', dir: w.dir.ino, name: w.name, ctimeMs: this.clock() });
    dev.reap(node.ino);
  }

  linkSync(existingPath: string, newPath: string): void {
    const sc = 'link';
    const w = this.walker.walk(existingPath, NOFOLLOW, sc, existingPath, newPath);
    const src = w.node;
    if (src === undefined) throw new FsError({ code: 'ENOENT', syscall: sc, path: existingPath, dest: newPath });
    const srcDev = w.nodeDev;
    const w2 = this.walker.walk(newPath, PARENT, sc, existingPath, newPath);
    if (w2.last !== LAST_NAME || w2.node !== undefined)
      throw new FsError({ code: 'EEXIST', syscall: sc, path: existingPath, dest: newPath });
    if (w2.slash) throw new FsError({ code: 'ENOENT', syscall: sc, path: existingPath, dest: newPath });
    if (w2.dev !== srcDev) throw new FsError({ code: 'EXDEV', syscall: sc, path: existingPath, dest: newPath });
    if (!this.creds.can(w2.dir, W_OK | X_OK))
      throw new FsError({ code: 'EACCES', syscall: sc, path: existingPath, dest: newPath });
    if (src.kind === 'dir')
      throw new FsError({
        code: 'EPERM',
        syscall: sc,
        path: existingPath,
        detail: 'hard links to directories are not allowed',
        dest: newPath,
      });
    srcDev.apply({ type: 'link', dir: w2.dir.ino, name: w2.name, ino: src.ino, ctimeMs: this.clock() });
  }

  symlinkSync(target: string, path: string): void {
    const sc = 'symlink';
    // node:fs reports symlink errors with the target as `path` and the new name as `dest`.
    if (target.length === 0) throw new FsError({ code: 'ENOENT', syscall: sc, path: target, dest: path });
    const w = this.walker.walk(path, PARENT, sc, target, path);
    if (w.last !== LAST_NAME || w.node !== undefined)
      throw new FsError({ code: 'EEXIST', syscall: sc, path: target, dest: path });
    if (w.slash) throw new FsError({ code: 'ENOENT', syscall: sc, path: target, dest: path });
    if (target.length >= PATH_MAX / 3 && Buffer.byteLength(target) >= PATH_MAX)
      throw new FsError({ code: 'ENAMETOOLONG', syscall: sc, path: target, dest: path });
    if (!this.creds.can(w.dir, W_OK | X_OK))
      throw new FsError({ code: 'EACCES', syscall: sc, path: target, dest: path });
    this.create(w.dev, w.dir, w.name, 'symlink', 0o777, target);
  }

  readlinkSync(path: string): string {
    const w = this.walker.walk(path, NOFOLLOW, 'readlink', path);
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'readlink', path });
    if (node.kind !== 'symlink') throw new FsError({ code: 'EINVAL', syscall: 'readlink', path });
    this.touch(node);
    return node.target;
  }

  mkdirSync(path: string, mode = 0o777): void {
    const w = this.walker.walk(path, PARENT, 'mkdir', path);
    if (w.last !== LAST_NAME || w.node !== undefined) throw new FsError({ code: 'EEXIST', syscall: 'mkdir', path });
    if (!this.creds.can(w.dir, W_OK | X_OK)) throw new FsError({ code: 'EACCES', syscall: 'mkdir', path });
    this.create(w.dev, w.dir, w.name, 'dir', mode & 0o1777 & ~this.creds.umask);
  }

  readdirSync(path: string): string[] {
    const w = this.walker.walk(path, FOLLOW, 'scandir', path);
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'scandir', path });
    if (node.kind !== 'dir') throw new FsError({ code: 'ENOTDIR', syscall: 'scandir', path });
    if (!this.creds.can(node, R_OK)) throw new FsError({ code: 'EACCES', syscall: 'scandir', path });
    this.touch(node);
    return [...(node.entries as Map<string, number>).keys()];
  }

  // ================================================================ attributes

  chmodSync(path: string, mode: number): void {
    const w = this.walker.walk(path, FOLLOW, 'chmod', path);
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'chmod', path });
    if (!this.creds.owns(node)) throw new FsError({ code: 'EPERM', syscall: 'chmod', path });
    w.nodeDev.apply({ type: 'setattr', ino: node.ino, mode: mode & 0o7777, ctimeMs: this.clock() });
  }

  fchmodSync(fd: number, mode: number): void {
    const file = this.fds.get(fd);
    if (file === undefined || file.pathOnly) throw new FsError({ code: 'EBADF', syscall: 'fchmod', fd });
    const inode = file.inode;
    if (!this.creds.owns(inode)) throw new FsError({ code: 'EPERM', syscall: 'fchmod', fd });
    const now = this.clock();
    if (file.device === undefined) {
      // A pipe's inode is in no file system (nothing for the crash model to see).
      inode.mode = mode & 0o7777;
      inode.ctimeMs = now;
      return;
    }
    file.device.apply({ type: 'setattr', ino: inode.ino, mode: mode & 0o7777, ctimeMs: now });
  }

  fchownSync(fd: number, uid: number, gid: number): void {
    const file = this.fds.get(fd);
    if (file === undefined || file.pathOnly) throw new FsError({ code: 'EBADF', syscall: 'fchown', fd });
    const inode = file.inode;
    const creds = this.creds;
    if (creds.uid !== 0) {
      // Without CAP_CHOWN: the owner may only change the group, and only to their own.
      if (uid !== -1 && uid !== inode.uid) throw new FsError({ code: 'EPERM', syscall: 'fchown', fd });
      if (gid !== -1 && gid !== inode.gid && (inode.uid !== creds.uid || gid !== creds.gid))
        throw new FsError({ code: 'EPERM', syscall: 'fchown', fd });
    }
    const now = this.clock();
    const newUid = uid === -1 ? inode.uid : uid;
    const newGid = gid === -1 ? inode.gid : gid;
    // Changing a regular file's owner or group clears set-user-id, and set-group-id when group-executable.
    let mode = inode.mode;
    if (inode.kind === 'file' && (uid !== -1 || gid !== -1)) mode &= ~(S_ISUID | ((mode & 0o010) !== 0 ? S_ISGID : 0));
    if (file.device === undefined) {
      inode.uid = newUid;
      inode.gid = newGid;
      inode.ctimeMs = now;
      return;
    }
    const op: FsOp =
      mode === inode.mode
        ? { type: 'setattr', ino: inode.ino, uid: newUid, gid: newGid, ctimeMs: now }
        : { type: 'setattr', ino: inode.ino, uid: newUid, gid: newGid, mode, ctimeMs: now };
    file.device.apply(op);
  }

  utimesSync(path: string, atime: TimeLike, mtime: TimeLike): void {
    const now = this.clock();
    const atimeMs = toMs(atime, 'atime', now);
    const mtimeMs = toMs(mtime, 'mtime', now);
    const w = this.walker.walk(path, FOLLOW, 'utime', path);
    const node = w.node;
    if (node === undefined) throw new FsError({ code: 'ENOENT', syscall: 'utime', path });
    if (!this.creds.owns(node)) throw new FsError({ code: 'EPERM', syscall: 'utime', path });
    w.nodeDev.apply({ type: 'setattr', ino: node.ino, atimeMs, mtimeMs, ctimeMs: now });
  }

  // ================================================================ descriptor-table support

  /**
   * A new lowest-free number naming `fd`'s file that refuses I/O (EBADF) like Linux's `O_PATH`: fstat
   * works, read, write, ftruncate, fsync, fchmod and fchown do not. It keeps the file alive like any
   * descriptor. A reservation of a pipe end is neither a reader nor a writer.
   */
  reserveSync(fd: number): number {
    const src = this.fds.get(fd);
    if (src === undefined) throw new FsError({ code: 'EBADF', syscall: 'dup', fd });
    const n = this.fds.lowestFree();
    if (n < 0) throw new FsError({ code: 'EMFILE', syscall: 'dup', fd });
    this.fds.set(n, this.reservation(src));
    return n;
  }

  /**
   * Emulated dup2 of a reservation: claims exactly `target` (EBADF when it is negative or not below
   * `maxOpen`; EBUSY when it is held and `replace` is false, or is stdio, which the backend does not
   * emulate). With `replace`, what `target` named is closed in the same step. Always returns true: the
   * race the interface allows for cannot happen in a single-threaded emulation.
   */
  reserveAtSync(target: number, fd: number, replace: boolean): boolean {
    const src = this.fds.get(fd);
    if (src === undefined) throw new FsError({ code: 'EBADF', syscall: 'dup2', fd });
    if (!Number.isSafeInteger(target) || target < 0 || target >= this.fds.limit)
      throw new FsError({ code: 'EBADF', syscall: 'dup2', fd: target, detail: 'not a valid descriptor number' });
    if (target < this.fds.first)
      throw new FsError({
        code: 'EBUSY',
        syscall: 'dup2',
        fd: target,
        detail: 'stdio numbers are not emulated by the memory backend',
      });
    const held = this.fds.get(target);
    if (held !== undefined && !replace)
      throw new FsError({ code: 'EBUSY', syscall: 'dup2', fd: target, detail: 'the number is held' });
    const reservation = this.reservation(src); // before the release below: it may be the last hold on the file
    if (held !== undefined) {
      this.fds.remove(target);
      this.release(held);
    }
    this.fds.set(target, reservation);
    return true;
  }

  /**
   * A new open file description (offset 0) on the file `fd` names, even if unlinked, with `flags`' access
   * mode and status flags; permissions are checked again, as reopening through /proc does. For a pipe
   * end, a new reader and/or writer of the same pipe.
   */
  reopenSync(fd: number, flags: number): number {
    const src = this.fds.get(fd);
    if (src === undefined) throw new FsError({ code: 'EBADF', syscall: 'reopen', fd });
    const n = this.fds.lowestFree();
    if (n < 0) throw new FsError({ code: 'EMFILE', syscall: 'reopen', fd });
    const acc = flags & O.ACCMODE;
    const readable = acc === O.RDONLY || acc === O.RDWR;
    const writable = acc === O.WRONLY || acc === O.RDWR;
    const inode = src.inode;
    const pipe = src.pipe;
    if (pipe === undefined) {
      if (inode.kind === 'dir' && writable) throw new FsError({ code: 'EISDIR', syscall: 'reopen', fd });
      if (inode.kind === 'symlink') throw new FsError({ code: 'ELOOP', syscall: 'reopen', fd });
    }
    if (!this.creds.can(inode, (readable ? R_OK : 0) | (writable ? W_OK : 0)))
      throw new FsError({ code: 'EACCES', syscall: 'reopen', fd });
    const file = new MemoryFile(src.device, inode, pipe, flags, false);
    if (pipe !== undefined) {
      if (readable) pipe.readers++;
      if (writable) pipe.writers++;
    } else {
      (src.device as Device).hold(inode);
    }
    this.fds.set(n, file);
    return n;
  }

  /**
   * pipe(2): `[readEnd, writeEnd]` of an in-memory pipe holding up to `pipeCapacity` bytes. It cannot
   * block: a read of an empty pipe whose write end is open fails with EAGAIN (with no writer left it
   * returns 0, end of file), a write to a full pipe writes what fits or fails with EAGAIN, and a write
   * with no reader left fails with EPIPE. Positioned reads and writes fail with ESPIPE.
   */
  pipeSync(): [number, number] {
    const r = this.fds.lowestFree();
    if (r < 0) throw new FsError({ code: 'EMFILE', syscall: 'pipe' });
    const t = this.clock();
    const creds = this.creds;
    const inode = new Inode(this.nextPipeIno++, 'fifo', {
      mode: 0o600,
      uid: creds.uid,
      gid: creds.gid,
      atimeMs: t,
      mtimeMs: t,
      ctimeMs: t,
      birthtimeMs: t,
    });
    inode.nlink = 1; // in no file system: not an FsOp
    const pipe = new MemoryPipe(inode, this.pipeCapacity);
    pipe.readers = 1;
    this.fds.set(r, new MemoryFile(undefined, inode, pipe, O.RDONLY | O.CLOEXEC, false));
    const w = this.fds.lowestFree();
    if (w < 0) {
      this.fds.remove(r);
      throw new FsError({ code: 'EMFILE', syscall: 'pipe' });
    }
    pipe.writers = 1;
    this.fds.set(w, new MemoryFile(undefined, inode, pipe, O.WRONLY | O.CLOEXEC, false));
    return [r, w];
  }

  /** The description's status flags (`O_PATH` for a reservation) and its offset (0 for a pipe). EBADF if `fd` is not open. */
  fdInfoSync(fd: number): FdInfo {
    const file = this.fds.get(fd);
    if (file === undefined) throw new FsError({ code: 'EBADF', syscall: 'fcntl', fd });
    return { flags: file.flags, offset: file.pipe === undefined ? file.offset : 0 };
  }

  // ================================================================ internals

  /** Creates an inode of `kind` named `name` in `dir` (checked free and writable by the caller). */
  private create(dev: Device, dir: Inode, name: string, kind: InodeKind, mode: number, target?: string): Inode {
    const t = this.clock();
    let gid = this.creds.gid;
    // A set-group-id directory gives its group to what is created in it, and its bit to subdirectories.
    if ((dir.mode & S_ISGID) !== 0) {
      gid = dir.gid;
      if (kind === 'dir') mode |= S_ISGID;
    }
    const ino = dev.state.allocateIno();
    const attrs = { mode, uid: this.creds.uid, gid, atimeMs: t, mtimeMs: t, ctimeMs: t, birthtimeMs: t };
    const op: CreateOp =
      target === undefined
        ? { type: 'create', dir: dir.ino, name, ino, kind, attrs }
        : { type: 'create', dir: dir.ino, name, ino, kind, attrs, target };
    dev.apply(op);
    return dev.state.inode(ino);
  }

  /** A reservation (an `O_PATH`-like description) on what `src` names. */
  private reservation(src: MemoryFile): MemoryFile {
    const file = new MemoryFile(src.device, src.inode, src.pipe, O.CLOEXEC, true);
    if (src.device !== undefined) src.device.hold(src.inode);
    return file;
  }

  /** What closing a description does: a pipe loses a reader or writer; a file may be dropped if unlinked. */
  private release(file: MemoryFile): void {
    const pipe = file.pipe;
    if (pipe !== undefined) {
      if (file.readable) pipe.readers--;
      if (file.writable) pipe.writers--;
      return;
    }
    (file.device as Device).release(file.inode);
  }

  /**
   * relatime: a read sets atime when it is not newer than mtime or ctime, or is a day old. atime is not
   * crash-modelled, so this one change is made on the live inode directly rather than through an FsOp.
   */
  private touch(inode: Inode): void {
    const atime = inode.atimeMs;
    if (atime <= inode.mtimeMs || atime <= inode.ctimeMs) {
      inode.atimeMs = this.clock();
      return;
    }
    const now = this.clock();
    if (now - atime >= DAY_MS) inode.atimeMs = now;
  }

  /** A write by anyone but root clears set-user-id, and set-group-id when group-executable (Linux's file_remove_privs). */
  private killPrivileges(dev: Device, inode: Inode, now: number): void {
    if (this.creds.uid === 0) return;
    const mode = inode.mode & ~(S_ISUID | ((inode.mode & 0o010) !== 0 ? S_ISGID : 0));
    if (mode !== inode.mode) dev.apply({ type: 'setattr', ino: inode.ino, mode, ctimeMs: now });
  }
}

/**
 * Creates the directories of the absolute path `path` that do not exist yet (`mkdir -p`) on a state with
 * no journal yet, with `attrs`. Stops quietly at anything that is not a directory (the cwd then fails to
 * resolve, as a deleted cwd does). `.` and `..` are taken literally as names only when they are not.
 */
function makeDirs(state: FsState, path: string, attrs: InodeAttrs): void {
  let dir = state.inode(state.root);
  for (const name of path.split('/')) {
    if (name === '' || name === '.') continue;
    if (name === '..') {
      dir = state.inode(dir.parent);
      continue;
    }
    const existing = (dir.entries as Map<string, number>).get(name);
    if (existing === undefined) {
      const ino = state.allocateIno();
      state.apply({ type: 'create', dir: dir.ino, name, ino, kind: 'dir', attrs });
      dir = state.inode(ino);
    } else {
      const next = state.inode(existing);
      if (next.kind !== 'dir') return;
      dir = next;
    }
  }
}

/** A write to a pipe end (see {@link MemoryBackend.pipeSync}). */
function writePipe(
  fd: number,
  pipe: MemoryPipe,
  buffer: Bytes,
  offset: number,
  length: number,
  position: number | null,
): number {
  if (position !== null) throw new FsError({ code: 'ESPIPE', syscall: 'write', fd });
  if (pipe.readers === 0) throw new FsError({ code: 'EPIPE', syscall: 'write', fd, detail: 'the pipe has no reader' });
  if (length === 0) return 0;
  const n = pipe.write(buffer, offset, length);
  if (n === 0)
    throw new FsError({
      code: 'EAGAIN',
      syscall: 'write',
      fd,
      detail: 'the pipe is full (the memory backend cannot block)',
    });
  return n;
}

/** node:fs's check of a buffer range: a RangeError (ERR_OUT_OF_RANGE) before any syscall. */
function checkRange(buffer: Bytes, offset: number, length: number): void {
  if (offset >= 0 && length >= 0 && offset + length <= buffer.byteLength) return;
  const e = new RangeError(
    `The buffer range (offset ${String(offset)}, length ${String(length)}) is outside a buffer of ${buffer.byteLength} bytes`,
  ) as RangeError & { code: string };
  e.code = 'ERR_OUT_OF_RANGE';
  throw e;
}

/** node:fs's reading of a time: a Date, or seconds since the epoch (a negative number meaning `now`). */
function toMs(time: TimeLike, name: string, now: number): number {
  if (typeof time === 'number') {
    if (Number.isFinite(time)) return time < 0 ? now : time * 1000;
  } else if (time instanceof Date) {
    return time.getTime();
  }
  const e = new TypeError(
    `The "${name}" argument must be a Date or a time in seconds. Received ${String(time)}`,
  ) as TypeError & { code: string };
  e.code = 'ERR_INVALID_ARG_TYPE';
  throw e;
}
