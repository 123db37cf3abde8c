/**
 * 4 KiB reads and writes on an open descriptor: the per-call cost of fdkeeper's checks (closed?
 * revoked? readable?), its own offset keeping and error wrapping, on top of one pread/pwrite.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FileTable, openSync, type Descriptor, type RawFile } from '../../dist/index.js';
import { cb, writePatternFile, type BenchCase, type BenchContext, type Group } from '../harness.js';

const BLOCK = 4096;
const READ_FILE_SIZE = 1 << 20;

const RAW_SYNC = 'node:fs readSync';
const RAW_WSYNC = 'node:fs writeSync';
const RAW_CB = 'node:fs read callback in a Promise';
const RAW_WCB = 'node:fs write callback in a Promise';
const RAW_FH = 'node:fs/promises FileHandle.read';
const RAW_WFH = 'node:fs/promises FileHandle.write';

async function readFixture(ctx: BenchContext): Promise<string> {
  return ctx.fixture('1m-file', () => {
    const p = path.join(ctx.dir, 'read-1m.bin');
    writePatternFile(p, READ_FILE_SIZE);
    return p;
  });
}

/** Opens with `open` at setup and closes with `close` at teardown; `get` throws if used outside. */
function held<T>(
  open: () => T | Promise<T>,
  close: (x: T) => void | Promise<void>,
): { setup: () => Promise<void>; teardown: () => Promise<void>; get: () => T } {
  let value: T | undefined;
  return {
    setup: async () => {
      value = await open();
    },
    teardown: async () => {
      if (value !== undefined) await close(value);
      value = undefined;
    },
    get: () => {
      if (value === undefined) throw new Error('used before setup');
      return value;
    },
  };
}

