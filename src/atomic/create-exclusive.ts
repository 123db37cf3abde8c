import { basename, dirname, join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { FsError, hasCode, rejected } from '../errors/fs-error.js';
import { INTERVAL_RULE, TIMEOUT_RULE, checkNumber } from '../errors/number-option.js';
import { releaseClaim, tryClaim, type Holder } from './claim.js';
import { prepare, type Prepared } from './data.js';
import { atomicError, canceled, failedBeforeRename, isShaped, sourceFailed, throwIfAborted } from './errors.js';
import { PendingFile } from './pending-file.js';
import { absoluteTarget, dirSteps, planTarget } from './resolve-target.js';
import { settingsOf, type Settings } from './settings.js';
import type { AtomicData, CreateExclusiveOptions, ExclusiveResult } from './types.js';
import { createTemp, discard } from './write-protocol.js';
import { runAsync } from '../protocol/run.js';

/** Default time {@link createExclusive} waits with `wait: true`. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** Default interval between looks with `wait: true`. */
const DEFAULT_POLL_MS = 50;

type Producer = (file: PendingFile) => Promise<void> | void;

function waitLimits(wait: CreateExclusiveOptions['wait']): { timeoutMs: number; pollMs: number } | undefined {
  if (wait === undefined || wait === false) return undefined;
  const limits = wait === true ? {} : wait;
  const timeoutMs = limits.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pollMs = limits.pollMs ?? DEFAULT_POLL_MS;
  checkNumber('wait.timeoutMs', timeoutMs, TIMEOUT_RULE, { syscall: 'open' });
  checkNumber('wait.pollMs', pollMs, INTERVAL_RULE, { syscall: 'open' });
  return { timeoutMs, pollMs };
}

/** Whether something (anything, a dangling symlink too) has the name `path`. */
async function nameExists(backend: Backend, path: string): Promise<boolean> {
  try {
    await backend.lstat(path);
    return true;
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return false;
    throw e;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined, target: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(canceled(target, signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes `data` into the pending file: in-memory chunks, or a stream's chunks as they come. */
async function fill(file: PendingFile, data: Prepared, target: string): Promise<void> {
  if (data.kind === 'memory') {
    for (const c of data.chunks) await file.write(c);
    return;
  }
  const source = data.source as AsyncIterable<unknown>;
  const it =
    Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (source as unknown as Iterable<unknown>)[Symbol.iterator]();
  for (;;) {
    let r: IteratorResult<unknown>;
    try {
      r = await it.next();
    } catch (e) {
      throw sourceFailed(target, e);
    }
    if (r.done === true) return;
    const chunk = r.value;
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      void Promise.resolve(it.return?.()).catch(() => undefined);
      throw new TypeError('atomic write data chunks must be strings or Uint8Arrays');
    }
    try {
      await file.write(chunk);
    } catch (e) {
      void Promise.resolve(it.return?.()).catch(() => undefined);
      throw e;
    }
  }
}

/** With the claim held: writes the file as a temp and links it into place. */
async function produce(key: string, content: Prepared | Producer, s: Settings): Promise<ExclusiveResult> {
  const target = planTarget(key, undefined, s);
  const tmp = await runAsync(createTemp(key, s));
  let file: PendingFile;
  try {
    file = new PendingFile(key, tmp.path, { settings: s, target, tmp, publish: 'link' });
  } catch (e) {
    await runAsync(discard(s.backend, tmp));
    throw e;
  }
  try {
    if (typeof content === 'function') await content(file);
    else await fill(file, content, key);
    if (file.state === 'aborted')
      throw atomicError({ code: 'ECANCELED', syscall: 'link', path: key, detail: 'the producer aborted the file' });
    await file.commit(); // a no-op if the producer committed it
    return { created: true, path: key };
  } catch (e) {
    // EEXIST from the link: the target appeared although the claim was held (someone ignores claims).
    if (e instanceof FsError && e.code === 'EEXIST' && e.syscall === 'link' && isShaped(e))
      return { created: false, path: key, reason: 'exists' };
    throw e;
  } finally {
    await file.abort();
  }
}

function describe(h: Holder): string {
  return `pid ${h.pid === undefined ? '?' : String(h.pid)} on ${h.host ?? '?'}`;
}

/**
 * Creates `path` only if it does not exist, fully written before it becomes visible: when several
 * processes (or several calls in one process) race to produce one file, exactly one creates it and the
 * others learn that it exists or is being produced.
 *
 * - If something already has the name: `{ created: false, reason: 'exists' }`.
 * - Otherwise the caller claims the production with a claim file `.${name}.fdkeeper-claim` (pid and
 *   host inside). A claim whose process is dead on this host is stale and taken over. If another live
 *   producer holds the claim: `{ created: false, reason: 'in-progress' }`, or with `wait`, poll (every
 *   `pollMs`, default 50) until the file exists (`'exists'`) or the claim goes away (then claim it),
 *   failing with ETIMEDOUT after `timeoutMs` (default 60 s).
 * - With the claim: the content (data, or a function that fills the given {@link PendingFile}) is written
 *   to a temp file, fsynced per `durability`, and hard-linked to `path` (link(2) never replaces a file);
 *   for `'full'` the directory is fsynced; then the temp name and the claim are removed. Result
 *   `{ created: true }`. The claim is removed on failure too.
 *
 * Errors are {@link FsError}s (the target is never left partial); `signal` aborts with ECANCELED.
 */
export function createExclusive(
  path: string,
  content: AtomicData | ((file: PendingFile) => Promise<void> | void),
  options: CreateExclusiveOptions = {},
): Promise<ExclusiveResult> {
  let key: string;
  let s: Settings;
  let wait: { timeoutMs: number; pollMs: number } | undefined;
  let what: Prepared | Producer;
  try {
    key = absoluteTarget(path);
    s = settingsOf({ ...options, replaceSymlink: true });
    wait = waitLimits(options.wait);
    what = typeof content === 'function' ? content : prepare(content, s.encoding);
  } catch (e) {
    return rejected(e);
  }
  return run(key, what, s, wait);
}

/**
 * `key` with its directory part resolved (every symlink on it judged as for a write, see
 * resolve-target.ts; missing directories made for `mkdir`): the claim, the temp file and the link all
 * go into that directory. The final component is never followed: anything there means `'exists'`.
 */
async function resolveKey(key: string, s: Settings): Promise<string> {
  const dir = dirname(key);
  try {
    const reached = await runAsync(dirSteps(dir, s, s.mkdir, key));
    return join(reached.path, basename(key));
  } catch (e) {
    throw failedBeforeRename(e, key, undefined);
  }
}

async function run(
  key: string,
  what: Prepared | Producer,
  s: Settings,
  wait: { timeoutMs: number; pollMs: number } | undefined,
): Promise<ExclusiveResult> {
  const real = await resolveKey(key, s);
  const r = await runAt(real, what, s, wait);
  return { ...r, path: key };
}

async function runAt(
  key: string,
  what: Prepared | Producer,
  s: Settings,
  wait: { timeoutMs: number; pollMs: number } | undefined,
): Promise<ExclusiveResult> {
  const b = s.backend;
  const deadline = wait === undefined ? 0 : Date.now() + wait.timeoutMs;
  for (;;) {
    throwIfAborted(s.signal, key);
    if (await nameExists(b, key)) return { created: false, path: key, reason: 'exists' };
    const r = await tryClaim(key, s);
    // Something another user put at the claim's name: produced without a claim (link(2) decides).
    if ('stepAround' in r) return await produce(key, what, s);
    if ('claim' in r) {
      try {
        // Someone may have finished (and dropped the claim) between the look above and the claim.
        if (await nameExists(b, key)) return { created: false, path: key, reason: 'exists' };
        throwIfAborted(s.signal, key);
        return await produce(key, what, s);
      } finally {
        await releaseClaim(b, r.claim);
      }
    }
    if (wait === undefined) return { created: false, path: key, reason: 'in-progress' };
    const left = deadline - Date.now();
    if (left <= 0)
      throw atomicError({
        code: 'ETIMEDOUT',
        syscall: 'open',
        path: key,
        detail: `waited ${wait.timeoutMs} ms for the producer (${describe(r.holder)}) to finish`,
      });
    await sleep(Math.min(wait.pollMs, left), s.signal, key);
  }
}
