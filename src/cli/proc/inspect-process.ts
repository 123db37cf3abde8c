import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { hasCode } from '../../errors/fs-error.js';
import { FD_KINDS, type FdEntry, type FdKind } from './fd-entry.js';
import { parseFdInfo } from './fdinfo.js';
import { parseOpenFilesLimit, type OpenFilesLimit } from './limits.js';
import { decodeOpenFlags } from './open-flags.js';
import { assertProcfs, noSuchProcess, procError, zombieParent } from './proc-error.js';
import { describeSocket, readSocketTable, type SocketInfo } from './sockets.js';

/** A file that is open more than once (same device and inode), with the descriptors that hold it. */
export interface SameFileGroup {
  readonly path: string;
  readonly dev: number;
  readonly inode: number;
  readonly fds: readonly number[];
}

/** A regular file unlinked while still open: the stale-log symptom. */
export interface DeletedFile {
  readonly fd: number;
  /** The name it had. */
  readonly path: string;
  /** Bytes still held on disk until the descriptor is closed. */
  readonly size: number | null;
}

/** Everything `fdkeeper inspect` reports about a process (its `--json` output; docs/inspect.schema.json). */
export interface ProcessInspection {
  readonly pid: number;
  /** The command name (/proc/PID/comm), or null when unreadable. */
  readonly command: string | null;
  /** The command line (/proc/PID/cmdline), empty for kernel threads and zombies. */
  readonly cmdline: readonly string[];
  /** When the inspection was made (ISO 8601). */
  readonly time: string;
  /** RLIMIT_NOFILE from /proc/PID/limits, or null when unreadable. */
  readonly limit: OpenFilesLimit | null;
  /** Open descriptors. */
  readonly count: number;
  /** `count` as a percentage of the soft limit (null without one). */
  readonly percentOfSoftLimit: number | null;
  /** Descriptors per kind (every kind present, zeros included). */
  readonly byKind: Readonly<Record<FdKind, number>>;
  /** Deleted-but-open regular files. */
  readonly deleted: readonly DeletedFile[];
  /** Sum of their sizes: disk space that comes back only when they are closed. */
  readonly deletedBytes: number;
  /** Regular files open through more than one descriptor. */
  readonly sameFile: readonly SameFileGroup[];
  /** Every descriptor, by number. */
  readonly fds: readonly FdEntry[];
}

