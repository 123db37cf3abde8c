/**
 * Log-file throughput: 1,000,000 lines of ~100 bytes per sample (200,000 with --quick), one process,
 * every contender in the same round, against a raw `fs.writeSync` with a 64 KiB userland buffer (the
 * floor for "append lines to a file" in JavaScript). Ported from the peer harness
 * `../shared/bench/logs/throughput.mjs`: the same line shape, the same yield to the event loop every
 * 1000 lines (as a server would), timed from creating the writer to the end of its close (so
 * asynchronous writers have flushed), and after every sample the file is parsed and its distinct
 * sequence numbers counted (a writer that lost or duplicated a line fails the run).
 *
 * Rows: fdkeeper LogFile with detection on (the defaults: a 100 ms identity check and the fs.watch
 * hint) and off (no checks, no watch: what detection costs), pino writing to fdkeeper's destination,
 * fs.createWriteStream, sonic-boom sync and async (minLength 4096), pino to pino.destination, and the
 * stat-per-write reference (Python's WatchedFileHandler re-expressed in Node).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { openLog } from '../../dist/index.js';
import { logDestination } from '../../dist/log.js';
import type { BenchCase, Contender, Group } from '../harness.js';

const require = createRequire(import.meta.url);

interface LineWriter {
  write(line: string): void;
  close(): Promise<void> | void;
}

interface SonicBoomLike {
  write(s: string): boolean;
  end(): void;
  once(event: 'close', cb: () => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
}
type SonicBoomCtor = new (opts: { dest: string; sync: boolean; minLength?: number; append?: boolean }) => SonicBoomLike;

interface PinoLogger {
  info(msg: string): void;
}
interface PinoModule {
  (opts: Record<string, unknown>, dest: unknown): PinoLogger;
  destination(p: string): SonicBoomLike;
}

const PAD = 'x'.repeat(200);

/** The peer harness's line: `#<seq># ts=… lvl=info msg="request served" xxx…`, 100 bytes with the newline. */
function makeLine(i: number): string {
  const head = `#${i}# ts=2024-01-01T00:00:00.000Z lvl=info msg="request served" `;
  return head + PAD.slice(0, Math.max(0, 99 - head.length)) + '\n';
}

/** Distinct `#<seq>#` tokens in `file`, and duplicates (parsed from bytes; works for JSON-wrapped lines). */
function countSeqs(file: string, n: number): { distinct: number; dup: number } {
  const seen = new Uint8Array(n);
  const b = fs.readFileSync(file);
  let distinct = 0;
  let dup = 0;
  let i = 0;
  while (i < b.length) {
    let nl = b.indexOf(10, i);
    if (nl < 0) nl = b.length;
    const h = b.indexOf(35, i);
    if (h >= 0 && h < nl) {
      let v = 0;
      let j = h + 1;
      let digits = 0;
      while (j < nl && b[j]! >= 48 && b[j]! <= 57) {
        v = v * 10 + (b[j]! - 48);
        j++;
        digits++;
      }
      if (digits > 0 && b[j] === 35 && v < n) {
        if (seen[v] === 1) dup++;
        else {
          seen[v] = 1;
          distinct++;
        }
      }
    }
    i = nl + 1;
  }
  return { distinct, dup };
}

function closed(s: SonicBoomLike): Promise<void> {
  return new Promise((resolve) => {
    s.once('close', resolve);
    s.end();
  });
}

export const RAW = 'raw fs.writeSync, 64 KiB buffer';
export const FDK_ON = 'fdkeeper LogFile, detection on (defaults)';
export const FDK_OFF = 'fdkeeper LogFile, detection off';
const SONIC_ASYNC = 'sonic-boom async, minLength 4096';
const SONIC_SYNC = 'sonic-boom sync';

