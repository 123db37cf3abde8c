/**
 * Step 1 and 2 of the protocol: which file a write replaces, and the mode and owner the new file must
 * end with.
 *
 * The path is resolved in user space, one component at a time (an lstat(2) each), so that every symlink
 * on it — in the directory part as well as at the end, and in what a link points to — is judged by the
 * kernel's fs.protected_symlinks rule ({@link ownerTrusted}) before it is followed, whatever the
 * kernel's own setting: the kernel never sees fdkeeper's follows of the final component (readlink, then
 * a rename onto the result), so its rule would not apply to them. The same walk creates missing
 * directories for the `mkdir` option, judging each entry it did not create itself.
 *
 * The steps are written once, as a {@link Protocol} of the system calls they need (src/protocol/run.ts),
 * run by `runSync` or `runAsync`; the promise run makes the lookups (lstat, readlink) synchronously on a
 * local file system (close-policy.ts).
 *
 * @module
 */
import { dirname, join, parse, resolve, sep } from 'node:path';
import type { Backend, FileStat } from '../backend/backend.js';
import { hasCode } from '../errors/fs-error.js';
import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import { quickCallsSyncIn } from './close-policy.js';
import { fsyncDirSync, syncDir } from './dir-sync.js';
import { atomicError } from './errors.js';
import { identityOf, type Identity } from './identity.js';
import { ownerTrusted, untrustedLinkError } from './link-rule.js';
import type { Settings } from './settings.js';
import type { Durability } from './types.js';

/** The file a write replaces, and how the new one must look. */
export interface Target {
  /** The absolute path renamed over, with no symlink in it (the end of any symlink chain). */
  readonly path: string;
  /** Its directory (the temp file's, and the one fsynced after the rename). */
  readonly dir: string;
  /** Whether a file is there now. */
  readonly exists: boolean;
  /** The permission bits the new file gets (fchmod). */
  readonly mode: number;
  /** The owner the new file gets (fchown), when it must be set. */
  readonly owner: { readonly uid: number; readonly gid: number } | undefined;
}

/** Symlinks followed before ELOOP, as Linux (MAXSYMLINKS). */
const MAX_LINKS = 40;
/** mkdir calls in one walk before giving up (more than a PATH_MAX path has components: entries that keep vanishing). */
const MAX_LOOK_AGAIN = 4096;

/**
 * The absolute path `path` names (path.resolve against the process's working directory). A trailing
 * separator names a directory: EISDIR, as open(2) says for O_CREAT.
 */
export function absoluteTarget(path: string): string {
  if (typeof path !== 'string' || path === '') throw new TypeError('the path must be a non-empty string');
  const abs = resolve(path);
  if (/[\\/]$/.test(path) && abs !== resolve('/'))
    throw atomicError({
      code: 'EISDIR',
      syscall: 'open',
      path: abs,
      detail: 'a path ending in a separator names a directory',
    });
  return abs;
}

/**
 * What the final lstat of `path` says (`undefined`: nothing there): the target, or an error for something
 * that must not be replaced (EISDIR, EINVAL). `id` is who the process acts as (uid, gid, umask: the
 * default mode and whether the owner can be kept); the backend's unless given.
 */
export function planTarget(
  path: string,
  st: FileStat | undefined,
  s: Settings,
  id: Identity = identityOf(s.backend),
): Target {
  const dir = dirname(path);
  if (st?.isDirectory() === true)
    throw atomicError({ code: 'EISDIR', syscall: 'open', path, detail: 'the target is a directory' });
  const replacingLink = st?.isSymbolicLink() === true; // replaceSymlink, or an untrusted link replaced
  if (st !== undefined && !st.isFile() && !replacingLink)
    throw atomicError({
      code: 'EINVAL',
      syscall: 'open',
      path,
      detail: 'the target is not a regular file (a FIFO, socket or device is never replaced by a rename)',
    });
  const existing = st !== undefined && !replacingLink ? st : undefined;
  const mode = s.mode ?? (existing !== undefined ? existing.mode & 0o7777 : 0o666 & ~id.umask);
  let owner: Target['owner'];
  if (s.chown !== undefined && s.chown !== false) owner = s.chown;
  else if (
    s.chown === undefined &&
    existing !== undefined &&
    id.uid === 0 &&
    (existing.uid !== id.uid || existing.gid !== id.gid)
  )
    owner = { uid: existing.uid, gid: existing.gid };
  return { path, dir, exists: st !== undefined, mode, owner };
}

function tooManyLinks(path: string): never {
  throw atomicError({ code: 'ELOOP', syscall: 'open', path, detail: `more than ${String(MAX_LINKS)} symbolic links` });
}

/** A directory the walk reached: its link-free path and, if looked at, its lstat. */
export interface WalkedDir {
  readonly path: string;
  /** Its lstat, when the walk made one (not for the root, nor after `..`). */
  readonly st: FileStat | undefined;
  /** It does not exist (a component is missing and was not to be created). */
  readonly missing: boolean;
}

