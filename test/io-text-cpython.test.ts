// Issue 12 item 7, text layer: sequences users write, run through CPython 3.11 (the oracle) and through
// fdkeeper, comparing returned values, tell() and the final bytes of the file. Where fdkeeper differs on
// purpose (docs/design.md, "Text layer decisions") the Python side states what Python does and why we
// do otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fc from 'fast-check';
import { BufferedFile } from '../src/io/buffered-file.js';
import { openSync, type OpenOptions } from '../src/io/open.js';
import { pipe } from '../src/io/pipe.js';
import { RawFile } from '../src/io/raw-file.js';
import { TextFile, type Newline, type TextEncoding, type TextOptions } from '../src/io/text-file.js';
import { ioFixture, rejectsFs, throwsFs } from './support/io-fixture.js';

const { table, file, read } = ioFixture('text-cpython');

const PYTHON = (() => {
  try {
    return execFileSync('python3', ['-c', 'import sys; print(sys.version_info[:2] >= (3, 11))'], {
      encoding: 'utf8',
    }).trim() === 'True'
      ? 'python3'
      : undefined;
  } catch {
    return undefined;
  }
})();
const skip = PYTHON === undefined ? 'python3 >= 3.11 is not installed' : false;

/** Runs `script` with `input` as JSON on stdin; the script prints one JSON value. */
function python(script: string, input: unknown): unknown {
  return JSON.parse(
    execFileSync(PYTHON ?? 'python3', ['-c', script], {
      input: JSON.stringify(input),
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    }),
  ) as unknown;
}

function topen(p: string, mode: string, options: Omit<OpenOptions, 'table'> = {}): TextFile {
  const f = openSync(p, mode, { ...options, table });
  assert.ok(f instanceof TextFile);
  return f;
}

/** A text stack over a buffer of exactly `size` bytes. */
function tiny(p: string, mode: string, size: number, options: TextOptions = {}): TextFile {
  const raw = openSync(p, `${mode}b`, { table, buffering: 0 });
  assert.ok(raw instanceof RawFile);
  return new TextFile(new BufferedFile(raw, size), mode, options);
}

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : Buffer.from(x))));

// ---------------------------------------------------------------- tell() and write after readline over replaced bytes

/** The inputs: a line, then a second line with invalid bytes (old tell(): 2, -6, -58, …). */
const INVALID_SECOND_LINE: readonly Buffer[] = [
  bytes('abc\nxxxxxxxxxx', [0xff], 'y\n'),
  bytes('abc\n', Array<number>(5).fill(0xff), 'y\n'),
  bytes('abc\n', Array<number>(31).fill(0xff), 'y\n'),
  bytes('abc\n', [0xe2, 0x82, 0x41, 0xf0, 0x9f, 0x98, 0xc3], '\u00e9\n'),
  bytes('abc\n', [0xed, 0xa0, 0x80, 0xef, 0xbf, 0xbd, 0x80, 0xc0, 0xaf], 'y\n'),
];

const WRITE_AFTER_READLINE = `
import json, sys
out = []
for case in json.load(sys.stdin):
    with open(case['path'], 'wb') as f: f.write(bytes.fromhex(case['hex']))
    f = open(case['path'], 'r+', errors='replace', newline=case['newline'])
    line = f.readline()
    t = f.tell()
    # CPython writes after its own read-ahead (bpo-12215) unless told where: seek(tell()) first.
    f.seek(t)
    n = f.write('Z')
    t2 = f.tell()
    f.close()
    out.append({'line': line, 'tell': t, 'wrote': n, 'tellAfter': t2, 'final': open(case['path'], 'rb').read().hex()})
print(json.dumps(out))
`;

