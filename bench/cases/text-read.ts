/**
 * Text-read linearity (issue 12 item 6): `read()` of a whole text file, LF against CRLF against mixed
 * endings, at 10, 20 and 40 MB, sync and promise. One op is one MB of the file, so the ns/op column is the
 * time per MB: the same at every size when reading is linear. At 40 MB every newline mode is measured, and
 * each CRLF and mixed row must be within 1.5× of the LF row of the same mode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, openSync, type Newline } from '../../dist/index.js';
import type { BenchCase, BenchContext, Contender, Group, Target } from '../harness.js';

type Ending = 'LF' | 'CRLF' | 'mixed';
const ENDINGS: readonly Ending[] = ['LF', 'CRLF', 'mixed'];
const MODES: readonly (Newline | undefined)[] = [undefined, '', '\n', '\r', '\r\n'];
const SIZES = [10, 20, 40] as const;

interface TextFixture {
  readonly path: string;
  readonly bytes: number;
  /** UTF-16 units `read()` returns: with universal newlines (each `\r\n` one unit), and untranslated. */
  readonly translated: number;
  readonly raw: number;
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ';

/** Exactly `bytes` bytes of log-like UTF-8 lines (every 16th with non-ASCII), ending as `ending` says. */
function makeTextFile(file: string, bytes: number, ending: Ending): TextFixture {
  const endings = ending === 'LF' ? ['\n'] : ending === 'CRLF' ? ['\r\n'] : ['\n', '\r\n', '\r'];
  const fd = fs.openSync(file, 'w');
  let written = 0;
  let raw = 0;
  let crlf = 0;
  try {
    let batch: string[] = [];
    let batchBytes = 0;
    for (let i = 0; written + batchBytes < bytes; i++) {
      const start = (i * 7) % 60;
      let line = `${String(i).padStart(8, '0')} ${WORDS.slice(start, start + 20 + ((i * 13) % 60))}`;
      if (i % 16 === 0) line += ' café → ✓';
      const eol = endings[i % endings.length] ?? '\n';
      let full = line + eol;
      let len = Buffer.byteLength(full);
      const left = bytes - written - batchBytes;
      if (len > left) {
        full = 'x'.repeat(Math.max(0, left - eol.length)) + eol.slice(0, left);
        len = Buffer.byteLength(full);
      }
      batch.push(full);
      batchBytes += len;
      raw += full.length;
      if (full.endsWith('\r\n')) crlf++;
      if (batch.length === 10_000) {
        written += fs.writeSync(fd, batch.join(''));
        batch = [];
        batchBytes = 0;
      }
    }
    written += fs.writeSync(fd, batch.join(''));
  } finally {
    fs.closeSync(fd);
  }
  if (fs.statSync(file).size !== bytes) throw new Error(`${file}: ${fs.statSync(file).size} bytes, expected ${bytes}`);
  return { path: file, bytes, translated: raw - crlf, raw };
}

function textFile(ctx: BenchContext, mb: number, ending: Ending): Promise<TextFixture> {
  const bytes = Math.round(mb * 1e6);
  return ctx.fixture(`text-${ending}-${bytes}`, () =>
    makeTextFile(path.join(ctx.dir, `text-${ending}-${mb}mb.txt`), bytes, ending),
  );
}

function modeName(newline: Newline | undefined): string {
  return newline === undefined ? 'universal' : `newline ${JSON.stringify(newline)}`;
}

/** Reads the whole file once per `mb` iterations and checks the length of what it got. */
function reader(name: string, fx: TextFixture, mb: number, newline: Newline | undefined, sync: boolean): Contender {
  const want = newline === undefined ? fx.translated : fx.raw;
  const check = (s: string): void => {
    if (s.length !== want) throw new Error(`${name}: read ${s.length} characters, expected ${want}`);
  };
  return {
    name,
    short: name,
    run(n) {
      const times = n / mb;
      if (sync) {
        for (let i = 0; i < times; i++) {
          const f = openSync(fx.path, 'r', { newline });
          try {
            check(f.readSync());
          } finally {
            f.closeSync();
          }
        }
        return n;
      }
      return (async () => {
        for (let i = 0; i < times; i++) {
          const f = await open(fx.path, 'r', { newline });
          try {
            check(await f.read());
          } finally {
            await f.close();
          }
        }
        return n;
      })();
    },
  };
}

export const textRead: BenchCase = {
  name: 'textread',
  groupIds: [
    'textread-10m-sync',
    'textread-20m-sync',
    'textread-40m-sync',
    'textread-10m-promise',
    'textread-20m-promise',
    'textread-40m-promise',
  ],
  async groups(ctx) {
    const groups: Group[] = [];
    for (const sync of [true, false]) {
      for (const size of SIZES) {
        // --quick: a tenth of the size (the linearity shows as well, in well under a minute).
        const mb = ctx.quick ? size / 10 : size;
        const modes = size === 40 ? MODES : [undefined];
        const contenders: Contender[] = [];
        const targets: Target[] = [];
        const baselines: string[] = [];
        for (const newline of modes) {
          const names: Record<Ending, string> = { LF: '', CRLF: '', mixed: '' };
          for (const ending of ENDINGS) {
            const fx = await textFile(ctx, mb, ending);
            names[ending] = `${ending}, ${modeName(newline)}`;
            contenders.push(reader(names[ending], fx, mb, newline, sync));
          }
          baselines.push(names.LF);
          for (const ending of ['CRLF', 'mixed'] as const)
            targets.push({ contender: names[ending], vs: names.LF, atMost: 1.5, source: 'issue 12 item 6: ≤ 1.5× LF' });
        }
        const form = sync ? 'readSync()' : 'await read()';
        groups.push({
          id: `textread-${size}m-${sync ? 'sync' : 'promise'}`,
          title: `T${sync ? 1 : 2}${'abc'[SIZES.indexOf(size)] ?? ''}. text ${form} of a whole ${mb} MB file: LF vs CRLF vs mixed endings${size === 40 ? ', every newline mode' : ''}`,
          about: `One op = 1 MB of the file: each sample opens the ${mb} MB UTF-8 file in text mode, reads it with one ${form} and closes it, so ns/op is the time per MB (equal at 10, 20 and 40 MB when reading is linear). Mixed = \\n, \\r\\n and \\r in turn. Every read's length is checked. Ratios: against the LF file in the same newline mode.`,
          kind: 'latency',
          baselines,
          contenders,
          iterations: mb,
          expect: (n) => n,
          targets,
          showRatios: true,
        });
      }
    }
    return groups;
  },
};