/** What a walk carries along: who judges the links, the links followed so far, what `mkdir` made. */
interface Walk {
  readonly b: Backend;
  /** Whether lookups may be synchronous in the promise run (asked at the first lookup; see close-policy.ts). */
  readonly quick: () => boolean;
  /** The path the caller asked for (errors name it). */
  readonly target: string;
  readonly uid: number;
  /** Create missing directories (the `mkdir` option). */
  readonly mkdir: boolean;
  hops: number;
  /** Directories made, top-down: their parents are fsynced for `'full'` durability. */
  readonly made: string[];
}

/** `p`'s components (no empty ones). */
function partsOf(p: string): string[] {
  return p
    .slice(parse(p).root.length)
    .split(sep === '\\' ? /[\\/]/ : sep)
    .filter((x) => x !== ''); // win32: no drive, either slash
}

/** `near`'s answer to {@link quickCallsSyncIn}, asked once, when first needed (never by a synchronous run). */
function quickIn(b: Backend, near: string): () => boolean {
  let known: boolean | undefined;
  return () => (known ??= quickCallsSyncIn(b, near));
}

/** lstat(2): the FileStat, or undefined for ENOENT. */
function lstatStep(w: Walk, path: string): Protocol<FileStat | undefined> {
  return call(
    () => lstatOrUndefined(w.b, path),
    () =>
      w.quick()
        ? Promise.resolve(lstatOrUndefined(w.b, path))
        : w.b.lstat(path).catch((e: unknown) => {
            if (hasCode(e, 'ENOENT')) return undefined;
            throw e;
          }),
  );
}

/** readlink(2). */
function readlinkStep(w: Walk, path: string): Protocol<string> {
  return call(
    () => w.b.readlinkSync(path),
    () => (w.quick() ? Promise.resolve(w.b.readlinkSync(path)) : w.b.readlink(path)),
  );
}

/** mkdir(2) with 0o777 (less the umask): true if made, false on EEXIST. */
function mkdirStep(w: Walk, path: string): Protocol<boolean> {
  return call(
    () => mkdirSyncOrExists(w.b, path),
    () =>
      w.b.mkdir(path, 0o777).then(
        () => true,
        (e: unknown) => {
          if (hasCode(e, 'EEXIST')) return false;
          throw e;
        },
      ),
  );
}

/**
 * Checks the link `link` (its lstat `st`) in the directory `dir` against the rule, counts the hop, and
 * returns its content. Throws EACCES for a link the rule does not follow, ELOOP after 40 links.
 */
function* followStep(w: Walk, link: string, st: FileStat, dir: WalkedDir, finalComponent: boolean): Protocol<string> {
  const dirSt = dir.st ?? (yield* lstatStep(w, dir.path));
  if (dirSt !== undefined && !ownerTrusted(st.uid, dirSt, w.uid))
    throw untrustedLinkError(w.target, link, st, dirSt, finalComponent);
  if (++w.hops > MAX_LINKS) tooManyLinks(w.target);
  return yield* readlinkStep(w, link);
}

/**
 * Walks the components `parts` from `root`, as the kernel's path walk would but in user space: `.` and
 * `..` (from a link's content) against the link-free directory reached so far; each symlink judged
 * ({@link followStep}) and followed, its content walked in place of it; a missing directory created when
 * `mkdir` (an entry that appears meanwhile is looked at again); anything but a directory ENOTDIR.
 * Returns the directory reached: missing (st undefined) when a component does not exist and is not
 * to be created — the path then holds the rest of the components unresolved.
 */
function* walkDir(w: Walk, root: string, parts: string[]): Protocol<WalkedDir> {
  let cur: WalkedDir = { path: root, st: undefined, missing: false }; // st: only needed under a link
  let rest = parts;
  let lookAgain = 0;
  while (rest.length > 0) {
    const name = rest[0] as string;
    rest = rest.slice(1);
    if (name === '.') continue;
    if (name === '..') {
      cur = { path: dirname(cur.path), st: undefined, missing: false };
      continue;
    }
    const next = join(cur.path, name);
    const st = yield* lstatStep(w, next);
    if (st === undefined) {
      if (!w.mkdir) return { path: join(next, ...rest), st: undefined, missing: true };
      if (++lookAgain > MAX_LOOK_AGAIN)
        throw atomicError({
          code: 'ENOENT',
          syscall: 'mkdir',
          path: w.target,
          detail: `'${next}' kept disappearing after it was created`,
        });
      if (yield* mkdirStep(w, next)) w.made.push(next);
      rest = [name, ...rest]; // look again: ours, or whatever appeared there meanwhile
      continue;
    }
    if (st.isSymbolicLink()) {
      const content = yield* followStep(w, next, st, cur, false);
      const from = parse(content);
      if (from.root !== '') cur = { path: from.root, st: undefined, missing: false };
      rest = [...partsOf(content), ...rest];
      continue;
    }
    if (!st.isDirectory())
      throw atomicError({ code: 'ENOTDIR', syscall: 'open', path: w.target, detail: `'${next}' is not a directory` });
    cur = { path: next, st, missing: false };
  }
  return cur;
}