test(
  'r+ with errors replace: readline over invalid bytes, tell(), write: exact offsets, as CPython (issue inputs)',
  { skip },
  async () => {
    const cases = INVALID_SECOND_LINE.flatMap((data, i) =>
      ([null, '', '\n'] as Newline[]).map((newline, j) => ({
        path: file(`wr-${i}-${j}.txt`),
        hex: data.toString('hex'),
        newline,
      })),
    );
    const expected = python(WRITE_AFTER_READLINE, cases) as {
      line: string;
      tell: number;
      wrote: number;
      tellAfter: number;
      final: string;
    }[];
    for (const [k, c] of cases.entries()) {
      for (const form of ['sync', 'promise', 'tiny buffer'] as const) {
        fs.writeFileSync(c.path, Buffer.from(c.hex, 'hex'));
        const f =
          form === 'tiny buffer'
            ? tiny(c.path, 'r+', 3, { newline: c.newline })
            : topen(c.path, 'r+', { newline: c.newline });
        const where = `${c.hex} newline ${JSON.stringify(c.newline)} ${form}`;
        try {
          const line = form === 'promise' ? await f.readline() : f.readlineSync();
          const t = f.tell();
          const wrote = form === 'promise' ? await f.write('Z') : f.writeSync('Z');
          const t2 = f.tell();
          if (form === 'promise') await f.close();
          else f.closeSync();
          assert.deepEqual(
            { line, tell: t, wrote, tellAfter: t2, final: read(c.path).toString('hex') },
            expected[k],
            where,
          );
        } finally {
          f.closeSync();
        }
      }
    }
    // The first input, spelled out: 'Z' lands at offset 4, over the first 'x'.
    const first = expected[0];
    assert.ok(first !== undefined);
    assert.equal(first.final, bytes('abc\nZxxxxxxxxx', [0xff], 'y\n').toString('hex'));
    assert.equal(first.tell, 4);
  },
);

// ---------------------------------------------------------------- random reads over invalid bytes

/** Byte tokens: valid characters of 1-4 bytes, line endings, and the kinds of invalid UTF-8. */
const UTF8_TOKENS: readonly number[][] = [
  [0x61],
  [0x62],
  [0x0a],
  [0x0d],
  [0x0d, 0x0a],
  [0xc3, 0xa9],
  [0xe2, 0x82, 0xac],
  [0xf0, 0x9f, 0x98, 0x80],
  [0xef, 0xbf, 0xbd], // a genuine U+FFFD
  [0xff],
  [0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xed, 0xa0, 0x80],
  [0xc0, 0xaf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe0, 0x80],
];
/** UTF-16LE code units: letters, endings, a pair, lone surrogates; a file may also end on an odd byte. */
const UTF16_TOKENS: readonly number[][] = [
  [0x61, 0],
  [0x0a, 0],
  [0x0d, 0],
  [0xe9, 0],
  [0x3d, 0xd8, 0x00, 0xde],
  [0x00, 0xd8],
  [0x00, 0xdc],
];
const BYTE_TOKENS: readonly number[][] = [[0x61], [0x0a], [0x0d], [0xe9], [0x80], [0xff]];

type Op = readonly ['readline' | 'read', number];

const RANDOM_READS = `
import json, sys
out = []
for case in json.load(sys.stdin):
    with open(case['path'], 'wb') as f: f.write(bytes.fromhex(case['hex']))
    steps = []
    with open(case['path'], 'r', encoding=case['encoding'], errors='replace', newline=case['newline']) as f:
        for op, n in case['ops']:
            s = f.readline(n) if op == 'readline' else f.read(n)
            t = f.tell()
            # A cookie above 2**64 carries decoder state (a pending '\\r', characters to skip): opaque.
            steps.append([s, t if t < 2**64 else None])
    out.append(steps)
print(json.dumps(out))
`;

/** What the first `end` bytes of each file decode to, by CPython (with universal newlines translated). */
const PREFIX_DECODE = `
import json, sys
out = []
for case in json.load(sys.stdin):
    data = bytes.fromhex(case['hex'])
    texts = []
    for end in case['ends']:
        t = data[:end].decode(case['encoding'], 'replace')
        texts.append(t.replace('\\r\\n', '\\n').replace('\\r', '\\n') if case['newline'] is None else t)
    out.append(texts)
print(json.dumps(out))
`;

