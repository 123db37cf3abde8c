// Issue 12 item 6: text reads must be linear in the size of the text in every newline mode. Checked by
// counting the work the read path does (TextFile.work: UTF-16 units decoded, searched, counted, translated
// and copied), never by a clock: the machine is shared and CI machines are cold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferedFile } from '../src/io/buffered-file.js';
import { openSync } from '../src/io/open.js';
import { RawFile } from '../src/io/raw-file.js';
import { TextFile, type Newline } from '../src/io/text-file.js';
import { ioFixture } from './support/io-fixture.js';
import { work } from '../src/io/io-base.js';

const { table, file } = ioFixture('text-linear');

/** A text stack over a buffer of `size` bytes: many small chunks make quadratic work show at small sizes. */
function small(p: string, size: number, newline: Newline | undefined): TextFile {
  const raw = openSync(p, 'rb', { table, buffering: 0 });
  assert.ok(raw instanceof RawFile);
  return new TextFile(new BufferedFile(raw, size), 'r', { newline });
}

const LINE = 'lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor ';
/** Line endings of each file kind; `mixed` cycles through all three. */
const KINDS: Readonly<Record<string, readonly string[]>> = {
  lf: ['\n'],
  crlf: ['\r\n'],
  cr: ['\r'],
  mixed: ['\n', '\r\n', '\r'],
  none: [''],
};

function content(kind: string, chars: number): string {
  const endings = KINDS[kind] ?? [];
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < chars; i++) {
    const line = LINE.slice(0, 20 + (i % 60)) + (endings[i % endings.length] ?? '');
    lines.push(line);
    n += line.length;
  }
  return lines.join('');
}

const MODES: readonly (Newline | undefined)[] = [undefined, '', '\n', '\r', '\r\n'];

type Reader = (f: TextFile) => Promise<void>;

/** Calls `call` until it returns `''` (end of file). */
async function drain(call: () => string | Promise<string>): Promise<void> {
  while ((await call()) !== '') {
    // on
  }
}

const READERS: Readonly<Record<string, Reader>> = {
  'readSync()': (f) => drain(() => f.readSync()),
  'read()': (f) => drain(() => f.read()),
  'readSync(1000)': (f) => drain(() => f.readSync(1000)),
  'read(100000) (one call spanning many chunks)': (f) => drain(() => f.read(100_000)),
  'readlineSync()': (f) => drain(() => f.readlineSync()),
  'readlineSync(7)': (f) => drain(() => f.readlineSync(7)),
  'readline(7)': (f) => drain(() => f.readline(7)),
  'for await': async (f) => {
    for await (const line of f) assert.ok(line.length > 0);
  },
  'readline() + tell() per line': (f) =>
    drain(() => {
      const line = f.readlineSync();
      f.tell();
      return line;
    }),
};

/** Work per character of text allowed: each unit is decoded, searched, counted and copied a few times. */
const PER_CHAR = 8;

test('text reads do work linear in the text: every newline mode, every ending mix, every read call', async () => {
  const chars = 60_000;
  for (const kind of Object.keys(KINDS)) {
    const text = content(kind, chars);
    const p = file(`${kind}.txt`, text);
    for (const newline of MODES) {
      for (const [name, reader] of Object.entries(READERS)) {
        // 256-byte chunks: ~240 of them. The old code re-searched everything accumulated for every chunk:
        // ~120 times the text for one read() — 15 times the bound.
        const f = small(p, 256, newline);
        try {
          await reader(f);
          assert.ok(
            f[work] <= PER_CHAR * text.length,
            `${kind} newline ${JSON.stringify(newline)} ${name}: ${f[work]} units of work for ${text.length} characters (> ${PER_CHAR} per character)`,
          );
        } finally {
          f.closeSync();
        }
      }
    }
  }
});

test('work per character does not grow with the file (1x vs 4x the text, 64 KiB chunks)', async () => {
  for (const kind of ['lf', 'crlf', 'mixed', 'none']) {
    const sizes = [100_000, 400_000].map((chars) => {
      const text = content(kind, chars);
      return { length: text.length, p: file(`${kind}-${chars}.txt`, text) };
    });
    for (const newline of MODES) {
      for (const name of ['read()', 'readSync(1000)', 'readlineSync(7)', 'readline() + tell() per line']) {
        const reader = READERS[name] as Reader;
        const perChar: number[] = [];
        for (const { length, p } of sizes) {
          const f = small(p, 64 * 1024, newline);
          try {
            await reader(f);
            perChar.push(f[work] / length);
          } finally {
            f.closeSync();
          }
        }
        const [a = 0, b = 0] = perChar;
        assert.ok(
          b <= a * 1.25 + 0.05,
          `${kind} newline ${JSON.stringify(newline)} ${name}: ${a.toFixed(2)} units per character at 1x, ${b.toFixed(2)} at 4x`,
        );
      }
    }
  }
});

test('the work counter sees quadratic reading: a caller that asks for the whole rest again and again', () => {
  // Control: the counter is not blind. Re-reading from the start after every line (seek(0) + skip) is
  // quadratic on purpose, and the same bound must catch it.
  const text = content('crlf', 20_000);
  const p = file('control.txt', text);
  const f = small(p, 256, undefined);
  try {
    for (let lines = 1; ; lines++) {
      f.seekSync(0);
      let k = 0;
      for (; k < lines; k++) if (f.readlineSync() === '') break;
      if (k < lines) break;
    }
    assert.ok(f[work] > PER_CHAR * text.length, `quadratic reading did ${f[work]} units for ${text.length} characters`);
  } finally {
    f.closeSync();
  }
});