/** The thread group (the process) `<proc>/<n>` belongs to, from its status `Tgid:` line; undefined when unreadable. */
function threadGroupOf(base: string): number | undefined {
  const m = /^Tgid:\s*(\d+)$/m.exec(readOptional(`${base}/status`) ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** Options of {@link inspectProcess}. */
export interface InspectOptions {
  /** Where procfs is mounted. Default `/proc`. */
  procRoot?: string;
  /** Read fdinfo (offset, flags) and the socket tables. Default true; `watch` turns it off to sample cheaply. */
  details?: boolean;
}

const NO_STAT = undefined;

/** Reads one /proc file, or undefined when it cannot be read (the fd closed meanwhile, no permission). */
function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function statOptional(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return NO_STAT;
  }
}

const DELETED_SUFFIX = ' (deleted)';

/** Whether `path` names the file `st` describes (lstat: the name itself). */
function namesFile(path: string, st: Stats): boolean {
  try {
    const named = lstatSync(path);
    return named.dev === st.dev && named.ino === st.ino;
  } catch {
    return false;
  }
}

interface Classified {
  kind: FdKind;
  path: string | null;
  deleted: boolean;
  unlinkedName: boolean;
  detail: string | null;
}

/** Kind, path and detail from the link text, refined by a stat through the link when it names a path. */
function classify(target: string, st: Stats | undefined): Classified {
  const nameless = (kind: FdKind, detail: string | null): Classified => ({
    kind,
    path: null,
    deleted: false,
    unlinkedName: false,
    detail,
  });
  if (target.startsWith('socket:[')) return nameless('socket', null);
  if (target.startsWith('pipe:[')) return nameless('pipe', null);
  if (target.startsWith('anon_inode:')) {
    // anon_inode:[eventfd], anon_inode:inotify, anon_inode:[io_uring]…
    return nameless('anon_inode', target.slice('anon_inode:'.length).replace(/^\[(.*)\]$/, '$1'));
  }
  if (target.startsWith('/memfd:')) {
    // memfd_create files never had a name: always "(deleted)", which means nothing here.
    const name = target.endsWith(DELETED_SUFFIX) ? target.slice(0, -DELETED_SUFFIX.length) : target;
    return nameless('memfd', name.slice(1));
  }
  if (!target.startsWith('/')) return nameless('other', target);
  // The kernel appends " (deleted)" to a path that was unlinked. A link count of 0 is the proof the file
  // is deleted; with links left, the name alone was removed (another hard link keeps the file), unless
  // the file really is named "x (deleted)", which an lstat of that name shows.
  const marked = target.endsWith(DELETED_SUFFIX);
  const deleted = marked && (st === undefined || st.nlink === 0);
  const unlinkedName = marked && st !== undefined && st.nlink > 0 && !namesFile(target, st);
  const path = deleted || unlinkedName ? target.slice(0, -DELETED_SUFFIX.length) : target;
  let kind: FdKind = 'file';
  if (st !== undefined) {
    if (st.isDirectory()) kind = 'dir';
    else if (st.isCharacterDevice() || st.isBlockDevice()) kind = 'device';
    else if (st.isFIFO()) kind = 'pipe';
    else if (st.isSocket()) kind = 'socket';
  } else if (path.startsWith('/dev/')) kind = 'device';
  return { kind, path, deleted, unlinkedName, detail: st?.isFIFO() === true ? 'named pipe' : null };
}

/**
 * Reads the descriptors of process `pid` from /proc: /proc/PID/fd (the links), a stat through each
 * link (size, device and inode, the deleted proof), /proc/PID/fdinfo/N (offset, flags), the socket
 * tables of its network namespace, and /proc/PID/limits.
 *
 * A descriptor closed while it is being read is left out (the listing is a snapshot taken one
 * descriptor at a time; the kernel offers no atomic one). Throws an FsError: ESRCH when the process does
 * not exist or exits meanwhile, EACCES/EPERM when this user may not look (another user's process; root
 * may look at any), ENOSYS when there is no procfs (not Linux).
 */
export function inspectProcess(pid: number, options: InspectOptions = {}): ProcessInspection {
  const proc = options.procRoot ?? '/proc';
  const details = options.details ?? true;
  assertProcfs(proc);
  const base = `${proc}/${pid}`;
  const tgid = threadGroupOf(base);
  if (tgid !== undefined && tgid !== pid) {
    // /proc/TID exists for every thread, though readdir does not list it: a thread id is not a process.
    throw noSuchProcess(
      pid,
      proc,
      `${pid} is a thread (TID) of process ${tgid}, not a process; run \`fdkeeper inspect ${tgid}\``,
    );
  }
  let names: string[];
  try {
    names = readdirSync(`${base}/fd`);
  } catch (e) {
    throw procError(e, pid, proc, 'scandir');
  }
  if (names.length === 0) {
    const parent = zombieParent(pid, proc);
    if (parent !== undefined)
      throw noSuchProcess(pid, proc, `it has exited; a zombie until its parent, pid ${parent}, reaps it`);
  }
  const limitText = readOptional(`${base}/limits`);
  const limit = limitText === undefined ? null : (parseOpenFilesLimit(limitText) ?? null);
  let sockets: Map<number, SocketInfo> | undefined;

  const fds: FdEntry[] = [];
  for (const name of names) {
    const fd = Number(name);
    let target: string;
    try {
      target = readlinkSync(`${base}/fd/${name}`);
    } catch (e) {
      if (hasCode(e, 'ENOENT')) continue; // closed since the listing
      throw procError(e, pid, proc, 'readlink');
    }
    const st = statOptional(`${base}/fd/${name}`);
    const c = classify(target, st);
    const info = details ? parseFdInfo(readOptional(`${base}/fdinfo/${name}`) ?? '') : undefined;
    const decoded = info === undefined ? undefined : decodeOpenFlags(info.flags);
    let socket: SocketInfo | null = null;
    let detail = c.detail;
    if (details && c.kind === 'socket' && st !== undefined) {
      sockets ??= readSocketTable(proc, pid);
      socket = sockets.get(st.ino) ?? null;
      if (socket !== null) detail = describeSocket(socket);
    }
    fds.push({
      fd,
      kind: c.kind,
      target,
      path: c.path,
      deleted: c.deleted,
      unlinkedName: c.unlinkedName,
      links: st?.nlink ?? null,
      size: st?.isFile() === true ? st.size : null,
      dev: st?.dev ?? null,
      inode: st?.ino ?? null,
      pos: info?.pos ?? null,
      flags: info === undefined ? null : `0${info.flags.toString(8)}`,
      flagNames: decoded?.names ?? [],
      access: decoded?.access ?? null,
      detail,
      socket,
    });
  }
  fds.sort((a, b) => a.fd - b.fd);

  const byKind = Object.fromEntries(FD_KINDS.map((k) => [k, 0])) as Record<FdKind, number>;
  for (const f of fds) byKind[f.kind]++;
  const deleted = fds
    .filter((f) => f.kind === 'file' && f.deleted)
    .map((f): DeletedFile => ({ fd: f.fd, path: f.path ?? f.target, size: f.size }));
  const groups = new Map<string, FdEntry[]>();
  for (const f of fds) {
    if (f.kind !== 'file' || f.dev === null || f.inode === null) continue;
    const key = `${f.dev}:${f.inode}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [f]);
    else group.push(f);
  }
  const sameFile = [...groups.values()]
    .filter((g) => g.length > 1)
    .map((g): SameFileGroup => ({
      path: g[0]?.path ?? '',
      dev: g[0]?.dev ?? 0,
      inode: g[0]?.inode ?? 0,
      fds: g.map((f) => f.fd),
    }));

  const comm = readOptional(`${base}/comm`);
  const cmdline = readOptional(`${base}/cmdline`);
  const soft = limit?.soft ?? null;
  return {
    pid,
    command: comm === undefined ? null : comm.replace(/\n$/, ''),
    cmdline: cmdline === undefined || cmdline === '' ? [] : cmdline.replace(/\0$/, '').split('\0'),
    time: new Date().toISOString(),
    limit,
    count: fds.length,
    percentOfSoftLimit: soft === null || soft === 0 ? null : Math.round((fds.length / soft) * 1000) / 10,
    byKind,
    deleted,
    deletedBytes: deleted.reduce((sum, d) => sum + (d.size ?? 0), 0),
    sameFile,
    fds,
  };
}
