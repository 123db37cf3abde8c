/**
 * Per-path coalescing of {@link atomicWrite} calls. At most one write per target path (and backend) is in
 * progress; calls that arrive meanwhile wait, and when it ends only the newest in-memory data waiting is
 * written: the calls it supersedes never pay for a temp file or an fsync of their own.
 *
 * What each promise means: it resolves once its own data, or a newer call's data, is in place with the
 * durability it asked for (a coalesced write uses the strongest durability among its calls); it rejects
 * with the error of the write that was to carry its data. The file ends with the newest call's data.
 *
 * Streamed data (iterables, async iterables, streams) is never superseded and supersedes nothing: such a
 * call is written on its own, in call order.
 *
 * A write counts as in progress until its rename: the next write to the path can start while the
 * directory fsync that makes the previous rename durable is still running (its calls settle when it
 * ends), so one path's writes pipeline with their directory fsyncs.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import type { Prepared } from './data.js';
import { syncDir } from './dir-sync.js';
import { canceled, failedAfterRename } from './errors.js';
import { strongest, type Settings } from './settings.js';
import { replaceOffThread } from './worker-pool.js';
import { fromWire } from './worker-wire.js';
import type { Target } from './resolve-target.js';
import { replaceUpToRename } from './write-protocol.js';
import { runAsync } from '../protocol/run.js';

/** One atomicWrite call. */
interface Call {
  readonly data: Prepared;
  readonly settings: Settings;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  /**
   * `waiting` in the queue; `riding` superseded by a newer call's write in progress; `carrying` its data
   * is being written; `landed` past the rename (too late to abort); `settled`.
   */
  state: 'waiting' | 'riding' | 'carrying' | 'landed' | 'settled';
  /** The abort listener, while there is one. */
  onAbort: (() => void) | undefined;
}

/** One target path's calls. In the map only while some call is not settled. */
interface PathQueue {
  readonly key: string;
  readonly waiting: Call[];
  /** The calls superseded by the write in progress. */
  riding: Call[];
  running: boolean;
  unsettled: number;
}

const queues = new WeakMap<Backend, Map<string, PathQueue>>();

function queuesOf(backend: Backend): Map<string, PathQueue> {
  let m = queues.get(backend);
  if (m === undefined) {
    m = new Map();
    queues.set(backend, m);
  }
  return m;
}

/** Whether any atomicWrite to `key` (an absolute path) on `backend` has not settled yet. */
export function isBusy(backend: Backend, key: string): boolean {
  const q = queues.get(backend)?.get(key);
  return q !== undefined && q.unsettled > 0;
}

function settle(q: PathQueue, map: Map<string, PathQueue>, call: Call, error: unknown, failed: boolean): void {
  if (call.state === 'settled') return;
  call.state = 'settled';
  if (call.onAbort !== undefined) {
    call.settings.signal?.removeEventListener('abort', call.onAbort);
    call.onAbort = undefined;
  }
  q.unsettled--;
  if (q.unsettled === 0 && !q.running && q.waiting.length === 0) map.delete(q.key);
  if (failed) call.reject(error);
  else call.resolve();
}

/** Past the rename an abort is too late: the call no longer listens. */
function land(call: Call): void {
  call.state = 'landed';
  if (call.onAbort !== undefined) {
    call.settings.signal?.removeEventListener('abort', call.onAbort);
    call.onAbort = undefined;
  }
}

/**
 * Queues an atomicWrite of `data` to the absolute path `key` and returns its promise. `settings.signal`
 * is checked by the caller before queueing.
 */