/**
 * The steps of {@link resolveTargetSync}: the directory part walked ({@link walkDir}), then the final
 * component: a symlink is judged and followed (its content walked in turn) unless `replaceSymlink`; one
 * the rule does not follow is EACCES, or the target itself with `untrustedSymlink: 'replace'`. `id`:
 * who acts (see {@link planTarget}).
 */
export function* targetSteps(abs: string, s: Settings, id: Identity = identityOf(s.backend)): Protocol<Target> {
  const w: Walk = {
    b: s.backend,
    quick: quickIn(s.backend, dirname(abs)),
    target: abs,
    uid: id.uid,
    mkdir: s.mkdir,
    hops: 0,
    made: [],
  };
  let root = parse(abs).root;
  let parts = partsOf(abs);
  for (;;) {
    const base = parts.pop();
    const dir = yield* walkDir(w, root, parts);
    if (base === undefined || base === '.' || base === '..')
      throw atomicError({ code: 'EISDIR', syscall: 'open', path: abs, detail: 'the target is a directory' });
    const path = join(dir.path, base);
    if (dir.missing) return planTarget(path, undefined, s, id);
    const st = yield* lstatStep(w, path);
    yield* syncMade(w, s.durability);
    if (st?.isSymbolicLink() !== true || s.replaceSymlink) return planTarget(path, st, s, id);
    const dirSt = dir.st ?? (yield* lstatStep(w, dir.path));
    if (dirSt !== undefined && !ownerTrusted(st.uid, dirSt, w.uid) && s.untrustedSymlink === 'replace')
      return planTarget(path, st, s, id);
    const content = yield* followStep(w, path, st, { path: dir.path, st: dirSt, missing: false }, true);
    const from = parse(content);
    root = from.root === '' ? dir.path : from.root;
    parts = partsOf(content);
  }
}

/** For `'full'` durability: the parent of each directory the walk made is fsynced (its new entry). */
function* syncMade(w: Walk, durability: Durability): Protocol<void> {
  if (durability === 'full') {
    for (const d of w.made.splice(0)) {
      const dir = dirname(d);
      yield* call(
        () => {
          fsyncDirSync(w.b, dir);
        },
        () => syncDir(w.b, dir),
      );
    }
  } else w.made.length = 0;
}

/**
 * The steps of making the directory `dir` exist (the `mkdir` option, `mkdir -p`), every link on the way
 * judged as for a write: returns its link-free path. Errors name `target` (default: `dir`).
 */
export function* dirSteps(
  dir: string,
  s: { readonly backend: Backend; readonly durability: Durability },
  mkdir: boolean,
  target = dir,
): Protocol<WalkedDir> {
  const w: Walk = {
    b: s.backend,
    quick: quickIn(s.backend, dir),
    target,
    uid: identityOf(s.backend).uid,
    mkdir,
    hops: 0,
    made: [],
  };
  const reached = yield* walkDir(w, parse(dir).root, partsOf(dir));
  yield* syncMade(w, s.durability);
  return reached;
}

function lstatOrUndefined(b: Backend, path: string): FileStat | undefined {
  try {
    return b.lstatSync(path);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
    throw e;
  }
}

function mkdirSyncOrExists(b: Backend, path: string): boolean {
  try {
    b.mkdirSync(path, 0o777);
    return true;
  } catch (e) {
    if (hasCode(e, 'EEXIST')) return false;
    throw e;
  }
}

/**
 * Resolves the absolute path `abs` (see the module): every symlink on it judged by the
 * fs.protected_symlinks rule and followed (ELOOP after 40), or EACCES; the final one replaced instead
 * with `replaceSymlink`, or with `untrustedSymlink: 'replace'` when the rule would not follow it; missing
 * directories created with `mkdir`. Then: a directory is EISDIR, anything else that is not a regular
 * file EINVAL; a missing file is fine (and so, without `mkdir`, is a missing parent: the temp file's
 * create finds that out). Mode: `mode`, or the existing file's permission bits, or 0o666 less the umask.
 * Owner: `chown`, or, as root, the existing file's (only when it differs from root's own).
 */
export function resolveTargetSync(abs: string, s: Settings): Target {
  return runSync(targetSteps(abs, s));
}

/** Promise form of {@link resolveTargetSync}. */
export function resolveTarget(abs: string, s: Settings): Promise<Target> {
  return runAsync(targetSteps(abs, s));
}
