/**
 * open + close of an existing small file: the cost of the descriptor bookkeeping (table entry, open
 * file description, budget, leak tracking, open/close sites) on top of open(2) + close(2).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FileTable, open, openSync } from '../../dist/index.js';
import { cb, type BenchCase, type BenchContext, type Contender, type Group } from '../harness.js';

const RAW_SYNC = 'node:fs openSync+closeSync';
const RAW_CB = 'node:fs open/close callbacks in a Promise';
const RAW_FH = 'node:fs/promises open + FileHandle.close';
const TABLE_AUTO = 'fdkeeper table.openSync+closeSync';
const TABLE_ASYNC = 'fdkeeper table.open+close';

async function smallFile(ctx: BenchContext): Promise<string> {
  return ctx.fixture('small-file', () => {
    const p = path.join(ctx.dir, 'small.txt');
    fs.writeFileSync(p, 'a small file that is opened and closed over and over\n');
    return p;
  });
}

/** A sync contender that opens and closes `iterations` times with the given pair of calls. */
function syncPair(name: string, openClose: () => void, short?: string): Contender {
  return {
    name,
    ...(short === undefined ? {} : { short }),
    run(n) {
      for (let i = 0; i < n; i++) openClose();
      return n;
    },
  };
}

function asyncPair(name: string, openClose: () => Promise<void>, short?: string): Contender {
  return {
    name,
    ...(short === undefined ? {} : { short }),
    async run(n) {
      for (let i = 0; i < n; i++) await openClose();
      return n;
    },
  };
}

export const openClose: BenchCase = {
  name: 'open-close',
  groupIds: ['open-close-sync', 'open-close-promise'],
  async groups(ctx) {
    const p = await smallFile(ctx);
    // Tables made here use default options unless named otherwise: leak tracking on, sites 'auto'
    // (FDKEEPER_OPEN_SITES unset; run.ts warns if it is set).
    const auto = new FileTable();
    const always = new FileTable({ openSites: 'always' });
    const never = new FileTable({ openSites: 'never' });
    const descTable = new FileTable();
    const asyncTable = new FileTable();

    const sync: Group = {
      id: 'open-close-sync',
      title: '1a. open + close an existing small file (sync)',
      about: `One op = open the same existing ${fs.statSync(p).size}-byte file read-only and close it again. fdkeeper tables have default options (leak tracking on, open sites 'auto': recorded only while ≥ 32 descriptors are open) unless the row says otherwise. The io-layer row (\`openSync(p, 'rb', { buffering: 0 })\`) uses the process-wide table.`,
      kind: 'latency',
      baselines: [RAW_SYNC],
      expect: (n) => n,
      contenders: [
        syncPair(
          RAW_SYNC,
          () => {
            fs.closeSync(fs.openSync(p, 'r'));
          },
          'raw',
        ),
        syncPair(TABLE_AUTO, () => {
          auto.closeSync(auto.openSync(p, 'r'));
        }),
        syncPair("fdkeeper table.openSync+closeSync (sites 'always')", () => {
          always.closeSync(always.openSync(p, 'r'));
        }),
        syncPair("fdkeeper table.openSync+closeSync (sites 'never')", () => {
          never.closeSync(never.openSync(p, 'r'));
        }),
        syncPair('fdkeeper openDescriptorSync + Descriptor.closeSync', () => {
          descTable.openDescriptorSync(p, 'r').closeSync();
        }),
        syncPair("fdkeeper openSync(p, 'rb', {buffering: 0}) + closeSync", () => {
          openSync(p, 'rb', { buffering: 0 }).closeSync();
        }),
      ],
      targets: [{ contender: TABLE_AUTO, atMost: 1.25, source: 'issue: open+close with leak tracking on' }],
      notes: [
        "'always' records an open and a close site per descriptor: two V8 stack captures, which is why 'auto' (sites only once 32 descriptors are open) is the default.",
        'the io-layer open also fstat()s the new descriptor (EISDIR check), one more syscall than the raw row.',
      ],
      teardown() {
        for (const t of [auto, always, never, descTable])
          if (t.size !== 0) throw new Error(`open-close-sync: a table still holds ${t.size} descriptors`);
      },
    };

    const promise: Group = {
      id: 'open-close-promise',
      title: '1b. open + close an existing small file (promise)',
      about:
        "One op = await an open of the same small file and await its close, one after the other (no concurrency). The first baseline is node:fs's callback API wrapped in a Promise by hand (the thinnest promise form, and what fdkeeper's OS backend uses); the second is `fs.promises`.",
      kind: 'latency',
      baselines: [RAW_CB, RAW_FH],
      expect: (n) => n,
      contenders: [
        asyncPair(
          RAW_CB,
          async () => {
            await cb.close(await cb.open(p, 'r'));
          },
          'raw cb',
        ),
        asyncPair(
          RAW_FH,
          async () => {
            await (await fsp.open(p, 'r')).close();
          },
          'fs.promises',
        ),
        asyncPair(TABLE_ASYNC, async () => {
          await asyncTable.close(await asyncTable.open(p, 'r'));
        }),
        asyncPair("fdkeeper await open(p, 'rb', {buffering: 0}) + close()", async () => {
          await (await open(p, 'rb', { buffering: 0 })).close();
        }),
      ],
      targets: [{ contender: TABLE_ASYNC, atMost: 1.25, source: 'issue target, applied to the promise form' }],
      teardown() {
        if (asyncTable.size !== 0)
          throw new Error(`open-close-promise: the table still holds ${asyncTable.size} descriptors`);
      },
    };
    return [sync, promise];
  },
};