export function enqueueWrite(key: string, data: Prepared, settings: Settings): Promise<void> {
  const map = queuesOf(settings.backend);
  let q = map.get(key);
  if (q === undefined) {
    q = { key, waiting: [], riding: [], running: false, unsettled: 0 };
    map.set(key, q);
  }
  const queue = q;
  return new Promise<void>((resolve, reject) => {
    const call: Call = { data, settings, resolve, reject, state: 'waiting', onAbort: undefined };
    const signal = settings.signal;
    if (signal !== undefined) {
      // Waiting or superseded, the call is simply dropped; carrying, the write itself notices the abort.
      call.onAbort = (): void => {
        if (call.state === 'waiting') {
          const i = queue.waiting.indexOf(call);
          if (i >= 0) queue.waiting.splice(i, 1);
        } else if (call.state === 'riding') {
          queue.riding = queue.riding.filter((c) => c !== call);
        } else return;
        settle(queue, map, call, canceled(key, signal), true);
      };
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    queue.unsettled++;
    queue.waiting.push(call);
    if (!queue.running) void drain(queue, map);
  });
}

/** Runs the queue's writes one after another until nothing waits. Never rejects. */
async function drain(q: PathQueue, map: Map<string, PathQueue>): Promise<void> {
  q.running = true;
  try {
    while (q.waiting.length > 0) await runNext(q, map);
  } finally {
    q.running = false;
    if (q.unsettled === 0 && q.waiting.length === 0) map.delete(q.key);
  }
}

/**
 * Takes the next write off the queue: a streamed call alone, or the run of in-memory calls at the head
 * of the queue, carried by the newest of them. Runs it up to the rename, then settles its calls (after
 * the group-committed directory fsync, for `'full'`) without waiting for that here.
 */
async function runNext(q: PathQueue, map: Map<string, PathQueue>): Promise<void> {
  const head = q.waiting[0] as Call;
  let n = 1;
  if (head.data.kind === 'memory') while (n < q.waiting.length && (q.waiting[n] as Call).data.kind === 'memory') n++;
  const batch = q.waiting.splice(0, n);
  const carrier = batch[batch.length - 1] as Call;
  q.riding = batch.slice(0, -1);
  let durability = carrier.settings.durability;
  let mkdir = carrier.settings.mkdir;
  for (const c of q.riding) {
    c.state = 'riding';
    durability = strongest(durability, c.settings.durability);
    mkdir ||= c.settings.mkdir;
  }
  carrier.state = 'carrying';
  const settings: Settings =
    durability === carrier.settings.durability && mkdir === carrier.settings.mkdir
      ? carrier.settings
      : { ...carrier.settings, durability, mkdir };
  // Off the main thread only with no budget to count against: a worker's temp descriptors are its own.
  if (carrier.data.kind === 'memory' && settings.table.budget.max === Infinity) {
    const off = replaceOffThread(q.key, carrier.data, settings);
    if (off !== undefined) {
      const r = await off;
      const signal = carrier.settings.signal;
      if (r.outcome === 'done') settleAll(q, map, landAll(q, carrier), undefined);
      else if (r.outcome === 'aborted')
        notRenamed(q, map, carrier, canceled(q.key, signal as AbortSignal)); // only a call with a signal can be
      else if (r.outcome === 'failed' && r.renamed) settleAll(q, map, landAll(q, carrier), fromWire(r.error));
      else if (r.outcome === 'failed') notRenamed(q, map, carrier, fromWire(r.error));
      if (r.outcome !== 'handBack') return;
    }
  }
  let target: Target;
  try {
    target = await runAsync(replaceUpToRename(q.key, carrier.data, settings));
  } catch (e) {
    notRenamed(q, map, carrier, e);
    return;
  }
  const calls = landAll(q, carrier);
  if (durability !== 'full') {
    settleAll(q, map, calls, undefined);
    return;
  }
  const path = target.path;
  syncDir(settings.backend, target.dir).then(
    () => {
      settleAll(q, map, calls, undefined);
    },
    (e: unknown) => {
      settleAll(q, map, calls, failedAfterRename(e, path));
    },
  );
}

/**
 * The write carrying `carrier`'s data failed before its rename: the carrier and its riders get the
 * error — unless the carrier was aborted, in which case only it settles and its riders wait again (one
 * of them carries next).
 */
function notRenamed(q: PathQueue, map: Map<string, PathQueue>, carrier: Call, e: unknown): void {
  const riders = q.riding;
  q.riding = [];
  if (carrier.settings.signal?.aborted === true) {
    for (const c of riders) c.state = 'waiting';
    q.waiting.unshift(...riders);
    settle(q, map, carrier, e, true);
    return;
  }
  for (const c of [...riders, carrier]) settle(q, map, c, e, true);
}

/** The write carrying `carrier`'s data is past its rename: it and its riders can no longer be aborted. */
function landAll(q: PathQueue, carrier: Call): Call[] {
  const calls = [...q.riding, carrier];
  q.riding = [];
  for (const c of calls) land(c);
  return calls;
}

/** Settles `calls`: resolved, or rejected with `error` when there is one. */
function settleAll(q: PathQueue, map: Map<string, PathQueue>, calls: readonly Call[], error: unknown): void {
  for (const c of calls) settle(q, map, c, error, error !== undefined);
}
