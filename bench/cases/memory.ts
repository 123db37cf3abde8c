/**
 * The in-memory backend against memfs, the in-memory file system most Node projects test with.
 *
 * Contenders, each on a fresh file system per sample (created untimed in `beforeSample`):
 * - memfs: `createFsFromVolume(new Volume())`, its synchronous node:fs API;
 * - fdkeeper `MemoryBackend` (defaults: no crash journal) through its Backend API (`openSync`/`writeSync`/`readSync`/`statSync`…);
 * - fdkeeper `createFs(new MemoryBackend())`: the node:fs facade, the same calls as the memfs row;
 * - fdkeeper `MemoryBackend({ crashModel: true })` through its Backend API (every change journaled);
 * - the facade over `MemoryBackend({ crashModel: true })`.
 */
import { Volume, createFsFromVolume } from 'memfs';
import { createFs } from '../../dist/fs.js';
import { MemoryBackend, O } from '../../dist/testing.js';
import type { BenchCase, Contender, Group } from '../harness.js';

const MEMFS = 'memfs (createFsFromVolume, sync API)';
const BACKEND = 'fdkeeper MemoryBackend, Backend API';
const FACADE = 'fdkeeper createFs(MemoryBackend), node:fs API';
const BACKEND_CRASH = 'fdkeeper MemoryBackend {crashModel: true}, Backend API';
const FACADE_CRASH = 'fdkeeper createFs(MemoryBackend {crashModel: true})';

/** What the small-file workload needs of a node:fs-style object (memfs and the facade both have it). */
interface SyncFs {
  mkdirSync(path: string): unknown;
  writeFileSync(path: string, data: Uint8Array): void;
  readFileSync(path: string): Buffer | string;
  statSync(path: string): { size: number } | undefined;
  unlinkSync(path: string): void;
  readdirSync(path: string): unknown[];
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: null): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: null): number;
}

/** The Backend calls the workloads use. */
type MemBackend = InstanceType<typeof MemoryBackend>;

const DIR = '/bench';

// ================================================================ (a) 10,000 small files

function smallFiles(quick: boolean): { paths: string[]; data: Buffer[] } {
  const count = quick ? 2_000 : 10_000;
  const paths: string[] = [];
  const data: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    paths.push(`${DIR}/file-${i}.dat`);
    const b = Buffer.alloc(100, i & 0xff);
    b.writeUInt32LE(i, 0); // every file's content differs
    data.push(b);
  }
  return { paths, data };
}

/** One pass through the node:fs API: create+write each file, read each back, stat each, unlink each. Returns files verified. */
function smallFilesViaFs(fs: SyncFs, paths: readonly string[], data: readonly Buffer[]): number {
  const n = paths.length;
  for (let i = 0; i < n; i++) fs.writeFileSync(paths[i]!, data[i]!);
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const got = fs.readFileSync(paths[i]!) as Buffer;
    if (got.equals(data[i]!)) ok++;
  }
  for (let i = 0; i < n; i++) if (fs.statSync(paths[i]!)?.size !== 100) ok--;
  for (let i = 0; i < n; i++) fs.unlinkSync(paths[i]!);
  return ok;
}

/** The same pass through the Backend API: open/write/close, open/read/close, stat, unlink. */
function smallFilesViaBackend(
  b: MemBackend,
  paths: readonly string[],
  data: readonly Buffer[],
  scratch: Buffer,
): number {
  const n = paths.length;
  const W = O.WRONLY | O.CREAT | O.TRUNC;
  for (let i = 0; i < n; i++) {
    const fd = b.openSync(paths[i]!, W, 0o666);
    b.writeSync(fd, data[i]!, 0, 100, null);
    b.closeSync(fd);
  }
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const fd = b.openSync(paths[i]!, O.RDONLY);
    const got = b.readSync(fd, scratch, 0, scratch.length, null);
    b.closeSync(fd);
    if (got === 100 && scratch.subarray(0, 100).equals(data[i]!)) ok++;
  }
  for (let i = 0; i < n; i++) if (b.statSync(paths[i]!).size !== 100) ok--;
  for (let i = 0; i < n; i++) b.unlinkSync(paths[i]!);
  return ok;
}

// ================================================================ (b) 1 MiB sequential write + read in 64 KiB chunks

const MIB = 1 << 20;
const CHUNK = 64 * 1024;

function source(): Buffer[] {
  const chunks: Buffer[] = [];
  let x = 0x9e3779b9;
  for (let c = 0; c < MIB / CHUNK; c++) {
    const b = Buffer.allocUnsafe(CHUNK);
    for (let i = 0; i < CHUNK; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b.writeUInt32LE(x >>> 0, i);
    }
    chunks.push(b);
  }
  return chunks;
}