test(
  'random reads over random valid and invalid bytes: same strings and same tell() as CPython, every encoding and newline mode',
  { skip },
  async () => {
    const encodings: Readonly<Record<string, { python: string; tokens: readonly number[][] }>> = {
      utf8: { python: 'utf-8', tokens: UTF8_TOKENS },
      utf16le: { python: 'utf-16-le', tokens: UTF16_TOKENS },
      latin1: { python: 'latin-1', tokens: BYTE_TOKENS },
      ascii: { python: 'ascii', tokens: BYTE_TOKENS },
    };
    const caseArb = fc.record({
      encoding: fc.constantFrom(...Object.keys(encodings)),
      picks: fc.array(fc.nat(), { maxLength: 40 }),
      odd: fc.boolean(),
      newline: fc.constantFrom<Newline>(null, '', '\n', '\r', '\r\n'),
      ops: fc.array(fc.tuple(fc.constantFrom('readline' as const, 'read' as const), fc.integer({ min: -1, max: 5 })), {
        minLength: 1,
        maxLength: 12,
      }),
      size: fc.constantFrom(1, 2, 3, 4, 5, 7, 64),
      sync: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    });
    const samples = fc.sample(caseArb, { numRuns: 300, seed: 12 });
    const cases = samples.map((c, i) => {
      const enc = encodings[c.encoding] ?? { python: 'utf-8', tokens: UTF8_TOKENS };
      let data = Buffer.concat(c.picks.map((k) => Buffer.from(enc.tokens[k % enc.tokens.length] ?? [])));
      if (c.odd && c.encoding === 'utf16le') data = Buffer.concat([data, Buffer.from([0x41])]);
      return { ...c, path: file(`rnd-${i}.txt`, data), hex: data.toString('hex'), pyEncoding: enc.python };
    });
    const expected = python(
      RANDOM_READS,
      cases.map((c) => ({ path: c.path, hex: c.hex, encoding: c.pyEncoding, newline: c.newline, ops: c.ops })),
    ) as [string, number | null][][];
    const got: [string, number][][] = [];
    for (const [k, c] of cases.entries()) {
      const f = tiny(c.path, 'r', c.size, { encoding: c.encoding as TextEncoding, newline: c.newline });
      try {
        const steps: [string, number][] = [];
        for (const [j, [op, n]] of c.ops.entries()) {
          const sync = c.sync[j] === true;
          const s =
            op === 'readline'
              ? sync
                ? f.readlineSync(n)
                : await f.readline(n)
              : sync
                ? f.readSync(n)
                : await f.read(n);
          steps.push([s, f.tell()]);
        }
        got.push(steps);
        // Where CPython's tell() is a byte offset it must be ours; where it is an opaque cookie, the check below.
        const comparable = steps.map(([str, t], j) => [str, expected[k]?.[j]?.[1] === null ? null : t]);
        assert.deepEqual(
          comparable,
          expected[k],
          `${c.encoding} ${c.hex} newline ${JSON.stringify(c.newline)} buffer ${c.size} ops ${JSON.stringify(c.ops as readonly Op[])}`,
        );
      } finally {
        f.closeSync();
      }
    }
    // Every tell() is the byte offset of the next character: the bytes before it decode (CPython) to
    // exactly what was returned so far.
    const prefixes = python(
      PREFIX_DECODE,
      cases.map((c, k) => ({
        hex: c.hex,
        encoding: c.pyEncoding,
        newline: c.newline,
        ends: (got[k] ?? []).map(([, t]) => t),
      })),
    ) as string[][];
    let opaque = 0;
    for (const [k, c] of cases.entries()) {
      const steps = got[k] ?? [];
      opaque += (expected[k] ?? []).filter(([, t]) => t === null).length;
      for (const j of steps.keys()) {
        const sofar = steps
          .slice(0, j + 1)
          .map(([str]) => str)
          .join('');
        assert.equal(
          prefixes[k]?.[j],
          sofar,
          `${c.encoding} ${c.hex} newline ${JSON.stringify(c.newline)} buffer ${c.size} ops ${JSON.stringify(c.ops as readonly Op[])}: step ${j} tell ${steps[j]?.[1]}`,
        );
      }
    }
    assert.ok(opaque > 0, 'the sample includes positions where CPython returns an opaque cookie');
  },
);

// ---------------------------------------------------------------- strict reads that fail part-way

const STRICT_FAILURE = `
import json, sys
case = json.load(sys.stdin)
with open(case['path'], 'wb') as f: f.write(bytes.fromhex(case['hex']))
f = open(case['path'], 'r')
out = {}
try:
    f.read(10)
except UnicodeDecodeError as e:
    out['error'] = type(e).__name__
out['tellAfter'] = f.tell()
out['next'] = f.read(3)
print(json.dumps(out))
`;

