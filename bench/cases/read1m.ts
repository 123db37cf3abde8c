/**
 * Bulk sequential reads in 1 MiB chunks: with large transfers the per-call overhead should vanish into
 * the copy; this group checks nothing in fdkeeper scales with the byte count.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { openSync, type RawFile } from '../../dist/index.js';
import { cb, writePatternFile, type BenchCase, type Contender, type Group } from '../harness.js';

const CHUNK = 1 << 20;
const RAW_SYNC = 'node:fs readSync';
const RAW_CB = 'node:fs read callback in a Promise';
const RAW_FH = 'node:fs/promises FileHandle.read';

export const read1m: BenchCase = {
  name: 'read1m',
  groupIds: ['read1m-sync', 'read1m-promise'],
  async groups(ctx) {
    const size = ctx.quick ? 16 << 20 : 64 << 20;
    const p = await ctx.fixture(`big-file-${size}`, () => {
      const file = path.join(ctx.dir, `read-${size >> 20}m.bin`);
      writePatternFile(file, size);
      return file;
    });
    const mib = size >> 20;
    const chunkBuf = Buffer.alloc(CHUNK);

    let fd = -1;
    let file: RawFile | undefined;
    let handle: fsp.FileHandle | undefined;
    const rawOpen = {
      setup() {
        fd = fs.openSync(p, 'r');
      },
      teardown() {
        fs.closeSync(fd);
      },
    };
    const fdkOpen = {
      setup() {
        file = openSync(p, 'rb', { buffering: 0 });
      },
      teardown() {
        file?.closeSync();
      },
    };
    const fdk = (): RawFile => {
      if (file === undefined) throw new Error('used before setup');
      return file;
    };

    const rawSync: Contender = {
      name: RAW_SYNC,
      short: 'raw',
      ...rawOpen,
      run(n) {
        let total = 0;
        for (let i = 0; i < n; i++) {
          let pos = 0;
          for (;;) {
            const got = fs.readSync(fd, chunkBuf, 0, CHUNK, pos);
            if (got === 0) break;
            pos += got;
          }
          total += pos;
        }
        return total;
      },
    };
    const fdkSync: Contender = {
      name: 'fdkeeper RawFile.readintoSync',
      ...fdkOpen,
      run(n) {
        const f = fdk();
        let total = 0;
        for (let i = 0; i < n; i++) {
          f.seekSync(0);
          for (;;) {
            const got = f.readintoSync(chunkBuf);
            if (got === 0) break;
            total += got;
          }
        }
        return total;
      },
    };

    const sync: Group = {
      id: 'read1m-sync',
      title: `3a. sequential read of a ${mib} MiB file in 1 MiB chunks (sync)`,
      about: `One op = read the whole ${mib} MiB file (page cache) from offset 0 to end of file in 1 MiB reads, including the final 0-byte read.`,
      kind: 'throughput',
      bytesPerOp: size,
      baselines: [RAW_SYNC],
      expect: (n) => n * size,
      contenders: [rawSync, fdkSync],
    };

    const promise: Group = {
      id: 'read1m-promise',
      title: `3b. sequential read of a ${mib} MiB file in 1 MiB chunks (promise)`,
      about: 'As 3a, awaiting each 1 MiB read in turn.',
      kind: 'throughput',
      bytesPerOp: size,
      baselines: [RAW_CB, RAW_FH],
      expect: (n) => n * size,
      contenders: [
        {
          name: RAW_CB,
          short: 'raw cb',
          ...rawOpen,
          async run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) {
              let pos = 0;
              for (;;) {
                const got = await cb.read(fd, chunkBuf, 0, CHUNK, pos);
                if (got === 0) break;
                pos += got;
              }
              total += pos;
            }
            return total;
          },
        },
        {
          name: RAW_FH,
          short: 'fs.promises',
          async setup() {
            handle = await fsp.open(p, 'r');
          },
          async teardown() {
            await handle?.close();
          },
          async run(n) {
            const h = handle;
            if (h === undefined) throw new Error('used before setup');
            let total = 0;
            for (let i = 0; i < n; i++) {
              let pos = 0;
              for (;;) {
                const got = (await h.read(chunkBuf, 0, CHUNK, pos)).bytesRead;
                if (got === 0) break;
                pos += got;
              }
              total += pos;
            }
            return total;
          },
        },
        {
          name: 'fdkeeper RawFile.readinto',
          ...fdkOpen,
          async run(n) {
            const f = fdk();
            let total = 0;
            for (let i = 0; i < n; i++) {
              f.seekSync(0);
              for (;;) {
                const got = await f.readinto(chunkBuf);
                if (got === 0) break;
                total += got;
              }
            }
            return total;
          },
        },
      ],
    };
    return [sync, promise];
  },
};
