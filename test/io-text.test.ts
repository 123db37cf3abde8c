import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { EOL } from 'node:os';
import fc from 'fast-check';
import { BufferedFile } from '../src/io/buffered-file.js';
import { open, openSync, type OpenOptions } from '../src/io/open.js';
import { RawFile } from '../src/io/raw-file.js';
import { TextFile, type Newline, type TextOptions } from '../src/io/text-file.js';
import { codePoints, ioFixture, rejectsFs, throwsFs, allRejectFs } from './support/io-fixture.js';

const { table, file, read } = ioFixture('text');

function topen(p: string, mode = 'r', options: Omit<OpenOptions, 'table'> = {}): TextFile {
  const f = openSync(p, mode, { ...options, table });
  assert.ok(f instanceof TextFile, `${mode} gives a TextFile`);
  return f;
}

/**
 * A text stack over a buffer of exactly `size` bytes (open() reserves buffering 1 for line buffering, so
 * a 1-byte buffer needs the constructors).
 */
function tiny(p: string, mode: string, size: number, options: TextOptions = {}): TextFile {
  const raw = openSync(p, mode.includes('b') ? mode : `${mode}b`, { table, buffering: 0 });
  assert.ok(raw instanceof RawFile);
  return new TextFile(new BufferedFile(raw, size), mode, options);
}

const TINY = [1, 2, 3, 4, 5, 6, 7];
/** 1-, 2-, 3- and 4-byte UTF-8 characters, the 4-byte ones being UTF-16 surrogate pairs. */
const SAMPLE = 'aé€😀b\nßü中文𐍈\n😀😀x€\n';

test('text modes give a TextFile; utf-8 by default', async () => {
  const p = file('kind.txt', 'héllo');
  const f = topen(p);
  assert.equal(f.encoding, 'utf8');
  assert.equal(f.mode, 'r');
  assert.equal(f.readSync(), 'héllo');
  f.closeSync();
  const g = await open(p, 'rt', { table });
  assert.ok(g instanceof TextFile);
  assert.equal(await g.read(), 'héllo');
  await g.close();
});

test('read, readline and iteration, sync and async', async () => {
  const p = file('basic.txt', 'one\ntwo\n\nthree');
  {
    using f = topen(p);
    assert.equal(f.readlineSync(), 'one\n');
    assert.equal(f.readSync(2), 'tw');
    assert.equal(f.readlineSync(), 'o\n');
    assert.deepEqual(f.readlinesSync(), ['\n', 'three']);
    assert.equal(f.readlineSync(), '');
    assert.equal(f.readSync(), '');
    assert.equal(f.readSync(5), '');
  }
  {
    await using f = topen(p);
    assert.equal(await f.readline(), 'one\n');
    assert.equal(await f.read(2), 'tw');
    assert.deepEqual(await f.readlines(), ['o\n', '\n', 'three']);
    assert.equal(await f.readline(), '');
    assert.equal(await f.read(), '');
  }
  {
    using f = topen(p);
    const got: string[] = [];
    for (const line of f) got.push(line);
    assert.deepEqual(got, ['one\n', 'two\n', '\n', 'three']);
  }
  {
    await using f = topen(p);
    const got: string[] = [];
    for await (const line of f) got.push(line);
    assert.deepEqual(got, ['one\n', 'two\n', '\n', 'three']);
  }
  {
    await using f = topen(p);
    const got: string[] = [];
    for await (const line of f.lines({ keepends: false })) got.push(line);
    assert.deepEqual(got, ['one', 'two', '', 'three']);
  }
  {
    using f = topen(p);
    assert.deepEqual([...f.linesSync({ keepends: false })], ['one', 'two', '', 'three']);
  }
});

test('multi-byte characters are never split, whatever the buffer size and alignment (utf-8)', async () => {
  for (const size of TINY) {
    for (let pad = 0; pad < 4; pad++) {
      const text = 'x'.repeat(pad) + SAMPLE;
      const p = file('split8.txt', text);
      const chars = codePoints(text);
      // read(1) one character (code point) at a time, checking tell() at every character
      {
        using f = tiny(p, 'r', size);
        let bytes = 0;
        for (const ch of chars) {
          assert.equal(f.tell(), bytes, `size ${size} pad ${pad}: tell before ${JSON.stringify(ch)}`);
          assert.equal(f.readSync(1), ch, `size ${size} pad ${pad}`);
          bytes += Buffer.byteLength(ch);
        }
        assert.equal(f.readSync(1), '');
        assert.equal(f.tell(), Buffer.byteLength(text));
      }
      {
        await using f = tiny(p, 'r', size);
        const got: string[] = [];
        for (;;) {
          const c = await f.read(1);
          if (c === '') break;
          got.push(c);
        }
        assert.deepEqual(got, chars, `size ${size} pad ${pad} async`);
      }
      // read(n) for several n counts characters
      for (const n of [2, 3, 5]) {
        using f = tiny(p, 'r', size);
        const got: string[] = [];
        for (;;) {
          const c = f.readSync(n);
          if (c === '') break;
          got.push(c);
        }
        assert.equal(got.join(''), text);
        for (const c of got.slice(0, -1))
          assert.equal(codePoints(c).length, n, `size ${size} pad ${pad} n ${n}: ${JSON.stringify(c)}`);
      }
      {
        using f = tiny(p, 'r', size);
        assert.deepEqual([...f], text.split(/(?<=\n)/), `size ${size} pad ${pad} lines`);
      }
      {
        await using f = tiny(p, 'r', size);
        assert.equal(await f.read(), text);
      }
    }
  }
});

