/**
 * fdkeeper's own per-call cost, with the syscalls taken out: the same calls as groups 1 and 2 on a
 * table whose backend does nothing. On a shared machine a 4 KiB pread varies by more than the few
 * tens of nanoseconds fdkeeper adds, so this is the number to watch for regressions in the bookkeeping.
 */
import type { Backend, Descriptor, FileStat, RawFile } from '../../dist/index.js';
import { FileTable, openSync } from '../../dist/index.js';
import type { BenchCase, Contender, Group } from '../harness.js';

const BLOCK = 4096;

const STAT = {
  size: 1 << 20,
  isFile: () => true,
  isDirectory: () => false,
  isSymbolicLink: () => false,
  isFIFO: () => false,
  isSocket: () => false,
  isCharacterDevice: () => false,
  isBlockDevice: () => false,
} as unknown as FileStat;

/**
 * A backend whose syscalls do nothing: open hands out the lowest free number (as the kernel does), reads
 * and writes "transfer" everything asked for. Only what these groups call is implemented.
 */
class NoopBackend {
  readonly name = 'noop';
  private next = 1000;
  private readonly free: number[] = [];

  openSync(_path: string, _flags: number, _mode?: number): number {
    return this.free.pop() ?? this.next++;
  }
  closeSync(fd: number): void {
    this.free.push(fd);
  }
  readSync(_fd: number, _buffer: Uint8Array, _offset: number, length: number, _position: number | null): number {
    return length;
  }
  writeSync(_fd: number, _buffer: Uint8Array, _offset: number, length: number, _position: number | null): number {
    return length;
  }
  fstatSync(_fd: number): FileStat {
    return STAT;
  }
}

const DIRECT_OPEN = 'no-op backend openSync+closeSync, called directly';
const DIRECT_READ = 'no-op backend readSync, called directly';

function loop(name: string, body: () => void): Contender {
  return {
    name,
    run(n) {
      for (let i = 0; i < n; i++) body();
      return n;
    },
  };
}

export const overhead: BenchCase = {
  name: 'overhead',
  groupIds: ['overhead-open-close', 'overhead-rw'],
  groups() {
    const noop = new NoopBackend();
    const backend = noop as unknown as Backend;
    const auto = new FileTable({ backend });
    const always = new FileTable({ backend, openSites: 'always' });
    const never = new FileTable({ backend, openSites: 'never' });
    const p = '/nonexistent/fdkeeper-bench-noop';

    const openClose: Group = {
      id: 'overhead-open-close',
      title: '5a. fdkeeper bookkeeping per open + close (no-op backend)',
      about:
        'As group 1a, on tables whose backend does nothing: what remains is fdkeeper\'s own work (table entry, open file description, budget, leak tracking, sites). Read the Δ column as "added to every open+close".',
      kind: 'latency',
      baselines: [DIRECT_OPEN],
      calibrate: 'each',
      showRatios: false,
      expect: (n) => n,
      contenders: [
        loop(DIRECT_OPEN, () => {
          noop.closeSync(noop.openSync(p, 0));
        }),
        loop('table.openSync+closeSync', () => {
          auto.closeSync(auto.openSync(p, 'r'));
        }),
        loop("table.openSync+closeSync (sites 'always')", () => {
          always.closeSync(always.openSync(p, 'r'));
        }),
        loop("table.openSync+closeSync (sites 'never')", () => {
          never.closeSync(never.openSync(p, 'r'));
        }),
        loop('openDescriptorSync + Descriptor.closeSync', () => {
          auto.openDescriptorSync(p, 'r').closeSync();
        }),
        loop("openSync(p, 'rb', {buffering: 0}) + closeSync", () => {
          openSync(p, 'rb', { buffering: 0, table: auto }).closeSync();
        }),
      ],
      teardown() {
        for (const t of [auto, always, never])
          if (t.size !== 0) throw new Error(`overhead-open-close: a table still holds ${t.size} descriptors`);
      },
    };

    const b = Buffer.alloc(BLOCK);
    const perPass = 256;
    // Opened by the group's setup, closed by its teardown.
    let d!: Descriptor;
    let num = -1;
    let raw!: RawFile;
    let k1 = 0;
    let k2 = 0;
    let k3 = 0;
    const rw: Group = {
      id: 'overhead-rw',
      title: '5b. fdkeeper work per 4 KiB read or write call (no-op backend)',
      about:
        'As groups 2a–2c, on a descriptor whose backend does nothing (sequential rows seek back to 0 every 256 calls, as there). The Δ column is what fdkeeper adds to each read(2)/write(2).',
      kind: 'latency',
      baselines: [DIRECT_READ],
      calibrate: 'each',
      showRatios: false,
      expect: (n) => n * BLOCK,
      setup() {
        d = auto.openDescriptorSync(p, 'r+');
        num = auto.openSync(p, 'r+');
        raw = openSync(p, 'rb+', { buffering: 0, table: auto });
      },
      teardown() {
        d.closeSync();
        auto.closeSync(num);
        raw.closeSync();
        if (auto.size !== 0) throw new Error(`overhead-rw: the table still holds ${auto.size} descriptors`);
      },
      contenders: [
        {
          name: DIRECT_READ,
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) total += noop.readSync(7, b, 0, BLOCK, 0);
            return total;
          },
        },
        {
          name: 'Descriptor.readSync(b, 0, 4096, 0)',
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) total += d.readSync(b, 0, BLOCK, 0);
            return total;
          },
        },
        {
          name: 'table.readSync(fd, b, 0, 4096, 0)',
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) total += auto.readSync(num, b, 0, BLOCK, 0);
            return total;
          },
        },
        {
          name: 'Descriptor.readSync(b) (sequential)',
          beforeSample() {
            d.seekSync(0);
            k1 = 0;
          },
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += d.readSync(b);
              if (++k1 === perPass) {
                k1 = 0;
                d.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'RawFile.readintoSync (sequential)',
          beforeSample() {
            raw.seekSync(0);
            k2 = 0;
          },
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += raw.readintoSync(b);
              if (++k2 === perPass) {
                k2 = 0;
                raw.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'table.readSync(fd, b) (sequential)',
          beforeSample() {
            auto.seekSync(num, 0);
            k3 = 0;
          },
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += auto.readSync(num, b);
              if (++k3 === perPass) {
                k3 = 0;
                auto.seekSync(num, 0);
              }
            }
            return total;
          },
        },
        {
          name: 'Descriptor.writeSync(b) (sequential)',
          beforeSample() {
            d.seekSync(0);
            k1 = 0;
          },
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += d.writeSync(b);
              if (++k1 === perPass) {
                k1 = 0;
                d.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'RawFile.writeSync (sequential)',
          beforeSample() {
            raw.seekSync(0);
            k2 = 0;
          },
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += raw.writeSync(b);
              if (++k2 === perPass) {
                k2 = 0;
                raw.seekSync(0);
              }
            }
            return total;
          },
        },
        {
          name: 'table.writeSync(fd, b) (sequential)',
          beforeSample() {
            auto.seekSync(num, 0);
            k3 = 0;
          },
          run(n) {
            let total = 0;
            for (let i = 0; i < n; i++) {
              total += auto.writeSync(num, b);
              if (++k3 === perPass) {
                k3 = 0;
                auto.seekSync(num, 0);
              }
            }
            return total;
          },
        },
      ],
    };
    return [openClose, rw];
  },
};