export const rw4k: BenchCase = {
  name: 'rw4k',
  groupIds: [
    'pread4k-sync',
    'seqread4k-sync',
    'seqwrite4k-sync',
    'pread4k-promise',
    'seqread4k-promise',
    'seqwrite4k-promise',
  ],
  async groups(ctx) {
    const p = await readFixture(ctx);
    const wrap = ctx.quick ? 4 << 20 : 16 << 20; // sequential writes start over at 0 past this
    const perPass = READ_FILE_SIZE / BLOCK; // sequential reads start over at 0 after this many
    const table = new FileTable();
    const wfile = (name: string): string => path.join(ctx.dir, `write-${name}.bin`);
    const buf = (): Buffer => Buffer.alloc(BLOCK, 0x61);
    const expectBytes = (n: number): number => n * BLOCK;

    // ------------------------------------------------------------ sync reads
    const rawFd = held(
      () => fs.openSync(p, 'r'),
      (fd) => {
        fs.closeSync(fd);
      },
    );
    const desc = held(
      () => table.openDescriptorSync(p, 'r'),
      (d) => {
        d.closeSync();
      },
    );
    const num = held(
      () => table.openSync(p, 'r'),
      (fd) => {
        table.closeSync(fd);
      },
    );
    const rawFile = held(
      (): RawFile => openSync(p, 'rb', { buffering: 0 }),
      (f) => {
        f.closeSync();
      },
    );

    const preadSync: Group = {
      id: 'pread4k-sync',
      title: '2a. 4 KiB pread at offset 0 of a 1 MiB file (sync)',
      about: 'One op = read 4 KiB at position 0 from an already open descriptor (pread(2) from the page cache).',
      kind: 'latency',
      bytesPerOp: BLOCK,
      baselines: [RAW_SYNC],
      expect: expectBytes,
      contenders: [
        {
          name: RAW_SYNC,
          short: 'raw',
          setup: rawFd.setup,
          teardown: rawFd.teardown,
          run(n) {
            const fd = rawFd.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) total += fs.readSync(fd, b, 0, BLOCK, 0);
            return total;
          },
        },
        {
          name: 'fdkeeper Descriptor.readSync(b, 0, 4096, 0)',
          setup: desc.setup,
          teardown: desc.teardown,
          run(n) {
            const d = desc.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) total += d.readSync(b, 0, BLOCK, 0);
            return total;
          },
        },
        {
          name: 'fdkeeper table.readSync(fd, b, 0, 4096, 0)',
          setup: num.setup,
          teardown: num.teardown,
          run(n) {
            const fd = num.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) total += table.readSync(fd, b, 0, BLOCK, 0);
            return total;
          },
        },
      ],
      targets: [
        { contender: 'fdkeeper Descriptor.readSync(b, 0, 4096, 0)', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper table.readSync(fd, b, 0, 4096, 0)', atMost: 1.05, source: 'issue' },
      ],
    };

    // Sequential: everyone walks the 1 MiB file in 4 KiB steps and starts over at 0 after the last block,
    // with no extra syscall (node:fs by its explicit position, fdkeeper by seek(0), which is bookkeeping).
    let rawPos = 0;
    let k1 = 0;
    let k2 = 0;
    let k3 = 0;
    const seqReadSync: Group = {
      id: 'seqread4k-sync',
      title: '2b. 4 KiB sequential reads of a 1 MiB file (sync)',
      about:
        'One op = read the next 4 KiB. node:fs passes the running position explicitly (pread); fdkeeper reads at the offset it keeps (also a pread) and seeks back to 0 after the last block.',
      kind: 'latency',
      bytesPerOp: BLOCK,
      baselines: [RAW_SYNC],
      expect: expectBytes,
      contenders: [
        {
          name: RAW_SYNC,
          short: 'raw',
          setup: rawFd.setup,
          teardown: rawFd.teardown,
          beforeSample() {
            rawPos = 0;
          },
          run(n) {
            const fd = rawFd.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              const got = fs.readSync(fd, b, 0, BLOCK, rawPos);
              total += got;
              rawPos += got;
              if (rawPos === READ_FILE_SIZE) rawPos = 0;
            }
            return total;
          },
        },
        {
          name: 'fdkeeper RawFile.readintoSync',
          setup: rawFile.setup,
          teardown: rawFile.teardown,
          beforeSample() {
            rawFile.get().seekSync(0);
            k1 = 0;
          },
          run(n) {
            const f = rawFile.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += f.readintoSync(b);
              if (++k1 === perPass) {
                k1 = 0;
                f.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'fdkeeper Descriptor.readSync(b)',
          setup: desc.setup,
          teardown: desc.teardown,
          beforeSample() {
            desc.get().seekSync(0);
            k2 = 0;
          },
          run(n) {
            const d = desc.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += d.readSync(b);
              if (++k2 === perPass) {
                k2 = 0;
                d.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'fdkeeper table.readSync(fd, b)',
          setup: num.setup,
          teardown: num.teardown,
          beforeSample() {
            table.seekSync(num.get(), 0);
            k3 = 0;
          },
          run(n) {
            const fd = num.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += table.readSync(fd, b);
              if (++k3 === perPass) {
                k3 = 0;
                table.seekSync(fd, 0);
              }
            }
            return total;
          },
        },
      ],
      targets: [
        { contender: 'fdkeeper RawFile.readintoSync', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper Descriptor.readSync(b)', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper table.readSync(fd, b)', atMost: 1.05, source: 'issue' },
      ],
    };

    // ------------------------------------------------------------ sync writes
    const wRaw = held(
      () => fs.openSync(wfile('raw'), 'w'),
      (fd) => {
        fs.closeSync(fd);
      },
    );
    const wRawFile = held(
      (): RawFile => openSync(wfile('rawfile'), 'wb', { buffering: 0 }),
      (f) => {
        f.closeSync();
      },
    );
    const wDesc = held(
      (): Descriptor => table.openDescriptorSync(wfile('desc'), 'w'),
      (d) => {
        d.closeSync();
      },
    );
    const wNum = held(
      () => table.openSync(wfile('num'), 'w'),
      (fd) => {
        table.closeSync(fd);
      },
    );
    let wPos = 0;
    const seqWriteSync: Group = {
      id: 'seqwrite4k-sync',
      title: '2c. 4 KiB sequential writes (sync)',
      about: `One op = write the next 4 KiB. Each file is truncated to 0 before every sample; writes run sequentially and start over at offset 0 every ${wrap >> 20} MiB (so a sample does not dirty hundreds of MB). node:fs passes the running position (pwrite); fdkeeper writes at the offset it keeps (also a pwrite).`,
      kind: 'latency',
      bytesPerOp: BLOCK,
      baselines: [RAW_WSYNC],
      expect: expectBytes,
      contenders: [
        {
          name: RAW_WSYNC,
          short: 'raw',
          setup: wRaw.setup,
          teardown: wRaw.teardown,
          beforeSample() {
            fs.ftruncateSync(wRaw.get(), 0);
            wPos = 0;
          },
          run(n) {
            const fd = wRaw.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              const put = fs.writeSync(fd, b, 0, BLOCK, wPos);
              total += put;
              wPos += put;
              if (wPos === wrap) wPos = 0;
            }
            return total;
          },
        },
        {
          name: 'fdkeeper RawFile.writeSync',
          setup: wRawFile.setup,
          teardown: wRawFile.teardown,
          beforeSample() {
            const f = wRawFile.get();
            f.truncateSync(0);
            f.seekSync(0);
          },
          run(n) {
            const f = wRawFile.get();
            const b = buf();
            let total = 0;
            let at = f.tell();
            for (let i = 0; i < n; i++) {
              const put = f.writeSync(b);
              total += put;
              at += put;
              if (at === wrap) {
                at = 0;
                f.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'fdkeeper Descriptor.writeSync(b)',
          setup: wDesc.setup,
          teardown: wDesc.teardown,
          beforeSample() {
            const d = wDesc.get();
            d.truncateSync(0);
            d.seekSync(0);
          },
          run(n) {
            const d = wDesc.get();
            const b = buf();
            let total = 0;
            let at = d.tellSync();
            for (let i = 0; i < n; i++) {
              const put = d.writeSync(b);
              total += put;
              at += put;
              if (at === wrap) {
                at = 0;
                d.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'fdkeeper table.writeSync(fd, b)',
          setup: wNum.setup,
          teardown: wNum.teardown,
          beforeSample() {
            const fd = wNum.get();
            table.ftruncateSync(fd, 0);
            table.seekSync(fd, 0);
          },
          run(n) {
            const fd = wNum.get();
            const b = buf();
            let total = 0;
            let at = table.seekSync(fd, 0, 1);
            for (let i = 0; i < n; i++) {
              const put = table.writeSync(fd, b);
              total += put;
              at += put;
              if (at === wrap) {
                at = 0;
                table.seekSync(fd, 0);
              }
            }
            return total;
          },
        },
      ],
      targets: [
        { contender: 'fdkeeper RawFile.writeSync', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper Descriptor.writeSync(b)', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper table.writeSync(fd, b)', atMost: 1.05, source: 'issue' },
      ],
    };

    // ------------------------------------------------------------ promise reads
    const fh = held(
      () => fsp.open(p, 'r'),
      (h) => h.close(),
    );
    const preadPromise: Group = {
      id: 'pread4k-promise',
      title: '2d. 4 KiB pread at offset 0 of a 1 MiB file (promise)',
      about: 'One op = await a 4 KiB read at position 0 (one at a time; each goes through the libuv thread pool).',
      kind: 'latency',
      bytesPerOp: BLOCK,
      baselines: [RAW_CB, RAW_FH],
      expect: expectBytes,
      contenders: [
        {
          name: RAW_CB,
          short: 'raw cb',
          setup: rawFd.setup,
          teardown: rawFd.teardown,
          async run(n) {
            const fd = rawFd.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) total += await cb.read(fd, b, 0, BLOCK, 0);
            return total;
          },
        },
        {
          name: RAW_FH,
          short: 'fs.promises',
          setup: fh.setup,
          teardown: fh.teardown,
          async run(n) {
            const h = fh.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) total += (await h.read(b, 0, BLOCK, 0)).bytesRead;
            return total;
          },
        },
        {
          name: 'fdkeeper Descriptor.read(b, 0, 4096, 0)',
          setup: desc.setup,
          teardown: desc.teardown,
          async run(n) {
            const d = desc.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) total += await d.read(b, 0, BLOCK, 0);
            return total;
          },
        },
        {
          name: 'fdkeeper table.read(fd, b, 0, 4096, 0)',
          setup: num.setup,
          teardown: num.teardown,
          async run(n) {
            const fd = num.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) total += await table.read(fd, b, 0, BLOCK, 0);
            return total;
          },
        },
      ],
      targets: [
        { contender: 'fdkeeper Descriptor.read(b, 0, 4096, 0)', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper table.read(fd, b, 0, 4096, 0)', atMost: 1.05, source: 'issue' },
      ],
    };

    let cbPos = 0;
    let fhPos = 0;
    let k4 = 0;
    let k5 = 0;
    const seqReadPromise: Group = {
      id: 'seqread4k-promise',
      title: '2e. 4 KiB sequential reads of a 1 MiB file (promise)',
      about:
        'One op = await a read of the next 4 KiB (one at a time), starting over at 0 after the last block, as in 2b.',
      kind: 'latency',
      bytesPerOp: BLOCK,
      baselines: [RAW_CB, RAW_FH],
      expect: expectBytes,
      contenders: [
        {
          name: RAW_CB,
          short: 'raw cb',
          setup: rawFd.setup,
          teardown: rawFd.teardown,
          beforeSample() {
            cbPos = 0;
          },
          async run(n) {
            const fd = rawFd.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              const got = await cb.read(fd, b, 0, BLOCK, cbPos);
              total += got;
              cbPos += got;
              if (cbPos === READ_FILE_SIZE) cbPos = 0;
            }
            return total;
          },
        },
        {
          name: RAW_FH,
          short: 'fs.promises',
          setup: fh.setup,
          teardown: fh.teardown,
          beforeSample() {
            fhPos = 0;
          },
          async run(n) {
            const h = fh.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              const got = (await h.read(b, 0, BLOCK, fhPos)).bytesRead;
              total += got;
              fhPos += got;
              if (fhPos === READ_FILE_SIZE) fhPos = 0;
            }
            return total;
          },
        },
        {
          name: 'fdkeeper RawFile.readinto',
          setup: rawFile.setup,
          teardown: rawFile.teardown,
          beforeSample() {
            rawFile.get().seekSync(0);
            k4 = 0;
          },
          async run(n) {
            const f = rawFile.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += await f.readinto(b);
              if (++k4 === perPass) {
                k4 = 0;
                f.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'fdkeeper table.read(fd, b)',
          setup: num.setup,
          teardown: num.teardown,
          beforeSample() {
            table.seekSync(num.get(), 0);
            k5 = 0;
          },
          async run(n) {
            const fd = num.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += await table.read(fd, b);
              if (++k5 === perPass) {
                k5 = 0;
                table.seekSync(fd, 0);
              }
            }
            return total;
          },
        },
      ],
      targets: [
        { contender: 'fdkeeper RawFile.readinto', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper table.read(fd, b)', atMost: 1.05, source: 'issue' },
      ],
    };

    // ------------------------------------------------------------ promise writes
    const wCb = held(
      () => fs.openSync(wfile('cb'), 'w'),
      (fd) => {
        fs.closeSync(fd);
      },
    );
    const wFh = held(
      () => fsp.open(wfile('fh'), 'w'),
      (h) => h.close(),
    );
    const wRawFileP = held(
      (): RawFile => openSync(wfile('rawfile-p'), 'wb', { buffering: 0 }),
      (f) => {
        f.closeSync();
      },
    );
    const wNumP = held(
      () => table.openSync(wfile('num-p'), 'w'),
      (fd) => {
        table.closeSync(fd);
      },
    );
    let wCbPos = 0;
    let wFhPos = 0;
    const seqWritePromise: Group = {
      id: 'seqwrite4k-promise',
      title: '2f. 4 KiB sequential writes (promise)',
      about: `One op = await a write of the next 4 KiB (one at a time); files truncated before every sample, starting over at 0 every ${wrap >> 20} MiB, as in 2c.`,
      kind: 'latency',
      bytesPerOp: BLOCK,
      baselines: [RAW_WCB, RAW_WFH],
      expect: expectBytes,
      contenders: [
        {
          name: RAW_WCB,
          short: 'raw cb',
          setup: wCb.setup,
          teardown: wCb.teardown,
          beforeSample() {
            fs.ftruncateSync(wCb.get(), 0);
            wCbPos = 0;
          },
          async run(n) {
            const fd = wCb.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              const put = await cb.write(fd, b, 0, BLOCK, wCbPos);
              total += put;
              wCbPos += put;
              if (wCbPos === wrap) wCbPos = 0;
            }
            return total;
          },
        },
        {
          name: RAW_WFH,
          short: 'fs.promises',
          setup: wFh.setup,
          teardown: wFh.teardown,
          async beforeSample() {
            await wFh.get().truncate(0);
            wFhPos = 0;
          },
          async run(n) {
            const h = wFh.get();
            const b = buf();
            let total = 0;
            for (let i = 0; i < n; i++) {
              const put = (await h.write(b, 0, BLOCK, wFhPos)).bytesWritten;
              total += put;
              wFhPos += put;
              if (wFhPos === wrap) wFhPos = 0;
            }
            return total;
          },
        },
        {
          name: 'fdkeeper RawFile.write',
          setup: wRawFileP.setup,
          teardown: wRawFileP.teardown,
          beforeSample() {
            const f = wRawFileP.get();
            f.truncateSync(0);
            f.seekSync(0);
          },
          async run(n) {
            const f = wRawFileP.get();
            const b = buf();
            let total = 0;
            let at = f.tell();
            for (let i = 0; i < n; i++) {
              const put = await f.write(b);
              total += put;
              at += put;
              if (at === wrap) {
                at = 0;
                f.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'fdkeeper table.write(fd, b)',
          setup: wNumP.setup,
          teardown: wNumP.teardown,
          beforeSample() {
            const fd = wNumP.get();
            table.ftruncateSync(fd, 0);
            table.seekSync(fd, 0);
          },
          async run(n) {
            const fd = wNumP.get();
            const b = buf();
            let total = 0;
            let at = table.seekSync(fd, 0, 1);
            for (let i = 0; i < n; i++) {
              const put = await table.write(fd, b);
              total += put;
              at += put;
              if (at === wrap) {
                at = 0;
                table.seekSync(fd, 0);
              }
            }
            return total;
          },
        },
      ],
      targets: [
        { contender: 'fdkeeper RawFile.write', atMost: 1.05, source: 'issue' },
        { contender: 'fdkeeper table.write(fd, b)', atMost: 1.05, source: 'issue' },
      ],
    };

    const groups: Group[] = [preadSync, seqReadSync, seqWriteSync, preadPromise, seqReadPromise, seqWritePromise];
    // Contenders that share a descriptor (rawFd, desc, num, rawFile) are set up once per group; the
    // `held` helpers reopen them per group, so each group is self-contained.
    return groups.map((g) => ({
      ...g,
      teardown: () => {
        if (table.size !== 0) throw new Error(`${g.id}: table still holds ${table.size} descriptors`);
      },
    }));
  },
};