test('utf-16le: surrogate pairs and code units are never split, whatever the buffer size', async () => {
  for (const size of TINY) {
    for (let pad = 0; pad < 2; pad++) {
      const text = 'x'.repeat(pad) + SAMPLE;
      const p = file('split16.txt', Buffer.from(text, 'utf16le'));
      const chars = codePoints(text);
      {
        using f = tiny(p, 'r', size, { encoding: 'utf16le' });
        let bytes = 0;
        for (const ch of chars) {
          assert.equal(f.tell(), bytes);
          assert.equal(f.readSync(1), ch, `size ${size} pad ${pad}`);
          bytes += Buffer.byteLength(ch, 'utf16le');
        }
        assert.equal(f.readSync(1), '');
      }
      {
        await using f = tiny(p, 'r', size, { encoding: 'utf-16le' });
        const lines: string[] = [];
        for await (const line of f) lines.push(line);
        assert.deepEqual(lines, text.split(/(?<=\n)/));
      }
    }
  }
});

test('utf-16le writes and reads back with surrogate pairs', async () => {
  const p = file('w16.txt');
  {
    await using f = await open(p, 'w', { table, encoding: 'utf16le', buffering: 3 });
    for (const ch of SAMPLE) await f.write(ch);
  }
  assert.deepEqual(read(p), Buffer.from(SAMPLE, 'utf16le'));
});

test('\\r\\n split across buffer boundaries is one line ending (universal newlines)', async () => {
  const text = 'a\r\nbb\r\nccc\r\n\r\nd\re\r\r\nf';
  const want = ['a\n', 'bb\n', 'ccc\n', '\n', 'd\n', 'e\n', '\n', 'f'];
  const wantRaw = ['a\r\n', 'bb\r\n', 'ccc\r\n', '\r\n', 'd\r', 'e\r', '\r\n', 'f'];
  const p = file('crlf.txt', text);
  for (const size of TINY) {
    {
      using f = tiny(p, 'r', size);
      assert.deepEqual([...f], want, `size ${size}`);
    }
    {
      await using f = tiny(p, 'r', size);
      const got: string[] = [];
      for await (const line of f) got.push(line);
      assert.deepEqual(got, want, `size ${size} async`);
    }
    {
      using f = tiny(p, 'r', size);
      assert.equal(f.readSync(), want.join(''));
    }
    {
      using f = tiny(p, 'r', size, { newline: '' });
      assert.deepEqual([...f], wantRaw, `size ${size} newline ''`);
    }
    {
      using f = tiny(p, 'r', size, { newline: '\r\n' });
      assert.deepEqual(
        [...f],
        ['a\r\n', 'bb\r\n', 'ccc\r\n', '\r\n', 'd\re\r\r\n', 'f'],
        `size ${size} newline \\r\\n`,
      );
    }
    // read(1) counts a translated \r\n as one character
    {
      using f = tiny(p, 'r', size);
      const got: string[] = [];
      for (;;) {
        const c = f.readSync(1);
        if (c === '') break;
        got.push(c);
      }
      assert.deepEqual(got, codePoints(want.join('')), `size ${size} read(1)`);
    }
  }
});

// Expected values from CPython 3.11 for b'a\nb\r\nc\rd\r\n\re'.
const NEWLINE_CASES: [Newline | undefined, string[], string][] = [
  [undefined, ['a\n', 'b\n', 'c\n', 'd\n', '\n', 'e'], 'a\nb\nc\nd\n\ne'],
  [null, ['a\n', 'b\n', 'c\n', 'd\n', '\n', 'e'], 'a\nb\nc\nd\n\ne'],
  ['', ['a\n', 'b\r\n', 'c\r', 'd\r\n', '\r', 'e'], 'a\nb\r\nc\rd\r\n\re'],
  ['\n', ['a\n', 'b\r\n', 'c\rd\r\n', '\re'], 'a\nb\r\nc\rd\r\n\re'],
  ['\r', ['a\nb\r', '\nc\r', 'd\r', '\n\r', 'e'], 'a\nb\r\nc\rd\r\n\re'],
  ['\r\n', ['a\nb\r\n', 'c\rd\r\n', '\re'], 'a\nb\r\nc\rd\r\n\re'],
];