/** Writes 1 MiB in 64 KiB writes, then reads it back in 64 KiB reads, comparing; returns bytes verified. */
function seqViaFs(fs: SyncFs, file: string, chunks: readonly Buffer[], scratch: Buffer): number {
  const w = fs.openSync(file, 'w');
  for (const c of chunks) fs.writeSync(w, c, 0, CHUNK, null);
  fs.closeSync(w);
  const r = fs.openSync(file, 'r');
  let ok = 0;
  for (let k = 0; ; k++) {
    const n = fs.readSync(r, scratch, 0, CHUNK, null);
    if (n === 0) break;
    if (n === CHUNK && scratch.equals(chunks[k]!)) ok += n;
  }
  fs.closeSync(r);
  return ok;
}

function seqViaBackend(b: MemBackend, file: string, chunks: readonly Buffer[], scratch: Buffer): number {
  const w = b.openSync(file, O.WRONLY | O.CREAT | O.TRUNC, 0o666);
  for (const c of chunks) b.writeSync(w, c, 0, CHUNK, null);
  b.closeSync(w);
  const r = b.openSync(file, O.RDONLY);
  let ok = 0;
  for (let k = 0; ; k++) {
    const n = b.readSync(r, scratch, 0, CHUNK, null);
    if (n === 0) break;
    if (n === CHUNK && scratch.equals(chunks[k]!)) ok += n;
  }
  b.closeSync(r);
  return ok;
}

// ================================================================ contenders

/**
 * A contender over a fresh node:fs-style object per sample (made untimed) and, with `freshEvery`, a new
 * one (made timed, a few microseconds) every `freshEvery` ops within the sample.
 */
function fsContender(
  name: string,
  make: () => SyncFs,
  work: (fs: SyncFs) => number,
  check: (fs: SyncFs) => string | undefined,
  freshEvery = Infinity,
  short?: string,
): Contender {
  let fs: SyncFs | undefined;
  const fresh = (): SyncFs => {
    const f = make();
    f.mkdirSync(DIR);
    return f;
  };
  return {
    name,
    ...(short === undefined ? {} : { short }),
    beforeSample() {
      fs = fresh();
    },
    run(n) {
      let f = fs!;
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (i > 0 && i % freshEvery === 0) f = fs = fresh();
        total += work(f);
      }
      return total;
    },
    check: () => check(fs!),
    teardown() {
      fs = undefined;
    },
  };
}

/** As {@link fsContender}, for the Backend API. */
function backendContender(
  name: string,
  make: () => MemBackend,
  work: (b: MemBackend) => number,
  check: (b: MemBackend) => string | undefined,
  freshEvery = Infinity,
): Contender {
  let b: MemBackend | undefined;
  const fresh = (): MemBackend => {
    const x = make();
    x.mkdirSync(DIR, 0o755);
    return x;
  };
  return {
    name,
    beforeSample() {
      b = fresh();
    },
    run(n) {
      let be = b!;
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (i > 0 && i % freshEvery === 0) be = b = fresh();
        total += work(be);
      }
      return total;
    },
    check: () => check(b!),
    teardown() {
      b = undefined;
    },
  };
}

const memfs = (): SyncFs => createFsFromVolume(new Volume());
const facade = (options?: { crashModel: boolean }): SyncFs => createFs(new MemoryBackend(options));

const ISSUE = 'issue: memory backend ≥ 2× memfs';

