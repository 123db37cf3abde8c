/**
 * Child process for test/atomic-errors.test.ts:
 *
 *   node --import tsx /abs/path/atomic-child.ts '<ChildPlan as JSON>'
 *
 * Optionally drops its privileges first (setgroups([]), setgid, setuid: what an unprivileged user
 * meets), then runs each operation of the plan against the real file system, optionally with the
 * descriptor table filled up to `leaveFree` free numbers (run it under a low `ulimit -n`), and prints
 * one JSON line: a {@link ChildReport} with what each operation did and what it left behind.
 */
import fs from 'node:fs';
import { dirname } from 'node:path';
import { atomicWrite, atomicWriteSync } from '../../src/atomic/atomic-write.js';
import { atomicCreate } from '../../src/atomic/pending-file.js';
import { createExclusive } from '../../src/atomic/create-exclusive.js';
import { FsError, hasCode } from '../../src/errors/fs-error.js';
import { FileTable } from '../../src/table/file-table.js';
import { openFds } from './proc-fds.js';

/** One operation for the child to run. */
export interface ChildOp {
  readonly kind: 'atomicWrite' | 'atomicWriteSync' | 'createExclusive' | 'atomicCreateCommit';
  readonly target: string;
  readonly data: string;
  /** Fill the descriptor table first so that exactly this many numbers are free (freed again after). */
  readonly leaveFree?: number;
  /**
   * Write through a `new FileTable({ emfileRetryMs })` of the child's own: how long a promise-form open
   * refused with EMFILE waits for a descriptor to be closed (the process table's default is 60 s).
   */
  readonly emfileRetryMs?: number;
}

/** What the child is asked to do. */
export interface ChildPlan {
  /** Become this uid and gid (and no supplementary groups) before any operation. */
  readonly dropTo?: number;
  readonly ops: readonly ChildOp[];
}

/** An error as the child saw it. */
export interface ErrorInfo {
  readonly name: string;
  readonly isFsError: boolean;
  readonly code: string | undefined;
  readonly path: string | undefined;
  readonly syscall: string | undefined;
  readonly detail: string | undefined;
  readonly message: string;
}

/** What one operation did. */
export interface OpOutcome {
  readonly kind: ChildOp['kind'];
  readonly leaveFree: number | undefined;
  /** Free descriptor numbers when the operation started (checked by opening until EMFILE). */
  readonly freeAtCall: number | undefined;
  readonly ok: boolean;
  readonly value: unknown;
  readonly error: ErrorInfo | undefined;
  /** The target afterwards (null when it does not exist). */
  readonly content: string | null;
  readonly ino: number | null;
  readonly mode: number | null;
  readonly uid: number | null;
  readonly mtimeMs: number | null;
  /** The names in the target's directory afterwards. */
  readonly dirNames: string[] | null;
  /** Open descriptors before filling the table and after freeing it again. */
  readonly fdsBefore: number[];
  readonly fdsAfter: number[];
  readonly ms: number;
}

/** What the child prints. */
export interface ChildReport {
  readonly uid: number;
  readonly gid: number;
  readonly groups: number[];
  /** The `Max open files` line of /proc/self/limits. */
  readonly limit: string;
  readonly outcomes: OpOutcome[];
}

function info(e: unknown): ErrorInfo {
  if (!(e instanceof Error))
    return {
      name: typeof e,
      isFsError: false,
      code: undefined,
      path: undefined,
      syscall: undefined,
      detail: undefined,
      message: String(e),
    };
  const x = e as Error & { code?: unknown; path?: unknown; syscall?: unknown; detail?: unknown };
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    name: e.name,
    isFsError: e instanceof FsError,
    code: str(x.code),
    path: str(x.path),
    syscall: str(x.syscall),
    detail: str(x.detail),
    message: e.message,
  };
}

/** Opens /dev/null until EMFILE, then closes `leave` of them; returns the held descriptors. */
function fill(leave: number): number[] {
  const hogs: number[] = [];
  for (;;) {
    try {
      hogs.push(fs.openSync('/dev/null', 'r'));
    } catch (e) {
      if (!hasCode(e, 'EMFILE')) throw e;
      break;
    }
  }
  for (let i = 0; i < leave; i++) {
    const fd = hogs.pop();
    if (fd !== undefined) fs.closeSync(fd);
  }
  return hogs;
}

async function runOp(op: ChildOp): Promise<OpOutcome> {
  const fdsBefore = openFds();
  let hogs: number[] = [];
  let freeAtCall: number | undefined;
  let ok = false;
  let value: unknown;
  let error: ErrorInfo | undefined;
  const started = Date.now();
  try {
    if (op.leaveFree !== undefined) {
      hogs = fill(op.leaveFree);
      // Count the free numbers without disturbing them: fill the rest, count, free them again.
      const extra = fill(0);
      freeAtCall = extra.length;
      for (const fd of extra) fs.closeSync(fd);
    }
    switch (op.kind) {
      case 'atomicWrite':
        await atomicWrite(
          op.target,
          op.data,
          op.emfileRetryMs === undefined ? {} : { table: new FileTable({ emfileRetryMs: op.emfileRetryMs }) },
        );
        break;
      case 'atomicWriteSync':
        atomicWriteSync(op.target, op.data);
        break;
      case 'createExclusive':
        value = await createExclusive(op.target, op.data);
        break;
      case 'atomicCreateCommit': {
        const f = await atomicCreate(op.target);
        try {
          await f.write(op.data);
          await f.commit();
        } finally {
          await f.abort();
        }
        break;
      }
    }
    ok = true;
  } catch (e) {
    error = info(e);
  } finally {
    for (const fd of hogs) fs.closeSync(fd);
  }
  const ms = Date.now() - started;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(op.target);
  } catch {
    st = undefined;
  }
  let content: string | null = null;
  try {
    content = fs.readFileSync(op.target, 'utf8');
  } catch {
    content = null;
  }
  let dirNames: string[] | null = null;
  try {
    dirNames = fs.readdirSync(dirname(op.target)).sort();
  } catch {
    dirNames = null;
  }
  return {
    kind: op.kind,
    leaveFree: op.leaveFree,
    freeAtCall,
    ok,
    value,
    error,
    content,
    ino: st?.ino ?? null,
    mode: st === undefined ? null : st.mode & 0o7777,
    uid: st?.uid ?? null,
    mtimeMs: st?.mtimeMs ?? null,
    dirNames,
    fdsBefore,
    fdsAfter: openFds(),
    ms,
  };
}

const plan = JSON.parse(process.argv[2] ?? '{"ops":[]}') as ChildPlan;
if (plan.dropTo !== undefined) {
  // Everything is imported by now (static imports), so the files need not be readable by the new user.
  process.setgroups?.([]);
  process.setgid?.(plan.dropTo);
  process.setuid?.(plan.dropTo);
}
const limit =
  fs
    .readFileSync('/proc/self/limits', 'latin1')
    .split('\n')
    .find((l) => l.startsWith('Max open files')) ?? '?';
const outcomes: OpOutcome[] = [];
for (const op of plan.ops) outcomes.push(await runOp(op));
const report: ChildReport = {
  uid: process.getuid?.() ?? -1,
  gid: process.getgid?.() ?? -1,
  groups: process.getgroups?.() ?? [],
  limit,
  outcomes,
};
process.stdout.write(JSON.stringify(report) + '\n');