test('every newline mode on read matches Python', async () => {
  const p = file('newlines.txt', 'a\nb\r\nc\rd\r\n\re');
  for (const [newline, lines, all] of NEWLINE_CASES) {
    for (const size of [1, 2, 3, 65536]) {
      const opts = { newline } as TextOptions;
      {
        using f = tiny(p, 'r', size, opts);
        assert.deepEqual(f.readlinesSync(), lines, `newline ${JSON.stringify(newline)} size ${size}`);
      }
      {
        await using f = tiny(p, 'r', size, opts);
        assert.deepEqual(await f.readlines(), lines, `newline ${JSON.stringify(newline)} size ${size} async`);
      }
      {
        using f = tiny(p, 'r', size, opts);
        assert.equal(f.readSync(), all);
      }
      {
        await using f = tiny(p, 'r', size, opts);
        let s = '';
        for (;;) {
          const c = await f.read(2);
          if (c === '') break;
          s += c;
        }
        assert.equal(s, all, `newline ${JSON.stringify(newline)} size ${size} read(2)`);
      }
    }
  }
});

test('every newline mode on write matches Python', async () => {
  const cases: [Newline | undefined, string][] = [
    [undefined, EOL === '\n' ? 'x\ny\r\nz\r' : 'x\r\ny\r\r\nz\r'],
    ['', 'x\ny\r\nz\r'],
    ['\n', 'x\ny\r\nz\r'],
    ['\r', 'x\ry\r\rz\r'],
    ['\r\n', 'x\r\ny\r\r\nz\r'],
  ];
  for (const [newline, want] of cases) {
    const p = file('wnl.txt');
    {
      using f = topen(p, 'w', { newline });
      assert.equal(f.writeSync('x\ny\r\nz\r'), 7);
    }
    assert.equal(read(p).toString(), want, `newline ${JSON.stringify(newline)}`);
    const q = file('wnl-async.txt');
    {
      await using f = topen(q, 'w', { newline });
      await f.write('x\n');
      await f.write('y\r\nz\r');
    }
    assert.equal(read(q).toString(), want, `newline ${JSON.stringify(newline)} async`);
  }
});

test('invalid UTF-8: replace gives U+FFFD, strict is EILSEQ (and stays an error)', async () => {
  const bad = Buffer.from([0x61, 0x62, 0xff, 0x63, 0x64, 0x0a, 0xc3, 0x28, 0x0a]);
  const p = file('bad.txt', bad);
  {
    using f = topen(p);
    assert.equal(f.errors, 'replace');
    assert.equal(f.readSync(), 'ab\ufffdcd\n\ufffd(\n');
  }
  for (const size of [1, 2, 65536]) {
    using f = tiny(p, 'r', size, { errors: 'replace' });
    assert.deepEqual([...f], ['ab\ufffdcd\n', '\ufffd(\n']);
  }
  {
    using f = topen(p, 'r', { errors: 'strict' });
    throwsFs(() => f.readSync(), 'EILSEQ', 'strict');
    throwsFs(() => f.readSync(), 'EILSEQ');
    throwsFs(() => f.readlineSync(), 'EILSEQ');
  }
  {
    await using f = topen(p, 'r', { errors: 'strict' });
    await rejectsFs(f.read(), 'EILSEQ');
    await rejectsFs(f.readline(), 'EILSEQ');
  }
});

test('an incomplete character at end of file: U+FFFD, or EILSEQ when strict (every time)', async () => {
  const p = file('trunc8.txt', Buffer.from([0x61, 0x62, 0xe2, 0x82]));
  for (const size of [1, 2, 3, 65536]) {
    {
      using f = tiny(p, 'r', size);
      assert.equal(f.readSync(), 'ab\ufffd');
    }
    {
      using f = tiny(p, 'r', size, { errors: 'strict' });
      assert.equal(f.readSync(2), 'ab');
      throwsFs(() => f.readSync(), 'EILSEQ', 'incomplete');
      throwsFs(() => f.readSync(), 'EILSEQ', 'incomplete');
    }
    {
      await using f = tiny(p, 'r', size, { errors: 'strict' });
      await rejectsFs(f.readline(), 'EILSEQ');
      await rejectsFs(f.readline(), 'EILSEQ');
    }
  }
  const q = file('odd16.txt', Buffer.from([0x61, 0x00, 0x62]));
  {
    using f = topen(q, 'r', { encoding: 'utf16le' });
    assert.equal(f.readSync(), 'a\ufffd', 'a dangling utf-16 byte is not dropped silently');
  }
  {
    using f = topen(q, 'r', { encoding: 'utf16le', errors: 'strict' });
    throwsFs(() => f.readSync(), 'EILSEQ');
  }
});

test('ascii: bytes above 0x7f are U+FFFD (replace) or EILSEQ (strict), never another letter', () => {
  const p = file('ascii.txt', Buffer.from([0x61, 0xe9, 0x62]));
  {
    using f = topen(p, 'r', { encoding: 'ascii' });
    assert.equal(f.readSync(1), 'a');
    assert.equal(f.readSync(1), '\ufffd');
    assert.equal(f.tell(), 2);
    assert.equal(f.readSync(), 'b');
  }
  {
    using f = topen(p, 'r', { encoding: 'ascii', errors: 'strict' });
    throwsFs(() => f.readSync(), 'EILSEQ');
  }
});