test(
  'strict read(n) that meets invalid bytes part-way consumes nothing (CPython drops the whole chunk)',
  { skip },
  async () => {
    const data = bytes('abcdef', [0xff], 'gh');
    const p = file('strict.txt', data);
    // CPython 3.11: the error, and the position has moved past everything read, 'abcdef' is gone.
    assert.deepEqual(python(STRICT_FAILURE, { path: file('strict-py.txt'), hex: data.toString('hex') }), {
      error: 'UnicodeDecodeError',
      tellAfter: 9,
      next: '',
    });
    for (const size of [1, 2, 3, 4, 7, 64, 8192]) {
      for (const sync of [true, false]) {
        const f = tiny(p, 'r', size, { errors: 'strict' });
        const where = `buffer ${size} ${sync ? 'sync' : 'promise'}`;
        try {
          const e = sync ? throwsFs(() => f.readSync(10), 'EILSEQ') : await rejectsFs(f.read(10), 'EILSEQ');
          assert.match(e.message, /at byte 6\b/, where);
          assert.equal(f.tell(), 0, `${where}: nothing consumed`);
          assert.equal(sync ? f.readSync(3) : await f.read(3), 'abc', where);
          assert.equal(f.tell(), 3, where);
          if (sync) throwsFs(() => f.readlineSync(), 'EILSEQ');
          else await rejectsFs(f.readline(), 'EILSEQ');
          if (sync) throwsFs(() => f.readSync(), 'EILSEQ');
          else await rejectsFs(f.read(), 'EILSEQ');
          assert.equal(f.tell(), 3, `${where}: failed calls consumed nothing`);
          assert.equal(sync ? f.readSync(3) : await f.read(3), 'def', where);
          if (sync)
            throwsFs(() => f.readSync(1), 'EILSEQ'); // and again, at the same byte
          else await rejectsFs(f.read(1), 'EILSEQ');
          assert.equal(f.tell(), 6, where);
          f.seekSync(7);
          assert.equal(f.readSync(), 'gh', `${where}: past the bad byte, reading goes on`);
        } finally {
          f.closeSync();
        }
      }
    }
  },
);

test('strict: a line before the invalid bytes still reads; a read across a chunk boundary fails with the position kept', () => {
  const p = file('strict2.txt', bytes('abc\n', 'x'.repeat(10000), [0xff], 'tail'));
  for (const encoding of ['utf8', 'ascii'] as const) {
    const f = topen(p, 'r', { errors: 'strict', encoding });
    try {
      assert.equal(f.readlineSync(), 'abc\n');
      throwsFs(() => f.readSync(20000), 'EILSEQ', /at byte 10004\b/);
      assert.equal(f.tell(), 4);
      assert.equal(f.readSync(9999), 'x'.repeat(9999));
      assert.equal(f.readSync(1), 'x');
      throwsFs(() => f.readlineSync(), 'EILSEQ');
      assert.equal(f.tell(), 10004);
    } finally {
      f.closeSync();
    }
  }
  const q = file(
    'strict16.txt',
    Buffer.concat([Buffer.from('ab\n', 'utf16le'), Buffer.from([0x00, 0xdc]), Buffer.from('c', 'utf16le')]),
  );
  const g = tiny(q, 'r', 3, { errors: 'strict', encoding: 'utf16le' });
  try {
    assert.equal(g.readlineSync(), 'ab\n');
    throwsFs(() => g.readSync(2), 'EILSEQ', /lone surrogate/);
    assert.equal(g.tell(), 6);
  } finally {
    g.closeSync();
  }
});

