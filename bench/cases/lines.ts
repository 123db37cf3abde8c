/**
 * Buffered text line reading: Node's readline over a read stream against fdkeeper's text and buffered
 * layers, on a ~100 MB file of ~100-byte lines generated once per run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { open, openSync } from '../../dist/index.js';
import type { BenchCase, BenchContext, Contender, Group } from '../harness.js';

interface LineFile {
  readonly path: string;
  readonly bytes: number;
  readonly lines: number;
  /** UTF-16 code units in all lines, not counting the '\n' endings. */
  readonly chars: number;
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ';

/**
 * Log-like lines of 40–160 bytes (about 100 on average), every 16th with non-ASCII characters so the
 * UTF-8 decoding is real work.
 */
function makeLineFile(file: string, targetBytes: number): LineFile {
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let lines = 0;
  let chars = 0;
  let x = 0x2545f491;
  try {
    let batch: string[] = [];
    while (bytes < targetBytes) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const r = x >>> 0;
      const head = `2026-11-22T00:00:${String(lines % 60).padStart(2, '0')}.${String(lines % 1000).padStart(3, '0')}Z INFO req=${lines} `;
      const fill = 8 + (r % 121); // head is ~35 bytes, so lines are ~45–165 bytes, ~100 on average
      const start = (r >>> 8) % (WORDS.length - fill);
      let line = head + WORDS.slice(start, start + fill);
      if (lines % 16 === 0) line += ' café → ✓';
      batch.push(line);
      chars += line.length;
      bytes += Buffer.byteLength(line) + 1;
      lines++;
      if (batch.length === 10_000) {
        fs.writeSync(fd, batch.join('\n') + '\n');
        batch = [];
      }
    }
    if (batch.length > 0) fs.writeSync(fd, batch.join('\n') + '\n');
  } finally {
    fs.closeSync(fd);
  }
  const real = fs.statSync(file).size;
  if (real !== bytes) throw new Error(`line file is ${real} bytes, expected ${bytes}`);
  return { path: file, bytes, lines, chars };
}

async function lineFile(ctx: BenchContext): Promise<LineFile> {
  const target = ctx.quick ? 20e6 : 100e6;
  return ctx.fixture(`lines-${target}`, () => makeLineFile(path.join(ctx.dir, 'lines.txt'), target));
}

const READLINE = 'node:readline over fs.createReadStream (for await)';
const REFERENCE = 'reference: node:fs readSync 64 KiB + StringDecoder + indexOf';

/** Length of a line without its '\n' (fdkeeper keeps line endings; readline strips them). */
function bare(line: string): number {
  return line.charCodeAt(line.length - 1) === 10 ? line.length - 1 : line.length;
}

export const lines: BenchCase = {
  name: 'lines',
  groupIds: ['lines'],
  async groups(ctx) {
    const lf = await lineFile(ctx);
    const p = lf.path;

    /** A contender that counts lines and characters; `check` verifies both after every sample. */
    function counting(
      name: string,
      unitsPerPass: number,
      body: (tally: { chars: number }) => number | Promise<number>,
      short?: string,
    ): Contender {
      let last = 0;
      return {
        name,
        ...(short === undefined ? {} : { short }),
        async run(n) {
          const tally = { chars: 0 };
          let count = 0;
          for (let i = 0; i < n; i++) count += await body(tally);
          last = tally.chars;
          return count;
        },
        check(n) {
          return last === n * unitsPerPass
            ? undefined
            : `content check: counted ${last} characters/bytes, expected ${n * unitsPerPass}`;
        },
      };
    }

    const group: Group = {
      id: 'lines',
      title: `4. buffered text line reading, ${(lf.bytes / 1e6).toFixed(0)} MB file of ${lf.lines.toLocaleString('en-US')} lines`,
      about: `One op = open the file, iterate over every line (UTF-8, ~${Math.round(lf.bytes / lf.lines)} bytes per line, every 16th with non-ASCII characters), close it. Every row counts the lines and their characters (bytes for the binary rows) and is checked against the generated file after every sample. The reference row is a hand-written loop: a floor for "read and split into strings" in JavaScript, not a library.`,
      kind: 'throughput',
      bytesPerOp: lf.bytes,
      itemsPerOp: { count: lf.lines, unit: 'lines' },
      iterations: 1,
      baselines: [READLINE, REFERENCE],
      expect: (n) => n * lf.lines,
      contenders: [
        counting(
          READLINE,
          lf.chars,
          async (t) => {
            const rl = readline.createInterface({ input: fs.createReadStream(p), crlfDelay: Infinity });
            let count = 0;
            for await (const line of rl) {
              count++;
              t.chars += line.length;
            }
            return count;
          },
          'readline',
        ),
        counting("fdkeeper for await (line of await open(p, 'r'))", lf.chars, async (t) => {
          const f = await open(p, 'r');
          let count = 0;
          try {
            for await (const line of f) {
              count++;
              t.chars += bare(line);
            }
          } finally {
            await f.close();
          }
          return count;
        }),
        counting("fdkeeper for (line of openSync(p, 'r'))", lf.chars, (t) => {
          const f = openSync(p, 'r');
          let count = 0;
          try {
            for (const line of f) {
              count++;
              t.chars += bare(line);
            }
          } finally {
            f.closeSync();
          }
          return count;
        }),
        counting("fdkeeper for (line of openSync(p, 'rb')) (Buffer lines)", lf.bytes, (t) => {
          const f = openSync(p, 'rb');
          let count = 0;
          try {
            for (const line of f) {
              count++;
              t.chars += line.length;
            }
          } finally {
            f.closeSync();
          }
          return count;
        }),
        counting("fdkeeper for await (line of await open(p, 'rb')) (Buffer lines)", lf.bytes, async (t) => {
          const f = await open(p, 'rb');
          let count = 0;
          try {
            for await (const line of f) {
              count++;
              t.chars += line.length;
            }
          } finally {
            await f.close();
          }
          return count;
        }),
        counting(
          REFERENCE,
          lf.chars,
          (t) => {
            const fd = fs.openSync(p, 'r');
            const buf = Buffer.allocUnsafe(64 * 1024);
            const decoder = new StringDecoder('utf8');
            let carry = '';
            let count = 0;
            try {
              for (;;) {
                const got = fs.readSync(fd, buf, 0, buf.length, null);
                if (got === 0) break;
                const s = carry + decoder.write(buf.subarray(0, got));
                let start = 0;
                for (;;) {
                  const nl = s.indexOf('\n', start);
                  if (nl < 0) break;
                  const line = s.slice(start, nl);
                  count++;
                  t.chars += line.length;
                  start = nl + 1;
                }
                carry = s.slice(start);
              }
              const rest = carry + decoder.end();
              if (rest.length > 0) {
                count++;
                t.chars += rest.length;
              }
            } finally {
              fs.closeSync(fd);
            }
            return count;
          },
          'reference',
        ),
      ],
      targets: [
        { contender: "fdkeeper for await (line of await open(p, 'r'))", atLeast: 1.0, source: 'issue: ≥ readline' },
        { contender: "fdkeeper for (line of openSync(p, 'r'))", atLeast: 1.0, source: 'issue: ≥ readline' },
      ],
    };
    return [group];
  },
};