test('latin1 round-trips all 256 byte values', () => {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const p = file('latin1.txt', all);
  let s: string;
  {
    using f = topen(p, 'r', { encoding: 'latin1', newline: '' });
    s = f.readSync();
  }
  assert.equal(s.length, 256);
  const q = file('latin1-out.txt');
  {
    using f = topen(q, 'w', { encoding: 'latin1', newline: '' });
    f.writeSync(s);
  }
  assert.deepEqual(read(q), all);
});

test('characters the encoding cannot hold: EILSEQ when strict (nothing written), ? when replace', async () => {
  for (const [encoding, text] of [
    ['latin1', 'a€b'],
    ['ascii', 'aéb'],
  ] as const) {
    const p = file(`enc-${encoding}.txt`);
    {
      using f = topen(p, 'w', { encoding, errors: 'strict' });
      throwsFs(() => f.writeSync(text), 'EILSEQ');
      await rejectsFs(f.write(text), 'EILSEQ');
      f.writeSync('ok');
    }
    assert.equal(read(p).toString('latin1'), 'ok', encoding);
    {
      using f = topen(p, 'w', { encoding });
      f.writeSync(text);
    }
    assert.equal(read(p).toString('latin1'), 'a?b', encoding);
  }
  const q = file('enc-utf8.txt');
  {
    using f = topen(q, 'w', { errors: 'strict' });
    throwsFs(() => f.writeSync('a\ud800b'), 'EILSEQ');
    f.writeSync('😀');
  }
  assert.equal(read(q).toString(), '😀');
});

test('tell/seek round trip at every line, for every newline mode, with multi-byte text', async () => {
  const text = 'héllo\r\nwörld\n\n😀 emoji\rlast € line\r\nend';
  const p = file('tellseek.txt', text);
  for (const newline of [undefined, '', '\n', '\r', '\r\n'] as const) {
    for (const size of [1, 2, 3, 5, 65536]) {
      const opts = { newline } as TextOptions;
      using f = tiny(p, 'r', size, opts);
      const marks: [number, string][] = [];
      for (;;) {
        const at = f.tell();
        const line = f.readlineSync();
        if (line === '') break;
        marks.push([at, line]);
      }
      assert.equal(f.tell(), Buffer.byteLength(text));
      for (const [at, line] of marks.reverse()) {
        assert.equal(f.seekSync(at), at);
        assert.equal(f.readlineSync(), line, `newline ${JSON.stringify(newline)} size ${size} at ${at}`);
      }
      for (const [at, line] of marks) {
        assert.equal(await f.seek(at), at);
        assert.equal(await f.readline(), line);
      }
    }
  }
});

test('tell after read(n) is the byte offset of the next character; seek back re-reads it', () => {
  const text = 'a€😀\r\nb';
  const p = file('tell-n.txt', text);
  for (const size of TINY) {
    using f = tiny(p, 'r', size);
    assert.equal(f.readSync(2), 'a€');
    assert.equal(f.tell(), 4);
    assert.equal(f.readSync(1), '😀');
    const at = f.tell();
    assert.equal(at, 8);
    assert.equal(f.readSync(1), '\n');
    assert.equal(f.tell(), 10);
    f.seekSync(at);
    assert.equal(f.readSync(), '\nb');
  }
});

test('tell while writing multi-byte text is the byte offset; seek back and read it', async () => {
  const p = file('tell-write.txt');
  {
    using f = topen(p, 'w+');
    assert.equal(f.tell(), 0);
    f.writeSync('é');
    assert.equal(f.tell(), 2);
    await f.write('😀€');
    assert.equal(f.tell(), 9);
    f.writeSync('\n');
    assert.equal(f.tell(), 10);
    f.seekSync(2);
    assert.equal(f.readSync(1), '😀');
    assert.equal(f.tell(), 6);
    f.writeSync('¢'); // 2 bytes over the first 2 bytes of '€': a Python-style overwrite
    assert.equal(f.tell(), 8);
  }
  assert.deepEqual(read(p), Buffer.concat([Buffer.from('é😀¢'), Buffer.from('€').subarray(2), Buffer.from('\n')]));
});

test('r+ with multi-byte text: write after read lands after the last character read', async () => {
  for (const size of [1, 2, 3, 65536]) {
    const p = file('rplus-mb.txt', 'αβγδ\n');
    {
      using f = tiny(p, 'r+', size);
      assert.equal(f.readSync(2), 'αβ');
      assert.equal(f.tell(), 4);
      f.writeSync('XY');
      assert.equal(f.tell(), 6);
      assert.equal(f.readlineSync(), 'δ\n');
    }
    assert.equal(read(p).toString(), 'αβXYδ\n', `size ${size}`);
    const q = file('rplus-mb-line.txt', 'ü1\nü2\nü3\n');
    {
      await using f = tiny(q, 'r+', size);
      assert.equal(await f.readline(), 'ü1\n');
      await f.write('Ü2');
      assert.equal(await f.readline(), '\n');
      assert.equal(await f.readline(), 'ü3\n');
    }
    assert.equal(read(q).toString(), 'ü1\nÜ2\nü3\n', `size ${size}`);
  }
});