function writers(): Record<string, (file: string) => LineWriter> {
  const SonicBoom = require('sonic-boom') as SonicBoomCtor;
  const pino = require('pino') as PinoModule;
  const stopOnError = (s: SonicBoomLike): SonicBoomLike => {
    s.on('error', (e) => {
      throw e;
    });
    return s;
  };
  return {
    [RAW]: (file) => {
      const fd = fs.openSync(file, 'a');
      const CAP = 64 * 1024;
      const buf = Buffer.allocUnsafe(CAP);
      let len = 0;
      const flush = (): void => {
        let off = 0;
        while (off < len) off += fs.writeSync(fd, buf, off, len - off);
        len = 0;
      };
      return {
        write(line) {
          const n = Buffer.byteLength(line);
          if (len + n > CAP) flush();
          len += buf.write(line, len);
        },
        close() {
          flush();
          fs.closeSync(fd);
        },
      };
    },
    [FDK_ON]: (file) => {
      const log = openLog(file);
      return {
        write(line) {
          log.write(line);
        },
        close: () => log.close(),
      };
    },
    [FDK_OFF]: (file) => {
      const log = openLog(file, { watch: false, checkInterval: 2 ** 31 - 1 });
      return {
        write(line) {
          log.write(line);
        },
        close: () => log.close(),
      };
    },
    'pino → fdkeeper logDestination': (file) => {
      const dest = logDestination(file);
      const logger = pino({ base: null, timestamp: false }, dest);
      return {
        write(line) {
          logger.info(line.slice(0, -1));
        },
        close() {
          dest.end();
        },
      };
    },
    'fs.createWriteStream': (file) => {
      const s = fs.createWriteStream(file, { flags: 'a' });
      return {
        write(line) {
          s.write(line);
        },
        close: () =>
          new Promise<void>((resolve) => {
            s.end(resolve);
          }),
      };
    },
    [SONIC_ASYNC]: (file) => {
      const s = stopOnError(new SonicBoom({ dest: file, sync: false, minLength: 4096 }));
      return {
        write(line) {
          s.write(line);
        },
        close: () => closed(s),
      };
    },
    [SONIC_SYNC]: (file) => {
      const s = stopOnError(new SonicBoom({ dest: file, sync: true }));
      return {
        write(line) {
          s.write(line);
        },
        close: () => closed(s),
      };
    },
    'pino → pino.destination (sonic-boom)': (file) => {
      const dest = pino.destination(file);
      const logger = pino({ base: null, timestamp: false }, dest);
      return {
        write(line) {
          logger.info(line.slice(0, -1));
        },
        close: () => closed(dest),
      };
    },
    'reference: stat per write (WatchedFileHandler)': (file) => {
      let fd = fs.openSync(file, 'a');
      let st = fs.fstatSync(fd);
      return {
        write(line) {
          const cur = fs.statSync(file, { throwIfNoEntry: false });
          if (cur === undefined || cur.ino !== st.ino || cur.dev !== st.dev) {
            const old = fd;
            fd = fs.openSync(file, 'a');
            st = fs.fstatSync(fd);
            fs.closeSync(old);
          }
          fs.writeSync(fd, line);
        },
        close() {
          fs.closeSync(fd);
        },
      };
    },
  };
}

function peerVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string })
      .version;
  } catch {
    return '?';
  }
}

export const log: BenchCase = {
  name: 'log',
  groupIds: ['log-throughput'],
  groups(ctx) {
    const LINES = ctx.quick ? 200_000 : 1_000_000;
    const YIELD_EVERY = 1000;
    const dir = path.join(ctx.dir, 'log');
    fs.mkdirSync(dir, { recursive: true });
    let sampleNo = 0;
    const contender = (name: string, make: (file: string) => LineWriter): Contender => {
      let last = '';
      return {
        name,
        ...(name === RAW ? { short: 'raw 64K' } : name === SONIC_ASYNC ? { short: 'sonic async' } : {}),
        async run(n) {
          let total = 0;
          for (let k = 0; k < n; k++) {
            const file = path.join(dir, `s${sampleNo++}.log`);
            if (last !== '') fs.rmSync(last, { force: true });
            const w = make(file);
            for (let i = 0; i < LINES; i++) {
              w.write(makeLine(i));
              if ((i + 1) % YIELD_EVERY === 0) await new Promise(setImmediate);
            }
            await w.close();
            last = file;
            total += LINES;
          }
          return total;
        },
        check() {
          const { distinct, dup } = countSeqs(last, LINES);
          fs.rmSync(last, { force: true });
          last = '';
          return distinct === LINES && dup === 0
            ? undefined
            : `line check: ${distinct}/${LINES} distinct, ${dup} duplicated`;
        },
      };
    };
    const all = writers();
    const group: Group = {
      id: 'log-throughput',
      title: `log files: ${LINES.toLocaleString('en-US')} lines of ~100 bytes`,
      about: `One op = create the writer on a new file, write ${LINES.toLocaleString('en-US')} lines (yielding to the event loop every ${YIELD_EVERY}), close it (async writers have flushed). Every sample's file is parsed afterwards: all ${LINES.toLocaleString('en-US')} sequence numbers present, none twice. pino rows wrap each line in JSON (~25 more bytes per line).`,
      kind: 'throughput',
      itemsPerOp: { count: LINES, unit: 'lines' },
      bytesPerOp: LINES * 100,
      iterations: 1,
      baselines: [RAW, SONIC_ASYNC],
      expect: (n) => n * LINES,
      contenders: Object.entries(all).map(([name, make]) => contender(name, make)),
      targets: [
        {
          contender: FDK_ON,
          atLeast: 0.85,
          source: 'issue 5: detection on, ≥ 0.85× raw buffered (about 8× sonic-boom)',
        },
      ],
      notes: [
        `peers: pino ${peerVersion('pino')}, sonic-boom ${peerVersion('sonic-boom')}; issue 5 measured on 2026-11-21 (speed ÷ raw buffered): createWriteStream 0.65, sonic-boom async 0.09, sync 0.10, pino 0.07, stat per write 0.06.`,
        'raw fs.writeSync measures Buffer.byteLength + buf.write per line; fdkeeper concatenates strings and encodes once per flush, which is why it can beat the raw row.',
      ],
    };
    return [group];
  },
};
