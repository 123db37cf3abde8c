/**
 * The replace worker: a worker thread that runs whole atomic writes for the main thread, each protocol
 * step a synchronous call (see {@link ./worker-pool.ts} for why). It takes the jobs that are waiting
 * for it in one go (up to {@link BATCH}), replaces each target up to its rename, then fsyncs each
 * directory once for all the `'full'` writes into it, and replies for the batch in one message.
 *
 * Only the common case is done here: a target that is a regular file or nothing yet, in a directory
 * that exists, with a temp name that is free. The path is resolved as on the main thread (every
 * component judged by the fs.protected_symlinks rule: a refused link fails here, with the same error);
 * a symlink followed to another file, a directory to create or a taken temp name is handed back
 * untouched, and the main thread does that write itself.
 *
 * @module
 */
import { dirname } from 'node:path';
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { OsBackend } from '../backend/os-backend.js';
import { runSync } from '../protocol/run.js';
import { FileTable } from '../table/file-table.js';
import { hasCode } from '../errors/fs-error.js';
import { failedAfterRename, failedBeforeRename } from './errors.js';
import { fsyncDirSync } from './dir-sync.js';
import { renameOverSync } from './rename-retry.js';
import { processUmask, type Identity } from './identity.js';
import { targetSteps, type Target } from './resolve-target.js';
import type { Settings } from './settings.js';
import {
  discard,
  removeQuietlySync,
  setMeta,
  syncAndClose,
  TEMP_FLAGS,
  TEMP_MODE,
  writeAll,
  type TempFile,
} from './write-protocol.js';
import { FLAG_ABORTED, FLAG_DATA_READY, toWire, type Job, type Reply } from './worker-wire.js';

/** Jobs taken in one batch at most: a batch's replies wait for its last write and directory fsyncs. */
const BATCH = 16;

const backend = new OsBackend();
/** This thread's own table: its temp descriptors (one at a time) are the documented exception to the main table's budget. */
const table = new FileTable({ backend });

/** Why a job stops early without an error of its own. */
class Stop extends Error {
  constructor(readonly outcome: 'aborted' | 'handBack') {
    super(outcome);
  }
}

/** How long the worker waits for the main thread to copy the data in (it is copying it right now). */
const DATA_WAIT_MS = 30_000;

function aborted(job: Job): boolean {
  return job.flags !== undefined && Atomics.load(new Int32Array(job.flags), FLAG_ABORTED) !== 0;
}

/** The job's data, once the main thread has copied it in (see {@link Job.dataLater}). */
function dataOf(job: Job): Uint8Array {
  if (job.dataLater && job.flags !== undefined) {
    const flags = new Int32Array(job.flags);
    if (Atomics.wait(flags, FLAG_DATA_READY, 0, DATA_WAIT_MS) === 'timed-out')
      throw new Error('the data was not handed over in time');
  }
  return new Uint8Array(job.arena, job.offset, job.length);
}

function settingsFor(job: Job): Settings {
  return {
    table,
    backend,
    durability: job.durability,
    mode: job.mode,
    chown: job.chown,
    encoding: 'utf8',
    mkdir: false,
    replaceSymlink: job.replaceSymlink,
    untrustedSymlink: job.untrustedSymlink,
    signal: undefined,
  };
}

/** Who acts: this process; its umask read here, as it is now (the main thread's where it cannot be). */
function identityFor(job: Job): Identity {
  return {
    uid: process.geteuid?.() ?? -1,
    gid: process.getegid?.() ?? -1,
    get umask() {
      return job.umask ?? processUmask();
    },
  };
}

/** Steps 1–2: resolve and plan; a symlink followed to another file is handed back. */
function planFor(job: Job): Target {
  let target: Target;
  try {
    target = runSync(targetSteps(job.path, settingsFor(job), identityFor(job)));
  } catch (e) {
    throw failedBeforeRename(e, job.path, undefined);
  }
  if (target.path !== job.path) throw new Stop('handBack');
  return target;
}

/** Step 3 with the main thread's temp name: a taken name or a missing directory is handed back. */
function createTemp(job: Job): TempFile {
  try {
    return { path: job.temp, file: table.openDescriptorSync(job.temp, TEMP_FLAGS, TEMP_MODE), removed: false };
  } catch (e) {
    if (hasCode(e, 'EEXIST') || hasCode(e, 'ENOENT')) throw new Stop('handBack');
    removeQuietlySync(backend, job.temp); // as createTempSync: the name was free, so anything there is ours
    throw failedBeforeRename(e, job.path, job.temp);
  }
}

/** Steps 1–5 up to the rename. Returns the reply for a job that did not get that far. */
function replaceUpToRename(job: Job): Reply | undefined {
  let tmp: TempFile | undefined;
  try {
    if (aborted(job)) throw new Stop('aborted');
    const target = planFor(job);
    tmp = createTemp(job);
    runSync(writeAll(tmp.file, dataOf(job)));
    runSync(setMeta(tmp.file, target));
    if (aborted(job)) throw new Stop('aborted');
    runSync(syncAndClose(tmp, job.durability, target.dir));
    if (aborted(job)) throw new Stop('aborted');
    renameOverSync(backend, tmp.path, target.path);
    return undefined;
  } catch (e) {
    if (tmp !== undefined) runSync(discard(backend, tmp));
    if (e instanceof Stop) return { id: job.id, outcome: e.outcome };
    return { id: job.id, outcome: 'failed', renamed: false, error: toWire(failedBeforeRename(e, job.path, tmp?.path)) };
  }
}

/** Runs a batch: each write up to its rename, then one fsync per directory for the `'full'` ones. */
function runBatch(jobs: readonly Job[]): Reply[] {
  const replies: Reply[] = [];
  const toSync = new Map<string, Job[]>();
  for (const job of jobs) {
    const early = replaceUpToRename(job);
    if (early !== undefined) replies.push(early);
    else if (job.durability !== 'full') replies.push({ id: job.id, outcome: 'done' });
    else {
      const dir = dirname(job.path);
      const list = toSync.get(dir);
      if (list === undefined) toSync.set(dir, [job]);
      else list.push(job);
    }
  }
  for (const [dir, list] of toSync) {
    try {
      fsyncDirSync(backend, dir);
      for (const job of list) replies.push({ id: job.id, outcome: 'done' });
    } catch (e) {
      for (const job of list)
        replies.push({ id: job.id, outcome: 'failed', renamed: true, error: toWire(failedAfterRename(e, job.path)) });
    }
  }
  return replies;
}

function serve(port: MessagePort): void {
  port.on('message', (first: Job) => {
    const jobs = [first];
    for (
      let m = receiveMessageOnPort(port);
      m !== undefined;
      m = jobs.length < BATCH ? receiveMessageOnPort(port) : undefined
    )
      jobs.push(m.message as Job);
    port.postMessage(runBatch(jobs));
  });
}

if (parentPort !== null) {
  serve(parentPort);
  // 'online' fires before this module and its imports have loaded; this says they have.
  parentPort.postMessage('ready');
}