test('readline(limit) counts characters after newline translation, as Python does', async () => {
  const p = file('limit.txt', 'ab\r\ncd\r');
  for (const size of [1, 2, 3, 65536]) {
    {
      using f = tiny(p, 'r', size);
      assert.deepEqual(
        [f.readlineSync(3), f.readlineSync(3), f.readlineSync(3), f.readlineSync()],
        ['ab\n', 'cd\n', '', ''],
        `size ${size}`,
      );
    }
    {
      await using f = tiny(p, 'r', size);
      assert.deepEqual(
        [await f.readline(3), await f.readline(3), await f.readline(3)],
        ['ab\n', 'cd\n', ''],
        `size ${size}`,
      );
    }
    {
      using f = tiny(p, 'r', size, { newline: '' });
      assert.deepEqual(
        [f.readlineSync(3), f.readlineSync(3), f.readlineSync(3), f.readlineSync()],
        ['ab\r', '\n', 'cd\r', ''],
        `size ${size} newline ''`,
      );
    }
    {
      using f = tiny(p, 'r', size);
      assert.deepEqual(
        [f.readlineSync(1), f.readlineSync(2), f.readlineSync(0), f.readlineSync(2), f.readlineSync()],
        ['a', 'b\n', '', 'cd', '\n'],
        `size ${size} small limits`,
      );
    }
  }
  const q = file('limit-emoji.txt', '😀a😀b\n');
  {
    using f = topen(q);
    assert.equal(f.readlineSync(1), '😀');
    assert.equal(f.readlineSync(2), 'a😀');
    assert.equal(f.readlineSync(5), 'b\n');
  }
});

test('read(n) counts characters after newline translation; a final \\r is not lost', async () => {
  const p = file('readn.txt', 'a\r\nb');
  {
    using f = topen(p);
    assert.equal(f.readSync(2), 'a\n');
    assert.equal(f.readSync(1), 'b');
  }
  const q = file('readn-cr.txt', 'ab\r');
  for (const size of [1, 2, 3, 65536]) {
    {
      using f = tiny(q, 'r', size);
      assert.equal(f.readSync(3), 'ab\n', `size ${size}`);
      assert.equal(f.readSync(3), '');
    }
    {
      await using f = tiny(q, 'r', size);
      assert.equal(await f.read(5), 'ab\n');
    }
    {
      using f = tiny(q, 'r', size);
      assert.equal(f.readSync(2), 'ab');
      assert.equal(f.readSync(1), '\n');
    }
  }
});

test('reading again after end of file sees data appended since', async () => {
  const p = file('grow.txt', 'abc\n');
  using f = topen(p);
  assert.equal(f.readSync(), 'abc\n');
  assert.equal(f.readSync(), '');
  fs.appendFileSync(p, 'def\n');
  assert.equal(f.readlineSync(), 'def\n');
  assert.equal(f.readlineSync(), '');
  fs.appendFileSync(p, 'gh');
  assert.equal(await f.read(), 'gh');
  fs.appendFileSync(p, 'ij\n');
  assert.equal(await f.readline(), 'ij\n');
});

test('lineBuffering (buffering: 1 or lineBuffering: true) flushes writes that contain a line ending', async () => {
  for (const opts of [{ buffering: 1 }, { lineBuffering: true }]) {
    const p = file('linebuf.txt');
    {
      using f = topen(p, 'w', opts);
      assert.equal(f.lineBuffering, true);
      f.writeSync('abc');
      assert.equal(read(p).toString(), '');
      f.writeSync('d\nef');
      assert.equal(read(p).toString(), 'abcd\nef');
      await f.write('g');
      assert.equal(read(p).toString(), 'abcd\nef');
      await f.write('\r');
      assert.equal(read(p).toString(), 'abcd\nefg\r');
    }
  }
  const q = file('nolinebuf.txt');
  {
    using f = topen(q, 'w');
    assert.equal(f.lineBuffering, false);
    f.writeSync('a\nb\n');
    assert.equal(read(q).toString(), '', 'without line buffering, nothing reaches the file before flush');
    f.flushSync();
    assert.equal(read(q).toString(), 'a\nb\n');
  }
});

test('r+: read(2) then write lands at position 2 (file abXYef), sync and async', async () => {
  for (const size of [1, 2, 3, 65536]) {
    const p = file('rplus.txt', 'abcdef');
    {
      using f = tiny(p, 'r+', size);
      assert.equal(f.readSync(2), 'ab');
      f.writeSync('XY');
      assert.equal(f.tell(), 4);
      assert.equal(f.readSync(), 'ef');
    }
    assert.equal(read(p).toString(), 'abXYef', `size ${size}`);
    const q = file('rplus-async.txt', 'abcdef');
    {
      await using f = tiny(q, 'r+', size);
      assert.equal(await f.read(2), 'ab');
      await f.write('XY');
      assert.equal(await f.read(), 'ef');
    }
    assert.equal(read(q).toString(), 'abXYef', `size ${size} async`);
  }
  const w = file('wplus.txt');
  {
    using f = topen(w, 'w+');
    f.writeSync('abcdef');
    f.seekSync(0);
    assert.equal(f.readSync(2), 'ab');
    f.writeSync('XY');
  }
  assert.equal(read(w).toString(), 'abXYef');
});