test('strict read() of everything that fails consumes nothing: translating (segments translated early, then rewound) and on a pipe', async () => {
  // Many small segments, \r\n split across some of them, then a bad byte: read() translates each segment
  // as it decodes it and drops its raw text; on the error it must seek back to where it started.
  const body = 'ab\r\ncd\re\r\n'.repeat(40);
  const p = file('strict-all.txt', bytes(body, [0xff], 'tail\r\n'));
  for (const size of [3, 7, 64, 8192]) {
    for (const sync of [true, false]) {
      const f = tiny(p, 'r', size, { errors: 'strict' });
      const where = `buffer ${size} ${sync ? 'sync' : 'promise'}`;
      try {
        assert.equal(f.readlineSync(), 'ab\n');
        if (sync) throwsFs(() => f.readSync(), 'EILSEQ', new RegExp(`at byte ${body.length}\\b`));
        else await rejectsFs(f.read(), 'EILSEQ', new RegExp(`at byte ${body.length}\\b`));
        assert.equal(f.tell(), 4, `${where}: nothing consumed`);
        assert.equal(f.readlineSync(), 'cd\n', where);
        assert.equal(f.tell(), 7, where);
        const rest = body.slice(7).replace(/\r\n?/g, '\n');
        assert.equal(sync ? f.readSync(rest.length) : await f.read(rest.length), rest, where);
        assert.equal(f.tell(), body.length, where);
        if (sync) throwsFs(() => f.readSync(), 'EILSEQ');
        else await rejectsFs(f.read(), 'EILSEQ');
        assert.equal(f.tell(), body.length, where);
      } finally {
        f.closeSync();
      }
    }
  }
  // A pipe cannot seek back: there the raw text is kept instead, and nothing is lost either.
  using pp = pipe({ table });
  pp.writer.writeSync(bytes('x\r\ny\r\n'.repeat(3000), [0xff]));
  pp.writer.closeSync();
  const t = new TextFile(new BufferedFile(pp.reader, 1024), 'r', { errors: 'strict' });
  try {
    throwsFs(() => t.readSync(), 'EILSEQ');
    assert.equal(t.readlineSync(), 'x\n');
    assert.equal(t.readSync(11_998), 'y\n' + 'x\ny\n'.repeat(2999));
    throwsFs(() => t.readSync(), 'EILSEQ');
  } finally {
    t.closeSync();
  }
});

// ---------------------------------------------------------------- write(): its count, its checks

const WRITE_COUNT = `
import json, sys
out = []
for case in json.load(sys.stdin):
    with open(case['path'], 'w', newline=case['newline']) as f:
        out.append(f.write(case['s']))
    out.append(open(case['path'], 'rb').read().hex())
print(json.dumps(out))
`;

test("write() returns code points as Python does ('a😀b' is 3), sync and promise", { skip }, async () => {
  const strings = ['a😀b', '😀😀\n', 'é\r\n€', ''];
  const cases = strings.flatMap((s) =>
    ([null, '\r\n'] as Newline[]).map((newline) => ({ s, newline, path: file('count.txt') })),
  );
  const expected = python(WRITE_COUNT, cases) as (number | string)[];
  assert.equal(expected[0], 3);
  for (const [k, c] of cases.entries()) {
    for (const sync of [true, false]) {
      const f = topen(c.path, 'w', { newline: c.newline });
      const n = sync ? f.writeSync(c.s) : await f.write(c.s);
      await f.close();
      assert.deepEqual(
        [n, read(c.path).toString('hex')],
        [expected[2 * k], expected[2 * k + 1]],
        `${JSON.stringify(c.s)} ${sync ? 'sync' : 'promise'}`,
      );
    }
  }
});

const WRITE_STATE = `
import json, sys
p = json.load(sys.stdin)
out = []
f = open(p, 'r', encoding='ascii', errors='strict'); f.close()
try: f.write('\\udc80\\u00e9')
except Exception as e: out.append(type(e).__name__)
f = open(p, 'r', encoding='ascii', errors='strict')
try: f.write('\\udc80\\u00e9')
except Exception as e: out.append(type(e).__name__)
f.close()
print(json.dumps(out))
`;

test(
  'write() on a closed or read-only file is EBADF before the string is encoded, in both forms (Python: the state error too)',
  { skip },
  async () => {
    const p = file('state.txt', 'abc');
    assert.deepEqual(python(WRITE_STATE, p), ['ValueError', 'UnsupportedOperation']);
    const unencodable = '\udc80é';
    const closed = topen(p, 'r', { encoding: 'ascii', errors: 'strict' });
    closed.closeSync();
    throwsFs(() => closed.writeSync(unencodable), 'EBADF');
    await rejectsFs(closed.write(unencodable), 'EBADF');
    const readOnly = topen(p, 'r', { encoding: 'ascii', errors: 'strict' });
    try {
      throwsFs(() => readOnly.writeSync(unencodable), 'EBADF');
      await rejectsFs(readOnly.write(unencodable), 'EBADF');
    } finally {
      readOnly.closeSync();
    }
    // Control: on a writable file the same string is the encoding error.
    const w = topen(file('state-w.txt'), 'w', { encoding: 'ascii', errors: 'strict' });
    try {
      await rejectsFs(w.write(unencodable), 'EILSEQ');
      throwsFs(() => w.writeSync(unencodable), 'EILSEQ');
    } finally {
      w.closeSync();
    }
  },
);