export const memory: BenchCase = {
  name: 'memory',
  groupIds: ['memory-small-files', 'memory-seq-1m'],
  groups(ctx) {
    const { paths, data } = smallFiles(ctx.quick);
    const files = paths.length;
    const scratch = Buffer.alloc(4096);
    const emptyFs = (fs: SyncFs): string | undefined => {
      const left = fs.readdirSync(DIR).length;
      return left === 0 ? undefined : `${left} file(s) left in ${DIR}`;
    };
    const emptyBackend = (b: MemBackend): string | undefined => {
      const left = b.readdirSync(DIR).length;
      const open = b.descriptors().length;
      return left === 0 && open === 0 ? undefined : `${left} file(s) left in ${DIR}, ${open} descriptor(s) open`;
    };
    const small: Group = {
      id: 'memory-small-files',
      title: `6a. ${files.toLocaleString('en-US')} small files: create+write, read back, stat, unlink (in memory, sync)`,
      about: `One op = in one directory, create and write ${files.toLocaleString('en-US')} files of 100 bytes (each different), read every one back and compare it, stat every one, unlink every one. node:fs-API rows use writeFileSync/readFileSync/statSync/unlinkSync; Backend-API rows use open+write+close, open+read+close (into a reused buffer), stat, unlink. Every contender gets a fresh, empty file system per sample (made untimed).`,
      kind: 'throughput',
      itemsPerOp: { count: files, unit: 'files' },
      baselines: [MEMFS],
      expect: (n) => n * files,
      contenders: [
        fsContender(MEMFS, memfs, (fs) => smallFilesViaFs(fs, paths, data), emptyFs, Infinity, 'memfs'),
        backendContender(
          BACKEND,
          () => new MemoryBackend(),
          (b) => smallFilesViaBackend(b, paths, data, scratch),
          emptyBackend,
        ),
        fsContender(
          FACADE,
          () => facade(),
          (fs) => smallFilesViaFs(fs, paths, data),
          emptyFs,
        ),
        backendContender(
          BACKEND_CRASH,
          () => new MemoryBackend({ crashModel: true }),
          (b) => smallFilesViaBackend(b, paths, data, scratch),
          emptyBackend,
        ),
        fsContender(
          FACADE_CRASH,
          () => facade({ crashModel: true }),
          (fs) => smallFilesViaFs(fs, paths, data),
          emptyFs,
        ),
      ],
      targets: [
        { contender: BACKEND, atLeast: 2, source: ISSUE },
        { contender: FACADE, atLeast: 2, source: `${ISSUE} (same API as memfs)` },
      ],
    };

    const chunks = source();
    const readBuf = Buffer.alloc(CHUNK);
    const FILE = `${DIR}/big.bin`;
    const sizeFs = (fs: SyncFs): string | undefined => {
      const size = fs.statSync(FILE)?.size;
      return size === MIB ? undefined : `${FILE} is ${String(size)} bytes, not ${MIB}`;
    };
    const sizeBackend = (b: MemBackend): string | undefined => {
      const size = b.statSync(FILE).size;
      return size === MIB && b.descriptors().length === 0
        ? undefined
        : `${FILE} is ${size} bytes (want ${MIB}), ${b.descriptors().length} descriptor(s) open`;
    };
    // A fresh file system every 64 ops (64 MiB written) bounds the crash journal, which keeps every write until an fsync.
    const EVERY = 64;
    const seq: Group = {
      id: 'memory-seq-1m',
      title: '6b. 1 MiB sequential write then read, 64 KiB chunks (in memory, sync)',
      about: `One op = open a file for writing (truncating it), write 1 MiB in 16 writes of 64 KiB, close; open it for reading, read it in 64 KiB reads to end of file (comparing each chunk with what was written), close. MB/s counts the 2 MiB moved per op. Every ${EVERY} ops the contender starts over on a new, empty file system (made within the timed sample; it takes microseconds): ${EVERY} MiB written without an fsync is what a test might write into one backend.`,
      kind: 'throughput',
      bytesPerOp: 2 * MIB,
      baselines: [MEMFS],
      expect: (n) => n * MIB,
      contenders: [
        fsContender(MEMFS, memfs, (fs) => seqViaFs(fs, FILE, chunks, readBuf), sizeFs, EVERY, 'memfs'),
        backendContender(
          BACKEND,
          () => new MemoryBackend(),
          (b) => seqViaBackend(b, FILE, chunks, readBuf),
          sizeBackend,
          EVERY,
        ),
        fsContender(
          FACADE,
          () => facade(),
          (fs) => seqViaFs(fs, FILE, chunks, readBuf),
          sizeFs,
          EVERY,
        ),
        backendContender(
          BACKEND_CRASH,
          () => new MemoryBackend({ crashModel: true }),
          (b) => seqViaBackend(b, FILE, chunks, readBuf),
          sizeBackend,
          EVERY,
        ),
        fsContender(
          FACADE_CRASH,
          () => facade({ crashModel: true }),
          (fs) => seqViaFs(fs, FILE, chunks, readBuf),
          sizeFs,
          EVERY,
        ),
      ],
      targets: [
        { contender: BACKEND, atLeast: 2, source: ISSUE },
        { contender: FACADE, atLeast: 2, source: `${ISSUE} (same API as memfs)` },
      ],
      notes: [
        `in the crashModel: true rows every write is also kept (a copy of its data) in the crash journal until an fsync lets it fold the log; no row fsyncs here, so each file system's journal grows to ${EVERY} MiB before it is dropped (and collected, within the timed sample).`,
      ],
    };
    return [small, seq];
  },
};