test('unawaited promise calls on a text file run in call order', async () => {
  for (const size of [1, 3, 65536]) {
    const p = file('order.txt', 'abcdef');
    {
      await using f = tiny(p, 'r+', size);
      const r1 = f.read(2);
      const w = f.write('XY');
      const r2 = f.read(1);
      const s = f.seek(0);
      const r3 = f.read();
      assert.equal(await r1, 'ab');
      assert.equal(await w, 2);
      assert.equal(await r2, 'e', `size ${size}`);
      assert.equal(await s, 0);
      assert.equal(await r3, 'abXYef');
    }
    assert.equal(read(p).toString(), 'abXYef', `size ${size}`);
    const q = file('order-trunc.txt', 'abcdef');
    {
      await using f = tiny(q, 'r+', size);
      const r = f.read(2);
      const t = f.truncate();
      const w = f.write('Z');
      assert.equal(await r, 'ab');
      assert.equal(await t, 2);
      assert.equal(await w, 1);
    }
    assert.equal(read(q).toString(), 'abZ', `size ${size}: truncate then write, in call order`);
  }
});

test("append 'a' and 'a+': writes land at the end after a seek; reads from the seek position; tell", async () => {
  const p = file('append.txt', 'hello\n');
  {
    using f = topen(p, 'a');
    assert.equal(f.tell(), 6);
    f.writeSync('x\n');
    assert.equal(f.tell(), 8);
  }
  {
    using f = topen(p, 'a+');
    assert.equal(f.readSync(), '', 'starts at the end');
    f.seekSync(0);
    assert.equal(f.readSync(2), 'he');
    f.writeSync('YZ');
    assert.equal(f.tell(), 10);
    assert.equal(f.readSync(), '');
    f.seekSync(0);
    assert.equal(f.readSync(), 'hello\nx\nYZ');
  }
  {
    await using f = await open(p, 'a+', { table });
    await f.seek(0);
    assert.equal(await f.readline(), 'hello\n');
    await f.write('!');
    assert.equal(f.tell(), 11);
    await f.seek(0);
    assert.equal(await f.read(), 'hello\nx\nYZ!');
  }
  assert.equal(read(p).toString(), 'hello\nx\nYZ!');
});

test('truncate: default size is tell(), the position does not move', async () => {
  const p = file('trunc.txt', 'aé€😀end');
  {
    using f = topen(p, 'r+');
    assert.equal(f.readSync(3), 'aé€');
    assert.equal(f.truncateSync(), 6);
    assert.equal(f.tell(), 6);
    assert.equal(read(p).toString(), 'aé€');
    f.writeSync('!');
    assert.equal(await f.truncate(), 7);
    assert.equal(f.tell(), 7);
    assert.equal(await f.truncate(1), 1);
    assert.equal(f.tell(), 7);
  }
  assert.equal(read(p).toString(), 'a');
});

test('text seek: only tell() values from the start, or 0 from cur/end; others are EINVAL and move nothing', async () => {
  const p = file('seek.txt', 'line1\nline2\n');
  using f = topen(p, 'r+');
  assert.equal(f.readlineSync(), 'line1\n');
  throwsFs(() => f.seekSync(1, 1), 'EINVAL', 'tell()');
  throwsFs(() => f.seekSync(-1, 2), 'EINVAL');
  await rejectsFs(f.seek(2, 1), 'EINVAL');
  throwsFs(() => f.seekSync(-1), 'EINVAL');
  await rejectsFs(f.seek(-3), 'EINVAL');
  assert.equal(f.tell(), 6);
  assert.equal(f.readSync(3), 'lin', 'the failed seeks kept the position and the decoded text');
  assert.equal(f.seekSync(0, 1), 9);
  assert.equal(f.seekSync(0, 2), 12);
  assert.equal(f.readSync(), '');
  assert.equal(await f.seek(0), 0);
  assert.equal(await f.seek(0, 2), 12);
  f.seekSync(6);
  assert.equal(f.readlineSync(), 'line2\n');
});

test('read on a write-only file and write on a read-only file are EBADF "not open for …"', async () => {
  const p = file('access.txt', 'abc');
  {
    using f = topen(p, 'r');
    throwsFs(() => f.writeSync('x'), 'EBADF', 'not open for writing');
    await rejectsFs(f.write('x'), 'EBADF', 'not open for writing');
    throwsFs(() => f.truncateSync(), 'EBADF', 'not open for writing');
  }
  {
    using f = topen(p, 'a');
    throwsFs(() => f.readSync(), 'EBADF', 'not open for reading');
    await rejectsFs(f.read(), 'EBADF', 'not open for reading');
    throwsFs(() => f.readlineSync(), 'EBADF', 'not open for reading');
    await rejectsFs(f.readline(), 'EBADF', 'not open for reading');
    throwsFs(() => [...f], 'EBADF', 'not open for reading');
  }
  assert.equal(read(p).toString(), 'abc');
});

