/**
 * Child process for test/budget.test.ts, run under a low `ulimit -n`:
 *
 *   node --import tsx emfile-child.ts <table|table-outside|table-deadline|fs> <file> <count>
 *
 * Starts `count` concurrent opens of `file` and closes each one as soon as it resolves, either through
 * a FileTable with no budget (`table`: EMFILE from the OS must be retried until every open succeeds)
 * or through plain `fs.promises.open` (`fs`: some opens fail with EMFILE). Prints one JSON line.
 *
 * `table-outside` first fills every free descriptor with raw fs.openSync calls, starts the table's
 * opens, and closes the raw descriptors 50 ms after the OS first refuses one: the table sees no
 * release, so only its backoff timer can find the room.
 *
 * `table-deadline` fills every free descriptor and never frees them; the table gives up after
 * `emfileRetryMs` (300 ms): every open must fail with EMFILE, all at about that time.
 */
import fs from 'node:fs';
import { FileTable } from '../../src/table/file-table.js';
import { OsBackend } from '../../src/backend/os-backend.js';
import type { Backend } from '../../src/backend/backend.js';
import { hasCode } from '../../src/errors/fs-error.js';

/** What the child reports. */
export interface ChildResult {
  readonly mode: string;
  readonly limit: string;
  readonly succeeded: number;
  readonly failed: number;
  readonly codes: Record<string, number>;
  /** EMFILE rejections the table's backend saw (and the table retried). */
  readonly emfileFromOs: number;
  readonly maxHeld: number;
  readonly ms: number;
  readonly firstMessage: string | undefined;
}

const [mode = 'table', file = '', countText = '2000'] = process.argv.slice(2);
const count = Number(countText);
const codes: Record<string, number> = {};
let succeeded = 0;
let failed = 0;
let emfileFromOs = 0;
let maxHeld = 0;
const started = Date.now();
/** Raw descriptors filling the process (table-outside, table-deadline). */
const hogs: number[] = [];

/** The message of the first failure. */
let firstMessage: string | undefined;

function failure(e: unknown): void {
  failed++;
  firstMessage ??= e instanceof Error ? e.message : String(e);
  const code = e instanceof Error ? String((e as Error & { code?: unknown }).code) : 'non-error';
  codes[code] = (codes[code] ?? 0) + 1;
}

if (mode === 'table' || mode === 'table-outside' || mode === 'table-deadline') {
  // The OS backend, wrapped only to count the EMFILE rejections the table hides by retrying.
  const os = new OsBackend();
  const backend = new Proxy(os, {
    get(target, prop, receiver): unknown {
      if (prop === 'open') {
        return (path: string, flags: number, m?: number): Promise<number> =>
          target.open(path, flags, m).catch((e: unknown) => {
            if (hasCode(e, 'EMFILE') && emfileFromOs++ === 0 && mode === 'table-outside') {
              // The OS has refused the table: free the room 50 ms later, outside the table (no release).
              setTimeout(() => {
                for (const fd of hogs.splice(0)) fs.closeSync(fd);
              }, 50);
            }
            throw e;
          });
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as Backend;
  const table = new FileTable({ backend, emfileRetryMs: mode === 'table-deadline' ? 300 : undefined });
  if (mode === 'table-outside' || mode === 'table-deadline') {
    for (;;) {
      try {
        hogs.push(fs.openSync(file, 'r'));
      } catch (e) {
        if (!hasCode(e, 'EMFILE')) throw e;
        break;
      }
    }
  }
  await Promise.all(
    Array.from({ length: count }, async () => {
      try {
        const fd = await table.open(file, 'r');
        maxHeld = Math.max(maxHeld, table.heldCount);
        succeeded++;
        await table.close(fd);
      } catch (e) {
        failure(e);
      }
    }),
  );
} else {
  await Promise.all(
    Array.from({ length: count }, async () => {
      try {
        const handle = await fs.promises.open(file, 'r');
        succeeded++;
        await handle.close();
      } catch (e) {
        failure(e);
      }
    }),
  );
}

for (const fd of hogs.splice(0)) fs.closeSync(fd);
const limit =
  fs
    .readFileSync('/proc/self/limits', 'latin1')
    .split('\n')
    .find((l) => l.startsWith('Max open files')) ?? '?';
const result: ChildResult = {
  mode,
  limit,
  succeeded,
  failed,
  codes,
  emfileFromOs,
  maxHeld,
  ms: Date.now() - started,
  firstMessage,
};
process.stdout.write(JSON.stringify(result) + '\n');