test('double close is a no-op; every method after close is EBADF', async () => {
  const p = file('closed.txt', 'abc');
  const f = topen(p, 'r+');
  f.writeSync('Z');
  f.closeSync();
  f.closeSync();
  await f.close();
  assert.equal(f.closed, true);
  assert.equal(read(p).toString(), 'Zbc');
  const syncCalls: [string, () => unknown][] = [
    ['read', () => f.readSync()],
    ['readline', () => f.readlineSync()],
    ['readlines', () => f.readlinesSync()],
    ['iterate', () => [...f]],
    ['write', () => f.writeSync('x')],
    [
      'flush',
      () => {
        f.flushSync();
      },
    ],
    ['seek', () => f.seekSync(0)],
    ['seek-cur', () => f.seekSync(0, 1)],
    ['tell', () => f.tell()],
    ['truncate', () => f.truncateSync()],
    [
      'sync',
      () => {
        f.syncSync();
      },
    ],
    ['stat', () => f.statSync()],
    ['fileno', () => f.fileno()],
  ];
  for (const [name, call] of syncCalls) {
    const e = throwsFs(call, 'EBADF');
    assert.match(e.message, /closed/, name);
  }
  const asyncCalls: [string, () => Promise<unknown>][] = [
    ['read', () => f.read()],
    ['readline', () => f.readline()],
    ['readlines', () => f.readlines()],
    ['write', () => f.write('x')],
    ['flush', () => f.flush()],
    ['seek', () => f.seek(0)],
    ['truncate', () => f.truncate()],
    ['sync', () => f.sync()],
    ['stat', () => f.stat()],
    [
      'iterate',
      async () => {
        for await (const _ of f) break;
      },
    ],
  ];
  await allRejectFs(asyncCalls, 'EBADF', /closed/);
  assert.equal(read(p).toString(), 'Zbc');
});

test('a Sync call while a promise call is unfinished is EBUSY', async () => {
  const p = file('busy.txt', 'abc\ndef\n');
  const f = topen(p, 'r+');
  const pending = f.readline();
  throwsFs(() => f.readSync(), 'EBUSY');
  throwsFs(() => f.readlineSync(), 'EBUSY');
  throwsFs(() => f.writeSync('x'), 'EBUSY');
  throwsFs(() => f.seekSync(0), 'EBUSY');
  throwsFs(() => f.truncateSync(), 'EBUSY');
  throwsFs(() => {
    f.flushSync();
  }, 'EBUSY');
  throwsFs(() => {
    f.closeSync();
  }, 'EBUSY');
  assert.equal(await pending, 'abc\n');
  assert.equal(f.readlineSync(), 'def\n');
  await f.close();
  assert.equal(read(p).toString(), 'abc\ndef\n');
});

test('EBUSY from closeSync leaves the file open and still watched; close() afterwards works', async () => {
  const p = file('busy-close.txt', 'x');
  const f = topen(p, 'r');
  const unwatched: object[] = [];
  const unclosed = table.unclosed;
  const original = unclosed.unwatch.bind(unclosed);
  unclosed.unwatch = (target) => {
    unwatched.push(target);
    original(target);
  };
  try {
    const r = f.read();
    throwsFs(() => {
      f.closeSync();
    }, 'EBUSY');
    assert.equal(unwatched.includes(f), false, 'a close that failed with EBUSY must not stop the leak watch');
    assert.equal(await r, 'x');
    assert.equal(f.closed, false);
    f.closeSync();
    assert.equal(f.closed, true);
    assert.equal(unwatched.includes(f), true);
  } finally {
    unclosed.unwatch = original;
  }
});

test('using / await using close the whole stack and flush', async () => {
  const p = file('using.txt');
  let kept: TextFile | undefined;
  assert.throws(() => {
    using f = topen(p, 'w');
    kept = f;
    f.writeSync('héllo\n');
    throw new Error('boom');
  }, /boom/);
  assert.equal(kept?.closed, true);
  assert.equal(kept.buffer.closed, true);
  assert.equal(kept.buffer.raw.closed, true);
  assert.equal(read(p).toString(), 'héllo\n');
  {
    await using g = topen(p, 'a');
    await g.write('more');
  }
  assert.equal(read(p).toString(), 'héllo\nmore');
});

test('invalid text options are EINVAL before anything is opened', async () => {
  const p = file('opts.txt', 'keep');
  const bad: OpenOptions[] = [
    { encoding: 'bogus' as 'utf8' },
    { newline: 'x' as '\n' },
    { errors: 'ignore' as 'strict' },
  ];
  for (const opts of bad) {
    throwsFs(() => openSync(p, 'w', { ...opts, table }), 'EINVAL');
    await rejectsFs(open(p, 'w', { ...opts, table }), 'EINVAL');
    assert.equal(table.size, 0);
  }
  assert.equal(read(p).toString(), 'keep', "a 'w' open with a bad option did not truncate");
  const q = file('opts-new.txt');
  throwsFs(() => openSync(q, 'x', { table, encoding: 'nope' as 'utf8' }), 'EINVAL', 'encoding');
  assert.equal(fs.existsSync(q), false, "an 'x' open with a bad option did not create the file");
});

test('write() takes a string', async () => {
  const p = file('notstring.txt');
  using f = topen(p, 'w');
  await rejectsFs(f.write(Buffer.from('x') as unknown as string), 'EINVAL', 'string');
  throwsFs(() => f.writeSync(42 as unknown as string), 'EINVAL', 'string');
});

test('stat and sync flush first; toString names the file', async () => {
  const p = file('stat.txt');
  using f = topen(p, 'w');
  f.writeSync('abc');
  assert.equal(f.statSync().size, 3);
  await f.write('de');
  assert.equal((await f.stat()).size, 5);
  f.writeSync('f');
  f.syncSync();
  await f.sync();
  assert.equal(read(p).toString(), 'abcdef');
  assert.match(f.toString(), /TextFile\(name='.*stat\.txt', mode='w', encoding='utf8'\)/);
});

// ---------------------------------------------------------------- model-based: random reads on random text

type TextOp =
  { op: 'read' | 'readline'; n: number; sync: boolean } | { op: 'mark' } | { op: 'seek'; mark: number; sync: boolean };

const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({
    op: fc.constantFrom('read' as const, 'readline' as const),
    n: fc.integer({ min: -1, max: 6 }),
    sync: fc.boolean(),
  }),
  fc.record({ op: fc.constant('mark' as const) }),
  fc.record({ op: fc.constant('seek' as const), mark: fc.nat(), sync: fc.boolean() }),
);

/**
 * The same reads done on the whole string at once, as Python describes them: what the text layer must
 * return however the bytes are split into buffer-sized reads.
 */
class TextModel {
  i = 0;
  constructor(
    readonly raw: string,
    readonly newline: Exclude<Newline, null> | undefined,
  ) {}
  private get translate(): boolean {
    return this.newline === undefined;
  }
  /** Index after `n` characters from `from` (code points; translated \r\n is one), not past `stop`. */
  private advance(n: number, stop: number): number {
    let i = this.i;
    for (let k = 0; k < n && i < stop; k++) {
      const c = this.raw.charCodeAt(i);
      const next = this.raw.charCodeAt(i + 1);
      i += i + 1 < stop && ((c >= 0xd800 && c <= 0xdbff) || (this.translate && c === 13 && next === 10)) ? 2 : 1;
    }
    return i;
  }
  private take(end: number): string {
    const s = this.raw.slice(this.i, end);
    this.i = end;
    return this.translate ? s.replace(/\r\n?/g, '\n') : s;
  }
  read(n: number): string {
    return this.take(n < 0 ? this.raw.length : this.advance(n, this.raw.length));
  }
  readline(limit: number): string {
    const r = this.raw;
    let end: number;
    if (this.newline === undefined || this.newline === '') {
      const m = /\r\n|\r|\n/.exec(r.slice(this.i));
      end = m === null ? r.length : this.i + m.index + m[0].length;
    } else {
      const k = r.indexOf(this.newline, this.i);
      end = k < 0 ? r.length : k + this.newline.length;
    }
    return this.take(limit < 0 ? end : Math.min(end, this.advance(limit, end)));
  }
}

test('random reads on random multi-byte text match the whole-string model, for every buffer size and newline mode', async () => {
  const alphabet = fc.constantFrom('a', 'b', '\n', '\r', 'é', '€', '😀', '\r\n');
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(alphabet, { maxLength: 24 }).map((a) => a.join('')),
      fc.constantFrom('utf8' as const, 'utf16le' as const),
      fc.constantFrom(undefined, '' as const, '\n' as const, '\r' as const, '\r\n' as const),
      fc.integer({ min: 1, max: 7 }),
      fc.array(textOp, { maxLength: 20 }),
      async (raw, encoding, newline, size, ops) => {
        const p = file(`tmodel-${String(run++)}.txt`, Buffer.from(raw, encoding));
        const model = new TextModel(raw, newline);
        const marks: [number, number][] = []; // [tell(), model index]
        const f = tiny(p, 'r', size, { encoding, newline });
        const trace: string[] = [];
        try {
          for (const o of ops) {
            trace.push(JSON.stringify(o));
            const where = `${JSON.stringify(raw)} ${encoding} newline ${JSON.stringify(newline)} size ${size}: ${trace.join(' ')}`;
            switch (o.op) {
              case 'read':
                assert.equal(o.sync ? f.readSync(o.n) : await f.read(o.n), model.read(o.n), where);
                break;
              case 'readline':
                assert.equal(o.sync ? f.readlineSync(o.n) : await f.readline(o.n), model.readline(o.n), where);
                break;
              case 'mark': {
                const at = f.tell();
                assert.equal(at, Buffer.byteLength(raw.slice(0, model.i), encoding), `${where}: tell`);
                marks.push([at, model.i]);
                break;
              }
              case 'seek': {
                const m = marks[o.mark % Math.max(marks.length, 1)] ?? [0, 0];
                assert.equal(o.sync ? f.seekSync(m[0]) : await f.seek(m[0]), m[0], where);
                model.i = m[1];
                break;
              }
            }
          }
        } finally {
          f.closeSync();
        }
      },
    ),
    { numRuns: process.env.FDKEEPER_STRESS === '1' ? 5000 : 400 },
  );
});
